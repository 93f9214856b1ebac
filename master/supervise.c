/* Supervision: reaping workers, replacing those that die, with an
 * exponential backoff for a slot whose workers keep dying young (so that a
 * crash loop costs a fork every BACKOFF_MAX_MS, not a fork bomb), killing
 * workers whose hub stopped beating its heartbeat (worker_timeout) or that
 * outlived their stop deadline. */
#include "supervise.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#define BACKOFF_FIRST_MS 100       /* the second quick death in a row waits this */
#define BACKOFF_MAX_MS 30000
#define QUICK_DEATH_MS 5000        /* dying younger than this (or unready) is a crash loop */

size_t moss__master_live(const struct moss__master *m)
{
    size_t n = 0;

    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        n += m->procs[i].used != 0;
    return n;
}

int moss__master_any_starting(const struct moss__master *m)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used && !m->procs[i].ever_ready && !m->procs[i].stopping)
            return 1;
    return 0;
}

/* Monotonic counters of a worker gone are kept, so totals never drop. */
static void supervise_keep_counters(struct moss__master *m, const struct moss__score *score)
{
    const struct moss__worker_counters *c = &score->counters;
    struct moss__worker_counters *e = &m->exited;

    moss__counter_add(&e->requests, atomic_load_explicit(&c->requests, memory_order_relaxed));
    moss__counter_add(&e->connections_total,
                      atomic_load_explicit(&c->connections_total, memory_order_relaxed));
    moss__counter_add(&e->bytes_in, atomic_load_explicit(&c->bytes_in, memory_order_relaxed));
    moss__counter_add(&e->bytes_out, atomic_load_explicit(&c->bytes_out, memory_order_relaxed));
    moss__counter_add(&e->switches, atomic_load_explicit(&c->switches, memory_order_relaxed));
    moss__counter_add(&e->request_timeouts,
                      atomic_load_explicit(&c->request_timeouts, memory_order_relaxed));
    moss__counter_add(&e->accept_backoffs,
                      atomic_load_explicit(&c->accept_backoffs, memory_order_relaxed));
    for (int i = 0; i < MOSS__STATUS_CLASSES; i++)
        moss__counter_add(&e->status[i],
                          atomic_load_explicit(&c->status[i], memory_order_relaxed));
    m->exited_blocked += atomic_load_explicit(&score->blocked.count, memory_order_relaxed);
}

/* An unexpected death of a committed worker: its slot respawns, at once the
 * first time, then after a delay that doubles with each quick death. */
static void supervise_backoff(struct moss__master *m, const struct moss__master_proc *proc)
{
    struct moss__master_slot *slot = &m->slots[proc->slot];
    int64_t now = moss__score_clock_ms();
    int quick = !proc->ever_ready || now - proc->started_ms < QUICK_DEATH_MS;

    slot->crash_streak = quick ? slot->crash_streak + 1 : 1;
    slot->backoff_ms = 0;
    if (slot->crash_streak > 1) {
        unsigned shift = slot->crash_streak - 2 < 16 ? slot->crash_streak - 2 : 16;
        int64_t delay = (int64_t)BACKOFF_FIRST_MS << shift;

        slot->backoff_ms = delay < BACKOFF_MAX_MS ? delay : BACKOFF_MAX_MS;
        moss__master_log(m, "worker slot %u: %u quick exits in a row; respawning in %lld ms",
                         proc->slot, slot->crash_streak, (long long)slot->backoff_ms);
    }
    slot->backoff_until_ms = now + slot->backoff_ms;
    slot->respawn_due = 1;
}

static void supervise_exited(struct moss__master *m, struct moss__master_proc *proc,
                             int status)
{
    char how[96];
    int expected = proc->stopping || m->stopping;

    moss__master_describe_status(status, how, sizeof(how));
    moss__master_log(m, "worker %ld (slot %u, generation %llu) %s%s", (long)proc->pid,
                     proc->slot, (unsigned long long)proc->generation, how,
                     expected ? "" : " unexpectedly");
    supervise_keep_counters(m, proc->score);
    proc->used = 0;
    if (moss__master_reload_owns(m, proc))
        moss__master_reload_proc_exited(m, proc, status);
    else if (!expected && proc->generation == m->generation)
        supervise_backoff(m, proc);
}

static struct moss__master_proc *supervise_find(struct moss__master *m, pid_t pid)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used && m->procs[i].pid == pid)
            return &m->procs[i];
    return NULL;
}

void moss__master_reap(struct moss__master *m)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct moss__master_proc *proc = supervise_find(m, pid);

        if (proc != NULL)
            supervise_exited(m, proc, status);
        else if (!moss__master_upgrade_reaped(m, pid, status))
            moss__master_log(m, "reaped process %ld, not a worker", (long)pid);
    }
}

/* Whether slot has a worker of the committed generation that is not
 * stopping. */
static int supervise_slot_filled(const struct moss__master *m, unsigned slot)
{
    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        const struct moss__master_proc *p = &m->procs[i];

        if (p->used && p->slot == slot && p->generation == m->generation && !p->stopping)
            return 1;
    }
    return 0;
}

void moss__master_fill_slots(struct moss__master *m)
{
    int64_t now = moss__score_clock_ms();

    if (m->stopping || m->fatal || m->generation == 0)
        return;
    for (unsigned s = 0; s < m->workers; s++) {
        struct moss__master_slot *slot = &m->slots[s];

        if (supervise_slot_filled(m, s) || now < slot->backoff_until_ms)
            continue;
        if (moss__master_spawn(m, s, m->generation, m->config) == NULL) {
            slot->backoff_until_ms = now + BACKOFF_FIRST_MS; /* fork failed: retry soon */
            continue;
        }
        if (slot->respawn_due)
            slot->respawns++;
        slot->respawn_due = 0;
        slot->backoff_ms = 0;
    }
}

void moss__master_stop_proc(struct moss__master *m, struct moss__master_proc *proc, int signum,
                            int64_t grace_ms)
{
    int64_t kill_at = moss__score_clock_ms() + grace_ms;

    if (kill(proc->pid, signum) == -1 && errno != ESRCH)
        moss__master_log(m, "kill(%ld, %s): %s", (long)proc->pid, strsignal(signum),
                         strerror(errno));
    proc->stopping = 1;
    if (proc->kill_at_ms == 0 || kill_at < proc->kill_at_ms)
        proc->kill_at_ms = kill_at;
}

#define FAST_STOP_MS 3000          /* SIGINT: the worker cancels at once */

void moss__master_stop_all(struct moss__master *m, int signum)
{
    int64_t grace = signum == SIGTERM ? m->config->graceful_timeout_ms + MOSS__STOP_MARGIN_MS
                                      : FAST_STOP_MS;

    for (size_t i = 0; i < MOSS__PROCS_MAX; i++) {
        struct moss__master_proc *p = &m->procs[i];

        if (p->used && (!p->stopping || signum != SIGTERM))
            moss__master_stop_proc(m, p, signum, grace);
    }
}

static void supervise_kill(struct moss__master *m, struct moss__master_proc *proc,
                           const char *why)
{
    moss__master_log(m, "worker %ld (slot %u): %s: killing it", (long)proc->pid, proc->slot,
                     why);
    if (kill(proc->pid, SIGKILL) == -1 && errno != ESRCH)
        moss__master_log(m, "kill(%ld, SIGKILL): %s", (long)proc->pid, strerror(errno));
    proc->kill_at_ms = 0;
    proc->killed = 1;
}

/* The worker's watchdog saw its hub blocked past block_kill_ms and asked to
 * be replaced: its report is in the log (the worker's) and here, then it
 * goes, as a failure (its slot respawns). */
static void supervise_block_kill(struct moss__master *m, struct moss__master_proc *p)
{
    struct moss__block_report r;
    char why[MOSS__BLOCK_REQUEST_LEN + 160];

    if (moss__score_block_last(p->score, &r) == 0)
        snprintf(why, sizeof(why), "hub blocked %lld ms in greenlet %llu \"%s\"%s%s (block_kill_ms %lld)",
                 (long long)r.ms, (unsigned long long)r.greenlet, r.name,
                 r.request[0] != '\0' ? " serving " : "", r.request,
                 (long long)m->config->block_kill_ms);
    else
        snprintf(why, sizeof(why), "hub blocked past block_kill_ms");
    supervise_kill(m, p, why);
}

/* A ready worker's hub must beat within worker_timeout; a starting one
 * must be ready within reload_timeout. */
static void supervise_check_proc(struct moss__master *m, struct moss__master_proc *p,
                                 int64_t now)
{
    char why[160];
    int64_t beat;

    if (p->killed)
        return;
    /* the state first: a worker beats before it says READY (with release),
     * so a READY read here (acquire) comes with a heartbeat */
    if (!p->ever_ready && atomic_load_explicit(&p->score->state, memory_order_acquire) ==
                              MOSS__WORKER_READY)
        p->ever_ready = 1;
    beat = atomic_load_explicit(&p->score->heartbeat_ms, memory_order_relaxed);
    if (p->stopping) {
        if (p->kill_at_ms != 0 && now >= p->kill_at_ms)
            supervise_kill(m, p, "still alive after its stop deadline");
        return;
    }
    if (atomic_load_explicit(&p->score->blocked.kill_requested, memory_order_acquire)) {
        supervise_block_kill(m, p);
    } else if (p->ever_ready && beat != 0 && now - beat > m->config->worker_timeout_ms) {
        snprintf(why, sizeof(why), "no heartbeat for %lld ms (worker_timeout %lld ms)",
                 (long long)(now - beat), (long long)m->config->worker_timeout_ms);
        supervise_kill(m, p, why);
        p->stopping = 0; /* its death is a failure, and the slot respawns */
    } else if (!p->ever_ready && now - p->started_ms > m->config->reload_timeout_ms) {
        supervise_kill(m, p, "not ready within reload_timeout");
    }
}

void moss__master_check(struct moss__master *m)
{
    int64_t now = moss__score_clock_ms();

    for (size_t i = 0; i < MOSS__PROCS_MAX; i++)
        if (m->procs[i].used)
            supervise_check_proc(m, &m->procs[i], now);
}
