/* The MySQL adapter when things go wrong (part of the mysql suite, listed
 * in test_mysql.c): a query outlives read_timeout_ms; records time out
 * while they wait for a connection; the adapter closes while busy and
 * from inside its own callback; and the fault test -- the server's
 * connections KILLed and the server stopped and started in the middle of
 * 100 000 lookups with retry on: every record ends emitted or reported,
 * none twice, none missing. The machinery is tests/fault_test.c; here are
 * MySQL's bits. All three ways: io=owner, pool, io=thread. */
#ifdef AW_HAVE_MYSQL
#include <stdlib.h>
#include "fault_test.h"
#include "mysql_test.h"

/* Loop index -> way: io=owner, pool, io=thread. */
static int way_of(int s) { return s == 1 ? MT_POOL : s == 0 ? MT_OWNER : MT_THREAD; }

/* KILL CONNECTION for every connection of user aw; how many, or -1. */
static int kill_all(void)
{
    MYSQL *m = mt_admin();
    if (!m) return -1;
    int n = 0;
    if (mysql_query(m, "SELECT id FROM information_schema.processlist WHERE user = 'aw'") == 0) {
        MYSQL_RES *res = mysql_store_result(m);
        MYSQL_ROW r;
        while (res && (r = mysql_fetch_row(res))) {
            char q[64];
            snprintf(q, sizeof q, "KILL CONNECTION %s", r[0]);
            n += mysql_query(m, q) == 0;
        }
        if (res) mysql_free_result(res);
    }
    mysql_close(m);
    return n;
}

static void thread_init(void) { mysql_thread_init(); }

static int conn_stats(aw_adapter *a, uint64_t *lost, uint64_t *reconnects)
{
    aw_mysql_stats ms;
    int rc = aw_mysql_stats_get(a, &ms);
    *lost = ms.conn_lost;
    *reconnects = ms.reconnects;
    return rc;
}

static const ft_store store = { .killed = "KILLed", .row = ft_row_int, .kill_all = kill_all, .ctl = mt_ctl,
                                .thread_init = thread_init, .thread_end = mysql_thread_end,
                                .conn_stats = conn_stats };

static const char *uri_of(char *buf, size_t n, int way, size_t count, const char *extra)
{
    mt_uri(buf, n, way, count, extra);
    return buf;
}

/* A query that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the query's; the
 * next query works. The pool's blocking client rounds up to 1 s. */
void mysql_read_timeout(void)
{
    if (!mt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 3; s++) {
        bool pool = way_of(s) == MT_POOL;
        ft_read_timeout(&store, uri_of(uri, sizeof uri, way_of(s), 1, "read_timeout_ms=300"), "SELECT SLEEP(?)",
                        3, pool ? NULL : "within 300 ms", pool ? 2.5 : 0.9);      /* SLEEP(3) */
    }
}

/* One connection busy for 1 s per query; all four records time out after
 * 100 ms, and nobody waits for the running query: async abandons it (its
 * answer is dropped), the pool's call has let go of its input
 * (aw_pool_input_release). The three waiting ones are withdrawn with a
 * message that says so: four AW_ETIMEDOUT, within well under the query's
 * second. */
void mysql_timeout_while_queued(void)
{
    if (!mt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 3; s++)
        ft_timeout_while_queued(&store, uri_of(uri, sizeof uri, way_of(s), 1, NULL), "SELECT SLEEP(1), ?",
                                way_of(s) == MT_POOL ? "timed out while queued"
                                                     : "waiting for a free MySQL connection");
}

/* aw_op_free while 64 records are queued or running: the adapter fails
 * them (AW_ECLOSED), the operator hands every input back once. */
void mysql_close_while_busy(void)
{
    if (!mt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 3; s++)
        ft_close_while_busy(&store, uri_of(uri, sizeof uri, way_of(s), 4, NULL), "SELECT SLEEP(? / 1000)", 1.0);
}

/* Closing from inside a lookup callback (an adapter thread) does nothing;
 * the run carries on and the adapter closes normally afterwards. */
void mysql_close_from_callback(void)
{
    if (!mt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 3; s++)
        ft_close_from_callback(&store, uri_of(uri, sizeof uri, way_of(s), 2, NULL),
                               "SELECT id FROM customers WHERE id = ?", ft_check_id);
}

/* KILL at 1/5 and 4/5, a restart at 1/2 (tests/fault_test.h); the pool
 * ordered, async unordered. */
static void fault_test(int s)
{
    if (!mt_need_server()) return;
    char uri[600];
    long rows = mt.rows;
    aw_lookup l = { .ctx = &rows, .sql = "SELECT k FROM sbtest1 WHERE id = ?", .bind = ft_bind_sbtest,
                    .row = ft_row_int, .free_result = ft_free_res };
    ft_fault_test(&store, uri_of(uri, sizeof uri, s, 8, "read_timeout_ms=10000"), &l,
                  s == MT_POOL ? AW_ORDERED : AW_UNORDERED, ft_check_sbtest, rows, 8, MT_WAY_NAME(s));
}

void mysql_fault_kill_and_restart_pool(void) { fault_test(AW_MYSQL_POOL); }
void mysql_fault_kill_and_restart_async(void) { fault_test(MT_OWNER); }
void mysql_fault_kill_and_restart_async_thread(void) { fault_test(MT_THREAD); }
#else
typedef int aw_mysql_fault_not_built;
#endif
