/* moss_serve, the whole worker with HTTP: its drain, and the errors that
 * keep it from starting. */
#include "stream_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- moss_serve: the whole worker, with HTTP ---------------------------------------- */

static int test_app_init(void **app_data)
{
    static int data;

    *app_data = &data;
    return 0;
}

static void test_app_fini(void *app_data)
{
    static const char line[] = "test: fini\n";

    if (*(int *)app_data == 0 && write(STDERR_FILENO, line, sizeof(line) - 1) < 0)
        _exit(7);
}

static int test_app_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    (void)app_data;
    if (strcmp(moss_request_path(req), "/slow") == 0) {
        if (moss_sleep(600) == -1)
            return -1;
        return moss_response_send(res, 200, "text/plain", "slow done", 9);
    }
    return moss_response_send(res, 200, "text/plain", "hello", 5);
}

static int test_app_init_fails(void **app_data)
{
    (void)app_data;
    errno = EACCES;
    return -1;
}

static const moss_app_t test_app = {"test", test_app_handle, test_app_init, test_app_fini};
static const moss_app_t failing_app = {"failing", test_app_handle, test_app_init_fails, NULL};

static moss_config_t *serve_config(const char *const *settings)
{
    moss_config_t *c = moss_config_new();
    const char *error = NULL;

    TEST_ASSERT(c != NULL);
    /* one worker, no admin port to collide on, SIGTERM drains at once */
    TEST_ASSERT(moss_config_set(c, "workers", "1", NULL) == 0);
    TEST_ASSERT(moss_config_set(c, "admin", "off", NULL) == 0);
    TEST_ASSERT(moss_config_set(c, "drain_grace", "0", NULL) == 0);
    for (; settings[0] != NULL; settings += 2) {
        if (moss_config_set(c, settings[0], settings[1], &error) == -1)
            fprintf(stderr, "%s=%s: %s\n", settings[0], settings[1], error);
        TEST_ASSERT(error == NULL);
    }
    return c;
}

/* Runs moss_serve(settings, app) in a child with stderr to out_path; its pid. */
static pid_t serve_fork(const char *const *settings, const moss_app_t *app, const char *out_path)
{
    pid_t pid = fork();
    moss_config_t *c;
    int fd, rc;

    TEST_ASSERT(pid != -1);
    if (pid != 0)
        return pid;
    fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
        _exit(3);
    c = serve_config(settings);
    rc = moss_serve(c, app);
    moss_config_free(c);
    _exit(rc == 0 ? 0 : 100 + errno);
}

/* The file's text (at most 16 KiB), NUL-ended, in a static buffer. */
static const char *file_text(const char *path)
{
    static char text[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd == -1 ? 0 : read(fd, text, sizeof(text) - 1);

    text[n > 0 ? n : 0] = '\0';
    if (fd != -1)
        close(fd);
    return text;
}

static void file_wait_for(const char *path, const char *want)
{
    int64_t end = stream_now_ms() + WAIT_MS;

    while (strstr(file_text(path), want) == NULL && stream_now_ms() < end)
        stream_sleep_ms(5);
    if (strstr(file_text(path), want) == NULL)
        fprintf(stderr, "%s has no '%s':\n%s\n", path, want, file_text(path));
    TEST_ASSERT(strstr(file_text(path), want) != NULL);
}

/* Reads from fd until `want` has come (within SO_RCVTIMEO). */
static void recv_until(int fd, const char *want)
{
    char buf[4096];
    size_t len = 0;

    while (len < sizeof(buf) - 1) {
        ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

        TEST_ASSERT(n > 0);
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, want) != NULL)
            return;
    }
    TEST_ASSERT(!"no such reply");
}

/* Waits for pid's exit within ms; its exit code, or -1 (then killed). */
static int child_exit_code(pid_t pid, int64_t ms)
{
    struct server s = {.pid = pid};
    int status = stream_server_wait_exit(&s, ms);

    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* SIGTERM to moss_serve with HTTP: the request in flight completes, the idle
 * keep-alive connection closes at once, the app's fini runs, exit 0. */
void stream_case_serve_http_drain(void)
{
    char dir[64], bind[96], log[96], sock[160];
    int busy, idle;
    int64_t start;
    pid_t pid;

    stream_temp_dir(dir, sizeof(dir));
    snprintf(bind, sizeof(bind), "unix:%s/http.sock", dir);
    snprintf(log, sizeof(log), "%s/error.log", dir);
    pid = serve_fork((const char *const[]){"bind", bind, "error_log", log,
                                           "graceful_timeout", "5s", NULL},
                     &test_app, log);
    snprintf(sock, sizeof(sock), "moss: serving on %s\n", bind);
    file_wait_for(log, sock);
    idle = stream_client_connect(bind);
    send_all(idle, GET("/"), strlen(GET("/")));
    recv_until(idle, "hello");
    busy = stream_client_connect(bind);
    send_all(busy, GET("/slow"), strlen(GET("/slow")));
    stream_sleep_ms(100);
    start = stream_now_ms();
    TEST_ASSERT(kill(pid, SIGTERM) == 0);
    TEST_ASSERT(stream_readable_within(idle, 1000)); /* at once, not at the drain's end */
    stream_expect_closed(idle);
    recv_until(busy, "slow done");
    TEST_ASSERT(child_exit_code(pid, WAIT_MS) == 0);
    TEST_ASSERT(stream_now_ms() - start < 4000);
    file_wait_for(log, "draining 2 connections");
    file_wait_for(log, "test: fini");
    TEST_ASSERT(access(bind + 5, F_OK) == -1); /* its socket file removed */
    close(idle);
    close(busy);
    unlink(log);
    rmdir(dir);
}

/* moss_serve cannot start: -1 with errno, and a message on stderr. */
void stream_case_serve_start_errors(void)
{
    char dir[64], out[128], sock[128], in_use[MOSS__ADDRESS_MAX];
    struct moss__listener taken;
    char error[256];

    stream_temp_dir(dir, sizeof(dir));
    snprintf(out, sizeof(out), "%s/stderr", dir);
    snprintf(sock, sizeof(sock), "unix:%s/s.sock", dir);
    /* the app's init refuses in the worker: named there, with its errno; the
     * master, whose first generation could not start, fails with ECANCELED;
     * nothing left behind */
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", sock, NULL},
                                           &failing_app, out), WAIT_MS) == 100 + ECANCELED);
    TEST_ASSERT(strstr(file_text(out), "app failing: init failed: Permission denied") != NULL);
    TEST_ASSERT(access(sock + 5, F_OK) == -1);
    /* the address is taken */
    TEST_ASSERT(moss__listener_bind("127.0.0.1:0", 16, &taken, error, sizeof(error)) == 0);
    snprintf(in_use, sizeof(in_use), "%s", taken.address);
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", in_use, NULL},
                                           &test_app, out), WAIT_MS) == 100 + EADDRINUSE);
    snprintf(error, sizeof(error), "bind(%s): Address already in use", in_use);
    TEST_ASSERT(strstr(file_text(out), error) != NULL);
    close(taken.fd);
    /* the error log cannot be opened */
    TEST_ASSERT(child_exit_code(serve_fork((const char *const[]){"bind", sock, "error_log",
                                                                 "/nonexistent/moss.log", NULL},
                                           &test_app, out), WAIT_MS) == 100 + ENOENT);
    TEST_ASSERT(strstr(file_text(out), "open(/nonexistent/moss.log): No such file") != NULL);
    TEST_ASSERT(strstr(file_text(out), "test: fini") == NULL); /* no init, no fini */
    unlink(out);
    rmdir(dir);
}
