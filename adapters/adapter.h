/*
 * adapter.h -- open a store adapter from a URI and get the aw_function the
 * operator needs. The scheme picks the adapter (one table, in
 * adapters/registry.c):
 *
 *   sqlite:///abs/path.db?threads=4      SQLite through the thread pool
 *   sqlite:relative.db?threads=4         (adapters/sqlite/sqlite.h)
 *   redis://user@host:6379/0?...         Redis, pool or pipelined native
 *                                        (adapters/redis/redis.h; built
 *                                        with libhiredis-dev)
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
 * AW_ECONFIG (the URI or lookup is wrong), AW_ECONN (cannot connect),
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

/* Stops the adapter and frees it. Accepts NULL. */
void aw_adapter_close(aw_adapter *a);

#ifdef __cplusplus
}
#endif
#endif
