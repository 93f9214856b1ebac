/* The settings table (config/settings.c): defaults, one parser per type,
 * the reasons given for bad values, bind and proxy_trusted, docs/settings.md
 * kept equal to the table, and plugin loading errors (worker/plugin.c). */
#include "../../config/settings.h"
#include "../../worker/app.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static moss_config_t *config_new(void)
{
    moss_config_t *c = moss_config_new();

    TEST_ASSERT(c != NULL);
    return c;
}

static void set_ok(moss_config_t *c, const char *key, const char *value)
{
    const char *why = NULL;
    int rc = moss_config_set(c, key, value, &why);

    if (rc != 0)
        fprintf(stderr, "%s = '%s': %s\n", key, value, why);
    TEST_ASSERT(rc == 0);
}

/* Setting key to value fails with EINVAL and a reason containing want. */
static void set_bad(moss_config_t *c, const char *key, const char *value, const char *want)
{
    const char *why = NULL;

    errno = 0;
    TEST_ASSERT(moss_config_set(c, key, value, &why) == -1);
    TEST_ASSERT(errno == EINVAL);
    TEST_ASSERT(why != NULL);
    if (strstr(why, want) == NULL)
        fprintf(stderr, "%s = '%s': reason '%s', want '%s'\n", key, value, why, want);
    TEST_ASSERT(strstr(why, want) != NULL);
}

static void case_defaults(void)
{
    moss_config_t *c = config_new();

    TEST_ASSERT(c->bind_count == 1 && strcmp(c->bind[0], "127.0.0.1:8080") == 0);
    TEST_ASSERT(c->bind_set == 0);
    TEST_ASSERT(c->backlog == 511);
    TEST_ASSERT(c->max_connections == 10000);
    TEST_ASSERT(c->max_header_size == 16 * 1024);
    TEST_ASSERT(c->max_headers == 100);
    TEST_ASSERT(c->max_body_size == 1024 * 1024);
    TEST_ASSERT(c->header_timeout_ms == 10000);
    TEST_ASSERT(c->body_timeout_ms == 30000);
    TEST_ASSERT(c->keepalive_timeout_ms == 75000);
    TEST_ASSERT(c->max_requests_per_connection == 1000);
    TEST_ASSERT(c->request_timeout_ms == 30000);
    TEST_ASSERT(c->graceful_timeout_ms == 30000);
    TEST_ASSERT(c->proxy_protocol == 0);
    TEST_ASSERT(c->proxy_trusted_count == 2);
    TEST_ASSERT(strcmp(c->access_log, "") == 0);
    TEST_ASSERT(c->access_log_format == MOSS__LOG_TEXT);
    TEST_ASSERT(strcmp(c->error_log, "-") == 0);
    TEST_ASSERT(strcmp(c->app, "") == 0);
    moss_config_free(c);
}

static void case_bool(void)
{
    moss_config_t *c = config_new();

    set_ok(c, "proxy_protocol", "on");
    TEST_ASSERT(c->proxy_protocol == 1);
    set_ok(c, "proxy_protocol", "off");
    TEST_ASSERT(c->proxy_protocol == 0);
    set_bad(c, "proxy_protocol", "yes", "not on or off");
    set_bad(c, "proxy_protocol", "ON ", "not on or off");
    set_bad(c, "proxy_protocol", "", "not on or off");
    TEST_ASSERT(c->proxy_protocol == 0);
    moss_config_free(c);
}

static void case_int(void)
{
    moss_config_t *c = config_new();

    set_ok(c, "backlog", "1024");
    TEST_ASSERT(c->backlog == 1024);
    set_ok(c, "max_requests_per_connection", "1");
    TEST_ASSERT(c->max_requests_per_connection == 1);
    set_bad(c, "backlog", "12x", "not an integer");
    set_bad(c, "backlog", "", "not an integer");
    set_bad(c, "backlog", " 5", "not an integer");
    set_bad(c, "backlog", "+5", "not an integer");
    set_bad(c, "backlog", "0x10", "not an integer");
    set_bad(c, "backlog", "1k", "not an integer");
    set_bad(c, "max_connections", "99999999999999999999", "not an integer");
    TEST_ASSERT(c->backlog == 1024); /* a refused value changes nothing */
    moss_config_free(c);
}

static void case_size(void)
{
    moss_config_t *c = config_new();

    set_ok(c, "max_body_size", "0");
    TEST_ASSERT(c->max_body_size == 0);
    set_ok(c, "max_body_size", "4096");
    TEST_ASSERT(c->max_body_size == 4096);
    set_ok(c, "max_body_size", "64k");
    TEST_ASSERT(c->max_body_size == 64 * 1024);
    set_ok(c, "max_body_size", "3M");
    TEST_ASSERT(c->max_body_size == 3 * 1024 * 1024);
    set_ok(c, "max_body_size", "2g");
    TEST_ASSERT(c->max_body_size == 2LL * 1024 * 1024 * 1024);
    set_bad(c, "max_body_size", "12x", "not a size");
    set_bad(c, "max_body_size", "k", "not a size");
    set_bad(c, "max_body_size", "1.5m", "not a size");
    set_bad(c, "max_body_size", "1 m", "not a size");
    set_bad(c, "max_body_size", "9999999999999g", "not a size");
    TEST_ASSERT(c->max_body_size == 2LL * 1024 * 1024 * 1024);
    moss_config_free(c);
}

static void case_duration(void)
{
    moss_config_t *c = config_new();

    set_ok(c, "header_timeout", "250ms");
    TEST_ASSERT(c->header_timeout_ms == 250);
    set_ok(c, "header_timeout", "2s");
    TEST_ASSERT(c->header_timeout_ms == 2000);
    set_ok(c, "header_timeout", "3m");
    TEST_ASSERT(c->header_timeout_ms == 180000);
    set_ok(c, "header_timeout", "1500"); /* bare: milliseconds */
    TEST_ASSERT(c->header_timeout_ms == 1500);
    set_ok(c, "request_timeout", "2h");
    TEST_ASSERT(c->request_timeout_ms == 2 * 3600 * 1000);
    set_ok(c, "graceful_timeout", "0");
    TEST_ASSERT(c->graceful_timeout_ms == 0);
    set_bad(c, "header_timeout", "5x", "not a duration");
    set_bad(c, "header_timeout", "s", "not a duration");
    set_bad(c, "header_timeout", "1ss", "not a duration");
    TEST_ASSERT(c->header_timeout_ms == 1500);
    moss_config_free(c);
}

static void case_string_and_enum(void)
{
    moss_config_t *c = config_new();
    static char huge[MOSS__PATH_MAX + 1];

    set_ok(c, "access_log", "-");
    TEST_ASSERT(strcmp(c->access_log, "-") == 0);
    set_ok(c, "error_log", "/var/log/moss.log");
    TEST_ASSERT(strcmp(c->error_log, "/var/log/moss.log") == 0);
    set_ok(c, "app", "./app.so");
    TEST_ASSERT(strcmp(c->app, "./app.so") == 0);
    memset(huge, 'a', MOSS__PATH_MAX);
    set_bad(c, "app", huge, "too long (at most 4095 bytes)");
    huge[MOSS__PATH_MAX - 1] = '\0';
    set_ok(c, "app", huge); /* exactly the longest */
    set_ok(c, "access_log_format", "json");
    TEST_ASSERT(c->access_log_format == MOSS__LOG_JSON);
    set_ok(c, "access_log_format", "text");
    TEST_ASSERT(c->access_log_format == MOSS__LOG_TEXT);
    set_bad(c, "access_log_format", "xml", "not one of text, json");
    moss_config_free(c);
}

/* Every number's range: both ends accepted, one past each refused, and the
 * reason names the range as it is written. */
static void case_ranges(void)
{
    moss_config_t *c = config_new();

    set_ok(c, "backlog", "1");
    set_ok(c, "backlog", "65535");
    set_bad(c, "backlog", "0", "out of range [1, 65535]");
    set_bad(c, "backlog", "65536", "out of range [1, 65535]");
    set_bad(c, "backlog", "-1", "out of range [1, 65535]");
    set_bad(c, "max_connections", "0", "out of range [1, 1000000]");
    set_bad(c, "max_header_size", "1023", "out of range [1k, 1m]");
    set_bad(c, "max_header_size", "2m", "out of range [1k, 1m]");
    set_bad(c, "max_headers", "0", "out of range [1, 10000]");
    set_bad(c, "max_body_size", "17g", "out of range [0, 16g]");
    set_bad(c, "header_timeout", "9ms", "out of range [10ms, 10m]");
    set_bad(c, "body_timeout", "61m", "out of range [10ms, 1h]");
    set_bad(c, "keepalive_timeout", "2h", "out of range [10ms, 1h]");
    set_bad(c, "request_timeout", "25h", "out of range [10ms, 24h]");
    set_bad(c, "graceful_timeout", "-1", "out of range [0, 1h]");
    set_bad(c, "max_requests_per_connection", "0", "out of range [1, 1000000]");
    moss_config_free(c);
}

static void case_unknown_key(void)
{
    moss_config_t *c = config_new();

    set_bad(c, "max_body", "1m", "unknown setting");
    set_bad(c, "", "1", "unknown setting");
    set_bad(c, "BIND", "127.0.0.1:1", "unknown setting"); /* names are exact */
    errno = 0;
    TEST_ASSERT(moss_config_set(c, "nope", "1", NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_config_set(NULL, "backlog", "1", NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss_config_set(c, "backlog", NULL, NULL) == -1 && errno == EINVAL);
    TEST_ASSERT(moss__setting_find("keepalive_timeout") != NULL);
    TEST_ASSERT(moss__setting_find("keepalive") == NULL);
    moss_config_free(c);
}

static void case_bind_forms(void)
{
    static const char *const good[] = {
        "127.0.0.1:8080", "0.0.0.0:80", "127.0.0.1:0", "10.1.2.3:65535", "[::1]:8080",
        "[::]:1", "[fe80::1:2]:443", "unix:/tmp/moss.sock", "unix:/run/moss/a b.sock",
    };
    static const char *const bad[] = {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:8a",
        "127.0.0.1:+80", "localhost:80", "::1:80", "[::1]80", "[::1]", "[127.0.0.1]:80",
        "1.2.3:80", ":80", "", "unix:", "unix:relative.sock",
    };
    moss_config_t *c = config_new();
    char path[200] = "unix:/";

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        c->bind_set = 0; /* start over each time: at most 16 fit */
        set_ok(c, "bind", good[i]);
        TEST_ASSERT(c->bind_count == 1 && strcmp(c->bind[0], good[i]) == 0);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        set_bad(c, "bind", bad[i], "bad address");
    set_bad(c, "bind", "127.0.0.1:70000", "port not in 0 to 65535");
    memset(path + 6, 'p', 120);
    set_bad(c, "bind", path, "too long (at most 107 bytes)");
    set_bad(c, "bind", "unix:tmp/x", "must be absolute");
    moss_config_free(c);
}

static void case_address_parse(void)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_un *un = (struct sockaddr_un *)&ss;
    const char *why = NULL;
    socklen_t len = 0;

    TEST_ASSERT(moss__address_parse("127.0.0.2:8081", &ss, &len, &why) == 0);
    TEST_ASSERT(in->sin_family == AF_INET && ntohs(in->sin_port) == 8081);
    TEST_ASSERT(in->sin_addr.s_addr == htonl(0x7f000002) && len == sizeof(*in));
    TEST_ASSERT(moss__address_parse("[::1]:9", &ss, &len, &why) == 0);
    TEST_ASSERT(in6->sin6_family == AF_INET6 && ntohs(in6->sin6_port) == 9);
    TEST_ASSERT(memcmp(&in6->sin6_addr, &in6addr_loopback, 16) == 0 && len == sizeof(*in6));
    TEST_ASSERT(moss__address_parse("unix:/tmp/s", &ss, &len, &why) == 0);
    TEST_ASSERT(un->sun_family == AF_UNIX && strcmp(un->sun_path, "/tmp/s") == 0);
    errno = 0;
    TEST_ASSERT(moss__address_parse("nope", &ss, &len, &why) == -1 && errno == EINVAL);
    TEST_ASSERT(strstr(why, "want IPv4:PORT, [IPv6]:PORT or unix:/PATH") != NULL);
}

/* The first explicit bind replaces the default; later ones add to it. */
static void case_bind_repeatable(void)
{
    moss_config_t *c = config_new();
    char addr[32];

    set_bad(c, "bind", "nonsense", "bad address");
    TEST_ASSERT(c->bind_count == 1 && strcmp(c->bind[0], "127.0.0.1:8080") == 0);
    TEST_ASSERT(c->bind_set == 0); /* a refused bind does not drop the default */
    set_ok(c, "bind", "127.0.0.1:9000");
    TEST_ASSERT(c->bind_set == 1 && c->bind_count == 1);
    TEST_ASSERT(strcmp(c->bind[0], "127.0.0.1:9000") == 0);
    set_ok(c, "bind", "[::1]:9001");
    set_ok(c, "bind", "unix:/tmp/moss-test.sock");
    TEST_ASSERT(c->bind_count == 3 && strcmp(c->bind[1], "[::1]:9001") == 0);
    TEST_ASSERT(strcmp(c->bind[2], "unix:/tmp/moss-test.sock") == 0);
    for (int i = 3; i < MOSS__BIND_MAX; i++) {
        snprintf(addr, sizeof(addr), "127.0.0.1:%d", 9000 + i);
        set_ok(c, "bind", addr);
    }
    TEST_ASSERT(c->bind_count == MOSS__BIND_MAX);
    set_bad(c, "bind", "127.0.0.1:1", "too many addresses (at most 16)");
    TEST_ASSERT(c->bind_count == MOSS__BIND_MAX);
    moss_config_free(c);
}

static void expect_network(const struct moss__network *n, int family, const char *addr,
                           unsigned prefix)
{
    unsigned char want[16] = {0};

    TEST_ASSERT(inet_pton(family, addr, want) == 1);
    TEST_ASSERT(n->family == family && n->prefix == prefix);
    TEST_ASSERT(memcmp(n->addr, want, sizeof(want)) == 0);
}

static void case_proxy_trusted(void)
{
    moss_config_t *c = config_new();
    char many[40 * 12] = "";

    expect_network(&c->proxy_trusted[0], AF_INET, "127.0.0.1", 32);
    expect_network(&c->proxy_trusted[1], AF_INET6, "::1", 128);
    set_ok(c, "proxy_trusted", "10.1.2.3/8, 192.168.1.7 ,fd00::/8,172.16.0.0/12,::/0");
    TEST_ASSERT(c->proxy_trusted_count == 5);
    expect_network(&c->proxy_trusted[0], AF_INET, "10.0.0.0", 8); /* host bits cleared */
    expect_network(&c->proxy_trusted[1], AF_INET, "192.168.1.7", 32);
    expect_network(&c->proxy_trusted[2], AF_INET6, "fd00::", 8);
    expect_network(&c->proxy_trusted[3], AF_INET, "172.16.0.0", 12);
    expect_network(&c->proxy_trusted[4], AF_INET6, "::", 0);
    set_bad(c, "proxy_trusted", "10.0.0.0/33", "bad CIDR: prefix not in 0 to 32");
    set_bad(c, "proxy_trusted", "::/129", "bad CIDR: prefix not in 0 to 128");
    set_bad(c, "proxy_trusted", "10.0.0.0/", "bad CIDR");
    set_bad(c, "proxy_trusted", "10.0.0.0/8a", "bad CIDR");
    set_bad(c, "proxy_trusted", "example.com", "bad network");
    set_bad(c, "proxy_trusted", "10.0.0.0/8,,1.2.3.4", "bad network");
    set_bad(c, "proxy_trusted", "1.2.3.4/8/8", "bad CIDR");
    for (int i = 0; i < MOSS__TRUSTED_MAX + 1; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s10.0.0.%d", i ? "," : "",
                 i);
    set_bad(c, "proxy_trusted", many, "too many networks (at most 32)");
    TEST_ASSERT(c->proxy_trusted_count == 5); /* all or nothing */
    set_ok(c, "proxy_trusted", "");
    TEST_ASSERT(c->proxy_trusted_count == 0);
    moss_config_free(c);
}

/* Reads all of path into a malloc'd string, or NULL. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    FILE *out;

    if (f == NULL)
        return NULL;
    out = open_memstream(&text, &len);
    TEST_ASSERT(out != NULL);
    for (int ch; (ch = fgetc(f)) != EOF;)
        fputc(ch, out);
    fclose(f);
    fclose(out);
    return text;
}

/* docs/settings.md is the table's Markdown, byte for byte. The tests run
 * from the top of the tree (make check-unit). */
static void case_docs_match_table(void)
{
    char *text = NULL, *file = read_file("docs/settings.md");
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    TEST_ASSERT(out != NULL);
    TEST_ASSERT(moss__settings_markdown(out) == 0);
    fclose(out);
    if (file == NULL)
        fprintf(stderr, "docs/settings.md: cannot read it (run from the top of the tree)\n");
    TEST_ASSERT(file != NULL);
    if (strcmp(file, text) != 0)
        fprintf(stderr, "docs/settings.md differs from the table: regenerate it with "
                        "'moss --settings-markdown > docs/settings.md'\n");
    TEST_ASSERT(strcmp(file, text) == 0);
    TEST_ASSERT(strstr(text, "| `keepalive_timeout` | duration | `75s` | 10ms to 1h |") != NULL);
    free(file);
    free(text);
}

static void case_usage_lists_settings(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    TEST_ASSERT(out != NULL);
    moss__settings_usage(out);
    fclose(out);
    TEST_ASSERT(strstr(text, "--bind ADDR (repeatable)") != NULL);
    TEST_ASSERT(strstr(text, "--max_body_size SIZE") != NULL);
    TEST_ASSERT(strstr(text, "--access_log_format text|json") != NULL);
    TEST_ASSERT(strstr(text, "--app FILE") != NULL);
    TEST_ASSERT(strstr(text, "default '75s'; 10ms to 1h") != NULL);
    free(text);
}

/* ---- plugins (the ones that call no moss function load into any process) ---------- */

static void plugin_path(char *buf, size_t cap, const char *name)
{
    const char *dir = getenv("TEST_PLUGIN_DIR");

    TEST_ASSERT(dir != NULL);
    snprintf(buf, cap, "%s/%s", dir, name);
}

static void expect_load_error(const char *name, int err, const char *want)
{
    char path[512], error[1024] = "", wanted[1200];
    moss_app_t app;

    plugin_path(path, sizeof(path), name);
    snprintf(wanted, sizeof(wanted), want, path);
    errno = 0;
    TEST_ASSERT(moss__app_load(path, &app, error, sizeof(error)) == -1);
    if (errno != err || strstr(error, wanted) == NULL)
        fprintf(stderr, "%s: errno %d, error '%s', want %d '%s'\n", name, errno, error, err,
                wanted);
    TEST_ASSERT(errno == err && strstr(error, wanted) != NULL);
    TEST_ASSERT(app.handle == NULL);
}

static void case_plugin_errors(void)
{
    expect_load_error("missing.so", ENOENT, "%s");
    expect_load_error("noinit.so", ENOEXEC, "%s: no moss_app_init symbol");
    expect_load_error("initfail.so", ECANCELED, "%s: moss_app_init failed");
    expect_load_error("nohandler.so", EINVAL, "%s: moss_app_init set no handler");
}

/* A name without '/' is the file in the current directory, as on a command
 * line, not a library searched for on the library path. */
static void case_plugin_bare_name(void)
{
    char error[1024] = "";
    moss_app_t app;

    TEST_ASSERT(moss__app_load("libc.so.6", &app, error, sizeof(error)) == -1);
    TEST_ASSERT(errno == ENOENT && strstr(error, "./libc.so.6") != NULL);
}

const struct moss_test_case moss_test_config_cases[] = {
    {"defaults", case_defaults},
    {"bool", case_bool},
    {"int", case_int},
    {"size", case_size},
    {"duration", case_duration},
    {"string_and_enum", case_string_and_enum},
    {"ranges", case_ranges},
    {"unknown_key", case_unknown_key},
    {"bind_forms", case_bind_forms},
    {"address_parse", case_address_parse},
    {"bind_repeatable", case_bind_repeatable},
    {"proxy_trusted", case_proxy_trusted},
    {"docs_match_table", case_docs_match_table},
    {"usage_lists_settings", case_usage_lists_settings},
    {"plugin_errors", case_plugin_errors},
    {"plugin_bare_name", case_plugin_bare_name},
    {NULL, NULL},
};
