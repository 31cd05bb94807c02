/* text_table.c: aligned columns of text cells (text_table.h). */
#include "text_table.h"

#include <stdlib.h>
#include <string.h>

bool tt_init(text_table *t, size_t ncols, size_t max_width, size_t hold)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->max_width = max_width < 2 ? 2 : max_width;
    t->hold = hold ? hold : 1;
    return ncols > 0;
}

static bool continuation(unsigned char c) { return (c & 0xc0) == 0x80; }

/* Code points in s (a stray continuation byte counts as one, as a terminal
 * shows a replacement for it). */
static size_t text_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t k = 0; k < n; k++)
        if (!continuation((unsigned char)s[k]) || k == 0)
            w++;
    return w;
}

/* One cell padded (or cut) to `width`; `last` is not padded at its right. */
static void write_cell(eq_strbuf *out, const char *s, size_t n, size_t width, bool last, bool right)
{
    size_t w = text_width(s, n);
    bool cut = w > width;
    for (size_t pad = w; right && pad < width; pad++)
        eq_strbuf_char(out, ' ');
    size_t keep = cut ? width - 1 : w, shown = 0, k = 0;
    while (k < n) {
        size_t start = k++;
        while (k < n && continuation((unsigned char)s[k]))
            k++;
        if (shown == keep)
            break;
        shown++;
        unsigned char c = (unsigned char)s[start];
        if (c < 0x20 || c == 0x7f)
            eq_strbuf_char(out, ' ');
        else
            eq_strbuf_bytes(out, s + start, k - start);
    }
    if (cut) {
        eq_strbuf_str(out, "\xe2\x80\xa6"); /* … */
        shown++;
    }
    for (; !last && !right && shown < width; shown++)
        eq_strbuf_char(out, ' ');
}

static void write_row(const text_table *t, eq_strbuf *out, const char *const *cells, const size_t *lens)
{
    size_t last = t->ncols - 1;
    while (last > 0 && (!cells[last] || !lens[last])) /* empty cells at the end: no blanks */
        last--;
    for (size_t k = 0; k <= last; k++) {
        if (k)
            eq_strbuf_str(out, "  ");
        write_cell(out, cells[k] ? cells[k] : "", cells[k] ? lens[k] : 0, t->widths[k], k == last,
                   t->right && t->right[k]);
    }
    eq_strbuf_char(out, '\n');
}

/* Walks the held rows, calling `each` with each row's cells; false when out of memory. */
static bool held_rows(const text_table *t, void (*each)(const text_table *, void *, const char *const *, const size_t *),
                      void *ctx)
{
    const char **cells = calloc(t->ncols, sizeof *cells);
    size_t *lens = calloc(t->ncols, sizeof *lens);
    size_t at = 0;
    for (size_t row = 0; cells && lens && row < t->nheld; row++) {
        for (size_t k = 0; k < t->ncols; k++) {
            memcpy(&lens[k], t->held.data + at, sizeof lens[k]);
            cells[k] = t->held.data + at + sizeof lens[k];
            at += sizeof lens[k] + lens[k];
        }
        each(t, ctx, cells, lens);
    }
    bool ok = cells && lens;
    free(cells);
    free(lens);
    return ok;
}

static void widen(const text_table *t, void *ctx, const char *const *cells, const size_t *lens)
{
    (void)ctx;
    for (size_t k = 0; k < t->ncols; k++) {
        size_t w = text_width(cells[k], lens[k]);
        w = w > t->max_width ? t->max_width : w < 1 ? 1 : w; /* 1: room for the cut marker */
        if (w > t->widths[k])
            t->widths[k] = w;
    }
}

static void print_held(const text_table *t, void *out, const char *const *cells, const size_t *lens)
{
    write_row(t, out, cells, lens);
}

void tt_flush(text_table *t, eq_strbuf *out)
{
    if (t->failed)
        return;
    if (!t->widths) {
        if (!(t->widths = calloc(t->ncols, sizeof *t->widths))) {
            t->failed = out->failed = true; /* ob_write reports it */
            return;
        }
        if (!held_rows(t, widen, NULL)) {
            t->failed = out->failed = true;
            return;
        }
    }
    if (!held_rows(t, print_held, out))
        t->failed = out->failed = true;
    eq_strbuf_free(&t->held);
    t->nheld = 0;
}

void tt_row(text_table *t, eq_strbuf *out, const char *const *cells, const size_t *lens)
{
    if (t->widths) {
        write_row(t, out, cells, lens);
        return;
    }
    for (size_t k = 0; k < t->ncols; k++) {
        size_t n = cells[k] ? lens[k] : 0;
        eq_strbuf_bytes(&t->held, &n, sizeof n);
        eq_strbuf_bytes(&t->held, cells[k], n);
    }
    if (t->held.failed)
        t->failed = out->failed = true;
    if (++t->nheld >= t->hold)
        tt_flush(t, out);
}

void tt_free(text_table *t)
{
    eq_strbuf_free(&t->held);
    free(t->widths);
    t->widths = NULL;
}
