/* Cooperative I/O, internal: what runtime/io_socket.c and runtime/reader.c
 * share with runtime/io.c (the per-hub fd table and moss_wait_fd). */
#ifndef MOSS_RUNTIME_IO_H
#define MOSS_RUNTIME_IO_H

/* The gate of every blocking I/O call, before its first syscall: 0, or -1
 * with ECANCELED once the calling greenlet has been killed (cancellation is
 * sticky, so a greenlet that never has to wait still unwinds), or with the
 * error of setting up its task (ENOMEM). */
int moss__io_enter(void);

/* 1 if err means "not ready yet": wait for the fd, then try again. */
int moss__io_would_block(int err);

#endif
