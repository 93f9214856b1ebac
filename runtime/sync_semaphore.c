/* Counting semaphores, plain and bounded (gevent's Semaphore and
 * BoundedSemaphore).
 *
 * Handoff: a release with waiters gives its unit straight to the first
 * waiter (the count does not move), so a greenlet that acquires between that
 * wake and the waiter's resumption finds the count at 0 and queues behind.
 * Hence the invariant: count > 0 only while nobody waits. A woken waiter
 * owns its unit before it runs: moss__task_wake stops its deadline timer and
 * a later kill cannot undo the wake, and a waiter that times out or is
 * killed while still queued leaves the queue without a unit (its wait_node
 * is unlinked by the cancel), so no unit is ever lost or double-counted. */
#include "hub.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

struct moss_semaphore {
    struct moss__wait_queue waiters;
    unsigned count;
    unsigned limit;  /* release fails beyond this: initial count, or UINT_MAX */
};

static moss_semaphore_t *semaphore_create(unsigned count, unsigned limit)
{
    moss_semaphore_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->count = count;
    s->limit = limit;
    return s;
}

moss_semaphore_t *moss_semaphore_new(unsigned count)
{
    return semaphore_create(count, UINT_MAX);
}

moss_semaphore_t *moss_bounded_semaphore_new(unsigned count)
{
    return semaphore_create(count, count);
}

int moss_semaphore_free(moss_semaphore_t *s)
{
    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (s->waiters.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(s);
    return 0;
}

/* A free unit is taken at once, without parking, whatever the deadline. A
 * wake with success means the releaser handed us its unit. */
int moss_semaphore_acquire(moss_semaphore_t *s, int64_t deadline)
{
    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (s->count > 0) {
        s->count--;
        return 0;
    }
    return moss__wait_queue_wait(&s->waiters, NULL, deadline, NULL);
}

/* A waiter exists only while the count is 0, and 0 is below every bound but
 * a bounded semaphore's of 0 (which never has a unit to give back), so the
 * bound check comes first either way. */
int moss_semaphore_release(moss_semaphore_t *s)
{
    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (s->count >= s->limit) {
        errno = EOVERFLOW;
        return -1;
    }
    if (!moss__wait_queue_wake_one(&s->waiters, NULL, 0))
        s->count++;
    return 0;
}

unsigned moss_semaphore_count(const moss_semaphore_t *s)
{
    return s != NULL ? s->count : 0;
}
