/* ckpt_bench: what a checkpoint of N in-flight records costs. Fills an
 * ordered operator with N records that never complete (plus a watermark
 * every 1000), then times, over R rounds (median and max):
 *   encode   aw_checkpoint_encode into a reused buffer (in memory)
 *   save     aw_checkpoint_save: encode, write, fsync, rename, fsync dir
 *   load     aw_checkpoint_load: read, check every CRC, decode, visit
 * for records of 24 bytes (an order: three int64) and of 256 bytes.
 *
 * Usage: ckpt_bench [--records N] [--rounds R] [--dir DIR]   (defaults
 *        10000, 21, /tmp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "asyncwait.h"
#include "checkpoint.h"
#include "common.h"

static size_t payload = 24;

static int enc(void *ctx, const void *input, unsigned char *buf, size_t cap, size_t *len)
{
    (void)ctx;
    *len = payload;
    if (cap >= payload) {
        memset(buf, 0, payload);
        memcpy(buf, &input, sizeof input);
    }
    return 0;
}

static int dec(void *ctx, const unsigned char *buf, size_t len, void **input)
{
    (void)ctx;
    if (len != payload) return AW_ECORRUPT;
    memcpy(input, buf, sizeof *input);
    return 0;
}

static int count(void *ctx, void *input, int64_t ts, bool wm)
{
    (void)input; (void)ts; (void)wm;
    ++*(long *)ctx;
    return 0;
}

static void park(void *ctx, void *input, aw_future *f) { (void)ctx; (void)input; (void)f; }
static void emit(void *ctx, void *in, void *const *r, size_t n, int64_t ts)
{
    (void)ctx; (void)in; (void)r; (void)n; (void)ts;
}

static double now_us(void) { return now_s() * 1e6; }

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("  %-7s median %8.0f us   max %8.0f us\n", what, t[n / 2], t[n - 1]);
}

int main(int argc, char **argv)
{
    long records = 10000;
    int rounds = 21;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--records")) records = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    if (records < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: ckpt_bench [--records N] [--rounds R] [--dir DIR]\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/ckpt_bench.%d.ckpt", dir, (int)getpid());
    aw_config cfg = { .mode = AW_ORDERED, .capacity = (size_t)(records + records / 1000 + 1) };
    aw_function fn = { .invoke = park };
    aw_sink sink = { .emit = emit };
    aw_op *op;
    char err[512];
    if (aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    for (long i = 1; i <= records; i++) {
        aw_op_push(op, (void *)(intptr_t)i, i);
        if (i % 1000 == 0) aw_op_watermark(op, i);
    }
    aw_codec codec = { NULL, enc, dec, NULL };
    double te[1000], ts[1000], tl[1000];
    int status = 0;
    for (int p = 0; p < 2; p++) {
        payload = p ? 256 : 24;
        size_t len = 0, cap = 0;
        unsigned char *buf = NULL;
        aw_checkpoint_encode(op, &codec, "offset", 6, NULL, 0, &len, NULL, 0);
        buf = malloc(cap = len);
        for (int r = 0; r < rounds && buf; r++) {
            double t0 = now_us();
            int rc = aw_checkpoint_encode(op, &codec, "offset", 6, buf, cap, &len, err, sizeof err);
            double t1 = now_us();
            rc = rc ? rc : aw_checkpoint_save_err(op, path, &codec, "offset", 6, err, sizeof err);
            double t2 = now_us();
            long n = 0;
            rc = rc ? rc : aw_checkpoint_load_err(path, &codec, count, &n, NULL, NULL, err, sizeof err);
            double t3 = now_us();
            if (rc || (size_t)n != aw_op_in_flight(op)) {
                fprintf(stderr, "round %d: %s (%ld visited)\n", r, rc ? err : "wrong count", n);
                status = 1;
                break;
            }
            te[r] = t1 - t0;
            ts[r] = t2 - t1;
            tl[r] = t3 - t2;
        }
        printf("%ld in-flight records of %zu bytes (+ %ld watermarks): checkpoint %zu bytes "
               "(%.1f per record)\n", records, payload, records / 1000, len,
               (double)len / (double)records);
        if (!status) {
            report("encode", te, rounds);
            report("save", ts, rounds);
            report("load", tl, rounds);
        }
        free(buf);
    }
    printf("(save includes two fsyncs on %s)\n", dir);
    unlink(path);
    aw_op_free(op);
    return status;
}
