/* query.h -- aw-enrich's side of the lookup interface (lib/lookup.h) and of
 * the adapter registry (adapters/adapter.h). */
#ifndef AW_ENRICH_QUERY_H
#define AW_ENRICH_QUERY_H

#include "adapter.h"
#include "lookup.h"
#include "enrich.h"

/* Opens the adapter for dsn with a lookup running sql, binding nkeys keys
 * per record, and finds the result column names. Returns 0, or an exit code
 * (EN_EXIT_USAGE for a configuration mistake) with a sentence in err. */
int  en_query_open(const char *dsn, const char *sql, int nkeys, aw_adapter **ad,
                   const char *const **names, int *ncols, char *err, size_t errlen);
/* Closes the adapter (after aw_op_free) and frees the names. NULL is fine. */
void en_query_close(aw_adapter *ad, const char *const *names, int ncols);

/* The aw_lookup callbacks (worker threads). ctx points at the key count. */
int  en_bind(void *ctx, void *input, aw_params *p);
int  en_row_new(void *ctx, void *input, const aw_row *r, void **result);
void en_row_free(void *ctx, void *result);

/* Column i's type in r. */
en_type en_row_type(const aw_row *r, int i);

#endif
