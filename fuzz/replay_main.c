/* make fuzz-replay: the check table of tests/worker/fuzz_regression_cases.c
 * as a program of its own, for a run outside Check (or before the table is
 * registered): every case in turn, in this process; the first failed
 * assertion ends it with status 1, a broken harness invariant with abort.
 *
 *   fuzz_replay                      every case of the table
 *   fuzz_replay HARNESS FILE...      those files through one harness */
#include "fuzz.h"

#include "harness.h"

#include <string.h>

extern const struct moss_test_case moss_test_fuzz_regression_cases[];

void moss_test_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    exit(1);
}

/* The harness function named name, or NULL. */
static int (*replay_harness(const char *name))(const uint8_t *, size_t)
{
    if (strcmp(name, "http_request") == 0)
        return moss_fuzz_http_request;
    if (strcmp(name, "proxy_protocol") == 0)
        return moss_fuzz_proxy_protocol;
    if (strcmp(name, "config") == 0)
        return moss_fuzz_config;
    return NULL;
}

/* One file through fn; -1 if it cannot be read. */
static int replay_file(int (*fn)(const uint8_t *, size_t), const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (data = malloc(size > 0 ? (size_t)size : 1)) == NULL ||
        fread(data, 1, (size_t)size, f) != (size_t)size) {
        perror(path);
        if (f != NULL)
            fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    fn(data, (size_t)size);
    free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int (*fn)(const uint8_t *, size_t);

    if (argc == 1) {
        for (const struct moss_test_case *c = moss_test_fuzz_regression_cases; c->name; c++) {
            c->run();
            printf("fuzz replay: %s ok\n", c->name);
        }
        return 0;
    }
    fn = replay_harness(argv[1]);
    if (fn == NULL || argc < 3) {
        fprintf(stderr, "usage: %s [http_request|proxy_protocol|config FILE...]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (replay_file(fn, argv[i]) == -1)
            return 1;
    printf("fuzz replay: %d files ok\n", argc - 2);
    return 0;
}
