/* The per-connection request loop: wait for a request (keep-alive), read
 * its head within header_timeout, run the handler in a greenlet of its own
 * within request_timeout, make sure a response went out, drain what the
 * handler left of the body, log, and go again or close.
 *
 * Timeouts, as the config names them:
 *   keepalive_timeout  idle wait for a next request: close, no response;
 *   header_timeout     from a request's first byte (the connection's start,
 *                      for the first) to the end of its head: 408, close;
 *                      a client trickling bytes cannot extend it;
 *   body_timeout       each wait for body bytes: the handler's read fails
 *                      with ETIMEDOUT, then 408 if nothing was sent, close;
 *   request_timeout    the handler's running time: it is killed, 503 if
 *                      nothing was sent (the connection goes on), else close. */
#include "http.h"
#include "text.h"

#include "../runtime/watchdog.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum http_head_result { HEAD_READY, HEAD_CLOSE, HEAD_ERROR, HEAD_PARK };

/* What one request leaves the connection to do. */
enum http_next { HTTP_NEXT, HTTP_CLOSE, HTTP_PARK };

/* ---- the connection's state ---------------------------------------------------- */

/* Kept for reuse by w->conn_states: enough for the connections that go from
 * idle to busy at once. */
#define HTTP_CONNS_KEPT 64

static void http_conn_destroy(void *block)
{
    struct moss__http_conn *hc = block;

    free(hc->req.store);
    free(hc->req.headers);
    free(hc);
}

/* A new state with its store and header table, sized from the config. */
static struct moss__http_conn *http_conn_alloc(const struct moss_config *config,
                                               size_t capacity)
{
    size_t head_max = config->max_header_size > 0 ? (size_t)config->max_header_size : capacity;
    size_t header_max = config->max_headers > 0 ? (size_t)config->max_headers : 1;
    struct moss__http_conn *hc = calloc(1, sizeof(*hc));

    /* a header takes at least 3 bytes ("a:" CRLF): no more fit in the head */
    if (header_max > head_max / 3 + 1)
        header_max = head_max / 3 + 1;
    if (hc == NULL)
        return NULL;
    hc->req.store_cap = head_max + 2;
    hc->req.store = malloc(hc->req.store_cap);
    hc->req.headers = calloc(header_max, sizeof(*hc->req.headers));
    if (hc->req.store == NULL || hc->req.headers == NULL) {
        http_conn_destroy(hc);
        return NULL;
    }
    hc->req.header_max = header_max;
    return hc;
}

/* The state for a connection, kept or new, with every field that is not
 * reset per request set here. */
static struct moss__http_conn *http_conn_new(struct moss__worker *w,
                                             struct moss__conn_entry *entry)
{
    struct moss__http_conn *hc = moss__free_list_take(&w->conn_states);

    if (hc == NULL && (hc = http_conn_alloc(w->config, entry->conn.capacity)) == NULL)
        return NULL;
    w->conn_states.max = HTTP_CONNS_KEPT;
    w->conn_states.destroy = http_conn_destroy;
    hc->req.hc = hc;
    hc->res.hc = hc;
    hc->w = w;
    hc->entry = entry;
    hc->conn = &entry->conn;
    hc->config = w->config;
    memcpy(hc->client, entry->conn.client, sizeof(hc->client));
    hc->client[sizeof(hc->client) - 1] = '\0';
    hc->first_deadline = 0;
    hc->served = (int64_t)entry->served;
    hc->in_handler = hc->orphaned = hc->request_live = hc->conn_done = hc->recv_tried = 0;
    hc->broken = hc->must_close = hc->cancelled = hc->timed_out = hc->handler_ret = 0;
    hc->context[0] = '\0';
    return hc;
}

/* Done with hc: kept by the worker for a next connection (an orphaned
 * request greenlet's state is freed by it; see http.h). */
static void http_conn_free(struct moss__http_conn *hc)
{
    moss__free_list_give(&hc->w->conn_states, hc);
}

/* ---- the request's head --------------------------------------------------------- */

/* Between requests with nothing buffered, what the socket holds now:
 * HEAD_PARK if nothing (the connection waits parked, without its greenlet
 * or hc). The socket is read once a serve, when it has just become readable
 * (or the connection is new): after a response the next request has rarely
 * arrived yet, and a recv that finds nothing costs as much as one that does,
 * so the connection parks and the loop says when it comes. */
static enum http_head_result http_next_request_ready(struct moss__http_conn *hc)
{
    ptrdiff_t n;

    if (hc->recv_tried)
        return HEAD_PARK;
    hc->recv_tried = 1;
    n = moss__conn_fill_ready(hc->conn);
    if (n > 0) {
        moss__counter_add(&hc->w->counters->bytes_in, (uint64_t)n);
        return HEAD_READY;
    }
    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return HEAD_PARK;
    return HEAD_CLOSE;
}

/* Waits for a request's first byte (unless one is buffered): parked (see
 * http_next_request_ready), until hc->first_deadline for the first request
 * (header_timeout from the connection's start: 408 when it passes), then
 * keepalive_timeout (then closed silently). A connection whose orphaned
 * request greenlet still uses hc is not parked: it waits here, marked idle
 * so that a drain can close it. */
static enum http_head_result http_wait_request(struct moss__http_conn *hc, int first)
{
    ptrdiff_t n;

    if (hc->conn->start < hc->conn->end)
        return HEAD_READY;
    if (first && hc->entry->park_expired) {
        hc->req.error_status = 408;
        return HEAD_ERROR;
    }
    if (!hc->request_live)
        return http_next_request_ready(hc);
    hc->entry->idle = 1;
    hc->entry->idle_since = moss_now();
    n = moss__conn_fill(hc->conn, moss__http_deadline(hc->config->keepalive_timeout_ms));
    hc->entry->idle = 0;
    if (n > 0) {
        moss__counter_add(&hc->w->counters->bytes_in, (uint64_t)n);
        return HEAD_READY;
    }
    if (n == -1 && errno == ECANCELED)
        hc->cancelled = 1;
    return HEAD_CLOSE;
}

/* Reads and parses the head until it is complete, refused, or its
 * deadline passes. */
static enum http_head_result http_read_head(struct moss__http_conn *hc, int first)
{
    enum http_head_result r = http_wait_request(hc, first);
    int64_t deadline;

    if (r != HEAD_READY)
        return r;
    hc->req.started_ms = moss_now();
    deadline = first ? hc->first_deadline : moss__http_deadline(hc->config->header_timeout_ms);
    for (;;) {
        int fed = moss__http_head_feed(hc);
        ptrdiff_t n;

        if (fed != 0)
            return fed == 1 ? HEAD_READY : HEAD_ERROR;
        n = moss__conn_fill(hc->conn, deadline);
        if (n > 0) {
            moss__counter_add(&hc->w->counters->bytes_in, (uint64_t)n);
            continue;
        }
        if (n == -1 && errno == ETIMEDOUT) {
            hc->req.error_status = 408;
            return HEAD_ERROR;
        }
        hc->cancelled = n == -1 && errno == ECANCELED;
        return HEAD_CLOSE; /* end of stream mid-head, or an error: nobody to answer */
    }
}

/* ---- the handler ------------------------------------------------------------------ */

static void *http_request_run(void *arg)
{
    struct moss__http_conn *hc = arg;
    const moss_app_t *app = hc->w->app;
    int ret = -1;

    hc->request_live = 1;
    moss__greenlet_set_context(moss_greenlet_current(), hc->context);
    if (app != NULL && app->handle != NULL)
        ret = app->handle(&hc->req, &hc->res, hc->w->app_data);
    moss__greenlet_set_context(moss_greenlet_current(), NULL);
    hc->request_live = 0;
    if (hc->conn_done) {
        http_conn_destroy(hc); /* orphaned, and the connection is gone: ours */
        return NULL;
    }
    if (!hc->orphaned)
        hc->handler_ret = ret;
    return NULL;
}

static void http_log_timeout(struct moss__http_conn *hc)
{
    int64_t ms = moss_now() - hc->req.started_ms;

    moss__counter_add(&hc->w->counters->request_timeouts, 1);
    moss__worker_log(hc->w, "http: request timeout: %s %s from %s after %lld ms (limit %lld ms)",
                     hc->req.method, hc->req.path, hc->client, (long long)ms,
                     (long long)hc->config->request_timeout_ms);
}

/* The handler outlived its deadline (err ETIMEDOUT) or the connection's
 * greenlet was killed (ECANCELED): kill it and give it a moment to unwind;
 * one that will not is detached and orphaned (see http.h). */
static void http_handler_overrun(struct moss__http_conn *hc, moss_greenlet_t *g, int err)
{
    if (err == ETIMEDOUT) {
        hc->timed_out = 1;
        http_log_timeout(hc);
    } else {
        hc->cancelled = 1;
    }
    moss_kill(g);
    if (moss_join(g, moss_now() + MOSS__HTTP_KILL_GRACE_MS, NULL) == -1) {
        /* ECANCELED: we were killed too (a drain's end) and cannot wait;
         * the handler is not at fault */
        if (errno == ETIMEDOUT)
            moss__worker_log(hc->w, "http: request greenlet for %s %s from %s ignores its "
                             "kill: detached", hc->req.method, hc->req.path, hc->client);
        hc->orphaned = 1;
        moss_detach(g);
    }
    hc->handler_ret = -1;
}

/* "METHOD target", cut to its buffer: the watchdog's word for the request. */
static void http_context_set(struct moss__http_conn *hc)
{
    struct moss__text t;

    moss__text_init(&t, hc->context, sizeof(hc->context));
    moss__text_put(&t, hc->req.method);
    moss__text_put(&t, " ");
    moss__text_put(&t, hc->req.path);
    if (hc->req.query[0] != '\0') {
        moss__text_put(&t, "?");
        moss__text_put(&t, hc->req.query);
    }
}

/* Runs the handler in its own greenlet and joins it within
 * request_timeout. */
static void http_run_handler(struct moss__http_conn *hc)
{
    int64_t deadline = moss__http_deadline(hc->config->request_timeout_ms);
    moss_greenlet_opts_t opts = {.name = "http request"};
    moss_greenlet_t *g;

    hc->handler_ret = 0;
    hc->in_handler = 1;
    http_context_set(hc);
    g = moss_spawn_opts(http_request_run, hc, &opts);
    if (g == NULL) {
        moss__worker_log(hc->w, "http: spawn for %s %s from %s: %s", hc->req.method,
                         hc->req.path, hc->client, strerror(errno));
        hc->handler_ret = -1;
    } else if (moss_join(g, deadline, NULL) == -1) {
        http_handler_overrun(hc, g, errno);
    }
    hc->in_handler = 0;
}

/* ---- after the handler ---------------------------------------------------------- */

/* The status for a body that could not be read, or 0. */
static int http_body_error_status(int err)
{
    switch (err) {
    case 0:
        return 0;
    case ETIMEDOUT:
        return 408;
    case EMSGSIZE:
        return 413;
    default:
        return 400; /* EPROTO, or the stream ended mid-body */
    }
}

/* Makes sure the request got a whole response: the handler's, finished;
 * or the server's (503, 408/413/400 for a body error, 500, 204). */
static void http_complete_response(struct moss__http_conn *hc)
{
    struct moss_response *res = &hc->res;
    int body_status = http_body_error_status(hc->req.body_err);

    if (hc->cancelled)
        return;
    if (res->started) {
        if (hc->timed_out || hc->handler_ret == -1)
            hc->broken = 1; /* how much went out is unknown: close */
        else
            moss__http_response_finish(hc);
        return;
    }
    if (hc->timed_out)
        moss__http_respond(hc, 503, 0);
    else if (body_status != 0)
        moss__http_respond(hc, body_status, 1);
    else
        moss__http_respond(hc, hc->handler_ret == -1 ? 500 : 204, 0);
}

/* Reads and drops what the handler left of the body, so the connection can
 * serve a next request: within body_timeout in all, or only what is
 * buffered when the client waits for a 100 Continue it never got. */
static void http_drain_body(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;
    int64_t wait;

    if (hc->broken || hc->cancelled || hc->res.close || req->body_done)
        return;
    wait = req->expect_continue && !req->continue_sent
               ? 0
               : moss__http_deadline(hc->config->body_timeout_ms);
    while (!req->body_done) {
        if (moss__http_body_read(hc, NULL, SIZE_MAX, wait) == -1) {
            hc->must_close = 1;
            return;
        }
    }
}

/* Counters and the access log, for a request that got a response. */
static void http_log_request(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;
    struct moss_response *res = &hc->res;
    struct moss__worker_counters *c = hc->w->counters;
    struct moss__access_record rec = {
        .client = hc->client,
        .method = req->method != NULL ? req->method : "-",
        .path = req->path != NULL ? req->path : req->url != NULL ? req->url : "-",
        .http_major = req->http_major != 0 ? req->http_major : 1,
        .http_minor = req->http_major != 0 ? req->http_minor : 1,
        .status = res->status,
        .bytes = res->body_sent,
        .duration_ms = moss_now() - req->started_ms,
    };

    if (!res->started)
        return;
    hc->served++;
    moss__counter_add(&c->requests, 1);
    if (res->status >= 100 && res->status < 600)
        moss__counter_add(&c->status[res->status / 100 - 1], 1);
    moss__access_log(hc->w, &rec);
}

/* ---- the loop --------------------------------------------------------------------- */

/* Whether the connection may carry a next request. */
/* Whether the connection waits for another request: what the response
 * promised (res.close says "Connection: close" went out). A drain that began
 * after a keep-alive response does not end the connection here: the client
 * may have sent its next request already, and it is served, with
 * "Connection: close"; an idle connection is closed by the drain's sweep. */
static int http_keep_going(const struct moss__http_conn *hc)
{
    return !hc->broken && !hc->cancelled && !hc->must_close && !hc->res.close &&
           hc->req.body_done;
}

/* Serves one request, or finds none there yet. */
static enum http_next http_serve_one(struct moss__http_conn *hc, int first)
{
    enum http_head_result r;

    moss__http_request_reset(hc);
    moss__http_response_reset(hc);
    hc->timed_out = 0;
    hc->req.started_ms = moss_now();
    r = http_read_head(hc, first);
    if (r == HEAD_PARK)
        return HTTP_PARK;
    if (r == HEAD_CLOSE)
        return HTTP_CLOSE;
    if (r == HEAD_ERROR) {
        moss__http_respond(hc, hc->req.error_status, 1);
        http_log_request(hc);
        return HTTP_CLOSE;
    }
    http_run_handler(hc);
    http_complete_response(hc);
    http_drain_body(hc);
    http_log_request(hc);
    return http_keep_going(hc) ? HTTP_NEXT : HTTP_CLOSE;
}

/* Before the close after a response: stop sending, and read and drop what
 * the client still sends (bounded: a refused body, pipelined requests), so
 * that the close does not reset the connection (a close with unread input
 * sends RST) before the client has read the response. A client that reads
 * the response and closes ends it at once. */
static void http_linger(struct moss__http_conn *hc)
{
    int64_t deadline = moss_now() + MOSS__HTTP_LINGER_MS;
    size_t dropped = 0;

    if (!hc->res.started || hc->broken || hc->cancelled || hc->orphaned)
        return;
    if (shutdown(hc->conn->fd, SHUT_WR) == -1)
        return;
    while (dropped < MOSS__HTTP_LINGER_BYTES) {
        ptrdiff_t n = moss_read(hc->conn->fd, hc->scratch, sizeof(hc->scratch), deadline);

        if (n <= 0)
            return;
        dropped += (size_t)n;
    }
}

/* Parks the connection: hc goes back to the worker, and the stream server
 * waits for the request without a greenlet: the first until first_deadline
 * (then serve answers 408), a next one up to keepalive_timeout. */
static enum moss__serve_result http_park(struct moss__http_conn *hc, int first)
{
    struct moss__conn_entry *entry = hc->entry;

    entry->park_deadline = first ? hc->first_deadline
                                 : moss__http_deadline(hc->config->keepalive_timeout_ms);
    entry->park_wake_at_deadline = first && hc->first_deadline != MOSS_FOREVER;
    entry->served = (uint64_t)hc->served;
    http_conn_free(hc);
    return MOSS__SERVE_PARK;
}

enum moss__serve_result moss__http_serve(struct moss__worker *w,
                                         struct moss__conn_entry *entry)
{
    struct moss__http_conn *hc = http_conn_new(w, entry);
    enum http_next next;
    int one = 1, first = entry->served == 0;

    if (hc == NULL) {
        moss__worker_log(w, "http: connection from %s: %s", entry->conn.client,
                         strerror(errno));
        return MOSS__SERVE_CLOSE;
    }
    /* heads and small bodies go out whole (MSG_MORE joins the pieces); a
     * unix socket refuses the option, which is fine */
    if (!entry->resumed)
        (void)setsockopt(entry->conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    hc->first_deadline = entry->resumed ? entry->park_deadline /* parked before the first */
                                        : moss__http_deadline(w->config->header_timeout_ms);
    while ((next = http_serve_one(hc, first)) == HTTP_NEXT)
        first = 0;
    if (next == HTTP_PARK)
        return http_park(hc, first);
    http_linger(hc);
    hc->conn_done = 1;
    if (!hc->request_live)
        http_conn_free(hc);
    return MOSS__SERVE_CLOSE;
}
