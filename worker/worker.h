/* One worker process: its listeners, its connections, its app, its
 * counters, and the drain. The layers of worker/ meet here:
 *   stream_server.c  accepts, bounds the connections, runs one greenlet each;
 *   stream_conn.c    a connection's greenlet, and parking it while idle;
 *   proxy_protocol.c reads a PROXY v1/v2 header first where enabled;
 *   http_conn.c      serves HTTP/1.1 requests on a connection;
 *   worker.c         moss_serve: sets it up, signals, drain, exit. */
#ifndef MOSS_WORKER_WORKER_H
#define MOSS_WORKER_WORKER_H

#include "../config/config.h"
#include "conn.h"
#include "counters.h"
#include "free_list.h"
#include "moss.h"
#include "score.h"

#include <stdarg.h>
#include <stdio.h>

struct moss__listener {
    int fd;
    char address[MOSS__ADDRESS_MAX];  /* as bound, for logs */
    int proxy_protocol;
};

/* A live connection, on the worker's list so the drain can find idle ones.
 * While it waits for a request a connection may be parked: it has no
 * greenlet and no buffer then, only this entry and a watcher on its fd
 * (stream_conn.c). */
struct moss__conn_entry {
    struct moss__conn conn;
    moss_greenlet_t *greenlet;        /* the connection's greenlet; NULL while parked */
    int idle;                         /* waiting for a next request: drain closes it */
    int64_t idle_since;               /* moss_now() when it began to wait */
    int resumed;                      /* serve runs again after a park */
    int64_t park_deadline;            /* serve's word: the end of the wait */
    int park_wake_at_deadline;        /* serve's word: at park_deadline, run serve again
                                       * with park_expired set (else close) */
    int park_expired;                 /* serve runs because park_deadline passed */
    uint64_t served;                  /* responses completed on the connection */
    struct moss__conn_entry *prev, *next;
};

/* What serve returns: the connection is done (the stream server closes it),
 * or it is to be parked until it is readable or entry->park_deadline passes,
 * with nothing in its buffer; serve then runs again with entry->resumed
 * set, in a new greenlet. At the deadline the connection is closed, or, if
 * serve set entry->park_wake_at_deadline, serve runs again with
 * entry->park_expired set (to answer, as HTTP's 408). */
enum moss__serve_result { MOSS__SERVE_CLOSE, MOSS__SERVE_PARK };

/* What a connection's greenlet runs: moss__http_serve, or a plain stream
 * handler (gevent's StreamServer). It closes nothing: the stream server owns
 * the fd. */
typedef enum moss__serve_result (*moss__serve_fn)(struct moss__worker *w,
                                                  struct moss__conn_entry *entry);

struct moss__worker {
    const struct moss_config *config;
    moss__serve_fn serve;
    const moss_app_t *app;
    void *app_data;
    struct moss__worker_counters *counters; /* in shared memory under a master */
    struct moss__score *score;        /* the scoreboard entry counters is in; NULL: none */
    struct moss__listener listeners[MOSS__BIND_MAX];
    size_t listener_count;
    struct moss__conn_entry *conns;   /* live connections */
    /* serve's per-connection state kept for reuse, its own to fill; the
     * stream server clears it when it is freed */
    struct moss__free_list conn_states;
    struct moss__stream_server *stream;     /* the stream server's state (stream_server.c) */
    int draining;                     /* no new requests; close idle connections */
    struct moss__watchdog_log *watchdog; /* NULL: off */
    FILE *access_log;                 /* NULL: off */
    uint64_t access_log_lost;         /* lines lost since it last wrote: 0 when it writes */
    FILE *error_log;
};

/* Serves HTTP/1.1 on conn until the peer closes, a limit or an error ends it,
 * or the worker drains; a moss__serve_fn. While it waits for a request with
 * nothing buffered, it parks the connection: until keepalive_timeout between
 * requests, and until header_timeout (then a 408) before the first. */
enum moss__serve_result moss__http_serve(struct moss__worker *w,
                                         struct moss__conn_entry *entry);

/* Reads and applies a PROXY v1 or v2 header at the start of conn when its
 * source is trusted; 0, or -1 with errno (EPROTO: malformed or missing,
 * EPERM: untrusted source) and the connection is to be closed. */
int moss__proxy_protocol_read(struct moss__worker *w, struct moss__conn *conn,
                              int64_t deadline);

/* Writes one line to out (stderr if NULL): "moss[pid]: " + who (may be "")
 * + the formatted message, cut at 1 KiB, in one write so that lines from
 * one process never interleave. */
void moss__log_line(FILE *out, const char *who, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Logs one line to the error log: "moss[pid]: " + the formatted message. */
void moss__worker_log(struct moss__worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A start-up failure: logged, and said on stderr too if the error log is
 * elsewhere, so that whoever started moss sees it. Keeps errno; -1. */
int moss__worker_fail(struct moss__worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A log named by a setting: "-" is dash (stderr or stdout), else a file
 * opened for appending, close-on-exec, line-buffered. 0, or -1 with errno. */
int moss__log_open(const char *path, FILE *dash, FILE **out);

/* Closes a file log; flushes stdout or stderr. NULL is fine. */
void moss__log_close(FILE *f);

/* Opens the logs config names into w->error_log and w->access_log: "-" is
 * stderr (error) or stdout (access), "" no access log, else a file opened
 * for appending, line-buffered. 0, or -1 with errno after saying why on
 * stderr. */
int moss__worker_logs_open(struct moss__worker *w);

/* SIGUSR1: opens the log files afresh (after logrotate moved them) and
 * closes the old ones. A log that cannot be reopened stays as it was, and
 * the failure is logged: -1 with errno then. */
int moss__worker_logs_reopen(struct moss__worker *w);

/* Closes the logs that are files (flushes stdout and stderr). */
void moss__worker_logs_close(struct moss__worker *w);

/* ---- the stream server (stream_server.c) ---------------------------------- */

/* Starts one accept loop greenlet per listener of w. Each accepted
 * connection gets an entry on w->conns, a buffer of w->config->max_header_size
 * bytes and its own greenlet, which reads a PROXY header first on a
 * proxy_protocol listener, then runs w->serve, then closes the fd. At most
 * w->config->max_connections connections live at once: at the limit the
 * accept loops wait before accepting. Needs w->config, w->serve and
 * w->counters. 0, or -1 with errno (EALREADY: already started for w). */
int moss__stream_server_start(struct moss__worker *w);

/* Stops accepting: kills the accept loops and waits for them to end. The
 * listeners stay open (their creator owns them); connections go on. */
void moss__stream_server_stop(struct moss__worker *w);

/* How long a connection must have been idle before a drain closes it. A
 * client under load sends its next request within microseconds of the last
 * response: that request is served, with "Connection: close", instead of
 * racing the close (which would cost the client an error). */
#define MOSS__DRAIN_IDLE_GRACE_MS 200

/* Cancels connections' greenlets: only those idle for at least
 * MOSS__DRAIN_IDLE_GRACE_MS (a drain), or all.
 * Their blocking calls fail with ECANCELED, so they unwind and close. Does
 * not wait: moss__stream_server_join for that. */
void moss__stream_server_kill(struct moss__worker *w, int idle_only);

/* In a forked child that will not serve w (the master's admin server in a
 * new worker): stops the watchers of its parked connections and its timer,
 * closes its connections' fds, and frees nothing (the parent's memory, as
 * the hub's fork handler leaves it). The listeners are the caller's. */
void moss__stream_server_forget(struct moss__worker *w);

/* Waits until w has no connection left: 0, or -1 with errno (ETIMEDOUT,
 * ECANCELED; EINVAL if the server was never started). */
int moss__stream_server_join(struct moss__worker *w, int64_t deadline);

/* Frees what start allocated, once stopped and without connections: 0, or -1
 * with EBUSY (still accepting, or connections left). */
int moss__stream_server_free(struct moss__worker *w);

/* ---- the watchdog (watchdog_report.c) -------------------------------------- */

/* Episodes logged a minute, at most; the rest are counted in /stats. */
#define MOSS__WATCHDOG_REPORTS_PER_MINUTE 10

/* Starts the watchdog on the calling thread's hub with config's settings,
 * its reports going to the error log and to score (a worker's; NULL for the
 * master, which has no block_kill_ms). NULL with errno. */
struct moss__watchdog_log *moss__watchdog_log_start(const struct moss_config *config,
                                                    struct moss__score *score);

/* Stops it; NULL is fine. */
void moss__watchdog_log_stop(struct moss__watchdog_log *log);

/* ---- the worker's run loop (worker.c) ------------------------------------- */

/* A whole worker process under the master (worker_main.c): opens the logs,
 * loads and initialises the app (app, else config->app's plugin, else the
 * demo), serves listeners[0..count-1] (inherited; left open) with
 * moss__worker_run, reporting through score, then runs the app's fini and
 * closes the logs. 0 after a clean stop, or -1 with errno if it could not
 * start (said on the error log and stderr). */
int moss__worker_main(const struct moss_config *config, const moss_app_t *app,
                      const struct moss__listener *listeners, size_t count,
                      struct moss__score *score);

/* Serves w until a signal ends it: starts the stream server and prints
 * "moss: serving on ADDRESS" per listener to the error log, marks w->score
 * READY, refreshes the hub counters and beats the heartbeat every 100 ms,
 * reopens the logs on SIGUSR1, then on SIGTERM drains: stops accepting,
 * closes the listeners, marks w->score DRAINING, sets w->draining, closes
 * connections idle for MOSS__DRAIN_IDLE_GRACE_MS, waits up to
 * graceful_timeout_ms for the others, then cancels them. On SIGINT or
 * SIGQUIT it cancels every connection at once. Needs w's config, serve,
 * counters, listeners and logs set; leaves the app to the caller. 0 after a
 * stop, or -1 with errno if it could not start. */
int moss__worker_run(struct moss__worker *w);

#endif
