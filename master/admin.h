/* The admin endpoints, private to master/admin.c, stats.c and metrics.c
 * (and their tests):
 *   admin.c    the server (the runtime's own HTTP server on the master's
 *              hub), the routes, the bearer token;
 *   stats.c    the figures, read once per request into a snapshot, and
 *              /stats, the snapshot as JSON;
 *   metrics.c  /metrics, the same snapshot in Prometheus's text format.
 * The snapshot is the one place that reads the scoreboard, /proc and the
 * listeners' queues, so that /stats and /metrics never disagree on what a
 * figure means. Everything here runs on the master's hub thread. */
#ifndef MOSS_MASTER_ADMIN_H
#define MOSS_MASTER_ADMIN_H

#include "master.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

/* The admin server: a worker of its own (one listener, its own small
 * limits and counters) run by the master's hub. */
struct moss__admin {
    struct moss__worker w;
    struct moss__worker_counters counters;
    struct moss_config config;     /* a copy of the master's, with small limits */
    moss_app_t app;                /* the routes */
    FILE *log;                     /* w's error log: writes through to m->error_log */
    dev_t unix_dev;                /* a unix listener's socket file, to remove at */
    ino_t unix_ino;                /* stop only if it is still ours; 0: none */
};

/* ---- the snapshot (stats.c) --------------------------------------------------- */

/* A worker's counters, copied out of the scoreboard. status[] is indexed
 * by enum moss__status_class. */
struct moss__stats_counters {
    uint64_t requests, connections_active, greenlets, switches, loop_iterations;
    uint64_t bytes_in, bytes_out;
    uint64_t connections_total, request_timeouts, accept_backoffs;
    uint64_t status[MOSS__STATUS_CLASSES];
    uint64_t blocked_count, blocked_max_ms, blocked_sum_ms;
    uint64_t blocked_buckets[MOSS__BLOCK_BUCKETS]; /* per bucket, not cumulative */
    int has_last;                  /* last holds the latest episode */
    struct moss__block_report last;
};

/* One entry of "workers": a used proc, or (pid 0) a slot of the committed
 * generation that waits in backoff with no process. */
struct moss__stats_worker {
    unsigned slot;
    pid_t pid;                     /* 0: none */
    uint64_t generation;
    enum moss__worker_state state;
    int cpu;                       /* -1: not pinned (or no process) */
    int64_t started_at;            /* wall clock s; meaningless when pid is 0 */
    int64_t started_ms;            /* monotonic, to order equal slots and generations */
    unsigned respawns;             /* the slot's */
    int64_t backoff_ms;            /* the slot's current backoff, 0 if none */
    int64_t heartbeat_age_ms;      /* -1: no heartbeat yet (or no process) */
    int64_t rss_bytes;             /* -1: unknown */
    struct moss__stats_counters c;
};

struct moss__stats_listener {
    const char *address;           /* into the master's listener: valid while it is */
    int backlog;
    int64_t queued;                /* -1: unknown (unix sockets, or getsockopt failed) */
};

#define MOSS__STATS_WORKERS_MAX (MOSS__PROCS_MAX + MOSS__WORKERS_MAX)

struct moss__stats {
    int64_t uptime_s;
    struct moss__stats_worker workers[MOSS__STATS_WORKERS_MAX];
    size_t worker_count;           /* sorted by slot, then generation */
    struct moss__stats_listener listeners[MOSS__BIND_MAX];
    size_t listener_count;
    /* exited workers plus live ones; connections_active and greenlets are
     * gauges: live ones only */
    struct moss__stats_counters totals;
};

/* Reads m's figures into *out (about 60 KiB: allocate it, a greenlet's
 * stack is small). Cannot fail: what cannot be read is marked unknown. */
void moss__stats_collect(const struct moss__master *m, struct moss__stats *out);

/* /stats: the document for snapshot s of master m (a new reference), or
 * NULL with errno ENOMEM. */
json_t *moss__stats_json(const struct moss__master *m, const struct moss__stats *s);

/* ---- /metrics (metrics.c) -------------------------------------------------------- */

/* The most bytes moss__metrics_render can write for snapshot s, its NUL
 * included: a bound, computed from the count of workers and listeners. */
size_t moss__metrics_cap(const struct moss__stats *s);

/* Writes snapshot s of master m in the Prometheus text exposition format
 * 0.0.4 into buf (NUL-terminated): the length, or -1 with ENOBUFS if cap
 * is too small (nothing usable is left in buf then). */
ptrdiff_t moss__metrics_render(const struct moss__master *m, const struct moss__stats *s,
                               char *buf, size_t cap);

#endif
