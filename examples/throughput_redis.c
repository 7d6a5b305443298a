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
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
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
#include "redis/redis.h"

#define MAXV 8
#define MAX_RUNS 256

static struct {
    const char *dir, *proxy, *only;
    double seconds;
    long threads[MAXV]; int nthreads;
    long pipes[MAXV]; int npipes;
    long rtt_us[MAXV]; int nrtt;
    int spin_us;                  /* aw_config.spin_us */
} opt = { "build/demo", NULL, NULL, 1.5, { 1, 16 }, 2, { 1, 16, 256 }, 3, { 0, 500, 2000 }, 3, -1 };

static bool wanted(const char *s) { return !opt.only || strstr(opt.only, s); }

static struct { const char *host, *user; int port; long rows; } env;

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

/* Record i looks up key j, spread over the keys. */
static long key_of(long i) { return (long)(((uint64_t)i * 2654435761u) % (uint64_t)env.rows); }

static bool val_ok(long j, const char *v, size_t len)
{
    char want[64];
    int n = snprintf(want, sizeof want, "customer-%ld-%ld", j, j * 7919 % 100003);
    return (size_t)n == len && memcmp(want, v, len) == 0;
}

typedef struct run {
    long rtt_us;
    char what[24];                /* "native P=16", "pool", "bench -P 16" */
    const char *kind;             /* sync pool native bench */
    long c, p;                    /* clients/threads/connections, pipeline */
    long records;
    double secs, rps, p50_us, p99_us, cpu;
    bool ok;
} run;
static run runs[MAX_RUNS];
static int nruns;
static bool any_fail;

static run *add_run(long rtt, const char *kind, long c, long p)
{
    if (nruns == MAX_RUNS) return NULL;
    run *r = &runs[nruns++];
    *r = (run){ .rtt_us = rtt, .kind = kind, .c = c, .p = p };
    if (!strcmp(kind, "native")) snprintf(r->what, sizeof r->what, "native P=%ld", p);
    else if (!strcmp(kind, "native-thr")) snprintf(r->what, sizeof r->what, "native/thr P=%ld", p);
    else if (!strcmp(kind, "bench")) snprintf(r->what, sizeof r->what, p > 1 ? "bench -P %ld" : "bench", p);
    else snprintf(r->what, sizeof r->what, "%s", kind);
    return r;
}

static void print_run(const run *r)
{
    printf("%6.1f  %-16s %4ld %9ld %11.0f %9.3f %9.3f %8.2f  %s\n", r->rtt_us / 1000.0, r->what, r->c,
           r->records, r->rps, r->p50_us / 1000, r->p99_us / 1000,
           r->records ? r->cpu * 1e6 / (double)r->records : 0, r->ok ? "OK" : "FAIL");
    fflush(stdout);
    if (!r->ok) any_fail = true;
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

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* sync: one blocking GET per record. */
static void run_sync(run *r, int port)
{
    double c0 = cpu_s();
    r->ok = false;
    redisContext *k = redisConnect(env.host, port);
    if (!k || k->err) {
        fprintf(stderr, "sync: %s\n", k ? k->errstr : "out of memory");
        redisFree(k);
        return;
    }
    long bad = 0;
    double *lat = malloc(sizeof *lat * (size_t)r->records);
    double t0 = now_s();
    for (long i = 1; i <= r->records; i++) {
        double s = now_s();
        long j = key_of(i);
        char key[32];
        int n = snprintf(key, sizeof key, "k:%012ld", j);
        const char *argv[2] = { "GET", key };
        size_t lens[2] = { 3, (size_t)n };
        redisReply *rep = redisCommandArgv(k, 2, argv, lens);
        if (!rep || rep->type != REDIS_REPLY_STRING || !val_ok(j, rep->str, rep->len)) bad++;
        freeReplyObject(rep);
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
    redisFree(k);
    r->cpu = cpu_s() - c0;
    r->ok = bad == 0 && lat;
}

static char RES_GOOD, RES_BAD;

static int bind_key(void *ctx, void *input, aw_params *p)
{
    char k[16];
    int n = snprintf(k, sizeof k, "%012ld", key_of((long)(intptr_t)input));
    return aw_params_text(p, 0, k, (size_t)n);
}

static int row_check(void *ctx, void *input, const aw_row *row, void **out)
{
    size_t len = 0;
    const char *v = aw_row_text(row, 0, &len);
    *out = v && val_ok(key_of((long)(intptr_t)input), v, len) ? &RES_GOOD : &RES_BAD;
    return 0;
}

typedef struct tally { long emitted, bad, failed; char first[200]; } tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    if (n != 1 || res[0] != &RES_GOOD) t->bad++;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    if (!t->failed++) snprintf(t->first, sizeof t->first, "%s: %s", aw_err_name(err), msg);
}

static void run_op(run *r, int port)
{
    bool pool = !strcmp(r->kind, "pool");
    char uri[512], err[1024];
    if (pool) snprintf(uri, sizeof uri, "redis://%s@%s:%d/0?strategy=pool&threads=%ld", env.user, env.host, port, r->c);
    else snprintf(uri, sizeof uri, "redis://%s@%s:%d/0?strategy=async&connections=%ld&pipeline=%ld&io=%s",
                  env.user, env.host, port, r->c, r->p, strcmp(r->kind, "native") ? "thread" : "owner");
    aw_lookup l = { .sql = "GET k:?", .bind = bind_key, .row = row_check };
    aw_adapter *a = NULL;
    r->ok = false;
    if (aw_adapter_open(&a, uri, &l, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", uri, err);
        return;
    }
    tally t = { 0 };
    long inflight = r->c * r->p;
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = (size_t)(2 * inflight + 2), .spin_us = opt.spin_us };
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
    aw_stats st;
    aw_op_stats(op, &st);
    r->rps = (double)r->records / r->secs;
    r->p50_us = st.p50_us;
    r->p99_us = st.p99_us;
    if (rc) fprintf(stderr, "%s: %s\n", aw_strerror(rc), aw_op_errmsg(op));
    aw_op_free(op);
    aw_adapter_close(a);
    if (t.failed) fprintf(stderr, "%ld records failed; first: %s\n", t.failed, t.first);
    r->ok = rc == 0 && t.emitted == r->records && t.bad == 0 && t.failed == 0;
}

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

/* redis-benchmark: r->records GETs of the same keys, c clients, -P p. */
static void run_bench(run *r, int port)
{
    char a[6][32];
    snprintf(a[0], 32, "%d", port);
    snprintf(a[1], 32, "%ld", r->c);
    snprintf(a[2], 32, "%ld", r->p);
    snprintf(a[3], 32, "%ld", r->records);
    snprintf(a[4], 32, "%ld", env.rows);
    char *argv[] = { "redis-benchmark", "-h", (char *)env.host, "-p", a[0], "-c", a[1], "-P", a[2], "-n", a[3],
                     "-r", a[4], "--csv", "GET", "k:__rand_int__", NULL };
    FILE *out = NULL;
    pid_t pid = spawn(argv, &out);
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
    r->cpu = (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
             (double)u.ru_stime.tv_usec / 1e6;
    r->ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && rps > 0;
}

static const run *find(long rtt, const char *kind, long c, long p)
{
    for (int i = 0; i < nruns; i++)
        if (runs[i].rtt_us == rtt && runs[i].c == c && runs[i].p == p && !strcmp(runs[i].kind, kind) && runs[i].ok)
            return &runs[i];
    return NULL;
}

static void target(const char *what, const run *x, const run *y, double want)
{
    if (!x || !y) { printf("  %-62s  not measured\n", what); return; }
    double q = x->rps / y->rps;
    printf("  %-62s %7.2f  (target >= %g: %s)\n", what, q, want, q >= want ? "met" : "MISSED");
}

static void summary(void)
{
    printf("\nthe issue's targets (ratios of records/s within this run; native = io=owner):\n");
    long last = opt.rtt_us[opt.nrtt - 1];
    target("RTT 0: native 1 conn P=256 / redis-benchmark -c 1 -P 256", find(0, "native", 1, 256),
           find(0, "bench", 1, 256), 0.7);
    target("RTT 0: native 1 conn P=256 / pool 16 threads", find(0, "native", 1, 256), find(0, "pool", 16, 1), 5);
    char w[96];
    snprintf(w, sizeof w, "RTT %.1f ms: native 1 conn P=256 / pool 1 thread", last / 1000.0);
    target(w, find(last, "native", 1, 256), find(last, "pool", 1, 1), 50);
}

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    fprintf(f, "rtt_us,what,kind,clients,pipeline,records,seconds,records_per_s,p50_us,p99_us,cpu_s,cpu_us_per_record,check\n");
    for (int i = 0; i < nruns; i++) {
        const run *r = &runs[i];
        fprintf(f, "%ld,%s,%s,%ld,%ld,%ld,%.3f,%.0f,%.1f,%.1f,%.3f,%.2f,%s\n", r->rtt_us, r->what, r->kind, r->c,
                r->p, r->records, r->secs, r->rps, r->p50_us, r->p99_us, r->cpu,
                r->records ? r->cpu * 1e6 / (double)r->records : 0, r->ok ? "OK" : "FAIL");
    }
    fclose(f);
    printf("\nresults: %s\n", path);
}

/* Records/s per configuration (log scale: they span 1000x), one cluster
 * of bars per RTT. */
static void plot(void)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot is not installed: no plot (apt-get install gnuplot-nox)\n");
        return;
    }
    char gp[512], png[512], dat[512], cmd[600];
    snprintf(gp, sizeof gp, "%s/throughput_redis.gp", opt.dir);
    snprintf(png, sizeof png, "%s/throughput_redis.png", opt.dir);
    snprintf(dat, sizeof dat, "%s/throughput_redis.dat", opt.dir);
    FILE *d = fopen(dat, "w");
    if (!d) { perror(dat); return; }
    /* Rows: configurations (as run at the first RTT); columns: RTTs. */
    int nconf = 0;
    fprintf(d, "config");
    for (int k = 0; k < opt.nrtt; k++) fprintf(d, " \"RTT %.1f ms\"", opt.rtt_us[k] / 1000.0);
    fprintf(d, "\n");
    for (int i = 0; i < nruns && runs[i].rtt_us == opt.rtt_us[0]; i++, nconf++) {
        fprintf(d, "\"%s c=%ld\"", runs[i].what, runs[i].c);
        for (int k = 0; k < opt.nrtt; k++) {
            const run *r = find(opt.rtt_us[k], runs[i].kind, runs[i].c, runs[i].p);
            fprintf(d, " %.0f", r ? r->rps : 0);
        }
        fprintf(d, "\n");
    }
    fclose(d);
    FILE *f = fopen(gp, "w");
    if (!f) { perror(gp); return; }
    fprintf(f, "set terminal pngcairo size %d,520\nset output '%s'\nset style data histogram\n"
               "set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
               "set logscale y\nset format y '%%.0s%%c'\nset yrange [100:*]\nset ylabel 'records/s'\n"
               "set xtics rotate by -30\nset key outside top center horizontal\nset grid ytics\n"
               "set title 'Redis GET: sync, pool, native (1 connection), redis-benchmark'\n"
               "plot ", 160 + 70 * nconf, png);
    for (int k = 0; k < opt.nrtt; k++)
        fprintf(f, "%s'%s' using %d:xtic(1) title columnheader", k ? ", " : "", dat, k + 2);
    fprintf(f, "\n");
    fclose(f);
    snprintf(cmd, sizeof cmd, "gnuplot '%s'", gp);
    if (system(cmd) == 0) printf("plot: %s\n", png);
    else printf("gnuplot failed (script: %s)\n", gp);
}

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
    fprintf(stderr, "usage: throughput_redis [--proxy PATH] [--dir DIR] [--threads 1,16] [--pipeline 1,16,256]\n"
                    "                        [--rtt-us 0,500,2000] [--seconds S] [--quick] "
                    "[--only sync,pool,native,benchmark] [--spin-us N]\n"
                    "  (run it through tests/redis.sh run, which sets AW_REDIS_*)\n");
    return 2;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) {
            opt.seconds = 0.4;
            opt.nrtt = 2;
            opt.rtt_us[1] = 2000;
        } else if (!v) {
            return usage();
        } else if (!strcmp(a, "--dir")) { opt.dir = v; i++;
        } else if (!strcmp(a, "--proxy")) { opt.proxy = v; i++;
        } else if (!strcmp(a, "--only")) { opt.only = v; i++;
        } else if (!strcmp(a, "--spin-us")) { opt.spin_us = atoi(v); i++;
        } else if (!strcmp(a, "--seconds")) { opt.seconds = atof(v); i++;
            if (opt.seconds <= 0) return usage();
        } else if (!strcmp(a, "--threads")) {
            if ((opt.nthreads = parse_list(v, opt.threads, MAXV)) <= 0) return usage();
            i++;
        } else if (!strcmp(a, "--pipeline")) {
            if ((opt.npipes = parse_list(v, opt.pipes, MAXV)) <= 0) return usage();
            i++;
        } else if (!strcmp(a, "--rtt-us")) {
            if ((opt.nrtt = parse_list(v, opt.rtt_us, MAXV)) <= 0) return usage();
            i++;
        } else {
            return usage();
        }
    }
    const char *port = getenv("AW_REDIS_PORT"), *rows = getenv("AW_REDIS_ROWS");
    env.host = getenv("AW_REDIS_HOST");
    env.user = getenv("AW_REDIS_USER");
    env.port = port ? atoi(port) : 0;
    env.rows = rows ? atol(rows) : 0;
    if (!env.host || !env.user || !getenv("AW_REDIS_PASSWORD") || env.port <= 0 || env.rows < 1) {
        fprintf(stderr, "throughput_redis: no server: run it through tests/redis.sh run (make demo-redis)\n");
        return usage();
    }
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
        fprintf(stderr, "throughput_redis: RTT > 0 needs --proxy path/to/delay_proxy\n");
        return usage();
    }
    bool have_bench = system("command -v redis-benchmark >/dev/null 2>&1") == 0;
    signal(SIGPIPE, SIG_IGN);
    mkdir(opt.dir, 0755);
    printf("Redis at %s:%d, %ld keys k:<12 digits>; about %.1f s per run; unordered; CPU per record is the "
           "client process's (ours: all threads)\n\n", env.host, env.port, env.rows, opt.seconds);
    printf("%6s  %-16s %4s %9s %11s %9s %9s %8s  %s\n", "rtt_ms", "what", "c", "records", "records/s",
           "p50_ms", "p99_ms", "cpu_us", "check");
    for (int k = 0; k < opt.nrtt; k++) {
        long rtt = opt.rtt_us[k];
        int p = env.port;
        FILE *pout = NULL;
        pid_t ppid = 0;
        if (rtt > 0 && (ppid = proxy_start(rtt, &p, &pout)) < 0) { any_fail = true; break; }
        run *r;
        if (wanted("sync") && (r = add_run(rtt, "sync", 1, 1))) {
            r->records = records_for(rtt, 1, false);
            run_sync(r, p);
            print_run(r);
        }
        for (int j = 0; j < opt.nthreads; j++)
            if (wanted("pool") && (r = add_run(rtt, "pool", opt.threads[j], 1))) {
                r->records = records_for(rtt, opt.threads[j], false);
                run_op(r, p);
                print_run(r);
            }
        for (int j = 0; j < opt.npipes; j++)
            for (int io = 0; io < 2; io++)
                if (wanted("native") && (r = add_run(rtt, io ? "native-thr" : "native", 1, opt.pipes[j]))) {
                    r->records = records_for(rtt, opt.pipes[j], opt.pipes[j] > 1);
                    run_op(r, p);
                    print_run(r);
                }
        /* The ceilings: the same client counts, unpipelined and pipelined. */
        long bc[4][2] = { { 1, 1 }, { 16, 1 }, { 1, 256 }, { 16, 16 } };
        for (int j = 0; have_bench && wanted("benchmark") && j < 4; j++)
            if ((r = add_run(rtt, "bench", bc[j][0], bc[j][1]))) {
                r->records = records_for(rtt, bc[j][0] * bc[j][1], bc[j][1] > 1);
                run_bench(r, p);
                print_run(r);
            }
        stop_child(ppid, pout);
    }
    if (!have_bench) printf("(redis-benchmark is not installed: no ceiling; apt-get install redis-tools)\n");
    summary();
    char csv[512];
    snprintf(csv, sizeof csv, "%s/results_redis.csv", opt.dir);
    write_csv(csv);
    plot();
    if (any_fail) printf("\nFAIL: a run's results were wrong or incomplete (see above)\n");
    return any_fail ? 1 : 0;
}
