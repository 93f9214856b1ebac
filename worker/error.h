/* Failing with a message: the -1-with-errno convention, plus a message for
 * the caller's error buffer that names what failed, e.g.
 * "bind(127.0.0.1:8080): Address already in use". */
#ifndef MOSS_WORKER_ERROR_H
#define MOSS_WORKER_ERROR_H

#include <stddef.h>

/* Writes the formatted message into error (when error_len > 0), sets errno
 * to err, returns -1. */
int moss__fail(char *error, size_t error_len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "syscall(object): strerror(errno)", keeping errno; -1. */
int moss__syscall_fail(char *error, size_t error_len, const char *syscall,
                       const char *object);

#endif
