/* The operator driving an adapter's aw_loop (aw_function.loop): a small
 * socket-based "echo" adapter whose requests are answered by a server
 * thread over a socketpair. Its completions must happen on the owner
 * thread, a burst of invokes must cost far fewer writes than records, a
 * program with its own poll loop must be told everything by aw_op_fd and
 * aw_op_next_timer_ms, a loop serves one operator at a time, aw_op_free
 * while busy loses nothing, and completions from other threads still wake
 * an owner that sleeps in the loop. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core_test.h"
#include "loop.h"

/* ------------------------------------------------------ the echo server */

static void *echo_main(void *arg)
{
    int fd = *(int *)arg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w <= 0) return NULL;
            off += w;
        }
    }
    return NULL;
}

/* ------------------------------------------------------ the echo adapter */

#define ECHO_MAX 1024

typedef struct echo {
    aw_loop *l;
    aw_watch *w;
    aw_timer *t;             /* delay mode: answers wait for this timer */
    int fd, srv_fd;
    pthread_t srv, owner;
    char out[ECHO_MAX * 8];  /* requests not yet written */
    size_t outlen;
    char in[16];             /* a partial answer */
    size_t inlen;
    aw_future *fifo[ECHO_MAX];
    intptr_t ids[ECHO_MAX];
    size_t head, len;        /* requests sent and not answered */
    intptr_t ready[ECHO_MAX];/* delay mode: answers waiting for the timer */
    size_t nready;
    int delay_ms;
    long writes, invokes, wrong_thread, closed;
} echo;

static void echo_complete(echo *e, intptr_t id)
{
    aw_future *f = e->fifo[e->head];
    intptr_t want = e->ids[e->head];
    e->head = (e->head + 1) % ECHO_MAX;
    e->len--;
    if (!pthread_equal(pthread_self(), e->owner)) e->wrong_thread++;
    void *r = (void *)(id == want ? id * 2 : -1);
    aw_future_complete(f, &r, 1);
}

static void echo_timer(void *ctx)
{
    echo *e = ctx;
    for (size_t i = 0; i < e->nready; i++) echo_complete(e, e->ready[i]);
    e->nready = 0;
}

static void echo_io(void *ctx, unsigned events)
{
    echo *e = ctx;
    if ((events & AW_WRITE) && e->outlen) {
        ssize_t n = write(e->fd, e->out, e->outlen);
        if (n > 0) {
            e->writes++;
            memmove(e->out, e->out + n, e->outlen - (size_t)n);
            e->outlen -= (size_t)n;
        }
        if (!e->outlen) aw_watch_set(e->w, AW_READ);   /* all flushed */
    }
    if (!(events & AW_READ)) return;
    for (;;) {
        ssize_t n = read(e->fd, e->in + e->inlen, sizeof(intptr_t) - e->inlen);
        if (n <= 0) return;
        e->inlen += (size_t)n;
        if (e->inlen < sizeof(intptr_t)) continue;
        intptr_t id;
        memcpy(&id, e->in, sizeof id);
        e->inlen = 0;
        if (e->delay_ms) {
            e->ready[e->nready++] = id;
            if (!aw_timer_active(e->t)) aw_timer_start(e->t, e->delay_ms);
        } else {
            echo_complete(e, id);
        }
    }
}

static void echo_invoke(void *ctx, void *input, aw_future *f)
{
    echo *e = ctx;
    e->invokes++;
    if (e->len == ECHO_MAX) { aw_future_fail(f, AW_ENOMEM, "echo full"); return; }
    size_t i = (e->head + e->len++) % ECHO_MAX;
    e->fifo[i] = f;
    e->ids[i] = (intptr_t)input;
    memcpy(e->out + e->outlen, &e->ids[i], sizeof(intptr_t));
    e->outlen += sizeof(intptr_t);
    aw_watch_set(e->w, AW_READ | AW_WRITE);   /* flushed when the loop runs */
}

/* fn.close: whatever is unanswered fails with AW_ECLOSED. */
static void echo_close(void *ctx)
{
    echo *e = ctx;
    if (e->closed++) return;
    while (e->len) {
        aw_future_fail(e->fifo[e->head], AW_ECLOSED, "echo closed");
        e->head = (e->head + 1) % ECHO_MAX;
        e->len--;
    }
    e->nready = 0;
    aw_timer_stop(e->t);
}

static int echo_start(echo *e, int delay_ms)
{
    memset(e, 0, sizeof *e);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return -1;
    e->fd = sv[0];
    e->srv_fd = sv[1];
    e->delay_ms = delay_ms;
    e->owner = pthread_self();
    if (fcntl(e->fd, F_SETFL, fcntl(e->fd, F_GETFL) | O_NONBLOCK)) return -1;
    if (aw_loop_new(&e->l) || aw_watch_new(e->l, &e->w, e->fd, echo_io, e) ||
        aw_watch_set(e->w, AW_READ) || aw_timer_new(e->l, &e->t, echo_timer, e))
        return -1;
    return pthread_create(&e->srv, NULL, echo_main, &e->srv_fd);
}

static void echo_stop(echo *e)
{
    aw_watch_free(e->w);
    aw_timer_free(e->t);
    shutdown(e->fd, SHUT_RDWR);               /* the server sees EOF */
    pthread_join(e->srv, NULL);
    close(e->fd);
    close(e->srv_fd);
    aw_loop_free(e->l);
}

static aw_function echo_fn(echo *e)
{
    return (aw_function){ .ctx = e, .invoke = echo_invoke, .close = echo_close, .loop = e->l };
}

/* ------------------------------------------------------------- tests */

typedef struct tally { long emitted, wrong, failed, discarded; unsigned char seen[8192]; long dup; } tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    intptr_t id = (intptr_t)input;
    if (id < 0 || id >= 8192 || t->seen[id]++) t->dup++;
    if (n != 1 || (intptr_t)res[0] != id * 2) t->wrong++;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    intptr_t id = (intptr_t)input;
    if (id < 0 || id >= 8192 || t->seen[id]++) t->dup++;
    t->failed++;
}

static void t_discard(void *ctx, void *input)
{
    tally *t = ctx;
    intptr_t id = (intptr_t)input;
    if (id < 0 || id >= 8192 || t->seen[id]++) t->dup++;
    t->discarded++;
}

static aw_sink t_sink(tally *t)
{
    return (aw_sink){ .ctx = t, .emit = t_emit, .error = t_error, .discard = t_discard };
}

/* An operator (mode, capacity) over e whose sink counts into t; NULL, the
 * test failed, if it does not open. */
static aw_op *echo_op(echo *e, tally *t, aw_mode mode, size_t capacity)
{
    aw_config cfg = { .mode = mode, .capacity = capacity };
    aw_function fn = echo_fn(e);
    aw_sink sink = t_sink(t);
    return op_or_fail(&cfg, &fn, &sink);
}

static void op_loop_owner_thread(void)
{
    echo e;
    ASSERT_EQ(echo_start(&e, 0), 0);
    static tally t;
    memset(&t, 0, sizeof t);
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED };
    long base = 0;
    for (int m = 0; m < 2; m++) {
        aw_op *op = echo_op(&e, &t, modes[m], 64);
        if (!op) break;
        ASSERT_EQ(aw_op_fd(op), aw_loop_fd(e.l));
        for (long i = 0; i < 4000; i++) ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)(base + i), 0), 0);
        ASSERT_EQ(aw_op_drain(op), 0);
        aw_op_free(op);
        e.closed = 0;
        base += 4000;
    }
    ASSERT_EQ(t.emitted, 8000);
    ASSERT_EQ(t.wrong, 0);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(e.wrong_thread, 0);
    /* Invokes between two loop runs go out in one write. */
    if (e.writes * 4 > e.invokes) AW__FAIL("%ld writes for %ld invokes", e.writes, e.invokes);
    echo_stop(&e);
}

/* A program with its own poll loop: only aw_op_fd and aw_op_next_timer_ms
 * tell it when to call aw_op_poll. The adapter holds answers 3 ms on a
 * loop timer, which the fd alone would never announce. */
static void op_loop_own_event_loop(void)
{
    echo e;
    ASSERT_EQ(echo_start(&e, 3), 0);
    static tally t;
    memset(&t, 0, sizeof t);
    aw_op *op = echo_op(&e, &t, AW_UNORDERED, 32);
    long pushed = 0, n = 600, stuck = 0, timer_waits = 0;
    int fd = aw_op_fd(op);
    while (t.emitted + t.failed < n && !stuck) {
        while (pushed < n && aw_op_try_push(op, (void *)(intptr_t)pushed, 0) == 0) pushed++;
        if (aw_op_poll(op, 0) > 0) continue;
        if (aw_op_in_flight(op) == 0) continue;
        int64_t tm = aw_op_next_timer_ms(op);
        if (tm >= 0) timer_waits++;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, tm < 0 ? 10000 : (int)tm + 1) == 0 && tm < 0) {
            stuck = 1;                        /* 10 s with nothing announced */
            AW__FAIL("nothing announced for 10 s: %zu in flight", aw_op_in_flight(op));
        }
    }
    ASSERT_EQ(t.emitted, n);
    ASSERT_EQ(t.wrong, 0);
    ASSERT_TRUE(timer_waits > 0);
    ASSERT_EQ(e.wrong_thread, 0);
    aw_op_free(op);
    echo_stop(&e);
}

static void op_loop_attach_twice(void)
{
    echo e;
    ASSERT_EQ(echo_start(&e, 0), 0);
    static tally t;
    memset(&t, 0, sizeof t);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_function fn = echo_fn(&e);
    aw_sink sink = t_sink(&t);
    aw_op *a = NULL, *b = (aw_op *)&b;
    char err[256] = "";
    ASSERT_EQ(aw_op_create(&a, &cfg, &fn, &sink, err, sizeof err), 0);
    ASSERT_EQ(aw_op_create(&b, &cfg, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_TRUE(b == NULL);
    ASSERT_STR_CONTAINS(err, "fn->loop is already attached to another operator");
    ASSERT_EQ(aw_loop_run(e.l, 0), AW_EINVAL);          /* the operator runs it now */
    ASSERT_EQ(aw_op_push(a, (void *)(intptr_t)7, 0), 0);
    ASSERT_EQ(aw_op_drain(a), 0);
    aw_op_free(a);
    e.closed = 0;
    ASSERT_EQ(aw_loop_run(e.l, 0), 0);                   /* detached: ours again */
    ASSERT_EQ(aw_op_create(&b, &cfg, &fn, &sink, err, sizeof err), 0);
    ASSERT_EQ(aw_op_push(b, (void *)(intptr_t)8, 0), 0);
    ASSERT_EQ(aw_op_drain(b), 0);
    aw_op_free(b);
    ASSERT_EQ(t.emitted, 2);
    echo_stop(&e);
}

/* aw_op_free with 64 records sent and not yet read: fn.close fails them,
 * every input comes back once. */
static void op_loop_free_while_busy(void)
{
    echo e;
    ASSERT_EQ(echo_start(&e, 50), 0);
    static tally t;
    memset(&t, 0, sizeof t);
    aw_op *op = echo_op(&e, &t, AW_ORDERED, 64);
    for (long i = 0; i < 64; i++) ASSERT_EQ(aw_op_try_push(op, (void *)(intptr_t)i, 0), 0);
    ASSERT_TRUE(aw_op_poll(op, 5) >= 0);                /* sends them, answers wait */
    aw_op_free(op);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(t.emitted + t.failed + t.discarded, 64);
    ASSERT_TRUE(t.discarded > 0);
    ASSERT_EQ(e.closed, 1);
    echo_stop(&e);
}

/* A loop is attached but every completion comes from another thread: the
 * owner, asleep in the loop, must wake on its eventfd watcher. */
static void op_loop_cross_thread_wakes(void)
{
    aw_loop *l = NULL;
    ASSERT_EQ(aw_loop_new(&l), 0);
    handoff h;
    ASSERT_EQ(handoff_start(&h, 1, 20), 0);
    rec_sink rs;
    rec_sink_init(&rs, 2100);
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 16 };
    aw_function fn = { .ctx = &h, .invoke = handoff_invoke, .close = handoff_close, .loop = l };
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op;
    ASSERT_EQ(aw_op_new(&op, &cfg, &fn, &sink), 0);
    for (long i = 0; i < 2000; i++) ASSERT_EQ(aw_op_push(op, (void *)(intptr_t)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rec_count(&rs, 'e'), 2000);
    for (size_t i = 0; i < rs.len && i < 2000; i++)
        if (rs.ev[i].first != (intptr_t)i + 1000) { AW__FAIL("record %zu: %ld", i, (long)rs.ev[i].first); break; }
    aw_op_free(op);
    rec_sink_fini(&rs);
    handoff_fini(&h);
    aw_loop_free(l);
}

CU_TestInfo aw_tests_op_loop[] = {
    { "op_loop_owner_thread", op_loop_owner_thread },
    { "op_loop_own_event_loop", op_loop_own_event_loop },
    { "op_loop_attach_twice", op_loop_attach_twice },
    { "op_loop_free_while_busy", op_loop_free_while_busy },
    { "op_loop_cross_thread_wakes", op_loop_cross_thread_wakes },
    CU_TEST_INFO_NULL
};
