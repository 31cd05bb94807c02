/* test_rule_index.c: the rule index never keeps a rule from a match it
 * makes alone: generated rules over generated events (rule_index_cases.h,
 * as the fuzz_rule_index target makes them), each rule's results through
 * the ruleset against its own matcher's (ruleset_diff.h), and the cases the
 * fuzzer found. */
#include <criterion/criterion.h>

#include "rule_index_cases.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Fixed pseudo-random bytes make the cases; a difference prints its case.
 * EQLITE_RULE_INDEX_CASES=N and EQLITE_RULE_INDEX_SEED=S run other cases
 * (a longer search than the fuzzer's, without its instrumentation). */
Test(rule_index, generated_rules_match_through_the_ruleset_as_alone, .timeout = 600)
{
    enum { BYTES = 800 };
    static generated_case g;
    const char *cases_env = getenv("EQLITE_RULE_INDEX_CASES"), *seed_env = getenv("EQLITE_RULE_INDEX_SEED");
    const int CASES = cases_env ? atoi(cases_env) : 1500;
    uint64_t state = seed_env ? strtoull(seed_env, NULL, 10) : 1;
    uint8_t bytes[BYTES];
    diff_counts total = {0};
    for (int n = 0; n < CASES; n++) {
        for (size_t i = 0; i < BYTES; i += 8) {
            uint64_t r = splitmix64(&state);
            memcpy(bytes + i, &r, 8);
        }
        generate_case(bytes, BYTES, &g);
        diff_text why = {0};
        diff_counts counts;
        if (!ruleset_diff(g.grow, g.texts, g.nrules * g.copies, g.events, g.nevents, &why, &counts)) {
            print_case(stderr, &g);
            cr_assert_fail("case %d: %s", n, why.s);
        }
        free(why.s);
        total.compiled += counts.compiled;
        total.results += counts.results;
        total.sequences += counts.sequences;
    }
    /* enough matched to prove something: rules, and sequences or samples */
    if (CASES < 1500)
        return;
    cr_assert_gt(total.compiled, 5000, "%zu rules compiled", total.compiled);
    cr_assert_gt(total.results, 2000, "%zu results", total.results);
    cr_assert_gt(total.sequences, 300, "%zu results of several events", total.sequences);
}

/* Characters whose case variants fold apart, fold to ASCII or change length. */
static const char *const VARIANTS[][4] = {
    {"s", "S", "\305\277"},                  /* U+017F long s: upper case S */
    {"k", "K", "\342\204\252"},             /* the Kelvin sign: lower case k */
    {"i", "I", "\304\261", "\304\260"},    /* dotless i, dotted capital I */
    {"\303\237", "\341\272\236", "ss", "SS"}, /* sharp s, capital sharp s */
    {"\317\203", "\316\243", "\317\202"},    /* sigma, capital, final */
    {"\307\205", "\307\206", "\307\204"},    /* Dz titlecase, dz, DZ */
    {"\303\251", "\303\211"},                 /* e acute */
    {"\357\254\200", "ff", "FF"},              /* the ff ligature */
};

/* Rules that put a character at the start, middle and end of the literals
 * the index keys on (whole values, prefixes, suffixes, contained and
 * regex literals, after '?' and '.'), in both case modes. */
static const char *const TEMPLATES[] = {
    "any where a == \"%sabcdefgh\"",
    "any where a : \"abcdefgh%s\"",
    "any where a in~ (\"ab%scdefgh\", \"zz\")",
    "any where a : \"%sabc*\"",
    "any where a like~ \"*abcdefgh%s\"",
    "any where a : \"*ab%scd*\"",
    "any where a like~ \"?%sabc*\"",
    "any where a : \"%s?abcdef*\"",
    "any where a like \"%sabcdef*\"",
    "any where a regex~ \"%sabcdef.*\"",
    "any where a regex~ \"(%sabc|xyz)defgh\"",
    "any where a regex~ \".%sabcd.*\"",
    "any where a regex \"%sabcdefgh\"",
    "any where a regex~ \"abc%s.*\"",
    "any where startsWith~(a, \"%sabc\")",
    "any where endsWith~(a, \"abc%s\")",
    "any where stringContains~(a, \"b%scd\")",
    "any where a in~ (\"%sabc\", \"%sabcdefgh\")",
};
/* The values: each character in each of these, alone and in an array. */
static const char *const VALUES[] = {"%sabcdefgh", "abcdefgh%s", "ab%scdefgh", "x%sabcdef", "%s?abcdef", "%sabc"};

static void format(char *out, size_t cap, const char *template, const char *c)
{
    snprintf(out, cap, template, c, c);
}

Test(rule_index, case_variants_of_a_literal_match_through_the_ruleset_as_alone)
{
    enum { NT = sizeof TEMPLATES / sizeof *TEMPLATES, NV = sizeof VALUES / sizeof *VALUES };
    static char rule_text[NT * 4][128], value_text[NV * 4][64];
    static diff_event events[2 * NV * 4];
    static eqlite_value pairs[NV * 4][2];
    size_t results = 0;
    for (size_t g = 0; g < sizeof VARIANTS / sizeof *VARIANTS; g++) {
        const char *rules[NT * 4];
        size_t nrules = 0, nevents = 0;
        for (size_t v = 0; v < 4 && VARIANTS[g][v]; v++) {
            for (size_t t = 0; t < NT; t++, nrules++) {
                format(rule_text[nrules], sizeof rule_text[nrules], TEMPLATES[t], VARIANTS[g][v]);
                rules[nrules] = rule_text[nrules];
            }
            for (size_t k = 0; k < NV; k++) {
                char *s = value_text[v * NV + k];
                format(s, sizeof value_text[0], VALUES[k], VARIANTS[g][v]);
                eqlite_value *pair = pairs[v * NV + k]; /* the value second in an array */
                pair[0] = (eqlite_value)DV_S("zz");
                pair[1] = (eqlite_value){EQLITE_STRING, (uint32_t)strlen(s), {.s = s}};
                for (int arr = 0; arr < 2; arr++) {
                    diff_event *e = &events[nevents];
                    *e = (diff_event){(int64_t)nevents, {{0}}};
                    e->fields[1] = arr ? (eqlite_value){EQLITE_ARRAY, 2, {.a = pair}} : pair[1];
                    nevents++;
                }
            }
        }
        cr_assert_leq(nrules, DIFF_MAX_RULES);
        diff_text why = {0};
        diff_counts counts;
        bool same = ruleset_diff(0, rules, nrules, events, nevents, &why, &counts);
        cr_assert(same, "%s: %s", VARIANTS[g][0], why.s);
        cr_assert_eq(counts.compiled, nrules, "%s: every rule compiles", VARIANTS[g][0]);
        results += counts.results;
        free(why.s);
    }
    cr_assert_gt(results, 500, "%zu results", results);
}

/* Contained literals are searched for in one pass over the value (a filter
 * of their first three bytes), or one by one past NEEDLE_SCAN_MAX of them:
 * a literal at the very start or end of a value, overlapping another, the
 * whole value, or one byte short must match as it does alone. */
Test(rule_index, contained_literals_match_at_every_position_through_the_ruleset_as_alone)
{
    static const char *const NEEDLES[] = {"abc", "bcd", "cdefg", "xyz", "yzab", "Quick", "own fox", "fox", "ox j",
                                          "lazy dog", "dog", "the", "he q", "ick b", "mps over", "aaa", "aab"};
    enum { NN = sizeof NEEDLES / sizeof *NEEDLES };
    static char rule_text[2 * NN + 1][64], many[300 * sizeof ", \"*n000x*\"" + 64];
    const char *rules[2 * NN + 1];
    for (size_t i = 0; i < NN; i++) {
        snprintf(rule_text[2 * i], sizeof rule_text[0], "any where a : \"*%s*\"", NEEDLES[i]);
        snprintf(rule_text[2 * i + 1], sizeof rule_text[0], "any where a like \"*%s*\"", NEEDLES[i]);
        rules[2 * i] = rule_text[2 * i];
        rules[2 * i + 1] = rule_text[2 * i + 1];
    }
    /* one probe with more needles than a pass takes: n000x .. n299x */
    size_t at = (size_t)snprintf(many, sizeof many, "any where a : (");
    for (int i = 0; i < 300; i++)
        at += (size_t)snprintf(many + at, sizeof many - at, "%s\"*n%03dx*\"", i ? ", " : "", i);
    snprintf(many + at, sizeof many - at, ")");
    rules[2 * NN] = many;
    static const eqlite_value VALUES[] = {
        DV_S("abc"), DV_S("ab"), DV_S(""), DV_S("xabc"), DV_S("abcx"), DV_S("xyzabcd"), DV_S("yzabcdefg"),
        DV_S("the quick brown fox jumps over the lazy dog"), DV_S("THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"),
        DV_S("aaaab"), DV_S("aaab"), DV_S("aa"), DV_S("lazy do"), DV_S("azy dog"), DV_S("n299x"), DV_S("xn000xy"),
        DV_S("n29x"), DV_S("N150X"), DV_S("cdef"), DV_S("\xc3\x9f" "abc"), DV_S("ABC\xc3\x9f"),
    };
    enum { NV = sizeof VALUES / sizeof *VALUES };
    static diff_event events[NV];
    for (size_t k = 0; k < NV; k++) {
        events[k] = (diff_event){(int64_t)k, {{0}}};
        events[k].fields[1] = VALUES[k];
    }
    diff_text why = {0};
    diff_counts counts;
    bool same = ruleset_diff(0, rules, 2 * NN + 1, events, NV, &why, &counts);
    cr_assert(same, "%s", why.s);
    cr_assert_eq(counts.compiled, 2 * NN + 1, "every rule compiles: %zu", counts.compiled);
    cr_assert_gt(counts.results, 40, "%zu results", counts.results);
    free(why.s);
}
