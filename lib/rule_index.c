/* rule_index.c: the guard index of a ruleset, read from the rules' own
 * bytecode (atoms, guards, probes, slots and the bitmaps the scanner reads);
 * the design is described at the top of ruleset.c. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <time.h>
#include <string.h>

#include "ruleset.h"

static void free_slots(eqlite_ruleset *rs)
{
    for (uint32_t k = 0; rs->slots && k <= rs->mask; k++) {
        eq_free(rs->alloc, rs->slots[k].rules.items);
        eq_free(rs->alloc, rs->slots[k].rules.bits);
    }
    eq_free(rs->alloc, rs->slots);
    rs->slots = NULL;
}

void eq_rule_index_free(eqlite_ruleset *rs)
{
    free_slots(rs);
    for (uint32_t k = 0; k < rs->nprobes; k++) {
        eq_free(rs->alloc, rs->probes[k].present.items);
        eq_free(rs->alloc, rs->probes[k].present.bits);
        eq_free(rs->alloc, rs->probes[k].needles);
        eq_free(rs->alloc, rs->probes[k].needle_starts);
    }
    eq_free(rs->alloc, rs->always.bits);
    rs->always.bits = NULL;
    eq_free(rs->alloc, rs->clocked.items);
    rs->clocked = (rule_list){0};
    eq_free(rs->alloc, rs->tags);
    rs->tags = NULL;
    eq_free(rs->alloc, rs->bloom);
    rs->bloom = NULL;
    eq_free(rs->alloc, rs->probes);
    eq_free(rs->alloc, rs->active);
    eq_free(rs->alloc, rs->groups);
    rs->groups = NULL;
    rs->ngroups = 0;
    eq_free(rs->alloc, rs->group_of);
    rs->group_of = NULL;
    rs->ngroup_fields = 0;
    eq_free(rs->alloc, rs->always.items);
    eq_free(rs->alloc, rs->required);
    rs->required = NULL;
    rs->slots = NULL;
    rs->probes = NULL;
    rs->active = NULL;
    rs->always.items = NULL;
    rs->nprobes = rs->capprobes = rs->nactive = 0;
    rs->always.n = 0;
    eq_arena_free(&rs->arena);
    eq_arena_init(&rs->arena, rs->alloc);
}

/* ---- guards read from the bytecode ---- */

/* One indexed value: the test can be true only if the probe reads it. */
typedef struct key {
    uint32_t probe;
    const char *s;
    uint32_t n;
} key;

/* One usable test: one of its keys holds (PROBE_PRESENT keys: the field has
 * a value). */
typedef struct atom {
    key *keys;
    uint32_t n;
    double cost;
    bool join_key; /* a sequence's join key field is there (no test reads it) */
} atom;

/* The guard of one point of a filter's code: a set of atoms, at least one
 * of which holds on every path from that point to a true return. */
typedef struct gnode {
    double cost; /* INFINITY: some path can return true past no usable test */
    uint32_t first, n; /* range of the builder's pool */
    uint8_t state;     /* 0 unsolved, 1 in progress, 2 solved */
} gnode;

typedef struct builder {
    eqlite_ruleset *rs;
    eq_arena tmp; /* key arrays */
    atom *atoms;
    uint32_t natoms, capatoms;
    uint32_t *atom_at; /* per instruction of the current program: atom + 1, 0 none */
    uint32_t *pool;    /* atom lists of the solved nodes */
    uint32_t npool, cappool;
    gnode *memo;       /* per (instruction, acc set) */
    uint32_t *stamp;   /* per atom: dedupes unions */
    bool *banned;      /* per atom: taken by an earlier guard of the rule */
    uint32_t gen;
    bool nomem;
} builder;

enum { ACC_T = 1, ACC_F = 2, ACC_N = 4, ACC_ALL = 7 };

static bool is_fused_test(uint8_t op)
{
    return op == OP_F_IS_NULL || op == OP_F_NOT_NULL || op == OP_F_STR_EQ || op == OP_F_STR_EQ_I ||
           op == OP_F_MATCH || op == OP_F_CMP || op == OP_F_IN;
}

static uint32_t probe_for(builder *b, uint32_t field, uint32_t mode, uint32_t affix, uint32_t off, uint32_t len)
{
    eqlite_ruleset *rs = b->rs;
    for (uint32_t k = 0; k < rs->nprobes; k++) {
        const probe *p = &rs->probes[k];
        if (p->field == field && p->mode == mode && p->affix == affix && p->off == off && p->len == len)
            return k;
    }
    if (rs->nprobes == rs->capprobes) {
        uint32_t cap = rs->capprobes ? rs->capprobes * 2 : 16;
        probe *p = eq_realloc(rs->alloc, rs->probes, cap * sizeof *p);
        if (!p) {
            b->nomem = true;
            return UINT32_MAX;
        }
        rs->probes = p;
        rs->capprobes = cap;
    }
    rs->probes[rs->nprobes] = (probe){field, (uint8_t)mode, (uint8_t)affix, (uint8_t)off, (uint8_t)len, 0, false, {0}, NULL, 0, NULL};
    return rs->nprobes++;
}

static bool key_at(builder *b, key *out, uint32_t field, uint32_t mode, uint32_t affix, uint32_t off, uint32_t len,
                   const char *s, uint32_t n)
{
    out->probe = probe_for(b, field, mode, affix, off, len);
    out->s = s;
    out->n = n;
    return out->probe != UINT32_MAX;
}

static bool is_wild(char c) { return c == '*' || c == '?'; }

/* Slice lengths come in a few sizes so that an event reads few slices. */
static uint32_t prefix_len(uint32_t n) { return n >= 24 ? 24 : n >= 12 ? 12 : n >= 6 ? 6 : n >= 3 ? 3 : 0; }
static uint32_t suffix_len(uint32_t n) { return n >= 12 ? 12 : n >= 8 ? 8 : n >= 5 ? 5 : n >= 3 ? 3 : 0; }

/* A literal this long is worth a search through the whole value when the
 * pattern's ends give no key or only an extension (".exe": on most values). */
#define MIN_RUN_NEEDLE 8

/* The key of a wildcard pattern (folded like the set): its trailing
 * literal, or the literal after its leading '?'s, or (when the trailing one
 * is an extension or neither is long enough) its longest literal anywhere,
 * which every match holds as contiguous bytes; false if none is long enough
 * to be worth a key. A short prefix stays: a search costs more per value. */
static bool pattern_key(builder *b, key *out, uint32_t field, uint32_t mode, const char *k, uint32_t kn)
{
    uint32_t off = 0, lead = 0, trail = 0, run = 0, run_at = 0;
    while (off < kn && k[off] == '?')
        off++;
    while (off + lead < kn && !is_wild(k[off + lead]))
        lead++;
    while (trail < kn && !is_wild(k[kn - 1 - trail]))
        trail++;
    for (uint32_t i = 0, n = 0; i <= kn; i++) { /* the longest run of literal bytes */
        if (i < kn && !is_wild(k[i])) {
            n++;
            continue;
        }
        if (n > run) {
            run = n;
            run_at = i - n;
        }
        n = 0;
    }
    if (off + lead == kn) /* no '*' after the '?'s: a fixed-length pattern */
        trail = lead;
    bool suffix = trail >= 3 && (trail >= lead || trail >= 8);
    bool prefix = !suffix && lead >= 3 && off <= MAX_SKIP;
    bool short_slice = suffix ? suffix_len(trail) < 5 : !prefix;
    if (short_slice && run >= MIN_RUN_NEEDLE)
        return key_at(b, out, field, mode, CONTAINS, 0, 0, k + run_at, run);
    if (suffix) {
        uint32_t l = suffix_len(trail);
        return key_at(b, out, field, mode, SUFFIX, 0, l, k + kn - l, l);
    }
    if (prefix) {
        uint32_t l = prefix_len(lead);
        return key_at(b, out, field, mode, PREFIX, off, l, k + off, l);
    }
    return false;
}

/* Needles shorter than this are in too many values to be worth a search. */
#define MIN_NEEDLE 3

/* The keys of a regex: the literals its matches start with (after up to
 * MAX_SKIP characters), as prefix slices. */
static bool regex_keys(builder *b, const eq_regex *re, uint32_t field, atom *out)
{
    const eq_regex_prefix *prefixes;
    size_t n = eq_regex_required_prefixes(re, &prefixes);
    for (size_t i = 0; i < n; i++) {
        const eq_regex_prefix *x = &prefixes[i];
        uint32_t l = prefix_len(x->n);
        if (l < 3 || x->skip > MAX_SKIP ||
            !key_at(b, &out->keys[out->n++], field, x->folded ? PROBE_FOLD : PROBE_EXACT, PREFIX, x->skip, l, x->s, l))
            return false;
    }
    return n > 0;
}

/* The keys of a pattern set: a "*x*" pattern's key is x, searched for in
 * the whole value; a regex's, the literals its matches start with. */
static bool set_keys(builder *b, const eq_patterns *p, uint32_t field, atom *out)
{
    for (uint32_t i = 0; i < p->contains.n; i++)
        if (p->contains.items[i].n < MIN_NEEDLE)
            return false;
    uint32_t n = p->exact.n + p->prefix.n + p->suffix.n + p->contains.n + p->globs.n +
                 p->nregex * EQ_REGEX_PREFIXES_MAX;
    uint32_t mode = p->caseless ? PROBE_FOLD : PROBE_EXACT;
    out->keys = eq_arena_alloc(&b->tmp, (n ? n : 1) * sizeof *out->keys);
    if (!out->keys) {
        b->nomem = true;
        return false;
    }
    for (uint32_t i = 0; i < p->contains.n; i++)
        if (!key_at(b, &out->keys[out->n++], field, mode, CONTAINS, 0, 0, p->contains.items[i].s, p->contains.items[i].n))
            return false;
    for (uint32_t i = 0; i < p->exact.n; i++)
        if (!key_at(b, &out->keys[out->n++], field, mode, WHOLE, 0, 0, p->exact.items[i].s, p->exact.items[i].n))
            return false;
    for (uint32_t i = 0; i < p->prefix.n; i++) {
        eq_str e = p->prefix.items[i];
        uint32_t l = prefix_len(e.n);
        if (l < 3 || !key_at(b, &out->keys[out->n++], field, mode, PREFIX, 0, l, e.s, l))
            return false;
    }
    for (uint32_t i = 0; i < p->suffix.n; i++) {
        eq_str e = p->suffix.items[i];
        uint32_t l = suffix_len(e.n);
        if (l < 3 || !key_at(b, &out->keys[out->n++], field, mode, SUFFIX, 0, l, e.s + e.n - l, l))
            return false;
    }
    for (uint32_t i = 0; i < p->globs.n; i++)
        if (!pattern_key(b, &out->keys[out->n++], field, mode, p->globs.items[i].s, p->globs.items[i].n))
            return false;
    for (uint32_t i = 0; i < p->nregex; i++)
        if (!regex_keys(b, p->regexes[i], field, out))
            return false;
    return out->n > 0;
}

/* The keys of an == or `in` test against numbers or booleans (nulls skipped:
 * they equal nothing); false if a constant is of another kind (a string
 * compares in its own ways) or none is left. */
static bool number_keys(builder *b, uint32_t field, const eqlite_value *consts, uint32_t n, atom *out)
{
    out->keys = eq_arena_alloc(&b->tmp, (n ? n : 1) * sizeof *out->keys);
    if (!out->keys) {
        b->nomem = true;
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        char bytes[9];
        uint32_t len = number_key(&consts[i], bytes);
        if (!len && consts[i].kind == EQLITE_NULL)
            continue;
        char *s = len ? eq_arena_alloc(&b->rs->arena, len) : NULL;
        if (len && !s)
            b->nomem = true;
        if (!s)
            return false;
        memcpy(s, bytes, len);
        if (!key_at(b, &out->keys[out->n++], field, PROBE_NUMBER, WHOLE, 0, 0, s, len))
            return false;
    }
    return out->n > 0;
}

/* The keys of a fused test: the test can be true only when the field (any
 * element) reads as one of them. */
static bool values_atom(builder *b, const eqlite_program *prog, const eq_instr *in, atom *out)
{
    switch (in->op) {
    case OP_F_STR_EQ:
    case OP_F_STR_EQ_I: {
        const eqlite_value *k = &prog->consts[in->b];
        if (k->kind != EQLITE_STRING)
            return false;
        bool fold = in->op == OP_F_STR_EQ_I;
        out->keys = eq_arena_alloc(&b->tmp, sizeof *out->keys);
        if (!out->keys) {
            b->nomem = true;
            return false;
        }
        out->n = 1;
        if (!fold)
            return key_at(b, out->keys, in->a, PROBE_EXACT, WHOLE, 0, 0, k->u.s, k->len);
        /* the VM compares folded forms: index fold(constant) */
        size_t need = eq_fold(k->u.s, k->len, NULL, 0);
        char *s = eq_arena_alloc(&b->rs->arena, need + 1);
        if (!s) {
            b->nomem = true;
            return false;
        }
        eq_fold(k->u.s, k->len, s, need);
        return key_at(b, out->keys, in->a, PROBE_FOLD, WHOLE, 0, 0, s, (uint32_t)need);
    }
    case OP_F_MATCH:
        /* caseless sets hold folded literals and match fold(subject) */
        return set_keys(b, prog->patterns[in->b], in->a, out);
    case OP_F_CMP: /* == a number or boolean (not as dates, versions or addresses) */
        return in->x == 0 && in->y == 0 && number_keys(b, in->a, &prog->consts[in->b], 1, out);
    case OP_F_IN: /* a list without strings (a null in it matches nothing) */
        return number_keys(b, in->a, &prog->consts[in->b], in->y, out);
    default:
        return false;
    }
}

/* The atom a fused test makes, if it is usable: one of its keys, or (any
 * test but F_IS_NULL) the field's presence. */
static bool test_atom(builder *b, const eqlite_program *prog, const eq_instr *in, atom *out)
{
    memset(out, 0, sizeof *out);
    if (in->a == EQ_TS_FIELD || in->op == OP_F_IS_NULL)
        return false;
    if (values_atom(b, prog, in, out))
        return true;
    if (b->nomem)
        return false;
    /* every other fused test is true only for an element that is there */
    out->keys = eq_arena_alloc(&b->tmp, sizeof *out->keys);
    if (!out->keys) {
        b->nomem = true;
        return false;
    }
    out->n = 1;
    return key_at(b, out->keys, in->a, PROBE_PRESENT, WHOLE, 0, 0, NULL, 0);
}



static bool atom_push(builder *b, const atom *a, uint32_t pc)
{
    if (b->natoms == b->capatoms) {
        uint32_t cap = b->capatoms ? b->capatoms * 2 : 256;
        atom *g = eq_realloc(b->rs->alloc, b->atoms, cap * sizeof *g);
        if (!g) {
            b->nomem = true;
            return false;
        }
        b->atoms = g;
        b->capatoms = cap;
    }
    b->atoms[b->natoms++] = *a;
    b->atom_at[pc] = b->natoms;
    return true;
}

/* A sequence's first term starts a partial only for an event whose required
 * join keys hold a value (keys.c drops the event otherwise), so each such
 * key field's presence is an atom of the start. It is recorded at the key's
 * load, which no test reads. */
static void join_key_atoms(builder *b, const eqlite_program *prog)
{
    if (prog->kind != Q_SEQUENCE || !prog->nterms || prog->terms[0].missing)
        return;
    const eq_prog_term *t = &prog->terms[0];
    if (t->keys_pc + t->nkeys >= prog->ncode || prog->code[t->keys_pc + t->nkeys].op != OP_RET)
        return;
    for (uint32_t k = 0; k < t->nkeys && !b->nomem; k++) {
        const eq_instr *in = &prog->code[t->keys_pc + k];
        if ((t->key_optional && t->key_optional[k]) || in->op != OP_LOAD_FIELD || in->a == EQ_TS_FIELD)
            continue;
        atom a = {eq_arena_alloc(&b->tmp, sizeof *a.keys), 1, 0, true};
        if (!a.keys) {
            b->nomem = true;
            return;
        }
        if (key_at(b, a.keys, in->a, PROBE_PRESENT, WHOLE, 0, 0, NULL, 0))
            atom_push(b, &a, t->keys_pc + k);
    }
}

/* Records the atoms of a program's usable tests in b->atom_at. */
static void program_atoms(builder *b, const eqlite_program *prog)
{
    for (uint32_t pc = 0; pc < prog->ncode && !b->nomem; pc++) {
        atom a;
        b->atom_at[pc] = 0;
        if (is_fused_test(prog->code[pc].op) && test_atom(b, prog, &prog->code[pc], &a) && !atom_push(b, &a, pc))
            return;
    }
    join_key_atoms(b, prog);
}

/* The cheapest atom of a sequence's first-term join keys (+1), 0 if none. */
static uint32_t cheapest_join_key(const builder *b, const eqlite_program *prog, const uint32_t *atom_at)
{
    if (prog->kind != Q_SEQUENCE || !prog->nterms || prog->terms[0].missing)
        return 0;
    const eq_prog_term *t = &prog->terms[0];
    uint32_t best = 0;
    for (uint32_t k = 0; k < t->nkeys && t->keys_pc + k < prog->ncode; k++) {
        uint32_t a = atom_at[t->keys_pc + k];
        if (a && b->atoms[a - 1].join_key && (!best || b->atoms[a - 1].cost < b->atoms[best - 1].cost))
            best = a;
    }
    return best;
}

static bool pool_push(builder *b, uint32_t v)
{
    if (b->npool == b->cappool) {
        uint32_t cap = b->cappool ? b->cappool * 2 : 1024;
        uint32_t *g = eq_realloc(b->rs->alloc, b->pool, cap * sizeof *g);
        if (!g) {
            b->nomem = true;
            return false;
        }
        b->pool = g;
        b->cappool = cap;
    }
    b->pool[b->npool++] = v;
    return true;
}

static const gnode INF_NODE = {INFINITY, 0, 0, 2};
static const gnode EMPTY_NODE = {0, 0, 0, 2};

/* Either guard (both are needed: paths through either). */
static gnode guard_union(builder *b, gnode x, gnode y)
{
    if (isinf(x.cost) || isinf(y.cost))
        return INF_NODE;
    if (!y.n)
        return x;
    if (!x.n)
        return y;
    gnode r = {0, b->npool, 0, 2};
    if (++b->gen == 0) {
        memset(b->stamp, 0, b->natoms * sizeof *b->stamp);
        b->gen = 1;
    }
    for (int side = 0; side < 2; side++) {
        const gnode *g = side ? &y : &x;
        for (uint32_t i = 0; i < g->n; i++) {
            uint32_t a = b->pool[g->first + i];
            if (b->stamp[a] == b->gen)
                continue;
            b->stamp[a] = b->gen;
            if (!pool_push(b, a))
                return INF_NODE;
            r.cost += b->atoms[a].cost;
        }
    }
    r.n = b->npool - r.first;
    return r;
}

/* The guard from instruction pc on, entered with acc in the set `acc`.
 * Jumps go forward (the one loop, NEXT_ELEM's, re-runs its condition, so
 * it is read as falling through with any acc); anything unexpected makes the
 * point unguardable, which only costs speed. */
static gnode solve(builder *b, const eqlite_program *prog, uint32_t pc, unsigned acc, unsigned depth)
{
    if (!acc)
        return EMPTY_NODE; /* no path */
    if (pc >= prog->ncode || depth > 100000 || b->nomem)
        return INF_NODE;
    gnode *memo = &b->memo[pc * 8 + acc];
    if (memo->state == 2)
        return *memo;
    if (memo->state == 1)
        return INF_NODE;
    memo->state = 1;
    const eq_instr *in = &prog->code[pc];
    gnode r;
    switch ((eq_opcode)in->op) {
    case OP_RET:
        r = (acc & ACC_T) ? INF_NODE : EMPTY_NODE;
        break;
    case OP_JUMP:
        r = in->a > pc ? solve(b, prog, in->a, acc, depth + 1) : INF_NODE;
        break;
    case OP_JF:
    case OP_JNT:
    case OP_JT: {
        unsigned taken = in->op == OP_JF ? ACC_F : in->op == OP_JNT ? (ACC_F | ACC_N) : ACC_T;
        if (in->a <= pc) {
            r = INF_NODE;
            break;
        }
        gnode x = solve(b, prog, in->a, acc & taken, depth + 1);
        gnode y = solve(b, prog, pc + 1, acc & ~taken & ACC_ALL, depth + 1);
        r = guard_union(b, x, y);
        break;
    }
    case OP_SET_ACC:
        r = solve(b, prog, pc + 1, in->x == 1 ? ACC_T : in->x == 0 ? ACC_F : ACC_N, depth + 1);
        break;
    case OP_NOT:
        r = solve(b, prog, pc + 1, ((acc & ACC_T) ? ACC_F : 0) | ((acc & ACC_F) ? ACC_T : 0) | (acc & ACC_N),
                  depth + 1);
        break;
    /* the stack, not acc */
    case OP_PUSH_ACC:
    case OP_LOAD_FIELD:
    case OP_LOAD_ELEM:
    case OP_LOAD_TS:
    case OP_LOAD_CONST:
    case OP_ARITH:
    case OP_NEG:
    case OP_CALL:
        r = solve(b, prog, pc + 1, acc, depth + 1);
        break;
    /* acc from the stack: anything */
    case OP_AND3:
    case OP_OR3:
    case OP_TRUTH:
    case OP_CMP:
    case OP_IS_NULL:
    case OP_NOT_NULL:
    case OP_IN:
    case OP_MATCH:
    case OP_NEXT_ELEM:
        r = solve(b, prog, pc + 1, ACC_ALL, depth + 1);
        break;
    case OP_F_IS_NULL:
    case OP_F_NOT_NULL:
    case OP_F_STR_EQ:
    case OP_F_STR_EQ_I:
    case OP_F_MATCH:
    case OP_F_CMP:
    case OP_F_IN: {
        gnode t = solve(b, prog, pc + 1, ACC_T, depth + 1);
        gnode f = solve(b, prog, pc + 1, ACC_F | ACC_N, depth + 1);
        uint32_t a = b->atom_at[pc];
        if (a && !b->banned[a - 1] && b->atoms[a - 1].cost < t.cost) { /* this test instead of the guard after it */
            t = (gnode){b->atoms[a - 1].cost, b->npool, 1, 2};
            if (!pool_push(b, a - 1))
                t = INF_NODE;
        }
        r = guard_union(b, t, f);
        break;
    }
    default: /* an opcode this reader does not know */
        r = INF_NODE;
        break;
    }
    b->memo[pc * 8 + acc] = r;
    b->memo[pc * 8 + acc].state = 2;
    return r;
}

/* A sequence whose results can come out on any event, when time passes:
 * with maxspan, an awaiting candidate (trailing missing clause) is emitted
 * once maxspan has gone by, and pipes hold results in first-event order
 * until older partials expire. While it holds partials it sees every event,
 * so that its results come with the same event as from its own matcher;
 * with none, an event its guards reject changes nothing. */
bool eq_rule_is_clocked(const eqlite_program *prog)
{
    return prog->kind == Q_SEQUENCE && prog->has_maxspan &&
           (prog->npipes > 0 || (prog->nterms && prog->terms[prog->nterms - 1].missing));
}

/* Lists rule k under the guard of each of its filters (every position and
 * `until`); false if some filter has none (the rule runs on every event). */
static void require(eqlite_ruleset *rs, uint32_t id)
{
    rs->required[id / 64] |= UINT64_C(1) << (id % 64);
}

/* Lists guard bit `id` under every key of guard g. */
static void list_guard(builder *b, gnode g, uint32_t id)
{
    eqlite_ruleset *rs = b->rs;
    for (uint32_t i = 0; i < g.n && !b->nomem; i++) {
        const atom *a = &b->atoms[b->pool[g.first + i]];
        for (uint32_t v = 0; v < a->n; v++) {
            const key *e = &a->keys[v];
            probe *p = &rs->probes[e->probe];
            p->used = true;
            if (p->mode == PROBE_PRESENT || (p->affix == PREFIX && p->off)) {
                if (!eq_rule_list_append(rs->alloc, &p->present, id))
                    b->nomem = true;
                if (p->mode == PROBE_PRESENT)
                    continue;
            }
            guard_slot *slot = find_slot(rs->slots, rs->mask, slot_hash(e->probe, e->s, e->n), e->probe, e->s, e->n);
            if (!eq_rule_list_append(rs->alloc, &slot->rules, id))
                b->nomem = true;
        }
    }
}

/* Lists rule k under the guards of its filters; false if some filter has
 * none (the rule then runs on every event). A sequence or sample takes the
 * union of its filters' cheapest guards (guard bit 0). An event query takes
 * up to GUARD_BITS guards, each a necessary condition found with the atoms
 * of the guards before it set aside: it runs only when all of them hold. */
static bool guard_rule(builder *b, uint32_t k, uint32_t *atom_at)
{
    eqlite_ruleset *rs = b->rs;
    const eqlite_program *prog = rs->rules[k].program;
    if (!prog->nterms)
        return false;
    if (eq_rule_is_clocked(prog) && !eq_rule_list_append(rs->alloc, &rs->clocked, k)) {
        b->nomem = true;
        return false;
    }
    size_t cells = (size_t)prog->ncode * 8;
    b->memo = eq_malloc(rs->alloc, cells * sizeof *b->memo);
    b->atom_at = atom_at;
    if (!b->memo) {
        b->nomem = true;
        return false;
    }
    memset(b->memo, 0, cells * sizeof *b->memo);
    bool guarded = true;
    /* A sequence without partials changes only on an event that can start
     * one: its first positive position, or a leading missing one (a later
     * position, a middle or trailing missing one and `until` act on
     * partials). So `start` guards bit 0 (and bits 2 and 3 narrow it when
     * it is the first term), and bit 1 runs the rule while it holds
     * partials (the scanner's `live` bits): the union of the filters after
     * a narrowed first term (whose events set bits 0, 2 and 3), else of
     * all filters. */
    bool sequence = prog->kind == Q_SEQUENCE;
    bool single = prog->nterms == 1 && !prog->has_until;
    bool narrows = single || (sequence && !prog->terms[0].missing);
    gnode all = EMPTY_NODE, start = EMPTY_NODE, later = EMPTY_NODE;
    bool in_start = sequence;
    for (uint32_t t = 0; t <= prog->nterms && guarded; t++) {
        uint32_t pc;
        if (t < prog->nterms)
            pc = prog->terms[t].filter_pc;
        else if (prog->has_until)
            pc = prog->until.filter_pc;
        else
            break;
        gnode g = solve(b, prog, pc, ACC_ALL, 0);
        if (isinf(g.cost) || !g.n) /* no guard, or no path to true: run it anyway */
            guarded = false;
        else
            all = guard_union(b, all, g);
        if (guarded && t > 0)
            later = guard_union(b, later, g);
        if (in_start && guarded)
            start = guard_union(b, start, g);
        if (t < prog->nterms && !prog->terms[t].missing)
            in_start = false;
    }
    if (guarded && !b->nomem) {
        list_guard(b, sequence ? start : all, guard_bit(rs, k, 0));
        require(rs, guard_bit(rs, k, 0));
        if (sequence)
            list_guard(b, narrows ? later : all, guard_bit(rs, k, 1));
    }
    /* More guards narrow one filter: an event query's, or the first term
     * of a sequence that starts there (bits 2 and 3; bit 1 is the union) */
    gnode last = sequence ? start : all;
    /* a start join key takes the last bit if it is cheaper than the
     * filter's guard there, or the first bit the filter leaves */
    uint32_t key = guarded && narrows ? cheapest_join_key(b, prog, atom_at) : 0;
    for (uint32_t gi = sequence ? 2 : 1; guarded && narrows && gi < GUARD_BITS && !b->nomem; gi++) {
        for (uint32_t i = 0; i < last.n; i++)
            b->banned[b->pool[last.first + i]] = true;
        memset(b->memo, 0, cells * sizeof *b->memo);
        last = solve(b, prog, prog->terms[0].filter_pc, ACC_ALL, 0);
        bool none = isinf(last.cost) || !last.n;
        if (key && (none || (gi + 1 == GUARD_BITS && b->atoms[key - 1].cost < last.cost))) {
            last = (gnode){b->atoms[key - 1].cost, b->npool, 1, 2};
            if (!pool_push(b, key - 1))
                break;
            none = false;
            key = 0;
        }
        if (none) /* any further guard only narrows (its lookups are made anyway) */
            break;
        list_guard(b, last, guard_bit(rs, k, gi));
        require(rs, guard_bit(rs, k, gi));
    }
    for (uint32_t pc = 0; pc < prog->ncode; pc++)
        if (atom_at[pc])
            b->banned[atom_at[pc] - 1] = false;
    eq_free(rs->alloc, b->memo);
    b->memo = NULL;
    b->atom_at = NULL;
    b->npool = 0;
    return guarded;
}

/* Lists this long, with an item per two words of their span or more,
 * become bitmaps of that span (mostly one guard plane): a few wide ORs
 * instead of scattered bits. */
#define BITS_MIN_ITEMS 16

static bool to_bits(eqlite_ruleset *rs, rule_list *l)
{
    if (l->n < BITS_MIN_ITEMS)
        return true;
    uint32_t lo = UINT32_MAX, hi = 0; /* items ascend per plane only */
    for (uint32_t i = 0; i < l->n; i++) {
        lo = l->items[i] < lo ? l->items[i] : lo;
        hi = l->items[i] > hi ? l->items[i] : hi;
    }
    uint32_t first = lo >> 6, span = (hi >> 6) - first + 1;
    if (span > 2 * l->n)
        return true;
    l->bits = eq_malloc(rs->alloc, span * sizeof *l->bits);
    if (!l->bits)
        return false;
    memset(l->bits, 0, span * sizeof *l->bits);
    for (uint32_t i = 0; i < l->n; i++)
        l->bits[(l->items[i] >> 6) - first] |= UINT64_C(1) << (l->items[i] & 63);
    l->first_word = first;
    l->nbit_words = span;
    return true;
}

eqlite_status eq_rule_index_build(eqlite_ruleset *rs)
{
    builder b = {0};
    b.rs = rs;
    eq_arena_init(&b.tmp, rs->alloc);
    eqlite_status st = EQLITE_ENOMEM;
    uint32_t **maps = eq_malloc(rs->alloc, (rs->nrules ? rs->nrules : 1) * sizeof *maps);
    if (!maps)
        return EQLITE_ENOMEM;
    memset(maps, 0, (rs->nrules ? rs->nrules : 1) * sizeof *maps);
    /* 1. the atoms of every program */
    for (uint32_t k = 0; k < rs->nrules && !b.nomem; k++) {
        const eqlite_program *prog = rs->rules[k].program;
        b.atom_at = maps[k] = eq_malloc(rs->alloc, (prog->ncode ? prog->ncode : 1) * sizeof *b.atom_at);
        if (!b.atom_at)
            goto done;
        program_atoms(&b, prog);
    }
    b.atom_at = NULL;
    if (b.nomem)
        goto done;
    /* 2. the value table, counting distinct values per probe */
    size_t nvalues = 0;
    for (uint32_t k = 0; k < b.natoms; k++)
        nvalues += b.atoms[k].n;
    uint32_t size = 16;
    while (size < nvalues * 2)
        size *= 2;
    rs->slots = eq_malloc(rs->alloc, size * sizeof *rs->slots);
    if (!rs->slots)
        goto done;
    /* zeroed before anything can fail: free_slots walks every slot */
    memset(rs->slots, 0, size * sizeof *rs->slots);
    rs->mask = size - 1;
    b.stamp = eq_malloc(rs->alloc, (b.natoms ? b.natoms : 1) * sizeof *b.stamp);
    b.banned = eq_malloc(rs->alloc, (b.natoms ? b.natoms : 1) * sizeof *b.banned);
    rs->plane_words = (rs->nrules + 63) / 64;
    rs->nwords = GUARD_BITS * rs->plane_words;
    rs->required = eq_malloc(rs->alloc, (rs->nwords ? rs->nwords : 1) * sizeof *rs->required);
    if (!b.stamp || !b.banned || !rs->required)
        goto done;
    memset(b.banned, 0, (b.natoms ? b.natoms : 1) * sizeof *b.banned);
    memset(rs->required, 0, (rs->nwords ? rs->nwords : 1) * sizeof *rs->required);
    memset(b.stamp, 0, (b.natoms ? b.natoms : 1) * sizeof *b.stamp);
    for (uint32_t k = 0; k < b.natoms; k++) {
        const atom *a = &b.atoms[k];
        for (uint32_t v = 0; v < a->n; v++) {
            const key *e = &a->keys[v];
            if (rs->probes[e->probe].mode == PROBE_PRESENT)
                continue;
            uint64_t h = slot_hash(e->probe, e->s, e->n);
            guard_slot *slot = find_slot(rs->slots, rs->mask, h, e->probe, e->s, e->n);
            if (!slot->s) {
                *slot = (guard_slot){h, e->s ? e->s : "", e->n, e->probe, {0}};
                rs->probes[e->probe].ndistinct++;
            }
        }
    }
    /* selectivity, from the corpus itself: a value covers its share of the
     * values the rules test the field for (either case mode; smoothed, as
     * events carry values no rule names); presence costs more for a field
     * that many tests read (process.name, user.name: on most events) */
    uint32_t np = rs->nprobes ? rs->nprobes : 1;
    uint32_t *distinct = eq_malloc(rs->alloc, 3 * np * sizeof *distinct);
    if (!distinct)
        goto done;
    uint32_t *raw = distinct + np, *refs = raw + np, max_refs = 1;
    memset(raw, 0, np * sizeof *raw);
    for (uint32_t k = 0; k < b.natoms; k++) /* how many tests read the field */
        raw[b.atoms[k].keys[0].probe] += !b.atoms[k].join_key;
    for (uint32_t q = 0; q < rs->nprobes; q++) {
        distinct[q] = refs[q] = 0;
        for (uint32_t r = 0; r < rs->nprobes; r++) {
            if (rs->probes[r].field == rs->probes[q].field) {
                distinct[q] += rs->probes[r].ndistinct;
                refs[q] += raw[r];
            }
        }
        max_refs = max_refs > refs[q] ? max_refs : refs[q];
    }
    /* how many tests name each value: one many rules test (a category, an
     * OS, an event type) classifies events and is on many of them */
    uint32_t *named = eq_malloc(rs->alloc, (rs->mask + 1) * sizeof *named);
    if (!named) {
        eq_free(rs->alloc, distinct);
        goto done;
    }
    memset(named, 0, (rs->mask + 1) * sizeof *named);
    for (uint32_t k = 0; k < b.natoms; k++)
        for (uint32_t v = 0; v < b.atoms[k].n; v++) {
            const key *e = &b.atoms[k].keys[v];
            if (rs->probes[e->probe].mode != PROBE_PRESENT)
                named[find_slot(rs->slots, rs->mask, slot_hash(e->probe, e->s, e->n), e->probe, e->s, e->n) - rs->slots]++;
        }
    for (uint32_t k = 0; k < b.natoms; k++) {
        atom *a = &b.atoms[k];
        a->cost = 0;
        for (uint32_t v = 0; v < a->n; v++) {
            const key *e = &a->keys[v];
            uint32_t q = e->probe;
            const probe *p = &rs->probes[q];
            double c;
            if (p->mode == PROBE_PRESENT) {
                c = 0.3 + 0.4 * (double)refs[q] / (double)max_refs;
            } else {
                uint32_t by = named[find_slot(rs->slots, rs->mask, slot_hash(q, e->s, e->n), q, e->s, e->n) - rs->slots];
                double share = (double)by / (double)(rs->nrules ? rs->nrules : 1);
                c = 1.0 / (double)(distinct[q] + 4);
                c = share > c ? share : c;
            }
            /* a slice is shared by many values: paths share their leading
             * directories, names their extension */
            if (p->affix == SUFFIX)
                c = p->len >= 8 ? 4 * c : p->len >= 5 ? 0.1 : 0.3;
            else if (p->affix == CONTAINS) /* anywhere in the value, and a search per event */
                c = a->keys[v].n >= 8 ? 0.2 : 0.4;
            else if (p->affix == PREFIX)
                c = p->len >= 12 ? 0.03 : 0.25;
            a->cost += c;
        }
    }
    eq_free(rs->alloc, named);
    eq_free(rs->alloc, distinct);
    /* 3. each rule under the guards of its filters */
    for (uint32_t k = 0; k < rs->nrules && !b.nomem; k++) {
        if (guard_rule(&b, k, maps[k])) {
            rs->nguarded++;
        } else if (!b.nomem) {
            if (!eq_rule_list_append(rs->alloc, &rs->always, guard_bit(rs, k, 0)))
                b.nomem = true;
            require(rs, guard_bit(rs, k, 0));
        }
    }
    if (b.nomem)
        goto done;
    /* long lists become bitmaps: one pass of ORs instead of scattered bits */
    for (uint32_t k = 0; k <= rs->mask && !b.nomem; k++)
        b.nomem = !to_bits(rs, &rs->slots[k].rules);
    for (uint32_t k = 0; k < rs->nprobes && !b.nomem; k++)
        b.nomem = !to_bits(rs, &rs->probes[k].present);
    if (b.nomem || !to_bits(rs, &rs->always))
        goto done;
    /* keep only the values some guard uses: a small table stays in cache */
    uint32_t used = 0;
    for (uint32_t k = 0; k <= rs->mask; k++)
        used += rs->slots[k].rules.n > 0;
    uint32_t small = 16;
    while (small < used * 2)
        small *= 2;
    guard_slot *kept = eq_malloc(rs->alloc, small * sizeof *kept);
    if (!kept)
        goto done;
    memset(kept, 0, small * sizeof *kept);
    for (uint32_t k = 0; k <= rs->mask; k++) {
        guard_slot *old = &rs->slots[k];
        if (!old->rules.n)
            continue;
        guard_slot *slot = find_slot(kept, small - 1, old->hash, old->probe, old->s, old->n);
        *slot = *old;
        old->rules = (rule_list){0};
    }
    free_slots(rs);
    rs->slots = kept;
    rs->mask = small - 1;
    rs->tags = eq_malloc(rs->alloc, (rs->mask + 1) * sizeof *rs->tags);
    if (!rs->tags)
        goto done;
    rs->bloom = eq_malloc(rs->alloc, (BLOOM_MASK + 1) / 8);
    if (!rs->bloom)
        goto done;
    memset(rs->bloom, 0, (BLOOM_MASK + 1) / 8);
    for (uint32_t k = 0; k <= rs->mask; k++) {
        uint64_t h = rs->slots[k].hash;
        rs->tags[k] = rs->slots[k].s ? ((uint32_t)(h >> 32) | 1) : 0;
        if (!rs->slots[k].s)
            continue;
        uint32_t b1 = (uint32_t)(h >> 18) & BLOOM_MASK, b2 = (uint32_t)(h >> 41) & BLOOM_MASK;
        rs->bloom[b1 >> 6] |= UINT64_C(1) << (b1 & 63);
        rs->bloom[b2 >> 6] |= UINT64_C(1) << (b2 & 63);
    }
    /* a CONTAINS probe searches for each of its values in turn */
    for (uint32_t k = 0; k <= rs->mask; k++) {
        if (!rs->slots[k].s || rs->probes[rs->slots[k].probe].affix != CONTAINS)
            continue;
        probe *p = &rs->probes[rs->slots[k].probe];
        uint32_t *grown = eq_realloc(rs->alloc, p->needles, (p->nneedles + 1) * sizeof *grown);
        if (!grown)
            goto done;
        p->needles = grown;
        p->needles[p->nneedles++] = k;
    }
    for (uint32_t k = 0; k < rs->nprobes; k++) {
        probe *p = &rs->probes[k];
        bool short_needle = false; /* none: MIN_NEEDLE, MIN_RUN_NEEDLE */
        for (uint32_t i = 0; i < p->nneedles; i++)
            short_needle |= rs->slots[p->needles[i]].n < 3;
        if (!p->nneedles || p->nneedles > NEEDLE_SCAN_MAX || short_needle)
            continue;
        p->needle_starts = eq_malloc(rs->alloc, NEEDLE_START_BITS / 8);
        if (!p->needle_starts)
            goto done;
        memset(p->needle_starts, 0, NEEDLE_START_BITS / 8);
        for (uint32_t i = 0; i < p->nneedles; i++) {
            uint32_t bit = needle_start_bit(rs->slots[p->needles[i]].s);
            p->needle_starts[bit / 64] |= UINT64_C(1) << (bit % 64);
        }
    }
    /* 4. the probes an event reads */
    rs->active = eq_malloc(rs->alloc, (rs->nprobes ? rs->nprobes : 1) * sizeof *rs->active);
    if (!rs->active)
        goto done;
    for (uint32_t k = 0; k < rs->nprobes; k++) {
        if (!rs->probes[k].used)
            continue;
        /* grouped by field, so an event reads (and folds) each field once */
        uint32_t i = rs->nactive++;
        while (i > 0 && (rs->probes[rs->active[i - 1]].field > rs->probes[k].field ||
                         (rs->probes[rs->active[i - 1]].field == rs->probes[k].field &&
                          rs->probes[rs->active[i - 1]].mode > rs->probes[k].mode))) {
            rs->active[i] = rs->active[i - 1];
            i--;
        }
        rs->active[i] = k;
    }
    rs->groups = eq_malloc(rs->alloc, (rs->nactive ? rs->nactive : 1) * sizeof *rs->groups);
    if (!rs->groups)
        goto done;
    for (uint32_t a = 0; a < rs->nactive; a++) {
        uint32_t field = rs->probes[rs->active[a]].field;
        if (rs->ngroups && rs->groups[rs->ngroups - 1].field == field)
            rs->groups[rs->ngroups - 1].end = a + 1;
        else
            rs->groups[rs->ngroups++] = (struct probe_group){field, a, a + 1, 0};
    }
    for (uint32_t gi = 0; gi < rs->ngroups; gi++) {
        struct probe_group *g = &rs->groups[gi];
        g->present = g->first;
        while (g->present < g->end && rs->probes[rs->active[g->present]].mode != PROBE_PRESENT)
            g->present++;
    }
    /* an event that lists its present fields reaches their groups directly */
    rs->ngroup_fields = rs->ngroups ? rs->groups[rs->ngroups - 1].field + 1 : 0;
    rs->group_of = eq_malloc(rs->alloc, (rs->ngroup_fields ? rs->ngroup_fields : 1) * sizeof *rs->group_of);
    if (!rs->group_of)
        goto done;
    memset(rs->group_of, 0, (rs->ngroup_fields ? rs->ngroup_fields : 1) * sizeof *rs->group_of);
    for (uint32_t gi = 0; gi < rs->ngroups; gi++)
        rs->group_of[rs->groups[gi].field] = gi + 1;
    st = EQLITE_OK;
done:
    for (uint32_t k = 0; k < rs->nrules; k++)
        eq_free(rs->alloc, maps[k]);
    eq_free(rs->alloc, maps);
    eq_free(rs->alloc, b.atoms);
    eq_free(rs->alloc, b.pool);
    eq_free(rs->alloc, b.stamp);
    eq_free(rs->alloc, b.banned);
    eq_free(rs->alloc, b.memo);
    eq_arena_free(&b.tmp);
    return st;
}
