/* Cooperative I/O: the per-hub fd table, waiting for an fd, and closing one.
 *
 * The table (hub->io) has one slot per fd, naming the task parked for
 * reading and the task parked for writing, so that a second waiter for the
 * same direction is refused (EBUSY) and moss_close can find and wake the
 * waiters before the fd number is released for reuse. A waiting task parks
 * on its own embedded watcher (task->io), per the protocol in hub.h; the
 * table holds task pointers only, never pointers into greenlet stacks. */
#include "io.h"

#include "hub.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The first table size; it doubles from there. */
#define IO_TABLE_INITIAL 64

struct io_slot {
    struct moss__task *reader;
    struct moss__task *writer;
};

struct io_table {
    struct io_slot *slots; /* indexed by fd */
    size_t size;
};

static struct io_table *io_table_get(struct moss__hub *hub)
{
    if (hub->io == NULL)
        hub->io = calloc(1, sizeof(struct io_table));
    return hub->io;
}

/* The slot of fd if the table has one yet, else NULL. Never grows it. */
static struct io_slot *io_slot_find(const struct moss__hub *hub, int fd)
{
    const struct io_table *table = hub->io;

    if (table == NULL || fd < 0 || (size_t)fd >= table->size)
        return NULL;
    return &table->slots[fd];
}

/* The highest fd number plus one the process may have open: the
 * RLIMIT_NOFILE soft limit, read each time the table grows since it can
 * change. */
static size_t io_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (rlim_t)INT_MAX)
        return (size_t)INT_MAX;
    return (size_t)rl.rlim_cur;
}

/* The slot of fd, growing the table geometrically (bounded by the fd limit)
 * to hold it. NULL with EBADF for an fd the process cannot have open, or
 * ENOMEM. */
static struct io_slot *io_slot_get(struct io_table *table, int fd)
{
    size_t limit, size;
    struct io_slot *slots;

    if (fd >= 0 && (size_t)fd < table->size)
        return &table->slots[fd];
    limit = io_fd_limit();
    if (fd < 0 || (size_t)fd >= limit) {
        errno = EBADF;
        return NULL;
    }
    size = table->size != 0 ? table->size : IO_TABLE_INITIAL;
    while (size <= (size_t)fd)
        size *= 2;
    if (size > limit)
        size = limit;
    slots = realloc(table->slots, size * sizeof(*slots));
    if (slots == NULL)
        return NULL;
    memset(slots + table->size, 0, (size - table->size) * sizeof(*slots));
    table->slots = slots;
    table->size = size;
    return &slots[fd];
}

/* Takes the slot's reader and/or writer place for task. EBUSY, taking
 * neither, when a place asked for is held by another waiter. */
static int io_slot_claim(struct io_slot *slot, struct moss__task *task, int events)
{
    if (((events & MOSS_READABLE) && slot->reader != NULL) ||
        ((events & MOSS_WRITABLE) && slot->writer != NULL)) {
        errno = EBUSY;
        return -1;
    }
    if (events & MOSS_READABLE)
        slot->reader = task;
    if (events & MOSS_WRITABLE)
        slot->writer = task;
    return 0;
}

/* The park's cancel: undoes the registration of moss_wait_fd, whatever ends
 * the wait (readiness, deadline, kill, moss_close, a fork). */
static void io_cancel(struct moss__task *task)
{
    struct io_slot *slot = io_slot_find(task->hub, task->io.fd);

    ev_io_stop(task->hub->loop, &task->io);
    if (slot == NULL)
        return;
    if (slot->reader == task)
        slot->reader = NULL;
    if (slot->writer == task)
        slot->writer = NULL;
}

static void io_ready(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    moss__task_wake(w->data, (void *)(intptr_t)revents, 0);
}

/* libev's readiness bits as MOSS_* events, limited to those asked for.
 * EV_ERROR (libev found the fd invalid and stopped its watchers): EBADF. */
static int io_events_ready(int revents, int events)
{
    int ready = 0;

    if (revents & EV_ERROR) {
        errno = EBADF;
        return -1;
    }
    if (revents & EV_READ)
        ready |= MOSS_READABLE;
    if (revents & EV_WRITE)
        ready |= MOSS_WRITABLE;
    return ready & events;
}

static int io_ev_events(int events)
{
    return ((events & MOSS_READABLE) ? EV_READ : 0) | ((events & MOSS_WRITABLE) ? EV_WRITE : 0);
}

static int io_events_valid(int events)
{
    return events != 0 && (events & ~(MOSS_READABLE | MOSS_WRITABLE)) == 0;
}

int moss_wait_fd(int fd, int events, int64_t deadline)
{
    struct moss__task *task = moss__task_current();
    struct io_table *table;
    struct io_slot *slot;
    void *value = NULL;

    if (task == NULL)
        return -1;
    if (!io_events_valid(events)) {
        errno = EINVAL;
        return -1;
    }
    table = io_table_get(task->hub);
    slot = table != NULL ? io_slot_get(table, fd) : NULL;
    if (slot == NULL || io_slot_claim(slot, task, events) == -1)
        return -1;
    ev_io_init(&task->io, io_ready, fd, io_ev_events(events));
    task->io.data = task;
    ev_io_start(task->hub->loop, &task->io);
    /* refused or ended, the park runs io_cancel: nothing is left registered */
    if (moss__task_park(task, deadline, io_cancel, &value) == -1)
        return -1;
    return io_events_ready((int)(intptr_t)value, events);
}

/* Wakes the waiter in one direction of fd with EBADF. The slot is looked up
 * afresh each time: waking from the hub greenlet resumes the waiter at once,
 * and it may grow (move) the table before control comes back. */
static void io_wake_closed(struct moss__hub *hub, int fd, int events)
{
    struct io_slot *slot = io_slot_find(hub, fd);
    struct moss__task *task;

    if (slot == NULL)
        return;
    task = (events & MOSS_READABLE) ? slot->reader : slot->writer;
    if (task != NULL)
        moss__task_wake(task, NULL, EBADF); /* its io_cancel clears the slot */
}

int moss_close(int fd)
{
    struct moss__hub *hub = moss__hub_get();

    if (hub != NULL) {
        io_wake_closed(hub, fd, MOSS_READABLE);
        io_wake_closed(hub, fd, MOSS_WRITABLE);
    }
    return close(fd);
}

int moss__io_enter(void)
{
    struct moss__task *task = moss__task_current();

    if (task == NULL)
        return -1;
    if (task->killed) {
        errno = ECANCELED;
        return -1;
    }
    return 0;
}

int moss__io_again(int fd, int events, int64_t deadline)
{
    int err = errno;

    if (err == EINTR)
        return 0;
    if (err != EAGAIN && err != EWOULDBLOCK)
        return -1;
    return moss_wait_fd(fd, events, deadline) == -1 ? -1 : 0;
}
