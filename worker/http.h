/* The HTTP/1.1 server, internal: what http_conn.c (the per-connection
 * request loop), http_request.c (parsing, the request accessors, the body
 * reader), http_response.c (the response writer), http_date.c and
 * access_log.c share.
 *
 * One struct moss__http_conn per busy connection, on the heap, reused for
 * every request until the connection is parked between requests; then it
 * goes back to the worker (w->conn_states) for the next connection that
 * needs one. The connection's greenlet and each request's greenlet both
 * use it; the request greenlet never outlives it: when a request greenlet
 * cannot be joined (it ignores its kill), it is detached and marked
 * orphaned, and the last of the two to finish frees it (a connection with
 * an orphan is never parked). An orphaned request
 * greenlet's calls fail with ECANCELED without touching the connection,
 * whose fd and buffer the stream server owns and frees. */
#ifndef MOSS_WORKER_HTTP_H
#define MOSS_WORKER_HTTP_H

#include "worker.h"

#include <http_parser.h>
#include <stddef.h>
#include <stdint.h>

/* Response headers the app may add, and the bytes of the whole response
 * head (status line, server headers, app headers). */
#define MOSS__HTTP_RESPONSE_HEADERS_MAX 32
#define MOSS__HTTP_HEAD_MAX 8192
/* Room kept in the head for the status line and the server's own headers. */
#define MOSS__HTTP_HEAD_RESERVE 512
/* Bytes of chunk framing (sizes, extensions, trailers) a body may carry
 * beyond this plus MOSS__HTTP_CHUNK_OVERHEAD per chunk: more is refused
 * (413), so a client cannot stream chunk extensions forever. */
#define MOSS__HTTP_FRAMING_SLACK 65536
#define MOSS__HTTP_CHUNK_OVERHEAD 64
/* A drain buffer and the small writes (chunk framing) go through this. */
#define MOSS__HTTP_SCRATCH 4096
/* How long a request greenlet that ignores its kill is waited for. */
#define MOSS__HTTP_KILL_GRACE_MS 1000
/* After an error response, input is read and dropped for at most this long
 * before the close, so that the client reads the response instead of a
 * reset (a close with unread input sends RST). */
#define MOSS__HTTP_LINGER_MS 1000
#define MOSS__HTTP_LINGER_BYTES (256 * 1024)

/* framing_scan's "previous byte" right after a chunk's data: a NUL, which
 * the scan never lets through, so it cannot be a real previous byte. */
#define MOSS__SCAN_AFTER_DATA 0

struct moss__http_header {
    const char *name;
    const char *value;
};

struct moss_request {
    struct moss__http_conn *hc;
    /* request line and headers: NUL-terminated strings in `store` */
    const char *method;
    const char *path;
    const char *query;
    struct moss__http_header *headers;
    size_t header_count, header_max;
    char *store;
    size_t store_len, store_cap;
    /* parse state: which piece the last callback appended to */
    enum { MOSS__PIECE_NONE, MOSS__PIECE_URL, MOSS__PIECE_FIELD, MOSS__PIECE_VALUE } piece;
    char *url;                       /* the request target as sent */
    int headers_done;                /* later header callbacks are trailers */
    size_t head_bytes;               /* request line + headers so far */
    unsigned char scan_prev;         /* the last framing byte scanned */
    const char *scan_from;           /* body phase: framing not scanned yet */
    uint64_t chunk_left;             /* data bytes left in the current chunk */
    int error_status;                /* why a callback refused: 400, 413, 431 */
    /* what the head said */
    unsigned http_major, http_minor;
    int64_t content_length;          /* -1: chunked or none */
    int has_body;
    int keep_alive;
    int is_head;
    int expect_continue;
    int upgrade;
    int64_t started_ms;              /* first byte of the request */
    /* the body */
    int continue_sent;
    int body_done;                   /* the parser reached the message's end */
    int body_err;                    /* sticky: ETIMEDOUT, EMSGSIZE, EPROTO, ECONNRESET */
    uint64_t body_received;          /* body bytes (de-chunked) */
    uint64_t body_wire;              /* bytes fed to the parser after the head */
    uint64_t chunks;
    char *body_dst;                  /* where on_body copies (NULL: drop) */
    size_t body_got;
};

struct moss_response {
    struct moss__http_conn *hc;
    int status;
    int started;
    int ended;
    int chunked;
    int close_delimited;             /* HTTP/1.0 without a length: ends at close */
    int no_body;                     /* HEAD, 1xx, 204, 304: no body bytes sent */
    int close;                       /* said "Connection: close" */
    int server_set;                  /* the app gave its own Server header */
    int64_t content_length;          /* -1: none declared */
    uint64_t body_bytes;             /* body bytes the app gave */
    uint64_t body_sent;              /* body bytes sent (for the access log) */
    size_t header_count;
    size_t head_len;                 /* app headers in `head` so far */
    char head[MOSS__HTTP_HEAD_MAX];
};

#define MOSS__HTTP_CONTEXT 128

struct moss__http_conn {
    struct moss__worker *w;
    struct moss__conn_entry *entry;
    struct moss__conn *conn;
    const struct moss_config *config;
    char client[MOSS__ADDRESS_MAX];  /* copied: an orphan may outlive conn */
    http_parser parser;
    struct moss_request req;
    struct moss_response res;
    int64_t first_deadline;          /* the first request's head: from the connection's start */
    int64_t served;                  /* responses completed */
    int in_handler;                  /* the request greenlet may use req/res */
    int orphaned;                    /* see the top of this file */
    int request_live;                /* a request greenlet runs and uses this */
    int conn_done;                   /* moss__http_serve has returned */
    int recv_tried;                  /* this serve has read the socket once */
    int broken;                      /* a write failed or was cut: close */
    int must_close;                  /* the server ends the connection after this response */
    int cancelled;                   /* the connection's greenlet was killed */
    int timed_out;                   /* the request outlived request_timeout */
    int handler_ret;
    char context[MOSS__HTTP_CONTEXT]; /* "METHOD target": the watchdog's word for it */
    char scratch[MOSS__HTTP_SCRATCH];
};

/* ---- http_request.c ------------------------------------------------------- */

/* Prepares req (and the parser) for the next request on the connection. */
void moss__http_request_reset(struct moss__http_conn *hc);

/* Feeds the buffered head bytes to the parser. 1 once the head is
 * complete and valid, 0 when more bytes are needed, or -1 with the status
 * to answer in req.error_status (400, 413, 417, 431, 505). */
int moss__http_head_feed(struct moss__http_conn *hc);

/* Reads body bytes (de-chunked) into buf (NULL: drop them), at most len.
 * wait: how long a read may wait for bytes (MOSS_FOREVER: body_timeout per
 * read; 0: only what is buffered, else an absolute deadline for all
 * reads). A count, 0 at the body's end, or -1 with errno (the body errors
 * are sticky in req.body_err; EAGAIN when wait is 0 and the buffer ran
 * out). */
ptrdiff_t moss__http_body_read(struct moss__http_conn *hc, char *buf, size_t len,
                               int64_t wait);

/* The deadline `ms` from now, or MOSS_FOREVER for ms <= 0 (no limit). */
int64_t moss__http_deadline(int64_t ms);

/* ---- http_response.c ------------------------------------------------------ */

/* Prepares res for the next request. */
void moss__http_response_reset(struct moss__http_conn *hc);

/* Writes bytes to the client, counting them; a failure marks the
 * connection broken. flags as for send(2) (MSG_MORE). */
int moss__http_write(struct moss__http_conn *hc, const void *data, size_t len, int flags);

/* A response of the server's own (errors, 204, 503): status, a short text
 * body (none for 204 and HEAD), and Connection: close when close is set.
 * 0 or -1 with errno. */
int moss__http_respond(struct moss__http_conn *hc, int status, int close);

/* Finishes a response the handler started and did not end. */
int moss__http_response_finish(struct moss__http_conn *hc);

/* ---- http_date.c ---------------------------------------------------------- */

/* The current time as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"),
 * formatted at most once per second per thread. */
const char *moss__http_date(void);

/* ---- access_log.c --------------------------------------------------------- */

struct moss__access_record {
    const char *client;
    const char *method;              /* "-" when the request line was bad */
    const char *path;
    unsigned http_major, http_minor;
    int status;
    uint64_t bytes;                  /* body bytes sent */
    int64_t duration_ms;
};

/* Writes one line for a finished request to w->access_log (if any), in the
 * configured format, with one fputs and one fflush; a failed write is
 * dropped and serving goes on. */
void moss__access_log(struct moss__worker *w, const struct moss__access_record *rec);

#endif
