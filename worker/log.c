/* The worker's logs: the error log, one line per event, "moss[pid]:
 * message"; opening them, and reopening them on SIGUSR1 for logrotate. */
#include "worker.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void moss__log_line(FILE *out, const char *who, const char *fmt, va_list ap)
{
    char line[1024];
    int len = snprintf(line, sizeof(line), "moss[%ld]: %s", (long)getpid(), who);

    vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
    if (out == NULL)
        out = stderr;
    /* one fputs of a whole line: lines from one process never interleave */
    fprintf(out, "%s\n", line);
    fflush(out);
}

void moss__worker_log(struct moss__worker *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    moss__log_line(w != NULL ? w->error_log : NULL, "", fmt, ap);
    va_end(ap);
}

int moss__worker_fail(struct moss__worker *w, const char *fmt, ...)
{
    int err = errno;
    char message[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    moss__worker_log(w, "%s", message);
    if (w->error_log != NULL && w->error_log != stderr)
        fprintf(stderr, "moss: %s\n", message);
    errno = err;
    return -1;
}

int moss__log_open(const char *path, FILE *dash, FILE **out)
{
    if (strcmp(path, "-") == 0) {
        *out = dash;
        return 0;
    }
    *out = fopen(path, "ae");
    if (*out == NULL)
        return -1;
    setvbuf(*out, NULL, _IOLBF, 0);
    return 0;
}

void moss__log_close(FILE *f)
{
    if (f != NULL && f != stdout && f != stderr)
        fclose(f);
    else if (f != NULL)
        fflush(f);
}

static const char *log_error_path(const struct moss__worker *w)
{
    return w->config->error_log[0] != '\0' ? w->config->error_log : "-";
}

int moss__worker_logs_open(struct moss__worker *w)
{
    const struct moss_config *config = w->config;
    int err;

    if (moss__log_open(log_error_path(w), stderr, &w->error_log) == -1) {
        err = errno;
        w->error_log = stderr;
        fprintf(stderr, "moss: open(%s): %s\n", config->error_log, strerror(err));
        errno = err;
        return -1;
    }
    if (config->access_log[0] != '\0' &&
        moss__log_open(config->access_log, stdout, &w->access_log) == -1) {
        err = errno;
        moss__worker_log(w, "open(%s): %s", config->access_log, strerror(err));
        if (w->error_log != stderr)
            fprintf(stderr, "moss: open(%s): %s\n", config->access_log, strerror(err));
        errno = err;
        return -1;
    }
    return 0;
}

/* Swaps *log for a fresh open of path; keeps the old one on failure. */
static int log_reopen(struct moss__worker *w, const char *path, FILE *dash, FILE **log)
{
    FILE *fresh;
    int err;

    if (*log == NULL || strcmp(path, "-") == 0)
        return 0;
    if (moss__log_open(path, dash, &fresh) == -1) {
        err = errno;
        moss__worker_log(w, "reopening the log: open(%s): %s", path, strerror(err));
        errno = err;
        return -1;
    }
    moss__log_close(*log);
    *log = fresh;
    return 0;
}

int moss__worker_logs_reopen(struct moss__worker *w)
{
    int rc = 0;

    if (log_reopen(w, log_error_path(w), stderr, &w->error_log) == -1)
        rc = -1;
    if (log_reopen(w, w->config->access_log, stdout, &w->access_log) == -1)
        rc = -1;
    return rc;
}

void moss__worker_logs_close(struct moss__worker *w)
{
    moss__log_close(w->access_log);
    moss__log_close(w->error_log);
    w->access_log = NULL;
    w->error_log = NULL;
}
