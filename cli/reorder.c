/* reorder.c: --reorder-window for streams. Events wait in a min-heap on
 * (timestamp, tiebreaker, arrival) until the newest timestamp seen is at
 * least the window past theirs, then go to the engine in order; an event
 * later than that still goes (event queries see every event), and the
 * engine's order check makes it one that sequences and samples lose.
 *
 * A waiting event is an event_copy (its set fields and text) and its
 * arrival. Memory is what arrives within one window. */
#define _DEFAULT_SOURCE
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

#include "event_copy.h"

struct waiting {
    uint64_t arrival;
    event_copy *ev;
};

/* The order sequences need (numbers with numbers, strings with strings),
 * then arrival. */
static int compare(const waiting *wa, const waiting *wb)
{
    const event_copy *a = wa->ev, *b = wb->ev;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    const eqlite_value *x = &a->tb, *y = &b->tb;
    if (x->kind == EQLITE_STRING && y->kind == EQLITE_STRING) {
        size_t n = x->len < y->len ? x->len : y->len;
        int c = n ? memcmp(x->u.s, y->u.s, n) : 0;
        if (c || x->len != y->len)
            return c ? c : x->len < y->len ? -1 : 1;
    } else if ((x->kind == EQLITE_INT || x->kind == EQLITE_DOUBLE) && (y->kind == EQLITE_INT || y->kind == EQLITE_DOUBLE)) {
        double dx = x->kind == EQLITE_INT ? (double)x->u.i : x->u.d, dy = y->kind == EQLITE_INT ? (double)y->u.i : y->u.d;
        if (x->kind == EQLITE_INT && y->kind == EQLITE_INT ? x->u.i != y->u.i : dx != dy)
            return (x->kind == EQLITE_INT && y->kind == EQLITE_INT ? x->u.i < y->u.i : dx < dy) ? -1 : 1;
    }
    return wa->arrival < wb->arrival ? -1 : 1;
}

static void sift_up(reorder *r, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (compare(r->heap[p], r->heap[i]) <= 0)
            break;
        waiting *t = r->heap[p];
        r->heap[p] = r->heap[i];
        r->heap[i] = t;
        i = p;
    }
}

static void sift_down(reorder *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < r->n && compare(r->heap[l], r->heap[m]) < 0)
            m = l;
        if (l + 1 < r->n && compare(r->heap[l + 1], r->heap[m]) < 0)
            m = l + 1;
        if (m == i)
            return;
        waiting *t = r->heap[m];
        r->heap[m] = r->heap[i];
        r->heap[i] = t;
        i = m;
    }
}

void reorder_init(reorder *r, int64_t window_ns)
{
    memset(r, 0, sizeof *r);
    r->window = window_ns;
}

bool reorder_push(reorder *r, const eqlite_event *ev, const eqlite_record *rec)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        waiting **heap = realloc(r->heap, cap * sizeof *heap);
        if (!heap)
            return false;
        r->heap = heap;
        r->cap = cap;
    }
    waiting *w = malloc(sizeof *w);
    if (!w || !(w->ev = event_copy_make(ev, rec, NULL, 0, false, NULL))) {
        free(w);
        return false;
    }
    w->arrival = r->arrivals++;
    if (!r->have_newest || ev->timestamp > r->newest)
        r->newest = ev->timestamp;
    r->have_newest = true;
    r->heap[r->n++] = w;
    sift_up(r, r->n - 1);
    if (r->n > r->peak)
        r->peak = r->n;
    return true;
}

static void drop(waiting *w)
{
    if (w)
        free(w->ev);
    free(w);
}

bool reorder_pop(reorder *r, bool draining, eqlite_event *ev, eng_text **text, uint64_t *line)
{
    drop(r->out); /* the event handed out last time */
    r->out = NULL;
    if (r->n == 0)
        return false;
    waiting *top = r->heap[0];
    int64_t bound; /* ready once newest - window has reached it */
    if (!draining && (__builtin_sub_overflow(r->newest, r->window, &bound) || top->ev->ts > bound))
        return false;
    r->heap[0] = r->heap[--r->n];
    sift_down(r, 0);
    r->out = top;
    if (!event_view_fill(&r->view, top->ev, ev)) {
        r->failed = true;
        return false;
    }
    *text = &top->ev->text;
    *line = top->ev->line;
    return true;
}

void reorder_free(reorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        drop(r->heap[i]);
    free(r->heap);
    drop(r->out);
    event_view_free(&r->view);
    memset(r, 0, sizeof *r);
}
