/* rule_record.h: reads rule records (JSON objects with query / name / id, as in
 * detection-rules JSON Lines and Kibana rule exports) through simdjson. */
#ifndef EQ_CLI_RULE_RECORD_H
#define EQ_CLI_RULE_RECORD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eq_rule_record {
    char *query; /* malloc'd, NULL if the object has no string "query" */
    char *name;
    char *id; /* "rule_id" if present, else "id" */
    size_t query_len;
} eq_rule_record;

/* What kind of record a line of a Kibana rule export is. Exports hold rules
 * of every kind: "type" ("eql", "query", "esql", "threshold", ...) and
 * "language" ("eql", "kuery", "lucene", "esql"), and end with a summary line
 * ({"exported_count":...}). Detection-rules JSON Lines have neither member. */
typedef struct eq_rule_kind {
    char type[32];      /* "" when absent (cut to 31 bytes) */
    char language[32];  /* "" when absent */
    int is_eql;         /* neither type nor language names something other than eql */
    int export_summary; /* an object with "exported_count" and no "query" */
} eq_rule_kind;

/* 0 on success, -1 if the line is not a JSON object, -2 out of memory. */
int eq_rule_record_kind(const char *line, size_t len, eq_rule_kind *out);

/* 0 on success, -1 if the line is not a JSON object (reason in err), -2 out
 * of memory (err "out of memory"; nothing to free). */
int eq_rule_record_parse(const char *line, size_t len, eq_rule_record *out, char *err, size_t errcap);
void eq_rule_record_free(eq_rule_record *r);

#ifdef __cplusplus
}
#endif
#endif
