/* Test helpers for x86_64; see tests/arch/regs.h. */
    .text

    .globl  moss_test_regs_around
    .type   moss_test_regs_around, @function
    .p2align 4
/* rdi = fn, rsi = arg, rdx = seed, rcx = out */
moss_test_regs_around:
    .cfi_startproc
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    pushq   %rcx                /* out; rsp is now 16-byte aligned */
    movq    %rdi, %rax
    movq    %rsi, %rdi
    leaq    1(%rdx), %rbx
    leaq    2(%rdx), %rbp
    leaq    3(%rdx), %r12
    leaq    4(%rdx), %r13
    leaq    5(%rdx), %r14
    leaq    6(%rdx), %r15
    call    *%rax
    movq    (%rsp), %rcx
    movq    %rbx, 0(%rcx)
    movq    %rbp, 8(%rcx)
    movq    %r12, 16(%rcx)
    movq    %r13, 24(%rcx)
    movq    %r14, 32(%rcx)
    movq    %r15, 40(%rcx)
    popq    %rcx
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   moss_test_regs_around, .-moss_test_regs_around

    .globl  moss_test_fp_control_get
    .type   moss_test_fp_control_get, @function
    .p2align 4
moss_test_fp_control_get:
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movl    (%rsp), %eax
    movzwl  4(%rsp), %edx
    shlq    $32, %rdx
    orq     %rdx, %rax
    addq    $8, %rsp
    ret
    .size   moss_test_fp_control_get, .-moss_test_fp_control_get

    .globl  moss_test_fp_control_set
    .type   moss_test_fp_control_set, @function
    .p2align 4
moss_test_fp_control_set:
    subq    $8, %rsp
    movl    %edi, (%rsp)
    shrq    $32, %rdi
    movw    %di, 4(%rsp)
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    ret
    .size   moss_test_fp_control_set, .-moss_test_fp_control_set

    .section .rodata
    .globl  moss_test_regs_count
    .p2align 3
moss_test_regs_count:
    .quad   6
    .globl  moss_test_fp_control_saved
    .p2align 2
moss_test_fp_control_saved:
    .long   1

    .section .note.GNU-stack,"",@progbits
