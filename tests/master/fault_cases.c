/* Faults, on the real moss binary run as a prefork server (the master
 * fixture): a worker killed by SIGKILL under load (shared listener, and
 * reuse_port), the master killed by SIGKILL, a worker out of file
 * descriptors (EMFILE), an access log on a full disk, a reload while the
 * previous reload's workers still drain, and a draining worker kept off the
 * CPU for a moment.
 *
 * What is asserted is what a user would notice: responses and their
 * status, the errors wrk counts, processes alive or gone, a port that
 * refuses, lines of the log. Nothing is asserted against a tight time:
 * waits are bounded generously (FC_WAIT_MS, stretched under valgrind) and
 * the durations measured are printed to stderr, with the goal they meet
 * or miss. Every process a case starts is ended by its pid (the fixture's
 * master_stop, or kill with a pid that is the test's own child).
 *
 * Two cases fail on purpose until the worker is fixed, each saying why in
 * its comment: access_log_full (a failed access log write is never
 * reported) and drain_after_stall (a drain resets connections whose next
 * request has arrived but not yet been read). */
#include "fault_cases.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define FC_WRK_SECONDS (120u * MASTER_SLOW) /* longer than any case: stopped by SIGINT */

/* ---- local helpers ------------------------------------------------------------------- */

/* The entry of /stats's workers with that pid, or NULL (borrowed). */
static json_t *entry_by_pid(json_t *stats, pid_t pid)
{
    json_t *w;
    size_t i;

    json_array_foreach(json_object_get(stats, "workers"), i, w)
        if (json_integer_value(json_object_get(w, "pid")) == pid)
            return w;
    return NULL;
}

static const char *entry_state(json_t *w)
{
    const char *s = json_string_value(json_object_get(w, "state"));

    return s != NULL ? s : "";
}

static json_int_t entry_int(json_t *w, const char *key)
{
    return json_integer_value(json_object_get(w, key));
}

static int connections_at_least_(json_t *stats, void *arg)
{
    return stats_int(stats, "totals.connections_active") >= *(const json_int_t *)arg;
}

/* Sets fd's receive and send timeouts. */
static void set_timeouts(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0);
}

/* The local port of a connected socket. */
static unsigned local_port(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);

    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    return ntohs(addr.sin_port);
}

/* A keep-alive GET path sent on fd (whole, or the case fails). */
static void ka_send(int fd, const char *path)
{
    char request[256];

    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    send_all(fd, request, strlen(request));
}

/* One response read from fd: its status, or -1 if the connection closed
 * or timed out first; *closed (if not NULL) says whether it announced
 * "Connection: close". The body (Content-Length bytes) is read too, so
 * that the next response starts clean. */
static int ka_read_closed(int fd, int *closed)
{
    char buf[8192], *head_end = NULL;
    size_t got = 0, want = 0;
    int status = -1;

    for (;;) {
        ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
        const char *cl;

        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
        if (head_end == NULL && (head_end = strstr(buf, "\r\n\r\n")) != NULL) {
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
                return -1;
            cl = strcasestr(buf, "\r\ncontent-length:");
            want = (size_t)(head_end + 4 - buf) +
                   (cl != NULL && cl < head_end ? strtoul(cl + 17, NULL, 10) : 0);
            if (closed != NULL) {
                cl = strcasestr(buf, "\r\nconnection: close");
                *closed = cl != NULL && cl < head_end;
            }
        }
        if (head_end != NULL && got >= want)
            return status;
        if (got == sizeof(buf) - 1)
            return -1;
    }
}

static int ka_read(int fd)
{
    return ka_read_closed(fd, NULL);
}

/* A loopback connection to port: connected, or -1 with errno. */
static int try_connect(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
        return fd;
    err = errno;
    close(fd);
    errno = err;
    return -1;
}

/* The inode of the server side of the loopback connection from
 * client_port to server_port, by an exact sock_diag lookup (netlink; no
 * privilege needed, and unlike /proc/net/tcp it costs the same however
 * many sockets the host has): 0 while the connection waits in the accept
 * queue (no socket file yet), -1 if there is no such connection. */
static long tcp_server_inode(unsigned server_port, unsigned client_port)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg = {
        .nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST},
        .req = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
                .idiag_states = ~0u,
                .id = {.idiag_sport = htons((uint16_t)server_port),
                       .idiag_dport = htons((uint16_t)client_port),
                       .idiag_src = {htonl(INADDR_LOOPBACK)},
                       .idiag_dst = {htonl(INADDR_LOOPBACK)},
                       .idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}}},
    };
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    long buf[2048]; /* aligned for nlmsghdr */
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    long inode = -1;
    ssize_t n;

    TEST_ASSERT(fd != -1);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    TEST_ASSERT(sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) ==
                (ssize_t)sizeof(msg));
    n = recv(fd, buf, sizeof(buf), 0);
    close(fd);
    TEST_ASSERT(n > 0);
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
         h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            const struct inet_diag_msg *d = NLMSG_DATA(h);

            if (d->idiag_state == 1 /* TCP_ESTABLISHED */)
                inode = (long)d->idiag_inode;
            break;
        }
        if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
            break; /* -ENOENT: not there */
    }
    return inode;
}

/* Whether pid holds the socket with that inode. */
static int pid_holds_socket(pid_t pid, long inode)
{
    char path[64], link[64], want[64];
    struct dirent *e;
    DIR *dir;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
    snprintf(want, sizeof(want), "socket:[%ld]", inode);
    if ((dir = opendir(path)) == NULL)
        return 0;
    while (!found && (e = readdir(dir)) != NULL) {
        char fd_path[320];
        ssize_t n;

        snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
        n = readlink(fd_path, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            found = strcmp(link, want) == 0;
        }
    }
    closedir(dir);
    return found;
}

/* Waits (FC_WAIT_MS) until the worker holding the server side of client
 * fd's connection is known: its pid, which must be one of pids[0, n). */
static pid_t wait_accepted_by(unsigned server_port, int fd, const pid_t *pids, size_t n)
{
    unsigned client = local_port(fd);
    int64_t end = test_clock_ms() + FC_WAIT_MS;

    for (;;) {
        long inode = tcp_server_inode(server_port, client);

        for (size_t i = 0; inode > 0 && i < n; i++)
            if (pid_holds_socket(pids[i], inode))
                return pids[i];
        if (test_clock_ms() >= end) {
            fprintf(stderr, "connection from port %u: server side inode %ld, not held by any of "
                    "the %zu workers expected\n", client, inode, n);
            TEST_ASSERT(!"the connection was not accepted by the workers expected");
        }
        test_pause_ms(10);
    }
}

/* ---- kill -9 of a worker under load ------------------------------------------------ */

/* wrk keeps K9_CONNS keep-alive connections busy, one request in flight on
 * each; moss never closes them (max_requests_per_connection is high), so
 * the victim holds a steady share, read from /stats just before the kill.
 * The client may lose at most one request per connection the victim held
 * (wrk counts one error and reconnects); the connections queued on the
 * shared listener are not lost, the other worker takes them. */
#define K9_CONNS (RUNNING_ON_VALGRIND ? 8u : 50u)
#define K9_SLACK 3                 /* connections accepted between the /stats read and the kill */
#define K9_GOAL_MS 1000            /* a new worker accepting: the goal */
#define K9_BOUND_MS (5000 * MASTER_SLOW)

struct k9_victim {
    pid_t pid, other;
    json_int_t slot, held;
};

/* The worker with the fewest connections but some (so that the bound is
 * at most half of them, whatever the spread); the other one. */
static void k9_pick(const struct master *m, struct k9_victim *v)
{
    json_t *stats = fc_stats(m), *w;
    json_int_t best = -1;
    size_t i;

    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        json_int_t held = entry_int(w, "connections_active");

        if (held > 0 && (best == -1 || held < best)) {
            best = held;
            v->pid = (pid_t)entry_int(w, "pid");
            v->slot = entry_int(w, "slot");
        }
    }
    TEST_ASSERT(best > 0);
    v->held = best;
    json_array_foreach(json_object_get(stats, "workers"), i, w)
        if ((pid_t)entry_int(w, "pid") != v->pid)
            v->other = (pid_t)entry_int(w, "pid");
    json_decref(stats);
}

/* The victim's slot has a new ready worker: its pid, else 0; its requests
 * into *requests. */
static pid_t k9_fresh(json_t *stats, const struct k9_victim *v, json_int_t *requests)
{
    json_t *w;
    size_t i;

    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        if (entry_int(w, "slot") == v->slot && (pid_t)entry_int(w, "pid") != v->pid &&
            strcmp(entry_state(w), "ready") == 0) {
            *requests = entry_int(w, "requests");
            return (pid_t)entry_int(w, "pid");
        }
    }
    return 0;
}

static void k9_run(const char *name, const char *const *extra)
{
    json_int_t conns = K9_CONNS, requests = 0;
    int64_t t0, ready_ms = -1, serving_ms = -1, end;
    int probes = 0, probe_failures = 0;
    struct k9_victim v = {0};
    struct wrk_result r;
    struct wrk_run wrk;
    struct master m;
    pid_t fresh = 0;
    json_t *stats;
    long errors;
    char body[64];

    master_start(&m, extra);
    wrk_start(&wrk, m.port, "/", K9_CONNS, FC_WRK_SECONDS);
    fc_wait_load(&m);
    TEST_ASSERT(master_wait(&m, connections_at_least_, &conns, FC_WAIT_MS) == 0);
    k9_pick(&m, &v);
    t0 = test_clock_ms();
    TEST_ASSERT(kill(v.pid, SIGKILL) == 0);
    /* a new worker in the slot, ready, then serving; the listener never
     * stops answering meanwhile (probes: fresh connections) */
    for (end = t0 + FC_WAIT_MS; serving_ms < 0 && test_clock_ms() < end; test_pause_ms(5)) {
        stats = fc_stats(&m);
        fresh = k9_fresh(stats, &v, &requests);
        json_decref(stats);
        if (fresh != 0 && ready_ms < 0)
            ready_ms = test_clock_ms() - t0;
        if (fresh != 0 && requests > 0) {
            serving_ms = test_clock_ms() - t0;
            break;
        }
        probes++;
        probe_failures += http_get(m.port, "/", NULL, body, sizeof(body)) != 200;
    }
    test_pause_ms(300); /* load on the new pair of workers too */
    fc_wrk_stop(&wrk, &r);
    errors = r.socket_errors + r.non_2xx;
    fprintf(stderr,
            "%s: wrk -c %u: the victim (slot %lld) held %lld connections (N/2 = %u); "
            "client errors %ld (socket %ld, non-2xx %ld) of %ld requests; bound %lld\n",
            name, K9_CONNS, (long long)v.slot, (long long)v.held, K9_CONNS / 2, errors,
            r.socket_errors, r.non_2xx, r.requests, (long long)(v.held + K9_SLACK));
    fprintf(stderr,
            "%s: new worker %ld ready after %lld ms, serving after %lld ms: "
            "the %d ms goal is %s; %d probes, %d failed\n",
            name, (long)fresh, (long long)ready_ms, (long long)serving_ms, K9_GOAL_MS,
            serving_ms >= 0 && serving_ms <= K9_GOAL_MS ? "met" : "NOT met", probes,
            probe_failures);
    TEST_ASSERT(fresh != 0 && serving_ms >= 0);
    TEST_ASSERT(serving_ms <= K9_BOUND_MS);
    TEST_ASSERT(probe_failures == 0);
    TEST_ASSERT(r.requests > 0);
    TEST_ASSERT(errors <= v.held + K9_SLACK);
    /* the other worker went on untouched; the slot counts one respawn */
    stats = fc_stats(&m);
    TEST_ASSERT(entry_by_pid(stats, v.other) != NULL);
    TEST_ASSERT(entry_int(entry_by_pid(stats, v.other), "respawns") == 0);
    TEST_ASSERT(entry_by_pid(stats, fresh) != NULL);
    TEST_ASSERT(entry_int(entry_by_pid(stats, fresh), "respawns") == 1);
    TEST_ASSERT(entry_int(entry_by_pid(stats, fresh), "requests") > 0);
    json_decref(stats);
    TEST_ASSERT(master_stop(&m, SIGTERM, FC_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
}

/* The default: one listening socket, shared; whichever worker wakes first
 * accepts, so the spread of wrk's connections over the two is uneven. */
static void case_kill9_worker_under_load(void)
{
    static const char *const extra[] = {"-w", "2", "--max_requests_per_connection", "1000000",
                                        NULL};

    k9_run("kill9_worker", extra);
}

/* reuse_port: a socket per slot, the kernel spreading connections about
 * evenly (the victim holds about N/2); the victim's socket is kept by the
 * master, so the connections queued on it wait for the slot's next worker. */
static void case_kill9_worker_reuse_port(void)
{
    static const char *const extra[] = {"-w", "2", "--max_requests_per_connection", "1000000",
                                        "--reuse_port", "on", NULL};

    k9_run("kill9_worker_reuse_port", extra);
}

/* ---- kill -9 of the master --------------------------------------------------------- */

/* The workers get SIGTERM when the master dies (PR_SET_PDEATHSIG): they
 * drain, so the request in flight is answered, and exit 0. They are
 * orphans then, reparented to the test (a subreaper: master_spawn), whose
 * children they are: reaped and, if need be, killed by their pid. */
#define KM_SLEEP_MS (RUNNING_ON_VALGRIND ? 3000 : 1000)

/* Reaps the orphaned worker pid: its wait status, or -1 if it is still
 * running after bound_ms (then killed and reaped). */
static int km_reap(pid_t pid, int bound_ms)
{
    int status;

    if (test_wait_exit(pid, bound_ms, &status) == 0)
        return status;
    fprintf(stderr, "worker %ld outlived its master: killing it\n", (long)pid);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void case_kill9_master(void)
{
    static char graceful[32];
    static const char *const extra[] = {"-w", "2", "--graceful_timeout", graceful, NULL};
    pid_t pids[FC_PIDS_MAX];
    json_int_t one = 1;
    struct master m;
    int64_t t0, gone_ms;
    char text[64];
    int fd, in_use, status[FC_PIDS_MAX];
    size_t n;

    snprintf(graceful, sizeof(graceful), "%ds", 10 * MASTER_SLOW);
    master_start(&m, extra);
    n = fc_worker_pids(&m, pids);
    TEST_ASSERT(n == 2);
    fd = master_sleep_send(m.port, KM_SLEEP_MS);
    TEST_ASSERT(master_wait(&m, connections_at_least_, &one, FC_WAIT_MS) == 0);
    t0 = test_clock_ms();
    TEST_ASSERT(kill(m.pid, SIGKILL) == 0);
    master_sleep_finish(fd, KM_SLEEP_MS, "kill9_master"); /* drained, not cut */
    in_use = procs_gone(pids, n, FC_WAIT_MS);
    gone_ms = test_clock_ms() - t0;
    for (size_t i = 0; i < n; i++)
        status[i] = km_reap(pids[i], in_use == 0 ? FC_WAIT_MS : 0);
    fprintf(stderr, "kill9_master: the %zu workers were gone %lld ms after the master's SIGKILL "
            "(one was serving a %d ms request)\n", n, (long long)gone_ms, KM_SLEEP_MS);
    if (in_use != 0)
        fprintf(stderr, "log:\n%s\n", master_log(&m));
    TEST_ASSERT(in_use == 0);
    for (size_t i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "moss[%ld]: SIGTERM received", (long)pids[i]);
        if (strstr(master_log(&m), text) == NULL || !WIFEXITED(status[i]) ||
            WEXITSTATUS(status[i]) != 0)
            fprintf(stderr, "worker %ld: wait status %#x; log:\n%s\n", (long)pids[i],
                    (unsigned)status[i], master_log(&m));
        TEST_ASSERT(strstr(master_log(&m), text) != NULL); /* noticed: PR_SET_PDEATHSIG */
        TEST_ASSERT(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0); /* drained, exited */
    }
    /* nothing holds the port: it refuses, and it can be bound again */
    TEST_ASSERT(try_connect(m.port) == -1 && errno == ECONNREFUSED);
    TEST_ASSERT(try_connect(m.admin_port) == -1 && errno == ECONNREFUSED);
    {
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)m.port)};
        int on = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        TEST_ASSERT(s != -1);
        TEST_ASSERT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0);
        TEST_ASSERT(bind(s, (struct sockaddr *)&addr, sizeof(addr)) == 0);
        TEST_ASSERT(listen(s, 1) == 0);
        close(s);
    }
    TEST_ASSERT(master_stop(&m, 0, FC_WAIT_MS) == 128 + SIGKILL);
    TEST_ASSERT(m.leftovers == 0);
}

/* ---- EMFILE -------------------------------------------------------------------------- */

/* One worker whose RLIMIT_NOFILE is lowered to EMFILE_LIMIT once it runs
 * (prlimit on its pid: the master raises its soft limit to the hard one at
 * start, so a limit set in the test before the start would be undone), and
 * max_connections far above it. EMFILE_CONNS connections are opened: the
 * worker accepts until accept fails with EMFILE, the rest wait in the
 * listener's queue (FIFO: the first ones connected are the ones accepted).
 * /stats counts the backoff episodes (accept_backoffs), one a log line. */
#define EMFILE_LIMIT (RUNNING_ON_VALGRIND ? 128 : 64)
#define EMFILE_CONNS (EMFILE_LIMIT + 40)
#define EMFILE_FREED 10
#define EMFILE_IO_MS (10000 * MASTER_SLOW)

static int emfile_connect(unsigned port)
{
    int fd = test_client_connect(port); /* completes in the backlog, accepted or not */

    set_timeouts(fd, EMFILE_IO_MS);
    return fd;
}

static void case_emfile(void)
{
    static const char *const extra[] = {"-w", "1", "--max_connections", "100000", NULL};
    struct rlimit saved, low;
    int fds[EMFILE_CONNS], status;
    pid_t worker[FC_PIDS_MAX];
    json_int_t accepted;
    int64_t t_freed, recovered_ms;
    struct master m;
    json_t *stats;
    char body[64];

    master_start(&m, extra);
    TEST_ASSERT(fc_worker_pids(&m, worker) == 1);
    TEST_ASSERT(prlimit(worker[0], RLIMIT_NOFILE, NULL, &saved) == 0);
    low = saved;
    low.rlim_cur = low.rlim_max = EMFILE_LIMIT;
    TEST_ASSERT(prlimit(worker[0], RLIMIT_NOFILE, &low, NULL) == 0);
    TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    for (int i = 0; i < EMFILE_CONNS; i++)
        fds[i] = emfile_connect(m.port);
    if (master_log_wait(&m, "Too many open files; backing off", FC_WAIT_MS) != 0)
        fprintf(stderr, "no EMFILE backoff with %d connections; log:\n%s\n", EMFILE_CONNS,
                master_log(&m));
    TEST_ASSERT(master_log_wait(&m, "Too many open files; backing off", 0) == 0);
    accepted = fc_int(&m, "totals.connections_active");
    fprintf(stderr, "emfile: RLIMIT_NOFILE %d: the worker accepted %lld of %d connections\n",
            EMFILE_LIMIT, (long long)accepted, EMFILE_CONNS);
    TEST_ASSERT(accepted > EMFILE_FREED && accepted < EMFILE_CONNS);
    /* out of fds, the worker serves the connections it has */
    for (int i = 0; i < accepted; i++) {
        ka_send(fds[i], "/");
        status = ka_read(fds[i]);
        if (status != 200)
            fprintf(stderr, "emfile: accepted connection %d: status %d\n", i, status);
        TEST_ASSERT(status == 200);
    }
    /* the first queued one asks; some accepted ones close: it is served */
    ka_send(fds[accepted], "/");
    t_freed = test_clock_ms();
    for (int i = (int)accepted - EMFILE_FREED; i < accepted; i++) {
        close(fds[i]);
        fds[i] = -1;
    }
    status = ka_read(fds[accepted]);
    recovered_ms = test_clock_ms() - t_freed;
    fprintf(stderr, "emfile: %d connections closed: the first queued one answered %d after "
            "%lld ms\n", EMFILE_FREED, status, (long long)recovered_ms);
    TEST_ASSERT(status == 200);
    TEST_ASSERT(master_log_wait(&m, "accepting again", FC_WAIT_MS) == 0);
    /* all closed: every connection is accepted again, fresh ones served */
    for (int i = 0; i < EMFILE_CONNS; i++)
        if (fds[i] != -1)
            close(fds[i]);
    TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(strcmp(body, "Hello, World!") == 0);
    fprintf(stderr, "emfile: log: %zu 'backing off' lines, %zu 'accepting again' lines\n",
            fc_count_in(master_log(&m), "; backing off"), fc_count_in(master_log(&m), "accepting again"));
    stats = fc_stats(&m); /* the same worker throughout: no crash, no respawn */
    TEST_ASSERT(entry_by_pid(stats, worker[0]) != NULL);
    TEST_ASSERT(entry_int(entry_by_pid(stats, worker[0]), "respawns") == 0);
    TEST_ASSERT(entry_int(entry_by_pid(stats, worker[0]), "accept_backoffs") >= 1);
    TEST_ASSERT(entry_int(entry_by_pid(stats, worker[0]), "accept_backoffs") ==
                (json_int_t)fc_count_in(master_log(&m), "; backing off"));
    json_decref(stats);
    TEST_ASSERT(master_stop(&m, SIGTERM, FC_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
}

/* ---- a reload while the previous reload still drains --------------------------------- */

/* -w 2 under wrk load, paced (RD_DELAY_MS between a response and the next
 * request on a connection, far below the drain's 200 ms idle grace): wrk
 * at full speed takes both cores of a small CI host, and a worker or wrk
 * kept off the CPU for 200 ms loses requests to the drain (see
 * drain_after_stall), which is not what this case is about. Generation 1 is held draining by requests in flight
 * (/sleep) when the first SIGHUP's generation 2 takes over; generation 2 is
 * given requests in flight of its own (each connection checked, through
 * /proc, to be held by a generation 2 worker) before the second SIGHUP: at
 * generation 3's commit, three generations are alive. Every sleep ends 200,
 * wrk sees no error, and generations 1 and 2 are gone at the end. */
#define RD_SLEEP_MS (RUNNING_ON_VALGRIND ? 15000 : 3000) /* < request_timeout (30 s) */
#define RD_SLEEPS 2                /* per generation held */
#define RD_CONNS (RUNNING_ON_VALGRIND ? 4u : 20u)
#define RD_DELAY_MS 2              /* wrk's pause between a response and the next request */

/* Whether /stats lists a worker of generation, draining. */
static int rd_has_draining(const struct master *m, json_int_t generation)
{
    json_t *stats = fc_stats(m), *w;
    size_t i;
    int found = 0;

    json_array_foreach(json_object_get(stats, "workers"), i, w)
        found |= entry_int(w, "generation") == generation &&
                 strcmp(entry_state(w), "draining") == 0;
    json_decref(stats);
    return found;
}

/* Sends RD_SLEEPS sleeps and waits until each is held by one of pids. */
static void rd_hold(const struct master *m, const pid_t *pids, size_t n, int *fds)
{
    for (int i = 0; i < RD_SLEEPS; i++) {
        fds[i] = master_sleep_send(m->port, RD_SLEEP_MS);
        wait_accepted_by(m->port, fds[i], pids, n);
    }
}

/* Whether every worker listed is of generation, and there are count. */
struct rd_only {
    json_int_t generation;
    size_t count;
};

static int rd_only_generation(json_t *stats, void *arg)
{
    const struct rd_only *want = arg;
    json_t *w;
    size_t i;

    json_array_foreach(json_object_get(stats, "workers"), i, w)
        if (entry_int(w, "generation") != want->generation)
            return 0;
    return stats_workers(stats, NULL) == want->count;
}

static void case_reload_while_draining(void)
{
    static char graceful[32];
    static const char *const extra[] = {"-w", "2", "--graceful_timeout", graceful, NULL};
    pid_t gen1[FC_PIDS_MAX], gen2[FC_PIDS_MAX], old[2 * FC_PIDS_MAX];
    int held1[RD_SLEEPS], held2[RD_SLEEPS];
    int64_t t0, second_ms, done_ms;
    struct rd_only only;
    struct wrk_result r;
    struct wrk_run wrk;
    json_int_t g;
    struct master m;
    json_t *stats;
    size_t n1, n2;

    snprintf(graceful, sizeof(graceful), "%ds", 10 * MASTER_SLOW);
    master_start(&m, extra);
    g = fc_int(&m, "generation");
    stats = fc_stats(&m);
    n1 = stats_ready_pids(stats, gen1, FC_PIDS_MAX);
    json_decref(stats);
    TEST_ASSERT(n1 == 2);
    fc_wrk_paced_start(&wrk, m.dir, m.port, "/", RD_CONNS, FC_WRK_SECONDS, RD_DELAY_MS);
    fc_wait_load(&m);
    t0 = test_clock_ms();
    rd_hold(&m, gen1, n1, held1);
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    fc_wait_generation(&m, g + 1);
    TEST_ASSERT(rd_has_draining(&m, g)); /* held by its sleeps */
    stats = fc_stats(&m);
    n2 = stats_ready_pids(stats, gen2, FC_PIDS_MAX);
    json_decref(stats);
    TEST_ASSERT(n2 == 2);
    rd_hold(&m, gen2, n2, held2);
    second_ms = test_clock_ms() - t0;
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    fc_wait_generation(&m, g + 2);
    /* three generations at once: 1 and 2 draining, 3 serving */
    TEST_ASSERT(rd_has_draining(&m, g));
    TEST_ASSERT(rd_has_draining(&m, g + 1));
    for (int i = 0; i < RD_SLEEPS; i++)
        master_sleep_finish(held1[i], RD_SLEEP_MS, "reload_while_draining, generation 1");
    for (int i = 0; i < RD_SLEEPS; i++)
        master_sleep_finish(held2[i], RD_SLEEP_MS, "reload_while_draining, generation 2");
    only = (struct rd_only){g + 2, 2};
    TEST_ASSERT(master_wait(&m, rd_only_generation, &only, FC_WAIT_MS) == 0);
    memcpy(old, gen1, n1 * sizeof(*old));
    memcpy(old + n1, gen2, n2 * sizeof(*old));
    TEST_ASSERT(procs_gone(old, n1 + n2, FC_WAIT_MS) == 0);
    done_ms = test_clock_ms() - t0;
    test_pause_ms(200); /* load on generation 3 alone */
    fc_wrk_stop(&wrk, &r);
    fprintf(stderr, "reload_while_draining: second SIGHUP %lld ms after the first sleeps were "
            "sent (generation %lld draining), all older workers gone after %lld ms; wrk: %ld "
            "requests, %ld socket errors, %ld non-2xx\n", (long long)second_ms, (long long)g,
            (long long)done_ms, r.requests, r.socket_errors, r.non_2xx);
    if (r.socket_errors != 0 || r.non_2xx != 0)
        fprintf(stderr, "reload_while_draining: log:\n%s\n", master_log(&m));
    TEST_ASSERT(r.requests > 0);
    TEST_ASSERT(r.socket_errors == 0);
    TEST_ASSERT(r.non_2xx == 0);
    stats = fc_stats(&m);
    TEST_ASSERT(stats_int(stats, "generation") == g + 2);
    TEST_ASSERT(stats_int(stats, "reloads.ok") == 2);
    TEST_ASSERT(stats_int(stats, "reloads.failed") == 0);
    json_decref(stats);
    TEST_ASSERT(master_stop(&m, SIGTERM, FC_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
}

/* ---- a draining worker stalled --------------------------------------------------------- */

/* A draining worker closes the keep-alive connections idle for 200 ms
 * (MOSS__DRAIN_IDLE_GRACE_MS); a request arriving sooner is served, with
 * Connection: close. Here every connection's last response is a few ms old
 * when the worker (draining: a reload) stops running for STALL_MS - SIGSTOP
 * stands for a host short of CPU, as the shared CI machines are, or for a
 * hub blocked by a greenlet - and each client sends its next request at
 * once, during the stall: well within the grace. When the worker runs
 * again, those requests are in its sockets and must be served (200, with
 * Connection: close), not reset.
 *
 * KNOWN TO FAIL (left enabled on purpose; see the report of the session
 * that wrote it): on resume the drain's sweep runs before the connections'
 * greenlets have read what arrived, finds them still marked idle since
 * before the stall, and cancels them: the close, with unread input, resets
 * every one. Under full-speed wrk on a loaded 2-core host this is what
 * makes a reload's client errors flaky. */
#define STALL_CONNS (RUNNING_ON_VALGRIND ? 3 : 8) /* a round of requests well under 200 ms */
#define STALL_CONNS_MAX 8
#define STALL_FRESH_MS 100         /* a last response this recent is well within the grace */
#define STALL_MS 400               /* past the 200 ms grace: natively and under valgrind */

static void case_drain_after_stall(void)
{
    static char graceful[32];
    static const char *const extra[] = {"-w", "1", "--graceful_timeout", graceful,
                                        "--max_requests_per_connection", "1000000", NULL};
    int fds[STALL_CONNS_MAX], status[STALL_CONNS_MAX], closed[STALL_CONNS_MAX];
    int sent[STALL_CONNS_MAX], fresh[STALL_CONNS_MAX];
    int64_t last[STALL_CONNS_MAX], end, stopped_at;
    int drained = -1, served = 0, reset = 0, eligible = 0;
    pid_t worker[FC_PIDS_MAX];
    struct master m;

    snprintf(graceful, sizeof(graceful), "%ds", 10 * MASTER_SLOW);
    master_start(&m, extra);
    TEST_ASSERT(fc_worker_pids(&m, worker) == 1);
    for (int i = 0; i < STALL_CONNS; i++) {
        fds[i] = test_client_connect(m.port);
        set_timeouts(fds[i], FC_WAIT_MS);
        last[i] = 0;
    }
    /* every connection busy, round robin, until a response says the
     * worker drains: then it stops, the others' last responses fresh */
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    for (end = test_clock_ms() + FC_WAIT_MS; drained == -1; ) {
        for (int i = 0; i < STALL_CONNS && drained == -1; i++) {
            int close_announced = 0;

            ka_send(fds[i], "/");
            TEST_ASSERT(ka_read_closed(fds[i], &close_announced) == 200);
            last[i] = test_clock_ms();
            if (close_announced) {
                TEST_ASSERT(kill(worker[0], SIGSTOP) == 0);
                drained = i;
            }
        }
        if (drained == -1 && test_clock_ms() >= end) {
            fprintf(stderr, "drain_after_stall: no response said Connection: close; log:\n%s\n",
                    master_log(&m));
            TEST_ASSERT(!"the worker never drained");
        }
    }
    stopped_at = test_clock_ms();
    /* no assertion until the worker runs again: a failed case must not
     * leave it stopped. Only connections whose last response is surely
     * within the grace are asked (a slow round, under valgrind, could let
     * one idle past it before the stop: then its close is right). */
    for (int i = 0; i < STALL_CONNS; i++) {
        static const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

        fresh[i] = i != drained && stopped_at - last[i] < STALL_FRESH_MS;
        eligible += fresh[i];
        sent[i] = fresh[i] && send(fds[i], request, sizeof(request) - 1, MSG_NOSIGNAL) ==
                                  (ssize_t)sizeof(request) - 1;
    }
    test_pause_ms(STALL_MS);
    TEST_ASSERT(kill(worker[0], SIGCONT) == 0);
    for (int i = 0; i < STALL_CONNS; i++) {
        status[i] = closed[i] = 0;
        if (!fresh[i])
            continue;
        status[i] = sent[i] ? ka_read_closed(fds[i], &closed[i]) : -2;
        served += status[i] == 200;
        reset += status[i] == -1;
    }
    fprintf(stderr, "drain_after_stall: the worker stopped for %d ms, its connections' last "
            "responses at most %d ms old; of the %d requests sent meanwhile, %d served, %d reset "
            "or cut\n", STALL_MS, STALL_FRESH_MS, eligible, served, reset);
    for (int i = 0; i < STALL_CONNS; i++) {
        close(fds[i]);
        if (fresh[i] && (status[i] != 200 || !closed[i]))
            fprintf(stderr, "drain_after_stall: connection %d (last response %lld ms before the "
                    "stop): status %d%s\n", i, (long long)(stopped_at - last[i]), status[i],
                    status[i] == 200 ? ", without Connection: close" : "");
    }
    TEST_ASSERT(eligible >= 1);
    for (int i = 0; i < STALL_CONNS; i++) {
        TEST_ASSERT(!fresh[i] || sent[i]);
        TEST_ASSERT(!fresh[i] || status[i] == 200);
        TEST_ASSERT(!fresh[i] || closed[i]); /* the last on a draining worker */
    }
    TEST_ASSERT(master_stop(&m, SIGTERM, FC_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
}

const struct moss_test_case moss_test_fault_cases[] = {
    {"kill9_worker_under_load", case_kill9_worker_under_load},
    {"kill9_worker_reuse_port", case_kill9_worker_reuse_port},
    {"kill9_master", case_kill9_master},
    {"emfile", case_emfile},
    {"access_log_full", fault_case_access_log_full},
    {"reload_while_draining", case_reload_while_draining},
    {"drain_after_stall", case_drain_after_stall},
    {NULL, NULL},
};
