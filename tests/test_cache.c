/* The lookup cache and single-flight (adapters/cache.c) on a real SQLite
 * file the suite builds. The lookup's SQL calls gate(id), an SQL function
 * every connection gets (sqlite3_auto_extension): it counts its calls, can
 * hold them until the test opens it, and can fail the next calls -- so a
 * test knows when a query is on the store and decides how it ends. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "aw_test.h"
#include "adapter.h"
#include "adapter_int.h"
#include "sqlite/sqlite.h"

static char g_dir[64], g_db[128];

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int closed, inside, fail;
    long calls;
} g_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

static void gate_fn(sqlite3_context *ctx, int argc, sqlite3_value **v)
{
    (void)argc; (void)v;
    pthread_mutex_lock(&g_gate.mu);
    g_gate.calls++;
    g_gate.inside++;
    pthread_cond_broadcast(&g_gate.cv);
    while (g_gate.closed) pthread_cond_wait(&g_gate.cv, &g_gate.mu);
    g_gate.inside--;
    int fail = g_gate.fail > 0 ? g_gate.fail-- : 0;
    pthread_mutex_unlock(&g_gate.mu);
    if (fail) sqlite3_result_error(ctx, "gate says no", -1);
    else sqlite3_result_int(ctx, 1);
}

static int gate_ext(sqlite3 *db, char **err, const void *api)
{
    (void)err; (void)api;
    return sqlite3_create_function(db, "gate", 1, SQLITE_UTF8, NULL, gate_fn, NULL, NULL);
}

static void gate_set(int closed, int fail)
{
    pthread_mutex_lock(&g_gate.mu);
    g_gate.closed = closed;
    g_gate.fail = fail;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
}

/* Waits (deadline 5 s) until n calls are held at the gate. */
static int gate_wait_inside(int n)
{
    struct timespec until = deadline_in(5);
    pthread_mutex_lock(&g_gate.mu);
    int rc = 0;
    while (g_gate.inside < n && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&g_gate.cv, &g_gate.mu, &until);
    int ok = g_gate.inside >= n;
    pthread_mutex_unlock(&g_gate.mu);
    return ok;
}

/* customers(id, name) for 1..1000; items: id % 3 rows per id. */
static int make_db(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/aw_cache_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_db, sizeof g_db, "%s/cache.db", g_dir);
    sqlite3 *db;
    if (sqlite3_open(g_db, &db) != SQLITE_OK) return -1;
    int rc = sqlite3_exec(db, "BEGIN; CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);"
                          "CREATE TABLE items(cid INTEGER, n INTEGER);"
                          "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)"
                          " INSERT INTO customers SELECT i, 'customer-' || i FROM s;"
                          "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 3000)"
                          " INSERT INTO items SELECT i / 3, i % 3 FROM s WHERE i % 3 < (i / 3) % 3;"
                          "COMMIT;", NULL, NULL, NULL);
    sqlite3_close(db);
    if (rc != SQLITE_OK) return -1;
    return sqlite3_auto_extension((void (*)(void))gate_ext) == SQLITE_OK ? 0 : -1;
}

static int rm_db(void)
{
    sqlite3_cancel_auto_extension((void (*)(void))gate_ext);
    unlink(g_db);
    rmdir(g_dir);
    return 0;
}

/* ---------------------------------------------------------- lookup */

typedef struct cust { int64_t id; int64_t n; char name[32]; } cust;

static int bind_id(void *ctx, void *input, aw_params *p)
{
    (void)ctx;
    return aw_params_int64(p, 0, (intptr_t)input % 100000);   /* 100000 + k: key k again */
}

static _Atomic long g_rows;      /* row callbacks: one per row per record */
static aw_adapter *_Atomic g_close_me;   /* row closes this adapter (must do nothing) */

static int row_cust(void *ctx, void *input, const aw_row *r, void **out)
{
    (void)ctx; (void)input;
    cust *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    c->n = aw_row_columns(r) > 2 ? aw_row_int64(r, 2) : -1;
    size_t len = 0;
    const char *s = aw_row_text(r, 1, &len);
    if (s) memcpy(c->name, s, len < 31 ? len : 31);
    if (!aw_row_name(r, 0) || strcmp(aw_row_name(r, 0), "id")) c->id = -1;
    atomic_fetch_add(&g_rows, 1);
    aw_adapter *self = atomic_load(&g_close_me);
    if (self) aw_adapter_close(self);
    *out = c;
    return 0;
}

static void free_cust(void *ctx, void *r) { (void)ctx; free(r); }

static const char *SQL_ONE = "SELECT id, name FROM customers WHERE id = ? AND gate(id)";
static const char *SQL_MANY = "SELECT c.id, c.name, i.n FROM customers c JOIN items i ON i.cid = c.id "
                              "WHERE c.id = ? AND gate(c.id) ORDER BY i.n";

/* The sink: every record's results must name its own key. */
typedef struct tally {
    const char *prefix;          /* of the names; NULL: "customer-" */
    long emitted, errors, wrong, rows;
    int last_err;
    char last_msg[96];
    intptr_t seen[2048];
    size_t nseen;
} tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    (void)ts;
    tally *t = ctx;
    intptr_t key = (intptr_t)input % 100000;
    for (size_t i = 0; i < n; i++) {
        cust *c = res[i];
        char want[32];
        snprintf(want, sizeof want, "%s%ld", t->prefix ? t->prefix : "customer-", (long)key);
        if (c->id != key || strcmp(c->name, want)) t->wrong++;
        free(c);
    }
    t->rows += (long)n;
    if (t->nseen < 2048) t->seen[t->nseen++] = (intptr_t)n;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    (void)input;
    tally *t = ctx;
    t->errors++;
    t->last_err = err;
    snprintf(t->last_msg, sizeof t->last_msg, "%s", msg);
}

static void t_release(void *ctx, void *r) { (void)ctx; free(r); }

static aw_adapter *open_uri(const char *sql, const char *params)
{
    char uri[400], err[256] = "";
    snprintf(uri, sizeof uri, "sqlite://%s?threads=4%s%s", g_db, params[0] ? "&" : "", params);
    aw_lookup l = { .sql = sql, .bind = bind_id, .row = row_cust, .free_result = free_cust };
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, &l, err, sizeof err);
    if (rc) AW__FAIL("aw_adapter_open(%s): %d %s", uri, rc, err);
    return a;
}

static aw_op *new_op(aw_adapter *a, tally *t, aw_config cfg)
{
    aw_sink sink = { .ctx = t, .emit = t_emit, .error = t_error, .release = t_release };
    aw_op *op = NULL;
    char err[256] = "";
    if (aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err))
        AW__FAIL("aw_op_create: %s", err);
    return op;
}

static aw_adapter_stats stats(aw_adapter *a)
{
    aw_adapter_stats s;
    memset(&s, 0xff, sizeof s);
    if (aw_adapter_stats_get(a, &s)) AW__FAIL("aw_adapter_stats_get failed");
    return s;
}

/* One test's adapter (a pool of 4 over the suite's file, with sql and the
 * URI parameters params) and an operator over it whose sink is t. */
typedef struct run {
    aw_adapter *a;
    aw_op *op;
    tally t;
} run;

/* Opens r; NULL (the test failed, nothing is left open) if the adapter
 * or the operator does not open. */
static aw_op *run_open(run *r, const char *sql, const char *params, aw_config cfg)
{
    memset(r, 0, sizeof *r);
    r->a = open_uri(sql, params);
    if (r->a) r->op = new_op(r->a, &r->t, cfg);
    if (r->a && !r->op) {
        aw_adapter_close(r->a);
        r->a = NULL;
    }
    return r->op;
}

static void run_close(run *r)
{
    aw_op_free(r->op);
    aw_adapter_close(r->a);
}

static int64_t g_now;            /* the cache clock of cache_expiry */

/* For each i: moves the cache clock to at[i] (if at), pushes keys[i],
 * drains, and compares the store's query count with want[i]. Returns how
 * many steps went wrong. */
static long push_each(run *r, const intptr_t *keys, const int64_t *at, const uint64_t *want, int n)
{
    long wrong = 0;
    for (int i = 0; i < n; i++) {
        if (at) g_now = at[i];
        if (aw_op_push(r->op, (void *)keys[i], 0) != 0 || aw_op_drain(r->op) != 0) wrong++;
        if (stats(r->a).queries != want[i]) wrong++;
    }
    return wrong;
}

/* ----------------------------------------------------------- tests */

/* 100 records of one key while its query is held at the store: one
 * query, 99 coalesced, each record its own result; then a hit. */
static void cache_single_flight_100(void)
{
    run r;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 128 };
    aw_op *op = run_open(&r, SQL_ONE, "cache=10", cfg);
    if (!op) return;
    gate_set(1, 0);
    long calls0 = g_gate.calls, rows0 = atomic_load(&g_rows);
    for (intptr_t i = 0; i < 100; i++) ASSERT_EQ(aw_op_push(op, (void *)(7 + i * 100000), 0), 0);
    ASSERT_TRUE(gate_wait_inside(1));
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(s.queries, 1);
    ASSERT_EQ(s.cache_misses, 100);
    ASSERT_EQ(s.coalesced, 99);
    ASSERT_EQ(s.cache_hits, 0);
    ASSERT_EQ(r.t.emitted, 0);
    gate_set(0, 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(r.t.emitted, 100);
    ASSERT_EQ(r.t.rows, 100);
    ASSERT_EQ(r.t.wrong, 0);
    ASSERT_EQ(atomic_load(&g_rows) - rows0, 100);    /* row ran for every record */
    ASSERT_EQ(g_gate.calls - calls0, 1);             /* the store saw one query */
    ASSERT_EQ(aw_op_push(op, (void *)7, 0), 0);      /* now from the cache */
    ASSERT_EQ(aw_op_drain(op), 0);
    s = stats(r.a);
    ASSERT_EQ(s.queries, 1);
    ASSERT_EQ(s.cache_hits, 1);
    ASSERT_EQ(s.cache_entries, 1);
    ASSERT_EQ(r.t.emitted, 101);
    run_close(&r);
}

/* Several rows per key: a hit replays each row through row, in order. */
static void cache_hits_replay_rows(void)
{
    run r;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = run_open(&r, SQL_MANY, "cache=100", cfg);
    if (!op) return;
    for (int pass = 0; pass < 2; pass++) {
        for (intptr_t k = 1; k <= 30; k++) ASSERT_EQ(aw_op_push(op, (void *)k, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
    }
    ASSERT_EQ(r.t.emitted, 60);
    ASSERT_EQ(r.t.wrong, 0);
    long bad = 0;
    for (size_t i = 0; i < 30; i++)                  /* ids k % 3 rows, both passes */
        if (r.t.seen[i] != r.t.seen[i + 30] || r.t.seen[i] != (intptr_t)((i + 1) % 3)) bad++;
    ASSERT_EQ(bad, 0);
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(s.queries, 30);
    ASSERT_EQ(s.cache_hits, 30);
    ASSERT_EQ(s.cache_misses, 30);
    ASSERT_EQ(s.cache_entries, 30);                  /* zero-row answers too */
    run_close(&r);
}

static int64_t test_now(void *ctx) { (void)ctx; return g_now; }

static void cache_expiry(void)
{
    run r;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = run_open(&r, SQL_ONE, "cache=10&cache_ttl_ms=100", cfg);
    if (!op) return;
    aw__cache_set_clock(r.a, test_now, NULL);
    intptr_t keys[] = { 5, 5, 5, 5, 5, 5 };
    int64_t at[] = { 0, 50, 99, 100, 150, 250 };
    uint64_t want_queries[] = { 1, 1, 1, 2, 2, 3 };
    ASSERT_EQ(push_each(&r, keys, at, want_queries, 6), 0);
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(s.expired, 2);
    ASSERT_EQ(s.cache_hits, 3);
    ASSERT_EQ(r.t.emitted, 6);
    ASSERT_EQ(r.t.wrong, 0);
    run_close(&r);
}

/* cache=3: the least recently used key goes first. */
static void cache_eviction_lru(void)
{
    run r;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = run_open(&r, SQL_ONE, "cache=3", cfg);
    if (!op) return;
    intptr_t keys[] = { 1, 2, 3, 1, 4, 2, 1, 3 };
    /* 1 2 3: miss; 1: hit; 4: miss, evicts 2; 2: miss, evicts 3;
     * 1: hit; 3: miss, evicts 4 */
    uint64_t want_q[] = { 1, 2, 3, 3, 4, 5, 5, 6 };
    ASSERT_EQ(push_each(&r, keys, NULL, want_q, 8), 0);
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(s.evictions, 3);
    ASSERT_EQ(s.cache_entries, 3);
    ASSERT_EQ(s.cache_hits, 2);
    ASSERT_EQ(r.t.wrong, 0);
    run_close(&r);
}

/* A key with no row is cached unless cache_missing=0. */
static void cache_negative(void)
{
    const char *params[] = { "cache=10", "cache=10&cache_missing=0" };
    for (int k = 0; k < 2; k++) {
        run r;
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_op *op = run_open(&r, SQL_ONE, params[k], cfg);
        if (!op) return;
        for (int i = 0; i < 3; i++) {
            ASSERT_EQ(aw_op_push(op, (void *)5000, 0), 0);   /* no such customer */
            ASSERT_EQ(aw_op_drain(op), 0);
        }
        aw_adapter_stats s = stats(r.a);
        ASSERT_EQ(s.queries, k == 0 ? 1 : 3);
        ASSERT_EQ(s.cache_hits, k == 0 ? 2 : 0);
        ASSERT_EQ(s.cache_entries, k == 0 ? 1 : 0);
        ASSERT_EQ(r.t.emitted, 3);
        ASSERT_EQ(r.t.rows, 0);
        run_close(&r);
    }
}

/* The query fails: every waiting record fails with its error, nothing is
 * cached; with retry, each record tries again and the next query works. */
static bool retry_query(void *ctx, void *input, int err) { (void)ctx; (void)input; return err == AW_EQUERY; }

static void cache_failing_leader(void)
{
    for (int with_retry = 0; with_retry < 2; with_retry++) {
        run r;
        aw_config cfg = { .mode = AW_UNORDERED, .capacity = 16 };
        if (with_retry) cfg.retry = (aw_retry){ .max_attempts = 1, .if_error = retry_query };
        aw_op *op = run_open(&r, SQL_ONE, "cache=10", cfg);
        if (!op) return;
        gate_set(1, 1);                                  /* held, then fails once */
        for (intptr_t i = 0; i < 10; i++) ASSERT_EQ(aw_op_push(op, (void *)(9 + i * 100000), 0), 0);
        ASSERT_TRUE(gate_wait_inside(1));
        ASSERT_EQ(stats(r.a).coalesced, 9);
        gate_set(0, 1);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_adapter_stats s = stats(r.a);
        if (!with_retry) {
            ASSERT_EQ(r.t.errors, 10);
            ASSERT_EQ(r.t.last_err, AW_EQUERY);
            ASSERT_STR_CONTAINS(r.t.last_msg, "gate says no");
            ASSERT_EQ(s.cache_entries, 0);
            ASSERT_EQ(s.queries, 1);
            ASSERT_EQ(aw_op_push(op, (void *)9, 0), 0);   /* not cached: asks again */
            ASSERT_EQ(aw_op_drain(op), 0);
            ASSERT_EQ(stats(r.a).queries, 2);
            ASSERT_EQ(r.t.emitted, 1);
        } else {
            ASSERT_EQ(r.t.errors, 0);
            ASSERT_EQ(r.t.emitted, 10);
            ASSERT_EQ(r.t.wrong, 0);
            ASSERT_TRUE(s.queries >= 2);                  /* the retries share queries */
            ASSERT_TRUE(s.queries <= 11);
            aw_stats os;
            aw_op_stats(op, &os);
            ASSERT_EQ(os.retried, 10);
        }
        run_close(&r);
    }
}

/* Each waiting record keeps its own timeout: the first times out while
 * the query is held, the second is served when it answers. */
static void cache_waiter_timeouts(void)
{
    fake_clock c = { 0 };
    run r;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 8, .timeout_ms = 50,
                      .clock = fake_clock_of(&c) };
    aw_op *op = run_open(&r, SQL_ONE, "cache=10", cfg);
    if (!op) return;
    gate_set(1, 0);
    ASSERT_EQ(aw_op_push(op, (void *)11, 0), 0);
    ASSERT_TRUE(gate_wait_inside(1));
    atomic_store(&c.now, 30);
    ASSERT_EQ(aw_op_push(op, (void *)100011, 0), 0);
    atomic_store(&c.now, 50);
    ASSERT_EQ(aw_op_poll(op, 0), 1);                  /* the first: timed out */
    ASSERT_EQ(r.t.errors, 1);
    ASSERT_EQ(r.t.last_err, AW_ETIMEDOUT);
    gate_set(0, 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(r.t.emitted, 1);
    ASSERT_EQ(r.t.wrong, 0);
    ASSERT_EQ(stats(r.a).queries, 1);
    ASSERT_EQ(stats(r.a).cache_entries, 1);
    run_close(&r);
}

/* Many records, few keys, a small cache, four workers: every record gets
 * its own key's answer; the counters add up. */
static void cache_concurrent_consistency(void)
{
    run r;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 64 };
    aw_op *op = run_open(&r, SQL_ONE, "cache=20", cfg);
    if (!op) return;
    uint64_t g = 1;
    enum { N = 5000 };
    for (int i = 0; i < N; i++) {
        g = g * 6364136223846793005ull + 1442695040888963407ull;
        intptr_t key = 1 + (intptr_t)((g >> 33) % 50);
        ASSERT_EQ(aw_op_push(op, (void *)key, 0), 0);
    }
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(r.t.emitted, N);
    ASSERT_EQ(r.t.wrong, 0);
    ASSERT_EQ(r.t.rows, N);
    ASSERT_EQ(s.cache_hits + s.cache_misses, N);
    ASSERT_EQ(s.queries, s.cache_misses - s.coalesced);
    ASSERT_TRUE(s.cache_entries <= 20);
    ASSERT_TRUE(s.evictions > 0);
    run_close(&r);
}

/* Without cache=, queries still count; bad values fail at open, naming
 * the parameter. */
static void cache_off_and_bad_values(void)
{
    run r;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = run_open(&r, SQL_ONE, "", cfg);
    if (!op) return;
    for (int i = 0; i < 3; i++) ASSERT_EQ(aw_op_push(op, (void *)3, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_adapter_stats s = stats(r.a);
    ASSERT_EQ(s.queries, 3);
    ASSERT_EQ(s.cache_hits + s.cache_misses + s.cache_entries, 0);
    ASSERT_EQ(r.t.emitted, 3);
    run_close(&r);
    ASSERT_EQ(aw_adapter_stats_get(NULL, &s), AW_EINVAL);

    const char *bad[][2] = { { "cache=-5", "cache=-5" }, { "cache=10&cache_ttl_ms=x", "cache_ttl_ms=x" },
                             { "cache=10&cache_missing=2", "cache_missing=2" },
                             { "cache_ttl_ms=5", "cache=N" }, { "cache=", "cache=" } };
    for (int i = 0; i < 5; i++) {
        char uri[300], err[256] = "";
        snprintf(uri, sizeof uri, "sqlite://%s?%s", g_db, bad[i][0]);
        aw_lookup l = { .sql = SQL_ONE, .bind = bind_id, .row = row_cust };
        aw_adapter *b = (aw_adapter *)&l;
        ASSERT_EQ(aw_adapter_open(&b, uri, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_TRUE(b == NULL);
        ASSERT_STR_CONTAINS(err, bad[i][1]);
    }
}

/* aw_adapter_close from inside row -- on a worker (an answer arriving) and
 * on the owner thread (a hit), cache on and off -- does nothing; the run
 * goes on and the real close afterwards frees everything (ASan). */
static void cache_close_from_callback(void)
{
    const char *params[] = { "cache=10", "" };
    for (int k = 0; k < 2; k++) {
        run r;
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_op *op = run_open(&r, SQL_ONE, params[k], cfg);
        if (!op) return;
        atomic_store(&g_close_me, r.a);
        for (intptr_t i = 0; i < 20; i++) ASSERT_EQ(aw_op_push(op, (void *)(1 + i % 3), 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        atomic_store(&g_close_me, NULL);
        ASSERT_EQ(r.t.emitted, 20);
        ASSERT_EQ(r.t.wrong, 0);
        if (k == 0) ASSERT_TRUE(stats(r.a).cache_hits > 0);
        run_close(&r);
    }
}

/* The same cache over MySQL, each way the adapter runs (the pool, async
 * with the owner running its loop, async on its I/O thread), when the
 * throwaway server of tests/mariadb.sh is there (make test runs it). */
static void cache_mysql_every_way(void)
{
#ifdef AW_HAVE_MYSQL
    const char *host = getenv("AW_MYSQL_HOST"), *port = getenv("AW_MYSQL_PORT"),
               *user = getenv("AW_MYSQL_USER"), *db = getenv("AW_MYSQL_DB");
    if (!host || !port || !user || !db) {
        CU_PASS("no MySQL server in the environment: skipped (make test provides one)");
        return;
    }
    const char *ways[] = { "strategy=pool&threads=4", "strategy=async&connections=4&io=owner",
                           "strategy=async&connections=4&io=thread" };
    for (int w = 0; w < 3; w++) {
        char uri[400], err[256] = "";
        snprintf(uri, sizeof uri, "mysql://%s@%s:%s/%s?%s&cache=100", user, host, port, db, ways[w]);
        aw_lookup l = { .sql = "SELECT id, name FROM customers WHERE id = ?", .bind = bind_id,
                        .row = row_cust, .free_result = free_cust };
        aw_adapter *a = NULL;
        int rc = aw_adapter_open(&a, uri, &l, err, sizeof err);
        if (rc) { AW__FAIL("%s: %d %s", uri, rc, err); continue; }
        tally t = { .prefix = "name-" };
        aw_config cfg = { .mode = AW_UNORDERED, .capacity = 32, .timeout_ms = 10000 };
        aw_op *op = new_op(a, &t, cfg);
        for (intptr_t i = 0; op && i < 200; i++) ASSERT_EQ(aw_op_push(op, (void *)(1 + i % 20), 0), 0);
        if (op) ASSERT_EQ(aw_op_drain(op), 0);
        aw_adapter_stats s = stats(a);
        ASSERT_EQ(t.emitted, 200);
        ASSERT_EQ(t.errors, 0);
        ASSERT_EQ(t.wrong, 0);
        ASSERT_EQ(t.rows, 200);
        ASSERT_EQ(s.cache_hits + s.cache_misses, 200);
        ASSERT_EQ(s.queries, 20);                    /* one per key: cached or coalesced */
        ASSERT_EQ(s.cache_entries, 20);
        aw_op_free(op);
        aw_adapter_close(a);
    }
#else
    CU_PASS("built without the MySQL adapter");
#endif
}

int aw_cache_suite_init(void) { return make_db(); }
int aw_cache_suite_clean(void) { return rm_db(); }

CU_TestInfo aw_tests_cache[] = {
    { "cache_single_flight_100", cache_single_flight_100 },
    { "cache_hits_replay_rows", cache_hits_replay_rows },
    { "cache_expiry", cache_expiry },
    { "cache_eviction_lru", cache_eviction_lru },
    { "cache_negative", cache_negative },
    { "cache_failing_leader", cache_failing_leader },
    { "cache_waiter_timeouts", cache_waiter_timeouts },
    { "cache_concurrent_consistency", cache_concurrent_consistency },
    { "cache_off_and_bad_values", cache_off_and_bad_values },
    { "cache_close_from_callback", cache_close_from_callback },
    { "cache_mysql_every_way", cache_mysql_every_way },
    CU_TEST_INFO_NULL
};
