/* regex_prefix.c: the literals every match of a Lucene regex starts with,
 * for the rule index (a regex test then runs only on values that have one).
 *
 * The reading mirrors regex.c's grammar (union > concatenation > repeat >
 * atom) on a conservative subset: anything it does not follow exactly
 * (operators in operand position, `#` `@` `"` `<` `~` `&`, non-ASCII
 * literals) ends the analysis with no prefixes, which only costs the index
 * a key. A prefix is `skip` single characters (`.`, a class, `\w` ...)
 * followed by literal bytes; a concatenation stops growing its prefix at
 * the first atom that may repeat or be absent, and a group at its start
 * gives one prefix per alternative. */
#include "regex.h"

#include <stdint.h>
#include <string.h>

#define MAX_SKIP 4 /* leading single characters a prefix may have */

typedef struct reader {
    const char *pat;
    size_t n, pos;
    bool failed;
    unsigned depth;
} reader;

/* The prefixes of one branch or group, up to EQ_REGEX_PREFIXES_MAX. */
typedef struct prefix_set {
    eq_regex_prefix items[EQ_REGEX_PREFIXES_MAX];
    size_t n;
} prefix_set;

static bool more(const reader *r) { return r->pos < r->n; }
static bool peek_in(const reader *r, const char *set) { return more(r) && strchr(set, r->pat[r->pos]); }

static bool take(reader *r, char c)
{
    if (!more(r) || r->pat[r->pos] != c)
        return false;
    r->pos++;
    return true;
}

static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* One class member character, with its optional backslash (Lucene's
 * parseCharExp); non-ASCII characters end the analysis. */
static void skip_char_exp(reader *r)
{
    take(r, '\\');
    if (!more(r) || (unsigned char)r->pat[r->pos] >= 0x80)
        r->failed = true;
    else
        r->pos++;
}

/* After '[': up to the matching ']' (the first member may be ']'). */
static void skip_class(reader *r)
{
    take(r, '^');
    do {
        if (take(r, '\\')) { /* `\d`, `\\` or an escaped character: one more */
            if (!more(r) || (unsigned char)r->pat[r->pos] >= 0x80)
                r->failed = true;
            else
                r->pos++;
            continue;
        }
        skip_char_exp(r);
        if (take(r, '-'))
            skip_char_exp(r);
    } while (!r->failed && more(r) && !peek_in(r, "]"));
    if (!take(r, ']'))
        r->failed = true;
}

/* After '{': n}, n,} or n,m}; the least count. */
static unsigned long skip_braces(reader *r)
{
    unsigned long least = 0;
    size_t start = r->pos;
    while (peek_in(r, "0123456789") && least < 100000)
        least = least * 10 + (unsigned long)(r->pat[r->pos++] - '0');
    if (r->pos == start)
        r->failed = true;
    if (take(r, ','))
        while (peek_in(r, "0123456789"))
            r->pos++;
    if (!take(r, '}'))
        r->failed = true;
    return least;
}

/* The operators after an atom: false if they let it be absent. */
static bool required_after_repeat(reader *r, bool *repeats)
{
    bool required = true;
    *repeats = false;
    while (!r->failed && peek_in(r, "?*+{")) {
        char op = r->pat[r->pos++];
        *repeats = true;
        if (op == '?' || op == '*' || (op == '{' && skip_braces(r) == 0))
            required = false;
    }
    return required;
}

static void read_union(reader *r, prefix_set *out);

enum atom_kind { ATOM_LITERAL, ATOM_ONE_CHAR, ATOM_GROUP, ATOM_EMPTY };

/* One atom (Lucene's parseComplement and below): a literal byte, one
 * character of a class, or a group with the prefixes of its alternatives. */
static enum atom_kind read_atom(reader *r, char *literal, prefix_set *group)
{
    if (!more(r)) {
        r->failed = true;
        return ATOM_EMPTY;
    }
    char c = r->pat[r->pos++];
    switch (c) {
    case '[':
        skip_class(r);
        return ATOM_ONE_CHAR;
    case '.':
        return ATOM_ONE_CHAR;
    case '(':
        if (take(r, ')'))
            return ATOM_EMPTY;
        if (++r->depth > 100) {
            r->failed = true;
            return ATOM_EMPTY;
        }
        read_union(r, group);
        r->depth--;
        if (!take(r, ')'))
            r->failed = true;
        return ATOM_GROUP;
    case '\\':
        if (!more(r)) {
            r->failed = true;
            return ATOM_EMPTY;
        }
        c = r->pat[r->pos++];
        if (is_letter(c)) /* \d \s \w and their complements: one character */
            return ATOM_ONE_CHAR;
        if ((unsigned char)c >= 0x80)
            r->failed = true;
        *literal = c; /* `\\` and any escaped character */
        return ATOM_LITERAL;
    default:
        /* operators in operand position are literals in Lucene; rare enough
         * to leave alone, like the optional operators and non-ASCII */
        if (strchr("#@\"<~&*?+{|)", c) || (unsigned char)c >= 0x80)
            r->failed = true;
        *literal = c;
        return ATOM_LITERAL;
    }
}

/* One branch: its prefix grows while atoms are single and required. */
static void read_concat(reader *r, prefix_set *out)
{
    eq_regex_prefix head = {0};
    bool growing = true;
    out->n = 0;
    do {
        char literal = 0;
        prefix_set group;
        group.n = 0;
        enum atom_kind kind = read_atom(r, &literal, &group);
        bool repeats;
        bool required = required_after_repeat(r, &repeats);
        if (r->failed || !growing || kind == ATOM_EMPTY)
            continue;
        if (kind == ATOM_LITERAL && required && head.n < EQ_REGEX_PREFIX_MAX) {
            head.s[head.n++] = literal; /* a repeated literal still occurs once here */
            growing = !repeats;
        } else if (kind == ATOM_ONE_CHAR && !repeats && head.n == 0 && head.skip < MAX_SKIP) {
            head.skip++;
        } else if (kind == ATOM_GROUP && required && head.n == 0 && out->n == 0) {
            /* the group's alternatives, after the characters skipped so far */
            for (size_t i = 0; i < group.n; i++) {
                out->items[out->n] = group.items[i];
                out->items[out->n++].skip += head.skip;
            }
            growing = false;
        } else {
            growing = false;
        }
    } while (!r->failed && more(r) && !peek_in(r, ")|&"));
    if (out->n == 0)
        out->items[out->n++] = head;
}

static void read_union(reader *r, prefix_set *out)
{
    out->n = 0;
    do {
        if (peek_in(r, "&")) {
            r->failed = true;
            return;
        }
        prefix_set branch;
        read_concat(r, &branch);
        if (r->failed || out->n + branch.n > EQ_REGEX_PREFIXES_MAX) {
            r->failed = true;
            return;
        }
        memcpy(out->items + out->n, branch.items, branch.n * sizeof *branch.items);
        out->n += branch.n;
    } while (take(r, '|'));
}

/* A caseless prefix keeps what folding cannot move: letters are lowered
 * (to be found in the folded value), but not after skipped characters
 * (one may fold to two) nor i, k and s, whose other cases include
 * non-ASCII characters (U+0130, U+212A, U+017F). */
static void keep_caseless(eq_regex_prefix *p)
{
    uint32_t n = 0;
    for (; n < p->n; n++) {
        char c = p->s[n];
        if (!is_letter(c))
            continue;
        char lower = (char)(c | 0x20);
        if (p->skip || lower == 'i' || lower == 'k' || lower == 's')
            break;
        p->s[n] = lower;
        p->folded = true;
    }
    p->n = n;
}

size_t eq_regex_prefixes(const char *pat, size_t n, bool caseless, eq_regex_prefix *out)
{
    reader r = {pat, n, 0, false, 0};
    prefix_set set;
    if (!pat || !n)
        return 0;
    read_union(&r, &set);
    if (r.failed || more(&r))
        return 0;
    for (size_t i = 0; i < set.n; i++) {
        if (caseless)
            keep_caseless(&set.items[i]);
        if (set.items[i].n < EQ_REGEX_PREFIX_MIN || set.items[i].skip > MAX_SKIP)
            return 0; /* a match may start with none of them */
    }
    memcpy(out, set.items, set.n * sizeof *set.items);
    return set.n;
}
