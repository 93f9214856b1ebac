/* The master's small dealings with the operating system and its service
 * manager, each in a file of its own:
 *   notify.c      sd_notify: a datagram to $NOTIFY_SOCKET;
 *   pidfile.c     the pid file;
 *   listen_fds.c  sockets passed in by systemd (LISTEN_FDS) or by an old
 *                 master to its upgrade (SIGUSR2), and passing them on;
 *   privileges.c  dropping to user/group after binding;
 *   affinity.c    pinning a worker to a CPU.
 * Every function returns 0 or -1 with errno, and where it takes an error
 * buffer, writes there a message that names the syscall and its object. */
#ifndef MOSS_MASTER_OS_H
#define MOSS_MASTER_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- sd_notify (notify.c) --------------------------------------------------- */

/* Sends state (e.g. "READY=1\nSTATUS=serving") as one datagram to the
 * unix socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). Not running
 * under systemd ($NOTIFY_SOCKET unset or empty) is not an error: 0, nothing
 * sent. -1 with errno if the variable is malformed or the send fails. */
int moss__notify(const char *state);

/* "RELOADING=1\nMONOTONIC_USEC=<now>" plus "\nSTATUS=<status>", as
 * Type=notify-reload wants it at the start of a reload. */
int moss__notify_reloading(const char *status);

/* The watchdog interval systemd asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or is this process): in microseconds, or 0 when
 * there is none. */
uint64_t moss__notify_watchdog_usec(void);

/* ---- the pid file (pidfile.c) ----------------------------------------------- */

/* Writes pid and a newline to path atomically (a temporary file in the same
 * directory, then rename), mode 0644. Refuses (EEXIST) if path names a live
 * process other than pid and `allowed` (an old master handing over in an
 * upgrade; 0 for none); a stale file is replaced. */
int moss__pidfile_write(const char *path, pid_t pid, pid_t allowed, char *error,
                        size_t error_len);

/* Removes path only if it still holds pid (an upgrade's new master may have
 * replaced it). 0 also when the file is gone or holds another pid. */
int moss__pidfile_remove(const char *path, pid_t pid);

/* ---- inherited listeners (listen_fds.c) ------------------------------------- */

#define MOSS__LISTEN_FDS_START 3   /* SD_LISTEN_FDS_START */
#define MOSS__LISTEN_FDS_MAX 1024

/* Takes the sockets of the socket-activation protocol: $LISTEN_PID must be
 * this process and $LISTEN_FDS a count n; fds 3 to 3+n-1 are then checked to
 * be listening sockets, made close-on-exec and non-blocking, and returned in
 * fds (at most cap; more is E2BIG). $LISTEN_FDNAMES, when set, gives each a
 * name (colon-separated) into names[i] (cap entries of name_len bytes; ""
 * when absent). The three variables are then unset, so that children do not
 * take them too. *count = 0 (and 0 returned) when the variables are absent
 * or name another pid. */
int moss__listen_fds_take(int *fds, char *names, size_t name_len, size_t cap, size_t *count,
                          char *error, size_t error_len);

/* In a forked child about to exec: moves fds[0..count-1] to 3, 4, ... (safe
 * when they overlap those numbers), clears their close-on-exec flag, and
 * sets LISTEN_PID to getpid(), LISTEN_FDS to count and LISTEN_FDNAMES to
 * the names joined by ':' (names as in _take; NULL for none). Only
 * async-signal-safe work after fork is not required: the master is single
 * threaded. */
int moss__listen_fds_pass(const int *fds, const char *names, size_t name_len, size_t count);

/* ---- privileges (privileges.c) ---------------------------------------------- */

/* Switches the process to user (and group, or the user's primary group when
 * group is "" ), with that user's supplementary groups. A no-op (0) when
 * user is "" or when the process already runs as that uid and gid (an
 * upgraded master). EPERM, named, when not running as root. */
int moss__privileges_drop(const char *user, const char *group, char *error, size_t error_len);

/* Checks that user and group exist (for moss -t and before binding): 0, or
 * -1 with ENOENT and a message. */
int moss__privileges_check(const char *user, const char *group, char *error, size_t error_len);

/* ---- CPU affinity (affinity.c) ---------------------------------------------- */

/* The CPU that worker slot `slot` is pinned to: the (slot mod n)-th of the n
 * CPUs in the calling process's affinity mask. -1 with errno if the mask
 * cannot be read. */
int moss__affinity_cpu_for_slot(unsigned slot);

/* Pins the calling process to cpu. */
int moss__affinity_pin(int cpu, char *error, size_t error_len);

/* The number of online CPUs (sysconf), at least 1. */
unsigned moss__cpu_count(void);

#endif
