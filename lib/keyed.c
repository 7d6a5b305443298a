/* AW_KEY_ORDERED: per-key order. Each key with records in flight has an
 * entry (aw__key) holding its records in push order; a done record leaves
 * when it heads its key's list and belongs to the current event-time
 * segment (op.c: ready, flush). per_key_limit holds back the records past
 * the first k of a key that have not left; when one leaves, its key goes
 * on a pending list and aw__process starts the next (aw__keyed_start) --
 * never from inside an emission, so a synchronous failure cannot emit
 * while op.c walks its queue. Entries come from chunks kept until
 * aw_op_free: no allocation per record once warm. All owner thread. */
#include <stdlib.h>
#include "op_int.h"

#define CHUNK 64

typedef struct kchunk { struct kchunk *next; aw__key k[CHUNK]; } kchunk;

static size_t bucket(const aw_op *op, uint64_t key)
{
    /* Fibonacci hashing: sequential ids spread over the table. */
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - op->kbits));
}

static void rehash(aw_op *op, unsigned bits)
{
    aw__key **kb = calloc((size_t)1 << bits, sizeof *kb);
    if (!kb) return;             /* keep the old table: longer chains, still right */
    aw__key **old = op->kb;
    size_t n = op->kb ? (size_t)1 << op->kbits : 0;
    op->kb = kb;
    op->kbits = bits;
    for (size_t i = 0; i < n; i++) {
        for (aw__key *k = old[i], *next; k; k = next) {
            next = k->next;
            size_t b = bucket(op, k->key);
            k->next = kb[b];
            kb[b] = k;
        }
    }
    free(old);
}

int aw__keyed_reserve(aw_op *op)
{
    if (!op->kb) {
        rehash(op, 6);
        if (!op->kb) return AW_ENOMEM;
    } else if (op->nkeys >= ((size_t)1 << op->kbits) && op->kbits < 40) {
        rehash(op, op->kbits + 1);
    }
    if (!op->kfree) {
        kchunk *c = malloc(sizeof *c);
        if (!c) return AW_ENOMEM;
        c->next = op->kchunks;
        op->kchunks = c;
        for (int i = 0; i < CHUNK; i++) {
            c->k[i].next = op->kfree;
            op->kfree = &c->k[i];
        }
    }
    return 0;
}

static bool may_run(const aw_op *op, const aw__key *k)
{
    return op->cfg.per_key_limit == 0 || k->running < op->cfg.per_key_limit;
}

bool aw__keyed_accept(aw_op *op, aw__slot *s)
{
    op->depth++;
    uint64_t key = op->cfg.key_of(op->cfg.key_ctx, s->input);
    op->depth--;
    size_t b = bucket(op, key);
    aw__key *k = op->kb[b];
    while (k && k->key != key) k = k->next;
    if (!k) {                    /* aw__keyed_reserve made sure of one */
        k = op->kfree;
        op->kfree = k->next;
        k->key = key;
        k->next = op->kb[b];
        k->head = k->tail = k->held = NULL;
        k->count = k->running = 0;
        k->pending = false;
        op->kb[b] = k;
        op->nkeys++;
    }
    s->key = k;
    s->knext = NULL;
    if (k->tail) k->tail->knext = s; else k->head = s;
    k->tail = s;
    k->count++;
    if (!k->held && may_run(op, k)) {
        k->running++;
        s->kran = 1;
        return true;
    }
    s->kran = 0;
    s->state = S_HELD;
    if (!k->held) k->held = s;
    return false;
}

static void drop_key(aw_op *op, aw__key *k)
{
    aw__key **pp = &op->kb[bucket(op, k->key)];
    while (*pp != k) pp = &(*pp)->next;
    *pp = k->next;
    op->nkeys--;
    k->next = op->kfree;
    op->kfree = k;
}

static void next_held(aw__key *k, aw__slot *from)
{
    aw__slot *h = from;
    while (h && h->state != S_HELD) h = h->knext;
    k->held = h;
}

void aw__keyed_leave(aw_op *op, aw__slot *s)
{
    aw__key *k = s->key;
    s->key = NULL;
    if (!k) return;
    /* Records of a key leave in push order, so s is its head -- except in
     * aw_op_free, which frees everything anyway. */
    if (k->head == s) {
        k->head = s->knext;
        if (!k->head) k->tail = NULL;
    }
    k->count--;
    if (s->kran) k->running--;
    if (k->held && may_run(op, k) && !k->pending) {
        k->pending = true;
        k->pnext = op->kpend;
        op->kpend = k;
    }
    if (k->count == 0 && !k->pending) drop_key(op, k);
}

void aw__keyed_unhold(aw_op *op, aw__slot *s)
{
    (void)op;
    aw__key *k = s->key;
    if (k && k->held == s) next_held(k, s->knext);
}

void aw__keyed_start(aw_op *op)
{
    while (op->kpend && !op->failed && !op->in_free) {
        aw__key *k = op->kpend;
        op->kpend = k->pnext;
        /* k stays marked pending while its records start: a start that
         * fails at once (no future) may emit, and leave() must then
         * neither queue k again nor drop it under us. */
        while (k->held && may_run(op, k)) {
            aw__slot *s = k->held;
            next_held(k, s->knext);
            k->running++;
            s->kran = 1;
            aw__invoke_slot(op, s);
        }
        k->pending = false;
        if (k->count == 0) drop_key(op, k);
    }
}

void aw__keyed_free(aw_op *op)
{
    for (kchunk *c = op->kchunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    op->kchunks = NULL;
    free(op->kb);
    op->kb = NULL;
}
