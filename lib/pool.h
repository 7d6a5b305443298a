/*
 * pool.h -- the thread-pool fallback: a bounded set of worker threads, each
 * holding its own blocking connection, completing the operator's futures.
 *
 * Use it for stores that only have blocking clients (SQLite, the blocking
 * MySQL API). aw_pool_function() gives the aw_function to hand to
 * aw_op_new: its invoke enqueues the record and returns at once; a worker
 * makes the blocking call and completes the future.
 */
#ifndef AW_POOL_H
#define AW_POOL_H

#include "asyncwait.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A blocking client. Every callback runs on a worker thread, each worker
 * with its own conn; ctx is shared by all workers (make it read-only or
 * lock it yourself). */
typedef struct aw_sync_client {
    void *ctx;
    /* Once per worker, on that worker's thread: open a connection into
     * *conn. Returns 0, or < 0 with a sentence in err (errlen bytes). */
    int (*connect)(void *ctx, void **conn, char *err, size_t errlen);
    /* Blocking lookup of input; completes (or fails) f. Returns 0; or < 0
     * if it did not complete f, which the pool then fails with that code;
     * AW_ECONN says the connection is unusable: the pool disconnects it
     * and reconnects with backoff. */
    int (*call)(void *ctx, void *conn, void *input, aw_future *f);
    /* Closes a connection connect opened. Optional. */
    void (*disconnect)(void *ctx, void *conn);
} aw_sync_client;

typedef struct aw_pool_config {
    size_t threads;          /* workers, > 0 */
    size_t queue_capacity;   /* initial queue size; 0 = threads * 2 */
} aw_pool_config;

typedef struct aw_pool aw_pool;

/* Starts cfg->threads workers and waits until each has connected. cfg and
 * client are copied. Returns 0 with *out set; AW_EINVAL (bad argument),
 * AW_ENOMEM, or the first connect error (the workers that did start are
 * stopped and *out is NULL). aw_pool_create also writes a sentence into
 * err on failure (err may be NULL). */
int aw_pool_new(aw_pool **out, const aw_pool_config *cfg, const aw_sync_client *client);
int aw_pool_create(aw_pool **out, const aw_pool_config *cfg, const aw_sync_client *client,
                   char *err, size_t errlen);

/* The operator-facing side. The pointer lives as long as the pool.
 *   invoke  enqueues the record and never blocks nor drops it: the queue
 *           starts at queue_capacity and grows when the operator keeps more
 *           records in flight than that (the operator's capacity is the real
 *           bound; size queue_capacity >= capacity to avoid any growth).
 *           After close, invoke fails the future with AW_ECLOSED.
 *   close   stops the workers after their current call, fails every queued
 *           record with AW_ECLOSED, and joins the workers; after it no pool
 *           thread touches a future. aw_op_free calls it; calling it again
 *           (or aw_pool_free after it) is harmless.
 * Free the operator before the pool. */
const aw_function *aw_pool_function(aw_pool *pool);

/* Pool counters, for demos and tests. */
typedef struct aw_pool_stats {
    uint64_t calls;          /* calls made */
    uint64_t failed;         /* calls that returned < 0 */
    uint64_t reconnects;     /* successful reconnects after AW_ECONN */
    size_t   connected;      /* workers holding a connection now */
    size_t   queue_peak;     /* most records queued at once */
} aw_pool_stats;

/* Any thread. Returns 0 or AW_EINVAL. */
int aw_pool_stats_get(aw_pool *pool, aw_pool_stats *out);

/* Stops the workers (as close does), disconnects them and frees the pool.
 * Accepts NULL. */
void aw_pool_free(aw_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
