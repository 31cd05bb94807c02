/* sema.c: the verifier. Resolves fields against the schema and functions by
 * name, types every node, and rejects what Elasticsearch's verifier rejects,
 * with its messages (EQL.md §13). It annotates the tree; it does not rewrite
 * it (fmt prints the tree as written). */
#include "sema.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "functions.h"
#include "regex.h"
#include "schema.h"

const eq_function_info eq_functions[FN__COUNT] = {
#define EQ_FN_INFO(id, name, spelling, min, max, tilde, arity) {name, spelling, min, max, tilde, arity},
    EQ_FUNCTIONS(EQ_FN_INFO)
#undef EQ_FN_INFO
};

typedef struct sema {
    eq_parse *p;
    eqlite_schema *schema;
} sema;

static const char *const ordinals[] = {"first", "second", "third", "fourth", "fifth", "sixth"};

static const char *ordinal(uint32_t k) { return k < 6 ? ordinals[k] : "next"; }

static const char *type_name(eq_vtype t)
{
    switch (t) {
    case VT_NULL: return "null";
    case VT_BOOL: return "boolean";
    case VT_INT: return "integer";
    case VT_DOUBLE: return "double";
    case VT_STRING: return "keyword";
    case VT_DATE: return "datetime";
    case VT_IP: return "ip";
    case VT_VERSION: return "version";
    case VT_TEXT: return "text";
    default: return "unknown";
    }
}

static bool is_numeric(eq_vtype t) { return t == VT_INT || t == VT_DOUBLE; }
static bool is_stringy(eq_vtype t)
{
    return t == VT_STRING || t == VT_IP || t == VT_VERSION || t == VT_DATE;
}

#define SRC(n) (int)(n)->len, s->p->src + (n)->off

static bool fail(sema *s, eqlite_status code, const eq_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail(sema *s, eqlite_status code, const eq_node *n, const char *fmt, ...)
{
    char msg[sizeof ((eqlite_diag *)0)->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    eq_error(s->p, code, n ? n->off : 0, n ? n->len : 0, "%s", msg);
    return false;
}

/* A subtree without field references folds to a constant. */
bool eq_is_constant(const eq_node *n)
{
    if (n->kind == N_FIELD)
        return n->field_id == EQ_FIELD_NULL;
    for (uint32_t k = 0; k < n->nkids; k++)
        if (!eq_is_constant(n->kids[k]))
            return false;
    return true;
}

static eq_vtype type_of_mapping(eqlite_type t)
{
    switch (t) {
    case EQLITE_T_KEYWORD:
    case EQLITE_T_WILDCARD:
    case EQLITE_T_CONSTANT_KEYWORD: return VT_STRING;
    case EQLITE_T_TEXT: return VT_TEXT;
    case EQLITE_T_LONG:
    case EQLITE_T_INTEGER:
    case EQLITE_T_SHORT:
    case EQLITE_T_BYTE: return VT_INT;
    case EQLITE_T_DOUBLE:
    case EQLITE_T_FLOAT:
    case EQLITE_T_HALF_FLOAT:
    case EQLITE_T_SCALED_FLOAT: return VT_DOUBLE;
    case EQLITE_T_BOOLEAN: return VT_BOOL;
    case EQLITE_T_IP: return VT_IP;
    case EQLITE_T_DATE:
    case EQLITE_T_DATE_NANOS: return VT_DATE;
    case EQLITE_T_VERSION: return VT_VERSION;
    default: return VT_ANY;
    }
}

/* Levenshtein distance of a[0..la) and b[0..lb); names past 255 bytes count
 * as unlike anything (suggestions only). */
static unsigned edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned row[256];
    if (lb >= 256 || la >= 256)
        return 9999;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned up = row[j];
            unsigned best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* One name compared with many (an unknown field with every schema name,
 * about 1,900 under ECS): up to 64 bytes, Hyyro's bit-parallel form of the
 * same distance (Myers 1999) takes one step per byte of the other name
 * instead of one per pair of bytes. */
typedef struct name_pattern {
    const char *s;
    size_t n;
    uint64_t positions[256]; /* per byte value: the bits of s where it occurs */
} name_pattern;

static void name_pattern_init(name_pattern *p, const char *s, size_t n)
{
    p->s = s;
    p->n = n;
    memset(p->positions, 0, sizeof p->positions);
    for (size_t i = 0; n <= 64 && i < n; i++)
        p->positions[(unsigned char)s[i]] |= UINT64_C(1) << i;
}

static unsigned name_distance(const name_pattern *p, const char *b, size_t lb)
{
    if (p->n > 64 && lb >= 1 && lb <= 64 && p->n < 256) { /* the distance is symmetric: b as the pattern */
        name_pattern other;
        name_pattern_init(&other, b, lb);
        return name_distance(&other, p->s, p->n);
    }
    if (p->n > 64 || p->n == 0 || lb >= 256)
        return edit_distance(p->s, p->n, b, lb);
    uint64_t vp = ~UINT64_C(0), vn = 0, last = UINT64_C(1) << (p->n - 1);
    unsigned score = (unsigned)p->n;
    for (size_t j = 0; j < lb; j++) {
        uint64_t eq = p->positions[(unsigned char)b[j]];
        uint64_t xv = eq | vn;
        uint64_t xh = (((eq & vp) + vp) ^ vp) | eq;
        uint64_t hp = vn | ~(xh | vp), hn = vp & xh;
        if (hp & last)
            score++;
        else if (hn & last)
            score--;
        hp = (hp << 1) | 1; /* the first row grows by one a column */
        hn <<= 1;
        vp = hn | ~(xv | hp);
        vn = hp & xv;
    }
    return score;
}

/* Lucene's LevenshteinDistance.getDistance, 1 - distance / longer length,
 * where it is at least 0.5, the least any caller suggests; 0 below. The
 * distance is at least the length gap, so most pairs need no distance. */
static double similarity(const name_pattern *p, const char *b, size_t lb)
{
    size_t longer = p->n > lb ? p->n : lb, gap = p->n > lb ? p->n - lb : lb - p->n;
    if (!longer)
        return 1.0;
    if (2 * gap > longer)
        return 0.0;
    double sim = 1.0 - (double)name_distance(p, b, lb) / (double)longer;
    return sim < 0.5 ? 0.0 : sim;
}

/* "Unknown column [x]" with Elasticsearch's suggestions (ql
 * UnresolvedAttribute.errorMessage over StringUtils.findSimilar): every known
 * name at least 0.5 similar, most similar first (ties in schema order), as
 * ", did you mean [a]?" or ", did you mean any of [a, b]?". Its own status,
 * EQLITE_ENOTFOUND, lets a caller add the field and compile again. */
static bool unknown_column(sema *s, const eq_node *n, const char *name, uint32_t len)
{
    enum { MAX_SHOWN = 8 };
    uint32_t best[MAX_SHOWN];
    double score[MAX_SHOWN];
    size_t nbest = 0, total = 0;
    const eqlite_schema *sc = s->schema;
    name_pattern pattern;
    name_pattern_init(&pattern, name, len);
    for (uint32_t k = 0; k < sc->nfields && !sc->no_suggestions; k++) {
        double sim = similarity(&pattern, sc->fields[k].name, sc->fields[k].len);
        if (sim < 0.5)
            continue;
        total++;
        size_t at = nbest < MAX_SHOWN ? nbest++ : MAX_SHOWN;
        while (at > 0 && score[at - 1] < sim) { /* stable: equal scores keep schema order */
            if (at < MAX_SHOWN) {
                best[at] = best[at - 1];
                score[at] = score[at - 1];
            }
            at--;
        }
        if (at < MAX_SHOWN) {
            best[at] = k;
            score[at] = sim;
        }
    }
    if (nbest == 0)
        return fail(s, EQLITE_ENOTFOUND, n, "Unknown column [%.*s]", (int)len, name);
    char list[384];
    size_t used = 0;
    for (size_t k = 0; k < nbest && used < sizeof list; k++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", sc->fields[best[k]].name);
    if (total > nbest && used < sizeof list)
        snprintf(list + used, sizeof list - used, ", ... %zu more", total - nbest);
    if (nbest == 1)
        return fail(s, EQLITE_ENOTFOUND, n, "Unknown column [%.*s], did you mean [%s]?", (int)len, name, list);
    return fail(s, EQLITE_ENOTFOUND, n, "Unknown column [%.*s], did you mean any of [%s]?", (int)len, name, list);
}

static bool resolve_field(sema *s, eq_node *n)
{
    const char *name = n->v.str.s;
    uint32_t len = n->v.str.n;
    if (n->flags & NF_HAS_INDEX)
        return fail(s, EQLITE_ETYPE, n, "Array indexes are not supported: [%.*s]", SRC(n));
    if (!s->schema)
        return fail(s, EQLITE_ETYPE, n, "Unknown column [%.*s]: a constant expression cannot read fields", (int)len, name);
    const char *ts = s->schema->timestamp_field;
    if (ts && strlen(ts) == len && memcmp(ts, name, len) == 0) {
        n->field_id = EQ_FIELD_TIMESTAMP;
        n->type = VT_DATE;
        return true;
    }
    int32_t id = eq_schema_find(s->schema, name, len);
    if (id < 0) {
        if (s->schema->grow) {
            uint32_t nid;
            if (eqlite_schema_add(s->schema, name, len, EQLITE_T_UNKNOWN, &nid) != EQLITE_OK)
                return fail(s, EQLITE_ENOMEM, n, "out of memory");
            id = (int32_t)nid;
        } else if (n->flags & NF_OPTIONAL) {
            n->field_id = EQ_FIELD_NULL; /* ?unmapped folds to null */
            n->type = VT_NULL;
            return true;
        } else {
            return unknown_column(s, n, name, len);
        }
    }
    n->field_id = id;
    eqlite_type t = s->schema->fields[id].type;
    n->type = (uint8_t)type_of_mapping(t);
    if (t == EQLITE_T_TEXT && eq_schema_text_has_keyword(s->schema, (uint32_t)id))
        n->type = VT_STRING; /* ES searches the keyword sub-field */
    if (t == EQLITE_T_OBJECT)
        return fail(s, EQLITE_ETYPE, n, "[%.*s] is an object, not a field", (int)len, name);
    return true;
}

static bool check(sema *s, eq_node *n);

static bool check_kids(sema *s, eq_node *n)
{
    for (uint32_t k = 0; k < n->nkids; k++)
        if (!check(s, n->kids[k]))
            return false;
    return true;
}

static const char *const cmp_names[] = {"==", "!=", "<", "<=", ">", ">="};

/* The first field referenced in a subtree, for "offender" messages. */
static const eq_node *first_field(const eq_node *n)
{
    if (n->kind == N_FIELD && n->field_id != EQ_FIELD_NULL)
        return n;
    for (uint32_t k = 0; k < n->nkids; k++) {
        const eq_node *f = first_field(n->kids[k]);
        if (f)
            return f;
    }
    return NULL;
}

/* An optional field a growing schema does not know: with a mapping it would
 * fold to null, so ES accepts `?x == ?y` on such fields. */
bool eq_maybe_unmapped(const eq_node *n)
{
    return n->kind == N_FIELD && (n->flags & NF_OPTIONAL) && n->type == VT_ANY && n->field_id >= 0;
}

static bool check_compare(sema *s, eq_node *n)
{
    eq_node *a = n->kids[0], *b = n->kids[1];
    if (!eq_is_constant(a) && !eq_is_constant(b) && !(eq_maybe_unmapped(a) && eq_maybe_unmapped(b))) {
        const eq_node *off = first_field(b);
        return fail(s, EQLITE_ETYPE, n,
                    "Comparisons against fields are not (currently) supported; offender [%.*s] in [%s]",
                    SRC(off ? off : b), cmp_names[n->op]);
    }
    eq_vtype ta = (eq_vtype)a->type, tb = (eq_vtype)b->type;
    if (n->op >= CMP_LT && ((ta == VT_BOOL && tb != VT_BOOL && tb != VT_NULL && tb != VT_ANY) ||
                            (tb == VT_BOOL && ta != VT_BOOL && ta != VT_NULL && ta != VT_ANY)))
        return fail(s, EQLITE_ETYPE, n, "first argument of [%.*s] must be [date, datetime, numeric or keyword], found value [%.*s] type [%s]",
                    SRC(n), SRC(ta == VT_BOOL ? a : b), "boolean");
    n->type = VT_BOOL;
    return true;
}

/* Elasticsearch's name for the type of an operand, as its type errors print it. */
static const char *es_type_name(const sema *s, const eq_node *n)
{
    if (n->kind == N_FIELD && n->field_id >= 0) {
        eqlite_type t = s->schema->fields[n->field_id].type;
        if (t == EQLITE_T_DATE || t == EQLITE_T_DATE_NANOS)
            return "datetime"; /* QL's name for its date type */
        if (t != EQLITE_T_UNKNOWN && t != EQLITE_T_OBJECT)
            return eqlite_type_name(t);
    }
    if (n->kind == N_INT && (n->v.i < INT32_MIN || n->v.i > INT32_MAX))
        return "long";
    return type_name((eq_vtype)n->type);
}

/* ES's In accepts list values of the operand's own type, or both strings, or
 * both numbers (QL DataTypes.areCompatible); `keyword in (1)` is an error there,
 * not a silent miss. */
static bool in_compatible(eq_vtype a, eq_vtype b)
{
    if (a == VT_ANY || b == VT_ANY || a == VT_NULL || b == VT_NULL || a == b)
        return true;
    bool sa = a == VT_STRING || a == VT_TEXT, sb = b == VT_STRING || b == VT_TEXT;
    return (sa && sb) || (is_numeric(a) && is_numeric(b));
}

static const char *ordinal_number(uint32_t k, char buf[16])
{
    static const char *const suffix[] = {"th", "st", "nd", "rd", "th", "th", "th", "th", "th", "th"};
    snprintf(buf, 16, "%u%s", k, k % 100 - 11 < 3 ? "th" : suffix[k % 10]);
    return buf;
}

/* `:` and `in~` are Elasticsearch's InsensitiveEquals, one per value:
 * strings on both sides. `pid : 4` fails its verifier ("consider using
 * [==]"); answering it as `==` would answer what ES refuses, and
 * `pid : "4"` matched nothing. */
static bool insensitive_equals_operand(sema *s, const eq_node *x, bool first)
{
    eq_vtype t = (eq_vtype)x->type;
    /* the first operand as like~ checks it; values: strings or null */
    bool ok = first ? !is_numeric(t) && t != VT_BOOL : t == VT_STRING || t == VT_TEXT || t == VT_NULL || t == VT_ANY;
    return ok || fail(s, EQLITE_ETYPE, x,
                      "%s argument of [:] must be [string], found value [%.*s] type [%s]; consider using [==] instead",
                      ordinal(first ? 0 : 1), SRC(x), es_type_name(s, x));
}

static bool check_predicate(sema *s, eq_node *n)
{
    eq_node *lhs = n->kids[0];
    if (n->op == PR_SEQ || n->op == PR_IN_I)
        for (uint32_t k = 0; k < n->nkids; k++)
            if (!insensitive_equals_operand(s, n->kids[k], k == 0))
                return false;
    for (uint32_t k = 1; k < n->nkids; k++) {
        eq_node *x = n->kids[k];
        if (!eq_is_constant(x)) {
            const eq_node *off = first_field(x);
            return fail(s, EQLITE_ETYPE, x,
                        "Comparisons against fields are not (currently) supported; offender [%.*s] in [%.*s]",
                        SRC(off ? off : x), SRC(n));
        }
        if (n->op != PR_IN && n->op != PR_IN_I && n->op != PR_SEQ && x->type != VT_STRING && x->type != VT_NULL && x->type != VT_ANY)
            return fail(s, EQLITE_ETYPE, x, "%s argument of [%.*s] must be [string], found value [%.*s] type [%s]",
                        ordinal(k), SRC(n), SRC(x), type_name((eq_vtype)x->type));
    }
    eq_vtype t = (eq_vtype)lhs->type;
    if (n->op == PR_IN)
        for (uint32_t k = 1; k < n->nkids; k++)
            if (!in_compatible(t, (eq_vtype)n->kids[k]->type)) {
                char nth[16];
                return fail(s, EQLITE_ETYPE, n, "%s argument of [%.*s] must be [%s], found value [%.*s] type [%s]",
                            ordinal_number(k, nth), SRC(n), es_type_name(s, lhs), SRC(n->kids[k]),
                            es_type_name(s, n->kids[k]));
            }
    if (n->op != PR_IN && n->op != PR_IN_I && n->op != PR_SEQ && (is_numeric(t) || t == VT_BOOL))
        return fail(s, EQLITE_ETYPE, lhs, "first argument of [%.*s] must be [string], found value [%.*s] type [%s]",
                    SRC(n), SRC(lhs), type_name(t));
    if (n->op == PR_REGEX || n->op == PR_REGEX_I)
        for (uint32_t k = 1; k < n->nkids; k++)
            if (n->kids[k]->kind == N_STRING && !eq_check_regex(s->p, n->kids[k], n->op == PR_REGEX_I))
                return false;
    n->type = VT_BOOL;
    return true;
}

static int find_function(const char *name, uint32_t n)
{
    for (int k = 0; k < FN__COUNT; k++)
        if (strlen(eq_functions[k].name) == n && strncasecmp(eq_functions[k].name, name, n) == 0)
            return k;
    return -1;
}

static bool arg_must_be(sema *s, eq_node *call, uint32_t k, const char *want)
{
    eq_node *x = call->kids[k];
    return fail(s, EQLITE_ETYPE, x, "%s argument of [%.*s] must be [%s], found value [%.*s] type [%s]", ordinal(k),
                SRC(call), want, SRC(x), type_name((eq_vtype)x->type));
}

static bool want_string(sema *s, eq_node *call, uint32_t k)
{
    eq_vtype t = (eq_vtype)call->kids[k]->type;
    if (t == VT_TEXT)
        return fail(s, EQLITE_ETYPE, call->kids[k],
                    "[%.*s] cannot operate on field of data type [text]: No keyword/multi-field defined exact matches for [%.*s]; define one or use MATCH/QUERY instead",
                    SRC(call), SRC(call->kids[k]));
    if (t == VT_ANY || t == VT_NULL || is_stringy(t))
        return true;
    return arg_must_be(s, call, k, "string");
}

static bool want_numeric(sema *s, eq_node *call, uint32_t k)
{
    eq_vtype t = (eq_vtype)call->kids[k]->type;
    if (t == VT_ANY || t == VT_NULL || is_numeric(t))
        return true;
    return arg_must_be(s, call, k, "numeric");
}

static bool want_integer(sema *s, eq_node *call, uint32_t k)
{
    eq_vtype t = (eq_vtype)call->kids[k]->type;
    if (t == VT_ANY || t == VT_NULL || t == VT_INT)
        return true;
    return arg_must_be(s, call, k, "integer");
}

static bool want_constant(sema *s, eq_node *call, uint32_t k)
{
    if (eq_is_constant(call->kids[k]))
        return true;
    return fail(s, EQLITE_ETYPE, call->kids[k], "%s argument of [%.*s] must be a constant, received [%.*s]", ordinal(k),
                SRC(call), SRC(call->kids[k]));
}

static bool check_call(sema *s, eq_node *n)
{
    int fn = find_function(n->v.str.s, n->v.str.n);
    if (fn < 0) {
        char lower[64];
        uint32_t m = n->v.str.n < sizeof lower - 1 ? n->v.str.n : (uint32_t)sizeof lower - 1;
        for (uint32_t k = 0; k < m; k++)
            lower[k] = (char)((n->v.str.s[k] >= 'A' && n->v.str.s[k] <= 'Z') ? n->v.str.s[k] + 32 : n->v.str.s[k]);
        lower[m] = 0;
        /* Lucene's normalised Levenshtein similarity, as ES's suggestions use */
        int best = -1;
        double best_sim = 0;
        name_pattern pattern;
        name_pattern_init(&pattern, lower, strlen(lower));
        for (int k = 0; k < FN__COUNT; k++) {
            double sim = similarity(&pattern, eq_functions[k].name, strlen(eq_functions[k].name));
            if (sim > best_sim) {
                best_sim = sim;
                best = k;
            }
        }
        if (best >= 0 && best_sim >= 0.5)
            return fail(s, EQLITE_ETYPE, n, "Unknown function [%s], did you mean [%s]?", lower, eq_functions[best].name);
        return fail(s, EQLITE_ETYPE, n, "Unknown function [%s]", lower);
    }
    const eq_function_info *f = &eq_functions[fn];
    n->fn = fn;
    if ((n->flags & NF_TILDE) && !f->has_tilde)
        return fail(s, EQLITE_ETYPE, n, "Function [%s] does not have a case-insensitive [~] variant", f->name);
    if ((int)n->nkids < f->min_args || (f->max_args >= 0 && (int)n->nkids > f->max_args))
        return fail(s, EQLITE_ETYPE, n, "error building [%s]: %s", f->name, f->arity_message);
    if (!check_kids(s, n))
        return false;
    switch ((eq_function)fn) {
    case FN_ADD:
    case FN_SUBTRACT:
    case FN_MULTIPLY:
    case FN_DIVIDE:
    case FN_MODULO:
        if (!want_numeric(s, n, 0) || !want_numeric(s, n, 1))
            return false;
        n->type = (n->kids[0]->type == VT_INT && n->kids[1]->type == VT_INT) ? VT_INT
                  : (n->kids[0]->type == VT_DOUBLE || n->kids[1]->type == VT_DOUBLE) ? VT_DOUBLE : VT_ANY;
        return true;
    case FN_BETWEEN:
        for (uint32_t k = 0; k < 3; k++)
            if (!want_string(s, n, k))
                return false;
        if (n->nkids == 4) {
            eq_node *g = n->kids[3];
            if (g->type != VT_BOOL && g->type != VT_ANY)
                return arg_must_be(s, n, 3, "boolean");
            if (!want_constant(s, n, 3))
                return false;
        }
        n->type = VT_STRING;
        return true;
    case FN_CIDRMATCH:
        if (!want_string(s, n, 0))
            return false;
        for (uint32_t k = 1; k < n->nkids; k++) {
            if (!want_constant(s, n, k) || !want_string(s, n, k))
                return false;
        }
        n->type = VT_BOOL;
        return true;
    case FN_CONCAT:
    case FN_STRING:
        for (uint32_t k = 0; k < n->nkids; k++)
            if (n->kids[k]->type == VT_TEXT)
                return want_string(s, n, k);
        n->type = VT_STRING;
        return true;
    case FN_ENDSWITH:
    case FN_STARTSWITH:
    case FN_STRINGCONTAINS:
        if (!want_string(s, n, 0) || !want_string(s, n, 1))
            return false;
        n->type = VT_BOOL;
        return true;
    case FN_INDEXOF:
        if (!want_string(s, n, 0) || !want_string(s, n, 1) || (n->nkids == 3 && !want_integer(s, n, 2)))
            return false;
        n->type = VT_INT;
        return true;
    case FN_LENGTH:
        if (!want_string(s, n, 0))
            return false;
        n->type = VT_INT;
        return true;
    case FN_NUMBER:
        if (!want_string(s, n, 0))
            return false;
        if (n->nkids == 2 && (!want_integer(s, n, 1) || !want_constant(s, n, 1)))
            return false;
        n->type = VT_ANY;
        return true;
    case FN_SUBSTRING:
        if (!want_string(s, n, 0) || !want_integer(s, n, 1) || (n->nkids == 3 && !want_integer(s, n, 2)))
            return false;
        n->type = VT_STRING;
        return true;
    default: return true;
    }
}

static bool check(sema *s, eq_node *n)
{
    if (!n)
        return false;
    switch ((eq_node_kind)n->kind) {
    case N_NULL: n->type = VT_NULL; return true;
    case N_BOOL: n->type = VT_BOOL; return true;
    case N_INT: n->type = VT_INT; return true;
    case N_DOUBLE: n->type = VT_DOUBLE; return true;
    case N_STRING: n->type = VT_STRING; return true;
    case N_FIELD: return resolve_field(s, n);
    case N_NOT:
    case N_AND:
    case N_OR:
        if (!check_kids(s, n))
            return false;
        for (uint32_t k = 0; k < n->nkids; k++) {
            eq_vtype t = (eq_vtype)n->kids[k]->type;
            if (t != VT_BOOL && t != VT_NULL && t != VT_ANY)
                return fail(s, EQLITE_ETYPE, n->kids[k], "argument of [%.*s] must be [boolean], found value [%.*s] type [%s]",
                            SRC(n), SRC(n->kids[k]), type_name(t));
        }
        n->type = VT_BOOL;
        return true;
    case N_CMP: return check_kids(s, n) && check_compare(s, n);
    case N_ARITH:
    case N_NEG:
        if (!check_kids(s, n))
            return false;
        for (uint32_t k = 0; k < n->nkids; k++) {
            eq_vtype t = (eq_vtype)n->kids[k]->type;
            if (t != VT_ANY && t != VT_NULL && !is_numeric(t))
                return fail(s, EQLITE_ETYPE, n->kids[k], "%s argument of [%.*s] must be [numeric], found value [%.*s] type [%s]",
                            ordinal(k), SRC(n), SRC(n->kids[k]), type_name(t));
        }
        n->type = VT_ANY;
        if (n->kind == N_NEG)
            n->type = n->kids[0]->type;
        else if (n->kids[0]->type == VT_INT && n->kids[1]->type == VT_INT)
            n->type = VT_INT;
        else if (n->kids[0]->type == VT_DOUBLE || n->kids[1]->type == VT_DOUBLE)
            n->type = VT_DOUBLE;
        return true;
    case N_PRED: return check_kids(s, n) && check_predicate(s, n);
    case N_CALL: return check_call(s, n);
    }
    return false;
}

static bool check_condition(sema *s, eq_node *n)
{
    if (!check(s, n))
        return false;
    eq_vtype t = (eq_vtype)n->type;
    if (t != VT_BOOL && t != VT_NULL && t != VT_ANY)
        return fail(s, EQLITE_ETYPE, n, "Condition expression needs to be boolean, found [%s]", type_name(t));
    return true;
}

static bool check_keys(sema *s, eq_list *keys)
{
    for (uint32_t k = 0; k < keys->n; k++) {
        eq_node *key = keys->items[k];
        if (!check(s, key))
            return false;
        if (key->kind != N_FIELD)
            return fail(s, EQLITE_ETYPE, key, "join key [%.*s] must be a field", SRC(key));
    }
    return true;
}

static const char *const pipes_unsupported[] = {"count", "filter", "sort", "unique", "unique_count"};
static const char *const pipes_known[] = {"head", "tail"};

static bool check_pipes(sema *s, eq_query *q)
{
    for (uint32_t k = 0; k < q->npipes; k++) {
        eq_pipe *pp = &q->pipes[k];
        eq_node at = {0};
        at.off = pp->off;
        at.len = pp->namelen;
        bool known = false;
        for (size_t u = 0; u < sizeof pipes_known / sizeof *pipes_known; u++)
            known |= strlen(pipes_known[u]) == pp->namelen && memcmp(pipes_known[u], pp->name, pp->namelen) == 0;
        if (!known) {
            for (size_t u = 0; u < sizeof pipes_unsupported / sizeof *pipes_unsupported; u++)
                if (strlen(pipes_unsupported[u]) == pp->namelen && memcmp(pipes_unsupported[u], pp->name, pp->namelen) == 0)
                    return fail(s, EQLITE_ETYPE, &at, "Pipe [%.*s] is not supported", (int)pp->namelen, pp->name);
            return fail(s, EQLITE_ETYPE, &at, "Unrecognized pipe [%.*s], did you mean [head] or [tail]?", (int)pp->namelen,
                        pp->name);
        }
        if (pp->args.n != 1)
            return fail(s, EQLITE_ETYPE, &at, "Pipe [%.*s] expects exactly one argument but found [%u]", (int)pp->namelen,
                        pp->name, pp->args.n);
        eq_node *a = pp->args.items[0];
        if (a->kind == N_NEG && a->kids[0]->kind == N_INT)
            return fail(s, EQLITE_ETYPE, a, "Pipe [%.*s] expects a positive integer but found [%.*s]", (int)pp->namelen,
                        pp->name, SRC(a));
        if (a->kind != N_INT)
            return fail(s, EQLITE_ETYPE, a, "Pipe [%.*s] expects a positive integer but found [%.*s]", (int)pp->namelen,
                        pp->name, SRC(a));
    }
    return true;
}

static bool check_maxspan(sema *s, eq_query *q)
{
    eq_node *num = q->maxspan;
    eq_node at = {0};
    at.off = q->maxspan_off;
    at.len = q->maxspan_len;
    const char *u = q->maxspan_unit;
    uint32_t ul = q->maxspan_unit_len;
    if (num->kind == N_DOUBLE)
        return fail(s, EQLITE_ETYPE, &at, "Decimal time interval [%.*s%.*s] not supported; please use an integer", SRC(num),
                    (int)ul, u ? u : "");
    if (num->kind != N_INT)
        return fail(s, EQLITE_ETYPE, num, "maxspan must be a positive integer with a time unit, found [%.*s]", SRC(num));
    if (num->v.i <= 0)
        return fail(s, EQLITE_ETYPE, num, "A positive maxspan value is required; found [%lld]", (long long)num->v.i);
    if (!u)
        return fail(s, EQLITE_ETYPE, num, "No time unit specified, did you mean [s] as in [%llds]?", (long long)num->v.i);
    static const struct {
        const char *unit;
        int64_t ns;
    } units[] = {{"nanos", 1},
                 {"micros", 1000},
                 {"ms", 1000000},
                 {"s", 1000000000LL},
                 {"m", 60LL * 1000000000LL},
                 {"h", 3600LL * 1000000000LL},
                 {"d", 86400LL * 1000000000LL}};
    for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
        if (strlen(units[k].unit) == ul && memcmp(units[k].unit, u, ul) == 0) {
            if (num->v.i > INT64_MAX / units[k].ns)
                return fail(s, EQLITE_ELIMIT, &at, "maxspan [%.*s] is too large", SRC(&at));
            q->maxspan_ns = num->v.i * units[k].ns;
            return true;
        }
    }
    return fail(s, EQLITE_ETYPE, &at, "Unrecognized time unit [%.*s] in [%.*s], please specify one of [ms, s, m, h, d]", (int)ul, u,
                SRC(&at));
}

static bool check_term(sema *s, eq_query *q, eq_term *t, uint32_t expected_keys)
{
    if (!check_condition(s, t->filter) || !check_keys(s, &t->keys))
        return false;
    uint32_t nkeys = q->keys.n + t->keys.n;
    if (nkeys != expected_keys) {
        eq_node at = {0};
        at.off = t->off;
        at.len = t->len;
        return fail(s, EQLITE_ETYPE, &at, "Inconsistent number of join keys specified; expected [%u] but found [%u]",
                    expected_keys, nkeys);
    }
    if (t->has_with) {
        eq_node at = {0};
        at.off = t->with_off;
        at.len = t->with_len;
        if (t->with_name_len != 4 || memcmp(t->with_name, "runs", 4) != 0)
            return fail(s, EQLITE_ETYPE, &at, "Unrecognized parameter [%.*s]; only [runs] is supported", (int)t->with_name_len,
                        t->with_name);
        if (q->kind != Q_SEQUENCE)
            return fail(s, EQLITE_ETYPE, &at, "[runs] is only supported in sequences");
        if (t->runs < 1 || t->runs > EQ_MAX_RUNS)
            return fail(s, EQLITE_ETYPE, &at, "A query cannot be repeated less than 1 or more than %d times; found [%lld]",
                        EQ_MAX_RUNS, (long long)t->runs);
    }
    return true;
}

static bool check_query(sema *s, eq_query *q)
{
    eq_node at = {0};
    at.off = 0;
    at.len = (uint32_t)(s->p->len < 8 ? s->p->len : 8);
    if (q->kind == Q_JOIN)
        return fail(s, EQLITE_ETYPE, &at, "Queries using [join] are not supported");
    if (q->with_before_by) {
        at.off = q->maxspan_off;
        at.len = q->maxspan_len;
        return fail(s, EQLITE_ESYNTAX, &at, "Please specify sequence [by] before [with] not after");
    }
    if (!check_keys(s, &q->keys))
        return false;
    uint32_t expected = q->keys.n + (q->nterms ? q->terms[0]->keys.n : 0);
    uint32_t positions = 0, positives = 0, missing = 0;
    for (uint32_t k = 0; k < q->nterms; k++) {
        eq_term *t = q->terms[k];
        if (!check_term(s, q, t, expected))
            return false;
        uint32_t reps = t->has_with ? (uint32_t)t->runs : 1;
        positions += reps;
        if (t->missing)
            missing += reps;
        else
            positives += reps;
    }
    if (q->until && !check_term(s, q, q->until, expected))
        return false;
    if (q->until && q->until->missing) {
        at.off = q->until->off;
        at.len = q->until->len;
        return fail(s, EQLITE_ETYPE, &at, "[until] cannot be a missing event");
    }
    if (q->kind == Q_SEQUENCE) {
        if (positions > EQ_MAX_TERMS)
            return fail(s, EQLITE_ELIMIT, &at, "a sequence may have at most %d positions (after runs)", EQ_MAX_TERMS);
        if (positions < 2)
            return fail(s, EQLITE_ETYPE, &at, "A sequence requires a minimum of 2 queries, found [%u]", positions);
        if (positives == 0)
            return fail(s, EQLITE_ETYPE, &at, "A sequence requires at least one positive event query; found none");
        if (q->has_maxspan && !check_maxspan(s, q))
            return false;
        if (missing && !q->has_maxspan)
            return fail(s, EQLITE_ETYPE, &at, "[maxspan] is required for sequences with missing events [![...]]");
    } else if (q->kind == Q_SAMPLE) {
        if (q->nterms < 2)
            return fail(s, EQLITE_ETYPE, &at, "A sample requires a minimum of 2 queries, found [%u]", q->nterms);
        for (uint32_t k = 0; k < q->nterms; k++)
            if (q->terms[k]->missing) {
                at.off = q->terms[k]->off;
                at.len = q->terms[k]->len;
                return fail(s, EQLITE_ETYPE, &at, "Missing events [![...]] are only supported in sequences");
            }
    } else if (q->terms[0]->missing || q->terms[0]->keys.n || q->terms[0]->has_with) {
        return fail(s, EQLITE_ETYPE, &at, "mismatched input: an event query has no join keys or parameters");
    }
    return check_pipes(s, q);
}

bool eq_sema(eq_parse *p, eqlite_schema *schema)
{
    sema s = {p, schema};
    if (p->expression_mode)
        return check(&s, p->expr);
    return check_query(&s, p->query);
}

bool eq_check_regex(eq_parse *p, const eq_node *pattern, bool caseless)
{
    char err[256];
    (void)caseless;
    size_t need = eq_regex_translate(pattern->v.str.s, pattern->v.str.n, NULL, 0, err, sizeof err);
    if (need == (size_t)-1 && strcmp(err, EQ_REGEX_NOMEM) == 0) {
        eq_error(p, EQLITE_ENOMEM, pattern->off, pattern->len, "out of memory");
        return false;
    }
    if (need == (size_t)-1) {
        eq_error(p, EQLITE_ETYPE, pattern->off, pattern->len, "invalid regular expression %.*s: %s", (int)pattern->len,
                 p->src + pattern->off, err);
        return false;
    }
    return true;
}
