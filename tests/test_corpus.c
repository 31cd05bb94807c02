#define _GNU_SOURCE
/* Corpus: every real Elastic rule compiles, fmt round-trips, and the ES
 * conformance statement files parse / are rejected as Elasticsearch does. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/rule_record.h"
#include "fmt.h"
#include "support.h"

typedef struct corpus_stats {
    size_t ok, failed;
    size_t commented, comments_kept; /* rules with comments; of those, fmt kept all */
} corpus_stats;

/* The rule's comments, in order, each followed by a 0x01 byte. Scanned here,
 * not by the lexer, so a comment the lexer fails to record still counts:
 * strings, raw strings and `names` are skipped, block comments nest. */
static char *comment_texts(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    for (size_t k = 0; k < n; k++) {
        size_t from = k;
        if (s[k] == '"' && k + 2 < n && s[k + 1] == '"' && s[k + 2] == '"') {
            const char *close = strstr(s + k + 3, "\"\"\"");
            k = close ? (size_t)(close - s) + 2 : n;
            for (int extra = 0; extra < 2 && k + 1 < n && s[k + 1] == '"'; extra++)
                k++;
        } else if (s[k] == '"') {
            for (k++; k < n && s[k] != '"'; k++)
                k += s[k] == '\\';
        } else if (s[k] == '`') {
            for (k++; k < n; k++) {
                if (s[k] == '`' && k + 1 < n && s[k + 1] == '`')
                    k++; /* a doubled backtick */
                else if (s[k] == '`')
                    break;
            }
        } else if (s[k] == '/' && k + 1 < n && s[k + 1] == '/') {
            while (k + 1 < n && s[k + 1] != '\n')
                k++;
            memcpy(o, s + from, k + 1 - from);
            o += k + 1 - from;
            *o++ = 1;
        } else if (s[k] == '/' && k + 1 < n && s[k + 1] == '*') {
            for (int depth = 0; k + 1 < n; k++) {
                if (s[k] == '/' && s[k + 1] == '*') {
                    depth++;
                    k++;
                } else if (s[k] == '*' && s[k + 1] == '/') {
                    k++;
                    if (--depth == 0)
                        break;
                }
            }
            memcpy(o, s + from, k + 1 - from);
            o += k + 1 - from;
            *o++ = 1;
        }
    }
    *o = 0;
    return out;
}

static void check_rule(const char *query, size_t len, const char *name, corpus_stats *st)
{
    eqlite_schema *s;
    eqlite_schema_new(NULL, &s);
    eqlite_schema_set_grow(s, 1);
    eqlite_program *p = NULL;
    eqlite_diag d;
    if (eqlite_compile(s, query, len, &p, &d) == EQLITE_OK) {
        st->ok++;
    } else {
        st->failed++;
        cr_log_error("[%s] %u:%u: %s", name, d.line, d.column, d.message);
    }
    /* fmt output parses back to the same tree, keeps every comment in order,
     * and fmt is idempotent */
    size_t need = 0;
    eqlite_format(query, len, NULL, 0, &need, NULL);
    char *once = malloc(need + 1), *twice = malloc(need + 64);
    cr_assert_eq(eqlite_format(query, len, once, need + 1, NULL, &d), EQLITE_OK, "[%s] fmt: %s", name, d.message);
    int equal = 0;
    cr_assert_eq(eq_parse_equal(query, len, once, strlen(once), &equal), EQLITE_OK, "[%s] fmt output does not parse:\n%s", name, once);
    cr_assert(equal, "[%s] fmt changed the tree:\n%s", name, once);
    char *before = comment_texts(query, len), *after = comment_texts(once, strlen(once));
    if (*before) {
        st->commented++;
        cr_expect_str_eq(after, before, "[%s] fmt lost or moved comments:\n%s", name, once);
        st->comments_kept += strcmp(after, before) == 0;
    }
    free(before);
    free(after);
    cr_assert_eq(eqlite_format(once, strlen(once), twice, need + 64, NULL, NULL), EQLITE_OK);
    cr_assert_str_eq(once, twice, "[%s] fmt is not idempotent", name);
    free(once);
    free(twice);
    eqlite_program_free(p);
    eqlite_schema_free(s);
}

static corpus_stats check_jsonl(const char *rel)
{
    size_t len;
    char *text = read_whole_file(shared_path(rel), &len);
    cr_assert(text, "cannot read %s", rel);
    corpus_stats st = {0};
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        if (n) {
            eq_rule_record rec;
            char err[128];
            cr_assert_eq(eq_rule_record_parse(line, n, &rec, err, sizeof err), 0, "%s", err);
            check_rule(rec.query, rec.query_len, rec.name ? rec.name : "?", &st);
            eq_rule_record_free(&rec);
        }
        line = nl ? nl + 1 : line + n;
    }
    free(text);
    return st;
}

Test(corpus, every_detection_rule_compiles_and_round_trips)
{
    corpus_stats st = check_jsonl("corpus/detection-rules-eql.jsonl");
    cr_log_info("detection rules: %zu ok, %zu failed; %zu have comments, fmt keeps them all in %zu",
                st.ok, st.failed, st.commented, st.comments_kept);
    cr_assert_eq(st.ok, 1024);
    cr_assert_eq(st.failed, 0);
    cr_assert_eq(st.commented, 232);
    cr_assert_eq(st.comments_kept, st.commented);
}

Test(corpus, deprecated_and_hunting_rules_compile)
{
    corpus_stats a = check_jsonl("corpus/detection-rules-eql-deprecated.jsonl");
    corpus_stats b = check_jsonl("corpus/detection-rules-eql-hunting.jsonl");
    cr_assert_eq(a.failed + b.failed, 0);
    cr_assert_eq(a.ok + b.ok, 70);
    cr_assert_eq(a.comments_kept + b.comments_kept, a.commented + b.commented);
}

/* Statements of an ES .eql file: split at ';' outside strings and comments.
 * The tail of queries-supported.eql (from "// optional fields") has one
 * statement per line and no ';'. */
typedef void (*statement_fn)(const char *stmt, size_t line, void *ctx);

static bool blank_or_comment(const char *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '/' && k + 1 < n && s[k + 1] == '/') {
            while (k < n && s[k] != '\n')
                k++;
        } else if (s[k] != ' ' && s[k] != '\n' && s[k] != '\t' && s[k] != '\r') {
            return false;
        }
    }
    return true;
}

static void emit_statement(const char *from, size_t n, size_t line, statement_fn fn, void *ctx)
{
    if (blank_or_comment(from, n))
        return;
    char *stmt = strndup(from, n);
    fn(stmt, line, ctx);
    free(stmt);
}

static void for_each_statement(const char *text, statement_fn fn, void *ctx)
{
    const char *tail = strstr(text, "// optional fields");
    const char *end = tail ? tail : text + strlen(text);
    const char *start = text;
    size_t line = 1, start_line = 1;
    for (const char *c = text; c < end; c++) {
        if (*c == '\n') {
            line++;
        } else if (c[0] == '"' && c[1] == '"' && c[2] == '"') {
            const char *close = strstr(c + 3, "\"\"\"");
            c = close ? close + 2 : end - 1;
        } else if (*c == '"') {
            for (c++; c < end && *c != '"' && *c != '\n'; c++)
                if (*c == '\\')
                    c++;
        } else if (c[0] == '/' && c[1] == '/') {
            while (c + 1 < end && c[1] != '\n')
                c++;
        } else if (c[0] == '/' && c[1] == '*') {
            const char *close = strstr(c + 2, "*/");
            for (const char *q = c; close && q < close; q++)
                line += *q == '\n';
            c = close ? close + 1 : end - 1;
        } else if (*c == ';') {
            emit_statement(start, (size_t)(c - start), start_line, fn, ctx);
            start = c + 1;
            start_line = line;
        }
    }
    emit_statement(start, (size_t)(end - start), start_line, fn, ctx);
    while (tail && *tail) {
        const char *nl = strchr(tail, '\n');
        size_t n = nl ? (size_t)(nl - tail) : strlen(tail);
        emit_statement(tail, n, line, fn, ctx);
        line++;
        tail += n + (nl != NULL);
    }
}

typedef struct supported_ctx {
    size_t parsed, failed, verified;
} supported_ctx;

static void parse_supported(const char *stmt, size_t line, void *vctx)
{
    supported_ctx *ctx = vctx;
    size_t need;
    eqlite_diag d;
    eqlite_status st = eqlite_format(stmt, strlen(stmt), NULL, 0, &need, &d);
    if (st == EQLITE_OK || (st == EQLITE_ELIMIT && d.code == EQLITE_OK)) {
        ctx->parsed++;
        if (compile_status(stmt, &d) == EQLITE_OK)
            ctx->verified++;
    } else {
        ctx->failed++;
        cr_log_error("queries-supported.eql line %zu: %s\n%s", line, d.message, stmt);
    }
}

Test(corpus, every_supported_statement_parses)
{
    char *text = read_whole_file(shared_path("conformance/elasticsearch/queries-supported.eql"), NULL);
    supported_ctx ctx = {0, 0, 0};
    for_each_statement(text, parse_supported, &ctx);
    cr_log_info("queries-supported.eql: %zu parse (%zu also pass the verifier), %zu fail", ctx.parsed, ctx.verified, ctx.failed);
    cr_assert_eq(ctx.failed, 0);
    cr_assert_gt(ctx.parsed, 190);
    free(text);
}

static void reject_unsupported(const char *stmt, size_t line, void *vctx)
{
    size_t *count = vctx;
    eqlite_diag d;
    eqlite_status st = compile_status(stmt, &d);
    cr_expect_neq(st, EQLITE_OK, "queries-unsupported.eql line %zu was accepted:\n%s", line, stmt);
    cr_expect_gt(strlen(d.message), 10, "line %zu: unclear message", line);
    (*count)++;
}

Test(corpus, every_unsupported_statement_is_rejected)
{
    char *text = read_whole_file(shared_path("conformance/elasticsearch/queries-unsupported.eql"), NULL);
    size_t count = 0;
    for_each_statement(text, reject_unsupported, &count);
    cr_assert_gt(count, 80);
    free(text);
}
