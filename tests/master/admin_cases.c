/* The admin endpoints (master/admin.c, stats.c, metrics.c) against a fake
 * master built by hand: planted scoreboard figures, three procs, a slot in
 * backoff, and listeners with connections queued but never accepted, so
 * that every figure /stats and /metrics show is known exactly. The admin
 * server runs on the case's hub; the case's main greenlet is its client,
 * over loopback, with moss_* calls (which let the server run). Every wait
 * has a deadline; nothing asserts on elapsed time. */
#include "../../master/admin.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS 10000              /* a bound for what should be quick, valgrind included */
#define RAW_MAX (256 * 1024)
#define J(v) ((json_int_t)(v))

/* procs[0], [4] and [9]; by slot then generation /stats lists them 9, 4, 0. */
struct planted {
    size_t index;
    unsigned slot;
    uint64_t generation;
    int cpu, state, stopping;
    int64_t beat_ago_ms;           /* -1: never beat */
    uint64_t requests, conns, greenlets, s2xx, s4xx, s5xx, blocked;
};

static const struct planted fx_procs[3] = {
    {0, 1, 2, 1, MOSS__WORKER_READY, 0, 250, 100, 3, 7, 90, 8, 2, 1},
    {4, 0, 2, -1, MOSS__WORKER_STARTING, 0, -1, 50, 1, 2, 50, 0, 0, 0},
    {9, 0, 1, -1, MOSS__WORKER_READY, 1, 100, 25, 0, 1, 20, 5, 0, 2},
};
static const char *const fx_states[3] = {"ready", "starting", "draining"};
static const size_t fx_order[3] = {2, 1, 0};

static struct moss__master *fx;
static unsigned fx_port;
static int fx_clients[6];          /* queued on the listeners, never accepted */
static char fx_raw[RAW_MAX];

struct reply {
    int status;
    const char *head, *body;       /* into fx_raw, until the next request */
    size_t body_len;
};

static pid_t fx_pid(size_t i)
{
    return i == 1 ? getppid() : getpid();
}

/* The latest episode of a worker that has had some: what the watchdog's
 * monitor writes (worker/score.c), read back through the seqlock. */
static void fx_plant_block(struct moss__blocked *b, const struct planted *p)
{
    struct moss__block_report r = {.greenlet = 40 + p->index, .ms = (int64_t)p->blocked * 60,
                                   .at = 1700000050, .frame_count = 2};

    snprintf(r.name, sizeof(r.name), "http request");
    snprintf(r.request, sizeof(r.request), "GET /slow?n=%zu", p->index);
    snprintf(r.frames[0], sizeof(r.frames[0]), "busy_inner+0x1a");
    snprintf(r.frames[1], sizeof(r.frames[1]), "busy_outer+0x2b");
    memcpy(&b->last, &r, sizeof(r));
    b->buckets[0] = p->blocked; /* ended, each within 100 ms */
    b->sum_ms = (uint64_t)p->blocked * 60;
}

/* What /stats says of it. */
static json_t *want_block(const struct planted *p)
{
    char request[64];

    if (p->blocked == 0)
        return json_null();
    snprintf(request, sizeof(request), "GET /slow?n=%zu", p->index);
    return json_pack("{s:I, s:s, s:s, s:I, s:i, s:b, s:b, s:[s, s]}", "greenlet",
                     J(40 + p->index), "name", "http request", "request", request, "ms",
                     J(p->blocked * 60), "at", 1700000050, "ongoing", 0, "late", 0, "frames", "busy_inner+0x1a",
                     "busy_outer+0x2b");
}

static void fx_plant(const struct planted *p, pid_t pid, int64_t now)
{
    fx->procs[p->index] = (struct moss__master_proc){
        .used = 1, .pid = pid, .slot = p->slot, .generation = p->generation, .cpu = p->cpu,
        .started_at = 1700000000 + (int64_t)p->index, .started_ms = now,
        .stopping = p->stopping, .score = &fx->board[p->index]};
    fx->board[p->index] = (struct moss__score){
        .state = p->state, .heartbeat_ms = p->beat_ago_ms < 0 ? 0 : now - p->beat_ago_ms,
        .counters = {.requests = p->requests, .connections_active = p->conns,
                     .greenlets = p->greenlets, .switches = p->requests * 10,
                     .loop_iterations = p->requests * 5, .bytes_in = p->requests * 100,
                     .bytes_out = p->requests * 200, .connections_total = p->requests / 5,
                     .request_timeouts = p->s5xx, .accept_backoffs = p->s4xx / 4,
                     .status = {[MOSS__STATUS_2XX] = p->s2xx, [MOSS__STATUS_4XX] = p->s4xx,
                                [MOSS__STATUS_5XX] = p->s5xx}},
        .blocked = {.count = p->blocked, .max_ms = p->blocked * 60}};
    if (p->blocked > 0)
        fx_plant_block(&fx->board[p->index].blocked, p);
}

/* A loopback listener with `queued` connections completed and never
 * accepted; waits (bounded) until the kernel counts them all. */
static int fx_listener(int queued, int *clients, struct moss__master_listener *l)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    struct tcp_info info = {0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(fd != -1 && bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 16) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    for (int i = 0; i < queued; i++)
        clients[i] = test_client_connect(ntohs(addr.sin_port));
    for (int i = 0; i < WAIT_MS && info.tcpi_unacked != (unsigned)queued; i++) {
        len = sizeof(info);
        TEST_ASSERT(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0);
        if (info.tcpi_unacked != (unsigned)queued)
            test_pause_ms(1);
    }
    TEST_ASSERT(info.tcpi_unacked == (unsigned)queued);
    if (l != NULL)
        snprintf(l->address, sizeof(l->address), "127.0.0.1:%u", ntohs(addr.sin_port));
    return fd;
}

/* Listener 0 (shared, 3 queued), 1 (reuse_port: 1 + 2 queued in slots 0
 * and 1), 2 (unix: not measured; its name needs escaping in /metrics). */
static void fx_listeners(void)
{
    struct moss__master_listener *l = fx->listeners;

    for (unsigned s = 0; s < MOSS__WORKERS_MAX; s++)
        for (size_t i = 0; i < MOSS__BIND_MAX; i++)
            fx->slots[s].fds[i] = -1;
    l[0] = (struct moss__master_listener){.backlog = 16};
    l[0].fd = fx_listener(3, fx_clients, &l[0]);
    l[1] = (struct moss__master_listener){.backlog = 16, .fd = -1, .reuse_port = 1};
    fx->slots[0].fds[1] = fx_listener(1, fx_clients + 3, &l[1]);
    fx->slots[1].fds[1] = fx_listener(2, fx_clients + 4, NULL);
    l[2] = (struct moss__master_listener){.address = "unix:/run/a\"b\\c", .backlog = 8, .fd = -1};
    fx->listener_count = 3;
}

static void fx_master(const char *admin, const char *token)
{
    int64_t now = moss__score_clock_ms();

    fx = calloc(1, sizeof(*fx));
    TEST_ASSERT(fx != NULL && (fx->config = moss_config_new()) != NULL);
    TEST_ASSERT(moss_config_set(fx->config, "admin", admin, NULL) == 0);
    TEST_ASSERT(moss_config_set(fx->config, "admin_token", token, NULL) == 0);
    fx->admin_inherited_fd = fx->upgrade_fd = -1;
    fx->error_log = tmpfile();
    fx->pid = getpid(), fx->started_ms = now - 5000, fx->generation = 2, fx->workers = 3;
    fx->board = aligned_alloc(64, MOSS__PROCS_MAX * sizeof(struct moss__score));
    TEST_ASSERT(fx->board != NULL && fx->error_log != NULL);
    memset(fx->board, 0, MOSS__PROCS_MAX * sizeof(struct moss__score));
    for (size_t i = 0; i < 3; i++)
        fx_plant(&fx_procs[i], fx_pid(i), now);
    fx->slots[0].respawns = 1;
    fx->slots[1] = (struct moss__master_slot){.backoff_until_ms = now - 1000, .backoff_ms = 500};
    fx->slots[2] = (struct moss__master_slot){.respawns = 3, .backoff_until_ms = now + 600000,
                                              .backoff_ms = 4000};
    fx->reloads = (struct moss__master_reloads){.ok = 2, .failed = 1, .has_last = 1,
                                                .last_at = 1700000100, .last_error = "boom"};
    fx->exited = (struct moss__worker_counters){
        .requests = 1000, .bytes_in = 50000, .connections_active = 99, /* a gauge: not summed */
        .connections_total = 300, .request_timeouts = 7, .accept_backoffs = 3,
        .status = {[MOSS__STATUS_2XX] = 900, [MOSS__STATUS_4XX] = 60, [MOSS__STATUS_5XX] = 40}};
    fx->exited_blocked = 4;
    fx_listeners();
}

/* The fake master, serving on a free port (retried: another process may
 * take the port between test_free_port and the bind). */
static void fx_start(const char *token)
{
    char error[512], admin[64];
    int rc = -1;

    for (int attempt = 0; attempt < 20 && rc == -1; attempt++) {
        fx_port = test_free_port();
        snprintf(admin, sizeof(admin), "127.0.0.1:%u", fx_port);
        if (fx == NULL)
            fx_master(admin, token);
        TEST_ASSERT(moss_config_set(fx->config, "admin", admin, NULL) == 0);
        rc = moss__admin_start(fx, error, sizeof(error));
        TEST_ASSERT(rc == 0 || errno == EADDRINUSE);
    }
    TEST_ASSERT(rc == 0 && fx->admin != NULL);
}

/* ---- the client ----------------------------------------------------------------- */

static int fx_connect(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx_port)};
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(fd != -1);
    TEST_ASSERT(moss_connect(fd, (struct sockaddr *)&addr, sizeof(addr),
                             moss_now() + WAIT_MS) == 0);
    return fd;
}

/* Reads fd until the server ends it (EOF, or a reset if reset_ok) into
 * fx_raw, NUL-terminated, then closes it: the count. */
static size_t fx_read_all(int fd, int reset_ok)
{
    size_t len = 0;
    ptrdiff_t n;

    while ((n = moss_read(fd, fx_raw + len, RAW_MAX - 1 - len, moss_now() + WAIT_MS)) > 0)
        len += (size_t)n;
    TEST_ASSERT((n == 0 || (reset_ok && errno == ECONNRESET)) && len < RAW_MAX - 1);
    fx_raw[len] = '\0';
    TEST_ASSERT(moss_close(fd) == 0);
    return len;
}

/* One request on a connection of its own (Connection: close). */
static struct reply fx_request(const char *method, const char *path, const char *headers)
{
    char request[512];
    struct reply r = {0};
    int fd = fx_connect();
    int n = snprintf(request, sizeof(request),
                     "%s %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", method, path,
                     headers);
    size_t len;
    char *end;

    TEST_ASSERT(moss_write(fd, request, (size_t)n, moss_now() + WAIT_MS) == n);
    len = fx_read_all(fd, 0);
    TEST_ASSERT(sscanf(fx_raw, "HTTP/1.1 %d ", &r.status) == 1);
    TEST_ASSERT((end = strstr(fx_raw, "\r\n\r\n")) != NULL);
    end[2] = '\0'; /* the head keeps its last header's CRLF */
    r.head = fx_raw, r.body = end + 4, r.body_len = len - (size_t)(end + 4 - fx_raw);
    return r;
}

static struct reply fx_get(const char *path)
{
    return fx_request("GET", path, "");
}

/* The head has the line "Name: value" (or, with prefix, one starting so). */
static int fx_header(const struct reply *r, const char *line, int prefix)
{
    const char *at = strcasestr(r->head, line);

    return at != NULL && at[-1] == '\n' && (prefix || strncmp(at + strlen(line), "\r\n", 2) == 0);
}

static int fx_body_is(const struct reply *r, const char *text)
{
    return r->body_len == strlen(text) && memcmp(r->body, text, r->body_len) == 0;
}

/* The master's error log has a line with text. */
static int fx_logged(const char *text)
{
    size_t n;

    TEST_ASSERT(fflush(fx->error_log) == 0);
    rewind(fx->error_log);
    n = fread(fx_raw, 1, RAW_MAX - 1, fx->error_log);
    fx_raw[n] = '\0';
    return strstr(fx_raw, text) != NULL;
}

static int fx_refused(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc, err;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    err = errno;
    close(fd);
    return rc == -1 && err == ECONNREFUSED;
}

/* ---- /health, routes, the token ---------------------------------------------------- */

static void case_health_ok_then_draining(void)
{
    struct reply r;
    FILE *old_log;

    fx_start("");
    r = fx_get("/health");
    TEST_ASSERT(r.status == 200 && fx_body_is(&r, "ok\n"));
    r = fx_request("HEAD", "/health", "");
    TEST_ASSERT(r.status == 200 && r.body_len == 0 && fx_header(&r, "Content-Length: 3", 0));
    fx->health_draining = 1;
    r = fx_get("/health");
    TEST_ASSERT(r.status == 503 && fx_body_is(&r, "draining\n"));
    old_log = fx->error_log; /* replaced as SIGUSR1 does: the server's log follows */
    TEST_ASSERT((fx->error_log = tmpfile()) != NULL && fclose(old_log) == 0);
    moss__worker_log(&fx->admin->w, "a server line");
    TEST_ASSERT(fx_logged("]: a server line\n"));
    moss__admin_stop(fx);
    TEST_ASSERT(fx->admin == NULL);
}

static void case_not_found_and_method(void)
{
    struct reply r;

    fx_start("");
    TEST_ASSERT(fx_get("/nope").status == 404 && fx_get("/stats/").status == 404);
    r = fx_request("POST", "/stats", "Content-Length: 0\r\n");
    TEST_ASSERT(r.status == 405 && fx_header(&r, "Allow: GET, HEAD", 0));
    TEST_ASSERT(fx_request("DELETE", "/health", "").status == 405);
    r = fx_request("HEAD", "/stats", "");
    TEST_ASSERT(r.status == 200 && r.body_len == 0);
    moss__admin_stop(fx);
}

static void case_token(void)
{
    struct reply r;

    fx_start("s3cret");
    r = fx_get("/stats");
    TEST_ASSERT(r.status == 401 && fx_header(&r, "WWW-Authenticate: Bearer", 0));
    TEST_ASSERT(fx_get("/metrics").status == 401);
    TEST_ASSERT(fx_request("GET", "/stats", "Authorization: Bearer s3creT\r\n").status == 401);
    TEST_ASSERT(fx_request("GET", "/stats", "Authorization: Bearer s3cret2\r\n").status == 401);
    TEST_ASSERT(fx_request("GET", "/stats", "Authorization: Basic s3cret\r\n").status == 401);
    TEST_ASSERT(fx_request("GET", "/stats", "Authorization: Bearer s3cret\r\n").status == 200);
    TEST_ASSERT(fx_request("GET", "/metrics", "Authorization: bearer s3cret\r\n").status == 200);
    TEST_ASSERT(fx_get("/health").status == 200);
    moss__admin_stop(fx);
}

/* ---- /stats -------------------------------------------------------------------------- */

static json_t *fx_stats(void)
{
    struct reply r = fx_get("/stats");
    json_t *doc;

    TEST_ASSERT(r.status == 200 && fx_header(&r, "Content-Type: application/json", 1));
    TEST_ASSERT(r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    doc = json_loadb(r.body, r.body_len, 0, NULL);
    TEST_ASSERT(json_is_object(doc));
    return doc;
}

static json_t *want_worker(const struct planted *p, size_t i)
{
    return json_pack(
        "{s:I, s:I, s:I, s:s, s:o, s:I, s:I, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
        " s:I, s:I, s:{s:I, s:i, s:I, s:I}, s:{s:I, s:I, s:o}}",
        "slot", J(p->slot), "pid", J(fx_pid(i)), "generation", J(p->generation),
        "state", fx_states[i], "cpu", p->cpu < 0 ? json_null() : json_integer(p->cpu),
        "started_at", J(1700000000 + p->index), "respawns", J(p->slot == 0), "backoff_ms", 0,
        "requests", J(p->requests), "connections_active", J(p->conns),
        "connections_total", J(p->requests / 5), "request_timeouts", J(p->s5xx),
        "accept_backoffs", J(p->s4xx / 4),
        "greenlets", J(p->greenlets), "switches", J(p->requests * 10),
        "loop_iterations", J(p->requests * 5), "bytes_in", J(p->requests * 100),
        "bytes_out", J(p->requests * 200), "status", "2xx", J(p->s2xx), "3xx", 0,
        "4xx", J(p->s4xx), "5xx", J(p->s5xx), "blocked", "count", J(p->blocked),
        "max_ms", J(p->blocked * 60), "last", want_block(p));
}

static json_t *want_workers(void)
{
    json_t *a = json_array();

    for (size_t k = 0; k < 3; k++)
        TEST_ASSERT(json_array_append_new(a, want_worker(&fx_procs[fx_order[k]],
                                                         fx_order[k])) == 0);
    TEST_ASSERT(json_array_append_new(a, json_pack(
        "{s:i, s:n, s:i, s:s, s:n, s:n, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
        " s:i, s:i, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i, s:n}}",
        "slot", 2, "pid", "generation", 2, "state", "backoff", "cpu", "started_at",
        "respawns", 3, "backoff_ms", 4000, "requests", 0, "connections_active", 0,
        "connections_total", 0, "request_timeouts", 0, "accept_backoffs", 0,
        "greenlets", 0, "switches", 0, "loop_iterations", 0, "bytes_in", 0, "bytes_out", 0,
        "status", "2xx", 0, "3xx", 0, "4xx", 0, "5xx", 0, "blocked", "count", 0, "max_ms", 0,
        "last")) == 0);
    return a;
}

/* Takes out what is not planted: the rss (positive, null without a
 * process), the heartbeat's age (at least as old as planted, or null). */
static void take_measured(json_t *w, const struct planted *p)
{
    json_t *rss = json_object_get(w, "rss_bytes"), *age = json_object_get(w, "heartbeat_age_ms");

    TEST_ASSERT(p == NULL ? json_is_null(rss)
                          : json_is_integer(rss) && json_integer_value(rss) > 0);
    TEST_ASSERT(p == NULL || p->beat_ago_ms < 0 ? json_is_null(age)
                : json_is_integer(age) && json_integer_value(age) >= p->beat_ago_ms);
    TEST_ASSERT(json_object_del(w, "rss_bytes") == 0);
    TEST_ASSERT(json_object_del(w, "heartbeat_age_ms") == 0);
}

static void check_equal(json_t *got, json_t *want)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

        fprintf(stderr, "got:  %s\nwant: %s\n", g, w);
        free(g), free(w);
    }
    TEST_ASSERT(want != NULL && json_equal(got, want));
    json_decref(want);
}

/* The whole document, exactly: every key, every type, every planted figure. */
static void case_stats_document(void)
{
    json_t *doc, *workers;

    fx_start("");
    doc = fx_stats();
    TEST_ASSERT(json_integer_value(json_object_get(doc, "uptime_s")) >= 5);
    TEST_ASSERT(json_object_del(doc, "uptime_s") == 0);
    workers = json_object_get(doc, "workers");
    TEST_ASSERT(json_array_size(workers) == 4);
    for (size_t k = 0; k < 4; k++)
        take_measured(json_array_get(workers, k), k < 3 ? &fx_procs[fx_order[k]] : NULL);
    check_equal(doc, json_pack(
        "{s:s, s:I, s:i, s:i, s:b, s:{s:i, s:i, s:{s:i, s:b, s:s}},"
        " s:[{s:s, s:i, s:i}, {s:s, s:i, s:i}, {s:s, s:i, s:n}], s:o,"
        " s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i}}}",
        "version", moss_version(), "pid", J(getpid()), "generation", 2, "workers_wanted", 3,
        "stopping", 0, "reloads", "ok", 2, "failed", 1, "last", "at", 1700000100, "ok", 0,
        "error", "boom", "listeners", "address", fx->listeners[0].address, "backlog", 16,
        "queued", 3, "address", fx->listeners[1].address, "backlog", 16, "queued", 3,
        "address", fx->listeners[2].address, "backlog", 8, "queued", "workers", want_workers(),
        "totals", "requests", 1000 + 175, "connections_active", 4, "greenlets", 10,
        "blocked", 4 + 3, "bytes_in", 50000 + 17500, "bytes_out", 35000,
        "connections_total", 300 + 20 + 10 + 5, "request_timeouts", 7 + 2,
        "accept_backoffs", 3 + 2 + 1,
        "status", "2xx", 900 + 160, "3xx", 0, "4xx", 60 + 13, "5xx", 40 + 2));
    json_decref(doc);
    moss__admin_stop(fx);
}

/* Before any reload "last" is null; a committed one has a null error. */
static void case_stats_reload_last(void)
{
    json_t *doc;

    fx_start("");
    fx->reloads.has_last = 0, fx->stopping = 1;
    doc = fx_stats();
    TEST_ASSERT(json_is_null(json_object_get(json_object_get(doc, "reloads"), "last")));
    TEST_ASSERT(json_is_true(json_object_get(doc, "stopping")));
    json_decref(doc);
    fx->reloads.has_last = 1, fx->reloads.last_ok = 1;
    doc = fx_stats();
    check_equal(json_object_get(json_object_get(doc, "reloads"), "last"),
                json_pack("{s:i, s:b, s:n}", "at", 1700000100, "ok", 1, "error"));
    json_decref(doc);
    moss__admin_stop(fx);
}

/* ---- /metrics --------------------------------------------------------------------------- */

/* A histogram family's samples add a suffix to its name. */
static int metrics_histogram_sample(const char *rest)
{
    return strncmp(rest, "_bucket{", 8) == 0 || strncmp(rest, "_sum{", 5) == 0 ||
           strncmp(rest, "_count{", 7) == 0;
}

/* Every sample line follows the # TYPE of its own family. */
static void check_grouping(const char *text)
{
    char family[128] = "";

    for (const char *line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
        TEST_ASSERT(strchr(line, '\n') != NULL);
        if (sscanf(line, "# TYPE %127s", family) == 1 || line[0] == '#')
            continue;
        TEST_ASSERT(family[0] != '\0' && strncmp(line, family, strlen(family)) == 0);
        TEST_ASSERT(line[strlen(family)] == '{' || line[strlen(family)] == ' ' ||
                    metrics_histogram_sample(line + strlen(family)));
    }
}

static void case_metrics_text(void)
{
    static const char *const expected[] = {
        "# TYPE moss_requests_total counter\nmoss_requests_total 1175\n",
        "\nmoss_blocked_total 7\n", "\nmoss_generation 2\n", "\nmoss_workers_wanted 3\n",
        "\nmoss_connections_total 335\n", "\nmoss_accept_backoffs_total 6\n",
        "\nmoss_request_timeouts_total 9\n",
        "\nmoss_reloads_total{result=\"ok\"} 2\nmoss_reloads_total{result=\"failed\"} 1\n",
        "\nmoss_responses_total{class=\"4xx\"} 73\n", "\nmoss_connections_active 4\n",
        "\nmoss_worker_state{slot=\"2\",pid=\"\",generation=\"2\",state=\"backoff\"} 1\n",
        "\nmoss_listener_backlog{address=\"unix:/run/a\\\"b\\\\c\"} 8\n",
        "\nmoss_slot_backoff_seconds{slot=\"2\"} 4.000\n",
        "\nmoss_slot_respawns_total{slot=\"2\"} 3\n",
    };
    char line[256];
    struct reply r;

    fx_start("");
    r = fx_get("/metrics");
    TEST_ASSERT(r.status == 200 && fx_header(&r, "Content-Type: text/plain; version=0.0.4", 1));
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
        TEST_ASSERT(strstr(r.body, expected[i]) != NULL);
    snprintf(line, sizeof(line),
             "\nmoss_worker_requests_total{slot=\"1\",pid=\"%ld\",generation=\"2\"} 100\n",
             (long)getpid());
    TEST_ASSERT(strstr(r.body, line) != NULL);
    snprintf(line, sizeof(line), "\nmoss_listener_queued{address=\"%s\"} 3\n",
             fx->listeners[1].address);
    TEST_ASSERT(strstr(r.body, line) != NULL);
    snprintf(line, sizeof(line), "\nmoss_worker_heartbeat_age_seconds{slot=\"0\",pid=\"%ld\",",
             (long)getppid());
    TEST_ASSERT(strstr(r.body, line) == NULL); /* never beat: no sample */
    TEST_ASSERT(strstr(r.body, "\nmoss_worker_heartbeat_age_seconds{slot=\"1\",") != NULL);
    /* the blocked histogram: one episode of 60 ms, in every bucket from 0.1 s */
    snprintf(line, sizeof(line), "\nmoss_worker_blocked_duration_seconds_bucket{slot=\"1\","
             "pid=\"%ld\",generation=\"2\",le=\"0.1\"} 1\n", (long)getpid());
    TEST_ASSERT(strstr(r.body, line) != NULL);
    snprintf(line, sizeof(line), "\nmoss_worker_blocked_duration_seconds_bucket{slot=\"1\","
             "pid=\"%ld\",generation=\"2\",le=\"+Inf\"} 1\n", (long)getpid());
    TEST_ASSERT(strstr(r.body, line) != NULL);
    TEST_ASSERT(strstr(r.body, "# TYPE moss_worker_blocked_duration_seconds histogram\n"));
    check_grouping(r.body);
    moss__admin_stop(fx);
}

/* The bound holds, and a buffer below it fails whole rather than cut. */
static void case_metrics_bounded(void)
{
    struct moss__stats *s = malloc(sizeof(*s));
    size_t cap;
    char *buf;
    ptrdiff_t len;

    fx_master("off", "");
    TEST_ASSERT(s != NULL);
    moss__stats_collect(fx, s);
    cap = moss__metrics_cap(s);
    TEST_ASSERT((buf = malloc(cap)) != NULL);
    len = moss__metrics_render(fx, s, buf, cap);
    TEST_ASSERT(len > 0 && (size_t)len < cap && strlen(buf) == (size_t)len);
    TEST_ASSERT(moss__metrics_render(fx, s, buf, (size_t)len) == -1 && errno == ENOBUFS);
    free(buf);
    free(s);
}

/* The bound holds for the longest text there can be: every entry used,
 * every number at its widest, every address all quotes (escaped: doubled). */
static void case_metrics_bound_widest(void)
{
    static char quotes[MOSS__ADDRESS_MAX];
    struct moss__stats *s = calloc(1, sizeof(*s));
    char *buf;

    fx_master("off", "");
    TEST_ASSERT(s != NULL);
    memset(quotes, '"', sizeof(quotes) - 1);
    fx->workers = MOSS__WORKERS_MAX, fx->generation = UINT64_MAX;
    fx->reloads = (struct moss__master_reloads){.ok = UINT64_MAX, .failed = UINT64_MAX,
                                                .has_last = 1, .last_at = INT64_MIN};
    for (unsigned slot = 0; slot < MOSS__WORKERS_MAX; slot++)
        fx->slots[slot].respawns = UINT32_MAX;
    s->uptime_s = INT64_MIN, s->worker_count = MOSS__STATS_WORKERS_MAX;
    for (size_t i = 0; i < s->worker_count; i++) {
        struct moss__stats_worker *w = &s->workers[i];

        memset(&w->c, 0xff, sizeof(w->c));
        w->c.blocked_max_ms = INT64_MAX, w->slot = UINT32_MAX, w->pid = INT32_MIN;
        w->generation = UINT64_MAX, w->state = MOSS__WORKER_DRAINING;
        w->started_at = w->heartbeat_age_ms = w->rss_bytes = INT64_MAX;
    }
    s->listener_count = MOSS__BIND_MAX;
    for (size_t i = 0; i < MOSS__BIND_MAX; i++)
        s->listeners[i] = (struct moss__stats_listener){quotes, INT32_MAX, INT64_MAX};
    TEST_ASSERT((buf = malloc(moss__metrics_cap(s))) != NULL);
    TEST_ASSERT(moss__metrics_render(fx, s, buf, moss__metrics_cap(s)) > 0);
    free(buf);
    free(s);
}

/* ---- the server's life ---------------------------------------------------------------- */

/* admin "off" serves nothing; stop and forget are no-ops without a server;
 * a taken address fails with the bind's message. */
static void case_off_and_bind_error(void)
{
    char error[512] = "", admin[MOSS__ADDRESS_MAX];

    fx_master("off", "");
    TEST_ASSERT(moss__admin_start(fx, error, sizeof(error)) == 0 && fx->admin == NULL);
    moss__admin_stop(fx);
    moss__admin_forget(fx);
    TEST_ASSERT(moss__admin_fd(fx) == -1);
    snprintf(admin, sizeof(admin), "%s", fx->listeners[0].address);
    TEST_ASSERT(moss_config_set(fx->config, "admin", admin, NULL) == 0);
    TEST_ASSERT(moss__admin_start(fx, error, sizeof(error)) == -1 && errno == EADDRINUSE);
    TEST_ASSERT(strstr(error, "bind(") != NULL && strstr(error, admin) != NULL);
    TEST_ASSERT(fx->admin == NULL);
}

/* An idle keep-alive connection and one stuck mid-request both end, none
 * left behind (stop logs those). */
static void case_stop_ends_connections(void)
{
    static const char get[] = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    int idle, stuck;
    char byte;

    fx_start("");
    idle = fx_connect();
    stuck = fx_connect();
    TEST_ASSERT(moss_write(idle, get, sizeof(get) - 1, moss_now() + WAIT_MS) ==
                (ptrdiff_t)sizeof(get) - 1);
    TEST_ASSERT(moss_read(idle, &byte, 1, moss_now() + WAIT_MS) == 1); /* answered; stays open */
    TEST_ASSERT(moss_write(stuck, "GET /he", 7, moss_now() + WAIT_MS) == 7);
    moss_sleep(50); /* lets the server read it; nothing depends on how long */
    moss__admin_stop(fx);
    TEST_ASSERT(fx->admin == NULL && !fx_logged("admin:"));
    fx_read_all(idle, 1);
    fx_read_all(stuck, 1);
    TEST_ASSERT(fx_refused(fx_port));
}

static void case_forget_in_child(void)
{
    int client, listener, conn, status = -1;
    pid_t pid;

    fx_start("");
    client = fx_connect();
    for (int i = 0; i < WAIT_MS && fx->admin->w.conns == NULL; i++)
        moss_sleep(1);
    TEST_ASSERT(fx->admin->w.conns != NULL);
    listener = moss__admin_fd(fx);
    conn = fx->admin->w.conns->conn.fd;
    TEST_ASSERT(listener >= 0 && fcntl(listener, F_GETFD) != -1 && fcntl(conn, F_GETFD) != -1);
    pid = fork();
    TEST_ASSERT(pid != -1);
    if (pid == 0) {
        moss__admin_forget(fx);
        _exit(fx->admin == NULL && fcntl(listener, F_GETFD) == -1 && errno == EBADF &&
                      fcntl(conn, F_GETFD) == -1 && errno == EBADF ? 0 : 1);
    }
    TEST_ASSERT(test_wait_exit(pid, WAIT_MS, &status) == 0);
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    TEST_ASSERT(fx_get("/health").status == 200); /* the parent's fds are untouched */
    TEST_ASSERT(moss_close(client) == 0);
    moss__admin_stop(fx);
}

/* Stopped before its accept loop ever ran (the master's set-up failing
 * right after the admin start): the loop dies unstarted. */
static void case_stop_right_after_start(void)
{
    fx_start("");
    moss__admin_stop(fx);
    TEST_ASSERT(fx->admin == NULL && !fx_logged("admin:") && fx_refused(fx_port));
    fx_start("");
    TEST_ASSERT(fx_get("/health").status == 200);
    moss__admin_stop(fx);
}

/* An upgrade's socket is served when it is still the address configured,
 * and closed when the address changed. */
static void case_adopts_inherited_socket(void)
{
    struct moss__master_listener same, stale;
    char error[512];
    unsigned stale_port;

    fx_master("off", "");
    fx->admin_inherited_fd = fx_listener(0, NULL, &same);
    TEST_ASSERT(sscanf(same.address, "127.0.0.1:%u", &fx_port) == 1);
    TEST_ASSERT(moss_config_set(fx->config, "admin", same.address, NULL) == 0);
    TEST_ASSERT(moss__admin_start(fx, error, sizeof(error)) == 0);
    TEST_ASSERT(fx->admin_inherited_fd == -1 && moss__admin_fd(fx) != -1);
    TEST_ASSERT(fx_get("/health").status == 200);
    moss__admin_stop(fx);
    TEST_ASSERT(fx_refused(fx_port));
    fx->admin_inherited_fd = fx_listener(0, NULL, &stale);
    TEST_ASSERT(sscanf(stale.address, "127.0.0.1:%u", &stale_port) == 1);
    fx_start("");
    TEST_ASSERT(fx->admin_inherited_fd == -1 && fx_refused(stale_port));
    TEST_ASSERT(fx_get("/health").status == 200);
    moss__admin_stop(fx);
}

/* A unix admin socket's file goes with the server, unless an upgrade's
 * new master serves it now. */
static void case_unix_socket_file(void)
{
    char dir[] = "/tmp/moss-admin-XXXXXX", admin[64], error[512];
    struct stat st;

    TEST_ASSERT(mkdtemp(dir) != NULL);
    snprintf(admin, sizeof(admin), "unix:%s/admin.sock", dir);
    fx_master(admin, "");
    for (int handed_over = 0; handed_over < 2; handed_over++) {
        fx->handed_over = handed_over;
        TEST_ASSERT(moss__admin_start(fx, error, sizeof(error)) == 0);
        TEST_ASSERT(stat(admin + 5, &st) == 0 && S_ISSOCK(st.st_mode));
        moss_sleep(1); /* the accept loop starts (stop_right_after_start: before) */
        moss__admin_stop(fx);
        TEST_ASSERT(handed_over ? stat(admin + 5, &st) == 0 : stat(admin + 5, &st) == -1);
    }
    TEST_ASSERT(unlink(admin + 5) == 0 && rmdir(dir) == 0);
}

const struct moss_test_case moss_test_admin_cases[] = {
    {"health_ok_then_draining", case_health_ok_then_draining},
    {"not_found_and_method", case_not_found_and_method},
    {"token", case_token},
    {"stats_document", case_stats_document},
    {"stats_reload_last", case_stats_reload_last},
    {"metrics_text", case_metrics_text},
    {"metrics_bounded", case_metrics_bounded},
    {"metrics_bound_widest", case_metrics_bound_widest},
    {"off_and_bind_error", case_off_and_bind_error},
    {"stop_ends_connections", case_stop_ends_connections},
    {"forget_in_child", case_forget_in_child},
    {"stop_right_after_start", case_stop_right_after_start},
    {"adopts_inherited_socket", case_adopts_inherited_socket},
    {"unix_socket_file", case_unix_socket_file},
    {NULL, NULL},
};
