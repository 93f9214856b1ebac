/* The PROXY protocol: v1 and v2 headers, malformed ones, and who is
 * trusted to send them. */
#include "stream_cases.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the PROXY protocol ---------------------------------------------------------- */

static void trust(const char *cidr)
{
    struct moss__network *net = &stream_config.proxy_trusted[stream_config.proxy_trusted_count++];
    char host[64];
    unsigned prefix;

    TEST_ASSERT(sscanf(cidr, "%63[^/]/%u", host, &prefix) == 2);
    net->family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
    net->prefix = prefix;
    TEST_ASSERT(inet_pton(net->family, host, net->addr) == 1);
}

/* Sends header (len bytes) plus "after\n" in one write, expects the client
 * it names ("" for the real peer) and the trailing bytes back. */
static void proxy_expect(const struct server *s, const void *header, size_t len,
                         const char *client)
{
    char packet[512], want[160];
    int fd = stream_client_connect(s->address);

    memcpy(packet, header, len);
    memcpy(packet + len, "after\n", 6);
    send_all(fd, packet, len + 6);
    if (client[0] == '\0') {
        stream_expect_greeting_self(fd);
    } else {
        snprintf(want, sizeof(want), "client=%s\n", client);
        stream_expect_line(fd, want);
    }
    stream_expect_line(fd, "after\n");
    stream_echo_check(fd, "and then\n");
    close(fd);
}

#define V1(text) text, sizeof(text) - 1

void stream_case_proxy_v1(void)
{
    struct server s;
    char rest[3];
    int fd;

    stream_config_defaults();
    trust("127.0.0.0/8");
    stream_server_start(&s, "127.0.0.1:0", 1);
    proxy_expect(&s, V1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"), "192.0.2.1:56324");
    proxy_expect(&s, V1("PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n"), "[2001:db8::1]:4000");
    proxy_expect(&s, V1("PROXY TCP6 2001:0db8:0:0:0:0:0:9 ::1 0 65535\r\n"), "[2001:db8::9]:0");
    proxy_expect(&s, V1("PROXY UNKNOWN\r\n"), "");
    proxy_expect(&s, V1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), "");
    /* the longest line there is: 107 bytes */
    proxy_expect(&s, V1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
                 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    /* a header in pieces */
    fd = stream_client_connect(s.address);
    send_all(fd, "PROXY TCP4 192.0", 16);
    stream_sleep_ms(30);
    send_all(fd, ".2.9 192.0.2.2 1", 16);
    stream_sleep_ms(30);
    send_all(fd, " 2\r\nabc", 7);
    stream_expect_line(fd, "client=192.0.2.9:1\n");
    recv_exactly(fd, rest, 3);
    TEST_ASSERT(memcmp(rest, "abc", 3) == 0);
    close(fd);
    TEST_ASSERT(stream_server_log_count(&s, "PROXY header") == 0);
    stream_server_stop(&s, SIGINT, WAIT_MS);
}

/* A v2 header: signature, version 2 with command cmd, family, the address
 * block and `tlv` bytes of TLVs; its length. */
static size_t v2_header(unsigned char *out, unsigned cmd, unsigned family,
                        const void *block, size_t block_len, size_t tlv)
{
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    size_t len = block_len + tlv;

    memcpy(out, sig, 12);
    out[12] = (unsigned char)(0x20 | cmd);
    out[13] = (unsigned char)family;
    out[14] = (unsigned char)(len >> 8);
    out[15] = (unsigned char)len;
    memcpy(out + 16, block, block_len);
    for (size_t i = 0; i < tlv; i += 3) /* PP2_TYPE_NOOP TLVs, length 0 */
        memcpy(out + 16 + block_len + i, "\x04\x00\x00", tlv - i < 3 ? tlv - i : 3);
    return 16 + len;
}

void stream_case_proxy_v2(void)
{
    static const unsigned char tcp4[12] = {192, 0, 2, 7, 198, 51, 100, 1, 0x1F, 0x90, 0x01, 0xBB};
    unsigned char tcp6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x05, [16] = 0x20, [17] = 0x01,
                              [32] = 0xC3, [33] = 0x50, [34] = 0x00, [35] = 0x50};
    unsigned char h[256];
    struct server s;

    stream_config_defaults();
    trust("127.0.0.0/8");
    stream_server_start(&s, "127.0.0.1:0", 1);
    proxy_expect(&s, h, v2_header(h, 1, 0x11, tcp4, 12, 0), "192.0.2.7:8080");
    proxy_expect(&s, h, v2_header(h, 1, 0x11, tcp4, 12, 30), "192.0.2.7:8080"); /* TLVs */
    proxy_expect(&s, h, v2_header(h, 1, 0x21, tcp6, 36, 0), "[2001:db8::5]:50000");
    proxy_expect(&s, h, v2_header(h, 0, 0x11, tcp4, 12, 0), "");  /* LOCAL */
    proxy_expect(&s, h, v2_header(h, 0, 0x00, tcp4, 0, 0), "");   /* LOCAL, UNSPEC */
    proxy_expect(&s, h, v2_header(h, 1, 0x00, tcp4, 0, 6), "");   /* PROXY, UNSPEC */
    proxy_expect(&s, h, v2_header(h, 1, 0x12, tcp4, 12, 0), "");  /* UDP: real peer */
    TEST_ASSERT(stream_server_log_count(&s, "PROXY header") == 0);
    stream_server_stop(&s, SIGINT, WAIT_MS);
}

/* Sends bad bytes (then, if half_close, ends its side); the server closes
 * without serving. */
static void proxy_refused(const struct server *s, const void *bytes, size_t len,
                          int half_close)
{
    int fd = stream_client_connect(s->address);

    send_all(fd, bytes, len);
    if (half_close)
        shutdown(fd, SHUT_WR);
    TEST_ASSERT(stream_readable_within(fd, WAIT_MS));
    stream_expect_closed(fd);
    close(fd);
}

/* Malformed v2 headers, each refused; how many. */
static int proxy_refused_v2(const struct server *s)
{
    static const unsigned char block[36] = {127, 0, 0, 1};
    unsigned char h[256];
    int refused = 0;

    v2_header(h, 1, 0x11, block, 12, 0);
    h[12] = 0x11;                                                  /* version 1 */
    proxy_refused(s, h, 28, 0), refused++;
    h[12] = 0x22;                                                  /* command 2 */
    proxy_refused(s, h, 28, 0), refused++;
    proxy_refused(s, h, v2_header(h, 1, 0x11, block, 4, 0), 0), refused++; /* short */
    proxy_refused(s, h, v2_header(h, 1, 0x21, block, 12, 0), 0), refused++;
    proxy_refused(s, h, v2_header(h, 1, 0x44, block, 12, 0), 0), refused++; /* family */
    v2_header(h, 1, 0x11, block, 12, 0);
    h[14] = h[15] = 0xFF;                                          /* 65535: > buffer */
    proxy_refused(s, h, 28, 0), refused++;
    h[3] = 0x0B;                                                   /* signature */
    proxy_refused(s, h, 28, 0), refused++;
    return refused;
}

void stream_case_proxy_malformed(void)
{
    static const char *v1[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 2\n",
        "PROXY TCP4  1.1.1.1 1.1.1.1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 70000\r\n",
        "PROXY TCP4 1.1.1.1 1.1.1.1 1 2 3\r\n", "PROXY TCP9 1.1.1.1 1.1.1.1 1 2\r\n",
        "PROXY TCP4 ::1 ::1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 01 2\r\n",
        "PROXY\r\n", "PROXYTCP4\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 2\r\r\n",
    };
    char too_long[120];
    struct server s;
    int refused = 0;

    stream_config_defaults();
    stream_config.max_header_size = 1024;
    trust("127.0.0.1/32");
    stream_server_start(&s, "127.0.0.1:0", 1);
    for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++, refused++)
        proxy_refused(&s, v1[i], strlen(v1[i]), 0);
    memset(too_long, 'a', sizeof(too_long));
    memcpy(too_long, "PROXY UNKNOWN ", 14); /* no CRLF within 107 bytes */
    proxy_refused(&s, too_long, sizeof(too_long), 0), refused++;
    proxy_refused(&s, "PROXY TCP4 1.2", 14, 1), refused++;       /* closed mid-header */
    refused += proxy_refused_v2(&s);
    proxy_refused(&s, "", 0, 1);                                   /* a health check */
    proxy_expect(&s, V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n"), "192.0.2.1:1");
    stream_server_log_read(&s, 100);
    TEST_ASSERT(stream_server_log_count(&s, "PROXY header from 127.0.0.1:") == refused);
    stream_server_stop(&s, SIGINT, WAIT_MS);
}

/* Refused from a peer outside proxy_trusted (EPERM), logged once each. */
static void proxy_untrusted_with(const char *listen, const char *network)
{
    static const char header[] = "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n";
    struct server s;

    stream_config_defaults();
    if (network != NULL)
        trust(network);
    stream_server_start(&s, listen, 1);
    proxy_refused(&s, header, sizeof(header) - 1, 0);
    stream_server_log_wait(&s, "source not trusted");
    stream_server_log_read(&s, 50);
    TEST_ASSERT(stream_server_log_count(&s, "PROXY header from") == 1);
    stream_server_stop(&s, SIGINT, WAIT_MS);
}

void stream_case_proxy_untrusted(void)
{
    proxy_untrusted_with("127.0.0.1:0", NULL);          /* no list: nobody */
    proxy_untrusted_with("127.0.0.1:0", "10.0.0.0/8");
    proxy_untrusted_with("127.0.0.1:0", "127.0.0.2/31");  /* .2 and .3 only */
    proxy_untrusted_with("127.0.0.1:0", "::1/128");       /* another family */
    proxy_untrusted_with("[::1]:0", "127.0.0.1/32");
    proxy_untrusted_with("[::1]:0", "::2/127");
}

/* Trusted by prefix bits, over IPv6, and over a unix socket (always). */
void stream_case_proxy_trusted_forms(void)
{
    static const char header[] = "PROXY TCP4 192.0.2.1 192.0.2.2 7 8\r\n";
    static const char *forms[][2] = {
        {"127.0.0.1:0", "127.0.0.0/31"}, {"127.0.0.1:0", "127.0.0.1/32"},
        {"127.0.0.1:0", "127.1.2.3/8"}, {"127.0.0.1:0", "0.0.0.0/0"},
        {"[::1]:0", "::1/128"}, {"[::1]:0", "::/127"}, {"[::1]:0", "::/0"},
        {"unix", NULL},
    };
    char dir[64], address[128];
    struct server s;

    stream_temp_dir(dir, sizeof(dir));
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        stream_config_defaults();
        if (forms[i][1] != NULL)
            trust(forms[i][1]);
        snprintf(address, sizeof(address), "unix:%s/proxy.sock", dir);
        stream_server_start(&s, strcmp(forms[i][0], "unix") == 0 ? address : forms[i][0], 1);
        proxy_expect(&s, header, sizeof(header) - 1, "192.0.2.1:7");
        stream_server_stop(&s, SIGINT, WAIT_MS);
    }
    rmdir(dir);
}
