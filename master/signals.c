/* The master's signals, as libev signal watchers on its hub's loop. The
 * loop is not libev's default loop, so there are no ev_child watchers:
 * SIGCHLD is watched like any other signal, and the supervision loop reaps
 * with waitpid. A watcher's callback does no work: it records the signal in
 * a mask and wakes the supervision loop, which dispatches. */
#include "signals.h"

#include "../runtime/hub.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

static const int master_signal_numbers[] = {SIGHUP,  SIGTERM, SIGINT,  SIGQUIT, SIGUSR1,
                                            SIGUSR2, SIGTTIN, SIGTTOU, SIGCHLD};
#define MASTER_SIGNALS (sizeof(master_signal_numbers) / sizeof(master_signal_numbers[0]))

/* On the heap: the loop holds the watchers. */
struct moss__master_signals {
    ev_signal watchers[MASTER_SIGNALS];
    struct ev_loop *loop;
    moss_event_t *wake;
    uint64_t pending;              /* bit n: signal n came */
};

static void master_signal_cb(struct ev_loop *loop, ev_signal *watcher, int revents)
{
    struct moss__master_signals *sig = watcher->data;

    (void)loop, (void)revents;
    sig->pending |= UINT64_C(1) << watcher->signum;
    moss_event_set(sig->wake);
}

struct moss__master_signals *moss__master_signals_start(moss_event_t *wake)
{
    struct moss__hub *hub = moss__hub_get();
    struct moss__master_signals *sig;

    if (hub == NULL)
        return NULL;
    sig = calloc(1, sizeof(*sig));
    if (sig == NULL)
        return NULL;
    sig->loop = hub->loop;
    sig->wake = wake;
    for (size_t i = 0; i < MASTER_SIGNALS; i++) {
        ev_signal_init(&sig->watchers[i], master_signal_cb, master_signal_numbers[i]);
        sig->watchers[i].data = sig;
        ev_signal_start(sig->loop, &sig->watchers[i]);
    }
    return sig;
}

uint64_t moss__master_signals_take(struct moss__master_signals *sig)
{
    uint64_t pending = sig->pending;

    sig->pending = 0;
    return pending;
}

void moss__master_signals_stop(struct moss__master_signals *sig)
{
    if (sig == NULL)
        return;
    for (size_t i = 0; i < MASTER_SIGNALS; i++)
        ev_signal_stop(sig->loop, &sig->watchers[i]);
    free(sig);
}

/* In a forked worker: the master's signals go back to their defaults (the
 * worker installs its own), but those only the master acts on are ignored,
 * so that a HUP sent to the whole process group reloads, not kills. */
void moss__master_signals_forget(struct moss__master_signals *sig)
{
    static const int ignored[] = {SIGHUP, SIGUSR2, SIGTTIN, SIGTTOU, SIGWINCH};

    moss__master_signals_stop(sig);
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        signal(ignored[i], SIG_IGN);
}
