/* commands.h: what the eqlite command's source files share. */
#ifndef EQ_CLI_COMMANDS_H
#define EQ_CLI_COMMANDS_H

#include <stdio.h>

#include "eqlite.h"

/* "where:line:col: message", the source line and a caret, to stderr. */
void cli_print_diag(const char *where, const eqlite_diag *d, const char *src, size_t len);
/* A value as JSON. */
void cli_print_value(FILE *f, const eqlite_value *v);

/* Subcommands in their own files: argv[0] is the subcommand name. */
int cmd_query(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_bench(int argc, char **argv);
/* Detection across machines over NATS JetStream (publish.c, worker.c, alerts.c). */
int cmd_publish(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_alerts(int argc, char **argv);

#endif
