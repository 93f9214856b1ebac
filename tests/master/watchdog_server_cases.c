/* The watchdog in the real binary (MOSS_BIN): a worker's report in its error
 * log, in /stats and in /metrics, and block_kill_ms replacing the worker
 * after the report. Forks and execs, so not part of the ThreadSanitizer run
 * (tests/runtime/watchdog_cases.c is). */
#include "master_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS (10000 * MASTER_SLOW)

/* Under valgrind everything is ten times slower, ordinary work included:
 * the threshold and the blocks stretch with it, or ordinary work would be
 * reported too. */
static char max_blocking[16];

static const char *const *wd_args(const char *extra_name, const char *extra_value)
{
    static const char *args[8];

    snprintf(max_blocking, sizeof(max_blocking), "%d", 100 * MASTER_SLOW);
    args[0] = "-w", args[1] = "1", args[2] = "--max_blocking_ms", args[3] = max_blocking;
    args[4] = extra_name, args[5] = extra_value, args[6] = NULL;
    return args;
}

/* The number of times needle occurs in haystack. */
static int count_of(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The "hub blocked N ms" figure of the first line containing event. */
static long blocked_ms(const char *log, const char *event)
{
    const char *line = strstr(log, event);
    long ms = -1;

    if (line != NULL && (line = strstr(line, "hub blocked ")) != NULL)
        sscanf(line, "hub blocked %ld ms", &ms);
    return ms;
}

/* GET /block?ms=300 on a one-worker server: exactly one episode, logged when
 * it starts and when it ends, naming the request greenlet, the request and
 * the demo's blocking function, lasting 300 to 400 ms; /stats and /metrics
 * show it. */
static void case_block_reported(void)
{
    static char metrics[1 << 16];
    struct master m;
    char body[256], path[64], want[128];
    json_t *stats, *last;
    const char *log, *line;
    int block = 300 * MASTER_SLOW;

    snprintf(path, sizeof(path), "/block?ms=%d", block);
    snprintf(want, sizeof(want), "\"http request\" serving \"GET %s\"", path);
    master_start(&m, wd_args(NULL, NULL));
    TEST_ASSERT(http_get(m.port, path, NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(master_log_wait(&m, "watchdog: unblocked", WAIT_MS) == 0);
    log = master_log(&m);
    fprintf(stderr, "watchdog report: %.300s\n", strstr(log, "watchdog: unblocked"));
    /* under a loaded valgrind the monitor may not run during the block: the
     * episode is then reported once, late (tests/runtime covers that) */
    TEST_ASSERT(count_of(log, "watchdog: blocked:") == 1 ||
                (RUNNING_ON_VALGRIND && count_of(log, "seen only after it ended") == 1));
    TEST_ASSERT(count_of(log, "watchdog: unblocked:") == 1);
    TEST_ASSERT(strstr(log, "by greenlet") != NULL);
    /* the greenlet's name and request come from the signal handler; under a
     * loaded valgrind it may not run within the capture's wait */
    if (!RUNNING_ON_VALGRIND || strstr(log, want) != NULL)
        TEST_ASSERT(strstr(log, want) != NULL);
    else
        fprintf(stderr, "watchdog report: under valgrind the capture was too slow: %s\n",
                "the greenlet's name, request and frames are not checked");
    TEST_ASSERT(RUNNING_ON_VALGRIND ||
                strstr(strstr(log, "watchdog: unblocked"), "moss__demo_block+") != NULL);
    TEST_ASSERT(blocked_ms(log, "watchdog: unblocked") >= block);
    TEST_ASSERT(blocked_ms(log, "watchdog: unblocked") <= block + 100 * MASTER_SLOW);
    TEST_ASSERT((stats = master_stats(&m)) != NULL);
    last = json_object_get(json_object_get(json_array_get(json_object_get(stats, "workers"), 0),
                                           "blocked"), "last");
    TEST_ASSERT(stats_int(stats, "totals.blocked") == 1 && json_is_object(last));
    TEST_ASSERT(RUNNING_ON_VALGRIND || /* the capture may be too slow there, as above */
                strcmp(json_string_value(json_object_get(last, "request")) + 4, path) == 0);
    TEST_ASSERT(json_integer_value(json_object_get(last, "ms")) >= block);
    TEST_ASSERT(json_is_false(json_object_get(last, "ongoing")));
    TEST_ASSERT(RUNNING_ON_VALGRIND || json_array_size(json_object_get(last, "frames")) > 0);
    json_decref(stats);
    TEST_ASSERT(http_get(m.admin_port, "/metrics", NULL, metrics, sizeof(metrics)) == 200);
    TEST_ASSERT(strstr(metrics, "\nmoss_blocked_total 1\n") != NULL);
    TEST_ASSERT((line = strstr(metrics, "\nmoss_worker_blocked_duration_seconds_bucket{")) &&
                strstr(line, "le=\"0.25\"} 0\n") && strstr(line, "le=\"+Inf\"} 1\n"));
    TEST_ASSERT(strstr(metrics, "moss_worker_blocked_duration_seconds_count{") != NULL);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* block_kill_ms: a worker stuck past it is replaced, its report logged by
 * the worker before the master's kill, which says what it was doing. */
static void case_block_kill(void)
{
    struct master m;
    pid_t before[1], after[1];
    char path[64];
    json_t *stats;
    const char *log, *report, *kill_line;

    master_start(&m, wd_args("--block_kill_ms", "500"));
    TEST_ASSERT((stats = master_stats(&m)) != NULL && stats_ready_pids(stats, before, 1) == 1);
    json_decref(stats);
    snprintf(path, sizeof(path), "/block?ms=%d", 3000 * MASTER_SLOW);
    TEST_ASSERT(http_get(m.port, path, NULL, NULL, 0) == -1); /* cut off */
    TEST_ASSERT(master_log_wait(&m, "serving on", WAIT_MS) == 0);
    TEST_ASSERT(master_wait(&m, master_all_ready, NULL, WAIT_MS) == 0);
    TEST_ASSERT((stats = master_stats(&m)) != NULL && stats_ready_pids(stats, after, 1) == 1);
    TEST_ASSERT(after[0] != before[0]);
    TEST_ASSERT(json_integer_value(json_object_get(
                    json_array_get(json_object_get(stats, "workers"), 0), "respawns")) == 1);
    TEST_ASSERT(stats_int(stats, "totals.blocked") == 1);
    json_decref(stats);
    log = master_log(&m);
    report = strstr(log, "watchdog: block_kill:");
    kill_line = strstr(log, "(block_kill_ms 500): killing it");
    TEST_ASSERT(report != NULL && kill_line != NULL && report < kill_line);
    TEST_ASSERT(blocked_ms(log, "watchdog: block_kill:") >= 500);
    TEST_ASSERT(strstr(report, path) != NULL);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* error_log_format json: the report is one JSON object a line. */
static void case_json_report(void)
{
    struct master m;
    json_t *report;
    const char *line;
    char path[64];

    snprintf(path, sizeof(path), "/block?ms=%d", 200 * MASTER_SLOW);
    master_start(&m, wd_args("--error_log_format", "json"));
    TEST_ASSERT(http_get(m.port, path, NULL, NULL, 0) == 200);
    TEST_ASSERT(master_log_wait(&m, "\"event\":\"unblocked\"", WAIT_MS) == 0);
    line = strstr(master_log(&m), "{\"event\":\"unblocked\"");
    TEST_ASSERT(line != NULL);
    report = json_loadb(line, strcspn(line, "\n"), 0, NULL);
    TEST_ASSERT(report != NULL);
    TEST_ASSERT(RUNNING_ON_VALGRIND || /* the capture may be too slow there */
                strcmp(json_string_value(json_object_get(report, "request")) + 4, path) == 0);
    TEST_ASSERT(json_integer_value(json_object_get(report, "ms")) >= 200 * MASTER_SLOW);
    TEST_ASSERT(json_is_array(json_object_get(report, "frames")));
    json_decref(report);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* An idle worker for 2 s: no report. */
static void case_idle_quiet(void)
{
    struct master m;

    master_start(&m, wd_args(NULL, NULL));
    test_pause_ms(2000);
    TEST_ASSERT(strstr(master_log(&m), "watchdog:") == NULL);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

const struct moss_test_case moss_test_watchdog_server_cases[] = {
    {"block_reported", case_block_reported},
    {"block_kill", case_block_kill},
    {"json_report", case_json_report},
    {"idle_quiet", case_idle_quiet},
    {NULL, NULL},
};
