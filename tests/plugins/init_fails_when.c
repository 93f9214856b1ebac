/* A plugin app for the reload tests, whose start the test steers with files:
 *   - while the file named by $MOSS_TEST_INIT_WAIT_FILE exists, init waits
 *     (polling, at most INIT_WAIT_MAX_MS): a new generation held at the
 *     readiness gate for as long as the test wants;
 *   - if the file named by $MOSS_TEST_INIT_FAIL_FILE exists, init then fails
 *     with errno EIO: a worker that cannot start;
 *   - otherwise it serves 200 "plugin ok" on GET /.
 * Init runs in each worker after fork, so a file created after the master
 * started decides the fate of the next generation only. */
#include "moss.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INIT_WAIT_STEP_MS 10
#define INIT_WAIT_MAX_MS 60000   /* a test that forgot its file does not hang a worker */

int moss_app_init(moss_app_t *app);

/* Whether the file named by the environment variable var exists. */
static int when_exists(const char *var)
{
    const char *path = getenv(var);

    return path != NULL && path[0] != '\0' && access(path, F_OK) == 0;
}

static void when_wait(void)
{
    struct timespec step = {.tv_sec = 0, .tv_nsec = INIT_WAIT_STEP_MS * 1000000L};

    for (int waited = 0; waited < INIT_WAIT_MAX_MS && when_exists("MOSS_TEST_INIT_WAIT_FILE");
         waited += INIT_WAIT_STEP_MS)
        nanosleep(&step, NULL);
}

static int when_init(void **app_data)
{
    (void)app_data;
    when_wait();
    if (when_exists("MOSS_TEST_INIT_FAIL_FILE")) {
        errno = EIO;
        return -1;
    }
    return 0;
}

static int when_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    (void)app_data;
    if (strcmp(moss_request_path(req), "/") != 0)
        return moss_response_send(res, 404, "text/plain", "not found\n", 10);
    return moss_response_send(res, 200, "text/plain", "plugin ok", 9);
}

int moss_app_init(moss_app_t *app)
{
    app->name = "init_fails_when";
    app->handle = when_handle;
    app->init = when_init;
    return 0;
}
