/* test.c: `eqlite test FILE...` — rule unit tests written in YAML. The
 * format, for users: the TEST FILES section of doc/eqlite.1.scd (keep the two
 * in step).
 *
 *   defaults:                  # optional; every key below may appear here
 *     rule: ../rules/x.eql     # a rule file (relative to the YAML file), or
 *     query: 'process where …' # the rule inline
 *     id_field: event.id       # field whose value identifies an event
 *   tests:
 *     - name: cmd.exe spawned by lsass is flagged
 *       events:                # inline events (YAML/JSON objects), or an NDJSON
 *                              # path, or a list of paths (read as one stream)
 *         - {"event": {"id": 1}, "process": {"name": "cmd.exe"}}
 *       expect:
 *         ids: [1]             # ids of the result events in order (sequences:
 *                              # every event of every result, -1 for a missing
 *                              # one); a list of such lists means "any of these"
 *         count: 1             # or/and: the number of results
 *       mapping: m.json        # optional, a path or a list of paths
 *       category_field: …      # optional, as the query options
 *       timestamp_field: …     # ('' = events have none)
 *       tiebreaker_field: …
 *       size: N
 *       max_samples_per_key: N
 *
 * Only these keys (and defaults/tests at the top); `name` only in a test. A
 * test needs rule: or query:, and expect:; expect: ids needs id_field.
 *
 * The file is checked whole before any test runs (cli/test_yaml.c): every key
 * known and given once, every value of its type (counts are plain decimal
 * digits: `1.9`, `"1"`, `many` are rejected), one YAML document. Limits:
 * nesting 1,024 levels (the NDJSON reader's), 1,000,000 nodes with aliases
 * expanded, 16 MiB of text copied by aliases, an alias only to a finished node
 * (no cycles), 16 mapping files. A file that breaks any rule is reported as
 * "file:line:col: message" and none of its tests run.
 *
 * One line per test, then "N passed, N failed". Exit 0 when all pass, 1 when
 * one fails, 2 when a test file cannot be read or is malformed. --junit FILE
 * writes JUnit XML. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine.h"
#include "test_yaml.h"

/* Paths in a test file are relative to it. */
static void resolve(const char *dir, const char *rel, char *out, size_t cap)
{
    bool absolute = rel[0] == '/' || !strcmp(rel, "-");
    int n = absolute ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= cap)
        out[0] = 0; /* too long: reads as unreadable */
}

/* ---- one test ----------------------------------------------------------- */

typedef struct result_ids {
    const char *id_field;
    eqlite_schema *id_schema; /* id_field alone, untyped: made at the first result */
    eq_strbuf got;   /* ids of result events, comma-separated (JSON-ish text) */
    eq_strbuf yaml;  /* the same ids as a YAML flow list's items, for --update */
    eq_strbuf texts; /* each result event's text, one per line, in the order of got */
    size_t nids;
    uint64_t results;
    bool discard; /* size: 0 returns no results (Elasticsearch) */
} result_ids;

/* The id of one result event, read back from its original text. */
static void append_id(result_ids *ri, const eqlite_event *ev)
{
    if (ri->nids++) {
        eq_strbuf_char(&ri->got, ',');
        eq_strbuf_str(&ri->yaml, ", ");
    }
    size_t from = ri->got.len;
    bool text = false; /* a string: quoted in YAML, whatever it holds */
    if (!ev) {
        eq_strbuf_str(&ri->got, "-1");
        eq_strbuf_str(&ri->yaml, "-1");
        eq_strbuf_str(&ri->texts, "(a missing event)\n");
        return;
    }
    eng_text now = eng_text_now(ev->user);
    const eng_text *t = &now;
    if (!t->text) {
        ri->got.failed = true; /* out of memory, said at the end */
        return;
    }
    eq_strbuf_bytes(&ri->texts, t->text, t->len);
    eq_strbuf_char(&ri->texts, '\n');
    if (!ri->id_schema && eqlite_schema_new(NULL, &ri->id_schema) == EQLITE_OK &&
        eqlite_schema_add(ri->id_schema, ri->id_field, strlen(ri->id_field), EQLITE_T_UNKNOWN, NULL) != EQLITE_OK) {
        eqlite_schema_free(ri->id_schema);
        ri->id_schema = NULL;
    }
    eqlite_reader_options o = {.schema = ri->id_schema, .timestamp_field = "", .source = "none",
                               .display_name = "<result>"};
    eqlite_reader *rd;
    eqlite_event idev;
    if (ri->id_schema && eqlite_reader_open_memory(t->text, t->len, &o, &rd, NULL, 0) == EQLITE_OK) {
        if (eqlite_reader_next(rd, &idev, NULL) == EQLITE_READ_EVENT && idev.nfields > 0) {
            const eqlite_value *v = &idev.fields[0];
            text = v->kind == EQLITE_STRING || v->kind == EQLITE_ARRAY;
            if (v->kind == EQLITE_STRING)
                eq_strbuf_bytes(&ri->got, v->u.s, v->len);
            else
                ob_json_value(&ri->got, v);
        } else {
            eq_strbuf_str(&ri->got, "?");
            text = true;
        }
        eqlite_reader_close(rd);
    }
    /* a JSON string is a YAML double-quoted scalar with the same text */
    if (text)
        ob_json_string(&ri->yaml, ri->got.data + from, ri->got.len - from);
    else
        eq_strbuf_bytes(&ri->yaml, ri->got.data + from, ri->got.len - from);
}

static int collect_ids(void *user, eq_strbuf *out, size_t rule, const eqlite_result *r)
{
    (void)out;
    (void)rule;
    result_ids *ri = user;
    if (ri->discard)
        return 1;
    ri->results++;
    for (size_t k = 0; ri->id_field && k < r->nevents; k++)
        append_id(ri, r->events[k]);
    return 0;
}

/* Compares results with expect:; on failure writes why into msg. */
/* Where two comma-separated id lists part, and that result event's text
 * (as a second line of the message), so a failure shows what to look at. */
static void first_difference(const char *want, const char *got, const result_ids *ri, char *msg, size_t cap)
{
    size_t k = 0; /* result index */
    for (;;) {
        size_t wl = strcspn(want, ","), gl = strcspn(got, ",");
        if (!*got) {
            if (*want && cap)
                snprintf(msg, cap, "; expected id %.*s is missing", (int)wl, want);
            return;
        }
        if (!*want || wl != gl || memcmp(want, got, wl)) {
            const char *line = ri->texts.data ? ri->texts.data : "";
            for (size_t j = 0; j < k && (line = strchr(line, '\n')); j++)
                line++;
            if (line && cap)
                snprintf(msg, cap, "; result %zu (id %.*s%s%.*s) is\n  %.*s", k + 1, (int)gl, got,
                         *want ? ", expected " : ", not expected", (int)wl, want, (int)strcspn(line, "\n"), line);
            return;
        }
        want += wl + (want[wl] == ',');
        got += gl + (got[gl] == ',');
        k++;
    }
}

static bool check_expect(const yt_expect *expect, result_ids *ri, char *msg, size_t cap)
{
    if (expect->has_count && expect->count != ri->results) {
        snprintf(msg, cap, "expected %llu results, got %llu", (unsigned long long)expect->count,
                 (unsigned long long)ri->results);
        return false;
    }
    if (!expect->ids)
        return true;
    const char *got = ri->got.data ? ri->got.data : "";
    const yt_ids *want = expect->ids;
    for (size_t k = 0; k < expect->nids; k++) /* a flat list once; a list of lists once per alternative */
        if (expect->ids[k].len == ri->got.len && !memcmp(expect->ids[k].text, got, ri->got.len))
            return true;
        else
            want = &expect->ids[k];
    int n = snprintf(msg, cap, "expected ids %s[%s], got [%.*s]", expect->alternatives ? "(one of) " : "",
                     want ? want->text : "", (int)ri->got.len, got);
    first_difference(want ? want->text : "", got, ri, msg + n, n > 0 && (size_t)n < cap ? cap - (size_t)n : 0);
    return false;
}

typedef struct test_case {
    const yt_test *spec;
    const char *dir; /* of the test file */
    char msg[2048];
    double secs;
    bool ran;       /* the rule ran over the events: results are known */
    result_ids ids; /* what it gave */
} test_case;

static int load_rule(test_case *t, eng *e)
{
    const yt_test *spec = t->spec;
    cli_rules rules = {0};
    char path[4096] = "query";
    if (spec->query) {
        rules.items = malloc(sizeof *rules.items);
        char *text = strdup(spec->query);
        if (!rules.items || !text) {
            free(rules.items);
            free(text);
            snprintf(t->msg, sizeof t->msg, "out of memory");
            return 2;
        }
        rules.items[0] = (cli_rule){text, strlen(text), NULL, NULL, 1, 0, NULL};
        rules.n = rules.cap = 1;
    } else {
        resolve(t->dir, spec->rule, path, sizeof path);
        if (!cli_load_rules(path, &rules, true)) {
            snprintf(t->msg, sizeof t->msg, "cannot read rule %s", path);
            return 2;
        }
    }
    int status = eng_add_rules(e, &rules, path);
    if (status == 1)
        snprintf(t->msg, sizeof t->msg, "the rule is invalid (diagnostic above)");
    cli_rules_free(&rules);
    return status;
}

static int run_events(test_case *t, eng *e)
{
    const yt_events *ev = t->spec->events;
    if (!ev || ev->kind != YT_EVENTS_PATHS) /* inline, or none */
        return eng_run_memory(e, ev && ev->ndjson ? ev->ndjson : "", ev ? ev->len : 0, t->spec->name);
    /* NDJSON files, relative to the test file, read as one stream */
    char (*paths)[4096] = calloc(ev->npaths, sizeof *paths);
    char **ptrs = calloc(ev->npaths, sizeof *ptrs);
    int status = paths && ptrs ? 0 : 2;
    for (size_t k = 0; status == 0 && k < ev->npaths; k++) {
        resolve(t->dir, ev->paths[k], paths[k], sizeof paths[k]);
        ptrs[k] = paths[k];
    }
    if (status == 0)
        status = eng_run(e, ptrs, ev->npaths, 1);
    free(paths);
    free(ptrs);
    return status;
}

static bool run_case(test_case *t)
{
    const yt_test *spec = t->spec;
    char maps[YT_MAX_MAPPINGS][4096];
    const char *map_ptrs[YT_MAX_MAPPINGS];
    eng_options opt = {0};
    opt.nmappings = spec->nmappings;
    for (size_t k = 0; k < opt.nmappings; k++) {
        resolve(t->dir, spec->mappings[k], maps[k], sizeof maps[k]);
        map_ptrs[k] = maps[k];
    }
    opt.mappings = map_ptrs;
    opt.category_field = spec->category_field;
    opt.timestamp_field = spec->timestamp_field;
    opt.tiebreaker_field = spec->tiebreaker_field;
    opt.limits.size = spec->size;
    opt.limits.max_samples_per_key = spec->max_samples_per_key;
    eng e;
    result_ids *ri = &t->ids;
    *ri = (result_ids){.id_field = spec->id_field, .discard = spec->has_size && spec->size == 0};
    int status = eng_init(&e, &opt);
    if (status)
        snprintf(t->msg, sizeof t->msg, "cannot load the mapping");
    if (status == 0)
        status = load_rule(t, &e);
    if (status == 0)
        status = eng_prepare(&e);
    if (status == 0) {
        e.sink = collect_ids;
        e.sink_user = ri;
        e.out_fd = -1;
        status = run_events(t, &e);
        if (status)
            snprintf(t->msg, sizeof t->msg, "the run failed (see above)");
    }
    t->ran = status == 0 && !ri->got.failed && !ri->yaml.failed;
    bool ok = status == 0 && spec->expect && check_expect(spec->expect, ri, t->msg, sizeof t->msg);
    if (status == 0 && !spec->expect)
        snprintf(t->msg, sizeof t->msg, "no expect:");
    eng_free(&e);
    return ok;
}

/* ---- files, totals, JUnit ------------------------------------------------ */

typedef struct totals {
    size_t passed, failed, updated;
    eq_strbuf junit;
} totals;

static void xml_text(eq_strbuf *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': eq_strbuf_str(o, "&lt;"); break;
        case '>': eq_strbuf_str(o, "&gt;"); break;
        case '&': eq_strbuf_str(o, "&amp;"); break;
        case '"': eq_strbuf_str(o, "&quot;"); break;
        default: eq_strbuf_char(o, *s);
        }
    }
}

static void junit_case(totals *tt, const char *file, const test_case *t, bool ok)
{
    eq_strbuf_str(&tt->junit, "    <testcase classname=\"");
    xml_text(&tt->junit, file);
    eq_strbuf_str(&tt->junit, "\" name=\"");
    xml_text(&tt->junit, t->spec->name);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "\" time=\"%.6f\"", t->secs);
    eq_strbuf_str(&tt->junit, tmp);
    if (ok) {
        eq_strbuf_str(&tt->junit, "/>\n");
        return;
    }
    eq_strbuf_str(&tt->junit, "><failure message=\"");
    xml_text(&tt->junit, t->msg);
    eq_strbuf_str(&tt->junit, "\"/></testcase>\n");
}

/* ---- --update ------------------------------------------------------------ */

/* The expect: a test's run calls for: the keys its own expect: has (ids
 * and/or count), or ids (with an id_field) and count when it has none. */
static void expect_text(const test_case *t, eq_strbuf *o)
{
    const yt_place *pl = &t->spec->place;
    const yt_expect *old = pl->own_expect ? t->spec->expect : NULL;
    bool ids = t->spec->id_field && (!old || old->ids), count = !old || old->has_count;
    char n[32];
    snprintf(n, sizeof n, "%llu", (unsigned long long)t->ids.results);
    if (pl->own_expect && pl->expect_block) { /* keys one a line, at the column of the old ones */
        if (ids) {
            eq_strbuf_str(o, "ids: [");
            eq_strbuf_bytes(o, t->ids.yaml.data, t->ids.yaml.len);
            eq_strbuf_char(o, ']');
        }
        if (ids && count) {
            eq_strbuf_char(o, '\n');
            for (unsigned c = 1; c < pl->expect_col; c++)
                eq_strbuf_char(o, ' ');
        }
        if (count) {
            eq_strbuf_str(o, "count: ");
            eq_strbuf_str(o, n);
        }
        return;
    }
    eq_strbuf_char(o, '{');
    if (ids) {
        eq_strbuf_str(o, "ids: [");
        eq_strbuf_bytes(o, t->ids.yaml.data, t->ids.yaml.len);
        eq_strbuf_char(o, ']');
    }
    if (count) {
        eq_strbuf_str(o, ids ? ", count: " : "count: ");
        eq_strbuf_str(o, n);
    }
    eq_strbuf_char(o, '}');
}

/* Appends to `file` the text from *done up to where t's expect: goes, then
 * the new expect:. */
static void splice_expect(const char *text, size_t *done, const test_case *t, eq_strbuf *file)
{
    const yt_place *pl = &t->spec->place;
    size_t at = pl->own_expect ? pl->expect_start : pl->insert_at;
    eq_strbuf_bytes(file, text + *done, at - *done);
    if (!pl->own_expect)
        eq_strbuf_str(file, "expect: ");
    expect_text(t, file);
    if (pl->own_expect) {
        *done = pl->expect_end;
        return;
    }
    if (pl->insert_flow) {
        eq_strbuf_str(file, ", ");
    } else {
        eq_strbuf_char(file, '\n');
        for (unsigned c = 1; c < pl->insert_col; c++)
            eq_strbuf_char(file, ' ');
    }
    *done = at;
}

/* ---- files ----------------------------------------------------------------- */

typedef struct test_file {
    const char *path;
    const char *text; /* the file's bytes (for --update) */
    size_t len;
    bool update;
    eq_strbuf rewritten; /* --update: the file with new expect: where tests failed */
    size_t done;      /* bytes of text copied into rewritten */
    size_t updated;
} test_file;

static void run_tests(test_file *tf, const yt_file *f, totals *tt)
{
    const char *path = tf->path;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    const char *dir = dirname(tmp);
    for (size_t k = 0; k < f->ntests; k++) {
        test_case t = {&f->tests[k], dir, "", 0, false, {0}};
        double t0 = cli_now_seconds();
        bool ok = run_case(&t);
        t.secs = cli_now_seconds() - t0;
        if (ok) {
            tt->passed++;
            printf("ok   %s: %s\n", path, t.spec->name);
        } else if (tf->update && t.ran) {
            tt->updated++;
            tf->updated++;
            printf("updated %s: %s: %s\n", path, t.spec->name, t.msg);
            splice_expect(tf->text, &tf->done, &t, &tf->rewritten);
        } else {
            tt->failed++;
            printf("FAIL %s: %s: %s\n", path, t.spec->name, t.msg);
        }
        fflush(stdout);
        junit_case(tt, path, &t, ok || (tf->update && t.ran));
        eq_strbuf_free(&t.ids.got);
        eq_strbuf_free(&t.ids.yaml);
        eq_strbuf_free(&t.ids.texts);
        eqlite_schema_free(t.ids.id_schema);
    }
}

static int run_file(const char *path, bool update, totals *tt)
{
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "eqlite test: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    yt_file f;
    char err[1024];
    bool loaded = update ? yt_load_for_update(text, len, path, &f, err, sizeof err)
                         : yt_load(text, len, path, &f, err, sizeof err);
    if (!loaded) {
        free(text);
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    test_file tf = {path, text, len, update, {0}, 0, 0};
    run_tests(&tf, &f, tt);
    yt_free(&f);
    int status = 0;
    if (tf.updated) { /* the rest of the file, then in place of the old one at once */
        eq_strbuf_bytes(&tf.rewritten, text + tf.done, len - tf.done);
        if (tf.rewritten.failed || !cli_write_atomically(path, tf.rewritten.data, tf.rewritten.len)) {
            fprintf(stderr, "eqlite test: cannot rewrite %s: %s\n", path,
                    tf.rewritten.failed ? "out of memory" : strerror(errno));
            status = 2;
        }
    }
    eq_strbuf_free(&tf.rewritten);
    free(text);
    return status;
}

static bool write_junit(const char *path, totals *tt)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
               "  <testsuite name=\"eqlite\" tests=\"%zu\" failures=\"%zu\">\n",
            tt->passed + tt->failed, tt->failed);
    fwrite(tt->junit.data ? tt->junit.data : "", 1, tt->junit.len, f);
    fputs("  </testsuite>\n</testsuites>\n", f);
    return fclose(f) == 0;
}

static void test_usage(FILE *f)
{
    fprintf(f, "usage: eqlite test [--junit FILE] [--update] FILE...\n"
               "Runs rule unit tests written in YAML: a rule, events, and the hits expected.\n"
               "  defaults: {rule: rules/x.eql, id_field: event.id}\n"
               "  tests:\n"
               "    - name: cmd.exe spawned by lsass is flagged\n"
               "      events: [{\"@timestamp\": 1, \"event\": {\"id\": 1}, ...}]   # or an NDJSON path\n"
               "      expect: {ids: [1], count: 1}\n"
               "Every key, limit and check: the TEST FILES section of man eqlite.\n"
               "  --junit FILE  also write a JUnit XML report\n"
               "  --update      where a test's expect: differs from its run (or is missing),\n"
               "                rewrite it from the run (the file replaced atomically)\n"
               "  -h, --help    this help\n"
               "Prints one line per test, then \"N passed, N failed\". Exit: 0 all passed,\n"
               "1 a test failed, 2 a file unreadable or malformed (file:line:col: message).\n");
}

int cmd_test(int argc, char **argv)
{
    const char *junit = NULL;
    bool update = false;
    totals tt = {0};
    int status = 0, nfiles = 0;
    for (int k = 1; k < argc; k++) { /* options first, wherever they are */
        if (!strcmp(argv[k], "--update"))
            update = true;
        else if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help"))
            return test_usage(stdout), 0;
    }
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--junit") && k + 1 < argc) {
            junit = argv[++k];
        } else if (strcmp(argv[k], "--update") != 0) {
            nfiles++;
            if (run_file(argv[k], update, &tt))
                status = 2;
        }
    }
    if (!nfiles) {
        test_usage(stderr);
        return 2;
    }
    if (update)
        printf("%zu passed, %zu failed, %zu updated\n", tt.passed, tt.failed, tt.updated);
    else
        printf("%zu passed, %zu failed\n", tt.passed, tt.failed);
    if (junit && !write_junit(junit, &tt)) {
        fprintf(stderr, "eqlite test: cannot write %s\n", junit);
        status = 2;
    }
    eq_strbuf_free(&tt.junit);
    return status ? status : tt.failed ? 1 : 0;
}
