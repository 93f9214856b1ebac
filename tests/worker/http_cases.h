/* What the HTTP cases share: the server under test, the test app and the
 * client side (http_fixture.c), and the cases, one file per idea
 * (http_*_cases.c), that the table in http_cases.c lists. */
#ifndef MOSS_TESTS_WORKER_HTTP_CASES_H
#define MOSS_TESTS_WORKER_HTTP_CASES_H

#include "../../config/config.h"
#include "../../worker/worker.h"
#include "harness.h"
#include "moss.h"

#include <http_parser.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LONG_WAIT 5000   /* ms: a generous bound for what should be quick */
#define CONNS_MAX 32
#define RESPONSES_MAX 8
#define WIRE_MAX 32768
#define BODY_MAX 8192
#define HEADS_MAX 2048

/* ---- http_fixture.c: the server under test ---- */

extern struct moss_config http_cfg;
extern struct moss__worker_counters http_counters;
extern struct moss__worker http_worker;

struct http_server {
    int listener;
    struct sockaddr_in addr;
    moss_greenlet_t *acceptor;
    moss_greenlet_t *conn[CONNS_MAX];
    struct moss__conn_entry *entry[CONNS_MAX];
    unsigned count;
};
extern struct http_server http_srv;

/* What the handlers saw, for the cases to check. */
struct http_seen {
    unsigned handled;
    int read_errno;       /* the last failed moss_request_read */
    int sleep_errno;      /* /sleep's moss_sleep */
    int late_send_errno;  /* /slow's send after a cancelled sleep */
    int api_ok;           /* /api's checks of the response calls */
};
extern struct http_seen http_seen;

int64_t http_soon(void);
void http_config_defaults(void);
void http_server_start(void);
void http_server_stop(void);
const char *http_log_text(FILE *f);

/* ---- http_fixture.c: the client side ---- */

int http_client_connect(void);
void http_client_send(int fd, const char *text);

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

struct wire *http_wire_new(void);
void http_wire_read(int fd, struct wire *w, unsigned want);
void http_wire_read_to_eof(int fd, struct wire *w);
const char *http_wire_header(const struct wire *w, unsigned i, const char *name);
int http_wire_body_is(const struct wire *w, unsigned i, const char *text);
int http_header_is(const struct wire *w, unsigned i, const char *name, const char *value);
struct wire *http_exchange_to_close(const char *request);
void http_expect_refused(const char *request, const char *status_line);

/* ---- the cases ---- */

/* http_protocol_cases.c */
void http_case_keep_alive_two_requests(void);
void http_case_pipelined_requests_in_order(void);
void http_case_http10_close_and_keep_alive(void);
void http_case_connection_close_honoured(void);
void http_case_chunked_request_body_echoed(void);
void http_case_unread_body_drained(void);
void http_case_chunked_response_streamed(void);
void http_case_head_has_headers_no_body(void);
void http_case_expect_100_continue(void);

/* http_limits_cases.c */
void http_case_max_requests_per_connection(void);
void http_case_head_too_large_431(void);
void http_case_too_many_headers_431(void);
void http_case_body_too_large_413(void);
void http_case_header_timeout_trickle_408(void);
void http_case_keepalive_idle_timeout_closes(void);
void http_case_body_timeout(void);

/* http_smuggling_cases.c */
void http_case_smuggling_vectors_400(void);
void http_case_bad_chunk_size_400(void);

/* http_app_cases.c */
void http_case_date_and_server_headers(void);
void http_case_request_accessors_and_response_api(void);
void http_case_handler_error_500_and_no_response_204(void);
void http_case_request_timeout_503(void);
void http_case_drain_closes_idle_and_says_close(void);
void http_case_kill_connection_mid_request(void);
void http_case_access_log_text(void);
void http_case_access_log_json(void);
void http_case_counters_updated(void);

/* The usual case's start and end: default config, server started, one
 * client connected (its fd); then that fd closed and the server stopped. */
int http_session_open(void);
void http_session_close(int fd);

#endif
