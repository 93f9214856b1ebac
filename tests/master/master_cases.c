#include "harness.h"
#include "master_cases.h"

const struct moss_test_case moss_test_master_cases[] = {
    {"default_workers_cpus", case_default_workers_cpus},
    {NULL, NULL},
};
