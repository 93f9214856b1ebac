/* The worker skeleton without HTTP: listeners, the stream server (echo,
 * the connection limit, EMFILE backoff), the PROXY protocol, and the run
 * loop's signals and drain.
 *
 * Each server runs moss__worker_run in a forked child with a raw handler
 * (test_serve below) in place of HTTP. The case drives it with plain
 * blocking clients over loopback or unix sockets (in a mkdtemp folder),
 * reads its error log through a pipe, and reads its counters through a
 * shared mapping. Every wait is bounded; every child is ended by pid. */
#include "harness.h"
#include "moss.h"

#include "../../worker/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAIT_MS 5000          /* a generous bound for what should be quick */
#define QUIET_MS 200          /* how long "not served" is watched */
#define SPIN_BOUND 1000       /* loop iterations in QUIET_MS + refreshes: far above idle */

/* ---- time ------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
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
static void test_serve(struct moss__worker *w, struct moss__conn_entry *entry)
{
    struct moss__conn *conn = &entry->conn;
    char buf[4096];
    int len = snprintf(buf, sizeof(buf), "client=%s\n", conn->client);
    ptrdiff_t n;

    if (moss_write(conn->fd, buf, (size_t)len, moss_now() + WAIT_MS) == -1)
        return;
    if (conn->end > conn->start &&
        serve_chunk(conn, conn->buf + conn->start, conn->end - conn->start) == -1)
        return;
    conn->start = conn->end = 0;
    while (!w->draining) {
        entry->idle = 1;
        n = moss_read(conn->fd, buf, sizeof(buf), moss_now() + 12 * WAIT_MS);
        entry->idle = 0;
        if (n <= 0 || serve_chunk(conn, buf, (size_t)n) == -1)
            return;
    }
}

/* ---- the server process ----------------------------------------------------------- */

static struct moss_config config;    /* set by the case before server_start */
static int nofile_free = -1;         /* EMFILE case: fds left to the server */

struct server {
    pid_t pid;
    int log_fd;                      /* the error log's read end */
    struct moss__worker_counters *counters; /* shared with the child */
    char address[MOSS__ADDRESS_MAX];
    char log[32768];                 /* what the log said so far */
    size_t log_len;
};

/* Lowers RLIMIT_NOFILE so that exactly nofile_free more fds can be opened.
 * Runs as the child's first greenlet, after the run loop has set up all it
 * needs (the loop's fds, the signal pipe). */
static void *limit_fds_run(void *arg)
{
    struct moss__worker *w = arg;
    struct rlimit rl;
    int fd = 0, free_seen = 0;

    for (; free_seen < nofile_free && fd < 4096; fd++)
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

    w = (struct moss__worker){.config = &config, .serve = test_serve, .counters = counters};
    w.error_log = fdopen(log_fd, "w");
    if (w.error_log == NULL)
        _exit(3);
    if (moss__listener_bind(address, 64, &w.listeners[0], error, sizeof(error)) == -1) {
        fprintf(w.error_log, "test: %s\n", error);
        _exit(2);
    }
    w.listeners[0].proxy_protocol = proxy;
    w.listener_count = 1;
    if (nofile_free >= 0)
        moss_detach(moss_spawn(limit_fds_run, &w));
    rc = moss__worker_run(&w);
    moss__listener_close(&w.listeners[0]);
    if (strncmp(address, "unix:", 5) == 0)
        unlink(address + 5);
    fclose(w.error_log);
    _exit(rc == 0 ? 0 : 1);
}

/* Reads whatever the log has within ms; 0 if nothing came. */
static int server_log_read(struct server *s, int64_t ms)
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
static const char *server_log_wait(struct server *s, const char *text)
{
    int64_t end = now_ms() + WAIT_MS;
    const char *at;

    while ((at = strstr(s->log, text)) == NULL && now_ms() < end)
        server_log_read(s, end - now_ms());
    if (at == NULL)
        fprintf(stderr, "log so far:\n%s\n(no '%s')\n", s->log, text);
    TEST_ASSERT(at != NULL);
    return at;
}

static int server_log_count(const struct server *s, const char *text)
{
    int n = 0;

    for (const char *p = strstr(s->log, text); p != NULL; p = strstr(p + 1, text))
        n++;
    return n;
}

static void server_start(struct server *s, const char *address, int proxy)
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
    line = server_log_wait(s, "moss: serving on ");
    TEST_ASSERT(sscanf(line, "moss: serving on %127s", s->address) == 1);
}

/* Waits for the child to exit (within ms); its status, or -1 if it did not. */
static int server_wait_exit(struct server *s, int64_t ms)
{
    int64_t end = now_ms() + ms;
    int status;

    do {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid)
            return status;
        sleep_ms(5);
    } while (now_ms() < end);
    return -1;
}

/* Sends sig, waits for a clean exit (0) within ms, reads the rest of the log;
 * the time it took. */
static int64_t server_stop(struct server *s, int sig, int64_t ms)
{
    int64_t start = now_ms();
    int status;

    TEST_ASSERT(kill(s->pid, sig) == 0);
    status = server_wait_exit(s, ms);
    if (status == -1) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        status = -1;
    }
    while (server_log_read(s, 100))
        ;
    if (status != 0)
        fprintf(stderr, "server status %d, log:\n%s\n", status, s->log);
    TEST_ASSERT(status == 0);
    close(s->log_fd);
    munmap(s->counters, sizeof(*s->counters));
    return now_ms() - start;
}

static uint64_t counter(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Waits (within WAIT_MS) for a counter to reach want. */
static void counter_wait(_Atomic uint64_t *c, uint64_t want)
{
    int64_t end = now_ms() + WAIT_MS;

    while (counter(c) != want && now_ms() < end)
        sleep_ms(2);
    TEST_ASSERT(counter(c) == want);
}

/* The loop iterations the server makes while idle for QUIET_MS (its
 * counters are refreshed every 100 ms, so wait a refresh past it). */
static uint64_t server_idle_iterations(struct server *s)
{
    uint64_t before;

    sleep_ms(120);
    before = counter(&s->counters->loop_iterations);
    sleep_ms(QUIET_MS + 120);
    return counter(&s->counters->loop_iterations) - before;
}

/* ---- clients -------------------------------------------------------------------- */

/* A blocking connection to "ip:port", "[ip6]:port" or "unix:/path". */
static int client_connect(const char *address)
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

static void expect_line(int fd, const char *want)
{
    char line[256];

    recv_line(fd, line, sizeof(line));
    if (strcmp(line, want) != 0)
        fprintf(stderr, "got '%s', want '%s'\n", line, want);
    TEST_ASSERT(strcmp(line, want) == 0);
}

/* Whether fd has something to read (data or an end) within ms. */
static int readable_within(int fd, int64_t ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, (int)ms) == 1;
}

/* The server closed fd without sending anything (more). */
static void expect_closed(int fd)
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

static void expect_greeting_self(int fd)
{
    char self[MOSS__ADDRESS_MAX], want[MOSS__ADDRESS_MAX + 16];

    local_address(fd, self, sizeof(self));
    snprintf(want, sizeof(want), "client=%s\n", self);
    expect_line(fd, want);
}

static void echo_check(int fd, const char *msg)
{
    char reply[256];
    size_t len = strlen(msg);

    send_all(fd, msg, len);
    recv_exactly(fd, reply, len);
    TEST_ASSERT(memcmp(reply, msg, len) == 0);
}

/* A config with what the cases rely on; each case changes what it tests. */
static void config_defaults(void)
{
    memset(&config, 0, sizeof(config));
    config.max_connections = 1000;
    config.max_header_size = 8192;
    config.header_timeout_ms = WAIT_MS;
    config.graceful_timeout_ms = 10000;
}

static void temp_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/moss-stream-XXXXXX");
    TEST_ASSERT(mkdtemp(dir) != NULL);
}

/* ---- listeners ------------------------------------------------------------------ */

static int fd_flags_ok(int fd)
{
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static int sockopt_on(int fd, int level, int name)
{
    int on = 0;
    socklen_t len = sizeof(on);

    return getsockopt(fd, level, name, &on, &len) == 0 && on != 0;
}

static void case_listener_bind_inet(void)
{
    struct moss__listener l4, l6;
    char error[256] = "", address[MOSS__ADDRESS_MAX];
    unsigned port = 0;

    TEST_ASSERT(moss__listener_bind("127.0.0.1:0", 16, &l4, error, sizeof(error)) == 0);
    TEST_ASSERT(sscanf(l4.address, "127.0.0.1:%u", &port) == 1 && port != 0);
    TEST_ASSERT(fd_flags_ok(l4.fd) && sockopt_on(l4.fd, SOL_SOCKET, SO_REUSEADDR));
    TEST_ASSERT(sockopt_on(l4.fd, SOL_SOCKET, SO_ACCEPTCONN) && l4.proxy_protocol == 0);
    close(client_connect(l4.address));
    TEST_ASSERT(moss__listener_bind("[::1]:0", 16, &l6, error, sizeof(error)) == 0);
    TEST_ASSERT(sscanf(l6.address, "[::1]:%u", &port) == 1 && port != 0);
    TEST_ASSERT(fd_flags_ok(l6.fd) && sockopt_on(l6.fd, IPPROTO_IPV6, IPV6_V6ONLY));
    close(client_connect(l6.address));
    /* the port in use: the message names the syscall and the address */
    snprintf(address, sizeof(address), "%s", l4.address);
    TEST_ASSERT(moss__listener_bind(address, 16, &l6, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRINUSE);
    TEST_ASSERT(strstr(error, "bind(") == error && strstr(error, address) != NULL);
    TEST_ASSERT(strstr(error, "): Address already in use") != NULL);
    moss__listener_close(&l4);
    moss__listener_close(&l6);
    TEST_ASSERT(l4.fd == -1);
}

static void case_listener_bind_unix(void)
{
    struct moss__listener a, b;
    char dir[64], address[128], error[256], path[96];
    struct stat st;
    int fd;

    temp_dir(dir, sizeof(dir));
    snprintf(address, sizeof(address), "unix:%s/sock", dir);
    TEST_ASSERT(moss__listener_bind(address, 16, &a, error, sizeof(error)) == 0);
    TEST_ASSERT(strcmp(a.address, address) == 0 && fd_flags_ok(a.fd));
    TEST_ASSERT(stat(address + 5, &st) == 0 && S_ISSOCK(st.st_mode));
    TEST_ASSERT((st.st_mode & 0777) == 0660);
    close(client_connect(address));
    /* a live server's socket is not taken over */
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRINUSE && strstr(error, address) != NULL);
    /* a stale one (its server gone, the file left) is */
    moss__listener_close(&a);
    TEST_ASSERT(stat(address + 5, &st) == 0);
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == 0);
    close(client_connect(address));
    moss__listener_close(&b);
    unlink(address + 5);
    /* a file of another kind is never removed */
    snprintf(path, sizeof(path), "%s/file", dir);
    fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    TEST_ASSERT(fd != -1);
    close(fd);
    snprintf(address, sizeof(address), "unix:%s", path);
    TEST_ASSERT(moss__listener_bind(address, 16, &b, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EEXIST && strstr(error, address) != NULL);
    TEST_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode));
    unlink(path);
    rmdir(dir);
}

static void case_listener_bind_errors(void)
{
    static const char *bad[] = {
        "", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:8a",
        "127.0.0.1:-1", "localhost:80", "::1:80", "[::1]80", "[::1", "[]:80",
        "[127.0.0.1]:80", "[::1]:", "1.2.3:80", "unix:",
    };
    struct moss__listener l;
    char error[256], long_path[200];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char quoted[64];

        error[0] = '\0';
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        TEST_ASSERT(moss__listener_bind(bad[i], 16, &l, error, sizeof(error)) == -1);
        TEST_ASSERT(errno == EINVAL);
        if (strstr(error, quoted) == NULL || strstr(error, "expected") == NULL)
            fprintf(stderr, "%s: %s\n", bad[i], error);
        TEST_ASSERT(strstr(error, quoted) != NULL && strstr(error, "expected") != NULL);
    }
    memset(long_path, 'x', sizeof(long_path) - 1);
    memcpy(long_path, "unix:/", 6);
    long_path[sizeof(long_path) - 1] = '\0';
    TEST_ASSERT(moss__listener_bind(long_path, 16, &l, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EINVAL && strstr(error, "too long") != NULL);
    /* a host that is not ours: the kernel's error, named */
    TEST_ASSERT(moss__listener_bind("192.0.2.1:0", 16, &l, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EADDRNOTAVAIL);
    TEST_ASSERT(strcmp(error, "bind(192.0.2.1:0): Cannot assign requested address") == 0);
}

/* ---- the stream server ----------------------------------------------------------- */

#define ECHO_CLIENTS 100

static void case_stream_echo_many(void)
{
    static int fds[ECHO_CLIENTS];
    static char big[1 << 20], back[1 << 20];
    struct server s;

    config_defaults();
    server_start(&s, "127.0.0.1:0", 0);
    for (int i = 0; i < ECHO_CLIENTS; i++)
        fds[i] = client_connect(s.address); /* all connected at once */
    for (int i = 0; i < ECHO_CLIENTS; i++) {
        char msg[32];

        expect_greeting_self(fds[i]);
        snprintf(msg, sizeof(msg), "client %d\n", i);
        echo_check(fds[i], msg);
    }
    counter_wait(&s.counters->connections_active, ECHO_CLIENTS);
    TEST_ASSERT(counter(&s.counters->connections_total) == ECHO_CLIENTS);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7 + 3);
    send_all(fds[0], big, sizeof(big) / 2); /* the server echoes while we send */
    recv_exactly(fds[0], back, sizeof(big) / 2);
    send_all(fds[0], big + sizeof(big) / 2, sizeof(big) / 2);
    recv_exactly(fds[0], back + sizeof(big) / 2, sizeof(big) / 2);
    TEST_ASSERT(memcmp(big, back, sizeof(big)) == 0);
    for (int i = 0; i < ECHO_CLIENTS; i++)
        close(fds[i]);
    counter_wait(&s.counters->connections_active, 0);
    sleep_ms(250); /* a refresh of the hub's figures */
    TEST_ASSERT(counter(&s.counters->greenlets) < 10); /* connections' greenlets freed */
    server_stop(&s, SIGINT, WAIT_MS);
}

static void case_stream_echo_unix(void)
{
    char dir[64], address[128];
    struct server s;
    int fd;

    config_defaults();
    temp_dir(dir, sizeof(dir));
    snprintf(address, sizeof(address), "unix:%s/echo.sock", dir);
    server_start(&s, address, 0);
    TEST_ASSERT(strcmp(s.address, address) == 0);
    fd = client_connect(address);
    expect_line(fd, "client=unix:\n");
    echo_check(fd, "over a unix socket\n");
    close(fd);
    server_stop(&s, SIGTERM, WAIT_MS);
    rmdir(dir);
}

#define LIMIT 5

/* At the limit the 6th connection waits in the backlog, unserved, and the
 * accept loop sleeps; when one of the 5 closes, it is served. */
static void case_stream_connection_limit(void)
{
    int fds[LIMIT], extra;
    struct server s;

    config_defaults();
    config.max_connections = LIMIT;
    server_start(&s, "127.0.0.1:0", 0);
    for (int i = 0; i < LIMIT; i++) {
        fds[i] = client_connect(s.address);
        expect_greeting_self(fds[i]);
    }
    extra = client_connect(s.address); /* completes in the backlog */
    TEST_ASSERT(!readable_within(extra, QUIET_MS));
    TEST_ASSERT(server_idle_iterations(&s) < SPIN_BOUND);
    TEST_ASSERT(counter(&s.counters->connections_active) == LIMIT);
    echo_check(fds[LIMIT - 1], "the others still work\n");
    close(fds[0]);
    expect_greeting_self(extra);
    echo_check(extra, "served now\n");
    TEST_ASSERT(counter(&s.counters->connections_total) == LIMIT + 1);
    for (int i = 1; i < LIMIT; i++)
        close(fds[i]);
    close(extra);
    server_stop(&s, SIGINT, WAIT_MS);
}

#define EMFILE_LOG "Too many open files; backing off"

/* Valgrind emulates the fd limit: the kernel's accept succeeds, valgrind
 * closes the fd over its limit and fails with EMFILE, so the connection is
 * dropped instead of staying in the backlog. */
static int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");

    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

/* A connection that queued while the server was out of fds: served once
 * fds are free (1), or, under valgrind only, dropped (0). */
static int served_after_backoff(int fd)
{
    char line[128];
    ssize_t n = recv(fd, line, 1, MSG_PEEK);

    if (n <= 0 && under_valgrind()) {
        close(fd);
        return 0;
    }
    expect_greeting_self(fd);
    echo_check(fd, "recovered\n");
    close(fd);
    return 1;
}

/* Out of fds, the server backs off (logging it once), does not spin, keeps
 * serving the connections it has, and accepts again once fds are freed. */
static void case_stream_emfile_backoff(void)
{
    int a, b, waiting[3], served = 0;
    struct server s;

    config_defaults();
    nofile_free = 2;
    server_start(&s, "127.0.0.1:0", 0);
    server_log_wait(&s, "test: fd limit");
    a = client_connect(s.address);
    expect_greeting_self(a);
    b = client_connect(s.address);
    expect_greeting_self(b);
    for (int i = 0; i < 3; i++)
        waiting[i] = client_connect(s.address);
    server_log_wait(&s, EMFILE_LOG);
    TEST_ASSERT(server_idle_iterations(&s) < SPIN_BOUND);
    server_log_read(&s, 100);
    TEST_ASSERT(server_log_count(&s, EMFILE_LOG) == 1); /* once per episode */
    TEST_ASSERT(counter(&s.counters->accept_backoffs) == 1);
    TEST_ASSERT(!readable_within(waiting[0], 10) || under_valgrind());
    echo_check(a, "still served\n");
    close(a); /* one fd free: the first waiting connection gets it */
    for (int i = 0; i < 3; i++)
        served += served_after_backoff(waiting[i]);
    TEST_ASSERT(served == 3 || under_valgrind());
    a = client_connect(s.address);
    expect_greeting_self(a);
    server_log_wait(&s, "accepting again");
    close(a);
    close(b);
    server_stop(&s, SIGINT, WAIT_MS);
}

/* ---- the PROXY protocol ---------------------------------------------------------- */

static void trust(const char *cidr)
{
    struct moss__network *net = &config.proxy_trusted[config.proxy_trusted_count++];
    char host[64];
    unsigned prefix;

    TEST_ASSERT(sscanf(cidr, "%63[^/]/%u", host, &prefix) == 2);
    net->family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
    net->prefix = prefix;
    TEST_ASSERT(inet_pton(net->family, host, net->addr) == 1);
}

/* Sends header (len bytes) plus "after\n" in one write, expects the client
 * it names ("" for the real peer) and the trailing bytes back. */
static void proxy_expect(const struct server *s, const void *header, size_t len,
                         const char *client)
{
    char packet[512], want[160];
    int fd = client_connect(s->address);

    memcpy(packet, header, len);
    memcpy(packet + len, "after\n", 6);
    send_all(fd, packet, len + 6);
    if (client[0] == '\0') {
        expect_greeting_self(fd);
    } else {
        snprintf(want, sizeof(want), "client=%s\n", client);
        expect_line(fd, want);
    }
    expect_line(fd, "after\n");
    echo_check(fd, "and then\n");
    close(fd);
}

#define V1(text) text, sizeof(text) - 1

static void case_proxy_v1(void)
{
    struct server s;
    char rest[3];
    int fd;

    config_defaults();
    trust("127.0.0.0/8");
    server_start(&s, "127.0.0.1:0", 1);
    proxy_expect(&s, V1("PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"), "192.0.2.1:56324");
    proxy_expect(&s, V1("PROXY TCP6 2001:db8::1 2001:db8::2 4000 443\r\n"), "[2001:db8::1]:4000");
    proxy_expect(&s, V1("PROXY TCP6 2001:0db8:0:0:0:0:0:9 ::1 0 65535\r\n"), "[2001:db8::9]:0");
    proxy_expect(&s, V1("PROXY UNKNOWN\r\n"), "");
    proxy_expect(&s, V1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), "");
    /* the longest line there is: 107 bytes */
    proxy_expect(&s, V1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
                 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
    /* a header in pieces */
    fd = client_connect(s.address);
    send_all(fd, "PROXY TCP4 192.0", 16);
    sleep_ms(30);
    send_all(fd, ".2.9 192.0.2.2 1", 16);
    sleep_ms(30);
    send_all(fd, " 2\r\nabc", 7);
    expect_line(fd, "client=192.0.2.9:1\n");
    recv_exactly(fd, rest, 3);
    TEST_ASSERT(memcmp(rest, "abc", 3) == 0);
    close(fd);
    TEST_ASSERT(server_log_count(&s, "PROXY header") == 0);
    server_stop(&s, SIGINT, WAIT_MS);
}

/* A v2 header: signature, version 2 with command cmd, family, the address
 * block and `tlv` bytes of TLVs; its length. */
static size_t v2_header(unsigned char *out, unsigned cmd, unsigned family,
                        const void *block, size_t block_len, size_t tlv)
{
    static const unsigned char sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                          0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    size_t len = block_len + tlv;

    memcpy(out, sig, 12);
    out[12] = (unsigned char)(0x20 | cmd);
    out[13] = (unsigned char)family;
    out[14] = (unsigned char)(len >> 8);
    out[15] = (unsigned char)len;
    memcpy(out + 16, block, block_len);
    for (size_t i = 0; i < tlv; i += 3) /* PP2_TYPE_NOOP TLVs, length 0 */
        memcpy(out + 16 + block_len + i, "\x04\x00\x00", tlv - i < 3 ? tlv - i : 3);
    return 16 + len;
}

static void case_proxy_v2(void)
{
    static const unsigned char tcp4[12] = {192, 0, 2, 7, 198, 51, 100, 1, 0x1F, 0x90, 0x01, 0xBB};
    unsigned char tcp6[36] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x05, [16] = 0x20, [17] = 0x01,
                              [32] = 0xC3, [33] = 0x50, [34] = 0x00, [35] = 0x50};
    unsigned char h[256];
    struct server s;

    config_defaults();
    trust("127.0.0.0/8");
    server_start(&s, "127.0.0.1:0", 1);
    proxy_expect(&s, h, v2_header(h, 1, 0x11, tcp4, 12, 0), "192.0.2.7:8080");
    proxy_expect(&s, h, v2_header(h, 1, 0x11, tcp4, 12, 30), "192.0.2.7:8080"); /* TLVs */
    proxy_expect(&s, h, v2_header(h, 1, 0x21, tcp6, 36, 0), "[2001:db8::5]:50000");
    proxy_expect(&s, h, v2_header(h, 0, 0x11, tcp4, 12, 0), "");  /* LOCAL */
    proxy_expect(&s, h, v2_header(h, 0, 0x00, tcp4, 0, 0), "");   /* LOCAL, UNSPEC */
    proxy_expect(&s, h, v2_header(h, 1, 0x00, tcp4, 0, 6), "");   /* PROXY, UNSPEC */
    proxy_expect(&s, h, v2_header(h, 1, 0x12, tcp4, 12, 0), "");  /* UDP: real peer */
    TEST_ASSERT(server_log_count(&s, "PROXY header") == 0);
    server_stop(&s, SIGINT, WAIT_MS);
}

/* Sends bad bytes (then, if half_close, ends its side); the server closes
 * without serving. */
static void proxy_refused(const struct server *s, const void *bytes, size_t len,
                          int half_close)
{
    int fd = client_connect(s->address);

    send_all(fd, bytes, len);
    if (half_close)
        shutdown(fd, SHUT_WR);
    TEST_ASSERT(readable_within(fd, WAIT_MS));
    expect_closed(fd);
    close(fd);
}

/* Malformed v2 headers, each refused; how many. */
static int proxy_refused_v2(const struct server *s)
{
    static const unsigned char block[36] = {127, 0, 0, 1};
    unsigned char h[256];
    int refused = 0;

    v2_header(h, 1, 0x11, block, 12, 0);
    h[12] = 0x11;                                                  /* version 1 */
    proxy_refused(s, h, 28, 0), refused++;
    h[12] = 0x22;                                                  /* command 2 */
    proxy_refused(s, h, 28, 0), refused++;
    proxy_refused(s, h, v2_header(h, 1, 0x11, block, 4, 0), 0), refused++; /* short */
    proxy_refused(s, h, v2_header(h, 1, 0x21, block, 12, 0), 0), refused++;
    proxy_refused(s, h, v2_header(h, 1, 0x44, block, 12, 0), 0), refused++; /* family */
    v2_header(h, 1, 0x11, block, 12, 0);
    h[14] = h[15] = 0xFF;                                          /* 65535: > buffer */
    proxy_refused(s, h, 28, 0), refused++;
    h[3] = 0x0B;                                                   /* signature */
    proxy_refused(s, h, 28, 0), refused++;
    return refused;
}

static void case_proxy_malformed(void)
{
    static const char *v1[] = {
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 2\n",
        "PROXY TCP4  1.1.1.1 1.1.1.1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 70000\r\n",
        "PROXY TCP4 1.1.1.1 1.1.1.1 1 2 3\r\n", "PROXY TCP9 1.1.1.1 1.1.1.1 1 2\r\n",
        "PROXY TCP4 ::1 ::1 1 2\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 01 2\r\n",
        "PROXY\r\n", "PROXYTCP4\r\n", "PROXY TCP4 1.1.1.1 1.1.1.1 1 2\r\r\n",
    };
    char too_long[120];
    struct server s;
    int refused = 0;

    config_defaults();
    config.max_header_size = 1024;
    trust("127.0.0.1/32");
    server_start(&s, "127.0.0.1:0", 1);
    for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++, refused++)
        proxy_refused(&s, v1[i], strlen(v1[i]), 0);
    memset(too_long, 'a', sizeof(too_long));
    memcpy(too_long, "PROXY UNKNOWN ", 14); /* no CRLF within 107 bytes */
    proxy_refused(&s, too_long, sizeof(too_long), 0), refused++;
    proxy_refused(&s, "PROXY TCP4 1.2", 14, 1), refused++;       /* closed mid-header */
    refused += proxy_refused_v2(&s);
    proxy_refused(&s, "", 0, 1);                                   /* a health check */
    proxy_expect(&s, V1("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n"), "192.0.2.1:1");
    server_log_read(&s, 100);
    TEST_ASSERT(server_log_count(&s, "PROXY header from 127.0.0.1:") == refused);
    server_stop(&s, SIGINT, WAIT_MS);
}

/* Refused from a peer outside proxy_trusted (EPERM), logged once each. */
static void proxy_untrusted_with(const char *listen, const char *network)
{
    static const char header[] = "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n";
    struct server s;

    config_defaults();
    if (network != NULL)
        trust(network);
    server_start(&s, listen, 1);
    proxy_refused(&s, header, sizeof(header) - 1, 0);
    server_log_wait(&s, "source not trusted");
    server_log_read(&s, 50);
    TEST_ASSERT(server_log_count(&s, "PROXY header from") == 1);
    server_stop(&s, SIGINT, WAIT_MS);
}

static void case_proxy_untrusted(void)
{
    proxy_untrusted_with("127.0.0.1:0", NULL);          /* no list: nobody */
    proxy_untrusted_with("127.0.0.1:0", "10.0.0.0/8");
    proxy_untrusted_with("127.0.0.1:0", "127.0.0.2/31");  /* .2 and .3 only */
    proxy_untrusted_with("127.0.0.1:0", "::1/128");       /* another family */
    proxy_untrusted_with("[::1]:0", "127.0.0.1/32");
    proxy_untrusted_with("[::1]:0", "::2/127");
}

/* Trusted by prefix bits, over IPv6, and over a unix socket (always). */
static void case_proxy_trusted_forms(void)
{
    static const char header[] = "PROXY TCP4 192.0.2.1 192.0.2.2 7 8\r\n";
    static const char *forms[][2] = {
        {"127.0.0.1:0", "127.0.0.0/31"}, {"127.0.0.1:0", "127.0.0.1/32"},
        {"127.0.0.1:0", "127.1.2.3/8"}, {"127.0.0.1:0", "0.0.0.0/0"},
        {"[::1]:0", "::1/128"}, {"[::1]:0", "::/127"}, {"[::1]:0", "::/0"},
        {"unix", NULL},
    };
    char dir[64], address[128];
    struct server s;

    temp_dir(dir, sizeof(dir));
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        config_defaults();
        if (forms[i][1] != NULL)
            trust(forms[i][1]);
        snprintf(address, sizeof(address), "unix:%s/proxy.sock", dir);
        server_start(&s, strcmp(forms[i][0], "unix") == 0 ? address : forms[i][0], 1);
        proxy_expect(&s, header, sizeof(header) - 1, "192.0.2.1:7");
        server_stop(&s, SIGINT, WAIT_MS);
    }
    rmdir(dir);
}

/* ---- signals and the drain -------------------------------------------------------- */

/* SIGTERM: the idle connection closes at once, the slow request completes,
 * the process exits 0 well before graceful_timeout. */
static void case_worker_drain(void)
{
    struct server s;
    int busy, idle;
    int64_t start, took;

    config_defaults();
    config.graceful_timeout_ms = 8000;
    server_start(&s, "127.0.0.1:0", 0);
    busy = client_connect(s.address);
    expect_greeting_self(busy);
    idle = client_connect(s.address);
    expect_greeting_self(idle);
    send_all(busy, "slow 600", 8);
    sleep_ms(50);
    start = now_ms();
    TEST_ASSERT(kill(s.pid, SIGTERM) == 0);
    TEST_ASSERT(readable_within(idle, 1000)); /* at once, not at the drain's end */
    expect_closed(idle);
    expect_line(busy, "done\n");
    expect_closed(busy);
    server_stop(&s, 0, WAIT_MS); /* signalled already: only waits */
    took = now_ms() - start;
    TEST_ASSERT(took < 4000);
    TEST_ASSERT(strstr(s.log, "draining 2 connections") != NULL);
    TEST_ASSERT(strstr(s.log, "cancelling") == NULL);
    close(busy);
    close(idle);
}

/* A request that outlives graceful_timeout is cancelled; the exit is clean. */
static void case_worker_graceful_timeout(void)
{
    struct server s;
    int busy;
    int64_t took;

    config_defaults();
    config.graceful_timeout_ms = 300;
    server_start(&s, "127.0.0.1:0", 0);
    busy = client_connect(s.address);
    expect_greeting_self(busy);
    send_all(busy, "slow 60000", 10);
    sleep_ms(50);
    took = server_stop(&s, SIGTERM, WAIT_MS);
    TEST_ASSERT(took >= 250 && took < 3000);
    expect_closed(busy);
    TEST_ASSERT(strstr(s.log, "graceful timeout: cancelling 1 connections") != NULL);
    close(busy);
}

/* SIGINT and SIGQUIT stop at once, also in the middle of a drain. */
static void case_worker_stop_signals(void)
{
    static const int signals[][2] = {{SIGINT, 0}, {SIGQUIT, 0}, {SIGTERM, SIGINT}};
    struct server s;
    int busy, idle;

    for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
        config_defaults();
        config.graceful_timeout_ms = 60000;
        server_start(&s, "127.0.0.1:0", 0);
        busy = client_connect(s.address);
        expect_greeting_self(busy);
        idle = client_connect(s.address);
        expect_greeting_self(idle);
        send_all(busy, "slow 60000", 10);
        sleep_ms(50);
        if (signals[i][1] != 0) {
            TEST_ASSERT(kill(s.pid, signals[i][0]) == 0);
            sleep_ms(100);
        }
        TEST_ASSERT(server_stop(&s, signals[i][1] != 0 ? signals[i][1] : signals[i][0],
                                WAIT_MS) < 2000);
        expect_closed(busy);
        expect_closed(idle);
        close(busy);
        close(idle);
    }
}

/* ---- moss_serve: the whole worker, with HTTP ---------------------------------------- */

static int test_app_init(void **app_data)
{
    static int data;

    *app_data = &data;
    return 0;
}

static void test_app_fini(void *app_data)
{
    static const char line[] = "test: fini\n";

    if (*(int *)app_data == 0 && write(STDERR_FILENO, line, sizeof(line) - 1) < 0)
        _exit(7);
}

static int test_app_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    (void)app_data;
    if (strcmp(moss_request_path(req), "/slow") == 0) {
        if (moss_sleep(600) == -1)
            return -1;
        return moss_response_send(res, 200, "text/plain", "slow done", 9);
    }
    return moss_response_send(res, 200, "text/plain", "hello", 5);
}

static int test_app_init_fails(void **app_data)
{
    (void)app_data;
    errno = EACCES;
    return -1;
}

static const moss_app_t test_app = {"test", test_app_handle, test_app_init, test_app_fini};
static const moss_app_t failing_app = {"failing", test_app_handle, test_app_init_fails, NULL};

static moss_config_t *serve_config(const char *const *settings)
{
    moss_config_t *c = moss_config_new();
    const char *error = NULL;

    TEST_ASSERT(c != NULL);
    for (; settings[0] != NULL; settings += 2) {
        if (moss_config_set(c, settings[0], settings[1], &error) == -1)
            fprintf(stderr, "%s=%s: %s\n", settings[0], settings[1], error);
        TEST_ASSERT(error == NULL);
    }
    return c;
}

/* Runs moss_serve(settings, app) in a child with stderr to out_path; its pid. */
static pid_t serve_fork(const char *const *settings, const moss_app_t *app, const char *out_path)
{
    pid_t pid = fork();
    moss_config_t *c;
    int fd, rc;

    TEST_ASSERT(pid != -1);
    if (pid != 0)
        return pid;
    fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
        _exit(3);
    c = serve_config(settings);
    rc = moss_serve(c, app);
    moss_config_free(c);
    _exit(rc == 0 ? 0 : 100 + errno);
}

/* The file's text (at most 16 KiB), NUL-ended, in a static buffer. */
static const char *file_text(const char *path)
{
    static char text[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? 0 : read(fd, text, sizeof(text) - 1);

    text[n > 0 ? n : 0] = '\0';
    if (fd != -1)
        close(fd);
    return text;
}

static void file_wait_for(const char *path, const char *want)
{
    int64_t end = now_ms() + WAIT_MS;

    while (strstr(file_text(path), want) == NULL && now_ms() < end)
        sleep_ms(5);
    if (strstr(file_text(path), want) == NULL)
        fprintf(stderr, "%s has no '%s':\n%s\n", path, want, file_text(path));
    TEST_ASSERT(strstr(file_text(path), want) != NULL);
}

/* Reads from fd until `want` has come (within SO_RCVTIMEO). */
static void recv_until(int fd, const char *want)
{
    char buf[4096];
    size_t len = 0;

    while (len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

        TEST_ASSERT(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, want) != NULL)
            return;
    }
    TEST_ASSERT(!"no such reply");
}

/* Waits for pid's exit within ms; its exit code, or -1 (then killed). */
static int child_exit_code(pid_t pid, int64_t ms)
{
    struct server s = {.pid = pid};
    int status = server_wait_exit(&s, ms);

    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* SIGTERM to moss_serve with HTTP: the request in flight completes, the idle
 * keep-alive connection closes at once, the app's fini runs, exit 0. */
static void case_serve_http_drain(void)
{
    char dir[64], bind[96], log[96], sock[160];
    int busy, idle;
    int64_t start;
    pid_t pid;

    temp_dir(dir, sizeof(dir));
    snprintf(bind, sizeof(bind), "unix:%s/http.sock", dir);
    snprintf(log, sizeof(log), "%s/error.log", dir);
    pid = serve_fork((const char *const[]){"bind", bind, "error_log", log,
                                           "graceful_timeout", "5s", NULL},
                     &test_app, log);
    snprintf(sock, sizeof(sock), "moss: serving on %s\n", bind);
    file_wait_for(log, sock);
    idle = client_connect(bind);
    send_all(idle, GET("/"), strlen(GET("/")));
    recv_until(idle, "hello");
    busy = client_connect(bind);
    send_all(busy, GET("/slow"), strlen(GET("/slow")));
    sleep_ms(100);
    start = now_ms();
    TEST_ASSERT(kill(pid, SIGTERM) == 0);
    TEST_ASSERT(readable_within(idle, 1000)); /* at once, not at the drain's end */
    expect_closed(idle);
    recv_until(busy, "slow done");
    TEST_ASSERT(child_exit_code(pid, WAIT_MS) == 0);
    TEST_ASSERT(now_ms() - start < 4000);
    file_wait_for(log, "draining 2 connections");
    file_wait_for(log, "test: fini");
    TEST_ASSERT(access(bind + 5, F_OK) == -1); /* its socket file removed */
    close(idle);
    close(busy);
    unlink(log);
    rmdir(dir);
}

/* moss_serve cannot start: -1 with errno, and a message on stderr. */
static void case_serve_start_errors(void)
{
    char dir[64], out[128], sock[128], in_use[MOSS__ADDRESS_MAX];
    struct moss__listener taken;
    char error[256];

    temp_dir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/stderr", dir);
    snprintf(sock, sizeof(sock), "unix:%s/s.sock", dir);
    /* the app's init refuses: named, with its errno; nothing left behind */
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", sock, NULL},
                                           &failing_app, out), WAIT_MS) == 100 + EACCES);
    TEST_ASSERT(strstr(file_text(out), "app failing: init failed: Permission denied") != NULL);
    TEST_ASSERT(access(sock + 5, F_OK) == -1);
    /* the address is taken */
    TEST_ASSERT(moss__listener_bind("127.0.0.1:0", 16, &taken, error, sizeof(error)) == 0);
    snprintf(in_use, sizeof(in_use), "%s", taken.address);
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", in_use, NULL},
                                           &test_app, out), WAIT_MS) == 100 + EADDRINUSE);
    snprintf(error, sizeof(error), "bind(%s): Address already in use", in_use);
    TEST_ASSERT(strstr(file_text(out), error) != NULL);
    close(taken.fd);
    /* the error log cannot be opened */
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", sock, "error_log",
                                                                 "/nonexistent/moss.log", NULL},
                                           &test_app, out), WAIT_MS) == 100 + ENOENT);
    TEST_ASSERT(strstr(file_text(out), "open(/nonexistent/moss.log): No such file") != NULL);
    TEST_ASSERT(strstr(file_text(out), "test: fini") == NULL); /* no init, no fini */
    unlink(out);
    rmdir(dir);
}

const struct moss_test_case moss_test_stream_cases[] = {
    {"listener_bind_inet", case_listener_bind_inet},
    {"listener_bind_unix", case_listener_bind_unix},
    {"listener_bind_errors", case_listener_bind_errors},
    {"stream_echo_many", case_stream_echo_many},
    {"stream_echo_unix", case_stream_echo_unix},
    {"stream_connection_limit", case_stream_connection_limit},
    {"stream_emfile_backoff", case_stream_emfile_backoff},
    {"proxy_v1", case_proxy_v1},
    {"proxy_v2", case_proxy_v2},
    {"proxy_malformed", case_proxy_malformed},
    {"proxy_untrusted", case_proxy_untrusted},
    {"proxy_trusted_forms", case_proxy_trusted_forms},
    {"worker_drain", case_worker_drain},
    {"worker_graceful_timeout", case_worker_graceful_timeout},
    {"worker_stop_signals", case_worker_stop_signals},
    {"serve_http_drain", case_serve_http_drain},
    {"serve_start_errors", case_serve_start_errors},
    {NULL, NULL},
};
