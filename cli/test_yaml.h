/* test_yaml.h: reads and checks the YAML of `eqlite test` (format in
 * test.c). A file is loaded whole and checked before any test runs: every
 * key known, no key twice, every value of its type, one document, and the
 * limits below; the first problem is reported as "name:line:col: message". */
#ifndef EQ_CLI_TEST_YAML_H
#define EQ_CLI_TEST_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/ndjson.h"

/* Nesting of mappings and sequences in the file, aliases expanded: the NDJSON
 * reader's limit, which inline events reach anyway. */
#define YT_MAX_DEPTH EQ_NDJSON_MAX_DEPTH
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
    const yt_expect *expect;
} yt_test;

typedef struct yt_file {
    yt_test *tests;
    size_t ntests;
    struct yt_store *store; /* everything the pointers above point into */
} yt_file;

/* Loads `len` bytes of YAML; `name` prefixes messages. Returns true, or false
 * with "name:line:col: message" in err (and *out empty). */
bool yt_load(const char *buf, size_t len, const char *name, yt_file *out, char *err, size_t errcap);
void yt_free(yt_file *f);

#endif
