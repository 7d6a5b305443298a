/* Retries on a fake clock (FLIP-232): fixed and exponential schedules,
 * the result and error predicates, max_attempts, retries bounded by the
 * record's timeout, output position. Nothing sleeps to wait for an
 * outcome. */
#include "core_test.h"

/* ------------------------------------------------------------- helpers */

typedef struct pred {
    int calls;
    void *ctx_seen;
    intptr_t input_seen;
    int err_seen;
    size_t n_seen;
    int answer;                 /* if_error: retry AW_EQUERY when set */
    intptr_t retry_below;       /* if_result: retry while result < this */
} pred;

static pred g_pred;

static void pred_reset(int answer, intptr_t retry_below)
{
    memset(&g_pred, 0, sizeof g_pred);
    g_pred.answer = answer;
    g_pred.retry_below = retry_below;
}

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

/* An operator on x's fake clock with this retry strategy. */
static aw_op *retry_op(fx *x, aw_mode mode, int64_t timeout_ms, aw_retry r, int flags)
{
    aw_config cfg = { .mode = mode, .capacity = 4, .timeout_ms = timeout_ms, .retry = r };
    return fx_open(x, cfg, flags | FX_CLOCK);
}

/* Fails every attempt of the one record pushed (message "attempt <a>")
 * and checks the schedule: attempt a starts at want[a] and not a
 * millisecond before, next_timer_ms says when, and a second completion of
 * a failed attempt is refused. Returns how many checks failed. */
static long fail_every_attempt(fx *x, const int64_t *want, int attempts)
{
    long wrong = 0;
    for (int a = 0; a < attempts; a++) {
        if (x->p.n != a + 1 || x->p.at[a] != want[a]) wrong++;
        if (x->p.n != a + 1) break;
        char msg[32];
        snprintf(msg, sizeof msg, "attempt %d", a);
        fail_at(&x->p, a, msg);
        if (aw_future_complete(x->p.f[a], NULL, 0) != AW_EALREADY) wrong++;
        if (aw_op_poll(x->op, 0) != (a == attempts - 1)) wrong++;   /* the last one fails it */
        if (a == attempts - 1) break;
        if (aw_op_next_timer_ms(x->op) != want[a + 1] - want[a]) wrong++;
        set_now(&x->clock, want[a + 1] - 1);
        aw_op_poll(x->op, 0);
        if (x->p.n != a + 1) wrong++;           /* not before its time */
        set_now(&x->clock, want[a + 1]);
        aw_op_poll(x->op, 0);
    }
    return wrong;
}

/* ------------------------------------------------------------ schedules */

/* Fixed delay: multiplier 0 and multiplier 1 both mean "the same delay". */
static void retry_fixed_delay(void)
{
    double mults[] = { 0.0, 1.0 };
    for (int k = 0; k < 2; k++) {
        fx x;
        pred_reset(1, 0);
        int tag;
        retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 3, .delay_ms = 15,
                 .multiplier = mults[k], .if_error = if_error_pred, .ctx = &tag }, 0);
        ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
        int64_t want[] = { 0, 15, 30, 45 };
        ASSERT_EQ(fail_every_attempt(&x, want, 4), 0);
        ASSERT_EQ(x.p.n, 4);                 /* 1 + max_attempts */
        EXPECT_EVENTS(&x.rs, "x", 1);
        ASSERT_EQ(x.rs.ev[0].err, AW_EQUERY);
        ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "attempt 3");   /* the last error */
        ASSERT_TRUE(g_pred.calls >= 3);
        ASSERT_TRUE(g_pred.ctx_seen == &tag);
        ASSERT_EQ(g_pred.input_seen, 1);
        ASSERT_EQ(g_pred.err_seen, AW_EQUERY);
        aw_stats st = op_stats(x.op);
        ASSERT_EQ(st.retried, 3);
        ASSERT_EQ(st.failed, 1);
        fx_close(&x);
    }
}

/* Exponential backoff up to a cap: delays 10, 20, 25 (capped), 25. */
static void retry_backoff_schedule(void)
{
    fx x;
    pred_reset(1, 0);
    retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 4, .delay_ms = 10, .multiplier = 2,
             .max_delay_ms = 25, .if_error = if_error_pred }, 0);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    int64_t want[] = { 0, 10, 30, 55, 80 };
    ASSERT_EQ(fail_every_attempt(&x, want, 5), 0);
    ASSERT_EQ(x.p.n, 5);
    EXPECT_EVENTS(&x.rs, "x", 1);            /* 4 retries used: fails */
    ASSERT_EQ(x.rs.ev[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "attempt 4");
    ASSERT_EQ(op_stats(x.op).retried, 4);
    fx_close(&x);
}

/* The cap applies to the first delay as well. */
static void retry_cap_below_first_delay(void)
{
    fx x;
    pred_reset(1, 0);
    retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 2, .delay_ms = 100, .multiplier = 3,
             .max_delay_ms = 30, .if_error = if_error_pred }, 0);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    int64_t want[] = { 0, 30, 60 };
    ASSERT_EQ(fail_every_attempt(&x, want, 3), 0);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.p.at[2], 60);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "attempt 2");
    fx_close(&x);
}

/* ----------------------------------------------------------- predicates */

/* if_result: a dropped attempt's results go to sink.release; the retry's
 * results are emitted. */
static void retry_if_result(void)
{
    fx x;
    pred_reset(0, 100);
    int tag;
    retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 5, .delay_ms = 7, .multiplier = 1,
             .if_result = if_result_pred, .ctx = &tag }, FX_BOXES);
    ASSERT_EQ(aw_op_push(x.op, (void *)3, 0), 0);
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);      /* 1 < 100: retry */
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.rs.released, 1);
    ASSERT_TRUE(g_pred.ctx_seen == &tag);
    ASSERT_EQ(g_pred.input_seen, 3);
    ASSERT_EQ(g_pred.n_seen, 1);
    set_now(&x.clock, 7);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 2);
    ASSERT_EQ(x.p.at[1], 7);
    ASSERT_EQ(aw_future_complete(x.p.f[1], NULL, 0), 0);   /* no result: retry */
    aw_op_poll(x.op, 0);
    ASSERT_EQ(g_pred.n_seen, 0);
    set_now(&x.clock, 14);                    /* fixed delay: 7 again */
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.p.at[2], 14);
    ASSERT_EQ(park_done(&x.p, 2, 500), 0);    /* good enough */
    ASSERT_EQ(aw_op_poll(x.op, 0), 1);
    EXPECT_EVENTS(&x.rs, "e", 3);
    ASSERT_EQ(x.rs.ev[0].first, 500);
    ASSERT_EQ(x.rs.released, 1);
    ASSERT_EQ(op_stats(x.op).retried, 2);
    fx_close(&x);
}

/* if_result keeps saying "retry" but attempts run out: the last results
 * are emitted as they are. */
static void retry_if_result_exhausted(void)
{
    fx x;
    pred_reset(0, 1000);
    retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 2, .delay_ms = 5,
             .if_result = if_result_pred }, FX_BOXES);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    for (int a = 0; a < 3; a++) {
        ASSERT_EQ(x.p.n, a + 1);
        if (x.p.n != a + 1) break;
        ASSERT_EQ(park_done(&x.p, a, 10 + a), 0);
        aw_op_poll(x.op, 0);
        set_now(&x.clock, 5 * (a + 1));
        aw_op_poll(x.op, 0);
    }
    ASSERT_EQ(x.p.n, 3);
    EXPECT_EVENTS(&x.rs, "e", 1);
    ASSERT_EQ(x.rs.ev[0].first, 12);
    ASSERT_EQ(x.rs.released, 2);
    fx_close(&x);
}

/* if_error says no, or max_attempts is 0, or only if_result is set: no
 * retry, the record fails at once. */
static void retry_not_wanted(void)
{
    for (int k = 0; k < 3; k++) {
        fx x;
        pred_reset(k != 0, 1000);
        aw_retry r = { .max_attempts = k == 1 ? 0 : 3, .delay_ms = 1 };
        if (k < 2) r.if_error = if_error_pred;
        else r.if_result = if_result_pred;
        retry_op(&x, AW_ORDERED, 0, r, 0);
        ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
        fail_at(&x.p, 0, "final");
        ASSERT_EQ(aw_op_poll(x.op, 0), 1);
        set_now(&x.clock, 100);
        ASSERT_EQ(aw_op_poll(x.op, 0), 0);
        ASSERT_EQ(x.p.n, 1);
        EXPECT_EVENTS(&x.rs, "x", 1);
        ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "final");
        ASSERT_EQ(op_stats(x.op).retried, 0);
        fx_close(&x);
    }
}

/* ------------------------------------------------------------- timeouts */

/* The timeout covers every attempt: a retry due after the deadline is not
 * started and the record fails with its last error, not AW_ETIMEDOUT. */
static void retry_bounded_by_timeout(void)
{
    fx x;
    pred_reset(1, 0);
    retry_op(&x, AW_ORDERED, 35, (aw_retry){ .max_attempts = 10, .delay_ms = 10, .multiplier = 2,
             .if_error = if_error_pred }, 0);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0); /* deadline 35 */
    fail_at(&x.p, 0, "first");                    /* retry due 10 */
    aw_op_poll(x.op, 0);
    set_now(&x.clock, 10);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 2);
    set_now(&x.clock, 12);
    fail_at(&x.p, 1, "second");                   /* due 12 + 20 = 32 <= 35 */
    aw_op_poll(x.op, 0);
    ASSERT_EQ(aw_op_next_timer_ms(x.op), 20);
    set_now(&x.clock, 32);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.p.at[2], 32);
    set_now(&x.clock, 33);
    fail_at(&x.p, 2, "third");                    /* due 33 + 40 = 73 > 35 */
    ASSERT_EQ(aw_op_poll(x.op, 0), 1);
    ASSERT_EQ(x.p.n, 3);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_EQ(x.rs.ev[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "third");
    set_now(&x.clock, 1000);
    ASSERT_EQ(aw_op_poll(x.op, 0), 0);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.rs.len, 1);
    ASSERT_EQ(aw_op_next_timer_ms(x.op), -1);
    aw_stats st = op_stats(x.op);
    ASSERT_EQ(st.retried, 2);
    ASSERT_EQ(st.timed_out, 0);
    fx_close(&x);
}

/* The same bound with if_result: the last results are emitted. */
static void retry_if_result_bounded_by_timeout(void)
{
    fx x;
    pred_reset(0, 1000);
    retry_op(&x, AW_UNORDERED, 20, (aw_retry){ .max_attempts = 10, .delay_ms = 15,
             .if_result = if_result_pred }, FX_BOXES);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    set_now(&x.clock, 6);
    ASSERT_EQ(park_done(&x.p, 0, 7), 0);          /* retry due 21 > 20 */
    ASSERT_EQ(aw_op_poll(x.op, 0), 1);
    ASSERT_EQ(x.p.n, 1);
    EXPECT_EVENTS(&x.rs, "e", 1);
    ASSERT_EQ(x.rs.ev[0].first, 7);
    ASSERT_EQ(x.rs.released, 0);
    fx_close(&x);
}

/* The deadline counts from the push, not from the retry: an attempt still
 * running at the deadline times out. */
static void retry_timeout_covers_attempts(void)
{
    fx x;
    pred_reset(1, 0);
    retry_op(&x, AW_ORDERED, 100, (aw_retry){ .max_attempts = 5, .delay_ms = 10,
             .if_error = if_error_pred }, 0);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    fail_at(&x.p, 0, "first");
    aw_op_poll(x.op, 0);
    set_now(&x.clock, 10);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 2);                          /* attempt 2 runs */
    set_now(&x.clock, 99);
    ASSERT_EQ(aw_op_poll(x.op, 0), 0);
    set_now(&x.clock, 100);
    ASSERT_EQ(aw_op_poll(x.op, 0), 1);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_EQ(x.rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_EQ(park_done(&x.p, 1, 5), AW_ETIMEDOUT); /* attempt 2's late answer */
    aw_stats st = op_stats(x.op);
    ASSERT_EQ(st.retried, 1);
    ASSERT_EQ(st.timed_out, 1);
    fx_close(&x);
}

/* ------------------------------------------------- position, inline, free */

/* Retries keep the output position: ordered waits, unordered does not. */
static void retry_output_position(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED };
    for (int m = 0; m < 2; m++) {
        fx x;
        pred_reset(1, 0);
        retry_op(&x, modes[m], 0, (aw_retry){ .max_attempts = 1, .delay_ms = 10,
                 .if_error = if_error_pred }, 0);
        ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
        ASSERT_EQ(aw_op_push(x.op, (void *)2, 0), 0);
        fail_at(&x.p, 0, "retry me");
        ASSERT_EQ(park_done(&x.p, 1, 2), 0);
        ASSERT_EQ(aw_op_poll(x.op, 0), modes[m] == AW_ORDERED ? 0 : 1);
        /* a record waiting for its retry is still in flight and in snapshots */
        ASSERT_EQ(aw_op_in_flight(x.op), modes[m] == AW_ORDERED ? 2 : 1);
        set_now(&x.clock, 10);
        aw_op_poll(x.op, 0);
        ASSERT_EQ(x.p.n, 3);
        ASSERT_EQ(x.p.in[2], 1);
        ASSERT_EQ(park_done(&x.p, 2, 1), 0);
        ASSERT_EQ(aw_op_drain(x.op), 0);
        if (modes[m] == AW_ORDERED) EXPECT_EVENTS(&x.rs, "ee", 1, 2);
        else EXPECT_EVENTS(&x.rs, "ee", 2, 1);
        fx_close(&x);
    }
}

/* Inline failures retried with delay 0: every attempt runs, promptly. */
static void retry_inline_zero_delay(void)
{
    fx x;
    pred_reset(1, 0);
    retry_op(&x, AW_ORDERED, 0, (aw_retry){ .max_attempts = 3, .if_error = if_error_pred }, FX_FAIL);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.p.n, 4);
    ASSERT_EQ(x.p.inline_rc_bad, 0);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_STR_CONTAINS(x.rs.ev[0].msg, "inline failure");
    fx_close(&x);
}

/* A record waiting for its retry at free: discarded once, the dropped
 * attempt's results already released (ASan checks the boxes). */
static void retry_pending_at_free(void)
{
    fx x;
    pred_reset(0, 1000);
    retry_op(&x, AW_ORDERED, 500, (aw_retry){ .max_attempts = 3, .delay_ms = 50,
             .if_result = if_result_pred }, FX_BOXES);
    ASSERT_EQ(aw_op_push(x.op, (void *)1, 0), 0);
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);
    aw_op_poll(x.op, 0);
    ASSERT_EQ(x.rs.released, 1);
    ASSERT_EQ(aw_op_in_flight(x.op), 1);
    fx_free_op(&x);
    EXPECT_EVENTS(&x.rs, "d", 1);
    ASSERT_EQ(x.rs.released, 1);
    ASSERT_EQ(x.p.n, 1);
    fx_close(&x);
}

CU_TestInfo aw_tests_retry[] = {
    { "retry_fixed_delay", retry_fixed_delay },
    { "retry_backoff_schedule", retry_backoff_schedule },
    { "retry_cap_below_first_delay", retry_cap_below_first_delay },
    { "retry_if_result", retry_if_result },
    { "retry_if_result_exhausted", retry_if_result_exhausted },
    { "retry_not_wanted", retry_not_wanted },
    { "retry_bounded_by_timeout", retry_bounded_by_timeout },
    { "retry_if_result_bounded_by_timeout", retry_if_result_bounded_by_timeout },
    { "retry_timeout_covers_attempts", retry_timeout_covers_attempts },
    { "retry_output_position", retry_output_position },
    { "retry_inline_zero_delay", retry_inline_zero_delay },
    { "retry_pending_at_free", retry_pending_at_free },
    CU_TEST_INFO_NULL
};
