/* What the app sees and what it is given: the headers the server adds,
 * the request accessors and the response API, handler errors, the request
 * timeout, the drain, a killed connection, the access log and the counters. */
#include "http_cases.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void http_case_date_and_server_headers(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\n"
                    "GET /nope HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 3);
    for (unsigned i = 0; i < 3; i++) {
        TEST_ASSERT(is_imf_fixdate(http_wire_header(w, i, "Date")));
        TEST_ASSERT(http_header_is(w, i, "Server", "moss"));
    }
    TEST_ASSERT(strstr(w->raw, "\r\nDate: ") != NULL && strstr(w->raw, "\r\nServer: moss\r\n"));
    http_session_close(fd);
    free(w);
}

void http_case_request_accessors_and_response_api(void)
{
    struct wire *w = http_wire_new();
    int fd;
    char want[192];

    fd = http_session_open();
    http_client_send(fd, "GET /api?x&q=a%20b%2Bc+d&e=&%71=2 HTTP/1.1\r\n"
                    "Host: t\r\nX-Test: val  \r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(http_seen.api_ok == 1);
    snprintf(want, sizeof(want), "q=a b+c d test=val client=%s", http_srv.entry[0]->conn.client);
    TEST_ASSERT(w->status[0] == 200 && http_wire_body_is(w, 0, want));
    TEST_ASSERT(http_header_is(w, 0, "X-Reply", "yes"));
    /* an absolute-form target: path and query split out */
    http_client_send(fd, "GET http://t/hello?z=1 HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 2);
    TEST_ASSERT(w->status[1] == 200 && http_wire_body_is(w, 1, "hello\n"));
    http_session_close(fd);
    free(w);
}

void http_case_handler_error_500_and_no_response_204(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /fail HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\n"
                    "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 3);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 500 Internal Server Error\r\n", 36) == 0);
    TEST_ASSERT(w->status[0] == 500 && w->status[1] == 204 && w->status[2] == 200);
    TEST_ASSERT(http_wire_header(w, 1, "Content-Length") == NULL && w->body_len[1] == 0);
    TEST_ASSERT(http_wire_body_is(w, 2, "hello\n") && !w->eof);
    http_session_close(fd);
    free(w);
}

/* ---- request timeout, drain, kill --------------------------------------------------- */

static int readable_now(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, 0) == 1;
}

void http_case_request_timeout_503(void)
{
    struct wire *a = http_wire_new(), *b = http_wire_new();
    int fa, fb;
    int64_t start;

    http_config_defaults();
    http_cfg.request_timeout_ms = 500;
    http_server_start();
    fa = http_client_connect();
    start = moss_now();
    http_client_send(fa, "GET /sleep HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0);
    /* another connection is served meanwhile */
    fb = http_client_connect();
    http_client_send(fb, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fb, b, 1);
    TEST_ASSERT(b->status[0] == 200 && !readable_now(fa));
    http_wire_read(fa, a, 1);
    TEST_ASSERT(moss_now() - start >= 450 && moss_now() - start < 4000);
    TEST_ASSERT(strncmp(a->raw, "HTTP/1.1 503 Service Unavailable\r\n", 34) == 0);
    TEST_ASSERT(http_wire_header(a, 0, "Connection") == NULL);
    TEST_ASSERT(http_seen.sleep_errno == ECANCELED);
    /* the connection goes on */
    http_client_send(fa, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fa, a, 2);
    TEST_ASSERT(a->status[1] == 200 && !a->eof);
    TEST_ASSERT(http_counters.request_timeouts == 1);
    TEST_ASSERT(strstr(http_log_text(http_worker.error_log), "request timeout: GET /sleep from 127.0.0.1:"));
    TEST_ASSERT(moss_close(fa) == 0 && moss_close(fb) == 0);
    http_server_stop();
    free(a);
    free(b);
}

void http_case_drain_closes_idle_and_says_close(void)
{
    struct wire *a = http_wire_new(), *b = http_wire_new();
    int fa, fb;

    http_config_defaults();
    http_server_start();
    fa = http_client_connect();
    http_client_send(fa, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fa, a, 1); /* now idle */
    fb = http_client_connect();
    http_client_send(fb, "GET /slow HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0);
    TEST_ASSERT(http_srv.count == 2 && http_srv.entry[0]->idle && !http_srv.entry[1]->idle);
    /* the drain, as the worker does it */
    http_worker.draining = 1;
    for (unsigned i = 0; i < http_srv.count; i++)
        if (http_srv.entry[i]->idle)
            TEST_ASSERT(moss_kill(http_srv.conn[i]) == 0);
    http_wire_read_to_eof(fa, a);
    TEST_ASSERT(a->count == 1); /* closed, no response */
    http_wire_read_to_eof(fb, b);
    TEST_ASSERT(b->count == 1 && http_wire_body_is(b, 0, "slow\n"));
    TEST_ASSERT(http_header_is(b, 0, "Connection", "close"));
    TEST_ASSERT(moss_close(fa) == 0 && moss_close(fb) == 0);
    http_server_stop();
    free(a);
    free(b);
}

/* The connection's greenlet killed while its handler runs: the handler is
 * cancelled, and what it does afterwards fails without touching the
 * connection, which is gone. */
void http_case_kill_connection_mid_request(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /slow HTTP/1.1\r\n\r\n");
    TEST_ASSERT(moss_sleep(30) == 0 && http_srv.count == 1);
    TEST_ASSERT(moss_kill(http_srv.conn[0]) == 0);
    http_wire_read_to_eof(fd, w);
    TEST_ASSERT(w->len == 0);
    for (int i = 0; i < LONG_WAIT && http_seen.late_send_errno == 0; i++)
        TEST_ASSERT(moss_sleep(1) == 0); /* the orphaned handler wakes and unwinds */
    TEST_ASSERT(http_seen.late_send_errno == ECANCELED);
    http_session_close(fd);
    free(w);
}

/* ---- access log and counters -------------------------------------------------------- */

/* Two requests on one connection, then closed. */
static void two_requests(void)
{
    struct wire *w = http_wire_new();
    int fd = http_client_connect();

    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    http_wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2);
    TEST_ASSERT(moss_close(fd) == 0);
    free(w);
}

void http_case_access_log_text(void)
{
    const char *text, *second;
    char prefix[160];

    http_config_defaults();
    http_server_start();
    http_worker.access_log = tmpfile();
    TEST_ASSERT(http_worker.access_log != NULL);
    two_requests();
    TEST_ASSERT(moss_sleep(20) == 0);
    text = http_log_text(http_worker.access_log);
    snprintf(prefix, sizeof(prefix), "%s - - [", http_srv.entry[0]->conn.client);
    TEST_ASSERT(strncmp(text, prefix, strlen(prefix)) == 0);
    TEST_ASSERT(strstr(text, " +0000] \"GET /hello HTTP/1.1\" 200 6 ") != NULL);
    second = strchr(text, '\n');
    TEST_ASSERT(second != NULL && strstr(second + 1, "\"POST /echo HTTP/1.1\" 200 3 ") != NULL);
    TEST_ASSERT(strchr(second + 1, '\n') != NULL && strchr(second + 1, '\n')[1] == '\0');
    http_server_stop();
}

void http_case_access_log_json(void)
{
    static const char *const keys[] = {"\"time\":\"", "\"client\":\"127.0.0.1:",
                                       "\"method\":\"GET\"", "\"path\":\"/hello\"",
                                       "\"status\":200", "\"bytes\":6", "\"duration_ms\":"};
    const char *text;
    unsigned lines = 0;

    http_config_defaults();
    http_cfg.access_log_format = MOSS__LOG_JSON;
    http_server_start();
    http_worker.access_log = tmpfile();
    TEST_ASSERT(http_worker.access_log != NULL);
    two_requests();
    TEST_ASSERT(moss_sleep(20) == 0);
    text = http_log_text(http_worker.access_log);
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
    http_server_stop();
}

void http_case_counters_updated(void)
{
    static const char request[] = "GET /hello HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n"
                                  "GET /fail HTTP/1.1\r\n\r\n";
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, request);
    http_wire_read(fd, w, 3);
    http_session_close(fd);
    TEST_ASSERT(http_counters.requests == 3);
    TEST_ASSERT(http_counters.status[MOSS__STATUS_2XX] == 1);
    TEST_ASSERT(http_counters.status[MOSS__STATUS_4XX] == 1);
    TEST_ASSERT(http_counters.status[MOSS__STATUS_5XX] == 1);
    TEST_ASSERT(http_counters.bytes_in == sizeof(request) - 1);
    TEST_ASSERT(http_counters.bytes_out == w->len);
    TEST_ASSERT(http_counters.request_timeouts == 0);
    free(w);
}
