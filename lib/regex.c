/* regex.c: Lucene RegExp syntax (Elasticsearch `regex`) translated to PCRE2.
 *
 * Syntax flags. EQL's `regex`/`regex~` become an Elasticsearch `regexp` query
 * (ql RegexQuery -> QueryBuilders.regexpQuery) built with the default flags,
 * RegexpFlag.ALL = RegExp.ALL | RegExp.DEPRECATED_COMPLEMENT; constant folding
 * uses RLikePattern with the same set. So every optional operator is on:
 * INTERSECTION `&`, COMPLEMENT `~`, EMPTY `#`, ANYSTRING `@`, INTERVAL `<n-m>`
 * and AUTOMATON `<name>`. `regex~` adds the CASE_INSENSITIVE match flag.
 *
 * The parser mirrors Lucene's RegExp (10.x) production by production, so the
 * corner cases agree: an operator in operand position is a literal (`*a`,
 * `|a`), `\d \D \s \S \w \W` are ASCII classes, a backslash before any other
 * ASCII letter is an error, a backslash before anything else makes it literal,
 * `"..."` is a literal string, and Lucene has no anchors (`^ $` are literals).
 *
 * Not translatable to PCRE2 (rejected with a message): intersection `&`,
 * complement `~` and named automata `<name>` (Elasticsearch provides none).
 *
 * Case-insensitive matching follows Lucene: literal characters (and single
 * characters of a class) match in any case, ranges and predefined classes do
 * not (`[a-z]` does not match "A"). The pattern is compiled PCRE2_CASELESS and
 * ranges are wrapped in (?-i:...). Folding is Unicode-wide as in Lucene 10
 * (Elasticsearch 9); Elasticsearch 8 (Lucene 9) folded ASCII letters only.
 *
 * Matching is whole-value (PCRE2_ANCHORED | PCRE2_ENDANCHORED), `.` matches
 * any code point including newline (PCRE2_DOTALL), subjects that are not
 * valid UTF-8 do not match. When backtracking exceeds the match limit, the
 * DFA matcher (no backtracking) decides instead, like Lucene's automaton,
 * within a cost budget; past it, or past its workspace limit, the match is
 * an error (EQLITE_ELIMIT from the API call), never a silent "no match". */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "regex.h"

#include <inttypes.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "strbuf.h"
#include "value.h" /* eq_parse_digits */

#define MAX_GROUP_DEPTH 200
#define MAX_REPEAT 65535        /* PCRE2's largest {n,m} */
#define MAX_INTERVAL_DIGITS 64
#define MATCH_LIMIT 1000000     /* backtracking budget before the DFA fallback */
#define JIT_STACK_START (32 * 1024)
#define JIT_STACK_MAX (512 * 1024)
#define PARENS_NEST_LIMIT 1000
#define DFA_WORKSPACE_START 4096
#define DFA_WORKSPACE_MAX (4u << 20) /* 16 MiB: past it a match is an error, never "no match" */
/* PCRE2's DFA matcher costs about (subject bytes) x (active states)^2, ~2 ns a
 * unit here; past this budget (~1 s) the match is an error (ELIMIT) instead
 * of minutes of work. Typical rule regexes (~16 states) stay exact up to
 * about 1 MB values; Lucene itself never indexes a term over 32766 bytes. */
#define DFA_WORK_LIMIT 500000000ull
#define DFA_BYTES_PER_STATE 12 /* compiled pattern bytes per NFA state, measured */

struct eq_regex {
    pcre2_code *code;     /* read-only after compile: shared between threads */
    uint64_t dfa_states;  /* estimated NFA states, for the fallback's cost bound */
    eq_regex_prefix prefixes[EQ_REGEX_PREFIXES_MAX]; /* for the rule index */
    size_t nprefixes;
};

/* Per-thread matching state: match data, limits, a JIT stack and the DFA
 * matcher's workspace (grown on demand up to DFA_WORKSPACE_MAX ints). */
struct eq_regex_scratch {
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack; /* made at the first match */
    bool no_jit_stack;          /* it could not be made */
    int *workspace;
    size_t workspace_cap;
};

/* ---- Output (strbuf.h) ----------------------------------------------------- */

/* Wraps everything written since `start` in a non-capturing group. */
static void out_wrap(eq_strbuf *b, size_t start)
{
    if (!eq_strbuf_reserve(b, 4))
        return;
    memmove(b->data + start + 3, b->data + start, b->len - start);
    memcpy(b->data + start, "(?:", 3);
    b->len += 3;
    eq_strbuf_char(b, ')');
}

/* ---- Translator state ----------------------------------------------------- */

/* One entry of a character class: a range of code points. `folds` marks a
 * plain single character, the only class member Lucene matches caselessly. */
typedef struct class_item {
    int32_t lo, hi;
    bool folds;
} class_item;

typedef struct translator {
    const char *pat;
    size_t n, pos;
    bool caseless;
    int depth;
    eq_strbuf out;
    class_item *items;
    size_t nitems, items_cap;
    char *err;
    size_t errcap;
    bool failed;
} translator;

static void fail(translator *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    t->failed = true;
    if (t->err && t->errcap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->err, t->errcap, fmt, ap);
        va_end(ap);
    }
}

static void fail_unsupported(translator *t, const char *feature, size_t at)
{
    fail(t, "unsupported Lucene regex feature [%s] at offset %zu", feature, at);
}

static bool more(const translator *t) { return t->pos < t->n; }

/* Is the next character one of the ASCII characters in `set`? */
static bool peek_in(const translator *t, const char *set)
{
    return more(t) && (unsigned char)t->pat[t->pos] < 0x80 && t->pat[t->pos] != '\0' &&
           strchr(set, t->pat[t->pos]) != NULL;
}

static bool match(translator *t, char c)
{
    if (more(t) && t->pat[t->pos] == c) {
        t->pos++;
        return true;
    }
    return false;
}

/* The pattern was validated as UTF-8 up front. */
static int32_t next_cp(translator *t)
{
    if (!more(t)) {
        fail(t, "invalid Lucene regex: unexpected end of pattern at offset %zu", t->pos);
        return 0;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)t->pat + t->pos,
                                            (utf8proc_ssize_t)(t->n - t->pos), &cp);
    t->pos += len > 0 ? (size_t)len : 1;
    return cp;
}

static bool is_ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static bool is_ascii_alnum(int32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---- Emitting literals ------------------------------------------------------ */

/* Characters written as \x{...} so that the translation stays readable. */
static bool is_invisible(int32_t cp)
{
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return true;
    default:
        return false;
    }
}

/* A code point as a PCRE2 literal, valid inside and outside classes:
 * backslash before ASCII punctuation is always literal in PCRE2. */
static void emit_cp(translator *t, int32_t cp)
{
    if (is_ascii_alnum(cp) || cp == '_' || cp == ' ') {
        eq_strbuf_char(&t->out, (char)cp);
    } else if (cp > 0x20 && cp < 0x7f) {
        eq_strbuf_char(&t->out, '\\');
        eq_strbuf_char(&t->out, (char)cp);
    } else if (cp < 0x80) {
        char buf[16];
        snprintf(buf, sizeof buf, "\\x{%x}", (unsigned)cp);
        eq_strbuf_str(&t->out, buf);
    } else if (is_invisible(cp)) {
        char buf[16];
        snprintf(buf, sizeof buf, "\\x{%x}", (unsigned)cp);
        eq_strbuf_str(&t->out, buf);
    } else {
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t len = utf8proc_encode_char(cp, enc);
        eq_strbuf_bytes(&t->out, (const char *)enc, (size_t)len);
    }
}

/* A quoted string: one literal character, or a group of them (so that a
 * following operator repeats the whole string, as in Lucene). */
static void emit_string(translator *t, const char *s, size_t n)
{
    size_t start = t->out.len, chars = 0;
    for (size_t i = 0; i < n; chars++) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        i += len > 0 ? (size_t)len : 1;
        emit_cp(t, cp);
    }
    if (chars != 1)
        out_wrap(&t->out, start);
}

/* ---- Character classes ------------------------------------------------------ */

static void add_item(translator *t, int32_t lo, int32_t hi, bool folds)
{
    if (t->nitems == t->items_cap) {
        size_t cap = t->items_cap ? t->items_cap * 2 : 16;
        class_item *p = realloc(t->items, cap * sizeof *p);
        if (!p) {
            t->out.failed = true;
            fail(t, EQ_REGEX_NOMEM);
            return;
        }
        t->items = p;
        t->items_cap = cap;
    }
    t->items[t->nitems++] = (class_item){lo, hi, folds};
}

/* Complement of the sorted, disjoint ranges in `r` over all code points. */
static void add_complement(translator *t, const int32_t (*r)[2], size_t count)
{
    int32_t next = 0;
    for (size_t i = 0; i < count; i++) {
        if (r[i][0] > next)
            add_item(t, next, r[i][0] - 1, false);
        next = r[i][1] + 1;
    }
    add_item(t, next, 0x10FFFF, false);
}

static const int32_t DIGIT_RANGES[][2] = {{'0', '9'}};
static const int32_t SPACE_RANGES[][2] = {{'\t', '\n'}, {'\r', '\r'}, {' ', ' '}};
static const int32_t WORD_RANGES[][2] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* After a backslash, at an ASCII letter or backslash: Lucene's expandPreDefined. */
static void add_predefined(translator *t)
{
    size_t at = t->pos - 1;
    char c = t->pat[t->pos++];
    switch (c) {
    case '\\': add_item(t, '\\', '\\', false); break;
    case 'd': add_item(t, '0', '9', false); break;
    case 'D': add_complement(t, DIGIT_RANGES, COUNT(DIGIT_RANGES)); break;
    case 's':
        for (size_t i = 0; i < COUNT(SPACE_RANGES); i++)
            add_item(t, SPACE_RANGES[i][0], SPACE_RANGES[i][1], false);
        break;
    case 'S': add_complement(t, SPACE_RANGES, COUNT(SPACE_RANGES)); break;
    case 'w':
        for (size_t i = 0; i < COUNT(WORD_RANGES); i++)
            add_item(t, WORD_RANGES[i][0], WORD_RANGES[i][1], false);
        break;
    case 'W': add_complement(t, WORD_RANGES, COUNT(WORD_RANGES)); break;
    default:
        fail(t, "invalid Lucene regex: invalid character class \\%c at offset %zu", c, at);
    }
}

static void emit_items(translator *t, bool folds)
{
    for (size_t i = 0; i < t->nitems; i++) {
        const class_item *it = &t->items[i];
        if (it->folds != folds)
            continue;
        emit_cp(t, it->lo);
        if (it->hi != it->lo) {
            eq_strbuf_char(&t->out, '-');
            emit_cp(t, it->hi);
        }
    }
}

static void emit_class_part(translator *t, bool negate, bool folds)
{
    eq_strbuf_str(&t->out, negate ? "[^" : "[");
    emit_items(t, folds);
    eq_strbuf_char(&t->out, ']');
}

/* Writes the collected items as one atom. Case-sensitive: a plain class.
 * Caseless: plain characters fold (global CASELESS), ranges do not. */
static void emit_class(translator *t, bool negate)
{
    size_t nfold = 0;
    for (size_t i = 0; i < t->nitems; i++)
        nfold += t->items[i].folds;
    size_t nrange = t->nitems - nfold;
    if (!t->caseless) {
        eq_strbuf_str(&t->out, negate ? "[^" : "[");
        emit_items(t, true);
        emit_items(t, false);
        eq_strbuf_char(&t->out, ']');
        return;
    }
    if (nrange == 0) {
        emit_class_part(t, negate, true);
        return;
    }
    bool mixed = nfold > 0;
    if (mixed)
        eq_strbuf_str(&t->out, "(?:");
    if (mixed && !negate) {
        emit_class_part(t, false, true);
        eq_strbuf_char(&t->out, '|');
    } else if (mixed) {
        eq_strbuf_str(&t->out, "(?!");
        emit_class_part(t, false, true);
        eq_strbuf_char(&t->out, ')');
    }
    eq_strbuf_str(&t->out, "(?-i:");
    emit_class_part(t, negate, false);
    eq_strbuf_char(&t->out, ')');
    if (mixed)
        eq_strbuf_char(&t->out, ')');
}

/* One class member after a backslash: `\\`, a predefined class, an error for
 * other letters, else the next character taken literally. */
static void parse_class_escape(translator *t)
{
    if (more(t) && (t->pat[t->pos] == '\\' || is_ascii_letter(t->pat[t->pos]))) {
        add_predefined(t);
        return;
    }
    int32_t c = next_cp(t);
    add_item(t, c, c, false);
}

/* Lucene's parseCharExp: an optional backslash, then any character. */
static int32_t parse_char_exp(translator *t)
{
    match(t, '\\');
    return next_cp(t);
}

static void parse_class_member(translator *t)
{
    if (match(t, '\\')) {
        parse_class_escape(t);
        return;
    }
    size_t at = t->pos;
    int32_t c = next_cp(t);
    if (match(t, '-')) {
        int32_t hi = parse_char_exp(t);
        if (!t->failed && c > hi)
            fail(t, "invalid Lucene regex: invalid range from U+%04X to U+%04X at offset %zu",
                 (unsigned)c, (unsigned)hi, at);
        add_item(t, c, hi, false);
    } else {
        add_item(t, c, c, true);
    }
}

/* After '['. The first member may be ']' (Lucene reads one member before
 * looking for the end), so "[]a]" is the class of ']' and 'a'. */
static void parse_class(translator *t)
{
    bool negate = match(t, '^');
    t->nitems = 0;
    do {
        parse_class_member(t);
    } while (!t->failed && more(t) && !peek_in(t, "]"));
    if (t->failed)
        return;
    if (!match(t, ']')) {
        fail(t, "invalid Lucene regex: expected ']' at offset %zu", t->pos);
        return;
    }
    emit_class(t, negate);
}

/* `\d` etc. outside a class: a class of its own. */
static void parse_predefined_atom(translator *t)
{
    t->nitems = 0;
    add_predefined(t);
    if (!t->failed)
        emit_class(t, false);
}

/* ---- Numeric intervals -------------------------------------------------------- */

static bool all_digits_are(const char *s, int len, char d)
{
    for (int i = 0; i < len; i++)
        if (s[i] != d)
            return false;
    return true;
}

static void emit_digit_run(translator *t, int count)
{
    char buf[24];
    if (count == 1)
        eq_strbuf_str(&t->out, "[0-9]");
    else if (count > 1) {
        snprintf(buf, sizeof buf, "[0-9]{%d}", count);
        eq_strbuf_str(&t->out, buf);
    }
}

static void emit_digit_span(translator *t, char d1, char d2)
{
    if (d1 == d2) {
        eq_strbuf_char(&t->out, d1);
    } else {
        char buf[8];
        snprintf(buf, sizeof buf, "[%c-%c]", d1, d2);
        eq_strbuf_str(&t->out, buf);
    }
}

/* Alternation matching exactly the `len`-digit strings between lo and hi:
 * lo's first digit with any larger tail, the digits strictly between with
 * any tail, hi's first digit with any smaller tail. */
static void emit_fixed_range(translator *t, const char *lo, const char *hi, int len)
{
    if (len == 0)
        return;
    if (lo[0] == hi[0]) {
        eq_strbuf_char(&t->out, lo[0]);
        emit_fixed_range(t, lo + 1, hi + 1, len - 1);
        return;
    }
    bool low_part = !all_digits_are(lo + 1, len - 1, '0');
    bool high_part = !all_digits_are(hi + 1, len - 1, '9');
    char d1 = low_part ? (char)(lo[0] + 1) : lo[0];
    char d2 = high_part ? (char)(hi[0] - 1) : hi[0];
    bool middle = d1 <= d2;
    bool grouped = low_part + middle + high_part > 1;
    char bound[MAX_INTERVAL_DIGITS + 1];
    if (grouped)
        eq_strbuf_str(&t->out, "(?:");
    if (low_part) {
        memset(bound, '9', (size_t)len);
        eq_strbuf_char(&t->out, lo[0]);
        emit_fixed_range(t, lo + 1, bound, len - 1);
    }
    if (middle) {
        if (low_part)
            eq_strbuf_char(&t->out, '|');
        emit_digit_span(t, d1, d2);
        emit_digit_run(t, len - 1);
    }
    if (high_part) {
        if (low_part || middle)
            eq_strbuf_char(&t->out, '|');
        memset(bound, '0', (size_t)len);
        eq_strbuf_char(&t->out, hi[0]);
        emit_fixed_range(t, bound, hi + 1, len - 1);
    }
    if (grouped)
        eq_strbuf_char(&t->out, ')');
}

static int decimal_width(int64_t v)
{
    int w = 1;
    while (v >= 10) {
        v /= 10;
        w++;
    }
    return w;
}

static int64_t power_of_ten(int k)
{
    int64_t p = 1;
    while (k-- > 0)
        p *= 10;
    return p;
}

static void format_padded(int64_t v, int width, char *out)
{
    /* width is at most MAX_INTERVAL_DIGITS; using the result keeps -O3's truncation check quiet */
    if (snprintf(out, MAX_INTERVAL_DIGITS + 1, "%0*" PRId64, width, v) < 0)
        out[0] = 0;
}

/* Automata.makeDecimalInterval: with `digits` > 0 exactly that many digits
 * (zero-padded); with 0 any number of leading zeros before the number. */
static void emit_interval(translator *t, int64_t min, int64_t max, int digits)
{
    char lo[MAX_INTERVAL_DIGITS + 1], hi[MAX_INTERVAL_DIGITS + 1];
    if (digits > 0) {
        format_padded(min, digits, lo);
        format_padded(max, digits, hi);
        eq_strbuf_str(&t->out, "(?:");
        emit_fixed_range(t, lo, hi, digits);
        eq_strbuf_char(&t->out, ')');
        return;
    }
    int wmin = decimal_width(min), wmax = decimal_width(max);
    eq_strbuf_str(&t->out, "(?:0*(?:");
    for (int w = wmin; w <= wmax; w++) {
        int64_t from = w == wmin ? min : power_of_ten(w - 1);
        int64_t to = w == wmax ? max : power_of_ten(w) - 1;
        if (w > wmin)
            eq_strbuf_char(&t->out, '|');
        format_padded(from, w, lo);
        format_padded(to, w, hi);
        emit_fixed_range(t, lo, hi, w);
    }
    eq_strbuf_str(&t->out, "))");
}

/* Integer.parseInt of an interval bound: optional '+', ASCII digits. */
static bool parse_bound(const char *s, size_t n, int64_t *out)
{
    size_t i = (n > 0 && s[0] == '+') ? 1 : 0;
    int64_t v;
    if (i == n || !eq_parse_digits(s + i, n - i, (int64_t)INT32_MAX + 1, &v) || v > INT32_MAX)
        return false;
    *out = v;
    return true;
}

/* After '<': `<n-m>` numeric interval; `<name>` (named automaton) is refused. */
static void parse_angle(translator *t)
{
    size_t open = t->pos - 1;
    const char *close = memchr(t->pat + t->pos, '>', t->n - t->pos);
    if (!close) {
        fail(t, "invalid Lucene regex: expected '>' at offset %zu", t->n);
        return;
    }
    const char *body = t->pat + t->pos;
    size_t blen = (size_t)(close - body);
    t->pos += blen + 1;
    const char *dash = memchr(body, '-', blen);
    if (!dash) {
        fail_unsupported(t, "<name> (named automaton)", open);
        return;
    }
    size_t ln = (size_t)(dash - body), rn = blen - ln - 1;
    int64_t min, max;
    if (ln == 0 || rn == 0 || memchr(dash + 1, '-', rn) || !parse_bound(body, ln, &min) ||
        !parse_bound(dash + 1, rn, &max) || (ln == rn && ln > MAX_INTERVAL_DIGITS)) {
        fail(t, "invalid Lucene regex: interval syntax error at offset %zu", open);
        return;
    }
    if (min > max) {
        int64_t swap = min;
        min = max;
        max = swap;
    }
    emit_interval(t, min, max, ln == rn ? (int)ln : 0);
}

/* ---- The grammar: union > intersection > concatenation > repeat > complement
 * > class > simple, as in Lucene's RegExp. ------------------------------------- */

static void parse_union(translator *t);

/* After '"': characters up to the next '"', all literal. */
static void parse_quoted(translator *t)
{
    const char *start = t->pat + t->pos;
    const char *end = memchr(start, '"', t->n - t->pos);
    if (!end) {
        fail(t, "invalid Lucene regex: expected '\"' at offset %zu", t->n);
        return;
    }
    t->pos += (size_t)(end - start) + 1;
    emit_string(t, start, (size_t)(end - start));
}

/* After '(': "()" is the empty string. */
static void parse_group(translator *t)
{
    if (match(t, ')')) {
        eq_strbuf_str(&t->out, "(?:)");
        return;
    }
    if (++t->depth > MAX_GROUP_DEPTH) {
        fail(t, "invalid Lucene regex: groups nested deeper than %d at offset %zu",
             MAX_GROUP_DEPTH, t->pos);
        return;
    }
    eq_strbuf_str(&t->out, "(?:");
    parse_union(t);
    t->depth--;
    if (t->failed)
        return;
    if (!match(t, ')')) {
        fail(t, "invalid Lucene regex: expected ')' at offset %zu", t->pos);
        return;
    }
    eq_strbuf_char(&t->out, ')');
}

static void parse_simple(translator *t)
{
    if (match(t, '.'))
        eq_strbuf_char(&t->out, '.');
    else if (match(t, '#'))
        eq_strbuf_str(&t->out, "(?:(?!))"); /* the empty language */
    else if (match(t, '@'))
        eq_strbuf_str(&t->out, "(?:.*)");
    else if (match(t, '"'))
        parse_quoted(t);
    else if (match(t, '('))
        parse_group(t);
    else if (match(t, '<'))
        parse_angle(t);
    else if (match(t, '\\') && more(t) &&
             (t->pat[t->pos] == '\\' || is_ascii_letter(t->pat[t->pos])))
        parse_predefined_atom(t);
    else
        emit_cp(t, next_cp(t)); /* anything else, operators included, is literal */
}

static void parse_class_or_simple(translator *t)
{
    if (match(t, '['))
        parse_class(t);
    else
        parse_simple(t);
}

static void parse_complement(translator *t)
{
    if (peek_in(t, "~"))
        fail_unsupported(t, "~", t->pos);
    else
        parse_class_or_simple(t);
}

static bool parse_count(translator *t, long *out)
{
    size_t start = t->pos;
    long v = 0;
    while (peek_in(t, "0123456789")) {
        v = v * 10 + (t->pat[t->pos++] - '0');
        if (v > MAX_REPEAT) {
            fail(t, "invalid Lucene regex: repeat count above %d at offset %zu", MAX_REPEAT, start);
            return false;
        }
    }
    if (start == t->pos) {
        fail(t, "invalid Lucene regex: integer expected at offset %zu", t->pos);
        return false;
    }
    *out = v;
    return true;
}

/* After '{': n}, n,} or n,m}. */
static void parse_braces(translator *t)
{
    size_t open = t->pos - 1;
    long n, m = -1;
    if (!parse_count(t, &n))
        return;
    bool open_ended = false;
    if (match(t, ',')) {
        if (peek_in(t, "0123456789")) {
            if (!parse_count(t, &m))
                return;
        } else {
            open_ended = true;
        }
    }
    if (!match(t, '}')) {
        fail(t, "invalid Lucene regex: expected '}' at offset %zu", t->pos);
        return;
    }
    if (m >= 0 && n > m) {
        fail(t, "invalid Lucene regex: invalid repetition range {%ld,%ld} at offset %zu", n, m,
             open);
        return;
    }
    char buf[32];
    if (open_ended)
        snprintf(buf, sizeof buf, "{%ld,}", n);
    else if (m < 0 || m == n)
        snprintf(buf, sizeof buf, "{%ld}", n);
    else
        snprintf(buf, sizeof buf, "{%ld,%ld}", n, m);
    eq_strbuf_str(&t->out, buf);
}

/* Lucene applies stacked operators in turn: (a?)+ is a*. A run of ? * +
 * collapses to one operator ('+' if all are '+', '?' if all are '?', else
 * '*'); after a {n,m} the atom is wrapped first, since PCRE2 would read a
 * second operator as possessive or lazy. */
static char combine_ops(char prev, char op) { return prev == op && op != '*' ? op : '*'; }

static void parse_repeat(translator *t)
{
    size_t atom = t->out.len;
    parse_complement(t);
    char last = 0; /* previous operator, '{' for braces */
    while (!t->failed && peek_in(t, "?*+{")) {
        char op = t->pat[t->pos++];
        if (op != '{' && last && last != '{') {
            last = combine_ops(last, op);
            t->out.data[t->out.len - 1] = last;
            continue;
        }
        if (last)
            out_wrap(&t->out, atom);
        if (op == '{')
            parse_braces(t);
        else
            eq_strbuf_char(&t->out, op);
        last = op;
    }
}

static void parse_concat(translator *t)
{
    do {
        parse_repeat(t);
    } while (!t->failed && more(t) && !peek_in(t, ")|&"));
}

static void parse_intersection(translator *t)
{
    parse_concat(t);
    if (!t->failed && peek_in(t, "&"))
        fail_unsupported(t, "&", t->pos);
}

static void parse_union(translator *t)
{
    parse_intersection(t);
    while (!t->failed && match(t, '|')) {
        eq_strbuf_char(&t->out, '|');
        parse_intersection(t);
    }
}

static bool validate_utf8(translator *t)
{
    for (size_t i = 0; i < t->n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)t->pat + i,
                                                (utf8proc_ssize_t)(t->n - i), &cp);
        if (len <= 0) {
            fail(t, "invalid Lucene regex: invalid UTF-8 at offset %zu", i);
            return false;
        }
        i += (size_t)len;
    }
    return true;
}

/* Translates into t->out; false (message in t->err) on error. */
static bool translate(translator *t)
{
    eq_strbuf_reserve(&t->out, 0); /* data is a string even for "" */
    if (!validate_utf8(t))
        return false;
    if (t->n > 0) {
        parse_union(t);
        if (!t->failed && more(t))
            fail(t, "invalid Lucene regex: unbalanced ')' at offset %zu", t->pos);
    }
    if (t->out.failed)
        fail(t, EQ_REGEX_NOMEM);
    return !t->failed;
}

static void translator_init(translator *t, const char *pat, size_t n, bool caseless, char *err,
                            size_t errcap)
{
    memset(t, 0, sizeof *t);
    t->pat = pat ? pat : "";
    t->n = pat ? n : 0;
    t->caseless = caseless;
    t->err = err;
    t->errcap = errcap;
    if (err && errcap > 0)
        err[0] = '\0';
}

static void translator_done(translator *t)
{
    eq_strbuf_free(&t->out);
    free(t->items);
}

size_t eq_regex_translate(const char *pat, size_t n, char *out, size_t cap, char *err,
                          size_t errcap)
{
    translator t;
    translator_init(&t, pat, n, false, err, errcap);
    size_t len = (size_t)-1;
    if (cap > 0)
        out[0] = '\0';
    if (translate(&t)) {
        len = t.out.len;
        if (cap > 0) {
            size_t copy = len < cap - 1 ? len : cap - 1;
            memcpy(out, t.out.data, copy);
            out[copy] = '\0';
        }
    }
    translator_done(&t);
    return len;
}

/* ---- Compiling and matching ------------------------------------------------------ */

static pcre2_code *compile_translation(const eq_strbuf *b, bool caseless, char *err, size_t errcap)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    if (!cctx) {
        if (err && errcap > 0)
            snprintf(err, errcap, EQ_REGEX_NOMEM);
        return NULL;
    }
    pcre2_set_parens_nest_limit(cctx, PARENS_NEST_LIMIT);
    uint32_t options = PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOTALL |
                       PCRE2_NEVER_BACKSLASH_C;
    if (caseless)
        options |= PCRE2_CASELESS | PCRE2_UCP;
    int code_err;
    PCRE2_SIZE offset;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)b->data, b->len, options, &code_err, &offset, cctx);
    pcre2_compile_context_free(cctx);
    if (!code && err && errcap > 0 && code_err == PCRE2_ERROR_HEAP_FAILED) {
        snprintf(err, errcap, EQ_REGEX_NOMEM);
    } else if (!code && err && errcap > 0) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code_err, msg, sizeof msg);
        snprintf(err, errcap, "regex too complex to compile: %s", (const char *)msg);
    }
    return code;
}

eq_regex *eq_regex_compile(const char *pat, size_t n, bool caseless, char *err, size_t errcap)
{
    translator t;
    translator_init(&t, pat, n, caseless, err, errcap);
    pcre2_code *code = translate(&t) ? compile_translation(&t.out, caseless, err, errcap) : NULL;
    translator_done(&t);
    if (!code)
        return NULL;
    eq_regex *re = calloc(1, sizeof *re);
    if (!re) {
        pcre2_code_free(code);
        if (err && errcap > 0)
            snprintf(err, errcap, EQ_REGEX_NOMEM);
        return NULL;
    }
    re->code = code;
    size_t size = 0;
    pcre2_pattern_info(code, PCRE2_INFO_SIZE, &size);
    re->dfa_states = size / DFA_BYTES_PER_STATE + 1;
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* the interpreter remains if JIT fails */
    re->nprefixes = eq_regex_prefixes(pat, n, caseless, re->prefixes);
    return re;
}

size_t eq_regex_required_prefixes(const eq_regex *re, const eq_regex_prefix **out)
{
    *out = re ? re->prefixes : NULL;
    return re ? re->nprefixes : 0;
}

void eq_regex_free(eq_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    free(re);
}

eq_regex_scratch *eq_regex_scratch_new(void)
{
    eq_regex_scratch *scratch = calloc(1, sizeof *scratch);
    if (!scratch)
        return NULL;
    scratch->md = pcre2_match_data_create(1, NULL);
    scratch->mctx = pcre2_match_context_create(NULL);
    if (!scratch->md || !scratch->mctx) {
        eq_regex_scratch_free(scratch);
        return NULL;
    }
    pcre2_set_match_limit(scratch->mctx, MATCH_LIMIT);
    return scratch;
}

/* Without a JIT stack PCRE2 uses 32K of machine stack; a larger one keeps
 * long subjects on the fast path (the DFA catches the rest). Made at the
 * first match: every matcher has a scratch, most never meet a regex, and
 * each stack maps its 512K (a rule set of a thousand rules mapped and
 * unmapped thousands at start-up). */
static void ensure_jit_stack(eq_regex_scratch *scratch)
{
    if (scratch->jit_stack || scratch->no_jit_stack)
        return;
    scratch->jit_stack = pcre2_jit_stack_create(JIT_STACK_START, JIT_STACK_MAX, NULL);
    scratch->no_jit_stack = !scratch->jit_stack; /* tried once: the machine stack serves */
    if (scratch->jit_stack)
        pcre2_jit_stack_assign(scratch->mctx, NULL, scratch->jit_stack);
}

void eq_regex_scratch_free(eq_regex_scratch *scratch)
{
    if (!scratch)
        return;
    pcre2_match_data_free(scratch->md);
    pcre2_match_context_free(scratch->mctx);
    pcre2_jit_stack_free(scratch->jit_stack);
    free(scratch->workspace);
    free(scratch);
}

static bool is_utf_error(int rc) { return rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21; }

static bool over_budget(int rc)
{
    return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
           rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* The DFA matcher explores all paths at once: no exponential backtracking.
 * PCRE2 10.42's DFA matcher ignores PCRE2_ENDANCHORED, so a whole-value match
 * is decided here: matches start at 0 and the longest comes first, so the
 * value matches exactly when the longest match ends at n. */
static int dfa_match(const eq_regex *re, PCRE2_SPTR s, size_t n, eq_regex_scratch *scratch)
{
    for (;;) {
        if (!scratch->workspace) {
            scratch->workspace = malloc(DFA_WORKSPACE_START * sizeof(int));
            if (!scratch->workspace)
                return -1;
            scratch->workspace_cap = DFA_WORKSPACE_START;
        }
        int rc = pcre2_dfa_match(re->code, s, n, 0, 0, scratch->md, scratch->mctx,
                                 scratch->workspace, scratch->workspace_cap);
        if (rc >= 0)
            return pcre2_get_ovector_pointer(scratch->md)[1] == n;
        if (rc == PCRE2_ERROR_NOMATCH || is_utf_error(rc))
            return 0;
        if (rc != PCRE2_ERROR_DFA_WSSIZE || scratch->workspace_cap >= DFA_WORKSPACE_MAX)
            return -1;
        int *grown = realloc(scratch->workspace, scratch->workspace_cap * 2 * sizeof(int));
        if (!grown)
            return -1;
        scratch->workspace = grown;
        scratch->workspace_cap *= 2;
    }
}

/* JIT first; past the JIT stack the interpreter (heap frames); past the
 * backtracking budget the DFA matcher. 1 match, 0 no match, -1 the matcher
 * could not decide (a limit or memory), which is never reported as 0. */
static int match_with(const eq_regex *re, PCRE2_SPTR s, size_t n, eq_regex_scratch *scratch)
{
    ensure_jit_stack(scratch);
    int rc = pcre2_match(re->code, s, n, 0, 0, scratch->md, scratch->mctx);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re->code, s, n, 0, PCRE2_NO_JIT, scratch->md, scratch->mctx);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH || is_utf_error(rc))
        return 0; /* a subject that is not valid UTF-8 never matches */
    if (!over_budget(rc))
        return -1;
    if (re->dfa_states * re->dfa_states > DFA_WORK_LIMIT / ((uint64_t)n + 1))
        return -1; /* the fallback would take unbounded time */
    return dfa_match(re, s, n, scratch);
}

int eq_regex_match(const eq_regex *re, const char *s, size_t n, eq_regex_scratch *scratch)
{
    if (!re)
        return -1;
    PCRE2_SPTR subject = (PCRE2_SPTR)(s ? s : "");
    if (!s)
        n = 0;
    if (scratch)
        return match_with(re, subject, n, scratch);
    eq_regex_scratch *temp = eq_regex_scratch_new();
    if (!temp)
        return -1;
    int matched = match_with(re, subject, n, temp);
    eq_regex_scratch_free(temp);
    return matched;
}
