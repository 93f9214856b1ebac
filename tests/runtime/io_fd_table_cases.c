/* The fd table's rules: one waiter per direction (EBUSY), moss_close waking
 * waiters with EBADF, and moss_wait_fd's events and limits. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- one waiter per direction; moss_close ------------------------------- */

void io_case_second_reader_gets_ebusy(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *g;
    char buf[4];
    int64_t start;

    io_make_pair(sv);
    o.fd = sv[0];
    g = moss_spawn(io_read_one_run, &o);
    TEST_ASSERT(moss_sleep(10) == 0 && !o.done);
    start = moss_now();
    TEST_ASSERT(moss_read(sv[0], buf, sizeof(buf), io_soon()) == -1 && errno == EBUSY);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, io_soon()) == -1 &&
                errno == EBUSY);
    TEST_ASSERT(moss_now() - start < 1000); /* refused, not waited */
    /* the other direction is free */
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_WRITABLE, io_soon()) == MOSS_WRITABLE);
    TEST_ASSERT(moss_write(sv[1], "hi", 2, io_soon()) == 2);
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    TEST_ASSERT(o.done && o.ret == 2);
    io_close_pair(sv);
}

static void *wait_both_run(void *arg)
{
    struct outcome *o = arg;

    o->ret = moss_wait_fd(o->fd, MOSS_READABLE | MOSS_WRITABLE, MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

void io_case_close_wakes_waiters_with_ebadf(void)
{
    int a[2], b[2];
    struct outcome rd = {0}, wr = {0}, both = {0};
    moss_greenlet_t *g[3];

    io_make_pair(a);
    io_make_pair(b);
    io_fill(a[0]);
    io_fill(b[0]);
    rd.fd = wr.fd = a[0];
    both.fd = b[0];
    g[0] = moss_spawn(io_read_one_run, &rd);
    g[1] = moss_spawn(io_write_some_run, &wr);
    g[2] = moss_spawn(wait_both_run, &both);
    TEST_ASSERT(moss_sleep(20) == 0 && !rd.done && !wr.done && !both.done);
    TEST_ASSERT(moss_close(a[0]) == 0);
    TEST_ASSERT(moss_close(b[0]) == 0);
    for (int i = 0; i < 3; i++)
        TEST_ASSERT(moss_join(g[i], io_soon(), NULL) == 0);
    TEST_ASSERT(rd.ret == -1 && rd.err == EBADF);
    TEST_ASSERT(wr.ret == -1 && wr.err == EBADF);
    TEST_ASSERT(both.ret == -1 && both.err == EBADF);
    TEST_ASSERT(moss_close(a[1]) == 0 && moss_close(b[1]) == 0);
    /* the numbers come back for new fds, with free slots */
    io_make_pair(a);
    TEST_ASSERT(moss_wait_fd(a[0], MOSS_READABLE, moss_now() + 10) == -1 && errno == ETIMEDOUT);
    TEST_ASSERT(moss_wait_fd(a[1], MOSS_READABLE, moss_now() + 10) == -1 && errno == ETIMEDOUT);
    io_close_pair(a);
}

void io_case_wait_fd_events_and_limits(void)
{
    int sv[2];
    struct rlimit rl;
    int high;

    io_make_pair(sv);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, io_soon()) == MOSS_WRITABLE);
    TEST_ASSERT(write(sv[1], "x", 1) == 1);
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE | MOSS_WRITABLE, io_soon()) ==
                (MOSS_READABLE | MOSS_WRITABLE));
    TEST_ASSERT(moss_wait_fd(sv[0], MOSS_READABLE, io_soon()) == MOSS_READABLE);
    TEST_ASSERT(moss_wait_fd(sv[0], 0, io_soon()) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_wait_fd(sv[0], 4, io_soon()) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_wait_fd(-1, MOSS_READABLE, io_soon()) == -1 && errno == EBADF);
    TEST_ASSERT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)INT32_MAX) {
        TEST_ASSERT(moss_wait_fd((int)rl.rlim_cur, MOSS_READABLE, io_soon()) == -1 &&
                    errno == EBADF);
        /* the highest fd there can be: the table grows to hold it */
        high = dup2(sv[0], (int)rl.rlim_cur - 1);
        TEST_ASSERT(high == (int)rl.rlim_cur - 1);
        TEST_ASSERT(moss_wait_fd(high, MOSS_READABLE, io_soon()) == MOSS_READABLE);
        TEST_ASSERT(moss_close(high) == 0);
    }
    io_close_pair(sv);
}
