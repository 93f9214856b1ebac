/* The worker skeleton without HTTP: listeners, the stream server (echo,
 * the connection limit, EMFILE backoff), the PROXY protocol, and the run
 * loop's signals and drain.
 *
 * Each server runs moss__worker_run in a forked child with a raw handler
 * (test_serve below) in place of HTTP. The case drives it with plain
 * blocking clients over loopback or unix sockets (in a mkdtemp folder),
 * reads its error log through a pipe, and reads its counters through a
 * shared mapping. Every wait is bounded; every child is ended by pid. */
#include "stream_cases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- time ------------------------------------------------------------------- */

int64_t stream_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void stream_sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- the server's side: a raw handler ----------------------------------------- */

/* Answers one chunk: "slow N" sleeps N ms and answers "done\n"; anything
 * else is echoed. 0, or -1 to end the connection. */
static int serve_chunk(struct moss__conn *conn, const char *buf, size_t len)
{
    int64_t deadline = moss_now() + WAIT_MS;
    char number[16] = "";
    long ms;

    if (len > 5 && memcmp(buf, "slow ", 5) == 0) {
        memcpy(number, buf + 5, len - 5 < sizeof(number) - 1 ? len - 5 : sizeof(number) - 1);
        ms = strtol(number, NULL, 10);
        if (moss_sleep(ms) == -1)
            return -1;
        return moss_write(conn->fd, "done\n", 5, moss_now() + WAIT_MS) == -1 ? -1 : 0;
    }
    return moss_write(conn->fd, buf, len, deadline) == -1 ? -1 : 0;
}

/* Greets with "client=ADDRESS\n", answers what the PROXY reader left in the
 * buffer, then every chunk read, idle (for the drain) while it waits; ends
 * once the worker drains. */
static enum moss__serve_result test_serve(struct moss__worker *w, struct moss__conn_entry *entry)
{
    struct moss__conn *conn = &entry->conn;
    char buf[4096];
    int len = snprintf(buf, sizeof(buf), "client=%s\n", conn->client);
    ptrdiff_t n;

    if (moss_write(conn->fd, buf, (size_t)len, moss_now() + WAIT_MS) == -1)
        return MOSS__SERVE_CLOSE;
    if (conn->end > conn->start &&
        serve_chunk(conn, conn->buf + conn->start, conn->end - conn->start) == -1)
        return MOSS__SERVE_CLOSE;
    conn->start = conn->end = 0;
    while (!w->draining) {
        entry->idle = 1;
        n = moss_read(conn->fd, buf, sizeof(buf), moss_now() + 12 * WAIT_MS);
        entry->idle = 0;
        if (n <= 0 || serve_chunk(conn, buf, (size_t)n) == -1)
            return MOSS__SERVE_CLOSE;
    }
    return MOSS__SERVE_CLOSE;
}

/* ---- the server process ----------------------------------------------------------- */

struct moss_config stream_config;    /* set by the case before stream_server_start */
int stream_nofile_free = -1;         /* EMFILE case: fds left to the server */

/* Lowers RLIMIT_NOFILE so that exactly stream_nofile_free more fds can be opened.
 * Runs as the child's first greenlet, after the run loop has set up all it
 * needs (the loop's fds, the signal pipe). */
static void *limit_fds_run(void *arg)
{
    struct moss__worker *w = arg;
    struct rlimit rl;
    int fd = 0, free_seen = 0;

    for (; free_seen < stream_nofile_free && fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
            free_seen++;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (rlim_t)fd;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        _exit(5);
    moss__worker_log(w, "test: fd limit %d", fd);
    return NULL;
}

static void server_child(const char *address, int proxy, int log_fd,
                         struct moss__worker_counters *counters)
{
    static struct moss__worker w;
    char error[512];
    int rc;

    w = (struct moss__worker){.config = &stream_config, .serve = test_serve, .counters = counters};
    w.error_log = fdopen(log_fd, "w");
    if (w.error_log == NULL)
        _exit(3);
    if (moss__listener_bind(address, 64, &w.listeners[0], error, sizeof(error)) == -1) {
        fprintf(w.error_log, "test: %s\n", error);
        _exit(2);
    }
    w.listeners[0].proxy_protocol = proxy;
    w.listener_count = 1;
    if (stream_nofile_free >= 0)
        moss_detach(moss_spawn(limit_fds_run, &w));
    rc = moss__worker_run(&w);
    moss__listener_close(&w.listeners[0]);
    if (strncmp(address, "unix:", 5) == 0)
        unlink(address + 5);
    fclose(w.error_log);
    _exit(rc == 0 ? 0 : 1);
}

/* Reads whatever the log has within ms; 0 if nothing came. */
int stream_server_log_read(struct server *s, int64_t ms)
{
    struct pollfd p = {.fd = s->log_fd, .events = POLLIN};
    ssize_t n;

    if (poll(&p, 1, (int)ms) != 1)
        return 0;
    n = read(s->log_fd, s->log + s->log_len, sizeof(s->log) - 1 - s->log_len);
    if (n <= 0)
        return 0;
    s->log_len += (size_t)n;
    s->log[s->log_len] = '\0';
    return 1;
}

/* Reads the log until it holds `text` (within WAIT_MS); the text's position. */
const char *stream_server_log_wait(struct server *s, const char *text)
{
    int64_t end = stream_now_ms() + WAIT_MS;
    const char *at;

    while ((at = strstr(s->log, text)) == NULL && stream_now_ms() < end)
        stream_server_log_read(s, end - stream_now_ms());
    if (at == NULL)
        fprintf(stderr, "log so far:\n%s\n(no '%s')\n", s->log, text);
    TEST_ASSERT(at != NULL);
    return at;
}

int stream_server_log_count(const struct server *s, const char *text)
{
    int n = 0;

    for (const char *p = strstr(s->log, text); p != NULL; p = strstr(p + 1, text))
        n++;
    return n;
}

void stream_server_start(struct server *s, const char *address, int proxy)
{
    int log_pipe[2];
    const char *line;

    memset(s, 0, sizeof(*s));
    s->counters = mmap(NULL, sizeof(*s->counters), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    TEST_ASSERT(s->counters != MAP_FAILED);
    TEST_ASSERT(pipe2(log_pipe, O_CLOEXEC) == 0);
    s->pid = fork();
    TEST_ASSERT(s->pid != -1);
    if (s->pid == 0) {
        close(log_pipe[0]);
        server_child(address, proxy, log_pipe[1], s->counters);
    }
    close(log_pipe[1]);
    s->log_fd = log_pipe[0];
    line = stream_server_log_wait(s, "moss: serving on ");
    TEST_ASSERT(sscanf(line, "moss: serving on %127s", s->address) == 1);
}

/* Waits for the child to exit (within ms); its status, or -1 if it did not. */
int stream_server_wait_exit(struct server *s, int64_t ms)
{
    int64_t end = stream_now_ms() + ms;
    int status;

    do {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return status;
        stream_sleep_ms(5);
    } while (stream_now_ms() < end);
    return -1;
}

/* Sends sig, waits for a clean exit (0) within ms, reads the rest of the log;
 * the time it took. */
int64_t stream_server_stop(struct server *s, int sig, int64_t ms)
{
    int64_t start = stream_now_ms();
    int status;

    TEST_ASSERT(kill(s->pid, sig) == 0);
    status = stream_server_wait_exit(s, ms);
    if (status == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        status = -1;
    }
    while (stream_server_log_read(s, 100))
        ;
    if (status != 0)
        fprintf(stderr, "server status %d, log:\n%s\n", status, s->log);
    TEST_ASSERT(status == 0);
    close(s->log_fd);
    munmap(s->counters, sizeof(*s->counters));
    return stream_now_ms() - start;
}

uint64_t stream_counter(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Waits (within WAIT_MS) for a counter to reach want. */
void stream_counter_wait(_Atomic uint64_t *c, uint64_t want)
{
    int64_t end = stream_now_ms() + WAIT_MS;

    while (stream_counter(c) != want && stream_now_ms() < end)
        stream_sleep_ms(2);
    TEST_ASSERT(stream_counter(c) == want);
}

/* The loop iterations the server makes while idle for QUIET_MS (its
 * counters are refreshed every 100 ms, so wait a refresh past it). */
uint64_t stream_server_idle_iterations(struct server *s)
{
    uint64_t before;

    stream_sleep_ms(120);
    before = stream_counter(&s->counters->loop_iterations);
    stream_sleep_ms(QUIET_MS + 120);
    return stream_counter(&s->counters->loop_iterations) - before;
}

/* ---- clients -------------------------------------------------------------------- */

/* A blocking connection to "ip:port", "[ip6]:port" or "unix:/path". */
int stream_client_connect(const char *address)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_un *un = (struct sockaddr_un *)&ss;
    socklen_t len = sizeof(*in);
    char host[64];
    unsigned port = 0;
    int fd;

    if (strncmp(address, "unix:", 5) == 0) {
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof(un->sun_path), "%s", address + 5);
        len = sizeof(*un);
    } else if (sscanf(address, "[%63[^]]]:%u", host, &port) == 2) {
        len = sizeof(*in6);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        TEST_ASSERT(inet_pton(AF_INET6, host, &in6->sin6_addr) == 1);
    } else {
        TEST_ASSERT(sscanf(address, "%63[^:]:%u", host, &port) == 2);
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        TEST_ASSERT(inet_pton(AF_INET, host, &in->sin_addr) == 1);
    }
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    TEST_ASSERT(fd != -1);
    test_client_timeouts(fd);
    TEST_ASSERT(connect(fd, (struct sockaddr *)&ss, len) == 0);
    return fd;
}

/* One line, '\n' included, NUL-terminated. */
static void recv_line(int fd, char *line, size_t cap)
{
    size_t len = 0;

    while (len < cap - 1) {
        ssize_t n = recv(fd, line + len, 1, 0);

        if (n != 1)
            fprintf(stderr, "recv_line: %zd (%s) after '%.*s'\n", n, strerror(errno), (int)len, line);
        TEST_ASSERT(n == 1);
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
}

void stream_expect_line(int fd, const char *want)
{
    char line[256];

    recv_line(fd, line, sizeof(line));
    if (strcmp(line, want) != 0)
        fprintf(stderr, "got '%s', want '%s'\n", line, want);
    TEST_ASSERT(strcmp(line, want) == 0);
}

/* Whether fd has something to read (data or an end) within ms. */
int stream_readable_within(int fd, int64_t ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, (int)ms) == 1;
}

/* The server closed fd without sending anything (more). */
void stream_expect_closed(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, 0);

    TEST_ASSERT(n == 0 || (n == -1 && errno == ECONNRESET));
}

/* "127.0.0.1:PORT" of fd's own end, as the server sees the peer. */
static void local_address(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&ss, &len) == 0);
    moss__address_format((struct sockaddr *)&ss, len, out, cap);
}

void stream_expect_greeting_self(int fd)
{
    char self[MOSS__ADDRESS_MAX], want[MOSS__ADDRESS_MAX + 16];

    local_address(fd, self, sizeof(self));
    snprintf(want, sizeof(want), "client=%s\n", self);
    stream_expect_line(fd, want);
}

void stream_echo_check(int fd, const char *msg)
{
    char reply[256];
    size_t len = strlen(msg);

    send_all(fd, msg, len);
    recv_exactly(fd, reply, len);
    TEST_ASSERT(memcmp(reply, msg, len) == 0);
}

/* A config with what the cases rely on; each case changes what it tests. */
void stream_config_defaults(void)
{
    memset(&stream_config, 0, sizeof(stream_config));
    stream_config.max_connections = 1000;
    stream_config.max_header_size = 8192;
    stream_config.header_timeout_ms = WAIT_MS;
    stream_config.graceful_timeout_ms = 10000;
}

void stream_temp_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/moss-stream-XXXXXX");
    TEST_ASSERT(mkdtemp(dir) != NULL);
}
