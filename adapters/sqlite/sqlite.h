/*
 * sqlite.h -- the SQLite adapter: an aw_lookup run on a thread pool, each
 * worker with its own connection (SQLITE_OPEN_NOMUTEX, read-only unless
 * asked) and the statement prepared once per connection.
 *
 * By URI, through aw_adapter_open (adapters/adapter.h):
 *   sqlite:///abs/path.db?threads=4      sqlite:relative.db?threads=4
 * Parameters: threads (1-1024, default 4), queue (initial pool queue,
 * default threads*2), mode=ro|rw (default ro) or readwrite=0|1,
 * busy_timeout_ms (default 5000; 0 = none). Or in code, with aw_sqlite_open
 * and an aw_sqlite_config. docs/adapters.md lists every error sentence.
 *
 * A lookup's SQL must be one statement; in read-only mode it must not
 * write. A step error that means the file went bad (SQLITE_IOERR, CORRUPT,
 * NOTADB) fails the record with AW_EQUERY and sqlite's words and replaces
 * the worker's connection; other step errors fail the record only.
 * aw_adapter_close from inside a lookup callback does nothing.
 */
#ifndef AW_SQLITE_H
#define AW_SQLITE_H

#include <sqlite3.h>
#include "adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aw_sqlite_config {
    const char *path;            /* database file; must exist */
    size_t threads;              /* 0 = 4 */
    size_t queue_capacity;       /* 0 = threads * 2 */
    bool readwrite;              /* false: SQLITE_OPEN_READONLY */
    int busy_timeout_ms;         /* 0 = 5000; < 0 = none */
    /* Optional, on every worker's new connection before the statement is
     * prepared (pragmas, user functions). < 0 fails the connection; write
     * a sentence into err. */
    int (*on_connect)(void *ctx, sqlite3 *db, char *err, size_t errlen);
    void *on_connect_ctx;
} aw_sqlite_config;

/* Opens the adapter: cfg and lookup are copied (cfg->path too). Every
 * worker connects and prepares lookup->sql before this returns, so a
 * missing file, SQL that does not prepare or a missing table is reported
 * here in err. Returns as aw_adapter_open. */
int aw_sqlite_open(aw_adapter **out, const aw_sqlite_config *cfg, const aw_lookup *lookup,
                   char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
