/* The thread pool with a fake blocking client: exactly-once completion
 * under random blocking times, free while busy, failing connects and
 * calls, reconnect after a broken connection, free from a worker, invoke
 * after close, a write to a closed peer (EPIPE, not SIGPIPE). (Timeouts
 * and the reconnect backoff: test_pool_timeout.c.) */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "aw_test.h"
#include "pool.h"

typedef struct fake_db {
    _Atomic int connects, disconnects;
    int fail_connect;          /* connect returns AW_ECONN */
    int break_every;           /* call n % break_every == 0 breaks the conn */
    int query_error_on;        /* inputs equal to this fail with AW_EQUERY */
    unsigned max_sleep_us;
} fake_db;

typedef struct fake_conn { int id; long calls; } fake_conn;

static int fk_connect(void *ctx, void **conn, char *err, size_t errlen)
{
    fake_db *d = ctx;
    if (d->fail_connect) {
        snprintf(err, errlen, "fake: access denied for user 'nobody'");
        return AW_ECONN;
    }
    fake_conn *c = calloc(1, sizeof *c);
    c->id = atomic_fetch_add(&d->connects, 1);
    *conn = c;
    return 0;
}

static void fk_disconnect(void *ctx, void *conn)
{
    fake_db *d = ctx;
    atomic_fetch_add(&d->disconnects, 1);
    free(conn);
}

static int fk_call(void *ctx, void *conn, void *input, aw_future *f)
{
    fake_db *d = ctx;
    fake_conn *c = conn;
    intptr_t x = (intptr_t)input;
    c->calls++;
    if (d->max_sleep_us) {   /* creates blocking time; nothing waits on it */
        unsigned us = (unsigned)(x * 2654435761u) % d->max_sleep_us;
        struct timespec t = { 0, (long)us * 1000 };
        nanosleep(&t, NULL);
    }
    if (d->break_every && c->calls % d->break_every == 0) return AW_ECONN;
    if (d->query_error_on && x == d->query_error_on) return AW_EQUERY;
    void *r = (void *)(x + 1);
    aw_future_complete(f, &r, 1);
    return 0;
}

typedef struct tally {
    unsigned char *seen;       /* per input: emits + errors + discards */
    long n, emitted, errors, discarded, bad;
    int last_err;
} tally;

static void t_emit(void *ctx, void *in, void *const *r, size_t n, int64_t ts)
{
    tally *t = ctx;
    intptr_t x = (intptr_t)in;
    t->seen[x]++;
    t->emitted++;
    if (n != 1 || (intptr_t)r[0] != x + 1) t->bad++;
}
static void t_error(void *ctx, void *in, int err, const char *msg)
{
    tally *t = ctx;
    t->seen[(intptr_t)in]++;
    t->errors++;
    t->last_err = err;
}
static void t_discard(void *ctx, void *in)
{
    tally *t = ctx;
    t->seen[(intptr_t)in]++;
    t->discarded++;
}

static long exactly_once(const tally *t, long pushed)
{
    long wrong = 0;
    for (long i = 0; i < pushed; i++) wrong += t->seen[i] != 1;
    return wrong;
}

static aw_op *pool_op(aw_pool *p, tally *t, aw_mode mode, size_t cap, const aw_retry *retry)
{
    aw_config cfg = { .mode = mode, .capacity = cap };
    if (retry) cfg.retry = *retry;
    aw_sink sink = { .ctx = t, .emit = t_emit, .error = t_error, .discard = t_discard };
    aw_op *op = NULL;
    char err[256];
    if (aw_op_create(&op, &cfg, aw_pool_function(p), &sink, err, sizeof err))
        AW__FAIL("aw_op_create: %s", err);
    return op;
}

/* A pool of `threads` workers over the fake client d; NULL (the test
 * failed) if it does not open. */
static aw_pool *fake_pool(fake_db *d, int threads)
{
    aw_sync_client cl = { d, fk_connect, fk_call, fk_disconnect };
    aw_pool_config pc = { .threads = threads };
    aw_pool *p = NULL;
    int rc = aw_pool_new(&p, &pc, &cl);
    if (rc != 0) AW__FAIL("aw_pool_new: %d", rc);
    return p;
}

/* Pushes inputs 0..n-1 (and drains, if asked); returns how many of those
 * calls failed. */
static long push_n(aw_op *op, long n, int drain)
{
    long bad = 0;
    for (long i = 0; i < n; i++) bad += aw_op_push(op, (void *)(intptr_t)i, 0) != 0;
    if (drain) bad += aw_op_drain(op) != 0;
    return bad;
}

static void pool_every_record_once(void)
{
    fake_db d = { .max_sleep_us = 200 };
    aw_pool *p = fake_pool(&d, 4);
    ASSERT_EQ(atomic_load(&d.connects), 4);
    long n = 5000;
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED };
    for (int m = 0; m < 2; m++) {
        tally t = { .seen = calloc((size_t)n, 1), .n = n };
        aw_pool *pm = fake_pool(&d, 4);
        aw_op *op = pool_op(pm, &t, modes[m], 64, NULL);   /* queue grows past 8 */
        ASSERT_EQ(push_n(op, n, 1), 0);
        aw_op_free(op);
        aw_pool_stats st;
        ASSERT_EQ(aw_pool_stats_get(pm, &st), 0);
        ASSERT_EQ(st.calls, (uint64_t)n);
        ASSERT_TRUE(st.queue_peak > 8);
        aw_pool_free(pm);
        ASSERT_EQ(t.emitted, n);
        ASSERT_EQ(t.bad, 0);
        ASSERT_EQ(exactly_once(&t, n), 0);
        free(t.seen);
    }
    aw_pool_free(p);
    ASSERT_EQ(atomic_load(&d.disconnects), atomic_load(&d.connects));
}

static void pool_free_while_busy(void)
{
    fake_db d = { .max_sleep_us = 2000 };
    aw_pool *p = fake_pool(&d, 2);
    long n = 200;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_op *op = pool_op(p, &t, AW_ORDERED, 256, NULL);
    ASSERT_EQ(push_n(op, n, 0), 0);
    aw_op_free(op);            /* most are still queued: they fail or are discarded */
    aw_pool_free(p);
    ASSERT_EQ(exactly_once(&t, n), 0);
    ASSERT_EQ(t.emitted + t.errors + t.discarded, n);
    ASSERT_TRUE(t.discarded > 0);
    ASSERT_EQ(atomic_load(&d.disconnects), 2);
    free(t.seen);
}

static void pool_connect_fails(void)
{
    fake_db d = { .fail_connect = 1 };
    aw_sync_client cl = { &d, fk_connect, fk_call, fk_disconnect };
    aw_pool_config pc = { .threads = 3 };
    aw_pool *p = (aw_pool *)&d;
    char err[256];
    ASSERT_EQ(aw_pool_create(&p, &pc, &cl, err, sizeof err), AW_ECONN);
    ASSERT_TRUE(p == NULL);
    ASSERT_STR_CONTAINS(err, "access denied");
    pc.threads = 0;
    ASSERT_EQ(aw_pool_create(&p, &pc, &cl, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "threads");
    aw_sync_client none = { 0 };
    pc.threads = 1;
    ASSERT_EQ(aw_pool_create(&p, &pc, &none, err, sizeof err), AW_EINVAL);
    ASSERT_EQ(aw_pool_new(NULL, &pc, &cl), AW_EINVAL);
    ASSERT_TRUE(aw_pool_function(NULL) == NULL);
    aw_pool_free(NULL);
}

static void pool_call_error_fails_record(void)
{
    fake_db d = { .query_error_on = 5 };
    aw_pool *p = fake_pool(&d, 2);
    long n = 10;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_op *op = pool_op(p, &t, AW_ORDERED, 4, NULL);
    ASSERT_EQ(push_n(op, n, 1), 0);
    aw_op_free(op);
    aw_pool_free(p);
    ASSERT_EQ(t.errors, 1);
    ASSERT_EQ(t.last_err, AW_EQUERY);
    ASSERT_EQ(t.emitted, n - 1);
    ASSERT_EQ(exactly_once(&t, n), 0);
    free(t.seen);
}

static bool retry_conn(void *ctx, void *input, int err) { return err == AW_ECONN; }

static void pool_reconnects_and_retries(void)
{
    fake_db d = { .break_every = 50 };
    aw_pool *p = fake_pool(&d, 3);
    long n = 3000;
    tally t = { .seen = calloc((size_t)n, 1), .n = n };
    aw_retry r = { .max_attempts = 5, .delay_ms = 1, .if_error = retry_conn };
    aw_op *op = pool_op(p, &t, AW_UNORDERED, 32, &r);
    ASSERT_EQ(push_n(op, n, 1), 0);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    aw_pool_stats ps;
    aw_pool_stats_get(p, &ps);
    aw_pool_free(p);
    ASSERT_TRUE(ps.reconnects > 0);
    ASSERT_TRUE(st.retried > 0);
    ASSERT_EQ(t.emitted, n);       /* every broken call was retried, none lost */
    ASSERT_EQ(exactly_once(&t, n), 0);
    ASSERT_EQ(atomic_load(&d.disconnects), atomic_load(&d.connects));
    free(t.seen);
}

/* Inputs 1..n through an ordered operator (capacity 4) on fn, drained;
 * what left it in rs (the caller's, rec_sink_fini it). */
static void run_records(const aw_function *fn, rec_sink *rs, intptr_t n)
{
    rec_sink_init(rs, 8);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_sink sink = rec_sink_of(rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, fn, &sink), 0);
    for (intptr_t i = 1; i <= n; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
}

/* aw_pool_free and the function's close from inside a call do nothing
 * (a worker cannot join itself); the owner's later free works. */
typedef struct selfish { aw_pool *pool; _Atomic int inside; } selfish;

static int s_connect(void *ctx, void **conn, char *err, size_t errlen) { *conn = ctx; return 0; }

static int s_call(void *ctx, void *conn, void *input, aw_future *f)
{
    selfish *s = ctx;
    if (aw_pool_on_worker(s->pool)) atomic_fetch_add(&s->inside, 1);
    aw_pool_free(s->pool);
    aw_pool_function(s->pool)->close(aw_pool_function(s->pool)->ctx);
    return aw_future_complete(f, NULL, 0) ? AW_EINVAL : 0;
}

static void pool_free_from_worker_refused(void)
{
    selfish s = { NULL, 0 };
    aw_sync_client cl = { &s, s_connect, s_call, NULL };
    aw_pool_config pc = { .threads = 1 };
    ASSERT_EQ(aw_pool_new(&s.pool, &pc, &cl), 0);
    ASSERT_TRUE(!aw_pool_on_worker(s.pool));
    ASSERT_TRUE(!aw_pool_on_worker(NULL));
    rec_sink rs;
    run_records(aw_pool_function(s.pool), &rs, 3);
    aw_pool_free(s.pool);
    ASSERT_EQ(rec_count(&rs, 'e'), 3);
    ASSERT_EQ(atomic_load(&s.inside), 3);
    rec_sink_fini(&rs);
}

/* A record invoked after close fails at once with AW_ECLOSED; close twice
 * and aw_pool_free after it are harmless. */
static void pool_invoke_after_close(void)
{
    fake_db d = { 0 };
    aw_pool *p = fake_pool(&d, 2);
    const aw_function *fn = aw_pool_function(p);
    fn->close(fn->ctx);
    fn->close(fn->ctx);
    ASSERT_EQ(atomic_load(&d.disconnects), 2);
    rec_sink rs;
    run_records(fn, &rs, 1);
    aw_pool_free(p);
    ASSERT_EQ(rec_count(&rs, 'x'), 1);
    ASSERT_EQ(rs.ev[0].err, AW_ECLOSED);
    ASSERT_STR_CONTAINS(rs.ev[0].msg, "closed");
    rec_sink_fini(&rs);
}

/* A worker's write to a connection whose peer is gone fails with EPIPE;
 * it does not end the program with SIGPIPE (at its default here, whatever
 * the runner inherited), as it would on a thread that did not block it. */
static int p_call(void *ctx, void *conn, void *input, aw_future *f)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return AW_EIO;
    close(sv[1]);                                /* the server went away */
    ssize_t n = write(sv[0], "x", 1);
    void *r = (void *)(intptr_t)(n < 0 ? errno : 0);
    close(sv[0]);
    return aw_future_complete(f, &r, 1) ? AW_EINVAL : 0;
}

static void pool_write_to_closed_peer_is_epipe(void)
{
    void (*was)(int) = signal(SIGPIPE, SIG_DFL);
    selfish s = { NULL, 0 };
    aw_sync_client cl = { &s, s_connect, p_call, NULL };
    aw_pool_config pc = { .threads = 2 };
    ASSERT_EQ(aw_pool_new(&s.pool, &pc, &cl), 0);
    rec_sink rs;
    run_records(aw_pool_function(s.pool), &rs, 4);
    aw_pool_free(s.pool);
    signal(SIGPIPE, was);
    ASSERT_EQ(rec_count(&rs, 'e'), 4);
    for (size_t i = 0; i < rs.len; i++) ASSERT_EQ(rs.ev[i].first, EPIPE);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_pool[] = {
    { "pool_every_record_once", pool_every_record_once },
    { "pool_free_while_busy", pool_free_while_busy },
    { "pool_connect_fails", pool_connect_fails },
    { "pool_call_error_fails_record", pool_call_error_fails_record },
    { "pool_reconnects_and_retries", pool_reconnects_and_retries },
    { "pool_free_from_worker_refused", pool_free_from_worker_refused },
    { "pool_invoke_after_close", pool_invoke_after_close },
    { "pool_write_to_closed_peer_is_epipe", pool_write_to_closed_peer_is_epipe },
    CU_TEST_INFO_NULL
};
