/* The protocol: keep-alive, pipelining, HTTP/1.0, Connection: close,
 * chunked bodies both ways, HEAD and Expect: 100-continue. */
#include "http_cases.h"

#include <stdlib.h>
#include <string.h>

/* ---- keep-alive, pipelining, closing ------------------------------------------ */

void http_case_keep_alive_two_requests(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    http_wire_read(fd, w, 1);
    http_client_send(fd, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    http_wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2 && !w->eof);
    TEST_ASSERT(strncmp(w->raw, "HTTP/1.1 200 OK\r\n", 17) == 0);
    TEST_ASSERT(w->status[0] == 200 && http_wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(w->status[1] == 404 && http_wire_body_is(w, 1, "not found\n"));
    TEST_ASSERT(http_header_is(w, 0, "Content-Length", "6"));
    TEST_ASSERT(http_wire_header(w, 0, "Connection") == NULL);
    TEST_ASSERT(http_srv.count == 1 && http_seen.handled == 2); /* one connection */
    http_session_close(fd);
    free(w);
}

void http_case_pipelined_requests_in_order(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
                    "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
    http_wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3);
    TEST_ASSERT(w->status[0] == 200 && http_wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(w->status[1] == 200 && http_wire_body_is(w, 1, "abcde"));
    TEST_ASSERT(w->status[2] == 200 && http_wire_body_is(w, 2, "hello chunked world"));
    http_session_close(fd);
    free(w);
}

void http_case_http10_close_and_keep_alive(void)
{
    struct wire *w;
    int fd;

    http_config_defaults();
    http_server_start();
    w = http_exchange_to_close("GET /hello HTTP/1.0\r\n\r\n");
    TEST_ASSERT(w->count == 1 && w->status[0] == 200 && http_wire_body_is(w, 0, "hello\n"));
    TEST_ASSERT(http_header_is(w, 0, "Connection", "close"));
    free(w);
    /* HTTP/1.0 keep-alive, and a streamed body: close-delimited, no chunks */
    w = http_wire_new();
    fd = http_client_connect();
    http_client_send(fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(http_header_is(w, 0, "Connection", "keep-alive") && !w->eof);
    http_client_send(fd, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    http_wire_read_to_eof(fd, w);
    TEST_ASSERT(w->count == 2 && http_wire_body_is(w, 1, "hello chunked world"));
    TEST_ASSERT(http_header_is(w, 1, "Connection", "close"));
    TEST_ASSERT(http_wire_header(w, 1, "Transfer-Encoding") == NULL);
    TEST_ASSERT(http_wire_header(w, 1, "Content-Length") == NULL);
    TEST_ASSERT(strstr(w->raw, "\r\n\r\nhello chunked world") != NULL);
    http_session_close(fd);
    free(w);
}

void http_case_connection_close_honoured(void)
{
    struct wire *w;

    http_config_defaults();
    http_server_start();
    /* the client's Connection: close; a request after it is not served */
    w = http_exchange_to_close("GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"
                          "GET /hello HTTP/1.1\r\n\r\n");
    TEST_ASSERT(w->count == 1 && http_header_is(w, 0, "Connection", "close"));
    TEST_ASSERT(http_seen.handled == 1);
    http_server_stop();
    free(w);
}

/* ---- bodies ------------------------------------------------------------------------- */

void http_case_chunked_request_body_echoed(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;ext=1\r\nhello\r\n1\r\n \r\n");
    TEST_ASSERT(moss_sleep(20) == 0); /* the rest comes later: the reader waits */
    http_client_send(fd, "10\r\nchunked world!!!\r\n0\r\nX-Trailer: t\r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(w->status[0] == 200 && http_wire_body_is(w, 0, "hello chunked world!!!"));
    TEST_ASSERT(http_header_is(w, 0, "Content-Length", "22"));
    /* the connection goes on */
    http_client_send(fd, "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 2);
    TEST_ASSERT(w->count == 2 && http_wire_body_is(w, 1, "hello\n"));
    http_session_close(fd);
    free(w);
}

void http_case_unread_body_drained(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "POST /noread HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
    http_wire_read(fd, w, 1);
    http_client_send(fd, "cde"); /* the rest of the body: drained after the response */
    http_client_send(fd, "POST /noread HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "3\r\nabc\r\n0\r\n\r\nGET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3 && !w->eof);
    TEST_ASSERT(http_wire_body_is(w, 0, "ok\n") && http_wire_body_is(w, 1, "ok\n"));
    TEST_ASSERT(http_wire_body_is(w, 2, "hello\n"));
    TEST_ASSERT(http_wire_header(w, 0, "Connection") == NULL);
    http_session_close(fd);
    free(w);
}

void http_case_chunked_response_streamed(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "GET /stream HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 1);
    TEST_ASSERT(w->status[0] == 200 && http_wire_body_is(w, 0, "hello chunked world"));
    TEST_ASSERT(http_header_is(w, 0, "Transfer-Encoding", "chunked"));
    TEST_ASSERT(http_wire_header(w, 0, "Content-Length") == NULL);
    TEST_ASSERT(strstr(w->raw, "\r\n\r\n6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n") !=
                NULL);
    http_session_close(fd);
    free(w);
}

void http_case_head_has_headers_no_body(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    w->head_mask = 1 | 2;
    http_client_send(fd, "HEAD /hello HTTP/1.1\r\n\r\nHEAD /stream HTTP/1.1\r\n\r\n"
                    "GET /hello HTTP/1.1\r\n\r\n");
    http_wire_read(fd, w, 3);
    TEST_ASSERT(w->count == 3);
    TEST_ASSERT(http_header_is(w, 0, "Content-Length", "6") && w->body_len[0] == 0);
    TEST_ASSERT(http_header_is(w, 1, "Transfer-Encoding", "chunked") && w->body_len[1] == 0);
    TEST_ASSERT(w->status[2] == 200 && http_wire_body_is(w, 2, "hello\n"));
    /* no stray body bytes between the heads */
    TEST_ASSERT(strstr(w->raw, "\r\n\r\nHTTP/1.1 200 OK\r\n") != NULL);
    TEST_ASSERT(strstr(w->raw, "hello") == strstr(w->raw, "hello\n"));
    http_session_close(fd);
    free(w);
}

void http_case_expect_100_continue(void)
{
    struct wire *w = http_wire_new();
    int fd;

    fd = http_session_open();
    http_client_send(fd, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
    http_wire_read(fd, w, 1); /* the body goes only after the 100 */
    TEST_ASSERT(strcmp(w->raw, "HTTP/1.1 100 Continue\r\n\r\n") == 0);
    http_client_send(fd, "hello");
    http_wire_read(fd, w, 2);
    TEST_ASSERT(w->status[1] == 200 && http_wire_body_is(w, 1, "hello"));
    TEST_ASSERT(http_wire_header(w, 1, "Connection") == NULL);
    TEST_ASSERT(moss_close(fd) == 0);
    free(w);
    /* a handler that answers without reading: no 100, and the connection
     * closes (the client may never send the body) */
    w = http_exchange_to_close("POST /noread HTTP/1.1\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n");
    TEST_ASSERT(w->count == 1 && w->status[0] == 200 && strstr(w->raw, "100") == NULL);
    TEST_ASSERT(http_header_is(w, 0, "Connection", "close"));
    http_server_stop();
    free(w);
}
