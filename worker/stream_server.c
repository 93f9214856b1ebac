/* gevent's StreamServer for one worker: an accept loop greenlet per
 * listener and a greenlet per connection.
 *
 * The connection limit is a semaphore of max_connections units, one held by
 * each connection from accept to close. An accept loop waits for the
 * listener to be readable, then for a unit, and only then accepts (without
 * waiting), so at the limit it sleeps on the semaphore: it neither accepts
 * and drops nor spins, and waiting connections stay in the kernel's backlog
 * (or go to another worker). It holds no unit while it waits for a
 * connection, so one listener's loop cannot starve another's.
 *
 * EMFILE, ENFILE, ENOBUFS and ENOMEM on accept leave the connection in the
 * backlog and the listener readable: the loop backs off (100 ms, doubling to
 * 1 s) instead of retrying at once, and logs once when such an episode
 * starts and once when an accept succeeds again.
 *
 * Connections themselves (their greenlets, parking, the close) are in
 * stream_conn.c. The drain closes a parked connection itself, and one whose
 * greenlet was killed before it ever ran (that greenlet never runs; see
 * moss_pool_kill); it kills the greenlets of the others. */
#include "listener.h"
#include "stream.h"

#include "../runtime/hub.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER_DEFAULT 8192  /* when max_header_size is unset (0) */

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000
#define ACCEPT_BATCH 64      /* accepts per wake-up, before the new connections run */

/* ---- accepting ------------------------------------------------------------- */

/* An accept that succeeded ends a backoff episode. */
static void stream_backoff_end(struct moss__stream_accepter *a)
{
    if (a->backoff_ms == 0)
        return;
    a->backoff_ms = 0;
    moss__worker_log(a->server->w, "accept(%s): accepting again", a->listener->address);
}

/* Out of fds or memory: the connection stays queued and the listener stays
 * readable, so wait before trying again. 0, or -1 if killed meanwhile. */
static int stream_backoff(struct moss__stream_accepter *a, int err)
{
    struct moss__worker *w = a->server->w;

    if (a->backoff_ms == 0) {
        moss__counter_add(&w->counters->accept_backoffs, 1);
        moss__worker_log(w, "accept(%s): %s; backing off", a->listener->address,
                         strerror(err));
        a->backoff_ms = BACKOFF_FIRST_MS;
    } else if (a->backoff_ms < BACKOFF_MAX_MS) {
        a->backoff_ms = a->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : a->backoff_ms * 2;
    }
    return moss_sleep(a->backoff_ms);
}

/* What to do after accept4 failed with err: 0 to go on, or -1 with errno
 * to end the loop (the listener is unusable, or we were killed while backing
 * off). Errors of the pending connection itself (ECONNABORTED, network
 * errors Linux passes on) and a connection taken by another process (EAGAIN)
 * only mean going back to waiting. */
static int stream_accept_failed(struct moss__stream_accepter *a, int err)
{
    switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return stream_backoff(a, err);
    case EBADF:
    case EINVAL:
    case ENOTSOCK:
    case EFAULT:
        errno = err;
        return -1;
    default:
        return 0;
    }
}

/* One accept with a unit of the semaphore in hand; the unit goes to the
 * connection, or back. 0, or -1 with errno the accept's error. */
static int stream_accept_one(struct moss__stream_accepter *a)
{
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    int fd = accept4(a->listener->fd, (struct sockaddr *)&peer, &peer_len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err;

    if (fd == -1)
        goto release_slot;
    stream_backoff_end(a);
    if (moss__stream_conn_start(a, fd, (struct sockaddr *)&peer, peer_len) == 0)
        return 0;
    moss__worker_log(a->server->w, "accept(%s): %s; connection dropped",
                     a->listener->address, strerror(errno));
    close(fd); /* no greenlet ever waited on it */
    errno = ENOMEM;
release_slot:
    err = errno;
    moss_semaphore_release(a->server->slots);
    errno = err;
    return -1;
}

/* Accepts what the backlog holds, up to ACCEPT_BATCH connections before
 * going back to the loop (so the new connections get to run): 0 when the
 * backlog is empty or an error was dealt with, -1 with errno to end the loop. */
static int stream_accept_batch(struct moss__stream_accepter *a)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (moss_semaphore_acquire(a->server->slots, MOSS_FOREVER) == -1)
            return -1; /* killed */
        if (stream_accept_one(a) == 0)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return stream_accept_failed(a, errno);
    }
    return 0;
}

static void *stream_accept_run(void *arg)
{
    struct moss__stream_accepter *a = arg;

    /* ends killed (ECANCELED) or when the listener is unusable (EBADF, ...) */
    while (moss_wait_fd(a->listener->fd, MOSS_READABLE, MOSS_FOREVER) != -1 &&
           stream_accept_batch(a) != -1)
        ;
    if (errno != ECANCELED)
        moss__worker_log(a->server->w, "accept(%s): %s; no longer accepting",
                         a->listener->address, strerror(errno));
    return NULL;
}

/* ---- the server -------------------------------------------------------------- */

static unsigned stream_limit(const struct moss__worker *w)
{
    int64_t limit = w->config->max_connections;

    return limit <= 0 || limit > (int64_t)UINT_MAX ? UINT_MAX : (unsigned)limit;
}

static struct moss__stream_server *stream_server_new(struct moss__worker *w)
{
    struct moss__stream_server *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->w = w;
    s->buffer_capacity = w->config->max_header_size > 0 ? (size_t)w->config->max_header_size
                                                        : BUFFER_DEFAULT;
    s->buffers = (struct moss__free_list){.max = MOSS__STREAM_BUFFERS_KEPT, .destroy = free};
    moss__stream_park_init(s);
    s->slots = moss_semaphore_new(stream_limit(w));
    if (s->slots == NULL)
        goto free_server;
    s->empty = moss_event_new();
    if (s->empty == NULL)
        goto free_slots;
    return s;

free_slots:
    moss_semaphore_free(s->slots);
free_server:
    free(s);
    return NULL;
}

static void stream_server_delete(struct moss__stream_server *s)
{
    s->w->stream = NULL;
    moss__stream_park_fini(s);
    moss__free_list_clear(&s->buffers);
    moss_event_free(s->empty);
    moss_semaphore_free(s->slots);
    free(s);
}

int moss__stream_server_start(struct moss__worker *w)
{
    moss_greenlet_opts_t opts = {.name = "accept"};
    struct moss__stream_server *s;
    int err;

    if (w == NULL || w->config == NULL || w->serve == NULL || w->counters == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (w->stream != NULL) {
        errno = EALREADY;
        return -1;
    }
    s = stream_server_new(w);
    if (s == NULL)
        return -1;
    w->stream = s;
    for (size_t i = 0; i < w->listener_count; i++) {
        struct moss__stream_accepter *a = &s->accepters[s->accepter_count];

        *a = (struct moss__stream_accepter){.server = s, .listener = &w->listeners[i]};
        a->greenlet = moss_spawn_opts(stream_accept_run, a, &opts);
        if (a->greenlet == NULL)
            goto stop_server;
        s->accepter_count++;
    }
    return 0;

stop_server:
    err = errno;
    moss__stream_server_stop(w);
    stream_server_delete(s);
    errno = err;
    return -1;
}

void moss__stream_server_stop(struct moss__worker *w)
{
    struct moss__stream_server *s = w->stream;

    if (s == NULL)
        return;
    for (size_t i = 0; i < s->accepter_count; i++)
        if (s->accepters[i].greenlet != NULL)
            moss_kill(s->accepters[i].greenlet);
    for (size_t i = 0; i < s->accepter_count; i++) {
        moss_greenlet_t *g = s->accepters[i].greenlet;

        /* a killed loop ends at its next blocking call; should our own wait
         * be cut short, the hub frees it when it does */
        if (g != NULL && moss_join(g, MOSS_FOREVER, NULL) == -1)
            moss_detach(g);
        s->accepters[i].greenlet = NULL;
    }
}

/* Idle long enough for a drain to close it, with no request waiting in the
 * socket: one that arrived while the worker was off the CPU (the greenlet
 * not yet woken to read it, still marked idle) is served, not reset. */
static int stream_conn_idle(const struct moss__conn_entry *entry)
{
    char byte;

    if (!entry->idle || moss_now() - entry->idle_since < MOSS__DRAIN_IDLE_GRACE_MS)
        return 0;
    return recv(entry->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

void moss__stream_server_kill(struct moss__worker *w, int idle_only)
{
    struct moss__conn_entry *entry, *next;

    /* moss_kill only queues the killed greenlets: the list holds still, but
     * for the entries closed here, whose next is taken first */
    for (entry = w->conns; entry != NULL; entry = next) {
        struct moss__stream_conn *sc = (struct moss__stream_conn *)entry;

        next = entry->next;
        if (idle_only && !stream_conn_idle(entry))
            continue;
        if (sc->parked) {
            moss__stream_conn_close(sc);
            continue;
        }
        if (moss_greenlet_state(entry->greenlet) == MOSS_GREENLET_NEW) {
            moss_kill(entry->greenlet); /* it never runs */
            moss__stream_conn_close(sc);
            continue;
        }
        moss_kill(entry->greenlet);
    }
}

void moss__stream_server_forget(struct moss__worker *w)
{
    struct moss__stream_server *s = w->stream;

    if (s == NULL)
        return;
    moss__stream_park_fini(s);
    for (struct moss__conn_entry *e = w->conns; e != NULL; e = e->next) {
        struct moss__stream_conn *sc = (struct moss__stream_conn *)e;

        if (sc->parked)
            ev_io_stop(moss__hub_get()->loop, &sc->park_io);
        close(e->conn.fd);
    }
}

int moss__stream_server_join(struct moss__worker *w, int64_t deadline)
{
    struct moss__stream_server *s = w->stream;

    if (s == NULL) {
        errno = EINVAL;
        return -1;
    }
    while (w->conns != NULL) {
        moss_event_clear(s->empty);
        if (moss_event_wait(s->empty, deadline) == -1)
            return -1;
    }
    return 0;
}

int moss__stream_server_free(struct moss__worker *w)
{
    struct moss__stream_server *s = w->stream;

    if (s == NULL)
        return 0;
    for (size_t i = 0; i < s->accepter_count; i++) {
        if (s->accepters[i].greenlet != NULL) {
            errno = EBUSY;
            return -1;
        }
    }
    if (w->conns != NULL) {
        errno = EBUSY;
        return -1;
    }
    moss__free_list_clear(&w->conn_states);
    stream_server_delete(s);
    return 0;
}
