/* consumer.c - a program built against an installed libreactor (pkg-config or CMake). */
#include <reactor.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

static void on_read(reactor_t *r, int fd, unsigned events, void *data)
{
    char c;
    if ((events & REACTOR_READ) && read(fd, &c, 1) == 1 && c == 'x')
        *(int *)data = 1;
    reactor_unregister(r, fd);
}

int main(void)
{
    int sv[2], ok = 0;
    reactor_t *r = reactor_new(NULL);
    if (!r || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        return 1;
    if (reactor_register(r, sv[0], REACTOR_READ, on_read, &ok) < 0 || write(sv[1], "x", 1) != 1)
        return 1;
    if (reactor_run(r) < 0 || !ok)
        return 1;
    printf("OK %s libreactor %d\n", reactor_backend(r), reactor_version());
    reactor_free(r);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
