/* The master's internal interface between its files (see master.h). All of
 * it runs on the master's hub thread. */
#ifndef MOSS_MASTER_SUPERVISE_H
#define MOSS_MASTER_SUPERVISE_H

#include "master.h"

/* The longest name a listener's socket is passed under (listeners.c). */
#define MOSS__LISTENER_NAME_MAX 160

/* ---- scoreboard.c -------------------------------------------------------------- */
struct moss__score *moss__scoreboard_create(void);
void moss__scoreboard_destroy(struct moss__score *board);
void moss__scoreboard_reset(struct moss__score *score);

/* ---- listeners.c --------------------------------------------------------------- */

/* Takes LISTEN_FDS sockets, then binds every address of m->config->bind
 * that they do not already provide. 0, or -1 with errno and a message. */
int moss__master_listeners_open(struct moss__master *m, char *error, size_t error_len);

/* The listeners a worker of slot serves, into out (MOSS__BIND_MAX):
 * the shared sockets, and with reuse_port the slot's own, bound now if the
 * slot has none yet. Their count, or -1 with errno and a message. */
int moss__master_slot_listeners(struct moss__master *m, unsigned slot,
                                struct moss__listener *out, char *error, size_t error_len);

/* The name a listener's socket is passed under to an upgrade's new master:
 * its bind text, and "#slot" for a slot's reuse_port socket (slot >= 0). */
void moss__master_listener_name(const struct moss__master_listener *l, int slot, char *out,
                                size_t cap);

/* Closes the reuse_port sockets of slot (a slot given up by SIGTTOU). */
void moss__master_slot_close(struct moss__master *m, unsigned slot);

/* In a forked worker of slot: closes the other slots' reuse_port sockets. */
void moss__master_listeners_forget(struct moss__master *m, unsigned slot);

/* Closes every listener; removes the unix socket files the master made
 * unless an upgrade's new master has them now. */
void moss__master_listeners_close(struct moss__master *m);

/* Whether two configs bind the same addresses the same way (a reload
 * cannot change that): NULL, or the name of a setting that differs and
 * needs a restart (or SIGUSR2). */
const char *moss__master_restart_setting(const moss_config_t *a, const moss_config_t *b);

/* ---- spawn.c ------------------------------------------------------------------- */

/* Forks a worker for slot of generation, which serves with config. Its
 * proc, or NULL with errno (said on the log) when no proc entry is free or
 * fork fails. The child never returns. */
struct moss__master_proc *moss__master_spawn(struct moss__master *m, unsigned slot,
                                             uint64_t generation,
                                             const moss_config_t *config);

/* ---- supervise.c --------------------------------------------------------------- */

/* Reaps every child that has exited and acts on each: counters kept,
 * respawn scheduled with backoff, a reload rolled back. */
void moss__master_reap(struct moss__master *m);

/* Forks the workers missing from slots of the committed generation (not
 * while stopping), each once its backoff has passed. */
void moss__master_fill_slots(struct moss__master *m);

/* Marks the workers that became ready, kills those past their heartbeat or
 * their stop deadline. */
void moss__master_check(struct moss__master *m);

/* Time a draining worker gets beyond graceful_timeout before SIGKILL: its
 * own drain ends at graceful_timeout, then it cancels and exits. */
#define MOSS__STOP_MARGIN_MS 2000

/* Sends signum to proc and marks it stopping; SIGKILL follows after
 * grace_ms if it is still alive. */
void moss__master_stop_proc(struct moss__master *m, struct moss__master_proc *proc, int signum,
                            int64_t grace_ms);

/* Stops every worker with signum (SIGTERM: drain, within graceful_timeout;
 * SIGINT: at once). */
void moss__master_stop_all(struct moss__master *m, int signum);

/* Worker processes alive. */
size_t moss__master_live(const struct moss__master *m);

/* Whether any worker has not yet reported ready. */
int moss__master_any_starting(const struct moss__master *m);

/* ---- reload.c ------------------------------------------------------------------ */

/* Starts a generation: the first one (initial), or a SIGHUP reload, which
 * first re-reads and checks the config. A SIGHUP during a reload is queued. */
void moss__master_reload_start(struct moss__master *m, int initial);

/* The gate: commits once every new worker is ready, rolls back at
 * reload_timeout. */
void moss__master_reload_check(struct moss__master *m);

/* The workers config asks for: its count, or one per online CPU (auto). */
unsigned moss__master_worker_count(const moss_config_t *config);

/* A worker of the reload's generation died before the commit: roll back. */
void moss__master_reload_proc_exited(struct moss__master *m,
                                     const struct moss__master_proc *proc, int status);

/* Whether proc belongs to the reload in progress. */
int moss__master_reload_owns(const struct moss__master *m, const struct moss__master_proc *proc);

/* Abandons the reload in progress (the master is stopping). */
void moss__master_reload_abort(struct moss__master *m, const char *why);

/* ---- upgrade.c ----------------------------------------------------------------- */

/* SIGUSR2: re-executes the binary with the listeners. */
void moss__master_upgrade_start(struct moss__master *m);

/* Follows the upgrade: the new master's "ready" stops this one; its death
 * or reload_timeout abandons the upgrade. */
void moss__master_upgrade_check(struct moss__master *m);

/* A reaped pid that is the upgrade's new master: 1 (handled), else 0. */
int moss__master_upgrade_reaped(struct moss__master *m, pid_t pid, int status);

/* At exit: whatever is left of an upgrade. */
void moss__master_upgrade_free(struct moss__master *m);

/* In a new master started by an upgrade: tells the old one it is ready. */
void moss__master_upgrade_ready(struct moss__master *m);

/* ---- master.c ------------------------------------------------------------------ */

/* "exited with status N" / "killed by SIGX" into buf. */
void moss__master_describe_status(int status, char *buf, size_t cap);

/* STATUS line for systemd and the log, after a change. */
void moss__master_status_notify(struct moss__master *m, const char *extra);

#endif
