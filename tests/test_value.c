/* test_value.c: value primitives (lib/value.h) against Elasticsearch/Java
 * semantics: case folding, wildcards, CIDR, number formatting and parsing,
 * string functions (EQL.md §9), dates, ordering and hashing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "value.h"

/* A string literal as pointer + length (embedded NULs included). */
#define S(lit) (lit), (sizeof(lit) - 1)

static const char *folded(const char *s, size_t n)
{
    static char buf[256];
    size_t len = eq_fold(s, n, buf, sizeof buf - 1);
    cr_assert_lt(len, sizeof buf);
    buf[len] = '\0';
    return buf;
}

/* ---- fold ------------------------------------------------------------------ */

Test(fold, ascii_upper_case_is_lowered)
{
    cr_assert_str_eq(folded(S("HeLLo World_42")), "hello world_42");
}

Test(fold, greek_capital_sigma_folds)
{
    cr_assert_str_eq(folded(S("Σ")), "σ");
    cr_assert_str_eq(folded(S("ΑΒΓ")), "αβγ");
}

Test(fold, final_sigma_folds_like_sigma)
{
    /* Java lower-cases a word-final Σ to ς; both small sigmas compare equal. */
    cr_assert_str_eq(folded(S("ς")), "σ");
    cr_assert(eq_equals_fold(S("ΟΔΟΣ"), S("οδος")));
}

Test(fold, latin_and_cyrillic_letters_fold)
{
    cr_assert_str_eq(folded(S("ÄÖÜ ÉÈ")), "äöü éè");
    cr_assert_str_eq(folded(S("ПРИВЕТ")), "привет");
}

Test(fold, result_may_need_more_bytes_than_input)
{
    /* U+023A (2 bytes) lower-cases to U+2C65 (3 bytes). */
    char buf[8];
    size_t need = eq_fold(S("\xc8\xba"), buf, sizeof buf);
    cr_assert_eq(need, 3);
    cr_assert_eq(memcmp(buf, "\xe2\xb1\xa5", 3), 0);
}

Test(fold, kelvin_sign_folds_to_ascii_k)
{
    cr_assert_str_eq(folded(S("\xe2\x84\xaa")), "k");
}

Test(fold, small_buffer_gets_prefix_and_needed_size)
{
    char buf[3] = {'x', 'x', 'x'};
    size_t need = eq_fold(S("ABCDE"), buf, 2);
    cr_assert_eq(need, 5);
    cr_assert_eq(memcmp(buf, "abx", 3), 0);
}

Test(fold, invalid_utf8_bytes_are_copied_unchanged)
{
    char buf[8];
    size_t need = eq_fold(S("A\xff" "B\xc3"), buf, sizeof buf);
    cr_assert_eq(need, 4);
    cr_assert_eq(memcmp(buf, "a\xff" "b\xc3", 4), 0);
}

Test(fold, supplementary_characters_fold)
{
    /* DESERET CAPITAL LONG I U+10400 -> U+10428 */
    cr_assert_str_eq(folded(S("\xf0\x90\x90\x80")), "\xf0\x90\x90\xa8");
}

Test(fold, equals_fold_ignores_case_only)
{
    cr_assert(eq_equals_fold(S("CMD.EXE"), S("cmd.exe")));
    cr_assert(eq_equals_fold(S("Straße"), S("STRAßE")));
    cr_assert(eq_equals_fold(S(""), S("")));
    cr_assert_not(eq_equals_fold(S("cmd.exe"), S("cmd.ex")));
    cr_assert_not(eq_equals_fold(S("cmd"), S("cmd ")));
    cr_assert_not(eq_equals_fold(S("a"), S("b")));
}

Test(fold, equals_fold_compares_byte_lengths_that_differ)
{
    /* Kelvin sign (3 bytes) equals k (1 byte) once folded. */
    cr_assert(eq_equals_fold(S("\xe2\x84\xaa" "ey"), S("KEY")));
}

Test(fold, invalid_bytes_equal_only_themselves)
{
    cr_assert(eq_equals_fold(S("a\xff"), S("A\xff")));
    cr_assert_not(eq_equals_fold(S("a\xff"), S("a\xfe")));
    cr_assert_not(eq_equals_fold(S("\xc3"), S("\xc3\xa9")));
}

Test(fold, is_ascii_detects_high_bytes_anywhere)
{
    cr_assert(eq_is_ascii(S("")));
    cr_assert(eq_is_ascii(S("plain ascii text, longer than eight")));
    cr_assert_not(eq_is_ascii(S("plain ascii text, then é")));
    cr_assert_not(eq_is_ascii(S("\x80")));
}

/* ---- hash ------------------------------------------------------------------ */

Test(hash, equal_bytes_hash_equal)
{
    cr_assert_eq(eq_hash(S("explorer.exe")), eq_hash(S("explorer.exe")));
}

Test(hash, different_strings_hash_differently)
{
    const char *words[] = {"", "a", "b", "ab", "ba", "a\0", "explorer.exe", "explorer.ex",
                           "0123456789abcdef", "0123456789abcdeg", "0123456789abcdef0"};
    size_t lens[] = {0, 1, 1, 2, 2, 2, 12, 11, 16, 16, 17};
    for (size_t i = 0; i < 11; i++)
        for (size_t j = i + 1; j < 11; j++)
            cr_assert_neq(eq_hash(words[i], lens[i]), eq_hash(words[j], lens[j]),
                          "collision between %zu and %zu", i, j);
}

static void assert_fold_hash_matches(const char *s, size_t n)
{
    char buf[512];
    size_t len = eq_fold(s, n, buf, sizeof buf);
    cr_assert_leq(len, sizeof buf);
    cr_assert_eq(eq_hash_fold(s, n), eq_hash(buf, len), "for \"%.*s\"", (int)n, s);
}

Test(hash, hash_fold_equals_hash_of_folded_ascii)
{
    const char *text = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.EXE";
    for (size_t n = 0; n <= strlen(text); n++)
        assert_fold_hash_matches(text, n);
}

Test(hash, hash_fold_equals_hash_of_folded_unicode)
{
    assert_fold_hash_matches(S("ΟΔΟΣ"));
    assert_fold_hash_matches(S("ABCDEFG\xc8\xba" "HIJKLMNOPQRSTUVWXYZ"));
    assert_fold_hash_matches(S("\xe2\x84\xaa" "ELVIN TEMPERATURE IN KELVIN"));
    assert_fold_hash_matches(S("PRE\xff" "FIX WITH INVALID BYTE \xc3 AND MORE TEXT"));
    assert_fold_hash_matches(S("\xf0\x90\x90\x80\xf0\x90\x90\x80 Deseret"));
}

Test(hash, case_variants_share_fold_hash)
{
    cr_assert_eq(eq_hash_fold(S("PowerShell.EXE")), eq_hash_fold(S("powershell.exe")));
    cr_assert_eq(eq_hash_fold(S("ΣΊΣΥΦΟΣ")), eq_hash_fold(S("σίσυφος")));
    cr_assert_neq(eq_hash_fold(S("powershell.exe")), eq_hash_fold(S("powershell.exe ")));
}

/* ---- wildcard ---------------------------------------------------------------- */

static bool wild(const char *pat, const char *s)
{
    return eq_wildcard_match(pat, strlen(pat), s, strlen(s));
}

Test(wildcard, star_matches_empty_run)
{
    cr_assert(wild("cmd*.exe", "cmd.exe"));
    cr_assert(wild("*", ""));
    cr_assert(wild("**", ""));
}

Test(wildcard, star_matches_any_run)
{
    cr_assert(wild("cmd*.exe", "cmd-some.thing.exe"));
    cr_assert(wild("*explorer*", "C:\\Windows\\explorer.exe"));
    cr_assert(wild("*a*b*c", "xxaxxbxxbxxc"));
}

Test(wildcard, question_matches_exactly_one_code_point)
{
    cr_assert(wild("?", "a"));
    cr_assert(wild("caf?", "café"));
    cr_assert(wild("?", "😀"));
    cr_assert_not(wild("??", "😀"));
    cr_assert_not(wild("?", ""));
    cr_assert_not(wild("a?c", "ac"));
}

Test(wildcard, star_then_question_needs_one_more_code_point)
{
    cr_assert(wild("*?", "é"));
    cr_assert_not(wild("*?", ""));
    cr_assert(wild("*?x", "ééx"));
}

Test(wildcard, backslash_is_literal)
{
    /* ES keyPathWildcard: "*\\SAM\\*\\Account*" in EQL source. */
    cr_assert(wild("*\\SAM\\*\\Account*", "HKLM\\SAM\\SAM\\Domains\\Account\\Users"));
    cr_assert(wild("a\\*", "a\\"));
    cr_assert(wild("a\\*", "a\\anything"));
    cr_assert_not(wild("a\\*", "a*"));
}

Test(wildcard, whole_value_is_matched)
{
    cr_assert(wild("abc", "abc"));
    cr_assert_not(wild("abc", "abcd"));
    cr_assert_not(wild("abc", "xabc"));
    cr_assert_not(wild("", "a"));
    cr_assert(wild("", ""));
}

Test(wildcard, matching_is_case_sensitive)
{
    cr_assert_not(wild("CMD.EXE", "cmd.exe"));
}

Test(wildcard, adversarial_pattern_stays_fast)
{
    static char text[20001];
    memset(text, 'a', sizeof text - 1);
    clock_t start = clock();
    cr_assert_not(wild("*a*a*a*a*a*a*a*a*b", text));
    cr_assert(wild("*a*a*a*a*a*a*a*a*", text));
    double secs = (double)(clock() - start) / CLOCKS_PER_SEC;
    cr_assert_lt(secs, 2.0, "took %.2fs", secs);
}

/* ---- cidr ------------------------------------------------------------------- */

static eq_cidr cidr(const char *s)
{
    eq_cidr c;
    cr_assert(eq_cidr_parse(s, strlen(s), &c), "cidr %s", s);
    return c;
}

static bool in_cidr(const char *ip, const char *block)
{
    uint8_t addr[16];
    cr_assert(eq_ip_parse(ip, strlen(ip), addr), "ip %s", ip);
    eq_cidr c = cidr(block);
    return eq_cidr_contains(&c, addr);
}

Test(cidr, ipv4_inside_and_outside_block)
{
    cr_assert(in_cidr("192.168.152.12", "192.168.0.0/16"));
    cr_assert_not(in_cidr("192.169.0.1", "192.168.0.0/16"));
    cr_assert_not(in_cidr("192.168.152.12", "10.0.0.0/8"));
    cr_assert_not(in_cidr("10.0.0.1", "10.128.0.0/9"));
}

Test(cidr, host_bits_are_masked)
{
    eq_cidr c = cidr("10.6.48.157/8");
    cr_assert_eq(c.prefix, 104);
    cr_assert(in_cidr("10.200.1.2", "10.6.48.157/8"));
    cr_assert_not(in_cidr("11.0.0.1", "10.6.48.157/8"));
}

Test(cidr, ipv4_prefix_is_stored_in_mapped_bits)
{
    eq_cidr c = cidr("10.0.0.0/8");
    static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
    cr_assert_eq(memcmp(c.addr, want, 16), 0);
    cr_assert_eq(c.prefix, 104);
}

Test(cidr, zero_prefix_matches_every_ipv4_only)
{
    cr_assert(in_cidr("1.2.3.4", "0.0.0.0/0"));
    cr_assert(in_cidr("255.255.255.255", "0.0.0.0/0"));
    cr_assert_not(in_cidr("2001:db8::1", "0.0.0.0/0"));
}

Test(cidr, ipv6_block)
{
    cr_assert(in_cidr("fe80::1", "fe80::/10"));
    cr_assert(in_cidr("febf:ffff::1", "fe80::/10"));
    cr_assert_not(in_cidr("fec0::1", "fe80::/10"));
    cr_assert(in_cidr("2001:db8:0:0:1:0:0:1", "2001:db8::/32"));
}

Test(cidr, ipv4_in_ipv6_block_covering_the_mapped_range)
{
    cr_assert(in_cidr("1.2.3.4", "::fffe:0:0/95"));
    cr_assert(in_cidr("1.2.3.4", "::/0"));
}

Test(cidr, mapped_ipv6_notation_with_prefix_is_ambiguous)
{
    /* Elasticsearch: "CIDR notation is not allowed with IPv6-mapped IPv4 address" */
    eq_cidr c;
    cr_assert_not(eq_cidr_parse(S("::ffff:0:0/96"), &c));
    cr_assert_not(eq_cidr_parse(S("::ffff:10.0.0.0/104"), &c));
    cr_assert(eq_cidr_parse(S("::ffff:10.0.0.1"), &c));
}

Test(cidr, ipv4_not_in_unrelated_ipv6_block)
{
    cr_assert_not(in_cidr("1.2.3.4", "2001:db8::/32"));
    cr_assert_not(in_cidr("10.0.0.1", "::/96")); /* IPv4-compatible range, not mapped */
}

Test(cidr, ipv6_not_in_ipv4_block)
{
    cr_assert_not(in_cidr("::a00:1", "10.0.0.0/8"));
    cr_assert_not(in_cidr("2001:db8::1", "10.0.0.0/8"));
}

Test(cidr, mapped_ipv6_text_is_the_ipv4_address)
{
    cr_assert(in_cidr("::ffff:10.1.2.3", "10.0.0.0/8"));
    cr_assert(in_cidr("::ffff:a01:203", "10.0.0.0/8"));
}

Test(cidr, bare_address_is_a_single_host)
{
    cr_assert_eq(cidr("10.0.0.1").prefix, 128);
    cr_assert(in_cidr("10.0.0.1", "10.0.0.1"));
    cr_assert_not(in_cidr("10.0.0.2", "10.0.0.1"));
    cr_assert(in_cidr("::1", "::1"));
}

Test(cidr, full_prefix_lengths)
{
    cr_assert(in_cidr("10.0.0.1", "10.0.0.1/32"));
    cr_assert_not(in_cidr("10.0.0.2", "10.0.0.1/32"));
    cr_assert(in_cidr("fe80::1", "fe80::1/128"));
    cr_assert(in_cidr("10.0.0.3", "10.0.0.2/31"));
}

Test(cidr, malformed_input_is_rejected)
{
    const char *bad[] = {"",         "10.0.0.0/33", "10.0.0/8",    "fe80::/129",
                         "1.2.3.4/", "/8",          "1.2.3.4/8x",  "1.2.3.4/-1",
                         "01.2.3.4", "1.2.3.4 ",    "256.1.1.1",   "::ffff:1.2.3.4/104",
                         "hello",    "1.2.3.4/08a", "fe80::1%eth0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eq_cidr c;
        cr_assert_not(eq_cidr_parse(bad[i], strlen(bad[i]), &c), "accepted \"%s\"", bad[i]);
    }
    uint8_t addr[16];
    cr_assert_not(eq_ip_parse(S("10.0.0.0/8"), addr));
    cr_assert_not(eq_ip_parse(S("1.2.3"), addr));
    cr_assert_not(eq_ip_parse(S(""), addr));
}

/* ---- format ------------------------------------------------------------------ */

static const char *fmt_double(double d)
{
    static char buf[32];
    size_t n = eq_format_double(d, buf);
    cr_assert_eq(n, strlen(buf));
    return buf;
}

Test(format, doubles_render_like_java_double_to_string)
{
    cr_assert_str_eq(fmt_double(1.0), "1.0");
    cr_assert_str_eq(fmt_double(2.1828), "2.1828");
    cr_assert_str_eq(fmt_double(100.0), "100.0");
    cr_assert_str_eq(fmt_double(42.5), "42.5");
    cr_assert_str_eq(fmt_double(-21.0), "-21.0");
    cr_assert_str_eq(fmt_double(0.1), "0.1");
    cr_assert_str_eq(fmt_double(7.0 / 3.0), "2.3333333333333335");
    cr_assert_str_eq(fmt_double(9999999.0), "9999999.0");
    cr_assert_str_eq(fmt_double(0.001), "0.001");
}

Test(format, large_and_small_doubles_use_scientific_notation)
{
    cr_assert_str_eq(fmt_double(1e21), "1.0E21");
    cr_assert_str_eq(fmt_double(1e7), "1.0E7");
    cr_assert_str_eq(fmt_double(123456789.0), "1.23456789E8");
    cr_assert_str_eq(fmt_double(1.234e-5), "1.234E-5");
    cr_assert_str_eq(fmt_double(0.0001), "1.0E-4");
    cr_assert_str_eq(fmt_double(-1e-10), "-1.0E-10");
    cr_assert_str_eq(fmt_double(1e23), "1.0E23");
    cr_assert_str_eq(fmt_double(1.7976931348623157e308), "1.7976931348623157E308");
    cr_assert_str_eq(fmt_double(4.9e-324), "4.9E-324");
}

Test(format, special_doubles)
{
    cr_assert_str_eq(fmt_double(NAN), "NaN");
    cr_assert_str_eq(fmt_double(INFINITY), "Infinity");
    cr_assert_str_eq(fmt_double(-INFINITY), "-Infinity");
    cr_assert_str_eq(fmt_double(0.0), "0.0");
    cr_assert_str_eq(fmt_double(-0.0), "-0.0");
}

Test(format, doubles_round_trip)
{
    double values[] = {0.1 + 0.2, 1.0 / 3.0, 5e-324, 123.456, 6.02214076e23, -2.5e-8};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        const char *text = fmt_double(values[i]);
        cr_assert_eq(strtod(text, NULL), values[i], "%s", text);
    }
}

Test(format, integers)
{
    char buf[32];
    cr_assert_eq(eq_format_int(0, buf), 1);
    cr_assert_str_eq(buf, "0");
    eq_format_int(-42, buf);
    cr_assert_str_eq(buf, "-42");
    eq_format_int(INT64_MIN, buf);
    cr_assert_str_eq(buf, "-9223372036854775808");
    eq_format_int(INT64_MAX, buf);
    cr_assert_str_eq(buf, "9223372036854775807");
}

/* ---- length / indexOf / substring ---------------------------------------------- */

Test(length, counts_utf16_code_units)
{
    cr_assert_eq(eq_str_length(S("")), 0);
    cr_assert_eq(eq_str_length(S("foo")), 3);
    cr_assert_eq(eq_str_length(S("explorer.exe")), 12);
    cr_assert_eq(eq_str_length(S("café")), 4);
    cr_assert_eq(eq_str_length(S("😀")), 2);
    cr_assert_eq(eq_str_length(S("a\xff")), 2);
}

static int64_t index_of(const char *s, const char *sub, int64_t start, bool caseless)
{
    return eq_str_index_of(s, strlen(s), sub, strlen(sub), start, caseless);
}

Test(index_of, string_functions_suite_cases)
{
    cr_assert_eq(index_of("foobarbaz", "L", 0, false), -1);
    cr_assert_eq(index_of("foobarbaz", "o", 0, false), 1);
    cr_assert_eq(index_of("foobarbaz", "o", 1, false), 1);
    cr_assert_eq(index_of("foobarbaz", "o", 2, false), 2);
    cr_assert_eq(index_of("foobarbaz", "r", 0, false), 5);
    cr_assert_eq(index_of("foobarbaz", "r", 2, false), 5);
}

Test(index_of, documented_examples)
{
    const char *d = "subdomain.example.com";
    cr_assert_eq(index_of(d, "d", 0, false), 3);
    cr_assert_eq(index_of(d, "D", 0, false), -1);
    cr_assert_eq(index_of(d, ".", 0, false), 9);
    cr_assert_eq(index_of(d, ".", 9, false), 9);
    cr_assert_eq(index_of(d, ".", 10, false), 17);
    cr_assert_eq(index_of(d, ".", -6, false), 9);
    cr_assert_eq(index_of(d, "z", 9, false), -1);
    cr_assert_eq(index_of(d, ".", 30, false), -1);
}

Test(index_of, empty_substring_is_found_at_start)
{
    const char *d = "subdomain.example.com";
    cr_assert_eq(index_of("", "", 0, false), 0);
    cr_assert_eq(index_of(d, "", 0, false), 0);
    cr_assert_eq(index_of(d, "", 9, false), 9);
    cr_assert_eq(index_of(d, "", 10, false), 10);
    cr_assert_eq(index_of(d, "", -6, false), 0);
    cr_assert_eq(index_of(d, "", 30, false), 21); /* java.lang.String: clamped to length */
}

Test(index_of, caseless_variant_folds_both_sides)
{
    cr_assert_eq(index_of("subdomain.example.com", "D", 0, true), 3);
    cr_assert_eq(index_of("ABCDEFGHIexplorer.exeJKL", "PLORE", 0, true), 11);
    cr_assert_eq(index_of("ÄÖÜ", "öü", 0, true), 1);
    cr_assert_eq(index_of("FooBar", "baz", 0, true), -1);
}

Test(index_of, positions_count_utf16_units)
{
    cr_assert_eq(index_of("😀a😀a", "a", 0, false), 2);
    cr_assert_eq(index_of("😀a😀a", "a", 3, false), 5);
    cr_assert_eq(index_of("😀a😀a", "😀", 1, false), 3);
    cr_assert_eq(index_of("\xe2\x84\xaa" "x", "X", 0, true), 1);
}

static const char *substring(const char *s, int64_t start, bool has_end, int64_t end)
{
    static char buf[128];
    size_t from, len;
    eq_str_substring(s, strlen(s), start, has_end, end, &from, &len);
    cr_assert_leq(from + len, strlen(s));
    memcpy(buf, s + from, len);
    buf[len] = '\0';
    return buf;
}

Test(substring, python_slice_semantics)
{
    const char *hw = "hello world";
    cr_assert_str_eq(substring(hw, 0, false, 0), "hello world");
    cr_assert_str_eq(substring(hw, 6, false, 0), "world");
    cr_assert_str_eq(substring(hw, 0, true, 5), "hello");
    cr_assert_str_eq(substring(hw, 0, true, 500), "hello world");
    cr_assert_str_eq(substring(hw, 5, true, -1), " worl");
    cr_assert_str_eq(substring(hw, 3, true, 9), "lo wor");
    cr_assert_str_eq(substring(hw, -5, false, 0), "world");
    cr_assert_str_eq(substring(hw, -5, true, 11), "world");
    cr_assert_str_eq(substring(hw, -5, true, 100), "world");
    cr_assert_str_eq(substring(hw, -60, true, 5), "hello");
    cr_assert_str_eq(substring(hw, -5, true, -1), "worl");
}

Test(substring, empty_when_start_not_before_end)
{
    cr_assert_str_eq(substring("hello", 3, true, 3), "");
    cr_assert_str_eq(substring("hello", 4, true, 2), "");
    cr_assert_str_eq(substring("hello", 10, false, 0), "");
    cr_assert_str_eq(substring("hello", 0, true, -60), "");
    cr_assert_str_eq(substring("", 0, false, 0), "");
}

Test(substring, documented_examples)
{
    const char *s = "start regsvr32.exe";
    cr_assert_str_eq(substring(s, 6, false, 0), "regsvr32.exe");
    cr_assert_str_eq(substring(s, 0, true, 5), "start");
    cr_assert_str_eq(substring(s, 6, true, 14), "regsvr32");
    cr_assert_str_eq(substring(s, -4, false, 0), ".exe");
    cr_assert_str_eq(substring(s, -4, true, -1), ".ex");
}

Test(substring, offsets_are_utf16_units_and_never_split_characters)
{
    cr_assert_str_eq(substring("😀ab", 2, false, 0), "ab");
    cr_assert_str_eq(substring("😀ab", 0, true, 2), "😀");
    cr_assert_str_eq(substring("😀ab", 1, false, 0), "ab"); /* start inside the pair */
    cr_assert_str_eq(substring("a😀b", 0, true, 2), "a");   /* end inside the pair */
    cr_assert_str_eq(substring("café!", -2, false, 0), "é!");
}

/* ---- between ------------------------------------------------------------------ */

static const char *between(const char *s, const char *l, const char *r, bool greedy,
                           bool caseless)
{
    static char buf[128];
    size_t from, len;
    if (!eq_str_between(s, strlen(s), l, strlen(l), r, strlen(r), greedy, caseless, &from, &len))
        return NULL;
    memcpy(buf, s + from, len);
    buf[len] = '\0';
    return buf;
}

Test(between, string_functions_suite_cases)
{
    const char *w = "welcome to the planet";
    cr_assert_str_eq(between(w, "welcome", "planet", false, false), " to the ");
    cr_assert_null(between(w, "welcome", "village", false, false));
    cr_assert_null(between(w, "goodbye", "planet", false, false));
    cr_assert_str_eq(between(w, "welcome", "e", false, false), " to th");
    cr_assert_str_eq(between(w, "welcome", "e", true, false), " to the plan");
    cr_assert_null(between(w, "welcome", "x", false, false));
    cr_assert_null(between(w, "welcome", "x", true, false));
    cr_assert_null(between(w, "", "x", true, false));
    cr_assert_str_eq(between(w, "", "", true, false), w);
    cr_assert_str_eq(between(w, "", "", false, false), "");
    cr_assert_str_eq(between(w, "", "planet", false, false), "welcome to the ");
}

Test(between, documented_examples)
{
    const char *path = "C:\\Windows\\System32\\cmd.exe";
    cr_assert_str_eq(between(path, "System32\\", ".exe", false, false), "cmd");
    cr_assert_null(between(path, "system32\\", ".exe", false, false));
    cr_assert_str_eq(between(path, "system32\\", ".exe", false, true), "cmd");
    cr_assert_str_eq(between(path, "\\", "\\", false, false), "Windows");
    cr_assert_str_eq(between(path, "\\", "\\", true, false), "Windows\\System32");
    cr_assert_str_eq(between("", "System32\\", ".exe", false, false), "");
    cr_assert_str_eq(between("", "", "", false, false), "");
}

Test(between, greedy_right_must_follow_left)
{
    /* the last "x" is before the end of "ab", so there is no result */
    cr_assert_null(between("xab", "ab", "x", true, false));
    cr_assert_str_eq(between("abxaby", "ab", "y", true, false), "xab");
}

Test(between, caseless_offsets_refer_to_the_source)
{
    cr_assert_str_eq(between("Process IDLE Proc", "idle ", "PROC", false, true), "");
    cr_assert_str_eq(between("System Idle Process", "s", "E", false, true), "yst");
    cr_assert_str_eq(between("System Idle Process", "s", "e", true, true), "ystem Idle Proc");
    /* KELVIN SIGN (3 bytes) matches "k": the result starts after all 3 bytes. */
    cr_assert_str_eq(between("a\xe2\x84\xaa" "bc", "k", "c", false, true), "b");
}

/* ---- startsWith / endsWith / stringContains ---------------------------------- */

static bool starts(const char *s, const char *p, bool ci)
{
    return eq_str_starts_with(s, strlen(s), p, strlen(p), ci);
}

static bool ends(const char *s, const char *p, bool ci)
{
    return eq_str_ends_with(s, strlen(s), p, strlen(p), ci);
}

static bool contains(const char *s, const char *p, bool ci)
{
    return eq_str_contains(s, strlen(s), p, strlen(p), ci);
}

Test(starts_with, case_sensitive_and_insensitive)
{
    cr_assert(starts("FooBarBaz", "Foo", false));
    cr_assert(starts("FooBarBaz", "FooBar", false));
    cr_assert_not(starts("FooBarBaz", "Bar", false));
    cr_assert_not(starts("FooBar", "foo", false));
    cr_assert(starts("FooBar", "FOO", true));
    cr_assert(starts("FooBar", "foo", true));
    cr_assert_not(starts("FooBar", "Bar", true));
    cr_assert_not(starts("Foo", "FooBar", true));
}

Test(starts_with, empty_prefix_is_always_true)
{
    cr_assert(starts("FooBarBaz", "", false));
    cr_assert(starts("", "", false));
    cr_assert(starts("", "", true));
    cr_assert_not(starts("", "a", false));
}

Test(ends_with, case_sensitive_and_insensitive)
{
    cr_assert(ends("FooBarBaz", "Baz", false));
    cr_assert_not(ends("FooBarBaz", "Foo", false));
    cr_assert_not(ends("FooBarBaz", "baz", false));
    cr_assert(ends("FooBarBaz", "baz", true));
    cr_assert(ends("regsvr32.exe", ".EXE", true));
    cr_assert(ends("", "", false));
    cr_assert(ends("abc", "", true));
    cr_assert_not(ends("bc", "abc", true));
}

Test(ends_with, caseless_unicode_suffix)
{
    cr_assert(ends("ΟΔΟΣ", "δος", true));
    cr_assert(ends("Größe", "SSE", false) == false);
    cr_assert(ends("GRÖSSE", "össe", true));
    cr_assert(ends("x\xe2\x84\xaa", "K", true));
}

Test(contains, case_sensitive_and_insensitive)
{
    cr_assert(contains("ABCDEFGHIexplorer.exeJKLMNOP", "explorer.exe", false));
    cr_assert(contains("start regsvr32.exe", "regsvr32", false));
    cr_assert_not(contains("start regsvr32.exe", "Regsvr32", false));
    cr_assert(contains("start regsvr32.exe", "Regsvr32", true));
    cr_assert_not(contains("start regsvr32.exe", "explorer", true));
    cr_assert_not(contains("abc", "abcd", false));
}

Test(contains, empty_substring_is_never_contained)
{
    cr_assert_not(contains("", "", false));
    cr_assert_not(contains("start regsvr32.exe", "", false));
    cr_assert_not(contains("start regsvr32.exe", "", true));
}

/* ---- number() ------------------------------------------------------------------- */

static eqlite_value number(const char *s, int base)
{
    eqlite_value v;
    cr_assert(eq_str_to_number(s, strlen(s), base, &v), "number(\"%s\", %d)", s, base);
    return v;
}

static void assert_int(eqlite_value v, int64_t want)
{
    cr_assert_eq(v.kind, EQLITE_INT);
    cr_assert_eq(v.u.i, want);
}

static void assert_double(eqlite_value v, double want)
{
    cr_assert_eq(v.kind, EQLITE_DOUBLE);
    cr_assert_eq(v.u.d, want);
}

Test(number, string_functions_suite_cases)
{
    assert_int(number("314", 0), 314);
    assert_double(number("3.14", 0), 3.14);
    assert_double(number("-3.14", 10), -3.14);
    assert_int(number("-314", 10), -314);
    assert_int(number("+314", 10), 314);
    assert_double(number("-3.14", 0), -3.14);
    assert_int(number("0x1337", 0), 4919);
    assert_int(number("0x1337", 16), 4919);
    assert_int(number("52403", 0), 52403);
    assert_int(number("052403", 8), 21763);
    assert_int(number("52403", 7), 12890);
}

Test(number, documented_examples)
{
    assert_int(number("1337", 0), 1337);
    assert_double(number("42.5", 0), 42.5);
    assert_int(number("deadbeef", 16), 3735928559);
    assert_int(number("0xdeadbeef", 0), 3735928559);
    assert_int(number("+1337", 0), 1337);
    assert_int(number("-1337", 0), -1337);
    assert_int(number("  1337  ", 0), 1337);
    assert_int(number("32", 16), 50);
    assert_int(number("0x32", 16), 50);
}

Test(number, integral_decimals_become_integers_like_decimal_format)
{
    assert_int(number("3.0", 0), 3);
    assert_int(number("1e3", 0), 1000);
    assert_int(number("1.5E1", 0), 15);
    assert_int(number("-9223372036854775808", 0), INT64_MIN);
    assert_double(number("9223372036854775808", 0), 9223372036854775808.0);
    assert_double(number("2.5", 0), 2.5);
    assert_double(number(".5", 0), 0.5);
    assert_int(number("5.", 0), 5);
    assert_double(number("1e-2", 0), 0.01);
}

Test(number, negative_zero_is_a_double)
{
    eqlite_value v = number("-0", 0);
    cr_assert_eq(v.kind, EQLITE_DOUBLE);
    cr_assert(v.u.d == 0 && signbit(v.u.d));
    assert_int(number("0", 0), 0);
}

Test(number, decimal_format_special_symbols)
{
    eqlite_value v = number("NaN", 0);
    cr_assert_eq(v.kind, EQLITE_DOUBLE);
    cr_assert(isnan(v.u.d));
    assert_double(number("∞", 0), INFINITY);
    assert_double(number("-∞", 10), -INFINITY);
}

Test(number, exponents_past_the_double_range_saturate)
{
    assert_double(number("1e400", 0), INFINITY);
    assert_double(number("1e99999999999999999999", 0), INFINITY);
    assert_double(number("-2.5E100001", 0), -INFINITY);
    assert_double(number("1e-400", 0), 0.0);
    assert_double(number("123e-99999999999999999999", 0), 0.0);
    assert_double(number("1e308", 0), 1e308);
}

Test(number, radix_integers_use_int64)
{
    assert_int(number("1010", 2), 10);
    assert_int(number("-z", 36), -35);
    assert_int(number("7fffffffffffffff", 16), INT64_MAX);
    assert_int(number("-8000000000000000", 16), INT64_MIN);
}

Test(number, invalid_text_is_not_a_number)
{
    const char *bad[] = {"", "   ", "abc", "1.2.3", "0x", "1e", "--1", "+", "1 2", "12abc", "nan",
                         "inf", "Infinity"};
    eqlite_value v;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(eq_str_to_number(bad[i], strlen(bad[i]), 0, &v), "accepted \"%s\"", bad[i]);
    cr_assert_not(eq_str_to_number(S("0x10"), 10, &v));
    cr_assert_not(eq_str_to_number(S("19"), 8, &v));
    cr_assert_not(eq_str_to_number(S("10"), 37, &v));
    cr_assert_not(eq_str_to_number(S("10"), 1, &v));
    cr_assert_not(eq_str_to_number(S("8000000000000000"), 16, &v));
}

/* ---- dates ------------------------------------------------------------------------ */

static int64_t date(const char *s)
{
    int64_t ns;
    cr_assert(eq_parse_date(s, strlen(s), &ns), "date \"%s\"", s);
    return ns;
}

static bool date_ok(const char *s)
{
    int64_t ns;
    return eq_parse_date(s, strlen(s), &ns);
}

#define SEC INT64_C(1000000000)

Test(date, iso_utc_timestamp)
{
    cr_assert_eq(date("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq(date("2017-08-30T20:47:32Z"), 1504126052 * SEC);
    cr_assert_eq(date("1969-12-31T23:59:59Z"), -1 * SEC);
}

Test(date, fraction_up_to_nanoseconds)
{
    cr_assert_eq(date("2017-08-30T20:47:32.123Z"), 1504126052 * SEC + 123000000);
    cr_assert_eq(date("2017-08-30T20:47:32.123456789Z"), 1504126052 * SEC + 123456789);
    cr_assert_eq(date("2017-08-30T20:47:32,5Z"), 1504126052 * SEC + 500000000);
    cr_assert_not(date_ok("2017-08-30T20:47:32.1234567891Z"));
    cr_assert_not(date_ok("2017-08-30T20:47:32.Z"));
}

Test(date, offsets_shift_to_utc)
{
    int64_t utc = date("2017-08-30T20:47:32Z");
    cr_assert_eq(date("2017-08-30T22:47:32+02:00"), utc);
    cr_assert_eq(date("2017-08-30T22:47:32+0200"), utc);
    cr_assert_eq(date("2017-08-30T22:47:32+02"), utc);
    cr_assert_eq(date("2017-08-30T15:17:32-05:30"), utc);
    cr_assert_eq(date("2017-08-30T20:47:32"), utc); /* no zone: UTC */
}

Test(date, partial_forms)
{
    cr_assert_eq(date("2017-08-30"), 1504051200 * SEC);
    cr_assert_eq(date("2017-08-30T20:47"), (1504126052 - 32) * SEC);
    cr_assert_eq(date("2017-08-30T20"), (1504126052 - 47 * 60 - 32) * SEC);
    cr_assert_eq(date("2017-08"), date("2017-08-01"));
    cr_assert_eq(date("2017"), date("2017-01-01")); /* a year before epoch_millis */
}

Test(date, calendar_is_validated)
{
    cr_assert(date_ok("2020-02-29"));
    cr_assert(date_ok("2000-02-29"));
    cr_assert_not(date_ok("2019-02-29"));
    cr_assert_not(date_ok("1900-02-29"));
    cr_assert_not(date_ok("2017-13-01"));
    cr_assert_not(date_ok("2017-04-31"));
    cr_assert_not(date_ok("2017-00-10"));
    cr_assert_not(date_ok("2017-08-30T24:00:00Z"));
    cr_assert_not(date_ok("2017-08-30T23:60:00Z"));
    cr_assert_not(date_ok("2017-08-30T23:00:60Z"));
    cr_assert_not(date_ok("2017-08-30T23:00:00+19:00"));
}

Test(date, epoch_milliseconds)
{
    cr_assert_eq(date("1504126052123"), 1504126052123 * INT64_C(1000000));
    cr_assert_eq(date("0"), 0);
    cr_assert_eq(date("-1000"), -1 * SEC);
    cr_assert_eq(date("12345678.5"), INT64_C(12345678500000));
}

Test(date, malformed_text_is_rejected)
{
    const char *bad[] = {"",
                         "abc",
                         "2017-08-30 20:47:32",
                         "2017-8-30",
                         "17-08-30",
                         "2017-08-30T20:47:32ZZ",
                         "2017-08-30T20:47:32 Z",
                         "2017-08-30Z",
                         "1.5.5",
                         "-",
                         "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(date_ok(bad[i]), "accepted \"%s\"", bad[i]);
}

/* The accepted set is Elasticsearch's Iso8601Parser for
 * strict_date_optional_time (DateFormatters: no mandatory field, '.' or ',',
 * zone optional), then epoch_millis. */
Test(date, accepts_what_elasticsearch_default_format_accepts)
{
    int64_t utc = date("2017-08-30T20:47:32Z");
    cr_assert_eq(date("2017-08-30T"), date("2017-08-30"), "a T with no time is midnight");
    cr_assert_eq(date("2017-08-30T22:47:32+020000"), utc, "+HHmmss");
    cr_assert_eq(date("2017-08-30T22:47:32+02:00:00"), utc, "+HH:mm:ss");
    cr_assert_eq(date("2017-08-30T20:47:34+00:00:02"), utc);
    cr_assert_eq(date("2017-08-30T22Z"), date("2017-08-30T22:00:00Z"), "a zone right after the hour");
    cr_assert_eq(date("2017-08-30T22:47+02:00"), date("2017-08-30T20:47:00Z"), "a zone after the minute");
    cr_assert_eq(date("2017-08-30T20:47:32.5+00:00"), utc + SEC / 2);
    cr_assert_eq(date("2017-08-30T20:47:32.123Z"), date("2017-08-30T20:47:32,123Z"), "the fast path agrees");
    cr_assert_eq(date("2017-08-30T06:47:32-14:00"), utc);
    cr_assert_eq(date("2017-08-31T14:47:32+18:00"), utc, "18 hours is the widest offset");
}

Test(date, refuses_what_elasticsearch_default_format_refuses)
{
    const char *bad[] = {"2017-08-30t20:47:32Z",      /* lower-case T */
                         "2017-08-30T20:47:32z",      /* lower-case Z */
                         "2017-08-30T20:47:32.123z",  /* the 24-byte shape, lower-case Z */
                         "2017-08-30 20:47:32.123Z",  /* the 24-byte shape, a space */
                         "2017-08-30T20:47:32UTC",    /* named regions */
                         "2017-08-30T20:47:32+01:0000", /* colons both or neither */
                         "2017-08-30T20:47:32+0100:00",
                         "2017-08-30T20:47:32+18:01", /* wider than 18 hours */
                         "2017-08-30T20:47:32+24",
                         "2017-08-30T20:47:32+1",
                         "2017-08-30TZ",
                         "2017-08Z",
                         "2017-08-30T20:4",
                         "2017-08-30T20:47:32.",
                         "1.1234567",                 /* epoch millis: at most 6 fraction digits */
                         "1e3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_not(date_ok(bad[i]), "accepted \"%s\"", bad[i]);
}

Test(date, four_digits_are_a_year_and_longer_digit_strings_epoch_millis)
{
    cr_assert_eq(date("2020"), date("2020-01-01T00:00:00Z"));
    cr_assert_eq(date("20200"), 20200 * INT64_C(1000000));
    cr_assert_eq(date("-2020"), -2020 * INT64_C(1000000), "not a year: Elasticsearch reads the year -2020, outside the nanosecond range");
    cr_assert_eq(date("123"), 123 * INT64_C(1000000));
}

Test(date, the_edges_of_the_nanosecond_range_are_exact)
{
    int64_t ns = 123;
    cr_assert(eq_parse_date("2024-05-01T00:00:00Z", 19, &ns), "the length is honoured");
    cr_assert_not(eq_parse_date("", 0, &ns));
    cr_assert_not(eq_parse_date(NULL, 0, &ns));
    cr_assert_eq(date("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
    cr_assert_not(date_ok("1677-09-21T00:12:43.145224191Z"));
    cr_assert_eq(date("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    cr_assert_not(date_ok("99999999999999999999"));
}

Test(date, beyond_the_nanosecond_range_is_rejected)
{
    cr_assert(date_ok("2262-04-11T00:00:00Z"));
    cr_assert_not(date_ok("2263-01-01T00:00:00Z"));
    cr_assert_not(date_ok("1600-01-01T00:00:00Z"));
}

/* ---- compare ------------------------------------------------------------------------ */

static eqlite_value int_value(int64_t i)
{
    eqlite_value v = {EQLITE_INT, 0, {.i = i}};
    return v;
}

static eqlite_value double_value(double d)
{
    eqlite_value v = {EQLITE_DOUBLE, 0, {.d = d}};
    return v;
}

static eqlite_value string_value(const char *s)
{
    eqlite_value v = {EQLITE_STRING, (uint32_t)strlen(s), {.s = s}};
    return v;
}

static eqlite_value bool_value(bool b)
{
    eqlite_value v = {EQLITE_BOOL, 0, {.b = b}};
    return v;
}

static int compare(eqlite_value a, eqlite_value b)
{
    int cmp = 99;
    cr_assert(eq_value_compare(&a, &b, &cmp));
    return cmp;
}

Test(compare, numbers_compare_across_int_and_double)
{
    cr_assert_eq(compare(int_value(3), double_value(3.0)), 0);
    cr_assert_eq(compare(double_value(3.0), int_value(4)), -1);
    cr_assert_eq(compare(int_value(-3), double_value(4.0)), -1);
    cr_assert_eq(compare(double_value(-3.0), int_value(4)), -1);
    cr_assert_eq(compare(int_value(3), double_value(2.5)), 1);
    cr_assert_eq(compare(int_value(2), double_value(2.5)), -1);
    cr_assert_eq(compare(int_value(-2), double_value(-2.5)), 1);
    cr_assert_eq(compare(int_value(7), int_value(3)), 1);
}

Test(compare, int_double_comparison_is_exact_beyond_2_pow_53)
{
    int64_t big = (INT64_C(1) << 53) + 1;
    cr_assert_eq(compare(int_value(big), double_value(9007199254740992.0)), 1);
    cr_assert_eq(compare(double_value(9007199254740992.0), int_value(big)), -1);
    cr_assert_eq(compare(int_value(INT64_MAX), double_value(9223372036854775808.0)), -1);
    cr_assert_eq(compare(int_value(INT64_MIN), double_value(-9223372036854775808.0)), 0);
    cr_assert_eq(compare(int_value(INT64_MIN), double_value(-1e300)), 1);
}

Test(compare, doubles_follow_java_double_compare)
{
    cr_assert_eq(compare(double_value(-0.0), double_value(0.0)), -1);
    cr_assert_eq(compare(double_value(NAN), double_value(NAN)), 0);
    cr_assert_eq(compare(double_value(NAN), double_value(INFINITY)), 1);
    cr_assert_eq(compare(int_value(5), double_value(NAN)), -1);
    cr_assert_eq(compare(int_value(0), double_value(-0.0)), 1);
    cr_assert_eq(compare(int_value(0), double_value(0.0)), 0);
}

Test(compare, strings_are_case_sensitive_and_ordered)
{
    cr_assert_eq(compare(string_value("Foo"), string_value("Foo")), 0);
    cr_assert_eq(compare(string_value("Foo"), string_value("Bar")), 1);
    cr_assert_eq(compare(string_value("Foo"), string_value("foo")), -1);
    cr_assert_eq(compare(string_value("abc"), string_value("abcd")), -1);
    cr_assert_eq(compare(string_value(""), string_value("a")), -1);
    cr_assert_eq(compare(string_value("system idle process"), string_value("System Idle Process")),
                 1);
}

Test(compare, strings_order_by_utf16_units_like_java)
{
    /* U+FFFD sorts after a surrogate pair in Java although its UTF-8 bytes are smaller */
    cr_assert_eq(compare(string_value("\xef\xbf\xbd"), string_value("😀")), 1);
    cr_assert_eq(compare(string_value("😀"), string_value("\xef\xbf\xbd")), -1);
    cr_assert_eq(compare(string_value("\xed\x9f\xbf"), string_value("😀")), -1); /* U+D7FF */
    cr_assert_eq(compare(string_value("é"), string_value("z")), 1);
}

Test(compare, booleans_false_before_true)
{
    cr_assert_eq(compare(bool_value(false), bool_value(true)), -1);
    cr_assert_eq(compare(bool_value(true), bool_value(true)), 0);
}

Test(compare, mixed_kinds_are_not_comparable)
{
    int cmp;
    eqlite_value s = string_value("1"), i = int_value(1), b = bool_value(true);
    eqlite_value null = {EQLITE_NULL, 0, {.i = 0}};
    cr_assert_not(eq_value_compare(&s, &i, &cmp));
    cr_assert_not(eq_value_compare(&i, &b, &cmp));
    cr_assert_not(eq_value_compare(&null, &null, &cmp));
    cr_assert_not(eq_value_compare(&null, &i, &cmp));
}

/* Epoch milliseconds compared as dates: beyond the nanosecond range is not a
 * date (and must not wrap around to one). */
Test(date, epoch_millis_outside_the_nanosecond_range_are_no_date)
{
    int64_t ns;
    eqlite_value v = {EQLITE_INT, 0, {.i = 1504126052000}};
    cr_assert(eq_value_date_ns(&v, &ns));
    cr_assert_eq(ns, 1504126052000 * 1000000);
    v.u.i = INT64_MAX / 1000; /* wraps to a negative number in 64 bits */
    cr_assert_not(eq_value_date_ns(&v, &ns));
    v = (eqlite_value){EQLITE_DOUBLE, 0, {.d = 1e300}};
    cr_assert_not(eq_value_date_ns(&v, &ns));
}

/* ---- version field order: Elasticsearch's VersionEncoder and its tests
 * (x-pack/plugin/mapper-version, VersionEncoderTests) ---- */

static int vcmp(const char *a, const char *b)
{
    int c;
    cr_assert(eq_version_compare(a, strlen(a), b, strlen(b), &c));
    return c;
}

Test(version, orders_as_the_version_encoder)
{
    static const char *const ascending[] = {
        "1", "1.0", "1.0.0", "1.0.0.0.0.0.0.0.0.1", "2.0", "2.0.0", "2.1.0", "2.1.1", "2.1.1.0", "11.0.0",
    };
    for (size_t i = 0; i + 1 < sizeof ascending / sizeof *ascending; i++)
        cr_expect_lt(vcmp(ascending[i], ascending[i + 1]), 0, "%s < %s", ascending[i], ascending[i + 1]);
    static const char *const pairs[][2] = {
        {"1.0.0-a", "1.0.0-b"},
        {"1.0.0-1.0.0", "1.0.0-2.0"},
        {"1.0.0-alpha", "1.0.0-alpha.1"},
        {"1.0.0-alpha.1", "1.0.0-alpha.beta"},
        {"1.0.0-alpha.beta", "1.0.0-beta"},
        {"1.0.0-beta", "1.0.0-beta.2"},
        {"1.0.0-beta.2", "1.0.0-beta.11"},
        {"1.0.0-beta11", "1.0.0-beta2"}, /* alphanumeric identifiers are ASCII */
        {"1.0.0-beta.11", "1.0.0-rc.1"},
        {"1.0.0-rc.1", "1.0.0"},
        {"1.0.0", "2.0.0-pre127"},
        {"2.0.0-pre127", "2.0.0-pre128"},
        {"2.0.0-pre128", "2.0.0-pre128-somethingelse"},
        {"2.0.0-pre20201231z110026", "2.0.0-pre227"},
        {"99999.99999.99999", "1.invalid"}, /* illegal versions sort after legal ones */
        {"", "a"},
        {"1.2.3", "1.2.3+build"}, /* the build suffix takes part, as ASCII */
        {"1.2.3+a", "1.2.3+b"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        cr_expect_lt(vcmp(pairs[i][0], pairs[i][1]), 0, "%s < %s", pairs[i][0], pairs[i][1]);
        cr_expect_gt(vcmp(pairs[i][1], pairs[i][0]), 0, "%s > %s", pairs[i][1], pairs[i][0]);
    }
    cr_expect_eq(vcmp("1.10.0", "1.10.0"), 0);
    cr_expect_lt(vcmp("1.9.0", "1.10.0"), 0);
}

/* A legal version encodes to a leading 0x01, an illegal one to its own bytes:
 * so legality shows against "\x02" (testSemVerValidation's lists). */
Test(version, legal_and_illegal_as_semver_validation)
{
    static const char *const legal[] = {
        "0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid", "1.0.0-alpha",
        "1.0.0-alpha.beta.1", "1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
        "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "2.0.0-rc.1+build.123", "10.2.3-DEV-SNAPSHOT",
        "1.2.3-SNAPSHOT-123", "2.0.0+build.1848", "1.0.0-alpha+beta", "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
        "1.2.3----R-S.12.9.1--.12+meta", "1.0.0+0.build.1-rc.10000aaa-kk-0.1", "999999999.999999999.999999999",
        "1.0.0-0A.is.legal", "1.2-SNAPSHOT", "1.2-RC-SNAPSHOT", "1", "1.2.3.4",
    };
    static const char *const illegal[] = {
        "", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid", "-invalid+invalid",
        "-invalid.01", "alpha", "alpha.beta.1", "alpha+beta", "alpha_beta", "alpha.", "1.0.0-alpha_beta",
        "-alpha.", "1.0.0-alpha..", "1.0.0-alpha..1", "01.1.1", "1.01.1", "1.1.01", "1.2.3.DEV",
        "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta",
        "9.8.7-whatever+meta+meta", "12.el2", "12.el2-1.0-rc5", "6.n\xc3\xbcll.7",
        "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30.31.32.33",
    };
    for (size_t i = 0; i < sizeof legal / sizeof *legal; i++)
        cr_expect_lt(vcmp(legal[i], "\x02"), 0, "legal: %s", legal[i]);
    for (size_t i = 0; i < sizeof illegal / sizeof *illegal; i++)
        cr_expect_gt(vcmp(illegal[i], "\x02"), 0, "illegal: %s", illegal[i]);
    /* long versions take the allocating path */
    char big[600];
    memset(big, 0, sizeof big);
    strcpy(big, "1.");
    memset(big + 2, '9', 120);
    strcat(big, "-");
    memset(big + strlen(big), 'a', 300);
    cr_expect_lt(vcmp(big, "2"), 0);
    cr_expect_gt(vcmp(big, "1.9"), 0);
}

/* ---- ip rendering: InetAddresses.toAddrString of the decoded point (an
 * IPv4-mapped address decodes to IPv4; RFC 5952 compression) ---- */

static const char *ip_text(const char *in)
{
    static char out[40];
    uint8_t ip[16];
    cr_assert(eq_ip_parse(in, strlen(in), ip), "%s", in);
    cr_assert_eq(eq_ip_format(ip, out), strlen(out));
    return out;
}

Test(ip, renders_as_elasticsearch_returns_ip_values)
{
    cr_expect_str_eq(ip_text("10.1.2.3"), "10.1.2.3");
    cr_expect_str_eq(ip_text("::ffff:10.1.2.3"), "10.1.2.3");
    cr_expect_str_eq(ip_text("0.9.99.100"), "0.9.99.100"); /* every width of an octet */
    cr_expect_str_eq(ip_text("255.254.10.0"), "255.254.10.0");
    cr_expect_str_eq(ip_text("0:0:0:0:0:0:0:1"), "::1");
    cr_expect_str_eq(ip_text("::"), "::");
    cr_expect_str_eq(ip_text("1::"), "1::");
    cr_expect_str_eq(ip_text("2001:DB8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); /* the first longest run */
    cr_expect_str_eq(ip_text("2001:db8:0:0:1:0:0:0"), "2001:db8:0:0:1::");
    cr_expect_str_eq(ip_text("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); /* one zero group stays */
    cr_expect_str_eq(ip_text("fe80:0000:0000:0000:0202:b3ff:fe1e:8329"), "fe80::202:b3ff:fe1e:8329");
    cr_expect_str_eq(ip_text("::10.0.0.1"), "::a00:1"); /* IPv4-compatible is IPv6 */
}
