/* The context switch: the only interface between the runtime and the
 * per-architecture code in arch/. The Makefile links exactly one of
 * arch/x86_64.S, arch/aarch64.S or arch/portable.c.
 *
 * A context is the saved stack pointer of a suspended execution. Everything
 * else the ABI makes callee-saved is pushed onto that stack by
 * moss__ctx_switch, so a context costs one word and a switch touches only
 * the two stacks involved. */
#ifndef MOSS_ARCH_CTX_H
#define MOSS_ARCH_CTX_H

#include <stddef.h>

struct moss__ctx {
    void *sp;
};

/* Called on the new stack by the first switch into a context made by
 * moss__ctx_make, with the transfer value of that switch. Must never return:
 * the bottom frame has no caller. */
typedef void (*moss__ctx_entry_fn)(void *transfer);

/* Saves the callee-saved state of the caller into `from`, resumes `to`, and
 * hands it `transfer`. Returns, in the caller, the transfer value of whichever
 * switch later resumes `from`. `from` and `to` must differ. */
void *moss__ctx_switch(struct moss__ctx *from, const struct moss__ctx *to,
                       void *transfer);

/* Prepares `ctx` so that switching to it calls entry(transfer) on the stack
 * whose highest address is `stack_top` (exclusive), with `stack_size` usable
 * bytes below it. The new context inherits the caller's floating-point control
 * state (rounding mode, exception masks), as a new thread would. */
void moss__ctx_make(struct moss__ctx *ctx, void *stack_top, size_t stack_size,
                    moss__ctx_entry_fn entry);

#endif
