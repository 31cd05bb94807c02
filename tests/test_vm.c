/* VM: event-query semantics over events built as C structs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static eqlite_schema *schema;
static test_event ev;

static void setup(void)
{
    eqlite_schema_new(NULL, &schema);
    eqlite_schema_add(schema, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    tev_init(&ev, schema);
    tev_str(&ev, "event.category", "process");
}

static void teardown(void) { eqlite_schema_free(schema); }

TestSuite(vm, .init = setup, .fini = teardown);

Test(vm, missing_field_is_null)
{
    cr_assert_eq(match_one("process where missing_field == null", &ev), 1);
    cr_assert_eq(match_one("process where missing_field != null", &ev), 0);
    cr_assert_eq(match_one("process where missing_field != \"x\"", &ev), 0);
    cr_assert_eq(match_one("process where not (missing_field == \"x\")", &ev), 0);
}

Test(vm, equality_is_case_sensitive_and_literal)
{
    tev_str(&ev, "process.name", "cmd.exe");
    cr_assert_eq(match_one("process where process.name == \"cmd.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where process.name == \"CMD.EXE\"", &ev), 0);
    cr_assert_eq(match_one("process where process.name == \"cmd*\"", &ev), 0);
    cr_assert_eq(match_one("process where process.name != \"CMD.EXE\"", &ev), 1);
}

Test(vm, colon_is_case_insensitive_wildcard)
{
    tev_str(&ev, "process.name", "CMD.EXE");
    cr_assert_eq(match_one("process where process.name : \"cmd.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where process.name : \"c?d.*\"", &ev), 1);
    cr_assert_eq(match_one("process where process.name : (\"x\", \"*.exe\")", &ev), 1);
    cr_assert_eq(match_one("process where process.name like \"cmd*\"", &ev), 0);
    cr_assert_eq(match_one("process where process.name like~ \"cmd*\"", &ev), 1);
}

Test(vm, backslash_is_not_an_escape_in_wildcards)
{
    tev_str(&ev, "path", "C:\\SAM\\x\\Account1");
    cr_assert_eq(match_one("process where path : \"*\\\\SAM\\\\*\\\\Account*\"", &ev), 1);
}

Test(vm, unicode_case_folding)
{
    tev_str(&ev, "user", "\xc3\x89MILE");
    cr_assert_eq(match_one("process where user : \"\xc3\xa9mile\"", &ev), 1);
    cr_assert_eq(match_one("process where user in~ (\"\xc3\xa9mile\")", &ev), 1);
    cr_assert_eq(match_one("process where user in (\"\xc3\xa9mile\")", &ev), 0);
}

Test(vm, arrays_match_if_any_element_matches)
{
    const char *types[] = {"start", "process_started"};
    tev_strs(&ev, "event.type", types, 2);
    cr_assert_eq(match_one("process where event.type == \"start\"", &ev), 1);
    cr_assert_eq(match_one("process where event.type : \"PROCESS_*\"", &ev), 1);
    cr_assert_eq(match_one("process where event.type != \"start\"", &ev), 0);
    cr_assert_eq(match_one("process where event.type in (\"end\", \"start\")", &ev), 1);
}

Test(vm, in_is_exact_and_not_in_keeps_null)
{
    tev_str(&ev, "name", "1*");
    cr_assert_eq(match_one("process where name in (\"1*\")", &ev), 1);
    tev_str(&ev, "name", "12");
    cr_assert_eq(match_one("process where name in (\"1*\")", &ev), 0);
    cr_assert_eq(match_one("process where name not in (\"1*\")", &ev), 1);
    cr_assert_eq(match_one("process where absent not in (\"1*\")", &ev), 0);
}

Test(vm, numbers_compare_and_integer_division_truncates)
{
    tev_int(&ev, "serial_event_id", 83);
    cr_assert_eq(match_one("process where serial_event_id / 2 == 41", &ev), 1);
    cr_assert_eq(match_one("process where serial_event_id > 82.5", &ev), 1);
    cr_assert_eq(match_one("process where serial_event_id in (1, 83)", &ev), 1);
    cr_assert_eq(match_one("process where serial_event_id % 40 == 3", &ev), 1);
    cr_assert_eq(match_one("process where -serial_event_id < 0", &ev), 1);
}

Test(vm, regex_is_anchored_lucene)
{
    tev_str(&ev, "name", "svchost.exe");
    cr_assert_eq(match_one("process where name regex \"svc.*\"", &ev), 1);
    cr_assert_eq(match_one("process where name regex \"host.*\"", &ev), 0);
    cr_assert_eq(match_one("process where name regex~ \"SVC[a-z]+\\\\.exe\"", &ev), 1);
}

Test(vm, functions_over_fields)
{
    tev_str(&ev, "cmd", "powershell.exe -enc AAAA");
    tev_str(&ev, "ip", "10.1.2.3");
    cr_assert_eq(match_one("process where startsWith~(cmd, \"POWER\")", &ev), 1);
    cr_assert_eq(match_one("process where stringContains(cmd, \"-enc\")", &ev), 1);
    cr_assert_eq(match_one("process where length(cmd) == 24", &ev), 1);
    cr_assert_eq(match_one("process where cidrMatch(ip, \"10.0.0.0/8\", \"192.168.0.0/16\")", &ev), 1);
    cr_assert_eq(match_one("process where cidrMatch(ip, \"192.168.0.0/16\")", &ev), 0);
    cr_assert_eq(match_one("process where substring(cmd, 0, 10) == \"powershell\"", &ev), 1);
    cr_assert_eq(match_one("process where concat(substring(cmd, 0, 5), \"!\") == \"power!\"", &ev), 1);
}

Test(vm, category_must_match)
{
    cr_assert_eq(match_one("file where true", &ev), 0);
    cr_assert_eq(match_one("any where true", &ev), 1);
    cr_assert_eq(match_one("process where true", &ev), 1);
}

Test(vm, three_valued_logic_under_not)
{
    cr_assert_eq(match_one("process where not (absent == \"x\" and true)", &ev), 0);
    cr_assert_eq(match_one("process where not (absent == \"x\" and false)", &ev), 1);
    cr_assert_eq(match_one("process where not (absent == \"x\" or true)", &ev), 0);
    cr_assert_eq(match_one("process where absent == \"x\" or true", &ev), 1);
}

/* A counting allocator: after warm-up, matching allocates nothing. */
static size_t allocations;
static void *counting_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    allocations++;
    return realloc(ptr, size);
}

Test(vm, matching_does_not_allocate_per_event)
{
    eqlite_allocator alloc = {counting_realloc, NULL};
    eqlite_schema *s;
    eqlite_schema_new(&alloc, &s);
    eqlite_schema_set_grow(s, 1);
    const char *rule = "process where process.name : (\"cmd.exe\", \"*SH*\") and concat(process.name, \"x\") != \"y\" "
                       "and user : \"\xc3\xa9*\" and name regex~ \"a.*\"";
    eqlite_program *p;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(s, rule, strlen(rule), &p, &d), EQLITE_OK, "%s", d.message);
    eqlite_matcher *m;
    cr_assert_eq(eqlite_matcher_new(p, NULL, &m), EQLITE_OK);
    test_event t;
    tev_init(&t, s);
    tev_str(&t, "event.category", "process");
    tev_str(&t, "process.name", "BASH");
    tev_str(&t, "user", "\xc3\x89MILE");
    tev_str(&t, "name", "ABC");
    int hit = 0;
    eqlite_match(m, &t.ev, &hit); /* warm-up grows the scratch buffers once */
    cr_assert_eq(hit, 1);
    size_t before = allocations;
    for (int k = 0; k < 10000; k++)
        eqlite_match(m, &t.ev, &hit);
    cr_assert_eq(allocations, before, "%zu allocations in 10000 events", allocations - before);
    eqlite_matcher_free(m);
    eqlite_program_free(p);
    eqlite_schema_free(s);
}

/* An allocator hook that refuses call number `fail_at` (test_alloc_failure.c
 * fails every libc and C++ allocation; this checks the public hook alone). */
typedef struct failing_hook {
    size_t calls, fail_at, live;
} failing_hook;

static void *failing_realloc(void *user, void *ptr, size_t size)
{
    failing_hook *h = user;
    if (size == 0) {
        h->live -= ptr != NULL;
        free(ptr);
        return NULL;
    }
    if (++h->calls == h->fail_at)
        return NULL;
    void *q = realloc(ptr, size);
    h->live += q && !ptr;
    return q;
}

static eqlite_status compile_and_feed(failing_hook *h)
{
    eqlite_allocator alloc = {failing_realloc, h};
    static const char rule[] = "sequence by user [process where name : \"a*\"] [file where name regex~ \"b.*\"]";
    eqlite_schema *s;
    eqlite_program *p = NULL;
    eqlite_matcher *m = NULL;
    eqlite_status st = eqlite_schema_new(&alloc, &s);
    if (st != EQLITE_OK)
        return st;
    eqlite_schema_set_grow(s, 1);
    st = eqlite_compile(s, rule, strlen(rule), &p, NULL);
    if (st == EQLITE_OK)
        st = eqlite_matcher_new(p, NULL, &m);
    eqlite_matcher_free(m);
    eqlite_program_free(p);
    eqlite_schema_free(s);
    return st;
}

Test(vm, a_failing_allocator_hook_gives_enomem_and_frees_everything)
{
    failing_hook h = {0};
    cr_assert_eq(compile_and_feed(&h), EQLITE_OK);
    cr_assert_eq(h.live, 0);
    size_t total = h.calls;
    cr_assert_gt(total, 0);
    for (size_t n = 1; n <= total; n++) {
        h = (failing_hook){0, n, 0};
        eqlite_status st = compile_and_feed(&h);
        cr_expect(st == EQLITE_ENOMEM || st == EQLITE_OK, "call %zu of %zu: %s", n, total, eqlite_strerror(st));
        cr_expect_eq(h.live, 0, "call %zu of %zu failing leaks %zu blocks", n, total, h.live);
    }
}

Test(vm, optional_unmapped_fields_compare_like_folded_nulls)
{
    tev_str(&ev, "id", "28");
    cr_assert_eq(match_one("process where ?x == ?y", &ev), 1);
    cr_assert_eq(match_one("process where ?x != ?y", &ev), 0);
    tev_str(&ev, "x", "a");
    cr_assert_eq(match_one("process where ?x == ?y", &ev), 0);
    tev_str(&ev, "y", "a");
    cr_assert_eq(match_one("process where ?x == ?y", &ev), 1);
    cr_assert_eq(match_one("process where x == y", &ev), -1); /* plain fields: ES's verifier error */
}

/* The leading string tests run in eqlite_match's guard loop (fast paths
 * for ASCII, lone array elements, short constants); they must answer as the
 * interpreter does in every shape. */
Test(vm, leading_string_guards_agree_with_the_interpreter)
{
    tev_str(&ev, "a", "CmD.eXe");
    tev_str(&ev, "b", "\xe2\x84\xaa" "elvin"); /* KELVIN SIGN folds to k */
    tev_str(&ev, "c", "SearchProtocolHost.exe");
    tev_str(&ev, "d", "abc");
    const char *one[] = {"start"};
    tev_strs(&ev, "e", one, 1);
    const char *two[] = {"end", "START"};
    tev_strs(&ev, "f", two, 2);
    cr_assert_eq(match_one("process where a : \"cmd.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where a == \"cmd.exe\"", &ev), 0);
    cr_assert_eq(match_one("process where a == \"CmD.eXe\" and d : \"ABC\"", &ev), 1);
    cr_assert_eq(match_one("process where a : \"cmd.ex\"", &ev), 0);
    cr_assert_eq(match_one("process where a : \"cmd.exe \"", &ev), 0);
    cr_assert_eq(match_one("process where b : \"kelvin\"", &ev), 1);
    cr_assert_eq(match_one("process where b : \"KELVIN\" and a : \"CMD.EXE\"", &ev), 1);
    cr_assert_eq(match_one("process where b == \"kelvin\"", &ev), 0);
    cr_assert_eq(match_one("process where c : \"searchprotocolhost.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where c == \"SearchProtocolHost.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where c == \"SearchProtocolHost.ex_\"", &ev), 0);
    cr_assert_eq(match_one("process where d : \"abc\" and e == \"start\"", &ev), 1);
    cr_assert_eq(match_one("process where e : \"START\" and f : \"start\"", &ev), 1);
    cr_assert_eq(match_one("process where f == \"start\"", &ev), 0);
    cr_assert_eq(match_one("process where f == \"START\" and e == \"start\"", &ev), 1);
    cr_assert_eq(match_one("process where missing : \"x\" or a : \"cmd.exe\"", &ev), 1);
    cr_assert_eq(match_one("process where missing == \"x\"", &ev), 0);
    cr_assert_eq(match_one("process where not missing == \"x\"", &ev), 0);
    cr_assert_eq(match_one("process where not a : \"x\"", &ev), 1);
}

/* "f + (f + (... + 1))" nested `levels` deep: every level keeps one value on the stack. */
static char *nested_sum(int levels)
{
    char *rule = malloc((size_t)levels * 8 + 64), *p = rule;
    p += sprintf(p, "process where ");
    for (int k = 0; k < levels; k++)
        p += sprintf(p, "f + (");
    p += sprintf(p, "1");
    for (int k = 0; k < levels; k++)
        *p++ = ')';
    sprintf(p, " == 1");
    return rule;
}

Test(vm, arithmetic_at_the_nesting_limit_fits_the_stack)
{
    tev_int(&ev, "f", 0);
    char *rule = nested_sum(254); /* the deepest the expression limit (256) admits */
    cr_assert_eq(match_one(rule, &ev), 1);
    free(rule);
    rule = nested_sum(255);
    cr_assert_eq(match_one(rule, &ev), -1);
    free(rule);
    rule = nested_sum(80);
    cr_assert_eq(match_one(rule, &ev), 1);
    tev_int(&ev, "f", 1);
    cr_assert_eq(match_one(rule, &ev), 0);
    free(rule);
}

Test(vm, too_many_stack_slots_is_a_limit_error_with_position)
{
    size_t n = 1100;
    char *rule = malloc(n * 4 + 64), *p = rule;
    p += sprintf(p, "process where concat(");
    for (size_t k = 0; k < n; k++)
        p += sprintf(p, k ? ",f" : "f");
    sprintf(p, ") == \"x\"");
    eqlite_diag diag;
    cr_assert_eq(compile_status(rule, &diag), EQLITE_ELIMIT);
    cr_assert_str_eq(diag.message, "expression needs more than 1024 value stack slots");
    cr_assert_eq(diag.line, 1);
    cr_assert_eq(diag.column, 22 + 2 * 1024, "column %u", diag.column); /* argument 1025 */
    free(rule);
}

Test(vm, undecidable_regex_is_an_error_not_a_miss)
{
    /* 3 MB of 'a': (.*a){20} overflows backtracking, and the fallback
     * matcher's cost bound; the answer is ELIMIT, never "no match". */
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    tev_str(&ev, "v", big);
    eqlite_schema_set_grow(schema, 1);
    const char *rule = "process where v regex \"(.*a){20}\"";
    eqlite_program *prog;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(schema, rule, strlen(rule), &prog, &d), EQLITE_OK);
    eqlite_matcher *m;
    cr_assert_eq(eqlite_matcher_new(prog, NULL, &m), EQLITE_OK);
    int hit = -1;
    cr_assert_eq(eqlite_match(m, &ev.ev, &hit), EQLITE_ELIMIT);
    cr_assert_eq(hit, 0);
    tev_str(&ev, "v", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    cr_assert_eq(eqlite_match(m, &ev.ev, &hit), EQLITE_OK, "the error does not stick to later events");
    cr_assert_eq(hit, 1);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    free(big);
}

/* ---- arithmetic errors: Elasticsearch's ql Arithmetics (Math.addExact,
 * subtractExact, multiplyExact, negateExact; integral / and % by zero throw
 * "/ by zero"), int when both operands are Java ints (EQL's
 * ExpressionBuilder.visitIntegerLiteral narrows literals that fit 32 bits;
 * LengthFunctionProcessor returns an int), long otherwise. ---- */

static void expect_fold_error(const char *rule, const char *message, const char *span)
{
    eqlite_diag d;
    cr_assert_eq(compile_status(rule, &d), EQLITE_EARITH, "%s", rule);
    cr_expect_str_eq(d.message, message, "%s", rule);
    cr_expect_eq(d.length, strlen(span), "%s", rule);
    cr_expect_eq(strncmp(rule + d.offset, span, strlen(span)), 0, "%s: at %s", rule, rule + d.offset);
}

Test(vm, integer_overflow_in_a_constant_is_a_compile_error_with_position)
{
    expect_fold_error("process where f == 2147483647 + 1", "[2147483647 + 1]: integer overflow",
                      "2147483647 + 1");
    expect_fold_error("process where f == multiply(65536, 65536)",
                      "[multiply(65536, 65536)]: integer overflow", "multiply(65536, 65536)");
    expect_fold_error("process where f == 9223372036854775807 + 1",
                      "[9223372036854775807 + 1]: long overflow", "9223372036854775807 + 1");
    expect_fold_error("process where f == -9223372036854775807 - 2",
                      "[-9223372036854775807 - 2]: long overflow", "-9223372036854775807 - 2");
    expect_fold_error("process where f == 4294967296 * 2147483648",
                      "[4294967296 * 2147483648]: long overflow", "4294967296 * 2147483648");
    expect_fold_error("process where f == -subtract(-9223372036854775807, 1)",
                      "[-subtract(-9223372036854775807, 1)]: long overflow",
                      "-subtract(-9223372036854775807, 1)");
    /* an int literal next to a long one is computed in long */
    eqlite_diag d;
    cr_assert_eq(compile_status("process where f == 2147483648 + 2147483647", &d), EQLITE_OK);
    cr_assert_str_eq(eval_json("2147483648 + 2147483647"), "4294967295");
    cr_assert_str_eq(eval_json("-2147483648 / -1"), "2147483648"); /* -(long literal) */
    cr_assert_str_eq(eval_json("-9223372036854775807 - 1"), "-9223372036854775808");
}

Test(vm, integral_division_by_zero_is_a_compile_error_doubles_are_not)
{
    expect_fold_error("process where f == 5 / 0", "[5 / 0]: / by zero", "5 / 0");
    expect_fold_error("process where f == 5 % 0", "[5 % 0]: / by zero", "5 % 0");
    expect_fold_error("process where f == divide(9223372036854775807, 0)",
                      "[divide(9223372036854775807, 0)]: / by zero", "divide(9223372036854775807, 0)");
    cr_assert_str_eq(eval_json("5.0 / 0"), "inf");
    /* Java: MIN / -1 is MIN and MIN % -1 is 0, without an exception */
    cr_assert_str_eq(eval_json("(-9223372036854775807 - 1) / -1"), "-9223372036854775808");
    cr_assert_str_eq(eval_json("(-9223372036854775807 - 1) % -1"), "0");
    cr_assert_str_eq(eval_json("(-2147483647 - 1) / -1"), "-2147483648"); /* int */
}

static eqlite_status match_status(const char *rule, int *hit)
{
    eqlite_schema_set_grow(schema, 1);
    eqlite_program *prog;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(schema, rule, strlen(rule), &prog, &d), EQLITE_OK, "%s: %s", rule,
                 d.message);
    eqlite_matcher *m;
    cr_assert_eq(eqlite_matcher_new(prog, NULL, &m), EQLITE_OK);
    *hit = -1;
    eqlite_status st = eqlite_match(m, &ev.ev, hit);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    return st;
}

Test(vm, overflow_at_run_time_fails_the_call_with_earith)
{
    int hit;
    tev_int(&ev, "n", INT64_MAX);
    cr_assert_eq(match_status("process where n + 1 > 0", &hit), EQLITE_EARITH);
    cr_assert_eq(hit, 0);
    cr_assert_eq(match_status("process where n * -2 < 0", &hit), EQLITE_EARITH);
    cr_assert_eq(match_status("process where n - 1 > 0", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
    tev_int(&ev, "n", INT64_MIN);
    cr_assert_eq(match_status("process where -n > 0", &hit), EQLITE_EARITH);
    cr_assert_eq(match_status("process where n / -1 < 0", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
    tev_int(&ev, "n", 0);
    cr_assert_eq(match_status("process where 10 / n == 1", &hit), EQLITE_EARITH);
    cr_assert_eq(match_status("process where 10 % n == 1", &hit), EQLITE_EARITH);
    cr_assert_eq(match_status("process where 10.0 / n > 1", &hit), EQLITE_OK); /* Infinity */
    cr_assert_eq(hit, 1);
    /* field values are longs: past 32 bits is fine */
    tev_int(&ev, "n", INT32_MAX);
    cr_assert_eq(match_status("process where n + 1 == 2147483648", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
    /* length() is an int: int * int overflows at 32 bits */
    tev_str(&ev, "s", "abc");
    cr_assert_eq(match_status("process where length(s) * 1000000000 > 0", &hit), EQLITE_EARITH);
    cr_assert_eq(match_status("process where length(s) * 100000000 > 0", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
}

Test(vm, overflow_in_a_sequence_fails_the_feed)
{
    eqlite_schema_set_grow(schema, 1);
    eqlite_schema_set_category_field(schema, "event.category", 14);
    const char *rule = "sequence [process where n + 1 > 0] [process where true]";
    eqlite_program *prog;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(schema, rule, strlen(rule), &prog, &d), EQLITE_OK, "%s", d.message);
    eqlite_matcher *m;
    cr_assert_eq(eqlite_matcher_new(prog, NULL, &m), EQLITE_OK);
    tev_int(&ev, "n", INT64_MAX);
    cr_assert_eq(eqlite_feed(m, &ev.ev, NULL, NULL), EQLITE_EARITH);
    tev_int(&ev, "n", 1);
    ev.ev.timestamp = 1;
    cr_assert_eq(eqlite_feed(m, &ev.ev, NULL, NULL), EQLITE_OK, "the error does not stick");
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
}

/* A `version`-typed field compares in the version field's order (range
 * queries on Elasticsearch's version type, VersionEncoder), not as text. */
Test(vm, version_fields_compare_in_semver_order)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_add(schema, "agent.version", 13, EQLITE_T_VERSION, &id), EQLITE_OK);
    cr_assert_lt(id, 64u);
    ev.fields[id] = (eqlite_value){EQLITE_STRING, 6, {.s = "1.10.0"}};
    int hit;
    cr_assert_eq(match_status("process where agent.version > \"1.9.0\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1, "1.10.0 > 1.9.0 as versions");
    cr_assert_eq(match_status("process where agent.version < \"1.10.0-rc.1\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 0, "a pre-release is lower than its release");
    cr_assert_eq(match_status("process where agent.version >= \"1.10.0\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
    cr_assert_eq(match_status("process where agent.version < \"1.10.0.1\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1);
    cr_assert_eq(match_status("process where agent.version < \"abc\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1, "illegal versions sort after legal ones");
    eqlite_value two[2] = {{EQLITE_STRING, 5, {.s = "2.0.0"}}, {EQLITE_STRING, 3, {.s = "0.9"}}};
    ev.fields[id] = (eqlite_value){EQLITE_ARRAY, 2, {.a = two}};
    cr_assert_eq(match_status("process where agent.version < \"0.10\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 1, "any element");
    /* a keyword field keeps text order */
    tev_str(&ev, "kw", "1.10.0");
    cr_assert_eq(match_status("process where kw > \"1.9.0\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 0);
}

/* An `ip`-typed field: == and in are Elasticsearch's term(s) queries on the
 * ip type (IpFieldMapper.termQuery: the value is parsed as an address, or a
 * CIDR block when it has a '/'); <, > compare addresses (InetAddressPoint). */
Test(vm, ip_fields_compare_as_addresses)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_add(schema, "source.ip", 9, EQLITE_T_IP, &id), EQLITE_OK);
    cr_assert_lt(id, 64u);
    ev.fields[id] = (eqlite_value){EQLITE_STRING, 8, {.s = "10.0.0.5"}};
    static const struct {
        const char *rule;
        int hit;
    } cases[] = {
        {"process where source.ip == \"10.0.0.5\"", 1},
        {"process where source.ip == \"::ffff:10.0.0.5\"", 1},
        {"process where source.ip == \"10.0.0.0/8\"", 1},
        {"process where source.ip == \"10.0.1.0/24\"", 0},
        {"process where source.ip != \"10.0.0.5\"", 0},
        {"process where source.ip > \"9.255.255.255\"", 1},
        {"process where source.ip < \"10.0.0.10\"", 1}, /* as text "10.0.0.5" > "10.0.0.10" */
        {"process where source.ip >= \"::1\"", 1},       /* IPv4 sorts as ::ffff:a.b.c.d */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int hit;
        cr_assert_eq(match_status(cases[i].rule, &hit), EQLITE_OK, "%s", cases[i].rule);
        cr_expect_eq(hit, cases[i].hit, "%s", cases[i].rule);
    }
    ev.fields[id] = (eqlite_value){EQLITE_STRING, 15, {.s = "0:0:0:0:0:0:0:1"}};
    int hit;
    cr_assert_eq(match_status("process where source.ip == \"::1\"", &hit), EQLITE_OK);
    cr_expect_eq(hit, 1);
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(schema, "process where source.ip == \"abc\"", 32, &(eqlite_program *){NULL}, &d),
                 EQLITE_ETYPE);
    cr_expect_str_eq(d.message, "'abc' is not an IP string literal.");
    cr_assert_eq(eqlite_compile(schema, "process where source.ip < \"10.0.0.0/8\"", 38, &(eqlite_program *){NULL}, &d),
                 EQLITE_ETYPE);
    cr_expect_str_eq(d.message, "'10.0.0.0/8' is not an IP string literal.");
}

/* Elasticsearch's term and range queries read a string given for a numeric
 * or boolean field as that field's type: `pid == "4"` is `pid == 4`, and a
 * string that does not parse fails the query (a compile error here). */
Test(vm, strings_for_numeric_and_boolean_fields_compare_as_their_values)
{
    uint32_t pid, ratio, flag;
    cr_assert_eq(eqlite_schema_add(schema, "process.pid", 11, EQLITE_T_LONG, &pid), EQLITE_OK);
    cr_assert_eq(eqlite_schema_add(schema, "ratio", 5, EQLITE_T_DOUBLE, &ratio), EQLITE_OK);
    cr_assert_eq(eqlite_schema_add(schema, "flag", 4, EQLITE_T_BOOLEAN, &flag), EQLITE_OK);
    ev.fields[pid] = (eqlite_value){EQLITE_INT, 0, {.i = 4}};
    ev.fields[ratio] = (eqlite_value){EQLITE_DOUBLE, 0, {.d = 2.5}};
    ev.fields[flag] = (eqlite_value){EQLITE_BOOL, 0, {.b = 1}};
    static const struct {
        const char *rule;
        int hit;
    } cases[] = {
        {"process where process.pid == \"4\"", 1},   {"process where process.pid != \"4\"", 0},
        {"process where process.pid == \"4.0\"", 1}, {"process where process.pid == \"4.5\"", 0},
        {"process where process.pid == \"+4\"", 1},  {"process where process.pid == \"4e0\"", 1},
        {"process where process.pid < \"5\"", 1},    {"process where process.pid >= \"4.5\"", 0},
        {"process where process.pid > \"3.5\"", 1},  {"process where ratio == \"2.5\"", 1},
        {"process where ratio < \"3\"", 1},          {"process where flag == \"true\"", 1},
        {"process where flag == \"false\"", 0},      {"process where flag != \"false\"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int hit;
        cr_assert_eq(match_status(cases[i].rule, &hit), EQLITE_OK, "%s", cases[i].rule);
        cr_expect_eq(hit, cases[i].hit, "%s", cases[i].rule);
    }
    eqlite_diag d;
    const char *bad = "process where process.pid == \"abc\"";
    cr_assert_eq(eqlite_compile(schema, bad, strlen(bad), &(eqlite_program *){NULL}, &d), EQLITE_ETYPE);
    cr_expect_str_eq(d.message, "failed to create query: For input string: \"abc\" ([process.pid] is a numeric field)");
    cr_expect_eq(d.column, 30);
    /* past a long's range the query fails, as ES's Numbers.toLong does; a decimal inside it is a number */
    static const char *const out_of_range[] = {"process where process.pid == \"99999999999999999999\"",
                                               "process where process.pid < \"1e30\"",
                                               "process where process.pid > \"-9223372036854775809\""};
    for (size_t i = 0; i < sizeof out_of_range / sizeof *out_of_range; i++) {
        cr_assert_eq(eqlite_compile(schema, out_of_range[i], strlen(out_of_range[i]), &(eqlite_program *){NULL}, &d),
                     EQLITE_ETYPE, "%s", out_of_range[i]);
        cr_expect(strstr(d.message, "is out of range for a long ([process.pid] is a numeric field)"), "%s", d.message);
    }
    int hit;
    cr_assert_eq(match_status("process where process.pid < \"9223372036854775807\"", &hit), EQLITE_OK);
    cr_expect_eq(hit, 1, "the largest long is a long");
    char longer[200] = "process where process.pid < \"4.5";
    memset(longer + strlen(longer), '0', 120);
    strcat(longer, "\"");
    cr_assert_eq(match_status(longer, &hit), EQLITE_OK, "a long spelling of 4.5 is 4.5");
    cr_expect_eq(hit, 1);
    bad = "process where flag == \"yes\"";
    cr_assert_eq(eqlite_compile(schema, bad, strlen(bad), &(eqlite_program *){NULL}, &d), EQLITE_ETYPE);
    cr_expect_str_eq(d.message, "failed to create query: Can't parse boolean value [yes], expected [true] or [false]");
}

/* Elasticsearch parses a value compared with a numeric field as the field's
 * own type and fails the query past what it holds (NumberFieldMapper's
 * NumberType.parse): an integer, short or byte field's range, and a floating
 * field's finite values. Before, `tokens < 3000000000` matched every event
 * and `ratio < "NaN"` matched 2.5. */
Test(vm, values_past_what_a_numeric_field_holds_fail_the_query)
{
    static const struct {
        const char *name;
        eqlite_type type;
    } fields[] = {{"tokens", EQLITE_T_INTEGER}, {"port", EQLITE_T_SHORT}, {"level", EQLITE_T_BYTE},
                  {"ratio", EQLITE_T_DOUBLE},   {"load", EQLITE_T_FLOAT},  {"half", EQLITE_T_HALF_FLOAT}};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        uint32_t id;
        cr_assert_eq(eqlite_schema_add(schema, fields[i].name, strlen(fields[i].name), fields[i].type, &id), EQLITE_OK);
        ev.fields[id] = i < 3 ? (eqlite_value){EQLITE_INT, 0, {.i = 5}} : (eqlite_value){EQLITE_DOUBLE, 0, {.d = 2.5}};
    }
    static const struct {
        const char *rule, *message;
    } fail[] = {
        {"process where tokens == 3000000000", "Value [3000000000] is out of range for an integer ([tokens] is a numeric field)"},
        {"process where tokens < \"3000000000\"", "Value [3000000000] is out of range for an integer"},
        {"process where tokens > -2147483649", "Value [-2147483649] is out of range for an integer"},
        {"process where tokens in (5, 2147483648)", "Value [2147483648] is out of range for an integer"},
        {"process where 40000 > port", "Value [40000] is out of range for a short ([port] is a numeric field)"},
        {"process where level != 128", "Value [128] is out of range for a byte"},
        {"process where tokens <= 2147483648.5", "Value [2147483648.5] is out of range for an integer"},
        {"process where ratio < \"NaN\"", "[double] supports only finite values, but got [NaN]"},
        {"process where ratio == \"1e400\"", "[double] supports only finite values, but got [Infinity]"},
        {"process where load == 1e39", "[float] supports only finite values, but got [Infinity]"},
        {"process where half > -70000", "[half_float] supports only finite values, but got [-Infinity]"},
    };
    for (size_t i = 0; i < sizeof fail / sizeof *fail; i++) {
        eqlite_diag d;
        cr_assert_eq(eqlite_compile(schema, fail[i].rule, strlen(fail[i].rule), &(eqlite_program *){NULL}, &d),
                     EQLITE_ETYPE, "%s", fail[i].rule);
        cr_expect(strstr(d.message, fail[i].message), "%s: %s", fail[i].rule, d.message);
    }
    static const struct {
        const char *rule;
        int hit;
    } hold[] = {
        {"process where tokens < 2147483647", 1}, {"process where tokens > -2147483648", 1},
        {"process where tokens == 3000000000.5", 0}, /* a decimal part matches nothing first */
        {"process where port == 32767", 0},       {"process where level >= -128", 1},
        {"process where ratio < 1e300", 1},       {"process where load < 3e38", 1},
        {"process where half < 65504", 1},
    };
    for (size_t i = 0; i < sizeof hold / sizeof *hold; i++) {
        int hit;
        cr_assert_eq(match_status(hold[i].rule, &hit), EQLITE_OK, "%s", hold[i].rule);
        cr_expect_eq(hit, hold[i].hit, "%s", hold[i].rule);
    }
}

/* Elasticsearch runs a condition with functions or arithmetic as a script
 * that tries every value of each multi-valued field it reads
 * (Scripts.multiValueDocValuesRewrite), and startsWith / endsWith /
 * stringContains / cidrMatch on a field as prefix, wildcard and terms
 * queries: either way, some value has to satisfy it. */
Test(vm, functions_try_every_value_of_a_multi_valued_field)
{
    uint32_t id;
    eqlite_schema_set_grow(schema, 1);
    cr_assert_eq(eqlite_schema_add(schema, "process.args", 12, EQLITE_T_KEYWORD, &id), EQLITE_OK);
    eqlite_value args[3] = {{EQLITE_STRING, 7, {.s = "mmc.exe"}},
                            {EQLITE_STRING, 11, {.s = "-Embedding!"}},
                            {EQLITE_STRING, 10, {.s = "gpedit.msc"}}};
    ev.fields[id] = (eqlite_value){EQLITE_ARRAY, 3, {.a = args}};
    static const struct {
        const char *rule;
        int hit;
    } cases[] = {
        {"process where endsWith~(process.args, \".MSC\")", 1},     /* the third value */
        {"process where startsWith(process.args, \"-Emb\")", 1},    /* the second */
        {"process where length(process.args) == 11", 1},
        {"process where length(process.args) == 12", 0},
        {"process where not length(process.args) == 11", 0},      /* not (some value) */
        {"process where length(process.args) != 7", 1},           /* some value is not 7 long */
        {"process where concat(process.args, \"/\", process.args) == \"gpedit.msc/mmc.exe\"", 1}, /* each read its own */
        {"process where length(process.args) + 1 == 12", 1},
        {"process where process.args == \"gpedit.msc\"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int hit;
        cr_assert_eq(match_status(cases[i].rule, &hit), EQLITE_OK, "%s", cases[i].rule);
        cr_expect_eq(hit, cases[i].hit, "%s", cases[i].rule);
    }
    eqlite_value none[1];
    ev.fields[id] = (eqlite_value){EQLITE_ARRAY, 0, {.a = none}};
    int hit;
    cr_assert_eq(match_status("process where length(process.args) == 0", &hit), EQLITE_OK);
    cr_expect_eq(hit, 0, "an empty field is null, as a missing one");
}

Test(vm, too_many_element_choices_is_an_error_not_a_miss)
{
    uint32_t id;
    eqlite_schema_set_grow(schema, 1);
    cr_assert_eq(eqlite_schema_add(schema, "many", 4, EQLITE_T_KEYWORD, &id), EQLITE_OK);
    enum { N = 1100 };
    eqlite_value *vals = malloc(N * sizeof *vals);
    for (size_t k = 0; k < N; k++)
        vals[k] = (eqlite_value){EQLITE_STRING, 1, {.s = "x"}};
    ev.fields[id] = (eqlite_value){EQLITE_ARRAY, N, {.a = vals}};
    int hit;
    /* 1100 x 1100 choices pass the budget of 2^20 */
    cr_assert_eq(match_status("process where concat(many, many) == \"y\"", &hit), EQLITE_ELIMIT);
    cr_assert_eq(match_status("process where concat(many) == \"y\"", &hit), EQLITE_OK);
    cr_assert_eq(hit, 0);
    free(vals);
}
