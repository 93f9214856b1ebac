/* Synchronisation: Event, AsyncResult, Semaphore, Lock, Queue and Pool.
 * Beyond each primitive's semantics and errors, the cases check the
 * handoff guarantees: a unit, lock, item or slot released to a waiter
 * belongs to it at once (a greenlet that runs between the wake and the
 * waiter cannot take it), and a waiter that times out or is killed before
 * it is chosen takes nothing. Each case runs in a process of its own, so
 * the statics start at zero. */
#include "harness.h"
#include "sync_cases.h"

/* The cases live in sync_*_cases.c (one file a primitive, and
 * sync_deadline_cases.c for every blocking call) and share sync_fixture.c;
 * this file keeps their table, in the order they run. */
const struct moss_test_case moss_test_sync_cases[] = {
    {"event_wakes_all_waiters", sync_case_event_wakes_all_waiters},
    {"event_clear_after_set_still_wakes", sync_case_event_clear_after_set_still_wakes},
    {"event_kill_and_free_busy", sync_case_event_kill_and_free_busy},
    {"event_deadlock_detected", sync_case_event_deadlock_detected},
    {"event_set_from_hub_wakes_once", sync_case_event_set_from_hub_wakes_once},
    {"async_result_value_to_many", sync_case_async_result_value_to_many},
    {"async_result_error", sync_case_async_result_error},
    {"async_result_get_deadline", sync_case_async_result_get_deadline},
    {"semaphore_count_and_fifo", sync_case_semaphore_count_and_fifo},
    {"semaphore_bounded_overflow", sync_case_semaphore_bounded_overflow},
    {"semaphore_unit_not_stolen", sync_case_semaphore_unit_not_stolen},
    {"semaphore_timeout_does_not_consume", sync_case_semaphore_timeout_does_not_consume},
    {"semaphore_chosen_waiter_keeps_unit", sync_case_semaphore_chosen_waiter_keeps_unit},
    {"lock_mutual_exclusion_fifo", sync_case_lock_mutual_exclusion_fifo},
    {"lock_errors", sync_case_lock_errors},
    {"lock_handoff", sync_case_lock_handoff},
    {"queue_fifo_ignores_priority", sync_case_queue_fifo_ignores_priority},
    {"queue_bounded_put_blocks", sync_case_queue_bounded_put_blocks},
    {"queue_priority_order", sync_case_queue_priority_order},
    {"queue_priority_stable_under_load", sync_case_queue_priority_stable_under_load},
    {"queue_get_handoff_fifo", sync_case_queue_get_handoff_fifo},
    {"queue_kill_waiters", sync_case_queue_kill_waiters},
    {"queue_chosen_waiters_keep_items", sync_case_queue_chosen_waiters_keep_items},
    {"queue_bounded_priority_putter", sync_case_queue_bounded_priority_putter},
    {"queue_unbounded_many_items", sync_case_queue_unbounded_many_items},
    {"pool_limit_respected", sync_case_pool_limit_respected},
    {"pool_group_join_size_free", sync_case_pool_group_join_size_free},
    {"pool_kill_all", sync_case_pool_kill_all},
    {"pool_slot_handoff", sync_case_pool_slot_handoff},
    {"pool_member_killed_before_start", sync_case_pool_member_killed_before_start},
    {"blocking_event_wait", sync_case_blocking_event_wait},
    {"blocking_async_result_get", sync_case_blocking_async_result_get},
    {"blocking_semaphore_acquire", sync_case_blocking_semaphore_acquire},
    {"blocking_lock_acquire", sync_case_blocking_lock_acquire},
    {"blocking_queue_get", sync_case_blocking_queue_get},
    {"blocking_queue_put", sync_case_blocking_queue_put},
    {"blocking_pool_spawn", sync_case_blocking_pool_spawn},
    {"blocking_pool_join", sync_case_blocking_pool_join},
    {NULL, NULL},
};
