/* The one table from URI scheme to adapter. A new store adds a line here
 * and a folder beside this file; the core never learns of it. */
#include <string.h>
#include "adapter_int.h"

typedef int (*open_fn)(aw_adapter **, aw_uri *, const aw_lookup *, char *, size_t);

static const struct { const char *scheme; open_fn open; } schemes[] = {
    { "sqlite", aw__sqlite_open_uri },
};

int aw_adapter_open(aw_adapter **out, const char *uri, const aw_lookup *lookup,
                    char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!out) return aw__adapter_err(err, errlen, AW_EINVAL, "aw_adapter_open: out is NULL");
    *out = NULL;
    if (!uri) return aw__adapter_err(err, errlen, AW_EINVAL, "aw_adapter_open: uri is NULL");
    if (!lookup) return aw__adapter_err(err, errlen, AW_EINVAL, "aw_adapter_open: lookup is NULL");
    if (!lookup->sql || !lookup->bind || !lookup->row)
        return aw__adapter_err(err, errlen, AW_ECONFIG,
                               "aw_adapter_open: lookup->sql, ->bind and ->row are required");
    aw_uri u;
    int rc = aw__uri_parse(&u, uri, err, errlen);
    if (rc) return rc;
    rc = AW_ECONFIG;
    size_t i;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (!strcmp(u.scheme, schemes[i].scheme)) break;
    if (i < sizeof schemes / sizeof schemes[0])
        rc = schemes[i].open(out, &u, lookup, err, errlen);
    else
        aw__adapter_err(err, errlen, AW_ECONFIG, "unknown scheme '%s' in '%s' (known: sqlite)",
                        u.scheme, uri);
    aw__uri_free(&u);
    return rc;
}

const aw_function *aw_adapter_function(aw_adapter *a) { return a ? a->fn : NULL; }

const char *aw_adapter_scheme(const aw_adapter *a) { return a ? a->scheme : ""; }

void aw_adapter_close(aw_adapter *a)
{
    if (!a) return;
    a->close(a->impl);
}
