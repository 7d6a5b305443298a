/* throughput: the demo `make demo` runs. Enriches a stream of orders with
 * their customer row from a SQLite database of 1 M customers, two ways:
 *   sync-map  one blocking lookup per record, inline, no operator -- what a
 *             program without asyncwait does;
 *   pool      the SQLite adapter (T worker threads, each with its own
 *             connection) through the operator, ordered and unordered;
 * first as they are, then with a simulated remote-store latency: each lookup
 * also sleeps L us inside SQL (delay_us(), registered in on_connect).
 * Every run checks that every order got its own customer (count, checksum,
 * and order where ordered) and says OK or FAIL; any FAIL exits 1.
 * Writes DIR/results.csv and, with gnuplot, DIR/throughput.png.
 *
 * Usage: throughput [--dir DIR] [--rows N] [--orders N] [--latency-us L]
 *                   [--threads 1,2,4,16,64] [--quick]
 *        throughput --dsn mysql://user[:pass]@host[:port]/db [...]: the
 *                   MySQL comparison, examples/throughput_mysql.c        */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "asyncwait.h"
#include "lookup.h"
#include "sqlite/sqlite.h"
#include "common.h"
#include "sqlite_common.h"

#define DB_VERSION 1
#define MAX_T 16

static struct {
    const char *dir;
    long rows, orders, lat_us;
    int phases;              /* 1: no-latency runs only (for profiling) */
    size_t threads[MAX_T];
    int nthreads;
} opt = { "build/demo", 1000000, 200000, 1000, 2, { 1, 2, 4, 16, 64 }, 5 };

/* ------------------------------------------------------------ the data */

/* Customer id's columns are functions of id, so a result can be checked
 * without asking the database. */
static const char *const cities[] = { "Lisbon", "Oslo", "Turin", "Ghent", "Lyon", "Brno",
                                      "Cork", "Graz", "Split", "Tartu", "Porto", "Bern" };
static int64_t balance_of(int64_t id) { return (id * 7919) % 100003; }

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

typedef struct customer { int64_t id, balance; uint64_t name_hash, city_hash; } customer;

static uint64_t mix(const order *o, const customer *c)
{
    uint64_t x = (uint64_t)o->id * 0x9E3779B97F4A7C15u ^ (uint64_t)c->id;
    return x * 31 + (uint64_t)c->balance + c->name_hash + (c->city_hash << 1);
}

static customer expected(int64_t id)
{
    char name[32];
    int n = snprintf(name, sizeof name, "customer-%" PRId64, id);
    const char *city = cities[id % 12];
    return (customer){ id, balance_of(id), fnv(name, (size_t)n), fnv(city, strlen(city)) };
}

/* Builds DIR/customers.db unless a complete one is there: one transaction,
 * one prepared insert, into a temporary file renamed at the end (so an
 * interrupted build is never taken for a complete one). */
static int build_db(const char *path, long rows)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT (SELECT v FROM meta WHERE k='version'), (SELECT v FROM meta "
                           "WHERE k='rows'), (SELECT max(id) FROM customers)", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == DB_VERSION &&
        sqlite3_column_int64(st, 1) == rows && sqlite3_column_int64(st, 2) == rows) {
        sqlite3_finalize(st);
        sqlite3_close(db);
        fprintf(stderr, "using %s (%ld customers)\n", path, rows);
        return 0;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    fprintf(stderr, "building %s: %ld customers ... ", path, rows);
    double t0 = now_s();
    if (sqlite3_open(tmp, &db) != SQLITE_OK) goto fail;
    if (sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; BEGIN;"
                     "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " city TEXT NOT NULL, balance INTEGER NOT NULL);"
                     "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER);", NULL, NULL, NULL) ||
        sqlite3_prepare_v2(db, "INSERT INTO customers VALUES(?,?,?,?)", -1, &st, NULL))
        goto fail;
    for (int64_t id = 1; id <= rows; id++) {
        char name[32];
        int n = snprintf(name, sizeof name, "customer-%" PRId64, id);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, name, n, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, cities[id % 12], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, balance_of(id));
        if (sqlite3_step(st) != SQLITE_DONE) goto fail;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    char sql[200];
    snprintf(sql, sizeof sql, "INSERT INTO meta VALUES('version', %d), ('rows', %ld); COMMIT;",
             DB_VERSION, rows);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) goto fail;
    sqlite3_close(db);
    if (rename(tmp, path) != 0) { perror("rename"); return -1; }
    fprintf(stderr, "%.1f s\n", now_s() - t0);
    return 0;
fail:
    fprintf(stderr, "failed: %s\n", db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return -1;
}

/* ------------------------------------------- connections and the lookup */

/* The same for the pool's connections (on_connect) and the sync map's:
 * delay_us() (sqlite_common.h), memory-mapped reads, and a read lock taken once and kept (locking_mode
 * EXCLUSIVE: the table is read-only here), which saves each lookup two
 * fcntl() calls and a hot-journal check -- two thirds of its cost. */
static int setup_conn(void *ctx, sqlite3 *db, char *err, size_t errlen)
{
    (void)ctx;
    if (add_delay_us(db) ||
        sqlite3_exec(db, "PRAGMA mmap_size=1073741824; PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL)) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return AW_ECONFIG;
    }
    return 0;
}

static char g_sql[200];

static int row_customer(void *ctx, void *input, const aw_row *r, void **out)
{
    (void)ctx; (void)input;
    customer *c = malloc(sizeof *c);
    if (!c) return AW_ENOMEM;
    size_t n = 0, m = 0;
    const char *name = aw_row_text(r, 1, &n), *city = aw_row_text(r, 2, &m);
    *c = (customer){ aw_row_int64(r, 0), aw_row_int64(r, 3), fnv(name ? name : "", n),
                     fnv(city ? city : "", m) };
    *out = c;
    return 0;
}

/* ---------------------------------------------------------- checking */

typedef struct tally {
    long emitted, bad;
    uint64_t sum;
    int64_t next;            /* ordered: the order id expected next */
    bool ordered;
    char first_err[160];
} tally;

static void on_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    (void)ts;
    tally *t = ctx;
    const order *o = input;
    const customer *c = n == 1 ? res[0] : NULL;
    if (!c || c->id != o->customer || (t->ordered && o->id != t->next)) t->bad++;
    if (c) t->sum += mix(o, c);
    t->next = o->id + 1;
    t->emitted++;
    for (size_t i = 0; i < n; i++) free(res[i]);
}

static void on_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    if (!t->bad++)
        snprintf(t->first_err, sizeof t->first_err, "order %" PRId64 ": %s: %s",
                 ((const order *)input)->id, aw_err_name(err), msg);
}

/* ------------------------------------------------------------- runs */

typedef struct run {
    long lat_us;             /* simulated latency */
    const char *strategy, *mode;
    size_t threads, capacity;
    long n;
    double rate, p50, p99, cpu, cpu_us;
    bool ok;
} run;

static run g_runs[64];
static int g_nruns, g_total;

static void progress(const char *label, long done, long n, bool force)
{
    static double last;
    double t = now_s();
    if (!force && t - last < 0.2) return;
    last = t;
    if (isatty(2))
        fprintf(stderr, "\r[%2d/%d] %-34s %3ld%%   ", g_nruns + 1, g_total, label, done * 100 / n);
}

static bool finish(run *r, const tally *t, uint64_t want)
{
    r->ok = t->bad == 0 && t->emitted == r->n && t->sum == want;
    if (!r->ok)
        fprintf(stderr, "\n%s %s T=%zu: FAIL: %ld of %ld emitted, %ld wrong, checksum %s%s%s\n",
                r->strategy, r->mode, r->threads, t->emitted, r->n, t->bad,
                t->sum == want ? "ok" : "differs", t->first_err[0] ? "; first error: " : "",
                t->first_err);
    return r->ok;
}

/* sync map: the loop a program without asyncwait writes. */
static void run_sync(run *r, const char *db_path, const order *orders, uint64_t want)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    char err[256];
    tally t = { .ordered = true };
    double *lat = malloc((size_t)r->n * sizeof *lat);
    if (!lat || sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) ||
        setup_conn(NULL, db, err, sizeof err) || sqlite3_prepare_v2(db, g_sql, -1, &st, NULL)) {
        fprintf(stderr, "sync map: cannot open or prepare\n");
        free(lat);
        return;
    }
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < r->n; i++) {
        const order *o = &orders[i];
        double s = now_s();
        sqlite3_bind_int64(st, 1, o->customer);
        void *res[1];
        size_t n = 0;
        while (sqlite3_step(st) == SQLITE_ROW && n < 1) {
            customer *c = malloc(sizeof *c);
            *c = (customer){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 3),
                             fnv((const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1)),
                             fnv((const char *)sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2)) };
            res[n++] = c;
        }
        sqlite3_reset(st);
        lat[i] = (now_s() - s) * 1e6;
        on_emit(&t, (void *)o, res, n, 0);
        if ((i & 1023) == 0) progress("sync-map", i, r->n, false);
    }
    double dt = now_s() - t0;
    r->cpu = cpu_s() - c0;
    qsort(lat, (size_t)r->n, sizeof *lat, cmp_double);
    r->p50 = lat[r->n / 2];
    r->p99 = lat[r->n * 99 / 100];
    r->rate = (double)r->n / dt;
    finish(r, &t, want);
    free(lat);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* pool: the SQLite adapter through the operator. */
static void run_pool(run *r, const char *db_path, aw_mode mode, const order *orders, uint64_t want)
{
    aw_lookup lk = { .sql = g_sql, .bind = bind_order, .row = row_customer,
                     .free_result = free_customer };
    aw_sqlite_config sc = { .path = db_path, .threads = r->threads, .queue_capacity = r->capacity,
                            .on_connect = setup_conn };
    aw_adapter *ad;
    aw_op *op;
    char err[512];
    if (aw_sqlite_open(&ad, &sc, &lk, err, sizeof err)) {
        fprintf(stderr, "\npool: %s\n", err);
        return;
    }
    tally t = { .ordered = mode == AW_ORDERED };
    aw_config cfg = { .mode = mode, .capacity = r->capacity };
    aw_sink sink = { .ctx = &t, .emit = on_emit, .error = on_error, .release = free_customer };
    if (aw_op_create(&op, &cfg, aw_adapter_function(ad), &sink, err, sizeof err)) {
        fprintf(stderr, "\npool: %s\n", err);
        aw_adapter_close(ad);
        return;
    }
    char label[64];
    snprintf(label, sizeof label, "pool %s T=%zu", r->mode, r->threads);
    double t0 = now_s(), c0 = cpu_s();
    for (long i = 0; i < r->n; i++) {
        if (aw_op_push(op, (void *)&orders[i], i) != 0) break;
        if ((i & 1023) == 0) progress(label, i, r->n, false);
    }
    int rc = aw_op_drain(op);
    double dt = now_s() - t0;
    r->cpu = cpu_s() - c0;
    aw_stats st;
    aw_op_stats(op, &st);
    if (rc) fprintf(stderr, "\npool: %s\n", aw_op_errmsg(op));
    aw_op_free(op);
    aw_adapter_close(ad);
    r->rate = (double)r->n / dt;
    r->p50 = st.p50_us;
    r->p99 = st.p99_us;
    finish(r, &t, want);
}

/* -------------------------------------------------------------- report */

static const run *sync_of(long lat)
{
    for (int i = 0; i < g_nruns; i++)
        if (g_runs[i].lat_us == lat && !strcmp(g_runs[i].strategy, "sync-map")) return &g_runs[i];
    return NULL;
}

static void report(FILE *csv)
{
    printf("\n%-7s %-9s %-10s %4s %5s %8s %11s %9s %9s %7s %8s %8s %8s %s\n", "lat_us", "strategy",
           "mode", "T", "cap", "records", "records/s", "p50_us", "p99_us", "cpu_s", "cpu_us/r",
           "ovh_us/r", "speedup", "check");
    fprintf(csv, "latency_us,strategy,mode,threads,capacity,records,records_per_s,p50_us,p99_us,"
                 "cpu_s,cpu_us_per_record,overhead_us_per_record,speedup_vs_sync,check\n");
    for (int i = 0; i < g_nruns; i++) {
        const run *r = &g_runs[i], *s = sync_of(r->lat_us);
        double speed = s && s->rate > 0 ? r->rate / s->rate : 0;
        /* The overhead over the sync map means something only with no added
         * latency: with it, the sync map's CPU includes its own sleeping
         * (a nanosleep per record) and the difference can go negative. */
        char ovh[16] = "-", ovh_csv[16] = "";
        if (s && r->lat_us == 0) {
            snprintf(ovh, sizeof ovh, "%.2f", r->cpu_us - s->cpu_us);
            snprintf(ovh_csv, sizeof ovh_csv, "%.3f", r->cpu_us - s->cpu_us);
        }
        printf("%-7ld %-9s %-10s %4zu %5zu %8ld %11.0f %9.1f %9.1f %7.2f %8.2f %8s %7.2fx %s\n",
               r->lat_us, r->strategy, r->mode, r->threads, r->capacity, r->n, r->rate, r->p50,
               r->p99, r->cpu, r->cpu_us, ovh, speed, r->ok ? "OK" : "FAIL");
        fprintf(csv, "%ld,%s,%s,%zu,%zu,%ld,%.0f,%.1f,%.1f,%.3f,%.3f,%s,%.3f,%s\n", r->lat_us,
                r->strategy, r->mode, r->threads, r->capacity, r->n, r->rate, r->p50, r->p99,
                r->cpu, r->cpu_us, ovh_csv, speed, r->ok ? "OK" : "FAIL");
    }
}

/* Against the targets, as measured -- a miss is printed as such. */
static void targets(void)
{
    const run *s0 = sync_of(0), *sl = sync_of(opt.lat_us);
    printf("\nTargets (%ld online CPUs):\n", sysconf(_SC_NPROCESSORS_ONLN));
    if (sl)
        for (int i = 0; i < g_nruns; i++) {
            const run *r = &g_runs[i];
            if (r->lat_us != opt.lat_us || strcmp(r->strategy, "pool")) continue;
            double ratio = r->rate / ((double)r->threads * sl->rate);
            printf("  %ld us latency, %-9s T=%-3zu %9.0f/s = %.2f x T x sync  (target >= 0.90) %s\n",
                   r->lat_us, r->mode, r->threads, r->rate, ratio, ratio >= 0.9 ? "met" : "MISSED");
        }
    if (s0) {
        double best = 0, ovh = 1e9;
        size_t bt = 0;
        for (int i = 0; i < g_nruns; i++) {
            const run *r = &g_runs[i];
            if (r->lat_us != 0 || strcmp(r->strategy, "pool")) continue;
            if (r->rate > best) { best = r->rate; bt = r->threads; }
            if (r->cpu_us - s0->cpu_us < ovh) ovh = r->cpu_us - s0->cpu_us;
        }
        printf("  no latency: best pool (T=%zu) = %.2f x sync  (target >= 1.5) %s\n", bt,
               best / s0->rate, best / s0->rate >= 1.5 ? "met" : "MISSED");
        printf("  operator + pool CPU per record over the sync map: %.2f us at best  (target <= 2) %s\n",
               ovh, ovh <= 2.0 ? "met" : "MISSED");
    }
}

/* The plot reads a small data file: one block per (latency, mode) series,
 * so gnuplot draws each as one connected line. */
static void plot(void)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("\ngnuplot is not installed: no plot (apt-get install gnuplot-nox)\n");
        return;
    }
    char gp[512], dat[512], cmd[1100];
    snprintf(gp, sizeof gp, "%s/throughput.gp", opt.dir);
    snprintf(dat, sizeof dat, "%s/throughput.dat", opt.dir);
    FILE *f = fopen(dat, "w");
    if (!f) return;
    long lats[2] = { 0, opt.lat_us };
    const char *modes[2] = { "ordered", "unordered" };
    for (int k = 0; k < opt.phases; k++)
        for (int m = 0; m < 2; m++) {
            fprintf(f, "# %ld us, %s: threads records/s\n", lats[k], modes[m]);
            for (int i = 0; i < g_nruns; i++)
                if (g_runs[i].lat_us == lats[k] && !strcmp(g_runs[i].mode, modes[m]))
                    fprintf(f, "%zu %.0f\n", g_runs[i].threads, g_runs[i].rate);
            fprintf(f, "\n\n");
        }
    fclose(f);
    if (!(f = fopen(gp, "w"))) return;
    fprintf(f, "set terminal pngcairo size 1200,500 font ',10'\nset output '%s/throughput.png'\n"
               "set key top left\nset logscale x 2\nset logscale y 10\nset format y '%%.0s%%c'\n"
               "set grid\nset xlabel 'pool threads T'\n"
               "set ylabel 'records/s'\nset multiplot layout 1,%d\n", opt.dir, opt.phases);
    for (int k = 0; k < opt.phases; k++) {
        const run *s = sync_of(lats[k]);
        double sr = s ? s->rate : 1;
        fprintf(f, "set title 'SQLite lookups, %ld us added latency per lookup'\n", lats[k]);
        fprintf(f, "plot '%s' index %d with linespoints title 'pool, ordered', "
                   "'' index %d with linespoints title 'pool, unordered', "
                   "%g title 'sync map' with lines dt 2", dat, 2 * k, 2 * k + 1, sr);
        if (k) fprintf(f, ", x * %g title 'T x sync map' with lines dt 3", sr);
        fprintf(f, "\n");
    }
    fprintf(f, "unset multiplot\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    if (system(cmd) == 0) printf("\nplot: %s/throughput.png\n", opt.dir);
    else printf("\ngnuplot failed (script: %s)\n", gp);
}

static int parse_threads(const char *s)
{
    opt.nthreads = 0;
    for (char *end; *s && opt.nthreads < MAX_T; s = *end ? end + 1 : end) {
        long t = strtol(s, &end, 10);
        if (t < 1 || t > 1024 || (*end && *end != ',')) return -1;
        opt.threads[opt.nthreads++] = (size_t)t;
    }
    return opt.nthreads ? 0 : -1;
}

/* --dsn mysql://...: the MySQL comparison is its own program, beside this
 * one (examples/throughput_mysql.c); hand the arguments over to it. */
static int hand_over(char **argv)
{
    char self[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) { perror("readlink /proc/self/exe"); return 1; }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash) *slash = 0;
    snprintf(path, sizeof path, "%s/throughput_mysql", self);
    argv[0] = path;
    execv(path, argv);
    fprintf(stderr, "--dsn mysql://: cannot run %s: %s (make %s)\n", path, strerror(errno), path);
    return 1;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--dsn") && !strncmp(argv[i + 1], "mysql://", 8)) return hand_over(argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) { opt.rows = 100000; opt.orders = 50000; continue; }
        if (!v) { fprintf(stderr, "usage: see the top of examples/throughput.c\n"); return 2; }
        i++;
        if (!strcmp(a, "--dir")) opt.dir = v;
        else if (!strcmp(a, "--rows")) opt.rows = atol(v);
        else if (!strcmp(a, "--orders")) opt.orders = atol(v);
        else if (!strcmp(a, "--latency-us")) opt.lat_us = atol(v);
        else if (!strcmp(a, "--phases")) opt.phases = atoi(v) == 1 ? 1 : 2;
        else if (!strcmp(a, "--threads")) { if (parse_threads(v)) { fprintf(stderr, "bad --threads\n"); return 2; } }
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
    }
    if (opt.rows < 1 || opt.orders < 1 || opt.lat_us < 1) { fprintf(stderr, "bad numbers\n"); return 2; }
    mkdir(opt.dir, 0755);
    char db_path[400], csv_path[400];
    snprintf(db_path, sizeof db_path, "%s/customers.db", opt.dir);
    snprintf(csv_path, sizeof csv_path, "%s/results.csv", opt.dir);
    if (build_db(db_path, opt.rows)) return 1;

    /* The orders, and what their checksum must be. */
    order *orders = malloc((size_t)opt.orders * sizeof *orders);
    if (!orders) return 1;
    uint64_t x = 88172645463325252u, want_all = 0;
    uint64_t *want_prefix = malloc(((size_t)opt.orders + 1) * sizeof *want_prefix);
    want_prefix[0] = 0;
    for (long i = 0; i < opt.orders; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        orders[i] = (order){ i, (int64_t)(x % (uint64_t)opt.rows) + 1 };
        customer c = expected(orders[i].customer);
        want_all += mix(&orders[i], &c);
        want_prefix[i + 1] = want_all;
    }

    g_total = opt.phases * (1 + 2 * opt.nthreads);
    printf("asyncwait %s throughput demo: %ld orders enriched from %ld SQLite customers, %ld CPUs\n"
           "(every connection: read-only, mmap, locking_mode=EXCLUSIVE; latency = push to emit)\n",
           AW_VERSION_STRING, opt.orders, opt.rows, sysconf(_SC_NPROCESSORS_ONLN));
    long lats[2] = { 0, opt.lat_us };
    for (int k = 0; k < opt.phases; k++) {
        snprintf(g_sql, sizeof g_sql, "SELECT id, name, city, balance FROM customers WHERE id = ?%s",
                 k ? " AND delay_us(" : "");
        if (k) snprintf(g_sql + strlen(g_sql), sizeof g_sql - strlen(g_sql), "%ld) = 1", lats[k]);
        /* With latency, about one second per run: the sync map does ~1/L
         * lookups a second, a pool of T threads ~T times that. */
        long per_s = k ? 1000000 / lats[k] : 0;
        run *s = &g_runs[g_nruns];
        *s = (run){ .lat_us = lats[k], .strategy = "sync-map", .mode = "-", .threads = 1,
                    .n = k ? per_s * 2 : opt.orders };
        if (s->n > opt.orders) s->n = opt.orders;
        run_sync(s, db_path, orders, want_prefix[s->n]);
        s->cpu_us = s->cpu / (double)s->n * 1e6;
        g_nruns++;
        for (int t = 0; t < opt.nthreads; t++)
            for (int m = 0; m < 2; m++) {
                size_t T = opt.threads[t];
                run *r = &g_runs[g_nruns];
                *r = (run){ .lat_us = lats[k], .strategy = "pool", .mode = m ? "unordered" : "ordered",
                            .threads = T, .capacity = k ? 2 * T : T * 4 < 32 ? 32 : T * 4,
                            .n = k ? per_s * (long)(T < 2 ? 2 : T) : opt.orders };
                if (r->n > opt.orders) r->n = opt.orders;
                run_pool(r, db_path, m ? AW_UNORDERED : AW_ORDERED, orders, want_prefix[r->n]);
                r->cpu_us = r->cpu / (double)r->n * 1e6;
                g_nruns++;
            }
    }
    if (isatty(2)) fprintf(stderr, "\r%60s\r", "");
    FILE *csv = fopen(csv_path, "w");
    if (!csv) { perror(csv_path); return 1; }
    report(csv);
    fclose(csv);
    targets();
    printf("\nresults: %s\n", csv_path);
    plot();
    int fails = 0;
    for (int i = 0; i < g_nruns; i++) fails += !g_runs[i].ok;
    printf("%s\n", fails ? "FAIL: some run lost, duplicated, misordered or mismatched records"
                         : "OK: every run gave every order its own customer (count and checksum), "
                           "in order where ordered");
    free(orders);
    free(want_prefix);
    return fails ? 1 : 0;
}
