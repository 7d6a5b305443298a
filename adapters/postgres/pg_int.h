/* For the PostgreSQL adapter's files only: the resolved configuration,
 * connecting and preparing, parameters into libpq's arrays, text results
 * into aw_rows, and what an error means. */
#ifndef AW_PG_INT_H
#define AW_PG_INT_H

#include <stdatomic.h>
#include <libpq-fe.h>
#include "../adapter_int.h"
#include "lookup.h"
#include "postgres/postgres.h"

#define PG_STMT_NAME "aw_lookup"
#define PG_MAX_PARAMS 1024

/* The configuration with defaults applied; strings owned. */
typedef struct pg_cfg {
    char **kw, **val;            /* libpq parameters, NULL-terminated */
    int nkw;
    aw_postgres_strategy strategy;
    size_t count;                /* threads or connections */
    size_t pipeline, queue;
    bool io_thread;
    int read_timeout_ms;
    int connect_timeout_ms;      /* for the native connect deadline */
    char *sql;                   /* lookup->sql with $1..$n */
    int nq;                      /* placeholders in it */
    aw_lookup lookup;
    char where[300];             /* "127.0.0.1:5432", for messages */
    char user[100], db[100];     /* for messages ("" = libpq's default) */
} pg_cfg;

typedef struct pg_adapter {
    aw_adapter base;
    pg_cfg cfg;
    _Atomic uint64_t queries, conn_lost, reconnects;
    _Atomic size_t connected;
    void *strategy;
} pg_adapter;

/* One connection's prepared lookup: what PQdescribePrepared said, and the
 * buffers a call reuses. */
typedef struct pg_stmt {
    const pg_cfg *cfg;
    int nparams, ncols;
    Oid *types;                  /* result column types */
    char **names;
    const char **pval;           /* parameter values for libpq */
    int *plen;
    char (*pnum)[32];            /* numbers formatted */
    aw_params *params;
    aw_row *row;
    aw_results *res;
} pg_stmt;

int pg__cfg_init(pg_cfg *c, const aw_postgres_config *cfg, const aw_lookup *l, char *err, size_t errlen);
void pg__cfg_free(pg_cfg *c);

/* lookup SQL with ? turned into $1..$n; *n = how many. NULL on ENOMEM. */
char *pg__convert_sql(const char *sql, int *n);

/* Fills err for a connection that failed to come up and returns AW_ECONFIG
 * (wrong password, unknown database) or AW_ECONN. */
int pg__connect_error(const pg_cfg *c, PGconn *conn, char *err, size_t errlen);

/* After a connection is up (blocking): prepares the lookup and describes
 * it into s, records the columns on the adapter. 0 or < 0 with err. */
int pg__prepare(pg_adapter *a, PGconn *conn, pg_stmt *s, char *err, size_t errlen);

/* From a PGRES_COMMAND_OK/TUPLES_OK of PQdescribePrepared: sets up s.
 * 0 or < 0 with err. */
int pg__stmt_setup(pg_adapter *a, pg_stmt *s, const PGresult *desc, char *err, size_t errlen);
void pg__stmt_free(pg_stmt *s);

/* Runs lookup->bind for input and fills s->pval/plen. Returns the number
 * of parameters (>= 0), or < 0 with f failed already. */
int pg__stmt_bind(pg_stmt *s, void *input, aw_future *f);

/* A result of the lookup: rows into results and f completed, or the
 * error into f (AW_EQUERY or AW_ECONN). Never leaves f unsettled. Returns
 * 0, or AW_ECONN when the error says the connection is gone. */
int pg__stmt_finish(pg_stmt *s, PGconn *conn, const PGresult *r, void *input, aw_future *f);

/* What a failed result means: AW_ECONN (connection gone / shut down) or
 * AW_EQUERY. conn may be NULL. */
int pg__classify(PGconn *conn, const PGresult *r);

/* "postgres: <server's words>" for a failed result (or the connection). */
void pg__errmsg(PGconn *conn, const PGresult *r, char *buf, size_t n);

/* Silences libpq's notice printing on conn (NULL is fine). */
void pg__quiet(PGconn *conn);

/* What aw_postgres_open made (columns, cfg, a): for the strategies' close. */
void pg__adapter_free(pg_adapter *a);

/* Connect (blocking, libpq's connect_timeout); NULL only on ENOMEM. */
PGconn *pg__connect_blocking(const pg_cfg *c);

int pg__pool_start(pg_adapter *a, char *err, size_t errlen);
int pg__async_start(pg_adapter *a, char *err, size_t errlen);

#endif
