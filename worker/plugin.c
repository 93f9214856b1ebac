/* Plugin apps: a shared library exporting moss_app_init (MOSS_APP_INIT_SYMBOL).
 * It is loaded with RTLD_NOW so a missing symbol fails here, at start, and
 * not in the middle of a request; with RTLD_LOCAL so two plugins' own
 * symbols cannot collide. The moss_* calls it makes resolve against the
 * moss binary, which exports them. */
#include "app.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* dlopen, reporting dlerror's reason (which names the file and says why). */
static void *plugin_open(const char *path, char *error, size_t error_len)
{
    char local[4096];
    const char *name = path;
    struct stat st;
    void *handle;

    if (strchr(path, '/') == NULL) { /* "app.so" means ./app.so, as on a command line */
        snprintf(local, sizeof(local), "./%s", path);
        name = local;
    }
    handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();

        snprintf(error, error_len, "%s", why != NULL ? why : path);
        errno = stat(name, &st) == -1 ? ENOENT : ENOEXEC;
    }
    return handle;
}

int moss__app_load(const char *path, moss_app_t *app, char *error, size_t error_len)
{
    moss_app_init_fn init;
    void *handle, *symbol;
    int err;

    memset(app, 0, sizeof(*app));
    handle = plugin_open(path, error, error_len);
    if (handle == NULL)
        return -1;
    dlerror();
    symbol = dlsym(handle, MOSS_APP_INIT_SYMBOL);
    if (symbol == NULL) {
        snprintf(error, error_len, "%s: no %s symbol", path, MOSS_APP_INIT_SYMBOL);
        err = ENOEXEC;
        goto fail;
    }
    memcpy(&init, &symbol, sizeof(init)); /* object to function pointer, as dlsym(3) advises */
    if (init(app) == -1) {
        snprintf(error, error_len, "%s: %s failed", path, MOSS_APP_INIT_SYMBOL);
        err = ECANCELED;
        goto fail;
    }
    if (app->handle == NULL) {
        snprintf(error, error_len, "%s: %s set no handler (app->handle is NULL)", path,
                 MOSS_APP_INIT_SYMBOL);
        err = EINVAL;
        goto fail;
    }
    if (app->name == NULL)
        app->name = path;
    return 0; /* the handle stays open: the app lives as long as the process */
fail:
    memset(app, 0, sizeof(*app));
    dlclose(handle);
    errno = err;
    return -1;
}
