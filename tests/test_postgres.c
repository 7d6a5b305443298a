/* The PostgreSQL adapter, both strategies, against a real throwaway server
 * (tests/postgres.sh; `make test` starts it and sets AW_PG_*): results
 * equal a direct query for 10 000 random keys in all three modes; zero,
 * one and many rows, NULLs, text in every shape (numeric, dates, bool,
 * arrays, bytea, UTF-8, 100 KB, empty vs NULL); ? inside literals and
 * comments; query errors; every configuration mistake's sentence; the
 * ways in (URI, libpq parameters, PGPASSWORD, the typed config). The
 * faults (timeouts, close, pg_terminate_backend, restart) are in
 * test_postgres_fault.c, suite postgres_fault; the open errors in
 * test_postgres_config.c.
 *
 * Without the environment every test fails with "no server": a suite that
 * passes without having run would say nothing. */
#ifndef AW_HAVE_POSTGRES
#include "aw_test.h"

static void postgres_not_built(void)
{
    AW__FAIL("the PostgreSQL adapter is not built: install libpq-dev (scripts/deps.sh postgres) and rebuild");
}

CU_TestInfo aw_tests_postgres[] = { { "postgres_not_built", postgres_not_built }, CU_TEST_INFO_NULL };
int aw_postgres_suite_init(void) { return 0; }
int aw_postgres_suite_clean(void) { return 0; }
#else
#include <inttypes.h>
#include <stdlib.h>
#include <unistd.h>
#include "pg_test.h"

pt_env pt;
const aw_postgres_strategy pt_strat[PT_NSTRAT] = { AW_POSTGRES_POOL, AW_POSTGRES_ASYNC };
const char *const pt_strat_name[PT_NSTRAT] = { "pool", "async" };

static char g_init_err[400];

bool pt_env_read(void)
{
    if (pt.ok) return true;
    const char *port = getenv("AW_PG_PORT"), *rows = getenv("AW_PG_ROWS");
    pt = (pt_env){ false, getenv("AW_PG_HOST"), getenv("AW_PG_SOCKET"), getenv("AW_PG_USER"),
                   getenv("AW_PG_PASSWORD"), getenv("AW_PG_DB"), getenv("AW_PG_DIR"), getenv("AW_PG_CTL"),
                   port ? atoi(port) : 0, rows ? atol(rows) : 0 };
    if (!pt.host || !pt.sock || !pt.user || !pt.pass || !pt.db || !pt.dir || !pt.ctl || pt.port <= 0 ||
        pt.rows < 1000)
        return false;
    setenv("PGPASSWORD", pt.pass, 1);       /* libpq's own means: never in a URI */
    pt.ok = true;
    return true;
}

bool pt_need_server(void)
{
    if (pt.ok && !g_init_err[0]) return true;
    if (g_init_err[0]) {
        AW__FAIL("the server is there but the suite's set-up failed: %s", g_init_err);
        return false;
    }
    AW__FAIL("no server: run via make test TESTS=postgres (tests/postgres.sh run ... sets AW_PG_HOST, "
             "AW_PG_PORT, AW_PG_SOCKET, AW_PG_USER, AW_PG_PASSWORD, AW_PG_DB)");
    return false;
}

void pt_uri(char *buf, size_t n, aw_postgres_strategy s, size_t count, const char *extra)
{
    snprintf(buf, n, "postgres://%s@%s:%d/%s?strategy=%s&%s=%zu%s%s", pt.user, pt.host, pt.port, pt.db,
             s == AW_POSTGRES_POOL ? "pool" : "async", s == AW_POSTGRES_POOL ? "threads" : "connections",
             count, extra && *extra ? "&" : "", extra ? extra : "");
}

PGconn *pt_admin(void)
{
    char port[16];
    snprintf(port, sizeof port, "%d", pt.port);
    const char *kw[] = { "host", "port", "user", "dbname", NULL };
    const char *val[] = { pt.sock, port, "postgres", pt.db, NULL };
    PGconn *c = PQconnectdbParams(kw, val, 0);
    if (c && PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "admin connection: %s\n", PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

int pt_ctl(const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s '%s' >/dev/null", pt.ctl, cmd, pt.dir);
    return system(line);
}

static bool admin_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    if (!ok) snprintf(g_init_err, sizeof g_init_err, "%.100s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

/* --------------------------------------------------- the direct answers */

typedef struct row_t { char name[24], city[16]; bool city_null, bal_null; int64_t bal; double score; } row_t;
static row_t *g_rows;
static long g_nrows;

int aw_postgres_suite_init(void)
{
    if (!pt_env_read()) return 0;               /* each test then says "no server" */
    PGconn *c = pt_admin();
    if (!c) {
        snprintf(g_init_err, sizeof g_init_err, "no admin connection (postgres over %s)", pt.sock);
        return 0;
    }
    g_nrows = pt.rows;
    g_rows = calloc((size_t)g_nrows + 1, sizeof *g_rows);
    PGresult *r = PQexec(c, "SELECT id, name, city, balance, score FROM customers");
    if (!g_rows || PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(g_init_err, sizeof g_init_err, "cannot read customers: %s", PQerrorMessage(c));
    } else {
        for (int i = 0; i < PQntuples(r); i++) {
            long id = atol(PQgetvalue(r, i, 0));
            if (id < 1 || id > g_nrows) continue;
            row_t *x = &g_rows[id];
            snprintf(x->name, sizeof x->name, "%s", PQgetvalue(r, i, 1));
            x->city_null = PQgetisnull(r, i, 2);
            snprintf(x->city, sizeof x->city, "%s", PQgetvalue(r, i, 2));
            x->bal_null = PQgetisnull(r, i, 3);
            x->bal = atoll(PQgetvalue(r, i, 3));
            x->score = atof(PQgetvalue(r, i, 4));
        }
    }
    PQclear(r);
    /* Awkward text: 100 KB, UTF-8, empty vs NULL; types that come as text. */
    if (!g_init_err[0] &&
        admin_exec(c, "SET client_min_messages = warning") &&
        admin_exec(c, "DROP TABLE IF EXISTS aw_text") &&
        admin_exec(c, "CREATE TABLE aw_text(id INT PRIMARY KEY, t TEXT NULL, u VARCHAR(40) NULL, "
                      "d NUMERIC(10,3) NULL, dt TIMESTAMP NULL, b BOOL NULL, a INT[] NULL, y BYTEA NULL)") &&
        admin_exec(c, "INSERT INTO aw_text VALUES (1, 'ab cd', 'Ærøskøbing ✓', 12.345, "
                      "'2024-02-29 13:14:15', true, '{1,2,NULL}', 'ab'::bytea), "
                      "(2, repeat('x', 100000), NULL, NULL, NULL, false, NULL, NULL), "
                      "(3, '', NULL, NULL, NULL, NULL, '{}', ''::bytea)") &&
        admin_exec(c, "UPDATE aw_text SET t = overlay(t placing 'ab' from 1) WHERE id = 2") &&
        admin_exec(c, "GRANT SELECT ON aw_text TO aw"))
        pt.ok = true;
    PQfinish(c);
    return 0;
}

int aw_postgres_suite_clean(void)
{
    free(g_rows);
    g_rows = NULL;
    return 0;
}

/* ---------------------------------------------------------- the lookup */

typedef struct cust { int64_t id; char name[24], city[16]; bool city_null, bal_null; int64_t bal; double score; } cust;

static int bind_id(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

static int row_cust(void *ctx, void *input, const aw_row *r, void **out)
{
    cust *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    snprintf(c->name, sizeof c->name, "%s", aw_row_text(r, 1, NULL) ? aw_row_text(r, 1, NULL) : "?");
    c->city_null = aw_row_is_null(r, 2);
    if (!c->city_null) snprintf(c->city, sizeof c->city, "%s", aw_row_text(r, 2, NULL));
    c->bal_null = aw_row_is_null(r, 3);
    c->bal = aw_row_int64(r, 3);
    c->score = aw_row_double(r, 4);
    *out = c;
    return aw_row_type(r, 0) == AW_VINT64 && aw_row_type(r, 4) == AW_VDOUBLE &&
           (c->bal_null || aw_row_type(r, 3) == AW_VINT64) ? 0 : (free(c), AW_EINVAL);
}

void pt_free_res(void *ctx, void *r) { free(r); }

const aw_lookup pt_cust_lookup = {
    .sql = "SELECT id, name, city, balance, score FROM customers WHERE id = ?",
    .bind = bind_id, .row = row_cust, .free_result = pt_free_res };

typedef struct check { long emitted, wrong, rows, failed; char first[200]; } check;

static void ck_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    check *k = ctx;
    intptr_t id = (intptr_t)input;
    bool exists = id >= 1 && id <= g_nrows;
    if ((size_t)exists != n) k->wrong++;
    if (exists && n == 1) {
        const cust *c = res[0];
        const row_t *w = &g_rows[id];
        if (c->id != id || strcmp(c->name, w->name) || c->city_null != w->city_null ||
            (!w->city_null && strcmp(c->city, w->city)) || c->bal_null != w->bal_null ||
            c->bal != w->bal || c->score != w->score)
            k->wrong++;
    }
    for (size_t i = 0; i < n; i++) free(res[i]);
    k->rows += (long)n;
    k->emitted++;
}

static void ck_error(void *ctx, void *input, int err, const char *msg)
{
    check *k = ctx;
    if (!k->failed++) snprintf(k->first, sizeof k->first, "%s: %s", aw_err_name(err), msg);
}

static void matches_direct_query(int si, const char *extra)
{
    if (!pt_need_server()) return;
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    unsigned seed = 7;
    for (int m = 0; m < 3; m++) {
        char uri[400], err[1024];
        pt_uri(uri, sizeof uri, pt_strat[si], 4, extra);
        aw_adapter *a;
        ASSERT_EQ(aw_adapter_open(&a, uri, &pt_cust_lookup, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.500s", err); return; }
        ASSERT_STR_CONTAINS(aw_adapter_scheme(a), "postgres");
        check k = { 0 };
        aw_config cfg = { .mode = modes[m], .capacity = 256 };
        aw_sink sink = { .ctx = &k, .emit = ck_emit, .error = ck_error, .release = pt_free_res };
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (int i = 0; i < 10000; i++) {
            intptr_t id = rand_r(&seed) % (g_nrows + g_nrows / 10) + 1;   /* some miss */
            ASSERT_EQ(aw_op_push(op, (void *)id, i), 0);
            if (modes[m] == AW_UNORDERED_EVENT_TIME && i % 500 == 499) ASSERT_EQ(aw_op_watermark(op, i), 0);
        }
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_postgres_stats st;
        ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
        ASSERT_EQ(st.queries, 10000);
        ASSERT_EQ(st.connected, 4);
        ASSERT_EQ(st.strategy, pt_strat[si]);
        aw_op_free(op);
        ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
        if (pt_strat[si] == AW_POSTGRES_POOL) ASSERT_EQ(st.connected, 0);
        aw_adapter_close(a);
        if (k.failed) AW__FAIL("first error: %s", k.first);
        ASSERT_EQ(k.emitted, 10000);
        ASSERT_EQ(k.wrong, 0);
        ASSERT_TRUE(k.rows > 8500 && k.rows < 9500);
    }
}

static void postgres_matches_direct_query_pool(void) { matches_direct_query(0, NULL); }
static void postgres_matches_direct_query_async(void) { matches_direct_query(1, "pipeline=16"); }
static void postgres_matches_direct_query_async_thread(void) { matches_direct_query(1, "pipeline=64&io=thread"); }

/* --------------------------------------------- rows, NULLs, text, errors */

typedef struct val { bool null, terminated; int type; size_t len; char data[]; } val;
typedef struct one { long n, failed; int err; char msg[300]; val *v[8]; } one;

int pt_bind_all(void *ctx, void *input, aw_params *p)
{
    for (int i = 0; i < (int)(intptr_t)ctx; i++)
        if (aw_params_int64(p, i, (intptr_t)input)) return AW_EINVAL;
    return 0;
}

int pt_row_val(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t len = 0;
    const char *t = aw_row_text(r, 0, &len);
    val *v = malloc(sizeof *v + len + 1);
    if (!v) return AW_ENOMEM;
    v->null = !t;
    v->type = aw_row_type(r, 0);
    v->len = len;
    v->terminated = !t || t[len] == 0;
    if (t) memcpy(v->data, t, len);
    v->data[len] = 0;
    *out = v;
    return 0;
}

typedef struct session { aw_adapter *a; aw_op *op; one *cur; } session;

static void s_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    one *o = ((session *)ctx)->cur;
    o->n = (long)n;
    for (size_t i = 0; i < n; i++) {
        if (i < 8) o->v[i] = res[i];
        else free(res[i]);
    }
}

static void s_error(void *ctx, void *input, int err, const char *msg)
{
    one *o = ((session *)ctx)->cur;
    o->failed++;
    o->err = err;
    snprintf(o->msg, sizeof o->msg, "%s", msg);
}

static void run_one(session *s, intptr_t key, one *o)
{
    memset(o, 0, sizeof *o);
    if (!s->op) {
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_sink sink = { .ctx = s, .emit = s_emit, .error = s_error, .release = pt_free_res };
        ASSERT_EQ(aw_op_new(&s->op, &cfg, aw_adapter_function(s->a), &sink), 0);
        if (!s->op) return;
    }
    s->cur = o;
    ASSERT_EQ(aw_op_push(s->op, (void *)key, 0), 0);
    ASSERT_EQ(aw_op_drain(s->op), 0);
}

static void session_end(session *s)
{
    aw_op_free(s->op);
    aw_adapter_close(s->a);
    memset(s, 0, sizeof *s);
}

static void one_free(one *o) { for (int i = 0; i < 8; i++) free(o->v[i]); memset(o->v, 0, sizeof o->v); }

static aw_adapter *open_sql(int si, const char *sql, int params, aw_lookup *l, const char *extra)
{
    char uri[400], err[1024];
    *l = (aw_lookup){ .ctx = (void *)(intptr_t)params, .sql = sql, .bind = pt_bind_all, .row = pt_row_val,
                      .free_result = pt_free_res };
    pt_uri(uri, sizeof uri, pt_strat[si], 2, extra);
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open %.100s: %s: %.700s", sql, aw_err_name(rc), err);
    return a;
}

static bool is_val(const val *v, const char *bytes, size_t len)
{
    return v && !v->null && v->terminated && v->len == len && !memcmp(v->data, bytes, len);
}

#define IS(v, lit) is_val((v), lit, sizeof lit - 1)

static void rows_nulls_text(int si)
{
    if (!pt_need_server()) return;
    aw_lookup l1, l2, l3;
    session items = { .a = open_sql(si, "SELECT label FROM items WHERE cust = ? ORDER BY seq", 1, &l1, NULL) };
    session city = { .a = open_sql(si, "SELECT city FROM customers WHERE id = ?", 1, &l2, NULL) };
    session text = { .a = open_sql(si, "SELECT t FROM aw_text WHERE id = ? UNION ALL SELECT u FROM aw_text "
                                   "WHERE id = ? UNION ALL SELECT d::text FROM aw_text WHERE id = ? UNION ALL "
                                   "SELECT dt::text FROM aw_text WHERE id = ? UNION ALL SELECT b::text FROM aw_text "
                                   "WHERE id = ? UNION ALL SELECT a::text FROM aw_text WHERE id = ? UNION ALL "
                                   "SELECT y::text FROM aw_text WHERE id = ?", 7, &l3, NULL) };
    if (!items.a || !city.a || !text.a) goto out;
    one o;
    for (intptr_t c = 1; c <= 9; c++) {           /* cust c has c % 5 rows */
        run_one(&items, c, &o);
        ASSERT_EQ(o.n, c % 5);
        for (int i = 0; i < o.n && i < 8; i++) {
            char want[32];
            int n = snprintf(want, sizeof want, "item-%d-%d", (int)c, i);
            ASSERT_TRUE(is_val(o.v[i], want, (size_t)n));
        }
        one_free(&o);
    }
    run_one(&items, 0, &o);                        /* many: 5000 rows */
    ASSERT_EQ(o.n, 5000);
    ASSERT_EQ(o.failed, 0);
    ASSERT_TRUE(IS(o.v[7], "item-0-7"));
    one_free(&o);
    run_one(&items, -5, &o);                       /* none: 0 results, not an error */
    ASSERT_EQ(o.n, 0);
    ASSERT_EQ(o.failed, 0);
    run_one(&city, 7, &o);                         /* a NULL */
    ASSERT_EQ(o.n, 1);
    ASSERT_TRUE(o.v[0] && o.v[0]->null && o.v[0]->type == AW_VNULL);
    one_free(&o);
    run_one(&city, 8, &o);
    ASSERT_TRUE(IS(o.v[0], "city-8"));
    ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VTEXT);
    one_free(&o);
    run_one(&text, 1, &o);                         /* UTF-8, numeric, timestamp, bool, array, bytea */
    ASSERT_EQ(o.n, 7);
    ASSERT_TRUE(IS(o.v[0], "ab cd"));
    ASSERT_TRUE(IS(o.v[1], "Ærøskøbing ✓"));
    ASSERT_TRUE(IS(o.v[2], "12.345"));
    ASSERT_TRUE(IS(o.v[3], "2024-02-29 13:14:15"));
    ASSERT_TRUE(IS(o.v[4], "true"));
    ASSERT_TRUE(IS(o.v[5], "{1,2,NULL}"));
    ASSERT_TRUE(IS(o.v[6], "\\x6162"));
    one_free(&o);
    run_one(&text, 2, &o);                         /* 100 KB */
    ASSERT_EQ(o.n, 7);
    ASSERT_TRUE(o.v[0] && o.v[0]->len == 100000 && o.v[0]->terminated);
    ASSERT_TRUE(o.v[0] && o.v[0]->data[0] == 'a' && o.v[0]->data[1] == 'b' && o.v[0]->data[99999] == 'x');
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    ASSERT_TRUE(IS(o.v[4], "false"));
    one_free(&o);
    run_one(&text, 3, &o);                         /* empty is not NULL */
    ASSERT_TRUE(IS(o.v[0], ""));
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    ASSERT_TRUE(IS(o.v[5], "{}"));
    ASSERT_TRUE(IS(o.v[6], "\\x"));
    one_free(&o);
out:
    session_end(&items);
    session_end(&city);
    session_end(&text);
}

static void postgres_rows_nulls_text_pool(void) { rows_nulls_text(0); }
static void postgres_rows_nulls_text_async(void) { rows_nulls_text(1); }

/* Native bool is text "t"/"f"; ? in literals, quoted names, comments and
 * dollar quotes stays a ?; values of every mapped type. */
static void postgres_types_and_placeholders(void)
{
    if (!pt_need_server()) return;
    for (int si = 0; si < PT_NSTRAT; si++) {
        aw_lookup l;
        session s = { .a = open_sql(si, "SELECT '?' || ? || E'\\'?' || $$?$$ || $q$?$q$ AS \"wh?\" -- ?\n"
                                    "/* ? /* ? */ */", 1, &l, NULL) };
        if (!s.a) return;
        const char *const *names = NULL;
        int nc = 0, np = 0;
        ASSERT_EQ(aw_adapter_columns(s.a, &names, &nc, &np), 0);
        ASSERT_EQ(np, 1);
        ASSERT_EQ(nc, 1);
        if (nc == 1) ASSERT_STR_CONTAINS(names[0], "wh?");
        one o;
        run_one(&s, 42, &o);
        ASSERT_EQ(o.failed, 0);
        ASSERT_TRUE(IS(o.v[0], "?42'???"));
        one_free(&o);
        session_end(&s);
        s.a = open_sql(si, "SELECT x FROM (VALUES (1, ?::int2::text), (2, (?::int4 * 2)::text), "
                       "(3, (?::float4 / 4)::text), (4, (true AND ? > 0)::text)) v(n, x) ORDER BY n", 4, &l, NULL);
        if (!s.a) return;
        run_one(&s, 6, &o);
        ASSERT_EQ(o.n, 4);
        ASSERT_TRUE(IS(o.v[0], "6"));
        ASSERT_TRUE(IS(o.v[1], "12"));
        ASSERT_TRUE(IS(o.v[2], "1.5"));
        ASSERT_TRUE(IS(o.v[3], "true"));
        one_free(&o);
        session_end(&s);
        s.a = open_sql(si, "SELECT ?::int2 UNION ALL SELECT ?::int4 * 2 UNION ALL SELECT ?::int8 * 3", 3, &l, NULL);
        if (!s.a) return;
        run_one(&s, 7, &o);
        ASSERT_EQ(o.n, 3);
        ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VINT64 && IS(o.v[0], "7"));
        ASSERT_TRUE(o.v[2] && o.v[2]->type == AW_VINT64 && IS(o.v[2], "21"));
        one_free(&o);
        session_end(&s);
        s.a = open_sql(si, "SELECT ?::float8 / 8", 1, &l, NULL);
        if (!s.a) return;
        run_one(&s, 3, &o);
        ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VDOUBLE);
        one_free(&o);
        session_end(&s);
    }
}

/* A query that fails for some keys fails those records with AW_EQUERY and
 * the server's words; the connection serves the next ones. */
static int bind_odd(void *ctx, void *input, aw_params *p)
{
    intptr_t k = (intptr_t)input;
    if (k == 100) return AW_EINVAL;
    if (k == 101) { aw_params_int64(p, 0, 1); return aw_params_int64(p, 1, 2); }
    if (k == 102) return aw_params_text(p, 0, "a\0b", 3);
    if (k == 103) return aw_params_text(p, 0, "x", 1);
    if (k == 104) return aw_params_double(p, 0, 4.0);
    return aw_params_int64(p, 0, k);
}

static void postgres_query_errors(void)
{
    if (!pt_need_server()) return;
    for (int si = 0; si < PT_NSTRAT; si++) {
        aw_lookup l = { .sql = "SELECT 12 / (?::int - 3)", .bind = bind_odd, .row = pt_row_val,
                        .free_result = pt_free_res };
        char uri[400], err[1024];
        pt_uri(uri, sizeof uri, pt_strat[si], 1, NULL);
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.500s", err); return; }
        session ss = { .a = a };
        one o;
        run_one(&ss, 3, &o);
        ASSERT_EQ(o.failed, 1);
        ASSERT_EQ(o.err, AW_EQUERY);
        ASSERT_STR_CONTAINS(o.msg, "division by zero");
        ASSERT_STR_CONTAINS(o.msg, "SQLSTATE 22012");
        run_one(&ss, 5, &o);
        ASSERT_EQ(o.failed, 0);
        ASSERT_TRUE(IS(o.v[0], "6"));
        one_free(&o);
        run_one(&ss, 100, &o);
        ASSERT_EQ(o.err, AW_EINVAL);
        ASSERT_STR_CONTAINS(o.msg, "bind");
        run_one(&ss, 101, &o);
        ASSERT_EQ(o.err, AW_EQUERY);
        ASSERT_STR_CONTAINS(o.msg, "bound 2 parameters but the SQL has 1 placeholders");
        run_one(&ss, 102, &o);
        ASSERT_EQ(o.err, AW_EQUERY);
        ASSERT_STR_CONTAINS(o.msg, "NUL byte");
        run_one(&ss, 103, &o);
        ASSERT_EQ(o.err, AW_EQUERY);
        ASSERT_STR_CONTAINS(o.msg, "invalid input syntax for type integer");
        run_one(&ss, 4, &o);
        ASSERT_EQ(o.failed, 0);
        ASSERT_TRUE(IS(o.v[0], "12"));
        one_free(&o);
        aw_postgres_stats st;
        ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
        ASSERT_EQ(st.conn_lost, 0);
        session_end(&ss);
    }
}

/* Pipelined, a failing query aborts the ones after it up to the next
 * sync: they are sent again, so only the failing records fail. 3000
 * records, every 7th divides by zero, 2 connections x 64 in flight, and
 * the pool for the same answers. */
typedef struct pipe_tally { long ok, wrong, failed, other; } pipe_tally;

static void pe_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    pipe_tally *t = ctx;
    intptr_t k = (intptr_t)input;
    char want[32];
    int len = snprintf(want, sizeof want, "%ld", (long)(700 / (k % 7)));
    if (k % 7 != 0 && n == 1 && is_val(res[0], want, (size_t)len)) t->ok++;
    else t->wrong++;
    for (size_t i = 0; i < n; i++) free(res[i]);
}

static void pe_error(void *ctx, void *input, int err, const char *msg)
{
    pipe_tally *t = ctx;
    if ((intptr_t)input % 7 == 0 && err == AW_EQUERY && strstr(msg, "division by zero")) t->failed++;
    else t->other++;
}

static void postgres_query_errors_pipelined(void)
{
    if (!pt_need_server()) return;
    const char *extra[] = { "pipeline=64", "pipeline=64&io=thread", NULL };
    for (int i = 0; i < 3; i++) {
        aw_lookup l;
        aw_adapter *a = open_sql(i < 2 ? 1 : 0, "SELECT 700 / (?::int % 7)", 1, &l, extra[i]);
        if (!a) return;
        pipe_tally t = { 0 };
        aw_config cfg = { .mode = AW_UNORDERED, .capacity = 256 };
        aw_sink sink = { .ctx = &t, .emit = pe_emit, .error = pe_error, .release = pt_free_res };
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (intptr_t k = 1; k <= 3000; k++) ASSERT_EQ(aw_op_push(op, (void *)k, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_postgres_stats st;
        ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
        ASSERT_EQ(st.conn_lost, 0);
        aw_op_free(op);
        aw_adapter_close(a);
        ASSERT_EQ(t.failed, 3000 / 7);
        ASSERT_EQ(t.ok, 3000 - 3000 / 7);
        ASSERT_EQ(t.wrong, 0);
        ASSERT_EQ(t.other, 0);
    }
}

/* The ways in that work: the unix socket by libpq's host=, libpq
 * parameters passed through, postgresql://, the typed config. */
static void postgres_config_ways_in(void)
{
    if (!pt_need_server()) return;
    char uri[600], err[1024];
    aw_adapter *a = NULL;
    one o;
    aw_lookup l = { .ctx = (void *)(intptr_t)1, .sql = "SELECT name FROM customers WHERE id = ?",
                    .bind = pt_bind_all, .row = pt_row_val, .free_result = pt_free_res };
    snprintf(uri, sizeof uri, "postgresql://%s@/%s?host=%s&port=%d&threads=1&sslmode=disable&"
             "application_name=awtest&connect_timeout=3", pt.user, pt.db, pt.sock, pt.port);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    session ss = { .a = a };
    if (a) { run_one(&ss, 42, &o); ASSERT_TRUE(IS(o.v[0], "name-42")); one_free(&o); }
    else AW__FAIL("open: %.500s", err);
    session_end(&ss);
    /* the password in the URI */
    snprintf(uri, sizeof uri, "postgres://%s:%s@%s:%d/%s?threads=2", pt.user, pt.pass, pt.host, pt.port, pt.db);
    unsetenv("PGPASSWORD");
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    setenv("PGPASSWORD", pt.pass, 1);
    aw_postgres_stats ps;
    if (a) {
        ASSERT_EQ(aw_postgres_stats_get(a, &ps), 0);
        ASSERT_EQ(ps.strategy, AW_POSTGRES_POOL);
        ASSERT_EQ(ps.connected, 2);
    }
    aw_adapter_close(a);
    const char *opts[] = { "sslmode", "disable", "application_name", "aw-typed", NULL };
    for (int s = 0; s < PT_NSTRAT; s++) {
        aw_postgres_config c = { .host = pt.host, .port = (unsigned)pt.port, .user = pt.user,
                                 .database = pt.db, .options = opts, .strategy = pt_strat[s],
                                 .threads = 2, .connections = 2 };
        ASSERT_EQ(aw_postgres_open(&a, &c, &l, err, sizeof err), 0);
        session s2 = { .a = a };
        if (a) { run_one(&s2, 43, &o); ASSERT_TRUE(IS(o.v[0], "name-43")); one_free(&o); }
        session_end(&s2);
        c.database = "nope_db";
        ASSERT_EQ(aw_postgres_open(&a, &c, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_STR_CONTAINS(err, "unknown database 'nope_db'");
        c.database = pt.db;
        c.password = "wrong";
        ASSERT_EQ(aw_postgres_open(&a, &c, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_STR_CONTAINS(err, "wrong user or password");
    }
    ASSERT_EQ(aw_postgres_stats_get(NULL, NULL), AW_EINVAL);
}

CU_TestInfo aw_tests_postgres[] = {
    { "postgres_matches_direct_query_pool", postgres_matches_direct_query_pool },
    { "postgres_matches_direct_query_async", postgres_matches_direct_query_async },
    { "postgres_matches_direct_query_async_thread", postgres_matches_direct_query_async_thread },
    { "postgres_rows_nulls_text_pool", postgres_rows_nulls_text_pool },
    { "postgres_rows_nulls_text_async", postgres_rows_nulls_text_async },
    { "postgres_types_and_placeholders", postgres_types_and_placeholders },
    { "postgres_query_errors", postgres_query_errors },
    { "postgres_query_errors_pipelined", postgres_query_errors_pipelined },
    { "postgres_config_mistakes", postgres_config_mistakes },
    { "postgres_config_ways_in", postgres_config_ways_in },
    { "postgres_adapter_columns", postgres_adapter_columns },
    CU_TEST_INFO_NULL
};
#endif
