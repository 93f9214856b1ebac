/* The PROXY protocol, versions 1 and 2 (haproxy's proxy-protocol.txt): a
 * load balancer in front tells us, before anything else on the connection,
 * whom the connection is really from.
 *
 * Only a trusted peer may say so: the real peer must be in
 * config->proxy_trusted (an empty list trusts no TCP peer). A unix socket
 * peer is a local process let in by the socket file's mode, and is trusted.
 * The header is read into conn->buf like any request bytes; whatever follows
 * it stays in buf[start, end) for the next layer. Errors: EPERM (untrusted
 * peer), EPROTO (malformed, missing, longer than the buffer, or the peer
 * closed first), and the read's own (ETIMEDOUT at the deadline, ECANCELED,
 * ECONNRESET). Each rejected connection is logged once, here; a peer that
 * closes without sending a byte (a TCP health check) and a cancelled read
 * (a drain) are not logged. */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define V1_MAX 107                /* the longest v1 line, CRLF included */
#define V2_FIXED 16               /* signature, version/command, family, length */
#define V2_VERSION 0x20
#define V2_CMD_LOCAL 0x00
#define V2_CMD_PROXY 0x01
#define V2_TCP4 0x11
#define V2_TCP6 0x21

static const unsigned char v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* A rejection: logs why (once per connection: every path out of
 * moss__proxy_protocol_read logs at most one) and fails with err. */
__attribute__((format(printf, 4, 5)))
static int proxy_reject(struct moss__conn *conn, int err, int quiet, const char *fmt, ...)
{
    char why[256];
    va_list ap;

    if (!quiet) {
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        moss__worker_log(conn->worker, "PROXY header from %s: %s", conn->client, why);
    }
    errno = err;
    return -1;
}

/* Waits until at least n unconsumed bytes are buffered. A read error, an
 * end of file or a full buffer rejects the connection. */
static int proxy_need(struct moss__conn *conn, size_t n, int64_t deadline)
{
    while (conn->end - conn->start < n) {
        ptrdiff_t got = moss__conn_fill(conn, deadline);

        if (got > 0)
            continue;
        if (got == 0) /* quiet if nothing came at all: a TCP health check */
            return proxy_reject(conn, EPROTO, conn->end == conn->start,
                                "connection closed inside the header");
        if (errno == ENOBUFS)
            return proxy_reject(conn, EPROTO, 0, "header longer than the buffer");
        return proxy_reject(conn, errno, errno == ECANCELED, "%s", strerror(errno));
    }
    return 0;
}

/* ---- trust --------------------------------------------------------------- */

static int proxy_network_contains(const struct moss__network *net, int family,
                                  const unsigned char *addr)
{
    unsigned bits = family == AF_INET ? 32 : 128;
    unsigned prefix = net->prefix < bits ? net->prefix : bits;
    unsigned full = prefix / 8, rest = prefix % 8;
    unsigned char mask;

    if (net->family != family || memcmp(net->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    mask = (unsigned char)(0xFF << (8 - rest));
    return (net->addr[full] & mask) == (addr[full] & mask);
}

/* Whether the connection's real peer may send a PROXY header. An
 * IPv4-mapped IPv6 peer counts as its IPv4 address. */
static int proxy_peer_trusted(const struct moss_config *config, const struct sockaddr *peer)
{
    const unsigned char *addr;
    int family = peer->sa_family;

    if (family == AF_UNIX)
        return 1;
    if (family == AF_INET) {
        addr = (const unsigned char *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr;
    } else if (family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;

        addr = a6->s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            family = AF_INET;
            addr += 12;
        }
    } else {
        return 0;
    }
    for (size_t i = 0; i < config->proxy_trusted_count; i++)
        if (proxy_network_contains(&config->proxy_trusted[i], family, addr))
            return 1;
    return 0;
}

/* ---- the client address --------------------------------------------------- */

/* conn->client from raw address bytes in network order. */
static void proxy_set_client(struct moss__conn *conn, int family, const void *addr,
                             unsigned port)
{
    char host[INET6_ADDRSTRLEN];

    inet_ntop(family, addr, host, sizeof(host));
    snprintf(conn->client, sizeof(conn->client), family == AF_INET6 ? "[%s]:%u" : "%s:%u",
             host, port);
}

/* ---- version 1 ------------------------------------------------------------ */

/* Decimal 0..65535, no sign, no leading zero but for "0" itself. */
static int proxy_v1_port(const char *text, unsigned *port)
{
    size_t len = strlen(text);

    if (len == 0 || len > 5 || strspn(text, "0123456789") != len || (len > 1 && text[0] == '0'))
        return -1;
    *port = (unsigned)strtoul(text, NULL, 10);
    return *port <= 65535 ? 0 : -1;
}

/* Splits line at single spaces into at most max fields; -1 on an empty
 * field (two spaces in a row, or a space at either end) or too many. */
static int proxy_v1_split(char *line, char **fields, int max)
{
    int n = 0;

    for (char *p = line;;) {
        char *space = strchr(p, ' ');

        if (n == max || *p == '\0' || space == p)
            return -1;
        fields[n++] = p;
        if (space == NULL)
            return n;
        *space = '\0';
        p = space + 1;
    }
}

/* "PROXY TCP4|TCP6 src dst sport dport" (CRLF removed), or "PROXY UNKNOWN"
 * followed by anything: the real peer stays. */
static int proxy_v1_apply(struct moss__conn *conn, char *line)
{
    unsigned char src[16], dst[16];
    unsigned sport, dport;
    char *f[6];
    int n, family;

    if (strncmp(line, "PROXY UNKNOWN", 13) == 0 && (line[13] == '\0' || line[13] == ' '))
        return 0;
    n = proxy_v1_split(line, f, 6);
    if (n != 6 || strcmp(f[0], "PROXY") != 0)
        return proxy_reject(conn, EPROTO, 0, "malformed v1 header");
    if (strcmp(f[1], "TCP4") == 0)
        family = AF_INET;
    else if (strcmp(f[1], "TCP6") == 0)
        family = AF_INET6;
    else
        return proxy_reject(conn, EPROTO, 0, "v1: unknown protocol '%.8s'", f[1]);
    if (inet_pton(family, f[2], src) != 1 || inet_pton(family, f[3], dst) != 1 ||
        proxy_v1_port(f[4], &sport) == -1 || proxy_v1_port(f[5], &dport) == -1)
        return proxy_reject(conn, EPROTO, 0, "v1: bad address or port");
    proxy_set_client(conn, family, src, sport);
    return 0;
}

/* Buffers the v1 line (up to V1_MAX bytes with its CRLF), applies it and
 * consumes it. */
static int proxy_v1_read(struct moss__conn *conn, int64_t deadline)
{
    char line[V1_MAX + 1];
    size_t scanned = 0;

    for (;;) {
        size_t avail = conn->end - conn->start;
        const char *p = conn->buf + conn->start;
        const char *lf = avail > scanned ? memchr(p + scanned, '\n', avail - scanned) : NULL;

        if (lf != NULL) {
            size_t len = (size_t)(lf - p) + 1;

            if (len > V1_MAX || len < 2 || lf[-1] != '\r')
                return proxy_reject(conn, EPROTO, 0, "malformed v1 line");
            memcpy(line, p, len - 2);
            line[len - 2] = '\0';
            conn->start += len;
            return proxy_v1_apply(conn, line);
        }
        if (memcmp(p, "PROXY ", avail < 6 ? avail : 6) != 0)
            return proxy_reject(conn, EPROTO, 0, "no PROXY header");
        if (avail >= V1_MAX)
            return proxy_reject(conn, EPROTO, 0, "v1 line longer than %d bytes", V1_MAX);
        scanned = avail;
        if (proxy_need(conn, avail + 1, deadline) == -1)
            return -1;
    }
}

/* ---- version 2 ------------------------------------------------------------ */

/* The address block of a PROXY command; TLVs after it are skipped. Families
 * that name no TCP client (UNSPEC, UDP, unix) keep the real peer. */
static int proxy_v2_apply(struct moss__conn *conn, const unsigned char *block, size_t len,
                          unsigned family)
{
    switch (family) {
    case V2_TCP4:
        if (len < 12)
            return proxy_reject(conn, EPROTO, 0, "v2: short IPv4 address block");
        proxy_set_client(conn, AF_INET, block, (unsigned)(block[8] << 8 | block[9]));
        return 0;
    case V2_TCP6:
        if (len < 36)
            return proxy_reject(conn, EPROTO, 0, "v2: short IPv6 address block");
        proxy_set_client(conn, AF_INET6, block, (unsigned)(block[32] << 8 | block[33]));
        return 0;
    case 0x00: case 0x12: case 0x22: case 0x31: case 0x32:
        return 0;
    default:
        return proxy_reject(conn, EPROTO, 0, "v2: unknown family 0x%02x", family);
    }
}

/* Buffers the whole v2 header (bounded by the buffer's capacity), applies
 * it and consumes it. */
static int proxy_v2_read(struct moss__conn *conn, int64_t deadline)
{
    const unsigned char *h;
    size_t len, total;
    int rc = 0;

    if (proxy_need(conn, V2_FIXED, deadline) == -1)
        return -1;
    h = (const unsigned char *)conn->buf + conn->start;
    if (memcmp(h, v2_signature, sizeof(v2_signature)) != 0)
        return proxy_reject(conn, EPROTO, 0, "bad v2 signature");
    if ((h[12] & 0xF0) != V2_VERSION || (h[12] & 0x0F) > V2_CMD_PROXY)
        return proxy_reject(conn, EPROTO, 0, "v2: bad version/command 0x%02x", h[12]);
    len = (size_t)h[14] << 8 | h[15];
    total = V2_FIXED + len;
    if (total > conn->capacity)
        return proxy_reject(conn, EPROTO, 0, "v2 header of %zu bytes, longer than the buffer",
                            total);
    if (proxy_need(conn, total, deadline) == -1)
        return -1;
    h = (const unsigned char *)conn->buf + conn->start; /* the fill may have moved it */
    if ((h[12] & 0x0F) == V2_CMD_PROXY)
        rc = proxy_v2_apply(conn, h + V2_FIXED, len, h[13]);
    conn->start += total;
    return rc;
}

/* ---- the header ------------------------------------------------------------- */

int moss__proxy_protocol_read(struct moss__worker *w, struct moss__conn *conn,
                              int64_t deadline)
{
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);

    if (getpeername(conn->fd, (struct sockaddr *)&peer, &peer_len) == -1)
        return proxy_reject(conn, errno, 0, "getpeername: %s", strerror(errno));
    if (!proxy_peer_trusted(w->config, (struct sockaddr *)&peer))
        return proxy_reject(conn, EPERM, 0, "source not trusted (proxy_trusted)");
    if (proxy_need(conn, 1, deadline) == -1)
        return -1;
    if (conn->buf[conn->start] == 'P')
        return proxy_v1_read(conn, deadline);
    if (conn->buf[conn->start] == '\r')
        return proxy_v2_read(conn, deadline);
    return proxy_reject(conn, EPROTO, 0, "no PROXY header");
}
