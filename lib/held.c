/* held.c: held events. A pending partial (or a buffered result) outlives
 * the feed call, so it keeps a copy of the fields the program reads, made in
 * one allocation and shared by reference count. */
#include <string.h>

#include "seq_internal.h"


static size_t value_extra_size(const eqlite_value *v)
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

typedef struct copy_cursor {
    eqlite_value *values; /* array elements go here */
    char *bytes;          /* string bytes go here */
} copy_cursor;

static eqlite_value copy_scalar(const eqlite_value *v, copy_cursor *c)
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

static eqlite_value copy_value(const eqlite_value *v, copy_cursor *c)
{
    if (v->kind != EQLITE_ARRAY)
        return copy_scalar(v, c);
    eqlite_value out = *v;
    eqlite_value *elems = c->values;
    c->values += v->len;
    for (uint32_t i = 0; i < v->len; i++)
        elems[i] = copy_scalar(&v->u.a[i], c);
    out.u.a = elems;
    return out;
}

/* Highest field id the program reads, + 1, capped by what the event has. */
static size_t held_field_count(const eqlite_program *prog, const eqlite_event *ev)
{
    size_t n = 0;
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < ev->nfields && prog->fields[i] + 1 > n)
            n = prog->fields[i] + 1;
    return n;
}

eq_held *eq_held_copy(eqlite_matcher *m, const eqlite_event *ev)
{
    const eqlite_program *prog = m->program;
    size_t nf = held_field_count(prog, ev);
    size_t extra = value_extra_size(&ev->tiebreaker);
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < nf)
            extra += value_extra_size(&ev->fields[prog->fields[i]]);
    size_t head = sizeof(eq_held) + nf * sizeof(eqlite_value);
    eq_held *h = eq_malloc(m->alloc, head + extra);
    if (!h)
        return NULL;
    h->refs = 1;
    h->ev = *ev;
    eqlite_value *fields = (eqlite_value *)(h + 1);
    memset(fields, 0, nf * sizeof(eqlite_value));
    /* arrays first (aligned), then string bytes */
    size_t nelems = 0;
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < nf && ev->fields[prog->fields[i]].kind == EQLITE_ARRAY)
            nelems += ev->fields[prog->fields[i]].len;
    if (ev->tiebreaker.kind == EQLITE_ARRAY)
        nelems += ev->tiebreaker.len;
    copy_cursor c = {fields + nf, (char *)(fields + nf + nelems)};
    for (uint32_t i = 0; i < prog->nfields; i++) {
        uint32_t id = prog->fields[i];
        if (id < nf && fields[id].kind == EQLITE_NULL)
            fields[id] = copy_value(&ev->fields[id], &c);
    }
    h->ev.tiebreaker = copy_value(&ev->tiebreaker, &c);
    h->ev.fields = fields;
    h->ev.nfields = nf;
    if (m->hooks.retain && !(h->ev.user = m->hooks.retain(m->hooks.ctx, ev))) {
        eq_free(m->alloc, h);
        return NULL;
    }
    return h;
}

void eq_held_release(eqlite_matcher *m, eq_held *h)
{
    if (!h || --h->refs)
        return;
    if (m->hooks.release)
        m->hooks.release(m->hooks.ctx, h->ev.user);
    eq_free(m->alloc, h);
}
