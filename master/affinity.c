/* Pinning workers to CPUs. Slots map onto the CPUs the master may run on
 * (its affinity mask, which taskset, cgroups' cpusets or systemd's
 * CPUAffinity= may have narrowed), not onto CPU numbers 0..n-1. */
#include "os.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AFFINITY_CPUS_START 1024   /* glibc's cpu_set_t */
#define AFFINITY_CPUS_MAX (1 << 22) /* the kernel's NR_CPUS ceiling */

/* The calling process's mask, in a set the caller frees with CPU_FREE;
 * *size is its size in bytes. The kernel refuses (EINVAL) a set smaller
 * than its own CPU count, so the set grows until it fits. */
static cpu_set_t *affinity_mask(size_t *size)
{
    for (int cpus = AFFINITY_CPUS_START; cpus <= AFFINITY_CPUS_MAX; cpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(cpus);
        int err;

        if (set == NULL)
            return NULL;
        *size = CPU_ALLOC_SIZE(cpus);
        if (sched_getaffinity(0, *size, set) == 0)
            return set;
        err = errno;
        CPU_FREE(set);
        errno = err;
        if (err != EINVAL)
            return NULL;
    }
    return NULL;
}

int moss__affinity_cpu_for_slot(unsigned slot)
{
    size_t size;
    cpu_set_t *set = affinity_mask(&size);
    int n, target, cpu;

    if (set == NULL)
        return -1;
    n = CPU_COUNT_S(size, set);
    if (n == 0) {
        CPU_FREE(set);
        errno = EINVAL;
        return -1;
    }
    target = (int)(slot % (unsigned)n);
    for (cpu = 0; (size_t)cpu < size * 8; cpu++) {
        if (CPU_ISSET_S((size_t)cpu, size, set) && target-- == 0)
            break;
    }
    CPU_FREE(set);
    return cpu;
}

/* "sched_setaffinity(cpu N): strerror(err)", with errno err. */
static int affinity_fail(char *error, size_t error_len, int cpu, int err)
{
    if (error != NULL && error_len > 0)
        snprintf(error, error_len, "sched_setaffinity(cpu %d): %s", cpu, strerror(err));
    errno = err;
    return -1;
}

/* Only the calling thread is pinned (sched_setaffinity(0)): call it in a
 * worker before it starts threads, which then inherit the mask. */
int moss__affinity_pin(int cpu, char *error, size_t error_len)
{
    cpu_set_t *set;
    size_t size;
    int err;

    if (cpu < 0 || cpu >= AFFINITY_CPUS_MAX)
        return affinity_fail(error, error_len, cpu, EINVAL);
    set = CPU_ALLOC(cpu + 1);
    if (set == NULL)
        return affinity_fail(error, error_len, cpu, ENOMEM);
    size = CPU_ALLOC_SIZE(cpu + 1);
    CPU_ZERO_S(size, set);
    CPU_SET_S((size_t)cpu, size, set);
    err = sched_setaffinity(0, size, set) == -1 ? errno : 0;
    CPU_FREE(set);
    if (err != 0)
        return affinity_fail(error, error_len, cpu, err);
    return 0;
}

unsigned moss__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1U : (unsigned)n;
}
