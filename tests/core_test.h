/* Helpers for the core suites (test_core_order.c, test_core_api.c,
 * test_core_calls.c, test_core_keyed.c, test_timer.c, test_retry.c,
 * test_op_loop.c): a "park" adapter the test drives by hand, the "fx"
 * fixture (a park on a fake clock, a rec_sink, an operator over them),
 * malloc'd result boxes, a "handoff" adapter whose second thread completes
 * futures, op_or_fail / op_stats, and EXPECT_EVENTS. Everything is static
 * inline: one source, no link-time helpers. */
#ifndef CORE_TEST_H
#define CORE_TEST_H

#include <stdlib.h>
#include <time.h>
#include "aw_test.h"

/* ------------------------------------------------------------- boxes */

/* A heap result: with rec_sink.boxes = 1 the sink frees it on emit and
 * release, so ASan reports a leak or a double free of any result. */
static inline void *box_new(intptr_t v)
{
    intptr_t *b = malloc(sizeof *b);
    if (b) *b = v;
    return b;
}

/* ------------------------------------------------------------- park */

static inline void set_now(fake_clock *c, int64_t t) { atomic_store(&c->now, t); }

#define PARK_MAX 1024
enum { PARK_HOLD, PARK_COMPLETE, PARK_FAIL };

/* invoke records the input, the fake-clock time and the future; with
 * PARK_COMPLETE / PARK_FAIL it completes (input * 10) or fails (AW_EQUERY)
 * inside invoke instead, and stores no future. */
typedef struct park {
    aw_future *f[PARK_MAX];
    intptr_t in[PARK_MAX];
    int64_t at[PARK_MAX];
    int n;
    int mode;
    intptr_t fail_input;     /* > 0: this input fails inline, whatever mode */
    fake_clock *clock;
    rec_sink *rs;            /* to see where close fell among sink events */
    int closed;
    size_t closed_at;        /* rs->len when close ran */
    int opened;
    int inline_rc_bad;       /* inline completions that did not return 0 */
} park;

static inline void park_invoke(void *ctx, void *input, aw_future *f)
{
    park *p = ctx;
    intptr_t x = (intptr_t)input;
    if (p->n >= PARK_MAX) {
        p->inline_rc_bad++;
        aw_future_fail(f, AW_ENOMEM, "park full");
        return;
    }
    int i = p->n++;
    p->in[i] = x;
    p->at[i] = p->clock ? atomic_load(&p->clock->now) : 0;
    p->f[i] = NULL;
    if (p->mode == PARK_FAIL || (p->fail_input > 0 && x == p->fail_input)) {
        if (aw_future_fail(f, AW_EQUERY, "inline failure") != 0) p->inline_rc_bad++;
    } else if (p->mode == PARK_COMPLETE) {
        void *r = (p->rs && p->rs->boxes) ? box_new(x * 10) : (void *)(x * 10);
        if (aw_future_complete(f, &r, 1) != 0) p->inline_rc_bad++;
    } else {
        p->f[i] = f;
    }
}

static inline void park_close(void *ctx)
{
    park *p = ctx;
    p->closed++;
    p->closed_at = p->rs ? p->rs->len : 0;
}

static inline int park_open(void *ctx) { ((park *)ctx)->opened++; return 0; }

/* Completes parked future i with one result v (a box when the sink frees
 * boxes). On a non-zero return the box goes back to the caller: freed. */
static inline int park_done(park *p, int i, intptr_t v)
{
    void *r = (p->rs && p->rs->boxes) ? box_new(v) : (void *)v;
    int rc = aw_future_complete(p->f[i], &r, 1);
    if (rc != 0 && p->rs && p->rs->boxes) free(r);
    return rc;
}

static inline aw_function park_fn(park *p)
{
    aw_function fn = { .ctx = p, .open = park_open, .invoke = park_invoke, .close = park_close };
    return fn;
}

/* Creates an operator; fails the test (and returns NULL) if that does not
 * work. */
static inline aw_op *op_or_fail(const aw_config *cfg, const aw_function *fn, const aw_sink *sink)
{
    aw_op *op = NULL;
    char err[256] = "";
    int rc = aw_op_create(&op, cfg, fn, sink, err, sizeof err);
    if (rc != 0) AW__FAIL("aw_op_create: %d %s", rc, err);
    return op;
}

/* An operator over a park and a rec_sink (its error callback only if
 * with_error); NULL, the test failed, if that does not work. */
static inline aw_op *park_op(const aw_config *cfg, park *p, rec_sink *rs, int with_error)
{
    p->rs = rs;
    aw_function fn = park_fn(p);
    aw_sink sink = rec_sink_of(rs, with_error, 1);
    return op_or_fail(cfg, &fn, &sink);
}

/* ------------------------------------------------------------- fixture */

/* The setup most core tests share: a park, a fake clock at 0 (the park
 * records its time of each invoke), a rec_sink, and x->op over them.
 * Flags: FX_CLOCK, cfg runs on x->clock; FX_BOXES, results are boxes the
 * sink frees; FX_NO_ERROR_SINK, no sink.error; FX_COMPLETE / FX_FAIL, the
 * park's mode. fx_free_op frees the operator (the sink's events stay to
 * check); fx_close frees what is left. The fx must not move once open. */
enum { FX_CLOCK = 1, FX_BOXES = 2, FX_NO_ERROR_SINK = 4, FX_COMPLETE = 8, FX_FAIL = 16 };

typedef struct fx {
    fake_clock clock;
    park p;
    rec_sink rs;
    aw_op *op;
} fx;

/* fx_open with fn.timeout set to on_timeout. */
static inline aw_op *fx_open_timeout(fx *x, aw_config cfg, int flags,
                                     void (*on_timeout)(void *ctx, void *input, aw_future *f))
{
    memset(x, 0, sizeof *x);
    x->p.clock = &x->clock;
    x->p.mode = (flags & FX_FAIL) ? PARK_FAIL : (flags & FX_COMPLETE) ? PARK_COMPLETE : PARK_HOLD;
    x->p.rs = &x->rs;
    rec_sink_init(&x->rs, 16);
    x->rs.boxes = (flags & FX_BOXES) != 0;
    if (flags & FX_CLOCK) cfg.clock = fake_clock_of(&x->clock);
    aw_function fn = park_fn(&x->p);
    fn.timeout = on_timeout;
    aw_sink sink = rec_sink_of(&x->rs, !(flags & FX_NO_ERROR_SINK), 1);
    x->op = op_or_fail(&cfg, &fn, &sink);
    return x->op;
}

static inline aw_op *fx_open(fx *x, aw_config cfg, int flags)
{
    return fx_open_timeout(x, cfg, flags, NULL);
}

static inline void fx_free_op(fx *x)
{
    aw_op_free(x->op);
    x->op = NULL;
}

static inline void fx_close(fx *x)
{
    fx_free_op(x);
    rec_sink_fini(&x->rs);
}

/* The operator's stats; fails the test (and returns zeros) if
 * aw_op_stats does not return 0. */
static inline aw_stats op_stats(aw_op *op)
{
    aw_stats st;
    memset(&st, 0, sizeof st);
    int rc = aw_op_stats(op, &st);
    if (rc != 0) AW__FAIL("aw_op_stats: %d", rc);
    return st;
}

/* A small deterministic generator (tests repeat exactly). */
static inline uint32_t lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Fisher-Yates shuffle of 0..n-1. */
static inline void shuffle(int *a, int n, uint64_t seed)
{
    for (int i = 0; i < n; i++) a[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(lcg_next(&seed) % (uint32_t)(i + 1));
        int t = a[i]; a[i] = a[j]; a[j] = t;
    }
}

/* ------------------------------------------------------------- handoff */

/* invoke hands the future to a second thread through a mutex + condvar
 * queue; that thread completes it with input + 1000 (FIFO, or a random
 * pending one), after delay_us if set -- the delay creates latency, nothing
 * waits on it. fn.close stops and joins the thread. */
#define HANDOFF_MAX 4096
typedef struct handoff {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    aw_future *f[HANDOFF_MAX];
    intptr_t in[HANDOFF_MAX];
    size_t n;
    int stop, random, running;
    unsigned delay_us;
    pthread_t th;
    _Atomic long completed, bad_rc, overflow;
} handoff;

static inline void handoff_invoke(void *ctx, void *input, aw_future *f)
{
    handoff *h = ctx;
    pthread_mutex_lock(&h->mu);
    if (h->n == HANDOFF_MAX) {
        pthread_mutex_unlock(&h->mu);
        atomic_fetch_add(&h->overflow, 1);
        aw_future_fail(f, AW_ENOMEM, "handoff queue full");
        return;
    }
    h->f[h->n] = f;
    h->in[h->n] = (intptr_t)input;
    h->n++;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static inline void *handoff_main(void *arg)
{
    handoff *h = arg;
    uint64_t seed = 12345;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->n == 0 && !h->stop) pthread_cond_wait(&h->cv, &h->mu);
        if (h->stop) break;
        size_t i = h->random ? lcg_next(&seed) % h->n : 0;
        aw_future *f = h->f[i];
        intptr_t x = h->in[i];
        if (h->random) {
            h->n--;
            h->f[i] = h->f[h->n];
            h->in[i] = h->in[h->n];
        } else {
            memmove(h->f, h->f + 1, (h->n - 1) * sizeof *h->f);
            memmove(h->in, h->in + 1, (h->n - 1) * sizeof *h->in);
            h->n--;
        }
        pthread_mutex_unlock(&h->mu);
        if (h->delay_us) {
            struct timespec d = { 0, (long)h->delay_us * 1000 };
            nanosleep(&d, NULL);
        }
        void *r = (void *)(x + 1000);
        if (aw_future_complete(f, &r, 1) != 0) atomic_fetch_add(&h->bad_rc, 1);
        atomic_fetch_add(&h->completed, 1);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static inline void handoff_close(void *ctx)
{
    handoff *h = ctx;
    if (!h->running) return;
    pthread_mutex_lock(&h->mu);
    h->stop = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    h->running = 0;
}

static inline int handoff_start(handoff *h, int random, unsigned delay_us)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->random = random;
    h->delay_us = delay_us;
    if (pthread_create(&h->th, NULL, handoff_main, h) != 0) return -1;
    h->running = 1;
    return 0;
}

static inline void handoff_fini(handoff *h)
{
    handoff_close(h);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

static inline aw_function handoff_fn(handoff *h)
{
    aw_function fn = { .ctx = h, .invoke = handoff_invoke, .close = handoff_close };
    return fn;
}

/* An operator over a handoff and a rec_sink (error and discard too). */
static inline aw_op *handoff_op(const aw_config *cfg, handoff *h, rec_sink *rs)
{
    aw_function fn = handoff_fn(h);
    aw_sink sink = rec_sink_of(rs, 1, 1);
    return op_or_fail(cfg, &fn, &sink);
}

/* Checks the events of a rec_sink against a string of kinds and a list of
 * inputs (records) / timestamps (watermarks); reports the first mismatch. */
static inline void expect_events(const rec_sink *rs, const char *kinds, const intptr_t *vals,
                                 const char *file, int line)
{
    size_t n = strlen(kinds);
    char got[256];
    size_t k = 0;
    for (size_t i = 0; i < rs->len && k + 24 < sizeof got; i++)
        k += (size_t)snprintf(got + k, sizeof got - k, "%c%lld ", rs->ev[i].kind,
                              (long long)(rs->ev[i].kind == 'w' ? rs->ev[i].ts : rs->ev[i].input));
    got[k] = 0;
    int ok = rs->len == n;
    for (size_t i = 0; ok && i < n; i++) {
        const rec_event *e = &rs->ev[i];
        ok = e->kind == kinds[i] && (kinds[i] == 'w' ? e->ts == vals[i] : e->input == vals[i]);
    }
    char want[256];
    k = 0;
    for (size_t i = 0; i < n && k + 24 < sizeof want; i++)
        k += (size_t)snprintf(want + k, sizeof want - k, "%c%lld ", kinds[i], (long long)vals[i]);
    want[k] = 0;
    char msg[600];
    snprintf(msg, sizeof msg, "events: want [%s] got [%s]", want, got);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, msg, file, "", CU_FALSE);
}
#define EXPECT_EVENTS(rs, kinds, ...) do {                                    \
        const intptr_t ev__v[] = { __VA_ARGS__ };                            \
        expect_events((rs), (kinds), ev__v, __FILE__, __LINE__);             \
    } while (0)

#endif
