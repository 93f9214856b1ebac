/* SIGUSR2: a binary upgrade, nginx's way. The master forks and executes its
 * binary again, with the same arguments, handing over every listening
 * socket by the socket-activation protocol (LISTEN_FDS, named; os.h) and a
 * pipe in MOSS_UPGRADE_FD. The new master takes the sockets instead of
 * binding, starts its first generation through the readiness gate, and
 * writes "ready" down the pipe. Only then does the old master stop: its
 * workers drain as on SIGTERM (without drain_grace: the same sockets go on
 * being served), systemd is told the new MAINPID, and the old master exits
 * leaving the unix socket files and the pid file to the new one. If the new
 * master dies or is not ready within reload_timeout, the upgrade is
 * abandoned and the old master goes on as if nothing had happened. */
#include "os.h"
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPGRADE_FDS_MAX (MOSS__BIND_MAX * (MOSS__WORKERS_MAX + 1) + 1)
#define UPGRADE_EXEC_FAILED 127

struct moss__master_upgrade {
    pid_t pid;                     /* the new master */
    int ready_fd;                  /* the pipe's read end */
    int64_t deadline_ms;
    int done;                      /* it is ready; this master is stopping */
};

/* Every listening socket and the name it goes under. */
struct upgrade_fds {
    int fds[UPGRADE_FDS_MAX];
    char names[UPGRADE_FDS_MAX][MOSS__LISTENER_NAME_MAX];
    size_t count;
};

static void upgrade_add(struct upgrade_fds *u, int fd, const char *name)
{
    if (fd == -1 || u->count == UPGRADE_FDS_MAX)
        return;
    u->fds[u->count] = fd;
    snprintf(u->names[u->count], sizeof(u->names[0]), "%s", name);
    u->count++;
}

static void upgrade_collect(const struct moss__master *m, struct upgrade_fds *u)
{
    char name[MOSS__LISTENER_NAME_MAX];

    for (size_t i = 0; i < m->listener_count; i++) {
        const struct moss__master_listener *l = &m->listeners[i];

        moss__master_listener_name(l, -1, name, sizeof(name));
        upgrade_add(u, l->fd, name);
        for (int s = 0; l->reuse_port && s < MOSS__WORKERS_MAX; s++) {
            moss__master_listener_name(l, s, name, sizeof(name));
            upgrade_add(u, m->slots[s].fds[i], name);
        }
    }
    upgrade_add(u, moss__admin_fd(m), "admin");
}

/* The child: the sockets to 3.., the pipe after them, then exec. */
__attribute__((noreturn))
static void upgrade_child(struct moss__master *m, struct upgrade_fds *u, int ready_fd)
{
    char number[16];
    int fd = fcntl(ready_fd, F_DUPFD, (int)(MOSS__LISTEN_FDS_START + u->count));

    if (fd == -1 || moss__listen_fds_pass(u->fds, &u->names[0][0], sizeof(u->names[0]),
                                          u->count) == -1) {
        fprintf(stderr, "moss[%ld]: upgrade: passing the sockets: %s\n", (long)getpid(),
                strerror(errno));
        _exit(UPGRADE_EXEC_FAILED);
    }
    snprintf(number, sizeof(number), "%d", fd);
    setenv("MOSS_UPGRADE_FD", number, 1);
    execv(m->exe, m->opts.argv);
    fprintf(stderr, "moss[%ld]: upgrade: execv(%s): %s\n", (long)getpid(), m->exe,
            strerror(errno));
    _exit(UPGRADE_EXEC_FAILED);
}

static int upgrade_refuse(struct moss__master *m)
{
    const char *why = m->upgrade != NULL ? "an upgrade is already in progress"
                      : m->reload != NULL ? "a reload is in progress; send it again after"
                      : m->opts.argv == NULL || m->exe[0] == '\0'
                          ? "no binary to execute (moss_serve called from a program)"
                          : NULL;

    if (why != NULL)
        moss__master_log(m, "SIGUSR2: %s", why);
    return why != NULL;
}

static int upgrade_fork(struct moss__master *m, struct upgrade_fds *u, int pipe_fds[2])
{
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid == -1) {
        moss__master_log(m, "SIGUSR2: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        upgrade_child(m, u, pipe_fds[1]);
    m->upgrade->pid = pid;
    return 0;
}

void moss__master_upgrade_start(struct moss__master *m)
{
    struct upgrade_fds *u;
    int pipe_fds[2];

    if (upgrade_refuse(m))
        return;
    u = calloc(1, sizeof(*u));
    m->upgrade = calloc(1, sizeof(*m->upgrade));
    if (u == NULL || m->upgrade == NULL) {
        moss__master_log(m, "SIGUSR2: %s", strerror(ENOMEM));
        goto free_upgrade;
    }
    if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == -1) {
        moss__master_log(m, "SIGUSR2: pipe: %s", strerror(errno));
        goto free_upgrade;
    }
    upgrade_collect(m, u);
    if (upgrade_fork(m, u, pipe_fds) == -1)
        goto close_pipe;
    close(pipe_fds[1]);
    m->upgrade->ready_fd = pipe_fds[0];
    m->upgrade->deadline_ms = moss__score_clock_ms() + m->config->reload_timeout_ms;
    moss__master_log(m, "SIGUSR2: started %s as new master %ld with %zu sockets", m->exe,
                     (long)m->upgrade->pid, u->count);
    free(u);
    return;

close_pipe:
    close(pipe_fds[0]);
    close(pipe_fds[1]);
free_upgrade:
    free(u);
    free(m->upgrade);
    m->upgrade = NULL;
}

static void upgrade_abandon(struct moss__master *m, const char *why)
{
    moss__master_log(m, "upgrade abandoned: %s; this master goes on serving", why);
    if (m->upgrade->ready_fd != -1)
        close(m->upgrade->ready_fd);
    free(m->upgrade);
    m->upgrade = NULL;
}

/* The new master serves: this one hands over and stops. */
static void upgrade_hand_over(struct moss__master *m)
{
    char state[96];

    moss__master_log(m, "new master %ld is ready: this master stops",
                     (long)m->upgrade->pid);
    close(m->upgrade->ready_fd);
    m->upgrade->ready_fd = -1;
    m->upgrade->done = 1;
    m->handed_over = 1;
    snprintf(state, sizeof(state), "MAINPID=%ld\nSTATUS=handed over to new master %ld",
             (long)m->upgrade->pid, (long)m->upgrade->pid);
    if (moss__notify(state) == -1)
        moss__master_log(m, "sd_notify: %s", strerror(errno));
    m->stopping = m->health_draining = 1;
    moss__master_stop_all(m, SIGTERM);
}

void moss__master_upgrade_check(struct moss__master *m)
{
    char buf[16];
    ssize_t n;

    if (m->upgrade == NULL || m->upgrade->done)
        return;
    n = read(m->upgrade->ready_fd, buf, sizeof(buf));
    if (n > 0 && strncmp(buf, "ready", 5) == 0) {
        upgrade_hand_over(m);
    } else if (n >= 0) {
        upgrade_abandon(m, "the new master closed its pipe without being ready");
    } else if (moss__score_clock_ms() >= m->upgrade->deadline_ms) {
        if (kill(m->upgrade->pid, SIGTERM) == -1)
            moss__master_log(m, "kill(%ld, SIGTERM): %s", (long)m->upgrade->pid,
                             strerror(errno));
        upgrade_abandon(m, "the new master was not ready within reload_timeout");
    }
}

int moss__master_upgrade_reaped(struct moss__master *m, pid_t pid, int status)
{
    char how[96], why[160];

    if (m->upgrade == NULL || pid != m->upgrade->pid)
        return 0;
    moss__master_describe_status(status, how, sizeof(how));
    snprintf(why, sizeof(why), "the new master %ld %s", (long)pid, how);
    if (m->upgrade->done)
        moss__master_log(m, "%s", why);
    else
        upgrade_abandon(m, why);
    return 1;
}

void moss__master_upgrade_ready(struct moss__master *m)
{
    static const char ready[] = "ready\n";

    if (m->upgrade_fd == -1)
        return;
    if (write(m->upgrade_fd, ready, sizeof(ready) - 1) == -1)
        moss__master_log(m, "upgrade: telling the old master: write: %s", strerror(errno));
    close(m->upgrade_fd);
    m->upgrade_fd = -1;
}

void moss__master_upgrade_free(struct moss__master *m)
{
    if (m->upgrade == NULL)
        return;
    if (m->upgrade->ready_fd != -1)
        close(m->upgrade->ready_fd);
    free(m->upgrade);
    m->upgrade = NULL;
}
