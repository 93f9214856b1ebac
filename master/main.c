/* The moss command: turns the command line (and the INI file of -c) into a
 * config, one setting per flag or key through the table in
 * config/settings.c, and serves it, or with -t only checks it.
 *
 * Exit status: 0 after a clean stop (or -v, -h, a good -t), 1 if the
 * server could not start or the configuration is bad (a file that does not
 * load; with -t, any bad value), 2 for a bad command line. */
#include "../config/settings.h"
#include "master.h"
#include "os.h"
#include "moss.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAIN_SERVE (-1) /* main_parse: go on and serve */
#define MAIN_CONFIG_ERROR 1
#define MAIN_USAGE_ERROR 2

/* A setting given on the command line, applied after the file. */
struct main_flag {
    char name[64];
    char short_flag;           /* given as -b or -w: 'b' or 'w', else 0 */
    const char *value;
};

struct main_cmd {
    struct main_flag *flags;   /* argc of them at most */
    int count;
    const char *config_path;   /* -c, or NULL */
    int test;                  /* -t */
};

static const char main_usage[] =
    "usage: moss [-c FILE] [-t] [-b ADDR]... [-w N] [--admin ADDR|off] [--app FILE.so]\n"
    "            [--pid FILE] [--NAME VALUE]... [-v] [-h]\n"
    "\n"
    "A master process binds every address (default 127.0.0.1:8080) and runs N worker\n"
    "processes (default: one per CPU) that serve HTTP/1.1 with the app (default: the\n"
    "built-in demo app). The master serves /health, /stats and /metrics on the admin\n"
    "address (default 127.0.0.1:8081).\n"
    "\n"
    "  -c, --config FILE  read settings from an INI file: the names below as keys,\n"
    "                     outside any section or in [moss]; flags override it\n"
    "  -t, --test         check the configuration (file and flags), then exit\n"
    "  -b ADDR            short for --bind ADDR\n"
    "  -w N               short for --workers N\n"
    "  -v, --version      print the version and exit\n"
    "  -h, --help         print this help and exit\n"
    "\n"
    "Signals to the master: HUP reloads (config and app, behind a readiness gate),\n"
    "TERM stops gracefully (/health 503 for drain_grace, then the workers drain),\n"
    "INT and QUIT stop at once, USR1 reopens the logs, USR2 upgrades the binary,\n"
    "TTIN and TTOU add or remove a worker.\n"
    "\n"
    "Settings, each --NAME VALUE or --NAME=VALUE (docs/settings.md):\n";

/* How the user wrote the flag: "-b", "-w" or "--name". */
static const char *main_flag_spelling(const struct main_flag *f)
{
    static _Thread_local char spelling[72];

    if (f->short_flag != 0)
        snprintf(spelling, sizeof(spelling), "-%c", f->short_flag);
    else
        snprintf(spelling, sizeof(spelling), "--%s", f->name);
    return spelling;
}

static void main_hint(void)
{
    fputs("moss: run 'moss -h' for the flags\n", stderr);
}

/* -c FILE, -cFILE, --config FILE, --config=FILE, -t or --test at argv[*i]:
 * 1 if it was one (*i stepped past a value), 0 if not, -1 (said) if bad. */
static int main_option(struct main_cmd *cmd, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *value = NULL;

    if (strcmp(arg, "-t") == 0 || strcmp(arg, "--test") == 0) {
        cmd->test = 1;
        return 1;
    }
    if (strncmp(arg, "--config=", 9) == 0)
        value = arg + 9;
    else if (strncmp(arg, "-c", 2) == 0 && arg[2] != '\0')
        value = arg + 2;
    else if (strcmp(arg, "-c") != 0 && strcmp(arg, "--config") != 0)
        return 0;
    if (value == NULL && *i + 1 < argc)
        value = argv[++*i];
    if (value == NULL || value[0] == '\0') {
        fputs("moss: -c: needs a file\n", stderr);
        return -1;
    }
    if (cmd->config_path != NULL) {
        fputs("moss: -c: given more than once\n", stderr);
        return -1;
    }
    cmd->config_path = value;
    return 1;
}

/* "--name VALUE", "--name=VALUE", "-b ADDR" or "-bADDR" at argv[*i] into
 * the next of cmd->flags, the name checked, the value not yet; steps *i
 * past the value. */
static int main_flag(struct main_cmd *cmd, int argc, char **argv, int *i)
{
    struct main_flag *f = &cmd->flags[cmd->count];
    const char *arg = argv[*i], *eq = strchr(arg, '=');

    f->short_flag = strncmp(arg, "-b", 2) == 0 ? 'b' : strncmp(arg, "-w", 2) == 0 ? 'w' : 0;
    if (f->short_flag) {
        snprintf(f->name, sizeof(f->name), "%s", f->short_flag == 'b' ? "bind" : "workers");
        f->value = arg[2] != '\0' ? arg + 2 : NULL;
    } else {
        snprintf(f->name, sizeof(f->name), "%.*s", eq != NULL ? (int)(eq - arg) - 2 : 63,
                 arg + 2);
        f->value = eq != NULL ? eq + 1 : NULL;
        if (strncmp(arg, "--", 2) != 0 || moss__setting_find(f->name) == NULL) {
            fprintf(stderr, "moss: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    if (f->value == NULL && *i + 1 < argc)
        f->value = argv[++*i];
    if (f->value == NULL) {
        fprintf(stderr, "moss: %s: needs a value\n", main_flag_spelling(f));
        return -1;
    }
    cmd->count++;
    return 0;
}

/* Reads the command line into cmd: MAIN_SERVE, or the exit status (after
 * -v, -h or an error). */
static int main_parse(struct main_cmd *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int option;

        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--version") == 0) {
            printf("moss %s\n", moss_version());
            return 0;
        }
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(main_usage, stdout);
            moss__settings_usage(stdout);
            return 0;
        }
        if (strcmp(arg, "--settings-markdown") == 0) /* hidden: writes docs/settings.md */
            return moss__settings_markdown(stdout) == 0 ? 0 : 1;
        if ((option = main_option(cmd, argc, argv, &i)) == -1 ||
            (option == 0 && main_flag(cmd, argc, argv, &i) == -1)) {
            main_hint();
            return MAIN_USAGE_ERROR;
        }
    }
    return MAIN_SERVE;
}

/* The file, then the flags over it; a bind among the flags replaces the
 * file's binds. MAIN_SERVE, or the exit status with the reason in error. */
static int main_configure(moss_config_t *config, const struct main_cmd *cmd, char *error,
                          size_t error_len)
{
    const char *why = "invalid";

    if (cmd->config_path != NULL &&
        moss__config_load_file(config, cmd->config_path, error, error_len) == -1)
        return MAIN_CONFIG_ERROR;
    for (int i = 0; i < cmd->count; i++)
        if (strcmp(cmd->flags[i].name, "bind") == 0)
            config->bind_set = 0; /* the first flag bind drops the file's */
    for (int i = 0; i < cmd->count; i++) {
        const struct main_flag *f = &cmd->flags[i];

        if (moss_config_set(config, f->name, f->value, &why) == -1) {
            snprintf(error, error_len, "%s: '%s': %s", main_flag_spelling(f), f->value, why);
            return cmd->test ? MAIN_CONFIG_ERROR : MAIN_USAGE_ERROR;
        }
    }
    return MAIN_SERVE;
}

/* SIGHUP: the file and the flags again, into a config of their own. */
static int main_reload_config(void *arg, moss_config_t **out, char *error, size_t error_len)
{
    const struct main_cmd *cmd = arg;

    *out = moss_config_new();
    if (*out == NULL) {
        snprintf(error, error_len, "config: %s", strerror(errno));
        return -1;
    }
    if (main_configure(*out, cmd, error, error_len) == MAIN_SERVE)
        return 0;
    moss_config_free(*out);
    *out = NULL;
    errno = EINVAL;
    return -1;
}

static int main_serve(moss_config_t *config, struct main_cmd *cmd, char **argv)
{
    struct moss__master_opts opts = {.config = config, .reload_config = main_reload_config,
                                     .reload_arg = cmd, .argv = argv};

    return moss__master_run(&opts) == 0 ? 0 : 1;
}

/* Parses, configures, then checks (-t) or serves: the exit status. */
static int main_run(moss_config_t *config, struct main_cmd *cmd, int argc, char **argv)
{
    char error[MOSS__PATH_MAX + 256];
    int status = main_parse(cmd, argc, argv);

    if (status == MAIN_SERVE) {
        status = main_configure(config, cmd, error, sizeof(error));
        if (status != MAIN_SERVE)
            fprintf(stderr, "moss: %s\n", error);
        if (status == MAIN_USAGE_ERROR)
            main_hint();
    }
    if (status == MAIN_SERVE && cmd->test &&
        moss__privileges_check(config->user, config->group, error, sizeof(error)) == -1) {
        fprintf(stderr, "moss: %s\n", error);
        return MAIN_CONFIG_ERROR;
    }
    if (status == MAIN_SERVE && cmd->test) {
        if (cmd->config_path != NULL)
            printf("moss: configuration %s is ok\n", cmd->config_path);
        else
            printf("moss: configuration is ok\n");
        return 0;
    }
    if (status == MAIN_SERVE)
        status = main_serve(config, cmd, argv);
    return status;
}

int main(int argc, char **argv)
{
    moss_config_t *config = moss_config_new();
    struct main_cmd cmd = {.flags = calloc((size_t)argc + 1, sizeof(struct main_flag))};
    int status = 1;

    if (config == NULL || cmd.flags == NULL)
        fprintf(stderr, "moss: %s\n", strerror(errno));
    else
        status = main_run(config, &cmd, argc, argv);
    free(cmd.flags);
    moss_config_free(config);
    return status;
}
