/* event_order.c: the input order rule of streaming matchers: (timestamp,
 * tiebreaker) must not go backwards. */
#include <string.h>

#include "seq_internal.h"
#include "value.h"

static int compare_tiebreakers(const eqlite_value *a, const eqlite_value *b)
{
    int cmp = 0;
    if (a->kind == EQLITE_NULL || b->kind == EQLITE_NULL)
        return 0;
    if (a->kind == EQLITE_STRING && b->kind == EQLITE_STRING) {
        size_t n = a->len < b->len ? a->len : b->len;
        cmp = n ? memcmp(a->u.s, b->u.s, n) : 0;
        return cmp ? cmp : (a->len > b->len) - (a->len < b->len);
    }
    return eq_value_compare(a, b, &cmp) ? cmp : 0;
}

int eqlite_event_order(const eqlite_event *a, const eqlite_event *b)
{
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp ? -1 : 1;
    return compare_tiebreakers(&a->tiebreaker, &b->tiebreaker);
}

bool eq_order_accept(eq_order *o, const eqlite_allocator *alloc, const eqlite_event *ev)
{
    if (o->have_last) {
        eqlite_event last = {.timestamp = o->last_ts, .tiebreaker = o->last_tb};
        int c = eqlite_event_order(ev, &last);
        if (c < 0)
            return false;
    }
    o->have_last = true;
    o->last_ts = ev->timestamp;
    o->last_tb = ev->tiebreaker;
    if (ev->tiebreaker.kind == EQLITE_STRING) { /* the caller's bytes are borrowed: keep a copy */
        if (o->tb_cap < ev->tiebreaker.len + 1) {
            char *b = eq_realloc(alloc, o->tb_buf, ev->tiebreaker.len + 1);
            if (!b) {
                o->last_tb.kind = EQLITE_NULL;
                return true;
            }
            o->tb_buf = b;
            o->tb_cap = ev->tiebreaker.len + 1;
        }
        if (ev->tiebreaker.len)
            memcpy(o->tb_buf, ev->tiebreaker.u.s, ev->tiebreaker.len);
        o->last_tb.u.s = o->tb_buf;
    } else if (ev->tiebreaker.kind == EQLITE_ARRAY) {
        o->last_tb.kind = EQLITE_NULL;
    }
    return true;
}

void eq_order_release(eq_order *o, const eqlite_allocator *alloc)
{
    eq_free(alloc, o->tb_buf);
    o->tb_buf = NULL;
    o->tb_cap = 0;
}
