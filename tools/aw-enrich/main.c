/*
 * aw-enrich -- enriches CSV / JSON-lines records on stdin with one SQL
 * lookup per record through the asyncwait operator, and writes the joined
 * records to stdout. docs/aw-enrich.md is its manual.
 *
 * One thread (this one) owns the operator, reads stdin and writes stdout:
 * a poll() loop over stdin and the operator's eventfd, so that records in
 * flight keep leaving while the input is slow, and progress keeps coming.
 * The adapter's workers run the lookups (query.c). With --source and
 * --sink redis-stream:// the loop is stream_read.c's instead, and each
 * record's output goes to en_stream_output (stream_io.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich.h"
#include "query.h"
#include "stream_io.h"

#define EN_PROGRESS_MS 1000

typedef struct en_ctx {
    en_opts      o;
    aw_op       *op;
    aw_adapter  *ad;
    en_format    fmt;
    en_csv      *csv;
    en_json     *json;
    en_lines     in;
    const char *const *names;     /* result column names */
    int          ncols;
    /* Records parsed but not yet pushed, oldest first. */
    en_record  **q;
    size_t       qhead, qlen, qcap;
    bool         oom;
    en_record   *late;           /* timed out: the adapter may still read them */
    en_out       out;            /* stdout, in whole records (output.c) */
    en_stream   *st;             /* --source/--sink redis-stream://, or NULL */
    bool         out_said;       /* the output failure was reported */
    en_counts    cnt;
    bool         stop;            /* fatal: stop now, discard what is in flight */
    bool         stop_input;      /* --on-error fail on a malformed line: drain, stop */
    int          exit_code;
    bool         progress, tty;
    int64_t      start_us, next_progress_us, last_progress_us;
    uint64_t     last_in;
} en_ctx;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("aw-enrich: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void set_exit(en_ctx *x, int code)
{
    if (code > x->exit_code) x->exit_code = code;
}

/* --------------------------------------------------------- parse events */

static void on_parsed(void *ctx, en_record *r)
{
    en_ctx *x = ctx;
    x->cnt.in++;
    if (x->stop_input) {            /* after a malformed line that stops us */
        x->cnt.discarded++;
        en_record_free(r);
        return;
    }
    if (x->qlen == x->qcap) {
        size_t cap = x->qcap ? x->qcap * 2 : 64;
        en_record **q = malloc(cap * sizeof *q);
        if (!q) { x->oom = true; en_record_free(r); return; }
        for (size_t i = 0; i < x->qlen; i++) q[i] = x->q[(x->qhead + i) % x->qcap];
        free(x->q);
        x->q = q;
        x->qcap = cap;
        x->qhead = 0;
    }
    x->q[(x->qhead + x->qlen++) % x->qcap] = r;
}

static const char *policy_text(const en_ctx *x)
{
    switch (x->o.on_error) {
    case EN_ONERR_SKIP: return "record left out (--on-error skip)";
    case EN_ONERR_KEEP: return "record kept with empty result fields (--on-error keep)";
    default:            return "stopping (--on-error fail)";
    }
}

static void on_bad(void *ctx, uint64_t line, const char *msg)
{
    en_ctx *x = ctx;
    if (x->csv && !en_csv_have_header(x->csv)) {
        say("line %" PRIu64 ": %s; the CSV header is malformed, stopping", line, msg);
        x->stop_input = true;
        set_exit(x, EN_EXIT_FATAL);
        return;
    }
    x->cnt.in++;
    x->cnt.failed++;
    x->cnt.malformed++;
    /* A malformed record has nothing to keep: keep leaves it out too. */
    say("line %" PRIu64 ": %s; %s", line, msg,
        x->o.on_error == EN_ONERR_FAIL ? "stopping (--on-error fail)" : "record left out");
    if (x->o.on_error == EN_ONERR_FAIL) {
        x->stop_input = true;
        set_exit(x, EN_EXIT_FATAL);
    } else {
        set_exit(x, EN_EXIT_FAILED);
    }
}

/* ------------------------------------------------------------- output */

/* Output is formatted into x->out and handed to stdout in chunks of about
 * EN_OUT_CHUNK, and whenever the input pauses (streaming). */
#define EN_OUT_CHUNK (64 * 1024)

/* Writes what x->out holds. 0, or -1 after saying why and stopping the run. */
static int out_flush(en_ctx *x)
{
    if (en_out_flush(&x->out) == 0) return 0;
    if (!x->out_said) say("cannot write the output: %s", strerror(x->out.err));
    x->out_said = true;
    x->stop = true;
    set_exit(x, EN_EXIT_FATAL);
    return -1;
}

/* The record just formatted into x->out is complete: records output lines. */
static void written(en_ctx *x, uint64_t records)
{
    if (en_out_unit(&x->out, records)) {
        if (!x->stop) say("out of memory");
        x->out.buf.len = x->out.nunits ? x->out.units[x->out.nunits - 1].end : 0;
        x->stop = true;
        set_exit(x, EN_EXIT_FATAL);
        return;
    }
    if (x->out.buf.len >= EN_OUT_CHUNK) out_flush(x);
}

/* Formats rec joined with rows[0..n) (n == 0: one record of empty result
 * fields) into x->out. 0, or -1 with a sentence in err. */
static int format(en_ctx *x, const en_record *rec, en_row *const *rows, size_t n,
                  char *err, size_t errlen)
{
    en_buf *b = &x->out.buf;
    size_t mark = b->len;
    size_t k = n ? n : 1;
    for (size_t i = 0; i < k; i++) {
        const en_row *row = n ? rows[i] : NULL;
        if (row && row->n != x->ncols) {
            snprintf(err, errlen, "a row has %d columns, expected %d", row->n, x->ncols);
            goto fail;
        }
        if (x->fmt == EN_FMT_CSV) {
            if (en_csv_format(b, rec, row, x->ncols)) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
        } else if (en_json_format(b, rec, row, x->names, x->ncols, err, errlen)) {
            goto fail;
        }
    }
    return 0;
fail:
    b->len = mark;          /* none of this record's output */
    return -1;
}

/* Says msg, stops the run (exit 3): e.g. out of memory writing to the
 * stream, where the record stays pending. */
static void st_fatal(void *ctx, const char *msg)
{
    en_ctx *x = ctx;
    if (!x->stop) say("%s", msg);
    x->stop = true;
    set_exit(x, EN_EXIT_FATAL);
}

/* rec could not be enriched (what: msg): report it, then --on-error. */
static void record_failed(en_ctx *x, en_record *rec, const char *what, const char *msg)
{
    char err[256];
    x->cnt.failed++;
    if (rec->entry) say("entry %s: %s: %s; %s", rec->entry->id, what, msg, policy_text(x));
    else say("line %" PRIu64 ": %s: %s; %s", rec->line, what, msg, policy_text(x));
    if (x->o.on_error == EN_ONERR_FAIL) {
        x->stop = true;         /* a stream's entry stays pending */
        set_exit(x, EN_EXIT_FATAL);
        return;
    }
    set_exit(x, EN_EXIT_FAILED);
    if (x->st) {                /* acknowledged: with an entry (keep) or without */
        if (en_stream_output(x->st, rec, NULL, 0, x->o.on_error == EN_ONERR_KEEP)) st_fatal(x, "out of memory");
    } else if (x->o.on_error == EN_ONERR_KEEP) {
        if (format(x, rec, NULL, 0, err, sizeof err) == 0) {
            written(x, 1);
        } else {
            say("line %" PRIu64 ": cannot write it either: %s", rec->line, err);
        }
    }
}

static void sink_emit(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    en_ctx *x = ctx;
    en_record *rec = input;
    en_row *const *rows = (en_row *const *)results;
    (void)ts;
    if (!x->stop) {
        char err[256];
        if (x->st) {
            if (n == 0 && x->o.join == EN_JOIN_INNER) x->cnt.no_row++;
            if (en_stream_output(x->st, rec, rows, n, x->o.join == EN_JOIN_LEFT)) st_fatal(x, "out of memory");
        } else if (n == 0 && x->o.join == EN_JOIN_INNER) {
            x->cnt.no_row++;    /* joined away: no row */
        } else if (format(x, rec, rows, n, err, sizeof err)) {
            record_failed(x, rec, "cannot write the result", err);
        } else {
            written(x, n ? n : 1);
        }
    } else {
        x->cnt.discarded++;
    }
    for (size_t i = 0; i < n; i++) free(results[i]);
    en_record_free(rec);
}

static void sink_error(void *ctx, void *input, int err, const char *msg)
{
    en_ctx *x = ctx;
    en_record *rec = input;
    if (!x->stop) {
        char what[64];
        snprintf(what, sizeof what, "lookup failed (%s)", aw_err_name(err));
        record_failed(x, rec, what, msg);
    } else {
        x->cnt.discarded++;
    }
    if (err == AW_ETIMEDOUT) {
        /* Its lookup may still be queued or running on a worker, which
         * reads the keys: free it only once the adapter has closed. */
        en_record_trim(rec);
        rec->next = x->late;
        x->late = rec;
    } else {
        en_record_free(rec);
    }
}

static void sink_discard(void *ctx, void *input)
{
    en_ctx *x = ctx;
    x->cnt.discarded++;
    en_record_free(input);
}

static void sink_release(void *ctx, void *result)
{
    (void)ctx;
    free(result);
}

/* Retry any failed attempt but a configuration mistake. */
static bool retry_error(void *ctx, void *input, int err)
{
    (void)ctx; (void)input;
    return err != AW_ECONFIG && err != AW_EINVAL && err != AW_ENOMEM;
}

/* ------------------------------------------------------------ the loop */

static void tick(en_ctx *x, bool force)
{
    if (!x->progress) return;
    int64_t now = en_now_us();
    if (!force && now < x->next_progress_us) return;
    x->next_progress_us = now + EN_PROGRESS_MS * 1000;
    aw_stats s;
    aw_op_stats(x->op, &s);
    x->cnt.out = x->out.written;
    if (x->st) en_stream_counts(x->st, &x->cnt);
    double secs = (double)(now - x->last_progress_us) / 1e6;
    en_progress(stderr, x->tty, &x->cnt, &s, secs > 0 ? (double)(x->cnt.in - x->last_in) / secs : 0);
    x->last_progress_us = now;
    x->last_in = x->cnt.in;
}

static int op_failed(en_ctx *x, int rc)
{
    if (!x->stop) say("the operator failed: %s: %s", aw_strerror(rc), aw_op_errmsg(x->op));
    x->stop = true;
    set_exit(x, EN_EXIT_FATAL);
    return -1;
}

/* Waits for the operator (and, with want_input, stdin) for up to the next
 * progress tick. Returns 0 or -1 (stop). */

/* Reads more input; a read error ends the run as fatal. */
static int fill_input(en_ctx *x)
{
    if (en_lines_fill(&x->in) == 0) return 0;
    if (errno == EINTR) return 0;      /* a signal: run() sees it */
    say("cannot read the input: %s", strerror(errno));
    x->stop = true;
    set_exit(x, EN_EXIT_FATAL);
    return -1;
}

static int wait_some(en_ctx *x, bool want_input)
{
    int64_t tmo = EN_PROGRESS_MS;
    if (x->progress) {
        int64_t left = (x->next_progress_us - en_now_us()) / 1000;
        tmo = left < 0 ? 0 : left;
    }
    size_t inflight = aw_op_in_flight(x->op);
    if (!want_input) {
        int rc = aw_op_poll(x->op, (int)tmo);
        return rc < 0 ? op_failed(x, rc) : 0;
    }
    if (inflight == 0) {
        /* Nothing to wait for but input: block in read. */
        if (out_flush(x)) return -1;
        return fill_input(x);
    }
    int64_t timer = aw_op_next_timer_ms(x->op);
    if (timer >= 0 && timer < tmo) tmo = timer;
    struct pollfd p[2] = { { .fd = x->in.fd, .events = POLLIN }, { .fd = aw_op_fd(x->op), .events = POLLIN } };
    int n = poll(p, 2, 0);
    if (n == 0) {
        /* Idle: hand over what is written so far, then wait. */
        if (out_flush(x)) return -1;
        n = poll(p, 2, (int)tmo);
    }
    if (n < 0 && errno != EINTR) {
        say("poll: %s", strerror(errno));
        x->stop = true;
        set_exit(x, EN_EXIT_FATAL);
        return -1;
    }
    int rc = aw_op_poll(x->op, 0);
    if (rc < 0) return op_failed(x, rc);
    if (n > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) return fill_input(x);
    return 0;
}

static int feed_line(en_ctx *x, const char *s, size_t n)
{
    int rc = x->fmt == EN_FMT_CSV ? en_csv_line(x->csv, s, n, x->in.lineno)
                                  : en_json_line(x->json, s, n, x->in.lineno);
    if (rc || x->oom) {
        say("out of memory at line %" PRIu64, x->in.lineno);
        x->stop = true;
        set_exit(x, EN_EXIT_FATAL);
        return -1;
    }
    return 0;
}

/* ------------------------------------------- the stream loop's hooks */

static void st_tick(void *ctx) { tick(ctx, false); }
static bool st_stopped(void *ctx) { return ((en_ctx *)ctx)->stop; }
static void st_record(void *ctx) { ((en_ctx *)ctx)->cnt.in++; }

static bool st_bad(void *ctx, const char *id, const char *msg)
{
    en_ctx *x = ctx;
    bool go_on = x->o.on_error != EN_ONERR_FAIL;
    x->cnt.in++;
    x->cnt.failed++;
    x->cnt.malformed++;
    say("entry %s: %s; %s", id, msg, go_on ? "record left out (acknowledged)"
                                           : "stopping (--on-error fail; it stays pending)");
    set_exit(x, go_on ? EN_EXIT_FAILED : EN_EXIT_FATAL);
    if (!go_on) x->stop = true;
    return go_on;
}

/* Reads, pushes and emits until the input ends (or a failure stops it). */
static void run(en_ctx *x)
{
    if (x->st) {
        en_stream_hooks h = { .ctx = x, .tick = st_tick, .stopped = st_stopped, .fatal = st_fatal,
                              .bad = st_bad, .record = st_record };
        en_stream_run(x->st, x->op, &h);
        return;
    }
    bool eof = false;
    while (!x->stop) {
        if (en_signal_first()) break;  /* stop reading; what is in flight finishes */
        tick(x, false);
        if (x->qlen) {
            en_record *r = x->q[x->qhead];
            int rc = aw_op_try_push(x->op, r, 0);
            if (rc == 0) {
                x->qhead = (x->qhead + 1) % x->qcap;
                x->qlen--;
            } else if (rc == AW_EAGAIN) {
                if (wait_some(x, false)) break;
            } else {
                op_failed(x, rc);
                break;
            }
            continue;
        }
        if (x->stop_input || eof) break;
        const char *s;
        size_t n;
        int got = en_lines_next(&x->in, &s, &n);
        if (got == 1) {
            feed_line(x, s, n);
        } else if (got < 0) {
            if (x->fmt == EN_FMT_CSV && en_csv_finish(x->csv)) {
                x->oom = true;
                feed_line(x, "", 0);
            }
            eof = true;
        } else if (wait_some(x, true)) {
            break;
        }
    }
    /* Drain: what is in flight leaves (unless a fatal error stopped us). */
    while (!x->stop && aw_op_in_flight(x->op) > 0) {
        int rc = aw_op_poll(x->op, EN_PROGRESS_MS);
        if (rc < 0) { op_failed(x, rc); break; }
        tick(x, false);
    }
    /* Records parsed but never pushed. */
    while (x->qlen) {
        en_record_free(x->q[x->qhead]);
        x->qhead = (x->qhead + 1) % x->qcap;
        x->qlen--;
        x->cnt.discarded++;
    }
}

/* --------------------------------------------------------------- setup */

/* Reads up to the header (CSV) and resolves the keys. Returns 0 or an
 * exit code. */
static int start_input(en_ctx *x, char *err, size_t errlen)
{
    en_parse_cb cb = { .ctx = x, .record = on_parsed, .bad = on_bad };
    x->fmt = x->o.format;
    if (x->fmt == EN_FMT_AUTO) {
        int ch = en_lines_peek(&x->in);
        if (ch == -2 && errno == EINTR) return 0;      /* a signal: nothing read */
        if (ch == -2) {
            snprintf(err, errlen, "cannot read the input: %s", strerror(errno));
            return EN_EXIT_FATAL;
        }
        x->fmt = ch == '{' ? EN_FMT_JSONL : EN_FMT_CSV;
    }
    if (x->fmt == EN_FMT_JSONL)
        return en_json_new(&x->json, &x->o, &cb) ? EN_EXIT_FATAL : 0;
    if (en_csv_new(&x->csv, &x->o, &cb)) return EN_EXIT_FATAL;
    /* The header is the first record. */
    while (!en_csv_have_header(x->csv)) {
        const char *s;
        size_t n;
        int got = en_lines_next(&x->in, &s, &n);
        if (got == 1) {
            if (feed_line(x, s, n)) return EN_EXIT_FATAL;
        } else if (got < 0) {
            if (en_csv_finish(x->csv)) return EN_EXIT_FATAL;
            if (!en_csv_have_header(x->csv)) return 0;  /* empty input */
        } else if (en_lines_fill(&x->in)) {
            if (errno == EINTR) return 0;              /* a signal: stop */
            snprintf(err, errlen, "cannot read the input: %s", strerror(errno));
            return EN_EXIT_FATAL;
        }
        if (x->stop_input) return 0;    /* the header itself was malformed */
    }
    int rc = en_csv_bind_keys(x->csv, err, errlen);
    if (rc) return rc;
    if (en_csv_write_header(x->csv, &x->out.buf, x->names, x->ncols) || en_out_unit(&x->out, 0)) {
        snprintf(err, errlen, "out of memory");
        return EN_EXIT_FATAL;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static en_ctx ctx;
    en_ctx *x = &ctx;
    char err[1024] = "";
    bool exit_now;
    int rc = en_cli_parse(&x->o, argc, argv, &exit_now, err, sizeof err);
    if (rc || exit_now) {
        if (rc) say("%s", err);
        en_opts_free(&x->o);
        return rc;
    }
    /* A closed stdin or stdout would be reused by the first file the
     * adapter opens (read as input, or written over): refuse it first. */
    if (!x->o.source && fcntl(STDIN_FILENO, F_GETFD) < 0) {
        say("cannot read the input: standard input is closed");
        en_opts_free(&x->o);
        return EN_EXIT_FATAL;
    }
    if (!x->o.sink && fcntl(STDOUT_FILENO, F_GETFD) < 0) {
        say("cannot write the output: standard output is closed");
        en_opts_free(&x->o);
        return EN_EXIT_FATAL;
    }
    x->out.fd = STDOUT_FILENO;
    en_signals_install();
    x->tty = isatty(STDERR_FILENO);
    x->progress = x->o.progress < 0 ? x->tty : x->o.progress;
    x->start_us = en_now_us();
    x->next_progress_us = x->start_us + EN_PROGRESS_MS * 1000;
    x->last_progress_us = x->start_us;

    int code = 0;
    /* The store: opens, prepares, checks -- configuration errors are 2.
     * Its threads start with our signals blocked: only this thread gets
     * them (and a signal meanwhile waits until the mask is restored).
     * --cache and --cache-ttl-ms are the DSN's cache parameters. */
    char *cached_dsn = NULL;
    if (x->o.cache) {
        size_t len = strlen(x->o.dsn) + 80;
        if (!(cached_dsn = malloc(len))) { say("out of memory"); code = EN_EXIT_FATAL; goto out; }
        snprintf(cached_dsn, len, "%s%ccache=%zu&cache_ttl_ms=%lld", x->o.dsn,
                 strchr(x->o.dsn, '?') ? '&' : '?', x->o.cache, (long long)x->o.cache_ttl_ms);
    }
    sigset_t mask;
    en_signals_block(&mask);
    rc = en_query_open(cached_dsn ? cached_dsn : x->o.dsn, x->o.sql, x->o.nkeys, &x->ad,
                       &x->names, &x->ncols, err, sizeof err);
    en_signals_restore(&mask);
    free(cached_dsn);
    if (rc) { say("%s", err); code = rc; goto out; }
    if (en_lines_init(&x->in, STDIN_FILENO)) { say("out of memory"); code = EN_EXIT_FATAL; goto out; }
    rc = x->o.source ? en_stream_open(&x->st, &x->o, x->names, x->ncols, err, sizeof err)
                     : start_input(x, err, sizeof err);
    if (rc) { say("%s", err); code = rc; goto out; }

    aw_config cfg = {
        .mode = x->o.mode,
        .capacity = x->o.capacity,
        .timeout_ms = x->o.timeout_ms,
        .retry = { .max_attempts = x->o.retries, .delay_ms = x->o.retry_delay_ms,
                   .multiplier = 1.0, .if_error = retry_error },
    };
    aw_sink sink = { .ctx = x, .emit = sink_emit, .error = sink_error,
                     .discard = sink_discard, .release = sink_release };
    rc = aw_op_create(&x->op, &cfg, aw_adapter_function(x->ad), &sink, err, sizeof err);
    if (rc) {
        say("%s", err);
        code = rc == AW_EINVAL || rc == AW_ECONFIG ? EN_EXIT_USAGE : EN_EXIT_FATAL;
        goto out;
    }
    run(x);
    code = x->exit_code;
out:;
    aw_stats st = { 0 };
    if (x->op) aw_op_stats(x->op, &st);
    aw_op_free(x->op);              /* stops the lookups, discards the rest */
    aw_adapter_stats as;
    bool have_as = x->o.cache && x->ad && aw_adapter_stats_get(x->ad, &as) == 0;
    en_query_close(x->ad, x->names, x->ncols);
    for (en_record *r = x->late, *next; r; r = next) {
        next = r->next;
        en_record_free(r);
    }
    if (out_flush(x)) code = EN_EXIT_FATAL;
    x->cnt.out = x->out.written;
    x->cnt.lost = x->out.lost;
    if (x->st) en_stream_counts(x->st, &x->cnt);
    en_stream_free(x->st);
    x->cnt.signal = en_signal_first();
    if (x->op || x->cnt.in || x->cnt.signal) {
        if (x->progress) en_progress_clear(stderr, x->tty);
        en_summary(stderr, &x->cnt, &st, have_as ? &as : NULL, en_now_us() - x->start_us);
    }
    en_csv_free(x->csv);
    en_json_free(x->json);
    en_lines_free(&x->in);
    en_out_free(&x->out);
    free(x->q);
    en_opts_free(&x->o);
    if (x->cnt.signal) en_signal_reraise(x->cnt.signal);   /* 128 + the signal */
    return code;
}
