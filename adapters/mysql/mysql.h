/*
 * mysql.h -- the MySQL/MariaDB adapter (MariaDB Connector/C, Debian's
 * libmariadb-dev), two strategies for the same aw_lookup:
 *
 *   pool   a bounded thread pool (lib/pool.h) of blocking clients: one
 *          connection per worker, the lookup's SQL prepared once per
 *          connection as a server-side statement, binary protocol.
 *   async  the native non-blocking client: N connections (MYSQL_OPT_NONBLOCK,
 *          mysql_*_start/_cont) on one event loop (lib/loop.h, driven by
 *          adapters/native.c), each with its statement prepared once and
 *          one query in flight (the protocol allows no more); records wait
 *          for a free connection in invoke order (FIFO). Who runs the loop:
 *            io=owner (default)  the operator's owner thread, inside its
 *                   aw_op_* calls (the function's aw_function.loop): invoke
 *                   sends the query at once; bind and row run, and futures
 *                   complete, on the owner thread -- no thread hand-off.
 *            io=thread  ONE I/O thread of the adapter's; invoke hands the
 *                   record over through a lock-free queue and at most one
 *                   eventfd write; bind and row run on that thread.
 *          io=owner needs the operator to be the one that runs the loop:
 *          pass aw_adapter_function(a) itself (its .loop) to aw_op_new; an
 *          adapter serves one operator at a time (a second aw_op_new on it
 *          fails with AW_EINVAL while the first lives).
 *
 * By URI, through aw_adapter_open (adapters/adapter.h):
 *   mysql://user:pass@127.0.0.1:3306/db?strategy=pool&threads=16
 *   mysql://user@host/db?strategy=async&connections=16
 *   mysql://user@localhost/db?unix_socket=/run/mysqld/mysqld.sock
 * Parameters: strategy=async|pool (default async; pool when only threads=
 * is given), threads (pool, 1-1024,
 * default 4), connections (async, 1-1024, default 4), io=owner|thread
 * (async only, default owner), queue (pool: initial
 * queue), unix_socket, connect_timeout_ms (default 5000), read_timeout_ms
 * (default 30000; a query without an answer that long counts as a lost
 * connection), password_env=NAME. Port default 3306, host default
 * 127.0.0.1. User and database are %-decoded.
 * The password, first found of: the URI's user:pass, the environment
 * variable password_env names (an error if it is unset), AW_MYSQL_PASSWORD;
 * else none. Keep it out of command lines with the latter two.
 *
 * Or in code: aw_mysql_open with an aw_mysql_config (same defaults).
 *
 * ERRORS AT OPEN (AW_ECONFIG, AW_ECONN, AW_EQUERY; the sentence in err
 * names the cause and the server's words): unknown parameter or strategy,
 * threads= with strategy=async (or connections= with pool), wrong user or
 * password, unreachable host or socket, unknown database, SQL that does not
 * prepare (syntax, missing table or column), more ? than 1024, io= other
 * than owner or thread, io= with strategy=pool. Every
 * connection connects and prepares before open returns.
 *
 * FAILURES: nothing is lost. A query error (the server refused this
 * execution) fails its record with AW_EQUERY and the server's message. A
 * lost connection (server restart, KILL, network, read_timeout_ms) fails
 * the record it held with AW_ECONN; the connection is replaced after a
 * backoff of 10 ms doubling to 1 s, while the other connections carry on.
 * With retry on (aw_retry.if_error accepting AW_ECONN), those records are
 * tried again. async: when a reconnect attempt fails while no connection is
 * up, the records waiting for one fail with AW_ECONN too (rather than wait
 * for a server that may never come back); pool: waiting records wait for a
 * worker to reconnect, or for the operator's timeout (lib/pool.h).
 *
 * CLOSE. The function's close (called by aw_op_free) stops the adapter:
 * async fails every queued record and the ones in flight with AW_ECLOSED
 * and closes the connections (io=thread: on the I/O thread, then joins
 * it); pool as lib/pool.h says. After it returns nothing of the adapter
 * touches a future. aw_adapter_close then frees the adapter (NULL is
 * fine); free the operator first (with io=owner it holds the adapter's
 * loop). Closing from inside a lookup callback (bind or row: on an adapter
 * thread, or with io=owner inside the operator's loop) does nothing; a
 * second close does nothing.
 *
 * TIMEOUTS. A record that times out while it waits for a connection is
 * withdrawn and fails with AW_ETIMEDOUT. One whose query is on the wire
 * fails with AW_ETIMEDOUT at once too, and the owner does not wait: the
 * query's answer is dropped without calling row (the input may be gone).
 * (io=owner decides this on the owner thread with no handshake; io=thread
 * asks the I/O thread, which answers at once.)
 * (Only while row() itself runs -- CPU time, no waiting on the server --
 * does the pool's timeout wait for it to end.)
 *
 * Values: integer columns come as AW_VINT64 (BIGINT UNSIGNED above
 * INT64_MAX wraps), FLOAT/DOUBLE as AW_VDOUBLE, everything else (DECIMAL,
 * dates, strings, BLOBs) as AW_VTEXT with its exact length (embedded NULs
 * kept), NUL-terminated.
 */
#ifndef AW_MYSQL_H
#define AW_MYSQL_H

#include "adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aw_mysql_strategy {
    AW_MYSQL_ASYNC = 0,     /* N non-blocking connections on one event loop */
    AW_MYSQL_POOL = 1       /* N worker threads, one blocking connection each */
} aw_mysql_strategy;

/* Who runs the async strategy's event loop. */
typedef enum aw_mysql_io {
    AW_MYSQL_IO_DEFAULT = 0,  /* = AW_MYSQL_IO_OWNER (measured: docs/mysql.md) */
    AW_MYSQL_IO_OWNER = 1,    /* the operator's owner thread, inside aw_op_* calls */
    AW_MYSQL_IO_THREAD = 2    /* an I/O thread of the adapter's own */
} aw_mysql_io;

/* Caller-filled; zero means default. Strings are copied by aw_mysql_open. */
typedef struct aw_mysql_config {
    const char *host;            /* NULL = "127.0.0.1" (ignored with unix_socket) */
    unsigned port;               /* 0 = 3306 */
    const char *unix_socket;     /* non-NULL: connect through this socket */
    const char *user;            /* NULL = "" (the server decides) */
    const char *password;        /* NULL: password_env, then AW_MYSQL_PASSWORD */
    const char *password_env;    /* name of an environment variable */
    const char *database;        /* NULL: none (the SQL must qualify its tables) */
    aw_mysql_strategy strategy;
    size_t threads;              /* pool workers; 0 = 4 */
    size_t connections;          /* async connections; 0 = 4 */
    size_t queue_capacity;       /* pool: initial queue; 0 = threads * 2 */
    int connect_timeout_ms;      /* 0 = 5000 */
    int read_timeout_ms;         /* 0 = 30000 */
    aw_mysql_io io;              /* async only; 0 = owner */
} aw_mysql_config;

/* Opens the adapter: connects every connection and prepares lookup->sql on
 * each before it returns. cfg and lookup are copied (lookup->ctx is not
 * owned). Returns as aw_adapter_open (adapter.h), with the sentence in err.
 * Any thread; the lookup callbacks later run on adapter threads (pool,
 * async io=thread) or on the operator's owner thread (async io=owner). */
int aw_mysql_open(aw_adapter **out, const aw_mysql_config *cfg, const aw_lookup *lookup,
                  char *err, size_t errlen);

/* Adapter counters, for tests and demos. */
typedef struct aw_mysql_stats {
    uint64_t queries;            /* executions that got an answer (rows or error) */
    uint64_t conn_lost;          /* connections found broken */
    uint64_t reconnects;         /* successful reconnects */
    size_t connected;            /* connections up now */
    aw_mysql_strategy strategy;  /* the one the adapter runs */
    aw_mysql_io io;              /* async: OWNER or THREAD; pool: DEFAULT */
} aw_mysql_stats;

/* Any thread. Returns 0, or AW_EINVAL if a is not a MySQL adapter. */
int aw_mysql_stats_get(aw_adapter *a, aw_mysql_stats *out);

#ifdef __cplusplus
}
#endif
#endif
