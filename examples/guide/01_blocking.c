/*
 * Step 1 of docs/guide.md: a blocking HTTP/1.0 server. One client at a time:
 * while accept(), recv() or the handler waits, every other client waits too.
 *
 *   ./01_blocking [PORT [DELAY_MS]]     (PORT 0: any free port)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char RESPONSE[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 13\r\n\r\nHello, world\n";

/* Every step opens its listener the same way; later steps add O_NONBLOCK. */
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
    return fd;
}

/* Stands for the slow part of a real handler: a database, a disk, a backend. */
static void simulated_work(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads until the blank line that ends the request headers. */
static int read_request(int fd)
{
    char buf[4096];
    size_t used = 0;
    while (used < sizeof buf - 1) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a send to a reset peer must fail, not kill us */
    int port = argc > 1 ? atoi(argv[1]) : 8000;
    int delay_ms = argc > 2 ? atoi(argv[2]) : 0;
    int lfd = listen_on(port);
    for (;;) {
        int cfd = accept(lfd, NULL, NULL); /* blocks until a client connects */
        if (cfd < 0)
            continue;
        if (read_request(cfd) == 0) {                    /* blocks until this client has sent */
            simulated_work(delay_ms);                    /* blocks everybody */
            send(cfd, RESPONSE, sizeof RESPONSE - 1, 0); /* may block too */
        }
        close(cfd);
    }
}
