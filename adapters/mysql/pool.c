/* strategy=pool: MySQL through the thread pool (lib/pool.h): each worker
 * owns a blocking connection and the lookup's statement, prepared once on
 * it; a call binds, executes, stores and fetches the rows (binary protocol)
 * and completes the future. It lets go of the input during the round trip,
 * so a timeout never waits for the server. A lost connection fails the
 * record with AW_ECONN and the driver's words and asks the pool for a new
 * connection (AW_POOL_RECONNECT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mysql_int.h"
#include "pool.h"

typedef struct mp_conn {
    MYSQL *m;
    my_stmt s;
} mp_conn;

typedef struct my_pool {
    my_adapter *a;
    aw_pool *pool;
    _Atomic bool opened;         /* past the first connects: later ones are reconnects */
} my_pool;

static void mp_disconnect_raw(mp_conn *k)
{
    if (k->s.st) mysql_stmt_close(k->s.st);
    my__stmt_free(&k->s);
    mysql_close(k->m);
    free(k);
}

static void mp_disconnect(void *ctx, void *conn)
{
    my_pool *p = ctx;
    if (!conn) return;
    mp_disconnect_raw(conn);
    atomic_fetch_sub(&p->a->connected, 1);
}

static int mp_connect(void *ctx, void **out, char *err, size_t errlen)
{
    my_pool *p = ctx;
    const my_cfg *c = &p->a->cfg;
    mp_conn *k = calloc(1, sizeof *k);
    if (!k || !(k->m = my__handle(c, false))) {
        free(k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    if (!mysql_real_connect(k->m, c->sock ? "localhost" : c->host, c->user, c->pass, c->db,
                            c->port, c->sock, 0)) {
        int rc = my__connect_error(c, k->m, err, errlen);
        mysql_close(k->m);
        free(k);
        return rc;
    }
    MYSQL_STMT *st = mysql_stmt_init(k->m);
    if (!st || mysql_stmt_prepare(st, c->lookup.sql, (unsigned long)strlen(c->lookup.sql))) {
        aw__errf(err, errlen, AW_EQUERY, "mysql: SQL does not prepare at %s: %s (SQL: %.300s)",
                 c->where, st ? mysql_stmt_error(st) : mysql_error(k->m), c->lookup.sql);
        if (st) mysql_stmt_close(st);
        mysql_close(k->m);
        free(k);
        return AW_EQUERY;
    }
    int rc = my__stmt_setup(&k->s, st, c, err, errlen);
    if (rc) {
        mysql_stmt_close(st);
        mysql_close(k->m);
        free(k);
        return rc;
    }
    if (aw__adapter_set_columns(&p->a->base, (int)k->s.ncols, (const char *const *)k->s.names,
                                (int)k->s.nparams)) {
        mp_disconnect_raw(k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    atomic_fetch_add(&p->a->connected, 1);
    if (atomic_load(&p->opened)) atomic_fetch_add(&p->a->reconnects, 1);
    *out = k;
    return 0;
}

static int mp_call(void *ctx, void *conn, void *input, aw_future *f)
{
    my_pool *p = ctx;
    mp_conn *k = conn;
    if (my__stmt_bind(&k->s, input, f)) return 0;       /* f failed already */
    /* The round trip needs no input: a timeout meanwhile fails the record
     * at once rather than hold the owner thread until the server answers. */
    aw_pool_input_release();
    if (mysql_stmt_execute(k->s.st) ||
        (k->s.ncols && mysql_stmt_store_result(k->s.st))) {
        atomic_fetch_add(&p->a->queries, 1);
        char msg[400];
        my__stmt_errmsg(&k->s, msg, sizeof msg);
        int code = my__classify(mysql_stmt_errno(k->s.st));
        aw_results_fail(k->s.res, k->s.lookup, f, code, msg);
        if (code != AW_ECONN) return 0;
        atomic_fetch_add(&p->a->conn_lost, 1);
        return AW_POOL_RECONNECT;          /* f settled, with the driver's words */
    }
    atomic_fetch_add(&p->a->queries, 1);
    if (!aw_pool_input_reacquire()) {      /* timed out: input may be gone */
        mysql_stmt_free_result(k->s.st);
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
        return 0;
    }
    my__stmt_finish(&k->s, input, f);
    return 0;
}

static void mp_close(void *impl)
{
    my_adapter *a = impl;
    my_pool *p = a->strategy;
    if (aw_pool_on_worker(p->pool)) return;   /* from a lookup callback: cannot join */
    aw_pool_free(p->pool);
    free(p);
    aw__adapter_free_columns(&a->base);
    my__cfg_free(&a->cfg);
    free(a);
}

int my__pool_start(my_adapter *a, char *err, size_t errlen)
{
    my_pool *p = calloc(1, sizeof *p);
    if (!p) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    p->a = a;
    aw_pool_config pc = { a->cfg.count, a->cfg.queue };
    aw_sync_client client = { p, mp_connect, mp_call, mp_disconnect };
    int rc = aw_pool_create(&p->pool, &pc, &client, err, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    atomic_store(&p->opened, true);
    a->strategy = p;
    a->base.fn = aw_pool_function(p->pool);
    a->base.close = mp_close;
    return 0;
}
