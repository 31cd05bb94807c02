/* fmt: comments survive formatting, in order and next to their code, and the
 * output still parses to the same tree and is a fixed point. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "fmt.h"

/* Formats rule, checks the round trip and idempotence, returns the output. */
static const char *fmt(const char *rule)
{
    static char once[4096];
    char twice[4096];
    eqlite_diag d;
    cr_assert_eq(eqlite_format(rule, strlen(rule), once, sizeof once, NULL, &d), EQLITE_OK, "[%s]: %s", rule,
                 d.message);
    int equal = 0;
    cr_assert_eq(eq_parse_equal(rule, strlen(rule), once, strlen(once), &equal), EQLITE_OK,
                 "output does not parse:\n%s", once);
    cr_assert(equal, "fmt changed the tree:\n%s", once);
    cr_assert_eq(eqlite_format(once, strlen(once), twice, sizeof twice, NULL, &d), EQLITE_OK);
    cr_assert_str_eq(once, twice, "not idempotent:\n%s\nthen:\n%s", once, twice);
    return once;
}

Test(fmt, rules_without_comments_keep_the_canonical_layout)
{
    cr_assert_str_eq(fmt("process where a==1 and b in (\"x\",\"y\")"), "process where a == 1 and b in (\"x\", \"y\")\n");
    cr_assert_str_eq(fmt("sequence by h [a where true] [b where true] | head 1"),
                     "sequence by h\n  [a where true]\n  [b where true]\n| head 1\n");
}

Test(fmt, line_comment_before_query_heads_the_output)
{
    cr_assert_str_eq(fmt("// why this rule\n// second line\nprocess where true"),
                     "// why this rule\n// second line\nprocess where true\n");
    cr_assert_str_eq(fmt("  /* header */ sequence [a where true] [b where true]"),
                     "/* header */ sequence\n  [a where true]\n  [b where true]\n");
}

Test(fmt, line_comment_between_sequence_clauses_stays_between_them)
{
    cr_assert_str_eq(fmt("sequence by host.id\n  [process where true]\n  // then the file\n  [file where true]"),
                     "sequence by host.id\n  [process where true]\n  // then the file\n  [file where true]\n");
}

Test(fmt, trailing_line_comment_stays_on_its_line)
{
    cr_assert_str_eq(fmt("sequence\n  [process where true] // the parent\n  [file where true]"),
                     "sequence\n  [process where true] // the parent\n  [file where true]\n");
    cr_assert_str_eq(fmt("process where a == 1 and // first\n b == 2"),
                     "process where a == 1 and // first\n  b == 2\n");
}

Test(fmt, comment_on_an_in_list_item_is_kept_next_to_it)
{
    cr_assert_str_eq(fmt("process where name in (\n  \"a.exe\", // the usual one\n  \"b.exe\",\n  /* legacy */\n  \"c.exe\"\n)"),
                     "process where name in (\"a.exe\", // the usual one\n  \"b.exe\",\n  /* legacy */\n  \"c.exe\")\n");
    cr_assert_str_eq(fmt("process where name : (\"a\", /* inline */ \"b\")"),
                     "process where name : (\"a\", /* inline */ \"b\")\n");
}

Test(fmt, trailing_comment_at_the_end_is_kept)
{
    cr_assert_str_eq(fmt("process where true // done\n"), "process where true // done\n");
    cr_assert_str_eq(fmt("process where true\n/* own line at the end */\n"),
                     "process where true\n/* own line at the end */\n");
    cr_assert_str_eq(fmt("process where true | head 5 /* five */"), "process where true\n| head 5 /* five */\n");
}

Test(fmt, block_comment_stays_inline)
{
    cr_assert_str_eq(fmt("process where a == /* the flag */ 1 and (/* or */ b or c)"),
                     "process where a == /* the flag */ 1 and (/* or */ b or c)\n");
    cr_assert_str_eq(fmt("process where /* a\n  multi-line\n  comment */ true"),
                     "process where /* a\n  multi-line\n  comment */ true\n");
    cr_assert_str_eq(fmt("process where /* outer /* nested */ still outer */ true"),
                     "process where /* outer /* nested */ still outer */ true\n");
}

Test(fmt, comments_inside_parentheses_stay_inside_the_group)
{
    cr_assert_str_eq(fmt("process where x and /* before */ (\n  // first\n  (a and b) or\n  // second\n  (c and d)\n  // last\n)"),
                     "process where x and /* before */ (\n  // first\n  a and b or\n  // second\n  c and d\n  // last\n  )\n");
    cr_assert_str_eq(fmt("process where (a or (b and c) /* inner */) and f(x /* arg */) and y in (1, 2 /* two */)"),
                     "process where (a or b and c /* inner */) and f(x /* arg */) and y in (1, 2 /* two */)\n");
    cr_assert_str_eq(fmt("sequence [a where x // why\n] [b where y]"), "sequence\n  [a where x // why\n    ]\n  [b where y]\n");
}

Test(fmt, line_comment_at_end_of_input_without_newline_is_kept)
{
    cr_assert_str_eq(fmt("process where true //no newline"), "process where true //no newline\n");
    cr_assert_str_eq(fmt("sequence [a where true] [b where true] until [c where true]//x"),
                     "sequence\n  [a where true]\n  [b where true]\nuntil [c where true] //x\n");
}

Test(fmt, line_comment_never_swallows_the_code_after_it)
{
    /* the comment sat before `by`, `with` and a pipe: each must start a new line */
    cr_assert_str_eq(fmt("sequence // k\n by h // m\n with maxspan=5m [a where true] [b where x] // y\n by z | head 1"),
                     "sequence // k\n  by h // m\n  with maxspan=5m\n  [a where true]\n  [b where x] // y\n    by z\n| head 1\n");
}

Test(fmt, crlf_line_ends_do_not_stick_to_line_comments)
{
    cr_assert_str_eq(fmt("process where a == 1 // one\r\n and b == 2\r\n"), "process where a == 1 and // one\n  b == 2\n");
}

Test(fmt, comment_markers_inside_strings_are_not_comments)
{
    cr_assert_str_eq(fmt("process where url == \"http://x/*y*/\" and p : \"\"\"C://*\"\"\""),
                     "process where url == \"http://x/*y*/\" and p : \"C://*\"\n");
}

Test(fmt, a_too_small_buffer_reports_the_size_with_comments)
{
    const char *rule = "process where true // c";
    size_t need = 0;
    char small[8];
    cr_assert_eq(eqlite_format(rule, strlen(rule), small, sizeof small, &need, NULL), EQLITE_ELIMIT);
    cr_assert_eq(need, strlen("process where true // c\n") + 1);
    cr_assert_str_eq(small, "process", "a short buffer holds the text's first cap - 1 bytes");
}

/* Layout past LINE_WIDTH (100): one condition per line, one list item per line. */

Test(fmt, a_rule_that_fits_stays_on_one_line)
{
    const char *rule = "process where process.name : (\"cmd.exe\", \"powershell.exe\") and process.parent.name == \"x\"";
    cr_assert_str_eq(fmt(rule), "process where process.name : (\"cmd.exe\", \"powershell.exe\") and process.parent.name == \"x\"\n");
}

Test(fmt, a_long_chain_puts_one_condition_per_line)
{
    cr_assert_str_eq(fmt("process where host.os.type == \"windows\" and event.type == \"start\" and process.name : \"cmd.exe\" "
                         "and process.parent.name != \"explorer.exe\""),
                     "process where host.os.type == \"windows\" and\n"
                     "  event.type == \"start\" and\n"
                     "  process.name : \"cmd.exe\" and\n"
                     "  process.parent.name != \"explorer.exe\"\n");
}

Test(fmt, a_long_list_puts_one_item_per_line)
{
    cr_assert_str_eq(fmt("process where process.parent.name : (\"lsass.exe\", \"csrss.exe\", \"epad.exe\", \"regsvr32.exe\", "
                         "\"dllhost.exe\", \"LogonUI.exe\", \"wermgr.exe\")"),
                     "process where process.parent.name : (\n"
                     "    \"lsass.exe\",\n    \"csrss.exe\",\n    \"epad.exe\",\n    \"regsvr32.exe\",\n"
                     "    \"dllhost.exe\",\n    \"LogonUI.exe\",\n    \"wermgr.exe\"\n"
                     "  )\n");
}

Test(fmt, a_long_group_in_parentheses_opens_a_block)
{
    cr_assert_str_eq(fmt("process where process.name : \"cmd.exe\" and not (process.parent.name : \"dllhost.exe\" and "
                         "process.parent.args : \"/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}\")"),
                     "process where process.name : \"cmd.exe\" and\n"
                     "  not (\n"
                     "    process.parent.name : \"dllhost.exe\" and\n"
                     "    process.parent.args : \"/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}\"\n"
                     "  )\n");
}

Test(fmt, an_and_inside_a_broken_or_goes_two_deeper)
{
    cr_assert_str_eq(fmt("file where file.path : \"C:\\\\Windows\\\\System32\\\\drivers\\\\etc\\\\hosts\" or "
                         "file.extension == \"exe\" and file.path : \"C:\\\\Users\\\\*\\\\AppData\\\\Local\\\\Temp\\\\*\\\\*.tmp\" and "
                         "process.name : \"winword.exe\""),
                     "file where file.path : \"C:\\\\Windows\\\\System32\\\\drivers\\\\etc\\\\hosts\" or\n"
                     "  file.extension == \"exe\" and\n"
                     "    file.path : \"C:\\\\Users\\\\*\\\\AppData\\\\Local\\\\Temp\\\\*\\\\*.tmp\" and\n"
                     "    process.name : \"winword.exe\"\n");
}

Test(fmt, sequence_terms_break_inside_their_brackets)
{
    cr_assert_str_eq(fmt("sequence by host.id with maxspan=1m [process where event.type == \"start\" and "
                         "process.name : \"git\" and process.args == \"clone\" and process.args like~ \"http*\"] "
                         "by process.entity_id [network where true]"),
                     "sequence by host.id with maxspan=1m\n"
                     "  [process where event.type == \"start\" and\n"
                     "    process.name : \"git\" and\n"
                     "    process.args == \"clone\" and\n"
                     "    process.args like~ \"http*\"] by process.entity_id\n"
                     "  [network where true]\n");
}

Test(fmt, long_call_arguments_go_one_per_line)
{
    cr_assert_str_eq(fmt("network where not cidrmatch(destination.ip, \"10.0.0.0/8\", \"127.0.0.0/8\", \"169.254.0.0/16\", "
                         "\"172.16.0.0/12\", \"192.168.0.0/16\")"),
                     "network where not cidrmatch(\n"
                     "    destination.ip,\n    \"10.0.0.0/8\",\n    \"127.0.0.0/8\",\n    \"169.254.0.0/16\",\n"
                     "    \"172.16.0.0/12\",\n    \"192.168.0.0/16\"\n"
                     "  )\n");
}

Test(fmt, comments_keep_their_place_in_a_broken_rule)
{
    cr_assert_str_eq(fmt("process where host.os.type == \"windows\" and // only Windows\n event.type == \"start\" and "
                         "process.name : (\"a.exe\", /* b */ \"b.exe\", \"c-with-a-long-name.exe\", \"d-with-a-long-name.exe\", \"e-with-a-long-name.exe\")"),
                     "process where host.os.type == \"windows\" and // only Windows\n"
                     "  event.type == \"start\" and\n"
                     "  process.name : (\n"
                     "    \"a.exe\", /* b */\n    \"b.exe\",\n    \"c-with-a-long-name.exe\",\n    \"d-with-a-long-name.exe\",\n"
                     "    \"e-with-a-long-name.exe\"\n"
                     "  )\n");
}
