/* Redis, pipelined, on one I/O thread: N non-blocking connections, each
 * with up to `pipeline` commands in flight, replies matched in order.
 *
 * invoke (owner thread) pushes the record on a lock-free stack and writes
 * the eventfd only if the I/O thread is about to sleep (the Dekker pair of
 * adapters/mysql/native.c). The I/O thread takes the whole stack, appends
 * each record's command (RESP, written straight from the argv into the
 * connection's output buffer: no malloc per record) to the next connection
 * with room, round robin, and writes each connection's buffer once per
 * burst; what the socket does not take waits for EPOLLOUT. Replies go
 * through hiredis's reader (redisReaderFeed / redisReaderGetReply) and
 * complete the oldest request in flight on that connection (FIFO).
 *
 * Connecting does not block either: redisConnectNonBlock, then AUTH,
 * SELECT and PING pipelined as the first requests; the connection is up
 * once all three answered well. A lost connection fails every request it
 * held with AW_ECONN and reconnects after 10 ms doubling to 1 s.
 *
 * This runs its own I/O thread (io=thread of the shared driver planned in
 * adapters/native.c, which has not landed on main). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "redis_int.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

enum { C_DOWN, C_CONNECT, C_HANDSHAKE, C_UP };

/* A record (or, while connecting, a handshake step: input == NULL). */
typedef struct nreq {
    struct nreq *next;
    void *input;
    aw_future *f;
    int64_t deadline;             /* ns */
    bool abandoned;               /* timed out on the wire: drop the reply */
} nreq;

typedef struct cancel {
    struct cancel *next;
    aw_future *f;
    int outcome;                  /* 0 pending, 1 withdrawn, 2 not held, 3 abandoned */
} cancel;

typedef struct native native;

typedef struct nconn {
    native *n;
    int state;
    redisContext *k;              /* owns the socket */
    redisReader *rd;
    int fd;
    uint32_t ev;
    char *out;
    size_t olen, ooff, ocap;
    nreq *head, *tail;            /* in flight, oldest first */
    size_t inflight, hs_left;
    size_t unsent;                /* of inflight: still in out, not yet flushed */
    int64_t deadline, retry_at;   /* ns; -1 = none */
    long backoff_ms;
    bool ever_up;
    rd_exec e;
} nconn;

struct native {
    rd_adapter *a;
    aw_function fn;
    size_t n, rr, up;
    nconn *c;
    int ep, efd;
    pthread_t th;
    bool started, opening;
    _Atomic(nreq *) inbox;
    _Atomic bool sleeping, stop, closed, cancel_pending;
    nreq *wq_head, *wq_tail;      /* I/O thread: waiting for room */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open_rc;
    size_t open_up;
    char open_err[1024];
    cancel *cancels;
    bool io_running;
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void wake(native *n)
{
    uint64_t one = 1;
    while (write(n->efd, &one, sizeof one) < 0 && errno == EINTR) { }
}

/* ------------------------------------------------------ owner-side entry */

static void n_invoke(void *ctx, void *input, aw_future *f)
{
    native *n = ctx;
    nreq *r = atomic_load(&n->closed) ? NULL : malloc(sizeof *r);
    if (!r) {
        aw_future_fail(f, atomic_load(&n->closed) ? AW_ECLOSED : AW_ENOMEM,
                       atomic_load(&n->closed) ? "the Redis adapter is closed" : "out of memory");
        return;
    }
    *r = (nreq){ .input = input, .f = f };
    r->next = atomic_load_explicit(&n->inbox, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&n->inbox, &r->next, r)) { }
    if (atomic_load(&n->sleeping) && atomic_exchange(&n->sleeping, false)) wake(n);
}

/* As the MySQL adapter's: a waiting record is withdrawn, one on the wire
 * abandoned (its reply dropped, f left for its late completion). */
static void n_timeout(void *ctx, void *input, aw_future *f)
{
    native *n = ctx;
    (void)input;
    cancel k = { NULL, f, 0 };
    pthread_mutex_lock(&n->mu);
    if (n->io_running) {
        k.next = n->cancels;
        n->cancels = &k;
        atomic_store(&n->cancel_pending, true);
        wake(n);
        while (!k.outcome) pthread_cond_wait(&n->cv, &n->mu);
    }
    pthread_mutex_unlock(&n->mu);
    if (k.outcome == 1) {
        char msg[128];
        snprintf(msg, sizeof msg, "timed out while waiting for room on a Redis connection (%zu, "
                 "all full or down)", n->n);
        aw_future_fail(f, AW_ETIMEDOUT, msg);
    } else if (k.outcome != 3) {
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
    }
}

/* ------------------------------------------------------------ I/O thread */

static void req_free(native *n, nreq *r)
{
    (void)n;
    free(r);
}

static void set_events(nconn *c, uint32_t want)
{
    if (want == c->ev || c->fd < 0) return;
    struct epoll_event e = { .events = want, .data.ptr = c };
    if (epoll_ctl(c->n->ep, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) == 0) c->ev = want;
}

static void fail_waiting(native *n, int code, const char *msg)
{
    while (n->wq_head) {
        nreq *r = n->wq_head;
        n->wq_head = r->next;
        aw_future_fail(r->f, code, msg);
        req_free(n, r);
    }
    n->wq_tail = NULL;
}

/* Fails every request c holds (an abandoned one gets its late completion
 * this way too) and closes the socket; c is DOWN after. */
static void teardown(nconn *c, int code, const char *msg)
{
    native *n = c->n;
    while (c->head) {
        nreq *r = c->head;
        c->head = r->next;
        if (r->f) aw_future_fail(r->f, code, msg);
        req_free(n, r);
    }
    c->tail = NULL;
    c->inflight = c->hs_left = c->unsent = 0;
    if (c->ev && c->fd >= 0) epoll_ctl(n->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->k) redisFree(c->k);
    if (c->rd) redisReaderFree(c->rd);
    c->k = NULL;
    c->rd = NULL;
    c->fd = -1;
    c->ev = 0;
    c->olen = c->ooff = 0;
    c->deadline = -1;
    if (c->state == C_UP) {
        n->up--;
        atomic_fetch_sub(&n->a->connected, 1);
    }
    c->state = C_DOWN;
}

/* c broke (lost) or could not be made (attempt). */
static void conn_down(nconn *c, int code, const char *msg, bool attempt)
{
    native *n = c->n;
    if (!attempt) atomic_fetch_add(&n->a->conn_lost, 1);
    teardown(c, code, msg);
    if (n->opening) {
        pthread_mutex_lock(&n->mu);
        if (n->open_rc == 1) {
            n->open_rc = code;
            snprintf(n->open_err, sizeof n->open_err, "%s", msg);
            pthread_cond_broadcast(&n->cv);
        }
        pthread_mutex_unlock(&n->mu);
        c->retry_at = -1;
        return;
    }
    c->retry_at = now_ns() + c->backoff_ms * 1000000;
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    if (attempt && n->up == 0 && n->wq_head) {
        char m[1100];
        snprintf(m, sizeof m, "no Redis connection is up: %s", msg);
        fail_waiting(n, AW_ECONN, m);
    }
}

static bool out_reserve(nconn *c, size_t more)
{
    if (c->olen + more <= c->ocap) return true;
    if (c->ooff) {                /* slide the unsent part to the front */
        memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
        c->olen -= c->ooff;
        c->ooff = 0;
        if (c->olen + more <= c->ocap) return true;
    }
    size_t cap = c->ocap ? c->ocap : 16384;
    while (cap < c->olen + more) cap *= 2;
    char *o = realloc(c->out, cap);
    if (!o) return false;
    c->out = o;
    c->ocap = cap;
    return true;
}

/* Writes c then the decimal v then CR LF at p; returns the end. */
static char *header(char *p, char c, size_t v)
{
    char tmp[24];
    int n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    *p++ = c;
    while (n) *p++ = tmp[--n];
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* Appends one command in RESP to c's output buffer. */
static bool out_command(nconn *c, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++) need += lens[i] + 26;
    if (!out_reserve(c, need)) return false;
    char *p = c->out + c->olen;
    p = header(p, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        p = header(p, '$', lens[i]);
        memcpy(p, argv[i], lens[i]);
        p += lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    c->olen = (size_t)(p - c->out);
    return true;
}

static void push_req(nconn *c, nreq *r)
{
    r->next = NULL;
    if (c->tail) c->tail->next = r; else c->head = r;
    c->tail = r;
    c->inflight++;
    c->unsent++;
    if (c->deadline < 0) c->deadline = r->deadline;
}

/* Writes what the socket takes; the rest waits for EPOLLOUT. */
static void flush(nconn *c)
{
    c->unsent = 0;
    while (c->ooff < c->olen) {
        ssize_t w = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (w > 0) { c->ooff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        char msg[400];
        rd__conn_errmsg(&c->n->a->cfg, strerror(errno), msg, sizeof msg);
        conn_down(c, AW_ECONN, msg, c->state != C_UP);
        return;
    }
    if (c->ooff == c->olen) c->ooff = c->olen = 0;
    set_events(c, EPOLLIN | (c->olen ? EPOLLOUT : 0u));
}

static void conn_start(nconn *c)
{
    native *n = c->n;
    const rd_cfg *k = &n->a->cfg;
    c->retry_at = -1;
    char msg[600];
    c->k = k->sock ? redisConnectUnixNonBlock(k->sock) : redisConnectNonBlock(k->host, (int)k->port);
    c->rd = redisReaderCreate();
    if (!c->k || !c->rd) { conn_down(c, AW_ENOMEM, "redis: out of memory", true); return; }
    c->state = C_CONNECT;
    if (c->k->err) {
        snprintf(msg, sizeof msg, "redis: cannot reach a server at %s: %s", k->where, c->k->errstr);
        conn_down(c, AW_ECONN, msg, true);
        return;
    }
    c->fd = c->k->fd;
    c->deadline = now_ns() + (int64_t)k->connect_timeout_ms * 1000000;
    /* The handshake goes out as soon as the socket is writable. */
    const char *argv[3];
    size_t lens[3];
    int na = rd__auth_argv(k, argv, lens);
    char db[16];
    const char *sel[2] = { "SELECT", db };
    size_t sl[2] = { 6, (size_t)snprintf(db, sizeof db, "%d", k->db) };
    const char *ping[1] = { "PING" };
    size_t pl[1] = { 4 };
    c->hs_left = 0;
    bool ok = true;
    if (na) { ok = ok && out_command(c, na, argv, lens); c->hs_left++; }
    if (k->db) { ok = ok && out_command(c, 2, sel, sl); c->hs_left++; }
    ok = ok && out_command(c, 1, ping, pl);
    c->hs_left++;
    if (!ok) { conn_down(c, AW_ENOMEM, "redis: out of memory", true); return; }
    set_events(c, EPOLLOUT);
}

static void conn_ready(nconn *c)
{
    native *n = c->n;
    c->state = C_UP;
    c->deadline = -1;
    n->up++;
    atomic_fetch_add(&n->a->connected, 1);
    if (c->ever_up) atomic_fetch_add(&n->a->reconnects, 1);
    c->ever_up = true;
    c->backoff_ms = BACKOFF_MIN_MS;
    if (n->opening && ++n->open_up == n->n) {
        pthread_mutex_lock(&n->mu);
        if (n->open_rc == 1) n->open_rc = 0;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
        n->opening = false;
    }
}

/* One handshake reply (AUTH, SELECT, PING in that order). */
static bool handshake_reply(nconn *c, redisReply *r)
{
    const rd_cfg *k = &c->n->a->cfg;
    if (r->type == REDIS_REPLY_ERROR) {
        char msg[1024];
        bool loading = !strncmp(r->str, "LOADING", 7);
        bool auth = k->pass && c->hs_left == (size_t)(1 + (k->db != 0) + 1);
        if (auth)
            snprintf(msg, sizeof msg, "redis: AUTH as %s%s%s at %s refused: wrong user or password (server: %s)",
                     k->user ? "user '" : "the default user", k->user ? k->user : "", k->user ? "'" : "",
                     k->where, r->str);
        else
            snprintf(msg, sizeof msg, "redis: connection set-up at %s failed: %s", k->where, r->str);
        conn_down(c, loading ? AW_ECONN : AW_ECONFIG, msg, true);
        return false;
    }
    if (--c->hs_left == 0) conn_ready(c);
    return true;
}

/* One reply for the oldest request in flight. */
static void record_reply(nconn *c, redisReply *r)
{
    native *n = c->n;
    nreq *q = c->head;
    c->head = q->next;
    if (!c->head) c->tail = NULL;
    c->inflight--;
    c->deadline = c->head ? c->head->deadline : -1;
    atomic_fetch_add(&n->a->commands, 1);
    if (q->abandoned) aw_future_fail(q->f, AW_ETIMEDOUT, NULL);      /* the late completion */
    else rd__exec_finish(&c->e, r, q->input, q->f);
    req_free(n, q);
}

static void conn_read(nconn *c)
{
    char buf[65536];
    for (;;) {
        ssize_t got = recv(c->fd, buf, sizeof buf, 0);
        if (got > 0) {
            if (redisReaderFeed(c->rd, buf, (size_t)got) != REDIS_OK) {
                conn_down(c, AW_ENOMEM, "redis: out of memory reading a reply", c->state != C_UP);
                return;
            }
            if ((size_t)got < sizeof buf) break;
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        char msg[400];
        rd__conn_errmsg(&c->n->a->cfg, got == 0 ? "closed by the server" : strerror(errno), msg, sizeof msg);
        conn_down(c, AW_ECONN, msg, c->state != C_UP);
        return;
    }
    for (;;) {
        void *rep = NULL;
        if (redisReaderGetReply(c->rd, &rep) != REDIS_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "redis: protocol error from %s: %s", c->n->a->cfg.where, c->rd->errstr);
            conn_down(c, AW_ECONN, msg, c->state != C_UP);
            return;
        }
        if (!rep) return;
        redisReply *r = rep;
        bool alive = true;
        if (c->state == C_HANDSHAKE && c->hs_left) {
            alive = handshake_reply(c, r);
        } else if (c->state == C_UP && c->head) {
            record_reply(c, r);
        } else {
            freeReplyObject(r);
            conn_down(c, AW_ECONN, "redis: a reply nobody asked for", c->state != C_UP);
            return;
        }
        freeReplyObject(r);
        if (!alive) return;
    }
}

static void conn_event(nconn *c, uint32_t ev)
{
    if (c->state == C_DOWN) return;
    if (c->state == C_CONNECT) {
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) e = errno;
        if (e) {
            char msg[400];
            snprintf(msg, sizeof msg, "redis: cannot reach a server at %s: %s", c->n->a->cfg.where, strerror(e));
            conn_down(c, AW_ECONN, msg, true);
            return;
        }
        c->state = C_HANDSHAKE;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        conn_read(c);
        if (c->state == C_DOWN) return;
    }
    if (c->olen) flush(c);
}

static void take_inbox(native *n)
{
    nreq *l = atomic_exchange(&n->inbox, NULL), *rev = NULL;
    while (l) { nreq *x = l->next; l->next = rev; rev = l; l = x; }
    if (!rev) return;
    if (n->wq_tail) n->wq_tail->next = rev; else n->wq_head = rev;
    for (; rev; rev = rev->next) n->wq_tail = rev;
}

/* Waiting records onto connections with room, round robin; then one
 * write per connection that got something. */
static void dispatch(native *n)
{
    const rd_cfg *k = &n->a->cfg;
    bool any = false;
    int64_t deadline = 0;
    while (n->wq_head) {
        nconn *c = NULL;
        for (size_t i = 0; i < n->n; i++) {
            nconn *x = &n->c[(n->rr + i) % n->n];
            if (x->state == C_UP && x->inflight < k->pipeline) { c = x; n->rr = (n->rr + i + 1) % n->n; break; }
        }
        if (!c) break;
        nreq *r = n->wq_head;
        n->wq_head = r->next;
        if (!n->wq_head) n->wq_tail = NULL;
        if (!rd__exec_build(&c->e, r->input, r->f)) {     /* settled: bind failed, or no rows */
            req_free(n, r);
            continue;
        }
        if (!out_command(c, k->nargs, c->e.argv, c->e.lens)) {
            aw_future_fail(r->f, AW_ENOMEM, "out of memory");
            req_free(n, r);
            continue;
        }
        if (!deadline) deadline = now_ns() + (int64_t)k->read_timeout_ms * 1000000;
        r->deadline = deadline;
        push_req(c, r);
        any = true;
    }
    if (!any) return;
    /* Cork: while commands are on the wire, their replies will bring us
     * back (conn_event flushes then); until then gather more, unless a
     * good batch is there already. Nothing waits unsent with nothing sent. */
    size_t cork = k->pipeline / 8 ? k->pipeline / 8 : 1;
    for (size_t i = 0; i < n->n; i++) {
        nconn *c = &n->c[i];
        if (c->state == C_UP && c->unsent && !(c->ev & EPOLLOUT) &&
            (c->inflight == c->unsent || c->unsent >= cork))
            flush(c);
    }
}

static void do_cancels(native *n)
{
    pthread_mutex_lock(&n->mu);
    cancel *l = n->cancels;
    n->cancels = NULL;
    atomic_store(&n->cancel_pending, false);
    pthread_mutex_unlock(&n->mu);
    take_inbox(n);
    for (cancel *k = l, *next; k; k = next) {
        next = k->next;
        int outcome = 2;
        nreq *prev = NULL;
        for (nreq *r = n->wq_head; r; prev = r, r = r->next)
            if (r->f == k->f) {
                if (prev) prev->next = r->next; else n->wq_head = r->next;
                if (n->wq_tail == r) n->wq_tail = prev;
                req_free(n, r);
                outcome = 1;
                break;
            }
        for (size_t i = 0; outcome == 2 && i < n->n; i++)
            for (nreq *r = n->c[i].head; r; r = r->next)
                if (r->f == k->f) { r->abandoned = true; outcome = 3; break; }
        pthread_mutex_lock(&n->mu);
        k->outcome = outcome;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
}

/* Reconnects due, deadlines passed. Returns the next one (ns), or -1. */
static int64_t timers(native *n)
{
    int64_t now = now_ns(), next = -1;
    for (size_t i = 0; i < n->n; i++) {
        nconn *c = &n->c[i];
        if (c->state == C_DOWN && c->retry_at >= 0 && c->retry_at <= now && !atomic_load(&n->stop))
            conn_start(c);
        if (c->state != C_DOWN && c->deadline >= 0 && c->deadline <= now) {
            char msg[400];
            bool setup = c->state != C_UP;
            snprintf(msg, sizeof msg, "redis: no answer from %s within %d ms", n->a->cfg.where,
                     setup ? n->a->cfg.connect_timeout_ms : n->a->cfg.read_timeout_ms);
            conn_down(c, AW_ECONN, msg, setup);
        }
        int64_t t = c->state == C_DOWN ? c->retry_at : c->deadline;
        if (t >= 0 && (next < 0 || t < next)) next = t;
    }
    return next;
}

static void *io_main(void *arg)
{
    native *n = arg;
    for (size_t i = 0; i < n->n; i++) conn_start(&n->c[i]);
    struct epoll_event ev[64];
    for (;;) {
        if (atomic_load(&n->cancel_pending)) do_cancels(n);
        take_inbox(n);
        dispatch(n);
        if (atomic_load(&n->stop)) break;
        int64_t next = timers(n);
        int timeout = -1;
        if (next >= 0) {
            int64_t d = next - now_ns();
            timeout = d <= 0 ? 0 : (int)((d + 999999) / 1000000);
        }
        /* Ask invoke for a wake-up only while few commands are on the wire:
         * otherwise their replies wake us, and new records wait for them
         * (one wake-up per burst, not per record). */
        size_t sent = 0;
        for (size_t i = 0; i < n->n; i++) sent += n->c[i].inflight - n->c[i].unsent;
        size_t half = n->n * n->a->cfg.pipeline / 2;
        if (sent < (half ? half : 1)) atomic_store(&n->sleeping, true);
        if (atomic_load(&n->inbox) || atomic_load(&n->cancel_pending) || atomic_load(&n->stop))
            timeout = 0;
        int k = epoll_wait(n->ep, ev, 64, timeout);
        atomic_store(&n->sleeping, false);
        for (int i = 0; i < k; i++) {
            if (!ev[i].data.ptr) {
                uint64_t x;
                if (read(n->efd, &x, sizeof x) < 0) { }
                continue;
            }
            conn_event(ev[i].data.ptr, ev[i].events);
        }
    }
    take_inbox(n);
    fail_waiting(n, AW_ECLOSED, "the Redis adapter closed before this record's command was sent");
    for (size_t i = 0; i < n->n; i++)
        if (n->c[i].state != C_DOWN)
            teardown(&n->c[i], AW_ECLOSED, "the Redis adapter closed while this record's command ran");
    pthread_mutex_lock(&n->mu);
    n->io_running = false;
    for (cancel *k = n->cancels; k; k = k->next) k->outcome = 2;
    n->cancels = NULL;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

static void n_close(void *ctx)
{
    native *n = ctx;
    if (n->started && pthread_equal(pthread_self(), n->th)) return;   /* from a callback */
    if (atomic_exchange(&n->closed, true)) return;
    if (n->started) {
        atomic_store(&n->stop, true);
        wake(n);
        pthread_join(n->th, NULL);
    }
    nreq *l = atomic_exchange(&n->inbox, NULL);
    while (l) {
        nreq *x = l->next;
        aw_future_fail(l->f, AW_ECLOSED, "the Redis adapter closed before this record's command was sent");
        free(l);
        l = x;
    }
}

static void n_destroy(native *n)
{
    if (n->ep >= 0) close(n->ep);
    if (n->efd >= 0) close(n->efd);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    for (size_t i = 0; n->c && i < n->n; i++) {
        free(n->c[i].out);
        rd__exec_free(&n->c[i].e);
    }
    free(n->c);
    free(n);
}

static void n_free(void *impl)
{
    rd_adapter *a = impl;
    native *n = a->strategy;
    if (n->started && pthread_equal(pthread_self(), n->th)) return;   /* from a callback */
    n_close(n);
    n_destroy(n);
    rd__adapter_free(a);
}

int rd__native_start(rd_adapter *a, char *err, size_t errlen)
{
    native *n = calloc(1, sizeof *n);
    if (!n) return aw__adapter_err(err, errlen, AW_ENOMEM, "out of memory");
    n->a = a;
    n->n = a->cfg.count;
    n->ep = n->efd = -1;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    n->c = calloc(n->n, sizeof *n->c);
    n->ep = epoll_create1(EPOLL_CLOEXEC);
    n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
    if (!n->c || n->ep < 0 || n->efd < 0 || epoll_ctl(n->ep, EPOLL_CTL_ADD, n->efd, &e)) {
        n_destroy(n);
        return aw__adapter_err(err, errlen, AW_ENOMEM, "redis: cannot set up epoll: %s", strerror(errno));
    }
    for (size_t i = 0; i < n->n; i++) {
        n->c[i] = (nconn){ .n = n, .fd = -1, .deadline = -1, .retry_at = -1, .backoff_ms = BACKOFF_MIN_MS };
        if (rd__exec_init(&n->c[i].e, &a->cfg)) {
            n_destroy(n);
            return aw__adapter_err(err, errlen, AW_ENOMEM, "out of memory");
        }
    }
    n->opening = true;
    n->open_rc = 1;
    n->io_running = true;
    if (pthread_create(&n->th, NULL, io_main, n) != 0) {
        n_destroy(n);
        return aw__adapter_err(err, errlen, AW_ENOMEM, "redis: cannot start the I/O thread");
    }
    n->started = true;
    pthread_mutex_lock(&n->mu);
    while (n->open_rc == 1) pthread_cond_wait(&n->cv, &n->mu);
    int rc = n->open_rc;
    if (rc) aw__adapter_err(err, errlen, rc, "%s", n->open_err);
    pthread_mutex_unlock(&n->mu);
    if (rc) {
        n_close(n);
        n_destroy(n);
        return rc;
    }
    n->fn = (aw_function){ .ctx = n, .invoke = n_invoke, .timeout = n_timeout, .close = n_close };
    a->strategy = n;
    a->base.fn = &n->fn;
    a->base.close = n_free;
    return 0;
}
