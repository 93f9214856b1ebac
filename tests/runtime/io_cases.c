/* Cooperative I/O: reads and writes that wait, deadlines and kills, the fd
 * table's rules (EBUSY, EBADF on close), sockets over 127.0.0.1, sendfile,
 * the buffered reader, EPIPE without SIGPIPE, and fairness against a spawn
 * flood. Only socketpairs and loopback sockets; every wait has a deadline. */
#include "harness.h"
#include "io_cases.h"

/* The cases live in io_*_cases.c, one file a theme, and share io_fixture.c;
 * this file keeps their table, in the order they run. */
const struct moss_test_case moss_test_io_cases[] = {
    {"read_write_between_greenlets", io_case_read_write_between_greenlets},
    {"large_write_waits_for_reader", io_case_large_write_waits_for_reader},
    {"read_deadline", io_case_read_deadline},
    {"read_scoped_deadline", io_case_read_scoped_deadline},
    {"kill_blocked_in_read", io_case_kill_blocked_in_read},
    {"kill_blocked_in_write", io_case_kill_blocked_in_write},
    {"kill_blocked_in_accept", io_case_kill_blocked_in_accept},
    {"kill_blocked_in_connect", io_case_kill_blocked_in_connect},
    {"killed_greenlet_io_fails_when_ready", io_case_killed_greenlet_io_fails_when_ready},
    {"connect_deadline_and_refused", io_case_connect_deadline_and_refused},
    {"second_reader_gets_ebusy", io_case_second_reader_gets_ebusy},
    {"close_wakes_waiters_with_ebadf", io_case_close_wakes_waiters_with_ebadf},
    {"wait_fd_events_and_limits", io_case_wait_fd_events_and_limits},
    {"accept_connect_loopback", io_case_accept_connect_loopback},
    {"sendfile_temp_file", io_case_sendfile_temp_file},
    {"reader_lines_across_reads", io_case_reader_lines_across_reads},
    {"reader_deadline_keeps_partial_line", io_case_reader_deadline_keeps_partial_line},
    {"reader_line_too_long", io_case_reader_line_too_long},
    {"reader_read_mixes_with_lines", io_case_reader_read_mixes_with_lines},
    {"write_to_closed_peer_gives_epipe", io_case_write_to_closed_peer_gives_epipe},
    {"io_not_starved_by_spawn_flood", io_case_io_not_starved_by_spawn_flood},
    {"many_concurrent_connections", io_case_many_concurrent_connections},
    {NULL, NULL},
};
