/* The MySQL adapter, both strategies, against a real throwaway MariaDB
 * (tests/mariadb.sh; `make test-mysql` starts it and sets AW_MYSQL_*):
 * results equal a direct query for 10 000 random keys in all three modes;
 * zero, one and many rows, NULLs, text (embedded NULs, 100 KB, UTF-8);
 * query errors; every configuration mistake's sentence; read timeouts;
 * timeouts while queued; closing while busy and from a callback. The
 * fault test (KILL, restart) is in test_mysql_fault.c.
 *
 * Without the environment every test fails with "no server: run via make
 * test-mysql": a suite that passes without having run would say nothing. */
#ifndef AW_HAVE_MYSQL
#include "aw_test.h"

static void mysql_not_built(void)
{
    AW__FAIL("the MySQL adapter is not built: install libmariadb-dev (scripts/deps.sh mysql) and rebuild");
}

CU_TestInfo aw_tests_mysql[] = { { "mysql_not_built", mysql_not_built }, CU_TEST_INFO_NULL };
int aw_mysql_suite_init(void) { return 0; }
int aw_mysql_suite_clean(void) { return 0; }
#else
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include "adapter_test.h"
#include "mysql_test.h"

mt_env mt;

/* Why the suite's set-up failed, if it did. A suite init that returns
 * non-zero would make CUnit skip the tests without counting a failure, so
 * init always returns 0 and every test reports this instead. */
static char g_init_err[400];

bool mt_need_server(void)
{
    if (mt.ok) return true;
    if (g_init_err[0]) {
        AW__FAIL("the server is there but the suite's set-up failed: %s", g_init_err);
        return false;
    }
    AW__FAIL("no server: run via make test-mysql (tests/mariadb.sh run ... sets AW_MYSQL_HOST, "
             "AW_MYSQL_PORT, AW_MYSQL_SOCKET, AW_MYSQL_USER, AW_MYSQL_PASSWORD, AW_MYSQL_DB)");
    return false;
}

void mt_uri(char *buf, size_t n, int s, size_t count, const char *extra)
{
    snprintf(buf, n, "mysql://%s@%s:%d/%s?strategy=%s&%s=%zu%s%s%s", mt.user, mt.host, mt.port, mt.db,
             s == MT_POOL ? "pool" : "async", s == MT_POOL ? "threads" : "connections", count,
             s == MT_POOL ? "" : s == MT_THREAD ? "&io=thread" : "&io=owner",
             extra && *extra ? "&" : "", extra ? extra : "");
}

MYSQL *mt_admin(void)
{
    MYSQL *m = mysql_init(NULL);
    if (m && !mysql_real_connect(m, "localhost", "root", NULL, mt.db, 0, mt.sock, 0)) {
        fprintf(stderr, "admin connection: %s\n", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}

int mt_ctl(const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s '%s' >/dev/null", mt.ctl, cmd, mt.dir);
    return system(line);
}

/* --------------------------------------------------- the direct answers */

/* customers as a direct query returned them, by id. */
static at_cust *g_rows;
static long g_nrows;

int aw_mysql_suite_init(void)
{
    const char *port = getenv("AW_MYSQL_PORT"), *rows = getenv("AW_MYSQL_ROWS");
    mt = (mt_env){ false, getenv("AW_MYSQL_HOST"), getenv("AW_MYSQL_SOCKET"), getenv("AW_MYSQL_USER"),
                   getenv("AW_MYSQL_PASSWORD"), getenv("AW_MYSQL_DB"), getenv("AW_MYSQL_DIR"),
                   getenv("AW_MYSQL_CTL"), port ? atoi(port) : 0, rows ? atol(rows) : 0 };
    if (!mt.host || !mt.sock || !mt.user || !mt.pass || !mt.db || !mt.dir || !mt.ctl || mt.port <= 0 ||
        mt.rows < 1000)
        return 0;                      /* each test then says "no server" */
    if (mysql_library_init(0, NULL, NULL)) {
        snprintf(g_init_err, sizeof g_init_err, "mysql_library_init failed");
        return 0;
    }
    MYSQL *m = mt_admin();
    if (!m) {
        snprintf(g_init_err, sizeof g_init_err, "no admin connection (root over %s)", mt.sock);
        return 0;
    }
    g_nrows = mt.rows;
    g_rows = calloc((size_t)g_nrows + 1, sizeof *g_rows);
    if (!g_rows || mysql_query(m, "SELECT id, name, city, balance, score FROM customers")) {
        snprintf(g_init_err, sizeof g_init_err, "cannot read customers: %s", mysql_error(m));
        mysql_close(m);
        return 0;
    }
    MYSQL_RES *res = mysql_use_result(m);
    MYSQL_ROW r;
    while (res && (r = mysql_fetch_row(res))) {
        long id = atol(r[0]);
        if (id < 1 || id > g_nrows) continue;
        at_cust *x = &g_rows[id];
        x->id = id;
        snprintf(x->name, sizeof x->name, "%s", r[1]);
        x->city_null = !r[2];
        if (r[2]) snprintf(x->city, sizeof x->city, "%s", r[2]);
        x->bal_null = !r[3];
        x->bal = r[3] ? atoll(r[3]) : 0;
        x->score = r[4] ? atof(r[4]) : 0;
    }
    if (res) mysql_free_result(res);
    /* Awkward text: embedded NULs, 100 KB, UTF-8, empty vs NULL; and
     * types that come as text. */
    static char big[100001];
    memset(big, 'x', 100000);
    for (int i = 0; i < 100000; i += 1000) big[i] = (char)('a' + (i / 1000) % 26);
    char *esc = malloc(2 * 100000 + 1);
    char *sql = malloc(2 * 100000 + 300);
    int bad = !esc || !sql;
    if (!bad) {
        mysql_real_escape_string(m, esc, big, 100000);
        snprintf(sql, 2 * 100000 + 300, "INSERT INTO aw_text VALUES (2, '%s', NULL, NULL, NULL)", esc);
    }
    static const char first[] = "INSERT INTO aw_text VALUES (1, 'ab\0cd', 'Ærøskøbing ✓', 12.345, "
                                "'2024-02-29 13:14:15')";
    bad = bad || mysql_query(m, "SET NAMES utf8mb4") || mysql_query(m, "DROP TABLE IF EXISTS aw_text") ||
          mysql_query(m, "CREATE TABLE aw_text(id INT PRIMARY KEY, t LONGBLOB NULL, u VARCHAR(40) "
                         "CHARACTER SET utf8mb4 NULL, d DECIMAL(10,3) NULL, dt DATETIME NULL)") ||
          mysql_real_query(m, first, sizeof first - 1) ||
          mysql_query(m, sql) ||
          mysql_query(m, "INSERT INTO aw_text VALUES (3, '', NULL, NULL, NULL)");
    if (bad) snprintf(g_init_err, sizeof g_init_err, "cannot make aw_text: %s", mysql_error(m));
    free(esc);
    free(sql);
    mysql_close(m);
    mt.ok = !bad;
    return 0;
}

int aw_mysql_suite_clean(void)
{
    free(g_rows);                      /* the direct answers */
    g_rows = NULL;
    return 0;
}

/* ------------------------------------------------- the customers lookup */

static bool cust_types(const aw_row *r) { return aw_row_type(r, 0) == AW_VINT64 && aw_row_type(r, 4) == AW_VDOUBLE; }
static const at_cust_rule cust_rule = { cust_types };

static const aw_lookup cust_lookup = {
    .ctx = (void *)&cust_rule, .sql = "SELECT id, name, city, balance, score FROM customers WHERE id = ?",
    .bind = at_bind_id, .row = at_row_cust, .free_result = at_free_res };

/* 10 000 lookups on 4 connections: as many queries; aw_op_free closes
 * the connections. */
static void direct_stats(aw_adapter *a, bool freed)
{
    aw_mysql_stats st;
    ASSERT_EQ(aw_mysql_stats_get(a, &st), 0);
    if (!freed) ASSERT_EQ(st.queries, 10000);
    ASSERT_EQ(st.connected, freed ? 0 : 4);
}

static void matches_direct_query(int s)
{
    if (!mt_need_server()) return;
    char uri[400];
    mt_uri(uri, sizeof uri, s, 4, NULL);
    at_match m = { .uri = uri, .scheme = "mysql", .lookup = &cust_lookup, .capacity = 64, .rows = g_nrows,
                   .table = g_rows, .stats = direct_stats };
    at_matches(&m);
}

static void mysql_matches_direct_query_pool(void) { matches_direct_query(AW_MYSQL_POOL); }
static void mysql_matches_direct_query_async(void) { matches_direct_query(MT_OWNER); }
static void mysql_matches_direct_query_async_thread(void) { matches_direct_query(MT_THREAD); }

/* --------------------------------------------- rows, NULLs, text, errors */

static void run_one(at_session *s, intptr_t key, at_one *o) { at_run_one(s, (void *)key, o); }

/* Opens an adapter running sql, binding the key to its first `params`
 * placeholders. */
static aw_adapter *open_sql(int s, const char *sql, int params, aw_lookup *l, const char *extra)
{
    char uri[400];
    mt_uri(uri, sizeof uri, s, 2, extra);
    return at_open_vals(uri, sql, params, l);
}

static void rows_nulls_text(int s)
{
    if (!mt_need_server()) return;
    aw_lookup l3;
    at_session text = { .a = open_sql(s, "SELECT t FROM aw_text WHERE id = ? UNION ALL SELECT u FROM aw_text "
                                 "WHERE id = ? UNION ALL SELECT d FROM aw_text WHERE id = ? UNION ALL "
                                 "SELECT dt FROM aw_text WHERE id = ?", 4, &l3, NULL) };
    if (!text.a) return;
    char uri[400];
    mt_uri(uri, sizeof uri, s, 2, NULL);
    at_items_and_cities(uri, false);
    at_one o;
    run_one(&text, 1, &o);                         /* embedded NUL, UTF-8, DECIMAL, DATETIME */
    ASSERT_EQ(o.n, 4);
    ASSERT_TRUE(at_is_val(o.v[0], "ab\0cd", 5));
    ASSERT_TRUE(at_is_val(o.v[1], "Ærøskøbing ✓", strlen("Ærøskøbing ✓")));
    ASSERT_TRUE(at_is_val(o.v[2], "12.345", 6));
    ASSERT_TRUE(at_is_val(o.v[3], "2024-02-29 13:14:15", 19));
    at_one_free(&o);
    run_one(&text, 2, &o);                         /* 100 KB: the buffer grows */
    ASSERT_EQ(o.n, 4);
    ASSERT_TRUE(o.v[0] && o.v[0]->len == 100000 && o.v[0]->terminated);
    ASSERT_TRUE(o.v[0] && o.v[0]->data[0] == 'a' && o.v[0]->data[1000] == 'b' && o.v[0]->data[99999] == 'x');
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    at_one_free(&o);
    run_one(&text, 3, &o);                         /* empty is not NULL */
    ASSERT_TRUE(at_is_val(o.v[0], "", 0));
    ASSERT_TRUE(o.v[1] && o.v[1]->null);
    at_one_free(&o);
    run_one(&text, 1, &o);                         /* small again after the big one */
    ASSERT_TRUE(at_is_val(o.v[0], "ab\0cd", 5));
    at_one_free(&o);
    at_session_end(&text);
}

static void mysql_rows_nulls_text_pool(void) { rows_nulls_text(AW_MYSQL_POOL); }
static void mysql_rows_nulls_text_async(void) { rows_nulls_text(MT_OWNER); }
static void mysql_rows_nulls_text_async_thread(void) { rows_nulls_text(MT_THREAD); }

/* A query that fails for some keys fails those records with AW_EQUERY and
 * the server's words; the connection serves the next ones. A bind error
 * and a bind with too many values fail their record only. */
static int bind_odd(void *ctx, void *input, aw_params *p)
{
    intptr_t k = (intptr_t)input;
    if (k == 100) return AW_EINVAL;                                 /* bind refuses */
    if (k == 101) { aw_params_int64(p, 0, 1); return aw_params_int64(p, 1, 2); }   /* too many */
    return aw_params_int64(p, 0, k);
}

static void query_errors(int s)
{
    if (!mt_need_server()) return;
    char uri[400], err[1024];
    mt_uri(uri, sizeof uri, s, 1, NULL);
    aw_lookup l = { .ctx = (void *)(intptr_t)1, .sql = "SELECT (SELECT label FROM items WHERE cust = ?)",
                    .bind = bind_odd, .row = at_row_val, .free_result = at_free_res };
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open: %.900s", err); return; }
    at_session ss = { .a = a };
    at_one o;
    run_one(&ss, 3, &o);                            /* 3 rows in a scalar subquery */
    ASSERT_EQ(o.failed, 1);
    ASSERT_EQ(o.err, AW_EQUERY);
    ASSERT_STR_CONTAINS(o.msg, "Subquery returns more than 1 row");
    run_one(&ss, 1, &o);                            /* one row: fine, same connection */
    ASSERT_EQ(o.failed, 0);
    ASSERT_TRUE(at_is_val(o.v[0], "item-1-0", 8));
    at_one_free(&o);
    at_bind_mistakes(&ss, (void *)100, (void *)101, "SQL");
    run_one(&ss, 5, &o);                            /* 0 rows: NULL from the subquery */
    ASSERT_EQ(o.failed, 0);
    ASSERT_EQ(o.n, 1);
    at_one_free(&o);
    aw_mysql_stats st;
    ASSERT_EQ(aw_mysql_stats_get(a, &st), 0);
    ASSERT_EQ(st.conn_lost, 0);
    at_session_end(&ss);
}

static void mysql_query_errors_pool(void) { query_errors(AW_MYSQL_POOL); }
static void mysql_query_errors_async(void) { query_errors(MT_OWNER); }
static void mysql_query_errors_async_thread(void) { query_errors(MT_THREAD); }

/* ------------------------------------------------ configuration mistakes */

static void expect_open(const char *uri, int code, const char *words)
{
    at_expect_open(uri, &cust_lookup, code, words, mt.pass, NULL);
}

static void mysql_config_mistakes(void)
{
    if (!mt_need_server()) return;
    char uri[600], words[200];
    const char *st[2] = { "pool&threads=2", "async&connections=2" };
    for (int i = 0; i < 2; i++) {
        snprintf(uri, sizeof uri, "mysql://%s:wrong-password@%s:%d/%s?strategy=%s", mt.user, mt.host,
                 mt.port, mt.db, st[i]);
        expect_open(uri, AW_ECONFIG, "wrong user or password");
        expect_open(uri, AW_ECONFIG, "Access denied for user");
        int port = at_free_port();
        snprintf(uri, sizeof uri, "mysql://%s@127.0.0.1:%d/%s?strategy=%s", mt.user, port, mt.db, st[i]);
        snprintf(words, sizeof words, "cannot reach a server at 127.0.0.1:%d", port);
        expect_open(uri, AW_ECONN, words);
        snprintf(uri, sizeof uri, "mysql://%s@%s:%d/nope_db?strategy=%s", mt.user, mt.host, mt.port, st[i]);
        expect_open(uri, AW_ECONFIG, "unknown database 'nope_db'");
        snprintf(uri, sizeof uri, "mysql://%s@%s/%s?strategy=%s&unix_socket=/nonexistent/sock", mt.user,
                 mt.host, mt.db, st[i]);
        expect_open(uri, AW_ECONN, "cannot reach a server at unix socket /nonexistent/sock");
        /* SQL that does not prepare: syntax, a missing table, a missing column. */
        mt_uri(uri, sizeof uri, i ? AW_MYSQL_ASYNC : AW_MYSQL_POOL, 2, NULL);
        at_sql_mistakes(uri, &cust_lookup, "SQL syntax", "no_such_table' doesn't exist", "Unknown column 'nope'");
    }
    static const at_bad_uri bad[] = {
        { "?strategy=pool&bogus=1", AW_ECONFIG, "unknown parameter 'bogus' in mysql URI" },
        { "?strategy=fast", AW_ECONFIG, "strategy=fast: must be async or pool" },
        { "?strategy=async&threads=4", AW_ECONFIG, "threads= is for strategy=pool" },
        { "?threads=4&connections=4", AW_ECONFIG, "exclude each other" },
        { "?strategy=pool&connections=4", AW_ECONFIG, "connections= is for strategy=async" },
        { "?strategy=async&io=fast", AW_ECONFIG, "io=fast: must be owner" },
        { "?strategy=pool&io=owner", AW_ECONFIG, "io= is for strategy=async" },
        { "?threads=2&io=thread", AW_ECONFIG, "io= is for strategy=async" },
        { "?connections=0", AW_ECONFIG, "connections=0: must be a whole number from 1 to 1024" },
        { "?password_env=AW_TEST_UNSET_VARIABLE", AW_ECONFIG,
          "password_env=AW_TEST_UNSET_VARIABLE names an environment variable that is not set" },
    };
    snprintf(uri, sizeof uri, "mysql://%s@%s:%d/%s", mt.user, mt.host, mt.port, mt.db);
    at_expect_opens(uri, &cust_lookup, bad, sizeof bad / sizeof bad[0], mt.pass);
    expect_open("mysql:awtest", AW_ECONFIG, "mysql://user[:pass]@host[:port]/database");
}

/* The ways in that work: unix socket, password_env, the typed config. */
static void mysql_config_ways_in(void)
{
    if (!mt_need_server()) return;
    char uri[600], err[1024];
    aw_adapter *a = NULL;
    at_one o;
    snprintf(uri, sizeof uri, "mysql://%s@localhost/%s?unix_socket=%s&connections=1&"
             "connect_timeout_ms=2000&read_timeout_ms=5000", mt.user, mt.db, mt.sock);
    aw_lookup l = { .ctx = (void *)(intptr_t)1, .sql = "SELECT name FROM customers WHERE id = ?",
                    .bind = at_bind_all, .row = at_row_val, .free_result = at_free_res };
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    at_session ss = { .a = a };
    if (a) { run_one(&ss, 42, &o); ASSERT_TRUE(at_is_val(o.v[0], "name-42", 7)); at_one_free(&o); }
    at_session_end(&ss);
    setenv("AW_TEST_PW", mt.pass, 1);
    snprintf(uri, sizeof uri, "mysql://%s@%s:%d/%s?strategy=pool&threads=1&password_env=AW_TEST_PW",
             mt.user, mt.host, mt.port, mt.db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    aw_adapter_close(a);
    /* threads= alone means the pool: the lookup runs on a pool worker. */
    snprintf(uri, sizeof uri, "mysql://%s@%s:%d/%s?threads=2", mt.user, mt.host, mt.port, mt.db);
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    aw_mysql_stats ms;
    if (a) {
        ASSERT_EQ(aw_mysql_stats_get(a, &ms), 0);
        ASSERT_EQ(ms.strategy, AW_MYSQL_POOL);
        ASSERT_EQ(ms.connected, 2);
    }
    aw_adapter_close(a);
    for (int s = 0; s < 2; s++) {
        aw_mysql_config c = { .host = mt.host, .port = (unsigned)mt.port, .user = mt.user,
                              .password_env = "AW_TEST_PW", .database = mt.db,
                              .strategy = s ? AW_MYSQL_POOL : AW_MYSQL_ASYNC, .threads = 2, .connections = 2 };
        ASSERT_EQ(aw_mysql_open(&a, &c, &l, err, sizeof err), 0);
        if (a) {
            ASSERT_EQ(aw_mysql_stats_get(a, &ms), 0);
            ASSERT_EQ(ms.io, s ? AW_MYSQL_IO_DEFAULT : AW_MYSQL_IO_OWNER);   /* the default */
        }
        at_session s2 = { .a = a };
        if (a) { run_one(&s2, 43, &o); ASSERT_TRUE(at_is_val(o.v[0], "name-43", 7)); at_one_free(&o); }
        at_session_end(&s2);
        c.database = "nope_db";
        ASSERT_EQ(aw_mysql_open(&a, &c, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_STR_CONTAINS(err, "unknown database 'nope_db'");
        c.database = mt.db;
        c.password = "wrong";
        ASSERT_EQ(aw_mysql_open(&a, &c, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_STR_CONTAINS(err, "wrong user or password");
    }
    unsetenv("AW_TEST_PW");
    ASSERT_EQ(aw_mysql_stats_get(NULL, NULL), AW_EINVAL);
}

/* aw_adapter_columns: the names (aliases included) and the ? count as the
 * server prepared them, for both strategies. */
static void mysql_adapter_columns(void)
{
    if (!mt_need_server()) return;
    aw_lookup l = { .ctx = (void *)(intptr_t)2, .sql = "SELECT name AS who, city, id * 2 FROM customers "
                    "WHERE id = ? OR id = ?", .bind = at_bind_all, .row = at_row_val, .free_result = at_free_res };
    static const char *const names[] = { "who", "city", "id * 2" };
    for (int s = 0; s < 2; s++) {
        char uri[600];
        mt_uri(uri, sizeof uri, s ? AW_MYSQL_POOL : AW_MYSQL_ASYNC, 3, NULL);
        at_columns(uri, &l, 3, 2, names);
    }
}

/* io=owner runs bind and row on the operator's owner thread (inside its
 * calls), io=thread on the adapter's I/O thread: never the owner. A
 * second operator on an io=owner adapter is refused while the first
 * lives (the adapter's loop drives one operator). */
typedef struct where { pthread_t owner; long on_owner, elsewhere; } where;

static int row_where(void *ctx, void *input, const aw_row *r, void **out)
{
    where *w = ctx;
    if (pthread_equal(pthread_self(), w->owner)) w->on_owner++; else w->elsewhere++;
    *out = NULL;
    return 0;
}

static void nothing(void *ctx, void *input, void *const *res, size_t n, int64_t ts) { }

static void mysql_io_owner_thread(void)
{
    if (!mt_need_server()) return;
    for (int io = 0; io < 2; io++) {
        where w = { .owner = pthread_self() };
        aw_lookup l = { .ctx = &w, .sql = "SELECT id FROM customers WHERE id = ?", .bind = at_bind_id,
                        .row = row_where };
        char uri[400], err[1024];
        mt_uri(uri, sizeof uri, io ? MT_THREAD : MT_OWNER, 3, NULL);
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.900s", err); return; }
        aw_config cfg = { .mode = AW_UNORDERED, .capacity = 16 };
        aw_sink sink = { .emit = nothing };
        aw_op *op = NULL, *op2 = NULL;
        ASSERT_EQ(aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err), 0);
        int rc2 = aw_op_create(&op2, &cfg, aw_adapter_function(a), &sink, err, sizeof err);
        if (io == 0) {
            ASSERT_EQ(rc2, AW_EINVAL);
            ASSERT_STR_CONTAINS(err, "already attached");
        }
        for (intptr_t i = 1; op && i <= 500; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_mysql_stats st;
        ASSERT_EQ(aw_mysql_stats_get(a, &st), 0);
        ASSERT_EQ(st.io, io ? AW_MYSQL_IO_THREAD : AW_MYSQL_IO_OWNER);
        aw_op_free(op);
        aw_op_free(op2);             /* io=thread: a second operator is allowed (and closed already) */
        aw_adapter_close(a);
        ASSERT_EQ(w.on_owner + w.elsewhere, 500);
        ASSERT_EQ(io ? w.on_owner : w.elsewhere, 0);
    }
}

CU_TestInfo aw_tests_mysql[] = {
    { "mysql_matches_direct_query_pool", mysql_matches_direct_query_pool },
    { "mysql_matches_direct_query_async", mysql_matches_direct_query_async },
    { "mysql_matches_direct_query_async_thread", mysql_matches_direct_query_async_thread },
    { "mysql_rows_nulls_text_pool", mysql_rows_nulls_text_pool },
    { "mysql_rows_nulls_text_async", mysql_rows_nulls_text_async },
    { "mysql_rows_nulls_text_async_thread", mysql_rows_nulls_text_async_thread },
    { "mysql_query_errors_pool", mysql_query_errors_pool },
    { "mysql_query_errors_async", mysql_query_errors_async },
    { "mysql_query_errors_async_thread", mysql_query_errors_async_thread },
    { "mysql_config_mistakes", mysql_config_mistakes },
    { "mysql_config_ways_in", mysql_config_ways_in },
    { "mysql_adapter_columns", mysql_adapter_columns },
    { "mysql_io_owner_thread", mysql_io_owner_thread },
    { "mysql_read_timeout", mysql_read_timeout },
    { "mysql_timeout_while_queued", mysql_timeout_while_queued },
    { "mysql_close_while_busy", mysql_close_while_busy },
    { "mysql_close_from_callback", mysql_close_from_callback },
    { "mysql_fault_kill_and_restart_pool", mysql_fault_kill_and_restart_pool },
    { "mysql_fault_kill_and_restart_async", mysql_fault_kill_and_restart_async },
    { "mysql_fault_kill_and_restart_async_thread", mysql_fault_kill_and_restart_async_thread },
    CU_TEST_INFO_NULL
};
#endif
