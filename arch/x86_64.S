/* x86_64 System V context switch.
 *
 * A suspended context's stack, from its saved sp upwards:
 *     0  MXCSR (4 bytes), x87 control word (2 bytes), padding
 *     8  r15
 *    16  r14
 *    24  r13
 *    32  r12
 *    40  rbx
 *    48  rbp
 *    56  return address
 * These are exactly the registers the psABI makes callee-saved, plus the
 * control bits of MXCSR and the x87 control word, which it also makes
 * callee-saved. Status flags are caller-saved and are not kept. */

    .text

/* void *moss__ctx_switch(struct moss__ctx *from, const struct moss__ctx *to,
 *                        void *transfer)   rdi = from, rsi = to, rdx = transfer */
    .globl  moss__ctx_switch
    .hidden moss__ctx_switch
    .type   moss__ctx_switch, @function
    .p2align 4
moss__ctx_switch:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    movq    %rdx, %rax
    ret
    .cfi_endproc
    .size   moss__ctx_switch, .-moss__ctx_switch

/* void moss__ctx_make(struct moss__ctx *ctx, void *stack_top, size_t size,
 *                     moss__ctx_entry_fn entry)
 *   rdi = ctx, rsi = stack_top, rdx = size (unused), rcx = entry
 * Builds the frame above so that the first switch "returns" into
 * ctx_trampoline with r12 = entry and rbp = 0. */
    .globl  moss__ctx_make
    .hidden moss__ctx_make
    .type   moss__ctx_make, @function
    .p2align 4
moss__ctx_make:
    .cfi_startproc
    andq    $-16, %rsi
    leaq    -64(%rsi), %rax
    stmxcsr (%rax)
    fnstcw  4(%rax)
    movq    $0, 8(%rax)         /* r15 */
    movq    $0, 16(%rax)        /* r14 */
    movq    $0, 24(%rax)        /* r13 */
    movq    %rcx, 32(%rax)      /* r12 = entry */
    movq    $0, 40(%rax)        /* rbx */
    movq    $0, 48(%rax)        /* rbp: ends frame-pointer walks */
    leaq    ctx_trampoline(%rip), %rdx
    movq    %rdx, 56(%rax)
    movq    %rax, (%rdi)
    ret
    .cfi_endproc
    .size   moss__ctx_make, .-moss__ctx_make

/* First code run on a new stack. rsp is 16-byte aligned here (stack_top),
 * rax holds the transfer value. The undefined return address tells
 * unwinders (gdb, libunwind, backtrace()) that this is the outermost frame. */
    .type   ctx_trampoline, @function
    .p2align 4
ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %rax, %rdi
    call    *%r12
    ud2
    .cfi_endproc
    .size   ctx_trampoline, .-ctx_trampoline

    .section .note.GNU-stack,"",@progbits
