/* common.h: the clocks every example measures with, header-only so that
 * an example needing nothing more stays one .c file. now_s() is wall time (monotonic), cpu_s()
 * the CPU time of this whole process (all its threads, user + system),
 * cpu_of(RUSAGE_CHILDREN) that of its waited-for children, rusage_s() the
 * seconds in one struct rusage (as wait4 fills it). All in seconds; any
 * thread may call them. cmp_double is qsort's comparison for an array of
 * doubles (latencies, to read percentiles off). */
#ifndef AW_EXAMPLES_COMMON_H
#define AW_EXAMPLES_COMMON_H

#include <sys/resource.h>
#include <time.h>

static inline double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline double rusage_s(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 +
           (double)u->ru_stime.tv_sec + (double)u->ru_stime.tv_usec / 1e6;
}

/* who: RUSAGE_SELF or RUSAGE_CHILDREN. */
static inline double cpu_of(int who)
{
    struct rusage u;
    getrusage(who, &u);
    return rusage_s(&u);
}

static inline double cpu_s(void) { return cpu_of(RUSAGE_SELF); }

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
