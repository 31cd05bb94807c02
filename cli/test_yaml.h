/* test_yaml.h: reads and checks the YAML of `eqlite test` (format in
 * test.c). A file is loaded whole and checked before any test runs: every
 * key known, no key twice, every value of its type, one document, and the
 * limits below; the first problem is reported as "name:line:col: message". */
#ifndef EQ_CLI_TEST_YAML_H
#define EQ_CLI_TEST_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqlite_io.h" /* EQLITE_READ_MAX_DEPTH */

/* Nesting of mappings and sequences in the file, aliases expanded: the NDJSON
 * reader's limit, which inline events reach anyway. */
#define YT_MAX_DEPTH EQLITE_READ_MAX_DEPTH
/* Nodes in the file with every alias expanded (bounds "billion laughs");
 * large event sets belong in NDJSON files. */
#define YT_MAX_NODES 1000000
/* Scalar bytes that aliases may copy, in total. */
#define YT_MAX_ALIAS_BYTES ((uint64_t)16 << 20)
/* mapping: files per test. */
#define YT_MAX_MAPPINGS 16

typedef enum yt_events_kind { YT_EVENTS_NONE, YT_EVENTS_PATHS, YT_EVENTS_INLINE } yt_events_kind;

typedef struct yt_events {
    yt_events_kind kind;
    const char **paths; /* as written: relative to the test file */
    size_t npaths;
    char *ndjson; /* inline events, one JSON object per line */
    size_t len;
} yt_events;

typedef struct yt_ids {
    char *text; /* expected ids joined by ',' (how results are printed) */
    size_t len;
} yt_ids;

typedef struct yt_expect {
    bool has_count;
    uint64_t count;
    yt_ids *ids; /* NULL: no ids; else nids alternatives (one for a flat list) */
    size_t nids;
    bool alternatives; /* ids was a list of lists */
} yt_expect;

/* Where `eqlite test --update` writes a test's expect: (byte offsets). */
typedef struct yt_place {
    bool own_expect;                 /* the test has its own expect: (not the defaults') */
    size_t expect_start, expect_end; /* its value's text */
    unsigned expect_col;
    bool expect_block;               /* a block mapping: keys one a line at expect_col */
    size_t insert_at;                /* else: an expect: goes before the test's first key, */
    unsigned insert_col;             /* which is at this column */
    bool insert_flow;                /* in a {...} mapping */
} yt_place;

/* One test's keys, the defaults' filled in. NULL / false: absent. */
typedef struct yt_test {
    const char *name; /* or "test N" */
    unsigned line, col;
    const char *rule, *query, *id_field, *category_field;
    const char *timestamp_field;  /* "" when given as null or '' */
    const char *tiebreaker_field; /* NULL also when given as null */
    bool has_size, has_max_samples_per_key;
    size_t size, max_samples_per_key;
    const char *mappings[YT_MAX_MAPPINGS];
    size_t nmappings;
    const yt_events *events; /* NULL: no events */
    const yt_expect *expect; /* NULL only from yt_load_for_update */
    yt_place place;
} yt_test;

typedef struct yt_file {
    yt_test *tests;
    size_t ntests;
    struct yt_store *store; /* everything the pointers above point into */
} yt_file;

/* Loads `len` bytes of YAML; `name` prefixes messages. Returns true, or false
 * with "name:line:col: message" in err (and *out empty). */
bool yt_load(const char *buf, size_t len, const char *name, yt_file *out, char *err, size_t errcap);
/* The same for --update: a test may lack expect: (expect NULL), and an
 * expect: given by an alias is an error (its text is not the test's). */
bool yt_load_for_update(const char *buf, size_t len, const char *name, yt_file *out, char *err, size_t errcap);
void yt_free(yt_file *f);

#endif
