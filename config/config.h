/* The configuration as the worker and the master read it. Every field is set
 * through the one table of settings in config/settings.c, which gives each
 * its name (the INI key and the long flag), default, range and help text. */
#ifndef MOSS_CONFIG_CONFIG_H
#define MOSS_CONFIG_CONFIG_H

#include "moss.h"

#include <stddef.h>
#include <stdint.h>

#define MOSS__BIND_MAX 16          /* listeners per server */
#define MOSS__TRUSTED_MAX 32       /* PROXY protocol source networks */
#define MOSS__PATH_MAX 4096

enum moss__log_format { MOSS__LOG_TEXT, MOSS__LOG_JSON };

/* A network an address must fall in (PROXY protocol sources). */
struct moss__network {
    int family;                    /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;               /* bits */
};

struct moss_config {
    char bind[MOSS__BIND_MAX][MOSS__PATH_MAX]; /* as written: ip:port, [ip6]:port, unix:/path */
    size_t bind_count;
    int bind_set;                  /* set explicitly: replaces the default */
    int backlog;
    int64_t max_connections;       /* per worker */
    int64_t max_header_size;       /* request line + headers, bytes -> 431 */
    int64_t max_headers;           /* header count -> 431 */
    int64_t max_body_size;         /* bytes -> 413 */
    int64_t header_timeout_ms;     /* first byte to end of headers -> 408 */
    int64_t body_timeout_ms;       /* between body reads */
    int64_t keepalive_timeout_ms;  /* idle between requests */
    int64_t max_requests_per_connection;
    int64_t request_timeout_ms;    /* handler running time -> 503 */
    int64_t graceful_timeout_ms;   /* drain deadline */
    int proxy_protocol;            /* on listeners: expect a PROXY v1/v2 header */
    struct moss__network proxy_trusted[MOSS__TRUSTED_MAX];
    size_t proxy_trusted_count;
    char access_log[MOSS__PATH_MAX];   /* "" off, "-" stdout, else a file */
    enum moss__log_format access_log_format;
    char error_log[MOSS__PATH_MAX];    /* "-" stderr, else a file */
    char app[MOSS__PATH_MAX];          /* plugin .so, "" for the demo app */
};

#endif
