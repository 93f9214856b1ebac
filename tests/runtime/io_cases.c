/* Cooperative I/O: reads and writes that wait, deadlines and kills, the fd
 * table's rules (EBUSY, EBADF on close), sockets over 127.0.0.1, sendfile,
 * the buffered reader, EPIPE without SIGPIPE, and fairness against a spawn
 * flood. Only socketpairs and loopback sockets; every wait has a deadline. */
#include "harness.h"
#include "moss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (4u << 20)       /* well beyond a socket buffer */
#define LONG_WAIT 10000      /* ms: a generous bound for what should be quick */

/* What a greenlet's I/O call returned. */
struct outcome {
    int fd;
    ptrdiff_t ret;
    int err;
    int done;
};

static int64_t soon(void)
{
    return moss_now() + LONG_WAIT;
}

static void make_pair(int sv[2])
{
    TEST_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
}

static void close_pair(const int sv[2])
{
    TEST_ASSERT(moss_close(sv[0]) == 0);
    TEST_ASSERT(moss_close(sv[1]) == 0);
}

/* Fills fd's send buffer (nobody reads the peer) until it would block. */
static void fill(int fd)
{
    static char chunk[65536];
    int i;

    for (i = 0; i < 10000; i++)
        if (send(fd, chunk, sizeof(chunk), MSG_DONTWAIT) == -1)
            break;
    TEST_ASSERT(i < 10000 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 31u + (i >> 13));
}

static unsigned char *pattern_buffer(size_t len)
{
    unsigned char *buf = malloc(len);

    TEST_ASSERT(buf != NULL);
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(i);
    return buf;
}

/* A listening TCP socket on 127.0.0.1, on an ephemeral port, and its address. */
static int listen_loopback(int backlog, struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    TEST_ASSERT(fd != -1);
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0};
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0);
    TEST_ASSERT(listen(fd, backlog) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)addr, &len) == 0);
    TEST_ASSERT(addr->sin_port != 0);
    return fd;
}

/* A new socket's moss_connect to addr: the fd, or -1 with *err. */
static int connect_loopback(const struct sockaddr_in *addr, int64_t deadline, int *err)
{
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    TEST_ASSERT(fd != -1);
    if (moss_connect(fd, (const struct sockaddr *)addr, sizeof(*addr), deadline) == 0)
        return fd;
    *err = errno;
    TEST_ASSERT(moss_close(fd) == 0);
    return -1;
}

/* Reads exactly len bytes with moss_recv (nothing less will do). */
static void recv_exact(int fd, char *buf, size_t len)
{
    size_t got = 0;

    for (int i = 0; got < len && i < 1000; i++) {
        ptrdiff_t n = moss_recv(fd, buf + got, len - got, 0, soon());

        TEST_ASSERT(n > 0);
        got += (size_t)n;
    }
    TEST_ASSERT(got == len);
}

static int is_nonblocking_cloexec(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* ---- read and write between greenlets ------------------------------------ */

struct transfer {
    int fd;
    unsigned char *buf;
    size_t len;
    ptrdiff_t ret;
    int err;
};

static void *write_all_run(void *arg)
{
    struct transfer *t = arg;

    t->ret = moss_write(t->fd, t->buf, t->len, soon());
    t->err = errno;
    return NULL;
}

/* Reads until t->len bytes or end of file; t->ret: bytes read, or -1. */
static void *read_all_run(void *arg)
{
    struct transfer *t = arg;
    size_t got = 0;

    while (got < t->len) {
        ptrdiff_t n = moss_read(t->fd, t->buf + got, t->len - got, soon());

        if (n <= 0) {
            t->err = errno;
            t->ret = n == 0 ? (ptrdiff_t)got : -1;
            return NULL;
        }
        got += (size_t)n;
    }
    t->ret = (ptrdiff_t)got;
    return NULL;
}

static void *echo_once_run(void *arg)
{
    struct outcome *o = arg;
    char buf[16];
    ptrdiff_t n = moss_read(o->fd, buf, sizeof(buf), soon());

    o->ret = n > 0 ? moss_write(o->fd, buf, (size_t)n, soon()) : -1;
    o->done = 1;
    return NULL;
}

static void case_read_write_between_greenlets(void)
{
    int sv[2];
    struct outcome echo = {0};
    moss_greenlet_t *g;
    char reply[8] = {0};

    make_pair(sv);
    echo.fd = sv[1];
    g = moss_spawn(echo_once_run, &echo);
    TEST_ASSERT(moss_write(sv[0], "ping", 4, soon()) == 4);
    TEST_ASSERT(moss_read(sv[0], reply, sizeof(reply), soon()) == 4);
    TEST_ASSERT(memcmp(reply, "ping", 4) == 0 && echo.ret == 4);
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    close_pair(sv);
}

/* A write far larger than the socket buffer completes by waiting while the
 * reader drains it. */
static void case_large_write_waits_for_reader(void)
{
    int sv[2];
    struct transfer out, in;
    moss_greenlet_t *w, *r;

    make_pair(sv);
    out = (struct transfer){.fd = sv[0], .buf = pattern_buffer(BIG), .len = BIG};
    in = (struct transfer){.fd = sv[1], .buf = calloc(1, BIG), .len = BIG};
    TEST_ASSERT(in.buf != NULL);
    w = moss_spawn(write_all_run, &out);
    r = moss_spawn(read_all_run, &in);
    TEST_ASSERT(moss_join(w, MOSS_FOREVER, NULL) == 0 && moss_join(r, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(out.ret == (ptrdiff_t)BIG && in.ret == (ptrdiff_t)BIG);
    TEST_ASSERT(memcmp(out.buf, in.buf, BIG) == 0);
    free(out.buf);
    free(in.buf);
    close_pair(sv);
}

/* ---- deadlines ------------------------------------------------------------ */

static void case_read_deadline(void)
{
    int sv[2];
    char buf[8];
    int64_t start, elapsed;

    make_pair(sv);
    start = moss_now();
    errno = 0;
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), start + 50) == -1 && errno == ETIMEDOUT);
    elapsed = moss_now() - start;
    TEST_ASSERT(elapsed >= 50 && elapsed < 5000);
    /* the timed-out wait left nothing behind: the next one works */
    TEST_ASSERT(write(sv[1], "x", 1) == 1);
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), soon()) == 1 && buf[0] == 'x');
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), moss_now() - 1) == -1 && errno == ETIMEDOUT);
    close_pair(sv);
}

static void case_read_scoped_deadline(void)
{
    int sv[2];
    char buf[8];
    moss_deadline_scope_t scope;
    int64_t start, elapsed;

    make_pair(sv);
    start = moss_now();
    moss_deadline_push(&scope, start + 40);
    errno = 0;
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), MOSS_FOREVER) == -1 && errno == ETIMEDOUT);
    elapsed = moss_now() - start;
    TEST_ASSERT(elapsed >= 40 && elapsed < 5000);
    fill(sv[0]);
    TEST_ASSERT(moss_write(sv[0], "x", 1, MOSS_FOREVER) == -1 && errno == ETIMEDOUT);
    moss_deadline_pop(&scope);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_WRITABLE, moss_now() + 20) == -1 && errno == ETIMEDOUT);
    close_pair(sv);
}

/* ---- kills ------------------------------------------------------------------- */

static void *read_one_run(void *arg)
{
    struct outcome *o = arg;
    char buf[16];

    o->ret = moss_read(o->fd, buf, sizeof(buf), MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

static void *write_some_run(void *arg)
{
    struct outcome *o = arg;
    static char chunk[4096];

    o->ret = moss_write(o->fd, chunk, sizeof(chunk), MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

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
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(o->done && o->ret == -1 && o->err == ECANCELED);
    TEST_ASSERT(moss_wait_fd(o->fd, events, moss_now() + 10) == -1 && errno == ETIMEDOUT);
}

static void case_kill_blocked_in_read(void)
{
    int sv[2];
    struct outcome o = {0};

    make_pair(sv);
    o.fd = sv[0];
    expect_kill_cancels(read_one_run, &o, MOSS_READABLE);
    close_pair(sv);
}

static void case_kill_blocked_in_write(void)
{
    int sv[2];
    struct outcome o = {0};

    make_pair(sv);
    fill(sv[0]);
    o.fd = sv[0];
    expect_kill_cancels(write_some_run, &o, MOSS_WRITABLE);
    close_pair(sv);
}

static void case_kill_blocked_in_accept(void)
{
    struct sockaddr_in addr;
    struct outcome o = {0};

    o.fd = listen_loopback(8, &addr);
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
static void case_killed_greenlet_io_fails_when_ready(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *g;

    make_pair(sv);
    TEST_ASSERT(write(sv[1], "abc", 3) == 3);
    o.fd = sv[0];
    g = moss_spawn(sleep_then_read_run, &o);
    TEST_ASSERT(moss_sleep(5) == 0);
    TEST_ASSERT(moss_kill(g) == 0);
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(o.done && o.ret == -1 && o.err == ECANCELED);
    TEST_ASSERT(moss_read(sv[0], (char[4]){0}, 4, soon()) == 3); /* still unread */
    close_pair(sv);
}

/* ---- connects that stay in progress --------------------------------------- */

#define BACKLOG_PROBES 16

/* A listener with backlog 0 whose accept queue is full (nobody accepts): a
 * further SYN to it is dropped, so a connect stays in progress. fds[]
 * receives the connections made to fill it, ended by -1. */
static int listen_full(struct sockaddr_in *addr, int fds[BACKLOG_PROBES + 1])
{
    int l = listen_loopback(0, addr), n = 0, err = 0;

    for (;;) {
        TEST_ASSERT(n < BACKLOG_PROBES);
        fds[n] = connect_loopback(addr, moss_now() + 100, &err);
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

static void case_kill_blocked_in_connect(void)
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

static void case_connect_deadline_and_refused(void)
{
    int fds[BACKLOG_PROBES + 1], err = 0;
    struct sockaddr_in addr, closed = {.sin_family = AF_INET};
    int l = listen_full(&addr, fds), bound;
    socklen_t len = sizeof(closed);
    int64_t start = moss_now();

    TEST_ASSERT(connect_loopback(&addr, start + 50, &err) == -1 && err == ETIMEDOUT);
    TEST_ASSERT(moss_now() - start >= 50 && moss_now() - start < 5000);
    close_all(l, fds);
    /* a port bound but not listening refuses; keeping it bound keeps it ours */
    bound = moss_socket(AF_INET, SOCK_STREAM, 0);
    closed.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bound != -1 && bind(bound, (struct sockaddr *)&closed, sizeof(closed)) == 0);
    TEST_ASSERT(getsockname(bound, (struct sockaddr *)&closed, &len) == 0);
    TEST_ASSERT(connect_loopback(&closed, soon(), &err) == -1 && err == ECONNREFUSED);
    TEST_ASSERT(moss_close(bound) == 0);
}

/* ---- one waiter per direction; moss_close ------------------------------- */

static void case_second_reader_gets_ebusy(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *g;
    char buf[4];
    int64_t start;

    make_pair(sv);
    o.fd = sv[0];
    g = moss_spawn(read_one_run, &o);
    TEST_ASSERT(moss_sleep(10) == 0 && !o.done);
    start = moss_now();
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), soon()) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, soon()) == -1 &&
                errno == EBUSY);
    TEST_ASSERT(moss_now() - start < 1000); /* refused, not waited */
    /* the other direction is free */
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_WRITABLE, soon()) == MOSS_WRITABLE);
    TEST_ASSERT(moss_write(sv[1], "hi", 2, soon()) == 2);
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(o.done && o.ret == 2);
    close_pair(sv);
}

static void *wait_both_run(void *arg)
{
    struct outcome *o = arg;

    o->ret = moss_wait_fd(o->fd, MOSS_READABLE | MOSS_WRITABLE, MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

static void case_close_wakes_waiters_with_ebadf(void)
{
    int a[2], b[2];
    struct outcome rd = {0}, wr = {0}, both = {0};
    moss_greenlet_t *g[3];

    make_pair(a);
    make_pair(b);
    fill(a[0]);
    fill(b[0]);
    rd.fd = wr.fd = a[0];
    both.fd = b[0];
    g[0] = moss_spawn(read_one_run, &rd);
    g[1] = moss_spawn(write_some_run, &wr);
    g[2] = moss_spawn(wait_both_run, &both);
    TEST_ASSERT(moss_sleep(20) == 0 && !rd.done && !wr.done && !both.done);
    TEST_ASSERT(moss_close(a[0]) == 0);
    TEST_ASSERT(moss_close(b[0]) == 0);
    for (int i = 0; i < 3; i++)
        TEST_ASSERT(moss_join(g[i], soon(), NULL) == 0);
    TEST_ASSERT(rd.ret == -1 && rd.err == EBADF);
    TEST_ASSERT(wr.ret == -1 && wr.err == EBADF);
    TEST_ASSERT(both.ret == -1 && both.err == EBADF);
    TEST_ASSERT(moss_close(a[1]) == 0 && moss_close(b[1]) == 0);
    /* the numbers come back for new fds, with free slots */
    make_pair(a);
    TEST_ASSERT(moss_wait_fd(a[0], MOSS_READABLE, moss_now() + 10) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_wait_fd(a[1], MOSS_READABLE, moss_now() + 10) == -1 && errno == ETIMEDOUT);
    close_pair(a);
}

static void case_wait_fd_events_and_limits(void)
{
    int sv[2];
    struct rlimit rl;
    int high;

    make_pair(sv);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, soon()) == MOSS_WRITABLE);
    TEST_ASSERT(write(sv[1], "x", 1) == 1);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, soon()) ==
                (MOSS_READABLE | MOSS_WRITABLE));
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE, soon()) == MOSS_READABLE);
    TEST_ASSERT(moss_wait_fd(sv[0], 0, soon()) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_wait_fd(sv[0], 4, soon()) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_wait_fd(-1, MOSS_READABLE, soon()) == -1 && errno == EBADF);
    TEST_ASSERT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT32_MAX) {
        TEST_ASSERT(moss_wait_fd((int)rl.rlim_cur, MOSS_READABLE, soon()) == -1 &&
                    errno == EBADF);
        /* the highest fd there can be: the table grows to hold it */
        high = dup2(sv[0], (int)rl.rlim_cur - 1);
        TEST_ASSERT(high == (int)rl.rlim_cur - 1);
        TEST_ASSERT(moss_wait_fd(high, MOSS_READABLE, soon()) == MOSS_READABLE);
        TEST_ASSERT(moss_close(high) == 0);
    }
    close_pair(sv);
}

/* ---- sockets over loopback ------------------------------------------------ */

static void *serve_one_run(void *arg)
{
    struct outcome *o = arg;
    struct sockaddr_in peer;
    unsigned len = sizeof(peer);
    char buf[8];
    int conn = moss_accept(o->fd, (struct sockaddr *)&peer, &len, soon());

    TEST_ASSERT(conn != -1);
    TEST_ASSERT(is_nonblocking_cloexec(conn));
    TEST_ASSERT(len == sizeof(peer) && peer.sin_family == AF_INET);
    TEST_ASSERT(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    recv_exact(conn, buf, 5);
    TEST_ASSERT(memcmp(buf, "hello", 5) == 0);
    TEST_ASSERT(moss_send(conn, "world", 5, 0, soon()) == 5);
    o->ret = moss_close(conn);
    o->done = 1;
    return NULL;
}

static void case_accept_connect_loopback(void)
{
    struct sockaddr_in addr;
    struct outcome server = {0};
    moss_greenlet_t *g;
    char buf[8];
    int fd, err = 0;

    server.fd = listen_loopback(8, &addr);
    TEST_ASSERT(is_nonblocking_cloexec(server.fd));
    g = moss_spawn(serve_one_run, &server);
    fd = connect_loopback(&addr, soon(), &err);
    TEST_ASSERT(fd != -1);
    TEST_ASSERT(moss_write(fd, "hello", 5, soon()) == 5);
    TEST_ASSERT(moss_read(fd, buf, 5, soon()) == 5 && memcmp(buf, "world", 5) == 0);
    TEST_ASSERT(moss_read(fd, buf, sizeof(buf), soon()) == 0); /* the server closed */
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(server.done && server.ret == 0);
    TEST_ASSERT(moss_close(fd) == 0 && moss_close(server.fd) == 0);
}

/* ---- sendfile ----------------------------------------------------------------- */

#define FILE_SIZE ((1u << 20) + 123)

static int temp_file_with_pattern(const unsigned char *data, size_t len)
{
    char path[] = "/tmp/moss-io-XXXXXX";
    int fd = mkstemp(path);
    size_t done = 0;

    TEST_ASSERT(fd != -1);
    TEST_ASSERT(unlink(path) == 0);
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);

        TEST_ASSERT(n > 0);
        done += (size_t)n;
    }
    return fd;
}

static void case_sendfile_temp_file(void)
{
    unsigned char *data = pattern_buffer(FILE_SIZE);
    int file = temp_file_with_pattern(data, FILE_SIZE), sv[2];
    struct transfer in;
    moss_greenlet_t *g;
    int64_t offset = 0;

    make_pair(sv);
    in = (struct transfer){.fd = sv[1], .buf = calloc(1, FILE_SIZE + 100), .len = FILE_SIZE + 100};
    TEST_ASSERT(in.buf != NULL);
    g = moss_spawn(read_all_run, &in);
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, FILE_SIZE, soon()) == (ptrdiff_t)FILE_SIZE);
    TEST_ASSERT(offset == (int64_t)FILE_SIZE);
    offset = FILE_SIZE - 10; /* asks for 100, the file has 10 left */
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, 100, soon()) == 10);
    TEST_ASSERT(offset == (int64_t)FILE_SIZE);
    TEST_ASSERT(shutdown(sv[0], SHUT_WR) == 0);
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(in.ret == (ptrdiff_t)FILE_SIZE + 10);
    TEST_ASSERT(memcmp(in.buf, data, FILE_SIZE) == 0);
    TEST_ASSERT(memcmp(in.buf + FILE_SIZE, data + FILE_SIZE - 10, 10) == 0);
    free(data);
    free(in.buf);
    TEST_ASSERT(close(file) == 0);
    close_pair(sv);
}

/* ---- the buffered reader ------------------------------------------------- */

/* Writes each piece, with a pause between, then ends the stream. */
struct pieces {
    int fd;
    const char *piece[8]; /* NULL-terminated */
};

static void *write_pieces_run(void *arg)
{
    struct pieces *p = arg;

    for (int i = 0; p->piece[i] != NULL; i++) {
        TEST_ASSERT(moss_sleep(5) == 0);
        TEST_ASSERT(moss_write(p->fd, p->piece[i], strlen(p->piece[i]), soon()) ==
                    (ptrdiff_t)strlen(p->piece[i]));
    }
    TEST_ASSERT(shutdown(p->fd, SHUT_WR) == 0);
    return NULL;
}

static void expect_line(moss_reader_t *r, const char *want)
{
    const char *line = NULL;
    ptrdiff_t n = moss_reader_line(r, &line, soon());

    TEST_ASSERT(n == (ptrdiff_t)strlen(want));
    TEST_ASSERT(memcmp(line, want, strlen(want)) == 0);
}

static void case_reader_lines_across_reads(void)
{
    int sv[2];
    struct pieces p = {.piece = {"hel", "lo\nwor", "ld\n\nlast", NULL}};
    moss_reader_t *r;
    const char *line;
    moss_greenlet_t *g;

    make_pair(sv);
    p.fd = sv[1];
    r = moss_reader_new(sv[0], 8); /* small: forces compaction */
    TEST_ASSERT(r != NULL);
    g = moss_spawn(write_pieces_run, &p);
    expect_line(r, "hello\n");
    expect_line(r, "world\n");
    expect_line(r, "\n");
    expect_line(r, "last"); /* no '\n' at end of file */
    TEST_ASSERT(moss_reader_line(r, &line, soon()) == 0);
    TEST_ASSERT(moss_reader_line(r, &line, soon()) == 0);
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    moss_reader_free(r);
    close_pair(sv);
}

static void case_reader_deadline_keeps_partial_line(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;

    make_pair(sv);
    r = moss_reader_new(sv[0], 64);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], "abc", 3, soon()) == 3);
    TEST_ASSERT(moss_reader_line(r, &line, moss_now() + 30) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_write(sv[1], "def\n", 4, soon()) == 4);
    expect_line(r, "abcdef\n");
    moss_reader_free(r);
    close_pair(sv);
}

static void case_reader_line_too_long(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;
    char buf[16];
    const char *text = "0123456\n0123456789\nok\n";

    TEST_ASSERT(moss_reader_new(0, 0) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_reader_new(0, ((size_t)64 << 20) + 1) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_reader_new(0, SIZE_MAX) == NULL && errno == EINVAL);
    make_pair(sv);
    r = moss_reader_new(sv[0], 8);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], text, strlen(text), soon()) == (ptrdiff_t)strlen(text));
    expect_line(r, "0123456\n"); /* exactly the capacity: fits */
    TEST_ASSERT(moss_reader_line(r, &line, soon()) == -1 && errno == EMSGSIZE);
    TEST_ASSERT(moss_reader_line(r, &line, soon()) == -1 && errno == EMSGSIZE);
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), soon()) == 8); /* drains it */
    TEST_ASSERT(memcmp(buf, "01234567", 8) == 0);
    expect_line(r, "89\n");
    expect_line(r, "ok\n");
    moss_reader_free(r);
    close_pair(sv);
}

static void case_reader_read_mixes_with_lines(void)
{
    int sv[2];
    moss_reader_t *r;
    const char *line;
    char buf[128];
    static char bulk[100];

    make_pair(sv);
    r = moss_reader_new(sv[0], 16);
    TEST_ASSERT(r != NULL);
    TEST_ASSERT(moss_write(sv[1], "line1\nRAW line2\n", 16, soon()) == 16);
    expect_line(r, "line1\n");
    TEST_ASSERT(moss_reader_read(r, buf, 3, soon()) == 3 && memcmp(buf, "RAW", 3) == 0);
    expect_line(r, " line2\n");
    memset(bulk, 'b', sizeof(bulk));
    TEST_ASSERT(moss_write(sv[1], bulk, sizeof(bulk), soon()) == (ptrdiff_t)sizeof(bulk));
    /* empty buffer, large read: straight from the fd */
    TEST_ASSERT(moss_reader_read(r, buf, 64, soon()) == 64);
    TEST_ASSERT(moss_reader_read(r, buf, 5, soon()) == 5); /* through the buffer */
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), soon()) == 11); /* what it held */
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), soon()) == 20); /* the rest */
    TEST_ASSERT(buf[0] == 'b' && buf[19] == 'b');
    TEST_ASSERT(shutdown(sv[1], SHUT_WR) == 0);
    TEST_ASSERT(moss_reader_read(r, buf, sizeof(buf), soon()) == 0);
    TEST_ASSERT(moss_reader_line(r, &line, soon()) == 0);
    moss_reader_free(r);
    close_pair(sv);
}

/* ---- EPIPE, never SIGPIPE ----------------------------------------------- */

static void case_write_to_closed_peer_gives_epipe(void)
{
    int sv[2], p[2], file;
    sigset_t pending;
    int64_t offset = 0;

    TEST_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR); /* a SIGPIPE would kill us */
    make_pair(sv);
    TEST_ASSERT(close(sv[1]) == 0);
    TEST_ASSERT(moss_write(sv[0], "x", 1, soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(moss_send(sv[0], "x", 1, 0, soon()) == -1 && errno == EPIPE);
    file = temp_file_with_pattern((const unsigned char *)"data", 4);
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, 4, soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    TEST_ASSERT(close(p[0]) == 0);
    TEST_ASSERT(moss_write(p[1], "x", 1, soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(sigpending(&pending) == 0 && !sigismember(&pending, SIGPIPE));
    TEST_ASSERT(close(file) == 0 && close(p[1]) == 0 && moss_close(sv[0]) == 0);
}

/* ---- fairness and scale ------------------------------------------------ */

/* A flood of FLOOD greenlets (tests/runtime/flood.c) keeps the run queue
 * growing. */
#define FLOOD 20000

static unsigned flood_at_read;

static void *read_during_flood_run(void *arg)
{
    struct outcome *o = arg;
    char c;

    o->ret = moss_read(o->fd, &c, 1, soon());
    flood_at_read = flood_count();
    return NULL;
}

static void case_io_not_starved_by_spawn_flood(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *reader;

    make_pair(sv);
    o.fd = sv[0];
    reader = moss_spawn(read_during_flood_run, &o);
    TEST_ASSERT(moss_sleep(5) == 0); /* the reader is parked in moss_read */
    TEST_ASSERT(write(sv[1], "!", 1) == 1); /* readable: only a poll can tell it */
    flood_start(FLOOD);
    TEST_ASSERT(moss_join(reader, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.ret == 1);
    wait_all_finished();
    TEST_ASSERT(flood_count() == FLOOD);
    TEST_ASSERT(flood_at_read < FLOOD); /* the read completed mid-flood */
    close_pair(sv);
}

#define CLIENTS 500
#define MESSAGE_LEN 12

static struct sockaddr_in echo_addr;
static unsigned echo_ok;

static void *echo_handler_run(void *arg)
{
    int conn = (int)(intptr_t)arg;
    char buf[MESSAGE_LEN];

    recv_exact(conn, buf, MESSAGE_LEN);
    TEST_ASSERT(moss_write(conn, buf, MESSAGE_LEN, soon()) == MESSAGE_LEN);
    TEST_ASSERT(moss_close(conn) == 0);
    return NULL;
}

static void *echo_server_run(void *arg)
{
    int l = (int)(intptr_t)arg;

    for (int i = 0; i < CLIENTS; i++) {
        int conn = moss_accept(l, NULL, NULL, soon());

        TEST_ASSERT(conn != -1);
        TEST_ASSERT(moss_detach(moss_spawn(echo_handler_run, (void *)(intptr_t)conn)) == 0);
    }
    return NULL;
}

static void *echo_client_run(void *arg)
{
    char msg[MESSAGE_LEN + 1], back[MESSAGE_LEN];
    int err = 0, fd = connect_loopback(&echo_addr, soon(), &err);

    TEST_ASSERT(fd != -1);
    snprintf(msg, sizeof(msg), "client %04u\n", (unsigned)(uintptr_t)arg);
    TEST_ASSERT(moss_write(fd, msg, MESSAGE_LEN, soon()) == MESSAGE_LEN);
    recv_exact(fd, back, MESSAGE_LEN);
    TEST_ASSERT(memcmp(msg, back, MESSAGE_LEN) == 0);
    TEST_ASSERT(moss_close(fd) == 0);
    echo_ok++;
    return NULL;
}

static void case_many_concurrent_connections(void)
{
    static moss_greenlet_t *client[CLIENTS];
    int l = listen_loopback(CLIENTS, &echo_addr);
    moss_greenlet_t *server = moss_spawn(echo_server_run, (void *)(intptr_t)l);

    for (unsigned i = 0; i < CLIENTS; i++)
        TEST_ASSERT((client[i] = moss_spawn(echo_client_run, (void *)(uintptr_t)i)) != NULL);
    for (unsigned i = 0; i < CLIENTS; i++)
        TEST_ASSERT(moss_join(client[i], MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(server, soon(), NULL) == 0);
    wait_all_finished();
    TEST_ASSERT(echo_ok == CLIENTS);
    TEST_ASSERT(moss_close(l) == 0);
}

const struct moss_test_case moss_test_io_cases[] = {
    {"read_write_between_greenlets", case_read_write_between_greenlets},
    {"large_write_waits_for_reader", case_large_write_waits_for_reader},
    {"read_deadline", case_read_deadline},
    {"read_scoped_deadline", case_read_scoped_deadline},
    {"kill_blocked_in_read", case_kill_blocked_in_read},
    {"kill_blocked_in_write", case_kill_blocked_in_write},
    {"kill_blocked_in_accept", case_kill_blocked_in_accept},
    {"kill_blocked_in_connect", case_kill_blocked_in_connect},
    {"killed_greenlet_io_fails_when_ready", case_killed_greenlet_io_fails_when_ready},
    {"connect_deadline_and_refused", case_connect_deadline_and_refused},
    {"second_reader_gets_ebusy", case_second_reader_gets_ebusy},
    {"close_wakes_waiters_with_ebadf", case_close_wakes_waiters_with_ebadf},
    {"wait_fd_events_and_limits", case_wait_fd_events_and_limits},
    {"accept_connect_loopback", case_accept_connect_loopback},
    {"sendfile_temp_file", case_sendfile_temp_file},
    {"reader_lines_across_reads", case_reader_lines_across_reads},
    {"reader_deadline_keeps_partial_line", case_reader_deadline_keeps_partial_line},
    {"reader_line_too_long", case_reader_line_too_long},
    {"reader_read_mixes_with_lines", case_reader_read_mixes_with_lines},
    {"write_to_closed_peer_gives_epipe", case_write_to_closed_peer_gives_epipe},
    {"io_not_starved_by_spawn_flood", case_io_not_starved_by_spawn_flood},
    {"many_concurrent_connections", case_many_concurrent_connections},
    {NULL, NULL},
};
