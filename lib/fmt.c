/* fmt.c: prints a parsed rule in one canonical layout. Parentheses come from
 * precedence, not from the source, so formatting is idempotent and the
 * output parses back to the same tree.
 *
 * Comments: the lexer records their spans (keep_comments) and the printer,
 * which emits nodes in source order, writes every comment that starts before
 * the next node (or clause) it prints, so they keep their order and stay
 * next to the code they were next to. Layout:
 *  - a comment that began its own line in the source begins one here, at the
 *    indent of the clause it sits in (continuation lines are indented two
 *    more than the clause line);
 *  - one that followed code on its line follows the same code here;
 *  - a // comment, or a block comment that ended its line, ends the line, so
 *    the following code goes on the next line (it can never be swallowed);
 *    other block comments stay inline;
 *  - comments just inside brackets ( ) or [ ] that the output writes too stay
 *    inside them (a // comment puts the closing bracket on a line of its
 *    own);
 *  - comments before the first token head the output, those after the last
 *    end it; blank lines are not kept.
 * Where the canonical layout already breaks (sequence terms, until, pipes) a
 * comment before the break stays on the line above it. Runs of comments are
 * written as they come, so their order never changes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "fmt.h"
#include "strbuf.h"

typedef struct printer {
    eq_strbuf out;          /* the caller's buffer, or none when only measuring */
    const char *src;
    size_t srclen;
    const eq_comment *comments;
    uint32_t ncomments, next_comment;
    size_t trailing_spaces; /* spaces ending the output, dropped before a line break */
    char last;              /* last byte written */
    bool at_line_start;
    bool pending_space;     /* after an inline block comment, unless a space or break follows */
    bool pending_break;     /* after a // comment: the next output starts a new line */
    int break_indent;       /* indent of that pending line */
    int indent;             /* indent of the lines the current clause breaks onto */
    size_t column;          /* of the next byte written */
    size_t width;           /* lines longer than this break where the layout can; 0: never */
    size_t tail;            /* bytes that follow the node being printed on its line (" and", "]") */
} printer;

/* Rules longer than this break: one condition per line, one list item per line. */
enum { LINE_WIDTH = 100 };

static void put_raw(printer *pr, const char *s, size_t n)
{
    eq_strbuf_bytes(&pr->out, s, n);
    for (size_t k = 0; k < n; k++)
        pr->column = s[k] == '\n' ? 0 : pr->column + 1;
}

static void line_break(printer *pr, int indent)
{
    pr->out.len -= pr->trailing_spaces;
    pr->column -= pr->trailing_spaces;
    put_raw(pr, "\n", 1);
    for (int k = 0; k < indent; k++)
        put_raw(pr, " ", 1);
    pr->trailing_spaces = (size_t)indent;
    pr->last = '\n';
    pr->at_line_start = true;
    pr->pending_space = pr->pending_break = false;
}

static void put(printer *pr, const char *s, size_t n)
{
    if (n == 0)
        return;
    if (pr->pending_break)
        line_break(pr, pr->break_indent);
    if (pr->at_line_start)
        while (n && *s == ' ')
            s++, n--;
    if (n == 0)
        return;
    if (pr->pending_space && *s != ' ' && *s != ')' && *s != ']')
        put_raw(pr, " ", 1);
    pr->pending_space = false;
    put_raw(pr, s, n);
    size_t spaces = 0;
    while (spaces < n && s[n - 1 - spaces] == ' ')
        spaces++;
    pr->trailing_spaces = spaces == n ? pr->trailing_spaces + n : spaces;
    pr->last = s[n - 1];
    pr->at_line_start = false;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Whether only blanks separate the comment from a newline (or the start). */
static bool comment_starts_line(const printer *pr, const eq_comment *c)
{
    size_t k = c->off;
    while (k > 0 && blank(pr->src[k - 1]))
        k--;
    return k == 0 || pr->src[k - 1] == '\n';
}

static bool comment_ends_line(const printer *pr, const eq_comment *c)
{
    size_t k = (size_t)c->off + c->len;
    while (k < pr->srclen && blank(pr->src[k]))
        k++;
    return k == pr->srclen || pr->src[k] == '\n';
}

static void put_comment(printer *pr, const eq_comment *c)
{
    const char *text = pr->src + c->off;
    size_t len = c->len;
    if (text[1] == '/' && text[len - 1] == '\r')
        len--; /* a CRLF line end, not text: the output ends lines with \n */
    if (comment_starts_line(pr, c) && !pr->at_line_start)
        line_break(pr, pr->indent);
    else if (!pr->pending_break && !pr->at_line_start && pr->last != ' ' && pr->last != '(')
        put(pr, " ", 1);
    put(pr, text, len);
    pr->trailing_spaces = 0; /* a // comment's own trailing blanks are its text */
    if (text[1] == '/' || comment_ends_line(pr, c)) {
        pr->pending_break = true;
        pr->break_indent = pr->indent;
    } else {
        pr->pending_space = true;
    }
}

/* Writes the comments that start before source offset `off`. */
static void flush_comments(printer *pr, uint32_t off)
{
    while (pr->next_comment < pr->ncomments && pr->comments[pr->next_comment].off < off)
        put_comment(pr, &pr->comments[pr->next_comment++]);
}

/* The operand n's text ends with, when its span ends where n's does (a
 * list's or call's span already takes in its `)`). */
static const eq_node *last_operand(const eq_node *n)
{
    switch ((eq_node_kind)n->kind) {
    case N_OR:
    case N_AND:
    case N_CMP:
    case N_ARITH:
    case N_NOT:
    case N_NEG: return n->kids[n->nkids - 1];
    case N_PRED: return (n->flags & NF_LIST) ? NULL : n->kids[n->nkids - 1];
    default: return NULL;
    }
}

/* The operand n's text starts with, when its span starts where n's does. */
static const eq_node *first_operand(const eq_node *n)
{
    switch ((eq_node_kind)n->kind) {
    case N_OR:
    case N_AND:
    case N_CMP:
    case N_ARITH:
    case N_PRED: return n->kids[0];
    default: return NULL;
    }
}

/* Where the `(` opening the parentheses n was written in is, so comments
 * after it stay inside the group; n->off when it is not found. As for the
 * `)`, the `(` of parenthesised operands starting n come in between. */
static uint32_t opening_paren_offset(const printer *pr, const eq_node *n)
{
    unsigned openers = 0;
    for (const eq_node *x = n; x; x = first_operand(x))
        openers += (x->flags & NF_PAREN) != 0;
    size_t k = n->off;
    uint32_t c = pr->next_comment; /* comments before n not yet written: [next_comment, c) */
    while (c < pr->ncomments && pr->comments[c].off < n->off)
        c++;
    while (k > 0 && openers) {
        if (blank(pr->src[k - 1]) || pr->src[k - 1] == '\n') {
            k--;
        } else if (c > pr->next_comment && (size_t)pr->comments[c - 1].off + pr->comments[c - 1].len == k) {
            k = pr->comments[--c].off;
        } else if (pr->src[k - 1] == '(') {
            k--;
            openers--;
        } else {
            break;
        }
    }
    return openers == 0 ? (uint32_t)k : n->off;
}

/* Writes the comments between the end of n and the `)` closing the
 * parentheses it was written in, so they stay inside the group. Spans leave
 * parentheses out, so the `)` of parenthesised operands ending with n come
 * first. Only called when the printer writes that `)` too, so a second run
 * finds them in the same place. */
static void flush_comments_in_parens(printer *pr, const eq_node *n)
{
    unsigned closers = 0;
    for (const eq_node *x = n; x; x = last_operand(x))
        closers += (x->flags & NF_PAREN) != 0;
    size_t k = (size_t)n->off + n->len;
    uint32_t c = pr->next_comment;
    while (k < pr->srclen && closers) {
        if (blank(pr->src[k]) || pr->src[k] == '\n') {
            k++;
        } else if (c < pr->ncomments && pr->comments[c].off == k) {
            k += pr->comments[c++].len;
        } else if (pr->src[k] == ')') {
            if (--closers)
                k++;
        } else {
            break;
        }
    }
    if (closers == 0)
        flush_comments(pr, (uint32_t)k);
}

/* Offset of the first token: the comments before it head the output. */
static uint32_t first_token_offset(const printer *pr)
{
    size_t k = 0;
    for (uint32_t c = 0;; c++) {
        while (k < pr->srclen && (blank(pr->src[k]) || pr->src[k] == '\n'))
            k++;
        if (c == pr->ncomments || pr->comments[c].off != k)
            return (uint32_t)k;
        k += pr->comments[c].len;
    }
}

static void puts_(printer *pr, const char *s) { put(pr, s, strlen(s)); }

static void putf(printer *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(printer *pr, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(pr, tmp, (size_t)n);
}

static void put_string(printer *pr, const char *s, size_t n)
{
    put(pr, "\"", 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        switch (c) {
        case '"': puts_(pr, "\\\""); break;
        case '\\': puts_(pr, "\\\\"); break;
        case '\n': puts_(pr, "\\n"); break;
        case '\r': puts_(pr, "\\r"); break;
        case '\t': puts_(pr, "\\t"); break;
        case '\b': puts_(pr, "\\b"); break;
        case '\f': puts_(pr, "\\f"); break;
        default:
            if (c < 0x20 || c == 0x7F)
                putf(pr, "\\u{%02x}", c);
            else
                put(pr, (const char *)&c, 1);
        }
    }
    put(pr, "\"", 1);
}

static const char *const keywords[] = {"and", "any", "by", "false", "in", "join", "like", "maxspan", "not", "null",
                                       "of", "or", "regex", "sample", "sequence", "true", "until", "where", "with"};

static bool plain_identifier(const char *s, size_t n)
{
    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' || s[0] == '@'))
        return false;
    for (size_t k = 1; k < n; k++)
        if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_'))
            return false;
    for (size_t k = 0; k < sizeof keywords / sizeof *keywords; k++)
        if (strlen(keywords[k]) == n && memcmp(keywords[k], s, n) == 0)
            return false;
    return true;
}

static void put_quoted_name(printer *pr, const char *s, size_t n)
{
    put(pr, "`", 1);
    for (size_t k = 0; k < n; k++)
        put(pr, s[k] == '`' ? "``" : s + k, 1 + (s[k] == '`'));
    put(pr, "`", 1);
}

static void put_field(printer *pr, const eq_node *n)
{
    if (n->flags & NF_OPTIONAL)
        put(pr, "?", 1);
    const char *s = n->v.str.s;
    size_t len = n->v.str.n, start = 0;
    for (size_t k = 0; k <= len; k++) {
        if (k < len && s[k] != '.')
            continue;
        if (k == start) { /* empty component: keep the name whole */
            put_quoted_name(pr, s, len);
            return;
        }
        start = k + 1;
    }
    start = 0;
    for (size_t k = 0; k <= len; k++) {
        if (k < len && s[k] != '.')
            continue;
        if (start)
            put(pr, ".", 1);
        if (plain_identifier(s + start, k - start))
            put(pr, s + start, k - start);
        else
            put_quoted_name(pr, s + start, k - start);
        start = k + 1;
    }
}

static void put_double(printer *pr, double d)
{
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (!strpbrk(tmp, ".eEn"))
        strcat(tmp, ".0");
    puts_(pr, tmp);
}

enum { P_OR = 1, P_AND, P_NOT, P_CMP, P_ADD, P_MUL, P_UNARY, P_PRED, P_PRIMARY };

static int precedence(const eq_node *n)
{
    switch ((eq_node_kind)n->kind) {
    case N_OR: return P_OR;
    case N_AND: return P_AND;
    case N_NOT: return P_NOT;
    case N_CMP: return P_CMP;
    case N_ARITH: return (n->op == AR_ADD || n->op == AR_SUB) ? P_ADD : P_MUL;
    case N_NEG: return P_UNARY;
    case N_PRED: return P_PRED;
    default: return P_PRIMARY;
    }
}

static const char *const cmp_text[] = {" == ", " != ", " < ", " <= ", " > ", " >= "};
static const char *const arith_text[] = {" + ", " - ", " * ", " / ", " % "};
static const char *const pred_text[] = {" in ", " in~ ", " : ", " like ", " like~ ", " regex ", " regex~ "};

static void print(printer *pr, const eq_node *n, int min);

static void print_list(printer *pr, eq_node *const *items, uint32_t count)
{
    for (uint32_t k = 0; k < count; k++) {
        if (k)
            puts_(pr, ", ");
        print(pr, items[k], P_OR);
    }
}

/* ---- breaking long lines ------------------------------------------------
 * A node breaks only when it does not fit on the rest of its line (comments
 * aside), so the layout depends on the tree and the columns alone and a
 * second run makes the same choices. What breaks:
 *  - an and/or chain: one operand per line at the clause indent, the
 *    operator ending the line; in parentheses the group opens a block:
 *    "(" ends the line, the operands go two deeper, ")" has a line of its own;
 *  - a parenthesised list (in, :, like, ...) or a call's arguments: one
 *    item per line, two deeper, and the `)` on a line of its own;
 *  - nothing else (a long string stays whole). */

/* Width of n printed on one line, comments left out. */
static size_t flat_width(const printer *pr, const eq_node *n, int min)
{
    printer flat = {.out = eq_strbuf_bounded(NULL, 0), .src = pr->src, .srclen = pr->srclen};
    print(&flat, n, min);
    return flat.out.len;
}

static bool breaks(const printer *pr, const eq_node *n, int min)
{
    bool breakable = n->kind == N_AND || n->kind == N_OR || (n->kind == N_PRED && (n->flags & NF_LIST)) ||
                     (n->kind == N_CALL && n->nkids > 1);
    if (!pr->width || !breakable)
        return false;
    size_t column = pr->pending_break ? (size_t)pr->break_indent : pr->column + pr->pending_space;
    return column + flat_width(pr, n, min) + pr->tail > pr->width;
}

/* Where the text of n starts, its opening parenthesis included. */
static uint32_t start_offset(const printer *pr, const eq_node *n, int min)
{
    return precedence(n) < min ? opening_paren_offset(pr, n) : n->off;
}

/* The comments before the next item stay on this line when they followed
 * code here (a trailing // comment), then the item starts a new line. */
static void break_before(printer *pr, const eq_node *next, int min, int indent)
{
    pr->indent = indent;
    flush_comments(pr, start_offset(pr, next, min));
    line_break(pr, indent);
}

static void print_broken_chain(printer *pr, const eq_node *n, int prec, size_t tail)
{
    int indent = pr->indent;
    const char *op = n->kind == N_OR ? " or" : " and";
    for (uint32_t k = 0; k < n->nkids; k++) {
        if (k) {
            puts_(pr, op);
            break_before(pr, n->kids[k], prec + 1, indent);
        }
        const eq_node *kid = n->kids[k];
        bool nested_chain = (kid->kind == N_AND || kid->kind == N_OR) && precedence(kid) > prec;
        pr->tail = k + 1 < n->nkids ? strlen(op) : tail;
        pr->indent = nested_chain ? indent + 2 : indent; /* "a or b and\n c": c belongs to the and */
        print(pr, kid, prec + 1);
        pr->indent = indent;
    }
}

/* The items of a list or a call's arguments; n's span ends with the `)`. */
static void print_broken_list(printer *pr, const eq_node *n, eq_node *const *items, uint32_t count)
{
    int indent = pr->indent;
    put(pr, "(", 1);
    for (uint32_t k = 0; k < count; k++) {
        if (k)
            put(pr, ",", 1);
        break_before(pr, items[k], P_OR, indent + 2);
        pr->tail = 1;
        print(pr, items[k], P_OR);
    }
    pr->indent = indent + 2;
    flush_comments(pr, n->off + n->len - 1); /* before the list's `)` */
    pr->indent = indent;
    line_break(pr, indent);
    put(pr, ")", 1);
}

static void print(printer *pr, const eq_node *n, int min)
{
    int prec = precedence(n);
    bool paren = prec < min;
    size_t outer_tail = pr->tail, tail = pr->tail;
    int indent = pr->indent;
    flush_comments(pr, paren ? opening_paren_offset(pr, n) : n->off);
    bool broken = breaks(pr, n, min);
    if (paren) {
        put(pr, "(", 1);
        if (broken && n->kind != N_PRED) { /* a block: ( ... ) */
            pr->indent = indent + 2;
            flush_comments(pr, n->off);
            line_break(pr, indent + 2);
        }
        tail = 1; /* the `)` */
    }
    pr->tail = tail;
    flush_comments(pr, n->off);
    switch ((eq_node_kind)n->kind) {
    case N_NULL: puts_(pr, "null"); break;
    case N_BOOL: puts_(pr, n->v.b ? "true" : "false"); break;
    case N_INT: putf(pr, "%lld", (long long)n->v.i); break;
    case N_DOUBLE: put_double(pr, n->v.d); break;
    case N_STRING: put_string(pr, n->v.str.s, n->v.str.n); break;
    case N_FIELD: put_field(pr, n); break;
    case N_OR:
    case N_AND:
        if (broken) {
            print_broken_chain(pr, n, prec, tail);
            break;
        }
        for (uint32_t k = 0; k < n->nkids; k++) {
            if (k)
                puts_(pr, n->kind == N_OR ? " or " : " and ");
            print(pr, n->kids[k], prec + 1);
        }
        break;
    case N_NOT:
        puts_(pr, "not ");
        print(pr, n->kids[0], P_NOT);
        break;
    case N_CMP:
        print(pr, n->kids[0], P_ADD);
        puts_(pr, cmp_text[n->op]);
        print(pr, n->kids[1], P_ADD);
        break;
    case N_ARITH:
        print(pr, n->kids[0], prec);
        puts_(pr, arith_text[n->op]);
        print(pr, n->kids[1], prec + 1);
        break;
    case N_NEG:
        puts_(pr, "-");
        print(pr, n->kids[0], P_UNARY);
        break;
    case N_PRED:
        print(pr, n->kids[0], P_PRIMARY);
        if (n->flags & NF_NEGATED)
            puts_(pr, " not");
        puts_(pr, pred_text[n->op]);
        if (broken) {
            print_broken_list(pr, n, n->kids + 1, n->nkids - 1);
        } else if (n->flags & NF_LIST) {
            put(pr, "(", 1);
            print_list(pr, n->kids + 1, n->nkids - 1);
            flush_comments(pr, n->off + n->len - 1); /* before the list's `)` */
            put(pr, ")", 1);
        } else {
            print(pr, n->kids[1], P_PRIMARY);
        }
        break;
    case N_CALL:
        put(pr, n->v.str.s, n->v.str.n);
        if (n->flags & NF_TILDE)
            put(pr, "~", 1);
        if (broken) {
            print_broken_list(pr, n, n->kids, n->nkids);
            break;
        }
        put(pr, "(", 1);
        print_list(pr, n->kids, n->nkids);
        flush_comments(pr, n->off + n->len - 1); /* before the call's `)` */
        put(pr, ")", 1);
        break;
    }
    if (paren) {
        flush_comments_in_parens(pr, n);
        if (broken && n->kind != N_PRED) {
            pr->indent = indent;
            line_break(pr, indent);
        }
        put(pr, ")", 1);
    }
    pr->indent = indent;
    pr->tail = outer_tail;
}

static void print_keys(printer *pr, const eq_list *keys)
{
    if (keys->n) {
        flush_comments(pr, keys->items[0]->off);
        puts_(pr, " by ");
        print_list(pr, keys->items, keys->n);
    }
}

static void print_filter(printer *pr, const eq_term *t)
{
    if (!t->category)
        puts_(pr, "any");
    else if (plain_identifier(t->category, t->catlen))
        put(pr, t->category, t->catlen);
    else
        put_string(pr, t->category, t->catlen);
    puts_(pr, " where ");
    print(pr, t->filter, P_OR);
}

static void print_term(printer *pr, const eq_term *t)
{
    puts_(pr, t->missing ? "![" : "[");
    pr->tail = 1; /* the `]` */
    print_filter(pr, t);
    pr->tail = 0;
    flush_comments(pr, t->off + t->len - 1); /* before the `]` */
    put(pr, "]", 1);
    print_keys(pr, &t->keys);
    if (t->has_with) {
        flush_comments(pr, t->with_off);
        puts_(pr, " with ");
        put(pr, t->with_name, t->with_name_len);
        putf(pr, "=%lld", (long long)t->runs);
    }
}

static void print_query(printer *pr, const eq_query *q)
{
    pr->indent = 0;
    flush_comments(pr, first_token_offset(pr));
    pr->indent = 2;
    if (q->kind == Q_EVENT) {
        print_filter(pr, q->terms[0]);
    } else {
        puts_(pr, q->kind == Q_SEQUENCE ? "sequence" : q->kind == Q_SAMPLE ? "sample" : "join");
        print_keys(pr, &q->keys);
        if (q->has_maxspan) {
            flush_comments(pr, q->maxspan_off);
            puts_(pr, " with maxspan=");
            print(pr, q->maxspan, P_PRIMARY);
            if (q->maxspan_unit)
                put(pr, q->maxspan_unit, q->maxspan_unit_len);
        }
        for (uint32_t k = 0; k < q->nterms; k++) {
            pr->indent = 2;
            flush_comments(pr, q->terms[k]->off);
            line_break(pr, 2);
            pr->indent = 4;
            print_term(pr, q->terms[k]);
        }
        if (q->until) {
            pr->indent = 0;
            flush_comments(pr, q->until->off);
            line_break(pr, 0);
            puts_(pr, "until ");
            pr->indent = 2;
            print_term(pr, q->until);
        }
    }
    for (uint32_t k = 0; k < q->npipes; k++) {
        pr->indent = 0;
        flush_comments(pr, q->pipes[k].off);
        line_break(pr, 0);
        puts_(pr, "| ");
        pr->indent = 2;
        put(pr, q->pipes[k].name, q->pipes[k].namelen);
        if (q->pipes[k].args.n) {
            put(pr, " ", 1);
            print_list(pr, q->pipes[k].args.items, q->pipes[k].args.n);
        }
    }
    pr->indent = 0;
    flush_comments(pr, UINT32_MAX);
    line_break(pr, 0);
}

/* eq_parse_only, with the lexer recording comments. */
static eqlite_status parse_keeping_comments(eq_arena *arena, const char *src, size_t len, eq_parse *p,
                                            eqlite_diag *diag)
{
    memset(p, 0, sizeof *p);
    memset(diag, 0, sizeof *diag);
    diag->line = diag->column = 1;
    p->arena = arena;
    p->src = src ? src : "";
    p->len = src ? len : 0;
    p->diag = diag;
    p->keep_comments = true;
    if (!eq_parse_text(p))
        return diag->code ? diag->code : EQLITE_ESYNTAX;
    return EQLITE_OK;
}

eqlite_status eqlite_format(const char *src, size_t len, char *buf, size_t cap, size_t *needed, eqlite_diag *diag)
{
    if ((!src && len) || (!buf && cap))
        return EQLITE_EMISUSE;
    eq_arena arena;
    eq_arena_init(&arena, NULL);
    eq_parse p;
    eqlite_diag local;
    eqlite_status st = parse_keeping_comments(&arena, src, len, &p, diag ? diag : &local);
    if (st == EQLITE_OK) {
        printer pr = {.out = eq_strbuf_bounded(buf, cap), .src = p.src, .srclen = p.len, .comments = p.comments,
                      .ncomments = p.ncomments, .at_line_start = true, .width = LINE_WIDTH};
        print_query(&pr, p.query);
        if (buf && cap) /* a line break may have taken back trailing spaces */
            buf[pr.out.len < cap ? pr.out.len : cap - 1] = 0;
        if (needed)
            *needed = pr.out.len + 1;
        if (pr.out.len >= cap)
            st = EQLITE_ELIMIT;
    }
    eq_arena_free(&arena);
    return st;
}

eqlite_status eq_parse_equal(const char *a, size_t alen, const char *b, size_t blen, int *equal)
{
    if ((!a && alen) || (!b && blen) || !equal)
        return EQLITE_EMISUSE;
    eq_arena arena;
    eq_arena_init(&arena, NULL);
    eq_parse pa, pb;
    eqlite_diag da, db;
    eqlite_status st = eq_parse_only(&arena, a, alen, false, &pa, &da);
    if (st == EQLITE_OK)
        st = eq_parse_only(&arena, b, blen, false, &pb, &db);
    if (st == EQLITE_OK)
        *equal = ast_query_equal(pa.query, pb.query);
    eq_arena_free(&arena);
    return st;
}
