/* moss: gevent's programming model in C.
 *
 * The public API. Conventions, as in syscalls and libdill: a call returns 0
 * (or a count, or a pointer) on success and -1 (or NULL) with errno set on
 * failure. Every moss object belongs to the thread that created it. */
#ifndef MOSS_H
#define MOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSS_VERSION_MAJOR 0
#define MOSS_VERSION_MINOR 1
#define MOSS_VERSION_PATCH 0
#define MOSS_VERSION "0.1.0"

/* The version of the library actually linked, which may differ from
 * MOSS_VERSION, the version of this header. */
const char *moss_version(void);

/* ---------------------------------------------------------------------------
 * Greenlets: the "small g" layer, as in python-greenlet.
 *
 * A greenlet is a function running on its own stack, switched to explicitly.
 * Every thread has an implicit main greenlet (its original stack) that is
 * created on first use and never dies. Every other greenlet has a parent:
 * when its function returns, control and the return value go to the parent
 * (or, if the parent is dead, to the nearest live ancestor).
 * ------------------------------------------------------------------------- */

typedef struct moss_greenlet moss_greenlet_t;
typedef void *(*moss_greenlet_fn)(void *arg);

typedef enum moss_greenlet_state {
    MOSS_GREENLET_NEW,       /* created, never switched to */
    MOSS_GREENLET_RUNNING,   /* the calling thread's current greenlet */
    MOSS_GREENLET_SUSPENDED, /* started, switched away from */
    MOSS_GREENLET_DEAD       /* returned, or killed before it started */
} moss_greenlet_state_t;

/* The longest greenlet name kept, in bytes, without the terminating NUL.
 * Longer names are truncated. */
#define MOSS_GREENLET_NAME_MAX 31

/* Options for moss_greenlet_create. Zero-initialise, then set what you need:
 * a zero field means the default. */
typedef struct moss_greenlet_opts {
    moss_greenlet_t *parent; /* default: the calling greenlet */
    size_t stack_size;       /* usable bytes; default: moss_greenlet_stack_size() */
    const char *name;        /* default: "" */
} moss_greenlet_opts_t;

/* Creates a greenlet that will run fn(arg) on its own stack when it is first
 * switched to. The stack is allocated now, so ENOMEM surfaces here.
 * Errors: EINVAL (fn is NULL, a dead or foreign parent, or a stack size out of
 * range), EPERM (parent belongs to another thread), ENOMEM. */
moss_greenlet_t *moss_greenlet_create(moss_greenlet_fn fn, void *arg,
                                      const moss_greenlet_opts_t *opts);

/* Shorthand for moss_greenlet_create with only a parent (NULL: the caller). */
moss_greenlet_t *moss_greenlet_new(moss_greenlet_fn fn, void *arg,
                                   moss_greenlet_t *parent);

/* Releases the caller's handle. A greenlet that is NEW is discarded without
 * running; a DEAD one is freed. The memory stays until no child greenlet still
 * names this one as its parent. Errors: EBUSY (the greenlet is running or
 * suspended: kill it and let it finish first), EPERM (another thread's),
 * EINVAL (the thread's main greenlet). */
int moss_greenlet_free(moss_greenlet_t *g);

/* Switches to `target`, handing it `value`. Returns when something switches
 * back to the caller: 0 with *out (if out is not NULL) set to the value it
 * passed, or to the return value of a child that finished; or -1 with errno
 * set to the error thrown into the caller (see moss_greenlet_throw).
 * Switching to the caller itself returns 0 with *out = value at once.
 * Errors of the call itself: ESRCH (target is dead), EPERM (target belongs to
 * another thread), EINVAL (target is NULL). The caller does not move then. */
int moss_greenlet_switch(moss_greenlet_t *target, void *value, void **out);

/* Switches to `target` so that its pending switch returns -1 with errno set
 * to `err` (which must be positive). A NEW target is killed: it never runs,
 * it dies at once, and the error goes on to its parent, as an exception
 * would in python-greenlet; if the caller is that parent, this call returns
 * -1 with errno == err. Otherwise returns like moss_greenlet_switch, when the
 * caller is next resumed. Errors: as for moss_greenlet_switch, and EINVAL for
 * err <= 0. Throwing into the caller itself returns -1 with errno == err. */
int moss_greenlet_throw(moss_greenlet_t *target, int err);

/* The calling thread's running greenlet (its main greenlet if none other). */
moss_greenlet_t *moss_greenlet_current(void);

/* The calling thread's main greenlet. */
moss_greenlet_t *moss_greenlet_main(void);

moss_greenlet_state_t moss_greenlet_state(const moss_greenlet_t *g);

/* The parent, or NULL for a main greenlet. */
moss_greenlet_t *moss_greenlet_parent(const moss_greenlet_t *g);

/* Re-parents g. Errors: EINVAL (a cycle would form, or g is a main greenlet,
 * or parent is NULL), EPERM (parent belongs to another thread than g). */
int moss_greenlet_set_parent(moss_greenlet_t *g, moss_greenlet_t *parent);

/* For a DEAD greenlet: 0 with *value (if not NULL) set to what its function
 * returned, or -1 with errno set to the error that killed it before it
 * started. Errors: EAGAIN (g is not dead yet). */
int moss_greenlet_result(const moss_greenlet_t *g, void **value);

/* A process-wide unique id, never reused. Main greenlets have ids too. */
uint64_t moss_greenlet_id(const moss_greenlet_t *g);

const char *moss_greenlet_name(const moss_greenlet_t *g);
void moss_greenlet_set_name(moss_greenlet_t *g, const char *name);

/* The default usable stack size for new greenlets on the calling thread.
 * Sizes are rounded up to whole pages; one guard page below each stack
 * comes on top. Range: 16 KiB to 1 GiB. Changing it empties the thread's
 * stack cache. Errors: EINVAL (out of range). */
size_t moss_greenlet_stack_size(void);
int moss_greenlet_set_stack_size(size_t size);

/* How many finished greenlets' stacks the calling thread keeps for reuse.
 * Stacks beyond this are unmapped when their greenlet dies. Default 128;
 * range 0 to 65536. Errors: EINVAL (out of range). */
int moss_greenlet_set_stack_cache(size_t count);

/* Counters of the calling thread's greenlet layer. */
typedef struct moss_greenlet_stats {
    uint64_t created;       /* greenlets created on this thread */
    uint64_t alive;         /* created, not yet freed (NEW, SUSPENDED, running, or DEAD and unfreed) */
    uint64_t switches;      /* context switches performed */
    uint64_t stacks_mapped; /* stacks currently mapped, in use or cached */
    uint64_t stacks_cached; /* of those, the ones in the cache */
    uint64_t stack_cache_hits;
    /* How stack guards are installed: "guard-region" (Linux 6.13 madvise
     * guards, verified to fault; no VMA per stack) or "mprotect" (two VMAs
     * per stack, so vm.max_map_count bounds the number of greenlets). */
    const char *stack_guard;
} moss_greenlet_stats_t;

void moss_greenlet_stats(moss_greenlet_stats_t *stats);

/* ---------------------------------------------------------------------------
 * Switch tracing.
 *
 * A hook installed with moss_settrace is called on the switching thread for
 * every switch and every throw, before control moves, with the greenlet
 * leaving and the greenlet about to run. It must not switch. With no hook
 * installed, tracing costs one predictable branch on the switch path.
 * ------------------------------------------------------------------------- */

typedef enum moss_trace_event {
    MOSS_TRACE_SWITCH, /* a switch, or a finished greenlet returning to its parent */
    MOSS_TRACE_THROW   /* a throw; the target's pending switch will fail */
} moss_trace_event_t;

typedef void (*moss_trace_fn)(moss_trace_event_t event, moss_greenlet_t *origin,
                              moss_greenlet_t *target, void *arg);

typedef struct moss_trace {
    moss_trace_fn fn; /* NULL: no hook */
    void *arg;
} moss_trace_t;

/* Installs fn(..., arg) as the calling thread's hook (fn NULL removes it) and
 * returns the previous hook, so that hooks can chain. */
moss_trace_t moss_settrace(moss_trace_fn fn, void *arg);

/* What a thread publishes for readers on other threads, such as a watchdog:
 * the number of switches so far and the id of the greenlet now running,
 * updated with relaxed atomic stores on every switch. Read the fields with
 * relaxed atomic loads. Valid until the owning thread exits. */
typedef struct moss_switch_monitor {
    _Atomic uint64_t switches;
    _Atomic uint64_t current_id;
} moss_switch_monitor_t;

/* The calling thread's monitor, to hand to another thread. */
const moss_switch_monitor_t *moss_switch_monitor(void);

#ifdef __cplusplus
}
#endif

#endif
