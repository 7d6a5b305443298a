/* Test helpers: assertions that print both values, a fake clock, and a
 * recording sink. Nothing here uses assert(), which NDEBUG would remove. */
#ifndef AW_TEST_H
#define AW_TEST_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>
#include <pthread.h>
#include <time.h>
#include "asyncwait.h"

#define AW__FAIL(...) do {                                                   \
        char aw__m[1024];                                                     \
        snprintf(aw__m, sizeof aw__m, __VA_ARGS__);                          \
        CU_assertImplementation(CU_FALSE, __LINE__, aw__m, __FILE__, "", CU_FALSE); \
    } while (0)

#define ASSERT_EQ(a, b) do {                                                 \
        long long aw__a = (long long)(a), aw__b = (long long)(b);            \
        if (aw__a != aw__b) AW__FAIL("%s == %s: %lld != %lld", #a, #b, aw__a, aw__b); \
        else CU_PASS(#a " == " #b);                                          \
    } while (0)

#define ASSERT_TRUE(c) do {                                                  \
        if (!(c)) AW__FAIL("expected true: %s", #c); else CU_PASS(#c);      \
    } while (0)

#define ASSERT_STR_CONTAINS(hay, needle) do {                                \
        const char *aw__h = (hay), *aw__n = (needle);                        \
        if (!aw__h || !strstr(aw__h, aw__n))                                 \
            AW__FAIL("%s contains \"%.200s\": got \"%.400s\"", #hay, aw__n, aw__h ? aw__h : "(null)"); \
        else CU_PASS(#hay " contains " #needle);                             \
    } while (0)

/* A clock tests move by hand. */
typedef struct fake_clock { _Atomic int64_t now; } fake_clock;
int64_t fake_clock_now(void *ctx);
static inline aw_clock fake_clock_of(fake_clock *c) { aw_clock k = { c, fake_clock_now }; return k; }

/* One thing that left the operator, in order. */
typedef struct rec_event {
    char kind;          /* 'e' emit, 'w' watermark, 'x' error, 'd' discard */
    intptr_t input;     /* inputs are small integers cast to pointers */
    int64_t ts;
    int err;
    size_t n;
    intptr_t first;     /* first result, or -1 */
    char msg[96];
} rec_event;

/* A sink that records every event; results are heap intptr_t boxes or
 * small integers (when boxes == 0). */
typedef struct rec_sink {
    rec_event *ev;
    size_t len, cap;
    size_t released;
    int boxes;          /* results are malloc'd: free them on emit/release */
} rec_sink;

void rec_sink_init(rec_sink *s, size_t cap);
void rec_sink_fini(rec_sink *s);
aw_sink rec_sink_of(rec_sink *s, int with_error, int with_discard);
size_t rec_count(const rec_sink *s, char kind);

/* The CLOCK_REALTIME time secs seconds from now: the deadline of a
 * pthread_cond_timedwait loop (tests wait on conditions, never by sleeping). */
struct timespec deadline_in(int secs);

#endif
