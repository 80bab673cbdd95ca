/*
 * consumer.c - a program built against an installed libreactor, through
 * pkg-config or CMake's find_package (see scripts/consumer-test.sh): one
 * readable socket, one reactor_run_once(), and the callback must have run.
 */
#include <reactor.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_read(reactor_t *r, int fd, unsigned events, void *data)
{
    char c;
    (void)r;
    if ((events & REACTOR_READ) && read(fd, &c, 1) == 1 && c == 'x')
        *(int *)data = 1;
}

int main(void)
{
    int sv[2], got = 0;
    reactor_t *r = reactor_new(NULL);
    if (!r || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("consumer: reactor_new/socketpair");
        return 1;
    }
    int rc = reactor_register(r, sv[0], REACTOR_READ, on_read, &got);
    if (rc < 0 || write(sv[1], "x", 1) != 1) {
        fprintf(stderr, "consumer: reactor_register: %s\n", reactor_strerror(rc));
        return 1;
    }
    rc = reactor_run_once(r, 5000);
    if (rc != 1 || !got) {
        fprintf(stderr, "consumer: reactor_run_once returned %d, callback ran: %d\n", rc, got);
        return 1;
    }
    printf("OK: libreactor %d on %s\n", reactor_version(), reactor_backend(r));
    reactor_unregister(r, sv[0]);
    reactor_free(r);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
