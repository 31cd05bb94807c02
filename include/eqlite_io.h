/*
 * eqlite_io: the intake side of eqlite (libeqlite-io). Readers turn files and
 * buffers — NDJSON, a JSON array, either gzip-compressed, or Windows EVTX
 * event logs — into eqlite_events for a schema; source profiles turn each
 * vendor's raw records (Sysmon / Windows event logs, Microsoft Defender XDR,
 * SentinelOne Cloud Funnel) into the ECS documents Elastic's integrations
 * produce, so that Elastic's detection rules run on them unchanged.
 *
 * Same conventions as eqlite.h: opaque handles, a status from every call,
 * pointer + length inputs, destructors that accept NULL, no printing.
 */
#ifndef EQLITE_IO_H
#define EQLITE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Loads an Elasticsearch index mapping ({"mappings":{"properties":...}} or a
 * bare {"properties":...}) into a schema; nested objects become dotted
 * names; `fields` sub-fields of text fields become name.sub. Merges with what
 * is there. Errors go to `diag` (may be NULL) as compile's do: its message
 * names the field; line and column are 0 (the JSON reader keeps no
 * positions). */
EQLITE_API eqlite_status eqlite_schema_load_mapping(eqlite_schema *schema, const char *json,
                                                    size_t len, eqlite_diag *diag);

/* The Elastic Common Schema: adds every ECS field (ECS 9.x, generated from
 * ECS's fields.csv) with its type, keeping the type of fields already in the
 * schema. Load it before a mapping to have the mapping override it. */
EQLITE_API eqlite_status eqlite_schema_load_ecs(eqlite_schema *schema);

/* ---- Sources ------------------------------------------------------------
 * A set of source profiles: the built-in ones (the .profile files in share/eqlite/sources:
 * windows, m365-defender, sentinelone-cloud-funnel, ecs) plus any added. */
typedef struct eqlite_sources eqlite_sources;

EQLITE_API eqlite_status eqlite_sources_new(eqlite_sources **out, char *errbuf, size_t errcap);
EQLITE_API void eqlite_sources_free(eqlite_sources *sources);
/* Adds the profiles of a profile file; one with the name of a profile already
 * there replaces it. `origin` (may be NULL) names the text in messages. */
EQLITE_API eqlite_status eqlite_sources_add(eqlite_sources *sources, const char *text, size_t len,
                                            const char *origin, char *errbuf, size_t errcap);
EQLITE_API size_t eqlite_sources_count(const eqlite_sources *sources);
/* NUL-terminated name of profile i (NULL when out of range). */
EQLITE_API const char *eqlite_sources_name(const eqlite_sources *sources, size_t i);

/* ---- Readers -------------------------------------------------------------- */
typedef struct eqlite_reader eqlite_reader;

typedef struct eqlite_reader_options {
    /* The fields to extract: every field of the schema, at its id, converted
     * to its type (a keyword field holding a JSON number reads as its text,
     * as Elasticsearch indexes it). Required; borrowed for the reader's life. */
    const eqlite_schema *schema;
    /* NUL-terminated names; NULL = "@timestamp" / none. "" = no timestamp. */
    const char *timestamp_field;
    const char *tiebreaker_field;
    /* Profiles to convert raw records with; NULL = the built-in ones.
     * Borrowed for the reader's life. */
    const eqlite_sources *sources;
    /* NULL or "auto": each record's shape picks its profile (ECS documents
     * and unknown shapes pass unchanged); "none": no conversion; or the
     * name of a profile, forced on every record. */
    const char *source;
    /* Name used in eqlite_record.file; NULL = the path or "<memory>". */
    const char *display_name;
    /* Nonzero: a converted record's eqlite_record.text is NULL (len 0) and
     * its ECS document is written only by eqlite_reader_text(), for the
     * events you print; records no one prints then cost no text. */
    int lazy_text;
} eqlite_reader_options;

/* What eqlite_reader_next() last read; valid until the next call. */
typedef struct eqlite_record {
    const char *text;   /* the record's JSON: for a converted record, its ECS document */
    size_t len;
    const char *file;   /* display name */
    uint64_t number;    /* 1-based line (JSON) or record number (EVTX); 0 if unknown */
    const char *source; /* the profile that took it ("" = none) */
    const char *reason; /* why the record is bad / the fatal error; "" otherwise */
} eqlite_record;

enum {
    EQLITE_READ_EVENT = 1, /* *event and *record are filled */
    EQLITE_READ_EOF = 0,
    EQLITE_READ_BAD = -1,  /* a bad record (record->reason); reading goes on */
    EQLITE_READ_FATAL = -2 /* I/O or decompression error, out of memory */
};

/* A file ("-" = stdin), recognised by content: EVTX by its signature, gzip by
 * its magic bytes, a JSON array by its first byte, else NDJSON. */
EQLITE_API eqlite_status eqlite_reader_open_path(const char *path, const eqlite_reader_options *opt,
                                                 eqlite_reader **out, char *errbuf, size_t errcap);
/* A buffer (borrowed: it must outlive the reader), recognised the same way. */
EQLITE_API eqlite_status eqlite_reader_open_memory(const void *data, size_t len,
                                                   const eqlite_reader_options *opt, eqlite_reader **out,
                                                   char *errbuf, size_t errcap);
/* Returns EQLITE_READ_EVENT, _EOF, _BAD or _FATAL. The event's values point
 * into the reader and stay valid until the next call. `record` may be NULL. */
EQLITE_API int eqlite_reader_next(eqlite_reader *reader, eqlite_event *event, eqlite_record *record);
/* The JSON text of the event last read (as eqlite_record.text gives it). A
 * converted record's ECS document is written when first asked for: by a
 * record passed to eqlite_reader_next() (unless lazy_text), or here. Valid
 * until the next read. EQLITE_EMISUSE when the last read gave no event. */
EQLITE_API eqlite_status eqlite_reader_text(eqlite_reader *reader, const char **text, size_t *len);
/* How many records profile i took so far (i == eqlite_sources_count: records
 * of no known shape). */
EQLITE_API uint64_t eqlite_reader_source_count(const eqlite_reader *reader, size_t i);
EQLITE_API void eqlite_reader_close(eqlite_reader *reader);

#ifdef __cplusplus
}
#endif
#endif
