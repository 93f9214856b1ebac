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

#define PIDS_MAX 64

void expect_serves(const struct master *m)
{
    char body[256];

    TEST_ASSERT(http_get(m->port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(strcmp(body, "Hello, World!") == 0);
}

/* The log has the line fmt (with pid) says. */
static void expect_logged(const struct master *m, const char *fmt, long pid)
{
    char text[256];

    snprintf(text, sizeof(text), fmt, pid);
    if (strstr(master_log(m), text) == NULL)
        fprintf(stderr, "'%s' not in the log:\n%s\n", text, master_log(m));
    TEST_ASSERT(strstr(master_log(m), text) != NULL);
}

void stop_clean(struct master *m, int sig)
{
    int status = master_stop(m, sig, STOP_MS);

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
    stop_clean(&m, SIGTERM);
    master_start(&m, three);
    expect_workers(&m, 3);
    stop_clean(&m, SIGTERM);
}

/* ---- a worker's death -------------------------------------------------------------- */

/* The entry of slot's worker (or backoff) in the committed generation, or
 * NULL: borrowed from stats. */
static json_t *slot_entry(json_t *stats, json_int_t slot)
{
    json_int_t generation = stats_int(stats, "generation");
    json_t *w;
    size_t i;

    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        const char *state = json_string_value(json_object_get(w, "state"));

        if (json_integer_value(json_object_get(w, "slot")) == slot &&
            json_integer_value(json_object_get(w, "generation")) == generation &&
            state != NULL && strcmp(state, "draining") != 0)
            return w;
    }
    return NULL;
}

static const char *entry_state(json_t *w)
{
    const char *state = json_string_value(json_object_get(w, "state"));

    return state != NULL ? state : "";
}

static pid_t slot_pid(const struct master *m, json_int_t slot)
{
    json_t *stats = master_stats(m), *w = stats != NULL ? slot_entry(stats, slot) : NULL;
    pid_t pid = w != NULL ? (pid_t)stats_int(w, "pid") : -1;

    json_decref(stats);
    TEST_ASSERT(pid > 0);
    return pid;
}

struct replaced {
    json_int_t slot;
    pid_t old;
};

/* master_wait: slot has a ready worker that is not the old one. */
static int slot_replaced(json_t *stats, void *arg)
{
    const struct replaced *r = arg;
    json_t *w = slot_entry(stats, r->slot);

    return w != NULL && strcmp(entry_state(w), "ready") == 0 && stats_int(w, "pid") != r->old;
}

/* Waits for slot's worker old to be replaced by a ready one: the new pid. */
static pid_t wait_replaced(const struct master *m, json_int_t slot, pid_t old)
{
    struct replaced r = {slot, old};
    int64_t start = test_clock_ms();

    if (master_wait(m, slot_replaced, &r, WAIT_MS) == -1)
        fprintf(stderr, "slot %lld not replaced; log:\n%s\n", (long long)slot, master_log(m));
    TEST_ASSERT(master_wait(m, slot_replaced, &r, 0) == 0);
    fprintf(stderr, "slot %lld: worker %ld replaced by %ld, ready after %lld ms\n",
            (long long)slot, (long)old, (long)slot_pid(m, slot),
            (long long)(test_clock_ms() - start));
    return slot_pid(m, slot);
}

static json_int_t slot_figure(const struct master *m, json_int_t slot, const char *name)
{
    json_t *stats = master_stats(m), *w = stats != NULL ? slot_entry(stats, slot) : NULL;
    json_int_t v;

    TEST_ASSERT(w != NULL);
    v = stats_int(w, name);
    json_decref(stats);
    return v;
}

int requests_at_least(json_t *stats, void *arg)
{
    return stats_int(stats, "totals.requests") >= *(json_int_t *)arg;
}

int connections_at_least(json_t *stats, void *arg)
{
    return stats_int(stats, "totals.connections_active") >= *(json_int_t *)arg;
}

/* SIGKILL to slot 0's worker of two: slot 0 gets a new ready worker with
 * respawns 1; slot 1's is untouched; the requests served stay counted. */
static void kill9_two(void)
{
    const char *const two[] = {"-w", "2", NULL};
    json_int_t served = 10;
    struct master m;
    pid_t victim, other, fresh;

    master_start(&m, two);
    for (int i = 0; i < served; i++)
        expect_serves(&m);
    TEST_ASSERT(master_wait(&m, requests_at_least, &served, WAIT_MS) == 0);
    victim = slot_pid(&m, 0);
    other = slot_pid(&m, 1);
    TEST_ASSERT(kill(victim, SIGKILL) == 0);
    fresh = wait_replaced(&m, 0, victim);
    TEST_ASSERT(fresh != victim && proc_parent(fresh) == m.pid);
    TEST_ASSERT(slot_figure(&m, 0, "respawns") == 1);
    TEST_ASSERT(slot_pid(&m, 1) == other && slot_figure(&m, 1, "respawns") == 0);
    TEST_ASSERT(master_wait(&m, requests_at_least, &served, 0) == 0); /* not gone backwards */
    expect_logged(&m, "worker %ld (slot 0, generation 1) was killed by", victim);
    expect_serves(&m);
    stop_clean(&m, SIGTERM);
}

void case_kill9_respawn(void)
{
    const char *const one[] = {"-w", "1", NULL};
    struct master m;
    pid_t victim, fresh;
    char body[256];

    kill9_two();
    /* one worker: what answers now can only be the replacement */
    master_start(&m, one);
    victim = slot_pid(&m, 0);
    TEST_ASSERT(kill(victim, SIGKILL) == 0);
    fresh = wait_replaced(&m, 0, victim);
    TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(slot_pid(&m, 0) == fresh && slot_figure(&m, 0, "respawns") == 1);
    stop_clean(&m, SIGTERM);
}

/* ---- a crash loop ------------------------------------------------------------------- */

#define CRASH_WATCH_MS (2000 * (RUNNING_ON_VALGRIND ? 3 : 1))
#define BACKOFFS_MAX 32

struct crash_watch {
    json_int_t backoffs[BACKOFFS_MAX]; /* slot 0's backoff_ms, each change as seen */
    size_t count;
    json_int_t respawns;
    int health_failures;
};

/* One look at slot 0 in /stats, and at /health. */
static void crash_look(const struct master *m, struct crash_watch *cw)
{
    json_t *stats = master_stats(m), *w;
    char body[64];

    TEST_ASSERT(stats != NULL); /* the master answers throughout */
    w = slot_entry(stats, 0);
    if (w != NULL && strcmp(entry_state(w), "backoff") == 0) {
        json_int_t b = stats_int(w, "backoff_ms");

        if ((cw->count == 0 || cw->backoffs[cw->count - 1] != b) && cw->count < BACKOFFS_MAX)
            cw->backoffs[cw->count++] = b;
    }
    if (w != NULL)
        cw->respawns = stats_int(w, "respawns");
    json_decref(stats);
    cw->health_failures += http_get(m->admin_port, "/health", NULL, body, sizeof(body)) != 200;
}

static size_t count_in(const char *text, const char *what)
{
    size_t n = 0;

    for (const char *p = strstr(text, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

/* Each backoff seen is 100 ms times a power of two, longer than the one
 * before (a look may miss the shortest ones: /stats shows a backoff only
 * while it lasts). */
static void expect_growing(const struct crash_watch *cw)
{
    fprintf(stderr, "crash_loop_backoff: %lld respawns in %d ms; backoff_ms seen:",
            (long long)cw->respawns, CRASH_WATCH_MS);
    for (size_t i = 0; i < cw->count; i++)
        fprintf(stderr, " %lld", (long long)cw->backoffs[i]);
    fprintf(stderr, "\n");
    TEST_ASSERT(cw->count >= 2);
    for (size_t i = 0; i < cw->count; i++) {
        json_int_t b = cw->backoffs[i];

        TEST_ASSERT(b >= 100 && b % 100 == 0 && ((b / 100) & (b / 100 - 1)) == 0);
        TEST_ASSERT(i == 0 || b > cw->backoffs[i - 1]);
    }
}

static int slot0_ready(json_t *stats, void *arg)
{
    json_t *w = slot_entry(stats, 0);

    (void)arg;
    return w != NULL && strcmp(entry_state(w), "ready") == 0;
}

/* A worker whose app cannot start: respawned with a growing backoff, a
 * bounded number of times, the master serving its admin meanwhile; once
 * the app can start again, the slot recovers. */
void case_crash_loop_backoff(void)
{
    char app[512], crash[128], body[64];
    const char *const extra[] = {"-w", "1", "--app", app, NULL};
    struct crash_watch cw = {.count = 0};
    struct master m;
    int64_t end;

    TEST_ASSERT(getenv("TEST_PLUGIN_DIR") != NULL);
    snprintf(app, sizeof(app), "%s/crash_when.so", getenv("TEST_PLUGIN_DIR"));
    master_prepare(&m);
    snprintf(crash, sizeof(crash), "%s/crash", m.dir);
    TEST_ASSERT(setenv("MOSS_TEST_CRASH_FILE", crash, 1) == 0); /* the master inherits it */
    master_start(&m, extra);
    TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(strcmp(body, "crash_when ok") == 0);
    master_write_file(&m, "crash", "");
    TEST_ASSERT(kill(slot_pid(&m, 0), SIGKILL) == 0);
    for (end = test_clock_ms() + CRASH_WATCH_MS; test_clock_ms() < end; test_pause_ms(20))
        crash_look(&m, &cw);
    expect_growing(&cw);
    TEST_ASSERT(cw.respawns >= 2 && cw.respawns < 10);
    TEST_ASSERT(count_in(master_log(&m), "exited with status 1 unexpectedly") < 10);
    TEST_ASSERT(cw.health_failures == 0 && proc_alive(m.pid));
    TEST_ASSERT(unlink(crash) == 0);
    TEST_ASSERT(master_wait(&m, slot0_ready, NULL, WAIT_MS) == 0);
    TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(strcmp(body, "crash_when ok") == 0);
    unsetenv("MOSS_TEST_CRASH_FILE");
    stop_clean(&m, SIGTERM);
}

/* ---- a hung worker ------------------------------------------------------------------ */

/* GET /block (the demo app busy-waits on the worker's only thread) stops
 * the worker's heartbeat: past worker_timeout the master kills it and forks
 * another, long before the block would have ended; the blocked request's
 * connection dies with its worker, unanswered. */
void case_hung_worker_replaced(void)
{
    const char *timeout = RUNNING_ON_VALGRIND ? "5s" : "1s";
    const char *const extra[] = {"-w", "1", "--worker_timeout", timeout, NULL};
    char request[128], reply[256];
    struct master m;
    pid_t hung, fresh;
    int64_t sent;
    ssize_t n;
    int fd;

    master_start(&m, extra);
    hung = slot_pid(&m, 0);
    snprintf(request, sizeof(request), "GET /block?ms=%d HTTP/1.1\r\nHost: t\r\n\r\n",
             15000 * MASTER_SLOW / (RUNNING_ON_VALGRIND ? 3 : 1));
    fd = test_client_connect(m.port);
    send_all(fd, request, strlen(request));
    sent = test_clock_ms();
    TEST_ASSERT(master_log_wait(&m, "no heartbeat", WAIT_MS) == 0);
    expect_logged(&m, "worker %ld (slot 0): no heartbeat for", hung);
    fresh = wait_replaced(&m, 0, hung);
    fprintf(stderr, "hung_worker_replaced: worker_timeout %s, new worker ready %lld ms after "
            "the block began\n", timeout, (long long)(test_clock_ms() - sent));
    n = recv(fd, reply, sizeof(reply) - 1, 0); /* at once: the connection died with it */
    TEST_ASSERT(n == 0 || (n == -1 && errno == ECONNRESET));
    close(fd);
    TEST_ASSERT(slot_figure(&m, 0, "respawns") == 1 && slot_pid(&m, 0) == fresh);
    expect_serves(&m);
    stop_clean(&m, SIGTERM);
}

/* ---- SIGTTIN, SIGTTOU ------------------------------------------------------------- */

/* master_wait: workers_wanted is *arg, that many ready, none other. */
static int exactly_ready(json_t *stats, void *arg)
{
    json_int_t want = *(const json_int_t *)arg;

    return stats_int(stats, "workers_wanted") == want &&
           stats_workers(stats, "ready") == (size_t)want &&
           stats_workers(stats, NULL) == (size_t)want;
}

/* Sends sig, waits for exactly want ready workers: their pids. */
static size_t resize(struct master *m, int sig, json_int_t want, pid_t *pids)
{
    json_t *stats;
    size_t n;

    TEST_ASSERT(kill(m->pid, sig) == 0);
    if (master_wait(m, exactly_ready, &want, WAIT_MS) == -1)
        fprintf(stderr, "not %lld workers after %s; log:\n%s\n", (long long)want,
                strsignal(sig), master_log(m));
    TEST_ASSERT(master_wait(m, exactly_ready, &want, 0) == 0);
    stats = master_stats(m);
    n = stats_ready_pids(stats, pids, PIDS_MAX);
    json_decref(stats);
    return n;
}

static int has_pid(const pid_t *pids, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return 1;
    return 0;
}

/* 2 workers, TTIN: 3; TTOU twice: 1, the others gone; TTOU: still 1. */
void case_ttin_ttou(void)
{
    const char *const two[] = {"-w", "2", NULL};
    pid_t three[PIDS_MAX], now[PIDS_MAX];
    struct master m;

    master_start(&m, two);
    TEST_ASSERT(resize(&m, SIGTTIN, 3, three) == 3);
    TEST_ASSERT(master_log_wait(&m, "SIGTTIN: 3 workers", WAIT_MS) == 0);
    /* one signal at a time: two sent at once may arrive as one */
    TEST_ASSERT(resize(&m, SIGTTOU, 2, now) == 2);
    TEST_ASSERT(resize(&m, SIGTTOU, 1, now) == 1);
    TEST_ASSERT(master_log_wait(&m, "SIGTTOU: 1 workers", WAIT_MS) == 0);
    TEST_ASSERT(has_pid(three, 3, now[0]));
    for (size_t i = 0; i < 3; i++)
        TEST_ASSERT(three[i] == now[0] || !proc_alive(three[i])); /* drained and reaped */
    TEST_ASSERT(kill(m.pid, SIGTTOU) == 0);
    TEST_ASSERT(master_log_wait(&m, "SIGTTOU: staying at 1 workers", WAIT_MS) == 0);
    TEST_ASSERT(resize(&m, 0, 1, three) == 1 && three[0] == now[0]);
    expect_serves(&m);
    stop_clean(&m, SIGTERM);
}

/* ---- CPU affinity ------------------------------------------------------------------- */

/* The i-th CPU the test (and so the master it started) may run on,
 * counting round the mask as the master does. */
static int allowed_cpu(unsigned i)
{
    cpu_set_t set;
    int n, cpu;

    TEST_ASSERT(sched_getaffinity(0, sizeof(set), &set) == 0);
    n = CPU_COUNT(&set);
    TEST_ASSERT(n > 0);
    i %= (unsigned)n;
    for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set) && i-- == 0)
            return cpu;
    /* not reached: the mask has n CPUs */
    TEST_ASSERT(!"no CPU");
    return -1;
}

/* pid's Cpus_allowed_list, from /proc/PID/status. */
static void cpus_allowed(pid_t pid, char *out, size_t cap)
{
    char path[64], text[4096], *at;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    TEST_ASSERT(fd != -1);
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    TEST_ASSERT(n > 0);
    text[n] = '\0';
    at = strstr(text, "Cpus_allowed_list:");
    TEST_ASSERT(at != NULL);
    at += strlen("Cpus_allowed_list:");
    at += strspn(at, " \t");
    snprintf(out, cap, "%.*s", (int)strcspn(at, "\n"), at);
}

/* --cpu_affinity on: slot i's worker is pinned to the i-th allowed CPU,
 * as /stats says and the kernel has it. */
void case_cpu_affinity(void)
{
    const char *const extra[] = {"-w", "2", "--cpu_affinity", "on", NULL};
    struct master m;
    char want[16], got[256];

    master_start(&m, extra);
    for (json_int_t slot = 0; slot < 2; slot++) {
        int cpu = allowed_cpu((unsigned)slot);

        TEST_ASSERT(slot_figure(&m, slot, "cpu") == cpu);
        snprintf(want, sizeof(want), "%d", cpu);
        cpus_allowed(slot_pid(&m, slot), got, sizeof(got));
        fprintf(stderr, "cpu_affinity: slot %lld: cpu %d, Cpus_allowed_list %s\n",
                (long long)slot, cpu, got);
        TEST_ASSERT(strcmp(got, want) == 0);
    }
    if (allowed_cpu(1) != allowed_cpu(0)) /* two CPUs or more: two different ones */
        TEST_ASSERT(slot_figure(&m, 0, "cpu") != slot_figure(&m, 1, "cpu"));
    expect_serves(&m);
    stop_clean(&m, SIGTERM);
}
