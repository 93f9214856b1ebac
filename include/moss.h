/* moss: gevent's programming model in C.
 *
 * The public API. Conventions, as in syscalls and libdill: a call returns 0
 * (or a count, or a pointer) on success and -1 (or NULL) with errno set on
 * failure. Every moss object belongs to the thread that created it. */
#ifndef MOSS_H
#define MOSS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MOSS_VERSION_MAJOR 0
#define MOSS_VERSION_MINOR 1
#define MOSS_VERSION_PATCH 0
#define MOSS_VERSION "0.1.0"

/* The version of the library actually linked, which may differ from
 * MOSS_VERSION, the version of this header. */
const char *moss_version(void);

/* ---------------------------------------------------------------------------
 * Greenlets: the "small g" layer, as in python-greenlet.
 *
 * A greenlet is a function running on its own stack, switched to explicitly.
 * Every thread has an implicit main greenlet (its original stack) that is
 * created on first use and never dies. Every other greenlet has a parent:
 * when its function returns, control and the return value go to the parent
 * (or, if the parent is dead, to the nearest live ancestor).
 * ------------------------------------------------------------------------- */

typedef struct moss_greenlet moss_greenlet_t;
typedef void *(*moss_greenlet_fn)(void *arg);

typedef enum moss_greenlet_state {
    MOSS_GREENLET_NEW,       /* created, never switched to */
    MOSS_GREENLET_RUNNING,   /* the calling thread's current greenlet */
    MOSS_GREENLET_SUSPENDED, /* started, switched away from */
    MOSS_GREENLET_DEAD       /* returned, or killed before it started */
} moss_greenlet_state_t;

/* The longest greenlet name kept, in bytes, without the terminating NUL.
 * Longer names are truncated. */
#define MOSS_GREENLET_NAME_MAX 31

/* Options for moss_greenlet_create. Zero-initialise, then set what you need:
 * a zero field means the default. */
typedef struct moss_greenlet_opts {
    moss_greenlet_t *parent; /* default: the calling greenlet */
    size_t stack_size;       /* usable bytes; default: moss_greenlet_stack_size() */
    const char *name;        /* default: "" */
} moss_greenlet_opts_t;

/* Creates a greenlet that will run fn(arg) on its own stack when it is first
 * switched to. The stack is allocated now, so ENOMEM surfaces here.
 * Errors: EINVAL (fn is NULL, a dead or foreign parent, or a stack size out of
 * range), EPERM (parent belongs to another thread), ENOMEM. */
moss_greenlet_t *moss_greenlet_create(moss_greenlet_fn fn, void *arg,
                                      const moss_greenlet_opts_t *opts);

/* Shorthand for moss_greenlet_create with only a parent (NULL: the caller). */
moss_greenlet_t *moss_greenlet_new(moss_greenlet_fn fn, void *arg,
                                   moss_greenlet_t *parent);

/* Releases the caller's handle. A greenlet that is NEW is discarded without
 * running; a DEAD one is freed. The memory stays until no child greenlet still
 * names this one as its parent. Errors: EBUSY (the greenlet is running or
 * suspended: kill it and let it finish first), EPERM (another thread's),
 * EINVAL (the thread's main greenlet). */
int moss_greenlet_free(moss_greenlet_t *g);

/* Switches to `target`, handing it `value`. Returns when something switches
 * back to the caller: 0 with *out (if out is not NULL) set to the value it
 * passed, or to the return value of a child that finished; or -1 with errno
 * set to the error thrown into the caller (see moss_greenlet_throw).
 * Switching to the caller itself returns 0 with *out = value at once.
 * Errors of the call itself: ESRCH (target is dead), EPERM (target belongs to
 * another thread), EINVAL (target is NULL). The caller does not move then. */
int moss_greenlet_switch(moss_greenlet_t *target, void *value, void **out);

/* Switches to `target` so that its pending switch returns -1 with errno set
 * to `err` (which must be positive). A NEW target is killed: it never runs,
 * it dies at once, and the error goes on to its parent, as an exception
 * would in python-greenlet; if the caller is that parent, this call returns
 * -1 with errno == err. Otherwise returns like moss_greenlet_switch, when the
 * caller is next resumed. Errors: as for moss_greenlet_switch, and EINVAL for
 * err <= 0. Throwing into the caller itself returns -1 with errno == err. */
int moss_greenlet_throw(moss_greenlet_t *target, int err);

/* The calling thread's running greenlet (its main greenlet if none other). */
moss_greenlet_t *moss_greenlet_current(void);

/* The calling thread's main greenlet. */
moss_greenlet_t *moss_greenlet_main(void);

moss_greenlet_state_t moss_greenlet_state(const moss_greenlet_t *g);

/* The parent, or NULL for a main greenlet. */
moss_greenlet_t *moss_greenlet_parent(const moss_greenlet_t *g);

/* Re-parents g. Errors: EINVAL (a cycle would form, or g is a main greenlet,
 * or parent is NULL), EPERM (parent belongs to another thread than g). */
int moss_greenlet_set_parent(moss_greenlet_t *g, moss_greenlet_t *parent);

/* For a DEAD greenlet: 0 with *value (if not NULL) set to what its function
 * returned, or -1 with errno set to the error that killed it before it
 * started. Errors: EAGAIN (g is not dead yet). */
int moss_greenlet_result(const moss_greenlet_t *g, void **value);

/* A process-wide unique id, never reused. Main greenlets have ids too. */
uint64_t moss_greenlet_id(const moss_greenlet_t *g);

const char *moss_greenlet_name(const moss_greenlet_t *g);
void moss_greenlet_set_name(moss_greenlet_t *g, const char *name);

/* The default usable stack size for new greenlets on the calling thread.
 * Sizes are rounded up to whole pages; one guard page below each stack
 * comes on top. Range: 16 KiB to 1 GiB. Changing it empties the thread's
 * stack cache. Errors: EINVAL (out of range). */
size_t moss_greenlet_stack_size(void);
int moss_greenlet_set_stack_size(size_t size);

/* How many finished greenlets' stacks the calling thread keeps for reuse.
 * Stacks beyond this are unmapped when their greenlet dies. Default 128;
 * range 0 to 65536. Errors: EINVAL (out of range). */
int moss_greenlet_set_stack_cache(size_t count);

/* Counters of the calling thread's greenlet layer. */
typedef struct moss_greenlet_stats {
    uint64_t created;       /* greenlets created on this thread */
    uint64_t alive;         /* created, not yet freed (NEW, SUSPENDED, running, or DEAD and unfreed) */
    uint64_t switches;      /* context switches performed */
    uint64_t stacks_mapped; /* stacks currently mapped, in use or cached */
    uint64_t stacks_cached; /* of those, the ones in the cache */
    uint64_t stack_cache_hits;
    /* How stack guards are installed: "guard-region" (Linux 6.13 madvise
     * guards, verified to fault; no VMA per stack) or "mprotect" (two VMAs
     * per stack, so vm.max_map_count bounds the number of greenlets). */
    const char *stack_guard;
} moss_greenlet_stats_t;

void moss_greenlet_stats(moss_greenlet_stats_t *stats);

/* ---------------------------------------------------------------------------
 * Switch tracing.
 *
 * A hook installed with moss_settrace is called on the switching thread for
 * every switch and every throw, before control moves, with the greenlet
 * leaving and the greenlet about to run. It must not switch. With no hook
 * installed, tracing costs one predictable branch on the switch path.
 * ------------------------------------------------------------------------- */

typedef enum moss_trace_event {
    MOSS_TRACE_SWITCH, /* a switch, or a finished greenlet returning to its parent */
    MOSS_TRACE_THROW   /* a throw; the target's pending switch will fail */
} moss_trace_event_t;

typedef void (*moss_trace_fn)(moss_trace_event_t event, moss_greenlet_t *origin,
                              moss_greenlet_t *target, void *arg);

typedef struct moss_trace {
    moss_trace_fn fn; /* NULL: no hook */
    void *arg;
} moss_trace_t;

/* Installs fn(..., arg) as the calling thread's hook (fn NULL removes it) and
 * returns the previous hook, so that hooks can chain. */
moss_trace_t moss_settrace(moss_trace_fn fn, void *arg);

/* What a thread publishes for readers on other threads, such as a watchdog:
 * the number of switches so far and the id of the greenlet now running,
 * updated with relaxed atomic stores on every switch. Read the fields with
 * relaxed atomic loads. Valid until the owning thread exits. */
typedef struct moss_switch_monitor {
    _Atomic uint64_t switches;
    _Atomic uint64_t current_id;
} moss_switch_monitor_t;

/* The calling thread's monitor, to hand to another thread. */
const moss_switch_monitor_t *moss_switch_monitor(void);


/* ---------------------------------------------------------------------------
 * The hub: gevent's "big G" layer.
 *
 * Every thread that uses these calls gets a hub on first use: a greenlet
 * whose body runs a libev loop. A blocking-looking call below parks the
 * calling greenlet on a watcher and switches to the hub; the hub switches
 * back when the watcher fires. Calls that block follow one contract:
 *   - `deadline` is an absolute time in moss_now() milliseconds, or
 *     MOSS_FOREVER; the call fails with ETIMEDOUT once it passes, and also
 *     when the nearest enclosing deadline scope (moss_deadline_push) passes;
 *   - once the calling greenlet has been killed (moss_kill), the current and
 *     every later blocking call fails with ECANCELED;
 *   - blocking in the hub greenlet itself fails with EDEADLK, as does a wait
 *     that nothing left in the loop could ever end.
 * ------------------------------------------------------------------------- */

#define MOSS_FOREVER ((int64_t)-1)

/* Milliseconds on the monotonic clock, as cached by the loop each time it
 * runs callbacks (cheap; use it to compute deadlines). A greenlet that runs
 * a long time without blocking sees it stand still, as in libev. */
int64_t moss_now(void);

/* Creates a greenlet that runs fn(arg) as a child of the hub and queues it to
 * start before the loop next blocks, after greenlets queued earlier (FIFO).
 * The caller owns the handle: release it with moss_join or moss_detach.
 * opts may be NULL; its parent field must be NULL. Errors: EINVAL, ENOMEM. */
moss_greenlet_t *moss_spawn(moss_greenlet_fn fn, void *arg);
moss_greenlet_t *moss_spawn_opts(moss_greenlet_fn fn, void *arg,
                                 const moss_greenlet_opts_t *opts);

/* Waits until g has finished, then frees it: the handle is gone after a
 * return of 0, and *result (if not NULL) holds what fn returned (NULL if g was
 * killed before it started). On failure the handle stays the caller's.
 * Errors: ETIMEDOUT, ECANCELED, EDEADLK (g is the caller), EBUSY (another
 * greenlet is already joining g), EINVAL (g was not spawned on this thread's
 * hub, or is detached). */
int moss_join(moss_greenlet_t *g, int64_t deadline, void **result);

/* Gives up the handle: g is freed when it finishes (at once if it has).
 * Errors: EINVAL (not a spawned greenlet, or already detached). */
int moss_detach(moss_greenlet_t *g);

/* Cancels g: its current or next blocking call fails with ECANCELED, and so
 * does every blocking call after it, so it unwinds and returns. A greenlet
 * killed before it started never runs. Does not wait: join for that.
 * Killing a finished greenlet does nothing. Errors: EINVAL (not a spawned
 * greenlet of this thread's hub). */
int moss_kill(moss_greenlet_t *g);

/* Registers fn(arg) to run when the calling spawned greenlet finishes, for
 * any reason; callbacks run last-registered first. At most MOSS_DEFER_MAX
 * per greenlet. Errors: EINVAL (the caller is not a spawned greenlet),
 * ENOBUFS (too many), ENOMEM. */
#define MOSS_DEFER_MAX 64
int moss_defer(void (*fn)(void *arg), void *arg);

/* Sleeps cooperatively. moss_sleep(0) lets every greenlet that is ready run
 * first, then returns. 0, or -1 with ETIMEDOUT (an enclosing deadline ends
 * before the sleep would), ECANCELED, EDEADLK. */
int moss_sleep(int64_t ms);

/* A deadline scope, gevent's Timeout: between push and pop every blocking
 * call of the calling greenlet fails with ETIMEDOUT once `deadline` passes.
 * Scopes nest; the nearest deadline wins. Pop scopes in reverse order of
 * pushing, on the greenlet that pushed them. The scope lives in the caller's
 * frame and is never handed to the hub. */
typedef struct moss_deadline_scope {
    int64_t previous;
} moss_deadline_scope_t;

void moss_deadline_push(moss_deadline_scope_t *scope, int64_t deadline);
void moss_deadline_pop(moss_deadline_scope_t *scope);

/* Counters of the calling thread's hub. */
typedef struct moss_hub_stats {
    uint64_t loop_iterations;
    uint64_t greenlets_spawned;
    uint64_t greenlets_alive;   /* spawned, not yet freed */
    uint64_t run_queue_length;  /* ready now */
    uint64_t run_queue_batches; /* drains that stopped at the batch bound */
} moss_hub_stats_t;

void moss_hub_stats(moss_hub_stats_t *stats);

/* The most greenlets the hub starts or resumes from its run queue before it
 * polls for I/O again, so a flood of spawns or wake-ups cannot starve I/O. */
#define MOSS_HUB_BATCH 256

/* ---------------------------------------------------------------------------
 * Cooperative I/O. fds should be non-blocking (moss_accept returns them so;
 * moss_socket makes them so). At most one greenlet waits for reading and one
 * for writing on an fd at a time; a second fails with EBUSY. moss_close
 * wakes whatever waits on the fd with EBADF before closing it.
 * ------------------------------------------------------------------------- */

#define MOSS_READABLE 1
#define MOSS_WRITABLE 2

struct sockaddr;
struct msghdr;

/* Waits until fd is readable and/or writable (events: MOSS_READABLE |
 * MOSS_WRITABLE). Returns the events that are ready. */
int moss_wait_fd(int fd, int events, int64_t deadline);

/* socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC added. */
int moss_socket(int domain, int type, int protocol);

/* accept4(2) that waits; the new fd is non-blocking and close-on-exec. */
int moss_accept(int fd, struct sockaddr *addr, unsigned *addrlen, int64_t deadline);

/* connect(2) on a non-blocking socket, waiting for it to complete. 0, or -1
 * with the connect error (ECONNREFUSED, ...), ETIMEDOUT, ECANCELED. */
int moss_connect(int fd, const struct sockaddr *addr, unsigned addrlen, int64_t deadline);

/* Read at most len bytes, waiting until at least one is there. 0 at end of
 * file. */
ptrdiff_t moss_read(int fd, void *buf, size_t len, int64_t deadline);
ptrdiff_t moss_recv(int fd, void *buf, size_t len, int flags, int64_t deadline);

/* Write all len bytes, waiting as needed. Returns len, or -1 with errno; on
 * -1 some prefix may have been written. MSG_NOSIGNAL is implied for send. */
ptrdiff_t moss_write(int fd, const void *buf, size_t len, int64_t deadline);
ptrdiff_t moss_send(int fd, const void *buf, size_t len, int flags, int64_t deadline);

/* sendfile(2) of all `count` bytes from in_fd at *offset (advanced), waiting
 * on out_fd as needed. Returns count, or fewer at end of in_fd's file, or -1. */
ptrdiff_t moss_sendfile(int out_fd, int in_fd, int64_t *offset, size_t count,
                        int64_t deadline);

/* Wakes any greenlet waiting on fd with EBADF, then close(2). Close an fd
 * that a greenlet may be waiting on only with this: a plain close(2) leaves
 * the loop watching a number the kernel may hand out again. */
int moss_close(int fd);

/* A buffered reader over an fd, gevent's makefile() for reading. The buffer
 * is allocated once, with a fixed capacity, which also bounds a line. */
typedef struct moss_reader moss_reader_t;

moss_reader_t *moss_reader_new(int fd, size_t capacity);
void moss_reader_free(moss_reader_t *r);

/* Up to len bytes, from the buffer first. 0 at end of file. */
ptrdiff_t moss_reader_read(moss_reader_t *r, void *buf, size_t len, int64_t deadline);

/* The next line, '\n' included, in *line (valid until the next call on r).
 * Returns its length; at end of file a last line without '\n', then 0.
 * Errors: EMSGSIZE (a line longer than the capacity), and those of read. */
ptrdiff_t moss_reader_line(moss_reader_t *r, const char **line, int64_t deadline);

/* ---------------------------------------------------------------------------
 * Synchronisation between greenlets of one hub. Waiters are woken in the
 * order they started waiting (FIFO). Objects are created and freed by their
 * owner; freeing one that greenlets wait on is an error (EBUSY).
 * ------------------------------------------------------------------------- */

typedef struct moss_event moss_event_t;
moss_event_t *moss_event_new(void);
int moss_event_free(moss_event_t *e);
void moss_event_set(moss_event_t *e);       /* wakes every waiter */
void moss_event_clear(moss_event_t *e);
int moss_event_is_set(const moss_event_t *e);
int moss_event_wait(moss_event_t *e, int64_t deadline);

/* A value or an error, set once; get waits for it. */
typedef struct moss_async_result moss_async_result_t;
moss_async_result_t *moss_async_result_new(void);
int moss_async_result_free(moss_async_result_t *r);
int moss_async_result_set(moss_async_result_t *r, void *value); /* EALREADY if set */
int moss_async_result_set_error(moss_async_result_t *r, int err);
int moss_async_result_ready(const moss_async_result_t *r);
/* 0 with *value, or -1 with the error it was set with, or ETIMEDOUT, ... */
int moss_async_result_get(moss_async_result_t *r, void **value, int64_t deadline);

/* Counting semaphore. A bounded one fails a release beyond its initial count
 * with EOVERFLOW. */
typedef struct moss_semaphore moss_semaphore_t;
moss_semaphore_t *moss_semaphore_new(unsigned count);
moss_semaphore_t *moss_bounded_semaphore_new(unsigned count);
int moss_semaphore_free(moss_semaphore_t *s);
int moss_semaphore_acquire(moss_semaphore_t *s, int64_t deadline);
int moss_semaphore_release(moss_semaphore_t *s);
unsigned moss_semaphore_count(const moss_semaphore_t *s);

/* A lock held by one greenlet; released only by its holder (EPERM), not
 * re-entrant (EDEADLK). */
typedef struct moss_lock moss_lock_t;
moss_lock_t *moss_lock_new(void);
int moss_lock_free(moss_lock_t *l);
int moss_lock_acquire(moss_lock_t *l, int64_t deadline);
int moss_lock_release(moss_lock_t *l);

/* A queue of pointers. capacity 0 means unbounded. In MOSS_QUEUE_PRIORITY
 * order the lowest priority value comes out first, FIFO among equals; in
 * MOSS_QUEUE_FIFO order priority is ignored. put waits while full, get while
 * empty. */
typedef struct moss_queue moss_queue_t;
typedef enum moss_queue_order { MOSS_QUEUE_FIFO, MOSS_QUEUE_PRIORITY } moss_queue_order_t;
moss_queue_t *moss_queue_new(size_t capacity, moss_queue_order_t order);
int moss_queue_free(moss_queue_t *q);
int moss_queue_put(moss_queue_t *q, void *item, int priority, int64_t deadline);
int moss_queue_get(moss_queue_t *q, void **item, int64_t deadline);
size_t moss_queue_length(const moss_queue_t *q);

/* A group of spawned greenlets it owns (and frees as they finish), with at
 * most `limit` running at once (0: no limit, gevent's Group). spawn waits
 * for a free slot. */
typedef struct moss_pool moss_pool_t;
moss_pool_t *moss_pool_new(size_t limit);
int moss_pool_free(moss_pool_t *p);         /* EBUSY while any member lives */
int moss_pool_spawn(moss_pool_t *p, moss_greenlet_fn fn, void *arg, int64_t deadline);
int moss_pool_join(moss_pool_t *p, int64_t deadline); /* until all have finished */
void moss_pool_kill(moss_pool_t *p);        /* moss_kill on every member */
size_t moss_pool_size(const moss_pool_t *p); /* members alive */

/* ---------------------------------------------------------------------------
 * Work that really blocks: a fixed-size pool of threads per hub. The calling
 * greenlet waits cooperatively; the result comes back through the loop. A
 * call given up (deadline, kill) still runs to its end on its thread; its
 * result is then dropped.
 * ------------------------------------------------------------------------- */

/* Runs fn(arg) on a pool thread; 0 with *result = its return value. */
int moss_threadpool_run(void *(*fn)(void *arg), void *arg, void **result, int64_t deadline);

/* Sets the calling thread's hub pool size before its first use (default 4,
 * range 1 to 256). Errors: EINVAL, EBUSY (already started). */
int moss_threadpool_set_size(unsigned threads);

struct addrinfo;
/* getaddrinfo(3) that does not block the hub. Returns 0 or an EAI_* code, as
 * getaddrinfo does (EAI_SYSTEM with errno ETIMEDOUT or ECANCELED when the
 * wait is given up). Free *res with freeaddrinfo. */
int moss_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res, int64_t deadline);

/* ---------------------------------------------------------------------------
 * Serving HTTP/1.1: the app interface.
 *
 * A worker runs a greenlet per connection and, for each request, a greenlet
 * that calls the app's handler. The handler reads like gevent's WSGI code:
 * straight-line, blocking-looking, and free to use every call above. A
 * request that outlives request_timeout is cancelled: its handler's blocking
 * calls fail with ECANCELED and the client gets 503 (or, if the response had
 * started, a closed connection).
 * ------------------------------------------------------------------------- */

typedef struct moss_request moss_request_t;
typedef struct moss_response moss_response_t;

/* Handles one request. Returns 0, or -1 to have the server answer 500 (or
 * close the connection if the response has started). A handler that returns
 * 0 without responding gets an empty 204. */
typedef int (*moss_handler_fn)(moss_request_t *req, moss_response_t *res, void *app_data);

typedef struct moss_app {
    const char *name;           /* for logs */
    moss_handler_fn handle;
    /* Optional. Run in each worker after fork, before it serves: 0, or -1
     * to refuse to start (the worker exits, naming the app). */
    int (*init)(void **app_data);
    void (*fini)(void *app_data); /* optional; on a clean worker exit */
} moss_app_t;

/* A plugin (moss --app FILE.so) exports this function; the worker calls it
 * after fork to get the app. 0, or -1 to refuse to start. */
typedef int (*moss_app_init_fn)(moss_app_t *app);
#define MOSS_APP_INIT_SYMBOL "moss_app_init"

/* Request line and headers; strings stay valid until the handler returns. */
const char *moss_request_method(const moss_request_t *req);
const char *moss_request_path(const moss_request_t *req);  /* raw (not decoded), no query */
const char *moss_request_query(const moss_request_t *req); /* after '?', or "" */
/* The first header of that name (case-insensitive), or NULL. */
const char *moss_request_header(const moss_request_t *req, const char *name);
size_t moss_request_header_count(const moss_request_t *req);
int moss_request_header_at(const moss_request_t *req, size_t i, const char **name,
                           const char **value);
/* The client's address as "ip:port" (as told by the PROXY protocol, when a
 * trusted proxy sent it). */
const char *moss_request_client(const moss_request_t *req);
/* Copies query parameter `name`, percent-decoded, into buf. Its length, or
 * -1 with ENOENT (absent) or ENOSPC (does not fit, NUL included). */
ptrdiff_t moss_request_query_param(const moss_request_t *req, const char *name, char *buf,
                                   size_t cap);
/* Content-Length, or -1 for a chunked body or none. */
int64_t moss_request_content_length(const moss_request_t *req);
/* Reads the body (de-chunked) into buf: a count, 0 at its end, or -1 with
 * errno: ETIMEDOUT (body_timeout), EMSGSIZE (beyond max_body_size), EPROTO
 * (bad framing), ECONNRESET (the client ended the stream mid-body), and the
 * hub's ECANCELED. The server then answers 408, 413 or 400 itself, or closes.
 * Answers "Expect: 100-continue" on the first call. */
ptrdiff_t moss_request_read(moss_request_t *req, void *buf, size_t len);

/* Adds a response header (before the response has started). Errors: EINVAL
 * (CR or LF in name or value, or a header the server owns: Content-Length,
 * Transfer-Encoding, Connection, Date), EALREADY (response started), ENOBUFS
 * (too many). */
int moss_response_header(moss_response_t *res, const char *name, const char *value);
/* The whole response at once, with Content-Length. */
int moss_response_send(moss_response_t *res, int status, const char *content_type,
                       const void *body, size_t len);
/* A streamed response: start sends the status and headers (chunked when
 * content_length is -1, else that length), write sends body bytes, end
 * finishes it; end fails with EPROTO if fewer bytes than content_length were
 * written (the connection is then closed). For HEAD, body bytes are counted
 * and not sent. Statuses: 200 to 999 (the server owns 1xx). */
int moss_response_start(moss_response_t *res, int status, const char *content_type,
                        int64_t content_length);
int moss_response_write(moss_response_t *res, const void *data, size_t len);
int moss_response_end(moss_response_t *res);

/* ---------------------------------------------------------------------------
 * Configuration: one table of settings (config/settings.c), with the same
 * names as the long command-line flags. Every setting, its default and its
 * range: docs/settings.md.
 * ------------------------------------------------------------------------- */

typedef struct moss_config moss_config_t;

/* A config holding every default. NULL with ENOMEM. */
moss_config_t *moss_config_new(void);
void moss_config_free(moss_config_t *config);
/* Sets `key` from its text form, validated. 0, or -1 with errno EINVAL and
 * a reason in *error (error may be NULL): unknown key, bad syntax, or a value
 * out of range. The reason is static text or a per-thread buffer, valid until
 * this thread's next moss_config_set. Repeatable keys (bind) accumulate. */
int moss_config_set(moss_config_t *config, const char *key, const char *value,
                    const char **error);

/* Runs the whole server, as the moss command does: this process becomes the
 * master; it binds config's listeners, forks config's workers (each calls
 * app's init, then serves; app NULL: config's plugin, or the demo app),
 * supervises them and answers their signals (HUP reloads: new workers with
 * the same config; TERM drains; INT stops; see docs/operations.md) until a
 * stop. Call it from the main greenlet, before any other greenlet or thread
 * is started. Returns 0 after a clean stop, or -1 with errno (and a message
 * on stderr) if it could not start: ECANCELED when the first workers could
 * not (their own messages say why). */
int moss_serve(const moss_config_t *config, const moss_app_t *app);

#ifdef __cplusplus
}
#endif

#endif
