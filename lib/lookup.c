/* Store-neutral parameters and rows, and the result collector every SQL
 * adapter uses to complete a future without leaking a result. Memory is
 * kept across executions: a worker's steady state does not allocate. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lookup.h"

#define MAX_PARAMS 1024

struct aw_params {
    aw_value *v;
    size_t *off;         /* text: offset into buf (buf may move) */
    int n, cap;
    char *buf;
    size_t used, bufcap;
};

struct aw_row {
    int n;
    aw_value *v;
    const char **names;
    char num[64];        /* aw_row_text of a number */
};

struct aw_results {
    void **r;
    size_t n, cap;
};

/* ------------------------------------------------------------ params */

aw_params *aw_params_new(void) { return calloc(1, sizeof(aw_params)); }

void aw_params_free(aw_params *p)
{
    if (!p) return;
    free(p->v);
    free(p->off);
    free(p->buf);
    free(p);
}

void aw_params_clear(aw_params *p)
{
    if (!p) return;
    p->n = 0;
    p->used = 0;
}

static aw_value *slot(aw_params *p, int i)
{
    if (!p || i < 0 || i >= MAX_PARAMS) return NULL;
    if (i >= p->cap) {
        int cap = p->cap ? p->cap : 4;
        while (cap <= i) cap *= 2;
        aw_value *v = realloc(p->v, (size_t)cap * sizeof *v);
        if (!v) return NULL;
        p->v = v;
        size_t *off = realloc(p->off, (size_t)cap * sizeof *off);
        if (!off) return NULL;
        p->off = off;
        p->cap = cap;
    }
    for (; p->n <= i; p->n++) p->v[p->n] = (aw_value){ .type = AW_VNULL };
    return &p->v[i];
}

int aw_params_int64(aw_params *p, int i, int64_t v)
{
    aw_value *x = slot(p, i);
    if (!x) return p && i >= 0 && i < MAX_PARAMS ? AW_ENOMEM : AW_EINVAL;
    *x = (aw_value){ .type = AW_VINT64, .i = v };
    return 0;
}

int aw_params_double(aw_params *p, int i, double v)
{
    aw_value *x = slot(p, i);
    if (!x) return p && i >= 0 && i < MAX_PARAMS ? AW_ENOMEM : AW_EINVAL;
    *x = (aw_value){ .type = AW_VDOUBLE, .d = v };
    return 0;
}

int aw_params_null(aw_params *p, int i)
{
    aw_value *x = slot(p, i);
    if (!x) return p && i >= 0 && i < MAX_PARAMS ? AW_ENOMEM : AW_EINVAL;
    *x = (aw_value){ .type = AW_VNULL };
    return 0;
}

int aw_params_text(aw_params *p, int i, const char *s, size_t len)
{
    if (!s && len > 0) return AW_EINVAL;
    aw_value *x = slot(p, i);
    if (!x) return p && i >= 0 && i < MAX_PARAMS ? AW_ENOMEM : AW_EINVAL;
    if (p->used + len + 1 > p->bufcap) {
        size_t cap = p->bufcap ? p->bufcap : 256;
        while (cap < p->used + len + 1) cap *= 2;
        char *b = realloc(p->buf, cap);
        if (!b) return AW_ENOMEM;
        p->buf = b;
        p->bufcap = cap;
    }
    if (len) memcpy(p->buf + p->used, s, len);
    p->buf[p->used + len] = 0;
    *x = (aw_value){ .type = AW_VTEXT, .len = len };
    p->off[i] = p->used;
    p->used += len + 1;
    return 0;
}

int aw_params_count(const aw_params *p) { return p ? p->n : 0; }

int aw_params_get(const aw_params *p, int i, aw_value *out)
{
    if (!p || !out || i < 0 || i >= p->n) return AW_EINVAL;
    *out = p->v[i];
    if (out->type == AW_VTEXT) out->s = p->buf + p->off[i];
    return 0;
}

/* --------------------------------------------------------------- rows */

aw_row *aw_row_new(int columns)
{
    if (columns < 0 || columns > 4096) return NULL;
    aw_row *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->n = columns;
    r->v = calloc((size_t)columns + 1, sizeof *r->v);
    r->names = calloc((size_t)columns + 1, sizeof *r->names);
    if (!r->v || !r->names) { aw_row_free(r); return NULL; }
    return r;
}

void aw_row_free(aw_row *r)
{
    if (!r) return;
    free(r->v);
    free(r->names);
    free(r);
}

int aw_row_set(aw_row *r, int i, const aw_value *v)
{
    if (!r || !v || i < 0 || i >= r->n) return AW_EINVAL;
    r->v[i] = *v;
    return 0;
}

int aw_row_set_name(aw_row *r, int i, const char *name)
{
    if (!r || i < 0 || i >= r->n) return AW_EINVAL;
    r->names[i] = name;
    return 0;
}

int aw_row_columns(const aw_row *r) { return r ? r->n : 0; }

static const aw_value *col(const aw_row *r, int i)
{
    return r && i >= 0 && i < r->n ? &r->v[i] : NULL;
}

bool aw_row_is_null(const aw_row *r, int i)
{
    const aw_value *v = col(r, i);
    return !v || v->type == AW_VNULL;
}

int64_t aw_row_int64(const aw_row *r, int i)
{
    const aw_value *v = col(r, i);
    if (!v) return 0;
    switch (v->type) {
    case AW_VINT64: return v->i;
    case AW_VDOUBLE: return (int64_t)v->d;
    case AW_VTEXT: {
        char tmp[32];
        size_t n = v->len < sizeof tmp - 1 ? v->len : sizeof tmp - 1;
        memcpy(tmp, v->s, n);
        tmp[n] = 0;
        return strtoll(tmp, NULL, 10);
    }
    default: return 0;
    }
}

double aw_row_double(const aw_row *r, int i)
{
    const aw_value *v = col(r, i);
    if (!v) return 0.0;
    switch (v->type) {
    case AW_VINT64: return (double)v->i;
    case AW_VDOUBLE: return v->d;
    case AW_VTEXT: {
        char tmp[64];
        size_t n = v->len < sizeof tmp - 1 ? v->len : sizeof tmp - 1;
        memcpy(tmp, v->s, n);
        tmp[n] = 0;
        return strtod(tmp, NULL);
    }
    default: return 0.0;
    }
}

const char *aw_row_text(const aw_row *r, int i, size_t *len)
{
    const aw_value *v = col(r, i);
    if (len) *len = 0;
    if (!v || v->type == AW_VNULL) return NULL;
    aw_row *w = (aw_row *)r;   /* the number buffer is scratch, not state */
    int n;
    switch (v->type) {
    case AW_VTEXT:
        if (len) *len = v->len;
        return v->s;
    case AW_VINT64:
        n = snprintf(w->num, sizeof w->num, "%" PRId64, v->i);
        break;
    default:
        n = snprintf(w->num, sizeof w->num, "%.17g", v->d);
        break;
    }
    if (len) *len = (size_t)n;
    return w->num;
}

int aw_row_type(const aw_row *r, int i)
{
    const aw_value *v = col(r, i);
    return v ? v->type : AW_VNULL;
}

const char *aw_row_name(const aw_row *r, int i)
{
    return r && i >= 0 && i < r->n ? r->names[i] : NULL;
}

/* ------------------------------------------------------------ results */

aw_results *aw_results_new(void) { return calloc(1, sizeof(aw_results)); }

static void drop_all(aw_results *res, const aw_lookup *l)
{
    if (l->free_result)
        for (size_t i = 0; i < res->n; i++) l->free_result(l->ctx, res->r[i]);
    res->n = 0;
}

void aw_results_free(aw_results *res)
{
    if (!res) return;
    free(res->r);
    free(res);
}

int aw_results_add_row(aw_results *res, const aw_lookup *l, void *input, const aw_row *r)
{
    if (res->n == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 8;
        void **a = realloc(res->r, cap * sizeof *a);
        if (!a) return AW_ENOMEM;
        res->r = a;
        res->cap = cap;
    }
    void *out = NULL;
    int rc = l->row(l->ctx, input, r, &out);
    if (rc < 0) return rc;
    res->r[res->n++] = out;
    return 0;
}

int aw_results_complete(aw_results *res, const aw_lookup *l, aw_future *f)
{
    int rc = aw_future_complete(f, res->r, res->n);
    if (rc != 0) drop_all(res, l);    /* the record left without them */
    res->n = 0;
    return rc;
}

int aw_results_fail(aw_results *res, const aw_lookup *l, aw_future *f, int err, const char *msg)
{
    drop_all(res, l);
    return aw_future_fail(f, err, msg);
}
