/* main.c: the eqlite command. Exit status: 0 ran, 1 invalid rule (or a
 * failed check/test), 2 usage or unreadable input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "eqlite.h"
#include "rules_io.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eqlite COMMAND [ARGS]\n"
            "  query [OPTIONS] QUERY [FILE...]   run one query over NDJSON events; print results\n"
            "  check [FILE|DIR...]               parse + verify rules; file:line:col: message\n"
            "  eval EXPR                         fold a constant expression; print its JSON value\n"
            "  test FILE...                      rule unit tests (YAML); ends with \"N passed, N failed\"\n"
            "  fmt [-w | --check] [FILE|DIR...]  print (or rewrite, or check) rules in the canonical layout\n"
            "  explain QUERY                     print the compiled bytecode\n"
            "  bench ...                         throughput of rules over events\n"
            "  publish --stream NAME FILE...     events into a NATS JetStream stream, by partition\n"
            "  worker --stream NAME -r RULES     run rules over a stream; alerts to JetStream\n"
            "  alerts --stream NAME              print the alerts a stream holds\n"
            "  convert [--source NAME] [FILE...] print each record's ECS document (NDJSON)\n"
            "  fields [FILE|DIR...]              list the fields rules read, with their types\n"
            "  version                           print the version\n"
            "eqlite COMMAND --help shows a command's options; man eqlite has them all.\n");
}

static void check_usage(FILE *f)
{
    fprintf(f, "usage: eqlite check [--mapping FILE]... [FILE|DIR...]\n"
               "Parses and verifies rules as Elasticsearch does; prints each error as\n"
               "file:line:col: message with the source line and a caret, then \"N ok, N failed\".\n"
               "Reads .eql files (rules separated by ';'), detection-rules TOML rule and hunting\n"
               "files, JSON Lines with \"query\" (detection-rules, hunting and Kibana exports),\n"
               "directories of those (recursively), or stdin (no FILE or -). Rules of other\n"
               "languages and files of no rule format are skipped, counted on one stderr line.\n"
               "  --mapping FILE  check fields against an index mapping, as Elasticsearch's\n"
               "                  verifier does: a field it lacks is \"Unknown column [x], did you\n"
               "                  mean [y]?\" unless written ?x (repeatable; the mappings merge)\n"
               "  -h, --help      this help\n"
               "Exit: 0 all valid, 1 a rule is invalid (or a record holds no rule), 2 unreadable.\n");
}

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: eqlite eval [--] EXPR\n"
               "Folds a constant expression (no fields) and prints its value as JSON:\n"
               "  eqlite eval 'concat(\"a\", 1 + 2)'   ->   \"a3\"\n"
               "  -h, --help    this help\n"
               "Exit: 0 printed, 1 invalid expression (file:line:col diagnostic), 2 usage.\n");
}

static void explain_usage(FILE *f)
{
    fprintf(f, "usage: eqlite explain [--] QUERY\n"
               "Compiles a query (fields typed from the query alone) and prints its bytecode:\n"
               "one instruction a line, the constant pool and the fields it reads.\n"
               "  -h, --help    this help\n"
               "Exit: 0 printed, 1 invalid query, 2 usage.\n");
}

static bool is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

/* Options of the commands that take only --help: the index of the first
 * operand; -1 after printing the help; -2 after an unknown option. An
 * operand that starts with '-' (eval -1) follows "--" or stands alone. */
static int operands(int argc, char **argv, const char *cmd, void (*help)(FILE *), bool dash_operands)
{
    int k = 0;
    for (; k < argc && argv[k][0] == '-' && argv[k][1]; k++) {
        if (!strcmp(argv[k], "--"))
            return k + 1;
        if (is_help(argv[k])) {
            help(stdout);
            return -1;
        }
        if (dash_operands)
            break;
        fprintf(stderr, "eqlite %s: unknown option %s\n", cmd, argv[k]);
        help(stderr);
        return -2;
    }
    return k;
}

/* The schema `check --mapping` verifies against: the mappings' fields only. */
static eqlite_schema *check_schema(char **mappings, int n)
{
    eqlite_schema *schema = NULL;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return NULL;
    for (int k = 0; k < n; k++) {
        size_t len;
        char *json = cli_read_small_file(mappings[k], &len);
        eqlite_diag d;
        eqlite_status st = json ? eqlite_schema_load_mapping(schema, json, len, &d) : EQLITE_EINPUT;
        free(json);
        if (st != EQLITE_OK) {
            if (json)
                fprintf(stderr, "eqlite check: %s: %s\n", mappings[k], d.message);
            eqlite_schema_free(schema);
            return NULL;
        }
    }
    uint32_t id;
    if (n && eqlite_schema_lookup(schema, "event.category", 14, &id) != EQLITE_OK) /* as ES: the category must be mapped */
        eqlite_schema_add(schema, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_set_grow(schema, n == 0);
    return schema;
}

/* Takes `--mapping FILE` (and --no-ecs when no_ecs is given) out of argv
 * before the operands; returns the new argc, or -1 after a message. */
static int take_mappings(int argc, char **argv, const char *cmd, char **mappings, int *nmappings, bool *no_ecs)
{
    int kept = 0;
    *nmappings = 0;
    for (int k = 0; k < argc; k++) {
        bool eq = !strncmp(argv[k], "--mapping=", 10);
        if (no_ecs && !strcmp(argv[k], "--no-ecs")) {
            *no_ecs = true;
            continue;
        }
        if ((strcmp(argv[k], "--mapping") && !eq) || (!eq && k + 1 == argc)) {
            argv[kept++] = argv[k];
            continue;
        }
        if (*nmappings == 64) {
            fprintf(stderr, "eqlite %s: more than 64 --mapping files\n", cmd);
            return -1;
        }
        mappings[(*nmappings)++] = eq ? argv[k] + 10 : argv[++k];
    }
    return kept;
}

static int cmd_check(int argc, char **argv)
{
    char *mappings[64];
    int nmappings;
    if ((argc = take_mappings(argc, argv, "check", mappings, &nmappings, NULL)) < 0)
        return 2;
    int first = operands(argc, argv, "check", check_usage, false);
    if (first < 0)
        return first == -1 ? 0 : 2;
    argc -= first;
    argv += first;
    size_t ok = 0, failed = 0;
    int status = 0;
    const char *stdin_only[] = {"-"};
    char **files = argc > 0 ? argv : (char **)stdin_only;
    int nfiles = argc > 0 ? argc : 1;
    for (int f = 0; f < nfiles; f++) {
        cli_rules rules = {0};
        if (!cli_load_rules(files[f], &rules, true)) {
            fprintf(stderr, "eqlite check: cannot read %s: %s\n", files[f], strerror(errno));
            cli_rules_free(&rules);
            return 2;
        }
        failed += rules.bad_records;
        for (size_t k = 0; k < rules.n; k++) {
            cli_rule *r = &rules.items[k];
            eqlite_program *prog = NULL;
            eqlite_diag d;
            eqlite_schema *schema = check_schema(mappings, nmappings);
            if (!schema)
                return 2;
            if (eqlite_compile(schema, r->text, r->len, &prog, &d) == EQLITE_OK) {
                ok++;
            } else {
                failed++;
                cli_report_rule(r->file ? r->file : files[f], r, &d);
            }
            eqlite_program_free(prog);
            eqlite_schema_free(schema);
        }
        cli_rules_free(&rules);
    }
    printf("%zu ok, %zu failed\n", ok, failed);
    if (failed)
        status = 1;
    return status;
}

static void fields_usage(FILE *f)
{
    fprintf(f, "usage: eqlite fields [--mapping FILE]... [--no-ecs] [FILE|DIR...]\n"
               "Lists the fields the rules read, sorted, one per line: name, type and how many\n"
               "rules read it, tab-separated. The type comes from the mappings, then ECS;\n"
               "\"unknown\" means neither names it (eqlite types it from the data). For pipeline\n"
               "configuration, and to check a source profile's output against a rule set.\n"
               "Reads rules as check does. Rules that do not compile are reported and skipped.\n"
               "  --mapping FILE  an index mapping (repeatable; the mappings merge)\n"
               "  --no-ecs        no built-in ECS field types\n"
               "  -h, --help      this help\n"
               "Exit: 0 listed, 1 a rule is invalid, 2 unreadable.\n");
}

typedef struct field_use {
    const char *name;
    const char *type;
    size_t rules;
} field_use;

static int by_field_name(const void *a, const void *b)
{
    return strcmp(((const field_use *)a)->name, ((const field_use *)b)->name);
}

static int cmd_fields(int argc, char **argv)
{
    char *mappings[64];
    int nmappings;
    bool no_ecs = false;
    if ((argc = take_mappings(argc, argv, "fields", mappings, &nmappings, &no_ecs)) < 0)
        return 2;
    int first = operands(argc, argv, "fields", fields_usage, false);
    if (first < 0)
        return first == -1 ? 0 : 2;
    argc -= first;
    argv += first;
    eqlite_schema *schema = check_schema(mappings, nmappings);
    if (!schema)
        return 2;
    eqlite_schema_set_grow(schema, 1); /* fields of neither: listed as unknown */
    if (!no_ecs && eqlite_schema_load_ecs(schema) != EQLITE_OK) {
        eqlite_schema_free(schema);
        return 2;
    }
    size_t *uses = NULL, nuses = 0;
    int status = 0;
    const char *stdin_only[] = {"-"};
    char **files = argc > 0 ? argv : (char **)stdin_only;
    for (int f = 0; f < (argc > 0 ? argc : 1) && status != 2; f++) {
        cli_rules rules = {0};
        if (!cli_load_rules(files[f], &rules, true)) {
            fprintf(stderr, "eqlite fields: cannot read %s: %s\n", files[f], strerror(errno));
            status = 2;
        }
        for (size_t k = 0; status != 2 && k < rules.n; k++) {
            cli_rule *r = &rules.items[k];
            eqlite_program *prog = NULL;
            eqlite_diag d;
            if (eqlite_compile(schema, r->text, r->len, &prog, &d) != EQLITE_OK) {
                cli_report_rule(r->file ? r->file : files[f], r, &d);
                status = 1;
                continue;
            }
            size_t n, count = eqlite_schema_field_count(schema);
            const uint32_t *ids = eqlite_program_fields(prog, &n);
            if (count > nuses) {
                size_t *grown = realloc(uses, count * sizeof *uses);
                if (!grown) {
                    fprintf(stderr, "eqlite fields: out of memory\n");
                    status = 2;
                } else {
                    memset(grown + nuses, 0, (count - nuses) * sizeof *grown);
                    uses = grown;
                    nuses = count;
                }
            }
            for (size_t j = 0; status != 2 && j < n; j++)
                if (ids[j] < nuses)
                    uses[ids[j]]++;
            eqlite_program_free(prog);
        }
        cli_rules_free(&rules);
    }
    field_use *list = NULL;
    if (status != 2 && !(list = malloc((nuses + 1) * sizeof *list))) {
        fprintf(stderr, "eqlite fields: out of memory\n");
        status = 2;
    }
    size_t nlist = 0;
    for (size_t id = 0; list && id < nuses; id++) {
        eqlite_type type;
        const char *name = uses[id] ? eqlite_schema_field_name(schema, (uint32_t)id, &type) : NULL;
        if (name)
            list[nlist++] = (field_use){name, eqlite_type_name(type), uses[id]};
    }
    if (list)
        qsort(list, nlist, sizeof *list, by_field_name);
    for (size_t k = 0; k < nlist; k++)
        printf("%s\t%s\t%zu\n", list[k].name, list[k].type, list[k].rules);
    free(list);
    free(uses);
    eqlite_schema_free(schema);
    return status;
}



static int cmd_eval(int argc, char **argv)
{
    int first = operands(argc, argv, "eval", eval_usage, true);
    if (first < 0)
        return first == -1 ? 0 : 2;
    argc -= first;
    argv += first;
    if (argc != 1) {
        eval_usage(stderr);
        return 2;
    }
    size_t cap = strlen(argv[0]) * 4 + 4096;
    char *buf = malloc(cap);
    eqlite_value v;
    eqlite_diag d;
    eqlite_status st = eqlite_eval_constant(argv[0], strlen(argv[0]), &v, buf, cap, &d);
    if (st != EQLITE_OK) {
        cli_print_diag("eval", &d, argv[0], strlen(argv[0]));
        free(buf);
        return 1;
    }
    cli_print_value(stdout, &v);
    fputc('\n', stdout);
    free(buf);
    return 0;
}

static int cmd_explain(int argc, char **argv)
{
    int first = operands(argc, argv, "explain", explain_usage, true);
    if (first < 0)
        return first == -1 ? 0 : 2;
    argc -= first;
    argv += first;
    if (argc != 1) {
        explain_usage(stderr);
        return 2;
    }
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 2;
    eqlite_schema_set_grow(schema, 1);
    eqlite_program *prog;
    eqlite_diag d;
    if (eqlite_compile(schema, argv[0], strlen(argv[0]), &prog, &d) != EQLITE_OK) {
        cli_print_diag("query", &d, argv[0], strlen(argv[0]));
        eqlite_schema_free(schema);
        return 1;
    }
    size_t need = 0;
    eqlite_program_explain(prog, NULL, 0, &need);
    char *buf = malloc(need);
    if (buf) {
        eqlite_program_explain(prog, buf, need, NULL);
        fputs(buf, stdout);
    } else {
        fprintf(stderr, "eqlite explain: out of memory\n");
    }
    free(buf);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return buf ? 0 : 2;
}

/* Output goes through stdio for every command but query's result stream: a
 * failed write (a full disk, /dev/full) is exit 2 with a message, never 0. */
static int finish_output(int status)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return status;
    fprintf(stderr, "eqlite: cannot write output: %s\n", strerror(errno ? errno : EIO));
    return 2;
}

static int run_command(int argc, char **argv);

int main(int argc, char **argv) { return finish_output(run_command(argc, argv)); }

static int run_command(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    eqlite_io_setup("eqlite"); /* before any thread; see eqlite_io.h */
    const char *cmd = argv[1];
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "fmt"))
        return cmd_fmt(argc - 1, argv + 1);
    if (!strcmp(cmd, "fields"))
        return cmd_fields(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "query"))
        return cmd_query(argc - 1, argv + 1);
    if (!strcmp(cmd, "test"))
        return cmd_test(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "convert"))
        return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "publish"))
        return cmd_publish(argc - 1, argv + 1);
    if (!strcmp(cmd, "worker"))
        return cmd_worker(argc - 1, argv + 1);
    if (!strcmp(cmd, "alerts"))
        return cmd_alerts(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return cmd_explain(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        if (argc > 2 && is_help(argv[2])) {
            printf("usage: eqlite version\nPrints the version of the command and library.\n");
            return 0;
        }
        printf("eqlite %s\n", eqlite_version());
        return 0;
    }
    if (!strcmp(cmd, "help") && argc > 2) { /* eqlite help COMMAND = eqlite COMMAND --help */
        char *again[] = {argv[0], argv[2], "--help", NULL};
        return strcmp(argv[2], "help") ? run_command(3, again) : (usage(stdout), 0);
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "eqlite: unknown command [%s]\n", cmd);
    usage(stderr);
    return 2;
}
