/* What the adapters share beyond the URI grammar (uri.c) and the scheme
 * table (registry.c): the bind step every lookup starts with, and, for
 * the network adapters (MySQL, PostgreSQL, Redis), the server's address as
 * their messages name it and the shell of their strategy=pool (the thread
 * pool on their blocking client, with its connection counters). */
#include <stdio.h>
#include <stdlib.h>
#include "adapter_int.h"

int aw__lookup_bind(const aw_lookup *l, aw_params *p, aw_results *res, void *input, aw_future *f,
                    int max, const char *what)
{
    aw_params_clear(p);
    int rc = l->bind(l->ctx, input, p);
    if (rc < 0) {
        aw_results_fail(res, l, f, rc, "lookup bind callback failed");
        return rc;
    }
    int np = aw_params_count(p);
    if (np > max) {
        char msg[160];
        snprintf(msg, sizeof msg, "lookup bound %d parameters but %s has %d placeholders",
                 np, what, max);
        aw_results_fail(res, l, f, AW_EQUERY, msg);
        return AW_EQUERY;
    }
    return np;
}

void aw__server_where(char *out, size_t outlen, const char *sock, const char *host, unsigned port)
{
    if (sock) snprintf(out, outlen, "unix socket %s", sock);
    else snprintf(out, outlen, "%s:%u", host, port);
}

/* ----------------------------------------------------- strategy=pool */

int aw__pool_client_start(const aw__pool_client_cfg *cfg, void **strategy, char *err, size_t errlen)
{
    aw__pool_client *p = calloc(1, sizeof *p);
    if (!p) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    p->a = cfg->adapter;
    p->connected = cfg->connected;
    p->reconnects = cfg->reconnects;
    aw_pool_config pc = { cfg->threads, cfg->queue };
    aw_sync_client client = { p, cfg->connect, cfg->call, cfg->disconnect };
    int rc = aw_pool_create(&p->pool, &pc, &client, err, errlen);
    if (rc) {
        free(p);
        return rc;
    }
    atomic_store(&p->opened, true);
    *strategy = p;
    cfg->base->fn = aw_pool_function(p->pool);
    cfg->base->close = cfg->close;
    return 0;
}

void aw__pool_client_up(aw__pool_client *p)
{
    atomic_fetch_add(p->connected, 1);
    if (atomic_load(&p->opened)) atomic_fetch_add(p->reconnects, 1);
}

void aw__pool_client_down(aw__pool_client *p)
{
    atomic_fetch_sub(p->connected, 1);
}

int aw__pool_client_free(aw__pool_client *p)
{
    if (!p) return 0;
    if (aw_pool_on_worker(p->pool)) return AW_EINVAL;    /* a worker cannot join itself */
    aw_pool_free(p->pool);
    free(p);
    return 0;
}
