/* text_table.h: rows of text cells in aligned columns, for a terminal.
 *
 * Each column is as wide as its widest cell among the first `hold` rows (the
 * header is the first row), at most `max_width` code points; a longer cell is
 * cut and ends in "…". Columns are two spaces apart; no line ends in blanks.
 * Columns marked in `right` are aligned right. Widths count UTF-8 code points; control characters print as spaces. Rows
 * after the first `hold` take the widths found, so memory stays bounded
 * whatever the number of rows. */
#ifndef EQ_CLI_TEXT_TABLE_H
#define EQ_CLI_TEXT_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "outbuf.h"

typedef struct text_table {
    size_t ncols;
    size_t max_width; /* per cell, in code points (2 or more) */
    size_t hold;      /* rows held to size the columns */
    eq_strbuf held;      /* the rows held: per cell its length (size_t), then its bytes */
    size_t nheld;
    size_t *widths;   /* NULL until sized */
    const bool *right; /* per column: aligned right (numbers); NULL = all left */
    bool failed;      /* out of memory */
} text_table;

/* false when out of memory */
bool tt_init(text_table *t, size_t ncols, size_t max_width, size_t hold);
/* One row of ncols cells (cells[k] of lens[k] bytes; NULL = empty): held, or
 * written to out once the columns are sized. */
void tt_row(text_table *t, eq_strbuf *out, const char *const *cells, const size_t *lens);
/* Sizes the columns if not yet done and writes the rows held. */
void tt_flush(text_table *t, eq_strbuf *out);
void tt_free(text_table *t);

#endif
