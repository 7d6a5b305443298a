/* Futures: completion from any thread, the lock-free inbox that carries
 * completions to the owner, and the owner's pool of future objects. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "op_int.h"

_Thread_local aw_op *aw__owner;

/* One more chunk of futures on the free list: as many as exist already
 * (at least AW__CHUNK_MIN), so growth is geometric and rare. */
__attribute__((noinline)) static int futures_grow(aw_op *op)
{
    size_t n = op->nfuts < AW__CHUNK_MIN ? AW__CHUNK_MIN : op->nfuts;
    if (op->nfuts >= op->cfg.capacity)
        n = AW__CHUNK_MIN;                    /* zombies: small steps */
    else if (n > op->cfg.capacity - op->nfuts)
        n = op->cfg.capacity - op->nfuts;     /* up to capacity */
    aw__fut_chunk *c = calloc(1, sizeof *c + n * sizeof c->f[0]);
    if (!c) return AW_ENOMEM;
    c->n = n;
    c->next = op->fut_chunks;
    op->fut_chunks = c;
    op->nfuts += n;
    for (size_t i = n; i-- > 0;) {
        aw_future *f = &c->f[i];
        f->op = op;
        f->res = f->inl;
        f->next = op->free_futs;
        op->free_futs = f;
    }
    return 0;
}

aw_future *aw__future_get(aw_op *op)
{
    /* Past the records in flight, only zombies (timed-out futures the
     * adapter still holds) make the pool grow, so this is off the steady
     * path. */
    if (!op->free_futs && futures_grow(op)) return NULL;
    aw_future *f = op->free_futs;
    op->free_futs = f->next;
    f->next = NULL;
    f->slot = NULL;
    f->err = 0;
    f->n = 0;
    f->res = f->inl;
    f->msg = NULL;
    atomic_store_explicit(&f->state, F_PENDING, memory_order_release);
    return f;
}

void aw__future_put(aw_op *op, aw_future *f)
{
    if (f->res != f->inl) free(f->res);
    f->res = f->inl;
    free(f->msg);
    f->msg = NULL;
    f->slot = NULL;
    atomic_store_explicit(&f->state, F_FREE, memory_order_relaxed);
    f->next = op->free_futs;
    op->free_futs = f;
}

void aw__future_free_all(aw_op *op)
{
    aw__fut_chunk *c = op->fut_chunks;
    while (c) {
        aw__fut_chunk *next = c->next;
        for (size_t i = 0; i < c->n; i++) {
            aw_future *f = &c->f[i];
            if (f->res != f->inl) free(f->res);
            free(f->msg);
        }
        free(c);
        c = next;
    }
    op->fut_chunks = NULL;
    op->free_futs = NULL;
    op->nfuts = 0;
}

/* Hands a settled future to its owner. On the owner thread (inside one of
 * its calls) that is a plain append; elsewhere a CAS push and, when the
 * owner may be asleep, one eventfd write. */
static void deliver(aw_future *f)
{
    aw_op *op = f->op;
    if (aw__owner == op) {
        f->next = NULL;
        if (op->ltail) op->ltail->next = f; else op->lhead = f;
        op->ltail = f;
        return;
    }
    aw_future *old = atomic_load_explicit(&op->inbox, memory_order_relaxed);
    do {
        f->next = old;
    } while (!atomic_compare_exchange_weak_explicit(&op->inbox, &old, f,
                memory_order_seq_cst, memory_order_relaxed));
    /* f may be recycled from here on: touch only op. */
    if (atomic_load(&op->wake) == 0 && atomic_exchange(&op->wake, 1) == 0) {
        uint64_t one = 1;
        ssize_t r = write(op->efd, &one, sizeof one);
        (void)r;  /* EAGAIN means the counter is already non-zero: awake */
    }
}

aw_future *aw__inbox_take(aw_op *op)
{
    if (atomic_load_explicit(&op->inbox, memory_order_relaxed) == NULL)
        return NULL;
    aw_future *f = atomic_exchange_explicit(&op->inbox, NULL, memory_order_acquire);
    aw_future *rev = NULL;             /* LIFO -> completion order */
    while (f) {
        aw_future *next = f->next;
        f->next = rev;
        rev = f;
        f = next;
    }
    return rev;
}

/* A detached future (lib/detached.c): no operator, no copy. Out of line,
 * and tested before settle, which stays as it was (inlined). */
__attribute__((noinline)) static int settle_detached(aw_future *f, int err,
                                                     void *const *results, size_t n,
                                                     const char *msg)
{
    int st = F_PENDING;
    if (!atomic_compare_exchange_strong(&f->state, &st, F_DONE)) return AW_EALREADY;
    f->done(f->done_ctx, err, results, n, msg);   /* may free f */
    return 0;
}

static int settle(aw_future *f, int err, void *const *results, size_t n, const char *msg)
{
    void **buf = NULL;
    char *m = NULL;
    if (n > AW__INLINE_RESULTS && !(buf = malloc(n * sizeof *buf)))
        return AW_ENOMEM;
    if (msg) m = strdup(msg);          /* a lost message degrades to the code's */

    int st = F_PENDING;
    if (!atomic_compare_exchange_strong(&f->state, &st, F_COMPLETING)) {
        free(buf);
        free(m);
        if (st == F_TIMEDOUT) {
            /* The first late completion gives the zombie back. */
            if (atomic_compare_exchange_strong(&f->state, &st, F_LATE))
                deliver(f);
            return AW_ETIMEDOUT;
        }
        return st == F_LATE ? AW_ETIMEDOUT : AW_EALREADY;
    }
    if (buf) f->res = buf;
    if (n) memcpy(f->res, results, n * sizeof *results);
    f->n = n;
    f->err = err;
    f->msg = m;
    atomic_store_explicit(&f->state, F_DONE, memory_order_release);
    deliver(f);
    return 0;
}

int aw_future_complete(aw_future *f, void *const *results, size_t n)
{
    if (!f || (n > 0 && !results)) return AW_EINVAL;
    if (__builtin_expect(f->done != NULL, 0)) return settle_detached(f, 0, results, n, NULL);
    return settle(f, 0, results, n, NULL);
}

int aw_future_fail(aw_future *f, int err, const char *msg)
{
    if (!f || err >= 0) return AW_EINVAL;
    if (__builtin_expect(f->done != NULL, 0)) return settle_detached(f, err, NULL, 0, msg);
    return settle(f, err, NULL, 0, msg);
}
