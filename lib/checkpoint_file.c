/* Checkpoint files: atomic save (temp file, fsync, rename, fsync of the
 * directory) and load, with the test-only fault hook between the steps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "checkpoint.h"
#include "error_int.h"

static int (*fault_hook)(void *ctx, int step);
static void *fault_ctx;

void aw__checkpoint_fault_point(int (*hook)(void *ctx, int step), void *ctx)
{
    fault_hook = hook;
    fault_ctx = ctx;
}

static const char *const step_names[] = {
    "", "encoded", "temp file created", "written", "synced", "renamed", "directory synced"
};

/* After step: 1 if the test hook says stop here. */
static int faulted(int step, char *err, size_t errlen)
{
    if (!fault_hook || !fault_hook(fault_ctx, step)) return 0;
    aw__errf(err, errlen, AW_EIO, "fault injected after step %d (%s)", step, step_names[step]);
    errno = EIO;
    return 1;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync of the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    if (rc && (errno == EINVAL || errno == EROFS)) rc = 0;   /* cannot sync directories here */
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

int aw_checkpoint_save_err(aw_op *op, const char *path, const aw_codec *codec,
                           const void *meta, size_t meta_len, char *err, size_t errlen)
{
    if (!path || !*path) {
        return aw__errf(err, errlen, AW_EINVAL,
                        "aw_checkpoint_save: path is %s", path ? "empty" : "NULL");
    }
    unsigned char *buf;
    size_t len;
    int rc = aw_checkpoint_encode_alloc(op, codec, meta, meta_len, &buf, &len, err, errlen);
    if (rc) return rc;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 5);
    if (!tmp) {
        aw_checkpoint_free(buf);
        return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    const char *what = "";
    int fd = -1, e;
    if (faulted(AW__CKPT_ENCODED, err, errlen)) goto crashed;
    what = "create";
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0) goto fail;
    if (faulted(AW__CKPT_OPENED, err, errlen)) goto crashed;
    what = "write";
    if (write_all(fd, buf, len)) goto fail;
    if (faulted(AW__CKPT_WRITTEN, err, errlen)) goto crashed;
    what = "fsync";
    if (fsync(fd)) goto fail;
    what = "close";
    rc = close(fd);
    fd = -1;
    if (rc) goto fail;
    if (faulted(AW__CKPT_SYNCED, err, errlen)) goto crashed;
    what = "rename";
    if (rename(tmp, path)) goto fail;
    if (faulted(AW__CKPT_RENAMED, err, errlen)) goto crashed;
    if (sync_dir(path)) {
        e = errno;
        aw__errf(err, errlen, AW_EIO, "%s: renamed into place, but the directory fsync failed: %s",
                 path, strerror(e));
        goto out;
    }
    if (faulted(AW__CKPT_DIR_SYNCED, err, errlen)) goto crashed;
    free(tmp);
    aw_checkpoint_free(buf);
    return 0;
fail:
    e = errno;
    aw__errf(err, errlen, AW_EIO, "%s: %s failed: %s", tmp, what, strerror(e));
    if (fd >= 0) close(fd);
    unlink(tmp);
    goto out;
crashed:                                   /* as a crash would: temp file stays */
    e = EIO;
    if (fd >= 0) close(fd);
out:
    free(tmp);
    aw_checkpoint_free(buf);
    errno = e;
    return AW_EIO;
}

int aw_checkpoint_save(aw_op *op, const char *path, const aw_codec *codec,
                       const void *meta, size_t meta_len)
{
    return aw_checkpoint_save_err(op, path, codec, meta, meta_len, NULL, 0);
}

/* Reads the whole file into *out (malloc'd). 0 or -1 with errno. */
static int read_file(const char *path, unsigned char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st)) goto fail;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto fail;
    }
    size_t cap = (size_t)st.st_size, n = 0;
    unsigned char *p = malloc(cap ? cap : 1);
    if (!p) goto fail;
    while (n < cap) {
        ssize_t k = read(fd, p + n, cap - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            free(p);
            errno = e;
            goto fail;
        }
        if (k == 0) break;                 /* shrank meanwhile: decode will say */
        n += (size_t)k;
    }
    close(fd);
    *out = p;
    *len = n;
    return 0;
fail:;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int aw_checkpoint_load_err(const char *path, const aw_codec *codec,
                           int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                           void *ctx, void **meta, size_t *meta_len, char *err, size_t errlen)
{
    if (meta) *meta = NULL;
    if (meta_len) *meta_len = 0;
    if (!path || !*path || !codec || !codec->decode || !visit) {
        return aw__errf(err, errlen, AW_EINVAL, "aw_checkpoint_load: %s", !path ? "path is NULL" :
                        !*path ? "path is empty" : !codec ? "codec is NULL" :
                        !codec->decode ? "codec->decode is NULL" : "visit is NULL");
    }
    unsigned char *buf;
    size_t len;
    if (read_file(path, &buf, &len)) {
        int e = errno;
        int rc = aw__errf(err, errlen, e == ENOMEM ? AW_ENOMEM : AW_EIO, "%s: %s", path, strerror(e));
        errno = e;
        return rc;
    }
    char why[400] = "";
    int rc = aw_checkpoint_decode(buf, len, codec, visit, ctx, meta, meta_len, why, sizeof why);
    free(buf);
    if (rc) aw__errf(err, errlen, rc, "%s: %s", path, why);
    return rc;
}

int aw_checkpoint_load(const char *path, const aw_codec *codec,
                       int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                       void *ctx, void **meta, size_t *meta_len)
{
    return aw_checkpoint_load_err(path, codec, visit, ctx, meta, meta_len, NULL, 0);
}
