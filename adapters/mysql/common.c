/* The MySQL adapter's shared half: configuration (typed and by URI), error
 * words, and the prepared statement both strategies run -- parameters from
 * aw_params into MYSQL_BINDs, binary-protocol rows into aw_rows. */
#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mysql_int.h"

static const char my_scheme[] = "mysql";

/* ---------------------------------------------------------- configuration */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

void my__cfg_free(my_cfg *c)
{
    free(c->host);
    free(c->sock);
    free(c->user);
    if (c->pass) memset(c->pass, 0, strlen(c->pass));
    free(c->pass);
    free(c->db);
    memset(c, 0, sizeof *c);
}

int my__cfg_init(my_cfg *c, const aw_mysql_config *cfg, const aw_lookup *l, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (cfg->strategy != AW_MYSQL_ASYNC && cfg->strategy != AW_MYSQL_POOL)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: unknown strategy %d", (int)cfg->strategy);
    if (cfg->io != AW_MYSQL_IO_DEFAULT && cfg->io != AW_MYSQL_IO_OWNER && cfg->io != AW_MYSQL_IO_THREAD)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: unknown io %d", (int)cfg->io);
    if (cfg->strategy == AW_MYSQL_POOL && cfg->io != AW_MYSQL_IO_DEFAULT)
        return aw__errf(err, errlen, AW_ECONFIG, "io= is for strategy=async (the pool's "
                        "workers block in their own threads)");
    size_t count = cfg->strategy == AW_MYSQL_POOL ? cfg->threads : cfg->connections;
    if (count > 1024)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: %s must be 1 to 1024 (got %zu)",
                        cfg->strategy == AW_MYSQL_POOL ? "threads" : "connections", count);
    if (cfg->connect_timeout_ms < 0 || cfg->read_timeout_ms < 0)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: timeouts must be >= 0 ms");
    if (cfg->port > 65535)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: port %u out of range", cfg->port);
    const char *pass = cfg->password;
    if (!pass && cfg->password_env) {
        pass = getenv(cfg->password_env);
        if (!pass)
            return aw__errf(err, errlen, AW_ECONFIG, "mysql: password_env=%s names an "
                            "environment variable that is not set", cfg->password_env);
    }
    if (!pass) pass = getenv("AW_MYSQL_PASSWORD");
    bool oom = false;
    c->host = dup_or_null(cfg->host && *cfg->host ? cfg->host : "127.0.0.1", &oom);
    c->sock = dup_or_null(cfg->unix_socket && *cfg->unix_socket ? cfg->unix_socket : NULL, &oom);
    c->user = dup_or_null(cfg->user ? cfg->user : "", &oom);
    c->pass = dup_or_null(pass, &oom);
    c->db = dup_or_null(cfg->database && *cfg->database ? cfg->database : NULL, &oom);
    if (oom) {
        my__cfg_free(c);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    c->port = cfg->port ? cfg->port : 3306;
    c->strategy = cfg->strategy;
    c->io = cfg->io == AW_MYSQL_IO_DEFAULT ? AW_MYSQL_IO_OWNER : cfg->io;
    c->count = count ? count : 4;
    c->queue = cfg->queue_capacity;
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    c->read_timeout_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : 30000;
    c->lookup = *l;
    aw__server_where(c->where, sizeof c->where, c->sock, c->host, c->port);
    return 0;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void) { lib_rc = mysql_library_init(0, NULL, NULL) ? AW_ENOMEM : 0; }

int my__library_init(void)
{
    pthread_once(&lib_once, lib_init);
    return lib_rc;
}

MYSQL *my__handle(const my_cfg *c, bool nonblock)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) return NULL;
    /* The library takes whole seconds; the async strategy keeps its own
     * millisecond deadlines on top. */
    unsigned ct = (unsigned)(c->connect_timeout_ms + 999) / 1000;
    unsigned rt = (unsigned)(c->read_timeout_ms + 999) / 1000;
    my_bool off = 0;
    unsigned proto = c->sock ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    size_t stack = 128 * 1024;     /* the non-blocking calls' coroutine stack */
    if (mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct) || mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt) ||
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rt) || mysql_options(m, MYSQL_OPT_RECONNECT, &off) ||
        mysql_options(m, MYSQL_OPT_PROTOCOL, &proto) ||
        mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4") ||
        (nonblock && mysql_options(m, MYSQL_OPT_NONBLOCK, &stack))) {
        mysql_close(m);
        return NULL;
    }
    return m;
}

int my__connect_error(const my_cfg *c, MYSQL *m, char *err, size_t errlen)
{
    unsigned e = m ? mysql_errno(m) : CR_OUT_OF_MEMORY;
    const char *w = m ? mysql_error(m) : "out of memory";
    switch (e) {
    case ER_ACCESS_DENIED_ERROR:
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: access denied for user '%s' at %s: "
                        "wrong user or password%s (server: %s)", c->user, c->where,
                        c->pass ? "" : " (no password given: user:pass@ in the URI, "
                        "password_env=NAME or AW_MYSQL_PASSWORD)", w);
    case ER_BAD_DB_ERROR:
    case ER_DBACCESS_DENIED_ERROR:
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: unknown database '%s' at %s, or "
                        "user '%s' may not use it (server: %s)", c->db ? c->db : "",
                        c->where, c->user, w);
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_LOST:
    case CR_SERVER_GONE_ERROR:
        return aw__errf(err, errlen, AW_ECONN, "mysql: cannot reach a server at %s: %s "
                        "(is it running, and is the address right?)", c->where, w);
    default:
        return aw__errf(err, errlen, AW_ECONN, "mysql: cannot connect to %s as '%s': %s "
                        "(MySQL error %u)", c->where, c->user, w, e);
    }
}

int my__classify(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR: case CR_CONN_HOST_ERROR: case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR: case CR_SERVER_LOST: case CR_COMMANDS_OUT_OF_SYNC:
    case CR_NET_PACKET_TOO_LARGE: case CR_SSL_CONNECTION_ERROR: case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ: case CR_ERR_NET_WRITE: case CR_ERR_NET_UNCOMPRESS:
    case ER_CON_COUNT_ERROR: case ER_SERVER_SHUTDOWN: case ER_ABORTING_CONNECTION:
    case ER_NET_PACKETS_OUT_OF_ORDER: case ER_NET_READ_ERROR: case ER_NET_READ_INTERRUPTED:
    case ER_NET_ERROR_ON_WRITE: case ER_NET_WRITE_INTERRUPTED: case ER_NEW_ABORTING_CONNECTION:
    case ER_UNKNOWN_STMT_HANDLER: case ER_CONNECTION_KILLED:
        return AW_ECONN;
    default:
        return AW_EQUERY;
    }
}

/* ---------------------------------------------------------- statements */

void my__stmt_free(my_stmt *s)
{
    if (s->rbuf)
        for (unsigned i = 0; i < s->ncols; i++) free(s->rbuf[i]);
    if (s->names)
        for (unsigned i = 0; i < s->ncols; i++) free(s->names[i]);
    free(s->pbind); free(s->pint); free(s->pdbl); free(s->plen);
    free(s->rbind); free(s->rint); free(s->rdbl); free(s->rbuf); free(s->rlen); free(s->rcap);
    free(s->rnull); free(s->rerr); free(s->names);
    aw_params_free(s->params);
    aw_row_free(s->row);
    aw_results_free(s->res);
    memset(s, 0, sizeof *s);
}

static bool is_int(enum enum_field_types t)
{
    return t == MYSQL_TYPE_TINY || t == MYSQL_TYPE_SHORT || t == MYSQL_TYPE_LONG ||
           t == MYSQL_TYPE_INT24 || t == MYSQL_TYPE_LONGLONG || t == MYSQL_TYPE_YEAR;
}

#define ALLOC(p, n) ((p) = calloc((n) ? (n) : 1, sizeof *(p)))

int my__stmt_setup(my_stmt *s, MYSQL_STMT *st, const my_cfg *c, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->st = st;
    s->lookup = &c->lookup;
    s->nparams = (unsigned)mysql_stmt_param_count(st);
    if (s->nparams > 1024)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: the SQL has %u placeholders; "
                        "at most 1024 (SQL: %.200s)", s->nparams, c->lookup.sql);
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    s->ncols = meta ? mysql_num_fields(meta) : 0;
    unsigned n = s->ncols;
    if (!ALLOC(s->pbind, s->nparams) || !ALLOC(s->pint, s->nparams) || !ALLOC(s->pdbl, s->nparams) ||
        !ALLOC(s->plen, s->nparams) || !ALLOC(s->rbind, n) || !ALLOC(s->rint, n) ||
        !ALLOC(s->rdbl, n) || !ALLOC(s->rbuf, n) || !ALLOC(s->rlen, n) || !ALLOC(s->rcap, n) ||
        !ALLOC(s->rnull, n) || !ALLOC(s->rerr, n) || !ALLOC(s->names, n) ||
        !(s->params = aw_params_new()) || !(s->row = aw_row_new((int)n)) ||
        !(s->res = aw_results_new()))
        goto oom;
    MYSQL_FIELD *fields = meta ? mysql_fetch_fields(meta) : NULL;
    for (unsigned i = 0; i < n; i++) {
        MYSQL_BIND *b = &s->rbind[i];
        if (!(s->names[i] = strdup(fields[i].name ? fields[i].name : ""))) goto oom;
        aw_row_set_name(s->row, (int)i, s->names[i]);
        b->is_null = &s->rnull[i];
        b->error = &s->rerr[i];
        b->length = &s->rlen[i];
        if (is_int(fields[i].type)) {
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &s->rint[i];
            b->is_unsigned = (fields[i].flags & UNSIGNED_FLAG) != 0;
        } else if (fields[i].type == MYSQL_TYPE_FLOAT || fields[i].type == MYSQL_TYPE_DOUBLE) {
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &s->rdbl[i];
        } else {
            s->rcap[i] = 64;
            if (!(s->rbuf[i] = malloc(s->rcap[i]))) goto oom;
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = s->rbuf[i];
            b->buffer_length = s->rcap[i];
        }
    }
    if (meta) mysql_free_result(meta);
    meta = NULL;
    if (n && mysql_stmt_bind_result(st, s->rbind)) {
        aw__errf(err, errlen, AW_EQUERY, "mysql: cannot bind the result columns: %s",
                 mysql_stmt_error(st));
        my__stmt_free(s);
        return AW_EQUERY;
    }
    return 0;
oom:
    if (meta) mysql_free_result(meta);
    my__stmt_free(s);
    return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
}

void my__stmt_errmsg(const my_stmt *s, char *buf, size_t n)
{
    snprintf(buf, n, "mysql: %s (MySQL error %u)", mysql_stmt_error(s->st), mysql_stmt_errno(s->st));
}

int my__stmt_bind(my_stmt *s, void *input, aw_future *f)
{
    const aw_lookup *l = s->lookup;
    int np = aw__lookup_bind(l, s->params, s->res, input, f, (int)s->nparams, "the SQL");
    if (np < 0) return np;
    for (unsigned i = 0; i < s->nparams; i++) {
        MYSQL_BIND *b = &s->pbind[i];
        aw_value v = { .type = AW_VNULL };
        if ((int)i < np) aw_params_get(s->params, (int)i, &v);
        memset(b, 0, sizeof *b);
        switch (v.type) {
        case AW_VINT64:
            s->pint[i] = v.i;
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &s->pint[i];
            break;
        case AW_VDOUBLE:
            s->pdbl[i] = v.d;
            b->buffer_type = MYSQL_TYPE_DOUBLE;
            b->buffer = &s->pdbl[i];
            break;
        case AW_VTEXT:
            s->plen[i] = (unsigned long)v.len;
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = (void *)v.s;
            b->buffer_length = (unsigned long)v.len;
            b->length = &s->plen[i];
            break;
        default:
            b->buffer_type = MYSQL_TYPE_NULL;
            break;
        }
    }
    if (s->nparams && mysql_stmt_bind_param(s->st, s->pbind)) {
        char msg[300];
        my__stmt_errmsg(s, msg, sizeof msg);
        aw_results_fail(s->res, l, f, AW_EQUERY, msg);
        return AW_EQUERY;
    }
    return 0;
}

/* A text column did not fit (or left no room for the NUL): grow its
 * buffer and fetch it again. */
static int refetch(my_stmt *s, unsigned i)
{
    unsigned long need = s->rlen[i] + 1;
    char *b = realloc(s->rbuf[i], need);
    if (!b) return AW_ENOMEM;
    s->rbuf[i] = b;
    s->rcap[i] = need;
    s->rbind[i].buffer = b;
    s->rbind[i].buffer_length = need;
    return mysql_stmt_fetch_column(s->st, &s->rbind[i], i, 0) ? AW_EQUERY : 1;
}

void my__stmt_finish(my_stmt *s, void *input, aw_future *f)
{
    const aw_lookup *l = s->lookup;
    int rc = 0;
    char msg[300] = "";
    while (s->ncols) {
        int r = mysql_stmt_fetch(s->st);
        if (r == MYSQL_NO_DATA) break;
        if (r == 1) {
            rc = AW_EQUERY;
            my__stmt_errmsg(s, msg, sizeof msg);
            break;
        }
        bool rebind = false;
        for (unsigned i = 0; i < s->ncols && rc == 0; i++) {
            aw_value v = { .type = AW_VNULL };
            if (s->rnull[i]) { aw_row_set(s->row, (int)i, &v); continue; }
            switch (s->rbind[i].buffer_type) {
            case MYSQL_TYPE_LONGLONG: v.type = AW_VINT64; v.i = s->rint[i]; break;
            case MYSQL_TYPE_DOUBLE: v.type = AW_VDOUBLE; v.d = s->rdbl[i]; break;
            default:
                if (s->rlen[i] >= s->rcap[i]) {
                    int g = refetch(s, i);
                    if (g < 0) {
                        rc = g;
                        snprintf(msg, sizeof msg, "mysql: cannot fetch column %u (%lu bytes)", i, s->rlen[i]);
                        break;
                    }
                    rebind = true;
                }
                s->rbuf[i][s->rlen[i]] = 0;
                v.type = AW_VTEXT;
                v.s = s->rbuf[i];
                v.len = s->rlen[i];
                break;
            }
            aw_row_set(s->row, (int)i, &v);
        }
        if (rebind && rc == 0 && mysql_stmt_bind_result(s->st, s->rbind)) {
            rc = AW_EQUERY;
            my__stmt_errmsg(s, msg, sizeof msg);
        }
        if (rc == 0 && (rc = aw_results_add_row(s->res, l, input, s->row)) < 0)
            snprintf(msg, sizeof msg, "%s", rc == AW_ENOMEM ? "out of memory" : "lookup row callback failed");
        if (rc) break;
    }
    mysql_stmt_free_result(s->st);
    if (rc) aw_results_fail(s->res, l, f, rc, msg);
    else aw_results_complete(s->res, l, f);
}

/* ------------------------------------------------------------- opening */

int aw_mysql_open(aw_adapter **out, const aw_mysql_config *cfg, const aw_lookup *lookup,
                  char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_mysql_open: out is NULL");
    *out = NULL;
    if (!cfg || !lookup) return aw__errf(err, errlen, AW_EINVAL, "aw_mysql_open: cfg or lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__errf(err, errlen, AW_ECONFIG, "mysql: lookup->sql, ->bind and ->row are required");
    if (my__library_init())
        return aw__errf(err, errlen, AW_ENOMEM, "mysql: mysql_library_init failed");
    my_adapter *a = calloc(1, sizeof *a);
    if (!a) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    int rc = my__cfg_init(&a->cfg, cfg, lookup, err, errlen);
    if (rc) { free(a); return rc; }
    a->base.scheme = my_scheme;
    a->base.impl = a;
    rc = a->cfg.strategy == AW_MYSQL_POOL ? my__pool_start(a, err, errlen)
                                          : my__async_start(a, err, errlen);
    if (rc) {
        my__adapter_free(a);
        return rc;
    }
    *out = &a->base;
    return 0;
}

void my__adapter_free(my_adapter *a)
{
    aw__adapter_free_columns(&a->base);
    my__cfg_free(&a->cfg);
    free(a);
}

int aw_mysql_stats_get(aw_adapter *ad, aw_mysql_stats *out)
{
    if (!ad || !out || ad->scheme != my_scheme) return AW_EINVAL;
    my_adapter *a = ad->impl;
    out->queries = atomic_load(&a->queries);
    out->conn_lost = atomic_load(&a->conn_lost);
    out->reconnects = atomic_load(&a->reconnects);
    out->connected = atomic_load(&a->connected);
    out->strategy = a->cfg.strategy;
    out->io = a->cfg.strategy == AW_MYSQL_ASYNC ? a->cfg.io : AW_MYSQL_IO_DEFAULT;
    return 0;
}

#define MYSQL_KNOWN "strategy (async|pool), threads (pool), connections (async), io (async: owner|thread), queue, " \
                    "unix_socket, connect_timeout_ms, read_timeout_ms, password_env"

int aw__mysql_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup, char *err, size_t errlen)
{
    aw_mysql_config cfg = { 0 };
    aw_uri_server srv = { .host = &cfg.host, .port = &cfg.port, .user = &cfg.user,
                          .password = &cfg.password, .database = &cfg.database };
    int rc = aw__uri_server(u, "mysql", "mysql://user[:pass]@host[:port]/database?...",
                            &srv, err, errlen);
    if (rc) return rc;
    const char *strategy = aw__uri_param(u, "strategy");
    if (strategy && strcmp(strategy, "async") && strcmp(strategy, "pool"))
        return aw__errf(err, errlen, AW_ECONFIG, "strategy=%s: must be async or pool", strategy);
    /* No strategy=: threads= alone means the pool (that is what it counts). */
    if (!strategy && aw__uri_param(u, "threads") && aw__uri_param(u, "connections"))
        return aw__errf(err, errlen, AW_ECONFIG, "threads= (strategy=pool) and connections= "
                        "(strategy=async) exclude each other; give one, or strategy=");
    cfg.strategy = strategy ? (!strcmp(strategy, "pool") ? AW_MYSQL_POOL : AW_MYSQL_ASYNC)
                            : aw__uri_param(u, "threads") ? AW_MYSQL_POOL : AW_MYSQL_ASYNC;
    if (cfg.strategy == AW_MYSQL_ASYNC && aw__uri_param(u, "threads"))
        return aw__errf(err, errlen, AW_ECONFIG, "threads= is for strategy=pool; "
                        "strategy=async takes connections=");
    if (cfg.strategy == AW_MYSQL_POOL && aw__uri_param(u, "connections"))
        return aw__errf(err, errlen, AW_ECONFIG, "connections= is for strategy=async; "
                        "strategy=pool takes threads=");
    const char *io = aw__uri_param(u, "io");
    if (io && cfg.strategy == AW_MYSQL_POOL)
        return aw__errf(err, errlen, AW_ECONFIG, "io= is for strategy=async (the pool's "
                        "workers block in their own threads)");
    if (io && strcmp(io, "owner") && strcmp(io, "thread"))
        return aw__errf(err, errlen, AW_ECONFIG, "io=%s: must be owner (the operator's "
                        "thread runs the connections) or thread (an I/O thread of their own)", io);
    cfg.io = !io ? AW_MYSQL_IO_DEFAULT : !strcmp(io, "owner") ? AW_MYSQL_IO_OWNER : AW_MYSQL_IO_THREAD;
    aw_uri_opts o = { .threads = &cfg.threads, .connections = &cfg.connections,
                      .queue = &cfg.queue_capacity, .connect_timeout_ms = &cfg.connect_timeout_ms,
                      .read_timeout_ms = &cfg.read_timeout_ms, .unix_socket = &cfg.unix_socket,
                      .password_env = &cfg.password_env };
    rc = aw__uri_opts(u, &o, err, errlen);
    if (rc || (rc = aw__uri_check_unused(u, MYSQL_KNOWN, err, errlen))) return rc;
    return aw_mysql_open(out, &cfg, lookup, err, errlen);
}
