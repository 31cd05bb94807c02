/* pipes.c: the output chain of the streaming engines: results kept as
 * records of held events, Elasticsearch order (a heap keyed by first-event
 * serial), then `head`/`tail` pipes left to right, then limits.size. */
#include <string.h>

#include "seq_internal.h"

/* A result kept beyond the call that produced it. */
typedef struct eq_rec {
    uint64_t order, seq;
    uint32_t nevents, keylen;
    eq_held **held; /* NULL entries: missing-event positions */
    uint8_t *key;
} eq_rec;

typedef struct pipe_stage {
    bool tail;
    uint64_t n, count;
    eq_rec **ring; /* tail: last n records, ring[(first + i) % n] */
    uint64_t first, held;
} pipe_stage;

struct eq_out {
    bool ordered, stopped;
    eqlite_callback cb;
    void *user;
    pipe_stage *stages;
    uint32_t nstages;
    bool buffering; /* some stage keeps records (tail) */
    eq_rec **heap;  /* ordered mode: min-heap on (order, seq) */
    size_t nheap, capheap;
    uint64_t seq;
    const eqlite_event **evs; /* callback scratch */
    eqlite_value *keys;
    size_t maxkeys;
};

static void rec_free(eqlite_matcher *m, eq_rec *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nevents; i++)
        eq_held_release(m, r->held[i]);
    eq_free(m->alloc, r);
}

static eq_rec *rec_new(eqlite_matcher *m, uint32_t nevents, const uint8_t *key, size_t keylen)
{
    eq_rec *r = eq_malloc(m->alloc, sizeof *r + nevents * sizeof(eq_held *) + keylen);
    if (!r)
        return NULL;
    r->nevents = nevents;
    r->keylen = (uint32_t)keylen;
    r->held = (eq_held **)(r + 1);
    memset(r->held, 0, nevents * sizeof(eq_held *));
    r->key = (uint8_t *)(r->held + nevents);
    if (keylen)
        memcpy(r->key, key, keylen);
    return r;
}

eq_out *eq_out_new(eqlite_matcher *m, bool ordered)
{
    const eqlite_program *prog = m->program;
    eq_out *o = eq_malloc(m->alloc, sizeof *o);
    if (!o)
        return NULL;
    memset(o, 0, sizeof *o);
    o->ordered = ordered;
    size_t n = prog->npipes + (m->limits.size ? 1 : 0);
    o->maxkeys = EQ_MAX_KEYS;
    o->stages = eq_malloc(m->alloc, (n + 1) * sizeof *o->stages);
    o->evs = eq_malloc(m->alloc, (prog->nterms + 1) * sizeof *o->evs);
    o->keys = eq_malloc(m->alloc, o->maxkeys * sizeof *o->keys);
    if (!o->stages || !o->evs || !o->keys) {
        eq_out_free(m, o);
        return NULL;
    }
    memset(o->stages, 0, (n + 1) * sizeof *o->stages);
    for (uint32_t i = 0; i < prog->npipes; i++) {
        o->stages[i].tail = prog->pipes[i].tail;
        o->stages[i].n = prog->pipes[i].n;
    }
    if (m->limits.size)
        o->stages[prog->npipes].n = m->limits.size; /* a final head */
    o->nstages = (uint32_t)n;
    for (uint32_t i = 0; i < n; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail || !s->n)
            continue;
        o->buffering = true;
        s->ring = eq_malloc(m->alloc, s->n * sizeof *s->ring);
        if (!s->ring) {
            eq_out_free(m, o);
            return NULL;
        }
        memset(s->ring, 0, s->n * sizeof *s->ring);
    }
    return o;
}

void eq_out_free(eqlite_matcher *m, eq_out *o)
{
    if (!o)
        return;
    for (uint32_t i = 0; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        for (uint64_t k = 0; s->ring && k < s->n; k++)
            rec_free(m, s->ring[k]);
        eq_free(m->alloc, s->ring);
    }
    for (size_t i = 0; i < o->nheap; i++)
        rec_free(m, o->heap[i]);
    eq_free(m->alloc, o->heap);
    eq_free(m->alloc, o->stages);
    eq_free(m->alloc, o->evs);
    eq_free(m->alloc, o->keys);
    eq_free(m->alloc, o);
}

void eq_out_begin(eq_out *o, eqlite_callback cb, void *user)
{
    o->cb = cb;
    o->user = user;
}

bool eq_out_done(const eq_out *o)
{
    if (o->stopped)
        return true;
    for (uint32_t i = 0; i < o->nstages; i++) {
        if (o->stages[i].tail)
            return false;
        if (o->stages[i].count >= o->stages[i].n)
            return true;
    }
    return false;
}

static void deliver(eqlite_matcher *m, eq_out *o, const eq_rec *r)
{
    m->stats.matches++;
    if (!o->cb || o->stopped)
        return;
    for (uint32_t i = 0; i < r->nevents; i++)
        o->evs[i] = r->held[i] ? &r->held[i]->ev : NULL;
    size_t nk = eq_key_decode(r->key, r->keylen, o->keys, o->maxkeys);
    eqlite_result res = {m->program, r->nevents, o->evs, nk, o->keys};
    if (o->cb(o->user, &res) != 0)
        o->stopped = true;
}

/* Runs r through stages [from, nstages). Takes ownership of r. */
static void run_stages(eqlite_matcher *m, eq_out *o, eq_rec *r, uint32_t from)
{
    for (uint32_t i = from; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail) {
            if (s->count >= s->n) {
                rec_free(m, r);
                return;
            }
            s->count++;
            continue;
        }
        if (!s->n) {
            rec_free(m, r);
            return;
        }
        uint64_t slot = (s->first + s->held) % s->n;
        if (s->held == s->n) { /* full: drop the oldest */
            rec_free(m, s->ring[s->first]);
            slot = s->first;
            s->first = (s->first + 1) % s->n;
        } else {
            s->held++;
        }
        s->ring[slot] = r;
        return;
    }
    deliver(m, o, r);
    rec_free(m, r);
}

static bool heap_less(const eq_rec *a, const eq_rec *b)
{
    return a->order != b->order ? a->order < b->order : a->seq < b->seq;
}

static bool heap_push(eqlite_matcher *m, eq_out *o, eq_rec *r)
{
    if (o->nheap == o->capheap) {
        size_t cap = o->capheap ? o->capheap * 2 : 64;
        eq_rec **h = eq_realloc(m->alloc, o->heap, cap * sizeof *h);
        if (!h)
            return false;
        o->heap = h;
        o->capheap = cap;
    }
    size_t i = o->nheap++;
    while (i > 0 && heap_less(r, o->heap[(i - 1) / 2])) {
        o->heap[i] = o->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    o->heap[i] = r;
    return true;
}

static eq_rec *heap_pop(eq_out *o)
{
    eq_rec *top = o->heap[0];
    eq_rec *last = o->heap[--o->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= o->nheap)
            break;
        if (c + 1 < o->nheap && heap_less(o->heap[c + 1], o->heap[c]))
            c++;
        if (!heap_less(o->heap[c], last))
            break;
        o->heap[i] = o->heap[c];
        i = c;
    }
    if (o->nheap)
        o->heap[i] = last;
    return top;
}

eqlite_status eq_out_push(eqlite_matcher *m, eq_out *o, const eqlite_result *r, uint64_t order)
{
    if (eq_out_done(o))
        return EQLITE_OK;
    if (!o->ordered && !o->buffering) {
        /* only heads: count and deliver the caller's pointers, no copy */
        for (uint32_t i = 0; i < o->nstages; i++)
            o->stages[i].count++;
        m->stats.matches++;
        if (o->cb && o->cb(o->user, r) != 0)
            o->stopped = true;
        return EQLITE_OK;
    }
    /* a record must outlive the call: copy (event queries: one event) */
    eq_held *held = r->nevents ? eq_held_copy(m, r->events[0]) : NULL;
    if (r->nevents && !held)
        return EQLITE_ENOMEM;
    eqlite_status st = eq_out_push_held(m, o, &held, r->nevents ? 1 : 0, NULL, 0, order);
    eq_held_release(m, held);
    return st;
}

eqlite_status eq_out_push_held(eqlite_matcher *m, eq_out *o, eq_held *const *held,
                               uint32_t n, const uint8_t *key, size_t keylen, uint64_t order)
{
    if (eq_out_done(o))
        return EQLITE_OK;
    eq_rec *r = rec_new(m, n, key, keylen);
    if (!r)
        return EQLITE_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        r->held[i] = eq_held_ref(held[i]);
    r->order = order;
    r->seq = o->seq++;
    if (o->ordered) {
        if (!heap_push(m, o, r)) {
            rec_free(m, r);
            return EQLITE_ENOMEM;
        }
        return EQLITE_OK;
    }
    run_stages(m, o, r, 0);
    return EQLITE_OK;
}

eqlite_status eq_out_release(eqlite_matcher *m, eq_out *o, uint64_t bound)
{
    while (o->nheap && o->heap[0]->order < bound) {
        eq_rec *r = heap_pop(o);
        if (eq_out_done(o))
            rec_free(m, r);
        else
            run_stages(m, o, r, 0);
    }
    return EQLITE_OK;
}

eqlite_status eq_out_flush(eqlite_matcher *m, eq_out *o)
{
    eq_out_release(m, o, UINT64_MAX);
    for (uint32_t i = 0; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail)
            continue;
        uint64_t n = s->held, first = s->first;
        s->held = 0;
        s->first = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t slot = (first + k) % s->n;
            eq_rec *r = s->ring[slot];
            s->ring[slot] = NULL;
            run_stages(m, o, r, i + 1);
        }
    }
    return EQLITE_OK;
}
