/* throughput_pg: the comparison `make demo-pg` runs. The same point lookups
 * (SELECT c FROM sbtest1 WHERE id = ?) against a real PostgreSQL:
 *   sync      one blocking PQexecPrepared per record, inline, no operator;
 *   pool      the adapter's strategy=pool: T workers, T connections;
 *   native    strategy=async: C connections in libpq pipeline mode, up to D
 *             queries in flight on each, run on the operator's owner thread
 *             (io=owner; --io thread for its own I/O thread);
 *   pgbench   `pgbench -M prepared` with -S's one-select script on our table
 *             (the same query), -c T: the server's ceiling one query per
 *             round trip;
 *   pgbench-pipe  pgbench with a script of 32 selects between
 *             \startpipeline and \endpipeline, -c C: the pipelined ceiling;
 * at each simulated network round trip (examples/delay_proxy delays each
 * direction RTT/2; RTT 0 = straight to the server). Reports records/s,
 * p50/p99 latency, CPU time per record (this process, all its threads; for
 * pgbench its own process), and checks every result (its own row, each
 * record once); any mismatch prints FAIL and exits 1. Then the issue's
 * targets, met or missed. Writes DIR/results_pg.csv and, with gnuplot,
 * DIR/throughput_pg.png.
 *
 * The server: tests/postgres.sh run exports AW_PG_HOST, _PORT, _USER,
 * _PASSWORD, _DB, _ROWS (sbtest1 holds ids 1..ROWS with
 * c = 'customer-<id>-<id*7919 % 100003>'). The password goes to libpq and
 * pgbench through PGPASSWORD, never on a command line.
 *
 * Usage: throughput_pg [--proxy PATH] [--dir DIR] [--rtt-us 0,500,2000]
 *                      [--seconds S] [--quick] [--io owner|thread]
 *                      [--only sync,pool,native,pgbench] [--spin-us N]
 * --spin-us is the operator's aw_config.spin_us (0 = its default, 20 us;
 * -1 = never spin).                                                      */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
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
#include "postgres/postgres.h"

#define MAXV 8
#define MAX_RUNS 256
#define PIPE_SELECTS 32

static struct {
    const char *dir, *proxy, *only, *io;
    double seconds;
    long rtt_us[MAXV]; int nrtt;
    bool quick;
    int spin_us;                         /* aw_config.spin_us */
} opt = { "build/demo", NULL, NULL, "owner", 1.5, { 0, 500, 2000 }, 3, false, 0 };

static bool wanted(const char *s) { return !opt.only || strstr(opt.only, s); }

static struct { const char *host, *user, *db; int port; long rows; } env;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_of(int who)
{
    struct rusage u;
    getrusage(who, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

static int64_t key_of(long i) { return (int64_t)(((uint64_t)i * 2654435761u) % (uint64_t)env.rows) + 1; }

static bool c_ok(int64_t id, const char *c, size_t len)
{
    char want[64];
    int n = snprintf(want, sizeof want, "customer-%" PRId64 "-%" PRId64, id, id * 7919 % 100003);
    return (size_t)n == len && memcmp(want, c, len) == 0;
}

/* ---------------------------------------------------------- the runs */

typedef struct run {
    long rtt_us;
    const char *strategy;
    size_t t, depth;             /* T or C; D (queries in flight per connection) */
    long records;
    double secs, rps, p50_us, p99_us, cpu;
    bool ok;
} run;
static run runs[MAX_RUNS];
static int nruns;
static bool any_fail;

static run *add_run(long rtt, const char *strategy, size_t t, size_t depth)
{
    if (nruns == MAX_RUNS) return NULL;
    run *r = &runs[nruns++];
    *r = (run){ .rtt_us = rtt, .strategy = strategy, .t = t, .depth = depth };
    return r;
}

static void print_run(const run *r)
{
    printf("%6.1f  %-12s %4zu %5zu %8ld %10.0f %9.2f %9.2f %8.2f  %s\n", r->rtt_us / 1000.0, r->strategy,
           r->t, r->depth, r->records, r->rps, r->p50_us / 1000, r->p99_us / 1000,
           r->records ? r->cpu * 1e6 / (double)r->records : 0, r->ok ? "OK" : "FAIL");
    fflush(stdout);
    if (!r->ok) any_fail = true;
}

/* Records for a run of about opt.seconds: bounded by T*D per round trip. */
static long records_for(long rtt_us, size_t t, size_t depth)
{
    double rate = depth > 1 ? 200000 : 40000;
    double bound = rtt_us > 0 ? (double)t * (double)depth * 1e6 / (double)rtt_us : rate;
    if (bound < rate) rate = bound;
    long n = (long)(rate * opt.seconds);
    return n < 200 ? 200 : n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static PGconn *connect_to(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *kw[] = { "host", "port", "user", "dbname", NULL };
    const char *val[] = { env.host, p, env.user, env.db, NULL };
    PGconn *c = PQconnectdbParams(kw, val, 0);      /* password: PGPASSWORD */
    if (c && PQstatus(c) == CONNECTION_OK) return c;
    fprintf(stderr, "throughput_pg: cannot connect to %s:%d: %s", env.host, port, c ? PQerrorMessage(c) : "\n");
    PQfinish(c);
    return NULL;
}

/* sync: what a program without asyncwait does. */
static void run_sync(run *r, int port)
{
    double c0 = cpu_of(RUSAGE_SELF);
    r->ok = false;
    PGconn *c = connect_to(port);
    if (!c) return;
    PGresult *p = PQprepare(c, "q", "SELECT c FROM sbtest1 WHERE id = $1", 1, NULL);
    if (PQresultStatus(p) != PGRES_COMMAND_OK) {
        fprintf(stderr, "sync: %s", PQerrorMessage(c));
        PQclear(p);
        PQfinish(c);
        return;
    }
    PQclear(p);
    long bad = 0;
    double *lat = malloc(sizeof *lat * (size_t)r->records);
    double t0 = now_s();
    for (long i = 1; i <= r->records; i++) {
        double s = now_s();
        int64_t id = key_of(i);
        char v[32];
        snprintf(v, sizeof v, "%" PRId64, id);
        const char *vals[1] = { v };
        PGresult *x = PQexecPrepared(c, "q", 1, vals, NULL, NULL, 0);
        if (PQresultStatus(x) != PGRES_TUPLES_OK || PQntuples(x) != 1 ||
            !c_ok(id, PQgetvalue(x, 0, 0), (size_t)PQgetlength(x, 0, 0)))
            bad++;
        PQclear(x);
        if (lat) lat[i - 1] = now_s() - s;
    }
    r->secs = now_s() - t0;
    r->rps = (double)r->records / r->secs;
    if (lat) {
        qsort(lat, (size_t)r->records, sizeof *lat, cmp);
        r->p50_us = lat[r->records / 2] * 1e6;
        r->p99_us = lat[r->records * 99 / 100] * 1e6;
        free(lat);
    }
    PQfinish(c);
    r->cpu = cpu_of(RUSAGE_SELF) - c0;
    r->ok = bad == 0 && lat;
}

static char RES_GOOD, RES_BAD;

static int bind_key(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, key_of((long)(intptr_t)input)); }

static int row_check(void *ctx, void *input, const aw_row *row, void **out)
{
    size_t len = 0;
    const char *c = aw_row_text(row, 0, &len);
    *out = c && c_ok(key_of((long)(intptr_t)input), c, len) ? &RES_GOOD : &RES_BAD;
    return 0;
}

typedef struct tally { long emitted, bad, failed; unsigned char *seen; long dup; char first[200]; } tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    long i = (long)(intptr_t)input;
    if (n != 1 || res[0] != &RES_GOOD) t->bad++;
    if (t->seen[i]++) t->dup++;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    if (!t->failed++) snprintf(t->first, sizeof t->first, "%s: %s", aw_err_name(err), msg);
}

static void run_op(run *r, int port, bool pool)
{
    char uri[512], err[1024];
    if (pool)
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=pool&threads=%zu", env.user, env.host,
                 port, env.db, r->t);
    else
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=async&connections=%zu&pipeline=%zu&io=%s",
                 env.user, env.host, port, env.db, r->t, r->depth, opt.io);
    aw_lookup l = { .sql = "SELECT c FROM sbtest1 WHERE id = ?", .bind = bind_key, .row = row_check };
    aw_adapter *a = NULL;
    r->ok = false;
    if (aw_adapter_open(&a, uri, &l, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", uri, err);
        return;
    }
    tally t = { .seen = calloc((size_t)r->records + 1, 1) };
    /* Enough in flight to keep every connection's pipeline full while the
     * answered ones wait to be emitted. */
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 2 * r->t * r->depth + 2,
                      .spin_us = opt.spin_us };
    aw_sink sink = { .ctx = &t, .emit = t_emit, .error = t_error };
    aw_op *op = NULL;
    if (!t.seen || aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err)) {
        fprintf(stderr, "aw_op_create: %s\n", err);
        free(t.seen);
        aw_adapter_close(a);
        return;
    }
    double c0 = cpu_of(RUSAGE_SELF), t0 = now_s();
    int rc = 0;
    for (long i = 1; i <= r->records && rc == 0; i++) rc = aw_op_push(op, (void *)(intptr_t)i, 0);
    if (rc == 0) rc = aw_op_drain(op);
    r->secs = now_s() - t0;
    r->cpu = cpu_of(RUSAGE_SELF) - c0;
    aw_stats st;
    aw_op_stats(op, &st);
    r->rps = (double)r->records / r->secs;
    r->p50_us = st.p50_us;
    r->p99_us = st.p99_us;
    if (rc) fprintf(stderr, "%s: %s\n", aw_strerror(rc), aw_op_errmsg(op));
    aw_op_free(op);
    aw_adapter_close(a);
    if (t.failed) fprintf(stderr, "%ld records failed; first: %s\n", t.failed, t.first);
    long missing = 0;
    for (long i = 1; i <= r->records; i++) missing += !t.seen[i];
    free(t.seen);
    r->ok = rc == 0 && t.emitted == r->records && t.bad == 0 && t.failed == 0 && t.dup == 0 && !missing;
}

/* ------------------------------------------------- child processes */

static pid_t spawn(char *const argv[], FILE **out)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
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

/* pgbench -M prepared with a script file: one select (-S's, on our table),
 * or PIPE_SELECTS of them in one pipeline. Records = selects. */
static void run_pgbench(run *r, int port, bool pipelined)
{
    char script[600], line[512];
    snprintf(script, sizeof script, "%s/pgbench_%s.sql", opt.dir, pipelined ? "pipe" : "select");
    FILE *f = fopen(script, "w");
    r->ok = false;
    if (!f) { perror(script); return; }
    if (pipelined) fprintf(f, "\\startpipeline\n");
    for (int i = 0; i < (pipelined ? PIPE_SELECTS : 1); i++)
        fprintf(f, "\\set id%d random(1, %ld)\nSELECT c FROM sbtest1 WHERE id = :id%d;\n", i, env.rows, i);
    if (pipelined) fprintf(f, "\\endpipeline\n");
    fclose(f);
    char a[6][160];
    snprintf(a[0], 160, "%s", env.host);
    snprintf(a[1], 160, "%d", port);
    snprintf(a[2], 160, "%s", env.user);
    snprintf(a[3], 160, "%zu", r->t);
    snprintf(a[4], 160, "%zu", r->t < 2 ? r->t : 2);
    snprintf(a[5], 160, "%d", (int)(opt.seconds + 0.999));
    char *argv[] = { "pgbench", "-n", "-M", "prepared", "-f", script, "-h", a[0], "-p", a[1], "-U", a[2],
                     "-c", a[3], "-j", a[4], "-T", a[5], (char *)env.db, NULL };
    FILE *out = NULL;
    double c0 = cpu_of(RUSAGE_CHILDREN);
    pid_t pid = spawn(argv, &out);
    double tps = 0, lat = 0;
    long n = 0;
    char last[512] = "";
    while (out && fgets(line, sizeof line, out)) {
        char *s;
        if ((s = strstr(line, "actually processed:"))) sscanf(s, "actually processed: %ld", &n);
        if ((s = strstr(line, "latency average ="))) sscanf(s, "latency average = %lf", &lat);
        if ((s = strstr(line, "tps ="))) sscanf(s, "tps = %lf", &tps);
        snprintf(last, sizeof last, "%s", line);
    }
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (out) fclose(out);
    int per = pipelined ? PIPE_SELECTS : 1;
    r->records = n * per;
    r->rps = tps * per;
    r->secs = tps > 0 ? (double)n / tps : 0;
    r->p50_us = lat * 1000;                 /* pgbench's average latency per script */
    r->cpu = cpu_of(RUSAGE_CHILDREN) - c0;  /* pgbench's own process */
    r->ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && tps > 0;
    if (!r->ok) fprintf(stderr, "pgbench failed: %s", last);
}

/* ------------------------------------------------------------ report */

static const run *find(long rtt, const char *strategy, size_t t, size_t depth)
{
    for (int i = 0; i < nruns; i++)
        if (runs[i].rtt_us == rtt && runs[i].t == t && runs[i].depth == depth &&
            !strcmp(runs[i].strategy, strategy) && runs[i].ok)
            return &runs[i];
    return NULL;
}

static void target(const char *what, const run *a, const run *b, double want)
{
    if (!a || !b) { printf("  %-62s   not measured\n", what); return; }
    double x = a->rps / b->rps;
    printf("  %-62s %7.2f x  (want >= %.1f)  %s\n", what, x, want, x >= want ? "met" : "MISSED");
}

static void targets(void)
{
    printf("\nthe issue's targets (ratios of records/s within this run):\n");
    target("native C=2 D=256 / pool T=2, RTT 0", find(0, "native", 2, 256), find(0, "pool", 2, 1), 3);
    target("native C=2 D=256 / pgbench-pipe -c 2, RTT 0", find(0, "native", 2, 256),
           find(0, "pgbench-pipe", 2, PIPE_SELECTS), 0.8);
    target("native C=1 D=256 / pool T=1, RTT 2 ms", find(2000, "native", 1, 256), find(2000, "pool", 1, 1), 30);
    for (int k = 0; k < opt.nrtt; k++)
        for (size_t t = 1; t <= 16; t *= 2) {
            const run *p = find(opt.rtt_us[k], "pool", t, 1), *g = find(opt.rtt_us[k], "pgbench", t, 1);
            if (!p || !g) continue;
            char w[100];
            snprintf(w, sizeof w, "pool T=%zu / pgbench -c %zu, RTT %.1f ms", t, t, opt.rtt_us[k] / 1000.0);
            target(w, p, g, 0.9);
        }
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    fprintf(f, "rtt_us,strategy,t,depth,records,seconds,records_per_s,p50_us,p99_us,cpu_s,cpu_us_per_record,check\n");
    for (int i = 0; i < nruns; i++) {
        const run *r = &runs[i];
        fprintf(f, "%ld,%s,%zu,%zu,%ld,%.3f,%.0f,%.1f,%.1f,%.3f,%.2f,%s\n", r->rtt_us, r->strategy, r->t,
                r->depth, r->records, r->secs, r->rps, r->p50_us, r->p99_us, r->cpu,
                r->records ? r->cpu * 1e6 / (double)r->records : 0, r->ok ? "OK" : "FAIL");
    }
    fclose(f);
    printf("\nresults: %s\n", path);
}

/* One line per RTT over the configurations (x: labels), log y. */
static void plot(void)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot is not installed: no plot (apt-get install gnuplot-nox)\n");
        return;
    }
    char gp[512], png[512], cmd[600];
    snprintf(gp, sizeof gp, "%s/throughput_pg.gp", opt.dir);
    snprintf(png, sizeof png, "%s/throughput_pg.png", opt.dir);
    FILE *f = fopen(gp, "w");
    if (!f) { perror(gp); return; }
    /* the configurations of the first RTT, in run order, name the x axis */
    for (int k = 0; k < opt.nrtt; k++) {
        fprintf(f, "$D%d << EOD\n", k);
        int x = 0;
        for (int i = 0; i < nruns; i++) {
            if (runs[i].rtt_us != opt.rtt_us[0]) continue;
            const run *r = find(opt.rtt_us[k], runs[i].strategy, runs[i].t, runs[i].depth);
            if (r) fprintf(f, "%d \"%s %zu%s%s\" %.0f\n", x, r->strategy, r->t,
                           !strcmp(r->strategy, "native") ? "x" : "",
                           !strcmp(r->strategy, "native") ? (r->depth == 1 ? "1" : r->depth == 16 ? "16" : "256") : "",
                           r->rps);
            x++;
        }
        fprintf(f, "EOD\n");
    }
    fprintf(f, "set terminal pngcairo size 1100,520\nset output '%s'\nset logscale y\n"
               "set format y '%%.0s%%c'\nset ytics (100, 300, 1000, 3000, 10000, 30000, 100000, 300000, 1000000)\n"
               "set grid ytics\nset key top left\nset xtics rotate by -40 font ',9'\n"
               "set ylabel 'records/s (log)'\nset title 'PostgreSQL point lookups: T threads/clients, "
               "native CxD = C connections x D in flight'\nset bmargin 7\nset rmargin 12\nplot ", png);
    for (int k = 0; k < opt.nrtt; k++)
        fprintf(f, "%s$D%d using 1:3:xtic(2) with linespoints title 'RTT %.1f ms'", k ? ", " : "", k,
                opt.rtt_us[k] / 1000.0);
    fprintf(f, "\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    if (system(cmd) == 0) printf("plot: %s\n", png);
    else printf("gnuplot failed (script: %s)\n", gp);
}

/* ------------------------------------------------------------- main */

static int usage(void)
{
    fprintf(stderr, "usage: throughput_pg [--proxy PATH] [--dir DIR] [--rtt-us 0,500,2000] [--seconds S] "
                    "[--quick] [--io owner|thread] [--only sync,pool,native,pgbench] [--spin-us N]\n"
                    "  (run it through tests/postgres.sh run, which sets AW_PG_*)\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            opt.quick = true;
            opt.seconds = 0.5;
            opt.nrtt = 2;
            opt.rtt_us[0] = 0;
            opt.rtt_us[1] = 2000;
        } else if (!v) {
            return usage();
        } else if (!strcmp(a, "--dir")) { opt.dir = v; i++;
        } else if (!strcmp(a, "--proxy")) { opt.proxy = v; i++;
        } else if (!strcmp(a, "--only")) { opt.only = v; i++;
        } else if (!strcmp(a, "--spin-us")) { opt.spin_us = atoi(v); i++;
        } else if (!strcmp(a, "--io")) { opt.io = v; i++;
            if (strcmp(v, "owner") && strcmp(v, "thread")) return usage();
        } else if (!strcmp(a, "--seconds")) { opt.seconds = atof(v); i++;
            if (opt.seconds <= 0) return usage();
        } else if (!strcmp(a, "--rtt-us")) {
            opt.nrtt = 0;
            for (char *end; *v && opt.nrtt < MAXV; v = *end ? end + 1 : end) {
                long x = strtol(v, &end, 10);
                if (end == v || x < 0 || (*end && *end != ',')) return usage();
                opt.rtt_us[opt.nrtt++] = x;
            }
            if (!opt.nrtt) return usage();
            i++;
        } else {
            return usage();
        }
    }
    const char *port = getenv("AW_PG_PORT"), *rows = getenv("AW_PG_ROWS"), *pw = getenv("AW_PG_PASSWORD");
    env.host = getenv("AW_PG_HOST");
    env.user = getenv("AW_PG_USER");
    env.db = getenv("AW_PG_DB");
    env.port = port ? atoi(port) : 0;
    env.rows = rows ? atol(rows) : 0;
    if (!env.host || !env.user || !env.db || env.port <= 0 || env.rows < 1) {
        fprintf(stderr, "throughput_pg: no server: run it through tests/postgres.sh run (make demo-pg)\n");
        return usage();
    }
    if (pw) setenv("PGPASSWORD", pw, 1);      /* libpq's and pgbench's own means */
    static char beside[4200];
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
        fprintf(stderr, "throughput_pg: RTT > 0 needs --proxy path/to/delay_proxy\n");
        return usage();
    }
    bool have_pgbench = system("command -v pgbench >/dev/null 2>&1") == 0;
    signal(SIGPIPE, SIG_IGN);
    mkdir(opt.dir, 0755);
    printf("PostgreSQL at %s:%d, sbtest1 with %ld rows; %.1f s per run; native io=%s; spin_us %d; CPU per "
           "record is this process's (all threads), pgbench's own for pgbench\n\n", env.host, env.port,
           env.rows, opt.seconds, opt.io, opt.spin_us);
    printf("%6s  %-12s %4s %5s %8s %10s %9s %9s %8s  %s\n", "rtt_ms", "strategy", "T|C", "D", "records",
           "records/s", "p50_ms", "p99_ms", "cpu_us", "check");
    static const size_t pool_t[] = { 1, 2, 16 }, nat_c[] = { 1, 2 }, nat_d[] = { 1, 16, 256 },
                        bench_c[] = { 1, 2, 16 }, pipe_c[] = { 1, 2 };
    size_t npool = opt.quick ? 2 : 3, nd = 3, nbench = opt.quick ? 2 : 3;
    for (int k = 0; k < opt.nrtt; k++) {
        long rtt = opt.rtt_us[k];
        int p = env.port;
        FILE *pout = NULL;
        pid_t ppid = 0;
        if (rtt > 0 && (ppid = proxy_start(rtt, &p, &pout)) < 0) { any_fail = true; break; }
        run *r;
        if (wanted("sync") && (r = add_run(rtt, "sync", 1, 1))) {
            r->records = records_for(rtt, 1, 1);
            run_sync(r, p);
            print_run(r);
        }
        for (size_t j = 0; j < npool; j++)
            if (wanted("pool") && (r = add_run(rtt, "pool", pool_t[j], 1))) {
                r->records = records_for(rtt, pool_t[j], 1);
                run_op(r, p, true);
                print_run(r);
            }
        for (size_t c = 0; c < 2; c++)
            for (size_t d = 0; d < nd; d++)
                if (wanted("native") && (r = add_run(rtt, "native", nat_c[c], nat_d[d]))) {
                    r->records = records_for(rtt, nat_c[c], nat_d[d]);
                    run_op(r, p, false);
                    print_run(r);
                }
        for (size_t j = 0; have_pgbench && wanted("pgbench") && j < nbench; j++)
            if ((r = add_run(rtt, "pgbench", bench_c[j], 1))) { run_pgbench(r, p, false); print_run(r); }
        for (size_t j = 0; have_pgbench && wanted("pgbench") && j < 2; j++)
            if ((r = add_run(rtt, "pgbench-pipe", pipe_c[j], PIPE_SELECTS))) { run_pgbench(r, p, true); print_run(r); }
        stop_child(ppid, pout);
    }
    if (!have_pgbench) printf("(pgbench is not installed: no ceiling; apt-get install postgresql)\n");
    targets();
    char csv[512];
    snprintf(csv, sizeof csv, "%s/results_pg.csv", opt.dir);
    write_csv(csv);
    plot();
    if (any_fail) printf("\nFAIL: a run's results were wrong or incomplete (see above)\n");
    return any_fail ? 1 : 0;
}
