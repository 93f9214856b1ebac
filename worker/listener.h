/* Listening sockets: binding the addresses of the `bind` setting, and
 * formatting socket addresses for logs. */
#ifndef MOSS_WORKER_LISTENER_H
#define MOSS_WORKER_LISTENER_H

#include "worker.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- listeners (listener.c) ---------------------------------------------- */

/* Binds and listens on `address`: "IPv4:port", "[IPv6]:port" (numeric hosts
 * only; port 0 picks a free one) or "unix:/path". The socket is non-blocking
 * and close-on-exec; TCP sockets have SO_REUSEADDR, IPv6 ones IPV6_V6ONLY. A
 * unix path is first cleared of a stale socket file (never of another kind
 * of file, nor of a socket a server still listens on) and made mode 0660.
 * out->address is the address as bound (the real port for port 0);
 * out->proxy_protocol is 0. 0, or -1 with errno (EINVAL for a bad form) and
 * a message naming the syscall and the address in `error`, e.g.
 * "bind(127.0.0.1:8080): Address already in use". */
int moss__listener_bind(const char *address, int backlog, struct moss__listener *out,
                        char *error, size_t error_len);

struct moss__bind_opts {
    int backlog;
    int reuse_port;                /* TCP: SO_REUSEPORT, for one socket per worker slot */
    int unix_mode;                 /* unix: the socket file's mode */
};

/* moss__listener_bind with options: backlog, SO_REUSEPORT, the unix mode. */
int moss__listener_bind_opts(const char *address, const struct moss__bind_opts *opts,
                             struct moss__listener *out, char *error, size_t error_len);

/* Closes the listening socket (waking any greenlet waiting on it). Leaves a
 * unix socket's file: only its creator may remove it. */
void moss__listener_close(struct moss__listener *listener);

/* Formats a socket address as "ip:port", "[ip6]:port" or "unix:path" into
 * out (always NUL-terminated). */
void moss__address_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap);

#endif
