/* For adapter implementations only: the adapter object every adapter
 * returns, and the URI pieces the registry parses for them. */
#ifndef AW_ADAPTER_INT_H
#define AW_ADAPTER_INT_H

#include "adapter.h"
#include "error_int.h"            /* aw__errf: every err sentence */

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
/* AW_ECONFIG naming the first parameter no adapter asked for. */
int aw__uri_check_unused(aw_uri *u, const char *known, char *err, size_t errlen);

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
