/* regex.h: Lucene RegExp syntax (what Elasticsearch's `regex` uses) translated
 * to PCRE2, compiled once with JIT, always anchored to the whole value. */
#ifndef EQ_REGEX_H
#define EQ_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eq_regex eq_regex;
typedef struct eq_regex_scratch eq_regex_scratch; /* per-thread match data */

/* Translates a Lucene pattern into PCRE2 syntax (for tests and --explain).
 * Returns the length needed; on an unsupported or malformed pattern returns
 * (size_t)-1 and writes a message ("unsupported Lucene regex feature [&] at
 * offset 3") into err. */
size_t eq_regex_translate(const char *pat, size_t n, char *out, size_t cap, char *err,
                          size_t errcap);
/* The exact message in err when an allocation failed (callers report
 * EQLITE_ENOMEM rather than a bad pattern). */
#define EQ_REGEX_NOMEM "out of memory"
/* NULL on error (message in err). */
eq_regex *eq_regex_compile(const char *pat, size_t n, bool caseless, char *err, size_t errcap);
void eq_regex_free(eq_regex *re);
eq_regex_scratch *eq_regex_scratch_new(void);
void eq_regex_scratch_free(eq_regex_scratch *scratch);
/* A literal that every match of a regex has after `skip` characters (any
 * one each): the bytes s[0..n) of the value itself, or, when `folded`, of
 * the value folded (eq_fold; s is then lower case). */
#define EQ_REGEX_PREFIX_MIN 3
#define EQ_REGEX_PREFIX_MAX 24
#define EQ_REGEX_PREFIXES_MAX 8
typedef struct eq_regex_prefix {
    uint32_t skip, n;
    bool folded;
    char s[EQ_REGEX_PREFIX_MAX];
} eq_regex_prefix;
/* regex_prefix.c: fills out[EQ_REGEX_PREFIXES_MAX] with prefixes one of
 * which every whole-value match of the Lucene pattern starts with, each at
 * least EQ_REGEX_PREFIX_MIN bytes; returns how many, or 0 (none found). */
size_t eq_regex_prefixes(const char *pat, size_t n, bool caseless, eq_regex_prefix *out);
/* The prefixes of a compiled regex (computed when it was compiled). */
size_t eq_regex_required_prefixes(const eq_regex *re, const eq_regex_prefix **out);

/* 1 the whole value matches, 0 it does not, -1 the matcher could not decide
 * (out of memory or past the DFA workspace limit): an error, never "no match". */
int eq_regex_match(const eq_regex *re, const char *s, size_t n, eq_regex_scratch *scratch);

#endif
