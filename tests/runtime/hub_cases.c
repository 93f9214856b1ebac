/* The hub: spawn order, join, detach, kill, defer, sleep, deadline scopes,
 * deadlock detection, and fairness between ready greenlets and the loop. */
#include "harness.h"
#include "moss.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <valgrind/valgrind.h>

static void *record_run(void *arg)
{
    step((char)(uintptr_t)arg);
    return arg;
}

static void case_spawn_fifo_and_join(void)
{
    moss_greenlet_t *g[5];
    moss_hub_stats_t stats;
    void *out = NULL;

    for (int i = 0; i < 5; i++)
        g[i] = moss_spawn(record_run, (void *)(uintptr_t)('0' + i));
    TEST_ASSERT(trail.len == 0); /* queued, not started */
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 5 && stats.run_queue_length == 5);
    for (int i = 0; i < 5; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, &out) == 0);
        TEST_ASSERT((uintptr_t)out == (uintptr_t)('0' + i));
    }
    TEST_ASSERT(strcmp(trail.steps, "01234") == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0 && stats.greenlets_spawned == 5);
    TEST_ASSERT(moss_greenlet_free(moss_greenlet_main()) == -1); /* still refused */
}

static void *sleep_arg_ms(void *arg)
{
    return moss_sleep((int64_t)(intptr_t)arg) == 0 ? arg : NULL;
}

static void case_join_deadline(void)
{
    moss_greenlet_t *g = moss_spawn(sleep_arg_ms, (void *)200);
    int64_t start = moss_now();
    void *out = NULL;

    errno = 0;
    TEST_ASSERT(moss_join(g, moss_now() + 20, &out) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 20 && moss_now() - start < 200);
    TEST_ASSERT(moss_greenlet_free(g) == -1 && errno == EINVAL); /* spawned: join it */
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, &out) == 0 && (intptr_t)out == 200);
    TEST_ASSERT(moss_now() - start >= 200);
    TEST_ASSERT(moss_join(moss_greenlet_main(), MOSS_FOREVER, NULL) == -1 && errno == EINVAL);
}

/* ---- kill and defer ------------------------------------------------------------- */

static int sleep_errno, second_errno;

static void defer_step(void *arg)
{
    step((char)(uintptr_t)arg);
}

static void *sleeper_with_defers(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_defer(defer_step, (void *)'a') == 0);
    TEST_ASSERT(moss_defer(defer_step, (void *)'b') == 0);
    TEST_ASSERT(moss_defer(defer_step, (void *)'c') == 0);
    TEST_ASSERT(moss_sleep(100000) == -1);
    sleep_errno = errno;
    TEST_ASSERT(moss_sleep(0) == -1); /* cancellation is sticky */
    second_errno = errno;
    step('k');
    return NULL;
}

static void case_kill_parked_then_defers_lifo(void)
{
    moss_greenlet_t *g = moss_spawn(sleeper_with_defers, NULL);

    TEST_ASSERT(moss_sleep(10) == 0); /* g starts and parks */
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, NULL) == 0);
    TEST_ASSERT(sleep_errno == ECANCELED && second_errno == ECANCELED);
    TEST_ASSERT(strcmp(trail.steps, "kcba") == 0);
}

static int join_errno;

static void *join_arg(void *arg)
{
    TEST_ASSERT(moss_join(arg, MOSS_FOREVER, NULL) == -1);
    join_errno = errno;
    return NULL;
}

/* A kill ends a join; the joined greenlet is untouched and joinable again. */
static void case_kill_blocked_in_join(void)
{
    moss_greenlet_t *sleeper = moss_spawn(sleep_arg_ms, (void *)50);
    moss_greenlet_t *joiner = moss_spawn(join_arg, sleeper);
    void *out = NULL;

    TEST_ASSERT(moss_sleep(5) == 0);
    TEST_ASSERT(moss_kill(joiner) == 0);
    TEST_ASSERT(moss_join(joiner, moss_now() + 1000, NULL) == 0);
    TEST_ASSERT(join_errno == ECANCELED);
    TEST_ASSERT(moss_join(sleeper, moss_now() + 1000, &out) == 0 && (intptr_t)out == 50);
}

static void case_kill_before_start(void)
{
    moss_greenlet_t *g = moss_spawn(record_run, (void *)'X');
    void *out = (void *)1;

    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, &out) == 0);
    TEST_ASSERT(out == NULL);
    TEST_ASSERT(trail.len == 0);
    TEST_ASSERT(moss_kill(NULL) == -1 && errno == EINVAL);
}

static void *defer_bound_run(void *arg)
{
    (void)arg;
    for (int i = 0; i < MOSS_DEFER_MAX; i++)
        TEST_ASSERT(moss_defer(defer_step, (void *)'d') == 0);
    TEST_ASSERT(moss_defer(defer_step, (void *)'d') == -1 && errno == ENOBUFS);
    return NULL;
}

static void case_defer_bound_and_owner(void)
{
    moss_greenlet_t *g = moss_spawn(defer_bound_run, NULL);

    TEST_ASSERT(moss_defer(defer_step, NULL) == -1 && errno == EINVAL); /* main is not spawned */
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(trail.len == MOSS_DEFER_MAX);
}

static void case_detach(void)
{
    moss_greenlet_t *running = moss_spawn(sleep_arg_ms, (void *)30);
    moss_greenlet_t *done = moss_spawn(record_run, (void *)'d');
    moss_hub_stats_t stats;

    TEST_ASSERT(moss_sleep(5) == 0);
    TEST_ASSERT(moss_detach(done) == 0);     /* finished: freed now */
    TEST_ASSERT(moss_detach(running) == 0);  /* freed when it finishes */
    TEST_ASSERT(moss_detach(running) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_join(running, MOSS_FOREVER, NULL) == -1 && errno == EINVAL);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 1);
    TEST_ASSERT(moss_sleep(60) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0);
}

/* ---- sleep, yield, deadlines ------------------------------------------------------ */

static void *yield_loop(void *arg)
{
    for (int i = 0; i < 3; i++) {
        step((char)(uintptr_t)arg);
        TEST_ASSERT(moss_sleep(0) == 0);
    }
    return NULL;
}

static void case_sleep_zero_yields_fifo(void)
{
    moss_greenlet_t *a = moss_spawn(yield_loop, (void *)'A');
    moss_greenlet_t *b = moss_spawn(yield_loop, (void *)'B');

    TEST_ASSERT(moss_join(a, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(b, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "ABABAB") == 0);
}

static void case_deadline_scopes_nest(void)
{
    moss_deadline_scope_t outer, inner;
    int64_t start = moss_now();

    moss_deadline_push(&outer, start + 40);
    moss_deadline_push(&inner, start + 5000); /* farther: the outer one still wins */
    errno = 0;
    TEST_ASSERT(moss_sleep(10000) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 40 && moss_now() - start < 5000);
    moss_deadline_pop(&inner);
    TEST_ASSERT(moss_sleep(0) == -1 && errno == ETIMEDOUT); /* outer has passed */
    moss_deadline_pop(&outer);
    start = moss_now();
    moss_deadline_push(&outer, start + 5000);
    moss_deadline_push(&inner, start + 20); /* nearer: it wins */
    TEST_ASSERT(moss_sleep(10000) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 20 && moss_now() - start < 5000);
    moss_deadline_pop(&inner);
    moss_deadline_pop(&outer);
    TEST_ASSERT(moss_sleep(30) == 0); /* no scope left */
    moss_deadline_push(&outer, moss_now() + 1000);
    TEST_ASSERT(moss_sleep(10) == 0); /* a sleep that ends first is not a timeout */
    moss_deadline_pop(&outer);
}

static void case_deadline_in_the_past(void)
{
    moss_deadline_scope_t scope;

    moss_deadline_push(&scope, moss_now() - 1);
    TEST_ASSERT(moss_sleep(0) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_sleep(5) == -1 && errno == ETIMEDOUT);
    moss_deadline_pop(&scope);
    TEST_ASSERT(moss_sleep(0) == 0); /* the refused yield left nothing behind */
    TEST_ASSERT(moss_sleep(1) == 0);
}

/* ---- scale and fairness ----------------------------------------------------------- */

#define SLEEPERS 10000
#define SLEEP_MS 200

static void case_ten_thousand_sleepers(void)
{
    static moss_greenlet_t *g[SLEEPERS];
    int64_t start = moss_now(), elapsed;

    for (int i = 0; i < SLEEPERS; i++)
        TEST_ASSERT((g[i] = moss_spawn(sleep_arg_ms, (void *)SLEEP_MS)) != NULL);
    for (int i = 0; i < SLEEPERS; i++) {
        void *out = NULL;

        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, &out) == 0 && (intptr_t)out == SLEEP_MS);
    }
    elapsed = moss_now() - start;
    /* concurrent: about one sleep in all, nowhere near 10,000 of them (2,000
     * s). Under valgrind, creating 10,000 greenlets alone takes seconds. */
    TEST_ASSERT(elapsed >= SLEEP_MS);
    TEST_ASSERT(elapsed < (RUNNING_ON_VALGRIND ? 100 : 10) * SLEEP_MS);
}

/* A flood of FLOOD greenlets keeps the run queue growing; a timer due
 * meanwhile must still fire long before the flood ends. */
#define FLOOD 20000

static unsigned flood_seen_by_timer;

static void *timer_watch(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_sleep(1) == 0);
    flood_seen_by_timer = flood_count();
    return NULL;
}

static void case_spawn_flood_does_not_starve_the_loop(void)
{
    moss_greenlet_t *watch = moss_spawn(timer_watch, NULL);
    moss_hub_stats_t stats;

    flood_start(FLOOD);
    TEST_ASSERT(moss_join(watch, MOSS_FOREVER, NULL) == 0);
    wait_all_finished();
    moss_hub_stats(&stats);
    TEST_ASSERT(flood_count() == FLOOD);
    TEST_ASSERT(stats.run_queue_batches > 0); /* the bound did cut drains */
    TEST_ASSERT(flood_seen_by_timer < FLOOD); /* the timer fired mid-flood */
}

const struct moss_test_case moss_test_hub_cases[] = {
    {"spawn_fifo_and_join", case_spawn_fifo_and_join},
    {"join_deadline", case_join_deadline},
    {"kill_parked_then_defers_lifo", case_kill_parked_then_defers_lifo},
    {"kill_blocked_in_join", case_kill_blocked_in_join},
    {"kill_before_start", case_kill_before_start},
    {"defer_bound_and_owner", case_defer_bound_and_owner},
    {"detach", case_detach},
    {"sleep_zero_yields_fifo", case_sleep_zero_yields_fifo},
    {"deadline_scopes_nest", case_deadline_scopes_nest},
    {"deadline_in_the_past", case_deadline_in_the_past},
    {"ten_thousand_sleepers", case_ten_thousand_sleepers},
    {"spawn_flood_does_not_starve_the_loop", case_spawn_flood_does_not_starve_the_loop},
    {NULL, NULL},
};
