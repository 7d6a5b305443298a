/* The one table from URI scheme to adapter, and the calls every adapter
 * answers alike (aw_adapter_open, _function, _scheme, _columns, _close).
 * A new store adds a line here and a folder beside this file; the core
 * never learns of it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "adapter_int.h"

#ifdef AW_HAVE_MYSQL
#define KNOWN_MYSQL ", mysql"
#else
#define KNOWN_MYSQL ""
#endif
#ifdef AW_HAVE_POSTGRES
#define KNOWN_POSTGRES ", postgres, postgresql"
#else
#define KNOWN_POSTGRES ""
#endif
#ifdef AW_HAVE_REDIS
#define KNOWN_REDIS ", redis"
#else
#define KNOWN_REDIS ""
#endif
#define KNOWN_SCHEMES "sqlite" KNOWN_MYSQL KNOWN_POSTGRES KNOWN_REDIS

typedef int (*open_fn)(aw_adapter **, aw_uri *, const aw_lookup *, char *, size_t);

static const struct { const char *scheme; open_fn open; } schemes[] = {
    { "sqlite", aw__sqlite_open_uri },
#ifdef AW_HAVE_MYSQL
    { "mysql", aw__mysql_open_uri },
#endif
#ifdef AW_HAVE_POSTGRES
    { "postgres", aw__postgres_open_uri },
    { "postgresql", aw__postgres_open_uri },
#endif
#ifdef AW_HAVE_REDIS
    { "redis", aw__redis_open_uri },
#endif
};

int aw_adapter_open(aw_adapter **out, const char *uri, const aw_lookup *lookup,
                    char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__errf(err, errlen, AW_EINVAL, "aw_adapter_open: out is NULL");
    *out = NULL;
    if (!uri) return aw__errf(err, errlen, AW_EINVAL, "aw_adapter_open: uri is NULL");
    if (!lookup) return aw__errf(err, errlen, AW_EINVAL, "aw_adapter_open: lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__errf(err, errlen, AW_ECONFIG,
                        "aw_adapter_open: lookup->sql, ->bind and ->row are required");
    aw_uri u;
    int rc = aw__uri_parse(&u, uri, err, errlen);
    if (rc) return rc;
    struct aw__cache *cache = NULL;
    aw_lookup wrapped;
    if ((rc = aw__cache_new(&cache, &u, lookup, &wrapped, err, errlen)) != 0) {
        aw__uri_free(&u);
        return rc;
    }
    rc = AW_ECONFIG;
    size_t i;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (!strcmp(u.scheme, schemes[i].scheme)) break;
    if (i < sizeof schemes / sizeof schemes[0])
        rc = schemes[i].open(out, &u, &wrapped, err, errlen);
#ifndef AW_HAVE_MYSQL
    else if (!strcmp(u.scheme, "mysql"))
        aw__errf(err, errlen, AW_ECONFIG, "mysql:// needs the MySQL adapter, which this "
                 "build lacks: install libmariadb-dev and rebuild");
#endif
#ifndef AW_HAVE_POSTGRES
    else if (!strcmp(u.scheme, "postgres") || !strcmp(u.scheme, "postgresql"))
        aw__errf(err, errlen, AW_ECONFIG, "%s:// needs the PostgreSQL adapter, which this "
                 "build lacks: install libpq-dev and rebuild", u.scheme);
#endif
#ifndef AW_HAVE_REDIS
    else if (!strcmp(u.scheme, "redis"))
        aw__errf(err, errlen, AW_ECONFIG, "redis:// needs the Redis adapter, which this "
                 "build lacks: install libhiredis-dev and rebuild");
#endif
    else
    {
        char shown[512];
        aw__errf(err, errlen, AW_ECONFIG, "unknown scheme '%s' in '%s' (known: %s)",
                 u.scheme, aw_uri_redact(uri, shown, sizeof shown), KNOWN_SCHEMES);
    }
    aw__uri_free(&u);
    if (rc == 0) aw__cache_attach(cache, *out);
    else aw__cache_free(cache);
    return rc;
}

const aw_function *aw_adapter_function(aw_adapter *a) { return a ? a->fn : NULL; }

struct aw__columns { int n, nparams; char *names[]; };

/* One lock for every adapter: taken once per connection made. */
static pthread_mutex_t cols_mu = PTHREAD_MUTEX_INITIALIZER;

int aw__adapter_set_columns(aw_adapter *a, int ncols, const char *const *names, int nparams)
{
    pthread_mutex_lock(&cols_mu);
    int rc = 0;
    if (!a->cols) {
        size_t bytes = sizeof(struct aw__columns) + ((size_t)ncols + 1) * sizeof(char *);
        for (int i = 0; i < ncols; i++) bytes += strlen(names[i] ? names[i] : "") + 1;
        struct aw__columns *c = malloc(bytes);
        if (c) {
            char *p = (char *)&c->names[ncols + 1];
            c->n = ncols;
            c->nparams = nparams;
            for (int i = 0; i < ncols; i++) {
                size_t len = strlen(names[i] ? names[i] : "") + 1;
                c->names[i] = memcpy(p, names[i] ? names[i] : "", len);
                p += len;
            }
            c->names[ncols] = NULL;
            a->cols = c;
        } else {
            rc = AW_ENOMEM;
        }
    }
    pthread_mutex_unlock(&cols_mu);
    return rc;
}

void aw__adapter_free_columns(aw_adapter *a)
{
    free(a->cols);
    a->cols = NULL;
}

int aw_adapter_columns(const aw_adapter *a, const char *const **names, int *ncols, int *nparams)
{
    if (!a) return AW_EINVAL;
    pthread_mutex_lock(&cols_mu);
    const struct aw__columns *c = a->cols;
    pthread_mutex_unlock(&cols_mu);
    if (names) *names = c ? (const char *const *)c->names : NULL;
    if (ncols) *ncols = c ? c->n : 0;
    if (nparams) *nparams = c ? c->nparams : 0;
    return 0;
}

const char *aw_adapter_scheme(const aw_adapter *a) { return a ? a->scheme : ""; }

void aw_adapter_close(aw_adapter *a)
{
    if (!a) return;
    struct aw__cache *c = a->cache;
    if (c && aw__cache_in_callback(c)) return;   /* as the adapters do from their threads */
    a->close(a->impl);                           /* frees a */
    aw__cache_free(c);
}
