/* The examples in examples/, run as real processes and driven by real
 * client sockets on 127.0.0.1. EXAMPLES_DIR names the folder holding the
 * built example programs (the Makefile sets it). Every process started is
 * ended by pid; every wait is bounded. */
#include "harness.h"
#include "moss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 5000

/* ---- processes ----------------------------------------------------------------- */

struct example {
    pid_t pid;
    unsigned port;
};

/* Reads one line from fd into buf, waiting at most WAIT_MS in all. */
static void read_line_fd(int fd, char *buf, size_t cap)
{
    size_t len = 0;

    while (len < cap - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};

        TEST_ASSERT(poll(&p, 1, WAIT_MS) == 1);
        TEST_ASSERT(read(fd, buf + len, 1) == 1);
        if (buf[len++] == '\n')
            break;
    }
    buf[len] = '\0';
}

/* Starts EXAMPLES_DIR/name with extra args; waits for "listening on
 * 127.0.0.1:PORT". */
static struct example example_start(const char *name)
{
    const char *dir = getenv("EXAMPLES_DIR");
    char path[512], line[128];
    struct example ex = {0};
    int out[2];

    TEST_ASSERT(dir != NULL);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    TEST_ASSERT(pipe(out) == 0);
    ex.pid = fork();
    TEST_ASSERT(ex.pid != -1);
    if (ex.pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execl(path, name, "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    read_line_fd(out[0], line, sizeof(line));
    close(out[0]);
    TEST_ASSERT(sscanf(line, "listening on 127.0.0.1:%u", &ex.port) == 1);
    return ex;
}

static void example_stop(struct example ex)
{
    int status = 0;

    TEST_ASSERT(kill(ex.pid, SIGTERM) == 0);
    TEST_ASSERT(waitpid(ex.pid, &status, 0) == ex.pid);
    TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM); /* still alive till now */
}

/* ---- plain blocking clients -------------------------------------------------------- */

/* ---- echo -------------------------------------------------------------------------- */

static void case_echo_clients(void)
{
    struct example ex = example_start("echo");
    static int fds[200];
    static char big[1 << 20], back[1 << 20];
    char reply[32];

    for (int i = 0; i < 200; i++)
        fds[i] = test_client_connect(ex.port); /* all connected at once */
    for (int i = 0; i < 200; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "client %d\n", i);

        send_all(fds[i], msg, (size_t)len);
        recv_exactly(fds[i], reply, (size_t)len);
        TEST_ASSERT(memcmp(reply, msg, (size_t)len) == 0);
    }
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    for (int i = 0; i < 200; i++)
        close(fds[i]);
    fds[0] = test_client_connect(ex.port);
    send_all(fds[0], big, sizeof(big) / 2); /* the server echoes while we send */
    recv_exactly(fds[0], back, sizeof(big) / 2);
    send_all(fds[0], big + sizeof(big) / 2, sizeof(big) / 2);
    recv_exactly(fds[0], back + sizeof(big) / 2, sizeof(big) / 2);
    TEST_ASSERT(memcmp(big, back, sizeof(big)) == 0);
    close(fds[0]);
    example_stop(ex);
}

/* ---- chat -------------------------------------------------------------------------- */

static void expect_line(int fd, const char *want)
{
    char line[256];
    size_t len = 0;

    while (len < sizeof(line) - 1) {
        TEST_ASSERT(recv(fd, line + len, 1, 0) == 1);
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    if (strcmp(line, want) != 0)
        fprintf(stderr, "chat: got '%s', want '%s'\n", line, want);
    TEST_ASSERT(strcmp(line, want) == 0);
}

static void case_chat_broadcast(void)
{
    struct example ex = example_start("chat");
    int a = test_client_connect(ex.port), b, c;

    b = test_client_connect(ex.port);
    expect_line(a, "* user-2 joined\n");
    c = test_client_connect(ex.port);
    expect_line(a, "* user-3 joined\n");
    expect_line(b, "* user-3 joined\n");
    send_all(a, "hello\n", 6);
    expect_line(b, "user-1: hello\n");
    expect_line(c, "user-1: hello\n");
    send_all(c, "hi from c\n", 10);
    expect_line(a, "user-3: hi from c\n");
    expect_line(b, "user-3: hi from c\n");
    close(a);
    close(b);
    close(c);
    example_stop(ex);
}

/* A user who never reads fills its socket buffers (several MiB on loopback)
 * and then its outbox, and is dropped; the others keep getting every line. */
#define CHAT_FLOOD_LINES 6000

static void case_chat_slow_user_dropped(void)
{
    struct example ex = example_start("chat");
    int talker = test_client_connect(ex.port), slow, listener;
    static char line[1100], want[1100], got[1100], drain[65536];
    ssize_t n = -1;

    slow = test_client_connect(ex.port);
    expect_line(talker, "* user-2 joined\n");
    listener = test_client_connect(ex.port);
    expect_line(talker, "* user-3 joined\n");
    memset(drain, '.', 980);
    for (int i = 0; i < CHAT_FLOOD_LINES; i++) {
        int len = snprintf(line, sizeof(line), "line %05d %.980s\n", i, drain);
        int want_len = snprintf(want, sizeof(want), "user-1: %s", line);

        send_all(talker, line, (size_t)len);
        recv_exactly(listener, got, (size_t)want_len);
        TEST_ASSERT(memcmp(got, want, (size_t)want_len) == 0);
    }
    /* the slow user's connection was shut: reading it ends, not blocks */
    for (int i = 0; i < 100000 && (n = recv(slow, drain, sizeof(drain), 0)) > 0; i++)
        ;
    TEST_ASSERT(n == 0);
    close(talker);
    close(slow);
    close(listener);
    example_stop(ex);
}

/* ---- fetch ------------------------------------------------------------------------- */

#define FETCH_COUNT 100
#define FETCH_CONCURRENCY 20

struct http_server {
    unsigned served, active, max_active;
};

static struct http_server http;

/* One request: read the head, hold the connection 20 ms, answer. */
static void *http_serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[2048];
    size_t got = 0;
    ptrdiff_t n;

    http.active++;
    if (http.active > http.max_active)
        http.max_active = http.active;
    while (got < sizeof(buf) - 1 && (n = moss_read(fd, buf + got, sizeof(buf) - 1 - got,
                                                   moss_now() + WAIT_MS)) > 0) {
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    moss_sleep(20);
    moss_write(fd, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", 43, moss_now() + WAIT_MS);
    moss_close(fd);
    http.active--;
    http.served++;
    return NULL;
}

/* The test's HTTP server, in a child: serves FETCH_COUNT requests, then
 * reports the most it saw at once through report_fd. */
static void http_server_child(int listener, int report_fd)
{
    moss_greenlet_t *g[FETCH_COUNT];
    char msg[64];

    for (int i = 0; i < FETCH_COUNT; i++) {
        int fd = moss_accept(listener, NULL, NULL, moss_now() + 4 * WAIT_MS);

        if (fd == -1)
            _exit(3);
        g[i] = moss_spawn(http_serve, (void *)(intptr_t)fd);
    }
    for (int i = 0; i < FETCH_COUNT; i++)
        moss_join(g[i], moss_now() + WAIT_MS, NULL);
    snprintf(msg, sizeof(msg), "served=%u max=%u\n", http.served, http.max_active);
    if (write(report_fd, msg, strlen(msg)) == -1)
        _exit(4);
    _exit(0);
}

static int http_listen(unsigned *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 256) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

static void case_fetch_through_pool(void)
{
    const char *dir = getenv("EXAMPLES_DIR");
    char path[512], url[128], report[64], out[256];
    unsigned port, served = 0, max = 0;
    int listener = http_listen(&port), report_pipe[2], fetch_out[2], status = 0;
    pid_t server, fetcher;

    TEST_ASSERT(dir != NULL && pipe(report_pipe) == 0 && pipe(fetch_out) == 0);
    server = fork();
    TEST_ASSERT(server != -1);
    if (server == 0)
        http_server_child(listener, report_pipe[1]);
    close(listener);
    snprintf(path, sizeof(path), "%s/fetch", dir);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/item", port);
    fetcher = fork();
    TEST_ASSERT(fetcher != -1);
    if (fetcher == 0) {
        dup2(fetch_out[1], STDOUT_FILENO);
        execl(path, "fetch", url, "100", "20", (char *)NULL);
        _exit(127);
    }
    close(fetch_out[1]);
    read_line_fd(fetch_out[0], out, sizeof(out));
    TEST_ASSERT(waitpid(fetcher, &status, 0) == fetcher);
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    TEST_ASSERT(strncmp(out, "fetched 100: ok=100 failed=0", 28) == 0);
    read_line_fd(report_pipe[0], report, sizeof(report));
    TEST_ASSERT(waitpid(server, &status, 0) == server && WIFEXITED(status));
    TEST_ASSERT(sscanf(report, "served=%u max=%u", &served, &max) == 2);
    TEST_ASSERT(served == FETCH_COUNT);
    TEST_ASSERT(max <= FETCH_CONCURRENCY); /* the pool's bound, seen from the server */
    TEST_ASSERT(max >= FETCH_CONCURRENCY / 2); /* and real concurrency */
}

const struct moss_test_case moss_test_example_cases[] = {
    {"echo_clients", case_echo_clients},
    {"chat_broadcast", case_chat_broadcast},
    {"chat_slow_user_dropped", case_chat_slow_user_dropped},
    {"fetch_through_pool", case_fetch_through_pool},
    {NULL, NULL},
};
