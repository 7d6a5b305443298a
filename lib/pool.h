/*
 * pool.h -- the thread-pool fallback: a bounded set of worker threads, each
 * holding its own blocking connection, completing the operator's futures.
 *
 * Use it for stores that only have blocking clients (SQLite, the blocking
 * MySQL API). aw_pool_function() gives the aw_function to hand to
 * aw_op_new: its invoke enqueues the record and returns at once; a worker
 * makes the blocking call and completes the future.
 *
 * THREADS
 *   aw_pool_new/create, aw_pool_function and aw_pool_free are called by the
 *   operator's owner thread; client.connect, call and disconnect run on the
 *   workers, one connection per worker, never used by two threads at once
 *   (so SQLITE_OPEN_NOMUTEX is safe). The workers block SIGPIPE: a write to
 *   a connection the server closed fails with EPIPE there instead of ending
 *   the program (hiredis writes with write(2)); other threads are untouched.
 *
 * FAILURES: nothing is dropped silently
 *   - call returns < 0 without settling f: the pool fails f with that code.
 *   - AW_ECONN (f not settled) or AW_POOL_RECONNECT (f settled by call, e.g.
 *     with the driver's message): the connection is unusable. The worker
 *     disconnects it and reconnects after 10 ms, doubling up to 1 s, until
 *     it succeeds or the pool closes (close ends the wait at once). The other
 *     workers carry on. Only the record whose call broke fails; the ones the
 *     worker had taken but not started go back to the head of the queue, in
 *     order, and queued records wait for a connected worker (or their
 *     timeout). The operator's retry policy decides about the failed ones.
 *
 * TIMEOUTS
 *   The pool's aw_function has a timeout callback. A record that times out
 *   while queued (or taken by a worker but not started) is withdrawn and
 *   fails with AW_ETIMEDOUT ("timed out while queued: all N pool workers were
 *   busy"). A record whose call is running when it times out makes the owner
 *   thread wait, inside the timeout callback, until that call returns -- the
 *   call may still read the input, which the sink may free as soon as the
 *   record leaves -- and the call's outcome then counts. A blocking client
 *   should bound its calls (e.g. a read timeout) so this wait stays short.
 *   Unless the call has let go of its input (aw_pool_input_release, below):
 *   then the record fails with AW_ETIMEDOUT at once, the owner does not
 *   wait, and whatever the call later settles f with is its late
 *   completion (dropped). A call that can stop early (SQLite's progress
 *   handler) asks aw_pool_call_abandoned() and gives up, which frees the
 *   worker for the records queued behind it.
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
    /* Blocking lookup of input; settles f (aw_future_complete or
     * aw_future_fail). Returns 0 when it settled f; AW_POOL_RECONNECT when it
     * settled f and conn is unusable; or < 0 when it did NOT settle f, which
     * the pool then fails with that code (AW_ECONN: and replaces conn).
     * Never settle f and return < 0: once settled, f may be reused for
     * another record at once, so neither call nor the pool may touch it (or
     * input) again. */
    int (*call)(void *ctx, void *conn, void *input, aw_future *f);
    /* Closes a connection connect opened. Optional. */
    void (*disconnect)(void *ctx, void *conn);
} aw_sync_client;

/* call's return: f is settled, and the connection must be replaced. */
#define AW_POOL_RECONNECT 1

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
 *           records in flight than that. The operator's capacity is the real
 *           bound: each record in flight has at most one call queued or
 *           running (one that times out in the queue is removed), so the
 *           queue never holds more than capacity - busy workers records.
 *           Size queue_capacity >= capacity to avoid any growth; the default
 *           (threads * 2) suits a capacity about twice the thread count.
 *           Calls start in invoke order; a worker takes a fair share of
 *           the queue (at most 8) per lock round trip. A queue that cannot
 *           grow fails the record with AW_ENOMEM.
 *           After close, invoke fails the future with AW_ECLOSED.
 *   timeout see TIMEOUTS above.
 *   close   stops the workers after their current call, fails every queued
 *           record with AW_ECLOSED, and joins the workers; after it no pool
 *           thread touches a future. aw_op_free calls it; calling it again
 *           (or aw_pool_free after it) is harmless.
 * One pool serves one operator; free the operator before the pool. */
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

/* True when the calling thread is one of pool's workers (inside connect,
 * call or disconnect). False for NULL. */
bool aw_pool_on_worker(const aw_pool *pool);

/* For call, around its blocking wait. aw_pool_input_release says the call
 * will not read its input until aw_pool_input_reacquire: a timeout of the
 * record in between fails it at once instead of holding the owner thread
 * until the store answers. aw_pool_input_reacquire returns true if the
 * input may be read again, false if the record timed out meanwhile: the
 * call must then not touch input (nor pass it to callbacks) and still
 * settles f -- aw_future_fail(f, AW_ETIMEDOUT, NULL) is enough; that late
 * completion is ignored. Settling f needs no reacquire. Outside a pool's
 * call both do nothing (reacquire returns true). The MySQL pool releases
 * around execute and store_result; see adapters/mysql/pool.c. */
void aw_pool_input_release(void);
bool aw_pool_input_reacquire(void);

/* For call, while it has let go of its input: true once nobody waits for
 * its outcome any more -- its record timed out (abandoned), or the pool is
 * closing -- so a call that can stop early should (SQLite: return non-zero
 * from a progress handler). Then settle f as usual: aw_pool_input_reacquire
 * tells a timed-out record (false) from a closing pool (true: fail f with
 * AW_ECLOSED). Lock-free; false outside a pool's call. Worker thread. */
bool aw_pool_call_abandoned(void);

/* Stops the workers (as close does, if not done yet), disconnects them and
 * frees the pool. Accepts NULL. Called on one of pool's own workers (from
 * inside a client callback), aw_pool_free and the function's close do
 * nothing: a worker cannot join itself. */
void aw_pool_free(aw_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
