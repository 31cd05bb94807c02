/* vm.c: the bytecode interpreter. One accumulator holds the three-valued
 * result of conditions (0 false, 1 true, 2 null); a small value stack holds
 * operands. Dispatch is generated from the opcode list (computed goto on
 * GCC/clang, a switch elsewhere). Nothing here allocates per event once the
 * matcher's string chunks have grown to the rule's needs. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "functions.h"
#include "program.h"
#include "value.h"

enum { F = 0, T = 1, N = 2 };

struct eq_chunk {
    eq_chunk *next;
    size_t used, cap;
    char data[];
};

static const eqlite_value null_value;

bool eq_vm_init(eqlite_matcher *m, const eqlite_program *prog, const eqlite_allocator *alloc)
{
    memset(m, 0, sizeof *m);
    m->program = prog;
    m->alloc = alloc;
    m->scratch.alloc = alloc;
    m->scratch.regex = eq_regex_scratch_new();
    return eq_vm_reserve(m, prog) && m->scratch.regex;
}

bool eq_vm_reserve(eqlite_matcher *m, const eqlite_program *prog)
{
    uint32_t slots = prog && prog->max_stack ? prog->max_stack : 1;
    if (slots > m->stack_cap) {
        /* Exactly the slots asked for: AddressSanitizer then checks codegen's count. */
        eqlite_value *s = eq_realloc(m->alloc, m->stack, slots * sizeof *s);
        if (!s)
            return false;
        m->stack = s;
        m->stack_cap = slots;
    }
    uint32_t elems = prog ? prog->max_elem_slots : 0;
    if (elems > m->elem.cap) {
        uint32_t *at = eq_realloc(m->alloc, m->elem.at, elems * sizeof *at);
        if (!at)
            return false;
        m->elem.at = at;
        uint32_t *n = eq_realloc(m->alloc, m->elem.n, elems * sizeof *n);
        if (!n)
            return false;
        m->elem.n = n;
        memset(at + m->elem.cap, 0, (elems - m->elem.cap) * sizeof *at);
        memset(n + m->elem.cap, 0, (elems - m->elem.cap) * sizeof *n);
        m->elem.cap = elems;
    }
    return true;
}

void eq_vm_release(eqlite_matcher *m)
{
    eq_chunk *c = m->chunks;
    while (c) {
        eq_chunk *next = c->next;
        eq_free(m->alloc, c);
        c = next;
    }
    m->chunks = m->chunk_cur = NULL;
    eq_free(m->alloc, m->scratch.buf);
    m->scratch.buf = NULL;
    eq_regex_scratch_free(m->scratch.regex);
    m->scratch.regex = NULL;
    eq_free(m->alloc, m->stack);
    eq_free(m->alloc, m->elem.at);
    eq_free(m->alloc, m->elem.n);
    m->stack = NULL;
    m->stack_cap = 0;
    m->elem.at = m->elem.n = NULL;
    m->elem.cap = 0;
}

void eq_vm_reset(eqlite_matcher *m)
{
    for (eq_chunk *c = m->chunks; c; c = c->next)
        c->used = 0;
    m->chunk_cur = m->chunks;
}

char *eq_vm_alloc_string(eqlite_matcher *m, size_t n)
{
    for (eq_chunk *c = m->chunk_cur; c; c = c->next) {
        if (c->cap - c->used >= n + 1) {
            char *p = c->data + c->used;
            c->used += n + 1;
            m->chunk_cur = c;
            return p;
        }
    }
    size_t cap = n + 1 > 4096 ? n + 1 : 4096;
    eq_chunk *c = eq_malloc(m->alloc, sizeof *c + cap);
    if (!c) {
        m->scratch.error = EQLITE_ENOMEM; /* the caller's null is not an answer */
        return NULL;
    }
    c->cap = cap;
    c->used = n + 1;
    c->next = NULL;
    /* append so earlier chunks are reused first after a reset */
    eq_chunk **tail = &m->chunks;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    m->chunk_cur = c;
    return c->data;
}

static inline const eqlite_value *field_at(const eqlite_event *ev, uint32_t id)
{
    return id < ev->nfields ? &ev->fields[id] : &null_value;
}

static inline bool is_missing(const eqlite_value *v)
{
    return v->kind == EQLITE_NULL || (v->kind == EQLITE_ARRAY && v->len == 0);
}

/* Functions read one value of a multi-valued field: the first. */
static inline const eqlite_value *scalar(const eqlite_value *v)
{
    if (v->kind == EQLITE_ARRAY)
        return v->len ? &v->u.a[0] : &null_value;
    return v;
}

/* Applies a per-element test with "any element" semantics. */
#define ANY_ELEMENT(v, TEST)                                                                       \
    do {                                                                                           \
        if ((v)->kind != EQLITE_ARRAY) {                                                           \
            const eqlite_value *e_ = (v);                                                          \
            acc = e_->kind == EQLITE_NULL ? N : (TEST);                                            \
        } else {                                                                                   \
            int r_ = N;                                                                            \
            for (uint32_t i_ = 0; i_ < (v)->len; i_++) {                                           \
                const eqlite_value *e_ = &(v)->u.a[i_];                                            \
                if (e_->kind == EQLITE_NULL)                                                       \
                    continue;                                                                      \
                r_ = (TEST);                                                                       \
                if (r_ == T)                                                                       \
                    break;                                                                         \
            }                                                                                      \
            acc = r_;                                                                              \
        }                                                                                          \
    } while (0)

/* Byte equality inlined for the short strings rules compare (names, OS
 * types, actions): a libc memcmp call costs more than the compare itself. */
static inline bool bytes_equal(const char *a, const char *b, size_t n)
{
    uint64_t x, y, u, v;
    uint32_t p, q, r, t;
    if (n >= 8 && n <= 16) { /* two overlapping 8-byte words */
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        memcpy(&u, a + n - 8, 8);
        memcpy(&v, b + n - 8, 8);
        return ((x ^ y) | (u ^ v)) == 0;
    }
    if (n >= 4 && n < 8) {
        memcpy(&p, a, 4);
        memcpy(&q, b, 4);
        memcpy(&r, a + n - 4, 4);
        memcpy(&t, b + n - 4, 4);
        return ((p ^ q) | (r ^ t)) == 0;
    }
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return false;
        return true;
    }
    return memcmp(a, b, n) == 0;
}

static inline int str_eq(const eqlite_value *e, const eqlite_value *k)
{
    return e->kind == EQLITE_STRING && e->len == k->len && bytes_equal(e->u.s, k->u.s, k->len) ? T : F;
}

/* ASCII lower case of 8 (or 4) bytes known to be ASCII: bytes in 'A'..'Z'
 * get 0x20 added (no carries cross bytes below 0x80). */
static inline uint64_t ascii_lower64(uint64_t x)
{
    uint64_t ge_a = x + 0x3f3f3f3f3f3f3f3fULL, gt_z = x + 0x2525252525252525ULL;
    return x | ((ge_a & ~gt_z & 0x8080808080808080ULL) >> 2);
}

static inline uint32_t ascii_lower32(uint32_t x)
{
    uint32_t ge_a = x + 0x3f3f3f3fu, gt_z = x + 0x25252525u;
    return x | ((ge_a & ~gt_z & 0x80808080u) >> 2);
}

/* The general case of str_eq_fold, out of line. */
static __attribute__((noinline)) int str_eq_fold_slow(const eqlite_value *e, const eqlite_value *k)
{
    const unsigned char *s = (const unsigned char *)e->u.s, *t = (const unsigned char *)k->u.s;
    size_t n = e->len < k->len ? e->len : k->len;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c >= 0x80)
            return eq_equals_fold(e->u.s, e->len, k->u.s, k->len) ? T : F;
        if (c - 'A' < 26u)
            c += 32;
        if (c != t[i])
            return F;
    }
    if (e->len == k->len)
        return T;
    if (eq_is_ascii(e->u.s + n, e->len - n))
        return F; /* an ASCII subject folds to its own length */
    return eq_equals_fold(e->u.s, e->len, k->u.s, k->len) ? T : F;
}

/* `k` is folded at compile time. While the subject is ASCII its fold is its
 * ASCII lower case, byte for byte, so an ASCII subject of k's length is
 * lowered a word at a time and compared; an ASCII subject of another length
 * cannot match, and the first differing ASCII byte decides that; non-ASCII
 * subjects take the full fold. */
/* The quick decisions of a caseless compare against a folded constant:
 * same-length ASCII words lower-cased a word at a time, or a differing ASCII
 * first byte. T/F, or -1 when only the full fold can tell. */
static inline int fold_quick(const char *s, size_t n, const char *t, size_t tn)
{
    if (n == tn && n >= 4 && n <= 16) {
        if (n >= 8) {
            uint64_t x, y, u, v;
            memcpy(&x, s, 8);
            memcpy(&u, s + n - 8, 8);
            if (((x | u) & 0x8080808080808080ULL) == 0) {
                memcpy(&y, t, 8);
                memcpy(&v, t + n - 8, 8);
                return ((ascii_lower64(x) ^ y) | (ascii_lower64(u) ^ v)) == 0 ? T : F;
            }
        } else {
            uint32_t x, y, u, v;
            memcpy(&x, s, 4);
            memcpy(&u, s + n - 4, 4);
            if (((x | u) & 0x80808080u) == 0) {
                memcpy(&y, t, 4);
                memcpy(&v, t + n - 4, 4);
                return ((ascii_lower32(x) ^ y) | (ascii_lower32(u) ^ v)) == 0 ? T : F;
            }
        }
    } else if (n && tn) { /* the usual mismatch: an ASCII first byte that differs */
        unsigned c = (unsigned char)s[0];
        if (c < 0x80 && (c - 'A' < 26u ? c + 32 : c) != (unsigned char)t[0])
            return F;
    }
    return -1;
}

static inline int str_eq_fold(const eqlite_value *e, const eqlite_value *k)
{
    if (e->kind != EQLITE_STRING)
        return F;
    int r = fold_quick(e->u.s, e->len, k->u.s, k->len);
    return r >= 0 ? r : str_eq_fold_slow(e, k);
}

/* Any element of v (scalar or array) equals k: T, else F if some element is
 * not null, else N (ANY_ELEMENT's rules). */
static __attribute__((noinline)) int any_str_eq_general(const eqlite_value *v, const eqlite_value *k, bool fold)
{
    if (v->kind != EQLITE_ARRAY)
        return v->kind == EQLITE_NULL ? N : v->kind == EQLITE_STRING ? (fold ? str_eq_fold(v, k) : str_eq(v, k)) : F;
    int r = N;
    for (uint32_t i = 0; i < v->len; i++) {
        const eqlite_value *e = &v->u.a[i];
        if (e->kind == EQLITE_NULL)
            continue;
        if ((fold ? str_eq_fold(e, k) : str_eq(e, k)) == T)
            return T;
        r = F;
    }
    return r;
}

/* The same, inline for a string or a one-element array of a string (a
 * lone element decides alone: the same answer as the element loop). */
static inline int any_str_eq(const eqlite_value *v, const eqlite_value *k, bool fold)
{
    const eqlite_value *e = v;
    if (e->kind == EQLITE_ARRAY && e->len == 1)
        e = e->u.a;
    if (e->kind == EQLITE_STRING)
        return fold ? str_eq_fold(e, k) : str_eq(e, k);
    return any_str_eq_general(v, k, fold);
}

static inline int order_result(int c, unsigned op)
{
    switch (op) {
    case CMP_EQ: return c == 0 ? T : F;
    case CMP_NE: return c != 0 ? T : F;
    case CMP_LT: return c < 0 ? T : F;
    case CMP_LE: return c <= 0 ? T : F;
    case CMP_GT: return c > 0 ? T : F;
    default: return c >= 0 ? T : F; /* CMP_GE */
    }
}

/* A date-typed value as an INT of nanoseconds. */
static bool as_date(const eqlite_value *v, eqlite_value *out)
{
    out->kind = EQLITE_INT;
    out->len = 0;
    return eq_value_date_ns(v, &out->u.i);
}

/* How F_CMP compares a field with its constant (instruction's y). */
enum { CMP_PLAIN = 0, CMP_DATES = 1, CMP_VERSIONS = 2, CMP_IPS = 3 };

static inline int compare_one(eqlite_matcher *m, const eqlite_value *e, const eqlite_value *k, unsigned op,
                              unsigned mode)
{
    eqlite_value d;
    int c;
    if (mode == CMP_DATES) {
        if (!as_date(e, &d))
            return N;
        e = &d;
    } else if (mode == CMP_VERSIONS && e->kind == EQLITE_STRING && k->kind == EQLITE_STRING) {
        if (!eq_version_compare(e->u.s, e->len, k->u.s, k->len, &c)) {
            m->scratch.error = EQLITE_ENOMEM;
            return F;
        }
        return order_result(c, op);
    } else if (mode == CMP_IPS && e->kind == EQLITE_STRING && k->kind == EQLITE_STRING) {
        /* InetAddressPoint order: 16 bytes, IPv4 as ::ffff:a.b.c.d */
        uint8_t ea[16], ka[16];
        if (!eq_ip_parse(e->u.s, e->len, ea) || !eq_ip_parse(k->u.s, k->len, ka))
            return N;
        return order_result(memcmp(ea, ka, 16), op);
    }
    if (!eq_value_compare(e, k, &c))
        return op == 0 ? F : N;
    return order_result(c, op);
}

static int in_list(const eqlite_value *e, const eqlite_value *list, unsigned n, bool caseless)
{
    for (unsigned k = 0; k < n; k++) {
        const eqlite_value *x = &list[k];
        if (x->kind == EQLITE_STRING && e->kind == EQLITE_STRING) {
            if (caseless ? eq_equals_fold(e->u.s, e->len, x->u.s, x->len)
                         : (e->len == x->len && memcmp(e->u.s, x->u.s, x->len) == 0))
                return T;
            continue;
        }
        int c;
        if (eq_value_compare(e, x, &c) && c == 0)
            return T;
    }
    return F;
}

/* ---- arithmetic with Java semantics ---- */

/* Elasticsearch's ql Arithmetics: integral operands use Math.addExact,
 * subtractExact, multiplyExact and negateExact (in int when both operands are
 * Java ints, e.g. literals that fit 32 bits, else in long), and integral / or %
 * by zero throws; each ArithmeticException fails the query. Here the value is
 * null and the scratch error makes the API call return EQLITE_EARITH. */
static eqlite_value arith_error(eq_scratch *sc, const char *why)
{
    if (sc->error == EQLITE_OK) {
        sc->error = EQLITE_EARITH;
        sc->why = why;
    }
    return (eqlite_value){0};
}

static eqlite_value arith(eq_scratch *sc, const eqlite_value *a, const eqlite_value *b, unsigned op,
                          bool java_int)
{
    eqlite_value r = {0};
    a = scalar(a);
    b = scalar(b);
    bool ai = a->kind == EQLITE_INT, bi = b->kind == EQLITE_INT;
    if ((!ai && a->kind != EQLITE_DOUBLE) || (!bi && b->kind != EQLITE_DOUBLE))
        return r;
    if (ai && bi) {
        int64_t x = a->u.i, y = b->u.i, z = 0;
        bool over = false;
        r.kind = EQLITE_INT;
        switch (op) {
        case AR_ADD: over = __builtin_add_overflow(x, y, &z); break;
        case AR_SUB: over = __builtin_sub_overflow(x, y, &z); break;
        case AR_MUL: over = __builtin_mul_overflow(x, y, &z); break;
        default: /* AR_DIV, AR_MOD */
            if (y == 0)
                return arith_error(sc, "/ by zero");
            if (y == -1) /* Java: MIN / -1 is MIN (of int or long), MIN % -1 is 0 */
                z = op == AR_MOD ? 0 : x == (java_int ? INT32_MIN : INT64_MIN) ? x : -x;
            else
                z = op == AR_DIV ? x / y : x % y; /* C truncates like Java */
            break;
        }
        if (java_int && !over && op <= AR_MUL)
            over = z < INT32_MIN || z > INT32_MAX;
        if (over)
            return arith_error(sc, java_int ? "integer overflow" : "long overflow");
        r.u.i = z;
        return r;
    }
    double x = ai ? (double)a->u.i : a->u.d, y = bi ? (double)b->u.i : b->u.d;
    r.kind = EQLITE_DOUBLE;
    switch (op) {
    case AR_ADD: r.u.d = x + y; break;
    case AR_SUB: r.u.d = x - y; break;
    case AR_MUL: r.u.d = x * y; break;
    case AR_DIV: r.u.d = x / y; break;
    default: r.u.d = fmod(x, y); break; /* AR_MOD */
    }
    return r;
}

/* Arithmetics.negate: negateExact for integral values; for doubles it
 * refuses Double.MIN_VALUE (the smallest positive double, as written). */
static eqlite_value negate(eq_scratch *sc, const eqlite_value *v, bool java_int)
{
    v = scalar(v);
    if (v->kind == EQLITE_INT) {
        if (v->u.i == (java_int ? INT32_MIN : INT64_MIN))
            return arith_error(sc, java_int ? "integer overflow" : "long overflow");
        return (eqlite_value){EQLITE_INT, 0, {.i = -v->u.i}};
    }
    if (v->kind == EQLITE_DOUBLE) {
        if (v->u.d == DBL_TRUE_MIN)
            return arith_error(sc, "double overflow");
        return (eqlite_value){EQLITE_DOUBLE, 0, {.d = -v->u.d}};
    }
    return (eqlite_value){0};
}

/* ---- functions ---- */

static eqlite_value str_value(const char *s, size_t n)
{
    eqlite_value v = {EQLITE_STRING, (uint32_t)n, {.s = s}};
    return v;
}

static eqlite_value bool_value(bool b)
{
    eqlite_value v = {EQLITE_BOOL, 0, {.b = b}};
    return v;
}

static eqlite_value int_value(int64_t i)
{
    eqlite_value v = {EQLITE_INT, 0, {.i = i}};
    return v;
}

/* Text of a scalar for concat()/string(); NULL for null. */
static const char *text_of(eqlite_matcher *m, const eqlite_value *v, size_t *n)
{
    char tmp[40];
    switch (v->kind) {
    case EQLITE_STRING: *n = v->len; return v->u.s;
    case EQLITE_BOOL: *n = v->u.b ? 4 : 5; return v->u.b ? "true" : "false";
    case EQLITE_INT: *n = eq_format_int(v->u.i, tmp); break;
    case EQLITE_DOUBLE: *n = eq_format_double(v->u.d, tmp); break;
    default: return NULL;
    }
    char *s = eq_vm_alloc_string(m, *n);
    if (s)
        memcpy(s, tmp, *n);
    return s;
}

static bool is_str(const eqlite_value *v) { return v->kind == EQLITE_STRING; }

static eqlite_value call(eqlite_matcher *m, unsigned fnx, eqlite_value *args, unsigned argc, uint32_t aux)
{
    eqlite_value null = {0};
    unsigned fn = fnx & 0x7F;
    bool caseless = (fnx & 0x80) != 0;
    const eqlite_value *a[4] = {NULL, NULL, NULL, NULL};
    for (unsigned k = 0; k < argc && k < 4; k++)
        a[k] = scalar(&args[k]);
    switch ((eq_function)fn) {
    /* aux: both operands are Java ints (codegen's java_int) */
    case FN_ADD: return arith(&m->scratch, a[0], a[1], 0, aux);
    case FN_SUBTRACT: return arith(&m->scratch, a[0], a[1], 1, aux);
    case FN_MULTIPLY: return arith(&m->scratch, a[0], a[1], 2, aux);
    case FN_DIVIDE: return arith(&m->scratch, a[0], a[1], 3, aux);
    case FN_MODULO: return arith(&m->scratch, a[0], a[1], 4, aux);
    case FN_BETWEEN: {
        if (!is_str(a[0]) || !is_str(a[1]) || !is_str(a[2]))
            return null;
        bool greedy = argc == 4 && a[3]->kind == EQLITE_BOOL && a[3]->u.b;
        size_t from, len;
        if (!eq_str_between(a[0]->u.s, a[0]->len, a[1]->u.s, a[1]->len, a[2]->u.s, a[2]->len, greedy, caseless, &from,
                            &len))
            return null;
        return str_value(a[0]->u.s + from, len);
    }
    case FN_CIDRMATCH: {
        const eq_cidr_set *set = &m->program->cidrs[aux];
        const eqlite_value *v = &args[0];
        uint32_t n = v->kind == EQLITE_ARRAY ? v->len : 1;
        const eqlite_value *items = v->kind == EQLITE_ARRAY ? v->u.a : v;
        bool any_value = false;
        for (uint32_t i = 0; i < n; i++) {
            uint8_t ip[16];
            if (!is_str(&items[i]))
                continue;
            any_value = true;
            if (!eq_ip_parse(items[i].u.s, items[i].len, ip))
                continue;
            for (uint32_t k = 0; k < set->n; k++)
                if (eq_cidr_contains(&set->items[k], ip))
                    return bool_value(true);
        }
        return any_value ? bool_value(false) : null;
    }
    case FN_CONCAT: {
        size_t total = 0, lens[64];
        const char *parts[64];
        if (argc > 64)
            return null;
        for (unsigned k = 0; k < argc; k++) {
            parts[k] = text_of(m, scalar(&args[k]), &lens[k]);
            if (!parts[k])
                return null;
            total += lens[k];
        }
        char *s = eq_vm_alloc_string(m, total);
        if (!s)
            return null;
        size_t o = 0;
        for (unsigned k = 0; k < argc; k++) {
            memcpy(s + o, parts[k], lens[k]);
            o += lens[k];
        }
        return str_value(s, total);
    }
    case FN_ENDSWITH:
    case FN_STARTSWITH:
    case FN_STRINGCONTAINS: {
        if (!is_str(a[0]) || !is_str(a[1]))
            return null;
        bool r = fn == FN_ENDSWITH     ? eq_str_ends_with(a[0]->u.s, a[0]->len, a[1]->u.s, a[1]->len, caseless)
                 : fn == FN_STARTSWITH ? eq_str_starts_with(a[0]->u.s, a[0]->len, a[1]->u.s, a[1]->len, caseless)
                                       : eq_str_contains(a[0]->u.s, a[0]->len, a[1]->u.s, a[1]->len, caseless);
        return bool_value(r);
    }
    case FN_INDEXOF: {
        if (!is_str(a[0]) || !is_str(a[1]))
            return null;
        int64_t start = 0;
        if (argc == 3 && a[2]->kind == EQLITE_INT)
            start = a[2]->u.i;
        else if (argc == 3 && a[2]->kind != EQLITE_NULL)
            return null;
        int64_t r = eq_str_index_of(a[0]->u.s, a[0]->len, a[1]->u.s, a[1]->len, start, caseless);
        return r < 0 ? null : int_value(r);
    }
    case FN_LENGTH: return is_str(a[0]) ? int_value(eq_str_length(a[0]->u.s, a[0]->len)) : null;
    case FN_NUMBER: {
        if (!is_str(a[0]))
            return null;
        int base = 0;
        if (argc == 2 && a[1]->kind == EQLITE_INT)
            base = (int)a[1]->u.i;
        eqlite_value r;
        return eq_str_to_number(a[0]->u.s, a[0]->len, base, &r) ? r : null;
    }
    case FN_STRING: {
        size_t n;
        const char *s = text_of(m, a[0], &n);
        return s ? str_value(s, n) : null;
    }
    case FN_SUBSTRING: {
        if (!is_str(a[0]))
            return null;
        int64_t start = a[1]->kind == EQLITE_INT ? a[1]->u.i : 0;
        bool has_end = argc == 3 && a[2]->kind == EQLITE_INT;
        size_t from, len;
        eq_str_substring(a[0]->u.s, a[0]->len, start, has_end, has_end ? a[2]->u.i : 0, &from, &len);
        return str_value(a[0]->u.s + from, len);
    }
    default: return null;
    }
}

/* ---- the interpreter ---- */

#if defined(__GNUC__) /* labels as values: a GNU extension, for this function only */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#define EQ_COMPUTED_GOTO 1
#endif

static __attribute__((noinline)) int run(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev, uint32_t *nvalues)
{
    const eqlite_program *prog = m->program;
    const eq_instr *ip = prog->code + pc;
    const eqlite_value *consts = prog->consts;
    eqlite_value *sp = m->stack; /* next free slot */
    int acc = N;

#ifdef EQ_COMPUTED_GOTO
    static const void *const dispatch[OP__COUNT] = {
#define EQ_OP_LABEL(name, fmt, effect) &&L_##name,
        EQ_OPCODES(EQ_OP_LABEL)
#undef EQ_OP_LABEL
    };
#define vmdispatch() goto *dispatch[ip->op]
#define vmcase(name) L_##name:
#define vmbreak                                                                                    \
    do {                                                                                           \
        ip++;                                                                                      \
        goto *dispatch[ip->op];                                                                    \
    } while (0)
#define vmjump(target)                                                                             \
    do {                                                                                           \
        ip = prog->code + (target);                                                                \
        goto *dispatch[ip->op];                                                                    \
    } while (0)
/* A field test is nearly always followed by JNT (and-chains); taking that
 * jump here saves a dispatch, the costliest part of a short test. */
#define vmbreak_test                                                                               \
    do {                                                                                           \
        if (ip[1].op == OP_JNT) {                                                                  \
            if (acc != T)                                                                          \
                vmjump(ip[1].a);                                                                   \
            ip += 2;                                                                               \
            goto *dispatch[ip->op];                                                                \
        }                                                                                          \
        vmbreak;                                                                                   \
    } while (0)
    vmdispatch();
#else
#define vmcase(name) case OP_##name:
#define vmbreak                                                                                    \
    ip++;                                                                                          \
    continue
#define vmjump(target)                                                                             \
    ip = prog->code + (target);                                                                    \
    continue
#define vmbreak_test vmbreak
    for (;;)
        switch ((eq_opcode)ip->op) {
#endif
    vmcase(RET)
    {
        if (nvalues)
            *nvalues = (uint32_t)(sp - m->stack);
        return acc;
    }
    vmcase(JUMP) { vmjump(ip->a); }
    vmcase(JF)
    {
        if (acc == F)
            vmjump(ip->a);
        vmbreak;
    }
    vmcase(JNT)
    {
        if (acc != T)
            vmjump(ip->a);
        vmbreak;
    }
    vmcase(JT)
    {
        if (acc == T)
            vmjump(ip->a);
        vmbreak;
    }
    vmcase(SET_ACC)
    {
        acc = ip->x;
        vmbreak;
    }
    vmcase(NOT)
    {
        acc = acc == N ? N : !acc;
        vmbreak;
    }
    vmcase(PUSH_ACC)
    {
        sp->len = 0;
        if (acc == N) {
            sp->kind = EQLITE_NULL;
        } else {
            sp->kind = EQLITE_BOOL;
            sp->u.b = acc;
        }
        sp++;
        vmbreak;
    }
    vmcase(AND3)
    {
        int l = (--sp)->kind == EQLITE_NULL ? N : sp->u.b;
        acc = (l == F || acc == F) ? F : (l == N || acc == N) ? N : T;
        vmbreak;
    }
    vmcase(OR3)
    {
        int l = (--sp)->kind == EQLITE_NULL ? N : sp->u.b;
        acc = (l == T || acc == T) ? T : (l == N || acc == N) ? N : F;
        vmbreak;
    }
    vmcase(TRUTH)
    {
        const eqlite_value *v = scalar(--sp);
        acc = v->kind == EQLITE_BOOL ? (v->u.b ? T : F) : v->kind == EQLITE_NULL ? N : F;
        vmbreak;
    }
    vmcase(LOAD_FIELD)
    {
        *sp++ = *field_at(ev, ip->a);
        vmbreak;
    }
    vmcase(LOAD_TS)
    {
        sp->kind = EQLITE_INT;
        sp->len = 0;
        sp->u.i = ev->timestamp;
        sp++;
        vmbreak;
    }
    vmcase(LOAD_CONST)
    {
        *sp++ = consts[ip->b];
        vmbreak;
    }
    vmcase(CMP)
    {
        sp -= 2;
        const eqlite_value *a = &sp[0], *b = scalar(&sp[1]);
        unsigned op = ip->x;
        if ((ip->y & 2) && (is_missing(a) || b->kind == EQLITE_NULL))
            acc = (is_missing(a) && b->kind == EQLITE_NULL) == (op == 0) ? T : F; /* nulls compare equal */
        else if (b->kind == EQLITE_NULL)
            acc = N;
        else
            ANY_ELEMENT(a, compare_one(m, e_, b, op, CMP_PLAIN));
        vmbreak;
    }
    vmcase(IS_NULL)
    {
        acc = is_missing(--sp) ? T : F;
        vmbreak;
    }
    vmcase(NOT_NULL)
    {
        acc = is_missing(--sp) ? F : T;
        vmbreak;
    }
    vmcase(IN)
    {
        const eqlite_value *v = --sp;
        ANY_ELEMENT(v, in_list(e_, consts + ip->b, ip->y, ip->x));
        vmbreak;
    }
    vmcase(MATCH)
    {
        const eqlite_value *v = --sp;
        const eq_patterns *pat = prog->patterns[ip->b];
        ANY_ELEMENT(v, e_->kind == EQLITE_STRING && eq_patterns_match(pat, e_->u.s, e_->len, &m->scratch) ? T : F);
        vmbreak;
    }
    vmcase(ARITH)
    {
        sp--;
        sp[-1] = arith(&m->scratch, &sp[-1], &sp[0], ip->x, ip->y);
        vmbreak;
    }
    vmcase(NEG)
    {
        sp[-1] = negate(&m->scratch, &sp[-1], ip->y);
        vmbreak;
    }
    vmcase(CALL)
    {
        sp -= ip->y;
        *sp = call(m, ip->x, sp, ip->y, ip->b);
        sp++;
        vmbreak;
    }
    vmcase(F_IS_NULL)
    {
        acc = is_missing(field_at(ev, ip->a)) ? T : F;
        vmbreak_test;
    }
    vmcase(F_NOT_NULL)
    {
        acc = is_missing(field_at(ev, ip->a)) ? F : T;
        vmbreak_test;
    }
    vmcase(F_STR_EQ)
    {
        acc = any_str_eq(field_at(ev, ip->a), &consts[ip->b], false);
        vmbreak_test;
    }
    vmcase(F_STR_EQ_I)
    {
        acc = any_str_eq(field_at(ev, ip->a), &consts[ip->b], true);
        vmbreak_test;
    }
    vmcase(F_MATCH)
    {
        const eqlite_value *v = field_at(ev, ip->a);
        const eq_patterns *pat = prog->patterns[ip->b];
        if (v->kind == EQLITE_STRING)
            acc = eq_patterns_match(pat, v->u.s, v->len, &m->scratch) ? T : F;
        else
            ANY_ELEMENT(v, e_->kind == EQLITE_STRING && eq_patterns_match(pat, e_->u.s, e_->len, &m->scratch) ? T : F);
        vmbreak_test;
    }
    vmcase(F_CMP)
    {
        const eqlite_value *k = &consts[ip->b];
        unsigned op = ip->x;
        if (ip->a == EQ_TS_FIELD) {
            eqlite_value ts = int_value(ev->timestamp);
            acc = compare_one(m, &ts, k, op, CMP_PLAIN);
        } else {
            const eqlite_value *v = field_at(ev, ip->a);
            ANY_ELEMENT(v, compare_one(m, e_, k, op, ip->y));
        }
        vmbreak_test;
    }
    vmcase(F_IN)
    {
        const eqlite_value *v;
        eqlite_value ts;
        if (ip->a == EQ_TS_FIELD) {
            ts = int_value(ev->timestamp);
            v = &ts;
        } else {
            v = field_at(ev, ip->a);
        }
        ANY_ELEMENT(v, in_list(e_, consts + ip->b, ip->y, ip->x));
        vmbreak_test;
    }
    vmcase(LOAD_ELEM)
    {
        const eqlite_value *v = field_at(ev, ip->a);
        uint32_t k = ip->b;
        if (v->kind != EQLITE_ARRAY) {
            m->elem.n[k] = 1;
            *sp++ = *v;
        } else {
            m->elem.n[k] = v->len;
            *sp++ = v->len ? v->u.a[m->elem.at[k] < v->len ? m->elem.at[k] : 0] : null_value;
        }
        vmbreak;
    }
    vmcase(NEXT_ELEM)
    {
        int any = (acc == T || m->elem.acc == T) ? T : (acc == N || m->elem.acc == N) ? N : F;
        uint32_t k = 0, slots = ip->y;
        if (any != T)
            for (; k < slots; k++) {
                if (++m->elem.at[k] < m->elem.n[k])
                    break;
                m->elem.at[k] = 0;
            }
        if (any != T && k < slots) {
            if (++m->elem.choices < EQ_ELEM_CHOICES) {
                m->elem.acc = any;
                vmjump(ip->a);
            }
            if (!m->scratch.error)
                m->scratch.error = EQLITE_ELIMIT; /* undecided: not an answer */
            any = N;
        }
        for (k = 0; k < slots; k++)
            m->elem.at[k] = m->elem.n[k] = 0;
        m->elem.choices = 0;
        m->elem.acc = F;
        acc = any;
        vmbreak;
    }
#ifndef EQ_COMPUTED_GOTO
        default: return N;
        }
#endif
}
#ifdef EQ_COMPUTED_GOTO
#pragma GCC diagnostic pop
#endif

/* The leading conjuncts of most rules are string equality tests, each
 * followed by JNT to a RET (the category test, then `field == "literal"` /
 * `field : "literal"` and-chains); codegen marks them with x = 1 (see
 * opcodes.h). They run here, in a small loop, before entering the
 * interpreter: most events fail one of them and never pay for the
 * interpreter's frame. Each step does exactly what the interpreter would
 * (the same test, then JNT's jump to RET returns acc), so results cannot
 * differ; at the first unmarked instruction the interpreter takes over. */
static inline __attribute__((always_inline)) int run_guarded(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev)
{
    const eqlite_program *prog = m->program;
    const eq_instr *ip = prog->code + pc;
    for (;; ip += 2) {
        int acc;
        if (ip->x == 0)
            break;
        if (ip->op == OP_F_STR_EQ)
            acc = any_str_eq(field_at(ev, ip->a), &prog->consts[ip->b], false);
        else if (ip->op == OP_F_STR_EQ_I)
            acc = any_str_eq(field_at(ev, ip->a), &prog->consts[ip->b], true);
        else
            break;
        if (acc != T)
            return acc;
    }
    return run(m, (uint32_t)(ip - prog->code), ev, NULL);
}

int eq_vm_run(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev) { return run_guarded(m, pc, ev); }

/* Decides the guard at ip (F_STR_EQ / F_STR_EQ_I) without calling
 * anything, for the shapes events usually have: a string or a one-element
 * array of a string, a constant of at most 16 bytes, an ASCII subject.
 * Returns T/F/N as the instruction would, or -1 when it cannot tell cheaply. */
static inline int guard_fast(const eq_instr *ip, const eqlite_value *consts, const eqlite_event *ev)
{
    if (ip->a >= ev->nfields)
        return -1;
    const eqlite_value *e = &ev->fields[ip->a];
    if (e->kind == EQLITE_ARRAY && e->len == 1)
        e = e->u.a; /* a lone element decides alone */
    if (e->kind != EQLITE_STRING)
        return e->kind == EQLITE_NULL ? N : -1;
    const eqlite_value *k = &consts[ip->b];
    size_t n = k->len;
    if (ip->op == OP_F_STR_EQ) {
        if (e->len != n)
            return F;
        return n <= 16 ? (bytes_equal(e->u.s, k->u.s, n) ? T : F) : -1;
    }
    return fold_quick(e->u.s, e->len, k->u.s, n);
}

/* eqlite_match past the guards it could decide inline: the remaining
 * guards in general form, then the interpreter. */
static __attribute__((noinline)) eqlite_status match_rest(eqlite_matcher *m, const eq_instr *ip,
                                                          const eqlite_event *ev, int *matched)
{
    if (m->chunks) /* strings made by an earlier event; none for most rules */
        eq_vm_reset(m);
    int hit = run_guarded(m, (uint32_t)(ip - m->program->code), ev) == T;
    if (m->scratch.error) {
        *matched = 0;
        return eq_scratch_take_error(&m->scratch);
    }
    *matched = hit;
    m->stats.matches += (uint64_t)hit;
    return EQLITE_OK;
}

/* The public per-event entry point. Most events fail one of the rule's
 * leading guards; that path is a leaf: no frame, no call. */
eqlite_status eqlite_match(eqlite_matcher *m, const eqlite_event *ev, int *matched)
{
    if (!m || !eq_event_usable(ev) || !matched)
        return EQLITE_EMISUSE;
    const eqlite_program *prog = m->program;
    if (prog->kind != Q_EVENT)
        return EQLITE_EMISUSE;
    m->stats.events++;
    const eq_instr *ip = prog->code + prog->terms[0].filter_pc;
    while (ip->x == 1 && (ip->op == OP_F_STR_EQ || ip->op == OP_F_STR_EQ_I)) {
        int acc = guard_fast(ip, prog->consts, ev);
        if (acc < 0)
            break;
        if (acc != T) {
            *matched = 0;
            return EQLITE_OK;
        }
        ip += 2;
    }
    return match_rest(m, ip, ev, matched);
}

int eq_vm_run_values(eqlite_matcher *m, uint32_t pc, const eqlite_event *ev, uint32_t *nvalues)
{
    return run(m, pc, ev, nvalues);
}
