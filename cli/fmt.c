/* fmt.c: `eqlite fmt`: rules in the canonical layout (lib/fmt.c), printed,
 * rewritten in place (-w) or checked for CI (--check).
 *
 * A .eql file's canonical text is its rules, formatted, each followed by ";"
 * on a line of its own when the file holds more than one (so the output
 * splits back into the same rules). In a TOML file only the queries change,
 * and only when each is a ''' string (its text is its bytes). JSON rule files
 * are checked, never rewritten: their queries are escaped strings. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "eqlite.h"
#include "rules_io.h"

enum fmt_mode { FMT_PRINT, FMT_WRITE, FMT_CHECK };

static void fmt_usage(FILE *f)
{
    fprintf(f, "usage: eqlite fmt [-w | --check] [FILE|DIR...]\n"
               "Prints rules in the canonical layout: one condition per line and one list item\n"
               "per line once a rule is longer than 100 columns; comments are kept.\n"
               "Reads .eql files (rules separated by ';'), detection-rules TOML and JSON Lines\n"
               "rule files, directories of those, or stdin (no FILE or -).\n"
               "  -w, --write   rewrite .eql files, and the queries of TOML files, in place\n"
               "                (atomically) instead of printing\n"
               "  --check       print nothing but the names of files that are not formatted;\n"
               "                exit 1 if there is one (for CI)\n"
               "  -h, --help    this help\n"
               "Exit: 0 done (or all formatted), 1 a rule is invalid or a file is not\n"
               "formatted (--check), 2 usage or unreadable input.\n");
}

/* Growing text. */
typedef struct text {
    char *s;
    size_t len, cap;
    bool failed;
} text;

static void append(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *more = realloc(t->s, cap);
        if (!more) {
            t->failed = true;
            return;
        }
        t->s = more;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = 0;
}

/* A rule formatted into out; 1 invalid (reported), 2 out of memory. */
static int format_rule(const char *path, const cli_rule *r, text *out)
{
    size_t need = 0;
    eqlite_diag d;
    eqlite_status st = eqlite_format(r->text, r->len, NULL, 0, &need, &d);
    if (st == EQLITE_ENOMEM)
        return 2;
    if (st != EQLITE_OK && st != EQLITE_ELIMIT) {
        cli_report_rule(path, r, &d);
        return 1;
    }
    char *buf = malloc(need);
    if (!buf)
        return 2;
    eqlite_format(r->text, r->len, buf, need, NULL, NULL);
    append(out, buf, need - 1);
    free(buf);
    return out->failed ? 2 : 0;
}

static bool is_eql_file(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcmp(path + n - 4, ".eql");
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

/* Where a TOML query's text sits in its file, when it is a literal
 * multi-line string ('''), the only kind whose text is its bytes: the
 * offset of its first line, which follows a line ending with the quotes. */
static bool literal_query_offset(const char *file, size_t len, const cli_rule *r, size_t *off)
{
    size_t at = 0;
    for (size_t line = 1; line < r->line && at < len; line++) {
        const char *nl = memchr(file + at, '\n', len - at);
        if (!nl)
            return false;
        at = (size_t)(nl - file) + 1;
    }
    size_t q = at ? at - 1 : 0; /* the newline before the text */
    while (q > 0 && (file[q - 1] == ' ' || file[q - 1] == '\t' || file[q - 1] == '\r'))
        q--;
    if (q < 3 || memcmp(file + q - 3, "'''", 3) != 0 || at + r->len > len || memcmp(file + at, r->text, r->len) != 0)
        return false;
    *off = at;
    return true;
}

/* The TOML file with each query replaced by its formatted text; false when
 * a query is not a literal multi-line string (or its new text would end one). */
static bool splice_toml(const char *file, size_t len, const cli_rule *items, size_t n, const text *formatted,
                        const size_t *starts, text *out)
{
    size_t done = 0;
    for (size_t k = 0; k < n; k++) {
        size_t off, flen = starts[k + 1] - starts[k];
        const char *f = formatted->s + starts[k];
        if (!literal_query_offset(file, len, &items[k], &off) || off < done)
            return false;
        for (size_t j = 0; j + 3 <= flen; j++)
            if (!memcmp(f + j, "'''", 3))
                return false;
        append(out, file + done, off - done);
        append(out, f, flen);
        done = off + items[k].len;
    }
    append(out, file + done, len - done);
    return true;
}

/* One file's rules, items[0..n): 0 formatted (or done), 1 invalid rule or
 * not formatted under --check, 2 unreadable or unwritable. */
static int fmt_file(const char *path, const cli_rule *items, size_t n, enum fmt_mode mode, bool separate)
{
    text out = {0}, whole = {0};
    int status = 0;
    bool changed = false;
    size_t *starts = calloc(n + 1, sizeof *starts); /* each rule's formatted text in out */
    if (!starts) {
        fprintf(stderr, "eqlite fmt: out of memory formatting %s\n", path);
        return 2;
    }
    bool eql = is_eql_file(path), toml = has_suffix(path, ".toml");
    separate &= eql || mode == FMT_PRINT; /* a TOML or JSON file keeps its queries apart itself */
    for (size_t k = 0; k < n && status != 2; k++) {
        starts[k] = out.len;
        int st = format_rule(path, &items[k], &out);
        status = st > status ? st : status;
        changed |= st == 0 && (out.len - starts[k] != items[k].len ||
                               memcmp(out.s + starts[k], items[k].text, items[k].len) != 0);
        starts[k + 1] = out.len;
        if (separate)
            append(&out, ";\n", 2);
    }
    char *was = NULL;
    size_t len = 0;
    if (status == 0 && !out.failed && mode != FMT_PRINT && (eql || (toml && changed))) {
        if (!(was = cli_read_file(path, &len))) {
            fprintf(stderr, "eqlite fmt: cannot read %s: %s\n", path, strerror(errno));
            status = 2;
        } else if (eql) {
            changed = len != out.len || memcmp(was, out.s ? out.s : "", len) != 0;
            append(&whole, out.s ? out.s : "", out.len);
        } else if (!splice_toml(was, len, items, n, &out, starts, &whole) && mode == FMT_WRITE) {
            fprintf(stderr, "eqlite fmt: cannot rewrite %s: a query is not a ''' string\n", path);
            status = 2;
        }
    }
    if (out.failed || whole.failed || status == 2) {
        if (status != 2)
            fprintf(stderr, "eqlite fmt: out of memory formatting %s\n", path);
        status = 2;
    } else if (mode == FMT_PRINT) {
        if (out.len)
            fwrite(out.s, 1, out.len, stdout);
    } else if (status == 0 && changed && mode == FMT_WRITE) {
        if (!eql && !toml) {
            fprintf(stderr, "eqlite fmt: -w rewrites .eql and TOML files, not %s\n", path);
            status = 2;
        } else if (!cli_write_atomically(path, whole.s ? whole.s : "", whole.len)) {
            fprintf(stderr, "eqlite fmt: cannot rewrite %s: %s\n", path, strerror(errno));
            status = 2;
        }
    } else if (status == 0 && changed && mode == FMT_CHECK) {
        printf("%s\n", path);
        status = 1;
    }
    free(was);
    free(whole.s);
    free(out.s);
    free(starts);
    return status;
}

/* The rules of one argument, file by file (a directory gives many). */
static int fmt_path(const char *path, enum fmt_mode mode)
{
    cli_rules rules = {0};
    if (!cli_load_rules(path, &rules, true)) {
        fprintf(stderr, "eqlite fmt: cannot read %s: %s\n", path, strerror(errno));
        cli_rules_free(&rules);
        return 2;
    }
    int status = rules.bad_records ? 1 : 0;
    for (size_t k = 0; k < rules.n && status != 2;) {
        const char *file = rules.items[k].file ? rules.items[k].file : path;
        size_t end = k + 1;
        while (end < rules.n && !strcmp(rules.items[end].file ? rules.items[end].file : path, file))
            end++;
        /* printing many rules: ';' keeps them apart; a file: only when it holds many */
        bool separate = mode == FMT_PRINT ? rules.n > 1 : end - k > 1;
        int st = fmt_file(file, rules.items + k, end - k, mode, separate);
        status = st > status ? st : status;
        k = end;
    }
    cli_rules_free(&rules);
    return status;
}

int cmd_fmt(int argc, char **argv)
{
    enum fmt_mode mode = FMT_PRINT;
    int first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1]; first++) {
        const char *opt = argv[first];
        if (!strcmp(opt, "--")) {
            first++;
            break;
        }
        if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
            fmt_usage(stdout);
            return 0;
        }
        enum fmt_mode want = !strcmp(opt, "-w") || !strcmp(opt, "--write") ? FMT_WRITE
                             : !strcmp(opt, "--check")                     ? FMT_CHECK
                                                                           : FMT_PRINT;
        if (want == FMT_PRINT || (mode != FMT_PRINT && mode != want)) {
            fprintf(stderr, want == FMT_PRINT ? "eqlite fmt: unknown option %s\n"
                                              : "eqlite fmt: %s: give -w or --check, not both\n",
                    opt);
            fmt_usage(stderr);
            return 2;
        }
        mode = want;
    }
    char *stdin_only[] = {"-"};
    char **files = first < argc ? argv + first : stdin_only;
    int nfiles = first < argc ? argc - first : 1;
    if (mode == FMT_WRITE && first >= argc) {
        fprintf(stderr, "eqlite fmt: -w needs files to rewrite\n");
        return 2;
    }
    int status = 0;
    for (int f = 0; f < nfiles && status != 2; f++) {
        if (mode == FMT_WRITE && !strcmp(files[f], "-")) {
            fprintf(stderr, "eqlite fmt: -w cannot rewrite stdin\n");
            return 2;
        }
        int st = fmt_path(files[f], mode);
        status = st > status ? st : status;
    }
    return status;
}
