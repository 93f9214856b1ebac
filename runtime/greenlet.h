/* Internal view of greenlets and of the per-thread state they run on. */
#ifndef MOSS_RUNTIME_GREENLET_H
#define MOSS_RUNTIME_GREENLET_H

#include "moss.h"

#include "../arch/ctx.h"
#include "sanitizer.h"
#include "stack.h"

#include <stdint.h>

struct moss__thread;

struct moss_greenlet {
    struct moss__ctx ctx;         /* saved sp while not running */
    struct moss__thread *thread;  /* owner; immutable */
    moss_greenlet_t *parent;      /* NULL only for a main greenlet */
    moss_greenlet_state_t state;
    int saved_errno;              /* errno while not running */
    void *resume_value;           /* set by whoever resumes us */
    int resume_err;               /* nonzero: our pending switch fails */
    unsigned refs;                /* the handle, plus children naming us parent */
    unsigned handle_freed : 1;
    unsigned is_main : 1;
    unsigned hub_owned : 1;       /* spawned: released by join/detach only */
    moss_greenlet_fn fn;
    void *arg;
    void *result;
    int result_err;               /* killed before it started, with this */
    uint64_t id;
    struct moss__stack stack;
    struct moss__san_fiber san;
    void *task;                   /* the hub's record of us, or NULL */
    char name[MOSS_GREENLET_NAME_MAX + 1];
    /* What it is doing, for the watchdog's report ("GET /path"): a string
     * its owner keeps valid while it is set, read on the greenlet's own
     * thread (in the watchdog's signal handler). NULL: nothing to say. */
    const char *context;
};

struct moss__thread {
    moss_greenlet_t *current;
    int *errno_location;          /* &errno of this thread, looked up once */
    moss_trace_t trace;
    /* A greenlet that just died on its own stack: whoever runs next returns
     * the stack, which the dying greenlet could not do while standing on it. */
    moss_greenlet_t *zombie;
    moss_switch_monitor_t monitor;
    struct moss__stack_cache stacks;
    moss_greenlet_t *spare;       /* freed greenlet structs, linked by parent */
    size_t spare_count;           /* bounded by stacks.limit */
    uint64_t next_id, id_limit;
    uint64_t created, alive;
    /* Called when a greenlet with a task is freed, so the layer above (the
     * hub) can free the task; the greenlet core knows nothing of tasks. */
    void (*task_free)(moss_greenlet_t *g);
    void *altstack;               /* our sigaltstack mapping, or NULL */
    size_t altstack_size;
    moss_greenlet_t main;
};

/* The calling thread's state; NULL until the thread first uses moss. The
 * initial-exec model keeps reads a single instruction, also in libmoss.so,
 * and makes them safe in a signal handler. */
extern __thread struct moss__thread *moss__thread_self
    __attribute__((tls_model("initial-exec")));

/* Creates the calling thread's state. Returns NULL with errno on failure. */
struct moss__thread *moss__thread_init(void);

static inline struct moss__thread *moss__thread_get(void)
{
    struct moss__thread *t = moss__thread_self;

    if (__builtin_expect(t == NULL, 0))
        t = moss__thread_init();
    return t;
}

/* Hands out a process-wide unique greenlet id. */
uint64_t moss__thread_next_id(struct moss__thread *t);

/* Installs the SIGSEGV handler that names a greenlet whose stack overflowed,
 * and an alternate signal stack for the calling thread. 0, or -1 with errno. */
int moss__overflow_thread_init(struct moss__thread *t);
void moss__overflow_thread_fini(struct moss__thread *t);

/* Calls the trace hook; out of line, kept off the switch path. */
void moss__trace_call(struct moss__thread *t, moss_trace_event_t event,
                      moss_greenlet_t *origin, moss_greenlet_t *target);

/* Drops one reference; frees the greenlet (and, in turn, its parent's
 * reference) when none remain. */
void moss__greenlet_unref(moss_greenlet_t *g);

/* moss_greenlet_free without the hub_owned check, for the hub. */
int moss__greenlet_release(moss_greenlet_t *g);

/* Frees spare greenlet structs until at most `keep` remain. */
void moss__greenlet_spare_trim(struct moss__thread *t, size_t keep);

#endif
