/* outbuf.c: JSON writers and descriptor output for the command's buffers. */
#include "outbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ob_json_string(eq_strbuf *ob, const char *s, size_t n)
{
    if (!s) {
        eq_strbuf_str(ob, "null");
        return;
    }
    static const char hex[] = "0123456789abcdef";
    eq_strbuf_char(ob, '"');
    size_t run = 0; /* bytes copied as they are, written in one go */
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        eq_strbuf_bytes(ob, s + run, k - run);
        run = k + 1;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r') {
            esc[1] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
            eq_strbuf_bytes(ob, esc, 2);
        } else {
            eq_strbuf_bytes(ob, esc, 6);
        }
    }
    eq_strbuf_bytes(ob, s + run, n - run);
    eq_strbuf_char(ob, '"');
}

static void json_double(eq_strbuf *ob, double d)
{
    if (!isfinite(d)) {
        eq_strbuf_str(ob, "null");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) { /* shortest text that reads back the same */
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (!strpbrk(tmp, ".eni"))
        strcat(tmp, ".0");
    eq_strbuf_str(ob, tmp);
}

void ob_json_value(eq_strbuf *ob, const eqlite_value *v)
{
    char tmp[32];
    switch (v->kind) {
    case EQLITE_BOOL: eq_strbuf_str(ob, v->u.b ? "true" : "false"); break;
    case EQLITE_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
        eq_strbuf_str(ob, tmp);
        break;
    case EQLITE_DOUBLE: json_double(ob, v->u.d); break;
    case EQLITE_STRING: ob_json_string(ob, v->u.s, v->len); break;
    case EQLITE_ARRAY:
        eq_strbuf_char(ob, '[');
        for (uint32_t k = 0; k < v->len; k++) {
            if (k)
                eq_strbuf_char(ob, ',');
            ob_json_value(ob, &v->u.a[k]);
        }
        eq_strbuf_char(ob, ']');
        break;
    default: eq_strbuf_str(ob, "null");
    }
}

bool ob_write(eq_strbuf *ob, int fd)
{
    if (ob->failed) { /* results were dropped: never a short output with exit 0 */
        fprintf(stderr, "eqlite: out of memory while buffering results\n");
        return false;
    }
    size_t done = 0;
    while (done < ob->len) {
        ssize_t n = write(fd, ob->data + done, ob->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "eqlite: cannot write results: %s\n", n < 0 ? strerror(errno) : "no progress");
            ob->len = 0; /* said once: nothing more goes to this descriptor */
            return false;
        }
        done += (size_t)n;
    }
    ob->len = 0;
    return true;
}

bool ob_maybe_write(eq_strbuf *ob, int fd) { return ob->len < OUTBUF_FLUSH_AT || ob_write(ob, fd); }
