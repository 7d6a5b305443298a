/* Shared by the adapter suites (tests/test_{mysql,postgres,redis,sqlite}.c
 * and test_postgres_config.c): the customers lookup checked against the
 * expected rows in every mode, a session that pushes one key at a time
 * and keeps its rows, open-with-URI error cases, and the aw_adapter_columns
 * check. Store-agnostic; the store's bits come in as URIs, lookups and
 * callbacks. */
#ifndef AW_ADAPTER_TEST_H
#define AW_ADAPTER_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include "aw_test.h"
#include "lookup.h"
#include "adapter.h"

int at_free_port(void);                /* a loopback port nothing listens on now */
void at_free_res(void *ctx, void *r);  /* free() */
int at_bind_id(void *ctx, void *input, aw_params *p);      /* the input as an int64 */

/* ---------------------------------------------- customers, in every mode */

/* A customers row: id, name, city, balance, score (tests/mariadb.sh). */
typedef struct at_cust { int64_t id, bal; char name[24], city[16]; bool city_null, bal_null; double score; } at_cust;

/* The row callback of a customers lookup: an at_cust box. The lookup's
 * ctx may point at an at_cust_rule whose ok() the row must pass first
 * (types, names, as the store gives them): AW_EINVAL if not. */
typedef struct at_cust_rule { bool (*ok)(const aw_row *r); } at_cust_rule;
int at_row_cust(void *ctx, void *input, const aw_row *r, void **out);

/* at_matches: 10 000 random keys (1 .. rows * 1.1: some miss) through the
 * adapter of uri, in each mode (ordered, unordered, event time), checked
 * against want(id) (false: no such row) -- every record once, one row or
 * none, every field equal. stats(a, freed, ctx) asserts the store's
 * counters after the drain (freed false) and after aw_op_free (true). */
typedef struct at_match {
    const char *uri, *scheme;
    const aw_lookup *lookup;          /* its row: at_row_cust */
    size_t capacity;
    long rows;
    const at_cust *table;             /* want NULL: the rows, by id 1..rows */
    bool (*want)(intptr_t id, at_cust *out);
    void (*stats)(aw_adapter *a, bool freed);
} at_match;
void at_matches(const at_match *m);

/* ------------------------------------------------- one key at a time */

/* A result as text: NULL or bytes (and their type). */
typedef struct at_val { bool null, terminated; int type; size_t len; char data[]; } at_val;

/* One key's outcome: n results (the first 8 kept: at_val boxes, or the
 * row callback's strings), or an error. */
typedef struct at_one {
    long n, failed;
    int err;
    char msg[300];
    union { at_val *v[8]; char *rows[8]; };
} at_one;

/* An adapter serves one operator (aw_op_free closes it): a session keeps
 * both. at_run_one pushes one input through them (the operator made at
 * the first call) and drains. */
typedef struct at_session { aw_adapter *a; aw_op *op; at_one *cur; } at_session;
void at_run_one(at_session *s, void *input, at_one *o);
void at_session_end(at_session *s);    /* frees the operator, closes the adapter */
void at_one_free(at_one *o);           /* frees the kept results */

int at_bind_all(void *ctx, void *input, aw_params *p);     /* the input into the first (intptr_t)ctx ?s */
int at_row_val(void *ctx, void *input, const aw_row *r, void **out);   /* column 0 as an at_val */
bool at_is_val(const at_val *v, const char *bytes, size_t len);
#define AT_IS(v, lit) at_is_val((v), lit, sizeof lit - 1)

/* Opens uri with sql, binding the key into its first `params` ?s, rows as
 * at_val; a CUnit failure and NULL if it does not open. */
aw_adapter *at_open_vals(const char *uri, const char *sql, int params, aw_lookup *l);

/* items and customers.city of tests/mariadb.sh (and postgres.sh) through
 * adapters of uri: customer c's c % 5 items in order, 5000 for c = 0,
 * none (not an error) for a missing c; a NULL city and a city. typed:
 * the NULL is AW_VNULL, the city AW_VTEXT. */
void at_items_and_cities(const char *uri, bool typed);

/* A bind that refuses (input refuse) fails its record with AW_EINVAL, one
 * that binds 2 values for 1 ? (too_many) with AW_EQUERY, "bound 2
 * parameters but the <what> has 1 placeholders". */
void at_bind_mistakes(at_session *s, void *refuse, void *too_many, const char *what);

/* ------------------------------------------------------- open errors */

/* Opening uri with lookup l fails with code, its message holds words and
 * neither secret (either may be NULL), and no adapter is made. */
void at_expect_open(const char *uri, const aw_lookup *l, int code, const char *words,
                    const char *secret, const char *secret2);

/* A URI tail and what opening base + tail says. */
typedef struct at_bad_uri { const char *tail; int code; const char *words; } at_bad_uri;
void at_expect_opens(const char *base, const aw_lookup *l, const at_bad_uri *bad, size_t n, const char *secret);

/* l's SQL replaced by a syntax error, a missing table, a missing column:
 * each open of uri fails with AW_EQUERY and the store's words. */
void at_sql_mistakes(const char *uri, const aw_lookup *l, const char *syntax, const char *table,
                     const char *column);

/* aw_adapter_columns of the adapter uri opens with l: ncols names, each
 * holding names[i] (NULL: not checked), then a NULL; nparams ?s. */
void at_columns(const char *uri, const aw_lookup *l, int ncols, int nparams, const char *const *names);

#endif
