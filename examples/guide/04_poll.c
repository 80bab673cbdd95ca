/*
 * Step 4 of docs/guide.md: the select server of step 3 on poll(2). No
 * FD_SETSIZE limit and no bitmaps to rebuild, but still one array of every
 * connection handed to the kernel, and scanned by us, at each call.
 *
 *   ./04_poll [PORT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";

#define MAX_CONNS 4096

struct conn {
    int open, responding; /* responding: the request is complete, now writing */
    size_t got, sent;
    char req[1024];
};
static struct conn conns[MAX_CONNS]; /* indexed by fd */

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
    static struct pollfd pfds[MAX_CONNS];
    int lfd = listen_on(argc > 1 ? atoi(argv[1]) : 8000);
    for (;;) {
        nfds_t n = 0;
        pfds[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int fd = 0; fd < MAX_CONNS; fd++)
            if (conns[fd].open)
                pfds[n++] = (struct pollfd){fd, conns[fd].responding ? POLLOUT : POLLIN, 0};
        if (poll(pfds, n, -1) < 0)
            continue; /* EINTR */
        for (nfds_t i = 1; i < n; i++) {
            /* POLLHUP/POLLERR come whatever we asked for: let recv/send meet them */
            if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR) && !conns[pfds[i].fd].responding)
                on_readable(pfds[i].fd, &conns[pfds[i].fd]);
            else if (pfds[i].revents & (POLLOUT | POLLHUP | POLLERR))
                on_writable(pfds[i].fd, &conns[pfds[i].fd]);
        }
        if (pfds[0].revents & POLLIN) {
            int cfd;
            while ((cfd = accept(lfd, NULL, NULL)) >= 0) {
                if (cfd >= MAX_CONNS) {
                    close(cfd);
                    continue;
                }
                fcntl(cfd, F_SETFL, O_NONBLOCK);
                conns[cfd] = (struct conn){.open = 1};
            }
        }
    }
}
