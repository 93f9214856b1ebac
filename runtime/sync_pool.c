/* Pools and groups of spawned greenlets (gevent's Pool and Group).
 *
 * Ownership. Each member is spawned with moss_spawn around a trampoline and
 * detached at once: the hub frees the greenlet when it finishes, and the
 * pool keeps the handle only to kill it, only while the member is on the
 * pool's list. A member leaves the list (and frees its slot) in one of two
 * ways, exactly once:
 *   - it ran: the trampoline calls fn, then leaves, still on the member's
 *     own greenlet (fn always returns: a kill only makes its blocking calls
 *     fail), so the handle is dropped before the hub frees the greenlet;
 *   - it never ran: a member killed while NEW dies unstarted and its
 *     trampoline never runs, so the killer must account for it. Only the
 *     pool holds the handle of a member that has not started (user code
 *     can see a member's handle only from inside it, once it runs), so the
 *     only such killer is moss_pool_kill, which removes it there and then.
 * The hub frees an unstarted killed member when it next reaches it; nothing
 * of it refers to the pool any more by then.
 *
 * Slots are handed off like semaphore units: a member leaving with spawners
 * waiting reserves its slot for the first of them before waking it, so a
 * greenlet that calls moss_pool_spawn in between cannot take it. The woken
 * spawner turns the reservation into a member (or passes it on if the spawn
 * fails). Hence: spawners wait only while size + reserved == limit. */
#include "hub.h"

#include <errno.h>
#include <stdlib.h>

struct pool_member {
    struct pool_member *prev, *next;
    moss_pool_t *pool;
    moss_greenlet_t *greenlet;
    moss_greenlet_fn fn;
    void *arg;
};

struct moss_pool {
    struct moss__wait_queue spawners;  /* waiting for a slot */
    struct moss__wait_queue joiners;   /* waiting for size 0 */
    struct pool_member *members;
    size_t size;                       /* members alive */
    size_t reserved;                   /* slots handed to woken spawners */
    size_t limit;                      /* 0: none */
};

moss_pool_t *moss_pool_new(size_t limit)
{
    moss_pool_t *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->limit = limit;
    return p;
}

/* A reserved slot counts as busy too: its spawner is about to use the pool. */
int moss_pool_free(moss_pool_t *p)
{
    if (p == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (p->size > 0 || p->reserved > 0 || p->spawners.length > 0 ||
        p->joiners.length > 0) {
        errno = EBUSY;
        return -1;
    }
    free(p);
    return 0;
}

size_t moss_pool_size(const moss_pool_t *p)
{
    return p != NULL ? p->size : 0;
}

static int pool_full(const moss_pool_t *p)
{
    return p->limit != 0 && p->size + p->reserved >= p->limit;
}

/* A slot has come free: it goes to the first waiting spawner, if any. */
static void pool_slot_free(moss_pool_t *p)
{
    if (moss__wait_queue_wake_one(&p->spawners, NULL, 0))
        p->reserved++;
}

/* Takes a member off the list, frees its record and its slot, and wakes
 * the joiners once none is left. */
static void pool_member_leave(struct pool_member *m)
{
    moss_pool_t *p = m->pool;

    if (m->prev != NULL)
        m->prev->next = m->next;
    else
        p->members = m->next;
    if (m->next != NULL)
        m->next->prev = m->prev;
    free(m);
    p->size--;
    pool_slot_free(p);
    if (p->size == 0)
        moss__wait_queue_wake_all(&p->joiners, NULL, 0);
}

/* The member's greenlet body: fn, then leave the pool (see the top). */
static void *pool_member_run(void *arg)
{
    struct pool_member *m = arg;
    void *result = m->fn(m->arg);

    pool_member_leave(m);
    return result;
}

/* Spawns a member into a slot the caller holds. */
static int pool_member_start(moss_pool_t *p, moss_greenlet_fn fn, void *arg)
{
    struct pool_member *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return -1;
    *m = (struct pool_member){.pool = p, .fn = fn, .arg = arg, .next = p->members};
    m->greenlet = moss_spawn(pool_member_run, m);
    if (m->greenlet == NULL) {
        free(m);
        return -1;
    }
    moss_detach(m->greenlet); /* cannot fail: just spawned on this hub */
    if (p->members != NULL)
        p->members->prev = m;
    p->members = m;
    p->size++;
    return 0;
}

/* A free slot means no parking, whatever the deadline. A wake with success
 * means a leaving member reserved its slot for us. */
int moss_pool_spawn(moss_pool_t *p, moss_greenlet_fn fn, void *arg, int64_t deadline)
{
    if (p == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (pool_full(p)) {
        if (moss__wait_queue_wait(&p->spawners, NULL, deadline, NULL) == -1)
            return -1;
        p->reserved--;
    }
    if (pool_member_start(p, fn, arg) == -1) {
        int err = errno;

        pool_slot_free(p); /* our slot, if we held a reserved one, goes on */
        errno = err;
        return -1;
    }
    return 0;
}

int moss_pool_join(moss_pool_t *p, int64_t deadline)
{
    if (p == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (p->size == 0)
        return 0;
    return moss__wait_queue_wait(&p->joiners, NULL, deadline, NULL);
}

/* Started members unwind on their own and leave when fn returns; unstarted
 * ones will never run, so they leave here (see the top). moss_kill does not
 * switch (a woken member is only queued), so the list holds still. */
void moss_pool_kill(moss_pool_t *p)
{
    struct pool_member *m, *next;

    if (p == NULL)
        return;
    for (m = p->members; m != NULL; m = next) {
        int unstarted = moss_greenlet_state(m->greenlet) == MOSS_GREENLET_NEW;

        next = m->next;
        moss_kill(m->greenlet);
        if (unstarted)
            pool_member_leave(m);
    }
}
