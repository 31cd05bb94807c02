/* test_yaml.c: the loader of `eqlite test` files (see test_yaml.h).
 *
 * Built on libyaml's event parser rather than its document loader so that
 * limits hold while parsing: nesting is refused at the first level past
 * YT_MAX_DEPTH, an alias may only name a finished node (a cycle is an error),
 * and each alias adds its target's expanded size to a running total, so the
 * later walks (checks, events to JSON) are bounded by YT_MAX_NODES and their
 * recursion by YT_MAX_DEPTH. */
#define _DEFAULT_SOURCE
#include "test_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "outbuf.h"

typedef enum ynode_kind { YN_SCALAR, YN_SEQUENCE, YN_MAPPING } ynode_kind;

typedef struct ynode {
    ynode_kind kind;
    bool plain;    /* untagged plain scalar: may read as a number, boolean or null */
    bool complete; /* its end was seen: aliases may name it */
    unsigned line, col;
    char *text; /* scalar value, NUL-terminated (may hold NULs too) */
    size_t len;
    struct ynode **items; /* sequence items; mapping: key, value, key, value, ... */
    size_t n, cap;
    size_t start, end;     /* byte offsets in the file (an alias's are its anchor's) */
    bool flow;             /* a flow collection ({...} or [...]) */
    unsigned height;       /* collections nested in it, itself included */
    uint64_t nodes, bytes; /* aliases expanded */
} ynode;

struct yt_store {
    ynode **nodes; /* every node once, for freeing (aliases share them) */
    size_t nnodes, nodes_cap;
    void **blocks; /* everything else the results point into */
    size_t nblocks, blocks_cap;
};

typedef struct anchor {
    char *name;
    ynode *node;
} anchor;

typedef struct loader {
    const char *name;
    const char *buf;
    size_t len;
    char *err;
    size_t errcap;
    bool failed;
    struct yt_store *st;
    ynode *stack[YT_MAX_DEPTH]; /* open collections */
    size_t depth;
    ynode *root;
    anchor *anchors; /* open addressing, power-of-two capacity */
    size_t nanchors, anchors_cap;
    uint64_t nodes, alias_bytes;
    unsigned documents;
    bool for_update;    /* tests may lack expect: (eqlite test --update fills it) */
    size_t at_char, at_byte; /* libyaml counts characters: where the last offset was found */
} loader;

/* The byte offset of libyaml's character index (after a byte order mark,
 * which libyaml skips uncounted); marks come mostly in order, so the walk
 * goes on from the last one. */
static size_t byte_at(loader *ld, size_t index)
{
    if (index < ld->at_char || (ld->at_char == 0 && ld->at_byte == 0)) {
        ld->at_char = 0;
        ld->at_byte = ld->len >= 3 && !memcmp(ld->buf, "\xef\xbb\xbf", 3) ? 3 : 0;
    }
    while (ld->at_char < index && ld->at_byte < ld->len) {
        ld->at_byte++;
        while (ld->at_byte < ld->len && ((unsigned char)ld->buf[ld->at_byte] & 0xc0) == 0x80)
            ld->at_byte++;
        ld->at_char++;
    }
    return ld->at_byte;
}

/* A block collection ends where its last item does (libyaml's end mark is
 * at the next token, past blank lines and comments). */
static void child_ends(loader *ld, size_t end)
{
    ynode *parent = ld->depth ? ld->stack[ld->depth - 1] : NULL;
    if (parent && !parent->flow && end > parent->end)
        parent->end = end;
}

static void fail(loader *ld, unsigned line, unsigned col, const char *fmt, ...)
{
    if (ld->failed)
        return;
    ld->failed = true;
    int n = snprintf(ld->err, ld->errcap, "%s:%u:%u: ", ld->name, line, col);
    if (n < 0 || (size_t)n >= ld->errcap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->err + n, ld->errcap - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Grows *p (elements of `size`) to hold `need`; false when out of memory. */
static bool grow(loader *ld, void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 8;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q) {
        fail(ld, 1, 1, "out of memory");
        return false;
    }
    *p = q;
    *cap = c;
    return true;
}

/* An allocation freed with the file. */
static void *keep(loader *ld, void *p)
{
    struct yt_store *st = ld->st;
    if (!p || !grow(ld, (void **)&st->blocks, &st->blocks_cap, st->nblocks + 1, sizeof *st->blocks)) {
        free(p);
        fail(ld, 1, 1, "out of memory");
        return NULL;
    }
    return st->blocks[st->nblocks++] = p;
}

static void store_free(struct yt_store *st)
{
    if (!st)
        return;
    for (size_t k = 0; k < st->nnodes; k++) {
        free(st->nodes[k]->text);
        free(st->nodes[k]->items);
        free(st->nodes[k]);
    }
    for (size_t k = 0; k < st->nblocks; k++)
        free(st->blocks[k]);
    free(st->nodes);
    free(st->blocks);
    free(st);
}

/* ---- parsing: libyaml events to a node tree ------------------------------ */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static anchor *anchor_slot(loader *ld, const char *name)
{
    size_t mask = ld->anchors_cap - 1;
    for (size_t k = hash_name(name) & mask;; k = (k + 1) & mask)
        if (!ld->anchors[k].name || !strcmp(ld->anchors[k].name, name))
            return &ld->anchors[k];
}

/* A later anchor of the same name replaces the earlier (YAML's rule). */
static void anchor_set(loader *ld, const char *name, ynode *node)
{
    if ((ld->nanchors + 1) * 2 > ld->anchors_cap) {
        size_t old_cap = ld->anchors_cap;
        anchor *old = ld->anchors;
        ld->anchors_cap = old_cap ? old_cap * 2 : 64;
        ld->anchors = calloc(ld->anchors_cap, sizeof *ld->anchors);
        if (!ld->anchors) {
            ld->anchors = old;
            ld->anchors_cap = old_cap;
            fail(ld, 1, 1, "out of memory");
            return;
        }
        for (size_t k = 0; k < old_cap; k++)
            if (old[k].name)
                *anchor_slot(ld, old[k].name) = old[k];
        free(old);
    }
    anchor *a = anchor_slot(ld, name);
    if (!a->name) {
        if (!(a->name = strdup(name))) {
            fail(ld, 1, 1, "out of memory");
            return;
        }
        ld->nanchors++;
    }
    a->node = node;
}

static ynode *anchor_get(loader *ld, const char *name)
{
    if (!ld->anchors_cap)
        return NULL;
    anchor *a = anchor_slot(ld, name);
    return a->name ? a->node : NULL;
}

/* Adds n under the innermost open collection (or as the root). */
static void attach(loader *ld, ynode *n)
{
    if (!ld->depth) {
        ld->root = n;
        return;
    }
    ynode *parent = ld->stack[ld->depth - 1];
    if (grow(ld, (void **)&parent->items, &parent->cap, parent->n + 1, sizeof *parent->items))
        parent->items[parent->n++] = n;
}

static ynode *new_node(loader *ld, ynode_kind kind, yaml_mark_t mark, const yaml_char_t *anchor_name)
{
    if (++ld->nodes > YT_MAX_NODES) {
        fail(ld, (unsigned)mark.line + 1, (unsigned)mark.column + 1, "more than %d nodes in the file (aliases expanded)",
             YT_MAX_NODES);
        return NULL;
    }
    struct yt_store *st = ld->st;
    ynode *n = calloc(1, sizeof *n);
    if (!n || !grow(ld, (void **)&st->nodes, &st->nodes_cap, st->nnodes + 1, sizeof *st->nodes)) {
        free(n);
        fail(ld, 1, 1, "out of memory");
        return NULL;
    }
    st->nodes[st->nnodes++] = n;
    n->kind = kind;
    n->line = (unsigned)mark.line + 1;
    n->col = (unsigned)mark.column + 1;
    n->start = n->end = byte_at(ld, mark.index);
    if (anchor_name)
        anchor_set(ld, (const char *)anchor_name, n);
    attach(ld, n);
    return n;
}

static bool same_text(const ynode *a, const ynode *b)
{
    return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

typedef struct key_ref {
    const ynode *key;
    size_t index;
} key_ref;

static int key_order(const void *pa, const void *pb)
{
    const key_ref *a = pa, *b = pb;
    size_t common = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = memcmp(a->key->text, b->key->text, common);
    if (c)
        return c;
    if (a->key->len != b->key->len)
        return a->key->len < b->key->len ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Keys are scalars and appear once (sorted copies: O(n log n) for big events). */
static void check_keys(loader *ld, const ynode *map)
{
    size_t npairs = map->n / 2;
    for (size_t k = 0; k < npairs; k++)
        if (map->items[2 * k]->kind != YN_SCALAR) {
            fail(ld, map->items[2 * k]->line, map->items[2 * k]->col, "a mapping key must be a scalar");
            return;
        }
    if (npairs < 2)
        return;
    key_ref *refs = malloc(npairs * sizeof *refs);
    if (!refs) {
        fail(ld, 1, 1, "out of memory");
        return;
    }
    for (size_t k = 0; k < npairs; k++)
        refs[k] = (key_ref){map->items[2 * k], k};
    qsort(refs, npairs, sizeof *refs, key_order);
    /* Report the duplicate that comes first in the file. */
    const key_ref *dup = NULL, *first = NULL, *run = refs;
    for (size_t k = 1; k < npairs; k++) {
        if (!same_text(refs[k].key, run->key))
            run = &refs[k];
        else if (run == &refs[k - 1] && (!dup || refs[k].index < dup->index))
            dup = &refs[k], first = run;
    }
    if (dup)
        fail(ld, dup->key->line, dup->key->col, "duplicate key \"%.*s\" (first at %u:%u)", dup->key->len > 64 ? 64 : (int)dup->key->len,
             dup->key->text, first->key->line, first->key->col);
    free(refs);
}

static void close_collection(loader *ld, const yaml_event_t *ev)
{
    ynode *n = ld->stack[--ld->depth];
    if (n->flow)
        n->end = byte_at(ld, ev->end_mark.index);
    child_ends(ld, n->end);
    n->height = 1;
    n->nodes = 1;
    for (size_t k = 0; k < n->n; k++) {
        const ynode *item = n->items[k];
        if (item->height + 1 > n->height)
            n->height = item->height + 1;
        n->nodes += item->nodes;
        n->bytes += item->bytes;
    }
    if (n->kind == YN_MAPPING)
        check_keys(ld, n);
    n->complete = true;
}

static void on_alias(loader *ld, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    unsigned line = (unsigned)ev->start_mark.line + 1, col = (unsigned)ev->start_mark.column + 1;
    ynode *target = anchor_get(ld, name);
    if (!target)
        fail(ld, line, col, "undefined alias *%s", name);
    else if (!target->complete)
        fail(ld, line, col, "alias *%s refers to a node that contains it", name);
    else if (ld->depth + target->height > YT_MAX_DEPTH)
        fail(ld, line, col, "alias *%s nests deeper than %d levels", name, YT_MAX_DEPTH);
    else if ((ld->nodes += target->nodes) > YT_MAX_NODES)
        fail(ld, line, col, "aliases expand the file to more than %d nodes", YT_MAX_NODES);
    else if ((ld->alias_bytes += target->bytes) > YT_MAX_ALIAS_BYTES)
        fail(ld, line, col, "aliases copy more than %d MiB of text", (int)(YT_MAX_ALIAS_BYTES >> 20));
    else
        attach(ld, target);
    child_ends(ld, byte_at(ld, ev->end_mark.index));
}

static void on_event(loader *ld, const yaml_event_t *ev)
{
    unsigned line = (unsigned)ev->start_mark.line + 1, col = (unsigned)ev->start_mark.column + 1;
    ynode *n;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (ld->documents++)
            fail(ld, line, col, "a second YAML document (a test file holds one)");
        break;
    case YAML_ALIAS_EVENT:
        on_alias(ld, ev);
        break;
    case YAML_SCALAR_EVENT:
        if (!(n = new_node(ld, YN_SCALAR, ev->start_mark, ev->data.scalar.anchor)))
            break;
        n->len = ev->data.scalar.length;
        if (!(n->text = malloc(n->len + 1))) {
            fail(ld, 1, 1, "out of memory");
            break;
        }
        memcpy(n->text, ev->data.scalar.value, n->len);
        n->text[n->len] = 0;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
        n->nodes = 1;
        n->bytes = n->len;
        n->complete = true;
        n->end = byte_at(ld, ev->end_mark.index);
        child_ends(ld, n->end);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (ld->depth == YT_MAX_DEPTH) {
            fail(ld, line, col, "nesting deeper than %d levels", YT_MAX_DEPTH);
            break;
        }
        n = new_node(ld, ev->type == YAML_SEQUENCE_START_EVENT ? YN_SEQUENCE : YN_MAPPING, ev->start_mark,
                     ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
                                                           : ev->data.mapping_start.anchor);
        if (n) {
            n->flow = ev->type == YAML_SEQUENCE_START_EVENT
                          ? ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                          : ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
            ld->stack[ld->depth++] = n;
        }
        break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        close_collection(ld, ev);
        break;
    default:
        break;
    }
}

/* libyaml's error, positioned (reader errors carry a byte offset only). */
static void yaml_failure(loader *ld, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        fail(ld, 1, 1, "out of memory");
        return;
    }
    if (p->error == YAML_READER_ERROR) {
        unsigned line = 1, col = 1;
        for (size_t k = 0; k < p->problem_offset && k < ld->len; k++, col++)
            if (ld->buf[k] == '\n')
                line++, col = 0;
        fail(ld, line, col, "%s", p->problem ? p->problem : "cannot read the text");
        return;
    }
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    if (p->context)
        fail(ld, line, col, "%s (%s at %u:%u)", p->problem ? p->problem : "YAML error", p->context,
             (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    else
        fail(ld, line, col, "%s", p->problem ? p->problem : "YAML error");
}

static void parse(loader *ld)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fail(ld, 1, 1, "out of memory");
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)ld->buf, ld->len);
    for (bool done = false; !done && !ld->failed;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            yaml_failure(ld, &parser);
            break;
        }
        on_event(ld, &ev);
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
}

/* ---- checking: the node tree to yt_test --------------------------------- */

typedef enum scalar_kind { SK_STRING, SK_NULL, SK_BOOL, SK_NUMBER } scalar_kind;

static bool text_is(const ynode *n, const char *s) { return n->len == strlen(s) && !memcmp(n->text, s, n->len); }

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* JSON's number grammar: what may go into an event as a literal. */
static bool json_number(const char *s, size_t len)
{
    size_t k = 0;
    if (k < len && s[k] == '-')
        k++;
    if (k < len && s[k] == '0')
        k++;
    else if (k < len && is_digit(s[k]))
        while (k < len && is_digit(s[k]))
            k++;
    else
        return false;
    if (k < len && s[k] == '.') {
        if (++k >= len || !is_digit(s[k]))
            return false;
        while (k < len && is_digit(s[k]))
            k++;
    }
    if (k < len && (s[k] == 'e' || s[k] == 'E')) {
        if (++k < len && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k >= len || !is_digit(s[k]))
            return false;
        while (k < len && is_digit(s[k]))
            k++;
    }
    return k == len;
}

static scalar_kind kind_of(const ynode *n)
{
    if (!n->plain)
        return SK_STRING;
    if (!n->len || text_is(n, "~") || text_is(n, "null"))
        return SK_NULL;
    if (text_is(n, "true") || text_is(n, "false"))
        return SK_BOOL;
    return json_number(n->text, n->len) ? SK_NUMBER : SK_STRING;
}

/* How a node reads in "got ..." (plain scalars bare, quoted ones quoted). */
static const char *describe(const ynode *n, char *buf, size_t cap)
{
    if (n->kind == YN_SEQUENCE)
        return "a sequence";
    if (n->kind == YN_MAPPING)
        return "a mapping";
    if (n->plain && !n->len)
        return "null";
    int shown = n->len > 40 ? 40 : (int)n->len;
    const char *more = n->len > 40 ? "..." : "";
    if (n->plain)
        snprintf(buf, cap, "%.*s%s", shown, n->text, more);
    else
        snprintf(buf, cap, "\"%.*s%s\"", shown, n->text, more);
    return buf;
}

static void wrong_type(loader *ld, const char *key, const ynode *val, const char *expected)
{
    char buf[64];
    fail(ld, val->line, val->col, "%s: expected %s, got %s%s", key, expected, describe(val, buf, sizeof buf),
         val->kind == YN_SCALAR && kind_of(val) != SK_STRING && !strcmp(expected, "a string")
             ? " (quote it to make it one)"
             : "");
}

static bool read_string(loader *ld, const char *key, const ynode *val, const char **out)
{
    if (val->kind != YN_SCALAR || kind_of(val) != SK_STRING) {
        wrong_type(ld, key, val, "a string");
        return false;
    }
    if (strlen(val->text) != val->len) {
        fail(ld, val->line, val->col, "%s: contains a NUL character", key);
        return false;
    }
    *out = val->text;
    return true;
}

/* Plain decimal digits only: "1.9", "1x", "-1", "many" and quoted numbers are not counts. */
static bool read_count(loader *ld, const char *key, const ynode *val, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    bool ok = val->kind == YN_SCALAR && val->plain && val->len > 0 && val->len <= 20;
    for (size_t k = 0; ok && k < val->len; k++) {
        unsigned d = (unsigned)(val->text[k] - '0');
        ok = d <= 9 && v <= (max - d) / 10;
        v = v * 10 + d;
    }
    if (!ok)
        wrong_type(ld, key, val, "a non-negative integer");
    *out = v;
    return ok;
}

/* Optimal string alignment distance, for "did you mean". */
static size_t edit_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b), d[66][66];
    if (na > 64 || nb > 64)
        return 99;
    for (size_t i = 0; i <= na; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[na][nb];
}

/* The index of key in names, or -1 after reporting it unknown. */
static int key_index(loader *ld, const ynode *key, const char *const *names, size_t nnames, const char *where)
{
    for (size_t k = 0; k < nnames; k++)
        if (text_is(key, names[k]))
            return (int)k;
    const char *closest = NULL;
    size_t best = 3;
    for (size_t k = 0; k < nnames; k++) {
        size_t d = edit_distance(key->text, key->len, names[k]);
        if (d < best && d < strlen(names[k]))
            best = d, closest = names[k];
    }
    int shown = key->len > 64 ? 64 : (int)key->len;
    if (closest) {
        fail(ld, key->line, key->col, "unknown key \"%.*s\" %s; did you mean \"%s\"?", shown, key->text, where,
             closest);
        return -1;
    }
    char known[512] = "";
    for (size_t k = 0; k < nnames; k++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", k ? ", " : "", names[k]);
    fail(ld, key->line, key->col, "unknown key \"%.*s\" %s (known: %s)", shown, key->text, where, known);
    return -1;
}

/* A YAML node as JSON text. Depth is bounded by the loader (YT_MAX_DEPTH). */
static void to_json(const ynode *n, eq_strbuf *out)
{
    if (n->kind == YN_SCALAR) {
        switch (kind_of(n)) {
        case SK_NULL: eq_strbuf_str(out, "null"); break;
        case SK_BOOL:
        case SK_NUMBER: eq_strbuf_bytes(out, n->text, n->len); break;
        case SK_STRING: ob_json_string(out, n->text, n->len); break;
        }
        return;
    }
    bool map = n->kind == YN_MAPPING;
    eq_strbuf_char(out, map ? '{' : '[');
    for (size_t k = 0; k < n->n; k++) {
        if (k)
            eq_strbuf_char(out, map && k % 2 ? ':' : ',');
        if (map && k % 2 == 0)
            ob_json_string(out, n->items[k]->text, n->items[k]->len); /* keys are scalars (check_keys) */
        else
            to_json(n->items[k], out);
    }
    eq_strbuf_char(out, map ? '}' : ']');
}

static const yt_events *read_events(loader *ld, const ynode *val)
{
    yt_events *ev = keep(ld, calloc(1, sizeof *ev));
    if (!ev)
        return NULL;
    if (val->kind == YN_SCALAR && kind_of(val) == SK_STRING) {
        ev->kind = YT_EVENTS_PATHS;
        ev->npaths = 1;
        if (!(ev->paths = keep(ld, malloc(sizeof *ev->paths))) || !read_string(ld, "events", val, &ev->paths[0]))
            return NULL;
        return ev;
    }
    if (val->kind != YN_SEQUENCE) {
        wrong_type(ld, "events", val, "a path, a list of paths or a list of events");
        return NULL;
    }
    ev->kind = YT_EVENTS_INLINE;
    if (!val->n)
        return ev;
    const ynode *first = val->items[0];
    if (first->kind == YN_SCALAR && kind_of(first) == SK_STRING) {
        ev->kind = YT_EVENTS_PATHS;
        ev->npaths = val->n;
        if (!(ev->paths = keep(ld, calloc(val->n, sizeof *ev->paths))))
            return NULL;
        for (size_t k = 0; k < val->n; k++) {
            const ynode *item = val->items[k];
            if (item->kind != YN_SCALAR || kind_of(item) != SK_STRING) {
                wrong_type(ld, "events", item, "a path like the first item");
                return NULL;
            }
            if (!read_string(ld, "events", item, &ev->paths[k]))
                return NULL;
        }
        return ev;
    }
    if (first->kind != YN_MAPPING) {
        wrong_type(ld, "events", first, "a path or an event (a mapping)");
        return NULL;
    }
    eq_strbuf text = {0};
    for (size_t k = 0; k < val->n; k++) {
        if (val->items[k]->kind != YN_MAPPING) {
            wrong_type(ld, "events", val->items[k], "an event (a mapping) like the first item");
            eq_strbuf_free(&text);
            return NULL;
        }
        to_json(val->items[k], &text);
        eq_strbuf_char(&text, '\n');
    }
    if (text.failed) {
        eq_strbuf_free(&text);
        fail(ld, val->line, val->col, "out of memory");
        return NULL;
    }
    ev->ndjson = keep(ld, text.data);
    ev->len = text.len;
    return ev->ndjson ? ev : NULL;
}

/* One list of ids as the text results are compared with. */
static bool read_id_list(loader *ld, const ynode *list, yt_ids *out)
{
    eq_strbuf text = {0};
    for (size_t k = 0; k < list->n; k++) {
        const ynode *id = list->items[k];
        if (id->kind != YN_SCALAR) {
            wrong_type(ld, "ids", id, "an id like the first item");
            eq_strbuf_free(&text);
            return false;
        }
        if (k)
            eq_strbuf_char(&text, ',');
        eq_strbuf_bytes(&text, id->text, id->len);
    }
    eq_strbuf_char(&text, 0);
    if (text.failed || !keep(ld, text.data)) {
        eq_strbuf_free(&text);
        fail(ld, list->line, list->col, "out of memory");
        return false;
    }
    out->text = text.data;
    out->len = text.len - 1;
    return true;
}

static const yt_expect *read_expect(loader *ld, const ynode *val)
{
    static const char *const keys[] = {"ids", "count"};
    if (val->kind != YN_MAPPING) {
        wrong_type(ld, "expect", val, "a mapping (ids, count)");
        return NULL;
    }
    yt_expect *ex = keep(ld, calloc(1, sizeof *ex));
    if (!ex)
        return NULL;
    for (size_t k = 0; k + 1 < val->n; k += 2) {
        const ynode *v = val->items[k + 1];
        int key = key_index(ld, val->items[k], keys, 2, "in expect");
        if (key < 0)
            return NULL;
        if (key == 1) {
            if (!read_count(ld, "count", v, UINT64_MAX, &ex->count))
                return NULL;
            ex->has_count = true;
            continue;
        }
        if (v->kind != YN_SEQUENCE) {
            wrong_type(ld, "ids", v, "a list of ids");
            return NULL;
        }
        ex->alternatives = v->n && v->items[0]->kind == YN_SEQUENCE;
        ex->nids = ex->alternatives ? v->n : 1;
        if (!(ex->ids = keep(ld, calloc(ex->nids, sizeof *ex->ids))))
            return NULL;
        if (!ex->alternatives) {
            if (!read_id_list(ld, v, &ex->ids[0]))
                return NULL;
            continue;
        }
        for (size_t a = 0; a < v->n; a++) {
            if (v->items[a]->kind != YN_SEQUENCE) {
                wrong_type(ld, "ids", v->items[a], "a list of ids like the first item");
                return NULL;
            }
            if (!read_id_list(ld, v->items[a], &ex->ids[a]))
                return NULL;
        }
    }
    if (!ex->has_count && !ex->ids) {
        fail(ld, val->line, val->col, "expect: give ids or count");
        return NULL;
    }
    return ex;
}

/* The keys of a test, in the order "unknown key" lists them; defaults take all but name. */
enum {
    K_NAME, K_RULE, K_QUERY, K_ID_FIELD, K_EVENTS, K_EXPECT, K_MAPPING, K_CATEGORY_FIELD,
    K_TIMESTAMP_FIELD, K_TIEBREAKER_FIELD, K_SIZE, K_MAX_SAMPLES_PER_KEY, K_COUNT
};
static const char *const test_keys[K_COUNT] = {"name", "rule", "query", "id_field", "events", "expect", "mapping",
                                               "category_field", "timestamp_field", "tiebreaker_field", "size",
                                               "max_samples_per_key"};

/* One mapping's keys as given: given[K] says which were present. */
typedef struct settings {
    bool given[K_COUNT];
    yt_test t;
} settings;

static bool read_mapping_paths(loader *ld, const ynode *v, yt_test *t)
{
    if (v->kind == YN_SCALAR && kind_of(v) == SK_STRING) {
        t->nmappings = 1;
        return read_string(ld, "mapping", v, &t->mappings[0]);
    }
    if (v->kind != YN_SEQUENCE) {
        wrong_type(ld, "mapping", v, "a path or a list of paths");
        return false;
    }
    if (v->n > YT_MAX_MAPPINGS) {
        fail(ld, v->items[YT_MAX_MAPPINGS]->line, v->items[YT_MAX_MAPPINGS]->col, "mapping: more than %d files",
             YT_MAX_MAPPINGS);
        return false;
    }
    t->nmappings = v->n;
    for (size_t k = 0; k < v->n; k++)
        if (!read_string(ld, "mapping", v->items[k], &t->mappings[k]))
            return false;
    return true;
}

static bool read_settings(loader *ld, const ynode *map, bool is_defaults, settings *s)
{
    const char *const *names = is_defaults ? test_keys + 1 : test_keys;
    size_t nnames = is_defaults ? K_COUNT - 1 : K_COUNT;
    yt_test *t = &s->t;
    t->line = map->line;
    t->col = map->col;
    if (map->n) { /* where --update adds an expect: before the first key */
        t->place.insert_at = map->items[0]->start;
        t->place.insert_col = map->items[0]->col;
        t->place.insert_flow = map->flow;
    }
    for (size_t k = 0; k + 1 < map->n; k += 2) {
        const ynode *v = map->items[k + 1];
        int key = key_index(ld, map->items[k], names, nnames, is_defaults ? "in defaults" : "in a test");
        if (key < 0)
            return false;
        key += is_defaults;
        s->given[key] = true;
        const char *name = test_keys[key];
        uint64_t n = 0;
        bool ok = true;
        switch (key) {
        case K_NAME: ok = read_string(ld, name, v, &t->name); break;
        case K_RULE: ok = read_string(ld, name, v, &t->rule); break;
        case K_QUERY: ok = read_string(ld, name, v, &t->query); break;
        case K_ID_FIELD: ok = read_string(ld, name, v, &t->id_field); break;
        case K_CATEGORY_FIELD: ok = read_string(ld, name, v, &t->category_field); break;
        case K_TIMESTAMP_FIELD: /* null or '': events carry no timestamp */
        case K_TIEBREAKER_FIELD: /* null: none (overrides the defaults) */
            if (v->kind == YN_SCALAR && kind_of(v) == SK_NULL)
                *(key == K_TIMESTAMP_FIELD ? &t->timestamp_field : &t->tiebreaker_field) =
                    key == K_TIMESTAMP_FIELD ? "" : NULL;
            else if (v->kind != YN_SCALAR || kind_of(v) != SK_STRING)
                wrong_type(ld, name, v, "a string or null"), ok = false;
            else
                ok = read_string(ld, name, v, key == K_TIMESTAMP_FIELD ? &t->timestamp_field : &t->tiebreaker_field);
            break;
        case K_SIZE:
        case K_MAX_SAMPLES_PER_KEY:
            ok = read_count(ld, name, v, SIZE_MAX, &n);
            *(key == K_SIZE ? &t->size : &t->max_samples_per_key) = (size_t)n;
            break;
        case K_MAPPING: ok = read_mapping_paths(ld, v, t); break;
        case K_EVENTS: ok = (t->events = read_events(ld, v)) != NULL; break;
        case K_EXPECT:
            ok = (t->expect = read_expect(ld, v)) != NULL;
            if (ok && ld->for_update && v->start < map->items[k]->end) { /* an alias: its text is elsewhere */
                fail(ld, map->items[k]->line, map->items[k]->col, "expect: an alias cannot be updated");
                ok = false;
            }
            t->place.own_expect = true;
            t->place.expect_start = v->start;
            t->place.expect_end = v->end;
            t->place.expect_col = v->col;
            t->place.expect_block = v->kind == YN_MAPPING && !v->flow;
            break;
        }
        if (!ok)
            return false;
    }
    t->has_size = s->given[K_SIZE];
    t->has_max_samples_per_key = s->given[K_MAX_SAMPLES_PER_KEY];
    if (t->rule && t->query) {
        fail(ld, map->line, map->col, "give rule: or query:, not both");
        return false;
    }
    return true;
}

/* The test's keys over the defaults'; then what every test needs. */
static bool merge_defaults(loader *ld, settings *s, const settings *d, size_t index, char *fallback_name)
{
    yt_test *t = &s->t;
    const yt_test *dt = &d->t;
    if (!s->given[K_RULE] && !s->given[K_QUERY])
        t->rule = dt->rule, t->query = dt->query;
#define INHERIT(K, field)                                                                                      \
    if (!s->given[K])                                                                                          \
        t->field = dt->field;
    INHERIT(K_ID_FIELD, id_field)
    INHERIT(K_CATEGORY_FIELD, category_field)
    INHERIT(K_TIMESTAMP_FIELD, timestamp_field)
    INHERIT(K_TIEBREAKER_FIELD, tiebreaker_field)
    INHERIT(K_SIZE, size)
    INHERIT(K_SIZE, has_size)
    INHERIT(K_MAX_SAMPLES_PER_KEY, max_samples_per_key)
    INHERIT(K_MAX_SAMPLES_PER_KEY, has_max_samples_per_key)
    INHERIT(K_EVENTS, events)
    INHERIT(K_EXPECT, expect)
#undef INHERIT
    if (!s->given[K_MAPPING]) {
        t->nmappings = dt->nmappings;
        memcpy(t->mappings, dt->mappings, sizeof t->mappings);
    }
    char label[128];
    if (t->name)
        snprintf(label, sizeof label, "test \"%.100s\"", t->name);
    else
        snprintf(label, sizeof label, "test %zu", index + 1);
    const char *missing = !t->rule && !t->query ? "has no rule: or query:"
                          : !t->expect && !ld->for_update ? "has no expect: (ids or count)"
                          : t->expect && t->expect->ids && !t->id_field ? "has expect: ids but no id_field:"
                                                           : NULL;
    if (missing) {
        fail(ld, t->line, t->col, "%s %s", label, missing);
        return false;
    }
    if (!t->name) {
        snprintf(fallback_name, 32, "test %zu", index + 1);
        t->name = fallback_name;
    }
    return true;
}

static bool read_file_root(loader *ld, yt_file *out)
{
    static const char *const keys[] = {"defaults", "tests"};
    const ynode *root = ld->root, *defaults = NULL, *tests = NULL;
    if (!root) {
        fail(ld, 1, 1, "no tests: list");
        return false;
    }
    if (root->kind != YN_MAPPING) {
        wrong_type(ld, "the file", root, "a mapping with tests:");
        return false;
    }
    for (size_t k = 0; k + 1 < root->n; k += 2) {
        int key = key_index(ld, root->items[k], keys, 2, "at the top");
        if (key < 0)
            return false;
        *(key ? &tests : &defaults) = root->items[k + 1];
    }
    if (!tests) {
        fail(ld, root->line, root->col, "no tests: list");
        return false;
    }
    if (tests->kind != YN_SEQUENCE) {
        wrong_type(ld, "tests", tests, "a list of tests");
        return false;
    }
    settings d = {0};
    if (defaults && defaults->kind != YN_MAPPING) {
        wrong_type(ld, "defaults", defaults, "a mapping");
        return false;
    }
    if (defaults && !read_settings(ld, defaults, true, &d))
        return false;
    if (!(out->tests = keep(ld, calloc(tests->n ? tests->n : 1, sizeof *out->tests))))
        return false;
    for (size_t k = 0; k < tests->n; k++) {
        const ynode *item = tests->items[k];
        if (item->kind != YN_MAPPING) {
            wrong_type(ld, "a test", item, "a mapping");
            return false;
        }
        settings s = {0};
        char *fallback_name = keep(ld, malloc(32));
        if (!fallback_name || !read_settings(ld, item, false, &s) || !merge_defaults(ld, &s, &d, k, fallback_name))
            return false;
        out->tests[out->ntests++] = s.t;
    }
    return true;
}

static bool load(const char *buf, size_t len, const char *name, bool for_update, yt_file *out, char *err,
                 size_t errcap)
{
    loader ld = {.name = name, .buf = buf, .len = len, .err = err, .errcap = errcap, .for_update = for_update};
    *out = (yt_file){0};
    if (errcap)
        err[0] = 0;
    if (!(ld.st = calloc(1, sizeof *ld.st))) {
        fail(&ld, 1, 1, "out of memory");
        return false;
    }
    out->store = ld.st;
    parse(&ld);
    if (!ld.failed)
        read_file_root(&ld, out);
    for (size_t k = 0; k < ld.anchors_cap; k++)
        free(ld.anchors[k].name);
    free(ld.anchors);
    if (ld.failed) {
        yt_free(out);
        return false;
    }
    return true;
}

bool yt_load(const char *buf, size_t len, const char *name, yt_file *out, char *err, size_t errcap)
{
    return load(buf, len, name, false, out, err, errcap);
}

bool yt_load_for_update(const char *buf, size_t len, const char *name, yt_file *out, char *err, size_t errcap)
{
    if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') || (buf[0] == '\xfe' && buf[1] == '\xff'))) {
        snprintf(err, errcap, "%s:1:1: a UTF-16 file cannot be updated (UTF-8 only)", name);
        return false;
    }
    return load(buf, len, name, true, out, err, errcap);
}

void yt_free(yt_file *f)
{
    store_free(f->store);
    *f = (yt_file){0};
}
