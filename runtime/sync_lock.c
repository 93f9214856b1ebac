/* A non-reentrant lock owned by one greenlet (gevent's Lock, with owner
 * checks).
 *
 * The owner is recorded by greenlet id (process-wide, never reused), so a
 * greenlet that dies holding the lock cannot be impersonated by a new one at
 * the same address. Handoff: a release with waiters makes the first waiter
 * the owner before waking it; the lock never looks free in between, so a
 * greenlet that tries to acquire before the waiter resumes queues behind it.
 * The waiter owns the lock from the wake on: moss__task_wake stops its
 * deadline timer and a later kill cannot undo the wake. A waiter that times
 * out or is killed while still queued leaves without the lock. */
#include "hub.h"

#include <errno.h>
#include <stdlib.h>

struct moss_lock {
    struct moss__wait_queue waiters;
    uint64_t owner;  /* the holder's greenlet id, or 0 (ids start at 1) */
};

moss_lock_t *moss_lock_new(void)
{
    return calloc(1, sizeof(moss_lock_t));
}

/* A held lock with no waiters may be freed: only waiting is an error. */
int moss_lock_free(moss_lock_t *l)
{
    if (l == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (l->waiters.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(l);
    return 0;
}

/* A free lock is taken at once, without parking, whatever the deadline. */
int moss_lock_acquire(moss_lock_t *l, int64_t deadline)
{
    struct moss__task *self = moss__task_current();
    uint64_t id;

    if (self == NULL)
        return -1;
    if (l == NULL) {
        errno = EINVAL;
        return -1;
    }
    id = moss_greenlet_id(self->greenlet);
    if (l->owner == 0) {
        l->owner = id;
        return 0;
    }
    if (l->owner == id) {
        errno = EDEADLK;
        return -1;
    }
    return moss__wait_queue_wait(&l->waiters, NULL, deadline, NULL);
}

int moss_lock_release(moss_lock_t *l)
{
    moss_greenlet_t *self = moss_greenlet_current();
    struct moss__wait_node *next;

    if (l == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (l->owner == 0 || self == NULL || l->owner != moss_greenlet_id(self)) {
        errno = EPERM;
        return -1;
    }
    next = l->waiters.head;
    l->owner = next != NULL ? moss_greenlet_id(next->task->greenlet) : 0;
    moss__wait_queue_wake_one(&l->waiters, NULL, 0);
    return 0;
}
