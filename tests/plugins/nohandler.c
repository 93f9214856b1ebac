/* A plugin whose moss_app_init succeeds but sets no handler: loading it
 * must fail and say so. It calls no moss function. */
#include "moss.h"

int moss_app_init(moss_app_t *app);

int moss_app_init(moss_app_t *app)
{
    app->name = "nohandler";
    return 0;
}
