/* strbuf.h: the one output buffer for text built piece by piece (EXPLAIN in
 * codegen.c, the formatter in fmt.c, regex translation in regex.c, and the
 * command's result output on top of it in cli/outbuf.c).
 *
 * Two kinds, one set of calls:
 *  - bounded (eq_strbuf_bounded): the caller's char[cap]. What fits is
 *    written and NUL-terminated, the rest is dropped but counted, so `len`
 *    is what the whole text needs (snprintf's contract);
 *  - growable (zero-initialised): malloc'd, doubled as needed, always
 *    NUL-terminated after `len`. On allocation failure `failed` is set and
 *    later appends are dropped; free with eq_strbuf_free. */
#ifndef EQ_STRBUF_H
#define EQ_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct eq_strbuf {
    char *data;
    size_t len; /* bytes appended (bounded: also those that did not fit) */
    size_t cap;
    bool bounded; /* data is the caller's and never grows */
    bool failed;  /* growable: out of memory, appends are dropped */
} eq_strbuf;

/* A buffer writing into out[0..cap) (out may be NULL when cap is 0). */
eq_strbuf eq_strbuf_bounded(char *out, size_t cap);
/* Room for `extra` more bytes and a NUL; false when bounded and full, or
 * when growing fails. */
bool eq_strbuf_reserve(eq_strbuf *b, size_t extra);
void eq_strbuf_bytes(eq_strbuf *b, const void *s, size_t n);
void eq_strbuf_str(eq_strbuf *b, const char *s);
void eq_strbuf_char(eq_strbuf *b, char c);
void eq_strbuf_printf(eq_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees a growable buffer's memory and empties it (a bounded one is left alone). */
void eq_strbuf_free(eq_strbuf *b);

#endif
