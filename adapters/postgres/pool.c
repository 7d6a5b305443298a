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

typedef struct pg_pool {
    pg_adapter *a;
    aw_pool *pool;
    _Atomic bool opened;         /* past the first connects: later ones are reconnects */
} pg_pool;

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
    pg_pool *p = ctx;
    if (!conn) return;
    pp_free(conn);
    atomic_fetch_sub(&p->a->connected, 1);
}

static int pp_connect(void *ctx, void **out, char *err, size_t errlen)
{
    pg_pool *p = ctx;
    const pg_cfg *c = &p->a->cfg;
    pp_conn *k = calloc(1, sizeof *k);
    if (!k) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    k->c = pg__connect_blocking(c);
    if (!k->c || PQstatus(k->c) != CONNECTION_OK) {
        int rc = pg__connect_error(c, k->c, err, errlen);
        PQfinish(k->c);
        free(k);
        return rc;
    }
    int rc = pg__prepare(p->a, k->c, &k->s, err, errlen);
    if (rc == 0 && PQsetnonblocking(k->c, 1))
        rc = aw__errf(err, errlen, AW_ECONN, "postgres: cannot make the connection non-blocking");
    if (rc) {
        PQfinish(k->c);
        free(k);
        return rc;
    }
    atomic_fetch_add(&p->a->connected, 1);
    if (atomic_load(&p->opened)) atomic_fetch_add(&p->a->reconnects, 1);
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
static int lost(pg_pool *p, pp_conn *k, aw_future *f, const char *why)
{
    char msg[600];
    if (why) snprintf(msg, sizeof msg, "postgres: %s", why);
    else pg__errmsg(k->c, NULL, msg, sizeof msg);
    atomic_fetch_add(&p->a->conn_lost, 1);
    aw_results_fail(k->s.res, &p->a->cfg.lookup, f, AW_ECONN, msg);
    return AW_POOL_RECONNECT;
}

static int pp_call(void *ctx, void *conn, void *input, aw_future *f)
{
    pg_pool *p = ctx;
    pp_conn *k = conn;
    const pg_cfg *c = &p->a->cfg;
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
        return lost(p, k, f, NULL);
    int r;
    while ((r = PQflush(k->c)) == 1) {
        int w = wait_fd(k->c, POLLIN | POLLOUT, deadline);
        if (w <= 0) return lost(p, k, f, w ? NULL : why);
        if (!PQconsumeInput(k->c)) return lost(p, k, f, NULL);
    }
    if (r < 0) return lost(p, k, f, NULL);
    PGresult *res = NULL, *x;
    for (;;) {
        while (PQisBusy(k->c)) {
            int w = wait_fd(k->c, POLLIN, deadline);
            if (w <= 0) { PQclear(res); return lost(p, k, f, w ? NULL : why); }
            if (!PQconsumeInput(k->c)) break;   /* PQgetResult reports it */
        }
        if (!(x = PQgetResult(k->c))) break;
        if (!res) res = x;
        else PQclear(x);
        if (PQstatus(k->c) == CONNECTION_BAD) break;
    }
    atomic_fetch_add(&p->a->queries, 1);
    bool bad = PQstatus(k->c) == CONNECTION_BAD;
    if (!aw_pool_input_reacquire()) {        /* timed out: input may be gone */
        PQclear(res);
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
        if (bad) atomic_fetch_add(&p->a->conn_lost, 1);
        return bad ? AW_POOL_RECONNECT : 0;
    }
    int code = pg__stmt_finish(&k->s, k->c, res, input, f);
    PQclear(res);
    if (code != AW_ECONN && !bad) return 0;
    atomic_fetch_add(&p->a->conn_lost, 1);
    return AW_POOL_RECONNECT;               /* f settled, with libpq's words */
}

static void pp_close(void *impl)
{
    pg_adapter *a = impl;
    pg_pool *p = a->strategy;
    if (aw_pool_on_worker(p->pool)) return;   /* from a lookup callback: cannot join */
    aw_pool_free(p->pool);
    free(p);
    aw__adapter_free_columns(&a->base);
    pg__cfg_free(&a->cfg);
    free(a);
}

int pg__pool_start(pg_adapter *a, char *err, size_t errlen)
{
    pg_pool *p = calloc(1, sizeof *p);
    if (!p) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    p->a = a;
    aw_pool_config pc = { a->cfg.count, a->cfg.queue };
    aw_sync_client client = { p, pp_connect, pp_call, pp_disconnect };
    int rc = aw_pool_create(&p->pool, &pc, &client, err, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    atomic_store(&p->opened, true);
    a->strategy = p;
    a->base.fn = aw_pool_function(p->pool);
    a->base.close = pp_close;
    return 0;
}
