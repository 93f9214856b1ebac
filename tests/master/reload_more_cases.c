/* More of the master's reload behaviour, on the real binary (see
 * reload_cases.c, which holds the table): a SIGHUP queued behind a reload
 * that is rolled back; the binary upgrade on SIGUSR2, under load and when
 * the new binary cannot start; reuse_port sockets kept per slot across a
 * reload; a unix socket listener; sockets passed in by systemd's socket
 * activation; and settings a reload cannot change.
 *
 * Two of these start the master themselves rather than through
 * master_start, because they need what it does not give: a listening
 * socket at fd 3 (activation), or no -b flag, so that the config file's
 * bind is the one in force. They fill a struct master all the same, so
 * that the fixture's /stats, log and stop work on it. */
#include "reload_cases.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define START_ATTEMPTS 5           /* a free port taken meanwhile: try another */

/* ---- a master started by the case ------------------------------------------------ */

/* The child: its output to the log, listen_fd (unless -1) at fd 3 as
 * LISTEN_FDS=1 for itself, then MOSS_BIN. Both fds are close-on-exec:
 * only their copies at 1, 2 and 3 go on. */
__attribute__((noreturn))
static void own_child(pid_t parent, int log_fd, int listen_fd, char *const argv[])
{
    char pid[16];

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(126);
    signal(SIGPIPE, SIG_DFL);
    if (fcntl(log_fd, F_SETFD, FD_CLOEXEC) == -1 || dup2(log_fd, STDOUT_FILENO) == -1 || dup2(log_fd, STDERR_FILENO) == -1)
        _exit(126);
    if (listen_fd != -1) {
        /* dup2 onto itself would keep close-on-exec: clear it either way */
        if ((listen_fd != 3 && dup2(listen_fd, 3) == -1) || fcntl(3, F_SETFD, 0) == -1)
            _exit(126);
        snprintf(pid, sizeof(pid), "%ld", (long)getpid());
        setenv("LISTEN_PID", pid, 1);
        setenv("LISTEN_FDS", "1", 1);
        unsetenv("LISTEN_FDNAMES");
    }
    close(STDIN_FILENO);
    open("/dev/null", O_RDONLY);
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Starts argv (argv[0] is MOSS_BIN) as m's master, m->admin_port being its
 * --admin, and waits until all its workers are ready: 0, or -1 if it
 * exited first (reaped; its log says why). */
static int own_start(struct master *m, char *const argv[], int listen_fd)
{
    int64_t end = test_clock_ms() + RL_WAIT_MS;
    pid_t parent = getpid();
    int status;

    m->log_fd = test_output_file();
    fflush(NULL);
    m->pid = fork();
    TEST_ASSERT(m->pid != -1);
    if (m->pid == 0)
        own_child(parent, m->log_fd, listen_fd, argv);
    while (test_clock_ms() < end) {
        json_t *stats;

        if (waitpid(m->pid, &status, WNOHANG) == m->pid)
            return -1;
        if ((stats = master_stats(m)) != NULL) {
            int ready = master_all_ready(stats, NULL);

            json_decref(stats);
            if (ready)
                return 0;
        }
        test_pause_ms(20);
    }
    fprintf(stderr, "moss not ready within %d ms:\n%s\n", RL_WAIT_MS, master_log(m));
    TEST_ASSERT(!"own master start timed out");
    return -1;
}

/* After a failed own_start: whether to try again on other ports. */
static int own_retry(struct master *m)
{
    int in_use = strstr(master_log(m), "in use") != NULL;

    if (!in_use)
        fprintf(stderr, "moss exited before serving:\n%s\n", master_log(m));
    TEST_ASSERT(in_use);
    close(m->log_fd);
    return 1;
}

/* /stats lists one listener, m's port: nothing else was bound. */
static void own_check_listener(const struct master *m)
{
    json_t *stats = rl_stats(m), *listeners = json_object_get(stats, "listeners");
    const char *address = json_string_value(json_object_get(json_array_get(listeners, 0),
                                                            "address"));
    char want[64];

    snprintf(want, sizeof(want), "127.0.0.1:%u", m->port);
    TEST_ASSERT(json_array_size(listeners) == 1);
    TEST_ASSERT(address != NULL && strcmp(address, want) == 0);
    json_decref(stats);
}

static const char *own_bin(void)
{
    const char *bin = getenv("MOSS_BIN");

    TEST_ASSERT(bin != NULL);
    return bin;
}

/* ---- a SIGHUP queued behind a reload that is rolled back --------------------------- */

/* The reloads that ended, either way. */
static int qr_has_ended(json_t *stats, void *arg)
{
    return stats_int(stats, "reloads.ok") + stats_int(stats, "reloads.failed") >=
           *(const json_int_t *)arg;
}

/* A reload rolled back at reload_timeout, with a SIGHUP queued behind it:
 * the queued reload starts as the rolled-back workers are told to stop,
 * and must not be failed by their deaths (they are not its workers). */
void rl_case_hup_queued_after_rollback(void)
{
    char fail[RL_PATH_MAX], wait[RL_PATH_MAX], timeout[32];
    struct master m = {0};
    json_int_t held, ended = 2;

    snprintf(timeout, sizeof(timeout), "%dms", 1000 * MASTER_SLOW);
    rl_when_start(&m, fail, wait, sizeof(fail), timeout);
    held = rl_int(&m, "generation") + 1;
    master_write_file(&m, "init.wait", "");
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    rl_wait_starting(&m, held, 2);
    TEST_ASSERT(kill(m.pid, SIGHUP) == 0);
    TEST_ASSERT(master_log_wait(&m, "another reload follows", RL_WAIT_MS) == 0);
    rl_wait_failed(&m, 1); /* the first, at reload_timeout */
    TEST_ASSERT(unlink(wait) == 0);
    TEST_ASSERT(master_wait(&m, qr_has_ended, &ended, RL_WAIT_MS) == 0);
    if (rl_int(&m, "reloads.ok") != 1)
        fprintf(stderr, "the queued reload failed; log:\n%s\n", master_log(&m));
    TEST_ASSERT(rl_int(&m, "reloads.ok") == 1);
    TEST_ASSERT(rl_int(&m, "reloads.failed") == 1);
    rl_wait_generation(&m, held);
    rl_get_ok(m.port, "/", "plugin ok");
    rl_stop(&m);
}

/* ---- a binary upgrade ------------------------------------------------------------- */

/* The new master is reparented to the test (a subreaper) only once the old
 * one exits; a case failing before that would leave it running: this
 * kills it at the case's exit, whichever way the case ends. */
static pid_t up_fresh;

static void up_kill_fresh(void)
{
    if (up_fresh > 0)
        kill(up_fresh, SIGKILL);
}

/* The pid in path, or 0 (absent, being written). */
static pid_t up_read_pid(const char *path)
{
    char text[32] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd == -1)
        return 0;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    text[n > 0 ? n : 0] = '\0';
    return (pid_t)strtol(text, NULL, 10);
}

/* Waits until the pid file names another master than old: its pid. */
static pid_t up_wait_new_pid(const struct master *m, const char *path, pid_t old)
{
    int64_t end = test_clock_ms() + RL_WAIT_MS;
    pid_t pid;

    while ((pid = up_read_pid(path)) == old || pid <= 0) {
        if (test_clock_ms() >= end) {
            fprintf(stderr, "the pid file still names %ld; log:\n%s\n", (long)old,
                    master_log(m));
            TEST_ASSERT(!"no new master");
        }
        test_pause_ms(10);
    }
    return pid;
}

/* The new master's /stats: itself, generation 1, all of its own workers. */
static void up_check_new(const struct master *m, pid_t fresh, const pid_t *old_pids, size_t n)
{
    pid_t pids[RL_PIDS_MAX];
    json_t *stats = rl_stats(m);

    TEST_ASSERT(stats_int(stats, "pid") == fresh);
    TEST_ASSERT(stats_int(stats, "generation") == 1);
    TEST_ASSERT(master_all_ready(stats, NULL));
    TEST_ASSERT(stats_ready_pids(stats, pids, RL_PIDS_MAX) == n);
    TEST_ASSERT(rl_pids_disjoint(pids, n, old_pids, n));
    json_decref(stats);
}

#define UP_CONNS (RUNNING_ON_VALGRIND ? 8u : 50u)
#define UP_SECONDS (RUNNING_ON_VALGRIND ? 15u : 4u)

void rl_case_usr2_upgrade_under_load(void)
{
    static const char *const extra[] = {"-w", "2", "--pid", "%s/moss.pid", NULL};
    char pidfile[RL_PATH_MAX];
    pid_t old_pids[RL_PIDS_MAX], old;
    struct master m = {0};
    struct wrk_run wrk;
    int64_t wrk_start_ms, start;
    int status;
    size_t n;

    atexit(up_kill_fresh);
    master_start(&m, extra);
    old = m.pid;
    rl_path(&m, "moss.pid", pidfile, sizeof(pidfile));
    TEST_ASSERT(up_read_pid(pidfile) == old);
    n = rl_ready_pids(&m, old_pids);
    wrk_start_ms = test_clock_ms();
    wrk_start(&wrk, m.port, "/", UP_CONNS, UP_SECONDS);
    rl_wait_load(&m);
    start = test_clock_ms();
    TEST_ASSERT(kill(old, SIGUSR2) == 0);
    up_fresh = up_wait_new_pid(&m, pidfile, old);
    TEST_ASSERT(test_wait_exit(old, RL_WAIT_MS, &status) == 0);
    fprintf(stderr, "usr2_upgrade_under_load: SIGUSR2 to the old master's exit: %lld ms\n",
            (long long)(test_clock_ms() - start));
    m.pid = up_fresh; /* the test's child now (subreaper): master_stop waits for it */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fprintf(stderr, "the old master ended with wait status %#x; log:\n%s\n", status,
                master_log(&m));
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    TEST_ASSERT(strstr(master_log(&m), "is ready: this master stops") != NULL);
    rl_wrk_finish("usr2_upgrade_under_load", &wrk, wrk_start_ms);
    up_check_new(&m, up_fresh, old_pids, n);
    TEST_ASSERT(up_read_pid(pidfile) == up_fresh);
    rl_get_ok(m.port, "/", "Hello");
    rl_stop(&m);
    up_fresh = 0;
}

/* The new binary cannot start (its config file broke meanwhile): the
 * upgrade is abandoned and the old master goes on as it was. */
void rl_case_usr2_upgrade_abandoned(void)
{
    static const char *const extra[] = {"-c", "%s/moss.ini", "--pid", "%s/moss.pid", NULL};
    char pidfile[RL_PATH_MAX];
    pid_t pids[RL_PIDS_MAX], now[RL_PIDS_MAX];
    struct master m = {0};
    json_int_t generation;
    size_t n;

    master_prepare(&m);
    master_write_file(&m, "moss.ini", "workers = 2\n");
    master_start(&m, extra);
    rl_path(&m, "moss.pid", pidfile, sizeof(pidfile));
    generation = rl_int(&m, "generation");
    n = rl_ready_pids(&m, pids);
    master_write_file(&m, "moss.ini", "workers = 2\nmax_headers = lots\n");
    TEST_ASSERT(kill(m.pid, SIGUSR2) == 0);
    TEST_ASSERT(master_log_wait(&m, "upgrade abandoned", RL_WAIT_MS) == 0);
    TEST_ASSERT(strstr(master_log(&m), "moss.ini:2: max_headers") != NULL); /* the new one's */
    TEST_ASSERT(proc_alive(m.pid));
    TEST_ASSERT(up_read_pid(pidfile) == m.pid);
    TEST_ASSERT(rl_int(&m, "pid") == m.pid);
    TEST_ASSERT(rl_int(&m, "generation") == generation);
    TEST_ASSERT(rl_pids_equal(now, rl_ready_pids(&m, now), pids, n));
    rl_get_ok(m.port, "/", "Hello");
    rl_stop(&m);
}

/* ---- reuse_port: a socket per slot, kept across generations -------------------------- */

/* The inodes of the TCP sockets listening on 127.0.0.1:port
 * (/proc/net/tcp), into inodes (cap); their count. */
static size_t rp_listening(unsigned port, unsigned long *inodes, size_t cap)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    size_t n = 0;

    TEST_ASSERT(f != NULL);
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned addr, lport, state;
        unsigned long inode;

        if (sscanf(line, " %*u: %X:%X %*X:%*X %X %*X:%*X %*X:%*X %*X %*u %*u %lu", &addr,
                   &lport, &state, &inode) == 4 &&
            lport == port && state == 0x0A && n < cap)
            inodes[n++] = inode;
    }
    fclose(f);
    return n;
}

/* The one inode among listening[0, n) that pid holds an fd of; 0 if none,
 * and the case fails if it holds two. */
static unsigned long rp_held(pid_t pid, const unsigned long *listening, size_t n)
{
    char dir[64], link[384], target[64];
    unsigned long found = 0, inode;
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%ld/fd", (long)pid);
    d = opendir(dir);
    TEST_ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) {
        ssize_t len;

        snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) != 1)
            continue;
        for (size_t i = 0; i < n; i++)
            if (listening[i] == inode) {
                TEST_ASSERT(found == 0 || found == inode);
                found = inode;
            }
    }
    closedir(d);
    return found;
}

/* The listening socket each slot's ready worker holds, into by_slot[2]. */
static void rp_slot_sockets(const struct master *m, unsigned long *by_slot)
{
    unsigned long listening[8];
    size_t n = rp_listening(m->port, listening, 8);
    json_t *stats = rl_stats(m), *w;
    size_t i;

    TEST_ASSERT(n == 2); /* one per slot, none left by an older generation */
    by_slot[0] = by_slot[1] = 0;
    json_array_foreach(json_object_get(stats, "workers"), i, w) {
        json_int_t slot = json_integer_value(json_object_get(w, "slot"));

        if (!rl_worker_is(w, stats_int(stats, "generation"), "ready"))
            continue;
        TEST_ASSERT(slot == 0 || slot == 1);
        by_slot[slot] = rp_held((pid_t)json_integer_value(json_object_get(w, "pid")),
                                listening, n);
    }
    json_decref(stats);
    TEST_ASSERT(by_slot[0] != 0 && by_slot[1] != 0);
    TEST_ASSERT(by_slot[0] != by_slot[1]);
}

#define RP_SECONDS (RUNNING_ON_VALGRIND ? 10u : 3u)

void rl_case_reuse_port(void)
{
    static const char *const extra[] = {"-w", "2", "--reuse_port", "on", NULL};
    unsigned long before[2], after[2];
    struct master m = {0};
    struct wrk_run wrk;
    int64_t wrk_start_ms;
    json_t *stats;

    master_start(&m, extra);
    for (int i = 0; i < 8; i++)
        rl_get_ok(m.port, "/", "Hello");
    stats = rl_stats(&m);
    TEST_ASSERT(json_array_size(json_object_get(stats, "listeners")) == 1);
    TEST_ASSERT(json_is_integer(
        json_object_get(json_array_get(json_object_get(stats, "listeners"), 0), "queued")));
    json_decref(stats);
    rp_slot_sockets(&m, before);
    wrk_start_ms = test_clock_ms();
    wrk_start(&wrk, m.port, "/", UP_CONNS, RP_SECONDS);
    rl_wait_load(&m);
    rl_hup_wait(&m);
    rp_slot_sockets(&m, after);
    rl_wrk_finish("reuse_port", &wrk, wrk_start_ms);
    TEST_ASSERT(after[0] == before[0] && after[1] == before[1]);
    rl_stop(&m);
}

/* ---- a unix socket listener ---------------------------------------------------------- */

/* GET / over the unix socket at path: the status, or -1 if it fails. */
static int ux_get(const char *path)
{
    static const char request[] = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char reply[1024];
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), status = -1;
    ssize_t got;

    TEST_ASSERT(fd != -1);
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    test_client_timeouts(fd);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
        send_all(fd, request, sizeof(request) - 1);
        got = recv(fd, reply, sizeof(reply) - 1, 0);
        reply[got > 0 ? got : 0] = '\0';
        if (sscanf(reply, "HTTP/1.1 %d", &status) != 1)
            status = -1;
    }
    close(fd);
    return status;
}

/* The socket file: a socket, mode 0600; its inode. */
static ino_t ux_check_file(const char *path)
{
    struct stat st;

    TEST_ASSERT(stat(path, &st) == 0);
    TEST_ASSERT(S_ISSOCK(st.st_mode));
    TEST_ASSERT((st.st_mode & 0777) == 0600);
    return st.st_ino;
}

/* SIGTERM, and the master gone (a zombie, left for master_stop to reap). */
static void ux_terminate(const struct master *m)
{
    int64_t end = test_clock_ms() + RL_WAIT_MS;

    TEST_ASSERT(kill(m->pid, SIGTERM) == 0);
    while (proc_alive(m->pid)) {
        TEST_ASSERT(test_clock_ms() < end);
        test_pause_ms(10);
    }
}

void rl_case_unix_socket(void)
{
    static const char *const extra[] = {"-w", "2", "-b", "unix:%s/moss.sock",
                                        "--unix_mode", "0600", NULL};
    char path[RL_PATH_MAX], address[RL_PATH_MAX + 8];
    struct master m = {0};
    json_t *stats, *listeners;
    ino_t inode;

    master_start(&m, extra);
    rl_path(&m, "moss.sock", path, sizeof(path));
    inode = ux_check_file(path);
    TEST_ASSERT(ux_get(path) == 200);
    rl_get_ok(m.port, "/", "Hello");
    stats = rl_stats(&m);
    listeners = json_object_get(stats, "listeners");
    snprintf(address, sizeof(address), "unix:%s", path);
    TEST_ASSERT(json_array_size(listeners) == 2);
    TEST_ASSERT(strcmp(json_string_value(json_object_get(json_array_get(listeners, 1),
                                                         "address")), address) == 0);
    json_decref(stats);
    rl_hup_wait(&m);
    TEST_ASSERT(ux_check_file(path) == inode); /* the same socket, not bound again */
    TEST_ASSERT(ux_get(path) == 200);
    ux_terminate(&m);
    TEST_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
    TEST_ASSERT(master_stop(&m, 0, RL_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
}

/* ---- systemd socket activation --------------------------------------------------------- */

/* A listening socket on 127.0.0.1, port chosen by the kernel; *port. */
static int act_listen(unsigned *port)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); /* own_child passes it on */

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(fd, (struct sockaddr *)&addr, len) == 0 && listen(fd, 128) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    *port = ntohs(addr.sin_port);
    return fd;
}

void rl_case_listen_fds_activation(void)
{
    char admin[64];
    struct master m = {0};
    int fd, attempt = 0;

    master_prepare(&m);
    fd = act_listen(&m.port);
    do {
        char *argv[] = {(char *)own_bin(), "--admin", admin, "--drain_grace", "0", "-w", "1",
                        NULL};

        TEST_ASSERT(attempt++ < START_ATTEMPTS);
        m.admin_port = test_free_port();
        snprintf(admin, sizeof(admin), "127.0.0.1:%u", m.admin_port);
        if (own_start(&m, argv, fd) == 0)
            break;
    } while (own_retry(&m));
    rl_get_ok(m.port, "/", "Hello");
    own_check_listener(&m); /* the socket passed in, and no default bind besides */
    rl_stop(&m);
    close(fd);
}

/* ---- settings a reload cannot change ------------------------------------------------------ */

/* moss -c m->dir/moss.ini (which binds m->port) --admin ...: the file's
 * bind in force, no -b flag over it. */
static void nr_start(struct master *m, char *config, size_t cap)
{
    char admin[64], text[128];
    int attempt = 0;

    rl_path(m, "moss.ini", config, cap);
    do {
        char *argv[] = {(char *)own_bin(), "-c", config, "--admin", admin, "--drain_grace", "0",
                        NULL};

        TEST_ASSERT(attempt++ < START_ATTEMPTS);
        m->port = test_free_port();
        m->admin_port = test_free_port();
        snprintf(admin, sizeof(admin), "127.0.0.1:%u", m->admin_port);
        snprintf(text, sizeof(text), "bind = 127.0.0.1:%u\nworkers = 2\n", m->port);
        master_write_file(m, "moss.ini", text);
        if (own_start(m, argv, -1) == 0)
            return;
    } while (own_retry(m));
}

/* The file rewritten to text, SIGHUP: refused, naming setting; the same
 * workers go on. */
static void nr_refused(const struct master *m, const char *text, const char *setting,
                       json_int_t failed)
{
    pid_t pids[RL_PIDS_MAX], now[RL_PIDS_MAX];
    size_t n = rl_ready_pids(m, pids);
    char want[96];
    json_t *stats;

    master_write_file(m, "moss.ini", text);
    TEST_ASSERT(kill(m->pid, SIGHUP) == 0);
    rl_wait_failed(m, failed);
    snprintf(want, sizeof(want), "%s changed: that needs a restart", setting);
    stats = rl_stats(m);
    TEST_ASSERT(!rl_last_ok(stats) && rl_last_error_has(stats, want));
    TEST_ASSERT(rl_pids_equal(now, stats_ready_pids(stats, now, RL_PIDS_MAX), pids, n));
    TEST_ASSERT(stats_workers(stats, NULL) == n);
    json_decref(stats);
    TEST_ASSERT(strstr(master_log(m), want) != NULL);
    rl_get_ok(m->port, "/", "Hello");
}

void rl_case_hup_bind_needs_restart(void)
{
    char config[RL_PATH_MAX], text[128];
    unsigned other = test_free_port();
    struct master m = {0};
    json_int_t generation;

    master_prepare(&m);
    nr_start(&m, config, sizeof(config));
    generation = rl_int(&m, "generation");
    snprintf(text, sizeof(text), "bind = 127.0.0.1:%u\nworkers = 2\n", other);
    nr_refused(&m, text, "bind", 1);
    own_check_listener(&m); /* the other port not bound */
    snprintf(text, sizeof(text), "bind = 127.0.0.1:%u\nworkers = 2\nbacklog = 64\n", m.port);
    nr_refused(&m, text, "backlog", 2);
    TEST_ASSERT(rl_int(&m, "generation") == generation);
    snprintf(text, sizeof(text), "bind = 127.0.0.1:%u\nworkers = 1\n", m.port);
    master_write_file(&m, "moss.ini", text);
    rl_hup_wait(&m); /* what a reload may change still reloads */
    TEST_ASSERT(rl_int(&m, "generation") == generation + 1);
    TEST_ASSERT(rl_int(&m, "workers_wanted") == 1);
    rl_stop(&m);
}
