/* Parked connections, in the real binary (MOSS_BIN): a keep-alive
 * connection between requests holds no greenlet (worker/stream_conn.c),
 * and still serves its next request, closes at keepalive_timeout, and is
 * closed at once by a drain. */
#include "master_fixture.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS (10000 * MASTER_SLOW)
#define CONNS 200

/* One keep-alive GET of path on fd, its response read whole
 * (Content-Length): the status, or -1. */
static int keepalive_get_path(int fd, const char *path)
{
    static char raw[1 << 16];
    char request[256], *end, *cl;
    size_t got = 0;
    long length = -1;
    int status, len = snprintf(request, sizeof(request),
                               "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);

    if (send(fd, request, (size_t)len, MSG_NOSIGNAL) != len)
        return -1;
    for (int i = 0; i < 64 && got < sizeof(raw) - 1; i++) {
        ssize_t n = recv(fd, raw + got, sizeof(raw) - 1 - got, 0);

        if (n <= 0)
            return -1;
        got += (size_t)n;
        raw[got] = '\0';
        if ((end = strstr(raw, "\r\n\r\n")) == NULL)
            continue;
        if (length < 0 && ((cl = strcasestr(raw, "\r\nContent-Length:")) == NULL ||
                           sscanf(cl + 17, "%ld", &length) != 1))
            return -1;
        if ((size_t)(end + 4 - raw) + (size_t)length <= got)
            return sscanf(raw, "HTTP/1.1 %d", &status) == 1 ? status : -1;
    }
    return -1;
}

static int keepalive_get(int fd)
{
    return keepalive_get_path(fd, "/");
}

/* Whether the server closed fd (end of file, no reset) within the socket's
 * receive timeout. */
static int closed_by_server(int fd)
{
    char byte;

    return recv(fd, &byte, 1, 0) == 0;
}

/* The worker's figure at path (workers.0....) reaches want. */
struct figure_want {
    const char *path;
    json_int_t at_least, at_most;
};

static int figure_in_range(json_t *stats, void *arg)
{
    const struct figure_want *want = arg;
    json_int_t v = stats_int(stats, want->path);

    return v >= want->at_least && v <= want->at_most;
}

static void open_parked(const struct master *m, int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        TEST_ASSERT((fds[i] = master_connect(m->port)) != -1);
        TEST_ASSERT(keepalive_get(fds[i]) == 200);
    }
}

/* 200 idle keep-alive connections on one worker: the worker runs a handful
 * of greenlets, not 200; each connection serves a second request, and the
 * server closes each at keepalive_timeout (2 s; 20 s under valgrind, within
 * the sockets' receive timeout). */
static void case_idle_connections_parked(void)
{
    static char timeout[16];
    const char *const args[] = {"-w", "1", "--keepalive_timeout", timeout, NULL};
    struct figure_want active = {"workers.0.connections_active", CONNS, CONNS};
    struct figure_want few = {"workers.0.greenlets", 0, 16};
    struct figure_want none = {"workers.0.connections_active", 0, 0};
    int fds[CONNS], closed = 0;
    struct master m;

    snprintf(timeout, sizeof(timeout), "%ds", 2 * MASTER_SLOW);
    master_start(&m, args);
    open_parked(&m, fds, CONNS);
    TEST_ASSERT(master_wait(&m, figure_in_range, &active, WAIT_MS) == 0);
    TEST_ASSERT(master_wait(&m, figure_in_range, &few, WAIT_MS) == 0);
    for (int i = 0; i < CONNS; i++)
        TEST_ASSERT(keepalive_get(fds[i]) == 200);
    for (int i = 0; i < CONNS; i++) {
        closed += closed_by_server(fds[i]); /* each within its 5 s timeout */
        close(fds[i]);
    }
    fprintf(stderr, "park: %d of %d idle connections closed by the server\n", closed, CONNS);
    TEST_ASSERT(closed == CONNS);
    TEST_ASSERT(master_wait(&m, figure_in_range, &none, WAIT_MS) == 0);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* Whether fd gets a 408 response, then the server's close, within the
 * socket's receive timeout. */
static int answered_408(int fd)
{
    char raw[1024];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(raw) - 1 && (n = recv(fd, raw + got, sizeof(raw) - 1 - got, 0)) > 0)
        got += (size_t)n;
    raw[got] = '\0';
    return n == 0 && strncmp(raw, "HTTP/1.1 408 ", 13) == 0;
}

/* 200 connections that have not sent their first request yet are parked
 * too: half then send it and are served; the other half get the 408 at
 * header_timeout. */
static void case_first_request_parked(void)
{
    static char timeout[16];
    const char *const args[] = {"-w", "1", "--header_timeout", timeout, NULL};
    struct figure_want active = {"workers.0.connections_active", CONNS, CONNS};
    struct figure_want few = {"workers.0.greenlets", 0, 16};
    int fds[CONNS], served = 0, timed_out = 0;
    struct master m;

    snprintf(timeout, sizeof(timeout), "%ds", 2 * MASTER_SLOW);
    master_start(&m, args);
    for (int i = 0; i < CONNS; i++)
        TEST_ASSERT((fds[i] = master_connect(m.port)) != -1);
    TEST_ASSERT(master_wait(&m, figure_in_range, &active, WAIT_MS) == 0);
    TEST_ASSERT(master_wait(&m, figure_in_range, &few, WAIT_MS) == 0);
    for (int i = 0; i < CONNS; i += 2)
        served += keepalive_get(fds[i]) == 200;
    for (int i = 1; i < CONNS; i += 2)
        timed_out += answered_408(fds[i]);
    for (int i = 0; i < CONNS; i++)
        close(fds[i]);
    fprintf(stderr, "park: of %d connections waiting for their first request, %d served, "
            "%d answered 408\n", CONNS, served, timed_out);
    TEST_ASSERT(served == CONNS / 2 && timed_out == CONNS / 2);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* A reload drains the old worker: its parked connections are closed at
 * once (keepalive_timeout and graceful_timeout are far away), and the new
 * worker serves. */
static void case_drain_closes_parked(void)
{
    static const char *const args[] = {"-w", "1", "--keepalive_timeout", "60s",
                                       "--graceful_timeout", "60s", NULL};
    int fds[50], closed = 0, fd;
    struct master m;

    master_start(&m, args);
    open_parked(&m, fds, 50);
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    for (int i = 0; i < 50; i++) {
        closed += closed_by_server(fds[i]);
        close(fds[i]);
    }
    fprintf(stderr, "park: %d of 50 parked connections closed by the drain\n", closed);
    TEST_ASSERT(closed == 50);
    TEST_ASSERT((fd = master_connect(m.port)) != -1);
    TEST_ASSERT(keepalive_get(fd) == 200);
    close(fd);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

/* The master's admin server parks its idle connections too; a reload
 * forks workers while one is parked. The new workers must let go of it
 * (its watcher and its fd: a watcher left on a closed fd aborts libev in
 * the child), and the master goes on serving it. */
static void case_admin_parked_across_fork(void)
{
    static const char *const args[] = {"-w", "2", NULL};
    int fd;
    struct master m;

    master_start(&m, args);
    TEST_ASSERT((fd = master_connect(m.admin_port)) != -1);
    TEST_ASSERT(keepalive_get_path(fd, "/stats") == 200);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
        TEST_ASSERT(master_log_wait(&m, i == 0 ? "generation 2 ready" : i == 1
                                    ? "generation 3 ready" : "generation 4 ready",
                                    WAIT_MS) == 0);
    }
    TEST_ASSERT(keepalive_get_path(fd, "/health") == 200);
    close(fd);
    TEST_ASSERT(strstr(master_log(&m), "Aborted") == NULL);
    TEST_ASSERT(strstr(master_log(&m), "libev") == NULL);
    TEST_ASSERT(master_stop(&m, SIGTERM, WAIT_MS) == 0);
}

const struct moss_test_case moss_test_park_cases[] = {
    {"admin_parked_across_fork", case_admin_parked_across_fork},
    {"idle_connections_parked", case_idle_connections_parked},
    {"first_request_parked", case_first_request_parked},
    {"drain_closes_parked", case_drain_closes_parked},
    {NULL, NULL},
};
