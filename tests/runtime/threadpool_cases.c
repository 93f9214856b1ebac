#include "harness.h"

const struct moss_test_case moss_test_threadpool_cases[] = {
    {NULL, NULL},
};
