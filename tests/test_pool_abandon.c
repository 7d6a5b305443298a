/* aw_pool_call_abandoned (issue 17): a call that let go of its input learns
 * when nobody waits for it any more -- its record timed out, or the pool is
 * closing -- and can stop early, as the SQLite adapter's progress handler
 * does. A fake client whose call waits (spinning, bounded by a 5 s
 * deadline) until it is told. */
#include <sched.h>
#include <time.h>
#include "aw_test.h"
#include "pool.h"

typedef struct told {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int entered;              /* calls that started */
    _Atomic int timed_out;    /* told, and reacquire said the record is gone */
    _Atomic int closing;      /* told, and reacquire said the input is ours */
    _Atomic int never_told;   /* the 5 s deadline passed */
} told;

static int t_connect(void *ctx, void **conn, char *err, size_t errlen)
{
    *conn = NULL;
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int t_call(void *ctx, void *conn, void *input, aw_future *f)
{
    told *t = ctx;
    pthread_mutex_lock(&t->mu);
    t->entered++;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    aw_pool_input_release();
    int64_t until = mono_ms() + 5000;
    while (!aw_pool_call_abandoned() && mono_ms() < until) sched_yield();
    if (!aw_pool_call_abandoned()) atomic_fetch_add(&t->never_told, 1);
    if (!aw_pool_input_reacquire()) {
        atomic_fetch_add(&t->timed_out, 1);
        aw_future_fail(f, AW_ETIMEDOUT, NULL);          /* late: ignored */
    } else {
        atomic_fetch_add(&t->closing, 1);
        aw_future_fail(f, AW_ECLOSED, "closing");
    }
    return 0;
}

static bool wait_entered(told *t, int n)
{
    struct timespec until = deadline_in(5);
    pthread_mutex_lock(&t->mu);
    while (t->entered < n && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0) { }
    bool ok = t->entered >= n;
    pthread_mutex_unlock(&t->mu);
    return ok;
}

/* One worker: the running call and the two records queued behind it all
 * fail with AW_ETIMEDOUT at the deadline; the running one is told, and
 * the queued ones never run. */
static void pool_abandoned_on_timeout(void)
{
    told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };
    aw_sync_client cl = { &t, t_connect, t_call, NULL };
    aw_pool_config pc = { .threads = 1 };
    aw_pool *p;
    ASSERT_EQ(aw_pool_new(&p, &pc, &cl), 0);
    fake_clock clk = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 10,
                      .clock = fake_clock_of(&clk) };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_pool_function(p), &sink), 0);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_TRUE(wait_entered(&t, 1));
    atomic_store(&clk.now, 11);
    ASSERT_EQ(aw_op_drain(op), 0);                   /* never waits for the call */
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    aw_pool_free(p);
    ASSERT_EQ(rec_count(&rs, 'x'), 3);
    for (size_t i = 0; i < rs.len; i++) ASSERT_EQ(rs.ev[i].err, AW_ETIMEDOUT);
    ASSERT_EQ(st.timed_out, 3);
    ASSERT_EQ(st.emitted, 0);
    /* The queued two were taken back before the running call was told (the
     * operator times out records due at one instant last first), so the
     * freed worker never started them. */
    ASSERT_EQ(t.entered, 1);
    ASSERT_EQ(atomic_load(&t.timed_out), 1);         /* the running call was told */
    ASSERT_EQ(atomic_load(&t.never_told), 0);
    rec_sink_fini(&rs);
}

/* Closing tells a running call too, so aw_op_free does not wait for it;
 * its record is discarded. */
static void pool_abandoned_on_close(void)
{
    told t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };
    aw_sync_client cl = { &t, t_connect, t_call, NULL };
    aw_pool_config pc = { .threads = 1 };
    aw_pool *p;
    ASSERT_EQ(aw_pool_new(&p, &pc, &cl), 0);
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, aw_pool_function(p), &sink), 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_TRUE(wait_entered(&t, 1));
    ASSERT_TRUE(!aw_pool_call_abandoned());          /* not a worker: false */
    aw_op_free(op);
    aw_pool_free(p);
    ASSERT_EQ(atomic_load(&t.closing), 1);
    ASSERT_EQ(atomic_load(&t.never_told), 0);
    ASSERT_EQ(rec_count(&rs, 'd'), 1);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_pool_abandon[] = {
    { "pool_abandoned_on_timeout", pool_abandoned_on_timeout },
    { "pool_abandoned_on_close", pool_abandoned_on_close },
    CU_TEST_INFO_NULL
};
