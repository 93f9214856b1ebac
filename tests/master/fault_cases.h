/* What the fault cases (tests/master/fault_cases.c) and the load balancer
 * cases (tests/master/haproxy_cases.c) share: bounds, /stats figures, wrk
 * stopped at a moment the case chooses, and the workers of a master. The
 * helpers are defined in fault_cases.c. */
#ifndef MOSS_TESTS_MASTER_FAULT_CASES_H
#define MOSS_TESTS_MASTER_FAULT_CASES_H

#include "master_fixture.h"

#include <stddef.h>
#include <sys/types.h>

/* A bound for what takes milliseconds natively (a start, a reload, a
 * respawn, a stop): generous, and stretched under valgrind. Nothing is
 * asserted against a tighter time: durations are printed. */
#define FC_WAIT_MS (15000 * MASTER_SLOW)
#define FC_PIDS_MAX 64

/* /stats, which must answer (the case fails otherwise); json_decref it. */
json_t *fc_stats(const struct master *m);

/* One integer figure of /stats ("generation", "totals.requests", ...). */
json_int_t fc_int(const struct master *m, const char *path);

/* The pids of every worker /stats lists (any state), into pids
 * (FC_PIDS_MAX); their count. */
size_t fc_worker_pids(const struct master *m, pid_t *pids);

/* Waits (FC_WAIT_MS) until m's workers have served more requests than
 * they had: a load just started reaches them. */
void fc_wait_load(const struct master *m);

/* Waits (FC_WAIT_MS) until generation is the committed one with every
 * wanted worker ready; fails the case (with the log) otherwise. */
void fc_wait_generation(const struct master *m, json_int_t generation);

/* Stops a wrk started with a duration longer than the case needs (SIGINT:
 * wrk stops and prints its report), then wrk_finish. The errors a client
 * saw are r->socket_errors + r->non_2xx. */
void fc_wrk_stop(struct wrk_run *run, struct wrk_result *r);

/* wrk -t1 -cCONNS -dSECONDS with a script (written as dir/paced.lua) that
 * waits delay_ms between a response and the next request on each
 * connection: load that leaves the host some CPU. Ended as wrk_start's. */
void fc_wrk_paced_start(struct wrk_run *run, const char *dir, unsigned port, const char *path,
                        unsigned conns, unsigned seconds, unsigned delay_ms);

/* Whether the program name is an executable in a directory of $PATH, or
 * of /usr/sbin or /usr/local/sbin (where Debian puts daemons, and which a
 * user's PATH may lack): its full path into buf, 1; or 0. */
int fc_find_program(const char *name, char *buf, size_t cap);

/* How many times what occurs in text. */
size_t fc_count_in(const char *text, const char *what);

/* The access log on a full disk (fault_log_cases.c). */
void fault_case_access_log_full(void);

#endif
