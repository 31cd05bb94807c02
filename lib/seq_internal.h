/* seq_internal.h: pieces shared by the streaming engines (sequence.c,
 * sample.c): the input order rule (event_order.c), held event copies
 * (held.c), join-key tuples (keys.c) and their hash table (keytab.c), and
 * the output side: result records and the pipe chain (pipes.c). */
#ifndef EQ_SEQ_INTERNAL_H
#define EQ_SEQ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "program.h"

/* Documented defaults for eqlite_limits fields left 0. */
#define EQ_DEFAULT_MAX_PARTIALS ((size_t)1 << 20)
#define EQ_DEFAULT_MAX_KEYS ((size_t)1 << 20)
/* Cartesian expansion of multi-valued keys stops here (the rest is dropped). */
#define EQ_MAX_KEY_COMBOS 1024

/* ---- event order: (timestamp, tiebreaker) must not go backwards ---- */

typedef struct eq_order {
    bool have_last;
    int64_t last_ts;
    eqlite_value last_tb; /* a string tiebreaker points into tb_buf */
    char *tb_buf;
    size_t tb_cap;
} eq_order;

/* False if ev sorts before the last accepted event; otherwise remembers ev. */
bool eq_order_accept(eq_order *o, const eqlite_allocator *alloc, const eqlite_event *ev);
void eq_order_release(eq_order *o, const eqlite_allocator *alloc);

/* ---- held events: matcher-owned copies of the fields a program reads ---- */

typedef struct eq_held {
    uint32_t refs;
    size_t size;     /* of the block: a released one is reused (eqlite_matcher.spare_held) */
    struct eq_held *next_spare;
    eqlite_event ev; /* fields, array elements and string bytes follow in one block */
} eq_held;

eq_held *eq_held_copy(eqlite_matcher *m, const eqlite_event *ev);
void eq_held_free_spares(eqlite_matcher *m);
static inline eq_held *eq_held_ref(eq_held *h)
{
    if (h)
        h->refs++;
    return h;
}
void eq_held_release(eqlite_matcher *m, eq_held *h);

/* ---- join-key tuples --------------------------------------------------- */

/* The key combinations of one term for one event, each serialized into
 * bytes (so == is memcmp and hashing is over bytes). */
typedef struct eq_keyset {
    uint8_t *bytes;
    size_t len, cap;
    size_t *offs; /* ncombos + 1 offsets into bytes */
    size_t ncombos, capoffs;
} eq_keyset;

typedef enum { EQ_KEYS_OK, EQ_KEYS_NULL, EQ_KEYS_NOMEM } eq_keys_status;

/* Evaluates `term`'s join keys over ev and expands them. EQ_KEYS_NULL: a
 * non-optional key is null (or an array without a non-null element). */
eq_keys_status eq_keyset_build(eqlite_matcher *m, const eq_prog_term *term,
                               const eqlite_event *ev, eq_keyset *ks);
/* The same for a streaming engine: a null key drops the event (*dropped
 * set, no tuples to run); EQLITE_ENOMEM when memory runs out. */
eqlite_status eq_keyset_collect(eqlite_matcher *m, const eq_prog_term *term, const eqlite_event *ev, eq_keyset *ks,
                                bool *dropped);
void eq_keyset_free(eqlite_matcher *m, eq_keyset *ks);
/* Combination c: its bytes (never NULL, also for zero keys) and length. */
static inline const uint8_t *eq_keyset_get(const eq_keyset *ks, size_t c, size_t *len)
{
    static const uint8_t none[1];
    *len = ks->offs[c + 1] - ks->offs[c];
    return ks->bytes ? ks->bytes + ks->offs[c] : none;
}
/* Decodes serialized key bytes into values (strings point into the bytes). */
size_t eq_key_decode(const uint8_t *key, size_t len, eqlite_value *out, size_t cap);
/* Orders decoded key tuples: null first, then bool, numbers, strings. */
int eq_key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* The same with key i of a field type that orders its own way (modes[i],
 * nmodes entries): EQ_KEY_VERSION, EQ_KEY_IP, else EQ_KEY_PLAIN. */
enum { EQ_KEY_PLAIN = 0, EQ_KEY_VERSION, EQ_KEY_IP };
int eq_key_compare_typed(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, const uint8_t *modes,
                         size_t nmodes);
/* Per join key of prog (its first positive term): the EQ_KEY_* order of the
 * key's field type. NULL when every key is plain (or out of memory). */
uint8_t *eq_key_modes(const eqlite_program *prog, const eqlite_allocator *alloc);
uint64_t eq_key_hash(const uint8_t *key, size_t len);

/* Hash table of entries that start with eq_keyhdr (open addressing). */
typedef struct eq_keyhdr {
    uint64_t hash;
    uint8_t *key;
    uint32_t len;
} eq_keyhdr;

typedef struct eq_keytab {
    eq_keyhdr **slots;
    size_t cap, n;
} eq_keytab;

eq_keyhdr *eq_keytab_find(const eq_keytab *t, const uint8_t *key, size_t len, uint64_t hash);
bool eq_keytab_insert(eqlite_matcher *m, eq_keytab *t, eq_keyhdr *e);
void eq_keytab_remove(eq_keytab *t, eq_keyhdr *e);
void eq_keytab_free(eqlite_matcher *m, eq_keytab *t);

/* ---- output: records, ES ordering, head/tail pipes --------------------- */

typedef struct eq_out eq_out;

/* `ordered`: results may complete out of Elasticsearch order (sequences
 * with pipes), so they are held until eq_out_release says no earlier one can
 * still arrive. */
eq_out *eq_out_new(eqlite_matcher *m, bool ordered);
void eq_out_free(eqlite_matcher *m, eq_out *o);
void eq_out_begin(eq_out *o, eqlite_callback cb, void *user); /* per feed/flush call */
/* Passes one result on; `order` sorts it (first event's serial). */
eqlite_status eq_out_push(eqlite_matcher *m, eq_out *o, const eqlite_result *r, uint64_t order);
/* Same for results made of held events (references are taken) and key bytes. */
eqlite_status eq_out_push_held(eqlite_matcher *m, eq_out *o, eq_held *const *held, uint32_t n,
                               const uint8_t *key, size_t keylen, uint64_t order);
/* Delivers held results whose order is < `bound` (UINT64_MAX: all). */
eqlite_status eq_out_release(eqlite_matcher *m, eq_out *o, uint64_t bound);
eqlite_status eq_out_flush(eqlite_matcher *m, eq_out *o);
/* True once no further result can be delivered (head reached, callback stop). */
bool eq_out_done(const eq_out *o);

/* ---- the engines ------------------------------------------------------- */

typedef struct eq_sample eq_sample;
eq_sample *eq_sample_new(eqlite_matcher *m);
void eq_sample_free(eqlite_matcher *m, eq_sample *s);
eqlite_status eq_sample_feed(eqlite_matcher *m, eq_sample *s, const eqlite_event *ev);
eqlite_status eq_sample_flush(eqlite_matcher *m, eq_sample *s, eq_out *o);

#endif
