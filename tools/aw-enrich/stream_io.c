/* stream_io.c -- the redis-stream:// source and sink of aw-enrich: the
 * URIs, the two connections, the exactly-once script and the pipelined
 * writes with their replies (stream_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream_io.h"

/* XACK, then XADD only if XACK acknowledged something: a record processed
 * twice (its consumer presumed dead, but only slow) is written once. The
 * shebang makes Redis refuse the whole script when it is out of memory,
 * rather than fail between the XACK and the XADD; the TYPE check and the
 * size check (Lua's unpack takes about 8000 values) likewise refuse before
 * the XACK. KEYS: input, output; ARGV: group, input id,
 * then per output entry its argument count and its field value pairs. */
static const char g_script[] =
    "#!lua\n"
    "-- aw-enrich: acknowledge the input entry and add its output entries, one step\n"
    "local t = redis.call('TYPE', KEYS[2])['ok']\n"
    "if t ~= 'stream' and t ~= 'none' then\n"
    "  return redis.error_reply('WRONGTYPE the sink ' .. KEYS[2] .. ' is a ' .. t .. ', not a stream')\n"
    "end\n"
    "local i = 3\n"
    "while i <= #ARGV do\n"
    "  if tonumber(ARGV[i]) > 7000 then\n"
    "    return redis.error_reply('ERR an output entry of more than 3500 fields')\n"
    "  end\n"
    "  i = i + tonumber(ARGV[i]) + 1\n"
    "end\n"
    "if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end\n"
    "i = 3\n"
    "while i <= #ARGV do\n"
    "  local c = tonumber(ARGV[i])\n"
    "  redis.call('XADD', KEYS[2], '*', unpack(ARGV, i + 1, i + c))\n"
    "  i = i + c + 1\n"
    "end\n"
    "return 1\n";

const char *en_stream_script(void) { return g_script; }

#ifndef AW_HAVE_REDIS

int en_stream_open(en_stream **out, const en_opts *o, const char *const *names, int ncols,
                   char *err, size_t errlen)
{
    (void)o; (void)names; (void)ncols;
    *out = NULL;
    snprintf(err, errlen, "redis-stream:// needs hiredis: this aw-enrich was built without it "
             "(install libhiredis-dev, e.g. scripts/deps.sh redis, then make)");
    return EN_EXIT_USAGE;
}
void en_stream_free(en_stream *s) { (void)s; }
void en_stream_run(en_stream *s, aw_op *op, const en_stream_hooks *h) { (void)s; (void)op; (void)h; }
int en_stream_output(en_stream *s, const en_record *rec, en_row *const *rows, size_t n, bool e)
{
    (void)s; (void)rec; (void)rows; (void)n; (void)e;
    return -1;
}
void en_stream_counts(const en_stream *s, en_counts *c) { (void)s; (void)c; }

#else

/* ------------------------------------------------------------ the URIs */

#define ST_SOURCE_KNOWN "group, consumer, start (0|$), block_ms, password_env, unix_socket, connect_timeout_ms"

static int bad_uri(char *err, size_t errlen, const char *opt, const char *uri, const char *fmt, const char *a)
{
    char shown[512], what[1024];
    aw_uri_redact(uri, shown, sizeof shown);
    snprintf(what, sizeof what, fmt, a ? a : "");
    snprintf(err, errlen, "%s '%s': %s", opt, shown, what);
    return EN_EXIT_USAGE;
}

/* Parses uri (--source or --sink) into u and its stream name (path). */
static int parse_uri(aw_uri *u, const char *opt, const char *uri, char **stream, char *err, size_t errlen)
{
    char msg[400];
    if (aw__uri_parse(u, uri, msg, sizeof msg)) return bad_uri(err, errlen, opt, uri, "%s", msg);
    if (strcmp(u->scheme, "redis-stream") || !u->has_authority)
        return bad_uri(err, errlen, opt, uri, "expected redis-stream://[user[:pass]@]host[:port]/STREAM%s",
                       strcmp(opt, "--source") ? "" : "?group=G&consumer=C");
    if (!u->path || !u->path[1])
        return bad_uri(err, errlen, opt, uri, "no stream named: the path is the stream's key (.../orders)%s", NULL);
    if (!(*stream = strdup(u->path + 1))) return bad_uri(err, errlen, opt, uri, "out of memory%s", NULL);
    return 0;
}

static int64_t uri_ms(aw_uri *u, const char *key, int64_t def, size_t min, const char *uri,
                      char *err, size_t errlen, int *rc)
{
    size_t v = 0;
    char msg[300];
    if (aw__uri_size(u, key, min, 3600000, &v, msg, sizeof msg)) {
        *rc = bad_uri(err, errlen, "--source", uri, "%s", msg);
        return 0;
    }
    return v ? (int64_t)v : def;
}

/* The login, as the Redis adapter takes it: user:pass@, password_env=NAME
 * or AW_REDIS_PASSWORD. */
static int login(en_stream *s, aw_uri *u, const char *uri, char *err, size_t errlen)
{
    const char *env = aw__uri_param(u, "password_env");
    const char *pass = u->pass && *u->pass ? u->pass : env ? getenv(env) : getenv("AW_REDIS_PASSWORD");
    if (env && !pass)
        return bad_uri(err, errlen, "--source", uri, "password_env=%s names an environment variable that is not set", env);
    if (u->user && *u->user && !(pass && *pass))
        return bad_uri(err, errlen, "--source", uri, "user '%s' given without a password (user:pass@ in the "
                       "URI, password_env=NAME or AW_REDIS_PASSWORD)", u->user);
    const char *sock = aw__uri_param(u, "unix_socket");
    s->cfg.host = strdup(u->host && *u->host ? u->host : "127.0.0.1");
    s->cfg.sock = sock ? strdup(sock) : NULL;
    s->cfg.user = u->user && *u->user ? strdup(u->user) : NULL;
    s->cfg.pass = pass && *pass ? strdup(pass) : NULL;
    s->cfg.port = u->port ? (unsigned)u->port : 6379;
    if (sock) snprintf(s->cfg.where, sizeof s->cfg.where, "unix socket %s", sock);
    else snprintf(s->cfg.where, sizeof s->cfg.where, "%s:%u", s->cfg.host, s->cfg.port);
    return 0;
}

static int parse_source(en_stream *s, const char *uri, char *err, size_t errlen)
{
    aw_uri u;
    int rc = parse_uri(&u, "--source", uri, &s->stream, err, errlen);
    const char *g = rc ? NULL : aw__uri_param(&u, "group");
    const char *c = rc ? NULL : aw__uri_param(&u, "consumer");
    const char *start = rc ? NULL : aw__uri_param(&u, "start");
    if (rc) goto out;
    if (!g || !*g) {
        rc = bad_uri(err, errlen, "--source", uri, "group= is required: the consumer group the "
                     "consumers share (e.g. ?group=enrich&consumer=c1)%s", NULL);
        goto out;
    }
    if (!c || !*c) {
        rc = bad_uri(err, errlen, "--source", uri, "consumer= is required: this consumer's name in "
                     "the group, the same at every restart (e.g. &consumer=c1)%s", NULL);
        goto out;
    }
    if (start && strcmp(start, "0") && strcmp(start, "$")) {
        rc = bad_uri(err, errlen, "--source", uri, "start=%s: must be 0 (a new group reads the stream "
                     "from its first entry) or $ (only entries added from now on)", start);
        goto out;
    }
    s->from_start = !start || !strcmp(start, "0");
    s->group = strdup(g);
    s->consumer = strdup(c);
    s->block_ms = uri_ms(&u, "block_ms", 1000, 1, uri, err, errlen, &rc);
    if (!rc) s->cfg.connect_timeout_ms = (int)uri_ms(&u, "connect_timeout_ms", 5000, 1, uri, err, errlen, &rc);
    if (!rc) rc = login(s, &u, uri, err, errlen);
    char msg[400];
    if (!rc && aw__uri_check_unused(&u, ST_SOURCE_KNOWN, msg, sizeof msg))
        rc = bad_uri(err, errlen, "--source", uri, "%s", msg);
    if (!rc && (!s->group || !s->consumer || !s->cfg.host)) rc = bad_uri(err, errlen, "--source", uri, "out of memory%s", NULL);
out:
    aw__uri_free(&u);
    return rc;
}

/* The sink: a stream on the source's server (the script writes both). */
static int parse_sink(en_stream *s, const char *uri, char *err, size_t errlen)
{
    aw_uri u;
    int rc = parse_uri(&u, "--sink", uri, &s->sink, err, errlen);
    if (rc) goto out;
    const char *host = u.host && *u.host ? u.host : "127.0.0.1";
    if (strcmp(host, s->cfg.host) || (u.port ? (unsigned)u.port : 6379) != s->cfg.port) {
        rc = bad_uri(err, errlen, "--sink", uri, "must name the --source's server (%s): acknowledging "
                     "the input and adding the output are one step on one server", s->cfg.where);
        goto out;
    }
    char msg[400];
    if (aw__uri_check_unused(&u, "(none: the sink takes the source's login)", msg, sizeof msg))
        rc = bad_uri(err, errlen, "--sink", uri, "%s", msg);
out:
    aw__uri_free(&u);
    return rc;
}

/* --------------------------------------------------------- connections */

static redisReply *command(redisContext *k, int argc, const char **argv)
{
    return redisCommandArgv(k, argc, argv, NULL);
}

/* The reply's words if it is an error (or the connection's), else NULL. */
static const char *failed(redisContext *k, const redisReply *r)
{
    if (!r) return k->errstr[0] ? k->errstr : "no reply";
    return r->type == REDIS_REPLY_ERROR ? r->str : NULL;
}

/* Connects the reader (rd) or the writer (wr: script loaded, then
 * non-blocking). 0, or an AW_ code with a sentence in err. */
static int connect_one(en_stream *s, bool writer, char *err, size_t errlen)
{
    redisContext *k;
    s->cfg.read_timeout_ms = (int)(s->block_ms + 10000);
    int rc = rd__connect(&s->cfg, &k, err, errlen);
    if (rc) return rc;
    if (writer) {
        const char *argv[] = { "SCRIPT", "LOAD", g_script };
        redisReply *r = command(k, 3, argv);
        const char *why = failed(k, r);
        if (why || r->type != REDIS_REPLY_STRING || r->len != 40) {
            snprintf(err, errlen, "redis: SCRIPT LOAD at %s failed: %s", s->cfg.where, why ? why : "odd reply");
            freeReplyObject(r);
            redisFree(k);
            return r ? AW_ECONFIG : AW_ECONN;
        }
        memcpy(s->sha, r->str, 41);
        freeReplyObject(r);
        /* From now on driven by poll: hiredis then retries on EAGAIN. */
        int fl = fcntl(k->fd, F_GETFL);
        if (fl < 0 || fcntl(k->fd, F_SETFL, fl | O_NONBLOCK) < 0) {
            snprintf(err, errlen, "redis: cannot make the connection non-blocking: %s", strerror(errno));
            redisFree(k);
            return AW_ECONN;
        }
        k->flags &= ~REDIS_BLOCK;
        s->wr = k;
        /* Every write still without a reply goes again, in order. */
        for (size_t i = 0; i < s->plen; i++) {
            en_pending *p = &s->pend[(s->phead + i) % s->pcap];
            redisAppendFormattedCommand(k, p->cmd, p->len);
            p->resent = true;
        }
        s->sent = s->plen;
    } else {
        s->rd = k;
    }
    return 0;
}

/* The group, created if missing; the streams' types. */
static int setup(en_stream *s, char *err, size_t errlen)
{
    const char *argv[] = { "XGROUP", "CREATE", s->stream, s->group, s->from_start ? "0" : "$", "MKSTREAM" };
    redisReply *r = command(s->rd, 6, argv);
    const char *why = failed(s->rd, r);
    if (why && strncmp(why, "BUSYGROUP", 9)) {
        snprintf(err, errlen, "--source: cannot create the group '%s' of stream '%s' at %s: %s",
                 s->group, s->stream, s->cfg.where, why);
        freeReplyObject(r);
        return EN_EXIT_USAGE;
    }
    freeReplyObject(r);
    const char *targv[] = { "TYPE", s->sink };
    r = command(s->rd, 2, targv);
    why = failed(s->rd, r);
    if (why || (strcmp(r->str, "none") && strcmp(r->str, "stream"))) {
        snprintf(err, errlen, "--sink: the key '%s' at %s %s%s", s->sink, s->cfg.where,
                 why ? "cannot be checked: " : "is not a stream but a ", why ? why : r->str);
        freeReplyObject(r);
        return EN_EXIT_USAGE;
    }
    freeReplyObject(r);
    return 0;
}

int en_stream_open(en_stream **out, const en_opts *o, const char *const *names, int ncols,
                   char *err, size_t errlen)
{
    en_stream *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) { snprintf(err, errlen, "out of memory"); return EN_EXIT_FATAL; }
    s->o = o;
    s->names = names;
    s->ncols = ncols;
    s->claim_idle_ms = o->claim_idle_ms;
    int rc = parse_source(s, o->source, err, errlen);
    if (!rc) rc = parse_sink(s, o->sink, err, errlen);
    char msg[600];
    if (!rc && (connect_one(s, false, msg, sizeof msg) || connect_one(s, true, msg, sizeof msg)))
        rc = bad_uri(err, errlen, "--source", o->source, "%s", msg);
    if (!rc) rc = setup(s, err, errlen);
    if (rc) { en_stream_free(s); return rc; }
    *out = s;
    return 0;
}

void en_stream_free(en_stream *s)
{
    if (!s) return;
    if (s->rd) redisFree(s->rd);
    if (s->wr) redisFree(s->wr);
    for (size_t i = 0; i < s->plen; i++) redisFreeCommand(s->pend[(s->phead + i) % s->pcap].cmd);
    free(s->pend);
    free(s->argv);
    free(s->argl);
    en_buf_free(&s->text);
    free(s->cfg.host); free(s->cfg.sock); free(s->cfg.user);
    if (s->cfg.pass) { memset(s->cfg.pass, 0, strlen(s->cfg.pass)); free(s->cfg.pass); }
    free(s->stream); free(s->group); free(s->consumer); free(s->sink);
    free(s);
}

void en_stream_counts(const en_stream *s, en_counts *c)
{
    c->out = s->written;
    c->suppressed = s->suppressed;
    c->unconfirmed = s->unconfirmed;
    c->claimed = s->claimed;
    c->reconnects = s->reconnects;
}

/* -------------------------------------------------------------- writes */

static void backoff(int attempt)
{
    int64_t ms = attempt < 7 ? 10 << attempt : 1000;    /* 10 ms .. 1 s */
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
    nanosleep(&t, NULL);                                /* a signal ends it early */
}

int en__stream_reconnect(en_stream *s, bool writer, const char *why, const en_stream_hooks *h)
{
    redisContext **k = writer ? &s->wr : &s->rd;
    /* why may be the context's own errstr: said before it is freed. */
    fprintf(stderr, "aw-enrich: redis: the %s connection to %s was lost (%s); reconnecting\n",
            writer ? "writing" : "reading", s->cfg.where, why);
    if (*k) { redisFree(*k); *k = NULL; }
    if (writer) s->sent = 0;
    char err[600] = "";
    for (int attempt = 0;; attempt++) {
        if (h->stopped(h->ctx)) return -1;
        /* After a signal only the writes matter, and not forever. */
        if (en_signal_first() && (!writer || attempt > 20)) {
            fprintf(stderr, "aw-enrich: redis: giving up after a signal; %s\n", err[0] ? err : "not connected");
            return -1;
        }
        if (attempt) backoff(attempt - 1);
        if (connect_one(s, writer, err, sizeof err) == 0) break;
    }
    s->reconnects++;
    fprintf(stderr, "aw-enrich: redis: reconnected the %s connection to %s\n",
            writer ? "writing" : "reading", s->cfg.where);
    return 0;
}

/* Room for n more arguments. */
static int argv_room(en_stream *s, size_t n)
{
    if (n <= s->argcap) return 0;
    size_t cap = n * 2;
    const char **a = realloc(s->argv, cap * sizeof *a);
    if (a) s->argv = a;
    size_t *l = a ? realloc(s->argl, cap * sizeof *l) : NULL;
    if (!l) return -1;
    s->argl = l;
    s->argcap = cap;
    return 0;
}

/* Formats argv[0..argc) and queues it as a write of `entries` entries. */
static int queue_write(en_stream *s, int argc, uint64_t entries)
{
    if (s->plen == s->pcap) {
        size_t cap = s->pcap ? s->pcap * 2 : 256;
        en_pending *p = malloc(cap * sizeof *p);
        if (!p) return -1;
        for (size_t i = 0; i < s->plen; i++) p[i] = s->pend[(s->phead + i) % s->pcap];
        free(s->pend);
        s->pend = p;
        s->pcap = cap;
        s->phead = 0;
    }
    char *cmd;
    int len = redisFormatCommandArgv(&cmd, argc, s->argv, s->argl);
    if (len < 0) return -1;
    s->pend[(s->phead + s->plen++) % s->pcap] = (en_pending){ cmd, (size_t)len, entries, false };
    if (s->wr && redisAppendFormattedCommand(s->wr, cmd, (size_t)len) == REDIS_OK) s->sent++;
    return 0;
}

/* argv[0..7): EVALSHA sha 2 input output group id. */
static int script_head(en_stream *s, const char *id, size_t id_len)
{
    const char *head[] = { "EVALSHA", s->sha, "2", s->stream, s->sink, s->group };
    for (int i = 0; i < 6; i++) { s->argv[i] = head[i]; s->argl[i] = strlen(head[i]); }
    s->argv[6] = id;
    s->argl[6] = id_len;
    return 7;
}

int en__stream_ack_only(en_stream *s, const char *id, size_t id_len)
{
    if (argv_room(s, 8)) return -1;
    return queue_write(s, script_head(s, id, id_len), 0);
}

int en_stream_output(en_stream *s, const en_record *rec, en_row *const *rows, size_t n,
                     bool empty_entry)
{
    const en_entry *e = rec->entry;
    size_t entries = n ? n : empty_entry ? 1 : 0;
    size_t per = (size_t)e->n + 2 * (size_t)s->ncols + 2;
    if (argv_room(s, 8 + entries * (per + 1))) return -1;
    /* Numbers' text: at most 32 bytes each, and the counts; no realloc
     * below, so the pointers into it stay valid. */
    s->text.len = 0;
    if (en_buf_reserve(&s->text, entries * (32 * (size_t)s->ncols + 24))) return -1;
    int argc = script_head(s, e->id, e->id_len);
    for (size_t k = 0; k < entries; k++) {
        const en_row *row = n ? rows[k] : NULL;
        int count = argc++;             /* filled in below */
        for (int i = 0; i < e->n; i++) { s->argv[argc] = e->s[i]; s->argl[argc++] = e->len[i]; }
        for (int i = 0; row && i < row->n && i < s->ncols; i++) {
            const en_value *v = &row->v[i];
            if (v->type == EN_NULL) continue;       /* as Redis: an absent field */
            s->argv[argc] = s->names[i];
            s->argl[argc++] = strlen(s->names[i]);
            if (v->type == EN_TEXT) {
                s->argv[argc] = v->u.s;
                s->argl[argc++] = v->len;
            } else {
                char *p = s->text.p + s->text.len;
                s->argv[argc] = p;
                s->argl[argc++] = en_number_text(v, p, 32);
                s->text.len += 32;
            }
        }
        s->argv[argc] = "src_id"; s->argl[argc++] = 6;
        s->argv[argc] = e->id; s->argl[argc++] = e->id_len;
        char *p = s->text.p + s->text.len;
        s->argv[count] = p;
        s->argl[count] = (size_t)snprintf(p, 24, "%d", argc - count - 1);
        s->text.len += 24;
    }
    return queue_write(s, argc, entries);
}

/* One reply, for the oldest pending write. 1 to go on, 0 for a lost
 * script (NOSCRIPT: reconnect and send again), -1 fatal. */
static int on_reply(en_stream *s, redisReply *r, const en_stream_hooks *h)
{
    en_pending *p = &s->pend[s->phead];
    int rc = 1;
    if (r->type == REDIS_REPLY_INTEGER) {
        if (r->integer == 1) { s->written += p->entries; s->acked++; }
        /* Acknowledged already: written by whoever did. Sent again after a
         * lost connection, most likely by this consumer's first send,
         * whose reply was lost: counted apart, not as a duplicate. */
        else if (p->resent) s->unconfirmed++;
        else s->suppressed++;
    } else if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOSCRIPT", 8)) {
        return 0;
    } else {
        char msg[600];
        snprintf(msg, sizeof msg, "redis: the sink's script failed: %s (the entry stays pending)",
                 r->type == REDIS_REPLY_ERROR ? r->str : "an unexpected reply");
        h->fatal(h->ctx, msg);
        rc = -1;
    }
    redisFreeCommand(p->cmd);
    s->phead = (s->phead + 1) % s->pcap;
    s->plen--;
    s->sent--;
    return rc;
}

int en__stream_pump(en_stream *s, int wait_ms, const en_stream_hooks *h)
{
    for (;;) {
        if (!s->wr) {
            if (en__stream_reconnect(s, true, "not connected", h)) return -1;
        }
        int done = 0;
        const char *why = NULL;
        if (redisBufferWrite(s->wr, &done) == REDIS_ERR) why = s->wr->errstr;
        if (!why && s->sent) {
            struct pollfd p = { .fd = s->wr->fd, .events = POLLIN | (done ? 0 : POLLOUT) };
            int n = poll(&p, 1, wait_ms);
            if (n > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) && redisBufferRead(s->wr) == REDIS_ERR)
                why = s->wr->errstr;
        }
        void *reply = NULL;
        while (!why && s->sent) {
            if (redisGetReplyFromReader(s->wr, &reply) == REDIS_ERR) { why = s->wr->errstr; break; }
            if (!reply) break;
            int rc = on_reply(s, reply, h);
            freeReplyObject(reply);
            if (rc < 0) return -1;
            if (rc == 0) why = "the server no longer knows the script";
        }
        if (!why) return 0;
        if (en__stream_reconnect(s, true, why[0] ? why : "closed by the server", h)) return -1;
        wait_ms = 0;
    }
}

#endif /* AW_HAVE_REDIS */
