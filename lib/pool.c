/* The thread-pool fallback: workers with one blocking connection each,
 * fed by a FIFO queue under one mutex. The queue grows rather than block
 * the owner thread: the operator's capacity already bounds the work. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pool.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

typedef struct req { void *input; aw_future *f; } req;

struct aw_pool {
    aw_sync_client client;
    aw_function fn;
    size_t nthreads, started;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* work queued, or stop */
    pthread_cond_t ready_cv;    /* a worker finished its first connect */
    pthread_cond_t stop_cv;     /* close: ends reconnect backoff waits */
    req *q;
    size_t qcap, qhead, qlen, qpeak;
    bool stop, closed, joined;
    size_t ready, connected;
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

static void *worker(void *arg)
{
    aw_pool *p = arg;
    void *conn = NULL;
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
        while (!p->stop && p->qlen == 0) pthread_cond_wait(&p->cv, &p->mu);
        if (p->stop) break;
        req r = p->q[p->qhead];
        p->qhead = (p->qhead + 1) % p->qcap;
        p->qlen--;
        pthread_mutex_unlock(&p->mu);

        rc = p->client.call(p->client.ctx, conn, r.input, r.f);
        if (rc < 0)   /* AW_EALREADY here means call completed f itself: fine */
            aw_future_fail(r.f, rc, rc == AW_ECONN ? "connection to the store lost" : NULL);

        pthread_mutex_lock(&p->mu);
        p->calls++;
        if (rc < 0) p->failed++;
        if (rc == AW_ECONN) {
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
    if (p->qlen == p->qcap) {   /* grow, unwrapping the ring */
        size_t cap = p->qcap * 2;
        req *q = malloc(cap * sizeof *q);
        if (!q) {
            pthread_mutex_unlock(&p->mu);
            aw_future_fail(f, AW_ENOMEM, "pool queue cannot grow");
            return;
        }
        for (size_t i = 0; i < p->qlen; i++) q[i] = p->q[(p->qhead + i) % p->qcap];
        free(p->q);
        p->q = q;
        p->qcap = cap;
        p->qhead = 0;
    }
    p->q[(p->qhead + p->qlen) % p->qcap] = (req){ input, f };
    p->qlen++;
    if (p->qlen > p->qpeak) p->qpeak = p->qlen;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void pool_close(void *ctx)
{
    aw_pool *p = ctx;
    pthread_mutex_lock(&p->mu);
    p->closed = p->stop = true;
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
        aw_future_fail(r.f, AW_ECLOSED, "the pool closed before this record's call");
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

static void destroy(aw_pool *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->ready_cv);
    pthread_cond_destroy(&p->stop_cv);
    pthread_mutex_destroy(&p->mu);
    free(p->q);
    free(p->th);
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
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_cond_init(&p->ready_cv, &ca);
    pthread_cond_init(&p->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    p->fn = (aw_function){ .ctx = p, .invoke = pool_invoke, .close = pool_close };
    if (!p->q || !p->th) {
        destroy(p);
        return fail(err, errlen, AW_ENOMEM, "aw_pool_new: out of memory");
    }
    for (; p->started < p->nthreads; p->started++)
        if (pthread_create(&p->th[p->started], NULL, worker, p) != 0) break;

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

void aw_pool_free(aw_pool *pool)
{
    if (!pool) return;
    pool_close(pool);
    destroy(pool);
}
