/* Synchronisation: Event, AsyncResult, Semaphore, Lock, Queue and Pool.
 * Beyond each primitive's semantics and errors, the cases check the
 * handoff guarantees: a unit, lock, item or slot released to a waiter
 * belongs to it at once (a greenlet that runs between the wake and the
 * waiter cannot take it), and a waiter that times out or is killed before
 * it is chosen takes nothing. Each case runs in a process of its own, so
 * the statics start at zero. */
#include "harness.h"
#include "moss.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* What a spawned greenlet's blocking call did. */
struct outcome {
    char name;
    int rc;
    int err;
    void *value;
};

/* Lets every greenlet that is ready run (and park) before the caller goes
 * on: the caller queues behind them. */
static void settle(void)
{
    TEST_ASSERT(moss_sleep(0) == 0);
}

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

/* Asserts that a call just failed with ETIMEDOUT no earlier than `ms`
 * after start, and within an order of magnitude of it. */
static void assert_timed_out(int rc, int64_t start, int64_t ms)
{
    int64_t elapsed = moss_now() - start;

    TEST_ASSERT(rc == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(elapsed >= ms && elapsed < 100 * ms + 2000);
}

/* ---- Event ------------------------------------------------------------------ */

static moss_event_t *event;

static void *event_waiter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_event_wait(event, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

static void case_event_wakes_all_waiters(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];
    int64_t start;

    TEST_ASSERT((event = moss_event_new()) != NULL);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(event_waiter, &o[i]);
    settle();
    TEST_ASSERT(trail.len == 0 && !moss_event_is_set(event));
    moss_event_set(event);
    TEST_ASSERT(moss_event_is_set(event));
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_event_wait(event, moss_now() - 1) == 0); /* set: at once */
    moss_event_clear(event);
    TEST_ASSERT(!moss_event_is_set(event));
    start = moss_now();
    assert_timed_out(moss_event_wait(event, start + 30), start, 30);
    TEST_ASSERT(moss_event_free(event) == 0);
}

/* A waiter woken by a set returns 0 even if the event is cleared before the
 * waiter runs: the wake is what counts. */
static void case_event_clear_after_set_still_wakes(void)
{
    struct outcome o = {.name = 'w'};
    moss_greenlet_t *g;

    TEST_ASSERT((event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    settle();
    moss_event_set(event);
    moss_event_clear(event);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.rc == 0 && strcmp(trail.steps, "w") == 0);
    TEST_ASSERT(moss_event_free(event) == 0);
}

static void case_event_kill_and_free_busy(void)
{
    struct outcome o = {.name = 'k'};
    moss_greenlet_t *g;

    TEST_ASSERT((event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    settle();
    TEST_ASSERT(moss_event_free(event) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.rc == -1 && o.err == ECANCELED);
    TEST_ASSERT(!moss_event_is_set(event)); /* the kill set nothing */
    TEST_ASSERT(moss_event_free(event) == 0);
    TEST_ASSERT(moss_event_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_event_wait(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_event_is_set(NULL) == 0);
}

/* The main greenlet waits on an event that nothing can set: the loop runs
 * out of watchers and the wait fails with EDEADLK instead of hanging. A
 * spawned greenlet stuck the same way is still there afterwards, and the
 * hub still works. */
static void case_event_deadlock_detected(void)
{
    moss_event_t *never = moss_event_new();
    struct outcome o = {.name = 's'};
    moss_greenlet_t *g;

    TEST_ASSERT(never != NULL && (event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    TEST_ASSERT(moss_event_wait(never, MOSS_FOREVER) == -1 && errno == EDEADLK);
    TEST_ASSERT(trail.len == 0);           /* the other waiter is still parked */
    TEST_ASSERT(moss_event_free(never) == 0); /* our wait left the queue */
    moss_event_set(event);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, NULL) == 0);
    TEST_ASSERT(o.rc == 0 && strcmp(trail.steps, "s") == 0);
    TEST_ASSERT(moss_sleep(1) == 0);
    TEST_ASSERT(moss_event_free(event) == 0);
}

/* ---- AsyncResult -------------------------------------------------------------- */

static moss_async_result_t *result;

static void *result_getter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_async_result_get(result, &o->value, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* Spawns three getters, lets them park, and returns their outcomes. */
static void result_spawn_getters(struct outcome o[3], moss_greenlet_t *g[3])
{
    for (int i = 0; i < 3; i++) {
        o[i] = (struct outcome){.name = (char)('a' + i), .rc = 1};
        g[i] = moss_spawn(result_getter, &o[i]);
    }
    settle();
    TEST_ASSERT(trail.len == 0);
}

static void case_async_result_value_to_many(void)
{
    struct outcome o[3];
    moss_greenlet_t *g[3];
    void *value = NULL;

    TEST_ASSERT((result = moss_async_result_new()) != NULL);
    result_spawn_getters(o, g);
    TEST_ASSERT(moss_async_result_free(result) == -1 && errno == EBUSY);
    TEST_ASSERT(!moss_async_result_ready(result));
    TEST_ASSERT(moss_async_result_set(result, (void *)0x42) == 0);
    TEST_ASSERT(moss_async_result_ready(result));
    TEST_ASSERT(moss_async_result_set(result, (void *)0x43) == -1 && errno == EALREADY);
    TEST_ASSERT(moss_async_result_set_error(result, EIO) == -1 && errno == EALREADY);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0 && o[i].value == (void *)0x42);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_async_result_get(result, &value, moss_now() - 1) == 0); /* at once */
    TEST_ASSERT(value == (void *)0x42);
    TEST_ASSERT(moss_async_result_get(result, NULL, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_async_result_free(result) == 0);
}

static void case_async_result_error(void)
{
    struct outcome o[3];
    moss_greenlet_t *g[3];
    void *value = (void *)1;

    TEST_ASSERT((result = moss_async_result_new()) != NULL);
    result_spawn_getters(o, g);
    TEST_ASSERT(moss_async_result_set_error(result, 0) == -1 && errno == EINVAL);
    TEST_ASSERT(!moss_async_result_ready(result));
    TEST_ASSERT(moss_async_result_set_error(result, ECONNRESET) == 0);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == -1 && o[i].err == ECONNRESET);
    }
    TEST_ASSERT(moss_async_result_get(result, &value, MOSS_FOREVER) == -1 && errno == ECONNRESET);
    TEST_ASSERT(value == (void *)1); /* untouched on failure */
    TEST_ASSERT(moss_async_result_set(result, NULL) == -1 && errno == EALREADY);
    TEST_ASSERT(moss_async_result_free(result) == 0);
    TEST_ASSERT(moss_async_result_set(NULL, NULL) == -1 && errno == EINVAL);
}

static void *result_set_later(void *arg)
{
    TEST_ASSERT(moss_sleep(10) == 0);
    TEST_ASSERT(moss_async_result_set(result, arg) == 0);
    return NULL;
}

static void case_async_result_get_deadline(void)
{
    int64_t start = moss_now();
    moss_greenlet_t *g;
    void *value = NULL;

    TEST_ASSERT((result = moss_async_result_new()) != NULL);
    assert_timed_out(moss_async_result_get(result, &value, start + 30), start, 30);
    TEST_ASSERT(value == NULL && !moss_async_result_ready(result));
    g = moss_spawn(result_set_later, (void *)0x77);
    TEST_ASSERT(moss_async_result_get(result, &value, moss_now() + 5000) == 0);
    TEST_ASSERT(value == (void *)0x77);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_async_result_free(result) == 0);
}

/* ---- Semaphore --------------------------------------------------------------- */

static moss_semaphore_t *sem;

/* Acquires, records, releases: each holder passes the unit on. */
static void *sem_pass_on(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sem, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_semaphore_release(sem) == 0);
    return NULL;
}

static void case_semaphore_count_and_fifo(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];

    TEST_ASSERT((sem = moss_semaphore_new(2)) != NULL);
    TEST_ASSERT(moss_semaphore_count(sem) == 2);
    TEST_ASSERT(moss_semaphore_acquire(sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sem, moss_now() - 1) == 0); /* free unit: no wait */
    TEST_ASSERT(moss_semaphore_count(sem) == 0);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(sem_pass_on, &o[i]);
    settle();
    TEST_ASSERT(trail.len == 0);
    TEST_ASSERT(moss_semaphore_free(sem) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 0); /* handed over, not counted */
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 1);
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sem) == 0); /* unbounded: beyond 2 is fine */
    TEST_ASSERT(moss_semaphore_count(sem) == 3);
    TEST_ASSERT(moss_semaphore_free(sem) == 0);
}

static void case_semaphore_bounded_overflow(void)
{
    moss_semaphore_t *zero = moss_bounded_semaphore_new(0);

    TEST_ASSERT((sem = moss_bounded_semaphore_new(2)) != NULL && zero != NULL);
    TEST_ASSERT(moss_semaphore_release(sem) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_count(sem) == 2);
    TEST_ASSERT(moss_semaphore_acquire(sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sem, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_release(sem) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_count(sem) == 2);
    TEST_ASSERT(moss_semaphore_release(zero) == -1 && errno == EOVERFLOW);
    TEST_ASSERT(moss_semaphore_free(zero) == 0 && moss_semaphore_free(sem) == 0);
    TEST_ASSERT(moss_semaphore_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_semaphore_release(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_semaphore_acquire(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
}

/* Tries to take a unit without waiting: the deadline is now. */
static void *sem_thief(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sem, moss_now());
    o->err = errno;
    step(o->name);
    return NULL;
}

/* W waits; T is queued to run before W resumes; the release wakes W. Both
 * T and the releaser itself then find no unit: it is W's. */
static void case_semaphore_unit_not_stolen(void)
{
    struct outcome w = {.name = 'W'}, t = {.name = 'T'};
    moss_greenlet_t *gw, *gt;

    TEST_ASSERT((sem = moss_semaphore_new(0)) != NULL);
    gw = moss_spawn(sem_pass_on, &w);
    settle();
    gt = moss_spawn(sem_thief, &t); /* ready before W is */
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_acquire(sem, moss_now()) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_join(gt, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "TW") == 0);
    TEST_ASSERT(t.rc == -1 && t.err == ETIMEDOUT);
    TEST_ASSERT(w.rc == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 1); /* W gave it back */
    TEST_ASSERT(moss_semaphore_free(sem) == 0);
}

static void *sem_acquire_by(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_semaphore_acquire(sem, (int64_t)(intptr_t)o->value);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_semaphore_release(sem) == 0);
    return NULL;
}

/* Waiters that time out or are killed while queued take no unit: a later
 * release is counted. */
static void case_semaphore_timeout_does_not_consume(void)
{
    struct outcome w = {.name = 'w'}, k = {.name = 'k'};
    moss_greenlet_t *gw, *gk;
    int64_t start = moss_now();

    TEST_ASSERT((sem = moss_semaphore_new(0)) != NULL);
    assert_timed_out(moss_semaphore_acquire(sem, start + 30), start, 30);
    w.value = (void *)(intptr_t)(moss_now() + 10);
    k.value = (void *)(intptr_t)MOSS_FOREVER;
    gw = moss_spawn(sem_acquire_by, &w);
    gk = moss_spawn(sem_acquire_by, &k);
    settle();
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == -1 && w.err == ETIMEDOUT);
    TEST_ASSERT(k.rc == -1 && k.err == ECANCELED);
    TEST_ASSERT(moss_semaphore_release(sem) == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 1);
    TEST_ASSERT(moss_semaphore_free(sem) == 0);
}

/* Once chosen, a waiter keeps its unit: a kill, or its deadline passing,
 * between the release and its resumption changes nothing. */
static void case_semaphore_chosen_waiter_keeps_unit(void)
{
    struct outcome k = {.name = 'k'}, d = {.name = 'd'};
    moss_greenlet_t *gk, *gd;

    TEST_ASSERT((sem = moss_semaphore_new(0)) != NULL);
    k.value = (void *)(intptr_t)MOSS_FOREVER;
    gk = moss_spawn(sem_acquire_by, &k);
    settle();
    TEST_ASSERT(moss_semaphore_release(sem) == 0); /* to k */
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(k.rc == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 1); /* k gave it back */
    TEST_ASSERT(moss_semaphore_acquire(sem, MOSS_FOREVER) == 0);
    d.rc = 1;
    d.value = (void *)(intptr_t)(moss_now() + 200);
    gd = moss_spawn(sem_acquire_by, &d);
    settle();
    TEST_ASSERT(d.rc == 1); /* parked, deadline not reached */
    TEST_ASSERT(moss_semaphore_release(sem) == 0); /* to d */
    spin_ms(250); /* d's deadline passes before d runs */
    TEST_ASSERT(moss_join(gd, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(d.rc == 0);
    TEST_ASSERT(strcmp(trail.steps, "kd") == 0);
    TEST_ASSERT(moss_semaphore_count(sem) == 1); /* none lost */
    TEST_ASSERT(moss_semaphore_free(sem) == 0);
}

/* ---- Lock ------------------------------------------------------------------- */

static moss_lock_t *lock;
static int inside, max_inside;

static void *lock_worker(void *arg)
{
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_lock_acquire(lock, MOSS_FOREVER) == 0);
        step((char)(uintptr_t)arg);
        inside++;
        max_inside = inside > max_inside ? inside : max_inside;
        TEST_ASSERT(moss_sleep(i) == 0); /* yields while holding it */
        inside--;
        TEST_ASSERT(moss_lock_release(lock) == 0);
    }
    return NULL;
}

/* Workers hand the lock round in FIFO order: each release gives it to the
 * longest waiter, and the releaser queues behind the others. */
static void case_lock_mutual_exclusion_fifo(void)
{
    moss_greenlet_t *g[4];

    TEST_ASSERT((lock = moss_lock_new()) != NULL);
    for (int i = 0; i < 4; i++)
        g[i] = moss_spawn(lock_worker, (void *)(uintptr_t)('a' + i));
    for (int i = 0; i < 4; i++)
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(max_inside == 1 && inside == 0);
    TEST_ASSERT(strcmp(trail.steps, "abcdabcdabcd") == 0);
    TEST_ASSERT(moss_lock_free(lock) == 0);
}

static void *lock_release_foreign(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_lock_release(lock) == -1 && errno == EPERM);
    return NULL;
}

static void case_lock_errors(void)
{
    moss_greenlet_t *g;

    TEST_ASSERT((lock = moss_lock_new()) != NULL);
    TEST_ASSERT(moss_lock_release(lock) == -1 && errno == EPERM); /* not held */
    TEST_ASSERT(moss_lock_acquire(lock, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_lock_acquire(lock, MOSS_FOREVER) == -1 && errno == EDEADLK);
    g = moss_spawn(lock_release_foreign, NULL);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_lock_release(lock) == 0); /* still ours after all that */
    TEST_ASSERT(moss_lock_release(lock) == -1 && errno == EPERM);
    TEST_ASSERT(moss_lock_free(lock) == 0);
    TEST_ASSERT(moss_lock_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_lock_acquire(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_lock_release(NULL) == -1 && errno == EINVAL);
}

static void *lock_take_and_give(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_lock_acquire(lock, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    if (o->rc == 0)
        TEST_ASSERT(moss_lock_release(lock) == 0);
    return NULL;
}

/* The release makes A the owner before A runs: the releaser can neither
 * take it back nor release it again, and a killed A still gets (and
 * passes on) the lock. */
static void case_lock_handoff(void)
{
    struct outcome a = {.name = 'A'}, b = {.name = 'B'};
    moss_greenlet_t *ga, *gb;

    TEST_ASSERT((lock = moss_lock_new()) != NULL);
    TEST_ASSERT(moss_lock_acquire(lock, MOSS_FOREVER) == 0);
    ga = moss_spawn(lock_take_and_give, &a);
    gb = moss_spawn(lock_take_and_give, &b);
    settle();
    TEST_ASSERT(moss_lock_free(lock) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_lock_release(lock) == 0);
    TEST_ASSERT(moss_lock_acquire(lock, moss_now()) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_lock_release(lock) == -1 && errno == EPERM);
    TEST_ASSERT(moss_kill(ga) == 0);
    TEST_ASSERT(moss_join(ga, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(gb, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(a.rc == 0 && b.rc == 0 && strcmp(trail.steps, "AB") == 0);
    TEST_ASSERT(moss_lock_acquire(lock, moss_now()) == 0); /* free again */
    TEST_ASSERT(moss_lock_release(lock) == 0);
    TEST_ASSERT(moss_lock_free(lock) == 0);
}

/* ---- Queue ------------------------------------------------------------------ */

static moss_queue_t *queue;

static void *item_of(uintptr_t n)
{
    return (void *)n;
}

/* Gets one item and checks it. */
static void expect_get(uintptr_t want)
{
    void *got = NULL;

    TEST_ASSERT(moss_queue_get(queue, &got, MOSS_FOREVER) == 0);
    TEST_ASSERT(got == item_of(want));
}

static void case_queue_fifo_ignores_priority(void)
{
    static const int priorities[] = {9, 1, 5, -3, 0};

    TEST_ASSERT((queue = moss_queue_new(0, MOSS_QUEUE_FIFO)) != NULL);
    for (uintptr_t i = 0; i < 5; i++)
        TEST_ASSERT(moss_queue_put(queue, item_of(i + 1), priorities[i], MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_length(queue) == 5);
    for (uintptr_t i = 0; i < 5; i++)
        expect_get(i + 1);
    TEST_ASSERT(moss_queue_length(queue) == 0);
    TEST_ASSERT(moss_queue_free(queue) == 0);
    TEST_ASSERT(moss_queue_new(0, (moss_queue_order_t)7) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_queue_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_queue_put(NULL, NULL, 0, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_queue_get(NULL, NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
}

static void *queue_putter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_queue_put(queue, o->value, o->name, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

static void *queue_getter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_queue_get(queue, &o->value, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* A full bounded queue blocks put; a get takes the head and the putter's
 * item takes the freed place at once, so the queue is full again and a
 * newcomer's put still cannot get in. */
static void case_queue_bounded_put_blocks(void)
{
    struct outcome p = {.name = 'P', .value = item_of(3)};
    moss_greenlet_t *g;
    int64_t start;

    TEST_ASSERT((queue = moss_queue_new(2, MOSS_QUEUE_FIFO)) != NULL);
    TEST_ASSERT(moss_queue_put(queue, item_of(1), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_put(queue, item_of(2), 0, MOSS_FOREVER) == 0);
    g = moss_spawn(queue_putter, &p);
    settle();
    TEST_ASSERT(trail.len == 0 && moss_queue_length(queue) == 2);
    TEST_ASSERT(moss_queue_free(queue) == -1 && errno == EBUSY);
    expect_get(1);
    TEST_ASSERT(moss_queue_length(queue) == 2); /* P's item is in */
    start = moss_now();
    assert_timed_out(moss_queue_put(queue, item_of(9), 0, start + 30), start, 30);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(p.rc == 0 && strcmp(trail.steps, "P") == 0);
    expect_get(2);
    expect_get(3);
    start = moss_now();
    assert_timed_out(moss_queue_get(queue, &p.value, start + 30), start, 30);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* (priority, item): items are numbered in put order. */
static const int prio_input[][2] = {{5, 1}, {1, 2}, {3, 3}, {1, 4}, {5, 5},
                                    {0, 6}, {-2, 7}, {3, 8}, {1, 9}, {0, 10}};
static const uintptr_t prio_output[] = {7, 6, 10, 2, 4, 9, 3, 8, 1, 5};

static void case_queue_priority_order(void)
{
    size_t n = sizeof(prio_output) / sizeof(prio_output[0]);

    TEST_ASSERT((queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (size_t i = 0; i < n; i++)
        TEST_ASSERT(moss_queue_put(queue, item_of((uintptr_t)prio_input[i][1]),
                                   prio_input[i][0], MOSS_FOREVER) == 0);
    for (size_t i = 0; i < n; i++)
        expect_get(prio_output[i]);
    TEST_ASSERT(moss_queue_free(queue) == 0);
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

        TEST_ASSERT(moss_queue_get(queue, &got, MOSS_FOREVER) == 0);
        n = (uintptr_t)got >> 3;
        prio = (int)((uintptr_t)got & 7);
        TEST_ASSERT(prio >= last_prio);
        TEST_ASSERT(n > last_put[prio]);
        last_prio = prio;
        last_put[prio] = n;
    }
}

static void case_queue_priority_stable_under_load(void)
{
    uintptr_t next = 0, last_put[8] = {0};

    TEST_ASSERT((queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 300; i++) {
            int prio = next_priority();

            next++;
            TEST_ASSERT(moss_queue_put(queue, item_of(next << 3 | (uintptr_t)prio), prio,
                                       MOSS_FOREVER) == 0);
        }
        priority_get_batch(150, last_put);
    }
    TEST_ASSERT(moss_queue_length(queue) == 50 * 150);
    priority_get_batch(50 * 150, last_put);
    TEST_ASSERT(moss_queue_length(queue) == 0);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* Getters wait in FIFO order; a put hands its item to the first getter
 * directly, so the putter's own get right after finds the queue empty. */
static void case_queue_get_handoff_fifo(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];
    void *got = NULL;

    TEST_ASSERT((queue = moss_queue_new(1, MOSS_QUEUE_PRIORITY)) != NULL);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(queue_getter, &o[i]);
    settle();
    TEST_ASSERT(moss_queue_free(queue) == -1 && errno == EBUSY);
    for (uintptr_t i = 0; i < 3; i++)
        TEST_ASSERT(moss_queue_put(queue, item_of(10 + i), (int)(5 - i), moss_now()) == 0);
    TEST_ASSERT(moss_queue_length(queue) == 0);
    TEST_ASSERT(moss_queue_get(queue, &got, moss_now()) == -1 && errno == ETIMEDOUT);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0 && o[i].value == item_of(10 + (uintptr_t)i));
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* Killed or timed-out waiters take nothing and leave nothing: a getter
 * killed while queued gets no item (the next put stays in the queue), and
 * a putter killed while queued adds none. */
static void case_queue_kill_waiters(void)
{
    struct outcome get = {.name = 'g'}, put = {.name = 'p', .value = item_of(99)};
    moss_greenlet_t *gg, *gp;

    TEST_ASSERT((queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
    gg = moss_spawn(queue_getter, &get);
    settle();
    TEST_ASSERT(moss_kill(gg) == 0);
    TEST_ASSERT(moss_join(gg, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(get.rc == -1 && get.err == ECANCELED);
    TEST_ASSERT(moss_queue_put(queue, item_of(1), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_length(queue) == 1);
    gp = moss_spawn(queue_putter, &put);
    settle();
    TEST_ASSERT(moss_kill(gp) == 0);
    TEST_ASSERT(moss_join(gp, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(put.rc == -1 && put.err == ECANCELED);
    expect_get(1);
    TEST_ASSERT(moss_queue_length(queue) == 0); /* 99 never went in */
    TEST_ASSERT(strcmp(trail.steps, "gp") == 0);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* Once chosen, a getter keeps its item and a putter's item stays queued,
 * even if they are killed before they run. */
static void case_queue_chosen_waiters_keep_items(void)
{
    struct outcome get = {.name = 'g'}, put = {.name = 'p', .value = item_of(2)};
    moss_greenlet_t *gg, *gp;

    TEST_ASSERT((queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
    gg = moss_spawn(queue_getter, &get);
    settle();
    TEST_ASSERT(moss_queue_put(queue, item_of(7), 0, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_kill(gg) == 0);
    TEST_ASSERT(moss_join(gg, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(get.rc == 0 && get.value == item_of(7));
    TEST_ASSERT(moss_queue_put(queue, item_of(1), 0, MOSS_FOREVER) == 0);
    gp = moss_spawn(queue_putter, &put);
    settle();
    expect_get(1);
    TEST_ASSERT(moss_kill(gp) == 0);
    TEST_ASSERT(moss_join(gp, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(put.rc == 0);
    expect_get(2);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* A bounded priority queue: a waiting putter's item enters with its own
 * priority (the putter passes its name as the priority). */
static void case_queue_bounded_priority_putter(void)
{
    struct outcome p = {.name = 1, .value = item_of(30)};
    moss_greenlet_t *g;

    TEST_ASSERT((queue = moss_queue_new(2, MOSS_QUEUE_PRIORITY)) != NULL);
    TEST_ASSERT(moss_queue_put(queue, item_of(50), 5, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_queue_put(queue, item_of(0), 0, MOSS_FOREVER) == 0);
    g = moss_spawn(queue_putter, &p);
    settle();
    expect_get(0);  /* P's item (priority 1) goes in ahead of 50 */
    expect_get(30);
    expect_get(50);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0 && p.rc == 0);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

#define MANY_ITEMS 100000

static void case_queue_unbounded_many_items(void)
{
    TEST_ASSERT((queue = moss_queue_new(0, MOSS_QUEUE_FIFO)) != NULL);
    for (uintptr_t round = 0; round < 2; round++) {
        for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
            TEST_ASSERT(moss_queue_put(queue, item_of(i), 0, moss_now()) == 0);
        TEST_ASSERT(moss_queue_length(queue) == MANY_ITEMS);
        for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
            expect_get(i);
    }
    TEST_ASSERT(moss_queue_free(queue) == 0);
    TEST_ASSERT((queue = moss_queue_new(0, MOSS_QUEUE_PRIORITY)) != NULL);
    for (uintptr_t i = 1; i <= MANY_ITEMS; i++)
        TEST_ASSERT(moss_queue_put(queue, item_of(i), MANY_ITEMS - (int)i, moss_now()) == 0);
    for (uintptr_t i = MANY_ITEMS; i >= 1; i--)
        expect_get(i);
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

/* ---- Pool ------------------------------------------------------------------- */

static moss_pool_t *pool;
static int running, max_running, finished, cancelled;

/* A member: sleeps arg ms, counting how many members run at once. */
static void *member_sleep(void *arg)
{
    running++;
    max_running = running > max_running ? running : max_running;
    if (moss_sleep((int64_t)(intptr_t)arg) == -1) {
        TEST_ASSERT(errno == ECANCELED);
        cancelled++;
    }
    running--;
    finished++;
    return NULL;
}

/* N = 20 with 100 members of 10 ms each: five waves, about 50 ms. */
static void case_pool_limit_respected(void)
{
    int64_t start = moss_now(), elapsed;

    TEST_ASSERT((pool = moss_pool_new(20)) != NULL);
    for (int i = 0; i < 100; i++) {
        TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)10, MOSS_FOREVER) == 0);
        TEST_ASSERT(moss_pool_size(pool) <= 20);
    }
    TEST_ASSERT(moss_pool_join(pool, MOSS_FOREVER) == 0);
    elapsed = moss_now() - start;
    TEST_ASSERT(finished == 100 && running == 0);
    TEST_ASSERT(max_running == 20);
    TEST_ASSERT(elapsed >= 40 && elapsed < 1000);
    TEST_ASSERT(moss_pool_size(pool) == 0);
    TEST_ASSERT(moss_pool_free(pool) == 0);
}

static void case_pool_group_join_size_free(void)
{
    moss_hub_stats_t stats;
    int64_t start;

    TEST_ASSERT((pool = moss_pool_new(0)) != NULL);
    TEST_ASSERT(moss_pool_join(pool, moss_now()) == 0); /* empty: at once */
    for (int i = 0; i < 50; i++)
        TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)200, moss_now()) == 0);
    TEST_ASSERT(moss_pool_size(pool) == 50);
    TEST_ASSERT(moss_pool_free(pool) == -1 && errno == EBUSY);
    start = moss_now();
    assert_timed_out(moss_pool_join(pool, start + 30), start, 30);
    TEST_ASSERT(max_running == 50 && finished == 0);
    TEST_ASSERT(moss_pool_join(pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(finished == 50 && moss_pool_size(pool) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0); /* the pool freed them all */
    TEST_ASSERT(moss_pool_free(pool) == 0);
    TEST_ASSERT(moss_pool_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_pool_spawn(NULL, member_sleep, NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT((pool = moss_pool_new(1)) != NULL);
    TEST_ASSERT(moss_pool_spawn(pool, NULL, NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_pool_size(pool) == 0 && moss_pool_free(pool) == 0);
}

/* Kill reaches started members (their sleeps fail) and unstarted ones
 * (which never run and leave the pool at once). */
static void case_pool_kill_all(void)
{
    moss_hub_stats_t stats;

    TEST_ASSERT((pool = moss_pool_new(0)) != NULL);
    for (int i = 0; i < 3; i++)
        TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)100000, MOSS_FOREVER) == 0);
    settle();
    TEST_ASSERT(running == 3);
    for (int i = 0; i < 2; i++)
        TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)100000, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_pool_size(pool) == 5);
    moss_pool_kill(pool);
    TEST_ASSERT(moss_pool_size(pool) == 3); /* the unstarted two are gone */
    TEST_ASSERT(moss_pool_join(pool, moss_now() + 5000) == 0);
    TEST_ASSERT(cancelled == 3 && finished == 3 && max_running == 3);
    TEST_ASSERT(moss_sleep(1) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0);
    TEST_ASSERT(moss_pool_free(pool) == 0);
    moss_pool_kill(NULL);
}

static void *pool_spawner(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_pool_spawn(pool, member_sleep, (void *)1, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* A member that runs until the event is set. */
static void *member_wait_event(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_event_wait(event, MOSS_FOREVER) == 0);
    finished++;
    return NULL;
}

/* A slot freed by a member goes to the first waiting spawner: nobody else
 * can take it first. A killed spawner takes none. */
static void case_pool_slot_handoff(void)
{
    struct outcome w = {.name = 'w'}, k = {.name = 'k'};
    moss_greenlet_t *gw, *gk;

    TEST_ASSERT((pool = moss_pool_new(1)) != NULL && (event = moss_event_new()) != NULL);
    TEST_ASSERT(moss_pool_spawn(pool, member_wait_event, NULL, MOSS_FOREVER) == 0);
    gk = moss_spawn(pool_spawner, &k);
    gw = moss_spawn(pool_spawner, &w);
    settle();
    TEST_ASSERT(moss_pool_free(pool) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_kill(gk) == 0);
    TEST_ASSERT(moss_join(gk, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(k.rc == -1 && k.err == ECANCELED);
    moss_event_set(event);
    settle(); /* the member finishes and wakes w, which runs after us */
    TEST_ASSERT(finished == 1 && moss_pool_size(pool) == 0 && trail.len == 1);
    /* the slot is w's, though w has not run yet */
    TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)1, moss_now()) == -1 &&
                errno == ETIMEDOUT);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == 0 && strcmp(trail.steps, "kw") == 0);
    TEST_ASSERT(moss_pool_join(pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(finished == 2 && max_running == 1);
    TEST_ASSERT(moss_pool_free(pool) == 0 && moss_event_free(event) == 0);
}

/* A member killed before it starts frees its slot for a waiting spawner. */
static void case_pool_member_killed_before_start(void)
{
    struct outcome w = {.name = 'w'};
    moss_greenlet_t *gw;

    TEST_ASSERT((pool = moss_pool_new(1)) != NULL);
    TEST_ASSERT(moss_pool_spawn(pool, member_sleep, (void *)100000, MOSS_FOREVER) == 0);
    gw = moss_spawn(pool_spawner, &w); /* queued behind the member */
    moss_pool_kill(pool);              /* before either runs */
    TEST_ASSERT(moss_pool_size(pool) == 0);
    TEST_ASSERT(moss_join(gw, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(w.rc == 0); /* got the slot at once */
    TEST_ASSERT(moss_pool_join(pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(finished == 1 && cancelled == 0); /* only w's member ran */
    TEST_ASSERT(moss_pool_free(pool) == 0);
}

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
    return moss_event_wait(event, deadline);
}

static int call_result_get(int64_t deadline)
{
    void *value = NULL;

    return moss_async_result_get(result, &value, deadline);
}

static int call_sem_acquire(int64_t deadline)
{
    return moss_semaphore_acquire(sem, deadline);
}

static int call_lock_acquire(int64_t deadline)
{
    return moss_lock_acquire(lock, deadline);
}

static int call_queue_get(int64_t deadline)
{
    void *item = NULL;

    return moss_queue_get(queue, &item, deadline);
}

static int call_queue_put(int64_t deadline)
{
    return moss_queue_put(queue, item_of(2), 0, deadline);
}

static int call_pool_spawn(int64_t deadline)
{
    return moss_pool_spawn(pool, member_sleep, (void *)1, deadline);
}

static int call_pool_join(int64_t deadline)
{
    return moss_pool_join(pool, deadline);
}

static void setup_event(void)
{
    TEST_ASSERT((event = moss_event_new()) != NULL);
}

static void teardown_event(void)
{
    TEST_ASSERT(moss_event_free(event) == 0);
}

static void setup_result(void)
{
    TEST_ASSERT((result = moss_async_result_new()) != NULL);
}

static void teardown_result(void)
{
    TEST_ASSERT(moss_async_result_free(result) == 0);
}

static void setup_sem(void)
{
    TEST_ASSERT((sem = moss_bounded_semaphore_new(0)) != NULL);
}

static void teardown_sem(void)
{
    TEST_ASSERT(moss_semaphore_count(sem) == 0 && moss_semaphore_free(sem) == 0);
}

/* Holds the lock until the event is set. */
static void *lock_holder(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_lock_acquire(lock, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_event_wait(event, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_lock_release(lock) == 0);
    return NULL;
}

static void setup_lock(void)
{
    TEST_ASSERT((lock = moss_lock_new()) != NULL && (event = moss_event_new()) != NULL);
    holder = moss_spawn(lock_holder, NULL);
    settle();
}

static void teardown_lock(void)
{
    moss_event_set(event);
    TEST_ASSERT(moss_join(holder, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_lock_acquire(lock, moss_now()) == 0); /* nobody else got it */
    TEST_ASSERT(moss_lock_release(lock) == 0);
    TEST_ASSERT(moss_lock_free(lock) == 0 && moss_event_free(event) == 0);
}

static void setup_queue_empty(void)
{
    TEST_ASSERT((queue = moss_queue_new(1, MOSS_QUEUE_FIFO)) != NULL);
}

static void setup_queue_full(void)
{
    setup_queue_empty();
    TEST_ASSERT(moss_queue_put(queue, item_of(1), 0, MOSS_FOREVER) == 0);
}

static void teardown_queue_empty(void)
{
    TEST_ASSERT(moss_queue_length(queue) == 0); /* no put got in */
    TEST_ASSERT(moss_queue_free(queue) == 0);
}

static void teardown_queue_full(void)
{
    TEST_ASSERT(moss_queue_length(queue) == 1);
    expect_get(1); /* only the setup's item: no failed put got in */
    teardown_queue_empty();
}

static void setup_pool_busy(void)
{
    TEST_ASSERT((pool = moss_pool_new(1)) != NULL && (event = moss_event_new()) != NULL);
    TEST_ASSERT(moss_pool_spawn(pool, member_wait_event, NULL, MOSS_FOREVER) == 0);
}

static void teardown_pool(void)
{
    TEST_ASSERT(moss_pool_size(pool) == 1);
    moss_event_set(event);
    TEST_ASSERT(moss_pool_join(pool, MOSS_FOREVER) == 0);
    TEST_ASSERT(finished == 1 && moss_pool_size(pool) == 0);
    TEST_ASSERT(moss_pool_free(pool) == 0 && moss_event_free(event) == 0);
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

    settle();
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
    assert_timed_out(op->call(start + 30), start, 30);
    start = moss_now();
    moss_deadline_push(&scope, start + 30);
    assert_timed_out(op->call(MOSS_FOREVER), start, 30);
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

static void case_blocking_event_wait(void)
{
    run_blocking(&blocking_ops[0]);
}

static void case_blocking_async_result_get(void)
{
    run_blocking(&blocking_ops[1]);
}

static void case_blocking_semaphore_acquire(void)
{
    run_blocking(&blocking_ops[2]);
}

static void case_blocking_lock_acquire(void)
{
    run_blocking(&blocking_ops[3]);
}

static void case_blocking_queue_get(void)
{
    run_blocking(&blocking_ops[4]);
}

static void case_blocking_queue_put(void)
{
    run_blocking(&blocking_ops[5]);
}

static void case_blocking_pool_spawn(void)
{
    run_blocking(&blocking_ops[6]);
}

static void case_blocking_pool_join(void)
{
    run_blocking(&blocking_ops[7]);
}

const struct moss_test_case moss_test_sync_cases[] = {
    {"event_wakes_all_waiters", case_event_wakes_all_waiters},
    {"event_clear_after_set_still_wakes", case_event_clear_after_set_still_wakes},
    {"event_kill_and_free_busy", case_event_kill_and_free_busy},
    {"event_deadlock_detected", case_event_deadlock_detected},
    {"async_result_value_to_many", case_async_result_value_to_many},
    {"async_result_error", case_async_result_error},
    {"async_result_get_deadline", case_async_result_get_deadline},
    {"semaphore_count_and_fifo", case_semaphore_count_and_fifo},
    {"semaphore_bounded_overflow", case_semaphore_bounded_overflow},
    {"semaphore_unit_not_stolen", case_semaphore_unit_not_stolen},
    {"semaphore_timeout_does_not_consume", case_semaphore_timeout_does_not_consume},
    {"semaphore_chosen_waiter_keeps_unit", case_semaphore_chosen_waiter_keeps_unit},
    {"lock_mutual_exclusion_fifo", case_lock_mutual_exclusion_fifo},
    {"lock_errors", case_lock_errors},
    {"lock_handoff", case_lock_handoff},
    {"queue_fifo_ignores_priority", case_queue_fifo_ignores_priority},
    {"queue_bounded_put_blocks", case_queue_bounded_put_blocks},
    {"queue_priority_order", case_queue_priority_order},
    {"queue_priority_stable_under_load", case_queue_priority_stable_under_load},
    {"queue_get_handoff_fifo", case_queue_get_handoff_fifo},
    {"queue_kill_waiters", case_queue_kill_waiters},
    {"queue_chosen_waiters_keep_items", case_queue_chosen_waiters_keep_items},
    {"queue_bounded_priority_putter", case_queue_bounded_priority_putter},
    {"queue_unbounded_many_items", case_queue_unbounded_many_items},
    {"pool_limit_respected", case_pool_limit_respected},
    {"pool_group_join_size_free", case_pool_group_join_size_free},
    {"pool_kill_all", case_pool_kill_all},
    {"pool_slot_handoff", case_pool_slot_handoff},
    {"pool_member_killed_before_start", case_pool_member_killed_before_start},
    {"blocking_event_wait", case_blocking_event_wait},
    {"blocking_async_result_get", case_blocking_async_result_get},
    {"blocking_semaphore_acquire", case_blocking_semaphore_acquire},
    {"blocking_lock_acquire", case_blocking_lock_acquire},
    {"blocking_queue_get", case_blocking_queue_get},
    {"blocking_queue_put", case_blocking_queue_put},
    {"blocking_pool_spawn", case_blocking_pool_spawn},
    {"blocking_pool_join", case_blocking_pool_join},
    {NULL, NULL},
};
