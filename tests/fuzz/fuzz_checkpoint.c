/* libFuzzer target for the checkpoint decoder (make fuzz). For any input:
 *   - no crash, leak or undefined behaviour (ASan+UBSan);
 *   - the framing-only check and the full decode agree; a bad input is
 *     AW_ECORRUPT with an offset in the message, and nothing is visited;
 *   - a failed decode returns no meta and frees every decoded input;
 *   - a sound checkpoint whose first entry is a record, pushed into an
 *     ordered operator that never completes, encodes back to the very same
 *     bytes (the format is canonical), and a buffer one byte short is
 *     refused with the right size.
 * Built twice: as is, and with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
 * where the decoder ignores CRC mismatches so the fuzzer gets past them to
 * the lengths, counts, codec and visit paths; there the round trip compares
 * every byte but the CRC fields. */
#include <stdint.h>
#include <stdio.h>
#include "asyncwait.h"
#include "checkpoint.h"
#include "blob_codec.h"

typedef struct seen {
    void **in;
    int64_t *ts;
    bool *wm;
    size_t n, cap;
} seen;

static int collect(void *ctx, void *input, int64_t ts, bool wm)
{
    seen *s = ctx;
    const blob *x = input;
    if (!wm && x->len >= 4 && memcmp(x->b, "STOP", 4) == 0) return -101;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        void **in = realloc(s->in, cap * sizeof *in);
        if (in) s->in = in;
        int64_t *t = realloc(s->ts, cap * sizeof *t);
        if (t) s->ts = t;
        bool *w = realloc(s->wm, cap * sizeof *w);
        if (w) s->wm = w;
        if (!in || !t || !w) return AW_ENOMEM;
        s->cap = cap;
    }
    s->in[s->n] = input;
    s->ts[s->n] = ts;
    s->wm[s->n++] = wm;
    return 0;
}

static void park(void *ctx, void *input, aw_future *f) { (void)ctx; (void)input; (void)f; }

static void must_not_emit(void *ctx, void *input, void *const *r, size_t n, int64_t ts)
{
    (void)ctx; (void)input; (void)r; (void)n; (void)ts;
    __builtin_trap();                     /* nothing was completed */
}

static void discard(void *ctx, void *input) { (void)ctx; free(input); }

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* data == out, except that where the decoder ignores CRCs, the CRC fields
 * of data (found by walking out, which is sound) may differ. */
static int same_bytes(const uint8_t *data, const unsigned char *out, size_t size, size_t mlen)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    unsigned char *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    size_t crcs[4] = { 40, 44 + mlen, size - 4 };
    for (int i = 0; i < 3; i++) memcpy(copy + crcs[i], out + crcs[i], 4);
    for (size_t pos = 48 + mlen; pos < size - 4;) {
        size_t end = pos + 13 + le32(out + pos + 9);
        memcpy(copy + end, out + end, 4);
        pos = end + 4;
    }
    int same = memcmp(copy, out, size) == 0;
    free(copy);
    return same;
#else
    (void)mlen;
    return memcmp(data, out, size) == 0;
#endif
}

static void round_trip(const uint8_t *data, size_t size, seen *s, const void *meta, size_t mlen)
{
    aw_config cfg = { .mode = AW_ORDERED, .capacity = s->n };
    aw_function fn = { .invoke = park };
    aw_sink sink = { .emit = must_not_emit, .discard = discard };
    aw_op *op = NULL;
    if (aw_op_new(&op, &cfg, &fn, &sink)) {
        for (size_t i = 0; i < s->n; i++) if (!s->wm[i]) free(s->in[i]);
        return;
    }
    for (size_t i = 0; i < s->n; i++) {
        int rc = s->wm[i] ? aw_op_watermark(op, s->ts[i]) : aw_op_push(op, s->in[i], s->ts[i]);
        if (rc) __builtin_trap();
    }
    unsigned char *out = NULL;
    size_t len = 0;
    if (aw_checkpoint_encode_alloc(op, &blob_codec, meta, mlen, &out, &len, NULL, 0) ||
        len != size || !same_bytes(data, out, size, mlen))
        __builtin_trap();
    size_t need = 0;
    if (aw_checkpoint_encode(op, &blob_codec, meta, mlen, out, size - 1, &need, NULL, 0) !=
        AW_ENOMEM || need != size)
        __builtin_trap();
    aw_checkpoint_free(out);
    aw_op_free(op);                       /* discards the pushed inputs */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "", err2[256] = "";
    int frame = aw_checkpoint_decode(data, size, NULL, NULL, NULL, NULL, NULL, err, sizeof err);
    if (frame != 0 && (frame != AW_ECORRUPT || !strstr(err, "offset"))) __builtin_trap();
    seen s = { 0 };
    void *meta = (void *)1;
    size_t mlen = 1;
    int rc = aw_checkpoint_decode(data, size, &blob_codec, collect, &s, &meta, &mlen, err2,
                                  sizeof err2);
    if (frame && (rc != frame || s.n || strcmp(err, err2))) __builtin_trap();
    if (rc && (meta || mlen)) __builtin_trap();
    if (!frame && rc == AW_ECORRUPT) __builtin_trap();
    if (rc == 0 && s.n > 0 && !s.wm[0]) {
        round_trip(data, size, &s, meta, mlen);
    } else {
        for (size_t i = 0; i < s.n; i++) if (!s.wm[i]) free(s.in[i]);
    }
    aw_checkpoint_free(meta);
    free(s.in);
    free(s.ts);
    free(s.wm);
    return 0;
}
