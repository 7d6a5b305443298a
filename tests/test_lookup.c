/* The store-neutral lookup interface on its own: a fake adapter runs an
 * aw_lookup against an in-memory table through aw_params, aw_row and
 * aw_results, exactly as a SQL adapter does -- 0, 1 and many rows, NULLs,
 * text with embedded NULs both ways, and every result that cannot be
 * delivered (a row callback failing part-way, a record that timed out, a
 * future already settled) reaching free_result. */
#include <stdlib.h>
#include "aw_test.h"
#include "lookup.h"

/* ------------------------------------------------ a fake SQL adapter */

/* Key k has k % 4 rows; row j: (k * 10 + j, "name-<k>" or NULL when j == 1,
 * "x\0y" + j as 4 bytes, j + 0.5). */
#define NCOLS 4

typedef struct fake {
    const aw_lookup *lk;
    aw_params *p;
    aw_row *row;
    aw_results *res;
    char bound[64];          /* the text parameter 1 as the store saw it */
    size_t bound_len;
    int bound_type;
    aw_future *held;         /* hold_futures: kept, not completed */
    int hold_futures;
} fake;

static void fake_invoke(void *ctx, void *input, aw_future *f)
{
    fake *k = ctx;
    if (k->hold_futures) { k->held = f; return; }
    aw_params_clear(k->p);
    int rc = k->lk->bind(k->lk->ctx, input, k->p);
    if (rc < 0) { aw_results_fail(k->res, k->lk, f, rc, "bind failed"); return; }
    aw_value key, text;
    if (aw_params_get(k->p, 0, &key) || key.type != AW_VINT64) {
        aw_results_fail(k->res, k->lk, f, AW_EQUERY, "parameter 0 is not an integer");
        return;
    }
    k->bound_type = -1;
    if (aw_params_get(k->p, 1, &text) == 0) {
        k->bound_type = text.type;
        k->bound_len = text.len < sizeof k->bound ? text.len : sizeof k->bound;
        if (text.type == AW_VTEXT) memcpy(k->bound, text.s, k->bound_len);
    }
    char name[32], bytes[4] = { 'x', 0, 'y', 0 };
    snprintf(name, sizeof name, "name-%lld", (long long)key.i);
    for (int j = 0; j < key.i % 4; j++) {
        bytes[3] = (char)('0' + j);
        aw_value v[NCOLS] = {
            { .type = AW_VINT64, .i = key.i * 10 + j },
            { .type = j == 1 ? AW_VNULL : AW_VTEXT, .s = name, .len = strlen(name) },
            { .type = AW_VTEXT, .s = bytes, .len = 4 },
            { .type = AW_VDOUBLE, .d = j + 0.5 },
        };
        for (int c = 0; c < NCOLS; c++) aw_row_set(k->row, c, &v[c]);
        if ((rc = aw_results_add_row(k->res, k->lk, input, k->row)) < 0) {
            aw_results_fail(k->res, k->lk, f, rc, "row callback failed");
            return;
        }
    }
    aw_results_complete(k->res, k->lk, f);
}

static void fake_init(fake *k, const aw_lookup *lk)
{
    memset(k, 0, sizeof *k);
    k->lk = lk;
    k->p = aw_params_new();
    k->row = aw_row_new(NCOLS);
    k->res = aw_results_new();
    const char *names[NCOLS] = { "id", "name", "bytes", "score" };
    for (int c = 0; c < NCOLS; c++) aw_row_set_name(k->row, c, names[c]);
}

static void fake_fini(fake *k)
{
    aw_params_free(k->p);
    aw_row_free(k->row);
    aw_results_free(k->res);
}

/* ------------------------------------------------- the user's lookup */

typedef struct copy {
    int64_t id;
    bool name_null;
    char name[32];
    char bytes[8];
    size_t bytes_len;
    double score;
    int type_name;
} copy;

typedef struct counts { _Atomic int made, freed; int fail_at; } counts;

static int bind_key(void *ctx, void *input, aw_params *p)
{
    int rc = aw_params_int64(p, 0, (intptr_t)input);
    return rc ? rc : aw_params_text(p, 1, "k\0ey", 4);
}

static int row_copy(void *ctx, void *input, const aw_row *r, void **out)
{
    counts *n = ctx;
    if (n->fail_at && atomic_load(&n->made) + 1 == n->fail_at) return AW_EQUERY;
    copy *c = calloc(1, sizeof *c);
    if (!c) return AW_ENOMEM;
    c->id = aw_row_int64(r, 0);
    c->name_null = aw_row_is_null(r, 1);
    c->type_name = aw_row_type(r, 1);
    const char *s = aw_row_text(r, 1, NULL);
    if (s) snprintf(c->name, sizeof c->name, "%s", s);
    const char *b = aw_row_text(r, 2, &c->bytes_len);
    if (b && c->bytes_len <= sizeof c->bytes) memcpy(c->bytes, b, c->bytes_len);
    c->score = aw_row_double(r, 3);
    atomic_fetch_add(&n->made, 1);
    *out = c;
    return 0;
}

static void free_copy(void *ctx, void *r)
{
    counts *n = ctx;
    atomic_fetch_add(&n->freed, 1);
    free(r);
}

/* One emitted record: its results, copied out (the sink frees them). */
typedef struct got { intptr_t key; size_t n; copy c[4]; int err; char msg[96]; } got;
typedef struct gots { got g[16]; int len; counts *cnt; } gots;

static void g_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    gots *s = ctx;
    got *g = &s->g[s->len++];
    g->key = (intptr_t)input;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        if (i < 4) g->c[i] = *(copy *)res[i];
        free_copy(s->cnt, res[i]);
    }
}

static void g_error(void *ctx, void *input, int err, const char *msg)
{
    gots *s = ctx;
    got *g = &s->g[s->len++];
    g->key = (intptr_t)input;
    g->err = err;
    snprintf(g->msg, sizeof g->msg, "%s", msg);
}

static void g_release(void *ctx, void *r) { free_copy(((gots *)ctx)->cnt, r); }

/* An operator over the fake adapter k whose sink records into s. */
static aw_op *fake_op(fake *k, gots *s, aw_config cfg)
{
    aw_function fn = { .ctx = k, .invoke = fake_invoke };
    aw_sink sink = { .ctx = s, .emit = g_emit, .error = g_error, .release = g_release };
    aw_op *op = NULL;
    int rc = aw_op_new(&op, &cfg, &fn, &sink);
    if (rc != 0) AW__FAIL("aw_op_new: %d", rc);
    return op;
}

/* Runs keys through an operator over the fake adapter. */
static void run_keys(const intptr_t *keys, int n, counts *cnt, gots *out)
{
    aw_lookup lk = { cnt, "SELECT id, name, bytes, score FROM t WHERE k = ? AND tag = ?",
                     bind_key, row_copy, free_copy };
    fake k;
    fake_init(&k, &lk);
    memset(out, 0, sizeof *out);
    out->cnt = cnt;
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = fake_op(&k, out, cfg);
    for (int i = 0; i < n; i++) ASSERT_EQ(aw_op_push(op, (void *)keys[i], i), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    ASSERT_EQ(k.bound_type, AW_VTEXT);      /* the text parameter, NUL and all */
    ASSERT_EQ(k.bound_len, 4);
    ASSERT_TRUE(memcmp(k.bound, "k\0ey", 4) == 0);
    fake_fini(&k);
}

/* ---------------------------------------------------------------- tests */

static void lookup_zero_one_many_rows(void)
{
    counts cnt = { 0 };
    gots s;
    intptr_t keys[] = { 4, 5, 6, 7, 11 };   /* 0, 1, 2, 3, 3 rows */
    run_keys(keys, 5, &cnt, &s);
    ASSERT_EQ(s.len, 5);
    ASSERT_EQ(s.g[0].n, 0);
    ASSERT_EQ(s.g[1].n, 1);
    ASSERT_EQ(s.g[2].n, 2);
    ASSERT_EQ(s.g[3].n, 3);
    ASSERT_EQ(s.g[4].n, 3);
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(s.g[i].key, keys[i]);
        for (size_t j = 0; j < s.g[i].n; j++) {   /* rows in the store's order */
            ASSERT_EQ(s.g[i].c[j].id, keys[i] * 10 + (intptr_t)j);
            ASSERT_TRUE(s.g[i].c[j].score == (double)j + 0.5);
        }
    }
    ASSERT_STR_CONTAINS(s.g[1].c[0].name, "name-5");
    ASSERT_EQ(cnt.made, 9);
    ASSERT_EQ(cnt.freed, 9);                /* all by the sink */
}

static void lookup_nulls(void)
{
    counts cnt = { 0 };
    gots s;
    intptr_t keys[] = { 6 };                /* row 1's name is NULL */
    run_keys(keys, 1, &cnt, &s);
    ASSERT_EQ(s.g[0].n, 2);
    ASSERT_TRUE(!s.g[0].c[0].name_null);
    ASSERT_EQ(s.g[0].c[0].type_name, AW_VTEXT);
    ASSERT_TRUE(s.g[0].c[1].name_null);
    ASSERT_EQ(s.g[0].c[1].type_name, AW_VNULL);
    ASSERT_EQ(s.g[0].c[1].name[0], 0);      /* aw_row_text gave NULL */

    aw_row *r = aw_row_new(1);
    aw_value null = { .type = AW_VNULL };
    ASSERT_EQ(aw_row_set(r, 0, &null), 0);
    size_t len = 99;
    ASSERT_TRUE(aw_row_text(r, 0, &len) == NULL);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(aw_row_int64(r, 0), 0);
    ASSERT_TRUE(aw_row_double(r, 0) == 0.0);
    ASSERT_TRUE(aw_row_is_null(r, 0));
    aw_row_free(r);
}

static void lookup_text_with_embedded_nul(void)
{
    counts cnt = { 0 };
    gots s;
    intptr_t keys[] = { 7 };
    run_keys(keys, 1, &cnt, &s);
    ASSERT_EQ(s.g[0].n, 3);
    for (size_t j = 0; j < 3; j++) {
        ASSERT_EQ(s.g[0].c[j].bytes_len, 4);
        char want[4] = { 'x', 0, 'y', (char)('0' + j) };
        ASSERT_TRUE(memcmp(s.g[0].c[j].bytes, want, 4) == 0);
    }
    /* A parameter keeps its NULs, and a later, longer one does not move it
     * (parameters hold offsets into a buffer that grows). */
    aw_params *p = aw_params_new();
    ASSERT_EQ(aw_params_text(p, 0, "\0a\0", 3), 0);
    char big[4096];
    memset(big, 'z', sizeof big);
    ASSERT_EQ(aw_params_text(p, 1, big, sizeof big), 0);
    aw_value v;
    ASSERT_EQ(aw_params_get(p, 0, &v), 0);
    ASSERT_EQ(v.len, 3);
    ASSERT_TRUE(memcmp(v.s, "\0a\0", 3) == 0);
    ASSERT_EQ(aw_params_get(p, 1, &v), 0);
    ASSERT_EQ(v.len, sizeof big);
    ASSERT_EQ(aw_params_text(p, 2, NULL, 0), 0);   /* empty text is not NULL */
    ASSERT_EQ(aw_params_get(p, 2, &v), 0);
    ASSERT_EQ(v.type, AW_VTEXT);
    ASSERT_EQ(v.len, 0);
    aw_params_free(p);
}

static void lookup_row_failing_part_way_frees_results(void)
{
    counts cnt = { .fail_at = 3 };          /* key 7: rows 1, 2 made, 3 fails */
    gots s;
    intptr_t keys[] = { 7 };
    run_keys(keys, 1, &cnt, &s);
    ASSERT_EQ(s.len, 1);
    ASSERT_EQ(s.g[0].err, AW_EQUERY);
    ASSERT_STR_CONTAINS(s.g[0].msg, "row callback failed");
    ASSERT_EQ(cnt.made, 2);
    ASSERT_EQ(cnt.freed, 2);                /* by free_result: nothing leaks */
}

/* The adapter's completion comes after its record timed out: the future
 * refuses the results and aw_results_complete hands them to free_result. */
static void lookup_timed_out_results_freed(void)
{
    counts cnt = { 0 };
    aw_lookup lk = { &cnt, "SELECT", bind_key, row_copy, free_copy };
    fake k;
    fake_init(&k, &lk);
    k.hold_futures = 1;
    fake_clock clk = { 0 };
    gots s = { .cnt = &cnt };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2, .timeout_ms = 10,
                      .clock = fake_clock_of(&clk) };
    aw_op *op = fake_op(&k, &s, cfg);
    ASSERT_EQ(aw_op_push(op, (void *)7, 0), 0);
    atomic_store(&clk.now, 11);
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(s.g[0].err, AW_ETIMEDOUT);
    /* Now the late lookup: three rows, refused. */
    aw_value v = { .type = AW_VINT64, .i = 1 };
    for (int c = 0; c < NCOLS; c++) aw_row_set(k.row, c, &v);
    for (int j = 0; j < 3; j++) ASSERT_EQ(aw_results_add_row(k.res, &lk, (void *)7, k.row), 0);
    ASSERT_EQ(aw_results_complete(k.res, &lk, k.held), AW_ETIMEDOUT);
    ASSERT_EQ(cnt.made, 3);
    ASSERT_EQ(cnt.freed, 3);
    ASSERT_EQ(aw_results_complete(k.res, &lk, k.held), AW_ETIMEDOUT);   /* empty now */
    ASSERT_EQ(cnt.freed, 3);
    aw_op_free(op);
    fake_fini(&k);
}

/* Settling a future twice: the second completion's results are freed. */
static void lookup_already_settled_results_freed(void)
{
    counts cnt = { 0 };
    aw_lookup lk = { &cnt, "SELECT", bind_key, row_copy, free_copy };
    fake k;
    fake_init(&k, &lk);
    k.hold_futures = 1;
    gots s = { .cnt = &cnt };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2 };
    aw_op *op = fake_op(&k, &s, cfg);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    ASSERT_EQ(aw_future_fail(k.held, AW_EQUERY, "first"), 0);
    aw_value v = { .type = AW_VINT64, .i = 1 };
    for (int c = 0; c < NCOLS; c++) aw_row_set(k.row, c, &v);
    ASSERT_EQ(aw_results_add_row(k.res, &lk, (void *)1, k.row), 0);
    ASSERT_EQ(aw_results_complete(k.res, &lk, k.held), AW_EALREADY);
    ASSERT_EQ(cnt.freed, 1);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(s.g[0].err, AW_EQUERY);
    aw_op_free(op);
    fake_fini(&k);
}

/* Every accessor on NULL or a bad index: the documented safe answers. */
static void lookup_accessors_validate(void)
{
    aw_value v;
    ASSERT_EQ(aw_params_int64(NULL, 0, 1), AW_EINVAL);
    ASSERT_EQ(aw_params_double(NULL, 0, 1), AW_EINVAL);
    ASSERT_EQ(aw_params_text(NULL, 0, "a", 1), AW_EINVAL);
    ASSERT_EQ(aw_params_null(NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_params_count(NULL), 0);
    ASSERT_EQ(aw_params_get(NULL, 0, &v), AW_EINVAL);
    aw_params_clear(NULL);
    aw_params_free(NULL);
    aw_params *p = aw_params_new();
    ASSERT_EQ(aw_params_int64(p, -1, 1), AW_EINVAL);
    ASSERT_EQ(aw_params_double(p, 1024, 1), AW_EINVAL);
    ASSERT_EQ(aw_params_null(p, 1023), 0);
    ASSERT_EQ(aw_params_count(p), 1024);
    ASSERT_EQ(aw_params_get(p, 1024, &v), AW_EINVAL);
    ASSERT_EQ(aw_params_get(p, 0, NULL), AW_EINVAL);
    ASSERT_EQ(aw_params_get(p, 5, &v), 0);
    ASSERT_EQ(v.type, AW_VNULL);             /* unset below the highest: NULL */
    aw_params_free(p);

    ASSERT_TRUE(aw_row_new(-1) == NULL);
    ASSERT_EQ(aw_row_columns(NULL), 0);
    ASSERT_TRUE(aw_row_is_null(NULL, 0));
    ASSERT_EQ(aw_row_int64(NULL, 0), 0);
    ASSERT_TRUE(aw_row_double(NULL, 0) == 0.0);
    ASSERT_TRUE(aw_row_text(NULL, 0, NULL) == NULL);
    ASSERT_TRUE(aw_row_name(NULL, 0) == NULL);
    ASSERT_EQ(aw_row_type(NULL, 0), AW_VNULL);
    ASSERT_EQ(aw_row_set(NULL, 0, &v), AW_EINVAL);
    aw_row_free(NULL);
    aw_row *r = aw_row_new(2);
    ASSERT_EQ(aw_row_set(r, 0, NULL), AW_EINVAL);
    ASSERT_EQ(aw_row_set(r, -1, &v), AW_EINVAL);
    ASSERT_EQ(aw_row_set_name(r, 2, "x"), AW_EINVAL);
    /* Conversions: numbers as text, text as numbers. */
    aw_value i = { .type = AW_VINT64, .i = -42 }, d = { .type = AW_VDOUBLE, .d = 2.5 };
    ASSERT_EQ(aw_row_set(r, 0, &i), 0);
    ASSERT_EQ(aw_row_set(r, 1, &d), 0);
    size_t len;
    ASSERT_STR_CONTAINS(aw_row_text(r, 0, &len), "-42");
    ASSERT_EQ(len, 3);
    ASSERT_STR_CONTAINS(aw_row_text(r, 1, &len), "2.5");
    ASSERT_TRUE(aw_row_double(r, 0) == -42.0);
    ASSERT_EQ(aw_row_int64(r, 1), 2);
    aw_value t = { .type = AW_VTEXT, .s = "123abc", .len = 3 };   /* only "123" is the value */
    ASSERT_EQ(aw_row_set(r, 0, &t), 0);
    ASSERT_EQ(aw_row_int64(r, 0), 123);
    ASSERT_TRUE(aw_row_is_null(r, 2));
    ASSERT_TRUE(aw_row_text(r, -1, &len) == NULL);
    ASSERT_EQ(len, 0);
    aw_row_free(r);

    aw_results_free(NULL);
}

/* A bind callback's error fails the record with that code. */
static int bind_bad(void *ctx, void *input, aw_params *p) { return AW_EINVAL; }

static void lookup_bind_error_fails_record(void)
{
    counts cnt = { 0 };
    aw_lookup lk = { &cnt, "SELECT", bind_bad, row_copy, free_copy };
    fake k;
    fake_init(&k, &lk);
    gots s = { .cnt = &cnt };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 2 };
    aw_op *op = fake_op(&k, &s, cfg);
    ASSERT_EQ(aw_op_push(op, (void *)5, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    ASSERT_EQ(s.len, 1);
    ASSERT_EQ(s.g[0].err, AW_EINVAL);
    ASSERT_STR_CONTAINS(s.g[0].msg, "bind failed");
    ASSERT_EQ(cnt.made, 0);
    fake_fini(&k);
}

CU_TestInfo aw_tests_lookup[] = {
    { "lookup_zero_one_many_rows", lookup_zero_one_many_rows },
    { "lookup_nulls", lookup_nulls },
    { "lookup_text_with_embedded_nul", lookup_text_with_embedded_nul },
    { "lookup_row_failing_part_way_frees_results", lookup_row_failing_part_way_frees_results },
    { "lookup_timed_out_results_freed", lookup_timed_out_results_freed },
    { "lookup_already_settled_results_freed", lookup_already_settled_results_freed },
    { "lookup_accessors_validate", lookup_accessors_validate },
    { "lookup_bind_error_fails_record", lookup_bind_error_fails_record },
    CU_TEST_INFO_NULL
};
