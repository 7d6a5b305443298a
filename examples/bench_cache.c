/* bench_cache: the lookup cache with single-flight on skewed keys (issue
 * 15). Orders name customers drawn Zipf(1.1) over 1 M customers of a
 * SQLite file; each lookup pays 1 ms of simulated store latency (the SQL
 * calls delay_us(1000), as examples/throughput.c does; every connection
 * gets the function through sqlite3_auto_extension, so the adapter opens
 * by URI like any program's). Runs the SQLite adapter through the operator
 * (unordered) without and with cache=100000 (10 % of the keys), from a
 * cold cache, and prints queries per record, records/s and the hit ratio,
 * checking every record got its own customer. Targets:
 *   with the cache >= 5 x fewer queries per record and >= 4 x records/s.
 * Usage: bench_cache [--quick] [--dir DIR] [--records N] [--threads T]  */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "adapter.h"
#include "sqlite/sqlite.h"
#include "common.h"
#include "sqlite_common.h"

#define ROWS 1000000

/* delay_us(n) (sqlite_common.h) on every connection SQLite opens. */
static int add_delay(sqlite3 *db, char **err, const void *api)
{
    (void)err; (void)api;
    return add_delay_us(db);
}

/* customers(id, name): name is "customer-<id>". Built once under dir. */
static int build_db(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT max(id) FROM customers", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == ROWS) {
        sqlite3_finalize(st);
        sqlite3_close(db);
        return 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    fprintf(stderr, "building %s (%d customers) ... ", path, ROWS);
    if (sqlite3_open(tmp, &db) != SQLITE_OK) return -1;
    char sql[400];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"
             "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)"
             " INSERT INTO customers SELECT i, 'customer-' || i FROM s; COMMIT;", ROWS);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    if (rc != SQLITE_OK || rename(tmp, path) != 0) {
        fprintf(stderr, "failed\n");
        return -1;
    }
    fprintf(stderr, "done\n");
    return 0;
}

/* Zipf(s) over 1..n by the inverse of its cumulative distribution. */
typedef struct zipf { double *cdf; long n; uint64_t state; } zipf;

static int zipf_init(zipf *z, long n, double s, uint64_t seed)
{
    z->cdf = malloc((size_t)n * sizeof *z->cdf);
    if (!z->cdf) return -1;
    double sum = 0;
    for (long k = 1; k <= n; k++) z->cdf[k - 1] = (sum += pow((double)k, -s));
    for (long k = 0; k < n; k++) z->cdf[k] /= sum;
    z->n = n;
    z->state = seed;
    return 0;
}

static long zipf_next(zipf *z)
{
    z->state = z->state * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(z->state >> 11) / 9007199254740992.0;
    long lo = 0, hi = z->n - 1;
    while (lo < hi) {
        long mid = (lo + hi) / 2;
        if (z->cdf[mid] < u) lo = mid + 1; else hi = mid;
    }
    /* spread the popular ranks over the id space: id = rank * a mod n + 1 */
    return (long)(((uint64_t)lo * 7919u) % (uint64_t)z->n) + 1;
}

/* ------------------------------------------------------ the lookup */

/* order and bind_order: sqlite_common.h. */

static int row_customer(void *ctx, void *input, const aw_row *r, void **out)
{
    (void)ctx; (void)input;
    long *id = malloc(sizeof *id);
    if (!id) return AW_ENOMEM;
    char want[32];
    *id = (long)aw_row_int64(r, 0);
    snprintf(want, sizeof want, "customer-%ld", *id);
    size_t len;
    const char *name = aw_row_text(r, 1, &len);
    if (!name || len != strlen(want) || memcmp(name, want, len)) *id = -1;
    *out = id;
    return 0;
}

typedef struct tally { long emitted, bad; } tally;

static void on_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    (void)ts;
    tally *t = ctx;
    const order *o = input;
    if (n != 1 || *(long *)res[0] != o->customer) t->bad++;
    for (size_t i = 0; i < n; i++) free(res[i]);
    t->emitted++;
}

static void on_error(void *ctx, void *input, int err, const char *msg)
{
    (void)input; (void)err;
    tally *t = ctx;
    if (!t->bad++) fprintf(stderr, "bench_cache: %s\n", msg);
}

typedef struct result {
    double rate, qpr, hit;            /* the whole run */
    double rate2, qpr2, hit2;         /* its second half: the cache warm */
    long n;
    bool ok;
} result;

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0; }

static result run(const char *db, size_t threads, long cache, const order *orders, long n)
{
    result r = { .n = n };
    char uri[700], err[256];
    snprintf(uri, sizeof uri, "sqlite:%s?threads=%zu&cache=%ld", db, threads, cache);
    aw_lookup l = { .sql = "SELECT id, name FROM customers WHERE id = ? AND delay_us(1000)",
                    .bind = bind_order, .row = row_customer, .free_result = free_customer };
    aw_adapter *a;
    if (aw_adapter_open(&a, uri, &l, err, sizeof err)) {
        fprintf(stderr, "bench_cache: %s\n", err);
        return r;
    }
    tally t = { 0 };
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = threads * 4, .spin_us = -1 };
    aw_sink sink = { .ctx = &t, .emit = on_emit, .error = on_error };
    aw_op *op;
    if (aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err)) {
        fprintf(stderr, "bench_cache: %s\n", err);
        aw_adapter_close(a);
        return r;
    }
    double t0 = now_s(), tm = t0;
    aw_adapter_stats m = { 0 }, s;
    for (long i = 0; i < n; i++) {
        if (i == n / 2) {
            tm = now_s();
            aw_adapter_stats_get(a, &m);
        }
        if (aw_op_push(op, (void *)&orders[i], 0) != 0) { t.bad++; break; }
    }
    if (aw_op_drain(op) != 0) t.bad++;
    double t1 = now_s(), dt = t1 - t0;
    aw_adapter_stats_get(a, &s);
    long n2 = n - n / 2;
    r.rate2 = (double)n2 / (t1 - tm);
    r.qpr2 = (double)(s.queries - m.queries) / (double)n2;
    r.hit2 = ratio(s.cache_hits - m.cache_hits,
                   s.cache_hits - m.cache_hits + s.cache_misses - m.cache_misses);
    aw_op_free(op);
    aw_adapter_close(a);
    r.rate = (double)n / dt;
    r.qpr = (double)s.queries / (double)n;
    r.hit = ratio(s.cache_hits, s.cache_hits + s.cache_misses);
    r.ok = t.bad == 0 && t.emitted == n;
    return r;
}

int main(int argc, char **argv)
{
    const char *dir = "build/bench";
    long n = 400000, n_nocache = 40000;
    size_t threads = 16;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) { n = 150000; n_nocache = 15000; }
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--records") && i + 1 < argc) n = atol(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_cache [--quick] [--dir DIR] [--records N] [--threads T]\n");
            return 2;
        }
    }
    mkdir(dir, 0777);
    char db[512];
    snprintf(db, sizeof db, "%s/customers_1m.db", dir);
    if (build_db(db) || sqlite3_auto_extension((void (*)(void))add_delay) != SQLITE_OK) return 1;
    zipf z;
    order *orders = malloc((size_t)n * sizeof *orders);
    if (!orders || zipf_init(&z, ROWS, 1.1, 42)) return 1;
    for (long i = 0; i < n; i++) orders[i] = (order){ i, zipf_next(&z) };
    free(z.cdf);

    printf("lookup cache: Zipf(1.1) keys over %d customers, 1 ms per lookup, SQLite adapter "
           "threads=%zu, unordered, capacity %zu\n\n", ROWS, threads, threads * 4);
    printf("%-22s %10s %12s %14s %10s %s\n", "run", "records", "records/s", "queries/rec",
           "hit ratio", "check");
    /* Without the cache every record is one query whatever its key, so a
     * shorter stream measures its rate (the first n_nocache orders). */
    result off = run(db, threads, 0, orders, n_nocache < n ? n_nocache : n);
    printf("%-22s %10ld %12.0f %14.3f %10s %s\n", "no cache", off.n, off.rate, off.qpr, "-",
           off.ok ? "ok" : "FAIL");
    result on = run(db, threads, 100000, orders, n);
    printf("%-22s %10ld %12.0f %14.3f %9.1f%% %s\n", "cache=100000 (cold)", on.n, on.rate, on.qpr,
           100 * on.hit, on.ok ? "ok" : "FAIL");
    printf("%-22s %10ld %12.0f %14.3f %9.1f%% %s\n", "  its second half", on.n - on.n / 2, on.rate2,
           on.qpr2, 100 * on.hit2, on.ok ? "ok" : "FAIL");
    double fewer = on.qpr > 0 ? off.qpr / on.qpr : 0, faster = off.rate > 0 ? on.rate / off.rate : 0;
    printf("\nwhole run, from a cold cache:\n");
    printf("  queries per record, no cache / cache: %.1f x (target >= 5: %s)\n", fewer,
           fewer >= 5 ? "met" : "missed");
    printf("  records/s, cache / no cache:          %.1f x (target >= 4: %s)\n", faster,
           faster >= 4 ? "met" : "missed");
    double fewer2 = on.qpr2 > 0 ? off.qpr / on.qpr2 : 0, faster2 = off.rate > 0 ? on.rate2 / off.rate : 0;
    printf("second half (warm):\n");
    printf("  queries per record, no cache / cache: %.1f x (target >= 5: %s)\n", fewer2,
           fewer2 >= 5 ? "met" : "missed");
    printf("  records/s, cache / no cache:          %.1f x (target >= 4: %s)\n", faster2,
           faster2 >= 4 ? "met" : "missed");
    free(orders);
    return off.ok && on.ok ? 0 : 1;
}
