/* The lookup interface and the SQLite adapter against a real database
 * file: results equal a plain sqlite3 query, rows, NULLs, embedded NULs,
 * and a test per configuration mistake that checks its sentence. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "aw_test.h"
#include "adapter.h"
#include "adapter_test.h"
#include "lookup.h"
#include "sqlite/sqlite.h"

static char g_dir[64], g_db[128];

/* customers(id, name, city): city NULL for ids divisible by 7; items: id % 4
 * rows per customer; blobs: a text with an embedded NUL. */
static int make_db(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/aw_sqlite_XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    snprintf(g_db, sizeof g_db, "%s/test.db", g_dir);
    sqlite3 *db;
    if (sqlite3_open(g_db, &db) != SQLITE_OK) return -1;
    sqlite3_exec(db, "BEGIN; CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT);"
                     "CREATE TABLE items(cid INTEGER, n INTEGER);"
                     "CREATE TABLE blobs(id INTEGER PRIMARY KEY, t TEXT);", NULL, NULL, NULL);
    sqlite3_stmt *c, *it;
    sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?,?,?)", -1, &c, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO items VALUES(?,?)", -1, &it, NULL);
    for (int i = 1; i <= 20000; i++) {
        char name[32], city[32];
        snprintf(name, sizeof name, "customer-%d", i);
        snprintf(city, sizeof city, "city-%d", i % 97);
        sqlite3_bind_int(c, 1, i);
        sqlite3_bind_text(c, 2, name, -1, SQLITE_TRANSIENT);
        if (i % 7) sqlite3_bind_text(c, 3, city, -1, SQLITE_TRANSIENT); else sqlite3_bind_null(c, 3);
        sqlite3_step(c);
        sqlite3_reset(c);
        for (int k = 0; k < i % 4 && i <= 100; k++) {
            sqlite3_bind_int(it, 1, i);
            sqlite3_bind_int(it, 2, k);
            sqlite3_step(it);
            sqlite3_reset(it);
        }
    }
    sqlite3_finalize(c);
    sqlite3_finalize(it);
    sqlite3_stmt *b;
    sqlite3_prepare_v2(db, "INSERT INTO blobs VALUES(1, ?)", -1, &b, NULL);
    sqlite3_bind_text(b, 1, "ab\0cd", 5, SQLITE_STATIC);
    sqlite3_step(b);
    sqlite3_finalize(b);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return 0;
}

static int rm_db(void)
{
    unlink(g_db);
    rmdir(g_dir);
    return 0;
}

/* A result: the row's name and city, copied. */
typedef struct cust { int64_t id; char name[32]; char city[32]; bool city_null; size_t len; } cust;

static int bind_id(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

static int row_cust(void *ctx, void *input, const aw_row *r, void **out)
{
    cust *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    size_t len;
    const char *s = aw_row_text(r, 1, &len);
    if (s) memcpy(c->name, s, len < 31 ? len : 31);
    c->len = len;
    c->city_null = aw_row_is_null(r, 2);
    if (!c->city_null) snprintf(c->city, sizeof c->city, "%s", aw_row_text(r, 2, NULL));
    *out = c;
    return 0;
}

static void free_cust(void *ctx, void *r) { free(r); }

/* What a plain sqlite3 query says for id: the name, or "" if no row. */
typedef struct expect { sqlite3 *db; sqlite3_stmt *st; } expect;

typedef struct check { expect *e; long emitted, wrong, rows; } check;

static void ck_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    check *k = ctx;
    intptr_t id = (intptr_t)input;
    sqlite3_bind_int64(k->e->st, 1, id);
    bool row = sqlite3_step(k->e->st) == SQLITE_ROW;
    if ((size_t)row != n) k->wrong++;
    if (row && n == 1) {
        cust *c = res[0];
        const char *name = (const char *)sqlite3_column_text(k->e->st, 0);
        bool null_city = sqlite3_column_type(k->e->st, 1) == SQLITE_NULL;
        if (c->id != id || strcmp(c->name, name) || c->city_null != null_city) k->wrong++;
        if (!null_city && strcmp(c->city, (const char *)sqlite3_column_text(k->e->st, 1))) k->wrong++;
    }
    sqlite3_reset(k->e->st);
    for (size_t i = 0; i < n; i++) free(res[i]);
    k->rows += (long)n;
    k->emitted++;
}

static void sqlite_matches_direct_query(void)
{
    aw_lookup l = { .sql = "SELECT id, name, city FROM customers WHERE id = ?",
                    .bind = bind_id, .row = row_cust, .free_result = free_cust };
    expect e;
    sqlite3_open_v2(g_db, &e.db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(e.db, "SELECT name, city FROM customers WHERE id = ?", -1, &e.st, NULL);
    char uri[200];
    snprintf(uri, sizeof uri, "sqlite://%s?threads=4", g_db);
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    unsigned seed = 42;
    for (int m = 0; m < 3; m++) {
        aw_adapter *a;
        char err[256];
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        ASSERT_STR_CONTAINS(aw_adapter_scheme(a), "sqlite");
        check k = { .e = &e };
        aw_config cfg = { .mode = modes[m], .capacity = 64 };
        aw_sink sink = { .ctx = &k, .emit = ck_emit };
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (int i = 0; i < 10000; i++) {
            intptr_t id = rand_r(&seed) % 22000 + 1;   /* some miss: 0 rows */
            ASSERT_EQ(aw_op_push(op, (void *)id, i) == 0, 1);
            if (modes[m] == AW_UNORDERED_EVENT_TIME && i % 500 == 499) aw_op_watermark(op, i);
        }
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_op_free(op);
        aw_adapter_close(a);
        ASSERT_EQ(k.emitted, 10000);
        ASSERT_EQ(k.wrong, 0);
        ASSERT_TRUE(k.rows > 8000 && k.rows < 10000);
    }
    sqlite3_finalize(e.st);
    sqlite3_close(e.db);
}

/* 0, 1 and many rows per record, through the same lookup. */
static int row_n(void *ctx, void *input, const aw_row *r, void **out)
{
    *out = (void *)(intptr_t)(aw_row_int64(r, 0) + 1);   /* n + 1: never NULL */
    return 0;
}

typedef struct rows_seen { size_t n[8]; intptr_t first[8]; } rows_seen;
static void rows_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    rows_seen *s = ctx;
    intptr_t id = (intptr_t)input;
    s->n[id % 8] = n;
    s->first[id % 8] = n ? (intptr_t)res[0] : -1;
}

static void sqlite_zero_one_many_rows(void)
{
    aw_lookup l = { .sql = "SELECT n FROM items WHERE cid = ? ORDER BY n",
                    .bind = bind_id, .row = row_n };
    char uri[200], err[256];
    snprintf(uri, sizeof uri, "sqlite:%s?threads=2", g_db);
    aw_adapter *a;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    rows_seen s;
    memset(&s, 0, sizeof s);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_sink sink = { .ctx = &s, .emit = rows_emit };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
    for (intptr_t id = 4; id <= 7; id++) aw_op_push(op, (void *)id, 0);   /* id % 4 rows */
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    aw_adapter_close(a);
    ASSERT_EQ(s.n[4], 0);
    ASSERT_EQ(s.n[5], 1);
    ASSERT_EQ(s.n[6], 2);
    ASSERT_EQ(s.n[7], 3);
    ASSERT_EQ(s.first[7], 1);
}

static int row_blob(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t len;
    const char *t = aw_row_text(r, 0, &len);
    char *copy = malloc(len + 1);
    memcpy(copy, t, len);
    copy[len] = (char)len;     /* stash the length past the bytes */
    *out = copy;
    return 0;
}

static void blob_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    char *got = ctx;
    if (n == 1) { memcpy(got, res[0], 6); free(res[0]); }
}

static void sqlite_text_with_embedded_nul(void)
{
    aw_lookup l = { .sql = "SELECT t FROM blobs WHERE id = ?", .bind = bind_id, .row = row_blob,
                    .free_result = free_cust };
    char uri[200], err[256], got[6] = { 0 };
    snprintf(uri, sizeof uri, "sqlite://%s", g_db);
    aw_adapter *a;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2 };
    aw_sink sink = { .ctx = got, .emit = blob_emit };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
    aw_op_push(op, (void *)1, 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    aw_adapter_close(a);
    ASSERT_EQ(got[5], 5);
    ASSERT_TRUE(memcmp(got, "ab\0cd", 5) == 0);
}

static void sqlite_config_mistakes(void)
{
    aw_lookup l = { .sql = "SELECT id, name, city FROM customers WHERE id = ?",
                    .bind = bind_id, .row = row_cust, .free_result = free_cust };
    aw_adapter *a = (aw_adapter *)&l;
    char uri[256], err[512];
    ASSERT_EQ(aw_adapter_open(&a, "oracle://localhost/db", &l, err, sizeof err), AW_ECONFIG);
    ASSERT_TRUE(a == NULL);
    ASSERT_STR_CONTAINS(err, "unknown scheme 'oracle'");
    ASSERT_EQ(aw_adapter_open(&a, "no-scheme-here", &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "no scheme");
    snprintf(uri, sizeof uri, "sqlite://%s?threads=4&colour=blue", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "unknown parameter 'colour'");
    snprintf(uri, sizeof uri, "sqlite://%s?threads=0", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "threads=0");
    ASSERT_EQ(aw_adapter_open(&a, "sqlite:///no/such/dir/x.db", &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "cannot open SQLite database '/no/such/dir/x.db'");
    snprintf(uri, sizeof uri, "sqlite://%s", g_db);
    aw_lookup bad = l;
    bad.sql = "SELEC name FROM customers WHERE id = ?";
    ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
    ASSERT_STR_CONTAINS(err, "syntax error");
    bad.sql = "SELECT name FROM clients WHERE id = ?";
    ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
    ASSERT_STR_CONTAINS(err, "no such table: clients");
    snprintf(uri, sizeof uri, "sqlite://%s?mode=write", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "ro or rw");
    aw_lookup nobind = l;
    nobind.bind = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, &nobind, err, sizeof err), AW_ECONFIG);
    ASSERT_EQ(aw_adapter_open(NULL, uri, &l, err, sizeof err), AW_EINVAL);
    aw_sqlite_config sc = { .path = g_db, .threads = 2 };
    ASSERT_EQ(aw_sqlite_open(&a, &sc, &l, err, sizeof err), 0);
    aw_adapter_close(a);
    aw_adapter_close(NULL);
    ASSERT_TRUE(aw_adapter_function(NULL) == NULL);
}

/* ------------------------------------------------------------ lookup */

static void lookup_params_and_rows(void)
{
    aw_params *p = aw_params_new();
    ASSERT_EQ(aw_params_int64(p, 0, -5), 0);
    ASSERT_EQ(aw_params_text(p, 2, "a\0b", 3), 0);
    ASSERT_EQ(aw_params_double(p, 3, 2.5), 0);
    ASSERT_EQ(aw_params_int64(p, -1, 0), AW_EINVAL);
    ASSERT_EQ(aw_params_int64(p, 5000, 0), AW_EINVAL);
    ASSERT_EQ(aw_params_text(p, 0, NULL, 3), AW_EINVAL);
    ASSERT_EQ(aw_params_null(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_params_count(p), 4);
    aw_value v;
    ASSERT_EQ(aw_params_get(p, 1, &v), 0);
    ASSERT_EQ(v.type, AW_VNULL);                 /* unset in between */
    ASSERT_EQ(aw_params_get(p, 2, &v), 0);
    ASSERT_EQ(v.type, AW_VTEXT);
    ASSERT_EQ(v.len, 3);
    ASSERT_TRUE(memcmp(v.s, "a\0b", 3) == 0);
    for (int i = 0; i < 100; i++) aw_params_text(p, 4 + i, "grow the buffer", 15);
    ASSERT_EQ(aw_params_get(p, 2, &v), 0);      /* still right after growth */
    ASSERT_TRUE(memcmp(v.s, "a\0b", 3) == 0);
    ASSERT_EQ(aw_params_get(p, 999, &v), AW_EINVAL);
    aw_params_clear(p);
    ASSERT_EQ(aw_params_count(p), 0);
    aw_params_free(p);

    aw_row *r = aw_row_new(3);
    aw_value a = { .type = AW_VINT64, .i = 42 }, b = { .type = AW_VTEXT, .s = "7.5x", .len = 3 },
             c = { .type = AW_VNULL };
    ASSERT_EQ(aw_row_set(r, 0, &a), 0);
    ASSERT_EQ(aw_row_set(r, 1, &b), 0);
    ASSERT_EQ(aw_row_set(r, 2, &c), 0);
    ASSERT_EQ(aw_row_set(r, 3, &c), AW_EINVAL);
    aw_row_set_name(r, 0, "id");
    ASSERT_EQ(aw_row_columns(r), 3);
    ASSERT_EQ(aw_row_int64(r, 0), 42);
    size_t len;
    ASSERT_STR_CONTAINS(aw_row_text(r, 0, &len), "42");
    ASSERT_EQ(len, 2);
    ASSERT_TRUE(aw_row_double(r, 1) == 7.5);
    ASSERT_TRUE(aw_row_is_null(r, 2));
    ASSERT_TRUE(aw_row_text(r, 2, &len) == NULL);
    ASSERT_TRUE(aw_row_is_null(r, 9));
    ASSERT_EQ(aw_row_int64(r, 9), 0);
    ASSERT_STR_CONTAINS(aw_row_name(r, 0), "id");
    ASSERT_TRUE(aw_row_name(r, 7) == NULL);
    ASSERT_EQ(aw_row_columns(NULL), 0);
    aw_row_free(r);
}


static int failing_hook(void *ctx, sqlite3 *db, char *err, size_t errlen)
{
    snprintf(err, errlen, "pragma refused");
    return AW_ECONFIG;
}

/* The checks this adapter adds beyond preparing: one statement only, no
 * writes on a read-only adapter, readwrite=, a failing on_connect, and what
 * a missing file says. Each checks its sentence. */
static void sqlite_config_mistakes_more(void)
{
    aw_lookup l = { .sql = "SELECT id, name, city FROM customers WHERE id = ?",
                    .bind = bind_id, .row = row_cust, .free_result = free_cust };
    aw_adapter *a = NULL;
    char uri[256], err[512];
    snprintf(uri, sizeof uri, "sqlite://%s", g_db);
    aw_lookup two = l;
    two.sql = "SELECT name FROM customers WHERE id = ?; DELETE FROM customers";
    ASSERT_EQ(aw_adapter_open(&a, uri, &two, err, sizeof err), AW_EQUERY);   /* the SQL's fault */
    ASSERT_STR_CONTAINS(err, "more than one statement");
    two.sql = "SELECT name FROM customers WHERE id = ?;  \n";   /* a trailing ; is fine */
    ASSERT_EQ(aw_adapter_open(&a, uri, &two, err, sizeof err), 0);
    aw_adapter_close(a);
    aw_lookup wr = l;
    wr.sql = "UPDATE customers SET name = name WHERE id = ? RETURNING id";
    ASSERT_EQ(aw_adapter_open(&a, uri, &wr, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "writes to the database");
    ASSERT_STR_CONTAINS(err, "mode=rw");
    snprintf(uri, sizeof uri, "sqlite://%s?readwrite=1&threads=1", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &wr, err, sizeof err), 0);
    aw_adapter_close(a);
    snprintf(uri, sizeof uri, "sqlite://%s?readwrite=maybe", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "readwrite=maybe: must be 0 or 1");
    snprintf(uri, sizeof uri, "sqlite://%s?readwrite=0&mode=rw", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "disagree");
    snprintf(uri, sizeof uri, "sqlite:%s/missing.db", g_dir);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);   /* only the user can fix it */
    ASSERT_STR_CONTAINS(err, "no such file");
    ASSERT_TRUE(a == NULL);
    snprintf(uri, sizeof uri, "sqlite:%s/x.db", g_db);     /* a file where a folder should be */
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "no such file");
    snprintf(uri, sizeof uri, "sqlite:%s", g_dir);         /* a folder, not a file */
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "it is a directory");
    aw_sqlite_config sc = { .path = g_db, .threads = 3, .on_connect = failing_hook };
    ASSERT_EQ(aw_sqlite_open(&a, &sc, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "on_connect failed");
    ASSERT_STR_CONTAINS(err, "pragma refused");
    sc = (aw_sqlite_config){ .path = "" };
    ASSERT_EQ(aw_sqlite_open(&a, &sc, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "no database path");
    snprintf(uri, sizeof uri, "sqlite://%s?threads=abc", g_db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "threads=abc: must be a whole number from 1 to 1024");
}

/* A lookup that binds more parameters than the SQL has ?s fails each
 * record with a sentence that counts both. */
static int bind_two(void *ctx, void *input, aw_params *p)
{
    aw_params_int64(p, 0, (intptr_t)input);
    return aw_params_int64(p, 1, 0);
}

static void sqlite_too_many_parameters(void)
{
    aw_lookup l = { .sql = "SELECT id, name, city FROM customers WHERE id = ?",
                    .bind = bind_two, .row = row_cust, .free_result = free_cust };
    char uri[256], err[512];
    snprintf(uri, sizeof uri, "sqlite:%s?threads=1", g_db);
    aw_adapter *a;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    rec_sink rs;
    rec_sink_init(&rs, 4);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2 };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    aw_adapter_close(a);
    ASSERT_EQ(rec_count(&rs, 'x'), 1);
    ASSERT_EQ(rs.ev[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "bound 2 parameters but the SQL has 1");
    rec_sink_fini(&rs);
}

/* aw_adapter_columns: the names (aliases included) and the ? count as
 * SQLite prepared them, before any lookup ran. */
static void sqlite_adapter_columns(void)
{
    aw_lookup l = { .sql = "SELECT n AS item, cid, n * 2 FROM items WHERE cid = ? AND n > ?",
                    .bind = bind_id, .row = row_n };
    static const char *const names[] = { "item", "cid", "n * 2" };
    char uri[200];
    snprintf(uri, sizeof uri, "sqlite:%s?threads=3", g_db);
    at_columns(uri, &l, 3, 2, names);
}

static int64_t ms_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int row_count(void *ctx, void *input, const aw_row *r, void **out)
{
    *out = NULL;
    return 0;
}

/* Issue 17: a timeout holds for a record whose statement runs (SQLite
 * interrupts it) and for the records queued behind it on the one worker:
 * all three fail with AW_ETIMEDOUT at their deadline, not after the ~10 s
 * each statement would take, and the count says 3. Closing interrupts the
 * statement still running, so aw_op_free does not wait for it either. */
static void sqlite_timeout_interrupts_statement(void)
{
    aw_lookup l = { .sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                           "WHERE x < ?) SELECT count(*) FROM c",
                    .bind = bind_id, .row = row_count };
    aw_sqlite_config sc = { .path = g_db, .threads = 1 };
    aw_adapter *a = NULL;
    char err[256];
    ASSERT_EQ(aw_sqlite_open(&a, &sc, &l, err, sizeof err), 0);
    if (!a) return;
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 8, .timeout_ms = 100 };
    aw_op *op = NULL;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
    int64_t t0 = ms_now();
    for (intptr_t i = 0; i < 3; i++) ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)50000000, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    int64_t drained = ms_now() - t0;
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    int64_t freed = ms_now() - t0;
    aw_adapter_close(a);
    ASSERT_EQ(rec_count(&rs, 'x'), 3);
    ASSERT_EQ(rec_count(&rs, 'e'), 0);
    for (size_t i = 0; i < rs.len; i++) ASSERT_EQ(rs.ev[i].err, AW_ETIMEDOUT);
    ASSERT_EQ(st.timed_out, 3);
    ASSERT_EQ(st.failed, 3);
    if (drained > 3000 || freed > 3000)
        AW__FAIL("drain took %lld ms, free %lld ms: the statement was not interrupted",
                 (long long)drained, (long long)freed);
    rec_sink_fini(&rs);
}

/* Issue 17: one redaction for every message that repeats a URI. */
static void uri_redact_hides_secrets(void)
{
    char out[256];
    ASSERT_STR_CONTAINS(aw_uri_redact("mysql://app:S3cret@db:3306/shop?strategy=pool", out, sizeof out),
                        "mysql://app:***@db:3306/shop?strategy=pool");
    ASSERT_TRUE(strstr(out, "S3cret") == NULL);
    ASSERT_STR_CONTAINS(aw_uri_redact("mysql://a:p@ss@h/d?Password=x&threads=2&pwd=y", out, sizeof out),
                        "mysql://a:***@h/d?Password=***&threads=2&pwd=***");
    ASSERT_STR_CONTAINS(aw_uri_redact("mysql://app@h/d?password_env=PW", out, sizeof out),
                        "mysql://app@h/d?password_env=PW");
    ASSERT_STR_CONTAINS(aw_uri_redact("sqlite:db.sqlite?threads=4", out, sizeof out), "sqlite:db.sqlite?threads=4");
    aw_uri_redact("mysql://app:S3cret@db/shop", out, 12);       /* truncated, still hidden */
    ASSERT_TRUE(strstr(out, "S3c") == NULL && strlen(out) == 11);
    /* The adapters' own messages go through it. */
    aw_lookup l = { .sql = "SELECT 1", .bind = bind_id, .row = row_cust };
    aw_adapter *a = NULL;
    char err[256];
    ASSERT_EQ(aw_adapter_open(&a, "nosuch://app:S3cret@h/d", &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "nosuch://app:***@h/d");
    ASSERT_EQ(aw_adapter_open(&a, "sqlite:x.db?password=S3cret&password=S3cret", &l, err, sizeof err), AW_ECONFIG);
    ASSERT_STR_CONTAINS(err, "given twice");
    ASSERT_TRUE(strstr(err, "S3cret") == NULL);
}

CU_TestInfo aw_tests_sqlite[] = {
    { "uri_redact_hides_secrets", uri_redact_hides_secrets },
    { "sqlite_timeout_interrupts_statement", sqlite_timeout_interrupts_statement },
    { "sqlite_adapter_columns", sqlite_adapter_columns },
    { "lookup_params_and_rows", lookup_params_and_rows },
    { "sqlite_matches_direct_query", sqlite_matches_direct_query },
    { "sqlite_zero_one_many_rows", sqlite_zero_one_many_rows },
    { "sqlite_text_with_embedded_nul", sqlite_text_with_embedded_nul },
    { "sqlite_config_mistakes", sqlite_config_mistakes },
    { "sqlite_config_mistakes_more", sqlite_config_mistakes_more },
    { "sqlite_too_many_parameters", sqlite_too_many_parameters },
    CU_TEST_INFO_NULL
};

/* The suite builds its database once. */
int aw_sqlite_suite_init(void) { return make_db(); }
int aw_sqlite_suite_clean(void) { return rm_db(); }
