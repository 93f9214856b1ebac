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
#define MOSS__WORKERS_MAX 64       /* worker slots under one master */
#define MOSS__NAME_MAX 64          /* user and group names */
#define MOSS__TOKEN_MAX 256        /* the admin bearer token */

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
    int64_t stack_cache;           /* greenlet stacks a worker keeps for reuse */
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
    enum moss__log_format error_log_format; /* the watchdog's reports as text or JSON */
    char app[MOSS__PATH_MAX];          /* plugin .so, "" for the demo app */
    /* the master */
    int workers;                   /* worker processes; 0: one per online CPU */
    char admin[MOSS__PATH_MAX];    /* admin listener address, "" off */
    char admin_token[MOSS__TOKEN_MAX]; /* "" none, else required as a bearer token */
    char pid_file[MOSS__PATH_MAX]; /* "" none */
    char user[MOSS__NAME_MAX];     /* "" keep; else drop to it after binding */
    char group[MOSS__NAME_MAX];    /* "" the user's primary group */
    int cpu_affinity;              /* pin worker slot i to the i-th allowed CPU */
    int reuse_port;                /* one SO_REUSEPORT socket per slot and address */
    int unix_mode;                 /* mode of unix listener sockets */
    int64_t worker_timeout_ms;     /* heartbeat age that gets a worker killed */
    int64_t reload_timeout_ms;     /* for a new generation to be ready */
    int64_t drain_grace_ms;        /* SIGTERM: /health 503 while serving, before draining */
    /* the watchdog */
    int watchdog;                  /* a monitor thread per hub */
    int64_t watchdog_interval_ms;
    int64_t max_blocking_ms;       /* a hub without a switch for longer is blocked */
    int64_t block_kill_ms;         /* 0 off; else the worker is replaced after this long */
};

#endif
