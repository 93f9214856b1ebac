/* The socket-activation protocol (sd_listen_fds(3)), both ways: the master
 * takes the listening sockets systemd, or an old master in an upgrade,
 * left at fds 3, 4, ...; and an old master passes its own on to the binary
 * it re-executes. Names travel in $LISTEN_FDNAMES, colon-separated, so a
 * name cannot hold a ':'. */
#include "os.h"
#include "../worker/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTEN_NUMBER_MAX 10 /* decimal digits of a pid or a count */

/* "syscall(fd N, what): strerror(errno)", keeping errno. */
static int listen_syscall_fail(char *error, size_t error_len, const char *syscall, int fd,
                               const char *what)
{
    int err = errno;

    return moss__fail(error, error_len, err, "%s(fd %d, %s): %s", syscall, fd, what,
                       strerror(err));
}

/* 1 to 10 decimal digits and nothing else: 0 with *value, or -1. */
static int listen_parse_number(const char *text, unsigned long *value)
{
    size_t len = strlen(text);

    if (len == 0 || len > LISTEN_NUMBER_MAX || strspn(text, "0123456789") != len)
        return -1;
    *value = strtoul(text, NULL, 10);
    return 0;
}

/* Whether the variables are for this process, and how many fds they pass:
 * 1 with *n, 0 when absent or for another pid, -1 when malformed. */
static int listen_take_count(size_t cap, size_t *n, char *error, size_t error_len)
{
    const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
    unsigned long pid, count;

    if (pid_text == NULL || fds_text == NULL)
        return 0;
    if (listen_parse_number(pid_text, &pid) == -1 || pid == 0)
        return moss__fail(error, error_len, EINVAL, "LISTEN_PID='%s': not a pid", pid_text);
    if (pid != (unsigned long)getpid())
        return 0;
    if (listen_parse_number(fds_text, &count) == -1)
        return moss__fail(error, error_len, EINVAL, "LISTEN_FDS='%s': not a count",
                           fds_text);
    if (count > cap || count > MOSS__LISTEN_FDS_MAX)
        return moss__fail(error, error_len, E2BIG, "LISTEN_FDS=%lu: more than the %zu "
                           "sockets moss takes", count, cap < MOSS__LISTEN_FDS_MAX
                           ? cap : (size_t)MOSS__LISTEN_FDS_MAX);
    *n = count;
    return 1;
}

/* fd must be a listening stream socket: moss only accepts on what it is
 * given. */
static int listen_check_fd(int fd, char *error, size_t error_len)
{
    int accepting = 0;
    socklen_t len = sizeof(accepting);

    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == -1)
        return listen_syscall_fail(error, error_len, "getsockopt", fd, "SO_ACCEPTCONN");
    if (!accepting)
        return moss__fail(error, error_len, EINVAL,
                           "LISTEN_FDS: fd %d is not a listening socket", fd);
    return 0;
}

static int listen_set_flags(int fd, char *error, size_t error_len)
{
    int flags = fcntl(fd, F_GETFD);

    if (flags == -1 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1)
        return listen_syscall_fail(error, error_len, "fcntl", fd, "FD_CLOEXEC");
    flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
        return listen_syscall_fail(error, error_len, "fcntl", fd, "O_NONBLOCK");
    return 0;
}

/* $LISTEN_FDNAMES into names[0..n-1]: "" past the last name given; names
 * beyond n are ignored. A name that does not fit name_len is an error, not
 * cut: the master matches names against its settings. */
static int listen_take_names(char *names, size_t name_len, size_t n, char *error,
                             size_t error_len)
{
    const char *p = getenv("LISTEN_FDNAMES");

    if (names == NULL || name_len == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = p != NULL ? strcspn(p, ":") : 0;

        if (len >= name_len)
            return moss__fail(error, error_len, ENAMETOOLONG, "LISTEN_FDNAMES: name %zu "
                               "('%.*s') longer than %zu bytes", i, (int)len, p, name_len - 1);
        if (len > 0)
            memcpy(names + i * name_len, p, len);
        names[i * name_len + len] = '\0';
        if (p != NULL)
            p = p[len] == ':' ? p + len + 1 : NULL;
    }
    return 0;
}

static void listen_unsetenv(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

/* As sd_listen_fds(1), the variables are unset whatever the outcome: a
 * master that takes nothing must not hand them on either. Every fd is
 * checked before any is changed. */
int moss__listen_fds_take(int *fds, char *names, size_t name_len, size_t cap, size_t *count,
                          char *error, size_t error_len)
{
    size_t n = 0;
    int rc, err;

    *count = 0;
    rc = listen_take_count(cap, &n, error, error_len);
    if (rc == 1)
        rc = listen_take_names(names, name_len, n, error, error_len);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = listen_check_fd(MOSS__LISTEN_FDS_START + (int)i, error, error_len);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        fds[i] = MOSS__LISTEN_FDS_START + (int)i;
        rc = listen_set_flags(fds[i], error, error_len);
    }
    err = errno;
    listen_unsetenv();
    if (rc == -1) {
        errno = err;
        return -1;
    }
    *count = n;
    return 0;
}

/* The names joined by ':' in a new string (the caller frees it); EINVAL
 * for a name holding ':', which would shift every name after it. */
static char *listen_join_names(const char *names, size_t name_len, size_t count)
{
    char *joined = malloc(count * name_len + 1), *end = joined;

    if (joined == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const char *name = names + i * name_len;
        size_t len = strnlen(name, name_len);

        if (memchr(name, ':', len) != NULL) {
            free(joined);
            errno = EINVAL;
            return NULL;
        }
        if (i > 0)
            *end++ = ':';
        memcpy(end, name, len);
        end += len;
    }
    *end = '\0';
    return joined;
}

static int listen_setenv(size_t count, const char *joined)
{
    char number[LISTEN_NUMBER_MAX + 2];

    if (joined != NULL ? setenv("LISTEN_FDNAMES", joined, 1) == -1
                       : unsetenv("LISTEN_FDNAMES") == -1)
        return -1;
    snprintf(number, sizeof(number), "%zu", count);
    if (setenv("LISTEN_FDS", number, 1) == -1)
        return -1;
    snprintf(number, sizeof(number), "%ld", (long)getpid());
    return setenv("LISTEN_PID", number, 1);
}

/* Every fd first to a number above the target range, so that moving one
 * into place cannot close a source not yet moved. dup2 leaves the targets
 * without close-on-exec: exec keeps them. Whatever else the caller had at
 * 3..3+count-1 is closed. */
static int listen_move(const int *fds, size_t count)
{
    int high[MOSS__LISTEN_FDS_MAX], err = 0;
    size_t duped;

    for (duped = 0; duped < count; duped++) {
        high[duped] = fcntl(fds[duped], F_DUPFD_CLOEXEC, MOSS__LISTEN_FDS_START + (int)count);
        if (high[duped] == -1) {
            err = errno;
            goto close_high;
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (dup2(high[i], MOSS__LISTEN_FDS_START + (int)i) == -1) {
            err = errno;
            goto close_high;
        }
    }
close_high:
    for (size_t i = 0; i < duped; i++)
        close(high[i]);
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

int moss__listen_fds_pass(const int *fds, const char *names, size_t name_len, size_t count)
{
    char *joined = NULL;
    int rc, err;

    if (count > MOSS__LISTEN_FDS_MAX || (count > 0 && fds == NULL) ||
        (names != NULL && name_len == 0)) {
        errno = count > MOSS__LISTEN_FDS_MAX ? E2BIG : EINVAL;
        return -1;
    }
    if (names != NULL) {
        joined = listen_join_names(names, name_len, count);
        if (joined == NULL)
            return -1;
    }
    rc = listen_move(fds, count);
    if (rc == 0)
        rc = listen_setenv(count, joined);
    err = errno;
    free(joined);
    errno = err;
    return rc;
}
