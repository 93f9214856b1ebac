/* Fuzz harness: the HTTP request path (worker/http_request.c), the way
 * worker/http_conn.c drives it, without a socket or a hub.
 *
 * The input is the byte stream a client sends on one connection: one
 * request or several (pipelined), heads and bodies. It is handed to the
 * connection's buffer a piece at a time by http_fz_fill, which does what
 * moss__conn_fill does (compact, then add at most the free room) but takes
 * the bytes from the input instead of read(2). Each request goes through
 * moss__http_request_reset, moss__http_head_feed (libhttp-parser, the
 * framing scan, the limits and the smuggling checks), the request
 * accessors, moss__http_body_read with no wait (the body framing), and
 * moss__access_log (its escaping); then the next pipelined request, as long
 * as the real server would go on.
 *
 * Every input runs four times: with the default limits, fed as much as
 * fits and then one byte at a time; with tight limits, as much as fits and
 * then in small uneven pieces. Each run hashes what moss made of the stream
 * (every request's head, body and outcome); runs with the same limits must
 * agree, since a parse that depends on how TCP cut the stream is a request
 * smuggling bug. Invariants checked on every request: the limits
 * (max_header_size, max_headers, max_body_size), no control bytes in
 * anything parsed from the head, and access log lines that are one line
 * and, in JSON, valid JSON. */
#include "fuzz.h"

#include "../worker/http.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

/* ---- the passes ------------------------------------------------------------ */

/* How one run cuts the stream and reads bodies. */
struct http_fz_pass {
    int tight;                    /* the tight limits, else moss's defaults */
    const uint8_t *pieces;        /* sizes of the successive fills, cycling; */
    size_t piece_count;           /* none: each fill takes what fits */
    const uint8_t *reads;         /* the handler's read sizes, cycling */
    size_t read_count;
    uint64_t read_max;            /* body bytes read into buffers; the rest drained */
};

static const uint8_t http_fz_one[] = {1};
static const uint8_t http_fz_uneven[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 32};
static const uint8_t http_fz_reads_wide[] = {1, 3, 64, 255};
static const uint8_t http_fz_reads_narrow[] = {5, 2, 1};

#define HTTP_FZ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Passes 0 and 1 must agree, as must 2 and 3. */
static const struct http_fz_pass http_fz_passes[4] = {
    {0, NULL, 0, http_fz_reads_wide, HTTP_FZ_COUNT(http_fz_reads_wide), UINT64_MAX},
    {0, http_fz_one, 1, http_fz_reads_wide, HTTP_FZ_COUNT(http_fz_reads_wide), UINT64_MAX},
    {1, NULL, 0, http_fz_reads_narrow, HTTP_FZ_COUNT(http_fz_reads_narrow), 8},
    {1, http_fz_uneven, HTTP_FZ_COUNT(http_fz_uneven), http_fz_reads_narrow,
     HTTP_FZ_COUNT(http_fz_reads_narrow), 8},
};

/* The two configs, built once: moss's defaults with a text access log,
 * and the smallest limits the settings allow with a JSON one. */
static moss_config_t *http_fz_configs[2];

static moss_config_t *http_fz_config_build(int tight)
{
    static const char *const tight_settings[][2] = {
        {"max_header_size", "1k"}, {"max_headers", "4"}, {"max_body_size", "16"},
        {"access_log_format", "json"}, {"max_requests_per_connection", "3"}};
    moss_config_t *c = moss_config_new();
    const char *why;

    MOSS_FUZZ_CHECK(c != NULL);
    for (size_t i = 0; tight && i < HTTP_FZ_COUNT(tight_settings); i++) {
        int rc = moss_config_set(c, tight_settings[i][0], tight_settings[i][1], &why);

        MOSS_FUZZ_CHECK(rc == 0);
    }
    return c;
}

/* ---- one connection ---------------------------------------------------------- */

struct http_fz_run {
    const struct http_fz_pass *pass;
    const struct moss_config *config;
    struct moss__worker w;
    struct moss__conn conn;
    struct moss__http_conn *hc;
    const uint8_t *data;          /* the client's bytes; data[fed..size) not sent yet */
    size_t size, fed, piece_at, read_at;
    uint64_t hash;                /* FNV-1a of what moss made of the stream */
    uint64_t body_hash;           /* the same of the body bytes the handler read */
};

#define HTTP_FZ_FNV_START 0xcbf29ce484222325ULL

static void http_fz_fnv(uint64_t *hash, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        *hash = (*hash ^ b[i]) * 0x100000001b3ULL;
}

static void http_fz_mix(struct http_fz_run *run, const void *p, size_t n)
{
    http_fz_fnv(&run->hash, p, n);
}

static void http_fz_mix_u64(struct http_fz_run *run, uint64_t v)
{
    http_fz_mix(run, &v, sizeof(v));
}

/* A string with its NUL (so "ab","c" and "a","bc" differ); NULL as 0xff. */
static void http_fz_mix_str(struct http_fz_run *run, const char *s)
{
    if (s == NULL)
        http_fz_mix(run, "\xff", 1);
    else
        http_fz_mix(run, s, strlen(s) + 1);
}

/* What http_conn_new and the stream server set up for a connection: a
 * buffer of max_header_size bytes (allocated to size, so that ASan sees
 * any read past it), the head's store and the header slots. */
static void http_fz_conn_open(struct http_fz_run *run)
{
    const struct moss_config *config = run->config;
    size_t head_max = (size_t)config->max_header_size;
    size_t header_max = config->max_headers > 0 ? (size_t)config->max_headers : 1;
    struct moss__http_conn *hc = calloc(1, sizeof(*hc));

    if (header_max > head_max / 3 + 1)
        header_max = head_max / 3 + 1;
    run->conn = (struct moss__conn){.fd = -1, .worker = &run->w, .capacity = head_max};
    strcpy(run->conn.client, "192.0.2.7:40000");
    run->conn.buf = malloc(run->conn.capacity);
    MOSS_FUZZ_CHECK(hc != NULL && run->conn.buf != NULL);
    hc->req.store_cap = head_max + 2;
    hc->req.store = malloc(hc->req.store_cap);
    hc->req.headers = calloc(header_max, sizeof(*hc->req.headers));
    MOSS_FUZZ_CHECK(hc->req.store != NULL && hc->req.headers != NULL);
    hc->req.header_max = header_max;
    hc->req.hc = hc;
    hc->w = &run->w;
    hc->conn = &run->conn;
    hc->config = config;
    memcpy(hc->client, run->conn.client, sizeof(hc->client));
    run->hc = hc;
}

static void http_fz_conn_close(struct http_fz_run *run)
{
    free(run->hc->req.store);
    free(run->hc->req.headers);
    free(run->hc);
    free(run->conn.buf);
}

/* moss__conn_fill with the input for a socket: compacts the buffer, then
 * adds the next piece (at most the free room). The count added, 0 at the
 * end of the input, or -1 when the buffer is full of unconsumed bytes. */
static ptrdiff_t http_fz_fill(struct http_fz_run *run)
{
    struct moss__conn *conn = &run->conn;
    size_t n = run->size - run->fed, room;

    if (conn->start == conn->end) {
        conn->start = conn->end = 0;
    } else if (conn->start > 0) {
        memmove(conn->buf, conn->buf + conn->start, conn->end - conn->start);
        conn->end -= conn->start;
        conn->start = 0;
    }
    room = conn->capacity - conn->end;
    if (room == 0)
        return -1;
    if (run->pass->piece_count > 0) {
        size_t piece = run->pass->pieces[run->piece_at++ % run->pass->piece_count];

        n = n < piece ? n : piece;
    }
    if (n > room)
        n = room;
    memcpy(conn->buf + conn->end, run->data + run->fed, n);
    conn->end += n;
    run->fed += n;
    return (ptrdiff_t)n;
}

/* ---- checks -------------------------------------------------------------------- */

/* No byte of a parsed head piece is a control byte; HT only where allowed
 * (header values). The framing scan promises this: a CR, LF or NUL here
 * would let a request forge headers or log lines downstream. */
static void http_fz_check_text(const char *s, int tab_ok)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        MOSS_FUZZ_CHECK((c >= 0x20 && c != 0x7f) || (c == '\t' && tab_ok));
    }
}

/* An access log line: one whole line of printable ASCII; in JSON, an
 * object whose path and method are strings. */
static void http_fz_check_log_line(const char *line, size_t len, int json)
{
    json_t *root;

    MOSS_FUZZ_CHECK(len > 0 && line[len - 1] == '\n' && strlen(line) == len);
    for (size_t i = 0; i + 1 < len; i++)
        MOSS_FUZZ_CHECK(line[i] >= 0x20 && line[i] < 0x7f);
    if (!json)
        return;
    root = json_loadb(line, len, 0, NULL);
    MOSS_FUZZ_CHECK(root != NULL && json_is_object(root));
    MOSS_FUZZ_CHECK(json_is_string(json_object_get(root, "path")));
    MOSS_FUZZ_CHECK(json_is_string(json_object_get(root, "method")));
    json_decref(root);
}

/* The access log line http_log_request would write for this request,
 * written to memory and checked. */
static void http_fz_access_log(struct http_fz_run *run, int status)
{
    const struct moss_request *req = &run->hc->req;
    struct moss__access_record rec = {
        .client = run->hc->client,
        .method = req->method != NULL ? req->method : "-",
        .path = req->path != NULL ? req->path : req->url != NULL ? req->url : "-",
        .http_major = req->http_major != 0 ? req->http_major : 1,
        .http_minor = req->http_major != 0 ? req->http_minor : 1,
        .status = status,
    };
    char *line = NULL;
    size_t len = 0;

    run->w.access_log = open_memstream(&line, &len);
    MOSS_FUZZ_CHECK(run->w.access_log != NULL);
    moss__access_log(&run->w, &rec);
    MOSS_FUZZ_CHECK(fclose(run->w.access_log) == 0);
    run->w.access_log = NULL;
    http_fz_check_log_line(line, len, run->config->access_log_format == MOSS__LOG_JSON);
    free(line);
}

/* ---- the handler's side ------------------------------------------------------------ */

/* The head as parsed, mixed into the hash and checked against the limits
 * and the framing scan's promise. */
static void http_fz_head(struct http_fz_run *run)
{
    const moss_request_t *req = &run->hc->req;
    const struct moss_config *config = run->config;
    size_t count = moss_request_header_count(req);

    MOSS_FUZZ_CHECK(req->head_bytes <= (size_t)config->max_header_size);
    MOSS_FUZZ_CHECK(count <= (size_t)config->max_headers && req->store_len < req->store_cap);
    MOSS_FUZZ_CHECK(req->content_length <= config->max_body_size);
    http_fz_mix_str(run, moss_request_method(req));
    http_fz_mix_str(run, moss_request_path(req));
    http_fz_mix_str(run, moss_request_query(req));
    http_fz_check_text(moss_request_method(req), 0);
    http_fz_check_text(moss_request_path(req), 0);
    http_fz_check_text(moss_request_query(req), 0);
    for (size_t i = 0; i < count; i++) {
        const char *name, *value;

        MOSS_FUZZ_CHECK(moss_request_header_at(req, i, &name, &value) == 0);
        http_fz_check_text(name, 0);
        http_fz_check_text(value, 1);
        http_fz_mix_str(run, name);
        http_fz_mix_str(run, value);
    }
    MOSS_FUZZ_CHECK(moss_request_header_at(req, count, NULL, NULL) == -1);
    MOSS_FUZZ_CHECK(strcmp(moss_request_client(req), "192.0.2.7:40000") == 0);
    http_fz_mix_u64(run, (uint64_t)moss_request_content_length(req));
    http_fz_mix_u64(run, req->head_bytes);
    http_fz_mix_u64(run, (uint64_t)(req->http_major * 1000 + req->http_minor));
    http_fz_mix_u64(run, (uint64_t)(req->has_body | req->keep_alive << 1 | req->is_head << 2 |
                                    req->expect_continue << 3 | req->upgrade << 4));
}

/* Query parameters into buffers of exactly their capacity (ASan sees an
 * overrun), for names the demo app reads and one that decodes from '+'. */
static void http_fz_query(struct http_fz_run *run)
{
    static const char *const names[] = {"ms", "url", "a b", ""};
    static const size_t caps[] = {1, 8, 300};

    for (size_t i = 0; i < HTTP_FZ_COUNT(names); i++) {
        for (size_t j = 0; j < HTTP_FZ_COUNT(caps); j++) {
            char *buf = malloc(caps[j]);
            ptrdiff_t n;

            MOSS_FUZZ_CHECK(buf != NULL);
            n = moss_request_query_param(&run->hc->req, names[i], buf, caps[j]);
            MOSS_FUZZ_CHECK(n == -1 || ((size_t)n < caps[j] && buf[n] == '\0'));
            if (n >= 0)
                http_fz_mix(run, buf, (size_t)n + 1);
            free(buf);
        }
    }
}

/* One read of at most want body bytes into a buffer of exactly that size
 * (NULL: dropped), feeding the buffer from the input while the reader
 * needs more; the first `hash` bytes read go into body_hash. The count, 0
 * at the body's end, or -1 with the body error moss would see (the input's
 * end is the peer's close: ECONNRESET). */
static ptrdiff_t http_fz_body_read(struct http_fz_run *run, size_t want, int keep,
                                   uint64_t hash)
{
    char *buf = keep ? malloc(want) : NULL;
    ptrdiff_t n;

    MOSS_FUZZ_CHECK(!keep || buf != NULL);
    while ((n = moss__http_body_read(run->hc, buf, want, 0)) == -1 && errno == EAGAIN) {
        ptrdiff_t got = http_fz_fill(run);

        if (got <= 0) {
            run->hc->req.body_err = got == 0 ? ECONNRESET : ENOBUFS;
            break;
        }
    }
    MOSS_FUZZ_CHECK(n == -1 || (size_t)n <= want);
    if (n > 0 && keep)
        http_fz_fnv(&run->body_hash, buf, (size_t)n < hash ? (size_t)n : (size_t)hash);
    free(buf);
    return n;
}

/* The handler reads at least read_max body bytes (all there are, if
 * fewer) in buffers of the pass's sizes, and the server drains the rest (as
 * http_drain_body does). How many bytes a read returns depends on how the
 * stream was cut (framing and data share a feed), so exactly the first
 * read_max are hashed. */
static void http_fz_body(struct http_fz_run *run)
{
    const struct moss_request *req = &run->hc->req;
    uint64_t kept = 0;
    ptrdiff_t n = 1;

    run->body_hash = HTTP_FZ_FNV_START;
    while (n > 0 && kept < run->pass->read_max) {
        size_t want = run->pass->reads[run->read_at++ % run->pass->read_count];

        n = http_fz_body_read(run, want, 1, run->pass->read_max - kept);
        kept += n > 0 ? (uint64_t)n : 0;
    }
    while (n > 0)
        n = http_fz_body_read(run, SIZE_MAX, 0, 0);
    /* a body error is sticky; the end of a body stays the end */
    MOSS_FUZZ_CHECK(moss__http_body_read(run->hc, NULL, 1, 0) == n &&
                    (n == 0 || errno == req->body_err));
    MOSS_FUZZ_CHECK(run->config->max_body_size < 0 ||
                    req->body_received <= (uint64_t)run->config->max_body_size);
    MOSS_FUZZ_CHECK(!req->body_done || req->content_length < 0 ||
                    req->body_received == (uint64_t)req->content_length);
    /* after a refusal, how far the parser got (and what it copied into the
     * failed read's buffer) depends on how much it was fed at once: only
     * the refusal counts */
    if (n == 0) {
        http_fz_mix_u64(run, run->body_hash);
        http_fz_mix_u64(run, req->body_received);
        http_fz_mix_u64(run, req->body_wire);
    } else {
        MOSS_FUZZ_CHECK(req->body_err != 0);
        http_fz_mix_u64(run, UINT64_MAX);
    }
}

/* ---- the connection's loop --------------------------------------------------------- */

/* http_read_head: 1 for a head, -1 refused (req.error_status says why),
 * 0 when the input ends first (the server closes without a response). */
static int http_fz_read_head(struct http_fz_run *run)
{
    for (;;) {
        int fed = moss__http_head_feed(run->hc);

        if (fed != 0)
            return fed;
        if (http_fz_fill(run) <= 0)
            return 0;
    }
}

/* A status moss__http_head_feed may refuse a head with. */
static int http_fz_refusal(int status)
{
    return status == 400 || status == 413 || status == 417 || status == 431 || status == 505;
}

/* The status http_complete_response would answer with. */
static int http_fz_status(const struct moss_request *req)
{
    switch (req->body_err) {
    case 0:
        return 200;
    case ETIMEDOUT:
        return 408;
    case EMSGSIZE:
        return 413;
    default:
        return 400;
    }
}

/* http_serve_one: 0 when the connection would carry a next request. */
static int http_fz_serve_one(struct http_fz_run *run, int64_t served)
{
    struct moss_request *req = &run->hc->req;
    int head;

    moss__http_request_reset(run->hc);
    moss__http_response_reset(run->hc);
    head = http_fz_read_head(run);
    /* a refusal, not its status: where a limit and a syntax error meet,
     * which is seen first may depend on the cut (431 or 400), and either
     * way the connection ends */
    http_fz_mix_u64(run, (uint64_t)(head + 1));
    if (head == 0)
        return -1;
    if (head == -1) {
        MOSS_FUZZ_CHECK(http_fz_refusal(req->error_status));
        http_fz_access_log(run, req->error_status);
        return -1;
    }
    http_fz_head(run);
    http_fz_query(run);
    http_fz_body(run);
    http_fz_access_log(run, http_fz_status(req));
    return req->body_done && req->body_err == 0 && req->keep_alive &&
                   served + 1 < run->config->max_requests_per_connection
               ? 0
               : -1;
}

/* One connection carrying the input, cut as the pass says: the hash of
 * what moss made of it. */
static uint64_t http_fz_pass_run(const uint8_t *data, size_t size, int index)
{
    const struct http_fz_pass *pass = &http_fz_passes[index];
    struct http_fz_run run = {.pass = pass, .config = http_fz_configs[pass->tight],
                              .data = data, .size = size, .hash = HTTP_FZ_FNV_START};
    int64_t served = 0;

    run.w.config = run.config;
    http_fz_conn_open(&run);
    while (http_fz_serve_one(&run, served) == 0)
        served++;
    http_fz_mix_u64(&run, (uint64_t)served);
    http_fz_conn_close(&run);
    return run.hash;
}

int moss_fuzz_http_request(const uint8_t *data, size_t size)
{
    uint64_t hash[4];

    for (int i = 0; i < 2; i++)
        if (http_fz_configs[i] == NULL)
            http_fz_configs[i] = http_fz_config_build(i);
    for (int i = 0; i < 4; i++)
        hash[i] = http_fz_pass_run(data, size, i);
    /* the same limits, the stream cut differently: the same requests */
    MOSS_FUZZ_CHECK(hash[0] == hash[1]);
    MOSS_FUZZ_CHECK(hash[2] == hash[3]);
    return 0;
}

#ifndef MOSS_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return moss_fuzz_http_request(data, size);
}
#endif
