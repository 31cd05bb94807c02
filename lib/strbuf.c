/* strbuf.c: the bounded or growable output buffer (strbuf.h). */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eq_strbuf eq_strbuf_bounded(char *out, size_t cap)
{
    if (out && cap)
        out[0] = '\0';
    return (eq_strbuf){.data = out, .cap = out ? cap : 0, .bounded = true};
}

bool eq_strbuf_reserve(eq_strbuf *b, size_t extra)
{
    if (b->len + extra < b->cap)
        return true;
    if (b->bounded || b->failed)
        return false;
    size_t cap = b->cap ? b->cap : 64;
    while (cap <= b->len + extra)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = true;
        return false;
    }
    data[b->len] = '\0';
    b->data = data;
    b->cap = cap;
    return true;
}

void eq_strbuf_bytes(eq_strbuf *b, const void *s, size_t n)
{
    if (n == 0)
        return;
    size_t room = n;
    if (!eq_strbuf_reserve(b, n))
        room = b->bounded && b->len + 1 < b->cap ? b->cap - 1 - b->len : 0; /* the part that fits */
    if (room) {
        memcpy(b->data + b->len, s, room);
        b->data[b->len + room] = '\0';
    }
    if (room || b->bounded)
        b->len += n;
}

void eq_strbuf_str(eq_strbuf *b, const char *s) { eq_strbuf_bytes(b, s, strlen(s)); }

void eq_strbuf_char(eq_strbuf *b, char c) { eq_strbuf_bytes(b, &c, 1); }

void eq_strbuf_printf(eq_strbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    eq_strbuf_bytes(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void eq_strbuf_free(eq_strbuf *b)
{
    if (b->bounded)
        return;
    free(b->data);
    *b = (eq_strbuf){0};
}
