/* columns.c -- opening the store, and the result column names (which the
 * CSV header needs before the first row, even when no row ever comes):
 * aw_adapter_columns, the same for every store. */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "query.h"

/* SQL function delay_us(n): sleeps n microseconds and returns 1 -- a
 * remote store's round trip, simulated inside the lookup (tests, demos:
 * "... WHERE id = ? AND delay_us(1000)"). */
static void delay_us(sqlite3_context *c, int argc, sqlite3_value **v)
{
    static _Thread_local bool slack_set;
    (void)argc;
    if (!slack_set) {            /* sleep 1 ms, not 1 ms + 50 us of timer slack */
        prctl(PR_SET_TIMERSLACK, 1UL);
        slack_set = true;
    }
    long long us = sqlite3_value_int64(v[0]);
    struct timespec t = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };
    while (us > 0 && clock_nanosleep(CLOCK_MONOTONIC, 0, &t, &t) == EINTR) { }
    sqlite3_result_int(c, 1);
}

static int add_delay_us(sqlite3 *db, char **err, const struct sqlite3_api_routines *api)
{
    (void)err; (void)api;
    return sqlite3_create_function(db, "delay_us", 1, SQLITE_UTF8, NULL, delay_us, NULL, NULL);
}

static int      g_nkeys;
static aw_lookup g_lookup;

int en_query_open(const char *dsn, const char *sql, int nkeys, aw_adapter **ad,
                  const char *const **names, int *ncols, char *err, size_t errlen)
{
    *ad = NULL;
    *names = NULL;
    *ncols = 0;
    g_nkeys = nkeys;
    g_lookup = (aw_lookup){ .ctx = &g_nkeys, .sql = sql, .bind = en_bind,
                            .row = en_row_new, .free_result = en_row_free };
    char msg[768] = "";
    /* SQLite reads through mmap rather than a pread per page (the lookups
     * only read): several times fewer syscalls per lookup. Process-wide,
     * before SQLite is first used; the adapter's connections inherit it. */
    if (strncmp(dsn, "sqlite:", 7) == 0) {
        sqlite3_config(SQLITE_CONFIG_MMAP_SIZE, (sqlite3_int64)1 << 30, (sqlite3_int64)-1);
        sqlite3_auto_extension((void (*)(void))add_delay_us);
    }
    int rc = aw_adapter_open(ad, dsn, &g_lookup, msg, sizeof msg);
    if (rc) {
        char shown[512];
        aw_uri_redact(dsn, shown, sizeof shown);
        if (rc == AW_EQUERY)
            snprintf(err, errlen, "--sql: %s", msg[0] ? msg : aw_strerror(rc));
        else
            snprintf(err, errlen, "--dsn '%s': %s", shown, msg[0] ? msg : aw_strerror(rc));
        /* A DSN that does not open (also: cannot connect) or SQL that does
         * not prepare is a configuration mistake. */
        return rc == AW_ENOMEM ? EN_EXIT_FATAL : EN_EXIT_USAGE;
    }
    /* The names as the store prepared the SQL. Copied: they are the
     * caller's until en_query_close, which frees them. */
    const char *const *cols = NULL;
    int nparams = -1;
    aw_adapter_columns(*ad, &cols, ncols, &nparams);
    char **nm = calloc((size_t)*ncols + 1, sizeof *nm);
    for (int i = 0; nm && i < *ncols; i++)
        if (!(nm[i] = strdup(cols[i]))) {
            while (i-- > 0) free(nm[i]);
            free(nm);
            nm = NULL;
        }
    if (!nm) {
        aw_adapter_close(*ad);
        *ad = NULL;
        *ncols = 0;
        snprintf(err, errlen, "out of memory");
        return EN_EXIT_FATAL;
    }
    *names = (const char *const *)nm;
    if (nparams >= 0 && nparams != nkeys) {
        snprintf(err, errlen, "--sql has %d placeholder%s (?) but %d --key %s given; give one --key per ?",
                 nparams, nparams == 1 ? "" : "s", nkeys, nkeys == 1 ? "was" : "were");
        goto fail;
    }
    for (int i = 0; i < *ncols; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(nm[i], nm[j])) {
                /* JSON would keep one of them, CSV would have two equal names. */
                snprintf(err, errlen, "--sql returns two columns named '%s' (columns %d and %d); "
                         "give one another name with AS", nm[i], j + 1, i + 1);
                goto fail;
            }
    if (*ncols == 0) {
        snprintf(err, errlen, "--sql returns no columns; it must be a query (SELECT ...)");
        goto fail;
    }
    return 0;
fail:
    en_query_close(*ad, *names ? *names : (const char *const *)nm, *ncols);
    *ad = NULL;
    *names = NULL;
    *ncols = 0;
    return EN_EXIT_USAGE;
}

void en_query_close(aw_adapter *ad, const char *const *names, int ncols)
{
    aw_adapter_close(ad);
    if (names) {
        for (int i = 0; i < ncols; i++) free((char *)names[i]);
        free((void *)names);
    }
}

en_type en_row_type(const aw_row *r, int i)
{
    switch (aw_row_type(r, i)) {
    case AW_VINT64:  return EN_INT;
    case AW_VDOUBLE: return EN_REAL;
    case AW_VTEXT:   return EN_TEXT;
    default:         return EN_NULL;
    }
}
