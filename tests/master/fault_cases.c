#include "harness.h"

const struct moss_test_case moss_test_fault_cases[] = {
    {NULL, NULL},
};
