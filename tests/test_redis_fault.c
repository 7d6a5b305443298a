/* The Redis adapter when things go wrong (part of the redis suite, listed
 * in test_redis.c): a command outlives read_timeout_ms; records time out
 * while they wait for a connection; the adapter closes while busy and
 * from inside its own callback; and the fault test -- every adapter
 * connection CLIENT KILLed twice and the server restarted in the middle of
 * 100 000 lookups with retry on: every record ends once, none missing,
 * none wrong. Slow commands are BLPOP on a key nobody pushes to (the
 * server blocks, it does not sleep). The machinery is tests/fault_test.c;
 * here are Redis's bits. Async io=owner, io=thread, and the pool. */
#ifdef AW_HAVE_REDIS
#include <stdlib.h>
#include "fault_test.h"
#include "redis_test.h"

/* The scenarios' row: the length of column 0's text, boxed. */
static int row_len(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t *v = malloc(sizeof *v);
    if (!v) return AW_ENOMEM;
    *v = 0;
    aw_row_text(r, 0, v);
    *out = v;
    return 0;
}

/* CLIENT KILL USER aw; how many, or -1. */
static int kill_all(void)
{
    redisContext *k = rt_admin();
    if (!k) return -1;
    redisReply *r = redisCommand(k, "CLIENT KILL USER aw");
    int n = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    freeReplyObject(r);
    redisFree(k);
    return n;
}

static int conn_stats(aw_adapter *a, uint64_t *lost, uint64_t *reconnects)
{
    aw_redis_stats rs;
    int rc = aw_redis_stats_get(a, &rs);
    *lost = rs.conn_lost;
    *reconnects = rs.reconnects;
    return rc;
}

static const ft_store store = { .killed = "CLIENT KILLed", .row = row_len, .kill_all = kill_all, .ctl = rt_ctl,
                                .conn_stats = conn_stats };

/* Variant v: 0 async io=owner, 1 async io=thread, 2 the pool. */
static const char *uri_of(char *buf, size_t n, int v, size_t count, const char *extra)
{
    rt_io = v == 1 ? "thread" : "owner";
    rt_uri(buf, n, v == 2 ? AW_REDIS_POOL : AW_REDIS_ASYNC, count, extra);
    return buf;
}

/* A command that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the command's 3 s;
 * the next command works. */
void redis_read_timeout(void)
{
    if (!rt_need_server()) return;
    char uri[600];
    for (int v = 0; v < 3; v++)
        ft_read_timeout(&store, uri_of(uri, sizeof uri, v, 1, "read_timeout_ms=300"), "BLPOP aw:never:? 3",
                        1, NULL, 2.0);
}

/* One connection blocked for 1 s per command; all four records time out
 * after 100 ms and nobody waits for the running command: four
 * AW_ETIMEDOUT, within well under the command's second. */
void redis_timeout_while_queued(void)
{
    if (!rt_need_server()) return;
    char uri[600];
    for (int v = 0; v < 3; v++)
        ft_timeout_while_queued(&store, uri_of(uri, sizeof uri, v, 1, v == 2 ? NULL : "pipeline=1"),
                                "BLPOP aw:never:? 1", NULL);
}

/* aw_op_free while 64 records are queued or blocked: the adapter fails
 * them (AW_ECLOSED), the operator hands every input back once. */
void redis_close_while_busy(void)
{
    if (!rt_need_server()) return;
    char uri[600];
    for (int v = 0; v < 3; v++)
        ft_close_while_busy(&store, uri_of(uri, sizeof uri, v, 4, NULL), "BLPOP aw:never:? 0.5", 1.5);
}

/* Closing from inside a lookup callback (an adapter thread) does nothing;
 * the run carries on and the adapter closes normally afterwards. */
static bool check_user(const ft_tally *t, intptr_t rec, const void *res)
{
    char want[32];
    return *(const size_t *)res == (size_t)snprintf(want, sizeof want, "name-%ld", (long)rec);
}

void redis_close_from_callback(void)
{
    if (!rt_need_server()) return;
    char uri[600];
    for (int v = 0; v < 3; v++)
        ft_close_from_callback(&store, uri_of(uri, sizeof uri, v, 2, NULL), "GET user:?", check_user);
}

/* ------------------------------------------------------- the fault test */

/* Record i looks up k:<j as 12 digits>, j = i * 7919 % rows, whose value
 * is customer-<j>-<j * 7919 % 100003>: the row callback keeps its text. */
static long key_of(intptr_t i, long rows) { return (long)((i * 7919) % rows); }

static int bind_rec(void *ctx, void *input, aw_params *p)
{
    char k[16];
    int n = snprintf(k, sizeof k, "%012ld", key_of((intptr_t)input, *(const long *)ctx));
    return aw_params_text(p, 0, k, (size_t)n);
}

static int row_copy(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t len = 0;
    const char *t = aw_row_text(r, 0, &len);
    char *c = t ? strndup(t, len) : NULL;
    if (!c) return AW_ENOMEM;
    *out = c;
    return 0;
}

static bool check_k(const ft_tally *t, intptr_t rec, const void *res)
{
    char want[64];
    long j = key_of(rec, t->keys);
    snprintf(want, sizeof want, "customer-%ld-%ld", j, j * 7919 % 100003);
    return !strcmp(res, want);
}

/* CLIENT KILL at 1/5 and 4/5, a restart at 1/2 (tests/fault_test.h); the
 * pool (8 connections) ordered, async (2, pipelined) unordered. */
static void fault_test(int v)
{
    if (!rt_need_server()) return;
    char uri[600], label[40];
    long rows = rt.rows;
    int conns = v == 2 ? 8 : 2;
    aw_lookup l = { .ctx = &rows, .sql = "GET k:?", .bind = bind_rec, .row = row_copy, .free_result = ft_free_res };
    uri_of(uri, sizeof uri, v, (size_t)conns, v == 2 ? "read_timeout_ms=10000" : "read_timeout_ms=10000&pipeline=32");
    snprintf(label, sizeof label, "%s%s", v == 2 ? "pool" : "async io=", v == 2 ? "" : rt_io);
    ft_fault_test(&store, uri, &l, v == 2 ? AW_ORDERED : AW_UNORDERED, check_k, rows, conns, label);
    rt_io = "owner";
}

void redis_fault_kill_and_restart_pool(void) { fault_test(2); }
void redis_fault_kill_and_restart_async_owner(void) { fault_test(0); }
void redis_fault_kill_and_restart_async_thread(void) { fault_test(1); }
#else
typedef int aw_redis_fault_not_built;
#endif
