/* Semaphore and bounded semaphore: counting, FIFO handoff, overflow, and
 * that a released unit belongs to the waiter it was given to. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Spins on the real clock without yielding, so deadlines pass unseen. */
static void spin_ms(int64_t ms)
{
    struct timespec start, now;
    int64_t elapsed = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < 1000000000L && elapsed < ms; i++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    }
}

/* ---- Semaphore --------------------------------------------------------------- */

/* Acquires, records, releases: each holder passes the unit on. */
static void *sem_pass_on(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sync_sem, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    return NULL;
}

void sync_case_semaphore_count_and_fifo(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];

    TEST_ASSERT((sync_sem = moss_semaphore_new(2)) != NULL);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 2);
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, moss_now() - 1) == 0); /* free unit: no wait */
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 0);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(sem_pass_on, &o[i]);
    sync_settle();
    TEST_ASSERT(trail.len == 0);
    TEST_ASSERT(moss_semaphore_free(sync_sem) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 0); /* handed over, not counted */
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 1);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0); /* unbounded: beyond 2 is fine */
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 3);
    TEST_ASSERT(moss_semaphore_free(sync_sem) == 0);
}

void sync_case_semaphore_bounded_overflow(void)
{
    moss_semaphore_t *zero = moss_bounded_semaphore_new(0);

    TEST_ASSERT((sync_sem = moss_bounded_semaphore_new(2)) != NULL && zero != NULL);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 2);
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 2);
    TEST_ASSERT(moss_semaphore_release(zero) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_free(zero) == 0 && moss_semaphore_free(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_semaphore_release(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_semaphore_acquire(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
}

/* Tries to take a unit without waiting: the deadline is now. */
static void *sem_thief(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sync_sem, moss_now());
    o->err = errno;
    step(o->name);
    return NULL;
}

/* W waits; T is queued to run before W resumes; the release wakes W. Both
 * T and the releaser itself then find no unit: it is W's. */
void sync_case_semaphore_unit_not_stolen(void)
{
    struct outcome w = {.name = 'W'}, t = {.name = 'T'};
    moss_greenlet_t *gw, *gt;

    TEST_ASSERT((sync_sem = moss_semaphore_new(0)) != NULL);
    gw = moss_spawn(sem_pass_on, &w);
    sync_settle();
    gt = moss_spawn(sem_thief, &t); /* ready before W is */
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, moss_now()) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_join(gt, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "TW") == 0);
    TEST_ASSERT(t.rc == -1 && t.err == ETIMEDOUT);
    TEST_ASSERT(w.rc == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 1); /* W gave it back */
    TEST_ASSERT(moss_semaphore_free(sync_sem) == 0);
}

static void *sem_acquire_by(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sync_sem, (int64_t)(intptr_t)o->value);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    return NULL;
}

/* Waiters that time out or are killed while queued take no unit: a later
 * release is counted. */
void sync_case_semaphore_timeout_does_not_consume(void)
{
    struct outcome w = {.name = 'w'}, k = {.name = 'k'};
    moss_greenlet_t *gw, *gk;
    int64_t start = moss_now();

    TEST_ASSERT((sync_sem = moss_semaphore_new(0)) != NULL);
    sync_assert_timed_out(moss_semaphore_acquire(sync_sem, start + 30), start, 30);
    w.value = (void *)(intptr_t)(moss_now() + 10);
    k.value = (void *)(intptr_t)MOSS_FOREVER;
    gw = moss_spawn(sem_acquire_by, &w);
    gk = moss_spawn(sem_acquire_by, &k);
    sync_settle();
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == -1 && w.err == ETIMEDOUT);
    TEST_ASSERT(k.rc == -1 && k.err == ECANCELED);
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 1);
    TEST_ASSERT(moss_semaphore_free(sync_sem) == 0);
}

/* Once chosen, a waiter keeps its unit: a kill, or its deadline passing,
 * between the release and its resumption changes nothing. */
void sync_case_semaphore_chosen_waiter_keeps_unit(void)
{
    struct outcome k = {.name = 'k'}, d = {.name = 'd'};
    moss_greenlet_t *gk, *gd;

    TEST_ASSERT((sync_sem = moss_semaphore_new(0)) != NULL);
    k.value = (void *)(intptr_t)MOSS_FOREVER;
    gk = moss_spawn(sem_acquire_by, &k);
    sync_settle();
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0); /* to k */
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(k.rc == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 1); /* k gave it back */
    TEST_ASSERT(moss_semaphore_acquire(sync_sem, MOSS_FOREVER) == 0);
    d.rc = 1;
    d.value = (void *)(intptr_t)(moss_now() + 200);
    gd = moss_spawn(sem_acquire_by, &d);
    sync_settle();
    TEST_ASSERT(d.rc == 1); /* parked, deadline not reached */
    TEST_ASSERT(moss_semaphore_release(sync_sem) == 0); /* to d */
    spin_ms(250); /* d's deadline passes before d runs */
    TEST_ASSERT(moss_join(gd, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(d.rc == 0);
    TEST_ASSERT(strcmp(trail.steps, "kd") == 0);
    TEST_ASSERT(moss_semaphore_count(sync_sem) == 1); /* none lost */
    TEST_ASSERT(moss_semaphore_free(sync_sem) == 0);
}
