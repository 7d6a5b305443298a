/* Shared by tests/test_postgres.c and tests/test_postgres_fault.c: where
 * the throwaway server is (the AW_PG_* environment tests/postgres.sh
 * sets), an admin connection to it, and the strategies under test. */
#ifndef AW_PG_TEST_H
#define AW_PG_TEST_H

#include <libpq-fe.h>
#include "aw_test.h"
#include "lookup.h"
#include "postgres/postgres.h"

typedef struct pt_env {
    bool ok;
    const char *host, *sock, *user, *pass, *db, *dir, *ctl;
    int port;
    long rows;
} pt_env;

extern pt_env pt;

/* Strategies the suites run: pool and async. */
#define PT_NSTRAT 2
extern const aw_postgres_strategy pt_strat[PT_NSTRAT];
extern const char *const pt_strat_name[PT_NSTRAT];

/* Reads the environment (once); false if it is not there. */
bool pt_env_read(void);

/* True if the server's environment is there; otherwise a CUnit failure
 * that says how to run the suite. Every test starts with it. */
bool pt_need_server(void);

/* "postgres://user@host:port/db?strategy=S&threads|connections=N&EXTRA";
 * the password comes from PGPASSWORD, which the suites set from
 * AW_PG_PASSWORD. */
void pt_uri(char *buf, size_t n, aw_postgres_strategy s, size_t count, const char *extra);

/* The superuser over the unix socket (no password); NULL on failure. */
PGconn *pt_admin(void);

/* Runs cmd ("halt" or "resume") of tests/postgres.sh on our server. 0 = ok. */
int pt_ctl(const char *cmd);

/* test_postgres.c's lookup of customers by id (rows: at_cust). */
extern const aw_lookup pt_cust_lookup;

void postgres_config_mistakes(void);
void postgres_adapter_columns(void);
void postgres_read_timeout(void);
void postgres_timeout_while_queued(void);
void postgres_close_while_busy(void);
void postgres_close_from_callback(void);
void postgres_fault_kill_and_restart_pool(void);
void postgres_fault_kill_and_restart_async(void);

#endif
