/* engine.h: what `eqlite query`, `eqlite test` and `eqlite bench` share:
 * one schema, the compiled rules, the NDJSON projection, and the loops that
 * read events and feed them to one matcher per rule.
 *
 * Three ways to run:
 *   - chunked (event queries over plain NDJSON files, no head/tail pipe,
 *     no --size): the file is mapped and cut into ~4 MiB chunks at line
 *     ends; with -j N, N threads each run their own matchers over a chunk;
 *     results are written in input order; pages are dropped once written;
 *   - streaming (event queries over stdin, .gz, JSON arrays, or with pipes):
 *     one reader, one pass, memory flat in the input size;
 *   - ordered (any rule is a sequence or sample, or has `| tail`): one
 *     runner sees every input in (timestamp, tiebreaker) order.
 *     Plain files are checked first (order_check.c) and, when in order (the
 *     usual case), streamed in one pass; otherwise, and for .gz files and
 *     JSON arrays, sorted by an index of 24 bytes an event (sort_index.c).
 *     Stdin is never sorted: an event older than the one before it still
 *     reaches event queries, is lost to sequences and samples, and is counted
 *     in one note at the end. Memory: what sequences and samples hold (each
 *     kept event with a copy of its text) plus constant, plus the index when
 *     sorting. */
#ifndef EQ_CLI_ENGINE_H
#define EQ_CLI_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h> /* rules_io.h needs FILE */

#include "eqlite.h"
#include "eqlite_io.h"
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
    bool reject_malformed; /* a value that cannot take its field's type makes the record bad */
    int64_t reorder_window; /* ns: stdin events wait this long for older ones (0 = none) */
    size_t memory_limit; /* bytes of sort index held in memory before runs spill to disk; 0 = 256 MiB */
} eng_options;

typedef struct eng_rule {
    const eqlite_program *prog; /* owned by eng.rs */
    char *id;   /* rule id, or "file:line" when the rule has none */
    char *name; /* NULL when the rule has none */
    int kind;   /* 0 event query, 1 sequence, 2 sample */
    char *text; /* the rule's source, for the -j split (eng_split) */
    size_t len;
    bool plain; /* an event query without pipes: any chunk can run it alone */
    eqlite_program_info info; /* kind, pipes, stages and keys */
} eng_rule;

/* Which rules a runner runs: all, or one side of the -j split. The
 * ordered side's runner is a scanner over every rule: fed the marks of a
 * plain side's runner it runs the ordered rules alone, fed a whole event it
 * runs every rule in rule order, as ENG_ALL would (the -j writer does that
 * with events it reads itself, so they are indexed once). */
typedef enum eng_subset { ENG_ALL, ENG_PLAIN, ENG_ORDERED } eng_subset;

/* The -j split of an ordered run: plain event queries run in the chunk
 * workers, the rest (sequences, samples, piped rules) in one thread that sees
 * every event in order. Both sides run scanners of e->rs, each selecting its
 * own rules (one bit per rule), so a worker's guard marks serve both. */
typedef struct eng_side {
    uint64_t *rules; /* (e->nrules + 63) / 64 words */
} eng_side;

/* A result's place, for merging the two sides back into -j 1 order: the
 * event (within a chunk), the rule, and where its text ends in the output. */
typedef struct eng_tag {
    uint32_t event;
    uint32_t rule;
    uint64_t end;
} eng_tag;

/* Carried in eqlite_event.user: the event's original JSON text. A record a
 * source profile converted has no text until a result needs it (the reader's
 * lazy_text): text is NULL and `reader`, still on that record, writes it. */
typedef struct eng_text {
    const char *text;
    size_t len;
    eqlite_reader *reader; /* NULL: text is all there is */
} eng_text;

/* The text itself, written now when the reader deferred it; text is NULL
 * when that ran out of memory. */
eng_text eng_text_now(const eng_text *t);

/* Per rule, for --stats: results, events it ran on, nanoseconds it took. */
typedef struct eng_rule_count {
    uint64_t hits, runs, ns;
} eng_rule_count;

/* What a run is doing, for the progress line (progress.h). */
typedef enum eng_step { ENG_STEP_MATCH, ENG_STEP_CHECK_ORDER, ENG_STEP_INDEX, ENG_STEP_SORT } eng_step;
typedef struct eng_place {
    eng_step step;
    const char *file;       /* the input being read, or NULL */
    size_t file_no, nfiles; /* file_no counts from 1 within a step */
    uint64_t total;         /* index, sort: events so far; match after a sort: events to feed */
} eng_place;

typedef struct eng_totals {
    uint64_t events, bytes, matches, bad, out_of_order;
} eng_totals;

/* One result of rule `rule`, to be written (if at all) into `out`; return
 * non-zero to stop the run. Parallel runs call it from worker threads, each
 * with its own `out`. */
typedef int (*eng_sink_fn)(void *user, eq_strbuf *out, size_t rule, const eqlite_result *r);
/* Progress hook, called every few thousand events from the main thread. */
typedef void (*eng_tick_fn)(void *user, const eng_totals *t);

/* Bad-record messages are grouped by kind (the reason up to its first quote):
 * the first ENG_BAD_SHOWN of a kind are printed, the rest counted and summed
 * up once at the end, so one systematic problem is not thousands of lines. */
#define ENG_BAD_SHOWN 5
#define ENG_BAD_KINDS 32
typedef struct eng_bad_kind {
    char text[96];
    uint64_t count;
} eng_bad_kind;
/* Events that sequences and samples could not take, counted per reason and
 * reported once at the end with the first one's place. */
typedef enum eng_late_reason { ENG_LATE_OUT_OF_ORDER, ENG_LATE_BEYOND_WINDOW, ENG_LATE_REASONS } eng_late_reason;
typedef struct eng_late {
    uint64_t count;
    char first[512]; /* file:line of the first */
} eng_late;

/* Values the reader dropped (ignore_malformed), per field: the first is
 * printed when met, the count at the end; fields past the table are only
 * counted (eng.malformed_other). */
#define ENG_MALFORMED_FIELDS 32
typedef struct eng_malformed {
    char field[128];
    uint64_t count;
    char first[512]; /* file:line of the first */
} eng_malformed;

#define ENG_MAX_SOURCES 64 /* profiles the sources line names */

typedef struct eng_early_check eng_early_check;

typedef struct eng {
    eng_options opt;
    eng_bad_kind bad_kinds[ENG_BAD_KINDS];
    size_t nbad_kinds;
    size_t unknown_fields; /* fields rules read that neither ECS nor a mapping names */
    eqlite_schema *schema;
    /* Every rule is compiled into one ruleset (index = position in rules[]);
     * a run with several rules evaluates them through its category-indexed
     * scanner, a run with one rule through a plain matcher. */
    eqlite_ruleset *rs;
    eng_rule *rules;
    size_t nrules;
    uint32_t *fields;        /* projection: the schema ids any rule reads */
    size_t nfields;
    eqlite_mapping *mapping; /* the mappings' date formats, ignore_above, null_value, multi-fields */
    bool ordered;   /* some rule is a sequence or a sample, or has a tail pipe */
    bool has_pipes; /* some rule has head/tail (parallel runs would cut per chunk) */
    uint32_t category_id; /* schema id of the category field */
    eqlite_sources *profiles; /* NULL with --source none */
    uint64_t reread_sources[ENG_MAX_SOURCES]; /* per profile: records a run reads twice, counted once */
    eng_sink_fn sink;
    void *sink_user;
    eq_strbuf *out; /* where results go in the main thread (may be NULL) */
    int out_fd;  /* out is written here in large blocks; -1 = never */
    eng_tick_fn tick;
    void *tick_user;
    eng_place place;
    eng_totals totals;
    eng_late late[ENG_LATE_REASONS];
    eng_malformed malformed[ENG_MALFORMED_FIELDS];
    size_t nmalformed;
    uint64_t malformed_other; /* values of fields past the table */
    eng_side sides[2];   /* ENG_PLAIN - 1, ENG_ORDERED - 1: built by eng_split */
    uint8_t *ordered_fields; /* by schema id: 1 when an ordered rule reads it (what workers copy) */
    size_t nordered_fields;  /* entries in ordered_fields (the schema's field count) */
    /* per rule (e->nrules), set by the caller before a run to have runners
     * count and time every rule (a cost per rule run); owned by the caller */
    eng_rule_count *rule_counts;
    eqlite_stats *state; /* per rule: sequence / sample state at the end (NULL until a run ends) */
    size_t reorder_peak; /* most events waiting in the reorder window at once */
    bool hush; /* no end-of-run notes (bench repeats) */
    eng_early_check *early_check; /* eng_order_check_begin's, until taken or cancelled */
    bool stopped;
} eng;

/* Counts a bad record and prints "file:line: reason" while its kind is new. */
void eng_report_bad(eng *e, const char *file, uint64_t line, const char *reason);
/* One line per kind of bad record that was cut short, with a hint when it
 * is the timestamp; call once at the end of a run. */
void eng_report_bad_summary(eng *e);

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
void eng_reader_options(const eng *e, eqlite_reader_options *o, const char *display_name);
/* The same, extracting only the timestamp and tiebreaker (order checks, the sort index). */
void eng_order_reader_options(const eng *e, eqlite_reader_options *o, const char *display_name);
/* Runs every rule over the inputs ("-" = stdin) in order. jobs > 1 runs
 * event queries over plain files in parallel. Returns 0, or 2 on unreadable
 * input / a bad record under --strict / an engine error. */
int eng_run(eng *e, char *const *paths, size_t npaths, int jobs);
/* Runs over an NDJSON buffer in memory (unit tests). */
int eng_run_memory(eng *e, const char *data, size_t len, const char *display_name);
void eng_free(eng *e);
/* Join key k of a result of rule `rule`, as Elasticsearch returns it: a
 * date key in its mapping's format, other values as JSON. */
void eng_write_key(const eng *e, size_t rule, size_t k, const eqlite_value *v, eq_strbuf *out);

/* Internal to the engine files: the per-thread state that runs every rule
 * (a ruleset scanner, or one matcher for a single rule). */
typedef struct eng_runner eng_runner;
eng_runner *eng_runner_new(eng *e, eq_strbuf *out);
/* Builds the two sides of the -j split (once). 0, or 2 (message said). */
int eng_split(eng *e);
/* A runner over one side of the split (after eng_split). */
eng_runner *eng_runner_new_subset(eng *e, eq_strbuf *out, eng_subset which);
/* Results are also tagged into `tags` (eng_tag records), as event `event`. */
void eng_runner_set_tags(eng_runner *r, eq_strbuf *tags, uint32_t event);
void eng_runner_set_out(eng_runner *r, eq_strbuf *out);
/* Feeds one event to every matcher. 0, or 2 on an engine error. An
 * out-of-order event is reported (file:line) and counted, not fatal. */
int eng_runner_feed(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec);
/* eng_runner_feed by a runner over one side of the split, which also
 * writes the event's marks for the other side: up to
 * eqlite_ruleset_marks_words(e->rs) words, *nmarks of them used. `idle`:
 * the marks of rules holding no partial alone (cheaper; enough while the
 * other side holds none, else eng_runner_mark_ordered marks it again). */
int eng_runner_feed_mark(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, uint64_t *marks,
                         size_t *nmarks, bool idle);
/* The ordered side's full marks of an event, made by its own runner
 * between two feeds. 0, or 2 on an engine error. */
int eng_runner_mark_ordered(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, uint64_t *marks,
                            size_t *nmarks);
/* Whether some sequence of r holds partials (marks of the idle plane
 * alone then do not serve it). */
bool eng_runner_holds_partials(const eng_runner *r);
/* eng_runner_feed with the event's marks from eng_runner_feed_mark (a runner
 * over the other side of the split; marks NULL: it marks the event itself). */
int eng_runner_feed_marked(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, const uint64_t *marks);
/* eng_runner_feed, with the guard index of `index` (a runner of this
 * thread: its value cache stays in this core's cache). */
int eng_runner_feed_indexed(eng_runner *r, eng_runner *index, const eqlite_event *ev, const eqlite_record *rec);
/* Whether eng_runner_feed_marked(r, ev, rec, marks) would read ev's fields
 * now (else an event with ev's time alone gives the same). */
bool eng_runner_needs_fields(const eng_runner *r, const uint64_t *marks);
/* Records whose line is not the one in their file (a chunk of -j, an event
 * read back for a sort): line_of gives it, counted only for a message. */
typedef uint64_t (*eng_line_of)(void *ctx, const eqlite_record *rec);
void eng_runner_set_lines(eng_runner *r, eng_line_of line_of, void *ctx);
uint64_t eng_count_lines(const char *p, size_t n); /* line ends in p[0, n) */
int eng_runner_flush(eng_runner *r);
bool eng_runner_stopped(const eng_runner *r);
uint64_t eng_runner_matches(const eng_runner *r);
void eng_runner_free(eng_runner *r);
/* End of a run: flushes r when status is 0, adds its matches and state to e,
 * frees it (r may be NULL); returns the run's status. */
int eng_runner_finish(eng *e, eng_runner *r, int status);
/* Adds the runner's per-rule state counters to e->state (main thread only). */
void eng_runner_collect_state(eng_runner *r);
/* One stderr line for each rule that lost partials at a state limit. */
void eng_report_lost_state(const eng *e);

/* Counts an event sequences and samples could not take (rec may be NULL). */
void eng_note_late(eng *e, const eqlite_record *rec, eng_late_reason why);
/* One stderr line per reason that happened. */
void eng_report_late(const eng *e);
/* A record whose reader dropped a malformed value (its notice): printed the
 * first time per field, counted after. */
void eng_note_malformed(eng *e, const char *file, uint64_t line, const char *notice);
/* One stderr line per field with values ignored as malformed: the count and
 * the first one's place. */
void eng_report_malformed(const eng *e);
/* Records with a value ignored as malformed, over every field. */
uint64_t eng_malformed_records(const eng *e);
/* Whether plain files, read one after the other, are in (timestamp,
 * tiebreaker) order (order_check.c), checked in `jobs` threads when the
 * line starts can tell. 0, or 2 when a file is unreadable. */
int eng_files_in_order(eng *e, char *const *paths, size_t npaths, int jobs, bool *in_order);
/* With -j, begins that check (for these very paths) in a thread of its
 * own, to run while the rules compile on this one (the other core is idle
 * then); eng_files_in_order finishes it. Nothing begins when the fast check
 * cannot decide (stdin, gzip, a date format...). */
void eng_order_check_begin(eng *e, char *const *paths, size_t npaths, int jobs);
/* Stops and drops a check begun early (the rules need no order). */
void eng_order_check_cancel(eng *e);
/* The same for an NDJSON buffer (the reader decides). */
int eng_memory_in_order(eng *e, const char *data, size_t len, bool *in_order);
/* Sorted runs (sort_index.c): every input through an index sorted on
 * (timestamp, tiebreaker), then fed in that order by one runner. */
int eng_run_ordered(eng *e, char *const *paths, size_t npaths);
int eng_run_ordered_memory(eng *e, const char *data, size_t len, const char *display_name);
/* `jobs` threads, this one included (parallel.c). `ordered` (a runner over
 * ENG_ORDERED, or NULL when every rule is plain): each thread runs the plain
 * rules over chunks and keeps the events' marks and copies; whichever thread
 * writes a chunk feeds them to `ordered` in input order and merges results
 * (the thread reading the next chunk to write feeds its events as it reads). */
int eng_run_parallel(eng *e, const char *path, int jobs, eng_runner *ordered);
bool eng_can_split(const char *path);
/* "sources: NAME N ... unknown-shape N" (the records each profile took) to f. */
void eng_print_sources(const eng *e, FILE *f);
/* The records rd read are read again by the run (an order check, a sort's
 * index): the sources line counts them once. Call before closing rd. */
void eng_uncount_sources(eng *e, const eqlite_reader *rd);
/* progress.c: the run starts reading `path` at `step` (counts the inputs of
 * the step), or moves to a step over no one file; both call e->tick. */
void eng_progress_file(eng *e, eng_step step, const char *path);
void eng_progress_step(eng *e, eng_step step, uint64_t total);
/* Says on stderr that an allocation failed (`what` was being done); returns 2. */
int eng_out_of_memory(const char *what);

#endif
