/* The Redis adapter, both strategies, against a real throwaway server
 * (tests/redis.sh; `make test-redis` starts it and sets AW_REDIS_*):
 * results equal the data for 10 000 random keys in all three modes; every
 * reply shape as rows (string, integer, nil, HMGET, HGETALL, arrays);
 * binary-safe, integer and double parameters; error replies; every
 * configuration mistake's sentence; aw_adapter_columns. Timeouts, close
 * and the fault test are in test_redis_fault.c.
 *
 * Without the environment every test fails with "no server: run via make
 * test-redis": a suite that passes without having run would say nothing. */
#ifndef AW_HAVE_REDIS
#include "aw_test.h"

static void redis_not_built(void)
{
    AW__FAIL("the Redis adapter is not built: install libhiredis-dev (scripts/deps.sh redis) and rebuild");
}

CU_TestInfo aw_tests_redis[] = { { "redis_not_built", redis_not_built }, CU_TEST_INFO_NULL };
int aw_redis_suite_init(void) { return 0; }
int aw_redis_suite_clean(void) { return 0; }
#else
#include <inttypes.h>
#include <stdlib.h>
#include "adapter_test.h"
#include "redis_test.h"

rt_env rt;
const char *rt_io = "owner";

bool rt_need_server(void)
{
    if (rt.ok) return true;
    AW__FAIL("no server: run via make test-redis (tests/redis.sh run ... sets AW_REDIS_HOST, "
             "AW_REDIS_PORT, AW_REDIS_SOCKET, AW_REDIS_USER, AW_REDIS_PASSWORD, AW_REDIS_ROWS)");
    return false;
}

void rt_uri(char *buf, size_t n, aw_redis_strategy s, size_t count, const char *extra)
{
    snprintf(buf, n, "redis://%s@%s:%d/0?strategy=%s&%s=%zu%s%s%s%s", rt.user, rt.host, rt.port,
             s == AW_REDIS_POOL ? "pool" : "async", s == AW_REDIS_POOL ? "threads" : "connections",
             count, s == AW_REDIS_POOL ? "" : "&io=", s == AW_REDIS_POOL ? "" : rt_io,
             extra && *extra ? "&" : "", extra ? extra : "");
}

redisContext *rt_admin(void)
{
    redisContext *k = redisConnectUnix(rt.sock);
    if (k && k->err) {
        fprintf(stderr, "admin connection: %s\n", k->errstr);
        redisFree(k);
        return NULL;
    }
    return k;
}

int rt_ctl(const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof line, "'%s' %s '%s' >/dev/null", rt.ctl, cmd, rt.dir);
    return system(line);
}

static const char bin_val[] = "va\0l ue?\r\n";        /* the value of the binary key */
static const char bin_key[] = "bin key\0?\r\n end";   /* spaces, NUL, ?, CRLF */

int aw_redis_suite_init(void)
{
    const char *port = getenv("AW_REDIS_PORT"), *rows = getenv("AW_REDIS_ROWS");
    rt = (rt_env){ false, getenv("AW_REDIS_HOST"), getenv("AW_REDIS_SOCKET"), getenv("AW_REDIS_USER"),
                   getenv("AW_REDIS_PASSWORD"), getenv("AW_REDIS_DIR"), getenv("AW_REDIS_CTL"),
                   port ? atoi(port) : 0, rows ? atol(rows) : 0 };
    if (!rt.host || !rt.sock || !rt.user || !rt.pass || !rt.dir || !rt.ctl || rt.port <= 0 || rt.rows < 1000)
        return 0;                      /* each test then says "no server" */
    redisContext *k = rt_admin();
    if (!k) return 0;
    const char *argv[3] = { "SET", bin_key, bin_val };
    size_t lens[3] = { 3, sizeof bin_key - 1, sizeof bin_val - 1 };
    redisReply *r = redisCommandArgv(k, 3, argv, lens);
    rt.ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    r = redisCommand(k, "SELECT 1");
    freeReplyObject(r);
    r = redisCommand(k, "SET user:1 db-one");       /* database 1 has its own user:1 */
    freeReplyObject(r);
    redisFree(k);
    return 0;
}

int aw_redis_suite_clean(void) { return 0; }

/* ---------------------------------------------------- the data, checked */

/* HMGET's five fields, by name. */
static bool cust_shape(const aw_row *r) { return aw_row_columns(r) == 5 && !strcmp(aw_row_name(r, 2), "city"); }
static const at_cust_rule cust_rule = { cust_shape };

static const aw_lookup cust_lookup = { .ctx = (void *)&cust_rule, .sql = "HMGET customer:? id name city balance score",
                                       .bind = at_bind_id, .row = at_row_cust, .free_result = at_free_res };

/* What tests/redis.sh loaded for customer id (an absent field reads as
 * NULL, its number as 0). */
static bool want_row(intptr_t id, at_cust *w)
{
    if (id < 1 || id > rt.rows) return false;
    *w = (at_cust){ .id = id, .city_null = id % 7 == 0, .bal_null = id % 11 == 0, .score = (double)id + 0.25 };
    snprintf(w->name, sizeof w->name, "name-%d", (int)id);
    snprintf(w->city, sizeof w->city, "city-%d", (int)(id % 12));
    if (!w->bal_null) w->bal = id * 7919 % 100003;
    return true;
}

static aw_redis_strategy g_strat;

/* 10 000 commands on the strategy's connections; aw_op_free closes them. */
static void data_stats(aw_adapter *a, bool freed)
{
    aw_redis_stats st;
    ASSERT_EQ(aw_redis_stats_get(a, &st), 0);
    if (freed) { ASSERT_EQ(st.connected, 0); return; }
    ASSERT_EQ(st.commands, 10000);
    ASSERT_EQ(st.connected, g_strat == AW_REDIS_POOL ? 4 : 2);
    ASSERT_EQ(st.strategy, g_strat);
    ASSERT_EQ(st.io, g_strat == AW_REDIS_POOL ? AW_REDIS_IO_DEFAULT
                     : strcmp(rt_io, "thread") ? AW_REDIS_IO_OWNER : AW_REDIS_IO_THREAD);
}

static void matches_data(aw_redis_strategy s)
{
    if (!rt_need_server()) return;
    char uri[400];
    rt_uri(uri, sizeof uri, s, s == AW_REDIS_POOL ? 4 : 2, s == AW_REDIS_POOL ? NULL : "pipeline=16");
    g_strat = s;
    at_match m = { .uri = uri, .scheme = "redis", .lookup = &cust_lookup, .capacity = 64, .rows = rt.rows,
                   .want = want_row, .stats = data_stats };
    at_matches(&m);
}

static void redis_matches_data_pool(void) { matches_data(AW_REDIS_POOL); }
/* The async tests run twice: io=owner, then io=thread. */
#define BOTH_IO(f) do { rt_io = "owner"; f(AW_REDIS_ASYNC); rt_io = "thread"; f(AW_REDIS_ASYNC); \
                        rt_io = "owner"; } while (0)

static void redis_matches_data_async(void) { BOTH_IO(matches_data); }

/* ----------------------------------------------- reply shapes as rows */

/* One row as text: "name=value|name=NULL|..." with the type of each
 * column as a letter (i, d, t, n). */
static int row_text(void *ctx, void *input, const aw_row *r, void **out)
{
    char buf[512];
    size_t used = 0;
    for (int i = 0; i < aw_row_columns(r) && used < sizeof buf - 1; i++) {
        size_t len = 0;
        const char *t = aw_row_text(r, i, &len);
        const char *ty = "nidt" + aw_row_type(r, i);
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s:%c=", i ? "|" : "",
                                 aw_row_name(r, i), *ty);
        if (!t) used += (size_t)snprintf(buf + used, sizeof buf - used, "NULL");
        for (size_t j = 0; t && j < len && used < sizeof buf - 4; j++)   /* bytes, NULs shown as \0 */
            used += (size_t)(t[j] ? snprintf(buf + used, sizeof buf - used, "%c", t[j])
                                  : snprintf(buf + used, sizeof buf - used, "\\0"));
    }
    if (!(*out = strdup(buf))) return AW_ENOMEM;
    return 0;
}

/* Parameters per input: a small integer n binds n as int64; inputs that
 * are pointers to a `binds` bind what it says. */
typedef struct binds { int n; aw_value v[4]; } binds;

static int bind_any(void *ctx, void *input, aw_params *p)
{
    if ((uintptr_t)input < 1000000) return aw_params_int64(p, 0, (intptr_t)input);
    const binds *b = input;
    for (int i = 0; i < b->n; i++) {
        int rc = b->v[i].type == AW_VINT64 ? aw_params_int64(p, i, b->v[i].i)
               : b->v[i].type == AW_VDOUBLE ? aw_params_double(p, i, b->v[i].d)
               : b->v[i].type == AW_VTEXT ? aw_params_text(p, i, b->v[i].s, b->v[i].len)
               : aw_params_null(p, i);
        if (rc) return rc;
    }
    return b->n < 0 ? AW_EINVAL : 0;
}

static aw_lookup g_shape_lookup = { .bind = bind_any, .row = row_text, .free_result = at_free_res };

/* A session on cmd; false (a CUnit failure) if it does not open. */
static bool open_session(at_session *s, aw_redis_strategy st, const char *cmd, const char *extra)
{
    memset(s, 0, sizeof *s);
    char uri[400], err[1024];
    aw_lookup l = g_shape_lookup;
    l.sql = cmd;
    rt_uri(uri, sizeof uri, st, 1, extra);
    int rc = aw_adapter_open(&s->a, uri, &l, err, sizeof err);
    if (rc) { AW__FAIL("open '%s': %s: %.700s", cmd, aw_err_name(rc), err); return false; }
    return true;
}

/* cmd on input: expect n rows, the first (if any) equal to row0. */
static void expect_rows(aw_redis_strategy st, const char *cmd, void *input, long n, const char *row0)
{
    at_session s = { 0 };
    if (!open_session(&s, st, cmd, NULL)) { at_session_end(&s); return; }
    at_one o;
    at_run_one(&s, input, &o);
    if (o.failed) AW__FAIL("%s: failed: %s", cmd, o.msg);
    if (o.n != n) AW__FAIL("%s: %ld rows, wanted %ld (first: %s)", cmd, o.n, n, o.rows[0] ? o.rows[0] : "-");
    else if (row0) ASSERT_STR_CONTAINS(o.rows[0], row0);
    if (row0 && o.rows[0] && strcmp(o.rows[0], row0)) AW__FAIL("%s: row '%s', wanted '%s'", cmd, o.rows[0], row0);
    at_one_free(&o);
    at_session_end(&s);
}

static void reply_shapes(aw_redis_strategy st)
{
    if (!rt_need_server()) return;
    expect_rows(st, "GET user:?", (void *)42, 1, "value:t=name-42");
    expect_rows(st, "GET user:?", (void *)(intptr_t)(rt.rows + 5), 0, NULL);           /* nil: no row */
    expect_rows(st, "HGET customer:? city", (void *)7, 0, NULL);                       /* nil field */
    expect_rows(st, "HGET customer:? city", (void *)8, 1, "value:t=city-8");
    expect_rows(st, "HLEN customer:?", (void *)8, 1, "value:i=5");                     /* integer */
    expect_rows(st, "HLEN customer:?", (void *)77, 1, "value:i=3");
    expect_rows(st, "HMGET customer:? name city", (void *)14, 1, "name:t=name-14|city:n=NULL");
    expect_rows(st, "HMGET customer:? nope other", (void *)14, 0, NULL);              /* all nil */
    expect_rows(st, "HMGET customer:? name", (void *)(intptr_t)(rt.rows + 1), 0, NULL); /* no key */
    expect_rows(st, "HGETALL customer:?", (void *)14, 1,
                "id:t=14|name:t=name-14|balance:t=10863|score:t=14.25");
    expect_rows(st, "HGETALL customer:?", (void *)(intptr_t)(rt.rows + 1), 0, NULL);  /* empty array */
    expect_rows(st, "LRANGE items:? 0 -1", (void *)3, 3, "value:t=item-3-0");          /* array: rows */
    expect_rows(st, "LRANGE items:? 0 -1", (void *)5, 0, NULL);
    expect_rows(st, "ZSCORE rank ?", (void *)7, 1, "value:t=7.5");
    expect_rows(st, "EXISTS user:? user:?", (void *)1, 0, NULL);         /* the 2nd ? unset: NULL */
    /* Parameters: text byte for byte (space, NUL, ?, CRLF), doubles
     * %.17g, integers; several ? in one argument; a NULL matches nothing. */
    binds b = { 1, { { .type = AW_VTEXT, .s = bin_key, .len = sizeof bin_key - 1 } } };
    expect_rows(st, "GET ?", &b, 1, "value:t=va\\0l ue?\r\n");
    binds d = { 2, { { .type = AW_VDOUBLE, .d = 7.5 }, { .type = AW_VDOUBLE, .d = 8.5 } } };
    at_session s = { 0 };
    at_one o;
    if (open_session(&s, st, "ZRANGEBYSCORE rank ? ?", NULL)) {
        at_run_one(&s, &d, &o);
        ASSERT_EQ(o.n, 2);
        ASSERT_STR_CONTAINS(o.rows[0], "value:t=7");
        ASSERT_STR_CONTAINS(o.rows[1], "value:t=8");
        at_one_free(&o);
        d.v[0].d = 0.1 + 0.2;          /* %.17g: 0.30000000000000004 excludes 0.3 exactly */
        at_run_one(&s, &d, &o);
        ASSERT_EQ(o.failed, 0);
        at_one_free(&o);
    }
    at_session_end(&s);
    binds two = { 2, { { .type = AW_VINT64, .i = 4 }, { .type = AW_VTEXT, .s = "2", .len = 1 } } };
    expect_rows(st, "GET user:??", &two, 1, "value:t=name-42");                         /* user:42 */
    binds nul = { 1, { { .type = AW_VNULL } } };
    expect_rows(st, "GET user:?", &nul, 0, NULL);
}

static void redis_reply_shapes_pool(void) { reply_shapes(AW_REDIS_POOL); }
static void redis_reply_shapes_async(void) { BOTH_IO(reply_shapes); }

/* Error replies fail their record with AW_EQUERY and Redis's words; bind
 * failures fail theirs; the connection serves the next ones. */
static void errors(aw_redis_strategy st)
{
    if (!rt_need_server()) return;
    at_session s = { 0 };
    at_one o;
    if (!open_session(&s, st, "HGET ? name", NULL)) { at_session_end(&s); return; }
    binds wrongtype = { 1, { { .type = AW_VTEXT, .s = "user:1", .len = 6 } } };
    at_run_one(&s, &wrongtype, &o);
    ASSERT_EQ(o.failed, 1);
    ASSERT_EQ(o.err, AW_EQUERY);
    ASSERT_STR_CONTAINS(o.msg, "redis: WRONGTYPE Operation against a key holding the wrong kind of value");
    binds ok = { 1, { { .type = AW_VTEXT, .s = "customer:9", .len = 10 } } };
    at_run_one(&s, &ok, &o);
    ASSERT_EQ(o.failed, 0);
    ASSERT_STR_CONTAINS(o.rows[0], "value:t=name-9");
    at_one_free(&o);
    binds many = { 2, { { .type = AW_VINT64, .i = 1 }, { .type = AW_VINT64, .i = 2 } } };
    binds refuse = { .n = -1 };
    at_bind_mistakes(&s, &refuse, &many, "command");
    aw_redis_stats rs;
    ASSERT_EQ(aw_redis_stats_get(s.a, &rs), 0);
    ASSERT_EQ(rs.conn_lost, 0);
    ASSERT_EQ(rs.commands, 2);
    at_session_end(&s);
}

static void redis_errors_pool(void) { errors(AW_REDIS_POOL); }
static void redis_errors_async(void) { BOTH_IO(errors); }

/* ------------------------------------------------ configuration mistakes */

static void expect_open(const char *uri, const char *cmd, int code, const char *words)
{
    aw_lookup l = g_shape_lookup;
    l.sql = cmd;
    at_expect_open(uri, &l, code, words, rt.pass, "s3cret");
}

static void redis_config_mistakes(void)
{
    if (!rt_need_server()) return;
    char uri[600], words[200], base[300];
    const char *st[2] = { "pool&threads=2", "async&connections=2" };
    for (int i = 0; i < 2; i++) {
        snprintf(uri, sizeof uri, "redis://%s:s3cret-wrong@%s:%d/0?strategy=%s", rt.user, rt.host, rt.port, st[i]);
        expect_open(uri, "GET user:?", AW_ECONFIG, "AUTH as user 'aw' at");
        expect_open(uri, "GET user:?", AW_ECONFIG, "wrong user or password (server: WRONGPASS");
        snprintf(uri, sizeof uri, "redis://:s3cret-wrong@%s:%d/0?strategy=%s", rt.host, rt.port, st[i]);
        expect_open(uri, "GET user:?", AW_ECONFIG, "AUTH as the default user at");
        int port = at_free_port();
        snprintf(uri, sizeof uri, "redis://%s@127.0.0.1:%d?strategy=%s", rt.user, port, st[i]);
        snprintf(words, sizeof words, "cannot reach a server at 127.0.0.1:%d", port);
        expect_open(uri, "GET user:?", AW_ECONN, words);
        snprintf(uri, sizeof uri, "redis://%s@localhost?strategy=%s&unix_socket=/nonexistent/sock", rt.user, st[i]);
        expect_open(uri, "GET user:?", AW_ECONN, "cannot reach a server at unix socket /nonexistent/sock");
        snprintf(base, sizeof base, "redis://%s@%s:%d/0?strategy=%s", rt.user, rt.host, rt.port, st[i]);
        expect_open(base, "FROBNICATE user:?", AW_EQUERY, "unknown command 'FROBNICATE'");
        expect_open(base, "GET user:? extra", AW_EQUERY, "GET takes 2 arguments (the command name counted), "
                    "the template gives 3");
        expect_open(base, "HMGET customer:?", AW_EQUERY, "HMGET takes at least 3 arguments");
        expect_open(base, "   ", AW_ECONFIG, "the command template is empty");
        expect_open(base, "G?T user:?", AW_ECONFIG, "the command name 'G?T' cannot hold a ?");
        snprintf(uri, sizeof uri, "redis://%s@%s:%d/99999?strategy=%s", rt.user, rt.host, rt.port, st[i]);
        expect_open(uri, "GET user:?", AW_ECONFIG, "SELECT 99999 at");
    }
    snprintf(base, sizeof base, "redis://%s@%s:%d", rt.user, rt.host, rt.port);
    struct { const char *q; int code; const char *words; } bad[] = {
        { "?strategy=pool&bogus=1", AW_ECONFIG, "unknown parameter 'bogus' in redis URI" },
        { "?strategy=fast", AW_ECONFIG, "strategy=fast: must be async or pool" },
        { "?strategy=async&threads=4", AW_ECONFIG, "threads= is for strategy=pool" },
        { "?strategy=pool&pipeline=4", AW_ECONFIG, "pipeline= is for strategy=async" },
        { "?strategy=pool&io=thread", AW_ECONFIG, "io= is for strategy=async" },
        { "?io=fiber", AW_ECONFIG, "io=fiber: must be owner" },
        { "?threads=4&connections=4", AW_ECONFIG, "exclude each other" },
        { "?connections=0", AW_ECONFIG, "connections=0: must be a whole number from 1 to 1024" },
        { "?pipeline=70000", AW_ECONFIG, "pipeline=70000: must be a whole number from 1 to 65536" },
        { "/x?threads=1", AW_ECONFIG, "redis URI path '/x': expected /N, a database number" },
        { "?password_env=AW_TEST_UNSET_VARIABLE", AW_ECONFIG,
          "password_env=AW_TEST_UNSET_VARIABLE names an environment variable that is not set" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(uri, sizeof uri, "%s%s", base, bad[i].q);
        expect_open(uri, "GET user:?", bad[i].code, bad[i].words);
    }
    expect_open("redis:localhost", "GET user:?", AW_ECONFIG, "redis://[user[:pass]@]host[:port][/db]");
    /* A user name and no password anywhere. */
    char *saved = strdup(rt.pass);
    unsetenv("AW_REDIS_PASSWORD");
    snprintf(uri, sizeof uri, "%s?threads=1", base);
    expect_open(uri, "GET user:?", AW_ECONFIG, "user 'aw' given without a password");
    setenv("AW_REDIS_PASSWORD", saved, 1);
    free(saved);
}

/* The ways in that work: unix socket, password_env, :pass@, a database
 * number, the typed config. */
static void redis_config_ways_in(void)
{
    if (!rt_need_server()) return;
    char uri[600], err[1024];
    at_session s = { 0 };
    at_one o;
    aw_lookup l = g_shape_lookup;
    l.sql = "GET user:?";
    snprintf(uri, sizeof uri, "redis://%s@localhost?unix_socket=%s&connections=1&connect_timeout_ms=2000&"
             "read_timeout_ms=5000", rt.user, rt.sock);
    ASSERT_EQ(aw_adapter_open(&s.a, uri, &l, err, sizeof err), 0);
    aw_redis_stats rs;
    if (s.a) {
        ASSERT_EQ(aw_redis_stats_get(s.a, &rs), 0);
        ASSERT_EQ(rs.strategy, AW_REDIS_ASYNC);       /* the default */
    }
    aw_adapter_close(s.a);
    setenv("AW_TEST_PW", rt.pass, 1);
    snprintf(uri, sizeof uri, "redis://%s@%s:%d/1?threads=2&password_env=AW_TEST_PW", rt.user, rt.host, rt.port);
    memset(&s, 0, sizeof s);
    ASSERT_EQ(aw_adapter_open(&s.a, uri, &l, err, sizeof err), 0);
    if (s.a) {
        ASSERT_EQ(aw_redis_stats_get(s.a, &rs), 0);
        ASSERT_EQ(rs.strategy, AW_REDIS_POOL);        /* threads= alone */
        ASSERT_EQ(rs.connected, 2);
        at_run_one(&s, (void *)1, &o);                   /* database 1's own user:1 */
        ASSERT_STR_CONTAINS(o.rows[0], "value:t=db-one");
        at_one_free(&o);
    }
    at_session_end(&s);
    for (int st = 0; st < 2; st++) {
        aw_redis_config c = { .host = rt.host, .port = (unsigned)rt.port, .user = rt.user,
                              .password_env = "AW_TEST_PW", .strategy = st ? AW_REDIS_POOL : AW_REDIS_ASYNC,
                              .threads = 2, .connections = 2, .pipeline = 4 };
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_redis_open(&a, &c, &l, err, sizeof err), 0);
        aw_adapter_close(a);
        c.password = "s3cret-wrong";
        ASSERT_EQ(aw_redis_open(&a, &c, &l, err, sizeof err), AW_ECONFIG);
        ASSERT_STR_CONTAINS(err, "wrong user or password");
        ASSERT_TRUE(strstr(err, "s3cret") == NULL);
    }
    unsetenv("AW_TEST_PW");
    ASSERT_EQ(aw_redis_stats_get(NULL, NULL), AW_EINVAL);
}

/* aw_adapter_columns: HMGET's fields, `value` otherwise, none for
 * HGETALL; the ? count. */
static void redis_adapter_columns(void)
{
    if (!rt_need_server()) return;
    struct { const char *cmd; int ncols, nparams; const char *c0, *c1; } cases[] = {
        { "HMGET customer:? name city", 2, 1, "name", "city" },
        { "GET user:??", 1, 2, "value", NULL },
        { "HGETALL customer:?", 0, 1, NULL, NULL },
    };
    for (size_t i = 0; i < 3; i++) {
        char uri[600];
        rt_uri(uri, sizeof uri, AW_REDIS_POOL, 1, NULL);
        aw_lookup l = g_shape_lookup;
        l.sql = cases[i].cmd;
        const char *names[2] = { cases[i].c0, cases[i].c1 };
        at_columns(uri, &l, cases[i].ncols, cases[i].nparams, names);
    }
}

CU_TestInfo aw_tests_redis[] = {
    { "redis_matches_data_pool", redis_matches_data_pool },
    { "redis_matches_data_async", redis_matches_data_async },
    { "redis_reply_shapes_pool", redis_reply_shapes_pool },
    { "redis_reply_shapes_async", redis_reply_shapes_async },
    { "redis_errors_pool", redis_errors_pool },
    { "redis_errors_async", redis_errors_async },
    { "redis_config_mistakes", redis_config_mistakes },
    { "redis_config_ways_in", redis_config_ways_in },
    { "redis_adapter_columns", redis_adapter_columns },
    { "redis_read_timeout", redis_read_timeout },
    { "redis_timeout_while_queued", redis_timeout_while_queued },
    { "redis_close_while_busy", redis_close_while_busy },
    { "redis_close_from_callback", redis_close_from_callback },
    { "redis_fault_kill_and_restart_pool", redis_fault_kill_and_restart_pool },
    { "redis_fault_kill_and_restart_async_owner", redis_fault_kill_and_restart_async_owner },
    { "redis_fault_kill_and_restart_async_thread", redis_fault_kill_and_restart_async_thread },
    CU_TEST_INFO_NULL
};
#endif
