/* bench_straggler: head-of-line blocking, ordered vs keyed vs unordered
 * (issue 15). A simulated store answers each lookup after 1 ms, but one
 * lookup in 1 000 takes 50 ms; records carry one of 1 000 keys; capacity
 * 100. Ordered mode makes every record wait behind a straggler; keyed mode
 * only the records of the straggler's key; unordered none (and keeps no
 * order at all). Prints records/s and p50/p99 latency (push to emit) per
 * mode, and checks the targets:
 *   keyed p99 <= 0.1 x ordered p99, keyed records/s >= 0.9 x unordered.
 * The store is a timer thread completing futures at their due time from a
 * min-heap. Usage: bench_straggler [--quick] [--records N] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include "asyncwait.h"
#include "common.h"

#define KEYS 1000
#define CAPACITY 100

/* ---------------------------------------------------- the store */

typedef struct item { double due; aw_future *f; intptr_t input; } item;

typedef struct store {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    item heap[CAPACITY + 1];
    size_t n;
    int stop;
    pthread_t th;
} store;

static void heap_push(store *s, item it)
{
    size_t i = s->n++;
    while (i > 0 && s->heap[(i - 1) / 2].due > it.due) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = it;
}

static item heap_pop(store *s)
{
    item top = s->heap[0], last = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n) break;
        if (c + 1 < s->n && s->heap[c + 1].due < s->heap[c].due) c++;
        if (s->heap[c].due >= last.due) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    s->heap[i] = last;
    return top;
}

/* Record i is a straggler when this says so: 1 in 1 000, spread. */
static int straggler(intptr_t i) { return (uint32_t)(i * 2654435761u) % 1000u == 7; }

static void store_invoke(void *ctx, void *input, aw_future *f)
{
    store *s = ctx;
    intptr_t i = (intptr_t)input;
    item it = { now_s() + (straggler(i) ? 0.050 : 0.001), f, i };
    pthread_mutex_lock(&s->mu);
    heap_push(s, it);            /* never full: at most CAPACITY invoked */
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *store_main(void *arg)
{
    store *s = arg;
    prctl(PR_SET_TIMERSLACK, 1UL);
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->n == 0) { pthread_cond_wait(&s->cv, &s->mu); continue; }
        double due = s->heap[0].due, now = now_s();
        if (due > now) {            /* a new, earlier item wakes us (signal) */
            struct timespec t = { (time_t)due, (long)((due - (double)(time_t)due) * 1e9) };
            pthread_cond_timedwait(&s->cv, &s->mu, &t);
            continue;
        }
        item it = heap_pop(s);
        pthread_mutex_unlock(&s->mu);
        void *r = (void *)(it.input + 1);
        aw_future_complete(it.f, &r, 1);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void store_close(void *ctx)
{
    store *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
}

/* ------------------------------------------------------- the run */

static intptr_t key_of_rec(intptr_t i) { return (intptr_t)((uint32_t)(i * 40503u + 17u) % KEYS); }

static uint64_t key_of(void *ctx, const void *input)
{
    (void)ctx;
    return (uint64_t)key_of_rec((intptr_t)input);
}

typedef struct check { intptr_t last[KEYS], next; long emitted, bad; aw_mode mode; } check;

static void on_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    (void)ts;
    check *c = ctx;
    intptr_t i = (intptr_t)input, k = key_of_rec(i);
    if (n != 1 || (intptr_t)res[0] != i + 1) c->bad++;
    if (c->mode == AW_ORDERED && i != c->next) c->bad++;
    if (c->mode == AW_KEY_ORDERED && i < c->last[k]) c->bad++;
    c->last[k] = i;
    c->next = i + 1;
    c->emitted++;
}

typedef struct result { double rate, p50, p99; long bad; } result;

static result run(aw_mode mode, long n)
{
    store s = { .n = 0 };
    pthread_mutex_init(&s.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_create(&s.th, NULL, store_main, &s);
    check *c = calloc(1, sizeof *c);
    c->mode = mode;
    aw_config cfg = { .mode = mode, .capacity = CAPACITY, .spin_us = -1 };
    if (mode == AW_KEY_ORDERED) cfg.key_of = key_of;
    aw_function fn = { .ctx = &s, .invoke = store_invoke, .close = store_close };
    aw_sink sink = { .ctx = c, .emit = on_emit };
    aw_op *op;
    char err[256];
    result r = { 0 };
    if (aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err)) {
        fprintf(stderr, "bench_straggler: %s\n", err);
        store_close(&s);
        r.bad = 1;
        free(c);
        return r;
    }
    double t0 = now_s();
    for (intptr_t i = 0; i < n; i++)
        if (aw_op_push(op, (void *)i, 0) != 0) { c->bad++; break; }
    if (aw_op_drain(op) != 0) c->bad++;
    double dt = now_s() - t0;
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    r.rate = (double)n / dt;
    r.p50 = st.p50_us / 1000.0;
    r.p99 = st.p99_us / 1000.0;
    r.bad = c->bad + (c->emitted != n);
    free(c);
    return r;
}

int main(int argc, char **argv)
{
    long n = 50000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) n = 20000;
        else if (!strcmp(argv[i], "--records") && i + 1 < argc) n = atol(argv[++i]);
        else { fprintf(stderr, "usage: bench_straggler [--quick] [--records N]\n"); return 2; }
    }
    printf("straggler workload: 1 ms per lookup, 1 in 1000 takes 50 ms; %d keys; capacity %d; "
           "%ld records\n\n", KEYS, CAPACITY, n);
    printf("%-10s %12s %10s %10s %s\n", "mode", "records/s", "p50 ms", "p99 ms", "check");
    aw_mode modes[] = { AW_ORDERED, AW_KEY_ORDERED, AW_UNORDERED };
    const char *names[] = { "ordered", "keyed", "unordered" };
    result r[3];
    int failures = 0;
    for (int m = 0; m < 3; m++) {
        r[m] = run(modes[m], n);
        failures += r[m].bad != 0;
        printf("%-10s %12.0f %10.2f %10.2f %s\n", names[m], r[m].rate, r[m].p50, r[m].p99,
               r[m].bad ? "FAIL" : "ok");
    }
    double p99_ratio = r[1].p99 / r[0].p99, rate_ratio = r[1].rate / r[2].rate;
    printf("\nkeyed p99 / ordered p99:           %.3f (target <= 0.1: %s)\n", p99_ratio,
           p99_ratio <= 0.1 ? "met" : "missed");
    printf("keyed records/s / unordered:       %.3f (target >= 0.9: %s)\n", rate_ratio,
           rate_ratio >= 0.9 ? "met" : "missed");
    if (failures) printf("CHECK FAILED: some run lost, duplicated or misordered records\n");
    return failures ? 1 : 0;
}
