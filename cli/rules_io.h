/* rules_io.h: reading rule files for the eqlite command: .eql files (rules
 * separated by ';'), JSON Lines with a "query" member (detection-rules and
 * hunting exports, Kibana exports), detection-rules TOML rule and hunting
 * files, directories of those (recursively), stdin. */
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
    size_t record;   /* JSON Lines record number; 0 for .eql and TOML, where line shifts diagnostics */
    char *file;      /* the file it came from when loaded from a directory, else NULL */
} cli_rule;

/* Names counted for a summary: the first 8 by name, the rest as "other". */
typedef struct cli_tally {
    char names[8][64];
    size_t counts[8], n, other, total;
} cli_tally;

/* What the last cli_load_rules left out, and why: reported in one line. */
typedef struct cli_skips {
    cli_tally not_eql;      /* rules of other types/languages (KQL, ES|QL, ...), by type/language */
    cli_tally other_files;  /* directory entries in no rule format, by extension */
    size_t no_rule_files;   /* TOML files with neither [rule] nor [hunt] */
    size_t summaries;       /* Kibana export summary lines ({"exported_count":...}) */
    size_t symlinked_dirs;  /* not followed: a link back up would never end */
} cli_skips;

typedef struct cli_rules {
    cli_rule *items;
    size_t n, cap;
    size_t bad_records; /* records and TOML files that should hold a rule and do not (each reported) */
    cli_skips skips;
} cli_rules;

/* Reads a whole file ("-" = stdin); NULL on error (errno set). */
char *cli_read_file(const char *path, size_t *len);
/* Writes data to path through a temporary file in the same directory and a
 * rename, keeping the file's mode; false with errno set. */
bool cli_write_atomically(const char *path, const char *data, size_t len);
/* Loads rules from a file or a directory tree of rule files; false if
 * unreadable (errno set) or out of memory (reported). With report_bad, bad
 * records are reported one by one and what was skipped in one line. */
bool cli_load_rules(const char *path, cli_rules *out, bool report_bad);
void cli_rules_free(cli_rules *rules);
/* Writes s as a JSON string literal. */
void cli_json_string(FILE *f, const char *s, size_t n);

#endif
