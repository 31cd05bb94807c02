/* commands.h: what the eqlite command's source files share. */
#ifndef EQ_CLI_COMMANDS_H
#define EQ_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "eqlite.h"
#include "eqlite_io.h"

/* "where:line:col: message", the source line and a caret, to stderr. */
void cli_print_diag(const char *where, const eqlite_diag *d, const char *src, size_t len);
/* A rule's diagnostic at its place in the file it came from. */
struct cli_rule;
void cli_report_rule(const char *path, const struct cli_rule *r, const eqlite_diag *d);
/* Seconds on the monotonic clock, for durations. */
double cli_now_seconds(void);
/* A whole small file (profiles, mappings), malloc'd; NULL with a message. */
char *cli_read_small_file(const char *path, size_t *len);
/* A value as JSON. */
void cli_print_value(FILE *f, const eqlite_value *v);

/* Subcommands in their own files: argv[0] is the subcommand name. */
int cmd_query(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_fmt(int argc, char **argv);
int cmd_convert(int argc, char **argv);

/* Source profiles (convert.c): adds a profile file to `sources` (0, or 2
 * with a message); prints "sources: NAME N ..." for the non-zero counts
 * (counts has one slot per profile, then one for unknown shapes). */
int cli_load_profiles(eqlite_sources *sources, const char *path);
void cli_print_source_counts(FILE *f, const eqlite_sources *sources, const uint64_t *counts);
/* Detection across machines over NATS JetStream (publish.c, worker.c, alerts.c). */
int cmd_publish(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_alerts(int argc, char **argv);

#endif
