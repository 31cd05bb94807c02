/* patterns.h: a compiled set of string patterns for one predicate: exact
 * values in a hash set, wildcards split into prefix / suffix / contains
 * literals before any general glob, and regexes. Caseless sets store folded
 * literals and fold the subject once. */
#ifndef EQ_PATTERNS_H
#define EQ_PATTERNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "regex.h"

typedef struct eq_str {
    const char *s;
    uint32_t n;
} eq_str;

typedef struct eq_strlist {
    eq_str *items;
    uint32_t n, cap;
} eq_strlist;

typedef struct eq_exact_slot {
    uint64_t hash;
    const char *s;
    uint32_t n;
} eq_exact_slot;

typedef struct eq_patterns {
    bool caseless;
    eq_strlist exact, prefix, suffix, contains, globs;
    eq_exact_slot *slots;
    uint32_t mask;
    eq_regex **regexes;
    uint32_t nregex, capregex;
    uint32_t min_len; /* no value shorter than this can match (exact/prefix/suffix/contains only) */
    bool only_literals;
} eq_patterns;

/* Scratch for folding subjects; owned by a matcher, reused across events.
 * error is sticky: a test that could not be decided (memory, a regex limit,
 * an arithmetic error where Elasticsearch fails the query)
 * answers "false" to the VM, and the API call that ran it then returns the
 * error instead of a silent "no match" (eq_scratch_take_error). */
typedef struct eq_scratch {
    char *buf;
    size_t cap;
    const eqlite_allocator *alloc;
    eq_regex_scratch *regex;
    eqlite_status error;
    const char *why; /* EQLITE_EARITH: Java's exception message ("long overflow") */
} eq_scratch;

static inline eqlite_status eq_scratch_take_error(eq_scratch *sc)
{
    eqlite_status st = sc->error;
    sc->error = EQLITE_OK;
    return st;
}

eq_patterns *eq_patterns_new(eq_arena *a, bool caseless);
bool eq_patterns_add_exact(eq_arena *a, eq_patterns *p, const char *s, size_t n);
bool eq_patterns_add_wildcard(eq_arena *a, eq_patterns *p, const char *s, size_t n);
bool eq_patterns_add_regex(eq_arena *a, eq_patterns *p, eq_regex *re);
bool eq_patterns_finish(eq_arena *a, eq_patterns *p);
bool eq_patterns_match(const eq_patterns *p, const char *s, size_t n, eq_scratch *scratch);

/* Returns a buffer of at least n bytes (grows; steady state allocates nothing). */
char *eq_scratch_reserve(eq_scratch *sc, size_t n);

#endif
