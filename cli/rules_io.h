/* rules_io.h: reading rule files for the eqlite command: .eql files (rules
 * separated by ';'), JSON Lines with a "query" member, stdin. */
#ifndef EQ_CLI_RULES_IO_H
#define EQ_CLI_RULES_IO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cli_rule {
    char *text;      /* malloc'd rule text */
    size_t len;
    char *name;      /* may be NULL */
    char *id;        /* may be NULL */
    size_t line;     /* line in the file where the rule starts (1-based) */
    size_t record;   /* JSON Lines record number, 0 for .eql */
    char *file;      /* the file it came from when loaded from a directory, else NULL */
} cli_rule;

typedef struct cli_rules {
    cli_rule *items;
    size_t n, cap;
    size_t bad_records; /* JSON Lines records that are not JSON objects with a query */
    size_t skipped;     /* Kibana export records of other rule types (KQL, ES|QL, ...) */
    size_t summaries;   /* Kibana export summary lines ({"exported_count":...}) */
} cli_rules;

/* Reads a whole file ("-" = stdin); NULL on error (errno set). */
char *cli_read_file(const char *path, size_t *len);
/* Loads rules from a file or a directory of .eql files; false if unreadable. */
bool cli_load_rules(const char *path, cli_rules *out, bool report_bad);
void cli_rules_free(cli_rules *rules);
/* Writes s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s, size_t n);

#endif
