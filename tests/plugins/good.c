/* A plugin app for the plugin-loading tests: answers "plugin ok" on GET /. */
#include "moss.h"

#include <string.h>

int moss_app_init(moss_app_t *app);

static int good_handle(moss_request_t *req, moss_response_t *res, void *app_data)
{
    (void)app_data;
    if (strcmp(moss_request_path(req), "/") != 0)
        return moss_response_send(res, 404, "text/plain", "not found\n", 10);
    return moss_response_send(res, 200, "text/plain", "plugin ok", 9);
}

int moss_app_init(moss_app_t *app)
{
    app->name = "good";
    app->handle = good_handle;
    return 0;
}
