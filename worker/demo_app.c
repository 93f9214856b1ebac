/* The built-in demo app, what `moss` serves with no --app: a hello world,
 * and one route for each thing a greenlet server is about: waiting without
 * blocking (/sleep), blocking by mistake (/block), streaming (/echo) and
 * calling a backend (/fetch). Routes are listed in app.h. */
#include "app.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define DEMO_SLEEP_MAX_MS 600000
#define DEMO_BLOCK_MAX_MS 60000
#define DEMO_ECHO_CHUNK 16384
#define DEMO_URL_MAX 2048
#define DEMO_FETCH_HEAD_MAX (16 << 10)  /* a backend's status line and headers */
#define DEMO_FETCH_BODY_MAX (1 << 20)   /* the most of a backend's body passed on */
#define DEMO_FETCH_TIMEOUT_MS 10000

static int demo_text(moss_response_t *res, int status, const char *text)
{
    return moss_response_send(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* The query parameter ms as an integer in [0, max], or -1. */
static int64_t demo_ms_param(const moss_request_t *req, int64_t max)
{
    char buf[16], *end;
    long long v;

    if (moss_request_query_param(req, "ms", buf, sizeof(buf)) <= 0 ||
        !isdigit((unsigned char)buf[0]))
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    if (*end != '\0' || errno != 0 || v > max)
        return -1;
    return v;
}

static int demo_hello(moss_request_t *req, moss_response_t *res)
{
    (void)req;
    return moss_response_send(res, 200, "text/plain", "Hello, World!", 13);
}

static int demo_sleep(moss_request_t *req, moss_response_t *res)
{
    int64_t ms = demo_ms_param(req, DEMO_SLEEP_MAX_MS);
    char body[64];

    if (ms < 0)
        return demo_text(res, 400, "ms: want an integer from 0 to 600000\n");
    if (moss_sleep(ms) == -1)
        return -1; /* cancelled (request_timeout): the server answers */
    snprintf(body, sizeof(body), "slept %" PRId64 " ms\n", ms);
    return demo_text(res, 200, body);
}

static int64_t demo_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

__attribute__((noinline)) void moss__demo_block(int64_t ms)
{
    int64_t end = demo_clock_ms() + ms;

    while (demo_clock_ms() < end)
        ; /* on purpose: no moss call, so nothing else on this hub runs */
}

static int demo_block(moss_request_t *req, moss_response_t *res)
{
    int64_t ms = demo_ms_param(req, DEMO_BLOCK_MAX_MS);
    char body[64];

    if (ms < 0)
        return demo_text(res, 400, "ms: want an integer from 0 to 60000\n");
    moss__demo_block(ms);
    snprintf(body, sizeof(body), "blocked the worker for %" PRId64 " ms\n", ms);
    return demo_text(res, 200, body);
}

/* A body read that failed before the response started. */
static int demo_read_failed(moss_response_t *res)
{
    if (errno == EMSGSIZE)
        return demo_text(res, 413, "body larger than max_body_size\n");
    if (errno == ETIMEDOUT)
        return demo_text(res, 408, "body too slow (body_timeout)\n");
    return -1;
}

/* Streams the body back as it arrives; only a chunk is ever held. The
 * first read comes before the response starts, so that an oversized or
 * slow body can still be answered with a status. */
static int demo_echo(moss_request_t *req, moss_response_t *res)
{
    const char *type = moss_request_header(req, "Content-Type");
    char *buf = malloc(DEMO_ECHO_CHUNK);
    ptrdiff_t n;
    int rc = -1;

    if (buf == NULL)
        return -1;
    n = moss_request_read(req, buf, DEMO_ECHO_CHUNK);
    if (n == -1) {
        rc = demo_read_failed(res);
        goto out;
    }
    if (moss_response_start(res, 200, type != NULL ? type : "application/octet-stream",
                            moss_request_content_length(req)) == -1)
        goto out;
    while (n > 0) {
        if (moss_response_write(res, buf, (size_t)n) == -1)
            goto out;
        n = moss_request_read(req, buf, DEMO_ECHO_CHUNK);
    }
    if (n == 0)
        rc = moss_response_end(res);
out:
    free(buf);
    return rc;
}

/* ---- /fetch ------------------------------------------------------------------------ */

struct demo_url {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char authority[64];         /* for the Host header */
    const char *path;           /* in the url text */
};

/* The loopback address of host, or -1: only this machine may be fetched,
 * so the demo cannot be made to reach into a network. */
static int demo_url_host(const char *host, unsigned port, struct demo_url *u)
{
    struct sockaddr_in *in = (struct sockaddr_in *)&u->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&u->addr;

    memset(&u->addr, 0, sizeof(u->addr));
    if (strcmp(host, "127.0.0.1") == 0 || strcmp(host, "localhost") == 0) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        u->addr_len = sizeof(*in);
        return 0;
    }
    if (strcmp(host, "[::1]") == 0) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        in6->sin6_addr = in6addr_loopback;
        u->addr_len = sizeof(*in6);
        return 0;
    }
    return -1;
}

/* http://HOST[:PORT][/PATH], HOST one of 127.0.0.1, localhost, [::1]. The
 * path may hold no spaces or control bytes (it goes into a request line). */
static int demo_url_parse(const char *url, struct demo_url *u)
{
    const char *auth = url + 7, *end, *colon;
    char host[16];
    unsigned long port = 80;
    char *port_end;

    if (strncmp(url, "http://", 7) != 0)
        return -1;
    end = auth + strcspn(auth, "/");
    if ((size_t)(end - auth) >= sizeof(u->authority))
        return -1;
    memcpy(u->authority, auth, (size_t)(end - auth));
    u->authority[end - auth] = '\0';
    colon = strrchr(u->authority, ':');
    if (colon != NULL && strchr(colon, ']') != NULL)
        colon = NULL; /* the colons of [::1] */
    if (colon != NULL) {
        port = isdigit((unsigned char)colon[1]) ? strtoul(colon + 1, &port_end, 10) : 0;
        if (port == 0 || port > 65535 || *port_end != '\0')
            return -1;
    }
    snprintf(host, sizeof(host), "%.*s",
             (int)(colon != NULL ? colon - u->authority : (ptrdiff_t)strlen(u->authority)),
             u->authority);
    u->path = *end != '\0' ? end : "/";
    for (const char *p = u->path; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return -1;
    return demo_url_host(host, (unsigned)port, u);
}

/* GET u over HTTP/1.0 (the backend closes when done); the whole response,
 * head and body, into buf. Its length, or -1 with errno (EFBIG: it does not
 * fit). */
static ptrdiff_t demo_fetch_raw(const struct demo_url *u, char *buf, size_t cap)
{
    int64_t deadline = moss_now() + DEMO_FETCH_TIMEOUT_MS;
    int fd = moss_socket(u->addr.ss_family, SOCK_STREAM, 0);
    size_t got = 0;
    ptrdiff_t n = -1;
    int len, err;

    if (fd == -1)
        return -1;
    len = snprintf(buf, cap, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: moss-demo\r\n\r\n",
                   u->path, u->authority);
    if (moss_connect(fd, (const struct sockaddr *)&u->addr, u->addr_len, deadline) == -1 ||
        moss_write(fd, buf, (size_t)len, deadline) == -1)
        goto out;
    while (got < cap && (n = moss_read(fd, buf + got, cap - got, deadline)) > 0)
        got += (size_t)n;
    if (got == cap) {
        n = -1;
        errno = EFBIG;
    }
out:
    err = errno;
    moss_close(fd);
    errno = err;
    return n == 0 ? (ptrdiff_t)got : -1;
}

/* Answers with the body of the backend's response in buf[0, len). */
static int demo_fetch_reply(moss_response_t *res, char *buf, size_t len)
{
    char *body, status[4];

    buf[len] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (body == NULL || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
        !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
        !isdigit((unsigned char)buf[11]))
        return demo_text(res, 502, "fetch: the backend's response is not HTTP\n");
    memcpy(status, buf + 9, 3);
    status[3] = '\0';
    if (moss_response_header(res, "X-Backend-Status", status) == -1)
        return -1;
    body += 4;
    return moss_response_send(res, 200, "application/octet-stream", body,
                              len - (size_t)(body - buf));
}

static int demo_fetch(moss_request_t *req, moss_response_t *res)
{
    char url[DEMO_URL_MAX], reason[128];
    size_t cap = DEMO_FETCH_HEAD_MAX + DEMO_FETCH_BODY_MAX;
    struct demo_url u;
    char *buf;
    ptrdiff_t len;
    int rc;

    if (moss_request_query_param(req, "url", url, sizeof(url)) == -1 ||
        demo_url_parse(url, &u) == -1)
        return demo_text(res, 400, "url: want http://127.0.0.1|localhost|[::1][:PORT]/PATH\n");
    buf = malloc(cap + 1); /* + 1: a NUL after the response */
    if (buf == NULL)
        return -1;
    len = demo_fetch_raw(&u, buf, cap);
    if (len == -1 && errno == ECANCELED) {
        rc = -1; /* request_timeout: the server answers */
    } else if (len == -1) {
        snprintf(reason, sizeof(reason), "fetch %s: %s\n", u.authority,
                 errno == EFBIG ? "response larger than 1 MiB" : strerror(errno));
        rc = demo_text(res, 502, reason);
    } else {
        rc = demo_fetch_reply(res, buf, (size_t)len);
    }
    free(buf);
    return rc;
}

/* ---- routing ----------------------------------------------------------------------- */

struct demo_route {
    const char *path;
    const char *method;  /* GET routes answer HEAD too */
    int (*fn)(moss_request_t *req, moss_response_t *res);
};

static const struct demo_route demo_routes[] = {
    {"/", "GET", demo_hello},
    {"/sleep", "GET", demo_sleep},
    {"/block", "GET", demo_block},
    {"/echo", "POST", demo_echo},
    {"/fetch", "GET", demo_fetch},
};

static int demo_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    const char *path = moss_request_path(req), *method = moss_request_method(req);

    (void)app_data;
    for (size_t i = 0; i < sizeof(demo_routes) / sizeof(demo_routes[0]); i++) {
        const struct demo_route *r = &demo_routes[i];
        int get = strcmp(r->method, "GET") == 0;

        if (strcmp(path, r->path) != 0)
            continue;
        if (strcmp(method, r->method) == 0 || (get && strcmp(method, "HEAD") == 0))
            return r->fn(req, res);
        if (moss_response_header(res, "Allow", get ? "GET, HEAD" : "POST") == -1)
            return -1;
        return demo_text(res, 405, "method not allowed\n");
    }
    return demo_text(res, 404, "not found\n");
}

static const moss_app_t demo_app = {
    .name = "demo",
    .handle = demo_handle,
};

const moss_app_t *moss__demo_app(void)
{
    return &demo_app;
}
