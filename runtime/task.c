/* Spawned greenlets' lifetimes: spawn, join, detach, kill and defer. */
#include "hub.h"

#include "greenlet.h"

#include <errno.h>
#include <stdlib.h>

struct moss__defer {
    struct moss__defer *next;
    void (*fn)(void *arg);
    void *arg;
};

static struct moss__task *task_new(struct moss__hub *hub, moss_greenlet_t *g)
{
    struct moss__task *task = calloc(1, sizeof(*task));

    if (task == NULL)
        return NULL;
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

    g->task = NULL;
    moss__task_fini(task);
    free(task);
}

/* Runs the defers last-registered first, then wakes the joiner. */
void moss__task_complete(struct moss__task *task)
{
    while (task->defers != NULL) {
        struct moss__defer *d = task->defers;

        task->defers = d->next;
        task->defer_count--;
        d->fn(d->arg);
        free(d);
    }
    task->finished = 1;
    if (task->joiner != NULL)
        moss__task_wake(task->joiner, NULL, 0);
}

static void *task_entry(void *arg)
{
    struct moss__task *task = arg;

    task->result = task->fn(task->arg);
    moss__task_complete(task);
    return task->result;
}

moss_greenlet_t *moss_spawn_opts(moss_greenlet_fn fn, void *arg,
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
    moss__hub_schedule(hub, task);
    return task->greenlet;

free_task:
    moss__task_fini(task);
    free(task);
    return NULL;
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
        if (moss__task_park(self, deadline, join_cancel, NULL) == -1)
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
