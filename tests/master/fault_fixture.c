/* The helpers the fault and load balancer cases share (fault_cases.h):
 * /stats figures, waits, wrk runs, finding a program. */
#include "fault_cases.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- shared helpers (fault_cases.h) ------------------------------------------------ */

json_t *fc_stats(const struct master *m)
{
    json_t *stats = master_stats(m);

    if (stats == NULL)
        fprintf(stderr, "/stats did not answer; log:\n%s\n", master_log(m));
    TEST_ASSERT(stats != NULL);
    return stats;
}

json_int_t fc_int(const struct master *m, const char *path)
{
    json_t *stats = fc_stats(m);
    json_int_t v = stats_int(stats, path);

    json_decref(stats);
    return v;
}

size_t fc_worker_pids(const struct master *m, pid_t *pids)
{
    json_t *stats = fc_stats(m), *w;
    size_t i, n = 0;

    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        json_t *pid = json_object_get(w, "pid");

        if (json_is_integer(pid) && n < FC_PIDS_MAX)
            pids[n++] = (pid_t)json_integer_value(pid);
    }
    json_decref(stats);
    return n;
}

void fc_wait_load(const struct master *m)
{
    json_int_t before = fc_int(m, "totals.requests");
    int64_t end = test_clock_ms() + FC_WAIT_MS;

    while (fc_int(m, "totals.requests") <= before + 10) {
        if (test_clock_ms() >= end) {
            fprintf(stderr, "no load reached the workers; log:\n%s\n", master_log(m));
            TEST_ASSERT(!"no load");
        }
        test_pause_ms(20);
    }
}

static int fc_is_generation(json_t *stats, void *arg)
{
    return stats_int(stats, "generation") == *(const json_int_t *)arg &&
           master_all_ready(stats, NULL);
}

void fc_wait_generation(const struct master *m, json_int_t generation)
{
    if (master_wait(m, fc_is_generation, &generation, FC_WAIT_MS) == 0)
        return;
    fprintf(stderr, "generation %lld not ready within %d ms; log:\n%s\n", (long long)generation,
            FC_WAIT_MS, master_log(m));
    TEST_ASSERT(!"generation not ready");
}

void fc_wrk_stop(struct wrk_run *run, struct wrk_result *r)
{
    static char out[65536];
    int copy = dup(run->out_fd); /* wrk_finish closes its own */
    const char *errors;

    TEST_ASSERT(copy != -1);
    TEST_ASSERT(kill(run->pid, SIGINT) == 0); /* our child, not reaped yet: its pid */
    wrk_finish(run, r);
    test_output_read(copy, out, sizeof(out));
    close(copy);
    if ((errors = strstr(out, "Socket errors:")) != NULL)
        fprintf(stderr, "wrk: %.*s\n", (int)strcspn(errors, "\n"), errors);
}

void fc_wrk_paced_start(struct wrk_run *run, const char *dir, unsigned port, const char *path,
                        unsigned conns, unsigned seconds, unsigned delay_ms)
{
    static char script[256], url[256], c[16], d[16];
    char *argv[] = {"wrk", "-t1", c, d, "-s", script, url, NULL};
    FILE *f;

    TEST_ASSERT((size_t)snprintf(script, sizeof(script), "%s/paced.lua", dir) < sizeof(script));
    f = fopen(script, "w");
    TEST_ASSERT(f != NULL);
    fprintf(f, "function delay()\n  return %u\nend\n", delay_ms);
    TEST_ASSERT(fclose(f) == 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    snprintf(c, sizeof(c), "-c%u", conns);
    snprintf(d, sizeof(d), "-d%us", seconds);
    run->out_fd = test_output_file();
    run->pid = test_spawn(argv, run->out_fd);
}

int fc_find_program(const char *name, char *buf, size_t cap)
{
    const char *path = getenv("PATH");
    char dirs[4096];

    snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/sbin", path != NULL ? path : "");
    for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir != NULL;
         dir = strtok_r(NULL, ":", &save)) {
        if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap && access(buf, X_OK) == 0)
            return 1;
    }
    return 0;
}


size_t fc_count_in(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *p = strstr(text, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}
