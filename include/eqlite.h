/*
 * eqlite: an embeddable engine for Elastic's Event Query Language (EQL).
 *
 * Three objects: a schema (field names -> dense ids and types), an immutable
 * program (one compiled rule, shareable read-only between threads) and a
 * per-thread matcher (mutable state). Inputs are pointer + length; every call
 * returns a status; destructors accept NULL. No global state, no printing.
 */
#ifndef EQLITE_H
#define EQLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EQLITE_VERSION_MAJOR 0
#define EQLITE_VERSION_MINOR 1
#define EQLITE_VERSION_PATCH 0
#define EQLITE_VERSION "0.1.0"

#if defined(EQLITE_BUILDING) && defined(__GNUC__)
#define EQLITE_API __attribute__((visibility("default")))
#else
#define EQLITE_API
#endif

typedef enum eqlite_status {
    EQLITE_OK = 0,
    EQLITE_ESYNTAX,   /* rule text does not parse */
    EQLITE_ETYPE,     /* rule parses but the verifier rejects it */
    EQLITE_ENOMEM,    /* the allocator failed */
    EQLITE_ELIMIT,    /* a documented limit was reached (depth, list size, state) */
    EQLITE_EORDER,    /* an event arrived out of (timestamp, tiebreaker) order */
    EQLITE_EMISUSE,   /* invalid argument or call sequence */
    EQLITE_ENOTFOUND, /* a name is not in the schema */
    EQLITE_EINPUT     /* malformed input data (a mapping, an event) */
} eqlite_status;

EQLITE_API const char *eqlite_strerror(eqlite_status status);
EQLITE_API const char *eqlite_version(void);

/* One allocator hook, realloc-style: (ptr=NULL) allocates, (size=0) frees. */
typedef void *(*eqlite_realloc_fn)(void *user, void *ptr, size_t size);
typedef struct eqlite_allocator {
    eqlite_realloc_fn realloc_fn;
    void *user;
} eqlite_allocator;

/* ---- Values and events ------------------------------------------------- */

typedef enum eqlite_kind {
    EQLITE_NULL = 0,
    EQLITE_BOOL,
    EQLITE_INT,    /* int64 */
    EQLITE_DOUBLE,
    EQLITE_STRING, /* UTF-8, pointer + length, not NUL-terminated */
    EQLITE_ARRAY   /* array of non-array values */
} eqlite_kind;

typedef struct eqlite_value {
    uint32_t kind; /* eqlite_kind */
    uint32_t len;  /* string bytes or array elements */
    union {
        int b;
        int64_t i;
        double d;
        const char *s;
        const struct eqlite_value *a;
    } u;
} eqlite_value;

/* A normalized event: fields[id] for each schema field id (ids >= nfields
 * read as null). The timestamp field of the schema reads `timestamp`
 * (nanoseconds since the epoch); `tiebreaker` orders events with equal
 * timestamps (null when unused). `user` comes back in results untouched. */
typedef struct eqlite_event {
    const eqlite_value *fields;
    size_t nfields;
    int64_t timestamp;
    eqlite_value tiebreaker;
    void *user;
} eqlite_event;

/* ---- Schema ------------------------------------------------------------ */

typedef enum eqlite_type {
    EQLITE_T_UNKNOWN = 0, /* type taken from values (grow mode) */
    EQLITE_T_KEYWORD,
    EQLITE_T_WILDCARD,
    EQLITE_T_CONSTANT_KEYWORD,
    EQLITE_T_TEXT, /* not searchable by EQL unless it has a keyword sub-field */
    EQLITE_T_LONG,
    EQLITE_T_INTEGER,
    EQLITE_T_SHORT,
    EQLITE_T_BYTE,
    EQLITE_T_DOUBLE,
    EQLITE_T_FLOAT,
    EQLITE_T_HALF_FLOAT,
    EQLITE_T_SCALED_FLOAT,
    EQLITE_T_BOOLEAN,
    EQLITE_T_IP,
    EQLITE_T_DATE,
    EQLITE_T_DATE_NANOS,
    EQLITE_T_VERSION,
    EQLITE_T_OBJECT
} eqlite_type;

typedef struct eqlite_schema eqlite_schema;

/* `alloc` may be NULL (malloc/free). */
EQLITE_API eqlite_status eqlite_schema_new(const eqlite_allocator *alloc, eqlite_schema **out);
EQLITE_API void eqlite_schema_free(eqlite_schema *schema);
/* Adds a field (or returns the id it already has). */
EQLITE_API eqlite_status eqlite_schema_add(eqlite_schema *schema, const char *name, size_t len,
                                           eqlite_type type, uint32_t *id_out);
/* `name` resolves to the same id as `target` (which must exist). */
EQLITE_API eqlite_status eqlite_schema_add_alias(eqlite_schema *schema, const char *name,
                                                 size_t len, const char *target, size_t tlen);
/* Loads an Elasticsearch index mapping ({"mappings":{"properties":...}} or a
 * bare {"properties":...}); nested objects become dotted names; `fields`
 * sub-fields of text fields become name.sub. Merges with what is there. */
EQLITE_API eqlite_status eqlite_schema_load_mapping(eqlite_schema *schema, const char *json,
                                                    size_t len, char *errbuf, size_t errcap);
/* Grow mode: compiling a rule that names an unknown field adds it. */
EQLITE_API void eqlite_schema_set_grow(eqlite_schema *schema, int grow);
/* Field names with a special role (defaults: event.category, @timestamp). */
EQLITE_API eqlite_status eqlite_schema_set_category_field(eqlite_schema *schema, const char *name,
                                                          size_t len);
EQLITE_API eqlite_status eqlite_schema_set_timestamp_field(eqlite_schema *schema,
                                                           const char *name, size_t len);
EQLITE_API eqlite_status eqlite_schema_set_tiebreaker_field(eqlite_schema *schema,
                                                            const char *name, size_t len);
EQLITE_API eqlite_status eqlite_schema_lookup(const eqlite_schema *schema, const char *name,
                                              size_t len, uint32_t *id_out);
EQLITE_API size_t eqlite_schema_field_count(const eqlite_schema *schema);
/* Name (NUL-terminated, owned by the schema) and type of field `id`; NULL if out of range. */
EQLITE_API const char *eqlite_schema_field_name(const eqlite_schema *schema, uint32_t id,
                                                eqlite_type *type_out);

/* ---- Compiling --------------------------------------------------------- */

/* First error only. offset/length are bytes into the rule text; line and
 * column are 1-based (column counts bytes). */
typedef struct eqlite_diag {
    eqlite_status code;
    size_t offset;
    size_t length;
    unsigned line;
    unsigned column;
    char message[512];
} eqlite_diag;

/* Renders "line:col: message", the source line and a caret/tilde underline
 * into buf (always NUL-terminated when cap > 0); returns the length needed. */
EQLITE_API size_t eqlite_diag_format(const eqlite_diag *diag, const char *src, size_t len,
                                     char *buf, size_t cap);

typedef struct eqlite_program eqlite_program;

/* Compiles one rule against `schema` (which must outlive the program; in grow
 * mode it gains the fields the rule names). `diag` may be NULL. */
EQLITE_API eqlite_status eqlite_compile(eqlite_schema *schema, const char *src, size_t len,
                                        eqlite_program **out, eqlite_diag *diag);
EQLITE_API void eqlite_program_free(eqlite_program *program);
/* Field ids the program reads (for projection), count in *n. */
EQLITE_API const uint32_t *eqlite_program_fields(const eqlite_program *program, size_t *n);
/* Human-readable disassembly into buf (NUL-terminated when cap > 0); *needed
 * (may be NULL) gets the size including the NUL. EQLITE_ELIMIT when cap is
 * too small; (NULL, 0) asks for the size only. */
EQLITE_API eqlite_status eqlite_program_explain(const eqlite_program *program, char *buf,
                                                size_t cap, size_t *needed);
typedef enum eqlite_query_kind {
    EQLITE_QUERY_INVALID = -1, /* a NULL program */
    EQLITE_QUERY_EVENT = 0,
    EQLITE_QUERY_SEQUENCE = 1,
    EQLITE_QUERY_SAMPLE = 2
} eqlite_query_kind;
EQLITE_API eqlite_query_kind eqlite_program_kind(const eqlite_program *program);

/* Prints a rule in the canonical layout (`eqlite fmt`); *needed gets the
 * buffer size required. Parses only: no schema, no verification. */
EQLITE_API eqlite_status eqlite_format(const char *src, size_t len, char *buf, size_t cap,
                                       size_t *needed, eqlite_diag *diag);
/* Whether two rules parse to the same syntax tree (fmt round-trip checks). */
EQLITE_API eqlite_status eqlite_parse_equal(const char *a, size_t alen, const char *b,
                                            size_t blen, int *equal);

/* Folds a constant expression (`eqlite eval`). Strings in *out point into
 * `buf` (NUL-terminated). */
EQLITE_API eqlite_status eqlite_eval_constant(const char *src, size_t len, eqlite_value *out,
                                              char *buf, size_t cap, eqlite_diag *diag);

/* ---- Matching ---------------------------------------------------------- */

typedef struct eqlite_matcher eqlite_matcher;

/* A result: for an event query one event; for a sequence or sample one event
 * per position, NULL for a missing-event position; join key values. Valid only
 * during the callback. */
typedef struct eqlite_result {
    const eqlite_program *program;
    size_t nevents;
    const eqlite_event *const *events;
    size_t nkeys;
    const eqlite_value *keys;
} eqlite_result;

/* Return 0 to continue, non-zero to stop the current feed. */
typedef int (*eqlite_callback)(void *user, const eqlite_result *result);

typedef struct eqlite_limits {
    size_t max_partials;     /* pending sequence partials (all keys); oldest evicted */
    size_t max_keys;         /* distinct join keys held; oldest evicted */
    size_t size;             /* results in total (0 = unlimited) */
    size_t max_samples_per_key;
} eqlite_limits;

EQLITE_API eqlite_status eqlite_matcher_new(const eqlite_program *program,
                                            const eqlite_limits *limits, eqlite_matcher **out);
EQLITE_API void eqlite_matcher_free(eqlite_matcher *matcher);
/* Event queries: *matched = 1 if the event matches. No allocation. */
EQLITE_API eqlite_status eqlite_match(eqlite_matcher *matcher, const eqlite_event *event,
                                      int *matched);
/* Streaming form for every kind of query; events in (timestamp, tiebreaker) order. */
EQLITE_API eqlite_status eqlite_feed(eqlite_matcher *matcher, const eqlite_event *event,
                                     eqlite_callback cb, void *user);
/* End of stream: settles trailing missing events, samples and `tail`. */
EQLITE_API eqlite_status eqlite_flush(eqlite_matcher *matcher, eqlite_callback cb, void *user);

typedef struct eqlite_stats {
    uint64_t events;
    uint64_t matches;
    uint64_t pending;     /* partials held now */
    uint64_t evicted;     /* partials evicted by a limit */
    uint64_t expired;     /* partials dropped by maxspan */
    uint64_t dropped;     /* events dropped (null join key, ...) */
    uint64_t out_of_order;
} eqlite_stats;
EQLITE_API void eqlite_matcher_stats(const eqlite_matcher *matcher, eqlite_stats *out);

/* Hold hook: sequences, samples and `tail` keep copies of events that a later
 * result may still name. hook(hook_user, event->user, 1) is called when the
 * matcher starts keeping a copy of an event, hook(hook_user, event->user, 0)
 * when it lets that copy go (also while the matcher is freed). Once every
 * copy of an event is let go, no later result names it: a caller that holds
 * the event's source (a queued message) can release or acknowledge it then.
 * Set it before the first event; NULL turns it off. */
typedef void (*eqlite_hold_fn)(void *hook_user, void *event_user, int held);
EQLITE_API eqlite_status eqlite_matcher_set_hold_hook(eqlite_matcher *matcher, eqlite_hold_fn hook,
                                                      void *hook_user);

/* ======================================================================
 * Rulesets
 *
 * Many rules compiled against one schema and evaluated together, the YARA
 * split: an immutable ruleset (shareable read-only between threads once
 * finished) and a light per-thread scanner. Rules are indexed by guards
 * read from their compiled code: field values every match needs (the event
 * category, `process.name : (...)` sets, wildcard head/tail literals, field
 * presence), so an event runs only the rules whose guards it meets;
 * sequences are fed only events one of their stages can take.
 *
 *   eqlite_ruleset_new(schema, &rs);
 *   eqlite_ruleset_add(rs, src, len, "name", "id", &diag);   (each rule)
 *   eqlite_ruleset_finish(rs);                  (builds the index; freezes)
 *   eqlite_scanner_new(rs, NULL, &sc);          (one per thread)
 *   eqlite_ruleset_match(sc, &event, on_match, user);  (each event, in order)
 *   eqlite_ruleset_flush(sc, on_match, user);          (end of stream)
 * ====================================================================== */

typedef struct eqlite_ruleset eqlite_ruleset;
typedef struct eqlite_scanner eqlite_scanner;

/* What a callback learns about the rule that matched. Strings are owned by
 * the ruleset. */
typedef struct eqlite_rule_info {
    size_t index;                  /* order of eqlite_ruleset_add, from 0 */
    const char *name;              /* "" when none was given */
    const char *id;                /* "" when none was given */
    const eqlite_program *program;
    const char *category;          /* category of an event query; NULL for any / sequences / samples */
} eqlite_rule_info;

/* Return 0 to continue, non-zero to stop evaluating the current event. */
typedef int (*eqlite_rule_callback)(void *user, const eqlite_rule_info *rule, const eqlite_result *result);

/* Rules compile against `schema`, which must outlive the ruleset (in grow
 * mode it gains the fields the rules name). */
EQLITE_API eqlite_status eqlite_ruleset_new(eqlite_schema *schema, eqlite_ruleset **out);
EQLITE_API void eqlite_ruleset_free(eqlite_ruleset *rs);
/* Compiles one rule into the set. `name` and `id` are NUL-terminated labels
 * (copied; may be NULL). On error the set is unchanged and `diag` (may be
 * NULL) says why. EQLITE_EMISUSE after eqlite_ruleset_finish. */
EQLITE_API eqlite_status eqlite_ruleset_add(eqlite_ruleset *rs, const char *src, size_t len, const char *name,
                                            const char *id, eqlite_diag *diag);
/* Builds the guard index; afterwards the ruleset is immutable. */
EQLITE_API eqlite_status eqlite_ruleset_finish(eqlite_ruleset *rs);
EQLITE_API size_t eqlite_ruleset_count(const eqlite_ruleset *rs);
EQLITE_API eqlite_status eqlite_ruleset_rule(const eqlite_ruleset *rs, size_t index, eqlite_rule_info *out);

/* Per-thread state over a finished ruleset (EQLITE_EMISUSE otherwise).
 * `limits` (may be NULL) applies to each sequence / sample rule. */
EQLITE_API eqlite_status eqlite_scanner_new(const eqlite_ruleset *rs, const eqlite_limits *limits,
                                            eqlite_scanner **out);
EQLITE_API void eqlite_scanner_free(eqlite_scanner *sc);
/* Runs the rules that can match `event`; matches come back through `cb`
 * (may be NULL), in rule order. Events in
 * (timestamp, tiebreaker) order. Every rule runs even if one fails; the
 * first failure's status is returned. Event queries allocate nothing. */
EQLITE_API eqlite_status eqlite_ruleset_match(eqlite_scanner *sc, const eqlite_event *event,
                                              eqlite_rule_callback cb, void *user);
/* End of stream: settles sequences, samples and `tail` pipes. */
EQLITE_API eqlite_status eqlite_ruleset_flush(eqlite_scanner *sc, eqlite_rule_callback cb, void *user);

typedef struct eqlite_scanner_stats {
    uint64_t events;
    uint64_t rules_run; /* rule evaluations: the index keeps this low */
    uint64_t matches;
    uint64_t errors;    /* rule evaluations that returned an error status */
} eqlite_scanner_stats;
EQLITE_API void eqlite_scanner_stats_get(const eqlite_scanner *sc, eqlite_scanner_stats *out);
/* The hold hook (see eqlite_matcher_set_hold_hook) for every rule of the
 * scanner; plain event queries never hold an event. */
EQLITE_API eqlite_status eqlite_scanner_set_hold_hook(eqlite_scanner *sc, eqlite_hold_fn hook, void *hook_user);

/* ====================================================================== */

#ifdef __cplusplus
}
#endif
#endif
