/*
 * detached.h -- private to asyncwait's adapters: a future that belongs to
 * no operator. An adapter that runs one store lookup on behalf of several
 * records (adapters/cache.c: single-flight) hands one to the adapter it
 * wraps; whoever settles it (aw_future_complete / aw_future_fail, any
 * thread, exactly once -- later calls return AW_EALREADY) calls done on
 * that thread with the results (lent for the call) or the error. done may
 * free the future (aw__future_detached_free): nothing touches it after.
 */
#ifndef AW_DETACHED_H
#define AW_DETACHED_H

#include "asyncwait.h"

typedef void (*aw__detached_done)(void *ctx, int err, void *const *results, size_t n,
                                  const char *msg);

/* A pending detached future, or NULL if out of memory. */
aw_future *aw__future_detached_new(aw__detached_done done, void *ctx);
/* Frees it. Accepts NULL. Settled or not, no thread may hold it. */
void aw__future_detached_free(aw_future *f);

#endif
