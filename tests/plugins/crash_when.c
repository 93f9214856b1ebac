/* A plugin app for the supervision tests: a worker that cannot start while
 * the file named by $MOSS_TEST_CRASH_FILE exists (its init fails with EIO,
 * so the worker exits at once), and otherwise serves 200 "crash_when ok" on
 * GET /. Init runs in each worker after fork: a file created after the
 * master started fails every respawn from then on, a crash loop, until the
 * test removes it. */
#include "moss.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int moss_app_init(moss_app_t *app);

static int crash_init(void **app_data)
{
    const char *path = getenv("MOSS_TEST_CRASH_FILE");

    (void)app_data;
    if (path != NULL && path[0] != '\0' && access(path, F_OK) == 0) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static int crash_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    (void)app_data;
    if (strcmp(moss_request_path(req), "/") != 0)
        return moss_response_send(res, 404, "text/plain", "not found\n", 10);
    return moss_response_send(res, 200, "text/plain", "crash_when ok", 13);
}

int moss_app_init(moss_app_t *app)
{
    app->name = "crash_when";
    app->handle = crash_handle;
    app->init = crash_init;
    return 0;
}
