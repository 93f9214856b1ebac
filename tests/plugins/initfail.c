/* A plugin whose moss_app_init refuses to start: loading it must fail and
 * say so. It calls no moss function, so it loads into any process. */
#include "moss.h"

int moss_app_init(moss_app_t *app);

int moss_app_init(moss_app_t *app)
{
    (void)app;
    return -1;
}
