/* The codec the fuzz target and the corpus generator share: an input is a
 * heap blob of bytes, encoded as itself. decode refuses a payload that
 * starts with "FAIL" (so the fuzzer reaches the codec-error path). */
#ifndef AW_FUZZ_BLOB_CODEC_H
#define AW_FUZZ_BLOB_CODEC_H

#include <stdlib.h>
#include <string.h>
#include "checkpoint.h"

typedef struct blob { size_t len; unsigned char b[]; } blob;

static inline blob *blob_new(const void *p, size_t len)
{
    blob *x = malloc(sizeof *x + len + 1);
    if (!x) return NULL;
    x->len = len;
    if (len) memcpy(x->b, p, len);
    return x;
}

static inline int blob_encode(void *ctx, const void *input, unsigned char *buf, size_t cap,
                              size_t *len)
{
    (void)ctx;
    const blob *x = input;
    *len = x->len;
    if (x->len <= cap && x->len) memcpy(buf, x->b, x->len);
    return 0;
}

static inline int blob_decode(void *ctx, const unsigned char *buf, size_t len, void **input)
{
    (void)ctx;
    if (len >= 4 && memcmp(buf, "FAIL", 4) == 0) return -100;
    blob *x = blob_new(buf, len);
    if (!x) return AW_ENOMEM;
    *input = x;
    return 0;
}

static inline void blob_free(void *ctx, void *input)
{
    (void)ctx;
    free(input);
}

static const aw_codec blob_codec = { NULL, blob_encode, blob_decode, blob_free };

#endif
