/* The README's example: square numbers "asynchronously", in input order.
 * Build: cc -std=c11 minimal.c -lasyncwait -lpthread -lm (or via make). */
#include <stdint.h>
#include <stdio.h>
#include "asyncwait.h"

/* A real adapter would start a lookup here and complete f later, from
 * any thread; this one answers at once. */
static void square(void *ctx, void *input, aw_future *f)
{
    (void)ctx;
    intptr_t x = (intptr_t)input;
    void *result = (void *)(x * x);
    aw_future_complete(f, &result, 1);
}

static void print(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    (void)ctx; (void)ts;
    if (n == 1) printf("%ld -> %ld\n", (long)(intptr_t)input, (long)(intptr_t)results[0]);
}

int main(void)
{
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16 };
    aw_function fn = { .invoke = square };
    aw_sink sink = { .emit = print };
    aw_op *op;
    char err[256];
    int rc = aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err);
    if (rc) { fprintf(stderr, "%s\n", err); return 1; }
    for (intptr_t i = 1; i <= 5; i++)
        if ((rc = aw_op_push(op, (void *)i, 0)) != 0) break;
    if (rc == 0) rc = aw_op_drain(op);
    if (rc) fprintf(stderr, "%s: %s\n", aw_strerror(rc), aw_op_errmsg(op));
    aw_op_free(op);
    return rc ? 1 : 0;
}
