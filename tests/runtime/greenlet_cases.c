/* Greenlet semantics: switch order, values, parents, death, throw, errno,
 * tracing and thread ownership. */
#include "harness.h"
#include "moss.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* ---- switch order ----------------------------------------------------------- */

static moss_greenlet_t *ping, *pong;

static void *ping_run(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        step('a');
        TEST_ASSERT(moss_greenlet_switch(pong, NULL, NULL) == 0);
    }
    return NULL;
}

static void *pong_run(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        step('b');
        TEST_ASSERT(moss_greenlet_switch(ping, NULL, NULL) == 0);
    }
    return NULL;
}

static void case_ping_pong(void)
{
    ping = moss_greenlet_new(ping_run, NULL, NULL);
    pong = moss_greenlet_new(pong_run, NULL, NULL);
    TEST_ASSERT(ping != NULL && pong != NULL);
    TEST_ASSERT(moss_greenlet_switch(ping, NULL, NULL) == 0);
    /* ping finished first: its third switch resumed pong, whose last switch
     * finished ping, and ping's return went to main. */
    TEST_ASSERT(strcmp(trail.steps, "ababab") == 0);
    TEST_ASSERT(moss_greenlet_state(ping) == MOSS_GREENLET_DEAD);
    TEST_ASSERT(moss_greenlet_state(pong) == MOSS_GREENLET_SUSPENDED);
    TEST_ASSERT(moss_greenlet_switch(pong, NULL, NULL) == 0);
    TEST_ASSERT(moss_greenlet_state(pong) == MOSS_GREENLET_DEAD);
    TEST_ASSERT(moss_greenlet_free(ping) == 0 && moss_greenlet_free(pong) == 0);
}

/* A chain: each link starts the next and records on the way down and up. */
static void *chain_run(void *arg)
{
    intptr_t depth = (intptr_t)arg;
    void *out = NULL;

    step((char)('0' + depth));
    if (depth < 4) {
        moss_greenlet_t *next = moss_greenlet_new(chain_run, (void *)(depth + 1), NULL);
        TEST_ASSERT(next != NULL);
        TEST_ASSERT(moss_greenlet_parent(next) == moss_greenlet_current());
        TEST_ASSERT(moss_greenlet_switch(next, NULL, &out) == 0);
        TEST_ASSERT((intptr_t)out == depth + 1);
        TEST_ASSERT(moss_greenlet_free(next) == 0);
    }
    step((char)('a' + depth));
    return (void *)depth;
}

static void case_chain_nested_parents(void)
{
    moss_greenlet_t *g = moss_greenlet_new(chain_run, (void *)0, NULL);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_switch(g, NULL, &out) == 0);
    TEST_ASSERT((intptr_t)out == 0);
    TEST_ASSERT(strcmp(trail.steps, "01234edcba") == 0);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- values in and out -------------------------------------------------------- */

static void *doubler_run(void *arg)
{
    void *in = arg;

    for (;;) {
        if ((intptr_t)in < 0)
            return (void *)(intptr_t)-100;
        TEST_ASSERT(moss_greenlet_switch(moss_greenlet_parent(moss_greenlet_current()),
                                         (void *)((intptr_t)in * 2), &in) == 0);
    }
}

static void case_values_in_and_out(void)
{
    moss_greenlet_t *g = moss_greenlet_new(doubler_run, (void *)21, NULL);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_switch(g, (void *)999, &out) == 0);
    TEST_ASSERT((intptr_t)out == 42); /* first run gets arg, not the switch value */
    TEST_ASSERT(moss_greenlet_switch(g, (void *)5, &out) == 0);
    TEST_ASSERT((intptr_t)out == 10);
    TEST_ASSERT(moss_greenlet_switch(g, (void *)-1, &out) == 0);
    TEST_ASSERT((intptr_t)out == -100); /* the return value, carried to the parent */
    TEST_ASSERT(moss_greenlet_result(g, &out) == 0 && (intptr_t)out == -100);
    TEST_ASSERT(moss_greenlet_switch(moss_greenlet_current(), (void *)7, &out) == 0);
    TEST_ASSERT((intptr_t)out == 7); /* switching to oneself returns at once */
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- return to the parent, and the dead ---------------------------------------- */

static void *return_arg_run(void *arg)
{
    step('r');
    return arg;
}

static void case_return_to_parent_then_dead(void)
{
    moss_greenlet_t *parent = moss_greenlet_new(doubler_run, (void *)1, NULL);
    moss_greenlet_t *child;
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_switch(parent, NULL, &out) == 0 && (intptr_t)out == 2);
    /* parent is suspended; main starts a child of it, whose return resumes
     * parent's pending switch with the child's value. */
    child = moss_greenlet_new(return_arg_run, (void *)8, parent);
    TEST_ASSERT(moss_greenlet_switch(child, NULL, &out) == 0);
    TEST_ASSERT((intptr_t)out == 16); /* parent doubled the 8 child returned */
    TEST_ASSERT(moss_greenlet_state(child) == MOSS_GREENLET_DEAD);
    errno = 0;
    TEST_ASSERT(moss_greenlet_switch(child, NULL, NULL) == -1 && errno == ESRCH);
    TEST_ASSERT(moss_greenlet_throw(child, ECANCELED) == -1 && errno == ESRCH);
    TEST_ASSERT(moss_greenlet_free(child) == 0);
    TEST_ASSERT(moss_greenlet_free(parent) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_greenlet_switch(parent, (void *)-1, &out) == 0);
    TEST_ASSERT(moss_greenlet_free(parent) == 0);
    TEST_ASSERT(strcmp(trail.steps, "r") == 0);
}

/* A dead parent is skipped: the return goes to the nearest live ancestor. */
static void case_dead_parent_skipped(void)
{
    moss_greenlet_t *middle = moss_greenlet_new(return_arg_run, (void *)1, NULL);
    moss_greenlet_t *child = moss_greenlet_new(return_arg_run, (void *)2, middle);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_switch(middle, NULL, &out) == 0 && (intptr_t)out == 1);
    TEST_ASSERT(moss_greenlet_switch(child, NULL, &out) == 0 && (intptr_t)out == 2);
    TEST_ASSERT(moss_greenlet_current() == moss_greenlet_main());
    /* middle's handle goes first; child still names it, so it must survive */
    TEST_ASSERT(moss_greenlet_free(middle) == 0);
    TEST_ASSERT(moss_greenlet_parent(child) == middle);
    TEST_ASSERT(moss_greenlet_id(moss_greenlet_parent(child)) == moss_greenlet_id(middle));
    TEST_ASSERT(moss_greenlet_free(child) == 0);
}

/* ---- throw ------------------------------------------------------------------- */

static void *catcher_run(void *arg)
{
    int *caught = arg;

    errno = 0;
    if (moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == -1)
        *caught = errno;
    return (void *)(intptr_t)55;
}

static void case_throw_into_suspended(void)
{
    int caught = 0;
    moss_greenlet_t *g = moss_greenlet_new(catcher_run, &caught, NULL);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);
    TEST_ASSERT(moss_greenlet_throw(g, ECANCELED) == 0); /* g handled it and returned */
    TEST_ASSERT(caught == ECANCELED);
    TEST_ASSERT(moss_greenlet_result(g, &out) == 0 && (intptr_t)out == 55);
    TEST_ASSERT(moss_greenlet_throw(g, 0) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

static void *must_not_run(void *arg)
{
    (void)arg;
    step('X');
    return NULL;
}

static void case_throw_into_unstarted(void)
{
    moss_greenlet_t *g = moss_greenlet_new(must_not_run, NULL, NULL);

    errno = 0;
    TEST_ASSERT(moss_greenlet_throw(g, ETIMEDOUT) == -1);
    TEST_ASSERT(errno == ETIMEDOUT); /* propagated to the parent: us */
    TEST_ASSERT(moss_greenlet_state(g) == MOSS_GREENLET_DEAD);
    TEST_ASSERT(moss_greenlet_result(g, NULL) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == -1 && errno == ESRCH);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
    TEST_ASSERT(trail.len == 0);
}

/* The thrower is not the victim's parent: the error lands in the parent's
 * pending switch, and the thrower waits to be resumed like any switcher. */
static moss_greenlet_t *victim;

static void *thrower_run(void *arg)
{
    (void)arg;
    step('t');
    TEST_ASSERT(moss_greenlet_throw(victim, EPIPE) == 0);
    step('T');
    return NULL;
}

static void case_throw_unstarted_error_goes_to_parent(void)
{
    moss_greenlet_t *thrower = moss_greenlet_new(thrower_run, NULL, NULL);

    victim = moss_greenlet_new(must_not_run, NULL, NULL); /* parent: main */
    errno = 0;
    TEST_ASSERT(moss_greenlet_switch(thrower, NULL, NULL) == -1 && errno == EPIPE);
    TEST_ASSERT(strcmp(trail.steps, "t") == 0);
    TEST_ASSERT(moss_greenlet_state(thrower) == MOSS_GREENLET_SUSPENDED);
    TEST_ASSERT(moss_greenlet_switch(thrower, NULL, NULL) == 0);
    TEST_ASSERT(strcmp(trail.steps, "tT") == 0);
    TEST_ASSERT(moss_greenlet_free(thrower) == 0 && moss_greenlet_free(victim) == 0);
}

static void case_free_unstarted_never_runs(void)
{
    moss_greenlet_t *g = moss_greenlet_new(must_not_run, NULL, NULL);
    moss_greenlet_t *child = moss_greenlet_new(return_arg_run, (void *)3, g);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_free(g) == 0);
    /* child's parent was discarded unstarted: the return skips it */
    TEST_ASSERT(moss_greenlet_switch(child, NULL, &out) == 0 && (intptr_t)out == 3);
    TEST_ASSERT(moss_greenlet_free(child) == 0);
    TEST_ASSERT(strcmp(trail.steps, "r") == 0);
    TEST_ASSERT(moss_greenlet_free(moss_greenlet_main()) == -1 && errno == EINVAL);
}

/* ---- errno belongs to each greenlet ---------------------------------------------- */

static void *errno_run(void *arg)
{
    (void)arg;
    TEST_ASSERT(errno == 0); /* a new greenlet starts clean */
    for (int i = 0; i < 3; i++) {
        errno = ENOENT;
        TEST_ASSERT(moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == 0);
        TEST_ASSERT(errno == ENOENT);
    }
    return NULL;
}

static void case_errno_per_greenlet(void)
{
    moss_greenlet_t *g = moss_greenlet_new(errno_run, NULL, NULL);

    for (int i = 0; i < 4; i++) {
        errno = EAGAIN;
        TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);
        TEST_ASSERT(errno == EAGAIN);
    }
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- parents ------------------------------------------------------------------- */

static void case_set_parent(void)
{
    moss_greenlet_t *a = moss_greenlet_new(return_arg_run, (void *)1, NULL);
    moss_greenlet_t *b = moss_greenlet_new(return_arg_run, (void *)2, a);
    void *out = NULL;

    TEST_ASSERT(moss_greenlet_set_parent(a, b) == -1 && errno == EINVAL); /* cycle */
    TEST_ASSERT(moss_greenlet_set_parent(a, a) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_set_parent(moss_greenlet_main(), a) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_parent(moss_greenlet_main()) == NULL);
    TEST_ASSERT(moss_greenlet_set_parent(b, moss_greenlet_main()) == 0);
    TEST_ASSERT(moss_greenlet_set_parent(a, b) == 0);
    /* a now returns into b, which starts, and b returns to main */
    TEST_ASSERT(moss_greenlet_switch(a, NULL, &out) == 0 && (intptr_t)out == 2);
    TEST_ASSERT(strcmp(trail.steps, "rr") == 0);
    TEST_ASSERT(moss_greenlet_free(a) == 0 && moss_greenlet_free(b) == 0);
}

/* ---- tracing ------------------------------------------------------------------- */

struct trace_record {
    moss_trace_event_t event;
    moss_greenlet_t *origin, *target;
};

static struct trace_record traced[16];
static size_t traced_count;

static void trace_record_hook(moss_trace_event_t event, moss_greenlet_t *origin,
                              moss_greenlet_t *target, void *arg)
{
    TEST_ASSERT(arg == &traced_count);
    TEST_ASSERT(traced_count < 16);
    traced[traced_count++] = (struct trace_record){event, origin, target};
}

static void expect_trace(size_t i, moss_trace_event_t event, moss_greenlet_t *origin,
                         moss_greenlet_t *target)
{
    TEST_ASSERT(i < traced_count);
    TEST_ASSERT(traced[i].event == event);
    TEST_ASSERT(traced[i].origin == origin && traced[i].target == target);
}

static void case_trace_hook(void)
{
    moss_greenlet_t *main_g = moss_greenlet_main();
    int caught = 0;
    moss_greenlet_t *g = moss_greenlet_new(catcher_run, &caught, NULL);
    moss_greenlet_t *u = moss_greenlet_new(must_not_run, NULL, NULL);
    moss_trace_t previous = moss_settrace(trace_record_hook, &traced_count);

    TEST_ASSERT(previous.fn == NULL);
    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);   /* main -> g, g -> main */
    TEST_ASSERT(moss_greenlet_throw(g, EINTR) == 0);         /* throw main -> g, g dies -> main */
    TEST_ASSERT(moss_greenlet_throw(u, EINTR) == -1);        /* throw main -> u, u dies -> main */
    previous = moss_settrace(NULL, NULL);
    TEST_ASSERT(previous.fn == trace_record_hook && previous.arg == &traced_count);
    TEST_ASSERT(traced_count == 6);
    expect_trace(0, MOSS_TRACE_SWITCH, main_g, g);
    expect_trace(1, MOSS_TRACE_SWITCH, g, main_g);
    expect_trace(2, MOSS_TRACE_THROW, main_g, g);
    expect_trace(3, MOSS_TRACE_SWITCH, g, main_g);
    expect_trace(4, MOSS_TRACE_THROW, main_g, u);
    expect_trace(5, MOSS_TRACE_SWITCH, u, main_g);
    TEST_ASSERT(moss_greenlet_free(g) == 0 && moss_greenlet_free(u) == 0);
}

static void *monitor_run(void *arg)
{
    const moss_switch_monitor_t *m = arg;

    TEST_ASSERT(atomic_load(&m->current_id) == moss_greenlet_id(moss_greenlet_current()));
    return NULL;
}

static void case_switch_monitor(void)
{
    const moss_switch_monitor_t *m = moss_switch_monitor();
    moss_greenlet_t *g = moss_greenlet_new(monitor_run, (void *)m, NULL);
    uint64_t before = atomic_load(&m->switches);

    TEST_ASSERT(atomic_load(&m->current_id) == moss_greenlet_id(moss_greenlet_main()));
    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);
    TEST_ASSERT(atomic_load(&m->switches) == before + 2);
    TEST_ASSERT(atomic_load(&m->current_id) == moss_greenlet_id(moss_greenlet_main()));
    TEST_ASSERT(moss_greenlet_id(g) != moss_greenlet_id(moss_greenlet_main()));
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- names ----------------------------------------------------------------------- */

static void case_names(void)
{
    moss_greenlet_opts_t opts = {.name = "a-name-that-is-longer-than-thirty-one-bytes"};
    moss_greenlet_t *g = moss_greenlet_create(return_arg_run, NULL, &opts);

    TEST_ASSERT(strlen(moss_greenlet_name(g)) == MOSS_GREENLET_NAME_MAX);
    TEST_ASSERT(strncmp(moss_greenlet_name(g), opts.name, MOSS_GREENLET_NAME_MAX) == 0);
    moss_greenlet_set_name(g, "conn-7");
    TEST_ASSERT(strcmp(moss_greenlet_name(g), "conn-7") == 0);
    TEST_ASSERT(strcmp(moss_greenlet_name(moss_greenlet_main()), "main") == 0);
    TEST_ASSERT(moss_greenlet_create(NULL, NULL, NULL) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- threads ------------------------------------------------------------------- */

/* The owner thread keeps its greenlet alive until the main thread has tried
 * to use it, then frees it itself. */
struct foreign {
    moss_greenlet_t *g;
    sem_t made, checked;
};

static void *foreign_owner(void *arg)
{
    struct foreign *f = arg;
    moss_greenlet_t *own = moss_greenlet_new(return_arg_run, NULL, NULL);

    TEST_ASSERT(own != NULL && moss_greenlet_switch(own, NULL, NULL) == 0);
    TEST_ASSERT(moss_greenlet_free(own) == 0);
    f->g = moss_greenlet_new(return_arg_run, NULL, NULL);
    sem_post(&f->made);
    while (sem_wait(&f->checked) == -1)
        TEST_ASSERT(errno == EINTR);
    TEST_ASSERT(moss_greenlet_free(f->g) == 0);
    return NULL;
}

static void case_foreign_thread(void)
{
    struct foreign f = {.g = NULL};
    moss_greenlet_opts_t opts = {0};
    pthread_t thread;

    TEST_ASSERT(sem_init(&f.made, 0, 0) == 0 && sem_init(&f.checked, 0, 0) == 0);
    TEST_ASSERT(pthread_create(&thread, NULL, foreign_owner, &f) == 0);
    while (sem_wait(&f.made) == -1)
        TEST_ASSERT(errno == EINTR);
    TEST_ASSERT(f.g != NULL);
    errno = 0;
    TEST_ASSERT(moss_greenlet_switch(f.g, NULL, NULL) == -1 && errno == EPERM);
    TEST_ASSERT(moss_greenlet_throw(f.g, EINTR) == -1 && errno == EPERM);
    TEST_ASSERT(moss_greenlet_free(f.g) == -1 && errno == EPERM);
    opts.parent = f.g;
    TEST_ASSERT(moss_greenlet_create(return_arg_run, NULL, &opts) == NULL && errno == EPERM);
    TEST_ASSERT(moss_greenlet_switch(NULL, NULL, NULL) == -1 && errno == EINVAL);
    sem_post(&f.checked);
    TEST_ASSERT(pthread_join(thread, NULL) == 0);
}

const struct moss_test_case moss_test_greenlet_cases[] = {
    {"ping_pong", case_ping_pong},
    {"chain_nested_parents", case_chain_nested_parents},
    {"values_in_and_out", case_values_in_and_out},
    {"return_to_parent_then_dead", case_return_to_parent_then_dead},
    {"dead_parent_skipped", case_dead_parent_skipped},
    {"throw_into_suspended", case_throw_into_suspended},
    {"throw_into_unstarted", case_throw_into_unstarted},
    {"throw_unstarted_error_goes_to_parent", case_throw_unstarted_error_goes_to_parent},
    {"free_unstarted_never_runs", case_free_unstarted_never_runs},
    {"errno_per_greenlet", case_errno_per_greenlet},
    {"set_parent", case_set_parent},
    {"trace_hook", case_trace_hook},
    {"switch_monitor", case_switch_monitor},
    {"names", case_names},
    {"foreign_thread", case_foreign_thread},
    {NULL, NULL},
};
