#include <stdlib.h>
#include "aw_test.h"

int64_t fake_clock_now(void *ctx) { return atomic_load(&((fake_clock *)ctx)->now); }

struct timespec deadline_in(int secs)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += secs;
    return t;
}

void rec_sink_init(rec_sink *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->cap = cap ? cap : 16;
    s->ev = calloc(s->cap, sizeof *s->ev);
}

void rec_sink_fini(rec_sink *s) { free(s->ev); memset(s, 0, sizeof *s); }

static rec_event *rec_add(rec_sink *s, char kind)
{
    if (s->len == s->cap) {
        s->cap *= 2;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
    }
    rec_event *e = &s->ev[s->len++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->first = -1;
    return e;
}

static void rs_emit(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    rec_sink *s = ctx;
    rec_event *e = rec_add(s, 'e');
    e->input = (intptr_t)input;
    e->ts = ts;
    e->n = n;
    if (n > 0)
        e->first = s->boxes ? *(intptr_t *)results[0] : (intptr_t)results[0];
    if (s->boxes)
        for (size_t i = 0; i < n; i++) free(results[i]);
}

static void rs_watermark(void *ctx, int64_t ts) { rec_add(ctx, 'w')->ts = ts; }

static void rs_error(void *ctx, void *input, int err, const char *msg)
{
    rec_event *e = rec_add(ctx, 'x');
    e->input = (intptr_t)input;
    e->err = err;
    snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "(null)");
}

static void rs_discard(void *ctx, void *input) { rec_add(ctx, 'd')->input = (intptr_t)input; }

static void rs_release(void *ctx, void *result)
{
    rec_sink *s = ctx;
    s->released++;
    if (s->boxes) free(result);
}

aw_sink rec_sink_of(rec_sink *s, int with_error, int with_discard)
{
    aw_sink k = { s, rs_emit, rs_watermark, with_error ? rs_error : NULL,
                  with_discard ? rs_discard : NULL, rs_release };
    return k;
}

size_t rec_count(const rec_sink *s, char kind)
{
    size_t n = 0;
    for (size_t i = 0; i < s->len; i++) n += s->ev[i].kind == kind;
    return n;
}
