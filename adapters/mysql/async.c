/* strategy=async: MySQL through MariaDB Connector/C's non-blocking API
 * (mysql_*_start / _cont), as a protocol of the native driver
 * (adapters/native_int.h): N connections, each with the lookup's statement
 * prepared once and one execution in flight (the protocol allows no more).
 * The driver decides who runs it -- the operator's owner thread (io=owner)
 * or an I/O thread (io=thread) -- and keeps queues, deadlines, reconnects,
 * timeouts and close; this file is the connection's state machine only:
 *
 *   CONNECT -> PREPARE -> IDLE <-> EXEC -> STORE -> IDLE
 *
 * and DOWN when it breaks (teardown; the driver reconnects after a
 * backoff). Each step is a _start call that either finishes or says what
 * it waits for (MYSQL_WAIT_READ / _WRITE), then _cont calls as the socket
 * turns ready. The library's own timeouts (MYSQL_WAIT_TIMEOUT) are not
 * armed: they are whole seconds, rounded up from connect_timeout_ms and
 * read_timeout_ms, and the driver's millisecond deadlines on the same
 * steps always fire first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "mysql_int.h"
#include "../native_int.h"

enum { S_DOWN, S_CONNECT, S_PREPARE, S_IDLE, S_EXEC, S_STORE };

/* One connection's protocol state (the driver's aw__nat_state). */
typedef struct myc {
    int state;
    MYSQL *m;
    MYSQL *mret;                  /* connect's result */
    int irc;                      /* prepare/execute/store's result */
    MYSQL_STMT *st;
    my_stmt s;                    /* set up once prepared */
    bool has_s;
    int waiting;                  /* MYSQL_WAIT_* of the suspended call; 0 = none */
} myc;

static void on_done(my_adapter *a, aw__nat_conn *c);

/* The running call wants to wait for st (MYSQL_WAIT_*), or is done. */
static void step(my_adapter *a, aw__nat_conn *c, int st)
{
    myc *x = aw__nat_state(c);
    x->waiting = st;
    if (!st) {
        on_done(a, c);
        return;
    }
    unsigned ev = (st & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT) ? AW_READ : 0u) |
                  (st & MYSQL_WAIT_WRITE ? AW_WRITE : 0u);
    /* Only MYSQL_WAIT_TIMEOUT: nothing to watch; the driver's deadline
     * for this step ends it. */
    aw__nat_watch(c, (int)mysql_get_socket(x->m), ev);   /* on failure: down */
}

/* Resumes the suspended call with the events st (MYSQL_WAIT_*). */
static int resume(myc *x, int st)
{
    switch (x->state) {
    case S_CONNECT: return mysql_real_connect_cont(&x->mret, x->m, st);
    case S_PREPARE: return mysql_stmt_prepare_cont(&x->irc, x->st, st);
    case S_EXEC: return mysql_stmt_execute_cont(&x->irc, x->st, st);
    case S_STORE: return mysql_stmt_store_result_cont(&x->irc, x->st, st);
    default: return 0;
    }
}

static void my_event(void *pctx, aw__nat_conn *c, unsigned events)
{
    myc *x = aw__nat_state(c);
    if (!x->waiting) return;
    int st = (events & AW_READ ? MYSQL_WAIT_READ : 0) | (events & AW_WRITE ? MYSQL_WAIT_WRITE : 0);
    step(pctx, c, resume(x, st));
}

static void my_connect(void *pctx, aw__nat_conn *c)
{
    my_adapter *a = pctx;
    myc *x = aw__nat_state(c);
    const my_cfg *k = &a->cfg;
    if (!(x->m = my__handle(k, true))) {
        aw__nat_down(c, AW_ENOMEM, "mysql: out of memory");
        return;
    }
    x->state = S_CONNECT;
    step(a, c, mysql_real_connect_start(&x->mret, x->m, k->sock ? "localhost" : k->host, k->user,
                                        k->pass, k->db, k->port, k->sock, 0));
}

static void my_submit(void *pctx, aw__nat_conn *c, aw__nat_req *r)
{
    my_adapter *a = pctx;
    myc *x = aw__nat_state(c);
    if (my__stmt_bind(&x->s, r->input, r->f)) {     /* r->f failed already */
        aw__nat_done(c);
        return;
    }
    x->state = S_EXEC;
    step(a, c, mysql_stmt_execute_start(&x->irc, x->st));
}

/* Drives a suspended call to its end after shutting the socket: the call
 * fails at once (EOF). Needed before mysql_close. */
static void abort_call(myc *x)
{
    if (!x->waiting) return;
    int fd = (int)mysql_get_socket(x->m);
    if (fd >= 0) shutdown(fd, SHUT_RDWR);
    for (int i = 0; i < 64 && x->waiting; i++) {
        x->waiting = resume(x, MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_TIMEOUT);
    }
}

static void my_teardown(void *pctx, aw__nat_conn *c)
{
    myc *x = aw__nat_state(c);
    abort_call(x);
    if (!x->waiting) {            /* still suspended after 64 resumes: leak, not crash */
        if (x->st) mysql_stmt_close(x->st);
        if (x->m) mysql_close(x->m);
    }
    if (x->has_s) my__stmt_free(&x->s);
    *x = (myc){ .state = S_DOWN };
}

static void query_error(my_adapter *a, aw__nat_conn *c)
{
    myc *x = aw__nat_state(c);
    char msg[400];
    my__stmt_errmsg(&x->s, msg, sizeof msg);
    int code = my__classify(mysql_stmt_errno(x->st));
    if (code == AW_ECONN) {
        aw__nat_down(c, code, msg);
        return;
    }
    aw__nat_req *r = aw__nat_head(c);
    if (!r->abandoned) aw_results_fail(x->s.res, &a->cfg.lookup, r->f, code, msg);
    x->state = S_IDLE;
    aw__nat_done(c);
}

/* The call of c's state finished; go on to the next. */
static void on_done(my_adapter *a, aw__nat_conn *c)
{
    myc *x = aw__nat_state(c);
    const my_cfg *k = &a->cfg;
    char err[1024];
    switch (x->state) {
    case S_CONNECT:
        if (!x->mret) {
            int code = my__connect_error(k, x->m, err, sizeof err);
            aw__nat_down(c, code, err);
            return;
        }
        if (!(x->st = mysql_stmt_init(x->m))) {
            aw__nat_down(c, AW_ENOMEM, "mysql: out of memory");
            return;
        }
        x->state = S_PREPARE;
        aw__nat_deadline(c, k->read_timeout_ms);
        step(a, c, mysql_stmt_prepare_start(&x->irc, x->st, k->lookup.sql,
                                            (unsigned long)strlen(k->lookup.sql)));
        return;
    case S_PREPARE: {
        int rc;
        if (x->irc) {
            unsigned e = mysql_stmt_errno(x->st);
            rc = my__classify(e) == AW_ECONN ? AW_ECONN : AW_EQUERY;
            snprintf(err, sizeof err, "mysql: SQL does not prepare at %s: %s (SQL: %.300s)",
                     k->where, mysql_stmt_error(x->st), k->lookup.sql);
            aw__nat_down(c, rc, err);
            return;
        }
        if ((rc = my__stmt_setup(&x->s, x->st, k, err, sizeof err))) {
            aw__nat_down(c, rc, err);
            return;
        }
        x->has_s = true;
        if (aw__adapter_set_columns(&a->base, (int)x->s.ncols, (const char *const *)x->s.names,
                                    (int)x->s.nparams)) {
            aw__nat_down(c, AW_ENOMEM, "mysql: out of memory");
            return;
        }
        x->state = S_IDLE;
        aw__nat_up(c);
        return;
    }
    case S_EXEC:
        atomic_fetch_add(&a->queries, 1);
        if (x->irc) { query_error(a, c); return; }
        x->state = S_STORE;
        if (x->s.ncols) {
            step(a, c, mysql_stmt_store_result_start(&x->irc, x->st));
            return;
        }
        __attribute__((fallthrough));     /* no result set: as if stored */
    case S_STORE: {
        if (x->irc) { query_error(a, c); return; }
        aw__nat_req *r = aw__nat_head(c);
        if (r->abandoned) mysql_stmt_free_result(x->st);   /* input may be gone: no row() */
        else my__stmt_finish(&x->s, r->input, r->f);
        x->state = S_IDLE;
        aw__nat_done(c);
        return;
    }
    default:
        return;
    }
}

static const aw__nat_proto my_proto = {
    .connect = my_connect, .submit = my_submit, .event = my_event, .teardown = my_teardown
};

static void n_free(void *impl)
{
    my_adapter *a = impl;
    if (aw__nat_free(a->strategy)) return;          /* from inside a callback */
    my__adapter_free(a);
}

int my__async_start(my_adapter *a, char *err, size_t errlen)
{
    aw__nat_cfg cfg = {
        .name = "MySQL", .prefix = "mysql", .where = a->cfg.where, .conns = a->cfg.count,
        .pipeline = 1, .own_thread = a->cfg.io == AW_MYSQL_IO_THREAD,
        .connect_timeout_ms = a->cfg.connect_timeout_ms, .read_timeout_ms = a->cfg.read_timeout_ms,
        .conn_size = sizeof(myc), .proto = &my_proto, .pctx = a,
        .lost = &a->conn_lost, .reconnects = &a->reconnects, .connected = &a->connected };
    aw__nat *n;
    int rc = aw__nat_open(&n, &cfg, err, errlen);
    if (rc) return rc;
    a->strategy = n;
    a->base.fn = aw__nat_function(n);
    a->base.close = n_free;
    return 0;
}
