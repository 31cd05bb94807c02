/* Parser: the grammar of EQL.md §1 and §5, precedence, and syntax errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"

static eqlite_status parse(const char *rule, eqlite_diag *d)
{
    size_t need;
    eqlite_status st = eqlite_format(rule, strlen(rule), NULL, 0, &need, d);
    return st == EQLITE_ELIMIT && need > 0 && d->code == EQLITE_OK ? EQLITE_OK : st; /* buffer too small = parsed */
}

static const char *fmt(const char *rule)
{
    static char out[4096];
    eqlite_diag d;
    if (eqlite_format(rule, strlen(rule), out, sizeof out, NULL, &d) != EQLITE_OK)
        snprintf(out, sizeof out, "error %u:%u: %s", d.line, d.column, d.message);
    size_t n = strlen(out);
    if (n && out[n - 1] == '\n')
        out[n - 1] = 0;
    return out;
}

static void parses(const char *rule)
{
    eqlite_diag d;
    cr_assert_eq(parse(rule, &d), EQLITE_OK, "[%s] failed: %s", rule, d.message);
}

static void rejects(const char *rule, unsigned col)
{
    eqlite_diag d;
    cr_assert_neq(parse(rule, &d), EQLITE_OK, "[%s] should not parse", rule);
    cr_assert_eq(d.column, col, "[%s]: column %u, want %u (%s)", rule, d.column, col, d.message);
}

Test(parser, event_queries_take_a_category_any_or_a_quoted_category)
{
    parses("process where true");
    parses("any where true");
    parses("\"my-category\" where true");
    parses("\"\"\"my.category\"\"\" where x == 1");
    rejects("`process` where true", 1);
}

Test(parser, sequences_take_by_maxspan_runs_until_and_missing_events)
{
    parses("sequence by host.id with maxspan=5m [process where true] by pid [file where true] by ppid until [process where false]");
    parses("sequence with maxspan=1h [a where true] with runs=3 ![b where true] [c where true]");
    parses("sequence [a where true] by x with runs=2 [b where true] by y");
}

Test(parser, samples_and_pipes_parse)
{
    parses("sample by host [any where true] [any where false]");
    parses("process where true | head 5 | tail 2");
    parses("process where true | unique a, b | count");
}

Test(parser, predicate_binds_tighter_than_arithmetic)
{
    cr_assert_str_eq(fmt("any where a + b : \"x\""), "any where a + b : \"x\"");
    cr_assert_str_eq(fmt("any where (a + b) == 1"), "any where a + b == 1");
    cr_assert_str_eq(fmt("any where not a == 1 and b"), "any where not a == 1 and b");
    cr_assert_str_eq(fmt("any where not (a and b)"), "any where not (a and b)");
    cr_assert_str_eq(fmt("any where a or b and c"), "any where a or b and c");
    cr_assert_str_eq(fmt("any where (a or b) and c"), "any where (a or b) and c");
    cr_assert_str_eq(fmt("any where 1 - (2 - 3) == x"), "any where 1 - (2 - 3) == x");
    cr_assert_str_eq(fmt("any where -5.2 < x"), "any where -5.2 < x");
}

Test(parser, comparisons_do_not_chain)
{
    rejects("any where a < b < c", 17);
    rejects("any where a == b == c", 18);
}

Test(parser, single_equals_is_an_error)
{
    eqlite_diag d;
    cr_assert_neq(parse("any where a = 1", &d), EQLITE_OK);
    cr_assert_str_eq(d.message, "use [==] to compare, not [=]");
    cr_assert_eq(d.column, 13);
}

Test(parser, empty_in_list_is_an_error)
{
    rejects("any where a in ()", 17);
}

Test(parser, keywords_are_not_field_names_unless_quoted)
{
    rejects("any where sequence > 10", 11);
    eqlite_diag d;
    parse("any where process.name == \"x\" and sequence > 10", &d);
    cr_assert_str_eq(d.message,
                     "mismatched input 'sequence' (a keyword; a field with this name must be written `sequence`)");
    parses("any where `sequence` > 10");
}

Test(parser, function_calls_and_tilde_forms)
{
    parses("any where startsWith~(a, \"x\") and CONCAT(a, b) == \"c\" and length(a) > 0");
}

Test(parser, optional_fields_and_indexes)
{
    cr_assert_str_eq(fmt("any where ?a.b == null"), "any where ?a.b == null");
    cr_assert_str_eq(fmt("any where ?`a b`.c == 1"), "any where ?`a b`.c == 1");
    parses("any where a[0] == 1");
}

Test(parser, truncated_rule_points_at_the_end)
{
    eqlite_diag d;
    cr_assert_neq(parse("process where", &d), EQLITE_OK);
    cr_assert_eq(d.offset, 13);
    cr_assert_str_eq(d.message, "mismatched input '<EOF>': the rule ends too early");
}

Test(parser, deep_nesting_is_a_limit_error_not_a_crash)
{
    size_t n = 100000;
    char *rule = malloc(n * 2 + 64);
    strcpy(rule, "any where ");
    size_t k = strlen(rule);
    for (size_t i = 0; i < n; i++)
        rule[k++] = '(';
    rule[k++] = 'x';
    for (size_t i = 0; i < n; i++)
        rule[k++] = ')';
    rule[k] = 0;
    eqlite_diag d;
    cr_assert_eq(parse(rule, &d), EQLITE_ELIMIT);
    cr_assert_str_eq(d.message, "brackets nested deeper than 256");
    free(rule);
}

Test(parser, long_and_chain_compiles)
{
    size_t n = 100000;
    char *rule = malloc(n * 16 + 64);
    strcpy(rule, "any where x == 0");
    size_t k = strlen(rule);
    for (size_t i = 1; i < n; i++)
        k += (size_t)sprintf(rule + k, " and x == %zu", i);
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_set_grow(s, 1);
    eqlite_program *p = NULL;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(s, rule, k, &p, &d), EQLITE_OK, "%s", d.message);
    eqlite_program_free(p);
    eqlite_schema_free(s);
    free(rule);
}

Test(parser, ten_megabyte_rule_ends_in_success_or_a_limit)
{
    size_t n = 10u << 20;
    char *rule = malloc(n + 64);
    strcpy(rule, "any where x in (");
    size_t k = strlen(rule);
    while (k < n) {
        k += (size_t)sprintf(rule + k, "\"v%zu\", ", k);
    }
    k += (size_t)sprintf(rule + k, "\"end\")");
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_set_grow(s, 1);
    eqlite_program *p = NULL;
    eqlite_diag d;
    eqlite_status st = eqlite_compile(s, rule, k, &p, &d);
    cr_assert(st == EQLITE_OK || st == EQLITE_ELIMIT, "status %d: %s", st, d.message);
    eqlite_program_free(p);
    eqlite_schema_free(s);
    free(rule);
}
