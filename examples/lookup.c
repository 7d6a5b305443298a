/* lookup: the README's adapter example, whole. Looks up each KEY with SQL
 * through the adapter DSN names (any store: sqlite:, mysql://, ...) and
 * prints one line per result row: the key, then the row's columns, tab
 * separated (NULL as \N); a key with no row prints nothing.
 *
 * Usage: lookup DSN SQL KEY...
 *   lookup 'sqlite:customers.db?threads=4' \
 *          'SELECT name, city FROM customers WHERE id = ?' 1 2 3
 * Exit status: 0, 1 when a lookup failed, 2 for bad usage or a DSN/SQL the
 * store refuses (the message says why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "adapter.h"

/* The input is the key's text; it is bound as a number when it is one. */
static int bind(void *ctx, void *input, aw_params *p)
{
    (void)ctx;
    const char *key = input;
    char *end;
    long long v = strtoll(key, &end, 10);
    return *key && !*end ? aw_params_int64(p, 0, v) : aw_params_text(p, 0, key, strlen(key));
}

/* One result per row: its columns as one tab-separated line (malloc'ed). */
static int row(void *ctx, void *input, const aw_row *r, void **result)
{
    (void)ctx; (void)input;
    size_t cap = 64, len = 0;
    char *line = malloc(cap);
    for (int i = 0; line && i < aw_row_columns(r); i++) {
        size_t n;
        const char *t = aw_row_text(r, i, &n);
        if (!t) { t = "\\N"; n = 2; }
        while (line && len + n + 2 > cap) {
            char *bigger = realloc(line, cap *= 2);
            if (!bigger) free(line);
            line = bigger;
        }
        if (!line) break;
        if (i) line[len++] = '\t';
        memcpy(line + len, t, n);
        len += n;
    }
    if (!line) return AW_ENOMEM;
    line[len] = 0;
    *result = line;
    return 0;
}

static void free_row(void *ctx, void *result)
{
    (void)ctx;
    free(result);
}

static void print_rows(void *ctx, void *input, void *const *results, size_t n, int64_t ts)
{
    (void)ctx; (void)ts;
    for (size_t i = 0; i < n; i++) {
        printf("%s\t%s\n", (const char *)input, (const char *)results[i]);
        free(results[i]);
    }
}

static void print_error(void *ctx, void *input, int err, const char *msg)
{
    *(int *)ctx = 1;
    fprintf(stderr, "lookup: key %s: %s (%s)\n", (const char *)input, msg, aw_err_name(err));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: lookup DSN SQL KEY...\n");
        return 2;
    }
    aw_lookup lk = { .sql = argv[2], .bind = bind, .row = row, .free_result = free_row };
    aw_adapter *a;
    char err[512];
    int rc = aw_adapter_open(&a, argv[1], &lk, err, sizeof err);
    if (rc) {
        fprintf(stderr, "lookup: %s\n", err);
        return 2;
    }
    int failed = 0;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 64, .timeout_ms = 10000 };
    aw_sink sink = { .ctx = &failed, .emit = print_rows, .error = print_error };
    aw_op *op;
    rc = aw_op_create(&op, &cfg, aw_adapter_function(a), &sink, err, sizeof err);
    if (rc) {
        fprintf(stderr, "lookup: %s\n", err);
        aw_adapter_close(a);
        return 2;
    }
    for (int i = 3; i < argc && rc == 0; i++) rc = aw_op_push(op, argv[i], 0);
    if (rc == 0) rc = aw_op_drain(op);
    if (rc) fprintf(stderr, "lookup: %s: %s\n", aw_strerror(rc), aw_op_errmsg(op));
    aw_op_free(op);                 /* first the operator, */
    aw_adapter_close(a);            /* then the adapter */
    return rc || failed ? 1 : 0;
}
