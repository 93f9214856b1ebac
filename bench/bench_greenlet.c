/* Greenlet benchmarks: the cost of a switch against glibc swapcontext, the
 * cost of creating, running and finishing a greenlet on a warm stack cache,
 * and the resident memory of a suspended greenlet.
 *
 * Every figure printed is measured in this run. Each benchmark runs once to
 * warm up, then BENCH_REPS times, interleaved so that noise from the shared
 * machine hits moss and its reference alike; we report the best (minimum)
 * and the median, and judge targets on the median. Targets come from the
 * issue and are only labelled ok/MISS: a benchmark never fails the build.
 * A call that fails, though, leaves nothing to report: we name it and exit 1. */
#include "moss.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>

enum {
    BENCH_REPS = 5,
    SWITCH_ROUNDS_MOSS = 5000000, /* round trips; two switches each */
    SWITCH_ROUNDS_UCTX = 250000,  /* swapcontext makes a syscall per switch */
    CREATE_ITERS_MOSS = 1000000,
    CREATE_ITERS_UCTX = 200000,
    RSS_GREENLETS = 100000,
    UCTX_STACK_SIZE = 64 * 1024,
    STACK_CACHE_DEFAULT = 128, /* moss.h: the default of moss_greenlet_set_stack_cache */
};

/* Targets from the issue. */
static const double target_switch_ratio = 15.0; /* swapcontext / moss, at least */
static const double target_create_ns = 150.0;   /* below */
static const double target_rss_bytes = 8192.0;  /* at most */

/* One row of figures per repetition; each benchmark fills its own. */
enum figure {
    FIG_MOSS_SWITCH_NS,
    FIG_UCTX_SWITCH_NS,
    FIG_MOSS_CREATE_NS,
    FIG_MOSS_CREATE_HIT_PCT,
    FIG_UCTX_CREATE_NS,
    FIG_RSS_BYTES,
    FIG_PTE_BYTES,
    FIG_COUNT
};

struct summary {
    double best;   /* the minimum */
    double median;
};

typedef void (*bench_fn)(double *row);

/* Consumed results, so that the compiler must compute them. Every measured
 * operation is also a call the compiler cannot see into. */
static volatile uintptr_t bench_sink;

static ucontext_t uctx_main, uctx_co;
static char uctx_stack[UCTX_STACK_SIZE] __attribute__((aligned(16)));
static unsigned uctx_rounds;

static moss_greenlet_t **rss_handles;

static __attribute__((noreturn)) void die(const char *call, const char *object)
{
    fprintf(stderr, "bench_greenlet: %s (%s): %s\n", call, object, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die("clock_gettime", "CLOCK_MONOTONIC");
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double per_op(uint64_t t0, uint64_t t1, uint64_t ops)
{
    return (double)(t1 - t0) / (double)ops;
}

/* ---- switch: ping-pong between main and one greenlet --------------------- */

/* Contract: arg is the number of round trips; switches back to main that
 * many times, then returns, which is one more switch to main (its parent). */
static void *moss_pingpong(void *arg)
{
    uintptr_t rounds = (uintptr_t)arg;
    moss_greenlet_t *main_g = moss_greenlet_main();

    for (uintptr_t i = 0; i < rounds; i++) {
        if (moss_greenlet_switch(main_g, (void *)i, NULL) == -1)
            die("moss_greenlet_switch", "ping-pong greenlet to main");
    }
    return (void *)rounds;
}

/* Main switches in rounds + 1 times: the first starts the greenlet, the
 * last lets it return; every switch in is answered by one back. */
static void bench_moss_switch(double *row)
{
    uintptr_t sum = 0;
    void *value;
    moss_greenlet_t *g = moss_greenlet_new(moss_pingpong,
                                           (void *)(uintptr_t)SWITCH_ROUNDS_MOSS, NULL);

    if (g == NULL)
        die("moss_greenlet_new", "ping-pong greenlet");
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i <= SWITCH_ROUNDS_MOSS; i++) {
        if (moss_greenlet_switch(g, NULL, &value) == -1)
            die("moss_greenlet_switch", "main to ping-pong greenlet");
        sum += (uintptr_t)value;
    }
    uint64_t t1 = now_ns();
    if (moss_greenlet_state(g) != MOSS_GREENLET_DEAD || moss_greenlet_free(g) == -1)
        die("moss_greenlet_free", "ping-pong greenlet, expected dead");
    bench_sink += sum;
    row[FIG_MOSS_SWITCH_NS] = per_op(t0, t1, 2u * (SWITCH_ROUNDS_MOSS + 1u));
}

/* Contract: as moss_pingpong, with uctx_rounds round trips; returning goes
 * to uctx_main through uc_link. */
static void uctx_pingpong(void)
{
    for (unsigned i = 0; i < uctx_rounds; i++) {
        if (swapcontext(&uctx_co, &uctx_main) == -1)
            die("swapcontext", "ping-pong context to main");
    }
}

static void uctx_prepare(void (*fn)(void))
{
    if (getcontext(&uctx_co) == -1)
        die("getcontext", "ping-pong context");
    uctx_co.uc_stack.ss_sp = uctx_stack;
    uctx_co.uc_stack.ss_size = sizeof(uctx_stack);
    uctx_co.uc_link = &uctx_main;
    makecontext(&uctx_co, fn, 0);
}

static void bench_uctx_switch(double *row)
{
    uctx_rounds = SWITCH_ROUNDS_UCTX;
    uctx_prepare(uctx_pingpong);
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i <= SWITCH_ROUNDS_UCTX; i++) {
        if (swapcontext(&uctx_main, &uctx_co) == -1)
            die("swapcontext", "main to ping-pong context");
    }
    uint64_t t1 = now_ns();
    row[FIG_UCTX_SWITCH_NS] = per_op(t0, t1, 2u * (SWITCH_ROUNDS_UCTX + 1u));
}

/* ---- create + run + finish ------------------------------------------------ */

static void *return_arg(void *arg)
{
    return arg;
}

/* The warm-up repetition fills the stack cache; the hit rate is reported so
 * that a cold cache shows instead of skewing the figure silently. */
static void bench_moss_create(double *row)
{
    moss_greenlet_stats_t before, after;
    uintptr_t sum = 0;
    void *value;

    moss_greenlet_stats(&before);
    uint64_t t0 = now_ns();
    for (uintptr_t i = 0; i < CREATE_ITERS_MOSS; i++) {
        moss_greenlet_t *g = moss_greenlet_new(return_arg, (void *)i, NULL);

        if (g == NULL)
            die("moss_greenlet_new", "short-lived greenlet");
        if (moss_greenlet_switch(g, NULL, &value) == -1)
            die("moss_greenlet_switch", "main to short-lived greenlet");
        if (moss_greenlet_free(g) == -1)
            die("moss_greenlet_free", "short-lived greenlet");
        sum += (uintptr_t)value;
    }
    uint64_t t1 = now_ns();
    moss_greenlet_stats(&after);
    bench_sink += sum;
    row[FIG_MOSS_CREATE_NS] = per_op(t0, t1, CREATE_ITERS_MOSS);
    row[FIG_MOSS_CREATE_HIT_PCT] =
        100.0 * (double)(after.stack_cache_hits - before.stack_cache_hits) / CREATE_ITERS_MOSS;
}

static void uctx_return(void)
{
}

/* Reference: the same life cycle with ucontext on one reused stack, the
 * nearest glibc has to a warm stack cache. */
static void bench_uctx_create(double *row)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < CREATE_ITERS_UCTX; i++) {
        uctx_prepare(uctx_return);
        if (swapcontext(&uctx_main, &uctx_co) == -1)
            die("swapcontext", "main to short-lived context");
    }
    uint64_t t1 = now_ns();
    row[FIG_UCTX_CREATE_NS] = per_op(t0, t1, CREATE_ITERS_UCTX);
}

/* ---- resident memory of suspended greenlets -------------------------------- */

struct vm_usage {
    long rss_kib; /* VmRSS */
    long pte_kib; /* VmPTE: page tables, which VmRSS leaves out */
};

static void vm_usage_read(struct vm_usage *u)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        die("fopen", "/proc/self/status");
    u->rss_kib = -1;
    u->pte_kib = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        sscanf(line, "VmRSS: %ld", &u->rss_kib);
        sscanf(line, "VmPTE: %ld", &u->pte_kib);
    }
    if (fclose(f) == EOF)
        die("fclose", "/proc/self/status");
    if (u->rss_kib < 0 || u->pte_kib < 0) {
        errno = EPROTO;
        die("parse VmRSS/VmPTE", "/proc/self/status");
    }
}

/* Contract: suspends once in main, then returns when switched to again. */
static void *suspend_once(void *arg)
{
    if (moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == -1)
        die("moss_greenlet_switch", "suspending greenlet to main");
    return arg;
}

static void rss_suspend_all(void)
{
    for (size_t i = 0; i < RSS_GREENLETS; i++) {
        moss_greenlet_t *g = moss_greenlet_new(suspend_once, NULL, NULL);

        if (g == NULL)
            die("moss_greenlet_new", "greenlet to suspend");
        if (moss_greenlet_switch(g, NULL, NULL) == -1)
            die("moss_greenlet_switch", "main to greenlet to suspend");
        rss_handles[i] = g;
    }
}

static void rss_finish_all(void)
{
    for (size_t i = 0; i < RSS_GREENLETS; i++) {
        moss_greenlet_t *g = rss_handles[i];

        if (moss_greenlet_switch(g, NULL, NULL) == -1)
            die("moss_greenlet_switch", "main to suspended greenlet");
        if (moss_greenlet_free(g) == -1)
            die("moss_greenlet_free", "finished greenlet");
    }
}

/* An empty stack cache makes every stack a fresh mapping, so none arrives
 * already resident; malloc_trim hands the freed greenlets back to the
 * kernel, so that every repetition grows the heap as a fresh process would
 * rather than reusing pages the previous one left resident. */
static void bench_rss(double *row)
{
    struct vm_usage before, after;

    if (moss_greenlet_set_stack_cache(0) == -1)
        die("moss_greenlet_set_stack_cache", "0");
    vm_usage_read(&before);
    rss_suspend_all();
    vm_usage_read(&after);
    rss_finish_all();
    if (moss_greenlet_set_stack_cache(STACK_CACHE_DEFAULT) == -1)
        die("moss_greenlet_set_stack_cache", "default");
    malloc_trim(0);
    row[FIG_RSS_BYTES] = 1024.0 * (double)(after.rss_kib - before.rss_kib) / RSS_GREENLETS;
    row[FIG_PTE_BYTES] = 1024.0 * (double)(after.pte_kib - before.pte_kib) / RSS_GREENLETS;
}

/* ---- statistics and report ------------------------------------------------- */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static struct summary summarize(const double *samples)
{
    double sorted[BENCH_REPS];

    memcpy(sorted, samples, sizeof(sorted));
    qsort(sorted, BENCH_REPS, sizeof(sorted[0]), compare_double);
    return (struct summary){
        .best = sorted[0],
        .median = BENCH_REPS % 2 ? sorted[BENCH_REPS / 2]
                                 : (sorted[BENCH_REPS / 2 - 1] + sorted[BENCH_REPS / 2]) / 2,
    };
}

static const char *verdict(int met)
{
    return met ? "ok" : "MISS";
}

static void print_ns(const char *label, struct summary s, const char *note)
{
    printf("  %-40s best %8.1f  median %8.1f ns%s\n", label, s.best, s.median, note);
}

static void report_switch(const struct summary *fig)
{
    struct summary moss = fig[FIG_MOSS_SWITCH_NS], uctx = fig[FIG_UCTX_SWITCH_NS];
    double ratio = uctx.median / moss.median;

    printf("switch, main <-> one greenlet, ns per one-way switch"
           " (%u moss, %u swapcontext switches per run)\n",
           2u * (SWITCH_ROUNDS_MOSS + 1u), 2u * (SWITCH_ROUNDS_UCTX + 1u));
    print_ns("moss_greenlet_switch", moss, "");
    print_ns("glibc swapcontext (reference)", uctx, "");
    printf("  moss switch is %.1fx cheaper than swapcontext (medians; bests: %.1fx)"
           "   target >= %.0fx  %s\n",
           ratio, uctx.best / moss.best, target_switch_ratio,
           verdict(ratio >= target_switch_ratio));
}

static void report_create(const struct summary *fig)
{
    struct summary moss = fig[FIG_MOSS_CREATE_NS], uctx = fig[FIG_UCTX_CREATE_NS];
    char note[64];

    printf("create+run+finish, fn returns at once, warm stack cache, ns per greenlet"
           " (%u moss, %u ucontext per run)\n", CREATE_ITERS_MOSS, CREATE_ITERS_UCTX);
    snprintf(note, sizeof(note), "   target < %.0f ns  %s", target_create_ns,
             verdict(moss.median < target_create_ns));
    print_ns("moss_greenlet_new + switch + free", moss, note);
    printf("    stack cache hit rate %.1f%% (worst run)\n", fig[FIG_MOSS_CREATE_HIT_PCT].best);
    print_ns("getcontext+makecontext+swapcontext (ref)", uctx, "");
    printf("  moss create+run+finish is %.1fx cheaper than ucontext (medians)\n",
           uctx.median / moss.median);
}

static void report_rss(const struct summary *fig)
{
    struct summary rss = fig[FIG_RSS_BYTES], pte = fig[FIG_PTE_BYTES];

    printf("resident memory per suspended greenlet (%u suspended, %zu KiB stacks)\n",
           RSS_GREENLETS, moss_greenlet_stack_size() / 1024);
    printf("  %-40s best %8.0f  median %8.0f B = %.2f KiB   target <= %.0f KiB  %s\n",
           "VmRSS delta", rss.best, rss.median, rss.median / 1024,
           target_rss_bytes / 1024, verdict(rss.median <= target_rss_bytes));
    printf("  %-40s best %8.0f  median %8.0f B (not in VmRSS; for reference)\n",
           "VmPTE delta (page tables)", pte.best, pte.median);
}

static void report_summary(const struct summary *fig)
{
    struct summary sw = fig[FIG_MOSS_SWITCH_NS], uc = fig[FIG_UCTX_SWITCH_NS];
    struct summary cr = fig[FIG_MOSS_CREATE_NS], rss = fig[FIG_RSS_BYTES];
    double ratio = uc.median / sw.median;

    printf("summary: switch %.1f ns (%.1fx vs swapcontext %.1f ns) %s;"
           " create+run+finish %.1f ns %s; suspended greenlet %.2f KiB RSS %s\n",
           sw.median, ratio, uc.median, verdict(ratio >= target_switch_ratio),
           cr.median, verdict(cr.median < target_create_ns),
           rss.median / 1024, verdict(rss.median <= target_rss_bytes));
}

/* ---- driver ----------------------------------------------------------------- */

static const bench_fn benches[] = {
    bench_moss_switch, bench_uctx_switch, bench_moss_create, bench_uctx_create, bench_rss,
};

/* Repetition 0 warms up (page faults, caches, branch predictors, the stack
 * cache, CPU frequency) and is discarded. */
static void run_all(double samples[FIG_COUNT][BENCH_REPS])
{
    for (int rep = 0; rep <= BENCH_REPS; rep++) {
        double row[FIG_COUNT];

        for (size_t b = 0; b < sizeof(benches) / sizeof(benches[0]); b++)
            benches[b](row);
        for (int f = 0; rep > 0 && f < FIG_COUNT; f++)
            samples[f][rep - 1] = row[f];
    }
}

int main(void)
{
    static double samples[FIG_COUNT][BENCH_REPS];
    struct summary fig[FIG_COUNT];
    moss_greenlet_stats_t stats;

    rss_handles = malloc(RSS_GREENLETS * sizeof(*rss_handles));
    if (rss_handles == NULL)
        die("malloc", "array of greenlet handles");
    /* Touch the array now, so that its pages are resident before any VmRSS
     * baseline; a nonzero fill cannot be turned into calloc. */
    memset(rss_handles, 0xff, RSS_GREENLETS * sizeof(*rss_handles));
    moss_greenlet_stats(&stats);
    printf("moss %s greenlet benchmarks: %d runs after a warm-up; best and median;"
           " stack guards: %s\n", moss_version(), BENCH_REPS, stats.stack_guard);
    fflush(stdout);
    run_all(samples);
    for (int f = 0; f < FIG_COUNT; f++)
        fig[f] = summarize(samples[f]);
    report_switch(fig);
    report_create(fig);
    report_rss(fig);
    report_summary(fig);
    free(rss_handles);
    return 0;
}
