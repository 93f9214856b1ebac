/* A whole worker process, as the master runs it after fork: its logs, its
 * app, its run loop on the listeners the master bound. */
#include "worker.h"

#include "app.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a worker allocates: one block, freed on return. */
struct worker_block {
    struct moss__worker w;
    moss_app_t app;                /* a loaded plugin's app */
};

/* The app given, else the plugin config->app names, else the demo; then its
 * init. */
static int worker_app_start(struct worker_block *b, const moss_app_t *app)
{
    struct moss__worker *w = &b->w;
    char error[512];

    if (app == NULL && w->config->app[0] != '\0') {
        if (moss__app_load(w->config->app, &b->app, error, sizeof(error)) == -1)
            return moss__worker_fail(w, "%s", error);
        app = &b->app;
    } else if (app == NULL) {
        app = moss__demo_app();
    }
    w->app = app;
    if (app->init == NULL)
        return 0;
    errno = 0;
    if (app->init(&w->app_data) == -1) {
        if (errno == 0)
            errno = ECANCELED;
        return moss__worker_fail(w, "app %s: init failed: %s",
                                app->name != NULL ? app->name : "?", strerror(errno));
    }
    return 0;
}

static void worker_app_stop(struct moss__worker *w)
{
    if (w->app->fini != NULL)
        w->app->fini(w->app_data);
}

int moss__worker_main(const struct moss_config *config, const moss_app_t *app,
                      const struct moss__listener *listeners, size_t count,
                      struct moss__score *score)
{
    struct worker_block *b = calloc(1, sizeof(*b));
    int rc = -1, err;

    if (b == NULL)
        return -1;
    b->w.config = config;
    b->w.score = score;
    b->w.counters = &score->counters;
    b->w.listener_count = count < MOSS__BIND_MAX ? count : MOSS__BIND_MAX;
    memcpy(b->w.listeners, listeners, b->w.listener_count * sizeof(listeners[0]));
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, not a death */
    if (moss__worker_logs_open(&b->w) == -1) {
        err = errno;
        goto close_logs;
    }
    if (moss_greenlet_set_stack_cache((size_t)config->stack_cache) == -1) {
        err = errno;
        moss__worker_fail(&b->w, "stack_cache %lld: %s", (long long)config->stack_cache,
                          strerror(errno));
        goto close_logs;
    }
    if (worker_app_start(b, app) == -1) {
        err = errno;
        goto close_logs;
    }
    b->w.serve = moss__http_serve;
    rc = moss__worker_run(&b->w);
    err = errno;
    worker_app_stop(&b->w);
close_logs:
    moss__worker_logs_close(&b->w);
    free(b);
    errno = err;
    return rc;
}
