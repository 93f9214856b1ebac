/* Sleeping and deadline scopes. */
#include "hub.h"

#include <errno.h>

static void time_yield_cancel(struct moss__task *task)
{
    task->yielding = 0;
}

/* A yield: the task queues itself behind every greenlet already ready and
 * parks; the drain wakes it in its turn. */
static int time_yield(struct moss__task *task)
{
    if (task->greenlet == task->hub->greenlet) {
        errno = EDEADLK;
        return -1;
    }
    task->yielding = 1;
    moss__hub_schedule(task->hub, task);
    return moss__task_park(task, MOSS_FOREVER, time_yield_cancel, NULL);
}

int moss_sleep(int64_t ms)
{
    struct moss__task *task = moss__task_current();
    int64_t until;

    if (task == NULL)
        return -1;
    if (ms <= 0)
        return time_yield(task);
    until = moss__hub_now(task->hub) + ms;
    if (moss__task_park(task, until, NULL, NULL) == 0)
        return 0; /* woken early: only a kill or a deadline could, and they are errors */
    /* The timer that fired is the sleep's own unless a scope ends sooner. */
    if (errno == ETIMEDOUT &&
        (task->scoped_deadline == MOSS_FOREVER || until <= task->scoped_deadline))
        return 0;
    return -1;
}

void moss_deadline_push(moss_deadline_scope_t *scope, int64_t deadline)
{
    struct moss__task *task = moss__task_current();

    scope->previous = MOSS_FOREVER;
    if (task == NULL)
        return;
    scope->previous = task->scoped_deadline;
    if (deadline != MOSS_FOREVER &&
        (task->scoped_deadline == MOSS_FOREVER || deadline < task->scoped_deadline))
        task->scoped_deadline = deadline;
}

void moss_deadline_pop(moss_deadline_scope_t *scope)
{
    struct moss__task *task = moss__task_current();

    if (task != NULL)
        task->scoped_deadline = scope->previous;
}
