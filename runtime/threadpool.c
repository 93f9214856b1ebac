/* The thread pool: work that really blocks, run on a fixed set of threads per
 * hub, its result brought back through the hub's loop.
 *
 * Shape. One pool per hub (hub->threadpool), created on first use; its
 * `size` threads (default 4, 1 to 256) all start with the first run. The size
 * can change only before that: afterwards EBUSY.
 *
 * Bound. At most TP_JOBS_PER_THREAD * size jobs are in the pool at once,
 * counted as slots: a slot is taken when a job is submitted and freed when the
 * hub has delivered its result (queued, running and finished-but-undelivered
 * jobs all count, and so do jobs whose callers gave up: they still occupy a
 * thread). A caller that finds no slot waits cooperatively, in FIFO order and
 * under its deadline, for one; a delivery hands its slot straight to the first
 * waiter, so newcomers cannot overtake. Waiting rather than failing with
 * EAGAIN gives back-pressure without retry loops in every caller.
 *
 * Ownership. A job is heap memory of the pool from submission until the hub
 * delivers it; nothing on a greenlet's stack is seen by a thread. A caller
 * that gives up (deadline, kill) only forgets its job (job->waiter = NULL,
 * task->wait_node.item = NULL): the job runs to its end and its result is
 * dropped, through the job's drop function if it has one, when it comes back.
 * A call that could not wait at all (deadline passed, killed, made by the hub
 * itself) is refused before anything is submitted, so it runs nothing.
 *
 * Threads. Workers touch the queue, the done list and their own record under
 * the mutex, and call ev_async_send. Everything else (job->waiter, the slot
 * count, the room wait queue, the loop) belongs to the hub thread alone, so
 * giving up takes no lock. Workers block every asynchronous signal, so that
 * signals meant for the process reach the hub thread.
 *
 * Completion. A worker appends the finished job to the done list and sends
 * the pool's ev_async; its callback runs in the hub greenlet, takes the whole
 * list and wakes each waiter (moss__task_wake). The watcher is started once
 * and unref'd, so by itself it never keeps the loop alive; while any slot is
 * taken the pool holds one loop reference (ev_ref on the first slot, ev_unref
 * on the last), so a greenlet waiting on a job is not declared deadlocked and
 * an idle pool does not hide a real deadlock (EDEADLK still comes).
 *
 * fork. The child has no pool threads. A pthread_atfork child handler resets
 * the forking thread's pool to "not started": the mutex, which the prepare
 * handler took so that no worker held it at fork, is released; the condition,
 * whose waiters were the workers, is made anew; every queued, running and
 * undelivered job is dropped and freed, found through our own records, never
 * through the dead threads; the loop reference is given back. The next run
 * starts fresh threads, and the size may be set again before it. The ev_async
 * watcher needs nothing: it stays started in the child's copy of the loop,
 * and ev_loop_fork (hub_after_fork) renews the wakeup pipe it signals through.
 * The hub's child handler cuts loose every parked task (running our cancels);
 * it runs first (registered with the first hub, before any pool), but the
 * order does not matter: a dropped job clears its waiter's link to it, so a
 * later cancel finds nothing, and room waiters are only unlinked from a queue
 * that stays. The dead threads' own memory (stacks) is glibc's, which
 * reclaims it in the child. */
#include "hub.h"
#include "threadpool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#define TP_DEFAULT_SIZE 4
#define TP_MAX_SIZE 256
#define TP_JOBS_PER_THREAD 64


struct tp_job {
    struct tp_job *next;             /* in the queue or the done list */
    void *(*fn)(void *arg);
    void *arg;
    void *result;                    /* written by the worker */
    void (*drop)(void *arg, void *result); /* frees what nobody takes, or NULL */
    struct moss__task *waiter;       /* hub thread only; NULL once given up */
};

struct tp_list {
    struct tp_job *head, *tail;
};

struct tp_pool;

struct tp_worker {
    pthread_t thread;
    struct tp_pool *pool;
    struct tp_job *job;              /* running now; under the mutex */
};

struct tp_pool {
    /* shared with the workers, under the mutex */
    pthread_mutex_t mutex;
    pthread_cond_t work;             /* workers wait here for jobs */
    struct tp_list queue;            /* submitted, not yet taken */
    struct tp_list done;             /* finished, not yet delivered */
    int stopping;                    /* a failed start is taking workers down */
    /* set before the workers start, read-only while they run */
    struct ev_loop *loop;
    ev_async async;
    /* hub thread only */
    struct tp_worker *workers;       /* NULL: not started */
    unsigned size;
    size_t slots, capacity;          /* taken, and at most */
    struct moss__wait_queue room;    /* callers waiting for a slot */
};

/* The calling thread's pool, for the fork handlers, which cannot ask the hub
 * without perhaps creating one. */
static __thread struct tp_pool *tp_self;

static pthread_once_t tp_fork_once = PTHREAD_ONCE_INIT;
static int tp_fork_error;

/* ---- lists ------------------------------------------------------------------ */

static void tp_list_push(struct tp_list *list, struct tp_job *job)
{
    job->next = NULL;
    if (list->tail != NULL)
        list->tail->next = job;
    else
        list->head = job;
    list->tail = job;
}

static struct tp_job *tp_list_pop(struct tp_list *list)
{
    struct tp_job *job = list->head;

    list->head = job->next;
    if (list->head == NULL)
        list->tail = NULL;
    return job;
}

/* ---- the workers ------------------------------------------------------------ */

/* Hands a finished job to the hub. Only the push onto an empty list sends:
 * otherwise a send is already pending whose callback has yet to take the
 * list, and it will take this job with it. Called with the mutex held. */
static void tp_finish(struct tp_pool *pool, struct tp_job *job)
{
    int was_empty = pool->done.head == NULL;

    tp_list_push(&pool->done, job);
    if (was_empty)
        ev_async_send(pool->loop, &pool->async);
}

static void *tp_worker_main(void *arg)
{
    struct tp_worker *self = arg;
    struct tp_pool *pool = self->pool;

    pthread_mutex_lock(&pool->mutex);
    for (;;) {
        struct tp_job *job;

        while (pool->queue.head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->work, &pool->mutex);
        if (pool->queue.head == NULL)
            break; /* stopping, and nothing left to run */
        job = tp_list_pop(&pool->queue);
        self->job = job;
        pthread_mutex_unlock(&pool->mutex);
        job->result = job->fn(job->arg);
        pthread_mutex_lock(&pool->mutex);
        self->job = NULL;
        tp_finish(pool, job);
    }
    pthread_mutex_unlock(&pool->mutex);
    return NULL;
}

/* Every asynchronous signal: those go to the hub thread. Synchronous faults
 * stay deliverable, since they hit the faulting thread whatever its mask, and
 * blocked they would kill the process with no handler (overflow report,
 * sanitizers) to say why. */
static void tp_worker_sigset(sigset_t *set)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

    sigfillset(set);
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        sigdelset(set, faults[i]);
}

/* Takes down the first n workers of a start that failed. */
static void tp_stop(struct tp_pool *pool, struct tp_worker *workers, unsigned n)
{
    pthread_mutex_lock(&pool->mutex);
    pool->stopping = 1;
    pthread_cond_broadcast(&pool->work);
    pthread_mutex_unlock(&pool->mutex);
    for (unsigned i = 0; i < n; i++)
        pthread_join(workers[i].thread, NULL);
    pool->stopping = 0;
}

static int tp_start(struct tp_pool *pool)
{
    struct tp_worker *workers = calloc(pool->size, sizeof(*workers));
    sigset_t blocked, saved;
    unsigned n;
    int err = 0;

    if (workers == NULL)
        return -1;
    tp_worker_sigset(&blocked);
    pthread_sigmask(SIG_SETMASK, &blocked, &saved); /* threads inherit it */
    for (n = 0; n < pool->size; n++) {
        workers[n].pool = pool;
        err = pthread_create(&workers[n].thread, NULL, tp_worker_main, &workers[n]);
        if (err != 0)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (err != 0)
        goto stop_workers;
    pool->workers = workers;
    pool->capacity = (size_t)pool->size * TP_JOBS_PER_THREAD;
    return 0;

stop_workers:
    tp_stop(pool, workers, n);
    free(workers);
    errno = err;
    return -1;
}

/* ---- delivery, on the hub --------------------------------------------------- */

/* Frees a slot: it passes to the first caller waiting for one, if any, so the
 * count stays; the last one gives the loop reference back. */
static void tp_slot_release(struct tp_pool *pool)
{
    if (moss__wait_queue_wake_one(&pool->room, NULL, 0))
        return;
    if (--pool->slots == 0)
        ev_unref(pool->loop);
}

/* Takes a slot, waiting for one while the pool is full. A waiter woken
 * without error holds the slot its waker handed over. */
static int tp_slot_acquire(struct tp_pool *pool, int64_t deadline)
{
    if (pool->slots >= pool->capacity)
        return moss__wait_queue_wait(&pool->room, NULL, deadline, NULL);
    if (pool->slots++ == 0)
        ev_ref(pool->loop); /* a job in flight keeps the loop alive */
    return 0;
}

/* Frees a job nobody will take, and what it carries. */
static void tp_drop(struct tp_job *job)
{
    if (job->waiter != NULL)
        job->waiter->wait_node.item = NULL;
    if (job->drop != NULL)
        job->drop(job->arg, job->result);
    free(job);
}

static void tp_deliver(struct tp_pool *pool, struct tp_job *job)
{
    struct moss__task *waiter = job->waiter;
    void *result = job->result;

    if (waiter != NULL) {
        waiter->wait_node.item = NULL; /* the wake's cancel must not touch the job */
        free(job);
    } else {
        tp_drop(job); /* its caller gave up */
    }
    tp_slot_release(pool);
    if (waiter != NULL)
        moss__task_wake(waiter, result, 0);
}

static void tp_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    struct tp_pool *pool = w->data;
    struct tp_job *job;

    (void)loop, (void)revents;
    pthread_mutex_lock(&pool->mutex);
    job = pool->done.head;
    pool->done = (struct tp_list){NULL, NULL};
    pthread_mutex_unlock(&pool->mutex);
    while (job != NULL) {
        struct tp_job *next = job->next;

        tp_deliver(pool, job);
        job = next;
    }
}

/* ---- fork ------------------------------------------------------------------- */

/* The forking thread holds the mutex across fork, so no worker does and the
 * child's copy of what it guards is consistent (POSIX's atfork pattern). */
static void tp_fork_prepare(void)
{
    if (tp_self != NULL && tp_self->workers != NULL)
        pthread_mutex_lock(&tp_self->mutex);
}

static void tp_fork_parent(void)
{
    if (tp_self != NULL && tp_self->workers != NULL)
        pthread_mutex_unlock(&tp_self->mutex);
}

static void tp_drop_list(struct tp_list *list)
{
    while (list->head != NULL)
        tp_drop(tp_list_pop(list));
}

/* Back to "not started" (see the top of this file). The mutex is ours, taken
 * by the prepare handler; the condition is made anew, since its waiters were
 * threads that do not exist here (glibc's initialiser cannot fail). */
static void tp_fork_child(void)
{
    struct tp_pool *pool = tp_self;

    if (pool == NULL || pool->workers == NULL)
        return;
    pthread_cond_init(&pool->work, NULL);
    pthread_mutex_unlock(&pool->mutex);
    tp_drop_list(&pool->queue);
    tp_drop_list(&pool->done);
    for (unsigned i = 0; i < pool->size; i++) {
        if (pool->workers[i].job != NULL)
            tp_drop(pool->workers[i].job);
    }
    free(pool->workers);
    pool->workers = NULL;
    pool->capacity = 0;
    if (pool->slots > 0) {
        pool->slots = 0;
        ev_unref(pool->loop);
    }
}

static void tp_register_fork(void)
{
    tp_fork_error = pthread_atfork(tp_fork_prepare, tp_fork_parent, tp_fork_child);
}

/* ---- the pool --------------------------------------------------------------- */

static int tp_sync_init(struct tp_pool *pool)
{
    int err = pthread_mutex_init(&pool->mutex, NULL);

    if (err == 0) {
        err = pthread_cond_init(&pool->work, NULL);
        if (err != 0)
            pthread_mutex_destroy(&pool->mutex);
    }
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* The hub's pool, created (not started) on first use. NULL with errno. */
static struct tp_pool *tp_pool_get(struct moss__hub *hub)
{
    struct tp_pool *pool = hub->threadpool;

    if (pool != NULL)
        return pool;
    pthread_once(&tp_fork_once, tp_register_fork);
    if (tp_fork_error != 0) {
        errno = tp_fork_error; /* a child could not reset the pool */
        return NULL;
    }
    pool = calloc(1, sizeof(*pool));
    if (pool == NULL)
        return NULL;
    if (tp_sync_init(pool) == -1) {
        free(pool);
        return NULL;
    }
    pool->loop = hub->loop;
    pool->size = TP_DEFAULT_SIZE;
    ev_async_init(&pool->async, tp_async_cb);
    pool->async.data = pool;
    ev_async_start(hub->loop, &pool->async);
    ev_unref(hub->loop); /* only jobs in flight keep the loop alive */
    hub->threadpool = tp_self = pool;
    return pool;
}

/* Refuses, as moss__task_park would, a caller that cannot wait, so that a job
 * is submitted only when its caller can wait for it: a refused call runs
 * nothing. */
static int tp_refused(const struct moss__task *task, int64_t deadline)
{
    int64_t now = moss__hub_now(task->hub), scoped = task->scoped_deadline;
    int err = 0;

    if (task->greenlet == task->hub->greenlet)
        err = EDEADLK;
    else if (task->killed)
        err = ECANCELED;
    else if ((deadline != MOSS_FOREVER && deadline <= now) ||
             (scoped != MOSS_FOREVER && scoped <= now))
        err = ETIMEDOUT;
    if (err == 0)
        return 0;
    errno = err;
    return -1;
}

/* Whatever ends the wait, the job no longer has anyone to deliver to. */
static void tp_cancel(struct moss__task *task)
{
    struct tp_job *job = task->wait_node.item;

    task->wait_node.item = NULL;
    if (job != NULL)
        job->waiter = NULL;
}

static void tp_submit(struct tp_pool *pool, struct tp_job *job)
{
    pthread_mutex_lock(&pool->mutex);
    tp_list_push(&pool->queue, job);
    pthread_cond_signal(&pool->work);
    pthread_mutex_unlock(&pool->mutex);
}

/* The calling task's hub's pool, started. NULL with errno. */
static struct tp_pool *tp_started(struct moss__task *task)
{
    struct tp_pool *pool = tp_pool_get(task->hub);

    if (pool == NULL || (pool->workers == NULL && tp_start(pool) == -1))
        return NULL;
    return pool;
}

int moss__threadpool_call(void *(*fn)(void *arg), void *arg,
                          void (*drop)(void *arg, void *result), void **result,
                          int64_t deadline)
{
    struct moss__task *task = moss__task_current();
    struct tp_pool *pool = task != NULL ? tp_started(task) : NULL;
    struct tp_job *job;
    void *value;
    int err;

    if (pool == NULL)
        goto drop_arg;
    job = calloc(1, sizeof(*job));
    if (job == NULL)
        goto drop_arg;
    if (tp_slot_acquire(pool, deadline) == -1)
        goto free_job;
    if (tp_refused(task, deadline) == -1)
        goto release_slot;
    *job = (struct tp_job){.fn = fn, .arg = arg, .drop = drop, .waiter = task};
    task->wait_node.item = job;
    tp_submit(pool, job);
    if (moss__task_park(task, deadline, tp_cancel, &value) == -1)
        return -1; /* given up: the job is the pool's, which drops it when it ends */
    if (result != NULL)
        *result = value;
    return 0;

release_slot:
    tp_slot_release(pool);
free_job:
    free(job);
drop_arg:
    err = errno;
    if (drop != NULL)
        drop(arg, NULL);
    errno = err;
    return -1;
}

int moss_threadpool_run(void *(*fn)(void *arg), void *arg, void **result, int64_t deadline)
{
    if (fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    return moss__threadpool_call(fn, arg, NULL, result, deadline);
}

int moss_threadpool_set_size(unsigned threads)
{
    struct moss__hub *hub;
    struct tp_pool *pool;

    if (threads < 1 || threads > TP_MAX_SIZE) {
        errno = EINVAL;
        return -1;
    }
    hub = moss__hub_get();
    if (hub == NULL)
        return -1;
    pool = tp_pool_get(hub);
    if (pool == NULL)
        return -1;
    if (pool->workers != NULL) {
        errno = EBUSY;
        return -1;
    }
    pool->size = threads;
    return 0;
}
