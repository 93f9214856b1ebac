/* Event: a flag that greenlets wait on, gevent's Event.
 *
 * set() wakes every waiter with success there and then: a waiter woken by a
 * set returns 0 even if the event is cleared again before it runs, and it
 * does not touch the event after its wake, so the owner may free the event
 * as soon as no greenlet is parked on it. */
#include "hub.h"

#include <errno.h>
#include <stdlib.h>

struct moss_event {
    struct moss__wait_queue waiters;
    int set;
};

moss_event_t *moss_event_new(void)
{
    return calloc(1, sizeof(moss_event_t));
}

int moss_event_free(moss_event_t *e)
{
    if (e == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (e->waiters.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(e);
    return 0;
}

void moss_event_set(moss_event_t *e)
{
    if (e == NULL)
        return;
    e->set = 1;
    moss__wait_queue_wake_all(&e->waiters, NULL, 0);
}

void moss_event_clear(moss_event_t *e)
{
    if (e != NULL)
        e->set = 0;
}

int moss_event_is_set(const moss_event_t *e)
{
    return e != NULL && e->set;
}

/* A set event returns at once, without parking: like a join of a finished
 * greenlet, a wait that need not block succeeds whatever the deadline. */
int moss_event_wait(moss_event_t *e, int64_t deadline)
{
    if (e == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (e->set)
        return 0;
    return moss__wait_queue_wait(&e->waiters, NULL, deadline, NULL);
}
