/* Retries on a fake clock (FLIP-232): fixed and exponential schedules,
 * the result and error predicates, max_attempts, retries bounded by the
 * record's timeout, output position. Nothing sleeps to wait for an
 * outcome. */
#include "core_test.h"

/* ---------------------------------------------------------------- retry */

typedef struct pred {
    int calls;
    void *ctx_seen;
    intptr_t input_seen;
    int err_seen;
    size_t n_seen;
    int answer;                 /* what to say */
    intptr_t retry_below;       /* if_result: retry while result < this */
} pred;

static pred g_pred;

static bool if_error_pred(void *ctx, void *input, int err)
{
    g_pred.calls++;
    g_pred.ctx_seen = ctx;
    g_pred.input_seen = (intptr_t)input;
    g_pred.err_seen = err;
    return g_pred.answer && err == AW_EQUERY;
}

/* results are boxes in the tests that use this */
static bool if_result_pred(void *ctx, void *input, void *const *results, size_t n)
{
    g_pred.calls++;
    g_pred.ctx_seen = ctx;
    g_pred.input_seen = (intptr_t)input;
    g_pred.n_seen = n;
    return n == 0 || *(intptr_t *)results[0] < g_pred.retry_below;
}

static void fail_at(park *p, int i, const char *msg)
{
    int rc = aw_future_fail(p->f[i], AW_EQUERY, msg);
    if (rc != 0) AW__FAIL("aw_future_fail(attempt %d) = %d", i, rc);
}

/* Fixed delay: multiplier 0 and multiplier 1 both mean "the same delay". */
static void timer_retry_fixed_delay(void)
{
    double mults[] = { 0.0, 1.0 };
    for (int k = 0; k < 2; k++) {
        fake_clock c = { 0 };
        park p = { .clock = &c };
        rec_sink rs;
        rec_sink_init(&rs, 8);
        memset(&g_pred, 0, sizeof g_pred);
        g_pred.answer = 1;
        int tag;
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                          .retry = { .max_attempts = 3, .delay_ms = 15, .multiplier = mults[k],
                                     .if_error = if_error_pred, .ctx = &tag } };
        aw_op *op = park_op(&cfg, &p, &rs, 1);
        ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
        int64_t want[] = { 0, 15, 30, 45 };
        long wrong = 0;
        for (int a = 0; a < 4; a++) {
            if (p.n != a + 1 || p.at[a] != want[a]) wrong++;
            if (p.n != a + 1) break;
            char msg[32];
            snprintf(msg, sizeof msg, "attempt %d", a);
            fail_at(&p, a, msg);
            /* the first completion counted; a second one is refused */
            if (aw_future_complete(p.f[a], NULL, 0) != AW_EALREADY) wrong++;
            aw_op_poll(op, 0);
            if (a == 3) break;
            set_now(&c, want[a + 1] - 1);
            aw_op_poll(op, 0);
            if (p.n != a + 1) wrong++;      /* not before its time */
            set_now(&c, want[a + 1]);
            aw_op_poll(op, 0);
        }
        ASSERT_EQ(wrong, 0);
        ASSERT_EQ(p.n, 4);                   /* 1 + max_attempts */
        EXPECT_EVENTS(&rs, "x", 1);
        ASSERT_EQ(rs.ev[0].err, AW_EQUERY);
        ASSERT_STR_CONTAINS(rs.ev[0].msg, "attempt 3");   /* the last error */
        ASSERT_TRUE(g_pred.calls >= 3);
        ASSERT_TRUE(g_pred.ctx_seen == &tag);
        ASSERT_EQ(g_pred.input_seen, 1);
        ASSERT_EQ(g_pred.err_seen, AW_EQUERY);
        aw_stats st;
        ASSERT_EQ(aw_op_stats(op, &st), 0);
        ASSERT_EQ(st.retried, 3);
        ASSERT_EQ(st.failed, 1);
        aw_op_free(op);
        rec_sink_fini(&rs);
    }
}

/* The cap applies to the first delay as well. */
static void timer_retry_cap_below_first_delay(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.answer = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 2, .delay_ms = 100, .multiplier = 3,
                                 .max_delay_ms = 30, .if_error = if_error_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    fail_at(&p, 0, "one");
    aw_op_poll(op, 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), 30);
    set_now(&c, 30);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 2);
    fail_at(&p, 1, "two");
    aw_op_poll(op, 0);
    set_now(&c, 60);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(p.at[2], 60);
    fail_at(&p, 2, "three");
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&rs, "x", 1);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "three");
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* if_result: a dropped attempt's results go to sink.release; the retry's
 * results are emitted. */
static void timer_retry_if_result(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    rs.boxes = 1;
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.retry_below = 100;
    int tag;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 5, .delay_ms = 7,
                                 .if_result = if_result_pred, .ctx = &tag } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)3, 0), 0);
    ASSERT_EQ(park_done(&p, 0, 1), 0);        /* 1 < 100: retry */
    aw_op_poll(op, 0);
    ASSERT_EQ(rs.released, 1);
    ASSERT_TRUE(g_pred.ctx_seen == &tag);
    ASSERT_EQ(g_pred.input_seen, 3);
    ASSERT_EQ(g_pred.n_seen, 1);
    set_now(&c, 7);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 2);
    ASSERT_EQ(aw_future_complete(p.f[1], NULL, 0), 0);   /* no result: retry */
    aw_op_poll(op, 0);
    ASSERT_EQ(g_pred.n_seen, 0);
    set_now(&c, 14);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(p.at[2], 14);
    ASSERT_EQ(park_done(&p, 2, 500), 0);      /* good enough */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&rs, "e", 3);
    ASSERT_EQ(rs.ev[0].first, 500);
    ASSERT_EQ(rs.released, 1);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.retried, 2);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* if_result keeps saying "retry" but attempts run out: the last results
 * are emitted as they are. */
static void timer_retry_if_result_exhausted(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    rs.boxes = 1;
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.retry_below = 1000;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 2, .delay_ms = 5,
                                 .if_result = if_result_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    for (int a = 0; a < 3; a++) {
        ASSERT_EQ(p.n, a + 1);
        if (p.n != a + 1) break;
        ASSERT_EQ(park_done(&p, a, 10 + a), 0);
        aw_op_poll(op, 0);
        set_now(&c, 5 * (a + 1));
        aw_op_poll(op, 0);
    }
    ASSERT_EQ(p.n, 3);
    EXPECT_EVENTS(&rs, "e", 1);
    ASSERT_EQ(rs.ev[0].first, 12);
    ASSERT_EQ(rs.released, 2);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* if_error says no, or max_attempts is 0, or only if_result is set: no
 * retry, the record fails at once. */
static void timer_retry_not_wanted(void)
{
    for (int k = 0; k < 3; k++) {
        fake_clock c = { 0 };
        park p = { .clock = &c };
        rec_sink rs;
        rec_sink_init(&rs, 8);
        memset(&g_pred, 0, sizeof g_pred);
        g_pred.answer = k != 0;
        g_pred.retry_below = 1000;
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                          .retry = { .max_attempts = k == 1 ? 0 : 3, .delay_ms = 1 } };
        if (k < 2) cfg.retry.if_error = if_error_pred;
        else cfg.retry.if_result = if_result_pred;
        aw_op *op = park_op(&cfg, &p, &rs, 1);
        ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
        fail_at(&p, 0, "final");
        ASSERT_EQ(aw_op_poll(op, 0), 1);
        set_now(&c, 100);
        ASSERT_EQ(aw_op_poll(op, 0), 0);
        ASSERT_EQ(p.n, 1);
        EXPECT_EVENTS(&rs, "x", 1);
        ASSERT_STR_CONTAINS(rs.ev[0].msg, "final");
        aw_stats st;
        ASSERT_EQ(aw_op_stats(op, &st), 0);
        ASSERT_EQ(st.retried, 0);
        aw_op_free(op);
        rec_sink_fini(&rs);
    }
}

/* The timeout covers every attempt: a retry due after the deadline is not
 * started and the record fails with its last error, not AW_ETIMEDOUT. */
static void timer_retry_bounded_by_timeout(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.answer = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .timeout_ms = 35,
                      .retry = { .max_attempts = 10, .delay_ms = 10, .multiplier = 2,
                                 .if_error = if_error_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);   /* deadline 35 */
    fail_at(&p, 0, "first");                      /* retry due 10 */
    aw_op_poll(op, 0);
    set_now(&c, 10);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 2);
    set_now(&c, 12);
    fail_at(&p, 1, "second");                     /* due 12 + 20 = 32 <= 35 */
    aw_op_poll(op, 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), 20);
    set_now(&c, 32);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(p.at[2], 32);
    set_now(&c, 33);
    fail_at(&p, 2, "third");                      /* due 33 + 40 = 73 > 35 */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(p.n, 3);
    EXPECT_EVENTS(&rs, "x", 1);
    ASSERT_EQ(rs.ev[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "third");
    set_now(&c, 1000);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(p.n, 3);
    ASSERT_EQ(rs.len, 1);
    ASSERT_EQ(aw_op_next_timer_ms(op), -1);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.retried, 2);
    ASSERT_EQ(st.timed_out, 0);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* The same bound with if_result: the last results are emitted. */
static void timer_retry_if_result_bounded_by_timeout(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    rs.boxes = 1;
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.retry_below = 1000;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .timeout_ms = 20,
                      .retry = { .max_attempts = 10, .delay_ms = 15, .if_result = if_result_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    set_now(&c, 6);
    ASSERT_EQ(park_done(&p, 0, 7), 0);            /* retry due 21 > 20 */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(p.n, 1);
    EXPECT_EVENTS(&rs, "e", 1);
    ASSERT_EQ(rs.ev[0].first, 7);
    ASSERT_EQ(rs.released, 0);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* The deadline counts from the push, not from the retry: an attempt still
 * running at the deadline times out. */
static void timer_timeout_covers_retry_attempts(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.answer = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .timeout_ms = 100,
                      .retry = { .max_attempts = 5, .delay_ms = 10, .if_error = if_error_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    fail_at(&p, 0, "first");
    aw_op_poll(op, 0);
    set_now(&c, 10);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 2);                            /* attempt 2 runs */
    set_now(&c, 99);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    set_now(&c, 100);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&rs, "x", 1);
    ASSERT_EQ(rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_EQ(park_done(&p, 1, 5), AW_ETIMEDOUT); /* attempt 2's late answer */
    aw_stats st;
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.retried, 1);
    ASSERT_EQ(st.timed_out, 1);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* Retries keep the output position: ordered waits, unordered does not. */
static void timer_retry_output_position(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED };
    for (int m = 0; m < 2; m++) {
        fake_clock c = { 0 };
        park p = { .clock = &c };
        rec_sink rs;
        rec_sink_init(&rs, 8);
        memset(&g_pred, 0, sizeof g_pred);
        g_pred.answer = 1;
        aw_config cfg = { .mode = modes[m], .capacity = 4, .clock = fake_clock_of(&c),
                          .retry = { .max_attempts = 1, .delay_ms = 10, .if_error = if_error_pred } };
        aw_op *op = park_op(&cfg, &p, &rs, 1);
        ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
        ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
        fail_at(&p, 0, "retry me");
        ASSERT_EQ(park_done(&p, 1, 2), 0);
        ASSERT_EQ(aw_op_poll(op, 0), modes[m] == AW_ORDERED ? 0 : 1);
        /* a record waiting for its retry is still in flight and in snapshots */
        ASSERT_EQ(aw_op_in_flight(op), modes[m] == AW_ORDERED ? 2 : 1);
        set_now(&c, 10);
        aw_op_poll(op, 0);
        ASSERT_EQ(p.n, 3);
        ASSERT_EQ(p.in[2], 1);
        ASSERT_EQ(park_done(&p, 2, 1), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        if (modes[m] == AW_ORDERED) EXPECT_EVENTS(&rs, "ee", 1, 2);
        else EXPECT_EVENTS(&rs, "ee", 2, 1);
        aw_op_free(op);
        rec_sink_fini(&rs);
    }
}

/* Inline failures retried with delay 0: every attempt runs, promptly. */
static void timer_retry_inline_zero_delay(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c, .mode = PARK_FAIL };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.answer = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 3, .if_error = if_error_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    aw_op_poll(op, 0);
    ASSERT_EQ(p.n, 4);
    ASSERT_EQ(p.inline_rc_bad, 0);
    EXPECT_EVENTS(&rs, "x", 1);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "inline failure");
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* A record waiting for its retry at free: discarded once, the dropped
 * attempt's results already released (ASan checks the boxes). */
static void timer_retry_pending_at_free(void)
{
    fake_clock c = { 0 };
    park p = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    rs.boxes = 1;
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.retry_below = 1000;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .timeout_ms = 500,
                      .retry = { .max_attempts = 3, .delay_ms = 50, .if_result = if_result_pred } };
    aw_op *op = park_op(&cfg, &p, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(park_done(&p, 0, 1), 0);
    aw_op_poll(op, 0);
    ASSERT_EQ(rs.released, 1);
    ASSERT_EQ(aw_op_in_flight(op), 1);
    aw_op_free(op);
    EXPECT_EVENTS(&rs, "d", 1);
    ASSERT_EQ(rs.released, 1);
    ASSERT_EQ(p.n, 1);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_retry[] = {
    { "timer_retry_fixed_delay", timer_retry_fixed_delay },
    { "timer_retry_cap_below_first_delay", timer_retry_cap_below_first_delay },
    { "timer_retry_if_result", timer_retry_if_result },
    { "timer_retry_if_result_exhausted", timer_retry_if_result_exhausted },
    { "timer_retry_not_wanted", timer_retry_not_wanted },
    { "timer_retry_bounded_by_timeout", timer_retry_bounded_by_timeout },
    { "timer_retry_if_result_bounded_by_timeout", timer_retry_if_result_bounded_by_timeout },
    { "timer_timeout_covers_retry_attempts", timer_timeout_covers_retry_attempts },
    { "timer_retry_output_position", timer_retry_output_position },
    { "timer_retry_inline_zero_delay", timer_retry_inline_zero_delay },
    { "timer_retry_pending_at_free", timer_retry_pending_at_free },
    CU_TEST_INFO_NULL
};
