/* A worker's counters. One struct per worker, updated by the worker's hub
 * thread with relaxed atomics, so that the master can map it into shared
 * memory (a scoreboard slot) and read it from another process at any time. */
#ifndef MOSS_WORKER_COUNTERS_H
#define MOSS_WORKER_COUNTERS_H

#include <stdatomic.h>
#include <stdint.h>

enum moss__status_class { MOSS__STATUS_1XX, MOSS__STATUS_2XX, MOSS__STATUS_3XX,
                          MOSS__STATUS_4XX, MOSS__STATUS_5XX, MOSS__STATUS_CLASSES };

struct moss__worker_counters {
    _Atomic uint64_t requests;            /* responses completed */
    _Atomic uint64_t connections_active;
    _Atomic uint64_t connections_total;
    _Atomic uint64_t greenlets;           /* spawned and alive, from the hub */
    _Atomic uint64_t switches;            /* from the greenlet layer */
    _Atomic uint64_t loop_iterations;     /* from the hub */
    _Atomic uint64_t bytes_in;
    _Atomic uint64_t bytes_out;
    _Atomic uint64_t status[MOSS__STATUS_CLASSES];
    _Atomic uint64_t request_timeouts;    /* requests cancelled by request_timeout */
    _Atomic uint64_t accept_backoffs;     /* EMFILE/ENFILE episodes */
};

static inline void moss__counter_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void moss__counter_sub(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) - n,
                          memory_order_relaxed);
}

#endif
