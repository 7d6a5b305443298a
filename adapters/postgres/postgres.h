/*
 * postgres.h -- the PostgreSQL adapter (libpq, Debian's libpq-dev), two
 * strategies for the same aw_lookup:
 *
 *   pool   a bounded thread pool (lib/pool.h) of blocking clients: one
 *          connection per worker, the lookup's SQL prepared once per
 *          connection, one query at a time per connection.
 *   async  native: libpq non-blocking + pipeline mode over N connections,
 *          up to `pipeline` queries in flight on each; answers are matched
 *          to records in FIFO order (adapters/postgres/async.c).
 *
 * By URI, through aw_adapter_open (adapters/adapter.h); postgres:// and
 * postgresql:// are the same:
 *   postgres://app@127.0.0.1:5432/shop?strategy=pool&threads=16
 *   postgres://app@127.0.0.1:5432/shop?strategy=async&connections=2&pipeline=256
 *   postgresql://app@/shop?host=/run/postgresql&sslmode=disable
 * Our parameters: strategy=pool|async (default pool; async when
 * connections= or pipeline= is given), threads (pool, 1-1024, default 4),
 * connections (async, 1-1024, default 2), pipeline (async, 1-65536,
 * default 64), queue (pool: initial queue), io=owner|thread (async: which
 * thread runs the connections), read_timeout_ms (default 30000: a query
 * without an answer that long counts as a lost connection).
 * EVERY OTHER parameter goes to libpq as it is -- host, hostaddr,
 * sslmode, connect_timeout, options, application_name, service, ... --
 * as long as libpq knows its name (PQconndefaults); an unknown one is
 * refused at open. libpq's environment works too (PGHOST, PGPORT,
 * PGDATABASE, PGUSER, PGPASSWORD, PGSERVICE, PGCONNECT_TIMEOUT, ~/.pgpass).
 * connect_timeout defaults to 5 s unless the URI or PGCONNECT_TIMEOUT sets
 * it. User, password, host and database are %-decoded.
 *
 * THE PASSWORD: the URI's user:pass, else libpq's own means (PGPASSWORD,
 * ~/.pgpass, a service file). It is never written into a message. Keep it
 * out of command lines with PGPASSWORD.
 *
 * THE SQL: ? placeholders, as every SQL adapter takes them, turned into
 * $1, $2, ... (not inside '...', E'...', "...", $tag$...$tag$ or
 * comments). A ? meant as an operator (jsonb) is therefore not possible:
 * use the function form (jsonb_exists). Parameters go as text; the server
 * parses them into the types it inferred at prepare (so an int64 bound to
 * an integer column works). Text parameters must not hold NUL bytes (the
 * record fails with AW_EQUERY).
 *
 * VALUES: int2/int4/int8/oid columns come as AW_VINT64, float4/float8 as
 * AW_VDOUBLE, everything else as AW_VTEXT in PostgreSQL's text output,
 * with its exact length, NUL-terminated: numeric ("12.345"), dates, text,
 * bool ("t" / "f"), arrays ("{1,2,NULL}"), bytea in hex ("\x6162").
 * SQL NULL is AW_VNULL. Results are read in text format (measured and
 * explained in docs/postgres.md).
 *
 * ERRORS AT OPEN (AW_ECONFIG, AW_ECONN, AW_EQUERY; the sentence in err
 * names the cause and the server's words): unknown parameter or strategy,
 * threads= with strategy=async (or connections=/pipeline= with pool), wrong
 * user or password, unknown database, unreachable host (within
 * connect_timeout), SQL that does not prepare (syntax, missing table or
 * column), more than 1024 placeholders. Every connection connects and
 * prepares before open returns.
 *
 * FAILURES: nothing is lost. A query error fails its record with AW_EQUERY
 * and the server's message. A lost connection (pg_terminate_backend,
 * server restart, network, read_timeout_ms) fails the records it held --
 * in pipeline mode every record in that connection's pipeline -- with
 * AW_ECONN, and the connection is replaced after a backoff of 10 ms
 * doubling to 1 s while the others carry on. With retry on
 * (aw_retry.if_error accepting AW_ECONN) those records are tried again.
 *
 * CLOSE. The function's close (called by aw_op_free) stops the adapter and
 * fails what it holds with AW_ECLOSED; after it returns no adapter thread
 * touches a future. aw_adapter_close then frees the adapter (NULL is
 * fine); free the operator first. Closing from inside a lookup callback
 * does nothing.
 *
 * TIMEOUTS. A record that times out while it waits for a connection is
 * withdrawn and fails with AW_ETIMEDOUT; one whose query is on the wire
 * fails with AW_ETIMEDOUT at once too: the owner does not wait for the
 * server, and the answer is dropped without calling row.
 */
#ifndef AW_POSTGRES_H
#define AW_POSTGRES_H

#include "adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aw_postgres_strategy {
    AW_POSTGRES_POOL = 0,       /* N worker threads, one blocking connection each */
    AW_POSTGRES_ASYNC = 1       /* N non-blocking connections in pipeline mode */
} aw_postgres_strategy;

/* Caller-filled; zero means default (libpq's own default where we have
 * none). Strings are copied by aw_postgres_open. */
typedef struct aw_postgres_config {
    const char *host;            /* NULL: libpq's (PGHOST, else the default socket) */
    unsigned port;               /* 0: libpq's (PGPORT, else 5432) */
    const char *user;            /* NULL: libpq's (PGUSER, else the OS user) */
    const char *password;        /* NULL: libpq's means (PGPASSWORD, ~/.pgpass) */
    const char *database;        /* NULL: libpq's (PGDATABASE, else the user name) */
    /* More libpq connection parameters: "key", "value", ..., NULL (e.g.
     * "sslmode", "disable"). Borrowed during the call. May be NULL. */
    const char *const *options;
    aw_postgres_strategy strategy;
    size_t threads;              /* pool workers; 0 = 4 */
    size_t connections;          /* async connections; 0 = 2 */
    size_t pipeline;             /* async: queries in flight per connection; 0 = 64 */
    size_t queue_capacity;       /* pool: initial queue; 0 = threads * 2 */
    bool io_thread;              /* async: own I/O thread (io=thread) instead of
                                    the operator's owner thread (io=owner) */
    int read_timeout_ms;         /* 0 = 30000 */
} aw_postgres_config;

/* Opens the adapter: connects every connection and prepares lookup->sql on
 * each before it returns. cfg and lookup are copied (lookup->ctx is not
 * owned). Returns as aw_adapter_open (adapter.h), with the sentence in
 * err. Any thread; the lookup callbacks later run on adapter threads (or,
 * with io=owner, on the operator's owner thread). */
int aw_postgres_open(aw_adapter **out, const aw_postgres_config *cfg, const aw_lookup *lookup,
                     char *err, size_t errlen);

/* Adapter counters, for tests and demos. */
typedef struct aw_postgres_stats {
    uint64_t queries;            /* executions that got an answer (rows or error) */
    uint64_t conn_lost;          /* connections found broken */
    uint64_t reconnects;         /* successful reconnects */
    size_t connected;            /* connections up now */
    aw_postgres_strategy strategy;
} aw_postgres_stats;

/* Any thread. Returns 0, or AW_EINVAL if a is not a PostgreSQL adapter. */
int aw_postgres_stats_get(aw_adapter *a, aw_postgres_stats *out);

#ifdef __cplusplus
}
#endif
#endif
