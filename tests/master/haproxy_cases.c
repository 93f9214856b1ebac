#include "harness.h"

const struct moss_test_case moss_test_haproxy_cases[] = {
    {NULL, NULL},
};
