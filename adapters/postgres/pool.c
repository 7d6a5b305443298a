/* strategy=pool: PostgreSQL through the thread pool (lib/pool.h): each
 * worker owns a libpq connection with the lookup prepared once on it. A
 * call binds, sends the prepared statement (text parameters, text results),
 * waits for the answer with poll() until read_timeout_ms, and completes the
 * future. The worker blocks, as a pool worker should, but through libpq's
 * non-blocking calls, so the wait has a deadline (blocking libpq has no
 * read timeout). It lets go of the input during the round trip, so an
 * operator timeout never waits for the server. A lost connection fails the
 * record with AW_ECONN and libpq's words and asks the pool for a new
 * connection (AW_POOL_RECONNECT). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pg_int.h"
#include "pool.h"

typedef struct pp_conn {
    PGconn *c;
    pg_stmt s;
} pp_conn;

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void pp_free(pp_conn *k)
{
    pg__stmt_free(&k->s);
    PQfinish(k->c);
    free(k);
}

static void pp_disconnect(void *ctx, void *conn)
{
    if (!conn) return;
    pp_free(conn);
    aw__pool_client_down(ctx);
}

static int pp_connect(void *ctx, void **out, char *err, size_t errlen)
{
    aw__pool_client *p = ctx;
    pg_adapter *a = p->a;
    const pg_cfg *c = &a->cfg;
    pp_conn *k = calloc(1, sizeof *k);
    if (!k) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    k->c = pg__connect_blocking(c);
    if (!k->c || PQstatus(k->c) != CONNECTION_OK) {
        int rc = pg__connect_error(c, k->c, err, errlen);
        PQfinish(k->c);
        free(k);
        return rc;
    }
    int rc = pg__prepare(a, k->c, &k->s, err, errlen);
    if (rc == 0 && PQsetnonblocking(k->c, 1))
        rc = aw__errf(err, errlen, AW_ECONN, "postgres: cannot make the connection non-blocking");
    if (rc) {
        PQfinish(k->c);
        free(k);
        return rc;
    }
    aw__pool_client_up(p);
    *out = k;
    return 0;
}

/* Waits for events on the socket until deadline: 1 ready, 0 timed out,
 * -1 error. */
static int wait_fd(PGconn *c, short events, int64_t deadline)
{
    struct pollfd pfd = { .fd = PQsocket(c), .events = events };
    if (pfd.fd < 0) return -1;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) return 0;
        int r = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
    }
}

/* The connection is unusable: f fails with AW_ECONN and why. */
static int lost(pg_adapter *a, pp_conn *k, aw_future *f, const char *why)
{
    char msg[600];
    if (why) snprintf(msg, sizeof msg, "postgres: %s", why);
    else pg__errmsg(k->c, NULL, msg, sizeof msg);
    atomic_fetch_add(&a->conn_lost, 1);
    aw_results_fail(k->s.res, &a->cfg.lookup, f, AW_ECONN, msg);
    return AW_POOL_RECONNECT;
}

static int pp_call(void *ctx, void *conn, void *input, aw_future *f)
{
    pg_adapter *a = ((aw__pool_client *)ctx)->a;
    pp_conn *k = conn;
    const pg_cfg *c = &a->cfg;
    int n = pg__stmt_bind(&k->s, input, f);
    if (n < 0) return 0;                     /* f failed already */
    /* The round trip needs no input: a timeout meanwhile fails the record
     * at once rather than hold the owner thread until the server answers. */
    aw_pool_input_release();
    int64_t deadline = mono_ms() + c->read_timeout_ms;
    char why[120];
    snprintf(why, sizeof why, "no answer within %d ms (read_timeout_ms); the connection is replaced",
             c->read_timeout_ms);
    if (!PQsendQueryPrepared(k->c, PG_STMT_NAME, n, k->s.pval, k->s.plen, NULL, 0))
        return lost(a, k, f, NULL);
    int r;
    while ((r = PQflush(k->c)) == 1) {
        int w = wait_fd(k->c, POLLIN | POLLOUT, deadline);
        if (w <= 0) return lost(a, k, f, w ? NULL : why);
        if (!PQconsumeInput(k->c)) return lost(a, k, f, NULL);
    }
    if (r < 0) return lost(a, k, f, NULL);
    PGresult *res = NULL, *x;
    for (;;) {
        while (PQisBusy(k->c)) {
            int w = wait_fd(k->c, POLLIN, deadline);
            if (w <= 0) { PQclear(res); return lost(a, k, f, w ? NULL : why); }
            if (!PQconsumeInput(k->c)) break;   /* PQgetResult reports it */
        }
        if (!(x = PQgetResult(k->c))) break;
        if (!res) res = x;
        else PQclear(x);
        if (PQstatus(k->c) == CONNECTION_BAD) break;
    }
    atomic_fetch_add(&a->queries, 1);
    bool bad = PQstatus(k->c) == CONNECTION_BAD;
    if (!aw_pool_input_reacquire()) {        /* timed out: input may be gone */
        PQclear(res);
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
        if (bad) atomic_fetch_add(&a->conn_lost, 1);
        return bad ? AW_POOL_RECONNECT : 0;
    }
    int code = pg__stmt_finish(&k->s, k->c, res, input, f);
    PQclear(res);
    if (code != AW_ECONN && !bad) return 0;
    atomic_fetch_add(&a->conn_lost, 1);
    return AW_POOL_RECONNECT;               /* f settled, with libpq's words */
}

static void pp_close(void *impl)
{
    pg_adapter *a = impl;
    if (aw__pool_client_free(a->strategy)) return;   /* from a lookup callback: cannot join */
    pg__adapter_free(a);
}

int pg__pool_start(pg_adapter *a, char *err, size_t errlen)
{
    aw__pool_client_cfg pc = {
        .adapter = a, .base = &a->base, .close = pp_close, .threads = a->cfg.count,
        .queue = a->cfg.queue, .connect = pp_connect, .call = pp_call, .disconnect = pp_disconnect,
        .connected = &a->connected, .reconnects = &a->reconnects };
    return aw__pool_client_start(&pc, &a->strategy, err, errlen);
}
