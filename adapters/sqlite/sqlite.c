/* SQLite through the pool: each worker owns a connection and a statement
 * prepared once; a call binds, steps the rows into results and completes
 * the future. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../adapter_int.h"
#include "pool.h"
#include "sqlite/sqlite.h"

typedef struct sq_adapter {
    aw_adapter base;
    aw_sqlite_config cfg;
    char *path;
    aw_lookup lookup;
    aw_pool *pool;
} sq_adapter;

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmt;
    aw_params *params;
    aw_row *row;
    aw_results *res;
} sq_conn;

static void sq_disconnect(void *ctx, void *c)
{
    sq_conn *k = c;
    if (!k) return;
    sqlite3_finalize(k->stmt);
    sqlite3_close(k->db);
    aw_params_free(k->params);
    aw_row_free(k->row);
    aw_results_free(k->res);
    free(k);
}

/* The progress handler: non-zero interrupts the statement running. */
static int sq_progress(void *arg)
{
    (void)arg;
    return aw_pool_call_abandoned();
}

static int sq_connect(void *ctx, void **out, char *err, size_t errlen)
{
    sq_adapter *a = ctx;
    sq_conn *k = calloc(1, sizeof *k);
    if (!k) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    int flags = SQLITE_OPEN_NOMUTEX | (a->cfg.readwrite ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY);
    /* The file not there, not a file, or not ours to read: only the user
     * can fix that (AW_ECONFIG); anything else may pass (AW_ECONN). */
    struct stat st;
    if (stat(a->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        free(k);
        return aw__errf(err, errlen, AW_ECONFIG, "cannot open SQLite database '%s': it is a "
                        "directory, not a database file", a->path);
    }
    int rc = sqlite3_open_v2(a->path, &k->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int e = access(a->path, a->cfg.readwrite ? R_OK | W_OK : R_OK) ? errno : 0;
        bool missing = e == ENOENT || e == ENOTDIR, denied = e == EACCES || e == EROFS;
        int code = missing || denied ? AW_ECONFIG : AW_ECONN;
        aw__errf(err, errlen, code, "cannot open SQLite database '%s': %s%s", a->path,
                 k->db ? sqlite3_errmsg(k->db) : sqlite3_errstr(rc),
                 missing ? " (no such file; the adapter never creates one)" :
                 denied ? " (no permission)" : "");
        sq_disconnect(ctx, k);
        return code;
    }
    if (a->cfg.busy_timeout_ms > 0) sqlite3_busy_timeout(k->db, a->cfg.busy_timeout_ms);
    /* A statement whose record timed out (or whose pool is closing) stops
     * within a few thousand VM steps instead of running to its end. */
    sqlite3_progress_handler(k->db, 1000, sq_progress, NULL);
    if (a->cfg.on_connect) {
        char msg[200] = "";
        rc = a->cfg.on_connect(a->cfg.on_connect_ctx, k->db, msg, sizeof msg);
        if (rc < 0) {
            aw__errf(err, errlen, rc, "on_connect failed for '%s': %s", a->path,
                     msg[0] ? msg : aw_strerror(rc));
            sq_disconnect(ctx, k);
            return rc;
        }
    }
    const char *tail = NULL;
    rc = sqlite3_prepare_v3(k->db, a->lookup.sql, -1, SQLITE_PREPARE_PERSISTENT, &k->stmt, &tail);
    if (rc != SQLITE_OK || !k->stmt) {
        aw__errf(err, errlen, AW_EQUERY, "SQL does not prepare on '%s': %s (SQL: %s)",
                 a->path, rc == SQLITE_OK ? "empty statement" : sqlite3_errmsg(k->db),
                 a->lookup.sql);
        sq_disconnect(ctx, k);
        return AW_EQUERY;
    }
    /* Only the first statement would ever run: say so rather than ignore
     * the rest. */
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == '\r' || *tail == ';'))
        tail++;
    if (tail && *tail) {
        aw__errf(err, errlen, AW_EQUERY, "SQL holds more than one statement; a lookup "
                 "runs exactly one (extra: %.60s)", tail);
        sq_disconnect(ctx, k);
        return AW_EQUERY;
    }
    if (!a->cfg.readwrite && !sqlite3_stmt_readonly(k->stmt)) {
        aw__errf(err, errlen, AW_ECONFIG, "SQL writes to the database but the adapter opens "
                 "it read-only; add mode=rw (readwrite in aw_sqlite_config) (SQL: %s)",
                 a->lookup.sql);
        sq_disconnect(ctx, k);
        return AW_ECONFIG;
    }
    int ncol = sqlite3_column_count(k->stmt);
    k->params = aw_params_new();
    k->row = aw_row_new(ncol);
    k->res = aw_results_new();
    if (!k->params || !k->row || !k->res) {
        sq_disconnect(ctx, k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    const char *names[ncol > 0 ? ncol : 1];
    for (int i = 0; i < ncol; i++) {
        names[i] = sqlite3_column_name(k->stmt, i);
        aw_row_set_name(k->row, i, names[i]);
    }
    if (aw__adapter_set_columns(&a->base, ncol, names, sqlite3_bind_parameter_count(k->stmt))) {
        sq_disconnect(ctx, k);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    *out = k;
    return 0;
}

static int bind_params(sq_conn *k)
{
    int n = aw_params_count(k->params), rc = SQLITE_OK;     /* checked: n <= the ?s */
    for (int i = 0; i < n && rc == SQLITE_OK; i++) {
        aw_value v;
        aw_params_get(k->params, i, &v);
        switch (v.type) {
        case AW_VINT64: rc = sqlite3_bind_int64(k->stmt, i + 1, v.i); break;
        case AW_VDOUBLE: rc = sqlite3_bind_double(k->stmt, i + 1, v.d); break;
        case AW_VTEXT: rc = sqlite3_bind_text64(k->stmt, i + 1, v.s, v.len, SQLITE_STATIC, SQLITE_UTF8); break;
        default: rc = sqlite3_bind_null(k->stmt, i + 1); break;
        }
    }
    return rc;
}

static void fill_row(sq_conn *k)
{
    int n = aw_row_columns(k->row);
    for (int i = 0; i < n; i++) {
        aw_value v = { .type = AW_VNULL };
        switch (sqlite3_column_type(k->stmt, i)) {
        case SQLITE_INTEGER: v.type = AW_VINT64; v.i = sqlite3_column_int64(k->stmt, i); break;
        case SQLITE_FLOAT: v.type = AW_VDOUBLE; v.d = sqlite3_column_double(k->stmt, i); break;
        case SQLITE_TEXT:
        case SQLITE_BLOB:
            v.type = AW_VTEXT;
            v.s = (const char *)sqlite3_column_text(k->stmt, i);
            v.len = (size_t)sqlite3_column_bytes(k->stmt, i);
            if (!v.s) { v.s = ""; v.len = 0; }
            break;
        default: break;
        }
        aw_row_set(k->row, i, &v);
    }
}

static int sq_call(void *ctx, void *conn, void *input, aw_future *f)
{
    sq_adapter *a = ctx;
    sq_conn *k = conn;
    const aw_lookup *l = &a->lookup;
    int rc = aw__lookup_bind(l, k->params, k->res, input, f, sqlite3_bind_parameter_count(k->stmt),
                             "the SQL");
    if (rc < 0) return 0;                                /* f failed already */
    sqlite3_reset(k->stmt);
    sqlite3_clear_bindings(k->stmt);
    if ((rc = bind_params(k)) != SQLITE_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot bind parameters: %s", sqlite3_errmsg(k->db));
        aw_results_fail(k->res, l, f, AW_EQUERY, msg);
        return 0;
    }
    /* The statement reads its own copy of the parameters, not input: let
     * go of it while SQLite works, so a timeout fails the record at once
     * (and the progress handler stops the statement). */
    aw_pool_input_release();
    while ((rc = sqlite3_step(k->stmt)) == SQLITE_ROW) {
        if (!aw_pool_input_reacquire()) {       /* timed out: input may be gone */
            sqlite3_reset(k->stmt);
            aw_results_fail(k->res, l, f, AW_ETIMEDOUT, NULL);
            return 0;
        }
        fill_row(k);
        int r = aw_results_add_row(k->res, l, input, k->row);
        if (r < 0) {
            sqlite3_reset(k->stmt);
            aw_results_fail(k->res, l, f, r, "lookup row callback failed");
            return 0;
        }
        aw_pool_input_release();
    }
    if (rc == SQLITE_INTERRUPT) {
        /* Stopped by sq_progress: the record timed out (this failure is its
         * late completion, dropped) or the pool is closing. */
        bool closing = aw_pool_input_reacquire();
        sqlite3_reset(k->stmt);
        aw_results_fail(k->res, l, f, closing ? AW_ECLOSED : AW_ETIMEDOUT,
                        closing ? "the pool closed during this record's lookup" : NULL);
        return 0;
    }
    if (rc != SQLITE_DONE) {
        char msg[256];
        snprintf(msg, sizeof msg, "sqlite3_step: %s", sqlite3_errmsg(k->db));
        sqlite3_reset(k->stmt);
        aw_results_fail(k->res, l, f, AW_EQUERY, msg);
        /* A file that went bad cannot serve the next call either: f is
         * settled (with sqlite's words), so ask for a new connection with
         * AW_POOL_RECONNECT, not AW_ECONN (which would settle f again). */
        int prim = rc & 0xff;
        return prim == SQLITE_IOERR || prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB
               ? AW_POOL_RECONNECT : 0;
    }
    sqlite3_reset(k->stmt);   /* end the read transaction now, not at the next call */
    aw_results_complete(k->res, l, f);
    return 0;
}

static void sq_close(void *impl)
{
    sq_adapter *a = impl;
    if (aw_pool_on_worker(a->pool)) return;   /* from a lookup callback: cannot join */
    aw_pool_free(a->pool);
    aw__adapter_free_columns(&a->base);
    free(a->path);
    free(a);
}

int aw_sqlite_open(aw_adapter **out, const aw_sqlite_config *cfg, const aw_lookup *lookup,
                   char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_sqlite_open: out is NULL");
    *out = NULL;
    if (!cfg || !lookup) return aw__errf(err, errlen, AW_EINVAL, "aw_sqlite_open: cfg or lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__errf(err, errlen, AW_ECONFIG, "sqlite: lookup->sql, ->bind and ->row are required");
    if (!cfg->path || !*cfg->path)
        return aw__errf(err, errlen, AW_ECONFIG, "sqlite: no database path given");
    sq_adapter *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(cfg->path))) {
        free(a);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    a->cfg = *cfg;
    a->cfg.path = a->path;
    if (!a->cfg.threads) a->cfg.threads = 4;
    if (!a->cfg.busy_timeout_ms) a->cfg.busy_timeout_ms = 5000;
    a->lookup = *lookup;
    aw_pool_config pc = { a->cfg.threads, a->cfg.queue_capacity };
    aw_sync_client client = { a, sq_connect, sq_call, sq_disconnect };
    int rc = aw_pool_create(&a->pool, &pc, &client, err, errlen);
    if (rc) {
        aw__adapter_free_columns(&a->base);
        free(a->path);
        free(a);
        return rc;
    }
    a->base.scheme = "sqlite";
    a->base.impl = a;
    a->base.fn = aw_pool_function(a->pool);
    a->base.close = sq_close;
    *out = &a->base;
    return 0;
}

#define SQLITE_KNOWN "threads, queue, mode (ro|rw), readwrite (0|1), busy_timeout_ms"

int aw__sqlite_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup,
                        char *err, size_t errlen)
{
    aw_sqlite_config cfg = { 0 };
    if (u->host || u->user)
        return aw__errf(err, errlen, AW_ECONFIG, "sqlite URIs name a file: sqlite:///abs/path.db "
                        "or sqlite:relative.db (a host was given)");
    if (!u->path || !*u->path)
        return aw__errf(err, errlen, AW_ECONFIG, "sqlite URI has no file path");
    cfg.path = u->path;
    size_t timeout = 0;
    aw_uri_opts o = { .threads = &cfg.threads, .queue = &cfg.queue_capacity };
    int rc = aw__uri_opts(u, &o, err, errlen);
    if (rc || (rc = aw__uri_size(u, "busy_timeout_ms", 0, 3600000, &timeout, err, errlen))) return rc;
    cfg.busy_timeout_ms = aw__uri_param(u, "busy_timeout_ms") ? (timeout ? (int)timeout : -1) : 0;
    const char *mode = aw__uri_param(u, "mode");
    if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
        return aw__errf(err, errlen, AW_ECONFIG, "mode=%s: must be ro or rw", mode);
    cfg.readwrite = mode && !strcmp(mode, "rw");
    const char *rw = aw__uri_param(u, "readwrite");
    if (rw) {
        bool yes = !strcmp(rw, "1") || !strcmp(rw, "true") || !strcmp(rw, "yes");
        if (!yes && strcmp(rw, "0") && strcmp(rw, "false") && strcmp(rw, "no"))
            return aw__errf(err, errlen, AW_ECONFIG, "readwrite=%s: must be 0 or 1", rw);
        if (mode && yes != cfg.readwrite)
            return aw__errf(err, errlen, AW_ECONFIG, "mode=%s and readwrite=%s disagree", mode, rw);
        cfg.readwrite = yes;
    }
    if ((rc = aw__uri_check_unused(u, SQLITE_KNOWN, err, errlen))) return rc;
    return aw_sqlite_open(out, &cfg, lookup, err, errlen);
}
