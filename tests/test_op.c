/* The operator's promises, each checked by a test that could fail: the three
 * emission orders, capacity, timeouts and retries on a fake clock, errors,
 * snapshots, freeing, bad arguments. */
#include <poll.h>
#include <stdlib.h>
#include "aw_test.h"

/* An adapter the test drives by hand: invoke parks the future. */
typedef struct held {
    aw_future *f[64];
    intptr_t in[64];
    int64_t at[64];          /* fake-clock time of each invoke */
    int n;
    fake_clock *clock;
    int closed;
    int complete_inline;     /* complete inside invoke with input * 10 */
} held;

static void held_invoke(void *ctx, void *input, aw_future *f)
{
    held *h = ctx;
    if (h->complete_inline) {
        void *r = (void *)((intptr_t)input * 10);
        aw_future_complete(f, &r, 1);
        return;
    }
    h->f[h->n] = f;
    h->in[h->n] = (intptr_t)input;
    h->at[h->n] = h->clock ? atomic_load(&h->clock->now) : 0;
    h->n++;
}

static void held_close(void *ctx) { ((held *)ctx)->closed++; }

static int done_with(aw_future *f, intptr_t v)
{
    void *r = (void *)v;
    return aw_future_complete(f, &r, 1);
}

static aw_op *make_op(aw_config *cfg, held *h, rec_sink *rs, int with_error)
{
    aw_function fn = { .ctx = h, .invoke = held_invoke, .close = held_close };
    aw_sink sink = rec_sink_of(rs, with_error, 1);
    aw_op *op = NULL;
    char err[256];
    int rc = aw_op_create(&op, cfg, &fn, &sink, err, sizeof err);
    if (rc) AW__FAIL("aw_op_create: %s", err);
    return op;
}

static void op_ordered_keeps_input_order(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 10), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 20), 0);
    ASSERT_EQ(aw_op_watermark(op, 25), 0);
    ASSERT_EQ(aw_op_push(op, (void *)3, 30), 0);
    ASSERT_EQ(aw_op_in_flight(op), 4);
    ASSERT_EQ(done_with(h.f[2], 300), 0);
    ASSERT_EQ(done_with(h.f[1], 200), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 0);          /* head (1) still pending */
    ASSERT_EQ(done_with(h.f[0], 100), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 4);
    ASSERT_EQ(rs.len, 4);
    const char kinds[] = "eewe";
    intptr_t inputs[] = { 1, 2, 0, 3 };
    for (size_t i = 0; i < rs.len && i < 4; i++) {
        ASSERT_EQ(rs.ev[i].kind, kinds[i]);
        if (kinds[i] == 'e') {
            ASSERT_EQ(rs.ev[i].input, inputs[i]);
            ASSERT_EQ(rs.ev[i].first, inputs[i] * 100);
        }
    }
    ASSERT_EQ(rs.ev[2].ts, 25);
    ASSERT_EQ(rs.ev[3].ts, 30);
    aw_op_free(op);
    ASSERT_EQ(h.closed, 1);
    rec_sink_fini(&rs);
}

static void op_unordered_completion_order(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 8 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    ASSERT_EQ(aw_op_watermark(op, 5), AW_EINVAL);
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "AW_UNORDERED");
    ASSERT_EQ(done_with(h.f[1], 2), 0);
    ASSERT_EQ(done_with(h.f[2], 3), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    ASSERT_EQ(done_with(h.f[0], 1), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs.len, 3);
    ASSERT_EQ(rs.ev[0].input, 2);
    ASSERT_EQ(rs.ev[1].input, 3);
    ASSERT_EQ(rs.ev[2].input, 1);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* Flink's UnorderedStreamElementQueue scenario: records of a later segment
 * wait for the watermark before them; a watermark waits for every earlier
 * record. */
static void op_event_time_segments(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 16 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 1);   /* segment 0: 1, 2 */
    aw_op_push(op, (void *)2, 2);
    aw_op_watermark(op, 3);
    aw_op_push(op, (void *)4, 4);   /* segment 1: 4, 5 */
    aw_op_push(op, (void *)5, 5);
    aw_op_watermark(op, 6);
    aw_op_push(op, (void *)7, 7);   /* segment 2: 7 */
    /* invoke order: f[0]=1 f[1]=2 f[2]=4 f[3]=5 f[4]=7 */
    done_with(h.f[4], 7);           /* 7 done: waits for watermark 6 */
    done_with(h.f[3], 5);           /* 5 done: waits for watermark 3 */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    done_with(h.f[1], 2);           /* segment 0: 2 leaves at once */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    done_with(h.f[0], 1);           /* 1, then watermark 3, then 5 */
    ASSERT_EQ(aw_op_poll(op, 0), 3);
    ASSERT_EQ(aw_op_in_flight(op), 3);   /* 4 pending holds watermark 6 and 7 */
    ASSERT_EQ(rs.len, 4);
    done_with(h.f[2], 4);
    ASSERT_EQ(aw_op_drain(op), 0);
    char want_kind[] = "eeweewe";
    intptr_t want[] = { 2, 1, 0, 5, 4, 0, 7 };
    ASSERT_EQ(rs.len, 7);
    for (size_t i = 0; i < rs.len && i < 7; i++) {
        ASSERT_EQ(rs.ev[i].kind, want_kind[i]);
        if (want_kind[i] == 'e') ASSERT_EQ(rs.ev[i].input, want[i]);
        else ASSERT_EQ(rs.ev[i].ts, i == 2 ? 3 : 6);
    }
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static void op_watermark_only_stream(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 2; m++) {
        rs.len = 0;
        aw_config cfg = { .mode = modes[m], .capacity = 2 };
        aw_op *op = make_op(&cfg, &h, &rs, 1);
        for (int i = 0; i < 10; i++) ASSERT_EQ(aw_op_watermark(op, i), 0);
        ASSERT_EQ(aw_op_in_flight(op), 0);
        ASSERT_EQ(rs.len, 10);
        for (size_t i = 0; i < rs.len; i++) {
            ASSERT_EQ(rs.ev[i].kind, 'w');
            ASSERT_EQ(rs.ev[i].ts, (int64_t)i);
        }
        aw_op_free(op);
    }
    rec_sink_fini(&rs);
}

static void op_full_try_push_and_in_flight(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 3 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    ASSERT_EQ(aw_op_try_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_watermark(op, 1), 0);       /* waits behind 1: counts */
    ASSERT_EQ(aw_op_try_push(op, (void *)2, 0), 0);
    ASSERT_EQ(aw_op_in_flight(op), 3);
    ASSERT_EQ(aw_op_try_push(op, (void *)3, 0), AW_EAGAIN);
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "full");
    ASSERT_EQ(h.n, 2);                           /* 3 was not invoked */
    done_with(h.f[0], 1);
    ASSERT_EQ(aw_op_try_push(op, (void *)3, 0), 0);   /* 1 and the watermark left */
    ASSERT_EQ(aw_op_in_flight(op), 2);
    done_with(h.f[1], 2);
    done_with(h.f[2], 3);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rec_count(&rs, 'e'), 3);
    ASSERT_EQ(rec_count(&rs, 'd'), 0);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static void op_double_completion_and_zero_results(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    ASSERT_EQ(aw_future_complete(h.f[0], NULL, 0), 0);
    ASSERT_EQ(aw_future_complete(h.f[0], NULL, 0), AW_EALREADY);
    ASSERT_EQ(aw_future_fail(h.f[0], AW_EQUERY, "late"), AW_EALREADY);
    ASSERT_EQ(aw_future_complete(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_future_complete(h.f[0], NULL, 2), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(h.f[0], 0, "x"), AW_EINVAL);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs.len, 1);
    ASSERT_EQ(rs.ev[0].n, 0);
    /* many results: copied out of the caller's array */
    void *many[5] = { (void *)1, (void *)2, (void *)3, (void *)4, (void *)5 };
    aw_op_push(op, (void *)2, 0);
    ASSERT_EQ(aw_future_complete(h.f[1], many, 5), 0);
    many[0] = (void *)99;
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs.ev[1].n, 5);
    ASSERT_EQ(rs.ev[1].first, 1);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* ------------------------------------------------- timeouts (fake clock) */

static void op_timeout_fails_record(void)
{
    fake_clock c = { 0 };
    held h = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4, .timeout_ms = 100,
                      .clock = fake_clock_of(&c) };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    aw_op_push(op, (void *)2, 0);
    done_with(h.f[1], 20);
    atomic_store(&c.now, 99);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_op_next_timer_ms(op), 1);
    atomic_store(&c.now, 100);
    ASSERT_EQ(aw_op_poll(op, 0), 2);     /* 1 times out, then 2 follows */
    ASSERT_EQ(rs.len, 2);
    ASSERT_EQ(rs.ev[0].kind, 'x');
    ASSERT_EQ(rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "100 ms");
    ASSERT_EQ(rs.ev[1].kind, 'e');
    /* the late completion counts for nothing and the caller keeps results */
    ASSERT_EQ(done_with(h.f[0], 10), AW_ETIMEDOUT);
    aw_op_poll(op, 0);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.timed_out, 1);
    ASSERT_EQ(st.late, 1);
    ASSERT_EQ(st.failed, 1);
    ASSERT_EQ(st.emitted, 1);
    aw_op_free(op);
    ASSERT_EQ(rs.len, 2);                /* nothing discarded */
    rec_sink_fini(&rs);
}

static void fallback_timeout(void *ctx, void *input, aw_future *f)
{
    void *r = (void *)-1;
    aw_future_complete(f, &r, 1);
}

static void op_timeout_fallback(void)
{
    fake_clock c = { 0 };
    held h = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 50,
                      .clock = fake_clock_of(&c) };
    aw_function fn = { .ctx = &h, .invoke = held_invoke, .timeout = fallback_timeout };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    aw_op_push(op, (void *)1, 0);
    atomic_store(&c.now, 50);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(rs.ev[0].kind, 'e');
    ASSERT_EQ(rs.ev[0].first, -1);
    ASSERT_EQ(done_with(h.f[0], 5), AW_EALREADY);   /* the fallback counted */
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* ----------------------------------------------------------- retries */

static bool retry_any_error(void *ctx, void *input, int err) { return err == AW_EQUERY; }

static void op_retry_backoff_schedule(void)
{
    fake_clock c = { 0 };
    held h = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 4, .delay_ms = 10, .multiplier = 2,
                                 .max_delay_ms = 25, .if_error = retry_any_error } };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    /* attempts at 0, 10, 30 (10+20), 55 (30+25 capped), 80 (55+25) */
    int64_t want[] = { 0, 10, 30, 55, 80 };
    for (int a = 0; a < 5; a++) {
        ASSERT_EQ(h.n, a + 1);
        ASSERT_EQ(h.at[a], want[a]);
        ASSERT_EQ(aw_future_fail(h.f[a], AW_EQUERY, "try again"), 0);
        aw_op_poll(op, 0);
        if (a < 4) {
            ASSERT_EQ(aw_op_next_timer_ms(op), want[a + 1] - want[a]);
            atomic_store(&c.now, want[a + 1] - 1);
            aw_op_poll(op, 0);
            ASSERT_EQ(h.n, a + 1);         /* not before its time */
            atomic_store(&c.now, want[a + 1]);
            aw_op_poll(op, 0);
        }
    }
    ASSERT_EQ(rs.len, 1);                    /* 4 retries used: fails */
    ASSERT_EQ(rs.ev[0].kind, 'x');
    ASSERT_EQ(rs.ev[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "try again");
    aw_stats st;
    aw_op_stats(op, &st);
    ASSERT_EQ(st.retried, 4);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static bool retry_if_empty(void *ctx, void *input, void *const *results, size_t n) { return n == 0; }

static void op_retry_if_result_and_fixed_delay(void)
{
    fake_clock c = { 0 };
    held h = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .retry = { .max_attempts = 3, .delay_ms = 7, .multiplier = 1,
                                 .if_result = retry_if_empty } };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    aw_future_complete(h.f[0], NULL, 0);
    aw_op_poll(op, 0);
    atomic_store(&c.now, 7);
    aw_op_poll(op, 0);
    ASSERT_EQ(h.n, 2);
    ASSERT_EQ(h.at[1], 7);
    aw_future_complete(h.f[1], NULL, 0);
    aw_op_poll(op, 0);
    atomic_store(&c.now, 14);                /* fixed delay: 7 again */
    aw_op_poll(op, 0);
    ASSERT_EQ(h.n, 3);
    ASSERT_EQ(done_with(h.f[2], 42), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs.len, 1);
    ASSERT_EQ(rs.ev[0].kind, 'e');
    ASSERT_EQ(rs.ev[0].first, 42);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static void op_retry_bounded_by_timeout(void)
{
    fake_clock c = { 0 };
    held h = { .clock = &c };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .clock = fake_clock_of(&c),
                      .timeout_ms = 25,
                      .retry = { .max_attempts = 10, .delay_ms = 10, .multiplier = 1,
                                 .if_error = retry_any_error } };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    aw_future_fail(h.f[0], AW_EQUERY, "first");
    aw_op_poll(op, 0);                      /* retry due 10 <= deadline 25 */
    atomic_store(&c.now, 10);
    aw_op_poll(op, 0);
    ASSERT_EQ(h.n, 2);
    atomic_store(&c.now, 16);
    aw_future_fail(h.f[1], AW_EQUERY, "second");
    aw_op_poll(op, 0);                      /* due 26 > 25: not started */
    ASSERT_EQ(h.n, 2);
    ASSERT_EQ(rs.len, 1);
    ASSERT_EQ(rs.ev[0].err, AW_EQUERY);     /* its last error, not a timeout */
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "second");
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* ------------------------------------------------------------- errors */

static void op_error_sink_keeps_position(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    for (intptr_t i = 1; i <= 3; i++) aw_op_push(op, (void *)i, 0);
    ASSERT_EQ(aw_future_fail(h.f[1], AW_EQUERY, "no such table"), 0);
    done_with(h.f[2], 3);
    done_with(h.f[0], 1);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs.len, 3);
    ASSERT_EQ(rs.ev[1].kind, 'x');
    ASSERT_EQ(rs.ev[1].input, 2);
    ASSERT_STR_CONTAINS(rs.ev[1].msg, "no such table");
    ASSERT_EQ(rs.ev[2].input, 3);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static void op_error_without_sink_fails_operator(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    rs.boxes = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = make_op(&cfg, &h, &rs, 0);
    for (intptr_t i = 1; i <= 3; i++) aw_op_push(op, (void *)i, 0);
    intptr_t *box = malloc(sizeof *box);
    *box = 3;
    void *r = box;
    ASSERT_EQ(aw_future_complete(h.f[2], &r, 1), 0);   /* done, unemitted */
    ASSERT_EQ(aw_future_fail(h.f[1], AW_ECONN, "server gone"), 0);
    ASSERT_EQ(aw_op_poll(op, 0), AW_EFAILED);
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "record #2");
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "server gone");
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "AW_ECONN");
    ASSERT_EQ(aw_op_push(op, (void *)4, 0), AW_EFAILED);
    ASSERT_EQ(aw_op_try_push(op, (void *)4, 0), AW_EFAILED);
    ASSERT_EQ(aw_op_drain(op), AW_EFAILED);              /* no hang */
    ASSERT_EQ(aw_op_poll(op, -1), AW_EFAILED);
    aw_op_free(op);
    /* every input back exactly once: 1, 2, 3 discarded; 3's box released */
    ASSERT_EQ(rec_count(&rs, 'd'), 3);
    ASSERT_EQ(rec_count(&rs, 'e'), 0);
    ASSERT_EQ(rs.released, 1);
    rec_sink_fini(&rs);
}

/* ---------------------------------------------------- snapshot, free */

typedef struct snap { intptr_t in[16]; int64_t ts[16]; bool wm[16]; int n, stop_at; } snap;

static int snap_visit(void *ctx, void *input, int64_t ts, bool is_wm)
{
    snap *s = ctx;
    if (s->n == s->stop_at) return 7;
    s->in[s->n] = (intptr_t)input;
    s->ts[s->n] = ts;
    s->wm[s->n] = is_wm;
    s->n++;
    return 0;
}

static void op_snapshot_and_restart(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 1);
    aw_op_push(op, (void *)2, 2);
    aw_op_watermark(op, 2);
    aw_op_push(op, (void *)3, 3);
    done_with(h.f[0], 1);                    /* 1 leaves; 2, wm, 3 remain */
    done_with(h.f[2], 3);                    /* done but behind 2 */
    aw_op_poll(op, 0);
    snap s = { .stop_at = -1 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s), 0);
    ASSERT_EQ(s.n, 3);
    ASSERT_EQ(s.in[0], 2);
    ASSERT_TRUE(s.wm[1]);
    ASSERT_EQ(s.ts[1], 2);
    ASSERT_EQ(s.in[2], 3);
    snap s2 = { .stop_at = 1 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s2), 7);
    ASSERT_EQ(s2.n, 1);
    aw_op_free(op);                          /* "crash": 2 and 3 discarded */
    ASSERT_EQ(rec_count(&rs, 'd'), 2);

    /* restart: push the snapshot again into a new operator */
    held h2 = { .complete_inline = 1 };
    rec_sink rs2;
    rec_sink_init(&rs2, 16);
    op = make_op(&cfg, &h2, &rs2, 1);
    for (int i = 0; i < s.n; i++)
        ASSERT_EQ(s.wm[i] ? aw_op_watermark(op, s.ts[i]) : aw_op_push(op, (void *)s.in[i], s.ts[i]), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rs2.len, 3);
    ASSERT_EQ(rs2.ev[0].input, 2);
    ASSERT_EQ(rs2.ev[1].kind, 'w');
    ASSERT_EQ(rs2.ev[2].input, 3);
    aw_op_free(op);
    rec_sink_fini(&rs);
    rec_sink_fini(&rs2);
}

static void op_free_gives_everything_back(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 16);
    rs.boxes = 1;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = make_op(&cfg, &h, &rs, 1);
    aw_op_push(op, (void *)1, 0);
    aw_op_push(op, (void *)2, 0);
    intptr_t *box = malloc(sizeof *box);
    void *r = box;
    ASSERT_EQ(aw_future_complete(h.f[1], &r, 1), 0);
    aw_op_free(op);
    ASSERT_EQ(h.closed, 1);
    ASSERT_EQ(rec_count(&rs, 'd'), 2);
    ASSERT_EQ(rs.ev[0].input, 1);           /* queue order */
    ASSERT_EQ(rs.ev[1].input, 2);
    ASSERT_EQ(rs.released, 1);
    aw_op_free(NULL);
    rec_sink_fini(&rs);
}

/* ------------------------------------------------------- bad arguments */

static int open_fails(void *ctx) { return AW_ECONN; }

static void op_bad_arguments(void)
{
    held h = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 4);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = { .ctx = &h, .invoke = held_invoke };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op = (aw_op *)&h;
    char err[256];
    ASSERT_EQ(aw_op_create(NULL, &cfg, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_EQ(aw_op_create(&op, NULL, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_TRUE(op == NULL);
    ASSERT_STR_CONTAINS(err, "cfg");
    ASSERT_EQ(aw_op_create(&op, &cfg, NULL, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_EQ(aw_op_create(&op, &cfg, &fn, NULL, err, sizeof err), AW_EINVAL);
    aw_function nofn = { 0 };
    ASSERT_EQ(aw_op_create(&op, &cfg, &nofn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "invoke");
    aw_sink nosink = { 0 };
    ASSERT_EQ(aw_op_create(&op, &cfg, &fn, &nosink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "emit");
    aw_config c2 = cfg;
    c2.capacity = 0;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "capacity");
    c2 = cfg;
    c2.mode = (aw_mode)7;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "mode");
    c2 = cfg;
    c2.timeout_ms = -1;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "timeout_ms");
    c2 = cfg;
    c2.retry.max_attempts = -1;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    c2 = cfg;
    c2.retry.multiplier = 0.5;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "multiplier");
    c2 = cfg;
    c2.clock.ctx = &h;
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "now_ms");
    aw_function fopen = fn;
    fopen.open = open_fails;
    ASSERT_EQ(aw_op_create(&op, &cfg, &fopen, &sink, err, sizeof err), AW_ECONN);
    ASSERT_TRUE(op == NULL);
    ASSERT_STR_CONTAINS(err, "open");
    /* NULL operator everywhere */
    ASSERT_EQ(aw_op_push(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_try_push(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_watermark(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_poll(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_drain(NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_in_flight(NULL), 0);
    ASSERT_EQ(aw_op_fd(NULL), -1);
    ASSERT_EQ(aw_op_next_timer_ms(NULL), -1);
    ASSERT_EQ(aw_op_snapshot(NULL, snap_visit, NULL), AW_EINVAL);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(NULL, &st), AW_EINVAL);
    ASSERT_TRUE(aw_op_errmsg(NULL) != NULL);
    ASSERT_EQ(aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err), 0);
    ASSERT_EQ(aw_op_snapshot(op, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_poll(op, -5), AW_EINVAL);
    ASSERT_EQ(aw_op_stats(op, NULL), AW_EINVAL);
    aw_op_free(op);
    /* error table: distinct, never NULL */
    int codes[] = { 0, AW_EINVAL, AW_ENOMEM, AW_EAGAIN, AW_ETIMEDOUT, AW_ECLOSED, AW_EFAILED,
                    AW_EALREADY, AW_ECONN, AW_EQUERY, AW_ECONFIG, AW_ECORRUPT, AW_EIO, -999 };
    size_t nc = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < nc; i++) {
        ASSERT_TRUE(aw_strerror(codes[i]) != NULL);
        for (size_t j = 0; j < i; j++)
            ASSERT_TRUE(strcmp(aw_strerror(codes[i]), aw_strerror(codes[j])) != 0);
    }
    ASSERT_STR_CONTAINS(aw_err_name(AW_ETIMEDOUT), "AW_ETIMEDOUT");
    rec_sink_fini(&rs);
}

/* A callback may not re-enter its own operator. */
static aw_op *g_reentrant;
static int g_reentrant_rc;
static void reentrant_emit(void *ctx, void *input, void *const *r, size_t n, int64_t ts)
{
    g_reentrant_rc = aw_op_push(g_reentrant, (void *)9, 0);
}

static void op_reentrant_call_refused(void)
{
    held h = { .complete_inline = 1 };
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_function fn = { .ctx = &h, .invoke = held_invoke };
    aw_sink sink = { .emit = reentrant_emit };
    ASSERT_EQ(aw_op_new(&g_reentrant, &cfg, &fn, &sink), 0);
    ASSERT_EQ(aw_op_push(g_reentrant, (void *)1, 0), 0);
    ASSERT_EQ(g_reentrant_rc, AW_EINVAL);
    ASSERT_STR_CONTAINS(aw_op_errmsg(g_reentrant), "inside a callback");
    aw_op_free(g_reentrant);
}

CU_TestInfo aw_tests_op[] = {
    { "op_ordered_keeps_input_order", op_ordered_keeps_input_order },
    { "op_unordered_completion_order", op_unordered_completion_order },
    { "op_event_time_segments", op_event_time_segments },
    { "op_watermark_only_stream", op_watermark_only_stream },
    { "op_full_try_push_and_in_flight", op_full_try_push_and_in_flight },
    { "op_double_completion_and_zero_results", op_double_completion_and_zero_results },
    { "op_timeout_fails_record", op_timeout_fails_record },
    { "op_timeout_fallback", op_timeout_fallback },
    { "op_retry_backoff_schedule", op_retry_backoff_schedule },
    { "op_retry_if_result_and_fixed_delay", op_retry_if_result_and_fixed_delay },
    { "op_retry_bounded_by_timeout", op_retry_bounded_by_timeout },
    { "op_error_sink_keeps_position", op_error_sink_keeps_position },
    { "op_error_without_sink_fails_operator", op_error_without_sink_fails_operator },
    { "op_snapshot_and_restart", op_snapshot_and_restart },
    { "op_free_gives_everything_back", op_free_gives_everything_back },
    { "op_bad_arguments", op_bad_arguments },
    { "op_reentrant_call_refused", op_reentrant_call_refused },
    CU_TEST_INFO_NULL
};
