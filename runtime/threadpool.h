/* The thread pool's internal interface, for the runtime's own users of it
 * (runtime/dns.c). */
#ifndef MOSS_RUNTIME_THREADPOOL_H
#define MOSS_RUNTIME_THREADPOOL_H

#include <stdint.h>

/* Runs fn(arg) (fn not NULL) on the pool and waits for it, as
 * moss_threadpool_run does. With a drop function, arg is the pool's from the
 * call on whenever the call fails: drop(arg, result) frees it (result NULL if
 * fn never ran), at once if the job was never submitted, on the hub when the
 * job ends otherwise; the caller frees arg only after a return of 0. */
int moss__threadpool_call(void *(*fn)(void *arg), void *arg,
                          void (*drop)(void *arg, void *result), void **result,
                          int64_t deadline);

#endif
