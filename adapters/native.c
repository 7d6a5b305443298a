/* The store-neutral native driver (native_int.h): connections on an
 * aw_loop, requests in FIFOs, deadlines, reconnect backoff, timeouts and
 * close, run by the operator's owner thread or by an I/O thread of its
 * own.
 *
 * io=thread hand-off: invoke pushes the request on a lock-free stack (CAS)
 * and writes the eventfd only if the I/O thread is about to sleep (a
 * Dekker pair: it sets `sleeping` then looks at the stack; invoke pushes
 * then looks at `sleeping`, both seq_cst). Requests freed by the I/O
 * thread go back to the owner through a second lock-free stack, which the
 * owner takes whole. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "native_int.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define REQ_CHUNK 64

enum { C_DOWN, C_CONNECTING, C_UP };

struct aw__nat_conn {
    aw__nat *n;
    size_t idx;
    int state;
    int fd;
    aw_watch *w;
    ino_t ino;                   /* the file fd named when w was made */
    dev_t dev;
    aw_timer *deadline, *retry;
    int deadline_ms;             /* what deadline measures, for its message */
    long backoff_ms;
    bool ever_up, ready;         /* ready: on n's list of connections with room */
    aw__nat_conn *rnext, *rprev;
    aw__nat_req *fly, *fly_tail; /* in flight, oldest first */
    size_t nfly;
    max_align_t proto[];         /* the protocol's state */
};

/* A timeout waiting for the I/O thread's answer about its future. */
typedef struct cancel {
    struct cancel *next;
    aw_future *f;
    int outcome;                 /* 0 pending, then one of the O_* */
} cancel;

enum { O_WITHDRAWN = 1, O_NOT_HELD, O_ABANDONED };

typedef struct chunk { struct chunk *next; aw__nat_req r[REQ_CHUNK]; } chunk;

struct aw__nat {
    aw__nat_cfg cfg;
    aw_function fn;
    aw_loop *l;
    aw__nat_conn **c;
    /* loop thread */
    aw__nat_req *wq, *wq_tail;   /* waiting for a connection, FIFO */
    aw__nat_conn *rq, *rq_tail;  /* connections with room */
    size_t up;
    int depth;                   /* > 0 inside the driver's callbacks */
    bool dispatching, opening, closing;
    int open_rc;
    size_t open_up;
    char open_err[1024];
    /* requests: the owner's free list; in thread mode the I/O thread gives
     * back through ret */
    aw__nat_req *free;
    chunk *chunks;
    _Atomic(aw__nat_req *) ret;
    /* thread mode */
    int efd;
    aw_watch *efd_w;
    pthread_t th;
    bool started;
    _Atomic(aw__nat_req *) inbox;
    _Atomic bool sleeping, stop, cancel_pending;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cancel *cancels;             /* under mu */
    bool io_running;             /* under mu */
    _Atomic bool closed;
};

static void dispatch(aw__nat *n);

/* ------------------------------------------------------------ requests */

static aw__nat_req *req_get(aw__nat *n)
{
    aw__nat_req *r = n->free;
    if (!r) r = atomic_exchange(&n->ret, NULL);
    if (!r) {
        chunk *k = malloc(sizeof *k);
        if (!k) return NULL;
        k->next = n->chunks;
        n->chunks = k;
        for (int i = 0; i < REQ_CHUNK - 1; i++) k->r[i].next = &k->r[i + 1];
        k->r[REQ_CHUNK - 1].next = NULL;
        r = k->r;
    }
    n->free = r->next;
    return r;
}

static void req_put(aw__nat *n, aw__nat_req *r)
{
    if (!n->cfg.own_thread) {
        r->next = n->free;
        n->free = r;
        return;
    }
    r->next = atomic_load_explicit(&n->ret, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&n->ret, &r->next, r)) { }
}

static void count(_Atomic uint64_t *c) { if (c) atomic_fetch_add(c, 1); }

static void set_connected(aw__nat *n, int d)
{
    if (n->cfg.connected) atomic_fetch_add(n->cfg.connected, (size_t)d);
}

/* ------------------------------------------------------- for protocols */

void *aw__nat_state(aw__nat_conn *c) { return c->proto; }
size_t aw__nat_index(const aw__nat_conn *c) { return c->idx; }
aw_loop *aw__nat_loop(aw__nat *n) { return n->l; }
aw__nat_req *aw__nat_head(aw__nat_conn *c) { return c->fly; }
const aw_function *aw__nat_function(aw__nat *n) { return &n->fn; }

static void on_io(void *ctx, unsigned events);

int aw__nat_watch(aw__nat_conn *c, int fd, unsigned events)
{
    /* While connecting, a client library may close its socket and open
     * another under the same number (trying the next address): a watcher
     * holds the old file, so look at which file the number names now. */
    struct stat st;
    if (c->w && fd == c->fd && c->state == C_CONNECTING && fstat(fd, &st) == 0 &&
        (st.st_ino != c->ino || st.st_dev != c->dev)) {
        aw_watch_free(c->w);
        c->w = NULL;
    }
    if (fd != c->fd || !c->w) {
        aw_watch_free(c->w);
        c->w = NULL;
        c->fd = fd;
        if (fd < 0) return 0;
        int rc = aw_watch_new(c->n->l, &c->w, fd, on_io, c);
        if (rc) return rc;
        if (fstat(fd, &st) == 0) { c->ino = st.st_ino; c->dev = st.st_dev; }
    }
    return aw_watch_set(c->w, events);
}

void aw__nat_deadline(aw__nat_conn *c, int ms)
{
    c->deadline_ms = ms;
    aw_timer_start(c->deadline, ms);
}

/* Room on c: it goes to the back of the list of connections with room. */
static void ready_add(aw__nat *n, aw__nat_conn *c)
{
    if (c->ready) return;
    c->ready = true;
    c->rnext = NULL;
    c->rprev = n->rq_tail;
    if (n->rq_tail) n->rq_tail->rnext = c; else n->rq = c;
    n->rq_tail = c;
}

static void ready_del(aw__nat *n, aw__nat_conn *c)
{
    if (!c->ready) return;
    c->ready = false;
    if (c->rprev) c->rprev->rnext = c->rnext; else n->rq = c->rnext;
    if (c->rnext) c->rnext->rprev = c->rprev; else n->rq_tail = c->rprev;
}

void aw__nat_up(aw__nat_conn *c)
{
    aw__nat *n = c->n;
    c->state = C_UP;
    n->up++;
    set_connected(n, 1);
    if (c->ever_up) count(n->cfg.reconnects);
    c->ever_up = true;
    c->backoff_ms = BACKOFF_MIN_MS;
    aw_timer_stop(c->deadline);
    if (c->w) aw_watch_set(c->w, AW_READ);     /* a break shows as readable */
    ready_add(n, c);
    if (n->opening && ++n->open_up == n->cfg.conns) n->opening = false;
    dispatch(n);
}

static void fail_waiting(aw__nat *n, int code, const char *msg)
{
    while (n->wq) {
        aw__nat_req *r = n->wq;
        n->wq = r->next;
        aw_future_fail(r->f, code, msg);
        req_put(n, r);
    }
    n->wq_tail = NULL;
}

/* Fails what c has in flight; an abandoned request's future gets its late
 * completion this way too. */
static void fail_fly(aw__nat_conn *c, int code, const char *msg)
{
    while (c->fly) {
        aw__nat_req *r = c->fly;
        c->fly = r->next;
        aw_future_fail(r->f, code, msg);
        req_put(c->n, r);
    }
    c->fly_tail = NULL;
    c->nfly = 0;
}

/* Unwatches and closes c's handle; DOWN afterwards. */
static void close_conn(aw__nat_conn *c)
{
    aw__nat *n = c->n;
    ready_del(n, c);
    aw_watch_free(c->w);
    c->w = NULL;
    c->fd = -1;
    aw_timer_stop(c->deadline);
    n->depth++;
    n->cfg.proto->teardown(n->cfg.pctx, c);
    n->depth--;
    if (c->state == C_UP) {
        n->up--;
        set_connected(n, -1);
    }
    c->state = C_DOWN;
}

void aw__nat_down(aw__nat_conn *c, int code, const char *msg)
{
    aw__nat *n = c->n;
    if (c->state == C_DOWN) return;
    bool attempt = c->state == C_CONNECTING;
    fail_fly(c, code, msg);
    close_conn(c);
    if (!attempt) count(n->cfg.lost);
    if (n->opening) {
        if (!n->open_rc) {
            n->open_rc = code;
            snprintf(n->open_err, sizeof n->open_err, "%s", msg);
        }
        return;
    }
    if (n->closing) return;
    aw_timer_start(c->retry, c->backoff_ms);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
    if (attempt && n->up == 0 && n->wq) {
        /* Rather than wait for a server that may never come back. */
        char m[1200];
        snprintf(m, sizeof m, "no %s connection is up: %s", n->cfg.name, msg);
        fail_waiting(n, AW_ECONN, m);
    }
}

static void start_deadline(aw__nat_conn *c)
{
    if (c->fly) {
        c->deadline_ms = c->n->cfg.read_timeout_ms;
        aw_timer_start_at(c->deadline, c->fly->deadline);
    } else {
        aw_timer_stop(c->deadline);
    }
}

void aw__nat_done(aw__nat_conn *c)
{
    aw__nat *n = c->n;
    aw__nat_req *r = c->fly;
    if (!r) return;
    c->fly = r->next;
    if (!c->fly) c->fly_tail = NULL;
    c->nfly--;
    if (r->abandoned) aw_future_fail(r->f, AW_ETIMEDOUT, NULL);   /* the late completion */
    req_put(n, r);
    start_deadline(c);
    if (c->state != C_UP) return;
    if (!c->nfly && c->w) aw_watch_set(c->w, AW_READ);
    if (c->nfly < n->cfg.pipeline) ready_add(n, c);
    dispatch(n);
}

/* --------------------------------------------------------- the engine */

static void submit_on(aw__nat_conn *c, aw__nat_req *r)
{
    aw__nat *n = c->n;
    r->next = NULL;
    r->abandoned = false;
    r->deadline = aw_loop_now_ms() + n->cfg.read_timeout_ms;
    if (c->fly_tail) c->fly_tail->next = r; else c->fly = r;
    c->fly_tail = r;
    if (++c->nfly == 1) start_deadline(c);
    ready_del(n, c);
    if (c->nfly < n->cfg.pipeline) ready_add(n, c);   /* round robin */
    n->depth++;
    n->cfg.proto->submit(n->cfg.pctx, c, r);
    n->depth--;
}

/* Hands waiting requests to connections with room, oldest first. */
static void dispatch(aw__nat *n)
{
    if (n->dispatching) return;      /* a submit that finished at once */
    n->dispatching = true;
    while (n->wq && n->rq) {
        aw__nat_req *r = n->wq;
        n->wq = r->next;
        if (!n->wq) n->wq_tail = NULL;
        submit_on(n->rq, r);
    }
    n->dispatching = false;
}

static void enqueue(aw__nat *n, aw__nat_req *r)
{
    r->next = NULL;
    if (n->wq_tail) n->wq_tail->next = r; else n->wq = r;
    n->wq_tail = r;
}

static void on_io(void *ctx, unsigned events)
{
    aw__nat_conn *c = ctx;
    aw__nat *n = c->n;
    if (c->state == C_UP && !c->nfly) {
        /* Nothing asked, something came: EOF or an error, mostly. */
        char b;
        ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        char m[200];
        snprintf(m, sizeof m, "%s: %s", n->cfg.prefix, r == 0 ? "the server closed an idle connection"
                                                             : "an idle connection broke");
        aw__nat_down(c, AW_ECONN, m);
        return;
    }
    if (c->state == C_DOWN) return;
    n->depth++;
    n->cfg.proto->event(n->cfg.pctx, c, events);
    n->depth--;
}

static void on_deadline(void *ctx)
{
    aw__nat_conn *c = ctx;
    aw__nat *n = c->n;
    if (c->state == C_DOWN || (c->state == C_UP && !c->nfly)) return;
    char m[600];
    snprintf(m, sizeof m, "%s: no answer from %s within %d ms", n->cfg.prefix, n->cfg.where,
             c->deadline_ms);
    aw__nat_down(c, AW_ECONN, m);
}

static void conn_start(aw__nat_conn *c)
{
    aw__nat *n = c->n;
    c->state = C_CONNECTING;
    aw__nat_deadline(c, n->cfg.connect_timeout_ms);
    n->depth++;
    n->cfg.proto->connect(n->cfg.pctx, c);
    n->depth--;
}

static void on_retry(void *ctx)
{
    aw__nat_conn *c = ctx;
    if (c->state == C_DOWN && !c->n->closing) conn_start(c);
}

/* Withdraws the request of f if it waits, marks it abandoned if it runs. */
static int find_cancel(aw__nat *n, aw_future *f)
{
    aw__nat_req *prev = NULL;
    for (aw__nat_req *r = n->wq; r; prev = r, r = r->next)
        if (r->f == f) {
            if (prev) prev->next = r->next; else n->wq = r->next;
            if (n->wq_tail == r) n->wq_tail = prev;
            req_put(n, r);
            return O_WITHDRAWN;
        }
    for (size_t i = 0; i < n->cfg.conns; i++)
        for (aw__nat_req *r = n->c[i]->fly; r; r = r->next)
            if (r->f == f) {
                r->abandoned = true;
                return O_ABANDONED;
            }
    return O_NOT_HELD;
}

/* Nothing is dropped: waiting and running records fail with AW_ECLOSED,
 * every connection closes. */
static void shutdown_all(aw__nat *n)
{
    char m[200];
    n->closing = true;
    snprintf(m, sizeof m, "the %s adapter closed before this record's query ran", n->cfg.name);
    fail_waiting(n, AW_ECLOSED, m);
    snprintf(m, sizeof m, "the %s adapter closed while this record's query ran", n->cfg.name);
    for (size_t i = 0; i < n->cfg.conns; i++) {
        aw__nat_conn *c = n->c[i];
        aw_timer_stop(c->retry);
        fail_fly(c, AW_ECLOSED, m);
        if (c->state != C_DOWN) close_conn(c);
    }
}

/* ------------------------------------------------- the operator's side */

static void wake(aw__nat *n)
{
    uint64_t one = 1;
    while (write(n->efd, &one, sizeof one) < 0 && errno == EINTR) { }
}

static void take_inbox(aw__nat *n)
{
    aw__nat_req *l = atomic_exchange(&n->inbox, NULL), *rev = NULL;
    while (l) { aw__nat_req *x = l->next; l->next = rev; rev = l; l = x; }
    while (rev) { aw__nat_req *x = rev->next; enqueue(n, rev); rev = x; }
}

static void n_invoke(void *ctx, void *input, aw_future *f)
{
    aw__nat *n = ctx;
    aw__nat_req *r = atomic_load(&n->closed) ? NULL : req_get(n);
    if (!r) {
        char m[100];
        snprintf(m, sizeof m, "the %s adapter is closed", n->cfg.name);
        aw_future_fail(f, atomic_load(&n->closed) ? AW_ECLOSED : AW_ENOMEM,
                       atomic_load(&n->closed) ? m : "out of memory");
        return;
    }
    r->input = input;
    r->f = f;
    r->abandoned = false;
    if (!n->cfg.own_thread) {            /* we run the loop: start it now */
        enqueue(n, r);
        dispatch(n);
        return;
    }
    r->next = atomic_load_explicit(&n->inbox, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&n->inbox, &r->next, r)) { }
    if (atomic_load(&n->sleeping) && atomic_exchange(&n->sleeping, false)) wake(n);
}

/* The record of f timed out (owner thread). A record that waits for a
 * connection is withdrawn and fails here; one whose query runs is
 * abandoned -- its answer will be dropped without calling row, since input
 * may be freed once the record leaves -- and f is left unsettled, so the
 * operator fails the record with AW_ETIMEDOUT and f waits for its late
 * completion. The owner never waits for the network: in owner mode this
 * is a look at our own queues; in thread mode the I/O thread answers at
 * once (it is never inside a lookup callback while it does). */
static void n_timeout(void *ctx, void *input, aw_future *f)
{
    aw__nat *n = ctx;
    (void)input;
    int outcome = O_NOT_HELD;
    if (!n->cfg.own_thread) {
        outcome = find_cancel(n, f);
    } else {
        cancel k = { NULL, f, 0 };
        pthread_mutex_lock(&n->mu);
        if (n->io_running) {
            k.next = n->cancels;
            n->cancels = &k;
            atomic_store(&n->cancel_pending, true);
            wake(n);
            while (!k.outcome) pthread_cond_wait(&n->cv, &n->mu);
            outcome = k.outcome;
        }
        pthread_mutex_unlock(&n->mu);
    }
    if (outcome == O_WITHDRAWN) {
        char msg[160];
        snprintf(msg, sizeof msg, "timed out while waiting for a free %s connection (%zu, all "
                 "busy or down)", n->cfg.name, n->cfg.conns);
        aw_future_fail(f, AW_ETIMEDOUT, msg);
    } else if (outcome != O_ABANDONED) {
        /* Settled already (harmless), or a fresh future between retry
         * attempts: settle it so it does not stay pending. */
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
    }
}

/* ---------------------------------------------------------- I/O thread */

static void do_cancels(aw__nat *n)
{
    pthread_mutex_lock(&n->mu);
    cancel *l = n->cancels;
    n->cancels = NULL;
    atomic_store(&n->cancel_pending, false);
    pthread_mutex_unlock(&n->mu);
    take_inbox(n);
    for (cancel *k = l, *next; k; k = next) {
        next = k->next;
        int outcome = find_cancel(n, k->f);
        pthread_mutex_lock(&n->mu);
        k->outcome = outcome;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
}

static void on_wake(void *ctx, unsigned events)
{
    aw__nat *n = ctx;
    uint64_t x;
    if (read(n->efd, &x, sizeof x) < 0) { }
    (void)events;
}

/* The driver whose I/O thread this is (none on other threads). */
static _Thread_local aw__nat *tl_io;

static void *io_main(void *arg)
{
    aw__nat *n = arg;
    tl_io = n;
    for (;;) {
        if (atomic_load(&n->cancel_pending)) do_cancels(n);
        take_inbox(n);
        dispatch(n);
        if (atomic_load(&n->stop)) break;
        /* Sleep only if nothing came in since we looked (see the top). */
        atomic_store(&n->sleeping, true);
        int timeout = atomic_load(&n->inbox) || atomic_load(&n->cancel_pending) ||
                      atomic_load(&n->stop) ? 0 : -1;
        aw_loop_run(n->l, timeout);
        atomic_store(&n->sleeping, false);
    }
    take_inbox(n);
    shutdown_all(n);
    pthread_mutex_lock(&n->mu);
    n->io_running = false;
    for (cancel *k = n->cancels; k; k = k->next) k->outcome = O_NOT_HELD;
    n->cancels = NULL;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* ------------------------------------------------------- open and close */

/* True inside one of the driver's callbacks: on its I/O thread, or (owner
 * mode) while the loop thread is in the driver. */
static bool inside(aw__nat *n)
{
    if (n->cfg.own_thread) return tl_io == n;
    return n->depth > 0;
}

void aw__nat_close(aw__nat *n)
{
    if (!n || inside(n)) return;
    if (atomic_exchange(&n->closed, true)) return;
    if (n->started) {
        atomic_store(&n->stop, true);
        wake(n);
        pthread_join(n->th, NULL);
        n->started = false;
        /* Pushed after the thread's last look. */
        char m[200];
        snprintf(m, sizeof m, "the %s adapter closed before this record's query ran", n->cfg.name);
        for (aw__nat_req *r = atomic_exchange(&n->inbox, NULL), *x; r; r = x) {
            x = r->next;
            aw_future_fail(r->f, AW_ECLOSED, m);
        }
    } else {
        shutdown_all(n);
    }
}

static void n_close(void *ctx) { aw__nat_close(ctx); }

static void destroy(aw__nat *n)
{
    if (n->c)
        for (size_t i = 0; i < n->cfg.conns && n->c[i]; i++) {
            aw_watch_free(n->c[i]->w);
            aw_timer_free(n->c[i]->deadline);
            aw_timer_free(n->c[i]->retry);
            free(n->c[i]);
        }
    free(n->c);
    aw_watch_free(n->efd_w);
    aw_loop_free(n->l);
    if (n->efd >= 0) close(n->efd);
    for (chunk *k = n->chunks, *x; k; k = x) { x = k->next; free(k); }
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

int aw__nat_free(aw__nat *n)
{
    if (!n) return 0;
    if (inside(n)) return AW_EINVAL;
    aw__nat_close(n);
    destroy(n);
    return 0;
}

int aw__nat_open(aw__nat **out, const aw__nat_cfg *cfg, char *err, size_t errlen)
{
    *out = NULL;
    aw__nat *n = calloc(1, sizeof *n);
    if (!n) return aw__adapter_err(err, errlen, AW_ENOMEM, "out of memory");
    n->cfg = *cfg;
    n->efd = -1;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    int rc = aw_loop_new(&n->l);
    if (!rc && !(n->c = calloc(cfg->conns, sizeof *n->c))) rc = AW_ENOMEM;
    for (size_t i = 0; !rc && i < cfg->conns; i++) {
        aw__nat_conn *c = calloc(1, sizeof *c + cfg->conn_size);
        if (!(n->c[i] = c)) { rc = AW_ENOMEM; break; }
        *c = (aw__nat_conn){ .n = n, .idx = i, .fd = -1, .backoff_ms = BACKOFF_MIN_MS };
        if ((rc = aw_timer_new(n->l, &c->deadline, on_deadline, c)) == 0)
            rc = aw_timer_new(n->l, &c->retry, on_retry, c);
    }
    if (!rc && cfg->own_thread) {
        n->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        rc = n->efd < 0 ? AW_EIO : aw_watch_new(n->l, &n->efd_w, n->efd, on_wake, n);
        if (!rc) rc = aw_watch_set(n->efd_w, AW_READ);
    }
    if (rc) {
        destroy(n);
        return aw__adapter_err(err, errlen, rc, "%s: cannot set up the event loop: %s", cfg->prefix,
                               aw_strerror(rc));
    }
    /* Every connection connects (and whatever the protocol does next), or
     * the first failure ends the open; each step has its deadline. */
    n->opening = true;
    for (size_t i = 0; i < cfg->conns && !n->open_rc; i++) conn_start(n->c[i]);
    while (n->opening && !n->open_rc) {
        if ((rc = aw_loop_run(n->l, -1)) < 0) {
            n->open_rc = rc;
            snprintf(n->open_err, sizeof n->open_err, "%s: the event loop failed: %s", cfg->prefix,
                     aw_strerror(rc));
        }
    }
    n->opening = false;
    if (!n->open_rc && cfg->own_thread) {
        n->io_running = true;
        if (pthread_create(&n->th, NULL, io_main, n) != 0) {
            n->open_rc = AW_ENOMEM;
            snprintf(n->open_err, sizeof n->open_err, "%s: cannot start the I/O thread", cfg->prefix);
        } else {
            n->started = true;
        }
    }
    if (n->open_rc) {
        rc = aw__adapter_err(err, errlen, n->open_rc, "%s", n->open_err);
        atomic_store(&n->closed, true);
        shutdown_all(n);
        destroy(n);
        return rc;
    }
    n->fn = (aw_function){ .ctx = n, .invoke = n_invoke, .timeout = n_timeout, .close = n_close,
                           .loop = cfg->own_thread ? NULL : n->l };
    *out = n;
    return 0;
}
