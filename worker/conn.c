/* The connection buffer: bytes read from the fd and not consumed yet, in a
 * buffer whose capacity was fixed at accept time. */
#include "conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

/* Moves the unconsumed bytes to the front, so the free space is at the end
 * and in one piece. */
static void conn_compact(struct moss__conn *conn)
{
    if (conn->start == conn->end) {
        conn->start = conn->end = 0;
        return;
    }
    if (conn->start > 0) {
        memmove(conn->buf, conn->buf + conn->start, conn->end - conn->start);
        conn->end -= conn->start;
        conn->start = 0;
    }
}

ptrdiff_t moss__conn_fill(struct moss__conn *conn, int64_t deadline)
{
    ptrdiff_t n;

    conn_compact(conn);
    if (conn->end >= conn->capacity) {
        errno = ENOBUFS; /* full of bytes nobody consumed: a bound, not a wait */
        return -1;
    }
    n = moss_read(conn->fd, conn->buf + conn->end, conn->capacity - conn->end, deadline);
    if (n > 0)
        conn->end += (size_t)n;
    return n;
}

ptrdiff_t moss__conn_fill_ready(struct moss__conn *conn)
{
    ptrdiff_t n;

    conn_compact(conn);
    if (conn->end >= conn->capacity) {
        errno = ENOBUFS;
        return -1;
    }
    n = recv(conn->fd, conn->buf + conn->end, conn->capacity - conn->end, MSG_DONTWAIT);
    if (n > 0)
        conn->end += (size_t)n;
    return n;
}
