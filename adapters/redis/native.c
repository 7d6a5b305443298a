/* placeholder until the native strategy lands */
#include "redis_int.h"

int rd__native_start(rd_adapter *a, char *err, size_t errlen)
{
    (void)a;
    return aw__adapter_err(err, errlen, AW_ECONFIG, "redis: strategy=async is not built yet; use strategy=pool");
}
