/* The master's life as an operator drives it: SIGTERM drains the requests
 * in flight behind a /health grace, SIGINT stops at once, the pid file and
 * the logs follow SIGUSR1 (logrotate), and a start that cannot succeed
 * fails with the reason. The real binary (MOSS_BIN) through
 * master_fixture.h; nothing asserts on elapsed time: waits are bounded,
 * figures measured go to stderr. */
#include "master_cases.h"
#include "master_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define BODY_CAP 4096

/* ---- requests in flight ----------------------------------------------------------- */

#define SLEEPERS 10

/* Connections to port, each with GET path sent (Connection: close), the
 * answer left unread; reads on them wait up to 30 s (the sleeps are long). */
static void send_requests(unsigned port, const char *path, int *fds, size_t n)
{
    struct timeval tv = {.tv_sec = 30 * MASTER_SLOW};
    char request[256];

    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
             path);
    for (size_t i = 0; i < n; i++) {
        fds[i] = test_client_connect(port);
        TEST_ASSERT(setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
        send_all(fds[i], request, strlen(request));
    }
}

/* fd's whole answer, to the server's close (or a reset): its status, or -1
 * if none came. The socket's receive timeout running out (the server
 * neither answered nor closed) fails the case. */
static int read_status(int fd, char *text, size_t cap)
{
    size_t got = 0;
    ssize_t n = 0;
    int status = -1;

    while (got < cap - 1 && (n = recv(fd, text + got, cap - 1 - got, 0)) > 0)
        got += (size_t)n;
    TEST_ASSERT(got == cap - 1 || n == 0 || errno == ECONNRESET);
    text[got] = '\0';
    close(fd);
    if (sscanf(text, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

/* The sum of N over the workers' "draining N connections" lines. */
static long drained_connections(const struct master *m)
{
    const char *log = master_log(m);
    char word[16];
    long sum = 0, n;

    for (const char *p = strstr(log, "draining "); p != NULL; p = strstr(p + 1, "draining "))
        if (sscanf(p, "draining %ld %15s", &n, word) == 2 && strcmp(word, "connections") == 0)
            sum += n;
    return sum;
}

/* During drain_grace /health says 503 "draining" while GET / still works. */
static void expect_grace(const struct master *m)
{
    char body[BODY_CAP];
    int64_t end = test_clock_ms() + WAIT_MS;
    int health;

    while ((health = http_get(m->admin_port, "/health", NULL, body, sizeof(body))) == 200 &&
           test_clock_ms() < end)
        test_pause_ms(5);
    TEST_ASSERT(health == 503 && strcmp(body, "draining\n") == 0);
    expect_serves(m);
}

/* SIGTERM with sleeps in flight: /health turns 503 for drain_grace while
 * the workers still serve; then they drain, every sleep is answered 200,
 * and the master exits 0 with no worker left. The sleeps outlast the grace,
 * so that the drain itself has them to finish. */
void case_term_drains_inflight(void)
{
    int grace_ms = RUNNING_ON_VALGRIND ? 5000 : 1000;
    char grace[16], path[64], text[BODY_CAP];
    const char *const extra[] = {"-w", "2", "--drain_grace", grace, "--graceful_timeout",
                                 "10s", NULL};
    json_int_t conns = SLEEPERS;
    pid_t pids[8];
    int fds[SLEEPERS];
    size_t workers;
    struct master m;
    int64_t sent;
    json_t *stats;

    snprintf(grace, sizeof(grace), "%dms", grace_ms);
    snprintf(path, sizeof(path), "/sleep?ms=%d", grace_ms + 1500);
    master_start(&m, extra);
    stats = master_stats(&m);
    workers = stats_ready_pids(stats, pids, 8);
    json_decref(stats);
    TEST_ASSERT(workers == 2);
    send_requests(m.port, path, fds, SLEEPERS);
    sent = test_clock_ms();
    TEST_ASSERT(master_wait(&m, connections_at_least, &conns, WAIT_MS) == 0); /* accepted */
    TEST_ASSERT(kill(m.pid, SIGTERM) == 0);
    expect_grace(&m);
    for (size_t i = 0; i < SLEEPERS; i++)
        TEST_ASSERT(read_status(fds[i], text, sizeof(text)) == 200 && strstr(text, "slept "));
    fprintf(stderr, "term_drains_inflight: %d sleeps of %s answered after %lld ms\n", SLEEPERS,
            path, (long long)(test_clock_ms() - sent));
    stop_clean(&m, 0);
    TEST_ASSERT(drained_connections(&m) >= SLEEPERS); /* in flight when the drain began */
    TEST_ASSERT(procs_gone(pids, workers, 0) == 0);
}

/* SIGINT: the master and its workers stop at once; a long request in
 * flight gets no 200, its connection is closed. */
void case_int_stops_fast(void)
{
    const char *const extra[] = {"-w", "1", NULL};
    json_int_t conns = 1;
    char text[BODY_CAP];
    struct master m;
    int64_t start;
    int fd, status;

    master_start(&m, extra);
    send_requests(m.port, "/sleep?ms=10000", &fd, 1);
    TEST_ASSERT(master_wait(&m, connections_at_least, &conns, WAIT_MS) == 0);
    start = test_clock_ms();
    status = master_stop(&m, SIGINT, 8000 * MASTER_SLOW);
    fprintf(stderr, "int_stops_fast: exited %d, %lld ms after SIGINT\n", status,
            (long long)(test_clock_ms() - start));
    TEST_ASSERT(status == 0 && m.leftovers == 0);
    status = read_status(fd, text, sizeof(text));
    if (status == 200)
        fprintf(stderr, "the sleep was answered: %s\n", text);
    TEST_ASSERT(status != 200);
}

/* ---- the pid file and the logs ---------------------------------------------------- */

/* Waits up to timeout_ms until the file m->dir/name holds text: 0, or -1. */
static int file_wait(const struct master *m, const char *name, const char *text, int timeout_ms)
{
    static char content[1 << 16];
    char path[256];
    int64_t end = test_clock_ms() + timeout_ms;

    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    do {
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd != -1) {
            test_output_read(fd, content, sizeof(content));
            close(fd);
            if (strstr(content, text) != NULL)
                return 0;
        }
        test_pause_ms(10);
    } while (test_clock_ms() < end);
    return -1;
}

static void rename_in(const struct master *m, const char *from, const char *to)
{
    char a[256], b[256];

    snprintf(a, sizeof(a), "%s/%s", m->dir, from);
    snprintf(b, sizeof(b), "%s/%s", m->dir, to);
    TEST_ASSERT(rename(a, b) == 0);
}

/* Requests until one shows in the new access log: a worker reopens its log
 * when the master's SIGUSR1 reaches it, a moment after the master's. */
static void expect_access_logged(const struct master *m)
{
    char body[BODY_CAP];
    int i;

    for (i = 0; i < 100; i++) {
        TEST_ASSERT(http_get(m->port, "/?after-usr1", NULL, body, sizeof(body)) == 200);
        if (file_wait(m, "access.log", "GET /", 50 * MASTER_SLOW) == 0)
            break;
    }
    TEST_ASSERT(i < 100);
}

/* --pid: the file holds the master's pid, and is gone after SIGTERM.
 * SIGUSR1 after the logs were renamed (logrotate): new files, which get
 * the master's and the workers' lines. */
void case_pid_file_and_usr1(void)
{
    const char *const extra[] = {"-w", "1", "--pid", "%s/moss.pid", "--error_log",
                                 "%s/error.log", "--access_log", "%s/access.log", NULL};
    char pid[32], path[256];
    struct master m;
    FILE *f;

    master_start(&m, extra);
    snprintf(path, sizeof(path), "%s/moss.pid", m.dir);
    f = fopen(path, "r");
    TEST_ASSERT(f != NULL && fgets(pid, sizeof(pid), f) != NULL);
    fclose(f);
    TEST_ASSERT(strtol(pid, NULL, 10) == m.pid);
    expect_serves(&m);
    TEST_ASSERT(file_wait(&m, "access.log", "GET / ", WAIT_MS) == 0);
    TEST_ASSERT(file_wait(&m, "error.log", "generation 1 ready", WAIT_MS) == 0);
    rename_in(&m, "access.log", "access.log.1");
    rename_in(&m, "error.log", "error.log.1");
    TEST_ASSERT(kill(m.pid, SIGUSR1) == 0);
    TEST_ASSERT(file_wait(&m, "error.log", "SIGUSR1: logs reopened", WAIT_MS) == 0);
    expect_access_logged(&m);
    TEST_ASSERT(kill(m.pid, SIGTERM) == 0);
    for (int64_t end = test_clock_ms() + WAIT_MS; access(path, F_OK) == 0 &&
         test_clock_ms() < end;)
        test_pause_ms(10);
    TEST_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
    stop_clean(&m, 0);
}

/* ---- failed starts ---------------------------------------------------------------- */

/* MOSS_BIN -t -c m->dir/name: its exit status, its output in out. */
static int config_test(const struct master *m, const char *name, char *out, size_t cap)
{
    char path[256];
    char *argv[] = {getenv("MOSS_BIN"), "-t", "-c", path, NULL};
    int fd = test_output_file(), status;
    pid_t pid;

    TEST_ASSERT(argv[0] != NULL);
    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    pid = test_spawn(argv, fd);
    TEST_ASSERT(test_wait_exit(pid, WAIT_MS, &status) == 0);
    test_output_read(fd, out, cap);
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The bad master values of a config file, each on its line 2. */
static void bad_configs(struct master *m)
{
    static const char *const bad[][2] = {
        {"workers = 0", "workers: out of range [1, 64]"},
        {"admin = nowhere", "admin: bad address"},
        {"unix_mode = 0999", "unix_mode: not an octal file mode"},
        {"worker_timeout = 1ms", "worker_timeout: out of range [100ms, 1h]"},
    };
    char text[256], want[512], out[4096];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "; a bad master value\n%s\n", bad[i][0]);
        master_write_file(m, "bad.ini", text);
        snprintf(want, sizeof(want), "%s/bad.ini:2: %s", m->dir, bad[i][1]);
        if (config_test(m, "bad.ini", out, sizeof(out)) != 1 || strstr(out, want) == NULL)
            fprintf(stderr, "moss -t, %s: %s(want exit 1 and '%s')\n", bad[i][0], out, want);
        TEST_ASSERT(config_test(m, "bad.ini", out, sizeof(out)) == 1);
        TEST_ASSERT(strstr(out, want) != NULL);
    }
}

/* moss -t -c: master settings are checked as the rest are. */
static void config_checks(struct master *m)
{
    char out[4096];

    master_prepare(m);
    master_write_file(m, "good.ini", "[moss]\nworkers = 2\nadmin = off\nreload_timeout = 5s\n"
                      "drain_grace = 0\n");
    if (config_test(m, "good.ini", out, sizeof(out)) != 0)
        fprintf(stderr, "moss -t, good.ini: %s\n", out);
    TEST_ASSERT(config_test(m, "good.ini", out, sizeof(out)) == 0);
    TEST_ASSERT(strstr(out, "is ok") != NULL);
    bad_configs(m);
}

/* A plugin that is not there: every worker fails, the first generation
 * never serves, the master exits 1 naming the file. m->dir is kept. */
static void missing_app(struct master *m)
{
    const char *const extra[] = {"-w", "1", "--app", "/nonexistent.so", NULL};
    int64_t start = test_clock_ms();
    int status;

    master_spawn(m, extra);
    status = master_stop(m, 0, WAIT_MS);
    fprintf(stderr, "bad_start: --app /nonexistent.so: exit %d after %lld ms\n", status,
            (long long)(test_clock_ms() - start));
    TEST_ASSERT(status == 1 && m->leftovers == 0);
    TEST_ASSERT(strstr(master_log(m), "/nonexistent.so") != NULL);
    TEST_ASSERT(strstr(master_log(m), "serving on") == NULL);
}

/* A port another process holds: the master says so and exits 1 before
 * forking any worker. */
static void taken_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    char taken[64], want[128];
    const char *const extra[] = {"-w", "1", "-b", taken, NULL};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status;
    struct master m;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(fd != -1 && bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 1) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    snprintf(taken, sizeof(taken), "127.0.0.1:%u", ntohs(addr.sin_port));
    snprintf(want, sizeof(want), "bind(%s): Address already in use", taken);
    master_spawn(&m, extra);
    status = master_stop(&m, 0, WAIT_MS);
    if (status != 1 || strstr(master_log(&m), want) == NULL)
        fprintf(stderr, "exit %d, output:\n%s\n(want '%s')\n", status, master_log(&m), want);
    TEST_ASSERT(status == 1 && strstr(master_log(&m), want) != NULL);
    TEST_ASSERT(m.leftovers == 0 && strstr(master_log(&m), "serving on") == NULL);
    close(fd);
}

void case_bad_start(void)
{
    struct master m;

    config_checks(&m);
    missing_app(&m);
    taken_port();
}
