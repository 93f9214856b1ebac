/* The run loop's signals: the drain on SIGTERM, graceful_timeout, and the
 * signals that stop at once. */
#include "stream_cases.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---- signals and the drain -------------------------------------------------------- */

/* SIGTERM: the idle connection closes at once, the slow request completes,
 * the process exits 0 well before graceful_timeout. */
void stream_case_worker_drain(void)
{
    struct server s;
    int busy, idle;
    int64_t start, took;

    stream_config_defaults();
    stream_config.graceful_timeout_ms = 8000;
    stream_server_start(&s, "127.0.0.1:0", 0);
    busy = stream_client_connect(s.address);
    stream_expect_greeting_self(busy);
    idle = stream_client_connect(s.address);
    stream_expect_greeting_self(idle);
    send_all(busy, "slow 600", 8);
    stream_sleep_ms(50);
    start = stream_now_ms();
    TEST_ASSERT(kill(s.pid, SIGTERM) == 0);
    TEST_ASSERT(stream_readable_within(idle, 1000)); /* at once, not at the drain's end */
    stream_expect_closed(idle);
    stream_expect_line(busy, "done\n");
    stream_expect_closed(busy);
    stream_server_stop(&s, 0, WAIT_MS); /* signalled already: only waits */
    took = stream_now_ms() - start;
    TEST_ASSERT(took < 4000);
    TEST_ASSERT(strstr(s.log, "draining 2 connections") != NULL);
    TEST_ASSERT(strstr(s.log, "cancelling") == NULL);
    close(busy);
    close(idle);
}

/* A request that outlives graceful_timeout is cancelled; the exit is clean. */
void stream_case_worker_graceful_timeout(void)
{
    struct server s;
    int busy;
    int64_t took;

    stream_config_defaults();
    stream_config.graceful_timeout_ms = 300;
    stream_server_start(&s, "127.0.0.1:0", 0);
    busy = stream_client_connect(s.address);
    stream_expect_greeting_self(busy);
    send_all(busy, "slow 60000", 10);
    stream_sleep_ms(50);
    took = stream_server_stop(&s, SIGTERM, WAIT_MS);
    TEST_ASSERT(took >= 250 && took < 3000);
    stream_expect_closed(busy);
    TEST_ASSERT(strstr(s.log, "graceful timeout: cancelling 1 connections") != NULL);
    close(busy);
}

/* SIGINT and SIGQUIT stop at once, also in the middle of a drain. */
void stream_case_worker_stop_signals(void)
{
    static const int signals[][2] = {{SIGINT, 0}, {SIGQUIT, 0}, {SIGTERM, SIGINT}};
    struct server s;
    int busy, idle;

    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        stream_config_defaults();
        stream_config.graceful_timeout_ms = 60000;
        stream_server_start(&s, "127.0.0.1:0", 0);
        busy = stream_client_connect(s.address);
        stream_expect_greeting_self(busy);
        idle = stream_client_connect(s.address);
        stream_expect_greeting_self(idle);
        send_all(busy, "slow 60000", 10);
        stream_sleep_ms(50);
        if (signals[i][1] != 0) {
            TEST_ASSERT(kill(s.pid, signals[i][0]) == 0);
            stream_sleep_ms(100);
        }
        TEST_ASSERT(stream_server_stop(&s, signals[i][1] != 0 ? signals[i][1] : signals[i][0],
                                WAIT_MS) < 2000);
        stream_expect_closed(busy);
        stream_expect_closed(idle);
        close(busy);
        close(idle);
    }
}
