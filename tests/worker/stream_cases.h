/* What the stream cases share: the server process, its raw handler and
 * the clients (stream_fixture.c), and the cases, one file per idea, that
 * the table in stream_cases.c lists. */
#ifndef MOSS_TESTS_WORKER_STREAM_CASES_H
#define MOSS_TESTS_WORKER_STREAM_CASES_H

#include "harness.h"
#include "moss.h"

#include "../../worker/listener.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WAIT_MS 5000          /* a generous bound for what should be quick */
#define QUIET_MS 200          /* how long "not served" is watched */
#define SPIN_BOUND 1000       /* loop iterations in QUIET_MS + refreshes: far above idle */

/* ---- stream_fixture.c: time ---- */

int64_t stream_now_ms(void);
void stream_sleep_ms(int64_t ms);

/* ---- stream_fixture.c: the server process ---- */

extern struct moss_config stream_config;
extern int stream_nofile_free;

struct server {
    pid_t pid;
    int log_fd;                      /* the error log's read end */
    struct moss__worker_counters *counters; /* shared with the child */
    char address[MOSS__ADDRESS_MAX];
    char log[32768];                 /* what the log said so far */
    size_t log_len;
};

int stream_server_log_read(struct server *s, int64_t ms);
const char *stream_server_log_wait(struct server *s, const char *text);
int stream_server_log_count(const struct server *s, const char *text);
void stream_server_start(struct server *s, const char *address, int proxy);
int stream_server_wait_exit(struct server *s, int64_t ms);
int64_t stream_server_stop(struct server *s, int sig, int64_t ms);
uint64_t stream_counter(_Atomic uint64_t *c);
void stream_counter_wait(_Atomic uint64_t *c, uint64_t want);
uint64_t stream_server_idle_iterations(struct server *s);

/* ---- stream_fixture.c: clients ---- */

int stream_client_connect(const char *address);
void stream_expect_line(int fd, const char *want);
int stream_readable_within(int fd, int64_t ms);
void stream_expect_closed(int fd);
void stream_expect_greeting_self(int fd);
void stream_echo_check(int fd, const char *msg);
void stream_config_defaults(void);
void stream_temp_dir(char *dir, size_t cap);

/* ---- the cases ---- */

/* listener_cases.c */
void stream_case_listener_bind_inet(void);
void stream_case_listener_bind_unix(void);
void stream_case_listener_bind_errors(void);

/* stream_echo_cases.c */
void stream_case_stream_echo_many(void);
void stream_case_stream_echo_unix(void);

/* stream_limit_cases.c */
void stream_case_stream_connection_limit(void);
void stream_case_stream_emfile_backoff(void);

/* proxy_cases.c */
void stream_case_proxy_v1(void);
void stream_case_proxy_v2(void);
void stream_case_proxy_malformed(void);
void stream_case_proxy_untrusted(void);
void stream_case_proxy_trusted_forms(void);

/* drain_cases.c */
void stream_case_worker_drain(void);
void stream_case_worker_graceful_timeout(void);
void stream_case_worker_stop_signals(void);

/* serve_cases.c */
void stream_case_serve_http_drain(void);
void stream_case_serve_start_errors(void);

#endif
