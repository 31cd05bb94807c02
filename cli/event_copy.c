/* event_copy.c: compact copies of events, and their dense view. */
#include "event_copy.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct copy_block {
    copy_block *next;
    size_t used, cap;
    max_align_t room[];
};

#define BLOCK_BYTES ((size_t)1 << 20)

static void *arena_take(copy_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    copy_block *b = a->used;
    if (!b || b->cap - b->used < n) {
        if (a->spare && a->spare->cap >= n) {
            b = a->spare;
            a->spare = b->next;
        } else {
            size_t cap = n > BLOCK_BYTES ? n : BLOCK_BYTES; /* an event larger than a block gets its own */
            if (!(b = malloc(sizeof *b + cap)))
                return NULL;
            b->cap = cap;
        }
        b->used = 0;
        b->next = a->used;
        a->used = b;
    }
    void *p = (char *)b->room + b->used;
    b->used += n;
    return p;
}

void copy_arena_reset(copy_arena *a)
{
    while (a->used) {
        copy_block *b = a->used;
        a->used = b->next;
        b->next = a->spare;
        a->spare = b;
    }
}

void copy_arena_free(copy_arena *a)
{
    copy_arena_reset(a);
    while (a->spare) {
        copy_block *b = a->spare;
        a->spare = b->next;
        free(b);
    }
}

/* Whether field i of ev is set and kept. */
static inline bool kept(const eqlite_event *ev, const uint8_t *keep, size_t nkeep, size_t i)
{
    return i < ev->nfields && ev->fields[i].kind != EQLITE_NULL && (!keep || (i < nkeep && keep[i]));
}

/* Strings, most values, are sized and copied here; arrays by the library. */
static inline void size_value(const eqlite_value *v, size_t *nelems, size_t *bytes)
{
    if (v->kind == EQLITE_STRING)
        *bytes += v->len;
    else if (v->kind == EQLITE_ARRAY)
        eqlite_value_copy_size(v, nelems, bytes);
}

static inline eqlite_value copy_value(const eqlite_value *v, eqlite_value **elems, char **room)
{
    if (v->kind == EQLITE_ARRAY)
        return eqlite_value_copy(v, elems, room);
    eqlite_value out = *v;
    if (v->kind == EQLITE_STRING) {
        if (v->len)
            memcpy(*room, v->u.s, v->len);
        out.u.s = *room;
        *room += v->len;
    }
    return out;
}

#define LISTED 256 /* kept ids gathered on the stack; an event with more takes two passes */

event_copy *event_copy_make(const eqlite_event *ev, const eqlite_record *rec, const uint8_t *keep, size_t nkeep,
                            bool borrow_text, copy_arena *arena)
{
    uint32_t listed[LISTED];
    uint32_t nset = 0;
    size_t nelems = 0, bytes = borrow_text ? 0 : rec->len;
    size_value(&ev->tiebreaker, &nelems, &bytes);
    /* the present list when the reader gave one, else every field (none kept: none) */
    size_t n = keep && !nkeep ? 0 : ev->present ? ev->npresent : ev->nfields;
    for (size_t j = 0; j < n; j++) {
        size_t i = ev->present ? ev->present[j] : j;
        if (!kept(ev, keep, nkeep, i))
            continue;
        if (nset < LISTED)
            listed[nset] = (uint32_t)i;
        nset++;
        size_value(&ev->fields[i], &nelems, &bytes);
    }
    size_t head = sizeof(event_copy) + (size_t)nset * sizeof(eqlite_value) + nelems * sizeof(eqlite_value);
    size_t ids = (size_t)nset * sizeof(uint32_t);
    event_copy *w = arena ? arena_take(arena, head + ids + bytes + 1) : malloc(head + ids + bytes + 1);
    if (!w)
        return NULL;
    w->ts = ev->timestamp;
    w->line = rec->number;
    w->nset = nset;
    w->vals = (eqlite_value *)(w + 1);
    eqlite_value *elems = w->vals + nset;
    w->ids = (uint32_t *)(elems + nelems);
    char *room = (char *)(w->ids + nset); /* string bytes, then the text */
    if (nset <= LISTED) {
        memcpy(w->ids, listed, ids);
    } else {
        uint32_t k = 0;
        for (size_t j = 0; j < n; j++) {
            size_t i = ev->present ? ev->present[j] : j;
            if (kept(ev, keep, nkeep, i))
                w->ids[k++] = (uint32_t)i;
        }
    }
    uint32_t top = 0;
    for (uint32_t k = 0; k < nset; k++) {
        uint32_t i = w->ids[k];
        top = i >= top ? i + 1 : top;
        w->vals[k] = copy_value(&ev->fields[i], &elems, &room);
    }
    w->nfields = top;
    w->tb = copy_value(&ev->tiebreaker, &elems, &room);
    if (borrow_text) {
        w->text = (eng_text){rec->text, rec->len, NULL};
        return w;
    }
    if (rec->len)
        memcpy(room, rec->text, rec->len);
    w->text = (eng_text){room, rec->len, NULL};
    return w;
}

bool event_view_fill(event_view *v, const event_copy *c, eqlite_event *ev)
{
    size_t nf = c->nfields;
    if (nf > v->nfields) {
        eqlite_value *f = realloc(v->fields, nf * sizeof *f);
        if (!f)
            return false;
        memset(f + v->nfields, 0, (nf - v->nfields) * sizeof *f);
        v->fields = f;
        v->nfields = nf;
    }
    for (size_t i = 0; i < v->used; i++) /* what the previous event set */
        v->fields[v->set_ids[i]] = (eqlite_value){0};
    v->used = 0;
    if (c->nset > v->set_cap) {
        uint32_t *ids = realloc(v->set_ids, c->nset * sizeof *ids);
        if (!ids)
            return false;
        v->set_ids = ids;
        v->set_cap = c->nset;
    }
    for (uint32_t i = 0; i < c->nset; i++) {
        v->fields[c->ids[i]] = c->vals[i];
        v->set_ids[i] = c->ids[i];
    }
    v->used = c->nset;
    /* the copied ids are the present list: a scanner looks at those alone */
    *ev = (eqlite_event){v->fields, nf, c->ts, c->tb, (void *)&c->text, c->ids, c->nset};
    return true;
}

void event_view_free(event_view *v)
{
    free(v->fields);
    free(v->set_ids);
    memset(v, 0, sizeof *v);
}
