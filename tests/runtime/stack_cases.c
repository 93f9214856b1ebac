/* What the switch and the stacks must keep: callee-saved registers, the
 * floating-point control state, the guard below each stack, and the stack
 * cache's accounting across 100,000 greenlets. */
#include "arch/regs.h"
#include "harness.h"
#include "moss.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define REGS_MAX 32
#define SEED_MAIN UINT64_C(0x5a5a5a5a00000000)
#define SEED_OTHER UINT64_C(0xa5a5a5a500000000)

/* ---- callee-saved registers ----------------------------------------------- */

static moss_greenlet_t *regs_peer;

static void regs_switch_to_peer(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_greenlet_switch(regs_peer, NULL, NULL) == 0);
}

static void regs_switch_to_main(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == 0);
}

/* While main is suspended with its pattern loaded, the peer loads a different
 * pattern into every register and switches back. */
static void *regs_peer_run(void *arg)
{
    uint64_t out[REGS_MAX];

    (void)arg;
    moss_test_regs_around(regs_switch_to_main, NULL, SEED_OTHER, out);
    for (size_t i = 0; i < moss_test_regs_count; i++)
        TEST_ASSERT(out[i] == SEED_OTHER + i + 1);
    return NULL;
}

static void case_callee_saved_registers(void)
{
    uint64_t out[REGS_MAX];

    TEST_ASSERT(moss_test_regs_count <= REGS_MAX);
    regs_peer = moss_greenlet_new(regs_peer_run, NULL, NULL);
    moss_test_regs_around(regs_switch_to_peer, NULL, SEED_MAIN, out);
    for (size_t i = 0; i < moss_test_regs_count; i++)
        TEST_ASSERT(out[i] == SEED_MAIN + i + 1);
    /* and the peer's registers survive the way back */
    TEST_ASSERT(moss_greenlet_switch(regs_peer, NULL, NULL) == 0);
    TEST_ASSERT(moss_greenlet_state(regs_peer) == MOSS_GREENLET_DEAD);
    TEST_ASSERT(moss_greenlet_free(regs_peer) == 0);
}

/* ---- floating-point control state --------------------------------------------- */

/* x86_64, every exception masked in both. A: MXCSR rounds toward zero, the
 * x87 word rounds to nearest. B: MXCSR rounds up, the x87 word rounds down.
 * Only rounding differs, the one control valgrind models, so the case runs
 * under memcheck too. */
#define FP_CONTROL_A UINT64_C(0x037f00007f80)
#define FP_CONTROL_B UINT64_C(0x077f00005f80)

static void *fp_peer_run(void *arg)
{
    (void)arg;
    TEST_ASSERT(moss_test_fp_control_get() == FP_CONTROL_A); /* inherited at creation */
    moss_test_fp_control_set(FP_CONTROL_B);
    TEST_ASSERT(moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == 0);
    TEST_ASSERT(moss_test_fp_control_get() == FP_CONTROL_B);
    return NULL;
}

static void case_fp_control_state(void)
{
    uint64_t original = moss_test_fp_control_get();
    moss_greenlet_t *g;

    if (!moss_test_fp_control_saved)
        return; /* the ABI has no callee-saved FP control state to check */
    moss_test_fp_control_set(FP_CONTROL_A);
    g = moss_greenlet_new(fp_peer_run, NULL, NULL);
    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);
    TEST_ASSERT(moss_test_fp_control_get() == FP_CONTROL_A);
    TEST_ASSERT(moss_greenlet_switch(g, NULL, NULL) == 0);
    TEST_ASSERT(moss_test_fp_control_get() == FP_CONTROL_A);
    moss_test_fp_control_set(original);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
}

/* ---- the guard page -------------------------------------------------------------- */

/* Far deeper than any stack here: it ends in the guard, not at the bound. */
static int recurse_deep(volatile char *previous, long depth)
{
    volatile char frame[512];

    frame[0] = previous != NULL ? previous[0] : 1;
    if (depth == 0)
        return frame[0];
    return recurse_deep(frame, depth - 1) + frame[511];
}

static void *overflow_run(void *arg)
{
    (void)arg;
    recurse_deep(NULL, 1L << 30);
    return NULL;
}

/* Runs in a forked child: overflows a named greenlet's stack. */
static void overflow_child(int stderr_fd)
{
    moss_greenlet_opts_t opts = {.name = "deep-recursion", .stack_size = 64 * 1024};
    moss_greenlet_t *g;

    if (dup2(stderr_fd, STDERR_FILENO) == -1)
        _exit(90);
    g = moss_greenlet_create(overflow_run, NULL, &opts);
    if (g == NULL)
        _exit(91);
    moss_greenlet_switch(g, NULL, NULL);
    _exit(92); /* the overflow must have killed us before this */
}

static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;

    while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
        if (n == -1) {
            TEST_ASSERT(errno == EINTR);
            continue;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

static void case_guard_page_overflow(void)
{
    int pipe_fds[2], status = 0;
    char message[1024];
    char expected[64];
    pid_t pid;

    TEST_ASSERT(pipe(pipe_fds) == 0);
    pid = fork();
    TEST_ASSERT(pid != -1);
    if (pid == 0) {
        close(pipe_fds[0]);
        overflow_child(pipe_fds[1]);
    }
    close(pipe_fds[1]);
    read_all(pipe_fds[0], message, sizeof(message));
    close(pipe_fds[0]);
    TEST_ASSERT(waitpid(pid, &status, 0) == pid);
    TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    TEST_ASSERT(strstr(message, "moss: stack overflow in greenlet ") != NULL);
    TEST_ASSERT(strstr(message, "\"deep-recursion\"") != NULL);
    snprintf(expected, sizeof(expected), "%d-byte stack", 64 * 1024);
    TEST_ASSERT(strstr(message, expected) != NULL);
    /* and this process, the parent, is untouched */
    TEST_ASSERT(moss_greenlet_current() == moss_greenlet_main());
}

/* A stack is usable up to its size: a greenlet may fill most of it. */
static void *fill_stack_run(void *arg)
{
    volatile char big[56 * 1024];

    memset((char *)big, 0x5a, sizeof(big));
    return (void *)(uintptr_t)big[(uintptr_t)arg];
}

static void case_stack_size(void)
{
    moss_greenlet_opts_t opts = {.stack_size = 64 * 1024};
    moss_greenlet_t *g = moss_greenlet_create(fill_stack_run, (void *)100, &opts);
    void *out = NULL;

    TEST_ASSERT(g != NULL);
    TEST_ASSERT(moss_greenlet_switch(g, NULL, &out) == 0 && (uintptr_t)out == 0x5a);
    TEST_ASSERT(moss_greenlet_free(g) == 0);
    opts.stack_size = 1024; /* below the minimum */
    TEST_ASSERT(moss_greenlet_create(fill_stack_run, NULL, &opts) == NULL && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_set_stack_size(1024) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_set_stack_size(((size_t)1 << 30) + 1) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_greenlet_set_stack_size(100 * 1000) == 0);
    TEST_ASSERT(moss_greenlet_stack_size() >= 100 * 1000);
    TEST_ASSERT(moss_greenlet_stack_size() % 4096 == 0);
    TEST_ASSERT(moss_greenlet_set_stack_cache(65537) == -1 && errno == EINVAL);
}

/* ---- 100,000 greenlets, and every stack accounted for ------------------------------- */

#define MANY_TOTAL 100000
#define MANY_BATCH 1000
#define MANY_CACHE 64

static void *yield_once_run(void *arg)
{
    TEST_ASSERT(moss_greenlet_switch(moss_greenlet_main(), NULL, NULL) == 0);
    return arg;
}

/* Suspends a whole batch at once, so the cache overflows and stacks are both
 * cached and unmapped; then finishes and frees them. */
static void many_batch(moss_greenlet_t **batch, int base)
{
    void *out = NULL;

    for (int i = 0; i < MANY_BATCH; i++) {
        batch[i] = moss_greenlet_new(yield_once_run, (void *)(intptr_t)(base + i), NULL);
        TEST_ASSERT(batch[i] != NULL);
        TEST_ASSERT(moss_greenlet_switch(batch[i], NULL, NULL) == 0);
    }
    for (int i = 0; i < MANY_BATCH; i++) {
        TEST_ASSERT(moss_greenlet_switch(batch[i], NULL, &out) == 0);
        TEST_ASSERT((intptr_t)out == base + i);
        TEST_ASSERT(moss_greenlet_free(batch[i]) == 0);
    }
}

static void case_hundred_thousand_greenlets(void)
{
    static moss_greenlet_t *batch[MANY_BATCH];
    moss_greenlet_stats_t before, after;

    TEST_ASSERT(moss_greenlet_set_stack_cache(MANY_CACHE) == 0);
    moss_greenlet_stats(&before);
    for (int base = 0; base < MANY_TOTAL; base += MANY_BATCH)
        many_batch(batch, base);
    moss_greenlet_stats(&after);
    TEST_ASSERT(after.created - before.created == MANY_TOTAL);
    TEST_ASSERT(after.alive == before.alive);
    TEST_ASSERT(after.switches - before.switches == 4 * (uint64_t)MANY_TOTAL);
    TEST_ASSERT(after.stacks_cached == MANY_CACHE);
    TEST_ASSERT(after.stacks_mapped == after.stacks_cached); /* nothing in use, nothing lost */
    TEST_ASSERT(after.stack_cache_hits > before.stack_cache_hits);
    TEST_ASSERT(moss_greenlet_set_stack_cache(0) == 0);
    moss_greenlet_stats(&after);
    TEST_ASSERT(after.stacks_mapped == 0 && after.stacks_cached == 0);
}

const struct moss_test_case moss_test_stack_cases[] = {
    {"callee_saved_registers", case_callee_saved_registers},
    {"fp_control_state", case_fp_control_state},
    {"guard_page_overflow", case_guard_page_overflow},
    {"stack_size", case_stack_size},
    {"hundred_thousand_greenlets", case_hundred_thousand_greenlets},
    {NULL, NULL},
};
