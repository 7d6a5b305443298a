/* Shared by tests/test_mysql.c and tests/test_mysql_fault.c: where the
 * throwaway server is (the AW_MYSQL_* environment tests/mariadb.sh sets),
 * and an admin connection to it. */
#ifndef AW_MYSQL_TEST_H
#define AW_MYSQL_TEST_H

#include <mysql.h>
#include "aw_test.h"
#include "lookup.h"
#include "mysql/mysql.h"

typedef struct mt_env {
    bool ok;
    const char *host, *sock, *user, *pass, *db, *dir, *ctl;
    int port;
    long rows;
} mt_env;

extern mt_env mt;

/* True if the server's environment is there; otherwise a CUnit failure
 * that says how to run the suite. Every test starts with it. */
bool mt_need_server(void);

/* The three ways the suite runs the adapter: the async strategy driven by
 * the operator's owner thread (io=owner), the pool, and async on its own
 * I/O thread (io=thread). MT_OWNER and MT_POOL equal AW_MYSQL_ASYNC and
 * AW_MYSQL_POOL. */
enum { MT_OWNER = AW_MYSQL_ASYNC, MT_POOL = AW_MYSQL_POOL, MT_THREAD = 2 };
#define MT_WAY_NAME(w) ((w) == MT_POOL ? "pool" : (w) == MT_THREAD ? "async io=thread" : "async io=owner")

/* "mysql://user@host:port/db?strategy=S&threads|connections=N[&io=..]&EXTRA"
 * for way w (an MT_*) -- the password comes from AW_MYSQL_PASSWORD, as the
 * script exports it. */
void mt_uri(char *buf, size_t n, int w, size_t count, const char *extra);

/* root over the unix socket (no password); NULL on failure. */
MYSQL *mt_admin(void);

/* Runs cmd ("halt" or "resume") of tests/mariadb.sh on our server. 0 = ok. */
int mt_ctl(const char *cmd);

void mysql_read_timeout(void);
void mysql_timeout_while_queued(void);
void mysql_close_while_busy(void);
void mysql_close_from_callback(void);
void mysql_fault_kill_and_restart_pool(void);
void mysql_fault_kill_and_restart_async(void);
void mysql_fault_kill_and_restart_async_thread(void);

#endif
