/* The watchdog's monitor thread and what the hub publishes for it (see
 * watchdog.h). */
#include "greenlet.h"
#include "hub.h"
#include "watchdog.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define CAPTURE_WAIT_MS 1000        /* for the handler to run on the blocked thread (valgrind is slow) */
#define RATE_WINDOW_MS 60000

/* Shared between the hub thread (writes) and the monitor (reads). */
struct watch_public {
    _Atomic int64_t last_switch_ms;  /* CLOCK_MONOTONIC_COARSE */
    _Atomic int polling;
    /* the last gap between switches longer than max_blocking_ms, measured by
     * the hook at the switch that ended it: an episode's exact length */
    _Atomic int64_t gap_from_ms, gap_ms;
    _Atomic uint64_t gap_greenlet;   /* the greenlet that ran through that gap */
};

/* The monitor's own state, touched only by its thread. */
struct watch_episode {
    int active;
    int killed;
    int64_t started_ms;              /* the last switch before it */
    int64_t seen_gap_from_ms;        /* the last gap reported, by a look or late */
    struct moss__block_report report;
    int64_t window_start_ms;         /* rate limit */
    unsigned window_reports;
    unsigned suppressed;
};

struct moss__watchdog {
    struct watch_public pub;
    struct moss__watchdog_opts opts;
    struct moss__hub *hub;
    pthread_t hub_thread, thread;
    int wake_fd;                     /* an eventfd: wakes the monitor to stop or pause */
    _Atomic int stopping;
    /* fork: the forking thread asks the monitor to pause, and forks only once
     * it has, so that the monitor holds no lock (the allocator's, the
     * loader's) that the child would inherit held */
    _Atomic int pause_requested, paused;
    moss_trace_t chained;            /* the hook installed before ours */
    struct moss__block_capture capture;
    struct watch_episode episode;
};

static _Thread_local struct moss__watchdog *watchdog_self;

static int64_t watch_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void moss__greenlet_set_context(moss_greenlet_t *g, const char *context)
{
    if (g != NULL)
        g->context = context;
}

/* ---- the hub thread's side ----------------------------------------------------- */

static void watch_trace(moss_trace_event_t event, moss_greenlet_t *origin,
                        moss_greenlet_t *target, void *arg)
{
    struct moss__watchdog *wd = arg;
    int64_t now = watch_clock_ms();
    int64_t last = atomic_load_explicit(&wd->pub.last_switch_ms, memory_order_relaxed);

    if (now - last > wd->opts.max_blocking_ms) {
        atomic_store_explicit(&wd->pub.gap_greenlet, origin != NULL ? origin->id : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&wd->pub.gap_ms, now - last, memory_order_relaxed);
        atomic_store_explicit(&wd->pub.gap_from_ms, last, memory_order_release);
    }
    atomic_store_explicit(&wd->pub.last_switch_ms, now, memory_order_relaxed);
    if (wd->chained.fn != NULL)
        wd->chained.fn(event, origin, target, wd->chained.arg);
}

/* libev calls these around its blocking poll. */
static void watch_loop_release(struct ev_loop *loop)
{
    (void)loop;
    if (watchdog_self != NULL)
        atomic_store_explicit(&watchdog_self->pub.polling, 1, memory_order_relaxed);
}

static void watch_loop_acquire(struct ev_loop *loop)
{
    (void)loop;
    if (watchdog_self == NULL)
        return;
    atomic_store_explicit(&watchdog_self->pub.last_switch_ms, watch_clock_ms(),
                          memory_order_relaxed);
    atomic_store_explicit(&watchdog_self->pub.polling, 0, memory_order_relaxed);
}

/* ---- the monitor thread ---------------------------------------------------------- */

/* The rate limit: at most reports_per_minute episodes reported a minute. */
static int watch_may_report(struct moss__watchdog *wd, int64_t now)
{
    struct watch_episode *ep = &wd->episode;

    if (wd->opts.reports_per_minute == 0)
        return 1;
    if (now - ep->window_start_ms >= RATE_WINDOW_MS) {
        ep->window_start_ms = now;
        ep->window_reports = 0;
    }
    if (ep->window_reports >= wd->opts.reports_per_minute) {
        ep->suppressed++;
        return 0;
    }
    ep->window_reports++;
    return 1;
}

/* Hands an episode's first report over, within the rate limit: a report let
 * through carries the count of those that were not. */
static void watch_report_first(struct moss__watchdog *wd, struct moss__block_report *r,
                               int64_t now)
{
    struct watch_episode *ep = &wd->episode;

    r->rate_limited = !watch_may_report(wd, now);
    if (!r->rate_limited) {
        r->suppressed = ep->suppressed;
        ep->suppressed = 0;
    }
    if (wd->opts.on_report != NULL)
        wd->opts.on_report(r, wd->opts.arg);
}

static void watch_episode_start(struct moss__watchdog *wd, int64_t last, int64_t now)
{
    struct watch_episode *ep = &wd->episode;
    struct moss__block_report *r = &ep->report;

    memset(r, 0, sizeof(*r));
    ep->active = 1;
    ep->killed = 0;
    ep->started_ms = ep->seen_gap_from_ms = last;
    r->at = (int64_t)time(NULL) - (now - last) / 1000;
    if (moss__block_capture_take(&wd->capture, wd->hub_thread, CAPTURE_WAIT_MS) == 0)
        moss__block_capture_symbolize(&wd->capture, r);
    r->ms = watch_clock_ms() - last;
    r->ongoing = 1;
    watch_report_first(wd, r, now);
}

/* The hub switched again: the final duration, from the hook when it
 * measured this very gap, else what the monitor saw. */
static void watch_episode_end(struct moss__watchdog *wd, int64_t now)
{
    struct watch_episode *ep = &wd->episode;
    int64_t from = atomic_load_explicit(&wd->pub.gap_from_ms, memory_order_acquire);

    ep->active = 0;
    ep->report.ms = from == ep->started_ms
                        ? atomic_load_explicit(&wd->pub.gap_ms, memory_order_relaxed)
                        : now - ep->started_ms;
    ep->report.ongoing = 0;
    if (wd->opts.on_report != NULL)
        wd->opts.on_report(&ep->report, wd->opts.arg);
}

/* A gap the hook measured that no look saw: one report, ended and late. */
static void watch_episode_missed(struct moss__watchdog *wd, int64_t now)
{
    struct watch_episode *ep = &wd->episode;
    struct moss__block_report *r = &ep->report;
    int64_t from = atomic_load_explicit(&wd->pub.gap_from_ms, memory_order_acquire);

    if (from == 0 || from == ep->seen_gap_from_ms)
        return;
    ep->seen_gap_from_ms = from;
    memset(r, 0, sizeof(*r));
    r->greenlet = atomic_load_explicit(&wd->pub.gap_greenlet, memory_order_relaxed);
    r->ms = atomic_load_explicit(&wd->pub.gap_ms, memory_order_relaxed);
    r->at = (int64_t)time(NULL) - (now - from) / 1000;
    r->late = 1;
    watch_report_first(wd, r, now);
}

static void watch_look(struct moss__watchdog *wd)
{
    struct watch_episode *ep = &wd->episode;
    int64_t now = watch_clock_ms();
    int64_t last = atomic_load_explicit(&wd->pub.last_switch_ms, memory_order_relaxed);
    int blocked = !atomic_load_explicit(&wd->pub.polling, memory_order_relaxed) &&
                  now - last > wd->opts.max_blocking_ms;

    if (ep->active && (!blocked || last != ep->started_ms))
        watch_episode_end(wd, now);
    if (!ep->active)
        watch_episode_missed(wd, now);
    if (blocked && !ep->active)
        watch_episode_start(wd, last, now);
    if (ep->active && !ep->killed && wd->opts.kill_ms > 0 &&
        now - ep->started_ms > wd->opts.kill_ms && wd->opts.on_kill != NULL) {
        ep->killed = 1;
        ep->report.ms = now - ep->started_ms;
        wd->opts.on_kill(&ep->report, wd->opts.arg);
    }
}

static void watch_wake(struct moss__watchdog *wd)
{
    uint64_t one = 1;

    if (write(wd->wake_fd, &one, sizeof(one)) == -1)
        abort(); /* an eventfd write of 1 cannot fail: the thread would never hear */
}

/* Waits up to timeout_ms (-1: forever) for a wake: 1 if woken, 0 if not. */
static int watch_sleep(struct moss__watchdog *wd, int timeout_ms)
{
    struct pollfd p = {.fd = wd->wake_fd, .events = POLLIN};
    uint64_t count;

    if (poll(&p, 1, timeout_ms) != 1)
        return 0;
    if (read(wd->wake_fd, &count, sizeof(count)) == -1)
        return 0;
    return 1;
}

/* Parked in poll, holding nothing, until the fork is over. */
static void watch_pause(struct moss__watchdog *wd)
{
    atomic_store_explicit(&wd->paused, 1, memory_order_release);
    while (atomic_load_explicit(&wd->pause_requested, memory_order_acquire) &&
           !atomic_load_explicit(&wd->stopping, memory_order_acquire))
        watch_sleep(wd, -1);
    atomic_store_explicit(&wd->paused, 0, memory_order_release);
}

static void *watch_main(void *arg)
{
    struct moss__watchdog *wd = arg;

    while (!atomic_load_explicit(&wd->stopping, memory_order_acquire)) {
        if (atomic_load_explicit(&wd->pause_requested, memory_order_acquire))
            watch_pause(wd);
        else if (!watch_sleep(wd, (int)wd->opts.interval_ms))
            watch_look(wd);
    }
    /* an episode that ended since the last look still gets its end report */
    if (wd->episode.active &&
        atomic_load_explicit(&wd->pub.last_switch_ms, memory_order_relaxed) !=
            wd->episode.started_ms)
        watch_episode_end(wd, watch_clock_ms());
    watch_episode_missed(wd, watch_clock_ms());
    return NULL;
}

/* ---- start and stop (the hub's thread) --------------------------------------------- */

static int watch_opts_valid(const struct moss__watchdog_opts *opts)
{
    return opts != NULL && opts->interval_ms > 0 && opts->max_blocking_ms > 0 &&
           opts->kill_ms >= 0;
}

/* The monitor takes no signal meant for the process. */
static int watch_thread_start(struct moss__watchdog *wd)
{
    sigset_t all, old;
    int err;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&wd->thread, NULL, watch_main, wd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

/* Undoes what the hub thread installed: the hook (if still ours), the
 * loop callbacks, the capture buffer. */
static void watch_unhook(struct moss__watchdog *wd)
{
    moss_trace_t current = moss_settrace(wd->chained.fn, wd->chained.arg);

    if (current.fn != watch_trace || current.arg != wd)
        moss_settrace(current.fn, current.arg); /* someone chained after us: leave theirs */
    ev_set_loop_release_cb(wd->hub->loop, NULL, NULL);
    moss__block_capture_fini();
    watchdog_self = NULL;
}

static pthread_once_t watch_fork_once = PTHREAD_ONCE_INIT;

/* A forked child has no monitor thread: it lets the parent's go, so that it
 * can start its own. */
static void watch_fork_child(void)
{
    struct moss__watchdog *wd = watchdog_self;

    if (wd == NULL)
        return;
    watch_unhook(wd);
    close(wd->wake_fd);
    free(wd);
}

#define PAUSE_WAIT_MS 2000         /* a look in progress ends within its capture wait */

/* Before a fork on the hub's thread: the monitor pauses first. */
static void watch_fork_prepare(void)
{
    struct moss__watchdog *wd = watchdog_self;
    struct timespec step = {.tv_sec = 0, .tv_nsec = 1000000};

    if (wd == NULL)
        return;
    atomic_store_explicit(&wd->pause_requested, 1, memory_order_release);
    watch_wake(wd);
    for (int i = 0; i < PAUSE_WAIT_MS; i++) {
        if (atomic_load_explicit(&wd->paused, memory_order_acquire))
            return;
        nanosleep(&step, NULL);
    }
}

static void watch_fork_parent(void)
{
    struct moss__watchdog *wd = watchdog_self;

    if (wd == NULL)
        return;
    atomic_store_explicit(&wd->pause_requested, 0, memory_order_release);
    watch_wake(wd);
}

static void watch_register_fork(void)
{
    pthread_atfork(watch_fork_prepare, watch_fork_parent, watch_fork_child);
}

static int watch_hook(struct moss__watchdog *wd)
{
    if (moss__block_capture_init(&wd->capture) == -1)
        return -1;
    atomic_store_explicit(&wd->pub.last_switch_ms, watch_clock_ms(), memory_order_relaxed);
    wd->chained = moss_settrace(watch_trace, wd);
    watchdog_self = wd;
    ev_set_loop_release_cb(wd->hub->loop, watch_loop_release, watch_loop_acquire);
    pthread_once(&watch_fork_once, watch_register_fork);
    return 0;
}

struct moss__watchdog *moss__watchdog_start(const struct moss__watchdog_opts *opts)
{
    struct moss__watchdog *wd;
    int err;

    if (!watch_opts_valid(opts) || watchdog_self != NULL) {
        errno = opts == NULL || !watch_opts_valid(opts) ? EINVAL : EBUSY;
        return NULL;
    }
    wd = calloc(1, sizeof(*wd));
    if (wd == NULL || (wd->hub = moss__hub_get()) == NULL)
        goto free_wd;
    wd->opts = *opts;
    wd->hub_thread = pthread_self();
    wd->wake_fd = eventfd(0, EFD_CLOEXEC);
    if (wd->wake_fd == -1)
        goto free_wd;
    if (watch_hook(wd) == -1)
        goto close_fd;
    if (watch_thread_start(wd) == -1)
        goto unhook;
    return wd;

unhook:
    watch_unhook(wd);
close_fd:
    err = errno;
    close(wd->wake_fd);
    errno = err;
free_wd:
    err = errno;
    free(wd);
    errno = err;
    return NULL;
}

void moss__watchdog_stop(struct moss__watchdog *wd)
{
    if (wd == NULL)
        return;
    atomic_store_explicit(&wd->stopping, 1, memory_order_release);
    watch_wake(wd);
    pthread_join(wd->thread, NULL);
    watch_unhook(wd);
    close(wd->wake_fd);
    free(wd);
}
