/* Fuzz harness: the configuration parser (config/ini.c, config/settings.c).
 *
 * The input is an INI file. It is loaded with moss__config_load_file from
 * a memfd (through its /proc/self/fd path, so nothing touches the disk),
 * twice: with a roomy error buffer and with a 16-byte one, whose message
 * is cut. Then every line of it is taken as "key=value" (split at the
 * first '=', nothing trimmed) and given to moss_config_set as a flag would
 * be, and its value (the text after '=', or the whole line) is given to
 * one setting of a value type picked by the line's length, so that every
 * value parser sees lines whatever key they name (one, not all: the table
 * lookup's strcmps, traced for the fuzzer, cost most of a run).
 *
 * Checked after each load and each set: the call says 0 or -1 with EINVAL
 * and a reason; an error message is a string that starts with the file's
 * name; and the config, whatever was refused on the way, still holds only
 * values the settings allow: every string field ends inside its array,
 * every bind address parses, every trusted network is well formed, and the
 * limits the server sizes buffers from are positive. */
#include "fuzz.h"

#include "../config/settings.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* One setting of each value type (config/settings.c). */
static const char *const config_fz_typed[] = {
    "proxy_protocol",    /* bool */
    "backlog",           /* integer */
    "max_header_size",   /* size */
    "header_timeout",    /* duration */
    "access_log",        /* string */
    "access_log_format", /* enum */
    "bind",              /* addresses */
    "proxy_trusted",     /* networks */
    "workers",           /* integer or auto */
    "admin",             /* address or off */
    "unix_mode",         /* octal mode */
};

#define CONFIG_FZ_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A string field ends inside its array. */
#define CONFIG_FZ_TERMINATED(field) \
    MOSS_FUZZ_CHECK(memchr((field), '\0', sizeof(field)) != NULL)

static void config_fz_check_network(const struct moss__network *net)
{
    unsigned bits = net->family == AF_INET ? 32 : 128;

    MOSS_FUZZ_CHECK(net->family == AF_INET || net->family == AF_INET6);
    MOSS_FUZZ_CHECK(net->prefix <= bits);
    for (unsigned bit = net->prefix; bit < bits; bit++) /* host bits are cleared */
        MOSS_FUZZ_CHECK((net->addr[bit / 8] & (0x80 >> (bit % 8))) == 0);
}

static void config_fz_check_strings(const struct moss_config *c)
{
    const char *why = NULL;

    CONFIG_FZ_TERMINATED(c->access_log);
    CONFIG_FZ_TERMINATED(c->error_log);
    CONFIG_FZ_TERMINATED(c->app);
    CONFIG_FZ_TERMINATED(c->admin);
    CONFIG_FZ_TERMINATED(c->admin_token);
    CONFIG_FZ_TERMINATED(c->pid_file);
    CONFIG_FZ_TERMINATED(c->user);
    CONFIG_FZ_TERMINATED(c->group);
    MOSS_FUZZ_CHECK(c->admin[0] == '\0' || moss__address_parse(c->admin, NULL, NULL, &why) == 0);
}

/* The config holds only what the settings allow. */
static void config_fz_check(const struct moss_config *c)
{
    const char *why = NULL;

    MOSS_FUZZ_CHECK(c->bind_count >= 1 && c->bind_count <= MOSS__BIND_MAX);
    for (size_t i = 0; i < c->bind_count; i++) {
        CONFIG_FZ_TERMINATED(c->bind[i]);
        MOSS_FUZZ_CHECK(moss__address_parse(c->bind[i], NULL, NULL, &why) == 0);
    }
    MOSS_FUZZ_CHECK(c->proxy_trusted_count <= MOSS__TRUSTED_MAX);
    for (size_t i = 0; i < c->proxy_trusted_count; i++)
        config_fz_check_network(&c->proxy_trusted[i]);
    config_fz_check_strings(c);
    MOSS_FUZZ_CHECK(c->max_header_size >= 1024 && c->max_headers >= 1);
    MOSS_FUZZ_CHECK(c->max_body_size >= 0 && c->max_connections >= 1 && c->backlog >= 1);
    MOSS_FUZZ_CHECK(c->header_timeout_ms > 0 && c->body_timeout_ms > 0 &&
                    c->keepalive_timeout_ms > 0 && c->request_timeout_ms > 0);
    MOSS_FUZZ_CHECK(c->workers >= 0 && c->workers <= MOSS__WORKERS_MAX);
    MOSS_FUZZ_CHECK(c->unix_mode >= 0 && c->unix_mode <= 0777);
    MOSS_FUZZ_CHECK(c->access_log_format == MOSS__LOG_TEXT ||
                    c->access_log_format == MOSS__LOG_JSON);
    MOSS_FUZZ_CHECK(c->error_log_format == MOSS__LOG_TEXT ||
                    c->error_log_format == MOSS__LOG_JSON);
}

/* ---- the file ----------------------------------------------------------------- */

/* The memfd the file is written to, made once and rewritten each time. */
static int config_fz_file(char *path, size_t cap)
{
    static int fd = -1;

    if (fd == -1)
        fd = memfd_create("moss-fuzz.ini", MFD_CLOEXEC);
    MOSS_FUZZ_CHECK(fd != -1);
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* Loads the input as a file into a fresh config, with an error buffer of
 * error_len bytes (16 or more). */
static void config_fz_load(const uint8_t *data, size_t size, size_t error_len)
{
    char path[64], *error = malloc(error_len); /* to size: ASan sees an overrun */
    int fd = config_fz_file(path, sizeof(path));
    moss_config_t *c = moss_config_new();
    int rc;

    MOSS_FUZZ_CHECK(error != NULL && c != NULL);
    MOSS_FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
    memset(error, 'X', error_len);
    errno = 0;
    rc = moss__config_load_file(c, path, error, error_len);
    MOSS_FUZZ_CHECK(rc == 0 || (rc == -1 && errno == EINVAL));
    if (rc == -1) {
        /* "PATH:LINE: ..." (cut to fit) */
        MOSS_FUZZ_CHECK(memchr(error, '\0', error_len) != NULL);
        MOSS_FUZZ_CHECK(strncmp(error, path, error_len - 1) == 0 ||
                        (strncmp(error, path, strlen(path)) == 0 &&
                         error[strlen(path)] == ':'));
    }
    config_fz_check(c);
    moss_config_free(c);
    free(error);
}

/* ---- moss_config_set ------------------------------------------------------------ */

/* One set, checked: 0, or -1 with EINVAL and a reason. */
static void config_fz_set(moss_config_t *c, const char *key, const char *value)
{
    const char *why = NULL;
    int rc;

    errno = 0;
    rc = moss_config_set(c, key, value, &why);
    MOSS_FUZZ_CHECK(rc == 0 || (rc == -1 && errno == EINVAL && why != NULL &&
                                strlen(why) < 256));
}

/* A line: as "key=value", then its value for a typed setting. */
static void config_fz_line(moss_config_t *c, char *line)
{
    size_t typed = strlen(line) % CONFIG_FZ_COUNT(config_fz_typed);
    char *eq = strchr(line, '=');
    const char *value = line;

    if (eq != NULL) {
        *eq = '\0';
        config_fz_set(c, line, eq + 1);
        value = eq + 1;
    }
    config_fz_set(c, config_fz_typed[typed], value);
    config_fz_check(c);
}

/* Every line of the input (split at LF; a NUL ends a line early, as it
 * would a flag's value) through config_fz_line, on one config. */
static void config_fz_lines(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *line;
    moss_config_t *c = moss_config_new();

    MOSS_FUZZ_CHECK(text != NULL && c != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    for (line = text; line != NULL;) {
        char *lf = memchr(line, '\n', (size_t)(text + size - line));

        if (lf != NULL)
            *lf = '\0';
        config_fz_line(c, line);
        line = lf != NULL ? lf + 1 : NULL;
    }
    moss_config_free(c);
    free(text);
}

int moss_fuzz_config(const uint8_t *data, size_t size)
{
    config_fz_load(data, size, 512);
    config_fz_load(data, size, 16);
    config_fz_lines(data, size);
    return 0;
}

#ifndef MOSS_FUZZ_REPLAY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return moss_fuzz_config(data, size);
}
#endif
