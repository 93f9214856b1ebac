/* The master's signal watchers (signals.c). */
#ifndef MOSS_MASTER_SIGNALS_H
#define MOSS_MASTER_SIGNALS_H

#include "moss.h"

#include <stdint.h>

struct moss__master_signals;

/* Watches HUP, TERM, INT, QUIT, USR1, USR2, TTIN, TTOU and CHLD on the
 * calling thread's hub; each sets wake. NULL with errno. */
struct moss__master_signals *moss__master_signals_start(moss_event_t *wake);

/* The signals that came since the last take: bit n for signal n. */
uint64_t moss__master_signals_take(struct moss__master_signals *sig);

/* Stops the watchers (their signals get their default actions) and frees. */
void moss__master_signals_stop(struct moss__master_signals *sig);

/* In a forked worker: stop, and ignore the signals only the master acts on. */
void moss__master_signals_forget(struct moss__master_signals *sig);

#define MOSS__SIGNAL_BIT(n) (UINT64_C(1) << (n))

#endif
