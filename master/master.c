/* moss__master_run: the master's life. It sets up (logs, listeners, the
 * scoreboard, privileges, the admin server, the pid file, signals), starts
 * the first generation through the readiness gate, then supervises: a loop
 * on its main greenlet that wakes on a signal or every tick, dispatches the
 * signals, reaps, runs the reload gate and the checks, and refills the
 * slots. It ends once stopping and every worker is gone. */
#include "os.h"
#include "signals.h"
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_BUSY_MS 10            /* while workers start: the gate opens promptly */
#define TICK_IDLE_MS 100

static const char *const master_state_names[MOSS__WORKER_STATES] = {
    [MOSS__WORKER_STARTING] = "starting", [MOSS__WORKER_READY] = "ready",
    [MOSS__WORKER_DRAINING] = "draining", [MOSS__WORKER_BACKOFF] = "backoff"};

void moss__master_log(struct moss__master *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    moss__log_line(m != NULL ? m->error_log : NULL, "master: ", fmt, ap);
    va_end(ap);
}

enum moss__worker_state moss__master_proc_state(const struct moss__master_proc *proc)
{
    int32_t state = atomic_load_explicit(&proc->score->state, memory_order_relaxed);

    if (proc->stopping || state == MOSS__WORKER_DRAINING)
        return MOSS__WORKER_DRAINING;
    return state == MOSS__WORKER_READY ? MOSS__WORKER_READY : MOSS__WORKER_STARTING;
}

const char *moss__master_state_name(enum moss__worker_state state)
{
    return state < MOSS__WORKER_STATES ? master_state_names[state] : "unknown";
}

void moss__master_describe_status(int status, char *buf, size_t cap)
{
    if (WIFEXITED(status))
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, cap, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, cap, "ended (wait status %#x)", (unsigned)status);
}

void moss__master_status_notify(struct moss__master *m, const char *extra)
{
    char state[MOSS__MASTER_ERROR_MAX + 160];

    snprintf(state, sizeof(state), "READY=1\nSTATUS=generation %llu, %u workers%s%s",
             (unsigned long long)m->generation, m->workers, extra != NULL ? "; " : "",
             extra != NULL ? extra : "");
    if (moss__notify(state) == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
}

/* ---- signals ------------------------------------------------------------------ */

/* SIGTERM: /health turns 503 while the workers still serve, for
 * drain_grace, so that load balancers take the node out; then they drain. */
static void master_on_term(struct moss__master *m)
{
    if (m->stopping) {
        moss__master_log(m, "SIGTERM: already stopping");
        return;
    }
    m->stopping = m->health_draining = 1;
    moss__master_reload_abort(m, "the master is stopping");
    if (moss__notify("STOPPING=1\nSTATUS=draining") == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
    moss__master_log(m, "SIGTERM: /health answers 503 for %lld ms, then the workers drain",
                     (long long)m->config->drain_grace_ms);
    m->drain_at_ms = moss__score_clock_ms() + m->config->drain_grace_ms;
}

/* SIGINT, SIGQUIT: every worker stops at once. */
static void master_on_fast_stop(struct moss__master *m, int signum)
{
    moss__master_log(m, "%s: stopping now", strsignal(signum));
    if (!m->stopping && moss__notify("STOPPING=1\nSTATUS=stopping") == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
    m->stopping = m->health_draining = 1;
    m->drain_at_ms = 0;
    moss__master_reload_abort(m, "the master is stopping");
    moss__master_stop_all(m, SIGINT);
}

/* SIGUSR1: the master's log, then every worker's. */
static void master_on_reopen(struct moss__master *m)
{
    FILE *fresh;

    if (strcmp(m->config->error_log, "-") != 0) {
        if (moss__log_open(m->config->error_log, stderr, &fresh) == -1) {
            moss__master_log(m, "SIGUSR1: open(%s): %s", m->config->error_log, strerror(errno));
        } else {
            moss__log_close(m->error_log);
            m->error_log = fresh;
        }
    }
    moss__master_log(m, "SIGUSR1: logs reopened; telling the workers");
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used && kill(m->procs[i].pid, SIGUSR1) == -1 && errno != ESRCH)
            moss__master_log(m, "kill(%ld, SIGUSR1): %s", (long)m->procs[i].pid,
                             strerror(errno));
}

/* SIGTTIN, SIGTTOU: one slot more or fewer; the last slot's worker drains. */
static void master_on_resize(struct moss__master *m, int more)
{
    if (m->stopping || (more && m->workers >= MOSS__WORKERS_MAX) || (!more && m->workers <= 1)) {
        moss__master_log(m, "%s: staying at %u workers", more ? "SIGTTIN" : "SIGTTOU",
                         m->workers);
        return;
    }
    m->workers += more ? 1 : -1;
    moss__master_log(m, "%s: %u workers", more ? "SIGTTIN" : "SIGTTOU", m->workers);
    if (more)
        return;
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        struct moss__master_proc *p = &m->procs[i];

        if (p->used && p->slot == m->workers && !p->stopping)
            moss__master_stop_proc(m, p, SIGTERM,
                                   m->config->graceful_timeout_ms + MOSS__STOP_MARGIN_MS);
    }
    moss__master_slot_close(m, m->workers);
    m->slots[m->workers].respawns = m->slots[m->workers].crash_streak = 0;
}

static void master_dispatch(struct moss__master *m, uint64_t pending)
{
    if (pending & (MOSS__SIGNAL_BIT(SIGINT) | MOSS__SIGNAL_BIT(SIGQUIT)))
        master_on_fast_stop(m, pending & MOSS__SIGNAL_BIT(SIGINT) ? SIGINT : SIGQUIT);
    if (pending & MOSS__SIGNAL_BIT(SIGTERM))
        master_on_term(m);
    if (pending & MOSS__SIGNAL_BIT(SIGUSR1))
        master_on_reopen(m);
    if (pending & MOSS__SIGNAL_BIT(SIGTTIN))
        master_on_resize(m, 1);
    if (pending & MOSS__SIGNAL_BIT(SIGTTOU))
        master_on_resize(m, 0);
    if ((pending & MOSS__SIGNAL_BIT(SIGHUP)) && !m->stopping)
        moss__master_reload_start(m, 0);
    if ((pending & MOSS__SIGNAL_BIT(SIGUSR2)) && !m->stopping)
        moss__master_upgrade_start(m);
}

/* ---- the supervision loop ------------------------------------------------------ */

/* systemd's watchdog hears from us only while every worker's hub beats. */
static void master_watchdog(struct moss__master *m, int64_t now)
{
    if (m->watchdog_usec == 0 || now - m->watchdog_sent_ms < (int64_t)(m->watchdog_usec / 2000))
        return;
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        const struct moss__master_proc *p = &m->procs[i];

        if (p->used && p->ever_ready && !p->stopping &&
            now - atomic_load_explicit(&p->score->heartbeat_ms, memory_order_relaxed) >
                m->config->worker_timeout_ms)
            return;
    }
    if (moss__notify("WATCHDOG=1") == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
    m->watchdog_sent_ms = now;
}

static int master_done(const struct moss__master *m)
{
    return (m->stopping || m->fatal) && m->drain_at_ms == 0 && moss__master_live(m) == 0;
}

static void master_step(struct moss__master *m)
{
    int64_t now = moss__score_clock_ms();

    master_dispatch(m, moss__master_signals_take(m->signals));
    moss__master_reap(m);
    if (m->drain_at_ms != 0 && now >= m->drain_at_ms) {
        m->drain_at_ms = 0;
        moss__master_stop_all(m, SIGTERM);
    }
    if (m->fatal && !m->stopping) {
        m->stopping = 1;
        moss__master_stop_all(m, SIGTERM);
    }
    moss__master_check(m);
    moss__master_reload_check(m);
    moss__master_upgrade_check(m);
    moss__master_fill_slots(m);
    master_watchdog(m, now);
}

static void master_loop(struct moss__master *m)
{
    while (!master_done(m)) {
        int64_t tick = moss__master_any_starting(m) || m->reload != NULL ? TICK_BUSY_MS
                                                                          : TICK_IDLE_MS;

        if (moss_event_wait(m->wake, moss_now() + tick) == -1 && errno != ETIMEDOUT)
            moss__master_log(m, "waiting: %s", strerror(errno));
        moss_event_clear(m->wake);
        master_step(m);
    }
}

/* ---- set up and tear down ------------------------------------------------------ */

/* A start-up failure: the log and stderr. */
__attribute__((format(printf, 2, 3)))
static int master_fail(struct moss__master *m, const char *fmt, ...)
{
    int err = errno;
    char message[MOSS__MASTER_ERROR_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    moss__master_log(m, "%s", message);
    if (m->error_log != stderr)
        fprintf(stderr, "moss: %s\n", message);
    errno = err;
    return -1;
}

/* MOSS_UPGRADE_FD: this master was started by an old one's SIGUSR2. */
static void master_take_upgrade_fd(struct moss__master *m)
{
    const char *text = getenv("MOSS_UPGRADE_FD");
    char *end;
    long fd;

    m->upgrade_fd = -1;
    if (text == NULL)
        return;
    fd = strtol(text, &end, 10);
    if (*end == '\0' && fd > 2 && fd < 65536)
        m->upgrade_fd = (int)fd;
    unsetenv("MOSS_UPGRADE_FD");
}

/* This binary's path, for SIGUSR2. An upgrade installs the new binary over
 * the old one's path, after which the kernel names ours "PATH (deleted)":
 * the path is what we want to execute. */
static void master_find_exe(struct moss__master *m)
{
    static const char deleted[] = " (deleted)";
    ssize_t len = readlink("/proc/self/exe", m->exe, sizeof(m->exe) - 1);
    size_t suffix = sizeof(deleted) - 1;

    m->exe[len > 0 ? len : 0] = '\0';
    if (len > (ssize_t)suffix && strcmp(m->exe + len - suffix, deleted) == 0)
        m->exe[len - (ssize_t)suffix] = '\0';
}

static struct moss__master *master_new(const struct moss__master_opts *opts)
{
    struct moss__master *m = calloc(1, sizeof(*m));

    if (m == NULL || (m->config = moss_config_new()) == NULL) {
        free(m);
        return NULL;
    }
    memcpy(m->config, opts->config, sizeof(*m->config));
    m->opts = *opts;
    m->app = opts->app;
    m->pid = getpid();
    m->started_at = (int64_t)time(NULL);
    m->started_ms = moss__score_clock_ms();
    m->admin_inherited_fd = -1;
    m->error_log = stderr;
    for (unsigned s = 0; s < MOSS__WORKERS_MAX; s++)
        for (size_t i = 0; i < MOSS__BIND_MAX; i++)
            m->slots[s].fds[i] = -1;
    m->watchdog_usec = moss__notify_watchdog_usec();
    master_take_upgrade_fd(m);
    master_find_exe(m);
    return m;
}

static void master_free(struct moss__master *m)
{
    moss__master_upgrade_free(m);
    if (m->upgrade_fd != -1)
        close(m->upgrade_fd);
    moss__log_close(m->error_log);
    moss_config_free(m->config);
    free(m);
}

/* Each connection costs a worker an fd: the soft limit goes up to the hard
 * one (as nginx's worker_rlimit_nofile would), for the workers to inherit.
 * Only the soft limit: raising the hard one needs privileges moss should not
 * want. */
static void master_raise_nofile(struct moss__master *m)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == -1 || limit.rlim_cur >= limit.rlim_max)
        return;
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
        moss__master_log(m, "setrlimit(RLIMIT_NOFILE, %llu): %s",
                         (unsigned long long)limit.rlim_max, strerror(errno));
}

static int master_open_log(struct moss__master *m)
{
    if (strcmp(m->config->error_log, "-") == 0)
        return 0;
    if (moss__log_open(m->config->error_log, stderr, &m->error_log) == -1) {
        m->error_log = stderr;
        return master_fail(m, "open(%s): %s", m->config->error_log, strerror(errno));
    }
    return 0;
}

/* The scoreboard and the listeners, as whoever started moss. */
static int master_bind(struct moss__master *m)
{
    char error[MOSS__MASTER_ERROR_MAX];

    if (moss__privileges_check(m->config->user, m->config->group, error, sizeof(error)) == -1)
        return master_fail(m, "%s", error);
    m->board = moss__scoreboard_create();
    if (m->board == NULL)
        return master_fail(m, "mmap(scoreboard): %s", strerror(errno));
    if (moss__master_listeners_open(m, error, sizeof(error)) == -1) {
        master_fail(m, "%s", error);
        moss__scoreboard_destroy(m->board);
        return -1;
    }
    return 0;
}

static void master_unbind(struct moss__master *m)
{
    moss__master_listeners_close(m);
    moss__scoreboard_destroy(m->board);
}

/* The admin listener and the pid file, then the drop to user/group. */
static int master_settle(struct moss__master *m)
{
    char error[MOSS__MASTER_ERROR_MAX];
    pid_t allowed = m->upgrade_fd != -1 ? getppid() : 0;

    if (moss__admin_start(m, error, sizeof(error)) == -1)
        return master_fail(m, "admin: %s", error);
    if (m->config->pid_file[0] != '\0' &&
        moss__pidfile_write(m->config->pid_file, m->pid, allowed, error, sizeof(error)) == -1) {
        master_fail(m, "%s", error);
        goto stop_admin;
    }
    if (moss__privileges_drop(m->config->user, m->config->group, error, sizeof(error)) == -1) {
        master_fail(m, "%s", error);
        goto remove_pidfile;
    }
    return 0;

remove_pidfile:
    moss__pidfile_remove(m->config->pid_file, m->pid);
stop_admin:
    moss__admin_stop(m);
    return -1;
}

static void master_unsettle(struct moss__master *m)
{
    moss__admin_stop(m);
    if (m->config->pid_file[0] != '\0' && moss__pidfile_remove(m->config->pid_file, m->pid) == -1)
        moss__master_log(m, "unlink(%s): %s", m->config->pid_file, strerror(errno));
}

static int master_watch(struct moss__master *m)
{
    m->wake = moss_event_new();
    if (m->wake == NULL)
        return master_fail(m, "event: %s", strerror(errno));
    m->signals = moss__master_signals_start(m->wake);
    if (m->signals == NULL) {
        master_fail(m, "signal watchers: %s", strerror(errno));
        moss_event_free(m->wake);
        return -1;
    }
    if (m->config->watchdog &&
        (m->watchdog = moss__watchdog_log_start(m->config, NULL)) == NULL) {
        master_fail(m, "starting the watchdog: %s", strerror(errno));
        moss__master_signals_stop(m->signals);
        moss_event_free(m->wake);
        return -1;
    }
    return 0;
}

static void master_unwatch(struct moss__master *m)
{
    moss__watchdog_log_stop(m->watchdog);
    moss__master_signals_stop(m->signals);
    moss_event_free(m->wake);
}

/* An admin address anyone beyond this host can reach, with no token. */
static int master_admin_exposed(const moss_config_t *config)
{
    const char *a = config->admin;

    return a[0] != '\0' && config->admin_token[0] == '\0' && strncmp(a, "127.", 4) != 0 &&
           strncmp(a, "[::1]:", 6) != 0 && strncmp(a, "unix:", 5) != 0;
}

static void master_log_start(struct moss__master *m)
{
    if (master_admin_exposed(m->config))
        moss__master_log(m, "warning: admin %s is reachable beyond this host and admin_token "
                         "is not set: /stats and /metrics are open to anyone who can reach it",
                         m->config->admin);
    moss__master_log(m, "moss %s: master %ld, %u workers, admin %s%s", moss_version(),
                     (long)m->pid, m->workers,
                     m->config->admin[0] != '\0' ? m->config->admin : "off",
                     m->upgrade_fd != -1 ? " (binary upgrade)" : "");
}

int moss__master_run(const struct moss__master_opts *opts)
{
    struct moss__master *m = master_new(opts);
    int rc = -1, err = 0;

    if (m == NULL)
        return -1;
    signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, not a death */
    master_raise_nofile(m);
    if (master_open_log(m) == -1 || master_bind(m) == -1) {
        err = errno;
        goto free_master;
    }
    if (master_settle(m) == -1) {
        err = errno;
        goto unbind;
    }
    if (master_watch(m) == -1) {
        err = errno;
        goto unsettle;
    }
    m->workers = moss__master_worker_count(m->config);
    master_log_start(m);
    moss__master_reload_start(m, 1);
    master_loop(m);
    rc = m->fatal ? -1 : 0;
    err = m->fatal ? ECANCELED : 0;
    moss__master_log(m, "exiting%s", m->fatal ? " after a failed start" : "");
    master_unwatch(m);
unsettle:
    master_unsettle(m);
unbind:
    master_unbind(m);
free_master:
    master_free(m);
    errno = err;
    return rc;
}

int moss_serve(const moss_config_t *config, const moss_app_t *app)
{
    struct moss__master_opts opts = {.config = config, .app = app};

    if (config == NULL) {
        errno = EINVAL;
        return -1;
    }
    return moss__master_run(&opts);
}
