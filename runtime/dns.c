/* moss_getaddrinfo: name resolution that does not block the hub.
 *
 * The choice: getaddrinfo(3) itself, run on the hub's thread pool. It
 * honours nsswitch.conf, /etc/hosts, resolv.conf and every NSS module exactly
 * as the rest of the system does, at the price of one pool thread per lookup
 * in flight (lookups also queue behind other pool work, and a slow DNS server
 * ties up a thread for its whole timeout). c-ares driven by the loop would
 * need no threads, but it re-implements resolution policy: no NSS modules
 * (mdns, systemd-resolved, LDAP, ...), its own reading of hosts and
 * resolv.conf, so a name could resolve differently in moss than in every
 * other program on the machine.
 *
 * The request is one heap block (copies of node, service and hints, then the
 * lookup's result) that the pool owns once the call fails: a caller that
 * gives up leaves it behind, and the pool frees it, result and all
 * (freeaddrinfo), when the lookup ends. */
#include "moss.h"
#include "threadpool.h"

#include <errno.h>
#include <netdb.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

struct dns_request {
    const char *node, *service;      /* into names[], or NULL */
    struct addrinfo hints;           /* the four fields getaddrinfo reads */
    int has_hints;
    int rc;                          /* getaddrinfo's return */
    int err;                         /* its errno, when rc is EAI_SYSTEM */
    struct addrinfo *res;            /* its result, when rc is 0 */
    char names[];
};

/* Copies s (NULL stays NULL) to *cursor and moves the cursor past it. */
static const char *dns_copy(char **cursor, const char *s, size_t size)
{
    char *copy = *cursor;

    if (s == NULL)
        return NULL;
    memcpy(copy, s, size);
    *cursor += size;
    return copy;
}

static struct dns_request *dns_request_new(const char *node, const char *service,
                                           const struct addrinfo *hints)
{
    size_t node_size = node != NULL ? strlen(node) + 1 : 0;
    size_t service_size = service != NULL ? strlen(service) + 1 : 0;
    struct dns_request *req = calloc(1, sizeof(*req) + node_size + service_size);
    char *cursor;

    if (req == NULL)
        return NULL;
    cursor = req->names;
    req->node = dns_copy(&cursor, node, node_size);
    req->service = dns_copy(&cursor, service, service_size);
    if (hints != NULL) {
        req->hints.ai_flags = hints->ai_flags;
        req->hints.ai_family = hints->ai_family;
        req->hints.ai_socktype = hints->ai_socktype;
        req->hints.ai_protocol = hints->ai_protocol;
        req->has_hints = 1;
    }
    return req;
}

/* On a pool thread. Afterwards the thread keeps no resolver state
 * (res_nclose on its _res): a long-lived pool holds no sockets to name
 * servers between lookups, the next lookup reads the configuration as it is
 * then, and nothing is left that memory checkers report as lost when the
 * process exits with the pool threads still alive. */
static void *dns_resolve(void *arg)
{
    struct dns_request *req = arg;

    req->rc = getaddrinfo(req->node, req->service, req->has_hints ? &req->hints : NULL,
                          &req->res);
    req->err = req->rc == EAI_SYSTEM ? errno : 0;
    res_nclose(&_res);
    return req;
}

/* Frees a request nobody will take: given up, or never submitted. */
static void dns_drop(void *arg, void *result)
{
    struct dns_request *req = arg;

    (void)result; /* req itself */
    if (req->rc == 0 && req->res != NULL)
        freeaddrinfo(req->res);
    free(req);
}

int moss_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res, int64_t deadline)
{
    struct dns_request *req;
    int rc;

    if (res == NULL) {
        errno = EINVAL;
        return EAI_SYSTEM;
    }
    *res = NULL;
    req = dns_request_new(node, service, hints);
    if (req == NULL)
        return EAI_MEMORY;
    if (moss__threadpool_call(dns_resolve, req, dns_drop, NULL, deadline) == -1)
        return EAI_SYSTEM; /* errno says why; the pool frees req */
    rc = req->rc;
    if (rc == 0)
        *res = req->res;
    else if (rc == EAI_SYSTEM)
        errno = req->err;
    free(req);
    return rc;
}
