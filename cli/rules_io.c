/* rules_io.c: rule files in, for check / fmt / query -r. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/rules.h"
#include "rules_io.h"

char *cli_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    if (f != stdin)
        fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = n;
    }
    return buf;
}

static bool push(cli_rules *r, cli_rule rule)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        cli_rule *items = realloc(r->items, cap * sizeof *items);
        if (!items)
            return false;
        r->items = items;
        r->cap = cap;
    }
    r->items[r->n++] = rule;
    return true;
}

static char *dup_range(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static bool blank(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (s[k] != ' ' && s[k] != '\t' && s[k] != '\n' && s[k] != '\r')
            return false;
    return true;
}

/* Only comments and whitespace? (a trailing "// note" after the last ';') */
static bool only_comments(const char *s, size_t n)
{
    size_t k = 0;
    while (k < n) {
        if (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
            k++;
        } else if (k + 1 < n && s[k] == '/' && s[k + 1] == '/') {
            while (k < n && s[k] != '\n')
                k++;
        } else if (k + 1 < n && s[k] == '/' && s[k + 1] == '*') {
            const char *end = NULL;
            for (size_t j = k + 2; j + 1 < n; j++)
                if (s[j] == '*' && s[j + 1] == '/') {
                    end = s + j + 2;
                    break;
                }
            if (!end)
                return false;
            k = (size_t)(end - s);
        } else {
            return false;
        }
    }
    return true;
}

/* Splits .eql text at ';' outside strings, backquotes and comments. */
static bool split_eql(const char *text, size_t len, cli_rules *out)
{
    size_t start = 0, line = 1, start_line = 1;
    size_t k = 0;
    while (k <= len) {
        char c = k < len ? text[k] : ';';
        if (c == '\n') {
            line++;
        } else if (c == '"' && k + 2 < len && text[k + 1] == '"' && text[k + 2] == '"') {
            const char *end = strstr(text + k + 3, "\"\"\"");
            k = end ? (size_t)(end - text) + 2 : len;
        } else if (c == '"' || c == '`') {
            for (k++; k < len && text[k] != c && text[k] != '\n'; k++)
                if (c == '"' && text[k] == '\\')
                    k++;
        } else if (c == '/' && k + 1 < len && text[k + 1] == '/') {
            while (k < len && text[k] != '\n')
                k++;
            continue;
        } else if (c == '/' && k + 1 < len && text[k + 1] == '*') {
            const char *end = strstr(text + k + 2, "*/");
            for (size_t j = k; j < (end ? (size_t)(end - text) : len); j++)
                line += text[j] == '\n';
            k = end ? (size_t)(end - text) + 2 : len;
            continue;
        } else if (c == ';') {
            if (!blank(text + start, k - start) && !only_comments(text + start, k - start)) {
                cli_rule r = {dup_range(text + start, k - start), k - start, NULL, NULL, start_line, 0, NULL};
                if (!r.text || !push(out, r))
                    return false;
            }
            start = k + 1;
            start_line = line;
        }
        k++;
    }
    return true;
}

/* What a Kibana export held besides EQL rules: counts by type/language. */
typedef struct skipped_kinds {
    char names[8][64];
    size_t counts[8], n, other;
} skipped_kinds;

static void note_skipped(skipped_kinds *s, const eq_rule_kind *kind)
{
    char name[64];
    snprintf(name, sizeof name, "%s%s%s", kind->type, kind->type[0] && kind->language[0] ? "/" : "",
             kind->language);
    for (size_t k = 0; k < s->n; k++)
        if (!strcmp(s->names[k], name)) {
            s->counts[k]++;
            return;
        }
    if (s->n == 8) {
        s->other++;
        return;
    }
    memcpy(s->names[s->n], name, sizeof name);
    s->counts[s->n++] = 1;
}

/* One line for everything skipped: not an error (a rule export mixes kinds). */
static void report_skipped(const char *path, const skipped_kinds *s, size_t skipped, size_t summaries)
{
    if (!skipped && !summaries)
        return;
    fprintf(stderr, "%s: skipped", path);
    if (skipped) {
        fprintf(stderr, " %zu rule%s that %s not EQL (", skipped, skipped == 1 ? "" : "s", skipped == 1 ? "is" : "are");
        for (size_t k = 0; k < s->n; k++)
            fprintf(stderr, "%s%s %zu", k ? ", " : "", s->names[k], s->counts[k]);
        if (s->other)
            fprintf(stderr, ", other %zu", s->other);
        fprintf(stderr, ")");
    }
    if (summaries)
        fprintf(stderr, "%s the export summary line", skipped ? " and" : "");
    fprintf(stderr, "\n");
}

static bool load_jsonl(const char *path, const char *text, size_t len, cli_rules *out, bool report_bad)
{
    skipped_kinds kinds = {0};
    size_t skipped = out->skipped, summaries = out->summaries;
    size_t line = 0, k = 0;
    while (k < len) {
        const char *nl = memchr(text + k, '\n', len - k);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        if (!blank(text + k, end - k)) {
            eq_rule_record rec;
            char err[128];
            eq_rule_kind kind;
            int parsed = eq_rule_record_parse(text + k, end - k, &rec, err, sizeof err);
            int kinded = parsed == 0 ? eq_rule_record_kind(text + k, end - k, &kind) : -1;
            if (parsed == -2 || kinded == -2) { /* out of memory: not a bad record */
                fprintf(stderr, "%s:%zu: out of memory\n", path, line);
                eq_rule_record_free(&rec);
                return false;
            }
            if (parsed == 0 && kinded == 0 && (kind.export_summary || !kind.is_eql)) {
                if (kind.export_summary) {
                    out->summaries++;
                } else {
                    out->skipped++;
                    note_skipped(&kinds, &kind);
                }
                eq_rule_record_free(&rec);
            } else if (parsed != 0 || !rec.query) {
                if (report_bad)
                    fprintf(stderr, "%s:%zu: %s%s\n", path, line, parsed != 0 ? "malformed JSON: " : "", parsed != 0 ? err : "record has no string \"query\"");
                out->bad_records++;
                eq_rule_record_free(&rec);
            } else {
                cli_rule r = {rec.query, rec.query_len, rec.name, rec.id, line, line, NULL};
                if (!push(out, r)) {
                    eq_rule_record_free(&rec);
                    return false;
                }
            }
        }
        k = end + 1;
    }
    if (report_bad)
        report_skipped(path, &kinds, out->skipped - skipped, out->summaries - summaries);
    return true;
}

static bool looks_like_json(const char *path, const char *text, size_t len)
{
    const char *dot = strrchr(path, '.');
    if (dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson") || !strcmp(dot, ".json")))
        return true;
    size_t k = 0;
    while (k < len && (text[k] == ' ' || text[k] == '\n' || text[k] == '\r' || text[k] == '\t'))
        k++;
    return k < len && text[k] == '{';
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool load_dir(const char *path, cli_rules *out, bool report_bad)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".eql") != 0)
            continue;
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 32;
            char **more = realloc(names, grown * sizeof *names);
            ok = more != NULL;
            if (!ok)
                break;
            names = more;
            cap = grown;
        }
        ok = (names[n] = strdup(e->d_name)) != NULL;
        n += ok;
    }
    closedir(d);
    if (!ok)
        fprintf(stderr, "%s: out of memory\n", path);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    for (size_t k = 0; k < n; k++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[k]);
        size_t first = out->n;
        ok = ok && cli_load_rules(full, out, report_bad);
        for (size_t j = first; ok && j < out->n; j++) { /* ids and diagnostics name the file */
            if (!out->items[j].file && !(out->items[j].file = strdup(full))) {
                fprintf(stderr, "%s: out of memory\n", full);
                ok = false;
            }
        }
        free(names[k]);
    }
    free(names);
    return ok;
}

bool cli_load_rules(const char *path, cli_rules *out, bool report_bad)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(path, out, report_bad);
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text)
        return false;
    bool ok = looks_like_json(path, text, len) ? load_jsonl(path, text, len, out, report_bad)
                                                : split_eql(text, len, out);
    free(text);
    return ok;
}

void cli_rules_free(cli_rules *r)
{
    for (size_t k = 0; k < r->n; k++) {
        free(r->items[k].text);
        free(r->items[k].name);
        free(r->items[k].id);
        free(r->items[k].file);
    }
    free(r->items);
    memset(r, 0, sizeof *r);
}

void cli_json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
