/* Event: set wakes every waiter, clear, kill, EBUSY on free, and deadlock
 * detection. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include "../../runtime/hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- Event ------------------------------------------------------------------ */

static void *event_waiter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_event_wait(sync_event, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

void sync_case_event_wakes_all_waiters(void)
{
    struct outcome o[3] = {{.name = 'a'}, {.name = 'b'}, {.name = 'c'}};
    moss_greenlet_t *g[3];
    int64_t start;

    TEST_ASSERT((sync_event = moss_event_new()) != NULL);
    for (int i = 0; i < 3; i++)
        g[i] = moss_spawn(event_waiter, &o[i]);
    sync_settle();
    TEST_ASSERT(trail.len == 0 && !moss_event_is_set(sync_event));
    moss_event_set(sync_event);
    TEST_ASSERT(moss_event_is_set(sync_event));
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_event_wait(sync_event, moss_now() - 1) == 0); /* set: at once */
    moss_event_clear(sync_event);
    TEST_ASSERT(!moss_event_is_set(sync_event));
    start = moss_now();
    sync_assert_timed_out(moss_event_wait(sync_event, start + 30), start, 30);
    TEST_ASSERT(moss_event_free(sync_event) == 0);
}

/* A waiter woken by a set returns 0 even if the event is cleared before the
 * waiter runs: the wake is what counts. */
void sync_case_event_clear_after_set_still_wakes(void)
{
    struct outcome o = {.name = 'w'};
    moss_greenlet_t *g;

    TEST_ASSERT((sync_event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    sync_settle();
    moss_event_set(sync_event);
    moss_event_clear(sync_event);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.rc == 0 && strcmp(trail.steps, "w") == 0);
    TEST_ASSERT(moss_event_free(sync_event) == 0);
}

void sync_case_event_kill_and_free_busy(void)
{
    struct outcome o = {.name = 'k'};
    moss_greenlet_t *g;

    TEST_ASSERT((sync_event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    sync_settle();
    TEST_ASSERT(moss_event_free(sync_event) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.rc == -1 && o.err == ECANCELED);
    TEST_ASSERT(!moss_event_is_set(sync_event)); /* the kill set nothing */
    TEST_ASSERT(moss_event_free(sync_event) == 0);
    TEST_ASSERT(moss_event_free(NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_event_wait(NULL, MOSS_FOREVER) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_event_is_set(NULL) == 0);
}

/* The main greenlet waits on an event that nothing can set: the loop runs
 * out of watchers and the wait fails with EDEADLK instead of hanging. A
 * spawned greenlet stuck the same way is still there afterwards, and the
 * hub still works. */
void sync_case_event_deadlock_detected(void)
{
    moss_event_t *never = moss_event_new();
    struct outcome o = {.name = 's'};
    moss_greenlet_t *g;

    TEST_ASSERT(never != NULL && (sync_event = moss_event_new()) != NULL);
    g = moss_spawn(event_waiter, &o);
    TEST_ASSERT(moss_event_wait(never, MOSS_FOREVER) == -1 && errno == EDEADLK);
    TEST_ASSERT(trail.len == 0);           /* the other waiter is still parked */
    TEST_ASSERT(moss_event_free(never) == 0); /* our wait left the queue */
    moss_event_set(sync_event);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, NULL) == 0);
    TEST_ASSERT(o.rc == 0 && strcmp(trail.steps, "s") == 0);
    TEST_ASSERT(moss_sleep(1) == 0);
    TEST_ASSERT(moss_event_free(sync_event) == 0);
}

/* A hub callback (a timer here; the master's signal watchers in real life)
 * sets the event once. The waiter it wakes clears it and waits again at
 * once: that second wait must time out, not be woken again by the same set
 * (the hub resumes the waiter from inside the set, which used to go on
 * waking whoever was queued, the waiter included, forever). */
static void event_set_from_hub(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    moss_event_set(w->data);
}

void sync_case_event_set_from_hub_wakes_once(void)
{
    ev_timer *timer = calloc(1, sizeof(*timer)); /* the loop holds it: not on a stack */
    int woken = 0, timed_out = 0;

    TEST_ASSERT(timer != NULL && (sync_event = moss_event_new()) != NULL);
    ev_timer_init(timer, event_set_from_hub, 0.02, 0.0);
    timer->data = sync_event;
    ev_timer_start(moss__hub_get()->loop, timer);
    for (int i = 0; i < 4; i++) {
        if (moss_event_wait(sync_event, moss_now() + 200) == 0)
            woken++;
        else if (errno == ETIMEDOUT)
            timed_out++;
        moss_event_clear(sync_event);
    }
    TEST_ASSERT(woken == 1 && timed_out == 3);
    TEST_ASSERT(moss_event_free(sync_event) == 0);
    free(timer);
}
