/* Failing with a message (error.h). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int moss__fail(char *error, size_t error_len, int err, const char *fmt, ...)
{
    va_list ap;

    if (error != NULL && error_len > 0) {
        va_start(ap, fmt);
        vsnprintf(error, error_len, fmt, ap);
        va_end(ap);
    }
    errno = err;
    return -1;
}

int moss__syscall_fail(char *error, size_t error_len, const char *syscall, const char *object)
{
    int err = errno;

    return moss__fail(error, error_len, err, "%s(%s): %s", syscall, object, strerror(err));
}
