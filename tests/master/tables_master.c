#include "harness.h"

const struct moss_test_table moss_test_master_tables[] = {
    {"master_os", moss_test_master_os_cases},
    {"admin", moss_test_admin_cases},
    {"master", moss_test_master_cases},
    {"master_reload", moss_test_master_reload_cases},
    {"watchdog_server", moss_test_watchdog_server_cases},
    {"park", moss_test_park_cases},
    {"fault", moss_test_fault_cases},
    {"haproxy", moss_test_haproxy_cases},
    {NULL, NULL},
};
