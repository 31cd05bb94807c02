/* ruleset.h: what ruleset.c (building rules), rule_index.c (the guard index
 * read from the rules' bytecode) and scanner.c (matching events) share: the
 * ruleset and scanner structures, and the hashing the index and the scanner
 * must agree on. The design is described at the top of ruleset.c. */
#ifndef EQ_RULESET_H
#define EQ_RULESET_H

#include <math.h>
#include <string.h>

#include "program.h"
#include "schema.h"
#include "seq_internal.h"
#include "value.h"

typedef struct rule {
    eqlite_program *program;
    char *name, *id;
    const char *category; /* the program's, NUL-terminated; NULL: any */
    bool streaming;       /* sequence, sample or pipes: fed through its own matcher */
    bool sequence;
    uint32_t filter_pc;   /* an event query's filter */
    const eq_instr *entry; /* its first instruction (prefetched) */
} rule;

typedef struct rule_list {
    uint32_t *items;
    uint32_t n;
    /* long lists: the same as a bitmap of the words first_word.. that hold
     * them (mostly one guard plane), OR'ed in whole */
    uint32_t first_word, nbit_words;
    uint64_t *bits;
} rule_list;

enum { PROBE_EXACT, PROBE_FOLD, PROBE_NUMBER, PROBE_PRESENT }; /* presence sorts last */
enum { WHOLE, PREFIX, SUFFIX, CONTAINS };
#define BLOOM_MASK 131071u /* a 16 KiB filter */
#define GUARD_BITS 4 /* guards per rule, all required (bit 0 of every rule) */
#define MAX_SKIP 4    /* leading '?' a prefix key may skip */

/* One (field, mode, slice) the index reads per event: the whole value, or
 * `len` bytes at `off` (PREFIX), or the last `len` bytes (SUFFIX), or
 * (CONTAINS) every needle of the probe searched for anywhere in the value. */
typedef struct probe {
    uint32_t field;
    uint8_t mode, affix, off, len;
    uint32_t ndistinct; /* distinct values the rules test (selectivity) */
    bool used;          /* some term's chosen guard reads it */
    rule_list present;  /* PROBE_PRESENT: rules run when the field has a value;
                           PREFIX after '?': rules run when those characters are
                           not single bytes */
    uint32_t *needles;  /* CONTAINS: the slots of its values, searched one by one */
    uint32_t nneedles;
    uint64_t *needle_starts; /* CONTAINS: NEEDLE_START_BITS, a bit per needle's first three bytes */
} probe;

/* A value is searched for a probe's needles in one pass: only where its
 * next three bytes start some needle (by a bit of a small filter) are the
 * needles compared. Probes with more needles search for each in turn. */
#define NEEDLE_START_BITS 4096u
#define NEEDLE_SCAN_MAX 256u

static inline uint32_t needle_start_bit(const char *s)
{
    uint32_t t = (uint32_t)(unsigned char)s[0] | (uint32_t)(unsigned char)s[1] << 8 |
                 (uint32_t)(unsigned char)s[2] << 16;
    return (t * UINT32_C(0x9e3779b1)) >> 20; /* 12 bits: NEEDLE_START_BITS */
}

/* One indexed value of one probe and the rules listed under it (ascending). */
typedef struct guard_slot {
    uint64_t hash;
    const char *s; /* NULL: empty slot */
    uint32_t n;
    uint32_t probe;
    rule_list rules;
} guard_slot;

struct eqlite_ruleset {
    const eqlite_allocator *alloc;
    eqlite_schema *schema;
    rule *rules;
    uint32_t nrules, cap;
    bool finished;
    bool has_sequence;
    int64_t category_field; /* schema id, -1 if the schema has none */
    eq_arena arena;         /* folded keys */
    probe *probes;
    uint32_t nprobes, capprobes;
    uint32_t *active; /* probes read per event */
    uint32_t nactive;
    struct probe_group {
        uint32_t field, first, end; /* active[first..end) read this field */
        uint32_t present;           /* active[present..end) are its PROBE_PRESENT probes (modes sort last) */
    } *groups;
    uint32_t ngroups;
    uint32_t *group_of; /* per field id below ngroup_fields: its group + 1, 0 none */
    uint32_t ngroup_fields;
    guard_slot *slots;
    uint32_t *tags; /* per slot: 0 empty, else bits of its hash */
    uint64_t *bloom; /* BLOOM_MASK + 1 bits: two per indexed value */
    uint32_t mask;
    rule_list always;  /* guard bits set on every event */
    rule_list clocked; /* rules fed every event while they hold partials */
    uint32_t nguarded; /* rules reached through the index */
    uint64_t *required; /* per rule, GUARD_BITS bits: the guards that must all hold */
    uint32_t nwords;      /* GUARD_BITS planes of plane_words */
    uint32_t plane_words; /* one bit per rule */
};

/* Guard bit g of rule k. The bitmaps hold GUARD_BITS planes of one bit per
 * rule, so the rules whose required bits all hold come out of a few ANDs
 * of whole words. */
static inline uint32_t guard_bit(const eqlite_ruleset *rs, uint32_t k, uint32_t g)
{
    return g * rs->plane_words * 64 + k;
}

/* What the index marks for one string element of one indexed field: the
 * rule lists of every probe of the field that the element hits. Values
 * repeat (process names, paths, arguments), so the scanner keeps the last
 * answers in a direct-mapped table keyed by (group, exact bytes) and marks
 * a repeated element's lists with one lookup instead of a probe each.
 * An entry holds the guard bits of short lists itself, so that a hit
 * mostly reads its own two cache lines, and points to the other lists. */
#define MEMO_MAX_SLOTS 4096 /* slots: 16 per probe read, a power of two up to this */
#define MEMO_IDS 8      /* bits of short lists held in the entry */
#define MEMO_LISTS 2    /* other lists: elements that hit more are not kept */
#define MEMO_BYTES 64   /* nor longer ones */
typedef struct memo_entry {
    uint64_t hash; /* 0: empty */
    uint32_t group;
    uint8_t n, nids, nlists;
    uint8_t bitmaps; /* bit i: lists[i] is a bitmap (read without loading the list) */
    uint32_t ids[MEMO_IDS];
    const rule_list *lists[MEMO_LISTS];
    char s[MEMO_BYTES]; /* the second cache line */
} memo_entry;
_Static_assert(sizeof(memo_entry) == 128, "a memo entry is two cache lines");

/* The marks an event's shape (which indexed fields hold a value, and the
 * long lists its values' memo entries hold) decides: `always`, the fields'
 * presence lists and those long lists, kept per shape, direct-mapped. */
#define SHAPE_SLOTS 256
#define SHAPE_GROUPS 48     /* events with more such fields mark them one by one */
#define SHAPE_KEYS 64       /* groups and lists; lists past this are marked one by one */
#define SHAPE_MAX_WORDS 256 /* rulesets of more rules mark them one by one */
typedef struct shape_entry {
    uint64_t hash; /* 0: empty */
    uint32_t ngroups, nlists;
    uintptr_t keys[SHAPE_KEYS];
} shape_entry;

struct eqlite_scanner {
    const eqlite_ruleset *rs;
    const eqlite_allocator *alloc;
    eqlite_matcher vm;          /* shared by the plain event queries */
    eqlite_matcher **streaming; /* per rule; NULL for plain event queries */
    uint64_t *pending;          /* per rule: a bit, set while the event gathers its rules */
    uint32_t nwords;
    eq_scratch fold;            /* folded subjects */
    /* event order, checked for the sequences the index may not feed */
    eq_order order;
    eqlite_scanner_counts stats;
    uint64_t *prof_ns, *prof_runs; /* eqlite_scanner_profile */
    uint64_t *live; /* per rule (plane_words): a sequence holding partials */
    uint32_t nlive; /* bits set in live: most events meet none, and skip its words */
    uint64_t *selected; /* per rule (plane_words): the rules it runs (eqlite_scanner_select) */
    uint64_t *clocked;  /* per rule (plane_words): rs->clocked as bits */
    uint64_t *sequences; /* per rule (plane_words): the sequences (only they hold partials) */
    bool checks_order;  /* some selected rule is a sequence */
    memo_entry *memo; /* memo_mask + 1 entries, aligned to cache lines */
    void *memo_block; /* what was allocated for them */
    shape_entry *shapes;  /* SHAPE_SLOTS, or NULL */
    uint64_t *shape_bits; /* per shape slot: nwords of marks */
    uint32_t *memo_seen; /* memo_mask + 1 traces of elements that missed the memo (by hash) */
    uint32_t memo_mask;
};

static inline uint64_t mix64(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t x = (a ^ (a >> 31)) * b;
    return x ^ (x >> 29);
#endif
}

/* Values and slices are mostly short: up to 16 bytes hash in one multiply. */
static inline uint64_t slot_hash(uint32_t probe, const char *s, uint32_t n)
{
    uint64_t a, b;
    if (n > 16)
        return eq_hash(s, n) ^ ((uint64_t)(probe + 1) * UINT64_C(0x9e3779b97f4a7c15));
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, s, 4);
        memcpy(&y, s + n - 4, 4);
        a = x;
        b = y;
    } else {
        a = n ? (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
                    (uint64_t)(unsigned char)s[n - 1] << 16
              : 0;
        b = 0;
    }
    return mix64(a ^ UINT64_C(0xe7037ed1a0b428db) ^ ((uint64_t)probe << 32),
                 b ^ UINT64_C(0x8ebc6af09c88c6e3) ^ n);
}

/* The bytes a number or boolean is indexed under (PROBE_NUMBER): equal
 * exactly when the VM's == holds between the values (value.c: a long and a
 * double compare exactly, -0.0 is not 0, NaN equals NaN, a boolean equals
 * only a boolean); 0 for any other kind. */
static inline uint32_t number_key(const eqlite_value *v, char out[9])
{
    switch (v->kind) {
    case EQLITE_BOOL:
        out[0] = 'b';
        out[1] = v->u.b != 0;
        return 2;
    case EQLITE_INT:
        out[0] = 'i';
        memcpy(out + 1, &v->u.i, 8);
        return 9;
    case EQLITE_DOUBLE: {
        double d = v->u.d;
        if (isnan(d)) {
            out[0] = 'n';
            return 1;
        }
        if (d == 0 && signbit(d)) {
            out[0] = 'z';
            return 1;
        }
        if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == (double)(int64_t)d) {
            int64_t i = (int64_t)d; /* a whole double equals the long of its value */
            out[0] = 'i';
            memcpy(out + 1, &i, 8);
            return 9;
        }
        out[0] = 'd';
        memcpy(out + 1, &d, 8);
        return 9;
    }
    default:
        return 0;
    }
}

/* The slot holding (probe, s, n), or the empty slot where it belongs. */
static inline guard_slot *find_slot(guard_slot *slots, uint32_t mask, uint64_t h, uint32_t probe, const char *s, uint32_t n)
{
    uint32_t i = (uint32_t)h & mask;
    while (slots[i].s && !(slots[i].hash == h && slots[i].probe == probe && slots[i].n == n &&
                           (n == 0 || memcmp(slots[i].s, s, n) == 0)))
        i = (i + 1) & mask;
    return &slots[i];
}

/* ruleset.c: what eqlite_ruleset_rule reports of rule k. */
void eq_rule_info(const eqlite_ruleset *rs, uint32_t k, eqlite_rule_info *out);

/* rule_index.c: builds the guard index of a ruleset being finished, and frees it. */
eqlite_status eq_rule_index_build(eqlite_ruleset *rs);
void eq_rule_index_free(eqlite_ruleset *rs);
bool eq_rule_list_append(const eqlite_allocator *alloc, rule_list *l, uint32_t value);
/* Whether a sequence's results can come out when time passes (fed every
 * event while it holds partials). */
bool eq_rule_is_clocked(const eqlite_program *prog);

#endif
