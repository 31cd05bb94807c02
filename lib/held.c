/* held.c: held events. A pending partial (or a buffered result) outlives
 * the feed call, so it keeps a copy of the fields the program reads, made in
 * one allocation and shared by reference count. The deep copy of one value
 * is public (eqlite_value_copy): the command keeps events the same way. */
#include <string.h>

#include "seq_internal.h"

/* ---- deep copies of values (public: eqlite.h) ---------------------------- */

void eqlite_value_copy_size(const eqlite_value *value, size_t *nelems, size_t *nbytes)
{
    if (value->kind == EQLITE_STRING)
        *nbytes += value->len;
    if (value->kind != EQLITE_ARRAY)
        return;
    *nelems += value->len;
    for (uint32_t i = 0; i < value->len; i++)
        if (value->u.a[i].kind == EQLITE_STRING)
            *nbytes += value->u.a[i].len;
}

static eqlite_value copy_scalar(const eqlite_value *v, char **bytes)
{
    eqlite_value out = *v;
    if (v->kind == EQLITE_STRING) {
        if (v->len)
            memcpy(*bytes, v->u.s, v->len);
        out.u.s = *bytes;
        *bytes += v->len;
    }
    return out;
}

eqlite_value eqlite_value_copy(const eqlite_value *value, eqlite_value **elems, char **bytes)
{
    if (value->kind != EQLITE_ARRAY)
        return copy_scalar(value, bytes);
    eqlite_value out = *value;
    eqlite_value *copied = *elems;
    *elems += value->len;
    for (uint32_t i = 0; i < value->len; i++)
        copied[i] = copy_scalar(&value->u.a[i], bytes);
    out.u.a = copied;
    return out;
}

/* ---- held events ---------------------------------------------------------- */

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
    size_t nelems = 0, nbytes = 0;
    eqlite_value_copy_size(&ev->tiebreaker, &nelems, &nbytes);
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < nf)
            eqlite_value_copy_size(&ev->fields[prog->fields[i]], &nelems, &nbytes);
    size_t head = sizeof(eq_held) + nf * sizeof(eqlite_value);
    size_t size = head + nelems * sizeof(eqlite_value) + nbytes;
    /* nf runs up to the program's highest field id (thousands of slots under
     * ECS): a reused block resets only the program's slots */
    eq_held *h = m->spare_held;
    eqlite_value *fields;
    if (h && h->size >= size && h->ev.nfields == nf) {
        m->spare_held = NULL;
        fields = (eqlite_value *)(h + 1);
        for (uint32_t i = 0; i < prog->nfields; i++)
            if (prog->fields[i] < nf)
                fields[prog->fields[i]] = (eqlite_value){0};
    } else {
        if (!(h = eq_malloc(m->alloc, size)))
            return NULL;
        h->size = size;
        fields = (eqlite_value *)(h + 1);
        memset(fields, 0, nf * sizeof(eqlite_value));
    }
    h->refs = 1;
    h->ev = *ev;
    /* arrays first (aligned), then string bytes */
    eqlite_value *elems = fields + nf;
    char *bytes = (char *)(elems + nelems);
    for (uint32_t i = 0; i < prog->nfields; i++) {
        uint32_t id = prog->fields[i];
        if (id < nf && fields[id].kind == EQLITE_NULL)
            fields[id] = eqlite_value_copy(&ev->fields[id], &elems, &bytes);
    }
    h->ev.tiebreaker = eqlite_value_copy(&ev->tiebreaker, &elems, &bytes);
    h->ev.fields = fields;
    h->ev.nfields = nf;
    h->ev.present = NULL; /* the original's list describes its own fields */
    h->ev.npresent = 0;
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
    if (!m->spare_held) {
        m->spare_held = h;
        return;
    }
    eq_free(m->alloc, h);
}
