#include "harness.h"

const struct moss_test_table moss_test_hub_tables[] = {
    {"hub", moss_test_hub_cases},
    {"handoff", moss_test_hub_handoff_cases},
    {"io", moss_test_io_cases},
    {"sync", moss_test_sync_cases},
    {"threadpool", moss_test_threadpool_cases},
    {"example", moss_test_example_cases},
    {"watchdog", moss_test_watchdog_cases},
    {NULL, NULL},
};
