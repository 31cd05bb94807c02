/* codegen.c: verified tree -> bytecode. Conditions compile to jumps over a
 * three-valued accumulator; under and/or chains that only need "true or
 * not" (a filter), null and false share one path and no merge code is
 * emitted. Field-against-constant tests become fused instructions; constant
 * subtrees are folded by running the VM on them once, so folding and
 * evaluation are one implementation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "functions.h"
#include "program.h"
#include "regex.h"
#include "schema.h"
#include "sema.h"
#include "strbuf.h"

typedef struct gen {
    eq_parse *p;
    eqlite_program *prog;
    int depth;
    bool folding;
    eqlite_matcher *folder;
    const eq_node *at; /* node being compiled: where a stack-limit error points */
    int in_condition;  /* inside a condition that may try element choices */
    int under_function; /* inside function arguments or arithmetic */
    uint32_t elem_slots; /* LOAD_ELEM slots the current condition uses */
} gen;

static const int op_effect[OP__COUNT] = {
#define EQ_OP_EFFECT(name, fmt, effect) effect,
    EQ_OPCODES(EQ_OP_EFFECT)
#undef EQ_OP_EFFECT
};

static bool oom(gen *g, const eq_node *n)
{
    eq_error(g->p, EQLITE_ENOMEM, n ? n->off : 0, n ? n->len : 0, "out of memory");
    return false;
}

static bool grow(eq_arena *a, void **items, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return true;
    uint32_t nc = *cap ? *cap * 2 : 16;
    void *ni = eq_arena_alloc(a, nc * size);
    if (!ni)
        return false;
    if (n)
        memcpy(ni, *items, n * size);
    *items = ni;
    *cap = nc;
    return true;
}

static uint32_t emit(gen *g, eq_opcode op, unsigned x, unsigned y, uint32_t a, uint32_t b)
{
    eqlite_program *pr = g->prog;
    if (!grow(&pr->arena, (void **)&pr->code, &pr->capcode, pr->ncode, sizeof *pr->code)) {
        oom(g, NULL);
        return 0;
    }
    eq_instr *in = &pr->code[pr->ncode];
    in->op = (uint8_t)op;
    in->x = (uint8_t)x;
    in->y = (uint16_t)y;
    in->a = a;
    in->b = b;
    int effect = op_effect[op];
    if (op == OP_CALL)
        effect = 1 - (int)y;
    g->depth += effect;
    if (g->depth > (int)pr->max_stack) {
        pr->max_stack = (uint32_t)g->depth;
        if (pr->max_stack == EQ_STACK_LIMIT + 1)
            eq_error(g->p, EQLITE_ELIMIT, g->at ? g->at->off : 0, g->at ? g->at->len : 0,
                     "expression needs more than %d value stack slots", EQ_STACK_LIMIT);
    }
    return pr->ncode++;
}

static void patch(gen *g, uint32_t at) { g->prog->code[at].a = g->prog->ncode; }

static uint32_t add_const(gen *g, eqlite_value v)
{
    eqlite_program *pr = g->prog;
    if (v.kind == EQLITE_STRING) {
        char *s = eq_arena_strdup(&pr->arena, v.u.s ? v.u.s : "", v.len);
        if (!s)
            return oom(g, NULL), 0;
        v.u.s = s;
    }
    if (!grow(&pr->arena, (void **)&pr->consts, &pr->capconsts, pr->nconsts, sizeof *pr->consts))
        return oom(g, NULL), 0;
    pr->consts[pr->nconsts] = v;
    return pr->nconsts++;
}

static void note_field(gen *g, uint32_t id)
{
    eqlite_program *pr = g->prog;
    for (uint32_t k = 0; k < pr->nfields; k++)
        if (pr->fields[k] == id)
            return;
    if (!grow(&pr->arena, (void **)&pr->fields, &pr->capfields, pr->nfields, sizeof *pr->fields)) {
        oom(g, NULL);
        return;
    }
    pr->fields[pr->nfields++] = id;
}

static eqlite_value literal_value(const eq_node *n)
{
    eqlite_value v;
    memset(&v, 0, sizeof v);
    switch (n->kind) {
    case N_BOOL: v.kind = EQLITE_BOOL; v.u.b = n->v.b; break;
    case N_INT: v.kind = EQLITE_INT; v.u.i = n->v.i; break;
    case N_DOUBLE: v.kind = EQLITE_DOUBLE; v.u.d = n->v.d; break;
    case N_STRING: v.kind = EQLITE_STRING; v.u.s = n->v.str.s; v.len = n->v.str.n; break;
    default: v.kind = EQLITE_NULL; break;
    }
    return v;
}

static bool compile_value(gen *g, eq_node *n);
static bool compile_bool(gen *g, eq_node *n, bool lax);

static bool is_literal(const eq_node *n)
{
    return n->kind == N_NULL || n->kind == N_BOOL || n->kind == N_INT || n->kind == N_DOUBLE ||
           n->kind == N_STRING || (n->kind == N_FIELD && n->field_id == EQ_FIELD_NULL);
}

/* A constant whose evaluation could not be decided (memory, a regex limit)
 * fails the compile rather than fold to a wrong value; so does an arithmetic
 * error, as Elasticsearch's ConstantFolding throws it for the query. */
static bool folding_failed(gen *g, const eq_node *n)
{
    eqlite_status st = eq_scratch_take_error(&g->folder->scratch);
    if (st == EQLITE_OK)
        return false;
    if (st == EQLITE_ENOMEM)
        return !oom(g, n);
    if (st == EQLITE_EARITH)
        eq_error(g->p, st, n->off, n->len, "[%.*s]: %s", (int)n->len, g->p->src + n->off,
                 g->folder->scratch.why);
    else
        eq_error(g->p, st, n->off, n->len, "regex too complex to evaluate");
    return true;
}

/* True if Elasticsearch computes n as a Java int, not a long: an integer
 * literal that fits 32 bits (EQL's ExpressionBuilder.visitIntegerLiteral
 * narrows it), length() and indexOf() (Integer results), and arithmetic on two
 * such operands (ql Arithmetics keeps int when neither side is a Long). Field
 * values are read from doc values as longs. */
static bool java_int(const eq_node *n)
{
    switch ((eq_node_kind)n->kind) {
    case N_INT: return n->v.i >= INT32_MIN && n->v.i <= INT32_MAX;
    case N_NEG: return java_int(n->kids[0]);
    case N_ARITH: return java_int(n->kids[0]) && java_int(n->kids[1]);
    case N_CALL:
        switch ((eq_function)n->fn) {
        case FN_LENGTH:
        case FN_INDEXOF: return true;
        case FN_ADD:
        case FN_SUBTRACT:
        case FN_MULTIPLY:
        case FN_DIVIDE:
        case FN_MODULO: return java_int(n->kids[0]) && java_int(n->kids[1]);
        default: return false;
        }
    default: return false;
    }
}

static bool is_arith_call(const eq_node *n)
{
    return n->fn == FN_ADD || n->fn == FN_SUBTRACT || n->fn == FN_MULTIPLY || n->fn == FN_DIVIDE ||
           n->fn == FN_MODULO;
}

/* Folds constant subtree n by compiling it into scratch code and running
 * that in the folder: as a value (*out) or as a condition (*acc). */
static bool fold_constant(gen *g, eq_node *n, bool as_condition, eqlite_value *out, int *acc)
{
    uint32_t mark = g->prog->ncode;
    int depth = g->depth;
    bool was = g->folding;
    g->folding = true;
    bool ok = as_condition ? compile_bool(g, n, false) : compile_value(g, n);
    g->folding = was;
    if (!ok)
        return false;
    emit(g, OP_RET, 0, 0, 0, 0);
    if (g->p->failed)
        return false;
    if (!eq_vm_reserve(g->folder, g->prog))
        return oom(g, n);
    uint32_t nv = 0;
    static const eqlite_event empty;
    eq_vm_reset(g->folder);
    if (as_condition)
        *acc = eq_vm_run(g->folder, mark, &empty);
    else
        eq_vm_run_values(g->folder, mark, &empty, &nv);
    if (folding_failed(g, n))
        return false;
    if (!as_condition)
        *out = nv ? g->folder->stack[0] : (eqlite_value){0};
    g->prog->ncode = mark;
    g->depth = depth;
    return true;
}

/* Folds a constant subtree to a value by running it. */
static bool fold_value(gen *g, eq_node *n, eqlite_value *out)
{
    if (is_literal(n)) {
        *out = literal_value(n);
        return true;
    }
    return fold_constant(g, n, false, out, NULL);
}

static bool emit_folded(gen *g, eq_node *n)
{
    eqlite_value v;
    if (!fold_value(g, n, &v))
        return false;
    uint32_t k = add_const(g, v); /* copies strings out of the folder's scratch */
    emit(g, OP_LOAD_CONST, 0, 0, 0, k);
    return !g->p->failed;
}

static int field_operand(gen *g, const eq_node *f, uint32_t *out)
{
    if (f->field_id == EQ_FIELD_TIMESTAMP) {
        *out = EQ_TS_FIELD;
        return 1;
    }
    if (f->field_id < 0)
        return 0;
    *out = (uint32_t)f->field_id;
    note_field(g, *out);
    return 1;
}

/* A field read under a function or arithmetic in a condition: one element
 * slot, so that the condition tries each of its values (opcodes.h). */
static bool load_element(gen *g, const eq_node *n, uint32_t id)
{
    emit(g, OP_LOAD_ELEM, 0, 0, id, g->elem_slots);
    if (g->p->failed) /* the stack limit, met first by long argument lists */
        return false;
    if (g->elem_slots == EQ_ELEM_SLOTS) {
        eq_error(g->p, EQLITE_ELIMIT, n->off, n->len,
                 "a condition reads more than %d fields inside functions or arithmetic", EQ_ELEM_SLOTS);
        return false;
    }
    if (++g->elem_slots > g->prog->max_elem_slots)
        g->prog->max_elem_slots = g->elem_slots;
    return true;
}

static bool compile_value(gen *g, eq_node *n)
{
    g->at = n;
    if (!g->folding && eq_is_constant(n) && !is_literal(n))
        return emit_folded(g, n);
    switch ((eq_node_kind)n->kind) {
    case N_NULL:
    case N_BOOL:
    case N_INT:
    case N_DOUBLE:
    case N_STRING: emit(g, OP_LOAD_CONST, 0, 0, 0, add_const(g, literal_value(n))); break;
    case N_FIELD: {
        uint32_t id;
        if (!field_operand(g, n, &id))
            emit(g, OP_LOAD_CONST, 0, 0, 0, add_const(g, (eqlite_value){0}));
        else if (id == EQ_TS_FIELD)
            emit(g, OP_LOAD_TS, 0, 0, 0, 0);
        else if (g->in_condition && g->under_function)
            return load_element(g, n, id);
        else
            emit(g, OP_LOAD_FIELD, 0, 0, id, 0);
        break;
    }
    case N_ARITH:
        g->under_function++;
        if (!compile_value(g, n->kids[0]) || !compile_value(g, n->kids[1]))
            return false;
        g->under_function--;
        emit(g, OP_ARITH, n->op, java_int(n), 0, 0);
        break;
    case N_NEG:
        g->under_function++;
        if (!compile_value(g, n->kids[0]))
            return false;
        g->under_function--;
        emit(g, OP_NEG, 0, java_int(n), 0, 0);
        break;
    case N_CALL: {
        uint32_t aux = 0, argc = n->nkids;
        if (n->fn == FN_CIDRMATCH) {
            eqlite_program *pr = g->prog;
            if (!grow(&pr->arena, (void **)&pr->cidrs, &pr->capcidrs, pr->ncidrs, sizeof *pr->cidrs))
                return oom(g, n);
            eq_cidr_set *set = &pr->cidrs[pr->ncidrs];
            set->items = eq_arena_alloc(&pr->arena, n->nkids * sizeof *set->items);
            set->n = 0;
            if (!set->items)
                return oom(g, n);
            for (uint32_t k = 1; k < n->nkids; k++) {
                eqlite_value v;
                if (!fold_value(g, n->kids[k], &v))
                    return false;
                if (v.kind != EQLITE_STRING || !eq_cidr_parse(v.u.s, v.len, &set->items[set->n])) {
                    eq_error(g->p, EQLITE_ETYPE, n->kids[k]->off, n->kids[k]->len,
                             "[%.*s] is not a valid IP address or CIDR block", (int)n->kids[k]->len,
                             g->p->src + n->kids[k]->off);
                    return false;
                }
                set->n++;
            }
            aux = pr->ncidrs++;
            argc = 1;
        } else if (is_arith_call(n)) {
            aux = java_int(n);
        }
        g->under_function++;
        for (uint32_t k = 0; k < argc; k++)
            if (!compile_value(g, n->kids[k]))
                return false;
        g->under_function--;
        emit(g, OP_CALL, (unsigned)n->fn | ((n->flags & NF_TILDE) ? 0x80u : 0u), argc, 0, aux);
        break;
    }
    default:
        if (!compile_bool(g, n, false))
            return false;
        emit(g, OP_PUSH_ACC, 0, 0, 0, 0);
        break;
    }
    return !g->p->failed;
}

static bool is_null_literal(const eq_node *n)
{
    return n->kind == N_NULL || (n->kind == N_FIELD && n->field_id == EQ_FIELD_NULL);
}

static const uint8_t flipped[] = {CMP_EQ, CMP_NE, CMP_GT, CMP_GE, CMP_LT, CMP_LE};

/* A date constant for comparisons against date fields: ISO text or epoch ms. */
static bool date_const(gen *g, const eq_node *at, eqlite_value *v)
{
    int64_t ns;
    if (v->kind != EQLITE_STRING && v->kind != EQLITE_INT && v->kind != EQLITE_DOUBLE)
        return true;
    if (!eq_value_date_ns(v, &ns)) {
        eq_error(g->p, EQLITE_ETYPE, at->off, at->len, "cannot parse [%.*s] as a date", (int)v->len, v->u.s);
        return false;
    }
    v->kind = EQLITE_INT;
    v->len = 0;
    v->u.i = ns;
    return true;
}

static bool not_an_ip(gen *g, const eq_node *at, const eqlite_value *v)
{
    eq_error(g->p, EQLITE_ETYPE, at->off, at->len, "'%.*s' is not an IP string literal.", (int)v->len, v->u.s);
    return false;
}

/* `ip_field == "a"` (`in` refuses strings on ip fields in sema, as ES's In
 * does): Elasticsearch's term query on an ip field parses each value as an address, or as a CIDR block
 * when it has a '/' (IpFieldMapper.termQuery), and a value that is neither
 * fails the query. So this is cidrMatch over the values. *handled is false
 * when a value is not a string (left to the general code). */
static bool compile_ip_terms(gen *g, eq_node *field, eq_node *const *values, uint32_t n, bool *handled)
{
    eqlite_program *pr = g->prog;
    *handled = false;
    eqlite_value *folded = eq_arena_alloc(&pr->arena, n * sizeof *folded);
    if (!folded)
        return oom(g, field);
    uint32_t strings = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (!fold_value(g, values[k], &folded[k]))
            return false;
        if (folded[k].kind == EQLITE_STRING)
            strings++;
        else if (folded[k].kind != EQLITE_NULL)
            return true;
    }
    if (strings == 0)
        return true;
    if (!grow(&pr->arena, (void **)&pr->cidrs, &pr->capcidrs, pr->ncidrs, sizeof *pr->cidrs))
        return oom(g, field);
    eq_cidr_set *set = &pr->cidrs[pr->ncidrs];
    set->items = eq_arena_alloc(&pr->arena, strings * sizeof *set->items);
    set->n = 0;
    if (!set->items)
        return oom(g, field);
    for (uint32_t k = 0; k < n; k++) {
        if (folded[k].kind != EQLITE_STRING)
            continue; /* null matches nothing */
        if (!eq_cidr_parse(folded[k].u.s, folded[k].len, &set->items[set->n]))
            return not_an_ip(g, values[k], &folded[k]);
        set->n++;
    }
    uint32_t aux = pr->ncidrs++;
    *handled = true;
    if (!compile_value(g, field))
        return false;
    emit(g, OP_CALL, FN_CIDRMATCH, 1, 0, aux);
    emit(g, OP_TRUTH, 0, 0, 0, 0);
    return !g->p->failed;
}

/* A keyword operand against a number: Elasticsearch's term, terms and range
 * queries on keyword take the number's text (1 -> "1"). `text` holds it. */
static void number_as_keyword(const eq_node *operand, eqlite_value *v, char text[32])
{
    if (operand->type != VT_STRING || (v->kind != EQLITE_INT && v->kind != EQLITE_DOUBLE))
        return;
    size_t n = v->kind == EQLITE_INT ? eq_format_int(v->u.i, text) : eq_format_double(v->u.d, text);
    *v = (eqlite_value){EQLITE_STRING, (uint32_t)n, {.s = text}};
}

/* `pid == "4"`: Elasticsearch's term and range queries read a string given
 * for a numeric or boolean field as that field's type (NumberFieldMapper,
 * BooleanFieldMapper), so it compares as the literal 4 would; a string that
 * does not parse fails the query. */
/* ES's Numbers.toLong takes a decimal above Long.MIN_VALUE - 1 and below
 * Long.MAX_VALUE + 1 (compared as BigDecimal); past that the query fails.
 * long double holds both bounds exactly, where a double rounds them. */
static bool within_long(const eqlite_value *text)
{
    char small[64];
    char *buf = text->len < sizeof small ? small : malloc(text->len + 1);
    if (!buf)
        return true; /* out of memory: the double's own comparison decides */
    memcpy(buf, text->u.s, text->len);
    buf[text->len] = '\0';
    long double x = strtold(buf, NULL);
    if (buf != small)
        free(buf);
    return x < 9223372036854775808.0L && x > -9223372036854775809.0L;
}

static bool string_as_field_type(gen *g, const eq_node *field, const eq_node *at, eqlite_value *v)
{
    if (v->kind != EQLITE_STRING || field->kind != N_FIELD)
        return true;
    if (field->type == VT_BOOL) {
        bool t = v->len == 4 && memcmp(v->u.s, "true", 4) == 0;
        if (!t && !(v->len == 5 && memcmp(v->u.s, "false", 5) == 0)) {
            eq_error(g->p, EQLITE_ETYPE, at->off, at->len,
                     "failed to create query: Can't parse boolean value [%.*s], expected [true] or [false]",
                     (int)v->len, v->u.s);
            return false;
        }
        *v = (eqlite_value){EQLITE_BOOL, 0, {.b = t}};
        return true;
    }
    if (field->type != VT_INT && field->type != VT_DOUBLE)
        return true;
    eqlite_value num;
    if (!eq_parse_decimal_text(v->u.s, v->len, &num)) {
        eq_error(g->p, EQLITE_ETYPE, at->off, at->len,
                 "failed to create query: For input string: \"%.*s\" ([%.*s] is a numeric field)", (int)v->len,
                 v->u.s, (int)field->len, g->p->src + field->off);
        return false;
    }
    if (field->type == VT_INT && num.kind == EQLITE_DOUBLE && !within_long(v)) {
        eq_error(g->p, EQLITE_ETYPE, at->off, at->len,
                 "failed to create query: Value [%.*s] is out of range for a long ([%.*s] is a numeric field)",
                 (int)v->len, v->u.s, (int)field->len, g->p->src + field->off);
        return false;
    }
    *v = num;
    return true;
}

/* ES parses a value compared with a numeric field as the field's own type
 * (NumberFieldMapper's NumberType.parse), and the query fails past what
 * that type holds: "Value [3000000000] is out of range for an integer" (an
 * equality with a decimal part is answered first, matching nothing: its
 * termQuery's hasDecimalPart), and "[double] supports only finite values,
 * but got [NaN]" (validateParsed: "NaN", "1e400", or 1e39 for a float).
 * The schema's integer and floating kinds are one VT_INT and one VT_DOUBLE. */
static bool fits_field_type(gen *g, const eq_node *field, uint32_t id, const eq_node *at, const eqlite_value *v,
                            bool equality)
{
    eqlite_type type = EQLITE_T_UNKNOWN;
    if ((v->kind != EQLITE_INT && v->kind != EQLITE_DOUBLE) || id == EQ_TS_FIELD ||
        !eqlite_schema_field_name(g->prog->schema, id, &type))
        return true;
    double x = v->kind == EQLITE_INT ? (double)v->u.i : v->u.d;
    const char *fails = NULL; /* how ES words it */
    double lo = 0, hi = 0;
    switch (type) {
    case EQLITE_T_INTEGER: lo = INT32_MIN, hi = INT32_MAX, fails = "an integer"; break;
    case EQLITE_T_SHORT: lo = INT16_MIN, hi = INT16_MAX, fails = "a short"; break;
    case EQLITE_T_BYTE: lo = INT8_MIN, hi = INT8_MAX, fails = "a byte"; break;
    case EQLITE_T_FLOAT: x = (float)x; break;
    case EQLITE_T_HALF_FLOAT: x = fabs(x) >= 65520 ? copysign(INFINITY, x) : x; break; /* past it, a half rounds to infinity */
    case EQLITE_T_DOUBLE:
    case EQLITE_T_SCALED_FLOAT: break;
    default: return true;
    }
    const char *field_text = g->p->src + field->off;
    if (!fails) {
        if (isfinite(x))
            return true;
        eq_error(g->p, EQLITE_ETYPE, at->off, at->len, "failed to create query: [%s] %s finite values, but got [%s]",
                 eqlite_type_name(type), type == EQLITE_T_SCALED_FLOAT ? "only supports" : "supports only",
                 isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
        return false;
    }
    if ((x >= lo && x <= hi) || (equality && v->kind == EQLITE_DOUBLE && x != floor(x)))
        return true;
    bool quoted = at->kind == N_STRING;
    eq_error(g->p, EQLITE_ETYPE, at->off, at->len,
             "failed to create query: Value [%.*s] is out of range for %s ([%.*s] is a numeric field)",
             (int)(quoted ? at->v.str.n : at->len), quoted ? at->v.str.s : g->p->src + at->off, fails, (int)field->len,
             field_text);
    return false;
}

static bool compile_compare(gen *g, eq_node *n)
{
    eq_node *a = n->kids[0], *b = n->kids[1];
    uint8_t op = n->op;
    if (is_null_literal(a) && !is_null_literal(b)) {
        eq_node *t = a;
        a = b;
        b = t;
        op = flipped[op];
    }
    if (is_null_literal(b) && (op == CMP_EQ || op == CMP_NE)) {
        uint32_t id;
        if (is_null_literal(a)) { /* ES leaves null == null unfolded; we answer like legacy */
            emit(g, OP_SET_ACC, op == CMP_EQ, 0, 0, 0);
        } else if (a->kind == N_FIELD && field_operand(g, a, &id) && id != EQ_TS_FIELD) {
            emit(g, op == CMP_EQ ? OP_F_IS_NULL : OP_F_NOT_NULL, 0, 0, id, 0);
        } else {
            if (!compile_value(g, a))
                return false;
            emit(g, op == CMP_EQ ? OP_IS_NULL : OP_NOT_NULL, 0, 0, 0, 0);
        }
        return !g->p->failed;
    }
    if (op == CMP_NE) { /* != is not ==, so arrays mean "no element equals" */
        eq_node eqn = *n;
        eqn.op = CMP_EQ;
        if (!compile_compare(g, &eqn))
            return false;
        emit(g, OP_NOT, 0, 0, 0, 0);
        return true;
    }
    if (eq_is_constant(a) && !eq_is_constant(b)) {
        eq_node *t = a;
        a = b;
        b = t;
        op = flipped[op];
    }
    bool dates = a->type == VT_DATE;
    /* F_CMP's y: as dates (1), in the version field's order (2), as addresses (3) */
    unsigned mode = dates ? 1 : a->type == VT_VERSION ? 2 : a->type == VT_IP ? 3 : 0;
    if (a->type == VT_IP && a->kind == N_FIELD && eq_is_constant(b) && op == CMP_EQ) {
        bool handled;
        if (!compile_ip_terms(g, a, &b, 1, &handled) || handled)
            return !g->p->failed;
    }
    uint32_t id;
    if (a->kind == N_FIELD && eq_is_constant(b) && field_operand(g, a, &id)) {
        eqlite_value v;
        if (!fold_value(g, b, &v))
            return false;
        if (v.kind == EQLITE_NULL) {
            emit(g, OP_SET_ACC, 2, 0, 0, 0);
            return true;
        }
        if (dates && !date_const(g, b, &v))
            return false;
        if (!string_as_field_type(g, a, b, &v) || !fits_field_type(g, a, id, b, &v, op == CMP_EQ))
            return false;
        char text[32];
        number_as_keyword(a, &v, text);
        uint8_t addr[16];
        if (mode == 3 && v.kind == EQLITE_STRING && !eq_ip_parse(v.u.s, v.len, addr))
            return not_an_ip(g, b, &v);
        uint32_t k = add_const(g, v);
        if (op == CMP_EQ && v.kind == EQLITE_STRING && id != EQ_TS_FIELD)
            emit(g, OP_F_STR_EQ, 0, 0, id, k);
        else
            emit(g, OP_F_CMP, op, mode, id, k);
        return !g->p->failed;
    }
    if (!compile_value(g, a) || !compile_value(g, b))
        return false;
    /* two possibly-unmapped optional fields: both missing compare equal, as folded nulls do */
    emit(g, OP_CMP, op, eq_maybe_unmapped(a) && eq_maybe_unmapped(b) ? 2 : 0, 0, 0);
    return true;
}

static bool add_regex(gen *g, eq_patterns *pat, const eqlite_value *v, bool caseless, const eq_node *at)
{
    char err[256];
    eq_regex *re = eq_regex_compile(v->u.s, v->len, caseless, err, sizeof err);
    if (!re && strcmp(err, EQ_REGEX_NOMEM) == 0)
        return oom(g, at);
    if (!re) {
        eq_error(g->p, EQLITE_ETYPE, at->off, at->len, "invalid regular expression [%.*s]: %s", (int)v->len, v->u.s, err);
        return false;
    }
    eqlite_program *pr = g->prog;
    if (!grow(&pr->arena, (void **)&pr->regexes, &pr->capregexes, pr->nregexes, sizeof *pr->regexes)) {
        eq_regex_free(re);
        return oom(g, at);
    }
    pr->regexes[pr->nregexes++] = re;
    return eq_patterns_add_regex(&pr->arena, pat, re) || oom(g, at);
}

static bool compile_predicate(gen *g, eq_node *n)
{
    eq_node *lhs = n->kids[0];
    eqlite_program *pr = g->prog;
    bool caseless = n->op == PR_IN_I || n->op == PR_SEQ || n->op == PR_LIKE_I || n->op == PR_REGEX_I;
    bool all_strings = true;
    for (uint32_t k = 1; k < n->nkids; k++)
        if (n->kids[k]->type != VT_STRING && n->kids[k]->type != VT_NULL)
            all_strings = false;
    uint32_t id = 0;
    bool on_field = lhs->kind == N_FIELD && field_operand(g, lhs, &id) && id != EQ_TS_FIELD;
    if ((n->op == PR_IN || n->op == PR_IN_I || n->op == PR_SEQ) && !all_strings) {
        uint32_t first = pr->nconsts, count = 0;
        for (uint32_t k = 1; k < n->nkids; k++) {
            eqlite_value v;
            if (!fold_value(g, n->kids[k], &v))
                return false;
            if (lhs->type == VT_DATE && !date_const(g, n->kids[k], &v))
                return false;
            if (on_field && !fits_field_type(g, lhs, id, n->kids[k], &v, true))
                return false;
            char text[32];
            number_as_keyword(lhs, &v, text); /* in~ (ES's `in` refuses the mix) */
            add_const(g, v);
            count++;
        }
        if (count > UINT16_MAX) {
            eq_error(g->p, EQLITE_ELIMIT, n->off, n->len, "more than %d non-string values in one [in] list", UINT16_MAX);
            return false;
        }
        if (on_field) {
            emit(g, OP_F_IN, n->op != PR_IN, count, id, first);
        } else {
            if (!compile_value(g, lhs))
                return false;
            emit(g, OP_IN, n->op != PR_IN, count, 0, first);
        }
    } else {
        if (!grow(&pr->arena, (void **)&pr->patterns, &pr->cappatterns, pr->npatterns, sizeof *pr->patterns))
            return oom(g, n);
        eq_patterns *pat = eq_patterns_new(&pr->arena, caseless);
        if (!pat)
            return oom(g, n);
        uint32_t nvalues = 0;
        for (uint32_t k = 1; k < n->nkids; k++) {
            eqlite_value v;
            if (!fold_value(g, n->kids[k], &v))
                return false;
            if (v.kind != EQLITE_STRING)
                continue; /* null never matches */
            nvalues++;
            bool ok;
            if (n->op == PR_IN || n->op == PR_IN_I)
                ok = eq_patterns_add_exact(&pr->arena, pat, v.u.s, v.len);
            else if (n->op == PR_REGEX || n->op == PR_REGEX_I)
                ok = add_regex(g, pat, &v, caseless, n->kids[k]);
            else
                ok = eq_patterns_add_wildcard(&pr->arena, pat, v.u.s, v.len);
            if (!ok)
                return g->p->failed ? false : oom(g, n);
        }
        if (!eq_patterns_finish(&pr->arena, pat))
            return oom(g, n);
        bool one_literal = nvalues == 1 && pat->only_literals && pat->exact.n == 1;
        if (on_field && one_literal) { /* the set's own copy: folded when caseless */
            eqlite_value lit = {EQLITE_STRING, pat->exact.items[0].n, {.s = pat->exact.items[0].s}};
            emit(g, caseless ? OP_F_STR_EQ_I : OP_F_STR_EQ, 0, 0, id, add_const(g, lit));
        } else {
            pr->patterns[pr->npatterns] = pat;
            uint32_t pi = pr->npatterns++;
            if (on_field) {
                emit(g, OP_F_MATCH, 0, 0, id, pi);
            } else {
                if (!compile_value(g, lhs))
                    return false;
                emit(g, OP_MATCH, 0, 0, 0, pi);
            }
        }
    }
    if (n->flags & NF_NEGATED)
        emit(g, OP_NOT, 0, 0, 0, 0);
    return !g->p->failed;
}

/* Static cost, for running cheap and selective tests first in a conjunction. */
static unsigned cost(const eq_node *n)
{
    unsigned c = 0;
    switch ((eq_node_kind)n->kind) {
    case N_CMP:
        c = (n->kids[0]->kind == N_FIELD || n->kids[1]->kind == N_FIELD) ? 2 : 6;
        break;
    case N_PRED:
        c = 3;
        for (uint32_t k = 1; k < n->nkids; k++) {
            const eq_node *x = n->kids[k];
            if (n->op == PR_REGEX || n->op == PR_REGEX_I)
                c += 20;
            else if (x->kind == N_STRING && n->op != PR_IN && n->op != PR_IN_I &&
                     (memchr(x->v.str.s, '*', x->v.str.n) || memchr(x->v.str.s, '?', x->v.str.n)))
                c += 1;
        }
        if (n->kids[0]->kind != N_FIELD)
            c += 10;
        break;
    case N_CALL: c = 12; break;
    default: break;
    }
    for (uint32_t k = 0; k < n->nkids && n->kind != N_PRED; k++)
        c += cost(n->kids[k]);
    return c;
}

static int by_cost(const void *a, const void *b)
{
    const eq_node *x = *(eq_node *const *)a, *y = *(eq_node *const *)b;
    unsigned cx = cost(x), cy = cost(y);
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static bool compile_chain(gen *g, eq_node *n, bool lax)
{
    bool is_and = n->kind == N_AND;
    uint32_t count = n->nkids;
    eq_node **kids = n->kids;
    if (count > 1) { /* and/or commute in three-valued logic: reorder by cost */
        kids = eq_arena_dup(&g->prog->arena, n->kids, count * sizeof *kids);
        if (!kids)
            return oom(g, n);
        qsort(kids, count, sizeof *kids, by_cost);
    }
    uint32_t *jumps = eq_arena_alloc(&g->prog->arena, count * sizeof *jumps);
    if (!jumps)
        return oom(g, n);
    for (uint32_t k = 0; k < count; k++) {
        if (k > 0 && !lax)
            emit(g, OP_PUSH_ACC, 0, 0, 0, 0);
        if (!compile_bool(g, kids[k], lax))
            return false;
        if (k > 0 && !lax)
            emit(g, is_and ? OP_AND3 : OP_OR3, 0, 0, 0, 0);
        if (k + 1 < count)
            jumps[k] = emit(g, is_and ? (lax ? OP_JNT : OP_JF) : OP_JT, 0, 0, 0, 0);
    }
    for (uint32_t k = 0; k + 1 < count; k++)
        patch(g, jumps[k]);
    return !g->p->failed;
}

static bool compile_bool(gen *g, eq_node *n, bool lax)
{
    g->at = n;
    if (!g->folding && eq_is_constant(n)) {
        int acc;
        if (!fold_constant(g, n, true, NULL, &acc))
            return false;
        emit(g, OP_SET_ACC, (unsigned)acc, 0, 0, 0);
        return !g->p->failed;
    }
    if (!g->in_condition && n->kind != N_AND && n->kind != N_OR && n->kind != N_NOT) {
        uint32_t start = g->prog->ncode;
        g->in_condition = 1;
        g->elem_slots = 0;
        bool ok = compile_bool(g, n, lax);
        g->in_condition = 0;
        if (ok && g->elem_slots)
            emit(g, OP_NEXT_ELEM, 0, g->elem_slots, start, 0);
        return ok && !g->p->failed;
    }
    switch ((eq_node_kind)n->kind) {
    case N_AND:
    case N_OR: return compile_chain(g, n, lax);
    case N_NOT:
        if (!compile_bool(g, n->kids[0], false))
            return false;
        emit(g, OP_NOT, 0, 0, 0, 0);
        return true;
    case N_CMP: return compile_compare(g, n);
    case N_PRED: return compile_predicate(g, n);
    case N_BOOL: emit(g, OP_SET_ACC, n->v.b ? 1 : 0, 0, 0, 0); return true;
    case N_NULL: emit(g, OP_SET_ACC, 2, 0, 0, 0); return true;
    default:
        if (!compile_value(g, n))
            return false;
        emit(g, OP_TRUTH, 0, 0, 0, 0);
        return true;
    }
}

/* Filter code of one term: the category test, then the condition. */
static bool compile_filter(gen *g, eq_term *t, uint32_t *pc)
{
    *pc = g->prog->ncode;
    g->depth = 0;
    uint32_t skip = UINT32_MAX;
    if (t->category) {
        const char *cf = g->prog->schema->category_field;
        int32_t cid = cf ? eq_schema_find(g->prog->schema, cf, strlen(cf)) : -1;
        if (cid < 0 && cf && g->prog->schema->grow) {
            uint32_t nid;
            if (eqlite_schema_add(g->prog->schema, cf, strlen(cf), EQLITE_T_KEYWORD, &nid) != EQLITE_OK)
                return oom(g, t->filter);
            cid = (int32_t)nid;
        }
        if (cid < 0) {
            eq_error(g->p, EQLITE_ETYPE, t->off, t->catlen ? t->catlen : 1,
                     "the category field [%s] is not in the schema (use [any where] or declare it)", cf ? cf : "");
            return false;
        }
        note_field(g, (uint32_t)cid);
        eqlite_value v = {EQLITE_STRING, t->catlen, {.s = t->category}};
        emit(g, OP_F_STR_EQ, 0, 0, (uint32_t)cid, add_const(g, v));
        skip = emit(g, OP_JNT, 0, 0, 0, 0);
    }
    if (!compile_bool(g, t->filter, true))
        return false;
    if (skip != UINT32_MAX)
        patch(g, skip);
    emit(g, OP_RET, 0, 0, 0, 0);
    if (g->p->failed)
        return false;
    /* Mark the leading guards: string tests whose JNT returns (opcodes.h). */
    eq_instr *code = g->prog->code;
    for (uint32_t i = *pc; i + 1 < g->prog->ncode; i += 2) {
        if ((code[i].op != OP_F_STR_EQ && code[i].op != OP_F_STR_EQ_I) || code[i + 1].op != OP_JNT ||
            code[code[i + 1].a].op != OP_RET)
            break;
        code[i].x = 1;
    }
    return true;
}

static bool compile_keys(gen *g, eq_query *q, eq_term *t, eq_prog_term *pt)
{
    pt->keys_pc = g->prog->ncode;
    pt->nkeys = q->keys.n + t->keys.n;
    pt->key_optional = eq_arena_alloc(&g->prog->arena, (pt->nkeys + 1) * sizeof(bool));
    if (!pt->key_optional)
        return oom(g, NULL);
    g->depth = 0;
    if (pt->nkeys > EQ_MAX_KEYS) {
        eq_error(g->p, EQLITE_ELIMIT, t->off, t->len, "more than %d join keys", EQ_MAX_KEYS);
        return false;
    }
    for (uint32_t k = 0; k < pt->nkeys; k++) {
        eq_node *key = k < q->keys.n ? q->keys.items[k] : t->keys.items[k - q->keys.n];
        pt->key_optional[k] = (key->flags & NF_OPTIONAL) != 0;
        if (!compile_value(g, key))
            return false;
    }
    emit(g, OP_RET, 0, 0, 0, 0);
    return !g->p->failed;
}

static bool compile_term(gen *g, eq_query *q, eq_term *t, eq_prog_term *pt)
{
    pt->missing = t->missing;
    return compile_filter(g, t, &pt->filter_pc) && compile_keys(g, q, t, pt);
}

static bool begin(gen *g, eq_parse *p, eqlite_program *prog)
{
    memset(g, 0, sizeof *g);
    g->p = p;
    g->prog = prog;
    g->folder = eq_arena_alloc(&prog->arena, sizeof *g->folder);
    if (!g->folder)
        return oom(g, NULL);
    if (!eq_vm_init(g->folder, prog, prog->alloc)) {
        eq_vm_release(g->folder);
        g->folder = NULL;
        return oom(g, NULL);
    }
    return true;
}

static void end(gen *g)
{
    if (g->folder)
        eq_vm_release(g->folder);
}

bool eq_codegen(eq_parse *p, eqlite_program *prog)
{
    gen g;
    if (!begin(&g, p, prog))
        return false;
    eq_query *q = p->query;
    bool ok = true;
    prog->kind = (int)q->kind;
    uint32_t positions = 0;
    for (uint32_t k = 0; k < q->nterms; k++)
        positions += q->terms[k]->has_with ? (uint32_t)q->terms[k]->runs : 1;
    prog->terms = eq_arena_alloc(&prog->arena, (positions + 1) * sizeof *prog->terms);
    if (!prog->terms)
        ok = oom(&g, NULL);
    for (uint32_t k = 0; ok && k < q->nterms; k++) {
        eq_prog_term pt;
        memset(&pt, 0, sizeof pt);
        ok = compile_term(&g, q, q->terms[k], &pt);
        uint32_t reps = q->terms[k]->has_with ? (uint32_t)q->terms[k]->runs : 1;
        for (uint32_t r = 0; ok && r < reps; r++)
            prog->terms[prog->nterms++] = pt;
    }
    if (ok && q->until) {
        prog->has_until = true;
        ok = compile_term(&g, q, q->until, &prog->until);
    }
    prog->nkeys = prog->nterms ? prog->terms[0].nkeys : 0;
    prog->has_maxspan = q->has_maxspan;
    prog->maxspan_ns = q->maxspan_ns;
    if (ok && q->npipes) {
        prog->pipes = eq_arena_alloc(&prog->arena, q->npipes * sizeof *prog->pipes);
        if (!prog->pipes)
            ok = oom(&g, NULL);
        for (uint32_t k = 0; ok && k < q->npipes; k++) {
            prog->pipes[k].tail = q->pipes[k].name[0] == 't';
            prog->pipes[k].n = (uint64_t)q->pipes[k].args.items[0]->v.i;
        }
        prog->npipes = q->npipes;
    }
    if (ok && q->kind == Q_EVENT && q->terms[0]->category)
        prog->category = eq_arena_strdup(&prog->arena, q->terms[0]->category, q->terms[0]->catlen);
    end(&g);
    return ok && !p->failed;
}

bool eq_codegen_expression(eq_parse *p, eqlite_program *prog, uint32_t *pc)
{
    gen g;
    if (!begin(&g, p, prog))
        return false;
    *pc = prog->ncode;
    bool ok = compile_value(&g, p->expr);
    if (ok)
        emit(&g, OP_RET, 0, 0, 0, 0);
    end(&g);
    return ok && !p->failed;
}

/* ---- disassembler ---- */

const char *const eq_opcode_names[OP__COUNT] = {
#define EQ_OP_NAME(name, fmt, effect) #name,
    EQ_OPCODES(EQ_OP_NAME)
#undef EQ_OP_NAME
};

static const char *const op_formats[OP__COUNT] = {
#define EQ_OP_FMT(name, fmt, effect) fmt,
    EQ_OPCODES(EQ_OP_FMT)
#undef EQ_OP_FMT
};

static int show_value(char *o, size_t room, const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_NULL: return snprintf(o, room, "null");
    case EQLITE_BOOL: return snprintf(o, room, v->u.b ? "true" : "false");
    case EQLITE_INT: return snprintf(o, room, "%lld", (long long)v->u.i);
    case EQLITE_DOUBLE: return snprintf(o, room, "%.17g", v->u.d);
    case EQLITE_STRING: return snprintf(o, room, "\"%.*s\"", (int)(v->len > 60 ? 60 : v->len), v->u.s);
    default: return snprintf(o, room, "?");
    }
}

static void field_name(const eqlite_program *prog, uint32_t id, char *o, size_t room)
{
    if (id == EQ_TS_FIELD) {
        snprintf(o, room, "@timestamp");
        return;
    }
    const char *name = eqlite_schema_field_name(prog->schema, id, NULL);
    snprintf(o, room, "%s", name ? name : "?");
}

static const char *const cmp_spelling[] = {"==", "!=", "<", "<=", ">", ">="}; /* eq_cmp_op */
static const char *const arith_spelling[] = {"+", "-", "*", "/", "%"};         /* eq_arith_op */

size_t eq_disassemble(const eqlite_program *prog, char *buf, size_t cap)
{
    eq_strbuf ob = eq_strbuf_bounded(buf, cap);
    for (uint32_t t = 0; t < prog->nterms; t++)
        eq_strbuf_printf(&ob, "; term %u: filter @%u keys @%u (%u)%s\n", t, prog->terms[t].filter_pc,
                         prog->terms[t].keys_pc, prog->terms[t].nkeys, prog->terms[t].missing ? " missing" : "");
    for (uint32_t pc = 0; pc < prog->ncode; pc++) {
        const eq_instr *in = &prog->code[pc];
        eq_strbuf_printf(&ob, "%4u  %-11s", pc, eq_opcode_names[in->op]);
        char name[128], val[96];
        for (const char *f = op_formats[in->op]; *f; f++) {
            switch (*f) {
            case 'F': field_name(prog, in->a, name, sizeof name); eq_strbuf_printf(&ob, " %s", name); break;
            case 'K': show_value(val, sizeof val, &prog->consts[in->b]); eq_strbuf_printf(&ob, " %s", val); break;
            case 'P': {
                const eq_patterns *p = prog->patterns[in->b];
                eq_strbuf_printf(&ob, " patterns#%u(%s exact=%u prefix=%u suffix=%u contains=%u glob=%u regex=%u)",
                                 in->b, p->caseless ? "caseless" : "case", p->exact.n, p->prefix.n, p->suffix.n,
                                 p->contains.n, p->globs.n, p->nregex);
                break;
            }
            case 'L': eq_strbuf_printf(&ob, " ->%u", in->a); break;
            case 'v': eq_strbuf_printf(&ob, " %s", in->x == 1 ? "true" : in->x == 0 ? "false" : "null"); break;
            case 'c': eq_strbuf_printf(&ob, " %s", in->x < 6 ? cmp_spelling[in->x] : "?"); break;
            case 'a': eq_strbuf_printf(&ob, " %s", in->x < 5 ? arith_spelling[in->x] : "?"); break;
            case 'i': eq_strbuf_printf(&ob, "%s", in->x ? " caseless" : ""); break;
            case 'g': eq_strbuf_printf(&ob, "%s", in->x ? " guard" : ""); break;
            case 'n': eq_strbuf_printf(&ob, " n=%u", in->y); break;
            case 's': eq_strbuf_printf(&ob, " slot=%u", in->b); break;
            case 'S': eq_strbuf_printf(&ob, " slots=%u", in->y); break;
            case 'C':
                eq_strbuf_printf(&ob, " %s%s/%u", eq_functions[in->x & 0x7F].spelling, (in->x & 0x80) ? "~" : "",
                                 in->y);
                break;
            default: break;
            }
        }
        eq_strbuf_printf(&ob, "\n");
    }
    return ob.len;
}
