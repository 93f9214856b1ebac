#include "harness.h"

const struct moss_test_case moss_test_example_cases[] = {
    {NULL, NULL},
};
