/* scanner.c: matching events against a finished ruleset: the guard index
 * marks the rules an event can match, and only those run (plain event
 * queries on one shared VM, the others through their own matchers). */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <time.h>
#include <string.h>

#include "ruleset.h"

/* ---- scanners ---- */

static void free_streaming(eqlite_scanner *sc)
{
    for (uint32_t k = 0; sc->streaming && k < sc->rs->nrules; k++)
        eqlite_matcher_free(sc->streaming[k]);
    eq_free(sc->alloc, sc->streaming);
    sc->streaming = NULL;
}

void eqlite_scanner_free(eqlite_scanner *sc)
{
    if (!sc)
        return;
    free_streaming(sc);
    eq_free(sc->alloc, sc->pending);
    eq_free(sc->alloc, sc->live);
    eq_free(sc->alloc, sc->selected);
    eq_free(sc->alloc, sc->clocked);
    eq_free(sc->alloc, sc->sequences);
    eq_free(sc->alloc, sc->memo_block);
    eq_free(sc->alloc, sc->memo_seen);
    eq_free(sc->alloc, sc->shapes);
    eq_free(sc->alloc, sc->shape_bits);
    eq_free(sc->alloc, sc->fold.buf);
    eq_order_release(&sc->order, sc->alloc);
    eq_vm_release(&sc->vm);
    eq_free(sc->alloc, sc);
}

static eqlite_status make_streaming(eqlite_scanner *sc, const eqlite_limits *limits)
{
    const eqlite_ruleset *rs = sc->rs;
    size_t bytes = (rs->nrules ? rs->nrules : 1) * sizeof *sc->streaming;
    sc->nwords = rs->nwords;
    sc->streaming = eq_malloc(sc->alloc, bytes);
    if (!sc->streaming)
        return EQLITE_ENOMEM;
    /* zeroed before anything can fail: free_streaming frees every entry */
    memset(sc->streaming, 0, bytes);
    sc->pending = eq_malloc(sc->alloc, (sc->nwords ? sc->nwords : 1) * sizeof *sc->pending);
    sc->live = eq_malloc(sc->alloc, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->live);
    sc->selected = eq_malloc(sc->alloc, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->selected);
    sc->clocked = eq_malloc(sc->alloc, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->clocked);
    sc->sequences = eq_malloc(sc->alloc, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->sequences);
    uint32_t slots = 16;
    while (slots < MEMO_MAX_SLOTS && slots < 16 * rs->nactive)
        slots *= 2;
    sc->memo_mask = slots - 1;
    sc->memo_block = eq_malloc(sc->alloc, slots * sizeof *sc->memo + 63);
    sc->memo_seen = eq_malloc(sc->alloc, slots * sizeof *sc->memo_seen);
    if (!sc->pending || !sc->live || !sc->selected || !sc->clocked || !sc->sequences || !sc->memo_block ||
        !sc->memo_seen)
        return EQLITE_ENOMEM;
    sc->memo = (memo_entry *)(((uintptr_t)sc->memo_block + 63) & ~(uintptr_t)63);
    for (uint32_t w = 0; w < rs->plane_words; w++) /* every rule */
        sc->selected[w] = w + 1 < rs->plane_words || rs->nrules % 64 == 0 ? ~UINT64_C(0)
                                                                          : (UINT64_C(1) << (rs->nrules % 64)) - 1;
    sc->checks_order = rs->has_sequence;
    memset(sc->memo, 0, slots * sizeof *sc->memo);
    memset(sc->memo_seen, 0, slots * sizeof *sc->memo_seen);
    if (sc->nwords && sc->nwords <= SHAPE_MAX_WORDS) { /* else presence is marked per field */
        sc->shapes = eq_malloc(sc->alloc, SHAPE_SLOTS * sizeof *sc->shapes);
        sc->shape_bits = eq_malloc(sc->alloc, (size_t)SHAPE_SLOTS * sc->nwords * sizeof *sc->shape_bits);
        if (!sc->shapes || !sc->shape_bits)
            return EQLITE_ENOMEM;
        memset(sc->shapes, 0, SHAPE_SLOTS * sizeof *sc->shapes);
    }
    memset(sc->live, 0, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->live);
    memset(sc->clocked, 0, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->clocked);
    for (uint32_t i = 0; i < rs->clocked.n; i++)
        sc->clocked[rs->clocked.items[i] / 64] |= UINT64_C(1) << (rs->clocked.items[i] % 64);
    memset(sc->sequences, 0, (rs->plane_words ? rs->plane_words : 1) * sizeof *sc->sequences);
    for (uint32_t k = 0; k < rs->nrules; k++)
        sc->sequences[k / 64] |= (uint64_t)rs->rules[k].sequence << (k % 64);
    memset(sc->pending, 0, (sc->nwords ? sc->nwords : 1) * sizeof *sc->pending);
    for (uint32_t k = 0; k < rs->nrules; k++) {
        if (!rs->rules[k].streaming)
            continue;
        eqlite_status st = eqlite_matcher_new(rs->rules[k].program, limits, &sc->streaming[k]);
        if (st != EQLITE_OK)
            return st;
    }
    return EQLITE_OK;
}

eqlite_status eqlite_scanner_new(const eqlite_ruleset *rs, const eqlite_limits *limits, eqlite_scanner **out)
{
    if (!rs || !out || !rs->finished)
        return EQLITE_EMISUSE;
    *out = NULL;
    eqlite_scanner *sc = eq_malloc(rs->alloc, sizeof *sc);
    if (!sc)
        return EQLITE_ENOMEM;
    memset(sc, 0, sizeof *sc);
    sc->rs = rs;
    sc->alloc = rs->alloc;
    sc->fold.alloc = rs->alloc;
    bool ready = eq_vm_init(&sc->vm, rs->nrules ? rs->rules[0].program : NULL, rs->alloc);
    for (size_t k = 0; ready && k < rs->nrules; k++) /* one VM runs every rule */
        ready = eq_vm_reserve(&sc->vm, rs->rules[k].program);
    eqlite_status st = ready ? make_streaming(sc, limits) : EQLITE_ENOMEM;
    if (st != EQLITE_OK) {
        eqlite_scanner_free(sc);
        return st;
    }
    *out = sc;
    return EQLITE_OK;
}

/* ---- matching ---- */

typedef struct scan {
    eqlite_scanner *sc;
    const eqlite_event *ev;
    eqlite_rule_callback cb;
    void *user;
    uint32_t rule;       /* the rule running */
    eqlite_rule_info info; /* its labels, filled when it reports a result */
    bool stop;           /* the callback asked to stop this event */
    eqlite_status error; /* first failure */
} scan;

/* Reports a rule's result (a streaming rule's, through its matcher: that
 * matcher is never told to stop, since stopping is per event here, not for
 * the rest of the stream). */
static int forward(void *user, const eqlite_result *result)
{
    scan *s = user;
    s->sc->stats.matches++;
    if (!s->cb || s->stop)
        return 0;
    eq_rule_info(s->sc->rs, s->rule, &s->info);
    if (s->cb(s->user, &s->info, result) != 0)
        s->stop = true;
    return 0;
}

static void run_plain(scan *s, const rule *r)
{
    eqlite_matcher *vm = &s->sc->vm;
    vm->program = r->program;
    if (eq_vm_run(vm, r->filter_pc, s->ev) != 1)
        return;
    const eqlite_event *events[1] = {s->ev};
    eqlite_result result = {r->program, 1, events, 0, NULL};
    forward(s, &result);
}

static void run_rule_now(scan *s, uint32_t k);

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void run_rule(scan *s, uint32_t k)
{
    eqlite_scanner *sc = s->sc;
    if (sc->prof_ns) {
        uint64_t t0 = now_ns();
        run_rule_now(s, k);
        sc->prof_ns[k] += now_ns() - t0;
        sc->prof_runs[k]++;
        return;
    }
    run_rule_now(s, k);
}

/* Per-rule profile, for bench/bench_ruleset.c (not in the public API):
 * while set, each rule run adds its nanoseconds to ns[rule] and one to
 * runs[rule] (arrays of eqlite_ruleset_count() items; NULL stops). */
eqlite_status eqlite_scanner_profile(eqlite_scanner *sc, uint64_t *ns, uint64_t *runs)
{
    if (!sc || !ns != !runs)
        return EQLITE_EMISUSE;
    sc->prof_ns = ns;
    sc->prof_runs = runs;
    return EQLITE_OK;
}

/* Whether sequence k holds partials, kept in a bit so that the index does
 * not reach into its matcher on every event. */
static void note_live(eqlite_scanner *sc, uint32_t k)
{
    uint64_t bit = UINT64_C(1) << (k % 64), was = sc->live[k / 64] & bit;
    if (sc->streaming[k]->stats.pending) {
        sc->live[k / 64] |= bit;
        sc->nlive += !was;
    } else {
        sc->live[k / 64] &= ~bit;
        sc->nlive -= !!was;
    }
}

static void run_rule_now(scan *s, uint32_t k)
{
    eqlite_scanner *sc = s->sc;
    const rule *r = &sc->rs->rules[k];
    sc->stats.rules_run++;
    s->rule = k;
    if (!r->streaming) {
        run_plain(s, r);
        return;
    }
    eqlite_status st = eqlite_feed(sc->streaming[k], s->ev, forward, s);
    if (r->sequence)
        note_live(sc, k);
    if (st != EQLITE_OK) {
        sc->stats.errors++;
        if (s->error == EQLITE_OK)
            s->error = st;
    }
}

/* Sets the bits of list l in words (the pending planes, or a shape's). */
static inline void mark_words(uint64_t *pending, const rule_list *l)
{
    if (l->bits) {
        pending += l->first_word;
        for (uint32_t w = 0; w < l->nbit_words; w++)
            pending[w] |= l->bits[w];
        return;
    }
    for (uint32_t i = 0; i < l->n; i++)
        pending[l->items[i] >> 6] |= UINT64_C(1) << (l->items[i] & 63);
}

static inline void mark(eqlite_scanner *sc, const rule_list *l)
{
    mark_words(sc->pending, l);
}

static inline bool is_missing(const eqlite_value *v)
{
    return v->kind == EQLITE_NULL || (v->kind == EQLITE_ARRAY && v->len == 0);
}

/* The rules listed under a probe's slice of one value (folded already for
 * caseless probes); NULL if none. */
static const rule_list *slice_rules(const eqlite_ruleset *rs, uint32_t pi, const probe *p, const char *s, uint32_t n)
{
    if (p->affix == SUFFIX) {
        if (n < p->len)
            return NULL;
        s += n - p->len;
        n = p->len;
    } else if (p->affix == PREFIX) {
        if (n < (uint32_t)p->off + p->len)
            return NULL;
        for (uint32_t i = 0; i < p->off; i++)
            if ((unsigned char)s[i] >= 0x80) /* a '?' may take more than a byte */
                return &p->present;
        s += p->off;
        n = p->len;
    }
    /* the tags (4 bytes a slot) stay in cache; most values are not there */
    uint64_t h = slot_hash(pi, s, n);
    uint32_t b1 = (uint32_t)(h >> 18) & BLOOM_MASK, b2 = (uint32_t)(h >> 41) & BLOOM_MASK;
    if (!((rs->bloom[b1 >> 6] >> (b1 & 63)) & (rs->bloom[b2 >> 6] >> (b2 & 63)) & 1))
        return NULL; /* most values: two bits of a small filter say no */
    uint32_t tag = (uint32_t)(h >> 32) | 1;
    for (uint32_t i = (uint32_t)h & rs->mask; rs->tags[i]; i = (i + 1) & rs->mask) {
        if (rs->tags[i] != tag)
            continue;
        const guard_slot *slot = &rs->slots[i];
        if (slot->hash == h && slot->probe == pi && slot->n == n && (n == 0 || memcmp(slot->s, s, n) == 0))
            return &slot->rules;
    }
    return NULL;
}

static void mark_all(eqlite_scanner *sc)
{
    memcpy(sc->pending, sc->rs->required, sc->nwords * sizeof *sc->pending);
}

/* What one element marks, gathered for the memo. */
typedef struct element_marks {
    uint32_t ids[MEMO_IDS];
    const rule_list *lists[MEMO_LISTS];
    uint32_t nids, nlists;
    bool keep; /* false: too many lists, or marked everything */
} element_marks;

static void mark_noted(eqlite_scanner *sc, element_marks *m, const rule_list *l)
{
    if (!l || !l->n)
        return;
    mark(sc, l);
    if (!l->bits && m->nids + l->n <= MEMO_IDS) {
        memcpy(m->ids + m->nids, l->items, l->n * sizeof *l->items);
        m->nids += l->n;
    } else if (m->nlists < MEMO_LISTS) {
        m->lists[m->nlists++] = l;
    } else {
        m->keep = false;
    }
}

/* The lists of the needles of a CONTAINS probe found in s[0..n), in
 * needle order. */
static void mark_needles(eqlite_scanner *sc, const probe *p, const char *s, uint32_t n, element_marks *m)
{
    const guard_slot *slots = sc->rs->slots;
    if (!p->needle_starts) {
        for (uint32_t i = 0; i < p->nneedles; i++) {
            const guard_slot *slot = &slots[p->needles[i]];
            if (slot->n <= n && memmem(s, n, slot->s, slot->n))
                mark_noted(sc, m, &slot->rules);
        }
        return;
    }
    uint64_t found[NEEDLE_SCAN_MAX / 64] = {0};
    for (uint32_t at = 0; at + 3 <= n; at++) {
        uint32_t bit = needle_start_bit(s + at);
        if (!((p->needle_starts[bit / 64] >> (bit % 64)) & 1))
            continue;
        for (uint32_t i = 0; i < p->nneedles; i++) {
            const guard_slot *slot = &slots[p->needles[i]];
            if (slot->n <= n - at && slot->s[0] == s[at] && memcmp(slot->s, s + at, slot->n) == 0)
                found[i / 64] |= UINT64_C(1) << (i % 64);
        }
    }
    for (uint32_t w = 0; w < NEEDLE_SCAN_MAX / 64; w++)
        for (uint64_t bits = found[w]; bits; bits &= bits - 1)
            mark_noted(sc, m, &slots[p->needles[w * 64 + (uint32_t)__builtin_ctzll(bits)]].rules);
}

/* The probes active[a..end) of one field over one string element. */
static void probe_element(eqlite_scanner *sc, uint32_t a, uint32_t end, const char *s, uint32_t n, element_marks *m)
{
    const eqlite_ruleset *rs = sc->rs;
    char local[256];
    const char *folded = NULL;
    uint32_t nfolded = 0;
    for (; a < end; a++) {
        uint32_t pi = rs->active[a];
        const probe *p = &rs->probes[pi];
        if (p->mode == PROBE_EXACT) {
            if (p->affix == CONTAINS)
                mark_needles(sc, p, s, n, m);
            else
                mark_noted(sc, m, slice_rules(rs, pi, p, s, n));
            continue;
        }
        if (p->mode != PROBE_FOLD)
            continue;
        if (!folded) {
            if (n <= sizeof local && eq_is_ascii(s, n)) {
                for (uint32_t i = 0; i < n; i++)
                    local[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
                folded = local;
                nfolded = n;
            } else {
                size_t need = eq_fold(s, n, NULL, 0);
                char *buf = eq_scratch_reserve(&sc->fold, need ? need : 1);
                if (!buf) { /* cannot fold: run everything */
                    mark_all(sc);
                    m->keep = false;
                    return;
                }
                eq_fold(s, n, buf, need);
                folded = buf;
                nfolded = (uint32_t)need;
            }
        }
        if (p->affix == CONTAINS)
            mark_needles(sc, p, folded, nfolded, m);
        else
            mark_noted(sc, m, slice_rules(rs, pi, p, folded, nfolded));
    }
}

/* Whether a[0..n) and b[0..n) hold the same bytes, n <= MEMO_BYTES: short
 * memo keys compare in a few overlapping word loads, never past either end. */
static inline bool same_bytes(const char *a, const char *b, uint32_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        for (uint32_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x1, y1, x2, y2;
        memcpy(&x1, a, 4);
        memcpy(&y1, b, 4);
        memcpy(&x2, a + n - 4, 4);
        memcpy(&y2, b + n - 4, 4);
        return x1 == y1 && x2 == y2;
    }
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static inline memo_entry *memo_slot(const eqlite_scanner *sc, uint64_t h)
{
    return &sc->memo[(h >> 20) & sc->memo_mask];
}

/* Whether an element of memo hash h missed the memo before (maybe: another
 * value may share the trace), noting that it did. A value met once (a
 * temporary file's name) then takes no entry from one that repeats. */
static bool seen_before(eqlite_scanner *sc, uint64_t h)
{
    uint32_t *trace = &sc->memo_seen[(h >> 1) & sc->memo_mask], tag = (uint32_t)(h >> 32) | 1;
    if (*trace == tag)
        return true;
    *trace = tag;
    return false;
}

/* What an event's marks from the shape cache depend on: the groups of its
 * fields that hold a value, in the order met (their presence lists), then
 * the long lists its elements' memo entries hold, in the order marked
 * (classifying values such as a category: on most events, and costly). */
typedef struct event_shape {
    uintptr_t keys[SHAPE_KEYS]; /* ngroups group ids, then nlists list addresses */
    uint32_t ngroups, nlists;
    bool overflow; /* more groups than fit: marked one by one */
    uint64_t hash; /* of the keys, as they are added */
} event_shape;

static void shape_add(event_shape *shape, uintptr_t key)
{
    shape->keys[shape->ngroups + shape->nlists] = key;
    shape->hash = ((shape->hash << 7 | shape->hash >> 57) ^ key) * UINT64_C(0x9e3779b97f4a7c15);
}

/* The probes of group gi over one string element of at most MEMO_BYTES,
 * whose memo hash is h, through the memo; long lists go to the shape (if
 * not NULL) when it has room. */
static void mark_element(eqlite_scanner *sc, event_shape *shape, uint32_t gi, const char *s, uint32_t n, uint64_t h)
{
    memo_entry *e = memo_slot(sc, h);
    if (e->hash == h && e->group == gi && e->n == n && same_bytes(e->s, s, n)) {
        uint64_t *pending = sc->pending;
        for (uint32_t i = 0; i < e->nids; i++)
            pending[e->ids[i] >> 6] |= UINT64_C(1) << (e->ids[i] & 63);
        for (uint32_t i = 0; i < e->nlists; i++) {
            const rule_list *l = e->lists[i];
            if (((e->bitmaps >> i) & 1) && shape && sc->shapes && !shape->overflow &&
                shape->ngroups + shape->nlists < SHAPE_KEYS) {
                shape_add(shape, (uintptr_t)l); /* marked with the shape */
                shape->nlists++;
            } else {
                mark(sc, l);
            }
        }
        return;
    }
    const struct probe_group *g = &sc->rs->groups[gi];
    element_marks m = {{0}, {NULL}, 0, 0, true};
    probe_element(sc, g->first, g->present, s, n, &m);
    if (!m.keep || (e->hash && !seen_before(sc, h)))
        return;
    e->hash = h;
    e->group = gi;
    e->n = (uint8_t)n;
    e->nids = (uint8_t)m.nids;
    e->nlists = (uint8_t)m.nlists;
    e->bitmaps = 0;
    for (uint32_t i = 0; i < m.nlists; i++)
        e->bitmaps |= (uint8_t)((m.lists[i]->bits != NULL) << i);
    memcpy(e->ids, m.ids, m.nids * sizeof *m.ids);
    memcpy(e->lists, m.lists, m.nlists * sizeof *m.lists);
    memcpy(e->s, s, n);
}

/* The string elements of one event, marked once their memo entries (asked
 * for as they are queued) are in cache: the lookups overlap instead of
 * waiting one after another. */
#define QUEUED_ELEMENTS 64
typedef struct element_queue {
    struct queued_element {
        const char *s;
        uint32_t n, group;
        uint64_t hash;
    } items[QUEUED_ELEMENTS];
    uint32_t n;
} element_queue;

static void queue_element(eqlite_scanner *sc, element_queue *q, uint32_t gi, const char *s, uint32_t n)
{
    if (n > MEMO_BYTES) { /* never kept: probed now */
        element_marks m = {{0}, {NULL}, 0, 0, false};
        const struct probe_group *g = &sc->rs->groups[gi];
        probe_element(sc, g->first, g->present, s, n, &m);
        return;
    }
    uint64_t h = slot_hash(UINT32_MAX - gi, s, n) | 1;
    if (q->n == QUEUED_ELEMENTS) { /* marked now: the shape takes lists only after its groups */
        mark_element(sc, NULL, gi, s, n, h);
        return;
    }
    const memo_entry *e = memo_slot(sc, h);
    __builtin_prefetch(e);
    __builtin_prefetch(e->s);
    q->items[q->n++] = (struct queued_element){s, n, gi, h};
}

/* The number probes of group gi over one number or boolean element. */
static void number_element(eqlite_scanner *sc, uint32_t gi, const eqlite_value *v)
{
    const eqlite_ruleset *rs = sc->rs;
    const struct probe_group *g = &rs->groups[gi];
    char key[9];
    uint32_t n = number_key(v, key);
    for (uint32_t a = g->first; n && a < g->present; a++) {
        const probe *p = &rs->probes[rs->active[a]];
        const rule_list *l = p->mode == PROBE_NUMBER ? slice_rules(rs, rs->active[a], p, key, n) : NULL;
        if (l)
            mark(sc, l);
    }
}

/* Marks the presence lists of group gi into words. */
static void mark_presence(const eqlite_ruleset *rs, uint32_t gi, uint64_t *words)
{
    const struct probe_group *g = &rs->groups[gi];
    for (uint32_t a = g->present; a < g->end; a++) /* value probes come first, presence last */
        mark_words(words, &rs->probes[rs->active[a]].present);
}

/* The `always` list, the presence lists of the shape's groups and its long
 * lists, through the shape cache: events of one source mostly have the same
 * fields and classifying values, so these marks are one OR of words made
 * once per shape. */
static void mark_shape(eqlite_scanner *sc, const event_shape *shape)
{
    const eqlite_ruleset *rs = sc->rs;
    if (!sc->shapes || shape->overflow) { /* no list was added */
        mark(sc, &rs->always);
        for (uint32_t i = 0; i < shape->ngroups; i++)
            mark_presence(rs, (uint32_t)shape->keys[i], sc->pending);
        return;
    }
    uint64_t h = shape->hash | 1;
    uint32_t slot = (uint32_t)(h >> 40) & (SHAPE_SLOTS - 1);
    shape_entry *e = &sc->shapes[slot];
    uint64_t *bits = sc->shape_bits + (size_t)slot * sc->nwords;
    uint32_t nkeys = shape->ngroups + shape->nlists;
    if (!(e->hash == h && e->ngroups == shape->ngroups && e->nlists == shape->nlists &&
          memcmp(e->keys, shape->keys, nkeys * sizeof *shape->keys) == 0)) {
        memset(bits, 0, sc->nwords * sizeof *bits);
        mark_words(bits, &rs->always);
        for (uint32_t i = 0; i < shape->ngroups; i++)
            mark_presence(rs, (uint32_t)shape->keys[i], bits);
        for (uint32_t i = shape->ngroups; i < nkeys; i++)
            mark_words(bits, (const rule_list *)shape->keys[i]);
        e->hash = h;
        e->ngroups = shape->ngroups;
        e->nlists = shape->nlists;
        memcpy(e->keys, shape->keys, nkeys * sizeof *shape->keys);
    }
    uint64_t *pending = sc->pending;
    for (uint32_t w = 0; w < sc->nwords; w++)
        pending[w] |= bits[w];
}

/* The probes of group gi over the field's value v (string elements queued,
 * presence noted in the shape). */
static void gather_group(eqlite_scanner *sc, element_queue *q, event_shape *shape, uint32_t gi, const eqlite_value *v)
{
    const eqlite_ruleset *rs = sc->rs;
    const struct probe_group *g = &rs->groups[gi];
    if (is_missing(v))
        return;
    if (g->present < g->end) {
        if (shape->ngroups < SHAPE_GROUPS) {
            shape_add(shape, gi);
            shape->ngroups++;
        } else {
            shape->overflow = true;
        }
    }
    if (shape->overflow) /* nothing cached: the groups past the shape now */
        mark_presence(rs, gi, sc->pending);
    if (g->first == g->present)
        return; /* presence only */
    if (v->kind == EQLITE_STRING) {
        queue_element(sc, q, gi, v->u.s, v->len);
    } else if (v->kind == EQLITE_ARRAY) {
        for (uint32_t i = 0; i < v->len; i++)
            if (v->u.a[i].kind == EQLITE_STRING)
                queue_element(sc, q, gi, v->u.a[i].u.s, v->u.a[i].len);
            else
                number_element(sc, gi, &v->u.a[i]);
    } else {
        number_element(sc, gi, v);
    }
}

static void gather(eqlite_scanner *sc, const eqlite_event *ev)
{
    const eqlite_ruleset *rs = sc->rs;
    element_queue q;
    q.n = 0;
    event_shape shape;
    shape.ngroups = shape.nlists = 0;
    shape.overflow = false;
    shape.hash = 0;
    if (ev->present) { /* only the fields the event has: a few of the indexed ones */
        for (size_t i = 0; i < ev->npresent; i++) {
            uint32_t field = ev->present[i];
            if (field < rs->ngroup_fields && field < ev->nfields && rs->group_of[field])
                gather_group(sc, &q, &shape, rs->group_of[field] - 1, &ev->fields[field]);
        }
    } else {
        for (uint32_t gi = 0; gi < rs->ngroups; gi++) {
            uint32_t field = rs->groups[gi].field;
            if (field >= ev->nfields)
                break; /* groups come by field id */
            gather_group(sc, &q, &shape, gi, &ev->fields[field]);
        }
    }
    for (uint32_t i = 0; i < q.n; i++)
        mark_element(sc, &shape, q.items[i].group, q.items[i].s, q.items[i].n, q.items[i].hash);
    mark_shape(sc, &shape);
}

/* The sequences' order rule, for every event (the index feeds each
 * sequence only some): false if ev sorts before the previous event. */
static bool in_order(eqlite_scanner *sc, const eqlite_event *ev)
{
    return eq_order_accept(&sc->order, sc->alloc, ev);
}

/* The start of every match: strings the previous event's rules made go,
 * the event is counted, and its order checked when a sequence runs here. */
static bool begin_match(eqlite_scanner *sc, const eqlite_event *ev)
{
    if (sc->vm.chunks)
        eq_vm_reset(&sc->vm);
    sc->stats.events++;
    return !sc->checks_order || in_order(sc, ev);
}

/* Runs the rules of plane word w set in ready, in rule order. */
static void run_ready(scan *s, uint32_t w, uint64_t ready)
{
    const eqlite_ruleset *rs = s->sc->rs;
    while (ready && !s->stop) {
        uint32_t k = w * 64 + (uint32_t)__builtin_ctzll(ready);
        ready &= ready - 1;
        if (ready) { /* the next rule's program and code, while this one runs */
            const rule *next = &rs->rules[w * 64 + (uint32_t)__builtin_ctzll(ready)];
            __builtin_prefetch(next->program);
            __builtin_prefetch(next->entry);
        }
        run_rule(s, k);
    }
}

/* The end of every match: pending is clear for the next event, and the
 * first failure (or the event's order) is the status. */
static eqlite_status end_match(eqlite_scanner *sc, scan *s, bool ordered)
{
    if (s->stop) /* forget the rest of this event's rules */
        memset(sc->pending, 0, sc->nwords * sizeof *sc->pending);
    if (s->error == EQLITE_OK && sc->vm.scratch.error) /* a test that could not be decided */
        s->error = eq_scratch_take_error(&sc->vm.scratch);
    if (s->error == EQLITE_OK && sc->fold.error)
        s->error = eq_scratch_take_error(&sc->fold);
    if (!ordered && s->error == EQLITE_OK)
        s->error = EQLITE_EORDER;
    return s->error;
}

/* Marks are what match_pending makes of the guard planes, per rule: whether
 * it runs when it holds no partial (the idle plane) and when it does (the
 * live plane, of sequences alone: only they hold partials). Live clocked
 * sequences run on every event, so they need no mark. Most events make few
 * rules ready: the marks are compact, header words with a bit per plane
 * word, then the words whose bit is set. */
#define MARK_PLANES 2

static size_t marks_header(uint32_t plane_words) { return (MARK_PLANES * plane_words + 63) / 64; }

size_t eqlite_ruleset_marks_words(const eqlite_ruleset *rs)
{
    return rs && rs->finished ? marks_header(rs->plane_words) + MARK_PLANES * rs->plane_words : 0;
}

/* The pending planes folded into marks for some rules (keep; NULL: all),
 * as match_pending folds them, with the live plane or without (`live`);
 * pending is left as it was. Returns the words written, 0 when no rule is
 * marked (the header is then zero). */
static size_t export_marks(const eqlite_scanner *sc, const uint64_t *keep, bool live, uint64_t *marks);

/* The idle plane alone, for the rules in keep (NULL: all): each word's
 * guards in one pass without a branch (the compiler makes it vector code),
 * then the words some rule is marked in (few) packed. As export_marks. */
static size_t export_idle(const eqlite_scanner *sc, const uint64_t *restrict keep, uint64_t *restrict marks)
{
    const size_t pw = sc->rs->plane_words;
    _Static_assert(GUARD_BITS == 4, "one term per guard plane");
    const uint64_t *restrict p0 = sc->pending, *restrict p1 = p0 + pw, *restrict p2 = p1 + pw, *restrict p3 = p2 + pw;
    const uint64_t *restrict r1 = sc->rs->required + pw, *restrict r2 = r1 + pw, *restrict r3 = r2 + pw;
    size_t head = marks_header((uint32_t)pw), n = head;
    uint64_t *restrict idle = marks + head + pw; /* in full first, past where they are packed */
    if (keep)
        for (size_t w = 0; w < pw; w++)
            idle[w] = p0[w] & keep[w] & (p1[w] | ~r1[w]) & (p2[w] | ~r2[w]) & (p3[w] | ~r3[w]);
    else
        for (size_t w = 0; w < pw; w++)
            idle[w] = p0[w] & (p1[w] | ~r1[w]) & (p2[w] | ~r2[w]) & (p3[w] | ~r3[w]);
    memset(marks, 0, head * sizeof *marks);
    for (size_t w = 0; w < pw; w++)
        if (idle[w]) { /* n <= head + w < head + pw + w */
            marks[n++] = idle[w];
            marks[w / 64] |= UINT64_C(1) << (w % 64);
        }
    return n == head ? 0 : n;
}

static size_t export_marks(const eqlite_scanner *sc, const uint64_t *keep, bool live, uint64_t *marks)
{
    if (!live)
        return export_idle(sc, keep, marks);
    const uint32_t pw = sc->rs->plane_words;
    const uint64_t *pending = sc->pending, *required = sc->rs->required;
    size_t head = marks_header(pw), n = head;
    uint64_t *live_at = marks + head + pw; /* live words in full, past where the idle ones are packed */
    memset(marks, 0, head * sizeof *marks);
    for (uint32_t w = 0; w < pw; w++) {
        uint64_t kept = keep ? keep[w] : ~UINT64_C(0), idle = pending[w] & kept, g1 = pending[pw + w];
        if ((idle | g1) & kept) { /* most words: no rule of theirs can run */
            uint64_t narrowed = g1 | ~required[pw + w], alive = (pending[w] | g1) & narrowed & kept & sc->sequences[w];
            idle &= narrowed; /* alive: revived by g1 */
            for (uint32_t g = 2; g < GUARD_BITS; g++) {
                uint64_t holds = pending[g * pw + w] | ~required[g * pw + w];
                idle &= holds;
                alive &= holds | g1;
            }
            live_at[w] = alive;
        } else {
            live_at[w] = 0;
        }
        if (idle) { /* n <= head + w: below live_at */
            marks[n++] = idle;
            marks[w / 64] |= UINT64_C(1) << (w % 64);
        }
    }
    for (uint32_t w = 0; w < pw; w++) {
        uint64_t alive = live_at[w]; /* read before marks[n], n <= head + pw + w, is written */
        if (alive) {
            marks[n++] = alive;
            marks[(pw + w) / 64] |= UINT64_C(1) << ((pw + w) % 64);
        }
    }
    return n == head ? 0 : n; /* none: all-zero marks say it */
}

/* Runs the rules the planes in sc->pending (gathered for ev) make ready,
 * and clears them. */
static eqlite_status match_pending(eqlite_scanner *sc, const eqlite_event *ev, eqlite_rule_callback cb, void *user)
{
    const eqlite_ruleset *rs = sc->rs;
    scan s = {sc, ev, cb, user, 0, {0}, false, EQLITE_OK};
    bool ordered = begin_match(sc, ev);
    uint64_t *pending = sc->pending;
    /* rules whose required guard bits are all set, in rule order */
    const uint32_t pw = rs->plane_words;
    const uint64_t *required = rs->required;
    for (uint32_t w = 0; w < pw && !s.stop; w++) {
        uint64_t ticking = sc->live[w] & sc->clocked[w]; /* time may settle what they hold */
        if (ticking)
            for (uint32_t g = 0; g < GUARD_BITS; g++)
                pending[g * pw + w] |= required[g * pw + w] & ticking;
        uint64_t g1 = pending[pw + w];
        uint64_t revived = g1 & sc->live[w];
        uint64_t ready = (pending[w] | revived) & (g1 | ~required[pw + w]) & sc->selected[w];
        pending[w] = pending[pw + w] = 0;
        /* sequences with partials also run on plane 1: the guards of the
         * filters after their first term (or of all filters when the first
         * term is missing, which the narrowing planes do not narrow) */
        for (uint32_t g = 2; g < GUARD_BITS; g++) {
            ready &= pending[g * pw + w] | revived | ~required[g * pw + w];
            pending[g * pw + w] = 0;
        }
        run_ready(&s, w, ready);
    }
    return end_match(sc, &s, ordered);
}

eqlite_status eqlite_scanner_match(eqlite_scanner *sc, const eqlite_event *ev, eqlite_rule_callback cb, void *user)
{
    if (!sc || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    gather(sc, ev);
    return match_pending(sc, ev, cb, user);
}

eqlite_status eqlite_scanner_match_indexed(eqlite_scanner *sc, eqlite_scanner *index, const eqlite_event *ev,
                                           eqlite_rule_callback cb, void *user)
{
    if (!sc || !index || index->rs != sc->rs || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    gather(index, ev);
    uint64_t *own = sc->pending; /* clear, as is the index's once matched */
    sc->pending = index->pending;
    eqlite_status st = match_pending(sc, ev, cb, user);
    sc->pending = own;
    if (st == EQLITE_OK && index->fold.error) /* the index marked every rule: it could not fold a value */
        st = eq_scratch_take_error(&index->fold);
    return st;
}

eqlite_status eqlite_scanner_mark(eqlite_scanner *sc, const eqlite_event *ev, uint64_t *marks)
{
    size_t nmarks;
    return eqlite_scanner_mark_rules(sc, ev, NULL, marks, &nmarks);
}

eqlite_status eqlite_scanner_mark_rules(eqlite_scanner *sc, const eqlite_event *ev, const uint64_t *for_rules,
                                        uint64_t *marks, size_t *nmarks)
{
    if (!sc || !marks || !nmarks || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    gather(sc, ev);
    *nmarks = export_marks(sc, for_rules, true, marks);
    memset(sc->pending, 0, sc->nwords * sizeof *sc->pending);
    return sc->fold.error ? eq_scratch_take_error(&sc->fold) : EQLITE_OK;
}

static eqlite_status match_mark(eqlite_scanner *sc, const eqlite_event *ev, const uint64_t *for_rules, bool live,
                                uint64_t *marks, size_t *nmarks, eqlite_rule_callback cb, void *user)
{
    if (!sc || !marks || !nmarks || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    gather(sc, ev);
    *nmarks = export_marks(sc, for_rules, live, marks);
    return match_pending(sc, ev, cb, user);
}

eqlite_status eqlite_scanner_match_mark(eqlite_scanner *sc, const eqlite_event *ev, const uint64_t *for_rules,
                                        uint64_t *marks, size_t *nmarks, eqlite_rule_callback cb, void *user)
{
    return match_mark(sc, ev, for_rules, true, marks, nmarks, cb, user);
}

eqlite_status eqlite_scanner_match_mark_idle(eqlite_scanner *sc, const eqlite_event *ev, const uint64_t *for_rules,
                                             uint64_t *marks, size_t *nmarks, eqlite_rule_callback cb, void *user)
{
    return match_mark(sc, ev, for_rules, false, marks, nmarks, cb, user);
}

int eqlite_scanner_holds_partials(const eqlite_scanner *sc) { return sc && sc->nlive; }

eqlite_status eqlite_scanner_match_marked(eqlite_scanner *sc, const eqlite_event *ev, const uint64_t *marks,
                                          eqlite_rule_callback cb, void *user)
{
    if (!sc || !marks || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    const eqlite_ruleset *rs = sc->rs;
    const uint32_t pw = rs->plane_words;
    scan s = {sc, ev, cb, user, 0, {0}, false, EQLITE_OK};
    bool ordered = begin_match(sc, ev);
    size_t head = marks_header(pw), n = head;
    if (!sc->nlive) { /* no live plane to read, no clocked sequence to tick: the idle words alone, in order */
        for (size_t h = 0; h < head && !s.stop; h++)
            for (uint64_t bits = marks[h]; bits && !s.stop; bits &= bits - 1) {
                size_t i = h * 64 + (size_t)__builtin_ctzll(bits);
                uint64_t idle = marks[n++];
                if (i >= pw) /* the live words come after every idle one */
                    return end_match(sc, &s, ordered);
                run_ready(&s, (uint32_t)i, idle & sc->selected[i]);
            }
        return end_match(sc, &s, ordered);
    }
    uint64_t *planes = sc->pending; /* idle, then live: pending is clear, and as large */
    for (size_t h = 0; h < head; h++)
        for (uint64_t bits = marks[h]; bits; bits &= bits - 1)
            planes[h * 64 + (size_t)__builtin_ctzll(bits)] = marks[n++];
    for (uint32_t w = 0; w < pw && !s.stop; w++) { /* a live clocked sequence runs: time may settle what it holds */
        uint64_t live = sc->live[w];
        uint64_t ready = ((planes[w] & ~live) | ((planes[pw + w] | sc->clocked[w]) & live)) & sc->selected[w];
        planes[w] = planes[pw + w] = 0;
        if (ready)
            run_ready(&s, w, ready);
    }
    return end_match(sc, &s, ordered);
}

int eqlite_ruleset_marks_idle(const eqlite_ruleset *rs, const uint64_t *marks)
{
    if (!rs || !rs->finished || !marks)
        return 0;
    const uint32_t pw = rs->plane_words; /* the idle plane's words come first in the header */
    for (uint32_t h = 0; h * 64 < pw; h++) {
        uint64_t idle = pw - h * 64 >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (pw - h * 64)) - 1;
        if (marks[h] & idle)
            return 1;
    }
    return 0;
}

int eqlite_scanner_marks_need_fields(const eqlite_scanner *sc, const uint64_t *marks)
{
    if (!sc || !marks)
        return 0;
    const uint32_t pw = sc->rs->plane_words;
    size_t head = marks_header(pw), n = head;
    /* as match_marked: idle marks of rules holding nothing, live marks of rules holding partials */
    for (size_t h = 0; h < head; h++)
        for (uint64_t bits = marks[h]; bits; bits &= bits - 1) {
            size_t i = h * 64 + (size_t)__builtin_ctzll(bits);
            if (i >= pw && !sc->nlive) /* the live words come last, and no rule holds partials */
                return 0;
            uint32_t w = (uint32_t)(i < pw ? i : i - pw);
            uint64_t holding = i < pw ? ~sc->live[w] : sc->live[w];
            if (marks[n++] & holding & sc->selected[w])
                return 1;
        }
    return 0;
}

eqlite_status eqlite_scanner_select(eqlite_scanner *sc, const uint64_t *rules)
{
    if (!sc || !rules || sc->stats.events)
        return EQLITE_EMISUSE;
    const eqlite_ruleset *rs = sc->rs;
    sc->checks_order = false;
    for (uint32_t k = 0; k < rs->nrules; k++) {
        bool on = (rules[k / 64] >> (k % 64)) & 1;
        if (!on)
            sc->selected[k / 64] &= ~(UINT64_C(1) << (k % 64));
        if (!on && sc->streaming[k]) { /* never fed: its state need not exist */
            eqlite_matcher_free(sc->streaming[k]);
            sc->streaming[k] = NULL;
        }
        /* from the selection left, not this call's bits: a repeated call only narrows */
        sc->checks_order |= ((sc->selected[k / 64] >> (k % 64)) & 1) && rs->rules[k].sequence;
    }
    return EQLITE_OK;
}

eqlite_status eqlite_scanner_flush(eqlite_scanner *sc, eqlite_rule_callback cb, void *user)
{
    if (!sc)
        return EQLITE_EMISUSE;
    scan s = {sc, NULL, cb, user, 0, {0}, false, EQLITE_OK};
    for (uint32_t k = 0; k < sc->rs->nrules && !s.stop; k++) {
        if (!sc->streaming[k])
            continue;
        s.rule = k;
        eqlite_status st = eqlite_flush(sc->streaming[k], forward, &s);
        if (sc->rs->rules[k].sequence)
            note_live(sc, k);
        if (st != EQLITE_OK && s.error == EQLITE_OK)
            s.error = st;
    }
    return s.error;
}

eqlite_status eqlite_scanner_set_event_hooks(eqlite_scanner *sc, const eqlite_event_hooks *hooks)
{
    if (!sc)
        return EQLITE_EMISUSE;
    for (size_t k = 0; k < sc->rs->nrules; k++)
        if (sc->streaming[k])
            eqlite_matcher_set_event_hooks(sc->streaming[k], hooks);
    return EQLITE_OK;
}

eqlite_status eqlite_scanner_rule_stats(const eqlite_scanner *sc, size_t index, eqlite_stats *out)
{
    if (!sc || !out || index >= sc->rs->nrules)
        return EQLITE_EMISUSE;
    if (sc->streaming[index])
        eqlite_matcher_stats(sc->streaming[index], out);
    else
        memset(out, 0, sizeof *out);
    return EQLITE_OK;
}

void eqlite_scanner_stats(const eqlite_scanner *sc, eqlite_scanner_counts *out)
{
    if (!out)
        return;
    if (!sc)
        memset(out, 0, sizeof *out);
    else
        *out = sc->stats;
}
