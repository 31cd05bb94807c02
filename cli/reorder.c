/* reorder.c: --reorder-window for streams. Events wait in a min-heap on
 * (timestamp, tiebreaker, arrival) until the newest timestamp seen is at
 * least the window past theirs, then go to the engine in order; an event
 * later than that still goes (event queries see every event), and the
 * engine's order check makes it one that sequences and samples lose.
 *
 * A waiting event is one allocation: its set fields as (id, value) pairs
 * (events have few of the many projected fields), arrays and strings, the
 * tiebreaker and the event's text. Memory is what arrives within one window. */
#define _DEFAULT_SOURCE
#include "reorder.h"

#include <stdlib.h>
#include <string.h>

struct waiting {
    int64_t ts;
    uint64_t arrival;
    uint64_t line;
    eqlite_value tb;
    uint32_t nset;
    uint32_t *ids;
    eqlite_value *vals;
    eng_text text;
};

static size_t value_bytes(const eqlite_value *v)
{
    if (v->kind == EQLITE_STRING)
        return v->len;
    if (v->kind != EQLITE_ARRAY)
        return 0;
    size_t n = (size_t)v->len * sizeof(eqlite_value);
    for (uint32_t i = 0; i < v->len; i++)
        if (v->u.a[i].kind == EQLITE_STRING)
            n += v->u.a[i].len;
    return n;
}

typedef struct cursor {
    eqlite_value *elems;
    char *bytes;
} cursor;

static eqlite_value copy_scalar(const eqlite_value *v, cursor *c)
{
    eqlite_value out = *v;
    if (v->kind == EQLITE_STRING) {
        if (v->len)
            memcpy(c->bytes, v->u.s, v->len);
        out.u.s = c->bytes;
        c->bytes += v->len;
    }
    return out;
}

static eqlite_value copy_value(const eqlite_value *v, cursor *c)
{
    if (v->kind != EQLITE_ARRAY)
        return copy_scalar(v, c);
    eqlite_value out = *v, *elems = c->elems;
    c->elems += v->len;
    for (uint32_t i = 0; i < v->len; i++)
        elems[i] = copy_scalar(&v->u.a[i], c);
    out.u.a = elems;
    return out;
}

static size_t array_len(const eqlite_value *v) { return v->kind == EQLITE_ARRAY ? v->len : 0; }

static waiting *copy_event(const eqlite_event *ev, const eq_ndjson_record *rec, uint64_t arrival)
{
    uint32_t nset = 0;
    size_t nelems = array_len(&ev->tiebreaker), bytes = value_bytes(&ev->tiebreaker) + rec->len;
    for (size_t i = 0; i < ev->nfields; i++) {
        if (ev->fields[i].kind == EQLITE_NULL)
            continue;
        nset++;
        nelems += array_len(&ev->fields[i]);
        bytes += value_bytes(&ev->fields[i]);
    }
    size_t head = sizeof(waiting) + (size_t)nset * sizeof(eqlite_value) + nelems * sizeof(eqlite_value);
    size_t ids = (size_t)nset * sizeof(uint32_t);
    waiting *w = malloc(head + ids + bytes + 1);
    if (!w)
        return NULL;
    w->ts = ev->timestamp;
    w->arrival = arrival;
    w->line = rec->line;
    w->nset = nset;
    w->vals = (eqlite_value *)(w + 1);
    cursor c = {w->vals + nset, NULL};
    w->ids = (uint32_t *)(c.elems + nelems);
    c.bytes = (char *)(w->ids + nset);
    uint32_t k = 0;
    for (size_t i = 0; i < ev->nfields; i++) {
        if (ev->fields[i].kind == EQLITE_NULL)
            continue;
        w->ids[k] = (uint32_t)i;
        w->vals[k++] = copy_value(&ev->fields[i], &c);
    }
    w->tb = copy_value(&ev->tiebreaker, &c);
    if (rec->len)
        memcpy(c.bytes, rec->text, rec->len);
    w->text = (eng_text){c.bytes, rec->len};
    return w;
}

/* The order sequences need (numbers with numbers, strings with strings),
 * then arrival. */
static int compare(const waiting *a, const waiting *b)
{
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
    return a->arrival < b->arrival ? -1 : 1;
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

bool reorder_push(reorder *r, const eqlite_event *ev, const eq_ndjson_record *rec)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        waiting **heap = realloc(r->heap, cap * sizeof *heap);
        if (!heap)
            return false;
        r->heap = heap;
        r->cap = cap;
    }
    waiting *w = copy_event(ev, rec, r->arrivals++);
    if (!w)
        return false;
    if (!r->have_newest || ev->timestamp > r->newest)
        r->newest = ev->timestamp;
    r->have_newest = true;
    r->heap[r->n++] = w;
    sift_up(r, r->n - 1);
    if (r->n > r->peak)
        r->peak = r->n;
    return true;
}

bool reorder_pop(reorder *r, bool draining, eqlite_event *ev, eng_text **text, uint64_t *line)
{
    free(r->out); /* the event handed out last time */
    r->out = NULL;
    if (r->n == 0)
        return false;
    waiting *top = r->heap[0];
    int64_t bound; /* ready once newest - window has reached it */
    if (!draining && (__builtin_sub_overflow(r->newest, r->window, &bound) || top->ts > bound))
        return false;
    r->heap[0] = r->heap[--r->n];
    sift_down(r, 0);
    r->out = top;
    /* a dense field array for the engine, rebuilt in a reusable buffer */
    size_t nf = top->nset ? top->ids[top->nset - 1] + 1 : 0;
    if (nf > r->nfields) {
        eqlite_value *f = realloc(r->fields, nf * sizeof *f);
        if (!f) {
            r->failed = true;
            return false;
        }
        memset(f + r->nfields, 0, (nf - r->nfields) * sizeof *f);
        r->fields = f;
        r->nfields = nf;
    }
    for (size_t i = 0; i < r->used; i++) /* what the previous event set */
        r->fields[r->set_ids[i]] = (eqlite_value){0};
    if (top->nset > r->set_cap) {
        uint32_t *ids = realloc(r->set_ids, top->nset * sizeof *ids);
        if (!ids) {
            r->failed = true;
            return false;
        }
        r->set_ids = ids;
        r->set_cap = top->nset;
    }
    for (uint32_t i = 0; i < top->nset; i++) {
        r->fields[top->ids[i]] = top->vals[i];
        r->set_ids[i] = top->ids[i];
    }
    r->used = top->nset;
    *ev = (eqlite_event){r->fields, nf, top->ts, top->tb, &top->text};
    *text = &top->text;
    *line = top->line;
    return true;
}

void reorder_free(reorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->heap[i]);
    free(r->heap);
    free(r->out);
    free(r->fields);
    free(r->set_ids);
    memset(r, 0, sizeof *r);
}
