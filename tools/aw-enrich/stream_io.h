/*
 * stream_io.h -- aw-enrich's Redis Streams source and sink (issue 16;
 * docs/aw-enrich.md, docs/scale-out.md): records read from a consumer
 * group with XREADGROUP, each output record one entry of the sink stream,
 * and the input's XACK and the output's XADD one server-side step (a Lua
 * script, pipelined with EVALSHA) that writes nothing when the input was
 * acknowledged already -- so output is exactly once however many
 * consumers process a record.
 *
 * stream_io.c: the URIs, the connections (one that reads, one that
 *              writes), the script and the writes with their replies.
 * stream_read.c: XREADGROUP / XAUTOCLAIM, entries into records, the loop.
 *
 * Everything runs on the main (owner) thread. Built with hiredis only
 * (AW_HAVE_REDIS); without it en_stream_open says so.
 */
#ifndef AW_ENRICH_STREAM_IO_H
#define AW_ENRICH_STREAM_IO_H

#include "enrich.h"

/* A stream entry that became a record: its id and its fields, n strings
 * (name, value, name, value, ...). Part of the record's one allocation. */
typedef struct en_entry {
    const char   *id;
    size_t        id_len;
    int           n;
    const char  **s;
    const size_t *len;
} en_entry;

typedef struct en_stream en_stream;

/* What the loop needs from main.c. stop: a fatal error stopped the run
 * (records in flight are discarded: they stay pending). */
typedef struct en_stream_hooks {
    void *ctx;
    void (*tick)(void *ctx);                       /* progress, once a second */
    bool (*stopped)(void *ctx);                    /* a fatal error happened */
    void (*fatal)(void *ctx, const char *msg);     /* say it, stop, exit 3 */
    /* An entry that is no record (msg says why): true if it is to be
     * acknowledged (left out), false if the run stops (it stays pending). */
    bool (*bad)(void *ctx, const char *id, const char *msg);
    void (*record)(void *ctx);                     /* one more record read */
} en_stream_hooks;

/* Opens o->source and o->sink (both redis-stream://, same server):
 * connects, logs in, creates the group if missing (MKSTREAM), loads the
 * script. names/ncols: the lookup's columns (borrowed until
 * en_stream_free). 0, or an exit code with a sentence in err (never a
 * password): EN_EXIT_USAGE for every configuration problem, an
 * unreachable server or a refused login included. */
int  en_stream_open(en_stream **out, const en_opts *o, const char *const *names, int ncols,
                    char *err, size_t errlen);
/* Closes both connections. NULL is fine. */
void en_stream_free(en_stream *s);

/* Reads and pushes until a signal (en_signal_first) or hooks->stopped;
 * then lets what is in flight finish (unless stopped), and waits for the
 * replies of every write. Recovery first: the consumer's own pending
 * entries, then XAUTOCLAIM of others' idle ones (and again every
 * claim_idle_ms / 2). A lost connection is reconnected with backoff. */
void en_stream_run(en_stream *s, aw_op *op, const en_stream_hooks *hooks);

/* The output of one record: n rows make n entries (input fields, the
 * row's non-NULL columns, src_id); n == 0 makes one entry without result
 * fields when empty_entry, else none. Either way the input is
 * acknowledged in the same step. Pipelined: the reply comes later. 0, or
 * -1 (out of memory: the record stays pending). */
int  en_stream_output(en_stream *s, const en_record *rec, en_row *const *rows, size_t n,
                      bool empty_entry);

/* Adds the stream's counters to c (out: entries written). */
void en_stream_counts(const en_stream *s, en_counts *c);

/* The Lua script of the sink (aw-enrich --stream-script prints it). */
const char *en_stream_script(void);

#ifdef AW_HAVE_REDIS
/* ------------------------------------- for stream_io.c and stream_read.c */
#include <hiredis/hiredis.h>
#include "redis/redis_int.h"

typedef enum { ST_OWN, ST_CLAIM, ST_NEW } en_stream_phase;

/* A write sent (or to be sent) whose reply has not come: kept to send
 * again after a reconnect (the script is idempotent). */
typedef struct en_pending {
    char    *cmd;                /* RESP, redisFormatCommandArgv's */
    size_t   len;
    uint64_t entries;            /* output entries it adds */
    bool     resent;             /* sent again on a new connection */
} en_pending;

struct en_stream {
    const en_opts *o;
    rd_cfg   cfg;                /* for rd__connect: host, port, login */
    char    *stream, *group, *consumer, *sink;
    bool     from_start;         /* a new group starts at 0 (else $) */
    int64_t  block_ms, claim_idle_ms;
    redisContext *rd, *wr;       /* reads (blocking); writes (non-blocking) */
    char     sha[41];
    const char *const *names;
    int      ncols;
    /* Writes awaiting their reply, oldest first (a ring). */
    en_pending *pend;
    size_t   phead, plen, pcap;
    size_t   sent;               /* of plen, how many are in wr's buffer or sent */
    /* argv scratch for the script's commands. */
    const char **argv;
    size_t  *argl;
    size_t   argcap;
    en_buf   text;               /* the numbers' text */
    /* Reading. */
    en_stream_phase phase;
    char     cursor[64];         /* ST_OWN: last id; ST_CLAIM: XAUTOCLAIM cursor */
    int64_t  next_claim_us;
    /* Counters. */
    uint64_t written, suppressed, unconfirmed, acked, claimed, reconnects, deleted;
    bool     said_lost;
};

/* Connects ctx (rd or wr) anew, with backoff, until it works, a signal
 * comes, or hooks says stop. 0 or -1. wr: loads the script and sends
 * every pending write again. */
int  en__stream_reconnect(en_stream *s, bool writer, const char *why, const en_stream_hooks *h);
/* Sends what wr holds and reads the replies there are; wait_ms > 0 waits
 * up to that long for one. 0, or -1 after a fatal reply (hooks->fatal). */
int  en__stream_pump(en_stream *s, int wait_ms, const en_stream_hooks *h);
/* Appends XACK-only of id (an entry with no record). 0 or -1. */
int  en__stream_ack_only(en_stream *s, const char *id, size_t id_len);
#endif

#endif
