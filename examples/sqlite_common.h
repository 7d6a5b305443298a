/* sqlite_common.h: what the SQLite examples (throughput, bench_cache)
 * share, header-only: the order record they enrich and its bind callback,
 * free() as the results' free_result, and the simulated store latency --
 * the SQL function delay_us(n), which sleeps n microseconds inside the
 * lookup, paid like a real round trip. add_delay_us() registers it on one
 * connection (call it from each worker's connection hook). */
#ifndef AW_EXAMPLES_SQLITE_COMMON_H
#define AW_EXAMPLES_SQLITE_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <time.h>
#include "lookup.h"

/* An order names its customer; the lookup binds the customer's id. */
typedef struct order { int64_t id, customer; } order;

static inline int bind_order(void *ctx, void *input, aw_params *p)
{
    (void)ctx;
    return aw_params_int64(p, 0, ((const order *)input)->customer);
}

/* aw_lookup.free_result / aw_sink.release for malloc'd results. */
static inline void free_customer(void *ctx, void *r) { (void)ctx; free(r); }

static inline void delay_us(sqlite3_context *c, int argc, sqlite3_value **v)
{
    (void)argc;
    long us = (long)sqlite3_value_int64(v[0]);
    struct timespec t = { us / 1000000, (us % 1000000) * 1000 };
    while (clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &t) == EINTR) { }
    sqlite3_result_int(c, 1);
}

/* Registers delay_us on db and sets this thread's timer slack to 1 ns
 * (sleep 1 ms, not 1 ms + 50 us of slack). Returns SQLite's code. */
static inline int add_delay_us(sqlite3 *db)
{
    prctl(PR_SET_TIMERSLACK, 1UL);
    return sqlite3_create_function(db, "delay_us", 1, SQLITE_UTF8, NULL, delay_us, NULL, NULL);
}

#endif
