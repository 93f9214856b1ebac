/* Per-thread greenlet state: created on a thread's first use of moss and
 * torn down when the thread exits. */
#include "greenlet.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

__thread struct moss__thread *moss__thread_self __attribute__((tls_model("initial-exec")));

/* Ids are handed to threads in blocks, so creating a greenlet does not touch
 * a shared cache line. */
#define THREAD_ID_BLOCK 1024
static _Atomic uint64_t thread_next_id_block = 1;

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static int thread_key_error;

/* Runs at thread exit. Greenlets still suspended on this thread can never
 * run again; their memory is left to their handles' owners. */
static void thread_destroy(void *arg)
{
    struct moss__thread *t = arg;

    moss__stack_cache_trim(&t->stacks, 0);
    moss__greenlet_spare_trim(t, 0);
    moss__overflow_thread_fini(t);
    moss__thread_self = NULL;
    free(t);
}

static void thread_key_create(void)
{
    thread_key_error = pthread_key_create(&thread_key, thread_destroy);
}

uint64_t moss__thread_next_id(struct moss__thread *t)
{
    if (t->next_id == t->id_limit) {
        t->next_id = atomic_fetch_add_explicit(&thread_next_id_block, THREAD_ID_BLOCK,
                                               memory_order_relaxed);
        t->id_limit = t->next_id + THREAD_ID_BLOCK;
    }
    return t->next_id++;
}

static void thread_init_main(struct moss__thread *t)
{
    moss_greenlet_t *g = &t->main;

    g->thread = t;
    g->state = MOSS_GREENLET_RUNNING;
    g->refs = 1;
    g->is_main = 1;
    g->id = moss__thread_next_id(t);
    moss_greenlet_set_name(g, "main");
    moss__san_fiber_main(&g->san);
    t->current = g;
    atomic_store_explicit(&t->monitor.current_id, g->id, memory_order_relaxed);
}

struct moss__thread *moss__thread_init(void)
{
    struct moss__thread *t;
    int err;

    pthread_once(&thread_key_once, thread_key_create);
    if (thread_key_error != 0) {
        errno = thread_key_error;
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->errno_location = &errno;
    moss__stack_cache_init(&t->stacks);
    thread_init_main(t);
    if (moss__overflow_thread_init(t) == -1)
        goto free_thread;
    err = pthread_setspecific(thread_key, t);
    if (err != 0) {
        errno = err;
        goto fini_overflow;
    }
    moss__thread_self = t;
    return t;

fini_overflow:
    moss__overflow_thread_fini(t);
free_thread:
    free(t);
    return NULL;
}

size_t moss_greenlet_stack_size(void)
{
    struct moss__thread *t = moss__thread_get();

    return t != NULL ? t->stacks.size : 0;
}

int moss_greenlet_set_stack_size(size_t size)
{
    struct moss__thread *t = moss__thread_get();
    size_t rounded = moss__stack_round(size);

    if (t == NULL)
        return -1;
    if (rounded == 0) {
        errno = EINVAL;
        return -1;
    }
    moss__stack_cache_trim(&t->stacks, 0);
    t->stacks.size = rounded;
    return 0;
}

int moss_greenlet_set_stack_cache(size_t count)
{
    struct moss__thread *t = moss__thread_get();

    if (t == NULL)
        return -1;
    if (count > MOSS__STACK_CACHE_MAX) {
        errno = EINVAL;
        return -1;
    }
    t->stacks.limit = count;
    moss__stack_cache_trim(&t->stacks, count);
    moss__greenlet_spare_trim(t, count);
    return 0;
}

void moss_greenlet_stats(moss_greenlet_stats_t *stats)
{
    struct moss__thread *t = moss__thread_get();

    *stats = (moss_greenlet_stats_t){0};
    if (t == NULL)
        return;
    stats->created = t->created;
    stats->alive = t->alive;
    stats->switches = atomic_load_explicit(&t->monitor.switches, memory_order_relaxed);
    stats->stacks_mapped = t->stacks.mapped;
    stats->stacks_cached = t->stacks.count;
    stats->stack_cache_hits = t->stacks.hits;
    stats->stack_guard = moss__stack_guard_method();
}
