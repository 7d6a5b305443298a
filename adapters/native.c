/* The store-neutral native driver, its engine (native_int.h): connections
 * on an aw_loop, the FIFO of waiting requests and each connection's
 * requests in flight, deadlines, reconnect backoff, open and close. The
 * operator's side (invoke, timeout, the io=thread hand-off) is in
 * native_io.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "native_core_int.h"

#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000

/* ------------------------------------------------------------ requests */

aw__nat_req *aw__nat_req_get(aw__nat *n)
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

void aw__nat_req_put(aw__nat *n, aw__nat_req *r)
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
    int rc = 0;
    if (fd != c->fd || !c->w) {
        aw_watch_free(c->w);
        c->w = NULL;
        c->fd = fd;
        if (fd < 0) return 0;
        rc = aw_watch_new(c->n->l, &c->w, fd, on_io, c);
        if (rc == 0 && fstat(fd, &st) == 0) { c->ino = st.st_ino; c->dev = st.st_dev; }
    }
    if (rc == 0) rc = aw_watch_set(c->w, events);
    if (rc) {
        /* epoll or dup refused (AW_EIO, AW_ENOMEM); a socket the client
         * library closed under us (AW_EINVAL) is a lost connection. */
        char m[160];
        snprintf(m, sizeof m, "%s: cannot watch the connection's socket: %s", c->n->cfg.prefix,
                 aw_strerror(rc));
        aw__nat_down(c, rc == AW_EINVAL ? AW_ECONN : rc, m);
    }
    return rc;
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
    aw__nat_dispatch(n);
}

static void fail_waiting(aw__nat *n, int code, const char *msg)
{
    while (n->wq) {
        aw__nat_req *r = n->wq;
        n->wq = r->next;
        aw_future_fail(r->f, code, msg);
        aw__nat_req_put(n, r);
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
        aw__nat_req_put(c->n, r);
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
    aw__nat_req_put(n, r);
    start_deadline(c);
    if (c->state != C_UP) return;
    if (!c->nfly && c->w) aw_watch_set(c->w, AW_READ);
    if (c->nfly < n->cfg.pipeline) ready_add(n, c);
    aw__nat_dispatch(n);
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
void aw__nat_dispatch(aw__nat *n)
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

void aw__nat_enqueue(aw__nat *n, aw__nat_req *r)
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
int aw__nat_find_cancel(aw__nat *n, aw_future *f)
{
    aw__nat_req *prev = NULL;
    for (aw__nat_req *r = n->wq; r; prev = r, r = r->next)
        if (r->f == f) {
            if (prev) prev->next = r->next; else n->wq = r->next;
            if (n->wq_tail == r) n->wq_tail = prev;
            aw__nat_req_put(n, r);
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
void aw__nat_shutdown(aw__nat *n)
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


/* ------------------------------------------------------- open and close */

/* True inside one of the driver's callbacks: on its I/O thread, or (owner
 * mode) while the loop thread is in the driver. */
static bool inside(aw__nat *n)
{
    if (n->cfg.own_thread) return aw__nat_on_io_thread(n);
    return n->depth > 0;
}

void aw__nat_close(aw__nat *n)
{
    if (!n || inside(n)) return;
    if (atomic_exchange(&n->closed, true)) return;
    if (n->started) {
        atomic_store(&n->stop, true);
        aw__nat_wake(n);
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
        aw__nat_shutdown(n);
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
    if (!n) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
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
        rc = n->efd < 0 ? AW_EIO : aw_watch_new(n->l, &n->efd_w, n->efd, aw__nat_on_wake, n);
        if (!rc) rc = aw_watch_set(n->efd_w, AW_READ);
    }
    if (rc) {
        destroy(n);
        return aw__errf(err, errlen, rc, "%s: cannot set up the event loop: %s", cfg->prefix,
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
        if (pthread_create(&n->th, NULL, aw__nat_io_main, n) != 0) {
            n->open_rc = AW_ENOMEM;
            snprintf(n->open_err, sizeof n->open_err, "%s: cannot start the I/O thread", cfg->prefix);
        } else {
            n->started = true;
        }
    }
    if (n->open_rc) {
        rc = aw__errf(err, errlen, n->open_rc, "%s", n->open_err);
        atomic_store(&n->closed, true);
        aw__nat_shutdown(n);
        destroy(n);
        return rc;
    }
    n->fn = (aw_function){ .ctx = n, .invoke = aw__nat_invoke, .timeout = aw__nat_timeout, .close = n_close,
                           .loop = cfg->own_thread ? NULL : n->l };
    *out = n;
    return 0;
}
