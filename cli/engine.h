/* engine.h: what `eqlite query`, `eqlite test` and `eqlite bench` share:
 * one schema, the compiled rules, the NDJSON projection, and the loops that
 * read events and feed them to one matcher per rule.
 *
 * Three ways to run:
 *   - chunked (event queries over plain NDJSON files, no head/tail pipe,
 *     no --size): the file is mapped and cut into ~4 MiB chunks at line
 *     ends; with -j N, N workers each run their own matchers over a chunk;
 *     results are written in input order; pages are dropped once written;
 *   - streaming (event queries over stdin, .gz, JSON arrays, or with pipes):
 *     one reader, one pass, memory flat in the input size;
 *   - ordered (any rule is a sequence or sample, or has `| tail`): every input is read once
 *     into memory (the events' text, NDJSON), sorted by (timestamp,
 *     tiebreaker, input position) unless already in order, then fed. Memory:
 *     the decompressed text of the accepted events (twice at the peak when a
 *     sort is needed) plus about 64 bytes per event. Stdin is never sorted:
 *     an event older than the one before it is reported and skipped. */
#ifndef EQ_CLI_ENGINE_H
#define EQ_CLI_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* rules_io.h needs FILE */

#include "eqlite.h"
#include "io/ndjson.h"
#include "outbuf.h"
#include "rules_io.h"

typedef struct eng_options {
    const char *const *mappings; /* Elasticsearch mapping files, merged in order */
    size_t nmappings;
    const char *category_field;   /* NULL: event.category */
    const char *timestamp_field;  /* NULL: @timestamp; "": none (every event at 0) */
    const char *tiebreaker_field; /* NULL: none */
    eqlite_limits limits;
    /* Raw records -> ECS: "auto" (NULL; each record's shape picks its source
     * profile), "none", or a profile name; extra profile files to load. */
    const char *source;
    const char *const *profile_files;
    size_t nprofile_files;
    bool no_ecs;     /* no built-in ECS field types (only mappings and values) */
    bool strict;     /* first bad record is fatal */
    bool quiet_bad;  /* count bad records without printing them */
} eng_options;

typedef struct eng_rule {
    const eqlite_program *prog; /* owned by eng.rs */
    char *id;   /* rule id, or "file:line" when the rule has none */
    char *name; /* NULL when the rule has none */
    int kind;   /* 0 event query, 1 sequence, 2 sample */
} eng_rule;

/* Carried in eqlite_event.user: the event's original JSON text. */
typedef struct eng_text {
    const char *text;
    size_t len;
} eng_text;

typedef struct eng_totals {
    uint64_t events, bytes, matches, bad, out_of_order;
} eng_totals;

/* One result of rule `rule`, to be written (if at all) into `out`; return
 * non-zero to stop the run. Parallel runs call it from worker threads, each
 * with its own `out`. */
typedef int (*eng_sink_fn)(void *user, outbuf *out, size_t rule, const eqlite_result *r);
/* Progress hook, called every few thousand events from the main thread. */
typedef void (*eng_tick_fn)(void *user, const eng_totals *t);

typedef struct eng {
    eng_options opt;
    eqlite_schema *schema;
    /* Every rule is compiled into one ruleset (index = position in rules[]);
     * a run with several rules evaluates them through its category-indexed
     * scanner, a run with one rule through a plain matcher. */
    eqlite_ruleset *rs;
    eng_rule *rules;
    size_t nrules;
    eq_ndjson_field *fields; /* projection: the fields any rule reads */
    eq_ndjson_conv *conv;    /* parallel to fields: the mapped type each converts to */
    size_t nfields;
    char **formats;          /* per schema id: the mappings' date formats joined by "||" (or NULL) */
    size_t nformats;
    bool ordered;   /* some rule is a sequence or a sample, or has a tail pipe */
    bool has_pipes; /* some rule has head/tail (parallel runs would cut per chunk) */
    uint32_t category_id; /* schema id of the category field */
    eq_profiles *profiles; /* NULL with --source none */
    int source;            /* EQ_NDJSON_SOURCE_AUTO or a profile index */
    eng_sink_fn sink;
    void *sink_user;
    outbuf *out; /* where results go in the main thread (may be NULL) */
    int out_fd;  /* out is written here in large blocks; -1 = never */
    eng_tick_fn tick;
    void *tick_user;
    eng_totals totals;
    bool stopped;
    bool out_of_memory; /* a mapping's date format could not be kept */
} eng;

/* Schema and mappings. Returns 0, or 2 when a mapping is unreadable or bad
 * (message on stderr). */
int eng_init(eng *e, const eng_options *opt);
/* Compiles rules (diagnostics with a caret on stderr). `origin` names the
 * file for "file:line" ids. Returns 0 or 1 (some rule is invalid). */
int eng_add_rules(eng *e, const cli_rules *rules, const char *origin);
/* Finishes the ruleset and builds the projection; call after the last
 * eng_add_rules. */
int eng_prepare(eng *e);
/* Reader options for this engine (pointers into e). */
void eng_reader_options(const eng *e, eq_ndjson_options *o, const char *display_name);
/* Runs every rule over the inputs ("-" = stdin) in order. jobs > 1 runs
 * event queries over plain files in parallel. Returns 0, or 2 on unreadable
 * input / a bad record under --strict / an engine error. */
int eng_run(eng *e, char *const *paths, size_t npaths, int jobs);
/* Runs over an NDJSON buffer in memory (unit tests). */
int eng_run_memory(eng *e, const char *data, size_t len, const char *display_name);
void eng_free(eng *e);

/* Internal to the engine files: the per-thread state that runs every rule
 * (a ruleset scanner, or one matcher for a single rule). */
typedef struct eng_runner eng_runner;
eng_runner *eng_runner_new(eng *e, outbuf *out);
void eng_runner_set_out(eng_runner *r, outbuf *out);
/* Feeds one event to every matcher. 0, or 2 on an engine error. An
 * out-of-order event is reported (file:line) and counted, not fatal. */
int eng_runner_feed(eng_runner *r, const eqlite_event *ev, const eq_ndjson_record *rec);
int eng_runner_flush(eng_runner *r);
bool eng_runner_stopped(const eng_runner *r);
uint64_t eng_runner_matches(const eng_runner *r);
void eng_runner_free(eng_runner *r);

int eng_run_ordered(eng *e, char *const *paths, size_t npaths);
int eng_run_ordered_memory(eng *e, const char *data, size_t len, const char *display_name);
int eng_run_parallel(eng *e, const char *path, int jobs);
bool eng_can_split(const char *path);
void eng_report_bad(eng *e, const char *file, uint64_t line, const char *reason);
/* "sources: NAME N ... unknown-shape N" (the records each profile took) to f. */
void eng_print_sources(const eng *e, FILE *f);
/* Says on stderr that an allocation failed (`what` was being done); returns 2. */
int eng_out_of_memory(const char *what);

#endif
