/* Runs the runtime case tables under Check, one Check test per case. Check
 * forks per test (unless CK_FORK=no), so a failing case cannot spoil the
 * next one. */
#include "harness.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

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

/* MOSS_TEST_TABLES="a,b": only those tables (a variant build that changes
 * one layer need not run the whole suite again); unset: all. */
static int check_table_wanted(const char *name)
{
    const char *p = getenv("MOSS_TEST_TABLES");
    size_t len = strlen(name);

    if (p == NULL)
        return 1;
    while (p != NULL) {
        if (strncmp(p, name, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return 1;
        p = strchr(p, ',');
        p = p != NULL ? p + 1 : NULL;
    }
    return 0;
}

static void check_add_tables(Suite *suite, const struct moss_test_table *tables)
{
    for (const struct moss_test_table *t = tables; t->name != NULL; t++)
        if (check_table_wanted(t->name))
            suite_add_tcase(suite, check_tcase(t));
}

static Suite *check_runtime_suite(void)
{
    Suite *suite = suite_create("runtime");

    check_add_tables(suite, moss_test_core_tables);
    check_add_tables(suite, moss_test_hub_tables);
    check_add_tables(suite, moss_test_worker_tables);
    check_add_tables(suite, moss_test_master_tables);
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
