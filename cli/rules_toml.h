/* rules_toml.h: reads the rule files of Elastic's detection-rules repository
 * through toml11: rule files ([rule] with type, language, name, rule_id and
 * query) and hunting files ([hunt] with name, uuid, language = ["EQL"] and a
 * list of queries). */
#ifndef EQ_CLI_RULES_TOML_H
#define EQ_CLI_RULES_TOML_H

#include <stddef.h>

#include "rule_record.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eq_toml_query {
    char *query; /* malloc'd */
    size_t query_len;
    char *name;  /* may be NULL */
    char *id;    /* rule_id, or the hunt's uuid + "#" + index as detection-rules exports it */
    size_t line; /* line of the query's first character in the file */
} eq_toml_query;

typedef struct eq_toml_file {
    eq_toml_query *queries;
    size_t n;
    eq_rule_kind kind; /* type ("hunt" for hunting files) and language: read when not EQL */
    int no_rule;       /* valid TOML with neither a [rule] nor a [hunt] table */
} eq_toml_file;

/* 0: read (queries are empty when kind.is_eql is 0 or no_rule is set);
 * -1: not valid TOML, or an EQL rule without a string query (err says
 * "line N: ..." where known); -2: out of memory (nothing to free). */
int eq_toml_file_parse(const char *path, const char *text, size_t len, eq_toml_file *out, char *err, size_t errcap);
void eq_toml_file_free(eq_toml_file *f);

#ifdef __cplusplus
}
#endif
#endif
