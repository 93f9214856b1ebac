/* The HTTP/1.1 server's cases, in the order they run. The server under
 * test, the test app and the client side are in http_fixture.c; the cases
 * in http_protocol_cases.c, http_limits_cases.c, http_smuggling_cases.c and
 * http_app_cases.c. */
#include "http_cases.h"

const struct moss_test_case moss_test_http_cases[] = {
    {"keep_alive_two_requests", http_case_keep_alive_two_requests},
    {"pipelined_requests_in_order", http_case_pipelined_requests_in_order},
    {"http10_close_and_keep_alive", http_case_http10_close_and_keep_alive},
    {"connection_close_honoured", http_case_connection_close_honoured},
    {"max_requests_per_connection", http_case_max_requests_per_connection},
    {"head_too_large_431", http_case_head_too_large_431},
    {"too_many_headers_431", http_case_too_many_headers_431},
    {"body_too_large_413", http_case_body_too_large_413},
    {"header_timeout_trickle_408", http_case_header_timeout_trickle_408},
    {"keepalive_idle_timeout_closes", http_case_keepalive_idle_timeout_closes},
    {"body_timeout", http_case_body_timeout},
    {"smuggling_vectors_400", http_case_smuggling_vectors_400},
    {"bad_chunk_size_400", http_case_bad_chunk_size_400},
    {"chunked_request_body_echoed", http_case_chunked_request_body_echoed},
    {"unread_body_drained", http_case_unread_body_drained},
    {"chunked_response_streamed", http_case_chunked_response_streamed},
    {"head_has_headers_no_body", http_case_head_has_headers_no_body},
    {"expect_100_continue", http_case_expect_100_continue},
    {"date_and_server_headers", http_case_date_and_server_headers},
    {"request_accessors_and_response_api", http_case_request_accessors_and_response_api},
    {"handler_error_500_and_no_response_204", http_case_handler_error_500_and_no_response_204},
    {"request_timeout_503", http_case_request_timeout_503},
    {"drain_closes_idle_and_says_close", http_case_drain_closes_idle_and_says_close},
    {"kill_connection_mid_request", http_case_kill_connection_mid_request},
    {"access_log_text", http_case_access_log_text},
    {"access_log_json", http_case_access_log_json},
    {"counters_updated", http_case_counters_updated},
    {NULL, NULL},
};
