/* Generations and SIGHUP reloads, behind a readiness gate:
 *   1. the new config is read and checked; if it is bad, nothing changes
 *      but the failed-reload count and the last error;
 *   2. a new generation of workers is forked with it; each loads the app
 *      afresh and reports READY in the scoreboard once it can serve;
 *   3. only when every one of them is ready are the old workers told to
 *      drain (the gate), all at once: until then the old generation serves
 *      everything, and a rollback costs nothing;
 *   4. if a new worker dies before the gate opens, or reload_timeout passes,
 *      the new generation is stopped and the old one goes on, untouched.
 * The first generation, at start, goes through the same gate, and its
 * failure stops the master (there is nothing to roll back to). A SIGHUP
 * during a reload is queued and runs after it. */
#include "os.h"
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROLLBACK_GRACE_MS 5000     /* for new workers told to stop: none serves much yet */

struct moss__master_reload {
    uint64_t generation;
    moss_config_t *config;         /* owned until the commit hands it to the master */
    unsigned workers;
    int64_t deadline_ms;
    int64_t started_ms;
    int initial;
};

/* A worker of a rolled-back reload has the same generation number as the
 * next reload's (numbers are reused: the committed ones go up by one), but
 * it is stopping: its death is not the new reload's failure. */
int moss__master_reload_owns(const struct moss__master *m, const struct moss__master_proc *proc)
{
    return m->reload != NULL && proc->generation == m->reload->generation && !proc->stopping;
}

/* Where a reload ends, either way: /stats, the log, systemd. */
static void reload_record(struct moss__master *m, int ok, const char *error)
{
    struct moss__master_reloads *r = &m->reloads;

    if (ok)
        r->ok++;
    else
        r->failed++;
    r->has_last = 1;
    r->last_at = (int64_t)time(NULL);
    r->last_ok = ok;
    snprintf(r->last_error, sizeof(r->last_error), "%s", ok ? "" : error);
    if (!ok)
        moss__master_log(m, "reload failed: %s; generation %llu goes on serving", error,
                         (unsigned long long)m->generation);
}

static void reload_free(struct moss__master *m)
{
    if (m->reload == NULL)
        return;
    moss_config_free(m->reload->config);
    free(m->reload);
    m->reload = NULL;
}

static void reload_stop_generation(struct moss__master *m, uint64_t generation)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        struct moss__master_proc *p = &m->procs[i];

        if (p->used && p->generation == generation && !p->stopping)
            moss__master_stop_proc(m, p, SIGTERM, ROLLBACK_GRACE_MS);
    }
}

static void reload_rollback(struct moss__master *m, const char *error)
{
    struct moss__master_reload *r = m->reload;
    char status[MOSS__MASTER_ERROR_MAX + 64];

    reload_stop_generation(m, r->generation);
    if (r->initial) {
        moss__master_log(m, "the workers could not start: %s", error);
        m->fatal = 1;
        reload_free(m);
        return;
    }
    reload_record(m, 0, error);
    reload_free(m);
    snprintf(status, sizeof(status), "reload failed: %s", error);
    moss__master_status_notify(m, status);
}

/* The old generations drain; the new one becomes the master's. */
static void reload_commit(struct moss__master *m)
{
    struct moss__master_reload *r = m->reload;
    int64_t grace = m->config->graceful_timeout_ms + MOSS__STOP_MARGIN_MS;

    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        struct moss__master_proc *p = &m->procs[i];

        if (p->used && p->generation != r->generation && !p->stopping)
            moss__master_stop_proc(m, p, SIGTERM, grace);
    }
    if (r->config != NULL) {
        moss_config_free(m->config);
        m->config = r->config;
        r->config = NULL;
    }
    for (unsigned s = 0; s < MOSS__WORKERS_MAX; s++) {
        m->slots[s].crash_streak = 0;
        m->slots[s].respawn_due = 0;
        m->slots[s].backoff_until_ms = m->slots[s].backoff_ms = 0;
    }
    m->generation = r->generation;
    m->workers = r->workers;
    moss__master_log(m, "generation %llu ready: %u workers, in %lld ms",
                     (unsigned long long)m->generation, m->workers,
                     (long long)(moss__score_clock_ms() - r->started_ms));
    if (!r->initial)
        reload_record(m, 1, NULL);
    else
        moss__master_upgrade_ready(m);
    reload_free(m);
    moss__master_status_notify(m, NULL);
}

/* A copy of the config, or the moss command's re-read of its file and
 * flags; either way checked against what a reload cannot change. */
static int reload_read_config(struct moss__master *m, moss_config_t **out, char *error,
                              size_t error_len)
{
    const char *setting;

    if (m->opts.reload_config == NULL) {
        *out = moss_config_new();
        if (*out == NULL) {
            snprintf(error, error_len, "config: %s", strerror(errno));
            return -1;
        }
        memcpy(*out, m->config, sizeof(**out));
    } else if (m->opts.reload_config(m->opts.reload_arg, out, error, error_len) == -1) {
        return -1;
    }
    setting = moss__master_restart_setting(m->config, *out);
    if (setting == NULL)
        return 0;
    snprintf(error, error_len, "%s changed: that needs a restart (or a binary upgrade, SIGUSR2)",
             setting);
    moss_config_free(*out);
    *out = NULL;
    return -1;
}

unsigned moss__master_worker_count(const moss_config_t *config)
{
    unsigned cpus = moss__cpu_count();

    if (config->workers > 0)
        return (unsigned)config->workers;
    return cpus < MOSS__WORKERS_MAX ? cpus : MOSS__WORKERS_MAX;
}

/* A reload that fails before forking: nothing to undo. */
static void reload_refused(struct moss__master *m, const char *error)
{
    char status[MOSS__MASTER_ERROR_MAX + 64];

    reload_record(m, 0, error);
    snprintf(status, sizeof(status), "reload failed: %s", error);
    moss__master_status_notify(m, status);
}

static int reload_prepare(struct moss__master *m, struct moss__master_reload *r)
{
    char error[MOSS__MASTER_ERROR_MAX];

    if (r->initial)
        return 0;
    moss__master_log(m, "SIGHUP: reloading");
    if (moss__notify_reloading("reloading") == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
    if (reload_read_config(m, &r->config, error, sizeof(error)) == 0)
        return 0;
    reload_refused(m, error);
    return -1;
}

void moss__master_reload_start(struct moss__master *m, int initial)
{
    struct moss__master_reload *r;
    const moss_config_t *config;

    if (m->reload != NULL) {
        moss__master_log(m, "SIGHUP during a reload: another reload follows it");
        m->reload_queued = 1;
        return;
    }
    if (m->stopping || (r = calloc(1, sizeof(*r))) == NULL)
        return;
    r->initial = initial;
    if (reload_prepare(m, r) == -1) {
        free(r);
        return;
    }
    config = r->config != NULL ? r->config : m->config;
    r->generation = m->generation + 1;
    r->workers = moss__master_worker_count(config);
    r->started_ms = moss__score_clock_ms();
    r->deadline_ms = r->started_ms + config->reload_timeout_ms;
    m->reload = r;
    for (unsigned s = 0; s < r->workers; s++) {
        if (moss__master_spawn(m, s, r->generation, config) == NULL) {
            reload_rollback(m, "could not fork the new workers");
            return;
        }
    }
}

void moss__master_reload_check(struct moss__master *m)
{
    struct moss__master_reload *r = m->reload;
    char error[160];
    unsigned ready = 0;

    if (r == NULL)
        return;
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        const struct moss__master_proc *p = &m->procs[i];

        ready += p->used && p->generation == r->generation && p->ever_ready && !p->stopping;
    }
    if (ready >= r->workers) {
        reload_commit(m);
    } else if (moss__score_clock_ms() >= r->deadline_ms) {
        snprintf(error, sizeof(error), "%u of %u new workers not ready within reload_timeout",
                 r->workers - ready, r->workers);
        reload_rollback(m, error);
    }
    if (m->reload == NULL && m->reload_queued && !m->stopping) {
        m->reload_queued = 0;
        moss__master_reload_start(m, 0);
    }
}

void moss__master_reload_proc_exited(struct moss__master *m,
                                     const struct moss__master_proc *proc, int status)
{
    char how[96], error[256];

    moss__master_describe_status(status, how, sizeof(how));
    snprintf(error, sizeof(error), "new worker %ld (slot %u) %s before the new generation was ready",
             (long)proc->pid, proc->slot, how);
    reload_rollback(m, error);
}

void moss__master_reload_abort(struct moss__master *m, const char *why)
{
    if (m->reload == NULL)
        return;
    reload_stop_generation(m, m->reload->generation);
    if (!m->reload->initial)
        reload_record(m, 0, why);
    reload_free(m);
}
