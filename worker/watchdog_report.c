/* The watchdog's reports (runtime/watchdog.h), for a worker or the master:
 * they go to the scoreboard entry (a worker's; always) and to the error log (unless rate-limited),
 * as text or JSON (error_log_format); past block_kill_ms the worker asks the
 * master to replace it. All of it runs on the monitor thread, while the
 * hub is blocked: nothing here touches what the hub thread owns. The log is
 * written by path, one open, write and close a report, so that a SIGUSR1
 * reopen on the hub thread never races a FILE shared with it. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

struct moss__watchdog_log {
    struct moss__watchdog *monitor;
    struct moss__score *score;            /* NULL: none */
    char path[MOSS__PATH_MAX];            /* the error log, "-" for stderr */
    int json;
    int64_t kill_ms;
};

static void report_write(const struct moss__watchdog_log *ww, const char *line, size_t len)
{
    int fd = strcmp(ww->path, "-") == 0 ? STDERR_FILENO
                                        : open(ww->path, O_WRONLY | O_APPEND | O_CLOEXEC);

    if (fd == -1)
        return; /* the hub logs its own errors; a report has nowhere else to go */
    if (write(fd, line, len) == -1)
        errno = 0; /* as above */
    if (fd != STDERR_FILENO)
        close(fd);
}

/* Who blocked: the greenlet, its name and request; for a late episode only
 * its id (the capture never ran). */
static size_t report_who(const struct moss__block_report *r, char *line, size_t cap)
{
    if (r->late)
        return (size_t)snprintf(line, cap, "by greenlet %llu (seen only after it ended: "
                                "no name, request or backtrace)",
                                (unsigned long long)r->greenlet);
    return (size_t)snprintf(line, cap, "by greenlet %llu \"%s\"%s%s%s",
                            (unsigned long long)r->greenlet, r->name,
                            r->request[0] != '\0' ? " serving \"" : "", r->request,
                            r->request[0] != '\0' ? "\"" : "");
}

static size_t report_text(const struct moss__block_report *r, const char *event, char *line,
                          size_t cap)
{
    size_t n = (size_t)snprintf(line, cap, "moss[%ld]: watchdog: %s: hub blocked %lld ms ",
                                (long)getpid(), event, (long long)r->ms);

    n += report_who(r, line + n, cap - n);
    if (r->suppressed > 0 && n < cap)
        n += (size_t)snprintf(line + n, cap - n, "; %u reports suppressed", r->suppressed);
    for (uint32_t i = 0; i < r->frame_count && n < cap; i++)
        n += (size_t)snprintf(line + n, cap - n, "%s%s", i == 0 ? "; backtrace: " : " < ",
                              r->frames[i]);
    if (n + 1 >= cap)
        n = cap - 2;
    line[n++] = '\n';
    line[n] = '\0';
    return n;
}

static size_t report_json(const struct moss__block_report *r, const char *event, char *line,
                          size_t cap)
{
    json_t *frames = json_array(), *doc;
    char *text;
    size_t n = 0;

    for (uint32_t i = 0; frames != NULL && i < r->frame_count; i++)
        json_array_append_new(frames, json_string(r->frames[i]));
    doc = json_pack("{s:s, s:i, s:I, s:s, s:s?, s:I, s:I, s:b, s:b, s:i, s:o*}", "event", event,
                    "pid", (int)getpid(), "greenlet", (json_int_t)r->greenlet, "name", r->name,
                    "request", r->request[0] != '\0' ? r->request : NULL, "ms",
                    (json_int_t)r->ms, "at", (json_int_t)r->at, "ongoing", r->ongoing != 0,
                    "late", r->late != 0, "suppressed", (int)r->suppressed, "frames", frames);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    if (text != NULL)
        n = (size_t)snprintf(line, cap, "%s\n", text);
    free(text);
    json_decref(doc);
    return n < cap ? n : 0;
}

static void report_log(const struct moss__watchdog_log *ww, const struct moss__block_report *r,
                       const char *event)
{
    char line[LINE_MAX_LEN];
    size_t n = ww->json ? report_json(r, event, line, sizeof(line))
                        : report_text(r, event, line, sizeof(line));

    if (n > 0)
        report_write(ww, line, n);
}

static void watchdog_on_report(const struct moss__block_report *r, void *arg)
{
    struct moss__watchdog_log *ww = arg;

    if (ww->score != NULL)
        moss__score_block_report(ww->score, r);
    if (!r->rate_limited)
        report_log(ww, r, r->ongoing ? "blocked" : "unblocked");
}

/* block_kill_ms: the report is in the log and the scoreboard first; then
 * the worker marks itself draining, so that the master replaces it. */
static void watchdog_on_kill(const struct moss__block_report *r, void *arg)
{
    struct moss__watchdog_log *ww = arg;

    report_log(ww, r, "block_kill");
    if (ww->score == NULL)
        return;
    moss__score_block_update(ww->score, r);
    moss__score_set_state(ww->score, MOSS__WORKER_DRAINING);
    atomic_store_explicit(&ww->score->blocked.kill_requested, 1, memory_order_release);
}

struct moss__watchdog_log *moss__watchdog_log_start(const struct moss_config *c,
                                                    struct moss__score *score)
{
    struct moss__watchdog_log *ww = calloc(1, sizeof(*ww));
    struct moss__watchdog_opts opts = {
        .interval_ms = c->watchdog_interval_ms, .max_blocking_ms = c->max_blocking_ms,
        .kill_ms = score != NULL ? c->block_kill_ms : 0,
        .reports_per_minute = MOSS__WATCHDOG_REPORTS_PER_MINUTE,
        .on_report = watchdog_on_report, .on_kill = watchdog_on_kill, .arg = ww};

    if (ww == NULL)
        return NULL;
    ww->score = score;
    ww->json = c->error_log_format == MOSS__LOG_JSON;
    snprintf(ww->path, sizeof(ww->path), "%s", c->error_log[0] != '\0' ? c->error_log : "-");
    ww->monitor = moss__watchdog_start(&opts);
    if (ww->monitor == NULL) {
        int err = errno;

        free(ww);
        errno = err;
        return NULL;
    }
    return ww;
}

void moss__watchdog_log_stop(struct moss__watchdog_log *ww)
{
    if (ww == NULL)
        return;
    moss__watchdog_stop(ww->monitor);
    free(ww);
}
