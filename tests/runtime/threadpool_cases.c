/* The thread pool and moss_getaddrinfo: results, a hub that keeps serving
 * while jobs block their threads, giving up (deadline, kill) without leaks,
 * the size, the queue bound, and fork.
 *
 * Timing asserts are orders of magnitude or physical lower bounds (a job that
 * sleeps 50 ms cannot finish sooner). Waits are bounded in count and time;
 * the ones that can only end with EDEADLK are bounded by alarm(2). */
#include "harness.h"
#include "moss.h"

/* For park_on_nothing only: the public API has no wait that just one thing,
 * the loop running dry, can end. */
#include "../../runtime/hub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ThreadSanitizer does not support a child that starts threads after a
 * multi-threaded fork (its die_after_fork), and in a forked child it loses
 * the ordering of greenlet switches (false races in the hub core, with no
 * pool involved). Under it the fork case's child only exits, so the parent's
 * side of fork (the atfork handlers, jobs in flight) is still checked. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

/* ---- helpers --------------------------------------------------------------- */

static _Atomic int jobs_started, jobs_finished;

static void nap(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* A job that really blocks its thread for arg milliseconds. */
static void *nap_job(void *arg)
{
    atomic_fetch_add(&jobs_started, 1);
    nap((long)(intptr_t)arg);
    atomic_fetch_add(&jobs_finished, 1);
    return arg;
}

/* Returns the thread it ran on. */
static void *thread_job(void *arg)
{
    (void)arg;
    return (void *)pthread_self();
}

/* A greenlet ticking every millisecond, to show that the hub keeps serving. */
static int ticks, stop_ticking;

static void *ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100000 && !stop_ticking; i++) {
        if (moss_sleep(1) != 0)
            break;
        ticks++;
    }
    return NULL;
}

static int stop_ticker(moss_greenlet_t *g)
{
    stop_ticking = 1;
    return moss_join(g, moss_now() + 5000, NULL);
}

/* Parks the calling (main) greenlet on nothing: only the loop running dry
 * ends it, with EDEADLK. So it returns once no job is left in flight; if the
 * pool kept the loop alive when idle, alarm(2) ends the case after 20 s. */
static int park_on_nothing(void)
{
    int rc;

    alarm(20);
    rc = moss__task_park(moss__task_current(), MOSS_FOREVER, NULL, NULL);
    alarm(0);
    return rc;
}

/* ---- results, and a hub that keeps serving ------------------------------------ */

static void case_run_returns_value(void)
{
    void *out = NULL;

    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)7, &out, MOSS_FOREVER) == 0);
    TEST_ASSERT((intptr_t)out == 7 && jobs_finished == 1);
    /* the main greenlet alone, waiting on a job of 100 ms: the job in flight
     * keeps the loop alive, no EDEADLK */
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)100, &out, MOSS_FOREVER) == 0);
    TEST_ASSERT((intptr_t)out == 100 && jobs_finished == 2);
    TEST_ASSERT(moss_threadpool_run(thread_job, NULL, &out, moss_now() + 5000) == 0);
    TEST_ASSERT(!pthread_equal((pthread_t)out, pthread_self()));
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)1, NULL, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_threadpool_run(NULL, NULL, &out, MOSS_FOREVER) == -1 && errno == EINVAL);
    /* idle again: the pool no longer holds the loop */
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
}

#define BLOCKERS 50
#define BLOCK_MS 50

static int blockers_ok;

static void *blocker(void *arg)
{
    void *out = NULL;

    if (moss_threadpool_run(nap_job, (void *)BLOCK_MS, &out, MOSS_FOREVER) == 0 &&
        (intptr_t)out == BLOCK_MS)
        blockers_ok++;
    return arg;
}

static void case_blocking_jobs_leave_hub_serving(void)
{
    moss_greenlet_t *tick = moss_spawn(ticker, NULL), *g[BLOCKERS];
    int64_t start = moss_now(), elapsed;

    for (int i = 0; i < BLOCKERS; i++)
        TEST_ASSERT((g[i] = moss_spawn(blocker, NULL)) != NULL);
    for (int i = 0; i < BLOCKERS; i++)
        TEST_ASSERT(moss_join(g[i], moss_now() + 30000, NULL) == 0);
    elapsed = moss_now() - start;
    TEST_ASSERT(stop_ticker(tick) == 0);
    TEST_ASSERT(blockers_ok == BLOCKERS && jobs_finished == BLOCKERS);
    /* 4 threads: 13 rounds of 50 ms at the least, and nowhere near 50 rounds */
    TEST_ASSERT(elapsed >= 13 * BLOCK_MS - 5);
    TEST_ASSERT(elapsed < 10 * 13 * BLOCK_MS);
    /* the ticker ran all along: ~650 ticks of 1 ms natively; far fewer only
     * if the hub had waited for the jobs */
    TEST_ASSERT(ticks >= 30);
}

/* ---- giving up ------------------------------------------------------------------ */

static void case_deadline_gives_up_job_completes(void)
{
    int64_t start = moss_now();
    moss_deadline_scope_t scope;
    void *out = (void *)1;

    errno = 0;
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)200, &out, start + 20) == -1);
    TEST_ASSERT(errno == ETIMEDOUT && out == (void *)1);
    TEST_ASSERT(moss_now() - start >= 20 && moss_now() - start < 2000);
    TEST_ASSERT(jobs_finished == 0);
    /* The job runs on; the loop lives until its result has come back and been
     * dropped (valgrind: freed), then runs dry. */
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
    TEST_ASSERT(jobs_finished == 1);
    TEST_ASSERT(moss_now() - start >= 200);
    /* a deadline scope gives up the same way */
    moss_deadline_push(&scope, moss_now() + 10);
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)100, &out, MOSS_FOREVER) == -1 &&
                errno == ETIMEDOUT);
    moss_deadline_pop(&scope);
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK && jobs_finished == 2);
}

static int waiter_errno;

static void *pool_waiter(void *arg)
{
    void *out = NULL;

    if (moss_threadpool_run(nap_job, arg, &out, MOSS_FOREVER) == -1)
        waiter_errno = errno;
    return out;
}

static void case_kill_gives_up_job_completes(void)
{
    moss_greenlet_t *g = moss_spawn(pool_waiter, (void *)200);
    void *out = (void *)1;

    TEST_ASSERT(moss_sleep(20) == 0); /* g is waiting on its job */
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, &out) == 0);
    TEST_ASSERT(waiter_errno == ECANCELED && out == NULL);
    TEST_ASSERT(jobs_finished == 0); /* it gave up at once, not after the job */
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
    TEST_ASSERT(jobs_finished == 1);
}

/* A call that cannot wait is refused before anything is submitted. */
static void *killed_then_run(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_sleep(10000) == -1 && errno == ECANCELED);
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)1, NULL, MOSS_FOREVER) == -1);
    waiter_errno = errno;
    return NULL;
}

static void case_refused_calls_run_nothing(void)
{
    moss_greenlet_t *g = moss_spawn(killed_then_run, NULL);
    moss_deadline_scope_t scope;

    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)1, NULL, moss_now() - 1) == -1 &&
                errno == ETIMEDOUT);
    moss_deadline_push(&scope, moss_now());
    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)1, NULL, MOSS_FOREVER) == -1 &&
                errno == ETIMEDOUT);
    moss_deadline_pop(&scope);
    TEST_ASSERT(moss_sleep(5) == 0);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, NULL) == 0);
    TEST_ASSERT(waiter_errno == ECANCELED);
    /* had anything been submitted, the loop would live until it had run */
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
    TEST_ASSERT(jobs_started == 0);
}

/* ---- size and bound ----------------------------------------------------------- */

static void case_set_size(void)
{
    moss_greenlet_t *g[4];
    int64_t start;

    TEST_ASSERT(moss_threadpool_set_size(0) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_threadpool_set_size(257) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_threadpool_set_size(256) == 0);
    TEST_ASSERT(moss_threadpool_set_size(1) == 0);
    TEST_ASSERT(moss_threadpool_set_size(2) == 0);
    start = moss_now();
    for (int i = 0; i < 4; i++)
        g[i] = moss_spawn(pool_waiter, (void *)50);
    for (int i = 0; i < 4; i++)
        TEST_ASSERT(moss_join(g[i], moss_now() + 5000, NULL) == 0);
    TEST_ASSERT(moss_now() - start >= 2 * 50 - 5); /* two threads: two rounds */
    TEST_ASSERT(jobs_finished == 4 && waiter_errno == 0);
    TEST_ASSERT(moss_threadpool_set_size(3) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_threadpool_set_size(0) == -1 && errno == EINVAL);
}

/* The bound: 64 jobs per thread in the pool at once. With one thread, 64 jobs
 * held at a gate fill it; further callers wait, in order, for room. */
#define POOL_BOUND 64

static atomic_int gate_open;
static int gated_ok, room_errno, late_ok;
static _Atomic int counted;

static void *gate_job(void *arg)
{
    for (int i = 0; i < 10000 && !atomic_load(&gate_open); i++)
        nap(1);
    return arg;
}

static void *count_job(void *arg)
{
    atomic_fetch_add(&counted, 1);
    return arg;
}

static void *gated_caller(void *arg)
{
    void *out = NULL;

    if (moss_threadpool_run(gate_job, arg, &out, MOSS_FOREVER) == 0 && out == arg)
        gated_ok++;
    return NULL;
}

static void *room_waiter(void *arg)
{
    void *out = NULL;

    if (moss_threadpool_run(count_job, arg, &out, MOSS_FOREVER) == -1)
        room_errno = errno;
    else if (out == arg)
        late_ok++;
    return NULL;
}

static void case_full_pool_callers_wait_for_room(void)
{
    moss_greenlet_t *g[POOL_BOUND], *killed, *late;
    int64_t start;

    TEST_ASSERT(moss_threadpool_set_size(1) == 0);
    for (int i = 0; i < POOL_BOUND; i++)
        g[i] = moss_spawn(gated_caller, (void *)(intptr_t)(i + 1));
    TEST_ASSERT(moss_sleep(10) == 0); /* all 64 submitted: the pool is full */
    start = moss_now();
    TEST_ASSERT(moss_threadpool_run(count_job, NULL, NULL, start + 30) == -1 &&
                errno == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 30); /* it waited for room, cooperatively */
    killed = moss_spawn(room_waiter, (void *)1);
    late = moss_spawn(room_waiter, (void *)2);
    TEST_ASSERT(moss_sleep(10) == 0); /* both wait for room */
    TEST_ASSERT(moss_kill(killed) == 0);
    TEST_ASSERT(moss_join(killed, moss_now() + 1000, NULL) == 0 && room_errno == ECANCELED);
    TEST_ASSERT(atomic_load(&counted) == 0); /* nobody beyond the bound got in */
    atomic_store(&gate_open, 1);
    for (int i = 0; i < POOL_BOUND; i++)
        TEST_ASSERT(moss_join(g[i], moss_now() + 10000, NULL) == 0);
    TEST_ASSERT(moss_join(late, moss_now() + 10000, NULL) == 0);
    TEST_ASSERT(gated_ok == POOL_BOUND && late_ok == 1);
    TEST_ASSERT(atomic_load(&counted) == 1); /* the late one only */
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
}

/* ---- getaddrinfo ---------------------------------------------------------------- */

static void case_getaddrinfo_localhost(void)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    const struct sockaddr_in *sin;
    moss_greenlet_t *tick, *busy;
    int ticks_before;

    TEST_ASSERT(moss_threadpool_set_size(1) == 0);
    tick = moss_spawn(ticker, NULL);
    busy = moss_spawn(pool_waiter, (void *)200); /* the lookup queues behind it */
    TEST_ASSERT(moss_sleep(5) == 0);
    ticks_before = ticks;
    TEST_ASSERT(moss_getaddrinfo("localhost", "80", &hints, &res, moss_now() + 10000) == 0);
    TEST_ASSERT(res != NULL && res->ai_family == AF_INET);
    sin = (const struct sockaddr_in *)res->ai_addr;
    TEST_ASSERT(sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && sin->sin_port == htons(80));
    freeaddrinfo(res);
    /* it waited ~200 ms, and the hub served meanwhile: ~200 ticks natively */
    TEST_ASSERT(ticks - ticks_before >= 5);
    TEST_ASSERT(moss_join(busy, moss_now() + 5000, NULL) == 0);
    TEST_ASSERT(stop_ticker(tick) == 0);
    res = (struct addrinfo *)1;
    TEST_ASSERT(moss_getaddrinfo("localhost", NULL, NULL, &res, moss_now() + 10000) == 0);
    TEST_ASSERT(res != NULL && res != (struct addrinfo *)1);
    freeaddrinfo(res);
}

static void case_getaddrinfo_bad_name(void)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = (struct addrinfo *)1;
    int64_t start = moss_now();
    int rc;

    rc = moss_getaddrinfo("moss-no-such-host.invalid", "80", &hints, &res, start + 20000);
    TEST_ASSERT(rc != 0 && res == NULL); /* EAI_NONAME, EAI_AGAIN, ...: no hang */
    TEST_ASSERT(moss_now() - start < 21000);
    hints.ai_flags = AI_NUMERICHOST;
    TEST_ASSERT(moss_getaddrinfo("localhost", "80", &hints, &res, MOSS_FOREVER) == EAI_NONAME);
    TEST_ASSERT(moss_getaddrinfo(NULL, NULL, NULL, &res, MOSS_FOREVER) == EAI_NONAME);
    TEST_ASSERT(moss_getaddrinfo("localhost", "80", NULL, NULL, MOSS_FOREVER) == EAI_SYSTEM &&
                errno == EINVAL);
}

static int lookup_rc, lookup_errno;

static void *looker(void *arg)
{
    struct addrinfo *res = NULL;

    (void)arg;
    lookup_rc = moss_getaddrinfo("localhost", "80", NULL, &res, MOSS_FOREVER);
    lookup_errno = errno;
    return res;
}

/* Lookups given up while queued behind a busy thread: their results, which
 * come later, are freed (valgrind checks that). */
static void case_getaddrinfo_given_up(void)
{
    struct addrinfo *res = (struct addrinfo *)1;
    moss_greenlet_t *g;
    void *out = (void *)1;

    TEST_ASSERT(moss_threadpool_set_size(1) == 0);
    TEST_ASSERT(moss_detach(moss_spawn(pool_waiter, (void *)100)) == 0);
    TEST_ASSERT(moss_sleep(5) == 0);
    errno = 0;
    TEST_ASSERT(moss_getaddrinfo("localhost", "80", NULL, &res, moss_now() + 10) == EAI_SYSTEM);
    TEST_ASSERT(errno == ETIMEDOUT && res == NULL);
    g = moss_spawn(looker, NULL);
    TEST_ASSERT(moss_sleep(10) == 0);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, moss_now() + 1000, &out) == 0);
    TEST_ASSERT(lookup_rc == EAI_SYSTEM && lookup_errno == ECANCELED && out == NULL);
    TEST_ASSERT(jobs_finished == 0);
    TEST_ASSERT(park_on_nothing() == -1 && errno == EDEADLK);
    TEST_ASSERT(jobs_finished == 1);
}

/* ---- fork ------------------------------------------------------------------------ */

#define FORK_WAITERS 6

static int parent_sleeper_ran, pool_waiters_resumed;

static void *parent_sleeper(void *arg)
{
    if (moss_sleep(50) == 0)
        parent_sleeper_ran = 1;
    return arg;
}

static void *resuming_waiter(void *arg)
{
    void *out = NULL;
    int rc = moss_threadpool_run(nap_job, arg, &out, MOSS_FOREVER);

    pool_waiters_resumed++;
    return rc == 0 ? out : NULL;
}

/* The child's checks, one bit each; 0 is success. No TEST_ASSERT here: the
 * child must not report to the test runner. */
static int fork_child_checks(void)
{
    struct addrinfo hints = {.ai_family = AF_INET}, *res = NULL;
    void *out = NULL;
    int failed = 0;

    if (moss_sleep(200) != 0) /* the hub works; the parent's sleeper was due at 50 */
        failed |= 1;
    if (parent_sleeper_ran || pool_waiters_resumed != 0)
        failed |= 2;
    if (moss_threadpool_set_size(2) != 0) /* the pool is "not started" again */
        failed |= 4;
    if (moss_threadpool_run(thread_job, NULL, &out, moss_now() + 10000) != 0 ||
        pthread_equal((pthread_t)out, pthread_self()))
        failed |= 8;
    if (moss_threadpool_run(nap_job, (void *)20, &out, moss_now() + 10000) != 0 ||
        (intptr_t)out != 20)
        failed |= 16;
    if (moss_getaddrinfo("localhost", NULL, &hints, &res, moss_now() + 10000) != 0)
        failed |= 32;
    else
        freeaddrinfo(res);
    if (moss_sleep(50) != 0 || parent_sleeper_ran || pool_waiters_resumed != 0)
        failed |= 64;
    return failed;
}

/* Waits for the child by pid, cooperatively and for at most 30 s; kills it
 * if it has not ended by then. Returns its wait status, or -1. */
static int reap_child(pid_t pid)
{
    int status;

    for (int i = 0; i < 3000; i++) {
        pid_t done = waitpid(pid, &status, WNOHANG);

        if (done == pid)
            return status;
        if (done == -1 || moss_sleep(10) != 0)
            break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void case_fork_restarts_hub_and_pool(void)
{
    moss_greenlet_t *sleeper, *w[FORK_WAITERS];
    pid_t pid;
    int status;

    TEST_ASSERT(moss_threadpool_run(nap_job, (void *)1, NULL, MOSS_FOREVER) == 0); /* started */
    sleeper = moss_spawn(parent_sleeper, NULL);
    for (int i = 0; i < FORK_WAITERS; i++) /* 4 running, 2 queued at fork */
        w[i] = moss_spawn(resuming_waiter, (void *)300);
    TEST_ASSERT(moss_sleep(10) == 0);
    pid = fork();
    TEST_ASSERT(pid != -1);
    if (pid == 0)
        _exit(UNDER_TSAN ? 0 : fork_child_checks());
    status = reap_child(pid);
    TEST_ASSERT(status != -1 && WIFEXITED(status));
    TEST_ASSERT(WEXITSTATUS(status) == 0);
    /* the parent's greenlets and jobs carry on as if nothing happened */
    TEST_ASSERT(moss_join(sleeper, moss_now() + 5000, NULL) == 0 && parent_sleeper_ran);
    for (int i = 0; i < FORK_WAITERS; i++) {
        void *out = NULL;

        TEST_ASSERT(moss_join(w[i], moss_now() + 5000, &out) == 0 && (intptr_t)out == 300);
    }
    TEST_ASSERT(pool_waiters_resumed == FORK_WAITERS);
}

const struct moss_test_case moss_test_threadpool_cases[] = {
    {"run_returns_value", case_run_returns_value},
    {"blocking_jobs_leave_hub_serving", case_blocking_jobs_leave_hub_serving},
    {"deadline_gives_up_job_completes", case_deadline_gives_up_job_completes},
    {"kill_gives_up_job_completes", case_kill_gives_up_job_completes},
    {"refused_calls_run_nothing", case_refused_calls_run_nothing},
    {"set_size", case_set_size},
    {"full_pool_callers_wait_for_room", case_full_pool_callers_wait_for_room},
    {"getaddrinfo_localhost", case_getaddrinfo_localhost},
    {"getaddrinfo_bad_name", case_getaddrinfo_bad_name},
    {"getaddrinfo_given_up", case_getaddrinfo_given_up},
    {"fork_restarts_hub_and_pool", case_fork_restarts_hub_and_pool},
    {NULL, NULL},
};
