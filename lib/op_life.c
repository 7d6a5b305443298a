/* The operator's life cycle, aw_op_create / aw_op_new to aw_op_free:
 * argument checks with a sentence for every mistake, slots allocated in
 * chunks as records need them, and the orderly hand-back of whatever is
 * still in flight at free. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "error_int.h"
#include "loop.h"
#include "op_int.h"

#define MAX_CAPACITY ((size_t)1 << 30)

static int check_config(const aw_config *cfg, const aw_function *fn, const aw_sink *sink,
                        char *err, size_t errlen)
{
    if (!cfg) return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: cfg is NULL");
    if (!fn) return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: fn is NULL");
    if (!sink) return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: sink is NULL");
    if (!fn->invoke) return aw__errf(err, errlen, AW_EINVAL,
                                     "aw_op_new: fn->invoke is NULL (it is required)");
    if (!sink->emit) return aw__errf(err, errlen, AW_EINVAL,
                                     "aw_op_new: sink->emit is NULL (it is required)");
    if (cfg->mode != AW_ORDERED && cfg->mode != AW_UNORDERED &&
        cfg->mode != AW_UNORDERED_EVENT_TIME && cfg->mode != AW_KEY_ORDERED)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: mode %d is not an aw_mode", (int)cfg->mode);
    if (cfg->mode == AW_KEY_ORDERED && !cfg->key_of)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: AW_KEY_ORDERED needs cfg->key_of "
                        "(the key of an input) but it is NULL");
    if (cfg->mode != AW_KEY_ORDERED && (cfg->key_of || cfg->key_ctx || cfg->per_key_limit))
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: key_of, key_ctx and per_key_limit are "
                        "for AW_KEY_ORDERED only (mode is %d)", (int)cfg->mode);
    if (cfg->capacity == 0 || cfg->capacity > MAX_CAPACITY)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: capacity %zu (must be 1 to %zu)",
                        cfg->capacity, MAX_CAPACITY);
    if (cfg->spin_us < -1 || cfg->spin_us > 1000)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: spin_us %d (must be -1 = never, 0 = "
                        "default, or up to 1000)", cfg->spin_us);
    if (cfg->timeout_ms < 0)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: timeout_ms %lld < 0 (0 = none)",
                        (long long)cfg->timeout_ms);
    const aw_retry *r = &cfg->retry;
    if (r->max_attempts < 0 || r->delay_ms < 0 || r->max_delay_ms < 0)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: retry max_attempts, delay_ms and "
                        "max_delay_ms must be >= 0 (got %d, %lld, %lld)", r->max_attempts,
                        (long long)r->delay_ms, (long long)r->max_delay_ms);
    if (!(r->multiplier == 0.0 || r->multiplier >= 1.0) || isinf(r->multiplier))
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: retry multiplier %g (must be 0, 1 or > 1)",
                        r->multiplier);
    if (!cfg->clock.now_ms && cfg->clock.ctx)
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: clock.ctx is set but clock.now_ms is NULL");
    return 0;
}

/* One more chunk of slots (as many as exist, at least AW__CHUNK_MIN, at
 * most up to capacity), and room in the retry heap for all of them, so a
 * heap push never fails. Owner thread. */
int aw__slots_grow(aw_op *op)
{
    size_t cap = op->cfg.capacity;
    if (op->nslots >= cap) return AW_ENOMEM;       /* never: count < capacity */
    size_t n = op->nslots < AW__CHUNK_MIN ? AW__CHUNK_MIN : op->nslots;
    if (n > cap - op->nslots) n = cap - op->nslots;
    if (op->heap_cap < op->nslots + n) {
        aw__slot **h = realloc(op->heap, (op->nslots + n) * sizeof *h);
        if (!h) return AW_ENOMEM;
        op->heap = h;
        op->heap_cap = op->nslots + n;
    }
    aw__slot_chunk *c = calloc(1, sizeof *c + n * sizeof c->s[0]);
    if (!c) return AW_ENOMEM;
    c->n = n;
    c->next = op->slot_chunks;
    op->slot_chunks = c;
    op->nslots += n;
    for (size_t i = n; i-- > 0;) {
        c->s[i].heap = -1;
        c->s[i].next = op->free_slots;
        op->free_slots = &c->s[i];
    }
    return 0;
}

void aw__slots_free_all(aw_op *op)
{
    aw__slot_chunk *c = op->slot_chunks;
    while (c) {
        aw__slot_chunk *next = c->next;
        for (size_t i = 0; i < c->n; i++) free(c->s[i].msg);
        free(c);
        c = next;
    }
    op->slot_chunks = NULL;
    op->free_slots = NULL;
    op->nslots = 0;
}

static void destroy(aw_op *op)
{
    if (op->loop) {
        aw_watch_free(op->efd_watch);
        aw__loop_detach(op->loop, op);
    }
    aw__future_free_all(op);
    aw__slots_free_all(op);
    free(op->heap);
    aw__keyed_free(op);
    if (op->efd >= 0) close(op->efd);
    free(op);
}

/* The eventfd turned readable inside the attached loop: empty it (so a
 * write that raced rearm cannot leave it readable with nothing to do);
 * the completions themselves are in the inbox, for aw__process. */
static void efd_ready(void *ctx, unsigned events)
{
    aw_op *op = ctx;
    uint64_t v;
    ssize_t r = read(op->efd, &v, sizeof v);
    (void)r;
    (void)events;
}

/* Joins fn->loop: the eventfd becomes one of its watchers. */
static int attach(aw_op *op, aw_loop *l, char *err, size_t errlen)
{
    if (aw__loop_attach(l, op))
        return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: fn->loop is already attached to another "
                        "operator (one loop drives one operator: free that operator first)");
    op->loop = l;
    int rc = aw_watch_new(l, &op->efd_watch, op->efd, efd_ready, op);
    if (rc == 0) rc = aw_watch_set(op->efd_watch, AW_READ);
    if (rc) {
        aw_watch_free(op->efd_watch);
        op->efd_watch = NULL;
        aw__loop_detach(l, op);
        op->loop = NULL;
        return aw__errf(err, errlen, rc, "aw_op_new: cannot watch the eventfd in fn->loop (%s)",
                        aw_strerror(rc));
    }
    return 0;
}

int aw_op_create(aw_op **out, const aw_config *cfg, const aw_function *fn,
                 const aw_sink *sink, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_op_new: out is NULL");
    *out = NULL;
    int rc = check_config(cfg, fn, sink, err, errlen);
    if (rc) return rc;

    aw_op *op = calloc(1, sizeof *op);
    if (!op) return aw__errf(err, errlen, AW_ENOMEM, "aw_op_new: out of memory");
    op->cfg = *cfg;
    op->fn = *fn;
    op->sink = *sink;
    op->default_clock = cfg->clock.now_ms == NULL;
    op->spin_ns = cfg->spin_us == 0 ? SPIN_NS : cfg->spin_us < 0 ? 0 : (uint32_t)cfg->spin_us * 1000u;
    op->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (op->efd < 0) {
        int e = errno;
        destroy(op);
        return aw__errf(err, errlen, e == ENOMEM ? AW_ENOMEM : AW_EIO,
                        "aw_op_new: cannot make the operator's eventfd: %s", strerror(e));
    }
    /* The first chunk of slots and of futures; more as records need them. */
    bool ok = aw__slots_grow(op) == 0;
    aw_future *f = ok ? aw__future_get(op) : NULL;
    if (f) aw__future_put(op, f); else ok = false;
    if (!ok) {
        destroy(op);
        return aw__errf(err, errlen, AW_ENOMEM, "aw_op_new: cannot allocate the first slots");
    }
    if (fn->loop && (rc = attach(op, fn->loop, err, errlen)) != 0) {
        destroy(op);
        return rc;
    }
    aw__now(op);
    if (fn->open && (rc = fn->open(fn->ctx)) != 0) {
        destroy(op);
        if (rc > 0) rc = AW_EINVAL;
        return aw__errf(err, errlen, rc, "aw_op_new: fn->open failed with %s", aw_err_name(rc));
    }
    *out = op;
    return 0;
}

int aw_op_new(aw_op **out, const aw_config *cfg, const aw_function *fn, const aw_sink *sink)
{
    return aw_op_create(out, cfg, fn, sink, NULL, 0);
}

void aw_op_free(aw_op *op)
{
    if (!op) return;
    if (op->depth > 0 || op->in_free) {
        aw__set_err(op, "aw_op_free called from inside a callback of the same operator (ignored)");
        return;
    }
    aw_op *prev = aw__owner;
    aw__owner = op;
    op->in_free = true;
    if (op->fn.close) {
        op->depth++;
        op->fn.close(op->fn.ctx);
        op->depth--;
    }
    aw__process(op);   /* in_free: completions only mark their slots done */
    op->depth++;
    for (aw__slot *s = op->head; s; s = s->next) {
        if (s->kind != K_REC) continue;
        aw_future *f = s->fut;
        if (f && s->state == S_DONE && f->err == 0 && op->sink.release)
            for (size_t i = 0; i < f->n; i++) op->sink.release(op->sink.ctx, f->res[i]);
        if (op->sink.discard) op->sink.discard(op->sink.ctx, s->input);
    }
    aw__owner = prev;
    destroy(op);
}
