/* Greenlets: creation, switch, throw, death and the parent chain. */
#include "greenlet.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

static void greenlet_entry(void *transfer);

/* ---- the switch path --------------------------------------------------- */

/* Everything from moss_greenlet_switch down to moss__ctx_switch is forced
 * inline, so a switch builds no frames of its own beyond the public call. */

static void greenlet_release_zombie(struct moss__thread *t)
{
    moss_greenlet_t *dead = t->zombie;

    t->zombie = NULL;
    moss__stack_release(&t->stacks, &dead->stack);
}

/* Work every greenlet does on being resumed, whether from a switch or on
 * its first run. */
static inline __attribute__((always_inline)) void greenlet_arrive(struct moss__thread *t, moss_greenlet_t *self,
                                   moss_greenlet_t *origin)
{
    moss__san_after_switch(&self->san, &origin->san);
    if (unlikely(t->zombie != NULL))
        greenlet_release_zombie(t);
    *t->errno_location = self->saved_errno;
}

/* Moves the thread from `self` (the running greenlet) to `target` and
 * returns once something resumes `self`, which leaves in state `leaving`
 * (SUSPENDED, or DEAD for a greenlet that finished and never returns). Trace
 * hooks have already run. */
static inline __attribute__((always_inline)) void
greenlet_jump(struct moss__thread *t, moss_greenlet_t *self, moss_greenlet_t *target,
              moss_greenlet_state_t leaving)
{
    moss_switch_monitor_t *m = &t->monitor;
    moss_greenlet_t *origin;
    uint64_t switches = atomic_load_explicit(&m->switches, memory_order_relaxed);

    self->saved_errno = *t->errno_location;
    self->state = leaving;
    target->state = MOSS_GREENLET_RUNNING;
    t->current = target;
    atomic_store_explicit(&m->current_id, target->id, memory_order_relaxed);
    atomic_store_explicit(&m->switches, switches + 1, memory_order_relaxed);
    moss__san_before_switch(&self->san, &target->san, leaving == MOSS_GREENLET_DEAD);
    moss__san_fiber_switch(&target->san);
    origin = moss__ctx_switch(&self->ctx, &target->ctx, self);
    greenlet_arrive(t, self, origin);
}

/* The result of being resumed, as switch and throw return it. */
static inline __attribute__((always_inline)) int greenlet_resumed(moss_greenlet_t *self, void **out)
{
    if (unlikely(self->resume_err != 0)) {
        int err = self->resume_err;

        self->resume_err = 0;
        errno = err;
        return -1;
    }
    if (out != NULL)
        *out = self->resume_value;
    return 0;
}

static moss_greenlet_t *greenlet_live_ancestor(moss_greenlet_t *g)
{
    moss_greenlet_t *p = g->parent;

    while (p->state == MOSS_GREENLET_DEAD)
        p = p->parent; /* a main greenlet never dies, so this ends */
    return p;
}

/* Kills a greenlet that never ran: it dies where it stands, and `err` goes
 * on to its nearest live ancestor, which may itself be NEW and die in turn,
 * as an exception propagates in python-greenlet. Returns where `err` lands. */
static moss_greenlet_t *greenlet_kill_unstarted(struct moss__thread *t,
                                                moss_greenlet_t *g, int err)
{
    while (g->state == MOSS_GREENLET_NEW) {
        g->state = MOSS_GREENLET_DEAD;
        g->result_err = err;
        moss__stack_release(&t->stacks, &g->stack);
        moss_greenlet_t *p = greenlet_live_ancestor(g);
        if (unlikely(t->trace.fn != NULL))
            moss__trace_call(t, MOSS_TRACE_SWITCH, g, p);
        g = p;
    }
    return g;
}

static inline __attribute__((always_inline)) int greenlet_deliver(struct moss__thread *t, moss_greenlet_t *target,
                            void *value, int err, void **out)
{
    moss_greenlet_t *self = t->current;

    if (unlikely(t->trace.fn != NULL) && target != self)
        moss__trace_call(t, err ? MOSS_TRACE_THROW : MOSS_TRACE_SWITCH, self, target);
    if (unlikely(err != 0 && target->state == MOSS_GREENLET_NEW))
        target = greenlet_kill_unstarted(t, target, err);
    target->resume_value = value;
    target->resume_err = err;
    if (target != self)
        greenlet_jump(t, self, target, MOSS_GREENLET_SUSPENDED);
    return greenlet_resumed(self, out);
}

static inline __attribute__((always_inline)) struct moss__thread *greenlet_check_target(moss_greenlet_t *target)
{
    struct moss__thread *t = moss__thread_get();

    if (t == NULL)
        return NULL;
    if (target == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (target->thread != t) {
        errno = EPERM;
        return NULL;
    }
    if (target->state == MOSS_GREENLET_DEAD) {
        errno = ESRCH;
        return NULL;
    }
    return t;
}

int moss_greenlet_switch(moss_greenlet_t *target, void *value, void **out)
{
    struct moss__thread *t = greenlet_check_target(target);

    if (t == NULL)
        return -1;
    return greenlet_deliver(t, target, value, 0, out);
}

int moss_greenlet_throw(moss_greenlet_t *target, int err)
{
    struct moss__thread *t;

    if (err <= 0) {
        errno = EINVAL;
        return -1;
    }
    t = greenlet_check_target(target);
    if (t == NULL)
        return -1;
    return greenlet_deliver(t, target, NULL, err, NULL);
}

/* ---- birth and death --------------------------------------------------- */

static __attribute__((noreturn)) void greenlet_finish(struct moss__thread *t,
                                                      moss_greenlet_t *self)
{
    moss_greenlet_t *parent = greenlet_live_ancestor(self);

    self->state = MOSS_GREENLET_DEAD; /* as trace hooks should see it */
    t->zombie = self;
    if (unlikely(t->trace.fn != NULL))
        moss__trace_call(t, MOSS_TRACE_SWITCH, self, parent);
    parent->resume_value = self->result;
    parent->resume_err = 0;
    greenlet_jump(t, self, parent, MOSS_GREENLET_DEAD);
    abort(); /* a dead greenlet is never resumed */
}

static void greenlet_entry(void *transfer)
{
    struct moss__thread *t = moss__thread_self;
    moss_greenlet_t *self = t->current;

    self->saved_errno = 0;
    greenlet_arrive(t, self, transfer);
    self->result = self->fn(self->arg);
    greenlet_finish(t, self);
}

/* Greenlet structs are kept on a per-thread list for reuse, bounded like the
 * stack cache, so that creating a greenlet on a warm thread allocates
 * nothing. */
static moss_greenlet_t *greenlet_alloc(struct moss__thread *t)
{
    moss_greenlet_t *g = t->spare;

    if (g == NULL)
        return malloc(sizeof(*g));
    t->spare = g->parent;
    t->spare_count--;
    return g;
}

static void greenlet_dealloc(struct moss__thread *t, moss_greenlet_t *g)
{
    if (t->spare_count >= t->stacks.limit) {
        free(g);
        return;
    }
    g->parent = t->spare;
    t->spare = g;
    t->spare_count++;
}

void moss__greenlet_spare_trim(struct moss__thread *t, size_t keep)
{
    while (t->spare_count > keep) {
        moss_greenlet_t *g = t->spare;

        t->spare = g->parent;
        t->spare_count--;
        free(g);
    }
}

static int greenlet_init_stack(struct moss__thread *t, moss_greenlet_t *g,
                               size_t stack_size)
{
    size_t size = stack_size ? moss__stack_round(stack_size) : t->stacks.size;

    if (size == 0) {
        errno = EINVAL;
        return -1;
    }
    if (moss__stack_acquire(&t->stacks, size, &g->stack) == -1)
        return -1;
    g->san.stack_low = moss__stack_low(&g->stack);
    g->san.stack_size = g->stack.size;
    moss__ctx_make(&g->ctx, moss__stack_top(&g->stack), g->stack.size, greenlet_entry);
    return 0;
}

static moss_greenlet_t *greenlet_parent_for(struct moss__thread *t,
                                            const moss_greenlet_opts_t *opts)
{
    moss_greenlet_t *parent = opts != NULL ? opts->parent : NULL;

    if (parent == NULL)
        return t->current;
    if (parent->thread != t) {
        errno = EPERM;
        return NULL;
    }
    return parent;
}

moss_greenlet_t *moss_greenlet_create(moss_greenlet_fn fn, void *arg,
                                      const moss_greenlet_opts_t *opts)
{
    struct moss__thread *t = moss__thread_get();
    moss_greenlet_t *g, *parent;

    if (t == NULL)
        return NULL;
    if (fn == NULL) {
        errno = EINVAL;
        return NULL;
    }
    parent = greenlet_parent_for(t, opts);
    if (parent == NULL)
        return NULL;
    g = greenlet_alloc(t);
    if (g == NULL)
        return NULL;
    *g = (struct moss_greenlet){.thread = t, .parent = parent, .state = MOSS_GREENLET_NEW,
                                .refs = 1, .fn = fn, .arg = arg};
    if (greenlet_init_stack(t, g, opts != NULL ? opts->stack_size : 0) == -1)
        goto free_greenlet;
    parent->refs++;
    g->id = moss__thread_next_id(t);
    moss__san_fiber_create(&g->san);
    if (opts != NULL && opts->name != NULL)
        moss_greenlet_set_name(g, opts->name);
    t->created++;
    t->alive++;
    return g;

free_greenlet:
    greenlet_dealloc(t, g);
    return NULL;
}

moss_greenlet_t *moss_greenlet_new(moss_greenlet_fn fn, void *arg,
                                   moss_greenlet_t *parent)
{
    moss_greenlet_opts_t opts = {.parent = parent};

    return moss_greenlet_create(fn, arg, &opts);
}

void moss__greenlet_unref(moss_greenlet_t *g)
{
    while (g != NULL && --g->refs == 0) {
        moss_greenlet_t *parent = g->parent;
        struct moss__thread *t = g->thread;

        if (g->task != NULL)
            t->task_free(g);
        moss__stack_release(&t->stacks, &g->stack);
        moss__san_fiber_destroy(&g->san);
        t->alive--;
        greenlet_dealloc(t, g);
        g = parent;
    }
}

int moss_greenlet_free(moss_greenlet_t *g)
{
    if (g != NULL && g->hub_owned) {
        errno = EINVAL; /* spawned: moss_join or moss_detach releases it */
        return -1;
    }
    return moss__greenlet_release(g);
}

int moss__greenlet_release(moss_greenlet_t *g)
{
    struct moss__thread *t = moss__thread_get();

    if (t == NULL)
        return -1;
    if (g == NULL || g->is_main || g->handle_freed) {
        errno = EINVAL;
        return -1;
    }
    if (g->thread != t) {
        errno = EPERM;
        return -1;
    }
    if (g->state == MOSS_GREENLET_RUNNING || g->state == MOSS_GREENLET_SUSPENDED) {
        errno = EBUSY;
        return -1;
    }
    if (g->state == MOSS_GREENLET_NEW) {
        g->state = MOSS_GREENLET_DEAD; /* so a child finishing later skips it */
        g->result_err = ECANCELED;
        moss__stack_release(&t->stacks, &g->stack);
    }
    g->handle_freed = 1;
    moss__greenlet_unref(g);
    return 0;
}
