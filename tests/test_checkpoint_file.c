/* Checkpoint files (lib/checkpoint.h): a round trip through a real
 * operator, foreign and missing files, codec and visit errors (and who
 * frees what), and saves that stop (fault hook) or die (SIGKILL in a child
 * process) after each step, leaving the previous checkpoint loadable. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ckpt_test.h"

static char ck_tmpdir[64];                 /* made by the suite init */

static const char *ck_tmp_path(const char *name)
{
    static char p[2][128];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", ck_tmpdir, name);
    return p[k];
}

static void checkpoint_file_round_trip_ordered(void)
{
    ck_codec_ctx cc = { 0 };
    aw_codec codec = ck_item_codec(&cc);
    ck_held h = { 0 };
    ck_log out1 = { 0 }, want = { 0 };
    aw_op *op = ck_new_op(&h, &out1, 64);
    ck_push_items(op, 20);
    void *r3 = (void *)(intptr_t)300, *r1 = (void *)(intptr_t)100;
    ASSERT_EQ(aw_future_complete(h.f[2], &r3, 1), 0);   /* done, but behind 2 */
    ASSERT_EQ(aw_future_complete(h.f[0], &r1, 1), 0);
    ASSERT_EQ(aw_op_poll(op, 0), 1);                    /* only 1 leaves */
    ASSERT_EQ(aw_op_snapshot(op, ck_log_visit, &want), 0);
    ASSERT_EQ(want.n, 19 + 4);                          /* items 2..20, 4 watermarks */
    const char *path = ck_tmp_path("rt.ckpt");
    char err[256] = "";
    const char meta[] = "source-offset=12345";
    int rc = aw_checkpoint_save_err(op, path, &codec, meta, sizeof meta, err, sizeof err);
    if (rc) AW__FAIL("save: %s", err);
    aw_op_free(op);                                     /* the crash: inputs discarded */
    ASSERT_EQ(atomic_load(&ck_live_items), 0);

    ck_held h2 = { .inline_done = 1 };
    ck_log out2 = { 0 };
    op = ck_new_op(&h2, &out2, 8);                      /* smaller: pushes must wait */
    void *m = NULL;
    size_t mlen = 0;
    rc = aw_checkpoint_load_err(path, &codec, aw_checkpoint_push, op, &m, &mlen, err, sizeof err);
    if (rc) AW__FAIL("load: %s", err);
    ASSERT_EQ(aw_op_drain(op), 0);
    ASSERT_EQ(mlen, sizeof meta);
    ASSERT_TRUE(m && memcmp(m, meta, sizeof meta) == 0);
    aw_checkpoint_free(m);
    ASSERT_EQ(out2.n, want.n);
    ASSERT_EQ(out2.bad, 0);
    for (int i = 0; i < want.n && i < out2.n; i++) {
        if (out2.kind[i] != want.kind[i] || out2.ts[i] != want.ts[i] ||
            (want.kind[i] == 'e' && (out2.id[i] != want.id[i] || out2.result[i] != want.id[i] * 100)))
            AW__FAIL("event %d: got %c id %lld ts %lld, want %c id %lld ts %lld", i, out2.kind[i],
                     (long long)out2.id[i], (long long)out2.ts[i], want.kind[i],
                     (long long)want.id[i], (long long)want.ts[i]);
    }
    ASSERT_EQ(out2.id[0], 2);
    ASSERT_EQ(out2.kind[4], 'w');
    ASSERT_EQ(cc.frees, 0);
    aw_op_free(op);
    ASSERT_EQ(atomic_load(&ck_live_items), 0);
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t k = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && k == n) ? 0 : -1;
}

static void checkpoint_file_foreign_input(void)
{
    aw_codec codec = ck_item_codec(NULL);
    int visits = 0;
    char err[256];
    const char *path = ck_tmp_path("foreign");
    static const char text[] = "order_id,customer_id,amount\n1,2,3.00\n";
    ASSERT_EQ(write_bytes(path, text, sizeof text - 1), 0);
    ASSERT_EQ(aw_checkpoint_load_err(path, &codec, ck_count_visit, &visits, NULL, NULL, err,
                                     sizeof err), AW_ECORRUPT);
    ASSERT_STR_CONTAINS(err, "not a checkpoint: bad magic at offset 0");
    ASSERT_STR_CONTAINS(err, path);
    unsigned char zeros[100] = { 0 };
    ASSERT_EQ(aw_checkpoint_decode(zeros, sizeof zeros, &codec, ck_count_visit, &visits, NULL,
                                   NULL, err, sizeof err), AW_ECORRUPT);
    size_t len;
    unsigned char *good = ck_small_checkpoint(&len);
    ASSERT_TRUE(good != NULL);
    if (good) {                                 /* a "newer version" with a valid header CRC */
        good[8] = 2;
        uint32_t c = aw_crc32c(0, good, 40);
        for (int i = 0; i < 4; i++) good[40 + i] = (unsigned char)(c >> (8 * i));
        ASSERT_EQ(aw_checkpoint_decode(good, len, &codec, ck_count_visit, &visits, NULL, NULL,
                                       err, sizeof err), AW_ECORRUPT);
        ASSERT_STR_CONTAINS(err, "unsupported version 2 at offset 8");
        free(good);
    }
    int rc = aw_checkpoint_load_err(ck_tmp_path("missing"), &codec, ck_count_visit, &visits,
                                    NULL, NULL, err, sizeof err);
    int e = errno;
    ASSERT_EQ(rc, AW_EIO);
    ASSERT_EQ(e, ENOENT);
    ASSERT_STR_CONTAINS(err, "No such file");
    ASSERT_EQ(aw_checkpoint_load(ck_tmpdir, &codec, ck_count_visit, &visits, NULL, NULL), AW_EIO);
    ASSERT_EQ(visits, 0);
    unlink(path);
}

static int stop_visit(void *ctx, void *input, int64_t ts, bool wm)
{
    int *n = ctx;
    if (++*n == 3) return -77;                  /* refuse the third entry */
    if (!wm) ck_item_free(input);
    return 0;
}

static void checkpoint_file_codec_and_visit_errors(void)
{
    ck_codec_ctx cc = { .fail_encode_at = 3 };
    aw_codec codec = ck_item_codec(&cc);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 16);
    ck_push_items(op, 6);                               /* 1..5, wm, 6 */
    const char *path = ck_tmp_path("codec.ckpt");
    unlink(path);
    char err[256] = "";
    ASSERT_EQ(aw_checkpoint_save_err(op, path, &codec, NULL, 0, err, sizeof err), -42);
    ASSERT_STR_CONTAINS(err, "record 2: codec encode returned -42");
    ASSERT_TRUE(access(path, F_OK) != 0);
    cc.fail_encode_at = 0;
    ASSERT_EQ(aw_checkpoint_save_err(op, path, &codec, NULL, 0, err, sizeof err), 0);

    cc.fail_decode_at = 4;                      /* decodes 1..3 freed, none visited */
    int visits = 0;
    void *m = (void *)1;
    ASSERT_EQ(aw_checkpoint_load_err(path, &codec, ck_count_visit, &visits, &m, NULL, err,
                                     sizeof err), -43);
    ASSERT_STR_CONTAINS(err, "entry 3 at offset");
    ASSERT_EQ(visits, 0);
    ASSERT_EQ(cc.frees, 3);
    ASSERT_TRUE(m == NULL);
    ASSERT_EQ(atomic_load(&ck_live_items), 6);  /* only op's own inputs */

    cc.fail_decode_at = 0;
    cc.frees = 0;
    int n = 0;                                  /* visit 1, 2 take theirs; 3..6 freed */
    ASSERT_EQ(aw_checkpoint_load_err(path, &codec, stop_visit, &n, NULL, NULL, err, sizeof err), -77);
    ASSERT_EQ(n, 3);
    ASSERT_EQ(cc.frees, 4);
    ASSERT_EQ(atomic_load(&ck_live_items), 6);
    aw_op_free(op);
    ASSERT_EQ(atomic_load(&ck_live_items), 0);
    unlink(path);
}

static void checkpoint_file_bad_arguments(void)
{
    aw_codec codec = ck_item_codec(NULL), nodec = { 0 };
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 4);
    char err[200] = "";
    ASSERT_EQ(aw_checkpoint_save(NULL, ck_tmp_path("x"), &codec, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_save(op, NULL, &codec, NULL, 0), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_save_err(op, "", &codec, NULL, 0, err, sizeof err), AW_EINVAL);
    ASSERT_STR_CONTAINS(err, "path is empty");
    ASSERT_EQ(aw_checkpoint_load("x", NULL, ck_count_visit, NULL, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_load("x", &nodec, ck_count_visit, NULL, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_load("x", &codec, NULL, NULL, NULL, NULL), AW_EINVAL);
    ASSERT_EQ(aw_checkpoint_load(NULL, &codec, ck_count_visit, NULL, NULL, NULL), AW_EINVAL);
    int rc = aw_checkpoint_save_err(op, "/nonexistent-dir/x.ckpt", &codec, NULL, 0, err, sizeof err);
    int e = errno;
    ASSERT_EQ(rc, AW_EIO);
    ASSERT_EQ(e, ENOENT);
    ASSERT_STR_CONTAINS(err, "create failed");
    aw_op_free(op);
}

/* --------------------------------------- saves that stop or die */

static int stop_at_step(void *ctx, int step) { return step == *(int *)ctx; }

static int kill_at_step(void *ctx, int step)
{
    if (step == *(int *)ctx) raise(SIGKILL);
    return 0;
}

/* Loads path: 0 and the meta's first bytes in v (which checkpoint it is),
 * with every entry visited; or the load's code. */
static int which(const char *path, char v[3], int *visits)
{
    aw_codec codec = ck_item_codec(NULL);
    void *m = NULL;
    size_t mlen = 0;
    char err[256] = "";
    *visits = 0;
    int rc = aw_checkpoint_load_err(path, &codec, ck_count_visit, visits, &m, &mlen, err, sizeof err);
    if (rc) AW__FAIL("load %s: %s", path, err);
    snprintf(v, 3, "%s", m && mlen == 2 ? (char *)m : "??");
    aw_checkpoint_free(m);
    return rc;
}

static void checkpoint_file_fault_keeps_old(void)
{
    aw_codec codec = ck_item_codec(NULL);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 16);
    ck_push_items(op, 6);                               /* 7 entries */
    const char *path = ck_tmp_path("fault.ckpt");
    char tmp[160], v[3], err[256];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int visits;
    for (int step = AW__CKPT_ENCODED; step <= AW__CKPT_DIR_SYNCED; step++) {
        unlink(tmp);
        ASSERT_EQ(aw_checkpoint_save(op, path, &codec, "v1", 2), 0);
        aw__checkpoint_fault_point(stop_at_step, &step);
        err[0] = 0;
        ASSERT_EQ(aw_checkpoint_save_err(op, path, &codec, "v2", 2, err, sizeof err), AW_EIO);
        aw__checkpoint_fault_point(NULL, NULL);
        ASSERT_STR_CONTAINS(err, "fault injected after step");
        ASSERT_EQ(which(path, v, &visits), 0);
        ASSERT_EQ(visits, 7);
        if (strcmp(v, step >= AW__CKPT_RENAMED ? "v2" : "v1"))
            AW__FAIL("after a fault at step %d the file holds %s", step, v);
        int left = access(tmp, F_OK) == 0;              /* a crash's leftover */
        ASSERT_EQ(left, step >= AW__CKPT_OPENED && step <= AW__CKPT_SYNCED);
    }
    ASSERT_EQ(aw_checkpoint_save(op, path, &codec, "v2", 2), 0);
    ASSERT_TRUE(access(tmp, F_OK) != 0);                /* the next save replaced it */
    ASSERT_EQ(which(path, v, &visits), 0);
    ASSERT_TRUE(strcmp(v, "v2") == 0);
    aw_op_free(op);
    unlink(path);
}

/* A child process dies by SIGKILL right after each step of a save. */
static void checkpoint_file_killed_during_save(void)
{
    aw_codec codec = ck_item_codec(NULL);
    ck_held h = { 0 };
    ck_log l = { 0 };
    aw_op *op = ck_new_op(&h, &l, 16);
    ck_push_items(op, 6);
    const char *path = ck_tmp_path("kill.ckpt");
    char v[3];
    int visits;
    for (int step = AW__CKPT_ENCODED; step <= AW__CKPT_DIR_SYNCED; step++) {
        ASSERT_EQ(aw_checkpoint_save(op, path, &codec, "v1", 2), 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            aw__checkpoint_fault_point(kill_at_step, &step);
            aw_checkpoint_save(op, path, &codec, "v2", 2);
            _exit(3);                                   /* not killed: the parent fails */
        }
        ASSERT_TRUE(pid > 0);
        int st = 0;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
            AW__FAIL("step %d: child was not killed (status 0x%x)", step, st);
        ASSERT_EQ(which(path, v, &visits), 0);
        ASSERT_EQ(visits, 7);
        if (strcmp(v, step >= AW__CKPT_RENAMED ? "v2" : "v1"))
            AW__FAIL("killed after step %d: the file holds %s", step, v);
    }
    aw_op_free(op);
    unlink(path);
}

int aw_checkpoint_file_suite_init(void)
{
    snprintf(ck_tmpdir, sizeof ck_tmpdir, "/tmp/aw_ckpt_XXXXXX");
    return mkdtemp(ck_tmpdir) ? 0 : -1;
}

int aw_checkpoint_file_suite_clean(void)
{
    static const char *const names[] = { "rt.ckpt", "foreign", "codec.ckpt", "fault.ckpt",
                                         "fault.ckpt.tmp", "kill.ckpt", "kill.ckpt.tmp" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(ck_tmp_path(names[i]));
    return rmdir(ck_tmpdir) ? -1 : 0;
}

CU_TestInfo aw_tests_checkpoint_file[] = {
    { "checkpoint_file_round_trip_ordered", checkpoint_file_round_trip_ordered },
    { "checkpoint_file_foreign_input", checkpoint_file_foreign_input },
    { "checkpoint_file_codec_and_visit_errors", checkpoint_file_codec_and_visit_errors },
    { "checkpoint_file_bad_arguments", checkpoint_file_bad_arguments },
    { "checkpoint_file_fault_keeps_old", checkpoint_file_fault_keeps_old },
    { "checkpoint_file_killed_during_save", checkpoint_file_killed_during_save },
    CU_TEST_INFO_NULL
};
