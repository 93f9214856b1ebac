/* The watchdog's evidence: a real-time signal to the blocked hub thread,
 * whose handler takes the backtrace and the current greenlet's identity.
 * The handler runs on the thread's alternate stack (set up for every
 * greenlet thread by overflow.c) and does only async-signal-safe work. */
#include "greenlet.h"
#include "watchdog.h"

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CAPTURE_SIGNAL (SIGRTMIN + 7)
#define HANDLER_FRAMES 2             /* the handler and the signal trampoline */

static _Thread_local struct moss__block_capture *capture_self;
static pthread_once_t capture_once = PTHREAD_ONCE_INIT;
static int capture_install_error;

/* A bounded copy that is async-signal-safe. */
static void capture_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    for (; src != NULL && src[i] != '\0' && i + 1 < cap; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

static void capture_handler(int sig, siginfo_t *info, void *context)
{
    struct moss__block_capture *c = capture_self;
    moss_greenlet_t *g = moss_greenlet_current();
    int saved = errno;

    (void)sig, (void)info, (void)context;
    /* acquire: pairs with the monitor's reset, after it last read the buffer */
    if (c == NULL || atomic_load_explicit(&c->done, memory_order_acquire))
        return;
    c->frame_count = backtrace(c->frames, (int)(sizeof(c->frames) / sizeof(c->frames[0])));
    c->greenlet = g != NULL ? g->id : 0;
    capture_copy(c->name, sizeof(c->name), g != NULL ? g->name : "");
    capture_copy(c->request, sizeof(c->request), g != NULL ? g->context : NULL);
    atomic_store_explicit(&c->done, 1, memory_order_release);
    errno = saved;
}

static void capture_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = capture_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(CAPTURE_SIGNAL, &sa, NULL) == -1)
        capture_install_error = errno;
}

int moss__block_capture_init(struct moss__block_capture *capture)
{
    void *warm[2];

    pthread_once(&capture_once, capture_install);
    if (capture_install_error != 0) {
        errno = capture_install_error;
        return -1;
    }
    backtrace(warm, 2); /* loads the unwinder now: the handler must not */
    capture_self = capture;
    return 0;
}

void moss__block_capture_fini(void)
{
    capture_self = NULL;
}

int moss__block_capture_take(struct moss__block_capture *capture, pthread_t thread,
                             int wait_ms)
{
    struct timespec step = {.tv_sec = 0, .tv_nsec = 1000000};
    int err;

    atomic_store_explicit(&capture->done, 0, memory_order_release);
    err = pthread_kill(thread, CAPTURE_SIGNAL);
    if (err != 0) {
        errno = err;
        return -1;
    }
    for (int i = 0; i < wait_ms; i++) {
        if (atomic_load_explicit(&capture->done, memory_order_acquire))
            return 0;
        nanosleep(&step, NULL);
    }
    errno = ETIMEDOUT;
    return -1;
}

/* "function+0xoff" when the address is inside a named function (the symbol's
 * size is checked: dladdr alone names the nearest exported symbol, which
 * for a static function is another function); else "module+0xoff". */
static void capture_name(void *address, char *out, size_t cap)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    uintptr_t a = (uintptr_t)address;

    if (dladdr1(address, &info, (void **)&sym, RTLD_DL_SYMENT) == 0) {
        snprintf(out, cap, "%#lx", (unsigned long)a);
    } else if (info.dli_sname != NULL && sym != NULL &&
               a - (uintptr_t)info.dli_saddr < (sym->st_size != 0 ? sym->st_size : 1)) {
        snprintf(out, cap, "%s+%#lx", info.dli_sname, (unsigned long)(a - (uintptr_t)info.dli_saddr));
    } else {
        const char *module = info.dli_fname != NULL ? strrchr(info.dli_fname, '/') : NULL;

        snprintf(out, cap, "%s+%#lx", module != NULL ? module + 1 : "?",
                 (unsigned long)(a - (uintptr_t)info.dli_fbase));
    }
}

void moss__block_capture_symbolize(const struct moss__block_capture *capture,
                                   struct moss__block_report *report)
{
    report->frame_count = 0;
    for (int i = HANDLER_FRAMES; i < capture->frame_count; i++) {
        if (report->frame_count == MOSS__BLOCK_FRAMES)
            break;
        capture_name(capture->frames[i], report->frames[report->frame_count++],
                     MOSS__BLOCK_FRAME_LEN);
    }
    report->greenlet = capture->greenlet;
    snprintf(report->name, sizeof(report->name), "%s", capture->name);
    snprintf(report->request, sizeof(report->request), "%s", capture->request);
}
