/**
 * @file eqlite.h
 * @brief eqlite: an embeddable engine for Elastic's Event Query Language (EQL).
 *
 * Three objects: a schema (field names -> dense ids and types), an immutable
 * program (one compiled rule, shareable read-only between threads) and a
 * per-thread matcher (mutable state). Inputs are pointer + length; every call
 * returns a status; destructors accept NULL. No global state, no printing.
 *
 * Conventions every function follows unless its comment says otherwise:
 * - **Ownership**: an object made by `*_new` or eqlite_compile() is the
 *   caller's, freed by its `*_free`; pointers passed in are borrowed for the
 *   call only; strings returned are owned by the object that returned them.
 * - **Lifetime**: a program needs its schema, a matcher its program, a
 *   scanner its ruleset, and all of them the allocator they were made with.
 * - **Thread-safety**: no global state, so calls on different objects may run
 *   on any threads. One object is used by one thread at a time, except
 *   programs and finished rulesets, which any number of threads may read
 *   (eqlite_matcher_new(), eqlite_scanner_new()) at once.
 */
#ifndef EQLITE_H
#define EQLITE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EQLITE_VERSION_MAJOR 0       /**< incompatible API changes */
#define EQLITE_VERSION_MINOR 1       /**< compatible additions */
#define EQLITE_VERSION_PATCH 0       /**< fixes */
#define EQLITE_VERSION "0.1.0"       /**< the three as text; eqlite_version() gives the library's */

/** Marks the public functions: the only symbols libeqlite exports. */
#if defined(EQLITE_BUILDING) && defined(__GNUC__)
#define EQLITE_API __attribute__((visibility("default")))
#else
#define EQLITE_API
#endif

/** What every call returns. */
typedef enum eqlite_status {
    EQLITE_OK = 0,    /**< success */
    EQLITE_ESYNTAX,   /**< rule text does not parse */
    EQLITE_ETYPE,     /**< rule parses but the verifier rejects it */
    EQLITE_ENOMEM,    /**< the allocator failed */
    EQLITE_ELIMIT,    /**< a documented limit was reached (depth, list size, state) */
    EQLITE_EORDER,    /**< an event arrived out of (timestamp, tiebreaker) order */
    EQLITE_EMISUSE,   /**< invalid argument or call sequence */
    EQLITE_ENOTFOUND, /**< a name is not in the schema */
    EQLITE_EINPUT,    /**< malformed input data (a mapping, an event) */
    EQLITE_EARITH     /**< integer overflow or integral division by zero: Elasticsearch fails the query */
} eqlite_status;

/**
 * @brief A short English description of @p status.
 * @param status  any value.
 * @return a static NUL-terminated string (never NULL; "unknown status" for a
 *         value outside the enum). Thread-safe.
 */
EQLITE_API const char *eqlite_strerror(eqlite_status status);
/** @return the library's version, EQLITE_VERSION as built: a static string. Thread-safe. */
EQLITE_API const char *eqlite_version(void);

/** One allocator hook, realloc-style: (ptr=NULL) allocates, (size=0) frees.
 *  It may be called from any thread that uses an object made with it. */
typedef void *(*eqlite_realloc_fn)(void *user, void *ptr, size_t size);
/** A caller's allocator; NULL wherever one is asked for means malloc/free. */
typedef struct eqlite_allocator {
    eqlite_realloc_fn realloc_fn; /**< the hook */
    void *user;                   /**< passed to it as is */
} eqlite_allocator;

/* ---- Values and events ------------------------------------------------- */

/** The kind of an eqlite_value. */
typedef enum eqlite_kind {
    EQLITE_NULL = 0, /**< missing or null */
    EQLITE_BOOL,     /**< u.b: 0 or 1 */
    EQLITE_INT,      /**< u.i: int64 */
    EQLITE_DOUBLE,   /**< u.d */
    EQLITE_STRING,   /**< u.s, len bytes: UTF-8, not NUL-terminated */
    EQLITE_ARRAY     /**< u.a, len elements: values that are not arrays */
} eqlite_kind;

/** A field value. It borrows its string bytes and array elements: whoever
 *  builds one keeps them alive while the engine may read it. */
typedef struct eqlite_value {
    uint32_t kind; /**< an eqlite_kind */
    uint32_t len;  /**< string bytes or array elements */
    /** The payload, by kind. */
    union {
        int b;                        /**< EQLITE_BOOL */
        int64_t i;                    /**< EQLITE_INT */
        double d;                     /**< EQLITE_DOUBLE */
        const char *s;                /**< EQLITE_STRING */
        const struct eqlite_value *a; /**< EQLITE_ARRAY */
    } u;
} eqlite_value;

/** A normalized event: fields[id] for each schema field id (ids >= nfields
 *  read as null). The timestamp field of the schema reads `timestamp`
 *  (nanoseconds since the epoch); `tiebreaker` orders events with equal
 *  timestamps (null when unused). `user` comes back in results untouched.
 *  Borrowed by the call it is passed to; engines that keep events past the
 *  call copy what they read (see eqlite_event_hooks). */
typedef struct eqlite_event {
    const eqlite_value *fields; /**< indexed by schema field id */
    size_t nfields;             /**< entries in fields */
    int64_t timestamp;          /**< nanoseconds since the epoch */
    eqlite_value tiebreaker;    /**< orders equal timestamps; null when unused */
    void *user;                 /**< the caller's, returned in results */
    /** Optional: ids of the fields that may hold a value, in any order
     *  (repeats and ids of null fields are allowed; every field that holds a
     *  value must be listed), valid as long as `fields`. A scanner then
     *  looks only at these instead of every indexed field. NULL (the zero
     *  value): every field is looked at. The reader fills it in. */
    const uint32_t *present;
    size_t npresent; /**< entries in present */
} eqlite_event;

/* ---- Schema ------------------------------------------------------------ */

/** Elasticsearch field types, as mappings name them. */
typedef enum eqlite_type {
    EQLITE_T_UNKNOWN = 0, /**< type taken from values (grow mode) */
    EQLITE_T_KEYWORD, /**< `keyword` */
    EQLITE_T_WILDCARD, /**< `wildcard` */
    EQLITE_T_CONSTANT_KEYWORD, /**< `constant_keyword` */
    EQLITE_T_TEXT, /**< not searchable by EQL unless it has a keyword sub-field */
    EQLITE_T_LONG, /**< `long` */
    EQLITE_T_INTEGER, /**< `integer` */
    EQLITE_T_SHORT, /**< `short` */
    EQLITE_T_BYTE, /**< `byte` */
    EQLITE_T_DOUBLE, /**< `double` */
    EQLITE_T_FLOAT, /**< `float` */
    EQLITE_T_HALF_FLOAT, /**< `half_float` */
    EQLITE_T_SCALED_FLOAT, /**< `scaled_float` */
    EQLITE_T_BOOLEAN, /**< `boolean` */
    EQLITE_T_IP, /**< `ip` */
    EQLITE_T_DATE, /**< `date` */
    EQLITE_T_DATE_NANOS, /**< `date_nanos` */
    EQLITE_T_VERSION, /**< `version` */
    EQLITE_T_OBJECT /**< `object` */
} eqlite_type;

/** Field names to dense ids and types. Changed by the add and set calls and
 *  by compiling in grow mode; calls that only read it may run on several
 *  threads at once while nothing changes it. */
typedef struct eqlite_schema eqlite_schema;

/**
 * @brief Makes an empty schema.
 * @param alloc  the allocator for the schema and everything compiled against
 *               it (NULL: malloc/free); borrowed: it must outlive them.
 * @param out    receives the schema, the caller's (eqlite_schema_free()).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE (out is NULL).
 */
EQLITE_API eqlite_status eqlite_schema_new(const eqlite_allocator *alloc, eqlite_schema **out);
/**
 * @brief Frees a schema. Programs and rulesets compiled against it must be freed first.
 * @param schema  the schema (NULL is fine).
 */
EQLITE_API void eqlite_schema_free(eqlite_schema *schema);
/**
 * @brief Adds a field, or returns the id it already has.
 * @param schema  the schema (not shared with another thread meanwhile).
 * @param name    the field's dotted name, @p len bytes (copied).
 * @param len     bytes of name.
 * @param type    its type; an existing field keeps its type unless that is EQLITE_T_UNKNOWN.
 * @param id_out  receives the id (may be NULL); ids are dense, from 0.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE (empty name, or over 65,535 bytes).
 */
EQLITE_API eqlite_status eqlite_schema_add(eqlite_schema *schema, const char *name, size_t len,
                                           eqlite_type type, uint32_t *id_out);
/**
 * @brief Makes @p name resolve to the same id as @p target.
 * @param schema  the schema.
 * @param name    the alias, @p len bytes (copied).
 * @param len     bytes of name.
 * @param target  an existing field, @p tlen bytes.
 * @param tlen    bytes of target.
 * @return EQLITE_OK, EQLITE_ENOTFOUND (no such target), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_add_alias(eqlite_schema *schema, const char *name,
                                                 size_t len, const char *target, size_t tlen);
/* Index mappings (JSON) are loaded by the intake library: see
 * eqlite_schema_load_mapping() in eqlite_io.h. */
/**
 * @brief Grow mode: compiling a rule that names an unknown field adds it.
 * @param schema  the schema.
 * @param grow    non-zero turns grow mode on, 0 off.
 */
EQLITE_API void eqlite_schema_set_grow(eqlite_schema *schema, int grow);
/**
 * @brief Whether the schema is in grow mode.
 * @param schema  the schema.
 * @return 1 in grow mode, 0 not (a mapping with "dynamic": "strict" or false turns it off).
 */
EQLITE_API int eqlite_schema_grows(const eqlite_schema *schema);
/**
 * @brief Whether "Unknown column [x]" errors suggest similar names (on by default).
 *
 * On, the message adds Elasticsearch's suggestions, ", did you mean [y]?",
 * found by comparing the name with every field of the schema. Off, it is
 * "Unknown column [x]" alone and costs no comparisons: for a caller that
 * only reads the field name from it.
 * @param schema   the schema.
 * @param suggest  non-zero turns suggestions on, 0 off.
 */
EQLITE_API void eqlite_schema_set_suggestions(eqlite_schema *schema, int suggest);
/**
 * @brief Names the field that `any where` / `process where` read (default: event.category).
 * @param schema  the schema.
 * @param name    the field name, @p len bytes (copied).
 * @param len     bytes of name.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_set_category_field(eqlite_schema *schema, const char *name,
                                                          size_t len);
/**
 * @brief Names the field that eqlite_event.timestamp stands for (default: \@timestamp).
 * @param schema  the schema.
 * @param name    the field name, @p len bytes (copied).
 * @param len     bytes of name.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_set_timestamp_field(eqlite_schema *schema,
                                                           const char *name, size_t len);
/**
 * @brief Names the field that eqlite_event.tiebreaker stands for (default: none).
 * @param schema  the schema.
 * @param name    the field name, @p len bytes (copied).
 * @param len     bytes of name.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_set_tiebreaker_field(eqlite_schema *schema,
                                                            const char *name, size_t len);
/**
 * @brief The id of a field or alias.
 * @param schema  the schema (read only).
 * @param name    the name, @p len bytes.
 * @param len     bytes of name.
 * @param id_out  receives the id.
 * @return EQLITE_OK, EQLITE_ENOTFOUND, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_lookup(const eqlite_schema *schema, const char *name,
                                              size_t len, uint32_t *id_out);
/**
 * @brief How many entries the schema has: every field id is below this count.
 * @param schema  the schema (read only; NULL reads 0).
 * @return fields and aliases (an alias takes an entry but no id of its own).
 */
EQLITE_API size_t eqlite_schema_field_count(const eqlite_schema *schema);
/**
 * @brief Name and type of field @p id.
 * @param schema    the schema (read only).
 * @param id        a field id.
 * @param type_out  receives the type (may be NULL).
 * @return the NUL-terminated name, owned by the schema and valid while it
 *         lives; NULL if @p id is out of range.
 */
EQLITE_API const char *eqlite_schema_field_name(const eqlite_schema *schema, uint32_t id,
                                                eqlite_type *type_out);

/**
 * @brief Elasticsearch's mapping name of a field type ("keyword", "long", "date", ...).
 * @param type  a type.
 * @return a static NUL-terminated name; "unknown" for EQLITE_T_UNKNOWN (typed
 *         from the data) or a value out of range.
 */
EQLITE_API const char *eqlite_type_name(eqlite_type type);

/* ---- Compiling --------------------------------------------------------- */

/** Why compiling failed: the first error only. */
typedef struct eqlite_diag {
    eqlite_status code; /**< the status the call returned */
    size_t offset;      /**< bytes into the rule text */
    size_t length;      /**< bytes of the text at fault */
    unsigned line;      /**< 1-based */
    unsigned column;    /**< 1-based, in bytes */
    char message[512];  /**< NUL-terminated English text */
} eqlite_diag;

/**
 * @brief Renders a diagnostic: "line:col: message", the source line and a caret/tilde underline.
 * @param diag  what a compile, format or eval call reported.
 * @param src   the rule text that call was given, @p len bytes (NULL: the first line only).
 * @param len   bytes of src.
 * @param buf   receives the text, NUL-terminated when @p cap > 0 (truncated if short).
 * @param cap   bytes of buf (0: only measure).
 * @return a buffer size that holds the whole text with its NUL. Thread-safe.
 */
EQLITE_API size_t eqlite_diag_format(const eqlite_diag *diag, const char *src, size_t len,
                                     char *buf, size_t cap);

/** One compiled rule: immutable, shareable read-only between threads. */
typedef struct eqlite_program eqlite_program;

/**
 * @brief Compiles one rule.
 * @param schema  the fields the rule may name; it must outlive the program.
 *                In grow mode it gains the fields the rule names, so it must
 *                not be used by another thread meanwhile.
 * @param src     the rule text, @p len bytes (not kept).
 * @param len     bytes of src.
 * @param out     receives the program, the caller's (eqlite_program_free()).
 * @param diag    receives the first error (may be NULL).
 * @return EQLITE_OK, EQLITE_ESYNTAX, EQLITE_ETYPE, EQLITE_ENOTFOUND (the rule reads a field
 *         that a schema which does not grow lacks: "Unknown column [x]", as Elasticsearch's
 *         verifier says it), EQLITE_ELIMIT, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_compile(eqlite_schema *schema, const char *src, size_t len,
                                        eqlite_program **out, eqlite_diag *diag);
/**
 * @brief Frees a program. Its matchers must be freed first.
 * @param program  the program (NULL is fine).
 */
EQLITE_API void eqlite_program_free(eqlite_program *program);
/**
 * @brief The field ids the program reads, for projecting events.
 * @param program  the program.
 * @param n        receives the count.
 * @return the ids, owned by the program and valid while it lives.
 */
EQLITE_API const uint32_t *eqlite_program_fields(const eqlite_program *program, size_t *n);
/**
 * @brief A human-readable disassembly of the program's bytecode.
 * @param program  the program.
 * @param buf      receives the text, NUL-terminated when @p cap > 0.
 * @param cap      bytes of buf; (NULL, 0) asks for the size only.
 * @param needed   receives the size the text needs, NUL included (may be NULL).
 * @return EQLITE_OK, EQLITE_ELIMIT when @p cap is too small (buf holds what fits), EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_program_explain(const eqlite_program *program, char *buf,
                                                size_t cap, size_t *needed);
/** The kind of query a program is. */
typedef enum eqlite_query_kind {
    EQLITE_QUERY_INVALID = -1, /**< a NULL program */
    EQLITE_QUERY_EVENT = 0,    /**< `category where condition` */
    EQLITE_QUERY_SEQUENCE = 1, /**< `sequence [...] [...]` */
    EQLITE_QUERY_SAMPLE = 2    /**< `sample by ... [...] [...]` */
} eqlite_query_kind;
/**
 * @brief What kind of query @p program is.
 * @param program  the program (may be NULL).
 * @return its kind; EQLITE_QUERY_INVALID for NULL.
 */
EQLITE_API eqlite_query_kind eqlite_program_kind(const eqlite_program *program);

/** The shape of a program, for a runner planning how to feed it. */
typedef struct eqlite_program_info {
    eqlite_query_kind kind; /**< as eqlite_program_kind() */
    size_t npipes;          /**< `head` and `tail` pipes: they count the results of the whole stream */
    int has_tail;           /**< a `tail` pipe: results name events read long before they come out */
    size_t nstages;         /**< a sequence's or sample's bracketed stages, `until` last; 0 for an event query */
    int has_until;          /**< the last stage is a sequence's `until` */
    size_t nkeys;           /**< join keys (`by`) of each stage; 0 for an event query */
} eqlite_program_info;

/**
 * @brief Describes a program's shape.
 * @param program  the program (read only).
 * @param out      receives the shape.
 * @return EQLITE_OK, EQLITE_EMISUSE (a NULL argument).
 */
EQLITE_API eqlite_status eqlite_program_info_get(const eqlite_program *program, eqlite_program_info *out);

/** eqlite_program_stage_key() flags. */
enum {
    EQLITE_KEY_OPTIONAL = 1,  /**< `?field`: a missing value joins as null */
    EQLITE_STAGE_MISSING = 2  /**< the stage is `![...]`: it matches when no event does */
};

/**
 * @brief The field join key @p k of stage @p stage reads, when that key is a plain field.
 * @param program  the program (read only).
 * @param stage    0 to nstages - 1 (eqlite_program_info), in source order, `until` last.
 * @param k        0 to nkeys - 1.
 * @param id       receives the field id (may be NULL).
 * @param flags    receives EQLITE_KEY_OPTIONAL and EQLITE_STAGE_MISSING bits (may be NULL).
 * @return EQLITE_OK; EQLITE_ENOTFOUND when the key reads no schema field (the timestamp
 *         field, or a field the schema lacks; its flags are still set); EQLITE_EMISUSE for a
 *         stage or key out of range.
 */
EQLITE_API eqlite_status eqlite_program_stage_key(const eqlite_program *program, size_t stage, size_t k,
                                                  uint32_t *id, unsigned *flags);

/**
 * @brief Prints a rule in the canonical layout (`eqlite fmt`), comments kept.
 *
 * Parses only: no schema, no verification. Thread-safe.
 * @param src     the rule text, @p len bytes.
 * @param len     bytes of src.
 * @param buf     receives the text, NUL-terminated when @p cap > 0.
 * @param cap     bytes of buf.
 * @param needed  receives the size the text needs, NUL included (may be NULL).
 * @param diag    receives a syntax error (may be NULL).
 * @return EQLITE_OK, EQLITE_ESYNTAX, EQLITE_ELIMIT (buf too small), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_format(const char *src, size_t len, char *buf, size_t cap,
                                       size_t *needed, eqlite_diag *diag);

/**
 * @brief Folds a constant expression (`eqlite eval`), such as `length("abc") + 1`.
 *
 * Thread-safe; uses malloc for its working memory.
 * @param src   the expression, @p len bytes.
 * @param len   bytes of src.
 * @param out   receives the value; a string points into @p buf.
 * @param buf   room for a string result, which is NUL-terminated there.
 * @param cap   bytes of buf.
 * @param diag  receives the first error (may be NULL).
 * @return EQLITE_OK, EQLITE_ESYNTAX, EQLITE_ETYPE, EQLITE_EARITH, EQLITE_ELIMIT (a
 *         string result does not fit), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_eval_constant(const char *src, size_t len, eqlite_value *out,
                                              char *buf, size_t cap, eqlite_diag *diag);

/* ---- Matching ---------------------------------------------------------- */

/** The per-thread state of one program: one thread at a time. */
typedef struct eqlite_matcher eqlite_matcher;

/** A result: for an event query one event; for a sequence or sample one
 *  event per position, NULL for a missing-event position; join key values.
 *  Valid only during the callback (copy what you keep). */
typedef struct eqlite_result {
    const eqlite_program *program;     /**< the rule that matched */
    size_t nevents;                    /**< entries in events */
    const eqlite_event *const *events; /**< per position; NULL: a missing event */
    size_t nkeys;                      /**< entries in keys */
    const eqlite_value *keys;          /**< the join key values */
} eqlite_result;

/** Called with each result, on the thread that fed the event. Return 0 to
 *  continue, non-zero to stop the current feed. It must not call back into
 *  the same matcher or scanner. */
typedef int (*eqlite_callback)(void *user, const eqlite_result *result);

/** Bounds on a matcher's state; a field left 0 takes its documented default. */
typedef struct eqlite_limits {
    size_t max_partials;        /**< pending sequence partials (all keys); oldest evicted */
    size_t max_keys;            /**< distinct join keys held; oldest evicted */
    size_t size;                /**< results in total (0 = unlimited) */
    size_t max_samples_per_key; /**< results a sample yields per join key */
} eqlite_limits;

/**
 * @brief Makes the per-thread state for running @p program.
 * @param program  the program; borrowed, it must outlive the matcher. Any
 *                 number of threads may make matchers of one program at once.
 * @param limits   bounds on state (copied; NULL: the defaults).
 * @param out      receives the matcher, the caller's (eqlite_matcher_free()).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_matcher_new(const eqlite_program *program,
                                            const eqlite_limits *limits, eqlite_matcher **out);
/**
 * @brief Frees a matcher, releasing the events it holds (see eqlite_event_hooks).
 * @param matcher  the matcher (NULL is fine).
 */
EQLITE_API void eqlite_matcher_free(eqlite_matcher *matcher);
/**
 * @brief Tests one event against an event query. Allocates nothing.
 * @param matcher  a matcher of an event query (EQLITE_EMISUSE for a sequence or sample).
 * @param event    the event, borrowed for the call.
 * @param matched  receives 1 if the event matches, else 0.
 * @return EQLITE_OK, EQLITE_EARITH, EQLITE_ELIMIT, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_match(eqlite_matcher *matcher, const eqlite_event *event,
                                      int *matched);
/**
 * @brief Feeds one event to any kind of query; results come back through @p cb.
 * @param matcher  the matcher.
 * @param event    the event, borrowed for the call; events come in
 *                 (timestamp, tiebreaker) order. What a sequence, sample or
 *                 `tail` keeps of it is copied (see eqlite_event_hooks).
 * @param cb       called with each result during the call (may be NULL).
 * @param user     passed to cb.
 * @return EQLITE_OK, EQLITE_EORDER (the event is earlier than the last one),
 *         EQLITE_EARITH, EQLITE_ELIMIT, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_feed(eqlite_matcher *matcher, const eqlite_event *event,
                                     eqlite_callback cb, void *user);
/**
 * @brief End of stream: settles trailing missing events, samples and `tail`.
 * @param matcher  the matcher.
 * @param cb       called with each remaining result during the call (may be NULL).
 * @param user     passed to cb.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_flush(eqlite_matcher *matcher, eqlite_callback cb, void *user);

/** What a matcher has done so far. */
typedef struct eqlite_stats {
    uint64_t events;       /**< events fed */
    uint64_t matches;      /**< results delivered */
    uint64_t pending;      /**< partials held now */
    uint64_t evicted;      /**< partials evicted by a limit */
    uint64_t expired;      /**< partials dropped by maxspan */
    uint64_t dropped;      /**< events dropped (null join key, ...) */
    uint64_t out_of_order; /**< events refused with EQLITE_EORDER */
} eqlite_stats;
/**
 * @brief Reads a matcher's counters.
 * @param matcher  the matcher (read only).
 * @param out      receives the counters.
 */
EQLITE_API void eqlite_matcher_stats(const eqlite_matcher *matcher, eqlite_stats *out);

/** Held events. A sequence, sample or `tail` keeps copies of the fields it
 *  reads past the feed call, with `user` copied as is; a caller whose `user`
 *  points at data that dies with the feed (the event's text in a read buffer)
 *  sets these hooks. Both run inside feed, flush and free calls, on the
 *  caller's thread. */
typedef struct eqlite_event_hooks {
    /** Runs as the engine keeps an event: its return becomes the kept copy's
     *  `user` (NULL = out of memory: the feed fails with EQLITE_ENOMEM). */
    void *(*retain)(void *ctx, const eqlite_event *event);
    /** Runs with what retain returned when the last copy goes. */
    void (*release)(void *ctx, void *user);
    void *ctx; /**< passed to both */
} eqlite_event_hooks;
/**
 * @brief Sets the hooks for the events @p matcher keeps.
 * @param matcher  the matcher, before its first feed.
 * @param hooks    copied; NULL clears them.
 * @return EQLITE_OK, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_matcher_set_event_hooks(eqlite_matcher *matcher, const eqlite_event_hooks *hooks);

/* Keeping an event yourself (a reorder window, a queue to another thread):
 * an eqlite_value borrows its string bytes and array elements, so copy each
 * value you keep into memory of your own, all in one block if you like:
 *
 *   size_t nelems = 0, nbytes = 0;
 *   for each value v to keep: eqlite_value_copy_size(&v, &nelems, &nbytes);
 *   block = malloc(nelems * sizeof(eqlite_value) + nbytes);
 *   eqlite_value *elems = block; char *bytes = (char *)(elems + nelems);
 *   for each value v to keep: kept = eqlite_value_copy(&v, &elems, &bytes);
 *
 * This is how the engine keeps held events. */
/**
 * @brief Adds the room a deep copy of @p value needs to two running totals.
 *
 * Pure, thread-safe, allocates nothing.
 * @param value   any value; array elements are scalars, as in events.
 * @param nelems  incremented by the array elements to copy (0 unless an array).
 * @param nbytes  incremented by the string bytes to copy (of the value or its elements).
 */
EQLITE_API void eqlite_value_copy_size(const eqlite_value *value, size_t *nelems, size_t *nbytes);
/**
 * @brief Deep-copies @p value into caller-owned memory.
 *
 * Array elements go to `*elems` and string bytes to `*bytes`; both cursors
 * move past what was used, so the next value goes right after. The copy
 * points into that memory only, and lives as long as it; the source may go
 * right after the call. Thread-safe; allocates nothing.
 * @param value  the value to copy.
 * @param elems  cursor into room for the elements eqlite_value_copy_size counted.
 * @param bytes  cursor into room for the bytes it counted (no alignment needed).
 * @return the copy (a non-string, non-array value is returned as it is).
 */
EQLITE_API eqlite_value eqlite_value_copy(const eqlite_value *value, eqlite_value **elems, char **bytes);

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
 *   eqlite_scanner_match(sc, &event, on_match, user);  (each event, in order)
 *   eqlite_scanner_flush(sc, on_match, user);          (end of stream)
 * ====================================================================== */

/** Many compiled rules and their guard index: built by one thread, then
 *  (after eqlite_ruleset_finish()) immutable and shareable read-only. */
typedef struct eqlite_ruleset eqlite_ruleset;
/** The per-thread state over a finished ruleset: one thread at a time. */
typedef struct eqlite_scanner eqlite_scanner;

/** What a callback learns about the rule that matched. Strings are owned by
 *  the ruleset and live as long as it. */
typedef struct eqlite_rule_info {
    size_t index;                  /**< order of eqlite_ruleset_add, from 0 */
    const char *name;              /**< "" when none was given */
    const char *id;                /**< "" when none was given */
    const eqlite_program *program; /**< the compiled rule, owned by the ruleset */
    const char *category;          /**< category of an event query; NULL for any / sequences / samples */
} eqlite_rule_info;

/** Called with each match, on the thread that runs the scanner; the
 *  arguments are valid during the call only. Return 0 to continue, non-zero
 *  to stop evaluating the current event. */
typedef int (*eqlite_rule_callback)(void *user, const eqlite_rule_info *rule, const eqlite_result *result);

/**
 * @brief Makes an empty ruleset.
 * @param schema  the fields rules may name; it must outlive the ruleset (in
 *                grow mode it gains the fields the rules name).
 * @param out     receives the ruleset, the caller's (eqlite_ruleset_free()).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_ruleset_new(eqlite_schema *schema, eqlite_ruleset **out);
/**
 * @brief Frees a ruleset and its programs. Its scanners must be freed first.
 * @param rs  the ruleset (NULL is fine).
 */
EQLITE_API void eqlite_ruleset_free(eqlite_ruleset *rs);
/**
 * @brief Compiles one rule into the set. On error the set is unchanged.
 * @param rs    an unfinished ruleset (EQLITE_EMISUSE after eqlite_ruleset_finish()).
 * @param src   the rule text, @p len bytes (not kept).
 * @param len   bytes of src.
 * @param name  a NUL-terminated label (copied; may be NULL).
 * @param id    a NUL-terminated label (copied; may be NULL).
 * @param diag  receives the first error (may be NULL).
 * @return as eqlite_compile().
 */
EQLITE_API eqlite_status eqlite_ruleset_add(eqlite_ruleset *rs, const char *src, size_t len, const char *name,
                                            const char *id, eqlite_diag *diag);
/**
 * @brief Builds the guard index; afterwards the ruleset is immutable.
 * @param rs  the ruleset (finishing it again does nothing).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE (NULL).
 */
EQLITE_API eqlite_status eqlite_ruleset_finish(eqlite_ruleset *rs);
/**
 * @brief How many rules the set holds.
 * @param rs  the ruleset (read only).
 * @return the count.
 */
EQLITE_API size_t eqlite_ruleset_count(const eqlite_ruleset *rs);
/**
 * @brief Describes rule @p index.
 * @param rs     the ruleset (read only).
 * @param index  from 0, below eqlite_ruleset_count().
 * @param out    receives the description; its strings live as long as the ruleset.
 * @return EQLITE_OK, EQLITE_EMISUSE (index out of range).
 */
EQLITE_API eqlite_status eqlite_ruleset_rule(const eqlite_ruleset *rs, size_t index, eqlite_rule_info *out);

/**
 * @brief Makes the per-thread state over a finished ruleset.
 * @param rs      a finished ruleset (EQLITE_EMISUSE otherwise); borrowed, it
 *                must outlive the scanner. Threads may make scanners of one
 *                ruleset at once.
 * @param limits  applies to each sequence / sample rule (copied; NULL: the defaults).
 * @param out     receives the scanner, the caller's (eqlite_scanner_free()).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_scanner_new(const eqlite_ruleset *rs, const eqlite_limits *limits,
                                            eqlite_scanner **out);
/**
 * @brief Frees a scanner, releasing the events it holds.
 * @param sc  the scanner (NULL is fine).
 */
EQLITE_API void eqlite_scanner_free(eqlite_scanner *sc);
/**
 * @brief Runs the rules that can match @p event; matches come back through @p cb, in rule order.
 *
 * Every rule runs even if one fails; the first failure's status is
 * returned. Event queries allocate nothing.
 * @param sc     the scanner.
 * @param event  the event, borrowed for the call; events come in (timestamp, tiebreaker) order.
 * @param cb     called with each match during the call (may be NULL).
 * @param user   passed to cb.
 * @return EQLITE_OK or the first failing rule's status (see eqlite_feed()).
 */
EQLITE_API eqlite_status eqlite_scanner_match(eqlite_scanner *sc, const eqlite_event *event,
                                              eqlite_rule_callback cb, void *user);
/**
 * @brief eqlite_scanner_match(), with the guard index run by another scanner of the ruleset.
 *
 * Gives exactly what eqlite_scanner_match(sc, ...) gives. The index's value
 * cache serves the call, so a thread that matches some events with its own
 * scanner and others with a scanner it shares (taking turns with other
 * threads) keeps one cache warm, its own.
 * @param sc     the scanner that matches; events come in (timestamp, tiebreaker) order.
 * @param index  a scanner of the same ruleset, used only for its index (its
 *               rules, selection and state are not touched; not used by
 *               another thread meanwhile).
 * @param event  the event, borrowed for the call.
 * @param cb     called with each match during the call (may be NULL).
 * @param user   passed to cb.
 * @return as eqlite_scanner_match(); EQLITE_EMISUSE when @p index is NULL or
 *         of another ruleset.
 */
EQLITE_API eqlite_status eqlite_scanner_match_indexed(eqlite_scanner *sc, eqlite_scanner *index,
                                                      const eqlite_event *event, eqlite_rule_callback cb, void *user);
/**
 * @brief Words of the marks eqlite_scanner_mark() writes for one event, at most.
 *
 * Marks are compact (most events pass few guards): an event's take this many
 * words at most, and often far fewer (eqlite_scanner_match_mark() says how many).
 * @param rs  a finished ruleset (read only; NULL or unfinished gives 0).
 * @return the most uint64_t one event's marks take.
 */
EQLITE_API size_t eqlite_ruleset_marks_words(const eqlite_ruleset *rs);
/**
 * @brief The index's half of eqlite_scanner_match(): which guards @p event passes.
 *
 * It reads only the event and the ruleset (and a value cache of its own), so
 * a second thread can mark events with its own scanner while the matching
 * scanner runs, in order, through eqlite_scanner_match_marked(). Marking does
 * not count the event, hold it, or check its order.
 * @param sc     a scanner of the ruleset the marks will be matched with (not
 *               used by another thread meanwhile).
 * @param event  the event, borrowed for the call.
 * @param marks  receives up to eqlite_ruleset_marks_words() words.
 * @return EQLITE_OK, EQLITE_EMISUSE, or EQLITE_ENOMEM (the marks then let
 *         every rule run, which gives the same matches).
 */
EQLITE_API eqlite_status eqlite_scanner_mark(eqlite_scanner *sc, const eqlite_event *event, uint64_t *marks);
/**
 * @brief eqlite_scanner_match(), also writing the event's marks for a scanner that runs other rules.
 *
 * One thread matches its own rules and hands the marks of @p for_rules to the
 * scanner that runs those (eqlite_scanner_match_marked()), so the event is
 * indexed once and the marks hold only what the other side reads.
 * @param sc         the scanner; events come in (timestamp, tiebreaker) order.
 * @param event      the event, borrowed for the call.
 * @param for_rules  one bit per rule index, as eqlite_scanner_select() takes:
 *                   the marks keep only these rules' guards (NULL: every rule's).
 * @param marks      receives up to eqlite_ruleset_marks_words() words.
 * @param nmarks     receives the count of words written: 0 when the event marks
 *                   none of @p for_rules (then any marks of all zero bits stand
 *                   for it, and none of those rules runs on the event unless it
 *                   is a sequence that holds partials and checks time: such a
 *                   sequence takes the event's time, and no filter of it can
 *                   match the event).
 * @param cb         called with each match during the call (may be NULL).
 * @param user       passed to cb.
 * @return as eqlite_scanner_match(); the marks are written whatever it returns
 *         (EQLITE_EMISUSE aside).
 */
EQLITE_API eqlite_status eqlite_scanner_match_mark(eqlite_scanner *sc, const eqlite_event *event,
                                                   const uint64_t *for_rules, uint64_t *marks, size_t *nmarks,
                                                   eqlite_rule_callback cb, void *user);
/**
 * @brief eqlite_scanner_match_mark() writing the idle plane alone: marks for a scanner that holds no partial.
 *
 * Such marks say which of @p for_rules run on the event while they hold no
 * partial; a sequence that holds partials needs more. They cost less to
 * make, and eqlite_scanner_match_marked() takes them exactly like full marks
 * while the scanner that matches them holds no partial
 * (eqlite_scanner_holds_partials() is 0); when it holds some, mark the event
 * again in full (eqlite_scanner_mark_rules()) first.
 * @param sc         the scanner; events come in (timestamp, tiebreaker) order.
 * @param event      the event, borrowed for the call.
 * @param for_rules  the rules whose marks are kept, as eqlite_scanner_match_mark() takes them.
 * @param marks      receives up to eqlite_ruleset_marks_words() words.
 * @param nmarks     receives the count of words written: 0 when no rule of
 *                   @p for_rules is marked to run idle.
 * @param cb         called with each match during the call (may be NULL).
 * @param user       passed to cb.
 * @return as eqlite_scanner_match_mark().
 */
EQLITE_API eqlite_status eqlite_scanner_match_mark_idle(eqlite_scanner *sc, const eqlite_event *event,
                                                        const uint64_t *for_rules, uint64_t *marks, size_t *nmarks,
                                                        eqlite_rule_callback cb, void *user);
/**
 * @brief eqlite_scanner_mark() for some rules: the marks of @p for_rules alone.
 *
 * @param sc         a scanner of the ruleset the marks will be matched with; its
 *                   own matching state is untouched (the scanner that matches the
 *                   marks may be this one, between two of its matches).
 * @param event      the event, borrowed for the call.
 * @param for_rules  one bit per rule index (NULL: every rule, as eqlite_scanner_mark()).
 * @param marks      receives up to eqlite_ruleset_marks_words() words.
 * @param nmarks     receives the count of words written, 0 as eqlite_scanner_match_mark() says.
 * @return as eqlite_scanner_mark().
 */
EQLITE_API eqlite_status eqlite_scanner_mark_rules(eqlite_scanner *sc, const eqlite_event *event,
                                                   const uint64_t *for_rules, uint64_t *marks, size_t *nmarks);
/**
 * @brief Whether some sequence of the scanner holds partials now.
 *
 * While none does, marks of the idle plane (eqlite_scanner_match_mark_idle())
 * serve eqlite_scanner_match_marked() in full.
 * @param sc  the scanner (read only).
 * @return 1 when a sequence holds partials; 0 otherwise, or for NULL.
 */
EQLITE_API int eqlite_scanner_holds_partials(const eqlite_scanner *sc);
/**
 * @brief eqlite_scanner_match() with the guards already marked.
 *
 * Gives exactly what eqlite_scanner_match(sc, event, ...) gives, when @p marks
 * came from eqlite_scanner_mark() on the same event by a scanner of the same
 * ruleset (selected rules or not: marks cover them all), or from
 * eqlite_scanner_match_mark() with this scanner's rules among its for_rules.
 * A rule such marks leave out does not run, unless it is a sequence that
 * holds partials and checks time (those run on every event).
 * @param sc     the scanner; events come in (timestamp, tiebreaker) order.
 * @param event  the event, borrowed for the call.
 * @param marks  the event's marks (read only).
 * @param cb     called with each match during the call (may be NULL).
 * @param user   passed to cb.
 * @return as eqlite_scanner_match().
 */
EQLITE_API eqlite_status eqlite_scanner_match_marked(eqlite_scanner *sc, const eqlite_event *event,
                                                     const uint64_t *marks, eqlite_rule_callback cb, void *user);
/**
 * @brief Whether an event's marks let some rule run on it while holding no partial.
 *
 * 0 when the marks let only sequences that hold partials take the event
 * (eqlite_scanner_marks_need_fields() says, on the scanner that holds them,
 * whether one does): a thread that marks events can then hand such an event
 * over without its fields, to be read again only when needed.
 * @param rs     the ruleset the marks were made for (read only).
 * @param marks  marks from eqlite_scanner_mark() or eqlite_scanner_match_mark()
 *               (read only; all-zero marks stand for none).
 * @return 1 when a rule is marked to run idle; 0 otherwise, or for a NULL
 *         or unfinished ruleset.
 */
EQLITE_API int eqlite_ruleset_marks_idle(const eqlite_ruleset *rs, const uint64_t *marks);
/**
 * @brief Whether eqlite_scanner_match_marked() would run a rule on the event's fields, now.
 *
 * 0 when the rules the marks let run, given the partials @p sc holds now
 * and its selection, are none, or only sequences that hold partials and check
 * time (they run on every event): eqlite_scanner_match_marked() then gives
 * the same with an event of the same timestamp and tiebreaker and no fields.
 * @param sc     the scanner that will match the event next (read only).
 * @param marks  the event's marks (read only).
 * @return 1 when the event's fields are needed; 0 otherwise, or for NULL
 *         arguments.
 */
EQLITE_API int eqlite_scanner_marks_need_fields(const eqlite_scanner *sc, const uint64_t *marks);
/**
 * @brief Has the scanner run only some of its ruleset's rules.
 *
 * Several threads can then share one ruleset's work: each scanner runs its
 * own rules over the same events, and one scanner's marks serve the others
 * (eqlite_scanner_mark(), eqlite_scanner_match_marked()). Only a scanner
 * that runs a sequence checks event order. Repeating the call narrows the
 * selection further; it cannot widen it.
 * @param sc     the scanner, before its first match.
 * @param rules  one bit per rule index (bit k % 64 of word k / 64),
 *               (eqlite_ruleset_count() + 63) / 64 words; read during the call.
 * @return EQLITE_OK, or EQLITE_EMISUSE (NULL, or the scanner has matched).
 */
EQLITE_API eqlite_status eqlite_scanner_select(eqlite_scanner *sc, const uint64_t *rules);
/**
 * @brief End of stream: settles sequences, samples and `tail` pipes.
 * @param sc    the scanner.
 * @param cb    called with each remaining match during the call (may be NULL).
 * @param user  passed to cb.
 * @return EQLITE_OK or the first failing rule's status.
 */
EQLITE_API eqlite_status eqlite_scanner_flush(eqlite_scanner *sc, eqlite_rule_callback cb, void *user);

/** What a scanner has done so far. */
typedef struct eqlite_scanner_counts {
    uint64_t events;    /**< events scanned */
    uint64_t rules_run; /**< rule evaluations: the index keeps this low */
    uint64_t matches;   /**< matches delivered */
    uint64_t errors;    /**< rule evaluations that returned an error status */
} eqlite_scanner_counts;
/**
 * @brief Reads a scanner's counters.
 * @param sc   the scanner (read only).
 * @param out  receives the counters.
 */
EQLITE_API void eqlite_scanner_stats(const eqlite_scanner *sc, eqlite_scanner_counts *out);
/**
 * @brief Gives every sequence, sample and piped rule of the scanner @p hooks.
 * @param sc     the scanner, before its first match.
 * @param hooks  copied; NULL clears them (see eqlite_matcher_set_event_hooks()).
 * @return EQLITE_OK, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_scanner_set_event_hooks(eqlite_scanner *sc, const eqlite_event_hooks *hooks);
/**
 * @brief State of one rule: partials held, evicted, expired, late events.
 * @param sc     the scanner (read only).
 * @param index  the rule, from 0; a plain event query reads all zero except
 *               what the scanner does not track.
 * @param out    receives the counters.
 * @return EQLITE_OK, EQLITE_EMISUSE (index out of range).
 */
EQLITE_API eqlite_status eqlite_scanner_rule_stats(const eqlite_scanner *sc, size_t index, eqlite_stats *out);

/**
 * @brief Has the scanner time each rule it runs.
 *
 * Every run of rule i adds its nanoseconds to ns[i] and 1 to runs[i]; each
 * costs two clock reads. The arrays (eqlite_ruleset_count() entries each)
 * stay the caller's and must outlive the profile.
 * @param sc    the scanner (not used by another thread meanwhile).
 * @param ns    nanoseconds per rule, or NULL with runs NULL to stop profiling.
 * @param runs  runs per rule, or NULL with ns NULL.
 * @return EQLITE_OK, EQLITE_EMISUSE (a NULL scanner, or one array without the other).
 */
EQLITE_API eqlite_status eqlite_scanner_profile(eqlite_scanner *sc, uint64_t *ns, uint64_t *runs);

/**
 * @brief The order sequences and samples need their input in: by timestamp, then tiebreaker.
 *
 * Tiebreakers compare as strings bytewise or as numbers; a null or
 * multi-valued tiebreaker, or two of kinds that do not compare, tie. Thread-safe.
 * @param a  an event.
 * @param b  an event.
 * @return < 0 when @p a comes first, 0 when they tie, > 0 when @p b comes first.
 */
EQLITE_API int eqlite_event_order(const eqlite_event *a, const eqlite_event *b);

/* ====================================================================== */

#ifdef __cplusplus
}
#endif
#endif
