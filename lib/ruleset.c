/* ruleset.c: many rules evaluated together. An event runs only the rules
 * that can match it, found through a guard index read from the rules' own
 * bytecode (no codegen support needed):
 *
 *  - Atoms: a fused field test is true only if the field (any element)
 *    reads as one of a few keys: field == "v" (bytes), field : "v" (folded),
 *    an in / : / like set of exact values, prefixes (after leading '?'s),
 *    suffixes and globs (their head or tail literal, a slice of a few fixed
 *    lengths, or, when that is only an extension or nothing, their longest
 *    literal searched for anywhere), == or in against numbers and booleans
 *    (by value, as the VM compares them); any other fused test but
 *    F_IS_NULL: the field is present. A sequence's first term also has the
 *    presence of each required join key field (keys.c drops an event
 *    without it).
 *  - Guards: a set of atoms one of which holds on every path of a filter's
 *    code to a true return, found by a walk of the code (forward jumps,
 *    three-valued acc) that keeps, at each test, the cheaper of the test
 *    and the guard after it, and unions the guards of both branches. The
 *    cost of a key is its share of the values the corpus tests the field
 *    for, so event.category or host.os.type lose to process.name.
 *  - An event query takes up to GUARD_BITS guards (each found with the
 *    atoms of the previous ones set aside) and runs only when all hold.
 *    A sequence runs when an event can start it (first positive or leading
 *    missing position; one that starts at its first term takes up to three
 *    guards of that filter) or, while it holds partials, when an event can
 *    match one of its later filters or `until` (any filter, when the first
 *    is missing); a sample, when any filter can. A
 *    rule without a guard runs on every event.
 *  - Per event, each indexed field is read once, each value folded once;
 *    slices are looked up behind a small two-bit filter, and what a (field,
 *    value) marks is remembered in a small direct-mapped memo, since values
 *    repeat. The guard bits of the rules found are set in GUARD_BITS planes
 *    of one bit per rule, and the rules whose required bits all hold (a few
 *    ANDs per 64 rules) run in rule order.
 *
 * The index is conservative: a rule runs whenever it could match, and runs
 * its full program, which re-checks everything (tests/test_ruleset.c
 * compares the whole corpus with each rule's own matcher). An event a
 * sequence is not fed changes nothing a later result depends on: partials
 * are checked against maxspan when they advance, expiry by a later event's
 * timestamp drops the same partials, and without partials only a starting
 * event changes state. A sequence whose results can come out when time
 * passes (trailing missing clause or pipes, with maxspan) sees every event
 * while it holds partials. Event order is checked on every event when the
 * set holds a sequence.
 *
 * Plain event queries (no pipes) run straight on one VM state shared by the
 * scanner; the others keep their own matcher. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <time.h>
#include <string.h>

#include "ruleset.h"

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
    eq_arena_init(&rs->arena, rs->alloc);
    return EQLITE_OK;
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
    eq_rule_index_free(rs);
    eq_arena_free(&rs->arena);
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
    rule r = {prog, copy_label(rs->alloc, name), copy_label(rs->alloc, id), prog->category, is_streaming(prog),
              prog->kind == Q_SEQUENCE, prog->nterms ? prog->terms[0].filter_pc : 0, NULL};
    r.entry = prog->code + r.filter_pc;
    if (!r.name || !r.id || !grow_rules(rs)) {
        eqlite_program_free(prog);
        eq_free(rs->alloc, r.name);
        eq_free(rs->alloc, r.id);
        return EQLITE_ENOMEM;
    }
    rs->rules[rs->nrules++] = r;
    return EQLITE_OK;
}

bool eq_rule_list_append(const eqlite_allocator *alloc, rule_list *l, uint32_t value)
{
    if (l->n && l->items[l->n - 1] == value) /* rules are listed in order: no repeats */
        return true;
    /* lists grow by doubling; capacity is implied by n (powers of two) */
    if ((l->n & (l->n - 1)) == 0) {
        uint32_t *grown = eq_realloc(alloc, l->items, (l->n ? l->n * 2 : 1) * sizeof *l->items);
        if (!grown)
            return false;
        l->items = grown;
    }
    l->items[l->n++] = value;
    return true;
}

eqlite_status eqlite_ruleset_finish(eqlite_ruleset *rs)
{
    if (!rs)
        return EQLITE_EMISUSE;
    if (rs->finished)
        return EQLITE_OK;
    const char *cf = rs->schema->category_field;
    rs->category_field = cf ? eq_schema_find(rs->schema, cf, strlen(cf)) : -1;
    for (uint32_t k = 0; k < rs->nrules; k++)
        rs->has_sequence |= rs->rules[k].sequence;
    eqlite_status st = eq_rule_index_build(rs);
    if (st != EQLITE_OK) {
        eq_rule_index_free(rs);
        return st;
    }
    rs->finished = true;
    return EQLITE_OK;
}

size_t eqlite_ruleset_count(const eqlite_ruleset *rs) { return rs ? rs->nrules : 0; }

void eq_rule_info(const eqlite_ruleset *rs, uint32_t k, eqlite_rule_info *out)
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
    eq_rule_info(rs, (uint32_t)index, out);
    return EQLITE_OK;
}
