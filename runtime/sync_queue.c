/* Queues of pointers, bounded or not, FIFO or by priority (gevent's Queue
 * and PriorityQueue).
 *
 * Storage is one array of entries: a ring in FIFO order, a binary min-heap
 * keyed by (priority, sequence number) in PRIORITY order, so equal
 * priorities come out in the order they went in. It grows geometrically,
 * and a bounded queue's never beyond its capacity, so a large bound costs
 * nothing until it is used.
 *
 * Handoff, so that no wake can be stolen or lost:
 *   - put with a getter waiting gives the item to the first getter in its
 *     wake value (getters wait only while the queue is empty, so the item
 *     skips nothing, whatever the order);
 *   - get from a full queue with a putter waiting moves the first putter's
 *     item (its wait_node.item and .priority) into the slot just freed
 *     before waking it (putters wait only while the queue is full).
 * A wake is final: moss__task_wake stops the waiter's deadline timer and a
 * later kill cannot undo it, while a waiter that times out or is killed
 * first is unlinked by the cancel and no item is handed to it. */
#include "hub.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define QUEUE_INITIAL_SLOTS 16

struct queue_entry {
    void *item;
    uint64_t seq;
    int priority;
};

struct moss_queue {
    struct moss__wait_queue getters;  /* wait only while empty */
    struct moss__wait_queue putters;  /* wait only while full */
    struct queue_entry *slots;
    size_t slot_count;                /* allocated */
    size_t head;                      /* ring start (FIFO); 0 for the heap */
    size_t length;
    size_t capacity;                  /* 0: unbounded */
    moss_queue_order_t order;
    uint64_t next_seq;
};

moss_queue_t *moss_queue_new(size_t capacity, moss_queue_order_t order)
{
    moss_queue_t *q;

    if (order != MOSS_QUEUE_FIFO && order != MOSS_QUEUE_PRIORITY) {
        errno = EINVAL;
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->capacity = capacity;
    q->order = order;
    return q;
}

/* Items still queued are the caller's pointers: they are dropped, not
 * freed. */
int moss_queue_free(moss_queue_t *q)
{
    if (q == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (q->getters.length > 0 || q->putters.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(q->slots);
    free(q);
    return 0;
}

size_t moss_queue_length(const moss_queue_t *q)
{
    return q != NULL ? q->length : 0;
}

static int queue_full(const moss_queue_t *q)
{
    return q->capacity != 0 && q->length >= q->capacity;
}

/* ---- storage ------------------------------------------------------------- */

/* The next array size: double, capped at a bounded queue's capacity. */
static int queue_next_slot_count(const moss_queue_t *q, size_t *count)
{
    size_t next = q->slot_count == 0 ? QUEUE_INITIAL_SLOTS : q->slot_count * 2;

    if (next < q->slot_count || next > SIZE_MAX / sizeof(struct queue_entry)) {
        errno = ENOMEM;
        return -1;
    }
    if (q->capacity != 0 && next > q->capacity)
        next = q->capacity;
    *count = next;
    return 0;
}

/* Makes room for one more entry. The entries are copied in order into the
 * new array, which unwraps the ring; a heap is already at 0 and stays a
 * heap. */
static int queue_reserve(moss_queue_t *q)
{
    struct queue_entry *slots;
    size_t count;

    if (q->length < q->slot_count)
        return 0;
    if (queue_next_slot_count(q, &count) == -1)
        return -1;
    slots = malloc(count * sizeof(*slots));
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < q->length; i++)
        slots[i] = q->slots[(q->head + i) % q->slot_count];
    free(q->slots);
    q->slots = slots;
    q->slot_count = count;
    q->head = 0;
    return 0;
}

static int entry_before(const struct queue_entry *a, const struct queue_entry *b)
{
    return a->priority < b->priority || (a->priority == b->priority && a->seq < b->seq);
}

static void heap_swap(struct queue_entry *slots, size_t i, size_t j)
{
    struct queue_entry t = slots[i];

    slots[i] = slots[j];
    slots[j] = t;
}

static void heap_sift_up(struct queue_entry *slots, size_t i)
{
    while (i > 0 && entry_before(&slots[i], &slots[(i - 1) / 2])) {
        heap_swap(slots, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_sift_down(struct queue_entry *slots, size_t length, size_t i)
{
    for (;;) {
        size_t least = i, left = 2 * i + 1, right = 2 * i + 2;

        if (left < length && entry_before(&slots[left], &slots[least]))
            least = left;
        if (right < length && entry_before(&slots[right], &slots[least]))
            least = right;
        if (least == i)
            return;
        heap_swap(slots, i, least);
        i = least;
    }
}

/* Stores an entry; queue_reserve must have made room. */
static void queue_insert(moss_queue_t *q, void *item, int priority)
{
    struct queue_entry e = {.item = item, .seq = q->next_seq++, .priority = priority};

    if (q->order == MOSS_QUEUE_FIFO) {
        q->slots[(q->head + q->length) % q->slot_count] = e;
        q->length++;
    } else {
        q->slots[q->length] = e;
        heap_sift_up(q->slots, q->length);
        q->length++;
    }
}

/* Removes the first entry; the queue must not be empty. */
static void *queue_take(moss_queue_t *q)
{
    void *item = q->slots[q->head].item;

    q->length--;
    if (q->order == MOSS_QUEUE_FIFO) {
        q->head = (q->head + 1) % q->slot_count;
    } else {
        q->slots[0] = q->slots[q->length];
        heap_sift_down(q->slots, q->length, 0);
    }
    return item;
}

/* ---- put and get ----------------------------------------------------------- */

/* Parks the caller as a putter; a getter moves the item in and wakes it
 * with success. */
static int queue_wait_put(moss_queue_t *q, void *item, int priority, int64_t deadline)
{
    struct moss__task *self = moss__task_current();

    if (self == NULL)
        return -1;
    self->wait_node.priority = priority;
    return moss__wait_queue_wait(&q->putters, item, deadline, NULL);
}

/* Room, or a waiting getter, means no parking, whatever the deadline. */
int moss_queue_put(moss_queue_t *q, void *item, int priority, int64_t deadline)
{
    if (q == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (moss__wait_queue_wake_one(&q->getters, item, 0))
        return 0;
    if (queue_full(q))
        return queue_wait_put(q, item, priority, deadline);
    if (queue_reserve(q) == -1)
        return -1;
    queue_insert(q, item, priority);
    return 0;
}

/* After a get from a full queue: the first waiting putter's item takes the
 * freed slot (the array holds capacity entries, since the queue was full). */
static void queue_admit_putter(moss_queue_t *q)
{
    struct moss__wait_node *node = moss__wait_queue_pop(&q->putters);

    if (node == NULL)
        return;
    queue_insert(q, node->item, node->priority);
    moss__task_wake(node->task, NULL, 0);
}

/* An item there means no parking, whatever the deadline. */
int moss_queue_get(moss_queue_t *q, void **item, int64_t deadline)
{
    if (q == NULL || item == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (q->length == 0)
        return moss__wait_queue_wait(&q->getters, NULL, deadline, item);
    *item = queue_take(q);
    queue_admit_putter(q);
    return 0;
}
