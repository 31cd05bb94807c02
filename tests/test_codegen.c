/* Codegen: golden disassembly of small programs. */
#include <criterion/criterion.h>
#include <string.h>

#include "support.h"

static const char *explain(const char *rule)
{
    static char out[8192];
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_set_grow(s, 1);
    eqlite_program *p;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(s, rule, strlen(rule), &p, &d), EQLITE_OK, "%s", d.message);
    eqlite_program_explain(p, out, sizeof out, NULL);
    eqlite_program_free(p);
    eqlite_schema_free(s);
    return out;
}

Test(codegen, event_query_tests_the_category_first_and_fuses_field_tests)
{
    cr_assert_str_eq(explain("process where process.name : \"CMD.exe\" and pid == 4"),
                     "; term 0: filter @0 keys @6 (0)\n"
                     "   0  F_STR_EQ    event.category \"process\" guard\n"
                     "   1  JNT         ->5\n"
                     "   2  F_CMP       pid == 4\n"
                     "   3  JNT         ->5\n"
                     "   4  F_STR_EQ_I  process.name \"cmd.exe\"\n"
                     "   5  RET        \n"
                     "   6  RET        \n");
}

Test(codegen, constants_fold_at_compile_time)
{
    cr_assert_str_eq(explain("any where x == 1 + 2 * 3"),
                     "; term 0: filter @0 keys @2 (0)\n"
                     "   0  F_CMP       x == 7\n"
                     "   1  RET        \n"
                     "   2  RET        \n");
    cr_assert_str_eq(explain("any where concat(\"a\", \"b\") == \"ab\""),
                     "; term 0: filter @0 keys @2 (0)\n"
                     "   0  SET_ACC     true\n"
                     "   1  RET        \n"
                     "   2  RET        \n");
}

Test(codegen, lists_become_pattern_sets)
{
    const char *out = explain("any where a : (\"x.exe\", \"y.exe\", \"*.dll\", \"c:\\\\*\\\\z\")");
    cr_assert(strstr(out, "F_MATCH     a patterns#0(caseless exact=2 prefix=0 suffix=1 contains=0 glob=1 regex=0)"), "%s", out);
}

Test(codegen, not_keeps_three_valued_logic)
{
    /* "a and b" keeps null apart from false (AND3), and NOT flips it as a
     * three-valued not, not a jump (F_NOT_NULL would also contain "NOT"). */
    cr_assert_str_eq(explain("any where not (a == \"x\" and b == \"y\")"),
                     "; term 0: filter @0 keys @7 (0)\n"
                     "   0  F_STR_EQ    a \"x\"\n"
                     "   1  JF          ->5\n"
                     "   2  PUSH_ACC   \n"
                     "   3  F_STR_EQ    b \"y\"\n"
                     "   4  AND3       \n"
                     "   5  NOT        \n"
                     "   6  RET        \n"
                     "   7  RET        \n");
}
