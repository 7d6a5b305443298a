/* Writes the fuzz target's seed corpus (make fuzz-corpus): small valid
 * checkpoints made by a real operator and a few broken or foreign files.
 * Usage: gen_corpus DIR */
#include <stdio.h>
#include "asyncwait.h"
#include "checkpoint.h"
#include "blob_codec.h"

static void park(void *ctx, void *input, aw_future *f) { (void)ctx; (void)input; (void)f; }
static void emit(void *ctx, void *input, void *const *r, size_t n, int64_t ts)
{
    (void)ctx; (void)r; (void)n; (void)ts;
    free(input);
}
static void discard(void *ctx, void *input) { (void)ctx; free(input); }

static int put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
        perror(path);
        return 1;
    }
    return 0;
}

/* A checkpoint of the given records ("" = a watermark) and meta. */
static int make(const char *dir, const char *name, const char *const *recs, int n,
                const char *meta, unsigned char **keep, size_t *keep_len)
{
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 64 };
    aw_function fn = { .invoke = park };
    aw_sink sink = { .emit = emit, .discard = discard };
    aw_op *op;
    if (aw_op_new(&op, &cfg, &fn, &sink)) return 1;
    for (int i = 0; i < n; i++) {
        if (*recs[i]) aw_op_push(op, blob_new(recs[i], strlen(recs[i])), 100 + i);
        else aw_op_watermark(op, 1000 + i);
    }
    unsigned char *b;
    size_t len;
    char err[256];
    int rc = aw_checkpoint_encode_alloc(op, &blob_codec, meta, meta ? strlen(meta) : 0, &b, &len,
                                        err, sizeof err);
    aw_op_free(op);
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, err);
        return 1;
    }
    rc = put(dir, name, b, len);
    if (keep) { *keep = b; *keep_len = len; } else aw_checkpoint_free(b);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    const char *d = argv[1];
    static const char *const orders[] = { "1,17,12.50", "2,4,3.99", "", "3,17,100.00", "" };
    static const char *const odd[] = { "x", "STOP here", "FAIL to decode", "" };
    unsigned char *b = NULL;
    size_t n = 0;
    int bad = make(d, "empty.ckpt", NULL, 0, NULL, NULL, NULL);
    bad |= make(d, "meta_only.ckpt", NULL, 0, "offset=4096", NULL, NULL);
    bad |= make(d, "orders.ckpt", orders, 5, "offset=36", &b, &n);
    bad |= make(d, "stop_fail.ckpt", odd, 4, NULL, NULL, NULL);
    if (b) {
        bad |= put(d, "truncated.ckpt", b, n - 9);
        b[n / 2] ^= 0x10;
        bad |= put(d, "bitflip.ckpt", b, n);
        b[n / 2] ^= 0x10;
        b[8] = 2;                         /* newer version, header CRC left stale */
        bad |= put(d, "version2.ckpt", b, 60);
        aw_checkpoint_free(b);
    }
    bad |= put(d, "foreign.csv", "order_id,customer_id,amount\n1,17,12.50\n", 39);
    return bad;
}
