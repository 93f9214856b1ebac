/* The master process: it binds the listeners, forks one worker per slot,
 * supervises them through the scoreboard, reloads them on SIGHUP behind a
 * readiness gate, and serves the admin endpoints from its own hub. It runs
 * no user code: the app is only ever initialised in the workers.
 *
 * The files of master/:
 *   master.c     moss__master_run: set up, the supervision loop, tear down;
 *   signals.c    libev signal watchers that only record the signal;
 *   listeners.c  binding, LISTEN_FDS sockets, reuse_port sockets per slot;
 *   scoreboard.c the MAP_SHARED region;
 *   spawn.c      forking a worker, and the child's side of the fork;
 *   supervise.c  reaping, respawn with backoff, heartbeats, drain deadlines;
 *   reload.c     SIGHUP: the new generation, the gate, commit or rollback;
 *   upgrade.c    SIGUSR2: re-exec of the binary with the listeners;
 *   admin.c      the admin HTTP server: /health, /stats, /metrics;
 *   stats.c      /stats as JSON (jansson); metrics.c: /metrics (Prometheus);
 *   notify.c     sd_notify; pidfile.c; listen_fds.c; privileges.c.
 *
 * Everything here runs on the master's hub thread: the state needs no lock.
 * The scoreboard entries are the only memory shared with the workers. */
#ifndef MOSS_MASTER_MASTER_H
#define MOSS_MASTER_MASTER_H

#include "../config/config.h"
#include "../worker/score.h"
#include "../worker/worker.h"
#include "moss.h"

#include <stdint.h>
#include <sys/types.h>

/* Worker processes alive at once: two generations of the most slots (a
 * reload), and room for a third still draining from the reload before. */
#define MOSS__PROCS_MAX (3 * MOSS__WORKERS_MAX)
#define MOSS__MASTER_ERROR_MAX 512

/* A listening address, bound by the master (or inherited from LISTEN_FDS). */
struct moss__master_listener {
    char address[MOSS__ADDRESS_MAX]; /* as bound: the real port for port 0 */
    char configured[MOSS__PATH_MAX]; /* as the bind setting wrote it ("" if inherited only) */
    int backlog;
    int fd;                        /* the socket all workers share; -1 with reuse_port */
    int inherited;                 /* from LISTEN_FDS: never unlinked, never re-bound */
    int unix_owned;                /* a unix socket file the master made: unlinked at exit */
    int reuse_port;                /* per-slot sockets (slots[i].fds[this index]) */
};

/* A worker slot: what survives its processes. */
struct moss__master_slot {
    unsigned respawns;             /* processes forked for the slot after its first */
    unsigned crash_streak;         /* quick exits in a row: the backoff's exponent */
    int64_t backoff_until_ms;      /* 0, or no fork for the slot before this */
    int64_t backoff_ms;            /* the delay of the current backoff, for /stats */
    int respawn_due;               /* its worker died unexpectedly: the next fork is a respawn */
    int fds[MOSS__BIND_MAX];       /* reuse_port: this slot's socket per listener, else -1 */
};

/* A worker process. procs[i] uses scoreboard entry i. */
struct moss__master_proc {
    int used;
    pid_t pid;
    unsigned slot;
    uint64_t generation;
    int cpu;                       /* pinned to, or -1 */
    int64_t started_at;            /* wall clock, seconds since the epoch */
    int64_t started_ms;            /* monotonic */
    int ever_ready;                /* has reported READY */
    int stopping;                  /* told to drain (SIGTERM) or stop (SIGINT) */
    int64_t kill_at_ms;            /* stopping: SIGKILL if still alive then; 0 never */
    int killed;                    /* SIGKILL sent: only its reaping is left */
    struct moss__score *score;     /* &board[i] */
};

struct moss__master_reloads {
    uint64_t ok, failed;
    int has_last;
    int64_t last_at;               /* wall clock seconds */
    int last_ok;
    char last_error[MOSS__MASTER_ERROR_MAX];
};

/* Where SIGHUP gets the new config: the moss command re-reads its -c file
 * and re-applies its flags. 0 with *out filled (a config of its own), or -1
 * with the reason in error. NULL: a reload keeps the config it has. */
typedef int (*moss__master_config_fn)(void *arg, moss_config_t **out, char *error,
                                      size_t error_len);

struct moss__master_opts {
    const moss_config_t *config;   /* copied: the master owns its copies */
    const moss_app_t *app;         /* NULL: config->app's plugin, or the demo app */
    moss__master_config_fn reload_config;
    void *reload_arg;
    char *const *argv;             /* for the USR2 re-exec; NULL: no upgrade */
};

struct moss__master_reload;        /* reload.c: the reload in progress */
struct moss__master_signals;       /* signals.c */
struct moss__admin;                /* admin.c */
struct moss__master_upgrade;       /* upgrade.c */

struct moss__master {
    moss_config_t *config;         /* the committed generation's */
    const moss_app_t *app;
    struct moss__master_opts opts;
    pid_t pid;
    int64_t started_at;            /* wall clock seconds */
    int64_t started_ms;            /* monotonic */
    uint64_t generation;           /* the committed generation: 1 at start */
    unsigned workers;              /* the slots wanted now (TTIN, TTOU change it) */
    struct moss__master_listener listeners[MOSS__BIND_MAX];
    size_t listener_count;
    struct moss__master_slot slots[MOSS__WORKERS_MAX];
    struct moss__master_proc procs[MOSS__PROCS_MAX];
    struct moss__score *board;     /* MOSS__PROCS_MAX entries, MAP_SHARED */
    struct moss__master_reloads reloads;
    struct moss__worker_counters exited;  /* summed from workers gone, so totals never drop */
    uint64_t exited_blocked;
    int stopping;                  /* SIGTERM or SIGINT received: no respawns */
    int health_draining;           /* /health answers 503 */
    int64_t drain_at_ms;           /* SIGTERM: when drain_grace ends and workers drain; 0 */
    int fatal;                     /* the first generation failed: stop, exit 1 */
    int reload_queued;             /* a SIGHUP came during a reload: another follows it */
    struct moss__master_upgrade *upgrade; /* SIGUSR2 in progress, or NULL (upgrade.c) */
    int handed_over;               /* an upgrade's new master serves: leave files to it */
    uint64_t watchdog_usec;        /* systemd's WATCHDOG_USEC, 0 none */
    int64_t watchdog_sent_ms;
    char exe[MOSS__PATH_MAX];      /* this binary, for SIGUSR2 */
    int admin_inherited_fd;        /* the admin socket an old master passed on, or -1 */
    int upgrade_fd;                /* started by SIGUSR2: tell the old master "ready" here; -1 */
    struct moss__master_reload *reload;   /* NULL when none is in progress */
    struct moss__master_signals *signals;
    struct moss__admin *admin;
    struct moss__watchdog_log *watchdog; /* the master's own hub's; NULL: off */
    moss_event_t *wake;            /* set when the loop has something to do */
    FILE *error_log;
};

/* Runs the whole server: master and workers, until a stop. 0 after a clean
 * stop, or -1 with errno after saying why on stderr and the error log. */
int moss__master_run(const struct moss__master_opts *opts);

/* "moss[pid]: " + message, a line, to the master's error log. */
void moss__master_log(struct moss__master *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The state /stats shows for proc (the scoreboard's, DRAINING once the
 * master has told it to stop). */
enum moss__worker_state moss__master_proc_state(const struct moss__master_proc *proc);

/* "starting", "ready", "draining" or "backoff". */
const char *moss__master_state_name(enum moss__worker_state state);

/* ---- the admin endpoints (admin.c, stats.c, metrics.c) ------------------------ */

/* Binds m->config->admin (nothing if it is "") and serves it on the calling
 * thread's hub: GET /health, /stats, /metrics. 0, or -1 with errno and a
 * message naming the syscall and address in error. */
int moss__admin_start(struct moss__master *m, char *error, size_t error_len);

/* Stops accepting and ends the admin connections (waits at most briefly). */
void moss__admin_stop(struct moss__master *m);

/* The admin listener's fd (passed on by a binary upgrade), or -1. When
 * m->admin_inherited_fd is not -1, moss__admin_start serves that socket
 * instead of binding (and owns it from then on). */
int moss__admin_fd(const struct moss__master *m);

/* In a forked worker: closes the admin listener's and connections' fds and
 * stops the watchers of its parked connections (the fork left the admin
 * greenlets behind, but not those watchers: they live in the loop). */
void moss__admin_forget(struct moss__master *m);

#endif
