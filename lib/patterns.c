/* patterns.c: the string pattern sets behind in / in~ / : / like / regex. */
#define _GNU_SOURCE
#include "patterns.h"

#include <string.h>

#include "value.h"

eq_patterns *eq_patterns_new(eq_arena *a, bool caseless)
{
    eq_patterns *p = eq_arena_alloc(a, sizeof *p);
    if (p) {
        p->caseless = caseless;
        p->min_len = UINT32_MAX;
        p->only_literals = true;
    }
    return p;
}

static bool push(eq_arena *a, eq_strlist *l, const char *s, size_t n)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        eq_str *items = eq_arena_alloc(a, cap * sizeof *items);
        if (!items)
            return false;
        if (l->n)
            memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n].s = s;
    l->items[l->n].n = (uint32_t)n;
    l->n++;
    return true;
}

/* Stores the literal (folded for caseless sets). */
static const char *keep(eq_arena *a, const eq_patterns *p, const char *s, size_t n, size_t *out_n)
{
    if (!p->caseless) {
        *out_n = n;
        return eq_arena_strdup(a, s, n);
    }
    size_t need = eq_fold(s, n, NULL, 0);
    char *buf = eq_arena_alloc(a, need + 1);
    if (!buf)
        return NULL;
    eq_fold(s, n, buf, need);
    *out_n = need;
    return buf;
}

static void note_len(eq_patterns *p, size_t n)
{
    if (n < p->min_len)
        p->min_len = (uint32_t)n;
}

bool eq_patterns_add_exact(eq_arena *a, eq_patterns *p, const char *s, size_t n)
{
    size_t kn;
    const char *k = keep(a, p, s, n, &kn);
    if (!k)
        return false;
    note_len(p, p->caseless ? 0 : kn); /* folding may change byte lengths */
    return push(a, &p->exact, k, kn);
}

bool eq_patterns_add_wildcard(eq_arena *a, eq_patterns *p, const char *s, size_t n)
{
    size_t kn;
    const char *k = keep(a, p, s, n, &kn);
    if (!k)
        return false;
    size_t stars = 0, qmarks = 0;
    for (size_t i = 0; i < kn; i++) {
        stars += k[i] == '*';
        qmarks += k[i] == '?';
    }
    if (stars == 0 && qmarks == 0)
        return eq_patterns_add_exact(a, p, s, n);
    p->only_literals = false;
    if (qmarks == 0) {
        bool lead = k[0] == '*', trail = k[kn - 1] == '*';
        size_t inner = kn - lead - trail;
        if (kn >= 1 && stars == (size_t)lead + trail && (lead || trail) && (kn > 1 || stars == 1)) {
            if (kn == 1 || (kn == 2 && lead && trail)) /* "*" or "**": anything */
                return push(a, &p->prefix, k, 0) && (note_len(p, 0), true);
            note_len(p, p->caseless ? 0 : inner);
            if (lead && trail)
                return push(a, &p->contains, k + 1, inner);
            if (trail)
                return push(a, &p->prefix, k, inner);
            return push(a, &p->suffix, k + 1, inner);
        }
    }
    note_len(p, 0);
    return push(a, &p->globs, k, kn);
}

bool eq_patterns_add_regex(eq_arena *a, eq_patterns *p, eq_regex *re)
{
    p->only_literals = false;
    note_len(p, 0);
    if (p->nregex == p->capregex) {
        uint32_t cap = p->capregex ? p->capregex * 2 : 2;
        eq_regex **r = eq_arena_alloc(a, cap * sizeof *r);
        if (!r)
            return false;
        if (p->nregex)
            memcpy(r, p->regexes, p->nregex * sizeof *r);
        p->regexes = r;
        p->capregex = cap;
    }
    p->regexes[p->nregex++] = re;
    return true;
}

bool eq_patterns_finish(eq_arena *a, eq_patterns *p)
{
    if (p->min_len == UINT32_MAX)
        p->min_len = 0;
    if (p->exact.n == 0)
        return true;
    uint32_t size = 8;
    while (size < p->exact.n * 2)
        size *= 2;
    p->slots = eq_arena_alloc(a, size * sizeof *p->slots);
    if (!p->slots)
        return false;
    p->mask = size - 1;
    for (uint32_t k = 0; k < p->exact.n; k++) {
        eq_str e = p->exact.items[k];
        uint64_t h = eq_hash(e.s, e.n);
        uint32_t i = (uint32_t)h & p->mask;
        while (p->slots[i].s && !(p->slots[i].n == e.n && memcmp(p->slots[i].s, e.s, e.n) == 0))
            i = (i + 1) & p->mask;
        p->slots[i].hash = h;
        p->slots[i].s = e.s;
        p->slots[i].n = e.n;
    }
    return true;
}

char *eq_scratch_reserve(eq_scratch *sc, size_t n)
{
    if (n > sc->cap) {
        size_t cap = sc->cap ? sc->cap : 256;
        while (cap < n)
            cap *= 2;
        char *b = eq_realloc(sc->alloc, sc->buf, cap);
        if (!b) {
            sc->error = EQLITE_ENOMEM;
            return NULL;
        }
        sc->buf = b;
        sc->cap = cap;
    }
    return sc->buf;
}

static bool find_exact(const eq_patterns *p, const char *s, size_t n)
{
    uint64_t h = eq_hash(s, n);
    for (uint32_t i = (uint32_t)h & p->mask; p->slots[i].s; i = (i + 1) & p->mask)
        if (p->slots[i].hash == h && p->slots[i].n == n && memcmp(p->slots[i].s, s, n) == 0)
            return true;
    return false;
}

/* A cheap necessary condition of eq_wildcard_match: the literal after the
 * pattern's leading '?'s starts the subject right after as many characters
 * (checked when those are ASCII, one byte each), and the literal after its
 * last wildcard ends the subject. Rejects most `?:\\dir\\*` globs early. */
static bool glob_ends_fit(const char *pat, size_t plen, const char *s, size_t n)
{
    size_t q = 0;
    while (q < plen && pat[q] == '?')
        q++;
    bool ascii_head = q <= n;
    for (size_t i = 0; ascii_head && i < q; i++)
        ascii_head = (unsigned char)s[i] < 0x80;
    size_t i = q;
    if (ascii_head) {
        for (; i < plen && pat[i] != '*' && pat[i] != '?'; i++)
            if (i >= n || pat[i] != s[i])
                return false;
    }
    for (size_t j = 0; j < plen - i && pat[plen - 1 - j] != '*' && pat[plen - 1 - j] != '?'; j++)
        if (j >= n || pat[plen - 1 - j] != s[n - 1 - j])
            return false;
    return true;
}

static bool literal_match(const eq_patterns *p, const char *s, size_t n)
{
    if (p->exact.n && find_exact(p, s, n))
        return true;
    for (uint32_t k = 0; k < p->prefix.n; k++) {
        eq_str e = p->prefix.items[k];
        if (e.n <= n && memcmp(s, e.s, e.n) == 0)
            return true;
    }
    for (uint32_t k = 0; k < p->suffix.n; k++) {
        eq_str e = p->suffix.items[k];
        if (e.n <= n && memcmp(s + n - e.n, e.s, e.n) == 0)
            return true;
    }
    for (uint32_t k = 0; k < p->contains.n; k++) {
        eq_str e = p->contains.items[k];
        if (e.n <= n && (e.n == 0 || memmem(s, n, e.s, e.n)))
            return true;
    }
    for (uint32_t k = 0; k < p->globs.n; k++) {
        eq_str e = p->globs.items[k];
        if (glob_ends_fit(e.s, e.n, s, n) && eq_wildcard_match(e.s, e.n, s, n))
            return true;
    }
    return false;
}

bool eq_patterns_match(const eq_patterns *p, const char *s, size_t n, eq_scratch *scratch)
{
    if (n < p->min_len)
        return false;
    for (uint32_t k = 0; k < p->nregex; k++) {
        int rc = eq_regex_match(p->regexes[k], s, n, scratch->regex);
        if (rc == 1)
            return true;
        if (rc < 0 && scratch->error == EQLITE_OK)
            scratch->error = EQLITE_ELIMIT;
    }
    if (!p->caseless)
        return literal_match(p, s, n);
    if (eq_is_ascii(s, n)) {
        char local[256];
        char *buf = n <= sizeof local ? local : eq_scratch_reserve(scratch, n);
        if (!buf)
            return false;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
        return literal_match(p, buf, n);
    }
    size_t need = eq_fold(s, n, NULL, 0);
    char *buf = eq_scratch_reserve(scratch, need);
    if (!buf)
        return false;
    eq_fold(s, n, buf, need);
    return literal_match(p, buf, need);
}
