#include "harness.h"

const struct moss_test_case moss_test_sync_cases[] = {
    {NULL, NULL},
};
