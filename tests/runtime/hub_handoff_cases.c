/* Handoffs that skip the hub: a join switches straight into a child that
 * would have been the hub's next resume, a child finishes straight into its
 * joiner, and a hub callback starts a greenlet at once
 * (moss__spawn_detached_now). Each must keep what a trip through the hub
 * guarantees: run-queue order, deadlines, kills, and the results. */
#include "harness.h"
#include "moss.h"

#include "../../runtime/hub.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- the switches a join makes ---------------------------------------------- */

#define SWITCHES_MAX 16

struct switch_record {
    moss_greenlet_t *origin, *target;
};

static struct switch_record switches[SWITCHES_MAX];
static size_t switch_count;

static void switch_hook(moss_trace_event_t event, moss_greenlet_t *origin,
                        moss_greenlet_t *target, void *arg)
{
    (void)event, (void)arg;
    TEST_ASSERT(switch_count < SWITCHES_MAX);
    switches[switch_count++] = (struct switch_record){origin, target};
}

static void expect_switch(size_t i, moss_greenlet_t *origin, moss_greenlet_t *target)
{
    TEST_ASSERT(i < switch_count);
    TEST_ASSERT(switches[i].origin == origin && switches[i].target == target);
}

static void *record_run(void *arg)
{
    step((char)(uintptr_t)arg);
    return arg;
}

/* A child that does not block costs its joiner two switches, into it and
 * back, and no loop iteration. */
static void case_join_switches_straight_into_a_new_child(void)
{
    moss_greenlet_t *main_g = moss_greenlet_main();
    moss_greenlet_t *child = moss_spawn(record_run, (void *)'c');
    moss_hub_stats_t before, after;
    void *out = NULL;

    moss_hub_stats(&before);
    moss_settrace(switch_hook, NULL);
    TEST_ASSERT(moss_join(child, MOSS_FOREVER, &out) == 0);
    moss_settrace(NULL, NULL);
    moss_hub_stats(&after);
    TEST_ASSERT((uintptr_t)out == 'c' && strcmp(trail.steps, "c") == 0);
    TEST_ASSERT(switch_count == 2);
    expect_switch(0, main_g, child);
    expect_switch(1, child, main_g);
    TEST_ASSERT(after.loop_iterations == before.loop_iterations);
    TEST_ASSERT(after.greenlets_alive == 0 && after.run_queue_length == 0);
}

/* Only the head of the run queue is switched to directly: joining the second
 * of two new greenlets still runs the first one first. */
static void case_join_keeps_spawn_order(void)
{
    moss_greenlet_t *a = moss_spawn(record_run, (void *)'a');
    moss_greenlet_t *b = moss_spawn(record_run, (void *)'b');

    TEST_ASSERT(moss_join(b, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "ab") == 0);
    TEST_ASSERT(moss_join(a, MOSS_FOREVER, NULL) == 0);
}

/* A join refused at once (its deadline already passed) leaves the child
 * where it was: queued, not started. */
static void case_refused_join_leaves_the_child_queued(void)
{
    moss_greenlet_t *child = moss_spawn(record_run, (void *)'c');
    moss_hub_stats_t stats;

    errno = 0;
    TEST_ASSERT(moss_join(child, moss_now() - 1, NULL) == -1 && errno == ETIMEDOUT);
    moss_hub_stats(&stats);
    TEST_ASSERT(trail.len == 0 && stats.run_queue_length == 1);
    TEST_ASSERT(moss_join(child, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "c") == 0);
}

/* ---- children that block, and nested joins ------------------------------------ */

static void *sleep_then_record(void *arg)
{
    step('s');
    if (moss_sleep(5) == -1)
        return NULL;
    step((char)(uintptr_t)arg);
    return arg;
}

/* A child that blocks goes to the hub, and the hub, which resumes it, takes
 * its finish and wakes the joiner: the result still arrives. */
static void case_join_of_a_child_that_blocks(void)
{
    moss_greenlet_t *child = moss_spawn(sleep_then_record, (void *)'d');
    void *out = NULL;

    TEST_ASSERT(moss_join(child, MOSS_FOREVER, &out) == 0);
    TEST_ASSERT((uintptr_t)out == 'd' && strcmp(trail.steps, "sd") == 0);
}

static void *join_two_levels(void *arg)
{
    moss_greenlet_t *inner = moss_spawn(record_run, arg);
    void *out = NULL;

    step('p');
    if (inner == NULL || moss_join(inner, MOSS_FOREVER, &out) == -1)
        return NULL;
    step('q');
    return out;
}

/* A spawned greenlet that joins its own new child hands off both ways
 * without the hub between: hub -> parent -> child -> parent -> hub. */
static void case_spawned_joiner_hands_off(void)
{
    moss_greenlet_t *parent = moss_spawn(join_two_levels, (void *)'i');
    void *out = NULL;
    size_t from_parent = SWITCHES_MAX;

    moss_settrace(switch_hook, NULL);
    TEST_ASSERT(moss_join(parent, MOSS_FOREVER, &out) == 0);
    moss_settrace(NULL, NULL);
    TEST_ASSERT((uintptr_t)out == 'i' && strcmp(trail.steps, "piq") == 0);
    for (size_t i = 0; i < switch_count; i++) {
        if (switches[i].origin == parent && switches[i].target != moss_greenlet_main()) {
            from_parent = i;
            break;
        }
    }
    TEST_ASSERT(from_parent + 1 < switch_count); /* parent -> child, child -> parent */
    TEST_ASSERT(switches[from_parent + 1].origin == switches[from_parent].target);
    TEST_ASSERT(switches[from_parent + 1].target == parent);
}

/* A joiner killed while its directly started child is blocked: the join
 * fails with ECANCELED, and the child still finishes later. */
static moss_event_t *child_gate;

static void *wait_gate_then_record(void *arg)
{
    step('s');
    if (moss_event_wait(child_gate, MOSS_FOREVER) == -1)
        return NULL;
    step((char)(uintptr_t)arg);
    return arg;
}

static void *join_gated_child(void *arg)
{
    moss_greenlet_t *child = moss_spawn(wait_gate_then_record, (void *)'z');

    (void)arg;
    if (child == NULL)
        return NULL;
    if (moss_join(child, MOSS_FOREVER, NULL) == -1 && errno == ECANCELED) {
        step('x');
        moss_detach(child);
    }
    return NULL;
}

static void case_killed_joiner_of_a_blocked_child(void)
{
    moss_greenlet_t *joiner;

    TEST_ASSERT((child_gate = moss_event_new()) != NULL);
    joiner = moss_spawn(join_gated_child, NULL);
    for (int i = 0; i < 10 && trail.len == 0; i++)
        TEST_ASSERT(moss_sleep(0) == 0); /* the joiner starts its child, which waits */
    TEST_ASSERT(strcmp(trail.steps, "s") == 0);
    TEST_ASSERT(moss_kill(joiner) == 0);
    TEST_ASSERT(moss_join(joiner, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "sx") == 0);
    moss_event_set(child_gate);
    wait_all_finished();
    TEST_ASSERT(strcmp(trail.steps, "sxz") == 0);
    TEST_ASSERT(moss_event_free(child_gate) == 0);
}

/* ---- a hub callback starts a greenlet at once ------------------------------------- */

static void *started_now(void *arg)
{
    step('r');
    if (moss_sleep(1) == 0)
        step((char)(uintptr_t)arg);
    return NULL;
}

static int spawn_now_result = -2;

static void spawn_from_callback(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    step('t');
    spawn_now_result = moss__spawn_detached_now(started_now, w->data, NULL);
    step('u'); /* after the greenlet's first park */
}

static void case_spawn_now_from_the_hub(void)
{
    ev_timer *timer = calloc(1, sizeof(*timer)); /* the loop holds it: not on a stack */
    moss_hub_stats_t stats;

    TEST_ASSERT(timer != NULL);
    errno = 0;
    TEST_ASSERT(moss__spawn_detached_now(started_now, NULL, NULL) == -1 && errno == EPERM);
    ev_timer_init(timer, spawn_from_callback, 0.001, 0.0);
    timer->data = (void *)'e';
    ev_timer_start(moss__hub_get()->loop, timer);
    for (int i = 0; i < 5000 && spawn_now_result == -2; i++)
        TEST_ASSERT(moss_sleep(1) == 0); /* until the timer's callback has run */
    wait_all_finished();
    TEST_ASSERT(spawn_now_result == 0);
    TEST_ASSERT(strcmp(trail.steps, "true") == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0); /* detached: freed when it finished */
    free(timer);
}

const struct moss_test_case moss_test_hub_handoff_cases[] = {
    {"join_switches_straight_into_a_new_child", case_join_switches_straight_into_a_new_child},
    {"join_keeps_spawn_order", case_join_keeps_spawn_order},
    {"refused_join_leaves_the_child_queued", case_refused_join_leaves_the_child_queued},
    {"join_of_a_child_that_blocks", case_join_of_a_child_that_blocks},
    {"spawned_joiner_hands_off", case_spawned_joiner_hands_off},
    {"killed_joiner_of_a_blocked_child", case_killed_joiner_of_a_blocked_child},
    {"spawn_now_from_the_hub", case_spawn_now_from_the_hub},
    {NULL, NULL},
};
