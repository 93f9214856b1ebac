/* The master keeps its workers: as many as asked (one per CPU by default),
 * a killed one replaced, a crash loop slowed by backoff, a hung one killed
 * and replaced, the count changed by SIGTTIN/SIGTTOU, slots pinned to CPUs.
 * The real binary (MOSS_BIN) through master_fixture.h; nothing asserts on
 * elapsed time: waits are bounded, figures measured go to stderr. */
#include "master_cases.h"
#include "master_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS (10000 * MASTER_SLOW)  /* a bound for what should be quick */
#define STOP_MS (15000 * MASTER_SLOW)
#define PIDS_MAX 64

/* The master is serving GET / on its port. */
static void expect_serves(const struct master *m)
{
    char body[256];

    TEST_ASSERT(http_get(m->port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(strcmp(body, "Hello, World!") == 0);
}

static void stop_clean(struct master *m)
{
    int status = master_stop(m, SIGTERM, STOP_MS);

    if (status != 0 || m->leftovers != 0)
        fprintf(stderr, "stop: status %d, %u workers left behind; log:\n%s\n", status,
                m->leftovers, master_log(m));
    TEST_ASSERT(status == 0 && m->leftovers == 0);
}

/* ---- how many workers ------------------------------------------------------------ */

/* want workers, all ready, in slots 0..want-1, distinct pids, each a child
 * of the master. */
static void expect_workers(const struct master *m, size_t want)
{
    json_t *stats = master_stats(m), *w;
    pid_t pids[PIDS_MAX];
    unsigned char slots[PIDS_MAX] = {0};
    size_t i, n;

    TEST_ASSERT(stats != NULL);
    TEST_ASSERT(stats_int(stats, "workers_wanted") == (json_int_t)want);
    TEST_ASSERT(stats_workers(stats, NULL) == want);
    n = stats_ready_pids(stats, pids, PIDS_MAX);
    TEST_ASSERT(n == want);
    for (i = 0; i < n; i++) {
        TEST_ASSERT(i == 0 || pids[i] != pids[i - 1]); /* sorted: equal ones would touch */
        TEST_ASSERT(proc_parent(pids[i]) == m->pid);
    }
    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        json_int_t slot = json_integer_value(json_object_get(w, "slot"));

        TEST_ASSERT(slot >= 0 && (size_t)slot < want && !slots[slot]);
        slots[slot] = 1;
    }
    json_decref(stats);
}

void case_default_workers_cpus(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > PIDS_MAX ? PIDS_MAX : (size_t)cpus;
    const char *const three[] = {"-w", "3", NULL};
    struct master m;

    fprintf(stderr, "default_workers_cpus: %ld CPUs online\n", cpus);
    master_start(&m, NULL);
    expect_workers(&m, want);
    expect_serves(&m);
    stop_clean(&m);
    master_start(&m, three);
    expect_workers(&m, 3);
    stop_clean(&m);
}
