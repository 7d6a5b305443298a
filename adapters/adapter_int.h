/* For adapter implementations only: the adapter object every adapter
 * returns, the URI pieces the registry parses for them (uri.c), what the
 * adapters share (shared.c) and the lookup cache's entry points (cache.c). */
#ifndef AW_ADAPTER_INT_H
#define AW_ADAPTER_INT_H

#include <stdatomic.h>
#include "adapter.h"
#include "error_int.h"            /* aw__errf: every err sentence */
#include "pool.h"

struct aw_adapter {
    const char *scheme;
    void *impl;
    const aw_function *fn;
    void (*close)(void *impl);
    struct aw__columns *cols;    /* set once, by the first connection to prepare */
    struct aw__cache *cache;     /* aw_adapter_open's counters and cache (cache.c) */
};

/* Records the prepared lookup's result column names and placeholder count
 * (aw_adapter_columns). Any thread; only the first call stores, later ones
 * return 0 at once. 0 or AW_ENOMEM. */
int aw__adapter_set_columns(aw_adapter *a, int ncols, const char *const *names, int nparams);
/* Frees what aw__adapter_set_columns stored; for the adapter's own free,
 * once no connection can call the setter. */
void aw__adapter_free_columns(aw_adapter *a);

#define AW_URI_MAX_PARAMS 32

/* scheme:[//[user[:pass]@]host[:port]]path?k=v&... with %XX decoded. */
typedef struct aw_uri {
    char *scheme, *user, *pass, *host, *path;   /* NULL when absent */
    int port;                                   /* 0 when absent */
    bool has_authority;                         /* "//" present */
    int nparams;
    char *key[AW_URI_MAX_PARAMS], *val[AW_URI_MAX_PARAMS];
    bool used[AW_URI_MAX_PARAMS];
    char *buf;
} aw_uri;

int aw__uri_parse(aw_uri *u, const char *uri, char *err, size_t errlen);
void aw__uri_free(aw_uri *u);
/* Parameter value (marks it used), or NULL. */
const char *aw__uri_param(aw_uri *u, const char *key);
/* Parses a size parameter in [min, max]; 0 if absent (def kept). */
int aw__uri_size(aw_uri *u, const char *key, size_t min, size_t max, size_t *out,
                 char *err, size_t errlen);
/* For server URIs, scheme://[user[:pass]@]host[:port][/database]: where
 * a field is not NULL it gets its piece of u (NULL or 0 when absent). */
typedef struct aw_uri_server {
    const char **host, **user, **password, **database;
    unsigned *port;
} aw_uri_server;
/* Fills o; AW_ECONFIG "<name> URIs look like <shape>" when the // is
 * missing and, with o->database set, "<name> URI path '/a/b': expected
 * /database" for a path of more than one segment. */
int aw__uri_server(const aw_uri *u, const char *name, const char *shape, const aw_uri_server *o,
                   char *err, size_t errlen);
/* The parameters several adapters take, with one name and range each:
 * where a field is not NULL its parameter is read (0 / NULL kept when
 * absent); a NULL field leaves its parameter unused, so
 * aw__uri_check_unused names it if given. */
typedef struct aw_uri_opts {
    size_t *threads, *connections;      /* threads=, connections=: 1-1024 */
    size_t *pipeline;                   /* pipeline=: 1-65536 */
    size_t *queue;                      /* queue=: 1-16777216 */
    int *connect_timeout_ms, *read_timeout_ms;   /* 1-3600000 */
    const char **unix_socket, **password_env;    /* any text */
} aw_uri_opts;
/* 0, or AW_ECONFIG naming the first bad value. */
int aw__uri_opts(aw_uri *u, const aw_uri_opts *o, char *err, size_t errlen);
/* AW_ECONFIG naming the first parameter no adapter asked for. */
int aw__uri_check_unused(aw_uri *u, const char *known, char *err, size_t errlen);

/* ------------------------------------------------ shared.c: what adapters share */

/* The bind step of a record: clears p, runs l->bind for input into it and
 * checks it bound at most max parameters. Returns how many it bound
 * (>= 0), or < 0 with f failed through res (l->free_result gets nothing):
 * bind's own code ("lookup bind callback failed"), or AW_EQUERY ("lookup
 * bound 2 parameters but <what> has 1 placeholders"; what: "the SQL",
 * "the command"). The adapter's thread. */
int aw__lookup_bind(const aw_lookup *l, aw_params *p, aw_results *res, void *input, aw_future *f,
                    int max, const char *what);

/* The server's address as messages name it: "unix socket /x" when sock is
 * not NULL, else "host:port". */
void aw__server_where(char *out, size_t outlen, const char *sock, const char *host, unsigned port);

/* strategy=pool of a network adapter: the thread pool (lib/pool.h) on the
 * adapter's blocking client, and the connection counters its stats report.
 * The client's callbacks get the aw__pool_client as ctx (its adapter in
 * ->a); connect calls aw__pool_client_up once it holds a connection and
 * disconnect aw__pool_client_down once it let go of one. */
typedef struct aw__pool_client {
    void *a;                            /* the adapter; not owned */
    aw_pool *pool;
    _Atomic size_t *connected;          /* the adapter's counters */
    _Atomic uint64_t *reconnects;
    _Atomic bool opened;                /* past the first connects: later ones are reconnects */
} aw__pool_client;

typedef struct aw__pool_client_cfg {
    void *adapter;
    aw_adapter *base;                   /* the adapter's: its fn and close are set */
    void (*close)(void *impl);          /* the adapter's close: aw__pool_client_free, then its own */
    size_t threads, queue;              /* aw_pool_config's */
    int (*connect)(void *p, void **conn, char *err, size_t errlen);
    int (*call)(void *p, void *conn, void *input, aw_future *f);
    void (*disconnect)(void *p, void *conn);
    _Atomic size_t *connected;
    _Atomic uint64_t *reconnects;
} aw__pool_client_cfg;

/* Starts the pool: every worker connected, or nothing left running and
 * the first connect's code and sentence. 0 with *strategy set to the
 * aw__pool_client and cfg->base's fn (the pool's) and close set. */
int aw__pool_client_start(const aw__pool_client_cfg *cfg, void **strategy, char *err, size_t errlen);
void aw__pool_client_up(aw__pool_client *p);
void aw__pool_client_down(aw__pool_client *p);
/* Stops and frees the pool (accepts NULL); for the adapter's close. From
 * one of the pool's workers (a lookup callback) it does nothing and
 * returns AW_EINVAL: the adapter must not free itself then either. */
int aw__pool_client_free(aw__pool_client *p);

/* The lookup cache (cache.c). aw__cache_new reads cache=, cache_ttl_ms= and
 * cache_missing= from u (AW_ECONFIG naming a bad one) and gives the lookup
 * the adapter must run instead of the user's (*wrapped); attach after the
 * adapter opened (it may wrap a->fn), free if it did not. */
struct aw__cache;
int aw__cache_new(struct aw__cache **out, aw_uri *u, const aw_lookup *user, aw_lookup *wrapped,
                  char *err, size_t errlen);
void aw__cache_attach(struct aw__cache *c, aw_adapter *a);
void aw__cache_free(struct aw__cache *c);
/* True inside one of the user's lookup callbacks run for c's adapter. */
bool aw__cache_in_callback(const struct aw__cache *c);
/* Tests: the clock cache_ttl_ms is measured on (NULL: monotonic). */
void aw__cache_set_clock(aw_adapter *a, int64_t (*now_ms)(void *ctx), void *ctx);

/* Each adapter's entry, listed in registry.c. */
int aw__sqlite_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup,
                        char *err, size_t errlen);
/* adapters/mysql/common.c; listed only when built with AW_HAVE_MYSQL. */
int aw__mysql_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup,
                       char *err, size_t errlen);
/* adapters/postgres/common.c; listed only when built with AW_HAVE_POSTGRES. */
int aw__postgres_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup,
                          char *err, size_t errlen);
/* adapters/redis/common.c; listed only when built with AW_HAVE_REDIS. */
int aw__redis_open_uri(aw_adapter **out, aw_uri *u, const aw_lookup *lookup,
                       char *err, size_t errlen);

#endif
