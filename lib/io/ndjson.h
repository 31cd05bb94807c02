/* ndjson.h: a projecting reader of JSON events (NDJSON, or one JSON array of
 * objects), plain or gzip-compressed, from a file, stdin or memory.
 *
 * The reader extracts only the fields the caller names (the fields compiled
 * rules read) into an eqlite_event whose fields[] is indexed by the caller's
 * ids; every other field is skipped. Nested objects and dotted keys are both
 * accepted: {"process":{"name":"x"}}, {"process.name":"x"} and
 * {"process":{"parent.name":"y"}} all reach "process.name" /
 * "process.parent.name".
 *
 * Value rules (Elasticsearch's view of _source):
 *   - strings are decoded (escapes, \u0000, surrogate pairs); invalid UTF-8
 *     anywhere in the record, or a lone surrogate escape, makes it bad;
 *   - an integer literal that fits int64 is EQLITE_INT; any other number
 *     (fraction, exponent, > INT64_MAX) is EQLITE_DOUBLE; integers wider than
 *     64 bits make the record bad;
 *   - arrays become EQLITE_ARRAY of scalars: nested arrays are flattened,
 *     nulls are dropped, an array left empty reads as null; objects inside
 *     arrays flatten to dotted names ({"x":[{"a":1},{"a":2}]} gives x.a = [1,2]);
 *   - an object (or an object inside an array) where a projected field wants
 *     a value makes the record bad;
 *   - a field given more than once (dotted and nested spellings,
 *     {"a.b":1,"a":{"b":2}}) is multi-valued, in source order, as
 *     Elasticsearch indexes every value; a key twice in one JSON object makes
 *     the record bad, as Elasticsearch rejects the document (Jackson's
 *     STRICT_DUPLICATE_DETECTION); only keys of projected fields are checked.
 *
 * Every record is fully validated by simdjson (the whole record, not only the
 * projected fields), so a malformed line is reported even when the broken part
 * is in a field no rule reads. Nesting deeper than EQ_NDJSON_MAX_DEPTH levels
 * is a bad record.
 *
 * Input: a file, stdin, a descriptor or a memory buffer; gzip is recognised by
 * its magic bytes (concatenated members are one stream); input whose first
 * non-blank byte is '[' is a JSON array of events (several arrays in a row are
 * read one after the other). A UTF-8 byte order mark is skipped. Lines end in
 * "
" or "
"; blank lines are skipped but counted.
 *
 * Memory: strings of an event point into the parser's buffers and arrays into
 * per-field buffers owned by the reader; both stay valid until the next call
 * on the reader. In steady state a call allocates nothing. Plain (not gzip)
 * memory input is cut and parsed in place, without a copy. The reader uses the
 * C++ heap (not the eqlite_allocator hook). A reader is used by one thread at
 * a time.
 */
#ifndef EQ_NDJSON_H
#define EQ_NDJSON_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"
#include "eqlite_io.h"
#include "io/profile.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EQ_NDJSON_DEFAULT_MAX_LINE EQLITE_READ_MAX_RECORD /* 16 MiB (eqlite_io.h) */
#define EQ_NDJSON_DEFAULT_BLOCK ((size_t)1 << 20)       /* 1 MiB reads */
#define EQ_NDJSON_MAX_MAX_LINE ((size_t)0x7fff0000)      /* lengths fit eqlite_value.len */
#define EQ_NDJSON_MAX_DEPTH EQLITE_READ_MAX_DEPTH

/* One projected field: dotted name -> the id its value gets in fields[]. */
typedef struct eq_ndjson_field {
    const char *name;
    size_t len;
    uint32_t id;
} eq_ndjson_field;

/* What a projected field is converted to (eq_ndjson_options.conv, parallel to
 * fields).
 *
 * `type` (an eqlite_type; 0 = EQLITE_T_UNKNOWN: values as the JSON has them)
 * applies Elasticsearch's index-time conversion of _source values to the
 * mapped type, each element of an array alike:
 *   long, integer, short, byte: numeric strings ("5", "-2", "5.7", "1e3") and
 *       doubles become EQLITE_INT, a fraction truncated toward zero (ES
 *       `coerce`); out of the type's range is bad;
 *   double, float, half_float, scaled_float: integers and numeric strings
 *       become EQLITE_DOUBLE;
 *   boolean: "true", "false" and "" (false) become EQLITE_BOOL;
 *   keyword, wildcard, constant_keyword, text: numbers and booleans become
 *       their text (5 -> "5", 2.5 -> "2.5", 5.0 -> "5.0", true -> "true"; a
 *       double's text is the shortest that reads back, with ".0" when integral,
 *       not the literal's exact spelling);
 *   date: every value becomes epoch milliseconds (EQLITE_INT): strings are
 *       parsed with `format` (the mapping's "format": Java patterns such as
 *       "dd-MM-yyyy" and named formats such as "epoch_millis",
 *       "strict_date_optional_time", joined by "||", tried in order; NULL or ""
 *       = strict_date_optional_time||epoch_millis), numbers are epoch
 *       milliseconds. When the date field is also the timestamp field, the
 *       event timestamp is taken from the text at full precision when it is
 *       ISO-8601, else from the converted value.
 *   ip: a string parsed as an address (IPv4, IPv6, v4-mapped), read in the
 *       spelling Elasticsearch returns ("::ffff:10.0.0.1" is "10.0.0.1",
 *       IPv6 compressed lower-case); anything else makes the record bad.
 *   date_nanos: like date but to nanoseconds (ISO text keeps nine fraction
 *       digits), read as ISO text "2022-12-17T00:00:00.123456789Z" (3 to 9
 *       fraction digits, as Elasticsearch prints it); before 1970 is bad.
 * Other types (version, ...) are left as read. A value that
 * cannot be converted (a boolean for a long, "abc" for a date) makes the
 * record bad, as Elasticsearch rejects the document:
 *   field [x]: cannot convert "abc" to long
 * Converted strings stay valid until the next call on the reader. */
typedef struct eq_ndjson_conv {
    uint32_t type;      /* eqlite_type to convert to; 0 = none */
    const char *format; /* date format (type date); NULL = the default; copied */
    /* keyword-like types: a string longer than this many UTF-16 units is not
     * indexed (KeywordFieldMapper), so it reads as absent; 0 = no limit */
    uint32_t ignore_above;
    /* the mapping's null_value as JSON text (copied), or NULL: an explicit
     * JSON null (also inside an array) is indexed as this value, converted
     * like any other; an absent field or an empty array stays absent */
    const char *null_value;
} eq_ndjson_conv;

typedef struct eq_ndjson_options {
    /* may repeat an id (aliases); a name listed again with another id gives
     * that id the same values (a multi-field reads its parent's path) */
    const eq_ndjson_field *fields;
    size_t nfields;
    const eq_ndjson_conv *conv; /* NULL, or nfields entries: the mapped types */
    /* Timestamp field (ISO-8601 string, epoch-millisecond number or digit
     * string). NULL/0 = none: every event gets timestamp 0. When set, an event
     * whose timestamp is missing or unparseable is a bad record. */
    const char *timestamp_field;
    size_t timestamp_len;
    /* The timestamp field's date format when it is not ISO-8601 / epoch
     * milliseconds (see eq_ndjson_conv); NULL = none. Copied. */
    const char *timestamp_format;
    /* Tiebreaker field, copied as is into event.tiebreaker. NULL/0 = none. */
    const char *tiebreaker_field;
    size_t tiebreaker_len;
    size_t max_line;   /* longest record in bytes; 0 = EQ_NDJSON_DEFAULT_MAX_LINE */
    size_t block_size; /* read size; 0 = EQ_NDJSON_DEFAULT_BLOCK */
    /* Name reported in eq_ndjson_record.file; NULL = the path, "<stdin>" or
     * "<memory>". Copied. */
    const char *display_name;
    /* Source profiles (profile.h): each raw record is converted to the ECS
     * document its profile makes, and that document is what the fields are
     * read from and what eq_ndjson_record.text holds. NULL = records are
     * read as they are. Borrowed: must outlive the reader. */
    const eq_profiles *profiles;
    /* With profiles: EQ_NDJSON_SOURCE_AUTO (each record's shape picks its
     * profile; ECS and unknown shapes pass unchanged) or a profile index. */
    int source;
    /* Nonzero: a converted event's record.text is NULL (len 0); its ECS
     * document is written by eq_ndjson_last_text() when asked for. */
    int lazy_text;
    /* Nonzero: a projected value that cannot be converted to its mapped type
     * makes the record bad (an index without ignore_malformed). 0: the value
     * is dropped, the record kept, and record.notice names it (the
     * ignore_malformed of Elastic's logs-*-* data streams). */
    int reject_malformed;
} eq_ndjson_options;

#define EQ_NDJSON_SOURCE_AUTO (-1)

typedef struct eq_ndjson eq_ndjson;

/* What eq_ndjson_next() last read. Pointers are valid until the next call. */
typedef struct eq_ndjson_record {
    /* The record's JSON text: the line without its line end; an array element
     * that spans lines is given minified to one line; for an over-long record
     * the part that was read. NULL for array syntax errors. */
    const char *text;
    size_t len;
    uint64_t line;       /* 1-based line where the record starts */
    uint64_t offset;     /* byte offset of the record in the (decompressed) input */
    const char *file;    /* display name */
    const char *reason;  /* why the record is bad / the fatal error; "" otherwise */
    /* an event's first value that could not be converted and was dropped
     * ("field [F]: cannot convert V to T"); "" otherwise */
    const char *notice;
} eq_ndjson_record;

typedef struct eq_ndjson_stats {
    uint64_t bytes_in;     /* bytes read from the file or buffer (compressed size for .gz) */
    uint64_t bytes_out;    /* bytes of JSON text (decompressed) */
    uint64_t total_in;     /* size of the input if known (regular file, memory), else 0 */
    uint64_t records;      /* non-empty records seen */
    uint64_t events;       /* records returned as events */
    uint64_t bad;          /* bad records */
    int gzip;              /* 1 if the input is gzip-compressed */
    int json_array;        /* 1 if the input is a JSON array rather than NDJSON */
    int evtx;              /* 1 if the input is an EVTX file (records come from libevtx) */
} eq_ndjson_stats;

enum {
    EQ_NDJSON_EVENT = 1, /* *event and *record are filled */
    EQ_NDJSON_EOF = 0,
    EQ_NDJSON_BAD = -1,  /* a bad record: record->reason, ->line; reading can go on */
    EQ_NDJSON_FATAL = -2 /* I/O or decompression error, out of memory; sticky */
};

/* Sets simdjson up for the process: its one-time choice of kernel allocates
 * inside noexcept code, where a failed allocation calls std::terminate, so
 * no caller could see it as an error. Call once at program start (before any
 * thread): if that setup runs out of memory, this prints
 * "PROG: out of memory setting up the JSON parser" on stderr and exits with
 * status 2. Later opens never allocate for it. */
void eq_ndjson_setup_or_exit(const char *prog);

/* path "-" reads stdin. gzip is detected from the magic bytes. On failure
 * *out is NULL and err (if errcap > 0) holds a NUL-terminated message. */
eqlite_status eq_ndjson_open_path(const char *path, const eq_ndjson_options *opt,
                                  eq_ndjson **out, char *err, size_t errcap);
/* Reads an already open descriptor (not closed by the reader). */
eqlite_status eq_ndjson_open_fd(int fd, const eq_ndjson_options *opt, eq_ndjson **out,
                                char *err, size_t errcap);
/* The buffer is borrowed: it must outlive the reader. */
eqlite_status eq_ndjson_open_memory(const void *data, size_t len, const eq_ndjson_options *opt,
                                    eq_ndjson **out, char *err, size_t errcap);
void eq_ndjson_close(eq_ndjson *reader);

/* Reads the next event. Returns EQ_NDJSON_EVENT, _EOF, _BAD or _FATAL.
 * event->fields has max id + 1 entries (missing fields are EQLITE_NULL);
 * event->user is left untouched. `record` may be NULL. */
int eq_ndjson_next(eq_ndjson *reader, eqlite_event *event, eq_ndjson_record *record);

/* The parse floor for benchmarks: reads the rest of the input, validating each
 * record with the same parser but extracting nothing. Returns EQ_NDJSON_EOF or
 * EQ_NDJSON_FATAL; counts go to *valid and *bad. */
int eq_ndjson_parse_only(eq_ndjson *reader, uint64_t *valid, uint64_t *bad);

void eq_ndjson_stats_get(const eq_ndjson *reader, eq_ndjson_stats *out);

/* Plain NDJSON in memory only: the next eq_ndjson_next() reads the record
 * that starts at byte `offset` of the buffer (an offset a record of this
 * buffer reported), numbering it `line`. Lets a caller read records in an
 * order of its own (a sort index) without a reader per record. Returns 0, or
 * -1 (nothing changed) for other input or an offset past the end. */
int eq_ndjson_seek(eq_ndjson *reader, uint64_t offset, uint64_t line);
/* With profiles: the index of the profile that took the last record read
 * (-1: none, no known shape); and how many records each profile took so far,
 * into counts[0..n) (the last slot: records of no known shape). Returns the
 * number of slots (profiles + 1). */
int eq_ndjson_last_source(const eq_ndjson *reader);
/* The text of the event last read, as eq_ndjson_record.text gives it. For a
 * record converted by a profile the ECS document is written only when asked
 * for: by a non-NULL record in eq_ndjson_next(), or by this call (read with a
 * NULL record, print only the events you need). Valid until the next read.
 * Returns 0, -1 when the last read gave no event, -2 when out of memory. */
int eq_ndjson_last_text(eq_ndjson *reader, const char **text, size_t *len);
uint64_t eq_ndjson_source_count(const eq_ndjson *reader, size_t i); /* 0 out of range; allocates nothing */

/* A date string through an Elasticsearch date format (as `format` above; NULL
 * or "" = the default) -> epoch milliseconds. 0 on success, -1 if no format of
 * the list parses it. */
int eq_ndjson_parse_date_format(const char *s, size_t len, const char *format, int64_t *ms);

/* Epoch milliseconds as Elasticsearch renders a date field's value (the
 * fields API, join keys): through the first format of `format` (NULL or "" =
 * the default, strict_date_optional_time: 2022-12-17T00:00:00.000Z), in UTC.
 * Returns the length written (NUL-terminated), or 0 if the format has a part
 * this does not render or cap is too small. */
size_t eq_ndjson_format_date(int64_t ms, const char *format, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
