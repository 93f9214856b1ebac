/* The request side of the HTTP server: libhttp-parser's callbacks, the checks
 * it leaves to us (request smuggling), the request accessors, the body
 * reader and query parameters.
 *
 * The parser is fed straight from the connection buffer. The request line
 * and headers are copied, piece by piece as the parser reports them, into
 * req.store (bounded by max_header_size), so consumed bytes leave the
 * buffer at once. The parser is paused at the end of the head, so the body
 * is parsed only as the handler reads it, and at the end of the message,
 * so a pipelined next request stays in the buffer. */
#include "http.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* ---- storing the head ------------------------------------------------------ */

static struct moss__http_conn *parser_conn(http_parser *p)
{
    return p->data;
}

/* Appends bytes to the piece being built; the store stays NUL-terminated
 * (one byte is always kept for it). */
static int store_append(struct moss_request *req, const char *at, size_t n)
{
    if (n >= req->store_cap - req->store_len) {
        req->error_status = 431;
        return -1;
    }
    memcpy(req->store + req->store_len, at, n);
    req->store_len += n;
    req->store[req->store_len] = '\0';
    return 0;
}

/* Ends the piece being built: a header value loses trailing whitespace,
 * and every piece gets its NUL (past the one store_append keeps). */
static int store_end_piece(struct moss_request *req)
{
    if (req->piece == MOSS__PIECE_VALUE) {
        size_t value_start = (size_t)(req->headers[req->header_count - 1].value - req->store);

        while (req->store_len > value_start &&
               (req->store[req->store_len - 1] == ' ' || req->store[req->store_len - 1] == '\t'))
            req->store_len--;
        req->store[req->store_len] = '\0';
    }
    req->piece = MOSS__PIECE_NONE;
    if (req->store_len + 1 >= req->store_cap) {
        req->error_status = 431;
        return -1;
    }
    req->store_len++; /* past the NUL */
    req->store[req->store_len] = '\0';
    return 0;
}

/* Debian's parser is built without strict mode: it takes a bare LF as a line
 * end, any byte after a CR (in the head's last line and in chunk framing),
 * any two bytes after a chunk's data, control bytes in chunk extensions,
 * and folds a line that starts with whitespace into the header before it
 * (or, for the first header, into its name). Each is a smuggling vector, as
 * a proxy in front may frame the message differently, so every byte of the
 * head and of the body's framing (all but the body's data) passes here:
 * CR and LF only as a pair, no line starting with whitespace, no control
 * bytes but HT, and a CRLF right after each chunk's data. A refusal is a
 * 400. */
static int framing_scan(struct moss_request *req, const char *bytes, size_t n)
{
    unsigned char prev = req->scan_prev;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)bytes[i];

        if ((c == '\n') != (prev == '\r') || (prev == '\n' && (c == ' ' || c == '\t')) ||
            (prev == MOSS__SCAN_AFTER_DATA && c != '\r') ||
            (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) {
            req->error_status = 400;
            return -1;
        }
        prev = c;
    }
    req->scan_prev = prev;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct moss_request *req = &parser_conn(p)->req;

    /* the parser, built without strict mode, takes HT inside the request
     * target (and FF, which framing_scan refuses): a proxy may split the
     * request line there, so the target it routes on is not ours */
    if (memchr(at, '\t', n) != NULL) {
        req->error_status = 400;
        return -1;
    }
    if (req->piece != MOSS__PIECE_URL) {
        req->url = req->store + req->store_len;
        req->method = http_method_str((enum http_method)p->method);
        req->piece = MOSS__PIECE_URL;
    }
    return store_append(req, at, n);
}

/* A header name's first piece starts a header; there are at most
 * max_headers (431 beyond). Trailers of a chunked body are ignored. */
static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct moss_request *req = &parser_conn(p)->req;

    if (req->headers_done)
        return 0;
    if (req->piece != MOSS__PIECE_FIELD) {
        if (req->piece != MOSS__PIECE_NONE && store_end_piece(req) == -1)
            return -1;
        if (req->header_count == req->header_max) {
            req->error_status = 431;
            return -1;
        }
        req->headers[req->header_count].name = req->store + req->store_len;
        req->headers[req->header_count].value = "";
        req->header_count++;
        req->piece = MOSS__PIECE_FIELD;
    }
    return store_append(req, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct moss_request *req = &parser_conn(p)->req;

    if (req->headers_done)
        return 0;
    if (req->piece != MOSS__PIECE_VALUE) {
        if (req->piece != MOSS__PIECE_FIELD || store_end_piece(req) == -1)
            return -1;
        req->headers[req->header_count - 1].value = req->store + req->store_len;
        req->piece = MOSS__PIECE_VALUE;
    }
    return store_append(req, at, n);
}

static int on_headers_complete(http_parser *p)
{
    struct moss_request *req = &parser_conn(p)->req;

    if (req->piece != MOSS__PIECE_NONE && store_end_piece(req) == -1)
        return -1;
    req->headers_done = 1;
    http_parser_pause(p, 1); /* the handler reads the body, if it wants it */
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct moss_request *req = &parser_conn(p)->req;

    if (framing_scan(req, req->scan_from, (size_t)(at - req->scan_from)) == -1)
        return -1;
    req->scan_from = at + n;
    if (p->flags & F_CHUNKED) {
        req->chunk_left -= n;
        if (req->chunk_left == 0)
            req->scan_prev = MOSS__SCAN_AFTER_DATA;
    }
    /* fits: the parser was fed no more bytes than the reader's room */
    if (req->body_dst != NULL)
        memcpy(req->body_dst + req->body_got, at, n);
    req->body_got += n;
    req->body_received += n;
    return 0;
}

/* A chunk that would take the body past max_body_size is refused before
 * its bytes are read. */
static int on_chunk_header(http_parser *p)
{
    struct moss__http_conn *hc = parser_conn(p);
    struct moss_request *req = &hc->req;
    int64_t max = hc->config->max_body_size;

    req->chunks++;
    req->chunk_left = p->content_length;
    if (max >= 0 && p->content_length > (uint64_t)max - req->body_received) {
        req->error_status = 413;
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    parser_conn(p)->req.body_done = 1;
    http_parser_pause(p, 1); /* a pipelined request waits for its turn */
    return 0;
}

static const http_parser_settings request_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_chunk_header = on_chunk_header,
    .on_message_complete = on_message_complete,
};

void moss__http_request_reset(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;

    http_parser_init(&hc->parser, HTTP_REQUEST);
    hc->parser.data = hc;
    req->method = req->path = req->query = NULL;
    req->url = NULL;
    req->header_count = 0;
    req->store_len = 0;
    req->store[0] = '\0';
    req->piece = MOSS__PIECE_NONE;
    req->headers_done = 0;
    req->head_bytes = 0;
    req->scan_prev = '\n';
    req->error_status = 0;
    req->http_major = 0; /* unknown until the head is in: logged as 1.1 */
    req->http_minor = 1;
    req->content_length = -1;
    req->has_body = req->keep_alive = req->is_head = req->expect_continue = req->upgrade = 0;
    req->continue_sent = req->body_done = req->body_err = 0;
    req->body_received = req->body_wire = req->chunks = req->chunk_left = 0;
    req->body_dst = NULL;
    req->body_got = 0;
}

int64_t moss__http_deadline(int64_t ms)
{
    return ms > 0 ? moss_now() + ms : MOSS_FOREVER;
}

/* ---- checks the parser leaves to us ---------------------------------------- */

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int is_token(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Walks one Transfer-Encoding value: each coding must be a token;
 * counts "chunked" and notes whether the last coding so far is it. */
static int te_codings(const char *v, int *chunked_count, int *last_chunked)
{
    while (*v != '\0') {
        size_t skip = strspn(v, " \t,"), len;

        v += skip;
        if (*v == '\0')
            break;
        len = strcspn(v, " \t,;");
        if (!is_token(v, len))
            return -1;
        *last_chunked = len == 7 && strncasecmp(v, "chunked", 7) == 0;
        *chunked_count += *last_chunked;
        v += len;
        v += strcspn(v, ","); /* parameters: not ours to judge */
    }
    return 0;
}

/* Framing (RFC 9112 6.1, 6.3): no Content-Length with Transfer-Encoding,
 * one Content-Length at most, chunked once and last, no Transfer-Encoding
 * in HTTP/1.0. The parser refuses some of these itself; all are checked
 * here so that none depends on how it was built. */
static int head_check_framing(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;
    int cl = 0, te = 0, chunked_count = 0, last_chunked = 0;

    for (size_t i = 0; i < req->header_count; i++) {
        const struct moss__http_header *h = &req->headers[i];

        if (!is_token(h->name, strlen(h->name)))
            return -1;
        if (strcasecmp(h->name, "Content-Length") == 0)
            cl++;
        else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
            te++;
            if (te_codings(h->value, &chunked_count, &last_chunked) == -1)
                return -1;
        }
    }
    if (cl > 1 || (te > 0 && (cl > 0 || req->http_minor == 0)))
        return -1;
    if (te > 0 && (chunked_count != 1 || !last_chunked || !(hc->parser.flags & F_CHUNKED)))
        return -1;
    return 0;
}

/* Splits the request target into path and query, in place: origin form
 * "/p?q", "*", absolute form "http://h/p?q", or CONNECT's "host:port". */
static int head_split_target(struct moss_request *req, int is_connect)
{
    struct http_parser_url u;
    char *t = req->url;

    if (t == NULL)
        return -1;
    if (t[0] == '/' || strcmp(t, "*") == 0) {
        t[strcspn(t, "#")] = '\0';
        req->path = t;
        t += strcspn(t, "?");
        req->query = *t == '?' ? t + 1 : "";
        *t = '\0';
        return 0;
    }
    http_parser_url_init(&u);
    if (http_parser_parse_url(t, strlen(t), is_connect, &u) != 0)
        return -1;
    req->path = (u.field_set & (1 << UF_PATH)) ? t + u.field_data[UF_PATH].off : "/";
    req->query = (u.field_set & (1 << UF_QUERY)) ? t + u.field_data[UF_QUERY].off : "";
    if (is_connect)
        req->path = t;
    if (u.field_set & (1 << UF_QUERY))
        t[u.field_data[UF_QUERY].off + u.field_data[UF_QUERY].len] = '\0';
    if (!is_connect && (u.field_set & (1 << UF_PATH)))
        t[u.field_data[UF_PATH].off + u.field_data[UF_PATH].len] = '\0';
    return 0;
}

/* What the head says about the body and the connection; 413 for a
 * Content-Length beyond max_body_size, 417 for an expectation other than
 * 100-continue. */
static int head_read_semantics(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;
    const char *expect = moss_request_header(req, "Expect");
    int64_t max = hc->config->max_body_size;

    req->keep_alive = http_should_keep_alive(&hc->parser);
    /* no protocol switch here: after this response, close, so that the
     * other protocol's bytes are never read as HTTP */
    req->upgrade = hc->parser.upgrade;
    if (req->upgrade)
        req->keep_alive = 0;
    req->is_head = hc->parser.method == HTTP_HEAD;
    /* the parser reads no body for CONNECT (what follows the head is the
     * tunnel's): one that declares a body is refused, rather than handed
     * to the app with a body that ends at once */
    if (hc->parser.method == HTTP_CONNECT &&
        ((hc->parser.flags & F_CHUNKED) ||
         ((hc->parser.flags & F_CONTENTLENGTH) && hc->parser.content_length > 0)))
        return 400;
    if (hc->parser.flags & F_CHUNKED)
        req->has_body = 1;
    else if (hc->parser.flags & F_CONTENTLENGTH) {
        req->content_length = (int64_t)hc->parser.content_length;
        req->has_body = req->content_length > 0;
        if (max >= 0 && hc->parser.content_length > (uint64_t)max)
            return 413;
    }
    if (expect != NULL && req->http_minor >= 1) {
        if (strcasecmp(expect, "100-continue") != 0)
            return 417;
        req->expect_continue = req->has_body;
    }
    return 0;
}

/* The head is in: checks it (each refusal sets the status to answer). */
static int head_validate(struct moss__http_conn *hc)
{
    struct moss_request *req = &hc->req;
    int status;

    req->http_major = hc->parser.http_major;
    req->http_minor = hc->parser.http_minor;
    req->method = http_method_str((enum http_method)hc->parser.method);
    if (head_split_target(req, hc->parser.method == HTTP_CONNECT) == -1 ||
        head_check_framing(hc) == -1) {
        req->error_status = 400;
        return -1;
    }
    if (req->http_major != 1) {
        req->error_status = 505;
        return -1;
    }
    status = head_read_semantics(hc);
    if (status != 0) {
        req->error_status = status;
        return -1;
    }
    return 0;
}

/* The parser paused at the end of the head, before the head's last LF. It
 * is fed that byte now, so it sees the whole head (and, for a request
 * without a body, reaches the message's end). */
static int head_complete(struct moss__http_conn *hc)
{
    struct moss__conn *conn = hc->conn;
    struct moss_request *req = &hc->req;
    size_t done;

    if (head_validate(hc) == -1)
        return -1;
    http_parser_pause(&hc->parser, 0);
    if (conn->start >= conn->end || framing_scan(req, conn->buf + conn->start, 1) == -1) {
        req->error_status = 400;
        return -1;
    }
    done = http_parser_execute(&hc->parser, &request_settings, conn->buf + conn->start, 1);
    conn->start += done;
    req->head_bytes += done;
    if (HTTP_PARSER_ERRNO(&hc->parser) != HPE_OK && HTTP_PARSER_ERRNO(&hc->parser) != HPE_PAUSED) {
        req->error_status = 400;
        return -1;
    }
    return 1;
}

static int parse_error_status(const struct moss__http_conn *hc)
{
    enum http_errno err = HTTP_PARSER_ERRNO(&hc->parser);

    if (hc->req.error_status != 0)
        return hc->req.error_status;
    return err == HPE_HEADER_OVERFLOW ? 431 : 400;
}

int moss__http_head_feed(struct moss__http_conn *hc)
{
    struct moss__conn *conn = hc->conn;
    struct moss_request *req = &hc->req;
    size_t max = hc->config->max_header_size > 0 ? (size_t)hc->config->max_header_size
                                                 : conn->capacity;
    size_t avail = conn->end - conn->start, n, done;

    if (req->head_bytes >= max) {
        req->error_status = 431;
        return -1;
    }
    n = avail < max - req->head_bytes ? avail : max - req->head_bytes;
    if (n == 0)
        return 0;
    done = http_parser_execute(&hc->parser, &request_settings, conn->buf + conn->start, n);
    if (framing_scan(req, conn->buf + conn->start, done) == -1)
        return -1;
    conn->start += done;
    req->head_bytes += done;
    if (HTTP_PARSER_ERRNO(&hc->parser) == HPE_PAUSED)
        return head_complete(hc);
    if (HTTP_PARSER_ERRNO(&hc->parser) != HPE_OK) {
        req->error_status = parse_error_status(hc);
        return -1;
    }
    if (req->head_bytes >= max) {
        req->error_status = 431;
        return -1;
    }
    return 0;
}

/* ---- the body ------------------------------------------------------------------ */

static ptrdiff_t body_fail(struct moss_request *req, int err)
{
    req->body_err = err;
    errno = err;
    return -1;
}

/* Feeds buffered bytes to the parser, at most len (so the body bytes it
 * yields fit in buf). The body bytes got, or -1 with errno. */
static ptrdiff_t body_feed(struct moss__http_conn *hc, char *buf, size_t len)
{
    struct moss__conn *conn = hc->conn;
    struct moss_request *req = &hc->req;
    size_t avail = conn->end - conn->start, done;
    const char *fed = conn->buf + conn->start;
    enum http_errno err;

    req->body_dst = buf;
    req->body_got = 0;
    req->scan_from = fed;
    done = http_parser_execute(&hc->parser, &request_settings, fed, avail < len ? avail : len);
    req->body_dst = NULL;
    conn->start += done;
    req->body_wire += done;
    err = HTTP_PARSER_ERRNO(&hc->parser);
    if ((err != HPE_OK && err != HPE_PAUSED) ||
        framing_scan(req, req->scan_from, (size_t)(fed + done - req->scan_from)) == -1)
        return body_fail(req, req->error_status == 413 ? EMSGSIZE : EPROTO);
    if (req->body_wire - req->body_received >
        MOSS__HTTP_FRAMING_SLACK + MOSS__HTTP_CHUNK_OVERHEAD * req->chunks)
        return body_fail(req, EMSGSIZE);
    return (ptrdiff_t)req->body_got;
}

/* Reads more bytes for the body. ETIMEDOUT and the end of the stream are
 * sticky (the body cannot go on); a kill is not, so that the connection can
 * still drain the body of a request whose handler was cancelled. */
static int body_fill(struct moss__http_conn *hc, int64_t wait)
{
    ptrdiff_t n;
    int64_t deadline = wait;

    if (wait == 0) {
        errno = EAGAIN;
        return -1;
    }
    if (wait == MOSS_FOREVER)
        deadline = moss__http_deadline(hc->config->body_timeout_ms);
    n = moss__conn_fill(hc->conn, deadline);
    if (n > 0) {
        moss__counter_add(&hc->w->counters->bytes_in, (uint64_t)n);
        return 0;
    }
    if (n == 0)
        return (int)body_fail(&hc->req, ECONNRESET);
    if (errno == ECANCELED)
        return -1;
    return (int)body_fail(&hc->req, errno);
}

ptrdiff_t moss__http_body_read(struct moss__http_conn *hc, char *buf, size_t len, int64_t wait)
{
    struct moss_request *req = &hc->req;

    for (;;) {
        ptrdiff_t n = 0;

        if (req->body_err != 0) {
            errno = req->body_err;
            return -1;
        }
        if (req->body_done || len == 0)
            return 0;
        if (hc->conn->start < hc->conn->end)
            n = body_feed(hc, buf, len);
        if (n != 0 || req->body_done)
            return n;
        /* only framing was buffered (or nothing): wait for more */
        if (hc->conn->start == hc->conn->end && body_fill(hc, wait) == -1)
            return -1;
    }
}

/* ---- the public calls -------------------------------------------------------- */

/* The calls that touch the connection work only while the handler runs. */
static int request_usable(const moss_request_t *req)
{
    if (req == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (req->hc->orphaned) {
        errno = ECANCELED;
        return -1;
    }
    if (!req->hc->in_handler) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* "Expect: 100-continue" is answered when the handler first reads: a
 * handler that answers without reading never makes the client send it. */
static int request_continue(struct moss__http_conn *hc)
{
    static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct moss_request *req = &hc->req;

    if (!req->expect_continue || req->continue_sent || req->body_done || hc->res.started)
        return 0;
    req->continue_sent = 1;
    return moss__http_write(hc, line, sizeof(line) - 1, 0);
}

ptrdiff_t moss_request_read(moss_request_t *req, void *buf, size_t len)
{
    if (request_usable(req) == -1)
        return -1;
    if (buf == NULL && len > 0) {
        errno = EINVAL;
        return -1;
    }
    if (request_continue(req->hc) == -1)
        return -1;
    return moss__http_body_read(req->hc, buf, len, MOSS_FOREVER);
}

const char *moss_request_method(const moss_request_t *req)
{
    return req->method;
}

const char *moss_request_path(const moss_request_t *req)
{
    return req->path;
}

const char *moss_request_query(const moss_request_t *req)
{
    return req->query;
}

const char *moss_request_header(const moss_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->header_count; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

size_t moss_request_header_count(const moss_request_t *req)
{
    return req->header_count;
}

int moss_request_header_at(const moss_request_t *req, size_t i, const char **name,
                           const char **value)
{
    if (i >= req->header_count) {
        errno = EINVAL;
        return -1;
    }
    if (name != NULL)
        *name = req->headers[i].name;
    if (value != NULL)
        *value = req->headers[i].value;
    return 0;
}

const char *moss_request_client(const moss_request_t *req)
{
    return req->hc->client;
}

int64_t moss_request_content_length(const moss_request_t *req)
{
    return req->content_length;
}

/* ---- query parameters ---------------------------------------------------------- */

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte that s[*i] starts (a %XX escape, '+' for a space, or itself),
 * advancing *i past it. A malformed escape stands for itself. */
static char query_next(const char *s, size_t n, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];

    if (c == '%' && *i + 2 < n && hex_value((unsigned char)s[*i + 1]) >= 0 &&
        hex_value((unsigned char)s[*i + 2]) >= 0) {
        c = (unsigned char)(hex_value((unsigned char)s[*i + 1]) * 16 +
                            hex_value((unsigned char)s[*i + 2]));
        *i += 3;
        return (char)c;
    }
    (*i)++;
    return c == '+' ? ' ' : (char)c;
}

/* Whether s[0, n) decodes to name. */
static int query_name_is(const char *s, size_t n, const char *name)
{
    size_t i = 0, j = 0;

    while (i < n) {
        if (name[j] == '\0' || query_next(s, n, &i) != name[j])
            return 0;
        j++;
    }
    return name[j] == '\0';
}

static ptrdiff_t query_decode(const char *s, size_t n, char *buf, size_t cap)
{
    size_t i = 0, len = 0;

    while (i < n) {
        char c = query_next(s, n, &i);

        if (len + 1 >= cap) {
            errno = ENOSPC;
            return -1;
        }
        buf[len++] = c;
    }
    if (cap == 0) {
        errno = ENOSPC;
        return -1;
    }
    buf[len] = '\0';
    return (ptrdiff_t)len;
}

ptrdiff_t moss_request_query_param(const moss_request_t *req, const char *name, char *buf,
                                   size_t cap)
{
    const char *q = req->query != NULL ? req->query : "";

    while (*q != '\0') {
        size_t seg = strcspn(q, "&"), key = strcspn(q, "=&");

        if (query_name_is(q, key, name)) {
            const char *v = key < seg ? q + key + 1 : q + seg;

            return query_decode(v, (size_t)(q + seg - v), buf, cap);
        }
        q += seg;
        if (*q == '&')
            q++;
    }
    errno = ENOENT;
    return -1;
}
