/* The INI configuration file (config/ini.c): values applied through the
 * table, comments and blanks, [moss], the first error reported as
 * FILE:LINE: key: reason, and bind accumulating; then the real binary
 * (MOSS_BIN) with -c and -t, and flags overriding the file. Temporary files
 * live in /tmp and are removed by the case; every child is waited for with
 * a bound and ended by its pid. */
#include "../../config/settings.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define SLOW (RUNNING_ON_VALGRIND ? 10 : 1)
#define RUN_WAIT_MS 10000
#define START_WAIT_MS 10000

/* ---- files ------------------------------------------------------------------------ */

struct ini_file {
    char path[64];
};

/* text into a new file in /tmp; remove it with ini_remove. */
static struct ini_file ini_write(const char *text)
{
    struct ini_file f;
    size_t len = strlen(text);
    int fd;

    snprintf(f.path, sizeof(f.path), "/tmp/moss-ini-XXXXXX");
    fd = mkstemp(f.path);
    TEST_ASSERT(fd != -1);
    TEST_ASSERT(write(fd, text, len) == (ssize_t)len);
    TEST_ASSERT(close(fd) == 0);
    return f;
}

static void ini_remove(const struct ini_file *f)
{
    TEST_ASSERT(unlink(f->path) == 0);
}

/* Loads text into a fresh config, which the caller frees. */
static moss_config_t *load_ok(const char *text)
{
    struct ini_file f = ini_write(text);
    moss_config_t *c = moss_config_new();
    char error[512] = "";
    int rc;

    TEST_ASSERT(c != NULL);
    rc = moss__config_load_file(c, f.path, error, sizeof(error));
    if (rc != 0)
        fprintf(stderr, "load: %s\n", error);
    ini_remove(&f);
    TEST_ASSERT(rc == 0);
    return c;
}

/* Loading text fails with EINVAL and the error "FILE:" want, exactly. */
static void load_bad(const char *text, const char *want)
{
    struct ini_file f = ini_write(text);
    moss_config_t *c = moss_config_new();
    char error[512] = "", expect[512];
    int rc;

    TEST_ASSERT(c != NULL);
    errno = 0;
    rc = moss__config_load_file(c, f.path, error, sizeof(error));
    snprintf(expect, sizeof(expect), "%s:%s", f.path, want);
    if (rc != -1 || strcmp(error, expect) != 0)
        fprintf(stderr, "load: rc %d, error '%s'\n  want '%s'\n", rc, error, expect);
    TEST_ASSERT(rc == -1 && errno == EINVAL && strcmp(error, expect) == 0);
    ini_remove(&f);
    moss_config_free(c);
}

/* ---- loading ---------------------------------------------------------------------- */

static void case_good_file(void)
{
    moss_config_t *c = load_ok("max_headers = 42\n"
                               "max_body_size = 8m\n"
                               "header_timeout = 2s\n"
                               "proxy_protocol = on\n"
                               "proxy_trusted = 10.0.0.0/8, ::1\n"
                               "access_log_format = json\n"
                               "access_log = /var/log/moss/access.log\n"
                               "error_log =\n");

    TEST_ASSERT(c->max_headers == 42);
    TEST_ASSERT(c->max_body_size == 8 * 1024 * 1024);
    TEST_ASSERT(c->header_timeout_ms == 2000);
    TEST_ASSERT(c->proxy_protocol == 1);
    TEST_ASSERT(c->proxy_trusted_count == 2);
    TEST_ASSERT(c->access_log_format == MOSS__LOG_JSON);
    TEST_ASSERT(strcmp(c->access_log, "/var/log/moss/access.log") == 0);
    TEST_ASSERT(strcmp(c->error_log, "") == 0);
    TEST_ASSERT(c->backlog == 511); /* not in the file: the default */
    TEST_ASSERT(c->bind_count == 1 && strcmp(c->bind[0], "127.0.0.1:8080") == 0);
    TEST_ASSERT(c->bind_set == 0);
    moss_config_free(c);
}

static void case_comments_whitespace(void)
{
    moss_config_t *c = load_ok("; a comment\n"
                               "# another\n"
                               "\n"
                               "   \t\n"
                               "   max_headers   =   7   ; inline comment\r\n"
                               "\tbacklog=9\n"
                               "    body_timeout: 5s\n"
                               "app = /opt/app;v2.so\n");

    TEST_ASSERT(c->max_headers == 7);
    TEST_ASSERT(c->backlog == 9); /* indented: a key, not a continuation */
    TEST_ASSERT(c->body_timeout_ms == 5000);
    TEST_ASSERT(strcmp(c->app, "/opt/app;v2.so") == 0); /* ';' starts a comment after a blank */
    moss_config_free(c);
    c = load_ok("");
    TEST_ASSERT(c->max_headers == 100);
    moss_config_free(c);
}

static void case_moss_section(void)
{
    moss_config_t *c = load_ok("backlog = 3\n[moss]\nmax_headers = 5\n");

    TEST_ASSERT(c->backlog == 3 && c->max_headers == 5);
    moss_config_free(c);
}

static void case_other_section(void)
{
    load_bad("max_headers = 5\n[server]\nbacklog = 1\n",
             "2: [server]: unknown section (keys go outside any section or in [moss])");
    load_bad("[moss]\nbacklog = 1\n\n[Moss]\n",
             "4: [Moss]: unknown section (keys go outside any section or in [moss])");
}

static void case_unknown_key(void)
{
    load_bad("max_headers = 5\n\n; the next is misspelt\nmax_header = 5\nbacklog = 1\n",
             "4: max_header: unknown setting");
    load_bad("[moss]\nthreads = 4\n", "2: threads: unknown setting");
}

static void case_bad_values(void)
{
    load_bad("backlog = 5\nbacklog = 0\n", "2: backlog: out of range [1, 65535]");
    load_bad("\n\nmax_body_size = 17g\n", "3: max_body_size: out of range [0, 16g]");
    load_bad("header_timeout = 1\n", "1: header_timeout: out of range [10ms, 10m]");
    load_bad("max_body_size = 12x\n", "1: max_body_size: not a size (N, Nk, Nm or Ng)");
    load_bad("proxy_protocol = yes\n", "1: proxy_protocol: not on or off");
    load_bad("access_log_format = xml\n", "1: access_log_format: not one of text, json");
}

static void case_bad_syntax(void)
{
    load_bad("max_headers = 5\nthis is no setting\n",
             "2: syntax error (want 'key = value' or '[moss]')");
    load_bad("[moss\n", "1: syntax error (want 'key = value' or '[moss]')");
    /* the first error wins, whichever part of the parse finds it */
    load_bad("backlog = 1\nnonsense\nbogus = 1\n",
             "2: syntax error (want 'key = value' or '[moss]')");
    load_bad("bogus = 1\nnonsense\n", "1: bogus: unknown setting");
}

static void case_long_line(void)
{
    char text[600];

    snprintf(text, sizeof(text), "backlog = 1\napp = /%0400d\n", 0);
    load_bad(text, "2: line too long (at most 197 bytes)");
}

static void case_missing_file(void)
{
    moss_config_t *c = moss_config_new();
    char error[512], path[64];
    struct ini_file f = ini_write("");

    TEST_ASSERT(c != NULL);
    snprintf(path, sizeof(path), "%s", f.path);
    ini_remove(&f); /* a name just freed: nothing there */
    errno = 0;
    TEST_ASSERT(moss__config_load_file(c, path, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT);
    TEST_ASSERT(strncmp(error, path, strlen(path)) == 0);
    TEST_ASSERT(strcmp(error + strlen(path), ": open: No such file or directory") == 0);
    TEST_ASSERT(moss__config_load_file(c, "/tmp", error, sizeof(error)) == -1);
    TEST_ASSERT(errno == EISDIR && strcmp(error, "/tmp: read: Is a directory") == 0);
    moss_config_free(c);
}

static void case_bind_accumulates(void)
{
    moss_config_t *c = load_ok("bind = 127.0.0.1:8001\n[moss]\nbind = [::1]:8002\n"
                               "bind = unix:/tmp/moss.sock\n");

    TEST_ASSERT(c->bind_set == 1 && c->bind_count == 3);
    TEST_ASSERT(strcmp(c->bind[0], "127.0.0.1:8001") == 0);
    TEST_ASSERT(strcmp(c->bind[1], "[::1]:8002") == 0);
    TEST_ASSERT(strcmp(c->bind[2], "unix:/tmp/moss.sock") == 0);
    moss_config_free(c);
    load_bad("bind = 127.0.0.1:1\nbind = localhost:80\n",
             "2: bind: bad address: want IPv4:PORT, [IPv6]:PORT or unix:/PATH");
}

/* ---- the binary ------------------------------------------------------------------- */

/* MOSS_BIN args... (NULL-ended), its stdout and stderr into out_fd. */
static pid_t bin_spawn(const char *const *args, int out_fd)
{
    char *argv[16];
    int n = 0;

    argv[n++] = getenv("MOSS_BIN");
    TEST_ASSERT(argv[0] != NULL);
    while (*args != NULL && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    return test_spawn(argv, out_fd);
}

/* Waits up to ms for pid: 0 with *status, or -1 after killing it. */
static int wait_bounded(pid_t pid, int ms, int *status)
{
    if (test_wait_exit(pid, ms * SLOW, status) == 0)
        return 0;
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return -1;
}

/* moss args... exits with code and prints exactly want. */
static void expect_moss(int code, const char *want, const char *const *args)
{
    static char out[8192];
    int fd = test_output_file(), status = 0;
    pid_t pid = bin_spawn(args, fd);

    TEST_ASSERT(wait_bounded(pid, RUN_WAIT_MS, &status) == 0);
    test_output_read(fd, out, sizeof(out));
    close(fd);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != code || strcmp(out, want) != 0)
        fprintf(stderr, "moss %s ...: status %#x (want exit %d), output:\n%s(want:\n%s)\n",
                args[0], status, code, out, want);
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == code && strcmp(out, want) == 0);
}

#define MOSS(code, want, ...) expect_moss(code, want, (const char *[]){__VA_ARGS__, NULL})

static void case_cli_test_good(void)
{
    struct ini_file f = ini_write("[moss]\nbind = 127.0.0.1:1\nmax_headers = 10\n");
    char want[256];

    snprintf(want, sizeof(want), "moss: configuration %s is ok\n", f.path);
    MOSS(0, want, "-t", "-c", f.path);
    MOSS(0, want, "--config", f.path, "--test", "--max_headers", "20");
    MOSS(0, "moss: configuration is ok\n", "-t");
    ini_remove(&f);
}

static void case_cli_test_bad(void)
{
    struct ini_file f = ini_write("[moss]\nbacklog = 5\nmax_body_size = 17g\n");
    struct ini_file good = ini_write("backlog = 5\n");
    char want[256];

    snprintf(want, sizeof(want), "moss: %s:3: max_body_size: out of range [0, 16g]\n", f.path);
    MOSS(1, want, "-t", "-c", f.path);
    MOSS(1, want, "-c", f.path); /* serving: the same error, and no start */
    MOSS(1, "moss: --backlog: '0': out of range [1, 65535]\n", "-t", "-c", good.path,
         "--backlog", "0");
    MOSS(2, "moss: --backlog: '0': out of range [1, 65535]\nmoss: run 'moss -h' for the flags\n",
         "--backlog", "0"); /* not -t: a bad command line, as before */
    ini_remove(&f);
    snprintf(want, sizeof(want), "moss: %s: open: No such file or directory\n", f.path);
    MOSS(1, want, "-t", "-c", f.path);
    ini_remove(&good);
}

/* The server's output once it says "serving on", or NULL if it exited. */
static const char *serve_wait(pid_t pid, int fd, char *log, size_t cap)
{
    int64_t end = test_clock_ms() + (int64_t)START_WAIT_MS * SLOW;
    struct timespec tick = {0, 5000000};
    int status;

    while (test_clock_ms() < end) {
        if (strstr(test_output_read(fd, log, cap), "serving on") != NULL)
            return log;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return NULL;
        nanosleep(&tick, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    TEST_ASSERT(!"moss did not serve in time");
    return NULL;
}

/* GET / with 3 header fields on port: the status line's code. */
static int get_status(unsigned port)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: t\r\nA: 1\r\nConnection: close\r\n\r\n";
    char reply[13];
    int fd = test_client_connect(port);

    send_all(fd, req, sizeof(req) - 1);
    recv_exactly(fd, reply, 12);
    reply[12] = '\0';
    close(fd);
    TEST_ASSERT(strncmp(reply, "HTTP/1.1 ", 9) == 0);
    return atoi(reply + 9);
}

/* The file binds an unusable unix socket and allows 1 header field; the
 * flags bind a free port and allow 100: moss serves the flags' port and
 * answers a 3-field request 200 (not 431). */
static void case_flags_override_file(void)
{
    struct ini_file f = ini_write("bind = unix:/nonexistent/moss.sock\nmax_headers = 1\n");
    static char log[8192];
    char bind[64], want[96];
    const char *up = NULL;
    int fd = -1, status = 0;
    pid_t pid = -1;

    for (int attempt = 0; attempt < 5 && up == NULL; attempt++) {
        snprintf(bind, sizeof(bind), "127.0.0.1:%u", test_free_port());
        fd = test_output_file();
        pid = bin_spawn((const char *[]){"-c", f.path, "-b", bind, "--max_headers", "100",
                                          "--graceful_timeout", "1s", NULL}, fd);
        up = serve_wait(pid, fd, log, sizeof(log));
        if (up == NULL)
            close(fd);
        TEST_ASSERT(up != NULL || strstr(log, "in use") != NULL);
    }
    TEST_ASSERT(up != NULL);
    snprintf(want, sizeof(want), "moss: serving on %s\n", bind);
    TEST_ASSERT(strstr(log, want) != NULL && strstr(log, "unix:") == NULL);
    TEST_ASSERT(get_status((unsigned)atoi(strchr(bind, ':') + 1)) == 200);
    TEST_ASSERT(kill(pid, SIGTERM) == 0);
    TEST_ASSERT(wait_bounded(pid, RUN_WAIT_MS, &status) == 0);
    TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fd);
    ini_remove(&f);
}

const struct moss_test_case moss_test_config_file_cases[] = {
    {"good_file", case_good_file},
    {"comments_whitespace", case_comments_whitespace},
    {"moss_section", case_moss_section},
    {"other_section", case_other_section},
    {"unknown_key", case_unknown_key},
    {"bad_values", case_bad_values},
    {"bad_syntax", case_bad_syntax},
    {"long_line", case_long_line},
    {"missing_file", case_missing_file},
    {"bind_accumulates", case_bind_accumulates},
    {"cli_test_good", case_cli_test_good},
    {"cli_test_bad", case_cli_test_bad},
    {"flags_override_file", case_flags_override_file},
    {NULL, NULL},
};
