/* The hub's internal interface: tasks, parking and waking, wait queues.
 *
 * Every greenlet that blocks through the hub has a task: a heap record that
 * holds everything the hub needs while the greenlet is parked (its watchers,
 * its wait-queue link, the wake value). Nothing the hub touches lives on a
 * greenlet's stack, so a parked greenlet's stack could be copied away
 * (stack slicing) and greenlets can be freed without the hub holding
 * pointers into them.
 *
 * The park/wake protocol, which every blocking call follows:
 *   1. register the task where the wake will come from (start task->io, link
 *      task->wait_node into a wait queue, ...);
 *   2. moss__task_park(task, deadline, cancel) switches to the hub;
 *   3. a waker calls moss__task_wake(task, value, err): it runs `cancel` to
 *      undo every registration of step 1, then resumes the task (directly
 *      when the waker is the hub, through the run queue otherwise; a
 *      joined child that finishes hands over to its joiner by switching,
 *      with moss__task_wake_by_switch);
 *   4. park returns 0 with the value, or -1 with the error. Deadlines (the
 *      call's own and the task's scoped one) and kills are wakes with
 *      ETIMEDOUT and ECANCELED, so `cancel` is the only cleanup there is. */
#ifndef MOSS_RUNTIME_HUB_H
#define MOSS_RUNTIME_HUB_H

#include "moss.h"

#include <ev.h>
#include <stdint.h>

struct moss__hub;
struct moss__task;

#define MOSS__TASK_SPARE_MAX 256   /* freed tasks a hub keeps for reuse */

/* A node of a FIFO wait queue; embedded in the task. */
struct moss__wait_node {
    struct moss__wait_node *prev, *next;
    struct moss__wait_queue *queue;  /* the queue it is in, or NULL */
    struct moss__task *task;
    void *item;  /* what a waiter carries (a queue put's item, ...) */
    int priority;
};

/* An intrusive, doubly linked FIFO of waiting tasks. */
struct moss__wait_queue {
    struct moss__wait_node *head, *tail;
    size_t length;
};

struct moss__defer;

typedef void (*moss__cancel_fn)(struct moss__task *task);

struct moss__task {
    moss_greenlet_t *greenlet;
    struct moss__hub *hub;
    struct moss__task *run_next;     /* run queue link */
    struct moss__task *all_prev, *all_next; /* the hub's list of tasks */
    /* while parked */
    moss__cancel_fn cancel;          /* undoes the registration; NULL once woken */
    void *wake_value;
    int wake_err;
    unsigned parked : 1;             /* switched to the hub, not yet resumed */
    unsigned queued : 1;             /* on the run queue */
    /* Why it is queued. A queue entry whose reason is gone (a yield whose
     * park was refused) is skipped by the drain. */
    unsigned runnable : 1;           /* woken or newly spawned: resume it */
    unsigned yielding : 1;           /* parked in moss_sleep(0): wake it */
    unsigned spawned : 1;            /* by moss_spawn: the hub is its parent */
    unsigned killed : 1;
    unsigned finished : 1;
    unsigned detached : 1;
    ev_timer timer;                  /* the deadline of the current park */
    ev_io io;                        /* the fd wait of the current park */
    struct moss__wait_node wait_node;
    int64_t scoped_deadline;         /* nearest deadline scope, or MOSS_FOREVER */
    /* for spawned tasks */
    moss_greenlet_fn fn;
    void *arg;
    void *result;
    struct moss__task *joiner;       /* the one greenlet joining this one */
    struct moss__defer *defers;      /* LIFO */
    unsigned defer_count;
};

struct moss__hub {
    struct ev_loop *loop;
    moss_greenlet_t *greenlet;       /* runs the loop */
    struct moss__task *run_head, *run_tail;
    uint64_t run_length;
    ev_prepare drain;                /* runs ready tasks before the loop blocks */
    ev_idle keep_polling;            /* active while tasks are ready: poll, don't block */
    struct moss__task *all;          /* every task of this hub */
    struct moss__task *resuming;     /* the task the hub switched into, or NULL */
    struct moss__task *spare_tasks;  /* freed tasks for reuse, linked by run_next */
    unsigned spare_task_count;       /* at most MOSS__TASK_SPARE_MAX */
    struct moss_hub_stats stats;
    int64_t now_ms;                  /* monotonic, cached per loop iteration */
    void *io;                        /* the fd table, owned by runtime/io */
    void *threadpool;                /* owned by runtime/threadpool */
};

/* The calling thread's hub, created on first use. NULL with errno on
 * failure. */
struct moss__hub *moss__hub_get(void);

/* The calling greenlet's task, created on first use (for greenlets not
 * spawned by the hub, such as the thread's main greenlet). NULL with errno. */
struct moss__task *moss__task_current(void);

/* The task of g, or NULL if g has none. */
struct moss__task *moss__task_of(const moss_greenlet_t *g);

/* Parks the calling task until it is woken (see the protocol above).
 * `deadline` is the call's own; the task's scoped deadline applies too.
 * Fails at once, after running cancel, when the task has been killed
 * (ECANCELED), the deadline has passed (ETIMEDOUT), or the caller is the hub
 * (EDEADLK). */
int moss__task_park(struct moss__task *task, int64_t deadline, moss__cancel_fn cancel,
                    void **value);

/* moss__task_park, but switching straight into `next` instead of the hub:
 * next must be a spawned task that has not started, is not killed, and
 * heads the run queue (task_startable in task.c), so it would have been the
 * hub's next resume anyway; the switch through the hub is saved. next NULL:
 * the hub. A refused park leaves next queued. */
int moss__task_park_into(struct moss__task *task, int64_t deadline, moss__cancel_fn cancel,
                         void **value, struct moss__task *next);

/* Wakes a parked task with a value (err 0) or an error. Ignored if the task
 * is not parked or was already woken. */
void moss__task_wake(struct moss__task *task, void *value, int err);

/* Wakes a parked task like moss__task_wake but neither resumes nor queues
 * it: the caller switches to it next, and nothing else may run before.
 * Returns 1, or 0 if the task was not parked. */
int moss__task_wake_by_switch(struct moss__task *task, void *value, int err);

/* Switches from the hub into task (woken, or spawned and not started) and
 * returns when it parks or finishes; a finished detached task is freed.
 * Only the hub calls it. */
void moss__hub_resume(struct moss__task *task);

/* Puts a task at the tail of the run queue to be resumed with the given
 * wake value. */
void moss__hub_schedule(struct moss__hub *hub, struct moss__task *task);

/* Wait queues. */
void moss__wait_queue_push(struct moss__wait_queue *q, struct moss__wait_node *node);
void moss__wait_queue_remove(struct moss__wait_queue *q, struct moss__wait_node *node);
/* Removes and returns the first node, or NULL. */
struct moss__wait_node *moss__wait_queue_pop(struct moss__wait_queue *q);

/* Parks the calling task on q until a waker pops it, with node->item set to
 * `item` for the waker to see. The wait queue must outlive the wait. */
int moss__wait_queue_wait(struct moss__wait_queue *q, void *item, int64_t deadline,
                          void **value);

/* Pops the first waiter and wakes it with value; returns 1, or 0 if none. */
int moss__wait_queue_wake_one(struct moss__wait_queue *q, void *value, int err);
/* Wakes every waiter; returns how many. */
size_t moss__wait_queue_wake_all(struct moss__wait_queue *q, void *value, int err);

/* Spawns fn(arg) detached and, the caller being the hub (a watcher
 * callback), switches into it at once: returns when it first parks, or has
 * finished and been freed. A callback that hands its event to a new greenlet
 * so runs it while the event is fresh, and a batch of events does not build
 * a batch of waiting stacks. 0, or -1 with errno (EPERM: not the hub;
 * moss_spawn_opts's errors). */
int moss__spawn_detached_now(moss_greenlet_fn fn, void *arg, const moss_greenlet_opts_t *opts);

/* Sets up a new task for g on hub (watchers, the hub's task list). */
void moss__task_init(struct moss__task *task, struct moss__hub *hub, moss_greenlet_t *g);
/* Takes a task off the hub's task list. */
void moss__task_fini(struct moss__task *task);
/* A spawned task's end: its defers, then its joiner is woken. */
void moss__task_complete(struct moss__task *task);
/* Frees a finished spawned task and its greenlet (join, detach). */
void moss__task_release(struct moss__task *task);
/* The greenlet core's hook for freeing a greenlet's task. */
void moss__task_free(moss_greenlet_t *g);

/* Loop time in ms: monotonic, cached per loop iteration. */
static inline int64_t moss__hub_now(const struct moss__hub *hub)
{
    return hub->now_ms;
}

#endif
