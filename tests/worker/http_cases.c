/* The HTTP/1.1 server (worker/http_*.c) on loopback connections. Each case
 * builds a config and a worker by hand, accepts connections in a server
 * greenlet that calls moss__http_serve as the stream server would, and
 * drives them with clients in greenlets: raw bytes out, and the bytes that
 * come back both checked raw and parsed (with libhttp-parser in response
 * mode). Timeouts are short (hundreds of ms) and checked only to an order
 * of magnitude; every wait has a deadline and every loop a bound. */
#include "../../config/config.h"
#include "../../worker/worker.h"
#include "harness.h"
#include "moss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define LONG_WAIT 5000   /* ms: a generous bound for what should be quick */
#define CONNS_MAX 32
#define RESPONSES_MAX 8
#define WIRE_MAX 32768
#define BODY_MAX 8192
#define HEADS_MAX 2048

static int64_t soon(void)
{
    return moss_now() + LONG_WAIT;
}

/* ---- the server under test ---------------------------------------------------- */

static struct moss_config cfg;
static struct moss__worker_counters counters;
static struct moss__worker worker;
static moss_app_t app;
static int app_tag; /* app_data: its address */

static struct {
    int listener;
    struct sockaddr_in addr;
    moss_greenlet_t *acceptor;
    moss_greenlet_t *conn[CONNS_MAX];
    struct moss__conn_entry *entry[CONNS_MAX];
    unsigned count;
} srv;

/* What the handlers saw, for the cases to check. */
static struct {
    unsigned handled;
    int read_errno;       /* the last failed moss_request_read */
    int sleep_errno;      /* /sleep's moss_sleep */
    int late_send_errno;  /* /slow's send after a cancelled sleep */
    int api_ok;           /* /api's checks of the response calls */
} seen;

static void config_defaults(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_header_size = 2048;
    cfg.max_headers = 16;
    cfg.max_body_size = 65536;
    cfg.header_timeout_ms = 2000;
    cfg.body_timeout_ms = 2000;
    cfg.keepalive_timeout_ms = 3000;
    cfg.max_requests_per_connection = 100;
    cfg.request_timeout_ms = 3000;
    cfg.graceful_timeout_ms = 1000;
    cfg.access_log_format = MOSS__LOG_TEXT;
}

static void *conn_run(void *arg)
{
    struct moss__conn_entry *entry = arg;

    entry->greenlet = moss_greenlet_current();
    moss__http_serve(&worker, entry);
    TEST_ASSERT(moss_close(entry->conn.fd) == 0);
    return NULL;
}

/* The stream server's part: a buffer of max_header_size per connection. */
static struct moss__conn_entry *entry_new(int fd, const struct sockaddr_in *peer)
{
    struct moss__conn_entry *entry = calloc(1, sizeof(*entry));

    TEST_ASSERT(entry != NULL);
    entry->conn.fd = fd;
    entry->conn.worker = &worker;
    entry->conn.capacity = (size_t)cfg.max_header_size;
    entry->conn.buf = malloc(entry->conn.capacity);
    TEST_ASSERT(entry->conn.buf != NULL);
    snprintf(entry->conn.client, sizeof(entry->conn.client), "127.0.0.1:%u",
             (unsigned)ntohs(peer->sin_port));
    return entry;
}

static void *acceptor_run(void *arg)
{
    (void)arg;
    while (srv.count < CONNS_MAX) {
        struct sockaddr_in peer;
        unsigned len = sizeof(peer);
        int fd = moss_accept(srv.listener, (struct sockaddr *)&peer, &len, MOSS_FOREVER);

        if (fd == -1)
            return NULL; /* the listener was closed: the case is over */
        srv.entry[srv.count] = entry_new(fd, &peer);
        srv.conn[srv.count] = moss_spawn(conn_run, srv.entry[srv.count]);
        TEST_ASSERT(srv.conn[srv.count] != NULL);
        srv.count++;
    }
    return NULL;
}

static int test_handle(moss_request_t *req, moss_response_t *res, void *app_data);

/* Starts the server with cfg as the case left it. */
static void server_start(void)
{
    socklen_t len = sizeof(srv.addr);

    worker.config = &cfg;
    worker.serve = moss__http_serve;
    app.name = "http-test";
    app.handle = test_handle;
    worker.app = &app;
    worker.app_data = &app_tag;
    worker.counters = &counters;
    worker.error_log = tmpfile();
    TEST_ASSERT(worker.error_log != NULL);
    srv.listener = moss_socket(AF_INET, SOCK_STREAM, 0);
    TEST_ASSERT(srv.listener != -1);
    srv.addr = (struct sockaddr_in){.sin_family = AF_INET};
    srv.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(srv.listener, (struct sockaddr *)&srv.addr, sizeof(srv.addr)) == 0);
    TEST_ASSERT(listen(srv.listener, 64) == 0);
    TEST_ASSERT(getsockname(srv.listener, (struct sockaddr *)&srv.addr, &len) == 0);
    srv.acceptor = moss_spawn(acceptor_run, NULL);
    TEST_ASSERT(srv.acceptor != NULL);
}

/* Stops accepting, waits for every connection's greenlet (the clients have
 * closed), frees what the stream server would. */
static void server_stop(void)
{
    TEST_ASSERT(moss_close(srv.listener) == 0);
    TEST_ASSERT(moss_join(srv.acceptor, soon(), NULL) == 0);
    for (unsigned i = 0; i < srv.count; i++) {
        TEST_ASSERT(moss_join(srv.conn[i], soon(), NULL) == 0);
        free(srv.entry[i]->conn.buf);
        free(srv.entry[i]);
    }
    wait_all_finished();
    fclose(worker.error_log);
    if (worker.access_log != NULL)
        fclose(worker.access_log);
}

/* The whole content of a log file, NUL-terminated, in a static buffer. */
static const char *log_text(FILE *f)
{
    static char text[8192];
    size_t n;

    TEST_ASSERT(fflush(f) == 0);
    rewind(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    return text;
}

/* ---- the test app ------------------------------------------------------------- */

/* Reads the whole body in small pieces (to exercise partial reads) and
 * sends it back. */
static int handle_echo(moss_request_t *req, moss_response_t *res)
{
    static char body[65536];
    size_t got = 0;

    for (int i = 0; i < 100000 && got < sizeof(body); i++) {
        size_t want = sizeof(body) - got < 7 ? sizeof(body) - got : 7;
        ptrdiff_t n = moss_request_read(req, body + got, want);

        if (n == 0)
            break;
        if (n < 0) {
            seen.read_errno = errno;
            return -1;
        }
        got += (size_t)n;
    }
    return moss_response_send(res, 200, "application/octet-stream", body, got);
}

static int handle_stream(moss_response_t *res)
{
    static const char *const pieces[] = {"hello ", "chunked ", "world"};

    if (moss_response_start(res, 200, "text/plain", -1) == -1)
        return -1;
    for (size_t i = 0; i < 3; i++)
        if (moss_response_write(res, pieces[i], strlen(pieces[i])) == -1)
            return -1;
    return moss_response_end(res);
}

/* Checks the response calls' errors, then answers with the query
 * parameters and a request header. */
static int handle_api(moss_request_t *req, moss_response_t *res)
{
    char q[64], e[8], tiny[3], out[256];
    int ok = 1;

    ok &= moss_request_query_param(req, "q", q, sizeof(q)) == 7 && strcmp(q, "a b+c d") == 0;
    ok &= moss_request_query_param(req, "e", e, sizeof(e)) == 0 && e[0] == '\0';
    ok &= moss_request_query_param(req, "missing", e, sizeof(e)) == -1 && errno == ENOENT;
    ok &= moss_request_query_param(req, "q", tiny, sizeof(tiny)) == -1 && errno == ENOSPC;
    ok &= moss_response_header(res, "Content-Length", "1") == -1 && errno == EINVAL;
    ok &= moss_response_header(res, "X-Bad", "a\r\nb") == -1 && errno == EINVAL;
    ok &= moss_response_header(res, "X-Reply", "yes") == 0;
    ok &= moss_request_content_length(req) == -1 && moss_request_header_count(req) == 2;
    snprintf(out, sizeof(out), "q=%s test=%s client=%s", q, moss_request_header(req, "x-TEST"),
             moss_request_client(req));
    if (moss_response_send(res, 200, "text/plain", out, strlen(out)) == -1)
        return -1;
    ok &= moss_response_header(res, "X-Late", "1") == -1 && errno == EALREADY;
    ok &= moss_response_send(res, 200, NULL, "", 0) == -1 && errno == EALREADY;
    seen.api_ok = ok;
    return 0;
}

static int test_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    const char *path = moss_request_path(req);

    TEST_ASSERT(app_data == &app_tag);
    seen.handled++;
    if (strcmp(path, "/hello") == 0)
        return moss_response_send(res, 200, "text/plain", "hello\n", 6);
    if (strcmp(path, "/echo") == 0)
        return handle_echo(req, res);
    if (strcmp(path, "/stream") == 0)
        return handle_stream(res);
    if (strcmp(path, "/api") == 0)
        return handle_api(req, res);
    if (strcmp(path, "/sleep") == 0) {
        if (moss_sleep(10 * LONG_WAIT) == -1)
            seen.sleep_errno = errno;
        return -1;
    }
    if (strcmp(path, "/slow") == 0) {
        moss_sleep(150);
        if (moss_response_send(res, 200, "text/plain", "slow\n", 5) == -1)
            seen.late_send_errno = errno;
        return 0;
    }
    if (strcmp(path, "/fail") == 0)
        return -1;
    if (strcmp(path, "/nothing") == 0)
        return 0;
    if (strcmp(path, "/noread") == 0)
        return moss_response_send(res, 200, "text/plain", "ok\n", 3);
    return moss_response_send(res, 404, "text/plain", "not found\n", 10);
}

/* ---- the client side ------------------------------------------------------------- */

static int client_connect(void)
{
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    TEST_ASSERT(fd != -1);
    TEST_ASSERT(moss_connect(fd, (struct sockaddr *)&srv.addr, sizeof(srv.addr), soon()) == 0);
    return fd;
}

static void client_send(int fd, const char *text)
{
    TEST_ASSERT(moss_write(fd, text, strlen(text), soon()) == (ptrdiff_t)strlen(text));
}

/* What came back on a connection: the raw bytes, and each response parsed. */
struct wire {
    char raw[WIRE_MAX];
    size_t len;
    int eof;                          /* the server closed (or reset) */
    unsigned count;                   /* complete responses */
    unsigned head_mask;               /* bit i: response i answers a HEAD */
    int status[RESPONSES_MAX];
    char heads[RESPONSES_MAX][HEADS_MAX]; /* "name: value\n" lines */
    size_t heads_len[RESPONSES_MAX];
    char body[RESPONSES_MAX][BODY_MAX];
    size_t body_len[RESPONSES_MAX];
    int in_value;
    http_parser parser;
};

static void wire_heads_add(struct wire *w, const char *at, size_t n)
{
    size_t i = w->count < RESPONSES_MAX ? w->count : RESPONSES_MAX - 1;

    TEST_ASSERT(n < HEADS_MAX - w->heads_len[i]);
    memcpy(w->heads[i] + w->heads_len[i], at, n);
    w->heads_len[i] += n;
    w->heads[i][w->heads_len[i]] = '\0';
}

static int wire_on_field(http_parser *p, const char *at, size_t n)
{
    struct wire *w = p->data;

    if (w->in_value)
        wire_heads_add(w, "\n", 1);
    w->in_value = 0;
    wire_heads_add(w, at, n);
    return 0;
}

static int wire_on_value(http_parser *p, const char *at, size_t n)
{
    struct wire *w = p->data;

    if (!w->in_value)
        wire_heads_add(w, ": ", 2);
    w->in_value = 1;
    wire_heads_add(w, at, n);
    return 0;
}

static int wire_on_headers_complete(http_parser *p)
{
    struct wire *w = p->data;

    TEST_ASSERT(w->count < RESPONSES_MAX);
    if (w->in_value)
        wire_heads_add(w, "\n", 1);
    w->in_value = 0;
    w->status[w->count] = (int)p->status_code;
    return (w->head_mask >> w->count) & 1; /* 1: no body follows */
}

static int wire_on_body(http_parser *p, const char *at, size_t n)
{
    struct wire *w = p->data;

    TEST_ASSERT(n < BODY_MAX - w->body_len[w->count]);
    memcpy(w->body[w->count] + w->body_len[w->count], at, n);
    w->body_len[w->count] += n;
    return 0;
}

static int wire_on_message_complete(http_parser *p)
{
    ((struct wire *)p->data)->count++;
    return 0;
}

static const http_parser_settings wire_settings = {
    .on_header_field = wire_on_field,
    .on_header_value = wire_on_value,
    .on_headers_complete = wire_on_headers_complete,
    .on_body = wire_on_body,
    .on_message_complete = wire_on_message_complete,
};

static struct wire *wire_new(void)
{
    struct wire *w = calloc(1, sizeof(*w));

    TEST_ASSERT(w != NULL);
    http_parser_init(&w->parser, HTTP_RESPONSE);
    w->parser.data = w;
    return w;
}

/* Reads until `want` responses are complete, or the server closes. */
static void wire_read(int fd, struct wire *w, unsigned want)
{
    int64_t deadline = soon();

    while (w->count < want && !w->eof) {
        ptrdiff_t n = moss_read(fd, w->raw + w->len, sizeof(w->raw) - 1 - w->len, deadline);

        TEST_ASSERT(n != -1 || errno == ECONNRESET);
        if (n <= 0) {
            w->eof = 1;
            /* the end of a close-delimited body */
            http_parser_execute(&w->parser, &wire_settings, NULL, 0);
            break;
        }
        TEST_ASSERT(http_parser_execute(&w->parser, &wire_settings, w->raw + w->len,
                                        (size_t)n) == (size_t)n);
        w->len += (size_t)n;
        w->raw[w->len] = '\0';
        TEST_ASSERT(w->len < sizeof(w->raw) - 1);
    }
}

static void wire_read_to_eof(int fd, struct wire *w)
{
    wire_read(fd, w, UINT32_MAX);
    TEST_ASSERT(w->eof);
}

/* Response i's header `name`, or NULL (a static copy of the value). */
static const char *wire_header(const struct wire *w, unsigned i, const char *name)
{
    static char value[256];
    size_t name_len = strlen(name);

    for (const char *line = w->heads[i]; *line != '\0'; line = strchr(line, '\n') + 1) {
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            size_t len = strcspn(line + name_len + 2, "\n");

            TEST_ASSERT(len < sizeof(value));
            memcpy(value, line + name_len + 2, len);
            value[len] = '\0';
            return value;
        }
        if (strchr(line, '\n') == NULL)
            break;
    }
    return NULL;
}

static int wire_body_is(const struct wire *w, unsigned i, const char *text)
{
    return w->body_len[i] == strlen(text) && memcmp(w->body[i], text, w->body_len[i]) == 0;
}

static int header_is(const struct wire *w, unsigned i, const char *name, const char *value)
{
    const char *v = wire_header(w, i, name);

    return v != NULL && strcmp(v, value) == 0;
}

/* One request on a new connection, read until the server closes it. */
static struct wire *exchange_to_close(const char *request)
{
    int fd = client_connect();
    struct wire *w = wire_new();

    client_send(fd, request);
    wire_read_to_eof(fd, w);
    TEST_ASSERT(moss_close(fd) == 0);
    return w;
}

/* ---- keep-alive, pipelining, closing ------------------------------------------ */

static void case_keep_alive_two_requests(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    wire_read(fd, w, 1);
    client_send(fd, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2 && !w->eof);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 200 OK\r\n", 17) == 0);
    TEST_ASSERT(w->status[0] == 200 && wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(w->status[1] == 404 && wire_body_is(w, 1, "not found\n"));
    TEST_ASSERT(header_is(w, 0, "Content-Length", "6"));
    TEST_ASSERT(wire_header(w, 0, "Connection") == NULL);
    TEST_ASSERT(srv.count == 1 && seen.handled == 2); /* one connection */
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_pipelined_requests_in_order(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
                    "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3);
    TEST_ASSERT(w->status[0] == 200 && wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(w->status[1] == 200 && wire_body_is(w, 1, "abcde"));
    TEST_ASSERT(w->status[2] == 200 && wire_body_is(w, 2, "hello chunked world"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_http10_close_and_keep_alive(void)
{
    struct wire *w;
    int fd;

    config_defaults();
    server_start();
    w = exchange_to_close("GET /hello HTTP/1.0\r\n\r\n");
    TEST_ASSERT(w->count == 1 && w->status[0] == 200 && wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(header_is(w, 0, "Connection", "close"));
    free(w);
    /* HTTP/1.0 keep-alive, and a streamed body: close-delimited, no chunks */
    w = wire_new();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(header_is(w, 0, "Connection", "keep-alive") && !w->eof);
    client_send(fd, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    wire_read_to_eof(fd, w);
    TEST_ASSERT(w->count == 2 && wire_body_is(w, 1, "hello chunked world"));
    TEST_ASSERT(header_is(w, 1, "Connection", "close"));
    TEST_ASSERT(wire_header(w, 1, "Transfer-Encoding") == NULL);
    TEST_ASSERT(wire_header(w, 1, "Content-Length") == NULL);
    TEST_ASSERT(strstr(w->raw, "\r\n\r\nhello chunked world") != NULL);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_connection_close_honoured(void)
{
    struct wire *w;

    config_defaults();
    server_start();
    /* the client's Connection: close; a request after it is not served */
    w = exchange_to_close("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
                          "GET /hello HTTP/1.1\r\n\r\n");
    TEST_ASSERT(w->count == 1 && header_is(w, 0, "Connection", "close"));
    TEST_ASSERT(seen.handled == 1);
    server_stop();
    free(w);
}

static void case_max_requests_per_connection(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    cfg.max_requests_per_connection = 2;
    server_start();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(wire_header(w, 0, "Connection") == NULL);
    client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read_to_eof(fd, w);
    TEST_ASSERT(w->count == 2 && header_is(w, 1, "Connection", "close"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

/* ---- limits -------------------------------------------------------------------------- */

static void expect_refused(const char *request, const char *status_line)
{
    struct wire *w = exchange_to_close(request);

    if (strncmp(w->raw, status_line, strlen(status_line)) != 0)
        fprintf(stderr, "request %s got %s\n", request, w->raw);
    TEST_ASSERT(strncmp(w->raw, status_line, strlen(status_line)) == 0);
    TEST_ASSERT(w->count == 1 && header_is(w, 0, "Connection", "close"));
    free(w);
}

static void case_head_too_large_431(void)
{
    static char request[4096];
    char *p = request;

    config_defaults();
    cfg.max_header_size = 1024;
    server_start();
    p += sprintf(p, "GET /hello HTTP/1.1\r\nX-Big: ");
    memset(p, 'a', 2000);
    strcpy(p + 2000, "\r\n\r\n");
    expect_refused(request, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    /* a request line alone that does not fit */
    p = request + sprintf(request, "GET /");
    memset(p, 'b', 1500);
    strcpy(p + 1500, " HTTP/1.1\r\n\r\n");
    expect_refused(request, "HTTP/1.1 431 ");
    TEST_ASSERT(seen.handled == 0);
    server_stop();
}

static void case_too_many_headers_431(void)
{
    static char request[4096];
    char *p = request;

    config_defaults();
    cfg.max_headers = 16;
    server_start();
    p += sprintf(p, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 17; i++)
        p += sprintf(p, "X-H%d: v\r\n", i);
    strcpy(p, "\r\n");
    expect_refused(request, "HTTP/1.1 431 ");
    /* exactly the limit is fine */
    p = request + sprintf(request, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 15; i++)
        p += sprintf(p, "X-H%d: v\r\n", i);
    strcpy(p, "Connection: close\r\n\r\n");
    expect_refused(request, "HTTP/1.1 200 ");
    TEST_ASSERT(seen.handled == 1);
    server_stop();
}

static void case_body_too_large_413(void)
{
    static char request[4096];
    char *p;

    config_defaults();
    cfg.max_body_size = 1024;
    server_start();
    /* a Content-Length beyond the limit: refused before any body is read */
    expect_refused("POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
                   "HTTP/1.1 413 Payload Too Large\r\n");
    TEST_ASSERT(seen.handled == 0);
    /* chunked: refused as the chunk that crosses the limit arrives */
    p = request + sprintf(request, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "258\r\n");
    memset(p, 'x', 600);
    strcpy(p + 600, "\r\n258\r\n");
    expect_refused(request, "HTTP/1.1 413 ");
    TEST_ASSERT(seen.handled == 1 && seen.read_errno == EMSGSIZE);
    /* exactly the limit is fine */
    p = request + sprintf(request, "POST /echo HTTP/1.1\r\nContent-Length: 1024\r\n"
                                   "Connection: close\r\n\r\n");
    memset(p, 'y', 1024);
    p[1024] = '\0';
    expect_refused(request, "HTTP/1.1 200 ");
    server_stop();
}

/* ---- timeouts ------------------------------------------------------------------------ */

struct trickle {
    int fd;
    int stop;
    unsigned sent;
};

/* Writes a head that never ends, one byte every 20 ms (bounded). */
static void *trickle_run(void *arg)
{
    struct trickle *t = arg;

    if (moss_write(t->fd, "GET /hello HTTP/1.1\r\nX-Slow: ", 29, soon()) != 29)
        return NULL;
    for (int i = 0; i < 250 && !t->stop; i++) {
        if (moss_sleep(20) == -1 || moss_write(t->fd, "a", 1, soon()) != 1)
            return NULL;
        t->sent++;
    }
    return NULL;
}

static void case_header_timeout_trickle_408(void)
{
    struct trickle t = {0};
    struct wire *w = wire_new();
    moss_greenlet_t *g;
    int64_t start, elapsed;

    config_defaults();
    cfg.header_timeout_ms = 300;
    server_start();
    t.fd = client_connect();
    start = moss_now();
    g = moss_spawn(trickle_run, &t);
    wire_read_to_eof(t.fd, w);
    elapsed = moss_now() - start;
    t.stop = 1;
    TEST_ASSERT(moss_join(g, soon(), NULL) == 0);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    TEST_ASSERT(header_is(w, 0, "Connection", "close"));
    TEST_ASSERT(t.sent >= 3);              /* it did trickle... */
    TEST_ASSERT(elapsed >= 250 && elapsed < 3000); /* ...and gained nothing by it */
    TEST_ASSERT(seen.handled == 0);
    TEST_ASSERT(moss_close(t.fd) == 0);
    free(w);
    /* a connection that sends nothing gets the same */
    w = exchange_to_close("");
    TEST_ASSERT(w->count == 1 && w->status[0] == 408);
    server_stop();
    free(w);
}

static void case_keepalive_idle_timeout_closes(void)
{
    struct wire *w = wire_new();
    int fd;
    int64_t start;

    config_defaults();
    cfg.keepalive_timeout_ms = 200;
    server_start();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(w->count == 1 && !w->eof);
    start = moss_now();
    wire_read_to_eof(fd, w);
    TEST_ASSERT(moss_now() - start >= 150 && moss_now() - start < 3000);
    TEST_ASSERT(w->count == 1); /* closed without a response */
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_body_timeout(void)
{
    struct wire *w = wire_new();
    int fd;
    int64_t start;

    config_defaults();
    cfg.body_timeout_ms = 200;
    server_start();
    fd = client_connect();
    start = moss_now();
    client_send(fd, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    wire_read_to_eof(fd, w);
    TEST_ASSERT(moss_now() - start >= 150 && moss_now() - start < 3000);
    TEST_ASSERT(seen.read_errno == ETIMEDOUT);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 408 ", 13) == 0);
    TEST_ASSERT(header_is(w, 0, "Connection", "close"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

/* ---- smuggling ---------------------------------------------------------------------- */

/* Each refused with 400 before the handler runs. */
static const char *const smuggling_vectors[] = {
    /* Content-Length with Transfer-Encoding */
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
    /* duplicate and differing Content-Length, and a list */
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "POST /echo HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
    /* chunked not the final coding, twice, or look-alikes */
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    "0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    /* header names and lines a proxy may read differently */
    "POST /echo HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "GET /hello HTTP/1.1\nHost: t\n\n",
    "GET /hello HTTP/1.1\r\nHost: t\r\n\n",
    "GET /hello HTTP/1.1\r\nHost: t\r\n\rX",
    "GET /hello HTTP/1.1\rXHost: t\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX: a\001b\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX: a\rb\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX\x80: a\r\n\r\n",
    "GET /a b HTTP/1.1\r\n\r\n",
    "get /hello HTTP/1.1\r\n\r\n",
};

static void case_smuggling_vectors_400(void)
{
    config_defaults();
    server_start();
    for (size_t i = 0; i < sizeof(smuggling_vectors) / sizeof(smuggling_vectors[0]); i++)
        expect_refused(smuggling_vectors[i], "HTTP/1.1 400 Bad Request\r\n");
    TEST_ASSERT(seen.handled == 0);
    expect_refused("GET /hello HTTP/2.0\r\n\r\n", "HTTP/1.1 505 ");
    expect_refused("POST /echo HTTP/1.1\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx",
                   "HTTP/1.1 417 ");
    server_stop();
}

#define CHUNKED_ECHO "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

/* Bodies the handler reads and gets EPROTO for, then 400. */
static const char *const bad_chunked_bodies[] = {
    CHUNKED_ECHO "zz\r\nabc\r\n0\r\n\r\n",                /* not hex */
    CHUNKED_ECHO "-3\r\nabc\r\n0\r\n\r\n",                /* negative */
    CHUNKED_ECHO "10000000000000000\r\nabc\r\n0\r\n\r\n", /* 2^64: overflow */
    CHUNKED_ECHO "3\r\nabcd\r\n0\r\n\r\n",                /* data beyond its size */
    /* framing bytes that are not CRLF, which the parser (built without
     * strict mode) would take */
    CHUNKED_ECHO "3\r\nabcXY0\r\n\r\n",
    CHUNKED_ECHO "3\rXabc\r\n0\r\n\r\n",
    CHUNKED_ECHO "3\nabc\r\n0\r\n\r\n",
    CHUNKED_ECHO "3\r\nabc\r\n0\r\n\rX",
    CHUNKED_ECHO "3;a=\001\r\nabc\r\n0\r\n\r\n",
};

static void case_bad_chunk_size_400(void)
{
    config_defaults();
    server_start();
    for (size_t i = 0; i < sizeof(bad_chunked_bodies) / sizeof(bad_chunked_bodies[0]); i++) {
        seen.read_errno = 0;
        expect_refused(bad_chunked_bodies[i], "HTTP/1.1 400 ");
        TEST_ASSERT(seen.read_errno == EPROTO);
    }
    server_stop();
}

/* ---- bodies ------------------------------------------------------------------------- */

static void case_chunked_request_body_echoed(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;ext=1\r\nhello\r\n1\r\n \r\n");
    TEST_ASSERT(moss_sleep(20) == 0); /* the rest comes later: the reader waits */
    client_send(fd, "10\r\nchunked world!!!\r\n0\r\nX-Trailer: t\r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(w->status[0] == 200 && wire_body_is(w, 0, "hello chunked world!!!"));
    TEST_ASSERT(header_is(w, 0, "Content-Length", "22"));
    /* the connection goes on */
    client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2 && wire_body_is(w, 1, "hello\n"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_unread_body_drained(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "POST /noread HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
    wire_read(fd, w, 1);
    client_send(fd, "cde"); /* the rest of the body: drained after the response */
    client_send(fd, "POST /noread HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3 && !w->eof);
    TEST_ASSERT(wire_body_is(w, 0, "ok\n") && wire_body_is(w, 1, "ok\n"));
    TEST_ASSERT(wire_body_is(w, 2, "hello\n"));
    TEST_ASSERT(wire_header(w, 0, "Connection") == NULL);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_chunked_response_streamed(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /stream HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(w->status[0] == 200 && wire_body_is(w, 0, "hello chunked world"));
    TEST_ASSERT(header_is(w, 0, "Transfer-Encoding", "chunked"));
    TEST_ASSERT(wire_header(w, 0, "Content-Length") == NULL);
    TEST_ASSERT(strstr(w->raw, "\r\n\r\n6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n") !=
                NULL);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_head_has_headers_no_body(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    w->head_mask = 1 | 2;
    client_send(fd, "HEAD /hello HTTP/1.1\r\n\r\nHEAD /stream HTTP/1.1\r\n\r\n"
                    "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3);
    TEST_ASSERT(header_is(w, 0, "Content-Length", "6") && w->body_len[0] == 0);
    TEST_ASSERT(header_is(w, 1, "Transfer-Encoding", "chunked") && w->body_len[1] == 0);
    TEST_ASSERT(w->status[2] == 200 && wire_body_is(w, 2, "hello\n"));
    /* no stray body bytes between the heads */
    TEST_ASSERT(strstr(w->raw, "\r\n\r\nHTTP/1.1 200 OK\r\n") != NULL);
    TEST_ASSERT(strstr(w->raw, "hello") == strstr(w->raw, "hello\n"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_expect_100_continue(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    wire_read(fd, w, 1); /* the body goes only after the 100 */
    TEST_ASSERT(strcmp(w->raw, "HTTP/1.1 100 Continue\r\n\r\n") == 0);
    client_send(fd, "hello");
    wire_read(fd, w, 2);
    TEST_ASSERT(w->status[1] == 200 && wire_body_is(w, 1, "hello"));
    TEST_ASSERT(wire_header(w, 1, "Connection") == NULL);
    TEST_ASSERT(moss_close(fd) == 0);
    free(w);
    /* a handler that answers without reading: no 100, and the connection
     * closes (the client may never send the body) */
    w = exchange_to_close("POST /noread HTTP/1.1\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n");
    TEST_ASSERT(w->count == 1 && w->status[0] == 200 && strstr(w->raw, "100") == NULL);
    TEST_ASSERT(header_is(w, 0, "Connection", "close"));
    server_stop();
    free(w);
}

/* ---- headers and the response API ---------------------------------------------------- */

static int is_imf_fixdate(const char *d)
{
    char day[4], month[4], zone[4];
    int mday, year, h, m, s, n = 0;

    return d != NULL && strlen(d) == 29 &&
           sscanf(d, "%3s, %d %3s %d %d:%d:%d %3s%n", day, &mday, month, &year, &h, &m, &s, zone,
                  &n) == 8 &&
           n == 29 && day[3] == '\0' && strcmp(zone, "GMT") == 0 && year >= 2024;
}

static void case_date_and_server_headers(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /hello HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\n"
                    "GET /nope HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 3);
    for (unsigned i = 0; i < 3; i++) {
        TEST_ASSERT(is_imf_fixdate(wire_header(w, i, "Date")));
        TEST_ASSERT(header_is(w, i, "Server", "moss"));
    }
    TEST_ASSERT(strstr(w->raw, "\r\nDate: ") != NULL && strstr(w->raw, "\r\nServer: moss\r\n"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_request_accessors_and_response_api(void)
{
    struct wire *w = wire_new();
    int fd;
    char want[192];

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /api?x&q=a%20b%2Bc+d&e=&%71=2 HTTP/1.1\r\n"
                    "Host: t\r\nX-Test: val  \r\n\r\n");
    wire_read(fd, w, 1);
    TEST_ASSERT(seen.api_ok == 1);
    snprintf(want, sizeof(want), "q=a b+c d test=val client=%s", srv.entry[0]->conn.client);
    TEST_ASSERT(w->status[0] == 200 && wire_body_is(w, 0, want));
    TEST_ASSERT(header_is(w, 0, "X-Reply", "yes"));
    /* an absolute-form target: path and query split out */
    client_send(fd, "GET http://t/hello?z=1 HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 2);
    TEST_ASSERT(w->status[1] == 200 && wire_body_is(w, 1, "hello\n"));
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

static void case_handler_error_500_and_no_response_204(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /fail HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\n"
                    "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fd, w, 3);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    TEST_ASSERT(w->status[0] == 500 && w->status[1] == 204 && w->status[2] == 200);
    TEST_ASSERT(wire_header(w, 1, "Content-Length") == NULL && w->body_len[1] == 0);
    TEST_ASSERT(wire_body_is(w, 2, "hello\n") && !w->eof);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

/* ---- request timeout, drain, kill --------------------------------------------------- */

static int readable_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 0) == 1;
}

static void case_request_timeout_503(void)
{
    struct wire *a = wire_new(), *b = wire_new();
    int fa, fb;
    int64_t start;

    config_defaults();
    cfg.request_timeout_ms = 500;
    server_start();
    fa = client_connect();
    start = moss_now();
    client_send(fa, "GET /sleep HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0);
    /* another connection is served meanwhile */
    fb = client_connect();
    client_send(fb, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fb, b, 1);
    TEST_ASSERT(b->status[0] == 200 && !readable_now(fa));
    wire_read(fa, a, 1);
    TEST_ASSERT(moss_now() - start >= 450 && moss_now() - start < 4000);
    TEST_ASSERT(strncmp(a->raw, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    TEST_ASSERT(wire_header(a, 0, "Connection") == NULL);
    TEST_ASSERT(seen.sleep_errno == ECANCELED);
    /* the connection goes on */
    client_send(fa, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fa, a, 2);
    TEST_ASSERT(a->status[1] == 200 && !a->eof);
    TEST_ASSERT(counters.request_timeouts == 1);
    TEST_ASSERT(strstr(log_text(worker.error_log), "request timeout: GET /sleep from 127.0.0.1:"));
    TEST_ASSERT(moss_close(fa) == 0 && moss_close(fb) == 0);
    server_stop();
    free(a);
    free(b);
}

static void case_drain_closes_idle_and_says_close(void)
{
    struct wire *a = wire_new(), *b = wire_new();
    int fa, fb;

    config_defaults();
    server_start();
    fa = client_connect();
    client_send(fa, "GET /hello HTTP/1.1\r\n\r\n");
    wire_read(fa, a, 1); /* now idle */
    fb = client_connect();
    client_send(fb, "GET /slow HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0);
    TEST_ASSERT(srv.count == 2 && srv.entry[0]->idle && !srv.entry[1]->idle);
    /* the drain, as the worker does it */
    worker.draining = 1;
    for (unsigned i = 0; i < srv.count; i++)
        if (srv.entry[i]->idle)
            TEST_ASSERT(moss_kill(srv.conn[i]) == 0);
    wire_read_to_eof(fa, a);
    TEST_ASSERT(a->count == 1); /* closed, no response */
    wire_read_to_eof(fb, b);
    TEST_ASSERT(b->count == 1 && wire_body_is(b, 0, "slow\n"));
    TEST_ASSERT(header_is(b, 0, "Connection", "close"));
    TEST_ASSERT(moss_close(fa) == 0 && moss_close(fb) == 0);
    server_stop();
    free(a);
    free(b);
}

/* The connection's greenlet killed while its handler runs: the handler is
 * cancelled, and what it does afterwards fails without touching the
 * connection, which is gone. */
static void case_kill_connection_mid_request(void)
{
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, "GET /slow HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0 && srv.count == 1);
    TEST_ASSERT(moss_kill(srv.conn[0]) == 0);
    wire_read_to_eof(fd, w);
    TEST_ASSERT(w->len == 0);
    for (int i = 0; i < LONG_WAIT && seen.late_send_errno == 0; i++)
        TEST_ASSERT(moss_sleep(1) == 0); /* the orphaned handler wakes and unwinds */
    TEST_ASSERT(seen.late_send_errno == ECANCELED);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    free(w);
}

/* ---- access log and counters -------------------------------------------------------- */

/* Two requests on one connection, then closed. */
static void two_requests(void)
{
    struct wire *w = wire_new();
    int fd = client_connect();

    client_send(fd, "GET /hello HTTP/1.1\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2);
    TEST_ASSERT(moss_close(fd) == 0);
    free(w);
}

static void case_access_log_text(void)
{
    const char *text, *second;
    char prefix[160];

    config_defaults();
    server_start();
    worker.access_log = tmpfile();
    TEST_ASSERT(worker.access_log != NULL);
    two_requests();
    TEST_ASSERT(moss_sleep(20) == 0);
    text = log_text(worker.access_log);
    snprintf(prefix, sizeof(prefix), "%s - - [", srv.entry[0]->conn.client);
    TEST_ASSERT(strncmp(text, prefix, strlen(prefix)) == 0);
    TEST_ASSERT(strstr(text, " +0000] \"GET /hello HTTP/1.1\" 200 6 ") != NULL);
    second = strchr(text, '\n');
    TEST_ASSERT(second != NULL && strstr(second + 1, "\"POST /echo HTTP/1.1\" 200 3 ") != NULL);
    TEST_ASSERT(strchr(second + 1, '\n') != NULL && strchr(second + 1, '\n')[1] == '\0');
    server_stop();
}

static void case_access_log_json(void)
{
    static const char *const keys[] = {"\"time\":\"", "\"client\":\"127.0.0.1:",
                                       "\"method\":\"GET\"", "\"path\":\"/hello\"",
                                       "\"status\":200", "\"bytes\":6", "\"duration_ms\":"};
    const char *text;
    unsigned lines = 0;

    config_defaults();
    cfg.access_log_format = MOSS__LOG_JSON;
    server_start();
    worker.access_log = tmpfile();
    TEST_ASSERT(worker.access_log != NULL);
    two_requests();
    TEST_ASSERT(moss_sleep(20) == 0);
    text = log_text(worker.access_log);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        TEST_ASSERT(strstr(text, keys[i]) != NULL);
    TEST_ASSERT(strstr(text, "\"method\":\"POST\",\"path\":\"/echo\",\"status\":200,\"bytes\":3"));
    /* roughly JSON: each line an object, quotes balanced */
    for (const char *line = text; *line != '\0' && lines < 10; lines++) {
        const char *end = strchr(line, '\n');
        unsigned quotes = 0;

        TEST_ASSERT(end != NULL && line[0] == '{' && end[-1] == '}');
        for (const char *p = line; p < end; p++)
            quotes += *p == '"' && p[-1] != '\\';
        TEST_ASSERT(quotes % 2 == 0 && quotes == 2 * 7 + 2 * 4);
        line = end + 1;
    }
    TEST_ASSERT(lines == 2);
    server_stop();
}

static void case_counters_updated(void)
{
    static const char request[] = "GET /hello HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                                  "GET /fail HTTP/1.1\r\n\r\n";
    struct wire *w = wire_new();
    int fd;

    config_defaults();
    server_start();
    fd = client_connect();
    client_send(fd, request);
    wire_read(fd, w, 3);
    TEST_ASSERT(moss_close(fd) == 0);
    server_stop();
    TEST_ASSERT(counters.requests == 3);
    TEST_ASSERT(counters.status[MOSS__STATUS_2XX] == 1);
    TEST_ASSERT(counters.status[MOSS__STATUS_4XX] == 1);
    TEST_ASSERT(counters.status[MOSS__STATUS_5XX] == 1);
    TEST_ASSERT(counters.bytes_in == sizeof(request) - 1);
    TEST_ASSERT(counters.bytes_out == w->len);
    TEST_ASSERT(counters.request_timeouts == 0);
    free(w);
}

const struct moss_test_case moss_test_http_cases[] = {
    {"keep_alive_two_requests", case_keep_alive_two_requests},
    {"pipelined_requests_in_order", case_pipelined_requests_in_order},
    {"http10_close_and_keep_alive", case_http10_close_and_keep_alive},
    {"connection_close_honoured", case_connection_close_honoured},
    {"max_requests_per_connection", case_max_requests_per_connection},
    {"head_too_large_431", case_head_too_large_431},
    {"too_many_headers_431", case_too_many_headers_431},
    {"body_too_large_413", case_body_too_large_413},
    {"header_timeout_trickle_408", case_header_timeout_trickle_408},
    {"keepalive_idle_timeout_closes", case_keepalive_idle_timeout_closes},
    {"body_timeout", case_body_timeout},
    {"smuggling_vectors_400", case_smuggling_vectors_400},
    {"bad_chunk_size_400", case_bad_chunk_size_400},
    {"chunked_request_body_echoed", case_chunked_request_body_echoed},
    {"unread_body_drained", case_unread_body_drained},
    {"chunked_response_streamed", case_chunked_response_streamed},
    {"head_has_headers_no_body", case_head_has_headers_no_body},
    {"expect_100_continue", case_expect_100_continue},
    {"date_and_server_headers", case_date_and_server_headers},
    {"request_accessors_and_response_api", case_request_accessors_and_response_api},
    {"handler_error_500_and_no_response_204", case_handler_error_500_and_no_response_204},
    {"request_timeout_503", case_request_timeout_503},
    {"drain_closes_idle_and_says_close", case_drain_closes_idle_and_says_close},
    {"kill_connection_mid_request", case_kill_connection_mid_request},
    {"access_log_text", case_access_log_text},
    {"access_log_json", case_access_log_json},
    {"counters_updated", case_counters_updated},
    {NULL, NULL},
};
