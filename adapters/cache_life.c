/* The lookup cache's side of aw_adapter_open (cache_int.h has the
 * design): reading cache=, cache_ttl_ms= and cache_missing=, the lookup the
 * adapter runs instead of the user's -- counting only without cache=, a
 * flight's capture with it -- the counters (aw_adapter_stats_get) and the
 * test clock. The table, the aw_function and freeing are cache.c's. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cache_int.h"

static int64_t mono_ms(void *ctx)
{
    (void)ctx;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---------------------------------------------------- counting only */

static int count_bind(void *ctx, void *input, aw_params *p)
{
    struct aw__cache *c = ctx;
    atomic_fetch_add_explicit(&c->queries, 1, memory_order_relaxed);
    const struct aw__cache *prev = aw__cache_tl;
    aw__cache_tl = c;
    int rc = c->user.bind(c->user.ctx, input, p);
    aw__cache_tl = prev;
    return rc;
}

static int count_row(void *ctx, void *input, const aw_row *r, void **result)
{
    struct aw__cache *c = ctx;
    const struct aw__cache *prev = aw__cache_tl;
    aw__cache_tl = c;
    int rc = c->user.row(c->user.ctx, input, r, result);
    aw__cache_tl = prev;
    return rc;
}

static void count_free(void *ctx, void *result)
{
    struct aw__cache *c = ctx;
    if (c->user.free_result) c->user.free_result(c->user.ctx, result);
}

/* -------------------------------------------------- flights: capture */

int aw__cache_flight_bind(void *ctx, void *input, aw_params *p)
{
    struct aw__cache *c = ctx;
    node *n = input;
    atomic_fetch_add_explicit(&c->queries, 1, memory_order_relaxed);
    const unsigned char *b = n->key;
    uint32_t cnt;
    memcpy(&cnt, b, 4);
    b += 4;
    for (uint32_t i = 0; i < cnt; i++) {
        int type = *b++, rc = 0;
        if (type == AW_VINT64) { int64_t x; memcpy(&x, b, 8); b += 8; rc = aw_params_int64(p, (int)i, x); }
        else if (type == AW_VDOUBLE) { double x; memcpy(&x, b, 8); b += 8; rc = aw_params_double(p, (int)i, x); }
        else if (type == AW_VTEXT) {
            uint64_t l;
            memcpy(&l, b, 8);
            rc = aw_params_text(p, (int)i, (const char *)b + 8, (size_t)l);
            b += 8 + l;
        } else {
            rc = aw_params_null(p, (int)i);
        }
        if (rc) return rc;
    }
    return 0;
}

int aw__cache_flight_row(void *ctx, void *input, const aw_row *r, void **result)
{
    (void)ctx;
    node *n = input;
    int nc = aw_row_columns(r);
    *result = NULL;
    if (n->nrows == 0) n->ncols = nc;
    if (nc != n->ncols) return AW_EQUERY;
    if (n->nvals + (size_t)nc > n->vcap) {
        size_t cap = n->vcap ? n->vcap * 2 : (size_t)(nc > 4 ? nc : 4);
        while (cap < n->nvals + (size_t)nc) cap *= 2;
        aw_value *v = realloc(n->vals, cap * sizeof *v);
        if (!v) return AW_ENOMEM;
        n->vals = v;
        n->vcap = cap;
    }
    for (int i = 0; i < nc; i++) {
        aw_value v = { .type = aw_row_type(r, i) };
        if (v.type == AW_VINT64) v.i = aw_row_int64(r, i);
        else if (v.type == AW_VDOUBLE) v.d = aw_row_double(r, i);
        else if (v.type == AW_VTEXT) {
            size_t len;
            const char *s = aw_row_text(r, i, &len);
            if (n->alen + len + 1 > n->acap) {
                size_t cap = n->acap ? n->acap * 2 : 64;
                while (cap < n->alen + len + 1) cap *= 2;
                char *a = realloc(n->arena, cap);
                if (!a) return AW_ENOMEM;
                n->arena = a;
                n->acap = cap;
            }
            memcpy(n->arena + n->alen, s, len);
            n->arena[n->alen + len] = 0;
            v.i = (int64_t)n->alen;
            v.len = len;
            n->alen += len + 1;
        }
        n->vals[n->nvals++] = v;
    }
    n->nrows++;
    return 0;
}

/* ------------------------------------------------------- life cycle */

static int flag(aw_uri *u, const char *key, bool def, bool *out, char *err, size_t errlen)
{
    const char *v = aw__uri_param(u, key);
    *out = def;
    if (!v) return 0;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes")) *out = true;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no")) *out = false;
    else return aw__errf(err, errlen, AW_ECONFIG, "%s=%s: must be 0 or 1", key, v);
    return 0;
}

int aw__cache_new(struct aw__cache **out, aw_uri *u, const aw_lookup *user, aw_lookup *wrapped,
                  char *err, size_t errlen)
{
    *out = NULL;
    size_t max = 0, ttl = 0;
    bool missing = true;
    int rc;
    if ((rc = aw__uri_size(u, "cache", 0, (size_t)1 << 32, &max, err, errlen)) ||
        (rc = aw__uri_size(u, "cache_ttl_ms", 0, (size_t)1 << 40, &ttl, err, errlen)) ||
        (rc = flag(u, "cache_missing", true, &missing, err, errlen)))
        return rc;
    if (!max && (aw__uri_param(u, "cache_ttl_ms") || aw__uri_param(u, "cache_missing")))
        return aw__errf(err, errlen, AW_ECONFIG, "cache_ttl_ms and cache_missing need "
                        "cache=N (N > 0: how many keys to keep)");
    struct aw__cache *c = calloc(1, sizeof *c);
    if (!c) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    c->user = *user;
    c->max = max;
    c->ttl_ms = (int64_t)ttl;
    c->missing = missing;
    c->now_ms = mono_ms;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->wrapped = (aw_lookup){ .ctx = c, .sql = user->sql, .bind = count_bind, .row = count_row,
                              .free_result = user->free_result ? count_free : NULL };
    if (max) {
        size_t nb = 64;
        while (nb < max + max / 2 && nb < ((size_t)1 << 22)) nb *= 2;
        c->tab = calloc(nb, sizeof *c->tab);
        c->mask = nb - 1;
        c->params = aw_params_new();
        c->wrapped = (aw_lookup){ .ctx = c, .sql = user->sql, .bind = aw__cache_flight_bind,
                                  .row = aw__cache_flight_row };
        if (!c->tab || !c->params) {
            aw__cache_free(c);
            return aw__errf(err, errlen, AW_ENOMEM, "out of memory for cache=%zu", max);
        }
    }
    *wrapped = c->wrapped;
    *out = c;
    return 0;
}

int aw_adapter_stats_get(const aw_adapter *a, aw_adapter_stats *out)
{
    if (!a || !out || !a->cache) return AW_EINVAL;
    struct aw__cache *c = a->cache;
    pthread_mutex_lock(&c->mu);
    out->cache_entries = c->entries;
    pthread_mutex_unlock(&c->mu);
    out->queries = atomic_load(&c->queries);
    out->cache_hits = atomic_load(&c->hits);
    out->cache_misses = atomic_load(&c->misses);
    out->coalesced = atomic_load(&c->coalesced);
    out->evictions = atomic_load(&c->evictions);
    out->expired = atomic_load(&c->expired);
    return 0;
}

void aw__cache_set_clock(aw_adapter *a, int64_t (*now_ms)(void *ctx), void *ctx)
{
    if (!a || !a->cache) return;
    a->cache->now_ms = now_ms ? now_ms : mono_ms;
    a->cache->clock_ctx = ctx;
}
