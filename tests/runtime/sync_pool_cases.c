/* Pool: the size limit, join, kill, and the handoff of a freed slot. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <string.h>

/* ---- Pool ------------------------------------------------------------------- */

/* N = 20 with 100 members of 10 ms each: five waves, about 50 ms. */
void sync_case_pool_limit_respected(void)
{
    int64_t start = moss_now(), elapsed;

    TEST_ASSERT((sync_pool = moss_pool_new(20)) != NULL);
    for (int i = 0; i < 100; i++) {
        TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)10, MOSS_FOREVER) == 0);
        TEST_ASSERT(moss_pool_size(sync_pool) <= 20);
    }
    TEST_ASSERT(moss_pool_join(sync_pool, MOSS_FOREVER) == 0);
    elapsed = moss_now() - start;
    TEST_ASSERT(sync_finished == 100 && sync_running == 0);
    TEST_ASSERT(sync_max_running == 20);
    TEST_ASSERT(elapsed >= 40 && elapsed < 1000);
    TEST_ASSERT(moss_pool_size(sync_pool) == 0);
    TEST_ASSERT(moss_pool_free(sync_pool) == 0);
}

void sync_case_pool_group_join_size_free(void)
{
    moss_hub_stats_t stats;
    int64_t start;

    TEST_ASSERT((sync_pool = moss_pool_new(0)) != NULL);
    TEST_ASSERT(moss_pool_join(sync_pool, moss_now()) == 0); /* empty: at once */
    for (int i = 0; i < 50; i++)
        TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)200, moss_now()) == 0);
    TEST_ASSERT(moss_pool_size(sync_pool) == 50);
    TEST_ASSERT(moss_pool_free(sync_pool) == -1 && errno == EBUSY);
    start = moss_now();
    sync_assert_timed_out(moss_pool_join(sync_pool, start + 30), start, 30);
    TEST_ASSERT(sync_max_running == 50 && sync_finished == 0);
    TEST_ASSERT(moss_pool_join(sync_pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(sync_finished == 50 && moss_pool_size(sync_pool) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0); /* the pool freed them all */
    TEST_ASSERT(moss_pool_free(sync_pool) == 0);
    TEST_ASSERT(moss_pool_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_pool_spawn(NULL, sync_member_sleep, NULL, MOSS_FOREVER) == -1 &&
                errno == EINVAL);
    TEST_ASSERT((sync_pool = moss_pool_new(1)) != NULL);
    TEST_ASSERT(moss_pool_spawn(sync_pool, NULL, NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_pool_size(sync_pool) == 0 && moss_pool_free(sync_pool) == 0);
}

/* Kill reaches started members (their sleeps fail) and unstarted ones
 * (which never run and leave the pool at once). */
void sync_case_pool_kill_all(void)
{
    moss_hub_stats_t stats;

    TEST_ASSERT((sync_pool = moss_pool_new(0)) != NULL);
    for (int i = 0; i < 3; i++)
        TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)100000,
                                    MOSS_FOREVER) == 0);
    sync_settle();
    TEST_ASSERT(sync_running == 3);
    for (int i = 0; i < 2; i++)
        TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)100000,
                                    MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_pool_size(sync_pool) == 5);
    moss_pool_kill(sync_pool);
    TEST_ASSERT(moss_pool_size(sync_pool) == 3); /* the unstarted two are gone */
    TEST_ASSERT(moss_pool_join(sync_pool, moss_now() + 5000) == 0);
    TEST_ASSERT(sync_cancelled == 3 && sync_finished == 3 && sync_max_running == 3);
    TEST_ASSERT(moss_sleep(1) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0);
    TEST_ASSERT(moss_pool_free(sync_pool) == 0);
    moss_pool_kill(NULL);
}

static void *pool_spawner(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_pool_spawn(sync_pool, sync_member_sleep, (void *)1, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* A slot freed by a member goes to the first waiting spawner: nobody else
 * can take it first. A killed spawner takes none. */
void sync_case_pool_slot_handoff(void)
{
    struct outcome w = {.name = 'w'}, k = {.name = 'k'};
    moss_greenlet_t *gw, *gk;

    TEST_ASSERT((sync_pool = moss_pool_new(1)) != NULL && (sync_event = moss_event_new()) != NULL);
    TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_wait_event, NULL, MOSS_FOREVER) == 0);
    gk = moss_spawn(pool_spawner, &k);
    gw = moss_spawn(pool_spawner, &w);
    sync_settle();
    TEST_ASSERT(moss_pool_free(sync_pool) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(k.rc == -1 && k.err == ECANCELED);
    moss_event_set(sync_event);
    sync_settle(); /* the member finishes and wakes w, which runs after us */
    TEST_ASSERT(sync_finished == 1 && moss_pool_size(sync_pool) == 0 && trail.len == 1);
    /* the slot is w's, though w has not run yet */
    TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)1, moss_now()) == -1 &&
                errno == ETIMEDOUT);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == 0 && strcmp(trail.steps, "kw") == 0);
    TEST_ASSERT(moss_pool_join(sync_pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(sync_finished == 2 && sync_max_running == 1);
    TEST_ASSERT(moss_pool_free(sync_pool) == 0 && moss_event_free(sync_event) == 0);
}

/* A member killed before it starts frees its slot for a waiting spawner. */
void sync_case_pool_member_killed_before_start(void)
{
    struct outcome w = {.name = 'w'};
    moss_greenlet_t *gw;

    TEST_ASSERT((sync_pool = moss_pool_new(1)) != NULL);
    TEST_ASSERT(moss_pool_spawn(sync_pool, sync_member_sleep, (void *)100000, MOSS_FOREVER) == 0);
    gw = moss_spawn(pool_spawner, &w); /* queued behind the member */
    moss_pool_kill(sync_pool);              /* before either runs */
    TEST_ASSERT(moss_pool_size(sync_pool) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == 0); /* got the slot at once */
    TEST_ASSERT(moss_pool_join(sync_pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(sync_finished == 1 && sync_cancelled == 0); /* only w's member ran */
    TEST_ASSERT(moss_pool_free(sync_pool) == 0);
}
