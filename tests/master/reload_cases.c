#include "harness.h"

const struct moss_test_case moss_test_master_reload_cases[] = {
    {NULL, NULL},
};
