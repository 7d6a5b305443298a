/* csv_io.c -- CSV records in (libcsv, strict RFC 4180) and out. */
#include <csv.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enrich.h"

struct en_csv {
    struct csv_parser p;
    const en_opts *o;
    en_parse_cb    cb;
    /* The record being parsed: field bytes back to back in fields. */
    en_buf   fields;
    size_t  *foff, *flen;
    int      nf, fcap;
    bool     started;        /* a record is open (e.g. a quoted newline) */
    bool     oom;
    uint64_t rec_line;       /* where the open record started */
    /* The header, once read. */
    bool     have_header;
    en_buf   hdr;            /* names, NUL-terminated, back to back */
    size_t  *hoff, *hlen;
    int      nhdr;
    int     *key_idx;        /* column of each --key, 0-based */
    en_buf   scratch;        /* a record's quoted fields, then copied */
};

/* RFC 4180: spaces belong to the field. */
static int no_space(unsigned char c) { (void)c; return 0; }

static int parser_init(en_csv *c)
{
    if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI)) return -1;
    csv_set_space_func(&c->p, no_space);
    return 0;
}

int en_csv_new(en_csv **out, const en_opts *o, const en_parse_cb *cb)
{
    en_csv *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->o = o;
    c->cb = *cb;
    c->key_idx = calloc((size_t)o->nkeys + 1, sizeof *c->key_idx);
    if (!c->key_idx || parser_init(c)) { free(c->key_idx); free(c); return -1; }
    *out = c;
    return 0;
}

void en_csv_free(en_csv *c)
{
    if (!c) return;
    csv_free(&c->p);
    en_buf_free(&c->fields);
    en_buf_free(&c->hdr);
    en_buf_free(&c->scratch);
    free(c->foff); free(c->flen); free(c->hoff); free(c->hlen); free(c->key_idx);
    free(c);
}

static void on_field(void *s, size_t n, void *data)
{
    en_csv *c = data;
    if (c->nf == c->fcap) {
        int cap = c->fcap ? c->fcap * 2 : 16;
        size_t *a = realloc(c->foff, (size_t)cap * sizeof *a);
        if (a) c->foff = a;
        size_t *b = a ? realloc(c->flen, (size_t)cap * sizeof *b) : NULL;
        if (b) c->flen = b;
        if (!a || !b) { c->oom = true; return; }
        c->fcap = cap;
    }
    c->foff[c->nf] = c->fields.len;
    c->flen[c->nf] = n;
    if (en_buf_add(&c->fields, s ? s : "", n)) { c->oom = true; return; }
    c->nf++;
}

static void take_header(en_csv *c)
{
    c->hoff = malloc((size_t)(c->nf + 1) * sizeof *c->hoff);
    c->hlen = malloc((size_t)(c->nf + 1) * sizeof *c->hlen);
    if (!c->hoff || !c->hlen) { c->oom = true; return; }
    for (int i = 0; i < c->nf; i++) {
        c->hoff[i] = c->hdr.len;
        c->hlen[i] = c->flen[i];
        if (en_buf_add(&c->hdr, c->fields.p + c->foff[i], c->flen[i]) ||
            en_buf_add(&c->hdr, "", 1)) { c->oom = true; return; }
    }
    c->nhdr = c->nf;
    c->have_header = true;
}

/* The input fields, quoted, joined by commas, and the keys: one block. */
static en_record *make_record(en_csv *c)
{
    en_buf *sb = &c->scratch;
    sb->len = 0;
    for (int i = 0; i < c->nf; i++) {
        if ((i && en_buf_add(sb, ",", 1)) ||
            en_csv_quote(sb, c->fields.p + c->foff[i], c->flen[i]))
            return NULL;
    }
    int nk = c->o->nkeys;
    size_t text = sb->len;
    for (int k = 0; k < nk; k++) text += c->flen[c->key_idx[k]] + 1;
    en_record *r = malloc(sizeof *r + (size_t)nk * sizeof(en_value) + text);
    if (!r) return NULL;
    r->keys = (en_value *)(r + 1);
    char *p = (char *)(r->keys + nk);
    r->csv = p;
    r->csv_len = sb->len;
    memcpy(p, sb->p, sb->len);
    p += sb->len;
    for (int k = 0; k < nk; k++) {
        int f = c->key_idx[k];
        size_t n = c->flen[f];
        memcpy(p, c->fields.p + c->foff[f], n);
        p[n] = '\0';
        r->keys[k] = (en_value){ .type = EN_TEXT, .len = n, .u.s = p };
        p += n + 1;
    }
    r->json = NULL;
    r->entry = NULL;
    r->line = c->rec_line;
    return r;
}

static void on_record(int term, void *data)
{
    en_csv *c = data;
    (void)term;
    c->started = false;
    if (c->oom) return;
    if (!c->have_header) {
        take_header(c);
    } else if (c->nf != c->nhdr) {
        char msg[128];
        snprintf(msg, sizeof msg, "%d field%s, but the header has %d",
                 c->nf, c->nf == 1 ? "" : "s", c->nhdr);
        c->cb.bad(c->cb.ctx, c->rec_line, msg);
    } else {
        en_record *r = make_record(c);
        if (!r) c->oom = true;
        else c->cb.record(c->cb.ctx, r);
    }
    c->nf = 0;
    c->fields.len = 0;
}

static bool is_blank_line(const char *s, size_t n)
{
    return n == 0 || (n == 1 && s[0] == '\n') || (n == 2 && s[0] == '\r' && s[1] == '\n') ||
           (n == 1 && s[0] == '\r');
}

int en_csv_line(en_csv *c, const char *s, size_t n, uint64_t lineno)
{
    if (!c->started) {
        if (is_blank_line(s, n)) return 0;  /* no record on an empty line */
        c->started = true;
        c->rec_line = lineno;
    }
    size_t done = csv_parse(&c->p, s, n, on_field, on_record, c);
    if (c->oom) return -1;
    if (done < n) {
        if (csv_error(&c->p) != CSV_EPARSE) return -1;
        /* Drop the broken record and the rest of its line; go on. */
        char msg[160];
        if (lineno == c->rec_line)
            snprintf(msg, sizeof msg, "malformed CSV: a quote inside an unquoted field, or text after a closing quote");
        else
            snprintf(msg, sizeof msg, "malformed CSV (on line %" PRIu64 "): a quote inside an unquoted field, or text after a closing quote",
                     lineno);
        csv_fini(&c->p, NULL, NULL, NULL);
        c->nf = 0;
        c->fields.len = 0;
        c->started = false;
        c->cb.bad(c->cb.ctx, c->rec_line, msg);
    }
    return 0;
}

int en_csv_finish(en_csv *c)
{
    if (csv_fini(&c->p, on_field, on_record, c) != 0) {
        c->nf = 0;
        c->fields.len = 0;
        c->started = false;
        c->cb.bad(c->cb.ctx, c->rec_line,
                  "malformed CSV: a quoted field opened here is not closed before the end of input");
    }
    return c->oom ? -1 : 0;
}

bool en_csv_have_header(const en_csv *c) { return c->have_header; }

static const char *hname(const en_csv *c, int i) { return c->hdr.p + c->hoff[i]; }

int en_csv_bind_keys(en_csv *c, char *err, size_t errlen)
{
    for (int k = 0; k < c->o->nkeys; k++) {
        const char *key = c->o->keys[k];
        int found = -1, dup = 0;
        for (int i = 0; i < c->nhdr; i++)
            if (c->hlen[i] == strlen(key) && memcmp(hname(c, i), key, c->hlen[i]) == 0) {
                if (found < 0) found = i; else dup++;
            }
        if (dup) {
            snprintf(err, errlen, "--key '%s': the CSV header has %d columns of that name; give its 1-based index instead",
                     key, dup + 1);
            return EN_EXIT_USAGE;
        }
        if (found < 0 && strspn(key, "0123456789") == strlen(key) && strlen(key) < 10) {
            int idx = atoi(key);
            if (idx >= 1 && idx <= c->nhdr) found = idx - 1;
        }
        if (found < 0) {
            size_t w = (size_t)snprintf(err, errlen, "--key '%s': no such column in the CSV header (columns:", key);
            for (int i = 0; i < c->nhdr && w < errlen; i++)
                w += (size_t)snprintf(err + w, errlen - w, "%s '%s'", i ? "," : "", hname(c, i));
            if (w < errlen) snprintf(err + w, errlen - w, ")");
            return EN_EXIT_USAGE;
        }
        c->key_idx[k] = found;
    }
    return 0;
}

int en_csv_write_header(en_csv *c, en_buf *b, const char *const *names, int n)
{
    for (int i = 0; i < c->nhdr; i++)
        if ((i && en_buf_add(b, ",", 1)) || en_csv_quote(b, hname(c, i), c->hlen[i])) return -1;
    for (int i = 0; i < n; i++)
        if (en_buf_add(b, ",", 1) ||
            en_csv_quote(b, names[i], strlen(names[i]))) return -1;
    return en_buf_add(b, "\n", 1);
}

int en_csv_quote(en_buf *b, const char *s, size_t n)
{
    size_t quotes = 0;
    bool need = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '"') { quotes++; need = true; }
        else if (ch == ',' || ch == '\n' || ch == '\r') need = true;
    }
    if (!need) return en_buf_add(b, s, n);
    if (en_buf_reserve(b, n + quotes + 2)) return -1;
    char *p = b->p + b->len;
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    b->len = (size_t)(p - b->p);
    return 0;
}

/* Text for a number the way SQLite writes one ("%!.15g": 2.0, 1.0e+20). */
static size_t real_text(double d, char *out, size_t cap)
{
    if (isinf(d)) return (size_t)snprintf(out, cap, "%s", d < 0 ? "-Inf" : "Inf");   /* as SQLite */
    int n = snprintf(out, cap, "%.15g", d);
    if (n < 0 || (size_t)n >= cap - 3) return n < 0 ? 0 : (size_t)n;
    if (strpbrk(out, ".ni")) return (size_t)n;          /* has a point, nan, inf */
    char *e = strchr(out, 'e');
    if (!e) { memcpy(out + n, ".0", 3); return (size_t)n + 2; }
    memmove(e + 2, e, strlen(e) + 1);
    e[0] = '.'; e[1] = '0';
    return (size_t)n + 2;
}

/* Decimal text of v, at the end of tmp (24 bytes): its start. */
static char *int_text(int64_t v, char *end)
{
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    char *p = end;
    do { *--p = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--p = '-';
    return p;
}

size_t en_number_text(const en_value *v, char *out, size_t cap)
{
    if (v->type == EN_REAL) return real_text(v->u.d, out, cap);
    char tmp[24];
    char *p = int_text(v->type == EN_INT ? v->u.i : 0, tmp + sizeof tmp);
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

static int add_value(en_buf *b, const en_value *v)
{
    char tmp[64];
    switch (v->type) {
    case EN_NULL: return 0;
    case EN_INT:
    case EN_REAL:
        return en_buf_add(b, tmp, en_number_text(v, tmp, sizeof tmp));
    case EN_TEXT:
        return en_csv_quote(b, v->u.s, v->len);
    }
    return 0;
}

int en_csv_format(en_buf *b, const en_record *rec, const en_row *row, int ncols)
{
    if (en_buf_add(b, rec->csv, rec->csv_len)) return -1;
    for (int i = 0; i < ncols; i++) {   /* a record has >= 1 input field */
        if (en_buf_add(b, ",", 1)) return -1;
        if (row && i < row->n && add_value(b, &row->v[i])) return -1;
    }
    return en_buf_add(b, "\n", 1);
}
