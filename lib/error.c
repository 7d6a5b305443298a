/* Errors: the one table of codes (AW_ERRNO_MAP in asyncwait.h) read into
 * names and sentences, and aw__errf, the one helper that writes a detailed
 * sentence into a caller's err buffer (error_int.h). */
#include <stdarg.h>
#include <stdio.h>
#include "asyncwait.h"
#include "error_int.h"

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

int aw__errf(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
