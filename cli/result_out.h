/* result_out.h: how results are printed: --format ndjson|json|csv|table and
 * --fields (eqlite query), and the JSON shape of one result that
 * `eqlite worker` publishes as an alert.
 *
 * ndjson (default): one JSON value per result and line:
 *   event query:            the event's original JSON text
 *   sequence / sample:      {"join_keys":[...],"events":[EVENT|{"missing":true},...]}
 *   with -r each result is wrapped with its rule:
 *     {"rule_id":"...","rule_name":"..."|null,"event":EVENT}
 *     {"rule_id":"...","rule_name":"..."|null,"join_keys":[...],"events":[...]}
 * json: the same values as one JSON array ("[", one per line, "]").
 * csv: a header line, then one row per event of a result (RFC 4180 quoting:
 *   a cell holding , " CR or LF is quoted, quotes doubled; lines end in LF).
 * table: the csv rows as aligned columns (text_table.h), cells cut at 48
 *   code points with "…".
 * Columns of csv and table: rule_id and rule_name with -r; position (the
 *   event's place in its sequence or sample, 1 for an event query; a new
 *   result starts at 1) and join_keys (JSON array) when a rule is a sequence
 *   or a sample; then the fields.
 *
 * --fields a.b,c.d projects every event onto those fields: in ndjson and json
 * the event becomes {"a.b":VALUE,"c.d":VALUE} (null when missing), in csv and
 * table each field is a column (empty when missing). The name _source is the
 * whole event (its JSON text). Values are read as the rules read them
 * (nested objects and dotted keys alike). A csv or table cell holds a
 * string's decoded text, other values as JSON, and a multi-valued field as
 * its JSON array ([1,2], ["a","b"]; a list of one value is that value); in
 * ndjson and json a list stays a list. A field whose value is an object
 * reads as missing (name its leaves, or _source). Without --fields, csv and table show
 * the timestamp field, the category field and _source. */
#ifndef EQ_CLI_RESULT_OUT_H
#define EQ_CLI_RESULT_OUT_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "outbuf.h"
#include "text_table.h"

typedef enum ro_format { RO_NDJSON, RO_JSON, RO_CSV, RO_TABLE } ro_format;

/* A --fields column: its name, and its id in result_out.schema (UINT32_MAX
 * for _source, the whole event). */
typedef struct ro_field {
    const char *name;
    size_t len;
    uint32_t id;
} ro_field;

typedef struct result_out {
    const eng *e;
    ro_format format;
    bool wrap;       /* -r: results name their rule */
    bool discard;    /* --size 0 */
    bool sequences;  /* some rule is a sequence or a sample: position and join_keys columns */
    bool first;      /* json: no element written yet */
    char *field_text;         /* --fields, split in place */
    ro_field *fields;         /* projection (NULL: whole events) */
    size_t nfields;
    eqlite_schema *schema;    /* the fields but _source, untyped: what is read from an event */
    size_t nread;
    size_t ncols;             /* csv, table */
    text_table table;
} result_out;

/* "ndjson", "json", "csv", "table"; false for any other name. */
bool ro_parse_format(const char *name, ro_format *out);
/* After eng_prepare (the rules' kinds). fields: --fields text or NULL.
 * 0, or 2 (message on stderr) for an empty field name or no memory. */
int ro_init(result_out *ro, const eng *e, ro_format format, bool wrap, const char *fields);
/* Before the first result: json's "[", the csv or table header. */
void ro_begin(result_out *ro, eq_strbuf *out);
/* One result (an eng_sink_fn; user = the result_out). */
int ro_write(void *user, eq_strbuf *out, size_t rule, const eqlite_result *r);
/* After the last result: json's "]", the table rows still held. */
void ro_end(result_out *ro, eq_strbuf *out);
void ro_free(result_out *ro);

/* One result as `eqlite query -r` prints it, without the newline. Join keys
 * that are dates take the format of dates_from's mappings (eng_write_key);
 * dates_from NULL writes every key as its JSON value. Events carry an
 * eng_text (or a struct that begins with one) in eqlite_event.user. */
void ro_result_json(eq_strbuf *out, const eng *dates_from, size_t rule_index, const eng_rule *rule,
                    const eqlite_result *r);

#endif
