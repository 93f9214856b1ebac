/* Fuzz harness: the PROXY protocol v1/v2 reader (worker/proxy_protocol.c).
 *
 * The input is what a peer sends first on a connection of a listener with
 * proxy_protocol on. moss__proxy_protocol_read needs a real fd (it asks
 * getpeername whether the peer is trusted, and reads through
 * moss__conn_fill), so the input is written into an AF_UNIX socketpair
 * (a unix peer is always trusted), whose writing end is then shut, and the
 * reader runs on the other end from the main greenlet: with every byte and
 * the end of file already there, no read waits, so the hub never runs.
 *
 * Every input runs twice: as a byte stream into a buffer of the default
 * max_header_size (16 KiB), every byte there to be read at once; and as
 * SOCK_SEQPACKET packets into a 1 KiB buffer, the first sixteen of uneven
 * small sizes, so that each read returns one piece and the reader sees the
 * header arrive in parts (a packet longer than the buffer's free room is
 * cut, which only makes the input another input). Checked: a header that
 * is accepted leaves a client that is a valid address (or the real peer's),
 * is consumed whole (a v1 line up to its CRLF, a v2 header to its length)
 * with the bytes after it left in the buffer untouched; one that is
 * refused fails with EPROTO. */
#include "fuzz.h"

#include "../config/settings.h"
#include "../worker/worker.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes of an input that are sent: the socket buffer holds them all. */
#define PROXY_FZ_MAX 32768
/* The client a connection starts with: the real (unix) peer. */
#define PROXY_FZ_PEER "unix:/run/fuzz.sock"

static const uint8_t proxy_fz_pieces[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 32};

struct proxy_fz_pass {
    int type;                     /* SOCK_STREAM or SOCK_SEQPACKET */
    size_t capacity;              /* the connection buffer */
};

static const struct proxy_fz_pass proxy_fz_passes[2] = {
    {SOCK_STREAM, 16384},
    {SOCK_SEQPACKET, 1024},
};

/* The worker the reader logs through: the default config (an AF_UNIX peer
 * is trusted whatever proxy_trusted says) and an error log to /dev/null,
 * so that every rejection is formatted but none is shown. */
static struct moss__worker *proxy_fz_worker(void)
{
    static struct moss__worker w;

    if (w.config == NULL) {
        w.config = moss_config_new();
        w.error_log = fopen("/dev/null", "we");
        MOSS_FUZZ_CHECK(w.config != NULL && w.error_log != NULL);
    }
    return &w;
}

/* Writes data into fd in one piece (a stream) or in packets: the first
 * sixteen of proxy_fz_pieces' sizes, then the rest at once. */
static void proxy_fz_send(int fd, int type, const uint8_t *data, size_t size)
{
    size_t sent = 0;

    for (size_t i = 0; sent < size; i++) {
        size_t n = size - sent;

        if (type == SOCK_SEQPACKET && i < sizeof(proxy_fz_pieces) && n > proxy_fz_pieces[i])
            n = proxy_fz_pieces[i];
        MOSS_FUZZ_CHECK(send(fd, data + sent, n, MSG_NOSIGNAL) == (ssize_t)n);
        sent += n;
    }
    MOSS_FUZZ_CHECK(shutdown(fd, SHUT_WR) == 0);
}

/* What an accepted header must leave: a client that is the real peer or a
 * valid address, the header consumed whole, the rest of the buffer as
 * sent (exact: streams only, as packets may be cut). */
static void proxy_fz_check_ok(const struct moss__conn *conn, int type, const uint8_t *data)
{
    const char *why = NULL;
    size_t header = conn->start;

    MOSS_FUZZ_CHECK(memchr(conn->client, '\0', sizeof(conn->client)) != NULL);
    MOSS_FUZZ_CHECK(strcmp(conn->client, PROXY_FZ_PEER) == 0 ||
                    moss__address_parse(conn->client, NULL, NULL, &why) == 0);
    MOSS_FUZZ_CHECK(header > 0 && header <= conn->end && conn->end <= conn->capacity);
    if (conn->buf[0] == 'P')
        MOSS_FUZZ_CHECK(header >= 2 && header <= 107 && conn->buf[header - 2] == '\r' &&
                        conn->buf[header - 1] == '\n');
    else
        MOSS_FUZZ_CHECK(header == 16 + ((size_t)(uint8_t)conn->buf[14] << 8 |
                                        (uint8_t)conn->buf[15]));
    if (type == SOCK_STREAM)
        MOSS_FUZZ_CHECK(memcmp(conn->buf, data, conn->end) == 0);
}

static void proxy_fz_pass_run(const uint8_t *data, size_t size, const struct proxy_fz_pass *pass)
{
    struct moss__worker *w = proxy_fz_worker();
    struct moss__conn conn = {.worker = w, .capacity = pass->capacity};
    int fds[2], rc, err;

    MOSS_FUZZ_CHECK(socketpair(AF_UNIX, pass->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    proxy_fz_send(fds[1], pass->type, data, size);
    conn.fd = fds[0];
    conn.buf = malloc(conn.capacity); /* to size: ASan sees a read past it */
    MOSS_FUZZ_CHECK(conn.buf != NULL);
    strcpy(conn.client, PROXY_FZ_PEER);
    errno = 0;
    rc = moss__proxy_protocol_read(w, &conn, moss_now() + 5000);
    err = errno;
    if (rc == 0)
        proxy_fz_check_ok(&conn, pass->type, data);
    else
        MOSS_FUZZ_CHECK(rc == -1 && err == EPROTO && strcmp(conn.client, PROXY_FZ_PEER) == 0);
    free(conn.buf);
    close(fds[0]);
    close(fds[1]);
}

int moss_fuzz_proxy_protocol(const uint8_t *data, size_t size)
{
    if (size > PROXY_FZ_MAX)
        size = PROXY_FZ_MAX;
    for (size_t i = 0; i < sizeof(proxy_fz_passes) / sizeof(proxy_fz_passes[0]); i++)
        proxy_fz_pass_run(data, size, &proxy_fz_passes[i]);
    return 0;
}

#ifndef MOSS_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return moss_fuzz_proxy_protocol(data, size);
}
#endif
