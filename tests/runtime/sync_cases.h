/* The synchronisation cases: their table (sync_cases.c), the cases
 * (sync_*_cases.c) and what they share (sync_fixture.c). */
#ifndef MOSS_TESTS_RUNTIME_SYNC_CASES_H
#define MOSS_TESTS_RUNTIME_SYNC_CASES_H

#include "moss.h"

#include <stdint.h>

/* What a spawned greenlet's blocking call did. */
struct outcome {
    char name;
    int rc;
    int err;
    void *value;
};

/* sync_fixture.c */
void sync_settle(void);
void sync_assert_timed_out(int rc, int64_t start, int64_t ms);
extern moss_event_t *sync_event;
extern moss_async_result_t *sync_result;
extern moss_semaphore_t *sync_sem;
extern moss_lock_t *sync_lock;
extern moss_queue_t *sync_queue;
extern moss_pool_t *sync_pool;
extern int sync_running, sync_max_running, sync_finished, sync_cancelled;
void *sync_item_of(uintptr_t n);
void sync_expect_get(uintptr_t want);
void *sync_member_sleep(void *arg);
void *sync_member_wait_event(void *arg);

/* sync_event_cases.c */
void sync_case_event_wakes_all_waiters(void);
void sync_case_event_clear_after_set_still_wakes(void);
void sync_case_event_set_from_hub_wakes_once(void);
void sync_case_event_kill_and_free_busy(void);
void sync_case_event_deadlock_detected(void);

/* sync_async_result_cases.c */
void sync_case_async_result_value_to_many(void);
void sync_case_async_result_error(void);
void sync_case_async_result_get_deadline(void);

/* sync_semaphore_cases.c */
void sync_case_semaphore_count_and_fifo(void);
void sync_case_semaphore_bounded_overflow(void);
void sync_case_semaphore_unit_not_stolen(void);
void sync_case_semaphore_timeout_does_not_consume(void);
void sync_case_semaphore_chosen_waiter_keeps_unit(void);

/* sync_lock_cases.c */
void sync_case_lock_mutual_exclusion_fifo(void);
void sync_case_lock_errors(void);
void sync_case_lock_handoff(void);

/* sync_queue_cases.c */
void sync_case_queue_fifo_ignores_priority(void);
void sync_case_queue_bounded_put_blocks(void);
void sync_case_queue_priority_order(void);
void sync_case_queue_priority_stable_under_load(void);
void sync_case_queue_get_handoff_fifo(void);
void sync_case_queue_kill_waiters(void);
void sync_case_queue_chosen_waiters_keep_items(void);
void sync_case_queue_bounded_priority_putter(void);
void sync_case_queue_unbounded_many_items(void);

/* sync_pool_cases.c */
void sync_case_pool_limit_respected(void);
void sync_case_pool_group_join_size_free(void);
void sync_case_pool_kill_all(void);
void sync_case_pool_slot_handoff(void);
void sync_case_pool_member_killed_before_start(void);

/* sync_deadline_cases.c */
void sync_case_blocking_event_wait(void);
void sync_case_blocking_async_result_get(void);
void sync_case_blocking_semaphore_acquire(void);
void sync_case_blocking_lock_acquire(void);
void sync_case_blocking_queue_get(void);
void sync_case_blocking_queue_put(void);
void sync_case_blocking_pool_spawn(void);
void sync_case_blocking_pool_join(void);

#endif
