/* The error log: one line per event, "moss[pid]: message". */
#include "worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

void moss__worker_log(struct moss__worker *w, const char *fmt, ...)
{
    FILE *out = w != NULL && w->error_log != NULL ? w->error_log : stderr;
    char line[1024];
    va_list ap;
    int len;

    len = snprintf(line, sizeof(line), "moss[%ld]: ", (long)getpid());
    va_start(ap, fmt);
    vsnprintf(line + len, sizeof(line) - (size_t)len, fmt, ap);
    va_end(ap);
    /* one fputs of a whole line: lines from one process never interleave */
    fprintf(out, "%s\n", line);
    fflush(out);
}
