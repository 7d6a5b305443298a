/* demo_common.h: the harness the store demos share (throughput_mysql,
 * throughput_pg, throughput_redis; examples/demo_common.c). They measure
 * the same point lookups the same way: the options they have in common,
 * the throwaway server's data and its check, the delay proxy per simulated
 * round trip, a sync loop's timing, a run through the operator and its
 * check, the table of runs (printed, CSV) and the plot file's frame. Each
 * demo keeps its store's parts: its blocking client, its URIs, its load
 * tool, its summary and its plot's shape.
 *
 * The demo's main thread calls all of it, but for demo_bind_key and
 * demo_row_check, which an adapter may call on any thread (they only read
 * srv, set before the first run). Its state lives in globals of the
 * program, as a demo's options do. Pointers handed in stay the caller's
 * and must outlive the run table (string literals, argv). */
#ifndef AW_EXAMPLES_DEMO_COMMON_H
#define AW_EXAMPLES_DEMO_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "asyncwait.h"
#include "lookup.h"

#define DEMO_MAXV 8              /* values in a list option (--rtt-us ...) */
#define DEMO_MAX_RUNS 256

/* The options every demo takes (demo_option); defaults: build/demo, 1.5 s
 * per run, RTT 0, 0.5 and 2 ms, spin_us -1 (never spin). */
typedef struct demo_opt {
    const char *dir, *proxy;     /* proxy: NULL = the delay_proxy beside us */
    const char *only;            /* --only: a comma list of what to run */
    double seconds;              /* aimed-at length of one run */
    long rtt_us[DEMO_MAXV];
    int nrtt;
    int spin_us;                 /* aw_config.spin_us */
} demo_opt;
extern demo_opt opt;

/* The server under test, as the demo's test script exported it. Row (key)
 * j, key0 <= j < key0 + rows, holds customer-<j>-<j*7919 % 100003>. */
typedef struct demo_server {
    const char *host, *user, *db;
    int port;
    long rows;
    long key0;                   /* 1: SQL ids 1..rows; 0: Redis k:0..rows-1 */
} demo_server;
extern demo_server srv;

/* Parses argv: each argument first by own(a, v) -- v is the next one or
 * NULL; own returns 1 (a alone taken), 2 (a and v taken), 0 (not its own)
 * or -1 (a bad value) -- then as an option of demo_opt. Returns 0, or -1
 * on an argument neither knows or a bad value (the caller prints usage). */
int demo_args(int argc, char **argv, int (*own)(const char *a, const char *v));

/* "1,16,64" into out (at most max values, none negative). Returns how
 * many, or -1. */
int demo_parse_list(const char *s, long *out, int max);

/* True unless --only names other things than what. */
bool demo_wanted(const char *what);

/* Before the first run: finds the delay proxy where opt.proxy is NULL,
 * checks it is there when an RTT > 0 needs it, ignores SIGPIPE, makes
 * opt.dir. Returns 0, or -1 after saying why (prog names the program). */
int demo_setup(const char *prog);

/* ------------------------------------------------------------- the data */

/* Record i's key: spread over the rows. */
int64_t demo_key(long i);

/* Whether v (len bytes) is key's value. */
bool demo_value_ok(int64_t key, const char *v, size_t len);

/* aw_lookup callbacks for records pushed as (void *)(intptr_t)i: bind
 * demo_key(i) as an int64; check column 0 against it. Results are markers
 * (no allocation): demo_run_op counts the wrong ones. */
int demo_bind_key(void *ctx, void *input, aw_params *p);
int demo_row_check(void *ctx, void *input, const aw_row *row, void **out);

/* ------------------------------------------------------------- the runs */

/* One configuration at one round trip, and what it measured. */
typedef struct demo_run {
    long rtt_us;
    const char *strategy;        /* "sync", "pool", "native", a load tool */
    const char *mode;            /* "ordered", "unordered", "-"; or NULL */
    char label[24];              /* the demo's own name for it, if it has one */
    size_t t, depth;             /* threads/connections/clients; in flight each */
    long records;
    double secs, rps, p50_us, p99_us, cpu, rss;   /* cpu: seconds; rss: MB */
    bool ok;
} demo_run;

/* A new run in the table (all measurements 0), or NULL when it is full. */
demo_run *demo_add(long rtt_us, const char *strategy, const char *mode, size_t t, size_t depth);

/* The run of that configuration that passed its check, or NULL. mode NULL
 * matches runs without one. */
const demo_run *demo_find(long rtt_us, const char *strategy, const char *mode, size_t t, size_t depth);

/* The runs so far, in the order they were added. */
int demo_nruns(void);
const demo_run *demo_run_at(int i);

/* Runs one(ctx, i) for i = 1..r->records, timing each call: fills secs,
 * rps, p50_us, p99_us and rss (not cpu, not ok). Returns how many calls
 * returned false, or -1 when there is no memory for the latencies. */
long demo_time_loop(demo_run *r, bool (*one)(void *ctx, long i), void *ctx);

/* Opens uri for l, pushes records 1..r->records through an operator of
 * this mode and capacity (spin_us from opt) and drains it; fills secs,
 * rps, p50_us, p99_us, cpu (this process) and rss, and ok: each record
 * emitted once, every result good (demo_row_check), in input order where
 * mode is AW_ORDERED, no failure. Says on stderr what went wrong. */
void demo_run_op(demo_run *r, const char *uri, const aw_lookup *l, aw_mode mode, size_t capacity);

/* Starts argv[0] (PATH searched) with its stdout, and its stderr too if
 * with_stderr, on a pipe; *out gets the read end. Returns the pid, or -1. */
pid_t demo_spawn(char *const argv[], FILE **out, bool with_stderr);

/* For each opt.rtt_us: starts the delay proxy to srv (none at RTT 0), runs
 * body(rtt_us, port to use), stops the proxy by its pid. A proxy that does
 * not start ends the loop and fails the demo. */
void demo_each_rtt(void (*body)(long rtt_us, int port));

/* ------------------------------------------------------------ the report */

/* A column naming the run: which field, its heads, its width in the table
 * (negative: left-aligned; 0: in the CSV only). */
typedef enum { DEMO_STRATEGY, DEMO_MODE, DEMO_LABEL, DEMO_T, DEMO_DEPTH } demo_field;
typedef struct demo_col { demo_field field; const char *head, *csv_head; int width; } demo_col;

/* What a demo's table and CSV show: its naming columns, then what every
 * demo measures (records, records/s, p50, p99, CPU per record, [RSS],
 * check) at these widths. */
typedef struct demo_table {
    demo_col cols[4];
    int ncols;
    int records_w, rps_w;        /* widths of those two columns */
    int lat_digits;              /* digits after the point of p50/p99 in ms */
    bool rss;                    /* an rss_mb column */
} demo_table;

/* Prints the table's heads; later demo_print prints each run in them. */
void demo_table_head(const demo_table *tab);

/* Prints r as a row of the table; a run that failed fails the demo. */
void demo_print(const demo_run *r);

/* "  what   x.xx x  (target >= want) met|MISSED": a's records/s over b's. */
void demo_target(const char *what, const demo_run *a, const demo_run *b, double want);

/* opt.dir/name into buf. */
void demo_path(char *buf, size_t len, const char *name);

/* Opens opt.dir/<name>.gp for a gnuplot script whose output is
 * opt.dir/<name>.png (the path in png). NULL (said why) without gnuplot
 * or the file. demo_plot_end closes f and runs gnuplot on it. */
FILE *demo_plot_begin(const char *name, char *png, size_t len);
void demo_plot_end(FILE *f, const char *name);

/* The end of a demo: writes opt.dir/<csv_name>, calls plot, says FAIL if
 * any run failed. Returns main's exit status: 0 or 1. */
int demo_finish(const char *csv_name, void (*plot)(void));

#endif
