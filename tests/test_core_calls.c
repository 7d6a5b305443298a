/* Every bad argument and its sentence, the error table, stats, the
 * eventfd, and calls from inside callbacks. */
#include <poll.h>
#include "core_test.h"

/* ------------------------------------------------------- bad arguments */

static void core_bad_arguments_create(void)
{
    park p = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 4);
    aw_config good = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = park_fn(&p);
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *const sentinel = (aw_op *)&p;
    aw_op *op;
    char err[256];

#define BAD(cfgp, fnp, sinkp, word) do {                                        \
        op = sentinel;                                                          \
        memset(err, 0, sizeof err);                                             \
        ASSERT_EQ(aw_op_create(&op, (cfgp), (fnp), (sinkp), err, sizeof err), AW_EINVAL); \
        ASSERT_TRUE(op == NULL);                                                \
        ASSERT_STR_CONTAINS(err, word);                                         \
        op = sentinel;                                                          \
        ASSERT_EQ(aw_op_new(&op, (cfgp), (fnp), (sinkp)), AW_EINVAL);          \
        ASSERT_TRUE(op == NULL);                                                \
    } while (0)

    memset(err, 0, sizeof err);
    ASSERT_EQ(aw_op_create(NULL, &good, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "out");
    ASSERT_EQ(aw_op_new(NULL, &good, &fn, &sink), AW_EINVAL);
    BAD(NULL, &fn, &sink, "cfg");
    BAD(&good, NULL, &sink, "fn");
    BAD(&good, &fn, NULL, "sink");
    aw_function noinv = fn;
    noinv.invoke = NULL;
    BAD(&good, &noinv, &sink, "invoke");
    aw_config spin = good;
    spin.spin_us = -2;
    BAD(&spin, &fn, &sink, "spin_us -2");
    spin.spin_us = 1001;
    BAD(&spin, &fn, &sink, "spin_us 1001");
    aw_sink noemit = sink;
    noemit.emit = NULL;
    BAD(&good, &fn, &noemit, "emit");
    aw_config c = good;
    c.capacity = 0;
    BAD(&c, &fn, &sink, "capacity");
    c = good;
    c.mode = (aw_mode)(AW_KEY_ORDERED + 1);   /* the first value past the enum */
    BAD(&c, &fn, &sink, "mode");
    c = good;
    c.mode = (aw_mode)-1;
    BAD(&c, &fn, &sink, "mode");
    c = good;
    c.timeout_ms = -5;
    BAD(&c, &fn, &sink, "timeout");
    c = good;
    c.retry.max_attempts = -1;
    BAD(&c, &fn, &sink, "max_attempts");
    c = good;
    c.retry.delay_ms = -1;
    BAD(&c, &fn, &sink, "delay_ms");
    c = good;
    c.retry.max_delay_ms = -1;
    BAD(&c, &fn, &sink, "max_delay_ms");
    c = good;
    c.retry.multiplier = -2.0;
    BAD(&c, &fn, &sink, "multiplier");
    c.retry.multiplier = 0.5;                  /* a delay that shrinks */
    BAD(&c, &fn, &sink, "multiplier");
    c = good;
    c.clock.ctx = &p;                  /* a clock without now_ms */
    BAD(&c, &fn, &sink, "now_ms");
#undef BAD
    /* a small or missing err buffer is safe */
    char tiny[8];
    memset(tiny, 'x', sizeof tiny);
    c = good;
    c.capacity = 0;
    ASSERT_EQ(aw_op_create(&op, &c, &fn, &sink, tiny, sizeof tiny), AW_EINVAL);
    ASSERT_TRUE(memchr(tiny, 0, sizeof tiny) != NULL);
    ASSERT_EQ(aw_op_create(&op, &c, &fn, &sink, NULL, 100), AW_EINVAL);
    /* open was never called for a bad argument */
    ASSERT_EQ(p.opened, 0);
    /* the good config works */
    ASSERT_EQ(aw_op_create(&op, &good, &fn, &sink, err, sizeof err), 0);
    ASSERT_TRUE(op != NULL);
    ASSERT_EQ(p.opened, 1);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

static int g_open_calls, g_close_calls;
static int open_refuses(void *ctx) { g_open_calls++; return AW_ECONN; }
static void close_counts(void *ctx) { g_close_calls++; }

static void core_open_error(void)
{
    park p = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 4);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = { .ctx = &p, .open = open_refuses, .invoke = park_invoke,
                       .close = close_counts };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op = (aw_op *)&p;
    g_open_calls = g_close_calls = 0;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), AW_ECONN);
    ASSERT_TRUE(op == NULL);
    ASSERT_EQ(g_open_calls, 1);
    ASSERT_EQ(g_close_calls, 0);                 /* close is not called */
    char err[256] = "";
    op = (aw_op *)&p;
    ASSERT_EQ(aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err), AW_ECONN);
    ASSERT_TRUE(op == NULL);
    ASSERT_STR_CONTAINS(err, "open");
    ASSERT_EQ(g_close_calls, 0);
    rec_sink_fini(&rs);
}

/* A snapshot visitor that counts what it sees. */
static int visit_count(void *ctx, void *input, int64_t ts, bool wm) { (*(int *)ctx)++; return 0; }

/* A NULL operator is refused by every call; bad arguments to a live one
 * are refused with a message, and the operator works on. */
static void core_bad_arguments_calls(void)
{
    ASSERT_EQ(aw_op_push(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_try_push(NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_watermark(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_poll(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_op_drain(NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_in_flight(NULL), 0);
    ASSERT_EQ(aw_op_fd(NULL), -1);
    ASSERT_EQ(aw_op_next_timer_ms(NULL), -1);
    ASSERT_EQ(aw_op_snapshot(NULL, visit_count, NULL), AW_EINVAL);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(NULL, &st), AW_EINVAL);
    ASSERT_TRUE(aw_op_errmsg(NULL) != NULL);
    fx x;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, 0);
    ASSERT_EQ(aw_op_errmsg(op)[0], 0);           /* "" when none */
    ASSERT_EQ(aw_op_snapshot(op, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_stats(op, NULL), AW_EINVAL);
    ASSERT_EQ(aw_op_poll(op, -2), AW_EINVAL);
    ASSERT_STR_CONTAINS(aw_op_errmsg(op), "timeout_ms -2");
    /* the operator still works */
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "e", 1);
    fx_close(&x);
}

static void core_strerror_table(void)
{
    int codes[] = { 0, AW_EINVAL, AW_ENOMEM, AW_EAGAIN, AW_ETIMEDOUT, AW_ECLOSED, AW_EFAILED,
                    AW_EALREADY, AW_ECONN, AW_EQUERY, AW_ECONFIG, AW_ECORRUPT, AW_EIO, -12345 };
    size_t n = sizeof codes / sizeof codes[0];
    long dup = 0, null = 0, names = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = aw_strerror(codes[i]);
        if (!s || !*s) { null++; continue; }
        for (size_t j = 0; j < i; j++)
            if (aw_strerror(codes[j]) && strcmp(s, aw_strerror(codes[j])) == 0) dup++;
        const char *nm = aw_err_name(codes[i]);
        if (!nm) names++;
        for (size_t j = 0; nm && j < i; j++)
            if (strcmp(nm, aw_err_name(codes[j])) == 0) names++;
    }
    ASSERT_EQ(null, 0);
    ASSERT_EQ(dup, 0);
    ASSERT_EQ(names, 0);
    ASSERT_STR_CONTAINS(aw_strerror(0), "success");
    ASSERT_STR_CONTAINS(aw_strerror(-12345), "unknown");
    ASSERT_STR_CONTAINS(aw_strerror(77), "unknown");
    ASSERT_TRUE(strcmp(aw_strerror(INT32_MIN), aw_strerror(-12345)) == 0);
    ASSERT_STR_CONTAINS(aw_strerror(AW_ETIMEDOUT), "timed out");
    ASSERT_TRUE(strcmp(aw_err_name(AW_EAGAIN), "AW_EAGAIN") == 0);
    ASSERT_TRUE(strcmp(aw_err_name(AW_ETIMEDOUT), "AW_ETIMEDOUT") == 0);
    ASSERT_TRUE(strcmp(aw_err_name(-999), "AW_UNKNOWN") == 0);
}

/* --------------------------------------------------------------- stats */

static void core_stats_counters_and_latency(void)
{
    handoff h;
    ASSERT_EQ(handoff_start(&h, 0, 2000), 0);    /* 2 ms of latency each */
    rec_sink rs;
    rec_sink_init(&rs, 16);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = handoff_op(&cfg, &h, &rs);
    aw_stats st;
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.pushed + st.emitted + st.failed + st.timed_out + st.retried + st.late + st.watermarks, 0);
    ASSERT_EQ(st.in_flight, 0);
    ASSERT_TRUE(st.p50_us == 0 && st.p99_us == 0 && st.p999_us == 0 && st.max_us == 0);
    for (intptr_t i = 0; i < 6; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
        if (i == 2) ASSERT_EQ(aw_op_watermark(op, 2), 0);
    }
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.pushed, 6);
    ASSERT_EQ(st.in_flight, aw_op_in_flight(op));
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.pushed, 6);
    ASSERT_EQ(st.emitted, 6);
    ASSERT_EQ(st.failed, 0);
    ASSERT_EQ(st.watermarks, 1);
    ASSERT_EQ(st.in_flight, 0);
    ASSERT_TRUE(st.p50_us > 0);
    ASSERT_TRUE(st.p50_us <= st.p99_us);
    ASSERT_TRUE(st.p99_us <= st.p999_us);
    ASSERT_TRUE(st.p999_us <= st.max_us);
    ASSERT_TRUE(st.max_us >= 1999.0);             /* record #1 waited >= 2 ms */
    ASSERT_TRUE(st.max_us < 60e6);
    aw_op_free(op);
    handoff_fini(&h);

    /* failures count as failed, not emitted */
    park p = { .fail_input = 2, .mode = PARK_COMPLETE };
    rec_sink_fini(&rs);
    rec_sink_init(&rs, 16);
    aw_config cfg2 = { .mode = AW_UNORDERED, .capacity = 8 };
    op = park_op(&cfg2, &p, &rs, 1);
    for (intptr_t i = 1; i <= 5; i++) ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
    ASSERT_EQ(aw_op_stats(op, &st), 0);
    ASSERT_EQ(st.pushed, 5);
    ASSERT_EQ(st.emitted, 4);
    ASSERT_EQ(st.failed, 1);
    ASSERT_EQ(st.timed_out + st.retried + st.late + st.watermarks, 0);
    ASSERT_TRUE(st.p50_us <= st.p99_us && st.p99_us <= st.p999_us && st.p999_us <= st.max_us);
    aw_op_free(op);
    rec_sink_fini(&rs);
}

/* ------------------------------------------------------------ eventfd */

/* The test thread waits on the fd with poll(2) (its timeout is only a
 * deadline); the helper completes the future it is handed. */
typedef struct fd_helper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    aw_future *f;          /* set by the owner: complete this one */
    int stop;
    int rc;
} fd_helper;

static void *fd_helper_main(void *arg)
{
    fd_helper *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->f && !h->stop) pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop) break;
        aw_future *f = h->f;
        h->f = NULL;
        pthread_mutex_unlock(&h->mu);
        void *r = (void *)7;
        int rc = aw_future_complete(f, &r, 1);
        pthread_mutex_lock(&h->mu);
        if (rc != 0) h->rc = rc;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void core_fd_readable_after_completion(void)
{
    enum { ROUNDS = 20 };
    fx x;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4 };
    aw_op *op = fx_open(&x, cfg, 0);
    int fd = aw_op_fd(op);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(aw_op_fd(op), fd);                  /* stable */
    fd_helper h = { .rc = 0 };
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, fd_helper_main, &h), 0);
    long not_readable = 0, not_emitted = 0;
    for (int k = 0; k < ROUNDS; k++) {
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)(k + 1), 0), 0);
        ASSERT_EQ(aw_op_poll(op, 0), 0);          /* nothing yet */
        pthread_mutex_lock(&h.mu);
        h.f = x.p.f[k];
        pthread_cond_signal(&h.cv);
        pthread_mutex_unlock(&h.mu);
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        int r = poll(&pf, 1, 10000);              /* deadline */
        if (r != 1 || !(pf.revents & POLLIN)) { not_readable++; break; }
        if (aw_op_poll(op, 0) != 1) {
            /* readable may be spurious; the completion must arrive soon */
            if (aw_op_poll(op, 10000) != 1) { not_emitted++; break; }
        }
    }
    pthread_mutex_lock(&h.mu);
    h.stop = 1;
    pthread_cond_signal(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(th, NULL);
    ASSERT_EQ(not_readable, 0);
    ASSERT_EQ(not_emitted, 0);
    ASSERT_EQ(h.rc, 0);
    ASSERT_EQ(rec_count(&x.rs, 'e'), ROUNDS);
    fx_free_op(&x);
    pthread_cond_destroy(&h.cv);
    pthread_mutex_destroy(&h.mu);
    fx_close(&x);
}

/* --------------------------------------------------------- reentrancy */

typedef struct reent {
    aw_op *op;
    int rc[8];
    int calls;
    int emits;
} reent;

static void reent_emit(void *ctx, void *input, void *const *r, size_t n, int64_t ts)
{
    reent *e = ctx;
    e->emits++;
    if (e->calls++) return;
    e->rc[0] = aw_op_push(e->op, (void *)99, 0);
    e->rc[1] = aw_op_try_push(e->op, (void *)99, 0);
    e->rc[2] = aw_op_watermark(e->op, 0);
    e->rc[3] = aw_op_poll(e->op, 0);
    e->rc[4] = aw_op_drain(e->op);
    aw_op_free(e->op);                            /* ignored */
    e->rc[5] = (int)aw_op_in_flight(e->op);       /* still alive, readable */
}

static int g_invoke_push_rc = 1;
static aw_op *g_invoke_op;
static void reent_invoke(void *ctx, void *input, aw_future *f)
{
    if ((intptr_t)input == 1) g_invoke_push_rc = aw_op_push(g_invoke_op, (void *)98, 0);
    aw_future_complete(f, NULL, 0);
}

static void core_reentrant_calls_refused(void)
{
    reent e = { 0 };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = { .invoke = reent_invoke };
    aw_sink sink = { .ctx = &e, .emit = reent_emit };
    ASSERT_EQ(aw_op_new(&e.op, &cfg, &fn, &sink), 0);
    g_invoke_op = e.op;
    g_invoke_push_rc = 1;
    ASSERT_EQ(aw_op_push(e.op, (void *)1, 0), 0);
    ASSERT_EQ(g_invoke_push_rc, AW_EINVAL);
    ASSERT_EQ(e.emits, 1);
    for (int i = 0; i < 5; i++) ASSERT_EQ(e.rc[i], AW_EINVAL);
    ASSERT_TRUE(e.rc[5] <= 1);                 /* the record being emitted, at most */
    ASSERT_STR_CONTAINS(aw_op_errmsg(e.op), "inside a callback");
    /* the operator survived the attempted free and works on */
    ASSERT_EQ(aw_op_push(e.op, (void *)2, 0), 0);
    ASSERT_EQ(aw_op_drain(e.op), 0);
    ASSERT_EQ(e.emits, 2);
    int visited = 0;
    ASSERT_EQ(aw_op_snapshot(e.op, visit_count, &visited), 0);
    ASSERT_EQ(visited, 0);
    aw_op_free(e.op);
}

/* A callback may drive a different operator: op A's emit pushes into B. */
typedef struct chain { aw_op *b; long bad; } chain;

static void chain_emit(void *ctx, void *input, void *const *r, size_t n, int64_t ts)
{
    chain *c = ctx;
    if (aw_op_push(c->b, input, ts) != 0) c->bad++;
}

static void core_callback_drives_other_operator(void)
{
    park pa = { 0 }, pb = { .mode = PARK_COMPLETE };
    rec_sink rs;
    rec_sink_init(&rs, 64);
    chain c = { 0 };
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 8 };
    c.b = park_op(&cfg, &pb, &rs, 1);
    aw_function fa = park_fn(&pa);
    aw_sink sa = { .ctx = &c, .emit = chain_emit };
    aw_op *a;
    ASSERT_EQ(aw_op_new(&a, &cfg, &fa, &sa), 0);
    for (intptr_t i = 1; i <= 5; i++) ASSERT_EQ(aw_op_push(a, (void *)i, i), 0);
    for (int i = 4; i >= 0; i--) ASSERT_EQ(aw_future_complete(pa.f[i], NULL, 0), 0);
    ASSERT_EQ(aw_op_drain(a), 0);
    ASSERT_EQ(aw_op_drain(c.b), 0);
    ASSERT_EQ(c.bad, 0);
    EXPECT_EVENTS(&rs, "eeeee", 5, 4, 3, 2, 1);
    aw_op_free(a);
    aw_op_free(c.b);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_core_calls[] = {
    { "core_bad_arguments_create", core_bad_arguments_create },
    { "core_open_error", core_open_error },
    { "core_bad_arguments_calls", core_bad_arguments_calls },
    { "core_strerror_table", core_strerror_table },
    { "core_stats_counters_and_latency", core_stats_counters_and_latency },
    { "core_fd_readable_after_completion", core_fd_readable_after_completion },
    { "core_reentrant_calls_refused", core_reentrant_calls_refused },
    { "core_callback_drives_other_operator", core_callback_drives_other_operator },
    CU_TEST_INFO_NULL
};
