/* The operator's three orders, after Flink's queue tests: ordered,
 * unordered and event time under every completion order; capacity and
 * backpressure; a watermark-only stream; completions inside invoke and
 * from other threads. */
#include "core_test.h"

/* ------------------------------------------------------------ ordered */

/* Flink OrderedStreamElementQueueTest#testCompletionOrder, reversed. */
static void core_ordered_reverse_completion(void)
{
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16 };
    aw_op *op = fx_open(&x, cfg, 0);
    for (intptr_t i = 1; i <= 8; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)i, i * 10), 0);
        if (i == 3) ASSERT_EQ(aw_op_watermark(op, 35), 0);
        if (i == 6) ASSERT_EQ(aw_op_watermark(op, 65), 0);
    }
    ASSERT_EQ(aw_op_in_flight(op), 10);
    ASSERT_EQ(x.p.n, 8);
    for (int i = 7; i >= 1; i--) {
        ASSERT_EQ(park_done(&x.p, i, x.p.in[i] * 100), 0);
        ASSERT_EQ(aw_op_poll(op, 0), 0);       /* record 1 still holds the head */
    }
    ASSERT_EQ(x.rs.len, 0);
    ASSERT_EQ(aw_op_in_flight(op), 10);
    ASSERT_EQ(park_done(&x.p, 0, 100), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 10);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    EXPECT_EVENTS(&x.rs, "eeeweeewee", 1, 2, 3, 35, 4, 5, 6, 65, 7, 8);
    for (size_t i = 0; i < x.rs.len; i++)
        if (x.rs.ev[i].kind == 'e') {
            ASSERT_EQ(x.rs.ev[i].first, x.rs.ev[i].input * 100);
            ASSERT_EQ(x.rs.ev[i].ts, x.rs.ev[i].input * 10);
            ASSERT_EQ(x.rs.ev[i].n, 1);
        }
    fx_free_op(&x);
    ASSERT_EQ(x.p.closed, 1);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* Random completion order: after every completion exactly the completed
 * prefix (records, and the watermarks between them) has left. */
static void core_ordered_random_completion(void)
{
    enum { N = 300, K = 10 };
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = N + N / K };
    aw_op *op = fx_open(&x, cfg, 0);
    /* the stream: record i, and a watermark (ts i) after every K-th */
    int kind[N + N / K];
    intptr_t val[N + N / K];
    int len = 0;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)(i + 1), i), 0);
        kind[len] = 'e'; val[len++] = i + 1;
        if (i % K == K - 1) {
            ASSERT_EQ(aw_op_watermark(op, i), 0);
            kind[len] = 'w'; val[len++] = i;
        }
    }
    ASSERT_EQ(aw_op_in_flight(op), (size_t)len);
    int order[N];
    shuffle(order, N, 42);
    char done[N + 1];
    memset(done, 0, sizeof done);
    long mismatches = 0;
    for (int c = 0; c < N; c++) {
        int i = order[c];
        size_t before = x.rs.len;
        ASSERT_EQ(park_done(&x.p, i, (intptr_t)(i + 1) * 3), 0);
        done[i + 1] = 1;
        int rc = aw_op_poll(op, 0);
        /* model: the longest prefix of the stream with every record done */
        size_t want = 0;
        while (want < (size_t)len && (kind[want] == 'w' || done[val[want]])) want++;
        if (x.rs.len != want || rc != (int)(want - before)) mismatches++;
    }
    ASSERT_EQ(mismatches, 0);
    ASSERT_EQ(x.rs.len, (size_t)len);
    long wrong = 0;
    for (int i = 0; i < len && (size_t)i < x.rs.len; i++) {
        const rec_event *e = &x.rs.ev[i];
        if (e->kind != kind[i]) wrong++;
        else if (kind[i] == 'e' && (e->input != val[i] || e->first != val[i] * 3)) wrong++;
        else if (kind[i] == 'w' && e->ts != val[i]) wrong++;
    }
    ASSERT_EQ(wrong, 0);
    fx_close(&x);
}

/* ---------------------------------------------------------- unordered */

static void core_unordered_completion_order(void)
{
    enum { N = 50 };
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 64 };
    aw_op *op = fx_open(&x, cfg, 0);
    for (intptr_t i = 1; i <= N; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    int order[N];
    shuffle(order, N, 7);
    long wrong = 0;
    for (int c = 0; c < N; c++) {
        int i = order[c];
        ASSERT_EQ(park_done(&x.p, i, x.p.in[i] + 500), 0);
        if (aw_op_poll(op, 0) != 1) wrong++;
        if (x.rs.len != (size_t)c + 1 || x.rs.ev[c].input != x.p.in[i] ||
            x.rs.ev[c].first != x.p.in[i] + 500 || x.rs.ev[c].ts != x.p.in[i])
            wrong++;
        if (aw_op_in_flight(op) != (size_t)(N - c - 1)) wrong++;
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(rec_count(&x.rs, 'e'), N);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

static void core_unordered_watermark_einval(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_watermark(op, 1), AW_EINVAL);        /* empty */
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_watermark(op, 2), AW_EINVAL);        /* with a record */
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "AW_UNORDERED");
    ASSERT_EQ(aw_op_in_flight(op), 1);
    ASSERT_EQ(x.rs.len, 0);
    ASSERT_EQ(park_done(&x.p, 0, 9), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "e", 1);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.watermarks, 0);
    fx_close(&x);
}

/* --------------------------------------------------------- event time */

/* Flink UnorderedStreamElementQueueTest#testCompletionOrder, step by step:
 * R1 R2 W2 R3 R4 W5 R5 R6. */
static void core_event_time_flink_completion_order(void)
{
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 8 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)2, 1), 0);
    ASSERT_EQ(aw_op_watermark(op, 2), 0);
    ASSERT_EQ(aw_op_push(op, (void *)3, 3), 0);
    ASSERT_EQ(aw_op_push(op, (void *)4, 4), 0);
    ASSERT_EQ(aw_op_watermark(op, 5), 0);
    ASSERT_EQ(aw_op_push(op, (void *)5, 6), 0);
    ASSERT_EQ(aw_op_push(op, (void *)6, 7), 0);
    /* park index: R1=0 R2=1 R3=2 R4=3 R5=4 R6=5 */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_op_in_flight(op), 8);
    ASSERT_EQ(park_done(&x.p, 2, 13), 0);      /* R3 is behind W2 */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_op_in_flight(op), 8);
    ASSERT_EQ(park_done(&x.p, 1, 42), 0);      /* R2: first segment, leaves */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(aw_op_in_flight(op), 7);
    EXPECT_EVENTS(&x.rs, "e", 2);
    ASSERT_EQ(x.rs.ev[0].first, 42);
    ASSERT_EQ(x.rs.ev[0].ts, 1);
    ASSERT_EQ(park_done(&x.p, 0, 43), 0);      /* R1: then W2, then R3 */
    ASSERT_EQ(aw_op_poll(op, 0), 3);
    ASSERT_EQ(aw_op_in_flight(op), 4);
    EXPECT_EVENTS(&x.rs, "eewe", 2, 1, 2, 3);
    ASSERT_EQ(x.rs.ev[3].first, 13);
    ASSERT_EQ(park_done(&x.p, 5, 16), 0);      /* R6: R4 still in its segment */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(aw_op_in_flight(op), 4);
    ASSERT_EQ(aw_future_complete(x.p.f[3], NULL, 0), 0); /* R4, no result */
    ASSERT_EQ(aw_op_poll(op, 0), 3);           /* R4, W5, R6 */
    ASSERT_EQ(aw_op_in_flight(op), 1);
    EXPECT_EVENTS(&x.rs, "eeweewe", 2, 1, 2, 3, 4, 5, 6);
    ASSERT_EQ(x.rs.ev[4].n, 0);
    ASSERT_EQ(x.rs.ev[6].first, 16);
    ASSERT_EQ(park_done(&x.p, 4, 15), 0);      /* R5 */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    EXPECT_EVENTS(&x.rs, "eeweewee", 2, 1, 2, 3, 4, 5, 6, 5);
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* Within the segment at the head, records leave in completion order. */
static void core_event_time_head_segment_completion_order(void)
{
    enum { N = 20 };
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 32 };
    aw_op *op = fx_open(&x, cfg, 0);
    for (intptr_t i = 1; i <= N; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    ASSERT_EQ(aw_op_watermark(op, 100), 0);
    ASSERT_EQ(aw_op_push(op, (void *)(N + 1), 101), 0);
    ASSERT_EQ(park_done(&x.p, N, 1), 0);        /* next segment: waits */
    int order[N];
    shuffle(order, N, 99);
    long wrong = 0;
    for (int c = 0; c < N; c++) {
        ASSERT_EQ(park_done(&x.p, order[c], 1), 0);
        int rc = aw_op_poll(op, 0);
        if (c < N - 1) {
            if (rc != 1 || x.rs.len != (size_t)c + 1 || x.rs.ev[c].input != x.p.in[order[c]]) wrong++;
        } else if (rc != 3) {                   /* last one, the watermark, N+1 */
            wrong++;
        }
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(x.rs.len, N + 2);
    ASSERT_EQ(x.rs.ev[N].kind, 'w');
    ASSERT_EQ(x.rs.ev[N].ts, 100);
    ASSERT_EQ(x.rs.ev[N + 1].input, N + 1);
    fx_close(&x);
}

/* Random completions across many segments (some empty): after every
 * completion, what may leave has left and nothing else; every output obeys
 * the segment rule. */
static void core_event_time_random_segments(void)
{
    enum { N = 300 };
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED_EVENT_TIME, .capacity = 512 };
    aw_op *op = fx_open(&x, cfg, 0);
    int seg[N];                 /* segment of record i */
    int seg_size[N + 1] = { 0 }, seg_done[N + 1] = { 0 };
    int nwm = 0;
    uint64_t g = 5;
    ASSERT_EQ(aw_op_watermark(op, 0), 0);         /* a watermark before any record */
    nwm++;
    for (int i = 0; i < N; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)i, i), 0);
        seg[i] = nwm;
        seg_size[nwm]++;
        uint32_t r = lcg_next(&g) % 16;
        if (r == 0 || r == 1) { ASSERT_EQ(aw_op_watermark(op, nwm), 0); nwm++; }
        if (r == 1) { ASSERT_EQ(aw_op_watermark(op, nwm), 0); nwm++; }  /* empty segment */
    }
    /* the first watermark had no record before it: it left at once */
    ASSERT_EQ(x.rs.len, 1);
    int order[N];
    shuffle(order, N, 1234);
    long model_bad = 0, rule_bad = 0;
    for (int c = 0; c < N; c++) {
        int i = order[c];
        ASSERT_EQ(park_done(&x.p, i, i), 0);
        seg_done[seg[i]]++;
        aw_op_poll(op, 0);
        /* model: whole segments (and the watermark closing each) leave, then
         * the done records of the first unfinished segment */
        size_t want = 0;
        for (int s = 0; s <= nwm; s++) {
            want += (size_t)seg_done[s];
            if (seg_done[s] < seg_size[s] || s == nwm) break;
            want++;             /* watermark s closes segment s (ts s) */
        }
        if (x.rs.len != want) model_bad++;
    }
    ASSERT_EQ(model_bad, 0);
    /* the rule: a record leaves after exactly seg watermarks */
    int wms = 0;
    for (size_t k = 0; k < x.rs.len; k++) {
        if (x.rs.ev[k].kind == 'w') {
            if (x.rs.ev[k].ts != wms) rule_bad++;
            wms++;
        } else if (seg[x.rs.ev[k].input] != wms) {
            rule_bad++;
        }
    }
    ASSERT_EQ(rule_bad, 0);
    ASSERT_EQ(wms, nwm);
    ASSERT_EQ(rec_count(&x.rs, 'e'), N);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    fx_close(&x);
}

/* ----------------------------------------------- capacity: put on full */

static void core_put_on_full(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 3; m++) {
        fx x;
        aw_config cfg = { .mode = modes[m], .capacity = 3 };
        aw_op *op = fx_open(&x, cfg, 0);
        ASSERT_EQ(aw_op_try_push(op, (void *)1, 0), 0);
        if (modes[m] == AW_UNORDERED) ASSERT_EQ(aw_op_try_push(op, (void *)2, 0), 0);
        else ASSERT_EQ(aw_op_watermark(op, 1), 0);   /* waits behind 1: counts */
        ASSERT_EQ(aw_op_try_push(op, (void *)3, 0), 0);
        ASSERT_EQ(aw_op_in_flight(op), 3);
        int invoked = x.p.n;
        ASSERT_EQ(aw_op_try_push(op, (void *)4, 0), AW_EAGAIN);
        ASSERT_STR_CONTAINS(aw_op_errmsg(op), "full");
        ASSERT_EQ(aw_op_try_push(op, (void *)4, 0), AW_EAGAIN);
        ASSERT_EQ(x.p.n, invoked);                     /* 4 never invoked */
        ASSERT_EQ(aw_op_in_flight(op), 3);
        ASSERT_EQ(x.rs.len, 0);
        /* completed outside any call: try_push processes it, then accepts */
        ASSERT_EQ(park_done(&x.p, 0, 10), 0);
        ASSERT_EQ(aw_op_try_push(op, (void *)4, 0), 0);
        ASSERT_EQ(x.p.n, invoked + 1);
        /* ordered / event time: record 1 and the watermark left (2 slots) */
        ASSERT_EQ(aw_op_in_flight(op), modes[m] == AW_UNORDERED ? 3 : 2);
        for (int i = 1; i < x.p.n; i++) ASSERT_EQ(park_done(&x.p, i, x.p.in[i] * 10), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        ASSERT_EQ(aw_op_in_flight(op), 0);
        ASSERT_EQ(rec_count(&x.rs, 'e'), modes[m] == AW_UNORDERED ? 4 : 3);
        int fours = 0;
        for (size_t i = 0; i < x.rs.len; i++) fours += x.rs.ev[i].kind == 'e' && x.rs.ev[i].input == 4;
        ASSERT_EQ(fours, 1);                           /* the refused tries left no trace */
        fx_free_op(&x);
        ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
        fx_close(&x);
    }
}

/* push and watermark block while full until the other thread's completion
 * lets one element leave. */
static void core_push_and_watermark_block_while_full(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 2; m++) {
        handoff h;
        ASSERT_EQ(handoff_start(&h, 0, 2000), 0);
        rec_sink rs;
        rec_sink_init(&rs, 16);
        aw_config cfg = { .mode = modes[m], .capacity = 2 };
        aw_op *op = handoff_op(&cfg, &h, &rs);
        ASSERT_EQ(aw_op_push(op, (void *)1, 1), 0);
        ASSERT_EQ(aw_op_push(op, (void *)2, 2), 0);
        /* full: returns only after record 1 (2 ms late) has left */
        ASSERT_EQ(aw_op_watermark(op, 3), 0);
        ASSERT_TRUE(rec_count(&rs, 'e') >= 1);
        ASSERT_EQ(rs.ev[0].input, 1);
        ASSERT_TRUE(aw_op_in_flight(op) <= 2);
        ASSERT_EQ(aw_op_push(op, (void *)4, 4), 0);
        ASSERT_TRUE(rec_count(&rs, 'e') >= 2);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_op_free(op);
        EXPECT_EVENTS(&rs, "eewe", 1, 2, 3, 4);
        ASSERT_EQ(rs.ev[3].first, 1004);
        ASSERT_EQ(atomic_load(&h.bad_rc), 0);
        handoff_fini(&h);
        rec_sink_fini(&rs);
    }
}

/* Backpressure: capacity C, a second thread completes in random order;
 * never more than C in flight, and the output is complete and in order. */
static void core_backpressure_second_thread(void)
{
    enum { N = 3000, C = 4 };
    handoff h;
    ASSERT_EQ(handoff_start(&h, 1, 0), 0);
    rec_sink rs;
    rec_sink_init(&rs, N + N / 50 + 8);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = C };
    aw_op *op = handoff_op(&cfg, &h, &rs);
    size_t max_in_flight = 0;
    long push_bad = 0, at_capacity = 0;
    for (intptr_t i = 0; i < N; i++) {
        if (aw_op_push(op, (void *)i, i) != 0) push_bad++;
        if (i % 50 == 49 && aw_op_watermark(op, i) != 0) push_bad++;
        size_t k = aw_op_in_flight(op);
        if (k > max_in_flight) max_in_flight = k;
        at_capacity += k == C;
    }
    ASSERT_EQ(push_bad, 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    aw_op_free(op);
    ASSERT_TRUE(max_in_flight <= C);
    ASSERT_TRUE(at_capacity > 0);              /* the pushes did meet a full operator */
    ASSERT_EQ(rs.len, N + N / 50);
    long wrong = 0;
    intptr_t next = 0;
    for (size_t i = 0; i < rs.len; i++) {
        const rec_event *e = &rs.ev[i];
        if (e->kind == 'e') {
            if (e->input != next || e->first != next + 1000) wrong++;
            next++;
        } else if (e->kind != 'w' || e->ts != next - 1 || next % 50 != 0) {
            wrong++;
        }
    }
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(next, N);
    ASSERT_EQ(atomic_load(&h.bad_rc), 0);
    ASSERT_EQ(atomic_load(&h.completed), N);
    handoff_fini(&h);
    rec_sink_fini(&rs);
}

/* ------------------------------------------------- watermark-only stream */

static void core_watermark_only_stream(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 2; m++) {
        fx x;
        aw_config cfg = { .mode = modes[m], .capacity = 1 };
        aw_op *op = fx_open(&x, cfg, 0);
        long wrong = 0;
        for (int i = 0; i < 20; i++) {
            if (aw_op_watermark(op, 100 + i) != 0) wrong++;
            /* emitted at once, in order: capacity 1 never fills */
            if (x.rs.len != (size_t)i + 1 || x.rs.ev[i].kind != 'w' || x.rs.ev[i].ts != 100 + i) wrong++;
            if (aw_op_in_flight(op) != 0) wrong++;
        }
        ASSERT_EQ(wrong, 0);
        ASSERT_EQ(aw_op_poll(op, 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_stats st = op_stats(op);
        ASSERT_EQ(st.watermarks, 20);
        ASSERT_EQ(st.pushed, 0);
        ASSERT_EQ(x.p.n, 0);
        fx_free_op(&x);
        ASSERT_EQ(x.rs.len, 20);
        fx_close(&x);
    }
}

/* -------------------------------------------------- where completions come from */

static void core_complete_inside_invoke(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    for (int m = 0; m < 3; m++) {
        fx x;
        aw_config cfg = { .mode = modes[m], .capacity = 2 };
        aw_op *op = fx_open(&x, cfg, FX_BOXES | FX_COMPLETE);
        long wrong = 0;
        for (intptr_t i = 1; i <= 100; i++) {
            if (aw_op_push(op, (void *)i, i) != 0) wrong++;
            /* the record left inside its own push */
            if (x.rs.len != (size_t)i || x.rs.ev[i - 1].input != i || x.rs.ev[i - 1].first != i * 10)
                wrong++;
            if (aw_op_in_flight(op) != 0) wrong++;
        }
        ASSERT_EQ(wrong, 0);
        ASSERT_EQ(x.p.inline_rc_bad, 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        fx_free_op(&x);
        ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
        ASSERT_EQ(x.rs.released, 0);
        fx_close(&x);
    }
}

static void core_complete_from_other_thread(void)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    /* The owner spins by default, never (-1: every wait sleeps on the
     * eventfd), or long (1000 us): the same records either way. */
    int spins[] = { 0, -1, 1000 };
    for (int k = 0; k < 9; k++) {
        int m = k % 3;
        handoff h;
        ASSERT_EQ(handoff_start(&h, 1, 0), 0);
        rec_sink rs;
        rec_sink_init(&rs, 256);
        aw_config cfg = { .mode = modes[m], .capacity = 16, .spin_us = spins[k / 3] };
        aw_op *op = handoff_op(&cfg, &h, &rs);
        for (intptr_t i = 0; i < 200; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        ASSERT_EQ(aw_op_in_flight(op), 0);
        aw_op_free(op);
        ASSERT_EQ(rs.len, 200);
        char seen[200] = { 0 };
        long wrong = 0;
        for (size_t i = 0; i < rs.len; i++) {
            intptr_t x = rs.ev[i].input;
            if (rs.ev[i].kind != 'e' || x < 0 || x >= 200 || seen[x]++ || rs.ev[i].first != x + 1000)
                wrong++;
            if (modes[m] == AW_ORDERED && x != (intptr_t)i) wrong++;
        }
        ASSERT_EQ(wrong, 0);
        ASSERT_EQ(atomic_load(&h.bad_rc), 0);
        handoff_fini(&h);
        rec_sink_fini(&rs);
    }
}

CU_TestInfo aw_tests_core_order[] = {
    { "core_ordered_reverse_completion", core_ordered_reverse_completion },
    { "core_ordered_random_completion", core_ordered_random_completion },
    { "core_unordered_completion_order", core_unordered_completion_order },
    { "core_unordered_watermark_einval", core_unordered_watermark_einval },
    { "core_event_time_flink_completion_order", core_event_time_flink_completion_order },
    { "core_event_time_head_segment_completion_order", core_event_time_head_segment_completion_order },
    { "core_event_time_random_segments", core_event_time_random_segments },
    { "core_put_on_full", core_put_on_full },
    { "core_push_and_watermark_block_while_full", core_push_and_watermark_block_while_full },
    { "core_backpressure_second_thread", core_backpressure_second_thread },
    { "core_watermark_only_stream", core_watermark_only_stream },
    { "core_complete_inside_invoke", core_complete_inside_invoke },
    { "core_complete_from_other_thread", core_complete_from_other_thread },
    CU_TEST_INFO_NULL
};
