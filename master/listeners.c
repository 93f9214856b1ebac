/* The master's listeners. Three sources, in this order:
 *   1. sockets passed in by LISTEN_FDS (systemd socket activation, or the
 *      old master of a SIGUSR2 upgrade), matched to bind addresses by name
 *      (the bind text, "#N" added for slot N's reuse_port socket) or by the
 *      address they are bound to;
 *   2. every bind address none of them provides, bound here;
 *   3. with reuse_port, one SO_REUSEPORT socket per worker slot and TCP
 *      address, bound when the slot first forks and kept across generations,
 *      so that connections queued on a slot's socket wait for its next
 *      worker instead of being lost with the old one.
 * With inherited sockets and no explicit bind, the default bind is not
 * added: the sockets are what the service manager meant. */
#include "os.h"
#include "supervise.h"

#include "../config/settings.h"
#include "../worker/listener.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNIX_PREFIX "unix:"
#define NAME_LEN MOSS__LISTENER_NAME_MAX /* a bind text (unix paths fit 107 bytes), "#N" */

/* Sockets passed in, before they are matched; on the heap (128 KiB). */
struct inherited {
    int fds[MOSS__LISTEN_FDS_MAX];
    char names[MOSS__LISTEN_FDS_MAX][NAME_LEN];
    size_t count;
};

static int listener_is_unix(const char *address)
{
    return strncmp(address, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0;
}

/* The address a socket is bound to, as moss__address_format writes it. */
static void listener_bound_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        snprintf(out, cap, "fd %d", fd);
    else
        moss__address_format((struct sockaddr *)&ss, len, out, cap);
}

/* A bind text in canonical form ("[::1]:80" whatever the spelling). */
static void listener_canonical(const char *bind, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len;
    const char *why;

    if (moss__address_parse(bind, &ss, &len, &why) == -1)
        snprintf(out, cap, "%s", bind);
    else
        moss__address_format((struct sockaddr *)&ss, len, out, cap);
}

/* Takes the inherited socket named name (or, when by_address, bound to
 * that address): its fd, or -1. */
static int inherited_take(struct inherited *in, const char *name, int by_address)
{
    char bound[MOSS__ADDRESS_MAX];

    for (size_t i = 0; i < in->count; i++) {
        if (in->fds[i] == -1)
            continue;
        if (by_address)
            listener_bound_name(in->fds[i], bound, sizeof(bound));
        if (strcmp(by_address ? bound : in->names[i], name) == 0) {
            int fd = in->fds[i];

            in->fds[i] = -1;
            return fd;
        }
    }
    return -1;
}

/* The name an upgrade passes a listener's socket under (supervise.h).
 * LISTEN_FDNAMES separates names with ':', which addresses are full of, so
 * ':' is written "%3A" (and '%' "%25"); both sides use this function, so
 * the names only ever need comparing, never decoding. */
void moss__master_listener_name(const struct moss__master_listener *l, int slot, char *out,
                                size_t cap)
{
    const char *base = l->configured[0] != '\0' ? l->configured : l->address;
    size_t used = 0;

    for (; *base != '\0' && used + 4 < cap; base++) {
        if (*base == ':' || *base == '%')
            used += (size_t)snprintf(out + used, cap - used, "%%%02X", (unsigned char)*base);
        else
            out[used++] = *base;
    }
    out[used] = '\0';
    if (slot >= 0)
        snprintf(out + used, cap - used, "#%d", slot);
}

static int listener_bind(const struct moss__master *m, const char *address, int reuse_port,
                         struct moss__listener *out, char *error, size_t error_len)
{
    struct moss__bind_opts opts = {.backlog = m->config->backlog, .reuse_port = reuse_port,
                                   .unix_mode = m->config->unix_mode};

    return moss__listener_bind_opts(address, &opts, out, error, error_len);
}

/* A reuse_port listener's slot sockets that were passed in. */
static void listener_take_slots(struct moss__master *m, size_t index, struct inherited *in)
{
    char name[NAME_LEN];

    for (int s = 0; s < MOSS__WORKERS_MAX; s++) {
        moss__master_listener_name(&m->listeners[index], s, name, sizeof(name));
        m->slots[s].fds[index] = inherited_take(in, name, 0);
    }
}

/* One bind address: from an inherited socket, or bound now. With
 * reuse_port (TCP), slot 0's socket is bound now, to learn the port. */
static int listener_open_bind(struct moss__master *m, const char *bind, struct inherited *in,
                              char *error, size_t error_len)
{
    struct moss__master_listener *l = &m->listeners[m->listener_count];
    char canonical[MOSS__ADDRESS_MAX], name[NAME_LEN];
    struct moss__listener bound;

    snprintf(l->configured, sizeof(l->configured), "%s", bind);
    l->backlog = m->config->backlog;
    l->reuse_port = m->config->reuse_port && !listener_is_unix(bind);
    moss__master_listener_name(l, -1, name, sizeof(name));
    l->fd = l->reuse_port ? -1 : inherited_take(in, name, 0);
    listener_canonical(bind, canonical, sizeof(canonical));
    if (l->fd == -1 && !l->reuse_port)
        l->fd = inherited_take(in, canonical, 1);
    l->inherited = l->fd != -1;
    if (l->reuse_port)
        listener_take_slots(m, m->listener_count, in);
    if (l->fd != -1 || (l->reuse_port && m->slots[0].fds[m->listener_count] != -1)) {
        int fd = l->fd != -1 ? l->fd : m->slots[0].fds[m->listener_count];

        listener_bound_name(fd, l->address, sizeof(l->address));
        m->listener_count++;
        return 0;
    }
    if (listener_bind(m, bind, l->reuse_port, &bound, error, error_len) == -1)
        return -1;
    snprintf(l->address, sizeof(l->address), "%s", bound.address);
    l->unix_owned = listener_is_unix(bind);
    if (l->reuse_port)
        m->slots[0].fds[m->listener_count] = bound.fd;
    else
        l->fd = bound.fd;
    m->listener_count++;
    return 0;
}

/* Inherited sockets no bind asked for: served as they are. */
static int listener_open_rest(struct moss__master *m, struct inherited *in, char *error,
                              size_t error_len)
{
    for (size_t i = 0; i < in->count; i++) {
        struct moss__master_listener *l;

        if (in->fds[i] == -1 || strcmp(in->names[i], "admin") == 0)
            continue;
        if (m->listener_count == MOSS__BIND_MAX) {
            snprintf(error, error_len, "LISTEN_FDS: more than %d listeners", MOSS__BIND_MAX);
            errno = E2BIG;
            return -1;
        }
        l = &m->listeners[m->listener_count++];
        l->fd = in->fds[i];
        l->inherited = 1;
        l->backlog = m->config->backlog;
        listener_bound_name(l->fd, l->address, sizeof(l->address));
        in->fds[i] = -1;
    }
    return 0;
}

/* Inherited sockets nobody took: after an upgrade these are listeners the
 * new config dropped, closed; from systemd they are served. */
static int listener_settle_rest(struct moss__master *m, struct inherited *in, char *error,
                                size_t error_len)
{
    for (size_t i = 0; i < in->count; i++) {
        if (in->fds[i] != -1 && strcmp(in->names[i], "admin") == 0) {
            m->admin_inherited_fd = in->fds[i];
            in->fds[i] = -1;
        } else if (in->fds[i] != -1 && m->upgrade_fd != -1) {
            close(in->fds[i]);
            in->fds[i] = -1;
        }
    }
    return listener_open_rest(m, in, error, error_len);
}

static int listener_open_all(struct moss__master *m, struct inherited *in, char *error,
                             size_t error_len)
{
    const moss_config_t *config = m->config;

    if (moss__listen_fds_take(in->fds, &in->names[0][0], NAME_LEN, MOSS__LISTEN_FDS_MAX,
                              &in->count, error, error_len) == -1)
        return -1;
    for (size_t i = 0; i < config->bind_count; i++) {
        if (in->count > 0 && !config->bind_set)
            break; /* the default bind gives way to the sockets passed in */
        if (listener_open_bind(m, config->bind[i], in, error, error_len) == -1)
            return -1;
    }
    return listener_settle_rest(m, in, error, error_len);
}

int moss__master_listeners_open(struct moss__master *m, char *error, size_t error_len)
{
    struct inherited *in = calloc(1, sizeof(*in));
    int rc, err;

    if (in == NULL) {
        snprintf(error, error_len, "listeners: %s", strerror(errno));
        return -1;
    }
    rc = listener_open_all(m, in, error, error_len);
    err = errno;
    for (size_t i = 0; i < in->count; i++)
        if (in->fds[i] != -1)
            close(in->fds[i]);
    free(in);
    if (rc == -1)
        moss__master_listeners_close(m);
    errno = err;
    return rc;
}

int moss__master_slot_listeners(struct moss__master *m, unsigned slot,
                                struct moss__listener *out, char *error, size_t error_len)
{
    for (size_t i = 0; i < m->listener_count; i++) {
        struct moss__master_listener *l = &m->listeners[i];
        int *fd = l->reuse_port ? &m->slots[slot].fds[i] : &l->fd;

        if (*fd == -1) {
            struct moss__listener bound;

            if (listener_bind(m, l->address, 1, &bound, error, error_len) == -1)
                return -1;
            *fd = bound.fd;
        }
        out[i].fd = *fd;
        out[i].proxy_protocol = m->config->proxy_protocol;
        snprintf(out[i].address, sizeof(out[i].address), "%s", l->address);
    }
    return (int)m->listener_count;
}

void moss__master_slot_close(struct moss__master *m, unsigned slot)
{
    for (size_t i = 0; i < MOSS__BIND_MAX; i++) {
        if (m->slots[slot].fds[i] != -1)
            close(m->slots[slot].fds[i]);
        m->slots[slot].fds[i] = -1;
    }
}

void moss__master_listeners_forget(struct moss__master *m, unsigned slot)
{
    for (unsigned s = 0; s < MOSS__WORKERS_MAX; s++)
        if (s != slot)
            moss__master_slot_close(m, s);
    if (m->admin_inherited_fd != -1)
        close(m->admin_inherited_fd);
    m->admin_inherited_fd = -1;
}

void moss__master_listeners_close(struct moss__master *m)
{
    for (size_t i = 0; i < m->listener_count; i++) {
        struct moss__master_listener *l = &m->listeners[i];

        if (l->fd != -1)
            close(l->fd);
        l->fd = -1;
        if (l->unix_owned && !m->handed_over)
            unlink(l->address + strlen(UNIX_PREFIX));
    }
    for (unsigned s = 0; s < MOSS__WORKERS_MAX; s++)
        moss__master_slot_close(m, s);
    m->listener_count = 0;
}

static int config_binds_equal(const moss_config_t *a, const moss_config_t *b)
{
    if (a->bind_count != b->bind_count || a->bind_set != b->bind_set)
        return 0;
    for (size_t i = 0; i < a->bind_count; i++)
        if (strcmp(a->bind[i], b->bind[i]) != 0)
            return 0;
    return 1;
}

const char *moss__master_restart_setting(const moss_config_t *a, const moss_config_t *b)
{
    if (!config_binds_equal(a, b))
        return "bind";
    if (a->backlog != b->backlog)
        return "backlog";
    if (a->reuse_port != b->reuse_port)
        return "reuse_port";
    if (a->unix_mode != b->unix_mode)
        return "unix_mode";
    if (strcmp(a->admin, b->admin) != 0)
        return "admin";
    if (strcmp(a->user, b->user) != 0 || strcmp(a->group, b->group) != 0)
        return "user";
    if (strcmp(a->pid_file, b->pid_file) != 0)
        return "pid";
    if (strcmp(a->error_log, b->error_log) != 0)
        return "error_log";
    return NULL;
}
