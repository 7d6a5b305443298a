/* For native adapters only: the store-neutral driver (adapters/native.c)
 * that runs N non-blocking connections on an aw_loop (lib/loop.h), so a
 * protocol writes only its state machine.
 *
 * The driver owns the loop, the connections' watchers, deadlines and
 * reconnect backoff, the records waiting for a connection (FIFO), each
 * connection's requests in flight (FIFO, up to `pipeline`), a free list of
 * requests (no malloc per record once warm), timeouts (withdraw a waiting
 * record, abandon a running one), and close. Two ways to run it:
 *
 *   owner   the operator's owner thread runs the loop (aw_function.loop):
 *           invoke starts the request at once, the protocol's callbacks
 *           complete futures on the owner thread -- no hand-off at all.
 *   thread  the driver's own I/O thread runs the loop; invoke hands the
 *           record over through a lock-free stack and at most one eventfd
 *           write; fn.timeout asks that thread (a short mutex handshake).
 *
 * A protocol supplies aw__nat_proto and calls back with aw__nat_watch,
 * aw__nat_up, aw__nat_down, aw__nat_done. Every one of these calls, and
 * every proto callback, happens on the thread that runs the loop (inside
 * aw__nat_open too, which connects everything before it returns).
 */
#ifndef AW_NATIVE_INT_H
#define AW_NATIVE_INT_H

#include <stdatomic.h>
#include "adapter_int.h"
#include "loop.h"

typedef struct aw__nat aw__nat;
typedef struct aw__nat_conn aw__nat_conn;

/* A record on its way through the driver. */
typedef struct aw__nat_req {
    struct aw__nat_req *next;
    void *input;                 /* the operator's; do not touch once abandoned */
    aw_future *f;
    int64_t deadline;            /* ms (aw_loop_now_ms) its answer is due by */
    bool abandoned;              /* its record timed out while on the wire: the
                                    protocol drops the answer WITHOUT settling f
                                    (the driver gives f its late completion) */
} aw__nat_req;

typedef struct aw__nat_proto {
    /* Start connecting c (its state is zeroed the first time, and left as
     * teardown left it after). End with aw__nat_up or aw__nat_down, now or
     * later from event. */
    void (*connect)(void *pctx, aw__nat_conn *c);
    /* Send r on c (up, with room). r is the newest of c's requests in
     * flight (aw__nat_head gives the oldest). Settle r->f and call
     * aw__nat_done once its answer is in (or at once, e.g. when bind
     * fails), or aw__nat_down if the connection broke. */
    void (*submit)(void *pctx, aw__nat_conn *c, aw__nat_req *r);
    /* c's watched fd is ready (AW_READ / AW_WRITE): while connecting, or
     * while c has requests in flight. (An up connection with nothing in
     * flight that turns readable is taken as broken by the driver.) */
    void (*event)(void *pctx, aw__nat_conn *c, unsigned events);
    /* Close c's handle. The driver has already stopped watching its fd and
     * failed its requests; the state is reused by the next connect. */
    void (*teardown)(void *pctx, aw__nat_conn *c);
} aw__nat_proto;

typedef struct aw__nat_cfg {
    const char *name;            /* "MySQL": in sentences */
    const char *prefix;          /* "mysql": starts messages */
    const char *where;           /* "127.0.0.1:3306": in messages */
    size_t conns;                /* >= 1 */
    size_t pipeline;             /* requests in flight per connection; >= 1 */
    bool own_thread;             /* io=thread; false = the owner runs the loop */
    int connect_timeout_ms;      /* connect until aw__nat_up (see aw__nat_deadline) */
    int read_timeout_ms;         /* per request, from its submit */
    size_t conn_size;            /* protocol state per connection (aw__nat_state) */
    const aw__nat_proto *proto;
    void *pctx;
    _Atomic uint64_t *lost, *reconnects;   /* counters to keep; may be NULL */
    _Atomic size_t *connected;
} aw__nat_cfg;

/* Creates the driver and connects every connection, running the loop on
 * the calling thread until all are up or the first fails. Returns 0 with
 * *out set, or the first failure's code with its sentence in err (nothing
 * kept). cfg is copied; its strings and pctx must outlive the driver. */
int aw__nat_open(aw__nat **out, const aw__nat_cfg *cfg, char *err, size_t errlen);

/* The function to hand the operator (its .loop is set in owner mode). */
const aw_function *aw__nat_function(aw__nat *n);

/* Stops the driver (fn.close): fails every waiting and running record with
 * AW_ECLOSED, closes the connections, joins the I/O thread. Later invokes
 * fail with AW_ECLOSED. Does nothing the second time, or from inside one
 * of the driver's callbacks (a lookup callback, say). */
void aw__nat_close(aw__nat *n);

/* aw__nat_close, then frees n. Returns 0, or AW_EINVAL (nothing done)
 * from inside one of the driver's callbacks. Accepts NULL. */
int aw__nat_free(aw__nat *n);

/* ------------------------------------------------ for the protocol */

void *aw__nat_state(aw__nat_conn *c);       /* conn_size bytes, aligned */
size_t aw__nat_index(const aw__nat_conn *c);
aw_loop *aw__nat_loop(aw__nat *n);
aw__nat_req *aw__nat_head(aw__nat_conn *c); /* oldest in flight, or NULL */

/* Watch fd (c's socket; a new fd replaces the old) for events (AW_READ |
 * AW_WRITE; 0 = none). A system call only when something changes.
 * Returns 0, or an AW_E* code when the loop cannot watch it: c is then
 * down already (aw__nat_down with that code -- AW_EIO, AW_ENOMEM, or
 * AW_ECONN for a socket that is gone -- and the words), so the caller
 * returns without touching c's state. */
int aw__nat_watch(aw__nat_conn *c, int fd, unsigned events);

/* While connecting: the connection must be up within ms from now (the
 * driver starts connect_timeout_ms at connect). */
void aw__nat_deadline(aw__nat_conn *c, int ms);

/* c is ready for requests. */
void aw__nat_up(aw__nat_conn *c);

/* c broke (code, msg: e.g. AW_ECONN and the server's words): its requests
 * fail with them, teardown runs, a reconnect follows after a backoff of
 * 10 ms doubling to 1 s. A failed connect counts as a failed attempt, a
 * break of an up connection as a lost one. */
void aw__nat_down(aw__nat_conn *c, int code, const char *msg);

/* The oldest request in flight on c got its answer (its future settled by
 * the protocol, unless it was abandoned). */
void aw__nat_done(aw__nat_conn *c);

#endif
