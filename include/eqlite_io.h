/**
 * @file eqlite_io.h
 * @brief eqlite_io: the intake side of eqlite (libeqlite-io).
 * Readers turn files and
 * buffers — NDJSON, a JSON array, either gzip-compressed, or Windows EVTX
 * event logs — into eqlite_events for a schema; source profiles turn each
 * vendor's raw records (Sysmon / Windows event logs, Microsoft Defender XDR,
 * SentinelOne Cloud Funnel) into the ECS documents Elastic's integrations
 * produce, so that Elastic's detection rules run on them unchanged.
 *
 * Same conventions as eqlite.h: opaque handles, a status from every call,
 * pointer + length inputs, destructors that accept NULL, no printing; the
 * same ownership, lifetime and thread-safety rules. Errors are described in
 * the caller's `errbuf` (`errcap` bytes, NUL-terminated when errcap > 0).
 */
#ifndef EQLITE_IO_H
#define EQLITE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Loads an Elasticsearch index mapping into a schema.
 *
 * Takes {"mappings":{"properties":...}} or a bare {"properties":...}; nested
 * objects become dotted names; `fields` sub-fields become name.sub. Merges
 * with what is there.
 * @param schema  the schema (not used by another thread meanwhile).
 * @param json    the mapping's JSON text (not NUL-terminated; borrowed for the call).
 * @param len     bytes of json.
 * @param diag    receives the error as compile's do (may be NULL): its message
 *                names the field; line and column are 0 (the JSON reader keeps
 *                no positions).
 * @return EQLITE_OK, EQLITE_EINPUT (a malformed mapping), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_load_mapping(eqlite_schema *schema, const char *json,
                                                    size_t len, eqlite_diag *diag);

/**
 * @brief Adds every field of the Elastic Common Schema (ECS 9.x, from ECS's fields.csv) with its type.
 *
 * Fields already in the schema keep their type: load ECS before a mapping
 * to have the mapping override it.
 * @param schema  the schema (not used by another thread meanwhile).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_schema_load_ecs(eqlite_schema *schema);

/* ---- Mappings -----------------------------------------------------------
 * What an index mapping says beyond field types, which the schema has no slot
 * for and readers apply at index time as Elasticsearch does: each date
 * field's `format`, `ignore_above`, `null_value`, and the parent path a
 * multi-field (`fields`) is read from. */
/** Mapping parameters by schema field id; read by any number of readers
 *  (on any threads) while nothing loads into it. */
typedef struct eqlite_mapping eqlite_mapping;

/**
 * @brief Makes an empty set of mapping parameters.
 * @param out  receives the set, the caller's (eqlite_mapping_free()).
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_mapping_new(eqlite_mapping **out);
/**
 * @brief Frees a set; readers that borrow it must be closed first.
 * @param mapping  the set (NULL is fine).
 */
EQLITE_API void eqlite_mapping_free(eqlite_mapping *mapping);
/**
 * @brief eqlite_schema_load_mapping(), also keeping the mapping's parameters.
 *
 * Several mappings merge: a date field given different formats tries each
 * ("a||b"); for ignore_above, null_value and a multi-field's parent the first
 * mapping that gives one keeps it.
 * @param mapping  the set (not read by a reader meanwhile).
 * @param schema   the schema the fields are added to (as eqlite_schema_load_mapping()).
 * @param json     the mapping's JSON text, @p len bytes (borrowed for the call).
 * @param len      bytes of json.
 * @param diag     receives the error (may be NULL), as eqlite_schema_load_mapping() does.
 * @return EQLITE_OK, EQLITE_EINPUT, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_mapping_load(eqlite_mapping *mapping, eqlite_schema *schema, const char *json,
                                             size_t len, eqlite_diag *diag);
/**
 * @brief The date format mapped for a field.
 * @param mapping  the set (read only; NULL is fine).
 * @param id       a schema field id.
 * @return the format ("||" between alternatives), owned by the set and valid
 *         until it changes; NULL when none was mapped (the default format).
 */
EQLITE_API const char *eqlite_mapping_date_format(const eqlite_mapping *mapping, uint32_t id);

/* ---- Dates -------------------------------------------------------------- */
/**
 * @brief Parses a date as a date field of Elasticsearch's default format reads it.
 *
 * strict_date_optional_time||epoch_millis:
 * `yyyy[-MM[-dd[T[HH[:mm[:ss[(.|,)f]]][zone]]]]]` with 1 to 9 fraction digits
 * and zone `Z`, `+HH`, `+HHmm`, `+HH:mm`, `+HHmmss` or `+HH:mm:ss` (at most 18
 * hours; none = UTC; upper-case T and Z only), else `[-]digits[.1-6 digits]`
 * epoch milliseconds. "2020" is therefore the year 2020. The engine reads
 * date text with the same parser. Thread-safe.
 * @param text  the text, @p len bytes (not NUL-terminated).
 * @param len   bytes of text.
 * @param ns    receives nanoseconds since 1970-01-01T00:00:00Z.
 * @return EQLITE_OK, EQLITE_EINPUT (malformed, or outside 1677-2262), EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_date_parse(const char *text, size_t len, int64_t *ns);
/**
 * @brief Renders epoch milliseconds as Elasticsearch's fields API renders a date field's value.
 *
 * Through the first format of @p format (Java pattern letters or a named
 * format; NULL or "" = strict_date_optional_time: 2022-12-17T00:00:00.000Z), in UTC.
 * Thread-safe.
 * @param ms      milliseconds since the epoch.
 * @param format  the mapping's format (eqlite_mapping_date_format()), NUL-terminated, or NULL.
 * @param buf     receives the text, NUL-terminated.
 * @param cap     bytes of buf.
 * @return the length written, or 0 when the format has a part this does not
 *         render or @p cap is too small.
 */
EQLITE_API size_t eqlite_date_format(int64_t ms, const char *format, char *buf, size_t cap);

/* ---- Sources ------------------------------------------------------------
 * A set of source profiles: the built-in ones (the .profile files in share/eqlite/sources:
 * windows, m365-defender, sentinelone-cloud-funnel, ecs) plus any added. */
/** Source profiles: changed by eqlite_sources_add(), read by readers; any
 *  number of readers (on any threads) may share a set nothing changes. */
typedef struct eqlite_sources eqlite_sources;

/**
 * @brief Makes a set holding the built-in profiles.
 * @param out     receives the set, the caller's (eqlite_sources_free()).
 * @param errbuf  receives an error message (may be NULL).
 * @param errcap  bytes of errbuf.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_sources_new(eqlite_sources **out, char *errbuf, size_t errcap);
/**
 * @brief Frees a set; readers that borrow it must be closed first.
 * @param sources  the set (NULL is fine).
 */
EQLITE_API void eqlite_sources_free(eqlite_sources *sources);
/**
 * @brief Adds the profiles of a profile file; one named like a profile already there replaces it.
 * @param sources  the set (not read by a reader meanwhile).
 * @param text     the profile file's text, @p len bytes (not kept).
 * @param len      bytes of text.
 * @param origin   names the text in messages, such as its path (may be NULL).
 * @param errbuf   receives an error message with line and column (may be NULL).
 * @param errcap   bytes of errbuf.
 * @return EQLITE_OK, EQLITE_EINPUT (the text is not a valid profile file; the
 *         set is unchanged), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_sources_add(eqlite_sources *sources, const char *text, size_t len,
                                            const char *origin, char *errbuf, size_t errcap);
/**
 * @brief How many profiles the set holds.
 * @param sources  the set (read only).
 * @return the count.
 */
EQLITE_API size_t eqlite_sources_count(const eqlite_sources *sources);
/**
 * @brief The name of profile @p i.
 * @param sources  the set (read only).
 * @param i        from 0.
 * @return the NUL-terminated name, owned by the set and valid until it changes; NULL when out of range.
 */
EQLITE_API const char *eqlite_sources_name(const eqlite_sources *sources, size_t i);

/* ---- Readers -------------------------------------------------------------- */
/** Turns a file or buffer into events, one record at a time; one thread at a time. */
typedef struct eqlite_reader eqlite_reader;

/** How a reader reads. */
typedef struct eqlite_reader_options {
    /** The fields to extract: every field of the schema, at its id, converted
     *  to its type (a keyword field holding a JSON number reads as its text,
     *  as Elasticsearch indexes it). Required; borrowed for the reader's life. */
    const eqlite_schema *schema;
    /** NUL-terminated name; NULL = "@timestamp", "" = no timestamp. */
    const char *timestamp_field;
    /** NUL-terminated name; NULL or "" = none. */
    const char *tiebreaker_field;
    /** Profiles to convert raw records with; NULL = the built-in ones.
     *  Borrowed for the reader's life. */
    const eqlite_sources *sources;
    /** NULL or "auto": each record's shape picks its profile (ECS documents
     *  and unknown shapes pass unchanged); "none": no conversion; or the
     *  name of a profile, forced on every record. */
    const char *source;
    /** Name used in eqlite_record.file; NULL = the path or "<memory>". */
    const char *display_name;
    /** Nonzero: a converted record's eqlite_record.text is NULL (len 0) and
     *  its ECS document is written only by eqlite_reader_text(), for the
     *  events you print; records no one prints then cost no text. */
    int lazy_text;
    /** The schema ids to extract (@p nfields of them), such as the fields
     *  your programs read (eqlite_program_fields()); the others stay null and
     *  cost nothing. NULL = every field of the schema. Borrowed for the call. */
    const uint32_t *fields;
    /** Entries of fields. */
    size_t nfields;
    /** Mapping parameters (date formats, ignore_above, null_value,
     *  multi-fields) applied to the fields; NULL = none. Borrowed for the
     *  reader's life. */
    const eqlite_mapping *mapping;
    /** Nonzero: a value the reader extracts that cannot be converted to its
     *  field's type ("-" in an ip field) makes the record bad, as in an index
     *  without ignore_malformed. Only the extracted fields are checked, so
     *  which records are bad depends on @p fields. 0 (the default): the value
     *  is dropped (the field reads as null when no value is left), the record
     *  is kept and eqlite_record.notice names the value, as in Elastic's
     *  logs-*-* data streams (index.mapping.ignore_malformed: true). */
    int reject_malformed;
} eqlite_reader_options;

/** What eqlite_reader_next() last read; valid until the next call. */
typedef struct eqlite_record {
    const char *text;   /**< the record's JSON: for a converted record, its ECS document */
    size_t len;         /**< bytes of text */
    const char *file;   /**< display name */
    uint64_t number;    /**< 1-based line (JSON) or record number (EVTX); 0 if unknown */
    const char *source; /**< the profile that took it ("" = none) */
    const char *reason; /**< why the record is bad / the fatal error; "" otherwise */
    uint64_t offset;    /**< byte offset of the record in the (decompressed) input; 0 for EVTX */
    /** "" or the first value this record's conversion ignored (ignore_malformed):
     *  "field [host.ip]: cannot convert \"-\" to ip" */
    const char *notice;
} eqlite_record;

/** What a reader has read so far (eqlite_reader_stats()). */
typedef struct eqlite_reader_stats {
    uint64_t bytes_in;  /**< bytes read from the file or buffer (the compressed size for gzip) */
    uint64_t bytes_out; /**< bytes of JSON text (decompressed) */
    uint64_t total_in;  /**< size of the input when known (a regular file, memory), else 0 */
    uint64_t records;   /**< non-empty records seen */
    uint64_t events;    /**< records returned as events */
    uint64_t bad;       /**< bad records */
    int gzip;           /**< 1 if the input is gzip-compressed */
    int json_array;     /**< 1 if the input is a JSON array rather than NDJSON */
    int evtx;           /**< 1 if the input is an EVTX file */
} eqlite_reader_stats;

/** The longest record a reader takes (16 MiB); a longer one is a bad record. */
#define EQLITE_READ_MAX_RECORD ((size_t)16 << 20)
/** The deepest nesting of objects and arrays a record may have; deeper is a bad record. */
#define EQLITE_READ_MAX_DEPTH 1024

/** What eqlite_reader_next() returns. */
enum {
    EQLITE_READ_EVENT = 1, /**< *event and *record are filled */
    EQLITE_READ_EOF = 0,   /**< no more records */
    EQLITE_READ_BAD = -1,  /**< a bad record (record->reason); reading goes on */
    EQLITE_READ_FATAL = -2 /**< I/O or decompression error, out of memory */
};

/**
 * @brief Opens a file, recognised by content: EVTX by its signature, gzip by
 *        its magic bytes, a JSON array by its first byte, else NDJSON.
 *
 * An EVTX file is parsed by libevtx in a child process (fork(2), no exec),
 * which hands each record over a socket: a damaged file that makes libevtx
 * crash, stall (30 s) or allocate past 1 GiB costs the record it was on (an
 * EQLITE_READ_BAD record), never the calling process. A child that read
 * its file to the end waits, idle, for the next EVTX file (at most 4 wait);
 * eqlite_reader_close() kills and reaps a child that had not finished. Every
 * child ends by itself within a second of the caller's process, and keeps
 * none of its descriptors (pipes, sockets) open. After fork(2), the copy
 * starts children of its own; a reader opened before the fork reads on in
 * the process that opened it only (in the copy its next record is an error).
 * @param path    NUL-terminated; "-" reads standard input.
 * @param opt     how to read (copied; what it points to is borrowed for the reader's life).
 * @param out     receives the reader, the caller's (eqlite_reader_close()).
 * @param errbuf  receives an error message (may be NULL).
 * @param errcap  bytes of errbuf.
 * @return EQLITE_OK, EQLITE_EINPUT (cannot open or recognise it), EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_reader_open_path(const char *path, const eqlite_reader_options *opt,
                                                 eqlite_reader **out, char *errbuf, size_t errcap);
/**
 * @brief Opens a buffer, recognised as eqlite_reader_open_path() recognises a file.
 * @param data    the bytes, borrowed: they must outlive the reader.
 * @param len     bytes of data.
 * @param opt     how to read (copied; what it points to is borrowed for the reader's life).
 * @param out     receives the reader, the caller's (eqlite_reader_close()).
 * @param errbuf  receives an error message (may be NULL).
 * @param errcap  bytes of errbuf.
 * @return EQLITE_OK, EQLITE_EINPUT, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_reader_open_memory(const void *data, size_t len,
                                                   const eqlite_reader_options *opt, eqlite_reader **out,
                                                   char *errbuf, size_t errcap);
/**
 * @brief Opens a descriptor that is already open, recognised as eqlite_reader_open_path() recognises a file.
 * @param fd      the descriptor, read from its current position; not closed by the reader.
 * @param opt     how to read (copied; what it points to is borrowed for the reader's life).
 * @param out     receives the reader, the caller's (eqlite_reader_close()).
 * @param errbuf  receives an error message (may be NULL).
 * @param errcap  bytes of errbuf.
 * @return EQLITE_OK, EQLITE_EINPUT, EQLITE_ENOMEM, EQLITE_EMISUSE.
 */
EQLITE_API eqlite_status eqlite_reader_open_fd(int fd, const eqlite_reader_options *opt, eqlite_reader **out,
                                               char *errbuf, size_t errcap);
/**
 * @brief Reads the next record.
 * @param reader  the reader.
 * @param event   receives the event; its values point into the reader and
 *                stay valid until the next call.
 * @param record  receives what was read (may be NULL); valid until the next call.
 * @return EQLITE_READ_EVENT, EQLITE_READ_EOF, EQLITE_READ_BAD or EQLITE_READ_FATAL.
 */
EQLITE_API int eqlite_reader_next(eqlite_reader *reader, eqlite_event *event, eqlite_record *record);
/**
 * @brief The JSON text of the event last read, as eqlite_record.text gives it.
 *
 * A converted record's ECS document is written when first asked for: by a
 * record passed to eqlite_reader_next() (unless lazy_text), or here.
 * @param reader  the reader.
 * @param text    receives the text, valid until the next read.
 * @param len     receives its length in bytes.
 * @return EQLITE_OK, EQLITE_ENOMEM, EQLITE_EMISUSE (the last read gave no event).
 */
EQLITE_API eqlite_status eqlite_reader_text(eqlite_reader *reader, const char **text, size_t *len);
/**
 * @brief How many records profile @p i took so far.
 * @param reader  the reader (read only).
 * @param i       a profile index of the reader's sources; eqlite_sources_count()
 *                counts the records of no known shape.
 * @return the count.
 */
EQLITE_API uint64_t eqlite_reader_source_count(const eqlite_reader *reader, size_t i);
/**
 * @brief What the reader has read so far.
 * @param reader  the reader (read only).
 * @param out     receives the counts (all 0 for a NULL reader).
 */
EQLITE_API void eqlite_reader_stats_get(const eqlite_reader *reader, eqlite_reader_stats *out);
/**
 * @brief Reads the rest of the input validating each record, extracting nothing: the parse floor for benchmarks.
 * @param reader  the reader.
 * @param valid   receives the count of valid records (may be NULL).
 * @param bad     receives the count of bad records (may be NULL).
 * @return EQLITE_READ_EOF, or EQLITE_READ_FATAL (I/O, decompression, memory).
 */
EQLITE_API int eqlite_reader_parse_only(eqlite_reader *reader, uint64_t *valid, uint64_t *bad);
/**
 * @brief Makes the next eqlite_reader_next() read the record at a byte offset.
 *
 * For plain NDJSON in memory only (eqlite_reader_open_memory()): lets a
 * caller read records in an order of its own, such as a sort index, without
 * a reader per record.
 * @param reader  the reader.
 * @param offset  an eqlite_record.offset this reader reported.
 * @param number  the line number to report for that record.
 * @return EQLITE_OK, or EQLITE_EMISUSE (other input, or past the end; nothing changed).
 */
EQLITE_API eqlite_status eqlite_reader_seek(eqlite_reader *reader, uint64_t offset, uint64_t number);
/**
 * @brief How many records profile @p i took over every reader of the set.
 *
 * A reader adds its records in batches of 1,024, and the rest when it closes:
 * exact once every reader is closed.
 * @param sources  the set (read only; counted atomically, so readers on other threads may run).
 * @param i        a profile index; eqlite_sources_count() counts the records of no known shape.
 * @return the count.
 */
EQLITE_API uint64_t eqlite_sources_record_count(const eqlite_sources *sources, size_t i);
/**
 * @brief Sets up the JSON parser for the process; call once, before any thread opens a reader.
 *
 * The parser's one-time choice of kernel allocates where a failed allocation
 * cannot be returned as a status. Calling this first makes later opens never
 * allocate for it. The one call of this library that prints: if that setup
 * runs out of memory it writes "PROG: out of memory setting up the JSON
 * parser" to standard error and exits with status 2. Not thread-safe.
 * @param prog  the program name for that message (NULL: "eqlite"), NUL-terminated.
 */
EQLITE_API void eqlite_io_setup(const char *prog);
/**
 * @brief Closes a reader: its events and records are gone with it.
 * @param reader  the reader (NULL is fine).
 */
EQLITE_API void eqlite_reader_close(eqlite_reader *reader);

#ifdef __cplusplus
}
#endif
#endif
