/*
 * enrich.h -- private declarations shared by the files of aw-enrich, the
 * command-line filter that enriches CSV / JSON-lines records with one SQL
 * lookup per record through the asyncwait operator (docs/aw-enrich.md).
 *
 * Threads: everything here runs on the main (owner) thread except
 * en_row_new / en_bind, which the adapter's workers call.
 */
#ifndef AW_ENRICH_H
#define AW_ENRICH_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "asyncwait.h"

/* Exit codes (a contract: docs/aw-enrich.md, EXIT STATUS). */
enum {
    EN_EXIT_OK     = 0, /* every record enriched (or joined away) */
    EN_EXIT_FAILED = 1, /* some records failed, --on-error skip|keep */
    EN_EXIT_USAGE  = 2, /* bad usage or configuration */
    EN_EXIT_FATAL  = 3  /* a fatal runtime error */
};

typedef enum { EN_FMT_AUTO, EN_FMT_CSV, EN_FMT_JSONL } en_format;
typedef enum { EN_JOIN_INNER, EN_JOIN_LEFT } en_join;
typedef enum { EN_ONERR_FAIL, EN_ONERR_SKIP, EN_ONERR_KEEP } en_onerr;

/* The command line, parsed. */
typedef struct en_opts {
    const char  *dsn;
    const char  *sql;
    const char **keys;        /* nkeys, in placeholder order */
    int          nkeys;
    en_format    format;
    aw_mode      mode;
    size_t       capacity;
    int64_t      timeout_ms;  /* 0 = none */
    int          retries;
    int64_t      retry_delay_ms;
    en_join      join;
    en_onerr     on_error;
    int          progress;    /* -1 = when stderr is a terminal, 0 off, 1 on */
    size_t       cache;       /* --cache N: the lookup cache's keys; 0 = off */
    int64_t      cache_ttl_ms;/* --cache-ttl-ms T; 0 = no expiry */
    const char  *source;      /* --source redis-stream://...: NULL = stdin */
    const char  *sink;        /* --sink redis-stream://...: NULL = stdout */
    int64_t      claim_idle_ms;  /* --claim-idle-ms: XAUTOCLAIM's min idle */
} en_opts;

/* Parses argv into *o. Returns 0; EN_EXIT_OK with *exit_now set after
 * --help / --version (already printed); or EN_EXIT_USAGE with a sentence in
 * err. o->keys is malloc'd (free with en_opts_free). */
int  en_cli_parse(en_opts *o, int argc, char **argv, bool *exit_now,
                  char *err, size_t errlen);
void en_opts_free(en_opts *o);
void en_usage(FILE *f);

/* ------------------------------------------------------------- values */

typedef enum { EN_NULL, EN_INT, EN_REAL, EN_TEXT } en_type;

typedef struct en_value {
    en_type type;
    size_t  len;              /* EN_TEXT: bytes at s (may hold NULs) */
    union { int64_t i; double d; const char *s; } u;
} en_value;

/* ------------------------------------------------------------ records */

/* One input record, one allocation (free()). Immutable while in flight:
 * the adapter's workers read keys[] concurrently with the main thread. */
typedef struct en_record {
    uint64_t  line;           /* physical line where the record starts (1-based) */
    en_value *keys;           /* nkeys values to bind, in placeholder order */
    char     *csv;            /* CSV: the input fields, quoted and joined */
    size_t    csv_len;
    void     *json;           /* JSON lines: the input object (json_t *) */
    const struct en_entry *entry;   /* redis-stream: id and fields (stream_io.h) */
    struct en_record *next;   /* timed-out records kept until the adapter closes */
} en_record;

void en_record_free(en_record *r);
/* Frees what only the main thread uses (the JSON object), keeping keys. */
void en_record_trim(en_record *r);

/* One result row, one allocation: n values whose text follows the array. */
typedef struct en_row {
    int      n;
    en_value v[];
} en_row;

/* A growable byte buffer. */
typedef struct en_buf {
    char  *p;
    size_t len, cap;
} en_buf;

int  en_buf_reserve(en_buf *b, size_t more);   /* 0 or -1 (ENOMEM) */
int  en_buf_add(en_buf *b, const void *s, size_t n);
void en_buf_free(en_buf *b);

/* -------------------------------------------------------------- input */

/* Physical lines from a file descriptor. */
typedef struct en_lines {
    int      fd;
    char    *buf;
    size_t   cap, start, end; /* unread bytes are buf[start, end) */
    bool     eof;
    bool     bom_done;        /* a leading UTF-8 byte order mark is skipped */
    uint64_t lineno;          /* number of the line en_lines_next returned last */
} en_lines;

int  en_lines_init(en_lines *l, int fd);
void en_lines_free(en_lines *l);
/* 1: *line and *len give the next line (its '\n' included, if it has one); 0: no
 * complete line buffered, call en_lines_fill; -1: end of input. */
int  en_lines_next(en_lines *l, const char **line, size_t *len);
/* Reads once from fd (blocks if nothing is there). 0, or -1 with errno
 * (EINTR once a signal stops the run: en_signal_first). */
int  en_lines_fill(en_lines *l);
/* The first byte that is not white space (peeking; reads as needed), or -1
 * for an empty input. Used to sniff the format. -2 on a read error. */
int  en_lines_peek(en_lines *l);

/* ------------------------------------------------------------- parsers */

/* What a parser hands back for each record or malformed record. The record
 * (or the message) is the callee's from then on. */
typedef struct en_parse_cb {
    void *ctx;
    void (*record)(void *ctx, en_record *r);
    void (*bad)(void *ctx, uint64_t line, const char *msg);
} en_parse_cb;

typedef struct en_csv en_csv;

/* The CSV reader: the first record is the header. */
int  en_csv_new(en_csv **out, const en_opts *o, const en_parse_cb *cb);
void en_csv_free(en_csv *c);
/* Feeds one physical line. Returns 0, or -1 for out of memory. */
int  en_csv_line(en_csv *c, const char *s, size_t n, uint64_t lineno);
/* End of input (reports an unclosed quoted field). 0 or -1. */
int  en_csv_finish(en_csv *c);
/* After the header: true, and the header's fields via en_csv_header. */
bool en_csv_have_header(const en_csv *c);
/* Resolves --key names against the header; on failure writes a sentence
 * (EN_EXIT_USAGE). Called once, after the header. */
int  en_csv_bind_keys(en_csv *c, char *err, size_t errlen);
/* Appends the output header to out: input columns then names[0..n). */
int  en_csv_write_header(en_csv *c, en_buf *out, const char *const *names, int n);

/* Appends s quoted as RFC 4180 requires (only when it must be). */
int  en_csv_quote(en_buf *b, const char *s, size_t n);
/* The text of an EN_INT or EN_REAL value as CSV writes it, into out (cap
 * >= 32 bytes, NUL-terminated): its length. */
size_t en_number_text(const en_value *v, char *out, size_t cap);
/* One output record: rec's fields, then row's values (row NULL = ncols
 * empty fields), then "\n". */
int  en_csv_format(en_buf *b, const en_record *rec, const en_row *row, int ncols);

typedef struct en_json en_json;

int  en_json_new(en_json **out, const en_opts *o, const en_parse_cb *cb);
void en_json_free(en_json *j);
int  en_json_line(en_json *j, const char *s, size_t n, uint64_t lineno);
/* One output record: rec's object with the row's columns set (row NULL:
 * all null). Returns 0, or -1 with a sentence in err (text that is not
 * UTF-8 cannot be a JSON string). */
int  en_json_format(en_buf *b, const en_record *rec, const en_row *row,
                    const char *const *names, int ncols, char *err, size_t errlen);

/* -------------------------------------------------- output and signals */

/* Standard output, written in whole units with write(2) (output.c). */
typedef struct en_unit { size_t end; uint64_t records; } en_unit;
typedef struct en_out {
    int       fd;
    en_buf    buf;            /* formatted units not yet written */
    en_unit  *units;          /* where each unit of buf ends, and its records */
    size_t    nunits, ucap;
    uint64_t  written;        /* output records whose bytes all were written */
    uint64_t  lost;           /* output records not written: the output failed */
    bool      failed;
    int       err;            /* errno of the failure */
} en_out;

/* Closes a unit: the bytes appended to o->buf since the last unit, holding
 * records output records (0 for the CSV header). 0, or -1 (ENOMEM). */
int  en_out_unit(en_out *o, uint64_t records);
/* Writes every unit. 0, or -1 once the output failed (o->err; what was
 * not written is counted in o->lost, now and at every later call). After a
 * second signal, stops at the end of the unit being written and exits. */
int  en_out_flush(en_out *o);
void en_out_free(en_out *o);

void en_signals_install(void);           /* SIGINT, SIGTERM, SIGHUP */
/* Blocks those signals in the calling thread (threads it creates inherit
 * the mask), and restores the mask. */
void en_signals_block(sigset_t *old);
void en_signals_restore(const sigset_t *old);
int  en_signal_first(void);               /* the first signal, or 0 */
const char *en_signal_name(int sig);
/* Ends the process with sig's default action (its status 128 + sig). */
void en_signal_reraise(int sig) __attribute__((noreturn));

/* ------------------------------------------------------------ progress */

typedef struct en_counts {
    uint64_t in;              /* records read (malformed ones too) */
    uint64_t out;             /* output records written (en_out.written) */
    uint64_t failed;          /* records that failed (lookup or malformed) */
    uint64_t malformed;       /* of which malformed input */
    uint64_t no_row;          /* --join inner: no row, so no output */
    uint64_t discarded;       /* read but not finished when the run stopped */
    uint64_t lost;            /* output records not written: output failed */
    int      signal;          /* the signal that stopped the run, or 0 */
    uint64_t suppressed;      /* redis-stream: records acknowledged already (written once, elsewhere) */
    uint64_t unconfirmed;     /* redis-stream: sent again after a lost connection, found acknowledged */
    uint64_t claimed;         /* redis-stream: entries claimed from other consumers */
    uint64_t reconnects;      /* redis-stream: connections made again */
} en_counts;

int64_t en_now_us(void);
/* One progress line (overwritten in place on a terminal); rate is the
 * records/s read since the last line. */
void en_progress(FILE *f, bool tty, const en_counts *c, const aw_stats *s, double rate);
void en_progress_clear(FILE *f, bool tty);
/* The one-line summary at the end. */
/* cache: the adapter's counters when --cache is on, else NULL. */
struct aw_adapter_stats;
void en_summary(FILE *f, const en_counts *c, const aw_stats *s,
                const struct aw_adapter_stats *cache, int64_t wall_us);

#endif /* AW_ENRICH_H */
