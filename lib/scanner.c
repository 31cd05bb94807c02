/* scanner.c: matching events against a finished ruleset: the guard index
 * marks the rules an event can match, and only those run (plain event
 * queries on one shared VM, the others through their own matchers). */
#define _POSIX_C_SOURCE 200809L
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
    sc->live = eq_malloc(sc->alloc, (sc->nwords ? sc->nwords : 1) * sizeof *sc->live);
    if (!sc->pending || !sc->live)
        return EQLITE_ENOMEM;
    memset(sc->live, 0, (sc->nwords ? sc->nwords : 1) * sizeof *sc->live);
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
    eqlite_rule_info info;
    bool stop;           /* the callback asked to stop this event */
    eqlite_status error; /* first failure */
} scan;

/* Forwards a streaming rule's results; the inner matcher is never told to
 * stop, since stopping is per event here, not for the rest of the stream. */
static int forward(void *user, const eqlite_result *result)
{
    scan *s = user;
    s->sc->stats.matches++;
    if (s->cb && !s->stop && s->cb(s->user, &s->info, result) != 0)
        s->stop = true;
    return 0;
}

static void run_plain(scan *s, const rule *r)
{
    eqlite_matcher *vm = &s->sc->vm;
    vm->program = r->program;
    if (eq_vm_run(vm, r->filter_pc, s->ev) != 1)
        return;
    s->sc->stats.matches++;
    if (s->cb) {
        const eqlite_event *events[1] = {s->ev};
        eqlite_result result = {r->program, 1, events, 0, NULL};
        if (s->cb(s->user, &s->info, &result) != 0)
            s->stop = true;
    }
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
void eq_scanner_profile(eqlite_scanner *sc, uint64_t *ns, uint64_t *runs)
{
    sc->prof_ns = ns && runs ? ns : NULL;
    sc->prof_runs = runs;
}

static void run_rule_now(scan *s, uint32_t k)
{
    eqlite_scanner *sc = s->sc;
    const rule *r = &sc->rs->rules[k];
    sc->stats.rules_run++;
    if (s->cb)
        eq_rule_info(sc->rs, k, &s->info);
    if (!r->streaming) {
        run_plain(s, r);
        return;
    }
    eqlite_status st = eqlite_feed(sc->streaming[k], s->ev, forward, s);
    if (r->sequence) {
        uint64_t bit = UINT64_C(2) << (k * GUARD_BITS % 64);
        if (sc->streaming[k]->stats.pending)
            sc->live[k * GUARD_BITS / 64] |= bit;
        else
            sc->live[k * GUARD_BITS / 64] &= ~bit;
    }
    if (st != EQLITE_OK) {
        sc->stats.errors++;
        if (s->error == EQLITE_OK)
            s->error = st;
    }
}

static inline void mark(eqlite_scanner *sc, const rule_list *l)
{
    uint64_t *pending = sc->pending;
    if (l->bits) {
        for (uint32_t w = 0; w < sc->nwords; w++)
            pending[w] |= l->bits[w];
        return;
    }
    for (uint32_t i = 0; i < l->n; i++)
        pending[l->items[i] >> 6] |= UINT64_C(1) << (l->items[i] & 63);
}

static inline bool is_missing(const eqlite_value *v)
{
    return v->kind == EQLITE_NULL || (v->kind == EQLITE_ARRAY && v->len == 0);
}

/* Marks the rules listed under a probe's slice of one value (folded already
 * for caseless probes). */
static void mark_slice(eqlite_scanner *sc, uint32_t pi, const probe *p, const char *s, uint32_t n)
{
    const eqlite_ruleset *rs = sc->rs;
    if (p->affix == SUFFIX) {
        if (n < p->len)
            return;
        s += n - p->len;
        n = p->len;
    } else if (p->affix == PREFIX) {
        if (n < (uint32_t)p->off + p->len)
            return;
        for (uint32_t i = 0; i < p->off; i++) {
            if ((unsigned char)s[i] >= 0x80) { /* a '?' may take more than a byte */
                mark(sc, &p->present);
                return;
            }
        }
        s += p->off;
        n = p->len;
    }
    /* the tags (4 bytes a slot) stay in cache; most values are not there */
    uint64_t h = slot_hash(pi, s, n);
    uint32_t b1 = (uint32_t)(h >> 18) & BLOOM_MASK, b2 = (uint32_t)(h >> 41) & BLOOM_MASK;
    if (!((rs->bloom[b1 >> 6] >> (b1 & 63)) & (rs->bloom[b2 >> 6] >> (b2 & 63)) & 1))
        return; /* most values: two bits of a small filter say no */
    uint32_t tag = (uint32_t)(h >> 32) | 1;
    for (uint32_t i = (uint32_t)h & rs->mask; rs->tags[i]; i = (i + 1) & rs->mask) {
        if (rs->tags[i] != tag)
            continue;
        const guard_slot *slot = &rs->slots[i];
        if (slot->hash == h && slot->probe == pi && slot->n == n && (n == 0 || memcmp(slot->s, s, n) == 0)) {
            mark(sc, &slot->rules);
            return;
        }
    }
}

static void mark_all(eqlite_scanner *sc)
{
    memcpy(sc->pending, sc->rs->required, sc->nwords * sizeof *sc->pending);
}

/* The probes active[a..end) of one field over one string element. */
static void mark_element(eqlite_scanner *sc, uint32_t a, uint32_t end, const char *s, uint32_t n)
{
    const eqlite_ruleset *rs = sc->rs;
    char local[256];
    const char *folded = NULL;
    uint32_t nfolded = 0;
    for (; a < end; a++) {
        uint32_t pi = rs->active[a];
        const probe *p = &rs->probes[pi];
        if (p->mode == PROBE_EXACT) {
            mark_slice(sc, pi, p, s, n);
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
                    return;
                }
                eq_fold(s, n, buf, need);
                folded = buf;
                nfolded = (uint32_t)need;
            }
        }
        mark_slice(sc, pi, p, folded, nfolded);
    }
}

static void gather(eqlite_scanner *sc, const eqlite_event *ev)
{
    const eqlite_ruleset *rs = sc->rs;
    mark(sc, &rs->always);
    for (uint32_t gi = 0; gi < rs->ngroups; gi++) {
        uint32_t field = rs->groups[gi].field, a = rs->groups[gi].first, end = rs->groups[gi].present;
        if (field >= ev->nfields)
            break; /* groups come by field id */
        const eqlite_value *v = &ev->fields[field];
        if (is_missing(v))
            continue;
        for (uint32_t q = end; q < rs->groups[gi].end; q++) /* value probes come first, presence last */
            mark(sc, &rs->probes[rs->active[q]].present);
        if (v->kind == EQLITE_STRING) {
            mark_element(sc, a, end, v->u.s, v->len);
        } else if (v->kind == EQLITE_ARRAY) {
            for (uint32_t i = 0; i < v->len; i++)
                if (v->u.a[i].kind == EQLITE_STRING)
                    mark_element(sc, a, end, v->u.a[i].u.s, v->u.a[i].len);
        }
    }
}

/* The sequences' order rule, for every event (the index feeds each
 * sequence only some): false if ev sorts before the previous event. */
static bool in_order(eqlite_scanner *sc, const eqlite_event *ev)
{
    return eq_order_accept(&sc->order, sc->alloc, ev);
}

eqlite_status eqlite_scanner_match(eqlite_scanner *sc, const eqlite_event *ev, eqlite_rule_callback cb, void *user)
{
    if (!sc || !eq_event_usable(ev))
        return EQLITE_EMISUSE;
    const eqlite_ruleset *rs = sc->rs;
    scan s = {sc, ev, cb, user, {0}, false, EQLITE_OK};
    if (sc->vm.chunks) /* strings the previous event's rules made */
        eq_vm_reset(&sc->vm);
    sc->stats.events++;
    bool ordered = !rs->has_sequence || in_order(sc, ev);
    uint64_t *pending = sc->pending;
    gather(sc, ev);
    for (uint32_t i = 0; i < rs->clocked.n; i++) { /* time may settle what they hold */
        uint32_t k = rs->clocked.items[i];
        if (sc->streaming[k]->stats.pending) {
            uint32_t w = k * GUARD_BITS / 64, sh = k * GUARD_BITS % 64;
            pending[w] |= rs->required[w] & (UINT64_C(0xf) << sh);
        }
    }
    /* rules whose guard bits are all set, in rule order */
    const uint64_t *required = rs->required;
    const uint64_t low = UINT64_C(0x1111111111111111); /* bit 0 of each rule */
    for (uint32_t w = 0; w < sc->nwords; w++) {
        uint64_t bits = pending[w];
        if (!bits)
            continue;
        bits |= (bits & sc->live[w]) >> 1; /* sequences with partials: any filter's guard */
        pending[w] = 0;
        uint64_t miss = required[w] & ~bits;
        /* a rule is ready when its nibble misses nothing and was hit */
        uint64_t hit = (bits | bits >> 1 | bits >> 2 | bits >> 3) & low;
        uint64_t missing = (miss | miss >> 1 | miss >> 2 | miss >> 3) & low;
        uint64_t ready = hit & ~missing;
        while (ready && !s.stop) {
            uint32_t k = w * (64 / GUARD_BITS) + (uint32_t)__builtin_ctzll(ready) / GUARD_BITS;
            ready &= ready - 1;
            if (ready) { /* the next rule's program and code, while this one runs */
                const rule *next = &rs->rules[w * (64 / GUARD_BITS) + (uint32_t)__builtin_ctzll(ready) / GUARD_BITS];
                __builtin_prefetch(next->program);
                __builtin_prefetch(next->entry);
            }
            run_rule(&s, k);
        }
        if (s.stop) { /* forget the rest of this event's rules */
            memset(pending + w, 0, (sc->nwords - w) * sizeof *pending);
            break;
        }
    }
    if (s.error == EQLITE_OK && sc->vm.scratch.error) /* a test that could not be decided */
        s.error = eq_scratch_take_error(&sc->vm.scratch);
    if (s.error == EQLITE_OK && sc->fold.error)
        s.error = eq_scratch_take_error(&sc->fold);
    if (!ordered && s.error == EQLITE_OK)
        s.error = EQLITE_EORDER;
    return s.error;
}

eqlite_status eqlite_scanner_flush(eqlite_scanner *sc, eqlite_rule_callback cb, void *user)
{
    if (!sc)
        return EQLITE_EMISUSE;
    scan s = {sc, NULL, cb, user, {0}, false, EQLITE_OK};
    for (uint32_t k = 0; k < sc->rs->nrules && !s.stop; k++) {
        if (!sc->streaming[k])
            continue;
        if (cb)
            eq_rule_info(sc->rs, k, &s.info);
        eqlite_status st = eqlite_flush(sc->streaming[k], forward, &s);
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
