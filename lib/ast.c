/* ast.c: node builders for the grammar actions, structural equality (for
 * the fmt round trip) and the first-error reporter. */
#include "ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void eq_pos_of(const char *src, size_t len, size_t off, unsigned *line, unsigned *col)
{
    unsigned l = 1;
    size_t ls = 0;
    if (off > len)
        off = len;
    for (size_t k = 0; k < off; k++) {
        if (src[k] == '\n') {
            l++;
            ls = k + 1;
        }
    }
    *line = l;
    *col = (unsigned)(off - ls) + 1;
}

void eq_error(eq_parse *p, eqlite_status code, uint32_t off, uint32_t len, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->diag)
        return;
    eqlite_diag *d = p->diag;
    d->code = code;
    d->offset = off;
    d->length = len;
    eq_pos_of(p->src, p->len, off, &d->line, &d->column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
}

static eq_node *new_node(eq_parse *p, eq_node_kind kind, uint32_t off, uint32_t len)
{
    eq_node *n = eq_arena_alloc(p->arena, sizeof *n);
    if (!n) {
        eq_error(p, EQLITE_ENOMEM, off, len, "out of memory");
        return NULL;
    }
    n->kind = (uint8_t)kind;
    n->off = off;
    n->len = len;
    n->depth = 1;
    n->field_id = -1;
    n->fn = -1;
    return n;
}

static void add_kid(eq_parse *p, eq_node *n, eq_node *kid)
{
    if (!n || !kid)
        return;
    if (n->nkids == n->capkids) {
        uint32_t cap = n->capkids ? n->capkids * 2 : 2;
        if (cap > EQ_MAX_LIST + 1) {
            eq_error(p, EQLITE_ELIMIT, kid->off, kid->len, "more than %d operands in one expression", EQ_MAX_LIST);
            return;
        }
        eq_node **k = eq_arena_alloc(p->arena, cap * sizeof *k);
        if (!k) {
            eq_error(p, EQLITE_ENOMEM, kid->off, kid->len, "out of memory");
            return;
        }
        if (n->nkids)
            memcpy(k, n->kids, n->nkids * sizeof *k);
        n->kids = k;
        n->capkids = cap;
    }
    n->kids[n->nkids++] = kid;
    if (kid->depth + 1 > n->depth) {
        n->depth = kid->depth + 1;
        if (n->depth == EQ_MAX_DEPTH + 1)
            eq_error(p, EQLITE_ELIMIT, kid->off, kid->len, "expression nested deeper than %d levels", EQ_MAX_DEPTH);
    }
}

/* Extends n's span to cover [off, off+len). */
static void cover(eq_node *n, uint32_t off, uint32_t len)
{
    uint32_t end = n->off + n->len;
    if (off + len > end)
        end = off + len;
    if (off < n->off)
        n->off = off;
    n->len = end - n->off;
}

eq_node *ast_literal(eq_parse *p, eq_node_kind kind, const eq_token *t)
{
    eq_node *n = new_node(p, kind, t->off, t->len);
    if (!n)
        return NULL;
    switch (kind) {
    case N_BOOL: n->v.b = p->src[t->off] == 't'; break;
    case N_INT: n->v.i = t->i; break;
    case N_DOUBLE: n->v.d = t->d; break;
    case N_STRING:
        n->v.str.s = t->s;
        n->v.str.n = t->n;
        if (t->len >= 6 && memcmp(p->src + t->off, "\"\"\"", 3) == 0)
            n->flags |= NF_RAW;
        break;
    default: break;
    }
    return n;
}

eq_node *ast_field(eq_parse *p, const eq_token *first, bool quoted)
{
    eq_node *n = new_node(p, N_FIELD, first->off, first->len);
    if (!n)
        return NULL;
    n->v.str.s = first->s;
    n->v.str.n = first->n;
    if (quoted)
        n->flags |= NF_QUOTED;
    return n;
}

eq_node *ast_field_append(eq_parse *p, eq_node *field, const eq_token *part, bool quoted)
{
    if (!field)
        return NULL;
    uint32_t n = field->v.str.n + 1 + part->n;
    char *s = eq_arena_alloc(p->arena, n + 1);
    if (!s) {
        eq_error(p, EQLITE_ENOMEM, part->off, part->len, "out of memory");
        return field;
    }
    memcpy(s, field->v.str.s, field->v.str.n);
    s[field->v.str.n] = '.';
    memcpy(s + field->v.str.n + 1, part->s, part->n);
    field->v.str.s = s;
    field->v.str.n = n;
    if (quoted)
        field->flags |= NF_QUOTED;
    cover(field, part->off, part->len);
    return field;
}

eq_node *ast_field_index(eq_parse *p, eq_node *field, const eq_token *idx)
{
    (void)p;
    if (!field)
        return NULL;
    field->flags |= NF_HAS_INDEX;
    cover(field, idx->off, idx->len);
    return field;
}

eq_node *ast_optional(eq_parse *p, const eq_token *q, eq_node *field)
{
    (void)p;
    if (!field)
        return NULL;
    field->flags |= NF_OPTIONAL;
    cover(field, q->off, q->len);
    return field;
}

eq_node *ast_unary(eq_parse *p, eq_node_kind kind, const eq_token *op, eq_node *x)
{
    if (!x)
        return NULL;
    eq_node *n = new_node(p, kind, op->off, op->len);
    if (!n)
        return NULL;
    add_kid(p, n, x);
    cover(n, x->off, x->len);
    return n;
}

/* and/or chains stay flat (n-ary) so a 100,000-term chain is not 100,000 deep. */
eq_node *ast_logic(eq_parse *p, eq_node_kind kind, eq_node *a, eq_node *b)
{
    if (!a || !b)
        return NULL;
    eq_node *n = a;
    if (a->kind != kind || (a->flags & NF_PAREN)) {
        n = new_node(p, kind, a->off, a->len);
        if (!n)
            return NULL;
        add_kid(p, n, a);
    }
    add_kid(p, n, b);
    cover(n, b->off, b->len);
    return n;
}

eq_node *ast_binary(eq_parse *p, eq_node_kind kind, int op, eq_node *a, eq_node *b)
{
    if (!a || !b)
        return NULL;
    eq_node *n = new_node(p, kind, a->off, a->len);
    if (!n)
        return NULL;
    n->op = (uint8_t)op;
    add_kid(p, n, a);
    add_kid(p, n, b);
    cover(n, b->off, b->len);
    return n;
}

eq_node *ast_predicate(eq_parse *p, eq_pred_op op, bool negated, eq_node *lhs, eq_list *rhs,
                       bool paren_list, const eq_token *end)
{
    if (!lhs)
        return NULL;
    eq_node *n = new_node(p, N_PRED, lhs->off, lhs->len);
    if (!n)
        return NULL;
    n->op = (uint8_t)op;
    if (negated)
        n->flags |= NF_NEGATED;
    if (paren_list)
        n->flags |= NF_LIST;
    add_kid(p, n, lhs);
    /* Share the list's storage: the list may hold a million values. */
    n->kids = eq_arena_alloc(p->arena, (rhs->n + 1) * sizeof *n->kids);
    if (!n->kids) {
        eq_error(p, EQLITE_ENOMEM, lhs->off, lhs->len, "out of memory");
        return NULL;
    }
    n->kids[0] = lhs;
    n->capkids = rhs->n + 1;
    for (uint32_t k = 0; k < rhs->n; k++) {
        eq_node *x = rhs->items[k];
        if (!x)
            return NULL;
        n->kids[n->nkids++] = x;
        if (x->depth + 1 > n->depth)
            n->depth = x->depth + 1;
    }
    if (n->depth > EQ_MAX_DEPTH)
        eq_error(p, EQLITE_ELIMIT, n->off, n->len, "expression nested deeper than %d levels", EQ_MAX_DEPTH);
    if (end)
        cover(n, end->off, end->len);
    else if (rhs->n)
        cover(n, rhs->items[rhs->n - 1]->off, rhs->items[rhs->n - 1]->len);
    return n;
}

eq_node *ast_call(eq_parse *p, const eq_token *name, bool tilde, eq_list *args,
                  const eq_token *rparen)
{
    eq_node *n = new_node(p, N_CALL, name->off, name->len);
    if (!n)
        return NULL;
    n->v.str.s = name->s;
    n->v.str.n = name->n;
    if (tilde)
        n->flags |= NF_TILDE;
    for (uint32_t k = 0; k < args->n; k++)
        add_kid(p, n, args->items[k]);
    cover(n, rparen->off, rparen->len);
    return n;
}

/* Parentheses only keep a nested and/or chain from being flattened. */
eq_node *ast_paren(eq_node *x)
{
    if (x)
        x->flags |= NF_PAREN;
    return x;
}

eq_list ast_list_empty(void)
{
    eq_list l = {NULL, 0, 0};
    return l;
}

eq_list ast_list_new(eq_parse *p, eq_node *first)
{
    eq_list l = ast_list_empty();
    ast_list_append(p, &l, first);
    return l;
}

void ast_list_append(eq_parse *p, eq_list *l, eq_node *x)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        if (l->n >= EQ_MAX_LIST) {
            if (x)
                eq_error(p, EQLITE_ELIMIT, x->off, x->len, "more than %d values in one list", EQ_MAX_LIST);
            return;
        }
        eq_node **items = eq_arena_alloc(p->arena, cap * sizeof *items);
        if (!items) {
            eq_error(p, EQLITE_ENOMEM, 0, 0, "out of memory");
            return;
        }
        if (l->n)
            memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = x;
}

eq_term *ast_term(eq_parse *p, const eq_token *lb, const eq_token *cat, bool any, eq_node *cond,
                  const eq_token *rb, bool missing)
{
    eq_term *t = eq_arena_alloc(p->arena, sizeof *t);
    if (!t) {
        eq_error(p, EQLITE_ENOMEM, lb->off, lb->len, "out of memory");
        return NULL;
    }
    t->filter = cond;
    t->missing = missing;
    t->off = lb->off;
    t->len = cond ? cond->off + cond->len - lb->off : lb->len;
    if (rb)
        t->len = rb->off + rb->len - lb->off;
    if (!any && cat) {
        t->category = cat->s;
        t->catlen = cat->n;
    }
    return t;
}

void ast_term_keys(eq_parse *p, eq_term *t, eq_list *keys)
{
    (void)p;
    if (t)
        t->keys = *keys;
}

void ast_term_with(eq_parse *p, eq_term *t, const eq_token *name, const eq_token *value)
{
    (void)p;
    if (!t)
        return;
    t->has_with = true;
    t->with_name = name->s;
    t->with_name_len = name->n;
    t->runs = value->i;
    t->with_off = name->off;
    t->with_len = value->off + value->len - name->off;
}

eq_query *ast_query(eq_parse *p, eq_query_kind kind)
{
    eq_query *q = eq_arena_alloc(p->arena, sizeof *q);
    if (!q) {
        eq_error(p, EQLITE_ENOMEM, 0, 0, "out of memory");
        return NULL;
    }
    q->kind = kind;
    p->query = q;
    return q;
}

void ast_query_add_term(eq_parse *p, eq_query *q, eq_term *t)
{
    if (!q || !t)
        return;
    if (q->nterms == q->capterms) {
        uint32_t cap = q->capterms ? q->capterms * 2 : 4;
        if (q->nterms >= EQ_MAX_TERMS) {
            eq_error(p, EQLITE_ELIMIT, t->off, t->len, "more than %d terms in one query", EQ_MAX_TERMS);
            return;
        }
        eq_term **terms = eq_arena_alloc(p->arena, cap * sizeof *terms);
        if (!terms) {
            eq_error(p, EQLITE_ENOMEM, t->off, t->len, "out of memory");
            return;
        }
        if (q->nterms)
            memcpy(terms, q->terms, q->nterms * sizeof *terms);
        q->terms = terms;
        q->capterms = cap;
    }
    q->terms[q->nterms++] = t;
}

void ast_query_maxspan(eq_parse *p, eq_query *q, const eq_token *kw, eq_node *num,
                       const eq_token *unit)
{
    (void)p;
    if (!q || !num)
        return;
    q->has_maxspan = true;
    q->maxspan = num;
    q->maxspan_unit = unit->len ? unit->s : NULL;
    q->maxspan_unit_len = unit->len ? unit->n : 0;
    q->maxspan_off = kw->off;
    uint32_t end = unit->len ? unit->off + unit->len : num->off + num->len;
    q->maxspan_len = end - kw->off;
}

void ast_query_pipe(eq_parse *p, eq_query *q, const eq_token *name, eq_list *args)
{
    if (!q)
        return;
    if (q->npipes == q->cappipes) {
        uint32_t cap = q->cappipes ? q->cappipes * 2 : 2;
        if (q->npipes >= EQ_MAX_TERMS) {
            eq_error(p, EQLITE_ELIMIT, name->off, name->len, "more than %d pipes", EQ_MAX_TERMS);
            return;
        }
        eq_pipe *pipes = eq_arena_alloc(p->arena, cap * sizeof *pipes);
        if (!pipes) {
            eq_error(p, EQLITE_ENOMEM, name->off, name->len, "out of memory");
            return;
        }
        if (q->npipes)
            memcpy(pipes, q->pipes, q->npipes * sizeof *pipes);
        q->pipes = pipes;
        q->cappipes = cap;
    }
    eq_pipe *pp = &q->pipes[q->npipes++];
    pp->name = name->s;
    pp->namelen = name->n;
    pp->off = name->off;
    pp->len = name->len;
    pp->args = args ? *args : ast_list_empty();
    if (args && args->n) {
        eq_node *last = args->items[args->n - 1];
        if (last)
            pp->len = last->off + last->len - name->off;
    }
}

void ast_finish(eq_parse *p, eq_query *q) { p->query = q; }

/* ---- structural equality ---- */

bool ast_node_equal(const eq_node *a, const eq_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op ||
        (a->flags & ~(NF_PAREN | NF_RAW)) != (b->flags & ~(NF_PAREN | NF_RAW)) || a->nkids != b->nkids)
        return false;
    switch (a->kind) {
    case N_BOOL:
        if (a->v.b != b->v.b)
            return false;
        break;
    case N_INT:
        if (a->v.i != b->v.i)
            return false;
        break;
    case N_DOUBLE:
        if (a->v.d != b->v.d)
            return false;
        break;
    case N_STRING:
    case N_FIELD:
    case N_CALL:
        if (a->v.str.n != b->v.str.n || memcmp(a->v.str.s, b->v.str.s, a->v.str.n) != 0)
            return false;
        break;
    default: break;
    }
    for (uint32_t k = 0; k < a->nkids; k++)
        if (!ast_node_equal(a->kids[k], b->kids[k]))
            return false;
    return true;
}

static bool list_equal(const eq_list *a, const eq_list *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t k = 0; k < a->n; k++)
        if (!ast_node_equal(a->items[k], b->items[k]))
            return false;
    return true;
}

static bool str_equal(const char *a, uint32_t an, const char *b, uint32_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool term_equal(const eq_term *a, const eq_term *b)
{
    if (!a || !b)
        return a == b;
    return str_equal(a->category, a->catlen, b->category, b->catlen) &&
           (a->category == NULL) == (b->category == NULL) && a->missing == b->missing &&
           a->has_with == b->has_with && a->runs == b->runs && list_equal(&a->keys, &b->keys) &&
           ast_node_equal(a->filter, b->filter);
}

bool ast_query_equal(const eq_query *a, const eq_query *b)
{
    if (a->kind != b->kind || a->nterms != b->nterms || a->npipes != b->npipes ||
        a->has_maxspan != b->has_maxspan || !list_equal(&a->keys, &b->keys) ||
        !term_equal(a->until, b->until))
        return false;
    if (a->has_maxspan && (!ast_node_equal(a->maxspan, b->maxspan) ||
                           !str_equal(a->maxspan_unit, a->maxspan_unit_len, b->maxspan_unit,
                                      b->maxspan_unit_len)))
        return false;
    for (uint32_t k = 0; k < a->nterms; k++)
        if (!term_equal(a->terms[k], b->terms[k]))
            return false;
    for (uint32_t k = 0; k < a->npipes; k++)
        if (!str_equal(a->pipes[k].name, a->pipes[k].namelen, b->pipes[k].name, b->pipes[k].namelen) ||
            !list_equal(&a->pipes[k].args, &b->pipes[k].args))
            return false;
    return true;
}
