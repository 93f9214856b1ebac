/* The access log: one line per finished request, in the Common Log Format
 * (with the duration appended) or as JSON lines:
 *   127.0.0.1:40000 - - [06/Nov/1994:08:49:37 +0000] "GET /x HTTP/1.1" 200 12 3
 *   {"time":"1994-11-06T08:49:37Z","client":"127.0.0.1:40000","method":"GET",
 *    "path":"/x","status":200,"bytes":12,"duration_ms":3}
 * Strings from the network are escaped, so a request cannot forge a line or
 * break the JSON; a line is built whole and written with one fputs. */
#include "http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <string.h>
#include <time.h>

#define ACCESS_LINE_MAX 4096
#define ACCESS_FIELD_MAX 1024 /* escaped bytes per string field; the rest is cut */

/* A line being built; it stops growing (and stays NUL-terminated) when full. */
struct access_line {
    char buf[ACCESS_LINE_MAX];
    size_t len;
};

static void line_add(struct access_line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len;

    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static void line_printf(struct access_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void line_printf(struct access_line *l, const char *fmt, ...)
{
    size_t room = sizeof(l->buf) - l->len;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->len += (size_t)n < room ? (size_t)n : room - 1;
}

/* Text format: '"', '\\' and every byte outside printable ASCII as \xHH,
 * as nginx does. */
static void line_text_string(struct access_line *l, const char *s)
{
    size_t start = l->len;

    for (; *s != '\0' && l->len - start < ACCESS_FIELD_MAX; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            line_printf(l, "\\x%02X", c);
        else
            line_add(l, (const char *)&c, 1);
    }
}

/* JSON: '"' and '\\' escaped, control bytes and bytes >= 0x80 as \u00XX
 * (read as Latin-1), so the line is valid UTF-8 whatever the path holds. */
static void line_json_string(struct access_line *l, const char *s)
{
    size_t start = l->len;

    line_add(l, "\"", 1);
    for (; *s != '\0' && l->len - start < ACCESS_FIELD_MAX; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c >= 0x7f)
            line_printf(l, "\\u%04X", c);
        else if (c == '"' || c == '\\')
            line_printf(l, "\\%c", c);
        else
            line_add(l, (const char *)&c, 1);
    }
    line_add(l, "\"", 1);
}

static void access_line_text(struct access_line *l, const struct moss__access_record *rec,
                             const struct tm *tm)
{
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

    line_text_string(l, rec->client);
    line_printf(l, " - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm->tm_mday,
                months[tm->tm_mon % 12], tm->tm_year + 1900, tm->tm_hour, tm->tm_min,
                tm->tm_sec);
    line_text_string(l, rec->method);
    line_add(l, " ", 1);
    line_text_string(l, rec->path);
    line_printf(l, " HTTP/%u.%u\" %d %" PRIu64 " %" PRId64 "\n", rec->http_major,
                rec->http_minor, rec->status, rec->bytes, rec->duration_ms);
}

static void access_line_json(struct access_line *l, const struct moss__access_record *rec,
                             const struct tm *tm)
{
    line_printf(l, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"client\":",
                tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
                tm->tm_sec);
    line_json_string(l, rec->client);
    line_add(l, ",\"method\":", 10);
    line_json_string(l, rec->method);
    line_add(l, ",\"path\":", 8);
    line_json_string(l, rec->path);
    line_printf(l, ",\"status\":%d,\"bytes\":%" PRIu64 ",\"duration_ms\":%" PRId64 "}\n",
                rec->status, rec->bytes, rec->duration_ms);
}

/* One fputs of a whole line, then flush: lines never interleave. A full
 * disk loses lines, not the server: the failure is logged once, with what
 * it means, the unwritten bytes are dropped (the buffer must not grow), and
 * the first line written again says so, with how many were lost. */
static void access_write(struct moss__worker *w, const char *text)
{
    const char *path = w->config != NULL ? w->config->access_log : "?";
    int err;

    errno = 0;
    if (fputs(text, w->access_log) != EOF && fflush(w->access_log) != EOF) {
        if (w->access_log_lost > 0)
            moss__worker_log(w, "access log %s: writing again; %llu lines were lost", path,
                             (unsigned long long)w->access_log_lost);
        w->access_log_lost = 0;
        return;
    }
    err = errno;
    clearerr(w->access_log);
    __fpurge(w->access_log);
    if (w->access_log_lost++ == 0)
        moss__worker_log(w, "access log %s: write: %s; lines are lost until it can be written "
                         "again", path, strerror(err != 0 ? err : EIO));
}

void moss__access_log(struct moss__worker *w, const struct moss__access_record *rec)
{
    struct access_line line;
    time_t now;
    struct tm tm;

    if (w->access_log == NULL)
        return;
    now = time(NULL);
    line.len = 0;
    line.buf[0] = '\0';
    gmtime_r(&now, &tm);
    if (w->config != NULL && w->config->access_log_format == MOSS__LOG_JSON)
        access_line_json(&line, rec, &tm);
    else
        access_line_text(&line, rec, &tm);
    if (line.len == sizeof(line.buf) - 1)
        line.buf[line.len - 1] = '\n'; /* cut: still one whole line */
    access_write(w, line.buf);
}
