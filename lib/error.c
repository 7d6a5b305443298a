/* The one table of error codes (AW_ERRNO_MAP in asyncwait.h), read here. */
#include "asyncwait.h"

const char *aw_strerror(int err)
{
    switch (err) {
    case 0: return "success";
#define AW__STR(name, val, s) case AW_##name: return s;
    AW_ERRNO_MAP(AW__STR)
#undef AW__STR
    default: return "unknown error";
    }
}

const char *aw_err_name(int err)
{
    switch (err) {
    case 0: return "AW_OK";
#define AW__NAME(name, val, s) case AW_##name: return "AW_" #name;
    AW_ERRNO_MAP(AW__NAME)
#undef AW__NAME
    default: return "AW_UNKNOWN";
    }
}
