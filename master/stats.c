/* The admin endpoints' figures: a snapshot of the master's state, the
 * scoreboard, /proc and the listeners' accept queues, read once per
 * request; and /stats, that snapshot as a JSON document (jansson).
 *
 * The scoreboard is written by other processes: every field is read with
 * a relaxed atomic load, and figures of different fields may be a few
 * updates apart. Nothing here blocks: /proc and getsockopt answer at once,
 * so /stats answers even while every worker is stuck. */
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UNIX_PREFIX "unix:"

/* ---- reading ------------------------------------------------------------------ */

static uint64_t stats_load(const _Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static void stats_counters_load(const struct moss__worker_counters *src,
                                struct moss__stats_counters *dst)
{
    *dst = (struct moss__stats_counters){0};
    dst->requests = stats_load(&src->requests);
    dst->connections_active = stats_load(&src->connections_active);
    dst->greenlets = stats_load(&src->greenlets);
    dst->switches = stats_load(&src->switches);
    dst->loop_iterations = stats_load(&src->loop_iterations);
    dst->bytes_in = stats_load(&src->bytes_in);
    dst->bytes_out = stats_load(&src->bytes_out);
    dst->connections_total = stats_load(&src->connections_total);
    dst->request_timeouts = stats_load(&src->request_timeouts);
    dst->accept_backoffs = stats_load(&src->accept_backoffs);
    for (int i = 0; i < MOSS__STATUS_CLASSES; i++)
        dst->status[i] = stats_load(&src->status[i]);
}

/* The resident set of pid, from /proc/PID/statm ("size resident ..." in
 * pages): bytes, or -1 if it cannot be read (the process is gone). */
static int64_t stats_rss_bytes(pid_t pid)
{
    char path[64], text[256];
    long long size, resident;
    ssize_t n;
    int fd;

    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/statm", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    if (sscanf(text, "%lld %lld", &size, &resident) != 2 || resident < 0)
        return -1;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

/* The current accept queue of a TCP listening socket: for a listener,
 * TCP_INFO's tcpi_unacked is the queue's length (and tcpi_sacked its
 * limit). -1 if fd is none or not a TCP listener. */
static int64_t stats_queue_depth(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof(info);

    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == -1)
        return -1;
    if (info.tcpi_state != TCP_LISTEN)
        return -1;
    return info.tcpi_unacked;
}

/* A listener's queue: its shared socket's, or with reuse_port the sum over
 * the sockets of the slots in use. A unix socket's is unknown (-1): Linux
 * keeps it, but shows it only through sock_diag netlink queries (what `ss`
 * does), no getsockopt; not worth a netlink round trip per request. */
static int64_t stats_listener_queued(const struct moss__master *m, size_t i)
{
    const struct moss__master_listener *l = &m->listeners[i];
    int64_t sum = 0, depth;
    int seen = 0;

    if (strncmp(l->address, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0)
        return -1;
    if (!l->reuse_port)
        return stats_queue_depth(l->fd);
    for (unsigned s = 0; s < m->workers && s < MOSS__WORKERS_MAX; s++) {
        if (m->slots[s].fds[i] == -1)
            continue;
        depth = stats_queue_depth(m->slots[s].fds[i]);
        if (depth == -1)
            return -1;
        sum += depth;
        seen = 1;
    }
    return seen ? sum : -1;
}

/* ---- the snapshot ------------------------------------------------------------------ */

static int64_t stats_slot_backoff_ms(const struct moss__master *m, unsigned slot, int64_t now)
{
    if (slot >= MOSS__WORKERS_MAX || m->slots[slot].backoff_until_ms <= now)
        return 0;
    return m->slots[slot].backoff_ms;
}

static void stats_blocked_load(const struct moss__blocked *b, struct moss__stats_counters *c)
{
    c->blocked_count = stats_load(&b->count);
    c->blocked_max_ms = stats_load(&b->max_ms);
    c->blocked_sum_ms = stats_load(&b->sum_ms);
    for (size_t i = 0; i < MOSS__BLOCK_BUCKETS; i++)
        c->blocked_buckets[i] = stats_load(&b->buckets[i]);
}

static void stats_proc(const struct moss__master *m, const struct moss__master_proc *proc,
                       int64_t now, struct moss__stats_worker *e)
{
    const struct moss__score *score = proc->score; /* &m->board[i]: never NULL */
    int64_t beat = atomic_load_explicit(&score->heartbeat_ms, memory_order_relaxed);

    *e = (struct moss__stats_worker){
        .slot = proc->slot, .pid = proc->pid, .generation = proc->generation,
        .state = moss__master_proc_state(proc), .cpu = proc->cpu,
        .started_at = proc->started_at, .started_ms = proc->started_ms,
        .respawns = proc->slot < MOSS__WORKERS_MAX ? m->slots[proc->slot].respawns : 0,
        .backoff_ms = stats_slot_backoff_ms(m, proc->slot, now),
        .heartbeat_age_ms = beat == 0 ? -1 : (now > beat ? now - beat : 0),
        .rss_bytes = stats_rss_bytes(proc->pid),
    };
    stats_counters_load(&score->counters, &e->c);
    stats_blocked_load(&score->blocked, &e->c);
    e->c.has_last = moss__score_block_last(score, &e->c.last) == 0;
}

static int stats_slot_has_current(const struct moss__master *m, unsigned slot)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used && m->procs[i].slot == slot &&
            m->procs[i].generation == m->generation)
            return 1;
    return 0;
}

/* A slot wanted now, waiting out a backoff with no process of the committed
 * generation: an entry of its own, so that /stats shows why it is empty. */
static void stats_backoffs(const struct moss__master *m, int64_t now, struct moss__stats *out)
{
    for (unsigned s = 0; s < m->workers && s < MOSS__WORKERS_MAX; s++) {
        if (m->slots[s].backoff_until_ms <= now || stats_slot_has_current(m, s))
            continue;
        out->workers[out->worker_count++] = (struct moss__stats_worker){
            .slot = s, .generation = m->generation, .state = MOSS__WORKER_BACKOFF,
            .cpu = -1, .respawns = m->slots[s].respawns, .backoff_ms = m->slots[s].backoff_ms,
            .heartbeat_age_ms = -1, .rss_bytes = -1,
        };
    }
}

static int stats_worker_cmp(const void *a, const void *b)
{
    const struct moss__stats_worker *x = a, *y = b;

    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->generation != y->generation)
        return x->generation < y->generation ? -1 : 1;
    if (x->started_ms != y->started_ms)
        return x->started_ms < y->started_ms ? -1 : 1;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Exited workers' figures, plus the live ones'; the gauges only live.
 * blocked_max_ms stays 0: the exited workers' is not kept. */
static void stats_totals(const struct moss__master *m, struct moss__stats *out)
{
    struct moss__stats_counters *t = &out->totals;

    stats_counters_load(&m->exited, t);
    t->connections_active = t->greenlets = 0;
    t->blocked_count = m->exited_blocked;
    for (size_t i = 0; i < out->worker_count; i++) {
        const struct moss__stats_counters *c = &out->workers[i].c;

        t->requests += c->requests;
        t->connections_active += c->connections_active;
        t->greenlets += c->greenlets;
        t->switches += c->switches;
        t->loop_iterations += c->loop_iterations;
        t->bytes_in += c->bytes_in;
        t->bytes_out += c->bytes_out;
        t->connections_total += c->connections_total;
        t->request_timeouts += c->request_timeouts;
        t->accept_backoffs += c->accept_backoffs;
        for (int k = 0; k < MOSS__STATUS_CLASSES; k++)
            t->status[k] += c->status[k];
        t->blocked_count += c->blocked_count;
    }
}

void moss__stats_collect(const struct moss__master *m, struct moss__stats *out)
{
    int64_t now = moss__score_clock_ms();

    out->uptime_s = now > m->started_ms ? (now - m->started_ms) / 1000 : 0;
    out->worker_count = 0;
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used)
            stats_proc(m, &m->procs[i], now, &out->workers[out->worker_count++]);
    stats_backoffs(m, now, out);
    qsort(out->workers, out->worker_count, sizeof(out->workers[0]), stats_worker_cmp);
    out->listener_count = 0;
    for (size_t i = 0; i < m->listener_count && i < MOSS__BIND_MAX; i++)
        out->listeners[out->listener_count++] = (struct moss__stats_listener){
            .address = m->listeners[i].address, .backlog = m->listeners[i].backlog,
            .queued = stats_listener_queued(m, i)};
    stats_totals(m, out);
}

/* ---- the JSON document ------------------------------------------------------------ */

/* Counters are uint64_t, JSON integers here json_int_t (int64_t): figures
 * beyond 2^63 would need centuries of requests. */
#define J(v) ((json_int_t)(v))

/* v, or null when it is unknown (negative). */
static json_t *stats_known(int64_t v)
{
    return v < 0 ? json_null() : json_integer(v);
}

static json_t *stats_status_json(const uint64_t *status)
{
    return json_pack("{s:I, s:I, s:I, s:I}", "2xx", J(status[MOSS__STATUS_2XX]),
                     "3xx", J(status[MOSS__STATUS_3XX]), "4xx", J(status[MOSS__STATUS_4XX]),
                     "5xx", J(status[MOSS__STATUS_5XX]));
}

/* The latest blocking episode: who, serving what, how long, where. */
static json_t *stats_block_json(const struct moss__block_report *r)
{
    json_t *frames = json_array();

    for (uint32_t i = 0; frames != NULL && i < r->frame_count && i < MOSS__BLOCK_FRAMES; i++)
        json_array_append_new(frames, json_string(r->frames[i]));
    return json_pack("{s:I, s:s, s:s?, s:I, s:I, s:b, s:b, s:o*}", "greenlet", J(r->greenlet),
                     "name", r->name, "request", r->request[0] != '\0' ? r->request : NULL,
                     "ms", J(r->ms), "at", J(r->at), "ongoing", r->ongoing != 0, "late",
                     r->late != 0, "frames", frames);
}

/* The counters of a worker entry, added to o: 0, or -1 (ENOMEM). */
static int stats_counters_into(json_t *o, const struct moss__stats_counters *c)
{
    json_t *more = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I, s:o}}",
        "requests", J(c->requests), "connections_active", J(c->connections_active),
        "connections_total", J(c->connections_total), "request_timeouts",
        J(c->request_timeouts), "accept_backoffs", J(c->accept_backoffs),
        "greenlets", J(c->greenlets), "switches", J(c->switches),
        "loop_iterations", J(c->loop_iterations), "bytes_in", J(c->bytes_in),
        "bytes_out", J(c->bytes_out), "status", stats_status_json(c->status),
        "blocked", "count", J(c->blocked_count), "max_ms", J(c->blocked_max_ms), "last",
        c->has_last ? stats_block_json(&c->last) : json_null());

    return json_object_update_new(o, more);
}

static json_t *stats_worker_json(const struct moss__stats_worker *w)
{
    int live = w->pid != 0;
    json_t *o = json_pack(
        "{s:I, s:o, s:I, s:s, s:o, s:o, s:I, s:I, s:o, s:o}",
        "slot", J(w->slot), "pid", stats_known(live ? w->pid : -1),
        "generation", J(w->generation), "state", moss__master_state_name(w->state),
        "cpu", stats_known(w->cpu), "started_at", stats_known(live ? w->started_at : -1),
        "respawns", J(w->respawns), "backoff_ms", J(w->backoff_ms),
        "heartbeat_age_ms", stats_known(w->heartbeat_age_ms),
        "rss_bytes", stats_known(w->rss_bytes));

    if (o != NULL && stats_counters_into(o, &w->c) == -1) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *stats_workers_json(const struct moss__stats *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < s->worker_count; i++) {
        if (json_array_append_new(a, stats_worker_json(&s->workers[i])) == -1) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *stats_listeners_json(const struct moss__stats *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < s->listener_count; i++) {
        const struct moss__stats_listener *l = &s->listeners[i];

        if (json_array_append_new(a, json_pack("{s:s, s:i, s:o}", "address", l->address,
                                               "backlog", l->backlog, "queued",
                                               stats_known(l->queued))) == -1) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* "last" is null before any reload, its "error" null when it went well. */
static json_t *stats_reloads_json(const struct moss__master *m)
{
    const struct moss__master_reloads *r = &m->reloads;
    json_t *last = !r->has_last ? json_null()
                                : json_pack("{s:I, s:b, s:s?}", "at", J(r->last_at), "ok",
                                            r->last_ok, "error",
                                            r->last_ok ? NULL : r->last_error);

    return json_pack("{s:I, s:I, s:o}", "ok", J(r->ok), "failed", J(r->failed), "last", last);
}

static json_t *stats_totals_json(const struct moss__stats_counters *t)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
                     "requests", J(t->requests), "connections_active", J(t->connections_active),
                     "greenlets", J(t->greenlets), "blocked", J(t->blocked_count),
                     "bytes_in", J(t->bytes_in), "bytes_out", J(t->bytes_out),
                     "connections_total", J(t->connections_total), "request_timeouts",
                     J(t->request_timeouts), "accept_backoffs", J(t->accept_backoffs),
                     "status", stats_status_json(t->status));
}

json_t *moss__stats_json(const struct moss__master *m, const struct moss__stats *s)
{
    json_t *doc = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:o}",
        "version", moss_version(), "pid", J(m->pid), "uptime_s", J(s->uptime_s),
        "generation", J(m->generation), "workers_wanted", J(m->workers),
        "stopping", m->stopping != 0, "reloads", stats_reloads_json(m),
        "listeners", stats_listeners_json(s), "workers", stats_workers_json(s),
        "totals", stats_totals_json(&s->totals));

    if (doc == NULL)
        errno = ENOMEM;
    return doc;
}
