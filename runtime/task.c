/* Spawned greenlets' lifetimes: spawn, join, detach, kill and defer. */
#include "hub.h"

#include "greenlet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct moss__defer {
    struct moss__defer *next;
    void (*fn)(void *arg);
    void *arg;
};

/* Tasks come from the hub's spares when it has some: a request spawns two,
 * and malloc was a visible share of a request's time. */
static struct moss__task *task_new(struct moss__hub *hub, moss_greenlet_t *g)
{
    struct moss__task *task = hub->spare_tasks;

    if (task != NULL) {
        hub->spare_tasks = task->run_next;
        hub->spare_task_count--;
        memset(task, 0, sizeof(*task));
    } else {
        task = calloc(1, sizeof(*task));
        if (task == NULL)
            return NULL;
    }
    moss__task_init(task, hub, g);
    if (g != NULL)
        g->task = task;
    return task;
}

struct moss__task *moss__task_of(const moss_greenlet_t *g)
{
    return g->task;
}

struct moss__task *moss__task_current(void)
{
    struct moss__hub *hub = moss__hub_get();
    moss_greenlet_t *g;

    if (hub == NULL)
        return NULL;
    g = moss_greenlet_current();
    return g->task != NULL ? g->task : task_new(hub, g);
}

void moss__task_free(moss_greenlet_t *g)
{
    struct moss__task *task = g->task;
    struct moss__hub *hub = task->hub;

    g->task = NULL;
    moss__task_fini(task);
    if (hub->spare_task_count >= MOSS__TASK_SPARE_MAX) {
        free(task);
        return;
    }
    task->run_next = hub->spare_tasks;
    hub->spare_tasks = task;
    hub->spare_task_count++;
}

/* Runs the defers, last-registered first. */
static void task_defers_run(struct moss__task *task)
{
    while (task->defers != NULL) {
        struct moss__defer *d = task->defers;

        task->defers = d->next;
        task->defer_count--;
        d->fn(d->arg);
        free(d);
    }
}

static int task_finish_into_joiner(struct moss__task *task);

void moss__task_complete(struct moss__task *task)
{
    task_defers_run(task);
    task->finished = 1;
    if (task->joiner != NULL && !task_finish_into_joiner(task))
        moss__task_wake(task->joiner, NULL, 0);
}

static void join_cancel(struct moss__task *joiner);

/* In the finishing task's own greenlet: when its joiner waits on this join
 * alone, the task finishes straight into it (the joiner becomes its parent)
 * instead of into the hub, which would only queue the joiner and switch to it
 * later. Not when the hub switched into this task itself: the hub still
 * holds it then (see hub_resume). Returns 1 if so. */
static int task_finish_into_joiner(struct moss__task *task)
{
    struct moss__task *joiner = task->joiner;

    if (task->detached || task->hub->resuming == task ||
        moss_greenlet_current() != task->greenlet)
        return 0;
    if (!joiner->parked || joiner->cancel != join_cancel)
        return 0;
    if (moss_greenlet_set_parent(task->greenlet, joiner->greenlet) == -1)
        return 0; /* the joiner descends from us: the hub takes the finish */
    return moss__task_wake_by_switch(joiner, NULL, 0);
}

static void *task_entry(void *arg)
{
    struct moss__task *task = arg;

    task->result = task->fn(task->arg);
    moss__task_complete(task);
    return task->result;
}

/* A spawned task, not yet scheduled; NULL with errno. */
static struct moss__task *task_spawn(moss_greenlet_fn fn, void *arg,
                                     const moss_greenlet_opts_t *opts)
{
    struct moss__hub *hub = moss__hub_get();
    moss_greenlet_opts_t own = opts != NULL ? *opts : (moss_greenlet_opts_t){0};
    struct moss__task *task;

    if (hub == NULL)
        return NULL;
    if (fn == NULL || own.parent != NULL) {
        errno = EINVAL;
        return NULL;
    }
    task = task_new(hub, NULL);
    if (task == NULL)
        return NULL;
    own.parent = hub->greenlet;
    task->greenlet = moss_greenlet_create(task_entry, task, &own);
    if (task->greenlet == NULL)
        goto free_task;
    task->greenlet->task = task;
    task->greenlet->hub_owned = 1;
    task->spawned = 1;
    task->fn = fn;
    task->arg = arg;
    hub->stats.greenlets_spawned++;
    hub->stats.greenlets_alive++;
    task->runnable = 1;
    return task;

free_task:
    moss__task_fini(task);
    free(task);
    return NULL;
}

moss_greenlet_t *moss_spawn_opts(moss_greenlet_fn fn, void *arg,
                                 const moss_greenlet_opts_t *opts)
{
    struct moss__task *task = task_spawn(fn, arg, opts);

    if (task == NULL)
        return NULL;
    moss__hub_schedule(task->hub, task);
    return task->greenlet;
}

int moss__spawn_detached_now(moss_greenlet_fn fn, void *arg, const moss_greenlet_opts_t *opts)
{
    struct moss__hub *hub = moss__hub_get();
    struct moss__task *task;

    if (hub == NULL)
        return -1;
    if (moss_greenlet_current() != hub->greenlet) {
        errno = EPERM;
        return -1;
    }
    task = task_spawn(fn, arg, opts);
    if (task == NULL)
        return -1;
    task->detached = 1;
    moss__hub_resume(task); /* frees it if it finishes */
    return 0;
}

moss_greenlet_t *moss_spawn(moss_greenlet_fn fn, void *arg)
{
    return moss_spawn_opts(fn, arg, NULL);
}

/* The task of a greenlet spawned on the calling thread's hub, or NULL with
 * EINVAL. */
static struct moss__task *task_spawned(moss_greenlet_t *g)
{
    struct moss__hub *hub = moss__hub_get();
    struct moss__task *task = g != NULL ? g->task : NULL;

    if (hub == NULL)
        return NULL;
    if (task == NULL || !task->spawned || task->hub != hub) {
        errno = EINVAL;
        return NULL;
    }
    return task;
}

void moss__task_release(struct moss__task *task)
{
    task->hub->stats.greenlets_alive--;
    moss__greenlet_release(task->greenlet);
}

/* The joiner's wait_node.item names the task it joins. */
static void join_cancel(struct moss__task *joiner)
{
    struct moss__task *target = joiner->wait_node.item;

    if (target->joiner == joiner)
        target->joiner = NULL;
}

/* A spawned task that has not started and is the hub's next resume: a
 * joiner can switch straight into it (moss__task_park_into). */
static int task_startable(const struct moss__task *task)
{
    return task->hub->run_head == task && task->runnable && !task->killed &&
           moss_greenlet_state(task->greenlet) == MOSS_GREENLET_NEW;
}

int moss_join(moss_greenlet_t *g, int64_t deadline, void **result)
{
    struct moss__task *task = task_spawned(g), *self;

    if (task == NULL)
        return -1;
    if (task->detached) {
        errno = EINVAL;
        return -1;
    }
    self = moss__task_current();
    if (self == NULL)
        return -1;
    if (self == task) {
        errno = EDEADLK;
        return -1;
    }
    if (!task->finished) {
        if (task->joiner != NULL) {
            errno = EBUSY;
            return -1;
        }
        task->joiner = self;
        self->wait_node.item = task;
        if (moss__task_park_into(self, deadline, join_cancel, NULL,
                                 task_startable(task) ? task : NULL) == -1)
            return -1;
    }
    if (result != NULL)
        *result = task->result;
    moss__task_release(task);
    return 0;
}

int moss_detach(moss_greenlet_t *g)
{
    struct moss__task *task = task_spawned(g);

    if (task == NULL)
        return -1;
    if (task->detached) {
        errno = EINVAL;
        return -1;
    }
    task->detached = 1;
    if (task->finished)
        moss__task_release(task);
    return 0;
}

int moss_kill(moss_greenlet_t *g)
{
    struct moss__task *task = task_spawned(g);

    if (task == NULL)
        return -1;
    if (task->finished)
        return 0;
    task->killed = 1;
    if (task->parked)
        moss__task_wake(task, NULL, ECANCELED);
    return 0;
}

int moss_defer(void (*fn)(void *arg), void *arg)
{
    struct moss__task *task = moss__task_current();
    struct moss__defer *d;

    if (task == NULL)
        return -1;
    if (fn == NULL || !task->spawned) {
        errno = EINVAL;
        return -1;
    }
    if (task->defer_count >= MOSS_DEFER_MAX) {
        errno = ENOBUFS;
        return -1;
    }
    d = malloc(sizeof(*d));
    if (d == NULL)
        return -1;
    *d = (struct moss__defer){.next = task->defers, .fn = fn, .arg = arg};
    task->defers = d;
    task->defer_count++;
    return 0;
}
