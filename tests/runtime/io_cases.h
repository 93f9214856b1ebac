/* The I/O cases: their table (io_cases.c), the cases (io_*_cases.c) and
 * what they share (io_fixture.c). */
#ifndef MOSS_TESTS_RUNTIME_IO_CASES_H
#define MOSS_TESTS_RUNTIME_IO_CASES_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define LONG_WAIT 10000      /* ms: a generous bound for what should be quick */

/* What a greenlet's I/O call returned. */
struct outcome {
    int fd;
    ptrdiff_t ret;
    int err;
    int done;
};

/* io_fixture.c */
int64_t io_soon(void);
void io_make_pair(int sv[2]);
void io_close_pair(const int sv[2]);
void io_fill(int fd);
int io_listen_loopback(int backlog, struct sockaddr_in *addr);
int io_connect_loopback(const struct sockaddr_in *addr, int64_t deadline, int *err);
void io_recv_exact(int fd, char *buf, size_t len);
void *io_read_one_run(void *arg);
void *io_write_some_run(void *arg);

/* io_transfer_cases.c */
void io_case_read_write_between_greenlets(void);
void io_case_large_write_waits_for_reader(void);
void io_case_sendfile_temp_file(void);
void io_case_write_to_closed_peer_gives_epipe(void);

/* io_wait_cases.c */
void io_case_read_deadline(void);
void io_case_read_scoped_deadline(void);
void io_case_kill_blocked_in_read(void);
void io_case_kill_blocked_in_write(void);
void io_case_kill_blocked_in_accept(void);
void io_case_killed_greenlet_io_fails_when_ready(void);
void io_case_kill_blocked_in_connect(void);
void io_case_connect_deadline_and_refused(void);

/* io_fd_table_cases.c */
void io_case_second_reader_gets_ebusy(void);
void io_case_close_wakes_waiters_with_ebadf(void);
void io_case_wait_fd_events_and_limits(void);

/* io_socket_cases.c */
void io_case_accept_connect_loopback(void);

/* io_reader_cases.c */
void io_case_reader_lines_across_reads(void);
void io_case_reader_deadline_keeps_partial_line(void);
void io_case_reader_line_too_long(void);
void io_case_reader_read_mixes_with_lines(void);

/* io_scale_cases.c */
void io_case_io_not_starved_by_spawn_flood(void);
void io_case_many_concurrent_connections(void);

#endif
