/* aw_loop (lib/loop.h): watchers on socketpairs, write interest, hang-up,
 * timers in due order, restarted and stopped, watchers and timers freed
 * inside callbacks, and every bad argument. Waits are bounded by the
 * loop's own timeouts, never by sleeping. */
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "aw_test.h"
#include "loop.h"

typedef struct hit { int n; unsigned events; char order[16]; int norder; } hit;

static void on_io(void *ctx, unsigned events)
{
    hit *h = ctx;
    h->n++;
    h->events |= events;
}

static aw_loop *new_loop(void)
{
    aw_loop *l = NULL;
    ASSERT_EQ(aw_loop_new(&l), 0);
    return l;
}

/* Runs l until pred(ctx) holds or about ms have passed (one loop run may
 * wait up to 50 ms). Returns pred's last answer. */
static bool run_until(aw_loop *l, bool (*pred)(void *), void *ctx, int ms)
{
    int64_t end = aw_loop_now_ms() + ms;
    while (!pred(ctx) && aw_loop_now_ms() < end) aw_loop_run(l, 50);
    return pred(ctx);
}

static void loop_watch_read(void)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    aw_loop *l = new_loop();
    aw_watch *w = NULL;
    hit h = { 0 };
    ASSERT_EQ(aw_watch_new(l, &w, sv[0], on_io, &h), 0);
    ASSERT_EQ(aw_loop_run(l, 0), 0);                  /* nothing wanted yet */
    ASSERT_EQ(aw_watch_set(w, AW_READ), 0);
    ASSERT_EQ(aw_watch_events(w), AW_READ);
    ASSERT_EQ(aw_loop_run(l, 0), 0);                  /* nothing to read */
    ASSERT_EQ(write(sv[1], "x", 1), 1);
    struct pollfd p = { .fd = aw_loop_fd(l), .events = POLLIN };
    ASSERT_EQ(poll(&p, 1, 5000), 1);                   /* the epoll fd shows it */
    ASSERT_EQ(aw_loop_run(l, 5000), 1);
    ASSERT_EQ(h.n, 1);
    ASSERT_EQ(h.events, AW_READ);
    char c;
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    ASSERT_EQ(aw_loop_run(l, 0), 0);
    ASSERT_EQ(write(sv[1], "y", 1), 1);
    ASSERT_EQ(aw_watch_set(w, 0), 0);                 /* no longer wanted */
    ASSERT_EQ(aw_loop_run(l, 0), 0);
    ASSERT_EQ(aw_watch_set(w, AW_READ), 0);
    ASSERT_EQ(aw_loop_run(l, 0), 1);
    close(sv[1]);                                      /* hang-up: reads as readable */
    ASSERT_EQ(read(sv[0], &c, 1), 1);
    h.events = 0;
    ASSERT_EQ(aw_loop_run(l, 5000), 1);
    ASSERT_EQ(h.events, AW_READ);
    ASSERT_EQ(read(sv[0], &c, 1), 0);
    /* The caller closes its fd first (as a client library does when a
     * connection fails), a new socket takes the same number: the old
     * watcher sees nothing of it, and freeing it later leaves nothing
     * behind in epoll. */
    int num = sv[0];
    close(sv[0]);
    int sv2[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2), 0);
    ASSERT_EQ(sv2[0], num);
    ASSERT_EQ(write(sv2[1], "z", 1), 1);
    h.n = 0;
    ASSERT_EQ(aw_loop_run(l, 0), 1);                   /* the old file's EOF, not "z" */
    aw_watch_free(w);
    ASSERT_EQ(aw_loop_run(l, 0), 0);
    aw_watch *w2 = NULL;
    hit h2 = { 0 };
    ASSERT_EQ(aw_watch_new(l, &w2, sv2[0], on_io, &h2), 0);
    ASSERT_EQ(aw_watch_set(w2, AW_READ), 0);
    ASSERT_EQ(aw_loop_run(l, 0), 1);
    ASSERT_EQ(h2.n, 1);
    ASSERT_EQ(h.n, 1);
    aw_watch_free(w2);
    aw_loop_free(l);
    close(sv2[0]);
    close(sv2[1]);
}

/* Write interest the hiredis way: requests are buffered, AW_WRITE asked
 * for, and one writable event flushes the whole burst with one write. */
typedef struct flusher { aw_watch *w; int fd; char buf[1024]; size_t len; int writes; } flusher;

static void on_writable(void *ctx, unsigned events)
{
    flusher *f = ctx;
    if (!(events & AW_WRITE)) return;
    if (f->len && write(f->fd, f->buf, f->len) == (ssize_t)f->len) f->writes++;
    f->len = 0;
    aw_watch_set(f->w, AW_READ);                       /* nothing left to write */
}

static void loop_write_interest(void)
{
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    aw_loop *l = new_loop();
    flusher f = { .fd = sv[0] };
    ASSERT_EQ(aw_watch_new(l, &f.w, sv[0], on_writable, &f), 0);
    ASSERT_EQ(aw_watch_set(f.w, AW_READ), 0);
    for (int i = 0; i < 100; i++) {                    /* a burst of 100 requests */
        f.buf[f.len++] = (char)('0' + i % 10);
        ASSERT_EQ(aw_watch_set(f.w, AW_READ | AW_WRITE), 0);
    }
    ASSERT_EQ(aw_loop_run(l, 5000), 1);
    ASSERT_EQ(f.writes, 1);
    ASSERT_EQ(aw_watch_events(f.w), AW_READ);
    char got[256];
    ASSERT_EQ(read(sv[1], got, sizeof got), 100);
    ASSERT_EQ(aw_loop_run(l, 0), 0);                   /* no write wanted: quiet */
    ASSERT_EQ(f.writes, 1);
    aw_watch_free(f.w);
    aw_loop_free(l);
    close(sv[0]);
    close(sv[1]);
}

/* ------------------------------------------------------------ timers */

typedef struct tick { hit *h; char name; aw_timer *self; int restart_ms; } tick;

static void on_tick(void *ctx)
{
    tick *t = ctx;
    if (t->h->norder < 15) t->h->order[t->h->norder++] = t->name;
    t->h->n++;
    if (t->restart_ms >= 0) aw_timer_start(t->self, t->restart_ms);
}

static bool fired4(void *ctx) { return ((hit *)ctx)->n >= 4; }

static void loop_timers_order(void)
{
    aw_loop *l = new_loop();
    hit h = { 0 };
    tick t[5] = { { &h, 'a', NULL, -1 }, { &h, 'b', NULL, -1 }, { &h, 'c', NULL, -1 },
                  { &h, 'd', NULL, -1 }, { &h, 'e', NULL, -1 } };
    for (int i = 0; i < 5; i++) ASSERT_EQ(aw_timer_new(l, &t[i].self, on_tick, &t[i]), 0);
    ASSERT_EQ(aw_loop_next_timer_ms(l), -1);
    ASSERT_EQ(aw_timer_start(t[0].self, 30), 0);
    ASSERT_EQ(aw_timer_start(t[1].self, 10), 0);
    ASSERT_EQ(aw_timer_start(t[2].self, 20), 0);
    ASSERT_EQ(aw_timer_start(t[3].self, 5), 0);
    ASSERT_EQ(aw_timer_start(t[4].self, 15), 0);
    ASSERT_TRUE(aw_loop_next_timer_ms(l) <= 5);
    ASSERT_EQ(aw_timer_start(t[3].self, 60), 0);       /* restarted: last now */
    aw_timer_stop(t[4].self);                          /* stopped: never fires */
    ASSERT_TRUE(!aw_timer_active(t[4].self));
    ASSERT_TRUE(aw_timer_active(t[0].self));
    int64_t next = aw_loop_next_timer_ms(l);
    ASSERT_TRUE(next >= 0 && next <= 10);
    ASSERT_TRUE(run_until(l, fired4, &h, 5000));
    ASSERT_STR_CONTAINS(h.order, "bcad");
    ASSERT_EQ(h.norder, 4);
    ASSERT_EQ(aw_loop_next_timer_ms(l), -1);
    ASSERT_EQ(aw_loop_run(l, 0), 0);
    /* A timer restarted from its own callback, already due, fires once per
     * run, not in a loop; a past absolute time fires at the next run. */
    t[0].restart_ms = 0;
    h.n = 0;
    ASSERT_EQ(aw_timer_start_at(t[0].self, aw_loop_now_ms() - 1000), 0);
    ASSERT_EQ(aw_loop_run(l, 0), 1);
    ASSERT_EQ(aw_loop_run(l, 0), 1);
    ASSERT_EQ(h.n, 2);
    aw_timer_stop(t[0].self);
    for (int i = 0; i < 5; i++) aw_timer_free(t[i].self);
    aw_loop_free(l);
}

/* --------------------------------------------- freeing from callbacks */

typedef struct killer {
    aw_loop *l;
    aw_watch *w[2];
    aw_timer *t[2];
    int calls, nested_rc;
} killer;

static void kill_watches(void *ctx, unsigned events)
{
    killer *k = ctx;
    k->calls++;
    k->nested_rc = aw_loop_run(k->l, 0);              /* not from inside */
    aw_loop_free(k->l);                                /* refused inside */
    aw_watch_free(k->w[0]);                            /* both, ready or not */
    aw_watch_free(k->w[1]);
    k->w[0] = k->w[1] = NULL;
}

static void kill_timers(void *ctx)
{
    killer *k = ctx;
    k->calls++;
    aw_timer_free(k->t[0]);
    aw_timer_free(k->t[1]);
    k->t[0] = k->t[1] = NULL;
}

static void loop_free_inside_callbacks(void)
{
    int a[2], b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    killer k = { .l = new_loop() };
    ASSERT_EQ(aw_watch_new(k.l, &k.w[0], a[0], kill_watches, &k), 0);
    ASSERT_EQ(aw_watch_new(k.l, &k.w[1], b[0], kill_watches, &k), 0);
    ASSERT_EQ(aw_watch_set(k.w[0], AW_WRITE), 0);      /* both ready at once */
    ASSERT_EQ(aw_watch_set(k.w[1], AW_WRITE), 0);
    ASSERT_EQ(aw_loop_run(k.l, 5000), 1);              /* the second is gone */
    ASSERT_EQ(k.calls, 1);
    ASSERT_EQ(k.nested_rc, AW_EINVAL);
    ASSERT_EQ(aw_timer_new(k.l, &k.t[0], kill_timers, &k), 0);
    ASSERT_EQ(aw_timer_new(k.l, &k.t[1], kill_timers, &k), 0);
    ASSERT_EQ(aw_timer_start(k.t[0], 0), 0);
    ASSERT_EQ(aw_timer_start(k.t[1], 0), 0);
    k.calls = 0;
    int64_t end = aw_loop_now_ms() + 5000;
    while (k.calls == 0 && aw_loop_now_ms() < end) aw_loop_run(k.l, 10);
    ASSERT_EQ(k.calls, 1);
    ASSERT_EQ(aw_loop_run(k.l, 0), 0);
    /* The loop frees what is left with it (ASan checks for leaks). */
    aw_watch *left;
    aw_timer *tleft;
    ASSERT_EQ(aw_watch_new(k.l, &left, a[0], on_io, NULL), 0);
    ASSERT_EQ(aw_watch_set(left, AW_READ), 0);
    ASSERT_EQ(aw_timer_new(k.l, &tleft, kill_timers, &k), 0);
    ASSERT_EQ(aw_timer_start(tleft, 100000), 0);
    aw_loop_free(k.l);
    close(a[0]); close(a[1]); close(b[0]); close(b[1]);
}

static void noop_cb(void *ctx, unsigned ev) { (void)ctx; (void)ev; }
static void noop_t(void *ctx) { (void)ctx; }

static void loop_bad_arguments(void)
{
    ASSERT_EQ(aw_loop_new(NULL), AW_EINVAL);
    aw_loop *l = new_loop();
    aw_watch *w = (aw_watch *)&w;
    aw_timer *t = (aw_timer *)&t;
    ASSERT_EQ(aw_watch_new(NULL, &w, 0, noop_cb, NULL), AW_EINVAL);
    ASSERT_TRUE(w == NULL);
    ASSERT_EQ(aw_watch_new(l, &w, -1, noop_cb, NULL), AW_EINVAL);
    ASSERT_EQ(aw_watch_new(l, &w, 0, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_watch_new(l, NULL, 0, noop_cb, NULL), AW_EINVAL);
    ASSERT_EQ(aw_timer_new(NULL, &t, noop_t, NULL), AW_EINVAL);
    ASSERT_TRUE(t == NULL);
    ASSERT_EQ(aw_timer_new(l, &t, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_timer_new(l, NULL, noop_t, NULL), AW_EINVAL);
    ASSERT_EQ(aw_watch_set(NULL, AW_READ), AW_EINVAL);
    ASSERT_EQ(aw_timer_start(NULL, 1), AW_EINVAL);
    ASSERT_EQ(aw_timer_start_at(NULL, 1), AW_EINVAL);
    ASSERT_EQ(aw_loop_run(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_loop_run(l, -2), AW_EINVAL);
    ASSERT_EQ(aw_loop_fd(NULL), -1);
    ASSERT_TRUE(aw_loop_fd(l) >= 0);
    ASSERT_EQ(aw_loop_next_timer_ms(NULL), -1);
    ASSERT_EQ(aw_watch_events(NULL), 0);
    ASSERT_TRUE(!aw_timer_active(NULL));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(aw_watch_new(l, &w, p[0], noop_cb, NULL), 0);
    ASSERT_EQ(aw_watch_set(w, 4), AW_EINVAL);          /* not an event */
    ASSERT_EQ(aw_timer_new(l, &t, noop_t, NULL), 0);
    ASSERT_EQ(aw_timer_start(t, -1), AW_EINVAL);
    close(p[1]);
    aw_watch_free(w);
    int q[2];
    ASSERT_EQ(pipe(q), 0);
    close(q[0]);
    ASSERT_EQ(aw_watch_new(l, &w, q[0], noop_cb, NULL), AW_EINVAL);   /* not open */
    ASSERT_TRUE(w == NULL);
    close(q[1]);
    close(p[0]);
    aw_watch_free(NULL);
    aw_timer_free(NULL);
    aw_timer_stop(NULL);
    aw_timer_free(t);
    aw_loop_free(NULL);
    /* A run with nothing to do waits its timeout, and no longer. */
    int64_t t0 = aw_loop_now_ms();
    ASSERT_EQ(aw_loop_run(l, 30), 0);
    int64_t dt = aw_loop_now_ms() - t0;
    ASSERT_TRUE(dt >= 25 && dt < 2000);
    aw_loop_free(l);
}

CU_TestInfo aw_tests_loop[] = {
    { "loop_watch_read", loop_watch_read },
    { "loop_write_interest", loop_write_interest },
    { "loop_timers_order", loop_timers_order },
    { "loop_free_inside_callbacks", loop_free_inside_callbacks },
    { "loop_bad_arguments", loop_bad_arguments },
    CU_TEST_INFO_NULL
};
