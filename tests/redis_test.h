/* Shared by tests/test_redis.c and tests/test_redis_fault.c: where the
 * throwaway server is (the AW_REDIS_* environment tests/redis.sh sets),
 * and an admin connection to it (the default user, over the socket). */
#ifndef AW_REDIS_TEST_H
#define AW_REDIS_TEST_H

#include <hiredis/hiredis.h>
#include "aw_test.h"
#include "lookup.h"
#include "redis/redis.h"

typedef struct rt_env {
    bool ok;
    const char *host, *sock, *user, *pass, *dir, *ctl;
    int port;
    long rows;
} rt_env;

extern rt_env rt;

/* io= of the async URIs rt_uri makes: "owner" (default) or "thread". */
extern const char *rt_io;

/* True if the server's environment is there; otherwise a CUnit failure
 * that says how to run the suite. Every test starts with it. */
bool rt_need_server(void);

/* "redis://aw@host:port/0?strategy=S&threads|connections=N[&io=rt_io]&EXTRA" -- the
 * password comes from AW_REDIS_PASSWORD, as the script exports it. */
void rt_uri(char *buf, size_t n, aw_redis_strategy s, size_t count, const char *extra);

/* The default user over the unix socket; NULL on failure. */
redisContext *rt_admin(void);

/* Runs cmd ("halt" or "resume") of tests/redis.sh on our server. 0 = ok. */
int rt_ctl(const char *cmd);

void redis_read_timeout(void);
void redis_timeout_while_queued(void);
void redis_close_while_busy(void);
void redis_close_from_callback(void);
void redis_fault_kill_and_restart_pool(void);
void redis_fault_kill_and_restart_async_owner(void);
void redis_fault_kill_and_restart_async_thread(void);

#endif
