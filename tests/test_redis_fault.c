/* The Redis adapter when things go wrong (part of the redis suite, listed
 * in test_redis.c): a command outlives read_timeout_ms; records time out
 * while they wait for a connection; the adapter closes while busy and
 * from inside its own callback; and the fault test -- every adapter
 * connection CLIENT KILLed twice and the server restarted in the middle of
 * 100 000 lookups with retry on: every record ends once, none missing,
 * none wrong. Slow commands are BLPOP on a key nobody pushes to (the
 * server blocks, it does not sleep). Waits are condvars with deadlines. */
#ifdef AW_HAVE_REDIS
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "redis_test.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bind_key(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

static int row_len(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t *v = malloc(sizeof *v);
    if (!v) return AW_ENOMEM;
    *v = 0;
    aw_row_text(r, 0, v);
    *out = v;
    return 0;
}

static void free_res(void *ctx, void *r) { free(r); }

/* Every record's endings, by input (1..n). */
typedef struct tally {
    long n;
    unsigned char *ends;
    long emitted, failed, discarded, wrong, dup;
    int first_err;
    char first_msg[200];
    const char *want;
    long want_seen;
    bool (*check)(intptr_t rec, const void *res, size_t n);
} tally;

static void t_end(tally *t, intptr_t in)
{
    if (in < 1 || in > t->n || t->ends[in]++) t->dup++;
}

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    t_end(t, (intptr_t)input);
    t->emitted++;
    if (t->check && !t->check((intptr_t)input, n ? res[0] : NULL, n)) t->wrong++;
    for (size_t i = 0; i < n; i++) free(res[i]);
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    t_end(t, (intptr_t)input);
    if (t->want && strstr(msg, t->want)) t->want_seen++;
    if (!t->failed++) {
        t->first_err = err;
        snprintf(t->first_msg, sizeof t->first_msg, "%s", msg);
    }
}

static void t_discard(void *ctx, void *input)
{
    tally *t = ctx;
    t_end(t, (intptr_t)input);
    t->discarded++;
}

static aw_sink t_sink(tally *t)
{
    return (aw_sink){ .ctx = t, .emit = t_emit, .error = t_error, .discard = t_discard, .release = free_res };
}

static aw_adapter *open_cmd(aw_redis_strategy s, size_t count, const char *cmd, const char *extra,
                            aw_lookup *l)
{
    char uri[600], err[1024];
    *l = (aw_lookup){ .sql = cmd, .bind = bind_key, .row = row_len, .free_result = free_res };
    rt_uri(uri, sizeof uri, s, count, extra);
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open: %s: %.900s", aw_err_name(rc), err);
    return a;
}

/* A command that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the command's 3 s;
 * the next command works. */
void redis_read_timeout(void)
{
    if (!rt_need_server()) return;
    for (int v = 0; v < 3; v++) {            /* async io=owner, io=thread; pool */
        int s = v == 2;
        rt_io = v == 1 ? "thread" : "owner";
        aw_lookup l;
        aw_adapter *a = open_cmd(s ? AW_REDIS_POOL : AW_REDIS_ASYNC, 1, "BLPOP aw:never:? 3",
                                 "read_timeout_ms=300", &l);
        if (!a) return;
        tally t = { .n = 3, .ends = calloc(4, 1) };
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        double t0 = now_s();
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)1, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        double dt = now_s() - t0;
        ASSERT_EQ(t.failed, 1);
        ASSERT_EQ(t.first_err, AW_ECONN);
        ASSERT_TRUE(dt < 2.0);
        aw_op_free(op);
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* One connection blocked for 1 s per command; all four records time out
 * after 100 ms and nobody waits for the running command: four
 * AW_ETIMEDOUT, within well under the command's second. */
void redis_timeout_while_queued(void)
{
    if (!rt_need_server()) return;
    for (int v = 0; v < 3; v++) {            /* async io=owner, io=thread; pool */
        int s = v == 2;
        rt_io = v == 1 ? "thread" : "owner";
        aw_lookup l;
        aw_adapter *a = open_cmd(s ? AW_REDIS_POOL : AW_REDIS_ASYNC, 1, "BLPOP aw:never:? 1",
                                 s ? NULL : "pipeline=1", &l);
        if (!a) return;
        tally t = { .n = 4, .ends = calloc(5, 1) };
        aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 100 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
        double t0 = now_s();
        ASSERT_EQ(aw_op_drain(op), 0);
        double dt = now_s() - t0;
        aw_op_free(op);
        ASSERT_EQ(t.dup, 0);
        ASSERT_EQ(t.failed, 4);
        ASSERT_EQ(t.first_err, AW_ETIMEDOUT);
        ASSERT_TRUE(dt < 0.7);                 /* nobody waited for the 1 s command */
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* aw_op_free while 64 records are queued or blocked: the adapter fails
 * them (AW_ECLOSED), the operator hands every input back once. */
void redis_close_while_busy(void)
{
    if (!rt_need_server()) return;
    for (int v = 0; v < 3; v++) {            /* async io=owner, io=thread; pool */
        int s = v == 2;
        rt_io = v == 1 ? "thread" : "owner";
        aw_lookup l;
        aw_adapter *a = open_cmd(s ? AW_REDIS_POOL : AW_REDIS_ASYNC, 4, "BLPOP aw:never:? 0.5", NULL, &l);
        if (!a) return;
        tally t = { .n = 64, .ends = calloc(65, 1) };
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 64 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (intptr_t i = 1; i <= 64; i++) ASSERT_EQ(aw_op_try_push(op, (void *)i, 0), 0);
        double t0 = now_s();
        aw_op_free(op);
        ASSERT_TRUE(now_s() - t0 < 1.5);
        ASSERT_EQ(t.dup, 0);
        ASSERT_EQ(t.emitted + t.failed + t.discarded, 64);
        ASSERT_TRUE(t.discarded > 0);
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* Closing from inside a lookup callback (an adapter thread) does nothing;
 * the run carries on and the adapter closes normally afterwards. */
static int row_closing(void *ctx, void *input, const aw_row *r, void **out)
{
    aw_adapter *a = *(aw_adapter *const *)ctx;
    aw_adapter_close(a);
    const aw_function *fn = aw_adapter_function(a);
    fn->close(fn->ctx);
    return row_len(NULL, input, r, out);
}

static bool check_user(intptr_t rec, const void *res, size_t n)
{
    char want[32];
    return n == 1 && *(const size_t *)res == (size_t)snprintf(want, sizeof want, "name-%ld", (long)rec);
}

void redis_close_from_callback(void)
{
    if (!rt_need_server()) return;
    for (int v = 0; v < 3; v++) {            /* async io=owner, io=thread; pool */
        int s = v == 2;
        rt_io = v == 1 ? "thread" : "owner";
        aw_adapter *a = NULL;
        aw_lookup l = { .ctx = &a, .sql = "GET user:?", .bind = bind_key, .row = row_closing,
                        .free_result = free_res };
        char uri[600], err[1024];
        rt_uri(uri, sizeof uri, s ? AW_REDIS_POOL : AW_REDIS_ASYNC, 2, NULL);
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) return;
        tally t = { .n = 100, .ends = calloc(101, 1), .check = check_user };
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (intptr_t i = 1; i <= 100; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_op_free(op);
        ASSERT_EQ(t.emitted, 100);
        ASSERT_EQ(t.wrong, 0);
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* ------------------------------------------------------- the fault test */

/* The faults run on their own thread, at points the pushing thread names:
 * 'k' CLIENT KILLs every connection of user aw, 'r' halts the server (then
 * says so) and starts it again. */
typedef struct faults {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char todo[8];
    int ntodo;
    bool halted, quit;
    int kills, killed, restarts, errors;
    char err[200];
} faults;

static int kill_all(void)
{
    redisContext *k = rt_admin();
    if (!k) return -1;
    redisReply *r = redisCommand(k, "CLIENT KILL USER aw");
    int n = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    freeReplyObject(r);
    redisFree(k);
    return n;
}

static void *fault_main(void *arg)
{
    faults *f = arg;
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->ntodo && !f->quit) pthread_cond_wait(&f->cv, &f->mu);
        if (!f->ntodo) break;
        char what = f->todo[0];
        memmove(f->todo, f->todo + 1, (size_t)--f->ntodo);
        pthread_mutex_unlock(&f->mu);
        int rc = 0, n = 0;
        if (what == 'k') {
            n = kill_all();
            rc = n < 0;
        } else {
            rc = rt_ctl("halt");
            pthread_mutex_lock(&f->mu);
            f->halted = true;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
            rc = rc || rt_ctl("resume");
        }
        pthread_mutex_lock(&f->mu);
        if (what == 'k') { f->kills++; f->killed += n > 0 ? n : 0; } else f->restarts++;
        if (rc && !f->errors++) snprintf(f->err, sizeof f->err, "fault '%c' failed", what);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void order_fault(faults *f, char what)
{
    pthread_mutex_lock(&f->mu);
    f->todo[f->ntodo++] = what;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static bool retry_conn(void *ctx, void *input, int err) { return err == AW_ECONN; }

/* Record i looks up k:<j as 12 digits>, j = i * 7919 % rows, whose value
 * is customer-<j>-<j * 7919 % 100003>: the row callback keeps its text. */
static long key_of(intptr_t i) { return (long)((i * 7919) % rt.rows); }

static int bind_rec(void *ctx, void *input, aw_params *p)
{
    char k[16];
    int n = snprintf(k, sizeof k, "%012ld", key_of((intptr_t)input));
    return aw_params_text(p, 0, k, (size_t)n);
}

static int row_copy(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t len = 0;
    const char *t = aw_row_text(r, 0, &len);
    char *c = t ? strndup(t, len) : NULL;
    if (!c) return AW_ENOMEM;
    *out = c;
    return 0;
}

static bool check_k(intptr_t rec, const void *res, size_t n)
{
    char want[64];
    long j = key_of(rec);
    snprintf(want, sizeof want, "customer-%ld-%ld", j, j * 7919 % 100003);
    return n == 1 && !strcmp(res, want);
}

static void fault_test(aw_redis_strategy s)
{
    if (!rt_need_server()) return;
    enum { N = 100000 };
    aw_lookup l = { .sql = "GET k:?", .bind = bind_rec, .row = row_copy, .free_result = free_res };
    char uri[600], err[1024];
    rt_uri(uri, sizeof uri, s, s == AW_REDIS_POOL ? 8 : 2, s == AW_REDIS_POOL ? "read_timeout_ms=10000"
                                                                        : "read_timeout_ms=10000&pipeline=32");
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open: %.900s", err); return; }
    tally t = { .n = N, .ends = calloc(N + 1, 1), .check = check_k };
    aw_config cfg = { .mode = s == AW_REDIS_POOL ? AW_ORDERED : AW_UNORDERED, .capacity = 64,
                      .timeout_ms = 120000,
                      .retry = { .max_attempts = 1000, .delay_ms = 5, .multiplier = 2,
                                 .max_delay_ms = 100, .if_error = retry_conn } };
    aw_sink sink = t_sink(&t);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
    faults f = { .ntodo = 0 };
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, fault_main, &f), 0);
    long wrong = 0;
    for (long i = 1; i <= N; i++) {
        if (i == N / 5 || i == 4 * N / 5) order_fault(&f, 'k');
        if (i == N / 2) {
            /* Go on only once the server is down, so records meet it. */
            order_fault(&f, 'r');
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 60;
            pthread_mutex_lock(&f.mu);
            while (!f.halted && pthread_cond_timedwait(&f.cv, &f.mu, &until) == 0) { }
            ASSERT_TRUE(f.halted);
            pthread_mutex_unlock(&f.mu);
        }
        if (aw_op_push(op, (void *)(intptr_t)i, 0)) { wrong++; break; }
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    pthread_mutex_lock(&f.mu);
    f.quit = true;
    pthread_cond_signal(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(th, NULL);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    aw_redis_stats rs;
    ASSERT_EQ(aw_redis_stats_get(a, &rs), 0);
    aw_adapter_close(a);
    if (f.errors) AW__FAIL("%s", f.err);
    ASSERT_EQ(f.kills, 2);
    ASSERT_EQ(f.restarts, 1);
    size_t conns = s == AW_REDIS_POOL ? 8 : 2;
    ASSERT_TRUE(f.killed >= (int)conns);
    long missing = 0;
    for (long i = 1; i <= N; i++) missing += t.ends[i] == 0;
    ASSERT_EQ(missing, 0);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(t.emitted + t.failed, N);
    ASSERT_EQ(t.discarded, 0);
    ASSERT_EQ(t.wrong, 0);
    if (t.failed) AW__FAIL("%ld records failed although retry was on; first: %s: %s", t.failed,
                           aw_err_name(t.first_err), t.first_msg);
    ASSERT_TRUE(st.retried > 0);
    ASSERT_TRUE(rs.conn_lost >= conns);
    ASSERT_TRUE(rs.reconnects >= conns);
    printf("\n    [%s%s: %ld emitted, %ld failed, %" PRIu64 " retries, %" PRIu64 " connections lost, "
           "%" PRIu64 " reconnects, %d CLIENT KILLed] ", s == AW_REDIS_POOL ? "pool" : "async io=",
           s == AW_REDIS_POOL ? "" : rt_io, t.emitted,
           t.failed, st.retried, rs.conn_lost, rs.reconnects, f.killed);
    free(t.ends);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

void redis_fault_kill_and_restart_pool(void) { fault_test(AW_REDIS_POOL); }
void redis_fault_kill_and_restart_async_owner(void) { rt_io = "owner"; fault_test(AW_REDIS_ASYNC); }
void redis_fault_kill_and_restart_async_thread(void)
{
    rt_io = "thread";
    fault_test(AW_REDIS_ASYNC);
    rt_io = "owner";
}
#else
typedef int aw_redis_fault_not_built;
#endif
