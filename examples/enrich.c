/* enrich: an exactly-once pipeline. Reads orders from a CSV file, looks
 * each order's customer up through the SQLite adapter, and writes the
 * enriched rows to an output SQLite database. Every K input records it
 * commits, in ONE SQLite transaction, the rows emitted since the last
 * commit, the source offset and the operator's in-flight records
 * (aw_checkpoint_encode). On start it restores from the last commit: it
 * pushes the saved in-flight records again and reads on from the saved
 * offset. Killed at any instant (kill -9), the next run continues where the
 * last commit left off, so the output holds every order exactly once --
 * in input order with the default ordered mode. tests/crash_test.sh proves
 * it; docs/checkpoints.md explains it.
 *
 * Input:  order_id,customer_id,amount      (a header line, then e.g. 7,42,12.50)
 * Lookup: SELECT name, city FROM customers WHERE id = ?   (no row: NULLs)
 * Output: enriched(seq INTEGER PRIMARY KEY, order_id, customer_id,
 *                  amount_cents, name, city)            seq = output order
 *         watermarks(seq INTEGER PRIMARY KEY, ts)      one every W records
 *         checkpoint(id = 1, state BLOB)               the last commit
 *
 * Usage: enrich --input orders.csv --customers customers.db --output out.db
 *               [--every K] [--threads T] [--capacity C] [--watermark-every W]
 *               [--unordered] [--quiet]
 * Exit status: 0 when all input is processed and committed, 1 on error.
 * SIGINT, SIGTERM, SIGHUP: stops reading, commits (the rows emitted, the
 * offset and the records still in flight, as at any commit), then dies of
 * the signal (status 130, 143, 129); a second signal kills it at once,
 * which is as safe as kill -9 (the open transaction rolls back). */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include "asyncwait.h"
#include "checkpoint.h"
#include "lookup.h"
#include "sqlite/sqlite.h"

typedef struct order { int64_t id, customer, cents; } order;
typedef struct customer { char *name, *city; char buf[]; } customer;

static struct {
    const char *input, *customers, *output;
    long every, threads, capacity, wm_every;
    int unordered, quiet;
} opt = { NULL, NULL, NULL, 1000, 4, 256, 1000, 0, 0 };

typedef struct pipeline {
    sqlite3 *db;
    sqlite3_stmt *ins, *ins_wm, *save;
    aw_op *op;
    uint64_t offset, line;   /* input position after the last record pushed */
    unsigned char *ckpt;     /* encode buffer, grown as needed */
    size_t ckpt_cap;
    long emitted, commits, restored;
    int failed;
} pipeline;

static volatile sig_atomic_t g_signal;    /* the first SIGINT/TERM/HUP */

static void on_signal(int sig)
{
    g_signal = sig;
    signal(sig, SIG_DFL);     /* a second one kills at once */
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* ------------------------------------------------------------ the codec */

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int order_encode(void *ctx, const void *input, unsigned char *buf, size_t cap, size_t *len)
{
    (void)ctx;
    const order *o = input;
    *len = 24;
    if (cap < 24) return 0;
    put64(buf, (uint64_t)o->id);
    put64(buf + 8, (uint64_t)o->customer);
    put64(buf + 16, (uint64_t)o->cents);
    return 0;
}

static int order_decode(void *ctx, const unsigned char *buf, size_t len, void **input)
{
    (void)ctx;
    if (len != 24) return AW_ECORRUPT;
    order *o = malloc(sizeof *o);
    if (!o) return AW_ENOMEM;
    *o = (order){ (int64_t)get64(buf), (int64_t)get64(buf + 8), (int64_t)get64(buf + 16) };
    *input = o;
    return 0;
}

static void order_free(void *ctx, void *input) { (void)ctx; free(input); }

static const aw_codec codec = { NULL, order_encode, order_decode, order_free };

/* ----------------------------------------------------------- the lookup */

static int bind_order(void *ctx, void *input, aw_params *p)
{
    (void)ctx;
    return aw_params_int64(p, 0, ((const order *)input)->customer);
}

static int row_customer(void *ctx, void *input, const aw_row *r, void **out)
{
    (void)ctx; (void)input;
    size_t n = 0, m = 0;
    const char *name = aw_row_text(r, 0, &n), *city = aw_row_text(r, 1, &m);
    customer *c = malloc(sizeof *c + n + m + 2);
    if (!c) return AW_ENOMEM;
    c->name = name ? memcpy(c->buf, name, n + 1) : NULL;
    c->city = city ? memcpy(c->buf + n + 1, city, m + 1) : NULL;
    *out = c;
    return 0;
}

static void free_result(void *ctx, void *r) { (void)ctx; free(r); }

/* ------------------------------------------------------------- the sink */

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

static void on_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    (void)ts;
    pipeline *p = ctx;
    order *o = input;
    customer *c = n > 0 ? res[0] : NULL;
    sqlite3_bind_int64(p->ins, 1, o->id);
    sqlite3_bind_int64(p->ins, 2, o->customer);
    sqlite3_bind_int64(p->ins, 3, o->cents);
    bind_text(p->ins, 4, c ? c->name : NULL);
    bind_text(p->ins, 5, c ? c->city : NULL);
    if (sqlite3_step(p->ins) != SQLITE_DONE && !p->failed++)
        fprintf(stderr, "enrich: insert order %" PRId64 ": %s\n", o->id, sqlite3_errmsg(p->db));
    sqlite3_reset(p->ins);
    for (size_t i = 0; i < n; i++) free(res[i]);
    free(o);
    p->emitted++;
}

static void on_watermark(void *ctx, int64_t ts)
{
    pipeline *p = ctx;
    sqlite3_bind_int64(p->ins_wm, 1, ts);
    if (sqlite3_step(p->ins_wm) != SQLITE_DONE && !p->failed++)
        fprintf(stderr, "enrich: insert watermark: %s\n", sqlite3_errmsg(p->db));
    sqlite3_reset(p->ins_wm);
}

static void on_discard(void *ctx, void *input) { (void)ctx; free(input); }

/* ----------------------------------------------------------- the commits */

static int exec(pipeline *p, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(p->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    fprintf(stderr, "enrich: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(p->db));
    sqlite3_free(msg);
    return -1;
}

/* One transaction: the rows emitted since the last commit (already
 * inserted in it), the offset and the in-flight records. Then the next
 * transaction begins. */
static int commit(pipeline *p)
{
    unsigned char meta[16];
    put64(meta, p->offset);
    put64(meta + 8, p->line);
    size_t len = 0;
    char err[256];
    int rc;
    while ((rc = aw_checkpoint_encode(p->op, &codec, meta, sizeof meta, p->ckpt, p->ckpt_cap,
                                      &len, err, sizeof err)) == AW_ENOMEM && len > p->ckpt_cap) {
        unsigned char *b = realloc(p->ckpt, len);
        if (!b) break;
        p->ckpt = b;
        p->ckpt_cap = len;
    }
    if (rc) {
        fprintf(stderr, "enrich: checkpoint: %s\n", err);
        return -1;
    }
    sqlite3_bind_blob(p->save, 1, p->ckpt, (int)len, SQLITE_STATIC);
    int ok = sqlite3_step(p->save) == SQLITE_DONE;
    sqlite3_reset(p->save);
    if (!ok) {
        fprintf(stderr, "enrich: save checkpoint: %s\n", sqlite3_errmsg(p->db));
        return -1;
    }
    if (p->failed || exec(p, "COMMIT") || exec(p, "BEGIN IMMEDIATE")) return -1;
    p->commits++;
    return 0;
}

/* Restores the last commit, if any: pushes its in-flight records and
 * watermarks into the operator and sets the input offset. */
static int push_counted(void *ctx, void *input, int64_t ts, bool is_watermark)
{
    pipeline *p = ctx;
    p->restored++;
    return aw_checkpoint_push(p->op, input, ts, is_watermark);
}

static int restore(pipeline *p, long *restored)
{
    sqlite3_stmt *st;
    *restored = 0;
    if (sqlite3_prepare_v2(p->db, "SELECT state FROM checkpoint WHERE id = 1", -1, &st, NULL))
        return -1;
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *b = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        void *meta = NULL;
        size_t mlen = 0;
        char err[512];
        rc = aw_checkpoint_decode(b, n, &codec, push_counted, p, &meta, &mlen,
                                  err, sizeof err);
        if (rc == 0 && mlen != 16) {
            snprintf(err, sizeof err, "meta of %zu bytes, expected 16", mlen);
            rc = AW_ECORRUPT;
        }
        if (rc) fprintf(stderr, "enrich: restore: %s\n", err);
        else {
            p->offset = get64(meta);
            p->line = get64((unsigned char *)meta + 8);
            *restored = p->restored;
        }
        aw_checkpoint_free(meta);
    }
    sqlite3_finalize(st);
    return rc ? -1 : 0;
}

static int open_output(pipeline *p)
{
    if (sqlite3_open(opt.output, &p->db) != SQLITE_OK) {
        fprintf(stderr, "enrich: %s: %s\n", opt.output, sqlite3_errmsg(p->db));
        return -1;
    }
    sqlite3_busy_timeout(p->db, 5000);
    /* locking_mode=EXCLUSIVE: the first write lock is kept until exit, so
     * a second instance on the same output waits, then fails, instead of
     * committing checkpoints over this one's. */
    if (exec(p, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=FULL; BEGIN IMMEDIATE;"
                "CREATE TABLE IF NOT EXISTS enriched(seq INTEGER PRIMARY KEY,"
                " order_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,"
                " amount_cents INTEGER NOT NULL, name TEXT, city TEXT);"
                "CREATE TABLE IF NOT EXISTS watermarks(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL);"
                "CREATE TABLE IF NOT EXISTS checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1),"
                " state BLOB NOT NULL);"))
        return -1;
    const char *sql[3] = {
        "INSERT INTO enriched(order_id, customer_id, amount_cents, name, city) VALUES(?,?,?,?,?)",
        "INSERT INTO watermarks(ts) VALUES(?)",
        "INSERT OR REPLACE INTO checkpoint(id, state) VALUES(1, ?)" };
    sqlite3_stmt **st[3] = { &p->ins, &p->ins_wm, &p->save };
    for (int i = 0; i < 3; i++)
        if (sqlite3_prepare_v2(p->db, sql[i], -1, st[i], NULL) != SQLITE_OK) {
            fprintf(stderr, "enrich: %s: %s\n", sql[i], sqlite3_errmsg(p->db));
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------------ the input */

/* "7,42,12.50" -> order; 0 or -1. */
static int parse(const char *s, order *o)
{
    char *e;
    errno = 0;
    o->id = strtoll(s, &e, 10);
    if (*e != ',') return -1;
    o->customer = strtoll(e + 1, &e, 10);
    if (*e != ',') return -1;
    int64_t whole = strtoll(e + 1, &e, 10), frac = 0;
    if (*e == '.') {
        const char *f = e + 1;
        if (f[0] < '0' || f[0] > '9' || f[1] < '0' || f[1] > '9') return -1;
        frac = (f[0] - '0') * 10 + (f[1] - '0');
        e += 3;
    }
    if ((*e != '\n' && *e != 0 && *e != '\r') || errno) return -1;
    o->cents = whole * 100 + frac;
    return 0;
}

static int run(pipeline *p, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long since = 0;
    int rc = -1;
    if (p->offset == 0) {                  /* fresh start: the header */
        if ((n = getline(&line, &cap, in)) <= 0 || strncmp(line, "order_id,customer_id,amount", 27)) {
            fprintf(stderr, "enrich: %s: expected the header order_id,customer_id,amount\n", opt.input);
            goto out;
        }
        p->offset = (uint64_t)n;
    } else {
        struct stat st;
        errno = 0;
        if (fstat(fileno(in), &st) || (uint64_t)st.st_size < p->offset ||
            fseeko(in, (off_t)p->offset, SEEK_SET)) {
            fprintf(stderr, "enrich: %s: cannot resume at offset %" PRIu64 " (%s)\n", opt.input,
                    p->offset, errno ? strerror(errno) : "the file is shorter than that");
            goto out;
        }
    }
    while (!g_signal && (n = getline(&line, &cap, in)) > 0) {
        order *o = malloc(sizeof *o);
        if (!o || parse(line, o)) {
            fprintf(stderr, "enrich: %s line %" PRIu64 ": %s\n", opt.input, p->line + 2,
                    o ? "not order_id,customer_id,amount" : "out of memory");
            free(o);
            goto out;
        }
        p->line++;
        if (aw_op_push(p->op, o, (int64_t)p->line)) {
            free(o);
            fprintf(stderr, "enrich: %s\n", aw_op_errmsg(p->op));
            goto out;
        }
        if (opt.wm_every && !opt.unordered && p->line % (uint64_t)opt.wm_every == 0 &&
            aw_op_watermark(p->op, (int64_t)p->line)) {
            fprintf(stderr, "enrich: %s\n", aw_op_errmsg(p->op));
            goto out;
        }
        p->offset += (uint64_t)n;
        if (++since == opt.every) {
            since = 0;
            if (commit(p)) goto out;
        }
    }
    if (g_signal) {                        /* stop here: commit what we have */
        rc = commit(p);
        goto out;
    }
    if (ferror(in)) {
        fprintf(stderr, "enrich: %s: %s\n", opt.input, strerror(errno));
        goto out;
    }
    if (aw_op_drain(p->op)) {
        fprintf(stderr, "enrich: %s\n", aw_op_errmsg(p->op));
        goto out;
    }
    rc = commit(p);
out:
    free(line);
    return rc;
}

static long num(const char *s, long lo)
{
    char *e;
    long v = strtol(s, &e, 10);
    return (*e || v < lo) ? -1 : v;
}

static int usage(void)
{
    fprintf(stderr, "usage: enrich --input orders.csv --customers customers.db --output out.db\n"
                    "              [--every K] [--threads T] [--capacity C]\n"
                    "              [--watermark-every W] [--unordered] [--quiet]\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--unordered")) { opt.unordered = 1; continue; }
        if (!strcmp(a, "--quiet")) { opt.quiet = 1; continue; }
        if (!v) return usage();
        i++;
        if (!strcmp(a, "--input")) opt.input = v;
        else if (!strcmp(a, "--customers")) opt.customers = v;
        else if (!strcmp(a, "--output")) opt.output = v;
        else if (!strcmp(a, "--every") && (opt.every = num(v, 1)) > 0) { }
        else if (!strcmp(a, "--threads") && (opt.threads = num(v, 1)) > 0) { }
        else if (!strcmp(a, "--capacity") && (opt.capacity = num(v, 1)) > 0) { }
        else if (!strcmp(a, "--watermark-every") && (opt.wm_every = num(v, 0)) >= 0) { }
        else return usage();
    }
    if (!opt.input || !opt.customers || !opt.output) return usage();

    catch_signals();
    pipeline p = { 0 };
    aw_adapter *ad = NULL;
    FILE *in = NULL;
    char err[512];
    int status = 1;
    long restored = 0;
    aw_lookup lk = { .sql = "SELECT name, city FROM customers WHERE id = ?", .bind = bind_order,
                     .row = row_customer, .free_result = free_result };
    aw_sqlite_config sc = { .path = opt.customers, .threads = (size_t)opt.threads };
    if (aw_sqlite_open(&ad, &sc, &lk, err, sizeof err)) {
        fprintf(stderr, "enrich: %s\n", err);
        return 1;
    }
    /* Transient lookup errors are retried; one that persists fails the
     * operator, and this run ends without committing (the next resumes). */
    aw_config cfg = { .mode = opt.unordered ? AW_UNORDERED : AW_ORDERED,
                      .capacity = (size_t)opt.capacity,
                      .retry = { .max_attempts = 5, .delay_ms = 10, .multiplier = 2 } };
    aw_sink sink = { .ctx = &p, .emit = on_emit, .watermark = on_watermark,
                     .discard = on_discard, .release = free_result };
    if (open_output(&p)) goto out;
    if (aw_op_create(&p.op, &cfg, aw_adapter_function(ad), &sink, err, sizeof err)) {
        fprintf(stderr, "enrich: %s\n", err);
        goto out;
    }
    if (restore(&p, &restored)) goto out;
    if (!(in = fopen(opt.input, "r"))) {
        fprintf(stderr, "enrich: %s: %s\n", opt.input, strerror(errno));
        goto out;
    }
    if (!opt.quiet)
        fprintf(stderr, "enrich: restored %ld in-flight entries, resuming at line %" PRIu64
                " (offset %" PRIu64 ")\n", restored, p.line, p.offset);
    if (run(&p, in) == 0) status = 0;
    if (!opt.quiet)
        fprintf(stderr, "enrich: %s: %ld rows emitted, %ld commits, input line %" PRIu64 "\n",
                status ? "stopped" : "done", p.emitted, p.commits, p.line);
out:
    if (in) fclose(in);
    aw_op_free(p.op);                      /* first the operator, then the adapter */
    aw_adapter_close(ad);
    sqlite3_finalize(p.ins);
    sqlite3_finalize(p.ins_wm);
    sqlite3_finalize(p.save);
    sqlite3_close(p.db);                   /* an open transaction rolls back */
    free(p.ckpt);
    if (g_signal) raise(g_signal);         /* SIG_DFL now: 128 + the signal */
    return status;
}
