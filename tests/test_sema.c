/* Verifier: Elasticsearch's rules and messages (EQL.md §13). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static void rejected_with(const char *rule, const char *message_part)
{
    eqlite_diag d;
    eqlite_status st = compile_status(rule, &d);
    cr_assert_neq(st, EQLITE_OK, "[%s] should be rejected", rule);
    cr_assert(strstr(d.message, message_part), "[%s]: message [%s] lacks [%s]", rule, d.message, message_part);
}

static void accepted(const char *rule)
{
    eqlite_diag d;
    cr_assert_eq(compile_status(rule, &d), EQLITE_OK, "[%s]: %s", rule, d.message);
}

/* The same against a schema of the test's own. */
static void accepted_in(eqlite_schema *s, const char *rule)
{
    eqlite_program *p;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(s, rule, strlen(rule), &p, &d), EQLITE_OK, "[%s]: %s", rule, d.message);
    eqlite_program_free(p);
}

Test(sema, field_compared_to_field_is_rejected)
{
    rejected_with("process where pid == ppid", "Comparisons against fields are not (currently) supported; offender [ppid] in [==]");
    rejected_with("process where process_name in (parent_process_name, \"SYSTEM\")",
                  "offender [parent_process_name] in [process_name in (parent_process_name, \"SYSTEM\")]");
}

Test(sema, unknown_function_suggests_a_name)
{
    rejected_with("process where match(a, \"x\")", "Unknown function [match], did you mean [cidrmatch]?");
}

Test(sema, function_names_resolve_case_insensitively)
{
    accepted("any where cidrmatch(source.ip, \"10.0.0.0/8\")");
    accepted("any where startswith~(process.name, \"cmd\")");
    accepted("any where CONCAT(a, \"b\") == \"ab\"");
}

Test(sema, arity_errors_use_elasticsearch_messages)
{
    rejected_with("any where between(a, \"b\")", "error building [between]: expects three or four arguments");
    rejected_with("any where cidrMatch(a)", "error building [cidrmatch]: expects at least two arguments");
    rejected_with("any where stringContains(a, \"b\", \"c\")", "error building [stringcontains]: expects exactly two arguments");
    rejected_with("any where number() == 1", "error building [number]");
}

Test(sema, argument_types_are_checked)
{
    rejected_with("any where between(process_name, 1, 2) == \"x\"",
                  "second argument of [between(process_name, 1, 2)] must be [string], found value [1] type [integer]");
    rejected_with("any where number(1) == 1", "first argument of [number(1)] must be [string]");
    rejected_with("any where number(true) == 1", "must be [string]");
    rejected_with("any where startsWith(1, \"FOO\")", "first argument of [startsWith(1, \"FOO\")] must be [string]");
}

/* `:` and `in~` are ES's InsensitiveEquals, strings only: `pid : 4` was
 * answered as `==`, and `pid : "4"` matched nothing, where ES refuses both
 * (its VerifierTests.testIncorrectUsageOfStringEquals). */
Test(sema, insensitive_equality_takes_strings_only)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_add(s, "process.pid", 11, EQLITE_T_LONG, NULL);
    eqlite_schema_add(s, "process.name", 12, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_set_grow(s, 1);
    const char *rejected[][2] = {
        {"process where process.pid : 123",
         "first argument of [:] must be [string], found value [process.pid] type [long]; consider using [==] instead"},
        {"process where process.pid : \"4\"",
         "first argument of [:] must be [string], found value [process.pid] type [long]; consider using [==] instead"},
        {"process where process.pid in~ (\"4\", \"5\")",
         "first argument of [:] must be [string], found value [process.pid] type [long]; consider using [==] instead"},
        {"process where length(process.name) : \"1\"",
         "first argument of [:] must be [string], found value [length(process.name)] type [integer]; consider using [==] instead"},
        {"process where process.name : (\"a\", 4)",
         "second argument of [:] must be [string], found value [4] type [integer]; consider using [==] instead"},
        {"process where process.name in~ (4.5)",
         "second argument of [:] must be [string], found value [4.5] type [double]; consider using [==] instead"},
    };
    eqlite_program *p = NULL;
    eqlite_diag d;
    for (size_t k = 0; k < sizeof rejected / sizeof *rejected; k++) {
        cr_assert_eq(eqlite_compile(s, rejected[k][0], strlen(rejected[k][0]), &p, &d), EQLITE_ETYPE, "%s", rejected[k][0]);
        cr_assert_str_eq(d.message, rejected[k][1]);
    }
    const char *ok[] = {"process where process.name : (\"cmd*\", null)", "process where process.name in~ (\"CMD.exe\")",
                        "process where process.pid == 4 and process.pid in (4, 5)"};
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
        accepted_in(s, ok[k]);
    eqlite_schema_free(s);
}

Test(sema, constants_are_required_where_elasticsearch_requires_them)
{
    rejected_with("any where cidrMatch(source_address, hostname)",
                  "second argument of [cidrMatch(source_address, hostname)] must be a constant, received [hostname]");
    rejected_with("any where number(a, b) == 1", "must be a constant");
}

Test(sema, maxspan_needs_a_positive_integer_and_a_unit)
{
    rejected_with("sequence with maxspan=2.5m [a where true] [b where true]", "Decimal time interval [2.5m] not supported");
    rejected_with("sequence with maxspan=0s [a where true] [b where true]", "A positive maxspan value is required; found [0]");
    rejected_with("sequence with maxspan=30 [a where true] [b where true]", "No time unit specified, did you mean [s] as in [30s]?");
    rejected_with("sequence with maxspan=3x [a where true] [b where true]", "Unrecognized time unit [x] in [");
    accepted("sequence with maxspan=30s [a where true] [b where true]");
}

Test(sema, by_must_come_before_with)
{
    rejected_with("sequence with maxspan=1m by a [x where true] [y where true]",
                  "Please specify sequence [by] before [with] not after");
}

Test(sema, join_key_counts_must_agree)
{
    rejected_with("sequence by a [x where true] by b [y where true]",
                  "Inconsistent number of join keys specified; expected [2] but found [1]");
    accepted("sequence by a [x where true] by b [y where true] by c");
}

Test(sema, unknown_field_is_an_error_unless_optional_or_growing)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_add(s, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_add(s, "a", 1, EQLITE_T_KEYWORD, NULL);
    eqlite_program *p = NULL;
    eqlite_diag d;
    const char *bad = "process where b == \"x\"";
    cr_assert_eq(eqlite_compile(s, bad, strlen(bad), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [b]");
    cr_assert_eq(d.column, 15);
    const char *opt = "process where ?b == null and a == \"x\"";
    cr_assert_eq(eqlite_compile(s, opt, strlen(opt), &p, &d), EQLITE_OK, "%s", d.message);
    eqlite_program_free(p);
    eqlite_schema_set_grow(s, 1);
    cr_assert_eq(eqlite_compile(s, bad, strlen(bad), &p, &d), EQLITE_OK);
    uint32_t id;
    cr_assert_eq(eqlite_schema_lookup(s, "b", 1, &id), EQLITE_OK);
    eqlite_program_free(p);
    eqlite_schema_free(s);
}

Test(sema, text_fields_without_keyword_cannot_be_used_by_functions)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_add(s, "plain_text", 10, EQLITE_T_TEXT, NULL);
    eqlite_schema_add(s, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_program *p = NULL;
    eqlite_diag d;
    const char *rule = "process where length(plain_text) > 0";
    cr_assert_eq(eqlite_compile(s, rule, strlen(rule), &p, &d), EQLITE_ETYPE);
    cr_assert(strstr(d.message, "[length(plain_text)] cannot operate on field of data type [text]"), "%s", d.message);
    eqlite_schema_free(s);
}

Test(sema, pipes_follow_elasticsearch)
{
    rejected_with("process where true | count", "Pipe [count] is not supported");
    rejected_with("process where true | unique a", "Pipe [unique] is not supported");
    rejected_with("process where true | bogus 1", "Unrecognized pipe [bogus]");
    rejected_with("process where true | head -1", "Pipe [head] expects a positive integer but found [-1]");
    rejected_with("process where true | head 1, 2", "Pipe [head] expects exactly one argument but found [2]");
    accepted("process where true | head 5 | tail 2");
}

Test(sema, join_and_array_indexes_are_rejected)
{
    rejected_with("join [a where true] [b where true]", "[join]");
    rejected_with("any where a[0] == 1", "Array indexes are not supported");
}

Test(sema, lucene_regex_features_we_cannot_translate_are_errors)
{
    rejected_with("any where a regex \"ab&cd\"", "invalid regular expression");
}

/* ql UnresolvedAttribute.errorMessage over StringUtils.findSimilar: every
 * known name at least 0.5 similar (Lucene LevenshteinDistance), best first. */
Test(sema, unknown_field_suggests_similar_names_as_elasticsearch_does)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    const char *names[] = {"event.category", "process.name", "process.pid", "host.name"};
    for (size_t k = 0; k < 4; k++)
        eqlite_schema_add(s, names[k], strlen(names[k]), EQLITE_T_KEYWORD, NULL);
    eqlite_program *p = NULL;
    eqlite_diag d;
    const char *one = "process where event.categry == \"x\"";
    cr_assert_eq(eqlite_compile(s, one, strlen(one), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [event.categry], did you mean [event.category]?");
    const char *half = "process where host.nme == \"x\""; /* process.name is exactly 0.5 similar */
    cr_assert_eq(eqlite_compile(s, half, strlen(half), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [host.nme], did you mean any of [host.name, process.name]?");
    const char *two = "process where process.nme == \"x\"";
    cr_assert_eq(eqlite_compile(s, two, strlen(two), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [process.nme], did you mean any of [process.name, process.pid]?");
    eqlite_schema_free(s);
}

/* A caller that reads only the name turns suggestions off: the message is
 * the name alone, and turning them on again brings them back. */
Test(sema, unknown_field_without_suggestions_is_the_name_alone)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_add(s, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_program *p = NULL;
    eqlite_diag d;
    const char *one = "process where event.categry == \"x\"";
    eqlite_schema_set_suggestions(s, 0);
    cr_assert_eq(eqlite_compile(s, one, strlen(one), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [event.categry]");
    eqlite_schema_set_suggestions(s, 1);
    cr_assert_eq(eqlite_compile(s, one, strlen(one), &p, &d), EQLITE_ENOTFOUND);
    cr_assert_str_eq(d.message, "Unknown column [event.categry], did you mean [event.category]?");
    eqlite_schema_set_suggestions(NULL, 0); /* ignored */
    eqlite_schema_free(s);
}

/* QL's In: list values must have the operand's type, or both be strings, or
 * both numbers (VerifierTests.testMixedSet); == stays lenient (testQueryOk). */
Test(sema, in_list_of_another_type_is_an_error_as_in_elasticsearch)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_add(s, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_add(s, "long_field", 10, EQLITE_T_LONG, NULL);
    eqlite_schema_add(s, "event.code", 10, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_add(s, "source.ip", 9, EQLITE_T_IP, NULL);
    eqlite_program *p = NULL;
    eqlite_diag d;
    const char *mixed = "foo where long_field in (1, \"string\")";
    cr_assert_eq(eqlite_compile(s, mixed, strlen(mixed), &p, &d), EQLITE_ETYPE);
    cr_assert_str_eq(d.message, "2nd argument of [long_field in (1, \"string\")] must be [long], found value [\"string\"] type [keyword]");
    cr_assert_eq(d.column, 11);
    const char *numbers = "process where event.code in (4688, 1)";
    cr_assert_eq(eqlite_compile(s, numbers, strlen(numbers), &p, &d), EQLITE_ETYPE);
    cr_assert_str_eq(d.message, "1st argument of [event.code in (4688, 1)] must be [keyword], found value [4688] type [integer]");
    /* in~ is one InsensitiveEquals per value there, strings only */
    const char *insensitive = "process where event.code in~ (4688, \"x\")";
    cr_assert_eq(eqlite_compile(s, insensitive, strlen(insensitive), &p, &d), EQLITE_ETYPE);
    cr_assert_str_eq(d.message, "second argument of [:] must be [string], found value [4688] type [integer]; consider using [==] instead");
    const char *ip = "process where source.ip in (\"10.0.0.1\")";
    cr_assert_eq(eqlite_compile(s, ip, strlen(ip), &p, &d), EQLITE_ETYPE);
    cr_assert(strstr(d.message, "must be [ip], found value [\"10.0.0.1\"] type [keyword]"), "%s", d.message);
    const char *ok[] = {"process where long_field in (1, 2.5, null)", "process where event.code in (\"4688\", null)",
                        "process where event.code == 4688"};
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++)
        accepted_in(s, ok[k]);
    eqlite_schema_free(s);
}

/* "sequence by k0, ..., k{n-1} [any where true] [any where true]" (malloc'ed) */
static char *sequence_by_keys(int n)
{
    char *rule = malloc((size_t)n * 8 + 80);
    strcpy(rule, "sequence by ");
    for (int i = 0; i < n; i++)
        sprintf(rule + strlen(rule), "%sk%d", i ? ", " : "", i);
    strcat(rule, " [any where true] [any where true]");
    return rule;
}

/* "sequence" then n terms (malloc'ed) */
static char *sequence_of_terms(int n)
{
    static const char term[] = " [any where true]";
    char *rule = malloc((size_t)n * (sizeof term - 1) + 16);
    strcpy(rule, "sequence");
    for (int i = 0; i < n; i++)
        strcat(rule, term);
    return rule;
}

/* The limits of README's table: at the limit a rule compiles, past it the
 * error names the limit. */
Test(sema, limits_on_runs_terms_and_join_keys_are_errors_past_them)
{
    accepted("sequence [any where true] with runs=100 [any where true]");
    rejected_with("sequence [any where true] with runs=101 [any where true]",
                  "A query cannot be repeated less than 1 or more than 100 times; found [101]");
    rejected_with("sequence [any where true] with runs=0 [any where true]",
                  "A query cannot be repeated less than 1 or more than 100 times; found [0]");
    char *rule = sequence_of_terms(256);
    accepted(rule);
    free(rule);
    rejected_with(rule = sequence_of_terms(257), "more than 256 terms in one query");
    free(rule);
    accepted(rule = sequence_by_keys(60));
    free(rule);
    rejected_with(rule = sequence_by_keys(61), "more than 60 join keys");
    free(rule);
}
