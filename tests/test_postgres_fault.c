/* The PostgreSQL adapter when things go wrong (suite postgres_fault): a
 * query outlives read_timeout_ms; records time out while they wait for a
 * connection; the adapter closes while busy and from inside its own
 * callback; and the fault test -- every adapter connection ended twice
 * with pg_terminate_backend and the server stopped and started once in
 * the middle of 100 000 lookups with retry on: every record ends emitted
 * exactly once, none missing, none wrong. Both strategies. The machinery
 * is tests/fault_test.c; here are PostgreSQL's bits. */
#ifndef AW_HAVE_POSTGRES
#include "aw_test.h"

static void postgres_fault_not_built(void)
{
    AW__FAIL("the PostgreSQL adapter is not built: install libpq-dev (scripts/deps.sh postgres) and rebuild");
}

CU_TestInfo aw_tests_postgres_fault[] = { { "postgres_fault_not_built", postgres_fault_not_built },
                                          CU_TEST_INFO_NULL };
int aw_postgres_fault_suite_init(void) { return 0; }
int aw_postgres_fault_suite_clean(void) { return 0; }
#else
#include <stdlib.h>
#include "fault_test.h"
#include "pg_test.h"

int aw_postgres_fault_suite_init(void) { pt_env_read(); return 0; }
int aw_postgres_fault_suite_clean(void) { return 0; }

/* pg_terminate_backend for every connection of our user; how many, or -1. */
static int kill_all(void)
{
    PGconn *c = pt_admin();
    if (!c) return -1;
    int n = -1;
    char q[200];
    snprintf(q, sizeof q, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
             "WHERE usename = '%s'", pt.user);
    PGresult *r = PQexec(c, q);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) n = atoi(PQgetvalue(r, 0, 0));
    else fprintf(stderr, "pg_terminate_backend: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return n;
}

static int conn_stats(aw_adapter *a, uint64_t *lost, uint64_t *reconnects)
{
    aw_postgres_stats ps;
    int rc = aw_postgres_stats_get(a, &ps);
    *lost = ps.conn_lost;
    *reconnects = ps.reconnects;
    return rc;
}

static const ft_store store = { .killed = "terminated", .row = ft_row_int, .kill_all = kill_all, .ctl = pt_ctl,
                                .conn_stats = conn_stats };

/* Loop index 0 async, 1 pool. */
static const char *uri_of(char *buf, size_t n, int s, size_t count, const char *extra)
{
    pt_uri(buf, n, s ? AW_POSTGRES_POOL : AW_POSTGRES_ASYNC, count, extra);
    return buf;
}

/* A query that outlives read_timeout_ms fails with AW_ECONN (the
 * connection is replaced) within about that time, not the query's; the
 * next query works. */
void postgres_read_timeout(void)
{
    if (!pt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 2; s++)
        ft_read_timeout(&store, uri_of(uri, sizeof uri, s, 1, "read_timeout_ms=300"), "SELECT pg_sleep(?)",
                        3, "within 300 ms", 0.9);                     /* pg_sleep(3) */
}

/* One connection busy for 1 s per query; all four records time out after
 * 100 ms, and nobody waits for the running query: async abandons it (its
 * answer is dropped), the pool's call has let go of its input
 * (aw_pool_input_release). The three waiting ones are withdrawn with a
 * message that says so: four AW_ETIMEDOUT, within well under the query's
 * second. */
void postgres_timeout_while_queued(void)
{
    if (!pt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 2; s++)
        ft_timeout_while_queued(&store, uri_of(uri, sizeof uri, s, 1, s ? NULL : "pipeline=1"),
                                "SELECT pg_sleep(1), ?::int",
                                s ? "timed out while queued" : "waiting for a free PostgreSQL connection");
}

/* aw_op_free while 64 records are queued or running: the adapter fails
 * them (AW_ECLOSED), the operator hands every input back once. */
void postgres_close_while_busy(void)
{
    if (!pt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 2; s++)
        ft_close_while_busy(&store, uri_of(uri, sizeof uri, s, 4, NULL), "SELECT pg_sleep(? / 1000.0)", 1.0);
}

/* Closing from inside a lookup callback (an adapter thread) does nothing;
 * the run carries on and the adapter closes normally afterwards. */
void postgres_close_from_callback(void)
{
    if (!pt_need_server()) return;
    char uri[600];
    for (int s = 0; s < 2; s++)
        ft_close_from_callback(&store, uri_of(uri, sizeof uri, s, 2, NULL),
                               "SELECT id FROM customers WHERE id = ?", ft_check_id);
}

/* Every adapter connection ended (pg_terminate_backend) at 1/5 and 4/5,
 * a restart at 1/2 (tests/fault_test.h); the pool ordered, async
 * pipelined and unordered. */
static void fault_test(aw_postgres_strategy s, const char *extra)
{
    if (!pt_need_server()) return;
    char uri[600], ex[100];
    snprintf(ex, sizeof ex, "read_timeout_ms=10000%s%s", extra ? "&" : "", extra ? extra : "");
    pt_uri(uri, sizeof uri, s, 8, ex);
    long rows = pt.rows;
    aw_lookup l = { .ctx = &rows, .sql = "SELECT k FROM sbtest1 WHERE id = ?", .bind = ft_bind_sbtest,
                    .row = ft_row_int, .free_result = ft_free_res };
    ft_fault_test(&store, uri, &l, s == AW_POSTGRES_POOL ? AW_ORDERED : AW_UNORDERED, ft_check_sbtest, rows, 8,
                  s == AW_POSTGRES_POOL ? "pool" : "async");
}

void postgres_fault_kill_and_restart_pool(void) { fault_test(AW_POSTGRES_POOL, NULL); }
void postgres_fault_kill_and_restart_async(void) { fault_test(AW_POSTGRES_ASYNC, "pipeline=32"); }

CU_TestInfo aw_tests_postgres_fault[] = {
    { "postgres_read_timeout", postgres_read_timeout },
    { "postgres_timeout_while_queued", postgres_timeout_while_queued },
    { "postgres_close_while_busy", postgres_close_while_busy },
    { "postgres_close_from_callback", postgres_close_from_callback },
    { "postgres_fault_kill_and_restart_pool", postgres_fault_kill_and_restart_pool },
    { "postgres_fault_kill_and_restart_async", postgres_fault_kill_and_restart_async },
    CU_TEST_INFO_NULL
};
#endif
