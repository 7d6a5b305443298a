/* progress.c -- the progress line and the closing summary, on stderr. */
#include <inttypes.h>
#include <time.h>

#include "enrich.h"
#include "adapter.h"

int64_t en_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void en_progress(FILE *f, bool tty, const en_counts *c, const aw_stats *s, double rate)
{
    fprintf(f, "%saw-enrich: %" PRIu64 " in, %" PRIu64 " out, %" PRIu64 " failed, %zu in flight, "
            "%.0f records/s, p99 %.2f ms%s",
            tty ? "\r" : "", c->in, c->out, c->failed, s->in_flight, rate,
            s->p99_us / 1000.0, tty ? "\033[K" : "\n");
    fflush(f);
}

void en_progress_clear(FILE *f, bool tty)
{
    if (tty) {
        fputs("\r\033[K", f);
        fflush(f);
    }
}

void en_summary(FILE *f, const en_counts *c, const aw_stats *s,
                const struct aw_adapter_stats *cache, int64_t wall_us)
{
    double secs = (double)wall_us / 1e6;
    fprintf(f, "aw-enrich: %" PRIu64 " records in, %" PRIu64 " out, %" PRIu64 " failed",
            c->in, c->out, c->failed);
    if (c->malformed) fprintf(f, " (%" PRIu64 " malformed)", c->malformed);
    if (c->no_row) fprintf(f, ", %" PRIu64 " without a row", c->no_row);
    fprintf(f, ", %" PRIu64 " retried, %" PRIu64 " timed out", s->retried, s->timed_out);
    if (c->discarded) fprintf(f, ", %" PRIu64 " not finished (stopped)", c->discarded);
    if (c->lost) fprintf(f, ", %" PRIu64 " not written (output failed)", c->lost);
    if (c->suppressed) fprintf(f, ", %" PRIu64 " duplicates suppressed (acknowledged already)", c->suppressed);
    if (c->unconfirmed)
        fprintf(f, ", %" PRIu64 " sent again after a lost connection (acknowledged already)",
                c->unconfirmed);
    if (c->claimed) fprintf(f, ", %" PRIu64 " claimed", c->claimed);
    if (c->reconnects) fprintf(f, ", %" PRIu64 " reconnects", c->reconnects);
    if (c->signal) fprintf(f, ", stopped by %s", en_signal_name(c->signal));
    if (cache) {
        uint64_t looked = cache->cache_hits + cache->cache_misses;
        fprintf(f, ", cache hit ratio %.1f%% (%" PRIu64 " hits, %" PRIu64 " queries)",
                looked ? 100.0 * (double)cache->cache_hits / (double)looked : 0.0,
                cache->cache_hits, cache->queries);
    }
    fprintf(f, ", %.3f s wall, %.0f records/s, p99 %.2f ms",
            secs, secs > 0 ? (double)c->in / secs : 0, s->p99_us / 1000.0);
    uint64_t left = s->emitted + s->failed;
    if (s->latency_n < left)
        fprintf(f, " (sampled: %" PRIu64 " of %" PRIu64 " records)", s->latency_n, left);
    fputc('\n', f);
}
