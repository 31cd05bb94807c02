/* ruleset.c: many rules evaluated together. Rules are indexed by the event
 * category of their query so that an event runs only the rules that can
 * match it: the event's category value is hashed once and looked up in a
 * table of per-category rule lists; `any` queries, sequences and samples sit
 * in an always-run list. Plain event queries (no pipes) run straight on one
 * VM state shared by the scanner; the others keep their own matcher. */
#include <string.h>

#include "program.h"
#include "schema.h"
#include "value.h"

typedef struct rule {
    eqlite_program *program;
    char *name, *id;
    const char *category; /* the program's, NUL-terminated; NULL: always run */
    uint32_t catlen;
    bool streaming; /* sequence, sample or pipes: fed through its own matcher */
} rule;

/* One category value and the rules indexed under it (ascending index). */
typedef struct category_slot {
    uint64_t hash;
    const char *name; /* NULL: empty slot */
    uint32_t len;
    uint32_t *rules;
    uint32_t nrules;
} category_slot;

typedef struct rule_list {
    uint32_t *items;
    uint32_t n;
} rule_list;

struct eqlite_ruleset {
    const eqlite_allocator *alloc;
    eqlite_schema *schema;
    rule *rules;
    uint32_t nrules, cap;
    bool finished;
    int64_t category_field; /* schema id, -1 if the schema has none */
    category_slot *slots;
    uint32_t mask;
    rule_list always;
};

struct eqlite_scanner {
    const eqlite_ruleset *rs;
    const eqlite_allocator *alloc;
    eqlite_matcher vm;          /* shared by the plain event queries */
    eqlite_matcher **streaming; /* per rule; NULL for plain event queries */
    uint32_t *seen;             /* per rule: epoch it last ran (multi-valued categories) */
    uint32_t epoch;
    eqlite_scanner_stats stats;
};

/* ---- building ---- */

eqlite_status eqlite_ruleset_new(eqlite_schema *schema, eqlite_ruleset **out)
{
    if (!schema || !out)
        return EQLITE_EMISUSE;
    eqlite_ruleset *rs = eq_malloc(schema->alloc, sizeof *rs);
    *out = rs;
    if (!rs)
        return EQLITE_ENOMEM;
    memset(rs, 0, sizeof *rs);
    rs->alloc = schema->alloc;
    rs->schema = schema;
    rs->category_field = -1;
    return EQLITE_OK;
}

static void free_index(eqlite_ruleset *rs)
{
    for (uint32_t k = 0; rs->slots && k <= rs->mask; k++)
        eq_free(rs->alloc, rs->slots[k].rules);
    eq_free(rs->alloc, rs->slots);
    eq_free(rs->alloc, rs->always.items);
    rs->slots = NULL;
    rs->always.items = NULL;
}

void eqlite_ruleset_free(eqlite_ruleset *rs)
{
    if (!rs)
        return;
    for (uint32_t k = 0; k < rs->nrules; k++) {
        eqlite_program_free(rs->rules[k].program);
        eq_free(rs->alloc, rs->rules[k].name);
        eq_free(rs->alloc, rs->rules[k].id);
    }
    free_index(rs);
    eq_free(rs->alloc, rs->rules);
    eq_free(rs->alloc, rs);
}

static char *copy_label(const eqlite_allocator *alloc, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *c = eq_malloc(alloc, n + 1);
    if (c) {
        if (n)
            memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

static bool is_streaming(const eqlite_program *prog) { return prog->kind != Q_EVENT || prog->npipes > 0; }

static bool grow_rules(eqlite_ruleset *rs)
{
    if (rs->nrules < rs->cap)
        return true;
    uint32_t cap = rs->cap ? rs->cap * 2 : 64;
    rule *r = eq_realloc(rs->alloc, rs->rules, cap * sizeof *r);
    if (!r)
        return false;
    rs->rules = r;
    rs->cap = cap;
    return true;
}

eqlite_status eqlite_ruleset_add(eqlite_ruleset *rs, const char *src, size_t len, const char *name, const char *id,
                                 eqlite_diag *diag)
{
    if (!rs || rs->finished)
        return EQLITE_EMISUSE;
    eqlite_program *prog = NULL;
    eqlite_status st = eqlite_compile(rs->schema, src, len, &prog, diag);
    if (st != EQLITE_OK)
        return st;
    rule r = {prog, copy_label(rs->alloc, name), copy_label(rs->alloc, id), prog->category,
              prog->category ? (uint32_t)strlen(prog->category) : 0, is_streaming(prog)};
    if (!r.name || !r.id || !grow_rules(rs)) {
        eqlite_program_free(prog);
        eq_free(rs->alloc, r.name);
        eq_free(rs->alloc, r.id);
        return EQLITE_ENOMEM;
    }
    rs->rules[rs->nrules++] = r;
    return EQLITE_OK;
}

/* The slot holding category (s, n), or the empty slot where it belongs. */
static category_slot *find_slot(category_slot *slots, uint32_t mask, uint64_t h, const char *s, uint32_t n)
{
    uint32_t i = (uint32_t)h & mask;
    while (slots[i].name && !(slots[i].hash == h && slots[i].len == n && memcmp(slots[i].name, s, n) == 0))
        i = (i + 1) & mask;
    return &slots[i];
}

static bool append(const eqlite_allocator *alloc, uint32_t **items, uint32_t *n, uint32_t value)
{
    /* lists grow by doubling; capacity is implied by n (powers of two) */
    if ((*n & (*n - 1)) == 0) {
        uint32_t *grown = eq_realloc(alloc, *items, (*n ? *n * 2 : 1) * sizeof **items);
        if (!grown)
            return false;
        *items = grown;
    }
    (*items)[(*n)++] = value;
    return true;
}

static bool index_rule(eqlite_ruleset *rs, uint32_t k)
{
    const rule *r = &rs->rules[k];
    if (!r->category || rs->category_field < 0)
        return append(rs->alloc, &rs->always.items, &rs->always.n, k);
    uint64_t h = eq_hash(r->category, r->catlen);
    category_slot *slot = find_slot(rs->slots, rs->mask, h, r->category, r->catlen);
    if (!slot->name) {
        slot->hash = h;
        slot->name = r->category;
        slot->len = r->catlen;
    }
    return append(rs->alloc, &slot->rules, &slot->nrules, k);
}

eqlite_status eqlite_ruleset_finish(eqlite_ruleset *rs)
{
    if (!rs)
        return EQLITE_EMISUSE;
    if (rs->finished)
        return EQLITE_OK;
    const char *cf = rs->schema->category_field;
    rs->category_field = cf ? eq_schema_find(rs->schema, cf, strlen(cf)) : -1;
    uint32_t size = 16;
    while (size < rs->nrules * 2)
        size *= 2;
    rs->slots = eq_malloc(rs->alloc, size * sizeof *rs->slots);
    if (!rs->slots)
        return EQLITE_ENOMEM;
    memset(rs->slots, 0, size * sizeof *rs->slots);
    rs->mask = size - 1;
    for (uint32_t k = 0; k < rs->nrules; k++) {
        if (!index_rule(rs, k)) {
            free_index(rs);
            return EQLITE_ENOMEM;
        }
    }
    rs->finished = true;
    return EQLITE_OK;
}

size_t eqlite_ruleset_count(const eqlite_ruleset *rs) { return rs ? rs->nrules : 0; }

static void rule_info(const eqlite_ruleset *rs, uint32_t k, eqlite_rule_info *out)
{
    const rule *r = &rs->rules[k];
    out->index = k;
    out->name = r->name;
    out->id = r->id;
    out->program = r->program;
    out->category = rs->category_field >= 0 || !rs->finished ? r->category : NULL;
}

eqlite_status eqlite_ruleset_rule(const eqlite_ruleset *rs, size_t index, eqlite_rule_info *out)
{
    if (!rs || !out || index >= rs->nrules)
        return EQLITE_EMISUSE;
    rule_info(rs, (uint32_t)index, out);
    return EQLITE_OK;
}

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
    eq_free(sc->alloc, sc->seen);
    eq_vm_release(&sc->vm);
    eq_free(sc->alloc, sc);
}

static eqlite_status make_streaming(eqlite_scanner *sc, const eqlite_limits *limits)
{
    const eqlite_ruleset *rs = sc->rs;
    size_t bytes = (rs->nrules ? rs->nrules : 1) * sizeof *sc->streaming;
    sc->streaming = eq_malloc(sc->alloc, bytes);
    sc->seen = eq_malloc(sc->alloc, (rs->nrules ? rs->nrules : 1) * sizeof *sc->seen);
    if (!sc->streaming || !sc->seen)
        return EQLITE_ENOMEM;
    memset(sc->streaming, 0, bytes);
    memset(sc->seen, 0, (rs->nrules ? rs->nrules : 1) * sizeof *sc->seen);
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
    eq_vm_init(&sc->vm, rs->nrules ? rs->rules[0].program : NULL, rs->alloc);
    eqlite_status st = sc->vm.scratch.regex ? make_streaming(sc, limits) : EQLITE_ENOMEM;
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
    if (eq_vm_run(vm, r->program->terms[0].filter_pc, s->ev) != 1)
        return;
    s->sc->stats.matches++;
    if (s->cb) {
        const eqlite_event *events[1] = {s->ev};
        eqlite_result result = {r->program, 1, events, 0, NULL};
        if (s->cb(s->user, &s->info, &result) != 0)
            s->stop = true;
    }
}

static void run_rule(scan *s, uint32_t k)
{
    eqlite_scanner *sc = s->sc;
    const rule *r = &sc->rs->rules[k];
    sc->stats.rules_run++;
    if (s->cb)
        rule_info(sc->rs, k, &s->info);
    if (!r->streaming) {
        run_plain(s, r);
        return;
    }
    eqlite_status st = eqlite_feed(sc->streaming[k], s->ev, forward, s);
    if (st != EQLITE_OK) {
        sc->stats.errors++;
        if (s->error == EQLITE_OK)
            s->error = st;
    }
}

/* Runs the rules of one category list merged with the always-run list, in
 * rule order; `dedupe` skips rules already run for this event. */
static void run_lists(scan *s, const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb, bool dedupe)
{
    uint32_t i = 0, j = 0;
    while ((i < na || j < nb) && !s->stop) {
        uint32_t k = (j >= nb || (i < na && a[i] < b[j])) ? a[i++] : b[j++];
        if (dedupe) {
            if (s->sc->seen[k] == s->sc->epoch)
                continue;
            s->sc->seen[k] = s->sc->epoch;
        }
        run_rule(s, k);
    }
}

static const category_slot *lookup(const eqlite_ruleset *rs, const eqlite_value *v)
{
    if (v->kind != EQLITE_STRING)
        return NULL;
    const category_slot *slot = find_slot(rs->slots, rs->mask, eq_hash(v->u.s, v->len), v->u.s, v->len);
    return slot->name ? slot : NULL;
}

static void run_categories(scan *s, const eqlite_value *cat)
{
    const eqlite_ruleset *rs = s->sc->rs;
    const eqlite_value *items = cat->kind == EQLITE_ARRAY ? cat->u.a : cat;
    uint32_t n = cat->kind == EQLITE_ARRAY ? cat->len : 1;
    if (n <= 1) { /* the common case: one category, no bookkeeping */
        const category_slot *slot = n ? lookup(rs, &items[0]) : NULL;
        run_lists(s, slot ? slot->rules : NULL, slot ? slot->nrules : 0, rs->always.items, rs->always.n, false);
        return;
    }
    if (++s->sc->epoch == 0) { /* wrapped: forget every stamp */
        memset(s->sc->seen, 0, rs->nrules * sizeof *s->sc->seen);
        s->sc->epoch = 1;
    }
    run_lists(s, NULL, 0, rs->always.items, rs->always.n, true);
    for (uint32_t e = 0; e < n && !s->stop; e++) {
        const category_slot *slot = lookup(rs, &items[e]);
        if (slot)
            run_lists(s, slot->rules, slot->nrules, NULL, 0, true);
    }
}

eqlite_status eqlite_ruleset_match(eqlite_scanner *sc, const eqlite_event *ev, eqlite_rule_callback cb, void *user)
{
    if (!sc || !ev)
        return EQLITE_EMISUSE;
    const eqlite_ruleset *rs = sc->rs;
    scan s = {sc, ev, cb, user, {0}, false, EQLITE_OK};
    if (sc->vm.chunks) /* strings the previous event's rules made */
        eq_vm_reset(&sc->vm);
    sc->stats.events++;
    static const eqlite_value null_value;
    const eqlite_value *cat = &null_value;
    if (rs->category_field >= 0 && (size_t)rs->category_field < ev->nfields)
        cat = &ev->fields[rs->category_field];
    run_categories(&s, cat);
    return s.error;
}

eqlite_status eqlite_ruleset_flush(eqlite_scanner *sc, eqlite_rule_callback cb, void *user)
{
    if (!sc)
        return EQLITE_EMISUSE;
    scan s = {sc, NULL, cb, user, {0}, false, EQLITE_OK};
    for (uint32_t k = 0; k < sc->rs->nrules && !s.stop; k++) {
        if (!sc->streaming[k])
            continue;
        if (cb)
            rule_info(sc->rs, k, &s.info);
        eqlite_status st = eqlite_flush(sc->streaming[k], forward, &s);
        if (st != EQLITE_OK && s.error == EQLITE_OK)
            s.error = st;
    }
    return s.error;
}

void eqlite_scanner_stats_get(const eqlite_scanner *sc, eqlite_scanner_stats *out)
{
    if (!out)
        return;
    if (!sc)
        memset(out, 0, sizeof *out);
    else
        *out = sc->stats;
}
