/* The thread pool's timeouts and reconnect backoff, on a client whose
 * calls wait at a gate the test opens, and a fake clock: a record timing
 * out while queued, while running, after its worker let go of it; the
 * reconnect backoff; close during a backoff. (tests/test_pool.c holds the
 * pool's exactly-once, error and close tests.) */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "aw_test.h"
#include "pool.h"

/* A client whose calls wait at a gate: call k (0-based, in call order)
 * runs once opened > k. It counts calls and says which one is running. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long opened, calls, running;   /* running: the input in call, or -1 */
    int first_ok;                  /* connects 0..first_ok-1 succeed, */
    int busy_connect_fail;         /* then this many fail, then all succeed */
    _Atomic int connects;
    long kept, lost;               /* r_call: input reacquired, or not */
} gate;

static int g_connect(void *ctx, void **conn, char *err, size_t errlen)
{
    gate *g = ctx;
    int n = atomic_fetch_add(&g->connects, 1);
    if (n >= g->first_ok && n - g->first_ok < g->busy_connect_fail) {
        snprintf(err, errlen, "gate: store down (attempt %d)", n);
        return AW_ECONN;
    }
    *conn = g;
    return 0;
}

/* Counts a call of input v and waits until the gate lets it through. */
static void gate_pass(gate *g, long v)
{
    pthread_mutex_lock(&g->mu);
    long k = g->calls++;
    g->running = v;
    pthread_cond_broadcast(&g->cv);
    while (g->opened <= k) pthread_cond_wait(&g->cv, &g->mu);
    g->running = -1;
    pthread_mutex_unlock(&g->mu);
}

/* Inputs are heap boxes the sink frees: a call after its record left
 * would read freed memory, which ASan reports. */
static int g_call(void *ctx, void *conn, void *input, aw_future *f)
{
    gate *g = ctx;
    long v = *(long *)input;
    void *r = (void *)(intptr_t)(v + 1);
    /* Inputs >= 100 complete first and then wait at the gate (without
     * touching f or input again, as the contract allows): the worker stays
     * busy while their records are already done. */
    if (v >= 100) aw_future_complete(f, &r, 1);
    gate_pass(g, v);
    if (v < 0) return AW_ECONN;            /* negative inputs break the connection */
    if (v < 100) aw_future_complete(f, &r, 1);
    return 0;
}

static void gate_open(gate *g, long n)
{
    pthread_mutex_lock(&g->mu);
    g->opened = n;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits (bounded: 10 s) until call number `calls` is running. */
static bool gate_wait_running(gate *g, long calls)
{
    struct timespec until = deadline_in(10);
    pthread_mutex_lock(&g->mu);
    int rc = 0;
    while (!(g->calls >= calls && g->running >= 0) && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    bool ok = g->calls >= calls && g->running >= 0;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

typedef struct boxes { long seen[32]; long emitted, errors, queued_msgs; int last_err; } boxes;

static void b_emit(void *ctx, void *in, void *const *r, size_t n, int64_t ts)
{
    boxes *b = ctx;
    long v = *(long *)in;
    b->seen[(v < 0 ? -v : v) % 100]++;
    b->emitted++;
    free(in);
}

static void b_error(void *ctx, void *in, int err, const char *msg)
{
    boxes *b = ctx;
    long v = *(long *)in;
    b->seen[(v < 0 ? -v : v) % 100]++;
    b->errors++;
    b->last_err = err;
    if (strstr(msg, "queued")) b->queued_msgs++;
    free(in);
}

static void b_discard(void *ctx, void *in) { b_emit(ctx, in, NULL, 0, 0); }

static void *box(long v)
{
    long *b = malloc(sizeof *b);
    *b = v;
    return b;
}

/* The gate tests' setup: a pool of `threads` workers whose client passes
 * g's gate (connects first_ok.. fail busy_connect_fail times; the gate
 * starts opened to `opened`), an operator over it with cfg on the fake
 * clock clk, whose sink counts into b. gate_stop frees both. */
typedef struct gate_run {
    gate g;
    fake_clock clk;
    boxes b;
    aw_pool *pool;
    aw_op *op;
} gate_run;

static aw_op *gate_start(gate_run *r, int threads, int (*call)(void *, void *, void *, aw_future *),
                         aw_config cfg, long opened, int first_ok, int busy_connect_fail)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->g.mu, NULL);
    pthread_cond_init(&r->g.cv, NULL);
    r->g.opened = opened;
    r->g.running = -1;
    r->g.first_ok = first_ok;
    r->g.busy_connect_fail = busy_connect_fail;
    atomic_init(&r->g.connects, 0);
    aw_sync_client cl = { &r->g, g_connect, call, NULL };
    aw_pool_config pc = { .threads = threads };
    int rc = aw_pool_new(&r->pool, &pc, &cl);
    if (rc != 0) { AW__FAIL("aw_pool_new: %d", rc); return NULL; }
    cfg.clock = fake_clock_of(&r->clk);
    aw_sink sink = { .ctx = &r->b, .emit = b_emit, .error = b_error, .discard = b_discard };
    rc = aw_op_new(&r->op, &cfg, aw_pool_function(r->pool), &sink);
    if (rc != 0) AW__FAIL("aw_op_new: %d", rc);
    return r->op;
}

static void gate_stop(gate_run *r)
{
    aw_op_free(r->op);
    aw_pool_free(r->pool);
    pthread_cond_destroy(&r->g.cv);
    pthread_mutex_destroy(&r->g.mu);
}

/* Opens the gate after a short delay, so the owner, blocked in the pool's
 * timeout callback waiting for the running call, is released. */
typedef struct opener { gate *g; long n; pthread_t th; } opener;

static void *open_later(void *arg)
{
    opener *o = arg;
    struct timespec t = { 0, 20 * 1000000L };   /* makes the wait real */
    nanosleep(&t, NULL);
    gate_open(o->g, o->n);
    return NULL;
}

/* Records that time out while queued -- in the pool's queue or in a
 * worker's batch, not yet called -- leave at once with AW_ETIMEDOUT and are
 * never called. */
static void pool_timeout_while_queued(void)
{
    gate_run gr;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16, .timeout_ms = 10 };
    aw_op *op = gate_start(&gr, 1, g_call, cfg, 0, 1, 0);
    ASSERT_EQ(aw_op_push(op, box(0), 0), 0);
    ASSERT_TRUE(gate_wait_running(&gr.g, 1));        /* call 0 waits at the gate */
    ASSERT_EQ(aw_op_push(op, box(101), 0), 0);       /* completes, then waits */
    for (long i = 2; i <= 8; i++) ASSERT_EQ(aw_op_push(op, box(i), 0), 0);
    gate_open(&gr.g, 1);                             /* 0 ends; the worker takes the rest */
    ASSERT_TRUE(gate_wait_running(&gr.g, 2));        /* 101 done, its call still busy */
    atomic_store(&gr.clk.now, 11);                   /* every deadline passed */
    ASSERT_EQ(aw_op_drain(op), 0);                   /* never waits for a call */
    gate_open(&gr.g, 1000);
    gate_stop(&gr);
    ASSERT_EQ(gr.b.emitted, 2);                      /* 0 and 101 */
    ASSERT_EQ(gr.b.errors, 7);                       /* 2..8 */
    ASSERT_EQ(gr.b.queued_msgs, 7);
    ASSERT_EQ(gr.b.last_err, AW_ETIMEDOUT);
    ASSERT_EQ(gr.g.calls, 2);                        /* none of them was called */
    for (int i = 0; i <= 8; i++) ASSERT_EQ(gr.b.seen[i], 1);
}

/* A record whose call is running (and holds its input) when it times out
 * holds the owner (in the pool's timeout callback) until the call returns
 * -- the call may still read the input -- and then its result counts: the
 * record is not counted as timed out, since it did not fail. */
static void pool_timeout_while_running(void)
{
    gate_run gr;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 10 };
    aw_op *op = gate_start(&gr, 2, g_call, cfg, 0, 1, 0);
    ASSERT_EQ(aw_op_push(op, box(5), 0), 0);
    ASSERT_TRUE(gate_wait_running(&gr.g, 1));
    opener o = { .g = &gr.g, .n = 1000 };
    pthread_create(&o.th, NULL, open_later, &o);
    atomic_store(&gr.clk.now, 11);
    ASSERT_EQ(aw_op_drain(op), 0);
    pthread_join(o.th, NULL);
    aw_stats st;
    aw_op_stats(op, &st);
    gate_stop(&gr);
    ASSERT_EQ(st.timed_out, 0);                      /* the completion won ... */
    ASSERT_EQ(gr.b.emitted, 1);                      /* ... and the result counted */
    ASSERT_EQ(gr.b.errors, 0);
    ASSERT_EQ(gr.g.calls, 1);
}

/* Like g_call, but lets go of its input while it waits at the gate. */
static int r_call(void *ctx, void *conn, void *input, aw_future *f)
{
    gate *g = ctx;
    long v = *(long *)input;
    aw_pool_input_release();
    gate_pass(g, v);
    if (!aw_pool_input_reacquire()) {      /* input may be freed: not read */
        g->lost++;
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
        return 0;
    }
    g->kept++;
    void *r = (void *)(intptr_t)(*(long *)input + 1);
    aw_future_complete(f, &r, 1);
    return 0;
}

/* Opens the gate if nobody has by a 5 s deadline, so a regression (the
 * owner waiting for the call) fails the test instead of hanging it. */
static void *open_by_deadline(void *arg)
{
    gate *g = arg;
    struct timespec until = deadline_in(5);
    pthread_mutex_lock(&g->mu);
    while (g->opened == 0 && pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0) { }
    if (g->opened == 0) { g->opened = 1000; pthread_cond_broadcast(&g->cv); }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* A call that released its input (aw_pool_input_release) does not hold the
 * owner: its record fails with AW_ETIMEDOUT while the call still waits,
 * and the call, told by aw_pool_input_reacquire, never reads the input the
 * sink has freed (ASan would say). A call that reacquires in time keeps
 * its result. */
static void pool_timeout_while_released(void)
{
    gate_run gr;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 10 };
    aw_op *op = gate_start(&gr, 1, r_call, cfg, 0, 1, 0);
    pthread_t safety;
    pthread_create(&safety, NULL, open_by_deadline, &gr.g);
    ASSERT_EQ(aw_op_push(op, box(7), 0), 0);
    ASSERT_TRUE(gate_wait_running(&gr.g, 1));        /* released, waiting at the gate */
    atomic_store(&gr.clk.now, 11);
    ASSERT_EQ(aw_op_drain(op), 0);                   /* returns with the call still waiting */
    pthread_mutex_lock(&gr.g.mu);
    long opened = gr.g.opened;
    pthread_mutex_unlock(&gr.g.mu);
    ASSERT_EQ(opened, 0);
    ASSERT_EQ(gr.b.errors, 1);
    ASSERT_EQ(gr.b.last_err, AW_ETIMEDOUT);
    ASSERT_EQ(gr.b.emitted, 0);
    /* Now one that comes back in time: its result counts. */
    ASSERT_EQ(aw_op_push(op, box(8), 0), 0);         /* waits behind 7's call */
    gate_open(&gr.g, 1000);
    ASSERT_EQ(aw_op_drain(op), 0);
    pthread_join(safety, NULL);
    gate_stop(&gr);
    ASSERT_EQ(gr.b.emitted, 1);
    ASSERT_EQ(gr.g.lost, 1);
    ASSERT_EQ(gr.g.kept, 1);
    ASSERT_EQ(gr.b.seen[7] + gr.b.seen[8], 2);
}

/* A broken connection whose reconnects fail twice: the record it held
 * fails with AW_ECONN, queued ones wait for the new connection, the pool
 * backs off (10 ms, 20 ms) and carries on. */
static void pool_reconnect_backoff(void)
{
    gate_run gr;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16 };
    aw_op *op = gate_start(&gr, 1, g_call, cfg, 1000, 1, 2);
    ASSERT_EQ(aw_op_push(op, box(-1), 0), 0);        /* breaks the connection */
    for (long i = 2; i <= 9; i++) ASSERT_EQ(aw_op_push(op, box(i), 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_pool_stats st;
    ASSERT_EQ(aw_pool_stats_get(gr.pool, &st), 0);
    gate_stop(&gr);
    ASSERT_EQ(gr.b.errors, 1);
    ASSERT_EQ(gr.b.last_err, AW_ECONN);
    ASSERT_EQ(gr.b.emitted, 8);
    ASSERT_EQ(atomic_load(&gr.g.connects), 4);       /* first, 2 failed, 1 good */
    ASSERT_EQ(st.reconnects, 1);
    ASSERT_EQ(st.connected, 1);
    for (int i = 1; i <= 9; i++) ASSERT_EQ(gr.b.seen[i], 1);
}

/* Closing while a reconnect backoff waits ends the wait at once: the
 * client's store stays down for good, yet aw_op_free returns. */
static void pool_close_during_backoff(void)
{
    gate_run gr;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 16 };
    aw_op *op = gate_start(&gr, 2, g_call, cfg, 1000, 2, 1 << 30);
    ASSERT_EQ(aw_op_push(op, box(-1), 0), 0);
    ASSERT_EQ(aw_op_push(op, box(-2), 0), 0);        /* both connections break */
    for (int i = 0; i < 100 && gr.b.errors < 2; i++)
        if (aw_op_poll(op, 1000) < 0) break;
    for (long i = 3; i <= 6; i++) ASSERT_EQ(aw_op_push(op, box(i), 0), 0);
    gate_stop(&gr);                                  /* queued: discarded */
    ASSERT_EQ(gr.b.errors, 2);
    ASSERT_EQ(gr.b.emitted, 4);                      /* (b_discard counts as emitted) */
    ASSERT_EQ(gr.g.calls, 2);
}

CU_TestInfo aw_tests_pool_timeout[] = {
    { "pool_timeout_while_queued", pool_timeout_while_queued },
    { "pool_timeout_while_running", pool_timeout_while_running },
    { "pool_timeout_while_released", pool_timeout_while_released },
    { "pool_reconnect_backoff", pool_reconnect_backoff },
    { "pool_close_during_backoff", pool_close_during_backoff },
    CU_TEST_INFO_NULL
};
