/*
 * Step 3 of docs/guide.md: one thread, many clients, with select(2). Every
 * socket is non-blocking; each connection keeps its own state, because a
 * request may arrive in pieces and a response may leave in pieces.
 *
 *   ./03_select [PORT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";

struct conn {
    int open, responding; /* responding: the request is complete, now writing */
    size_t got, sent;
    char req[1024];
};
static struct conn conns[FD_SETSIZE]; /* select cannot watch fds >= FD_SETSIZE anyway */

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        perror("bind/listen");
        exit(1);
    }
    getsockname(fd, (struct sockaddr *)&a, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static void on_readable(int fd, struct conn *c)
{
    ssize_t n = recv(fd, c->req + c->got, sizeof c->req - 1 - c->got, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return; /* a false alarm: try again at the next select */
    if (n <= 0 || c->got + (size_t)n == sizeof c->req - 1) {
        c->open = 0; /* closed, reset, or a request too large for this demo */
        close(fd);
        return;
    }
    c->got += (size_t)n;
    c->req[c->got] = '\0';
    c->responding = strstr(c->req, "\r\n\r\n") != NULL;
}

static void on_writable(int fd, struct conn *c)
{
    ssize_t n = send(fd, RESPONSE + c->sent, sizeof RESPONSE - 1 - c->sent, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0)
        c->sent += (size_t)n; /* a partial write: the rest goes at the next wakeup */
    if (n < 0 || c->sent == sizeof RESPONSE - 1) {
        c->open = 0;
        close(fd);
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a send to a reset peer must fail, not kill us */
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 8000);
    for (;;) {
        fd_set rd, wr;
        int maxfd = lfd;
        FD_ZERO(&rd); /* select overwrites its sets: rebuild them every time */
        FD_ZERO(&wr);
        FD_SET(lfd, &rd);
        for (int fd = 0; fd < FD_SETSIZE; fd++) {
            if (!conns[fd].open)
                continue;
            FD_SET(fd, conns[fd].responding ? &wr : &rd);
            maxfd = fd > maxfd ? fd : maxfd;
        }
        if (select(maxfd + 1, &rd, &wr, NULL, NULL) < 0)
            continue; /* EINTR */
        if (FD_ISSET(lfd, &rd)) {
            int cfd;
            while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
                if (cfd >= FD_SETSIZE) {
                    close(cfd); /* select's hard limit */
                    continue;
                }
                fcntl(cfd, F_SETFL, O_NONBLOCK);
                conns[cfd] = (struct conn){.open = 1};
            }
        }
        for (int fd = 0; fd <= maxfd; fd++) {
            if (fd == lfd || !conns[fd].open)
                continue;
            if (FD_ISSET(fd, &rd))
                on_readable(fd, &conns[fd]);
            else if (FD_ISSET(fd, &wr))
                on_writable(fd, &conns[fd]);
        }
    }
}
