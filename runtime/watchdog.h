/* The watchdog: a monitor thread per hub that catches the greenlet which
 * keeps the hub from switching (CPU work, a real blocking call), says where
 * it is, and lets its owner respond.
 *
 * Detection. The hub thread publishes, through relaxed atomics, the time of
 * its last switch (a trace hook, chained before any other) and whether it is
 * parked in the backend poll (libev's loop release and acquire callbacks).
 * The monitor looks every interval_ms: a hub that is not polling and has not
 * switched for more than max_blocking_ms is blocked. Time spent idle in the
 * poll is never blocking.
 *
 * Evidence. At the start of an episode the monitor sends the hub thread a
 * real-time signal; the handler, on the thread's alternate stack, does only
 * async-signal-safe work: backtrace() into a buffer allocated beforehand
 * (backtrace is called once at start, so that its library is loaded then,
 * not in the handler), and copies the current greenlet's id, name and
 * context. The monitor then symbolizes the frames (dladdr) off the hub
 * thread.
 *
 * Reports. One report when an episode starts (ongoing), and one when it
 * ends, with its final duration, both handed to on_report on the monitor
 * thread. An episode that no look saw (shorter than max_blocking_ms plus
 * interval_ms, or the monitor was not scheduled during it: a loaded machine,
 * valgrind) is still reported, from the gap the hook measured, once, as
 * ended and late: counted, with its greenlet's id, without evidence.
 * Episodes beyond reports_per_minute are marked rate_limited (to be
 * counted, not logged); the next one logged says how many were not. The monitor never takes a lock
 * the hub needs: it shares only atomics and the capture buffer (handed over
 * by an atomic flag) with the hub thread. */
#ifndef MOSS_RUNTIME_WATCHDOG_H
#define MOSS_RUNTIME_WATCHDOG_H

#include "moss.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MOSS__BLOCK_FRAMES 16
#define MOSS__BLOCK_FRAME_LEN 96
#define MOSS__BLOCK_REQUEST_LEN 128

/* One blocking episode, as reported. Plain data, so that it can be copied
 * into shared memory (the worker's scoreboard entry). */
struct moss__block_report {
    uint64_t greenlet;                   /* its id */
    char name[MOSS_GREENLET_NAME_MAX + 1];
    char request[MOSS__BLOCK_REQUEST_LEN]; /* its context ("GET /path"), or "" */
    int64_t ms;                          /* blocked so far (ongoing) or in all */
    int64_t at;                          /* wall clock seconds when it began */
    int32_t ongoing;
    int32_t late;                        /* seen only after it ended: no name, request or frames */
    int32_t rate_limited;                /* beyond the rate limit: count it, do not log it */
    uint32_t suppressed;                 /* episodes not logged since the last one logged */
    uint32_t frame_count;
    char frames[MOSS__BLOCK_FRAMES][MOSS__BLOCK_FRAME_LEN]; /* innermost first */
};

typedef void (*moss__block_report_fn)(const struct moss__block_report *report, void *arg);

struct moss__watchdog_opts {
    int64_t interval_ms;                 /* how often the monitor looks */
    int64_t max_blocking_ms;             /* longer without a switch is an episode */
    int64_t kill_ms;                     /* 0: off; else on_kill once an episode passes it */
    unsigned reports_per_minute;         /* start reports; 0: no limit */
    moss__block_report_fn on_report;     /* monitor thread; may be NULL */
    moss__block_report_fn on_kill;       /* monitor thread; may be NULL */
    void *arg;
};

struct moss__watchdog;

/* Starts the monitor for the calling thread's hub. NULL with errno (EBUSY:
 * this hub has one already; EINVAL: bad options). */
struct moss__watchdog *moss__watchdog_start(const struct moss__watchdog_opts *opts);

/* Stops the monitor thread, waits for it, removes the hooks, frees. From the
 * hub's thread. NULL is fine. */
void moss__watchdog_stop(struct moss__watchdog *wd);

/* Sets g's context for the reports (see greenlet.h); NULL clears it. */
void moss__greenlet_set_context(moss_greenlet_t *g, const char *context);

/* ---- watchdog_capture.c: the signal side ------------------------------------ */

/* What the handler fills in, handed to the monitor by `done`. */
struct moss__block_capture {
    _Atomic int done;
    int frame_count;
    void *frames[MOSS__BLOCK_FRAMES + 4]; /* the handler's own first */
    uint64_t greenlet;
    char name[MOSS_GREENLET_NAME_MAX + 1];
    char request[MOSS__BLOCK_REQUEST_LEN];
};

/* Installs the handler (once per process) and makes capture the calling
 * thread's buffer; warms backtrace() up. 0, or -1 with errno. */
int moss__block_capture_init(struct moss__block_capture *capture);

/* The calling thread has no buffer any more: a late signal does nothing. */
void moss__block_capture_fini(void);

/* From the monitor: signals thread and waits up to wait_ms for the capture.
 * 0, or -1 with errno (ETIMEDOUT: the handler did not run; the thread may be
 * blocked with signals masked). */
int moss__block_capture_take(struct moss__block_capture *capture, pthread_t thread,
                             int wait_ms);

/* Symbolizes capture's frames (skipping the handler's own) into report. */
void moss__block_capture_symbolize(const struct moss__block_capture *capture,
                                   struct moss__block_report *report);

#endif
