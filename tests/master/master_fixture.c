/* The master fixture (master_fixture.h): the real moss binary as a prefork
 * server on free loopback ports, its /stats read with plain blocking
 * sockets and jansson, its processes followed through /proc. Every wait is
 * bounded; every process started here is ended by its pid, and a worker is
 * only ever signalled while /proc shows the same process (pid and start
 * time) that was seen as the master's worker, so that a reused pid is never
 * hit. */
#include "master_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR_PREFIX "/tmp/moss-master-"
#define START_WAIT_MS 15000        /* for every wanted worker ready (times MASTER_SLOW) */
#define IO_WAIT_S 5                /* a socket's send and receive timeouts */
#define KILL_WAIT_MS 5000          /* for a process after SIGKILL */
#define LEFTOVER_WAIT_MS 2000      /* for workers to go once their master has */
#define WRK_WAIT_MS 60000
#define LOG_CAP (1 << 20)
#define RAW_CAP (1 << 20)
#define ARGS_MAX 64
#define KNOWN_MAX 256
#define START_ATTEMPTS 5

/* ---- /proc ----------------------------------------------------------------------- */

struct proc_stat {
    char state;
    pid_t ppid;
    unsigned long long start;      /* since boot, in clock ticks: with the pid, unique */
};

/* pid's /proc/PID/stat: 0, or -1 if it is gone. */
static int proc_stat_read(pid_t pid, struct proc_stat *st)
{
    char path[64], text[1024], *close_paren;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    text[n] = '\0';
    close_paren = strrchr(text, ')'); /* the command name may hold anything */
    if (close_paren == NULL ||
        sscanf(close_paren + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
               "%*d %*d %*d %llu", &st->state, &st->ppid, &st->start) != 3)
        return -1;
    return 0;
}

/* Whether pid is alive (not a zombie) and, unless start is 0, started then. */
static int proc_live(pid_t pid, unsigned long long start)
{
    struct proc_stat st;

    return pid > 0 && proc_stat_read(pid, &st) == 0 && (start == 0 || st.start == start) &&
           st.state != 'Z' && st.state != 'X';
}

int proc_alive(pid_t pid)
{
    return proc_live(pid, 0);
}

pid_t proc_parent(pid_t pid)
{
    struct proc_stat st;

    return pid > 0 && proc_stat_read(pid, &st) == 0 ? st.ppid : -1;
}

int procs_gone(const pid_t *pids, size_t n, int timeout_ms)
{
    int64_t end = test_clock_ms() + timeout_ms;
    size_t i = 0;

    while (i < n) {
        if (!proc_alive(pids[i]))
            i++; /* a process gone stays gone */
        else if (test_clock_ms() >= end)
            return -1;
        else
            test_pause_ms(10);
    }
    return 0;
}

/* Processes seen as the master's workers, each with its start time. */
struct known {
    pid_t pids[KNOWN_MAX];
    unsigned long long starts[KNOWN_MAX];
    size_t count;
};

static void known_add(struct known *k, pid_t pid)
{
    struct proc_stat st;

    for (size_t i = 0; i < k->count; i++)
        if (k->pids[i] == pid)
            return;
    if (k->count < KNOWN_MAX && pid > 0 && proc_stat_read(pid, &st) == 0) {
        k->pids[k->count] = pid;
        k->starts[k->count++] = st.start;
    }
}

/* The children /proc shows for parent. */
static void known_children(struct known *k, pid_t parent)
{
    DIR *dir = opendir("/proc");
    struct dirent *e;

    if (dir == NULL)
        return; /* then only what /stats said is known */
    while ((e = readdir(dir)) != NULL) {
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);

        if (pid > 0 && proc_parent(pid) == parent)
            known_add(k, pid);
    }
    closedir(dir);
}

/* ---- waiting for a process ---------------------------------------------------------- */

/* Whether pid has ended (without reaping it: master_stop takes its status). */
static int fixture_exited(pid_t pid)
{
    siginfo_t info = {0};

    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0)
        return info.si_pid == pid;
    return !proc_alive(pid); /* not the test's child (yet): an upgrade's new master */
}

/* Waits up to timeout_ms for pid to end, reaping it: 0 with *status, or -1.
 * A process that is not the test's child has no status to take: 255. */
static int fixture_wait(pid_t pid, int timeout_ms, int *status)
{
    int64_t end = test_clock_ms() + timeout_ms;

    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);

        if (got == pid)
            return 0;
        if (got == -1 && errno == ECHILD && !proc_alive(pid)) {
            fprintf(stderr, "master %ld was not the test's child: no exit status\n", (long)pid);
            *status = 255 << 8;
            return 0;
        }
        TEST_ASSERT(got != -1 || errno == ECHILD);
        if (test_clock_ms() >= end)
            return -1;
        test_pause_ms(5);
    }
}

/* ---- starting ----------------------------------------------------------------------- */

/* The structs whose directory master_prepare (or the spawn) made, until
 * master_stop removes it: known by address, so that the fields of a struct
 * the case did not initialise are never read. */
static const struct master *fixture_prepared[16];

/* The entry of fixture_prepared holding m (NULL: a free one), or NULL. */
static const struct master **fixture_prepared_entry(const struct master *m)
{
    for (size_t i = 0; i < sizeof(fixture_prepared) / sizeof(fixture_prepared[0]); i++)
        if (fixture_prepared[i] == m)
            return &fixture_prepared[i];
    return NULL;
}

static int fixture_remove_entry(const char *path, const struct stat *st, int flag,
                                struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    if (remove(path) == -1)
        fprintf(stderr, "remove(%s): %s\n", path, strerror(errno));
    return 0;
}

/* A case that fails ends at once (Check's _exit): its processes die with
 * it (PR_SET_PDEATHSIG), its directory stays. Directories are named after
 * the test process, so that the next one removes those of processes gone. */
static void fixture_sweep(void)
{
    DIR *dir = opendir("/tmp");
    const char *prefix = DIR_PREFIX + strlen("/tmp/");
    struct dirent *e;
    char path[300];

    while (dir != NULL && (e = readdir(dir)) != NULL) {
        char *end = e->d_name;
        long owner = strncmp(e->d_name, prefix, strlen(prefix)) == 0
                         ? strtol(e->d_name + strlen(prefix), &end, 10) : 0;

        if (owner <= 0 || *end != '-' || owner == (long)getpid() || kill((pid_t)owner, 0) == 0 ||
            errno != ESRCH)
            continue;
        snprintf(path, sizeof(path), "/tmp/%s", e->d_name);
        nftw(path, fixture_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (dir != NULL)
        closedir(dir);
}

void master_prepare(struct master *m)
{
    static pid_t swept;
    const struct master **entry = fixture_prepared_entry(m);

    if (swept != getpid()) {
        swept = getpid();
        fixture_sweep();
    }
    if (entry == NULL)
        entry = fixture_prepared_entry(NULL);
    TEST_ASSERT(entry != NULL); /* more than 16 at once */
    *entry = m;
    memset(m, 0, sizeof(*m));
    m->log_fd = -1;
    snprintf(m->dir, sizeof(m->dir), "%s%ld-XXXXXX", DIR_PREFIX, (long)getpid());
    TEST_ASSERT(mkdtemp(m->dir) != NULL);
}

void master_write_file(const struct master *m, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", m->dir, name);
    f = fopen(path, "w");
    TEST_ASSERT(f != NULL);
    TEST_ASSERT(fputs(text, f) >= 0);
    TEST_ASSERT(fclose(f) == 0);
}

/* The directory master_prepare made for m, else a new one. */
static void fixture_dir(struct master *m)
{
    if (fixture_prepared_entry(m) == NULL)
        master_prepare(m);
}

/* --admin off and --admin_token TOKEN among extra, as m records them. */
static void fixture_note_extra(struct master *m, const char *const *extra, int *admin_off)
{
    *admin_off = 0;
    m->admin_token[0] = '\0';
    for (; extra != NULL && *extra != NULL; extra++) {
        if (strcmp(*extra, "--admin=off") == 0 ||
            (strcmp(*extra, "--admin") == 0 && extra[1] != NULL && strcmp(extra[1], "off") == 0))
            *admin_off = 1;
        else if (strcmp(*extra, "--admin") == 0 || strncmp(*extra, "--admin=", 8) == 0)
            *admin_off = 0;
        if (strncmp(*extra, "--admin_token=", 14) == 0)
            snprintf(m->admin_token, sizeof(m->admin_token), "%s", *extra + 14);
        else if (strcmp(*extra, "--admin_token") == 0 && extra[1] != NULL)
            snprintf(m->admin_token, sizeof(m->admin_token), "%s", extra[1]);
    }
}

/* arg with every "%s" replaced by dir. */
static void fixture_expand(char *out, size_t cap, const char *arg, const char *dir)
{
    size_t len = 0;

    while (*arg != '\0' && len + 1 < cap) {
        if (arg[0] == '%' && arg[1] == 's') {
            len += (size_t)snprintf(out + len, cap - len, "%s", dir);
            len = len < cap ? len : cap - 1;
            arg += 2;
        } else {
            out[len++] = *arg++;
        }
    }
    out[len] = '\0';
}

/* MOSS_BIN -b ... --admin ... --drain_grace 0 extra..., on fresh ports. */
static void fixture_spawn_once(struct master *m, const char *const *extra, int admin_off)
{
    static char expanded[ARGS_MAX][512];
    char bind[64], admin[64], *argv[ARGS_MAX + 8];
    size_t n = 0;

    argv[n++] = getenv("MOSS_BIN");
    TEST_ASSERT(argv[0] != NULL);
    m->port = test_free_port();
    do
        m->admin_port = admin_off ? 0 : test_free_port();
    while (m->admin_port == m->port);
    snprintf(bind, sizeof(bind), "127.0.0.1:%u", m->port);
    snprintf(admin, sizeof(admin), "127.0.0.1:%u", m->admin_port);
    argv[n++] = "-b";
    argv[n++] = bind;
    if (!admin_off) {
        argv[n++] = "--admin";
        argv[n++] = admin;
    }
    argv[n++] = "--drain_grace";
    argv[n++] = "0";
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        TEST_ASSERT(i < ARGS_MAX);
        fixture_expand(expanded[i], sizeof(expanded[i]), extra[i], m->dir);
        argv[n++] = expanded[i];
    }
    argv[n] = NULL;
    m->log_fd = test_output_file();
    m->pid = test_spawn(argv, m->log_fd);
}

void master_spawn(struct master *m, const char *const *extra)
{
    int admin_off;

    /* an upgrade's new master outlives its parent, the old one: it comes
     * to the test, which can then wait for it */
    TEST_ASSERT(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
    fixture_dir(m);
    fixture_note_extra(m, extra, &admin_off);
    fixture_spawn_once(m, extra, admin_off);
}

/* Whether every wanted worker serves: by /stats, or without an admin
 * port by the log. */
static int fixture_serving(const struct master *m)
{
    json_t *stats;
    int ready;

    if (m->admin_port == 0)
        return strstr(master_log(m), "generation 1 ready") != NULL;
    stats = master_stats(m);
    ready = stats != NULL && master_all_ready(stats, NULL);
    json_decref(stats);
    return ready;
}

/* SIGKILL to the master and to every process known as its worker. */
static void fixture_kill_all(struct master *m, struct known *k)
{
    int status;

    known_children(k, m->pid);
    kill(m->pid, SIGKILL);
    if (fixture_wait(m->pid, KILL_WAIT_MS, &status) == -1)
        fprintf(stderr, "master %ld outlived SIGKILL\n", (long)m->pid);
    for (size_t i = 0; i < k->count; i++)
        if (proc_live(k->pids[i], k->starts[i]))
            kill(k->pids[i], SIGKILL);
}

/* m's directory goes, and the fixture forgets m. */
static void fixture_remove_dir(struct master *m)
{
    const struct master **entry = fixture_prepared_entry(m);

    if (m->dir[0] != '\0')
        nftw(m->dir, fixture_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    m->dir[0] = '\0';
    if (entry != NULL)
        *entry = NULL;
}

/* The master did not come up: its log, then nothing of it left behind. */
__attribute__((noreturn))
static void fixture_start_failed(struct master *m, const char *why)
{
    struct known k = {.count = 0};

    fprintf(stderr, "master: %s; its output:\n%s\n", why, master_log(m));
    fixture_kill_all(m, &k);
    fixture_remove_dir(m);
    moss_test_fail(why, __FILE__, __LINE__);
}

/* Waits for the master to serve: 0, or 1 if it exited first. */
static int fixture_wait_serving(struct master *m)
{
    int64_t end = test_clock_ms() + START_WAIT_MS * MASTER_SLOW;

    while (test_clock_ms() < end) {
        if (fixture_serving(m))
            return 0;
        if (fixture_exited(m->pid))
            return 1;
        test_pause_ms(20);
    }
    fixture_start_failed(m, "not every worker ready in time");
}

void master_start(struct master *m, const char *const *extra)
{
    int status;

    master_spawn(m, extra);
    for (int attempt = 1;; attempt++) {
        if (fixture_wait_serving(m) == 0)
            return;
        if (strstr(master_log(m), "in use") == NULL || attempt == START_ATTEMPTS)
            fixture_start_failed(m, "exited before serving");
        /* a port taken meanwhile by another process: new ones */
        fixture_wait(m->pid, KILL_WAIT_MS, &status);
        close(m->log_fd);
        fixture_spawn_once(m, extra, m->admin_port == 0);
    }
}

/* ---- stopping ----------------------------------------------------------------------- */

/* The master's workers, by its last /stats and by /proc. */
static void fixture_collect(const struct master *m, struct known *k)
{
    json_t *stats = master_stats(m), *workers = json_object_get(stats, "workers"), *w;
    size_t i;

    k->count = 0;
    json_array_foreach(workers, i, w) {
        json_t *pid = json_object_get(w, "pid");

        if (json_is_integer(pid))
            known_add(k, (pid_t)json_integer_value(pid));
    }
    json_decref(stats);
    known_children(k, m->pid);
}

/* How many known processes are still alive. */
static size_t known_live(const struct known *k)
{
    size_t n = 0;

    for (size_t i = 0; i < k->count; i++)
        n += proc_live(k->pids[i], k->starts[i]);
    return n;
}

/* Workers alive after their master exited: said, then killed; their count. */
static unsigned fixture_end_leftovers(const struct known *k)
{
    int64_t end = test_clock_ms() + LEFTOVER_WAIT_MS * MASTER_SLOW;
    unsigned killed = 0;

    while (known_live(k) != 0 && test_clock_ms() < end)
        test_pause_ms(10);
    for (size_t i = 0; i < k->count; i++) {
        if (proc_live(k->pids[i], k->starts[i])) {
            fprintf(stderr, "worker %ld outlived its master: killing it\n", (long)k->pids[i]);
            kill(k->pids[i], SIGKILL);
            killed++;
        }
    }
    return killed;
}

int master_stop(struct master *m, int sig, int timeout_ms)
{
    struct known k;
    int status = 0;

    fixture_collect(m, &k);
    TEST_ASSERT(kill(m->pid, sig) == 0 || errno == ESRCH);
    if (fixture_wait(m->pid, timeout_ms, &status) == -1) {
        fprintf(stderr, "master %ld still running %d ms after %s; its output:\n%s\n",
                (long)m->pid, timeout_ms, strsignal(sig), master_log(m));
        fixture_kill_all(m, &k);
        fixture_remove_dir(m);
        TEST_ASSERT(!"the master did not exit");
    }
    m->leftovers = fixture_end_leftovers(&k);
    fixture_remove_dir(m);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the log ------------------------------------------------------------------------ */

const char *master_log(const struct master *m)
{
    static char log[LOG_CAP];

    return test_output_read(m->log_fd, log, sizeof(log));
}

int master_log_wait(const struct master *m, const char *text, int timeout_ms)
{
    int64_t end = test_clock_ms() + timeout_ms;

    for (;;) {
        if (strstr(master_log(m), text) != NULL)
            return 0;
        if (test_clock_ms() >= end)
            return -1;
        test_pause_ms(10);
    }
}

/* ---- HTTP --------------------------------------------------------------------------- */

int master_connect(unsigned port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = IO_WAIT_S * MASTER_SLOW};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -1;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

int master_sleep_send(unsigned port, int ms)
{
    int64_t wait_ms = ms + 20000 * MASTER_SLOW;
    struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
    char request[160];
    int fd = test_client_connect(port);

    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0);
    snprintf(request, sizeof(request),
             "GET /sleep?ms=%d HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", ms);
    send_all(fd, request, strlen(request));
    return fd;
}

void master_sleep_finish(int fd, int ms, const char *what)
{
    char reply[1024], want[64];
    size_t got = 0;
    ssize_t n;

    while (got < sizeof(reply) - 1 && (n = recv(fd, reply + got, sizeof(reply) - 1 - got, 0)) > 0)
        got += (size_t)n;
    reply[got] = '\0';
    close(fd);
    snprintf(want, sizeof(want), "slept %d ms", ms);
    if (strncmp(reply, "HTTP/1.1 200", 12) != 0 || strstr(reply, want) == NULL)
        fprintf(stderr, "%s: the in-flight /sleep got '%s' (wanted 200 '%s')\n", what, reply,
                want);
    TEST_ASSERT(strncmp(reply, "HTTP/1.1 200", 12) == 0);
    TEST_ASSERT(strstr(reply, want) != NULL);
}

/* Sends text (short: one send) and reads to the peer's close: the bytes
 * read, or -1. */
static ssize_t fixture_exchange(int fd, const char *text, char *raw, size_t cap)
{
    size_t len = strlen(text), done;
    ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

    if (n != (ssize_t)len)
        return -1;
    for (done = 0; done < cap - 1; done += (size_t)n) {
        n = recv(fd, raw + done, cap - 1 - done, 0);
        if (n == 0)
            break;
        if (n < 0)
            return done > 0 ? (ssize_t)done : -1; /* a reset after the answer */
    }
    raw[done] = '\0';
    return (ssize_t)done;
}

int http_get(unsigned port, const char *path, const char *headers, char *body, size_t cap)
{
    static char raw[RAW_CAP];
    char request[2048], *head_end;
    int fd = master_connect(port), status;
    ssize_t n;
    size_t len;

    if (cap > 0)
        body[0] = '\0';
    if (fd == -1)
        return -1;
    snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close"
             "\r\n%s\r\n", path, headers != NULL ? headers : "");
    n = fixture_exchange(fd, request, raw, sizeof(raw));
    close(fd);
    if (n <= 0 || sscanf(raw, "HTTP/1.%*d %d", &status) != 1 ||
        (head_end = strstr(raw, "\r\n\r\n")) == NULL)
        return -1;
    len = (size_t)(raw + n - (head_end + 4));
    if (cap > 0) {
        len = len < cap - 1 ? len : cap - 1;
        memcpy(body, head_end + 4, len);
        body[len] = '\0';
    }
    return status;
}

/* ---- /stats ------------------------------------------------------------------------- */

json_t *master_stats(const struct master *m)
{
    static char body[RAW_CAP];
    char auth[300] = "";
    json_error_t error;
    json_t *doc;

    if (m->admin_port == 0)
        return NULL;
    if (m->admin_token[0] != '\0')
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", m->admin_token);
    if (http_get(m->admin_port, "/stats", auth, body, sizeof(body)) != 200)
        return NULL;
    doc = json_loads(body, 0, &error);
    if (doc == NULL)
        fprintf(stderr, "/stats is not JSON: %s: %.300s\n", error.text, body);
    return doc;
}

int master_wait(const struct master *m, int (*cond)(json_t *stats, void *arg), void *arg,
                int timeout_ms)
{
    int64_t end = test_clock_ms() + timeout_ms;

    for (;;) {
        json_t *stats = master_stats(m);
        int done = stats != NULL && cond(stats, arg);

        json_decref(stats);
        if (done)
            return 0;
        if (test_clock_ms() >= end || fixture_exited(m->pid))
            return -1;
        test_pause_ms(20);
    }
}

/* The value at a dotted path ("reloads.ok", "workers.0.pid"), or NULL. */
static json_t *stats_at(json_t *stats, const char *path)
{
    char key[128];
    json_t *v = stats;

    while (v != NULL && *path != '\0') {
        size_t len = strcspn(path, ".");

        snprintf(key, sizeof(key), "%.*s", (int)len, path);
        v = json_is_array(v) ? json_array_get(v, strtoul(key, NULL, 10))
                             : json_object_get(v, key);
        path += len + (path[len] == '.');
    }
    return v;
}

/* null is -1; a missing or non-integer figure fails the case (the schema
 * is what the tests check). */
json_int_t stats_int(json_t *stats, const char *path)
{
    json_t *v = stats_at(stats, path);

    if (json_is_null(v))
        return -1;
    if (!json_is_integer(v)) {
        fprintf(stderr, "/stats: %s is missing or not an integer\n", path);
        TEST_ASSERT(!"a /stats figure is missing");
    }
    return json_integer_value(v);
}

/* A /stats worker entry's state, or "". */
static const char *worker_state(json_t *w)
{
    const char *s = json_string_value(json_object_get(w, "state"));

    return s != NULL ? s : "";
}

size_t stats_workers(json_t *stats, const char *state)
{
    json_t *w;
    size_t i, n = 0;

    json_array_foreach(json_object_get(stats, "workers"), i, w)
        n += state == NULL || strcmp(worker_state(w), state) == 0;
    return n;
}

static int pid_cmp(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

    return (x > y) - (x < y);
}

size_t stats_ready_pids(json_t *stats, pid_t *pids, size_t cap)
{
    json_t *w;
    size_t i, n = 0;

    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        json_t *pid = json_object_get(w, "pid");

        if (n < cap && strcmp(worker_state(w), "ready") == 0 && json_is_integer(pid))
            pids[n++] = (pid_t)json_integer_value(pid);
    }
    qsort(pids, n, sizeof(*pids), pid_cmp);
    return n;
}

int master_all_ready(json_t *stats, void *arg)
{
    json_int_t generation = stats_int(stats, "generation");
    json_t *w;
    size_t i, ready = 0;

    (void)arg;
    if (generation < 1)
        return 0;
    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        const char *s = worker_state(w);

        if (strcmp(s, "starting") == 0 || strcmp(s, "backoff") == 0 || s[0] == '\0')
            return 0;
        ready += strcmp(s, "ready") == 0 &&
                 json_integer_value(json_object_get(w, "generation")) == generation;
    }
    return (json_int_t)ready == stats_int(stats, "workers_wanted");
}

/* ---- wrk ---------------------------------------------------------------------------- */

void wrk_start(struct wrk_run *run, unsigned port, const char *path, unsigned conns,
               unsigned seconds)
{
    char url[256], c[16], d[16];
    char *argv[] = {"wrk", "-t1", c, d, "--latency", url, NULL};

    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    snprintf(c, sizeof(c), "-c%u", conns);
    snprintf(d, sizeof(d), "-d%us", seconds);
    run->out_fd = test_output_file();
    run->pid = test_spawn(argv, run->out_fd);
}

/* The sum of wrk's "Socket errors: connect A, read B, write C, timeout D";
 * 0 when it printed none. */
static long wrk_socket_errors(const char *out)
{
    const char *at = strstr(out, "Socket errors:");
    long c = 0, r = 0, w = 0, t = 0;

    if (at != NULL && sscanf(at, "Socket errors: connect %ld, read %ld, write %ld, timeout %ld",
                             &c, &r, &w, &t) != 4)
        TEST_ASSERT(!"wrk's socket errors line has changed");
    return c + r + w + t;
}

void wrk_finish(struct wrk_run *run, struct wrk_result *result)
{
    static char out[65536];
    const char *line, *non_2xx;
    int status = 0;

    if (test_wait_exit(run->pid, WRK_WAIT_MS * MASTER_SLOW, &status) == -1) {
        kill(run->pid, SIGKILL);
        waitpid(run->pid, &status, 0);
        TEST_ASSERT(!"wrk did not end");
    }
    test_output_read(run->out_fd, out, sizeof(out));
    close(run->out_fd);
    line = strstr(out, " requests in ");
    if (line == NULL)
        fprintf(stderr, "wrk (installed? apt-get install wrk):\n%s\n", out);
    TEST_ASSERT(line != NULL);
    while (line > out && line[-1] != '\n')
        line--;
    non_2xx = strstr(out, "Non-2xx or 3xx responses:");
    *result = (struct wrk_result){
        .requests = strtol(line, NULL, 10), .socket_errors = wrk_socket_errors(out),
        .non_2xx = non_2xx != NULL ? strtol(non_2xx + 25, NULL, 10) : 0};
    fprintf(stderr, "wrk: %.*s\n", (int)strcspn(line, "\n"), line);
}
