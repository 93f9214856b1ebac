/* The watchdog's mechanism (runtime/watchdog.c), on the test's own hub, with
 * no fork and no other process: this table is what `make check SAN=thread`
 * runs under ThreadSanitizer. The reports arrive on the monitor thread; the
 * cases read them only after moss__watchdog_stop has joined it. */
#include "harness.h"
#include "moss.h"

#include "../../runtime/watchdog.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define REPORTS_MAX 16
#define SLOW (RUNNING_ON_VALGRIND ? 10 : 1)

static struct moss__block_report reports[REPORTS_MAX];
static int report_count, kill_count;
static _Atomic int reports_delivered; /* the one figure read before the join */
static struct moss__block_report killed;

static void on_report(const struct moss__block_report *r, void *arg)
{
    (void)arg;
    if (report_count < REPORTS_MAX)
        reports[report_count] = *r;
    report_count++;
    atomic_fetch_add(&reports_delivered, 1);
}

static void on_kill(const struct moss__block_report *r, void *arg)
{
    (void)arg;
    killed = *r;
    kill_count++;
}

static struct moss__watchdog *watchdog_begin(int64_t kill_ms, unsigned per_minute)
{
    struct moss__watchdog_opts opts = {.interval_ms = 10, .max_blocking_ms = 100,
                                       .kill_ms = kill_ms, .reports_per_minute = per_minute,
                                       .on_report = on_report, .on_kill = on_kill};
    struct moss__watchdog *wd;

    report_count = kill_count = 0;
    atomic_store(&reports_delivered, 0);
    wd = moss__watchdog_start(&opts);
    TEST_ASSERT(wd != NULL);
    return wd;
}

static int64_t clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Blocks the hub the way a careless handler does: real sleeps, not
 * cooperative ones. Not static, so that a backtrace names it. */
void moss_test_watchdog_block(int64_t ms);
void moss_test_watchdog_block(int64_t ms)
{
    int64_t end = clock_ms() + ms;

    while (clock_ms() < end)
        usleep(1000);
}

static void *blocker_run(void *arg)
{
    moss_greenlet_set_name(moss_greenlet_current(), "blocker");
    moss__greenlet_set_context(moss_greenlet_current(), "GET /block?ms=300");
    moss_test_watchdog_block(*(int64_t *)arg);
    moss__greenlet_set_context(moss_greenlet_current(), NULL);
    return NULL;
}

static int has_frame(const struct moss__block_report *r, const char *name)
{
    for (uint32_t i = 0; i < r->frame_count; i++)
        if (strncmp(r->frames[i], name, strlen(name)) == 0)
            return 1;
    return 0;
}

/* After a block the hub's cached clock is behind until its next batch: a
 * yield first, so that the sleep after it is a real one. */
static void settle(int ms)
{
    TEST_ASSERT(moss_sleep(0) == 0 && moss_sleep(ms) == 0);
}

/* A greenlet keeps the hub 300 ms: one episode, reported when it starts
 * (ongoing, with the greenlet, its request and a backtrace through the
 * blocking function) and when it ends (its length, 300 to 400 ms). */
static void case_blocked_greenlet_reported(void)
{
    struct moss__watchdog *wd = watchdog_begin(0, 0);
    int64_t block_ms = 300;
    moss_greenlet_t *g = moss_spawn(blocker_run, &block_ms);
    uint64_t id = moss_greenlet_id(g);

    TEST_ASSERT(g != NULL && moss_join(g, MOSS_FOREVER, NULL) == 0);
    settle(100); /* the monitor sees the hub switch again */
    moss__watchdog_stop(wd);
    fprintf(stderr, "watchdog: %d reports; the last: %lld ms, %u frames, first %s\n",
            report_count, (long long)reports[report_count > 0 ? report_count - 1 : 0].ms,
            reports[0].frame_count, reports[0].frame_count > 0 ? reports[0].frames[0] : "-");
    TEST_ASSERT(report_count == 2);
    TEST_ASSERT(reports[0].ongoing && !reports[1].ongoing);
    for (int i = 0; i < 2; i++) {
        TEST_ASSERT(reports[i].greenlet == id && strcmp(reports[i].name, "blocker") == 0);
        TEST_ASSERT(strcmp(reports[i].request, "GET /block?ms=300") == 0);
        TEST_ASSERT(!reports[i].rate_limited);
        TEST_ASSERT(has_frame(&reports[i], "moss_test_watchdog_block"));
    }
    TEST_ASSERT(reports[0].ms >= 100 && reports[0].ms < 300);
    TEST_ASSERT(reports[1].ms >= 300 && reports[1].ms <= 400 * SLOW);
    TEST_ASSERT(kill_count == 0);
}

/* Time idle in the poll is never blocking, however long. */
static void case_idle_no_report(void)
{
    struct moss__watchdog *wd = watchdog_begin(0, 0);

    TEST_ASSERT(moss_sleep(2000) == 0);
    moss__watchdog_stop(wd);
    TEST_ASSERT(report_count == 0);
}

/* Many short cooperative waits add up to far more than max_blocking_ms
 * without any of them blocking. */
static void case_cooperative_sleeps_no_report(void)
{
    struct moss__watchdog *wd = watchdog_begin(0, 0);
    int rounds = RUNNING_ON_VALGRIND ? 1000 : 10000;

    if (RUNNING_ON_VALGRIND)
        fprintf(stderr, "watchdog: under valgrind, %d sleeps of 1 ms, not 10000\n", rounds);
    for (int i = 0; i < rounds; i++)
        TEST_ASSERT(moss_sleep(1) == 0);
    moss__watchdog_stop(wd);
    TEST_ASSERT(report_count == 0);
}

/* Past kill_ms, on_kill runs once, after the episode's report. */
static void case_kill_once(void)
{
    struct moss__watchdog *wd = watchdog_begin(200, 0);
    int64_t block_ms = 450;
    moss_greenlet_t *g = moss_spawn(blocker_run, &block_ms);

    TEST_ASSERT(g != NULL && moss_join(g, MOSS_FOREVER, NULL) == 0);
    settle(100);
    moss__watchdog_stop(wd);
    TEST_ASSERT(kill_count == 1);
    TEST_ASSERT(killed.ms >= 200 && killed.ongoing);
    TEST_ASSERT(report_count == 2 && reports[0].ongoing);
}

/* Beyond reports_per_minute, episodes are still reported, marked
 * rate_limited; the next one let through (none here) would carry the
 * count. */
static void case_rate_limited(void)
{
    struct moss__watchdog *wd = watchdog_begin(0, 2);
    int64_t block_ms = 150;

    for (int i = 0; i < 4; i++) {
        moss_greenlet_t *g = moss_spawn(blocker_run, &block_ms);

        TEST_ASSERT(g != NULL && moss_join(g, MOSS_FOREVER, NULL) == 0);
        settle(60);
    }
    moss__watchdog_stop(wd);
    TEST_ASSERT(report_count == 8);
    for (int i = 0; i < 8; i += 2)
        TEST_ASSERT(reports[i].ongoing && reports[i].rate_limited == (i >= 4));
}

/* A block that ends between two looks (here the first look is 1 s away) is
 * still reported, by the next look, from the gap the hook measured: once,
 * ended, late, with the greenlet's id and no evidence. */
static void case_late_episode_reported(void)
{
    struct moss__watchdog_opts opts = {.interval_ms = 1000, .max_blocking_ms = 50,
                                       .on_report = on_report};
    struct moss__watchdog *wd;
    int64_t block_ms = 150;
    moss_greenlet_t *g;
    uint64_t id;

    report_count = 0;
    atomic_store(&reports_delivered, 0);
    TEST_ASSERT((wd = moss__watchdog_start(&opts)) != NULL);
    TEST_ASSERT((g = moss_spawn(blocker_run, &block_ms)) != NULL);
    id = moss_greenlet_id(g);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    for (int i = 0; i < 50 * SLOW && atomic_load(&reports_delivered) == 0; i++)
        TEST_ASSERT(moss_sleep(100) == 0); /* up to 5 s: the look at 1 s reports it */
    TEST_ASSERT(atomic_load(&reports_delivered) == 1);
    moss__watchdog_stop(wd);
    TEST_ASSERT(report_count == 1);
    TEST_ASSERT(reports[0].late && !reports[0].ongoing && !reports[0].rate_limited);
    TEST_ASSERT(reports[0].greenlet == id && reports[0].frame_count == 0);
    /* the hook reads the coarse clock (a tick of 4 to 10 ms) */
    TEST_ASSERT(reports[0].ms >= block_ms - 10 && reports[0].ms < 1000 * SLOW);
}

static void case_start_errors(void)
{
    struct moss__watchdog_opts bad = {.interval_ms = 0, .max_blocking_ms = 100};
    struct moss__watchdog *wd;

    TEST_ASSERT(moss__watchdog_start(&bad) == NULL && errno == EINVAL);
    TEST_ASSERT(moss__watchdog_start(NULL) == NULL && errno == EINVAL);
    wd = watchdog_begin(0, 0);
    TEST_ASSERT(moss__watchdog_start(&(struct moss__watchdog_opts){
                    .interval_ms = 10, .max_blocking_ms = 100}) == NULL &&
                errno == EBUSY);
    moss__watchdog_stop(wd);
    wd = watchdog_begin(0, 0); /* stopped: a new one may start */
    moss__watchdog_stop(wd);
    moss__watchdog_stop(NULL);
}

const struct moss_test_case moss_test_watchdog_cases[] = {
    {"blocked_greenlet_reported", case_blocked_greenlet_reported},
    {"idle_no_report", case_idle_no_report},
    {"cooperative_sleeps_no_report", case_cooperative_sleeps_no_report},
    {"kill_once", case_kill_once},
    {"rate_limited", case_rate_limited},
    {"late_episode_reported", case_late_episode_reported},
    {"start_errors", case_start_errors},
    {NULL, NULL},
};
