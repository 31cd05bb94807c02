/* fmt.c: prints a parsed rule in one canonical layout. Parentheses come from
 * precedence, not from the source, so formatting is idempotent and the
 * output parses back to the same tree. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"

typedef struct printer {
    char *buf;
    size_t cap, len;
} printer;

static void put(printer *pr, const char *s, size_t n)
{
    if (pr->len + n < pr->cap)
        memcpy(pr->buf + pr->len, s, n);
    pr->len += n;
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

static void print(printer *pr, const eq_node *n, int min)
{
    int prec = precedence(n);
    bool paren = prec < min;
    if (paren)
        put(pr, "(", 1);
    switch ((eq_node_kind)n->kind) {
    case N_NULL: puts_(pr, "null"); break;
    case N_BOOL: puts_(pr, n->v.b ? "true" : "false"); break;
    case N_INT: putf(pr, "%lld", (long long)n->v.i); break;
    case N_DOUBLE: put_double(pr, n->v.d); break;
    case N_STRING: put_string(pr, n->v.str.s, n->v.str.n); break;
    case N_FIELD: put_field(pr, n); break;
    case N_OR:
    case N_AND:
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
        if (n->flags & NF_LIST) {
            put(pr, "(", 1);
            print_list(pr, n->kids + 1, n->nkids - 1);
            put(pr, ")", 1);
        } else {
            print(pr, n->kids[1], P_PRIMARY);
        }
        break;
    case N_CALL:
        put(pr, n->v.str.s, n->v.str.n);
        if (n->flags & NF_TILDE)
            put(pr, "~", 1);
        put(pr, "(", 1);
        print_list(pr, n->kids, n->nkids);
        put(pr, ")", 1);
        break;
    }
    if (paren)
        put(pr, ")", 1);
}

static void print_keys(printer *pr, const eq_list *keys)
{
    if (keys->n) {
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
    print_filter(pr, t);
    put(pr, "]", 1);
    print_keys(pr, &t->keys);
    if (t->has_with) {
        puts_(pr, " with ");
        put(pr, t->with_name, t->with_name_len);
        putf(pr, "=%lld", (long long)t->runs);
    }
}

static void print_query(printer *pr, const eq_query *q)
{
    if (q->kind == Q_EVENT) {
        print_filter(pr, q->terms[0]);
    } else {
        puts_(pr, q->kind == Q_SEQUENCE ? "sequence" : q->kind == Q_SAMPLE ? "sample" : "join");
        print_keys(pr, &q->keys);
        if (q->has_maxspan) {
            puts_(pr, " with maxspan=");
            print(pr, q->maxspan, P_PRIMARY);
            if (q->maxspan_unit)
                put(pr, q->maxspan_unit, q->maxspan_unit_len);
        }
        for (uint32_t k = 0; k < q->nterms; k++) {
            puts_(pr, "\n  ");
            print_term(pr, q->terms[k]);
        }
        if (q->until) {
            puts_(pr, "\nuntil ");
            print_term(pr, q->until);
        }
    }
    for (uint32_t k = 0; k < q->npipes; k++) {
        puts_(pr, "\n| ");
        put(pr, q->pipes[k].name, q->pipes[k].namelen);
        if (q->pipes[k].args.n) {
            put(pr, " ", 1);
            print_list(pr, q->pipes[k].args.items, q->pipes[k].args.n);
        }
    }
    put(pr, "\n", 1);
}

eqlite_status eqlite_format(const char *src, size_t len, char *buf, size_t cap, size_t *needed, eqlite_diag *diag)
{
    if ((!src && len) || (!buf && cap))
        return EQLITE_EMISUSE;
    eq_arena arena;
    eq_arena_init(&arena, NULL);
    eq_parse p;
    eqlite_diag local;
    eqlite_status st = eq_parse_only(&arena, src, len, false, &p, diag ? diag : &local);
    if (st == EQLITE_OK) {
        printer pr = {buf, cap, 0};
        print_query(&pr, p.query);
        if (buf && cap)
            buf[pr.len < cap ? pr.len : cap - 1] = 0;
        if (needed)
            *needed = pr.len + 1;
        if (pr.len >= cap)
            st = EQLITE_ELIMIT;
    }
    eq_arena_free(&arena);
    return st;
}

eqlite_status eqlite_parse_equal(const char *a, size_t alen, const char *b, size_t blen, int *equal)
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
