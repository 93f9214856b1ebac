/* Forking a worker. The master forks from its main greenlet; in the child
 * that greenlet goes on, the hub's fork handler has cut the master's other
 * greenlets loose (the admin server's), and what the master held that a
 * worker must not keep is let go here: its signal watchers, the admin
 * sockets, the other slots' sockets. The child then runs the worker and
 * exits without returning into the master's code. */
#include "os.h"
#include "signals.h"
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses of a worker: 0 after a clean stop, else this. */
#define CHILD_FAILED 1

static struct moss__master_proc *spawn_free_proc(struct moss__master *m)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        if (!m->procs[i].used) {
            memset(&m->procs[i], 0, sizeof(m->procs[i]));
            m->procs[i].score = &m->board[i];
            return &m->procs[i];
        }
    }
    errno = EAGAIN;
    return NULL;
}

/* The worker dies with the master (SIGTERM: it drains), even if the master
 * died before this ran. */
static void spawn_child_tie(pid_t master)
{
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
        fprintf(stderr, "moss[%ld]: prctl(PR_SET_PDEATHSIG): %s\n", (long)getpid(),
                strerror(errno));
    if (getppid() != master)
        _exit(CHILD_FAILED);
}

static void spawn_child_pin(struct moss__master *m, const struct moss__master_proc *proc)
{
    char error[256];

    if (proc->cpu >= 0 && moss__affinity_pin(proc->cpu, error, sizeof(error)) == -1)
        moss__master_log(m, "worker slot %u: %s", proc->slot, error);
}

__attribute__((noreturn))
static void spawn_child(struct moss__master *m, struct moss__master_proc *proc,
                        const moss_config_t *config)
{
    struct moss__listener listeners[MOSS__BIND_MAX];
    char error[MOSS__MASTER_ERROR_MAX];
    int count, rc;

    spawn_child_tie(m->pid);
    moss__master_signals_forget(m->signals);
    m->signals = NULL;
    moss__admin_forget(m);
    moss__master_listeners_forget(m, proc->slot);
    spawn_child_pin(m, proc);
    count = moss__master_slot_listeners(m, proc->slot, listeners, error, sizeof(error));
    if (count == -1) {
        moss__master_log(m, "worker slot %u: %s", proc->slot, error);
        _exit(CHILD_FAILED);
    }
    rc = moss__worker_main(config, m->app, listeners, (size_t)count, proc->score);
    fflush(NULL);
    _exit(rc == 0 ? 0 : CHILD_FAILED);
}

/* The slot's sockets exist before the fork, so that the parent keeps them
 * for the slot's next workers. */
static int spawn_prepare(struct moss__master *m, unsigned slot)
{
    struct moss__listener listeners[MOSS__BIND_MAX];
    char error[MOSS__MASTER_ERROR_MAX];

    if (moss__master_slot_listeners(m, slot, listeners, error, sizeof(error)) != -1)
        return 0;
    moss__master_log(m, "worker slot %u: %s", slot, error);
    return -1;
}

struct moss__master_proc *moss__master_spawn(struct moss__master *m, unsigned slot,
                                             uint64_t generation,
                                             const moss_config_t *config)
{
    struct moss__master_proc *proc = spawn_free_proc(m);
    pid_t pid;

    if (proc == NULL) {
        moss__master_log(m, "worker slot %u: no free scoreboard entry (%d in use)", slot,
                         MOSS__PROCS_MAX);
        return NULL;
    }
    if (spawn_prepare(m, slot) == -1)
        return NULL;
    proc->slot = slot;
    proc->generation = generation;
    proc->cpu = config->cpu_affinity ? moss__affinity_cpu_for_slot(slot) : -1;
    moss__scoreboard_reset(proc->score);
    fflush(NULL); /* nothing buffered is written twice */
    pid = fork();
    if (pid == -1) {
        moss__master_log(m, "fork (worker slot %u): %s", slot, strerror(errno));
        return NULL;
    }
    if (pid == 0)
        spawn_child(m, proc, config);
    proc->used = 1;
    proc->pid = pid;
    proc->started_at = (int64_t)time(NULL);
    proc->started_ms = moss__score_clock_ms();
    return proc;
}
