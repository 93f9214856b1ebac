/* The stream server's own parts, shared by stream_server.c (accepting, the
 * connection limit, the drain) and stream_conn.c (a connection's life:
 * its greenlet, parking while idle, the close). */
#ifndef MOSS_WORKER_STREAM_H
#define MOSS_WORKER_STREAM_H

#include "listener.h"

#include <ev.h>
#include <sys/socket.h>

/* Read buffers kept for reuse by a worker: enough for the connections that
 * go from idle to busy at once; more go back to malloc. */
#define MOSS__STREAM_BUFFERS_KEPT 64

struct moss__stream_server;

struct moss__stream_accepter {
    struct moss__stream_server *server;
    const struct moss__listener *listener;
    moss_greenlet_t *greenlet;     /* NULL once stopped */
    int64_t backoff_ms;            /* 0: not backing off */
};

struct moss__stream_server {
    struct moss__worker *w;
    moss_semaphore_t *slots;       /* max_connections units */
    moss_event_t *empty;           /* set when the last connection ends */
    struct moss__free_list buffers; /* of buffer_capacity bytes */
    size_t buffer_capacity;
    /* parked connections with a deadline, soonest first (keepalive_timeout
     * is one figure per worker, so a park appends), and one timer for the
     * soonest: libev's "be smart about timeouts" */
    struct moss__stream_conn *parked_head, *parked_tail;
    ev_timer park_timer;
    struct moss__stream_accepter accepters[MOSS__BIND_MAX];
    size_t accepter_count;
};

/* A connection as allocated here: the shared entry first. While parked it
 * has no greenlet and no buffer: its watcher waits for it, on the heap. */
struct moss__stream_conn {
    struct moss__conn_entry entry;
    struct moss__stream_server *server;
    int parked;
    ev_io park_io;                 /* readable: serve again */
    struct moss__stream_conn *parked_prev, *parked_next; /* on the deadline list */
};

/* The server's part of parking: its timer, set up and torn down with it. */
void moss__stream_park_init(struct moss__stream_server *s);
void moss__stream_park_fini(struct moss__stream_server *s);

/* Sets up an accepted fd's entry and spawns its greenlet; the caller's unit
 * of the semaphore passes to it. 0, or -1 with errno (ENOMEM), fd untouched. */
int moss__stream_conn_start(struct moss__stream_accepter *a, int fd,
                            const struct sockaddr *peer, socklen_t peer_len);

/* Ends a connection: close (stopping its watchers first), unlink, give back
 * its unit, free. From its own greenlet as that ends, or from the hub while
 * no greenlet runs it (parked, or killed before it started). */
void moss__stream_conn_close(struct moss__stream_conn *sc);

#endif
