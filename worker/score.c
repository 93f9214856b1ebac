/* The scoreboard entry's clock (score.h). */
#include "score.h"

#include <time.h>

int64_t moss__score_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
