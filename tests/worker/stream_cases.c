/* The worker skeleton's cases, in the order they run. The server process
 * and the clients are in stream_fixture.c; the cases in listener_cases.c,
 * stream_echo_cases.c, stream_limit_cases.c, proxy_cases.c, drain_cases.c
 * and serve_cases.c. */
#include "stream_cases.h"

const struct moss_test_case moss_test_stream_cases[] = {
    {"listener_bind_inet", stream_case_listener_bind_inet},
    {"listener_bind_unix", stream_case_listener_bind_unix},
    {"listener_bind_errors", stream_case_listener_bind_errors},
    {"stream_echo_many", stream_case_stream_echo_many},
    {"stream_echo_unix", stream_case_stream_echo_unix},
    {"stream_connection_limit", stream_case_stream_connection_limit},
    {"stream_emfile_backoff", stream_case_stream_emfile_backoff},
    {"proxy_v1", stream_case_proxy_v1},
    {"proxy_v2", stream_case_proxy_v2},
    {"proxy_malformed", stream_case_proxy_malformed},
    {"proxy_untrusted", stream_case_proxy_untrusted},
    {"proxy_trusted_forms", stream_case_proxy_trusted_forms},
    {"worker_drain", stream_case_worker_drain},
    {"worker_graceful_timeout", stream_case_worker_graceful_timeout},
    {"worker_stop_signals", stream_case_worker_stop_signals},
    {"serve_http_drain", stream_case_serve_http_drain},
    {"serve_start_errors", stream_case_serve_start_errors},
    {NULL, NULL},
};
