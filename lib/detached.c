/* Detached futures (detached.h): settle() in future.c calls done. */
#include <stdlib.h>
#include "detached.h"
#include "op_int.h"

aw_future *aw__future_detached_new(aw__detached_done done, void *ctx)
{
    aw_future *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->res = f->inl;
    f->done = done;
    f->done_ctx = ctx;
    atomic_store_explicit(&f->state, F_PENDING, memory_order_release);
    return f;
}

void aw__future_detached_free(aw_future *f)
{
    free(f);
}
