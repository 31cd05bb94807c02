/* test_regex.c: Lucene RegExp syntax (Elasticsearch `regex`, `regex~`) as
 * translated to PCRE2 by lib/regex.c. Expected behaviour follows Lucene's
 * RegExp parser (10.x) with the flags Elasticsearch passes (RegexpFlag.ALL). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "regex.h"
#include "value.h" /* eq_fold */

/* A string literal as pointer + length. */
#define S_ARG(lit) (lit), (sizeof(lit) - 1)

static eq_regex *compile(const char *pat, bool caseless)
{
    char err[256];
    eq_regex *re = eq_regex_compile(pat, strlen(pat), caseless, err, sizeof err);
    cr_assert_not_null(re, "pattern \"%s\": %s", pat, err);
    return re;
}

static bool matches_n(const char *pat, bool caseless, const char *s, size_t n)
{
    eq_regex *re = compile(pat, caseless);
    eq_regex_scratch *scratch = eq_regex_scratch_new();
    cr_assert_not_null(scratch);
    int m = eq_regex_match(re, s, n, scratch);
    cr_assert_neq(m, -1, "pattern \"%s\": the matcher could not decide", pat);
    eq_regex_scratch_free(scratch);
    eq_regex_free(re);
    return m == 1;
}

static bool matches(const char *pat, const char *s) { return matches_n(pat, false, s, strlen(s)); }

static bool matches_ci(const char *pat, const char *s)
{
    return matches_n(pat, true, s, strlen(s));
}

/* The error message, or NULL when the pattern compiles. */
static const char *compile_error(const char *pat)
{
    static char err[256];
    eq_regex *re = eq_regex_compile(pat, strlen(pat), false, err, sizeof err);
    if (re) {
        eq_regex_free(re);
        return NULL;
    }
    return err;
}

static const char *translated(const char *pat)
{
    static char out[512];
    char err[256];
    size_t n = eq_regex_translate(pat, strlen(pat), out, sizeof out, err, sizeof err);
    cr_assert_neq(n, (size_t)-1, "pattern \"%s\": %s", pat, err);
    cr_assert_eq(n, strlen(out));
    return out;
}

/* ---- literals and anchoring -------------------------------------------------- */

Test(regex, literal_matches_whole_value_only)
{
    cr_assert(matches("explorer.exe", "explorer.exe"));
    cr_assert_not(matches("explorer", "explorer.exe"));
    cr_assert_not(matches("exe", "explorer.exe"));
    cr_assert_not(matches("explorer", "my explorer"));
}

Test(regex, matching_is_case_sensitive_by_default)
{
    cr_assert_not(matches("Explorer", "explorer"));
}

Test(regex, caret_and_dollar_are_literal_characters)
{
    cr_assert(matches("^a$", "^a$"));
    cr_assert_not(matches("^a$", "a"));
}

Test(regex, empty_pattern_matches_only_empty_value)
{
    cr_assert(matches("", ""));
    cr_assert_not(matches("", "a"));
}

Test(regex, unicode_literals)
{
    cr_assert(matches("café", "café"));
    cr_assert(matches("😀+", "😀😀"));
}

/* ---- escapes ------------------------------------------------------------------ */

Test(regex, backslash_makes_punctuation_literal)
{
    cr_assert(matches("a\\.b", "a.b"));
    cr_assert_not(matches("a\\.b", "axb"));
    cr_assert(matches("\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\"\\#\\@\\&\\<\\>\\~", "*+?()[]{}|\"#@&<>~"));
    cr_assert(matches("C:\\\\Windows\\\\.*", "C:\\Windows\\System32"));
}

Test(regex, backslash_d_is_ascii_digit_class)
{
    /* Lucene 9+ RegExp: \d \D \s \S \w \W are predefined ASCII classes. */
    cr_assert(matches("\\d+", "0123456789"));
    cr_assert_not(matches("\\d", "d"));
    cr_assert_not(matches("\\d", "\xd9\xa3")); /* ARABIC-INDIC DIGIT THREE */
    cr_assert(matches("\\D", "x"));
    cr_assert_not(matches("\\D", "7"));
}

Test(regex, backslash_s_and_w_classes)
{
    cr_assert(matches("a\\sb", "a b"));
    cr_assert(matches("a\\sb", "a\tb"));
    cr_assert_not(matches("a\\sb", "a\xc2\xa0" "b")); /* no-break space is not \s */
    cr_assert(matches("\\S+", "abc"));
    cr_assert(matches("\\w+", "Az_09"));
    cr_assert_not(matches("\\w", "é"));
    cr_assert(matches("\\W", "é"));
}

Test(regex, backslash_other_letter_is_rejected)
{
    const char *err = compile_error("a\\qb");
    cr_assert_not_null(err);
    cr_assert(strstr(err, "\\q") && strstr(err, "offset 1"), "%s", err);
    cr_assert_not_null(compile_error("\\n"));
    cr_assert_not_null(compile_error("[\\t]"));
}

Test(regex, dangling_backslash_is_rejected)
{
    cr_assert_not_null(compile_error("abc\\"));
}

Test(regex, quoted_string_is_literal)
{
    cr_assert(matches("\"a.b*\"", "a.b*"));
    cr_assert_not(matches("\"a.b*\"", "axbbb"));
    cr_assert(matches("x\"\\d\"y", "x\\dy"));
    cr_assert(matches("\"\"", ""));
}

Test(regex, quoted_string_repeats_as_a_unit)
{
    cr_assert(matches("\"ab\"+", "ababab"));
    cr_assert_not(matches("\"ab\"+", "abb"));
    cr_assert_not(matches("ab+", "abab"));
}

Test(regex, unterminated_quote_is_rejected)
{
    cr_assert_not_null(compile_error("\"abc"));
}

/* ---- any character, classes ---------------------------------------------------- */

Test(regex, dot_matches_any_code_point_including_newline)
{
    cr_assert(matches("a.c", "abc"));
    cr_assert(matches("a.c", "a\nc"));
    cr_assert(matches(".", "😀"));
    cr_assert_not(matches("..", "😀"));
    cr_assert_not(matches(".", ""));
}

Test(regex, class_ranges_and_members)
{
    cr_assert(matches("[a-c]+", "abcabc"));
    cr_assert_not(matches("[a-c]", "d"));
    cr_assert(matches("[a-cx-z0]", "0"));
    cr_assert(matches("[α-ω]", "λ"));
}

Test(regex, negated_class)
{
    cr_assert(matches("[^a-c]", "d"));
    cr_assert_not(matches("[^a-c]", "b"));
    cr_assert(matches("[^a]", "\n"));
    cr_assert(matches("[^a]", "😀"));
}

Test(regex, special_characters_are_literal_inside_a_class)
{
    cr_assert(matches("[.*+?(){}|\"#@&<>~$]+", ".*+?(){}|\"#@&<>~$"));
    cr_assert_not(matches("[.]", "x"));
    cr_assert(matches("[[]", "["));
    cr_assert(matches("[a^]", "^"));
}

Test(regex, first_close_bracket_is_a_member)
{
    cr_assert(matches("[]a]", "]"));
    cr_assert(matches("[]a]", "a"));
    cr_assert_not_null(compile_error("[]"));
}

Test(regex, escapes_inside_a_class)
{
    cr_assert(matches("[\\]]", "]"));
    cr_assert(matches("[\\-a]", "-"));
    cr_assert(matches("[\\\\]", "\\"));
    cr_assert(matches("[\\d_]+", "4_2"));
    cr_assert_not(matches("[\\d_]", "x"));
    cr_assert(matches("[^\\d]", "x"));
    cr_assert(matches("[\\W]", " "));
}

Test(regex, reversed_range_is_rejected)
{
    cr_assert_not_null(compile_error("[z-a]"));
}

Test(regex, unterminated_class_is_rejected)
{
    const char *err = compile_error("[abc");
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "invalid Lucene regex: expected ']' at offset 4");
}

/* ---- operators ----------------------------------------------------------------- */

Test(regex, union_and_groups)
{
    cr_assert(matches("cmd|powershell", "powershell"));
    cr_assert(matches("(cmd|power)shell", "powershell"));
    cr_assert(matches("(cmd|power)shell", "cmdshell"));
    cr_assert_not(matches("(cmd|power)shell", "shell"));
    cr_assert(matches("a|ab", "ab"));
}

Test(regex, empty_group_is_the_empty_string)
{
    cr_assert(matches("a()b", "ab"));
    cr_assert(matches("()", ""));
}

Test(regex, optional_star_plus)
{
    cr_assert(matches("colou?r", "color"));
    cr_assert(matches("colou?r", "colour"));
    cr_assert(matches("ab*c", "ac"));
    cr_assert(matches("ab*c", "abbbc"));
    cr_assert_not(matches("ab+c", "ac"));
    cr_assert(matches("ab+c", "abc"));
}

Test(regex, bounded_repeats)
{
    cr_assert(matches("a{3}", "aaa"));
    cr_assert_not(matches("a{3}", "aa"));
    cr_assert(matches("a{2,}", "aaaaa"));
    cr_assert_not(matches("a{2,}", "a"));
    cr_assert(matches("a{2,3}", "aaa"));
    cr_assert_not(matches("a{2,3}", "aaaa"));
    cr_assert(matches("a{0}b", "b"));
}

Test(regex, stacked_operators_repeat_the_repetition)
{
    cr_assert(matches("a**", "aaa"));
    cr_assert(matches("a++", "aaa"));
    cr_assert_not(matches("a++", ""));
    cr_assert(matches("a??", ""));
    cr_assert_not(matches("a??", "aa"));
    cr_assert(matches("a{2}*", "aaaa"));
    cr_assert_not(matches("a{2}*", "aaa"));
    cr_assert(matches("a*{2}", "aaa"));
    cr_assert(matches("(ab){1,2}+", "ababab"));
    cr_assert(matches("a?+", "aa"));
    cr_assert(matches("a?+", ""));
    cr_assert(matches("a{2}{2}", "aaaa"));
    cr_assert_not(matches("a{2}{2}", "aaa"));
    cr_assert(matches("a+?", ""));
}

Test(regex, malformed_repeats_are_rejected)
{
    cr_assert_not_null(compile_error("a{"));
    cr_assert_not_null(compile_error("a{,2}"));
    cr_assert_not_null(compile_error("a{2"));
    cr_assert_not_null(compile_error("a{3,2}"));
    cr_assert_not_null(compile_error("a{70000}"));
}

Test(regex, operator_in_operand_position_is_literal)
{
    /* Lucene reads any character that cannot start an operand as a literal */
    cr_assert(matches("*a", "*a"));
    cr_assert(matches("+", "+"));
    cr_assert(matches("|a", "|a"));
    cr_assert(matches("a||b", "|b"));
    cr_assert(matches("{2}", "{2}"));
    cr_assert(matches("&a", "&a"));
    cr_assert(matches(")", ")"));
    cr_assert(matches(">]}", ">]}"));
}

Test(regex, unbalanced_parentheses_are_rejected)
{
    cr_assert_not_null(compile_error("(ab"));
    const char *err = compile_error("ab)");
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "invalid Lucene regex: unbalanced ')' at offset 2");
    cr_assert_not_null(compile_error("a|"));
}

/* ---- optional Lucene operators (all enabled by Elasticsearch) -------------------- */

Test(regex, at_sign_matches_any_string)
{
    cr_assert(matches("@", ""));
    cr_assert(matches("@", "anything\nat all"));
    cr_assert(matches("a@z", "a to z"));
    cr_assert_not(matches("a@z", "a to y"));
}

Test(regex, hash_is_the_empty_language)
{
    cr_assert_not(matches("#", ""));
    cr_assert_not(matches("#", "#"));
    cr_assert(matches("a|#", "a"));
    cr_assert(matches("#*", ""));
}

Test(regex, numeric_interval_without_fixed_width)
{
    cr_assert(matches("<1-10>", "1"));
    cr_assert(matches("<1-10>", "10"));
    cr_assert(matches("<1-10>", "007"));
    cr_assert_not(matches("<1-10>", "0"));
    cr_assert_not(matches("<1-10>", "11"));
    cr_assert_not(matches("<1-10>", ""));
    cr_assert(matches("port<80-443>", "port443"));
}

Test(regex, numeric_interval_with_same_width_bounds_is_fixed_width)
{
    cr_assert(matches("<01-10>", "05"));
    cr_assert_not(matches("<01-10>", "5"));
    cr_assert_not(matches("<01-10>", "005"));
    cr_assert(matches("<000-255>", "007"));
    cr_assert(matches("<0-9>", "7"));
    cr_assert_not(matches("<0-9>", "07"));
}

Test(regex, numeric_interval_bounds_may_be_reversed)
{
    cr_assert(matches("<10-1>", "5"));
    cr_assert_not(matches("<10-1>", "50"));
}

/* Lucene semantics of <lo-hi> for a candidate string of ASCII digits. */
static bool interval_accepts(long lo, long hi, int digits, const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return false;
    if (digits > 0 && len != (size_t)digits)
        return false;
    long v = strtol(s, NULL, 10);
    return v >= lo && v <= hi;
}

Test(regex, numeric_interval_agrees_with_brute_force)
{
    unsigned seed = 12345;
    char pat[64], cand[8];
    for (int round = 0; round < 60; round++) {
        seed = seed * 1103515245u + 12345u;
        long lo = (long)(seed >> 8) % 1200;
        seed = seed * 1103515245u + 12345u;
        long hi = lo + (long)(seed >> 8) % 1200;
        bool fixed = round % 3 == 0;
        int width = snprintf(cand, sizeof cand, "%ld", hi);
        if (fixed)
            snprintf(pat, sizeof pat, "<%0*ld-%ld>", width, lo, hi);
        else
            snprintf(pat, sizeof pat, "<%ld-%ld>", lo, hi);
        int digits = fixed || (int)strlen(pat) == 2 * width + 3 ? width : 0;
        eq_regex *re = compile(pat, false);
        eq_regex_scratch *scratch = eq_regex_scratch_new();
        for (int len = 1; len <= 5; len++) {
            for (long v = 0; v < 2500; v += (len > 3 ? 7 : 1)) {
                if (snprintf(cand, sizeof cand, "%0*ld", len, v) != len)
                    continue;
                bool want = interval_accepts(lo, hi, digits, cand);
                cr_assert_eq(eq_regex_match(re, cand, (size_t)len, scratch), want,
                             "%s on \"%s\"", pat, cand);
            }
        }
        eq_regex_scratch_free(scratch);
        eq_regex_free(re);
    }
}

Test(regex, malformed_intervals_are_rejected)
{
    cr_assert_not_null(compile_error("<1-"));
    cr_assert_not_null(compile_error("<-5>"));
    cr_assert_not_null(compile_error("<5->"));
    cr_assert_not_null(compile_error("<1-2-3>"));
    cr_assert_not_null(compile_error("<a-b>"));
    cr_assert_not_null(compile_error("<1-99999999999>"));
    cr_assert_not_null(compile_error("<0-2147483648>"), "a bound past Integer.MAX_VALUE");
    cr_assert_not_null(compile_error("<0-21474836470>"));
    cr_assert_null(compile_error("<0-2147483647>"), "Integer.MAX_VALUE itself");
}

Test(regex, intersection_is_rejected_clearly)
{
    const char *err = compile_error("abc&a.*");
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "unsupported Lucene regex feature [&] at offset 3");
}

Test(regex, complement_is_rejected_clearly)
{
    const char *err = compile_error("a~(b)");
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "unsupported Lucene regex feature [~] at offset 1");
}

Test(regex, named_automaton_is_rejected_clearly)
{
    const char *err = compile_error("x<ipv4>");
    cr_assert_not_null(err);
    cr_assert(strstr(err, "unsupported Lucene regex feature [<name>") && strstr(err, "offset 1"),
              "%s", err);
}

/* ---- case-insensitive (regex~) ----------------------------------------------------- */

Test(regex, caseless_literals_match_any_case)
{
    cr_assert(matches_ci("explorer\\.exe", "EXPLORER.EXE"));
    cr_assert(matches_ci("\"Power\"shell", "pOWERSHELL"));
    cr_assert(matches_ci("σοφία", "ΣΟΦΊΑ"));
    cr_assert(matches_ci("ς", "Σ"));
    cr_assert_not(matches_ci("explorer", "explorer2"));
}

Test(regex, caseless_ranges_stay_case_sensitive_as_in_lucene)
{
    cr_assert(matches_ci("[a-z]+", "abc"));
    cr_assert_not(matches_ci("[a-z]+", "ABC"));
    cr_assert_not(matches_ci("\\w", "\xe2\x84\xaa")); /* KELVIN SIGN is not [A-Za-z] */
}

Test(regex, caseless_single_class_members_fold)
{
    cr_assert(matches_ci("[abc]", "B"));
    cr_assert(matches_ci("[ab-d]", "A"));
    cr_assert_not(matches_ci("[ab-d]", "C"));
}

Test(regex, caseless_negated_class_excludes_both_cases)
{
    cr_assert_not(matches_ci("[^abc]", "B"));
    cr_assert(matches_ci("[^a-c]", "B"));
    cr_assert_not(matches_ci("[^bx-z]", "B"));
    cr_assert_not(matches_ci("[^bx-z]", "y"));
    cr_assert(matches_ci("[^bx-z]", "Y"));
    cr_assert(matches_ci("[^bx-z]", "d"));
}

/* ---- robustness --------------------------------------------------------------------- */

Test(regex, invalid_utf8_subject_does_not_match)
{
    cr_assert_not(matches_n("ab.", false, "ab\xff", 3));
    cr_assert_not(matches_n("@", false, "\xc3", 1));
    cr_assert_not(matches_n("@", true, "a\xed\xa0\x80", 4)); /* encoded surrogate */
}

Test(regex, invalid_utf8_pattern_is_rejected)
{
    const char *err = compile_error("ab\xff");
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "invalid Lucene regex: invalid UTF-8 at offset 2");
}

Test(regex, subject_with_nul_bytes)
{
    cr_assert(matches_n("a.b", false, "a\0b", 3));
    cr_assert_not(matches_n("ab", false, "ab\0", 3));
}

Test(regex, catastrophic_backtracking_is_bounded)
{
    /* "a...acb": the required 'b' is present, so backtracking really explodes
     * and the match limit hands the subject to the DFA matcher. */
    static char text[4003];
    memset(text, 'a', sizeof text - 3);
    memcpy(text + sizeof text - 3, "cb", 3);
    clock_t start = clock();
    cr_assert_not(matches("(a|aa)*b", text));
    cr_assert_not(matches("(a*)*b", text));
    cr_assert(matches("(a|aa)*b|.*", text)); /* answered by the fallback */
    cr_assert(matches("(a|aa)*cb", text));
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    cr_assert_lt(secs, 5.0, "took %.2fs", secs);
}

Test(regex, fallback_matcher_decides_the_whole_value)
{
    /* 400 a's overflow the backtracking budget of (.*a){3}; the DFA matcher
     * then decides, and a value that does not end in 'a' must not match. */
    static char text[402];
    memset(text, 'a', 400);
    cr_assert(matches_n("(.*a){3}", false, text, 400));
    text[400] = 'b';
    cr_assert_not(matches_n("(.*a){3}", false, text, 401));
    cr_assert_not(matches_n("(.*a){3}", true, text, 401));
}

Test(regex, fallback_matcher_grows_its_workspace)
{
    static char text[300];
    memset(text, 'a', sizeof text);
    cr_assert(matches_n("(.*a){130}", false, text, sizeof text));
    cr_assert(matches_n("(.*a){140}", false, text, sizeof text));
    cr_assert(matches_n("(.*a){300}", false, text, sizeof text));
    cr_assert_not(matches_n("(.*a){301}", false, text, sizeof text));
}

Test(regex, nesting_is_limited)
{
    char pat[1024];
    size_t k = 0;
    for (int i = 0; i < 150; i++)
        pat[k++] = '(';
    pat[k++] = 'a';
    for (int i = 0; i < 150; i++)
        pat[k++] = ')';
    pat[k] = '\0';
    cr_assert(matches(pat, "a"));
    k = 0;
    for (int i = 0; i < 300; i++)
        pat[k++] = '(';
    pat[k++] = 'a';
    for (int i = 0; i < 300; i++)
        pat[k++] = ')';
    pat[k] = '\0';
    const char *err = compile_error(pat);
    cr_assert_not_null(err);
    cr_assert_str_eq(err, "invalid Lucene regex: groups nested deeper than 200 at offset 201");
}

Test(regex, long_runs_of_stacked_operators_compile)
{
    char pat[512] = "a";
    memset(pat + 1, '*', 200);
    cr_assert(matches(pat, "aaaa"));
    cr_assert_not(matches(pat, "ab"));
    for (int i = 0; i < 100; i++)
        memcpy(pat + 1 + 3 * i, "{1}", 4);
    cr_assert(matches(pat, "a"));
    cr_assert_not(matches(pat, "aa"));
}

Test(regex, matching_without_scratch_allocates_its_own)
{
    eq_regex *re = compile("a.c", false);
    cr_assert_eq(eq_regex_match(re, "abc", 3, NULL), 1);
    cr_assert_eq(eq_regex_match(re, "abd", 3, NULL), 0);
    eq_regex_free(re);
}

Test(regex, one_program_serves_many_subjects)
{
    eq_regex *re = compile(".*\\\\(cmd|powershell)\\.exe", true);
    eq_regex_scratch *scratch = eq_regex_scratch_new();
    cr_assert_eq(eq_regex_match(re, S_ARG("C:\\Windows\\System32\\CMD.EXE"), scratch), 1);
    cr_assert_eq(eq_regex_match(re, S_ARG("c:\\powershell.exe"), scratch), 1);
    cr_assert_eq(eq_regex_match(re, S_ARG("c:\\pwsh.exe"), scratch), 0);
    eq_regex_scratch_free(scratch);
    eq_regex_free(re);
}

Test(regex, free_functions_accept_null)
{
    eq_regex_free(NULL);
    eq_regex_scratch_free(NULL);
}

/* ---- translation -------------------------------------------------------------------- */

Test(translate, shows_the_pcre2_form)
{
    cr_assert_str_eq(translated("a.c"), "a.c");
    cr_assert_str_eq(translated("\\d+"), "[0-9]+");
    cr_assert_str_eq(translated("\"a.b\"*"), "(?:a\\.b)*");
    cr_assert_str_eq(translated("a**"), "a*");
    cr_assert_str_eq(translated("a?+"), "a*");
    cr_assert_str_eq(translated("a++"), "a+");
    cr_assert_str_eq(translated("a{2}?"), "(?:a{2})?");
    cr_assert_str_eq(translated("@"), "(?:.*)");
    cr_assert_str_eq(translated("<1-10>"), "(?:0*(?:[1-9]|10))");
    cr_assert_str_eq(translated("^$"), "\\^\\$");
}

Test(translate, returns_needed_length_when_buffer_is_small)
{
    char out[4], err[64];
    size_t n = eq_regex_translate(S_ARG("abcdef"), out, sizeof out, err, sizeof err);
    cr_assert_eq(n, 6);
    cr_assert_str_eq(out, "abc");
    cr_assert_eq(eq_regex_translate(S_ARG("abcdef"), NULL, 0, err, sizeof err), 6);
}

Test(translate, error_returns_size_max_with_message)
{
    char out[64], err[128];
    size_t n = eq_regex_translate(S_ARG("(a&b)"), out, sizeof out, err, sizeof err);
    cr_assert_eq(n, (size_t)-1);
    cr_assert_str_eq(err, "unsupported Lucene regex feature [&] at offset 2");
}

/* ---- Prefixes for the rule index (regex_prefix.c) ---- */

/* The prefixes of pat, as "skip:literal" (a '~' before folded ones), joined by spaces. */
static const char *prefixes_of(const char *pat, bool caseless)
{
    static char out[512];
    eq_regex_prefix p[EQ_REGEX_PREFIXES_MAX];
    size_t n = eq_regex_prefixes(pat, strlen(pat), caseless, p);
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s%u:%.*s", i ? " " : "", p[i].folded ? "~" : "",
                 p[i].skip, (int)p[i].n, p[i].s);
    return out;
}

Test(regex_prefix, literals_at_the_start_after_single_characters)
{
    cr_assert_str_eq(prefixes_of("[A-Z]:\\\\:.+", true), "1::\\:");
    cr_assert_str_eq(prefixes_of("(C:\\\\Program Files \\(x86\\)\\\\|C:\\\\Program Files\\\\)\\w+.exe", false),
                     "0:C:\\Program Files (x86)\\ 0:C:\\Program Files\\");
    cr_assert_str_eq(prefixes_of("\\d\\dabc.*", false), "2:abc");
    cr_assert_str_eq(prefixes_of("....abc.*", false), "4:abc");
    cr_assert_str_eq(prefixes_of("[\\]]abc", false), "1:abc");
    cr_assert_str_eq(prefixes_of("abc+d", false), "0:abc");
    cr_assert_str_eq(prefixes_of("abc{2}d", false), "0:abc");
    cr_assert_str_eq(prefixes_of("abcd?e", false), "0:abc");
    cr_assert_str_eq(prefixes_of("foo.*|bar[0-9]+", false), "0:foo 0:bar");
    cr_assert_str_eq(prefixes_of(".(abc|xyz)\\d", false), "1:abc 1:xyz");
    cr_assert_str_eq(prefixes_of("(abc)+def", false), "0:abc");
    cr_assert_str_eq(prefixes_of("a()bcd", false), "0:abcd");
}

Test(regex_prefix, caseless_letters_fold_where_folding_keeps_their_place)
{
    cr_assert_str_eq(prefixes_of("ProcDump.*", true), "~0:procdump");
    cr_assert_str_eq(prefixes_of("C:\\\\Program Files( \\(x86\\))?\\\\Steam\\\\.*", true), "~0:c:\\program f");
    cr_assert_str_eq(prefixes_of("/var/run/\\w+\\.(pid|lock|reboot)", true), "~0:/var/run/");
    /* i, k and s have non-ASCII other cases; after a skipped character no letter is kept */
    cr_assert_str_eq(prefixes_of("Disk.*", true), "");
    cr_assert_str_eq(prefixes_of("arn:aws:s3:::.*", true), "~0:arn:aw");
    cr_assert_str_eq(prefixes_of(".abc:de", true), "");
    cr_assert_str_eq(prefixes_of(".123abc", true), "1:123");
}

Test(regex_prefix, none_where_a_match_may_start_otherwise)
{
    static const char *const none[] = {".*foo", "ab?cd", "abc|de", "(abc)?def", "a*bcd", "@abc", "#abc", "\"abc\"",
                                       "<1-5>abc", "~abc", "abc&abd", "*abc", "|abc", "abc||abd", "é:\\\\:x", "[é]abc",
                                       ".....abc" /* four skipped characters at most */, "(ab|cd)ef", ""};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        cr_assert_str_eq(prefixes_of(none[i], false), "", "%s", none[i]);
}

/* Soundness: every value a regex matches has one of its prefixes where the
 * index looks (the value, or its fold, after `skip` single-byte
 * characters; a multi-byte one there lets the value through). */
static bool index_lets_through(const eq_regex_prefix *p, size_t np, const char *v)
{
    for (size_t i = 0; i < np; i++) {
        char folded[256];
        size_t n = strlen(v);
        const char *s = v;
        if (p[i].folded) {
            n = eq_fold(v, n, folded, sizeof folded);
            cr_assert_lt(n, sizeof folded);
            s = folded;
        }
        bool multibyte = false;
        for (uint32_t k = 0; k < p[i].skip && k < n; k++)
            multibyte |= (unsigned char)s[k] >= 0x80;
        if (n >= p[i].skip + p[i].n && (multibyte || memcmp(s + p[i].skip, p[i].s, p[i].n) == 0))
            return true;
    }
    return false;
}

Test(regex_prefix, every_match_has_a_prefix)
{
    static const char *const pats[] = {"[A-Z]:\\\\:.+", "(C:\\\\Program Files \\(x86\\)\\\\|C:\\\\Program Files\\\\)\\w+.exe",
                                       "ProcDump.*", "C:\\\\Program Files( \\(x86\\))?\\\\Steam\\\\.*", ".(//:ab|--:xy)\\d",
                                       "foo.*|bar[0-9]+", "arn:aws:s3:::.*", ".123abc", "\\d\\d:-_abc.*", "Bar+d", ".:-_ab.*"};
    static const char *const values[] = {
        "D:\\:stream", "d:\\:s", "\303\251:\\:s", "\342\204\252:\\:x", "C:\\Program Files\\x.exe",
        "C:\\Program Files (x86)\\y.exe", "c:\\program files\\x.exe", "PROCDUMP", "procdump64", "pRoCdUmP",
        "C:\\PROGRAM FILES (X86)\\STEAM\\a", "c:\\program files\\steam\\", "x//:ab1", "\303\251--:xy1", "\342\204\252--:XY0", "X//:AB3",
        "foo", "foobar", "bar12", "bar", "ARN:AWS:S3:::b", "arn:aw\305\277:s3:::b", "x123abc", "X123ABC", "\304\260123abc",
        "12:-_abc", "12:-_ABCd", "Barrrd", "Bard", "BARD", "\304\260:-_AB", "x:-_ab", "zsh", ""};
    int checked = 0;
    for (size_t i = 0; i < sizeof pats / sizeof *pats; i++) {
        for (int caseless = 0; caseless < 2; caseless++) {
            eq_regex_prefix p[EQ_REGEX_PREFIXES_MAX];
            size_t np = eq_regex_prefixes(pats[i], strlen(pats[i]), caseless, p);
            cr_assert_gt(np, 0, "%s", pats[i]);
            for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
                if (!matches_n(pats[i], caseless, values[v], strlen(values[v])))
                    continue;
                checked++;
                cr_assert(index_lets_through(p, np, values[v]), "%s%s matches %s", pats[i], caseless ? " (caseless)" : "",
                          values[v]);
            }
        }
    }
    cr_assert_gt(checked, 30);
}
