/* bench_util.h: what the benchmarks share: a clock, whole-file reads, the
 * rule corpus, and the generated events' command-line options. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

double now_seconds(void);
/* malloc'd, NUL-terminated; NULL if unreadable. */
char *read_file(const char *path, size_t *len);

typedef struct corpus_rule {
    char *query, *name, *id;
    size_t len;
} corpus_rule;

/* Rules of a JSON Lines corpus (objects with query/name/id); NULL if unreadable. */
corpus_rule *corpus_load(const char *path, size_t *n);
void corpus_free(corpus_rule *rules, size_t n);
/* Index of the rule with the longest query. */
size_t corpus_longest(const corpus_rule *rules, size_t n);

/* Options every benchmark takes. */
typedef struct bench_options {
    size_t events;     /* --events N (default 1,000,000) */
    uint64_t seed;     /* --seed S (default 1) */
    long long expect;  /* --expect N: reference-rule matches gen_events.py --expect prints; -1 unknown */
    const char *shared; /* --shared DIR (default ../shared) */
    int repeat;        /* --repeat N timed passes, best kept (default 5) */
    const char *rule;  /* --rule FILE: the reference rule (examples/rules/unusual-cmd-parent.eql) */
} bench_options;

/* Parses argv; prints usage and returns 0 on a bad option. */
int bench_parse_options(int argc, char **argv, bench_options *opt);
/* shared dir + "/" + rel in a static buffer. */
const char *bench_shared_path(const bench_options *opt, const char *rel);

#endif
