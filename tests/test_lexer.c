/* Lexer: every token of EQL.md §2, positions, and errors with positions. */
#include <criterion/criterion.h>
#include <string.h>

#include "ast.h"
#include "lexer.h"
#include "parser.h"

typedef struct lexed {
    eq_arena arena;
    eq_parse p;
    eqlite_diag diag;
    eq_lexer lx;
    char text[256];
} lexed;

static void lex_start(lexed *l, const char *src, size_t len)
{
    memset(l, 0, sizeof *l);
    eq_arena_init(&l->arena, NULL);
    l->p.arena = &l->arena;
    l->p.src = src;
    l->p.len = len;
    l->p.diag = &l->diag;
    memcpy(l->text, src, len);
    l->text[len] = 0;
    eq_lex_init(&l->lx, &l->p, (const unsigned char *)l->text, len);
}

static int lex_one(const char *src, eq_token *t)
{
    static lexed l; /* the token's text lives on until the next call */
    eq_arena_free(&l.arena);
    lex_start(&l, src, strlen(src));
    return eq_lex_next(&l.lx, t);
}

static void lex_error(const char *src, size_t len, const char *message_part, unsigned col)
{
    lexed l;
    lex_start(&l, src, len);
    eq_token t;
    int code;
    do
        code = eq_lex_next(&l.lx, &t);
    while (code > 0);
    cr_assert_eq(code, -1, "expected a lexer error for [%s]", src);
    cr_assert(strstr(l.diag.message, message_part), "message [%s] lacks [%s]", l.diag.message, message_part);
    cr_assert_eq(l.diag.column, col, "column %u, want %u for [%s]", l.diag.column, col, src);
    eq_arena_free(&l.arena);
}

Test(lexer, keywords_are_lower_case_only)
{
    eq_token t;
    cr_assert_eq(lex_one("sequence", &t), TK_SEQUENCE);
    cr_assert_eq(lex_one("SEQUENCE", &t), TK_IDENT);
    cr_assert_eq(lex_one("in~", &t), TK_IN_I);
    cr_assert_eq(lex_one("like~", &t), TK_LIKE_I);
    cr_assert_eq(lex_one("regex~", &t), TK_REGEX_I);
}

Test(lexer, at_sign_starts_an_identifier)
{
    eq_token t;
    cr_assert_eq(lex_one("@timestamp", &t), TK_IDENT);
    cr_assert_eq(t.n, 10);
}

Test(lexer, tilde_after_name_makes_a_function_name)
{
    eq_token t;
    cr_assert_eq(lex_one("startsWith~(", &t), TK_TILDE_IDENT);
    cr_assert_str_eq(t.s, "startsWith");
}

Test(lexer, backquoted_names_unescape_doubled_backticks)
{
    eq_token t;
    cr_assert_eq(lex_one("`my``field`", &t), TK_QIDENT);
    cr_assert_str_eq(t.s, "my`field");
    cr_assert_eq(lex_one("`a b-c.d`", &t), TK_QIDENT);
    cr_assert_str_eq(t.s, "a b-c.d");
}

Test(lexer, numbers_follow_elasticsearch_forms)
{
    eq_token t;
    cr_assert_eq(lex_one("5", &t), TK_INTEGER);
    cr_assert_eq(t.i, 5);
    cr_assert_eq(lex_one("8589934592", &t), TK_INTEGER);
    cr_assert_eq(t.i, 8589934592LL);
    cr_assert_eq(lex_one("1.", &t), TK_DECIMAL);
    cr_assert_float_eq(t.d, 1.0, 1e-12);
    cr_assert_eq(lex_one(".5", &t), TK_DECIMAL);
    cr_assert_float_eq(t.d, 0.5, 1e-12);
    cr_assert_eq(lex_one("5e14", &t), TK_DECIMAL);
    cr_assert_float_eq(t.d, 5e14, 1);
    cr_assert_eq(lex_one("100000000000000000000000000000000", &t), TK_DECIMAL);
}

Test(lexer, string_escapes_decode)
{
    eq_token t;
    cr_assert_eq(lex_one("\"a\\tb\\n\\\"\\\\\\u0041\\u{263a}\"", &t), TK_STRING);
    cr_assert_str_eq(t.s, "a\tb\n\"\\A\xe2\x98\xba");
}

Test(lexer, raw_strings_keep_backslashes_and_absorb_extra_quotes)
{
    eq_token t;
    cr_assert_eq(lex_one("\"\"\"C:\\Windows\\*\"\"\"", &t), TK_STRING);
    cr_assert_str_eq(t.s, "C:\\Windows\\*");
    cr_assert_eq(lex_one("\"\"\"\"\"hello\"\"\"\"\"", &t), TK_STRING);
    cr_assert_str_eq(t.s, "\"\"hello\"\"");
}

Test(lexer, comments_nest)
{
    eq_token t;
    cr_assert_eq(lex_one("/* a /* b */ c */ any", &t), TK_ANY);
    cr_assert_eq(lex_one("// line\nany", &t), TK_ANY);
    cr_assert_eq(t.line, 2);
    cr_assert_eq(t.col, 1);
}

Test(lexer, tokens_carry_offset_line_and_column)
{
    lexed l;
    const char *src = "process where\n  x == 1";
    lex_start(&l, src, strlen(src));
    eq_token t;
    eq_lex_next(&l.lx, &t);
    eq_lex_next(&l.lx, &t);
    cr_assert_eq(eq_lex_next(&l.lx, &t), TK_IDENT);
    cr_assert_eq(t.off, 16);
    cr_assert_eq(t.line, 2);
    cr_assert_eq(t.col, 3);
    eq_arena_free(&l.arena);
}

Test(lexer, unicode_escape_range_errors)
{
    lex_error("x == \"\\u{D}\"", 12, "[2-8] hex digits", 7);
    lex_error("x == \"\\u{10000000}\"", 19, "Invalid unicode character code", 7);
    lex_error("x == \"\\u{0}0\"", 13, "[2-8] hex digits", 7);
    lex_error("x == \"\\u{00}\"", 13, "results in null", 7);
    lex_error("x == \"\\u{}\"", 11, "token recognition error", 7);
    lex_error("x == \"\\u001\"", 12, "4 hex digits", 7);
}

Test(lexer, bad_input_is_an_error_with_position)
{
    lex_error("x == \"abc", 9, "unterminated string", 6);
    lex_error("x == 'abc'", 10, "single quotes", 6);
    lex_error("x == ?\"abc\"", 11, "triple double quotes", 6);
    lex_error("/* never closed", 15, "unterminated /* comment", 1);
    lex_error("x == \"a\\qb\"", 11, "invalid escape", 8);
    lex_error("x\0y", 3, "NUL byte", 2);
    lex_error("x == \"\xff\"", 8, "invalid UTF-8", 7);
    lex_error("x == \"\"\"abc", 11, "unterminated raw string", 6);
    lex_error("`abc", 4, "unterminated", 1);
    lex_error("x !: y", 6, "[!:]", 3);
    lex_error("x # y", 5, "token recognition error", 3);
}

Test(lexer, byte_order_mark_is_whitespace_only_at_the_start)
{
    eq_token t;
    cr_assert_eq(lex_one("\xef\xbb\xbfprocess", &t), TK_IDENT);
    cr_assert_eq(t.off, 3);
    lex_error("a \xef\xbb\xbf", 5, "byte order mark", 3);
}
