/* moss behind a real load balancer: HAProxy (the Debian package haproxy)
 * in front of two moss instances on loopback, checking each one's /health
 * (on its admin port) every 200 ms, and wrk driving load through HAProxy:
 *   - SIGTERM to one instance: /health answers 503 for drain_grace (3 s)
 *     while its workers still serve, HAProxy takes it out of rotation, then
 *     it drains and exits 0: no failed request at the client;
 *   - SIGHUP of both instances, one after the other: no failed request;
 *   - SIGKILL of one instance (master and workers): HAProxy routes around
 *     it; the client errors are bounded by the requests in flight (wrk's
 *     connections) and printed.
 * Skipped, with a message, when haproxy is not installed, and under
 * valgrind (two servers, HAProxy and wrk take far more than a minute
 * there). Every process started here is ended by its pid: HAProxy at the
 * end of each case (and by PR_SET_PDEATHSIG if the case fails), the moss
 * instances by the master fixture. */
#include "fault_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LB_CONNS 20u
#define LB_WRK_SECONDS 120u        /* longer than any case: wrk is stopped by SIGINT */
#define LB_START_ATTEMPTS 5        /* the frontend's free port taken meanwhile: another */
#define LB_AFTER_MS 500            /* load through the remaining pair after the event */

/* ---- HAProxy --------------------------------------------------------------------------- */

struct lb {
    pid_t pid;                     /* haproxy -db: a child of the test */
    int out_fd;
    unsigned port;                 /* its frontend, 127.0.0.1 */
    char dir[64];                  /* its config and stats socket */
    char cfg[128], sock[96];
};

/* The balancer of the case, for the exit handler: a case that fails ends
 * its process, and with it HAProxy (PR_SET_PDEATHSIG); the handler removes
 * its directory. */
static struct lb *lb_current;

static void lb_remove_dir(struct lb *lb)
{
    if (lb->dir[0] == '\0')
        return;
    unlink(lb->cfg);
    unlink(lb->sock);
    rmdir(lb->dir);
    lb->dir[0] = '\0';
}

static void lb_at_exit(void)
{
    if (lb_current == NULL)
        return;
    if (lb_current->pid > 0)
        kill(lb_current->pid, SIGKILL); /* our child, never reaped here: its pid */
    lb_remove_dir(lb_current);
}

/* Whether the case can run: haproxy installed, not under valgrind. Says
 * why not, visibly. */
static int lb_available(const char *name, char *haproxy, size_t cap)
{
    if (RUNNING_ON_VALGRIND) {
        fprintf(stderr, "%s: SKIPPED under valgrind (two servers, HAProxy and wrk would take "
                "far more than a minute)\n", name);
        return 0;
    }
    if (!fc_find_program("haproxy", haproxy, cap)) {
        fprintf(stderr, "%s: SKIPPED: haproxy is not installed (apt-get install haproxy)\n",
                name);
        return 0;
    }
    return 1;
}

static const char *lb_output(const struct lb *lb)
{
    static char out[65536];

    return test_output_read(lb->out_fd, out, sizeof(out));
}

/* One command on HAProxy's stats socket: its answer into buf, or -1 (not
 * listening yet). */
static int lb_command(const struct lb *lb, const char *command, char *buf, size_t cap)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t got = 0;
    ssize_t n;

    TEST_ASSERT(fd != -1);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", lb->sock);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 ||
        send(fd, command, strlen(command), MSG_NOSIGNAL) != (ssize_t)strlen(command)) {
        close(fd);
        return -1;
    }
    while (got < cap - 1 && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    return 0;
}

/* Field `column` (by the header's names) of the "show stat" row of server
 * be/name, into out: 0, or -1. */
static int lb_stat(const struct lb *lb, const char *name, const char *column, char *out,
                   size_t cap)
{
    static char csv[1 << 16];
    char row_start[64];
    const char *row, *p;
    int index = -1, i = 0;

    if (lb_command(lb, "show stat\n", csv, sizeof(csv)) == -1 || strncmp(csv, "# ", 2) != 0)
        return -1;
    for (p = csv + 2; *p != '\n' && *p != '\0'; i++) { /* the header: the column's index */
        size_t len = strcspn(p, ",\n");

        if (strlen(column) == len && strncmp(p, column, len) == 0)
            index = i;
        p += len + (p[len] == ',');
    }
    snprintf(row_start, sizeof(row_start), "\nbe,%s,", name);
    if (index == -1 || (row = strstr(csv, row_start)) == NULL)
        return -1;
    for (p = row + 1, i = 0; i < index && *p != '\n' && *p != '\0'; i++)
        p += strcspn(p, ",\n") + (p[strcspn(p, ",\n")] == ',');
    snprintf(out, cap, "%.*s", (int)strcspn(p, ",\n"), p);
    return 0;
}

/* Server name's status ("UP", "DOWN", "UP 1/2", ...), or "" if unknown. */
static const char *lb_status(const struct lb *lb, const char *name)
{
    static char status[64];

    if (lb_stat(lb, name, "status", status, sizeof(status)) == -1)
        status[0] = '\0';
    return status;
}

/* A figure of server name's row, or -1. */
static long lb_figure(const struct lb *lb, const char *name, const char *column)
{
    char text[64];

    return lb_stat(lb, name, column, text, sizeof(text)) == 0 && text[0] != '\0'
               ? strtol(text, NULL, 10) : -1;
}

/* Waits (bound_ms) until server name's status is want: the ms it took, or
 * -1. */
static int64_t lb_wait_status(const struct lb *lb, const char *name, const char *want,
                              int bound_ms)
{
    int64_t start = test_clock_ms();

    for (;;) {
        if (strcmp(lb_status(lb, name), want) == 0)
            return test_clock_ms() - start;
        if (test_clock_ms() - start >= bound_ms)
            return -1;
        test_pause_ms(10);
    }
}

static void lb_write_config(struct lb *lb, const struct master *a, const struct master *b)
{
    FILE *f = fopen(lb->cfg, "w");

    TEST_ASSERT(f != NULL);
    fprintf(f,
            "global\n"
            "    maxconn 2000\n"
            "    nbthread 1\n"
            "    stats socket %s mode 600 level admin\n"
            "defaults\n"
            "    mode http\n"
            "    timeout connect 1s\n"
            "    timeout client 30s\n"
            "    timeout server 30s\n"
            "    retries 3\n"
            "    option redispatch\n"
            "frontend fe\n"
            "    bind 127.0.0.1:%u\n"
            "    default_backend be\n"
            "backend be\n"
            "    balance roundrobin\n"
            "    option httpchk GET /health\n"
            "    http-check expect status 200\n"
            "    default-server inter 200 fall 2 rise 2\n"
            "    server m1 127.0.0.1:%u check port %u\n"
            "    server m2 127.0.0.1:%u check port %u\n",
            lb->sock, lb->port, a->port, a->admin_port, b->port, b->admin_port);
    TEST_ASSERT(fclose(f) == 0);
}

/* HAProxy in front of a (m1) and b (m2), both UP. */
static void lb_start(struct lb *lb, const char *haproxy, const struct master *a,
                     const struct master *b)
{
    char *argv[] = {(char *)haproxy, "-f", lb->cfg, "-db", NULL};
    int64_t start = test_clock_ms(), up;
    int status;

    memset(lb, 0, sizeof(*lb));
    snprintf(lb->dir, sizeof(lb->dir), "/tmp/moss-haproxy-XXXXXX");
    TEST_ASSERT(mkdtemp(lb->dir) != NULL);
    snprintf(lb->cfg, sizeof(lb->cfg), "%s/haproxy.cfg", lb->dir);
    snprintf(lb->sock, sizeof(lb->sock), "%s/admin.sock", lb->dir);
    lb_current = lb;
    atexit(lb_at_exit);
    for (int attempt = 1;; attempt++) {
        do
            lb->port = test_free_port();
        while (lb->port == a->port || lb->port == b->port || lb->port == a->admin_port ||
               lb->port == b->admin_port);
        lb_write_config(lb, a, b);
        lb->out_fd = test_output_file();
        lb->pid = test_spawn(argv, lb->out_fd);
        while (lb_status(lb, "m1")[0] == '\0' && test_wait_exit(lb->pid, 10, &status) == -1)
            TEST_ASSERT(test_clock_ms() - start < FC_WAIT_MS);
        if (lb_status(lb, "m1")[0] != '\0')
            break;
        lb->pid = 0; /* exited (reaped): a port taken meanwhile? */
        fprintf(stderr, "haproxy exited (status %#x):\n%s\n", (unsigned)status, lb_output(lb));
        TEST_ASSERT(strstr(lb_output(lb), "bind") != NULL && attempt < LB_START_ATTEMPTS);
        close(lb->out_fd);
    }
    if (lb_wait_status(lb, "m1", "UP", FC_WAIT_MS) == -1 ||
        lb_wait_status(lb, "m2", "UP", FC_WAIT_MS) == -1) {
        fprintf(stderr, "haproxy: m1 %s, m2 %s; its output:\n%s\n", lb_status(lb, "m1"),
                lb_status(lb, "m2"), lb_output(lb));
        TEST_ASSERT(!"the servers did not come UP in HAProxy");
    }
    up = test_clock_ms() - start;
    fprintf(stderr, "haproxy %ld on 127.0.0.1:%u: both servers UP after %lld ms\n",
            (long)lb->pid, lb->port, (long long)up);
}

/* HAProxy's view of its servers, for the record. */
static void lb_report(const struct lb *lb, const char *name)
{
    static const char *const servers[] = {"m1", "m2"};

    for (size_t i = 0; i < 2; i++)
        fprintf(stderr, "%s: haproxy %s: %s, %ld sessions, %ld connection errors, %ld response "
                "errors, %ld retries, %ld redispatches, %ld 5xx\n", name, servers[i],
                lb_status(lb, servers[i]), lb_figure(lb, servers[i], "stot"),
                lb_figure(lb, servers[i], "econ"), lb_figure(lb, servers[i], "eresp"),
                lb_figure(lb, servers[i], "wretr"), lb_figure(lb, servers[i], "wredis"),
                lb_figure(lb, servers[i], "hrsp_5xx"));
}

/* Ends HAProxy by its pid, and removes its directory. */
static void lb_stop(struct lb *lb)
{
    int status;

    if (lb->pid > 0) {
        TEST_ASSERT(kill(lb->pid, SIGTERM) == 0);
        if (test_wait_exit(lb->pid, FC_WAIT_MS, &status) == -1) {
            kill(lb->pid, SIGKILL);
            waitpid(lb->pid, &status, 0);
        }
        lb->pid = 0;
    }
    close(lb->out_fd);
    lb_remove_dir(lb);
    lb_current = NULL;
}

/* ---- the pair ---------------------------------------------------------------------------- */

/* Two instances of one worker each, /health 503 for 3 s on SIGTERM. */
static void pair_start(struct master *a, struct master *b)
{
    static const char *const extra[] = {"-w", "1", "--drain_grace", "3s", NULL};

    master_start(a, extra);
    master_start(b, extra);
}

/* The end of an instance once the load is over: a fast stop (SIGINT; a
 * SIGTERM would wait out the 3 s of /health 503 first), exit 0, no worker
 * left. */
static void pair_stop(struct master *m)
{
    TEST_ASSERT(master_stop(m, SIGINT, FC_WAIT_MS) == 0);
    TEST_ASSERT(m->leftovers == 0);
}

/* Two instances behind HAProxy, with wrk's load going through it. */
struct lb_scene {
    char haproxy[512];
    struct master a, b;
    struct lb lb;
    struct wrk_run wrk;
};

/* Starts the scene and waits until both instances serve some of the load:
 * 1, or 0 if HAProxy cannot run here (the case is skipped, said by name). */
static int scene_start(struct lb_scene *s, const char *name)
{
    if (!lb_available(name, s->haproxy, sizeof(s->haproxy)))
        return 0;
    pair_start(&s->a, &s->b);
    lb_start(&s->lb, s->haproxy, &s->a, &s->b);
    wrk_start(&s->wrk, s->lb.port, "/", LB_CONNS, LB_WRK_SECONDS);
    fc_wait_load(&s->a);
    fc_wait_load(&s->b);
    return 1;
}

/* totals.requests, or -1 if m's admin no longer answers. */
static json_int_t requests_or_none(const struct master *m)
{
    json_t *stats = master_stats(m);
    json_int_t v = stats != NULL ? stats_int(stats, "totals.requests") : -1;

    json_decref(stats);
    return v;
}

/* The figures, then: no client error at all. */
static void expect_no_errors(const char *name, const struct wrk_result *r)
{
    fprintf(stderr, "%s: wrk -c %u through haproxy: %ld requests, %ld socket errors, %ld "
            "non-2xx\n", name, LB_CONNS, r->requests, r->socket_errors, r->non_2xx);
    TEST_ASSERT(r->requests > 0);
    TEST_ASSERT(r->socket_errors == 0);
    TEST_ASSERT(r->non_2xx == 0);
}

/* ---- SIGTERM: out of rotation through the 503 window ---------------------------------- */

static void case_term_leaves_rotation(void)
{
    struct lb_scene s;
    struct wrk_result r;
    json_int_t b_before, b_after, a_at_down;
    int64_t t0, down_ms, exit_ms;
    int status;

    if (!scene_start(&s, "haproxy term_leaves_rotation"))
        return;
    t0 = test_clock_ms();
    TEST_ASSERT(kill(s.a.pid, SIGTERM) == 0);
    down_ms = lb_wait_status(&s.lb, "m1", "DOWN", FC_WAIT_MS);
    a_at_down = requests_or_none(&s.a); /* a still answers /stats inside its window */
    b_before = fc_int(&s.b, "totals.requests");
    status = master_stop(&s.a, 0, FC_WAIT_MS); /* it exits by itself: drain_grace, then drain */
    exit_ms = test_clock_ms() - t0;
    test_pause_ms(LB_AFTER_MS);
    fc_wrk_stop(&s.wrk, &r);
    b_after = fc_int(&s.b, "totals.requests");
    fprintf(stderr, "term_leaves_rotation: SIGTERM to m1; haproxy saw it DOWN after %lld ms "
            "(its 503 window is 3000 ms: %s); it exited %d after %lld ms; m1 had served %lld "
            "requests by then; m2 %lld more after\n", (long long)down_ms,
            down_ms >= 0 && down_ms < 3000 ? "inside" : "NOT inside", status,
            (long long)exit_ms, (long long)a_at_down, (long long)(b_after - b_before));
    lb_report(&s.lb, "term_leaves_rotation");
    lb_stop(&s.lb);
    TEST_ASSERT(down_ms >= 0);
    TEST_ASSERT(status == 0 && s.a.leftovers == 0);
    TEST_ASSERT(b_after > b_before);
    expect_no_errors("term_leaves_rotation", &r);
    pair_stop(&s.b);
}

/* ---- SIGHUP of both, one after the other ------------------------------------------------- */

/* SIGHUP to m, its next generation ready and the older workers gone. */
static void hup_and_settle(const struct master *m, const char *label)
{
    pid_t old[FC_PIDS_MAX];
    size_t n = fc_worker_pids(m, old);
    json_int_t next = fc_int(m, "generation") + 1;
    int64_t t0 = test_clock_ms();

    TEST_ASSERT(kill(m->pid, SIGHUP) == 0);
    fc_wait_generation(m, next);
    TEST_ASSERT(procs_gone(old, n, FC_WAIT_MS) == 0);
    fprintf(stderr, "hup_both: %s reloaded (generation %lld) and its old workers gone in %lld "
            "ms\n", label, (long long)next, (long long)(test_clock_ms() - t0));
}

static void case_hup_both(void)
{
    struct lb_scene s;
    struct wrk_result r;

    if (!scene_start(&s, "haproxy hup_both"))
        return;
    hup_and_settle(&s.a, "m1");
    fc_wait_load(&s.a); /* back in use */
    hup_and_settle(&s.b, "m2");
    fc_wait_load(&s.b);
    test_pause_ms(LB_AFTER_MS);
    fc_wrk_stop(&s.wrk, &r);
    lb_report(&s.lb, "hup_both");
    TEST_ASSERT(strcmp(lb_status(&s.lb, "m1"), "UP") == 0); /* never out: /health stayed 200 */
    TEST_ASSERT(strcmp(lb_status(&s.lb, "m2"), "UP") == 0);
    lb_stop(&s.lb);
    expect_no_errors("hup_both", &r);
    TEST_ASSERT(fc_int(&s.a, "reloads.ok") == 1 && fc_int(&s.b, "reloads.ok") == 1);
    pair_stop(&s.a);
    pair_stop(&s.b);
}

/* ---- SIGKILL of one instance ---------------------------------------------------------------- */

/* The whole instance dies at once, as a cgroup's SIGKILL would do it:
 * every process is stopped first (SIGSTOP: the master can neither respawn
 * nor signal, and nothing is closed yet), then killed, the workers first.
 * The workers, orphans, come to the test (a subreaper): reaped here. */
static void kill_instance(struct master *m)
{
    pid_t workers[FC_PIDS_MAX];
    size_t n = fc_worker_pids(m, workers);
    int status;

    TEST_ASSERT(n >= 1);
    TEST_ASSERT(kill(m->pid, SIGSTOP) == 0);
    for (size_t i = 0; i < n; i++)
        TEST_ASSERT(kill(workers[i], SIGSTOP) == 0);
    for (size_t i = 0; i < n; i++)
        TEST_ASSERT(kill(workers[i], SIGKILL) == 0); /* the master, stopped, reaps none */
    TEST_ASSERT(kill(m->pid, SIGKILL) == 0);
    TEST_ASSERT(master_stop(m, 0, FC_WAIT_MS) == 128 + SIGKILL);
    for (size_t i = 0; i < n; i++)
        if (waitpid(workers[i], &status, WNOHANG) == 0 &&
            test_wait_exit(workers[i], FC_WAIT_MS, &status) == -1)
            TEST_ASSERT(!"a killed worker did not end");
}

/* What the client may lose: each wrk connection has one request in flight
 * at most, the one HAProxy had sent to m1 at the kill; and HAProxy may
 * forward one more for it, in the moment before it sees that its idle
 * (pooled) connections to m1 were reset, on one of those: a request on a
 * reused connection is not retried. Connections refused are retried
 * (retries 3, option redispatch) and cost nothing. */
#define KILL9_BOUND (2 * LB_CONNS)

static void case_kill9_one(void)
{
    struct lb_scene s;
    struct wrk_result r;
    json_int_t b_before, b_after;
    int64_t t0, down_ms;
    long errors;

    if (!scene_start(&s, "haproxy kill9_one"))
        return;
    t0 = test_clock_ms();
    kill_instance(&s.a);
    down_ms = lb_wait_status(&s.lb, "m1", "DOWN", FC_WAIT_MS);
    down_ms = down_ms >= 0 ? test_clock_ms() - t0 : -1;
    b_before = fc_int(&s.b, "totals.requests");
    test_pause_ms(LB_AFTER_MS);
    fc_wrk_stop(&s.wrk, &r);
    b_after = fc_int(&s.b, "totals.requests");
    errors = r.socket_errors + r.non_2xx;
    fprintf(stderr, "kill9_one: m1 killed (master and worker); haproxy saw it DOWN after %lld "
            "ms; client errors %ld (socket %ld, non-2xx %ld) of %ld requests, bound %u (wrk's "
            "%u connections, twice); m2 served %lld more after\n",
            (long long)down_ms, errors, r.socket_errors, r.non_2xx, r.requests, KILL9_BOUND,
            LB_CONNS, (long long)(b_after - b_before));
    lb_report(&s.lb, "kill9_one");
    lb_stop(&s.lb);
    TEST_ASSERT(down_ms >= 0);
    TEST_ASSERT(r.requests > 0);
    TEST_ASSERT(errors <= (long)KILL9_BOUND);
    TEST_ASSERT(b_after > b_before);
    pair_stop(&s.b);
}

const struct moss_test_case moss_test_haproxy_cases[] = {
    {"term_leaves_rotation", case_term_leaves_rotation},
    {"hup_both", case_hup_both},
    {"kill9_one", case_kill9_one},
    {NULL, NULL},
};
