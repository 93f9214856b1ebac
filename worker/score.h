/* A worker's entry in the master's scoreboard: a MAP_SHARED region the
 * master creates before it forks, one cache-line-aligned entry per worker
 * process. The worker writes it from its hub thread with relaxed atomics;
 * the master (and its admin endpoints) read it at any time, even while the
 * worker is stuck, which is the point: a stuck worker stops beating its
 * heartbeat, and its last figures stay readable. */
#ifndef MOSS_WORKER_SCORE_H
#define MOSS_WORKER_SCORE_H

#include "../runtime/watchdog.h"
#include "counters.h"

#include <stdatomic.h>
#include <stdint.h>

/* A worker process's state, as /stats names them. STARTING is written by
 * the master at fork, READY by the worker once it can serve (its app's init
 * done, its accept loops running), DRAINING by the worker when it stops
 * accepting. BACKOFF is the master's own, for a slot waiting to respawn. */
enum moss__worker_state {
    MOSS__WORKER_STARTING,
    MOSS__WORKER_READY,
    MOSS__WORKER_DRAINING,
    MOSS__WORKER_BACKOFF,
    MOSS__WORKER_STATES
};

/* Episode durations for the /metrics histogram: bucket i counts episodes
 * of at most moss__block_bucket_ms[i]; the last bucket, the rest. */
#define MOSS__BLOCK_BUCKETS 8
extern const int64_t moss__block_bucket_ms[MOSS__BLOCK_BUCKETS - 1];

/* The watchdog's figures, written by the worker's monitor thread. */
struct moss__blocked {
    _Atomic uint64_t count;             /* blocking episodes */
    _Atomic uint64_t max_ms;            /* the longest that has ended */
    _Atomic uint64_t sum_ms;            /* of those that have ended */
    _Atomic uint64_t buckets[MOSS__BLOCK_BUCKETS]; /* those that have ended, by length */
    _Atomic uint32_t seq;               /* a seqlock over last: odd while written */
    _Atomic int32_t kill_requested;     /* block_kill_ms passed: the master replaces it */
    struct moss__block_report last;     /* the latest episode, once count > 0 */
};

struct moss__score {
    _Atomic int32_t state;              /* enum moss__worker_state */
    _Atomic int64_t heartbeat_ms;       /* CLOCK_MONOTONIC ms of the hub's last beat */
    struct moss__worker_counters counters;
    struct moss__blocked blocked;
} __attribute__((aligned(64)));

/* Monotonic milliseconds, the heartbeat's clock: the same in every process. */
int64_t moss__score_clock_ms(void);

static inline void moss__score_set_state(struct moss__score *score, enum moss__worker_state s)
{
    atomic_store_explicit(&score->state, (int32_t)s, memory_order_release);
}

static inline void moss__score_beat(struct moss__score *score)
{
    atomic_store_explicit(&score->heartbeat_ms, moss__score_clock_ms(), memory_order_relaxed);
}

/* The monitor thread's side: a new episode (ongoing) or its end. */
void moss__score_block_report(struct moss__score *score, const struct moss__block_report *r);

/* Rewrites the latest episode's report without counting an episode. */
void moss__score_block_update(struct moss__score *score, const struct moss__block_report *r);

/* Another process's side: a consistent copy of the latest episode. 0, or -1
 * if there is none (or it kept changing under a bounded number of tries). */
int moss__score_block_last(const struct moss__score *score, struct moss__block_report *out);

#endif
