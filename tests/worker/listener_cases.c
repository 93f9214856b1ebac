/* Listeners: binding TCP (IPv4, IPv6) and unix sockets, and the errors a
 * bind address can give. */
#include "stream_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- listeners ------------------------------------------------------------------ */

static int fd_flags_ok(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static int sockopt_on(int fd, int level, int name)
{
    int on = 0;
    socklen_t len = sizeof(on);

    return getsockopt(fd, level, name, &on, &len) == 0 && on != 0;
}

void stream_case_listener_bind_inet(void)
{
    struct moss__listener l4, l6;
    char error[256] = "", address[MOSS__ADDRESS_MAX];
    unsigned port = 0;

    TEST_ASSERT(moss__listener_bind("127.0.0.1:0", 16, &l4, error, sizeof(error)) == 0);
    TEST_ASSERT(sscanf(l4.address, "127.0.0.1:%u", &port) == 1 && port != 0);
    TEST_ASSERT(fd_flags_ok(l4.fd) && sockopt_on(l4.fd, SOL_SOCKET, SO_REUSEADDR));
    TEST_ASSERT(sockopt_on(l4.fd, SOL_SOCKET, SO_ACCEPTCONN) && l4.proxy_protocol == 0);
    close(stream_client_connect(l4.address));
    TEST_ASSERT(moss__listener_bind("[::1]:0", 16, &l6, error, sizeof(error)) == 0);
    TEST_ASSERT(sscanf(l6.address, "[::1]:%u", &port) == 1 && port != 0);
    TEST_ASSERT(fd_flags_ok(l6.fd) && sockopt_on(l6.fd, IPPROTO_IPV6, IPV6_V6ONLY));
    close(stream_client_connect(l6.address));
    /* the port in use: the message names the syscall and the address */
    snprintf(address, sizeof(address), "%s", l4.address);
    TEST_ASSERT(moss__listener_bind(address, 16, &l6, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRINUSE);
    TEST_ASSERT(strstr(error, "bind(") == error && strstr(error, address) != NULL);
    TEST_ASSERT(strstr(error, "): Address already in use") != NULL);
    moss__listener_close(&l4);
    moss__listener_close(&l6);
    TEST_ASSERT(l4.fd == -1);
}

void stream_case_listener_bind_unix(void)
{
    struct moss__listener a, b;
    char dir[64], address[128], error[256], path[96];
    struct stat st;
    int fd;

    stream_temp_dir(dir, sizeof(dir));
    snprintf(address, sizeof(address), "unix:%s/sock", dir);
    TEST_ASSERT(moss__listener_bind(address, 16, &a, error, sizeof(error)) == 0);
    TEST_ASSERT(strcmp(a.address, address) == 0 && fd_flags_ok(a.fd));
    TEST_ASSERT(stat(address + 5, &st) == 0 && S_ISSOCK(st.st_mode));
    TEST_ASSERT((st.st_mode & 0777) == 0660);
    close(stream_client_connect(address));
    /* a live server's socket is not taken over */
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRINUSE && strstr(error, address) != NULL);
    /* a stale one (its server gone, the file left) is */
    moss__listener_close(&a);
    TEST_ASSERT(stat(address + 5, &st) == 0);
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == 0);
    close(stream_client_connect(address));
    moss__listener_close(&b);
    unlink(address + 5);
    /* a file of another kind is never removed */
    snprintf(path, sizeof(path), "%s/file", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    TEST_ASSERT(fd != -1);
    close(fd);
    snprintf(address, sizeof(address), "unix:%s", path);
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EEXIST && strstr(error, address) != NULL);
    TEST_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode));
    unlink(path);
    rmdir(dir);
}

void stream_case_listener_bind_errors(void)
{
    static const char *bad[] = {
        "", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:8a",
        "127.0.0.1:-1", "localhost:80", "::1:80", "[::1]80", "[::1", "[]:80",
        "[127.0.0.1]:80", "[::1]:", "1.2.3:80", "unix:",
    };
    struct moss__listener l;
    char error[256], long_path[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char quoted[64];

        error[0] = '\0';
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        TEST_ASSERT(moss__listener_bind(bad[i], 16, &l, error, sizeof(error)) == -1);
        TEST_ASSERT(errno == EINVAL);
        if (strstr(error, quoted) == NULL || strstr(error, "expected") == NULL)
            fprintf(stderr, "%s: %s\n", bad[i], error);
        TEST_ASSERT(strstr(error, quoted) != NULL && strstr(error, "expected") != NULL);
    }
    memset(long_path, 'x', sizeof(long_path) - 1);
    memcpy(long_path, "unix:/", 6);
    long_path[sizeof(long_path) - 1] = '\0';
    TEST_ASSERT(moss__listener_bind(long_path, 16, &l, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EINVAL && strstr(error, "too long") != NULL);
    /* a host that is not ours: the kernel's error, named */
    TEST_ASSERT(moss__listener_bind("192.0.2.1:0", 16, &l, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRNOTAVAIL);
    TEST_ASSERT(strcmp(error, "bind(192.0.2.1:0): Cannot assign requested address") == 0);
}
