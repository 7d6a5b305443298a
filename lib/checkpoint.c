/* Checkpoints in memory: the byte format (docs/checkpoints.md), encoding
 * through aw_op_snapshot, and the validating decode. Saving to and loading
 * from a file (atomically) is checkpoint_file.c's.
 *
 * Layout, all integers little-endian:
 *   header   44 bytes: magic[8] version:u32 flags:u32 total:u64 count:u64
 *                      meta_len:u64 header_crc:u32 (of bytes 0..39)
 *   meta     meta_len bytes, then meta_crc:u32
 *   entries  count x { kind:u8 ('R' record, 'W' watermark) ts:i64 len:u32
 *                      payload[len] crc:u32 (of kind..payload) }
 *   trailer  crc:u32 of every byte before it                               */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "checkpoint.h"
#include "error_int.h"

#define HDR_LEN   44u
#define ENTRY_HDR 13u                     /* kind + ts + len */
#define ENTRY_MIN 17u                     /* ... + crc */
#define MIN_LEN   (HDR_LEN + 4u + 4u)     /* header, meta crc, trailer */
#define VERSION   1u

/* A fuzzing build (make fuzz) reads past wrong CRCs, to explore the rest. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define CRC_BAD(stored, computed) ((void)(stored), (void)(computed), 0)
#else
#define CRC_BAD(stored, computed) ((stored) != (computed))
#endif

static const unsigned char magic[8] = { 0x89, 'A', 'W', 'C', 'K', 'P', 'T', '\n' };

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ------------------------------------------------------------- encoding */

typedef struct writer {
    unsigned char *p;        /* NULL while measuring past a caller's buffer */
    size_t cap;
    size_t len;              /* bytes of the checkpoint so far (may pass cap) */
    int grow;                /* p is ours: realloc instead of overflowing */
    int nomem;
    uint64_t count;
    const aw_codec *codec;
    char *err;
    size_t errlen;
} writer;

/* Makes room for need bytes in all (growing), or says whether they fit. */
static int room(writer *w, size_t need)
{
    if (need <= w->cap) return 1;
    if (!w->grow) return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    unsigned char *p = realloc(w->p, cap);
    if (!p) {
        w->nomem = 1;
        return 0;
    }
    w->p = p;
    w->cap = cap;
    return 1;
}

static int put_entry(void *ctx, void *input, int64_t ts, bool is_watermark)
{
    writer *w = ctx;
    size_t at = w->len, plen = 0;
    if (at > SIZE_MAX - ENTRY_MIN) goto too_big;
    int fits = room(w, at + ENTRY_MIN + (w->grow ? 64 : 0));
    if (w->nomem) goto nomem;
    if (!is_watermark) {
        size_t avail = fits ? w->cap - at - ENTRY_MIN : 0;
        unsigned char *dst = avail ? w->p + at + ENTRY_HDR : NULL;
        int rc = w->codec->encode(w->codec->ctx, input, dst, avail, &plen);
        if (rc == 0 && plen > avail && w->grow) {
            size_t want = plen;
            if (want > SIZE_MAX - ENTRY_MIN - at) goto too_big;
            fits = room(w, at + ENTRY_MIN + want);
            if (w->nomem) goto nomem;
            avail = w->cap - at - ENTRY_MIN;
            rc = w->codec->encode(w->codec->ctx, input, w->p + at + ENTRY_HDR, avail, &plen);
            if (rc == 0 && plen > avail) {
                return aw__errf(w->err, w->errlen, AW_EINVAL,
                                "record %llu: codec encode asked for %zu bytes, "
                                "then for %zu", (unsigned long long)w->count, want, plen);
            }
        }
        if (rc) {
            return aw__errf(w->err, w->errlen, rc, "record %llu: codec encode returned %d (%s)",
                            (unsigned long long)w->count, rc, aw_err_name(rc));
        }
        if (plen > UINT32_MAX) {
            return aw__errf(w->err, w->errlen, AW_EINVAL,
                            "record %llu: encodes to %zu bytes, more than 4 GiB - 1",
                            (unsigned long long)w->count, plen);
        }
        if (plen > SIZE_MAX - ENTRY_MIN - at) goto too_big;
    }
    if (w->p && at + ENTRY_MIN + plen <= w->cap) {
        unsigned char *e = w->p + at;
        e[0] = is_watermark ? 'W' : 'R';
        put64(e + 1, (uint64_t)ts);
        put32(e + 9, (uint32_t)plen);
        put32(e + ENTRY_HDR + plen, aw_crc32c(0, e, ENTRY_HDR + plen));
    }
    w->len = at + ENTRY_MIN + plen;
    w->count++;
    return 0;
nomem:
    return aw__errf(w->err, w->errlen, AW_ENOMEM,
                    "out of memory encoding record %llu", (unsigned long long)w->count);
too_big:
    return aw__errf(w->err, w->errlen, AW_ENOMEM, "checkpoint larger than memory can hold");
}

/* Fills w (a caller's buffer, or a growing one). 0 or a code; w->len is
 * the size the checkpoint has (or needs). */
static int encode(writer *w, aw_op *op, const aw_codec *codec, const void *meta, size_t meta_len)
{
    if (!op || !codec || !codec->encode || (!meta && meta_len)) {
        return aw__errf(w->err, w->errlen, AW_EINVAL, "aw_checkpoint_encode: %s",
                        !op ? "op is NULL" : !codec ? "codec is NULL" :
                        !codec->encode ? "codec->encode is NULL" : "meta is NULL but meta_len > 0");
    }
    if (meta_len > SIZE_MAX - 4096) {
        return aw__errf(w->err, w->errlen, AW_EINVAL, "meta of %zu bytes is too large", meta_len);
    }
    w->codec = codec;
    w->len = HDR_LEN + meta_len + 4;
    if (room(w, w->len)) {
        if (meta_len) memcpy(w->p + HDR_LEN, meta, meta_len);
        put32(w->p + HDR_LEN + meta_len, aw_crc32c(0, meta, meta_len));
    } else if (w->nomem) {
        return aw__errf(w->err, w->errlen, AW_ENOMEM, "out of memory");
    }
    int rc = aw_op_snapshot(op, put_entry, w);
    if (rc) return rc;
    if (w->len > SIZE_MAX - 4) {
        return aw__errf(w->err, w->errlen, AW_ENOMEM, "checkpoint larger than memory can hold");
    }
    size_t total = w->len + 4;
    if (!room(w, total)) {
        w->len = total;
        if (w->nomem) {
            return aw__errf(w->err, w->errlen, AW_ENOMEM, "out of memory");
        }
        return 0;                          /* measured: the caller sees len > cap */
    }
    unsigned char *h = w->p;
    memcpy(h, magic, 8);
    put32(h + 8, VERSION);
    put32(h + 12, 0);
    put64(h + 16, total);
    put64(h + 24, w->count);
    put64(h + 32, meta_len);
    put32(h + 40, aw_crc32c(0, h, 40));
    put32(h + w->len, aw_crc32c(0, h, w->len));
    w->len = total;
    return 0;
}

int aw_checkpoint_encode(aw_op *op, const aw_codec *codec, const void *meta, size_t meta_len,
                         unsigned char *buf, size_t cap, size_t *len, char *err, size_t errlen)
{
    if (!len || (!buf && cap)) {
        return aw__errf(err, errlen, AW_EINVAL,
                        "aw_checkpoint_encode: %s", !len ? "len is NULL" : "buf is NULL but cap > 0");
    }
    *len = 0;
    writer w = { .p = buf, .cap = buf ? cap : 0, .err = err, .errlen = errlen };
    int rc = encode(&w, op, codec, meta, meta_len);
    if (rc) return rc;
    *len = w.len;
    if (w.len > cap) {
        return aw__errf(err, errlen, AW_ENOMEM,
                        "the checkpoint needs %zu bytes; the buffer has %zu", w.len, cap);
    }
    return 0;
}

int aw_checkpoint_encode_alloc(aw_op *op, const aw_codec *codec, const void *meta,
                               size_t meta_len, unsigned char **out, size_t *len,
                               char *err, size_t errlen)
{
    if (!out || !len) {
        return aw__errf(err, errlen, AW_EINVAL,
                        "aw_checkpoint_encode_alloc: %s is NULL", !out ? "out" : "len");
    }
    *out = NULL;
    *len = 0;
    writer w = { .grow = 1, .err = err, .errlen = errlen };
    int rc = encode(&w, op, codec, meta, meta_len);
    if (rc) {
        free(w.p);
        return rc;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

void aw_checkpoint_free(void *p)
{
    free(p);
}

int aw_checkpoint_push(void *op, void *input, int64_t ts, bool is_watermark)
{
    if (!op) return AW_EINVAL;
    return is_watermark ? aw_op_watermark(op, ts) : aw_op_push(op, input, ts);
}

/* ------------------------------------------------------------- decoding */

typedef struct frame {
    size_t meta_off, meta_len, entries_off;
    uint64_t count;
} frame;

/* Checks everything but the records' own meaning: magic, header, lengths,
 * every CRC. 0 or AW_ECORRUPT with the offset in err. */
static int check_frame(const unsigned char *b, size_t len, frame *f, char *err, size_t errlen)
{
    size_t m = len < 8 ? len : 8;
    for (size_t i = 0; i < m; i++)
        if (b[i] != magic[i]) {
            return aw__errf(err, errlen, AW_ECORRUPT, "not a checkpoint: bad magic at offset %zu", i);
        }
    if (len < HDR_LEN) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "truncated at offset %zu: the header needs %u bytes", len, HDR_LEN);
    }
    uint32_t stored = get32(b + 40), crc = aw_crc32c(0, b, 40);
    if (CRC_BAD(stored, crc)) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "header CRC mismatch at offset 40 (stored 0x%08x, computed 0x%08x)",
                        stored, crc);
    }
    uint32_t version = get32(b + 8), flags = get32(b + 12);
    if (version != VERSION) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "unsupported version %u at offset 8 (this library reads %u)",
                        version, VERSION);
    }
    if (flags) {
        return aw__errf(err, errlen, AW_ECORRUPT, "unknown flags 0x%x at offset 12", flags);
    }
    uint64_t total = get64(b + 16), count = get64(b + 24), meta_len = get64(b + 32);
    if (total < MIN_LEN) {
        return aw__errf(err, errlen, AW_ECORRUPT, "total length %llu at offset 16 is less than %u",
                        (unsigned long long)total, MIN_LEN);
    }
    if (total > len) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "truncated at offset %zu: the header says %llu bytes", len,
                        (unsigned long long)total);
    }
    if (total < len) {
        return aw__errf(err, errlen, AW_ECORRUPT, "%zu bytes of trailing data at offset %llu",
                        len - (size_t)total, (unsigned long long)total);
    }
    if (meta_len > len - MIN_LEN) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "meta length %llu at offset 32 runs past the end (offset %zu)",
                        (unsigned long long)meta_len, len);
    }
    size_t mend = HDR_LEN + (size_t)meta_len;
    stored = get32(b + mend);
    crc = aw_crc32c(0, b + HDR_LEN, (size_t)meta_len);
    if (CRC_BAD(stored, crc)) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "meta CRC mismatch at offset %zu (stored 0x%08x, computed 0x%08x)",
                        mend, stored, crc);
    }
    size_t pos = mend + 4, end = len - 4;
    for (uint64_t i = 0; i < count; i++) {
        if (end - pos < ENTRY_MIN) {
            return aw__errf(err, errlen, AW_ECORRUPT,
                            "entry %llu at offset %zu: the header counts %llu entries, "
                            "the data ends at offset %zu", (unsigned long long)i, pos,
                            (unsigned long long)count, end);
        }
        unsigned char kind = b[pos];
        if (kind != 'R' && kind != 'W') {
            return aw__errf(err, errlen, AW_ECORRUPT, "entry %llu at offset %zu: bad kind 0x%02x",
                            (unsigned long long)i, pos, kind);
        }
        size_t plen = get32(b + pos + 9);
        if (plen > end - pos - ENTRY_MIN) {
            return aw__errf(err, errlen, AW_ECORRUPT,
                            "entry %llu at offset %zu: length %zu runs past the end "
                            "(offset %zu)", (unsigned long long)i, pos + 9, plen, end);
        }
        if (kind == 'W' && plen) {
            return aw__errf(err, errlen, AW_ECORRUPT,
                            "entry %llu at offset %zu: a watermark with %zu bytes",
                            (unsigned long long)i, pos + 9, plen);
        }
        stored = get32(b + pos + ENTRY_HDR + plen);
        crc = aw_crc32c(0, b + pos, ENTRY_HDR + plen);
        if (CRC_BAD(stored, crc)) {
            return aw__errf(err, errlen, AW_ECORRUPT,
                            "entry %llu at offset %zu: CRC mismatch (stored 0x%08x, "
                            "computed 0x%08x)", (unsigned long long)i, pos, stored, crc);
        }
        pos += ENTRY_MIN + plen;
    }
    if (pos != end) {
        return aw__errf(err, errlen, AW_ECORRUPT,
                        "%zu bytes at offset %zu after the last of %llu entries",
                        end - pos, pos, (unsigned long long)count);
    }
    stored = get32(b + end);
    crc = aw_crc32c(0, b, end);
    if (CRC_BAD(stored, crc)) {
        return aw__errf(err, errlen, AW_ECORRUPT, "checkpoint CRC mismatch at offset %zu (stored 0x%08x, "
                        "computed 0x%08x)", end, stored, crc);
    }
    f->meta_off = HDR_LEN;
    f->meta_len = (size_t)meta_len;
    f->entries_off = mend + 4;
    f->count = count;
    return 0;
}

static void free_inputs(const aw_codec *c, const unsigned char *b, size_t pos, void **in,
                        size_t from, size_t to)
{
    for (size_t i = 0; i < to; i++) {
        size_t plen = get32(b + pos + 9);
        if (i >= from && b[pos] == 'R' && c->free) c->free(c->ctx, in[i]);
        pos += ENTRY_MIN + plen;
    }
}

int aw_checkpoint_decode(const unsigned char *buf, size_t len, const aw_codec *codec,
                         aw_checkpoint_visit visit, void *ctx,
                         void **meta, size_t *meta_len, char *err, size_t errlen)
{
    if (meta) *meta = NULL;
    if (meta_len) *meta_len = 0;
    if ((!buf && len) || (visit && (!codec || !codec->decode))) {
        return aw__errf(err, errlen, AW_EINVAL, "aw_checkpoint_decode: %s", !buf && len ? "buf is NULL" :
                        !codec ? "codec is NULL" : "codec->decode is NULL");
    }
    frame f = { 0 };
    int rc = check_frame(buf, len, &f, err, errlen);
    if (rc) return rc;
    void **in = NULL;
    size_t n = (size_t)f.count;            /* each entry holds >= 17 bytes of buf */
    if (visit && n && !(in = calloc(n, sizeof *in))) goto nomem;
    size_t pos = f.entries_off;
    for (size_t i = 0; visit && i < n; i++) {
        size_t plen = get32(buf + pos + 9);
        if (buf[pos] == 'R') {
            rc = codec->decode(codec->ctx, buf + pos + ENTRY_HDR, plen, &in[i]);
            if (rc) {
                aw__errf(err, errlen, rc, "entry %zu at offset %zu: codec decode returned %d (%s)",
                         i, pos, rc, aw_err_name(rc));
                free_inputs(codec, buf, f.entries_off, in, 0, i);
                free(in);
                return rc;
            }
        }
        pos += ENTRY_MIN + plen;
    }
    unsigned char *m = NULL;
    if (meta && f.meta_len) {
        if (!(m = malloc(f.meta_len + 1))) {
            if (in) free_inputs(codec, buf, f.entries_off, in, 0, n);
            free(in);
            goto nomem;
        }
        memcpy(m, buf + f.meta_off, f.meta_len);
        m[f.meta_len] = 0;
    }
    pos = f.entries_off;
    for (size_t i = 0; visit && i < n; i++) {
        int wm = buf[pos] == 'W';
        rc = visit(ctx, wm ? NULL : in[i], (int64_t)get64(buf + pos + 1), wm);
        if (rc) {
            aw__errf(err, errlen, rc, "entry %zu at offset %zu: visit returned %d (%s)", i, pos, rc,
                     aw_err_name(rc));
            free_inputs(codec, buf, f.entries_off, in, i, n);
            free(in);
            free(m);
            return rc;
        }
        pos += ENTRY_MIN + get32(buf + pos + 9);
    }
    free(in);
    if (meta) *meta = m;
    if (meta_len) *meta_len = f.meta_len;
    return 0;
nomem:
    return aw__errf(err, errlen, AW_ENOMEM, "out of memory restoring %zu entries", n);
}
