/* Moving bytes: reads and writes between greenlets, sendfile, and EPIPE
 * without SIGPIPE. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (4u << 20)       /* well beyond a socket buffer */

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

    t->ret = moss_write(t->fd, t->buf, t->len, io_soon());
    t->err = errno;
    return NULL;
}

/* Reads until t->len bytes or end of file; t->ret: bytes read, or -1. */
static void *read_all_run(void *arg)
{
    struct transfer *t = arg;
    size_t got = 0;

    while (got < t->len) {
        ptrdiff_t n = moss_read(t->fd, t->buf + got, t->len - got, io_soon());

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
    ptrdiff_t n = moss_read(o->fd, buf, sizeof(buf), io_soon());

    o->ret = n > 0 ? moss_write(o->fd, buf, (size_t)n, io_soon()) : -1;
    o->done = 1;
    return NULL;
}

void io_case_read_write_between_greenlets(void)
{
    int sv[2];
    struct outcome echo = {0};
    moss_greenlet_t *g;
    char reply[8] = {0};

    io_make_pair(sv);
    echo.fd = sv[1];
    g = moss_spawn(echo_once_run, &echo);
    TEST_ASSERT(moss_write(sv[0], "ping", 4, io_soon()) == 4);
    TEST_ASSERT(moss_read(sv[0], reply, sizeof(reply), io_soon()) == 4);
    TEST_ASSERT(memcmp(reply, "ping", 4) == 0 && echo.ret == 4);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    io_close_pair(sv);
}

/* A write far larger than the socket buffer completes by waiting while the
 * reader drains it. */
void io_case_large_write_waits_for_reader(void)
{
    int sv[2];
    struct transfer out, in;
    moss_greenlet_t *w, *r;

    io_make_pair(sv);
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
    io_close_pair(sv);
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

void io_case_sendfile_temp_file(void)
{
    unsigned char *data = pattern_buffer(FILE_SIZE);
    int file = temp_file_with_pattern(data, FILE_SIZE), sv[2];
    struct transfer in;
    moss_greenlet_t *g;
    int64_t offset = 0;

    io_make_pair(sv);
    in = (struct transfer){.fd = sv[1], .buf = calloc(1, FILE_SIZE + 100), .len = FILE_SIZE + 100};
    TEST_ASSERT(in.buf != NULL);
    g = moss_spawn(read_all_run, &in);
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, FILE_SIZE, io_soon()) == (ptrdiff_t)FILE_SIZE);
    TEST_ASSERT(offset == (int64_t)FILE_SIZE);
    offset = FILE_SIZE - 10; /* asks for 100, the file has 10 left */
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, 100, io_soon()) == 10);
    TEST_ASSERT(offset == (int64_t)FILE_SIZE);
    TEST_ASSERT(shutdown(sv[0], SHUT_WR) == 0);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    TEST_ASSERT(in.ret == (ptrdiff_t)FILE_SIZE + 10);
    TEST_ASSERT(memcmp(in.buf, data, FILE_SIZE) == 0);
    TEST_ASSERT(memcmp(in.buf + FILE_SIZE, data + FILE_SIZE - 10, 10) == 0);
    free(data);
    free(in.buf);
    TEST_ASSERT(close(file) == 0);
    io_close_pair(sv);
}

/* ---- EPIPE, never SIGPIPE ----------------------------------------------- */

void io_case_write_to_closed_peer_gives_epipe(void)
{
    int sv[2], p[2], file;
    sigset_t pending;
    int64_t offset = 0;

    TEST_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR); /* a SIGPIPE would kill us */
    io_make_pair(sv);
    TEST_ASSERT(close(sv[1]) == 0);
    TEST_ASSERT(moss_write(sv[0], "x", 1, io_soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(moss_send(sv[0], "x", 1, 0, io_soon()) == -1 && errno == EPIPE);
    file = temp_file_with_pattern((const unsigned char *)"data", 4);
    TEST_ASSERT(moss_sendfile(sv[0], file, &offset, 4, io_soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    TEST_ASSERT(close(p[0]) == 0);
    TEST_ASSERT(moss_write(p[1], "x", 1, io_soon()) == -1 && errno == EPIPE);
    TEST_ASSERT(sigpending(&pending) == 0 && !sigismember(&pending, SIGPIPE));
    TEST_ASSERT(close(file) == 0 && close(p[1]) == 0 && moss_close(sv[0]) == 0);
}
