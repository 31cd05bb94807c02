/* test.c: `eqlite test FILE...` — rule unit tests written in YAML.
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
 * One line per test, then "N passed, N failed". Exit 0 when all pass, 1 when
 * one fails, 2 when a test file cannot be read. --junit FILE writes JUnit XML. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#include "commands.h"
#include "engine.h"

/* ---- YAML helpers ------------------------------------------------------ */

typedef struct ydoc {
    yaml_document_t doc;
    const char *path;
    char dir[4096];
} ydoc;

static yaml_node_t *ynode(ydoc *d, int id) { return id ? yaml_document_get_node(&d->doc, id) : NULL; }

static yaml_node_t *yget(ydoc *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return ynode(d, p->value);
    }
    return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A key of the test, else of the defaults. */
static yaml_node_t *yopt(ydoc *d, yaml_node_t *test, yaml_node_t *defaults, const char *key)
{
    yaml_node_t *n = yget(d, test, key);
    return n ? n : yget(d, defaults, key);
}

static bool plain_literal(const yaml_node_t *n)
{
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = (const char *)n->data.scalar.value;
    if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null"))
        return true;
    char *end;
    strtod(s, &end);
    return *s && !*end && strspn(s, "0123456789+-.eE") == strlen(s);
}

/* A YAML node as JSON text (plain numbers, booleans and null stay literals). */
static void to_json(ydoc *d, yaml_node_t *n, outbuf *out)
{
    if (!n) {
        ob_str(out, "null");
    } else if (n->type == YAML_SCALAR_NODE) {
        if (plain_literal(n))
            ob_bytes(out, n->data.scalar.value, n->data.scalar.length);
        else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!strcmp(yscalar(n), "~") || !n->data.scalar.length))
            ob_str(out, "null");
        else
            ob_json_string(out, (const char *)n->data.scalar.value, n->data.scalar.length);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        ob_char(out, '[');
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
            if (i != n->data.sequence.items.start)
                ob_char(out, ',');
            to_json(d, ynode(d, *i), out);
        }
        ob_char(out, ']');
    } else {
        ob_char(out, '{');
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            if (p != n->data.mapping.pairs.start)
                ob_char(out, ',');
            yaml_node_t *k = ynode(d, p->key);
            const char *ks = yscalar(k) ? yscalar(k) : "";
            ob_json_string(out, ks, strlen(ks));
            ob_char(out, ':');
            to_json(d, ynode(d, p->value), out);
        }
        ob_char(out, '}');
    }
}

/* Paths in a test file are relative to it. */
static void resolve(const ydoc *d, const char *rel, char *out, size_t cap)
{
    bool absolute = rel[0] == '/' || !strcmp(rel, "-");
    int n = absolute ? snprintf(out, cap, "%s", rel) : snprintf(out, cap, "%s/%s", d->dir, rel);
    if (n < 0 || (size_t)n >= cap)
        out[0] = 0; /* too long: reads as unreadable */
}

/* ---- one test ----------------------------------------------------------- */

typedef struct result_ids {
    ydoc *d;
    const char *id_field;
    eng *e;
    outbuf got;   /* ids of result events, comma-separated (JSON-ish text) */
    size_t nids;
    uint64_t results;
    bool discard; /* size: 0 returns no results (Elasticsearch) */
} result_ids;

/* The id of one result event, read back from its original text. */
static void append_id(result_ids *ri, const eqlite_event *ev)
{
    if (ri->nids++)
        ob_char(&ri->got, ',');
    if (!ev) {
        ob_str(&ri->got, "-1");
        return;
    }
    const eng_text *t = ev->user;
    eq_ndjson_field f = {ri->id_field, strlen(ri->id_field), 0};
    eq_ndjson_options o = {.fields = &f, .nfields = 1, .display_name = "<result>"};
    eq_ndjson *rd;
    eqlite_event idev;
    if (eq_ndjson_open_memory(t->text, t->len, &o, &rd, NULL, 0) == EQLITE_OK) {
        if (eq_ndjson_next(rd, &idev, NULL) == EQ_NDJSON_EVENT && idev.nfields > 0) {
            const eqlite_value *v = &idev.fields[0];
            if (v->kind == EQLITE_STRING)
                ob_bytes(&ri->got, v->u.s, v->len);
            else
                ob_json_value(&ri->got, v);
        } else {
            ob_str(&ri->got, "?");
        }
        eq_ndjson_close(rd);
    }
}

static int collect_ids(void *user, outbuf *out, size_t rule, const eqlite_result *r)
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

/* Expected ids as the same comma-separated text. */
static void expected_text(ydoc *d, yaml_node_t *list, outbuf *out)
{
    size_t n = 0;
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
        const char *s = yscalar(ynode(d, *i));
        if (n++)
            ob_char(out, ',');
        ob_str(out, s ? s : "?");
    }
}

static bool is_list_of_lists(ydoc *d, yaml_node_t *n)
{
    return n->data.sequence.items.start < n->data.sequence.items.top &&
           ynode(d, *n->data.sequence.items.start)->type == YAML_SEQUENCE_NODE;
}

/* Compares results with expect:; on failure writes why into msg. */
static bool check_expect(ydoc *d, yaml_node_t *expect, result_ids *ri, char *msg, size_t cap)
{
    const char *count = yscalar(yget(d, expect, "count"));
    if (count && strtoull(count, NULL, 10) != ri->results) {
        snprintf(msg, cap, "expected %s results, got %llu", count, (unsigned long long)ri->results);
        return false;
    }
    yaml_node_t *ids = yget(d, expect, "ids");
    if (!ids || ids->type != YAML_SEQUENCE_NODE)
        return true;
    ob_char(&ri->got, 0);
    bool any = is_list_of_lists(d, ids);
    outbuf want = {0};
    bool ok = false;
    yaml_node_item_t *i = ids->data.sequence.items.start;
    do { /* a flat list once; a list of lists once per alternative */
        want.len = 0;
        expected_text(d, any ? ynode(d, *i) : ids, &want);
        ob_char(&want, 0);
        ok = strcmp(want.data, ri->got.data) == 0;
    } while (!ok && any && ++i < ids->data.sequence.items.top);
    if (!ok)
        snprintf(msg, cap, "expected ids %s[%s], got [%s]", any ? "(one of) " : "", want.data, ri->got.data);
    ob_free(&want);
    return ok;
}

typedef struct test_case {
    ydoc *d;
    yaml_node_t *node, *defaults;
    const char *name;
    char msg[2048];
    double secs;
} test_case;

static const char *opt_text(test_case *t, const char *key)
{
    return yscalar(yopt(t->d, t->node, t->defaults, key));
}

static size_t opt_count(test_case *t, const char *key)
{
    const char *s = opt_text(t, key);
    return s ? (size_t)strtoull(s, NULL, 10) : 0;
}

/* Mapping paths (one or a list), resolved; returns how many. */
static size_t mapping_paths(test_case *t, char paths[][4096], size_t max)
{
    yaml_node_t *m = yopt(t->d, t->node, t->defaults, "mapping");
    size_t n = 0;
    if (m && m->type == YAML_SCALAR_NODE)
        resolve(t->d, yscalar(m), paths[n++], 4096);
    else if (m && m->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *i = m->data.sequence.items.start; i < m->data.sequence.items.top && n < max; i++)
            if (yscalar(ynode(t->d, *i)))
                resolve(t->d, yscalar(ynode(t->d, *i)), paths[n++], 4096);
    return n;
}

static int load_rule(test_case *t, eng *e)
{
    const char *query = opt_text(t, "query");
    const char *rule = opt_text(t, "rule");
    cli_rules rules = {0};
    char path[4096] = "query";
    if (query && !yget(t->d, t->node, "rule")) {
        rules.items = malloc(sizeof *rules.items);
        rules.items[0] = (cli_rule){strdup(query), strlen(query), NULL, NULL, 1, 0, NULL};
        rules.n = rules.cap = 1;
    } else if (rule) {
        resolve(t->d, rule, path, sizeof path);
        if (!cli_load_rules(path, &rules, true)) {
            snprintf(t->msg, sizeof t->msg, "cannot read rule %s", path);
            return 2;
        }
    } else {
        snprintf(t->msg, sizeof t->msg, "no rule: give rule: PATH or query: TEXT");
        return 2;
    }
    int status = eng_add_rules(e, &rules, path);
    if (status == 1)
        snprintf(t->msg, sizeof t->msg, "the rule is invalid (diagnostic above)");
    cli_rules_free(&rules);
    return status;
}

/* events: PATH or [PATH, ...] (NDJSON files, relative to the test file). */
static int run_paths(test_case *t, eng *e, yaml_node_t **nodes, size_t n)
{
    char (*paths)[4096] = calloc(n, sizeof *paths);
    char **ptrs = calloc(n, sizeof *ptrs);
    int status = paths && ptrs ? 0 : 2;
    for (size_t k = 0; status == 0 && k < n; k++) {
        resolve(t->d, yscalar(nodes[k]) ? yscalar(nodes[k]) : "", paths[k], sizeof paths[k]);
        ptrs[k] = paths[k];
    }
    if (status == 0)
        status = eng_run(e, ptrs, n, 1);
    free(paths);
    free(ptrs);
    return status;
}

static int run_events(test_case *t, eng *e)
{
    yaml_node_t *ev = yget(t->d, t->node, "events");
    if (!ev)
        ev = yget(t->d, t->defaults, "events");
    if (ev && ev->type == YAML_SCALAR_NODE)
        return run_paths(t, e, &ev, 1);
    if (ev && ev->type == YAML_SEQUENCE_NODE && ev->data.sequence.items.start < ev->data.sequence.items.top &&
        ynode(t->d, *ev->data.sequence.items.start)->type == YAML_SCALAR_NODE) {
        size_t n = (size_t)(ev->data.sequence.items.top - ev->data.sequence.items.start);
        yaml_node_t **nodes = calloc(n, sizeof *nodes);
        for (size_t k = 0; nodes && k < n; k++)
            nodes[k] = ynode(t->d, ev->data.sequence.items.start[k]);
        int status = nodes ? run_paths(t, e, nodes, n) : 2;
        free(nodes);
        return status;
    }
    outbuf text = {0};
    for (yaml_node_item_t *i = ev && ev->type == YAML_SEQUENCE_NODE ? ev->data.sequence.items.start : NULL;
         i && i < ev->data.sequence.items.top; i++) {
        to_json(t->d, ynode(t->d, *i), &text);
        ob_char(&text, '\n');
    }
    int status = eng_run_memory(e, text.data ? text.data : "", text.len, t->name);
    ob_free(&text);
    return status;
}

static bool run_case(test_case *t)
{
    char maps[16][4096];
    const char *map_ptrs[16];
    eng_options opt = {0};
    opt.nmappings = mapping_paths(t, maps, 16);
    for (size_t k = 0; k < opt.nmappings; k++)
        map_ptrs[k] = maps[k];
    opt.mappings = map_ptrs;
    opt.category_field = opt_text(t, "category_field");
    opt.timestamp_field = opt_text(t, "timestamp_field");
    if (opt.timestamp_field && (!strcmp(opt.timestamp_field, "~") || !strcmp(opt.timestamp_field, "null")))
        opt.timestamp_field = "";
    opt.tiebreaker_field = opt_text(t, "tiebreaker_field");
    opt.limits.size = opt_count(t, "size");
    opt.limits.max_samples_per_key = opt_count(t, "max_samples_per_key");
    eng e;
    result_ids ri = {t->d, opt_text(t, "id_field"), &e, {0}, 0, 0, opt_text(t, "size") && opt.limits.size == 0};
    int status = eng_init(&e, &opt);
    if (status)
        snprintf(t->msg, sizeof t->msg, "cannot load the mapping");
    if (status == 0)
        status = load_rule(t, &e);
    if (status == 0)
        status = eng_prepare(&e);
    if (status == 0) {
        e.sink = collect_ids;
        e.sink_user = &ri;
        e.out_fd = -1;
        status = run_events(t, &e);
        if (status)
            snprintf(t->msg, sizeof t->msg, "the run failed (see above)");
    }
    bool ok = status == 0;
    yaml_node_t *expect = yget(t->d, t->node, "expect");
    if (ok && !expect) {
        snprintf(t->msg, sizeof t->msg, "no expect: (ids or count)");
        ok = false;
    }
    if (ok && yget(t->d, expect, "ids") && !ri.id_field) {
        snprintf(t->msg, sizeof t->msg, "expect: ids needs id_field");
        ok = false;
    }
    if (ok)
        ok = check_expect(t->d, expect, &ri, t->msg, sizeof t->msg);
    ob_free(&ri.got);
    eng_free(&e);
    return ok;
}

/* ---- files, totals, JUnit ------------------------------------------------ */

typedef struct totals {
    size_t passed, failed;
    outbuf junit;
} totals;

static void xml_text(outbuf *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': ob_str(o, "&lt;"); break;
        case '>': ob_str(o, "&gt;"); break;
        case '&': ob_str(o, "&amp;"); break;
        case '"': ob_str(o, "&quot;"); break;
        default: ob_char(o, *s);
        }
    }
}

static void junit_case(totals *tt, const char *file, const test_case *t, bool ok)
{
    ob_str(&tt->junit, "    <testcase classname=\"");
    xml_text(&tt->junit, file);
    ob_str(&tt->junit, "\" name=\"");
    xml_text(&tt->junit, t->name);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "\" time=\"%.6f\"", t->secs);
    ob_str(&tt->junit, tmp);
    if (ok) {
        ob_str(&tt->junit, "/>\n");
        return;
    }
    ob_str(&tt->junit, "><failure message=\"");
    xml_text(&tt->junit, t->msg);
    ob_str(&tt->junit, "\"/></testcase>\n");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_tests(ydoc *d, yaml_node_t *list, yaml_node_t *defaults, totals *tt)
{
    size_t index = 0;
    for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
        char fallback[64];
        snprintf(fallback, sizeof fallback, "test %zu", ++index);
        test_case t = {d, ynode(d, *i), defaults, NULL, "", 0};
        t.name = yscalar(yget(d, t.node, "name")) ? yscalar(yget(d, t.node, "name")) : fallback;
        double t0 = now_seconds();
        bool ok = run_case(&t);
        t.secs = now_seconds() - t0;
        if (ok) {
            tt->passed++;
            printf("ok   %s: %s\n", d->path, t.name);
        } else {
            tt->failed++;
            printf("FAIL %s: %s: %s\n", d->path, t.name, t.msg);
        }
        fflush(stdout);
        junit_case(tt, d->path, &t, ok);
    }
}

static int run_file(const char *path, totals *tt)
{
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "eqlite test: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    ydoc d = {.path = path};
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(d.dir, sizeof d.dir, "%s", dirname(tmp));
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int status = 0;
    if (!yaml_parser_load(&parser, &d.doc)) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", path, parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                parser.problem ? parser.problem : "YAML error");
        status = 2;
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&d.doc);
        yaml_node_t *tests = yget(&d, root, "tests");
        if (!tests || tests->type != YAML_SEQUENCE_NODE) {
            fprintf(stderr, "%s: no tests: list\n", path);
            status = 2;
        } else {
            run_tests(&d, tests, yget(&d, root, "defaults"), tt);
        }
        yaml_document_delete(&d.doc);
    }
    yaml_parser_delete(&parser);
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

int cmd_test(int argc, char **argv)
{
    const char *junit = NULL;
    totals tt = {0};
    int status = 0, nfiles = 0;
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--junit") && k + 1 < argc) {
            junit = argv[++k];
        } else if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
            printf("usage: eqlite test [--junit FILE] FILE...\n");
            return 0;
        } else {
            nfiles++;
            if (run_file(argv[k], &tt))
                status = 2;
        }
    }
    if (!nfiles) {
        fprintf(stderr, "usage: eqlite test [--junit FILE] FILE...\n");
        return 2;
    }
    printf("%zu passed, %zu failed\n", tt.passed, tt.failed);
    if (junit && !write_junit(junit, &tt)) {
        fprintf(stderr, "eqlite test: cannot write %s\n", junit);
        status = 2;
    }
    ob_free(&tt.junit);
    return status ? status : tt.failed ? 1 : 0;
}
