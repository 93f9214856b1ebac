/* The client side of bench/bench.sh: small, exact tools that wrk is not.
 *
 *   bench_client port                          a free TCP port on 127.0.0.1
 *   bench_client hold ADDR SRC COUNT SECONDS   COUNT keep-alive connections
 *       from source address SRC, one GET / each, then idle; prints
 *       "held N" (N may fall short: the error is on stderr) and keeps them
 *       open until killed or SECONDS pass
 *   bench_client probe ADDR COUNT              COUNT fresh connections, one
 *       GET / each; prints the latency percentiles of connect-to-response
 *   bench_client workers ADMIN                 the worker pids in /stats
 *   bench_client reload ADMIN PID COUNT PAUSE_MS
 *       COUNT reloads of the master PID: each time, SIGHUP, then /stats is
 *       polled until the generation has gone up by one and all its workers
 *       are ready; prints each time and the median and max
 *
 * ADDR and ADMIN are IPv4 HOST:PORT. Figures go to stdout as key=value
 * pairs; a failed call is named on stderr and exits 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
    IO_TIMEOUT_S = 5,           /* any read or write on a bench connection */
    RESPONSE_MAX = 256 * 1024,  /* /stats with many workers fits */
    RELOAD_POLL_MS = 2,
    RELOAD_TIMEOUT_MS = 20000,
};

static __attribute__((noreturn)) void die(const char *call, const char *object)
{
    fprintf(stderr, "bench_client: %s (%s): %s\n", call, object, strerror(errno));
    exit(1);
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* "HOST:PORT" (IPv4; port 0 for a source address) into sa; -1 and EINVAL
 * if it is not one. */
static int parse_addr(const char *text, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    char *end;
    long port;

    if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
        return errno = EINVAL, -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (*end != '\0' || port < 0 || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return errno = EINVAL, -1;
    return 0;
}

static int set_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
        return -1;
    return 0;
}

/* A connected socket to to, from the address src if not NULL (bound before
 * connect, port chosen at connect: IP_BIND_ADDRESS_NO_PORT), or -1. */
static int connect_from(const struct sockaddr_in *to, const struct sockaddr_in *src)
{
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -1;
    if (set_timeouts(fd) == -1 ||
        (src != NULL && (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                                    sizeof(one)) == -1 ||
                         bind(fd, (const struct sockaddr *)src, sizeof(*src)) == -1)) ||
        connect(fd, (const struct sockaddr *)to, sizeof(*to)) == -1) {
        int err = errno;

        close(fd);
        return errno = err, -1;
    }
    return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The length of a complete response in buf (headers and Content-Length
 * body), or 0 while incomplete. */
static size_t response_length(const char *buf, size_t len)
{
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    const char *cl;
    size_t head;

    if (end == NULL)
        return 0;
    head = (size_t)(end - buf) + 4;
    cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl == NULL || cl > end)
        return head;
    head += strtoul(cl + 17, NULL, 10);
    return head <= len ? head : 0;
}

/* Reads one response into buf (NUL-terminated); its status, or -1 (EPROTO
 * for a peer that closed early or a response too large). */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    int status;

    while (response_length(buf, len) == 0) {
        ssize_t n;

        if (len + 1 >= cap)
            return errno = EPROTO, -1;
        n = read(fd, buf + len, cap - 1 - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n <= 0)
            return errno = n == 0 ? EPROTO : errno, -1;
        len += (size_t)n;
        buf[len] = '\0';
    }
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return errno = EPROTO, -1;
    return status;
}

/* GET path on fd, keep-alive; the status, the response in buf, or -1. */
static int http_get(int fd, const char *path, char *buf, size_t cap)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);

    if (write_all(fd, req, (size_t)n) == -1)
        return -1;
    buf[0] = '\0';
    return read_response(fd, buf, cap);
}

/* ---- port ------------------------------------------------------------------- */

static int cmd_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) == -1)
        die("bind", "127.0.0.1:0");
    printf("%u\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

/* ---- hold ------------------------------------------------------------------- */

/* Opens up to count connections; how many it holds (the first failure is
 * named on stderr). The fds stay open: the process exits with them. */
static long hold_open(const struct sockaddr_in *to, const struct sockaddr_in *src, long count)
{
    static char buf[4096];
    long held;

    for (held = 0; held < count; held++) {
        int fd = connect_from(to, src);

        if (fd == -1 || http_get(fd, "/", buf, sizeof(buf)) != 200) {
            fprintf(stderr, "bench_client: hold: connection %ld of %ld: %s\n", held + 1,
                    count, fd == -1 ? strerror(errno) : "no 200 response");
            if (fd != -1)
                close(fd);
            break;
        }
    }
    return held;
}

static int cmd_hold(char **argv)
{
    struct sockaddr_in to, src;
    long count = strtol(argv[2], NULL, 10), seconds = strtol(argv[3], NULL, 10);

    if (parse_addr(argv[0], &to) == -1)
        die("parse_addr", argv[0]);
    if (parse_addr(argv[1], &src) == -1) /* "IP:0" */
        die("parse_addr", argv[1]);
    printf("held %ld\n", hold_open(&to, &src, count));
    fflush(stdout);
    alarm((unsigned)seconds); /* the bound: SIGALRM ends the process */
    for (;;)
        pause();
}

/* ---- probe ------------------------------------------------------------------ */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted[0..n). */
static double percentile(const double *sorted, long n, double p)
{
    long rank = (long)(p / 100.0 * (double)n + 0.999999);

    return sorted[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}

/* One probe: connect, GET /, close; its latency in ms, or -1. */
static double probe_once(const struct sockaddr_in *to)
{
    static char buf[4096];
    double t0 = now_ms();
    int fd = connect_from(to, NULL), status;

    if (fd == -1)
        return -1;
    status = http_get(fd, "/", buf, sizeof(buf));
    close(fd);
    return status == 200 ? now_ms() - t0 : -1;
}

static int cmd_probe(char **argv)
{
    struct sockaddr_in to;
    long count = strtol(argv[1], NULL, 10), n = 0, errors = 0;
    double *ms = calloc(count > 0 ? (size_t)count : 1, sizeof(double));

    if (ms == NULL || count < 1 || parse_addr(argv[0], &to) == -1)
        die("probe", argv[0]);
    for (long i = 0; i < count; i++) {
        double t = probe_once(&to);

        if (t < 0)
            errors++;
        else
            ms[n++] = t;
    }
    if (n == 0)
        die("probe", "no request succeeded");
    qsort(ms, (size_t)n, sizeof(double), compare_double);
    printf("n=%ld errors=%ld p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n", n, errors,
           percentile(ms, n, 50), percentile(ms, n, 99), ms[n - 1]);
    free(ms);
    return 0;
}

/* ---- /stats ------------------------------------------------------------------ */

/* GET /stats from the admin address, parsed; NULL on failure. */
static json_t *stats_get(const struct sockaddr_in *admin)
{
    static char buf[RESPONSE_MAX];
    int fd = connect_from(admin, NULL), status;
    json_t *stats;
    char *body;

    if (fd == -1)
        return NULL;
    status = http_get(fd, "/stats", buf, sizeof(buf));
    close(fd);
    body = status == 200 ? strstr(buf, "\r\n\r\n") : NULL;
    if (body == NULL)
        return errno = EPROTO, NULL;
    stats = json_loads(body + 4, 0, NULL);
    if (stats == NULL)
        errno = EPROTO;
    return stats;
}

static int cmd_workers(char **argv)
{
    struct sockaddr_in admin;
    json_t *stats, *worker;
    size_t i;

    if (parse_addr(argv[0], &admin) == -1 || (stats = stats_get(&admin)) == NULL)
        die("GET /stats", argv[0]);
    json_array_foreach(json_object_get(stats, "workers"), i, worker)
        printf("%lld\n", (long long)json_integer_value(json_object_get(worker, "pid")));
    json_decref(stats);
    return 0;
}

/* ---- reload ------------------------------------------------------------------ */

/* Whether stats show generation gen with all the workers wanted ready. */
static int generation_ready(json_t *stats, long long gen)
{
    long long wanted = json_integer_value(json_object_get(stats, "workers_wanted"));
    json_t *worker;
    long long ready = 0;
    size_t i;

    if (json_integer_value(json_object_get(stats, "generation")) != gen)
        return 0;
    json_array_foreach(json_object_get(stats, "workers"), i, worker) {
        const char *state = json_string_value(json_object_get(worker, "state"));

        if (json_integer_value(json_object_get(worker, "generation")) == gen &&
            state != NULL && strcmp(state, "ready") == 0)
            ready++;
    }
    return wanted > 0 && ready >= wanted;
}

static long long stats_generation(const struct sockaddr_in *admin)
{
    json_t *stats = stats_get(admin);
    long long gen;

    if (stats == NULL)
        die("GET /stats", "generation");
    gen = json_integer_value(json_object_get(stats, "generation"));
    json_decref(stats);
    return gen;
}

/* One reload: its time in ms from SIGHUP to the next generation ready, or
 * -1 if it was not ready within RELOAD_TIMEOUT_MS. */
static double reload_once(const struct sockaddr_in *admin, pid_t master)
{
    long long next = stats_generation(admin) + 1;
    double t0 = now_ms();

    if (kill(master, SIGHUP) == -1)
        die("kill", "SIGHUP to the master");
    while (now_ms() - t0 < RELOAD_TIMEOUT_MS) {
        json_t *stats = stats_get(admin);
        int done = stats != NULL && generation_ready(stats, next);

        json_decref(stats);
        if (done)
            return now_ms() - t0;
        sleep_ms(RELOAD_POLL_MS);
    }
    return -1;
}

static int cmd_reload(char **argv)
{
    struct sockaddr_in admin;
    long count = strtol(argv[2], NULL, 10), pause_ms = strtol(argv[3], NULL, 10);
    long n = 0, timeouts = 0;
    double ms[1000];

    if (parse_addr(argv[0], &admin) == -1 || count < 1 || count > 1000)
        die("reload", argv[0]);
    for (long i = 0; i < count; i++) {
        double t = reload_once(&admin, (pid_t)strtol(argv[1], NULL, 10));

        fprintf(stderr, "  reload %ld: %.1f ms\n", i + 1, t);
        if (t < 0)
            timeouts++;
        else
            ms[n++] = t;
        sleep_ms(pause_ms);
    }
    qsort(ms, (size_t)n, sizeof(double), compare_double);
    printf("n=%ld timeouts=%ld median_ms=%.1f max_ms=%.1f\n", n, timeouts,
           n > 0 ? percentile(ms, n, 50) : -1.0, n > 0 ? ms[n - 1] : -1.0);
    return 0;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "port") == 0)
        return cmd_port();
    if (argc == 6 && strcmp(argv[1], "hold") == 0)
        return cmd_hold(argv + 2);
    if (argc == 4 && strcmp(argv[1], "probe") == 0)
        return cmd_probe(argv + 2);
    if (argc == 3 && strcmp(argv[1], "workers") == 0)
        return cmd_workers(argv + 2);
    if (argc == 6 && strcmp(argv[1], "reload") == 0)
        return cmd_reload(argv + 2);
    fprintf(stderr, "usage: bench_client port | hold ADDR SRC:0 COUNT SECONDS |"
                    " probe ADDR COUNT | workers ADMIN | reload ADMIN PID COUNT PAUSE_MS\n");
    return 2;
}
