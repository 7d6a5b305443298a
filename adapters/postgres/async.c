/* strategy=async: PostgreSQL through libpq non-blocking + pipeline mode on the
 * store-neutral driver (adapters/native_int.h), which owns the loop, the
 * FIFOs, deadlines, backoff, timeouts and close. This file is only the
 * protocol's state machine:
 *
 *   connect   PQconnectStartParams, then PQconnectPoll on each event;
 *   prepare   once up: pipeline mode, PQsendPrepare + PQsendDescribePrepared
 *             + PQpipelineSync, read their answers, aw__nat_up;
 *   submit    bind and PQsendQueryPrepared; the sync (PQpipelineSync,
 *             which also flushes) follows at once when the connection was
 *             idle (a lone record does not wait) or after BATCH_MAX
 *             queries; otherwise after the burst of submits in progress:
 *             at the end of the answers that made room for them, or when
 *             the loop next finds the socket writable. A burst costs one
 *             sync, one write and one server flush (one sync per query cost
 *             a send and a server flush each: 3-5x slower, measured);
 *   event     PQflush while output waits, PQconsumeInput on AW_READ, then
 *             every complete answer in wire order.
 *
 * Reading is always on while up, and libpq's PQflush reads when it cannot
 * write, so a pipeline full in both directions cannot deadlock.
 *
 * Answers are matched in FIFO order: the wire FIFO holds what the server
 * will answer (each query's sequence number, and a mark per sync). A query
 * error aborts the queries after it up to the next sync
 * (PGRES_PIPELINE_ABORTED): those innocent ones are sent again after the
 * sync, so a query error fails only its own record. A record is settled as
 * soon as its answer is in (its future completed, then r->f cleared: the
 * future may be reused at once); the driver's aw__nat_done follows in
 * submit order once the batch's sync is in, so the driver's FIFO and the
 * wire never disagree, even when a resent query answers after younger
 * ones. A request whose bind failed is settled at submit and sends
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "native_int.h"
#include "pg_int.h"

enum { P_CONNECT, P_PREPARE, P_UP };
enum { E_WIRE, E_SETTLED, E_RESEND };   /* a request's state on its connection */
#define SYNC_MARK UINT64_MAX
#define BATCH_MAX 128

/* The connection's requests in driver (submit) order, by sequence number. */
typedef struct pn_ent { aw__nat_req *r; unsigned char state; } pn_ent;

typedef struct pn_conn {
    PGconn *pg;
    int phase;
    int prep_step;               /* answers of the prepare segment seen */
    PGresult *desc;              /* PQdescribePrepared's answer */
    PGresult *pending;           /* the wire front's result, before its NULL */
    bool aborted;                /* the wire front was skipped (PIPELINE_ABORTED) */
    char prep_err[600];
    pg_stmt s;
    bool have_stmt;
    pn_ent *ent;                 /* ring of cap entries */
    size_t cap;
    uint64_t head, next;         /* sequence numbers: the driver's oldest, the next */
    uint64_t *wire;              /* ring of wcap: sequence numbers and SYNC_MARKs */
    size_t wh, wn, wcap;
    size_t unsynced;             /* queries sent since the last sync */
    size_t nresend;              /* entries in E_RESEND */
} pn_conn;

typedef struct pg_native {
    pg_adapter *a;
    aw__nat *n;
    pn_ent **ents;               /* per connection index, kept across reconnects */
    uint64_t **wires;
} pg_native;

static pn_ent *ent_of(pn_conn *st, uint64_t seq) { return &st->ent[seq % st->cap]; }

static void wire_push(pn_conn *st, uint64_t x) { st->wire[(st->wh + st->wn++) % st->wcap] = x; }

static uint64_t wire_front(const pn_conn *st) { return st->wire[st->wh]; }

static void wire_pop(pn_conn *st)
{
    st->wh = (st->wh + 1) % st->wcap;
    st->wn--;
}

static void down_conn(aw__nat_conn *c, pn_conn *st, const char *why)
{
    char msg[600];
    char w[500];
    snprintf(w, sizeof w, "%s", why ? why : st->pg ? PQerrorMessage(st->pg) : "");
    for (char *p = w; *p; p++) if (*p == '\n') *p = ' ';
    size_t l = strlen(w);
    while (l && w[l - 1] == ' ') w[--l] = 0;
    snprintf(msg, sizeof msg, "postgres: %s", *w ? w : "connection lost");
    aw__nat_down(c, AW_ECONN, msg);
}

/* Output waiting, or a sync owed: ask for AW_WRITE; reading stays on. */
static bool rewatch(aw__nat_conn *c, pn_conn *st)
{
    int f = PQflush(st->pg);
    if (f < 0) { down_conn(c, st, NULL); return false; }
    return aw__nat_watch(c, PQsocket(st->pg), AW_READ | (f || st->unsynced ? AW_WRITE : 0)) == 0;
}

static bool do_sync(aw__nat_conn *c, pn_conn *st)
{
    if (!st->unsynced) return true;
    if (!PQpipelineSync(st->pg)) { down_conn(c, st, NULL); return false; }
    wire_push(st, SYNC_MARK);
    st->unsynced = 0;
    return true;
}

/* Gives the driver back, oldest first, every settled request. False if c
 * went down meanwhile (aw__nat_done may submit more, which may fail). */
static bool done_settled(aw__nat_conn *c, pn_conn *st)
{
    while (st->head < st->next && ent_of(st, st->head)->state == E_SETTLED) {
        st->head++;
        aw__nat_done(c);
        if (!st->pg) return false;
    }
    return true;
}

/* Binds and sends entry seq's query. False if c went down. */
static bool send_query(aw__nat_conn *c, pn_conn *st, uint64_t seq)
{
    pn_ent *e = ent_of(st, seq);
    aw__nat_req *r = e->r;
    if (r->abandoned) { e->state = E_SETTLED; return true; }   /* timed out: no need */
    int n = pg__stmt_bind(&st->s, r->input, r->f);
    if (n < 0) {                         /* settled; nothing goes on the wire */
        r->f = NULL;                     /* may be reused at once: not ours now */
        e->state = E_SETTLED;
        return true;
    }
    if (!PQsendQueryPrepared(st->pg, PG_STMT_NAME, n, st->s.pval, st->s.plen, NULL, 0)) {
        down_conn(c, st, NULL);
        return false;
    }
    e->state = E_WIRE;
    wire_push(st, seq);
    st->unsynced++;
    return true;
}

static void pn_connect(void *pctx, aw__nat_conn *c)
{
    pg_native *nv = pctx;
    pn_conn *st = aw__nat_state(c);
    const pg_cfg *cfg = &nv->a->cfg;
    st->cap = cfg->pipeline;
    st->ent = nv->ents[aw__nat_index(c)];
    st->wcap = 2 * cfg->pipeline + 2;
    st->wire = nv->wires[aw__nat_index(c)];
    st->phase = P_CONNECT;
    st->pg = PQconnectStartParams((const char *const *)cfg->kw, (const char *const *)cfg->val, 0);
    if (!st->pg || PQstatus(st->pg) == CONNECTION_BAD) {
        char err[800];
        int code = pg__connect_error(cfg, st->pg, err, sizeof err);
        aw__nat_down(c, code, err);
        return;
    }
    pg__quiet(st->pg);
    PQsetnonblocking(st->pg, 1);
    aw__nat_watch(c, PQsocket(st->pg), AW_WRITE);    /* PGRES_POLLING_WRITING first */
}

static void start_prepare(aw__nat_conn *c, pn_conn *st, const pg_cfg *cfg)
{
    st->phase = P_PREPARE;
    st->prep_step = 0;
    st->prep_err[0] = 0;
    if (!PQenterPipelineMode(st->pg) || !PQsendPrepare(st->pg, PG_STMT_NAME, cfg->sql, 0, NULL) ||
        !PQsendDescribePrepared(st->pg, PG_STMT_NAME) || !PQpipelineSync(st->pg)) {
        down_conn(c, st, NULL);
        return;
    }
    rewatch(c, st);
}

/* The prepare segment's answers: prepare result, NULL, describe result,
 * NULL, PIPELINE_SYNC. */
static void prepare_answers(pg_native *nv, aw__nat_conn *c, pn_conn *st)
{
    const pg_cfg *cfg = &nv->a->cfg;
    while (!PQisBusy(st->pg)) {
        PGresult *r = PQgetResult(st->pg);
        if (!r) {
            if (PQstatus(st->pg) == CONNECTION_BAD) { down_conn(c, st, NULL); return; }
            continue;
        }
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (t != PGRES_COMMAND_OK && !st->prep_err[0]) {
            char w[500];
            pg__errmsg(st->pg, r, w, sizeof w);
            snprintf(st->prep_err, sizeof st->prep_err, "%s", w + 10);
        }
        if (st->prep_step++ == 1 && t == PGRES_COMMAND_OK) { PQclear(st->desc); st->desc = r; }
        else PQclear(r);
        if (PQstatus(st->pg) == CONNECTION_BAD) { down_conn(c, st, NULL); return; }
    }
    if (PQisBusy(st->pg)) { rewatch(c, st); return; }
    if (st->prep_err[0] || !st->desc) {
        char msg[1400];
        snprintf(msg, sizeof msg, "postgres: SQL does not prepare at %s: %s (SQL: %.300s)", cfg->where,
                 st->prep_err[0] ? st->prep_err : "no description", cfg->lookup.sql);
        aw__nat_down(c, AW_EQUERY, msg);
        return;
    }
    char err[300];
    int rc = pg__stmt_setup(nv->a, &st->s, st->desc, err, sizeof err);
    PQclear(st->desc);
    st->desc = NULL;
    if (rc) { aw__nat_down(c, rc, err); return; }
    st->have_stmt = true;
    st->phase = P_UP;
    aw__nat_up(c);
}

/* A complete answer for the wire front (res may be NULL: none came). */
static void settle(pn_conn *st, PGresult *res, bool *lost)
{
    uint64_t seq = wire_front(st);
    wire_pop(st);
    pn_ent *e = ent_of(st, seq);
    aw__nat_req *r = e->r;
    if (st->aborted && !r->abandoned) {
        e->state = E_RESEND;             /* an earlier query failed: not this one */
        st->nresend++;
    } else {
        if (!r->abandoned) {             /* abandoned: dropped, done late-completes */
            if (pg__stmt_finish(&st->s, st->pg, res, r->input, r->f) == AW_ECONN) *lost = true;
            r->f = NULL;
        }
        e->state = E_SETTLED;
    }
    st->aborted = false;
}

/* After a sync's answer: the aborted queries go again, in order, as one
 * segment of their own. */
static bool resend(aw__nat_conn *c, pn_conn *st)
{
    for (uint64_t q = st->head; st->nresend && q < st->next; q++)
        if (ent_of(st, q)->state == E_RESEND) {
            st->nresend--;
            if (!send_query(c, st, q)) return false;
        }
    return do_sync(c, st);
}

/* Every complete answer, in wire order. False if c went down. */
static bool answers(pg_native *nv, aw__nat_conn *c, pn_conn *st)
{
    int nulls = 0;
    while (st->wn && !PQisBusy(st->pg)) {
        PGresult *r = PQgetResult(st->pg);
        if (wire_front(st) == SYNC_MARK) {
            if (!r) {                    /* not expected before a sync: do not spin */
                if (PQstatus(st->pg) == CONNECTION_BAD || ++nulls > 1) break;
                continue;
            }
            nulls = 0;
            bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
            if (!sync) continue;
            wire_pop(st);
            if (!resend(c, st) || !done_settled(c, st)) return false;
            continue;
        }
        if (r) {
            ExecStatusType t = PQresultStatus(r);
            if (t == PGRES_PIPELINE_ABORTED) { st->aborted = true; PQclear(r); }
            else if (!st->pending) st->pending = r;
            else PQclear(r);
            continue;
        }
        if (PQstatus(st->pg) == CONNECTION_BAD) break;
        /* NULL: the wire front's results are complete. */
        atomic_fetch_add(&nv->a->queries, 1);
        bool lost = false;
        PGresult *res = st->pending;
        st->pending = NULL;
        settle(st, res, &lost);
        PQclear(res);
        if (lost) { down_conn(c, st, "the server ended the connection"); return false; }
    }
    if (PQstatus(st->pg) == CONNECTION_BAD) { down_conn(c, st, NULL); return false; }
    if (!st->wn && !done_settled(c, st)) return false;
    /* What the answers' done()s submitted is one batch: sync it now. */
    if (!do_sync(c, st)) return false;
    return rewatch(c, st);
}

static void pn_event(void *pctx, aw__nat_conn *c, unsigned events)
{
    pg_native *nv = pctx;
    pn_conn *st = aw__nat_state(c);
    const pg_cfg *cfg = &nv->a->cfg;
    if (st->phase == P_CONNECT) {
        switch (PQconnectPoll(st->pg)) {
        case PGRES_POLLING_READING: aw__nat_watch(c, PQsocket(st->pg), AW_READ); return;
        case PGRES_POLLING_WRITING: aw__nat_watch(c, PQsocket(st->pg), AW_WRITE); return;
        case PGRES_POLLING_OK: start_prepare(c, st, cfg); return;
        default: {
            char err[800];
            int code = pg__connect_error(cfg, st->pg, err, sizeof err);
            aw__nat_down(c, code, err);
            return;
        }
        }
    }
    if ((events & AW_WRITE) && st->phase == P_UP && !do_sync(c, st)) return;
    if ((events & AW_READ) && !PQconsumeInput(st->pg)) {
        /* What arrived before the break (an error naming why) still counts. */
        if (st->phase == P_UP && !answers(nv, c, st)) return;
        down_conn(c, st, NULL);
        return;
    }
    if (st->phase == P_PREPARE) prepare_answers(nv, c, st);
    else answers(nv, c, st);
}

static void pn_submit(void *pctx, aw__nat_conn *c, aw__nat_req *r)
{
    pg_native *nv = pctx;
    pn_conn *st = aw__nat_state(c);
    bool idle = st->wn == 0;
    uint64_t seq = st->next++;
    *ent_of(st, seq) = (pn_ent){ r, E_WIRE };
    if (!send_query(c, st, seq)) return;
    if (ent_of(st, seq)->state == E_SETTLED && !st->wn) {   /* nothing on the wire: give back now */
        done_settled(c, st);
        return;
    }
    if (idle || st->unsynced >= BATCH_MAX || nv->a->cfg.pipeline == 1) {
        if (do_sync(c, st)) rewatch(c, st);
        return;
    }
    /* The sync (and the write) waits for the loop to find the socket
     * writable: after this burst of submits. */
    aw__nat_watch(c, PQsocket(st->pg), AW_READ | AW_WRITE);
}

static void pn_teardown(void *pctx, aw__nat_conn *c)
{
    pn_conn *st = aw__nat_state(c);
    PQclear(st->pending);
    PQclear(st->desc);
    PQfinish(st->pg);
    if (st->have_stmt) pg__stmt_free(&st->s);
    memset(st, 0, sizeof *st);           /* the rings stay in pg_native */
}

static const aw__nat_proto pn_proto = { pn_connect, pn_submit, pn_event, pn_teardown };

static void free_native(pg_native *nv, size_t conns)
{
    for (size_t i = 0; i < conns; i++) {
        if (nv->ents) free(nv->ents[i]);
        if (nv->wires) free(nv->wires[i]);
    }
    free(nv->ents);
    free(nv->wires);
    free(nv);
}

static void pn_close(void *impl)
{
    pg_adapter *a = impl;
    pg_native *nv = a->strategy;
    if (aw__nat_free(nv->n)) return;       /* from a lookup callback: nothing */
    free_native(nv, a->cfg.count);
    pg__adapter_free(a);
}

int pg__async_start(pg_adapter *a, char *err, size_t errlen)
{
    size_t n = a->cfg.count, d = a->cfg.pipeline;
    pg_native *nv = calloc(1, sizeof *nv);
    bool ok = nv && (nv->ents = calloc(n, sizeof *nv->ents)) && (nv->wires = calloc(n, sizeof *nv->wires));
    for (size_t i = 0; ok && i < n; i++)
        ok = (nv->ents[i] = calloc(d, sizeof **nv->ents)) && (nv->wires[i] = calloc(2 * d + 2, sizeof **nv->wires));
    if (!ok) {
        if (nv) free_native(nv, n);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    nv->a = a;
    aw__nat_cfg nc = {
        .name = "PostgreSQL", .prefix = "postgres", .where = a->cfg.where,
        .conns = n, .pipeline = d, .own_thread = a->cfg.io_thread,
        .connect_timeout_ms = a->cfg.connect_timeout_ms, .read_timeout_ms = a->cfg.read_timeout_ms,
        .conn_size = sizeof(pn_conn), .proto = &pn_proto, .pctx = nv,
        .lost = &a->conn_lost, .reconnects = &a->reconnects, .connected = &a->connected };
    int rc = aw__nat_open(&nv->n, &nc, err, errlen);
    if (rc) {
        free_native(nv, n);
        return rc;
    }
    a->strategy = nv;
    a->base.fn = aw__nat_function(nv->n);
    a->base.close = pn_close;
    return 0;
}
