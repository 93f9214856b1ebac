#include "harness.h"

const struct moss_test_table moss_test_core_tables[] = {
    {"greenlet", moss_test_greenlet_cases},
    {"stack", moss_test_stack_cases},
    {NULL, NULL},
};
