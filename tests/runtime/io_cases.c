#include "harness.h"

const struct moss_test_case moss_test_io_cases[] = {
    {NULL, NULL},
};
