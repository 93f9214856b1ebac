/* The INI configuration file (moss -c FILE), read with libinih. Every key
 * is a setting of the table in config/settings.c, set through
 * moss_config_set like a flag. Keys go outside any section or in [moss].
 * The first error stops the load and is reported as FILE:LINE: key: reason.
 *
 * libinih is fed through a reader of our own, which counts lines (so that
 * the handler knows its line), refuses lines too long for libinih's buffer
 * rather than let it split them, refuses sections other than [moss] even
 * when empty, and drops leading blanks, so that an indented key is a key
 * and never a continuation of the value above. */
#include "settings.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ini_load {
    moss_config_t *config;
    const char *path;
    FILE *file;
    char *buf;          /* the line as read (getline) */
    size_t cap;
    int line;           /* of the line last read, from 1 */
    int failed_line;    /* of the error in error; 0 while none */
    int failed_errno;
    char *error;
    size_t error_len;
};

__attribute__((format(printf, 3, 4))) static void ini_fail(struct ini_load *load, int err,
                                                            const char *format, ...)
{
    size_t used;
    va_list ap;

    if (load->failed_line != 0)
        return; /* the first error is the one reported */
    load->failed_line = load->line > 0 ? load->line : 1;
    load->failed_errno = err;
    used = (size_t)snprintf(load->error, load->error_len, "%s:%d: ", load->path,
                            load->failed_line);
    if (used >= load->error_len)
        return;
    va_start(ap, format);
    vsnprintf(load->error + used, load->error_len - used, format, ap);
    va_end(ap);
}

/* 1 if line (leading blanks dropped) is no section header, or is [moss];
 * a header without ']' is left to libinih, which calls it a syntax error. */
static int ini_section_ok(struct ini_load *load, const char *line)
{
    const char *end = strchr(line, ']');

    if (line[0] != '[' || end == NULL ||
        ((size_t)(end - line) == 5 && strncmp(line + 1, "moss", 4) == 0))
        return 1;
    ini_fail(load, EINVAL, "[%.*s]: unknown section (keys go outside any section or in [moss])",
             (int)(end - line - 1), line + 1);
    return 0;
}

/* libinih's fgets: the next line into str (num bytes), or NULL at the end
 * of the file, on a read error or after an error (which ends the parse). */
static char *ini_read_line(char *str, int num, void *stream)
{
    struct ini_load *load = stream;
    const char *start;
    size_t len;

    if (load->failed_line != 0 || getline(&load->buf, &load->cap, load->file) == -1)
        return NULL; /* ferror tells a read error from the end */
    load->line++;
    start = load->buf + strspn(load->buf, " \t");
    len = strcspn(start, "\r\n");
    if (len + 3 > (size_t)num) {
        ini_fail(load, EINVAL, "line too long (at most %d bytes)", num - 3);
        return NULL;
    }
    if (!ini_section_ok(load, start))
        return NULL;
    memcpy(str, start, len);
    memcpy(str + len, "\n", 2);
    return str;
}

static int ini_on_value(void *user, const char *section, const char *name, const char *value)
{
    struct ini_load *load = user;
    const char *why = "invalid";

    if (section[0] != '\0' && strcmp(section, "moss") != 0) { /* ini_section_ok saw it first */
        ini_fail(load, EINVAL, "[%s]: unknown section", section);
        return 0;
    }
    if (moss_config_set(load->config, name, value, &why) == 0)
        return 1;
    ini_fail(load, EINVAL, "%s: %s", name, why);
    return 0;
}

/* libinih's result and the reader's state into load->error: the earliest
 * error wins. */
static void ini_finish(struct ini_load *load, int parsed, int read_errno)
{
    if (parsed > 0 && (load->failed_line == 0 || parsed < load->failed_line)) {
        load->failed_line = 0;
        load->line = parsed;
        ini_fail(load, EINVAL, "syntax error (want 'key = value' or '[moss]')");
    } else if (load->failed_line == 0 && ferror(load->file)) {
        snprintf(load->error, load->error_len, "%s: read: %s", load->path, strerror(read_errno));
        load->failed_line = -1;
        load->failed_errno = read_errno;
    } else if (load->failed_line == 0 && parsed < 0) {
        snprintf(load->error, load->error_len, "%s: read: %s", load->path, strerror(ENOMEM));
        load->failed_line = -1;
        load->failed_errno = ENOMEM;
    }
}

int moss__config_load_file(moss_config_t *config, const char *path, char *error,
                           size_t error_len)
{
    struct ini_load load = {.config = config, .path = path, .error = error,
                            .error_len = error_len};
    int parsed, read_errno;

    load.file = fopen(path, "re");
    if (load.file == NULL) {
        read_errno = errno;
        snprintf(error, error_len, "%s: open: %s", path, strerror(read_errno));
        errno = read_errno;
        return -1;
    }
    errno = 0;
    parsed = ini_parse_stream(ini_read_line, &load, ini_on_value, &load);
    read_errno = errno != 0 ? errno : EIO;
    ini_finish(&load, parsed, read_errno);
    free(load.buf);
    fclose(load.file);
    if (load.failed_line == 0)
        return 0;
    errno = load.failed_errno;
    return -1;
}
