/* The table of settings (config/settings.c) as the command line and the
 * docs see it: look a name up, list them, print them as Markdown, and the
 * address and network parsers the settings validate with, for the layers
 * that need the same parse (listeners, PROXY protocol sources). */
#ifndef MOSS_CONFIG_SETTINGS_H
#define MOSS_CONFIG_SETTINGS_H

#include "config.h"

#include <stdio.h>
#include <sys/socket.h>

struct moss__setting;

/* The setting called `name` (exactly: the INI key and the long flag without
 * its "--"), or NULL. */
const struct moss__setting *moss__setting_find(const char *name);

/* One line per setting, "  --name VALUE  help (default ...)", for -h. */
void moss__settings_usage(FILE *out);

/* docs/settings.md: every setting with its default, range and help. The
 * file in the tree is this output (a test compares them). 0, or -1 with
 * errno on a write error. */
int moss__settings_markdown(FILE *out);

/* Applies the INI file at path to config (config/ini.c): each key a
 * setting name, outside any section or in [moss], each value set through
 * moss_config_set; bind accumulates. Stops at the first error: -1 with
 * errno (EINVAL for the content, else open's or read's) and, in error,
 * "FILE:LINE: key: reason" (or "FILE: open: reason"). Other settings of
 * the file may stay applied: discard the config on error. 0 on success. */
int moss__config_load_file(moss_config_t *config, const char *path, char *error,
                           size_t error_len);

/* Parses a bind address as written: "IPv4:PORT", "[IPv6]:PORT" (port 0 to
 * 65535) or "unix:/PATH" (absolute, fitting sun_path). Fills *addr and *len
 * when addr is not NULL. 0, or -1 with errno EINVAL and a reason in *error
 * (static text). */
int moss__address_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
                        const char **error);

/* Parses "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6) into *net; host bits
 * beyond the prefix are cleared. 0, or -1 with errno EINVAL and a reason
 * in *error (static text). */
int moss__network_parse(const char *text, struct moss__network *net, const char **error);

#endif
