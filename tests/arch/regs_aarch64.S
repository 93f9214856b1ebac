/* Test helpers for AArch64; see tests/arch/regs.h. Reports x19-x29 and
 * d8-d15 (19 registers); x30 holds the return address and is checked by
 * returning at all. */
    .text

    .globl  moss_test_regs_around
    .type   moss_test_regs_around, %function
    .p2align 4
/* x0 = fn, x1 = arg, x2 = seed, x3 = out */
moss_test_regs_around:
    sub     sp, sp, #176
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
    str     x3, [sp, #160]
    mov     x9, x0
    mov     x0, x1
    add     x19, x2, #1
    add     x20, x2, #2
    add     x21, x2, #3
    add     x22, x2, #4
    add     x23, x2, #5
    add     x24, x2, #6
    add     x25, x2, #7
    add     x26, x2, #8
    add     x27, x2, #9
    add     x28, x2, #10
    add     x29, x2, #11
    add     x10, x2, #12
    fmov    d8, x10
    add     x10, x2, #13
    fmov    d9, x10
    add     x10, x2, #14
    fmov    d10, x10
    add     x10, x2, #15
    fmov    d11, x10
    add     x10, x2, #16
    fmov    d12, x10
    add     x10, x2, #17
    fmov    d13, x10
    add     x10, x2, #18
    fmov    d14, x10
    add     x10, x2, #19
    fmov    d15, x10
    blr     x9
    ldr     x3, [sp, #160]
    stp     x19, x20, [x3, #0]
    stp     x21, x22, [x3, #16]
    stp     x23, x24, [x3, #32]
    stp     x25, x26, [x3, #48]
    stp     x27, x28, [x3, #64]
    str     x29, [x3, #80]
    fmov    x10, d8
    str     x10, [x3, #88]
    fmov    x10, d9
    str     x10, [x3, #96]
    fmov    x10, d10
    str     x10, [x3, #104]
    fmov    x10, d11
    str     x10, [x3, #112]
    fmov    x10, d12
    str     x10, [x3, #120]
    fmov    x10, d13
    str     x10, [x3, #128]
    fmov    x10, d14
    str     x10, [x3, #136]
    fmov    x10, d15
    str     x10, [x3, #144]
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
    add     sp, sp, #176
    ret
    .size   moss_test_regs_around, .-moss_test_regs_around

    .globl  moss_test_fp_control_get
    .type   moss_test_fp_control_get, %function
moss_test_fp_control_get:
    mrs     x0, fpcr
    ret
    .size   moss_test_fp_control_get, .-moss_test_fp_control_get

    .globl  moss_test_fp_control_set
    .type   moss_test_fp_control_set, %function
moss_test_fp_control_set:
    msr     fpcr, x0
    ret
    .size   moss_test_fp_control_set, .-moss_test_fp_control_set

    .section .rodata
    .globl  moss_test_regs_count
    .p2align 3
moss_test_regs_count:
    .quad   19
    .globl  moss_test_fp_control_saved
    .p2align 2
moss_test_fp_control_saved:
    .long   0

    .section .note.GNU-stack,"",%progbits
