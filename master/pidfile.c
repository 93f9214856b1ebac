/* The pid file: written whole by rename, so that a reader never sees it
 * empty or half written; refused while another live moss holds it; removed
 * at exit only by the master that wrote it. The check and the rename are not
 * one atomic step: two masters started in the same instant may both pass
 * the check, and the second rename wins. */
#include "os.h"
#include "../worker/error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIDFILE_MODE 0644
#define PIDFILE_TEXT_MAX 32 /* a pid, a newline, and room to see garbage */

/* Decimal digits, then at most whitespace: the pid, or 0 for anything else
 * (a file we did not write, treated as stale). */
static pid_t pidfile_parse(const char *text)
{
    long value = 0;
    const char *p = text;

    for (; *p >= '0' && *p <= '9'; p++) {
        value = value * 10 + (*p - '0');
        if (value > INT_MAX)
            return 0;
    }
    if (p == text || p[strspn(p, " \t\r\n")] != '\0')
        return 0;
    return (pid_t)value;
}

/* The pid path holds in *pid: 0 when the file is missing or holds no pid.
 * -1 with errno (and a message, when error is not NULL) when it cannot be
 * read. */
static int pidfile_read(const char *path, pid_t *pid, char *error, size_t error_len)
{
    char text[PIDFILE_TEXT_MAX + 1];
    ssize_t n;
    int fd, err;

    *pid = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd == -1 && errno == ENOENT)
        return 0;
    if (fd == -1)
        return moss__syscall_fail(error, error_len, "open", path);
    do {
        n = read(fd, text, PIDFILE_TEXT_MAX);
    } while (n == -1 && errno == EINTR);
    if (n == -1) {
        moss__syscall_fail(error, error_len, "read", path);
        goto close_file;
    }
    close(fd);
    text[n] = '\0';
    *pid = n < PIDFILE_TEXT_MAX ? pidfile_parse(text) : 0;
    return 0;

close_file:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

/* EPERM: the process exists, but belongs to another user. */
static int pidfile_alive(pid_t pid)
{
    return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static int pidfile_write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);

        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The contents into a new temporary file next to path (so that rename stays
 * on one filesystem), named in temp. No fsync: a pid file means nothing
 * after the machine crashes. */
static int pidfile_write_temp(const char *path, pid_t pid, char *temp, size_t temp_len,
                              char *error, size_t error_len)
{
    char text[PIDFILE_TEXT_MAX];
    int fd, len, err;

    if ((size_t)snprintf(temp, temp_len, "%s.XXXXXX", path) >= temp_len)
        return moss__fail(error, error_len, ENAMETOOLONG, "pid file %s: %s", path,
                            strerror(ENAMETOOLONG));
    fd = mkostemp(temp, O_CLOEXEC);
    if (fd == -1)
        return moss__syscall_fail(error, error_len, "mkstemp", temp);
    len = snprintf(text, sizeof(text), "%ld\n", (long)pid);
    if (fchmod(fd, PIDFILE_MODE) == -1) {
        moss__syscall_fail(error, error_len, "fchmod", temp);
        goto close_temp;
    }
    if (pidfile_write_all(fd, text, (size_t)len) == -1) {
        moss__syscall_fail(error, error_len, "write", temp);
        goto close_temp;
    }
    if (close(fd) == -1) {
        moss__syscall_fail(error, error_len, "close", temp);
        goto unlink_temp;
    }
    return 0;

close_temp:
    err = errno;
    close(fd);
    errno = err;
unlink_temp:
    err = errno;
    unlink(temp);
    errno = err;
    return -1;
}

int moss__pidfile_write(const char *path, pid_t pid, pid_t allowed, char *error,
                        size_t error_len)
{
    char temp[PATH_MAX];
    pid_t holder;
    int err;

    if (path == NULL || path[0] == '\0' || pid <= 0)
        return moss__fail(error, error_len, EINVAL, "pid file: no path or pid");
    if (pidfile_read(path, &holder, error, error_len) == -1)
        return -1;
    if (holder != pid && holder != allowed && pidfile_alive(holder))
        return moss__fail(error, error_len, EEXIST,
                            "pid file %s: process %ld is running (another moss?)", path,
                            (long)holder);
    if (pidfile_write_temp(path, pid, temp, sizeof(temp), error, error_len) == -1)
        return -1;
    if (rename(temp, path) == -1) {
        moss__syscall_fail(error, error_len, "rename", path);
        goto unlink_temp;
    }
    return 0;

unlink_temp:
    err = errno;
    unlink(temp);
    errno = err;
    return -1;
}

int moss__pidfile_remove(const char *path, pid_t pid)
{
    pid_t holder;

    if (path == NULL || path[0] == '\0') {
        errno = EINVAL;
        return -1;
    }
    if (pidfile_read(path, &holder, NULL, 0) == -1)
        return -1;
    if (holder != pid || pid <= 0)
        return 0;
    if (unlink(path) == -1 && errno != ENOENT)
        return -1;
    return 0;
}
