/* diag.c: first-error diagnostics rendered pikchr-style: the message, the
 * source line, and a caret with a tilde underline under the offending span. */
#include <stdio.h>
#include <string.h>

#include "eqlite.h"

static const char *const status_text[] = {
    "ok", "syntax error", "verification error", "out of memory", "limit reached",
    "event out of order", "misuse", "not found", "malformed input",
    "arithmetic error (integer overflow or division by zero)",
};

const char *eqlite_strerror(eqlite_status status)
{
    if ((unsigned)status < sizeof status_text / sizeof *status_text)
        return status_text[status];
    return "unknown status";
}

const char *eqlite_version(void) { return EQLITE_VERSION; }

size_t eqlite_diag_format(const eqlite_diag *d, const char *src, size_t len, char *buf, size_t cap)
{
    if (!d)
        return 0;
    char tmp[1];
    if (!buf || cap == 0) {
        buf = tmp;
        cap = 1;
    }
    size_t off = d->offset <= len ? d->offset : len;
    size_t ls = off, le = off;
    while (src && ls > 0 && src[ls - 1] != '\n')
        ls--;
    while (src && le < len && src[le] != '\n' && src[le] != '\r')
        le++;
    size_t width = le - ls;
    if (width > 400) { /* keep a window around the error on huge lines */
        size_t from = off > ls + 200 ? off - 200 : ls;
        width = le - from < 400 ? le - from : 400;
        ls = from;
    }
    int n = snprintf(buf, cap, "%u:%u: %s\n", d->line, d->column, d->message);
    size_t used = n > 0 ? (size_t)n : 0;
    if (!src)
        return used;
    size_t need = used + width + 1 + (off - ls) + (d->length ? d->length : 1) + 2;
    if (used < cap) {
        char *o = buf + used;
        size_t room = cap - used;
        size_t k = 0;
        for (size_t i = 0; i < width && k + 1 < room; i++)
            o[k++] = src[ls + i] == '\t' ? '\t' : src[ls + i];
        if (k + 1 < room)
            o[k++] = '\n';
        for (size_t i = ls; i < off && k + 1 < room; i++)
            o[k++] = src[i] == '\t' ? '\t' : ' ';
        if (k + 1 < room)
            o[k++] = '^';
        size_t under = d->length;
        if (off + under > le)
            under = le > off ? le - off : 1;
        for (size_t i = 1; i < under && k + 1 < room; i++)
            o[k++] = '~';
        if (k + 1 < room)
            o[k++] = '\n';
        o[k] = 0;
    }
    return need;
}
