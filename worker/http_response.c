/* The response side of the HTTP server: headers the app adds, the head the
 * server builds around them (status line, Server, Date, framing,
 * Connection), whole and streamed bodies, and the server's own responses.
 *
 * Framing: a length given is sent as Content-Length; no length means
 * chunked for HTTP/1.1 and a close-delimited body for HTTP/1.0. HEAD
 * responses and 1xx, 204 and 304 send no body bytes. Whether the
 * connection stays open is decided when the head is built, so the head can
 * say "Connection: close". */
#include "http.h"
#include "text.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void moss__http_response_reset(struct moss__http_conn *hc)
{
    struct moss_response *res = &hc->res;

    res->hc = hc;
    res->status = 0;
    res->started = res->ended = res->chunked = res->close_delimited = 0;
    res->no_body = res->close = res->server_set = 0;
    res->content_length = -1;
    res->body_bytes = res->body_sent = 0;
    res->header_count = 0;
    res->head_len = 0;
}

int moss__http_write(struct moss__http_conn *hc, const void *data, size_t len, int flags)
{
    /* the handler's writes are bounded by request_timeout (its kill); the
     * server's own, by body_timeout */
    int64_t deadline = hc->in_handler ? MOSS_FOREVER
                                      : moss__http_deadline(hc->config->body_timeout_ms);

    if (hc->broken) {
        errno = EPIPE;
        return -1;
    }
    if (len == 0)
        return 0;
    if (moss_send(hc->conn->fd, data, len, flags, deadline) == -1) {
        hc->broken = 1; /* some prefix may have gone: the stream is cut */
        return -1;
    }
    moss__counter_add(&hc->w->counters->bytes_out, len);
    return 0;
}

/* ---- deciding and building the head ----------------------------------------- */

static int status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

static const char *status_reason(int status)
{
    const char *reason = http_status_str((enum http_status)status);

    return strcmp(reason, "<unknown>") == 0 ? "Unknown" : reason;
}

/* Whether the request's body may still be on its way unasked: with
 * "Expect: 100-continue" unanswered, the client may never send it, so the
 * connection closes after the response unless the body is all buffered. */
static int expect_pending(const struct moss__http_conn *hc)
{
    const struct moss_request *req = &hc->req;
    size_t buffered = hc->conn->end - hc->conn->start;

    if (!req->expect_continue || req->continue_sent || req->body_done)
        return 0;
    return req->content_length < 0 ||
           (uint64_t)buffered < (uint64_t)req->content_length - req->body_received;
}

/* Whether this response is the connection's last. */
static int response_is_last(const struct moss__http_conn *hc)
{
    const struct moss_request *req = &hc->req;
    int64_t max = hc->config->max_requests_per_connection;

    return !req->keep_alive || hc->w->draining || hc->must_close || hc->broken ||
           req->body_err != 0 || (max > 0 && hc->served + 1 >= max) || expect_pending(hc);
}

static void response_plan(struct moss__http_conn *hc, int status, int64_t content_length)
{
    struct moss_response *res = &hc->res;
    int unsized = content_length < 0 && status_has_body(status);

    res->status = status;
    res->content_length = status_has_body(status) ? content_length : -1;
    res->no_body = !status_has_body(status) || hc->req.is_head;
    res->chunked = unsized && hc->req.http_minor >= 1;
    res->close_delimited = unsized && hc->req.http_minor == 0;
    res->close = response_is_last(hc) || res->close_delimited;
}

/* The framing and Connection headers and the blank line. */
static void response_suffix(const struct moss__http_conn *hc, const char *content_type,
                            struct moss__text *t)
{
    const struct moss_response *res = &hc->res;

    if (content_type != NULL) {
        moss__text_put(t, "Content-Type: ");
        moss__text_put(t, content_type);
        moss__text_put(t, "\r\n");
    }
    if (res->content_length >= 0) {
        moss__text_put(t, "Content-Length: ");
        moss__text_put_u64(t, (uint64_t)res->content_length);
        moss__text_put(t, "\r\n");
    } else if (res->chunked) {
        moss__text_put(t, "Transfer-Encoding: chunked\r\n");
    }
    if (res->close)
        moss__text_put(t, "Connection: close\r\n");
    else if (hc->req.http_minor == 0)
        moss__text_put(t, "Connection: keep-alive\r\n");
    moss__text_put(t, "\r\n");
}

/* The status line, Server and Date. */
static void response_prefix(const struct moss_response *res, struct moss__text *t)
{
    moss__text_put(t, "HTTP/1.1 ");
    moss__text_put_u64(t, (uint64_t)res->status);
    moss__text_put(t, " ");
    moss__text_put(t, status_reason(res->status));
    moss__text_put(t, res->server_set ? "\r\nDate: " : "\r\nServer: moss\r\nDate: ");
    moss__text_put(t, moss__http_date());
    moss__text_put(t, "\r\n");
}

/* Builds the head in res->head: status line, Server and Date before the
 * app's headers (moved up to make room), framing after them. */
static int response_assemble(struct moss__http_conn *hc, const char *content_type)
{
    struct moss_response *res = &hc->res;
    char pre_buf[MOSS__HTTP_HEAD_RESERVE], post_buf[2048];
    struct moss__text pre, post;

    moss__text_init(&pre, pre_buf, sizeof(pre_buf));
    moss__text_init(&post, post_buf, sizeof(post_buf));
    response_prefix(res, &pre);
    response_suffix(hc, content_type, &post);
    if (pre.truncated || post.truncated ||
        pre.len + res->head_len + post.len > sizeof(res->head)) {
        errno = ENOBUFS;
        return -1;
    }
    memmove(res->head + pre.len, res->head, res->head_len);
    memcpy(res->head, pre.buf, pre.len);
    memcpy(res->head + pre.len + res->head_len, post.buf, post.len);
    res->head_len += pre.len + post.len;
    return 0;
}

static int has_crlf(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

/* Decides the framing and builds the head; the response counts as started
 * from here, since a write cut short leaves the stream unusable. */
static int response_begin(struct moss__http_conn *hc, int status, const char *content_type,
                          int64_t content_length)
{
    if (status < 200 || status > 999 || content_length < -1 || has_crlf(content_type)) {
        errno = EINVAL;
        return -1;
    }
    response_plan(hc, status, content_length);
    if (response_assemble(hc, content_type) == -1)
        return -1;
    hc->res.started = 1;
    return 0;
}

/* ---- the public calls ---------------------------------------------------------- */

static int response_usable(const moss_response_t *res)
{
    if (res == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (res->hc->orphaned) {
        errno = ECANCELED;
        return -1;
    }
    if (!res->hc->in_handler) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int header_name_ok(const char *name)
{
    static const char *const owned[] = {"Content-Length", "Transfer-Encoding", "Connection",
                                        "Date"};

    if (name == NULL || name[0] == '\0' || strpbrk(name, " \t\r\n:") != NULL)
        return 0;
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (strcasecmp(name, owned[i]) == 0)
            return 0;
    for (const char *p = name; *p != '\0'; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p >= 0x7f)
            return 0;
    return 1;
}

int moss_response_header(moss_response_t *res, const char *name, const char *value)
{
    size_t name_len, value_len;

    if (response_usable(res) == -1)
        return -1;
    if (res->started) {
        errno = EALREADY;
        return -1;
    }
    if (!header_name_ok(name) || value == NULL || has_crlf(value)) {
        errno = EINVAL;
        return -1;
    }
    name_len = strlen(name);
    value_len = strlen(value);
    if (res->header_count == MOSS__HTTP_RESPONSE_HEADERS_MAX ||
        name_len + value_len + 4 > sizeof(res->head) - MOSS__HTTP_HEAD_RESERVE - res->head_len) {
        errno = ENOBUFS;
        return -1;
    }
    memcpy(res->head + res->head_len, name, name_len);
    memcpy(res->head + res->head_len + name_len, ": ", 2);
    memcpy(res->head + res->head_len + name_len + 2, value, value_len);
    memcpy(res->head + res->head_len + name_len + 2 + value_len, "\r\n", 2);
    res->head_len += name_len + value_len + 4;
    res->header_count++;
    res->server_set |= strcasecmp(name, "Server") == 0;
    return 0;
}

/* Sends the head and a whole body: in one write when the body fits after
 * the head, else the head with MSG_MORE so the two leave together. */
static int response_send_whole(struct moss__http_conn *hc, const void *body, size_t len)
{
    struct moss_response *res = &hc->res;

    res->ended = 1;
    res->body_bytes = len;
    if (res->no_body || len == 0)
        return moss__http_write(hc, res->head, res->head_len, 0);
    res->body_sent = len;
    if (len <= sizeof(res->head) - res->head_len) {
        memcpy(res->head + res->head_len, body, len);
        return moss__http_write(hc, res->head, res->head_len + len, 0);
    }
    if (moss__http_write(hc, res->head, res->head_len, MSG_MORE) == -1)
        return -1;
    return moss__http_write(hc, body, len, 0);
}

int moss_response_send(moss_response_t *res, int status, const char *content_type,
                       const void *body, size_t len)
{
    if (response_usable(res) == -1)
        return -1;
    if (res->started) {
        errno = EALREADY;
        return -1;
    }
    if ((body == NULL && len > 0) || (!status_has_body(status) && len > 0) ||
        len > (size_t)INT64_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (response_begin(res->hc, status, content_type, (int64_t)len) == -1)
        return -1;
    return response_send_whole(res->hc, body, len);
}

int moss_response_start(moss_response_t *res, int status, const char *content_type,
                        int64_t content_length)
{
    if (response_usable(res) == -1)
        return -1;
    if (res->started) {
        errno = EALREADY;
        return -1;
    }
    if (response_begin(res->hc, status, content_type, content_length) == -1)
        return -1;
    return moss__http_write(res->hc, res->head, res->head_len, 0);
}

/* One chunk: size line, data, CRLF; small ones in one write. */
static int response_chunk(struct moss__http_conn *hc, const void *data, size_t len)
{
    char size_line[24];
    int n = snprintf(size_line, sizeof(size_line), "%zx\r\n", len);

    if (len <= sizeof(hc->scratch) - (size_t)n - 2) {
        memcpy(hc->scratch, size_line, (size_t)n);
        memcpy(hc->scratch + n, data, len);
        memcpy(hc->scratch + (size_t)n + len, "\r\n", 2);
        return moss__http_write(hc, hc->scratch, (size_t)n + len + 2, 0);
    }
    if (moss__http_write(hc, size_line, (size_t)n, MSG_MORE) == -1 ||
        moss__http_write(hc, data, len, MSG_MORE) == -1)
        return -1;
    return moss__http_write(hc, "\r\n", 2, 0);
}

int moss_response_write(moss_response_t *res, const void *data, size_t len)
{
    if (response_usable(res) == -1)
        return -1;
    if (!res->started || res->ended || (data == NULL && len > 0)) {
        errno = EINVAL;
        return -1;
    }
    if (len == 0)
        return 0; /* an empty chunk would end the body */
    if (res->content_length >= 0 && len > (uint64_t)res->content_length - res->body_bytes) {
        errno = EMSGSIZE;
        return -1;
    }
    res->body_bytes += len;
    if (res->no_body)
        return 0;
    res->body_sent += len;
    if (res->chunked)
        return response_chunk(res->hc, data, len);
    return moss__http_write(res->hc, data, len, 0);
}

/* Ends a started response: the last chunk, or a check that the declared
 * length was sent (if not, the client would wait for the rest: close). */
static int response_end(struct moss__http_conn *hc)
{
    struct moss_response *res = &hc->res;

    res->ended = 1;
    if (res->content_length >= 0 && res->body_bytes < (uint64_t)res->content_length) {
        hc->broken = 1;
        errno = EPROTO;
        return -1;
    }
    if (res->chunked && !res->no_body)
        return moss__http_write(hc, "0\r\n\r\n", 5, 0);
    return 0;
}

int moss_response_end(moss_response_t *res)
{
    if (response_usable(res) == -1)
        return -1;
    if (!res->started || res->ended) {
        errno = EINVAL;
        return -1;
    }
    return response_end(res->hc);
}

int moss__http_response_finish(struct moss__http_conn *hc)
{
    if (!hc->res.started || hc->res.ended)
        return 0;
    return response_end(hc);
}

int moss__http_respond(struct moss__http_conn *hc, int status, int close)
{
    struct moss_response *res = &hc->res;
    char body[64];
    int len = 0;

    /* the handler's headers belong to the response it did not send */
    res->head_len = 0;
    res->header_count = 0;
    res->server_set = 0;
    if (close)
        hc->must_close = 1;
    if (status_has_body(status))
        len = snprintf(body, sizeof(body), "%s\n", status_reason(status));
    if (response_begin(hc, status, len > 0 ? "text/plain; charset=utf-8" : NULL,
                       status_has_body(status) ? len : -1) == -1)
        return -1;
    return response_send_whole(hc, body, (size_t)len);
}
