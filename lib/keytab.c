/* keytab.c: the hash table of join-key entries (partials by key, sample
 * groups): open addressing over entries that start with eq_keyhdr. */
#include <string.h>

#include "seq_internal.h"

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
