/* The master's integration cases, in more than one file: each file's case
 * functions, for the one table in master_cases.c. */
#ifndef MOSS_TESTS_MASTER_CASES_H
#define MOSS_TESTS_MASTER_CASES_H

/* supervise_cases.c: workers kept alive, respawned, resized, pinned. */
void case_default_workers_cpus(void);
void case_kill9_respawn(void);
void case_crash_loop_backoff(void);
void case_hung_worker_replaced(void);
void case_ttin_ttou(void);
void case_cpu_affinity(void);

#endif
