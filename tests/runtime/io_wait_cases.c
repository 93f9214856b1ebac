/* Waits that end early: deadlines (the call's own and a scope's), kills of
 * greenlets blocked in read, write, accept and connect, and connects that
 * stay in progress. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- deadlines ------------------------------------------------------------ */

void io_case_read_deadline(void)
{
    int sv[2];
    char buf[8];
    int64_t start, elapsed;

    io_make_pair(sv);
    start = moss_now();
    errno = 0;
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), start + 50) == -1 && errno == ETIMEDOUT);
    elapsed = moss_now() - start;
    TEST_ASSERT(elapsed >= 50 && elapsed < 5000);
    /* the timed-out wait left nothing behind: the next one works */
    TEST_ASSERT(write(sv[1], "x", 1) == 1);
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), io_soon()) == 1 && buf[0] == 'x');
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), moss_now() - 1) == -1 && errno == ETIMEDOUT);
    io_close_pair(sv);
}

void io_case_read_scoped_deadline(void)
{
    int sv[2];
    char buf[8];
    moss_deadline_scope_t scope;
    int64_t start, elapsed;

    io_make_pair(sv);
    start = moss_now();
    moss_deadline_push(&scope, start + 40);
    errno = 0;
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), MOSS_FOREVER) == -1 && errno == ETIMEDOUT);
    elapsed = moss_now() - start;
    TEST_ASSERT(elapsed >= 40 && elapsed < 5000);
    io_fill(sv[0]);
    TEST_ASSERT(moss_write(sv[0], "x", 1, MOSS_FOREVER) == -1 && errno == ETIMEDOUT);
    moss_deadline_pop(&scope);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_WRITABLE, moss_now() + 20) == -1 && errno == ETIMEDOUT);
    io_close_pair(sv);
}

/* ---- kills ------------------------------------------------------------------- */

static void *accept_run(void *arg)
{
    struct outcome *o = arg;

    o->ret = moss_accept(o->fd, NULL, NULL, MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

/* Runs fn(o) in a greenlet, lets it block, kills it: its call fails with
 * ECANCELED, and its wait is gone from the fd (a new wait is not EBUSY). */
static void expect_kill_cancels(moss_greenlet_fn fn, struct outcome *o, int events)
{
    moss_greenlet_t *g = moss_spawn(fn, o);

    TEST_ASSERT(moss_sleep(20) == 0);
    TEST_ASSERT(!o->done); /* blocked */
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    TEST_ASSERT(o->done && o->ret == -1 && o->err == ECANCELED);
    TEST_ASSERT(moss_wait_fd(o->fd, events, moss_now() + 10) == -1 && errno == ETIMEDOUT);
}

void io_case_kill_blocked_in_read(void)
{
    int sv[2];
    struct outcome o = {0};

    io_make_pair(sv);
    o.fd = sv[0];
    expect_kill_cancels(io_read_one_run, &o, MOSS_READABLE);
    io_close_pair(sv);
}

void io_case_kill_blocked_in_write(void)
{
    int sv[2];
    struct outcome o = {0};

    io_make_pair(sv);
    io_fill(sv[0]);
    o.fd = sv[0];
    expect_kill_cancels(io_write_some_run, &o, MOSS_WRITABLE);
    io_close_pair(sv);
}

void io_case_kill_blocked_in_accept(void)
{
    struct sockaddr_in addr;
    struct outcome o = {0};

    o.fd = io_listen_loopback(8, &addr);
    expect_kill_cancels(accept_run, &o, MOSS_READABLE);
    TEST_ASSERT(moss_close(o.fd) == 0);
}

static void *sleep_then_read_run(void *arg)
{
    struct outcome *o = arg;
    char buf[4];

    TEST_ASSERT(moss_sleep(LONG_WAIT) == -1 && errno == ECANCELED);
    o->ret = moss_read(o->fd, buf, sizeof(buf), MOSS_FOREVER); /* data is there */
    o->err = errno;
    o->done = 1;
    return NULL;
}

/* Cancellation is sticky: a killed greenlet's I/O fails even when it would
 * not have to wait. */
void io_case_killed_greenlet_io_fails_when_ready(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *g;

    io_make_pair(sv);
    TEST_ASSERT(write(sv[1], "abc", 3) == 3);
    o.fd = sv[0];
    g = moss_spawn(sleep_then_read_run, &o);
    TEST_ASSERT(moss_sleep(5) == 0);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    TEST_ASSERT(o.done && o.ret == -1 && o.err == ECANCELED);
    TEST_ASSERT(moss_read(sv[0], (char[4]){0}, 4, io_soon()) == 3); /* still unread */
    io_close_pair(sv);
}

/* ---- connects that stay in progress --------------------------------------- */

#define BACKLOG_PROBES 16

/* A listener with backlog 0 whose accept queue is full (nobody accepts): a
 * further SYN to it is dropped, so a connect stays in progress. fds[]
 * receives the connections made to fill it, ended by -1. */
static int listen_full(struct sockaddr_in *addr, int fds[BACKLOG_PROBES + 1])
{
    int l = io_listen_loopback(0, addr), n = 0, err = 0;

    for (;;) {
        TEST_ASSERT(n < BACKLOG_PROBES);
        fds[n] = io_connect_loopback(addr, moss_now() + 100, &err);
        if (fds[n] == -1)
            break;
        n++;
    }
    TEST_ASSERT(err == ETIMEDOUT);
    return l;
}

static void close_all(int l, const int fds[])
{
    for (int i = 0; fds[i] != -1; i++)
        TEST_ASSERT(moss_close(fds[i]) == 0);
    TEST_ASSERT(moss_close(l) == 0);
}

static struct sockaddr_in connect_target;

static void *connect_run(void *arg)
{
    struct outcome *o = arg;

    o->ret = moss_connect(o->fd, (struct sockaddr *)&connect_target, sizeof(connect_target),
                          MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

void io_case_kill_blocked_in_connect(void)
{
    int fds[BACKLOG_PROBES + 1];
    int l = listen_full(&connect_target, fds);
    struct outcome o = {0};

    o.fd = moss_socket(AF_INET, SOCK_STREAM, 0);
    TEST_ASSERT(o.fd != -1);
    expect_kill_cancels(connect_run, &o, MOSS_WRITABLE);
    TEST_ASSERT(moss_close(o.fd) == 0);
    close_all(l, fds);
}

void io_case_connect_deadline_and_refused(void)
{
    int fds[BACKLOG_PROBES + 1], err = 0;
    struct sockaddr_in addr, closed = {.sin_family = AF_INET};
    int l = listen_full(&addr, fds), bound;
    socklen_t len = sizeof(closed);
    int64_t start = moss_now();

    TEST_ASSERT(io_connect_loopback(&addr, start + 50, &err) == -1 && err == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 50 && moss_now() - start < 5000);
    close_all(l, fds);
    /* a port bound but not listening refuses; keeping it bound keeps it ours */
    bound = moss_socket(AF_INET, SOCK_STREAM, 0);
    closed.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bound != -1 && bind(bound, (struct sockaddr *)&closed, sizeof(closed)) == 0);
    TEST_ASSERT(getsockname(bound, (struct sockaddr *)&closed, &len) == 0);
    TEST_ASSERT(io_connect_loopback(&closed, io_soon(), &err) == -1 && err == ECONNREFUSED);
    TEST_ASSERT(moss_close(bound) == 0);
}
