/* bench_core: what the operator itself costs, per mode.
 *   (a) completion inside invoke (the owner thread)
 *   (b) completion from one other thread
 *   (c) a simulated store: a timer thread completes each future L ms after
 *       invoke; with capacity C the ceiling is Little's law, C / L.
 * Usage: bench_core [--quick] [--csv FILE] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "asyncwait.h"
#include "common.h"                  /* now_s, cpu_s */

static const char *mode_name(aw_mode m)
{
    return m == AW_ORDERED ? "ordered" : m == AW_UNORDERED ? "unordered" :
           m == AW_UNORDERED_EVENT_TIME ? "event-time" : "keyed";
}

/* The sink checks what a run must deliver: every record once, and in
 * ordered mode in input order. */
typedef struct check { intptr_t next; long emitted, bad; aw_mode mode; } check;

static void on_emit(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    check *c = ctx;
    (void)ts;
    intptr_t x = (intptr_t)input;
    if (n != 1 || (intptr_t)results[0] != x + 1) c->bad++;
    if (c->mode == AW_ORDERED && x != c->next) c->bad++;
    c->next = x + 1;
    c->emitted++;
}

#ifndef BENCH_NO_KEYED
/* AW_KEY_ORDERED with one key per record: what the key table costs. */
static uint64_t key_of_input(void *ctx, const void *input)
{
    (void)ctx;
    return (uint64_t)(uintptr_t)input;
}
#endif

/* ---------------------------------------------------- (a) inline */

static void inline_invoke(void *ctx, void *input, aw_future *f)
{
    (void)ctx;
    void *r = (void *)((intptr_t)input + 1);
    aw_future_complete(f, &r, 1);
}

/* ------------------------------------ (b) one other thread, SPSC ring */

typedef struct ring {
    aw_future **slot;
    void **input;
    size_t mask;
    _Atomic size_t head, tail;   /* head: next to read; tail: next to write */
    _Atomic int stop;
    pthread_t th;
} ring;

static void ring_invoke(void *ctx, void *input, aw_future *f)
{
    ring *r = ctx;
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    r->slot[t & r->mask] = f;      /* never full: the ring is 2 x capacity */
    r->input[t & r->mask] = input;
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

static void *ring_completer(void *arg)
{
    ring *r = arg;
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    unsigned idle = 0;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h == t) {
            if (++idle > 1000) { struct timespec d = { 0, 20000 }; nanosleep(&d, NULL); idle = 0; }
            continue;
        }
        idle = 0;
        for (; h != t; h++) {
            aw_future *f = r->slot[h & r->mask];
            void *res = (void *)((intptr_t)r->input[h & r->mask] + 1);
            aw_future_complete(f, &res, 1);
        }
        atomic_store_explicit(&r->head, h, memory_order_release);
    }
    return NULL;
}

/* fn.close: a completion in progress may still touch the operator, so
 * the completer must be joined before aw_op_free goes on. */
static void ring_close(void *ctx)
{
    ring *r = ctx;
    atomic_store(&r->stop, 1);
    pthread_join(r->th, NULL);
}

/* ------------------------------- (c) timer thread, fixed latency L */

typedef struct delayed {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    aw_future **fut;
    void **input;
    double *due;
    size_t cap, head, len;
    double latency;
    int stop;
    pthread_t th;
} delayed;

static void delayed_invoke(void *ctx, void *input, aw_future *f)
{
    delayed *d = ctx;
    pthread_mutex_lock(&d->mu);
    size_t i = (d->head + d->len) % d->cap;
    d->fut[i] = f;
    d->input[i] = input;
    d->due[i] = now_s() + d->latency;
    if (d->len++ == 0) pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void *delayed_timer(void *arg)
{
    delayed *d = arg;
    prctl(PR_SET_TIMERSLACK, 1UL);   /* wake at the due time, not 50 us later */
    pthread_mutex_lock(&d->mu);
    while (!d->stop) {
        if (d->len == 0) { pthread_cond_wait(&d->cv, &d->mu); continue; }
        double due = d->due[d->head], now = now_s();
        if (due > now) {
            pthread_mutex_unlock(&d->mu);
            /* Sleep to 80 us before the due time, then spin: a sleeping
             * thread wakes tens of us late here, which would be charged to
             * the operator. */
            double wake = due - 80e-6;
            if (wake > now) {
                struct timespec t = { (time_t)wake, (long)((wake - (double)(time_t)wake) * 1e9) };
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
            }
            while (now_s() < due) { }
            pthread_mutex_lock(&d->mu);
            continue;
        }
        aw_future *f = d->fut[d->head];
        void *res = (void *)((intptr_t)d->input[d->head] + 1);
        d->head = (d->head + 1) % d->cap;
        d->len--;
        pthread_mutex_unlock(&d->mu);
        aw_future_complete(f, &res, 1);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void delayed_close(void *ctx)
{
    delayed *d = ctx;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
}

/* ------------------------------------------------------------ runner */

typedef struct result { double rate, cpu_per_rec_ns, p50, p99; long bad; } result;

static result run(aw_mode mode, size_t capacity, long n, aw_function fn)
{
    check c = { 0, 0, 0, mode };
    aw_config cfg = { .mode = mode, .capacity = capacity };
#ifndef BENCH_NO_KEYED
    if (mode == AW_KEY_ORDERED) cfg.key_of = key_of_input;
#endif
    aw_sink sink = { .ctx = &c, .emit = on_emit };
    aw_op *op;
    char err[256];
    result res = { 0 };
    if (aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err)) {
        fprintf(stderr, "bench_core: %s\n", err);
        res.bad = 1;
        return res;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < n; i++) {
        if (aw_op_push(op, (void *)(intptr_t)i, i) != 0) { c.bad++; break; }
        if (mode == AW_UNORDERED_EVENT_TIME && i % 1000 == 999) aw_op_watermark(op, i);
    }
    if (aw_op_drain(op) != 0) c.bad++;
    double dt = now_s() - t0, dc = cpu_s() - c0;
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    res.rate = (double)n / dt;
    res.cpu_per_rec_ns = dc / (double)n * 1e9;
    res.p50 = st.p50_us;
    res.p99 = st.p99_us;
    res.bad = c.bad + (c.emitted != n);
    return res;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && !strcmp(argv[1], "--quick");
    long na = quick ? 2000000 : 10000000, nb = quick ? 500000 : 4000000;
#ifdef BENCH_NO_KEYED          /* to compare with a library before keyed mode */
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
#else
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME, AW_KEY_ORDERED };
#endif
    enum { NMODES = sizeof modes / sizeof modes[0] };
    int failures = 0;

    printf("asyncwait %s core benchmark (2 cores; records/s, higher is better)\n\n", AW_VERSION_STRING);
    printf("%-4s %-11s %8s %10s %14s %12s %10s %10s %s\n", "case", "mode", "capacity",
           "records", "records/s", "cpu ns/rec", "p50 us", "p99 us", "check");
    /* Case (a) is pure CPU on one thread: on a shared machine each mode runs
     * REPS times, interleaved, and the best run (least disturbed) counts. */
    enum { REPS = 5 };
    result best[4];
    for (int rep = 0; rep < REPS; rep++)
        for (int m = 0; m < NMODES; m++) {
            aw_function fn = { .invoke = inline_invoke };
            result r = run(modes[m], 1024, na / REPS, fn);
            failures += r.bad != 0;
            if (rep == 0 || r.cpu_per_rec_ns < best[m].cpu_per_rec_ns) best[m] = r;
            if (r.bad) best[m].bad = r.bad;
        }
    for (int m = 0; m < NMODES; m++)
        printf("%-4s %-11s %8d %10ld %14.0f %12.1f %10.2f %10.2f %s\n", "a", mode_name(modes[m]),
               1024, na / REPS, best[m].rate, best[m].cpu_per_rec_ns, best[m].p50, best[m].p99,
               best[m].bad ? "FAIL" : "ok");
#ifndef BENCH_NO_KEYED
    /* Issue 15's target: keyed (one key per record, no watermarks) costs at
     * most 1.3 x unordered per record, completion inside invoke. */
    printf("a    keyed / unordered cpu per record: %.2f (target <= 1.30: %s)\n",
           best[3].cpu_per_rec_ns / best[1].cpu_per_rec_ns,
           best[3].cpu_per_rec_ns <= 1.3 * best[1].cpu_per_rec_ns ? "met" : "missed");
#endif
    for (int m = 0; m < NMODES; m++) {
        size_t cap = 1024;
        ring rg = { .mask = 2 * cap - 1 };
        rg.slot = calloc(2 * cap, sizeof *rg.slot);
        rg.input = calloc(2 * cap, sizeof *rg.input);
        pthread_create(&rg.th, NULL, ring_completer, &rg);
        aw_function fn = { .ctx = &rg, .invoke = ring_invoke, .close = ring_close };
        result r = run(modes[m], cap, nb, fn);
        free(rg.slot);
        free(rg.input);
        failures += r.bad != 0;
        printf("%-4s %-11s %8zu %10ld %14.0f %12.1f %10.2f %10.2f %s\n", "b", mode_name(modes[m]),
               cap, nb, r.rate, r.cpu_per_rec_ns, r.p50, r.p99, r.bad ? "FAIL" : "ok");
    }
    printf("\n%-4s %-11s %8s %6s %14s %14s %8s %10s %10s %8s %s\n", "case", "mode", "capacity", "L ms",
           "records/s", "bound C/L", "% bound", "p50 us", "p99 us", "cpu %", "check");
    size_t caps[] = { 10, 100, 1000 };
    int lats[] = { 1, 10 };
    for (int li = 0; li < 2; li++)
        for (int ci = 0; ci < 3; ci++)
            for (int m = 0; m < 2; m++) {
                double bound = (double)caps[ci] / (lats[li] / 1000.0);
                long n = (long)(bound * (quick ? 0.3 : 1.0));   /* about 1 s per run */
                if (n < 100) n = 100;
                delayed d = { .cap = caps[ci] + 1, .latency = lats[li] / 1000.0 };
                pthread_mutex_init(&d.mu, NULL);
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_cond_init(&d.cv, &ca);
                d.fut = calloc(d.cap, sizeof *d.fut);
                d.input = calloc(d.cap, sizeof *d.input);
                d.due = calloc(d.cap, sizeof *d.due);
                pthread_create(&d.th, NULL, delayed_timer, &d);
                aw_function fn = { .ctx = &d, .invoke = delayed_invoke, .close = delayed_close };
                result r = run(modes[m], caps[ci], n, fn);
                free(d.fut); free(d.input); free(d.due);
                pthread_cond_destroy(&d.cv);
                pthread_mutex_destroy(&d.mu);
                failures += r.bad != 0;
                /* cpu %: of one core, both threads (owner + timer) together */
                printf("%-4s %-11s %8zu %6d %14.0f %14.0f %7.1f%% %10.0f %10.0f %7.0f%% %s\n", "c",
                       mode_name(modes[m]), caps[ci], lats[li], r.rate, bound,
                       100.0 * r.rate / bound, r.p50, r.p99, r.cpu_per_rec_ns * r.rate / 1e7,
                       r.bad ? "FAIL" : "ok");
            }
    printf("\n%s\n", failures ? "CHECK FAILED: some run lost, duplicated or misordered records"
                              : "every run: every record emitted once, with its result, in order where ordered");
    return failures ? 1 : 0;
}
