/*
 * lookup.h -- one SQL lookup, written once, run by any SQL adapter.
 *
 * The user writes an aw_lookup: SQL with ? placeholders, a bind callback
 * that fills the parameters from an input, and a row callback that turns
 * each result row into one result pointer. An adapter (SQLite, MySQL, ...)
 * runs it: a lookup that returns k rows completes its record's future with
 * k results (0 is valid). Both callbacks run on the adapter's threads (a
 * pool worker or an I/O thread), possibly on several threads at once: keep
 * ctx read-only or lock it. With the lookup cache on (cache=N in the URI,
 * adapters/adapter.h) bind runs on the operator's owner thread instead,
 * inside invoke, and row runs there too for answers from the cache.
 *
 * Indexes are 0-based: parameter i is the (i+1)-th ?, column i the
 * (i+1)-th column of the SELECT.
 */
#ifndef AW_LOOKUP_H
#define AW_LOOKUP_H

#include "asyncwait.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aw_params aw_params;
typedef struct aw_row aw_row;

/* Set parameter i (0-based, i < 1024) for this execution. Text is copied
 * (len bytes, may hold NULs). Returns 0, AW_EINVAL (p NULL, i out of
 * range, s NULL with len > 0) or AW_ENOMEM. Unset parameters are NULL. */
int aw_params_int64(aw_params *p, int i, int64_t v);
int aw_params_double(aw_params *p, int i, double v);
int aw_params_text(aw_params *p, int i, const char *s, size_t len);
int aw_params_null(aw_params *p, int i);

/* A result row, lent to the row callback for the duration of the call. */
int aw_row_columns(const aw_row *r);                 /* 0 for NULL */
bool aw_row_is_null(const aw_row *r, int i);         /* true out of range */
int64_t aw_row_int64(const aw_row *r, int i);        /* 0 if NULL/out of range; text is parsed */
double aw_row_double(const aw_row *r, int i);        /* 0.0 likewise */
/* Text of column i (numbers are formatted), NUL-terminated, with its byte
 * length in *len (len may be NULL); NULL for SQL NULL or out of range.
 * Valid until the row callback returns. */
const char *aw_row_text(const aw_row *r, int i, size_t *len);
/* Column name as the store reports it; NULL out of range. */
const char *aw_row_name(const aw_row *r, int i);
/* Column i's type: AW_VNULL, AW_VINT64, AW_VDOUBLE or AW_VTEXT (below);
 * AW_VNULL out of range. */
int aw_row_type(const aw_row *r, int i);

typedef struct aw_lookup {
    void *ctx;
    const char *sql;                                           /* ? placeholders */
    /* Fill p from input. < 0 fails the record with that code. */
    int (*bind)(void *ctx, void *input, aw_params *p);
    /* One result per row into *result. < 0 fails the record with that code
     * (results made so far go to free_result). */
    int (*row)(void *ctx, void *input, const aw_row *r, void **result);
    /* Optional. Frees a result that cannot be delivered: row failed
     * part-way, the record already timed out, the adapter is closing. */
    void (*free_result)(void *ctx, void *result);
} aw_lookup;

/* ------------------------------------------------ for adapter authors */

enum { AW_VNULL, AW_VINT64, AW_VDOUBLE, AW_VTEXT };

/* A value as adapters read parameters and write row columns. */
typedef struct aw_value {
    int type;             /* AW_V* */
    int64_t i;
    double d;
    const char *s;        /* AW_VTEXT: not necessarily NUL-terminated */
    size_t len;
} aw_value;

aw_params *aw_params_new(void);                     /* NULL if out of memory */
void aw_params_free(aw_params *p);                  /* accepts NULL */
void aw_params_clear(aw_params *p);                 /* all unset; keeps memory */
int aw_params_count(const aw_params *p);            /* highest set index + 1 */
/* Parameter i into *out (text points into p, valid until the next clear).
 * Returns 0 or AW_EINVAL. */
int aw_params_get(const aw_params *p, int i, aw_value *out);

/* A row of n columns that an adapter fills per result row. */
aw_row *aw_row_new(int columns);                    /* NULL on ENOMEM/bad n */
void aw_row_free(aw_row *r);                        /* accepts NULL */
/* Column i: value v (text is borrowed: it must stay valid while the row
 * is handed to the row callback) and name (borrowed likewise; may be
 * NULL). Returns 0 or AW_EINVAL. */
int aw_row_set(aw_row *r, int i, const aw_value *v);
int aw_row_set_name(aw_row *r, int i, const char *name);

/* Collects one record's results across rows, then completes its future:
 * what adapters share so every one frees exactly what it must. */
typedef struct aw_results aw_results;
aw_results *aw_results_new(void);
void aw_results_free(aw_results *res);
/* Runs lookup->row on r and keeps the result. Returns 0 or < 0 (row's
 * code, or AW_ENOMEM). */
int aw_results_add_row(aw_results *res, const aw_lookup *lookup, void *input, const aw_row *r);
/* Completes f with the collected results and empties res. If the future
 * does not take them (timed out, already completed), they go to
 * lookup->free_result. Returns aw_future_complete's code. */
int aw_results_complete(aw_results *res, const aw_lookup *lookup, aw_future *f);
/* Frees the collected results through free_result and fails f with err
 * and msg (msg may be NULL). Returns aw_future_fail's code. */
int aw_results_fail(aw_results *res, const aw_lookup *lookup, aw_future *f, int err,
                    const char *msg);

#ifdef __cplusplus
}
#endif
#endif
