/* Queue: FIFO and priority order, bounded puts that wait, handoff to
 * waiting getters and putters, kills, and many items. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* ---- Queue ------------------------------------------------------------------ */

void sync_case_queue_fifo_ignores_priority(void)
{
    static const int priorities[] = {9, 1, 5, -3, 0};

    TEST_ASSERT((sync_queue = moss_queue_new(0, MOSS_QUEUE_FIFO)) != NULL);
    for (uintptr_t i = 0; i < 5; i++)
        TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(i + 1), priorities[i],
                                   MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_length(sync_queue) == 5);
    for (uintptr_t i = 0; i < 5; i++)
        sync_expect_get(i + 1);
    TEST_ASSERT(moss_queue_length(sync_queue) == 0);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
    TEST_ASSERT(moss_queue_new(0, (moss_queue_order_t)7) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_queue_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_queue_put(NULL, NULL, 0, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_queue_get(NULL, NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
}

static void *queue_putter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_queue_put(sync_queue, o->value, o->name, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

static void *queue_getter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_queue_get(sync_queue, &o->value, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* A full bounded queue blocks put; a get takes the head and the putter's
 * item takes the freed place at once, so the queue is full again and a
 * newcomer's put still cannot get in. */
void sync_case_queue_bounded_put_blocks(void)
{
    struct outcome p = {.name = 'P', .value = sync_item_of(3)};
    moss_greenlet_t *g;
    int64_t start;

    TEST_ASSERT((sync_queue = moss_queue_new(2, MOSS_QUEUE_FIFO)) != NULL);
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(1), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(2), 0, MOSS_FOREVER) == 0);
    g = moss_spawn(queue_putter, &p);
    sync_settle();
    TEST_ASSERT(trail.len == 0 && moss_queue_length(sync_queue) == 2);
    TEST_ASSERT(moss_queue_free(sync_queue) == -1 && errno == EBUSY);
    sync_expect_get(1);
    TEST_ASSERT(moss_queue_length(sync_queue) == 2); /* P's item is in */
    start = moss_now();
    sync_assert_timed_out(moss_queue_put(sync_queue, sync_item_of(9), 0, start + 30), start, 30);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(p.rc == 0 && strcmp(trail.steps, "P") == 0);
    sync_expect_get(2);
    sync_expect_get(3);
    start = moss_now();
    sync_assert_timed_out(moss_queue_get(sync_queue, &p.value, start + 30), start, 30);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* (priority, item): items are numbered in put order. */
static const int prio_input[][2] = {{5, 1}, {1, 2}, {3, 3}, {1, 4}, {5, 5},
                                    {0, 6}, {-2, 7}, {3, 8}, {1, 9}, {0, 10}};
static const uintptr_t prio_output[] = {7, 6, 10, 2, 4, 9, 3, 8, 1, 5};

void sync_case_queue_priority_order(void)
{
    size_t n = sizeof(prio_output) / sizeof(prio_output[0]);

    TEST_ASSERT((sync_queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (size_t i = 0; i < n; i++)
        TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of((uintptr_t)prio_input[i][1]),
                                   prio_input[i][0], MOSS_FOREVER) == 0);
    for (size_t i = 0; i < n; i++)
        sync_expect_get(prio_output[i]);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* Items carry (put number << 3 | priority). Gets within a batch come out
 * by priority, and equal priorities come out in put order across the whole
 * run, while puts and gets interleave and the heap grows and shrinks. */
static uint32_t rng_state = 12345;

static int next_priority(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (int)((rng_state >> 16) % 8);
}

static void priority_get_batch(int count, uintptr_t last_put[8])
{
    int last_prio = -1;

    for (int i = 0; i < count; i++) {
        void *got = NULL;
        uintptr_t n;
        int prio;

        TEST_ASSERT(moss_queue_get(sync_queue, &got, MOSS_FOREVER) == 0);
        n = (uintptr_t)got >> 3;
        prio = (int)((uintptr_t)got & 7);
        TEST_ASSERT(prio >= last_prio);
        TEST_ASSERT(n > last_put[prio]);
        last_prio = prio;
        last_put[prio] = n;
    }
}

void sync_case_queue_priority_stable_under_load(void)
{
    uintptr_t next = 0, last_put[8] = {0};

    TEST_ASSERT((sync_queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 300; i++) {
            int prio = next_priority();

            next++;
            TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(next << 3 | (uintptr_t)prio), prio,
                                       MOSS_FOREVER) == 0);
        }
        priority_get_batch(150, last_put);
    }
    TEST_ASSERT(moss_queue_length(sync_queue) == 50 * 150);
    priority_get_batch(50 * 150, last_put);
    TEST_ASSERT(moss_queue_length(sync_queue) == 0);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* Getters wait in FIFO order; a put hands its item to the first getter
 * directly, so the putter's own get right after finds the queue empty. */
void sync_case_queue_get_handoff_fifo(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];
    void *got = NULL;

    TEST_ASSERT((sync_queue = moss_queue_new(1, MOSS_QUEUE_PRIORITY)) != NULL);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(queue_getter, &o[i]);
    sync_settle();
    TEST_ASSERT(moss_queue_free(sync_queue) == -1 && errno == EBUSY);
    for (uintptr_t i = 0; i < 3; i++)
        TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(10 + i), (int)(5 - i),
                                   moss_now()) == 0);
    TEST_ASSERT(moss_queue_length(sync_queue) == 0);
    TEST_ASSERT(moss_queue_get(sync_queue, &got, moss_now()) == -1 && errno == ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0 && o[i].value == sync_item_of(10 + (uintptr_t)i));
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* Killed or timed-out waiters take nothing and leave nothing: a getter
 * killed while queued gets no item (the next put stays in the queue), and
 * a putter killed while queued adds none. */
void sync_case_queue_kill_waiters(void)
{
    struct outcome get = {.name = 'g'}, put = {.name = 'p', .value = sync_item_of(99)};
    moss_greenlet_t *gg, *gp;

    TEST_ASSERT((sync_queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
    gg = moss_spawn(queue_getter, &get);
    sync_settle();
    TEST_ASSERT(moss_kill(gg) == 0);
    TEST_ASSERT(moss_join(gg, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(get.rc == -1 && get.err == ECANCELED);
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(1), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_length(sync_queue) == 1);
    gp = moss_spawn(queue_putter, &put);
    sync_settle();
    TEST_ASSERT(moss_kill(gp) == 0);
    TEST_ASSERT(moss_join(gp, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(put.rc == -1 && put.err == ECANCELED);
    sync_expect_get(1);
    TEST_ASSERT(moss_queue_length(sync_queue) == 0); /* 99 never went in */
    TEST_ASSERT(strcmp(trail.steps, "gp") == 0);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* Once chosen, a getter keeps its item and a putter's item stays queued,
 * even if they are killed before they run. */
void sync_case_queue_chosen_waiters_keep_items(void)
{
    struct outcome get = {.name = 'g'}, put = {.name = 'p', .value = sync_item_of(2)};
    moss_greenlet_t *gg, *gp;

    TEST_ASSERT((sync_queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
    gg = moss_spawn(queue_getter, &get);
    sync_settle();
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(7), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_kill(gg) == 0);
    TEST_ASSERT(moss_join(gg, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(get.rc == 0 && get.value == sync_item_of(7));
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(1), 0, MOSS_FOREVER) == 0);
    gp = moss_spawn(queue_putter, &put);
    sync_settle();
    sync_expect_get(1);
    TEST_ASSERT(moss_kill(gp) == 0);
    TEST_ASSERT(moss_join(gp, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(put.rc == 0);
    sync_expect_get(2);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

/* A bounded priority queue: a waiting putter's item enters with its own
 * priority (the putter passes its name as the priority). */
void sync_case_queue_bounded_priority_putter(void)
{
    struct outcome p = {.name = 1, .value = sync_item_of(30)};
    moss_greenlet_t *g;

    TEST_ASSERT((sync_queue = moss_queue_new(2, MOSS_QUEUE_PRIORITY)) != NULL);
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(50), 5, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(0), 0, MOSS_FOREVER) == 0);
    g = moss_spawn(queue_putter, &p);
    sync_settle();
    sync_expect_get(0);  /* P's item (priority 1) goes in ahead of 50 */
    sync_expect_get(30);
    sync_expect_get(50);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0 && p.rc == 0);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

#define MANY_ITEMS 100000

void sync_case_queue_unbounded_many_items(void)
{
    TEST_ASSERT((sync_queue = moss_queue_new(0, MOSS_QUEUE_FIFO)) != NULL);
    for (uintptr_t round = 0; round < 2; round++) {
        for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
            TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(i), 0, moss_now()) == 0);
        TEST_ASSERT(moss_queue_length(sync_queue) == MANY_ITEMS);
        for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
            sync_expect_get(i);
    }
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
    TEST_ASSERT((sync_queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
        TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(i), MANY_ITEMS - (int)i,
                                   moss_now()) == 0);
    for (uintptr_t i = MANY_ITEMS; i >= 1; i--)
        sync_expect_get(i);
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}
