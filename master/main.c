/* The moss command: turns the command line into a config, one setting per
 * flag through the table in config/settings.c, and serves it.
 *
 * Exit status: 0 after a clean stop (or -v, -h), 1 if the server could not
 * start, 2 for a bad command line. */
#include "../config/settings.h"
#include "moss.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAIN_SERVE (-1) /* main_parse: go on and serve */
#define MAIN_USAGE_ERROR 2

static const char main_usage[] =
    "usage: moss [-b ADDR]... [--app FILE.so] [--NAME VALUE]... [-v] [-h]\n"
    "\n"
    "Serves HTTP/1.1 on every bind address (default 127.0.0.1:8080) with the app\n"
    "(default: the built-in demo app) until SIGTERM (graceful drain) or SIGINT.\n"
    "\n"
    "  -b ADDR        short for --bind ADDR\n"
    "  -v, --version  print the version and exit\n"
    "  -h, --help     print this help and exit\n"
    "\n"
    "Settings, each --NAME VALUE or --NAME=VALUE (docs/settings.md):\n";

/* Flags of the master, which is not built yet: refused by name rather than
 * taken for unknown, so that a reader of the docs learns why. */
static const struct {
    const char *flag;
    const char *what;
} main_later[] = {
    {"-c", "configuration files"},
    {"-t", "testing the configuration"},
    {"-w", "several worker processes"},
    {"--admin", "the admin endpoint"},
    {"--pid", "pid files"},
};

static void main_hint(void)
{
    fputs("moss: run 'moss -h' for the flags\n", stderr);
}

/* -1 (after saying so) if arg is one of main_later, as "-c", "-cFILE",
 * "--admin" or "--admin=ADDR". */
static int main_refuse_later(const char *arg)
{
    for (size_t i = 0; i < sizeof(main_later) / sizeof(main_later[0]); i++) {
        const char *flag = main_later[i].flag;
        size_t len = strlen(flag);

        if (strncmp(arg, flag, len) != 0 ||
            (arg[len] != '\0' && flag[1] == '-' && arg[len] != '='))
            continue;
        fprintf(stderr, "moss: %s: not supported yet (%s; planned with the master process)\n",
                flag, main_later[i].what);
        return -1;
    }
    return 0;
}

static int main_set(moss_config_t *config, const char *flag, const char *name,
                    const char *value)
{
    const char *why = "invalid";

    if (moss_config_set(config, name, value, &why) == 0)
        return 0;
    fprintf(stderr, "moss: %s: '%s': %s\n", flag, value, why);
    return -1;
}

/* "--name VALUE", "--name=VALUE", "-b ADDR" or "-bADDR" at argv[*i]; steps
 * *i past the value. */
static int main_setting(moss_config_t *config, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], *eq = strchr(arg, '='), *value = NULL;
    char name[64], flag[72];

    if (strncmp(arg, "-b", 2) == 0) {
        snprintf(name, sizeof(name), "bind");
        snprintf(flag, sizeof(flag), "-b");
        value = arg[2] != '\0' ? arg + 2 : NULL;
    } else {
        snprintf(name, sizeof(name), "%.*s", eq != NULL ? (int)(eq - arg) - 2 : 63, arg + 2);
        snprintf(flag, sizeof(flag), "--%s", name);
        value = eq != NULL ? eq + 1 : NULL;
        if (strncmp(arg, "--", 2) != 0 || moss__setting_find(name) == NULL) {
            fprintf(stderr, "moss: unknown argument '%s'\n", arg);
            return -1;
        }
    }
    if (value == NULL && *i + 1 < argc)
        value = argv[++*i];
    if (value == NULL) {
        fprintf(stderr, "moss: %s: needs a value\n", flag);
        return -1;
    }
    return main_set(config, flag, name, value);
}

/* Applies the command line to config: MAIN_SERVE, or the exit status. */
static int main_parse(moss_config_t *config, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

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
        if (main_refuse_later(arg) == -1 || main_setting(config, argc, argv, &i) == -1) {
            main_hint();
            return MAIN_USAGE_ERROR;
        }
    }
    return MAIN_SERVE;
}

int main(int argc, char **argv)
{
    moss_config_t *config = moss_config_new();
    int status;

    if (config == NULL) {
        fprintf(stderr, "moss: %s\n", strerror(errno));
        return 1;
    }
    status = main_parse(config, argc, argv);
    if (status == MAIN_SERVE)
        status = moss_serve(config, NULL) == 0 ? 0 : 1;
    moss_config_free(config);
    return status;
}
