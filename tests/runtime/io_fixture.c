/* What the I/O cases (tests/runtime/io_*_cases.c) share: socketpairs,
 * loopback listeners and connects, and greenlets that block in a read or a
 * write. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

int64_t io_soon(void)
{
    return moss_now() + LONG_WAIT;
}

void io_make_pair(int sv[2])
{
    TEST_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
}

void io_close_pair(const int sv[2])
{
    TEST_ASSERT(moss_close(sv[0]) == 0);
    TEST_ASSERT(moss_close(sv[1]) == 0);
}

/* Fills fd's send buffer (nobody reads the peer) until it would block. */
void io_fill(int fd)
{
    static char chunk[65536];
    int i;

    for (i = 0; i < 10000; i++)
        if (send(fd, chunk, sizeof(chunk), MSG_DONTWAIT) == -1)
            break;
    TEST_ASSERT(i < 10000 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

/* A listening TCP socket on 127.0.0.1, on an ephemeral port, and its address. */
int io_listen_loopback(int backlog, struct sockaddr_in *addr)
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
int io_connect_loopback(const struct sockaddr_in *addr, int64_t deadline, int *err)
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
void io_recv_exact(int fd, char *buf, size_t len)
{
    size_t got = 0;

    for (int i = 0; got < len && i < 1000; i++) {
        ptrdiff_t n = moss_recv(fd, buf + got, len - got, 0, io_soon());

        TEST_ASSERT(n > 0);
        got += (size_t)n;
    }
    TEST_ASSERT(got == len);
}

void *io_read_one_run(void *arg)
{
    struct outcome *o = arg;
    char buf[16];

    o->ret = moss_read(o->fd, buf, sizeof(buf), MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}

void *io_write_some_run(void *arg)
{
    struct outcome *o = arg;
    static char chunk[4096];

    o->ret = moss_write(o->fd, chunk, sizeof(chunk), MOSS_FOREVER);
    o->err = errno;
    o->done = 1;
    return NULL;
}
