/* PostgreSQL native strategy: not yet here (it is built on the store-neutral
 * native driver, adapters/native.c). */
#include "pg_int.h"

int pg__native_start(pg_adapter *a, char *err, size_t errlen)
{
    (void)a;
    return aw__adapter_err(err, errlen, AW_ECONFIG, "postgres: strategy=async is not built yet; "
                           "use strategy=pool");
}
