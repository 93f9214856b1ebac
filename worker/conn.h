/* A connection as the worker's layers share it: the stream server accepts
 * it, the PROXY protocol reader may rewrite its client address, and the
 * HTTP server reads requests out of its buffer. */
#ifndef MOSS_WORKER_CONN_H
#define MOSS_WORKER_CONN_H

#include "moss.h"

#include <stddef.h>
#include <stdint.h>

struct moss__listener;
struct moss__worker;

/* "ip:port", "[ip6]:port" or "unix:/path"; longest form plus NUL. */
#define MOSS__ADDRESS_MAX 128

struct moss__conn {
    int fd;
    struct moss__worker *worker;
    const struct moss__listener *listener;
    char client[MOSS__ADDRESS_MAX];   /* the peer, or what PROXY said */
    /* Bytes read from fd and not consumed yet: buf[start, end). The
     * capacity is fixed at accept time (request line + headers limit), so
     * a connection never holds more than that. */
    char *buf;
    size_t start, end, capacity;
};

/* Reads more bytes into conn's buffer (compacting it first), waiting until
 * deadline. The count read, 0 at end of file, or -1 with errno (ENOBUFS
 * when the buffer is full of unconsumed bytes). */
ptrdiff_t moss__conn_fill(struct moss__conn *conn, int64_t deadline);

/* The same without waiting: what the socket holds now; -1 with EAGAIN if
 * nothing. The socket is a stream socket (recv with MSG_DONTWAIT). */
ptrdiff_t moss__conn_fill_ready(struct moss__conn *conn);

#endif
