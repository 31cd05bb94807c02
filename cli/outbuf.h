/* outbuf.h: a growable byte buffer for command output. Results are appended
 * here and written to a descriptor in large blocks (one write(2) per 256 KiB or more),
 * never through per-result stdio calls. */
#ifndef EQ_CLI_OUTBUF_H
#define EQ_CLI_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "eqlite.h"

#define OUTBUF_FLUSH_AT ((size_t)256 << 10)

typedef struct outbuf {
    char *data;
    size_t len, cap;
    bool failed; /* out of memory: later appends are dropped */
} outbuf;

void ob_free(outbuf *ob);
void ob_bytes(outbuf *ob, const void *p, size_t n);
void ob_str(outbuf *ob, const char *s);
void ob_char(outbuf *ob, char c);
/* s as a JSON string literal (NULL writes null). */
void ob_json_string(outbuf *ob, const char *s, size_t n);
void ob_json_value(outbuf *ob, const eqlite_value *v);
/* Writes everything to fd and empties the buffer; false (with a message on
 * stderr) on a write error or when appends were dropped for lack of memory. */
bool ob_write(outbuf *ob, int fd);
/* Writes when the buffer holds OUTBUF_FLUSH_AT bytes or more. */
bool ob_maybe_write(outbuf *ob, int fd);

#endif
