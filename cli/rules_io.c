/* rules_io.c: rule files in, for check / fmt / query -r. */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rule_record.h"
#include "rules_toml.h"
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
    if (buf && n >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) { /* a UTF-8 byte order mark is not text */
        memmove(buf, buf + 3, n - 3);
        n -= 3;
    }
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

/* A copy of text[from, to) with each ';' at `semis` (absolute offsets, in
 * that range) read as a space, so that offsets, hence diagnostics, stay. */
static char *join_over_semicolons(const char *text, size_t from, size_t to, const size_t *semis, size_t nsemis)
{
    char *whole = dup_range(text + from, to - from);
    for (size_t k = 0; whole && k < nsemis; k++)
        whole[semis[k] - from] = ' ';
    return whole;
}

/* Splits .eql text at ';' outside strings, backquotes and comments. A part
 * holding only comments is not a rule: it joins the rule before it (or,
 * first in the file, the rule after it), the ';' between them read as a
 * space, so that fmt writes the comments back instead of dropping them. */
static bool split_eql(const char *text, size_t len, cli_rules *out)
{
    size_t first = out->n, last_start = 0, last_end = 0;
    size_t start = 0, line = 1, start_line = 1;
    size_t lead = SIZE_MAX, lead_line = 1; /* comments before the first rule: where they start */
    size_t *semis = NULL, nsemis = 0;      /* the ';' after those comments */
    bool ok = true;
    size_t k = 0;
    while (ok && k <= len) {
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
            bool comments = !blank(text + start, k - start) && only_comments(text + start, k - start);
            if (!blank(text + start, k - start) && !comments) {
                size_t from = lead != SIZE_MAX ? lead : start;
                cli_rule r = {join_over_semicolons(text, from, k, semis, nsemis), k - from, NULL, NULL,
                              lead != SIZE_MAX ? lead_line : start_line, 0, NULL};
                ok = r.text && push(out, r);
                if (!ok)
                    free(r.text);
                last_start = from;
                last_end = k;
                lead = SIZE_MAX;
                nsemis = 0;
            } else if (comments && out->n > first && last_end + 1 == start) {
                size_t to = k < len ? k : len;
                cli_rule *last = &out->items[out->n - 1];
                char *whole = realloc(last->text, to - last_start + 1);
                ok = whole != NULL;
                if (ok) { /* the rule so far (its own ';' read as spaces too), ' ', the comments */
                    whole[last->len] = ' ';
                    memcpy(whole + last->len + 1, text + start, to - start);
                    whole[to - last_start] = 0;
                    last->text = whole;
                    last->len = to - last_start;
                    last_end = k;
                }
            } else if (comments && k < len) {
                if (lead == SIZE_MAX) {
                    lead = start;
                    lead_line = start_line;
                }
                size_t *grown = realloc(semis, (nsemis + 1) * sizeof *semis);
                ok = grown != NULL;
                if (ok) {
                    semis = grown;
                    semis[nsemis++] = k;
                }
            }
            start = k + 1;
            start_line = line;
        }
        k++;
    }
    free(semis);
    return ok;
}

static void tally(cli_tally *t, const char *name)
{
    t->total++;
    for (size_t k = 0; k < t->n; k++)
        if (!strcmp(t->names[k], name)) {
            t->counts[k]++;
            return;
        }
    if (t->n == 8) {
        t->other++;
        return;
    }
    size_t len = strnlen(name, sizeof t->names[0] - 1); /* a longer type name is cut */
    memcpy(t->names[t->n], name, len);
    t->names[t->n][len] = '\0';
    t->counts[t->n++] = 1;
}

static void note_not_eql(cli_skips *s, const eq_rule_kind *kind)
{
    char name[72];
    snprintf(name, sizeof name, "%s%s%s", kind->type, kind->type[0] && kind->language[0] ? "/" : "",
             kind->language);
    tally(&s->not_eql, name);
}

static void print_tally(const cli_tally *t)
{
    fputs(" (", stderr);
    for (size_t k = 0; k < t->n; k++)
        fprintf(stderr, "%s%s %zu", k ? ", " : "", t->names[k], t->counts[k]);
    if (t->other)
        fprintf(stderr, ", other %zu", t->other);
    fputc(')', stderr);
}

/* One line for everything skipped, with the reasons: not an error (a rule
 * export mixes kinds, a rule repository holds other files). */
static void report_skipped(const char *path, const cli_skips *s)
{
    size_t parts = (s->not_eql.total > 0) + (s->no_rule_files > 0) + (s->other_files.total > 0) +
                   (s->symlinked_dirs > 0) + (s->summaries > 0);
    size_t shown = 0;
    if (!parts)
        return;
    fprintf(stderr, "%s: skipped", path);
#define NEXT_PART() fputs(shown++ == 0 ? " " : shown == parts ? " and " : ", ", stderr)
    if (s->not_eql.total) {
        NEXT_PART();
        size_t n = s->not_eql.total;
        fprintf(stderr, "%zu rule%s that %s not EQL", n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
        print_tally(&s->not_eql);
    }
    if (s->no_rule_files) {
        NEXT_PART();
        fprintf(stderr, "%zu TOML file%s with no [rule] or [hunt]", s->no_rule_files, s->no_rule_files == 1 ? "" : "s");
    }
    if (s->other_files.total) {
        NEXT_PART();
        size_t n = s->other_files.total;
        fprintf(stderr, "%zu file%s in no rule format", n, n == 1 ? "" : "s");
        print_tally(&s->other_files);
    }
    if (s->symlinked_dirs) {
        NEXT_PART();
        fprintf(stderr, "%zu symlinked director%s (not followed)", s->symlinked_dirs,
                s->symlinked_dirs == 1 ? "y" : "ies");
    }
    if (s->summaries) {
        NEXT_PART();
        if (s->summaries == 1)
            fputs("the export summary line", stderr);
        else
            fprintf(stderr, "%zu export summary lines", s->summaries);
    }
#undef NEXT_PART
    fputc('\n', stderr);
}

static bool load_jsonl(const char *path, const char *text, size_t len, cli_rules *out, bool report_bad)
{
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
                if (kind.export_summary)
                    out->skips.summaries++;
                else
                    note_not_eql(&out->skips, &kind);
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
    return true;
}

/* A detection-rules rule file gives one query, a hunting file a list. */
static bool load_toml(const char *path, const char *text, size_t len, cli_rules *out, bool report_bad)
{
    eq_toml_file file;
    char err[512];
    int st = eq_toml_file_parse(path, text, len, &file, err, sizeof err);
    if (st == -2) {
        fprintf(stderr, "%s: out of memory\n", path);
        return false;
    }
    if (st != 0) {
        if (report_bad)
            fprintf(stderr, "%s: %s\n", path, err);
        out->bad_records++;
        return true;
    }
    if (file.no_rule)
        out->skips.no_rule_files++;
    else if (!file.kind.is_eql)
        note_not_eql(&out->skips, &file.kind);
    bool ok = true;
    for (size_t k = 0; k < file.n; k++) {
        eq_toml_query *q = &file.queries[k];
        cli_rule r = {q->query, q->query_len, q->name, q->id, q->line, 0, NULL};
        if (ok && push(out, r)) {
            q->query = q->name = q->id = NULL; /* the rule owns them now */
        } else if (ok) {
            fprintf(stderr, "%s: out of memory\n", path);
            ok = false;
        }
    }
    eq_toml_file_free(&file);
    return ok;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

static bool json_name(const char *path)
{
    return has_suffix(path, ".jsonl") || has_suffix(path, ".ndjson") || has_suffix(path, ".json");
}

static const char *first_text(const char *text, size_t len)
{
    size_t k = 0;
    while (k < len && (text[k] == ' ' || text[k] == '\n' || text[k] == '\r' || text[k] == '\t'))
        k++;
    return text + k;
}

/* stdin and unknown names: a rule never starts with '{', '#' or '[name]'. */
static bool looks_like_json(const char *text, size_t len) { return *first_text(text, len) == '{'; }

static bool looks_like_toml(const char *text, size_t len)
{
    const char *t = first_text(text, len);
    if (*t == '#')
        return true;
    if (*t != '[')
        return false;
    t += 1 + (t[1] == '[');
    while (*t == ' ' || *t == '\t')
        t++;
    return (*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || *t == '_' || *t == '"' || *t == '\'';
}

static bool rule_file_name(const char *name)
{
    return has_suffix(name, ".eql") || has_suffix(name, ".toml") || json_name(name);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* depth > 0: inside a directory given by the user, so a failure names the
 * entry itself (the caller names only the directory). */
static bool load_path(const char *path, cli_rules *out, bool report_bad, int depth);

static bool cannot_read(const char *path, int depth)
{
    if (depth > 0)
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return false;
}

/* The directory's entries in name order; hidden ones (.git, editor files) left out. */
static char **sorted_entries(const char *path, size_t *count, bool *ok)
{
    DIR *d = opendir(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    *ok = d != NULL;
    struct dirent *e;
    while (*ok && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 32;
            char **more = realloc(names, grown * sizeof *names);
            *ok = more != NULL;
            if (!more)
                break;
            names = more;
            cap = grown;
        }
        *ok = (names[n] = strdup(e->d_name)) != NULL;
        n += *ok;
    }
    if (d)
        closedir(d);
    if (n)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

static bool load_dir_entry(const char *full, const char *name, cli_rules *out, bool report_bad, int depth)
{
    struct stat st;
    if (lstat(full, &st) != 0)
        return cannot_read(full, depth);
    if (S_ISLNK(st.st_mode)) {
        if (stat(full, &st) != 0)
            return cannot_read(full, depth);
        if (S_ISDIR(st.st_mode)) {
            out->skips.symlinked_dirs++;
            return true;
        }
    }
    if (S_ISDIR(st.st_mode))
        return load_path(full, out, report_bad, depth);
    if (!S_ISREG(st.st_mode) || !rule_file_name(name)) {
        const char *dot = strrchr(name, '.');
        tally(&out->skips.other_files, dot && dot != name ? dot : "no extension");
        return true;
    }
    size_t first = out->n;
    if (!load_path(full, out, report_bad, depth))
        return false;
    for (size_t j = first; j < out->n; j++) /* ids and diagnostics name the file */
        if (!out->items[j].file && !(out->items[j].file = strdup(full)))
            return cannot_read(full, depth);
    return true;
}

/* A rule repository is a tree: every known format in it, in name order. */
static bool load_dir(const char *path, cli_rules *out, bool report_bad, int depth)
{
    size_t n = 0;
    bool ok;
    char **names = sorted_entries(path, &n, &ok);
    if (!ok)
        cannot_read(path, depth);
    for (size_t k = 0; k < n; k++) {
        char full[4096];
        if (ok && snprintf(full, sizeof full, "%s/%s", path, names[k]) >= (int)sizeof full) {
            errno = ENAMETOOLONG;
            ok = cannot_read(full, depth + 1);
        }
        ok = ok && load_dir_entry(full, names[k], out, report_bad, depth + 1);
        free(names[k]);
    }
    free(names);
    return ok;
}

static bool load_path(const char *path, cli_rules *out, bool report_bad, int depth)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return load_dir(path, out, report_bad, depth);
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text)
        return cannot_read(path, depth);
    bool ok;
    if (has_suffix(path, ".toml") || (!has_suffix(path, ".eql") && !json_name(path) && looks_like_toml(text, len)))
        ok = load_toml(path, text, len, out, report_bad);
    else if (json_name(path) || (!has_suffix(path, ".eql") && looks_like_json(text, len)))
        ok = load_jsonl(path, text, len, out, report_bad);
    else
        ok = split_eql(text, len, out);
    free(text);
    return ok;
}

bool cli_load_rules(const char *path, cli_rules *out, bool report_bad)
{
    memset(&out->skips, 0, sizeof out->skips);
    bool ok = load_path(path, out, report_bad, 0);
    if (ok && report_bad)
        report_skipped(path, &out->skips);
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

/* Writes data to path through a temporary file in the same directory and a
 * rename, so a reader (or a crash) never sees half a file. */
bool cli_write_atomically(const char *path, const char *data, size_t len)
{
    char target[PATH_MAX];
    if (!realpath(path, target)) /* a symlink keeps pointing at the rewritten file */
        return false;
    struct stat st;
    if (stat(target, &st) != 0)
        return false;
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", target);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return false;
    bool ok = fchmod(fd, st.st_mode & 07777) == 0;
    for (size_t done = 0; ok && done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        ok = n > 0 || (n < 0 && errno == EINTR);
        done += n > 0 ? (size_t)n : 0;
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (ok)
        ok = rename(tmp, target) == 0;
    else
        errno = saved;
    if (!ok) {
        saved = errno;
        unlink(tmp);
        errno = saved;
    }
    return ok;
}
