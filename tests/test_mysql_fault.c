/* The MySQL adapter when things go wrong (part of the mysql suite, listed
 * in test_mysql.c): a query outlives read_timeout_ms; records time out
 * while they wait for a connection; the adapter closes while busy and
 * from inside its own callback; and the fault test -- the server's
 * connections KILLed and the server stopped and started in the middle of
 * 100 000 lookups with retry on: every record ends emitted or reported,
 * none twice, none missing. Waits are condvars with deadlines. */
#ifdef AW_HAVE_MYSQL
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "mysql_test.h"

/* Loop index -> way: io=owner, pool, io=thread. */
static int way_of(int s) { return s == 1 ? MT_POOL : s == 0 ? MT_OWNER : MT_THREAD; }

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bind_key(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

static int row_int(void *ctx, void *input, const aw_row *r, void **out)
{
    int64_t *v = malloc(sizeof *v);
    if (!v) return AW_ENOMEM;
    *v = aw_row_int64(r, 0);
    *out = v;
    return 0;
}

static void free_res(void *ctx, void *r) { free(r); }

/* Every record's endings, by input (1..n). */
typedef struct tally {
    long n;
    unsigned char *ends;     /* emits + errors + discards per input */
    long emitted, failed, discarded, wrong, dup;
    int first_err;
    char first_msg[200];
    const char *want;        /* errors whose message contains this ... */
    long want_seen;          /* ... are counted here */
    char (*check)(intptr_t key, int64_t got);
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
    if (t->check && (n != 1 || !t->check((intptr_t)input, *(int64_t *)res[0]))) t->wrong++;
    for (size_t i = 0; i < n; i++) free(res[i]);
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    t_end(t, (intptr_t)input);
    if (t->want && strstr(msg, t->want)) t->want_seen++;
    if (!t->failed++) {
        if (getenv("AW_DEBUG")) fprintf(stderr, "first error at %.3f: input %ld\n", now_s(), (long)(intptr_t)input);
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

static aw_adapter *open_sql(int s, size_t count, const char *sql, const char *extra,
                            aw_lookup *l)
{
    char uri[600], err[1024];
    *l = (aw_lookup){ .sql = sql, .bind = bind_key, .row = row_int, .free_result = free_res };
    mt_uri(uri, sizeof uri, s, count, extra);
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open: %s: %.900s", aw_err_name(rc), err);
    return a;
}

/* A query that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the query's; the
 * next query works. The pool's blocking client rounds up to 1 s. */
void mysql_read_timeout(void)
{
    if (!mt_need_server()) return;
    for (int s = 0; s < 3; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(way_of(s), 1, "SELECT SLEEP(?)",
                                 "read_timeout_ms=300", &l);
        if (!a) return;
        tally t = { .n = 3, .ends = calloc(4, 1) };
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        double t0 = now_s();
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)3, 0), 0);      /* SLEEP(3) */
        ASSERT_EQ(aw_op_drain(op), 0);
        double dt = now_s() - t0;
        aw_op_free(op);
        ASSERT_EQ(t.failed, 1);
        ASSERT_EQ(t.first_err, AW_ECONN);
        if (way_of(s) != MT_POOL) {
            ASSERT_STR_CONTAINS(t.first_msg, "within 300 ms");
            ASSERT_TRUE(dt < 0.9);
        }
        ASSERT_TRUE(dt < 2.5);
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* One connection busy for 1 s per query; all four records time out after
 * 100 ms, and nobody waits for the running query: async abandons it (its
 * answer is dropped), the pool's call has let go of its input
 * (aw_pool_input_release). The three waiting ones are withdrawn with a
 * message that says so: four AW_ETIMEDOUT, within well under the query's
 * second. */
void mysql_timeout_while_queued(void)
{
    if (!mt_need_server()) return;
    for (int s = 0; s < 3; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(way_of(s), 1, "SELECT SLEEP(1), ?", NULL, &l);
        if (!a) return;
        tally t = { .n = 4, .ends = calloc(5, 1),
                    .want = way_of(s) == MT_POOL ? "timed out while queued" : "waiting for a free MySQL connection" };
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
        ASSERT_EQ(t.want_seen, 3);
        ASSERT_EQ(t.first_err, AW_ETIMEDOUT);
        ASSERT_TRUE(dt < 0.7);                 /* nobody waited for the 1 s query */
        free(t.ends);
        aw_adapter_close(a);
    }
}

/* aw_op_free while 64 records are queued or running: the adapter fails
 * them (AW_ECLOSED), the operator hands every input back once. */
void mysql_close_while_busy(void)
{
    if (!mt_need_server()) return;
    for (int s = 0; s < 3; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(way_of(s), 4, "SELECT SLEEP(? / 1000)", NULL, &l);
        if (!a) return;
        tally t = { .n = 64, .ends = calloc(65, 1) };
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 64 };
        aw_sink sink = t_sink(&t);
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (intptr_t i = 1; i <= 64; i++) ASSERT_EQ(aw_op_try_push(op, (void *)i, 0), 0);
        double t0 = now_s();
        aw_op_free(op);                    /* records of 1..64 ms are in flight */
        ASSERT_TRUE(now_s() - t0 < 1.0);
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
    return row_int(NULL, input, r, out);
}

static char check_id(intptr_t key, int64_t got) { return got == key; }

void mysql_close_from_callback(void)
{
    if (!mt_need_server()) return;
    for (int s = 0; s < 3; s++) {
        aw_adapter *a = NULL;
        aw_lookup l = { .ctx = &a, .sql = "SELECT id FROM customers WHERE id = ?", .bind = bind_key,
                        .row = row_closing, .free_result = free_res };
        char uri[600], err[1024];
        mt_uri(uri, sizeof uri, way_of(s), 2, NULL);
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) return;
        tally t = { .n = 100, .ends = calloc(101, 1), .check = check_id };
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
 * 'k' KILLs every connection of our user, 'r' halts the server (then says
 * so) and starts it again. */
typedef struct faults {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char todo[8];
    int ntodo;
    bool halted, quit;
    int kills, killed, restarts, errors;
    char err[200];
} faults;

static int kill_all(faults *f)
{
    MYSQL *m = mt_admin();
    if (!m) return -1;
    int n = 0;
    if (mysql_query(m, "SELECT id FROM information_schema.processlist WHERE user = 'aw'") == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        MYSQL_ROW r;
        while (res && (r = mysql_fetch_row(res))) {
            char q[64];
            snprintf(q, sizeof q, "KILL CONNECTION %s", r[0]);
            n += mysql_query(m, q) == 0;
        }
        if (res) mysql_free_result(res);
    }
    mysql_close(m);
    return n;
}

static void *fault_main(void *arg)
{
    faults *f = arg;
    mysql_thread_init();
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->ntodo && !f->quit) pthread_cond_wait(&f->cv, &f->mu);
        if (!f->ntodo) break;
        char what = f->todo[0];
        memmove(f->todo, f->todo + 1, (size_t)--f->ntodo);
        pthread_mutex_unlock(&f->mu);
        int rc = 0, n = 0;
        if (what == 'k') {
            n = kill_all(f);
            rc = n < 0;
        } else {
            rc = mt_ctl("halt");
            pthread_mutex_lock(&f->mu);
            f->halted = true;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
            rc = rc || mt_ctl("resume");
        }
        pthread_mutex_lock(&f->mu);
        if (what == 'k') { f->kills++; f->killed += n > 0 ? n : 0; } else f->restarts++;
        if (rc && !f->errors++) snprintf(f->err, sizeof f->err, "fault '%c' failed", what);
    }
    pthread_mutex_unlock(&f->mu);
    mysql_thread_end();
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

/* Record i looks up key_of(i) in sbtest1, whose k is id * 7919 % 100003. */
static int64_t key_of(intptr_t i) { return (int64_t)((i * 7919) % mt.rows) + 1; }

static int bind_rec(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, key_of((intptr_t)input)); }

static char check_k(intptr_t rec, int64_t got) { return got == key_of(rec) * 7919 % 100003; }

static void fault_test(int s)
{
    if (!mt_need_server()) return;
    enum { N = 100000 };
    aw_lookup l = { .sql = "SELECT k FROM sbtest1 WHERE id = ?", .bind = bind_rec, .row = row_int,
                    .free_result = free_res };
    char uri[600], err[1024];
    mt_uri(uri, sizeof uri, s, 8, "read_timeout_ms=10000");
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open: %.900s", err); return; }
    tally t = { .n = N, .ends = calloc(N + 1, 1), .check = check_k };
    aw_config cfg = { .mode = getenv("AW_MODE") ? atoi(getenv("AW_MODE")) : s == AW_MYSQL_POOL ? AW_ORDERED : AW_UNORDERED, .capacity = 64,
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
    if (getenv("AW_DEBUG")) fprintf(stderr, "start at %.3f\n", now_s());
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
    aw_mysql_stats ms;
    ASSERT_EQ(aw_mysql_stats_get(a, &ms), 0);
    aw_adapter_close(a);
    if (f.errors) AW__FAIL("%s", f.err);
    ASSERT_EQ(f.kills, 2);
    ASSERT_EQ(f.restarts, 1);
    ASSERT_TRUE(f.killed >= 8);
    /* Every record ended exactly once: emitted or reported. */
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
    ASSERT_TRUE(ms.conn_lost >= 8);
    ASSERT_TRUE(ms.reconnects >= 8);
    printf("\n    [%s: %ld emitted, %ld failed, %" PRIu64 " retries, %" PRIu64 " connections lost, "
           "%" PRIu64 " reconnects, %d KILLed] ", MT_WAY_NAME(s), t.emitted,
           t.failed, st.retried, ms.conn_lost, ms.reconnects, f.killed);
    free(t.ends);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

void mysql_fault_kill_and_restart_pool(void) { fault_test(AW_MYSQL_POOL); }
void mysql_fault_kill_and_restart_async(void) { fault_test(MT_OWNER); }
void mysql_fault_kill_and_restart_async_thread(void) { fault_test(MT_THREAD); }
#else
typedef int aw_mysql_fault_not_built;
#endif
