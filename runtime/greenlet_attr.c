/* Greenlet accessors: state, parent, result, id and name. */
#include "greenlet.h"

#include <errno.h>
#include <string.h>

moss_greenlet_t *moss_greenlet_current(void)
{
    struct moss__thread *t = moss__thread_get();

    return t != NULL ? t->current : NULL;
}

moss_greenlet_t *moss_greenlet_main(void)
{
    struct moss__thread *t = moss__thread_get();

    return t != NULL ? &t->main : NULL;
}

moss_greenlet_state_t moss_greenlet_state(const moss_greenlet_t *g)
{
    return g->state;
}

moss_greenlet_t *moss_greenlet_parent(const moss_greenlet_t *g)
{
    return g->parent;
}

int moss_greenlet_set_parent(moss_greenlet_t *g, moss_greenlet_t *parent)
{
    moss_greenlet_t *p, *old;

    if (g == NULL || parent == NULL || g->is_main) {
        errno = EINVAL;
        return -1;
    }
    if (parent->thread != g->thread) {
        errno = EPERM;
        return -1;
    }
    for (p = parent; p != NULL; p = p->parent) {
        if (p == g) {
            errno = EINVAL; /* cyclic parent chain */
            return -1;
        }
    }
    old = g->parent;
    parent->refs++;
    g->parent = parent;
    moss__greenlet_unref(old);
    return 0;
}

int moss_greenlet_result(const moss_greenlet_t *g, void **value)
{
    if (g->state != MOSS_GREENLET_DEAD) {
        errno = EAGAIN;
        return -1;
    }
    if (g->result_err != 0) {
        errno = g->result_err;
        return -1;
    }
    if (value != NULL)
        *value = g->result;
    return 0;
}

uint64_t moss_greenlet_id(const moss_greenlet_t *g)
{
    return g->id;
}

const char *moss_greenlet_name(const moss_greenlet_t *g)
{
    return g->name;
}

void moss_greenlet_set_name(moss_greenlet_t *g, const char *name)
{
    size_t len = strnlen(name, MOSS_GREENLET_NAME_MAX);

    memcpy(g->name, name, len);
    g->name[len] = '\0';
}
