/* rule_index_cases.h: rules and events generated from bytes, for the
 * differential check of the rule index (ruleset_diff.h): the fuzz_rule_index
 * target reads its input so, and the rule_index tests read fixed
 * pseudo-random bytes so. The bytes are read as choices: up to 8 rules from
 * a template grammar (fields x operators, not/and/or, sequences with by,
 * maxspan, runs, missing terms and until, samples, head/tail pipes,
 * optional fields) with constants and event values drawn from a small
 * nasty alphabet (case variants, U+017F, the Kelvin sign, sharp s, dotless
 * and dotted i, final sigma, a ligature, wildcard characters, backslashes,
 * numbers as strings), and up to 24 events of strings, numbers, booleans,
 * arrays, nulls and missing fields. Not thread-safe (one case at a time). */
#ifndef EQ_RULE_INDEX_CASES_H
#define EQ_RULE_INDEX_CASES_H

#include "ruleset_diff.h"

typedef struct choices {
    const uint8_t *p;
    size_t n;
} choices;

/* The next choice among n (0 once the input is used up). */
static unsigned pick(choices *c, unsigned n)
{
    if (!c->n)
        return 0;
    c->n--;
    return *c->p++ % n;
}

static const char *const PIECES[] = {
    "a", "A", "b", "B", "s", "S", "\xc5\xbf" /* U+017F long s */, "k", "K", "\xe2\x84\xaa" /* Kelvin */,
    "\xc3\x9f" /* sharp s */, "\xe1\xba\x9e" /* capital sharp s */, "ss", "\xc4\xb1" /* dotless i */, "i", "I",
    "\xc4\xb0" /* dotted I */, "\xc3\xa9", "\xc3\x89", "\xcf\x83" /* sigma */, "\xce\xa3", "\xcf\x82" /* final sigma */,
    "\xef\xac\x80" /* ff ligature */, "\xc7\x85" /* Dz titlecase */, "*", "?", "\\", ".", "4", "0", "-", " ", "\"",
    ":", "/", "x", "abc", "ABC", "cmd", "CMD", ".exe", ".EXE", "abcdefghijklmnopqrstuvwxyz0123456789",
};
enum { NPIECES = sizeof PIECES / sizeof *PIECES };

static const char *const REGEX_PIECES[] = {
    "a", "A", "abc", "ABC", "s", "S", "k", "K", "i", "I", "cmd", ".exe", "x", "4", ":", "\xc5\xbf", "\xe2\x84\xaa",
    "\xc3\x9f", "\xc4\xb0", "\xc4\xb1", "\xcf\x83", ".", ".*", ".+", "[a-z]", "[A-Z]", "[^a]", "[kK]", "[s\xc5\xbf]",
    "(abc|ABC)", "(a|)", "(abc)", "(cmd|x)", "?", "+", "*", "{2}", "{0,1}", "{1,}", "\\.", "\\\\", "\\d", "\\w",
    "|", "\\*", "c.d", "~", "#", "@", "&", "<1-5>", "\"", "()", "[\\]a]", "\\s",
};
enum { NREGEX = sizeof REGEX_PIECES / sizeof *REGEX_PIECES };

static const char *const NUMBERS[] = {"4", "-4", "0", "4.0", "4.5", "1e300", "9223372036854775807", "04",
                                      "true", "false", "-0.0", "40"};
enum { NNUMBERS = sizeof NUMBERS / sizeof *NUMBERS };
static const char *const CATEGORIES[] = {"any", "process", "network", "file"};
static const char *const RULE_FIELDS[] = {"event.category", "a", "b", "w", "n", "f", "u"};

/* A rule's text, bounded. */
typedef struct text {
    char s[1536];
    size_t n;
} text;

static void put(text *t, const char *s)
{
    size_t k = strlen(s);
    if (t->n + k < sizeof t->s) {
        memcpy(t->s + t->n, s, k);
        t->n += k;
        t->s[t->n] = 0;
    }
}

/* The constants of the rules so far, as pieces: event values copy them
 * (with other cases, the wildcards filled in) so that rules match often. */
static struct constant {
    const char *pieces[4];
    unsigned n;
    int field; /* the field the rule tests against it, -1 none known */
} constants[64];
static unsigned nconstants;
static int last_field = -1; /* the field put last */

/* Letters whose other cases fold apart or are not ASCII, half the pieces of
 * a constant: they make the keys whose folding the index must get right. */
static const char *const LETTERS[] = {"s", "S", "k", "K", "i", "I", "abc", "ABC", "x", "ss"};
enum { NLETTERS = sizeof LETTERS / sizeof *LETTERS };

/* A string of 0-4 pieces, as an EQL string literal (or a regex's pieces). */
static void put_string(choices *c, text *t, bool regex)
{
    struct constant *k = &constants[nconstants < 64 ? nconstants++ : 63];
    k->n = pick(c, 5);
    k->field = last_field;
    put(t, "\"");
    for (unsigned i = 0; i < k->n; i++) {
        const char *p = k->pieces[i] = pick(c, 2) ? LETTERS[pick(c, NLETTERS)]
                                       : regex    ? REGEX_PIECES[pick(c, NREGEX)]
                                                  : PIECES[pick(c, NPIECES)];
        for (; *p; p++) {
            char one[3] = {*p, 0, 0};
            if (*p == '"' || *p == '\\')
                one[0] = '\\', one[1] = *p;
            put(t, one);
        }
    }
    put(t, "\"");
}

static void put_field(choices *c, text *t)
{
    unsigned f = pick(c, 9);
    last_field = -1;
    if (f == 8) {
        put(t, "?zz"); /* unknown: null, or a field grown from the rule */
        return;
    }
    if (f == 7) {
        put(t, "?");
        f = pick(c, 7);
    }
    put(t, RULE_FIELDS[f]);
    last_field = (int)f;
}

static void put_list(choices *c, text *t, bool regex, bool mixed)
{
    put(t, " (");
    for (unsigned k = 1 + pick(c, 3), i = 0; i < k; i++) {
        put(t, i ? ", " : "");
        unsigned kind = mixed ? pick(c, 3) : pick(c, 8) == 0 ? 2 : 0;
        if (kind == 1)
            put(t, NUMBERS[pick(c, NNUMBERS)]);
        else if (kind == 2)
            put(t, "null");
        else
            put_string(c, t, regex);
    }
    put(t, ")");
}

static void put_term(choices *c, text *t)
{
    static const char *const FUNCS[] = {"startsWith", "endsWith", "stringContains", "startsWith~", "endsWith~",
                                        "stringContains~"};
    static const char *const CMPS[] = {" < ", " <= ", " > ", " >= ", " == ", " != "};
    unsigned op = pick(c, 30);
    if (op >= 24) { /* a function or arithmetic over the field: no fused test, code the index reads around */
        static const char *const WRAP[][2] = {{"length(", ")"}, {"substring(", ", 1)"}, {"concat(", ", \"x\")"},
                                              {"indexOf(", ", \"b\")"}, {"string(", ")"}, {"", " + 1"}};
        put(t, WRAP[op - 24][0]);
        put_field(c, t);
        put(t, WRAP[op - 24][1]);
        if (op == 24 || op == 27 || op == 29) {
            put(t, CMPS[pick(c, 6)]);
            put(t, NUMBERS[pick(c, NNUMBERS)]);
        } else {
            put(t, pick(c, 2) ? " : " : " == ");
            put_string(c, t, false);
        }
        return;
    }
    if (op >= 12 && op <= 17) {
        put(t, FUNCS[op - 12]);
        put(t, "(");
        put_field(c, t);
        put(t, ", ");
        put_string(c, t, false);
        put(t, ")");
        return;
    }
    if (op == 23) {
        put(t, pick(c, 2) ? "true" : "false");
        return;
    }
    put_field(c, t);
    switch (op) {
    case 0: put(t, " == "); put_string(c, t, false); break;
    case 1: put(t, " != "); put_string(c, t, false); break;
    case 2: put(t, " : "); put_string(c, t, false); break;
    case 3: put(t, " like "); put_string(c, t, false); break;
    case 4: put(t, " like~ "); put_string(c, t, false); break;
    case 5: put(t, " regex "); put_string(c, t, true); break;
    case 6: put(t, " regex~ "); put_string(c, t, true); break;
    case 7: put(t, " in"); put_list(c, t, false, false); break;
    case 8: put(t, " in~"); put_list(c, t, false, false); break;
    case 9: put(t, " :"); put_list(c, t, false, false); break;
    case 10: put(t, pick(c, 2) ? " like" : " like~"); put_list(c, t, false, false); break;
    case 11: put(t, pick(c, 2) ? " regex" : " regex~"); put_list(c, t, true, false); break;
    case 18: put(t, CMPS[pick(c, 6)]); put(t, NUMBERS[pick(c, NNUMBERS)]); break;
    case 19: put(t, pick(c, 2) ? " == null" : " != null"); break;
    case 20: put(t, pick(c, 2) ? " in" : " in~"); put_list(c, t, false, true); break;
    case 21: put(t, pick(c, 2) ? " == " : " != "); put_field(c, t); break;
    default: put(t, " : "); put(t, NUMBERS[pick(c, NNUMBERS)]); break;
    }
}

static void put_condition(choices *c, text *t, unsigned depth)
{
    unsigned k = pick(c, depth < 3 ? 14 : 10);
    if (k < 10) {
        put_term(c, t);
        return;
    }
    if (k == 12 || k == 13) {
        put(t, "not ");
        if (k == 13) {
            put_term(c, t);
            return;
        }
    }
    put(t, "(");
    put_condition(c, t, depth + 1);
    if (k != 12) {
        put(t, k == 11 ? " or " : " and ");
        put_condition(c, t, depth + 1);
    }
    put(t, ")");
}

static void put_query(choices *c, text *t)
{
    put(t, CATEGORIES[pick(c, 4)]);
    put(t, " where ");
    put_condition(c, t, 0);
}

static void put_rule(choices *c, text *t)
{
    static const char *const KEYS[] = {"a", "b", "n", "u", "?zz"};
    unsigned kind = pick(c, 10);
    if (kind < 5) {
        put_query(c, t);
        unsigned pipe = pick(c, 8);
        put(t, pipe == 0 ? " | head 2" : pipe == 1 ? " | tail 2" : "");
        return;
    }
    bool sample = kind == 9;
    put(t, sample ? "sample" : "sequence");
    unsigned by = pick(c, 3); /* 0 none, 1 one for all, 2 one per term */
    if (by == 1 || sample) {
        put(t, " by ");
        put(t, KEYS[pick(c, 5)]);
    }
    bool maxspan = !sample && pick(c, 2);
    if (maxspan) {
        static const char *const SPANS[] = {" with maxspan=1ms", " with maxspan=2ms", " with maxspan=5ms"};
        put(t, SPANS[pick(c, 3)]);
    }
    const char *term_key = KEYS[pick(c, 5)];
    for (unsigned k = 2 + pick(c, 2), i = 0; i < k; i++) {
        put(t, maxspan && pick(c, 5) == 0 ? " ![" : " [");
        put(t, CATEGORIES[pick(c, 4)]);
        put(t, " where ");
        /* simpler filters than an event query's: terms match more often */
        unsigned filter = pick(c, 4);
        if (filter == 0) {
            put(t, "true");
        } else if (filter == 1) {
            put_field(c, t);
            put(t, " != null");
        } else {
            put_condition(c, t, 2);
        }
        put(t, "]");
        if (by == 2) {
            put(t, " by ");
            put(t, term_key);
        }
        if (!sample && pick(c, 6) == 0)
            put(t, " with runs=2");
    }
    if (!sample && pick(c, 4) == 0) {
        put(t, " until [");
        put_query(c, t);
        put(t, "]");
        if (by == 2) {
            put(t, " by ");
            put(t, term_key);
        }
    }
    unsigned pipe = pick(c, 6);
    put(t, pipe == 0 ? " | head 1" : pipe == 1 ? " | tail 1" : "");
}

/* Event values; strings and arrays live in these pools for one run. */
typedef struct pools {
    char bytes[1 << 16];
    size_t nbytes;
    eqlite_value items[DIFF_MAX_EVENTS * DIFF_NFIELDS * 3];
    size_t nitems;
} pools;

/* Pieces that are one another's other case (or fold alike, or nearly). */
static const char *const CASES[][4] = {
    {"a", "A"}, {"b", "B"}, {"s", "S", "\xc5\xbf"}, {"k", "K", "\xe2\x84\xaa"}, {"\xc3\x9f", "\xe1\xba\x9e", "ss", "SS"},
    {"\xc4\xb1", "i", "I", "\xc4\xb0"}, {"\xc3\xa9", "\xc3\x89"}, {"\xcf\x83", "\xce\xa3", "\xcf\x82"}, {"abc", "ABC"},
    {"cmd", "CMD"}, {".exe", ".EXE"}, {"x", "X"},
};

static void append(pools *p, const char *s)
{
    size_t len = strlen(s);
    if (p->nbytes + len <= sizeof p->bytes) {
        memcpy(p->bytes + p->nbytes, s, len);
        p->nbytes += len;
    }
}

static const char *random_piece(choices *c) { return PIECES[pick(c, NPIECES)]; }

/* One piece of a rule's constant as a value may hold it: in another case,
 * a wildcard or regex operator replaced by what it may match. */
static void append_like(choices *c, pools *p, const char *piece)
{
    if (strcmp(piece, "*") == 0 || strcmp(piece, ".*") == 0 || strcmp(piece, ".+") == 0) {
        for (unsigned n = pick(c, 3); n > 0; n--)
            append(p, random_piece(c));
        return;
    }
    if (strcmp(piece, "?") == 0 || strcmp(piece, ".") == 0 || piece[0] == '[' || piece[0] == '\\') {
        static const char *const ONE[] = {"a", "K", "\xc5\xbf", ".", "4", "\\", "*", "\xc3\x9f"};
        append(p, ONE[pick(c, 8)]);
        return;
    }
    if (piece[0] == '(' || strchr("+{|~#@&<\"", piece[0])) {
        if (pick(c, 2))
            append(p, piece[0] == '(' ? "abc" : "");
        return;
    }
    for (size_t g = 0; g < sizeof CASES / sizeof *CASES; g++)
        for (size_t i = 0; i < 4 && CASES[g][i]; i++)
            if (strcmp(CASES[g][i], piece) == 0 && pick(c, 2)) {
                const char *other = CASES[g][pick(c, 4)];
                append(p, other ? other : piece);
                return;
            }
    append(p, piece);
}

static eqlite_value scalar(choices *c, pools *p, uint32_t field)
{
    unsigned k = pick(c, 14);
    if (k < 10) {
        size_t start = p->nbytes;
        if (k < 6 && nconstants) { /* a rule's constant, perhaps with more around it */
            unsigned first = pick(c, nconstants), i = 0; /* one tested against this field, if any */
            while (i < nconstants && constants[(first + i) % nconstants].field != (int)field)
                i++;
            const struct constant *from = &constants[(first + (i < nconstants ? i : 0)) % nconstants];
            if (pick(c, 4) == 0)
                append(p, random_piece(c));
            for (unsigned i = 0; i < from->n; i++)
                append_like(c, p, from->pieces[i]);
            if (pick(c, 4) == 0)
                append(p, random_piece(c));
        } else {
            for (unsigned n = pick(c, 4); n > 0; n--)
                append(p, random_piece(c));
        }
        return (eqlite_value){EQLITE_STRING, (uint32_t)(p->nbytes - start), {.s = p->bytes + start}};
    }
    static const int64_t INTS[] = {4, 0, -4, 40, INT64_MAX};
    static const double DOUBLES[] = {4.0, 4.5, -0.0, 1e300, 0.0, NAN, 9223372036854775808.0};
    if (k == 10 || k == 11)
        return (eqlite_value){EQLITE_INT, 0, {.i = INTS[pick(c, sizeof INTS / sizeof *INTS)]}};
    if (k == 12)
        return (eqlite_value){EQLITE_DOUBLE, 0, {.d = DOUBLES[pick(c, sizeof DOUBLES / sizeof *DOUBLES)]}};
    return (eqlite_value){EQLITE_BOOL, 0, {.b = (int)pick(c, 2)}};
}

static eqlite_value field_value(choices *c, pools *p, uint32_t field)
{
    static const char *const CATS[] = {"process", "network", "file", "PROCESS"};
    unsigned k = pick(c, 10);
    if (k < 3)
        return (eqlite_value){EQLITE_NULL, 0, {0}};
    if (field == 0 && k < 8) {
        const char *s = CATS[pick(c, 4)];
        return (eqlite_value){EQLITE_STRING, (uint32_t)strlen(s), {.s = s}};
    }
    if (k < 9)
        return scalar(c, p, field);
    unsigned n = pick(c, 4);
    eqlite_value *items = p->items + p->nitems;
    p->nitems += n;
    for (unsigned i = 0; i < n; i++)
        items[i] = pick(c, 5) == 0 ? (eqlite_value){EQLITE_NULL, 0, {0}} : scalar(c, p, field);
    return (eqlite_value){EQLITE_ARRAY, n, {.a = n ? items : NULL}};
}

/* One generated case: its rules (texts: the rules, `copies` times over)
 * and events, whose strings live in `p`. */
typedef struct generated_case {
    int grow;
    text rules[8];
    size_t nrules, copies;
    const char *texts[8 * 9];
    diff_event events[24];
    size_t nevents;
    pools p;
} generated_case;

static void generate_case(const uint8_t *data, size_t size, generated_case *g)
{
    choices c = {data, size};
    g->p.nbytes = g->p.nitems = 0;
    nconstants = 0;
    last_field = -1;
    g->grow = (int)pick(&c, 2);
    g->nrules = 1 + pick(&c, 8);
    for (size_t k = 0; k < g->nrules; k++) {
        g->rules[k].n = 0;
        g->rules[k].s[0] = 0;
        put_rule(&c, &g->rules[k]);
        g->texts[k] = g->rules[k].s;
    }
    g->nevents = 1 + pick(&c, 24);
    int64_t ms = 0;
    for (size_t i = 0; i < g->nevents; i++) {
        ms += pick(&c, 4);
        g->events[i].ms = ms;
        for (uint32_t f = 0; f < DIFF_NFIELDS; f++) /* often an earlier event's: join keys meet */
            g->events[i].fields[f] =
                i && pick(&c, 3) == 0 ? g->events[pick(&c, (unsigned)i)].fields[f] : field_value(&c, &g->p, f);
    }
    /* the rules nine times over: more than 64 rules, long lists as bitmaps */
    g->copies = pick(&c, 8) == 7 ? 9 : 1;
    for (size_t k = g->nrules; k < g->nrules * g->copies; k++)
        g->texts[k] = g->texts[k % g->nrules];
}

/* The case as C, to paste into a regression test. */
static void print_case(FILE *out, const generated_case *g)
{
    diff_text t = {0};
    diff_printf(&t, "grow %d, the rules %zu times over\nstatic const char *const rules[] = {\n", g->grow, g->copies);
    for (size_t k = 0; k < g->nrules; k++) {
        diff_printf(&t, "    \"");
        for (const char *s = g->rules[k].s; *s; s++)
            diff_printf(&t, (*s == '"' || *s == '\\') ? "\\%c" : ((unsigned char)*s >= 0x80 ? "\\%03o" : "%c"),
                        (unsigned char)*s);
        diff_printf(&t, "\",\n");
    }
    diff_printf(&t, "};\nstatic const diff_event events[] = {\n");
    for (size_t i = 0; i < g->nevents; i++) {
        diff_printf(&t, "    {%lld, {", (long long)g->events[i].ms);
        for (size_t f = 0; f < DIFF_NFIELDS; f++) {
            diff_printf(&t, f ? ", " : "");
            diff_value(&t, &g->events[i].fields[f]);
        }
        diff_printf(&t, "}},\n");
    }
    diff_printf(&t, "};\n");
    fprintf(out, "%s", t.s);
    free(t.s);
}

#endif
