/* What the master's OS cases share between their files: running a body in
 * a child, root checks, and the cases of os_process_cases.c (privileges and
 * CPU affinity); the table is in os_cases.c. */
#ifndef MOSS_TESTS_MASTER_OS_CASES_H
#define MOSS_TESTS_MASTER_OS_CASES_H

#include <sys/types.h>

/* A check inside a forked child: on failure, says where and exits 1 (the
 * parent's os_run_in_child then fails the case). */
__attribute__((noreturn)) void os_child_fail(const char *file, const char *expr, int line);
#define CHILD_CHECK(cond) ((cond) ? (void)0 : os_child_fail(__FILE__, #cond, __LINE__))

/* Runs body in a forked child (bounded wait, ended by pid); the case fails
 * if the child fails. */
void os_run_in_child(void (*body)(void));

/* Whether the test runs as root; if not, says on stderr that what is
 * skipped. */
int os_running_as_root(const char *what);

/* The uid of user and the gid of group ("" for the user's primary). */
void os_ids_of(const char *user, const char *group, uid_t *uid, gid_t *gid);

void os_case_privileges_drop(void);
void os_case_privileges_primary_group(void);
void os_case_privileges_not_root(void);
void os_case_privileges_unknown(void);
void os_case_affinity_slots(void);
void os_case_affinity_pin(void);

#endif
