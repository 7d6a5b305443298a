/* The PostgreSQL adapter's configuration at open (part of the postgres
 * suite, listed in test_postgres.c): every mistake's code and sentence --
 * wrong or missing password, nothing listening, no answer within
 * connect_timeout, unknown database, bad libpq value, SQL that does not
 * prepare, unknown or mixed-up parameters -- never with the password in
 * it; and aw_adapter_columns as the server described the statement. */
#ifdef AW_HAVE_POSTGRES
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "pg_test.h"

/* ------------------------------------------------ configuration mistakes */

static void expect_open(const char *uri, int code, const char *words)
{
    aw_adapter *a = NULL;
    char err[1024] = "";
    int rc = aw_adapter_open(&a, uri, &pt_cust_lookup, err, sizeof err);
    if (rc != code) AW__FAIL("%s: got %s (%s), wanted %s", uri, aw_err_name(rc), err, aw_err_name(code));
    ASSERT_STR_CONTAINS(err, words);
    if (strstr(err, pt.pass)) AW__FAIL("the password is in the message: %s", err);
    ASSERT_TRUE(a == NULL);
    aw_adapter_close(a);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

void postgres_config_mistakes(void)
{
    if (!pt_need_server()) return;
    char uri[600], words[200];
    const char *st[2] = { "pool&threads=2", "async&connections=2" };
    for (int i = 0; i < PT_NSTRAT; i++) {
        snprintf(uri, sizeof uri, "postgres://%s:wrong-password@%s:%d/%s?strategy=%s", pt.user, pt.host,
                 pt.port, pt.db, st[i]);
        expect_open(uri, AW_ECONFIG, "wrong user or password");
        expect_open(uri, AW_ECONFIG, "password authentication failed");
        unsetenv("PGPASSWORD");
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=%s", pt.user, pt.host, pt.port, pt.db, st[i]);
        expect_open(uri, AW_ECONFIG, "needs a password and none was given");
        setenv("PGPASSWORD", pt.pass, 1);
        int port = free_port();
        snprintf(uri, sizeof uri, "postgres://%s@127.0.0.1:%d/%s?strategy=%s", pt.user, port, pt.db, st[i]);
        snprintf(words, sizeof words, "cannot reach a server at 127.0.0.1:%d", port);
        expect_open(uri, AW_ECONN, words);
        expect_open(uri, AW_ECONN, "Connection refused");
        /* no answer within connect_timeout: a loopback socket that
         * listens but never accepts nor speaks */
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        ASSERT_EQ(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
        ASSERT_EQ(listen(lfd, 16), 0);
        getsockname(lfd, (struct sockaddr *)&sa, &sl);
        snprintf(uri, sizeof uri, "postgres://%s@127.0.0.1:%d/%s?strategy=%s&connect_timeout=2", pt.user,
                 ntohs(sa.sin_port), pt.db, st[i]);
        snprintf(words, sizeof words, "127.0.0.1:%d", ntohs(sa.sin_port));
        double t0 = now_s();
        expect_open(uri, AW_ECONN, words);
        ASSERT_TRUE(now_s() - t0 < 6.0);
        close(lfd);
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/nope_db?strategy=%s", pt.user, pt.host, pt.port, st[i]);
        expect_open(uri, AW_ECONFIG, "unknown database 'nope_db'");
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=%s&sslmode=bogus", pt.user, pt.host,
                 pt.port, pt.db, st[i]);
        expect_open(uri, AW_ECONFIG, "sslmode");
        aw_lookup bad = pt_cust_lookup;
        aw_adapter *a = NULL;
        char err[1024];
        pt_uri(uri, sizeof uri, pt_strat[i], 2, NULL);
        bad.sql = "SELEC id FROM customers WHERE id = ?";
        ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
        ASSERT_STR_CONTAINS(err, "SQL does not prepare");
        ASSERT_STR_CONTAINS(err, "syntax error at or near \"SELEC\"");
        bad.sql = "SELECT id FROM no_such_table WHERE id = ?";
        ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
        ASSERT_STR_CONTAINS(err, "relation \"no_such_table\" does not exist");
        bad.sql = "SELECT nope FROM customers WHERE id = ?";
        ASSERT_EQ(aw_adapter_open(&a, uri, &bad, err, sizeof err), AW_EQUERY);
        ASSERT_STR_CONTAINS(err, "column \"nope\" does not exist");
        ASSERT_TRUE(a == NULL);
    }
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=pool&bogus=1", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "unknown parameter 'bogus' in postgres URI");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=fast", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "strategy=fast: must be pool or async");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=async&threads=4", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "threads= is for strategy=pool");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?threads=4&pipeline=4", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "exclude each other");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=pool&pipeline=4", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "pipeline= is for strategy=async");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?pipeline=0", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "pipeline=0: must be a whole number from 1 to 65536");
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?io=both", pt.user, pt.host, pt.port, pt.db);
    expect_open(uri, AW_ECONFIG, "io=both: must be owner or thread");
    expect_open("postgres:awtest", AW_ECONFIG, "postgres://user[:pass]@host[:port]/database");
}

void postgres_adapter_columns(void)
{
    if (!pt_need_server()) return;
    aw_lookup l = { .ctx = (void *)(intptr_t)2, .sql = "SELECT name AS who, city, id * 2 FROM customers "
                    "WHERE id = ? OR id = ?", .bind = pt_bind_all, .row = pt_row_val, .free_result = pt_free_res };
    for (int s = 0; s < PT_NSTRAT; s++) {
        char uri[600], err[1024];
        pt_uri(uri, sizeof uri, pt_strat[s], 3, NULL);
        aw_adapter *a = NULL;
        ASSERT_EQ(aw_adapter_open(&a, uri, &l, err, sizeof err), 0);
        if (!a) { AW__FAIL("open: %.900s", err); return; }
        const char *const *names = NULL;
        int ncols = -1, nparams = -1;
        ASSERT_EQ(aw_adapter_columns(a, &names, &ncols, &nparams), 0);
        ASSERT_EQ(ncols, 3);
        ASSERT_EQ(nparams, 2);
        if (names && ncols == 3) {
            ASSERT_STR_CONTAINS(names[0], "who");
            ASSERT_STR_CONTAINS(names[1], "city");
            ASSERT_STR_CONTAINS(names[2], "?column?");
        }
        aw_adapter_close(a);
    }
}

#else
typedef int aw_postgres_config_not_built;
#endif
