/* The hub: one libev loop per thread, running in its own greenlet, and the
 * run queue of greenlets that are ready. */
#include "hub.h"

#include "greenlet.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

__thread struct moss__hub *moss__hub_self __attribute__((tls_model("initial-exec")));

static void hub_resume(struct moss__task *task);

/* ---- the run queue ----------------------------------------------------- */

void moss__hub_schedule(struct moss__hub *hub, struct moss__task *task)
{
    if (task->queued)
        return;
    task->queued = 1;
    task->run_next = NULL;
    if (hub->run_tail != NULL)
        hub->run_tail->run_next = task;
    else
        hub->run_head = task;
    hub->run_tail = task;
    hub->run_length++;
    /* while anything is ready, the loop polls without blocking */
    if (!ev_is_active(&hub->keep_polling))
        ev_idle_start(hub->loop, &hub->keep_polling);
}

static struct moss__task *hub_dequeue(struct moss__hub *hub)
{
    struct moss__task *task = hub->run_head;

    hub->run_head = task->run_next;
    if (hub->run_head == NULL)
        hub->run_tail = NULL;
    hub->run_length--;
    task->queued = 0;
    return task;
}

/* Takes next, the head of the run queue, off it to be switched to
 * directly; returns its greenlet. */
static moss_greenlet_t *hub_take_head(struct moss__hub *hub, struct moss__task *next)
{
    hub_dequeue(hub);
    next->runnable = 0;
    if (hub->run_head == NULL)
        ev_idle_stop(hub->loop, &hub->keep_polling);
    return next->greenlet;
}

/* Runs before the loop polls: resumes ready greenlets in FIFO order,
 * including those made ready meanwhile, up to MOSS_HUB_BATCH resumes. Then
 * the loop polls, so ready work cannot starve I/O, while a chain of wake-ups
 * (an Event set, a Queue handoff) runs without a poll between its links. */
static void hub_drain(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct moss__hub *hub = w->data;
    unsigned budget = MOSS_HUB_BATCH;

    (void)loop, (void)revents;
    hub->stats.loop_iterations++;
    while (budget-- > 0 && hub->run_head != NULL) {
        struct moss__task *task = hub_dequeue(hub);

        if (task->yielding)
            moss__task_wake(task, NULL, 0); /* resumes it: we are the hub */
        else if (task->runnable)
            hub_resume(task);
    }
    if (hub->run_head != NULL)
        hub->stats.run_queue_batches++;
    else
        ev_idle_stop(hub->loop, &hub->keep_polling);
}

static void hub_keep_polling(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop, (void)w, (void)revents; /* being active is its whole job */
}

/* Switches from the hub into a task that has been woken, or starts a spawned
 * one; returns when the task parks again or finishes. hub->resuming names
 * the task meanwhile, so that it finishes into the hub, not straight into a
 * joiner that might free it (task_finish_into_joiner in task.c), and is
 * still there for the check below. */
static void hub_resume(struct moss__task *task)
{
    moss_greenlet_t *g = task->greenlet;

    task->runnable = 0;
    if (task->killed && moss_greenlet_state(g) == MOSS_GREENLET_NEW) {
        int detached = task->detached;

        moss_greenlet_throw(g, ECANCELED); /* dies unstarted; the error comes back to us */
        moss__task_complete(task); /* may resume its joiner, which frees task */
        if (detached)
            moss__task_release(task);
        return;
    }
    task->hub->resuming = task;
    moss_greenlet_switch(g, NULL, NULL);
    task->hub->resuming = NULL; /* the hub runs again */
    if (task->finished && task->detached)
        moss__task_release(task);
}

void moss__hub_resume(struct moss__task *task)
{
    hub_resume(task);
}

/* ---- parking and waking ---------------------------------------------------- */

static void hub_timer_expired(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    moss__task_wake(w->data, NULL, ETIMEDOUT);
}

static int task_park_refused(struct moss__task *task, moss__cancel_fn cancel, int err)
{
    if (cancel != NULL)
        cancel(task);
    errno = err;
    return -1;
}

static int64_t task_effective_deadline(const struct moss__task *task, int64_t deadline)
{
    int64_t scoped = task->scoped_deadline;

    if (deadline == MOSS_FOREVER || (scoped != MOSS_FOREVER && scoped < deadline))
        return scoped;
    return deadline;
}

int moss__task_park(struct moss__task *task, int64_t deadline, moss__cancel_fn cancel,
                    void **value)
{
    return moss__task_park_into(task, deadline, cancel, value, NULL);
}

int moss__task_park_into(struct moss__task *task, int64_t deadline, moss__cancel_fn cancel,
                         void **value, struct moss__task *next)
{
    struct moss__hub *hub = task->hub;
    int64_t effective = task_effective_deadline(task, deadline);

    if (task->greenlet == hub->greenlet)
        return task_park_refused(task, cancel, EDEADLK);
    if (task->killed)
        return task_park_refused(task, cancel, ECANCELED);
    if (effective != MOSS_FOREVER) {
        int64_t now = moss__hub_now(hub);

        if (effective <= now)
            return task_park_refused(task, cancel, ETIMEDOUT);
        /* +1 ms: libev's clock sample and ours differ by a fraction of a
         * millisecond; a deadline must not fire before moss_now() reaches it */
        ev_timer_set(&task->timer, (double)(effective - now + 1) / 1000.0, 0.0);
        ev_timer_start(hub->loop, &task->timer);
    }
    task->cancel = cancel;
    task->parked = 1;
    moss_greenlet_switch(next != NULL ? hub_take_head(hub, next) : hub->greenlet, NULL, NULL);
    if (task->wake_err != 0) {
        errno = task->wake_err;
        return -1;
    }
    if (value != NULL)
        *value = task->wake_value;
    return 0;
}

/* Undoes a parked task's registrations and gives it its wake; 0 if it was
 * not parked (or already woken). */
static int task_woken(struct moss__task *task, void *value, int err)
{
    struct moss__hub *hub = task->hub;

    if (!task->parked)
        return 0;
    task->parked = 0;
    ev_timer_stop(hub->loop, &task->timer);
    if (task->cancel != NULL) {
        moss__cancel_fn cancel = task->cancel;

        task->cancel = NULL;
        cancel(task);
    }
    task->wake_value = value;
    task->wake_err = err;
    return 1;
}

void moss__task_wake(struct moss__task *task, void *value, int err)
{
    struct moss__hub *hub = task->hub;

    if (!task_woken(task, value, err))
        return;
    if (moss_greenlet_current() == hub->greenlet) {
        hub_resume(task);
    } else {
        task->runnable = 1;
        moss__hub_schedule(hub, task);
    }
}

int moss__task_wake_by_switch(struct moss__task *task, void *value, int err)
{
    return task_woken(task, value, err);
}

void moss__task_init(struct moss__task *task, struct moss__hub *hub, moss_greenlet_t *g)
{
    task->greenlet = g;
    task->hub = hub;
    task->scoped_deadline = MOSS_FOREVER;
    ev_timer_init(&task->timer, hub_timer_expired, 0.0, 0.0);
    task->timer.data = task;
    task->all_next = hub->all;
    if (hub->all != NULL)
        hub->all->all_prev = task;
    hub->all = task;
}

void moss__task_fini(struct moss__task *task)
{
    struct moss__hub *hub = task->hub;

    if (task->all_prev != NULL)
        task->all_prev->all_next = task->all_next;
    else
        hub->all = task->all_next;
    if (task->all_next != NULL)
        task->all_next->all_prev = task->all_prev;
}

/* In a forked child only the greenlet that called fork goes on. Every other
 * task is cut loose: its registrations are undone and it leaves the run
 * queue, so nothing resumes it; its memory stays, as the parent's does. */
static void hub_after_fork(struct moss__hub *hub)
{
    moss_greenlet_t *self = moss_greenlet_current();

    ev_loop_fork(hub->loop);
    for (struct moss__task *task = hub->all; task != NULL; task = task->all_next) {
        if (task->greenlet == self || !task->parked)
            continue;
        task->parked = 0;
        ev_timer_stop(hub->loop, &task->timer);
        if (task->cancel != NULL)
            task->cancel(task);
        task->cancel = NULL;
    }
    while (hub->run_head != NULL) {
        struct moss__task *task = hub_dequeue(hub);

        task->runnable = task->yielding = 0;
    }
    ev_idle_stop(hub->loop, &hub->keep_polling);
}

/* ---- the hub greenlet ---------------------------------------------------- */

/* The loop ran out of watchers: nothing can wake any parked greenlet again.
 * The main greenlet hears it, as gevent's LoopExit: its wait fails with
 * EDEADLK. */
static void hub_loop_exhausted(struct moss__hub *hub)
{
    moss_greenlet_t *main_g = moss_greenlet_main();
    struct moss__task *main_task = moss__task_of(main_g);

    if (main_task != NULL && main_task->parked)
        moss__task_wake(main_task, NULL, EDEADLK);
    else
        moss_greenlet_throw(main_g, EDEADLK);
    (void)hub;
}

static void *hub_main(void *arg)
{
    struct moss__hub *hub = arg;

    for (;;) {
        ev_run(hub->loop, 0);
        hub_loop_exhausted(hub);
    }
    return NULL;
}

static pthread_once_t hub_fork_once = PTHREAD_ONCE_INIT;

static void hub_fork_child(void)
{
    if (moss__hub_self != NULL)
        hub_after_fork(moss__hub_self);
}

static void hub_register_fork(void)
{
    pthread_atfork(NULL, NULL, hub_fork_child);
}

static int64_t hub_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Our cached clock (monotonic; ev_now follows the wall clock) and libev's,
 * which timers start from, are always refreshed together: a deadline is
 * turned into a timer relative to ours, and if libev's lagged behind, the
 * timer would fire that much early. */
static void hub_clock_refresh(struct moss__hub *hub)
{
    ev_now_update(hub->loop);
    hub->now_ms = hub_clock_ms();
}

/* libev calls this each time it runs callbacks (before it polls, and after),
 * so every callback and every greenlet it resumes sees the time of its own
 * batch. */
static void hub_invoke_pending(struct ev_loop *loop)
{
    hub_clock_refresh(ev_userdata(loop));
    ev_invoke_pending(loop);
}

static int hub_init_loop(struct moss__hub *hub)
{
    hub->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOENV);
    if (hub->loop == NULL) {
        errno = ENOMEM;
        return -1;
    }
    ev_set_userdata(hub->loop, hub);
    ev_set_invoke_pending_cb(hub->loop, hub_invoke_pending);
    ev_prepare_init(&hub->drain, hub_drain);
    hub->drain.data = hub;
    ev_prepare_start(hub->loop, &hub->drain);
    ev_unref(hub->loop); /* the drain alone does not keep the loop running */
    ev_idle_init(&hub->keep_polling, hub_keep_polling);
    hub_clock_refresh(hub);
    return 0;
}

static struct moss__hub *hub_create(void)
{
    moss_greenlet_opts_t opts = {.parent = moss_greenlet_main(), .name = "hub"};
    struct moss__hub *hub = calloc(1, sizeof(*hub));

    if (hub == NULL || opts.parent == NULL)
        goto free_hub;
    if (hub_init_loop(hub) == -1)
        goto free_hub;
    hub->greenlet = moss_greenlet_create(hub_main, hub, &opts);
    if (hub->greenlet == NULL)
        goto destroy_loop;
    moss__thread_self->task_free = moss__task_free;
    pthread_once(&hub_fork_once, hub_register_fork);
    return hub;

destroy_loop:
    ev_loop_destroy(hub->loop);
free_hub:
    free(hub);
    return NULL;
}

struct moss__hub *moss__hub_get(void)
{
    struct moss__hub *hub = moss__hub_self;

    if (__builtin_expect(hub == NULL, 0)) {
        hub = hub_create();
        moss__hub_self = hub;
    }
    return hub;
}

void moss_hub_stats(moss_hub_stats_t *stats)
{
    struct moss__hub *hub = moss__hub_get();

    *stats = (moss_hub_stats_t){0};
    if (hub == NULL)
        return;
    *stats = hub->stats;
    stats->run_queue_length = hub->run_length;
}

int64_t moss_now(void)
{
    struct moss__hub *hub = moss__hub_get();

    return hub != NULL ? moss__hub_now(hub) : -1;
}
