/* Hub benchmarks: spawn+join, an Event wake-up, a Queue put/get pair and an
 * echo round trip over a socketpair, each set against the same reference
 * measured in this run: a blocking socketpair round trip between two
 * pthreads, the cost a thread-per-connection server pays per exchange.
 *
 * Each benchmark runs once to warm up, then BENCH_REPS times interleaved
 * with the reference; we print the best and the median. Figures only: a
 * benchmark never fails the build, but a call that fails ends it (exit 1). */
#include "moss.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    BENCH_REPS = 5,
    SPAWN_ITERS = 200000,
    EVENT_ROUNDS = 200000,
    QUEUE_ITEMS = 200000,
    ECHO_ROUNDS = 50000,
    THREAD_ROUNDS = 50000,
    MESSAGE_BYTES = 64,
};

enum figure { FIG_SPAWN, FIG_EVENT, FIG_QUEUE, FIG_ECHO, FIG_THREADS, FIG_COUNT };

static const char *const figure_names[FIG_COUNT] = {
    "spawn + join",
    "Event wake-up (set, wake, switch)",
    "Queue put/get pair",
    "echo round trip, socketpair, greenlets",
    "echo round trip, socketpair, pthreads (ref)",
};

static __attribute__((noreturn)) void die(const char *call, const char *object)
{
    fprintf(stderr, "bench_hub: %s (%s): %s\n", call, object, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- spawn + join -------------------------------------------------------------- */

static void *return_arg(void *arg)
{
    return arg;
}

static double bench_spawn(void)
{
    uint64_t t0 = now_ns();

    for (uintptr_t i = 0; i < SPAWN_ITERS; i++) {
        moss_greenlet_t *g = moss_spawn(return_arg, (void *)i);

        if (g == NULL || moss_join(g, MOSS_FOREVER, NULL) == -1)
            die("moss_spawn/moss_join", "short-lived greenlet");
    }
    return (double)(now_ns() - t0) / SPAWN_ITERS;
}

/* ---- Event ping-pong ------------------------------------------------------------- */

static moss_event_t *event_ping, *event_pong;

static void *event_ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < EVENT_ROUNDS; i++) {
        if (moss_event_wait(event_ping, MOSS_FOREVER) == -1)
            die("moss_event_wait", "ping");
        moss_event_clear(event_ping);
        moss_event_set(event_pong);
    }
    return NULL;
}

/* Two wake-ups per round: one each way. */
static double bench_event(void)
{
    moss_greenlet_t *g;
    uint64_t t0;

    event_ping = moss_event_new();
    event_pong = moss_event_new();
    g = moss_spawn(event_ponger, NULL);
    if (event_ping == NULL || event_pong == NULL || g == NULL)
        die("moss_event_new/moss_spawn", "event ping-pong");
    t0 = now_ns();
    for (int i = 0; i < EVENT_ROUNDS; i++) {
        moss_event_set(event_ping);
        if (moss_event_wait(event_pong, MOSS_FOREVER) == -1)
            die("moss_event_wait", "pong");
        moss_event_clear(event_pong);
    }
    t0 = now_ns() - t0;
    moss_join(g, MOSS_FOREVER, NULL);
    moss_event_free(event_ping);
    moss_event_free(event_pong);
    return (double)t0 / (2.0 * EVENT_ROUNDS);
}

/* ---- Queue producer/consumer ---------------------------------------------------- */

static void *queue_producer(void *arg)
{
    moss_queue_t *q = arg;

    for (uintptr_t i = 0; i < QUEUE_ITEMS; i++) {
        if (moss_queue_put(q, (void *)i, 0, MOSS_FOREVER) == -1)
            die("moss_queue_put", "bench queue");
    }
    return NULL;
}

static double bench_queue(void)
{
    moss_queue_t *q = moss_queue_new(64, MOSS_QUEUE_FIFO);
    moss_greenlet_t *g = q != NULL ? moss_spawn(queue_producer, q) : NULL;
    uint64_t t0 = now_ns();
    void *item;

    if (g == NULL)
        die("moss_queue_new/moss_spawn", "bench queue");
    for (int i = 0; i < QUEUE_ITEMS; i++) {
        if (moss_queue_get(q, &item, MOSS_FOREVER) == -1 || (uintptr_t)item != (uintptr_t)i)
            die("moss_queue_get", "bench queue");
    }
    t0 = now_ns() - t0;
    moss_join(g, MOSS_FOREVER, NULL);
    moss_queue_free(q);
    return (double)t0 / QUEUE_ITEMS;
}

/* ---- echo over a socketpair: greenlets, then pthreads ------------------------------ */

static void *echo_greenlet(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[MESSAGE_BYTES];
    ptrdiff_t n;

    while ((n = moss_read(fd, buf, sizeof(buf), MOSS_FOREVER)) > 0)
        if (moss_write(fd, buf, (size_t)n, MOSS_FOREVER) == -1)
            break;
    return NULL;
}

static void socketpair_or_die(int flags, int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0, fds) == -1)
        die("socketpair", "AF_UNIX");
}

/* One MESSAGE_BYTES message there and back per round. */
static double bench_echo(void)
{
    char msg[MESSAGE_BYTES] = "ping", back[MESSAGE_BYTES];
    int fds[2];
    moss_greenlet_t *g;
    uint64_t t0;

    socketpair_or_die(SOCK_NONBLOCK, fds);
    g = moss_spawn(echo_greenlet, (void *)(intptr_t)fds[1]);
    t0 = now_ns();
    for (int i = 0; i < ECHO_ROUNDS; i++) {
        size_t got = 0;

        if (moss_write(fds[0], msg, sizeof(msg), MOSS_FOREVER) == -1)
            die("moss_write", "socketpair");
        while (got < sizeof(back)) {
            ptrdiff_t n = moss_read(fds[0], back + got, sizeof(back) - got, MOSS_FOREVER);

            if (n <= 0)
                die("moss_read", "socketpair");
            got += (size_t)n;
        }
    }
    t0 = now_ns() - t0;
    moss_close(fds[0]);
    moss_join(g, MOSS_FOREVER, NULL);
    moss_close(fds[1]);
    return (double)t0 / ECHO_ROUNDS;
}

static void *echo_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[MESSAGE_BYTES];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

static double bench_threads(void)
{
    char msg[MESSAGE_BYTES] = "ping", back[MESSAGE_BYTES];
    pthread_t thread;
    int fds[2];
    uint64_t t0;

    socketpair_or_die(0, fds);
    if ((errno = pthread_create(&thread, NULL, echo_thread, (void *)(intptr_t)fds[1])) != 0)
        die("pthread_create", "echo thread");
    t0 = now_ns();
    for (int i = 0; i < THREAD_ROUNDS; i++) {
        size_t got = 0;

        if (write(fds[0], msg, sizeof(msg)) != (ssize_t)sizeof(msg))
            die("write", "socketpair");
        while (got < sizeof(back)) {
            ssize_t n = read(fds[0], back + got, sizeof(back) - got);

            if (n <= 0)
                die("read", "socketpair");
            got += (size_t)n;
        }
    }
    t0 = now_ns() - t0;
    close(fds[0]);
    pthread_join(thread, NULL);
    close(fds[1]);
    return (double)t0 / THREAD_ROUNDS;
}

/* ---- driver --------------------------------------------------------------------- */

static double (*const benches[FIG_COUNT])(void) = {
    bench_spawn, bench_event, bench_queue, bench_echo, bench_threads,
};

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void report(double samples[FIG_COUNT][BENCH_REPS])
{
    double median[FIG_COUNT];

    printf("moss %s hub benchmarks: %d runs after a warm-up; ns per operation\n",
           moss_version(), BENCH_REPS);
    for (int f = 0; f < FIG_COUNT; f++) {
        qsort(samples[f], BENCH_REPS, sizeof(double), compare_double);
        median[f] = samples[f][BENCH_REPS / 2];
    }
    for (int f = 0; f < FIG_COUNT; f++)
        printf("  %-46s best %9.1f  median %9.1f ns   %7.1fx cheaper than the reference\n",
               figure_names[f], samples[f][0], median[f], median[FIG_THREADS] / median[f]);
    printf("summary: greenlet echo round trip %.0f ns vs pthreads %.0f ns (%.1fx faster);"
           " spawn+join %.0f ns; Event wake-up %.0f ns; Queue pair %.0f ns\n",
           median[FIG_ECHO], median[FIG_THREADS], median[FIG_THREADS] / median[FIG_ECHO],
           median[FIG_SPAWN], median[FIG_EVENT], median[FIG_QUEUE]);
}

int main(void)
{
    static double samples[FIG_COUNT][BENCH_REPS];

    for (int rep = -1; rep < BENCH_REPS; rep++) {
        for (int f = 0; f < FIG_COUNT; f++) {
            double ns = benches[f]();

            if (rep >= 0)
                samples[f][rep] = ns;
        }
    }
    report(samples);
    return 0;
}
