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
#include "adapter_test.h"
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

static at_cust *g_rows;
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
            at_cust *x = &g_rows[id];
            x->id = id;
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

static bool cust_types(const aw_row *r)
{
    return aw_row_type(r, 0) == AW_VINT64 && aw_row_type(r, 4) == AW_VDOUBLE &&
           (aw_row_is_null(r, 3) || aw_row_type(r, 3) == AW_VINT64);
}
static const at_cust_rule cust_rule = { cust_types };

const aw_lookup pt_cust_lookup = {
    .ctx = (void *)&cust_rule, .sql = "SELECT id, name, city, balance, score FROM customers WHERE id = ?",
    .bind = at_bind_id, .row = at_row_cust, .free_result = at_free_res };

static aw_postgres_strategy g_direct_strat;

/* 10 000 lookups on 4 connections: as many queries; aw_op_free closes
 * the pool's connections. */
static void direct_stats(aw_adapter *a, bool freed)
{
    aw_postgres_stats st;
    ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
    if (!freed) {
        ASSERT_EQ(st.queries, 10000);
        ASSERT_EQ(st.connected, 4);
        ASSERT_EQ(st.strategy, g_direct_strat);
    } else if (g_direct_strat == AW_POSTGRES_POOL) {
        ASSERT_EQ(st.connected, 0);
    }
}

static void matches_direct_query(int si, const char *extra)
{
    if (!pt_need_server()) return;
    char uri[400];
    pt_uri(uri, sizeof uri, pt_strat[si], 4, extra);
    g_direct_strat = pt_strat[si];
    at_match m = { .uri = uri, .scheme = "postgres", .lookup = &pt_cust_lookup, .capacity = 256, .rows = g_nrows,
                   .table = g_rows, .stats = direct_stats };
    at_matches(&m);
}

static void postgres_matches_direct_query_pool(void) { matches_direct_query(0, NULL); }
static void postgres_matches_direct_query_async(void) { matches_direct_query(1, "pipeline=16"); }
static void postgres_matches_direct_query_async_thread(void) { matches_direct_query(1, "pipeline=64&io=thread"); }

/* --------------------------------------------- rows, NULLs, text, errors */

static void run_one(at_session *s, intptr_t key, at_one *o) { at_run_one(s, (void *)key, o); }

static aw_adapter *open_sql(int si, const char *sql, int params, aw_lookup *l, const char *extra)
{
    char uri[400];
    pt_uri(uri, sizeof uri, pt_strat[si], 2, extra);
    return at_open_vals(uri, sql, params, l);
}

static void rows_nulls_text(int si)
{
    if (!pt_need_server()) return;
    aw_lookup l3;
    at_session text = { .a = open_sql(si, "SELECT t FROM aw_text WHERE id = ? UNION ALL SELECT u FROM aw_text "
                                   "WHERE id = ? UNION ALL SELECT d::text FROM aw_text WHERE id = ? UNION ALL "
                                   "SELECT dt::text FROM aw_text WHERE id = ? UNION ALL SELECT b::text FROM aw_text "
                                   "WHERE id = ? UNION ALL SELECT a::text FROM aw_text WHERE id = ? UNION ALL "
                                   "SELECT y::text FROM aw_text WHERE id = ?", 7, &l3, NULL) };
    if (!text.a) return;
    char uri[400];
    pt_uri(uri, sizeof uri, pt_strat[si], 2, NULL);
    at_items_and_cities(uri, true);
    at_one o;
    run_one(&text, 1, &o);                         /* UTF-8, numeric, timestamp, bool, array, bytea */
    ASSERT_EQ(o.n, 7);
    ASSERT_TRUE(AT_IS(o.v[0], "ab cd"));
    ASSERT_TRUE(AT_IS(o.v[1], "Ærøskøbing ✓"));
    ASSERT_TRUE(AT_IS(o.v[2], "12.345"));
    ASSERT_TRUE(AT_IS(o.v[3], "2024-02-29 13:14:15"));
    ASSERT_TRUE(AT_IS(o.v[4], "true"));
    ASSERT_TRUE(AT_IS(o.v[5], "{1,2,NULL}"));
    ASSERT_TRUE(AT_IS(o.v[6], "\\x6162"));
    at_one_free(&o);
    run_one(&text, 2, &o);                         /* 100 KB */
    ASSERT_EQ(o.n, 7);
    ASSERT_TRUE(o.v[0] && o.v[0]->len == 100000 && o.v[0]->terminated);
    ASSERT_TRUE(o.v[0] && o.v[0]->data[0] == 'a' && o.v[0]->data[1] == 'b' && o.v[0]->data[99999] == 'x');
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    ASSERT_TRUE(AT_IS(o.v[4], "false"));
    at_one_free(&o);
    run_one(&text, 3, &o);                         /* empty is not NULL */
    ASSERT_TRUE(AT_IS(o.v[0], ""));
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    ASSERT_TRUE(AT_IS(o.v[5], "{}"));
    ASSERT_TRUE(AT_IS(o.v[6], "\\x"));
    at_one_free(&o);
    at_session_end(&text);
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
        at_session s = { .a = open_sql(si, "SELECT '?' || ? || E'\\'?' || $$?$$ || $q$?$q$ AS \"wh?\" -- ?\n"
                                    "/* ? /* ? */ */", 1, &l, NULL) };
        if (!s.a) return;
        const char *const *names = NULL;
        int nc = 0, np = 0;
        ASSERT_EQ(aw_adapter_columns(s.a, &names, &nc, &np), 0);
        ASSERT_EQ(np, 1);
        ASSERT_EQ(nc, 1);
        if (nc == 1) ASSERT_STR_CONTAINS(names[0], "wh?");
        at_one o;
        run_one(&s, 42, &o);
        ASSERT_EQ(o.failed, 0);
        ASSERT_TRUE(AT_IS(o.v[0], "?42'???"));
        at_one_free(&o);
        at_session_end(&s);
        s.a = open_sql(si, "SELECT x FROM (VALUES (1, ?::int2::text), (2, (?::int4 * 2)::text), "
                       "(3, (?::float4 / 4)::text), (4, (true AND ? > 0)::text)) v(n, x) ORDER BY n", 4, &l, NULL);
        if (!s.a) return;
        run_one(&s, 6, &o);
        ASSERT_EQ(o.n, 4);
        ASSERT_TRUE(AT_IS(o.v[0], "6"));
        ASSERT_TRUE(AT_IS(o.v[1], "12"));
        ASSERT_TRUE(AT_IS(o.v[2], "1.5"));
        ASSERT_TRUE(AT_IS(o.v[3], "true"));
        at_one_free(&o);
        at_session_end(&s);
        s.a = open_sql(si, "SELECT ?::int2 UNION ALL SELECT ?::int4 * 2 UNION ALL SELECT ?::int8 * 3", 3, &l, NULL);
        if (!s.a) return;
        run_one(&s, 7, &o);
        ASSERT_EQ(o.n, 3);
        ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VINT64 && AT_IS(o.v[0], "7"));
        ASSERT_TRUE(o.v[2] && o.v[2]->type == AW_VINT64 && AT_IS(o.v[2], "21"));
        at_one_free(&o);
        at_session_end(&s);
        s.a = open_sql(si, "SELECT ?::float8 / 8", 1, &l, NULL);
        if (!s.a) return;
        run_one(&s, 3, &o);
        ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VDOUBLE);
        at_one_free(&o);
        at_session_end(&s);
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
        aw_lookup l = { .sql = "SELECT 12 / (?::int - 3)", .bind = bind_odd, .row = at_row_val,
                        .free_result = at_free_res };
        char uri[400], err[1024];
        pt_uri(uri, sizeof uri, pt_strat[si], 1, NULL);
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.500s", err); return; }
        at_session ss = { .a = a };
        at_one o;
        run_one(&ss, 3, &o);
        ASSERT_EQ(o.failed, 1);
        ASSERT_EQ(o.err, AW_EQUERY);
        ASSERT_STR_CONTAINS(o.msg, "division by zero");
        ASSERT_STR_CONTAINS(o.msg, "SQLSTATE 22012");
        run_one(&ss, 5, &o);
        ASSERT_EQ(o.failed, 0);
        ASSERT_TRUE(AT_IS(o.v[0], "6"));
        at_one_free(&o);
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
        ASSERT_TRUE(AT_IS(o.v[0], "12"));
        at_one_free(&o);
        aw_postgres_stats st;
        ASSERT_EQ(aw_postgres_stats_get(a, &st), 0);
        ASSERT_EQ(st.conn_lost, 0);
        at_session_end(&ss);
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
    if (k % 7 != 0 && n == 1 && at_is_val(res[0], want, (size_t)len)) t->ok++;
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
        aw_sink sink = { .ctx = &t, .emit = pe_emit, .error = pe_error, .release = at_free_res };
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
    at_one o;
    aw_lookup l = { .ctx = (void *)(intptr_t)1, .sql = "SELECT name FROM customers WHERE id = ?",
                    .bind = at_bind_all, .row = at_row_val, .free_result = at_free_res };
    snprintf(uri, sizeof uri, "postgresql://%s@/%s?host=%s&port=%d&threads=1&sslmode=disable&"
             "application_name=awtest&connect_timeout=3", pt.user, pt.db, pt.sock, pt.port);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    at_session ss = { .a = a };
    if (a) { run_one(&ss, 42, &o); ASSERT_TRUE(AT_IS(o.v[0], "name-42")); at_one_free(&o); }
    else AW__FAIL("open: %.500s", err);
    at_session_end(&ss);
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
        at_session s2 = { .a = a };
        if (a) { run_one(&s2, 43, &o); ASSERT_TRUE(AT_IS(o.v[0], "name-43")); at_one_free(&o); }
        at_session_end(&s2);
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
