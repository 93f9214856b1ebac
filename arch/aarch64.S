/* AArch64 (AAPCS64) context switch.
 *
 * A suspended context's stack, from its saved sp upwards (160 bytes, so sp
 * stays 16-byte aligned):
 *     0  x19 x20    16  x21 x22    32  x23 x24    48  x25 x26
 *    64  x27 x28    80  x29 (fp) x30 (lr)
 *    96  d8  d9    112  d10 d11   128  d12 d13   144  d14 d15
 * AAPCS64 makes exactly these callee-saved (only the low 64 bits of v8-v15).
 * FPCR is not callee-saved under AAPCS64, so it is not kept. */

    .text

/* void *moss__ctx_switch(struct moss__ctx *from, const struct moss__ctx *to,
 *                        void *transfer)   x0 = from, x1 = to, x2 = transfer */
    .globl  moss__ctx_switch
    .hidden moss__ctx_switch
    .type   moss__ctx_switch, %function
    .p2align 4
moss__ctx_switch:
    .cfi_startproc
    sub     sp, sp, #160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x9, sp
    str     x9, [x0]
    ldr     x9, [x1]
    mov     sp, x9
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    mov     x0, x2
    ret
    .cfi_endproc
    .size   moss__ctx_switch, .-moss__ctx_switch

/* void moss__ctx_make(struct moss__ctx *ctx, void *stack_top, size_t size,
 *                     moss__ctx_entry_fn entry)
 *   x0 = ctx, x1 = stack_top, x2 = size (unused), x3 = entry
 * The first switch "returns" through x30 into ctx_trampoline with
 * x19 = entry and x29 = 0. */
    .globl  moss__ctx_make
    .hidden moss__ctx_make
    .type   moss__ctx_make, %function
    .p2align 4
moss__ctx_make:
    .cfi_startproc
    and     x1, x1, #~15
    sub     x1, x1, #160
    stp     x3,  xzr, [x1, #0]      /* x19 = entry, x20 */
    stp     xzr, xzr, [x1, #16]
    stp     xzr, xzr, [x1, #32]
    stp     xzr, xzr, [x1, #48]
    stp     xzr, xzr, [x1, #64]
    adr     x9, ctx_trampoline
    stp     xzr, x9,  [x1, #80]     /* x29 = 0, x30 = trampoline */
    stp     xzr, xzr, [x1, #96]
    stp     xzr, xzr, [x1, #112]
    stp     xzr, xzr, [x1, #128]
    stp     xzr, xzr, [x1, #144]
    str     x1, [x0]
    ret
    .cfi_endproc
    .size   moss__ctx_make, .-moss__ctx_make

/* First code run on a new stack: x0 holds the transfer value. The undefined
 * return address marks the outermost frame for unwinders. */
    .type   ctx_trampoline, %function
    .p2align 4
ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    blr     x19
    brk     #0
    .cfi_endproc
    .size   ctx_trampoline, .-ctx_trampoline

    .section .note.GNU-stack,"",%progbits
