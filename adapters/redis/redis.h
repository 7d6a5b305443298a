/*
 * redis.h -- the Redis adapter (hiredis, Debian's libhiredis-dev), two
 * strategies for the same aw_lookup:
 *
 *   pool   a bounded thread pool (lib/pool.h) of blocking redisContexts, one
 *          per worker, one command in flight each.
 *   async  N non-blocking connections with up to `pipeline` commands in
 *          flight on each (replies matched in order, FIFO): hiredis's reply
 *          reader, and our own output buffer written once per burst when
 *          the socket is writable, not once per record; on one event loop
 *          (lib/loop.h, driven by adapters/native.c). Who runs the loop:
 *            io=owner (default)  the operator's owner thread, inside its
 *                   aw_op_* calls (aw_function.loop): no thread hand-off;
 *                   bind and row run, and futures complete, on the owner.
 *            io=thread  ONE I/O thread of the adapter's; invoke hands the
 *                   record over through a lock-free queue and at most one
 *                   eventfd write; bind and row run on that thread.
 *          io=owner: pass aw_adapter_function(a) itself to aw_op_new; an
 *          adapter serves one operator at a time.
 *
 * THE COMMAND TEMPLATE. lookup->sql holds a Redis command whose arguments
 * are separated by whitespace; each `?` inside an argument is replaced by
 * the next parameter bound (aw_params_*): integers in decimal, doubles
 * with %.17g, text byte for byte with its length (spaces, NULs, `?` and
 * newlines in the data are safe: arguments go to Redis as an argv with
 * lengths, never through string formatting):
 *     GET user:?            HGET customer:? name     ZSCORE rank ?
 *     HMGET customer:? name city score                HGETALL customer:?
 * A NULL parameter (aw_params_null, or one left unset) matches nothing:
 * the record completes with no rows and no command is sent -- as SQL's
 * `= NULL` does. More parameters bound than `?` fail the record (AW_EQUERY).
 *
 * REPLIES AS ROWS, so row callbacks and aw-enrich work unchanged:
 *   bulk string, status, integer  one row, one column `value` (integers as
 *                                 AW_VINT64, the rest AW_VTEXT; RESP2 sends
 *                                 doubles such as ZSCORE's as text, which
 *                                 aw_row_double parses)
 *   HMGET                         one row, columns named after the fields
 *                                 of the template (a nil field is NULL)
 *   HGETALL                       one row, columns named by field, in reply
 *                                 order
 *   any other array               one row per element, column `value`
 *   nil, an empty array, or an HMGET whose every field is nil: no rows (so
 *   a left join keeps the record). An error reply fails the record with
 *   AW_EQUERY and the server's words ("redis: WRONGTYPE Operation ...").
 * aw_adapter_columns: HMGET's field names, HGETALL none (known only once
 * a reply names them), else one column `value`; nparams = the `?` count.
 *
 * By URI, through aw_adapter_open (adapters/adapter.h):
 *   redis://127.0.0.1:6379/0?strategy=pool&threads=16
 *   redis://app@127.0.0.1:6379/0?strategy=async&connections=1&pipeline=256
 *   redis://localhost/2?unix_socket=/run/redis.sock&threads=4
 * The path is the database number (default 0). Parameters: strategy=pool|
 * async (default async; pool when threads= is given), threads (pool,
 * 1-1024, default 4), connections (async, 1-1024, default 1), pipeline
 * (async, 1-65536, default 64), io=owner|thread (async, default owner),
 * queue (pool: initial queue), unix_socket,
 * connect_timeout_ms (default 5000), read_timeout_ms (default 30000: a
 * command unanswered that long counts as a lost connection), password_env.
 * Unknown parameters are refused. Port default 6379, host 127.0.0.1.
 * The password, first found of: the URI's user:pass (or :pass), the
 * variable password_env names (an error if unset), AW_REDIS_PASSWORD; with
 * a user name it is an ACL login (AUTH user pass), without one AUTH pass.
 * A user name without any password is refused. No message ever shows the
 * password.
 *
 * ERRORS AT OPEN (the sentence in err names the cause): unreachable server
 * or socket (AW_ECONN), AUTH refused -- the reply is checked, since a
 * failed AUTH leaves the connection logged in as the default user --
 * (AW_ECONFIG), a database SELECT refuses (AW_ECONFIG), a command Redis
 * does not know or with the wrong number of arguments, checked with
 * COMMAND INFO (AW_EQUERY), an empty template or more than 1024 `?`
 * (AW_ECONFIG), an unknown parameter (AW_ECONFIG).
 *
 * FAILURES: nothing is lost. An error reply fails its record (AW_EQUERY);
 * the connection carries on. A lost connection (server restart, CLIENT
 * KILL, read_timeout_ms) fails every record it held -- the pool's one,
 * or the whole pipeline -- with AW_ECONN, and is replaced after a backoff
 * of 10 ms doubling to 1 s; the other connections carry on. With retry on
 * (aw_retry.if_error accepting AW_ECONN) those records are tried again.
 * async: when a reconnect fails while no connection is up, the records
 * waiting for one fail with AW_ECONN too.
 *
 * TIMEOUTS. A record that times out while it waits is withdrawn
 * (AW_ETIMEDOUT); one whose command is on the wire fails with AW_ETIMEDOUT
 * at once, and its reply is later dropped without calling row.
 *
 * CLOSE. As the MySQL adapter (mysql.h): the function's close, called by
 * aw_op_free, fails what is queued or in flight with AW_ECLOSED and joins
 * the adapter's threads; then aw_adapter_close frees it. Closing from
 * inside a lookup callback does nothing.
 */
#ifndef AW_REDIS_H
#define AW_REDIS_H

#include "adapter.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aw_redis_io {
    AW_REDIS_IO_DEFAULT = 0,  /* = AW_REDIS_IO_OWNER */
    AW_REDIS_IO_OWNER = 1,    /* the operator's owner thread, inside aw_op_* calls */
    AW_REDIS_IO_THREAD = 2    /* an I/O thread of the adapter's own */
} aw_redis_io;

typedef enum aw_redis_strategy {
    AW_REDIS_ASYNC = 0,     /* one I/O thread, N pipelined non-blocking connections */
    AW_REDIS_POOL = 1       /* N worker threads, one blocking context each */
} aw_redis_strategy;

/* Caller-filled; zero means default. Strings are copied by aw_redis_open. */
typedef struct aw_redis_config {
    const char *host;            /* NULL = "127.0.0.1" (ignored with unix_socket) */
    unsigned port;               /* 0 = 6379 */
    const char *unix_socket;     /* non-NULL: connect through this socket */
    const char *user;            /* ACL user; NULL = the default user */
    const char *password;        /* NULL: password_env, then AW_REDIS_PASSWORD */
    const char *password_env;    /* name of an environment variable */
    int db;                      /* SELECTed database, >= 0 */
    aw_redis_strategy strategy;
    size_t threads;              /* pool workers; 0 = 4 */
    size_t connections;          /* async connections; 0 = 1 */
    size_t pipeline;             /* async: commands in flight per connection; 0 = 64 */
    aw_redis_io io;              /* async only; 0 = owner */
    size_t queue_capacity;       /* pool: initial queue; 0 = threads * 2 */
    int connect_timeout_ms;      /* 0 = 5000 */
    int read_timeout_ms;         /* 0 = 30000 */
} aw_redis_config;

/* Opens the adapter: checks the command (COMMAND INFO), then connects
 * (AUTH, SELECT) every connection before it returns. cfg and lookup are
 * copied (lookup->ctx is not owned). Returns as aw_adapter_open. Any
 * thread; the lookup callbacks later run on adapter threads. */
int aw_redis_open(aw_adapter **out, const aw_redis_config *cfg, const aw_lookup *lookup,
                  char *err, size_t errlen);

/* Adapter counters, for tests and demos. */
typedef struct aw_redis_stats {
    uint64_t commands;           /* commands answered (a reply or an error reply) */
    uint64_t conn_lost;          /* connections found broken */
    uint64_t reconnects;         /* successful reconnects */
    size_t connected;            /* connections up now */
    aw_redis_strategy strategy;  /* the one the adapter runs */
    aw_redis_io io;              /* async: OWNER or THREAD; pool: DEFAULT */
} aw_redis_stats;

/* Any thread. Returns 0, or AW_EINVAL if a is not a Redis adapter. */
int aw_redis_stats_get(aw_adapter *a, aw_redis_stats *out);

#ifdef __cplusplus
}
#endif
#endif
