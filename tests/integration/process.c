/* Child processes and ports for tests that run real programs (the moss
 * binary, curl, wrk): declared in tests/harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t test_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void test_pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

int test_output_file(void)
{
    char path[] = "/tmp/moss-test-XXXXXX";
    int fd = mkstemp(path);

    TEST_ASSERT(fd != -1);
    unlink(path);
    return fd;
}

char *test_output_read(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);

    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

pid_t test_spawn(char *const argv[], int out_fd)
{
    pid_t parent = getpid(), pid = fork();

    TEST_ASSERT(pid != -1);
    if (pid != 0)
        return pid;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
        _exit(126);
    signal(SIGPIPE, SIG_DFL);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    close(STDIN_FILENO);
    open("/dev/null", O_RDONLY);
    execvp(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int test_wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t end = test_clock_ms() + timeout_ms;

    do {
        pid_t got = waitpid(pid, status, WNOHANG);

        TEST_ASSERT(got != -1);
        if (got == pid)
            return 0;
        test_pause_ms(5);
    } while (test_clock_ms() < end);
    return -1;
}

unsigned test_free_port(void)
{
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    TEST_ASSERT(fd != -1);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TEST_ASSERT(bind(fd, (struct sockaddr *)&addr, len) == 0);
    TEST_ASSERT(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
    close(fd);
    return ntohs(addr.sin_port);
}
