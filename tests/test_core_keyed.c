/* AW_KEY_ORDERED: per-key order under every completion order, keys that
 * overtake each other, per_key_limit 1 and k, retries and timeouts,
 * watermarks, snapshot/restore through the checkpoint code, aw_op_free,
 * completions from another thread, and the argument checks. Inputs are
 * small integers; key_of reads the key from a table (or input % K). */
#include "core_test.h"
#include "checkpoint.h"

static intptr_t g_keys[4096];     /* key of input i, for key_table */

static uint64_t key_table(void *ctx, const void *input)
{
    (void)ctx;
    return (uint64_t)g_keys[(intptr_t)input];
}

static uint64_t key_mod(void *ctx, const void *input)
{
    return (uint64_t)((intptr_t)input % *(const int *)ctx);
}

static aw_config keyed_cfg(size_t capacity, size_t limit)
{
    aw_config cfg = { .mode = AW_KEY_ORDERED, .capacity = capacity, .key_of = key_table,
                      .per_key_limit = limit };
    return cfg;
}

/* Sets the key table (keys[i], the key of input i; size bytes of them)
 * and opens x (see fx_open) over cfg. */
static aw_op *keyed_open(fx *x, const intptr_t *keys, size_t size, aw_config cfg, int flags)
{
    memcpy(g_keys, keys, size);
    return fx_open(x, cfg, flags);
}

/* The model: with done[i] (record i completed) for records 1..n pushed
 * in order, with watermark after record wm_after[j], which records and
 * watermarks have left? A record leaves when done, when every earlier
 * record of its key left, and when every earlier watermark left; a
 * watermark leaves when everything before it left. Returns how many
 * events (records + watermarks) have left. */
static size_t model_left(int n, const char *done, const int *wm_after, int nwm)
{
    char left[512] = { 0 };
    size_t out = 0;
    int w = 0;
    bool seg_open = true;          /* every earlier watermark has left */
    bool all_before = true;        /* every record so far has left */
    for (int i = 1; i <= n; i++) {
        bool ok = done[i] && seg_open;
        for (int j = 1; ok && j < i; j++)
            if (g_keys[j] == g_keys[i] && !left[j]) ok = false;
        left[i] = ok;
        out += ok;
        if (!ok) all_before = false;
        while (w < nwm && wm_after[w] == i) {
            if (all_before && seg_open) out++; else seg_open = false;
            w++;
        }
    }
    return out;
}

/* Checks a sink's events against the rule: per key, push order; no
 * record crosses a watermark (wm ts j follows record wm_after[j]). */
static long rule_violations(const rec_sink *rs, const int *wm_after, int nwm)
{
    long bad = 0;
    intptr_t last[4096];
    for (int i = 0; i < 4096; i++) last[i] = 0;
    int wms = 0;
    for (size_t k = 0; k < rs->len; k++) {
        const rec_event *e = &rs->ev[k];
        if (e->kind == 'w') {
            if (e->ts != wms) bad++;
            wms++;
            continue;
        }
        intptr_t key = g_keys[e->input];
        if (e->input <= last[key]) bad++;
        last[key] = e->input;
        int seg = 0;                   /* watermarks before this record */
        while (seg < nwm && wm_after[seg] < e->input) seg++;
        if (seg != wms) bad++;
    }
    return bad;
}

/* Every completion order of 6 records with keys A A B A B C and a
 * watermark after the 4th (6! = 720 orders): after each completion what
 * may leave has left, and nothing else. */
static void core_keyed_every_completion_order(void)
{
    enum { N = 6 };
    intptr_t keys[N + 1] = { 0, 1, 1, 2, 1, 2, 3 };
    int wm_after[] = { 4 };
    int perm[N];
    for (int i = 0; i < N; i++) perm[i] = i;
    long bad = 0, orders = 0;
    for (;;) {
        fx x;
        aw_op *op = keyed_open(&x, keys, sizeof keys, keyed_cfg(8, 0), 0);
        for (intptr_t i = 1; i <= N; i++) {
            if (aw_op_push(op, (void *)i, i) != 0) bad++;
            if (i == 4 && aw_op_watermark(op, 0) != 0) bad++;
        }
        if (x.p.n != N) bad++;
        char done[N + 1] = { 0 };
        for (int c = 0; c < N; c++) {
            int i = perm[c];
            if (park_done(&x.p, i, x.p.in[i] * 7) != 0) bad++;
            done[x.p.in[i]] = 1;
            aw_op_poll(op, 0);
            if (x.rs.len != model_left(N, done, wm_after, 1)) bad++;
        }
        if (x.rs.len != N + 1 || rule_violations(&x.rs, wm_after, 1)) bad++;
        for (size_t k = 0; k < x.rs.len; k++)
            if (x.rs.ev[k].kind == 'e' && x.rs.ev[k].first != x.rs.ev[k].input * 7) bad++;
        fx_close(&x);
        orders++;
        /* next permutation */
        int k = N - 2;
        while (k >= 0 && perm[k] > perm[k + 1]) k--;
        if (k < 0) break;
        int l = N - 1;
        while (perm[l] < perm[k]) l--;
        int t = perm[k]; perm[k] = perm[l]; perm[l] = t;
        for (int a = k + 1, b = N - 1; a < b; a++, b--) { t = perm[a]; perm[a] = perm[b]; perm[b] = t; }
    }
    ASSERT_EQ(orders, 720);
    ASSERT_EQ(bad, 0);
}

/* 300 records over 7 keys, watermarks now and then, random completion
 * order, checked against the model after every completion. */
static void core_keyed_random_completion(void)
{
    enum { N = 300 };
    int wm_after[64], nwm = 0;
    uint64_t g = 77;
    for (int i = 1; i <= N; i++) g_keys[i] = (intptr_t)(lcg_next(&g) % 7);
    fx x;
    aw_op *op = fx_open(&x, keyed_cfg(400, 0), 0);
    for (intptr_t i = 1; i <= N; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)i, i), 0);
        if (lcg_next(&g) % 40 == 0 && nwm < 64) {
            ASSERT_EQ(aw_op_watermark(op, nwm), 0);
            wm_after[nwm++] = (int)i;
        }
    }
    int order[N];
    shuffle(order, N, 4242);
    char done[N + 1] = { 0 };
    long mismatches = 0;
    for (int c = 0; c < N; c++) {
        int i = order[c];
        ASSERT_EQ(park_done(&x.p, i, x.p.in[i]), 0);
        done[x.p.in[i]] = 1;
        aw_op_poll(op, 0);
        if (x.rs.len != model_left(N, done, wm_after, nwm)) mismatches++;
    }
    ASSERT_EQ(mismatches, 0);
    ASSERT_EQ(x.rs.len, (size_t)(N + nwm));
    ASSERT_EQ(rule_violations(&x.rs, wm_after, nwm), 0);
    ASSERT_EQ(aw_op_in_flight(op), 0);
    fx_close(&x);
}

/* A slow record holds back only its own key. */
static void core_keyed_other_keys_overtake(void)
{
    intptr_t keys[] = { 0, 10, 20, 10, 30, 20 };
    fx x;
    aw_op *op = keyed_open(&x, keys, sizeof keys, keyed_cfg(8, 0), 0);
    for (intptr_t i = 1; i <= 5; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(x.p.n, 5);                        /* no limit: all invoked */
    ASSERT_EQ(park_done(&x.p, 2, 1), 0);        /* record 3, key 10: behind 1 */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    ASSERT_EQ(park_done(&x.p, 4, 1), 0);        /* record 5, key 20: behind 2 */
    ASSERT_EQ(park_done(&x.p, 3, 1), 0);        /* record 4, key 30: free */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(park_done(&x.p, 1, 1), 0);        /* record 2 and then 5 */
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    EXPECT_EVENTS(&x.rs, "eee", 4, 2, 5);
    ASSERT_EQ(aw_op_in_flight(op), 2);
    ASSERT_EQ(park_done(&x.p, 0, 1), 0);        /* record 1 and then 3 */
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    EXPECT_EVENTS(&x.rs, "eeeee", 4, 2, 5, 1, 3);
    fx_free_op(&x);
    ASSERT_EQ(rec_count(&x.rs, 'd'), 0);
    fx_close(&x);
}

/* per_key_limit 1: a record of a key is invoked only after the one
 * before it left; other keys are not held back. */
static void core_keyed_limit_one(void)
{
    intptr_t keys[] = { 0, 1, 1, 2, 1, 2 };
    fx x;
    aw_op *op = keyed_open(&x, keys, sizeof keys, keyed_cfg(5, 1), 0);
    for (intptr_t i = 1; i <= 5; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(x.p.n, 2);                        /* 1 (key 1) and 3 (key 2) */
    ASSERT_EQ(x.p.in[0], 1);
    ASSERT_EQ(x.p.in[1], 3);
    ASSERT_EQ(aw_op_in_flight(op), 5);          /* held records count */
    ASSERT_EQ(aw_op_try_push(op, (void *)6, 0), AW_EAGAIN);
    ASSERT_EQ(park_done(&x.p, 1, 30), 0);       /* 3 leaves, 5 starts */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.p.in[2], 5);
    ASSERT_EQ(park_done(&x.p, 0, 10), 0);       /* 1 leaves, 2 starts */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(x.p.n, 4);
    ASSERT_EQ(x.p.in[3], 2);
    ASSERT_EQ(park_done(&x.p, 3, 20), 0);       /* 2 leaves, 4 starts */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    ASSERT_EQ(x.p.n, 5);
    ASSERT_EQ(x.p.in[4], 4);
    ASSERT_EQ(park_done(&x.p, 4, 40), 0);
    ASSERT_EQ(park_done(&x.p, 2, 50), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "eeeee", 3, 1, 2, 4, 5);
    ASSERT_EQ(x.rs.ev[1].first, 10);
    ASSERT_EQ(x.rs.ev[4].first, 50);
    fx_close(&x);
}

/* per_key_limit 3 with completions in random order: never more than 3
 * records of the key invoked and not yet left, and every one in order. */
static void core_keyed_limit_k(void)
{
    enum { N = 40, K = 3 };
    for (int i = 1; i <= N; i++) g_keys[i] = 5;
    fx x;
    aw_op *op = fx_open(&x, keyed_cfg(N, K), 0);
    for (intptr_t i = 1; i <= N; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(x.p.n, K);
    uint64_t g = 3;
    long over = 0, wrong_start = 0;
    char completed[PARK_MAX] = { 0 };
    while ((int)x.rs.len < N) {
        /* complete a random invoked, not yet completed record */
        int open[PARK_MAX], no = 0;
        for (int i = 0; i < x.p.n; i++) if (!completed[i]) open[no++] = i;
        if (no == 0) { AW__FAIL("nothing to complete with %zu left", x.rs.len); break; }
        int i = open[lcg_next(&g) % (uint32_t)no];
        completed[i] = 1;
        ASSERT_EQ(park_done(&x.p, i, x.p.in[i]), 0);
        aw_op_poll(op, 0);
        if ((size_t)x.p.n - x.rs.len > K) over++;            /* invoked, not left */
        if (x.p.n < N && (size_t)x.p.n - x.rs.len != K) wrong_start++;
        for (int j = 0; j < x.p.n; j++) if (x.p.in[j] != j + 1) wrong_start++;
    }
    ASSERT_EQ(over, 0);
    ASSERT_EQ(wrong_start, 0);
    for (size_t k = 0; k < x.rs.len; k++) ASSERT_EQ(x.rs.ev[k].input, (intptr_t)k + 1);
    fx_close(&x);
}

/* A failed first attempt is retried; the key's next record, done before,
 * waits for it. */
static bool retry_always(void *ctx, void *input, int err) { (void)ctx; (void)input; return err == AW_EQUERY; }

static void core_keyed_retry_keeps_order(void)
{
    intptr_t keys[] = { 0, 1, 1, 2 };
    fx x;
    aw_config cfg = keyed_cfg(4, 0);
    cfg.retry = (aw_retry){ .max_attempts = 2, .delay_ms = 10, .if_error = retry_always };
    aw_op *op = keyed_open(&x, keys, sizeof keys, cfg, FX_CLOCK);
    for (intptr_t i = 1; i <= 3; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_future_fail(x.p.f[0], AW_EQUERY, "first try"), 0);
    ASSERT_EQ(park_done(&x.p, 1, 2), 0);
    ASSERT_EQ(park_done(&x.p, 2, 3), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);            /* only 3 (key 2) */
    EXPECT_EVENTS(&x.rs, "e", 3);
    set_now(&x.clock, 10);
    ASSERT_EQ(aw_op_poll(op, 0), 0);            /* the retry starts */
    ASSERT_EQ(x.p.n, 4);
    ASSERT_EQ(x.p.in[3], 1);
    ASSERT_EQ(park_done(&x.p, 3, 1), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    EXPECT_EVENTS(&x.rs, "eee", 3, 1, 2);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.retried, 1);
    fx_close(&x);
}

/* Timeouts: held records time out from their push without ever being
 * invoked, and leave behind the running one, in order. */
static void core_keyed_timeouts(void)
{
    intptr_t keys[] = { 0, 1, 1, 1, 2 };
    fx x;
    aw_config cfg = keyed_cfg(4, 1);
    cfg.timeout_ms = 100;
    aw_op *op = keyed_open(&x, keys, sizeof keys, cfg, FX_CLOCK);
    ASSERT_EQ(aw_op_push(op, (void *)1, 0), 0);
    set_now(&x.clock, 20);
    ASSERT_EQ(aw_op_push(op, (void *)2, 0), 0);
    ASSERT_EQ(aw_op_push(op, (void *)3, 0), 0);
    set_now(&x.clock, 50);
    ASSERT_EQ(aw_op_push(op, (void *)4, 0), 0);
    ASSERT_EQ(x.p.n, 2);                        /* 1 and 4 */
    ASSERT_EQ(aw_op_next_timer_ms(op), 50);
    set_now(&x.clock, 100);                     /* 1 times out; 2 starts */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    EXPECT_EVENTS(&x.rs, "x", 1);
    ASSERT_EQ(x.rs.ev[0].err, AW_ETIMEDOUT);
    ASSERT_EQ(x.p.n, 3);
    ASSERT_EQ(x.p.in[2], 2);
    ASSERT_EQ(aw_future_complete(x.p.f[0], NULL, 0), AW_ETIMEDOUT); /* late */
    set_now(&x.clock, 120);                     /* 2 (running) and 3 (held) */
    ASSERT_EQ(aw_op_poll(op, 0), 2);
    EXPECT_EVENTS(&x.rs, "xxx", 1, 2, 3);
    ASSERT_EQ(x.p.n, 3);                        /* 3 was never invoked */
    ASSERT_EQ(park_done(&x.p, 1, 44), 0);       /* 4, key 2 */
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "xxxe", 1, 2, 3, 4);
    aw_stats st = op_stats(op);
    ASSERT_EQ(st.timed_out, 3);
    fx_close(&x);
}

/* ------------------------------------------------- snapshot and free */

static int int_encode(void *ctx, const void *input, unsigned char *buf, size_t cap, size_t *len)
{
    (void)ctx;
    *len = sizeof(intptr_t);
    if (cap >= sizeof(intptr_t)) memcpy(buf, &input, sizeof input);
    return 0;
}

static int int_decode(void *ctx, const unsigned char *buf, size_t len, void **input)
{
    (void)ctx;
    if (len != sizeof(intptr_t)) return AW_ECORRUPT;
    memcpy(input, buf, sizeof *input);
    return 0;
}

/* A keyed operator with running, done-but-waiting and held records and
 * a watermark is checkpointed (push order), restored into a new keyed
 * operator, and finishes there in per-key order. */
static void core_keyed_snapshot_restore(void)
{
    intptr_t keys[] = { 0, 1, 2, 1, 1, 2, 3 };
    fx x;
    aw_op *op = keyed_open(&x, keys, sizeof keys, keyed_cfg(8, 2), 0);
    for (intptr_t i = 1; i <= 6; i++) {
        ASSERT_EQ(aw_op_push(op, (void *)i, i * 10), 0);
        if (i == 3) ASSERT_EQ(aw_op_watermark(op, 35), 0);
    }
    ASSERT_EQ(x.p.n, 5);                        /* 4 is held (key 1, limit 2) */
    ASSERT_EQ(park_done(&x.p, 2, 3), 0);        /* 3 done, waits behind 1 */
    ASSERT_EQ(park_done(&x.p, 1, 2), 0);        /* 2 leaves */
    ASSERT_EQ(aw_op_poll(op, 0), 1);
    aw_codec codec = { .encode = int_encode, .decode = int_decode };
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[256] = "";
    ASSERT_EQ(aw_checkpoint_encode_alloc(op, &codec, "m", 1, &buf, &len, err, sizeof err), 0);
    fx_free_op(&x);                             /* discards 1 3 4 5 6, in order */
    EXPECT_EVENTS(&x.rs, "eddddd", 2, 1, 3, 4, 5, 6);
    fx_close(&x);

    op = fx_open(&x, keyed_cfg(8, 2), FX_COMPLETE);
    ASSERT_EQ(aw_checkpoint_decode(buf, len, &codec, aw_checkpoint_push, op, NULL, NULL,
                                   err, sizeof err), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    EXPECT_EVENTS(&x.rs, "eeweee", 1, 3, 35, 4, 5, 6);
    aw_checkpoint_free(buf);
    fx_close(&x);
}

/* aw_op_free hands back every input once, in queue order -- running,
 * done-and-waiting (its result released), held -- and frees the keys. */
static void core_keyed_free_in_flight(void)
{
    intptr_t keys[] = { 0, 1, 1, 1, 2 };
    fx x;
    aw_op *op = keyed_open(&x, keys, sizeof keys, keyed_cfg(4, 2), FX_BOXES);
    for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(x.p.n, 3);                        /* 3 is held */
    ASSERT_EQ(park_done(&x.p, 1, 2), 0);        /* 2 done behind 1 */
    ASSERT_EQ(aw_op_poll(op, 0), 0);
    fx_free_op(&x);
    ASSERT_EQ(x.p.closed, 1);
    EXPECT_EVENTS(&x.rs, "dddd", 1, 2, 3, 4);
    ASSERT_EQ(x.rs.released, 1);
    fx_close(&x);
}

/* --------------------------------------------------- threads, scale */

/* Completions in random order from another thread; 3000 records over 13
 * keys, limit 2: every record once, per-key order. */
static void core_keyed_other_thread(void)
{
    enum { N = 3000 };
    int nk = 13;
    handoff h;
    ASSERT_EQ(handoff_start(&h, 1, 0), 0);
    rec_sink rs;
    rec_sink_init(&rs, N + 8);
    aw_config cfg = { .mode = AW_KEY_ORDERED, .capacity = 64, .key_of = key_mod, .key_ctx = &nk,
                      .per_key_limit = 2 };
    aw_op *op = handoff_op(&cfg, &h, &rs);
    for (intptr_t i = 1; i <= N; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    ASSERT_EQ(rs.len, N);
    long bad = 0;
    intptr_t last[13] = { 0 };
    for (size_t k = 0; k < rs.len; k++) {
        const rec_event *e = &rs.ev[k];
        if (e->kind != 'e' || e->first != e->input + 1000 || e->input <= last[e->input % 13]) bad++;
        last[e->input % 13] = e->input;
    }
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(atomic_load(&h.bad_rc), 0);
    handoff_fini(&h);
    rec_sink_fini(&rs);
}

/* 3000 distinct keys (the key table grows as they arrive), completed in
 * random order from another thread: each leaves as its own key's head. */
static void core_keyed_many_keys(void)
{
    enum { N = 3000 };
    for (int i = 1; i <= N; i++) g_keys[i] = (intptr_t)i * 1000003;
    handoff h;
    ASSERT_EQ(handoff_start(&h, 1, 0), 0);
    rec_sink rs;
    rec_sink_init(&rs, N + 8);
    aw_config cfg = keyed_cfg(N, 1);
    aw_op *op = handoff_op(&cfg, &h, &rs);
    for (intptr_t i = 1; i <= N; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(rec_count(&rs, 'e'), N);
    aw_op_free(op);
    handoff_fini(&h);
    rec_sink_fini(&rs);
}

/* --------------------------------------------------------- arguments */

static void core_keyed_config_checks(void)
{
    park p = { 0 };
    rec_sink rs;
    rec_sink_init(&rs, 4);
    aw_function fn = park_fn(&p);
    aw_sink sink = rec_sink_of(&rs, 1, 1);
    aw_op *op = (aw_op *)&p;
    char err[256];
    aw_config cfg = { .mode = AW_KEY_ORDERED, .capacity = 4 };
    ASSERT_EQ(aw_op_create(&op, &cfg, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_TRUE(op == NULL);
    ASSERT_STR_CONTAINS(err, "key_of");
    aw_config c2 = { .mode = AW_ORDERED, .capacity = 4, .key_of = key_table };
    ASSERT_EQ(aw_op_create(&op, &c2, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "AW_KEY_ORDERED only");
    aw_config c3 = { .mode = AW_UNORDERED, .capacity = 4, .per_key_limit = 2 };
    ASSERT_EQ(aw_op_create(&op, &c3, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "per_key_limit");
    aw_config c4 = { .mode = (aw_mode)(AW_KEY_ORDERED + 1), .capacity = 4, .key_of = key_table };
    ASSERT_EQ(aw_op_create(&op, &c4, &fn, &sink, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "not an aw_mode");
    ASSERT_EQ(p.opened, 0);
    rec_sink_fini(&rs);
}

CU_TestInfo aw_tests_core_keyed[] = {
    { "core_keyed_every_completion_order", core_keyed_every_completion_order },
    { "core_keyed_random_completion", core_keyed_random_completion },
    { "core_keyed_other_keys_overtake", core_keyed_other_keys_overtake },
    { "core_keyed_limit_one", core_keyed_limit_one },
    { "core_keyed_limit_k", core_keyed_limit_k },
    { "core_keyed_retry_keeps_order", core_keyed_retry_keeps_order },
    { "core_keyed_timeouts", core_keyed_timeouts },
    { "core_keyed_snapshot_restore", core_keyed_snapshot_restore },
    { "core_keyed_free_in_flight", core_keyed_free_in_flight },
    { "core_keyed_other_thread", core_keyed_other_thread },
    { "core_keyed_many_keys", core_keyed_many_keys },
    { "core_keyed_config_checks", core_keyed_config_checks },
    CU_TEST_INFO_NULL
};
