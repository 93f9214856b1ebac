/* sd_notify, written by hand so that moss needs no libsystemd: one datagram
 * on a fresh AF_UNIX socket to $NOTIFY_SOCKET. The variable is left set:
 * the master notifies for its whole life (READY, RELOADING, STOPPING,
 * WATCHDOG), and an upgraded master that systemd accepts as MAINPID needs
 * it too. */
#include "os.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The address named by $NOTIFY_SOCKET: "/path", or "@name" for the
 * abstract namespace, whose name is the bytes after a leading NUL and whose
 * length therefore counts no terminating NUL. Anything else (vsock:, a
 * relative path) is EAFNOSUPPORT or EINVAL. */
static int notify_address(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
    size_t name_len = strlen(name);

    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (name[0] != '/' && name[0] != '@') {
        errno = strchr(name, ':') != NULL ? EAFNOSUPPORT : EINVAL;
        return -1;
    }
    if (name_len < 2 || name_len > sizeof(addr->sun_path) ||
        (name[0] == '/' && name_len == sizeof(addr->sun_path))) {
        errno = EINVAL;
        return -1;
    }
    memcpy(addr->sun_path, name, name_len);
    if (name[0] == '@') {
        addr->sun_path[0] = '\0';
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len);
    } else {
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name_len + 1);
    }
    return 0;
}

int moss__notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un addr;
    socklen_t addr_len;
    size_t state_len;
    ssize_t sent;
    int fd, err;

    if (name == NULL || name[0] == '\0')
        return 0;
    if (state == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (notify_address(name, &addr, &addr_len) == -1)
        return -1;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    state_len = strlen(state);
    do {
        sent = sendto(fd, state, state_len, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len);
    } while (sent == -1 && errno == EINTR);
    err = errno;
    close(fd);
    if (sent == -1) {
        errno = err;
        return -1;
    }
    return 0;
}

/* systemd compares MONOTONIC_USEC with its own CLOCK_MONOTONIC reading to
 * order the reload against the notifications that follow it. */
int moss__notify_reloading(const char *status)
{
    struct timespec now;
    unsigned long long usec;
    char *state = NULL;
    int rc, err;

    if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
        return -1;
    usec = (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000ULL;
    if (status != NULL)
        rc = asprintf(&state, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=%s", usec, status);
    else
        rc = asprintf(&state, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
    if (rc == -1) {
        errno = ENOMEM;
        return -1;
    }
    rc = moss__notify(state);
    err = errno;
    free(state);
    errno = err;
    return rc;
}

/* A positive decimal number with nothing around it, or 0. */
static uint64_t notify_parse_decimal(const char *text)
{
    uint64_t value = 0;

    if (text == NULL || text[0] == '\0')
        return 0;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || value > (UINT64_MAX - 9) / 10)
            return 0;
        value = value * 10 + (uint64_t)(*p - '0');
    }
    return value;
}

/* Like sd_watchdog_enabled: $WATCHDOG_PID, when set, must name this process
 * (the watchdog settings otherwise belong to a parent that exec'd us). */
uint64_t moss__notify_watchdog_usec(void)
{
    const char *pid_text = getenv("WATCHDOG_PID");

    if (pid_text != NULL && pid_text[0] != '\0' &&
        notify_parse_decimal(pid_text) != (uint64_t)getpid())
        return 0;
    return notify_parse_decimal(getenv("WATCHDOG_USEC"));
}
