/* rules.h: reads rule records (JSON objects with query / name / id, as in
 * detection-rules JSON Lines and Kibana rule exports) through simdjson. */
#ifndef EQ_RULES_H
#define EQ_RULES_H

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

/* 0 on success, -1 if the line is not a JSON object (reason in err). */
int eq_rule_record_parse(const char *line, size_t len, eq_rule_record *out, char *err, size_t errcap);
void eq_rule_record_free(eq_rule_record *r);

#ifdef __cplusplus
}
#endif
#endif
