/* Private to asyncwait (core and adapters): the one helper that writes an
 * error's sentence into a caller's err buffer. The codes and their
 * sentences are the table in asyncwait.h, read by aw_strerror (error.c). */
#ifndef AW_ERROR_INT_H
#define AW_ERROR_INT_H

#include <stddef.h>

/* Formats fmt into err (errlen bytes, NUL-terminated, truncated if need
 * be; nothing is written when err is NULL or errlen 0) and returns code,
 * so a failing path reads `return aw__errf(err, errlen, AW_ECONFIG, ...)`.
 * Any thread. */
int aw__errf(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
