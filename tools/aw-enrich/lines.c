/* lines.c -- physical lines from stdin, and a growable buffer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich.h"

#define EN_READ_CHUNK (256 * 1024)

int en_buf_reserve(en_buf *b, size_t more)
{
    if (b->cap - b->len >= more) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2) return -1;
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

int en_buf_add(en_buf *b, const void *s, size_t n)
{
    if (en_buf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

void en_buf_free(en_buf *b)
{
    free(b->p);
    *b = (en_buf){ 0 };
}

int en_lines_init(en_lines *l, int fd)
{
    *l = (en_lines){ .fd = fd, .cap = 2 * EN_READ_CHUNK };
    l->buf = malloc(l->cap);
    return l->buf ? 0 : -1;
}

void en_lines_free(en_lines *l)
{
    free(l->buf);
    l->buf = NULL;
}

int en_lines_next(en_lines *l, const char **line, size_t *len)
{
    if (l->start == l->end) return l->eof ? -1 : 0;
    if (!l->bom_done && !l->eof) return 0;  /* not 3 bytes yet: maybe a BOM */
    const char *s = l->buf + l->start;
    const char *nl = memchr(s, '\n', l->end - l->start);
    size_t n;
    if (nl)
        n = (size_t)(nl - s) + 1;
    else if (l->eof)
        n = l->end - l->start;          /* the last line has no '\n' */
    else
        return 0;
    *line = s;
    *len = n;
    l->start += n;
    l->lineno++;
    return 1;
}

int en_lines_fill(en_lines *l)
{
    if (l->eof) return 0;
    if (en_signal_first()) { errno = EINTR; return -1; }   /* stopped: read no more */
    if (l->start > 0 && l->start == l->end) l->start = l->end = 0;
    if (l->cap - l->end < EN_READ_CHUNK) {
        /* Move the partial line to the front, or grow for a long line. */
        size_t used = l->end - l->start;
        if (l->start > 0) {
            memmove(l->buf, l->buf + l->start, used);
            l->start = 0;
            l->end = used;
        }
        if (l->cap - l->end < EN_READ_CHUNK) {
            size_t cap = l->cap * 2;
            char *p = realloc(l->buf, cap);
            if (!p) { errno = ENOMEM; return -1; }
            l->buf = p;
            l->cap = cap;
        }
    }
    for (;;) {
        ssize_t r = read(l->fd, l->buf + l->end, l->cap - l->end);
        if (r > 0) l->end += (size_t)r;
        else if (r == 0) l->eof = true;
        if (r >= 0) {
            if (!l->bom_done && (l->end >= 3 || l->eof)) {
                l->bom_done = true;
                if (l->end - l->start >= 3 && memcmp(l->buf + l->start, "\xEF\xBB\xBF", 3) == 0)
                    l->start += 3;
            }
            return 0;
        }
        if (errno == EINTR && !en_signal_first()) continue;
        if (errno == EINTR) return -1;      /* a signal stops the run: say so */
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return -1;
    }
}

int en_lines_peek(en_lines *l)
{
    size_t i = l->start;
    for (;;) {
        for (; i < l->end; i++) {
            unsigned char ch = (unsigned char)l->buf[i];
            if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n') return ch;
        }
        if (l->eof) return -1;
        size_t off = i - l->start;
        if (en_lines_fill(l)) return -2;
        i = l->start + off;
    }
}
