/* Where a worker's app comes from: a plugin .so (moss --app FILE.so) or the
 * built-in demo app. */
#ifndef MOSS_WORKER_APP_H
#define MOSS_WORKER_APP_H

#include "moss.h"

#include <stddef.h>
#include <stdint.h>

/* Loads the plugin at path (a name without '/' is taken from the current
 * directory, not searched for like a library), calls its moss_app_init and
 * fills *app. The library stays loaded for the life of the process: the
 * app's code and strings live in it. 0, or -1 with errno and a message
 * naming path in error: ENOENT (no such file), ENOEXEC (not a loadable
 * library, or no moss_app_init symbol), ECANCELED (moss_app_init returned
 * -1), EINVAL (it left app->handle NULL). */
int moss__app_load(const char *path, moss_app_t *app, char *error, size_t error_len);

/* The built-in demo app (moss with no --app):
 *   GET  /                 200 "Hello, World!"
 *   GET  /sleep?ms=N       moss_sleep(N), then 200 (0 <= N <= 600000)
 *   GET  /block?ms=N       blocks the whole worker for N ms (0 <= N <= 60000)
 *   POST /echo             the request body back, streamed
 *   GET  /fetch?url=URL    the body of http://127.0.0.1|localhost|[::1][:PORT]/PATH
 * Unknown paths are 404, other methods 405, bad parameters 400. */
const moss_app_t *moss__demo_app(void);

/* The demo's /block: a busy loop on the real clock that keeps the hub from
 * running anything else for ms milliseconds. Not static and never inlined,
 * so that a backtrace of a stuck worker names it. */
void moss__demo_block(int64_t ms);

#endif
