/* The lookup cache with single-flight, for every adapter aw_adapter_open
 * makes (adapter.h: cache=, cache_ttl_ms=, cache_missing=): its table of
 * keys with the LRU list of entries, the aw_function that wraps the
 * adapter's (a hit replayed inside invoke, a miss joining or starting a
 * flight), serving a flight's waiters when it lands, close and free.
 * cache_life.c reads the URI and makes the lookup the adapter runs;
 * cache_int.h says how the pieces fit. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache_int.h"

_Thread_local const struct aw__cache *aw__cache_tl;   /* inside a user callback for it */

bool aw__cache_in_callback(const struct aw__cache *c) { return c && aw__cache_tl == c; }

/* ------------------------------------------------------------- keys */

/* The bound parameters as bytes: count, then per parameter its type and
 * value (text: length and bytes). Equal bytes = equal key. */
static int make_key(struct aw__cache *c, size_t *len)
{
    int n = aw_params_count(c->params);
    size_t need = 4;
    for (int i = 0; i < n; i++) {
        aw_value v;
        aw_params_get(c->params, i, &v);
        need += 1 + (v.type == AW_VTEXT ? 8 + v.len : v.type == AW_VNULL ? 0 : 8);
    }
    if (need > c->kcap) {
        unsigned char *b = realloc(c->kbuf, need);
        if (!b) return AW_ENOMEM;
        c->kbuf = b;
        c->kcap = need;
    }
    unsigned char *p = c->kbuf;
    uint32_t n32 = (uint32_t)n;
    memcpy(p, &n32, 4);
    p += 4;
    for (int i = 0; i < n; i++) {
        aw_value v;
        aw_params_get(c->params, i, &v);
        *p++ = (unsigned char)v.type;
        if (v.type == AW_VINT64) { memcpy(p, &v.i, 8); p += 8; }
        else if (v.type == AW_VDOUBLE) { memcpy(p, &v.d, 8); p += 8; }
        else if (v.type == AW_VTEXT) {
            uint64_t l = v.len;
            memcpy(p, &l, 8);
            memcpy(p + 8, v.s, v.len);
            p += 8 + v.len;
        }
    }
    *len = need;
    return 0;
}

static uint64_t hash_bytes(const unsigned char *b, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211u;
    return h ^ (h >> 29);
}

static node *find(struct aw__cache *c, uint64_t h, const unsigned char *k, size_t klen)
{
    for (node *n = c->tab[h & c->mask]; n; n = n->hnext)
        if (n->hash == h && n->klen == klen && !memcmp(n->key, k, klen)) return n;
    return NULL;
}

static void tab_del(struct aw__cache *c, node *n)
{
    node **pp = &c->tab[n->hash & c->mask];
    while (*pp && *pp != n) pp = &(*pp)->hnext;
    if (*pp) *pp = n->hnext;
}

static void node_free(node *n)
{
    free(n->vals);
    free(n->arena);
    free(n);
}

/* ----------------------------------------------------------- lists */

static void list_del(node **head, node **tail, node *n)
{
    if (n->prev) n->prev->next = n->next; else *head = n->next;
    if (n->next) n->next->prev = n->prev; else if (tail) *tail = n->prev;
    n->prev = n->next = NULL;
}

static void list_push(node **head, node **tail, node *n)
{
    n->prev = NULL;
    n->next = *head;
    if (*head) (*head)->prev = n; else if (tail) *tail = n;
    *head = n;
}

/* Takes a READY entry out of the table and the LRU list (mu held). */
static void drop_entry(struct aw__cache *c, node *n)
{
    tab_del(c, n);
    list_del(&c->lru_head, &c->lru_tail, n);
    c->entries--;
    if (n->refs) n->dead = true; else node_free(n);
}

/* ------------------------------------------------- serving a record */

/* Runs the user's row on each stored row for input and completes f. */
static void replay(struct aw__cache *c, const node *n, aw_row *row, void *input, aw_future *f)
{
    void *stack[8], **res = stack;
    if (n->nrows > 8 && !(res = malloc(n->nrows * sizeof *res))) {
        aw_future_fail(f, AW_ENOMEM, "out of memory replaying a cached answer");
        return;
    }
    const struct aw__cache *prev = aw__cache_tl;
    aw__cache_tl = c;
    size_t k = 0;
    int rc = 0;
    for (; k < n->nrows; k++) {
        for (int i = 0; i < n->ncols; i++) {
            aw_value v = n->vals[k * (size_t)n->ncols + (size_t)i];
            if (v.type == AW_VTEXT) v.s = n->arena + v.i;
            aw_row_set(row, i, &v);
        }
        res[k] = NULL;
        if ((rc = c->user.row(c->user.ctx, input, row, &res[k])) < 0) break;
    }
    if (rc < 0 || aw_future_complete(f, res, k) != 0) {
        if (c->user.free_result)
            for (size_t i = 0; i < k; i++) c->user.free_result(c->user.ctx, res[i]);
        if (rc < 0) aw_future_fail(f, rc, "lookup row callback failed");
    }
    aw__cache_tl = prev;
    if (res != stack) free(res);
}

/* A row of the flight's width with the adapter's column names. */
static aw_row *row_for(struct aw__cache *c, int ncols)
{
    aw_row *r = aw_row_new(ncols);
    const char *const *names = NULL;
    int nn = 0;
    aw_adapter_columns(c->a, &names, &nn, NULL);
    for (int i = 0; r && names && i < ncols && i < nn; i++) aw_row_set_name(r, i, names[i]);
    return r;
}


/* The flight's lookup settled, on whatever thread settled it. First the
 * answer becomes the key's entry (or, failed or not to be kept, leaves the
 * table, so a retry starts a new query): records arriving from now on hit
 * it. Then the records that waited are served, outside the lock, the entry
 * pinned meanwhile. */
static void flight_done(void *ctx, int err, void *const *results, size_t nres, const char *msg)
{
    (void)results; (void)nres;               /* NULLs from flight_row */
    node *n = ctx;
    struct aw__cache *c = n->c;
    aw_row *row = err ? NULL : row_for(c, n->ncols);
    if (!err && !row) {
        err = AW_ENOMEM;
        msg = "out of memory serving a lookup's answer";
    }
    pthread_mutex_lock(&c->mu);
    list_del(&c->flights, NULL, n);
    aw_future *f = n->fut;
    n->fut = NULL;
    batch b = { c->batches, n->waiters };
    n->waiters = NULL;
    c->batches = &b;
    n->refs++;
    if (!err && (n->nrows > 0 || c->missing)) {
        n->state = READY;
        n->expires = c->ttl_ms ? c->now_ms(c->clock_ctx) + c->ttl_ms : INT64_MAX;
        list_push(&c->lru_head, &c->lru_tail, n);
        c->entries++;
        while (c->entries > c->max) {
            atomic_fetch_add_explicit(&c->evictions, 1, memory_order_relaxed);
            drop_entry(c, c->lru_tail);
        }
    } else {
        tab_del(c, n);
        n->dead = true;
    }
    pthread_mutex_unlock(&c->mu);
    for (waiter *x = b.w; x; x = x->next) {
        if (err) aw_future_fail(x->f, err, msg);
        else replay(c, n, row, x->input, x->f);
    }
    pthread_mutex_lock(&c->mu);
    batch **pp = &c->batches;
    while (*pp != &b) pp = &(*pp)->next;
    *pp = b.next;
    pthread_cond_broadcast(&c->cv);
    if (--n->refs == 0 && n->dead) node_free(n);
    pthread_mutex_unlock(&c->mu);
    while (b.w) {
        waiter *next = b.w->next;
        free(b.w);
        b.w = next;
    }
    aw_row_free(row);
    aw__future_detached_free(f);
}

/* ------------------------------------------------ the aw_function */

static int cache_open(void *ctx)
{
    struct aw__cache *c = ctx;
    return c->inner->open ? c->inner->open(c->inner->ctx) : 0;
}

static void cache_invoke(void *ctx, void *input, aw_future *f)
{
    struct aw__cache *c = ctx;
    aw_params_clear(c->params);
    const struct aw__cache *prev = aw__cache_tl;
    aw__cache_tl = c;
    int rc = c->user.bind(c->user.ctx, input, c->params);
    aw__cache_tl = prev;
    if (rc < 0) {
        aw_future_fail(f, rc, "lookup bind callback failed");
        return;
    }
    size_t klen;
    if (make_key(c, &klen)) {
        aw_future_fail(f, AW_ENOMEM, "out of memory making the cache key");
        return;
    }
    uint64_t h = hash_bytes(c->kbuf, klen);
    pthread_mutex_lock(&c->mu);
    node *n = find(c, h, c->kbuf, klen);
    if (n && n->state == READY && c->ttl_ms && n->expires <= c->now_ms(c->clock_ctx)) {
        atomic_fetch_add_explicit(&c->expired, 1, memory_order_relaxed);
        drop_entry(c, n);
        n = NULL;
    }
    if (n && n->state == READY) {
        atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
        list_del(&c->lru_head, &c->lru_tail, n);
        list_push(&c->lru_head, &c->lru_tail, n);
        n->refs++;
        pthread_mutex_unlock(&c->mu);
        /* the owner's row, as wide as the answers (one SQL: one width) */
        if (c->row && aw_row_columns(c->row) != n->ncols) {
            aw_row_free(c->row);
            c->row = NULL;
        }
        if (!c->row) c->row = row_for(c, n->ncols);
        if (c->row) replay(c, n, c->row, input, f);
        else aw_future_fail(f, AW_ENOMEM, "out of memory replaying a cached answer");
        pthread_mutex_lock(&c->mu);
        if (--n->refs == 0 && n->dead) node_free(n);
        pthread_mutex_unlock(&c->mu);
        return;
    }
    waiter *w = malloc(sizeof *w);
    if (!w) {
        pthread_mutex_unlock(&c->mu);
        aw_future_fail(f, AW_ENOMEM, "out of memory waiting for a lookup");
        return;
    }
    atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
    *w = (waiter){ NULL, f, input };
    if (n) {                                 /* in flight: wait for its answer */
        atomic_fetch_add_explicit(&c->coalesced, 1, memory_order_relaxed);
        w->next = n->waiters;
        n->waiters = w;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    n = calloc(1, sizeof *n + klen);
    aw_future *lf = n ? aw__future_detached_new(flight_done, n) : NULL;
    if (!lf) {
        pthread_mutex_unlock(&c->mu);
        free(n);
        free(w);
        aw_future_fail(f, AW_ENOMEM, "out of memory starting a lookup");
        return;
    }
    n->c = c;
    n->hash = h;
    n->state = FLIGHT;
    n->klen = klen;
    memcpy(n->key, c->kbuf, klen);
    n->fut = lf;
    n->waiters = w;
    n->hnext = c->tab[h & c->mask];
    c->tab[h & c->mask] = n;
    list_push(&c->flights, NULL, n);
    pthread_mutex_unlock(&c->mu);
    /* n may be served and gone before this returns (an inline answer). */
    c->inner->invoke(c->inner->ctx, n, lf);
}

static bool in_list(const waiter *w, const aw_future *f)
{
    for (; w; w = w->next) if (w->f == f) return true;
    return false;
}

/* A record timed out (owner thread): its input goes back to the sink when
 * this returns, so no serving round may still use it. */
static void cache_timeout(void *ctx, void *input, aw_future *f)
{
    (void)input;
    struct aw__cache *c = ctx;
    pthread_mutex_lock(&c->mu);
    for (node *n = c->flights; n; n = n->next) {
        for (waiter **pp = &n->waiters; *pp; pp = &(*pp)->next) {
            if ((*pp)->f != f) continue;
            waiter *w = *pp;
            *pp = w->next;
            pthread_mutex_unlock(&c->mu);
            free(w);
            aw_future_fail(f, AW_ETIMEDOUT, "timed out waiting for the lookup of its key");
            return;
        }
    }
    for (;;) {
        struct batch *b = c->batches;
        while (b && !in_list(b->w, f)) b = b->next;
        if (!b) break;
        pthread_cond_wait(&c->cv, &c->mu);   /* being served: wait for the round */
    }
    pthread_mutex_unlock(&c->mu);
    /* Served already (AW_EALREADY, harmless), or a fresh future between
     * retry attempts: settle it, as the pool does. */
    aw_future_fail(f, AW_ETIMEDOUT, NULL);
}

static void cache_close(void *ctx)
{
    struct aw__cache *c = ctx;
    if (c->inner->close) c->inner->close(c->inner->ctx);
}

/* ------------------------------------------------------- life cycle */

void aw__cache_attach(struct aw__cache *c, aw_adapter *a)
{
    c->a = a;
    a->cache = c;
    if (!c->max) return;
    c->inner = a->fn;
    /* The adapter's event loop, if it has one (io=owner), still goes to the
     * operator: its owner thread must run it for the flights to finish. */
    c->fn = (aw_function){ .ctx = c, .open = cache_open, .invoke = cache_invoke,
                           .timeout = cache_timeout, .close = cache_close,
                           .loop = c->inner->loop };
    a->fn = &c->fn;
}

void aw__cache_free(struct aw__cache *c)
{
    if (!c) return;
    while (c->lru_head) drop_entry(c, c->lru_head);
    while (c->flights) {                     /* an adapter without close */
        node *n = c->flights;
        list_del(&c->flights, NULL, n);
        for (waiter *w = n->waiters, *next; w; w = next) { next = w->next; free(w); }
        aw__future_detached_free(n->fut);
        node_free(n);
    }
    free(c->tab);
    aw_params_free(c->params);
    aw_row_free(c->row);
    free(c->kbuf);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
