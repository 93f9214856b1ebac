/* /metrics: the admin snapshot (stats.c) in the Prometheus text exposition
 * format 0.0.4. Every family is written whole (its # HELP and # TYPE, then
 * all its samples), as the format requires; a family with no sample (no
 * worker has a heartbeat yet, say) still gets its HELP and TYPE.
 *
 * Labels: per worker {slot, pid, generation}; moss_worker_state adds
 * {state}, and names a slot waiting in backoff with pid="" (which
 * Prometheus reads as no pid). Only addresses and the version can hold
 * characters to escape. Figures unknown in /stats (null there) have no
 * sample here.
 *
 * The output goes into the caller's buffer, whose size moss__metrics_cap
 * bounds from the number of workers and listeners; writing stops at the
 * first line that does not fit, and the render fails rather than cut. */
#include "admin.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Bounds for moss__metrics_cap. A sample line with numeric labels: its
 * name (< 48), the worker labels with the longest numbers and state
 * (< 100) and a value (< 24). A line with an address label: every byte of
 * the address may double when escaped. */
#define METRICS_FAMILIES_MAX 40
#define METRICS_FAMILY_BYTES 256        /* # HELP and # TYPE lines */
#define METRICS_LINE_BYTES 192
#define METRICS_ADDRESS_LINE_BYTES (96 + 2 * MOSS__ADDRESS_MAX)
#define METRICS_GLOBAL_LINES 24
#define METRICS_WORKER_LINES (24 + MOSS__BLOCK_BUCKETS + 2)
#define METRICS_SLOT_LINES 2
#define METRICS_LISTENER_LINES 2

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

struct metrics_out {
    char *buf;
    size_t cap, len;
    int full;                      /* a write did not fit: the output is void */
};

/* A family whose samples are one uint64_t field of the counters. */
struct metrics_field {
    const char *name, *type, *help;
    size_t offset;                 /* into struct moss__stats_counters */
};

#define FIELD(f) offsetof(struct moss__stats_counters, f)

static const struct metrics_field metrics_total_fields[] = {
    {"moss_requests_total", "counter", "Responses completed by all workers, exited ones included.",
     FIELD(requests)},
    {"moss_connections_active", "gauge", "Open connections of the live workers.",
     FIELD(connections_active)},
    {"moss_greenlets", "gauge", "Greenlets alive in the live workers.", FIELD(greenlets)},
    {"moss_bytes_in_total", "counter", "Bytes read from clients by all workers.",
     FIELD(bytes_in)},
    {"moss_bytes_out_total", "counter", "Bytes written to clients by all workers.",
     FIELD(bytes_out)},
    {"moss_blocked_total", "counter", "Episodes of a worker's hub blocked, all workers.",
     FIELD(blocked_count)},
    {"moss_connections_total", "counter", "Connections accepted by all workers.",
     FIELD(connections_total)},
    {"moss_request_timeouts_total", "counter",
     "Requests cancelled by request_timeout, all workers.", FIELD(request_timeouts)},
    {"moss_accept_backoffs_total", "counter",
     "Episodes of accept backing off (out of fds or memory), all workers.",
     FIELD(accept_backoffs)},
};

static const struct metrics_field metrics_worker_fields[] = {
    {"moss_worker_requests_total", "counter", "Responses completed by the worker.",
     FIELD(requests)},
    {"moss_worker_connections_active", "gauge", "Open connections of the worker.",
     FIELD(connections_active)},
    {"moss_worker_greenlets", "gauge", "Greenlets alive in the worker.", FIELD(greenlets)},
    {"moss_worker_switches_total", "counter", "Greenlet switches in the worker.",
     FIELD(switches)},
    {"moss_worker_loop_iterations_total", "counter", "Event loop iterations of the worker.",
     FIELD(loop_iterations)},
    {"moss_worker_bytes_in_total", "counter", "Bytes read from clients by the worker.",
     FIELD(bytes_in)},
    {"moss_worker_bytes_out_total", "counter", "Bytes written to clients by the worker.",
     FIELD(bytes_out)},
    {"moss_worker_blocked_total", "counter", "Episodes of the worker's hub blocked.",
     FIELD(blocked_count)},
    {"moss_worker_connections_total", "counter", "Connections the worker accepted.",
     FIELD(connections_total)},
    {"moss_worker_request_timeouts_total", "counter",
     "Requests of the worker cancelled by request_timeout.", FIELD(request_timeouts)},
    {"moss_worker_accept_backoffs_total", "counter",
     "Episodes of the worker's accept backing off (out of fds or memory).",
     FIELD(accept_backoffs)},
};

static const char *const metrics_classes[MOSS__STATUS_CLASSES] = {
    [MOSS__STATUS_1XX] = "1xx", [MOSS__STATUS_2XX] = "2xx", [MOSS__STATUS_3XX] = "3xx",
    [MOSS__STATUS_4XX] = "4xx", [MOSS__STATUS_5XX] = "5xx",
};

/* ---- writing ---------------------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void metrics_printf(struct metrics_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->full = 1;
        return;
    }
    o->len += (size_t)n;
}

/* A label value: backslash, double quote and newline escaped. */
static void metrics_escaped(struct metrics_out *o, const char *value)
{
    for (const char *p = value; *p != '\0' && !o->full; p++) {
        if (*p == '\\')
            metrics_printf(o, "\\\\");
        else if (*p == '"')
            metrics_printf(o, "\\\"");
        else if (*p == '\n')
            metrics_printf(o, "\\n");
        else
            metrics_printf(o, "%c", *p);
    }
}

static void metrics_family(struct metrics_out *o, const char *name, const char *type,
                           const char *help)
{
    metrics_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static double metrics_seconds(int64_t ms)
{
    return (double)ms / 1000.0;
}

/* ---- the master's own figures ------------------------------------------------------- */

static void metrics_info(struct metrics_out *o, const struct moss__master *m,
                         const struct moss__stats *s)
{
    metrics_family(o, "moss_info", "gauge", "The moss version, as a label.");
    metrics_printf(o, "moss_info{version=\"");
    metrics_escaped(o, moss_version());
    metrics_printf(o, "\"} 1\n");
    metrics_family(o, "moss_uptime_seconds", "gauge", "Seconds since the master started.");
    metrics_printf(o, "moss_uptime_seconds %" PRId64 "\n", s->uptime_s);
    metrics_family(o, "moss_generation", "gauge", "The committed generation (1 at start).");
    metrics_printf(o, "moss_generation %" PRIu64 "\n", m->generation);
    metrics_family(o, "moss_workers_wanted", "gauge", "Worker slots wanted now.");
    metrics_printf(o, "moss_workers_wanted %u\n", m->workers);
    metrics_family(o, "moss_stopping", "gauge", "1 once the master has been told to stop.");
    metrics_printf(o, "moss_stopping %d\n", m->stopping != 0);
}

/* The last reload's families have no sample before any reload. */
static void metrics_reloads(struct metrics_out *o, const struct moss__master *m)
{
    const struct moss__master_reloads *r = &m->reloads;

    metrics_family(o, "moss_reloads_total", "counter", "Reloads (SIGHUP), by result.");
    metrics_printf(o, "moss_reloads_total{result=\"ok\"} %" PRIu64 "\n", r->ok);
    metrics_printf(o, "moss_reloads_total{result=\"failed\"} %" PRIu64 "\n", r->failed);
    metrics_family(o, "moss_last_reload_timestamp_seconds", "gauge",
                   "When the last reload ended, in seconds since the epoch.");
    if (r->has_last)
        metrics_printf(o, "moss_last_reload_timestamp_seconds %" PRId64 "\n", r->last_at);
    metrics_family(o, "moss_last_reload_success", "gauge",
                   "1 if the last reload was committed, 0 if it was rolled back.");
    if (r->has_last)
        metrics_printf(o, "moss_last_reload_success %d\n", r->last_ok != 0);
}

/* Listeners: the backlog always; the queue when it is known. */
static void metrics_listeners(struct metrics_out *o, const struct moss__stats *s)
{
    static const char *const names[] = {"moss_listener_backlog", "moss_listener_queued"};
    static const char *const helps[] = {"The listen backlog.",
                                        "Connections waiting in the accept queue."};

    for (size_t k = 0; k < COUNT(names); k++) {
        metrics_family(o, names[k], "gauge", helps[k]);
        for (size_t i = 0; i < s->listener_count; i++) {
            const struct moss__stats_listener *l = &s->listeners[i];
            int64_t value = k == 0 ? l->backlog : l->queued;

            if (value < 0)
                continue;
            metrics_printf(o, "%s{address=\"", names[k]);
            metrics_escaped(o, l->address);
            metrics_printf(o, "\"} %" PRId64 "\n", value);
        }
    }
}

/* ---- totals ------------------------------------------------------------------------- */

static uint64_t metrics_field_value(const struct moss__stats_counters *c, size_t offset)
{
    uint64_t value;

    memcpy(&value, (const char *)c + offset, sizeof(value));
    return value;
}

static void metrics_totals(struct metrics_out *o, const struct moss__stats *s)
{
    for (size_t k = 0; k < COUNT(metrics_total_fields); k++) {
        const struct metrics_field *f = &metrics_total_fields[k];

        metrics_family(o, f->name, f->type, f->help);
        metrics_printf(o, "%s %" PRIu64 "\n", f->name,
                       metrics_field_value(&s->totals, f->offset));
    }
    metrics_family(o, "moss_responses_total", "counter",
                   "Responses by status class, all workers, exited ones included.");
    for (int c = MOSS__STATUS_2XX; c < MOSS__STATUS_CLASSES; c++)
        metrics_printf(o, "moss_responses_total{class=\"%s\"} %" PRIu64 "\n",
                       metrics_classes[c], s->totals.status[c]);
}

/* ---- workers ------------------------------------------------------------------------ */

/* name{slot="..",pid="..",generation=".." and a closing brace left to the
 * caller, so that it can add labels. */
static void metrics_worker_start(struct metrics_out *o, const char *name,
                                 const struct moss__stats_worker *w)
{
    if (w->pid != 0)
        metrics_printf(o, "%s{slot=\"%u\",pid=\"%ld\",generation=\"%" PRIu64 "\"", name,
                       w->slot, (long)w->pid, w->generation);
    else
        metrics_printf(o, "%s{slot=\"%u\",pid=\"\",generation=\"%" PRIu64 "\"", name, w->slot,
                       w->generation);
}

static void metrics_worker_counters(struct metrics_out *o, const struct moss__stats *s)
{
    for (size_t k = 0; k < COUNT(metrics_worker_fields); k++) {
        const struct metrics_field *f = &metrics_worker_fields[k];

        metrics_family(o, f->name, f->type, f->help);
        for (size_t i = 0; i < s->worker_count; i++) {
            if (s->workers[i].pid == 0)
                continue;
            metrics_worker_start(o, f->name, &s->workers[i]);
            metrics_printf(o, "} %" PRIu64 "\n",
                           metrics_field_value(&s->workers[i].c, f->offset));
        }
    }
}

static void metrics_worker_responses(struct metrics_out *o, const struct moss__stats *s)
{
    metrics_family(o, "moss_worker_responses_total", "counter",
                   "Responses of the worker by status class.");
    for (size_t i = 0; i < s->worker_count; i++) {
        if (s->workers[i].pid == 0)
            continue;
        for (int c = MOSS__STATUS_2XX; c < MOSS__STATUS_CLASSES; c++) {
            metrics_worker_start(o, "moss_worker_responses_total", &s->workers[i]);
            metrics_printf(o, ",class=\"%s\"} %" PRIu64 "\n", metrics_classes[c],
                           s->workers[i].c.status[c]);
        }
    }
}

/* Gauges that may be unknown (negative: no sample), some in seconds. */
struct metrics_gauge {
    const char *name, *help;
    int64_t (*get)(const struct moss__stats_worker *w);
    int ms_to_seconds;
};

static int64_t metrics_heartbeat(const struct moss__stats_worker *w)
{
    return w->heartbeat_age_ms;
}

static int64_t metrics_rss(const struct moss__stats_worker *w)
{
    return w->rss_bytes;
}

static int64_t metrics_started(const struct moss__stats_worker *w)
{
    return w->started_at;
}

static int64_t metrics_blocked_max(const struct moss__stats_worker *w)
{
    return (int64_t)w->c.blocked_max_ms;
}

static const struct metrics_gauge metrics_worker_gauges[] = {
    {"moss_worker_heartbeat_age_seconds", "Since the worker's hub last beat.",
     metrics_heartbeat, 1},
    {"moss_worker_rss_bytes", "Resident memory of the worker process.", metrics_rss, 0},
    {"moss_worker_start_time_seconds", "When the worker was forked, since the epoch.",
     metrics_started, 0},
    {"moss_worker_blocked_max_seconds", "The worker's longest blocked episode.",
     metrics_blocked_max, 1},
};

static void metrics_worker_gauges_write(struct metrics_out *o, const struct moss__stats *s)
{
    for (size_t k = 0; k < COUNT(metrics_worker_gauges); k++) {
        const struct metrics_gauge *g = &metrics_worker_gauges[k];

        metrics_family(o, g->name, "gauge", g->help);
        for (size_t i = 0; i < s->worker_count; i++) {
            int64_t value = g->get(&s->workers[i]);

            if (s->workers[i].pid == 0 || value < 0)
                continue;
            metrics_worker_start(o, g->name, &s->workers[i]);
            if (g->ms_to_seconds)
                metrics_printf(o, "} %.3f\n", metrics_seconds(value));
            else
                metrics_printf(o, "} %" PRId64 "\n", value);
        }
    }
}

/* One sample per entry, a slot in backoff included: 1 with its state. */
static void metrics_worker_states(struct metrics_out *o, const struct moss__stats *s)
{
    metrics_family(o, "moss_worker_state", "gauge",
                   "1 for each worker with its state; pid is empty for a slot in backoff.");
    for (size_t i = 0; i < s->worker_count; i++) {
        metrics_worker_start(o, "moss_worker_state", &s->workers[i]);
        metrics_printf(o, ",state=\"%s\"} 1\n", moss__master_state_name(s->workers[i].state));
    }
}

/* Per slot wanted now: what outlives its processes. */
static void metrics_slots(struct metrics_out *o, const struct moss__master *m,
                          const struct moss__stats *s)
{
    int64_t backoff[MOSS__WORKERS_MAX] = {0};

    for (size_t i = 0; i < s->worker_count; i++)
        if (s->workers[i].slot < MOSS__WORKERS_MAX)
            backoff[s->workers[i].slot] = s->workers[i].backoff_ms;
    metrics_family(o, "moss_slot_respawns_total", "counter",
                   "Processes forked for the slot after its first.");
    for (unsigned slot = 0; slot < m->workers && slot < MOSS__WORKERS_MAX; slot++)
        metrics_printf(o, "moss_slot_respawns_total{slot=\"%u\"} %u\n", slot,
                       m->slots[slot].respawns);
    metrics_family(o, "moss_slot_backoff_seconds", "gauge",
                   "The slot's current respawn backoff, 0 if none.");
    for (unsigned slot = 0; slot < m->workers && slot < MOSS__WORKERS_MAX; slot++)
        metrics_printf(o, "moss_slot_backoff_seconds{slot=\"%u\"} %.3f\n", slot,
                       metrics_seconds(backoff[slot]));
}

/* The histogram of a worker's blocked episodes (those that have ended):
 * cumulative buckets, then _sum and _count, as Prometheus wants them. */
static void metrics_worker_blocked_histogram(struct metrics_out *o,
                                             const struct moss__stats_worker *w)
{
    static const char name[] = "moss_worker_blocked_duration_seconds";
    char bucket[64], le[16];
    uint64_t cumulative = 0;

    snprintf(bucket, sizeof(bucket), "%s_bucket", name);
    for (size_t b = 0; b < MOSS__BLOCK_BUCKETS; b++) {
        cumulative += w->c.blocked_buckets[b];
        if (b + 1 < MOSS__BLOCK_BUCKETS)
            snprintf(le, sizeof(le), "%g", metrics_seconds(moss__block_bucket_ms[b]));
        else
            snprintf(le, sizeof(le), "+Inf");
        metrics_worker_start(o, bucket, w);
        metrics_printf(o, ",le=\"%s\"} %" PRIu64 "\n", le, cumulative);
    }
    metrics_worker_start(o, "moss_worker_blocked_duration_seconds_sum", w);
    metrics_printf(o, "} %g\n", metrics_seconds((int64_t)w->c.blocked_sum_ms));
    metrics_worker_start(o, "moss_worker_blocked_duration_seconds_count", w);
    metrics_printf(o, "} %" PRIu64 "\n", cumulative);
}

static void metrics_worker_blocked(struct metrics_out *o, const struct moss__stats *s)
{
    metrics_family(o, "moss_worker_blocked_duration_seconds", "histogram",
                   "How long the worker's hub stayed blocked, per episode that has ended.");
    for (size_t i = 0; i < s->worker_count; i++)
        if (s->workers[i].pid != 0)
            metrics_worker_blocked_histogram(o, &s->workers[i]);
}

/* ---- the whole -------------------------------------------------------------------- */

size_t moss__metrics_cap(const struct moss__stats *s)
{
    return METRICS_FAMILIES_MAX * METRICS_FAMILY_BYTES +
           METRICS_GLOBAL_LINES * METRICS_LINE_BYTES +
           s->worker_count * METRICS_WORKER_LINES * METRICS_LINE_BYTES +
           MOSS__WORKERS_MAX * METRICS_SLOT_LINES * METRICS_LINE_BYTES +
           s->listener_count * METRICS_LISTENER_LINES * METRICS_ADDRESS_LINE_BYTES + 1;
}

ptrdiff_t moss__metrics_render(const struct moss__master *m, const struct moss__stats *s,
                               char *buf, size_t cap)
{
    struct metrics_out o = {.buf = buf, .cap = cap};

    if (cap == 0) {
        errno = ENOBUFS;
        return -1;
    }
    buf[0] = '\0';
    metrics_info(&o, m, s);
    metrics_reloads(&o, m);
    metrics_listeners(&o, s);
    metrics_totals(&o, s);
    metrics_worker_states(&o, s);
    metrics_worker_counters(&o, s);
    metrics_worker_responses(&o, s);
    metrics_worker_gauges_write(&o, s);
    metrics_worker_blocked(&o, s);
    metrics_slots(&o, m, s);
    if (o.full) {
        errno = ENOBUFS;
        return -1;
    }
    return (ptrdiff_t)o.len;
}
