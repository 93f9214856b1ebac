/* What the synchronisation cases (tests/runtime/sync_*_cases.c) share: the
 * helpers, the objects under test and the pool's counters. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <stdint.h>

/* Lets every greenlet that is ready run (and park) before the caller goes
 * on: the caller queues behind them. */
void sync_settle(void)
{
    TEST_ASSERT(moss_sleep(0) == 0);
}

/* Asserts that a call just failed with ETIMEDOUT no earlier than `ms`
 * after start, and within an order of magnitude of it. */
void sync_assert_timed_out(int rc, int64_t start, int64_t ms)
{
    int64_t elapsed = moss_now() - start;

    TEST_ASSERT(rc == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(elapsed >= ms && elapsed < 100 * ms + 2000);
}

/* The objects under test: each primitive's cases and the blocking cases
 * (sync_deadline_cases.c) use them. */
moss_event_t *sync_event;
moss_async_result_t *sync_result;
moss_semaphore_t *sync_sem;
moss_lock_t *sync_lock;
moss_queue_t *sync_queue;
moss_pool_t *sync_pool;
int sync_running, sync_max_running, sync_finished, sync_cancelled;

void *sync_item_of(uintptr_t n)
{
    return (void *)n;
}

/* Gets one item and checks it. */
void sync_expect_get(uintptr_t want)
{
    void *got = NULL;

    TEST_ASSERT(moss_queue_get(sync_queue, &got, MOSS_FOREVER) == 0);
    TEST_ASSERT(got == sync_item_of(want));
}

/* A member: sleeps arg ms, counting how many members run at once. */
void *sync_member_sleep(void *arg)
{
    sync_running++;
    sync_max_running = sync_running > sync_max_running ? sync_running : sync_max_running;
    if (moss_sleep((int64_t)(intptr_t)arg) == -1) {
        TEST_ASSERT(errno == ECANCELED);
        sync_cancelled++;
    }
    sync_running--;
    sync_finished++;
    return NULL;
}

/* A member that runs until the event is set. */
void *sync_member_wait_event(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_event_wait(sync_event, MOSS_FOREVER) == 0);
    sync_finished++;
    return NULL;
}
