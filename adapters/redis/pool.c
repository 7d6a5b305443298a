/* strategy=pool: Redis through the thread pool (lib/pool.h): each worker
 * owns a blocking redisContext (connected, AUTHed, SELECTed); a call binds,
 * sends the argv and waits for the reply, then turns it into rows. It lets
 * go of the input during the round trip, so a timeout never waits for the
 * server. A lost connection fails the record with AW_ECONN and hiredis's
 * words and asks the pool for a new connection (AW_POOL_RECONNECT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pool.h"
#include "redis_int.h"

typedef struct rp_conn {
    redisContext *k;
    rd_exec e;
} rp_conn;

static void rp_disconnect(void *ctx, void *conn)
{
    rp_conn *k = conn;
    if (!k) return;
    redisFree(k->k);
    rd__exec_free(&k->e);
    free(k);
    aw__pool_client_down(ctx);
}

static int rp_connect(void *ctx, void **out, char *err, size_t errlen)
{
    aw__pool_client *p = ctx;
    const rd_cfg *c = &((rd_adapter *)p->a)->cfg;
    rp_conn *k = calloc(1, sizeof *k);
    if (!k || rd__exec_init(&k->e, c)) {
        free(k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    int rc = rd__connect(c, &k->k, err, errlen);
    if (rc) {
        rd__exec_free(&k->e);
        free(k);
        return rc;
    }
    aw__pool_client_up(p);
    *out = k;
    return 0;
}

static int rp_call(void *ctx, void *conn, void *input, aw_future *f)
{
    rd_adapter *a = ((aw__pool_client *)ctx)->a;
    rp_conn *k = conn;
    if (!rd__exec_build(&k->e, input, f)) return 0;     /* f settled already */
    /* The round trip needs no input (the argv lives in k->e): a timeout
     * meanwhile fails the record at once. */
    aw_pool_input_release();
    redisReply *r = redisCommandArgv(k->k, a->cfg.nargs, k->e.argv, k->e.lens);
    if (!r) {
        char msg[400];
        rd__conn_errmsg(&a->cfg, k->k->errstr, msg, sizeof msg);
        atomic_fetch_add(&a->conn_lost, 1);
        aw_results_fail(k->e.res, &a->cfg.lookup, f, AW_ECONN, msg);
        return AW_POOL_RECONNECT;          /* f settled, with hiredis's words */
    }
    atomic_fetch_add(&a->commands, 1);
    if (!aw_pool_input_reacquire()) {      /* timed out: input may be gone */
        freeReplyObject(r);
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
        return 0;
    }
    rd__exec_finish(&k->e, r, input, f);
    freeReplyObject(r);
    return 0;
}

static void rp_close(void *impl)
{
    rd_adapter *a = impl;
    if (aw__pool_client_free(a->strategy)) return;   /* from a lookup callback: cannot join */
    rd__adapter_free(a);
}

int rd__pool_start(rd_adapter *a, char *err, size_t errlen)
{
    aw__pool_client_cfg pc = {
        .adapter = a, .base = &a->base, .close = rp_close, .threads = a->cfg.count,
        .queue = a->cfg.queue, .connect = rp_connect, .call = rp_call, .disconnect = rp_disconnect,
        .connected = &a->connected, .reconnects = &a->reconnects };
    return aw__pool_client_start(&pc, &a->strategy, err, errlen);
}
