/* Timeouts on a fake clock: timers fire when now >= due, the fn.timeout
 * fallback, late completions (also from other threads), no timeout when
 * zero. Nothing sleeps to wait for an outcome. */
#include "core_test.h"

/* ------------------------------------------------------------- timeouts */

static void timer_timeout_fires_at_due(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4, .timeout_ms = 100 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_next_timer_ms(op), -1);
    set_now(&x.clock, 5);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);     /* deadline 105 */
    ASSERT_EQ(aw_op_next_timer_ms(op), 100);
    set_now(&x.clock, 104);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), 1);
    ASSERT_EQ(x.rs.len, 0);
    set_now(&x.clock, 105);
    ASSERT_EQ(aw_op_next_timer_ms(op), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_EQ(x.rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "100 ms");
    ASSERT_EQ(aw_op_in_flight(op), 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), -1);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.timed_out, 1);
    ASSERT_EQ(st.failed, 1);
    ASSERT_EQ(st.emitted, 0);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* One record times out per millisecond, in push order, each in its output
 * position (ordered) with the completed one behind it. */
static void timer_timeouts_in_order(void)
{
    enum { N = 60 };
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 64, .timeout_ms = 100 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK);
    for (intptr_t i = 0; i < N; i++) {         /* record i: deadline 100 + i */
        set_now(&x.clock, i);
        ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    }
    /* odd records complete; even ones will time out */
    for (int i = 1; i < N; i += 2) ASSERT_EQ(park_done(&x.p, i, i), 0);
    long wrong = 0;
    set_now(&x.clock, 99);
    if (aw_op_poll(op, 0) != 0) wrong++;
    for (int64_t t = 100; t < 100 + N; t += 2) {
        set_now(&x.clock, t);                /* record t-100 (even) times out */
        int rc = aw_op_poll(op, 0);
        if (rc != 2) wrong++;                /* and the odd one behind it leaves */
        if (x.rs.len < 2) { wrong++; continue; }
        const rec_event *to = &x.rs.ev[x.rs.len - 2], *e = &x.rs.ev[x.rs.len - 1];
        if (to->kind != 'x' || to->input != t - 100 || to->err != AW_ETIMEDOUT) wrong++;
        if (e->kind != 'e' || e->input != t - 99) wrong++;
        set_now(&x.clock, t + 1);            /* the odd record's deadline: it is gone */
        if (aw_op_poll(op, 0) != 0) wrong++;
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(x.rs.len, N);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.timed_out, N / 2);
    ASSERT_EQ(st.emitted, N / 2);
    fx_close(&x);
}

static void timer_timeout_unordered_and_event_time(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 50 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    ASSERT_EQ(park_done(&x.p, 1, 2), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    set_now(&x.clock, 50);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&x.rs, "ex", 2, 1);
    fx_close(&x);

    /* event time: a timed-out record still waits for its segment */
    cfg.mode = AW_UNORDERED_EVENT_TIME;
    op = fx_open(&x, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_push(op, (void *)1, 1), 0);
    ASSERT_EQ(aw_op_watermark(op, 5), 0);
    set_now(&x.clock, 10);
    ASSERT_EQ(aw_op_push(op, (void *)2, 6), 0);      /* deadline 60 */
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 2);                  /* 1, watermark 5 */
    set_now(&x.clock, 59);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    set_now(&x.clock, 60);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&x.rs, "ewx", 1, 5, 2);
    ASSERT_EQ(x.rs.ev[2].err, AW_ETIMEDOUT);
    fx_close(&x);
}

/* The timeout handler completes the future with a fallback: emitted. */
typedef struct fb {
    int calls;
    intptr_t input;
    int rc1, rc2;
    int mode;            /* 0: complete with -7; 1: complete with no result; 2: do nothing */
} fb;

static fb g_fb;
static void fallback_timeout(void *ctx, void *input, aw_future *f)
{
    g_fb.calls++;
    g_fb.input = (intptr_t)input;
    if (g_fb.mode == 0) {
        void *r = (void *)-7;
        g_fb.rc1 = aw_future_complete(f, &r, 1);
        void *r2 = (void *)-8;
        g_fb.rc2 = aw_future_complete(f, &r2, 1);   /* still inside: f is valid */
    } else if (g_fb.mode == 1) {
        g_fb.rc1 = aw_future_complete(f, NULL, 0);
        g_fb.rc2 = aw_future_fail(f, AW_EQUERY, "after");
    }
}

/* An operator (timeout 30 ms, capacity 4) whose fn.timeout is
 * fallback_timeout in the given g_fb mode. */
static aw_op *fallback_open(fx *x, aw_mode mode, int fb_mode)
{
    memset(&g_fb, 0, sizeof g_fb);
    g_fb.mode = fb_mode;
    aw_config cfg = { .mode = mode, .capacity = 4, .timeout_ms = 30 };
    return fx_open_timeout(x, cfg, FX_CLOCK, fallback_timeout);
}

static void timer_timeout_fallback(void)
{
    fx x;
    aw_op *op = fallback_open(&x, AW_ORDERED, 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 11), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 22), 0);
    ASSERT_EQ(park_done(&x.p, 1, 20), 0);
    set_now(&x.clock, 29);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(g_fb.calls, 0);
    set_now(&x.clock, 30);
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    ASSERT_EQ(g_fb.calls, 1);                 /* only 1 was still pending */
    ASSERT_EQ(g_fb.input, 1);
    ASSERT_EQ(g_fb.rc1, 0);
    ASSERT_EQ(g_fb.rc2, AW_EALREADY);
    EXPECT_EVENTS(&x.rs, "ee", 1, 2);
    ASSERT_EQ(x.rs.ev[0].first, -7);
    ASSERT_EQ(x.rs.ev[0].ts, 11);
    ASSERT_EQ(x.rs.ev[1].first, 20);
    ASSERT_EQ(park_done(&x.p, 0, 5), AW_EALREADY); /* the fallback counted */
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.timed_out, 1);
    ASSERT_EQ(st.emitted, 2);
    ASSERT_EQ(st.failed, 0);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

static void timer_timeout_fallback_no_result(void)
{
    fx x;
    aw_op *op = fallback_open(&x, AW_UNORDERED, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    set_now(&x.clock, 30);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(g_fb.rc1, 0);
    ASSERT_EQ(g_fb.rc2, AW_EALREADY);
    EXPECT_EVENTS(&x.rs, "e", 1);
    ASSERT_EQ(x.rs.ev[0].n, 0);
    fx_close(&x);
}

/* A timeout handler that does not complete f: the record fails with
 * AW_ETIMEDOUT; the adapter's late completion is refused. */
static void timer_timeout_handler_not_completing(void)
{
    fx x;
    aw_op *op = fallback_open(&x, AW_ORDERED, 2);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    set_now(&x.clock, 1000);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(g_fb.calls, 1);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_EQ(x.rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_EQ(park_done(&x.p, 0, 5), AW_ETIMEDOUT);
    fx_free_op(&x);
    ASSERT_EQ(g_fb.calls, 1);
    fx_close(&x);
}

/* A late completion after the timeout: AW_ETIMEDOUT, nothing changes, the
 * results stay with the caller (ASan checks the box is freed only once). */
static void timer_late_completion_ignored(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .timeout_ms = 10 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK | FX_BOXES);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    set_now(&x.clock, 10);
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    EXPECT_EVENTS(&x.rs, "xx", 1, 2);
    void *b = box_new(5);
    ASSERT_EQ(aw_future_complete(x.p.f[0], &b, 1), AW_ETIMEDOUT);
    free(b);                                   /* still ours */
    ASSERT_EQ(aw_future_fail(x.p.f[1], AW_ECONN, "late"), AW_ETIMEDOUT);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(x.rs.len, 2);
    ASSERT_EQ(x.rs.released, 0);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.late, 2);
    ASSERT_EQ(st.timed_out, 2);
    ASSERT_EQ(st.emitted, 0);
    /* the slots are free again: the operator works on */
    ASSERT_EQ(aw_op_push(op, (void *)3, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)4, 0), 0);
    ASSERT_EQ(park_done(&x.p, 2, 3), 0);
    ASSERT_EQ(park_done(&x.p, 3, 4), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "xxee", 1, 2, 3, 4);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* The late completion comes from another thread. */
typedef struct late_arg { aw_future *f; int rc; } late_arg;
static void *late_main(void *arg)
{
    late_arg *a = arg;
    void *r = box_new(1);
    a->rc = aw_future_complete(a->f, &r, 1);
    if (a->rc != 0) free(r);
    return NULL;
}

static void timer_late_completion_other_thread(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 2, .timeout_ms = 10 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK | FX_BOXES);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    set_now(&x.clock, 10);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    late_arg a = { x.p.f[0], 99 };
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, late_main, &a), 0);
    pthread_join(th, NULL);
    ASSERT_EQ(a.rc, AW_ETIMEDOUT);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(x.rs.len, 1);
    fx_close(&x);
}

static void timer_no_timeout_when_zero(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), -1);
    set_now(&x.clock, INT64_C(1) << 40);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(x.rs.len, 0);
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "e", 1);
    fx_close(&x);
}

/* aw_op_poll with a limit notices a clock another thread moves. */
typedef struct mover { fake_clock *c; int64_t to; unsigned delay_us; } mover;
static void *mover_main(void *arg)
{
    mover *m = arg;
    struct timespec d = { 0, (long)m->delay_us * 1000 };
    nanosleep(&d, NULL);                 /* creates the delay; nothing waits on it */
    atomic_store(&m->c->now, m->to);
    return NULL;
}

static void timer_poll_sees_clock_moved_by_other_thread(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .timeout_ms = 100 };
    aw_op *op = fx_open(&x, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    mover m = { &x.clock, 100, 3000 };
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, mover_main, &m), 0);
    int rc = aw_op_poll(op, 10000);      /* deadline: 10 s */
    pthread_join(th, NULL);
    ASSERT_EQ(rc, 1);
    EXPECT_EVENTS(&x.rs, "x", 1);
    fx_close(&x);
}

/* With a clock that does not move, drain waits for completions only. */
static void timer_drain_waits_for_completion_only(void)
{
    fake_clock c = { 0 };
    handoff h;
    ASSERT_EQ(handoff_start(&h, 0, 2000), 0);
    rec_sink rs;
    rec_sink_init(&rs, 8);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4, .timeout_ms = 1000,
                      .clock = fake_clock_of(&c) };
    aw_op *op = handoff_op(&cfg, &h, &rs);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&rs, "ee", 1, 2);
    ASSERT_EQ(rs.ev[1].first, 1002);
    aw_op_free(op);
    handoff_fini(&h);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_timer[] = {
    { "timer_timeout_fires_at_due", timer_timeout_fires_at_due },
    { "timer_timeouts_in_order", timer_timeouts_in_order },
    { "timer_timeout_unordered_and_event_time", timer_timeout_unordered_and_event_time },
    { "timer_timeout_fallback", timer_timeout_fallback },
    { "timer_timeout_fallback_no_result", timer_timeout_fallback_no_result },
    { "timer_timeout_handler_not_completing", timer_timeout_handler_not_completing },
    { "timer_late_completion_ignored", timer_late_completion_ignored },
    { "timer_late_completion_other_thread", timer_late_completion_other_thread },
    { "timer_no_timeout_when_zero", timer_no_timeout_when_zero },
    { "timer_poll_sees_clock_moved_by_other_thread", timer_poll_sees_clock_moved_by_other_thread },
    { "timer_drain_waits_for_completion_only", timer_drain_waits_for_completion_only },
    CU_TEST_INFO_NULL
};
