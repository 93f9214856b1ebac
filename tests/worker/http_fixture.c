/* The HTTP/1.1 server (worker/http_*.c) on loopback connections. Each case
 * builds a config and a worker by hand, accepts connections in a server
 * greenlet that calls moss__http_serve as the stream server would, and
 * drives them with clients in greenlets: raw bytes out, and the bytes that
 * come back both checked raw and parsed (with libhttp-parser in response
 * mode). Timeouts are short (hundreds of ms) and checked only to an order
 * of magnitude; every wait has a deadline and every loop a bound. */
#include "http_cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

int64_t http_soon(void)
{
    return moss_now() + LONG_WAIT;
}

/* ---- the server under test ---------------------------------------------------- */

struct moss_config http_cfg;
struct moss__worker_counters http_counters;
struct moss__worker http_worker;
static moss_app_t app;
static int app_tag; /* app_data: its address */

struct http_server http_srv;
struct http_seen http_seen;

void http_config_defaults(void)
{
    memset(&http_cfg, 0, sizeof(http_cfg));
    http_cfg.max_header_size = 2048;
    http_cfg.max_headers = 16;
    http_cfg.max_body_size = 65536;
    http_cfg.header_timeout_ms = 2000;
    http_cfg.body_timeout_ms = 2000;
    http_cfg.keepalive_timeout_ms = 3000;
    http_cfg.max_requests_per_connection = 100;
    http_cfg.request_timeout_ms = 3000;
    http_cfg.graceful_timeout_ms = 1000;
    http_cfg.access_log_format = MOSS__LOG_TEXT;
}

/* The stream server's part: serve, and while serve parks the connection,
 * wait for it here (marked idle, for the drain case), up to its deadline.
 * The stream server's own parking, without a greenlet, is tested through
 * it (tests/master/park_cases.c). */
static void *conn_run(void *arg)
{
    struct moss__conn_entry *entry = arg;

    entry->greenlet = moss_greenlet_current();
    while (moss__http_serve(&http_worker, entry) == MOSS__SERVE_PARK) {
        int waited;

        TEST_ASSERT(entry->conn.start == entry->conn.end);
        entry->idle = 1;
        waited = moss_wait_fd(entry->conn.fd, MOSS_READABLE, entry->park_deadline);
        entry->idle = 0;
        entry->resumed = 1;
        entry->park_expired = waited == -1 && errno == ETIMEDOUT;
        if (waited == -1 && !(entry->park_expired && entry->park_wake_at_deadline))
            break;
    }
    TEST_ASSERT(moss_close(entry->conn.fd) == 0);
    return NULL;
}

/* The stream server's part: a buffer of max_header_size per connection. */
static struct moss__conn_entry *entry_new(int fd, const struct sockaddr_in *peer)
{
    struct moss__conn_entry *entry = calloc(1, sizeof(*entry));

    TEST_ASSERT(entry != NULL);
    entry->conn.fd = fd;
    entry->conn.worker = &http_worker;
    entry->conn.capacity = (size_t)http_cfg.max_header_size;
    entry->conn.buf = malloc(entry->conn.capacity);
    TEST_ASSERT(entry->conn.buf != NULL);
    snprintf(entry->conn.client, sizeof(entry->conn.client), "127.0.0.1:%u",
             (unsigned)ntohs(peer->sin_port));
    return entry;
}

static void *acceptor_run(void *arg)
{
    (void)arg;
    while (http_srv.count < CONNS_MAX) {
        struct sockaddr_in peer;
        unsigned len = sizeof(peer);
        int fd = moss_accept(http_srv.listener, (struct sockaddr *)&peer, &len, MOSS_FOREVER);

        if (fd == -1)
            return NULL; /* the listener was closed: the case is over */
        http_srv.entry[http_srv.count] = entry_new(fd, &peer);
        http_srv.conn[http_srv.count] = moss_spawn(conn_run, http_srv.entry[http_srv.count]);
        TEST_ASSERT(http_srv.conn[http_srv.count] != NULL);
        http_srv.count++;
    }
    return NULL;
}

static int test_handle(moss_request_t *req, moss_response_t *res, void *app_data);

/* Starts the server with cfg as the case left it. */
void http_server_start(void)
{
    socklen_t len = sizeof(http_srv.addr);

    http_worker.config = &http_cfg;
    http_worker.serve = moss__http_serve;
    app.name = "http-test";
    app.handle = test_handle;
    http_worker.app = &app;
    http_worker.app_data = &app_tag;
    http_worker.counters = &http_counters;
    http_worker.error_log = tmpfile();
    TEST_ASSERT(http_worker.error_log != NULL);
    http_srv.listener = moss_socket(AF_INET, SOCK_STREAM, 0);
    TEST_ASSERT(http_srv.listener != -1);
    http_srv.addr = (struct sockaddr_in){.sin_family = AF_INET};
    http_srv.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(http_srv.listener, (struct sockaddr *)&http_srv.addr, sizeof(http_srv.addr)) == 0);
    TEST_ASSERT(listen(http_srv.listener, 64) == 0);
    TEST_ASSERT(getsockname(http_srv.listener, (struct sockaddr *)&http_srv.addr, &len) == 0);
    http_srv.acceptor = moss_spawn(acceptor_run, NULL);
    TEST_ASSERT(http_srv.acceptor != NULL);
}

/* Stops accepting, waits for every connection's greenlet (the clients have
 * closed), frees what the stream server would. */
void http_server_stop(void)
{
    TEST_ASSERT(moss_close(http_srv.listener) == 0);
    TEST_ASSERT(moss_join(http_srv.acceptor, http_soon(), NULL) == 0);
    for (unsigned i = 0; i < http_srv.count; i++) {
        TEST_ASSERT(moss_join(http_srv.conn[i], http_soon(), NULL) == 0);
        free(http_srv.entry[i]->conn.buf);
        free(http_srv.entry[i]);
    }
    wait_all_finished();
    moss__free_list_clear(&http_worker.conn_states); /* the next case's config may differ */
    fclose(http_worker.error_log);
    if (http_worker.access_log != NULL)
        fclose(http_worker.access_log);
}

/* The whole content of a log file, NUL-terminated, in a static buffer. */
const char *http_log_text(FILE *f)
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
            http_seen.read_errno = errno;
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
    http_seen.api_ok = ok;
    return 0;
}

static int test_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    const char *path = moss_request_path(req);

    TEST_ASSERT(app_data == &app_tag);
    http_seen.handled++;
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
            http_seen.sleep_errno = errno;
        return -1;
    }
    if (strcmp(path, "/slow") == 0) {
        moss_sleep(150);
        if (moss_response_send(res, 200, "text/plain", "slow\n", 5) == -1)
            http_seen.late_send_errno = errno;
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

int http_client_connect(void)
{
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    TEST_ASSERT(fd != -1);
    TEST_ASSERT(moss_connect(fd, (struct sockaddr *)&http_srv.addr, sizeof(http_srv.addr), http_soon()) == 0);
    return fd;
}

void http_client_send(int fd, const char *text)
{
    TEST_ASSERT(moss_write(fd, text, strlen(text), http_soon()) == (ptrdiff_t)strlen(text));
}

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

struct wire *http_wire_new(void)
{
    struct wire *w = calloc(1, sizeof(*w));

    TEST_ASSERT(w != NULL);
    http_parser_init(&w->parser, HTTP_RESPONSE);
    w->parser.data = w;
    return w;
}

/* Reads until `want` responses are complete, or the server closes. */
void http_wire_read(int fd, struct wire *w, unsigned want)
{
    int64_t deadline = http_soon();

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

void http_wire_read_to_eof(int fd, struct wire *w)
{
    http_wire_read(fd, w, UINT32_MAX);
    TEST_ASSERT(w->eof);
}

/* Response i's header `name`, or NULL (a static copy of the value). */
const char *http_wire_header(const struct wire *w, unsigned i, const char *name)
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

int http_wire_body_is(const struct wire *w, unsigned i, const char *text)
{
    return w->body_len[i] == strlen(text) && memcmp(w->body[i], text, w->body_len[i]) == 0;
}

int http_header_is(const struct wire *w, unsigned i, const char *name, const char *value)
{
    const char *v = http_wire_header(w, i, name);

    return v != NULL && strcmp(v, value) == 0;
}

/* One request on a new connection, read until the server closes it. */
struct wire *http_exchange_to_close(const char *request)
{
    int fd = http_client_connect();
    struct wire *w = http_wire_new();

    http_client_send(fd, request);
    http_wire_read_to_eof(fd, w);
    TEST_ASSERT(moss_close(fd) == 0);
    return w;
}

void http_expect_refused(const char *request, const char *status_line)
{
    struct wire *w = http_exchange_to_close(request);

    if (strncmp(w->raw, status_line, strlen(status_line)) != 0)
        fprintf(stderr, "request %s got %s\n", request, w->raw);
    TEST_ASSERT(strncmp(w->raw, status_line, strlen(status_line)) == 0);
    TEST_ASSERT(w->count == 1 && http_header_is(w, 0, "Connection", "close"));
    free(w);
}

int http_session_open(void)
{
    http_config_defaults();
    http_server_start();
    return http_client_connect();
}

void http_session_close(int fd)
{
    TEST_ASSERT(moss_close(fd) == 0);
    http_server_stop();
}
