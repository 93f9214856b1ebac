/* Cooperative I/O calls: each tries its syscall first and, only when the fd
 * is not ready (EAGAIN), waits for it with moss_wait_fd and tries again.
 * Deadlines, deadline scopes and kills end the wait (see moss_wait_fd);
 * a killed greenlet's call fails before its first syscall (moss__io_enter). */
#include "io.h"

#include "moss.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How an output call puts bytes on its fd. */
enum io_out_mode {
    IO_OUT_SEND,        /* send(2): moss_send */
    IO_OUT_WRITE_ANY,   /* send(2) while the fd is a socket, else write(2): moss_write */
    IO_OUT_WRITE_PLAIN  /* write(2): moss_write on an fd found not to be a socket */
};

int moss_socket(int domain, int type, int protocol)
{
    return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

/* ---- SIGPIPE ------------------------------------------------------------- */

/* write(2) to a pipe and sendfile(2) to a socket have no MSG_NOSIGNAL: a
 * reader that has gone would raise SIGPIPE and, by default, kill the
 * process. Around those calls SIGPIPE is blocked, and one the call raised is
 * taken back, so the caller sees EPIPE alone, as moss_send gives. A caller
 * that blocks SIGPIPE itself keeps whatever it gets. */
static void io_sigpipe_block(sigset_t *old)
{
    sigset_t pipe_set;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

/* n and err: the result of the call made while blocked; errno is err after. */
static void io_sigpipe_restore(const sigset_t *old, ptrdiff_t n, int err)
{
    static const struct timespec no_wait = {0, 0};
    sigset_t pipe_set;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    if (n == -1 && err == EPIPE && !sigismember(old, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &no_wait); /* ours: unblocked before, so not pending */
    pthread_sigmask(SIG_SETMASK, old, NULL);
    errno = err;
}

static ptrdiff_t io_write_nosignal(int fd, const void *buf, size_t len)
{
    sigset_t old;
    ptrdiff_t n;

    io_sigpipe_block(&old);
    n = write(fd, buf, len);
    io_sigpipe_restore(&old, n, errno);
    return n;
}

/* sendfile(2) with *offset as an int64_t (off_t may be narrower); NULL:
 * in_fd's own file offset. *offset advances by what was sent. */
static ptrdiff_t io_sendfile_nosignal(int out_fd, int in_fd, int64_t *offset, size_t count)
{
    off_t off = offset != NULL ? (off_t)*offset : 0;
    sigset_t old;
    ptrdiff_t n;

    io_sigpipe_block(&old);
    n = sendfile(out_fd, in_fd, offset != NULL ? &off : NULL, count);
    io_sigpipe_restore(&old, n, errno);
    if (n > 0 && offset != NULL)
        *offset = (int64_t)off;
    return n;
}

/* ---- reading ------------------------------------------------------------- */

/* One try: recv(2) with flags, or read(2) if !use_recv. */
static ptrdiff_t io_in_once(int fd, void *buf, size_t len, int use_recv, int flags)
{
    if (!use_recv)
        return read(fd, buf, len);
    return recv(fd, buf, len, flags);
}

static ptrdiff_t io_in(int fd, void *buf, size_t len, int use_recv, int flags,
                       int64_t deadline)
{
    if (moss__io_enter() == -1)
        return -1;
    for (;;) {
        ptrdiff_t n = io_in_once(fd, buf, len, use_recv, flags);

        if (n != -1)
            return n;
        if (moss__io_again(fd, MOSS_READABLE, deadline) == -1)
            return -1;
    }
}

ptrdiff_t moss_read(int fd, void *buf, size_t len, int64_t deadline)
{
    return io_in(fd, buf, len, 0, 0, deadline);
}

ptrdiff_t moss_recv(int fd, void *buf, size_t len, int flags, int64_t deadline)
{
    return io_in(fd, buf, len, 1, flags, deadline);
}

/* ---- writing ------------------------------------------------------------- */

/* One try, per *mode; MSG_NOSIGNAL always, so a gone peer gives EPIPE. A
 * moss_write fd that turns out not to be a socket is written from then on. */
static ptrdiff_t io_out_once(int fd, const void *buf, size_t len, int flags,
                             enum io_out_mode *mode)
{
    ptrdiff_t n;

    if (*mode == IO_OUT_WRITE_PLAIN)
        return io_write_nosignal(fd, buf, len);
    n = send(fd, buf, len, flags | MSG_NOSIGNAL);
    if (n == -1 && errno == ENOTSOCK && *mode == IO_OUT_WRITE_ANY) {
        *mode = IO_OUT_WRITE_PLAIN;
        return io_write_nosignal(fd, buf, len);
    }
    return n;
}

static ptrdiff_t io_out(int fd, const char *buf, size_t len, int flags, enum io_out_mode mode,
                        int64_t deadline)
{
    size_t done = 0;

    if (len > PTRDIFF_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (moss__io_enter() == -1)
        return -1;
    while (done < len) {
        ptrdiff_t n = io_out_once(fd, buf + done, len - done, flags, &mode);

        if (n != -1)
            done += (size_t)n;
        else if (moss__io_again(fd, MOSS_WRITABLE, deadline) == -1)
            return -1;
    }
    return (ptrdiff_t)done;
}

ptrdiff_t moss_write(int fd, const void *buf, size_t len, int64_t deadline)
{
    return io_out(fd, buf, len, 0, IO_OUT_WRITE_ANY, deadline);
}

ptrdiff_t moss_send(int fd, const void *buf, size_t len, int flags, int64_t deadline)
{
    return io_out(fd, buf, len, flags, IO_OUT_SEND, deadline);
}

ptrdiff_t moss_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count,
                        int64_t deadline)
{
    size_t done = 0;

    if (count > PTRDIFF_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (moss__io_enter() == -1)
        return -1;
    while (done < count) {
        ptrdiff_t n = io_sendfile_nosignal(out_fd, in_fd, offset, count - done);

        if (n == 0)
            break; /* end of in_fd's file */
        if (n != -1)
            done += (size_t)n;
        else if (moss__io_again(out_fd, MOSS_WRITABLE, deadline) == -1)
            return -1;
    }
    return (ptrdiff_t)done;
}

/* ---- connections --------------------------------------------------------- */

int moss_accept(int fd, struct sockaddr *addr, unsigned *addrlen, int64_t deadline)
{
    if (moss__io_enter() == -1)
        return -1;
    for (;;) {
        socklen_t len = addrlen != NULL ? (socklen_t)*addrlen : 0;
        int conn = accept4(fd, addr, addrlen != NULL ? &len : NULL,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (conn != -1) {
            if (addrlen != NULL)
                *addrlen = (unsigned)len;
            return conn;
        }
        /* ECONNABORTED: a queued connection was reset before we took it; the
         * listener is fine, so wait for the next one */
        if (errno != ECONNABORTED && moss__io_again(fd, MOSS_READABLE, deadline) == -1)
            return -1;
    }
}

/* A connect in progress: writable means it has ended; SO_ERROR says how. */
static int io_connect_finish(int fd, int64_t deadline)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (moss_wait_fd(fd, MOSS_WRITABLE, deadline) == -1)
        return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        return -1;
    if (err != 0) {
        errno = err;
        return -1;
    }
    return 0;
}

int moss_connect(int fd, const struct sockaddr *addr, unsigned addrlen, int64_t deadline)
{
    int err;

    if (moss__io_enter() == -1)
        return -1;
    if (connect(fd, addr, (socklen_t)addrlen) == 0)
        return 0;
    err = errno;
    /* EINTR: the connect goes on asynchronously, as with EINPROGRESS */
    if (err != EINPROGRESS && err != EINTR)
        return -1;
    return io_connect_finish(fd, deadline);
}
