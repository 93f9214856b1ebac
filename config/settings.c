/* The one table of settings. Each row names a setting (the INI key and the
 * long flag --name), its type, its field in struct moss_config, its default
 * as text (parsed by the same code as any value, so a default cannot
 * escape its own range), its range and a line of help. The command line,
 * -h, docs/settings.md and the validation all come from this table. */
#include "settings.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

enum setting_type {
    SETTING_BOOL,      /* on | off */
    SETTING_INT,       /* decimal */
    SETTING_SIZE,      /* bytes, suffix k, m or g (powers of 1024) */
    SETTING_DURATION,  /* milliseconds, suffix ms, s, m or h */
    SETTING_STRING,    /* text or a path; max is its longest length */
    SETTING_ENUM,      /* one of choices, stored as its index */
    SETTING_ADDRESSES, /* bind: one address a value; max is the most */
    SETTING_NETWORKS,  /* comma-separated CIDRs, replaced whole; max is the most */
    SETTING_AUTO_INT,  /* "auto" (stored as 0) or a decimal in min to max */
    SETTING_OPTIONAL_ADDRESS, /* "off" (stored as "") or one address */
    SETTING_MODE,      /* a file mode in octal, 0 to max */
    SETTING_TYPES
};

struct moss__setting {
    const char *name;
    enum setting_type type;
    size_t offset;             /* the field in struct moss_config */
    size_t width;              /* its size: numbers are int or int64_t */
    const char *default_text;
    int64_t min, max;
    const char *help;
    int repeatable;            /* each value adds one; the first explicit one drops the default */
    const char *const *choices; /* SETTING_ENUM: names in the enum's order, NULL-ended */
};

#define FIELD(f) offsetof(struct moss_config, f), sizeof(((struct moss_config *)0)->f)
#define KIB ((int64_t)1 << 10)
#define MIB ((int64_t)1 << 20)
#define GIB ((int64_t)1 << 30)
#define SECOND ((int64_t)1000)
#define MINUTE (60 * SECOND)

_Static_assert(sizeof(enum moss__log_format) == sizeof(int), "enums are stored as int");

static const char *const log_formats[] = {"text", "json", NULL};

static const struct moss__setting settings[] = {
    {"bind", SETTING_ADDRESSES, FIELD(bind), "127.0.0.1:8080", 1, MOSS__BIND_MAX,
     "an address to listen on: IPv4:PORT, [IPv6]:PORT or unix:/PATH; repeat for more; "
     "an explicit bind replaces the default", 1, NULL},
    {"backlog", SETTING_INT, FIELD(backlog), "511", 1, 65535,
     "each listener's queue of connections not yet accepted (listen(2) backlog)", 0, NULL},
    {"max_connections", SETTING_INT, FIELD(max_connections), "10000", 1, 1000000,
     "connections open at once per worker; beyond it the worker stops accepting until one "
     "closes", 0, NULL},
    {"stack_cache", SETTING_INT, FIELD(stack_cache), "1024", 0, 65536,
     "greenlet stacks each worker keeps for reuse; below the requests in flight at once, "
     "each request maps and unmaps a stack (at 1,000 connections that halves throughput)",
     0, NULL},
    {"max_header_size", SETTING_SIZE, FIELD(max_header_size), "16k", 1 * KIB, 1 * MIB,
     "the longest request line plus headers; longer is answered 431", 0, NULL},
    {"max_headers", SETTING_INT, FIELD(max_headers), "100", 1, 10000,
     "the most header fields in a request; more is answered 431", 0, NULL},
    {"max_body_size", SETTING_SIZE, FIELD(max_body_size), "1m", 0, 16 * GIB,
     "the largest request body; larger is answered 413", 0, NULL},
    {"header_timeout", SETTING_DURATION, FIELD(header_timeout_ms), "10s", 10, 10 * MINUTE,
     "from a request's first byte to the end of its headers; slower is answered 408", 0, NULL},
    {"body_timeout", SETTING_DURATION, FIELD(body_timeout_ms), "30s", 10, 60 * MINUTE,
     "the longest wait for more of a request body", 0, NULL},
    {"keepalive_timeout", SETTING_DURATION, FIELD(keepalive_timeout_ms), "75s", 10, 60 * MINUTE,
     "how long an idle connection is kept between requests; above common load balancers' "
     "idle timeouts (60s), so that the balancer, not moss, closes idle connections", 0, NULL},
    {"max_requests_per_connection", SETTING_INT, FIELD(max_requests_per_connection), "1000", 1,
     1000000, "requests served on one connection before moss closes it", 0, NULL},
    {"request_timeout", SETTING_DURATION, FIELD(request_timeout_ms), "30s", 10, 1440 * MINUTE,
     "the longest a handler may run; it is then cancelled and the client gets 503", 0, NULL},
    {"graceful_timeout", SETTING_DURATION, FIELD(graceful_timeout_ms), "30s", 0, 60 * MINUTE,
     "on SIGTERM, how long requests in flight may take to finish before they are cancelled",
     0, NULL},
    {"proxy_protocol", SETTING_BOOL, FIELD(proxy_protocol), "off", 0, 1,
     "expect a PROXY protocol v1 or v2 header at the start of every connection", 0, NULL},
    {"proxy_trusted", SETTING_NETWORKS, FIELD(proxy_trusted), "127.0.0.1/32,::1/128", 0,
     MOSS__TRUSTED_MAX,
     "comma-separated addresses or CIDR networks allowed to send a PROXY header", 0, NULL},
    {"access_log", SETTING_STRING, FIELD(access_log), "", 0, MOSS__PATH_MAX - 1,
     "the access log: a file, \"-\" for stdout, or empty for none", 0, NULL},
    {"access_log_format", SETTING_ENUM, FIELD(access_log_format), "text", 0, 1,
     "the access log's line format", 0, log_formats},
    {"error_log", SETTING_STRING, FIELD(error_log), "-", 0, MOSS__PATH_MAX - 1,
     "the error log: a file, or \"-\" for stderr", 0, NULL},
    {"error_log_format", SETTING_ENUM, FIELD(error_log_format), "text", 0, 1,
     "the format of the watchdog's reports in the error log", 0, log_formats},
    {"app", SETTING_STRING, FIELD(app), "", 0, MOSS__PATH_MAX - 1,
     "the app: a plugin .so that exports moss_app_init; empty for the built-in demo app", 0,
     NULL},
    {"workers", SETTING_AUTO_INT, FIELD(workers), "auto", 1, MOSS__WORKERS_MAX,
     "worker processes; auto is one per online CPU (-w N is short for --workers N)", 0, NULL},
    {"admin", SETTING_OPTIONAL_ADDRESS, FIELD(admin), "127.0.0.1:8081", 0, MOSS__PATH_MAX - 1,
     "where the master serves /health, /stats and /metrics, or off", 0, NULL},
    {"admin_token", SETTING_STRING, FIELD(admin_token), "", 0, MOSS__TOKEN_MAX - 1,
     "if set, the admin endpoints require 'Authorization: Bearer TOKEN'; set it when admin "
     "is bound beyond loopback", 0, NULL},
    {"pid", SETTING_STRING, FIELD(pid_file), "", 0, MOSS__PATH_MAX - 1,
     "a file the master writes its pid to, and removes on exit; empty for none", 0, NULL},
    {"user", SETTING_STRING, FIELD(user), "", 0, MOSS__NAME_MAX - 1,
     "after binding, the master and workers run as this user; empty to stay as started", 0,
     NULL},
    {"group", SETTING_STRING, FIELD(group), "", 0, MOSS__NAME_MAX - 1,
     "with user: the group to run as; empty for the user's primary group", 0, NULL},
    {"cpu_affinity", SETTING_BOOL, FIELD(cpu_affinity), "off", 0, 1,
     "pin worker slot i to the i-th CPU the master may run on", 0, NULL},
    {"reuse_port", SETTING_BOOL, FIELD(reuse_port), "off", 0, 1,
     "one SO_REUSEPORT socket per worker slot and TCP address, kept across reloads: the "
     "kernel spreads connections over the workers", 0, NULL},
    {"unix_mode", SETTING_MODE, FIELD(unix_mode), "0660", 0, 0777,
     "the file mode of unix socket listeners, in octal", 0, NULL},
    {"worker_timeout", SETTING_DURATION, FIELD(worker_timeout_ms), "30s", 100, 60 * MINUTE,
     "a worker whose hub has not beaten its heartbeat for this long is killed and replaced",
     0, NULL},
    {"reload_timeout", SETTING_DURATION, FIELD(reload_timeout_ms), "60s", 100, 60 * MINUTE,
     "on SIGHUP, how long the new workers have to become ready before the reload is rolled "
     "back", 0, NULL},
    {"drain_grace", SETTING_DURATION, FIELD(drain_grace_ms), "5s", 0, 10 * MINUTE,
     "on SIGTERM, how long /health answers 503 while the workers still serve, so that a load "
     "balancer takes the node out before the drain", 0, NULL},
    {"watchdog", SETTING_BOOL, FIELD(watchdog), "on", 0, 1,
     "a monitor thread per worker that reports a greenlet keeping the hub from switching",
     0, NULL},
    {"watchdog_interval_ms", SETTING_DURATION, FIELD(watchdog_interval_ms), "20ms", 1, SECOND,
     "how often the watchdog looks at the hub", 0, NULL},
    {"max_blocking_ms", SETTING_DURATION, FIELD(max_blocking_ms), "100ms", 1, MINUTE,
     "a hub that has not switched for longer (outside its poll) is blocked: reported with "
     "the greenlet, its request and a backtrace", 0, NULL},
    {"block_kill_ms", SETTING_DURATION, FIELD(block_kill_ms), "0", 0, 60 * MINUTE,
     "a hub blocked for longer gets its worker replaced, after the report; 0 is off", 0,
     NULL},
};

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

/* Reasons that name numbers are formatted here: valid until the calling
 * thread's next call. */
static _Thread_local char setting_reason[192];

const struct moss__setting *moss__setting_find(const char *name)
{
    for (size_t i = 0; i < SETTING_COUNT; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

/* ---- numbers --------------------------------------------------------------------- */

struct unit {
    const char *suffix;
    int64_t scale;
};

/* Largest first, for formatting; the suffix "" or "ms" is the base. */
static const struct unit int_units[] = {{"", 1}, {NULL, 0}};
static const struct unit size_units[] = {
    {"g", GIB}, {"m", MIB}, {"k", KIB}, {"", 1}, {NULL, 0}};
static const struct unit duration_units[] = {
    {"h", 60 * MINUTE}, {"m", MINUTE}, {"s", SECOND}, {"ms", 1}, {"", 1}, {NULL, 0}};

static const struct unit *setting_units(enum setting_type type)
{
    return type == SETTING_SIZE ? size_units : type == SETTING_DURATION ? duration_units
                                                                         : int_units;
}

static const char *setting_not_a(enum setting_type type)
{
    return type == SETTING_SIZE       ? "not a size (N, Nk, Nm or Ng)"
           : type == SETTING_DURATION ? "not a duration (Nms, Ns, Nm or Nh)"
                                      : "not an integer";
}

/* A decimal integer with one of units' suffixes (case-insensitive), scaled.
 * No spaces, no '+', no hex: what is written is what is meant. */
static int parse_scaled(const char *text, const struct unit *units, int64_t *value)
{
    char *end;
    long long n;

    if (!isdigit((unsigned char)text[0]) &&
        !(text[0] == '-' && isdigit((unsigned char)text[1])))
        return -1;
    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    for (const struct unit *u = units; u->suffix != NULL; u++) {
        if (strcasecmp(end, u->suffix) != 0)
            continue;
        if (n > INT64_MAX / u->scale || n < INT64_MIN / u->scale)
            return -1;
        *value = (int64_t)n * u->scale;
        return 0;
    }
    return -1;
}

/* v in the largest unit that holds it exactly: 16384 -> "16k", 30000 -> "30s". */
static void format_scaled(enum setting_type type, int64_t v, char *buf, size_t cap)
{
    const struct unit *u = setting_units(type);

    while (v != 0 && u[1].suffix != NULL && v % u->scale != 0)
        u++;
    if (v == 0)
        snprintf(buf, cap, "0");
    else
        snprintf(buf, cap, "%" PRId64 "%s", v / u->scale, u->suffix);
}

static int check_range(const struct moss__setting *s, int64_t v, const char **why)
{
    char lo[32], hi[32];

    if (v >= s->min && v <= s->max)
        return 0;
    format_scaled(s->type, s->min, lo, sizeof(lo));
    format_scaled(s->type, s->max, hi, sizeof(hi));
    snprintf(setting_reason, sizeof(setting_reason), "out of range [%s, %s]", lo, hi);
    *why = setting_reason;
    return -1;
}

static void store_number(struct moss_config *c, const struct moss__setting *s, int64_t v)
{
    char *field = (char *)c + s->offset;

    if (s->width == sizeof(int)) {
        int narrow = (int)v; /* in range: min and max of int fields fit an int */
        memcpy(field, &narrow, sizeof(narrow));
    } else {
        memcpy(field, &v, sizeof(v));
    }
}

/* ---- one parser per type --------------------------------------------------------- */

static int set_number(struct moss_config *c, const struct moss__setting *s, const char *text,
                      const char **why)
{
    int64_t v;

    if (parse_scaled(text, setting_units(s->type), &v) == -1) {
        *why = setting_not_a(s->type);
        return -1;
    }
    if (check_range(s, v, why) == -1)
        return -1;
    store_number(c, s, v);
    return 0;
}

static int set_bool(struct moss_config *c, const struct moss__setting *s, const char *text,
                    const char **why)
{
    if (strcmp(text, "on") != 0 && strcmp(text, "off") != 0) {
        *why = "not on or off";
        return -1;
    }
    store_number(c, s, strcmp(text, "on") == 0);
    return 0;
}

static int set_string(struct moss_config *c, const struct moss__setting *s, const char *text,
                      const char **why)
{
    size_t len = strlen(text);

    if ((int64_t)len > s->max) {
        snprintf(setting_reason, sizeof(setting_reason), "too long (at most %" PRId64 " bytes)",
                 s->max);
        *why = setting_reason;
        return -1;
    }
    memcpy((char *)c + s->offset, text, len + 1);
    return 0;
}

static int set_enum(struct moss_config *c, const struct moss__setting *s, const char *text,
                    const char **why)
{
    size_t used;

    for (int64_t i = 0; s->choices[i] != NULL; i++) {
        if (strcmp(text, s->choices[i]) == 0) {
            store_number(c, s, i);
            return 0;
        }
    }
    used = (size_t)snprintf(setting_reason, sizeof(setting_reason), "not one of");
    for (size_t i = 0; s->choices[i] != NULL && used < sizeof(setting_reason); i++)
        used += (size_t)snprintf(setting_reason + used, sizeof(setting_reason) - used, "%s %s",
                                 i == 0 ? "" : ",", s->choices[i]);
    *why = setting_reason;
    return -1;
}

/* bind: each value adds an address; the first explicit one (bind_set still
 * 0) drops the default first. moss_config_new clears bind_set after
 * applying the default through here. */
static int set_addresses(struct moss_config *c, const struct moss__setting *s, const char *text,
                         const char **why)
{
    if (moss__address_parse(text, NULL, NULL, why) == -1)
        return -1;
    if (!c->bind_set) {
        c->bind_count = 0;
        c->bind_set = 1;
    }
    if ((int64_t)c->bind_count >= s->max) {
        snprintf(setting_reason, sizeof(setting_reason),
                 "too many addresses (at most %" PRId64 ")", s->max);
        *why = setting_reason;
        return -1;
    }
    snprintf(c->bind[c->bind_count++], sizeof(c->bind[0]), "%s", text);
    return 0;
}

/* The next comma-separated item of *text, spaces around it trimmed, into
 * buf; advances *text past it. -1 if it does not fit buf. */
static int next_item(const char **text, char *buf, size_t cap)
{
    const char *start = *text, *end = strchr(start, ',');
    size_t len;

    if (end == NULL)
        end = start + strlen(start);
    *text = *end == ',' ? end + 1 : end;
    while (start < end && isspace((unsigned char)*start))
        start++;
    while (end > start && isspace((unsigned char)end[-1]))
        end--;
    len = (size_t)(end - start);
    if (len >= cap)
        return -1;
    memcpy(buf, start, len);
    buf[len] = '\0';
    return 0;
}

/* proxy_trusted: the whole list is replaced, or nothing changes. "" trusts
 * no one. */
static int set_networks(struct moss_config *c, const struct moss__setting *s, const char *text,
                        const char **why)
{
    struct moss__network nets[MOSS__TRUSTED_MAX];
    char item[INET6_ADDRSTRLEN + 8];
    size_t count = 0;

    while (*text != '\0') {
        if ((int64_t)count >= s->max) {
            snprintf(setting_reason, sizeof(setting_reason),
                     "too many networks (at most %" PRId64 ")", s->max);
            *why = setting_reason;
            return -1;
        }
        if (next_item(&text, item, sizeof(item)) == -1 ||
            moss__network_parse(item, &nets[count++], why) == -1) {
            if (*why == NULL)
                *why = "bad network: want ADDR or ADDR/PREFIX";
            return -1;
        }
    }
    memcpy(c->proxy_trusted, nets, count * sizeof(nets[0]));
    c->proxy_trusted_count = count;
    return 0;
}

/* workers: "auto" (0) or a count in range. */
static int set_auto_int(struct moss_config *c, const struct moss__setting *s, const char *text,
                        const char **why)
{
    if (strcmp(text, "auto") == 0) {
        store_number(c, s, 0);
        return 0;
    }
    if (set_number(c, s, text, why) == 0)
        return 0;
    if (strcmp(*why, setting_not_a(s->type)) == 0)
        *why = "not auto or an integer";
    return -1;
}

/* admin: "off" ("") or one address. */
static int set_optional_address(struct moss_config *c, const struct moss__setting *s,
                                const char *text, const char **why)
{
    if (strcmp(text, "off") == 0)
        text = "";
    else if (moss__address_parse(text, NULL, NULL, why) == -1)
        return -1;
    return set_string(c, s, text, why);
}

/* unix_mode: octal digits only, as chmod takes them. */
static int set_mode(struct moss_config *c, const struct moss__setting *s, const char *text,
                    const char **why)
{
    int64_t v = 0;
    size_t i;

    for (i = 0; text[i] >= '0' && text[i] <= '7' && i < 5; i++)
        v = v * 8 + (text[i] - '0');
    if (i == 0 || text[i] != '\0' || v > s->max) {
        *why = "not an octal file mode (0 to 0777)";
        return -1;
    }
    store_number(c, s, v);
    return 0;
}

typedef int (*setting_parser)(struct moss_config *c, const struct moss__setting *s,
                              const char *text, const char **why);

static const setting_parser setting_parsers[SETTING_TYPES] = {
    [SETTING_BOOL] = set_bool,         [SETTING_INT] = set_number,
    [SETTING_SIZE] = set_number,       [SETTING_DURATION] = set_number,
    [SETTING_STRING] = set_string,     [SETTING_ENUM] = set_enum,
    [SETTING_ADDRESSES] = set_addresses, [SETTING_NETWORKS] = set_networks,
    [SETTING_AUTO_INT] = set_auto_int, [SETTING_OPTIONAL_ADDRESS] = set_optional_address,
    [SETTING_MODE] = set_mode,
};

/* ---- addresses ------------------------------------------------------------------- */

/* Decimal digits only (1 to 5 of them), at most max. */
static int parse_small(const char *text, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; isdigit((unsigned char)text[i]); i++) {
        if (i == 5)
            return -1;
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    if (i == 0 || text[i] != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int address_parse_unix(const char *path, struct sockaddr_storage *addr, socklen_t *len,
                              const char **error)
{
    struct sockaddr_un *un = (struct sockaddr_un *)addr;
    size_t n = strlen(path);

    if (path[0] != '/') {
        *error = "bad address: unix socket path must be absolute (unix:/PATH)";
        errno = EINVAL;
        return -1;
    }
    if (n >= sizeof(un->sun_path)) {
        *error = "bad address: unix socket path too long (at most 107 bytes)";
        errno = EINVAL;
        return -1;
    }
    if (addr != NULL) {
        memset(addr, 0, sizeof(*addr));
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, n + 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/* host (without brackets) and port into *addr as family. */
static int address_fill_ip(int family, const char *host, unsigned port,
                           struct sockaddr_storage *addr, socklen_t *len)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    socklen_t size = family == AF_INET ? sizeof(*in) : sizeof(*in6);

    if (family == AF_INET) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
            return -1;
    } else {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
            return -1;
    }
    if (addr != NULL) {
        *addr = ss;
        *len = size;
    }
    return 0;
}

int moss__address_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len,
                        const char **error)
{
    const char *host = text, *sep;
    char buf[INET6_ADDRSTRLEN];
    int family = AF_INET;
    unsigned port;

    if (strncmp(text, "unix:", 5) == 0)
        return address_parse_unix(text + 5, addr, len, error);
    if (text[0] == '[') {
        family = AF_INET6;
        host = text + 1;
        sep = strchr(host, ']');
        if (sep != NULL && sep[1] != ':')
            sep = NULL;
    } else {
        sep = strrchr(text, ':');
    }
    if (sep == NULL || (size_t)(sep - host) >= sizeof(buf))
        goto bad;
    memcpy(buf, host, (size_t)(sep - host));
    buf[sep - host] = '\0';
    if (parse_small(sep + (family == AF_INET6 ? 2 : 1), 65535, &port) == -1) {
        *error = "bad address: port not in 0 to 65535";
        errno = EINVAL;
        return -1;
    }
    if (address_fill_ip(family, buf, port, addr, len) == 0)
        return 0;
bad:
    *error = "bad address: want IPv4:PORT, [IPv6]:PORT or unix:/PATH";
    errno = EINVAL;
    return -1;
}

static void network_mask(struct moss__network *net)
{
    size_t bytes = net->family == AF_INET ? 4 : 16;

    for (size_t i = 0; i < bytes; i++) {
        unsigned keep = net->prefix > i * 8 ? net->prefix - (unsigned)i * 8 : 0; /* bits */

        if (keep < 8)
            net->addr[i] &= (unsigned char)(0xff00u >> keep);
    }
}

int moss__network_parse(const char *text, struct moss__network *net, const char **error)
{
    const char *slash = strchr(text, '/');
    size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
    char host[INET6_ADDRSTRLEN];
    unsigned max;

    memset(net, 0, sizeof(*net));
    if (len == 0 || len >= sizeof(host))
        goto bad;
    memcpy(host, text, len);
    host[len] = '\0';
    if (inet_pton(AF_INET, host, net->addr) == 1)
        net->family = AF_INET;
    else if (inet_pton(AF_INET6, host, net->addr) == 1)
        net->family = AF_INET6;
    else
        goto bad;
    max = net->family == AF_INET ? 32 : 128;
    net->prefix = max;
    if (slash != NULL && parse_small(slash + 1, max, &net->prefix) == -1) {
        *error = net->family == AF_INET ? "bad CIDR: prefix not in 0 to 32"
                                        : "bad CIDR: prefix not in 0 to 128";
        errno = EINVAL;
        return -1;
    }
    network_mask(net);
    return 0;
bad:
    *error = "bad network: want ADDR or ADDR/PREFIX";
    errno = EINVAL;
    return -1;
}

/* ---- the config ------------------------------------------------------------------ */

static int setting_apply(struct moss_config *c, const struct moss__setting *s, const char *text,
                         const char **why)
{
    *why = NULL;
    return setting_parsers[s->type](c, s, text, why);
}

moss_config_t *moss_config_new(void)
{
    moss_config_t *c = calloc(1, sizeof(*c));
    const char *why;

    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        if (setting_apply(c, &settings[i], settings[i].default_text, &why) == -1) {
            /* a bad default is a bug in the table; the config tests catch it */
            free(c);
            errno = EINVAL;
            return NULL;
        }
    }
    c->bind_set = 0; /* the default bind is not an explicit one */
    return c;
}

void moss_config_free(moss_config_t *config)
{
    free(config);
}

int moss_config_set(moss_config_t *config, const char *key, const char *value,
                    const char **error)
{
    const struct moss__setting *s = key != NULL ? moss__setting_find(key) : NULL;
    const char *why = "unknown setting";

    if (config == NULL || value == NULL)
        why = "no config or no value";
    else if (s != NULL && setting_apply(config, s, value, &why) == 0)
        return 0;
    if (error != NULL)
        *error = why;
    errno = EINVAL;
    return -1;
}

/* ---- help and docs --------------------------------------------------------------- */

static const char *const type_names[SETTING_TYPES] = {
    [SETTING_BOOL] = "bool",       [SETTING_INT] = "integer",
    [SETTING_SIZE] = "size",       [SETTING_DURATION] = "duration",
    [SETTING_STRING] = "string",   [SETTING_ENUM] = "enum",
    [SETTING_ADDRESSES] = "address", [SETTING_NETWORKS] = "networks",
    [SETTING_AUTO_INT] = "integer or auto", [SETTING_OPTIONAL_ADDRESS] = "address or off",
    [SETTING_MODE] = "octal mode",
};

static const char *const metavars[SETTING_TYPES] = {
    [SETTING_BOOL] = "on|off",  [SETTING_INT] = "N",
    [SETTING_SIZE] = "SIZE",    [SETTING_DURATION] = "TIME",
    [SETTING_STRING] = "FILE",  [SETTING_ENUM] = "NAME",
    [SETTING_ADDRESSES] = "ADDR", [SETTING_NETWORKS] = "CIDRS",
    [SETTING_AUTO_INT] = "N|auto", [SETTING_OPTIONAL_ADDRESS] = "ADDR|off",
    [SETTING_MODE] = "MODE",
};

/* The allowed values, as the docs and -h show them. */
static void format_range(const struct moss__setting *s, char *buf, size_t cap)
{
    char lo[32], hi[32];
    size_t used = 0;

    switch (s->type) {
    case SETTING_BOOL:
        snprintf(buf, cap, "on, off");
        break;
    case SETTING_STRING:
    case SETTING_OPTIONAL_ADDRESS:
        snprintf(buf, cap, "up to %" PRId64 " bytes", s->max);
        break;
    case SETTING_MODE:
        snprintf(buf, cap, "0 to 0%" PRIo64, s->max);
        break;
    case SETTING_AUTO_INT:
        snprintf(buf, cap, "auto, %" PRId64 " to %" PRId64, s->min, s->max);
        break;
    case SETTING_ENUM:
        buf[0] = '\0';
        for (size_t i = 0; s->choices[i] != NULL && used < cap; i++)
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", i == 0 ? "" : ", ",
                                     s->choices[i]);
        break;
    case SETTING_ADDRESSES:
    case SETTING_NETWORKS:
        snprintf(buf, cap, "up to %" PRId64 " %s", s->max,
                 s->type == SETTING_ADDRESSES ? "addresses" : "networks");
        break;
    default:
        format_scaled(s->type, s->min, lo, sizeof(lo));
        format_scaled(s->type, s->max, hi, sizeof(hi));
        snprintf(buf, cap, "%s to %s", lo, hi);
    }
}

/* The value's placeholder in -h: an enum lists its choices. */
static void format_metavar(const struct moss__setting *s, char *buf, size_t cap)
{
    size_t used = 0;

    if (s->type != SETTING_ENUM) {
        snprintf(buf, cap, "%s", metavars[s->type]);
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; s->choices[i] != NULL && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i == 0 ? "" : "|",
                                 s->choices[i]);
}

void moss__settings_usage(FILE *out)
{
    char metavar[64], range[96];

    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct moss__setting *s = &settings[i];

        format_metavar(s, metavar, sizeof(metavar));
        format_range(s, range, sizeof(range));
        fprintf(out, "  --%s %s%s\n      %s (default '%s'; %s)\n", s->name, metavar,
                s->repeatable ? " (repeatable)" : "", s->help, s->default_text, range);
    }
}

static const char markdown_head[] =
    "# Settings\n"
    "\n"
    "<!-- Generated by `moss --settings-markdown` from the table in config/settings.c.\n"
    "     A test keeps this file equal to that output: edit the table, then regenerate. -->\n"
    "\n"
    "Every setting is a long command-line flag, `--name VALUE` or `--name=VALUE`\n"
    "(`-b ADDR` is short for `--bind ADDR`), and a key of the configuration file\n"
    "(`-c FILE`, below). A value is checked when it is set: an unknown name, a\n"
    "malformed value or one out of range stops moss with the reason, and moss\n"
    "exits with status 2 (a bad flag) or 1 (a bad file).\n"
    "\n"
    "Value types:\n"
    "\n"
    "- **integer**: decimal digits.\n"
    "- **size**: bytes, with an optional suffix `k`, `m` or `g` (powers of 1024): `16k`.\n"
    "- **duration**: milliseconds, or a number with a suffix `ms`, `s`, `m` or `h`: `30s`.\n"
    "- **bool**: `on` or `off`.\n"
    "- **address**: `IPv4:PORT`, `[IPv6]:PORT` or `unix:/PATH`; port 0 to 65535.\n"
    "- **networks**: comma-separated addresses or CIDR networks: `10.0.0.0/8,::1`.\n"
    "\n"
    "| setting | type | default | range | description |\n"
    "|---|---|---|---|---|\n";

static const char markdown_tail[] =
    "\n"
    "## The configuration file\n"
    "\n"
    "`moss -c FILE` (or `--config FILE`) reads settings from an INI file, one\n"
    "`key = value` a line, the keys being the setting names above. The keys go\n"
    "outside any section or in a single optional `[moss]` section; any other\n"
    "section is an error. Lines starting with `;` or `#` are comments, as is the\n"
    "rest of a line after ` ;`; blanks around keys and values are ignored. `bind`\n"
    "may be given several times: the file's binds replace the default.\n"
    "\n"
    "```ini\n"
    "[moss]\n"
    "bind = 0.0.0.0:8080\n"
    "bind = [::]:8080\n"
    "max_body_size = 8m   ; uploads\n"
    "access_log = /var/log/moss/access.log\n"
    "```\n"
    "\n"
    "Every value is checked as a flag's is. An unknown key, a bad or out-of-range\n"
    "value, a syntax error, a line too long (about 200 bytes, libinih's limit) or a\n"
    "file that cannot be read stops moss with status 1 and the first error as\n"
    "`FILE:LINE: key: reason`; nothing is silently ignored.\n"
    "\n"
    "Flags override the file: `moss -c moss.ini --max_headers 50` takes every\n"
    "setting from the file but `max_headers`. A `bind` among the flags replaces all\n"
    "of the file's binds.\n"
    "\n"
    "`moss -t -c FILE` (`--test`) checks the configuration, the file and the flags,\n"
    "and exits: status 0 with `moss: configuration FILE is ok`, or status 1 with\n"
    "the error.\n";

int moss__settings_markdown(FILE *out)
{
    char range[96];

    fputs(markdown_head, out);
    for (size_t i = 0; i < SETTING_COUNT; i++) {
        const struct moss__setting *s = &settings[i];

        format_range(s, range, sizeof(range));
        fprintf(out, "| `%s` | %s%s | `%s` | %s | %s |\n", s->name, type_names[s->type],
                s->repeatable ? ", repeatable" : "",
                s->default_text[0] != '\0' ? s->default_text : "\"\"", range, s->help);
    }
    fputs(markdown_tail, out);
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
