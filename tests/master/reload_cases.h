/* What the reload cases share (tests/master/reload_cases.c and
 * reload_more_cases.c): bounds, /stats figures, waits for a generation,
 * and the cases of reload_more_cases.c that the table lists. */
#ifndef MOSS_TESTS_MASTER_RELOAD_CASES_H
#define MOSS_TESTS_MASTER_RELOAD_CASES_H

#include "master_fixture.h"

#include <stddef.h>
#include <sys/types.h>

/* A bound for what takes milliseconds natively (a reload, a start, a
 * stop): generous, and stretched under valgrind. */
#define RL_WAIT_MS (15000 * MASTER_SLOW)
#define RL_PIDS_MAX 64
#define RL_PATH_MAX 256

/* /stats, which must answer (the case fails otherwise); json_decref it. */
json_t *rl_stats(const struct master *m);

/* One figure of /stats ("generation", "reloads.ok", ...). */
json_int_t rl_int(const struct master *m, const char *path);

/* The ready workers' pids, sorted, into pids (RL_PIDS_MAX); their count. */
size_t rl_ready_pids(const struct master *m, pid_t *pids);

/* Waits (RL_WAIT_MS) until generation is the committed one and all its
 * workers are ready; fails the case otherwise. */
void rl_wait_generation(const struct master *m, json_int_t generation);

/* Waits (RL_WAIT_MS) until reloads.failed reaches failed; fails otherwise. */
void rl_wait_failed(const struct master *m, json_int_t failed);

/* SIGHUP, then rl_wait_generation for the next generation. */
void rl_hup_wait(const struct master *m);

/* Waits (RL_WAIT_MS) until the workers have served some requests more:
 * a load just started reaches them. */
void rl_wait_load(const struct master *m);

/* Waits for wrk, prints its figures (requests/s over the time since
 * started_ms) after name, and asserts what load across a reload must
 * show: requests served, no socket error, no non-2xx response. */
void rl_wrk_finish(const char *name, struct wrk_run *wrk, int64_t started_ms);

/* Whether reloads.last says ok / has an error holding text. */
int rl_last_ok(json_t *stats);
int rl_last_error_has(json_t *stats, const char *text);

/* Whether a worker entry of /stats is of generation and in state. */
int rl_worker_is(json_t *worker, json_int_t generation, const char *state);

/* Whether every worker /stats lists (draining ones too) is of generation. */
int rl_all_of_generation(json_t *stats, json_int_t generation);

/* Whether a[0, na) and b[0, nb) share no pid / are the same sorted set. */
int rl_pids_disjoint(const pid_t *a, size_t na, const pid_t *b, size_t nb);
int rl_pids_equal(const pid_t *a, size_t na, const pid_t *b, size_t nb);

/* GET path on port answers 200 with a body holding text (NULL: any). */
void rl_get_ok(unsigned port, const char *path, const char *text);

/* SIGTERM: the master exits 0 and no worker outlives it. */
void rl_stop(struct master *m);

/* $TEST_PLUGIN_DIR/name into buf. */
void rl_plugin(char *buf, size_t cap, const char *name);

/* m->dir/name into buf. */
void rl_path(const struct master *m, const char *name, char *buf, size_t cap);

/* Starts -w 2 with the init_fails_when plugin, whose files are m->dir's
 * init.fail and init.wait (their paths into fail and wait), and with
 * --reload_timeout reload_timeout unless NULL. */
void rl_when_start(struct master *m, char *fail, char *wait, size_t cap,
                   const char *reload_timeout);

/* Waits (RL_WAIT_MS) until count workers of generation are starting: a
 * reload held at its gate (init waits while init.wait exists). */
void rl_wait_starting(const struct master *m, json_int_t generation, size_t count);

/* The cases of reload_more_cases.c. */
void rl_case_hup_queued_after_rollback(void);
void rl_case_usr2_upgrade_under_load(void);
void rl_case_usr2_upgrade_abandoned(void);
void rl_case_reuse_port(void);
void rl_case_unix_socket(void);
void rl_case_listen_fds_activation(void);
void rl_case_hup_bind_needs_restart(void);

#endif
