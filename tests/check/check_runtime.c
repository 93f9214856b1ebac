/* Runs the runtime case tables under Check, one Check test per case. Check
 * forks per test (unless CK_FORK=no), so a failing case cannot spoil the
 * next one. */
#include "harness.h"

#include <check.h>
#include <stdlib.h>

/* A flat view of every case, indexed by Check's loop counter. */
static const struct moss_test_case *check_cases[512];

void moss_test_fail(const char *expr, const char *file, int line)
{
    ck_abort_msg("%s:%d: assertion failed: %s", file, line, expr);
    abort(); /* not reached: ck_abort_msg does not return */
}

static void check_run_case(int index)
{
    check_cases[index]->run();
}

/* One TCase per table; each case is a loop test whose index picks it out of
 * check_cases. */
static TCase *check_tcase(const struct moss_test_table *table)
{
    static TTest tests[512];
    static int n;
    TCase *tcase = tcase_create(table->name);

    tcase_set_timeout(tcase, 120); /* room for valgrind; a hang still ends */
    for (const struct moss_test_case *c = table->cases; c->name != NULL; c++) {
        if (n == 512)
            ck_abort_msg("more than 512 cases: raise the bound");
        check_cases[n] = c;
        tests[n] = (TTest){.name = c->name, .fn = check_run_case, .file = __FILE__, .line = 0};
        tcase_add_loop_test(tcase, &tests[n], n, n + 1);
        n++;
    }
    return tcase;
}

static Suite *check_runtime_suite(void)
{
    Suite *suite = suite_create("runtime");

    for (const struct moss_test_table *t = moss_test_core_tables; t->name != NULL; t++)
        suite_add_tcase(suite, check_tcase(t));
    for (const struct moss_test_table *t = moss_test_hub_tables; t->name != NULL; t++)
        suite_add_tcase(suite, check_tcase(t));
    for (const struct moss_test_table *t = moss_test_worker_tables; t->name != NULL; t++)
        suite_add_tcase(suite, check_tcase(t));
    for (const struct moss_test_table *t = moss_test_master_tables; t->name != NULL; t++)
        suite_add_tcase(suite, check_tcase(t));
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(check_runtime_suite());
    int failed;

    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
