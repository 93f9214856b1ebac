/* The limits: requests per connection, the head's and the body's sizes
 * (431, 413), and the timeouts (408, keep-alive idle, body). */
#include "http_cases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_case_max_requests_per_connection(void)
{
    struct wire *w = http_wire_new();
    int fd;

    http_config_defaults();
    http_cfg.max_requests_per_connection = 2;
    http_server_start();
    fd = http_client_connect();
    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(http_wire_header(w, 0, "Connection") == NULL);
    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read_to_eof(fd, w);
    TEST_ASSERT(w->count == 2 && http_header_is(w, 1, "Connection", "close"));
    http_session_close(fd);
    free(w);
}

/* ---- limits -------------------------------------------------------------------------- */

void http_case_head_too_large_431(void)
{
    static char request[4096];
    char *p = request;

    http_config_defaults();
    http_cfg.max_header_size = 1024;
    http_server_start();
    p += sprintf(p, "GET /hello HTTP/1.1\r\nX-Big: ");
    memset(p, 'a', 2000);
    strcpy(p + 2000, "\r\n\r\n");
    http_expect_refused(request, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    /* a request line alone that does not fit */
    p = request + sprintf(request, "GET /");
    memset(p, 'b', 1500);
    strcpy(p + 1500, " HTTP/1.1\r\n\r\n");
    http_expect_refused(request, "HTTP/1.1 431 ");
    TEST_ASSERT(http_seen.handled == 0);
    http_server_stop();
}

void http_case_too_many_headers_431(void)
{
    static char request[4096];
    char *p = request;

    http_config_defaults();
    http_cfg.max_headers = 16;
    http_server_start();
    p += sprintf(p, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 17; i++)
        p += sprintf(p, "X-H%d: v\r\n", i);
    strcpy(p, "\r\n");
    http_expect_refused(request, "HTTP/1.1 431 ");
    /* exactly the limit is fine */
    p = request + sprintf(request, "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 15; i++)
        p += sprintf(p, "X-H%d: v\r\n", i);
    strcpy(p, "Connection: close\r\n\r\n");
    http_expect_refused(request, "HTTP/1.1 200 ");
    TEST_ASSERT(http_seen.handled == 1);
    http_server_stop();
}

void http_case_body_too_large_413(void)
{
    static char request[4096];
    char *p;

    http_config_defaults();
    http_cfg.max_body_size = 1024;
    http_server_start();
    /* a Content-Length beyond the limit: refused before any body is read */
    http_expect_refused("POST /echo HTTP/1.1\r\nContent-Length: 100000\r\n\r\n",
                   "HTTP/1.1 413 Payload Too Large\r\n");
    TEST_ASSERT(http_seen.handled == 0);
    /* chunked: refused as the chunk that crosses the limit arrives */
    p = request + sprintf(request, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "258\r\n");
    memset(p, 'x', 600);
    strcpy(p + 600, "\r\n258\r\n");
    http_expect_refused(request, "HTTP/1.1 413 ");
    TEST_ASSERT(http_seen.handled == 1 && http_seen.read_errno == EMSGSIZE);
    /* exactly the limit is fine */
    p = request + sprintf(request, "POST /echo HTTP/1.1\r\nContent-Length: 1024\r\n"
                                   "Connection: close\r\n\r\n");
    memset(p, 'y', 1024);
    p[1024] = '\0';
    http_expect_refused(request, "HTTP/1.1 200 ");
    http_server_stop();
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

    if (moss_write(t->fd, "GET /hello HTTP/1.1\r\nX-Slow: ", 29, http_soon()) != 29)
        return NULL;
    for (int i = 0; i < 250 && !t->stop; i++) {
        if (moss_sleep(20) == -1 || moss_write(t->fd, "a", 1, http_soon()) != 1)
            return NULL;
        t->sent++;
    }
    return NULL;
}

void http_case_header_timeout_trickle_408(void)
{
    struct trickle t = {0};
    struct wire *w = http_wire_new();
    moss_greenlet_t *g;
    int64_t start, elapsed;

    http_config_defaults();
    http_cfg.header_timeout_ms = 300;
    http_server_start();
    t.fd = http_client_connect();
    start = moss_now();
    g = moss_spawn(trickle_run, &t);
    http_wire_read_to_eof(t.fd, w);
    elapsed = moss_now() - start;
    t.stop = 1;
    TEST_ASSERT(moss_join(g, http_soon(), NULL) == 0);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 408 Request Timeout\r\n", 30) == 0);
    TEST_ASSERT(http_header_is(w, 0, "Connection", "close"));
    TEST_ASSERT(t.sent >= 3);              /* it did trickle... */
    TEST_ASSERT(elapsed >= 250 && elapsed < 3000); /* ...and gained nothing by it */
    TEST_ASSERT(http_seen.handled == 0);
    TEST_ASSERT(moss_close(t.fd) == 0);
    free(w);
    /* a connection that sends nothing gets the same */
    w = http_exchange_to_close("");
    TEST_ASSERT(w->count == 1 && w->status[0] == 408);
    http_server_stop();
    free(w);
}

void http_case_keepalive_idle_timeout_closes(void)
{
    struct wire *w = http_wire_new();
    int fd;
    int64_t start;

    http_config_defaults();
    http_cfg.keepalive_timeout_ms = 400;
    http_server_start();
    fd = http_client_connect();
    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(w->count == 1 && !w->eof);
    start = moss_now();
    http_wire_read_to_eof(fd, w);
    /* the server's deadline counts from its loop batch's time, which can be
     * tens of ms older than our start under valgrind */
    TEST_ASSERT(moss_now() - start >= 300 && moss_now() - start < 3000);
    TEST_ASSERT(w->count == 1); /* closed without a response */
    http_session_close(fd);
    free(w);
}

void http_case_body_timeout(void)
{
    struct wire *w = http_wire_new();
    int fd;
    int64_t start;

    http_config_defaults();
    http_cfg.body_timeout_ms = 200;
    http_server_start();
    fd = http_client_connect();
    start = moss_now();
    http_client_send(fd, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    http_wire_read_to_eof(fd, w);
    TEST_ASSERT(moss_now() - start >= 150 && moss_now() - start < 3000);
    TEST_ASSERT(http_seen.read_errno == ETIMEDOUT);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 408 ", 13) == 0);
    TEST_ASSERT(http_header_is(w, 0, "Connection", "close"));
    http_session_close(fd);
    free(w);
}
