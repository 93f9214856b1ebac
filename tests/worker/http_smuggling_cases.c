/* Request smuggling: framing a proxy may read differently, refused with
 * 400 (or 505, 417); and malformed chunked bodies. */
#include "http_cases.h"

#include <errno.h>
#include <stddef.h>

/* ---- smuggling ---------------------------------------------------------------------- */

/* Each refused with 400 before the handler runs. */
static const char *const smuggling_vectors[] = {
    /* Content-Length with Transfer-Encoding */
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
    /* duplicate and differing Content-Length, and a list */
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "POST /echo HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc",
    /* chunked not the final coding, twice, or look-alikes */
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
    "0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    /* header names and lines a proxy may read differently */
    "POST /echo HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST /echo HTTP/1.1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "GET /hello HTTP/1.1\nHost: t\n\n",
    "GET /hello HTTP/1.1\r\nHost: t\r\n\n",
    "GET /hello HTTP/1.1\r\nHost: t\r\n\rX",
    "GET /hello HTTP/1.1\rXHost: t\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX: a\001b\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX: a\rb\r\n\r\n",
    "GET /hello HTTP/1.1\r\nX\x80: a\r\n\r\n",
    "GET /a b HTTP/1.1\r\n\r\n",
    "get /hello HTTP/1.1\r\n\r\n",
};

void http_case_smuggling_vectors_400(void)
{
    http_config_defaults();
    http_server_start();
    for (size_t i = 0; i < sizeof(smuggling_vectors) / sizeof(smuggling_vectors[0]); i++)
        http_expect_refused(smuggling_vectors[i], "HTTP/1.1 400 Bad Request\r\n");
    TEST_ASSERT(http_seen.handled == 0);
    http_expect_refused("GET /hello HTTP/2.0\r\n\r\n", "HTTP/1.1 505 ");
    http_expect_refused("POST /echo HTTP/1.1\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx",
                   "HTTP/1.1 417 ");
    http_server_stop();
}

#define CHUNKED_ECHO "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"

/* Bodies the handler reads and gets EPROTO for, then 400. */
static const char *const bad_chunked_bodies[] = {
    CHUNKED_ECHO "zz\r\nabc\r\n0\r\n\r\n",                /* not hex */
    CHUNKED_ECHO "-3\r\nabc\r\n0\r\n\r\n",                /* negative */
    CHUNKED_ECHO "10000000000000000\r\nabc\r\n0\r\n\r\n", /* 2^64: overflow */
    CHUNKED_ECHO "3\r\nabcd\r\n0\r\n\r\n",                /* data beyond its size */
    /* framing bytes that are not CRLF, which the parser (built without
     * strict mode) would take */
    CHUNKED_ECHO "3\r\nabcXY0\r\n\r\n",
    CHUNKED_ECHO "3\rXabc\r\n0\r\n\r\n",
    CHUNKED_ECHO "3\nabc\r\n0\r\n\r\n",
    CHUNKED_ECHO "3\r\nabc\r\n0\r\n\rX",
    CHUNKED_ECHO "3;a=\001\r\nabc\r\n0\r\n\r\n",
};

void http_case_bad_chunk_size_400(void)
{
    http_config_defaults();
    http_server_start();
    for (size_t i = 0; i < sizeof(bad_chunked_bodies) / sizeof(bad_chunked_bodies[0]); i++) {
        http_seen.read_errno = 0;
        http_expect_refused(bad_chunked_bodies[i], "HTTP/1.1 400 ");
        TEST_ASSERT(http_seen.read_errno == EPROTO);
    }
    http_server_stop();
}
