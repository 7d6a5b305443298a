/* strategy=async: Redis, pipelined, as a protocol of the native driver
 * (adapters/native_int.h): N non-blocking connections with up to
 * `pipeline` commands in flight each, replies matched in order (FIFO). The
 * driver decides who runs it -- the operator's owner thread (io=owner) or
 * an I/O thread (io=thread) -- and keeps the queues, deadlines,
 * reconnects, timeouts and close; this file is the connection's state
 * machine only:
 *
 *   CONNECT (socket not yet writable) -> HANDSHAKE (AUTH, SELECT, PING
 *   pipelined; up once all answered well) -> UP
 *
 * and back to nothing when it breaks (teardown). submit appends the
 * record's command, in RESP written straight from its argv (no malloc per
 * record), to the connection's output buffer and asks for AW_WRITE; the
 * buffer is written when the socket is writable -- one write per burst of
 * submits, not one per record. Replies go through hiredis's reader
 * (redisReaderFeed / redisReaderGetReply) and settle the oldest request in
 * flight.
 *
 * A record settled at submit (bind failed, a NULL parameter: no command
 * sent) stays in the driver's FIFO as a placeholder with f = NULL (its
 * future may be reused at once, so nothing may keep pointing at it) and is
 * passed over when it reaches the head. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "redis_int.h"
#include "../native_int.h"

enum { P_CONNECT, P_HANDSHAKE, P_UP };

/* One connection's protocol state (the driver's aw__nat_state). */
typedef struct rdc {
    int phase;
    bool alive;                   /* false once teardown ran */
    redisContext *k;              /* owns the socket */
    redisReader *rd;
    int fd;
    char *out;
    size_t olen, ooff, ocap;
    size_t hs_left, hs_total;
    rd_exec e;
    bool has_e;
} rdc;

typedef struct rd_native {
    rd_adapter *a;
    aw__nat *drv;
} rd_native;

static rd_adapter *ad_of(void *pctx) { return ((rd_native *)pctx)->a; }

static bool out_reserve(rdc *x, size_t more)
{
    if (x->olen + more <= x->ocap) return true;
    if (x->ooff) {                /* slide the unsent part to the front */
        memmove(x->out, x->out + x->ooff, x->olen - x->ooff);
        x->olen -= x->ooff;
        x->ooff = 0;
        if (x->olen + more <= x->ocap) return true;
    }
    size_t cap = x->ocap ? x->ocap : 16384;
    while (cap < x->olen + more) cap *= 2;
    char *o = realloc(x->out, cap);
    if (!o) return false;
    x->out = o;
    x->ocap = cap;
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

/* Appends one command in RESP to the output buffer. */
static bool out_command(rdc *x, int argc, const char *const *argv, const size_t *lens)
{
    size_t need = 16;
    for (int i = 0; i < argc; i++) need += lens[i] + 26;
    if (!out_reserve(x, need)) return false;
    char *p = header(x->out + x->olen, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        p = header(p, '$', lens[i]);
        memcpy(p, argv[i], lens[i]);
        p += lens[i];
        *p++ = '\r';
        *p++ = '\n';
    }
    x->olen = (size_t)(p - x->out);
    return true;
}

static void rd_teardown(void *pctx, aw__nat_conn *c)
{
    rdc *x = aw__nat_state(c);
    if (x->k) redisFree(x->k);            /* closes the socket */
    if (x->rd) redisReaderFree(x->rd);
    free(x->out);
    if (x->has_e) rd__exec_free(&x->e);
    memset(x, 0, sizeof *x);
    x->fd = -1;
}

static void rd_connect(void *pctx, aw__nat_conn *c)
{
    const rd_cfg *k = &ad_of(pctx)->cfg;
    rdc *x = aw__nat_state(c);
    char msg[600];
    memset(x, 0, sizeof *x);
    x->fd = -1;
    x->alive = true;
    if (rd__exec_init(&x->e, k) == 0) x->has_e = true;
    x->k = k->sock ? redisConnectUnixNonBlock(k->sock) : redisConnectNonBlock(k->host, (int)k->port);
    x->rd = redisReaderCreate();
    if (!x->k || !x->rd || !x->has_e) {
        aw__nat_down(c, AW_ENOMEM, "redis: out of memory");
        return;
    }
    if (x->k->err) {
        snprintf(msg, sizeof msg, "redis: cannot reach a server at %s: %s", k->where, x->k->errstr);
        aw__nat_down(c, AW_ECONN, msg);
        return;
    }
    x->fd = x->k->fd;
    /* The handshake goes out as soon as the socket is writable. */
    const char *argv[3];
    size_t lens[3];
    int na = rd__auth_argv(k, argv, lens);
    char db[16];
    const char *sel[2] = { "SELECT", db };
    size_t sl[2] = { 6, (size_t)snprintf(db, sizeof db, "%d", k->db) };
    const char *ping[1] = { "PING" };
    size_t pl[1] = { 4 };
    bool ok = true;
    if (na) { ok = ok && out_command(x, na, argv, lens); x->hs_total++; }
    if (k->db) { ok = ok && out_command(x, 2, sel, sl); x->hs_total++; }
    ok = ok && out_command(x, 1, ping, pl);
    x->hs_left = ++x->hs_total;
    if (!ok) {
        aw__nat_down(c, AW_ENOMEM, "redis: out of memory");
        return;
    }
    x->phase = P_CONNECT;
    aw__nat_watch(c, x->fd, AW_WRITE);
}

/* One handshake reply (AUTH, SELECT, PING in that order). */
static void handshake_reply(void *pctx, aw__nat_conn *c, rdc *x, const redisReply *r)
{
    const rd_cfg *k = &ad_of(pctx)->cfg;
    if (r->type == REDIS_REPLY_ERROR) {
        char msg[1024];
        bool auth = k->pass && x->hs_left == x->hs_total;
        if (auth)
            snprintf(msg, sizeof msg, "redis: AUTH as %s%s%s at %s refused: wrong user or password (server: %s)",
                     k->user ? "user '" : "the default user", k->user ? k->user : "", k->user ? "'" : "",
                     k->where, r->str);
        else
            snprintf(msg, sizeof msg, "redis: connection set-up at %s failed: %s", k->where, r->str);
        /* A server still loading its data is not up yet: retry later. */
        aw__nat_down(c, strncmp(r->str, "LOADING", 7) ? AW_ECONFIG : AW_ECONN, msg);
        return;
    }
    if (--x->hs_left == 0) {
        x->phase = P_UP;
        aw__nat_up(c);
    }
}

/* Passes over placeholders (settled at submit) at the head. */
static void skip_settled(aw__nat_conn *c, rdc *x)
{
    aw__nat_req *h;
    while (x->alive && (h = aw__nat_head(c)) && !h->f) aw__nat_done(c);
}

static void rd_submit(void *pctx, aw__nat_conn *c, aw__nat_req *r)
{
    const rd_cfg *k = &ad_of(pctx)->cfg;
    rdc *x = aw__nat_state(c);
    bool ok = rd__exec_build(&x->e, r->input, r->f);
    if (ok && !out_command(x, k->nargs, x->e.argv, x->e.lens)) {
        aw_future_fail(r->f, AW_ENOMEM, "out of memory");
        ok = false;
    }
    if (!ok) {                   /* settled, no command sent: a placeholder */
        r->f = NULL;
        r->input = NULL;
        if (aw__nat_head(c) == r) aw__nat_done(c);
        return;
    }
    aw__nat_watch(c, x->fd, AW_READ | AW_WRITE);   /* a system call only when it changes */
}

/* Writes what the socket takes; false if the connection broke (down). */
static bool flush(void *pctx, aw__nat_conn *c, rdc *x)
{
    while (x->ooff < x->olen) {
        ssize_t w = send(x->fd, x->out + x->ooff, x->olen - x->ooff, MSG_NOSIGNAL);
        if (w > 0) { x->ooff += (size_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;   /* AW_WRITE stays */
        char msg[400];
        rd__conn_errmsg(&ad_of(pctx)->cfg, strerror(errno), msg, sizeof msg);
        aw__nat_down(c, AW_ECONN, msg);
        return false;
    }
    x->ooff = x->olen = 0;
    aw__nat_watch(c, x->fd, AW_READ);
    return x->alive;
}

/* Reads what is there and settles a request per reply. */
static void read_replies(void *pctx, aw__nat_conn *c, rdc *x)
{
    rd_adapter *a = ad_of(pctx);
    char buf[65536], msg[600];
    for (;;) {
        ssize_t got = recv(x->fd, buf, sizeof buf, 0);
        if (got > 0) {
            if (redisReaderFeed(x->rd, buf, (size_t)got) != REDIS_OK) {
                aw__nat_down(c, AW_ENOMEM, "redis: out of memory reading a reply");
                return;
            }
            if ((size_t)got < sizeof buf) break;
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        rd__conn_errmsg(&a->cfg, got == 0 ? "closed by the server" : strerror(errno), msg, sizeof msg);
        aw__nat_down(c, AW_ECONN, msg);
        return;
    }
    while (x->alive) {
        void *rep = NULL;
        if (redisReaderGetReply(x->rd, &rep) != REDIS_OK) {
            snprintf(msg, sizeof msg, "redis: protocol error from %s: %s", a->cfg.where, x->rd->errstr);
            aw__nat_down(c, AW_ECONN, msg);
            return;
        }
        if (!rep) return;
        redisReply *r = rep;
        if (x->phase == P_HANDSHAKE) {
            handshake_reply(pctx, c, x, r);
        } else {
            skip_settled(c, x);
            aw__nat_req *h = x->alive && x->phase == P_UP ? aw__nat_head(c) : NULL;
            if (!h) {
                freeReplyObject(r);
                if (x->alive) aw__nat_down(c, AW_ECONN, "redis: a reply nobody asked for");
                return;
            }
            atomic_fetch_add(&a->commands, 1);
            if (!h->abandoned) rd__exec_finish(&x->e, r, h->input, h->f);
            aw__nat_done(c);             /* may submit more (dispatch) */
            skip_settled(c, x);
        }
        freeReplyObject(r);
    }
}

static void rd_event(void *pctx, aw__nat_conn *c, unsigned events)
{
    rdc *x = aw__nat_state(c);
    if (x->phase == P_CONNECT) {
        int e = 0;
        socklen_t len = sizeof e;
        if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) e = errno;
        if (e) {
            char msg[600];
            snprintf(msg, sizeof msg, "redis: cannot reach a server at %s: %s", ad_of(pctx)->cfg.where,
                     strerror(e));
            aw__nat_down(c, AW_ECONN, msg);
            return;
        }
        x->phase = P_HANDSHAKE;
        if (!flush(pctx, c, x)) return;
        return;
    }
    if (events & AW_READ) {
        read_replies(pctx, c, x);
        if (!x->alive) return;
    }
    if (x->olen > x->ooff) flush(pctx, c, x);
}

static const aw__nat_proto rd_proto = { rd_connect, rd_submit, rd_event, rd_teardown };

static void n_free(void *impl)
{
    rd_adapter *a = impl;
    rd_native *p = a->strategy;
    if (aw__nat_free(p->drv)) return;    /* from inside a callback: nothing done */
    free(p);
    rd__adapter_free(a);
}

int rd__async_start(rd_adapter *a, char *err, size_t errlen)
{
    rd_native *p = calloc(1, sizeof *p);
    if (!p) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    p->a = a;
    const rd_cfg *k = &a->cfg;
    aw__nat_cfg nc = { .name = "Redis", .prefix = "redis", .where = k->where, .conns = k->count,
                       .pipeline = k->pipeline, .own_thread = k->io_thread,
                       .connect_timeout_ms = k->connect_timeout_ms, .read_timeout_ms = k->read_timeout_ms,
                       .conn_size = sizeof(rdc), .proto = &rd_proto, .pctx = p,
                       .lost = &a->conn_lost, .reconnects = &a->reconnects, .connected = &a->connected };
    int rc = aw__nat_open(&p->drv, &nc, err, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    a->strategy = p;
    a->base.fn = aw__nat_function(p->drv);
    a->base.close = n_free;
    return 0;
}
