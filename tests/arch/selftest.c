/* The runtime case tables without Check, for targets where Check is not
 * built (the aarch64 cross build under qemu-user). Each case runs in a child
 * process; a case fails when its child does not exit 0. Ends with the line
 * "N passed, N failed" and exits non-zero if any case failed. */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void moss_test_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    fflush(stderr);
    _exit(1);
}

/* Returns 1 if the case passed. */
static int selftest_run(const struct moss_test_case *c)
{
    int status = 0;
    pid_t pid = fork();

    if (pid == -1) {
        fprintf(stderr, "fork(%s): %s\n", c->name, strerror(errno));
        return 0;
    }
    if (pid == 0) {
        c->run();
        _exit(0);
    }
    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            fprintf(stderr, "waitpid(%s): %s\n", c->name, strerror(errno));
            return 0;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    fprintf(stderr, "FAIL %s (%s %d)\n", c->name,
            WIFSIGNALED(status) ? "signal" : "exit",
            WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    return 0;
}

int main(void)
{
    int passed = 0, failed = 0;

    for (const struct moss_test_table *table = moss_test_core_tables; table->name; table++) {
        for (const struct moss_test_case *c = table->cases; c->name != NULL; c++) {
            if (selftest_run(c))
                passed++;
            else
                failed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
