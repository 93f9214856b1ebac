/* The master's dealings with the operating system (master/os.h): sd_notify
 * datagrams as a service manager receives them, the pid file, the
 * socket-activation protocol both ways, dropping privileges and CPU
 * affinity. Whatever changes the fd table, the ids or the affinity of a
 * process runs in a child of the case's own, which reports through its exit
 * status and is waited for with a bound and ended by its pid. Environment
 * variables a case sets are restored before it returns; temporary files live
 * in a directory of /tmp that the case removes. */
#include "../../master/os.h"
#include "harness.h"
#include "os_cases.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define SLOW (RUNNING_ON_VALGRIND ? 10 : 1)
#define CHILD_WAIT_MS 10000
#define RECV_TIMEOUT_S 5

/* ---- helpers ------------------------------------------------------------------------ */

/* A variable's value on entry, to put back with env_restore. */
struct saved_env {
    const char *name;
    char *value; /* NULL: it was unset */
};

static struct saved_env env_save(const char *name)
{
    const char *value = getenv(name);
    struct saved_env saved = {.name = name, .value = value != NULL ? strdup(value) : NULL};

    TEST_ASSERT(value == NULL || saved.value != NULL);
    return saved;
}

static void env_restore(struct saved_env *saved)
{
    if (saved->value != NULL)
        TEST_ASSERT(setenv(saved->name, saved->value, 1) == 0);
    else
        TEST_ASSERT(unsetenv(saved->name) == 0);
    free(saved->value);
    saved->value = NULL;
}

static void temp_dir(char *dir, size_t cap)
{
    TEST_ASSERT((size_t)snprintf(dir, cap, "/tmp/moss-os-XXXXXX") < cap);
    TEST_ASSERT(mkdtemp(dir) != NULL);
}

/* The entries of dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    TEST_ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void file_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(text);

    TEST_ASSERT(fd != -1);
    TEST_ASSERT(write(fd, text, len) == (ssize_t)len);
    TEST_ASSERT(close(fd) == 0);
}

/* The file's text, "" when it is missing. */
static char *file_read(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = 0;

    buf[0] = '\0';
    if (fd == -1) {
        TEST_ASSERT(errno == ENOENT);
        return buf;
    }
    n = read(fd, buf, cap - 1);
    close(fd);
    TEST_ASSERT(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* A check inside a child of the case: the runner's failure report belongs
 * to the case's own process, so a child says what failed on stderr and
 * exits with 1. */
void os_child_fail(const char *file, const char *expr, int line)
{
    fprintf(stderr, "%s:%d: in child %ld: check failed: %s\n", file, line,
            (long)getpid(), expr);
    _exit(1);
}

/* Runs body in a child that dies with the case, and asserts it exits 0
 * within the bound (else it is killed by its pid). */
void os_run_in_child(void (*body)(void))
{
    pid_t parent = getpid(), pid = fork();
    int status = 0;

    TEST_ASSERT(pid != -1);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(126);
        body();
        _exit(0);
    }
    if (test_wait_exit(pid, CHILD_WAIT_MS * SLOW, &status) == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        TEST_ASSERT(!"the child did not finish in time");
    }
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A child that waits to be killed: a live pid that is not ours. */
static pid_t live_child(void)
{
    pid_t parent = getpid(), pid = fork();

    TEST_ASSERT(pid != -1);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
            _exit(126);
        for (int i = 0; i < 600; i++) /* bounded: 60 s */
            test_pause_ms(100);
        _exit(0);
    }
    return pid;
}

static void end_child(pid_t pid)
{
    int status;

    TEST_ASSERT(kill(pid, SIGKILL) == 0);
    TEST_ASSERT(waitpid(pid, &status, 0) == pid);
}

/* The pid of a process that has exited and been reaped. */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    int status;

    TEST_ASSERT(pid != -1);
    if (pid == 0)
        _exit(0);
    TEST_ASSERT(test_wait_exit(pid, CHILD_WAIT_MS * SLOW, &status) == 0);
    return pid;
}

int os_running_as_root(const char *what)
{
    if (geteuid() == 0)
        return 1;
    fprintf(stderr, "os_cases: %s: skipped, needs root (running as uid %ld)\n", what,
            (long)geteuid());
    return 0;
}

/* The ids of user and group, from the test's own lookup. */
void os_ids_of(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(user);
    struct group *gr = group[0] != '\0' ? getgrnam(group) : NULL;

    CHILD_CHECK(pw != NULL && (group[0] == '\0' || gr != NULL));
    *uid = pw->pw_uid;
    *gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
}

/* ---- sd_notify ---------------------------------------------------------------------- */

/* A datagram socket bound to name ("/path" or "@abstract"), as systemd's
 * notify socket. */
static int notify_receiver(const char *name)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
    size_t len = strlen(name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    TEST_ASSERT(fd != -1 && len < sizeof(addr.sun_path));
    memcpy(addr.sun_path, name, len);
    if (name[0] == '@')
        addr.sun_path[0] = '\0';
    else
        len++;
    TEST_ASSERT(bind(fd, (struct sockaddr *)&addr,
                     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == 0);
    TEST_ASSERT(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    return fd;
}

/* The next datagram on fd (waiting at most RECV_TIMEOUT_S). */
static char *notify_received(int fd, char *buf, size_t cap)
{
    ssize_t n = recv(fd, buf, cap - 1, 0);

    TEST_ASSERT(n >= 0);
    buf[n] = '\0';
    return buf;
}

static int notify_pending(int fd)
{
    char buf[16];

    return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != -1 || errno != EAGAIN;
}

static void case_notify_path(void)
{
    struct saved_env saved = env_save("NOTIFY_SOCKET");
    char dir[64], path[96], buf[256];
    int fd;

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = notify_receiver(path);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", path, 1) == 0);
    TEST_ASSERT(moss__notify("READY=1\nSTATUS=serving on 127.0.0.1:8080") == 0);
    TEST_ASSERT(strcmp(notify_received(fd, buf, sizeof(buf)),
                       "READY=1\nSTATUS=serving on 127.0.0.1:8080") == 0);
    /* one datagram per call, and nothing more */
    TEST_ASSERT(moss__notify("WATCHDOG=1") == 0);
    TEST_ASSERT(strcmp(notify_received(fd, buf, sizeof(buf)), "WATCHDOG=1") == 0);
    TEST_ASSERT(!notify_pending(fd));
    close(fd);
    TEST_ASSERT(unlink(path) == 0 && rmdir(dir) == 0);
    env_restore(&saved);
}

/* "@name" is the abstract namespace: a leading NUL and no trailing one,
 * else the address is another and the send finds nobody. */
static void case_notify_abstract(void)
{
    struct saved_env saved = env_save("NOTIFY_SOCKET");
    char name[64], buf[256];
    int fd;

    snprintf(name, sizeof(name), "@moss-test-notify-%ld-%ld", (long)getpid(),
             (long)test_clock_ms());
    fd = notify_receiver(name);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", name, 1) == 0);
    TEST_ASSERT(moss__notify("STOPPING=1") == 0);
    TEST_ASSERT(strcmp(notify_received(fd, buf, sizeof(buf)), "STOPPING=1") == 0);
    close(fd);
    env_restore(&saved);
}

static uint64_t monotonic_usec(void)
{
    struct timespec ts;

    TEST_ASSERT(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The received "RELOADING=1\nMONOTONIC_USEC=N<rest>" has N within
 * [before, after] and rest exactly as given. */
static void expect_reloading(const char *got, uint64_t before, uint64_t after,
                             const char *rest)
{
    const char *prefix = "RELOADING=1\nMONOTONIC_USEC=";
    char *end;
    unsigned long long usec;

    TEST_ASSERT(strncmp(got, prefix, strlen(prefix)) == 0);
    got += strlen(prefix);
    TEST_ASSERT(*got >= '1' && *got <= '9');
    usec = strtoull(got, &end, 10);
    TEST_ASSERT(usec >= before && usec <= after);
    TEST_ASSERT(strcmp(end, rest) == 0);
}

static void case_notify_reloading(void)
{
    struct saved_env saved = env_save("NOTIFY_SOCKET");
    char dir[64], path[96], buf[512];
    uint64_t before, after;
    int fd;

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/notify", dir);
    fd = notify_receiver(path);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", path, 1) == 0);
    before = monotonic_usec();
    TEST_ASSERT(moss__notify_reloading("reloading: generation 2") == 0);
    after = monotonic_usec();
    expect_reloading(notify_received(fd, buf, sizeof(buf)), before, after,
                     "\nSTATUS=reloading: generation 2");
    before = monotonic_usec();
    TEST_ASSERT(moss__notify_reloading(NULL) == 0);
    after = monotonic_usec();
    expect_reloading(notify_received(fd, buf, sizeof(buf)), before, after, "");
    close(fd);
    TEST_ASSERT(unlink(path) == 0 && rmdir(dir) == 0);
    env_restore(&saved);
}

/* Not under systemd is not an error; a socket that is not there, or a
 * variable that names no unix socket, is. */
static void case_notify_absent_and_errors(void)
{
    struct saved_env saved = env_save("NOTIFY_SOCKET");
    char dir[64], path[96];

    TEST_ASSERT(unsetenv("NOTIFY_SOCKET") == 0);
    TEST_ASSERT(moss__notify("READY=1") == 0);
    TEST_ASSERT(moss__notify_reloading("x") == 0);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", "", 1) == 0);
    TEST_ASSERT(moss__notify("READY=1") == 0);
    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/missing", dir);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", path, 1) == 0);
    TEST_ASSERT(moss__notify("READY=1") == -1 && errno == ENOENT);
    TEST_ASSERT(moss__notify_reloading("x") == -1 && errno == ENOENT);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", "relative/notify", 1) == 0);
    TEST_ASSERT(moss__notify("READY=1") == -1 && errno == EINVAL);
    TEST_ASSERT(setenv("NOTIFY_SOCKET", "@", 1) == 0);
    TEST_ASSERT(moss__notify("READY=1") == -1 && errno == EINVAL);
    TEST_ASSERT(rmdir(dir) == 0);
    env_restore(&saved);
}

static void case_notify_watchdog(void)
{
    struct saved_env usec = env_save("WATCHDOG_USEC"), pid = env_save("WATCHDOG_PID");
    char text[32];

    TEST_ASSERT(unsetenv("WATCHDOG_USEC") == 0 && unsetenv("WATCHDOG_PID") == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 0);
    TEST_ASSERT(setenv("WATCHDOG_USEC", "30000000", 1) == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 30000000);
    snprintf(text, sizeof(text), "%ld", (long)getpid());
    TEST_ASSERT(setenv("WATCHDOG_PID", text, 1) == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 30000000);
    /* meant for another process (a parent that exec'd us) */
    snprintf(text, sizeof(text), "%ld", (long)getppid());
    TEST_ASSERT(setenv("WATCHDOG_PID", text, 1) == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 0);
    TEST_ASSERT(unsetenv("WATCHDOG_PID") == 0);
    TEST_ASSERT(setenv("WATCHDOG_USEC", "30s", 1) == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 0);
    TEST_ASSERT(setenv("WATCHDOG_USEC", "", 1) == 0);
    TEST_ASSERT(moss__notify_watchdog_usec() == 0);
    env_restore(&usec);
    env_restore(&pid);
}

/* ---- the pid file ------------------------------------------------------------------- */

static void case_pidfile_write_remove(void)
{
    char dir[64], path[96], buf[64], want[32], error[256] = "";
    struct stat st;

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/moss.pid", dir);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == 0);
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), want) == 0);
    TEST_ASSERT(stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644);
    /* the temporary file is gone: only the pid file is left */
    TEST_ASSERT(dir_entries(dir) == 1);
    /* our own pid already in the file is not "another moss" */
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == 0);
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), want) == 0);
    TEST_ASSERT(moss__pidfile_remove(path, getpid()) == 0);
    TEST_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
    /* already gone: still 0 */
    TEST_ASSERT(moss__pidfile_remove(path, getpid()) == 0);
    TEST_ASSERT(dir_entries(dir) == 0 && rmdir(dir) == 0);
}

/* A live process in the file is another moss: refused, the file left as
 * it was, unless it is the old master of an upgrade. */
static void case_pidfile_refuses_live(void)
{
    char dir[64], path[96], buf[64], text[32], want[32], error[256] = "";
    pid_t other = live_child();

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/moss.pid", dir);
    snprintf(text, sizeof(text), "%ld\n", (long)other);
    file_write(path, text);
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EEXIST && strstr(error, path) != NULL);
    snprintf(want, sizeof(want), "process %ld ", (long)other);
    TEST_ASSERT(strstr(error, want) != NULL);
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), text) == 0);
    TEST_ASSERT(dir_entries(dir) == 1);
    /* the old master of an upgrade is allowed */
    TEST_ASSERT(moss__pidfile_write(path, getpid(), other, error, sizeof(error)) == 0);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), want) == 0);
    end_child(other);
    TEST_ASSERT(dir_entries(dir) == 1);
    TEST_ASSERT(unlink(path) == 0 && rmdir(dir) == 0);
}

static char other_user_pidfile[96];

/* As nobody, root's process answers kill(pid, 0) with EPERM: alive all the
 * same, and the pid file is not taken from it. */
static void child_pidfile_other_user(void)
{
    char error[256] = "";
    uid_t uid;
    gid_t gid;

    os_ids_of("nobody", "nogroup", &uid, &gid);
    CHILD_CHECK(setgroups(0, NULL) == 0 && setgid(gid) == 0 && setuid(uid) == 0);
    CHILD_CHECK(kill(getppid(), 0) == -1 && errno == EPERM);
    CHILD_CHECK(moss__pidfile_write(other_user_pidfile, getpid(), 0, error,
                                    sizeof(error)) == -1);
    CHILD_CHECK(errno == EEXIST);
}

static void case_pidfile_live_other_user(void)
{
    char dir[64], buf[64], text[32];

    if (!os_running_as_root("pidfile_live_other_user"))
        return;
    temp_dir(dir, sizeof(dir));
    TEST_ASSERT(chmod(dir, 0777) == 0); /* so that only the check can refuse */
    snprintf(other_user_pidfile, sizeof(other_user_pidfile), "%s/moss.pid", dir);
    snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    file_write(other_user_pidfile, text);
    os_run_in_child(child_pidfile_other_user);
    TEST_ASSERT(strcmp(file_read(other_user_pidfile, buf, sizeof(buf)), text) == 0);
    TEST_ASSERT(dir_entries(dir) == 1);
    TEST_ASSERT(unlink(other_user_pidfile) == 0 && rmdir(dir) == 0);
}

/* A file left by a moss that died, or one we cannot read a pid from, is
 * replaced. */
static void case_pidfile_replaces_stale(void)
{
    static const char *junk[] = {"", "\n", "hello\n", "12x\n", "-5\n", "0\n",
                                 "99999999999999999999\n"};
    char dir[64], path[96], buf[64], text[32], want[32], error[256] = "";

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/moss.pid", dir);
    snprintf(want, sizeof(want), "%ld\n", (long)getpid());
    snprintf(text, sizeof(text), "%ld\n", (long)dead_pid());
    file_write(path, text);
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == 0);
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), want) == 0);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        file_write(path, junk[i]);
        TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == 0);
        TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), want) == 0);
    }
    TEST_ASSERT(dir_entries(dir) == 1);
    TEST_ASSERT(unlink(path) == 0 && rmdir(dir) == 0);
}

/* Exit removes the file only while it is still ours: the new master of an
 * upgrade may have written its own. */
static void case_pidfile_remove_only_ours(void)
{
    char dir[64], path[96], buf[64], text[32];

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/moss.pid", dir);
    snprintf(text, sizeof(text), "%ld\n", (long)getppid());
    file_write(path, text);
    TEST_ASSERT(moss__pidfile_remove(path, getpid()) == 0);
    TEST_ASSERT(strcmp(file_read(path, buf, sizeof(buf)), text) == 0);
    snprintf(text, sizeof(text), "%ld\n", (long)getpid());
    file_write(path, text);
    TEST_ASSERT(moss__pidfile_remove(path, getpid()) == 0);
    TEST_ASSERT(access(path, F_OK) == -1 && errno == ENOENT);
    TEST_ASSERT(rmdir(dir) == 0);
}

static void case_pidfile_errors(void)
{
    char dir[64], path[128], error[256] = "";

    temp_dir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/missing/moss.pid", dir);
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT);
    TEST_ASSERT(strstr(error, path) != NULL && strstr(error, "No such file or directory") != NULL);
    /* a directory where the file should be: it is not replaced */
    snprintf(path, sizeof(path), "%s/moss.pid", dir);
    TEST_ASSERT(mkdir(path, 0700) == 0);
    TEST_ASSERT(moss__pidfile_write(path, getpid(), 0, error, sizeof(error)) == -1);
    TEST_ASSERT(strstr(error, path) != NULL);
    TEST_ASSERT(rmdir(path) == 0);
    TEST_ASSERT(dir_entries(dir) == 0 && rmdir(dir) == 0);
}

/* ---- inherited listeners ------------------------------------------------------------ */

/* A listening TCP socket on 127.0.0.1 (a free port), blocking and
 * close-on-exec as the master's own are, moved to fd at (closing what was
 * there). Returns its port. */
static unsigned listener_at(int at, int listening)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    CHILD_CHECK(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHILD_CHECK(bind(fd, (struct sockaddr *)&addr, len) == 0);
    CHILD_CHECK(!listening || listen(fd, 8) == 0);
    CHILD_CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    if (fd != at) {
        CHILD_CHECK(dup3(fd, at, O_CLOEXEC) == at);
        close(fd);
    }
    return ntohs(addr.sin_port);
}

/* The local port of the socket at fd, or 0. */
static unsigned port_of(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);

    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1 || addr.sin_family != AF_INET)
        return 0;
    return ntohs(addr.sin_port);
}

static int env_is(const char *name, const char *want)
{
    const char *value = getenv(name);

    return want == NULL ? value == NULL : value != NULL && strcmp(value, want) == 0;
}

static int fd_closed(int fd)
{
    return fcntl(fd, F_GETFD) == -1 && errno == EBADF;
}

#define NAME_LEN 32

/* Sockets A at 4, B at 3 and C at 20 are passed in the order (A, B, C),
 * with 5 free: each must reach its place without a move destroying a
 * source not yet moved, or a temporary copy landing in 3..5 (where closing
 * it afterwards would close a result). */
static void listen_pass_shuffled(unsigned ports[3])
{
    char names[3][NAME_LEN] = {"alpha", "beta", "gamma"}, pid[32];
    int fds[3] = {4, 3, 20};

    ports[0] = listener_at(4, 1);
    ports[1] = listener_at(3, 1);
    ports[2] = listener_at(20, 1);
    for (int fd = 5; fd <= 8; fd++)
        close(fd); /* 5, and where the temporaries of the move would go */
    CHILD_CHECK(moss__listen_fds_pass(fds, names[0], NAME_LEN, 3) == 0);
    for (int i = 0; i < 3; i++) {
        CHILD_CHECK(port_of(3 + i) == ports[i]);
        CHILD_CHECK(fcntl(3 + i, F_GETFD) == 0); /* exec keeps them */
    }
    CHILD_CHECK(fd_closed(6) && fd_closed(7) && fd_closed(8));
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    CHILD_CHECK(env_is("LISTEN_PID", pid) && env_is("LISTEN_FDS", "3"));
    CHILD_CHECK(env_is("LISTEN_FDNAMES", "alpha:beta:gamma"));
}

static void child_listen_pass_take(void)
{
    char names[4][NAME_LEN], error[256] = "";
    unsigned ports[3];
    int fds[4] = {-1, -1, -1, -1};
    size_t count = 99;

    listen_pass_shuffled(ports);
    memset(names, 'x', sizeof(names));
    CHILD_CHECK(moss__listen_fds_take(fds, names[0], NAME_LEN, 4, &count, error,
                                      sizeof(error)) == 0);
    CHILD_CHECK(count == 3 && fds[0] == 3 && fds[1] == 4 && fds[2] == 5);
    CHILD_CHECK(strcmp(names[0], "alpha") == 0 && strcmp(names[1], "beta") == 0);
    CHILD_CHECK(strcmp(names[2], "gamma") == 0);
    for (int i = 0; i < 3; i++) {
        CHILD_CHECK(port_of(3 + i) == ports[i]);
        CHILD_CHECK(fcntl(3 + i, F_GETFD) & FD_CLOEXEC);
        CHILD_CHECK(fcntl(3 + i, F_GETFL) & O_NONBLOCK);
    }
    CHILD_CHECK(env_is("LISTEN_PID", NULL) && env_is("LISTEN_FDS", NULL));
    CHILD_CHECK(env_is("LISTEN_FDNAMES", NULL));
    /* taken once: a second take finds nothing */
    CHILD_CHECK(moss__listen_fds_take(fds, names[0], NAME_LEN, 4, &count, error,
                                      sizeof(error)) == 0 && count == 0);
}

static void case_listen_fds_pass_take(void)
{
    os_run_in_child(child_listen_pass_take);
}

/* No names (systemd without FileDescriptorName=): "" for each, and a stale
 * LISTEN_FDNAMES is not passed on. */
static void child_listen_no_names(void)
{
    char names[2][NAME_LEN] = {"old", "old"}, error[256] = "";
    int fds[2];
    size_t count = 0;
    unsigned port = listener_at(20, 1);

    CHILD_CHECK(setenv("LISTEN_FDNAMES", "stale:stale", 1) == 0);
    fds[0] = 20;
    CHILD_CHECK(moss__listen_fds_pass(fds, NULL, 0, 1) == 0);
    CHILD_CHECK(env_is("LISTEN_FDS", "1") && env_is("LISTEN_FDNAMES", NULL));
    CHILD_CHECK(moss__listen_fds_take(fds, names[0], NAME_LEN, 2, &count, error,
                                      sizeof(error)) == 0);
    CHILD_CHECK(count == 1 && fds[0] == 3 && port_of(3) == port && names[0][0] == '\0');
}

static void case_listen_fds_no_names(void)
{
    os_run_in_child(child_listen_no_names);
}

/* Variables absent, or meant for another process (LISTEN_PID is our
 * parent's): nothing is taken and fd 3 is left as it was. */
static void child_listen_not_ours(void)
{
    char pid[32], error[256] = "";
    int fds[2] = {-1, -1};
    size_t count = 99;

    listener_at(3, 1);
    CHILD_CHECK(fcntl(3, F_SETFD, 0) == 0);
    CHILD_CHECK(unsetenv("LISTEN_PID") == 0 && unsetenv("LISTEN_FDS") == 0);
    CHILD_CHECK(moss__listen_fds_take(fds, NULL, 0, 2, &count, error, sizeof(error)) == 0);
    CHILD_CHECK(count == 0 && fds[0] == -1);
    snprintf(pid, sizeof(pid), "%ld", (long)getppid());
    CHILD_CHECK(setenv("LISTEN_PID", pid, 1) == 0 && setenv("LISTEN_FDS", "1", 1) == 0);
    count = 99;
    CHILD_CHECK(moss__listen_fds_take(fds, NULL, 0, 2, &count, error, sizeof(error)) == 0);
    CHILD_CHECK(count == 0 && fds[0] == -1);
    CHILD_CHECK(fcntl(3, F_GETFD) == 0 && (fcntl(3, F_GETFL) & O_NONBLOCK) == 0);
}

static void case_listen_fds_not_ours(void)
{
    os_run_in_child(child_listen_not_ours);
}

/* LISTEN_PID pid_text (NULL: this process), LISTEN_FDS fds_text: take fails
 * with err, and the message holds want. */
static void expect_take_error(const char *pid_text, const char *fds_text, size_t cap, int err,
                              const char *want)
{
    char pid[32], error[256] = "";
    int fds[4];
    size_t count = 99;

    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    CHILD_CHECK(setenv("LISTEN_PID", pid_text != NULL ? pid_text : pid, 1) == 0);
    CHILD_CHECK(setenv("LISTEN_FDS", fds_text, 1) == 0);
    CHILD_CHECK(moss__listen_fds_take(fds, NULL, 0, cap, &count, error, sizeof(error)) == -1);
    if (errno != err || strstr(error, want) == NULL)
        fprintf(stderr, "LISTEN_FDS=%s: %s (%s)\n", fds_text, error, strerror(errno));
    CHILD_CHECK(errno == err && strstr(error, want) != NULL && count == 0);
}

static void child_listen_errors(void)
{
    int pipe_fds[2];

    listener_at(3, 1);
    listener_at(4, 0); /* bound, not listening */
    expect_take_error(NULL, "2", 4, EINVAL, "fd 4 is not a listening socket");
    expect_take_error(NULL, "garbage", 4, EINVAL, "LISTEN_FDS='garbage'");
    expect_take_error(NULL, "1x", 4, EINVAL, "LISTEN_FDS='1x'");
    expect_take_error(NULL, "-1", 4, EINVAL, "LISTEN_FDS='-1'");
    expect_take_error(NULL, "3", 2, E2BIG, "LISTEN_FDS=3");
    /* a bad LISTEN_PID is an error, not "someone else's" */
    expect_take_error("12ab", "1", 4, EINVAL, "LISTEN_PID='12ab'");
    CHILD_CHECK(pipe(pipe_fds) == 0);
    CHILD_CHECK(dup2(pipe_fds[0], 4) == 4);
    expect_take_error(NULL, "2", 4, ENOTSOCK, "fd 4");
    close(4);
    expect_take_error(NULL, "2", 4, EBADF, "fd 4");
}

/* A name that does not fit is an error, not a name cut short (which would
 * then match no setting, or the wrong one). */
static void child_listen_long_name(void)
{
    char names[1][NAME_LEN], pid[32], long_name[NAME_LEN + 8], error[256] = "";
    int fds[1];
    size_t count = 99;

    listener_at(3, 1);
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    CHILD_CHECK(setenv("LISTEN_PID", pid, 1) == 0 && setenv("LISTEN_FDS", "1", 1) == 0);
    CHILD_CHECK(setenv("LISTEN_FDNAMES", long_name, 1) == 0);
    CHILD_CHECK(moss__listen_fds_take(fds, names[0], NAME_LEN, 1, &count, error,
                                      sizeof(error)) == -1);
    CHILD_CHECK(errno == ENAMETOOLONG && count == 0 && strstr(error, "LISTEN_FDNAMES") != NULL);
}

static void case_listen_fds_errors(void)
{
    os_run_in_child(child_listen_errors);
    os_run_in_child(child_listen_long_name);
}

/* A name holding ':' cannot be passed: it would shift every name after it.
 * Nothing is moved then. */
static void child_listen_pass_bad_name(void)
{
    char names[2][NAME_LEN] = {"good", "127.0.0.1:8080"};
    int fds[2] = {20, 21};

    listener_at(20, 1);
    listener_at(21, 1);
    close(3);
    CHILD_CHECK(moss__listen_fds_pass(fds, names[0], NAME_LEN, 2) == -1 && errno == EINVAL);
    CHILD_CHECK(fd_closed(3));
    CHILD_CHECK(moss__listen_fds_pass(fds, NULL, 0, MOSS__LISTEN_FDS_MAX + 1) == -1);
    CHILD_CHECK(errno == E2BIG);
}

static void case_listen_fds_pass_bad_name(void)
{
    os_run_in_child(child_listen_pass_bad_name);
}

const struct moss_test_case moss_test_master_os_cases[] = {
    {"notify_path", case_notify_path},
    {"notify_abstract", case_notify_abstract},
    {"notify_reloading", case_notify_reloading},
    {"notify_absent_and_errors", case_notify_absent_and_errors},
    {"notify_watchdog", case_notify_watchdog},
    {"pidfile_write_remove", case_pidfile_write_remove},
    {"pidfile_refuses_live", case_pidfile_refuses_live},
    {"pidfile_live_other_user", case_pidfile_live_other_user},
    {"pidfile_replaces_stale", case_pidfile_replaces_stale},
    {"pidfile_remove_only_ours", case_pidfile_remove_only_ours},
    {"pidfile_errors", case_pidfile_errors},
    {"listen_fds_pass_take", case_listen_fds_pass_take},
    {"listen_fds_no_names", case_listen_fds_no_names},
    {"listen_fds_not_ours", case_listen_fds_not_ours},
    {"listen_fds_errors", case_listen_fds_errors},
    {"listen_fds_pass_bad_name", case_listen_fds_pass_bad_name},
    {"privileges_drop", os_case_privileges_drop},
    {"privileges_primary_group", os_case_privileges_primary_group},
    {"privileges_not_root", os_case_privileges_not_root},
    {"privileges_unknown", os_case_privileges_unknown},
    {"affinity_slots", os_case_affinity_slots},
    {"affinity_pin", os_case_affinity_pin},
    {NULL, NULL},
};
