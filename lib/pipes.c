/* pipes.c: what the streaming engines share on their way out.
 *
 *  - held events: a pending partial (or a buffered result) outlives the
 *    feed call, so it keeps a copy of the fields the program reads, made in
 *    one allocation and shared by reference count;
 *  - join keys: values serialized to bytes (one tuple per combination of
 *    multi-valued keys), so equality is memcmp and hashing is over bytes;
 *  - the output chain: Elasticsearch order (a heap keyed by first-event
 *    serial), then `head`/`tail` pipes left to right, then limits.size. */
#include <string.h>

#include "seq_internal.h"

/* ---- held events ---------------------------------------------------------- */

static size_t value_extra_size(const eqlite_value *v)
{
    if (v->kind == EQLITE_STRING)
        return v->len;
    if (v->kind != EQLITE_ARRAY)
        return 0;
    size_t n = (size_t)v->len * sizeof(eqlite_value);
    for (uint32_t i = 0; i < v->len; i++)
        if (v->u.a[i].kind == EQLITE_STRING)
            n += v->u.a[i].len;
    return n;
}

typedef struct copy_cursor {
    eqlite_value *values; /* array elements go here */
    char *bytes;          /* string bytes go here */
} copy_cursor;

static eqlite_value copy_scalar(const eqlite_value *v, copy_cursor *c)
{
    eqlite_value out = *v;
    if (v->kind == EQLITE_STRING) {
        if (v->len)
            memcpy(c->bytes, v->u.s, v->len);
        out.u.s = c->bytes;
        c->bytes += v->len;
    }
    return out;
}

static eqlite_value copy_value(const eqlite_value *v, copy_cursor *c)
{
    if (v->kind != EQLITE_ARRAY)
        return copy_scalar(v, c);
    eqlite_value out = *v;
    eqlite_value *elems = c->values;
    c->values += v->len;
    for (uint32_t i = 0; i < v->len; i++)
        elems[i] = copy_scalar(&v->u.a[i], c);
    out.u.a = elems;
    return out;
}

/* Highest field id the program reads, + 1, capped by what the event has. */
static size_t held_field_count(const eqlite_program *prog, const eqlite_event *ev)
{
    size_t n = 0;
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < ev->nfields && prog->fields[i] + 1 > n)
            n = prog->fields[i] + 1;
    return n;
}

eq_held *eq_held_copy(eqlite_matcher *m, const eqlite_event *ev)
{
    const eqlite_program *prog = m->program;
    size_t nf = held_field_count(prog, ev);
    size_t extra = value_extra_size(&ev->tiebreaker);
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < nf)
            extra += value_extra_size(&ev->fields[prog->fields[i]]);
    size_t head = sizeof(eq_held) + nf * sizeof(eqlite_value);
    /* nf runs up to the program's highest field id (thousands of slots under
     * ECS): a reused block resets only the program's slots */
    eq_held *h = m->spare_held;
    eqlite_value *fields;
    if (h && h->size >= head + extra && h->ev.nfields == nf) {
        m->spare_held = NULL;
        fields = (eqlite_value *)(h + 1);
        for (uint32_t i = 0; i < prog->nfields; i++)
            if (prog->fields[i] < nf)
                fields[prog->fields[i]] = (eqlite_value){0};
    } else {
        if (!(h = eq_malloc(m->alloc, head + extra)))
            return NULL;
        h->size = head + extra;
        fields = (eqlite_value *)(h + 1);
        memset(fields, 0, nf * sizeof(eqlite_value));
    }
    h->refs = 1;
    h->ev = *ev;
    /* arrays first (aligned), then string bytes */
    size_t nelems = 0;
    for (uint32_t i = 0; i < prog->nfields; i++)
        if (prog->fields[i] < nf && ev->fields[prog->fields[i]].kind == EQLITE_ARRAY)
            nelems += ev->fields[prog->fields[i]].len;
    if (ev->tiebreaker.kind == EQLITE_ARRAY)
        nelems += ev->tiebreaker.len;
    copy_cursor c = {fields + nf, (char *)(fields + nf + nelems)};
    for (uint32_t i = 0; i < prog->nfields; i++) {
        uint32_t id = prog->fields[i];
        if (id < nf && fields[id].kind == EQLITE_NULL)
            fields[id] = copy_value(&ev->fields[id], &c);
    }
    h->ev.tiebreaker = copy_value(&ev->tiebreaker, &c);
    h->ev.fields = fields;
    h->ev.nfields = nf;
    if (m->hooks.retain && !(h->ev.user = m->hooks.retain(m->hooks.ctx, ev))) {
        eq_free(m->alloc, h);
        return NULL;
    }
    return h;
}

void eq_held_release(eqlite_matcher *m, eq_held *h)
{
    if (!h || --h->refs)
        return;
    if (m->hooks.release)
        m->hooks.release(m->hooks.ctx, h->ev.user);
    if (!m->spare_held) {
        m->spare_held = h;
        return;
    }
    eq_free(m->alloc, h);
}

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

/* ---- key hash table: linear probing, backward-shift deletion ------------ */

eq_keyhdr *eq_keytab_find(const eq_keytab *t, const uint8_t *key, size_t len, uint64_t hash)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        eq_keyhdr *e = t->slots[i];
        if (!e)
            return NULL;
        if (e->hash == hash && e->len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
}

static void place(eq_keyhdr **slots, size_t mask, eq_keyhdr *e)
{
    size_t i = e->hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = e;
}

static bool keytab_grow(eqlite_matcher *m, eq_keytab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    eq_keyhdr **slots = eq_malloc(m->alloc, cap * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i])
            place(slots, cap - 1, t->slots[i]);
    eq_free(m->alloc, t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

bool eq_keytab_insert(eqlite_matcher *m, eq_keytab *t, eq_keyhdr *e)
{
    if ((t->n + 1) * 4 > t->cap * 3 && !keytab_grow(m, t))
        return false;
    place(t->slots, t->cap - 1, e);
    t->n++;
    return true;
}

void eq_keytab_remove(eq_keytab *t, eq_keyhdr *e)
{
    size_t mask = t->cap - 1;
    size_t i = e->hash & mask;
    while (t->slots[i] != e)
        i = (i + 1) & mask;
    t->slots[i] = NULL;
    t->n--;
    /* shift back the run that follows so lookups never stop early */
    for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
        eq_keyhdr *x = t->slots[j];
        size_t home = x->hash & mask;
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            t->slots[i] = x;
            t->slots[j] = NULL;
            i = j;
        }
    }
}

void eq_keytab_free(eqlite_matcher *m, eq_keytab *t)
{
    eq_free(m->alloc, t->slots);
    memset(t, 0, sizeof *t);
}

/* ---- output chain ---------------------------------------------------------- */

/* A result kept beyond the call that produced it. */
typedef struct eq_rec {
    uint64_t order, seq;
    uint32_t nevents, keylen;
    eq_held **held; /* NULL entries: missing-event positions */
    uint8_t *key;
} eq_rec;

typedef struct pipe_stage {
    bool tail;
    uint64_t n, count;
    eq_rec **ring; /* tail: last n records, ring[(first + i) % n] */
    uint64_t first, held;
} pipe_stage;

struct eq_out {
    bool ordered, stopped;
    eqlite_callback cb;
    void *user;
    pipe_stage *stages;
    uint32_t nstages;
    bool buffering; /* some stage keeps records (tail) */
    eq_rec **heap;  /* ordered mode: min-heap on (order, seq) */
    size_t nheap, capheap;
    uint64_t seq;
    const eqlite_event **evs; /* callback scratch */
    eqlite_value *keys;
    size_t maxkeys;
};

static void rec_free(eqlite_matcher *m, eq_rec *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nevents; i++)
        eq_held_release(m, r->held[i]);
    eq_free(m->alloc, r);
}

static eq_rec *rec_new(eqlite_matcher *m, uint32_t nevents, const uint8_t *key, size_t keylen)
{
    eq_rec *r = eq_malloc(m->alloc, sizeof *r + nevents * sizeof(eq_held *) + keylen);
    if (!r)
        return NULL;
    r->nevents = nevents;
    r->keylen = (uint32_t)keylen;
    r->held = (eq_held **)(r + 1);
    memset(r->held, 0, nevents * sizeof(eq_held *));
    r->key = (uint8_t *)(r->held + nevents);
    if (keylen)
        memcpy(r->key, key, keylen);
    return r;
}

eq_out *eq_out_new(eqlite_matcher *m, bool ordered)
{
    const eqlite_program *prog = m->program;
    eq_out *o = eq_malloc(m->alloc, sizeof *o);
    if (!o)
        return NULL;
    memset(o, 0, sizeof *o);
    o->ordered = ordered;
    size_t n = prog->npipes + (m->limits.size ? 1 : 0);
    o->maxkeys = EQ_MAX_KEYS;
    o->stages = eq_malloc(m->alloc, (n + 1) * sizeof *o->stages);
    o->evs = eq_malloc(m->alloc, (prog->nterms + 1) * sizeof *o->evs);
    o->keys = eq_malloc(m->alloc, o->maxkeys * sizeof *o->keys);
    if (!o->stages || !o->evs || !o->keys) {
        eq_out_free(m, o);
        return NULL;
    }
    memset(o->stages, 0, (n + 1) * sizeof *o->stages);
    for (uint32_t i = 0; i < prog->npipes; i++) {
        o->stages[i].tail = prog->pipes[i].tail;
        o->stages[i].n = prog->pipes[i].n;
    }
    if (m->limits.size)
        o->stages[prog->npipes].n = m->limits.size; /* a final head */
    o->nstages = (uint32_t)n;
    for (uint32_t i = 0; i < n; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail || !s->n)
            continue;
        o->buffering = true;
        s->ring = eq_malloc(m->alloc, s->n * sizeof *s->ring);
        if (!s->ring) {
            eq_out_free(m, o);
            return NULL;
        }
        memset(s->ring, 0, s->n * sizeof *s->ring);
    }
    return o;
}

void eq_out_free(eqlite_matcher *m, eq_out *o)
{
    if (!o)
        return;
    for (uint32_t i = 0; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        for (uint64_t k = 0; s->ring && k < s->n; k++)
            rec_free(m, s->ring[k]);
        eq_free(m->alloc, s->ring);
    }
    for (size_t i = 0; i < o->nheap; i++)
        rec_free(m, o->heap[i]);
    eq_free(m->alloc, o->heap);
    eq_free(m->alloc, o->stages);
    eq_free(m->alloc, o->evs);
    eq_free(m->alloc, o->keys);
    eq_free(m->alloc, o);
}

void eq_out_begin(eq_out *o, eqlite_callback cb, void *user)
{
    o->cb = cb;
    o->user = user;
}

bool eq_out_done(const eq_out *o)
{
    if (o->stopped)
        return true;
    for (uint32_t i = 0; i < o->nstages; i++) {
        if (o->stages[i].tail)
            return false;
        if (o->stages[i].count >= o->stages[i].n)
            return true;
    }
    return false;
}

static void deliver(eqlite_matcher *m, eq_out *o, const eq_rec *r)
{
    m->stats.matches++;
    if (!o->cb || o->stopped)
        return;
    for (uint32_t i = 0; i < r->nevents; i++)
        o->evs[i] = r->held[i] ? &r->held[i]->ev : NULL;
    size_t nk = eq_key_decode(r->key, r->keylen, o->keys, o->maxkeys);
    eqlite_result res = {m->program, r->nevents, o->evs, nk, o->keys};
    if (o->cb(o->user, &res) != 0)
        o->stopped = true;
}

/* Runs r through stages [from, nstages). Takes ownership of r. */
static void run_stages(eqlite_matcher *m, eq_out *o, eq_rec *r, uint32_t from)
{
    for (uint32_t i = from; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail) {
            if (s->count >= s->n) {
                rec_free(m, r);
                return;
            }
            s->count++;
            continue;
        }
        if (!s->n) {
            rec_free(m, r);
            return;
        }
        uint64_t slot = (s->first + s->held) % s->n;
        if (s->held == s->n) { /* full: drop the oldest */
            rec_free(m, s->ring[s->first]);
            slot = s->first;
            s->first = (s->first + 1) % s->n;
        } else {
            s->held++;
        }
        s->ring[slot] = r;
        return;
    }
    deliver(m, o, r);
    rec_free(m, r);
}

static bool heap_less(const eq_rec *a, const eq_rec *b)
{
    return a->order != b->order ? a->order < b->order : a->seq < b->seq;
}

static bool heap_push(eqlite_matcher *m, eq_out *o, eq_rec *r)
{
    if (o->nheap == o->capheap) {
        size_t cap = o->capheap ? o->capheap * 2 : 64;
        eq_rec **h = eq_realloc(m->alloc, o->heap, cap * sizeof *h);
        if (!h)
            return false;
        o->heap = h;
        o->capheap = cap;
    }
    size_t i = o->nheap++;
    while (i > 0 && heap_less(r, o->heap[(i - 1) / 2])) {
        o->heap[i] = o->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    o->heap[i] = r;
    return true;
}

static eq_rec *heap_pop(eq_out *o)
{
    eq_rec *top = o->heap[0];
    eq_rec *last = o->heap[--o->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= o->nheap)
            break;
        if (c + 1 < o->nheap && heap_less(o->heap[c + 1], o->heap[c]))
            c++;
        if (!heap_less(o->heap[c], last))
            break;
        o->heap[i] = o->heap[c];
        i = c;
    }
    if (o->nheap)
        o->heap[i] = last;
    return top;
}

eqlite_status eq_out_push(eqlite_matcher *m, eq_out *o, const eqlite_result *r, uint64_t order)
{
    if (eq_out_done(o))
        return EQLITE_OK;
    if (!o->ordered && !o->buffering) {
        /* only heads: count and deliver the caller's pointers, no copy */
        for (uint32_t i = 0; i < o->nstages; i++)
            o->stages[i].count++;
        m->stats.matches++;
        if (o->cb && o->cb(o->user, r) != 0)
            o->stopped = true;
        return EQLITE_OK;
    }
    /* a record must outlive the call: copy (event queries: one event) */
    eq_held *held = r->nevents ? eq_held_copy(m, r->events[0]) : NULL;
    if (r->nevents && !held)
        return EQLITE_ENOMEM;
    eqlite_status st = eq_out_push_held(m, o, &held, r->nevents ? 1 : 0, NULL, 0, order);
    eq_held_release(m, held);
    return st;
}

eqlite_status eq_out_push_held(eqlite_matcher *m, eq_out *o, eq_held *const *held,
                               uint32_t n, const uint8_t *key, size_t keylen, uint64_t order)
{
    if (eq_out_done(o))
        return EQLITE_OK;
    eq_rec *r = rec_new(m, n, key, keylen);
    if (!r)
        return EQLITE_ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        r->held[i] = eq_held_ref(held[i]);
    r->order = order;
    r->seq = o->seq++;
    if (o->ordered) {
        if (!heap_push(m, o, r)) {
            rec_free(m, r);
            return EQLITE_ENOMEM;
        }
        return EQLITE_OK;
    }
    run_stages(m, o, r, 0);
    return EQLITE_OK;
}

eqlite_status eq_out_release(eqlite_matcher *m, eq_out *o, uint64_t bound)
{
    while (o->nheap && o->heap[0]->order < bound) {
        eq_rec *r = heap_pop(o);
        if (eq_out_done(o))
            rec_free(m, r);
        else
            run_stages(m, o, r, 0);
    }
    return EQLITE_OK;
}

eqlite_status eq_out_flush(eqlite_matcher *m, eq_out *o)
{
    eq_out_release(m, o, UINT64_MAX);
    for (uint32_t i = 0; i < o->nstages; i++) {
        pipe_stage *s = &o->stages[i];
        if (!s->tail)
            continue;
        uint64_t n = s->held, first = s->first;
        s->held = 0;
        s->first = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t slot = (first + k) % s->n;
            eq_rec *r = s->ring[slot];
            s->ring[slot] = NULL;
            run_stages(m, o, r, i + 1);
        }
    }
    return EQLITE_OK;
}

/* ---- event order ---- */

static int compare_tiebreakers(const eqlite_value *a, const eqlite_value *b)
{
    int cmp = 0;
    if (a->kind == EQLITE_NULL || b->kind == EQLITE_NULL)
        return 0;
    if (a->kind == EQLITE_STRING && b->kind == EQLITE_STRING) {
        size_t n = a->len < b->len ? a->len : b->len;
        cmp = n ? memcmp(a->u.s, b->u.s, n) : 0;
        return cmp ? cmp : (a->len > b->len) - (a->len < b->len);
    }
    return eq_value_compare(a, b, &cmp) ? cmp : 0;
}

bool eq_order_accept(eq_order *o, const eqlite_allocator *alloc, const eqlite_event *ev)
{
    if (o->have_last) {
        int c = ev->timestamp < o->last_ts   ? -1
                : ev->timestamp > o->last_ts ? 1
                                             : compare_tiebreakers(&ev->tiebreaker, &o->last_tb);
        if (c < 0)
            return false;
    }
    o->have_last = true;
    o->last_ts = ev->timestamp;
    o->last_tb = ev->tiebreaker;
    if (ev->tiebreaker.kind == EQLITE_STRING) { /* the caller's bytes are borrowed: keep a copy */
        if (o->tb_cap < ev->tiebreaker.len + 1) {
            char *b = eq_realloc(alloc, o->tb_buf, ev->tiebreaker.len + 1);
            if (!b) {
                o->last_tb.kind = EQLITE_NULL;
                return true;
            }
            o->tb_buf = b;
            o->tb_cap = ev->tiebreaker.len + 1;
        }
        if (ev->tiebreaker.len)
            memcpy(o->tb_buf, ev->tiebreaker.u.s, ev->tiebreaker.len);
        o->last_tb.u.s = o->tb_buf;
    } else if (ev->tiebreaker.kind == EQLITE_ARRAY) {
        o->last_tb.kind = EQLITE_NULL;
    }
    return true;
}

void eq_order_release(eq_order *o, const eqlite_allocator *alloc)
{
    eq_free(alloc, o->tb_buf);
    o->tb_buf = NULL;
    o->tb_cap = 0;
}
