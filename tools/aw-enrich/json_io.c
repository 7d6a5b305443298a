/* json_io.c -- JSON-lines records in and out (jansson). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enrich.h"

struct en_json {
    const en_opts *o;
    en_parse_cb    cb;
};

int en_json_new(en_json **out, const en_opts *o, const en_parse_cb *cb)
{
    en_json *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->o = o;
    j->cb = *cb;
    *out = j;
    return 0;
}

void en_json_free(en_json *j) { free(j); }

void en_record_free(en_record *r)
{
    if (!r) return;
    if (r->json) json_decref((json_t *)r->json);
    free(r);
}

void en_record_trim(en_record *r)
{
    if (r->json) json_decref((json_t *)r->json);
    r->json = NULL;
}

static bool is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
    return true;
}

static const char *kind(const json_t *v)
{
    return json_is_object(v) ? "an object" : json_is_array(v) ? "an array" : "a value";
}

int en_json_line(en_json *j, const char *s, size_t n, uint64_t lineno)
{
    if (is_blank(s, n)) return 0;        /* no record on an empty line */
    json_error_t e;
    char msg[300];
    /* A key given twice would silently keep its last value: malformed. */
    json_t *obj = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &e);
    if (!obj) {
        if (json_error_code(&e) == json_error_out_of_memory) return -1;
        snprintf(msg, sizeof msg, "invalid JSON at column %d: %s", e.column, e.text);
        j->cb.bad(j->cb.ctx, lineno, msg);
        return 0;
    }
    if (!json_is_object(obj)) {
        snprintf(msg, sizeof msg, "not a JSON object (each line must be one {...})");
        json_decref(obj);
        j->cb.bad(j->cb.ctx, lineno, msg);
        return 0;
    }
    int nk = j->o->nkeys;
    json_t *vals[nk > 0 ? nk : 1];
    size_t text = 0;
    for (int k = 0; k < nk; k++) {
        json_t *v = json_object_get(obj, j->o->keys[k]);
        if (!v) {
            snprintf(msg, sizeof msg, "no key \"%s\" in the object", j->o->keys[k]);
        } else if (json_is_object(v) || json_is_array(v)) {
            snprintf(msg, sizeof msg, "key \"%s\" holds %s; only a string, number, true, false or null can be bound",
                     j->o->keys[k], kind(v));
            v = NULL;
        }
        if (!v) {
            json_decref(obj);
            j->cb.bad(j->cb.ctx, lineno, msg);
            return 0;
        }
        vals[k] = v;
        if (json_is_string(v)) text += json_string_length(v) + 1;
    }
    en_record *r = malloc(sizeof *r + (size_t)nk * sizeof(en_value) + text);
    if (!r) { json_decref(obj); return -1; }
    r->keys = (en_value *)(r + 1);
    char *p = (char *)(r->keys + nk);
    for (int k = 0; k < nk; k++) {
        json_t *v = vals[k];
        en_value *x = &r->keys[k];
        switch (json_typeof(v)) {
        case JSON_STRING: {
            size_t len = json_string_length(v);
            memcpy(p, json_string_value(v), len);
            p[len] = '\0';
            *x = (en_value){ .type = EN_TEXT, .len = len, .u.s = p };
            p += len + 1;
            break;
        }
        case JSON_INTEGER: *x = (en_value){ .type = EN_INT, .u.i = json_integer_value(v) }; break;
        case JSON_REAL:    *x = (en_value){ .type = EN_REAL, .u.d = json_real_value(v) }; break;
        case JSON_TRUE:    *x = (en_value){ .type = EN_INT, .u.i = 1 }; break;
        case JSON_FALSE:   *x = (en_value){ .type = EN_INT, .u.i = 0 }; break;
        default:           *x = (en_value){ .type = EN_NULL }; break;
        }
    }
    r->csv = NULL;
    r->csv_len = 0;
    r->json = obj;
    r->entry = NULL;
    r->line = lineno;
    j->cb.record(j->cb.ctx, r);
    return 0;
}

static int to_buf(const char *s, size_t n, void *data)
{
    return en_buf_add(data, s, n);
}

int en_json_format(en_buf *b, const en_record *rec, const en_row *row,
                   const char *const *names, int ncols, char *err, size_t errlen)
{
    json_t *obj = rec->json;
    for (int i = 0; i < ncols; i++) {
        const en_value *v = row && i < row->n ? &row->v[i] : NULL;
        json_t *x;
        if (!v || v->type == EN_NULL) x = json_null();
        else if (v->type == EN_INT) x = json_integer(v->u.i);
        else if (v->type == EN_REAL) x = isfinite(v->u.d) ? json_real(v->u.d) : json_null();
        else {
            x = json_stringn(v->u.s, v->len);
            if (!x) {
                snprintf(err, errlen, "column \"%s\" is not valid UTF-8 text, so it cannot be a JSON string",
                         names[i]);
                return -1;
            }
        }
        if (!x || json_object_set_new(obj, names[i], x)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (json_dump_callback(obj, to_buf, b, JSON_COMPACT) || en_buf_add(b, "\n", 1)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
