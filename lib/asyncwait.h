/*
 * asyncwait.h -- Flink's Async I/O operator for C.
 *
 * THREADING (the mailbox model)
 *   One thread owns an operator and makes every aw_op_* call on it. The
 *   operator never starts a thread. fn.invoke, fn.timeout, the retry
 *   predicates and every sink callback run on the owner thread, inside
 *   aw_op_push / aw_op_try_push / aw_op_watermark / aw_op_poll /
 *   aw_op_drain (fn.close and sink.discard/release also inside aw_op_free).
 *   aw_future_complete() and aw_future_fail() are thread-safe: any thread may
 *   call them, including the owner from inside fn.invoke. A completion made
 *   on the owner thread inside an aw_op_* call takes no lock; one made on
 *   another thread costs one lock-free push and at most one eventfd write.
 *   Callbacks must not call aw_op_push/try_push/watermark/poll/drain/free on
 *   the operator that is calling them (those calls return AW_EINVAL).
 *
 * AN ADAPTER'S LOOP (aw_function.loop, lib/loop.h)
 *   A native adapter may hand the operator its aw_loop: the owner thread
 *   then runs that loop wherever it would wait (aw_op_push while full,
 *   aw_op_watermark, aw_op_poll, aw_op_drain) -- one epoll_wait for the
 *   adapter's sockets and timers, cross-thread completions (the operator's
 *   eventfd is one of the loop's watchers) and the operator's own timers --
 *   and aw_op_poll(op, 0) and a full aw_op_try_push run it once without
 *   waiting. The adapter's watcher and timer callbacks therefore run on the
 *   owner thread, inside those calls, and complete futures without a lock;
 *   like fn.invoke they must not call aw_op_* on this operator. The owner
 *   does not spin (spin_us) while a loop is attached: its completions come
 *   from sockets only a system call can see.
 *
 * OWNERSHIP
 *   Every input accepted by a push comes back exactly once: through
 *   sink.emit, sink.error or sink.discard. Result pointers passed to a
 *   completion that returns 0 belong to the operator until they reach
 *   sink.emit (which takes them); a result the operator drops instead (its
 *   attempt is retried, or the operator is freed first) goes to
 *   sink.release. When a completion returns non-zero, its results stay with
 *   the caller.
 *
 * ERRORS
 *   Functions return 0 (or a count) on success and a negative AW_E* code on
 *   failure; aw_strerror() names a code, aw_op_errmsg() says what happened.
 */
#ifndef ASYNCWAIT_H
#define ASYNCWAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AW_VERSION_MAJOR 0
#define AW_VERSION_MINOR 1
#define AW_VERSION_PATCH 0
#define AW_VERSION_STRING "0.1.0"

/* Error codes: XX(name, value, sentence). One table, read by aw_strerror. */
#define AW_ERRNO_MAP(XX)                                                    \
    XX(EINVAL,    -1, "invalid argument")                                   \
    XX(ENOMEM,    -2, "out of memory")                                      \
    XX(EAGAIN,    -3, "operator is full, try again")                        \
    XX(ETIMEDOUT, -4, "timed out")                                          \
    XX(ECLOSED,   -5, "closed")                                             \
    XX(EFAILED,   -6, "operator failed earlier (see aw_op_errmsg)")         \
    XX(EALREADY,  -7, "future already completed")                           \
    XX(ECONN,     -8, "connection to the store failed or was lost")         \
    XX(EQUERY,    -9, "query failed")                                       \
    XX(ECONFIG,  -10, "bad configuration")                                  \
    XX(ECORRUPT, -11, "checkpoint is truncated, corrupted or not a checkpoint") \
    XX(EIO,      -12, "input/output error")

enum {
#define AW__ERR(name, val, s) AW_##name = (val),
    AW_ERRNO_MAP(AW__ERR)
#undef AW__ERR
};

/* Returns a sentence for an error code; never NULL, distinct per code.
 * 0 gives "success"; an unknown code gives "unknown error". Static storage. */
const char *aw_strerror(int err);

/* Returns the code's name ("AW_EINVAL"), or "AW_UNKNOWN". Static storage. */
const char *aw_err_name(int err);

typedef enum {
    AW_ORDERED,              /* output order = input order, watermarks in place */
    AW_UNORDERED,            /* a record leaves as soon as it completes */
    AW_UNORDERED_EVENT_TIME, /* unordered between watermarks */
    AW_KEY_ORDERED           /* per key: records with equal keys (cfg.key_of) leave
                              * in push order, a record never waits for one of
                              * another key; watermarks as in event time */
} aw_mode;

/* ---------------------------------------------------------------- futures */

/* The handle an invocation completes. Each invoke (each retry attempt too)
 * gets a fresh future, owned by the operator. Its memory stays valid until
 * its record leaves the operator (emitted, reported as an error, discarded)
 * or is retried; a timed-out record's future stays valid until its first
 * late completion. After fn.close returns no thread may touch a future. */
typedef struct aw_future aw_future;

/* Completes f with n results (n may be 0: "no result"). The array is copied;
 * the pointers pass to the operator (see OWNERSHIP). Any thread.
 * Returns 0 when this completion counts; AW_EALREADY if f was already
 * completed or failed; AW_ETIMEDOUT if its record already timed out;
 * AW_EINVAL for f == NULL or results == NULL with n > 0; AW_ENOMEM if n
 * results could not be copied. On a non-zero return nothing changed and the
 * caller keeps its results. */
int aw_future_complete(aw_future *f, void *const *results, size_t n);

/* Fails f with err (< 0, e.g. AW_ECONN) and an optional message (copied,
 * may be NULL). Any thread. Same returns as aw_future_complete; AW_EINVAL
 * also for err >= 0. */
int aw_future_fail(aw_future *f, int err, const char *msg);

/* ----------------------------------------------------- user's async code */

/* An event loop (lib/loop.h) a native adapter drives its sockets with. */
typedef struct aw_loop aw_loop;

typedef struct aw_function {
    void *ctx;
    /* Optional. Called once by aw_op_new; < 0 fails aw_op_new with that code
     * (and close is then not called). */
    int (*open)(void *ctx);
    /* Required. Starts the lookup of input and later completes f, from any
     * thread. Must not block. The input stays owned by the operator. */
    void (*invoke)(void *ctx, void *input, aw_future *f);
    /* Optional. Called when input's record times out with its current
     * future; may complete f with a fallback. If unset, or f is not
     * completed when it returns, the record fails with AW_ETIMEDOUT. */
    void (*timeout)(void *ctx, void *input, aw_future *f);
    /* Optional. Called by aw_op_free first: it must stop the adapter and
     * wait for completion calls in progress (aw_future_complete touches the
     * operator until it returns). When it returns, no thread may touch a
     * future of this operator. An adapter that completes from other
     * threads therefore needs close (join or quiesce those threads). */
    void (*close)(void *ctx);
    /* Optional (NULL = none). The adapter's event loop, for the operator's
     * owner thread to run (see AN ADAPTER'S LOOP above). Not owned: the
     * adapter frees it, after aw_op_free. aw_op_new attaches the operator
     * to it (registers its eventfd there) and refuses, with AW_EINVAL, a
     * loop another operator is attached to; aw_op_free detaches after
     * fn.close. Nobody else may run the loop while it is attached. */
    aw_loop *loop;
} aw_function;

/* Where output goes. All callbacks run on the owner thread. */
typedef struct aw_sink {
    void *ctx;
    /* Required. A completed record: its input, its n results (the sink now
     * owns the result pointers; the array itself is only lent) and ts. */
    void (*emit)(void *ctx, void *input, void *const *results, size_t n, int64_t ts);
    /* Optional. A watermark, in its output position. */
    void (*watermark)(void *ctx, int64_t ts);
    /* Optional. A failed record (err < 0, msg never NULL), in its output
     * position. Without it, the first failure fails the operator. */
    void (*error)(void *ctx, void *input, int err, const char *msg);
    /* Optional. An input that never left through emit/error: the operator
     * was freed first. */
    void (*discard)(void *ctx, void *input);
    /* Optional. A result the operator will not emit (retried or freed). */
    void (*release)(void *ctx, void *result);
} aw_sink;

/* Retry policy (Flink FLIP-232). All zero = no retry. */
typedef struct aw_retry {
    int     max_attempts;   /* retries after the first attempt; 0 = no retry */
    int64_t delay_ms;       /* first delay */
    double  multiplier;     /* 1.0 (or 0) = fixed delay; > 1 = exponential backoff */
    int64_t max_delay_ms;   /* cap on the delay; 0 = no cap */
    /* Retry after a successful attempt when this returns true. NULL: never.
     * If no retry can start, the last results are emitted as they are. */
    bool (*if_result)(void *ctx, void *input, void *const *results, size_t n);
    /* Retry after a failed attempt when this returns true. NULL: never.
     * If no retry can start, the record fails with its last error. */
    bool (*if_error)(void *ctx, void *input, int err);
    void *ctx;
} aw_retry;

/* A millisecond clock. It must never go backwards. All zero = the
 * monotonic clock; tests inject a fake one. */
typedef struct aw_clock {
    void *ctx;
    int64_t (*now_ms)(void *ctx);
} aw_clock;

/* Caller-filled; zero means default where a default exists. */
typedef struct aw_config {
    aw_mode  mode;
    size_t   capacity;    /* > 0; records and watermarks held at once */
    int64_t  timeout_ms;  /* 0 = none; covers all retry attempts of a record */
    aw_retry retry;       /* all zero = no retry */
    aw_clock clock;       /* all zero = monotonic clock */
    /* How long the owner busy-waits for a completion before it sleeps on the
     * eventfd: 0 = the default, 20 us; -1 = never; at most 1000. Spinning
     * saves a sleep and a wake-up when completions come microseconds apart
     * (a fast or in-process store); against a store across a network it
     * may only burn CPU: -1 cut CPU per record by up to ~40 % in make
     * demo-mysql, but cost some in other runs (docs/mysql.md). Measure. */
    int      spin_us;
    /* AW_KEY_ORDERED only (AW_EINVAL when set in another mode). key_of is
     * required there: the key of input, called once per record on the owner
     * thread inside aw_op_push (it must not call the operator). Records with
     * equal keys leave in push order; records of different keys never wait
     * for each other, except across a watermark (no record crosses one).
     * Two inputs whose keys are equal are ordered together: hash your key
     * into 64 bits and a collision costs only overtaking, never order. */
    uint64_t (*key_of)(void *ctx, const void *input);
    void    *key_ctx;
    /* AW_KEY_ORDERED: 0 = no limit; k >= 1 = at most k records of one key
     * invoked and not yet left at once (1: a record is invoked only after
     * the one before it of its key left). Records held back still count
     * against capacity, still time out from their push (fn.timeout then
     * gets a fresh future, as between retry attempts) and are visited by
     * aw_op_snapshot in push order. */
    size_t   per_key_limit;
} aw_config;

/* --------------------------------------------------------------- operator */

typedef struct aw_op aw_op;

/* Creates an operator, attaches it to fn->loop if set, and calls fn->open.
 * cfg, fn and sink are copied (the ctx pointers they hold and fn->loop are
 * not owned). On success *out is the operator, to be freed with
 * aw_op_free. On failure *out is NULL and the return is AW_EINVAL (a bad
 * argument, or fn->loop attached to another operator), AW_ENOMEM, AW_EIO
 * (the eventfd could not join fn->loop), or the code fn->open returned. */
int aw_op_new(aw_op **out, const aw_config *cfg, const aw_function *fn,
              const aw_sink *sink);

/* aw_op_new that also writes, on failure, a sentence saying what was wrong
 * into err (errlen bytes, NUL-terminated; err may be NULL). */
int aw_op_create(aw_op **out, const aw_config *cfg, const aw_function *fn,
                 const aw_sink *sink, char *err, size_t errlen);

/* Accepts input (owned by the operator from now on, see OWNERSHIP) with
 * event timestamp ts and invokes fn.invoke on it (in AW_KEY_ORDERED with a
 * per_key_limit, possibly later: when an earlier record of its key left). While the operator is
 * full it blocks, processing completions and timers (and emitting) on the
 * calling thread. Returns 0 when input was accepted -- even if the operator
 * failed during this call (the next call reports it) -- or, with input not
 * accepted and still the caller's: AW_EFAILED, AW_EINVAL (op NULL or a
 * call from inside a callback), AW_ENOMEM (no memory for more slots: they
 * are allocated in chunks as records need them, up to capacity; or, in
 * AW_KEY_ORDERED, for a new key's entry). */
int aw_op_push(aw_op *op, void *input, int64_t ts);

/* Like aw_op_push but never waits: returns AW_EAGAIN while full (after
 * processing whatever completions are ready -- with fn.loop, after running
 * the loop once without waiting); the caller keeps input. */
int aw_op_try_push(aw_op *op, void *input, int64_t ts);

/* Adds a watermark; blocks while full, like aw_op_push. In AW_ORDERED it
 * keeps its position; in AW_UNORDERED_EVENT_TIME and AW_KEY_ORDERED it
 * closes a segment: no
 * earlier record leaves after it and no later record before it. Returns 0,
 * AW_EFAILED, or AW_EINVAL (also in AW_UNORDERED mode, which has no
 * watermarks). */
int aw_op_watermark(aw_op *op, int64_t ts);

/* Processes ready completions and due timers, emitting what can leave
 * (with fn.loop: first runs the loop once without waiting, so the
 * adapter's ready sockets and due timers are handled too). If nothing was
 * emitted, waits up to timeout_ms (0 = do not wait, -1 = no limit) for
 * something to emit. Returns at once with 0 when nothing is in
 * flight. Returns the number of records (emitted or reported as errors)
 * and watermarks that left, or AW_EFAILED / AW_EINVAL. */
int aw_op_poll(aw_op *op, int timeout_ms);

/* End of input: waits until every record and watermark has left. Returns 0,
 * or AW_EFAILED (at once, if the operator failed) or AW_EINVAL. With an
 * injected clock that does not advance, pending timers never fire and this
 * waits for completions only. */
int aw_op_drain(aw_op *op);

/* Records and watermarks not yet emitted (the count capacity bounds).
 * 0 for NULL. Owner thread. */
size_t aw_op_in_flight(const aw_op *op);

/* A file descriptor that is readable while there is work for aw_op_poll:
 * the operator's eventfd, or, with fn.loop, that loop's epoll fd (readable
 * when the eventfd or one of the adapter's sockets is ready). Spurious
 * readiness is possible. For programs with their own epoll/libuv loop:
 * watch it for reading, call aw_op_poll(op, 0) when it fires, and also
 * after aw_op_next_timer_ms. Owned by the operator (or the adapter); do
 * not close or read it. -1 for NULL. */
int aw_op_fd(aw_op *op);

/* Milliseconds (by the operator's clock) until the next timeout or retry is
 * due -- or, with fn.loop, one of the loop's timers (by the monotonic
 * clock), whichever comes first: 0 if one is due now, -1 if none is
 * pending or op is NULL. */
int64_t aw_op_next_timer_ms(aw_op *op);

/* Visits every record and watermark not yet emitted, in queue (= push)
 * order -- what a checkpoint must persist to push again after a restart.
 * The pointers are lent for the call. A non-zero return from visit stops
 * the walk and is returned. Returns 0, AW_EINVAL, or visit's value. Owner
 * thread; completions are not processed by this call. */
int aw_op_snapshot(aw_op *op,
                   int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                   void *ctx);

/* The last error's sentence, naming the record or argument; "" when none.
 * Valid until the next call on op. Never NULL. */
const char *aw_op_errmsg(const aw_op *op);

/* Operator counters. Latency is measured from push to the record leaving
 * (emit or error), on the monotonic clock whatever cfg.clock says, for
 * each of the first 1024 records, then for one record in four (#1025,
 * #1029, ...): reading the clock twice for every record would cost a third
 * of the operator's own time. latency_n says how many were measured; a
 * percentile is the top of its histogram bucket (within ~12 %), so never
 * below the true value among the records measured. */
typedef struct aw_stats {
    uint64_t pushed;      /* records accepted */
    uint64_t emitted;     /* records that left through emit */
    uint64_t failed;      /* records that left through error (incl. timed out) */
    /* Records whose timeout decided their outcome: they failed with
     * AW_ETIMEDOUT, or fn.timeout settled them. Not a record whose
     * completion arrived first (it counts as emitted or failed as usual). */
    uint64_t timed_out;
    uint64_t retried;     /* retry attempts started */
    uint64_t late;        /* completions that arrived after a timeout */
    uint64_t watermarks;  /* watermarks emitted */
    size_t   in_flight;   /* as aw_op_in_flight */
    double   p50_us, p99_us, p999_us, max_us; /* latency; 0 before any */
    uint64_t latency_n;   /* records whose latency was measured */
} aw_stats;

/* Fills *out. Returns 0 or AW_EINVAL. Owner thread. */
int aw_op_stats(const aw_op *op, aw_stats *out);

/* Calls fn.close, detaches from fn.loop, then gives back every input not
 * yet emitted through sink.discard (and results of completed ones through
 * sink.release), in queue order, and frees the operator. Accepts NULL. Must not be called
 * from inside one of op's callbacks (it then does nothing). */
void aw_op_free(aw_op *op);

#ifdef __cplusplus
}
#endif
#endif /* ASYNCWAIT_H */
