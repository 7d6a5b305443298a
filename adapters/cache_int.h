/* Private to the lookup cache (cache.c, cache_life.c): its insides.
 *
 * The adapter underneath never sees a record. It runs our lookup on a
 * "flight": bind copies the key's parameters, row copies each row's values
 * into the flight, and it settles a detached future (lib/detached.h) whose
 * done callback serves every record that waits for that key -- running the
 * user's row on the stored values with each record's own input -- and then
 * keeps the rows as the key's cache entry. A hit replays an entry the same
 * way inside invoke, on the owner thread.
 *
 * One mutex guards the table, the LRU list, the flights and their waiter
 * lists; no user callback runs under it. An entry being replayed is pinned
 * (refs); one evicted meanwhile is freed by the last reader. A record whose
 * timeout fires while it waits is taken off its flight's list and fails; if
 * its flight is serving it right now, the timeout waits for that round (its
 * input is in use). Without cache= (0) the adapter's function is not
 * wrapped: bind and row only count queries and mark the thread. */
#ifndef AW_CACHE_INT_H
#define AW_CACHE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include "adapter_int.h"
#include "detached.h"

enum { FLIGHT, READY };

typedef struct waiter { struct waiter *next; aw_future *f; void *input; } waiter;

typedef struct node {
    struct node *hnext;          /* hash chain */
    struct node *prev, *next;    /* READY: LRU list (head = newest); FLIGHT: flights */
    struct aw__cache *c;
    uint64_t hash;
    int state, refs;
    bool dead;                   /* out of the table; the last reader frees it */
    int64_t expires;
    int ncols;
    size_t nrows, nvals, vcap, alen, acap;
    aw_value *vals;              /* nrows x ncols; text: .i is an offset in arena */
    char *arena;
    waiter *waiters;             /* FLIGHT: records waiting for its answer */
    aw_future *fut;
    size_t klen;
    unsigned char key[];
} node;

struct aw__cache {
    aw_lookup user, wrapped;
    aw_adapter *a;
    const aw_function *inner;
    aw_function fn;
    size_t max;                  /* 0: counting only */
    int64_t ttl_ms;
    bool missing;
    int64_t (*now_ms)(void *ctx);
    void *clock_ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;           /* a flight finished a serving round */
    node **tab;
    size_t mask;
    node *lru_head, *lru_tail, *flights;
    struct batch *batches;       /* serving rounds under way (flight_done) */
    size_t entries;
    /* owner thread only (invoke) */
    aw_params *params;
    aw_row *row;
    unsigned char *kbuf;
    size_t kcap;
    _Atomic uint64_t queries, hits, misses, coalesced, evictions, expired;
};

/* A serving round: the waiters a flight_done is answering right now,
 * visible to cache_timeout (their inputs are in use). */
typedef struct batch { struct batch *next; waiter *w; } batch;

/* The cache whose user callback runs on this thread, if any (cache.c). */
extern _Thread_local const struct aw__cache *aw__cache_tl;

/* cache_life.c: the lookup a cache= adapter runs on a flight (a node):
 * bind sends the flight's key, row copies each row into it. */
int aw__cache_flight_bind(void *ctx, void *input, aw_params *p);
int aw__cache_flight_row(void *ctx, void *input, const aw_row *r, void **result);

#endif
