/* Lock: mutual exclusion in FIFO order, ownership errors, and handoff. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* ---- Lock ------------------------------------------------------------------- */

static int inside, max_inside;

static void *lock_worker(void *arg)
{
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_lock_acquire(sync_lock, MOSS_FOREVER) == 0);
        step((char)(uintptr_t)arg);
        inside++;
        max_inside = inside > max_inside ? inside : max_inside;
        TEST_ASSERT(moss_sleep(i) == 0); /* yields while holding it */
        inside--;
        TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    }
    return NULL;
}

/* Workers hand the lock round in FIFO order: each release gives it to the
 * longest waiter, and the releaser queues behind the others. */
void sync_case_lock_mutual_exclusion_fifo(void)
{
    moss_greenlet_t *g[4];

    TEST_ASSERT((sync_lock = moss_lock_new()) != NULL);
    for (int i = 0; i < 4; i++)
        g[i] = moss_spawn(lock_worker, (void *)(uintptr_t)('a' + i));
    for (int i = 0; i < 4; i++)
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(max_inside == 1 && inside == 0);
    TEST_ASSERT(strcmp(trail.steps, "abcdabcdabcd") == 0);
    TEST_ASSERT(moss_lock_free(sync_lock) == 0);
}

static void *lock_release_foreign(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_lock_release(sync_lock) == -1 && errno == EPERM);
    return NULL;
}

void sync_case_lock_errors(void)
{
    moss_greenlet_t *g;

    TEST_ASSERT((sync_lock = moss_lock_new()) != NULL);
    TEST_ASSERT(moss_lock_release(sync_lock) == -1 && errno == EPERM); /* not held */
    TEST_ASSERT(moss_lock_acquire(sync_lock, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_lock_acquire(sync_lock, MOSS_FOREVER) == -1 && errno == EDEADLK);
    g = moss_spawn(lock_release_foreign, NULL);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_lock_release(sync_lock) == 0); /* still ours after all that */
    TEST_ASSERT(moss_lock_release(sync_lock) == -1 && errno == EPERM);
    TEST_ASSERT(moss_lock_free(sync_lock) == 0);
    TEST_ASSERT(moss_lock_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_lock_acquire(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_lock_release(NULL) == -1 && errno == EINVAL);
}

static void *lock_take_and_give(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_lock_acquire(sync_lock, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    return NULL;
}

/* The release makes A the owner before A runs: the releaser can neither
 * take it back nor release it again, and a killed A still gets (and
 * passes on) the lock. */
void sync_case_lock_handoff(void)
{
    struct outcome a = {.name = 'A'}, b = {.name = 'B'};
    moss_greenlet_t *ga, *gb;

    TEST_ASSERT((sync_lock = moss_lock_new()) != NULL);
    TEST_ASSERT(moss_lock_acquire(sync_lock, MOSS_FOREVER) == 0);
    ga = moss_spawn(lock_take_and_give, &a);
    gb = moss_spawn(lock_take_and_give, &b);
    sync_settle();
    TEST_ASSERT(moss_lock_free(sync_lock) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    TEST_ASSERT(moss_lock_acquire(sync_lock, moss_now()) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_lock_release(sync_lock) == -1 && errno == EPERM);
    TEST_ASSERT(moss_kill(ga) == 0);
    TEST_ASSERT(moss_join(ga, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gb, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(a.rc == 0 && b.rc == 0 && strcmp(trail.steps, "AB") == 0);
    TEST_ASSERT(moss_lock_acquire(sync_lock, moss_now()) == 0); /* free again */
    TEST_ASSERT(moss_lock_release(sync_lock) == 0);
    TEST_ASSERT(moss_lock_free(sync_lock) == 0);
}
