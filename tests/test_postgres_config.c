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
#include <unistd.h>
#include "adapter_test.h"
#include "fault_test.h"
#include "pg_test.h"

/* ------------------------------------------------ configuration mistakes */

static void expect_open(const char *uri, int code, const char *words)
{
    at_expect_open(uri, &pt_cust_lookup, code, words, pt.pass, NULL);
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
        int port = at_free_port();
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
        double t0 = ft_now_s();
        expect_open(uri, AW_ECONN, words);
        ASSERT_TRUE(ft_now_s() - t0 < 6.0);
        close(lfd);
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/nope_db?strategy=%s", pt.user, pt.host, pt.port, st[i]);
        expect_open(uri, AW_ECONFIG, "unknown database 'nope_db'");
        snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s?strategy=%s&sslmode=bogus", pt.user, pt.host,
                 pt.port, pt.db, st[i]);
        expect_open(uri, AW_ECONFIG, "sslmode");
        pt_uri(uri, sizeof uri, pt_strat[i], 2, NULL);
        at_sql_mistakes(uri, &pt_cust_lookup, "syntax error at or near \"SELEC\"",
                        "relation \"no_such_table\" does not exist", "column \"nope\" does not exist");
    }
    static const at_bad_uri bad[] = {
        { "?strategy=pool&bogus=1", AW_ECONFIG, "unknown parameter 'bogus' in postgres URI" },
        { "?strategy=fast", AW_ECONFIG, "strategy=fast: must be pool or async" },
        { "?strategy=async&threads=4", AW_ECONFIG, "threads= is for strategy=pool" },
        { "?threads=4&pipeline=4", AW_ECONFIG, "exclude each other" },
        { "?strategy=pool&pipeline=4", AW_ECONFIG, "pipeline= is for strategy=async" },
        { "?pipeline=0", AW_ECONFIG, "pipeline=0: must be a whole number from 1 to 65536" },
        { "?io=both", AW_ECONFIG, "io=both: must be owner or thread" },
    };
    snprintf(uri, sizeof uri, "postgres://%s@%s:%d/%s", pt.user, pt.host, pt.port, pt.db);
    at_expect_opens(uri, &pt_cust_lookup, bad, sizeof bad / sizeof bad[0], pt.pass);
    expect_open("postgres:awtest", AW_ECONFIG, "postgres://user[:pass]@host[:port]/database");
}

void postgres_adapter_columns(void)
{
    if (!pt_need_server()) return;
    aw_lookup l = { .ctx = (void *)(intptr_t)2, .sql = "SELECT name AS who, city, id * 2 FROM customers "
                    "WHERE id = ? OR id = ?", .bind = at_bind_all, .row = at_row_val, .free_result = at_free_res };
    static const char *const names[] = { "who", "city", "?column?" };
    for (int s = 0; s < PT_NSTRAT; s++) {
        char uri[600];
        pt_uri(uri, sizeof uri, pt_strat[s], 3, NULL);
        at_columns(uri, &l, 3, 2, names);
    }
}

#else
typedef int aw_postgres_config_not_built;
#endif
