/* sequence.c: streaming evaluation for every query kind.
 *
 * Event queries run the filter and pass matches to the pipes. Sequences
 * follow Elasticsearch's state machine (EQL.md §10):
 *
 *  - one pending partial per (position, join key); positions are evaluated
 *    last to first for each event, so an event never advances a partial it
 *    has just created; advancing moves the partial from its position to the
 *    next positive one, replacing whatever waited there;
 *  - maxspan is inclusive (last.ts - first.ts <= maxspan); partials are kept
 *    on a list in start order, so expiry and "evict the oldest" are O(1);
 *  - `until` as SequenceMatcher.match: a partial whose last event L has
 *    L <= U (ordinal order, U itself included) can never advance, so an until
 *    event U drops every pending partial of its key, also one that U itself
 *    created or extended; U can still complete a sequence (ES looks for the
 *    nearest until strictly before the completing event), and candidates
 *    awaiting trailing missing events are complete, so untouched;
 *  - missing events: a middle clause marks the partial waiting before it as
 *    violated (it still advances and replaces, as in ES, and is discarded on
 *    completion); a leading clause leaves a per-key marker that a new
 *    partial records; a trailing clause waits (the candidate "awaits") until
 *    maxspan has passed or the stream is flushed. With both leading and
 *    trailing clauses, ES discards a candidate only when a leading and a
 *    trailing event fit together within maxspan.
 *
 * Memory is bounded by limits.max_partials and limits.max_keys: the oldest
 * partial (or the key of the oldest partial) is evicted first, counted in
 * stats.evicted. Events must come in (timestamp, tiebreaker) order; an
 * out-of-order event is refused with EQLITE_EORDER and counted. */
#include "sequence.h"

#include <string.h>

#include "seq_internal.h"

#define NO_POS UINT32_MAX

typedef struct seq_key seq_key;
typedef struct seq_partial seq_partial;

struct seq_partial {
    seq_key *key;              /* holds a reference */
    uint32_t pos;              /* last matched positive position */
    bool violated, awaiting, has_lead;
    int64_t start_ts, anchor_ts; /* anchor: where a trailing event's window starts */
    uint64_t start_serial, last_serial;
    seq_partial *prev, *next;   /* every partial, oldest start first */
    seq_partial *aprev, *anext; /* the key's candidates awaiting trailing clauses */
    eq_held *events[];          /* per position; NULL for missing positions */
};

struct seq_key {
    eq_keyhdr hdr;
    uint32_t refs;  /* partials + lead marker + callers holding it */
    bool has_lead;  /* a leading-clause event was seen within maxspan */
    int64_t lead_ts;
    uint64_t lead_serial;
    seq_key *lprev, *lnext; /* lead markers, oldest first */
    seq_partial *awaiting;
    seq_partial *at[];      /* per position: the pending partial */
};

typedef struct seq_engine {
    const eqlite_program *prog;
    eq_keytab keys;
    seq_partial *oldest, *newest;
    seq_key *lead_oldest, *lead_newest;
    size_t npartials, max_partials, max_keys;
    uint32_t first_pos, last_pos;
    uint32_t *prev_pos; /* previous positive position, NO_POS if none */
    bool has_leading, has_trailing;
    eq_keyset ks;
    /* ordering */
    uint64_t serial;
    eq_order order;
    /* the current event's shared copy, made on first need */
    const eqlite_event *cur;
    eq_held *cur_held;
} seq_engine;

typedef struct seq_state {
    eq_out *out;
    seq_engine *seq;
    eq_sample *sample;
} seq_state;

/* ---- keys ------------------------------------------------------------------ */

static void key_unref(eqlite_matcher *m, seq_engine *e, seq_key *k)
{
    if (--k->refs)
        return;
    eq_keytab_remove(&e->keys, &k->hdr);
    eq_free(m->alloc, k);
}

static seq_key *key_find(seq_engine *e, const uint8_t *key, size_t len)
{
    return (seq_key *)eq_keytab_find(&e->keys, key, len, eq_key_hash(key, len));
}

static void partial_free(eqlite_matcher *m, seq_engine *e, seq_partial *p);

static void lead_unlink(seq_engine *e, seq_key *k)
{
    if (k->lprev)
        k->lprev->lnext = k->lnext;
    else
        e->lead_oldest = k->lnext;
    if (k->lnext)
        k->lnext->lprev = k->lprev;
    else
        e->lead_newest = k->lprev;
    k->lprev = k->lnext = NULL;
}

static void lead_clear(eqlite_matcher *m, seq_engine *e, seq_key *k)
{
    if (!k->has_lead)
        return;
    lead_unlink(e, k);
    k->has_lead = false;
    key_unref(m, e, k);
}

/* Drops everything a key holds (limit eviction). */
static void key_evict(eqlite_matcher *m, seq_engine *e, seq_key *k)
{
    k->refs++;
    for (uint32_t pos = 0; pos < e->prog->nterms; pos++)
        if (k->at[pos]) {
            m->stats.evicted++;
            partial_free(m, e, k->at[pos]);
        }
    while (k->awaiting) {
        m->stats.evicted++;
        partial_free(m, e, k->awaiting);
    }
    lead_clear(m, e, k);
    key_unref(m, e, k);
}

/* Returns the key with a reference taken for the caller, or NULL. */
static seq_key *key_acquire(eqlite_matcher *m, seq_engine *e, const uint8_t *key, size_t len)
{
    uint64_t h = eq_key_hash(key, len);
    seq_key *k = (seq_key *)eq_keytab_find(&e->keys, key, len, h);
    if (k) {
        k->refs++;
        return k;
    }
    while (e->keys.n >= e->max_keys) {
        seq_key *victim = e->oldest ? e->oldest->key : e->lead_oldest;
        if (!victim)
            return NULL;
        key_evict(m, e, victim);
    }
    size_t npos = e->prog->nterms;
    k = eq_malloc(m->alloc, sizeof *k + npos * sizeof(seq_partial *) + len);
    if (!k)
        return NULL;
    memset(k, 0, sizeof *k + npos * sizeof(seq_partial *));
    k->hdr.hash = h;
    k->hdr.len = (uint32_t)len;
    k->hdr.key = (uint8_t *)(k->at + npos);
    if (len)
        memcpy(k->hdr.key, key, len);
    k->refs = 1;
    if (!eq_keytab_insert(m, &e->keys, &k->hdr)) {
        eq_free(m->alloc, k);
        return NULL;
    }
    return k;
}

/* ---- partials -------------------------------------------------------------- */

static void await_unlink(seq_partial *p)
{
    if (p->aprev)
        p->aprev->anext = p->anext;
    else
        p->key->awaiting = p->anext;
    if (p->anext)
        p->anext->aprev = p->aprev;
    p->aprev = p->anext = NULL;
}

static void partial_free(eqlite_matcher *m, seq_engine *e, seq_partial *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        e->oldest = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        e->newest = p->prev;
    if (p->awaiting)
        await_unlink(p);
    else if (p->pos != NO_POS && p->key->at[p->pos] == p)
        p->key->at[p->pos] = NULL;
    for (uint32_t i = 0; i < e->prog->nterms; i++)
        eq_held_release(m, p->events[i]);
    e->npartials--;
    seq_key *k = p->key;
    eq_free(m->alloc, p);
    key_unref(m, e, k);
}

static eq_held *current_held(eqlite_matcher *m, seq_engine *e)
{
    if (!e->cur_held)
        e->cur_held = eq_held_copy(m, e->cur);
    return e->cur_held;
}

static seq_partial *partial_new(eqlite_matcher *m, seq_engine *e, seq_key *k)
{
    while (e->npartials >= e->max_partials && e->oldest) {
        m->stats.evicted++;
        partial_free(m, e, e->oldest);
    }
    size_t n = e->prog->nterms;
    seq_partial *p = eq_malloc(m->alloc, sizeof *p + n * sizeof(eq_held *));
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p + n * sizeof(eq_held *));
    p->key = k;
    k->refs++;
    p->pos = NO_POS;
    p->start_ts = e->cur->timestamp;
    p->start_serial = p->last_serial = e->serial;
    p->prev = e->newest;
    if (e->newest)
        e->newest->next = p;
    else
        e->oldest = p;
    e->newest = p;
    e->npartials++;
    return p;
}

/* Puts p at position pos of its key, replacing the partial waiting there. */
static void partial_place(eqlite_matcher *m, seq_engine *e, seq_partial *p, uint32_t pos)
{
    seq_key *k = p->key;
    if (k->at[pos] && k->at[pos] != p)
        partial_free(m, e, k->at[pos]);
    k->at[pos] = p;
    p->pos = pos;
}

static eqlite_status emit(eqlite_matcher *m, seq_state *st, seq_partial *p)
{
    seq_engine *e = st->seq;
    return eq_out_push_held(m, st->out, p->events, e->prog->nterms, p->key->hdr.key,
                            p->key->hdr.len, p->start_serial);
}

static bool within_maxspan(const seq_engine *e, int64_t from, int64_t to)
{
    return !e->prog->has_maxspan || to - from <= e->prog->maxspan_ns;
}

/* All positive positions matched: apply the missing-event clauses. */
static eqlite_status complete(eqlite_matcher *m, seq_state *st, seq_partial *p)
{
    seq_engine *e = st->seq;
    int64_t now = e->cur->timestamp;
    bool lead_hit = e->has_leading && p->has_lead && within_maxspan(e, p->anchor_ts, now);
    if (p->violated || (lead_hit && !e->has_trailing)) {
        partial_free(m, e, p);
        return EQLITE_OK;
    }
    if (e->has_trailing && (!e->has_leading || lead_hit)) {
        if (!e->has_leading)
            p->anchor_ts = p->start_ts;
        p->awaiting = true;
        p->anext = p->key->awaiting;
        if (p->anext)
            p->anext->aprev = p;
        p->key->awaiting = p;
        return EQLITE_OK;
    }
    eqlite_status s = emit(m, st, p);
    partial_free(m, e, p);
    return s;
}

/* ---- one event ------------------------------------------------------------- */

static eqlite_status on_first(eqlite_matcher *m, seq_state *st, uint32_t pos,
                              const uint8_t *key, size_t len)
{
    seq_engine *e = st->seq;
    eq_held *h = current_held(m, e);
    seq_key *k = h ? key_acquire(m, e, key, len) : NULL;
    if (!k)
        return EQLITE_ENOMEM;
    seq_partial *p = partial_new(m, e, k);
    eqlite_status s = EQLITE_OK;
    if (!p) {
        s = EQLITE_ENOMEM;
    } else {
        p->events[pos] = eq_held_ref(h);
        if (e->has_leading && k->has_lead && k->lead_serial < e->serial) {
            p->has_lead = true;
            p->anchor_ts = k->lead_ts;
        }
        if (pos == e->last_pos) {
            p->pos = pos;
            s = complete(m, st, p);
        } else {
            partial_place(m, e, p, pos);
        }
    }
    key_unref(m, e, k);
    return s;
}

static eqlite_status on_positive(eqlite_matcher *m, seq_state *st, uint32_t pos,
                                 const uint8_t *key, size_t len)
{
    seq_engine *e = st->seq;
    if (pos == e->first_pos)
        return on_first(m, st, pos, key, len);
    seq_key *k = key_find(e, key, len);
    seq_partial *p = k ? k->at[e->prev_pos[pos]] : NULL;
    if (!p)
        return EQLITE_OK;
    k->at[p->pos] = NULL;
    if (!within_maxspan(e, p->start_ts, e->cur->timestamp)) {
        m->stats.expired++;
        partial_free(m, e, p);
        return EQLITE_OK;
    }
    eq_held *h = current_held(m, e);
    if (!h)
        return EQLITE_ENOMEM;
    p->events[pos] = eq_held_ref(h);
    p->last_serial = e->serial;
    if (pos == e->last_pos) {
        p->pos = pos;
        return complete(m, st, p);
    }
    partial_place(m, e, p, pos);
    return EQLITE_OK;
}

static eqlite_status on_missing(eqlite_matcher *m, seq_state *st, uint32_t pos,
                                const uint8_t *key, size_t len)
{
    seq_engine *e = st->seq;
    if (pos < e->first_pos) { /* leading: remember the latest one per key */
        seq_key *k = key_acquire(m, e, key, len);
        if (!k)
            return EQLITE_ENOMEM;
        if (k->has_lead) {
            lead_unlink(e, k);
        } else {
            k->has_lead = true;
            k->refs++;
        }
        k->lead_ts = e->cur->timestamp;
        k->lead_serial = e->serial;
        k->lprev = e->lead_newest;
        if (e->lead_newest)
            e->lead_newest->lnext = k;
        else
            e->lead_oldest = k;
        e->lead_newest = k;
        key_unref(m, e, k);
        return EQLITE_OK;
    }
    seq_key *k = key_find(e, key, len);
    if (!k)
        return EQLITE_OK;
    if (pos > e->last_pos) { /* trailing: discard candidates it falls after */
        k->refs++;
        for (seq_partial *p = k->awaiting, *next; p; p = next) {
            next = p->anext;
            if (p->last_serial < e->serial && within_maxspan(e, p->anchor_ts, e->cur->timestamp))
                partial_free(m, e, p);
        }
        key_unref(m, e, k);
        return EQLITE_OK;
    }
    seq_partial *p = k->at[e->prev_pos[pos]];
    if (p && p->last_serial < e->serial)
        p->violated = true;
    return EQLITE_OK;
}

static void on_until(eqlite_matcher *m, seq_engine *e, const uint8_t *key, size_t len)
{
    seq_key *k = key_find(e, key, len);
    if (!k)
        return;
    k->refs++;
    for (uint32_t pos = 0; pos < e->prog->nterms; pos++) {
        if (k->at[pos])
            partial_free(m, e, k->at[pos]);
    }
    key_unref(m, e, k);
}

/* Drops partials older than maxspan; awaiting candidates are settled. */
static eqlite_status expire(eqlite_matcher *m, seq_state *st, int64_t now)
{
    seq_engine *e = st->seq;
    if (!e->prog->has_maxspan)
        return EQLITE_OK;
    eqlite_status s = EQLITE_OK;
    while (e->oldest && !within_maxspan(e, e->oldest->start_ts, now)) {
        seq_partial *p = e->oldest;
        if (p->awaiting)
            s = emit(m, st, p);
        else
            m->stats.expired++;
        partial_free(m, e, p);
        if (s != EQLITE_OK)
            return s;
    }
    while (e->lead_oldest && !within_maxspan(e, e->lead_oldest->lead_ts, now))
        lead_clear(m, e, e->lead_oldest);
    return EQLITE_OK;
}

/* Refuses an event that sorts before the previous one; remembers this one. */
static eqlite_status check_order(eqlite_matcher *m, seq_engine *e, const eqlite_event *ev)
{
    if (eq_order_accept(&e->order, m->alloc, ev))
        return EQLITE_OK;
    m->stats.out_of_order++;
    return EQLITE_EORDER;
}

static eqlite_status run_term(eqlite_matcher *m, seq_state *st, uint32_t pos, bool *dropped)
{
    seq_engine *e = st->seq;
    const eq_prog_term *t = &e->prog->terms[pos];
    eqlite_status s = eq_keyset_collect(m, t, e->cur, &e->ks, dropped);
    for (size_t c = 0; s == EQLITE_OK && c < e->ks.ncombos; c++) {
        size_t len;
        const uint8_t *key = eq_keyset_get(&e->ks, c, &len);
        s = t->missing ? on_missing(m, st, pos, key, len) : on_positive(m, st, pos, key, len);
    }
    return s;
}

static eqlite_status run_until(eqlite_matcher *m, seq_engine *e, bool *dropped)
{
    const eq_prog_term *t = &e->prog->until;
    if (eq_vm_run(m, t->filter_pc, e->cur) != 1)
        return EQLITE_OK;
    eqlite_status s = eq_keyset_collect(m, t, e->cur, &e->ks, dropped);
    for (size_t c = 0; s == EQLITE_OK && c < e->ks.ncombos; c++) {
        size_t len;
        const uint8_t *key = eq_keyset_get(&e->ks, c, &len);
        on_until(m, e, key, len);
    }
    return s;
}

static eqlite_status sequence_feed(eqlite_matcher *m, seq_state *st, const eqlite_event *ev)
{
    seq_engine *e = st->seq;
    eqlite_status s = check_order(m, e, ev);
    if (s != EQLITE_OK)
        return s;
    e->serial++;
    e->cur = ev;
    e->cur_held = NULL;
    s = expire(m, st, ev->timestamp);
    bool dropped = false;
    uint32_t last_pc = UINT32_MAX;
    int last_result = 0;
    for (uint32_t pos = e->prog->nterms; pos-- > 0 && s == EQLITE_OK;) {
        const eq_prog_term *t = &e->prog->terms[pos];
        /* runs repeat one filter: evaluate it once per event */
        if (t->filter_pc != last_pc) {
            last_pc = t->filter_pc;
            last_result = eq_vm_run(m, t->filter_pc, ev);
        }
        if (last_result == 1)
            s = run_term(m, st, pos, &dropped);
    }
    if (s == EQLITE_OK && e->prog->has_until)
        s = run_until(m, e, &dropped);
    m->stats.dropped += dropped;
    eq_held_release(m, e->cur_held);
    e->cur_held = NULL;
    e->cur = NULL;
    m->stats.pending = e->npartials;
    if (s == EQLITE_OK)
        s = eq_out_release(m, st->out, e->oldest ? e->oldest->start_serial : UINT64_MAX);
    return s;
}

static eqlite_status sequence_flush(eqlite_matcher *m, seq_state *st)
{
    seq_engine *e = st->seq;
    eqlite_status s = EQLITE_OK;
    /* end of stream: no trailing event can come, no partial can complete */
    for (seq_partial *p = e->oldest, *next; p; p = next) {
        next = p->next;
        if (p->awaiting) {
            if (s == EQLITE_OK)
                s = emit(m, st, p);
            partial_free(m, e, p);
        }
    }
    m->stats.pending = e->npartials;
    eq_out_release(m, st->out, UINT64_MAX);
    return s;
}

static void engine_free(eqlite_matcher *m, seq_engine *e)
{
    if (!e)
        return;
    while (e->oldest)
        partial_free(m, e, e->oldest);
    while (e->lead_oldest)
        lead_clear(m, e, e->lead_oldest);
    eq_keytab_free(m, &e->keys);
    eq_keyset_free(m, &e->ks);
    eq_free(m->alloc, e->prev_pos);
    eq_order_release(&e->order, m->alloc);
    eq_free(m->alloc, e);
}

static seq_engine *engine_new(eqlite_matcher *m)
{
    const eqlite_program *prog = m->program;
    seq_engine *e = eq_malloc(m->alloc, sizeof *e);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->prog = prog;
    e->max_partials = m->limits.max_partials ? m->limits.max_partials : EQ_DEFAULT_MAX_PARTIALS;
    e->max_keys = m->limits.max_keys ? m->limits.max_keys : EQ_DEFAULT_MAX_KEYS;
    e->prev_pos = eq_malloc(m->alloc, (prog->nterms + 1) * sizeof *e->prev_pos);
    if (!e->prev_pos) {
        engine_free(m, e);
        return NULL;
    }
    e->first_pos = e->last_pos = NO_POS;
    uint32_t prev = NO_POS;
    for (uint32_t pos = 0; pos < prog->nterms; pos++) {
        e->prev_pos[pos] = prev;
        if (prog->terms[pos].missing)
            continue;
        if (e->first_pos == NO_POS)
            e->first_pos = pos;
        e->last_pos = pos;
        prev = pos;
    }
    if (e->first_pos == NO_POS) { /* the verifier requires a positive term */
        engine_free(m, e);
        return NULL;
    }
    e->has_leading = e->first_pos > 0;
    e->has_trailing = e->last_pos + 1 < prog->nterms;
    return e;
}

/* ---- the matcher entry points ------------------------------------------- */

eqlite_status eq_seq_init(eqlite_matcher *m)
{
    const eqlite_program *prog = m->program;
    seq_state *st = eq_malloc(m->alloc, sizeof *st);
    if (!st)
        return EQLITE_ENOMEM;
    memset(st, 0, sizeof *st);
    m->seq = st;
    if (prog->kind == Q_SAMPLE && !m->limits.max_samples_per_key)
        m->limits.max_samples_per_key = 1;
    /* sequences complete out of first-event order; pipes need ES's order */
    bool ordered = prog->kind == Q_SEQUENCE && prog->npipes > 0;
    st->out = eq_out_new(m, ordered);
    if (st->out && prog->kind == Q_SEQUENCE)
        st->seq = engine_new(m);
    if (st->out && prog->kind == Q_SAMPLE)
        st->sample = eq_sample_new(m);
    bool ok = st->out && (prog->kind != Q_SEQUENCE || st->seq) &&
              (prog->kind != Q_SAMPLE || st->sample);
    if (!ok) {
        eq_seq_release(m);
        return EQLITE_ENOMEM;
    }
    return EQLITE_OK;
}

void eq_seq_release(eqlite_matcher *m)
{
    seq_state *st = m->seq;
    if (!st)
        return;
    engine_free(m, st->seq);
    eq_sample_free(m, st->sample);
    eq_out_free(m, st->out);
    eq_free(m->alloc, st);
    m->seq = NULL;
    eq_held_free_spares(m);
}

static eqlite_status event_query_feed(eqlite_matcher *m, seq_state *st, const eqlite_event *ev)
{
    if (eq_vm_run(m, m->program->terms[0].filter_pc, ev) != 1)
        return EQLITE_OK;
    const eqlite_event *events[1] = {ev};
    eqlite_result r = {m->program, 1, events, 0, NULL};
    return eq_out_push(m, st->out, &r, m->stats.events);
}

eqlite_status eq_seq_feed(eqlite_matcher *m, const eqlite_event *ev, eqlite_callback cb, void *user)
{
    seq_state *st = m->seq;
    m->stats.events++;
    eq_out_begin(st->out, cb, user);
    if (eq_out_done(st->out))
        return EQLITE_OK;
    eq_vm_reset(m);
    switch (m->program->kind) {
    case Q_SEQUENCE:
        return sequence_feed(m, st, ev);
    case Q_SAMPLE:
        return eq_sample_feed(m, st->sample, ev);
    default:
        return event_query_feed(m, st, ev);
    }
}

eqlite_status eq_seq_flush(eqlite_matcher *m, eqlite_callback cb, void *user)
{
    seq_state *st = m->seq;
    eq_out_begin(st->out, cb, user);
    eqlite_status s = EQLITE_OK;
    if (st->seq)
        s = sequence_flush(m, st);
    else if (st->sample)
        s = eq_sample_flush(m, st->sample, st->out);
    eqlite_status f = eq_out_flush(m, st->out);
    return s != EQLITE_OK ? s : f;
}
