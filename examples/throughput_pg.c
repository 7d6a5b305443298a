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
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "asyncwait.h"
#include "lookup.h"
#include "postgres/postgres.h"
#include "common.h"
#include "demo_common.h"

#define PIPE_SELECTS 32

/* Besides demo_common.h's opt. */
static struct { const char *io; bool quick; } pg_opt = { "owner", false };

/* ---------------------------------------------------------- the runs */

/* Records for a run of about opt.seconds: bounded by T*D per round trip. */
static long records_for(long rtt_us, size_t t, size_t depth)
{
    double rate = depth > 1 ? 200000 : 40000;
    double bound = rtt_us > 0 ? (double)t * (double)depth * 1e6 / (double)rtt_us : rate;
    if (bound < rate) rate = bound;
    long n = (long)(rate * opt.seconds);
    return n < 200 ? 200 : n;
}

static PGconn *connect_to(int port)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    const char *kw[] = { "host", "port", "user", "dbname", NULL };
    const char *val[] = { srv.host, p, srv.user, srv.db, NULL };
    PGconn *c = PQconnectdbParams(kw, val, 0);      /* password: PGPASSWORD */
    if (c && PQstatus(c) == CONNECTION_OK) return c;
    fprintf(stderr, "throughput_pg: cannot connect to %s:%d: %s", srv.host, port, c ? PQerrorMessage(c) : "\n");
    PQfinish(c);
    return NULL;
}

/* sync: what a program without asyncwait does. */
static bool sync_one(void *ctx, long i)
{
    int64_t id = demo_key(i);
    char v[32];
    snprintf(v, sizeof v, "%" PRId64, id);
    const char *vals[1] = { v };
    PGresult *x = PQexecPrepared(ctx, "q", 1, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(x) == PGRES_TUPLES_OK && PQntuples(x) == 1 &&
              demo_value_ok(id, PQgetvalue(x, 0, 0), (size_t)PQgetlength(x, 0, 0));
    PQclear(x);
    return ok;
}

static void run_sync(demo_run *r, int port)
{
    double c0 = cpu_s();
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
    long bad = demo_time_loop(r, sync_one, c);
    PQfinish(c);
    r->cpu = cpu_s() - c0;
    r->ok = bad == 0;
}

static void run_op(demo_run *r, int port, bool pool)
{
    char uri[512];
    if (pool)
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=pool&threads=%zu", srv.user, srv.host,
                 port, srv.db, r->t);
    else
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=async&connections=%zu&pipeline=%zu&io=%s",
                 srv.user, srv.host, port, srv.db, r->t, r->depth, pg_opt.io);
    aw_lookup l = { .sql = "SELECT c FROM sbtest1 WHERE id = ?", .bind = demo_bind_key, .row = demo_row_check };
    /* Enough in flight to keep every connection's pipeline full while the
     * answered ones wait to be emitted. */
    demo_run_op(r, uri, &l, AW_UNORDERED, 2 * r->t * r->depth + 2);
}

/* pgbench -M prepared with a script file: one select (-S's, on our table),
 * or PIPE_SELECTS of them in one pipeline. Records = selects. */
static void run_pgbench(demo_run *r, int port, bool pipelined)
{
    char script[600], line[512];
    demo_path(script, sizeof script, pipelined ? "pgbench_pipe.sql" : "pgbench_select.sql");
    FILE *f = fopen(script, "w");
    r->ok = false;
    if (!f) { perror(script); return; }
    if (pipelined) fprintf(f, "\\startpipeline\n");
    for (int i = 0; i < (pipelined ? PIPE_SELECTS : 1); i++)
        fprintf(f, "\\set id%d random(1, %ld)\nSELECT c FROM sbtest1 WHERE id = :id%d;\n", i, srv.rows, i);
    if (pipelined) fprintf(f, "\\endpipeline\n");
    fclose(f);
    char a[6][160];
    snprintf(a[0], 160, "%s", srv.host);
    snprintf(a[1], 160, "%d", port);
    snprintf(a[2], 160, "%s", srv.user);
    snprintf(a[3], 160, "%zu", r->t);
    snprintf(a[4], 160, "%zu", r->t < 2 ? r->t : 2);
    snprintf(a[5], 160, "%d", (int)(opt.seconds + 0.999));
    char *argv[] = { "pgbench", "-n", "-M", "prepared", "-f", script, "-h", a[0], "-p", a[1], "-U", a[2],
                     "-c", a[3], "-j", a[4], "-T", a[5], (char *)srv.db, NULL };
    FILE *out = NULL;
    double c0 = cpu_of(RUSAGE_CHILDREN);
    pid_t pid = demo_spawn(argv, &out, true);
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

static bool have_pgbench;

/* Every configuration at one RTT (port: the server's, or its proxy's). */
static void runs_at(long rtt, int port)
{
    static const size_t pool_t[] = { 1, 2, 16 }, nat_c[] = { 1, 2 }, nat_d[] = { 1, 16, 256 },
                        bench_c[] = { 1, 2, 16 }, pipe_c[] = { 1, 2 };
    size_t npool = pg_opt.quick ? 2 : 3, nd = 3, nbench = pg_opt.quick ? 2 : 3;
    demo_run *r;
    if (demo_wanted("sync") && (r = demo_add(rtt, "sync", NULL, 1, 1))) {
        r->records = records_for(rtt, 1, 1);
        run_sync(r, port);
        demo_print(r);
    }
    for (size_t j = 0; j < npool; j++)
        if (demo_wanted("pool") && (r = demo_add(rtt, "pool", NULL, pool_t[j], 1))) {
            r->records = records_for(rtt, pool_t[j], 1);
            run_op(r, port, true);
            demo_print(r);
        }
    for (size_t c = 0; c < 2; c++)
        for (size_t d = 0; d < nd; d++)
            if (demo_wanted("native") && (r = demo_add(rtt, "native", NULL, nat_c[c], nat_d[d]))) {
                r->records = records_for(rtt, nat_c[c], nat_d[d]);
                run_op(r, port, false);
                demo_print(r);
            }
    for (size_t j = 0; have_pgbench && demo_wanted("pgbench") && j < nbench; j++)
        if ((r = demo_add(rtt, "pgbench", NULL, bench_c[j], 1))) { run_pgbench(r, port, false); demo_print(r); }
    for (size_t j = 0; have_pgbench && demo_wanted("pgbench") && j < 2; j++)
        if ((r = demo_add(rtt, "pgbench-pipe", NULL, pipe_c[j], PIPE_SELECTS))) {
            run_pgbench(r, port, true);
            demo_print(r);
        }
}

/* ------------------------------------------------------------ report */

static const demo_table table = {
    { { DEMO_STRATEGY, "strategy", "strategy", -12 }, { DEMO_T, "T|C", "t", 4 },
      { DEMO_DEPTH, "D", "depth", 5 } }, 3, 8, 10, 2, false };

static const demo_run *find(long rtt, const char *strategy, size_t t, size_t depth)
{
    return demo_find(rtt, strategy, NULL, t, depth);
}

static void targets(void)
{
    printf("\nthe issue's targets (ratios of records/s within this run):\n");
    demo_target("native C=2 D=256 / pool T=2, RTT 0", find(0, "native", 2, 256), find(0, "pool", 2, 1), 3);
    demo_target("native C=2 D=256 / pgbench-pipe -c 2, RTT 0", find(0, "native", 2, 256),
                find(0, "pgbench-pipe", 2, PIPE_SELECTS), 0.8);
    demo_target("native C=1 D=256 / pool T=1, RTT 2 ms", find(2000, "native", 1, 256), find(2000, "pool", 1, 1), 30);
    for (int k = 0; k < opt.nrtt; k++)
        for (size_t t = 1; t <= 16; t *= 2) {
            const demo_run *p = find(opt.rtt_us[k], "pool", t, 1), *g = find(opt.rtt_us[k], "pgbench", t, 1);
            if (!p || !g) continue;
            char w[100];
            snprintf(w, sizeof w, "pool T=%zu / pgbench -c %zu, RTT %.1f ms", t, t, opt.rtt_us[k] / 1000.0);
            demo_target(w, p, g, 0.9);
        }
}

/* One line per RTT over the configurations (x: labels), log y. */
static void plot(void)
{
    char png[512];
    FILE *f = demo_plot_begin("throughput_pg", png, sizeof png);
    if (!f) return;
    /* the configurations of the first RTT, in run order, name the x axis */
    for (int k = 0; k < opt.nrtt; k++) {
        fprintf(f, "$D%d << EOD\n", k);
        int x = 0;
        for (int i = 0; i < demo_nruns(); i++) {
            const demo_run *c = demo_run_at(i);
            if (c->rtt_us != opt.rtt_us[0]) continue;
            const demo_run *r = find(opt.rtt_us[k], c->strategy, c->t, c->depth);
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
    demo_plot_end(f, "throughput_pg");
}

/* ------------------------------------------------------------- main */

static int usage(void)
{
    fprintf(stderr, "usage: throughput_pg [--proxy PATH] [--dir DIR] [--rtt-us 0,500,2000] [--seconds S] "
                    "[--quick] [--io owner|thread] [--only sync,pool,native,pgbench] [--spin-us N]\n"
                    "  (run it through tests/postgres.sh run, which sets AW_PG_*)\n");
    return 2;
}

/* This demo's options (demo_args). */
static int option(const char *a, const char *v)
{
    if (!strcmp(a, "--quick")) {
        pg_opt.quick = true;
        opt.seconds = 0.5;
        opt.nrtt = 2;
        opt.rtt_us[0] = 0;
        opt.rtt_us[1] = 2000;
        return 1;
    }
    if (!v || strcmp(a, "--io")) return 0;
    pg_opt.io = v;
    return strcmp(v, "owner") && strcmp(v, "thread") ? -1 : 2;
}

int main(int argc, char **argv)
{
    opt.spin_us = 0;                     /* the operator's default, here */
    if (demo_args(argc, argv, option)) return usage();
    const char *port = getenv("AW_PG_PORT"), *rows = getenv("AW_PG_ROWS"), *pw = getenv("AW_PG_PASSWORD");
    srv.host = getenv("AW_PG_HOST");
    srv.user = getenv("AW_PG_USER");
    srv.db = getenv("AW_PG_DB");
    srv.port = port ? atoi(port) : 0;
    srv.rows = rows ? atol(rows) : 0;
    if (!srv.host || !srv.user || !srv.db || srv.port <= 0 || srv.rows < 1) {
        fprintf(stderr, "throughput_pg: no server: run it through tests/postgres.sh run (make demo-pg)\n");
        return usage();
    }
    if (pw) setenv("PGPASSWORD", pw, 1);      /* libpq's and pgbench's own means */
    if (demo_setup("throughput_pg")) return usage();
    have_pgbench = system("command -v pgbench >/dev/null 2>&1") == 0;
    printf("PostgreSQL at %s:%d, sbtest1 with %ld rows; %.1f s per run; native io=%s; spin_us %d; CPU per "
           "record is this process's (all threads), pgbench's own for pgbench\n\n", srv.host, srv.port,
           srv.rows, opt.seconds, pg_opt.io, opt.spin_us);
    demo_table_head(&table);
    demo_each_rtt(runs_at);
    if (!have_pgbench) printf("(pgbench is not installed: no ceiling; apt-get install postgresql)\n");
    targets();
    return demo_finish("results_pg.csv", plot);
}
