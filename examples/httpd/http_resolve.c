/*
 * http_resolve.c - opening a request's target beneath --root, by descriptor.
 *
 * The rule (docs/httpd.md, "What is served"): a name is resolved from the
 * root's directory descriptor, opened once at start, and never by a path
 * string that is resolved a second time. ".." never climbs above the root;
 * a symlink is followed only if it is relative and its resolution stays
 * beneath the root; an absolute symlink is refused, even to a file inside;
 * at most 40 symlinks per name. That is openat2(2) with RESOLVE_BENEATH
 * (plus RESOLVE_NO_MAGICLINKS: no /proc/PID/fd-style jumps), which the
 * kernel enforces at every step of the lookup.
 *
 * Where openat2 is missing (a kernel before 5.6, a seccomp filter that
 * refuses it, qemu-user, macOS and the BSDs) the same walk is done here one
 * component at a time: each is opened with O_NOFOLLOW relative to the
 * descriptor of the directory before it, so a component swapped for a
 * symlink meanwhile is seen as a symlink, its text read with readlinkat and
 * checked like any other, and never followed by the kernel on our behalf.
 * ".." goes back to the directory it came through (re-opened from the root,
 * by the names it was reached by), and not above the root.
 *
 * Errors are those openat2 gives: EXDEV for a way out of the root, ELOOP for
 * too many symlinks, and what open(2) says otherwise.
 */
#define _GNU_SOURCE /* O_PATH, syscall(2) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "http_conn.h"

#if defined(__linux__) && defined(SYS_openat2)
#define RX_HAVE_OPENAT2 1
#ifdef RX_HAVE_LINUX_OPENAT2_H /* examples/CMakeLists.txt looks for it */
#include <linux/openat2.h>
#endif
#ifndef RESOLVE_BENEATH
/* musl has the system call number but not the kernel's uapi headers: the
 * structure and flags are the kernel's stable ABI (linux/openat2.h). */
struct open_how {
    uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif
#endif

#define MAX_SYMLINKS 40 /* Linux's MAXSYMLINKS, which openat2 applies */

/* A directory to walk through: search permission is all a lookup needs. */
#if defined(O_PATH)
#define DIR_FLAGS (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#elif defined(O_SEARCH)
#define DIR_FLAGS (O_SEARCH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#else
#define DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#endif

#ifdef RX_HAVE_OPENAT2
static int openat2_beneath(int root_fd, const char *path, int flags)
{
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    /* EAGAIN: a rename under the root raced a ".." step, and the kernel
     * could not prove it stayed beneath; its manual says to retry. */
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (fd >= 0)
            return (int)fd;
        if ((errno != EAGAIN && errno != EINTR) || tries == 3)
            return -errno;
    }
}
#endif

int http_openat2_works(int root_fd)
{
#ifdef RX_HAVE_OPENAT2
    int fd = openat2_beneath(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fd;
    close(fd);
    return 1;
#else
    (void)root_fd;
    return -ENOSYS;
#endif
}

/* Whether an open that refused `name` with err may have met a symlink:
 * O_NOFOLLOW gives ELOOP (Linux, macOS), EMLINK (FreeBSD) or EFTYPE
 * (NetBSD); with O_DIRECTORY, Linux says ENOTDIR first. */
static int maybe_symlink(int err)
{
#ifdef EFTYPE
    if (err == EFTYPE)
        return 1;
#endif
    return err == ELOOP || err == EMLINK || err == ENOTDIR;
}

/* The directory the walk is in: its descriptor, and the names that led to it from the root. */
struct walk {
    int root_fd, fd; /* fd is root_fd itself (not ours to close) or a directory we opened */
    int depth;
    char names[PATH_MAX]; /* "a/b/c": each a real directory, opened with O_NOFOLLOW */
    size_t len;
};

static void walk_enter(struct walk *w, int fd)
{
    if (w->fd != w->root_fd)
        close(w->fd);
    w->fd = fd;
}

/* "..": back to the parent, opened again from the root by its names. */
static int walk_up(struct walk *w)
{
    if (w->depth == 0)
        return -EXDEV;
    while (w->len > 0 && w->names[w->len - 1] != '/')
        w->len--;
    if (w->len > 0)
        w->len--; /* the slash */
    w->names[w->len] = 0;
    w->depth--;
    walk_enter(w, w->root_fd);
    const char *p = w->names;
    while (*p) {
        char part[NAME_MAX + 1];
        size_t n = strcspn(p, "/");
        memcpy(part, p, n);
        part[n] = 0;
        /* A component renamed or swapped for a symlink since is not followed. */
        int fd = openat(w->fd, part, DIR_FLAGS);
        if (fd < 0)
            return -errno;
        walk_enter(w, fd);
        p += n + (p[n] == '/');
    }
    return 0;
}

static int walk_down(struct walk *w, const char *part, size_t n, int fd)
{
    if (w->len + 1 + n >= sizeof w->names) {
        close(fd);
        return -ENAMETOOLONG;
    }
    if (w->len)
        w->names[w->len++] = '/';
    memcpy(w->names + w->len, part, n);
    w->len += n;
    w->names[w->len] = 0;
    w->depth++;
    walk_enter(w, fd);
    return 0;
}

static int walk_beneath(int root_fd, const char *path, int flags)
{
    struct walk w = {.root_fd = root_fd, .fd = root_fd};
    char todo[PATH_MAX], spliced[PATH_MAX], target[PATH_MAX];
    if (strlen(path) >= sizeof todo)
        return -ENAMETOOLONG;
    strcpy(todo, path);
    const char *p = todo;
    int links = 0, rc;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p) { /* the name ends on a directory: "", "a/", "a/.." */
            rc = openat(w.fd, ".", flags);
            rc = rc < 0 ? -errno : rc;
            break;
        }
        size_t n = strcspn(p, "/");
        const char *next = p + n; /* "" or "/..." */
        int last = next[strspn(next, "/")] == 0, want_dir = !last || *next == '/';
        char part[NAME_MAX + 1];
        if (n > NAME_MAX) {
            rc = -ENAMETOOLONG;
            break;
        }
        memcpy(part, p, n);
        part[n] = 0;
        if (!strcmp(part, ".")) {
            p = next;
            continue;
        }
        if (!strcmp(part, "..")) {
            if ((rc = walk_up(&w)) < 0)
                break;
            p = next;
            continue;
        }
        int fd = openat(w.fd, part, want_dir ? DIR_FLAGS : flags | O_NOFOLLOW);
        if (fd >= 0 && !want_dir) {
            rc = fd;
            break;
        }
        if (fd >= 0) {
            if ((rc = walk_down(&w, part, n, fd)) < 0)
                break;
            p = next;
            continue;
        }
        int err = errno;
        ssize_t len = maybe_symlink(err) ? readlinkat(w.fd, part, target, sizeof target) : -1;
        if (len < 0) {
            rc = -err; /* not a symlink: open's own error (ENOTDIR for a file mid-path) */
            break;
        }
        if (++links > MAX_SYMLINKS) {
            rc = -ELOOP;
            break;
        }
        if ((size_t)len >= sizeof target || (size_t)len + strlen(next) >= sizeof spliced) {
            rc = -ENAMETOOLONG;
            break;
        }
        if (len == 0 || target[0] == '/') {
            rc = len == 0 ? -ENOENT : -EXDEV; /* absolute: refused, as RESOLVE_BENEATH does */
            break;
        }
        /* The target's text takes the link's place; it is resolved from the
         * link's directory, component by component like the rest. */
        memcpy(spliced, target, (size_t)len);
        strcpy(spliced + len, next);
        strcpy(todo, spliced);
        p = todo;
    }
    walk_enter(&w, root_fd);
    return rc;
}

int http_open_beneath(int root_fd, int use_openat2, const char *path, int flags)
{
    while (*path == '/')
        path++;
    if (!*path)
        path = ".";
#ifdef RX_HAVE_OPENAT2
    if (use_openat2) {
        int fd = openat2_beneath(root_fd, path, flags);
        if (fd != -ENOSYS)
            return fd;
    }
#else
    (void)use_openat2;
#endif
    return walk_beneath(root_fd, path, flags);
}
