/* For the MySQL adapter's files only: the resolved configuration, and the
 * prepared-statement plumbing both strategies share (binding aw_params,
 * turning binary-protocol rows into aw_rows, classifying errors). */
#ifndef AW_MYSQL_INT_H
#define AW_MYSQL_INT_H

#include <stdatomic.h>
#include <mysql.h>
#include "../adapter_int.h"
#include "lookup.h"
#include "mysql/mysql.h"

/* The configuration with defaults applied; strings owned. */
typedef struct my_cfg {
    char *host, *sock, *user, *pass, *db;
    unsigned port;
    aw_mysql_strategy strategy;
    aw_mysql_io io;              /* async: OWNER or THREAD (the default resolved) */
    size_t count;                /* threads or connections */
    size_t queue;
    int connect_timeout_ms, read_timeout_ms;
    aw_lookup lookup;
    char where[300];             /* "127.0.0.1:3306" or "unix socket /x", for messages */
} my_cfg;

/* The adapter object both strategies return; impl is theirs. */
typedef struct my_adapter {
    aw_adapter base;
    my_cfg cfg;
    _Atomic uint64_t queries, conn_lost, reconnects;
    _Atomic size_t connected;
    void *strategy;              /* my_pool or aw__nat (the native driver) */
} my_adapter;

int my__cfg_init(my_cfg *c, const aw_mysql_config *cfg, const aw_lookup *l, char *err, size_t errlen);
void my__cfg_free(my_cfg *c);

/* mysql_library_init once (not thread-safe in the library). 0 or AW_ENOMEM. */
int my__library_init(void);

/* mysql_init plus options (timeouts; MYSQL_OPT_NONBLOCK when nonblock).
 * NULL when out of memory. */
MYSQL *my__handle(const my_cfg *c, bool nonblock);

/* Fills err for a failed connect on m (wrong password, unknown database,
 * unreachable...) and returns AW_ECONN or AW_ECONFIG. */
int my__connect_error(const my_cfg *c, MYSQL *m, char *err, size_t errlen);

/* What an execution error means: AW_ECONN if the connection is gone (the
 * record may be retried elsewhere and the connection must be replaced),
 * AW_EQUERY otherwise. */
int my__classify(unsigned err);

/* One prepared statement with its bind buffers, per connection. */
typedef struct my_stmt {
    MYSQL_STMT *st;
    const aw_lookup *lookup;
    unsigned nparams, ncols;
    MYSQL_BIND *pbind;
    int64_t *pint;
    double *pdbl;
    unsigned long *plen;
    MYSQL_BIND *rbind;
    int64_t *rint;
    double *rdbl;
    char **rbuf;
    unsigned long *rlen, *rcap;
    my_bool *rnull, *rerr;
    char **names;
    aw_params *params;
    aw_row *row;
    aw_results *res;
} my_stmt;

/* After a successful prepare of st: checks and allocates the buffers.
 * 0, or < 0 with a sentence in err. On failure nothing is kept (st too is
 * left to the caller). */
int my__stmt_setup(my_stmt *s, MYSQL_STMT *st, const my_cfg *c, char *err, size_t errlen);

/* Frees the buffers (not s->st). Accepts a zeroed s. */
void my__stmt_free(my_stmt *s);

/* Runs lookup->bind for input and binds the values. 0, or < 0 with the
 * record failed already (f settled: bind's code, or AW_EQUERY). */
int my__stmt_bind(my_stmt *s, void *input, aw_future *f);

/* After a successful execute and store_result: fetches every row through
 * lookup->row, completes f with the results (or fails it) and frees the
 * statement's result. Never leaves f unsettled. */
void my__stmt_finish(my_stmt *s, void *input, aw_future *f);

/* Message for an execution error of s: "query failed: <server words>
 * (errno N)". */
void my__stmt_errmsg(const my_stmt *s, char *buf, size_t n);

/* What aw_mysql_open made (columns, cfg, a): for the strategies' close. */
void my__adapter_free(my_adapter *a);

/* The two strategies (pool.c, async.c). Both take over nothing on
 * failure; on success the adapter owns a. */
int my__pool_start(my_adapter *a, char *err, size_t errlen);
int my__async_start(my_adapter *a, char *err, size_t errlen);

#endif
