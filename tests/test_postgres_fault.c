/* The PostgreSQL adapter when things go wrong (suite postgres_fault): a
 * query outlives read_timeout_ms; records time out while they wait for a
 * connection; the adapter closes while busy and from inside its own
 * callback; and the fault test -- every adapter connection ended twice
 * with pg_terminate_backend and the server stopped and started once in
 * the middle of 100 000 lookups with retry on: every record ends emitted
 * exactly once, none missing, none wrong. Both strategies. Waits are
 * condvars with deadlines. */
#ifndef AW_HAVE_POSTGRES
#include "aw_test.h"

static void postgres_fault_not_built(void)
{
    AW__FAIL("the PostgreSQL adapter is not built: install libpq-dev (scripts/deps.sh postgres) and rebuild");
}

CU_TestInfo aw_tests_postgres_fault[] = { { "postgres_fault_not_built", postgres_fault_not_built },
                                          CU_TEST_INFO_NULL };
int aw_postgres_fault_suite_init(void) { return 0; }
int aw_postgres_fault_suite_clean(void) { return 0; }
#else
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "pg_test.h"

int aw_postgres_fault_suite_init(void) { pt_env_read(); return 0; }
int aw_postgres_fault_suite_clean(void) { return 0; }

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

static aw_adapter *open_sql(aw_postgres_strategy s, size_t count, const char *sql, const char *extra,
                            aw_lookup *l)
{
    char uri[600], err[1024];
    *l = (aw_lookup){ .sql = sql, .bind = bind_key, .row = row_int, .free_result = free_res };
    pt_uri(uri, sizeof uri, s, count, extra);
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open: %s: %.900s", aw_err_name(rc), err);
    return a;
}

/* A query that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the query's; the
 * next query works. The pool's blocking client rounds up to 1 s. */
void postgres_read_timeout(void)
{
    if (!pt_need_server()) return;
    for (int s = 0; s < 2; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(s ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC, 1, "SELECT pg_sleep(?)",
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
                ASSERT_STR_CONTAINS(t.first_msg, "within 300 ms");
        ASSERT_TRUE(dt < 0.9);
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
void postgres_timeout_while_queued(void)
{
    if (!pt_need_server()) return;
    for (int s = 0; s < 2; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(s ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC, 1, "SELECT pg_sleep(1), ?::int",
                                 s ? NULL : "pipeline=1", &l);
        if (!a) return;
        tally t = { .n = 4, .ends = calloc(5, 1),
                    .want = s ? "timed out while queued" : "waiting for a free PostgreSQL connection" };
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
void postgres_close_while_busy(void)
{
    if (!pt_need_server()) return;
    for (int s = 0; s < 2; s++) {
        aw_lookup l;
        aw_adapter *a = open_sql(s ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC, 4, "SELECT pg_sleep(? / 1000.0)", NULL, &l);
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

void postgres_close_from_callback(void)
{
    if (!pt_need_server()) return;
    for (int s = 0; s < 2; s++) {
        aw_adapter *a = NULL;
        aw_lookup l = { .ctx = &a, .sql = "SELECT id FROM customers WHERE id = ?", .bind = bind_key,
                        .row = row_closing, .free_result = free_res };
        char uri[600], err[1024];
        pt_uri(uri, sizeof uri, s ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC, 2, NULL);
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
 * 'k' ends every connection of our user (pg_terminate_backend), 'r' halts the server (then says
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
    PGconn *c = pt_admin();
    if (!c) return -1;
    int n = -1;
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE usename = '%s'", pt.user);
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) n = atoi(PQgetvalue(r, 0, 0));
    else fprintf(stderr, "pg_terminate_backend: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
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
            n = kill_all(f);
            rc = n < 0;
        } else {
            rc = pt_ctl("halt");
            pthread_mutex_lock(&f->mu);
            f->halted = true;
            pthread_cond_broadcast(&f->cv);
            pthread_mutex_unlock(&f->mu);
            rc = rc || pt_ctl("resume");
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

/* Record i looks up key_of(i) in sbtest1, whose k is id * 7919 % 100003. */
static int64_t key_of(intptr_t i) { return (int64_t)((i * 7919) % pt.rows) + 1; }

static int bind_rec(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, key_of((intptr_t)input)); }

static char check_k(intptr_t rec, int64_t got) { return got == key_of(rec) * 7919 % 100003; }

static void fault_test(aw_postgres_strategy s, const char *extra)
{
    if (!pt_need_server()) return;
    enum { N = 100000 };
    aw_lookup l = { .sql = "SELECT k FROM sbtest1 WHERE id = ?", .bind = bind_rec, .row = row_int,
                    .free_result = free_res };
    char uri[600], err[1024];
    char ex[100];
    snprintf(ex, sizeof ex, "read_timeout_ms=10000%s%s", extra ? "&" : "", extra ? extra : "");
    pt_uri(uri, sizeof uri, s, 8, ex);
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open: %.900s", err); return; }
    tally t = { .n = N, .ends = calloc(N + 1, 1), .check = check_k };
    aw_config cfg = { .mode = getenv("AW_MODE") ? atoi(getenv("AW_MODE")) : s == AW_POSTGRES_POOL ? AW_ORDERED : AW_UNORDERED, .capacity = 64,
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
    aw_postgres_stats ms;
    ASSERT_EQ(aw_postgres_stats_get(a, &ms), 0);
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
           "%" PRIu64 " reconnects, %d terminated] ", s == AW_POSTGRES_POOL ? "pool" : "async", t.emitted,
           t.failed, st.retried, ms.conn_lost, ms.reconnects, f.killed);
    free(t.ends);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}

void postgres_fault_kill_and_restart_pool(void) { fault_test(AW_POSTGRES_POOL, NULL); }
void postgres_fault_kill_and_restart_async(void) { fault_test(AW_POSTGRES_ASYNC, "pipeline=32"); }

CU_TestInfo aw_tests_postgres_fault[] = {
    { "postgres_read_timeout", postgres_read_timeout },
    { "postgres_timeout_while_queued", postgres_timeout_while_queued },
    { "postgres_close_while_busy", postgres_close_while_busy },
    { "postgres_close_from_callback", postgres_close_from_callback },
    { "postgres_fault_kill_and_restart_pool", postgres_fault_kill_and_restart_pool },
    { "postgres_fault_kill_and_restart_async", postgres_fault_kill_and_restart_async },
    CU_TEST_INFO_NULL
};
#endif
