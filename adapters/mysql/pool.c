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

static void mp_disconnect_raw(mp_conn *k)
{
    if (k->s.st) mysql_stmt_close(k->s.st);
    my__stmt_free(&k->s);
    mysql_close(k->m);
    free(k);
}

static void mp_disconnect(void *ctx, void *conn)
{
    if (!conn) return;
    mp_disconnect_raw(conn);
    aw__pool_client_down(ctx);
}

static int mp_connect(void *ctx, void **out, char *err, size_t errlen)
{
    aw__pool_client *p = ctx;
    my_adapter *a = p->a;
    const my_cfg *c = &a->cfg;
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
    if (aw__adapter_set_columns(&a->base, (int)k->s.ncols, (const char *const *)k->s.names,
                                (int)k->s.nparams)) {
        mp_disconnect_raw(k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    aw__pool_client_up(p);
    *out = k;
    return 0;
}

static int mp_call(void *ctx, void *conn, void *input, aw_future *f)
{
    my_adapter *a = ((aw__pool_client *)ctx)->a;
    mp_conn *k = conn;
    if (my__stmt_bind(&k->s, input, f)) return 0;       /* f failed already */
    /* The round trip needs no input: a timeout meanwhile fails the record
     * at once rather than hold the owner thread until the server answers. */
    aw_pool_input_release();
    if (mysql_stmt_execute(k->s.st) ||
        (k->s.ncols && mysql_stmt_store_result(k->s.st))) {
        atomic_fetch_add(&a->queries, 1);
        char msg[400];
        my__stmt_errmsg(&k->s, msg, sizeof msg);
        int code = my__classify(mysql_stmt_errno(k->s.st));
        aw_results_fail(k->s.res, k->s.lookup, f, code, msg);
        if (code != AW_ECONN) return 0;
        atomic_fetch_add(&a->conn_lost, 1);
        return AW_POOL_RECONNECT;          /* f settled, with the driver's words */
    }
    atomic_fetch_add(&a->queries, 1);
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
    if (aw__pool_client_free(a->strategy)) return;   /* from a lookup callback: cannot join */
    my__adapter_free(a);
}

int my__pool_start(my_adapter *a, char *err, size_t errlen)
{
    aw__pool_client_cfg pc = {
        .adapter = a, .base = &a->base, .close = mp_close, .threads = a->cfg.count,
        .queue = a->cfg.queue, .connect = mp_connect, .call = mp_call, .disconnect = mp_disconnect,
        .connected = &a->connected, .reconnects = &a->reconnects };
    return aw__pool_client_start(&pc, &a->strategy, err, errlen);
}
