/* Stack overflow reporting.
 *
 * A greenlet that runs off the bottom of its stack hits the guard region and
 * gets SIGSEGV. The handler runs on an alternate signal stack (the greenlet's
 * own stack is exhausted), names the greenlet on stderr with write(2) only,
 * then restores the default action and returns: the faulting instruction runs
 * again and the process dies of SIGSEGV, with a core if enabled. A fault
 * anywhere else goes to the handler that was installed before ours. */
#include "greenlet.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define OVERFLOW_ALTSTACK_MIN (64u * 1024u)

static struct sigaction overflow_previous;
static pthread_once_t overflow_once = PTHREAD_ONCE_INIT;
static int overflow_install_error;

/* Async-signal-safe formatting into a fixed buffer. */
struct overflow_line {
    char buf[256];
    size_t len;
};

static void line_text(struct overflow_line *line, const char *s)
{
    while (*s != '\0' && line->len < sizeof(line->buf))
        line->buf[line->len++] = *s++;
}

static void line_number(struct overflow_line *line, uint64_t n, unsigned base)
{
    char digits[24];
    size_t i = 0;

    do {
        digits[i++] = "0123456789abcdef"[n % base];
        n /= base;
    } while (n != 0);
    if (base == 16)
        line_text(line, "0x");
    while (i > 0 && line->len < sizeof(line->buf))
        line->buf[line->len++] = digits[--i];
}

static void overflow_report(const moss_greenlet_t *g, const void *addr)
{
    struct overflow_line line = {.len = 0};
    ssize_t written;

    line_text(&line, "moss: stack overflow in greenlet ");
    line_number(&line, g->id, 10);
    line_text(&line, " \"");
    line_text(&line, g->name);
    line_text(&line, "\": fault at ");
    line_number(&line, (uintptr_t)addr, 16);
    line_text(&line, " in the guard below its ");
    line_number(&line, g->stack.size, 10);
    line_text(&line, "-byte stack\n");
    written = write(STDERR_FILENO, line.buf, line.len);
    (void)written; /* nowhere left to report a failed report */
}

static void overflow_chain(int sig, siginfo_t *info, void *context)
{
    if (overflow_previous.sa_flags & SA_SIGINFO) {
        overflow_previous.sa_sigaction(sig, info, context);
        return;
    }
    if (overflow_previous.sa_handler != SIG_DFL && overflow_previous.sa_handler != SIG_IGN) {
        overflow_previous.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL); /* returning re-runs the fault, which now kills */
}

static void overflow_handler(int sig, siginfo_t *info, void *context)
{
    struct moss__thread *t = moss__thread_self;
    const moss_greenlet_t *g = t != NULL ? t->current : NULL;
    int saved_errno = errno;

    if (g != NULL && moss__stack_guard_contains(&g->stack, info->si_addr)) {
        overflow_report(g, info->si_addr);
        signal(sig, SIG_DFL);
    } else {
        overflow_chain(sig, info, context);
    }
    errno = saved_errno;
}

static void overflow_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &overflow_previous) == -1)
        overflow_install_error = errno;
}

/* Keeps an alternate stack the thread already has (the application's, or a
 * sanitizer's); otherwise maps one for this thread. */
static int overflow_altstack(struct moss__thread *t)
{
    stack_t current, ours;
    long min = sysconf(_SC_SIGSTKSZ);
    size_t size = min > (long)OVERFLOW_ALTSTACK_MIN ? (size_t)min : OVERFLOW_ALTSTACK_MIN;

    if (sigaltstack(NULL, &current) == -1)
        return -1;
    if (!(current.ss_flags & SS_DISABLE))
        return 0;
    ours.ss_sp = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ours.ss_sp == MAP_FAILED)
        return -1;
    ours.ss_size = size;
    ours.ss_flags = 0;
    if (sigaltstack(&ours, NULL) == -1) {
        int err = errno;

        munmap(ours.ss_sp, size);
        errno = err;
        return -1;
    }
    t->altstack = ours.ss_sp;
    t->altstack_size = size;
    return 0;
}

int moss__overflow_thread_init(struct moss__thread *t)
{
    pthread_once(&overflow_once, overflow_install);
    if (overflow_install_error != 0) {
        errno = overflow_install_error;
        return -1;
    }
    return overflow_altstack(t);
}

void moss__overflow_thread_fini(struct moss__thread *t)
{
    stack_t off = {.ss_flags = SS_DISABLE};

    if (t->altstack == NULL)
        return;
    if (sigaltstack(&off, NULL) == 0)
        munmap(t->altstack, t->altstack_size);
    t->altstack = NULL;
}
