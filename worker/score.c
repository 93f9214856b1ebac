/* The scoreboard entry's clock (score.h). */
#include "score.h"

#include <string.h>
#include <time.h>

int64_t moss__score_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const int64_t moss__block_bucket_ms[MOSS__BLOCK_BUCKETS - 1] = {100,  250,  500,  1000,
                                                                 2500, 5000, 10000};

#define SEQLOCK_TRIES 64

static void score_last_write(struct moss__blocked *b, const struct moss__block_report *r)
{
    uint32_t seq = atomic_load_explicit(&b->seq, memory_order_relaxed);

    atomic_store_explicit(&b->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(&b->last, r, sizeof(*r));
    atomic_store_explicit(&b->seq, seq + 2, memory_order_release);
}

static void score_block_ended(struct moss__blocked *b, int64_t ms)
{
    size_t i = 0;

    while (i < MOSS__BLOCK_BUCKETS - 1 && ms > moss__block_bucket_ms[i])
        i++;
    moss__counter_add(&b->buckets[i], 1);
    moss__counter_add(&b->sum_ms, (uint64_t)ms);
    if ((uint64_t)ms > atomic_load_explicit(&b->max_ms, memory_order_relaxed))
        atomic_store_explicit(&b->max_ms, (uint64_t)ms, memory_order_relaxed);
}

void moss__score_block_report(struct moss__score *score, const struct moss__block_report *r)
{
    struct moss__blocked *b = &score->blocked;

    if (r->ongoing || r->late)
        moss__counter_add(&b->count, 1);
    if (!r->ongoing)
        score_block_ended(b, r->ms);
    score_last_write(b, r);
}

static void score_last_terminate(struct moss__block_report *r)
{
    r->name[sizeof(r->name) - 1] = '\0';
    r->request[sizeof(r->request) - 1] = '\0';
    if (r->frame_count > MOSS__BLOCK_FRAMES)
        r->frame_count = MOSS__BLOCK_FRAMES;
    for (size_t i = 0; i < MOSS__BLOCK_FRAMES; i++)
        r->frames[i][MOSS__BLOCK_FRAME_LEN - 1] = '\0';
}

void moss__score_block_update(struct moss__score *score, const struct moss__block_report *r)
{
    score_last_write(&score->blocked, r);
}

int moss__score_block_last(const struct moss__score *score, struct moss__block_report *out)
{
    const struct moss__blocked *b = &score->blocked;

    if (atomic_load_explicit(&b->count, memory_order_relaxed) == 0)
        return -1;
    for (int i = 0; i < SEQLOCK_TRIES; i++) {
        uint32_t before = atomic_load_explicit(&b->seq, memory_order_acquire);

        if (before & 1)
            continue;
        memcpy(out, &b->last, sizeof(*out));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&b->seq, memory_order_relaxed) != before)
            continue;
        score_last_terminate(out); /* written by another process: trust no length */
        return 0;
    }
    return -1;
}
