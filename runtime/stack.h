/* Greenlet stacks: anonymous mappings with a guard region below, handed out
 * from a bounded per-thread cache.
 *
 * Every greenlet owns a dedicated stack today. The shared-stack mode of
 * python-greenlet ("stack slicing": greenlets that take turns on one stack,
 * with the live slice [saved sp, stack top) of the suspended one copied to
 * the heap) fits behind the same interface: a stack then names a shared
 * region plus a heap slice, and the copy runs in a small trampoline context
 * switched through between the two greenlets, which is the only place that
 * knows both the saved sp of the leaving greenlet and the slice of the
 * arriving one. Neither the public API nor arch/ changes for that. */
#ifndef MOSS_RUNTIME_STACK_H
#define MOSS_RUNTIME_STACK_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of guard below every stack. More than one page, so that a frame of
 * a few KiB cannot step over the guard into the neighbouring stack. */
#define MOSS__STACK_GUARD (16u * 1024u)
#define MOSS__STACK_SIZE_MIN (16u * 1024u)
#define MOSS__STACK_SIZE_MAX ((size_t)1 << 30)
#define MOSS__STACK_SIZE_DEFAULT (128u * 1024u)
#define MOSS__STACK_CACHE_DEFAULT 128u
#define MOSS__STACK_CACHE_MAX 65536u

struct moss__stack {
    char *map;           /* start of the mapping: the guard, then the stack */
    size_t size;         /* usable bytes above the guard */
    unsigned valgrind_id;
};

struct moss__stack_cached;

/* A thread's cache of unused stacks, all of size `size`. */
struct moss__stack_cache {
    struct moss__stack_cached *head;
    size_t count;
    size_t limit;
    size_t size;         /* the stack size the cache holds, rounded to pages */
    uint64_t mapped;     /* stacks of this thread mapped now, cached or not */
    uint64_t hits;
};

void moss__stack_cache_init(struct moss__stack_cache *cache);

/* Unmaps cached stacks until at most `keep` remain. */
void moss__stack_cache_trim(struct moss__stack_cache *cache, size_t keep);

/* How guards are installed in this process: "guard-region" (madvise, no VMA
 * per guard) or "mprotect" (two VMAs per stack). Decided once, by a probe. */
const char *moss__stack_guard_method(void);

/* Rounds a requested stack size to whole pages. Returns 0 if out of range. */
size_t moss__stack_round(size_t size);

/* Gets a stack of `size` usable bytes (already rounded), from the cache when
 * it holds that size. Returns 0, or -1 with errno ENOMEM. */
int moss__stack_acquire(struct moss__stack_cache *cache, size_t size,
                        struct moss__stack *stack);

/* Returns a stack to the cache, or unmaps it when the cache is full or holds
 * another size. */
void moss__stack_release(struct moss__stack_cache *cache, struct moss__stack *stack);

static inline char *moss__stack_top(const struct moss__stack *stack)
{
    return stack->map + MOSS__STACK_GUARD + stack->size;
}

static inline char *moss__stack_low(const struct moss__stack *stack)
{
    return stack->map + MOSS__STACK_GUARD;
}

static inline int moss__stack_guard_contains(const struct moss__stack *stack,
                                             const void *addr)
{
    uintptr_t a = (uintptr_t)addr, lo = (uintptr_t)stack->map;

    return stack->map != NULL && a >= lo && a < lo + MOSS__STACK_GUARD;
}

#endif
