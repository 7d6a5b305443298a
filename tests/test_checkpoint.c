/* Checkpoints in memory (lib/checkpoint.h): CRC32C, empty and meta-only
 * checkpoints, the caller-buffer encode, and every truncation and bit flip
 * of a valid checkpoint rejected with AW_ECORRUPT and an offset, nothing
 * visited. Files, crashes and the round trip: test_checkpoint_file.c. */
#include <stdlib.h>
#include "ckpt_test.h"

static void checkpoint_crc32c(void)
{
    ASSERT_EQ(aw_crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(aw__crc32c_sw(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(aw_crc32c(0, NULL, 0), 0);
    unsigned char b[300];
    for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)(i * 7 + 3);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof b; n += 13) {
            uint32_t whole = aw__crc32c_sw(0, b + off, n);
            if (aw_crc32c(0, b + off, n) != whole ||
                aw_crc32c(aw_crc32c(0, b + off, n / 3), b + off + n / 3, n - n / 3) != whole)
                AW__FAIL("crc32c differs at offset %zu length %zu", off, n);
        }
}

static void checkpoint_empty_and_meta(void)
{
    aw_codec codec = ck_item_codec(NULL);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 4);
    unsigned char *buf = NULL;
    size_t len = 0;
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, NULL, 0, &buf, &len, NULL, 0), 0);
    ASSERT_EQ(len, 52);                                 /* header, meta CRC, trailer */
    int visits = 0;
    void *m = (void *)1;
    size_t mlen = 99;
    ASSERT_EQ(aw_checkpoint_decode(buf, len, &codec, ck_count_visit, &visits, &m, &mlen, NULL, 0), 0);
    ASSERT_EQ(visits, 0);
    ASSERT_TRUE(m == NULL);
    ASSERT_EQ(mlen, 0);
    aw_checkpoint_free(buf);

    const unsigned char meta[] = { 0, 1, 2, 0, 255, 0 };  /* binary, with NULs */
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, meta, sizeof meta, &buf, &len, NULL, 0), 0);
    ASSERT_EQ(len, 52 + sizeof meta);
    ASSERT_EQ(aw_checkpoint_decode(buf, len, &codec, ck_count_visit, &visits, &m, &mlen, NULL, 0), 0);
    ASSERT_EQ(mlen, sizeof meta);
    ASSERT_TRUE(m && memcmp(m, meta, sizeof meta) == 0 && ((unsigned char *)m)[mlen] == 0);
    aw_checkpoint_free(m);
    ASSERT_EQ(aw_checkpoint_decode(buf, len, NULL, NULL, NULL, NULL, NULL, NULL, 0), 0);
    aw_checkpoint_free(buf);
    aw_op_free(op);
}

static void checkpoint_encode_caller_buffer(void)
{
    aw_codec codec = ck_item_codec(NULL);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 64);
    ck_push_items(op, 12);                                 /* up to 4.8 KB a record */
    unsigned char *ref;
    size_t rlen, len = 0;
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, "m", 1, &ref, &rlen, NULL, 0), 0);
    char err[200] = "";
    ASSERT_EQ(aw_checkpoint_encode(op, &codec, "m", 1, NULL, 0, &len, err, sizeof err), AW_ENOMEM);
    ASSERT_EQ(len, rlen);
    ASSERT_STR_CONTAINS(err, "needs");
    unsigned char *buf = malloc(rlen + 16);
    for (size_t cap = 0; cap < rlen; cap += 997) {
        ASSERT_EQ(aw_checkpoint_encode(op, &codec, "m", 1, buf, cap, &len, NULL, 0), AW_ENOMEM);
        ASSERT_EQ(len, rlen);
    }
    memset(buf, 0xAA, rlen + 16);
    ASSERT_EQ(aw_checkpoint_encode(op, &codec, "m", 1, buf, rlen, &len, NULL, 0), 0);
    ASSERT_EQ(len, rlen);
    ASSERT_TRUE(memcmp(buf, ref, rlen) == 0);
    ASSERT_EQ(aw_checkpoint_encode(op, &codec, "m", 1, buf, rlen + 16, &len, NULL, 0), 0);
    ASSERT_EQ(len, rlen);
    free(buf);
    aw_checkpoint_free(ref);
    aw_op_free(op);
}

static void checkpoint_every_truncation(void)
{
    ck_codec_ctx cc = { 0 };
    aw_codec codec = ck_item_codec(&cc);
    size_t len;
    unsigned char *full = ck_small_checkpoint(&len);
    ASSERT_TRUE(full != NULL);
    int visits = 0, bad = 0;
    char err[256];
    for (size_t n = 0; full && n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1);    /* exact size: ASan sees overreads */
        memcpy(cut, full, n);
        err[0] = 0;
        int rc = aw_checkpoint_decode(cut, n, &codec, ck_count_visit, &visits, NULL, NULL, err, sizeof err);
        if (rc != AW_ECORRUPT || !strstr(err, "offset")) {
            if (bad++ < 5) AW__FAIL("length %zu of %zu: rc %d, \"%s\"", n, len, rc, err);
        }
        free(cut);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, full, len);
    longer[len] = 0;
    ASSERT_EQ(aw_checkpoint_decode(longer, len + 1, &codec, ck_count_visit, &visits, NULL, NULL,
                                   err, sizeof err), AW_ECORRUPT);
    ASSERT_STR_CONTAINS(err, "trailing data at offset");
    free(longer);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(visits, 0);
    ASSERT_EQ(cc.decodes, 0);
    ASSERT_EQ(aw_checkpoint_decode(full, len, &codec, ck_count_visit, &visits, NULL, NULL, NULL, 0), 0);
    ASSERT_EQ(visits, 4);
    free(full);
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

static void checkpoint_bit_flips(void)
{
    ck_codec_ctx cc = { 0 };
    aw_codec codec = ck_item_codec(&cc);
    size_t len;
    unsigned char *full = ck_small_checkpoint(&len);
    ASSERT_TRUE(full != NULL);
    unsigned char *b = malloc(len);
    int visits = 0, bad = 0;
    char err[256];
    for (size_t bit = 0; full && bit < len * 8; bit++) {       /* every single bit */
        memcpy(b, full, len);
        b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        err[0] = 0;
        int rc = aw_checkpoint_decode(b, len, &codec, ck_count_visit, &visits, NULL, NULL, err, sizeof err);
        if ((rc != AW_ECORRUPT || !strstr(err, "offset")) && bad++ < 5)
            AW__FAIL("bit %zu: rc %d \"%s\"", bit, rc, err);
    }
    for (int t = 0; full && t < 5000; t++) {                     /* 2..9 random bits */
        memcpy(b, full, len);
        int flips = 2 + (int)(next_rand() % 8);
        for (int k = 0; k < flips; k++) {
            uint64_t bit = next_rand() % (len * 8);
            b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        }
        if (memcmp(b, full, len) == 0) continue;                 /* flips cancelled out */
        int rc = aw_checkpoint_decode(b, len, &codec, ck_count_visit, &visits, NULL, NULL, err, sizeof err);
        if (rc != AW_ECORRUPT && bad++ < 5) AW__FAIL("trial %d: rc %d \"%s\"", t, rc, err);
    }
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(visits, 0);
    ASSERT_EQ(cc.decodes, 0);
    free(b);
    free(full);
}

static void checkpoint_bad_arguments(void)
{
    aw_codec codec = ck_item_codec(NULL), nodec = { 0 };
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 4);
    unsigned char *buf;
    size_t len;
    char err[200] = "";
    ASSERT_EQ(aw_checkpoint_encode_alloc(NULL, &codec, NULL, 0, &buf, &len, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "op is NULL");
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, NULL, NULL, 0, &buf, &len, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &nodec, NULL, 0, &buf, &len, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, NULL, 5, &buf, &len, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, NULL, 0, NULL, &len, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_encode(op, &codec, NULL, 0, NULL, 10, &len, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_encode(op, &codec, NULL, 0, NULL, 0, NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_decode(NULL, 3, &codec, ck_count_visit, NULL, NULL, NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_decode(NULL, 0, NULL, ck_count_visit, NULL, NULL, NULL, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_decode(NULL, 0, &nodec, ck_count_visit, NULL, NULL, NULL, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "codec->decode is NULL");
    ASSERT_EQ(aw_checkpoint_push(NULL, NULL, 0, true), AW_EINVAL);
    aw_checkpoint_free(NULL);
    aw_op_free(op);
}

CU_TestInfo aw_tests_checkpoint[] = {
    { "checkpoint_crc32c", checkpoint_crc32c },
    { "checkpoint_empty_and_meta", checkpoint_empty_and_meta },
    { "checkpoint_encode_caller_buffer", checkpoint_encode_caller_buffer },
    { "checkpoint_every_truncation", checkpoint_every_truncation },
    { "checkpoint_bit_flips", checkpoint_bit_flips },
    { "checkpoint_bad_arguments", checkpoint_bad_arguments },
    CU_TEST_INFO_NULL
};
