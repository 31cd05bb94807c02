/* Diagnostics: first error only, line:col, the source line and a caret. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const char *render(const char *rule, eqlite_diag *d)
{
    static char out[2048];
    compile_status(rule, d);
    eqlite_diag_format(d, rule, strlen(rule), out, sizeof out);
    return out;
}

Test(diagnostics, caret_and_tildes_underline_the_offending_token)
{
    eqlite_diag d;
    const char *out = render("process where\n  pid == ppid", &d);
    cr_assert_eq(d.line, 2);
    cr_assert_eq(d.column, 3);
    cr_assert_str_eq(out,
                     "2:3: Comparisons against fields are not (currently) supported; offender [ppid] in [==]\n"
                     "  pid == ppid\n"
                     "  ^~~~~~~~~~~\n");
}

Test(diagnostics, syntax_error_points_at_the_unexpected_token)
{
    eqlite_diag d;
    const char *out = render("process where a < b < c", &d);
    cr_assert_eq(d.code, EQLITE_ESYNTAX);
    cr_assert_str_eq(out, "1:21: mismatched input '<'\nprocess where a < b < c\n                    ^\n");
}

Test(diagnostics, format_reports_the_size_it_needs_and_truncates_safely)
{
    eqlite_diag d;
    const char *rule = "process where x == 'a'";
    compile_status(rule, &d);
    size_t need = eqlite_diag_format(&d, rule, strlen(rule), NULL, 0);
    cr_assert_gt(need, 20);
    char small[8];
    eqlite_diag_format(&d, rule, strlen(rule), small, sizeof small);
    cr_assert_eq(strlen(small), 7);
}

Test(diagnostics, only_the_first_error_is_reported)
{
    eqlite_diag d;
    compile_status("process where pid == ppid and x == y", &d);
    cr_assert(strstr(d.message, "[ppid]"), "%s", d.message);
}

Test(diagnostics, status_codes_have_text)
{
    cr_assert_str_eq(eqlite_strerror(EQLITE_OK), "ok");
    cr_assert_str_eq(eqlite_strerror(EQLITE_ELIMIT), "limit reached");
    cr_assert_str_eq(eqlite_strerror((eqlite_status)999), "unknown status");
}
