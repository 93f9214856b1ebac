/* Fiber annotations for AddressSanitizer and ThreadSanitizer.
 *
 * Both sanitizers track one stack per thread; a greenlet switch moves the
 * thread to another stack behind their back. These hooks tell them, so that
 * sanitized test runs report real bugs rather than every switch. In normal
 * builds every hook is an empty inline function. */
#ifndef MOSS_RUNTIME_SANITIZER_H
#define MOSS_RUNTIME_SANITIZER_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOSS__SAN_ADDRESS 1
#endif
#if __has_feature(thread_sanitizer)
#define MOSS__SAN_THREAD 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MOSS__SAN_ADDRESS 1
#endif
#if defined(__SANITIZE_THREAD__)
#define MOSS__SAN_THREAD 1
#endif

/* Per-greenlet sanitizer state. */
struct moss__san_fiber {
    void *asan_fake_stack;   /* ASan's fake stack of the suspended greenlet */
    const void *stack_low;   /* NULL for a main greenlet until ASan tells us */
    size_t stack_size;
    void *tsan_fiber;
};

#if defined(MOSS__SAN_ADDRESS)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

static inline void moss__san_before_switch(struct moss__san_fiber *from,
                                           const struct moss__san_fiber *to,
                                           int from_is_dying)
{
    __sanitizer_start_switch_fiber(from_is_dying ? NULL : &from->asan_fake_stack,
                                   to->stack_low, to->stack_size);
}

static inline void moss__san_after_switch(struct moss__san_fiber *self,
                                          struct moss__san_fiber *origin)
{
    const void *low;
    size_t size;

    __sanitizer_finish_switch_fiber(self->asan_fake_stack, &low, &size);
    if (origin->stack_low == NULL) {
        origin->stack_low = low;
        origin->stack_size = size;
    }
}

/* A dead greenlet's bottom frames never returned, so their redzones are
 * still poisoned; clear them before the stack is reused. */
static inline void moss__san_stack_reuse(void *low, size_t size)
{
    ASAN_UNPOISON_MEMORY_REGION(low, size);
}
#else
static inline void moss__san_before_switch(struct moss__san_fiber *from,
                                           const struct moss__san_fiber *to,
                                           int from_is_dying)
{
    (void)from, (void)to, (void)from_is_dying;
}

static inline void moss__san_after_switch(struct moss__san_fiber *self,
                                          struct moss__san_fiber *origin)
{
    (void)self, (void)origin;
}

static inline void moss__san_stack_reuse(void *low, size_t size)
{
    (void)low, (void)size;
}
#endif

#if defined(MOSS__SAN_THREAD)
#include <sanitizer/tsan_interface.h>

static inline void moss__san_fiber_main(struct moss__san_fiber *fiber)
{
    fiber->tsan_fiber = __tsan_get_current_fiber();
}

static inline void moss__san_fiber_create(struct moss__san_fiber *fiber)
{
    fiber->tsan_fiber = __tsan_create_fiber(0);
}

static inline void moss__san_fiber_destroy(struct moss__san_fiber *fiber)
{
    __tsan_destroy_fiber(fiber->tsan_fiber);
}

/* Must be the last thing before the switch itself. */
static inline void moss__san_fiber_switch(const struct moss__san_fiber *to)
{
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
}
#else
static inline void moss__san_fiber_main(struct moss__san_fiber *fiber) { (void)fiber; }
static inline void moss__san_fiber_create(struct moss__san_fiber *fiber) { (void)fiber; }
static inline void moss__san_fiber_destroy(struct moss__san_fiber *fiber) { (void)fiber; }
static inline void moss__san_fiber_switch(const struct moss__san_fiber *to) { (void)to; }
#endif

#endif
