/* Helpers of the checkpoint suites; see ckpt_test.h. */
#include <stdlib.h>
#include "ckpt_test.h"

_Atomic long ck_live_items;

ck_item *ck_item_new(int64_t id, size_t len)
{
    ck_item *it = malloc(sizeof *it + len);
    if (!it) return NULL;
    it->id = id;
    it->len = len;
    for (size_t i = 0; i < len; i++) it->data[i] = (unsigned char)(id * 31 + (int64_t)i);
    atomic_fetch_add(&ck_live_items, 1);
    return it;
}

void ck_item_free(ck_item *it)
{
    if (it) atomic_fetch_sub(&ck_live_items, 1);
    free(it);
}

int ck_item_ok(const ck_item *it)
{
    for (size_t i = 0; i < it->len; i++)
        if (it->data[i] != (unsigned char)(it->id * 31 + (int64_t)i)) return 0;
    return 1;
}

static int item_encode(void *ctx, const void *input, unsigned char *buf, size_t cap, size_t *len)
{
    ck_codec_ctx *c = ctx;
    const ck_item *it = input;
    if (c && c->fail_encode_at == it->id) return -42;
    *len = 8 + it->len;
    if (*len > cap) return 0;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)it->id >> (8 * i));
    memcpy(buf + 8, it->data, it->len);
    return 0;
}

static int item_decode(void *ctx, const unsigned char *buf, size_t len, void **input)
{
    ck_codec_ctx *c = ctx;
    if (c && ++c->decodes == c->fail_decode_at) return -43;
    if (len < 8) return AW_ECORRUPT;
    uint64_t id = 0;
    for (int i = 0; i < 8; i++) id |= (uint64_t)buf[i] << (8 * i);
    ck_item *it = ck_item_new((int64_t)id, len - 8);
    if (!it) return AW_ENOMEM;
    memcpy(it->data, buf + 8, len - 8);
    *input = it;
    return 0;
}

static void item_codec_free(void *ctx, void *input)
{
    ck_codec_ctx *c = ctx;
    if (c) c->frees++;
    ck_item_free(input);
}

aw_codec ck_item_codec(ck_codec_ctx *c)
{
    return (aw_codec){ .ctx = c, .encode = item_encode, .decode = item_decode,
                       .free = item_codec_free };
}

static void ev_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    ck_log *l = ctx;
    ck_item *it = input;
    if (l->n < 128) {
        l->kind[l->n] = 'e';
        l->id[l->n] = it->id;
        l->ts[l->n] = ts;
        l->result[l->n++] = n == 1 ? (int64_t)(intptr_t)res[0] : -1;
    }
    if (!ck_item_ok(it)) l->bad++;
    ck_item_free(it);
}

static void ev_wm(void *ctx, int64_t ts)
{
    ck_log *l = ctx;
    if (l->n < 128) { l->kind[l->n] = 'w'; l->ts[l->n++] = ts; }
}

static void ev_discard(void *ctx, void *input) { (void)ctx; ck_item_free(input); }

static void held_invoke(void *ctx, void *input, aw_future *f)
{
    ck_held *h = ctx;
    void *r = (void *)(intptr_t)(((ck_item *)input)->id * 100);
    if (h->inline_done) { aw_future_complete(f, &r, 1); return; }
    if (h->n < 64) { h->f[h->n] = f; h->id[h->n++] = ((ck_item *)input)->id; }
}

aw_op *ck_new_op(ck_held *h, ck_log *l, size_t capacity)
{
    aw_config cfg = { .mode = AW_ORDERED, .capacity = capacity };
    aw_function fn = { .ctx = h, .invoke = held_invoke };
    aw_sink sink = { .ctx = l, .emit = ev_emit, .watermark = ev_wm, .discard = ev_discard };
    aw_op *op = NULL;
    char err[256];
    if (aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err)) AW__FAIL("aw_op_create: %s", err);
    return op;
}

int ck_log_visit(void *ctx, void *input, int64_t ts, bool wm)
{
    ck_log *l = ctx;
    if (l->n < 128) {
        l->kind[l->n] = wm ? 'w' : 'e';
        l->id[l->n] = wm ? 0 : ((ck_item *)input)->id;
        l->ts[l->n++] = ts;
    }
    return 0;
}

void ck_push_items(aw_op *op, int n)
{
    for (int i = 1; i <= n; i++) {
        ASSERT_EQ(aw_op_push(op, ck_item_new(i, (size_t)i * 400), i * 10), 0);
        if (i % 5 == 0) ASSERT_EQ(aw_op_watermark(op, i * 10 + 5), 0);
    }
}

int ck_count_visit(void *ctx, void *input, int64_t ts, bool wm)
{
    (*(int *)ctx)++;
    if (!wm) ck_item_free(input);
    return 0;
}

unsigned char *ck_small_checkpoint(size_t *len)
{
    aw_codec codec = ck_item_codec(NULL);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 8);
    for (int i = 1; i <= 3; i++) aw_op_push(op, ck_item_new(i, (size_t)i * 3), i);
    aw_op_watermark(op, 4);
    unsigned char *buf = NULL;
    if (aw_checkpoint_encode_alloc(op, &codec, "meta", 4, &buf, len, NULL, 0))
        AW__FAIL("encode failed");
    aw_op_free(op);
    return buf;
}

