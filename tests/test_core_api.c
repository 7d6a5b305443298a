/* Futures (double and racing completions, 0 and many results), errors
 * with and without an error sink, snapshots and restart, freeing with
 * records in flight. */
#include "core_test.h"

/* ------------------------------------------------------------- futures */

static void core_double_completion(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, FX_BOXES);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    /* record 1: complete, then complete and fail again (before it leaves) */
    void *a = box_new(11), *b = box_new(12);
    ASSERT_EQ(aw_future_complete(x.p.f[0], &a, 1), 0);
    ASSERT_EQ(aw_future_complete(x.p.f[0], &b, 1), AW_EALREADY);
    free(b);                                   /* refused: still ours */
    ASSERT_EQ(aw_future_fail(x.p.f[0], AW_EQUERY, "second"), AW_EALREADY);
    ASSERT_EQ(aw_future_complete(x.p.f[0], NULL, 0), AW_EALREADY);
    /* a bad argument is refused as such, done or not */
    ASSERT_EQ(aw_future_complete(x.p.f[0], NULL, 2), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(x.p.f[0], 0, "x"), AW_EINVAL);
    /* record 2: fail, then complete */
    ASSERT_EQ(aw_future_fail(x.p.f[1], AW_ECONN, "gone"), 0);
    void *c = box_new(22);
    ASSERT_EQ(aw_future_complete(x.p.f[1], &c, 1), AW_EALREADY);
    free(c);
    ASSERT_EQ(aw_future_fail(x.p.f[1], AW_EQUERY, "again"), AW_EALREADY);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "ex", 1, 2);
    ASSERT_EQ(x.rs.ev[0].first, 11);           /* the first completion counted */
    ASSERT_EQ(x.rs.ev[1].err, AW_ECONN);
    ASSERT_STR_CONTAINS(x.rs.ev[1].msg, "gone");
    fx_free_op(&x);
    ASSERT_EQ(x.rs.released, 0);
    fx_close(&x);
}

/* Two threads race to complete one future: exactly one wins, the loser gets
 * AW_EALREADY and keeps its result. */
typedef struct racer {
    aw_future *f;
    intptr_t v;
    int rc;
    pthread_barrier_t *bar;
} racer;

static void *race_main(void *arg)
{
    racer *r = arg;
    void *res = box_new(r->v);
    pthread_barrier_wait(r->bar);
    r->rc = aw_future_complete(r->f, &res, 1);
    if (r->rc != 0) free(res);
    return NULL;
}

static void core_completion_race(void)
{
    enum { ROUNDS = 100 };
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 2 };
    aw_op *op = fx_open(&x, cfg, FX_BOXES);
    long wrong = 0;
    for (int k = 0; k < ROUNDS; k++) {
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)(k + 1), 0), 0);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, 2);
        racer r1 = { x.p.f[k], 1, 99, &bar }, r2 = { x.p.f[k], 2, 99, &bar };
        pthread_t t1, t2;
        pthread_create(&t1, NULL, race_main, &r1);
        pthread_create(&t2, NULL, race_main, &r2);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        pthread_barrier_destroy(&bar);
        int winners = (r1.rc == 0) + (r2.rc == 0);
        int losers = (r1.rc == AW_EALREADY) + (r2.rc == AW_EALREADY);
        if (winners != 1 || losers != 1) wrong++;
        if (aw_op_poll(op, 0) != 1) wrong++;
        if (x.rs.len != (size_t)k + 1) { wrong++; continue; }
        if (x.rs.ev[k].first != (r1.rc == 0 ? 1 : 2)) wrong++;
    }
    ASSERT_EQ(wrong, 0);
    fx_close(&x);
}

/* n = 0 is "no result"; n > 0 copies the array (the pointers pass on). */
typedef struct all_results { intptr_t r[8]; size_t n; int calls; } all_results;

static void all_emit(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    all_results *a = ctx;
    a->calls++;
    a->n = n;
    for (size_t i = 0; i < n && i < 8; i++) a->r[i] = (intptr_t)results[i];
}

static void core_zero_and_many_results(void)
{
    park p = { 0 };
    all_results a = { .n = 99 };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = park_fn(&p);
    aw_sink sink = { .ctx = &a, .emit = all_emit };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    ASSERT_EQ(p.opened, 1);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_future_complete(p.f[0], NULL, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(a.n, 0);
    /* n = 0 with a non-NULL array is fine too */
    void *unused[1] = { (void *)77 };
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    ASSERT_EQ(aw_future_complete(p.f[1], unused, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(a.calls, 2);
    ASSERT_EQ(a.n, 0);
    /* seven results, the caller's array overwritten after completing */
    void *many[7];
    for (int i = 0; i < 7; i++) many[i] = (void *)(intptr_t)(100 + i);
    ASSERT_EQ(aw_op_push(op, (void *)3, 0), 0);
    ASSERT_EQ(aw_future_complete(p.f[2], many, 7), 0);
    for (int i = 0; i < 7; i++) many[i] = (void *)(intptr_t)-1;
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(a.calls, 3);
    ASSERT_EQ(a.n, 7);
    long wrong = 0;
    for (int i = 0; i < 7; i++) wrong += a.r[i] != 100 + i;
    ASSERT_EQ(wrong, 0);
    aw_op_free(op);
    ASSERT_EQ(p.closed, 1);
}

static void core_future_bad_args(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    void *r = (void *)5;
    ASSERT_EQ(aw_future_complete(NULL, &r, 1), AW_EINVAL);
    ASSERT_EQ(aw_future_complete(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_future_complete(x.p.f[0], NULL, 2), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(NULL, AW_EQUERY, "x"), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(x.p.f[0], 0, "zero"), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(x.p.f[0], 3, "positive"), AW_EINVAL);
    ASSERT_EQ(aw_future_fail(x.p.f[0], 0, NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_poll(op, 0), 0);           /* nothing changed: still pending */
    ASSERT_EQ(x.rs.len, 0);
    ASSERT_EQ(aw_future_complete(x.p.f[0], &r, 1), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&x.rs, "e", 1);
    ASSERT_EQ(x.rs.ev[0].first, 5);
    fx_close(&x);
}

/* -------------------------------------------------------------- errors */

static void core_error_sink_keeps_position(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = fx_open(&x, cfg, 0);
    for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    ASSERT_EQ(aw_future_fail(x.p.f[2], AW_ECONN, "db down"), 0);
    ASSERT_EQ(aw_future_fail(x.p.f[1], AW_EQUERY, NULL), 0);
    ASSERT_EQ(park_done(&x.p, 3, 4), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 0);           /* 1 holds the head */
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 4);
    EXPECT_EVENTS(&x.rs, "exxe", 1, 2, 3, 4);
    ASSERT_EQ(x.rs.ev[1].err, AW_EQUERY);
    ASSERT_TRUE(x.rs.ev[1].msg[0] != 0);
    ASSERT_TRUE(strcmp(x.rs.ev[1].msg, "(null)") != 0); /* msg is never NULL */
    ASSERT_EQ(x.rs.ev[2].err, AW_ECONN);
    ASSERT_STR_CONTAINS(x.rs.ev[2].msg, "db down");
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.failed, 2);
    ASSERT_EQ(st.emitted, 2);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* Event time: an error waits for its segment like any record. */
static void core_error_sink_event_time_segment(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 8 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 1), 0);
    ASSERT_EQ(aw_op_watermark(op, 2), 0);
    ASSERT_EQ(aw_op_push(op, (void *)3, 3), 0);
    ASSERT_EQ(aw_future_fail(x.p.f[1], AW_EQUERY, "late segment"), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_future_fail(x.p.f[0], AW_ECONN, "first"), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 3);
    EXPECT_EVENTS(&x.rs, "xwx", 1, 2, 3);
    fx_close(&x);
}

static int count_input(const rec_sink *rs, intptr_t x)
{
    int n = 0;
    for (size_t i = 0; i < rs->len; i++) n += rs->ev[i].kind != 'w' && rs->ev[i].input == x;
    return n;
}

/* Without sink.error the first failure fails the operator: every later call
 * says AW_EFAILED, nothing hangs, and free gives every input back once. */
static void core_error_without_sink_fails_operator(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 3; m++) {
        fx x;
        aw_config cfg = { .mode = modes[m], .capacity = 8 };
        aw_op *op = fx_open(&x, cfg, FX_BOXES | FX_NO_ERROR_SINK);
        for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
        ASSERT_EQ(park_done(&x.p, 0, 1), 0);
        ASSERT_EQ(aw_op_poll(op, 0), 1);                  /* 1 left normally */
        ASSERT_EQ(park_done(&x.p, 3, 4), 0);              /* 4 done, maybe not emitted */
        ASSERT_EQ(aw_future_fail(x.p.f[2], AW_EQUERY, "bad query text"), 0);
        ASSERT_EQ(aw_op_poll(op, 0), AW_EFAILED);
        const char *msg = aw_op_errmsg(op);
        ASSERT_STR_CONTAINS(msg, "bad query text");
        ASSERT_STR_CONTAINS(msg, "record #3");
        ASSERT_STR_CONTAINS(msg, "AW_EQUERY");
        /* every call now fails; the refused input stays ours */
        ASSERT_EQ(aw_op_push(op, (void *)5, 5), AW_EFAILED);
        ASSERT_EQ(aw_op_try_push(op, (void *)5, 5), AW_EFAILED);
        if (modes[m] != AW_UNORDERED) ASSERT_EQ(aw_op_watermark(op, 6), AW_EFAILED);
        ASSERT_EQ(aw_op_poll(op, 0), AW_EFAILED);
        ASSERT_EQ(aw_op_poll(op, -1), AW_EFAILED);        /* no hang */
        ASSERT_EQ(aw_op_drain(op), AW_EFAILED);           /* no hang */
        ASSERT_EQ(x.p.n, 4);
        /* record 2 completes after the failure: its future is still valid */
        ASSERT_EQ(park_done(&x.p, 1, 2), 0);
        ASSERT_EQ(aw_op_drain(op), AW_EFAILED);
        size_t before_free = x.rs.len;
        fx_free_op(&x);
        ASSERT_EQ(x.p.closed, 1);
        ASSERT_TRUE(x.p.closed_at == before_free);        /* close came first */
        for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(count_input(&x.rs, i), 1);
        ASSERT_EQ(count_input(&x.rs, 5), 0);
        ASSERT_EQ(rec_count(&x.rs, 'x'), 0);
        ASSERT_EQ(rec_count(&x.rs, 'e') + rec_count(&x.rs, 'd'), 4);
        /* each completed, unemitted result was released (ASan checks the boxes) */
        ASSERT_EQ(rec_count(&x.rs, 'e') + x.rs.released, 3);
        fx_close(&x);
    }
}

/* A push that accepted its input returns 0 even if the operator failed
 * during it; the next call reports the failure. */
static void core_error_inline_push_accepted(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, FX_NO_ERROR_SINK | FX_FAIL);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(x.p.n, 1);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), AW_EFAILED);
    ASSERT_EQ(x.p.n, 1);
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "inline failure");
    ASSERT_EQ(aw_op_drain(op), AW_EFAILED);
    fx_free_op(&x);
    EXPECT_EVENTS(&x.rs, "d", 1);
    fx_close(&x);
}

/* ------------------------------------------------------------ snapshot */

typedef struct snap {
    intptr_t in[32];
    int64_t ts[32];
    bool wm[32];
    int n, stop_at, calls;
} snap;

static int snap_visit(void *ctx, void *input, int64_t ts, bool is_wm)
{
    snap *s = ctx;
    s->calls++;
    if (s->n == s->stop_at) return 9;
    s->in[s->n] = (intptr_t)input;
    s->ts[s->n] = ts;
    s->wm[s->n] = is_wm;
    s->n++;
    return 0;
}

static void core_snapshot_order_and_stop(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 16 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 10), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 20), 0);
    ASSERT_EQ(aw_op_watermark(op, 25), 0);
    ASSERT_EQ(aw_op_push(op, (void *)4, 40), 0);
    ASSERT_EQ(aw_op_push(op, (void *)5, 50), 0);
    ASSERT_EQ(aw_op_watermark(op, 55), 0);
    ASSERT_EQ(aw_op_push(op, (void *)7, 70), 0);
    ASSERT_EQ(park_done(&x.p, 1, 2), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);             /* 2 left */
    ASSERT_EQ(park_done(&x.p, 3, 5), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 0);             /* 5 done, waits for 25 */
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);         /* not processed by snapshot */
    snap s = { .stop_at = -1 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s), 0);
    ASSERT_EQ(s.n, 6);
    intptr_t want_in[] = { 1, 0, 4, 5, 0, 7 };
    int64_t want_ts[] = { 10, 25, 40, 50, 55, 70 };
    bool want_wm[] = { false, true, false, false, true, false };
    long wrong = 0;
    for (int i = 0; i < 6 && i < s.n; i++) {
        if (s.wm[i] != want_wm[i] || s.ts[i] != want_ts[i]) wrong++;
        if (!want_wm[i] && s.in[i] != want_in[i]) wrong++;
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(x.rs.len, 1);                       /* snapshot emitted nothing */
    ASSERT_EQ(aw_op_in_flight(op), 6);
    snap s2 = { .stop_at = 2 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s2), 9);
    ASSERT_EQ(s2.calls, 3);                       /* stopped at once */
    ASSERT_EQ(aw_op_poll(op, 0), 3);              /* 1, watermark 25, 5 */
    snap s3 = { .stop_at = -1 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s3), 0);
    ASSERT_EQ(s3.n, 3);
    ASSERT_EQ(s3.in[0], 4);
    ASSERT_TRUE(s3.wm[1]);
    ASSERT_EQ(s3.ts[1], 55);
    ASSERT_EQ(s3.in[2], 7);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 2);
    fx_close(&x);
}

/* Snapshot, "crash" (free), push the snapshot into a new operator: the two
 * outputs together are exactly the output of an uninterrupted run. */
static void core_snapshot_restart(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16 };
    aw_op *op = fx_open(&x, cfg, FX_BOXES);
    for (intptr_t i = 1; i <= 6; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
        if (i == 3) ASSERT_EQ(aw_op_watermark(op, 3), 0);
    }
    ASSERT_EQ(park_done(&x.p, 0, 10), 0);
    ASSERT_EQ(park_done(&x.p, 3, 40), 0);        /* 4: done, behind 2 */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    snap s = { .stop_at = -1 };
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s), 0);
    ASSERT_EQ(s.n, 6);                            /* 2 3 w3 4 5 6 */
    ASSERT_EQ(s.in[0], 2);
    ASSERT_TRUE(!s.wm[0] && s.wm[2]);
    ASSERT_EQ(s.ts[2], 3);
    ASSERT_EQ(s.in[5], 6);
    snap s2 = { .stop_at = 1 };                   /* the visitor's code comes back */
    ASSERT_EQ(aw_op_snapshot(op, snap_visit, &s2), 9);
    ASSERT_EQ(s2.n, 1);
    fx_free_op(&x);                               /* the crash */
    ASSERT_EQ(rec_count(&x.rs, 'd'), 5);
    ASSERT_EQ(x.rs.released, 1);                  /* 4's result */

    fx y;                                         /* the restart */
    op = fx_open(&y, cfg, FX_COMPLETE);
    for (int i = 0; i < s.n; i++)
        ASSERT_EQ(s.wm[i] ? aw_op_watermark(op, s.ts[i]) : aw_op_push(op, (void *)s.in[i], s.ts[i]), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    fx_free_op(&y);
    /* first run's output + second run's = e1 e2 e3 w3 e4 e5 e6 */
    ASSERT_EQ(rec_count(&x.rs, 'e'), 1);
    ASSERT_EQ(x.rs.ev[0].input, 1);
    EXPECT_EVENTS(&y.rs, "eeweee", 2, 3, 3, 4, 5, 6);
    long wrong = 0;
    for (size_t i = 0; i < y.rs.len; i++)
        if (y.rs.ev[i].kind == 'e' && (y.rs.ev[i].first != y.rs.ev[i].input * 10 ||
                                       y.rs.ev[i].ts != y.rs.ev[i].input))
            wrong++;
    ASSERT_EQ(wrong, 0);
    fx_close(&x);
    fx_close(&y);
}

/* ---------------------------------------------------------------- free */

static void core_free_with_records_in_flight(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = fx_open(&x, cfg, FX_BOXES);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    ASSERT_EQ(aw_op_watermark(op, 4), 0);
    void *two[2] = { box_new(20), box_new(21) };
    ASSERT_EQ(aw_future_complete(x.p.f[1], two, 2), 0); /* 2 done, 1 not */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(x.p.closed, 0);
    fx_free_op(&x);
    ASSERT_EQ(x.p.closed, 1);
    ASSERT_EQ(x.p.closed_at, 0);                  /* close before any discard */
    EXPECT_EVENTS(&x.rs, "ddd", 1, 2, 3);         /* each input once, queue order */
    ASSERT_EQ(x.rs.released, 2);                  /* both results of record 2 */
    fx_close(&x);
}

/* An adapter whose close completes what it still holds (cancel): inputs
 * are still discarded exactly once and the results released. */
static void cancel_close(void *ctx)
{
    park *p = ctx;
    p->closed++;
    void *r = box_new(1);
    if (aw_future_complete(p->f[0], &r, 1) != 0) free(r);
    aw_future_fail(p->f[1], AW_ECLOSED, "cancelled");
}

static void core_free_close_completes_pending(void)
{
    park p = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 8);
    rs.boxes = 1;
    p.rs = &rs;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_function fn = park_fn(&p);
    fn.close = cancel_close;
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    aw_op_free(op);
    ASSERT_EQ(p.closed, 1);
    ASSERT_EQ(count_input(&rs, 1), 1);
    ASSERT_EQ(count_input(&rs, 2), 1);
    ASSERT_EQ(rs.len, 2);
    ASSERT_EQ(rs.released + rec_count(&rs, 'e'), 1);  /* the box is not lost */
    rec_sink_fini(&rs);
}

static void core_free_null_and_empty(void)
{
    aw_op_free(NULL);
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 1 };
    fx_open(&x, cfg, FX_NO_ERROR_SINK);
    fx_free_op(&x);
    ASSERT_EQ(x.p.opened, 1);
    ASSERT_EQ(x.p.closed, 1);
    ASSERT_EQ(x.rs.len, 0);
    fx_close(&x);
}

/* Issue 17: latency of a small run is measured for every record, and a
 * percentile is never below the truth: 2 of 3 records take >= 20 ms, so
 * p99 does too (it was the one fast record's, 1 record in 4 being
 * measured). */
static void core_latency_small_run(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, 0);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(park_done(&x.p, 0, 10), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    /* A fixture delay, not a wait for a result: the records get old. */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 20000000L);
    ASSERT_EQ(park_done(&x.p, 1, 20), 0);
    ASSERT_EQ(park_done(&x.p, 2, 30), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.latency_n, 3);
    ASSERT_TRUE(st.p99_us >= 20000.0);
    ASSERT_TRUE(st.max_us >= 20000.0);
    ASSERT_TRUE(st.p50_us >= 20000.0);    /* 2 of 3 are slow: so is the median */
    fx_close(&x);
}

/* Issue 17: memory follows use, not capacity. The largest capacity
 * (2^30: ~200 GB if slots and futures were allocated up front) opens,
 * and records flow through chunk after chunk of slots, in order. */
static void core_capacity_allocated_on_demand(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = (size_t)1 << 30 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_TRUE(op != NULL);
    if (!op) { fx_close(&x); return; }
    for (intptr_t i = 0; i < 1000; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_in_flight(op), 1000);
    for (int i = 999; i >= 0; i--) ASSERT_EQ(park_done(&x.p, i, i * 10), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rec_count(&x.rs, 'e'), 1000);
    for (size_t i = 0; i < x.rs.len; i++) ASSERT_EQ(x.rs.ev[i].input, (intptr_t)i);
    fx_close(&x);
}

CU_TestInfo aw_tests_core_api[] = {
    { "core_latency_small_run", core_latency_small_run },
    { "core_capacity_allocated_on_demand", core_capacity_allocated_on_demand },
    { "core_double_completion", core_double_completion },
    { "core_completion_race", core_completion_race },
    { "core_zero_and_many_results", core_zero_and_many_results },
    { "core_future_bad_args", core_future_bad_args },
    { "core_error_sink_keeps_position", core_error_sink_keeps_position },
    { "core_error_sink_event_time_segment", core_error_sink_event_time_segment },
    { "core_error_without_sink_fails_operator", core_error_without_sink_fails_operator },
    { "core_error_inline_push_accepted", core_error_inline_push_accepted },
    { "core_snapshot_order_and_stop", core_snapshot_order_and_stop },
    { "core_snapshot_restart", core_snapshot_restart },
    { "core_free_with_records_in_flight", core_free_with_records_in_flight },
    { "core_free_close_completes_pending", core_free_close_completes_pending },
    { "core_free_null_and_empty", core_free_null_and_empty },
    CU_TEST_INFO_NULL
};
