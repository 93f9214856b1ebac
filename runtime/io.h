/* Cooperative I/O, internal: what runtime/io_socket.c and runtime/reader.c
 * share with runtime/io.c (the per-hub fd table and moss_wait_fd). */
#ifndef MOSS_RUNTIME_IO_H
#define MOSS_RUNTIME_IO_H

#include <stdint.h>

/* The gate of every blocking I/O call, before its first syscall: 0, or -1
 * with ECANCELED once the calling greenlet has been killed (cancellation is
 * sticky, so a greenlet that never has to wait still unwinds), or with the
 * error of setting up its task (ENOMEM). */
int moss__io_enter(void);

/* After a syscall on fd failed, with errno still its error: 0 to try the
 * syscall again (it was interrupted, or fd was not ready and now is: waited
 * for with moss_wait_fd for `events`), or -1 to give up, with errno set. */
int moss__io_again(int fd, int events, int64_t deadline);

#endif
