/* The fault-test harness (tests/fault_test.h): the tally sink, the four
 * scenarios every adapter must survive, and the fault test's driver --
 * a thread that ends connections and halts/resumes the server at points
 * the pushing thread names. Store-agnostic: the stores' bits come in an
 * ft_store. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include "fault_test.h"

double ft_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int ft_bind_key(void *ctx, void *input, aw_params *p) { return aw_params_int64(p, 0, (intptr_t)input); }

int ft_row_int(void *ctx, void *input, const aw_row *r, void **out)
{
    int64_t *v = malloc(sizeof *v);
    if (!v) return AW_ENOMEM;
    *v = aw_row_int64(r, 0);
    *out = v;
    return 0;
}

void ft_free_res(void *ctx, void *r) { free(r); }

bool ft_check_id(const ft_tally *t, intptr_t rec, const void *res) { return *(const int64_t *)res == rec; }

int ft_bind_sbtest(void *ctx, void *input, aw_params *p)
{
    return aw_params_int64(p, 0, ft_sb_key((intptr_t)input, *(const long *)ctx));
}

bool ft_check_sbtest(const ft_tally *t, intptr_t rec, const void *res)
{
    return *(const int64_t *)res == ft_sb_key(rec, t->keys) * 7919 % 100003;
}

/* ------------------------------------------------------------ the tally */

static void t_end(ft_tally *t, intptr_t in)
{
    if (in < 1 || in > t->n || t->ends[in]++) t->dup++;
}

static void t_emit(void *ctx, void *input, void *const *res, size_t n, int64_t ts)
{
    ft_tally *t = ctx;
    t_end(t, (intptr_t)input);
    t->emitted++;
    if (t->check && (n != 1 || !t->check(t, (intptr_t)input, res[0]))) t->wrong++;
    for (size_t i = 0; i < n; i++) free(res[i]);
}

static void t_error(void *ctx, void *input, int err, const char *msg)
{
    ft_tally *t = ctx;
    t_end(t, (intptr_t)input);
    if (t->want && strstr(msg, t->want)) t->want_seen++;
    if (!t->failed++) {
        if (getenv("AW_DEBUG")) fprintf(stderr, "first error at %.3f: input %ld\n", ft_now_s(), (long)(intptr_t)input);
        t->first_err = err;
        snprintf(t->first_msg, sizeof t->first_msg, "%s", msg);
    }
}

static void t_discard(void *ctx, void *input)
{
    ft_tally *t = ctx;
    t_end(t, (intptr_t)input);
    t->discarded++;
}

aw_sink ft_sink(ft_tally *t)
{
    return (aw_sink){ .ctx = t, .emit = t_emit, .error = t_error, .discard = t_discard, .release = ft_free_res };
}

/* -------------------------------------------------------- the scenarios */

aw_adapter *ft_open(const ft_store *s, const char *uri, const char *sql, aw_lookup *l)
{
    char err[1024];
    if (!l->sql) *l = (aw_lookup){ .sql = sql, .bind = ft_bind_key, .row = s->row, .free_result = ft_free_res };
    aw_adapter *a = NULL;
    int rc = aw_adapter_open(&a, uri, l, err, sizeof err);
    if (rc) AW__FAIL("open: %s: %.900s", aw_err_name(rc), err);
    return a;
}

/* An operator of cfg over a's function, its sink the tally t. */
static aw_op *op_of(aw_adapter *a, const aw_config *cfg, ft_tally *t)
{
    aw_sink sink = ft_sink(t);
    aw_op *op = NULL;
    ASSERT_EQ(aw_op_new(&op, cfg, aw_adapter_function(a), &sink), 0);
    return op;
}

void ft_read_timeout(const ft_store *s, const char *uri, const char *sql, intptr_t input,
                     const char *words, double max_s)
{
    aw_lookup l = { 0 };
    aw_adapter *a = ft_open(s, uri, sql, &l);
    if (!a) return;
    ft_tally t = { .n = input, .ends = calloc((size_t)input + 1, 1) };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 4 };
    aw_op *op = op_of(a, &cfg, &t);
    double t0 = ft_now_s();
    ASSERT_EQ(aw_op_push(op, (void *)input, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    double dt = ft_now_s() - t0;
    aw_op_free(op);
    ASSERT_EQ(t.failed, 1);
    ASSERT_EQ(t.first_err, AW_ECONN);
    if (words) ASSERT_STR_CONTAINS(t.first_msg, words);
    if (dt >= max_s) AW__FAIL("the read timeout took %.3f s, wanted under %.1f", dt, max_s);
    free(t.ends);
    aw_adapter_close(a);
}

void ft_timeout_while_queued(const ft_store *s, const char *uri, const char *sql, const char *want)
{
    aw_lookup l = { 0 };
    aw_adapter *a = ft_open(s, uri, sql, &l);
    if (!a) return;
    ft_tally t = { .n = 4, .ends = calloc(5, 1), .want = want };
    aw_config cfg = { .mode = AW_UNORDERED, .capacity = 4, .timeout_ms = 100 };
    aw_op *op = op_of(a, &cfg, &t);
    for (intptr_t i = 1; i <= 4; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    double t0 = ft_now_s();
    ASSERT_EQ(aw_op_drain(op), 0);
    double dt = ft_now_s() - t0;
    aw_op_free(op);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(t.failed, 4);
    if (want) ASSERT_EQ(t.want_seen, 3);
    ASSERT_EQ(t.first_err, AW_ETIMEDOUT);
    ASSERT_TRUE(dt < 0.7);                 /* nobody waited for the 1 s query */
    free(t.ends);
    aw_adapter_close(a);
}

void ft_close_while_busy(const ft_store *s, const char *uri, const char *sql, double max_s)
{
    aw_lookup l = { 0 };
    aw_adapter *a = ft_open(s, uri, sql, &l);
    if (!a) return;
    ft_tally t = { .n = 64, .ends = calloc(65, 1) };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 64 };
    aw_op *op = op_of(a, &cfg, &t);
    for (intptr_t i = 1; i <= 64; i++) ASSERT_EQ(aw_op_try_push(op, (void *)i, 0), 0);
    double t0 = ft_now_s();
    aw_op_free(op);                    /* records of 1..64 ms are in flight */
    double dt = ft_now_s() - t0;
    if (dt >= max_s) AW__FAIL("aw_op_free took %.3f s, wanted under %.1f", dt, max_s);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(t.emitted + t.failed + t.discarded, 64);
    ASSERT_TRUE(t.discarded > 0);
    free(t.ends);
    aw_adapter_close(a);
}

/* The lookup's ctx: the adapter to close, and the store's row callback. */
typedef struct closer { aw_adapter *a; const ft_store *s; } closer;

static int row_closing(void *ctx, void *input, const aw_row *r, void **out)
{
    closer *c = ctx;
    aw_adapter_close(c->a);
    const aw_function *fn = aw_adapter_function(c->a);
    fn->close(fn->ctx);
    return c->s->row(NULL, input, r, out);
}

void ft_close_from_callback(const ft_store *s, const char *uri, const char *sql, ft_check check)
{
    closer c = { .s = s };
    aw_lookup l = { .ctx = &c, .sql = sql, .bind = ft_bind_key, .row = row_closing, .free_result = ft_free_res };
    c.a = ft_open(s, uri, sql, &l);
    if (!c.a) return;
    ft_tally t = { .n = 100, .ends = calloc(101, 1), .check = check };
    aw_config cfg = { .mode = AW_ORDERED, .capacity = 8 };
    aw_op *op = op_of(c.a, &cfg, &t);
    for (intptr_t i = 1; i <= 100; i++) ASSERT_EQ(aw_op_push(op, (void *)i, 0), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    aw_op_free(op);
    ASSERT_EQ(t.emitted, 100);
    ASSERT_EQ(t.wrong, 0);
    free(t.ends);
    aw_adapter_close(c.a);
}

/* ------------------------------------------------------- the fault test */

/* The faults run on their own thread, at points the pushing thread names:
 * 'k' ends every connection of the adapter's user, 'r' halts the server,
 * says so, and starts it again once records have met it down (met: the
 * pushing thread saw a retry) or after 30 s. */
typedef struct faults {
    const ft_store *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char todo[8];
    int ntodo;
    bool halted, met, quit;
    int kills, killed, restarts, errors;
    char err[200];
} faults;

static void *fault_main(void *arg)
{
    faults *f = arg;
    if (f->s->thread_init) f->s->thread_init();
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (!f->ntodo && !f->quit) pthread_cond_wait(&f->cv, &f->mu);
        if (!f->ntodo) break;
        char what = f->todo[0];
        memmove(f->todo, f->todo + 1, (size_t)--f->ntodo);
        pthread_mutex_unlock(&f->mu);
        int rc = 0, n = 0;
        if (what == 'k') {
            n = f->s->kill_all();
            rc = n < 0;
        } else {
            rc = f->s->ctl("halt");
            pthread_mutex_lock(&f->mu);
            f->halted = true;
            pthread_cond_broadcast(&f->cv);
            struct timespec until = deadline_in(30);
            while (!f->met && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0) { }
            pthread_mutex_unlock(&f->mu);
            rc = rc || f->s->ctl("resume");
        }
        pthread_mutex_lock(&f->mu);
        if (what == 'k') { f->kills++; f->killed += n > 0 ? n : 0; } else f->restarts++;
        if (rc && !f->errors++) snprintf(f->err, sizeof f->err, "fault '%c' failed", what);
    }
    pthread_mutex_unlock(&f->mu);
    if (f->s->thread_end) f->s->thread_end();
    return NULL;
}

static void order_fault(faults *f, char what)
{
    pthread_mutex_lock(&f->mu);
    f->todo[f->ntodo++] = what;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static bool retry_conn(void *ctx, void *input, int err) { return err == AW_ECONN; }

/* With the server halted: pushes records from *i on (without waiting when
 * full) and polls until one has met the server down (a retry), then lets
 * the fault thread start it again. Gives up after 30 s (the test's
 * st.retried check then fails). 0 or the failed call's code. */
static int meet_halted(aw_op *op, faults *f, long *i, long n)
{
    double end = ft_now_s() + 30;
    aw_stats st = { 0 };
    int rc = 0;
    while (rc >= 0 && st.retried == 0 && ft_now_s() < end) {
        if (*i <= n) {
            rc = aw_op_try_push(op, (void *)(intptr_t)*i, 0);
            if (rc == 0) ++*i;
            else if (rc != AW_EAGAIN) break;
        }
        rc = aw_op_poll(op, 5);
        if (rc >= 0) rc = aw_op_stats(op, &st);
    }
    pthread_mutex_lock(&f->mu);
    f->met = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return rc < 0 ? rc : 0;
}

/* Pushes records 1..n, the faults at their points; 0 or the failed call's code. */
static int push_with_faults(aw_op *op, faults *f, long n)
{
    if (getenv("AW_DEBUG")) fprintf(stderr, "start at %.3f\n", ft_now_s());
    bool restarted = false;
    for (long i = 1; i <= n; ) {
        if (i == n / 5 || i == 4 * n / 5) order_fault(f, 'k');
        if (i == n / 2 && !restarted) {
            restarted = true;
            /* Go on only once the server is down, so records meet it. */
            order_fault(f, 'r');
            struct timespec until = deadline_in(60);
            pthread_mutex_lock(&f->mu);
            while (!f->halted && pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0) { }
            ASSERT_TRUE(f->halted);
            pthread_mutex_unlock(&f->mu);
            int rc = meet_halted(op, f, &i, n);
            if (rc) return rc;
            continue;
        }
        int rc = aw_op_push(op, (void *)(intptr_t)i, 0);
        if (rc) return rc;
        i++;
    }
    return 0;
}

void ft_fault_test(const ft_store *s, const char *uri, const aw_lookup *l, aw_mode mode,
                   ft_check check, long keys, int conns, const char *label)
{
    enum { N = 100000 };
    char err[1024];
    aw_adapter *a = NULL;
    ASSERT_EQ(aw_adapter_open(&a, uri, l, err, sizeof err), 0);
    if (!a) { AW__FAIL("open: %.900s", err); return; }
    ft_tally t = { .n = N, .ends = calloc(N + 1, 1), .check = check, .keys = keys };
    aw_config cfg = { .mode = getenv("AW_MODE") ? (aw_mode)atoi(getenv("AW_MODE")) : mode, .capacity = 64,
                      .timeout_ms = 120000,
                      .retry = { .max_attempts = 1000, .delay_ms = 5, .multiplier = 2,
                                 .max_delay_ms = 100, .if_error = retry_conn } };
    aw_op *op = op_of(a, &cfg, &t);
    faults f = { .s = s };
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, fault_main, &f), 0);
    ASSERT_EQ(push_with_faults(op, &f, N), 0);
    ASSERT_EQ(aw_op_drain(op), 0);
    pthread_mutex_lock(&f.mu);
    f.quit = true;
    pthread_cond_signal(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(th, NULL);
    aw_stats st;
    aw_op_stats(op, &st);
    aw_op_free(op);
    uint64_t lost = 0, reconnects = 0;
    ASSERT_EQ(s->conn_stats(a, &lost, &reconnects), 0);
    aw_adapter_close(a);
    if (f.errors) AW__FAIL("%s", f.err);
    ASSERT_EQ(f.kills, 2);
    ASSERT_EQ(f.restarts, 1);
    ASSERT_TRUE(f.killed >= conns);
    /* Every record ended exactly once: emitted or reported. */
    long missing = 0;
    for (long i = 1; i <= N; i++) missing += t.ends[i] == 0;
    ASSERT_EQ(missing, 0);
    ASSERT_EQ(t.dup, 0);
    ASSERT_EQ(t.emitted + t.failed, N);
    ASSERT_EQ(t.discarded, 0);
    ASSERT_EQ(t.wrong, 0);
    if (t.failed) AW__FAIL("%ld records failed although retry was on; first: %s: %s", t.failed,
                           aw_err_name(t.first_err), t.first_msg);
    ASSERT_TRUE(st.retried > 0);
    ASSERT_TRUE(lost >= (uint64_t)conns);
    ASSERT_TRUE(reconnects >= (uint64_t)conns);
    printf("\n    [%s: %ld emitted, %ld failed, %" PRIu64 " retries, %" PRIu64 " connections lost, "
           "%" PRIu64 " reconnects, %d %s] ", label, t.emitted, t.failed, st.retried, lost, reconnects,
           f.killed, s->killed);
    free(t.ends);
    pthread_mutex_destroy(&f.mu);
    pthread_cond_destroy(&f.cv);
}
