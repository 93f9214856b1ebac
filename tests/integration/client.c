#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#define CLIENT_WAIT_S 5

void test_client_timeouts(int fd)
{
    struct timeval timeout = {.tv_sec = CLIENT_WAIT_S};

    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) == 0);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) == 0);
}

int test_client_connect(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    test_client_timeouts(fd);
    TEST_ASSERT(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    return fd;
}

void send_all(int fd, const void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        TEST_ASSERT(n > 0);
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
}

void recv_exactly(int fd, void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);

        TEST_ASSERT(n > 0); /* 0: closed early; -1: the timeout ran out */
        buf = (char *)buf + n;
        len -= (size_t)n;
    }
}
