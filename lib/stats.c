/* Latency stats: a log-linear histogram (8 sub-buckets per power of two,
 * so a percentile is exact to about 12 %, and read from the top of its
 * bucket, never below the truth) costs one add per measured record. */
#include <string.h>
#include "op_int.h"

static unsigned bucket(uint64_t ns)
{
    if (ns < 8) return (unsigned)ns;
    unsigned msb = 63u - (unsigned)__builtin_clzll(ns);
    return msb * 8 + (unsigned)((ns >> (msb - 3)) & 7);
}

/* Top of a bucket (the largest value it holds), in ns: a percentile read
 * from it is never below the true one. */
static double bucket_top(unsigned b)
{
    if (b < 8) return b;
    unsigned msb = b / 8, sub = b % 8;
    double lo = (double)(1ull << msb) + (double)sub * (double)(1ull << (msb - 3));
    return lo + (double)(1ull << (msb - 3)) - 1.0;
}

void aw__hist_add(aw_op *op, uint64_t ns)
{
    op->hist[bucket(ns)]++;
    op->nhist++;
    if (ns > op->max_ns) op->max_ns = ns;
}

static double percentile(const aw_op *op, double q)
{
    if (op->nhist == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)op->nhist);
    if (rank >= op->nhist) rank = op->nhist - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < AW__HIST_BUCKETS; b++) {
        seen += op->hist[b];
        if (seen > rank) {
            double v = bucket_top(b);
            return (v > (double)op->max_ns ? (double)op->max_ns : v) / 1000.0;
        }
    }
    return (double)op->max_ns / 1000.0;
}

int aw_op_stats(const aw_op *op, aw_stats *out)
{
    if (!op || !out) return AW_EINVAL;
    memset(out, 0, sizeof *out);
    out->pushed = op->pushed;
    out->emitted = op->emitted;
    out->failed = op->nfailed;
    out->timed_out = op->timed_out;
    out->retried = op->retried;
    out->late = op->late;
    out->watermarks = op->watermarks;
    out->in_flight = op->count;
    out->p50_us = percentile(op, 0.50);
    out->p99_us = percentile(op, 0.99);
    out->p999_us = percentile(op, 0.999);
    out->max_us = (double)op->max_ns / 1000.0;
    out->latency_n = op->nhist;
    return 0;
}
