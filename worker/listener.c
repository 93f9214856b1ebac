/* Listening sockets, from the text forms of the bind setting. Binding is
 * kept apart from serving: under a master, the master binds and the workers
 * inherit the fds. Numeric hosts only, so binding never waits on DNS. */
#include "listener.h"
#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIX_PREFIX "unix:"
#define UNIX_PREFIX_LEN (sizeof(UNIX_PREFIX) - 1)
#define UNIX_MODE 0660          /* moss__listener_bind's */

union listener_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    struct sockaddr_un un;
    struct sockaddr_storage storage;
};

static int listener_invalid(char *error, size_t error_len, const char *address,
                            const char *why)
{
    return moss__fail(error, error_len, EINVAL,
                         "invalid address '%s': %s (expected IPv4:port, [IPv6]:port "
                         "or unix:/path)", address, why);
}

/* 1 to 5 decimal digits, at most 65535. */
static int listener_parse_port(const char *text, uint16_t *port)
{
    size_t len = strlen(text);
    unsigned long value;

    if (len == 0 || len > 5 || strspn(text, "0123456789") != len)
        return -1;
    value = strtoul(text, NULL, 10);
    if (value > 65535)
        return -1;
    *port = (uint16_t)value;
    return 0;
}

/* Splits "host:port" or "[host]:port" into a NUL-terminated host copy and
 * the port text; *bracketed says which form it was. */
static int listener_split(const char *address, char *host, size_t host_cap,
                          const char **port, int *bracketed)
{
    const char *end;
    size_t len;

    *bracketed = address[0] == '[';
    if (*bracketed) {
        end = strchr(address, ']');
        if (end == NULL || end[1] != ':')
            return -1;
        address++;
    } else {
        end = strrchr(address, ':');
        if (end == NULL)
            return -1;
    }
    len = (size_t)(end - address);
    if (len == 0 || len >= host_cap)
        return -1;
    memcpy(host, address, len);
    host[len] = '\0';
    *port = end + (*bracketed ? 2 : 1);
    return 0;
}

static int listener_parse_inet(const char *address, union listener_addr *addr,
                               socklen_t *len, char *error, size_t error_len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_text;
    uint16_t port;
    int bracketed;

    if (listener_split(address, host, sizeof(host), &port_text, &bracketed) == -1)
        return listener_invalid(error, error_len, address, "no host:port");
    if (listener_parse_port(port_text, &port) == -1)
        return listener_invalid(error, error_len, address, "bad port");
    memset(addr, 0, sizeof(*addr));
    if (bracketed && inet_pton(AF_INET6, host, &addr->in6.sin6_addr) == 1) {
        addr->in6.sin6_family = AF_INET6;
        addr->in6.sin6_port = htons(port);
        *len = sizeof(addr->in6);
        return 0;
    }
    if (!bracketed && inet_pton(AF_INET, host, &addr->in.sin_addr) == 1) {
        addr->in.sin_family = AF_INET;
        addr->in.sin_port = htons(port);
        *len = sizeof(addr->in);
        return 0;
    }
    return listener_invalid(error, error_len, address,
                            strchr(host, ':') != NULL && !bracketed
                                ? "IPv6 hosts go in brackets" : "not a numeric IP host");
}

static int listener_parse_unix(const char *address, union listener_addr *addr,
                               socklen_t *len, char *error, size_t error_len)
{
    const char *path = address + UNIX_PREFIX_LEN;
    size_t path_len = strlen(path);

    if (path_len == 0)
        return listener_invalid(error, error_len, address, "empty unix path");
    memset(addr, 0, sizeof(*addr));
    if (path_len >= sizeof(addr->un.sun_path))
        return listener_invalid(error, error_len, address, "unix path too long");
    addr->un.sun_family = AF_UNIX;
    memcpy(addr->un.sun_path, path, path_len + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + 1);
    return 0;
}

static int listener_parse(const char *address, union listener_addr *addr, socklen_t *len,
                          char *error, size_t error_len)
{
    if (strncmp(address, UNIX_PREFIX, UNIX_PREFIX_LEN) == 0)
        return listener_parse_unix(address, addr, len, error, error_len);
    return listener_parse_inet(address, addr, len, error, error_len);
}

/* Whether a server accepts on the unix socket at addr: a non-blocking
 * connect succeeds, or finds the backlog full (EAGAIN). A stale file left by
 * a dead server refuses (ECONNREFUSED). */
static int listener_unix_live(const union listener_addr *addr, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int live;

    if (fd == -1)
        return 0;
    live = connect(fd, &addr->sa, len) == 0 || errno == EAGAIN;
    close(fd);
    return live;
}

/* Removes a stale socket file at the unix path, and only that. */
static int listener_unix_clear(const union listener_addr *addr, socklen_t len,
                               const char *address, char *error, size_t error_len)
{
    struct stat st;

    if (lstat(addr->un.sun_path, &st) == -1)
        return errno == ENOENT ? 0 : moss__syscall_fail(error, error_len, "stat", address);
    if (!S_ISSOCK(st.st_mode))
        return moss__fail(error, error_len, EEXIST,
                             "bind(%s): a file that is not a socket is in the way", address);
    if (listener_unix_live(addr, len))
        return moss__fail(error, error_len, EADDRINUSE,
                             "bind(%s): %s (a server accepts there)", address,
                             strerror(EADDRINUSE));
    if (unlink(addr->un.sun_path) == -1 && errno != ENOENT)
        return moss__syscall_fail(error, error_len, "unlink", address);
    return 0;
}

/* Socket options, or for a unix socket the clearing of its path. */
static int listener_prepare(int fd, const union listener_addr *addr, socklen_t len,
                            const struct moss__bind_opts *opts, const char *address,
                            char *error, size_t error_len)
{
    int on = 1;

    if (addr->sa.sa_family == AF_UNIX)
        return listener_unix_clear(addr, len, address, error, error_len);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
        return moss__syscall_fail(error, error_len, "setsockopt(SO_REUSEADDR)", address);
    if (opts->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
        return moss__syscall_fail(error, error_len, "setsockopt(SO_REUSEPORT)", address);
    if (addr->sa.sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
        return moss__syscall_fail(error, error_len, "setsockopt(IPV6_V6ONLY)", address);
    return 0;
}

/* bind, the unix mode (before listen: nobody can connect until then), listen. */
static int listener_bind_listen(int fd, const union listener_addr *addr, socklen_t len,
                                const struct moss__bind_opts *opts, const char *address,
                                char *error, size_t error_len)
{
    if (bind(fd, &addr->sa, len) == -1)
        return moss__syscall_fail(error, error_len, "bind", address);
    if (addr->sa.sa_family == AF_UNIX &&
        chmod(addr->un.sun_path, (mode_t)opts->unix_mode) == -1)
        return moss__syscall_fail(error, error_len, "chmod", address);
    if (listen(fd, opts->backlog) == -1)
        return moss__syscall_fail(error, error_len, "listen", address);
    return 0;
}

void moss__address_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    const union listener_addr *addr = (const union listener_addr *)(const void *)sa;
    char host[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &addr->in.sin_addr, host, sizeof(host));
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(addr->in.sin_port));
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &addr->in6.sin6_addr, host, sizeof(host));
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(addr->in6.sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        size_t path_len = len > offsetof(struct sockaddr_un, sun_path)
                              ? strnlen(addr->un.sun_path,
                                        len - offsetof(struct sockaddr_un, sun_path))
                              : 0;

        snprintf(out, cap, UNIX_PREFIX "%.*s", (int)path_len, addr->un.sun_path);
    } else {
        snprintf(out, cap, "unknown");
    }
}

/* The address as bound: the kernel's port for port 0, the canonical host. */
static void listener_name(int fd, const union listener_addr *addr, socklen_t len,
                          char *out, size_t cap)
{
    union listener_addr bound;
    socklen_t bound_len = sizeof(bound);

    if (addr->sa.sa_family == AF_UNIX || getsockname(fd, &bound.sa, &bound_len) == -1)
        moss__address_format(&addr->sa, len, out, cap);
    else
        moss__address_format(&bound.sa, bound_len, out, cap);
}

int moss__listener_bind(const char *address, int backlog, struct moss__listener *out,
                        char *error, size_t error_len)
{
    struct moss__bind_opts opts = {.backlog = backlog, .unix_mode = UNIX_MODE};

    return moss__listener_bind_opts(address, &opts, out, error, error_len);
}

int moss__listener_bind_opts(const char *address, const struct moss__bind_opts *opts,
                             struct moss__listener *out, char *error, size_t error_len)
{
    union listener_addr addr;
    socklen_t len = 0;
    int fd, err;

    if (address == NULL || out == NULL)
        return moss__fail(error, error_len, EINVAL, "bind: no address");
    if (listener_parse(address, &addr, &len, error, error_len) == -1)
        return -1;
    fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return moss__syscall_fail(error, error_len, "socket", address);
    if (listener_prepare(fd, &addr, len, opts, address, error, error_len) == -1 ||
        listener_bind_listen(fd, &addr, len, opts, address, error, error_len) == -1)
        goto close_fd;
    out->fd = fd;
    out->proxy_protocol = 0;
    listener_name(fd, &addr, len, out->address, sizeof(out->address));
    return 0;

close_fd:
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

void moss__listener_close(struct moss__listener *listener)
{
    if (listener == NULL || listener->fd < 0)
        return;
    moss_close(listener->fd);
    listener->fd = -1;
}
