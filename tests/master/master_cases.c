/* The master as a user meets it: the real moss binary (MOSS_BIN) run as a
 * prefork server through master_fixture.h. This file has the one table of
 * the "master" TCase, and the cases about the admin endpoints and systemd;
 * the others are in supervise_cases.c and lifecycle_cases.c (declared in
 * master_cases.h). Nothing asserts on elapsed time: waits are bounded,
 * figures measured go to stderr. */
#include "master_cases.h"
#include "master_fixture.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BODY_CAP 4096

/* ---- /stats ------------------------------------------------------------------------- */

/* Whether v has the type c names: s string, i integer, b boolean, o object,
 * a array; upper case (S, I, O) also allows null. */
static int has_type(json_t *v, char c)
{
    if (c >= 'A' && c <= 'Z' && json_is_null(v))
        return 1;
    switch (c | 0x20) {
    case 's': return json_is_string(v);
    case 'i': return json_is_integer(v);
    case 'b': return json_is_boolean(v);
    case 'o': return json_is_object(v);
    case 'a': return json_is_array(v);
    default: return 0;
    }
}

/* o has every field of spec ("name:t name:t ...") with its type. */
static void expect_fields(json_t *o, const char *what, const char *spec)
{
    char name[64], type;
    int used;

    TEST_ASSERT(json_is_object(o));
    while (sscanf(spec, " %63[^:]:%c%n", name, &type, &used) == 2) {
        json_t *v = json_object_get(o, name);

        if (v == NULL || !has_type(v, type))
            fprintf(stderr, "/stats: %s.%s: %s, want type %c\n", what, name,
                    v == NULL ? "missing" : "wrong type", type);
        TEST_ASSERT(v != NULL && has_type(v, type));
        spec += used;
    }
}

#define STATUS_FIELDS "2xx:i 3xx:i 4xx:i 5xx:i"
#define WORKER_FIELDS "slot:i pid:i generation:i state:s cpu:I started_at:i respawns:i " \
                      "requests:i connections_active:i greenlets:i switches:i " \
                      "loop_iterations:i bytes_in:i bytes_out:i status:o heartbeat_age_ms:i " \
                      "rss_bytes:i blocked:o"

static void expect_worker(json_t *w)
{
    const char *state;

    expect_fields(w, "workers[]", WORKER_FIELDS);
    expect_fields(json_object_get(w, "status"), "workers[].status", STATUS_FIELDS);
    expect_fields(json_object_get(w, "blocked"), "workers[].blocked", "count:i max_ms:i last:O");
    state = json_string_value(json_object_get(w, "state"));
    TEST_ASSERT(strcmp(state, "starting") == 0 || strcmp(state, "ready") == 0 ||
                strcmp(state, "draining") == 0 || strcmp(state, "backoff") == 0);
}

/* The document's shape; the per-worker requests sum to the total (no
 * worker has exited yet). The sum. */
static json_int_t expect_document(json_t *stats)
{
    json_t *v;
    json_int_t sum = 0;
    size_t i;

    expect_fields(stats, "", "version:s pid:i uptime_s:i generation:i workers_wanted:i "
                  "reloads:o listeners:a workers:a totals:o");
    expect_fields(json_object_get(stats, "reloads"), "reloads", "ok:i failed:i last:O");
    expect_fields(json_object_get(stats, "totals"), "totals",
                  "requests:i connections_active:i greenlets:i blocked:i");
    TEST_ASSERT(json_array_size(json_object_get(stats, "listeners")) == 1);
    json_array_foreach(json_object_get(stats, "listeners"), i, v)
        expect_fields(v, "listeners[]", "address:s backlog:i queued:I");
    TEST_ASSERT(json_array_size(json_object_get(stats, "workers")) == 2);
    json_array_foreach(json_object_get(stats, "workers"), i, v) {
        expect_worker(v);
        sum += stats_int(v, "requests");
    }
    TEST_ASSERT(sum == stats_int(stats, "totals.requests"));
    return sum;
}

/* moss_requests_total's value in /metrics. */
static json_int_t metrics_requests(const struct master *m)
{
    static char text[1 << 20];
    const char *line;

    TEST_ASSERT(http_get(m->admin_port, "/metrics", NULL, text, sizeof(text)) == 200);
    line = strstr(text, "\nmoss_requests_total ");
    TEST_ASSERT(line != NULL);
    return strtoll(line + strlen("\nmoss_requests_total "), NULL, 10);
}

static int reloaded(json_t *stats, void *arg)
{
    return stats_int(stats, "reloads.ok") == 1 && master_all_ready(stats, arg);
}

/* Every figure /stats promises, with its JSON type; after N requests the
 * total counts them, the workers' figures sum to it, /metrics agrees; after
 * a reload "last" is {at, ok, error}. */
static void case_stats_schema(void)
{
    const char *const extra[] = {"-w", "2", NULL};
    json_int_t served = 7;
    struct master m;
    json_t *stats, *last;

    master_start(&m, extra);
    for (int i = 0; i < served; i++)
        expect_serves(&m);
    TEST_ASSERT(master_wait(&m, requests_at_least, &served, WAIT_MS) == 0);
    stats = master_stats(&m);
    TEST_ASSERT(stats != NULL && json_is_null(json_object_get(json_object_get(stats, "reloads"),
                                                              "last")));
    TEST_ASSERT(expect_document(stats) >= served);
    TEST_ASSERT(metrics_requests(&m) == stats_int(stats, "totals.requests"));
    TEST_ASSERT(stats_int(stats, "pid") == m.pid && stats_int(stats, "generation") == 1);
    json_decref(stats);
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    TEST_ASSERT(master_wait(&m, reloaded, NULL, WAIT_MS) == 0);
    stats = master_stats(&m);
    last = json_object_get(json_object_get(stats, "reloads"), "last");
    expect_fields(last, "reloads.last", "at:i ok:b error:S");
    TEST_ASSERT(json_is_true(json_object_get(last, "ok")));
    TEST_ASSERT(json_is_null(json_object_get(last, "error")));
    json_decref(stats);
    stop_clean(&m, SIGTERM);
}

/* ---- the admin port ------------------------------------------------------------------ */

/* Whether nothing listens on 127.0.0.1:port. */
static int refused(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    close(fd);
    return rc == -1 && errno == ECONNREFUSED;
}

/* --admin_token: /stats and /metrics want the bearer token, /health does
 * not. --admin off (after an --admin ADDR: the last wins): nothing listens
 * there, and the server serves. */
static void case_admin_token_and_off(void)
{
    const char *const token[] = {"-w", "1", "--admin_token", "s3cret", NULL};
    char body[BODY_CAP], addr[64];
    const char *const off[] = {"-w", "1", "--admin", addr, "--admin", "off", NULL};
    unsigned would;
    struct master m;

    master_start(&m, token); /* the fixture sends the token: /stats answers it */
    TEST_ASSERT(http_get(m.admin_port, "/stats", NULL, body, sizeof(body)) == 401);
    TEST_ASSERT(http_get(m.admin_port, "/metrics", NULL, body, sizeof(body)) == 401);
    TEST_ASSERT(http_get(m.admin_port, "/stats", "Authorization: Bearer s3cre\r\n", body,
                         sizeof(body)) == 401);
    TEST_ASSERT(http_get(m.admin_port, "/stats", "Authorization: Bearer s3cret\r\n", body,
                         sizeof(body)) == 200 && body[0] == '{');
    TEST_ASSERT(http_get(m.admin_port, "/health", NULL, body, sizeof(body)) == 200);
    stop_clean(&m, SIGTERM);
    would = test_free_port();
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", would);
    master_start(&m, off);
    TEST_ASSERT(m.admin_port == 0 && strstr(master_log(&m), "admin off") != NULL);
    TEST_ASSERT(refused(would));
    expect_serves(&m);
    stop_clean(&m, SIGTERM);
}

/* ---- systemd's notify socket -------------------------------------------------------- */

static int notify_bind(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 5 * MASTER_SLOW};
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    TEST_ASSERT(fd != -1 && strlen(path) < sizeof(addr.sun_path));
    strcpy(addr.sun_path, path);
    TEST_ASSERT(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    return fd;
}

/* The next datagram holding want (others are skipped, boundedly), into
 * out; fails the case if none comes. */
static void notify_expect(int fd, const char *want, char *out, size_t cap)
{
    for (int i = 0; i < 50; i++) {
        ssize_t n = recv(fd, out, cap - 1, 0);

        TEST_ASSERT(n >= 0); /* else the receive timeout ran out */
        out[n] = '\0';
        fprintf(stderr, "notify_socket: got \"%.*s\"\n", (int)strcspn(out, "\n"), out);
        if (strstr(out, want) != NULL)
            return;
    }
    TEST_ASSERT(!"no such notification");
}

static unsigned long long monotonic_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

/* SIGHUP: RELOADING=1 with a MONOTONIC_USEC taken between the signal and
 * its receipt, then READY=1 once the new generation serves. */
static void notify_reload(const struct master *m, int fd)
{
    char msg[1024];
    unsigned long long before = monotonic_usec(), stamp;
    const char *at;

    TEST_ASSERT(kill(m->pid, SIGHUP) == 0);
    notify_expect(fd, "RELOADING=1", msg, sizeof(msg));
    at = strstr(msg, "MONOTONIC_USEC=");
    TEST_ASSERT(at != NULL);
    stamp = strtoull(at + strlen("MONOTONIC_USEC="), NULL, 10);
    TEST_ASSERT(stamp >= before && stamp <= monotonic_usec());
    notify_expect(fd, "READY=1", msg, sizeof(msg));
    TEST_ASSERT(strstr(msg, "STATUS=generation 2") != NULL);
}

/* $NOTIFY_SOCKET: READY=1 (with a STATUS) once serving, RELOADING=1 then
 * READY=1 on SIGHUP, STOPPING=1 on SIGTERM. */
static void case_notify_socket(void)
{
    const char *const extra[] = {"-w", "1", NULL};
    char path[128], msg[1024];
    struct master m;
    int fd;

    master_prepare(&m);
    snprintf(path, sizeof(path), "%s/notify", m.dir);
    fd = notify_bind(path);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", path, 1) == 0); /* the master inherits it */
    master_start(&m, extra);
    notify_expect(fd, "READY=1", msg, sizeof(msg));
    TEST_ASSERT(strstr(msg, "\nSTATUS=") != NULL);
    notify_reload(&m, fd);
    TEST_ASSERT(kill(m.pid, SIGTERM) == 0);
    notify_expect(fd, "STOPPING=1", msg, sizeof(msg));
    stop_clean(&m, 0);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

const struct moss_test_case moss_test_master_cases[] = {
    {"default_workers_cpus", case_default_workers_cpus},
    {"kill9_respawn", case_kill9_respawn},
    {"crash_loop_backoff", case_crash_loop_backoff},
    {"hung_worker_replaced", case_hung_worker_replaced},
    {"ttin_ttou", case_ttin_ttou},
    {"term_drains_inflight", case_term_drains_inflight},
    {"int_stops_fast", case_int_stops_fast},
    {"stats_schema", case_stats_schema},
    {"admin_token_and_off", case_admin_token_and_off},
    {"pid_file_and_usr1", case_pid_file_and_usr1},
    {"notify_socket", case_notify_socket},
    {"cpu_affinity", case_cpu_affinity},
    {"bad_start", case_bad_start},
    {NULL, NULL},
};
