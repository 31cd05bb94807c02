/* outbuf.h: command output in the library's growable buffer (lib/strbuf.h):
 * JSON writers, and writing to a descriptor in large blocks (one write(2)
 * per 256 KiB or more), never through per-result stdio calls. */
#ifndef EQ_CLI_OUTBUF_H
#define EQ_CLI_OUTBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "eqlite.h"
#include "strbuf.h"

#define OUTBUF_FLUSH_AT ((size_t)256 << 10)

/* s as a JSON string literal (NULL writes null). */
void ob_json_string(eq_strbuf *ob, const char *s, size_t n);
void ob_json_value(eq_strbuf *ob, const eqlite_value *v);
/* Writes everything to fd and empties the buffer; false (with a message on
 * stderr) on a write error or when appends were dropped for lack of memory. */
bool ob_write(eq_strbuf *ob, int fd);
/* Writes when the buffer holds OUTBUF_FLUSH_AT bytes or more. */
bool ob_maybe_write(eq_strbuf *ob, int fd);

#endif
