/* Fairness and scale: I/O against a spawn flood, and many concurrent
 * connections. */
#include "harness.h"
#include "moss.h"
#include "io_cases.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- fairness and scale ------------------------------------------------ */

/* A flood of FLOOD greenlets (tests/runtime/flood.c) keeps the run queue
 * growing. */
#define FLOOD 20000

static unsigned flood_at_read;

static void *read_during_flood_run(void *arg)
{
    struct outcome *o = arg;
    char c;

    o->ret = moss_read(o->fd, &c, 1, io_soon());
    flood_at_read = flood_count();
    return NULL;
}

void io_case_io_not_starved_by_spawn_flood(void)
{
    int sv[2];
    struct outcome o = {0};
    moss_greenlet_t *reader;

    io_make_pair(sv);
    o.fd = sv[0];
    reader = moss_spawn(read_during_flood_run, &o);
    TEST_ASSERT(moss_sleep(5) == 0); /* the reader is parked in moss_read */
    TEST_ASSERT(write(sv[1], "!", 1) == 1); /* readable: only a poll can tell it */
    flood_start(FLOOD);
    TEST_ASSERT(moss_join(reader, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(o.ret == 1);
    wait_all_finished();
    TEST_ASSERT(flood_count() == FLOOD);
    TEST_ASSERT(flood_at_read < FLOOD); /* the read completed mid-flood */
    io_close_pair(sv);
}

#define CLIENTS 500
#define MESSAGE_LEN 12

static struct sockaddr_in echo_addr;
static unsigned echo_ok;

static void *echo_handler_run(void *arg)
{
    int conn = (int)(intptr_t)arg;
    char buf[MESSAGE_LEN];

    io_recv_exact(conn, buf, MESSAGE_LEN);
    TEST_ASSERT(moss_write(conn, buf, MESSAGE_LEN, io_soon()) == MESSAGE_LEN);
    TEST_ASSERT(moss_close(conn) == 0);
    return NULL;
}

static void *echo_server_run(void *arg)
{
    int l = (int)(intptr_t)arg;

    for (int i = 0; i < CLIENTS; i++) {
        int conn = moss_accept(l, NULL, NULL, io_soon());

        TEST_ASSERT(conn != -1);
        TEST_ASSERT(moss_detach(moss_spawn(echo_handler_run, (void *)(intptr_t)conn)) == 0);
    }
    return NULL;
}

static void *echo_client_run(void *arg)
{
    char msg[MESSAGE_LEN + 1], back[MESSAGE_LEN];
    int err = 0, fd = io_connect_loopback(&echo_addr, io_soon(), &err);

    TEST_ASSERT(fd != -1);
    snprintf(msg, sizeof(msg), "client %04u\n", (unsigned)(uintptr_t)arg);
    TEST_ASSERT(moss_write(fd, msg, MESSAGE_LEN, io_soon()) == MESSAGE_LEN);
    io_recv_exact(fd, back, MESSAGE_LEN);
    TEST_ASSERT(memcmp(msg, back, MESSAGE_LEN) == 0);
    TEST_ASSERT(moss_close(fd) == 0);
    echo_ok++;
    return NULL;
}

void io_case_many_concurrent_connections(void)
{
    static moss_greenlet_t *client[CLIENTS];
    int l = io_listen_loopback(CLIENTS, &echo_addr);
    moss_greenlet_t *server = moss_spawn(echo_server_run, (void *)(intptr_t)l);

    for (unsigned i = 0; i < CLIENTS; i++)
        TEST_ASSERT((client[i] = moss_spawn(echo_client_run, (void *)(uintptr_t)i)) != NULL);
    for (unsigned i = 0; i < CLIENTS; i++)
        TEST_ASSERT(moss_join(client[i], MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_join(server, io_soon(), NULL) == 0);
    wait_all_finished();
    TEST_ASSERT(echo_ok == CLIENTS);
    TEST_ASSERT(moss_close(l) == 0);
}
