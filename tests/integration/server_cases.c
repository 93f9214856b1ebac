/* The real moss binary (MOSS_BIN), run as a child process on a free
 * loopback port and driven over loopback as a user would: curl, keep-alive,
 * the demo app's routes, 200 concurrent sleeps, slowloris, wrk, plugin apps
 * (TEST_PLUGIN_DIR), and the command line's errors. Every wait is bounded;
 * every process started is ended by its pid (and, should the test process
 * die first, by PR_SET_PDEATHSIG). */
#include "harness.h"
#include "moss.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

/* Under valgrind (make check VALGRIND=1, which traces into the server too)
 * everything is about ten times slower: bounds stretch by this much. */
#define SLOW (RUNNING_ON_VALGRIND ? 10 : 1)

#define START_WAIT_MS 10000   /* for "serving on" */
#define STOP_WAIT_MS 10000    /* for the exit after SIGTERM */
#define RUN_WAIT_MS 30000     /* for a command run to its end (wrk runs 2 s) */
#define IO_WAIT_MS 5000
#define LOG_CAP 65536
#define REPLY_CAP (2 << 20)

/* Small limits, so that the limits are what the tests meet. */
#define SMALL_LIMITS "--max_body_size", "256k", "--max_header_size", "8k", \
                     "--graceful_timeout", "2s", "--request_timeout", "10s"

/* ---- processes ----------------------------------------------------------------- */

struct server {
    pid_t pid;
    unsigned port;
    int log_fd;                /* its stdout and stderr: an unlinked file */
};

/* Runs argv to its end (bounded); its exit status (or 128 + signal), and
 * its output in out. */
static int run(char *const argv[], char *out, size_t cap)
{
    int fd = test_output_file(), status = 0;
    pid_t pid = test_spawn(argv, fd);

    if (test_wait_exit(pid, RUN_WAIT_MS * SLOW, &status) == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "%s did not end within %d ms\n", argv[0], RUN_WAIT_MS);
        TEST_ASSERT(!"command timed out");
    }
    test_output_read(fd, out, cap);
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* MOSS_BIN -b 127.0.0.1:PORT extra... into argv (which has room for 32). */
static void server_argv(char **argv, char *bind, size_t cap, unsigned port,
                        const char *const *extra)
{
    const char *bin = getenv("MOSS_BIN");
    size_t n = 0;

    TEST_ASSERT(bin != NULL);
    snprintf(bind, cap, "127.0.0.1:%u", port);
    argv[n++] = (char *)bin;
    argv[n++] = "-b";
    argv[n++] = bind;
    /* one worker (the blocking cases need it), no admin port to collide on */
    argv[n++] = "-w";
    argv[n++] = "1";
    argv[n++] = "--admin";
    argv[n++] = "off";
    argv[n++] = "--drain_grace";
    argv[n++] = "0";
    for (; extra != NULL && *extra != NULL && n < 31; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
}

/* Waits for "serving on" in s's output: 0, or -1 if it exited first. */
static int server_wait_ready(struct server *s)
{
    static char log[LOG_CAP];
    int64_t end = test_clock_ms() + START_WAIT_MS * SLOW;
    int status;

    while (test_clock_ms() < end) {
        if (strstr(test_output_read(s->log_fd, log, sizeof(log)), "serving on") != NULL)
            return 0;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return -1;
        test_pause_ms(5);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    fprintf(stderr, "moss did not say 'serving on' within %d ms:\n%s\n", START_WAIT_MS, log);
    TEST_ASSERT(!"server start timed out");
    return -1;
}

/* Starts moss on a free port with extra flags (NULL-ended) and waits until
 * it serves; retries on another port if the port was taken meanwhile. */
static struct server server_start(const char *const *extra)
{
    static char log[LOG_CAP];
    char *argv[32], bind[64];
    struct server s = {0};

    for (int attempt = 0; attempt < 5; attempt++) {
        s.port = test_free_port();
        server_argv(argv, bind, sizeof(bind), s.port, extra);
        s.log_fd = test_output_file();
        s.pid = test_spawn(argv, s.log_fd);
        if (server_wait_ready(&s) == 0)
            return s;
        test_output_read(s.log_fd, log, sizeof(log));
        close(s.log_fd);
        if (strstr(log, "in use") == NULL) {
            fprintf(stderr, "moss exited before serving:\n%s\n", log);
            TEST_ASSERT(!"server failed to start");
        }
    }
    TEST_ASSERT(!"no free port in 5 attempts");
    return s;
}

/* SIGTERM, then a clean exit (status 0) within STOP_WAIT_MS; else SIGKILL
 * and the case fails. */
static void server_stop(struct server *s)
{
    static char log[LOG_CAP];
    int status = 0;

    TEST_ASSERT(kill(s->pid, SIGTERM) == 0);
    if (test_wait_exit(s->pid, STOP_WAIT_MS * SLOW, &status) == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        fprintf(stderr, "moss still running %d ms after SIGTERM\n", STOP_WAIT_MS);
        TEST_ASSERT(!"server did not stop");
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "moss ended with status %#x:\n%s\n", status,
                test_output_read(s->log_fd, log, sizeof(log)));
    close(s->log_fd);
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void plugin_path(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("TEST_PLUGIN_DIR");

    TEST_ASSERT(dir != NULL);
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* ---- HTTP responses -------------------------------------------------------------- */

struct reply {
    int status;
    char head[8192];           /* status line and headers, NUL-ended */
    size_t head_len;
    int head_request;          /* the reply to a HEAD: no body */
    const char *body;
    size_t body_len;
    size_t cap;                /* of raw, a NUL included */
    char raw[];
};

static struct reply *reply_new(size_t cap)
{
    struct reply *r = malloc(sizeof(*r) + cap);

    TEST_ASSERT(r != NULL);
    r->cap = cap;
    r->head_request = 0;
    return r;
}

/* The value of header name in r's head (case-insensitive), or NULL. */
static const char *reply_header(const struct reply *r, const char *name, char *buf,
                                size_t cap)
{
    size_t len = strlen(name);

    for (const char *p = strstr(r->head, "\r\n"); p != NULL && p < r->head + r->head_len;
         p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, len) == 0 && p[2 + len] == ':') {
            const char *v = p + 3 + len, *end = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(buf, cap, "%.*s", (int)(end - v), v);
            return buf;
        }
    }
    return NULL;
}

/* 1 once r->raw[0, len) holds a whole response (head, then a body of
 * Content-Length bytes, or none), filling r; 0 while more is needed. */
static int reply_parse(struct reply *r, size_t len)
{
    const char *end = memmem(r->raw, len, "\r\n\r\n", 4);
    char value[32];
    size_t want = 0;

    if (end == NULL)
        return 0;
    r->head_len = (size_t)(end + 2 - r->raw);
    TEST_ASSERT(r->head_len < sizeof(r->head));
    memcpy(r->head, r->raw, r->head_len);
    r->head[r->head_len] = '\0';
    TEST_ASSERT(sscanf(r->head, "HTTP/1.%*d %d", &r->status) == 1);
    if (!r->head_request && reply_header(r, "Content-Length", value, sizeof(value)) != NULL)
        want = strtoul(value, NULL, 10);
    r->body = end + 4;
    r->body_len = len - (size_t)(r->body - r->raw);
    if (r->body_len < want)
        return 0;
    TEST_ASSERT(r->body_len == want); /* one request at a time: nothing after it */
    return 1;
}

/* ---- blocking clients (nothing else runs in the test process meanwhile) ------------ */

/* Sends request (len bytes) on fd and reads one whole response into r. */
static void exchange(int fd, const void *request, size_t len, struct reply *r)
{
    size_t got = 0;

    r->head_request = strncmp(request, "HEAD ", 5) == 0;
    send_all(fd, request, len);
    do {
        ssize_t n = recv(fd, r->raw + got, r->cap - 1 - got, 0);

        if (n <= 0)
            fprintf(stderr, "recv: %s after %zu bytes\n", n == 0 ? "closed" : strerror(errno),
                    got);
        TEST_ASSERT(n > 0);
        got += (size_t)n;
    } while (!reply_parse(r, got));
}

/* One request on a new connection; the reply is valid until the next. */
static struct reply *request(unsigned port, const char *text)
{
    static struct reply *r;
    int fd = test_client_connect(port);

    if (r == NULL)
        r = reply_new(REPLY_CAP);
    exchange(fd, text, strlen(text), r);
    close(fd);
    return r;
}

static int body_is(const struct reply *r, const char *want)
{
    return r->body_len == strlen(want) && memcmp(r->body, want, r->body_len) == 0;
}

/* ---- the demo app ------------------------------------------------------------------ */

static const char *const small_limits[] = {SMALL_LIMITS, NULL};

static void case_curl_hello(void)
{
    struct server s = server_start(small_limits);
    static char out[4096];
    char url[64];
    char *argv[] = {"curl", "-sS", "--max-time", "5", url, NULL};

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    if (run(argv, out, sizeof(out)) != 0)
        fprintf(stderr, "curl: %s\n", out);
    TEST_ASSERT(strcmp(out, "Hello, World!") == 0);
    server_stop(&s);
}

/* A chunked request body (curl streams stdin so), echoed back chunked. */
static void case_curl_echo_chunked(void)
{
    struct server s = server_start(small_limits);
    static char out[4096];
    char url[64];
    char *argv[] = {"curl", "-sS", "--max-time", "5", "-H", "Transfer-Encoding: chunked",
                    "--data-binary", "hello, chunked world", url, NULL};

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/echo", s.port);
    if (run(argv, out, sizeof(out)) != 0)
        fprintf(stderr, "curl: %s\n", out);
    TEST_ASSERT(strcmp(out, "hello, chunked world") == 0);
    server_stop(&s);
}

/* Two -b flags: the second adds to the first, and both serve. */
static void case_two_binds(void)
{
    char second[64];
    const char *extra[] = {"-b", second, SMALL_LIMITS, NULL};
    unsigned port2 = test_free_port();
    struct server s;
    struct reply *r;

    snprintf(second, sizeof(second), "127.0.0.1:%u", port2);
    s = server_start(extra);
    r = request(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 200 && body_is(r, "Hello, World!"));
    r = request(port2, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 200 && body_is(r, "Hello, World!"));
    server_stop(&s);
}

static void case_keepalive(void)
{
    static const char get[] = "GET / HTTP/1.1\r\nHost: test\r\n\r\n";
    struct server s = server_start(small_limits);
    struct reply *r = reply_new(65536);
    int fd = test_client_connect(s.port);
    char value[64];

    for (int i = 0; i < 2; i++) { /* the same socket: the first reply kept it open */
        exchange(fd, get, sizeof(get) - 1, r);
        TEST_ASSERT(r->status == 200 && body_is(r, "Hello, World!"));
        TEST_ASSERT(reply_header(r, "Connection", value, sizeof(value)) == NULL ||
                    strcasecmp(value, "close") != 0);
    }
    close(fd);
    free(r);
    server_stop(&s);
}

/* POST /echo of 200 KiB, many times the demo's chunk, under the 256k limit:
 * the same bytes come back, with the request's Content-Type. */
static void echo_big(unsigned port)
{
    static char body[200 * 1024], req[sizeof(body) + 256];
    struct reply *r = reply_new(REPLY_CAP);
    int len, fd = test_client_connect(port);
    char type[64];

    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('a' + i % 26);
    len = snprintf(req, sizeof(req), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/x-test"
                   "\r\nContent-Length: %zu\r\n\r\n", sizeof(body));
    memcpy(req + len, body, sizeof(body));
    exchange(fd, req, (size_t)len + sizeof(body), r);
    TEST_ASSERT(r->status == 200 && r->body_len == sizeof(body));
    TEST_ASSERT(memcmp(r->body, body, sizeof(body)) == 0);
    TEST_ASSERT(reply_header(r, "Content-Type", type, sizeof(type)) != NULL);
    TEST_ASSERT(strcmp(type, "text/x-test") == 0);
    close(fd);
    free(r);
}

static void case_echo(void)
{
    struct server s = server_start(small_limits);
    struct reply *r;

    echo_big(s.port);
    r = request(s.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    TEST_ASSERT(r->status == 200 && body_is(r, "hello"));
    /* beyond max_body_size (256k): refused before the body is sent */
    r = request(s.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 300000\r\n\r\n");
    TEST_ASSERT(r->status == 413);
    server_stop(&s);
}

static void case_not_found_and_method(void)
{
    struct server s = server_start(small_limits);
    struct reply *r;
    char allow[64];

    r = request(s.port, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 404);
    r = request(s.port, "GET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 405);
    TEST_ASSERT(reply_header(r, "Allow", allow, sizeof(allow)) && strcmp(allow, "POST") == 0);
    r = request(s.port, "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    TEST_ASSERT(r->status == 405);
    r = request(s.port, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 200 && r->body_len == 0);
    server_stop(&s);
}

static void case_sleep(void)
{
    struct server s = server_start(small_limits);
    int64_t start = test_clock_ms();
    struct reply *r = request(s.port, "GET /sleep?ms=200 HTTP/1.1\r\nHost: t\r\n\r\n");

    TEST_ASSERT(r->status == 200 && body_is(r, "slept 200 ms\n"));
    TEST_ASSERT(test_clock_ms() - start >= 200);
    r = request(s.port, "GET /sleep?ms=abc HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    r = request(s.port, "GET /sleep?ms=600001 HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    r = request(s.port, "GET /sleep HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    server_stop(&s);
}

/* /fetch: the worker fetching from itself works (it waits cooperatively);
 * only loopback hosts are allowed; a dead backend is 502. */
static void case_fetch(void)
{
    struct server s = server_start(small_limits);
    unsigned dead = test_free_port();
    char req[256];
    struct reply *r;

    snprintf(req, sizeof(req), "GET /fetch?url=http://127.0.0.1:%u/ HTTP/1.1\r\nHost: t\r\n\r\n",
             s.port);
    r = request(s.port, req);
    TEST_ASSERT(r->status == 200 && body_is(r, "Hello, World!"));
    snprintf(req, sizeof(req), "GET /fetch?url=http%%3A%%2F%%2Flocalhost%%3A%u%%2Fnope HTTP/1.1"
             "\r\nHost: t\r\n\r\n", s.port);
    r = request(s.port, req);
    TEST_ASSERT(r->status == 200 && body_is(r, "not found\n"));
    r = request(s.port, "GET /fetch?url=http://example.com/ HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    r = request(s.port, "GET /fetch?url=http://127.0.0.1.example.com/ HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    snprintf(req, sizeof(req), "GET /fetch?url=http://127.0.0.1:%u/ HTTP/1.1\r\nHost: t\r\n\r\n",
             dead);
    r = request(s.port, req);
    TEST_ASSERT(r->status == 502);
    server_stop(&s);
}

/* ---- many clients at once: greenlets in the test process --------------------------- */

struct client {
    unsigned port;
    const char *request;
    int status;                /* 0 until a whole response came */
    int64_t elapsed_ms;
    int connected;
    int stop;                  /* tricklers: set to end */
};

/* One request on a new connection, cooperatively; fills c->status. */
static void *client_run(void *arg)
{
    struct client *c = arg;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    int64_t start = test_clock_ms(), deadline = moss_now() + 2 * IO_WAIT_MS;
    struct reply *r = malloc(sizeof(*r) + 65536);
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);
    size_t got = 0;
    ptrdiff_t n = 0;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (r != NULL) {
        r->cap = 65536;
        r->head_request = 0;
    }
    if (r == NULL || fd == -1 ||
        moss_connect(fd, (struct sockaddr *)&addr, sizeof(addr), deadline) == -1 ||
        moss_write(fd, c->request, strlen(c->request), deadline) == -1)
        goto out;
    c->connected = 1;
    do {
        n = moss_read(fd, r->raw + got, r->cap - 1 - got, deadline);
        got += n > 0 ? (size_t)n : 0;
    } while (n > 0 && !reply_parse(r, got));
    if (n > 0)
        c->status = r->status;
out:
    c->elapsed_ms = test_clock_ms() - start;
    if (fd != -1)
        moss_close(fd);
    free(r);
    return NULL;
}

/* 200 clients, each on its own connection, all asking for a 500 ms sleep at
 * once: all answered in about 500 ms, not 200 x 500 ms. */
#define SLEEPERS 200

static void case_concurrent_sleep(void)
{
    static struct client clients[SLEEPERS];
    static moss_greenlet_t *g[SLEEPERS];
    struct server s = server_start(small_limits);
    int64_t start = test_clock_ms(), elapsed;

    for (int i = 0; i < SLEEPERS; i++) {
        clients[i] = (struct client){.port = s.port,
                                     .request = "GET /sleep?ms=500 HTTP/1.1\r\nHost: t\r\n\r\n"};
        g[i] = moss_spawn(client_run, &clients[i]);
        TEST_ASSERT(g[i] != NULL);
    }
    for (int i = 0; i < SLEEPERS; i++)
        TEST_ASSERT(moss_join(g[i], moss_now() + 4 * IO_WAIT_MS, NULL) == 0);
    elapsed = test_clock_ms() - start;
    for (int i = 0; i < SLEEPERS; i++)
        TEST_ASSERT(clients[i].status == 200);
    fprintf(stderr, "concurrent_sleep: %d x /sleep?ms=500 in %lld ms\n", SLEEPERS,
            (long long)elapsed);
    TEST_ASSERT(elapsed >= 500);
    TEST_ASSERT(elapsed < 5000 * SLOW);
    server_stop(&s);
}

/* /block busy-waits on the worker's only thread: a request that arrives
 * meanwhile waits for it, as it would behind any code that blocks. */
static void case_block(void)
{
    struct server s = server_start(small_limits);
    struct client blocker = {.port = s.port,
                             .request = "GET /block?ms=400 HTTP/1.1\r\nHost: t\r\n\r\n"};
    struct client other = {.port = s.port, .request = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"};
    moss_greenlet_t *g = moss_spawn(client_run, &blocker);
    struct reply *r;

    TEST_ASSERT(g != NULL);
    moss_sleep(100); /* the worker is in moss__demo_block by now */
    client_run(&other);
    TEST_ASSERT(moss_join(g, moss_now() + 2 * IO_WAIT_MS, NULL) == 0);
    TEST_ASSERT(blocker.status == 200 && other.status == 200);
    fprintf(stderr, "block: GET / took %lld ms behind /block?ms=400\n",
            (long long)other.elapsed_ms);
    TEST_ASSERT(other.elapsed_ms >= 200);
    r = request(s.port, "GET /block?ms=60001 HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 400);
    server_stop(&s);
}

/* A slowloris client: sends a request head one byte every 100 ms, never
 * finishing it, until told to stop or the server closes the connection. */
static void *trickle_run(void *arg)
{
    static const char head[] = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    struct client *c = arg;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    int fd = moss_socket(AF_INET, SOCK_STREAM, 0);
    size_t sent = 0;

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 ||
        moss_connect(fd, (struct sockaddr *)&addr, sizeof(addr), moss_now() + IO_WAIT_MS) == -1)
        goto out;
    c->connected = 1;
    while (!c->stop) {
        const char *byte = sent < sizeof(head) - 1 ? &head[sent] : "a";

        if (moss_write(fd, byte, 1, moss_now() + IO_WAIT_MS) == -1) {
            c->status = -1; /* the server closed it */
            break;
        }
        sent++;
        moss_sleep(100);
    }
out:
    if (fd != -1)
        moss_close(fd);
    return NULL;
}

#define TRICKLERS 500
#define NORMAL_REQUESTS 20

/* One normal request after another while the tricklers hold their
 * connections: each is answered within a second. */
static void slowloris_normal_requests(unsigned port)
{
    struct client c = {.port = port, .request = "GET / HTTP/1.1\r\nHost: t\r\n\r\n"};
    int64_t worst = 0;

    for (int i = 0; i < NORMAL_REQUESTS; i++) {
        c.status = 0;
        client_run(&c);
        TEST_ASSERT(c.status == 200);
        if (c.elapsed_ms > worst)
            worst = c.elapsed_ms;
        TEST_ASSERT(c.elapsed_ms < 1000 * SLOW);
        moss_sleep(50);
    }
    fprintf(stderr, "slowloris: %d normal requests beside %d slow ones, slowest %lld ms\n",
            NORMAL_REQUESTS, TRICKLERS, (long long)worst);
}

static void case_slowloris(void)
{
    static struct client slow[TRICKLERS];
    static moss_greenlet_t *g[TRICKLERS];
    struct server s = server_start(small_limits);
    int connected = 0, closed = 0;

    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < TRICKLERS; i++) {
        slow[i] = (struct client){.port = s.port};
        g[i] = moss_spawn(trickle_run, &slow[i]);
        TEST_ASSERT(g[i] != NULL);
    }
    moss_sleep(500); /* all connected and trickling */
    slowloris_normal_requests(s.port);
    for (int i = 0; i < TRICKLERS; i++) {
        connected += slow[i].connected;
        closed += slow[i].status == -1;
        slow[i].stop = 1;
    }
    for (int i = 0; i < TRICKLERS; i++)
        TEST_ASSERT(moss_join(g[i], moss_now() + IO_WAIT_MS, NULL) == 0);
    TEST_ASSERT(connected == TRICKLERS);
    TEST_ASSERT(closed == 0); /* header_timeout (10 s) has not run out on them */
    server_stop(&s);
}

/* wrk for 2 s on 10 connections: requests, and no errors. No timing. */
static void case_wrk(void)
{
    static char out[8192];
    char url[64], *rate, *line;
    char *argv[] = {"wrk", "-t1", "-c10", "-d2s", url, NULL};
    long requests = 0;
    struct server s = server_start(small_limits);

    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
    if (run(argv, out, sizeof(out)) != 0 || strstr(out, "requests in") == NULL)
        fprintf(stderr, "wrk (installed? apt-get install wrk):\n%s\n", out);
    TEST_ASSERT(strstr(out, " requests in ") != NULL);
    line = strstr(out, " requests in ");
    while (line > out && line[-1] != '\n')
        line--;
    TEST_ASSERT(sscanf(line, "%ld requests in", &requests) == 1 && requests > 0);
    rate = strstr(out, "Requests/sec:");
    TEST_ASSERT(rate != NULL && strtod(rate + 13, NULL) > 0);
    fprintf(stderr, "wrk: %ld requests, %.0f requests/s (not asserted)\n", requests,
            strtod(rate + 13, NULL));
    TEST_ASSERT(strstr(out, "Non-2xx") == NULL);
    TEST_ASSERT(strstr(out, "Socket errors") == NULL);
    server_stop(&s);
}

/* ---- plugins ----------------------------------------------------------------------- */

static void case_plugin_good(void)
{
    char path[512];
    const char *extra[] = {"--app", path, NULL};
    struct server s;
    struct reply *r;

    plugin_path(path, sizeof(path), "good.so");
    s = server_start(extra);
    r = request(s.port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    TEST_ASSERT(r->status == 200 && body_is(r, "plugin ok"));
    server_stop(&s);
}

/* moss --app NAME exits non-zero at once, with a message naming the file
 * and, where given, the reason. */
static void expect_plugin_refused(const char *name, const char *reason)
{
    static char out[LOG_CAP];
    char path[512], bind[64];
    const char *extra[] = {"--app", path, NULL};
    char *argv[32];
    int status;

    plugin_path(path, sizeof(path), name);
    server_argv(argv, bind, sizeof(bind), test_free_port(), extra);
    status = run(argv, out, sizeof(out));
    if (status == 0 || strstr(out, path) == NULL || strstr(out, reason) == NULL)
        fprintf(stderr, "--app %s: exit %d, output:\n%s\n", name, status, out);
    TEST_ASSERT(status != 0 && status < 128);
    TEST_ASSERT(strstr(out, path) != NULL && strstr(out, reason) != NULL);
}

static void case_plugin_refused(void)
{
    expect_plugin_refused("missing.so", "No such file");
    expect_plugin_refused("noinit.so", "no moss_app_init symbol");
    expect_plugin_refused("initfail.so", "moss_app_init failed");
    expect_plugin_refused("nohandler.so", "set no handler");
}

/* ---- the command line -------------------------------------------------------------- */

/* MOSS_BIN args... exits with code and says want. */
static void expect_cli(int code, const char *want, char *const *args)
{
    static char out[LOG_CAP];
    char *argv[16];
    int n = 0, status;

    argv[n++] = getenv("MOSS_BIN");
    TEST_ASSERT(argv[0] != NULL);
    while (*args != NULL && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    status = run(argv, out, sizeof(out));
    if (status != code || strstr(out, want) == NULL)
        fprintf(stderr, "%s ...: exit %d (want %d), output:\n%s\n(want '%s')\n", argv[1],
                status, code, out, want);
    TEST_ASSERT(status == code && strstr(out, want) != NULL);
}

#define CLI(code, want, ...) expect_cli(code, want, (char *[]){__VA_ARGS__, NULL})

static void case_cli_bad_flags(void)
{
    CLI(2, "moss: --max_body_size: '12x': not a size", "--max_body_size", "12x");
    CLI(2, "moss: --max_body_size: '12x': not a size", "--max_body_size=12x");
    CLI(2, "moss: --backlog: '0': out of range [1, 65535]", "--backlog", "0");
    CLI(2, "moss: --header_timeout: '1': out of range [10ms, 10m]", "--header_timeout=1");
    CLI(2, "moss: -b: 'localhost:80': bad address", "-b", "localhost:80");
    CLI(2, "moss: --bind: '1.2.3.4': bad address", "--bind", "1.2.3.4");
    CLI(2, "moss: --proxy_trusted: '10.0.0.0/40': bad CIDR", "--proxy_trusted", "10.0.0.0/40");
    CLI(2, "moss: --access_log_format: 'xml': not one of text, json", "--access_log_format",
        "xml");
    CLI(2, "moss: --backlog: needs a value", "--backlog");
    CLI(2, "unknown argument '--bogus'", "--bogus", "1");
    CLI(2, "unknown argument 'serve'", "serve");
    CLI(2, "moss: -c: needs a file", "-c");
    CLI(2, "moss: -c: given more than once", "-c", "a.ini", "--config=b.ini");
    CLI(2, "unknown argument '--test=1'", "--test=1");
    CLI(2, "moss: -w: '0': out of range [1, 64]", "-w", "0");
    CLI(2, "moss: -w: 'many': not auto or an integer", "-wmany");
    CLI(2, "moss: --workers: '65': out of range [1, 64]", "--workers=65");
    CLI(2, "moss: --admin: 'localhost:9000': bad address", "--admin=localhost:9000");
    CLI(2, "moss: --pid: needs a value", "--pid");
    CLI(2, "moss: --unix_mode: '0999': not an octal file mode", "--unix_mode", "0999");
}

static void case_cli_version_help(void)
{
    CLI(0, "moss " MOSS_VERSION "\n", "-v");
    CLI(0, "moss " MOSS_VERSION "\n", "--version");
    CLI(0, "usage: moss [-c FILE] [-t] [-b ADDR]... [-w N] [--admin ADDR|off]", "-h");
    CLI(0, "--keepalive_timeout TIME", "--help");
}

/* docs/settings.md is what the binary prints (the tests run from the top of
 * the tree). */
static void case_cli_settings_markdown(void)
{
    static char out[LOG_CAP], file[LOG_CAP];
    char *argv[] = {getenv("MOSS_BIN"), "--settings-markdown", NULL};
    int fd = open("docs/settings.md", O_RDONLY);

    TEST_ASSERT(argv[0] != NULL);
    TEST_ASSERT(fd != -1);
    test_output_read(fd, file, sizeof(file));
    close(fd);
    TEST_ASSERT(run(argv, out, sizeof(out)) == 0);
    if (strcmp(out, file) != 0)
        fprintf(stderr, "docs/settings.md is stale: moss --settings-markdown > docs/settings.md\n");
    TEST_ASSERT(strcmp(out, file) == 0);
}

const struct moss_test_case moss_test_server_cases[] = {
    {"cli_bad_flags", case_cli_bad_flags},
    {"cli_version_help", case_cli_version_help},
    {"cli_settings_markdown", case_cli_settings_markdown},
    {"curl_hello", case_curl_hello},
    {"curl_echo_chunked", case_curl_echo_chunked},
    {"two_binds", case_two_binds},
    {"keepalive", case_keepalive},
    {"echo", case_echo},
    {"not_found_and_method", case_not_found_and_method},
    {"sleep", case_sleep},
    {"fetch", case_fetch},
    {"block", case_block},
    {"concurrent_sleep", case_concurrent_sleep},
    {"slowloris", case_slowloris},
    {"wrk", case_wrk},
    {"plugin_good", case_plugin_good},
    {"plugin_refused", case_plugin_refused},
    {NULL, NULL},
};
