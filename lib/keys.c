/* keys.c: join keys. Values serialized to bytes (one tuple per combination
 * of multi-valued keys), so equality is memcmp and hashing is over bytes;
 * decoding, ordering (plain and by field type) and hashing of the tuples. */
#include <string.h>

#include "seq_internal.h"

/* ---- key serialization ------------------------------------------------------
 * One value: a tag byte, then 8 bytes (bool/int/double) or a u32 length and
 * the bytes. Doubles holding an integer are written as integers so that
 * 1 == 1.0 joins, as == would. */

enum { KT_NULL = 0, KT_BOOL = 1, KT_NUM_INT = 2, KT_NUM_DOUBLE = 3, KT_STRING = 4 };

static bool keyset_reserve(eqlite_matcher *m, eq_keyset *ks, size_t more)
{
    if (ks->len + more <= ks->cap)
        return true;
    size_t cap = ks->cap ? ks->cap * 2 : 256;
    while (cap < ks->len + more)
        cap *= 2;
    uint8_t *p = eq_realloc(m->alloc, ks->bytes, cap);
    if (!p)
        return false;
    ks->bytes = p;
    ks->cap = cap;
    return true;
}

static size_t key_value_size(const eqlite_value *v)
{
    return v->kind == EQLITE_STRING ? 5 + v->len : v->kind == EQLITE_NULL ? 1 : 9;
}

static void put_u64(uint8_t *p, uint64_t x) { memcpy(p, &x, 8); }

static uint8_t *key_put(uint8_t *p, const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_BOOL:
        *p++ = KT_BOOL;
        put_u64(p, v->u.b ? 1 : 0);
        return p + 8;
    case EQLITE_INT:
        *p++ = KT_NUM_INT;
        put_u64(p, (uint64_t)v->u.i);
        return p + 8;
    case EQLITE_DOUBLE: {
        double d = v->u.d;
        if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(int64_t)d) {
            *p++ = KT_NUM_INT;
            put_u64(p, (uint64_t)(int64_t)d);
        } else {
            *p++ = KT_NUM_DOUBLE;
            memcpy(p, &d, 8);
        }
        return p + 8;
    }
    case EQLITE_STRING: {
        *p++ = KT_STRING;
        uint32_t n = v->len;
        memcpy(p, &n, 4);
        if (n)
            memcpy(p + 4, v->u.s, n);
        return p + 4 + n;
    }
    default:
        *p++ = KT_NULL;
        return p;
    }
}

static bool same_key_value(const eqlite_value *a, const eqlite_value *b)
{
    uint8_t ba[9] = {0}, bb[9] = {0};
    if (a->kind == EQLITE_STRING || b->kind == EQLITE_STRING)
        return a->kind == b->kind && a->len == b->len &&
               (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
    key_put(ba, a);
    key_put(bb, b);
    return memcmp(ba, bb, 9) == 0;
}

/* The distinct non-null scalars of one key value, into out (cap entries). */
static size_t key_choices(const eqlite_value *v, const eqlite_value **out, size_t cap)
{
    if (v->kind != EQLITE_ARRAY) {
        if (v->kind == EQLITE_NULL)
            return 0;
        out[0] = v;
        return 1;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < v->len && n < cap; i++) {
        const eqlite_value *e = &v->u.a[i];
        if (e->kind == EQLITE_NULL || e->kind == EQLITE_ARRAY)
            continue;
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = same_key_value(out[j], e);
        if (!seen)
            out[n++] = e;
    }
    return n;
}

#define MAX_CHOICES 64

static const eqlite_value null_value;

eq_keys_status eq_keyset_build(eqlite_matcher *m, const eq_prog_term *term,
                               const eqlite_event *ev, eq_keyset *ks)
{
    ks->len = 0;
    ks->ncombos = 0;
    uint32_t nk = term->nkeys;
    if (nk == 0) {
        if (!ks->capoffs) {
            ks->offs = eq_malloc(m->alloc, 2 * sizeof(size_t));
            if (!ks->offs)
                return EQ_KEYS_NOMEM;
            ks->capoffs = 2;
        }
        ks->offs[0] = ks->offs[1] = 0;
        ks->ncombos = 1;
        return EQ_KEYS_OK;
    }
    uint32_t nv = 0;
    eq_vm_run_values(m, term->keys_pc, ev, &nv);
    if (nv < nk)
        return EQ_KEYS_NULL;
    const eqlite_value *choice[EQ_MAX_KEYS][MAX_CHOICES];
    size_t nchoice[EQ_MAX_KEYS];
    size_t combos = 1;
    for (uint32_t k = 0; k < nk; k++) {
        nchoice[k] = key_choices(&m->stack[k], choice[k], MAX_CHOICES);
        if (nchoice[k] == 0) {
            if (!term->key_optional[k])
                return EQ_KEYS_NULL;
            choice[k][0] = &null_value;
            nchoice[k] = 1;
        }
        combos *= nchoice[k];
        if (combos > EQ_MAX_KEY_COMBOS)
            combos = EQ_MAX_KEY_COMBOS;
    }
    if (ks->capoffs < combos + 1) {
        size_t *o = eq_realloc(m->alloc, ks->offs, (combos + 1) * sizeof(size_t));
        if (!o)
            return EQ_KEYS_NOMEM;
        ks->offs = o;
        ks->capoffs = combos + 1;
    }
    size_t idx[EQ_MAX_KEYS] = {0};
    ks->offs[0] = 0;
    for (size_t c = 0; c < combos; c++) {
        size_t need = 0;
        for (uint32_t k = 0; k < nk; k++)
            need += key_value_size(choice[k][idx[k]]);
        if (!keyset_reserve(m, ks, need))
            return EQ_KEYS_NOMEM;
        uint8_t *p = ks->bytes + ks->len;
        for (uint32_t k = 0; k < nk; k++)
            p = key_put(p, choice[k][idx[k]]);
        ks->len = (size_t)(p - ks->bytes);
        ks->offs[++ks->ncombos] = ks->len;
        /* odometer: the last key varies fastest */
        for (uint32_t k = nk; k-- > 0;) {
            if (++idx[k] < nchoice[k])
                break;
            idx[k] = 0;
        }
    }
    return EQ_KEYS_OK;
}

eqlite_status eq_keyset_collect(eqlite_matcher *m, const eq_prog_term *term, const eqlite_event *ev, eq_keyset *ks,
                                bool *dropped)
{
    eq_keys_status st = eq_keyset_build(m, term, ev, ks);
    if (st == EQ_KEYS_NULL)
        *dropped = true; /* and no tuples: ncombos is 0 */
    return st == EQ_KEYS_NOMEM ? EQLITE_ENOMEM : EQLITE_OK;
}

void eq_keyset_free(eqlite_matcher *m, eq_keyset *ks)
{
    eq_free(m->alloc, ks->bytes);
    eq_free(m->alloc, ks->offs);
    memset(ks, 0, sizeof *ks);
}

static const uint8_t *key_get(const uint8_t *p, eqlite_value *v)
{
    uint8_t tag = *p++;
    uint64_t x;
    memset(v, 0, sizeof *v);
    switch (tag) {
    case KT_BOOL:
        memcpy(&x, p, 8);
        v->kind = EQLITE_BOOL;
        v->u.b = x != 0;
        return p + 8;
    case KT_NUM_INT:
        memcpy(&x, p, 8);
        v->kind = EQLITE_INT;
        v->u.i = (int64_t)x;
        return p + 8;
    case KT_NUM_DOUBLE:
        v->kind = EQLITE_DOUBLE;
        memcpy(&v->u.d, p, 8);
        return p + 8;
    case KT_STRING: {
        uint32_t n;
        memcpy(&n, p, 4);
        v->kind = EQLITE_STRING;
        v->len = n;
        v->u.s = (const char *)p + 4;
        return p + 4 + n;
    }
    default:
        return p;
    }
}

size_t eq_key_decode(const uint8_t *key, size_t len, eqlite_value *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *p = key, *end = key + len;
    while (p < end && n < cap)
        p = key_get(p, &out[n++]);
    return n;
}

static int kind_rank(const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_NULL:
        return 0;
    case EQLITE_BOOL:
        return 1;
    case EQLITE_INT:
    case EQLITE_DOUBLE:
        return 2;
    default:
        return 3;
    }
}

static int compare_key_values(const eqlite_value *a, const eqlite_value *b)
{
    int ra = kind_rank(a), rb = kind_rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (ra == 0)
        return 0;
    if (ra == 3) {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->u.s, b->u.s, n) : 0;
        return c ? c : (a->len > b->len) - (a->len < b->len);
    }
    int cmp = 0;
    eq_value_compare(a, b, &cmp);
    return cmp;
}

int eq_key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return eq_key_compare_typed(a, alen, b, blen, NULL, 0);
}

/* Elasticsearch orders a sample's keys as its composite aggregation does:
 * by each field's doc values, i.e. a version by its encoded bytes
 * (VersionEncoder) and an ip by its 16-byte address, not as text. */
static int compare_typed(const eqlite_value *a, const eqlite_value *b, uint8_t mode)
{
    if (a->kind == EQLITE_STRING && b->kind == EQLITE_STRING) {
        int c;
        uint8_t ia[16], ib[16];
        if (mode == EQ_KEY_VERSION && eq_version_compare(a->u.s, a->len, b->u.s, b->len, &c))
            return c;
        if (mode == EQ_KEY_IP && eq_ip_parse(a->u.s, a->len, ia) && eq_ip_parse(b->u.s, b->len, ib))
            return memcmp(ia, ib, 16);
    }
    return compare_key_values(a, b);
}

int eq_key_compare_typed(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *modes,
                         size_t nmodes)
{
    const uint8_t *pa = a, *ea = a + alen, *pb = b, *eb = b + blen;
    for (size_t i = 0; pa < ea && pb < eb; i++) {
        eqlite_value va, vb;
        pa = key_get(pa, &va);
        pb = key_get(pb, &vb);
        int c = i < nmodes ? compare_typed(&va, &vb, modes[i]) : compare_key_values(&va, &vb);
        if (c)
            return c;
    }
    return (pa < ea) - (pb < eb);
}

uint8_t *eq_key_modes(const eqlite_program *prog, const eqlite_allocator *alloc)
{
    const eq_prog_term *t = prog->terms;
    while (t < prog->terms + prog->nterms - 1 && t->missing)
        t++;
    if (!t->nkeys)
        return NULL;
    uint8_t *modes = eq_malloc(alloc, t->nkeys);
    if (!modes)
        return NULL;
    bool any = false;
    uint32_t k = 0;
    for (uint32_t pc = t->keys_pc; pc < prog->ncode && prog->code[pc].op != OP_RET && k < t->nkeys; pc++) {
        const eq_instr *in = &prog->code[pc];
        if (in->op != OP_LOAD_FIELD && in->op != OP_LOAD_TS && in->op != OP_LOAD_CONST)
            continue;
        eqlite_type type = EQLITE_T_UNKNOWN;
        if (in->op == OP_LOAD_FIELD)
            eqlite_schema_field_name(prog->schema, in->a, &type);
        modes[k] = type == EQLITE_T_VERSION ? EQ_KEY_VERSION : type == EQLITE_T_IP ? EQ_KEY_IP : EQ_KEY_PLAIN;
        any |= modes[k++] != EQ_KEY_PLAIN;
    }
    if (!any) {
        eq_free(alloc, modes);
        return NULL;
    }
    return modes;
}

uint64_t eq_key_hash(const uint8_t *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then a final mix */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}
