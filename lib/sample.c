/* sample.c: `sample by ...` (EQL.md §11). Groups of events, one per filter,
 * sharing a join-key tuple, in any time order.
 *
 * Per key tuple we keep, for each filter, the first few events that match
 * it (max_samples_per_key + nterms - 1: enough that events matching several
 * filters cannot starve a combination). At flush the keys are visited in
 * ascending key order (null first), as Elasticsearch's composite
 * aggregation returns them, and each key yields up to max_samples_per_key
 * combinations of distinct events. limits.size caps the total (in pipes.c).
 * Key entries are bounded by limits.max_keys; the oldest key is evicted. */
#include <stdlib.h>
#include <string.h>

#include "seq_internal.h"

typedef struct smp_key smp_key;
struct smp_key {
    eq_keyhdr hdr;
    smp_key *prev, *next; /* creation order, oldest first */
    uint32_t *count;      /* per filter */
    eq_held **cands;      /* per filter: cap candidates */
};

struct eq_sample {
    const eqlite_program *prog;
    eq_keytab keys;
    smp_key *oldest, *newest;
    size_t max_keys;
    uint32_t cap; /* candidates kept per filter */
    eq_keyset ks;
    eq_held *cur_held;
};

eq_sample *eq_sample_new(eqlite_matcher *m)
{
    eq_sample *s = eq_malloc(m->alloc, sizeof *s);
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    s->prog = m->program;
    s->max_keys = m->limits.max_keys ? m->limits.max_keys : EQ_DEFAULT_MAX_KEYS;
    size_t cap = m->limits.max_samples_per_key + m->program->nterms - 1;
    s->cap = cap > 1024 ? 1024 : (uint32_t)cap;
    return s;
}

static void key_free(eqlite_matcher *m, eq_sample *s, smp_key *k)
{
    eq_keytab_remove(&s->keys, &k->hdr);
    if (k->prev)
        k->prev->next = k->next;
    else
        s->oldest = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        s->newest = k->prev;
    for (uint32_t f = 0; f < s->prog->nterms; f++) {
        for (uint32_t i = 0; i < k->count[f]; i++)
            eq_held_release(m, k->cands[f * s->cap + i]);
        m->stats.pending -= k->count[f]; /* candidates held: an evicted key's go with it */
    }
    eq_free(m->alloc, k);
}

void eq_sample_free(eqlite_matcher *m, eq_sample *s)
{
    if (!s)
        return;
    while (s->oldest)
        key_free(m, s, s->oldest);
    eq_keytab_free(m, &s->keys);
    eq_keyset_free(m, &s->ks);
    eq_free(m->alloc, s);
}

static smp_key *key_get(eqlite_matcher *m, eq_sample *s, const uint8_t *key, size_t len)
{
    uint64_t h = eq_key_hash(key, len);
    smp_key *k = (smp_key *)eq_keytab_find(&s->keys, key, len, h);
    if (k)
        return k;
    while (s->keys.n >= s->max_keys && s->oldest) {
        m->stats.evicted++;
        key_free(m, s, s->oldest);
    }
    uint32_t nf = s->prog->nterms;
    size_t counts = nf * sizeof(uint32_t), cands = (size_t)nf * s->cap * sizeof(eq_held *);
    k = eq_malloc(m->alloc, sizeof *k + cands + counts + len);
    if (!k)
        return NULL;
    memset(k, 0, sizeof *k + cands + counts);
    k->cands = (eq_held **)(k + 1);
    k->count = (uint32_t *)((char *)k->cands + cands);
    k->hdr.hash = h;
    k->hdr.len = (uint32_t)len;
    k->hdr.key = (uint8_t *)(k->count + nf);
    if (len)
        memcpy(k->hdr.key, key, len);
    if (!eq_keytab_insert(m, &s->keys, &k->hdr)) {
        eq_free(m->alloc, k);
        return NULL;
    }
    k->prev = s->newest;
    if (s->newest)
        s->newest->next = k;
    else
        s->oldest = k;
    s->newest = k;
    return k;
}

static eqlite_status add_candidate(eqlite_matcher *m, eq_sample *s, uint32_t f,
                                   const eqlite_event *ev, const uint8_t *key, size_t len)
{
    smp_key *k = key_get(m, s, key, len);
    if (!k)
        return EQLITE_ENOMEM;
    eq_held **slot = &k->cands[f * s->cap];
    if (k->count[f] >= s->cap || (k->count[f] && slot[k->count[f] - 1] == s->cur_held))
        return EQLITE_OK;
    if (!s->cur_held && !(s->cur_held = eq_held_copy(m, ev)))
        return EQLITE_ENOMEM;
    slot[k->count[f]++] = eq_held_ref(s->cur_held);
    m->stats.pending++;
    return EQLITE_OK;
}

eqlite_status eq_sample_feed(eqlite_matcher *m, eq_sample *s, const eqlite_event *ev)
{
    eqlite_status st = EQLITE_OK;
    bool dropped = false;
    s->cur_held = NULL;
    for (uint32_t f = 0; f < s->prog->nterms && st == EQLITE_OK; f++) {
        const eq_prog_term *t = &s->prog->terms[f];
        if (eq_vm_run(m, t->filter_pc, ev) != 1)
            continue;
        st = eq_keyset_collect(m, t, ev, &s->ks, &dropped);
        for (size_t c = 0; c < s->ks.ncombos && st == EQLITE_OK; c++) {
            size_t len;
            const uint8_t *key = eq_keyset_get(&s->ks, c, &len);
            st = add_candidate(m, s, f, ev, key, len);
        }
    }
    m->stats.dropped += dropped;
    eq_held_release(m, s->cur_held);
    s->cur_held = NULL;
    return st;
}

/* qsort has no context argument: the flush that sorts sets the key modes */
static _Thread_local const uint8_t *sort_modes;
static _Thread_local size_t sort_nmodes;

static int compare_keys(const void *a, const void *b)
{
    const smp_key *x = *(smp_key *const *)a, *y = *(smp_key *const *)b;
    return eq_key_compare_typed(x->hdr.key, x->hdr.len, y->hdr.key, y->hdr.len, sort_modes, sort_nmodes);
}

static bool distinct_events(eq_held *const *pick, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = i + 1; j < n; j++)
            if (pick[i] == pick[j])
                return false;
    return true;
}

/* Emits up to max_samples_per_key combinations for one key. */
static eqlite_status key_samples(eqlite_matcher *m, eq_sample *s, smp_key *k, eq_out *o,
                                 uint64_t *order, eq_held **pick, uint32_t *idx)
{
    uint32_t nf = s->prog->nterms;
    for (uint32_t f = 0; f < nf; f++) {
        if (!k->count[f])
            return EQLITE_OK;
        idx[f] = 0;
    }
    size_t emitted = 0;
    while (emitted < m->limits.max_samples_per_key && !eq_out_done(o)) {
        for (uint32_t f = 0; f < nf; f++)
            pick[f] = k->cands[f * s->cap + idx[f]];
        if (distinct_events(pick, nf)) {
            eqlite_status st = eq_out_push_held(m, o, pick, nf, k->hdr.key, k->hdr.len, (*order)++);
            if (st != EQLITE_OK)
                return st;
            emitted++;
        }
        uint32_t f = nf; /* odometer, last filter fastest */
        while (f-- > 0) {
            if (++idx[f] < k->count[f])
                break;
            idx[f] = 0;
        }
        if (f == UINT32_MAX)
            break;
    }
    return EQLITE_OK;
}

eqlite_status eq_sample_flush(eqlite_matcher *m, eq_sample *s, eq_out *o)
{
    size_t n = s->keys.n;
    if (!n)
        return EQLITE_OK;
    uint32_t nf = s->prog->nterms;
    smp_key **all = eq_malloc(m->alloc, n * sizeof *all);
    eq_held **pick = eq_malloc(m->alloc, nf * sizeof *pick);
    uint32_t *idx = eq_malloc(m->alloc, nf * sizeof *idx);
    eqlite_status st = all && pick && idx ? EQLITE_OK : EQLITE_ENOMEM;
    if (st == EQLITE_OK) {
        size_t i = 0;
        for (smp_key *k = s->oldest; k; k = k->next)
            all[i++] = k;
        uint8_t *modes = eq_key_modes(s->prog, m->alloc);
        sort_modes = modes;
        sort_nmodes = modes ? s->prog->terms[0].nkeys : 0;
        qsort(all, n, sizeof *all, compare_keys);
        sort_modes = NULL;
        eq_free(m->alloc, modes);
        uint64_t order = 0;
        for (i = 0; i < n && st == EQLITE_OK && !eq_out_done(o); i++)
            st = key_samples(m, s, all[i], o, &order, pick, idx);
    }
    eq_free(m->alloc, all);
    eq_free(m->alloc, pick);
    eq_free(m->alloc, idx);
    /* the stream has ended: the state is spent */
    while (s->oldest)
        key_free(m, s, s->oldest);
    m->stats.pending = 0;
    return st;
}
