/* MySQL through MariaDB Connector/C's non-blocking API: one I/O thread, one
 * epoll, N connections, each with the lookup's statement prepared once and
 * at most one execution in flight.
 *
 * invoke (owner thread) pushes the record on a lock-free stack (CAS) and
 * writes the eventfd only if the I/O thread is about to sleep (a Dekker
 * pair: it sets `sleeping` then looks at the stack; invoke pushes then looks
 * at `sleeping`, both seq_cst). The I/O thread takes the whole stack at
 * once, reverses it into its FIFO, and hands the oldest record to a free
 * connection. Everything else -- bind, execute, rows, completing the future,
 * reconnecting -- happens on the I/O thread, which alone touches the
 * connections. A connection's life: DOWN -> CONNECT -> PREPARE -> IDLE <->
 * EXEC -> STORE -> IDLE, and back to DOWN when it breaks (then reconnect
 * after a backoff). */
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
#include "mysql_int.h"

enum { C_DOWN, C_CONNECT, C_PREPARE, C_IDLE, C_EXEC, C_STORE };

/* A record for the I/O thread. abandoned: its record timed out while its
 * query ran; the answer is dropped without calling row (input may be gone)
 * and f only gets its late completion. */
typedef struct nreq { struct nreq *next; void *input; aw_future *f; bool abandoned; } nreq;

/* A timeout waiting for the I/O thread's answer about its future. */
typedef struct cancel {
    struct cancel *next;
    aw_future *f;
    int outcome;                  /* 0 pending, 1 withdrawn, 2 not held, 3 abandoned */
} cancel;

typedef struct native native;

typedef struct nconn {
    native *n;
    int state;
    MYSQL *m;
    MYSQL *mret;                  /* connect's result */
    int irc;                      /* prepare/execute/store's result */
    MYSQL_STMT *st;
    my_stmt s;                    /* set up once prepared */
    bool has_s;
    int fd, waiting;              /* fd registered in epoll; MYSQL_WAIT_* awaited */
    uint32_t ev;                  /* epoll events registered; 0 = none */
    int64_t lib_deadline, deadline, retry_at;   /* ns; -1 = none */
    long backoff_ms;
    bool ever_up;
    nreq *req;                    /* the record in flight */
    struct nconn *next_idle;
} nconn;

struct native {
    my_adapter *a;
    aw_function fn;
    size_t n;
    nconn *c;
    int ep, efd;
    pthread_t th;
    bool started;
    _Atomic(nreq *) inbox;
    _Atomic bool sleeping, stop, closed, cancel_pending;
    /* I/O thread only */
    nreq *wq_head, *wq_tail;
    size_t nwait;
    nconn *idle;
    size_t up;
    bool opening;
    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open_rc;                  /* 1 while opening, then 0 or the error */
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
                       atomic_load(&n->closed) ? "the MySQL adapter is closed" : "out of memory");
        return;
    }
    r->input = input;
    r->f = f;
    r->abandoned = false;
    r->next = atomic_load_explicit(&n->inbox, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&n->inbox, &r->next, r)) { }
    if (atomic_load(&n->sleeping) && atomic_exchange(&n->sleeping, false)) wake(n);
}

/* The record of f timed out (owner thread). The I/O thread answers at
 * once (it is never inside a lookup callback while it does): a record that
 * waits for a connection is withdrawn and fails here; one whose query runs
 * is abandoned -- its answer will be dropped without calling row, since
 * input may be freed once the record leaves -- and f is left unsettled, so
 * the operator fails the record with AW_ETIMEDOUT and f waits for its late
 * completion. The owner thread never waits for the network. */
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
        snprintf(msg, sizeof msg, "timed out while waiting for a free MySQL connection (%zu, "
                 "all busy or down)", n->n);
        aw_future_fail(f, AW_ETIMEDOUT, msg);
    } else if (k.outcome != 3) {
        /* Settled already (harmless), or a fresh future between retry
         * attempts: settle it so it does not stay pending. */
        aw_future_fail(f, AW_ETIMEDOUT, NULL);
    }
}

/* ------------------------------------------------------------ I/O thread */

static void done_req(nconn *c)
{
    free(c->req);
    c->req = NULL;
}

static void set_events(nconn *c, uint32_t want)
{
    native *n = c->n;
    int fd = (int)mysql_get_socket(c->m);
    if (fd != c->fd) {
        if (c->ev && c->fd >= 0) epoll_ctl(n->ep, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = fd;
        c->ev = 0;
    }
    if (want == c->ev || fd < 0) return;
    struct epoll_event e = { .events = want, .data.ptr = c };
    if (epoll_ctl(n->ep, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &e) == 0) c->ev = want;
}

/* The running call wants to wait for st (MYSQL_WAIT_*). */
static void arm(nconn *c, int st)
{
    c->waiting = st;
    set_events(c, (st & MYSQL_WAIT_READ ? EPOLLIN : 0u) | (st & MYSQL_WAIT_WRITE ? EPOLLOUT : 0u) |
                  (st & MYSQL_WAIT_EXCEPT ? EPOLLPRI : 0u));
    c->lib_deadline = st & MYSQL_WAIT_TIMEOUT
                      ? now_ns() + (int64_t)mysql_get_timeout_value_ms(c->m) * 1000000 : -1;
}

/* Drives a suspended call to its end after shutting the socket: the call
 * fails at once (EOF, and MYSQL_WAIT_TIMEOUT). Needed before mysql_close. */
static void abort_call(nconn *c)
{
    if (!c->waiting) return;
    if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
    for (int i = 0; i < 64 && c->waiting; i++) {
        int ev = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_TIMEOUT;
        switch (c->state) {
        case C_CONNECT: c->waiting = mysql_real_connect_cont(&c->mret, c->m, ev); break;
        case C_PREPARE: c->waiting = mysql_stmt_prepare_cont(&c->irc, c->st, ev); break;
        case C_EXEC: c->waiting = mysql_stmt_execute_cont(&c->irc, c->st, ev); break;
        case C_STORE: c->waiting = mysql_stmt_store_result_cont(&c->irc, c->st, ev); break;
        default: c->waiting = 0; break;
        }
    }
}

/* Closes the connection's handle; the state is DOWN afterwards. */
static void teardown(nconn *c)
{
    native *n = c->n;
    abort_call(c);
    if (c->ev && c->fd >= 0) epoll_ctl(n->ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->waiting) {
        c->m = NULL;              /* still suspended after 64 resumes: leak, not crash */
    } else {
        if (c->st) mysql_stmt_close(c->st);
        if (c->m) mysql_close(c->m);
    }
    if (c->has_s) my__stmt_free(&c->s);
    c->has_s = false;
    c->st = NULL;
    c->m = NULL;
    c->fd = -1;
    c->ev = 0;
    c->waiting = 0;
    c->deadline = c->lib_deadline = -1;
    if (c->state == C_IDLE || c->state == C_EXEC || c->state == C_STORE) {
        n->up--;
        atomic_fetch_sub(&n->a->connected, 1);
    }
    c->state = C_DOWN;
}

static void fail_waiting(native *n, int code, const char *msg)
{
    while (n->wq_head) {
        nreq *r = n->wq_head;
        n->wq_head = r->next;
        aw_future_fail(r->f, code, msg);
        free(r);
    }
    n->wq_tail = NULL;
    n->nwait = 0;
}

/* The connection broke (lost) or could not be made (attempt): fail what it
 * held, close it, schedule a reconnect. While opening, end the open. */
static void conn_down(nconn *c, int code, const char *msg, bool attempt)
{
    native *n = c->n;
    if (c->req) {
        aw_results_fail(c->s.res, &n->a->cfg.lookup, c->req->f, code, msg);
        done_req(c);
    }
    /* Out of the idle stack, if there. */
    for (nconn **p = &n->idle; *p; p = &(*p)->next_idle)
        if (*p == c) { *p = c->next_idle; break; }
    teardown(c);
    if (!attempt) atomic_fetch_add(&n->a->conn_lost, 1);
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
    c->backoff_ms = c->backoff_ms * 2 > MY_BACKOFF_MAX_MS ? MY_BACKOFF_MAX_MS : c->backoff_ms * 2;
    if (attempt && n->up == 0 && n->wq_head) {
        char m[1100];
        snprintf(m, sizeof m, "no MySQL connection is up: %s", msg);
        fail_waiting(n, AW_ECONN, m);
    }
}

static void become_idle(nconn *c)
{
    c->state = C_IDLE;
    c->deadline = c->lib_deadline = -1;
    c->waiting = 0;
    set_events(c, EPOLLIN);       /* an idle connection that turns readable broke */
    c->next_idle = c->n->idle;
    c->n->idle = c;
}

static void on_done(nconn *c);

static void step(nconn *c, int st)
{
    if (st) arm(c, st);
    else { c->waiting = 0; on_done(c); }
}

static void conn_start(nconn *c)
{
    native *n = c->n;
    const my_cfg *k = &n->a->cfg;
    c->retry_at = -1;
    if (!(c->m = my__handle(k, true))) {
        conn_down(c, AW_ENOMEM, "mysql: out of memory", true);
        return;
    }
    c->state = C_CONNECT;
    c->deadline = now_ns() + (int64_t)k->connect_timeout_ms * 1000000;
    step(c, mysql_real_connect_start(&c->mret, c->m, k->sock ? "localhost" : k->host, k->user,
                                     k->pass, k->db, k->port, k->sock, 0));
}

static void query_error(nconn *c)
{
    char msg[400];
    my__stmt_errmsg(&c->s, msg, sizeof msg);
    int code = my__classify(mysql_stmt_errno(c->st));
    if (code == AW_ECONN) { conn_down(c, code, msg, false); return; }
    aw_results_fail(c->s.res, &c->n->a->cfg.lookup, c->req->f, code, msg);
    done_req(c);
    become_idle(c);
}

/* The call of c's state finished; go on to the next. */
static void on_done(nconn *c)
{
    native *n = c->n;
    const my_cfg *k = &n->a->cfg;
    char err[1024];
    switch (c->state) {
    case C_CONNECT:
        if (!c->mret) {
            int code = my__connect_error(k, c->m, err, sizeof err);
            conn_down(c, code, err, true);
            return;
        }
        if (!(c->st = mysql_stmt_init(c->m))) {
            conn_down(c, AW_ENOMEM, "mysql: out of memory", true);
            return;
        }
        c->state = C_PREPARE;
        c->deadline = now_ns() + (int64_t)k->read_timeout_ms * 1000000;
        step(c, mysql_stmt_prepare_start(&c->irc, c->st, k->lookup.sql, (unsigned long)strlen(k->lookup.sql)));
        return;
    case C_PREPARE: {
        int rc;
        if (c->irc) {
            unsigned e = mysql_stmt_errno(c->st);
            rc = my__classify(e) == AW_ECONN ? AW_ECONN : AW_EQUERY;
            snprintf(err, sizeof err, "mysql: SQL does not prepare at %s: %s (SQL: %.300s)",
                     k->where, mysql_stmt_error(c->st), k->lookup.sql);
            conn_down(c, rc, err, true);
            return;
        }
        if ((rc = my__stmt_setup(&c->s, c->st, k, err, sizeof err))) {
            conn_down(c, rc, err, true);
            return;
        }
        c->has_s = true;
        if (aw__adapter_set_columns(&n->a->base, (int)c->s.ncols, (const char *const *)c->s.names,
                                    (int)c->s.nparams)) {
            conn_down(c, AW_ENOMEM, "mysql: out of memory", true);
            return;
        }
        n->up++;
        atomic_fetch_add(&n->a->connected, 1);
        if (c->ever_up) atomic_fetch_add(&n->a->reconnects, 1);
        c->ever_up = true;
        c->backoff_ms = MY_BACKOFF_MIN_MS;
        become_idle(c);
        if (n->opening && ++n->open_up == n->n) {
            pthread_mutex_lock(&n->mu);
            if (n->open_rc == 1) n->open_rc = 0;
            pthread_cond_broadcast(&n->cv);
            pthread_mutex_unlock(&n->mu);
            n->opening = false;
        }
        return;
    }
    case C_EXEC:
        atomic_fetch_add(&n->a->queries, 1);
        if (c->irc) { query_error(c); return; }
        if (c->s.ncols) {
            c->state = C_STORE;
            step(c, mysql_stmt_store_result_start(&c->irc, c->st));
            return;
        }
        c->state = C_STORE;       /* no result set: as if stored */
        __attribute__((fallthrough));
    case C_STORE:
        if (c->irc) { query_error(c); return; }
        if (c->req->abandoned) {
            mysql_stmt_free_result(c->st);
            aw_future_fail(c->req->f, AW_ETIMEDOUT, NULL);     /* the late completion */
        } else {
            my__stmt_finish(&c->s, c->req->input, c->req->f);
        }
        done_req(c);
        become_idle(c);
        return;
    default:
        return;
    }
}

static void start_query(nconn *c, nreq *r)
{
    c->req = r;
    if (my__stmt_bind(&c->s, r->input, r->f)) {     /* r->f failed already */
        done_req(c);
        become_idle(c);
        return;
    }
    c->state = C_EXEC;
    c->deadline = now_ns() + (int64_t)c->n->a->cfg.read_timeout_ms * 1000000;
    step(c, mysql_stmt_execute_start(&c->irc, c->st));
}

static void take_inbox(native *n)
{
    nreq *l = atomic_exchange(&n->inbox, NULL), *rev = NULL;
    while (l) { nreq *x = l->next; l->next = rev; rev = l; l = x; }
    if (!rev) return;
    if (n->wq_tail) n->wq_tail->next = rev; else n->wq_head = rev;
    for (; rev; rev = rev->next) { n->wq_tail = rev; n->nwait++; }
}

static void dispatch(native *n)
{
    while (n->wq_head && n->idle) {
        nconn *c = n->idle;
        n->idle = c->next_idle;
        nreq *r = n->wq_head;
        n->wq_head = r->next;
        if (!n->wq_head) n->wq_tail = NULL;
        n->nwait--;
        start_query(c, r);
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
                n->nwait--;
                free(r);
                outcome = 1;
                break;
            }
        if (outcome == 2)
            for (size_t i = 0; i < n->n; i++)
                if (n->c[i].req && n->c[i].req->f == k->f) {
                    n->c[i].req->abandoned = true;
                    outcome = 3;
                    break;
                }
        pthread_mutex_lock(&n->mu);
        k->outcome = outcome;
        pthread_cond_broadcast(&n->cv);
        pthread_mutex_unlock(&n->mu);
    }
}

/* Resumes c's suspended call with the events st (MYSQL_WAIT_*). */
static void resume(nconn *c, int st)
{
    int r = 0;
    switch (c->state) {
    case C_CONNECT: r = mysql_real_connect_cont(&c->mret, c->m, st); break;
    case C_PREPARE: r = mysql_stmt_prepare_cont(&c->irc, c->st, st); break;
    case C_EXEC: r = mysql_stmt_execute_cont(&c->irc, c->st, st); break;
    case C_STORE: r = mysql_stmt_store_result_cont(&c->irc, c->st, st); break;
    default: return;
    }
    step(c, r);
}

static void conn_event(nconn *c, uint32_t ev)
{
    if (c->state == C_DOWN) return;                  /* stale */
    if (c->state == C_IDLE) {
        char b;
        ssize_t r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        conn_down(c, AW_ECONN, r == 0 ? "mysql: the server closed an idle connection"
                                      : "mysql: an idle connection broke", false);
        return;
    }
    if (!c->waiting) return;
    int st = 0;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) st |= MYSQL_WAIT_READ;
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) st |= MYSQL_WAIT_WRITE;
    if (ev & EPOLLPRI) st |= MYSQL_WAIT_EXCEPT;
    resume(c, st);
}

/* Timers: reconnects due, the library's timeouts, our deadlines. Returns
 * the next one (ns), or -1. */
static int64_t timers(native *n)
{
    int64_t now = now_ns(), next = -1;
    for (size_t i = 0; i < n->n; i++) {
        nconn *c = &n->c[i];
        if (c->state == C_DOWN && c->retry_at >= 0 && c->retry_at <= now && !atomic_load(&n->stop))
            conn_start(c);
        if (c->waiting && c->lib_deadline >= 0 && c->lib_deadline <= now) {
            c->lib_deadline = -1;
            resume(c, MYSQL_WAIT_TIMEOUT);
        }
        if (c->deadline >= 0 && c->deadline <= now && c->state != C_IDLE && c->state != C_DOWN) {
            char msg[400];
            snprintf(msg, sizeof msg, "mysql: no answer from %s within %d ms", n->a->cfg.where,
                     c->state == C_CONNECT ? n->a->cfg.connect_timeout_ms : n->a->cfg.read_timeout_ms);
            conn_down(c, AW_ECONN, msg, c->state == C_CONNECT || c->state == C_PREPARE);
        }
        int64_t t[3] = { c->state == C_DOWN ? c->retry_at : -1, c->waiting ? c->lib_deadline : -1,
                         c->deadline };
        for (int j = 0; j < 3; j++)
            if (t[j] >= 0 && (next < 0 || t[j] < next)) next = t[j];
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
        /* Sleep only if nothing came in since we looked (see the top). */
        atomic_store(&n->sleeping, true);
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
    /* Stop: nothing is dropped. Queued records and the ones in flight fail
     * with AW_ECLOSED; every connection closes. */
    take_inbox(n);
    fail_waiting(n, AW_ECLOSED, "the MySQL adapter closed before this record's query ran");
    for (size_t i = 0; i < n->n; i++) {
        nconn *c = &n->c[i];
        if (c->req) {
            abort_call(c);
            aw_results_fail(c->s.res, &n->a->cfg.lookup, c->req->f, AW_ECLOSED,
                            "the MySQL adapter closed while this record's query ran");
            done_req(c);
        }
        if (c->state != C_DOWN) teardown(c);
    }
    pthread_mutex_lock(&n->mu);
    n->io_running = false;
    for (cancel *k = n->cancels; k; k = k->next) k->outcome = 2;
    n->cancels = NULL;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
    return NULL;
}

/* fn.close: stop and join the I/O thread (after it, no adapter thread
 * touches a future), then fail what was pushed after its last look. */
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
        aw_future_fail(l->f, AW_ECLOSED, "the MySQL adapter closed before this record's query ran");
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
    free(n->c);
    free(n);
}

static void n_free(void *impl)
{
    my_adapter *a = impl;
    native *n = a->strategy;
    if (n->started && pthread_equal(pthread_self(), n->th)) return;   /* from a callback */
    n_close(n);
    n_destroy(n);
    aw__adapter_free_columns(&a->base);
    my__cfg_free(&a->cfg);
    free(a);
}

int my__native_start(my_adapter *a, char *err, size_t errlen)
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
        return aw__adapter_err(err, errlen, AW_ENOMEM, "mysql: cannot set up epoll: %s", strerror(errno));
    }
    for (size_t i = 0; i < n->n; i++)
        n->c[i] = (nconn){ .n = n, .fd = -1, .lib_deadline = -1, .deadline = -1, .retry_at = -1,
                           .backoff_ms = MY_BACKOFF_MIN_MS };
    n->opening = true;
    n->open_rc = 1;
    n->io_running = true;
    if (pthread_create(&n->th, NULL, io_main, n) != 0) {
        n_destroy(n);
        return aw__adapter_err(err, errlen, AW_ENOMEM, "mysql: cannot start the I/O thread");
    }
    n->started = true;
    /* Every connection connects and prepares, or the first failure ends
     * the open; each step is bounded by connect/read_timeout_ms. */
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
