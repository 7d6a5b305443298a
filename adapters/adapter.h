/*
 * adapter.h -- open a store adapter from a URI and get the aw_function the
 * operator needs. The scheme picks the adapter (one table, in
 * adapters/registry.c):
 *
 *   sqlite:///abs/path.db?threads=4      SQLite through the thread pool
 *   sqlite:relative.db?threads=4         (adapters/sqlite/sqlite.h; always)
 *   mysql://app@host:3306/db?strategy=async&connections=16
 *                                        MySQL / MariaDB, strategy=pool
 *                                        (threads=N) or async (non-blocking
 *                                        connections=N, io=owner|thread)
 *                                        (adapters/mysql/mysql.h; built with
 *                                        libmariadb-dev)
 *   postgres://app@host:5432/db?strategy=async&connections=2&pipeline=256
 *                                        PostgreSQL, pool or async pipelined
 *                                        (adapters/postgres/postgres.h; also
 *                                        postgresql://; built with libpq-dev)
 *   redis://user@host:6379/0?strategy=async&pipeline=256
 *                                        Redis, pool or async pipelined
 *                                        (adapters/redis/redis.h; built
 *                                        with libhiredis-dev)
 * A scheme whose adapter this build lacks is refused with AW_ECONFIG and
 * the package to install.
 *
 * Every scheme also takes the lookup cache's parameters (adapters/cache.c,
 * docs/adapters.md):
 *   cache=N            keep the answers of up to N keys (LRU); 0 = off, the
 *                      default. The key is the bound parameters, exact values
 *                      and types. With the cache on, concurrent records of
 *                      one key share one query (single-flight).
 *   cache_ttl_ms=T     an answer older than T ms is asked again; 0 = never.
 *   cache_missing=0|1  cache answers with no row too (default 1).
 * With cache=N the lookup's bind runs on the operator's owner thread inside
 * invoke (to make the key), and row runs there too for answers from the
 * cache; on the adapter's threads for answers that just arrived. Each record
 * still gets its own results from row, and keeps its own timeout. A failed
 * lookup is not cached: the records waiting for it fail with its error (the
 * operator's retry policy applies to each).
 *
 * Error codes (docs/adapters.md, "Which code"): AW_ECONFIG for what only
 * the user can fix -- the URI, a missing SQLite file, a wrong password, an
 * unknown database; AW_ECONN for what may heal by itself and is worth a
 * retry -- a server refusing, unreachable or lost.
 *
 * Life cycle: aw_adapter_open -> aw_op_new(..., aw_adapter_function(a), ...)
 * -> ... -> aw_op_free(op) -> aw_adapter_close(a). Free the operator first:
 * its aw_op_free calls the function's close, which stops the adapter's
 * threads and fails what they had queued with AW_ECLOSED.
 */
#ifndef AW_ADAPTER_H
#define AW_ADAPTER_H

#include "asyncwait.h"
#include "lookup.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aw_adapter aw_adapter;

/* Opens the adapter uri names, running lookup (copied; its ctx is not
 * owned) for every record. Connects, prepares lookup->sql, and reports
 * every configuration mistake here, in words, in err (errlen bytes; may be
 * NULL): unknown scheme or parameter, missing file, SQL that does not
 * prepare, ... Returns 0 with *out set, or AW_EINVAL (a NULL argument),
 * AW_ECONFIG (the URI, the lookup or the login is wrong, the SQLite file
 * or the database is not there: only the user can fix it), AW_ECONN (no
 * server answers at the address, for now: may heal, worth a retry),
 * AW_EQUERY (the SQL does not prepare), AW_ENOMEM. */
int aw_adapter_open(aw_adapter **out, const char *uri, const aw_lookup *lookup,
                    char *err, size_t errlen);

/* The function to pass to aw_op_new. Owned by the adapter; NULL for NULL. */
const aw_function *aw_adapter_function(aw_adapter *a);

/* The scheme the adapter was opened with ("sqlite"); "" for NULL. */
const char *aw_adapter_scheme(const aw_adapter *a);

/* The lookup SQL as the store prepared it at open: its result column
 * names (*names, ncols of them, in SELECT order; owned by the adapter and
 * valid until aw_adapter_close) and its number of ? placeholders
 * (*nparams). Any output pointer may be NULL. Returns 0, or AW_EINVAL for a
 * NULL adapter. Lets a program write a header (CSV, say) before any row
 * arrives, and check its parameters against the SQL. */
int aw_adapter_columns(const aw_adapter *a, const char *const **names, int *ncols, int *nparams);

/* Copies uri into out (outlen bytes, NUL-terminated, truncated if need
 * be) with its secrets hidden: the password of user:pass@ becomes ***, and
 * so does the value of a password= (passwd=, pwd=, pass=) parameter:
 * mysql://app:***@db/shop?password=***. Every message that repeats a URI
 * goes through it -- the adapters' and aw-enrich's. Returns out ("" if out
 * is NULL or outlen 0). Any thread. */
const char *aw_uri_redact(const char *uri, char *out, size_t outlen);

/* Counters of an adapter opened by aw_adapter_open. */
typedef struct aw_adapter_stats {
    uint64_t queries;        /* lookups sent to the store (round trips), cache on or off */
    uint64_t cache_hits;     /* records answered from the cache */
    uint64_t cache_misses;   /* records not answered from it: each queried or coalesced */
    uint64_t coalesced;      /* of the misses: records that waited for a query in flight */
    uint64_t evictions;      /* answers dropped to make room (least recently used first) */
    uint64_t expired;        /* answers found older than cache_ttl_ms (and asked again) */
    uint64_t cache_entries;  /* answers held now */
} aw_adapter_stats;

/* Fills *out. Any thread. Returns 0, or AW_EINVAL (a or out NULL, or an
 * adapter opened directly, e.g. with aw_sqlite_open, which keeps none). */
int aw_adapter_stats_get(const aw_adapter *a, aw_adapter_stats *out);

/* Stops the adapter and frees it. Accepts NULL. Called from inside one of
 * the lookup's callbacks it does nothing. */
void aw_adapter_close(aw_adapter *a);

#ifdef __cplusplus
}
#endif
#endif
