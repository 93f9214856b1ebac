/* AsyncResult: a value or an error, set once, that any number of greenlets
 * wait for (gevent's AsyncResult).
 *
 * The outcome travels in the wake itself (the value, or the error as the
 * wake error), so a woken waiter never reads the result object again and
 * the owner may free it once no greenlet is parked on it. */
#include "hub.h"

#include <errno.h>
#include <stdlib.h>

struct moss_async_result {
    struct moss__wait_queue waiters;
    void *value;
    int err;    /* the error it was set with, or 0 */
    int ready;
};

moss_async_result_t *moss_async_result_new(void)
{
    return calloc(1, sizeof(moss_async_result_t));
}

int moss_async_result_free(moss_async_result_t *r)
{
    if (r == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (r->waiters.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(r);
    return 0;
}

/* Records the outcome and hands it to every waiter. */
static int async_result_settle(moss_async_result_t *r, void *value, int err)
{
    if (r == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (r->ready) {
        errno = EALREADY;
        return -1;
    }
    r->ready = 1;
    r->value = value;
    r->err = err;
    moss__wait_queue_wake_all(&r->waiters, value, err);
    return 0;
}

int moss_async_result_set(moss_async_result_t *r, void *value)
{
    return async_result_settle(r, value, 0);
}

/* err must be a positive errno value: 0 would read as success. */
int moss_async_result_set_error(moss_async_result_t *r, int err)
{
    if (err <= 0) {
        errno = EINVAL;
        return -1;
    }
    return async_result_settle(r, NULL, err);
}

int moss_async_result_ready(const moss_async_result_t *r)
{
    return r != NULL && r->ready;
}

/* value may be NULL (only the outcome matters). A ready result returns at
 * once, without parking, whatever the deadline. */
int moss_async_result_get(moss_async_result_t *r, void **value, int64_t deadline)
{
    void *got = NULL;

    if (r == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (r->ready) {
        if (r->err != 0) {
            errno = r->err;
            return -1;
        }
        got = r->value;
    } else if (moss__wait_queue_wait(&r->waiters, NULL, deadline, &got) == -1) {
        return -1;
    }
    if (value != NULL)
        *value = got;
    return 0;
}
