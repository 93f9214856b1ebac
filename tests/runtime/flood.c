#include "harness.h"
#include "moss.h"

#include <stdint.h>

static unsigned flood_done;

/* arg: how many greenlets this one's subtree holds, itself included. */
static void *flood_link(void *arg)
{
    uintptr_t rest = (uintptr_t)arg - 1;
    uintptr_t half = rest / 2;

    flood_done++;
    if (half > 0)
        TEST_ASSERT(moss_detach(moss_spawn(flood_link, (void *)half)) == 0);
    if (rest - half > 0)
        TEST_ASSERT(moss_detach(moss_spawn(flood_link, (void *)(rest - half))) == 0);
    return NULL;
}

void flood_start(unsigned total)
{
    TEST_ASSERT(moss_detach(moss_spawn(flood_link, (void *)(uintptr_t)total)) == 0);
}

unsigned flood_count(void)
{
    return flood_done;
}

void wait_all_finished(void)
{
    moss_hub_stats_t stats;

    for (int i = 0; i < 100000 && (moss_hub_stats(&stats), stats.greenlets_alive > 0); i++)
        TEST_ASSERT(moss_sleep(1) == 0);
    moss_hub_stats(&stats);
    TEST_ASSERT(stats.greenlets_alive == 0);
}
