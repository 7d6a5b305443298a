/* For the Redis adapter's files only: the resolved configuration, the
 * command template, and what both strategies share -- connecting a
 * blocking context (AUTH, SELECT), building a record's argv, and turning
 * a reply into rows. */
#ifndef AW_REDIS_INT_H
#define AW_REDIS_INT_H

#include <stdatomic.h>
#include <hiredis/hiredis.h>
#include "../adapter_int.h"
#include "lookup.h"
#include "redis/redis.h"

#define RD_MAX_PARAMS 1024

/* One argument of the template: literal text, with nq `?` in it. */
typedef struct rd_arg {
    char *text;
    size_t len;
    int nq;
} rd_arg;

typedef enum { RD_GENERIC, RD_HMGET, RD_HGETALL } rd_kind;

/* The configuration with defaults applied; strings owned. */
typedef struct rd_cfg {
    char *host, *sock, *user, *pass;
    unsigned port;
    int db;
    aw_redis_strategy strategy;
    size_t count;                /* threads or connections */
    size_t pipeline, queue;
    bool io_thread;              /* async: io=thread */
    int connect_timeout_ms, read_timeout_ms;
    aw_lookup lookup;
    rd_arg *args;                /* the template */
    int nargs, nparams;
    rd_kind kind;
    char where[300];             /* "127.0.0.1:6379" or "unix socket /x" */
} rd_cfg;

typedef struct rd_adapter {
    aw_adapter base;
    rd_cfg cfg;
    _Atomic uint64_t commands, conn_lost, reconnects;
    _Atomic size_t connected;
    void *strategy;
} rd_adapter;

/* A connection's scratch for one record at a time: parameters, the argv
 * built from them, the row and the results. Kept across records. */
typedef struct rd_exec {
    const rd_cfg *cfg;
    aw_params *params;
    const char **argv;
    size_t *lens;
    char *buf;
    size_t bufcap;
    aw_row *row;
    int rowcols;
    aw_results *res;
} rd_exec;

int rd__exec_init(rd_exec *e, const rd_cfg *c);   /* 0 or AW_ENOMEM */
void rd__exec_free(rd_exec *e);                    /* accepts a zeroed e */

/* Runs bind for input and builds e->argv/e->lens (valid until the next
 * call). Returns 1 when the command is ready; 0 when f is settled already
 * (bind failed, too many parameters, or a NULL parameter: no rows). */
int rd__exec_build(rd_exec *e, void *input, aw_future *f);

/* Completes (or fails) f from reply through lookup->row. reply may be an
 * error reply. Never leaves f unsettled; does not free reply. */
void rd__exec_finish(rd_exec *e, const redisReply *reply, void *input, aw_future *f);

/* A blocking context, connected, AUTHed and SELECTed (read timeout set).
 * 0 with *out, or < 0 with a sentence in err (never the password). */
int rd__connect(const rd_cfg *c, redisContext **out, char *err, size_t errlen);

/* "redis: connection to X lost: <hiredis words>" for a broken context. */
void rd__conn_errmsg(const rd_cfg *c, const char *why, char *buf, size_t n);

/* The AUTH and SELECT commands a new connection sends (argc 0 if none),
 * for the non-blocking strategy. */
int rd__auth_argv(const rd_cfg *c, const char *argv[3], size_t lens[3]);

/* Frees what aw_redis_open made (the strategies' close, last). */
void rd__adapter_free(rd_adapter *a);

/* The two strategies (pool.c, async.c); on success the adapter owns a. */
int rd__pool_start(rd_adapter *a, char *err, size_t errlen);
int rd__async_start(rd_adapter *a, char *err, size_t errlen);

#endif
