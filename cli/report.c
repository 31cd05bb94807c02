/* report.c: what the command prints for every subcommand alike: rule
 * diagnostics (with the caret, at the rule's place in its file) and values
 * as JSON. Its own file so that engine.c and test.c need not call main.c. */
#define _DEFAULT_SOURCE /* clock_gettime */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "rules_io.h"

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
void cli_report_rule(const char *path, const cli_rule *r, const eqlite_diag *d)
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

double cli_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
