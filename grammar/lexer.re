/* lexer.re: EQL tokens (Elasticsearch dialect, EQL.md §2), re2c 3.
 * Input is pointer + length; the driver copies it with a NUL sentinel so a
 * NUL byte inside the text is an error, not the end. Strings, raw strings,
 * backquoted names and comments are scanned by hand so errors point at the
 * exact byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lexer.h"
#include "parser.h"

static void lex_error(eq_lexer *lx, uint32_t off, uint32_t len, const char *msg)
{
    eq_error(lx->p, EQLITE_ESYNTAX, off, len, "%s", msg);
}

static uint32_t offset_of(const eq_lexer *lx, const unsigned char *q)
{
    return (uint32_t)(q - lx->start);
}

/* Appends one code point as UTF-8. */
static char *put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Length of the valid UTF-8 sequence at q (0 if invalid). */
static int utf8_len(const unsigned char *q, const unsigned char *lim)
{
    unsigned c = q[0];
    int n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (lim - q < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((q[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (q[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* Bytes up to the closing quote (an upper bound of the decoded size), so a
 * string costs its own length, not the rest of the rule. */
static size_t raw_extent(const unsigned char *q, const unsigned char *lim, unsigned char quote)
{
    const unsigned char *p = q;
    while (p < lim) {
        if (*p == '\\' && quote == '"') {
            p += 2;
            continue;
        }
        if (*p == quote) {
            if (quote == '`' && p + 1 < lim && p[1] == '`') {
                p += 2;
                continue;
            }
            break;
        }
        if (quote == '"' && (*p == '\n' || *p == '\r'))
            break;
        p++;
    }
    return (size_t)((p < lim ? p : lim) - q);
}

/* A "..." string starting at q (the opening quote). */
static int lex_string(eq_lexer *lx, const unsigned char *q, eq_token *t)
{
    const unsigned char *open = q++;
    char *out = eq_arena_alloc(lx->p->arena, raw_extent(q, lx->lim, '"') + 1);
    char *o = out;
    if (!out) {
        eq_error(lx->p, EQLITE_ENOMEM, offset_of(lx, open), 1, "out of memory");
        return -1;
    }
    for (;;) {
        if (q >= lx->lim || *q == '\n' || *q == '\r') {
            lex_error(lx, offset_of(lx, open), (uint32_t)(q - open), "unterminated string");
            return -1;
        }
        if (*q == '"')
            break;
        if (*q == '\\') {
            const unsigned char *esc = q;
            unsigned c = q + 1 < lx->lim ? q[1] : 0;
            q += 2;
            switch (c) {
            case 't': *o++ = '\t'; continue;
            case 'b': *o++ = '\b'; continue;
            case 'f': *o++ = '\f'; continue;
            case 'n': *o++ = '\n'; continue;
            case 'r': *o++ = '\r'; continue;
            case '"': *o++ = '"'; continue;
            case '\'': *o++ = '\''; continue;
            case '\\': *o++ = '\\'; continue;
            case 'u': break;
            default:
                lex_error(lx, offset_of(lx, esc), 2,
                          "invalid escape sequence in string (allowed: \\t \\b \\f \\n \\r \\\" \\' \\\\ \\uXXXX \\u{X...})");
                return -1;
            }
            uint32_t cp = 0;
            if (q < lx->lim && *q == '{') {
                const unsigned char *h = ++q;
                while (q < lx->lim && hexval(*q) >= 0)
                    q++;
                size_t nd = (size_t)(q - h);
                if (q >= lx->lim || *q != '}' || nd == 0) {
                    lex_error(lx, offset_of(lx, esc), (uint32_t)(q - esc), "token recognition error: malformed \\u{...} escape");
                    return -1;
                }
                q++;
                if (nd < 2 || nd > 8) {
                    eq_error(lx->p, EQLITE_ESYNTAX, offset_of(lx, esc), (uint32_t)(q - esc),
                             "Unicode sequence in curly braces should use [2-8] hex digits, [%.*s] has [%zu]",
                             (int)(q - esc), (const char *)esc, nd);
                    return -1;
                }
                uint64_t v = 0;
                for (const unsigned char *d = h; d < h + nd; d++)
                    v = v * 16 + (uint64_t)hexval(*d);
                if (v > 0x10FFFF) {
                    eq_error(lx->p, EQLITE_ESYNTAX, offset_of(lx, esc), (uint32_t)(q - esc),
                             "Invalid unicode character code [%.*s]", (int)nd, (const char *)h);
                    return -1;
                }
                cp = (uint32_t)v;
            } else {
                for (int k = 0; k < 4; k++, q++) {
                    int hv = q < lx->lim ? hexval(*q) : -1;
                    if (hv < 0) {
                        lex_error(lx, offset_of(lx, esc), (uint32_t)(q - esc) + 1,
                                  "token recognition error: \\u needs exactly 4 hex digits");
                        return -1;
                    }
                    cp = cp * 16 + (uint32_t)hv;
                }
            }
            if (cp == 0) {
                lex_error(lx, offset_of(lx, esc), (uint32_t)(q - esc), "Unicode sequence results in null");
                return -1;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                lex_error(lx, offset_of(lx, esc), (uint32_t)(q - esc), "Invalid unicode character code (surrogate)");
                return -1;
            }
            o = put_utf8(o, cp);
            continue;
        }
        int n = utf8_len(q, lx->lim);
        if (n == 0) {
            lex_error(lx, offset_of(lx, q), 1, *q ? "invalid UTF-8 in string" : "NUL byte in string");
            return -1;
        }
        memcpy(o, q, (size_t)n);
        o += n;
        q += n;
    }
    q++;
    t->s = out;
    t->n = (uint32_t)(o - out);
    *o = 0;
    lx->cur = q;
    return TK_STRING;
}

/* A """raw""" string: no escapes, one line, ends at the first """ and absorbs
 * up to two more quotes (Elasticsearch's rule). */
static int lex_raw_string(eq_lexer *lx, const unsigned char *q, eq_token *t)
{
    const unsigned char *open = q;
    const unsigned char *body = q + 3;
    for (q = body;; q++) {
        if (q >= lx->lim || *q == '\n' || *q == '\r') {
            lex_error(lx, offset_of(lx, open), (uint32_t)(q - open), "unterminated raw string (\"\"\"...\"\"\" must end on the same line)");
            return -1;
        }
        if (q + 2 < lx->lim && q[0] == '"' && q[1] == '"' && q[2] == '"')
            break;
        int n = utf8_len(q, lx->lim);
        if (n == 0) {
            lex_error(lx, offset_of(lx, q), 1, *q ? "invalid UTF-8 in string" : "NUL byte in string");
            return -1;
        }
        q += n - 1;
    }
    const unsigned char *end = q;
    q += 3;
    for (int extra = 0; extra < 2 && q < lx->lim && *q == '"'; extra++) {
        q++;
        end++;
    }
    t->s = eq_arena_strdup(lx->p->arena, (const char *)body, (size_t)(end - body));
    t->n = (uint32_t)(end - body);
    lx->cur = q;
    return TK_STRING;
}

/* A `backquoted` name; a doubled backtick is one backtick. */
static int lex_quoted_ident(eq_lexer *lx, const unsigned char *q, eq_token *t)
{
    const unsigned char *open = q++;
    char *out = eq_arena_alloc(lx->p->arena, raw_extent(q, lx->lim, '`') + 1);
    char *o = out;
    if (!out)
        return -1;
    for (;;) {
        if (q >= lx->lim) {
            lex_error(lx, offset_of(lx, open), (uint32_t)(q - open), "token recognition error: unterminated `quoted` name");
            return -1;
        }
        if (*q == '`') {
            if (q + 1 < lx->lim && q[1] == '`') {
                *o++ = '`';
                q += 2;
                continue;
            }
            break;
        }
        int n = utf8_len(q, lx->lim);
        if (n == 0) {
            lex_error(lx, offset_of(lx, q), 1, *q ? "invalid UTF-8 in quoted name" : "NUL byte in quoted name");
            return -1;
        }
        if (*q == '\n') {
            lx->line++;
            lx->line_start = q + 1;
        }
        memcpy(o, q, (size_t)n);
        o += n;
        q += n;
    }
    t->s = out;
    t->n = (uint32_t)(o - out);
    *o = 0;
    if (t->n == 0) {
        lex_error(lx, offset_of(lx, open), 2, "empty `quoted` name");
        return -1;
    }
    lx->cur = q + 1;
    return TK_QIDENT;
}

/* A block comment; Elasticsearch's rule is recursive, so they nest. */
static bool skip_block_comment(eq_lexer *lx, const unsigned char *q)
{
    const unsigned char *open = q;
    int depth = 0;
    while (q < lx->lim) {
        if (q[0] == '/' && q + 1 < lx->lim && q[1] == '*') {
            depth++;
            q += 2;
        } else if (q[0] == '*' && q + 1 < lx->lim && q[1] == '/') {
            q += 2;
            if (--depth == 0) {
                lx->cur = q;
                return true;
            }
        } else {
            if (*q == '\n') {
                lx->line++;
                lx->line_start = q + 1;
            }
            q++;
        }
    }
    lex_error(lx, offset_of(lx, open), 2, "unterminated /* comment");
    return false;
}

/* Records [from, lx->cur) for fmt when asked; the parser never sees it. */
static bool note_comment(eq_lexer *lx, const unsigned char *from)
{
    eq_parse *p = lx->p;
    if (!p->keep_comments)
        return true;
    if (p->ncomments == p->capcomments) {
        uint32_t cap = p->capcomments ? p->capcomments * 2 : 8;
        eq_comment *grown = eq_arena_alloc(p->arena, cap * sizeof *grown);
        if (!grown) {
            eq_error(p, EQLITE_ENOMEM, offset_of(lx, from), 2, "out of memory");
            return false;
        }
        if (p->ncomments)
            memcpy(grown, p->comments, p->ncomments * sizeof *grown);
        p->comments = grown;
        p->capcomments = cap;
    }
    p->comments[p->ncomments].off = offset_of(lx, from);
    p->comments[p->ncomments].len = (uint32_t)(lx->cur - from);
    p->ncomments++;
    return true;
}

static int number_token(eq_lexer *lx, eq_token *t, bool decimal)
{
    char buf[64];
    size_t n = t->len < sizeof buf - 1 ? t->len : sizeof buf - 1;
    memcpy(buf, lx->start + t->off, n);
    buf[n] = 0;
    if (decimal) {
        t->d = strtod(buf, NULL);
        return TK_DECIMAL;
    }
    /* Integers beyond int64 still parse (ES turns them into doubles). */
    uint64_t v = 0;
    bool big = t->len > 19;
    for (size_t k = 0; k < t->len && !big; k++) {
        unsigned dgt = (unsigned)(lx->start[t->off + k] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            big = true;
        else
            v = v * 10 + dgt;
    }
    if (big || v > (uint64_t)INT64_MAX) {
        t->big = true;
        t->d = strtod(buf, NULL);
        return TK_DECIMAL;
    }
    t->i = (int64_t)v;
    return TK_INTEGER;
}

int eq_lex_next(eq_lexer *lx, eq_token *t)
{
    const unsigned char *mar;
    for (;;) {
        const unsigned char *tok = lx->cur;
        memset(t, 0, sizeof *t);
        t->off = offset_of(lx, tok);
        t->line = lx->line;
        t->col = (uint32_t)(tok - lx->line_start) + 1;
#define TOKEN(code) do { t->len = (uint32_t)(lx->cur - tok); return (code); } while (0)
        /*!re2c
            re2c:api:style = free-form;
            re2c:define:YYCTYPE = "unsigned char";
            re2c:define:YYCURSOR = "lx->cur";
            re2c:define:YYMARKER = "mar";
            re2c:define:YYLIMIT = "lx->lim";
            re2c:yyfill:enable = 0;
            re2c:eof = 0;

            digit = [0-9];
            exp = [eE] [+-]? digit+;
            ident = [A-Za-z_@] [A-Za-z0-9_]*;

            $ { t->len = 0; return 0; }

            [ \t\r]+ { continue; }
            "\xEF\xBB\xBF" { /* a byte order mark is whitespace only where a file starts */
                if (t->off == 0)
                    continue;
                lex_error(lx, t->off, 3, "byte order mark (U+FEFF) inside the rule");
                return -1;
            }
            "\n" { lx->line++; lx->line_start = lx->cur; continue; }
            "//" [^\n\x00]* { if (!note_comment(lx, tok)) return -1; continue; }
            "/*" { if (!skip_block_comment(lx, tok) || !note_comment(lx, tok)) return -1; continue; }

            "and" { TOKEN(TK_AND); }
            "any" { TOKEN(TK_ANY); }
            "by" { TOKEN(TK_BY); }
            "false" { TOKEN(TK_FALSE); }
            "in" { TOKEN(TK_IN); }
            "in~" { TOKEN(TK_IN_I); }
            "join" { TOKEN(TK_JOIN); }
            "like" { TOKEN(TK_LIKE); }
            "like~" { TOKEN(TK_LIKE_I); }
            "maxspan" { TOKEN(TK_MAXSPAN); }
            "not" { TOKEN(TK_NOT); }
            "null" { TOKEN(TK_NULL); }
            "of" { TOKEN(TK_OF); }
            "or" { TOKEN(TK_OR); }
            "regex" { TOKEN(TK_REGEX); }
            "regex~" { TOKEN(TK_REGEX_I); }
            "sample" { TOKEN(TK_SAMPLE); }
            "sequence" { TOKEN(TK_SEQUENCE); }
            "true" { TOKEN(TK_TRUE); }
            "until" { TOKEN(TK_UNTIL); }
            "where" { TOKEN(TK_WHERE); }
            "with" { TOKEN(TK_WITH); }

            ident "~" {
                t->len = (uint32_t)(lx->cur - tok);
                t->s = eq_arena_strdup(lx->p->arena, (const char *)tok, t->len - 1);
                t->n = t->len - 1;
                return TK_TILDE_IDENT;
            }
            ident {
                t->len = (uint32_t)(lx->cur - tok);
                t->s = eq_arena_strdup(lx->p->arena, (const char *)tok, t->len);
                t->n = t->len;
                return TK_IDENT;
            }
            "`" { return lex_quoted_ident(lx, tok, t) < 0 ? -1 : (t->len = (uint32_t)(lx->cur - tok), TK_QIDENT); }

            digit+ { t->len = (uint32_t)(lx->cur - tok); return number_token(lx, t, false); }
            digit+ "." digit* | "." digit+ | digit+ ("." digit*)? exp | "." digit+ exp {
                t->len = (uint32_t)(lx->cur - tok);
                return number_token(lx, t, true);
            }

            "\"\"\"" { int r = lex_raw_string(lx, tok, t); t->len = (uint32_t)(lx->cur - tok); return r; }
            "\"" { int r = lex_string(lx, tok, t); t->len = (uint32_t)(lx->cur - tok); return r; }
            "'" {
                lex_error(lx, t->off, 1, "Use double quotes [\"] to define string literals, not single quotes [']");
                return -1;
            }
            "?" [ \t]* ["'] {
                lex_error(lx, t->off, (uint32_t)(lx->cur - tok),
                          "Use triple double quotes [\"\"\"] to define unescaped string literals, not [?\"]");
                return -1;
            }

            "[" digit+ "]" {
                t->len = (uint32_t)(lx->cur - tok);
                t->i = strtoll((const char *)tok + 1, NULL, 10);
                return TK_INDEX;
            }

            "==" { TOKEN(TK_EQ); }
            "!=" { TOKEN(TK_NE); }
            "<=" { TOKEN(TK_LE); }
            ">=" { TOKEN(TK_GE); }
            "<" { TOKEN(TK_LT); }
            ">" { TOKEN(TK_GT); }
            "=" { TOKEN(TK_ASSIGN); }
            ":" { TOKEN(TK_COLON); }
            "+" { TOKEN(TK_PLUS); }
            "-" { TOKEN(TK_MINUS); }
            "*" { TOKEN(TK_STAR); }
            "/" { TOKEN(TK_SLASH); }
            "%" { TOKEN(TK_PERCENT); }
            "." { TOKEN(TK_DOT); }
            "," { TOKEN(TK_COMMA); }
            "|" { TOKEN(TK_PIPE); }
            "?" { TOKEN(TK_QMARK); }
            "![" { if (++lx->depth > EQ_MAX_PARENS) goto too_deep; TOKEN(TK_MISSING_LBRACKET); }
            "[" { if (++lx->depth > EQ_MAX_PARENS) goto too_deep; TOKEN(TK_LBRACKET); }
            "(" { if (++lx->depth > EQ_MAX_PARENS) goto too_deep; TOKEN(TK_LPAREN); }
            "]" { if (lx->depth) lx->depth--; TOKEN(TK_RBRACKET); }
            ")" { if (lx->depth) lx->depth--; TOKEN(TK_RPAREN); }
            "!:" { lex_error(lx, t->off, 2, "the operator [!:] is not supported; write [not x : y]"); return -1; }
            "&&" | "||" {
                lex_error(lx, t->off, 2, "use [and] / [or] instead of [&&] / [||]");
                return -1;
            }
            "\x00" { lex_error(lx, t->off, 1, "NUL byte in rule text"); return -1; }
            * {
                char msg[96];
                int n = utf8_len(tok, lx->lim);
                if (n == 0)
                    snprintf(msg, sizeof msg, "invalid UTF-8 byte 0x%02X", (unsigned)tok[0]);
                else
                    snprintf(msg, sizeof msg, "token recognition error at: '%.*s'", n, (const char *)tok);
                lex_error(lx, t->off, (uint32_t)(n ? n : 1), msg);
                return -1;
            }
        */
    too_deep:
        eq_error(lx->p, EQLITE_ELIMIT, t->off, 1, "brackets nested deeper than %d", EQ_MAX_PARENS);
        return -1;
#undef TOKEN
    }
}

void eq_lex_init(eq_lexer *lx, eq_parse *p, const unsigned char *text, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->p = p;
    lx->start = text;
    lx->cur = text;
    lx->lim = text + len;
    lx->line = 1;
    lx->line_start = text;
}
