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
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
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

static int bind_id(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

typedef struct cust { int64_t id, bal; char name[24], city[16]; bool city_null, bal_null; double score; } cust;

static int row_cust(void *ctx, void *input, const aw_row *r, void **out)
{
    if (aw_row_columns(r) != 5) return AW_EINVAL;
    cust *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    const char *name = aw_row_text(r, 1, NULL);
    snprintf(c->name, sizeof c->name, "%s", name ? name : "?");
    c->city_null = aw_row_is_null(r, 2);
    if (!c->city_null) snprintf(c->city, sizeof c->city, "%s", aw_row_text(r, 2, NULL));
    c->bal_null = aw_row_is_null(r, 3);
    c->bal = aw_row_int64(r, 3);
    c->score = aw_row_double(r, 4);
    *out = c;
    return strcmp(aw_row_name(r, 2), "city") ? (free(c), AW_EINVAL) : 0;
}

static void free_res(void *ctx, void *r) { free(r); }

static const aw_lookup cust_lookup = { .sql = "HMGET customer:? id name city balance score",
                                       .bind = bind_id, .row = row_cust, .free_result = free_res };

typedef struct check { long emitted, wrong, rows, failed; char first[200]; } check;

static void ck_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    check *k = ctx;
    intptr_t id = (intptr_t)input;
    bool exists = id >= 1 && id <= rt.rows;
    if ((size_t)exists != n) k->wrong++;
    if (exists && n == 1) {
        const cust *c = res[0];
        char name[32], city[32];
        snprintf(name, sizeof name, "name-%ld", (long)id);
        snprintf(city, sizeof city, "city-%ld", (long)(id % 12));
        if (c->id != id || strcmp(c->name, name) || c->city_null != (id % 7 == 0) ||
            (!c->city_null && strcmp(c->city, city)) || c->bal_null != (id % 11 == 0) ||
            (!c->bal_null && c->bal != id * 7919 % 100003) || c->score != (double)id + 0.25)
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

static void matches_data(aw_redis_strategy s)
{
    if (!rt_need_server()) return;
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    unsigned seed = 7;
    for (int m = 0; m < 3; m++) {
        char uri[400], err[1024];
        rt_uri(uri, sizeof uri, s, s == AW_REDIS_POOL ? 4 : 2, s == AW_REDIS_POOL ? NULL : "pipeline=16");
        aw_adapter *a;
        ASSERT_EQ(aw_adapter_open(&a, uri, &cust_lookup, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.900s", err); return; }
        ASSERT_STR_CONTAINS(aw_adapter_scheme(a), "redis");
        check k = { 0 };
        aw_config cfg = { .mode = modes[m], .capacity = 64 };
        aw_sink sink = { .ctx = &k, .emit = ck_emit, .error = ck_error, .release = free_res };
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (int i = 0; i < 10000; i++) {
            intptr_t id = rand_r(&seed) % (rt.rows + rt.rows / 10) + 1;   /* some miss */
            ASSERT_EQ(aw_op_push(op, (void *)id, i), 0);
            if (modes[m] == AW_UNORDERED_EVENT_TIME && i % 500 == 499) ASSERT_EQ(aw_op_watermark(op, i), 0);
        }
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_redis_stats st;
        ASSERT_EQ(aw_redis_stats_get(a, &st), 0);
        ASSERT_EQ(st.commands, 10000);
        ASSERT_EQ(st.connected, s == AW_REDIS_POOL ? 4 : 2);
        ASSERT_EQ(st.strategy, s);
        ASSERT_EQ(st.io, s == AW_REDIS_POOL ? AW_REDIS_IO_DEFAULT
                         : strcmp(rt_io, "thread") ? AW_REDIS_IO_OWNER : AW_REDIS_IO_THREAD);
        aw_op_free(op);                /* closes the adapter's connections */
        ASSERT_EQ(aw_redis_stats_get(a, &st), 0);
        ASSERT_EQ(st.connected, 0);
        aw_adapter_close(a);
        if (k.failed) AW__FAIL("first error: %s", k.first);
        ASSERT_EQ(k.emitted, 10000);
        ASSERT_EQ(k.wrong, 0);
        ASSERT_TRUE(k.rows > 8500 && k.rows < 9500);
    }
}

static void redis_matches_data_pool(void) { matches_data(AW_REDIS_POOL); }
/* The async tests run twice: io=owner, then io=thread. */
#define BOTH_IO(f) do { rt_io = "owner"; f(AW_REDIS_ASYNC); rt_io = "thread"; f(AW_REDIS_ASYNC); \
                        rt_io = "owner"; } while (0)

static void redis_matches_data_async(void) { BOTH_IO(matches_data); }

/* ----------------------------------------------- reply shapes as rows */

/* One row as text: "name=value|name=NULL|..." with the type of each
 * column as a letter (i, d, t, n). */
typedef struct one { long n, failed; int err; char msg[300]; char *rows[8]; } one;

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

typedef struct session { aw_adapter *a; aw_op *op; one *cur; } session;

static void s_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    one *o = ((session *)ctx)->cur;
    o->n = (long)n;
    for (size_t i = 0; i < n; i++) {
        if (i < 8) o->rows[i] = res[i];
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

static void one_free(one *o) { for (int i = 0; i < 8; i++) free(o->rows[i]); memset(o, 0, sizeof *o); }

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

static aw_lookup g_shape_lookup = { .bind = bind_any, .row = row_text, .free_result = free_res };

static bool open_session(session *s, aw_redis_strategy st, const char *cmd, const char *extra)
{
    memset(s, 0, sizeof *s);
    char uri[400], err[1024];
    aw_lookup l = g_shape_lookup;
    l.sql = cmd;
    rt_uri(uri, sizeof uri, st, 1, extra);
    int rc = aw_adapter_open(&s->a, uri, &l, err, sizeof err);
    if (rc) { AW__FAIL("open '%s': %s: %.700s", cmd, aw_err_name(rc), err); return false; }
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_sink sink = { .ctx = s, .emit = s_emit, .error = s_error, .release = free_res };
    ASSERT_EQ(aw_op_new(&s->op, &cfg, aw_adapter_function(s->a), &sink), 0);
    return s->op != NULL;
}

static void run_one(session *s, void *input, one *o)
{
    memset(o, 0, sizeof *o);
    s->cur = o;
    ASSERT_EQ(aw_op_push(s->op, input, 0), 0);
    ASSERT_EQ(aw_op_drain(s->op), 0);
}

static void session_end(session *s)
{
    aw_op_free(s->op);
    aw_adapter_close(s->a);
    memset(s, 0, sizeof *s);
}

/* cmd on input: expect n rows, the first (if any) equal to row0. */
static void expect_rows(aw_redis_strategy st, const char *cmd, void *input, long n, const char *row0)
{
    session s;
    if (!open_session(&s, st, cmd, NULL)) { session_end(&s); return; }
    one o;
    run_one(&s, input, &o);
    if (o.failed) AW__FAIL("%s: failed: %s", cmd, o.msg);
    if (o.n != n) AW__FAIL("%s: %ld rows, wanted %ld (first: %s)", cmd, o.n, n, o.rows[0] ? o.rows[0] : "-");
    else if (row0) ASSERT_STR_CONTAINS(o.rows[0], row0);
    if (row0 && o.rows[0] && strcmp(o.rows[0], row0)) AW__FAIL("%s: row '%s', wanted '%s'", cmd, o.rows[0], row0);
    one_free(&o);
    session_end(&s);
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
    session s;
    one o;
    if (open_session(&s, st, "ZRANGEBYSCORE rank ? ?", NULL)) {
        run_one(&s, &d, &o);
        ASSERT_EQ(o.n, 2);
        ASSERT_STR_CONTAINS(o.rows[0], "value:t=7");
        ASSERT_STR_CONTAINS(o.rows[1], "value:t=8");
        one_free(&o);
        d.v[0].d = 0.1 + 0.2;          /* %.17g: 0.30000000000000004 excludes 0.3 exactly */
        run_one(&s, &d, &o);
        ASSERT_EQ(o.failed, 0);
        one_free(&o);
    }
    session_end(&s);
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
    session s;
    one o;
    if (!open_session(&s, st, "HGET ? name", NULL)) { session_end(&s); return; }
    binds wrongtype = { 1, { { .type = AW_VTEXT, .s = "user:1", .len = 6 } } };
    run_one(&s, &wrongtype, &o);
    ASSERT_EQ(o.failed, 1);
    ASSERT_EQ(o.err, AW_EQUERY);
    ASSERT_STR_CONTAINS(o.msg, "redis: WRONGTYPE Operation against a key holding the wrong kind of value");
    binds ok = { 1, { { .type = AW_VTEXT, .s = "customer:9", .len = 10 } } };
    run_one(&s, &ok, &o);
    ASSERT_EQ(o.failed, 0);
    ASSERT_STR_CONTAINS(o.rows[0], "value:t=name-9");
    one_free(&o);
    binds many = { 2, { { .type = AW_VINT64, .i = 1 }, { .type = AW_VINT64, .i = 2 } } };
    run_one(&s, &many, &o);
    ASSERT_EQ(o.err, AW_EQUERY);
    ASSERT_STR_CONTAINS(o.msg, "bound 2 parameters but the command has 1 placeholders");
    binds refuse = { .n = -1 };
    run_one(&s, &refuse, &o);
    ASSERT_EQ(o.err, AW_EINVAL);
    ASSERT_STR_CONTAINS(o.msg, "bind");
    aw_redis_stats rs;
    ASSERT_EQ(aw_redis_stats_get(s.a, &rs), 0);
    ASSERT_EQ(rs.conn_lost, 0);
    ASSERT_EQ(rs.commands, 2);
    session_end(&s);
}

static void redis_errors_pool(void) { errors(AW_REDIS_POOL); }
static void redis_errors_async(void) { BOTH_IO(errors); }

/* ------------------------------------------------ configuration mistakes */

static void expect_open(const char *uri, const char *cmd, int code, const char *words)
{
    aw_adapter *a = NULL;
    char err[1024] = "";
    aw_lookup l = g_shape_lookup;
    l.sql = cmd;
    int rc = aw_adapter_open(&a, uri, &l, err, sizeof err);
    if (rc != code) AW__FAIL("%s: got %s (%s), wanted %s", uri, aw_err_name(rc), err, aw_err_name(code));
    ASSERT_STR_CONTAINS(err, words);
    if (strstr(err, rt.pass) || strstr(err, "s3cret")) AW__FAIL("a password in the message: %s", err);
    ASSERT_TRUE(a == NULL);
    aw_adapter_close(a);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);                       /* nothing listens there now */
    return ntohs(sa.sin_port);
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
        int port = free_port();
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
    session s;
    one o;
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
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_sink sink = { .ctx = &s, .emit = s_emit, .error = s_error, .release = free_res };
        ASSERT_EQ(aw_op_new(&s.op, &cfg, aw_adapter_function(s.a), &sink), 0);
        run_one(&s, (void *)1, &o);                   /* database 1's own user:1 */
        ASSERT_STR_CONTAINS(o.rows[0], "value:t=db-one");
        one_free(&o);
    }
    session_end(&s);
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
        char uri[600], err[1024];
        rt_uri(uri, sizeof uri, AW_REDIS_POOL, 1, NULL);
        aw_adapter *a = NULL;
        aw_lookup l = g_shape_lookup;
        l.sql = cases[i].cmd;
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.900s", err); return; }
        const char *const *names = NULL;
        int ncols = -1, nparams = -1;
        ASSERT_EQ(aw_adapter_columns(a, &names, &ncols, &nparams), 0);
        ASSERT_EQ(ncols, cases[i].ncols);
        ASSERT_EQ(nparams, cases[i].nparams);
        if (cases[i].c0 && names) ASSERT_STR_CONTAINS(names[0], cases[i].c0);
        if (cases[i].c1 && names) ASSERT_STR_CONTAINS(names[1], cases[i].c1);
        aw_adapter_close(a);
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
