/* The test cases in tests/runtime/ (files ending _cases.c) need no test library, so the same
 * cases run under Check (tests/runtime/check_runtime.c) and, where Check is not
 * built for the target (aarch64 under qemu), under tests/arch/selftest.c. Each
 * runner runs every case in a child process of its own and provides
 * moss_test_fail. */
#ifndef MOSS_TESTS_HARNESS_H
#define MOSS_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct moss_test_case {
    const char *name;
    void (*run)(void);
};

/* Reports a failed assertion and ends the case. Provided by the runner. */
__attribute__((noreturn)) void moss_test_fail(const char *expr, const char *file, int line);

/* An ordered record of what the greenlets of a case did, one character a
 * step (tests/runtime/trail.c). Each case runs in a fresh process. */
struct moss_test_trail {
    char steps[128];
    size_t len;
};

extern struct moss_test_trail trail;
void step(char c);

/* A flood of greenlets, each spawning two more (detached) until `total` have
 * run; flood_count() says how many have so far (tests/runtime/flood.c). */
void flood_start(unsigned total);
unsigned flood_count(void);

/* Sleeps in 1 ms steps until no spawned greenlet is alive (bounded). */
void wait_all_finished(void);

/* Plain blocking clients for tests that drive a server from outside the hub
 * (tests/integration/client.c). Every call waits at most 5 s
 * (SO_RCVTIMEO/SO_SNDTIMEO) and fails the case on error. */
int test_client_connect(unsigned port); /* 127.0.0.1:port */
void test_client_timeouts(int fd);
void send_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes; the peer closing first fails the case. */
void recv_exactly(int fd, void *buf, size_t len);

/* Child processes and ports (tests/integration/process.c). */
int64_t test_clock_ms(void);                  /* monotonic */
void test_pause_ms(int ms);
int test_output_file(void);                   /* an unlinked file in /tmp */
char *test_output_read(int fd, char *buf, size_t cap); /* its first cap-1 bytes */
/* Starts argv[0] (searched on PATH), stdout and stderr to out_fd, stdin
 * from /dev/null; the child dies with the test process. */
pid_t test_spawn(char *const argv[], int out_fd);
/* Waits up to timeout_ms for pid to exit: 0 with *status, or -1 (pid is
 * left running: the caller ends it). */
int test_wait_exit(pid_t pid, int timeout_ms, int *status);
/* A loopback port nothing listens on just now; another process may take it
 * before the caller binds it, so callers retry. */
unsigned test_free_port(void);

#define TEST_ASSERT(cond) ((cond) ? (void)0 : moss_test_fail(#cond, __FILE__, __LINE__))

/* Case tables, each ended by an entry with a NULL name. */
extern const struct moss_test_case moss_test_greenlet_cases[];
extern const struct moss_test_case moss_test_stack_cases[];
extern const struct moss_test_case moss_test_hub_cases[];
extern const struct moss_test_case moss_test_hub_handoff_cases[];
extern const struct moss_test_case moss_test_io_cases[];
extern const struct moss_test_case moss_test_sync_cases[];
extern const struct moss_test_case moss_test_threadpool_cases[];
extern const struct moss_test_case moss_test_example_cases[];
extern const struct moss_test_case moss_test_watchdog_cases[];
extern const struct moss_test_case moss_test_http_cases[];
extern const struct moss_test_case moss_test_stream_cases[];
extern const struct moss_test_case moss_test_config_cases[];
extern const struct moss_test_case moss_test_config_file_cases[];
extern const struct moss_test_case moss_test_server_cases[];
extern const struct moss_test_case moss_test_fuzz_regression_cases[];
extern const struct moss_test_case moss_test_master_os_cases[];
extern const struct moss_test_case moss_test_admin_cases[];
extern const struct moss_test_case moss_test_master_cases[];
extern const struct moss_test_case moss_test_master_reload_cases[];
extern const struct moss_test_case moss_test_watchdog_server_cases[];
extern const struct moss_test_case moss_test_fault_cases[];
extern const struct moss_test_case moss_test_haproxy_cases[];
extern const struct moss_test_case moss_test_park_cases[];

struct moss_test_table {
    const char *name; /* the Check TCase: run one with CK_RUN_CASE=name */
    const struct moss_test_case *cases;
};

/* The greenlet core's tables (no library beyond libc), ended by NULL names. */
extern const struct moss_test_table moss_test_core_tables[];
/* The hub layer's tables (libev and up), ended by NULL names. */
extern const struct moss_test_table moss_test_hub_tables[];
/* The worker's tables (worker/, config/, and the real binary), ended by NULL
 * names. */
extern const struct moss_test_table moss_test_worker_tables[];
/* The master's tables (master/, and the real binary as a prefork server),
 * ended by NULL names. */
extern const struct moss_test_table moss_test_master_tables[];

#endif
