/* One worker process: moss_serve sets it up (logs, listeners, app), and
 * moss__worker_run serves until a signal, then drains or stops.
 *
 * Signals are libev signal watchers on the hub's loop. Their callback only
 * records the signal and sets an Event; the main greenlet, waiting on it,
 * does the work. SIGTERM drains: stop accepting, mark the worker draining,
 * close connections idle for MOSS__DRAIN_IDLE_GRACE_MS (re-swept every
 * DRAIN_TICK_MS, since a connection can go idle after the first sweep), wait for the rest up to
 * graceful_timeout_ms, then cancel what remains. SIGINT and SIGQUIT, also
 * during a drain, cancel every connection at once.
 *
 * Counters: the hub's and the greenlet layer's figures (greenlets,
 * switches, loop iterations) are copied into w->counters by a greenlet every
 * REFRESH_MS, and once more at the end; the stream server keeps the
 * connection counters itself, as they change. */
#include "listener.h"

#include "../runtime/hub.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REFRESH_MS 100
#define DRAIN_TICK_MS 50
#define CANCEL_WAIT_MS 1000   /* for cancelled connections to unwind */

static const int worker_signal_numbers[] = {SIGTERM, SIGINT, SIGQUIT, SIGUSR1};
#define WORKER_SIGNALS (sizeof(worker_signal_numbers) / sizeof(worker_signal_numbers[0]))

/* On the heap: the loop holds the watchers, and nothing the loop touches
 * lives on a greenlet's stack. */
struct worker_signals {
    ev_signal watchers[WORKER_SIGNALS];
    moss_event_t *event;           /* set by any of the signals */
    int received;                  /* the last stop signal, 0 before any */
    int reopen;                    /* SIGUSR1 came: reopen the logs */
    struct ev_loop *loop;
};

/* What moss_serve allocates for a worker: one block, freed on return. */
struct worker_block {
    struct moss__worker w;
    struct moss__worker_counters counters;
    moss_app_t app;                /* a loaded plugin's app */
};

/* ---- signals ------------------------------------------------------------------ */

/* Runs in the hub between callbacks, not in a signal handler; still, it does
 * no work: note the signal, wake the waiting greenlet. */
static void worker_signal_cb(struct ev_loop *loop, ev_signal *watcher, int revents)
{
    struct worker_signals *sig = watcher->data;

    (void)loop, (void)revents;
    if (watcher->signum == SIGUSR1)
        sig->reopen = 1;
    else
        sig->received = watcher->signum;
    moss_event_set(sig->event);
}

static void worker_signals_stop(struct worker_signals *sig)
{
    for (size_t i = 0; i < WORKER_SIGNALS; i++)
        ev_signal_stop(sig->loop, &sig->watchers[i]);
    moss_event_free(sig->event);
    free(sig);
}

static struct worker_signals *worker_signals_start(void)
{
    struct moss__hub *hub = moss__hub_get();
    struct worker_signals *sig;

    if (hub == NULL)
        return NULL;
    sig = calloc(1, sizeof(*sig));
    if (sig == NULL)
        return NULL;
    sig->event = moss_event_new();
    if (sig->event == NULL) {
        free(sig);
        return NULL;
    }
    sig->loop = hub->loop;
    for (size_t i = 0; i < WORKER_SIGNALS; i++) {
        ev_signal_init(&sig->watchers[i], worker_signal_cb, worker_signal_numbers[i]);
        sig->watchers[i].data = sig;
        ev_signal_start(sig->loop, &sig->watchers[i]);
    }
    return sig;
}

static const char *worker_signal_name(int signum)
{
    switch (signum) {
    case SIGTERM:
        return "SIGTERM";
    case SIGINT:
        return "SIGINT";
    case SIGQUIT:
        return "SIGQUIT";
    default:
        return "no signal"; /* the wait itself failed: stop as for SIGINT */
    }
}

static int worker_stop_now(const struct worker_signals *sig)
{
    return sig->received == SIGINT || sig->received == SIGQUIT;
}

/* ---- counters ------------------------------------------------------------------- */

static void worker_counters_refresh(struct moss__worker *w)
{
    moss_hub_stats_t hub;
    moss_greenlet_stats_t greenlets;

    moss_hub_stats(&hub);
    moss_greenlet_stats(&greenlets);
    atomic_store_explicit(&w->counters->greenlets, hub.greenlets_alive, memory_order_relaxed);
    atomic_store_explicit(&w->counters->switches, greenlets.switches, memory_order_relaxed);
    atomic_store_explicit(&w->counters->loop_iterations, hub.loop_iterations,
                          memory_order_relaxed);
    if (w->score != NULL)
        moss__score_beat(w->score);
}

static void *worker_refresh_run(void *arg)
{
    struct moss__worker *w = arg;

    do
        worker_counters_refresh(w);
    while (moss_sleep(REFRESH_MS) == 0);
    return NULL;
}

/* ---- stopping ------------------------------------------------------------------- */

static size_t worker_conn_count(const struct moss__worker *w)
{
    size_t n = 0;

    for (const struct moss__conn_entry *e = w->conns; e != NULL; e = e->next)
        n++;
    return n;
}

/* Cancels every connection and gives them CANCEL_WAIT_MS to unwind. */
static void worker_cancel_all(struct moss__worker *w)
{
    moss__stream_server_kill(w, 0);
    if (moss__stream_server_join(w, moss_now() + CANCEL_WAIT_MS) == -1)
        moss__worker_log(w, "%zu connections did not end after being cancelled",
                         worker_conn_count(w));
}

/* SIGTERM: connections finish what they are doing, up to the deadline. */
static void worker_drain(struct moss__worker *w, const struct worker_signals *sig)
{
    int64_t deadline = moss_now() + w->config->graceful_timeout_ms;

    moss__worker_log(w, "draining %zu connections (up to %lld ms)", worker_conn_count(w),
                     (long long)w->config->graceful_timeout_ms);
    w->draining = 1;
    while (w->conns != NULL && moss_now() < deadline && !worker_stop_now(sig)) {
        int64_t tick = moss_now() + DRAIN_TICK_MS;

        moss__stream_server_kill(w, 1);
        moss__stream_server_join(w, tick < deadline ? tick : deadline);
    }
    if (w->conns == NULL)
        return;
    moss__worker_log(w, "%s: cancelling %zu connections",
                     worker_stop_now(sig) ? "stop" : "graceful timeout", worker_conn_count(w));
    worker_cancel_all(w);
}

/* Once it accepts no more, the worker lets its listeners go: a reuse_port
 * socket a slot no longer has (SIGTTOU) leaves the kernel's group when its
 * last holder closes it, instead of collecting connections nobody accepts.
 * A shared socket lives on in the master and the other workers. */
static void worker_close_listeners(struct moss__worker *w)
{
    for (size_t i = 0; i < w->listener_count; i++)
        moss__listener_close(&w->listeners[i]);
}

static void worker_shutdown(struct moss__worker *w, const struct worker_signals *sig)
{
    moss__stream_server_stop(w);
    worker_close_listeners(w);
    if (w->score != NULL)
        moss__score_set_state(w->score, MOSS__WORKER_DRAINING);
    if (sig->received == SIGTERM) {
        worker_drain(w, sig);
    } else {
        w->draining = 1;
        worker_cancel_all(w);
    }
}

/* ---- the run loop ------------------------------------------------------------------ */

/* The line tests and operators look for, one per listener. */
static void worker_log_serving(const struct moss__worker *w)
{
    FILE *out = w->error_log != NULL ? w->error_log : stderr;

    for (size_t i = 0; i < w->listener_count; i++)
        fprintf(out, "moss: serving on %s\n", w->listeners[i].address);
    fflush(out);
}

/* Until a stop signal comes, reopening the logs on the way for SIGUSR1.
 * The signal watchers keep the loop alive, so the wait cannot fail with
 * EDEADLK; should it fail anyway, the worker stops. */
static void worker_wait_signal(struct moss__worker *w, struct worker_signals *sig)
{
    while (sig->received == 0) {
        if (moss_event_wait(sig->event, MOSS_FOREVER) == -1) {
            moss__worker_log(w, "waiting for signals: %s", strerror(errno));
            return;
        }
        moss_event_clear(sig->event);
        if (sig->reopen) {
            sig->reopen = 0;
            if (moss__worker_logs_reopen(w) == 0)
                moss__worker_log(w, "SIGUSR1: logs reopened");
        }
    }
}

static int worker_watchdog_start(struct moss__worker *w)
{
    if (!w->config->watchdog)
        return 0;
    w->watchdog = moss__watchdog_log_start(w->config, w->score);
    return w->watchdog != NULL ? 0 : -1;
}

static void worker_watchdog_stop(struct moss__worker *w)
{
    moss__watchdog_log_stop(w->watchdog);
    w->watchdog = NULL;
}

/* Ready before the first park, so that no accept has run before the
 * master hears it. */
static void worker_mark_ready(struct moss__worker *w)
{
    if (w->score == NULL)
        return;
    moss__score_beat(w->score);
    moss__score_set_state(w->score, MOSS__WORKER_READY);
}

/* Serves until a stop signal, then drains or stops, and lets the
 * refresher go. */
static void worker_serve(struct moss__worker *w, struct worker_signals *sig,
                         moss_greenlet_t *refresher)
{
    worker_log_serving(w);
    worker_mark_ready(w);
    worker_wait_signal(w, sig);
    moss__worker_log(w, "%s received", worker_signal_name(sig->received));
    worker_shutdown(w, sig);
    moss_kill(refresher);
    moss_join(refresher, MOSS_FOREVER, NULL);
    worker_counters_refresh(w);
    if (moss__stream_server_free(w) == -1)
        moss__worker_log(w, "stream server: %s; leaving it", strerror(errno));
}

int moss__worker_run(struct moss__worker *w)
{
    struct worker_signals *sig = worker_signals_start();
    moss_greenlet_t *refresher;
    int err;

    if (sig == NULL)
        return moss__worker_fail(w, "signal watchers: %s", strerror(errno));
    if (moss__stream_server_start(w) == -1) {
        err = errno;
        moss__worker_fail(w, "starting the stream server: %s", strerror(errno));
        goto stop_signals;
    }
    if (worker_watchdog_start(w) == -1) {
        err = errno;
        moss__worker_fail(w, "starting the watchdog: %s", strerror(errno));
        goto stop_server;
    }
    refresher = moss_spawn(worker_refresh_run, w);
    if (refresher == NULL) {
        err = errno;
        moss__worker_fail(w, "spawning the counters refresher: %s", strerror(errno));
        goto stop_watchdog;
    }
    worker_serve(w, sig, refresher);
    worker_watchdog_stop(w);
    worker_signals_stop(sig);
    return 0;

stop_watchdog:
    worker_watchdog_stop(w);
stop_server:
    moss__stream_server_stop(w);
    moss__stream_server_free(w);
stop_signals:
    worker_signals_stop(sig);
    errno = err;
    return -1;
}
