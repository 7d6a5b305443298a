/* Private to the core: the operator's and the future's insides, shared by
 * op.c (queues, emission), op_life.c (create, free), future.c (completion,
 * inbox), timer.c and keyed.c. */
#ifndef AW_OP_INT_H
#define AW_OP_INT_H

#include <stdatomic.h>
#include "asyncwait.h"

/* Results up to this count are copied into the future itself, so the common
 * case (one row per lookup) never allocates. */
#define AW__INLINE_RESULTS 2
#define AW__NO_DEADLINE INT64_MAX

/* Future states. PENDING -> COMPLETING -> DONE is a completion;
 * PENDING -> TIMEDOUT (owner) -> LATE (first late completer) is a zombie:
 * its record already left, the memory waits for the adapter. */
enum { F_FREE, F_PENDING, F_COMPLETING, F_DONE, F_TIMEDOUT, F_LATE };

/* The owner's default busy-wait before it sleeps (cfg.spin_us = 0). */
#ifndef SPIN_NS
#define SPIN_NS 20000u
#endif

typedef struct aw__slot aw__slot;
typedef struct aw__key aw__key;

struct aw_future {
    _Atomic int state;
    aw_op *op;
    aw__slot *slot;          /* NULL once a zombie */
    aw_future *next;         /* inbox / local queue / free list link */
    int err;                 /* 0: results; < 0: failure */
    size_t n;
    void **res;              /* inl, or heap when n > AW__INLINE_RESULTS */
    char *msg;               /* failure message (heap) or NULL */
    void *inl[AW__INLINE_RESULTS];
    /* A detached future (lib/detached.h) has no op: its one settling
     * calls done instead of delivering. NULL for an operator's future. */
    void (*done)(void *ctx, int err, void *const *res, size_t n, const char *msg);
    void *done_ctx;
};

enum { S_WAIT, S_RETRY, S_DONE, S_FREE, S_HELD };   /* record states; HELD: per_key_limit */
enum { K_REC, K_WM };               /* slot kinds */

struct aw__slot {
    aw__slot *prev, *next;   /* queue (= push) order; next doubles as free link */
    aw__slot *tprev, *tnext; /* timeout order; linked while WAIT or RETRY */
    void *input;
    int64_t ts;
    int64_t deadline;        /* op clock, or AW__NO_DEADLINE */
    int64_t due;             /* retry due time (op clock) */
    uint64_t push_ns;        /* monotonic, for latency stats */
    uint64_t seq;            /* push number, for messages */
    uint64_t seg;            /* event-time segment */
    aw_future *fut;          /* current attempt; holds results once DONE */
    int err;                 /* failure to report once DONE */
    char *msg;
    int attempt;             /* retries started */
    int heap;                /* index in the retry heap, -1 if absent */
    unsigned char kind, state, timed;
    unsigned char kran;      /* AW_KEY_ORDERED: was invoked (counts in key->running) */
    aw__key *key;            /* AW_KEY_ORDERED: its key's entry (keyed.c) */
    aw__slot *knext;         /* AW_KEY_ORDERED: next record of the same key */
};

/* AW_KEY_ORDERED: one entry per key with records in flight (keyed.c). */
struct aw__key {
    uint64_t key;
    aw__key *next;           /* hash chain; free list */
    aw__key *pnext;          /* list of keys whose held records may start */
    aw__slot *head, *tail;   /* the key's records in push order (knext) */
    aw__slot *held;          /* first record not yet invoked, or NULL */
    size_t count, running;   /* records; of them invoked and not yet left */
    bool pending;            /* on op->kpend */
};

/* The first AW__EXACT records have their push-to-emit latency measured,
 * then one record in AW__SAMPLE. */
#ifndef AW__SAMPLE
#define AW__SAMPLE 4
#endif
#ifndef AW__EXACT
#define AW__EXACT 1024
#endif

/* Slots and futures are allocated in chunks as the records in flight need
 * them (never more slots than capacity), and kept until aw_op_free: memory
 * follows use, and the steady state does not allocate. */
#define AW__CHUNK_MIN 64
typedef struct aw__slot_chunk {
    struct aw__slot_chunk *next;
    size_t n;
    aw__slot s[];
} aw__slot_chunk;
typedef struct aw__fut_chunk {
    struct aw__fut_chunk *next;
    size_t n;
    aw_future f[];
} aw__fut_chunk;

/* Latency histogram: 8 sub-buckets per power of two of nanoseconds. */
#define AW__HIST_BUCKETS (64 * 8)

struct aw_op {
    aw_config cfg;
    aw_function fn;
    aw_sink sink;
    bool default_clock;

    aw__slot_chunk *slot_chunks;
    aw__slot *free_slots;
    size_t nslots;               /* slots allocated, <= capacity */
    aw__slot *head, *tail;       /* queue order */
    aw__slot *thead, *ttail;     /* timeout order */
    aw__slot **heap;             /* retry min-heap on due; heap_cap >= nslots */
    size_t nheap, heap_cap;
    size_t count;                /* records + watermarks in flight */
    uint64_t seq, cur_seg, next_seg;

    aw__fut_chunk *fut_chunks;
    aw_future *free_futs;
    size_t nfuts;                /* futures allocated */
    aw_future *lhead, *ltail;    /* completions made on the owner thread */
    _Atomic(aw_future *) inbox;  /* completions from other threads (LIFO) */
    _Atomic int wake;            /* 1: the eventfd was written and not yet read */
    int efd;
    uint32_t spin_ns;            /* wait_work's busy-wait; 0 = none (cfg.spin_us) */

    int64_t now;                 /* op clock, cached per call */
    int depth;                   /* > 0 inside a user callback */
    bool failed, in_free;
    uint64_t left;               /* records + watermarks that left, ever */

    /* AW_KEY_ORDERED (keyed.c): key -> entry, chained, 2^kbits buckets */
    aw__key **kb;
    unsigned kbits;
    size_t nkeys;
    aw__key *kfree, *kpend;
    void *kchunks;

    uint64_t pushed, emitted, nfailed, timed_out, retried, late, watermarks;
    uint64_t hist[AW__HIST_BUCKETS];
    uint64_t nhist, max_ns;
    char errmsg[256];
    /* Last, so the fields above keep their cache lines. */
    aw_loop *loop;               /* fn.loop, attached; NULL = none */
    struct aw_watch *efd_watch;  /* the eventfd, as one of loop's watchers */
};

/* op.c */
void aw__process(aw_op *op);              /* handle every settled future and due timer */
/* The record's last attempt is over with err: true if it may leave (then
 * aw__ready it), false if it failed the operator. */
bool aw__settle_slot(aw_op *op, aw__slot *s, int err, char *msg);
void aw__finish(aw_op *op, aw__slot *s, int err, char *msg);   /* settle, then ready */
void aw__ready(aw_op *op, aw__slot *s);   /* s is done: emit what may leave */
void aw__set_err(aw_op *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* op_life.c */
int aw__slots_grow(aw_op *op);            /* one more chunk of slots: 0 or AW_ENOMEM */
void aw__slots_free_all(aw_op *op);

/* keyed.c (AW_KEY_ORDERED) */
int aw__keyed_reserve(aw_op *op);                 /* room for one more key: 0 or AW_ENOMEM */
bool aw__keyed_accept(aw_op *op, aw__slot *s);    /* true: invoke s now; false: held */
void aw__keyed_leave(aw_op *op, aw__slot *s);     /* s (its key's head) leaves */
void aw__keyed_unhold(aw_op *op, aw__slot *s);    /* held s is about to time out */
void aw__keyed_start(aw_op *op);                  /* invokes what keys may start now */
void aw__keyed_free(aw_op *op);
void aw__invoke_slot(aw_op *op, aw__slot *s);     /* op.c */

/* future.c */
aw_future *aw__future_get(aw_op *op);
void aw__future_put(aw_op *op, aw_future *f);
void aw__future_free_all(aw_op *op);
aw_future *aw__inbox_take(aw_op *op);     /* the whole inbox, FIFO */
extern _Thread_local aw_op *aw__owner;    /* op whose call runs on this thread */

/* timer.c */
void aw__tlist_add(aw_op *op, aw__slot *s);
void aw__tlist_del(aw_op *op, aw__slot *s);
void aw__heap_push(aw_op *op, aw__slot *s);
void aw__heap_del(aw_op *op, aw__slot *s);
aw__slot *aw__heap_top(aw_op *op);
int64_t aw__next_due(aw_op *op);          /* AW__NO_DEADLINE if none */
int64_t aw__retry_delay(const aw_retry *r, int attempt);
uint64_t aw__mono_ns(void);
int64_t aw__now(aw_op *op);               /* refreshes op->now */
bool aw__run_timers(aw_op *op);           /* fires due retries and timeouts; true if any */

/* loop.c: the operator's hold on an adapter's loop (fn.loop) */
int aw__loop_attach(aw_loop *l, void *op);      /* AW_EINVAL if another holds it */
void aw__loop_detach(aw_loop *l, void *op);
int aw__loop_run(aw_loop *l, int timeout_ms);   /* aw_loop_run for the holder */

/* stats.c */
void aw__hist_add(aw_op *op, uint64_t ns);

#endif
