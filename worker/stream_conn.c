/* A connection's life in the stream server: accepted, served by a greenlet
 * of its own, parked while it waits for a request, closed.
 *
 * Parking. When serve says so (MOSS__SERVE_PARK: waiting, nothing
 * buffered), the greenlet gives its read buffer back and ends; the
 * connection keeps only its entry and one io watcher, so an idle connection
 * costs a few hundred bytes instead of a stack and a buffer. Readable
 * again, it gets a buffer and a new greenlet, which runs serve with
 * entry.resumed set. At entry.park_deadline it is closed, or serve runs
 * again to answer (entry.park_wake_at_deadline). The watcher lives in the
 * connection's own heap block and is stopped before the block is freed or
 * the fd closed; the deadlines share one timer of the server's.
 *
 * Ownership. The entry is allocated and linked at accept. It is unlinked
 * and freed by its greenlet when serve says close, or by the hub (a
 * watcher's callback, the drain) while no greenlet runs it: so every
 * greenlet named on w->conns is alive. */
#include "stream.h"

#include "../runtime/hub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void stream_conn_link(struct moss__worker *w, struct moss__conn_entry *entry)
{
    entry->prev = NULL;
    entry->next = w->conns;
    if (w->conns != NULL)
        w->conns->prev = entry;
    w->conns = entry;
}

static void stream_conn_unlink(struct moss__worker *w, struct moss__conn_entry *entry)
{
    if (entry->prev != NULL)
        entry->prev->next = entry->next;
    else
        w->conns = entry->next;
    if (entry->next != NULL)
        entry->next->prev = entry->prev;
}

/* ---- the deadline list ---------------------------------------------------------- */

static int stream_deadline_listed(const struct moss__stream_conn *sc)
{
    return sc->parked_prev != NULL || sc->server->parked_head == sc;
}

/* Inserts sc by its deadline: from the tail, where a park with the worker's
 * one keepalive_timeout always lands. */
static void stream_deadline_insert(struct moss__stream_server *s, struct moss__stream_conn *sc)
{
    struct moss__stream_conn *after = s->parked_tail;

    while (after != NULL && after->entry.park_deadline > sc->entry.park_deadline)
        after = after->parked_prev;
    sc->parked_prev = after;
    sc->parked_next = after != NULL ? after->parked_next : s->parked_head;
    if (sc->parked_next != NULL)
        sc->parked_next->parked_prev = sc;
    else
        s->parked_tail = sc;
    if (after != NULL)
        after->parked_next = sc;
    else
        s->parked_head = sc;
}

static void stream_deadline_remove(struct moss__stream_server *s, struct moss__stream_conn *sc)
{
    if (sc->parked_prev != NULL)
        sc->parked_prev->parked_next = sc->parked_next;
    else
        s->parked_head = sc->parked_next;
    if (sc->parked_next != NULL)
        sc->parked_next->parked_prev = sc->parked_prev;
    else
        s->parked_tail = sc->parked_prev;
    sc->parked_prev = sc->parked_next = NULL;
}

/* Sets the timer for the soonest deadline, if it is not set already: a
 * timer that fires early (its connection woke) only re-arms. */
static void stream_deadline_arm(struct moss__stream_server *s)
{
    struct ev_loop *loop = moss__hub_get()->loop;
    int64_t left;

    if (s->parked_head == NULL || ev_is_active(&s->park_timer))
        return;
    left = s->parked_head->entry.park_deadline - moss_now();
    ev_timer_set(&s->park_timer, left > 0 ? (double)left / 1000.0 : 0.0, 0.0);
    ev_timer_start(loop, &s->park_timer);
}

static void stream_park_stop(struct moss__stream_conn *sc)
{
    if (!sc->parked)
        return;
    ev_io_stop(moss__hub_get()->loop, &sc->park_io);
    if (stream_deadline_listed(sc))
        stream_deadline_remove(sc->server, sc);
    sc->parked = 0;
}

void moss__stream_conn_close(struct moss__stream_conn *sc)
{
    struct moss__stream_server *s = sc->server;
    struct moss__worker *w = s->w;

    stream_park_stop(sc);
    moss_close(sc->entry.conn.fd);
    stream_conn_unlink(w, &sc->entry);
    moss__counter_sub(&w->counters->connections_active, 1);
    moss__free_list_give(&s->buffers, sc->entry.conn.buf);
    free(sc);
    moss_semaphore_release(s->slots);
    if (w->conns == NULL)
        moss_event_set(s->empty);
}

/* A buffer for conn, kept or new: 0, or -1 with errno (ENOMEM). */
static int stream_buffer_take(struct moss__stream_server *s, struct moss__conn *conn)
{
    conn->buf = moss__free_list_take(&s->buffers);
    if (conn->buf == NULL)
        conn->buf = malloc(s->buffer_capacity);
    if (conn->buf == NULL)
        return -1;
    conn->capacity = s->buffer_capacity;
    conn->start = conn->end = 0;
    return 0;
}

static void *stream_conn_resumed(void *arg);

/* ---- parking ---------------------------------------------------------------- */

/* From the hub: a parked connection gets a buffer and a greenlet again,
 * which runs serve at once, while the readable bytes are fresh; on failure
 * it is closed. sc may be gone when this returns. */
static void stream_resume(struct moss__stream_conn *sc, int expired)
{
    moss_greenlet_opts_t opts = {.name = "conn"};

    stream_park_stop(sc);
    if (stream_buffer_take(sc->server, &sc->entry.conn) == -1)
        goto fail;
    sc->entry.idle = 0;
    sc->entry.resumed = 1;
    sc->entry.park_expired = expired;
    if (moss__spawn_detached_now(stream_conn_resumed, sc, &opts) == 0)
        return;

fail:
    moss__worker_log(sc->server->w, "connection from %s: resuming it: %s; closed",
                     sc->entry.conn.client, strerror(errno));
    moss__stream_conn_close(sc);
}

static void stream_park_readable(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop, (void)revents;
    stream_resume(io->data, 0);
}

/* Closes the parked connections whose deadline passed, then waits for the
 * next one's. */
static void stream_park_expired(struct ev_loop *loop, ev_timer *timer, int revents)
{
    struct moss__stream_server *s = timer->data;
    int64_t now = moss_now();

    (void)loop, (void)revents;
    while (s->parked_head != NULL && s->parked_head->entry.park_deadline <= now) {
        struct moss__stream_conn *sc = s->parked_head;

        if (sc->entry.park_wake_at_deadline)
            stream_resume(sc, 1); /* off the list, or closed */
        else
            moss__stream_conn_close(sc);
    }
    stream_deadline_arm(s);
}

void moss__stream_park_init(struct moss__stream_server *s)
{
    ev_init(&s->park_timer, stream_park_expired);
    s->park_timer.data = s;
}

void moss__stream_park_fini(struct moss__stream_server *s)
{
    ev_timer_stop(moss__hub_get()->loop, &s->park_timer);
}

/* From the connection's greenlet, which ends right after: 0, or -1 with
 * errno (EPROTO: serve left bytes in the buffer; they would be lost). */
static int stream_park(struct moss__stream_conn *sc)
{
    struct moss__conn_entry *entry = &sc->entry;
    struct ev_loop *loop = moss__hub_get()->loop;

    if (entry->conn.start != entry->conn.end) {
        errno = EPROTO;
        return -1;
    }
    moss__free_list_give(&sc->server->buffers, entry->conn.buf);
    entry->conn.buf = NULL;
    entry->conn.capacity = 0;
    entry->greenlet = NULL;
    entry->park_expired = 0;
    entry->idle = 1;
    entry->idle_since = moss_now();
    ev_io_start(loop, &sc->park_io);
    if (entry->park_deadline != MOSS_FOREVER) {
        stream_deadline_insert(sc->server, sc);
        if (sc->server->parked_head == sc) /* sooner than what the timer waits for */
            ev_timer_stop(loop, &sc->server->park_timer);
        stream_deadline_arm(sc->server);
    }
    sc->parked = 1;
    return 0;
}

/* ---- the connection's greenlet ------------------------------------------------- */

/* Runs serve, then parks the connection or closes it. */
static void stream_conn_serve(struct moss__stream_conn *sc)
{
    struct moss__worker *w = sc->server->w;

    if (w->serve(w, &sc->entry) == MOSS__SERVE_PARK) {
        if (stream_park(sc) == 0)
            return;
        moss__worker_log(w, "connection from %s: parking it: %s; closed",
                         sc->entry.conn.client, strerror(errno));
    }
    moss__stream_conn_close(sc);
}

static void *stream_conn_resumed(void *arg)
{
    struct moss__stream_conn *sc = arg;

    sc->entry.greenlet = moss_greenlet_current();
    stream_conn_serve(sc);
    return NULL;
}

/* A connection's first greenlet. moss__proxy_protocol_read logs its own
 * rejections, so a failure here only ends the connection. */
static void *stream_conn_run(void *arg)
{
    struct moss__stream_conn *sc = arg;
    struct moss__worker *w = sc->server->w;
    struct moss__conn *conn = &sc->entry.conn;
    int64_t timeout = w->config->header_timeout_ms;
    int64_t deadline = timeout > 0 ? moss_now() + timeout : MOSS_FOREVER;

    if (conn->listener->proxy_protocol && moss__proxy_protocol_read(w, conn, deadline) == -1)
        moss__stream_conn_close(sc);
    else
        stream_conn_serve(sc);
    return NULL;
}

int moss__stream_conn_start(struct moss__stream_accepter *a, int fd,
                            const struct sockaddr *peer, socklen_t peer_len)
{
    struct moss__worker *w = a->server->w;
    moss_greenlet_opts_t opts = {.name = "conn"};
    struct moss__stream_conn *sc = calloc(1, sizeof(*sc));

    if (sc == NULL)
        return -1;
    sc->server = a->server;
    sc->entry.conn = (struct moss__conn){.fd = fd, .worker = w, .listener = a->listener};
    if (stream_buffer_take(a->server, &sc->entry.conn) == -1)
        goto free_conn;
    moss__address_format(peer, peer_len, sc->entry.conn.client, sizeof(sc->entry.conn.client));
    /* set once: setting it again would make libev tell epoll each park */
    ev_io_init(&sc->park_io, stream_park_readable, fd, EV_READ);
    sc->park_io.data = sc;
    sc->entry.greenlet = moss_spawn_opts(stream_conn_run, sc, &opts);
    if (sc->entry.greenlet == NULL)
        goto give_buffer;
    moss_detach(sc->entry.greenlet); /* cannot fail: just spawned here */
    stream_conn_link(w, &sc->entry);
    moss__counter_add(&w->counters->connections_active, 1);
    moss__counter_add(&w->counters->connections_total, 1);
    return 0;

give_buffer:
    moss__free_list_give(&a->server->buffers, sc->entry.conn.buf);
free_conn:
    free(sc);
    return -1;
}
