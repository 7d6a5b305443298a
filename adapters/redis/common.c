/* The Redis adapter's shared half: configuration (typed and by URI), the
 * command template, argv building, replies into rows, and the blocking
 * connect both strategies use (the pool for every worker, async at open
 * to check the command). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "redis_int.h"

static const char rd_scheme[] = "redis";

/* ---------------------------------------------------------- configuration */

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

static void cfg_free(rd_cfg *c)
{
    free(c->host);
    free(c->sock);
    free(c->user);
    if (c->pass) memset(c->pass, 0, strlen(c->pass));
    free(c->pass);
    for (int i = 0; i < c->nargs; i++) free(c->args[i].text);
    free(c->args);
    memset(c, 0, sizeof *c);
}

/* Splits the template into arguments and counts the `?`. */
static int parse_template(rd_cfg *c, const char *t, char *err, size_t errlen)
{
    int cap = 0;
    const char *p = t;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *s = p;
        int nq = 0;
        while (*p && !isspace((unsigned char)*p)) nq += *p++ == '?';
        if (c->nargs == cap) {
            cap = cap ? cap * 2 : 8;
            rd_arg *a = realloc(c->args, (size_t)cap * sizeof *a);
            if (!a) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
            c->args = a;
        }
        rd_arg *a = &c->args[c->nargs];
        a->len = (size_t)(p - s);
        if (!(a->text = strndup(s, a->len))) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
        a->nq = nq;
        c->nargs++;
        c->nparams += nq;
    }
    if (c->nargs == 0)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: the command template is empty "
                        "(expected e.g. 'GET user:?' or 'HMGET customer:? name city')");
    if (c->nparams > RD_MAX_PARAMS)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: the command has %d ? (at most %d)",
                        c->nparams, RD_MAX_PARAMS);
    if (c->args[0].nq)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: the command name '%s' cannot hold a ?",
                        c->args[0].text);
    if (!strcasecmp(c->args[0].text, "HMGET")) c->kind = RD_HMGET;
    else if (!strcasecmp(c->args[0].text, "HGETALL")) c->kind = RD_HGETALL;
    else c->kind = RD_GENERIC;
    return 0;
}

static int cfg_init(rd_cfg *c, const aw_redis_config *cfg, const aw_lookup *l, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (cfg->strategy != AW_REDIS_ASYNC && cfg->strategy != AW_REDIS_POOL)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: unknown strategy %d", (int)cfg->strategy);
    size_t count = cfg->strategy == AW_REDIS_POOL ? cfg->threads : cfg->connections;
    if (count > 1024)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: %s must be 1 to 1024 (got %zu)",
                        cfg->strategy == AW_REDIS_POOL ? "threads" : "connections", count);
    if (cfg->io != AW_REDIS_IO_DEFAULT && cfg->io != AW_REDIS_IO_OWNER && cfg->io != AW_REDIS_IO_THREAD)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: unknown io %d", (int)cfg->io);
    if (cfg->strategy == AW_REDIS_POOL && cfg->io != AW_REDIS_IO_DEFAULT)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: io= is for strategy=async (the pool's "
                        "workers do their own I/O)");
    if (cfg->pipeline > 65536)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: pipeline must be 1 to 65536 (got %zu)",
                        cfg->pipeline);
    if (cfg->connect_timeout_ms < 0 || cfg->read_timeout_ms < 0)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: timeouts must be >= 0 ms");
    if (cfg->port > 65535)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: port %u out of range", cfg->port);
    if (cfg->db < 0)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: database number %d is negative", cfg->db);
    const char *pass = cfg->password;
    if (!pass && cfg->password_env) {
        pass = getenv(cfg->password_env);
        if (!pass)
            return aw__errf(err, errlen, AW_ECONFIG, "redis: password_env=%s names an "
                            "environment variable that is not set", cfg->password_env);
    }
    if (!pass) pass = getenv("AW_REDIS_PASSWORD");
    if (pass && !*pass) pass = NULL;
    const char *user = cfg->user && *cfg->user ? cfg->user : NULL;
    if (user && !pass)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: user '%s' given without a password "
                        "(user:pass@ in the URI, password_env=NAME or AW_REDIS_PASSWORD)", user);
    bool oom = false;
    c->host = dup_or_null(cfg->host && *cfg->host ? cfg->host : "127.0.0.1", &oom);
    c->sock = dup_or_null(cfg->unix_socket && *cfg->unix_socket ? cfg->unix_socket : NULL, &oom);
    c->user = dup_or_null(user, &oom);
    c->pass = dup_or_null(pass, &oom);
    if (oom) {
        cfg_free(c);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    c->port = cfg->port ? cfg->port : 6379;
    c->db = cfg->db;
    c->strategy = cfg->strategy;
    c->count = count ? count : cfg->strategy == AW_REDIS_POOL ? 4 : 1;
    c->pipeline = cfg->pipeline ? cfg->pipeline : 64;
    c->io_thread = cfg->io == AW_REDIS_IO_THREAD;
    c->queue = cfg->queue_capacity;
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    c->read_timeout_ms = cfg->read_timeout_ms ? cfg->read_timeout_ms : 30000;
    c->lookup = *l;
    aw__server_where(c->where, sizeof c->where, c->sock, c->host, c->port);
    int rc = parse_template(c, l->sql, err, errlen);
    if (rc) cfg_free(c);
    return rc;
}

/* ------------------------------------------------------------ connecting */

void rd__conn_errmsg(const rd_cfg *c, const char *why, char *buf, size_t n)
{
    snprintf(buf, n, "redis: connection to %s lost: %s", c->where, why && *why ? why : "closed by the server");
}

int rd__auth_argv(const rd_cfg *c, const char *argv[3], size_t lens[3])
{
    if (!c->pass) return 0;
    int n = 0;
    argv[n] = "AUTH"; lens[n++] = 4;
    if (c->user) { argv[n] = c->user; lens[n++] = strlen(c->user); }
    argv[n] = c->pass; lens[n++] = strlen(c->pass);
    return n;
}

static struct timeval ms_tv(int ms) { return (struct timeval){ ms / 1000, (ms % 1000) * 1000 }; }

int rd__connect(const rd_cfg *c, redisContext **out, char *err, size_t errlen)
{
    *out = NULL;
    struct timeval ct = ms_tv(c->connect_timeout_ms);
    redisContext *k = c->sock ? redisConnectUnixWithTimeout(c->sock, ct)
                              : redisConnectWithTimeout(c->host, (int)c->port, ct);
    if (!k) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    if (k->err) {
        aw__errf(err, errlen, AW_ECONN, "redis: cannot reach a server at %s: %s", c->where, k->errstr);
        redisFree(k);
        return AW_ECONN;
    }
    /* The connect timeout bounds the set-up exchange too. */
    redisSetTimeout(k, ct);
    const char *argv[3];
    size_t lens[3];
    int n = rd__auth_argv(c, argv, lens);
    if (n) {
        redisReply *r = redisCommandArgv(k, n, argv, lens);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            int code = r ? AW_ECONFIG : AW_ECONN;
            if (r) aw__errf(err, errlen, code, "redis: AUTH as %s%s%s at %s refused: wrong user or "
                            "password (server: %s)", c->user ? "user '" : "the default user",
                            c->user ? c->user : "", c->user ? "'" : "", c->where, r->str);
            else aw__errf(err, errlen, code, "redis: no answer to AUTH from %s: %s", c->where, k->errstr);
            freeReplyObject(r);
            redisFree(k);
            return code;
        }
        freeReplyObject(r);
    }
    if (c->db) {
        redisReply *r = redisCommand(k, "SELECT %d", c->db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            int code = r ? AW_ECONFIG : AW_ECONN;
            aw__errf(err, errlen, code, "redis: SELECT %d at %s failed: %s", c->db, c->where,
                     r ? r->str : k->errstr);
            freeReplyObject(r);
            redisFree(k);
            return code;
        }
        freeReplyObject(r);
    }
    /* A server that is still loading its data answers every command with
     * -LOADING: not up yet, as far as we are concerned. */
    redisReply *r = redisCommand(k, "PING");
    if (!r || r->type == REDIS_REPLY_ERROR) {
        int code = r && strncmp(r->str, "LOADING", 7) ? AW_ECONFIG : AW_ECONN;
        bool noauth = r && !strncmp(r->str, "NOAUTH", 6);
        aw__errf(err, errlen, code, "redis: PING at %s failed: %s%s", c->where, r ? r->str : k->errstr,
                 noauth ? " (the server needs a login: user:pass@ in the URI, password_env=NAME "
                                 "or AW_REDIS_PASSWORD)" : "");
        freeReplyObject(r);
        redisFree(k);
        return code;
    }
    freeReplyObject(r);
    redisSetTimeout(k, ms_tv(c->read_timeout_ms));
    *out = k;
    return 0;
}

/* COMMAND INFO name: does Redis know it, and does the template give it the
 * number of arguments it takes? Also proves the login (NOAUTH). */
static int check_command(const rd_cfg *c, char *err, size_t errlen)
{
    redisContext *k;
    int rc = rd__connect(c, &k, err, errlen);
    if (rc) return rc;
    const char *argv[3] = { "COMMAND", "INFO", c->args[0].text };
    size_t lens[3] = { 7, 4, c->args[0].len };
    redisReply *r = redisCommandArgv(k, 3, argv, lens);
    if (!r) {
        rc = aw__errf(err, errlen, AW_ECONN, "redis: no answer from %s: %s", c->where, k->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        if (!strncmp(r->str, "NOAUTH", 6) || !strncmp(r->str, "WRONGPASS", 9))
            rc = aw__errf(err, errlen, AW_ECONFIG, "redis: %s needs a login: %s (give user:pass@ in "
                          "the URI, password_env=NAME or AW_REDIS_PASSWORD)", c->where, r->str);
        else if (strncmp(r->str, "NOPERM", 6))   /* a user may not run COMMAND: skip the check */
            rc = aw__errf(err, errlen, AW_EQUERY, "redis: COMMAND INFO %s failed: %s",
                          c->args[0].text, r->str);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
               r->element[0]->type != REDIS_REPLY_ARRAY) {
        rc = aw__errf(err, errlen, AW_EQUERY, "redis: unknown command '%s' (COMMAND INFO at %s "
                      "knows no such command)", c->args[0].text, c->where);
    } else {
        const redisReply *info = r->element[0];
        if (info->elements >= 2 && info->element[1]->type == REDIS_REPLY_INTEGER) {
            long long arity = info->element[1]->integer;
            if ((arity > 0 && c->nargs != arity) || (arity < 0 && c->nargs < -arity))
                rc = aw__errf(err, errlen, AW_EQUERY, "redis: %s takes %s%lld arguments (the command "
                              "name counted), the template gives %d", c->args[0].text,
                              arity < 0 ? "at least " : "", arity < 0 ? -arity : arity, c->nargs);
        }
    }
    freeReplyObject(r);
    redisFree(k);
    return rc;
}

/* ---------------------------------------------------------- executing */

int rd__exec_init(rd_exec *e, const rd_cfg *c)
{
    memset(e, 0, sizeof *e);
    e->cfg = c;
    e->params = aw_params_new();
    e->argv = calloc((size_t)c->nargs, sizeof *e->argv);
    e->lens = calloc((size_t)c->nargs, sizeof *e->lens);
    e->res = aw_results_new();
    if (!e->params || !e->argv || !e->lens || !e->res) {
        rd__exec_free(e);
        return AW_ENOMEM;
    }
    for (int i = 0; i < c->nargs; i++) {
        e->argv[i] = c->args[i].text;
        e->lens[i] = c->args[i].len;
    }
    return 0;
}

void rd__exec_free(rd_exec *e)
{
    aw_params_free(e->params);
    free(e->argv);
    free(e->lens);
    free(e->buf);
    aw_row_free(e->row);
    aw_results_free(e->res);
    memset(e, 0, sizeof *e);
}

static bool reserve(rd_exec *e, size_t need)
{
    if (need <= e->bufcap) return true;
    size_t cap = e->bufcap ? e->bufcap : 256;
    while (cap < need) cap *= 2;
    char *b = realloc(e->buf, cap);
    if (!b) return false;
    e->buf = b;
    e->bufcap = cap;
    return true;
}

int rd__exec_build(rd_exec *e, void *input, aw_future *f)
{
    const rd_cfg *c = e->cfg;
    const aw_lookup *l = &c->lookup;
    int np = aw__lookup_bind(l, e->params, e->res, input, f, c->nparams, "the command");
    if (np < 0) return 0;                                /* f failed already */
    /* Arguments with a ? are built into buf at offsets (buf may move),
     * pointed at once all are in. */
    size_t used = 0;
    int q = 0;
    for (int i = 0; i < c->nargs; i++) {
        const rd_arg *a = &c->args[i];
        if (!a->nq) continue;
        size_t start = used;
        for (size_t j = 0; j < a->len; j++) {
            if (a->text[j] != '?') {
                if (!reserve(e, used + 1)) goto oom;
                e->buf[used++] = a->text[j];
                continue;
            }
            aw_value v = { .type = AW_VNULL };
            if (q < np) aw_params_get(e->params, q, &v);
            q++;
            char num[40];
            const char *s = num;
            size_t len = 0;
            switch (v.type) {
            case AW_VINT64: len = (size_t)snprintf(num, sizeof num, "%" PRId64, v.i); break;
            case AW_VDOUBLE: len = (size_t)snprintf(num, sizeof num, "%.17g", v.d); break;
            case AW_VTEXT: s = v.s; len = v.len; break;
            default:       /* NULL matches nothing, as SQL's = NULL */
                aw_results_complete(e->res, l, f);
                return 0;
            }
            if (!reserve(e, used + len)) goto oom;
            if (len) memcpy(e->buf + used, s, len);
            used += len;
        }
        e->lens[i] = used - start;
        e->argv[i] = (const char *)(uintptr_t)start;   /* an offset for now */
    }
    for (int i = 0; i < c->nargs; i++)
        if (c->args[i].nq) e->argv[i] = e->buf + (uintptr_t)e->argv[i];
    return 1;
oom:
    for (int i = 0; i < c->nargs; i++) e->argv[i] = c->args[i].text;   /* no dangling offsets */
    aw_results_fail(e->res, l, f, AW_ENOMEM, "out of memory building the command");
    return 0;
}

static aw_row *row_of(rd_exec *e, int n)
{
    if (e->row && e->rowcols == n) return e->row;
    aw_row_free(e->row);
    e->row = aw_row_new(n);
    e->rowcols = e->row ? n : 0;
    return e->row;
}

/* One scalar reply element as a value; false for a nested array. */
static bool value_of(const redisReply *r, aw_value *v)
{
    *v = (aw_value){ .type = AW_VNULL };
    switch (r->type) {
    case REDIS_REPLY_NIL: return true;
    case REDIS_REPLY_INTEGER: v->type = AW_VINT64; v->i = r->integer; return true;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS: v->type = AW_VTEXT; v->s = r->str; v->len = r->len; return true;
    default: return false;
    }
}

void rd__exec_finish(rd_exec *e, const redisReply *r, void *input, aw_future *f)
{
    const rd_cfg *c = e->cfg;
    const aw_lookup *l = &c->lookup;
    char msg[400];
    int rc = 0;
    aw_value v;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof msg, "redis: %.*s", (int)(r->len < 380 ? r->len : 380), r->str);
        aw_results_fail(e->res, l, f, AW_EQUERY, msg);
        return;
    }
    if (r->type == REDIS_REPLY_NIL || (r->type == REDIS_REPLY_ARRAY && r->elements == 0)) {
        aw_results_complete(e->res, l, f);
        return;
    }
    snprintf(msg, sizeof msg, "out of memory");
    if (r->type != REDIS_REPLY_ARRAY) {
        aw_row *row = row_of(e, 1);
        if (!row) goto fail_oom;
        value_of(r, &v);
        aw_row_set(row, 0, &v);
        aw_row_set_name(row, 0, "value");
        rc = aw_results_add_row(e->res, l, input, row);
    } else if (c->kind == RD_HMGET) {
        size_t nil = 0;
        for (size_t i = 0; i < r->elements; i++) nil += r->element[i]->type == REDIS_REPLY_NIL;
        if (nil < r->elements) {
            aw_row *row = row_of(e, (int)r->elements);
            if (!row) goto fail_oom;
            for (size_t i = 0; i < r->elements; i++) {
                if (!value_of(r->element[i], &v)) goto fail_shape;
                aw_row_set(row, (int)i, &v);
                aw_row_set_name(row, (int)i, (int)i + 2 < c->nargs ? c->args[i + 2].text : "value");
            }
            rc = aw_results_add_row(e->res, l, input, row);
        }
    } else if (c->kind == RD_HGETALL) {
        aw_row *row = row_of(e, (int)(r->elements / 2));
        if (!row) goto fail_oom;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (r->element[i]->type != REDIS_REPLY_STRING || !value_of(r->element[i + 1], &v)) goto fail_shape;
            aw_row_set(row, (int)(i / 2), &v);
            aw_row_set_name(row, (int)(i / 2), r->element[i]->str);
        }
        rc = aw_results_add_row(e->res, l, input, row);
    } else {
        aw_row *row = row_of(e, 1);
        if (!row) goto fail_oom;
        for (size_t i = 0; i < r->elements && rc == 0; i++) {
            if (!value_of(r->element[i], &v)) goto fail_shape;
            aw_row_set(row, 0, &v);
            aw_row_set_name(row, 0, "value");
            rc = aw_results_add_row(e->res, l, input, row);
        }
    }
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", rc == AW_ENOMEM ? "out of memory" : "lookup row callback failed");
        aw_results_fail(e->res, l, f, rc, msg);
        return;
    }
    aw_results_complete(e->res, l, f);
    return;
fail_shape:
    snprintf(msg, sizeof msg, "redis: %s replied with nested arrays, which do not map to rows",
             c->args[0].text);
    aw_results_fail(e->res, l, f, AW_EQUERY, msg);
    return;
fail_oom:
    aw_results_fail(e->res, l, f, AW_ENOMEM, msg);
}

/* ------------------------------------------------------------- opening */

/* The columns aw_adapter_columns reports (redis.h). */
static int set_columns(rd_adapter *a)
{
    const rd_cfg *c = &a->cfg;
    if (c->kind == RD_HMGET) {
        int n = c->nargs > 2 ? c->nargs - 2 : 0;
        const char **names = calloc((size_t)n + 1, sizeof *names);
        if (!names) return AW_ENOMEM;
        for (int i = 0; i < n; i++) names[i] = c->args[i + 2].text;
        int rc = aw__adapter_set_columns(&a->base, n, names, c->nparams);
        free(names);
        return rc;
    }
    static const char *const value[] = { "value" };
    return aw__adapter_set_columns(&a->base, c->kind == RD_HGETALL ? 0 : 1, value, c->nparams);
}

int aw_redis_open(aw_adapter **out, const aw_redis_config *cfg, const aw_lookup *lookup,
                  char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_redis_open: out is NULL");
    *out = NULL;
    if (!cfg || !lookup) return aw__errf(err, errlen, AW_EINVAL, "aw_redis_open: cfg or lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__errf(err, errlen, AW_ECONFIG, "redis: lookup->sql, ->bind and ->row are required");
    rd_adapter *a = calloc(1, sizeof *a);
    if (!a) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    int rc = cfg_init(&a->cfg, cfg, lookup, err, errlen);
    if (rc) { free(a); return rc; }
    a->base.scheme = rd_scheme;
    a->base.impl = a;
    if ((rc = check_command(&a->cfg, err, errlen)) == 0) {
        if (set_columns(a)) rc = aw__errf(err, errlen, AW_ENOMEM, "out of memory");
        else rc = a->cfg.strategy == AW_REDIS_POOL ? rd__pool_start(a, err, errlen)
                                                   : rd__async_start(a, err, errlen);
    }
    if (rc) {
        aw__adapter_free_columns(&a->base);
        cfg_free(&a->cfg);
        free(a);
        return rc;
    }
    *out = &a->base;
    return 0;
}

/* For the strategies' close: what open made. */
void rd__adapter_free(rd_adapter *a)
{
    aw__adapter_free_columns(&a->base);
    cfg_free(&a->cfg);
    free(a);
}

int aw_redis_stats_get(aw_adapter *ad, aw_redis_stats *out)
{
    if (!ad || !out || ad->scheme != rd_scheme) return AW_EINVAL;
    rd_adapter *a = ad->impl;
    out->commands = atomic_load(&a->commands);
    out->conn_lost = atomic_load(&a->conn_lost);
    out->reconnects = atomic_load(&a->reconnects);
    out->connected = atomic_load(&a->connected);
    out->strategy = a->cfg.strategy;
    out->io = a->cfg.strategy == AW_REDIS_POOL ? AW_REDIS_IO_DEFAULT
            : a->cfg.io_thread ? AW_REDIS_IO_THREAD : AW_REDIS_IO_OWNER;
    return 0;
}

#define REDIS_KNOWN "strategy (async|pool), threads (pool), connections (async), pipeline (async), io (async), " \
                    "queue (pool), unix_socket, connect_timeout_ms, read_timeout_ms, password_env"

int aw__redis_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup, char *err, size_t errlen)
{
    aw_redis_config cfg = { 0 };
    aw_uri_server srv = { .host = &cfg.host, .port = &cfg.port, .user = &cfg.user };
    int rc = aw__uri_server(u, "redis", "redis://[user[:pass]@]host[:port][/db]?...",
                            &srv, err, errlen);
    if (rc) return rc;
    cfg.password = u->pass && *u->pass ? u->pass : NULL;
    if (u->path && u->path[0] == '/' && u->path[1]) {
        char *end;
        long db = strtol(u->path + 1, &end, 10);
        if (*end || db < 0 || db > 1000000 || !isdigit((unsigned char)u->path[1]))
            return aw__errf(err, errlen, AW_ECONFIG, "redis URI path '%s': expected /N, a database "
                            "number", u->path);
        cfg.db = (int)db;
    }
    const char *strategy = aw__uri_param(u, "strategy");
    if (strategy && strcmp(strategy, "async") && strcmp(strategy, "pool"))
        return aw__errf(err, errlen, AW_ECONFIG, "strategy=%s: must be async or pool", strategy);
    bool threads = aw__uri_param(u, "threads") != NULL, queue = aw__uri_param(u, "queue") != NULL;
    bool conns = aw__uri_param(u, "connections") != NULL, pipe = aw__uri_param(u, "pipeline") != NULL;
    const char *io = aw__uri_param(u, "io");
    if (!strategy && threads && (conns || pipe))
        return aw__errf(err, errlen, AW_ECONFIG, "threads= (strategy=pool) and connections=/pipeline= "
                        "(strategy=async) exclude each other; give one, or strategy=");
    cfg.strategy = strategy ? (!strcmp(strategy, "pool") ? AW_REDIS_POOL : AW_REDIS_ASYNC)
                            : threads ? AW_REDIS_POOL : AW_REDIS_ASYNC;
    if (cfg.strategy == AW_REDIS_ASYNC && (threads || queue))
        return aw__errf(err, errlen, AW_ECONFIG, "%s= is for strategy=pool; strategy=async takes "
                        "connections= and pipeline=", threads ? "threads" : "queue");
    if (cfg.strategy == AW_REDIS_POOL && (conns || pipe || io))
        return aw__errf(err, errlen, AW_ECONFIG, "%s= is for strategy=async; strategy=pool takes "
                        "threads=", conns ? "connections" : pipe ? "pipeline" : "io");
    if (io && strcmp(io, "owner") && strcmp(io, "thread"))
        return aw__errf(err, errlen, AW_ECONFIG, "io=%s: must be owner (the operator's owner "
                        "thread runs the connections) or thread (an I/O thread of the adapter's)", io);
    cfg.io = !io ? AW_REDIS_IO_DEFAULT : !strcmp(io, "owner") ? AW_REDIS_IO_OWNER : AW_REDIS_IO_THREAD;
    aw_uri_opts o = { .threads = &cfg.threads, .connections = &cfg.connections,
                      .pipeline = &cfg.pipeline, .queue = &cfg.queue_capacity,
                      .connect_timeout_ms = &cfg.connect_timeout_ms,
                      .read_timeout_ms = &cfg.read_timeout_ms, .unix_socket = &cfg.unix_socket,
                      .password_env = &cfg.password_env };
    rc = aw__uri_opts(u, &o, err, errlen);
    if (rc || (rc = aw__uri_check_unused(u, REDIS_KNOWN, err, errlen))) return rc;
    return aw_redis_open(out, &cfg, lookup, err, errlen);
}
