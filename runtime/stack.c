/* Stack mappings, guards and the per-thread stack cache. */
#include "stack.h"

#include "sanitizer.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

/* Linux 6.13 guard regions: pages that fault like PROT_NONE but live in the
 * page tables, not as a VMA of their own. With mprotect every guarded stack
 * costs two VMAs, and vm.max_map_count (65530 by default) would cap a process
 * near 32,000 greenlets. */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static pthread_once_t stack_guard_once = PTHREAD_ONCE_INIT;
static int stack_guard_madvise; /* guard regions verified to fault here */

/* madvise is advice: an emulator (qemu-user) or an old kernel may accept or
 * refuse MADV_GUARD_INSTALL without guarding anything. So trust it only once
 * a read of a guarded page fails with EFAULT while the page above reads
 * fine; otherwise use mprotect, which every environment enforces. */
static void stack_guard_probe(void)
{
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char byte;
    struct iovec local = {&byte, 1}, guard = {map, 1}, above = {map + page, 1};

    if (map == MAP_FAILED)
        return;
    if (madvise(map, (size_t)page, MADV_GUARD_INSTALL) == 0 &&
        process_vm_readv(getpid(), &local, 1, &guard, 1, 0) == -1 && errno == EFAULT &&
        process_vm_readv(getpid(), &local, 1, &above, 1, 0) == 1)
        stack_guard_madvise = 1;
    munmap(map, 2 * (size_t)page);
}

const char *moss__stack_guard_method(void)
{
    pthread_once(&stack_guard_once, stack_guard_probe);
    return stack_guard_madvise ? "guard-region" : "mprotect";
}

/* A cached stack keeps its bookkeeping in its own top bytes, so the cache
 * allocates nothing. */
struct moss__stack_cached {
    struct moss__stack_cached *next;
    struct moss__stack stack;
};

static size_t stack_page_size(void)
{
    static size_t page;

    if (page == 0)
        page = (size_t)sysconf(_SC_PAGESIZE);
    return page;
}

size_t moss__stack_round(size_t size)
{
    size_t page = stack_page_size();

    if (size < MOSS__STACK_SIZE_MIN || size > MOSS__STACK_SIZE_MAX)
        return 0;
    return (size + page - 1) & ~(page - 1);
}

void moss__stack_cache_init(struct moss__stack_cache *cache)
{
    cache->head = NULL;
    cache->count = 0;
    cache->limit = MOSS__STACK_CACHE_DEFAULT;
    cache->size = MOSS__STACK_SIZE_DEFAULT;
    cache->mapped = 0;
    cache->hits = 0;
}

static int stack_guard(char *map)
{
    pthread_once(&stack_guard_once, stack_guard_probe);
    if (stack_guard_madvise)
        return madvise(map, MOSS__STACK_GUARD, MADV_GUARD_INSTALL);
    return mprotect(map, MOSS__STACK_GUARD, PROT_NONE);
}

static int stack_map(size_t size, struct moss__stack *stack)
{
    size_t len = size + MOSS__STACK_GUARD;
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

    if (map == MAP_FAILED)
        return -1;
    if (stack_guard(map) == -1) {
        int err = errno;

        munmap(map, len);
        errno = err == EAGAIN ? ENOMEM : err;
        return -1;
    }
    stack->map = map;
    stack->size = size;
    stack->valgrind_id = VALGRIND_STACK_REGISTER(map + MOSS__STACK_GUARD, map + len);
    return 0;
}

static void stack_unmap(struct moss__stack *stack)
{
    VALGRIND_STACK_DEREGISTER(stack->valgrind_id);
    munmap(stack->map, stack->size + MOSS__STACK_GUARD);
    stack->map = NULL;
}

int moss__stack_acquire(struct moss__stack_cache *cache, size_t size,
                        struct moss__stack *stack)
{
    struct moss__stack_cached *cached = cache->head;

    if (cached != NULL && size == cache->size) {
        cache->head = cached->next;
        cache->count--;
        cache->hits++;
        *stack = cached->stack;
        return 0;
    }
    if (stack_map(size, stack) == -1) {
        errno = ENOMEM;
        return -1;
    }
    cache->mapped++;
    return 0;
}

void moss__stack_release(struct moss__stack_cache *cache, struct moss__stack *stack)
{
    struct moss__stack_cached *cached;

    if (stack->map == NULL)
        return;
    if (cache->count >= cache->limit || stack->size != cache->size) {
        stack_unmap(stack);
        cache->mapped--;
        return;
    }
    moss__san_stack_reuse(moss__stack_low(stack), stack->size);
    cached = (struct moss__stack_cached *)(moss__stack_top(stack) - sizeof(*cached));
    cached->stack = *stack;
    cached->next = cache->head;
    cache->head = cached;
    cache->count++;
    stack->map = NULL;
}

void moss__stack_cache_trim(struct moss__stack_cache *cache, size_t keep)
{
    while (cache->count > keep) {
        struct moss__stack_cached *cached = cache->head;
        struct moss__stack stack = cached->stack;

        cache->head = cached->next;
        cache->count--;
        stack_unmap(&stack);
        cache->mapped--;
    }
}
