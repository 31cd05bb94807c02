/* main.c: the eqlite command. Exit status: 0 ran, 1 invalid rule (or a
 * failed check/test), 2 usage or unreadable input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "eqlite.h"
#include "ndjson/ndjson.h"
#include "rules_io.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: eqlite COMMAND [ARGS]\n"
            "  query [OPTIONS] QUERY [FILE...]   run one query over NDJSON events; print results\n"
            "  check [FILE...]                   parse + verify rules; file:line:col: message\n"
            "  eval EXPR                         fold a constant expression; print its JSON value\n"
            "  test FILE...                      rule unit tests (YAML); ends with \"N passed, N failed\"\n"
            "  fmt [FILE...]                     print rules in the canonical layout\n"
            "  explain QUERY                     print the compiled bytecode\n"
            "  bench ...                         throughput of rules over events\n"
            "  publish --stream NAME FILE...     events into a NATS JetStream stream, by partition\n"
            "  worker --stream NAME -r RULES     run rules over a stream; alerts to JetStream\n"
            "  alerts --stream NAME              print the alerts a stream holds\n"
            "  version                           print the version\n");
}

void cli_print_diag(const char *where, const eqlite_diag *d, const char *src, size_t len)
{
    size_t need = eqlite_diag_format(d, src, len, NULL, 0) + 1;
    char *buf = malloc(need);
    if (!buf)
        return;
    eqlite_diag_format(d, src, len, buf, need);
    fprintf(stderr, "%s:%s", where, buf);
    free(buf);
}

/* Position of a rule's diagnostic in its file: rules in .eql files start at
 * rule->line, so shift the line (column stays right for lines after the first). */
static void report(const char *path, const cli_rule *r, const eqlite_diag *d)
{
    char where[4096];
    if (r->record)
        snprintf(where, sizeof where, "%s:%zu: record %zu%s%s%s", path, r->line, r->record, r->name ? " [" : "",
                 r->name ? r->name : "", r->name ? "]" : "");
    else
        snprintf(where, sizeof where, "%s", path);
    eqlite_diag shifted = *d;
    if (!r->record)
        shifted.line = d->line + (unsigned)r->line - 1;
    if (r->record) {
        size_t need = eqlite_diag_format(&shifted, r->text, r->len, NULL, 0) + 1;
        char *buf = malloc(need);
        if (buf) {
            eqlite_diag_format(&shifted, r->text, r->len, buf, need);
            fprintf(stderr, "%s: %s", where, buf);
            free(buf);
        }
    } else {
        cli_print_diag(where, &shifted, r->text, r->len);
    }
}

static int cmd_check(int argc, char **argv)
{
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
            eqlite_schema *schema = NULL;
            eqlite_program *prog = NULL;
            eqlite_diag d;
            if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
                return 2;
            eqlite_schema_set_grow(schema, 1);
            if (eqlite_compile(schema, r->text, r->len, &prog, &d) == EQLITE_OK) {
                ok++;
            } else {
                failed++;
                report(files[f], r, &d);
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

static int cmd_fmt(int argc, char **argv)
{
    const char *stdin_only[] = {"-"};
    char **files = argc > 0 ? argv : (char **)stdin_only;
    int nfiles = argc > 0 ? argc : 1;
    int status = 0;
    for (int f = 0; f < nfiles; f++) {
        cli_rules rules = {0};
        if (!cli_load_rules(files[f], &rules, true)) {
            fprintf(stderr, "eqlite fmt: cannot read %s: %s\n", files[f], strerror(errno));
            cli_rules_free(&rules);
            return 2;
        }
        for (size_t k = 0; k < rules.n; k++) {
            cli_rule *r = &rules.items[k];
            size_t need = 0;
            eqlite_diag d;
            eqlite_status st = eqlite_format(r->text, r->len, NULL, 0, &need, &d);
            if (st != EQLITE_OK && st != EQLITE_ELIMIT) {
                report(files[f], r, &d);
                status = 1;
                continue;
            }
            char *buf = malloc(need);
            if (!buf)
                return 2;
            eqlite_format(r->text, r->len, buf, need, NULL, NULL);
            fputs(buf, stdout);
            if (rules.n > 1)
                fputs(";\n", stdout);
            free(buf);
        }
        cli_rules_free(&rules);
    }
    return status;
}

void cli_print_value(FILE *f, const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_NULL: fputs("null", f); break;
    case EQLITE_BOOL: fputs(v->u.b ? "true" : "false", f); break;
    case EQLITE_INT: fprintf(f, "%lld", (long long)v->u.i); break;
    case EQLITE_DOUBLE: {
        if (!isfinite(v->u.d)) {
            fputs("null", f);
            break;
        }
        char tmp[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v->u.d);
            if (strtod(tmp, NULL) == v->u.d)
                break;
        }
        if (!strpbrk(tmp, ".e"))
            strcat(tmp, ".0");
        fputs(tmp, f);
        break;
    }
    case EQLITE_STRING: cli_json_string(f, v->u.s, v->len); break;
    case EQLITE_ARRAY:
        fputc('[', f);
        for (uint32_t k = 0; k < v->len; k++) {
            if (k)
                fputc(',', f);
            cli_print_value(f, &v->u.a[k]);
        }
        fputc(']', f);
        break;
    default: fputs("null", f);
    }
}

static int cmd_eval(int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: eqlite eval EXPR\n");
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
    if (argc != 1) {
        fprintf(stderr, "usage: eqlite explain QUERY\n");
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
    eq_ndjson_setup_or_exit("eqlite"); /* before any thread; see ndjson.h */
    const char *cmd = argv[1];
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(cmd, "fmt"))
        return cmd_fmt(argc - 2, argv + 2);
    if (!strcmp(cmd, "eval"))
        return cmd_eval(argc - 2, argv + 2);
    if (!strcmp(cmd, "query"))
        return cmd_query(argc - 1, argv + 1);
    if (!strcmp(cmd, "test"))
        return cmd_test(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "publish"))
        return cmd_publish(argc - 1, argv + 1);
    if (!strcmp(cmd, "worker"))
        return cmd_worker(argc - 1, argv + 1);
    if (!strcmp(cmd, "alerts"))
        return cmd_alerts(argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return cmd_explain(argc - 2, argv + 2);
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("eqlite %s\n", eqlite_version());
        return 0;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "eqlite: unknown command [%s]\n", cmd);
    usage(stderr);
    return 2;
}
