/* FIFO wait queues of parked tasks, the building block of every primitive
 * in runtime/sync_*.c and of joins. */
#include "hub.h"

#include <stddef.h>

void moss__wait_queue_push(struct moss__wait_queue *q, struct moss__wait_node *node)
{
    node->queue = q;
    node->next = NULL;
    node->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = node;
    else
        q->head = node;
    q->tail = node;
    q->length++;
}

void moss__wait_queue_remove(struct moss__wait_queue *q, struct moss__wait_node *node)
{
    if (node->prev != NULL)
        node->prev->next = node->next;
    else
        q->head = node->next;
    if (node->next != NULL)
        node->next->prev = node->prev;
    else
        q->tail = node->prev;
    node->prev = node->next = NULL;
    node->queue = NULL;
    q->length--;
}

struct moss__wait_node *moss__wait_queue_pop(struct moss__wait_queue *q)
{
    struct moss__wait_node *node = q->head;

    if (node != NULL)
        moss__wait_queue_remove(q, node);
    return node;
}

/* Whatever ends the wait (a wake, a deadline, a kill) takes the task out of
 * its queue, if a waker has not already. */
static void wait_queue_cancel(struct moss__task *task)
{
    struct moss__wait_node *node = &task->wait_node;

    if (node->queue != NULL)
        moss__wait_queue_remove(node->queue, node);
}

int moss__wait_queue_wait(struct moss__wait_queue *q, void *item, int64_t deadline,
                          void **value)
{
    struct moss__task *task = moss__task_current();

    if (task == NULL)
        return -1;
    task->wait_node.task = task;
    task->wait_node.item = item;
    moss__wait_queue_push(q, &task->wait_node);
    return moss__task_park(task, deadline, wait_queue_cancel, value);
}

int moss__wait_queue_wake_one(struct moss__wait_queue *q, void *value, int err)
{
    struct moss__wait_node *node = moss__wait_queue_pop(q);

    if (node == NULL)
        return 0;
    moss__task_wake(node->task, value, err);
    return 1;
}

/* Wakes the waiters queued now, not those that queue while it runs: the
 * hub resumes each woken task at once, and one that waits again on the same
 * queue (a loop on an Event it clears) must not be woken again by this
 * call, or the two would take turns forever. So the waiters move to a list
 * of this call's own first. It lives on the waker's stack, which outlives
 * every use: a task cancelled meanwhile unlinks itself from it through its
 * node's queue pointer, and only while this call is still running. */
size_t moss__wait_queue_wake_all(struct moss__wait_queue *q, void *value, int err)
{
    struct moss__wait_queue now = *q;
    size_t woken = 0;

    for (struct moss__wait_node *n = now.head; n != NULL; n = n->next)
        n->queue = &now;
    q->head = q->tail = NULL;
    q->length = 0;
    while (moss__wait_queue_wake_one(&now, value, err))
        woken++;
    return woken;
}
