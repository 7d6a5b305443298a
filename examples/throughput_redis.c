/* throughput_redis: the comparison `make demo-redis` runs. The same GETs
 * (GET k:<12 digits>, the keys redis-benchmark's __rand_int__ names)
 * against a real Redis, these ways:
 *   sync       one blocking GET per record, inline, no operator;
 *   pool       the Redis adapter, strategy=pool: T workers, T contexts;
 *   native     strategy=async, 1 connection, pipeline P (1, 16, 256),
 *              io=owner (the operator's thread runs the connection: "native")
 *              and io=thread (an I/O thread: "native/thr");
 *   benchmark  redis-benchmark with the same client count (1 and T), and
 *              pipelined (-P 256 on 1 client, -P 16 on 16): the ceilings;
 * all unordered, at each simulated network round trip (examples/delay_proxy
 * delays each direction RTT/2; RTT 0 = straight to the server). Reports
 * records/s, p50/p99 latency and the CPU time of the client process (ours:
 * all its threads; redis-benchmark's own, from wait4) per record; checks
 * every result (its own value, each record once); any mismatch prints FAIL
 * and exits 1. Writes DIR/results_redis.csv and, with gnuplot,
 * DIR/throughput_redis.png. Ends with the targets, met or missed.
 *
 * The server: tests/redis.sh run exports AW_REDIS_HOST, _PORT, _USER,
 * _PASSWORD, _ROWS (k:<j> holds customer-<j>-<j*7919 % 100003>, j <
 * ROWS). The adapter reads the password from AW_REDIS_PASSWORD; sync and
 * redis-benchmark run as the default user, which that server opens without
 * a password (redis-benchmark takes one only on its command line).
 *
 * Usage: throughput_redis [--proxy PATH] [--dir DIR] [--threads 1,16]
 *                         [--pipeline 1,16,256] [--rtt-us 0,500,2000]
 *                         [--seconds S] [--quick] [--only sync,pool,native,benchmark]
 *                         [--spin-us N]
 * --spin-us is the operator's aw_config.spin_us (default here -1: never spin). */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "asyncwait.h"
#include "lookup.h"
#include "redis/redis.h"
#include "common.h"
#include "demo_common.h"

/* Besides demo_common.h's opt: the pool's thread counts, the pipelines. */
static struct {
    long threads[DEMO_MAXV]; int nthreads;
    long pipes[DEMO_MAXV]; int npipes;
} redis_opt = { { 1, 16 }, 2, { 1, 16, 256 }, 3 };

/* A run of kind (sync pool native native-thr bench), c clients / threads /
 * connections, pipeline p; labelled "native P=16", "pool", "bench -P 16". */
static demo_run *add_run(long rtt, const char *kind, long c, long p)
{
    demo_run *r = demo_add(rtt, kind, NULL, (size_t)c, (size_t)p);
    if (!r) return NULL;
    if (!strcmp(kind, "native")) snprintf(r->label, sizeof r->label, "native P=%ld", p);
    else if (!strcmp(kind, "native-thr")) snprintf(r->label, sizeof r->label, "native/thr P=%ld", p);
    else if (!strcmp(kind, "bench")) snprintf(r->label, sizeof r->label, p > 1 ? "bench -P %ld" : "bench", p);
    else snprintf(r->label, sizeof r->label, "%s", kind);
    return r;
}

/* Records for a run of about opt.seconds: in flight / RTT, capped by what
 * the machine does (pipelined or not). */
static long records_for(long rtt_us, long inflight, bool pipelined)
{
    double rate = pipelined ? 600000 : 40000;
    if (rtt_us > 0 && (double)inflight * 1e6 / (double)rtt_us < rate) rate = (double)inflight * 1e6 / (double)rtt_us;
    long n = (long)(rate * opt.seconds);
    return n < 200 ? 200 : n;
}

/* sync: one blocking GET per record. */
static bool sync_one(void *ctx, long i)
{
    int64_t j = demo_key(i);
    char key[32];
    int n = snprintf(key, sizeof key, "k:%012" PRId64, j);
    const char *argv[2] = { "GET", key };
    size_t lens[2] = { 3, (size_t)n };
    redisReply *rep = redisCommandArgv(ctx, 2, argv, lens);
    bool ok = rep && rep->type == REDIS_REPLY_STRING && demo_value_ok(j, rep->str, rep->len);
    freeReplyObject(rep);
    return ok;
}

static void run_sync(demo_run *r, int port)
{
    double c0 = cpu_s();
    r->ok = false;
    redisContext *k = redisConnect(srv.host, port);
    if (!k || k->err) {
        fprintf(stderr, "sync: %s\n", k ? k->errstr : "out of memory");
        redisFree(k);
        return;
    }
    long bad = demo_time_loop(r, sync_one, k);
    redisFree(k);
    r->cpu = cpu_s() - c0;
    r->ok = bad == 0;
}

/* The key's digits: the template is "GET k:?". */
static int bind_key(void *ctx, void *input, aw_params *p)
{
    char k[24];
    int n = snprintf(k, sizeof k, "%012" PRId64, demo_key((long)(intptr_t)input));
    return aw_params_text(p, 0, k, (size_t)n);
}

static void run_op(demo_run *r, int port)
{
    bool pool = !strcmp(r->strategy, "pool");
    char uri[512];
    if (pool) snprintf(uri, sizeof uri, "redis://%s@%s:%d/0?strategy=pool&threads=%zu", srv.user, srv.host, port, r->t);
    else snprintf(uri, sizeof uri, "redis://%s@%s:%d/0?strategy=async&connections=%zu&pipeline=%zu&io=%s",
                  srv.user, srv.host, port, r->t, r->depth, strcmp(r->strategy, "native") ? "thread" : "owner");
    aw_lookup l = { .sql = "GET k:?", .bind = bind_key, .row = demo_row_check };
    demo_run_op(r, uri, &l, AW_UNORDERED, 2 * r->t * r->depth + 2);
}

/* redis-benchmark: r->records GETs of the same keys, c clients, -P p. */
static void run_bench(demo_run *r, int port)
{
    char a[6][32];
    snprintf(a[0], 32, "%d", port);
    snprintf(a[1], 32, "%zu", r->t);
    snprintf(a[2], 32, "%zu", r->depth);
    snprintf(a[3], 32, "%ld", r->records);
    snprintf(a[4], 32, "%ld", srv.rows);
    char *argv[] = { "redis-benchmark", "-h", (char *)srv.host, "-p", a[0], "-c", a[1], "-P", a[2], "-n", a[3],
                     "-r", a[4], "--csv", "GET", "k:__rand_int__", NULL };
    FILE *out = NULL;
    pid_t pid = demo_spawn(argv, &out, false);
    char line[512];
    double rps = 0, p50 = 0, p99 = 0, avg, mn, p95;
    while (out && fgets(line, sizeof line, out))
        if (!strncmp(line, "\"GET", 4)) {
            char *s = strchr(line + 1, '"');
            if (s) sscanf(s, "\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"", &rps, &avg, &mn, &p50, &p95, &p99);
        }
    int status = 0;
    struct rusage u = { 0 };
    if (pid > 0) wait4(pid, &status, 0, &u);
    if (out) fclose(out);
    r->rps = rps;
    r->secs = rps > 0 ? (double)r->records / rps : 0;
    r->p50_us = p50 * 1000;
    r->p99_us = p99 * 1000;
    r->cpu = rusage_s(&u);                 /* redis-benchmark's own process */
    r->ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && rps > 0;
}

static bool have_bench;

/* Every configuration at one RTT (port: the server's, or its proxy's). */
static void runs_at(long rtt, int port)
{
    demo_run *r;
    if (demo_wanted("sync") && (r = add_run(rtt, "sync", 1, 1))) {
        r->records = records_for(rtt, 1, false);
        run_sync(r, port);
        demo_print(r);
    }
    for (int j = 0; j < redis_opt.nthreads; j++)
        if (demo_wanted("pool") && (r = add_run(rtt, "pool", redis_opt.threads[j], 1))) {
            r->records = records_for(rtt, redis_opt.threads[j], false);
            run_op(r, port);
            demo_print(r);
        }
    for (int j = 0; j < redis_opt.npipes; j++)
        for (int io = 0; io < 2; io++)
            if (demo_wanted("native") && (r = add_run(rtt, io ? "native-thr" : "native", 1, redis_opt.pipes[j]))) {
                r->records = records_for(rtt, redis_opt.pipes[j], redis_opt.pipes[j] > 1);
                run_op(r, port);
                demo_print(r);
            }
    /* The ceilings: the same client counts, unpipelined and pipelined. */
    long bc[4][2] = { { 1, 1 }, { 16, 1 }, { 1, 256 }, { 16, 16 } };
    for (int j = 0; have_bench && demo_wanted("benchmark") && j < 4; j++)
        if ((r = add_run(rtt, "bench", bc[j][0], bc[j][1]))) {
            r->records = records_for(rtt, bc[j][0] * bc[j][1], bc[j][1] > 1);
            run_bench(r, port);
            demo_print(r);
        }
}

/* ------------------------------------------------------------ report */

/* kind and pipeline are in the CSV only. */
static const demo_table table = {
    { { DEMO_LABEL, "what", "what", -16 }, { DEMO_STRATEGY, NULL, "kind", 0 },
      { DEMO_T, "c", "clients", 4 }, { DEMO_DEPTH, NULL, "pipeline", 0 } }, 4, 9, 11, 3, false };

static const demo_run *find(long rtt, const char *kind, size_t c, size_t p)
{
    return demo_find(rtt, kind, NULL, c, p);
}

static void summary(void)
{
    printf("\nthe issue's targets (ratios of records/s within this run; native = io=owner):\n");
    long last = opt.rtt_us[opt.nrtt - 1];
    demo_target("RTT 0: native 1 conn P=256 / redis-benchmark -c 1 -P 256", find(0, "native", 1, 256),
                find(0, "bench", 1, 256), 0.7);
    demo_target("RTT 0: native 1 conn P=256 / pool 16 threads", find(0, "native", 1, 256), find(0, "pool", 16, 1), 5);
    char w[96];
    snprintf(w, sizeof w, "RTT %.1f ms: native 1 conn P=256 / pool 1 thread", last / 1000.0);
    demo_target(w, find(last, "native", 1, 256), find(last, "pool", 1, 1), 50);
}

/* Records/s per configuration (log scale: they span 1000x), one cluster
 * of bars per RTT. */
static void plot(void)
{
    char png[512], dat[512];
    FILE *f = demo_plot_begin("throughput_redis", png, sizeof png);
    if (!f) return;
    demo_path(dat, sizeof dat, "throughput_redis.dat");
    FILE *d = fopen(dat, "w");
    if (!d) { perror(dat); fclose(f); return; }
    /* Rows: configurations (as run at the first RTT); columns: RTTs. */
    int nconf = 0;
    fprintf(d, "config");
    for (int k = 0; k < opt.nrtt; k++) fprintf(d, " \"RTT %.1f ms\"", opt.rtt_us[k] / 1000.0);
    fprintf(d, "\n");
    for (int i = 0; i < demo_nruns() && demo_run_at(i)->rtt_us == opt.rtt_us[0]; i++, nconf++) {
        const demo_run *c = demo_run_at(i);
        fprintf(d, "\"%s c=%zu\"", c->label, c->t);
        for (int k = 0; k < opt.nrtt; k++) {
            const demo_run *r = find(opt.rtt_us[k], c->strategy, c->t, c->depth);
            fprintf(d, " %.0f", r ? r->rps : 0);
        }
        fprintf(d, "\n");
    }
    fclose(d);
    fprintf(f, "set terminal pngcairo size %d,520\nset output '%s'\nset style data histogram\n"
               "set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
               "set logscale y\nset format y '%%.0s%%c'\nset yrange [100:*]\nset ylabel 'records/s'\n"
               "set xtics rotate by -30\nset key outside top center horizontal\nset grid ytics\n"
               "set title 'Redis GET: sync, pool, native (1 connection), redis-benchmark'\n"
               "plot ", 160 + 70 * nconf, png);
    for (int k = 0; k < opt.nrtt; k++)
        fprintf(f, "%s'%s' using %d:xtic(1) title columnheader", k ? ", " : "", dat, k + 2);
    fprintf(f, "\n");
    demo_plot_end(f, "throughput_redis");
}

static int usage(void)
{
    fprintf(stderr, "usage: throughput_redis [--proxy PATH] [--dir DIR] [--threads 1,16] [--pipeline 1,16,256]\n"
                    "                        [--rtt-us 0,500,2000] [--seconds S] [--quick] "
                    "[--only sync,pool,native,benchmark] [--spin-us N]\n"
                    "  (run it through tests/redis.sh run, which sets AW_REDIS_*)\n");
    return 2;
}

/* This demo's options (demo_args). */
static int option(const char *a, const char *v)
{
    if (!strcmp(a, "--quick")) {
        opt.seconds = 0.4;
        opt.nrtt = 2;
        opt.rtt_us[1] = 2000;
        return 1;
    }
    if (!v) return 0;
    if (!strcmp(a, "--threads"))
        return (redis_opt.nthreads = demo_parse_list(v, redis_opt.threads, DEMO_MAXV)) > 0 ? 2 : -1;
    if (!strcmp(a, "--pipeline"))
        return (redis_opt.npipes = demo_parse_list(v, redis_opt.pipes, DEMO_MAXV)) > 0 ? 2 : -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (demo_args(argc, argv, option)) return usage();
    const char *port = getenv("AW_REDIS_PORT"), *rows = getenv("AW_REDIS_ROWS");
    srv.host = getenv("AW_REDIS_HOST");
    srv.user = getenv("AW_REDIS_USER");
    srv.port = port ? atoi(port) : 0;
    srv.rows = rows ? atol(rows) : 0;
    srv.key0 = 0;                        /* k:0 .. k:ROWS-1 */
    if (!srv.host || !srv.user || !getenv("AW_REDIS_PASSWORD") || srv.port <= 0 || srv.rows < 1) {
        fprintf(stderr, "throughput_redis: no server: run it through tests/redis.sh run (make demo-redis)\n");
        return usage();
    }
    if (demo_setup("throughput_redis")) return usage();
    have_bench = system("command -v redis-benchmark >/dev/null 2>&1") == 0;
    printf("Redis at %s:%d, %ld keys k:<12 digits>; about %.1f s per run; unordered; CPU per record is the "
           "client process's (ours: all threads)\n\n", srv.host, srv.port, srv.rows, opt.seconds);
    demo_table_head(&table);
    demo_each_rtt(runs_at);
    if (!have_bench) printf("(redis-benchmark is not installed: no ceiling; apt-get install redis-tools)\n");
    summary();
    return demo_finish("results_redis.csv", plot);
}
