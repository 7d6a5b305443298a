/* throughput_mysql: the comparison `make demo-mysql` runs. The same point
 * lookups (sysbench's: SELECT c FROM sbtest1 WHERE id = ?) against a real
 * MariaDB, four ways:
 *   sync     one blocking prepared execute per record, inline, no operator;
 *   pool     the MySQL adapter, strategy=pool: T workers, T connections;
 *   owner    strategy=async&io=owner: T non-blocking connections driven
 *            by the operator's own thread (no hand-off);
 *   thread   strategy=async&io=thread: the same on ONE I/O thread of the
 *            adapter's (every record crosses threads twice);
 *   sysbench oltp_point_select with T threads: the server's ceiling;
 * pool, owner and thread ordered and unordered, for each T, at each simulated
 * network round trip (examples/delay_proxy delays each direction RTT/2;
 * RTT 0 = straight to the server). Reports records/s, p50/p99 latency, CPU
 * time of this process (all its threads) per record, and RSS; checks every
 * result (its own row, each record once, in order where ordered); any
 * mismatch prints FAIL and exits 1. Writes DIR/results_mysql.csv and, with
 * gnuplot, DIR/throughput_mysql.png.
 *
 * The server: tests/mariadb.sh run exports AW_MYSQL_HOST, _PORT, _USER,
 * _PASSWORD, _DB, _ROWS (sbtest1 holds ids 1..ROWS with
 * c = 'customer-<id>-<id*7919 % 100003>'). The password stays in the
 * environment (the adapter reads AW_MYSQL_PASSWORD); sysbench gets it on
 * its command line -- a throwaway server's.
 *
 * Or any server holding sysbench's sbtest1 (sysbench oltp_point_select
 * prepare makes one): --dsn mysql://user[:pass]@host[:port]/db; the row
 * count is then read from the table, and sysbench runs if it is installed.
 * examples/throughput --dsn mysql://... hands over to this program.
 *
 * Usage: throughput_mysql [--proxy PATH] [--dir DIR] [--threads 1,4,16,64]
 *                         [--rtt-us 0,500,2000] [--seconds S] [--quick]
 *                         [--only sync,sysbench,owner,thread,pool] [--spin-us N]
 * --spin-us is the operator's aw_config.spin_us; -1 (never spin) by default
 * here, because the store is across a (simulated) network.               */
#include <errno.h>
#include <inttypes.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "asyncwait.h"
#include "lookup.h"
#include "mysql/mysql.h"

#define MAXV 8
#define MAX_RUNS 256

static struct {
    const char *dir, *proxy;
    double seconds;                      /* aimed-at length of one run */
    size_t threads[MAXV]; int nthreads;
    long rtt_us[MAXV]; int nrtt;
    const char *only;                    /* --only: a comma list of strategies */
    int spin_us;                         /* aw_config.spin_us */
} opt = { "build/demo", NULL, 1.5, { 1, 4, 16, 64 }, 4, { 0, 500, 2000 }, 3, NULL, -1 };

static bool wanted(const char *strategy)
{
    if (!opt.only) return true;
    if (strstr(opt.only, strategy)) return true;
    /* "native" (the old name) means both io modes */
    return strstr(opt.only, "native") && (!strcmp(strategy, "owner") || !strcmp(strategy, "thread"));
}

static struct { const char *host, *user, *pass, *db; int port; long rows; } env;

/* mysql://user[:pass]@host[:port]/db into env (strings point into a copy).
 * A password goes to AW_MYSQL_PASSWORD, where the adapter looks. */
static int parse_dsn(const char *dsn)
{
    if (strncmp(dsn, "mysql://", 8)) return -1;
    char *d = strdup(dsn + 8), *at = d ? strrchr(d, '@') : NULL, *slash;
    if (!at || !(slash = strchr(at, '/')) || !slash[1] || strchr(slash, '?')) { free(d); return -1; }
    *at = *slash = 0;
    char *colon = strchr(d, ':');
    if (colon) { *colon = 0; setenv("AW_MYSQL_PASSWORD", colon + 1, 1); }
    env.user = d;
    env.host = at + 1;
    env.db = slash + 1;
    env.port = 3306;
    if ((colon = strchr(at + 1, ':'))) { *colon = 0; env.port = atoi(colon + 1); }
    env.pass = getenv("AW_MYSQL_PASSWORD");
    if (!env.pass) env.pass = "";
    return *env.user && *env.host && env.port > 0 ? 0 : -1;
}

/* The table's size, when no AW_MYSQL_ROWS says it. */
static long count_rows(void)
{
    MYSQL *m = mysql_init(NULL);
    long n = 0;
    if (!m || !mysql_real_connect(m, env.host, env.user, env.pass, env.db, (unsigned)env.port, NULL, 0)) {
        fprintf(stderr, "throughput_mysql: cannot connect to %s:%d as '%s': %s\n", env.host, env.port,
                env.user, m ? mysql_error(m) : "out of memory");
    } else if (mysql_query(m, "SELECT MAX(id), COUNT(*) FROM sbtest1")) {
        fprintf(stderr, "throughput_mysql: %s (make the table with sysbench oltp_point_select prepare)\n",
                mysql_error(m));
    } else {
        MYSQL_RES *r = mysql_store_result(m);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        /* The checks assume ids 1..N: max = count. */
        if (row && row[0] && row[1] && atol(row[0]) == atol(row[1])) n = atol(row[0]);
        else fprintf(stderr, "throughput_mysql: sbtest1 must hold ids 1..N, without gaps\n");
        if (r) mysql_free_result(r);
    }
    if (m) mysql_close(m);
    return n;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static double rss_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0; fclose(f); }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

/* ------------------------------------------------------------ the data */

/* Record i (1-based) looks up a key spread over the table. */
static int64_t key_of(long i) { return (int64_t)(((uint64_t)i * 2654435761u) % (uint64_t)env.rows) + 1; }

/* The row's c is a function of its id, so each result is checked here. */
static bool c_ok(int64_t id, const char *c, size_t len)
{
    char want[64];
    int n = snprintf(want, sizeof want, "customer-%" PRId64 "-%" PRId64, id, id * 7919 % 100003);
    return (size_t)n == len && memcmp(want, c, len) == 0;
}

/* ---------------------------------------------------------- the runs */

typedef struct run {
    long rtt_us;
    const char *strategy, *mode;
    size_t t;
    long records;
    double secs, rps, p50_us, p99_us, cpu, rss;
    bool ok;
} run;
static run runs[MAX_RUNS];
static int nruns;
static bool any_fail;

static run *add_run(long rtt, const char *strategy, const char *mode, size_t t)
{
    if (nruns == MAX_RUNS) return NULL;
    run *r = &runs[nruns++];
    *r = (run){ .rtt_us = rtt, .strategy = strategy, .mode = mode, .t = t };
    return r;
}

static void print_run(const run *r)
{
    printf("%6.1f  %-8s %-9s %4zu %8ld %10.0f %9.2f %9.2f %8.2f %7.1f  %s\n", r->rtt_us / 1000.0,
           r->strategy, r->mode, r->t, r->records, r->rps, r->p50_us / 1000, r->p99_us / 1000,
           r->records ? r->cpu * 1e6 / (double)r->records : 0, r->rss, r->ok ? "OK" : "FAIL");
    fflush(stdout);
    if (!r->ok) any_fail = true;
}

/* How many records make a run of about opt.seconds at this RTT and T. */
static long records_for(long rtt_us, size_t t)
{
    double rate = 40000;                                  /* about the server's own limit */
    if (rtt_us > 0 && (double)t * 1e6 / (double)rtt_us < rate) rate = (double)t * 1e6 / (double)rtt_us;
    long n = (long)(rate * opt.seconds);
    return n < 200 ? 200 : n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sync: what a program without asyncwait does -- one prepared statement,
 * one blocking round trip per record. */
static void run_sync(run *r, int port)
{
    double c0 = cpu_s();
    MYSQL *m = mysql_init(NULL);
    MYSQL_STMT *st = NULL;
    r->ok = false;
    if (!m || !mysql_real_connect(m, env.host, env.user, env.pass, env.db, (unsigned)port, NULL, 0) ||
        !(st = mysql_stmt_init(m)) || mysql_stmt_prepare(st, "SELECT c FROM sbtest1 WHERE id = ?", 34)) {
        fprintf(stderr, "sync: %s\n", m ? mysql_error(m) : "out of memory");
        if (st) mysql_stmt_close(st);
        if (m) mysql_close(m);
        return;
    }
    int64_t id = 0;
    char c[128];
    unsigned long clen = 0;
    my_bool isnull = 0;
    MYSQL_BIND p = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &id };
    MYSQL_BIND o = { .buffer_type = MYSQL_TYPE_STRING, .buffer = c, .buffer_length = sizeof c,
                     .length = &clen, .is_null = &isnull };
    mysql_stmt_bind_param(st, &p);
    mysql_stmt_bind_result(st, &o);
    long bad = 0;
    double *lat = malloc(sizeof *lat * (size_t)r->records);
    double t0 = now_s();
    for (long i = 1; i <= r->records; i++) {
        double s = now_s();
        id = key_of(i);
        int rows = 0;
        if (mysql_stmt_execute(st) || mysql_stmt_store_result(st)) { bad++; continue; }
        while (mysql_stmt_fetch(st) == 0) rows++;
        mysql_stmt_free_result(st);
        if (rows != 1 || !c_ok(id, c, clen)) bad++;
        if (lat) lat[i - 1] = now_s() - s;
    }
    r->secs = now_s() - t0;
    r->rps = (double)r->records / r->secs;
    bool have_lat = lat != NULL;
    if (lat) {
        qsort(lat, (size_t)r->records, sizeof *lat, cmp);
        r->p50_us = lat[r->records / 2] * 1e6;
        r->p99_us = lat[r->records * 99 / 100] * 1e6;
        free(lat);
    }
    r->rss = rss_mb();
    mysql_stmt_close(st);
    mysql_close(m);
    r->cpu = cpu_s() - c0;
    r->ok = bad == 0 && have_lat;
}

/* Through the operator. Results are markers, not allocations: the row
 * callback checks the row against its key. */
static char RES_GOOD, RES_BAD;

static int bind_key(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, key_of((long)(intptr_t)input)); }

static int row_check(void *ctx, void *input, const aw_row *row, void **out)
{
    size_t len = 0;
    const char *c = aw_row_text(row, 0, &len);
    *out = c && c_ok(key_of((long)(intptr_t)input), c, len) ? &RES_GOOD : &RES_BAD;
    return 0;
}

typedef struct tally { long next, emitted, bad, out_of_order, failed; char first[200]; bool ordered; } tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    long i = (long)(intptr_t)input;
    if (n != 1 || res[0] != &RES_GOOD) t->bad++;
    if (t->ordered && i != t->next) t->out_of_order++;
    t->next = i + 1;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    if (!t->failed++) snprintf(t->first, sizeof t->first, "%s: %s", aw_err_name(err), msg);
}

/* strategy: "pool", "owner" (async, io=owner) or "thread" (async, io=thread). */
static void run_op(run *r, int port, const char *strategy, bool ordered)
{
    char uri[512], err[1024];
    bool pool = !strcmp(strategy, "pool");
    snprintf(uri, sizeof uri, "mysql://%s@%s:%d/%s?strategy=%s&%s=%zu%s", env.user, env.host, port, env.db,
             pool ? "pool" : "async", pool ? "threads" : "connections", r->t,
             pool ? "" : !strcmp(strategy, "owner") ? "&io=owner" : "&io=thread");
    aw_lookup l = { .sql = "SELECT c FROM sbtest1 WHERE id = ?", .bind = bind_key, .row = row_check };
    aw_adapter *a = NULL;
    r->ok = false;
    if (aw_adapter_open(&a, uri, &l, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", uri, err);
        return;
    }
    tally t = { .next = 1, .ordered = ordered };
    /* Enough in flight to keep every connection busy while the ones that
     * just finished wait to be emitted; more would only queue (and show
     * as latency) in front of the connections. */
    aw_config cfg = { .mode = ordered ? AW_ORDERED : AW_UNORDERED, .capacity = 2 * r->t + 2,
                      .spin_us = opt.spin_us };
    aw_sink sink = { .ctx = &t, .emit = t_emit, .error = t_error };
    aw_op *op = NULL;
    if (aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err)) {
        fprintf(stderr, "aw_op_create: %s\n", err);
        aw_adapter_close(a);
        return;
    }
    double c0 = cpu_s(), t0 = now_s();
    int rc = 0;
    for (long i = 1; i <= r->records && rc == 0; i++) rc = aw_op_push(op, (void *)(intptr_t)i, 0);
    if (rc == 0) rc = aw_op_drain(op);
    r->secs = now_s() - t0;
    r->cpu = cpu_s() - c0;
    r->rss = rss_mb();
    aw_stats st;
    aw_op_stats(op, &st);
    r->rps = (double)r->records / r->secs;
    r->p50_us = st.p50_us;
    r->p99_us = st.p99_us;
    if (rc) fprintf(stderr, "%s: %s\n", aw_strerror(rc), aw_op_errmsg(op));
    aw_op_free(op);
    aw_adapter_close(a);
    if (t.failed) fprintf(stderr, "%ld records failed; first: %s\n", t.failed, t.first);
    r->ok = rc == 0 && t.emitted == r->records && t.bad == 0 && t.out_of_order == 0 && t.failed == 0;
}

/* ------------------------------------------------- child processes */

/* Starts argv with stdout on a pipe; *out gets its read end. */
static pid_t spawn(char *const argv[], FILE **out)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    if (pid < 0) { close(fd[0]); return -1; }
    *out = fdopen(fd[0], "r");
    return pid;
}

static void stop_child(pid_t pid, FILE *out)
{
    if (pid > 0) { kill(pid, SIGTERM); waitpid(pid, NULL, 0); }
    if (out) fclose(out);
}

/* The delay proxy for rtt_us; its port in *port. */
static pid_t proxy_start(long rtt_us, int *port, FILE **out)
{
    char target[64], delay[32];
    snprintf(target, sizeof target, "%s:%d", env.host, env.port);
    snprintf(delay, sizeof delay, "%ld", rtt_us / 2);
    char *argv[] = { (char *)opt.proxy, "--target", target, "--delay-us", delay,
                     "--listen", "127.0.0.1:0", NULL };
    pid_t pid = spawn(argv, out);
    char line[128];
    if (pid > 0 && *out && fgets(line, sizeof line, *out) && sscanf(line, "listening 127.0.0.1:%d", port) == 1)
        return pid;
    fprintf(stderr, "delay_proxy did not start (%s)\n", opt.proxy);
    stop_child(pid, *out);
    *out = NULL;
    return -1;
}

/* sysbench oltp_point_select with t threads for about opt.seconds * 2. */
static void run_sysbench(run *r, int port)
{
    char a[8][160];
    snprintf(a[0], 160, "--mysql-host=%s", env.host);
    snprintf(a[1], 160, "--mysql-port=%d", port);
    snprintf(a[2], 160, "--mysql-user=%s", env.user);
    snprintf(a[3], 160, "--mysql-password=%s", env.pass);
    snprintf(a[4], 160, "--mysql-db=%s", env.db);
    snprintf(a[5], 160, "--table-size=%ld", env.rows);
    snprintf(a[6], 160, "--threads=%zu", r->t);
    snprintf(a[7], 160, "--time=%d", (int)(opt.seconds * 2 + 0.999));
    char *argv[] = { "sysbench", "oltp_point_select", "--db-driver=mysql", a[0], a[1], a[2], a[3], a[4],
                     "--tables=1", a[5], a[6], a[7], "--db-ps-mode=auto", "--skip-trx=on",
                     "--percentile=99", "run", NULL };
    FILE *out = NULL;
    double c0 = cpu_s();
    pid_t pid = spawn(argv, &out);
    char line[256];
    double q = 0, p99 = 0, secs = 0;
    long n = 0;
    while (out && fgets(line, sizeof line, out)) {
        char *s;
        if ((s = strstr(line, "queries:")) && sscanf(s, "queries: %ld (%lf per sec.)", &n, &q) == 2) { }
        if ((s = strstr(line, "99th percentile:"))) sscanf(s, "99th percentile: %lf", &p99);
        if ((s = strstr(line, "total time:"))) sscanf(s, "total time: %lfs", &secs);
    }
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (out) fclose(out);
    r->records = n;
    r->rps = q;
    r->secs = secs;
    r->p99_us = p99 * 1000;
    r->cpu = cpu_s() - c0;                 /* ours only: sysbench is another process */
    r->ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && q > 0;
}

/* ------------------------------------------------------------ report */

static const run *find(long rtt, const char *strategy, const char *mode, size_t t)
{
    for (int i = 0; i < nruns; i++)
        if (runs[i].rtt_us == rtt && runs[i].t == t && !strcmp(runs[i].strategy, strategy) &&
            !strcmp(runs[i].mode, mode))
            return &runs[i];
    return NULL;
}

static void summary(void)
{
    printf("\nnative io=owner against the others, unordered (thread = native io=thread):\n"
           "%6s %4s %12s %12s %12s %14s %14s %12s %12s\n", "rtt_ms", "T", "owner/sysb", "owner/pool",
           "thread/sysb", "cpu owner/pool", "cpu thr/pool", "owner/bound", "pool/bound");
    for (int k = 0; k < opt.nrtt; k++)
        for (int j = 0; j < opt.nthreads; j++) {
            long rtt = opt.rtt_us[k];
            size_t t = opt.threads[j];
            const run *own = find(rtt, "owner", "unordered", t), *thr = find(rtt, "thread", "unordered", t),
                      *pool = find(rtt, "pool", "unordered", t), *sb = find(rtt, "sysbench", "-", t);
            if (!own || !pool) continue;
            double bound = rtt ? (double)t * 1e6 / (double)rtt : 0;
            double cpu_pool = pool->cpu / (double)pool->records;
            printf("%6.1f %4zu %12.2f %12.2f %12.2f %14.2f %14.2f", rtt / 1000.0, t,
                   sb && sb->rps ? own->rps / sb->rps : 0, own->rps / pool->rps,
                   sb && sb->rps && thr ? thr->rps / sb->rps : 0, (own->cpu / (double)own->records) / cpu_pool,
                   thr ? (thr->cpu / (double)thr->records) / cpu_pool : 0);
            if (bound > 0) printf(" %12.2f %12.2f\n", own->rps / bound, pool->rps / bound);
            else printf(" %12s %12s\n", "-", "-");
        }
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    fprintf(f, "rtt_us,strategy,mode,t,records,seconds,records_per_s,p50_us,p99_us,cpu_s,cpu_us_per_record,rss_mb,check\n");
    for (int i = 0; i < nruns; i++) {
        const run *r = &runs[i];
        fprintf(f, "%ld,%s,%s,%zu,%ld,%.3f,%.0f,%.1f,%.1f,%.3f,%.2f,%.1f,%s\n", r->rtt_us, r->strategy,
                r->mode, r->t, r->records, r->secs, r->rps, r->p50_us, r->p99_us, r->cpu,
                r->records ? r->cpu * 1e6 / (double)r->records : 0, r->rss, r->ok ? "OK" : "FAIL");
    }
    fclose(f);
    printf("\nresults: %s\n", path);
}

/* One panel per RTT: records/s against T for each strategy (unordered),
 * each series an inline data block so gnuplot joins its points. */
static void plot(void)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot is not installed: no plot (apt-get install gnuplot-nox)\n");
        return;
    }
    char gp[512], png[512], cmd[600];
    snprintf(gp, sizeof gp, "%s/throughput_mysql.gp", opt.dir);
    snprintf(png, sizeof png, "%s/throughput_mysql.png", opt.dir);
    FILE *f = fopen(gp, "w");
    if (!f) { perror(gp); return; }
    static const char *const strat[] = { "sysbench", "owner", "thread", "pool", "sync" };
    static const char *const mode[] = { "-", "unordered", "unordered", "unordered", "-" };
    for (int k = 0; k < opt.nrtt; k++)
        for (int s = 0; s < 5; s++) {
            fprintf(f, "$D%d_%d << EOD\n", k, s);
            for (int j = 0; j < opt.nthreads; j++) {
                const run *r = find(opt.rtt_us[k], strat[s], mode[s], opt.threads[j]);
                if (r && r->ok) fprintf(f, "%zu %.0f\n", r->t, r->rps);
            }
            fprintf(f, "EOD\n");
        }
    fprintf(f, "set terminal pngcairo size %d,420\nset output '%s'\nset logscale x 2\n"
               "set key top left\nset xlabel 'T (threads / connections)'\nset ylabel 'records/s'\n"
               "set yrange [0:*]\nset multiplot layout 1,%d\n", 420 * opt.nrtt, png, opt.nrtt);
    for (int k = 0; k < opt.nrtt; k++) {
        fprintf(f, "set title 'RTT %.1f ms'\nplot ", opt.rtt_us[k] / 1000.0);
        for (int s = 0; s < 5; s++)
            fprintf(f, "%s$D%d_%d using 1:2 with linespoints title '%s'", s ? ", " : "", k, s, strat[s]);
        fprintf(f, "\n");
    }
    fprintf(f, "unset multiplot\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    if (system(cmd) == 0) printf("plot: %s\n", png);
    else printf("gnuplot failed (script: %s)\n", gp);
}

/* ------------------------------------------------------------- main */

static int parse_list(const char *s, long *out, int max)
{
    int n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || (*end && *end != ',')) return -1;
        out[n++] = v;
    }
    return n;
}

static int usage(void)
{
    fprintf(stderr, "usage: throughput_mysql [--proxy PATH (default: beside this program)] [--dir DIR] [--threads 1,4,16,64] "
                    "[--rtt-us 0,500,2000] [--seconds S] [--quick] [--only sync,sysbench,owner,thread,pool]\n"
                    "                        [--dsn mysql://user[:pass]@host[:port]/db] [--spin-us N]\n"
                    "  (run it through tests/mariadb.sh run, which sets AW_MYSQL_*)\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long tmp[MAXV];
        if (!strcmp(a, "--quick")) {
            opt.seconds = 0.6;
            opt.nthreads = 3;
            opt.threads[0] = 1; opt.threads[1] = 16; opt.threads[2] = 64;
            opt.nrtt = 2;
            opt.rtt_us[1] = 2000;
        } else if (!v) {
            return usage();
        } else if (!strcmp(a, "--dir")) { opt.dir = v; i++;
        } else if (!strcmp(a, "--proxy")) { opt.proxy = v; i++;
        } else if (!strcmp(a, "--only")) { opt.only = v; i++;
        } else if (!strcmp(a, "--spin-us")) { opt.spin_us = atoi(v); i++;
        } else if (!strcmp(a, "--dsn")) {
            if (parse_dsn(v)) {
                fprintf(stderr, "--dsn '%s': expected mysql://user[:pass]@host[:port]/db\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--seconds")) { opt.seconds = atof(v); i++;
            if (opt.seconds <= 0) return usage();
        } else if (!strcmp(a, "--threads")) {
            if ((opt.nthreads = parse_list(v, tmp, MAXV)) <= 0) return usage();
            for (int k = 0; k < opt.nthreads; k++) opt.threads[k] = tmp[k] > 0 && tmp[k] <= 1024 ? (size_t)tmp[k] : 1;
            i++;
        } else if (!strcmp(a, "--rtt-us")) {
            if ((opt.nrtt = parse_list(v, opt.rtt_us, MAXV)) <= 0) return usage();
            i++;
        } else {
            return usage();
        }
    }
    const char *rows = getenv("AW_MYSQL_ROWS");
    if (!env.host) {                     /* no --dsn: tests/mariadb.sh's server */
        const char *port = getenv("AW_MYSQL_PORT");
        env.host = getenv("AW_MYSQL_HOST");
        env.user = getenv("AW_MYSQL_USER");
        env.pass = getenv("AW_MYSQL_PASSWORD");
        env.db = getenv("AW_MYSQL_DB");
        env.port = port ? atoi(port) : 0;
        if (!env.host || !env.user || !env.pass || !env.db || env.port <= 0) {
            fprintf(stderr, "throughput_mysql: no server: give --dsn, or run it through "
                            "tests/mariadb.sh run (make demo-mysql)\n");
            return usage();
        }
    } else {
        rows = NULL;
    }
    env.rows = rows ? atol(rows) : count_rows();
    if (env.rows < 1) return 1;
    static char beside[4200];            /* default: the delay_proxy built beside us */
    if (!opt.proxy) {
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char *slash = n > 0 ? (self[n] = 0, strrchr(self, '/')) : NULL;
        if (slash) {
            *slash = 0;
            snprintf(beside, sizeof beside, "%s/delay_proxy", self);
            opt.proxy = beside;
        }
    }
    bool need_proxy = false;
    for (int k = 0; k < opt.nrtt; k++) need_proxy |= opt.rtt_us[k] > 0;
    if (need_proxy && (!opt.proxy || access(opt.proxy, X_OK))) {
        fprintf(stderr, "throughput_mysql: RTT > 0 needs --proxy path/to/delay_proxy\n");
        return usage();
    }
    bool have_sysbench = system("command -v sysbench >/dev/null 2>&1") == 0;
    signal(SIGPIPE, SIG_IGN);
    mkdir(opt.dir, 0755);
    printf("MariaDB at %s:%d, sbtest1 with %ld rows; %.1f s per run; CPU is this process's "
           "(all threads), per record; operator spin_us %d\n\n", env.host, env.port, env.rows,
           opt.seconds, opt.spin_us);
    printf("%6s  %-8s %-9s %4s %8s %10s %9s %9s %8s %7s  %s\n", "rtt_ms", "strategy", "mode", "T",
           "records", "records/s", "p50_ms", "p99_ms", "cpu_us", "rss_mb", "check");
    for (int k = 0; k < opt.nrtt; k++) {
        long rtt = opt.rtt_us[k];
        int p = env.port;
        FILE *pout = NULL;
        pid_t ppid = 0;
        if (rtt > 0 && (ppid = proxy_start(rtt, &p, &pout)) < 0) { any_fail = true; break; }
        run *r = wanted("sync") ? add_run(rtt, "sync", "-", 1) : NULL;
        if (r) { r->records = records_for(rtt, 1); run_sync(r, p); print_run(r); }
        for (int j = 0; j < opt.nthreads; j++) {
            size_t t = opt.threads[j];
            if (have_sysbench && wanted("sysbench") && (r = add_run(rtt, "sysbench", "-", t))) { run_sysbench(r, p); print_run(r); }
            static const char *const ops[] = { "owner", "thread", "pool" };
            for (int s = 0; s < 3; s++)
                for (int o = 0; o < 2; o++)
                    if (wanted(ops[s]) && (r = add_run(rtt, ops[s], o ? "ordered" : "unordered", t))) {
                        r->records = records_for(rtt, t);
                        run_op(r, p, ops[s], o == 1);
                        print_run(r);
                    }
        }
        stop_child(ppid, pout);
    }
    if (!have_sysbench) printf("(sysbench is not installed: no ceiling; apt-get install sysbench)\n");
    summary();
    char csv[512];
    snprintf(csv, sizeof csv, "%s/results_mysql.csv", opt.dir);
    write_csv(csv);
    plot();
    if (any_fail) printf("\nFAIL: a run's results were wrong or incomplete (see above)\n");
    return any_fail ? 1 : 0;
}
