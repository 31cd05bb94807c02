/* event_copy.c: compact copies of events, and their dense view. */
#include "event_copy.h"

#include <stdlib.h>
#include <string.h>

/* The j-th field id to look at: only[j], or j itself; nfields when past the end. */
static size_t field_at(const eqlite_event *ev, const uint32_t *only, size_t j)
{
    size_t i = only ? only[j] : j;
    return i < ev->nfields ? i : ev->nfields;
}

event_copy *event_copy_make(const eqlite_event *ev, const eqlite_record *rec, const uint32_t *only, size_t nonly,
                            bool borrow_text)
{
    uint32_t nset = 0;
    size_t nelems = 0, bytes = borrow_text ? 0 : rec->len;
    eqlite_value_copy_size(&ev->tiebreaker, &nelems, &bytes);
    size_t n = only ? nonly : ev->nfields;
    for (size_t j = 0; j < n; j++) {
        size_t i = field_at(ev, only, j);
        if (i == ev->nfields)
            break; /* ids ascend */
        if (ev->fields[i].kind == EQLITE_NULL)
            continue;
        nset++;
        eqlite_value_copy_size(&ev->fields[i], &nelems, &bytes);
    }
    size_t head = sizeof(event_copy) + (size_t)nset * sizeof(eqlite_value) + nelems * sizeof(eqlite_value);
    size_t ids = (size_t)nset * sizeof(uint32_t);
    event_copy *w = malloc(head + ids + bytes + 1);
    if (!w)
        return NULL;
    w->ts = ev->timestamp;
    w->line = rec->number;
    w->nset = nset;
    w->vals = (eqlite_value *)(w + 1);
    eqlite_value *elems = w->vals + nset;
    w->ids = (uint32_t *)(elems + nelems);
    char *room = (char *)(w->ids + nset); /* string bytes, then the text */
    uint32_t k = 0;
    for (size_t j = 0; j < n; j++) {
        size_t i = field_at(ev, only, j);
        if (i == ev->nfields)
            break;
        if (ev->fields[i].kind == EQLITE_NULL)
            continue;
        w->ids[k] = (uint32_t)i;
        w->vals[k++] = eqlite_value_copy(&ev->fields[i], &elems, &room);
    }
    w->tb = eqlite_value_copy(&ev->tiebreaker, &elems, &room);
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
    size_t nf = c->nset ? c->ids[c->nset - 1] + 1 : 0;
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
    *ev = (eqlite_event){v->fields, nf, c->ts, c->tb, (void *)&c->text, NULL, 0};
    return true;
}

void event_view_free(event_view *v)
{
    free(v->fields);
    free(v->set_ids);
    memset(v, 0, sizeof *v);
}
