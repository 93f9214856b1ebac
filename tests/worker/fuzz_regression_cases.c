/* The fuzz harnesses' saved inputs, replayed with gcc: every file of
 * fuzz/corpus/HARNESS/ (the seeds) and fuzz/regressions/HARNESS/ (inputs
 * that once crashed a harness, kept once fixed) goes through the same
 * moss_fuzz_* function the libFuzzer harness calls (fuzz/fuzz.h), so that
 * make check, and its valgrind and ASan runs, cover them.
 *
 * The harness files are included here, built with MOSS_FUZZ_REPLAY (no
 * libFuzzer entry point), because the test build compiles tests/ only.
 * A broken harness invariant aborts the case (Check reports the signal).
 * The inputs are found under $MOSS_FUZZ_DIR, else ./fuzz (make check runs
 * from the top of the tree); a seed corpus that is missing or empty fails
 * the case, so that a replay from the wrong directory is no pass. */
#define MOSS_FUZZ_REPLAY 1
#include "../../fuzz/config.c"
#include "../../fuzz/http_request.c"
#include "../../fuzz/proxy_protocol.c"

#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

extern const struct moss_test_case moss_test_fuzz_regression_cases[];

typedef int (*fuzz_replay_fn)(const uint8_t *data, size_t size);

/* The whole of a file in a buffer of exactly its size (ASan sees a read
 * past it); *size is set. */
static uint8_t *fuzz_file_read(int dir_fd, const char *name, size_t *size)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t *data;

    TEST_ASSERT(fd != -1 && fstat(fd, &st) == 0);
    *size = (size_t)st.st_size;
    data = malloc(*size > 0 ? *size : 1);
    TEST_ASSERT(data != NULL);
    TEST_ASSERT(read(fd, data, *size) == (ssize_t)*size);
    close(fd);
    return data;
}

/* Runs every regular file of FUZZ_DIR/kind/harness through fn: the count
 * (0 when the directory does not exist). */
static size_t fuzz_replay_dir(const char *kind, const char *harness, fuzz_replay_fn fn)
{
    const char *top = getenv("MOSS_FUZZ_DIR") != NULL ? getenv("MOSS_FUZZ_DIR") : "fuzz";
    char path[512];
    struct dirent *e;
    size_t count = 0;
    DIR *dir;

    snprintf(path, sizeof(path), "%s/%s/%s", top, kind, harness);
    dir = opendir(path);
    if (dir == NULL)
        return 0;
    while ((e = readdir(dir)) != NULL) {
        struct stat st;
        uint8_t *data;
        size_t size;

        if (fstatat(dirfd(dir), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        data = fuzz_file_read(dirfd(dir), e->d_name, &size);
        fn(data, size);
        free(data);
        count++;
    }
    closedir(dir);
    return count;
}

static void fuzz_replay(const char *harness, fuzz_replay_fn fn)
{
    TEST_ASSERT(fuzz_replay_dir("corpus", harness, fn) > 0);
    fuzz_replay_dir("regressions", harness, fn);
}

static void fuzz_case_http_request(void)
{
    fuzz_replay("http_request", moss_fuzz_http_request);
}

static void fuzz_case_proxy_protocol(void)
{
    fuzz_replay("proxy_protocol", moss_fuzz_proxy_protocol);
}

static void fuzz_case_config(void)
{
    fuzz_replay("config", moss_fuzz_config);
}

const struct moss_test_case moss_test_fuzz_regression_cases[] = {
    {"fuzz_http_request", fuzz_case_http_request},
    {"fuzz_proxy_protocol", fuzz_case_proxy_protocol},
    {"fuzz_config", fuzz_case_config},
    {NULL, NULL},
};
