/* The operator with other threads completing: backpressure, the eventfd,
 * and a randomized stress run of each mode checking its order invariants. */
#include <poll.h>
#include <stdlib.h>
#include "aw_test.h"

/* A bag of parked futures that completer threads empty in random order. */
typedef struct bag {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    aw_future **f;
    intptr_t *in;
    size_t n, cap;
    int stop;
    pthread_t th[2];
    int nthreads;
    unsigned delay_us;       /* > 0: hold each completion this long (latency) */
    _Atomic long late, bad_rc;   /* counted here, asserted on the test thread */
} bag;

static void bag_invoke(void *ctx, void *input, aw_future *f)
{
    bag *b = ctx;
    pthread_mutex_lock(&b->mu);
    if (b->n == b->cap) {      /* a test sized its bag wrong: say so */
        pthread_mutex_unlock(&b->mu);
        atomic_fetch_add(&b->bad_rc, 1);
        aw_future_fail(f, AW_ENOMEM, "bag full");
        return;
    }
    b->f[b->n] = f;
    b->in[b->n] = (intptr_t)input;
    b->n++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void *bag_completer(void *arg)
{
    bag *b = arg;
    unsigned seed = (unsigned)(uintptr_t)pthread_self();
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (b->n == 0 && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
        if (b->stop) break;
        size_t i = (size_t)rand_r(&seed) % b->n;
        aw_future *f = b->f[i];
        intptr_t x = b->in[i];
        b->n--;
        b->f[i] = b->f[b->n];
        b->in[i] = b->in[b->n];
        pthread_mutex_unlock(&b->mu);
        if (b->delay_us) {     /* creates latency; nothing waits on it */
            struct timespec d = { 0, (long)b->delay_us * 1000 };
            nanosleep(&d, NULL);
        }
        void *r = (void *)(x + 1);
        int rc = aw_future_complete(f, &r, 1);
        if (rc == AW_ETIMEDOUT) atomic_fetch_add(&b->late, 1);
        else if (rc != 0) atomic_fetch_add(&b->bad_rc, 1);
        pthread_mutex_lock(&b->mu);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

/* fn.close: stop and join, so no completion is in progress at free. */
static void bag_close(void *ctx)
{
    bag *b = ctx;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < b->nthreads; i++) pthread_join(b->th[i], NULL);
    b->nthreads = 0;
}

static void bag_start(bag *b, size_t cap, int threads, unsigned delay_us)
{
    memset(b, 0, sizeof *b);
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->cap = cap;
    b->f = calloc(cap, sizeof *b->f);
    b->in = calloc(cap, sizeof *b->in);
    b->delay_us = delay_us;
    for (int i = 0; i < threads; i++) pthread_create(&b->th[i], NULL, bag_completer, b);
    b->nthreads = threads;
}

static void bag_fini(bag *b)
{
    free(b->f);
    free(b->in);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
}

/* Checks each mode's promise as records leave. */
typedef struct checker {
    aw_mode mode;
    long n, k;               /* records; a watermark after every k */
    unsigned char *seen;
    long emitted, next, wms, bad;
} checker;

static void ck_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    checker *c = ctx;
    long x = (long)(intptr_t)input;
    if (x < 0 || x >= c->n || c->seen[x]++ || n != 1 || (intptr_t)res[0] != x + 1) c->bad++;
    if (c->mode == AW_ORDERED && x != c->next) c->bad++;
    /* event time: a record leaves only in the segment after wms watermarks */
    if (c->mode == AW_UNORDERED_EVENT_TIME && x / c->k != c->wms) c->bad++;
    c->next = x + 1;
    c->emitted++;
}

static void ck_watermark(void *ctx, int64_t ts)
{
    checker *c = ctx;
    c->wms++;
    /* every record before it has left, none after it */
    if (ts != c->wms * c->k - 1 || c->emitted != c->wms * c->k) c->bad++;
}

static long stress_count(void)
{
    const char *e = getenv("AW_STRESS_N");
    if (e) return atol(e);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return 100000;   /* sanitizers run 5-20x slower: same paths, fewer laps */
#else
    return 1000000;
#endif
}

static void stress_mode(aw_mode mode)
{
    checker c = { .mode = mode, .n = stress_count(), .k = 1000 };
    c.seen = calloc((size_t)c.n, 1);
    bag b;
    bag_start(&b, 512, 2, 0);
    aw_config cfg = { .mode = mode, .capacity = 256 };
    aw_function fn = { .ctx = &b, .invoke = bag_invoke, .close = bag_close };
    aw_sink sink = { .ctx = &c, .emit = ck_emit, .watermark = ck_watermark };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    for (long i = 0; i < c.n; i++) {
        if (aw_op_push(op, (void *)(intptr_t)i, i) != 0) { c.bad++; break; }
        if (mode != AW_UNORDERED && i % c.k == c.k - 1 && aw_op_watermark(op, i) != 0) c.bad++;
    }
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    ASSERT_EQ(c.bad, 0);
    ASSERT_EQ(atomic_load(&b.bad_rc) + atomic_load(&b.late), 0);
    ASSERT_EQ(c.emitted, c.n);
    ASSERT_EQ(st.pushed, (uint64_t)c.n);
    ASSERT_EQ(st.emitted, (uint64_t)c.n);
    if (mode != AW_UNORDERED) ASSERT_EQ(c.wms, c.n / c.k);
    long missing = 0;
    for (long i = 0; i < c.n; i++) missing += c.seen[i] != 1;
    ASSERT_EQ(missing, 0);
    bag_fini(&b);
    free(c.seen);
}

static void threads_stress_ordered(void) { stress_mode(AW_ORDERED); }
static void threads_stress_unordered(void) { stress_mode(AW_UNORDERED); }
static void threads_stress_event_time(void) { stress_mode(AW_UNORDERED_EVENT_TIME); }

/* push blocks while full and resumes as the other thread completes. */
static void threads_backpressure(void)
{
    checker c = { .mode = AW_ORDERED, .n = 2000, .k = 1 };
    c.seen = calloc((size_t)c.n, 1);
    bag b;
    bag_start(&b, 8, 1, 50);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_function fn = { .ctx = &b, .invoke = bag_invoke, .close = bag_close };
    aw_sink sink = { .ctx = &c, .emit = ck_emit };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    size_t max_in_flight = 0;
    for (long i = 0; i < c.n; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)i, 0) == 0, 1);
        if (aw_op_in_flight(op) > max_in_flight) max_in_flight = aw_op_in_flight(op);
    }
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    ASSERT_EQ(max_in_flight, 4);           /* never more than capacity */
    ASSERT_EQ(c.emitted, c.n);
    ASSERT_EQ(c.bad, 0);
    bag_fini(&b);
    free(c.seen);
}

/* The eventfd turns readable after a completion from another thread, and
 * a poll(2) loop plus aw_op_poll(op, 0) delivers everything. */
static void threads_fd_event_loop(void)
{
    checker c = { .mode = AW_UNORDERED, .n = 500, .k = 1 };
    c.seen = calloc((size_t)c.n, 1);
    bag b;
    /* Completions held 50 us each: the loop finds nothing ready right
     * after it pushes, so it must wait on the fd (wakeups > 0). Without
     * the delay, fast completers (seen under TSan) could finish every
     * record before the loop ever needed the fd. */
    bag_start(&b, 64, 2, 50);
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 32 };
    aw_function fn = { .ctx = &b, .invoke = bag_invoke, .close = bag_close };
    aw_sink sink = { .ctx = &c, .emit = ck_emit };
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    int fd = aw_op_fd(op);
    ASSERT_TRUE(fd >= 0);
    long pushed = 0, wakeups = 0, timeouts = 0;
    while (c.emitted < c.n && timeouts == 0) {
        while (pushed < c.n && aw_op_try_push(op, (void *)(intptr_t)pushed, 0) == 0) pushed++;
        if (aw_op_poll(op, 0) > 0) continue;
        /* try_push may have emitted the last ones itself */
        if (c.emitted == c.n || aw_op_in_flight(op) == 0) continue;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, 10000);           /* a deadline, not a wait for a result */
        if (r == 0) {
            timeouts++;
            pthread_mutex_lock(&b.mu);
            AW__FAIL("fd not readable for 10 s: %zu in flight, %zu parked, %ld/%ld emitted",
                     aw_op_in_flight(op), b.n, c.emitted, c.n);
            pthread_mutex_unlock(&b.mu);
        } else {
            wakeups++;
        }
    }
    ASSERT_EQ(timeouts, 0);
    ASSERT_TRUE(wakeups > 0);
    ASSERT_EQ(c.emitted, c.n);
    ASSERT_EQ(c.bad, 0);
    aw_op_free(op);
    bag_fini(&b);
    free(c.seen);
}

/* Completions racing timeouts on the real clock: every record leaves once,
 * emitted or timed out, and late completions are told so. */
static void threads_timeouts_race_completions(void)
{
    bag b;
    bag_start(&b, 4096, 2, 900);   /* timed-out futures stay in the bag */
    rec_sink rs;
    rec_sink_init(&rs, 4096);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 64, .timeout_ms = 1 };
    aw_function fn = { .ctx = &b, .invoke = bag_invoke, .close = bag_close };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    long n = 2000;
    for (long i = 0; i < n; i++) ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    ASSERT_EQ(rs.len, (size_t)n);
    long order_bad = 0;
    for (size_t i = 0; i < rs.len; i++) order_bad += rs.ev[i].input != (intptr_t)i;
    ASSERT_EQ(order_bad, 0);
    ASSERT_EQ(st.emitted + st.failed, (uint64_t)n);
    ASSERT_EQ(rec_count(&rs, 'x'), st.failed);
    ASSERT_EQ(rec_count(&rs, 'd'), 0);
    ASSERT_EQ(atomic_load(&b.bad_rc), 0);
    /* every timed-out record whose completion came later was told so */
    ASSERT_TRUE(atomic_load(&b.late) <= (long)st.timed_out);
    ASSERT_TRUE(st.late <= (uint64_t)atomic_load(&b.late));   /* more may come after drain */
    rec_sink_fini(&rs);
    bag_fini(&b);
}

CU_TestInfo aw_tests_threads[] = {
    { "threads_stress_ordered", threads_stress_ordered },
    { "threads_stress_unordered", threads_stress_unordered },
    { "threads_stress_event_time", threads_stress_event_time },
    { "threads_backpressure", threads_backpressure },
    { "threads_fd_event_loop", threads_fd_event_loop },
    { "threads_timeouts_race_completions", threads_timeouts_race_completions },
    CU_TEST_INFO_NULL
};
