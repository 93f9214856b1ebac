/* The master's integration cases (the "master" TCase), in three files:
 * each file's case functions for the one table in master_cases.c, and the
 * helpers they share (defined in supervise_cases.c). */
#ifndef MOSS_TESTS_MASTER_CASES_H
#define MOSS_TESTS_MASTER_CASES_H

#include "master_fixture.h"

#define WAIT_MS (10000 * MASTER_SLOW)  /* a bound for what should be quick */
#define STOP_MS (15000 * MASTER_SLOW)  /* for a master to exit once told */

/* supervise_cases.c: workers kept alive, respawned, resized, pinned. */
void case_default_workers_cpus(void);
void case_kill9_respawn(void);
void case_crash_loop_backoff(void);
void case_hung_worker_replaced(void);
void case_ttin_ttou(void);
void case_cpu_affinity(void);

/* lifecycle_cases.c: stopping, the pid file and logs, failed starts. */
void case_term_drains_inflight(void);
void case_int_stops_fast(void);
void case_pid_file_and_usr1(void);
void case_bad_start(void);

/* ---- shared helpers (supervise_cases.c) ------------------------------------------- */

/* GET / on m's port answers 200 "Hello, World!" (the demo app). */
void expect_serves(const struct master *m);

/* master_stop(m, sig): exit status 0 and no worker left behind; else the
 * log goes to stderr and the case fails. */
void stop_clean(struct master *m, int sig);

/* master_wait conditions: totals.requests, totals.connections_active at
 * least *(json_int_t *)arg. */
int requests_at_least(json_t *stats, void *arg);
int connections_at_least(json_t *stats, void *arg);

#endif
