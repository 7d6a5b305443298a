/* cli.c -- aw-enrich's command line: flags, defaults, --help. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "enrich.h"
#include "stream_io.h"

void en_usage(FILE *f)
{
    fputs(
"usage: aw-enrich --dsn DSN --sql SQL --key KEY [--key KEY ...] [options]\n"
"             < input > output\n"
"\n"
"Reads CSV or JSON-lines records on stdin, runs SQL once per record through\n"
"the asyncwait operator (the record's KEY values bound to the ?s, in order)\n"
"and writes each record joined with the rows it returned to stdout.\n"
"\n"
"  --dsn DSN            the store, e.g. 'sqlite:customers.db?threads=4' or\n"
"                       'mysql://user:pass@host/db?threads=8'\n"
"  --sql SQL            the lookup, with one ? per --key\n"
"  --key KEY            CSV column name (or 1-based index), or JSON key;\n"
"                       repeat for each ? in SQL\n"
"  --format csv|jsonl   input and output format (default: from the first line:\n"
"                       '{' means jsonl)\n"
"  --mode ordered|unordered\n"
"                       output in input order (default) or as completed\n"
"  --capacity N         records in flight at once (default 100)\n"
"  --timeout-ms N       per record, all attempts included; 0 = none\n"
"                       (default 1000)\n"
"  --retries N          retries of a failed lookup (default 3)\n"
"  --retry-delay-ms N   wait before each retry (default 50)\n"
"  --join inner|left    a record with no row: dropped (inner, default) or\n"
"                       written once with empty result fields (left)\n"
"  --on-error fail|skip|keep\n"
"                       a record whose lookup failed or that is malformed:\n"
"                       stop (exit 3, default), leave it out (exit 1), or\n"
"                       write it with empty result fields (exit 1)\n"
"  --cache N            keep the answers of up to N keys (LRU) and let records\n"
"                       with the key of a lookup in flight wait for it; the\n"
"                       summary shows the hit ratio (default 0: off)\n"
"  --cache-ttl-ms T     ask a cached key again after T ms (default 0: never)\n"
"  --source URI         read a Redis stream through a consumer group instead of\n"
"                       stdin: 'redis-stream://host:6379/orders?group=G&consumer=C'\n"
"                       (needs --sink; entry fields are the columns, --key names one)\n"
"  --sink URI           write each output record as an entry of a stream on the\n"
"                       same server: 'redis-stream://host:6379/orders_enriched';\n"
"                       its XADD and the input's XACK are one step: exactly once\n"
"  --claim-idle-ms N    take over other consumers' entries pending longer than N ms\n"
"                       (XAUTOCLAIM; default 30000)\n"
"  --stream-script      print the Lua script the stream sink runs, and exit\n"
"  --progress, --no-progress\n"
"                       progress on stderr (default: when stderr is a terminal)\n"
"  -h, --help           this text\n"
"  --version            the asyncwait version\n"
"\n"
"CSV keys are bound as text; SQLite converts them for INTEGER, REAL and\n"
"NUMERIC columns, so 'WHERE id = ?' works. JSON keys keep their JSON type.\n"
"Exit status: 0 all good, 1 some records failed, 2 bad usage or\n"
"configuration, 3 fatal runtime error. See docs/aw-enrich.md.\n", f);
}

enum {
    OPT_DSN = 256, OPT_SQL, OPT_KEY, OPT_FORMAT, OPT_MODE, OPT_CAPACITY,
    OPT_TIMEOUT, OPT_RETRIES, OPT_RETRY_DELAY, OPT_JOIN, OPT_ON_ERROR,
    OPT_PROGRESS, OPT_NO_PROGRESS, OPT_VERSION, OPT_CACHE, OPT_CACHE_TTL,
    OPT_SOURCE, OPT_SINK, OPT_CLAIM_IDLE, OPT_STREAM_SCRIPT
};

static const struct option long_opts[] = {
    { "dsn",            required_argument, NULL, OPT_DSN },
    { "sql",            required_argument, NULL, OPT_SQL },
    { "key",            required_argument, NULL, OPT_KEY },
    { "format",         required_argument, NULL, OPT_FORMAT },
    { "mode",           required_argument, NULL, OPT_MODE },
    { "capacity",       required_argument, NULL, OPT_CAPACITY },
    { "timeout-ms",     required_argument, NULL, OPT_TIMEOUT },
    { "retries",        required_argument, NULL, OPT_RETRIES },
    { "retry-delay-ms", required_argument, NULL, OPT_RETRY_DELAY },
    { "join",           required_argument, NULL, OPT_JOIN },
    { "on-error",       required_argument, NULL, OPT_ON_ERROR },
    { "cache",          required_argument, NULL, OPT_CACHE },
    { "cache-ttl-ms",   required_argument, NULL, OPT_CACHE_TTL },
    { "source",         required_argument, NULL, OPT_SOURCE },
    { "sink",           required_argument, NULL, OPT_SINK },
    { "claim-idle-ms",  required_argument, NULL, OPT_CLAIM_IDLE },
    { "stream-script",  no_argument,       NULL, OPT_STREAM_SCRIPT },
    { "progress",       no_argument,       NULL, OPT_PROGRESS },
    { "no-progress",    no_argument,       NULL, OPT_NO_PROGRESS },
    { "help",           no_argument,       NULL, 'h' },
    { "version",        no_argument,       NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 }
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return EN_EXIT_USAGE;
}

/* A whole decimal number in [lo, hi]. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

int en_cli_parse(en_opts *o, int argc, char **argv, bool *exit_now,
                 char *err, size_t errlen)
{
    static const char *const formats[] = { "csv", "jsonl" };
    static const char *const modes[] = { "ordered", "unordered" };
    static const char *const joins[] = { "inner", "left" };
    static const char *const onerrs[] = { "fail", "skip", "keep" };
    *o = (en_opts){
        .format = EN_FMT_AUTO, .mode = AW_ORDERED, .capacity = 100,
        .timeout_ms = 1000, .retries = 3, .retry_delay_ms = 50,
        .join = EN_JOIN_INNER, .on_error = EN_ONERR_FAIL, .progress = -1,
        .claim_idle_ms = 30000,
    };
    *exit_now = false;
    o->keys = calloc((size_t)argc + 1, sizeof *o->keys);
    if (!o->keys) return fail(err, errlen, "out of memory");

    opterr = 0;
    optind = 1;
    int c, i;
    int64_t v;
    while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_DSN: o->dsn = optarg; break;
        case OPT_SQL: o->sql = optarg; break;
        case OPT_KEY:
            if (!*optarg) return fail(err, errlen, "--key needs a column name, index or JSON key, not ''");
            o->keys[o->nkeys++] = optarg;
            break;
        case OPT_FORMAT:
            if ((i = pick(optarg, formats, 2)) < 0)
                return fail(err, errlen, "--format must be csv or jsonl, not '%s'", optarg);
            o->format = i == 0 ? EN_FMT_CSV : EN_FMT_JSONL;
            break;
        case OPT_MODE:
            if ((i = pick(optarg, modes, 2)) < 0)
                return fail(err, errlen, "--mode must be ordered or unordered, not '%s'", optarg);
            o->mode = i == 0 ? AW_ORDERED : AW_UNORDERED;
            break;
        case OPT_CAPACITY:
            if (!parse_int(optarg, 1, 10000000, &v))
                return fail(err, errlen, "--capacity must be a whole number from 1 to 10000000, not '%s'", optarg);
            o->capacity = (size_t)v;
            break;
        case OPT_TIMEOUT:
            if (!parse_int(optarg, 0, INT64_C(86400000), &v))
                return fail(err, errlen, "--timeout-ms must be a whole number from 0 (none) to 86400000, not '%s'", optarg);
            o->timeout_ms = v;
            break;
        case OPT_RETRIES:
            if (!parse_int(optarg, 0, 1000, &v))
                return fail(err, errlen, "--retries must be a whole number from 0 to 1000, not '%s'", optarg);
            o->retries = (int)v;
            break;
        case OPT_RETRY_DELAY:
            if (!parse_int(optarg, 0, INT64_C(3600000), &v))
                return fail(err, errlen, "--retry-delay-ms must be a whole number from 0 to 3600000, not '%s'", optarg);
            o->retry_delay_ms = v;
            break;
        case OPT_JOIN:
            if ((i = pick(optarg, joins, 2)) < 0)
                return fail(err, errlen, "--join must be inner or left, not '%s'", optarg);
            o->join = (en_join)i;
            break;
        case OPT_ON_ERROR:
            if ((i = pick(optarg, onerrs, 3)) < 0)
                return fail(err, errlen, "--on-error must be fail, skip or keep, not '%s'", optarg);
            o->on_error = (en_onerr)i;
            break;
        case OPT_CACHE:
            if (!parse_int(optarg, 0, INT64_C(100000000), &v))
                return fail(err, errlen, "--cache must be a whole number from 0 (off) to 100000000, not '%s'", optarg);
            o->cache = (size_t)v;
            break;
        case OPT_CACHE_TTL:
            if (!parse_int(optarg, 0, INT64_C(86400000000), &v))
                return fail(err, errlen, "--cache-ttl-ms must be a whole number from 0 (no expiry) to 86400000000, not '%s'", optarg);
            o->cache_ttl_ms = v;
            break;
        case OPT_SOURCE: o->source = optarg; break;
        case OPT_SINK: o->sink = optarg; break;
        case OPT_CLAIM_IDLE:
            if (!parse_int(optarg, 1, INT64_C(86400000), &v))
                return fail(err, errlen, "--claim-idle-ms must be a whole number from 1 to 86400000, not '%s'", optarg);
            o->claim_idle_ms = v;
            break;
        case OPT_STREAM_SCRIPT:
            fputs(en_stream_script(), stdout);
            *exit_now = true;
            return EN_EXIT_OK;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_NO_PROGRESS: o->progress = 0; break;
        case 'h':
            en_usage(stdout);
            *exit_now = true;
            return EN_EXIT_OK;
        case OPT_VERSION:
            printf("aw-enrich (asyncwait) %s\n", AW_VERSION_STRING);
            *exit_now = true;
            return EN_EXIT_OK;
        case ':':
            return fail(err, errlen, "%s needs a value", argv[optind - 1]);
        default:
            return fail(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail(err, errlen, "unexpected argument '%s': input is read from stdin (see --help)", argv[optind]);
    if (!o->dsn) return fail(err, errlen, "--dsn is required, e.g. --dsn 'sqlite:customers.db?threads=4'");
    if (!o->sql) return fail(err, errlen, "--sql is required, e.g. --sql 'SELECT name FROM customers WHERE id = ?'");
    if (o->nkeys == 0) return fail(err, errlen, "--key is required: one per ? in --sql");
    if (!o->source != !o->sink)
        return fail(err, errlen, "--source and --sink go together: a stream's input is acknowledged in the "
                    "same step as its output is added (both redis-stream:// on one server)");
    if (o->cache_ttl_ms && !o->cache) return fail(err, errlen, "--cache-ttl-ms needs --cache N (how many keys to keep)");
    return 0;
}

void en_opts_free(en_opts *o)
{
    free(o->keys);
    o->keys = NULL;
}
