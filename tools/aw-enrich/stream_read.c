/* stream_read.c -- the redis-stream:// source's side of aw-enrich: entries
 * read with XREADGROUP (own pending first, then new ones) and claimed with
 * XAUTOCLAIM, made into records and pushed; and the loop that drives the
 * operator and the writes (stream_io.h). */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "stream_io.h"

#ifdef AW_HAVE_REDIS

/* An entry ([id, [field, value, ...]]) made into a record: one block, the
 * keys pointing at the values of their fields. NULL when it is none: a
 * deleted entry (nil fields) or one without a key field is acknowledged
 * (or, by hooks->bad, stops the run); *fatal on out of memory. */
static en_record *make_record(en_stream *s, const redisReply *e, const en_stream_hooks *h, bool *fatal)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[0]->type != REDIS_REPLY_STRING) {
        h->fatal(h->ctx, "redis: an entry of an unexpected shape");
        *fatal = true;
        return NULL;
    }
    const redisReply *id = e->element[0], *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY) {     /* deleted from the stream: nothing to do */
        s->deleted++;
        if (en__stream_ack_only(s, id->str, id->len)) { h->fatal(h->ctx, "out of memory"); *fatal = true; }
        return NULL;
    }
    int nk = s->o->nkeys, n = (int)f->elements;
    int kf[nk > 0 ? nk : 1];
    size_t bytes = id->len + 1;
    for (int i = 0; i < n; i++) bytes += f->element[i]->len + 1;
    for (int k = 0; k < nk; k++) {
        kf[k] = -1;
        for (int i = 0; i + 1 < n && kf[k] < 0; i += 2)
            if (!strcmp(f->element[i]->str, s->o->keys[k])) kf[k] = i + 1;
        if (kf[k] < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "no field '%s' (--key) in the entry", s->o->keys[k]);
            if (!h->bad(h->ctx, id->str, msg)) return NULL;
            if (en__stream_ack_only(s, id->str, id->len)) { h->fatal(h->ctx, "out of memory"); *fatal = true; }
            return NULL;
        }
    }
    en_record *r = malloc(sizeof *r + (size_t)nk * sizeof(en_value) + sizeof(en_entry) +
                          (size_t)n * (sizeof(char *) + sizeof(size_t)) + bytes);
    if (!r) { h->fatal(h->ctx, "out of memory"); *fatal = true; return NULL; }
    memset(r, 0, sizeof *r);
    r->keys = (en_value *)(r + 1);
    en_entry *en = (en_entry *)(r->keys + nk);
    const char **sv = (const char **)(en + 1);
    size_t *lv = (size_t *)(sv + n);
    char *p = (char *)(lv + n);
    memcpy(p, id->str, id->len + 1);
    *en = (en_entry){ .id = p, .id_len = id->len, .n = n, .s = sv, .len = lv };
    p += id->len + 1;
    for (int i = 0; i < n; i++) {
        const redisReply *v = f->element[i];
        memcpy(p, v->str ? v->str : "", v->len);
        p[v->len] = '\0';
        sv[i] = p;
        lv[i] = v->len;
        p += v->len + 1;
    }
    for (int k = 0; k < nk; k++)
        r->keys[k] = (en_value){ .type = EN_TEXT, .len = lv[kf[k]], .u.s = sv[kf[k]] };
    r->entry = en;
    return r;
}

/* Pushes the entries of list (an array of entries); a full operator is
 * waited for (COUNT was its free room, so it is not, as a rule). Returns
 * the number pushed, or -1 to stop. */
static long push_entries(en_stream *s, aw_op *op, const redisReply *list, const en_stream_hooks *h)
{
    long pushed = 0;
    if (!list || list->type != REDIS_REPLY_ARRAY) return 0;
    for (size_t i = 0; i < list->elements; i++) {
        bool fatal = false;
        en_record *r = make_record(s, list->element[i], h, &fatal);
        if (fatal || h->stopped(h->ctx)) { en_record_free(r); return -1; }
        if (!r) continue;
        h->record(h->ctx);
        int rc;
        while ((rc = aw_op_try_push(op, r, 0)) == AW_EAGAIN) {
            if ((rc = aw_op_poll(op, 10)) < 0) break;
        }
        if (rc) {
            char msg[200];
            snprintf(msg, sizeof msg, "the operator failed: %s", aw_strerror(rc));
            h->fatal(h->ctx, msg);
            en_record_free(r);
            return -1;
        }
        pushed++;
    }
    return pushed;
}

/* The id of the last entry of list, for the next history read. */
static void last_id(en_stream *s, const redisReply *list)
{
    const redisReply *e = list->element[list->elements - 1];
    if (e->type == REDIS_REPLY_ARRAY && e->elements && e->element[0]->type == REDIS_REPLY_STRING)
        snprintf(s->cursor, sizeof s->cursor, "%s", e->element[0]->str);
}

static void to_phase(en_stream *s, en_stream_phase ph)
{
    s->phase = ph;
    snprintf(s->cursor, sizeof s->cursor, "%s", ph == ST_OWN ? "0" : "0-0");
    if (ph == ST_NEW) {
        int64_t every = s->claim_idle_ms / 2 > 10 ? s->claim_idle_ms / 2 : 10;
        s->next_claim_us = en_now_us() + every * 1000;
    }
}

/* One read of the current phase, for up to room entries; block: may wait
 * in XREADGROUP BLOCK (nothing is in flight). Returns the entries pushed,
 * -1 to stop; *idle when there was nothing new to read. */
static long fetch(en_stream *s, aw_op *op, size_t room, bool block, const en_stream_hooks *h, bool *idle)
{
    char count[24], bms[24], idle_ms[24];
    snprintf(count, sizeof count, "%zu", room);
    *idle = false;
    int64_t now = en_now_us();
    if (s->phase == ST_NEW && now >= s->next_claim_us) to_phase(s, ST_CLAIM);
    const char *argv[12];
    int argc = 0;
    if (s->phase == ST_CLAIM) {
        snprintf(idle_ms, sizeof idle_ms, "%lld", (long long)s->claim_idle_ms);
        const char *a[] = { "XAUTOCLAIM", s->stream, s->group, s->consumer, idle_ms, s->cursor, "COUNT", count };
        memcpy(argv, a, sizeof a);
        argc = 8;
    } else {
        const char *a[] = { "XREADGROUP", "GROUP", s->group, s->consumer, "COUNT", count };
        memcpy(argv, a, sizeof a);
        argc = 6;
        if (s->phase == ST_NEW && block) {
            int64_t b = s->block_ms, until = (s->next_claim_us - now) / 1000;
            if (until < b) b = until > 1 ? until : 1;
            if (b > 1000) b = 1000;                    /* progress, signals */
            snprintf(bms, sizeof bms, "%lld", (long long)b);
            argv[argc++] = "BLOCK";
            argv[argc++] = bms;
        }
        argv[argc++] = "STREAMS";
        argv[argc++] = s->stream;
        argv[argc++] = s->phase == ST_OWN ? s->cursor : ">";
    }
    redisReply *r = redisCommandArgv(s->rd, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        char why[300];
        snprintf(why, sizeof why, "%s", r ? r->str : s->rd->errstr[0] ? s->rd->errstr : "closed by the server");
        bool lost = !r;
        freeReplyObject(r);
        if (!lost) {                  /* e.g. NOGROUP: the group was deleted */
            char msg[400];
            snprintf(msg, sizeof msg, "redis: %s on '%s' failed: %s", argv[0], s->stream, why);
            h->fatal(h->ctx, msg);
            return -1;
        }
        if (en__stream_reconnect(s, false, why, h)) return -1;
        /* A reply lost in the break may have handed us entries: our own
         * pending entries are read again (the script drops any double). */
        to_phase(s, ST_OWN);
        return 0;
    }
    long got = 0;
    if (s->phase == ST_CLAIM) {
        const redisReply *list = r->type == REDIS_REPLY_ARRAY && r->elements >= 2 ? r->element[1] : NULL;
        got = push_entries(s, op, list, h);
        if (got > 0) s->claimed += (uint64_t)got;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[0]->type == REDIS_REPLY_STRING)
            snprintf(s->cursor, sizeof s->cursor, "%s", r->element[0]->str);
        if (!strcmp(s->cursor, "0-0")) to_phase(s, ST_NEW);
    } else {
        /* [[stream, [entry, ...]]], or nil when nothing came. */
        const redisReply *list = r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                                 r->element[0]->elements == 2 ? r->element[0]->element[1] : NULL;
        bool empty = !list || list->type != REDIS_REPLY_ARRAY || list->elements == 0;
        if (!empty && s->phase == ST_OWN) last_id(s, list);
        got = empty ? 0 : push_entries(s, op, list, h);
        if (empty && s->phase == ST_OWN) to_phase(s, ST_CLAIM);
        else if (empty) *idle = true;
    }
    freeReplyObject(r);
    return got;
}

/* Waits up to ms for a completion or a reply, then runs both. -1: stop. */
static int wait_op(en_stream *s, aw_op *op, int ms, const en_stream_hooks *h)
{
    int64_t timer = aw_op_next_timer_ms(op);
    if (timer >= 0 && timer < ms) ms = (int)timer;
    struct pollfd p[2] = { { .fd = aw_op_fd(op), .events = POLLIN },
                           { .fd = s->wr ? s->wr->fd : -1, .events = POLLIN } };
    if (s->sent == 0) p[1].fd = -1;
    poll(p, 2, ms);
    int rc = aw_op_poll(op, 0);
    if (rc < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "the operator failed: %s: %s", aw_strerror(rc), aw_op_errmsg(op));
        h->fatal(h->ctx, msg);
        return -1;
    }
    return en__stream_pump(s, 0, h);
}

void en_stream_run(en_stream *s, aw_op *op, const en_stream_hooks *h)
{
    size_t cap = s->o->capacity;
    /* Read again once a quarter of the room is free: fewer, fuller reads. */
    size_t batch = cap / 4 ? cap / 4 : 1;
    to_phase(s, ST_OWN);
    while (!h->stopped(h->ctx) && !en_signal_first()) {
        h->tick(h->ctx);
        if (en__stream_pump(s, 0, h)) break;
        size_t inflight = aw_op_in_flight(op);
        size_t room = cap > inflight ? cap - inflight : 0;
        if (s->plen >= 4 * cap) room = 0;      /* Redis is behind: wait for its replies */
        bool idle = true;
        if (room >= (inflight ? batch : 1)) {
            long got = fetch(s, op, room, inflight == 0 && s->plen == 0, h, &idle);
            if (got < 0) break;
            if (!idle || inflight == 0) continue;
        }
        /* Full, or nothing new while records are in flight: wait for
         * them (a short while: new entries may come meanwhile). */
        if (wait_op(s, op, idle && room ? 10 : 1000, h)) break;
    }
    /* Stop reading; what is in flight finishes and is acknowledged. */
    while (!h->stopped(h->ctx) && aw_op_in_flight(op) > 0) {
        if (wait_op(s, op, 100, h)) break;
        h->tick(h->ctx);
    }
    int64_t deadline = en_now_us() + INT64_C(30000000);
    while (s->plen && en_now_us() < deadline && en__stream_pump(s, 100, h) == 0) h->tick(h->ctx);
}

#endif /* AW_HAVE_REDIS */
