/* AsyncResult: one value or error for every getter, set once, and the
 * get's deadline. */
#include "harness.h"
#include "moss.h"
#include "sync_cases.h"

#include <errno.h>
#include <string.h>

/* ---- AsyncResult -------------------------------------------------------------- */

static void *result_getter(void *arg)
{
    struct outcome *o = arg;

    o->rc = moss_async_result_get(sync_result, &o->value, MOSS_FOREVER);
    o->err = errno;
    step(o->name);
    return NULL;
}

/* Spawns three getters, lets them park, and returns their outcomes. */
static void result_spawn_getters(struct outcome o[3], moss_greenlet_t *g[3])
{
    for (int i = 0; i < 3; i++) {
        o[i] = (struct outcome){.name = (char)('a' + i), .rc = 1};
        g[i] = moss_spawn(result_getter, &o[i]);
    }
    sync_settle();
    TEST_ASSERT(trail.len == 0);
}

void sync_case_async_result_value_to_many(void)
{
    struct outcome o[3];
    moss_greenlet_t *g[3];
    void *value = NULL;

    TEST_ASSERT((sync_result = moss_async_result_new()) != NULL);
    result_spawn_getters(o, g);
    TEST_ASSERT(moss_async_result_free(sync_result) == -1 && errno == EBUSY);
    TEST_ASSERT(!moss_async_result_ready(sync_result));
    TEST_ASSERT(moss_async_result_set(sync_result, (void *)0x42) == 0);
    TEST_ASSERT(moss_async_result_ready(sync_result));
    TEST_ASSERT(moss_async_result_set(sync_result, (void *)0x43) == -1 && errno == EALREADY);
    TEST_ASSERT(moss_async_result_set_error(sync_result, EIO) == -1 && errno == EALREADY);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == 0 && o[i].value == (void *)0x42);
    }
    TEST_ASSERT(strcmp(trail.steps, "abc") == 0);
    TEST_ASSERT(moss_async_result_get(sync_result, &value, moss_now() - 1) == 0); /* at once */
    TEST_ASSERT(value == (void *)0x42);
    TEST_ASSERT(moss_async_result_get(sync_result, NULL, MOSS_FOREVER) == 0);
    TEST_ASSERT(moss_async_result_free(sync_result) == 0);
}

void sync_case_async_result_error(void)
{
    struct outcome o[3];
    moss_greenlet_t *g[3];
    void *value = (void *)1;

    TEST_ASSERT((sync_result = moss_async_result_new()) != NULL);
    result_spawn_getters(o, g);
    TEST_ASSERT(moss_async_result_set_error(sync_result, 0) == -1 && errno == EINVAL);
    TEST_ASSERT(!moss_async_result_ready(sync_result));
    TEST_ASSERT(moss_async_result_set_error(sync_result, ECONNRESET) == 0);
    for (int i = 0; i < 3; i++) {
        TEST_ASSERT(moss_join(g[i], MOSS_FOREVER, NULL) == 0);
        TEST_ASSERT(o[i].rc == -1 && o[i].err == ECONNRESET);
    }
    TEST_ASSERT(moss_async_result_get(sync_result, &value, MOSS_FOREVER) == -1 &&
                errno == ECONNRESET);
    TEST_ASSERT(value == (void *)1); /* untouched on failure */
    TEST_ASSERT(moss_async_result_set(sync_result, NULL) == -1 && errno == EALREADY);
    TEST_ASSERT(moss_async_result_free(sync_result) == 0);
    TEST_ASSERT(moss_async_result_set(NULL, NULL) == -1 && errno == EINVAL);
}

static void *result_set_later(void *arg)
{
    TEST_ASSERT(moss_sleep(10) == 0);
    TEST_ASSERT(moss_async_result_set(sync_result, arg) == 0);
    return NULL;
}

void sync_case_async_result_get_deadline(void)
{
    int64_t start = moss_now();
    moss_greenlet_t *g;
    void *value = NULL;

    TEST_ASSERT((sync_result = moss_async_result_new()) != NULL);
    sync_assert_timed_out(moss_async_result_get(sync_result, &value, start + 30), start, 30);
    TEST_ASSERT(value == NULL && !moss_async_result_ready(sync_result));
    g = moss_spawn(result_set_later, (void *)0x77);
    TEST_ASSERT(moss_async_result_get(sync_result, &value, moss_now() + 5000) == 0);
    TEST_ASSERT(value == (void *)0x77);
    TEST_ASSERT(moss_join(g, MOSS_FOREVER, NULL) == 0);
    TEST_ASSERT(moss_async_result_free(sync_result) == 0);
}
