/* Sockets over 127.0.0.1: accept and connect between greenlets. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static int is_nonblocking_cloexec(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* ---- sockets over loopback ------------------------------------------------ */

static void *serve_one_run(void *arg)
{
    struct outcome *o = arg;
    struct sockaddr_in peer;
    unsigned len = sizeof(peer);
    char buf[8];
    int conn = moss_accept(o->fd, (struct sockaddr *)&peer, &len, io_soon());

    TEST_ASSERT(conn != -1);
    TEST_ASSERT(is_nonblocking_cloexec(conn));
    TEST_ASSERT(len == sizeof(peer) && peer.sin_family == AF_INET);
    TEST_ASSERT(peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
    io_recv_exact(conn, buf, 5);
    TEST_ASSERT(memcmp(buf, "hello", 5) == 0);
    TEST_ASSERT(moss_send(conn, "world", 5, 0, io_soon()) == 5);
    o->ret = moss_close(conn);
    o->done = 1;
    return NULL;
}

void io_case_accept_connect_loopback(void)
{
    struct sockaddr_in addr;
    struct outcome server = {0};
    moss_greenlet_t *g;
    char buf[8];
    int fd, err = 0;

    server.fd = io_listen_loopback(8, &addr);
    TEST_ASSERT(is_nonblocking_cloexec(server.fd));
    g = moss_spawn(serve_one_run, &server);
    fd = io_connect_loopback(&addr, io_soon(), &err);
    TEST_ASSERT(fd != -1);
    TEST_ASSERT(moss_write(fd, "hello", 5, io_soon()) == 5);
    TEST_ASSERT(moss_read(fd, buf, 5, io_soon()) == 5 && memcmp(buf, "world", 5) == 0);
    TEST_ASSERT(moss_read(fd, buf, sizeof(buf), io_soon()) == 0); /* the server closed */
    TEST_ASSERT(moss_join(g, io_soon(), NULL) == 0);
    TEST_ASSERT(server.done && server.ret == 0);
    TEST_ASSERT(moss_close(fd) == 0 && moss_close(server.fd) == 0);
}
