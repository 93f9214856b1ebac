#include "moss.h"

const char *moss_version(void)
{
    return MOSS_VERSION;
}
