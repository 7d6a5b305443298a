/* Helpers of the checkpoint suites (test_checkpoint.c, test_checkpoint_file.c):
 * heap inputs with a checkable payload and their codec, an ordered operator
 * whose adapter parks futures (or completes inline), a sink that logs. */
#ifndef AW_CKPT_TEST_H
#define AW_CKPT_TEST_H

#include "aw_test.h"
#include "checkpoint.h"

/* An input with a payload whose bytes are a function of id. */
typedef struct ck_item { int64_t id; size_t len; unsigned char data[]; } ck_item;

extern _Atomic long ck_live_items;       /* allocated minus freed */
ck_item *ck_item_new(int64_t id, size_t len);
void ck_item_free(ck_item *it);          /* accepts NULL */
int ck_item_ok(const ck_item *it);       /* payload intact */

typedef struct ck_codec_ctx {
    int fail_encode_at;       /* id whose encode fails (0: none) */
    int fail_decode_at;       /* n-th decode (1-based) that fails (0: none) */
    int decodes, frees;
} ck_codec_ctx;

/* The item codec; c may be NULL (never fails, counts nothing). */
aw_codec ck_item_codec(ck_codec_ctx *c);

/* What left an operator (or was visited), in order. */
typedef struct ck_log {
    char kind[128];           /* 'e' emit, 'w' watermark, 'd' discard */
    int64_t id[128], ts[128], result[128];
    int bad, n;
} ck_log;

/* An adapter that parks futures, or completes inline with id * 100. */
typedef struct ck_held { aw_future *f[64]; int64_t id[64]; int n, inline_done; } ck_held;

/* An ordered operator of this capacity on h, logging into l. */
aw_op *ck_new_op(ck_held *h, ck_log *l, size_t capacity);
/* Items 1..n (item i has i * 400 bytes), a watermark after every 5th. */
void ck_push_items(aw_op *op, int n);
/* Visits: log into a ck_log (inputs stay with the caller's op); count
 * into an int and free the item. */
int ck_log_visit(void *ctx, void *input, int64_t ts, bool wm);
int ck_count_visit(void *ctx, void *input, int64_t ts, bool wm);
/* A small valid checkpoint (3 records, 1 watermark, meta "meta"), malloc'd. */
unsigned char *ck_small_checkpoint(size_t *len);

#endif
