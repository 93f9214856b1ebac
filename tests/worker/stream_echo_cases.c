/* The stream server echoing: many clients at once over TCP, and a unix
 * socket. */
#include "stream_cases.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- the stream server ----------------------------------------------------------- */

#define ECHO_CLIENTS 100

void stream_case_stream_echo_many(void)
{
    static int fds[ECHO_CLIENTS];
    static char big[1 << 20], back[1 << 20];
    struct server s;

    stream_config_defaults();
    stream_server_start(&s, "127.0.0.1:0", 0);
    for (int i = 0; i < ECHO_CLIENTS; i++)
        fds[i] = stream_client_connect(s.address); /* all connected at once */
    for (int i = 0; i < ECHO_CLIENTS; i++) {
        char msg[32];

        stream_expect_greeting_self(fds[i]);
        snprintf(msg, sizeof(msg), "client %d\n", i);
        stream_echo_check(fds[i], msg);
    }
    stream_counter_wait(&s.counters->connections_active, ECHO_CLIENTS);
    TEST_ASSERT(stream_counter(&s.counters->connections_total) == ECHO_CLIENTS);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    send_all(fds[0], big, sizeof(big) / 2); /* the server echoes while we send */
    recv_exactly(fds[0], back, sizeof(big) / 2);
    send_all(fds[0], big + sizeof(big) / 2, sizeof(big) / 2);
    recv_exactly(fds[0], back + sizeof(big) / 2, sizeof(big) / 2);
    TEST_ASSERT(memcmp(big, back, sizeof(big)) == 0);
    for (int i = 0; i < ECHO_CLIENTS; i++)
        close(fds[i]);
    stream_counter_wait(&s.counters->connections_active, 0);
    stream_sleep_ms(250); /* a refresh of the hub's figures */
    TEST_ASSERT(stream_counter(&s.counters->greenlets) < 10); /* connections' greenlets freed */
    stream_server_stop(&s, SIGINT, WAIT_MS);
}

void stream_case_stream_echo_unix(void)
{
    char dir[64], address[128];
    struct server s;
    int fd;

    stream_config_defaults();
    stream_temp_dir(dir, sizeof(dir));
    snprintf(address, sizeof(address), "unix:%s/echo.sock", dir);
    stream_server_start(&s, address, 0);
    TEST_ASSERT(strcmp(s.address, address) == 0);
    fd = stream_client_connect(address);
    stream_expect_line(fd, "client=unix:\n");
    stream_echo_check(fd, "over a unix socket\n");
    close(fd);
    stream_server_stop(&s, SIGTERM, WAIT_MS);
    rmdir(dir);
}
