/*
 * checkpoint.h -- durable checkpoints of an operator's in-flight records.
 *
 * A checkpoint holds what aw_op_snapshot visits -- every record and
 * watermark not yet emitted, in push order -- plus a caller's blob ("meta",
 * e.g. the source offset), in a versioned binary format with a CRC32C per
 * entry and one for the whole (docs/checkpoints.md has the byte layout).
 * Restoring hands the records and watermarks back in their original order,
 * so the caller pushes them into a new operator and ordered output stays
 * ordered across the restart (aw_checkpoint_push does exactly that).
 *
 *   file:      aw_checkpoint_save / aw_checkpoint_load (atomic replace)
 *   memory:    aw_checkpoint_encode / aw_checkpoint_decode, so a checkpoint
 *              can be written in the same database transaction as output
 *
 * The library does not know what an input is: an aw_codec turns one into
 * bytes and back.
 *
 * ERRORS: 0 or a negative AW_E* code. A truncated, corrupted or foreign
 * checkpoint is AW_ECORRUPT, with a sentence naming the byte offset in the
 * err buffer of the _err / encode / decode functions. A checkpoint is
 * checked completely -- framing and every CRC, then every record through
 * codec->decode -- before visit is called the first time: a bad one
 * restores nothing.
 *
 * THREADS: save and encode call aw_op_snapshot, so they run on op's owner
 * thread, like every aw_op_* call, and not from inside op's callbacks.
 * load and decode touch no operator and may run on any thread.
 */
#ifndef AW_CHECKPOINT_H
#define AW_CHECKPOINT_H

#include "asyncwait.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Turns an input into bytes and back. Every callback gets ctx. */
typedef struct aw_codec {
    void *ctx;
    /* Writes input's bytes into buf (cap bytes; buf may be NULL when cap
     * is 0) and sets *len to their number. If they do not fit, it sets
     * *len to the size needed (like snprintf) and returns 0; the library
     * then calls it again with room for *len bytes. At most 4 GiB - 1 a
     * record. Returns 0, or a non-zero code that stops the encoding and is
     * returned by it. Runs inside aw_op_snapshot: must not call op. */
    int (*encode)(void *ctx, const void *input, unsigned char *buf, size_t cap, size_t *len);
    /* Makes an input from len bytes (buf is lent for the call) into
     * *input, which passes to the library. Returns 0, or a non-zero code
     * that fails the whole restore and is returned by it. */
    int (*decode)(void *ctx, const unsigned char *buf, size_t len, void **input);
    /* Optional. Frees an input decode made that will not reach visit
     * (a later record failed to decode, or visit returned non-zero).
     * NULL: inputs need no freeing (e.g. integers cast to pointers). */
    void (*free)(void *ctx, void *input);
} aw_codec;

/* The visit callback of load/decode: one record (is_watermark false;
 * input is the decoded input, which becomes the visitor's if it returns 0
 * and stays the library's -- freed with codec->free -- if it returns
 * non-zero) or one watermark (input NULL). ts is the record's event
 * timestamp or the watermark's. A non-zero return stops the restore and
 * is returned by it. */
typedef int (*aw_checkpoint_visit)(void *ctx, void *input, int64_t ts, bool is_watermark);

/* A ready-made visit: ctx is an aw_op; pushes the record (aw_op_push) or
 * adds the watermark (aw_op_watermark) and returns their code. */
int aw_checkpoint_push(void *op, void *input, int64_t ts, bool is_watermark);

/* ------------------------------------------------------------ in memory */

/* Encodes op's in-flight records and watermarks and meta (meta_len bytes;
 * meta may be NULL when meta_len is 0; copied) into the caller's buf of
 * cap bytes (buf may be NULL when cap is 0) and sets *len to the
 * checkpoint's size. Returns 0 when it fitted; AW_ENOMEM when it did not,
 * with *len set to the size needed (call again with a buffer that large;
 * nothing in op changed, but records pushed or emitted meanwhile change
 * the size); AW_EINVAL for a bad argument; or the code codec->encode
 * returned. err (errlen bytes; may be NULL) gets a sentence on failure.
 * Owner thread of op. */
int aw_checkpoint_encode(aw_op *op, const aw_codec *codec, const void *meta, size_t meta_len,
                         unsigned char *buf, size_t cap, size_t *len,
                         char *err, size_t errlen);

/* aw_checkpoint_encode into a buffer the library allocates: on success
 * *out is the checkpoint (*len bytes), the caller's, to be freed with
 * aw_checkpoint_free; on failure *out is NULL. Returns as
 * aw_checkpoint_encode, AW_ENOMEM meaning out of memory. */
int aw_checkpoint_encode_alloc(aw_op *op, const aw_codec *codec, const void *meta,
                               size_t meta_len, unsigned char **out, size_t *len,
                               char *err, size_t errlen);

/* Checks the checkpoint in buf (len bytes, only read), decodes every
 * record with codec->decode, then calls visit for each record and
 * watermark in the order they were pushed. Nothing is visited unless the
 * whole checkpoint is sound. On success, if meta is not NULL, *meta is a
 * copy of the meta blob (NUL-terminated for convenience; NULL when empty),
 * the caller's, to be freed with aw_checkpoint_free, and *meta_len its
 * size (meta_len may be NULL). On failure *meta is NULL and *meta_len 0.
 * visit NULL only checks the framing and CRCs (codec may then be NULL and
 * records are not decoded).
 * Returns 0; AW_ECORRUPT (truncated, corrupted, not a checkpoint, or a
 * newer version) with the byte offset in err; AW_EINVAL; AW_ENOMEM; a
 * decode code (nothing visited); or visit's code (the records visited
 * before it stay the visitor's). Any thread. */
int aw_checkpoint_decode(const unsigned char *buf, size_t len, const aw_codec *codec,
                         aw_checkpoint_visit visit, void *ctx,
                         void **meta, size_t *meta_len, char *err, size_t errlen);

/* Frees what encode_alloc or a load/decode meta returned. Accepts NULL. */
void aw_checkpoint_free(void *p);

/* ---------------------------------------------------------------- files */

/* Writes op's checkpoint (as aw_checkpoint_encode) to path, atomically:
 * into "path.tmp" in the same directory, fsync, rename over path, fsync
 * the directory. Whenever the process dies, path holds the previous
 * checkpoint or the new one, complete; a crash may leave path.tmp behind,
 * which the next save replaces. One saver per path at a time. The file
 * gets mode 0666 minus the umask. Returns 0; AW_EINVAL; AW_ENOMEM;
 * AW_EIO (errno says why; path is untouched -- except when the directory
 * fsync after the rename fails: the new file is in place but may not
 * survive a power loss, and err says so); or codec->encode's code.
 * Owner thread of op. */
int aw_checkpoint_save(aw_op *op, const char *path, const aw_codec *codec,
                       const void *meta, size_t meta_len);

/* aw_checkpoint_save that also writes a sentence into err on failure
 * (errlen bytes, NUL-terminated; err may be NULL). */
int aw_checkpoint_save_err(aw_op *op, const char *path, const aw_codec *codec,
                           const void *meta, size_t meta_len, char *err, size_t errlen);

/* Reads path and restores it as aw_checkpoint_decode does (visit is
 * required here). Returns as aw_checkpoint_decode, plus AW_EIO when path
 * cannot be read (errno says why: ENOENT when there is no checkpoint). */
int aw_checkpoint_load(const char *path, const aw_codec *codec,
                       int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                       void *ctx, void **meta, size_t *meta_len);

/* aw_checkpoint_load that also writes a sentence into err on failure. */
int aw_checkpoint_load_err(const char *path, const aw_codec *codec,
                           int (*visit)(void *ctx, void *input, int64_t ts, bool is_watermark),
                           void *ctx, void **meta, size_t *meta_len, char *err, size_t errlen);

/* CRC32C (Castagnoli), as the format uses it: start with crc 0; chaining
 * aw_crc32c(aw_crc32c(0, a, n), b, m) equals the CRC of a then b.
 * SSE4.2 instructions when the CPU has them. buf may be NULL if len is 0. */
uint32_t aw_crc32c(uint32_t crc, const void *buf, size_t len);

/* --------------------------------------------------- for tests only */

/* The steps of a file save, in order. */
enum {
    AW__CKPT_ENCODED = 1,   /* checkpoint encoded in memory */
    AW__CKPT_OPENED,        /* path.tmp created (empty) */
    AW__CKPT_WRITTEN,       /* bytes written, not yet fsync'd */
    AW__CKPT_SYNCED,        /* path.tmp fsync'd and closed */
    AW__CKPT_RENAMED,       /* renamed over path */
    AW__CKPT_DIR_SYNCED     /* directory fsync'd: done */
};

/* Test hook: after each step of every save, hook(ctx, step) is called;
 * non-zero makes the save stop right there, as a crash would (path.tmp is
 * left behind), and return AW_EIO. A hook may also kill the process
 * (that is how tests/test_checkpoint.c simulates a crash). NULL removes it.
 * Not for production; not synchronised: set it while no save runs. */
void aw__checkpoint_fault_point(int (*hook)(void *ctx, int step), void *ctx);

/* The table-driven CRC32C, whatever the CPU (tests compare the two). */
uint32_t aw__crc32c_sw(uint32_t crc, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
