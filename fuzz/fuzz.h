/* The fuzz harnesses' entry points (fuzz/README.md).
 *
 * Each harness file (fuzz/http_request.c, fuzz/proxy_protocol.c,
 * fuzz/config.c) exports one moss_fuzz_* function that runs one input
 * through moss's own entry points and checks what came out; the libFuzzer
 * entry point LLVMFuzzerTestOneInput only calls it. Built with
 * MOSS_FUZZ_REPLAY defined, a harness file leaves LLVMFuzzerTestOneInput
 * out, so that tests/worker/fuzz_regression_cases.c can include all three
 * and replay the saved inputs, with gcc, through the very same functions.
 *
 * A broken invariant is a crash on purpose (abort), so that libFuzzer keeps
 * the input and a replay fails. The functions return 0, as libFuzzer wants. */
#ifndef MOSS_FUZZ_FUZZ_H
#define MOSS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int moss_fuzz_http_request(const uint8_t *data, size_t size);
int moss_fuzz_proxy_protocol(const uint8_t *data, size_t size);
int moss_fuzz_config(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A harness invariant: a failure names itself on stderr and aborts. */
#define MOSS_FUZZ_CHECK(cond)                                                              \
    ((cond) ? (void)0                                                                      \
            : (fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__,   \
                       #cond),                                                             \
               abort()))

#endif
