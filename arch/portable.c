/* Portable context switch on <ucontext.h>, for architectures without a
 * hand-written switch. Correct everywhere glibc runs, and slow: swapcontext
 * saves the whole signal mask with a system call on every switch.
 *
 * A context's sp points at a `struct portable_frame`. For a suspended
 * switch the frame is a local of moss__ctx_switch, alive on the suspended
 * stack; for a context not yet started it sits at the top of its new stack. */
#include "ctx.h"

#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

struct portable_frame {
    ucontext_t uc;
    moss__ctx_entry_fn entry;
};

/* Switches on one thread happen one at a time, so the value in flight and the
 * frame being entered can travel through thread-local slots. */
static __thread void *portable_transfer;
static __thread struct portable_frame *portable_entering;

static void portable_trampoline(void)
{
    struct portable_frame *frame = portable_entering;

    frame->entry(portable_transfer);
    abort(); /* the entry function must switch away, never return */
}

void *moss__ctx_switch(struct moss__ctx *from, const struct moss__ctx *to,
                       void *transfer)
{
    struct portable_frame self;
    struct portable_frame *target = to->sp;

    from->sp = &self;
    portable_transfer = transfer;
    portable_entering = target;
    if (swapcontext(&self.uc, &target->uc) == -1)
        abort(); /* only fails on a corrupt context: nothing sane to return */
    return portable_transfer;
}

void moss__ctx_make(struct moss__ctx *ctx, void *stack_top, size_t stack_size,
                    moss__ctx_entry_fn entry)
{
    uintptr_t top = (uintptr_t)stack_top;
    struct portable_frame *frame;

    top = (top - sizeof(*frame)) & ~(uintptr_t)63;
    frame = (struct portable_frame *)top;
    if (getcontext(&frame->uc) == -1)
        abort();
    frame->entry = entry;
    frame->uc.uc_link = NULL;
    frame->uc.uc_stack.ss_sp = (char *)stack_top - stack_size;
    frame->uc.uc_stack.ss_size = (size_t)(top - (uintptr_t)frame->uc.uc_stack.ss_sp);
    makecontext(&frame->uc, portable_trampoline, 0);
    ctx->sp = frame;
}
