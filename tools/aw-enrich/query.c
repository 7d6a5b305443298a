/* query.c -- the aw_lookup of aw-enrich: binds a record's keys, copies each
 * result row. bind and row run on the adapter's worker threads; they read
 * the (immutable) record and allocate, nothing else. */
#include <stdlib.h>
#include <string.h>

#include "enrich.h"
#include "query.h"

int en_bind(void *ctx, void *input, aw_params *p)
{
    const en_record *r = input;
    const int *nkeys = ctx;
    for (int k = 0; k < *nkeys; k++) {
        const en_value *v = &r->keys[k];
        int rc;
        switch (v->type) {
        case EN_INT:  rc = aw_params_int64(p, k, v->u.i); break;
        case EN_REAL: rc = aw_params_double(p, k, v->u.d); break;
        case EN_TEXT: rc = aw_params_text(p, k, v->u.s, v->len); break;
        default:      rc = aw_params_null(p, k); break;
        }
        if (rc) return rc;
    }
    return 0;
}

int en_row_new(void *ctx, void *input, const aw_row *r, void **result)
{
    (void)ctx; (void)input;
    int n = aw_row_columns(r);
    if (n < 0) return n;
    size_t text = 0;
    for (int i = 0; i < n; i++) {
        if (en_row_type(r, i) == EN_TEXT) {
            size_t len = 0;
            aw_row_text(r, i, &len);
            text += len + 1;
        }
    }
    en_row *row = malloc(sizeof *row + (size_t)n * sizeof(en_value) + text);
    if (!row) return AW_ENOMEM;
    row->n = n;
    char *p = (char *)(row->v + n);
    for (int i = 0; i < n; i++) {
        en_value *v = &row->v[i];
        switch (en_row_type(r, i)) {
        case EN_NULL: *v = (en_value){ .type = EN_NULL }; break;
        case EN_INT:  *v = (en_value){ .type = EN_INT, .u.i = aw_row_int64(r, i) }; break;
        case EN_REAL: *v = (en_value){ .type = EN_REAL, .u.d = aw_row_double(r, i) }; break;
        case EN_TEXT: {
            size_t len = 0;
            const char *s = aw_row_text(r, i, &len);
            if (len) memcpy(p, s, len);
            p[len] = '\0';
            *v = (en_value){ .type = EN_TEXT, .len = len, .u.s = p };
            p += len + 1;
            break;
        }
        }
    }
    *result = row;
    return 0;
}

void en_row_free(void *ctx, void *result)
{
    (void)ctx;
    free(result);
}
