#include "harness.h"

const struct moss_test_case *const moss_test_tables[] = {
    moss_test_greenlet_cases,
    moss_test_stack_cases,
    NULL,
};
