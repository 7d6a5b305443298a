/* The adapter suites' shared helpers (tests/adapter_test.h): customers
 * checked in every mode, one-key sessions, open-error cases and the
 * aw_adapter_columns check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
#include "adapter_test.h"

int at_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);                       /* nothing listens there now */
    return ntohs(sa.sin_port);
}

void at_free_res(void *ctx, void *r) { free(r); }

int at_bind_id(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

/* ---------------------------------------------- customers, in every mode */

int at_row_cust(void *ctx, void *input, const aw_row *r, void **out)
{
    const at_cust_rule *rule = ctx;
    if (rule && !rule->ok(r)) return AW_EINVAL;
    at_cust *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    const char *name = aw_row_text(r, 1, NULL);
    snprintf(c->name, sizeof c->name, "%s", name ? name : "?");
    c->city_null = aw_row_is_null(r, 2);
    if (!c->city_null) snprintf(c->city, sizeof c->city, "%s", aw_row_text(r, 2, NULL));
    c->bal_null = aw_row_is_null(r, 3);
    c->bal = aw_row_int64(r, 3);
    c->score = aw_row_double(r, 4);
    *out = c;
    return 0;
}

typedef struct check { const at_match *m; long emitted, wrong, rows, failed; char first[200]; } check;

static void ck_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    check *k = ctx;
    intptr_t id = (intptr_t)input;
    at_cust w;
    bool exists = k->m->want ? k->m->want(id, &w) : id >= 1 && id <= k->m->rows;
    if (exists && !k->m->want) w = k->m->table[id];
    if ((size_t)exists != n) k->wrong++;
    if (exists && n == 1) {
        const at_cust *c = res[0];
        if (c->id != id || strcmp(c->name, w.name) || c->city_null != w.city_null ||
            (!w.city_null && strcmp(c->city, w.city)) || c->bal_null != w.bal_null ||
            c->bal != w.bal || c->score != w.score)
            k->wrong++;
    }
    for (size_t i = 0; i < n; i++) free(res[i]);
    k->rows += (long)n;
    k->emitted++;
}

static void ck_error(void *ctx, void *input, int err, const char *msg)
{
    check *k = ctx;
    if (!k->failed++) snprintf(k->first, sizeof k->first, "%s: %s", aw_err_name(err), msg);
}

void at_matches(const at_match *m)
{
    aw_mode modes[] = { AW_ORDERED, AW_UNORDERED, AW_UNORDERED_EVENT_TIME };
    unsigned seed = 7;
    for (int mi = 0; mi < 3; mi++) {
        char err[1024];
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_adapter_open(&a, m->uri, m->lookup, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.900s", err); return; }
        ASSERT_STR_CONTAINS(aw_adapter_scheme(a), m->scheme);
        check k = { .m = m };
        aw_config cfg = { .mode = modes[mi], .capacity = m->capacity };
        aw_sink sink = { .ctx = &k, .emit = ck_emit, .error = ck_error, .release = at_free_res };
        aw_op *op;
        ASSERT_EQ(aw_op_new(&op, &cfg, aw_adapter_function(a), &sink), 0);
        for (int i = 0; i < 10000; i++) {
            intptr_t id = rand_r(&seed) % (m->rows + m->rows / 10) + 1;   /* some miss */
            ASSERT_EQ(aw_op_push(op, (void *)id, i), 0);
            if (modes[mi] == AW_UNORDERED_EVENT_TIME && i % 500 == 499) ASSERT_EQ(aw_op_watermark(op, i), 0);
        }
        ASSERT_EQ(aw_op_drain(op), 0);
        m->stats(a, false);
        aw_op_free(op);                /* closes the adapter's connections */
        m->stats(a, true);
        aw_adapter_close(a);
        if (k.failed) AW__FAIL("first error: %s", k.first);
        ASSERT_EQ(k.emitted, 10000);
        ASSERT_EQ(k.wrong, 0);
        ASSERT_TRUE(k.rows > 8500 && k.rows < 9500);
    }
}

/* ------------------------------------------------- one key at a time */

static void s_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    at_one *o = ((at_session *)ctx)->cur;
    o->n = (long)n;
    for (size_t i = 0; i < n; i++) {
        if (i < 8) o->rows[i] = res[i];
        else free(res[i]);
    }
}

static void s_error(void *ctx, void *input, int err, const char *msg)
{
    at_one *o = ((at_session *)ctx)->cur;
    o->failed++;
    o->err = err;
    snprintf(o->msg, sizeof o->msg, "%s", msg);
}

void at_run_one(at_session *s, void *input, at_one *o)
{
    memset(o, 0, sizeof *o);
    if (!s->op) {
        aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
        aw_sink sink = { .ctx = s, .emit = s_emit, .error = s_error, .release = at_free_res };
        ASSERT_EQ(aw_op_new(&s->op, &cfg, aw_adapter_function(s->a), &sink), 0);
        if (!s->op) return;
    }
    s->cur = o;
    ASSERT_EQ(aw_op_push(s->op, input, 0), 0);
    ASSERT_EQ(aw_op_drain(s->op), 0);
}

void at_session_end(at_session *s)
{
    aw_op_free(s->op);
    aw_adapter_close(s->a);
    memset(s, 0, sizeof *s);
}

void at_one_free(at_one *o)
{
    for (int i = 0; i < 8; i++) free(o->rows[i]);
    memset(o->rows, 0, sizeof o->rows);
}

int at_bind_all(void *ctx, void *input, aw_params *p)
{
    for (int i = 0; i < (int)(intptr_t)ctx; i++)
        if (aw_params_int64(p, i, (intptr_t)input)) return AW_EINVAL;
    return 0;
}

int at_row_val(void *ctx, void *input, const aw_row *r, void **out)
{
    size_t len = 0;
    const char *t = aw_row_text(r, 0, &len);
    at_val *v = malloc(sizeof *v + len + 1);
    if (!v) return AW_ENOMEM;
    v->null = !t;
    v->type = aw_row_type(r, 0);
    v->len = len;
    v->terminated = !t || t[len] == 0;
    if (t) memcpy(v->data, t, len);
    v->data[len] = 0;
    *out = v;
    return 0;
}

bool at_is_val(const at_val *v, const char *bytes, size_t len)
{
    return v && !v->null && v->terminated && v->len == len && !memcmp(v->data, bytes, len);
}

aw_adapter *at_open_vals(const char *uri, const char *sql, int params, aw_lookup *l)
{
    char err[1024];
    *l = (aw_lookup){ .ctx = (void *)(intptr_t)params, .sql = sql, .bind = at_bind_all, .row = at_row_val,
                      .free_result = at_free_res };
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open %.100s: %s: %.700s", sql, aw_err_name(rc), err);
    return a;
}

void at_items_and_cities(const char *uri, bool typed)
{
    aw_lookup l1, l2;
    at_session items = { .a = at_open_vals(uri, "SELECT label FROM items WHERE cust = ? ORDER BY seq", 1, &l1) };
    at_session city = { .a = at_open_vals(uri, "SELECT city FROM customers WHERE id = ?", 1, &l2) };
    if (!items.a || !city.a) goto out;
    at_one o;
    for (intptr_t c = 1; c <= 9; c++) {           /* cust c has c % 5 rows */
        at_run_one(&items, (void *)c, &o);
        ASSERT_EQ(o.n, c % 5);
        for (int i = 0; i < o.n && i < 8; i++) {
            char want[32];
            int n = snprintf(want, sizeof want, "item-%d-%d", (int)c, i);
            ASSERT_TRUE(at_is_val(o.v[i], want, (size_t)n));
        }
        at_one_free(&o);
    }
    at_run_one(&items, (void *)0, &o);              /* many: 5000 rows */
    ASSERT_EQ(o.n, 5000);
    ASSERT_EQ(o.failed, 0);
    ASSERT_TRUE(AT_IS(o.v[7], "item-0-7"));
    at_one_free(&o);
    at_run_one(&items, (void *)-5, &o);             /* none: 0 results, not an error */
    ASSERT_EQ(o.n, 0);
    ASSERT_EQ(o.failed, 0);
    at_run_one(&city, (void *)7, &o);               /* a NULL */
    ASSERT_EQ(o.n, 1);
    ASSERT_TRUE(o.v[0] && o.v[0]->null);
    if (typed) ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VNULL);
    at_one_free(&o);
    at_run_one(&city, (void *)8, &o);
    ASSERT_TRUE(AT_IS(o.v[0], "city-8"));
    if (typed) ASSERT_TRUE(o.v[0] && o.v[0]->type == AW_VTEXT);
    at_one_free(&o);
out:
    at_session_end(&items);
    at_session_end(&city);
}

void at_bind_mistakes(at_session *s, void *refuse, void *too_many, const char *what)
{
    at_one o;
    char words[100];
    at_run_one(s, refuse, &o);
    ASSERT_EQ(o.err, AW_EINVAL);
    ASSERT_STR_CONTAINS(o.msg, "bind");
    at_run_one(s, too_many, &o);
    ASSERT_EQ(o.err, AW_EQUERY);
    snprintf(words, sizeof words, "bound 2 parameters but the %s has 1 placeholders", what);
    ASSERT_STR_CONTAINS(o.msg, words);
}

/* ------------------------------------------------------- open errors */

void at_expect_open(const char *uri, const aw_lookup *l, int code, const char *words,
                    const char *secret, const char *secret2)
{
    aw_adapter *a = NULL;
    char err[1024] = "";
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc != code) AW__FAIL("%s: got %s (%s), wanted %s", uri, aw_err_name(rc), err, aw_err_name(code));
    ASSERT_STR_CONTAINS(err, words);
    if ((secret && strstr(err, secret)) || (secret2 && strstr(err, secret2)))
        AW__FAIL("a password is in the message: %s", err);
    ASSERT_TRUE(a == NULL);
    aw_adapter_close(a);
}

void at_expect_opens(const char *base, const aw_lookup *l, const at_bad_uri *bad, size_t n, const char *secret)
{
    char uri[600];
    for (size_t i = 0; i < n; i++) {
        snprintf(uri, sizeof uri, "%s%s", base, bad[i].tail);
        at_expect_open(uri, l, bad[i].code, bad[i].words, secret, NULL);
    }
}

void at_sql_mistakes(const char *uri, const aw_lookup *l, const char *syntax, const char *table,
                     const char *column)
{
    aw_lookup bad = *l;
    aw_adapter *a = NULL;
    char err[1024];
    bad.sql = "SELEC id FROM customers WHERE id = ?";
    ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
    ASSERT_STR_CONTAINS(err, "SQL does not prepare");
    ASSERT_STR_CONTAINS(err, syntax);
    bad.sql = "SELECT id FROM no_such_table WHERE id = ?";
    ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
    ASSERT_STR_CONTAINS(err, table);
    bad.sql = "SELECT nope FROM customers WHERE id = ?";
    ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
    ASSERT_STR_CONTAINS(err, column);
    ASSERT_TRUE(a == NULL);
}

void at_columns(const char *uri, const aw_lookup *l, int ncols, int nparams, const char *const *names)
{
    char err[1024];
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open %s: %.900s", uri, err); return; }
    const char *const *got = NULL;
    int nc = -1, np = -1;
    ASSERT_EQ(aw_adapter_columns(a, &got, &nc, &np), 0);
    ASSERT_EQ(nc, ncols);
    ASSERT_EQ(np, nparams);
    if (got && nc == ncols) {
        for (int i = 0; i < ncols; i++)
            if (names && names[i]) ASSERT_STR_CONTAINS(got[i], names[i]);
        ASSERT_TRUE(got[ncols] == NULL);
    }
    ASSERT_EQ(aw_adapter_columns(a, NULL, NULL, NULL), 0);
    ASSERT_EQ(aw_adapter_columns(NULL, &got, &nc, &np), AW_EINVAL);
    aw_adapter_close(a);
}
