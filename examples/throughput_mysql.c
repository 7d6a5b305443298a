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
#include <inttypes.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "asyncwait.h"
#include "lookup.h"
#include "mysql/mysql.h"
#include "common.h"
#include "demo_common.h"

/* Besides demo_common.h's opt: the T values. */
static struct { size_t threads[DEMO_MAXV]; int nthreads; } tset = { { 1, 4, 16, 64 }, 4 };

/* The server's password (srv holds the rest). */
static const char *pass;

static bool wanted(const char *strategy)
{
    if (demo_wanted(strategy)) return true;
    /* "native" (the old name) means both io modes */
    return strstr(opt.only, "native") && (!strcmp(strategy, "owner") || !strcmp(strategy, "thread"));
}

/* mysql://user[:pass]@host[:port]/db into srv (strings point into a copy).
 * A password goes to AW_MYSQL_PASSWORD, where the adapter looks. */
static int parse_dsn(const char *dsn)
{
    if (strncmp(dsn, "mysql://", 8)) return -1;
    char *d = strdup(dsn + 8), *at = d ? strrchr(d, '@') : NULL, *slash;
    if (!at || !(slash = strchr(at, '/')) || !slash[1] || strchr(slash, '?')) { free(d); return -1; }
    *at = *slash = 0;
    char *colon = strchr(d, ':');
    if (colon) { *colon = 0; setenv("AW_MYSQL_PASSWORD", colon + 1, 1); }
    srv.user = d;
    srv.host = at + 1;
    srv.db = slash + 1;
    srv.port = 3306;
    if ((colon = strchr(at + 1, ':'))) { *colon = 0; srv.port = atoi(colon + 1); }
    pass = getenv("AW_MYSQL_PASSWORD");
    if (!pass) pass = "";
    return *srv.user && *srv.host && srv.port > 0 ? 0 : -1;
}

static MYSQL *connect_to(int port)
{
    MYSQL *m = mysql_init(NULL);
    if (m && mysql_real_connect(m, srv.host, srv.user, pass, srv.db, (unsigned)port, NULL, 0)) return m;
    fprintf(stderr, "throughput_mysql: cannot connect to %s:%d as '%s': %s\n", srv.host, port, srv.user,
            m ? mysql_error(m) : "out of memory");
    if (m) mysql_close(m);
    return NULL;
}

/* The table's size, when no AW_MYSQL_ROWS says it. */
static long count_rows(void)
{
    MYSQL *m = connect_to(srv.port);
    long n = 0;
    if (!m) {
        return 0;
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
    mysql_close(m);
    return n;
}

/* ---------------------------------------------------------- the runs */

/* How many records make a run of about opt.seconds at this RTT and T. */
static long records_for(long rtt_us, size_t t)
{
    double rate = 40000;                                  /* about the server's own limit */
    if (rtt_us > 0 && (double)t * 1e6 / (double)rtt_us < rate) rate = (double)t * 1e6 / (double)rtt_us;
    long n = (long)(rate * opt.seconds);
    return n < 200 ? 200 : n;
}

/* sync: what a program without asyncwait does -- one prepared statement,
 * one blocking round trip per record. */
typedef struct sync_stmt {
    MYSQL_STMT *st;
    int64_t id;
    char c[128];
    unsigned long clen;
    my_bool isnull;
} sync_stmt;

static bool sync_one(void *ctx, long i)
{
    sync_stmt *s = ctx;
    int rows = 0;
    s->id = demo_key(i);
    if (mysql_stmt_execute(s->st) || mysql_stmt_store_result(s->st)) return false;
    while (mysql_stmt_fetch(s->st) == 0) rows++;
    mysql_stmt_free_result(s->st);
    return rows == 1 && demo_value_ok(s->id, s->c, s->clen);
}

static void run_sync(demo_run *r, int port)
{
    double c0 = cpu_s();
    MYSQL *m = connect_to(port);
    sync_stmt s = { 0 };
    r->ok = false;
    if (!m) return;
    if (!(s.st = mysql_stmt_init(m)) || mysql_stmt_prepare(s.st, "SELECT c FROM sbtest1 WHERE id = ?", 34)) {
        fprintf(stderr, "sync: %s\n", mysql_error(m));
        if (s.st) mysql_stmt_close(s.st);
        mysql_close(m);
        return;
    }
    MYSQL_BIND p = { .buffer_type = MYSQL_TYPE_LONGLONG, .buffer = &s.id };
    MYSQL_BIND o = { .buffer_type = MYSQL_TYPE_STRING, .buffer = s.c, .buffer_length = sizeof s.c,
                     .length = &s.clen, .is_null = &s.isnull };
    mysql_stmt_bind_param(s.st, &p);
    mysql_stmt_bind_result(s.st, &o);
    long bad = demo_time_loop(r, sync_one, &s);
    mysql_stmt_close(s.st);
    mysql_close(m);
    r->cpu = cpu_s() - c0;
    r->ok = bad == 0;
}

/* strategy: "pool", "owner" (async, io=owner) or "thread" (async, io=thread). */
static void run_op(demo_run *r, int port, const char *strategy, bool ordered)
{
    char uri[512];
    bool pool = !strcmp(strategy, "pool");
    snprintf(uri, sizeof uri, "mysql://%s@%s:%d/%s?strategy=%s&%s=%zu%s", srv.user, srv.host, port, srv.db,
             pool ? "pool" : "async", pool ? "threads" : "connections", r->t,
             pool ? "" : !strcmp(strategy, "owner") ? "&io=owner" : "&io=thread");
    aw_lookup l = { .sql = "SELECT c FROM sbtest1 WHERE id = ?", .bind = demo_bind_key, .row = demo_row_check };
    /* Enough in flight to keep every connection busy while the ones that
     * just finished wait to be emitted; more would only queue (and show
     * as latency) in front of the connections. */
    demo_run_op(r, uri, &l, ordered ? AW_ORDERED : AW_UNORDERED, 2 * r->t + 2);
}

/* sysbench oltp_point_select with t threads for about opt.seconds * 2. */
static void run_sysbench(demo_run *r, int port)
{
    char a[8][160];
    snprintf(a[0], 160, "--mysql-host=%s", srv.host);
    snprintf(a[1], 160, "--mysql-port=%d", port);
    snprintf(a[2], 160, "--mysql-user=%s", srv.user);
    snprintf(a[3], 160, "--mysql-password=%s", pass);
    snprintf(a[4], 160, "--mysql-db=%s", srv.db);
    snprintf(a[5], 160, "--table-size=%ld", srv.rows);
    snprintf(a[6], 160, "--threads=%zu", r->t);
    snprintf(a[7], 160, "--time=%d", (int)(opt.seconds * 2 + 0.999));
    char *argv[] = { "sysbench", "oltp_point_select", "--db-driver=mysql", a[0], a[1], a[2], a[3], a[4],
                     "--tables=1", a[5], a[6], a[7], "--db-ps-mode=auto", "--skip-trx=on",
                     "--percentile=99", "run", NULL };
    FILE *out = NULL;
    double c0 = cpu_s();
    pid_t pid = demo_spawn(argv, &out, false);
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

static bool have_sysbench;

/* Every strategy at one RTT (port: the server's, or its proxy's). */
static void runs_at(long rtt, int port)
{
    demo_run *r = wanted("sync") ? demo_add(rtt, "sync", "-", 1, 0) : NULL;
    if (r) { r->records = records_for(rtt, 1); run_sync(r, port); demo_print(r); }
    for (int j = 0; j < tset.nthreads; j++) {
        size_t t = tset.threads[j];
        if (have_sysbench && wanted("sysbench") && (r = demo_add(rtt, "sysbench", "-", t, 0))) {
            run_sysbench(r, port);
            demo_print(r);
        }
        static const char *const ops[] = { "owner", "thread", "pool" };
        for (int s = 0; s < 3; s++)
            for (int o = 0; o < 2; o++)
                if (wanted(ops[s]) && (r = demo_add(rtt, ops[s], o ? "ordered" : "unordered", t, 0))) {
                    r->records = records_for(rtt, t);
                    run_op(r, port, ops[s], o == 1);
                    demo_print(r);
                }
    }
}

/* ------------------------------------------------------------ report */

static const demo_table table = {
    { { DEMO_STRATEGY, "strategy", "strategy", -8 }, { DEMO_MODE, "mode", "mode", -9 },
      { DEMO_T, "T", "t", 4 } }, 3, 8, 10, 2, true };

static void summary(void)
{
    printf("\nnative io=owner against the others, unordered (thread = native io=thread):\n"
           "%6s %4s %12s %12s %12s %14s %14s %12s %12s\n", "rtt_ms", "T", "owner/sysb", "owner/pool",
           "thread/sysb", "cpu owner/pool", "cpu thr/pool", "owner/bound", "pool/bound");
    for (int k = 0; k < opt.nrtt; k++)
        for (int j = 0; j < tset.nthreads; j++) {
            long rtt = opt.rtt_us[k];
            size_t t = tset.threads[j];
            const demo_run *own = demo_find(rtt, "owner", "unordered", t, 0),
                           *thr = demo_find(rtt, "thread", "unordered", t, 0),
                           *pool = demo_find(rtt, "pool", "unordered", t, 0),
                           *sb = demo_find(rtt, "sysbench", "-", t, 0);
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

/* One panel per RTT: records/s against T for each strategy (unordered),
 * each series an inline data block so gnuplot joins its points. */
static void plot(void)
{
    char png[512];
    FILE *f = demo_plot_begin("throughput_mysql", png, sizeof png);
    if (!f) return;
    static const char *const strat[] = { "sysbench", "owner", "thread", "pool", "sync" };
    static const char *const mode[] = { "-", "unordered", "unordered", "unordered", "-" };
    for (int k = 0; k < opt.nrtt; k++)
        for (int s = 0; s < 5; s++) {
            fprintf(f, "$D%d_%d << EOD\n", k, s);
            for (int j = 0; j < tset.nthreads; j++) {
                const demo_run *r = demo_find(opt.rtt_us[k], strat[s], mode[s], tset.threads[j], 0);
                if (r) fprintf(f, "%zu %.0f\n", r->t, r->rps);
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
    demo_plot_end(f, "throughput_mysql");
}

/* ------------------------------------------------------------- main */

static int usage(void)
{
    fprintf(stderr, "usage: throughput_mysql [--proxy PATH (default: beside this program)] [--dir DIR] [--threads 1,4,16,64] "
                    "[--rtt-us 0,500,2000] [--seconds S] [--quick] [--only sync,sysbench,owner,thread,pool]\n"
                    "                        [--dsn mysql://user[:pass]@host[:port]/db] [--spin-us N]\n"
                    "  (run it through tests/mariadb.sh run, which sets AW_MYSQL_*)\n");
    return 2;
}

/* This demo's options (demo_args). */
static int option(const char *a, const char *v)
{
    long tmp[DEMO_MAXV];
    if (!strcmp(a, "--quick")) {
        opt.seconds = 0.6;
        tset.nthreads = 3;
        tset.threads[0] = 1; tset.threads[1] = 16; tset.threads[2] = 64;
        opt.nrtt = 2;
        opt.rtt_us[1] = 2000;
        return 1;
    }
    if (!v) return 0;
    if (!strcmp(a, "--dsn")) {
        if (!parse_dsn(v)) return 2;
        fprintf(stderr, "--dsn '%s': expected mysql://user[:pass]@host[:port]/db\n", v);
        return -1;
    }
    if (strcmp(a, "--threads")) return 0;
    if ((tset.nthreads = demo_parse_list(v, tmp, DEMO_MAXV)) <= 0) return -1;
    for (int k = 0; k < tset.nthreads; k++) tset.threads[k] = tmp[k] > 0 && tmp[k] <= 1024 ? (size_t)tmp[k] : 1;
    return 2;
}

int main(int argc, char **argv)
{
    if (demo_args(argc, argv, option)) return usage();
    const char *rows = getenv("AW_MYSQL_ROWS");
    if (!srv.host) {                     /* no --dsn: tests/mariadb.sh's server */
        const char *port = getenv("AW_MYSQL_PORT");
        srv.host = getenv("AW_MYSQL_HOST");
        srv.user = getenv("AW_MYSQL_USER");
        pass = getenv("AW_MYSQL_PASSWORD");
        srv.db = getenv("AW_MYSQL_DB");
        srv.port = port ? atoi(port) : 0;
        if (!srv.host || !srv.user || !pass || !srv.db || srv.port <= 0) {
            fprintf(stderr, "throughput_mysql: no server: give --dsn, or run it through "
                            "tests/mariadb.sh run (make demo-mysql)\n");
            return usage();
        }
    } else {
        rows = NULL;
    }
    srv.rows = rows ? atol(rows) : count_rows();
    if (srv.rows < 1) return 1;
    if (demo_setup("throughput_mysql")) return usage();
    have_sysbench = system("command -v sysbench >/dev/null 2>&1") == 0;
    printf("MariaDB at %s:%d, sbtest1 with %ld rows; %.1f s per run; CPU is this process's "
           "(all threads), per record; operator spin_us %d\n\n", srv.host, srv.port, srv.rows,
           opt.seconds, opt.spin_us);
    demo_table_head(&table);
    demo_each_rtt(runs_at);
    if (!have_sysbench) printf("(sysbench is not installed: no ceiling; apt-get install sysbench)\n");
    summary();
    return demo_finish("results_mysql.csv", plot);
}
