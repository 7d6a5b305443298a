/* The PostgreSQL adapter's shared half: configuration (typed and by URI,
 * with every parameter we do not know handed to libpq if libpq knows it),
 * error words, ? into $n, parameters into libpq's text arrays, text-format
 * results into aw_rows. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg_int.h"

static const char pg_scheme[] = "postgres";

/* The type OIDs we map (pg_type.h, stable since forever). */
enum { OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_FLOAT4 = 700, OID_FLOAT8 = 701 };

/* ---------------------------------------------------------- configuration */

void pg__cfg_free(pg_cfg *c)
{
    for (int i = 0; i < c->nkw; i++) {
        if (c->val[i] && !strcmp(c->kw[i], "password")) memset(c->val[i], 0, strlen(c->val[i]));
        free(c->kw[i]);
        free(c->val[i]);
    }
    free(c->kw);
    free(c->val);
    free(c->sql);
    memset(c, 0, sizeof *c);
}

static int add_kw(pg_cfg *c, const char *k, const char *v)
{
    char **kw = realloc(c->kw, (size_t)(c->nkw + 2) * sizeof *kw);
    if (!kw) return AW_ENOMEM;
    c->kw = kw;
    char **val = realloc(c->val, (size_t)(c->nkw + 2) * sizeof *val);
    if (!val) return AW_ENOMEM;
    c->val = val;
    c->kw[c->nkw] = strdup(k);
    c->val[c->nkw] = strdup(v);
    c->kw[c->nkw + 1] = c->val[c->nkw + 1] = NULL;
    c->nkw++;
    return c->kw[c->nkw - 1] && c->val[c->nkw - 1] ? 0 : AW_ENOMEM;
}

/* The last value given for k, or NULL. */
static const char *kw_get(const pg_cfg *c, const char *k)
{
    const char *v = NULL;
    for (int i = 0; i < c->nkw; i++)
        if (!strcmp(c->kw[i], k)) v = c->val[i];
    return v;
}

int pg__cfg_init(pg_cfg *c, const aw_postgres_config *cfg, const aw_lookup *l, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (cfg->strategy != AW_POSTGRES_POOL && cfg->strategy != AW_POSTGRES_ASYNC)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: unknown strategy %d", (int)cfg->strategy);
    size_t count = cfg->strategy == AW_POSTGRES_POOL ? cfg->threads : cfg->connections;
    if (count > 1024)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: %s must be 1 to 1024 (got %zu)",
                        cfg->strategy == AW_POSTGRES_POOL ? "threads" : "connections", count);
    if (cfg->pipeline > 65536)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: pipeline must be 1 to 65536 (got %zu)",
                        cfg->pipeline);
    if (cfg->read_timeout_ms < 0)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: read_timeout_ms must be >= 0");
    if (cfg->port > 65535)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: port %u out of range", cfg->port);
    int rc = 0;
    char port[16];
    snprintf(port, sizeof port, "%u", cfg->port);
    if (!rc && cfg->host && *cfg->host) rc = add_kw(c, "host", cfg->host);
    if (!rc && cfg->port) rc = add_kw(c, "port", port);
    if (!rc && cfg->user && *cfg->user) rc = add_kw(c, "user", cfg->user);
    if (!rc && cfg->password) rc = add_kw(c, "password", cfg->password);
    if (!rc && cfg->database && *cfg->database) rc = add_kw(c, "dbname", cfg->database);
    for (const char *const *o = cfg->options; !rc && o && o[0]; o += 2) {
        if (!o[1]) {
            pg__cfg_free(c);
            return aw__errf(err, errlen, AW_ECONFIG, "postgres: option '%s' has no value", o[0]);
        }
        rc = add_kw(c, o[0], o[1]);
    }
    if (!rc && !kw_get(c, "connect_timeout") && !getenv("PGCONNECT_TIMEOUT"))
        rc = add_kw(c, "connect_timeout", "5");
    if (!rc && !kw_get(c, "fallback_application_name"))
        rc = add_kw(c, "fallback_application_name", "asyncwait");
    if (!rc && !(c->sql = pg__convert_sql(l->sql, &c->nq))) rc = AW_ENOMEM;
    if (rc) {
        pg__cfg_free(c);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    if (c->nq > PG_MAX_PARAMS) {
        int nq = c->nq;
        pg__cfg_free(c);
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: the SQL has %d placeholders; at most %d "
                        "(SQL: %.200s)", nq, PG_MAX_PARAMS, l->sql);
    }
    c->strategy = cfg->strategy;
    c->count = count ? count : cfg->strategy == AW_POSTGRES_POOL ? 4 : 2;
    c->pipeline = cfg->pipeline ? cfg->pipeline : 64;
    c->queue = cfg->queue_capacity;
    c->io_thread = cfg->io_thread;
    c->read_timeout_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : 30000;
    const char *ct = kw_get(c, "connect_timeout");
    if (!ct) ct = getenv("PGCONNECT_TIMEOUT");
    long cts = ct ? strtol(ct, NULL, 10) : 0;
    c->connect_timeout_ms = cts > 0 ? (int)(cts < 2 ? 2000 : cts * 1000) : 60000;
    c->lookup = *l;
    const char *h = kw_get(c, "host");
    if (!h) h = getenv("PGHOST");
    const char *p = kw_get(c, "port");
    if (!p) p = getenv("PGPORT");
    if (h && h[0] == '/') snprintf(c->where, sizeof c->where, "unix socket %s (port %s)", h, p ? p : "5432");
    else if (h) snprintf(c->where, sizeof c->where, "%s:%s", h, p ? p : "5432");
    else snprintf(c->where, sizeof c->where, "the default socket (port %s)", p ? p : "5432");
    const char *u = kw_get(c, "user");
    if (!u) u = getenv("PGUSER");
    snprintf(c->user, sizeof c->user, "%s", u ? u : "");
    const char *d = kw_get(c, "dbname");
    if (!d) d = getenv("PGDATABASE");
    snprintf(c->db, sizeof c->db, "%s", d ? d : (u ? u : ""));
    return 0;
}

/* ------------------------------------------------------------- ? into $n */

char *pg__convert_sql(const char *sql, int *n)
{
    size_t len = strlen(sql);
    char *out = malloc(len * 5 + 1);         /* "?" -> "$1024" at most */
    if (!out) return NULL;
    char *w = out;
    const char *s = sql;
    *n = 0;
    while (*s) {
        if (*s == '?') {
            w += sprintf(w, "$%d", ++*n);
            s++;
        } else if (*s == '\'' || *s == '"') {       /* '...' (E'...' escapes \) and "..." */
            char q = *s;
            bool esc = q == '\'' && s > sql && (s[-1] == 'E' || s[-1] == 'e') &&
                       (s - 1 == sql || (!isalnum((unsigned char)s[-2]) && s[-2] != '_'));
            *w++ = *s++;
            while (*s) {
                if (esc && *s == '\\' && s[1]) { *w++ = *s++; *w++ = *s++; continue; }
                if (*s == q) {
                    *w++ = *s++;
                    if (*s == q) { *w++ = *s++; continue; }   /* '' or "" */
                    break;
                }
                *w++ = *s++;
            }
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n') *w++ = *s++;
        } else if (s[0] == '/' && s[1] == '*') {           /* nests in PostgreSQL */
            int depth = 0;
            do {
                if (s[0] == '/' && s[1] == '*') { depth++; *w++ = *s++; *w++ = *s++; }
                else if (s[0] == '*' && s[1] == '/') { depth--; *w++ = *s++; *w++ = *s++; }
                else *w++ = *s++;
            } while (*s && depth > 0);
        } else if (*s == '$' && (s == sql || (!isalnum((unsigned char)s[-1]) && s[-1] != '_'))) {
            /* $tag$ ... $tag$ (tag may be empty); $1 stays as it is */
            const char *t = s + 1;
            while (isalnum((unsigned char)*t) || *t == '_') t++;
            if (*t == '$' && !isdigit((unsigned char)s[1])) {
                size_t tl = (size_t)(t - s + 1);
                const char *end = NULL;
                for (const char *x = t + 1; *x; x++)
                    if (!strncmp(x, s, tl)) { end = x; break; }
                size_t take = end ? (size_t)(end - s) + tl : strlen(s);
                memcpy(w, s, take);
                w += take;
                s += take;
            } else {
                *w++ = *s++;
            }
        } else {
            *w++ = *s++;
        }
    }
    *w = 0;
    return out;
}

/* ------------------------------------------------------------------ errors */

/* libpq's words on one line, without the trailing newline. */
static void one_line(char *dst, size_t n, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src && src[i] && j + 1 < n; i++) {
        char ch = src[i] == '\n' || src[i] == '\t' ? ' ' : src[i];
        if (ch == ' ' && (j == 0 || dst[j - 1] == ' ')) continue;
        dst[j++] = ch;
    }
    while (j && dst[j - 1] == ' ') j--;
    if (n) dst[j] = 0;
}

int pg__connect_error(const pg_cfg *c, PGconn *conn, char *err, size_t errlen)
{
    char w[600];
    one_line(w, sizeof w, conn ? PQerrorMessage(conn) : "out of memory");
    if (!conn) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    if (PQconnectionNeedsPassword(conn))
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: user '%s' at %s needs a password and none "
                        "was given (user:pass@ in the URI, PGPASSWORD or ~/.pgpass) (server: %s)",
                        c->user, c->where, w);
    if (strstr(w, "password authentication failed") || strstr(w, "authentication failed for user") ||
        (strstr(w, "role \"") && strstr(w, "does not exist")))
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: wrong user or password for user '%s' at %s "
                        "(server: %s)", c->user, c->where, w);
    if (strstr(w, "database \"") && strstr(w, "does not exist"))
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: unknown database '%s' at %s (server: %s)",
                        c->db, c->where, w);
    if (strstr(w, "permission denied for database") || strstr(w, "no pg_hba.conf entry"))
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: user '%s' may not use database '%s' at %s "
                        "(server: %s)", c->user, c->db, c->where, w);
    if (strstr(w, "invalid") || strstr(w, "unrecognized") || strstr(w, "missing \"=\""))
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: bad connection parameters: %s", w);
    return aw__errf(err, errlen, AW_ECONN, "postgres: cannot reach a server at %s: %s (is it running, "
                    "and is the address right?)", c->where, w);
}

int pg__classify(PGconn *conn, const PGresult *r)
{
    if (conn && PQstatus(conn) == CONNECTION_BAD) return AW_ECONN;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!st) return r ? AW_EQUERY : AW_ECONN;
    /* 08: connection exception; 57P01-3: admin/crash shutdown, cannot
     * connect now; 26000: the prepared statement is gone. */
    if (!strncmp(st, "08", 2) || !strncmp(st, "57P0", 4) || !strcmp(st, "26000")) return AW_ECONN;
    return AW_EQUERY;
}

void pg__errmsg(PGconn *conn, const PGresult *r, char *buf, size_t n)
{
    char w[500];
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m) m = conn ? PQerrorMessage(conn) : "connection lost";
    one_line(w, sizeof w, m);
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (st) snprintf(buf, n, "postgres: %s (SQLSTATE %s)", w, st);
    else snprintf(buf, n, "postgres: %s", *w ? w : "connection lost");
}

/* -------------------------------------------------------------- statements */

static void quiet(void *arg, const char *message) { (void)arg; (void)message; }

void pg__quiet(PGconn *conn)
{
    /* libpq prints server notices (and "terminating connection due to
     * administrator command") on stderr by default: a library must not. */
    if (conn) PQsetNoticeProcessor(conn, quiet, NULL);
}

PGconn *pg__connect_blocking(const pg_cfg *c)
{
    PGconn *conn = PQconnectdbParams((const char *const *)c->kw, (const char *const *)c->val, 0);
    pg__quiet(conn);
    return conn;
}

void pg__stmt_free(pg_stmt *s)
{
    if (s->names)
        for (int i = 0; i < s->ncols; i++) free(s->names[i]);
    free(s->names);
    free(s->types);
    free(s->pval);
    free(s->plen);
    free(s->pnum);
    aw_params_free(s->params);
    aw_row_free(s->row);
    aw_results_free(s->res);
    memset(s, 0, sizeof *s);
}

#define ALLOC(p, n) ((p) = calloc((n) ? (size_t)(n) : 1, sizeof *(p)))

int pg__stmt_setup(pg_adapter *a, pg_stmt *s, const PGresult *desc, char *err, size_t errlen)
{
    const pg_cfg *c = &a->cfg;
    memset(s, 0, sizeof *s);
    s->cfg = c;
    s->nparams = PQnparams(desc);
    s->ncols = PQnfields(desc);
    if (s->nparams > PG_MAX_PARAMS)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: the SQL has %d parameters; at most %d",
                        s->nparams, PG_MAX_PARAMS);
    if (!ALLOC(s->types, s->ncols) || !ALLOC(s->names, s->ncols) || !ALLOC(s->pval, s->nparams) ||
        !ALLOC(s->plen, s->nparams) || !ALLOC(s->pnum, s->nparams) || !(s->params = aw_params_new()) ||
        !(s->row = aw_row_new(s->ncols)) || !(s->res = aw_results_new()))
        goto oom;
    for (int i = 0; i < s->ncols; i++) {
        s->types[i] = PQftype(desc, i);
        if (!(s->names[i] = strdup(PQfname(desc, i) ? PQfname(desc, i) : ""))) goto oom;
        aw_row_set_name(s->row, i, s->names[i]);
    }
    if (aw__adapter_set_columns(&a->base, s->ncols, (const char *const *)s->names, s->nparams)) goto oom;
    return 0;
oom:
    pg__stmt_free(s);
    return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
}

int pg__prepare(pg_adapter *a, PGconn *conn, pg_stmt *s, char *err, size_t errlen)
{
    const pg_cfg *c = &a->cfg;
    char w[600];
    PGresult *r = PQprepare(conn, PG_STMT_NAME, c->sql, 0, NULL);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg__errmsg(conn, r, w, sizeof w);
        int code = r && pg__classify(conn, r) == AW_EQUERY ? AW_EQUERY : AW_ECONN;
        PQclear(r);
        return aw__errf(err, errlen, code, "postgres: SQL does not prepare at %s: %s (SQL: %.300s)",
                        c->where, w + 10, c->lookup.sql);
    }
    PQclear(r);
    r = PQdescribePrepared(conn, PG_STMT_NAME);
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        pg__errmsg(conn, r, w, sizeof w);
        PQclear(r);
        return aw__errf(err, errlen, AW_ECONN, "postgres: cannot describe the lookup at %s: %s",
                        c->where, w + 10);
    }
    int rc = pg__stmt_setup(a, s, r, err, errlen);
    PQclear(r);
    return rc;
}

static void fmt_double(char *b, size_t n, double d)
{
    if (isnan(d)) snprintf(b, n, "NaN");
    else if (isinf(d)) snprintf(b, n, d > 0 ? "Infinity" : "-Infinity");
    else snprintf(b, n, "%.17g", d);
}

int pg__stmt_bind(pg_stmt *s, void *input, aw_future *f)
{
    const aw_lookup *l = &s->cfg->lookup;
    int np = aw__lookup_bind(l, s->params, s->res, input, f, s->nparams, "the SQL");
    if (np < 0) return np;
    char msg[160];
    for (int i = 0; i < s->nparams; i++) {
        aw_value v = { .type = AW_VNULL };
        if (i < np) aw_params_get(s->params, i, &v);
        s->plen[i] = 0;
        switch (v.type) {
        case AW_VINT64:
            snprintf(s->pnum[i], sizeof s->pnum[i], "%" PRId64, v.i);
            s->pval[i] = s->pnum[i];
            break;
        case AW_VDOUBLE:
            fmt_double(s->pnum[i], sizeof s->pnum[i], v.d);
            s->pval[i] = s->pnum[i];
            break;
        case AW_VTEXT:
            if (memchr(v.s, 0, v.len)) {
                snprintf(msg, sizeof msg, "postgres: text parameter %d holds a NUL byte, which PostgreSQL "
                         "text cannot", i + 1);
                aw_results_fail(s->res, l, f, AW_EQUERY, msg);
                return AW_EQUERY;
            }
            s->pval[i] = v.s;                 /* NUL-terminated by aw_params */
            s->plen[i] = (int)v.len;
            break;
        default:
            s->pval[i] = NULL;
            break;
        }
    }
    return s->nparams;
}

int pg__stmt_finish(pg_stmt *s, PGconn *conn, const PGresult *r, void *input, aw_future *f)
{
    const aw_lookup *l = &s->cfg->lookup;
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    char msg[600];
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int code = pg__classify(conn, r);
        pg__errmsg(conn, r, msg, sizeof msg);
        aw_results_fail(s->res, l, f, code, msg);
        return code == AW_ECONN ? AW_ECONN : 0;
    }
    int rows = st == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    int cols = PQnfields(r) < s->ncols ? PQnfields(r) : s->ncols;
    for (int t = 0; t < rows; t++) {
        for (int i = 0; i < cols; i++) {
            aw_value v = { .type = AW_VNULL };
            if (!PQgetisnull(r, t, i)) {
                const char *x = PQgetvalue(r, t, i);
                switch (s->types[i]) {
                case OID_INT2: case OID_INT4: case OID_INT8:
                    v.type = AW_VINT64; v.i = strtoll(x, NULL, 10); break;
                case OID_OID:
                    v.type = AW_VINT64; v.i = (int64_t)strtoull(x, NULL, 10); break;
                case OID_FLOAT4: case OID_FLOAT8:
                    v.type = AW_VDOUBLE; v.d = strtod(x, NULL); break;
                default:
                    v.type = AW_VTEXT; v.s = x; v.len = (size_t)PQgetlength(r, t, i); break;
                }
            }
            aw_row_set(s->row, i, &v);
        }
        int rc = aw_results_add_row(s->res, l, input, s->row);
        if (rc < 0) {
            aw_results_fail(s->res, l, f, rc, rc == AW_ENOMEM ? "out of memory" : "lookup row callback failed");
            return 0;
        }
    }
    aw_results_complete(s->res, l, f);
    return 0;
}

/* ------------------------------------------------------------------ opening */

int aw_postgres_open(aw_adapter **out, const aw_postgres_config *cfg, const aw_lookup *lookup,
                     char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_postgres_open: out is NULL");
    *out = NULL;
    if (!cfg || !lookup)
        return aw__errf(err, errlen, AW_EINVAL, "aw_postgres_open: cfg or lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__errf(err, errlen, AW_ECONFIG, "postgres: lookup->sql, ->bind and ->row are required");
    pg_adapter *a = calloc(1, sizeof *a);
    if (!a) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    int rc = pg__cfg_init(&a->cfg, cfg, lookup, err, errlen);
    if (rc) { free(a); return rc; }
    a->base.scheme = pg_scheme;
    a->base.impl = a;
    rc = a->cfg.strategy == AW_POSTGRES_POOL ? pg__pool_start(a, err, errlen)
                                             : pg__async_start(a, err, errlen);
    if (rc) {
        pg__adapter_free(a);
        return rc;
    }
    *out = &a->base;
    return 0;
}

void pg__adapter_free(pg_adapter *a)
{
    aw__adapter_free_columns(&a->base);
    pg__cfg_free(&a->cfg);
    free(a);
}

int aw_postgres_stats_get(aw_adapter *ad, aw_postgres_stats *out)
{
    if (!ad || !out || ad->scheme != pg_scheme) return AW_EINVAL;
    pg_adapter *a = ad->impl;
    out->queries = atomic_load(&a->queries);
    out->conn_lost = atomic_load(&a->conn_lost);
    out->reconnects = atomic_load(&a->reconnects);
    out->connected = atomic_load(&a->connected);
    out->strategy = a->cfg.strategy;
    return 0;
}

#define PG_KNOWN "strategy (pool|async), threads (pool), connections, pipeline, io (async), queue, " \
                 "read_timeout_ms, and libpq's connection parameters (host, sslmode, connect_timeout, ...)"

/* True if libpq knows k as a connection parameter. */
static bool libpq_knows(const char *k)
{
    PQconninfoOption *o = PQconndefaults();
    bool yes = false;
    for (PQconninfoOption *x = o; x && x->keyword; x++)
        if (!strcmp(x->keyword, k)) { yes = true; break; }
    PQconninfoFree(o);
    return yes;
}

int aw__postgres_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup, char *err, size_t errlen)
{
    aw_postgres_config cfg = { 0 };
    aw_uri_server srv = { .host = &cfg.host, .port = &cfg.port, .user = &cfg.user,
                          .password = &cfg.password, .database = &cfg.database };
    int rc = aw__uri_server(u, "postgres", "postgres://user[:pass]@host[:port]/database?...",
                            &srv, err, errlen);
    if (rc) return rc;
    const char *strategy = aw__uri_param(u, "strategy");
    if (strategy && strcmp(strategy, "async") && strcmp(strategy, "pool"))
        return aw__errf(err, errlen, AW_ECONFIG, "strategy=%s: must be pool or async", strategy);
    bool th = aw__uri_param(u, "threads"), cn = aw__uri_param(u, "connections"),
         pl = aw__uri_param(u, "pipeline"), io = aw__uri_param(u, "io");
    if (!strategy && th && (cn || pl || io))
        return aw__errf(err, errlen, AW_ECONFIG, "threads= (strategy=pool) and connections=/pipeline=/io= "
                        "(strategy=async) exclude each other; give one, or strategy=");
    cfg.strategy = strategy ? (!strcmp(strategy, "pool") ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC)
                            : (cn || pl || io) ? AW_POSTGRES_ASYNC : AW_POSTGRES_POOL;
    if (cfg.strategy == AW_POSTGRES_ASYNC && th)
        return aw__errf(err, errlen, AW_ECONFIG, "threads= is for strategy=pool; "
                        "strategy=async takes connections= and pipeline=");
    if (cfg.strategy == AW_POSTGRES_POOL && (cn || pl || io))
        return aw__errf(err, errlen, AW_ECONFIG, "%s= is for strategy=async; strategy=pool takes threads=",
                        cn ? "connections" : pl ? "pipeline" : "io");
    aw_uri_opts o = { .threads = &cfg.threads, .connections = &cfg.connections,
                      .pipeline = &cfg.pipeline, .queue = &cfg.queue_capacity,
                      .read_timeout_ms = &cfg.read_timeout_ms };
    rc = aw__uri_opts(u, &o, err, errlen);
    if (rc) return rc;
    const char *iov = aw__uri_param(u, "io");
    if (iov && strcmp(iov, "owner") && strcmp(iov, "thread"))
        return aw__errf(err, errlen, AW_ECONFIG, "io=%s: must be owner or thread", iov);
    cfg.io_thread = iov && !strcmp(iov, "thread");
    /* Everything else libpq knows goes to libpq; the rest is a mistake. */
    const char *opts[2 * AW_URI_MAX_PARAMS + 1];
    int no = 0;
    for (int i = 0; i < u->nparams; i++) {
        if (u->used[i]) continue;
        if (!libpq_knows(u->key[i]))
            return aw__errf(err, errlen, AW_ECONFIG, "unknown parameter '%s' in %s URI (known: %s)",
                            u->key[i], u->scheme, PG_KNOWN);
        u->used[i] = true;
        opts[no++] = u->key[i];
        opts[no++] = u->val[i];
    }
    opts[no] = NULL;
    cfg.options = opts;
    return aw_postgres_open(out, &cfg, lookup, err, errlen);
}
