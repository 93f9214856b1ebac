/* The fault case of the access log on a full disk (the table is in
 * fault_cases.c). */
#include "fault_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the access log on a full disk --------------------------------------------------- */

/* --access_log DIR/access.log, a symlink to /dev/full: every write fails
 * with ENOSPC, as on a full disk. Serving must go on; the error must be
 * reported once (not once a request); and once the link points to a real
 * file, SIGUSR1 (the logrotate reopen) makes the writes resume.
 * (worker/access_log.c used to drop a failed write silently; it reports the
 * first one, and says when writes resume.) */
#define FULL_BEFORE 20
#define FULL_AFTER 5

/* Lines of the error log that report ENOSPC. */
static size_t full_reports(const struct master *m)
{
    return fc_count_in(master_log(m), strerror(ENOSPC));
}

/* Lines of path, which must exist. */
static size_t file_lines(const char *path, char *text, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    TEST_ASSERT(fd != -1);
    test_output_read(fd, text, cap);
    close(fd);
    return fc_count_in(text, "\n");
}

void fault_case_access_log_full(void)
{
    static const char *const extra[] = {"-w", "1", "--access_log", "%s/access.log", NULL};
    char link_path[256], tmp_path[256], real_path[256], text[8192], want[64], body[64];
    size_t reports_before, reports_after, lines;
    pid_t worker[FC_PIDS_MAX];
    struct master m;
    int fd;

    master_prepare(&m);
    snprintf(link_path, sizeof(link_path), "%s/access.log", m.dir);
    snprintf(tmp_path, sizeof(tmp_path), "%s/access.log.new", m.dir);
    snprintf(real_path, sizeof(real_path), "%s/real.log", m.dir);
    TEST_ASSERT(symlink("/dev/full", link_path) == 0);
    master_start(&m, extra);
    TEST_ASSERT(fc_worker_pids(&m, worker) == 1);
    for (int i = 0; i < FULL_BEFORE; i++)
        TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    TEST_ASSERT(fc_int(&m, "totals.status.2xx") >= FULL_BEFORE);
    reports_before = full_reports(&m);
    /* room again: the link now points to a real file; SIGUSR1 reopens */
    fd = open(real_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    TEST_ASSERT(fd != -1);
    close(fd);
    TEST_ASSERT(symlink(real_path, tmp_path) == 0);
    TEST_ASSERT(rename(tmp_path, link_path) == 0);
    TEST_ASSERT(kill(m.pid, SIGUSR1) == 0);
    snprintf(want, sizeof(want), "moss[%ld]: SIGUSR1: logs reopened", (long)worker[0]);
    TEST_ASSERT(master_log_wait(&m, want, FC_WAIT_MS) == 0);
    for (int i = 0; i < FULL_AFTER; i++)
        TEST_ASSERT(http_get(m.port, "/", NULL, body, sizeof(body)) == 200);
    lines = file_lines(real_path, text, sizeof(text));
    reports_after = full_reports(&m);
    fprintf(stderr, "access_log_full: %d requests served on /dev/full; '%s' reported %zu "
            "times; after the reopen, %zu of %d requests logged\n", FULL_BEFORE,
            strerror(ENOSPC), reports_before, lines, FULL_AFTER);
    if (reports_after != 1)
        fprintf(stderr, "access_log_full: the error log (the ENOSPC report wanted once):\n%s\n",
                master_log(&m));
    TEST_ASSERT(lines == FULL_AFTER); /* the writes resumed */
    TEST_ASSERT(fc_count_in(text, "\"GET / HTTP/1.1\" 200 ") == FULL_AFTER);
    TEST_ASSERT(master_stop(&m, SIGTERM, FC_WAIT_MS) == 0);
    TEST_ASSERT(m.leftovers == 0);
    TEST_ASSERT(reports_before == 1); /* reported once, not once a request (nor never) */
    TEST_ASSERT(reports_after == 1);
}

