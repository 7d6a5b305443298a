/* The URI grammar all adapters share, parsed once, so every adapter
 * reports unknown or malformed parameters the same way: the parse, the
 * pieces a server URI holds (aw__uri_server), the parameters several
 * adapters take with one name and range each (aw__uri_opts), and
 * aw_uri_redact for every message that repeats a URI. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "adapter_int.h"

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* In place; false on a malformed escape. */
static bool decode(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '%') {
            int h = hexval((unsigned char)r[1]), l = h < 0 ? -1 : hexval((unsigned char)r[2]);
            if (l < 0) return false;
            *w++ = (char)(h * 16 + l);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return true;
}

/* Appends n bytes of s to out at *w, keeping room for the NUL. */
static void put(char *out, size_t outlen, size_t *w, const char *s, size_t n)
{
    if (*w + 1 >= outlen) return;
    if (n > outlen - 1 - *w) n = outlen - 1 - *w;
    memcpy(out + *w, s, n);
    *w += n;
    out[*w] = 0;
}

static bool secret_key(const char *k, size_t n)
{
    static const char *const keys[] = { "password", "passwd", "pwd", "pass" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && !strncasecmp(k, keys[i], n)) return true;
    return false;
}

const char *aw_uri_redact(const char *uri, char *out, size_t outlen)
{
    if (!out || !outlen) return "";
    out[0] = 0;
    if (!uri) return out;
    size_t w = 0, len = strlen(uri);
    const char *q = strchr(uri, '?'), *end = q ? q : uri + len;
    const char *auth = strstr(uri, "//");
    const char *p = uri;
    if (auth && auth < end) {
        auth += 2;
        const char *at = NULL;
        for (const char *c = auth; c < end; c++) if (*c == '@') at = c;   /* the last one */
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            put(out, outlen, &w, uri, (size_t)(colon + 1 - uri));
            put(out, outlen, &w, "***", 3);
            p = at;
        }
    }
    put(out, outlen, &w, p, (size_t)(end - p));
    if (!q) return out;
    put(out, outlen, &w, "?", 1);
    for (const char *k = q + 1; *k;) {
        const char *amp = strchr(k, '&'), *pe = amp ? amp : k + strlen(k);
        const char *eq = memchr(k, '=', (size_t)(pe - k));
        if (eq && secret_key(k, (size_t)(eq - k))) {
            put(out, outlen, &w, k, (size_t)(eq + 1 - k));
            put(out, outlen, &w, "***", 3);
        } else {
            put(out, outlen, &w, k, (size_t)(pe - k));
        }
        if (!amp) break;
        put(out, outlen, &w, "&", 1);
        k = amp + 1;
    }
    return out;
}

int aw__uri_parse(aw_uri *u, const char *uri, char *err, size_t errlen)
{
    char shown[512];                  /* the URI as messages may repeat it */
    aw_uri_redact(uri, shown, sizeof shown);
    memset(u, 0, sizeof *u);
    const char *colon = strchr(uri, ':');
    size_t slen = colon ? (size_t)(colon - uri) : 0;
    for (size_t i = 0; i < slen; i++)
        if (!isalnum((unsigned char)uri[i]) && !strchr("+-.", uri[i])) slen = 0;
    if (slen == 0)
        return aw__errf(err, errlen, AW_ECONFIG,
                        "'%s' has no scheme (expected e.g. sqlite:file.db or "
                        "mysql://user@host/db)", shown);
    if (!(u->buf = strdup(uri))) return aw__errf(err, errlen, AW_ENOMEM, "out of memory");
    char *s = u->buf;
    s[slen] = 0;
    u->scheme = s;
    char *rest = s + slen + 1;
    char *q = strchr(rest, '?');
    if (q) *q++ = 0;
    if (rest[0] == '/' && rest[1] == '/') {
        u->has_authority = true;
        char *auth = rest + 2, *slash = strchr(auth, '/');
        if (slash) {
            /* keep the path's leading '/' by moving the authority left */
            memmove(auth - 1, auth, (size_t)(slash - auth));
            slash[-1] = 0;
            auth--;
            u->path = slash;
        }
        char *at = strrchr(auth, '@');
        if (at) {
            *at = 0;
            u->user = auth;
            char *pc = strchr(auth, ':');
            if (pc) { *pc = 0; u->pass = pc + 1; }
            auth = at + 1;
        }
        char *pc = strrchr(auth, ':');
        if (pc) {
            *pc = 0;
            char *end;
            errno = 0;
            long port = strtol(pc + 1, &end, 10);
            if (*end || port <= 0 || port > 65535 || errno) {
                aw__uri_free(u);
                return aw__errf(err, errlen, AW_ECONFIG, "bad port '%s' in '%s'", pc + 1, shown);
            }
            u->port = (int)port;
        }
        if (*auth) u->host = auth;
    } else if (*rest) {
        u->path = rest;
    }
    while (q && *q) {
        char *amp = strchr(q, '&');
        if (amp) *amp = 0;
        char *eq = strchr(q, '=');
        if (!eq || eq == q) {
            aw__errf(err, errlen, AW_ECONFIG, "parameter '%s' in '%s' is not key=value", q, shown);
            aw__uri_free(u);
            return AW_ECONFIG;
        }
        *eq = 0;
        if (u->nparams == AW_URI_MAX_PARAMS) {
            aw__uri_free(u);
            return aw__errf(err, errlen, AW_ECONFIG, "too many parameters in '%s'", shown);
        }
        for (int i = 0; i < u->nparams; i++)
            if (!strcmp(u->key[i], q)) {
                aw__errf(err, errlen, AW_ECONFIG, "parameter '%s' is given twice in '%s' "
                         "(give it once)", q, shown);
                aw__uri_free(u);
                return AW_ECONFIG;
            }
        u->key[u->nparams] = q;
        u->val[u->nparams] = eq + 1;
        if (!decode(eq + 1)) {
            aw__uri_free(u);
            return aw__errf(err, errlen, AW_ECONFIG, "bad %%-escape in parameter '%s'", q);
        }
        u->nparams++;
        q = amp ? amp + 1 : NULL;
    }
    char *parts[] = { u->user, u->pass, u->host, u->path };
    for (size_t i = 0; i < 4; i++)
        if (parts[i] && !decode(parts[i])) {
            aw__uri_free(u);
            return aw__errf(err, errlen, AW_ECONFIG, "bad %%-escape in '%s'", shown);
        }
    return 0;
}

void aw__uri_free(aw_uri *u)
{
    free(u->buf);
    memset(u, 0, sizeof *u);
}

const char *aw__uri_param(aw_uri *u, const char *key)
{
    const char *v = NULL;
    for (int i = 0; i < u->nparams; i++)
        if (!strcmp(u->key[i], key)) { u->used[i] = true; v = u->val[i]; }  /* last wins */
    return v;
}

int aw__uri_size(aw_uri *u, const char *key, size_t min, size_t max, size_t *out,
                 char *err, size_t errlen)
{
    const char *v = aw__uri_param(u, key);
    if (!v) return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || x < min || x > max)
        return aw__errf(err, errlen, AW_ECONFIG, "%s=%s: must be a whole number from %zu to %zu",
                        key, v, min, max);
    *out = (size_t)x;
    return 0;
}

int aw__uri_server(const aw_uri *u, const char *name, const char *shape, const aw_uri_server *o,
                   char *err, size_t errlen)
{
    if (!u->has_authority) return aw__errf(err, errlen, AW_ECONFIG, "%s URIs look like %s", name, shape);
    if (o->host) *o->host = u->host;
    if (o->port) *o->port = (unsigned)u->port;
    if (o->user) *o->user = u->user;
    if (o->password) *o->password = u->pass;
    if (!o->database) return 0;
    *o->database = NULL;
    if (u->path && u->path[0] == '/' && u->path[1]) {
        if (strchr(u->path + 1, '/'))
            return aw__errf(err, errlen, AW_ECONFIG, "%s URI path '%s': expected /database", name,
                            u->path);
        *o->database = u->path + 1;
    }
    return 0;
}

/* An int parameter through aw__uri_size. */
static int uri_int(aw_uri *u, const char *key, int max, int *out, char *err, size_t errlen)
{
    size_t v = 0;
    int rc = aw__uri_size(u, key, 1, (size_t)max, &v, err, errlen);
    if (rc == 0 && v) *out = (int)v;
    return rc;
}

int aw__uri_opts(aw_uri *u, const aw_uri_opts *o, char *err, size_t errlen)
{
    int rc = 0;
    if (o->threads && (rc = aw__uri_size(u, "threads", 1, 1024, o->threads, err, errlen))) return rc;
    if (o->connections && (rc = aw__uri_size(u, "connections", 1, 1024, o->connections, err, errlen)))
        return rc;
    if (o->pipeline && (rc = aw__uri_size(u, "pipeline", 1, 65536, o->pipeline, err, errlen))) return rc;
    if (o->queue && (rc = aw__uri_size(u, "queue", 1, (size_t)1 << 24, o->queue, err, errlen))) return rc;
    if (o->connect_timeout_ms &&
        (rc = uri_int(u, "connect_timeout_ms", 3600000, o->connect_timeout_ms, err, errlen)))
        return rc;
    if (o->read_timeout_ms &&
        (rc = uri_int(u, "read_timeout_ms", 3600000, o->read_timeout_ms, err, errlen)))
        return rc;
    if (o->unix_socket) *o->unix_socket = aw__uri_param(u, "unix_socket");
    if (o->password_env) *o->password_env = aw__uri_param(u, "password_env");
    return 0;
}

int aw__uri_check_unused(aw_uri *u, const char *known, char *err, size_t errlen)
{
    for (int i = 0; i < u->nparams; i++)
        if (!u->used[i])
            return aw__errf(err, errlen, AW_ECONFIG,
                            "unknown parameter '%s' in %s URI (known: %s)",
                            u->key[i], u->scheme, known);
    return 0;
}
