/* The thread pool with a fake blocking client: exactly-once completion
 * under random blocking times, free while busy, failing connects and
 * calls, reconnect after a broken connection. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "aw_test.h"
#include "pool.h"

typedef struct fake_db {
    _Atomic int connects, disconnects;
    int fail_connect;          /* connect returns AW_ECONN */
    int break_every;           /* call n % break_every == 0 breaks the conn */
    int query_error_on;        /* inputs equal to this fail with AW_EQUERY */
    unsigned max_sleep_us;
} fake_db;

typedef struct fake_conn { int id; long calls; } fake_conn;

static int fk_connect(void *ctx, void **conn, char *err, size_t errlen)
{
    fake_db *d = ctx;
    if (d->fail_connect) {
        snprintf(err, errlen, "fake: access denied for user 'nobody'");
        return AW_ECONN;
    }
    fake_conn *c = calloc(1, sizeof *c);
    c->id = atomic_fetch_add(&d->connects, 1);
    *conn = c;
    return 0;
}

static void fk_disconnect(void *ctx, void *conn)
{
    fake_db *d = ctx;
    atomic_fetch_add(&d->disconnects, 1);
    free(conn);
}

static int fk_call(void *ctx, void *conn, void *input, aw_future *f)
{
    fake_db *d = ctx;
    fake_conn *c = conn;
    intptr_t x = (intptr_t)input;
    c->calls++;
    if (d->max_sleep_us) {   /* creates blocking time; nothing waits on it */
        unsigned us = (unsigned)(x * 2654435761u) % d->max_sleep_us;
        struct timespec t = { 0, (long)us * 1000 };
        nanosleep(&t, NULL);
    }
    if (d->break_every && c->calls % d->break_every == 0) return AW_ECONN;
    if (d->query_error_on && x == d->query_error_on) return AW_EQUERY;
    void *r = (void *)(x + 1);
    aw_future_complete(f, &r, 1);
    return 0;
}

typedef struct tally {
    unsigned char *seen;       /* per input: emits + errors + discards */
    long n, emitted, errors, discarded, bad;
    int last_err;
} tally;

static void t_emit(void *ctx, void *in, void *const *r, size_t n, int64_t ts)
{
    tally *t = ctx;
    intptr_t x = (intptr_t)in;
    t->seen[x]++;
    t->emitted++;
    if (n != 1 || (intptr_t)r[0] != x + 1) t->bad++;
}
static void t_error(void *ctx, void *in, int err, const char *msg)
{
    tally *t = ctx;
    t->seen[(intptr_t)in]++;
    t->errors++;
    t->last_err = err;
}
static void t_discard(void *ctx, void *in)
{
    tally *t = ctx;
    t->seen[(intptr_t)in]++;
    t->discarded++;
}

static long exactly_once(const tally *t, long pushed)
{
    long wrong = 0;
    for (long i = 0; i < pushed; i++) wrong += t->seen[i] != 1;
    return wrong;
}

static aw_op *pool_op(aw_pool *p, tally *t, aw_mode mode, size_t cap, const aw_retry *retry)
{
    aw_config cfg = { .mode = mode, .capacity = cap };
    if (retry) cfg.retry = *retry;
    aw_sink sink = { .ctx = t, .emit = t_emit, .error = t_error, .discard = t_discard };
    aw_op *op = NULL;
    char err[256];
    if (aw_op_create(&op, &cfg, aw_pool_function(p), &sink, err, sizeof err))
        AW__FAIL("aw_op_create: %s", err);
    return op;
}

/* A pool of `threads` workers over the fake client d; NULL (the test
 * failed) if it does not open. */
static aw_pool *fake_pool(fake_db *d, int threads)
{
    aw_sync_client cl = { d, fk_connect, fk_call, fk_disconnect };
    aw_pool_config pc = { .threads = threads };
    aw_pool *p = NULL;
    int rc = aw_pool_new(&p, &pc, &cl);
    if (rc != 0) AW__FAIL("aw_pool_new: %d", rc);
    return p;
}

/* Pushes inputs 0..n-1 (and drains, if asked); returns how many of those
 * calls failed. */
static long push_n(aw_op *op, long n, int drain)
{
    long bad = 0;
    for (long i = 0; i < n; i++) bad += aw_op_push(op, (void *)(intptr_t)i, 0) != 0;
    if (drain) bad += aw_op_drain(op) != 0;
    return bad;
}

static void pool_every_record_once(void)
{
    fake_db d = { .max_sleep_us = 200 };
    aw_pool *p = fake_pool(&d, 4);
    ASSERT_EQ(atomic_load(&d.connects), 4);
    long n = 5000;
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED };
    for (int m = 0; m < 2; m++) {
        tally t = { .seen = calloc((size_t)n, 1), .n = n };
        aw_pool *pm = fake_pool(&d, 4);
        aw_op *op = pool_op(pm, &t, modes[m], 64, NULL);   /* queue grows past 8 */
        ASSERT_EQ(push_n(op, n, 1), 0);
        aw_op_free(op);
        aw_pool_stats st;
        ASSERT_EQ(aw_pool_stats_get(pm, &st), 0);
        ASSERT_EQ(st.calls, (uint64_t)n);
        ASSERT_TRUE(st.queue_peak > 8);
        aw_pool_free(pm);
        ASSERT_EQ(t.emitted, n);
        ASSERT_EQ(t.bad, 0);
        ASSERT_EQ(exactly_once(&t, n), 0);
        free(t.seen);
    }
    aw_pool_free(p);
    ASSERT_EQ(atomic_load(&d.disconnects), atomic_load(&d.connects));
}

static void pool_free_while_busy(void)
{
    fake_db d = { .max_sleep_us = 2000 };
    aw_pool *p = fake_pool(&d, 2);
    long n = 200;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_op *op = pool_op(p, &t, AW_ORDERED, 256, NULL);
    ASSERT_EQ(push_n(op, n, 0), 0);
    aw_op_free(op);            /* most are still queued: they fail or are discarded */
    aw_pool_free(p);
    ASSERT_EQ(exactly_once(&t, n), 0);
    ASSERT_EQ(t.emitted + t.errors + t.discarded, n);
    ASSERT_TRUE(t.discarded > 0);
    ASSERT_EQ(atomic_load(&d.disconnects), 2);
    free(t.seen);
}

static void pool_connect_fails(void)
{
    fake_db d = { .fail_connect = 1 };
    aw_sync_client cl = { &d, fk_connect, fk_call, fk_disconnect };
    aw_pool_config pc = { .threads = 3 };
    aw_pool *p = (aw_pool *)&d;
    char err[256];
    ASSERT_EQ(aw_pool_create(&p, &pc, &cl, err, sizeof err), AW_ECONN);
    ASSERT_TRUE(p == NULL);
    ASSERT_STR_CONTAINS(err, "access denied");
    pc.threads = 0;
    ASSERT_EQ(aw_pool_create(&p, &pc, &cl, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "threads");
    aw_sync_client none = { 0 };
    pc.threads = 1;
    ASSERT_EQ(aw_pool_create(&p, &pc, &none, err, sizeof err), AW_EINVAL);
    ASSERT_EQ(aw_pool_new(NULL, &pc, &cl), AW_EINVAL);
    ASSERT_TRUE(aw_pool_function(NULL) == NULL);
    aw_pool_free(NULL);
}

static void pool_call_error_fails_record(void)
{
    fake_db d = { .query_error_on = 5 };
    aw_pool *p = fake_pool(&d, 2);
    long n = 10;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_op *op = pool_op(p, &t, AW_ORDERED, 4, NULL);
    ASSERT_EQ(push_n(op, n, 1), 0);
    aw_op_free(op);
    aw_pool_free(p);
    ASSERT_EQ(t.errors, 1);
    ASSERT_EQ(t.last_err, AW_EQUERY);
    ASSERT_EQ(t.emitted, n - 1);
    ASSERT_EQ(exactly_once(&t, n), 0);
    free(t.seen);
}

static bool retry_conn(void *ctx, void *input, int err) { return err == AW_ECONN; }

static void pool_reconnects_and_retries(void)
{
    fake_db d = { .break_every = 50 };
    aw_pool *p = fake_pool(&d, 3);
    long n = 3000;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_retry r = { .max_attempts = 5, .delay_ms = 1, .if_error = retry_conn };
    aw_op *op = pool_op(p, &t, AW_UNORDERED, 32, &r);
    ASSERT_EQ(push_n(op, n, 1), 0);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    aw_pool_stats ps;
    aw_pool_stats_get(p, &ps);
    aw_pool_free(p);
    ASSERT_TRUE(ps.reconnects > 0);
    ASSERT_TRUE(st.retried > 0);
    ASSERT_EQ(t.emitted, n);       /* every broken call was retried, none lost */
    ASSERT_EQ(exactly_once(&t, n), 0);
    ASSERT_EQ(atomic_load(&d.disconnects), atomic_load(&d.connects));
    free(t.seen);
}


/* ------------------------------------------------ timeouts and gates */

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
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
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
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
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

/* aw_pool_free and the function's close from inside a call do nothing
 * (a worker cannot join itself); the owner's later free works. */
typedef struct selfish { aw_pool *pool; _Atomic int inside; } selfish;

static int s_connect(void *ctx, void **conn, char *err, size_t errlen) { *conn = ctx; return 0; }

static int s_call(void *ctx, void *conn, void *input, aw_future *f)
{
    selfish *s = ctx;
    if (aw_pool_on_worker(s->pool)) atomic_fetch_add(&s->inside, 1);
    aw_pool_free(s->pool);
    aw_pool_function(s->pool)->close(aw_pool_function(s->pool)->ctx);
    return aw_future_complete(f, NULL, 0) ? AW_EINVAL : 0;
}

static void pool_free_from_worker_refused(void)
{
    selfish s = { NULL, 0 };
    aw_sync_client cl = { &s, s_connect, s_call, NULL };
    aw_pool_config pc = { .threads = 1 };
    ASSERT_EQ(aw_pool_new(&s.pool, &pc, &cl), 0);
    ASSERT_TRUE(!aw_pool_on_worker(s.pool));
    ASSERT_TRUE(!aw_pool_on_worker(NULL));
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_pool_function(s.pool), &sink), 0);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    aw_pool_free(s.pool);
    ASSERT_EQ(rec_count(&rs, 'e'), 3);
    ASSERT_EQ(atomic_load(&s.inside), 3);
    rec_sink_fini(&rs);
}

/* A record invoked after close fails at once with AW_ECLOSED; close twice
 * and aw_pool_free after it are harmless. */
static void pool_invoke_after_close(void)
{
    fake_db d = { 0 };
    aw_pool *p = fake_pool(&d, 2);
    const aw_function *fn = aw_pool_function(p);
    fn->close(fn->ctx);
    fn->close(fn->ctx);
    ASSERT_EQ(atomic_load(&d.disconnects), 2);
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, fn, &sink), 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    aw_pool_free(p);
    ASSERT_EQ(rec_count(&rs, 'x'), 1);
    ASSERT_EQ(rs.ev[0].err, AW_ECLOSED);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "closed");
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_pool[] = {
    { "pool_every_record_once", pool_every_record_once },
    { "pool_free_while_busy", pool_free_while_busy },
    { "pool_connect_fails", pool_connect_fails },
    { "pool_call_error_fails_record", pool_call_error_fails_record },
    { "pool_reconnects_and_retries", pool_reconnects_and_retries },
    { "pool_timeout_while_queued", pool_timeout_while_queued },
    { "pool_timeout_while_running", pool_timeout_while_running },
    { "pool_timeout_while_released", pool_timeout_while_released },
    { "pool_reconnect_backoff", pool_reconnect_backoff },
    { "pool_close_during_backoff", pool_close_during_backoff },
    { "pool_free_from_worker_refused", pool_free_from_worker_refused },
    { "pool_invoke_after_close", pool_invoke_after_close },
    CU_TEST_INFO_NULL
};
