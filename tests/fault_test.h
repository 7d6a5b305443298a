/* The fault-test harness shared by tests/test_{mysql,postgres,redis}_fault.c:
 * a tally of every record's endings, the four scenarios each adapter must
 * survive (read timeout, timeout while queued, close while busy, close
 * from a callback) and the fault test itself (the store's connections
 * ended twice and the server halted and resumed once in the middle of
 * 100 000 lookups with retry on). Each store gives only its protocol bits
 * in an ft_store: how to end its connections, how to halt/resume it, and
 * the row callback its scenarios use. Waits are condvars with deadlines. */
#ifndef AW_FAULT_TEST_H
#define AW_FAULT_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include "aw_test.h"
#include "lookup.h"
#include "adapter.h"

typedef struct ft_tally ft_tally;

/* True if res (a record's only result) is right for record rec. */
typedef bool (*ft_check)(const ft_tally *t, intptr_t rec, const void *res);

/* Every record's endings, by input (1..n). */
struct ft_tally {
    long n;
    unsigned char *ends;     /* emits + errors + discards per input */
    long emitted, failed, discarded, wrong, dup;
    int first_err;
    char first_msg[200];
    const char *want;        /* errors whose message contains this ... */
    long want_seen;          /* ... are counted here */
    ft_check check;          /* NULL: results are not checked */
    long keys;               /* for check: how many keys the store holds */
};

/* A store's protocol bits. Owned by the caller; read only. */
typedef struct ft_store {
    const char *killed;                      /* the fault's verb, for the summary: "KILLed" */
    /* The scenarios' row callback: one heap box per row (freed by free()). */
    int (*row)(void *ctx, void *input, const aw_row *r, void **out);
    int (*kill_all)(void);                   /* ends every adapter connection; how many, or -1 */
    int (*ctl)(const char *cmd);             /* the server script's "halt" / "resume": 0 = ok */
    void (*thread_init)(void);               /* on the fault thread, if not NULL */
    void (*thread_end)(void);
    /* The adapter's connections lost and reconnects so far: 0 = ok. */
    int (*conn_stats)(aw_adapter *a, uint64_t *lost, uint64_t *reconnects);
} ft_store;

double ft_now_s(void);
int ft_bind_key(void *ctx, void *input, aw_params *p);            /* the input as an int64 */
int ft_row_int(void *ctx, void *input, const aw_row *r, void **out);   /* column 0 as an int64 box */
void ft_free_res(void *ctx, void *r);                             /* free() */
aw_sink ft_sink(ft_tally *t);
bool ft_check_id(const ft_tally *t, intptr_t rec, const void *res);    /* int64 box == rec */

/* sbtest1 of tests/mariadb.sh and tests/postgres.sh: record i looks up
 * id ft_sb_key(i, rows), whose k is id * 7919 % 100003. The lookup's ctx
 * points at rows; the check reads t->keys. */
static inline int64_t ft_sb_key(intptr_t i, long rows) { return (int64_t)((i * 7919) % rows) + 1; }
int ft_bind_sbtest(void *ctx, void *input, aw_params *p);
bool ft_check_sbtest(const ft_tally *t, intptr_t rec, const void *res);

/* Opens uri with a lookup of sql (ft_bind_key, s->row); a CUnit failure
 * and NULL if it does not open. */
aw_adapter *ft_open(const ft_store *s, const char *uri, const char *sql, aw_lookup *l);

/* A query that outlives read_timeout_ms fails with AW_ECONN within max_s
 * seconds (and a message holding words, if not NULL). Record input, one
 * lookup of sql. */
void ft_read_timeout(const ft_store *s, const char *uri, const char *sql, intptr_t input,
                     const char *words, double max_s);

/* One connection busy for 1 s per query (sql); four records time out
 * after 100 ms: four AW_ETIMEDOUT within 0.7 s, the three queued ones
 * with a message holding want (if not NULL). */
void ft_timeout_while_queued(const ft_store *s, const char *uri, const char *sql, const char *want);

/* aw_op_free while 64 records (of sql, 1..64) are queued or running
 * returns within max_s and hands every input back once, some discarded. */
void ft_close_while_busy(const ft_store *s, const char *uri, const char *sql, double max_s);

/* Closing the adapter from inside its row callback does nothing: 100
 * records of sql all come out right (check), the adapter closes after. */
void ft_close_from_callback(const ft_store *s, const char *uri, const char *sql, ft_check check);

/* The fault test: N = 100 000 records through lookup l on the adapter of
 * uri, mode (AW_MODE in the environment overrides it), retry on AW_ECONN;
 * at N/5 and 4N/5 s->kill_all, at N/2 s->ctl("halt") -- pushing goes on
 * once the server is down -- then s->ctl("resume"). Every record ends
 * exactly once, emitted, right by check (keys = t->keys); at least conns
 * connections ended, lost and reconnected. label names the run. */
void ft_fault_test(const ft_store *s, const char *uri, const aw_lookup *l, aw_mode mode,
                   ft_check check, long keys, int conns, const char *label);

#endif
