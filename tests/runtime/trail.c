#include "harness.h"

struct moss_test_trail trail;

void step(char c)
{
    TEST_ASSERT(trail.len < sizeof(trail.steps) - 1);
    trail.steps[trail.len++] = c;
    trail.steps[trail.len] = '\0';
}
