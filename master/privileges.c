/* Dropping root after binding: the user's and group's ids from the name
 * service, then the supplementary groups, the gid and the uid, in that order
 * (once the uid is dropped, the groups can no longer be changed). */
#include "os.h"
#include "../worker/error.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PRIV_BUFFER_START 1024
#define PRIV_BUFFER_MAX (1024 * 1024) /* a group with very many members */

/* The lookups report "not found" as 0 with no result, or, depending on the
 * name service module, as one of these. */
static int priv_not_found(int rc)
{
    return rc == 0 || rc == ENOENT || rc == ESRCH;
}

/* user's uid and primary gid. The buffer grows on ERANGE, up to a bound. */
static int priv_user(const char *user, uid_t *uid, gid_t *gid, char *error, size_t error_len)
{
    struct passwd pw, *found = NULL;
    size_t size = PRIV_BUFFER_START;
    char *buffer = NULL;
    int rc;

    do {
        char *grown = realloc(buffer, size);

        if (grown == NULL) {
            free(buffer);
            return moss__syscall_fail(error, error_len, "getpwnam_r", user);
        }
        buffer = grown;
        rc = getpwnam_r(user, &pw, buffer, size, &found);
        size *= 2;
    } while (rc == ERANGE && size <= PRIV_BUFFER_MAX);
    if (found != NULL) {
        *uid = pw.pw_uid;
        *gid = pw.pw_gid;
    }
    free(buffer);
    if (found != NULL)
        return 0;
    if (priv_not_found(rc))
        return moss__fail(error, error_len, ENOENT, "getpwnam_r(%s): no such user", user);
    errno = rc;
    return moss__syscall_fail(error, error_len, "getpwnam_r", user);
}

static int priv_group(const char *group, gid_t *gid, char *error, size_t error_len)
{
    struct group gr, *found = NULL;
    size_t size = PRIV_BUFFER_START;
    char *buffer = NULL;
    int rc;

    do {
        char *grown = realloc(buffer, size);

        if (grown == NULL) {
            free(buffer);
            return moss__syscall_fail(error, error_len, "getgrnam_r", group);
        }
        buffer = grown;
        rc = getgrnam_r(group, &gr, buffer, size, &found);
        size *= 2;
    } while (rc == ERANGE && size <= PRIV_BUFFER_MAX);
    if (found != NULL)
        *gid = gr.gr_gid;
    free(buffer);
    if (found != NULL)
        return 0;
    if (priv_not_found(rc))
        return moss__fail(error, error_len, ENOENT, "getgrnam_r(%s): no such group", group);
    errno = rc;
    return moss__syscall_fail(error, error_len, "getgrnam_r", group);
}

/* The ids to switch to: group "" means the user's primary group. */
static int priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
                       char *error, size_t error_len)
{
    if (priv_user(user, uid, gid, error, error_len) == -1)
        return -1;
    if (group != NULL && group[0] != '\0')
        return priv_group(group, gid, error, error_len);
    return 0;
}

int moss__privileges_check(const char *user, const char *group, char *error, size_t error_len)
{
    uid_t uid;
    gid_t gid;

    if (user != NULL && user[0] != '\0' && priv_user(user, &uid, &gid, error, error_len) == -1)
        return -1;
    if (group != NULL && group[0] != '\0' && priv_group(group, &gid, error, error_len) == -1)
        return -1;
    return 0;
}

/* Real, effective and saved ids all change (setgid and setuid do that as
 * root), so the process can never regain root. */
int moss__privileges_drop(const char *user, const char *group, char *error, size_t error_len)
{
    uid_t uid;
    gid_t gid;

    if (user == NULL || user[0] == '\0')
        return 0;
    if (priv_lookup(user, group, &uid, &gid, error, error_len) == -1)
        return -1;
    if (getuid() == uid && geteuid() == uid && getgid() == gid && getegid() == gid)
        return 0;
    if (geteuid() != 0)
        return moss__fail(error, error_len, EPERM, "setuid(%s): %s (moss runs as uid %ld, "
                         "not root)", user, strerror(EPERM), (long)geteuid());
    if (initgroups(user, gid) == -1)
        return moss__syscall_fail(error, error_len, "initgroups", user);
    if (setgid(gid) == -1)
        return moss__syscall_fail(error, error_len, "setgid", group != NULL && group[0] != '\0'
                                 ? group : user);
    if (setuid(uid) == -1)
        return moss__syscall_fail(error, error_len, "setuid", user);
    return 0;
}
