/* The real moss binary (MOSS_BIN) run as a prefork server, for the
 * master's integration tests: start it on free loopback ports, read its
 * /stats (parsed with jansson), wait for conditions, drive load with wrk,
 * signal it, and end it by pid. Every wait is bounded; every process a case
 * starts is ended by its pid (and dies with the test process besides:
 * test_spawn's PR_SET_PDEATHSIG, and the workers' own).
 * Implemented in tests/master/master_fixture.c. */
#ifndef MOSS_TESTS_MASTER_FIXTURE_H
#define MOSS_TESTS_MASTER_FIXTURE_H

#include "harness.h"

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>
#include <valgrind/valgrind.h>

/* Under valgrind everything is about ten times slower: bounds stretch. */
#define MASTER_SLOW (RUNNING_ON_VALGRIND ? 10 : 1)

struct master {
    pid_t pid;                 /* the master (after an upgrade: the new one) */
    unsigned port;             /* its HTTP listener, 127.0.0.1 */
    unsigned admin_port;       /* its admin listener, 127.0.0.1 */
    int log_fd;                /* its stdout and stderr: an unlinked file */
    char dir[64];              /* a temporary directory of the case's (configs, sockets) */
    char admin_token[256];     /* --admin_token's value in extra, sent with every admin
                                * request; "" none */
    unsigned leftovers;        /* set by master_stop: its workers found alive after it
                                * exited (then killed); 0 is right */
};

/* Starts MOSS_BIN -b 127.0.0.1:PORT --admin 127.0.0.1:APORT --drain_grace 0
 * followed by extra (NULL-ended; may be NULL), on free ports (retried if
 * taken), with m->dir created first ("%s" in an extra argument is replaced
 * by m->dir). Waits until /stats answers with every wanted worker ready;
 * fails the case otherwise. */
void master_start(struct master *m, const char *const *extra);

/* As master_start, without waiting: for starts that are meant to fail. */
void master_spawn(struct master *m, const char *const *extra);

/* Sends sig to the master (0: none, the case signalled it already) and waits up to timeout_ms for it to exit: its
 * exit status (or 128 + the signal that killed it). Fails the case if it
 * does not exit (after SIGKILL to the master and every process of its
 * /stats). Removes m->dir and what is in it. */
int master_stop(struct master *m, int sig, int timeout_ms);

/* The master's output so far (static buffer, NUL-terminated). */
const char *master_log(const struct master *m);

/* Waits up to timeout_ms for text to appear in the log: 0, or -1. */
int master_log_wait(const struct master *m, const char *text, int timeout_ms);

/* GET http://127.0.0.1:port/path (a fresh connection, Connection: close):
 * the status code, the body in body (NUL-terminated, at most cap - 1
 * bytes); headers extra lines ("Name: value\r\n..."), may be NULL. -1 if the
 * connection fails. */
int http_get(unsigned port, const char *path, const char *headers, char *body, size_t cap);

/* A blocking loopback connection to port with receive and send timeouts of
 * some seconds (longer under valgrind), or -1. */
int master_connect(unsigned port);

/* GET /sleep?ms=ms on a new connection to port (Connection: close), sent
 * and not read: a request in flight. Its timeouts are ms plus 20 s (ten
 * times that under valgrind). */
int master_sleep_send(unsigned port, int ms);

/* Reads the whole response to master_sleep_send's request and closes fd;
 * fails the case unless it is 200 with "slept MS ms" (what names the
 * request in the message printed then). */
void master_sleep_finish(int fd, int ms, const char *what);

/* /stats, parsed (json_decref it), or NULL if the admin did not answer 200. */
json_t *master_stats(const struct master *m);

/* Polls /stats every 20 ms until cond(stats, arg) is true: 0, or -1 after
 * timeout_ms. */
int master_wait(const struct master *m, int (*cond)(json_t *stats, void *arg), void *arg,
                int timeout_ms);

/* Figures of /stats. */
json_int_t stats_int(json_t *stats, const char *path); /* "generation", "reloads.ok", ... */
size_t stats_workers(json_t *stats, const char *state); /* how many in that state; NULL: all */
/* The pids of the workers in state "ready", sorted, into pids; their count. */
size_t stats_ready_pids(json_t *stats, pid_t *pids, size_t cap);

/* wrk -t1 -cCONNS -dSECONDS --latency http://127.0.0.1:port/path, in the
 * background. */
struct wrk_run {
    pid_t pid;
    int out_fd;
};
void wrk_start(struct wrk_run *run, unsigned port, const char *path, unsigned conns,
               unsigned seconds);

/* Waits for wrk to end (bounded) and parses its report: the requests
 * completed, socket errors (connect + read + write + timeout) and non-2xx
 * responses. Prints the report's summary line to stderr. */
struct wrk_result {
    long requests;
    long socket_errors;
    long non_2xx;
};
void wrk_finish(struct wrk_run *run, struct wrk_result *result);

/* ---- more helpers ---------------------------------------------------------------- */

/* Creates m->dir (and clears m) ahead of master_start or master_spawn, so
 * that a case can put files there first (a config for -c %s/moss.ini):
 * they then use that directory, for that same struct (known by address:
 * the fixture never reads a struct the case did not initialise), instead
 * of making their own; master_stop removes it. */
void master_prepare(struct master *m);

/* Writes text to m->dir/name (created or truncated); fails the case on error. */
void master_write_file(const struct master *m, const char *name, const char *text);

/* A master_wait condition: the committed generation (>= 1) has every wanted
 * worker ready, and no worker is starting or in backoff. arg unused. */
int master_all_ready(json_t *stats, void *arg);

/* Whether pid is a live process (a zombie is not; it is left unreaped, so
 * that whoever waits for it still gets its status). */
int proc_alive(pid_t pid);

/* pid's parent (/proc/PID/stat), or -1 if pid is gone. */
pid_t proc_parent(pid_t pid);

/* Waits up to timeout_ms until none of pids[0, n) is alive: 0, or -1. */
int procs_gone(const pid_t *pids, size_t n, int timeout_ms);

/* Notes on the fixture's behaviour:
 *  - extra "--admin off" (or "--admin=off") sets m->admin_port to 0: then
 *    master_start waits for "generation 1 ready" in the log instead, and
 *    master_stats answers NULL at once;
 *  - the test process becomes a child subreaper (PR_SET_CHILD_SUBREAPER) at
 *    the first spawn, so that a master started by a binary upgrade (whose
 *    parent, the old master, exits) is reparented to the test and
 *    master_stop can wait for it and take its exit status;
 *  - master_wait gives up (-1) at once if the master has exited;
 *  - master_stop leaves m->log_fd open: master_log works after it. */

#endif
