#include "harness.h"

const struct moss_test_table moss_test_worker_tables[] = {
    {"config", moss_test_config_cases},
    {"config_file", moss_test_config_file_cases},
    {"http", moss_test_http_cases},
    {"stream", moss_test_stream_cases},
    {"server", moss_test_server_cases},
    {"fuzz_regression", moss_test_fuzz_regression_cases},
    {NULL, NULL},
};
