/* Every blocking call of the synchronisation primitives, under its own
 * deadline, a deadline scope, a deadline already past, and a kill. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <stdint.h>

/* ---- every blocking call: deadline, deadline scope, kill -------------------- */

/* A blocking call set up so that it must wait. */
struct blocking_op {
    void (*setup)(void);
    int (*call)(int64_t deadline);
    void (*teardown)(void);
};

static moss_greenlet_t *holder;

static int call_event_wait(int64_t deadline)
{
    return moss_event_wait(sync_event, deadline);
}

static int call_result_get(int64_t deadline)
{
    void *value = NULL;

    return moss_async_result_get(sync_result, &value, deadline);
}

static int call_sem_acquire(int64_t deadline)
{
    return moss_semaphore_acquire(sync_sem, deadline);
}

static int call_lock_acquire(int64_t deadline)
{
    return moss_lock_acquire(sync_lock, deadline);
}

static int call_queue_get(int64_t deadline)
{
    void *item = NULL;

    return moss_queue_get(sync_queue, &item, deadline);
}

static int call_queue_put(int64_t deadline)
{
    return moss_queue_put(sync_queue, sync_item_of(2), 0, deadline);
}

static int call_pool_spawn(int64_t deadline)
{
    return moss_pool_spawn(sync_pool, sync_member_sleep, (void *)1, deadline);
}

static int call_pool_join(int64_t deadline)
{
    return moss_pool_join(sync_pool, deadline);
}

static void setup_event(void)
{
    TEST_ASSERT((sync_event = moss_event_new()) != NULL);
}

static void teardown_event(void)
{
    TEST_ASSERT(moss_event_free(sync_event) == 0);
}

static void setup_result(void)
{
    TEST_ASSERT((sync_result = moss_async_result_new()) != NULL);
}

static void teardown_result(void)
{
    TEST_ASSERT(moss_async_result_free(sync_result) == 0);
}

static void setup_sem(void)
{
    TEST_ASSERT((sync_sem = moss_bounded_semaphore_new(0)) != NULL);
}

static void teardown_sem(void)
{
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 0 && moss_semaphore_free(sync_sem) == 0);
}

/* Holds the lock until the event is set. */
static void *lock_holder(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_lock_acquire(sync_lock, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_event_wait(sync_event, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    return NULL;
}

static void setup_lock(void)
{
    TEST_ASSERT((sync_lock = moss_lock_new()) != NULL && (sync_event = moss_event_new()) != NULL);
    holder = moss_spawn(lock_holder, NULL);
    sync_settle();
}

static void teardown_lock(void)
{
    moss_event_set(sync_event);
    TEST_ASSERT(moss_join(holder, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_lock_acquire(sync_lock, moss_now()) == 0); /* nobody else got it */
    TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    TEST_ASSERT(moss_lock_free(sync_lock) == 0 && moss_event_free(sync_event) == 0);
}

static void setup_queue_empty(void)
{
    TEST_ASSERT((sync_queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
}

static void setup_queue_full(void)
{
    setup_queue_empty();
    TEST_ASSERT(moss_queue_put(sync_queue, sync_item_of(1), 0, MOSS_FOREVER) == 0);
}

static void teardown_queue_empty(void)
{
    TEST_ASSERT(moss_queue_length(sync_queue) == 0); /* no put got in */
    TEST_ASSERT(moss_queue_free(sync_queue) == 0);
}

static void teardown_queue_full(void)
{
    TEST_ASSERT(moss_queue_length(sync_queue) == 1);
    sync_expect_get(1); /* only the setup's item: no failed put got in */
    teardown_queue_empty();
}

static void setup_pool_busy(void)
{
    TEST_ASSERT((sync_pool = moss_pool_new(1)) != NULL && (sync_event = moss_event_new()) != NULL);
    TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_wait_event, NULL, MOSS_FOREVER) == 0);
}

static void teardown_pool(void)
{
    TEST_ASSERT(moss_pool_size(sync_pool) == 1);
    moss_event_set(sync_event);
    TEST_ASSERT(moss_pool_join(sync_pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(sync_finished == 1 && moss_pool_size(sync_pool) == 0);
    TEST_ASSERT(moss_pool_free(sync_pool) == 0 && moss_event_free(sync_event) == 0);
}

static const struct blocking_op *blocking;

/* Blocks forever until killed, then tries again: still cancelled. */
static void *blocking_victim(void *arg)
{
    struct outcome *o = arg;

    o->rc = blocking->call(MOSS_FOREVER);
    o->err = errno;
    TEST_ASSERT(blocking->call(MOSS_FOREVER) == -1 && errno == ECANCELED);
    return NULL;
}

static void blocking_kill(void)
{
    struct outcome o = {.rc = 1};
    moss_greenlet_t *g = moss_spawn(blocking_victim, &o);

    sync_settle();
    TEST_ASSERT(o.rc == 1); /* parked */
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.rc == -1 && o.err == ECANCELED);
}

/* The call's own deadline, a deadline scope, a deadline already past, and
 * a kill: each ends the wait with its error and leaves the object as it
 * was (the teardowns check that nothing was taken or added). */
static void run_blocking(const struct blocking_op *op)
{
    moss_deadline_scope_t scope;
    int64_t start;

    blocking = op;
    op->setup();
    start = moss_now();
    sync_assert_timed_out(op->call(start + 30), start, 30);
    start = moss_now();
    moss_deadline_push(&scope, start + 30);
    sync_assert_timed_out(op->call(MOSS_FOREVER), start, 30);
    moss_deadline_pop(&scope);
    TEST_ASSERT(op->call(moss_now() - 1) == -1 && errno == ETIMEDOUT);
    blocking_kill();
    op->teardown();
}

static const struct blocking_op blocking_ops[] = {
    {setup_event, call_event_wait, teardown_event},
    {setup_result, call_result_get, teardown_result},
    {setup_sem, call_sem_acquire, teardown_sem},
    {setup_lock, call_lock_acquire, teardown_lock},
    {setup_queue_empty, call_queue_get, teardown_queue_empty},
    {setup_queue_full, call_queue_put, teardown_queue_full},
    {setup_pool_busy, call_pool_spawn, teardown_pool},
    {setup_pool_busy, call_pool_join, teardown_pool},
};

void sync_case_blocking_event_wait(void)
{
    run_blocking(&blocking_ops[0]);
}

void sync_case_blocking_async_result_get(void)
{
    run_blocking(&blocking_ops[1]);
}

void sync_case_blocking_semaphore_acquire(void)
{
    run_blocking(&blocking_ops[2]);
}

void sync_case_blocking_lock_acquire(void)
{
    run_blocking(&blocking_ops[3]);
}

void sync_case_blocking_queue_get(void)
{
    run_blocking(&blocking_ops[4]);
}

void sync_case_blocking_queue_put(void)
{
    run_blocking(&blocking_ops[5]);
}

void sync_case_blocking_pool_spawn(void)
{
    run_blocking(&blocking_ops[6]);
}

void sync_case_blocking_pool_join(void)
{
    run_blocking(&blocking_ops[7]);
}
