/* demo_common.c: the store demos' shared harness -- options, the data's
 * check, the delay proxy, sync-loop timing, a run through the operator,
 * the run table, its printing, CSV and plot frame. The contract is in
 * demo_common.h. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "adapter.h"
#include "common.h"
#include "demo_common.h"

demo_opt opt = { .dir = "build/demo", .seconds = 1.5, .rtt_us = { 0, 500, 2000 }, .nrtt = 3, .spin_us = -1 };
demo_server srv = { .key0 = 1 };

static demo_run runs[DEMO_MAX_RUNS];
static int nruns;
static bool any_fail;
static const demo_table *table;

/* ---------------------------------------------------------- options */

int demo_parse_list(const char *s, long *out, int max)
{
    int n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || (*end && *end != ',')) return -1;
        out[n++] = v;
    }
    return n;
}

/* An option of demo_opt with its value v: 2 (taken), 0 (not one) or -1. */
static int option(const char *a, const char *v)
{
    if (!v) return 0;
    if (!strcmp(a, "--dir")) opt.dir = v;
    else if (!strcmp(a, "--proxy")) opt.proxy = v;
    else if (!strcmp(a, "--only")) opt.only = v;
    else if (!strcmp(a, "--spin-us")) opt.spin_us = atoi(v);
    else if (!strcmp(a, "--seconds")) return (opt.seconds = atof(v)) > 0 ? 2 : -1;
    else if (!strcmp(a, "--rtt-us")) return (opt.nrtt = demo_parse_list(v, opt.rtt_us, DEMO_MAXV)) > 0 ? 2 : -1;
    else return 0;
    return 2;
}

int demo_args(int argc, char **argv, int (*own)(const char *a, const char *v))
{
    for (int i = 1, took; i < argc; i += took) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if ((took = own(argv[i], v)) == 0) took = option(argv[i], v);
        if (took <= 0) return -1;
    }
    return 0;
}

bool demo_wanted(const char *what) { return !opt.only || strstr(opt.only, what); }

int demo_setup(const char *prog)
{
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
        fprintf(stderr, "%s: RTT > 0 needs --proxy path/to/delay_proxy\n", prog);
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    mkdir(opt.dir, 0755);
    return 0;
}

/* ---------------------------------------------------------- the data */

int64_t demo_key(long i) { return (int64_t)(((uint64_t)i * 2654435761u) % (uint64_t)srv.rows) + srv.key0; }

bool demo_value_ok(int64_t key, const char *v, size_t len)
{
    char want[64];
    int n = snprintf(want, sizeof want, "customer-%" PRId64 "-%" PRId64, key, key * 7919 % 100003);
    return (size_t)n == len && memcmp(want, v, len) == 0;
}

/* The row callback's verdicts: pointers compared, never followed. */
static char RES_GOOD, RES_BAD;

int demo_bind_key(void *ctx, void *input, aw_params *p)
{
    return aw_params_int64(p, 0, demo_key((long)(intptr_t)input));
}

int demo_row_check(void *ctx, void *input, const aw_row *row, void **out)
{
    size_t len = 0;
    const char *v = aw_row_text(row, 0, &len);
    *out = v && demo_value_ok(demo_key((long)(intptr_t)input), v, len) ? &RES_GOOD : &RES_BAD;
    return 0;
}

/* ---------------------------------------------------------- the runs */

demo_run *demo_add(long rtt_us, const char *strategy, const char *mode, size_t t, size_t depth)
{
    if (nruns == DEMO_MAX_RUNS) return NULL;
    demo_run *r = &runs[nruns++];
    *r = (demo_run){ .rtt_us = rtt_us, .strategy = strategy, .mode = mode, .t = t, .depth = depth };
    return r;
}

static bool same(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

const demo_run *demo_find(long rtt_us, const char *strategy, const char *mode, size_t t, size_t depth)
{
    for (int i = 0; i < nruns; i++) {
        const demo_run *r = &runs[i];
        if (r->ok && r->rtt_us == rtt_us && r->t == t && r->depth == depth && same(r->strategy, strategy) &&
            same(r->mode, mode))
            return r;
    }
    return NULL;
}

int demo_nruns(void) { return nruns; }
const demo_run *demo_run_at(int i) { return &runs[i]; }

static double rss_mb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) { if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0; fclose(f); }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

long demo_time_loop(demo_run *r, bool (*one)(void *ctx, long i), void *ctx)
{
    double *lat = malloc(sizeof *lat * (size_t)r->records);
    if (!lat) return -1;
    long bad = 0;
    double t0 = now_s();
    for (long i = 1; i <= r->records; i++) {
        double s = now_s();
        bad += !one(ctx, i);
        lat[i - 1] = now_s() - s;
    }
    r->secs = now_s() - t0;
    r->rps = (double)r->records / r->secs;
    qsort(lat, (size_t)r->records, sizeof *lat, cmp_double);
    r->p50_us = lat[r->records / 2] * 1e6;
    r->p99_us = lat[r->records * 99 / 100] * 1e6;
    free(lat);
    r->rss = rss_mb();
    return bad;
}

/* What the sink saw of one run through the operator. */
typedef struct tally {
    long emitted, bad, failed, dup, out_of_order, next;
    bool ordered;
    unsigned char *seen;                 /* [records + 1]: emits of record i */
    char first[200];                     /* the first failure's message */
} tally;

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    tally *t = ctx;
    long i = (long)(intptr_t)input;
    if (n != 1 || res[0] != &RES_GOOD) t->bad++;
    if (t->seen[i]++) t->dup++;
    if (t->ordered && i != t->next) t->out_of_order++;
    t->next = i + 1;
    t->emitted++;
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    tally *t = ctx;
    if (!t->failed++) snprintf(t->first, sizeof t->first, "%s: %s", aw_err_name(err), msg);
}

void demo_run_op(demo_run *r, const char *uri, const aw_lookup *l, aw_mode mode, size_t capacity)
{
    char err[1024];
    aw_adapter *a = NULL;
    r->ok = false;
    if (aw_adapter_open(&a, uri, l, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", uri, err);
        return;
    }
    tally t = { .next = 1, .ordered = mode == AW_ORDERED, .seen = calloc((size_t)r->records + 1, 1) };
    aw_config cfg = { .mode = mode, .capacity = capacity, .spin_us = opt.spin_us };
    aw_sink sink = { .ctx = &t, .emit = t_emit, .error = t_error };
    aw_op *op = NULL;
    if (!t.seen || aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err)) {
        fprintf(stderr, "aw_op_create: %s\n", t.seen ? err : "out of memory");
        free(t.seen);
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
    long missing = 0;
    for (long i = 1; i <= r->records; i++) missing += !t.seen[i];
    free(t.seen);
    r->ok = rc == 0 && t.emitted == r->records && t.bad == 0 && t.failed == 0 && t.dup == 0 &&
            t.out_of_order == 0 && missing == 0;
}

/* ---------------------------------------------------- child processes */

pid_t demo_spawn(char *const argv[], FILE **out, bool with_stderr)
{
    int fd[2];
    if (pipe(fd)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        if (with_stderr) dup2(fd[1], 2);
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

/* The delay proxy for rtt_us in front of srv; its port in *port. */
static pid_t proxy_start(long rtt_us, int *port, FILE **out)
{
    char target[64], delay[32];
    snprintf(target, sizeof target, "%s:%d", srv.host, srv.port);
    snprintf(delay, sizeof delay, "%ld", rtt_us / 2);
    char *argv[] = { (char *)opt.proxy, "--target", target, "--delay-us", delay,
                     "--listen", "127.0.0.1:0", NULL };
    pid_t pid = demo_spawn(argv, out, false);
    char line[128];
    if (pid > 0 && *out && fgets(line, sizeof line, *out) && sscanf(line, "listening 127.0.0.1:%d", port) == 1)
        return pid;
    fprintf(stderr, "delay_proxy did not start (%s)\n", opt.proxy);
    stop_child(pid, *out);
    *out = NULL;
    return -1;
}

void demo_each_rtt(void (*body)(long rtt_us, int port))
{
    for (int k = 0; k < opt.nrtt; k++) {
        long rtt = opt.rtt_us[k];
        int port = srv.port;
        FILE *pout = NULL;
        pid_t ppid = 0;
        if (rtt > 0 && (ppid = proxy_start(rtt, &port, &pout)) < 0) { any_fail = true; break; }
        body(rtt, port);
        stop_child(ppid, pout);
    }
}

/* --------------------------------------------------------- the report */

/* r's naming columns into f: as the table prints them (csv false; r NULL:
 * their heads, at the same widths), or as CSV fields each ending in ','. */
static void print_cols(FILE *f, const demo_run *r, bool csv)
{
    bool first = true;
    for (int c = 0; c < table->ncols; c++) {
        const demo_col *col = &table->cols[c];
        if (!csv && !col->width) continue;
        int w = csv ? 0 : col->width;
        const char *s = !r ? (csv ? col->csv_head : col->head) : col->field == DEMO_STRATEGY ? r->strategy :
                        col->field == DEMO_MODE ? r->mode : r->label;
        if (!csv && !first) fputc(' ', f);
        if (r && (col->field == DEMO_T || col->field == DEMO_DEPTH))
            fprintf(f, "%*zu", w, col->field == DEMO_T ? r->t : r->depth);
        else
            fprintf(f, "%*s", w, s ? s : "-");
        if (csv) fputc(',', f);
        first = false;
    }
}

void demo_table_head(const demo_table *tab)
{
    table = tab;
    printf("%6s  ", "rtt_ms");
    print_cols(stdout, NULL, false);
    printf(" %*s %*s %9s %9s %8s", tab->records_w, "records", tab->rps_w, "records/s", "p50_ms", "p99_ms",
           "cpu_us");
    if (tab->rss) printf(" %7s", "rss_mb");
    printf("  %s\n", "check");
}

static double cpu_us_per_record(const demo_run *r) { return r->records ? r->cpu * 1e6 / (double)r->records : 0; }

void demo_print(const demo_run *r)
{
    printf("%6.1f  ", r->rtt_us / 1000.0);
    print_cols(stdout, r, false);
    printf(" %*ld %*.0f %9.*f %9.*f %8.2f", table->records_w, r->records, table->rps_w, r->rps,
           table->lat_digits, r->p50_us / 1000, table->lat_digits, r->p99_us / 1000, cpu_us_per_record(r));
    if (table->rss) printf(" %7.1f", r->rss);
    printf("  %s\n", r->ok ? "OK" : "FAIL");
    fflush(stdout);
    if (!r->ok) any_fail = true;
}

void demo_target(const char *what, const demo_run *a, const demo_run *b, double want)
{
    if (!a || !b) { printf("  %-62s   not measured\n", what); return; }
    double x = a->rps / b->rps;
    printf("  %-62s %7.2f x  (target >= %g) %s\n", what, x, want, x >= want ? "met" : "MISSED");
}

void demo_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", opt.dir, name); }

static void write_csv(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) { perror(path); return; }
    fprintf(f, "rtt_us,");
    print_cols(f, NULL, true);
    fprintf(f, "records,seconds,records_per_s,p50_us,p99_us,cpu_s,cpu_us_per_record,%scheck\n",
            table->rss ? "rss_mb," : "");
    for (int i = 0; i < nruns; i++) {
        const demo_run *r = &runs[i];
        fprintf(f, "%ld,", r->rtt_us);
        print_cols(f, r, true);
        fprintf(f, "%ld,%.3f,%.0f,%.1f,%.1f,%.3f,%.2f,", r->records, r->secs, r->rps, r->p50_us, r->p99_us,
                r->cpu, cpu_us_per_record(r));
        if (table->rss) fprintf(f, "%.1f,", r->rss);
        fprintf(f, "%s\n", r->ok ? "OK" : "FAIL");
    }
    fclose(f);
    printf("\nresults: %s\n", path);
}

FILE *demo_plot_begin(const char *name, char *png, size_t len)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        printf("gnuplot is not installed: no plot (apt-get install gnuplot-nox)\n");
        return NULL;
    }
    char gp[512];
    snprintf(gp, sizeof gp, "%s/%s.gp", opt.dir, name);
    snprintf(png, len, "%s/%s.png", opt.dir, name);
    FILE *f = fopen(gp, "w");
    if (!f) perror(gp);
    return f;
}

void demo_plot_end(FILE *f, const char *name)
{
    char cmd[600];
    fclose(f);
    snprintf(cmd, sizeof cmd, "gnuplot '%s/%s.gp'", opt.dir, name);
    if (system(cmd) == 0) printf("plot: %s/%s.png\n", opt.dir, name);
    else printf("gnuplot failed (script: %s/%s.gp)\n", opt.dir, name);
}

int demo_finish(const char *csv_name, void (*plot)(void))
{
    char csv[512];
    demo_path(csv, sizeof csv, csv_name);
    write_csv(csv);
    plot();
    if (any_fail) printf("\nFAIL: a run's results were wrong or incomplete (see above)\n");
    return any_fail ? 1 : 0;
}
