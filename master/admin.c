/* The admin endpoints' server. The master serves them itself, on its own
 * hub, with the runtime's own HTTP server (the stream server and
 * moss__http_serve of worker/), so that they answer while every worker is
 * stuck: nothing here waits on a worker.
 *
 * Routes, for GET and HEAD (other methods: 405 with Allow):
 *   /health   200 "ok", or 503 "draining" while m->health_draining; never
 *             behind the token, as load balancers probe it;
 *   /stats    the JSON document of stats.c;
 *   /metrics  the Prometheus text of metrics.c.
 * With an admin_token, /stats and /metrics want "Authorization: Bearer
 * TOKEN", compared in constant time; else 401 with WWW-Authenticate.
 *
 * After an upgrade (SIGUSR2) the new master takes the admin socket the old
 * one passed on (m->admin_inherited_fd) instead of binding anew.
 *
 * The admin server is a struct moss__worker of its own: one listener, its
 * own counters (not in the scoreboard) and a copy of the master's config
 * with small limits, as an endpoint for operators and probes needs no
 * more, and a misbehaving client must not hold the master for long. */
#include "admin.h"

#include "../worker/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ADMIN_BACKLOG 64
#define ADMIN_STOP_WAIT_MS 1000    /* for cancelled connections to unwind */
#define UNIX_PREFIX "unix:"
#define BEARER "Bearer"

/* ---- responses ------------------------------------------------------------------ */

static int admin_text(moss_response_t *res, int status, const char *text)
{
    moss_response_header(res, "Cache-Control", "no-store");
    return moss_response_send(res, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* A 200 with a body the caller built on the heap (a /metrics text is too
 * big for a greenlet's stack) and frees. */
static int admin_body(moss_response_t *res, const char *content_type, const char *body,
                      size_t len)
{
    moss_response_header(res, "Cache-Control", "no-store");
    return moss_response_send(res, 200, content_type, body, len);
}

/* A figure that could not be built (ENOMEM, ENOBUFS): logged, and a 500. */
static int admin_failed(struct moss__master *m, const char *what, moss_response_t *res)
{
    moss__master_log(m, "admin: %s: %s", what, strerror(errno));
    return admin_text(res, 500, "internal error\n");
}

/* ---- the routes ----------------------------------------------------------------- */

static int admin_health(struct moss__master *m, moss_response_t *res)
{
    if (m->health_draining)
        return admin_text(res, 503, "draining\n");
    return admin_text(res, 200, "ok\n");
}

/* The document, compact, with a final newline for terminals. */
static int admin_stats(struct moss__master *m, moss_response_t *res)
{
    struct moss__stats *s = malloc(sizeof(*s));
    json_t *doc = NULL;
    char *text = NULL;
    int rc;

    if (s != NULL) {
        moss__stats_collect(m, s);
        doc = moss__stats_json(m, s);
    }
    if (doc != NULL)
        text = json_dumps(doc, JSON_COMPACT);
    if (text == NULL) {
        errno = ENOMEM;
        rc = admin_failed(m, "/stats", res);
    } else {
        size_t len = strlen(text);

        text[len] = '\n'; /* over the NUL: the body is counted, not terminated */
        rc = admin_body(res, "application/json", text, len + 1);
    }
    free(text);
    json_decref(doc);
    free(s);
    return rc;
}

static int admin_metrics(struct moss__master *m, moss_response_t *res)
{
    struct moss__stats *s = malloc(sizeof(*s));
    char *text = NULL;
    ptrdiff_t len = -1;
    size_t cap = 0;
    int rc;

    if (s != NULL) {
        moss__stats_collect(m, s);
        cap = moss__metrics_cap(s);
        text = malloc(cap);
    }
    if (text != NULL)
        len = moss__metrics_render(m, s, text, cap);
    if (len == -1)
        rc = admin_failed(m, "/metrics", res);
    else
        rc = admin_body(res, "text/plain; version=0.0.4; charset=utf-8", text, (size_t)len);
    free(text);
    free(s);
    return rc;
}

struct admin_route {
    const char *path;
    int (*run)(struct moss__master *m, moss_response_t *res);
    int public;                    /* answered without the token */
};

static const struct admin_route admin_routes[] = {
    {"/health", admin_health, 1},
    {"/stats", admin_stats, 0},
    {"/metrics", admin_metrics, 0},
};

static const struct admin_route *admin_route_find(const char *path)
{
    for (size_t i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]); i++)
        if (strcmp(path, admin_routes[i].path) == 0)
            return &admin_routes[i];
    return NULL;
}

/* ---- the token ------------------------------------------------------------------- */

/* given == token, in a time that depends on the token's length only (and
 * not on where the first difference is), so that a client cannot find the
 * token byte by byte by timing. */
static int admin_token_equal(const char *given, const char *token)
{
    size_t given_len = strlen(given), token_len = strlen(token);
    volatile unsigned char diff = given_len != token_len;

    for (size_t i = 0; i < token_len; i++)
        diff |= (unsigned char)token[i] ^ (unsigned char)(i < given_len ? given[i] : 0);
    return diff == 0;
}

/* "Authorization: Bearer TOKEN": the scheme is case-insensitive (RFC 7235),
 * the token is not. Always true when no token is configured. */
static int admin_authorized(const struct moss__master *m, const moss_request_t *req)
{
    const char *token = m->config->admin_token;
    const char *value = moss_request_header(req, "Authorization");

    if (token[0] == '\0')
        return 1;
    if (value == NULL || strncasecmp(value, BEARER, strlen(BEARER)) != 0 ||
        value[strlen(BEARER)] != ' ')
        return 0;
    value += strlen(BEARER);
    while (*value == ' ')
        value++;
    return admin_token_equal(value, token);
}

/* The app's handler: app_data is the master. */
static int admin_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    struct moss__master *m = app_data;
    const char *method = moss_request_method(req);
    const struct admin_route *route = admin_route_find(moss_request_path(req));

    if (route == NULL)
        return admin_text(res, 404, "not found\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        moss_response_header(res, "Allow", "GET, HEAD");
        return admin_text(res, 405, "method not allowed\n");
    }
    if (!route->public && !admin_authorized(m, req)) {
        moss_response_header(res, "WWW-Authenticate", BEARER);
        return admin_text(res, 401, "unauthorized\n");
    }
    return route->run(m, res);
}

/* ---- the server ------------------------------------------------------------------- */

/* The master's config with limits for a few small GET requests: requests
 * are tiny, and a client that trickles or idles is dropped within seconds. */
static void admin_config(struct moss_config *c, const struct moss_config *from)
{
    *c = *from;
    c->max_connections = 64;
    c->max_header_size = 8192;
    c->max_headers = 32;
    c->max_body_size = 4096;
    c->header_timeout_ms = 5000;
    c->body_timeout_ms = 5000;
    c->keepalive_timeout_ms = 5000;
    c->max_requests_per_connection = 100;
    c->request_timeout_ms = 10000;
    c->graceful_timeout_ms = ADMIN_STOP_WAIT_MS;
    c->proxy_protocol = 0;
    c->access_log[0] = '\0';
}

/* The admin server's error log: a stream that writes each line through to
 * whatever m->error_log is then. SIGUSR1 replaces (and closes) the master's
 * FILE; the server, holding it, would write to a closed stream. A line that
 * cannot be written is dropped, as moss__worker_log drops it. */
static ssize_t admin_log_write(void *cookie, const char *buf, size_t len)
{
    const struct moss__master *m = cookie;
    FILE *out = m->error_log != NULL ? m->error_log : stderr;

    if (fwrite(buf, 1, len, out) != len || fflush(out) == EOF)
        clearerr(out);
    return (ssize_t)len;
}

static int admin_setup(struct moss__admin *a, struct moss__master *m)
{
    static const cookie_io_functions_t log_io = {.write = admin_log_write};

    a->log = fopencookie(m, "w", log_io);
    if (a->log == NULL)
        return -1;
    admin_config(&a->config, m->config);
    a->app = (moss_app_t){.name = "admin", .handle = admin_handle};
    a->w = (struct moss__worker){
        .config = &a->config, .serve = moss__http_serve, .app = &a->app, .app_data = m,
        .counters = &a->counters, .error_log = a->log,
    };
    return 0;
}

/* A unix listener's socket file, so that stop removes it only while it is
 * still the one bound here (a new master may have replaced it since). */
static void admin_unix_note(struct moss__admin *a)
{
    const char *address = a->w.listeners[0].address;
    struct stat st;

    if (strncmp(address, UNIX_PREFIX, strlen(UNIX_PREFIX)) != 0 ||
        stat(address + strlen(UNIX_PREFIX), &st) == -1)
        return;
    a->unix_dev = st.st_dev;
    a->unix_ino = st.st_ino;
}

/* Closes the listener, and removes its unix socket file unless an
 * upgrade's new master now serves it (m->handed_over). */
static void admin_listener_close(struct moss__admin *a, const struct moss__master *m)
{
    const char *path = a->w.listeners[0].address + strlen(UNIX_PREFIX);
    struct stat st;

    moss__listener_close(&a->w.listeners[0]);
    a->w.listener_count = 0;
    if (a->unix_ino != 0 && !m->handed_over && stat(path, &st) == 0 &&
        st.st_dev == a->unix_dev && st.st_ino == a->unix_ino)
        unlink(path);
}

/* The admin socket an old master passed on in an upgrade (it still
 * listens there, so a bind would fail), if it is still the address
 * configured: 1 when taken into a's listeners[0], 0 when there was none or
 * it was closed as no longer wanted (a NULL: admin is off now). Either way
 * m no longer holds it. */
static int admin_adopt(struct moss__admin *a, struct moss__master *m)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = m->admin_inherited_fd;
    struct moss__listener *l;

    if (fd == -1)
        return 0;
    m->admin_inherited_fd = -1;
    l = a != NULL ? &a->w.listeners[0] : NULL;
    if (l != NULL && getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        moss__address_format((struct sockaddr *)&ss, len, l->address, sizeof(l->address));
        /* the accept loop drains the queue until EAGAIN: never block */
        if (strcmp(l->address, m->config->admin) == 0 &&
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0) {
            l->fd = fd;
            return 1;
        }
    }
    close(fd);
    return 0;
}

static int admin_listen(struct moss__admin *a, struct moss__master *m, char *error,
                        size_t error_len)
{
    if (!admin_adopt(a, m) && moss__listener_bind(m->config->admin, ADMIN_BACKLOG,
                                                  &a->w.listeners[0], error, error_len) == -1)
        return -1;
    a->w.listeners[0].proxy_protocol = 0;
    a->w.listener_count = 1;
    admin_unix_note(a);
    return 0;
}

/* A new admin server for m, set up but not listening: NULL with errno
 * (EALREADY: m has one already) and a message in error. */
static struct moss__admin *admin_new(struct moss__master *m, char *error, size_t error_len)
{
    struct moss__admin *a = m->admin == NULL ? calloc(1, sizeof(*a)) : NULL;
    int err;

    if (a != NULL && admin_setup(a, m) == 0)
        return a;
    err = m->admin != NULL ? EALREADY : errno; /* started twice, or ENOMEM */
    snprintf(error, error_len, "admin %s: %s", m->config->admin, strerror(err));
    free(a);
    errno = err;
    return NULL;
}

int moss__admin_start(struct moss__master *m, char *error, size_t error_len)
{
    struct moss__admin *a;
    int err;

    if (m->config->admin[0] == '\0') {
        admin_adopt(NULL, m); /* an old master's admin socket, no longer wanted */
        return 0;
    }
    a = admin_new(m, error, error_len);
    if (a == NULL)
        return -1;
    if (admin_listen(a, m, error, error_len) == -1)
        goto free_admin;
    if (moss__stream_server_start(&a->w) == -1) {
        snprintf(error, error_len, "admin %s: starting the server: %s",
                 a->w.listeners[0].address, strerror(errno));
        goto close_listener;
    }
    m->admin = a;
    return 0;

close_listener:
    err = errno;
    admin_listener_close(a, m);
    errno = err;
free_admin:
    err = errno;
    fclose(a->log);
    free(a);
    errno = err;
    return -1;
}

void moss__admin_stop(struct moss__master *m)
{
    struct moss__admin *a = m->admin;

    if (a == NULL)
        return;
    m->admin = NULL;
    moss__stream_server_stop(&a->w);
    moss__stream_server_kill(&a->w, 0);
    if (moss__stream_server_join(&a->w, moss_now() + ADMIN_STOP_WAIT_MS) == -1)
        moss__master_log(m, "admin: connections did not end after being cancelled: %s",
                         strerror(errno));
    admin_listener_close(a, m);
    /* connections left still use a: it is left to them (a leak, logged) */
    if (moss__stream_server_free(&a->w) == -1) {
        moss__master_log(m, "admin: stream server: %s; leaving it", strerror(errno));
        return;
    }
    fclose(a->log);
    free(a);
}

int moss__admin_fd(const struct moss__master *m)
{
    if (m->admin == NULL || m->admin->w.listener_count == 0)
        return -1;
    return m->admin->w.listeners[0].fd;
}

/* In a forked child: plain close(2), no moss_close, as the hub's watchers
 * on these fds belong to greenlets the fork left behind. The memory stays
 * as the fork found it (those greenlets still point into it). */
void moss__admin_forget(struct moss__master *m)
{
    struct moss__admin *a = m->admin;

    if (a == NULL)
        return;
    m->admin = NULL;
    moss__stream_server_forget(&a->w);
    for (size_t i = 0; i < a->w.listener_count; i++)
        close(a->w.listeners[i].fd);
}
