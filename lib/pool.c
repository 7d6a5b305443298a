/* The thread-pool fallback: workers with one blocking connection each,
 * fed by a FIFO queue under one mutex. The queue grows rather than block
 * the owner thread: the operator's capacity already bounds the work. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pool.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define BATCH 8

/* A queued call; f == NULL marks one whose record timed out in the queue. */
typedef struct req { void *input; aw_future *f; } req;

/* One worker. batch and nb are written under mu; fut[i] is batch[i].f
 * until the worker claims it for its call (or a timeout takes it back),
 * both by CAS to NULL; cur is the future whose call is running. detached
 * is that future while the call has let go of its input
 * (aw_pool_input_release), the same | 1 once a timeout abandoned it, else
 * 0; both sides change it by CAS only, so a timeout can never abandon a
 * call that holds its input. */
typedef struct wslot {
    aw_pool *p;
    req batch[BATCH];
    _Atomic(aw_future *) fut[BATCH];
    _Atomic(aw_future *) cur;
    _Atomic uintptr_t detached;
    size_t nb;
} wslot;

/* The pool whose worker the calling thread is, if any, and its slot. */
static _Thread_local const aw_pool *tl_pool;
static _Thread_local wslot *tl_slot;

struct aw_pool {
    aw_sync_client client;
    aw_function fn;
    size_t nthreads, started;
    pthread_t *th;
    wslot *w;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work queued, or stop */
    pthread_cond_t ready_cv;    /* a worker finished its first connect */
    pthread_cond_t stop_cv;     /* close: ends reconnect backoff waits */
    pthread_cond_t done_cv;     /* a call ended, and a timeout waits for one */
    _Atomic size_t done_waiters;
    _Atomic bool stopping;      /* stop, readable without mu */
    req *q;
    size_t qcap, qhead, qlen, qpeak;
    bool stop, closed, joined;
    size_t ready, connected, idle;
    size_t waking;              /* signalled, not yet awake: not signalled again */
    int first_err;
    char err[256];
    uint64_t calls, failed, reconnects;
};

static void abs_after_ms(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) { t->tv_sec++; t->tv_nsec -= 1000000000L; }
}

/* Called with mu held; returns with mu held. True once reconnected, false
 * if the pool is stopping. Waits on stop_cv (not cv, whose signals are for
 * idle workers), so close interrupts it. */
static bool reconnect(aw_pool *p, void **conn)
{
    long delay = BACKOFF_MIN_MS;
    while (!p->stop) {
        struct timespec until;
        abs_after_ms(&until, delay);
        while (!p->stop && pthread_cond_timedwait(&p->stop_cv, &p->mu, &until) == 0) { }
        if (p->stop) break;
        pthread_mutex_unlock(&p->mu);
        char err[256];
        int rc = p->client.connect(p->client.ctx, conn, err, sizeof err);
        pthread_mutex_lock(&p->mu);
        if (rc == 0) {
            p->connected++;
            p->reconnects++;
            return true;
        }
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
    return false;
}

/* Wakes an idle worker for queued work, unless enough are waking already
 * (mu held): every signal to a sleeping thread costs a futex call here
 * and a context switch there, which a fast store pays per record. */
static void wake_one(aw_pool *p)
{
    if (p->qlen > p->waking && p->idle > p->waking) {
        p->waking++;
        pthread_cond_signal(&p->cv);
    }
}

/* Makes room for one more entry (mu held). False if out of memory. */
static bool grow(aw_pool *p)
{
    if (p->qlen < p->qcap) return true;
    size_t cap = p->qcap * 2;
    req *q = malloc(cap * sizeof *q);
    if (!q) return false;
    for (size_t i = 0; i < p->qlen; i++) q[i] = p->q[(p->qhead + i) % p->qcap];
    free(p->q);
    p->q = q;
    p->qcap = cap;
    p->qhead = 0;
    return true;
}

/* Puts a taken entry back at the head of the queue (mu held). */
static bool push_front(aw_pool *p, void *input, aw_future *f)
{
    if (!grow(p)) return false;
    p->qhead = (p->qhead + p->qcap - 1) % p->qcap;
    p->q[p->qhead] = (req){ input, f };
    p->qlen++;
    return true;
}

/* Wakes a pool_timeout waiting for a running call, if one waits: the call
 * ended, or let go of its input. Free when nobody waits. */
static void notify_done(aw_pool *p)
{
    if (atomic_load(&p->done_waiters)) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* A write(2) to a connection the server closed raises SIGPIPE, which ends
 * the whole program unless it is handled (hiredis writes with write(2)).
 * Blocked on the pool's own threads, such a write fails with EPIPE and the
 * client reports a lost connection; the signal stays pending on the
 * thread and goes with it. The program's own threads are not touched. */
static void block_sigpipe(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

static void *worker(void *arg)
{
    wslot *w = arg;
    aw_pool *p = w->p;
    void *conn = NULL;
    block_sigpipe();
    tl_pool = p;
    tl_slot = w;
    char err[256] = "";
    int rc = p->client.connect(p->client.ctx, &conn, err, sizeof err);
    pthread_mutex_lock(&p->mu);
    p->ready++;
    if (rc) {
        if (!p->first_err) {
            p->first_err = rc < 0 ? rc : AW_ECONN;
            snprintf(p->err, sizeof p->err, "%s", err[0] ? err : aw_strerror(p->first_err));
        }
    } else {
        p->connected++;
    }
    pthread_cond_broadcast(&p->ready_cv);
    if (rc) {
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    for (;;) {
        while (!p->stop && p->qlen == 0) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
            if (p->waking) p->waking--;
        }
        if (p->stop) break;
        /* Take a fair share (up to BATCH) per lock round trip. The batch
         * stays visible to pool_timeout through w->fut. */
        size_t n = p->qlen / p->nthreads;
        n = n < 1 ? 1 : n > BATCH ? BATCH : n;
        for (size_t i = 0; i < n; i++) {
            w->batch[i] = p->q[p->qhead];
            atomic_store(&w->fut[i], w->batch[i].f);   /* NULL: a tombstone */
            p->qhead = (p->qhead + 1) % p->qcap;
        }
        p->qlen -= n;
        w->nb = n;
        wake_one(p);                 /* more left than this worker took */
        pthread_mutex_unlock(&p->mu);

        size_t i, calls = 0, failed = 0;
        rc = 0;
        for (i = 0; i < n; i++) {
            if (atomic_load(&p->stopping)) break;
            /* Publish the call before claiming it, so a timeout that loses
             * the claim finds it running and waits (see pool_timeout). */
            aw_future *f = atomic_load(&w->fut[i]);
            if (!f) continue;
            atomic_store(&w->cur, f);
            if (!atomic_compare_exchange_strong(&w->fut[i], &f, NULL)) {
                atomic_store(&w->cur, NULL);           /* its record timed out */
                continue;
            }
            rc = p->client.call(p->client.ctx, conn, w->batch[i].input, f);
            /* < 0: call did not settle f (the contract), so failing it here
             * cannot hit a future that was settled and already reused. */
            if (rc < 0)
                aw_future_fail(f, rc, rc == AW_ECONN ? "connection to the store lost" : NULL);
            atomic_store(&w->detached, 0);
            atomic_store(&w->cur, NULL);
            notify_done(p);
            calls++;
            failed += rc < 0;
            if (rc == AW_ECONN || rc == AW_POOL_RECONNECT) { i++; break; }
        }

        pthread_mutex_lock(&p->mu);
        /* Taken but not called (the connection broke, or close): back to
         * the head of the queue, in order, for another worker or close. */
        for (size_t j = n; j-- > i;) {
            aw_future *f = atomic_exchange(&w->fut[j], NULL);
            if (f && !push_front(p, w->batch[j].input, f))
                aw_future_fail(f, AW_ENOMEM, "pool queue cannot grow");
        }
        w->nb = 0;
        wake_one(p);
        p->calls += calls;
        p->failed += failed;
        if (rc == AW_ECONN || rc == AW_POOL_RECONNECT) {
            p->connected--;
            pthread_mutex_unlock(&p->mu);
            if (p->client.disconnect) p->client.disconnect(p->client.ctx, conn);
            conn = NULL;
            pthread_mutex_lock(&p->mu);
            if (!reconnect(p, &conn)) break;
        }
    }
    if (conn) p->connected--;
    pthread_mutex_unlock(&p->mu);
    if (conn && p->client.disconnect) p->client.disconnect(p->client.ctx, conn);
    return NULL;
}

static void pool_invoke(void *ctx, void *input, aw_future *f)
{
    aw_pool *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (p->closed) {
        pthread_mutex_unlock(&p->mu);
        aw_future_fail(f, AW_ECLOSED, "the pool is closed");
        return;
    }
    if (!grow(p)) {
        pthread_mutex_unlock(&p->mu);
        aw_future_fail(f, AW_ENOMEM, "pool queue cannot grow");
        return;
    }
    p->q[(p->qhead + p->qlen) % p->qcap] = (req){ input, f };
    p->qlen++;
    if (p->qlen > p->qpeak) p->qpeak = p->qlen;
    wake_one(p);
    pthread_mutex_unlock(&p->mu);
}

static bool running(const aw_pool *p, const aw_future *f)
{
    for (size_t i = 0; i < p->started; i++)
        if (atomic_load(&p->w[i].cur) == f) return true;
    return false;
}

/* Abandons f's running call if it has let go of its input: true if so. */
static bool abandon(aw_pool *p, aw_future *f)
{
    for (size_t i = 0; i < p->started; i++) {
        uintptr_t want = (uintptr_t)f;
        if (atomic_compare_exchange_strong(&p->w[i].detached, &want, (uintptr_t)f | 1)) return true;
    }
    return false;
}

void aw_pool_input_release(void)
{
    wslot *w = tl_slot;
    aw_future *f = w ? atomic_load(&w->cur) : NULL;
    if (!f) return;
    atomic_store(&w->detached, (uintptr_t)f);
    notify_done(w->p);          /* a waiting timeout can stop waiting now */
}

bool aw_pool_input_reacquire(void)
{
    wslot *w = tl_slot;
    aw_future *f = w ? atomic_load(&w->cur) : NULL;
    if (!f) return true;
    uintptr_t want = (uintptr_t)f;
    if (atomic_compare_exchange_strong(&w->detached, &want, 0)) return true;
    return want != ((uintptr_t)f | 1);       /* never released: still ours */
}

bool aw_pool_call_abandoned(void)
{
    wslot *w = tl_slot;
    if (!w) return false;
    if (atomic_load_explicit(&w->p->stopping, memory_order_relaxed)) return true;
    aw_future *f = atomic_load(&w->cur);
    return f && atomic_load(&w->detached) == ((uintptr_t)f | 1);
}

/* Takes f back if it waits, in the queue or in a worker's batch (mu held). */
static bool take_back(aw_pool *p, aw_future *f)
{
    for (size_t i = 0; i < p->qlen; i++) {
        req *r = &p->q[(p->qhead + i) % p->qcap];
        if (r->f == f) {
            *r = (req){ NULL, NULL };   /* the worker that pops it skips it */
            return true;
        }
    }
    for (size_t k = 0; k < p->started; k++) {
        wslot *w = &p->w[k];
        for (size_t j = 0; j < w->nb; j++) {
            aw_future *e = f;
            if (atomic_load(&w->fut[j]) == f)
                return atomic_compare_exchange_strong(&w->fut[j], &e, NULL);
        }
    }
    return false;
}

/* The record of f timed out (owner thread). Its input goes back to the
 * sink as soon as this returns, so no call may use it afterwards. */
static void pool_timeout(void *ctx, void *input, aw_future *f)
{
    aw_pool *p = ctx;
    (void)input;
    pthread_mutex_lock(&p->mu);
    bool queued = take_back(p, f);
    /* Lost to a worker's claim, or running: a running call may still read
     * input, so wait for it to end; its outcome then counts (it settled f
     * before it returned). The worker sets cur before it claims, so a
     * failed take_back finds cur == f until the call is over. */
    bool abandoned = false;
    if (!queued) {
        atomic_fetch_add(&p->done_waiters, 1);
        while (running(p, f) && !(abandoned = abandon(p, f))) pthread_cond_wait(&p->done_cv, &p->mu);
        atomic_fetch_sub(&p->done_waiters, 1);
    }
    size_t n = p->nthreads;
    pthread_mutex_unlock(&p->mu);
    if (queued) {
        char msg[96];
        snprintf(msg, sizeof msg, "timed out while queued: all %zu pool workers were busy", n);
        aw_future_fail(f, AW_ETIMEDOUT, msg);
    } else if (abandoned) {
        /* The call waits on the store without its input: leave f to it.
         * The record fails with AW_ETIMEDOUT now; the call's settling of f
         * becomes the late completion. */
    } else {
        /* Settled already (AW_EALREADY, harmless), or a fresh future the
         * operator made between retry attempts: settle it, so it does not
         * stay pending with nobody to complete it. */
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
    }
}

static void pool_close(void *ctx)
{
    aw_pool *p = ctx;
    if (tl_pool == p) return;   /* a worker cannot join itself */
    pthread_mutex_lock(&p->mu);
    p->closed = p->stop = true;
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->cv);
    pthread_cond_broadcast(&p->stop_cv);
    bool join = !p->joined;
    p->joined = true;
    pthread_mutex_unlock(&p->mu);
    if (join)
        for (size_t i = 0; i < p->started; i++) pthread_join(p->th[i], NULL);
    /* The workers are gone: what is still queued fails, none is dropped. */
    pthread_mutex_lock(&p->mu);
    while (p->qlen > 0) {
        req r = p->q[p->qhead];
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
        pthread_mutex_unlock(&p->mu);
        if (r.f) aw_future_fail(r.f, AW_ECLOSED, "the pool closed before this record's call");
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

static void destroy(aw_pool *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->ready_cv);
    pthread_cond_destroy(&p->stop_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->q);
    free(p->th);
    free(p->w);
    free(p);
}

static int fail(char *err, size_t errlen, int code, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return code;
}

int aw_pool_create(aw_pool **out, const aw_pool_config *cfg, const aw_sync_client *client,
                   char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return fail(err, errlen, AW_EINVAL, "aw_pool_new: out is NULL");
    *out = NULL;
    if (!cfg || !client) return fail(err, errlen, AW_EINVAL, "aw_pool_new: cfg or client is NULL");
    if (cfg->threads == 0 || cfg->threads > 4096)
        return fail(err, errlen, AW_EINVAL, "aw_pool_new: threads must be 1 to 4096");
    if (!client->connect || !client->call)
        return fail(err, errlen, AW_EINVAL, "aw_pool_new: client->connect and client->call are required");

    aw_pool *p = calloc(1, sizeof *p);
    if (!p) return fail(err, errlen, AW_ENOMEM, "aw_pool_new: out of memory");
    p->client = *client;
    p->nthreads = cfg->threads;
    p->qcap = cfg->queue_capacity ? cfg->queue_capacity : cfg->threads * 2;
    p->q = malloc(p->qcap * sizeof *p->q);
    p->th = calloc(p->nthreads, sizeof *p->th);
    p->w = calloc(p->nthreads, sizeof *p->w);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_cond_init(&p->ready_cv, &ca);
    pthread_cond_init(&p->stop_cv, &ca);
    pthread_cond_init(&p->done_cv, &ca);
    pthread_condattr_destroy(&ca);
    p->fn = (aw_function){ .ctx = p, .invoke = pool_invoke, .timeout = pool_timeout,
                           .close = pool_close };
    if (!p->q || !p->th || !p->w) {
        destroy(p);
        return fail(err, errlen, AW_ENOMEM, "aw_pool_new: out of memory");
    }
    for (; p->started < p->nthreads; p->started++) {
        p->w[p->started].p = p;
        if (pthread_create(&p->th[p->started], NULL, worker, &p->w[p->started]) != 0) break;
    }

    pthread_mutex_lock(&p->mu);
    while (p->ready < p->started) pthread_cond_wait(&p->ready_cv, &p->mu);
    int rc = p->first_err;
    if (!rc && p->started < p->nthreads) {
        rc = AW_ENOMEM;
        snprintf(p->err, sizeof p->err, "aw_pool_new: could start only %zu of %zu threads",
                 p->started, p->nthreads);
    }
    pthread_mutex_unlock(&p->mu);
    if (rc) {
        if (err && errlen) snprintf(err, errlen, "%s", p->err);
        pool_close(p);
        destroy(p);
        return rc;
    }
    *out = p;
    return 0;
}

int aw_pool_new(aw_pool **out, const aw_pool_config *cfg, const aw_sync_client *client)
{
    return aw_pool_create(out, cfg, client, NULL, 0);
}

const aw_function *aw_pool_function(aw_pool *pool) { return pool ? &pool->fn : NULL; }

int aw_pool_stats_get(aw_pool *p, aw_pool_stats *out)
{
    if (!p || !out) return AW_EINVAL;
    pthread_mutex_lock(&p->mu);
    *out = (aw_pool_stats){ p->calls, p->failed, p->reconnects, p->connected, p->qpeak };
    pthread_mutex_unlock(&p->mu);
    return 0;
}

bool aw_pool_on_worker(const aw_pool *pool) { return pool && tl_pool == pool; }

void aw_pool_free(aw_pool *pool)
{
    if (!pool || tl_pool == pool) return;
    pool_close(pool);
    destroy(pool);
}
