/* The master's OS cases for privileges and CPU affinity (master/privileges.c,
 * master/affinity.c); the table is in os_cases.c. */
#include "../../master/os.h"
#include "harness.h"
#include "os_cases.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- privileges --------------------------------------------------------------------- */

/* The supplementary groups hold gid, and not root's group. */
static void check_groups(gid_t gid)
{
    gid_t groups[256];
    int n = getgroups(256, groups), has_gid = 0;

    CHILD_CHECK(n >= 1);
    for (int i = 0; i < n; i++) {
        CHILD_CHECK(groups[i] != 0 || gid == 0);
        has_gid |= groups[i] == gid;
    }
    CHILD_CHECK(has_gid);
}

/* The name of a group other than root's and gid, so that dropping to it is
 * seen to be more than the user's primary group. */
static void other_group(gid_t gid, char *name, size_t cap)
{
    struct group *gr;

    setgrent();
    do {
        gr = getgrent();
    } while (gr != NULL && (gr->gr_gid == 0 || gr->gr_gid == gid));
    CHILD_CHECK(gr != NULL && strlen(gr->gr_name) < cap);
    snprintf(name, cap, "%s", gr->gr_name);
    endgrent();
}

static void child_drop_nobody(void)
{
    char error[256] = "", group[64];
    uid_t uid;
    gid_t gid;

    os_ids_of("nobody", "", &uid, &gid);
    other_group(gid, group, sizeof(group));
    os_ids_of("nobody", group, &uid, &gid);
    CHILD_CHECK(moss__privileges_drop("nobody", group, error, sizeof(error)) == 0);
    CHILD_CHECK(getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid);
    check_groups(gid);
    /* for good: root cannot be had back */
    CHILD_CHECK(setuid(0) == -1 && errno == EPERM);
    /* again as the same user (an upgraded master): nothing to do */
    CHILD_CHECK(moss__privileges_drop("nobody", group, error, sizeof(error)) == 0);
    /* and another user needs root */
    error[0] = '\0';
    CHILD_CHECK(moss__privileges_drop("root", "", error, sizeof(error)) == -1);
    CHILD_CHECK(errno == EPERM && strstr(error, "root") != NULL);
    CHILD_CHECK(strstr(error, "Operation not permitted") != NULL);
    CHILD_CHECK(getuid() == uid);
}

void os_case_privileges_drop(void)
{
    if (os_running_as_root("privileges_drop"))
        os_run_in_child(child_drop_nobody);
}

/* No group: the user's primary group. */
static void child_drop_primary_group(void)
{
    char error[256] = "";
    uid_t uid;
    gid_t gid;

    os_ids_of("nobody", "", &uid, &gid);
    CHILD_CHECK(moss__privileges_drop("nobody", "", error, sizeof(error)) == 0);
    CHILD_CHECK(getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid);
    check_groups(gid);
}

void os_case_privileges_primary_group(void)
{
    if (os_running_as_root("privileges_primary_group"))
        os_run_in_child(child_drop_primary_group);
}

/* Not root: switching user is EPERM, named. Run as is when the tests do
 * not run as root, else in a child that first became nobody. */
static void child_drop_not_root(void)
{
    char error[256] = "";

    if (geteuid() == 0)
        CHILD_CHECK(moss__privileges_drop("nobody", "nogroup", error, sizeof(error)) == 0);
    CHILD_CHECK(moss__privileges_drop("root", "root", error, sizeof(error)) == -1);
    CHILD_CHECK(errno == EPERM && strstr(error, "setuid(root)") == error);
    CHILD_CHECK(getuid() != 0 && geteuid() != 0);
}

void os_case_privileges_not_root(void)
{
    os_run_in_child(child_drop_not_root);
}

/* Users and groups that do not exist: ENOENT naming them, and nothing
 * changed. "" is no user at all: nothing to do. */
void os_case_privileges_unknown(void)
{
    char error[256] = "";
    uid_t uid = getuid();
    gid_t gid = getgid();

    TEST_ASSERT(moss__privileges_drop("moss-no-such-user", "", error, sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT && strstr(error, "moss-no-such-user") != NULL);
    TEST_ASSERT(moss__privileges_drop("nobody", "moss-no-such-group", error,
                                      sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT && strstr(error, "moss-no-such-group") != NULL);
    TEST_ASSERT(getuid() == uid && getgid() == gid);
    TEST_ASSERT(moss__privileges_check("moss-no-such-user", "nogroup", error,
                                       sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT && strstr(error, "moss-no-such-user") != NULL);
    TEST_ASSERT(moss__privileges_check("nobody", "moss-no-such-group", error,
                                       sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT && strstr(error, "moss-no-such-group") != NULL);
    TEST_ASSERT(moss__privileges_check("", "moss-no-such-group", error, sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT);
    TEST_ASSERT(moss__privileges_check("nobody", "nogroup", error, sizeof(error)) == 0);
    TEST_ASSERT(moss__privileges_check("nobody", "", error, sizeof(error)) == 0);
    TEST_ASSERT(moss__privileges_check("", "", error, sizeof(error)) == 0);
    TEST_ASSERT(moss__privileges_drop("", "", error, sizeof(error)) == 0);
    TEST_ASSERT(getuid() == uid && getgid() == gid);
}

/* ---- CPU affinity ------------------------------------------------------------------- */

void os_case_affinity_slots(void)
{
    cpu_set_t mask;
    int n, seen[CPU_SETSIZE] = {0};
    long online = sysconf(_SC_NPROCESSORS_ONLN);

    TEST_ASSERT(sched_getaffinity(0, sizeof(mask), &mask) == 0);
    n = CPU_COUNT(&mask);
    TEST_ASSERT(n >= 1);
    /* the first n slots cover the mask once each; then it wraps */
    for (unsigned slot = 0; slot < (unsigned)n; slot++) {
        int cpu = moss__affinity_cpu_for_slot(slot);

        TEST_ASSERT(cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &mask) && !seen[cpu]);
        seen[cpu] = 1;
        TEST_ASSERT(moss__affinity_cpu_for_slot(slot + (unsigned)n) == cpu);
    }
    TEST_ASSERT(moss__cpu_count() >= 1);
    TEST_ASSERT(online < 1 || moss__cpu_count() == (unsigned)online);
}

/* Pinned, the process runs on that CPU alone, and slots then all map to
 * it: the mapping follows the mask, not CPU numbers. */
static void child_affinity_pin(void)
{
    char error[256] = "";
    int cpu = moss__affinity_cpu_for_slot(1);
    cpu_set_t mask;

    CHILD_CHECK(cpu >= 0);
    CHILD_CHECK(moss__affinity_pin(cpu, error, sizeof(error)) == 0);
    CHILD_CHECK(sched_getaffinity(0, sizeof(mask), &mask) == 0);
    CHILD_CHECK(CPU_COUNT(&mask) == 1 && CPU_ISSET(cpu, &mask));
    CHILD_CHECK(moss__affinity_cpu_for_slot(0) == cpu);
    CHILD_CHECK(moss__affinity_cpu_for_slot(7) == cpu);
    CHILD_CHECK(moss__affinity_pin(-1, error, sizeof(error)) == -1 && errno == EINVAL);
    CHILD_CHECK(strcmp(error, "sched_setaffinity(cpu -1): Invalid argument") == 0);
    /* a CPU the machine does not have */
    CHILD_CHECK(moss__affinity_pin(CPU_SETSIZE * 4 - 1, error, sizeof(error)) == -1);
    CHILD_CHECK(errno == EINVAL && strstr(error, "sched_setaffinity(cpu ") == error);
    CHILD_CHECK(sched_getaffinity(0, sizeof(mask), &mask) == 0 && CPU_ISSET(cpu, &mask));
}

void os_case_affinity_pin(void)
{
    os_run_in_child(child_affinity_pin);
}

