/* Per-architecture test helpers (tests/arch/regs_<arch>.S): they set the
 * callee-saved registers and the floating-point control state to values a
 * C compiler would never produce, so a test can prove a switch keeps them. */
#ifndef MOSS_TESTS_ARCH_REGS_H
#define MOSS_TESTS_ARCH_REGS_H

#include <stddef.h>
#include <stdint.h>

/* How many registers moss_test_regs_around reports. */
extern const size_t moss_test_regs_count;

/* Loads seed+1, seed+2, ... into every callee-saved register (general and,
 * where the ABI has them, floating-point), calls fn(arg), then stores what the
 * registers hold afterwards into out[0 .. moss_test_regs_count) and restores
 * the caller's own values. */
void moss_test_regs_around(void (*fn)(void *), void *arg, uint64_t seed, uint64_t *out);

/* Whether the ABI makes floating-point control state callee-saved, so a
 * switch must keep it (x86_64: MXCSR control bits and the x87 control word;
 * AArch64: none, FPCR is not callee-saved). */
extern const int moss_test_fp_control_saved;

/* Reads and writes the floating-point control word(s) the switch keeps,
 * packed into one value (x86_64: MXCSR in the low 32 bits, the x87 control
 * word in bits 32-47). Unused where moss_test_fp_control_saved is 0. */
uint64_t moss_test_fp_control_get(void);
void moss_test_fp_control_set(uint64_t value);

#endif
