/* test_conformance_sequences.c: Elasticsearch's EQL QA suites for
 * sequences, samples, missing events and pipes, from
 * ../shared/conformance/ready/suites/ (converted JSON), run through the
 * streaming API. Prints "suite: passed/total" and lists each failure. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "eqlite_io.h"
#include "io/ndjson.h"
#include "support.h"

/* ---- a minimal JSON reader for the suite files ------------------------- */

typedef struct jv jv;
struct jv {
    char type; /* o a s n t f z */
    char *s;   /* string (decoded) or number text */
    jv **items;
    char **keys;
    size_t n;
};

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t')
        (*p)++;
}

static jv *jparse(const char **p);

static char *jstring(const char **p)
{
    (*p)++; /* opening quote */
    char *out = malloc(strlen(*p) + 1), *o = out;
    while (**p && **p != '"') {
        if (**p == '\\') {
            (*p)++;
            char c = **p;
            if (c == 'n')
                *o++ = '\n';
            else if (c == 't')
                *o++ = '\t';
            else if (c == 'r')
                *o++ = '\r';
            else if (c == 'u') { /* ASCII-only escapes in these files */
                unsigned v = 0;
                sscanf(*p + 1, "%4x", &v);
                *o++ = (char)v;
                *p += 4;
            } else
                *o++ = c;
            (*p)++;
        } else {
            *o++ = *(*p)++;
        }
    }
    (*p)++;
    *o = 0;
    return out;
}

static jv *jparse(const char **p)
{
    skip_ws(p);
    jv *v = calloc(1, sizeof *v);
    char c = **p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? 'o' : 'a';
        (*p)++;
        for (;;) {
            skip_ws(p);
            if (**p == '}' || **p == ']') {
                (*p)++;
                break;
            }
            if (**p == ',') {
                (*p)++;
                continue;
            }
            v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
            v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
            v->keys[v->n] = NULL;
            if (v->type == 'o') {
                v->keys[v->n] = jstring(p);
                skip_ws(p);
                (*p)++; /* colon */
            }
            v->items[v->n++] = jparse(p);
        }
    } else if (c == '"') {
        v->type = 's';
        v->s = jstring(p);
    } else if (c == 't' || c == 'f' || c == 'n') {
        v->type = c == 'n' ? 'z' : c;
        *p += c == 'f' ? 5 : 4;
    } else {
        v->type = 'n';
        const char *start = *p;
        while (**p && strchr("-+.eE0123456789", **p))
            (*p)++;
        v->s = strndup(start, (size_t)(*p - start));
    }
    return v;
}

static jv *jget(const jv *o, const char *key)
{
    for (size_t i = 0; o && o->type == 'o' && i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0)
            return o->items[i];
    return NULL;
}

static const char *jstr(const jv *o, const char *key)
{
    jv *v = jget(o, key);
    return v && v->type == 's' ? v->s : NULL;
}

static void jfree(jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jfree(v->items[i]);
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

/* ---- the dataset ----------------------------------------------------------- */

typedef struct dataset {
    eqlite_schema *schema;
    eqlite_event *events;
    long long *ids;
    size_t n;
    uint32_t id_field;
} dataset;

static eqlite_value copy_value(eqlite_value v)
{
    if (v.kind == EQLITE_STRING) {
        char *s = malloc(v.len + 1);
        memcpy(s, v.u.s, v.len);
        v.u.s = s;
    } else if (v.kind == EQLITE_ARRAY) {
        eqlite_value *a = malloc((v.len + 1) * sizeof *a);
        for (uint32_t i = 0; i < v.len; i++)
            a[i] = copy_value(v.u.a[i]);
        v.u.a = a;
    }
    return v;
}

static void free_value(eqlite_value v)
{
    if (v.kind == EQLITE_STRING)
        free((void *)v.u.s);
    else if (v.kind == EQLITE_ARRAY) {
        for (uint32_t i = 0; i < v.len; i++)
            free_value(v.u.a[i]);
        free((void *)v.u.a);
    }
}

static void free_dataset(dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        for (size_t f = 0; f < d->events[i].nfields; f++)
            free_value(d->events[i].fields[f]);
        free((void *)d->events[i].fields);
        free_value(d->events[i].tiebreaker);
    }
    free(d->events);
    free(d->ids);
    eqlite_schema_free(d->schema);
}

static void add_mapping(eqlite_schema *schema, const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "conformance/ready/%s", rel);
    size_t len = 0;
    char *json = read_whole_file(shared_path(path), &len);
    cr_assert(json, "cannot read %s", path);
    eqlite_diag diag;
    cr_assert_eq(eqlite_schema_load_mapping(schema, json, len, &diag), EQLITE_OK, "%s: %s", rel, diag.message);
    free(json);
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Elasticsearch parses a date field with its mapping's `format` and joins
 * on the parsed value (epoch ms). The NDJSON reader keeps such text as is,
 * so the harness converts the two custom formats these datasets use
 * (dd-MM-yyyy, yyyy-MM-dd) and epoch-millisecond text for date-typed fields. */
static eqlite_value normalize_date(eqlite_value v)
{
    int a, b, c;
    char tail;
    char text[32];
    if (v.kind != EQLITE_STRING || v.len >= sizeof text)
        return v;
    memcpy(text, v.u.s, v.len);
    text[v.len] = 0;
    int64_t days;
    if (strspn(text, "0123456789") == v.len) { /* epoch_millis, the default format's other half */
        eqlite_value out = {0};
        out.kind = EQLITE_INT;
        out.u.i = atoll(text);
        return out;
    }
    if (sscanf(text, "%2d-%2d-%4d%c", &a, &b, &c, &tail) == 3 && c > 999)
        days = days_from_civil(c, b, a);
    else if (sscanf(text, "%4d-%2d-%2d%c", &a, &b, &c, &tail) == 3 && a > 999)
        days = days_from_civil(a, b, c);
    else
        return v;
    eqlite_value out = {0};
    out.kind = EQLITE_INT;
    out.u.i = days * 86400000;
    return out;
}

static void load_file(dataset *d, const char *rel, const jv *ds)
{
    char path[4096];
    snprintf(path, sizeof path, "conformance/ready/%s", rel);
    size_t nf = eqlite_schema_field_count(d->schema);
    eq_ndjson_field *fields = calloc(nf + 1, sizeof *fields);
    for (uint32_t id = 0; id < nf; id++) {
        fields[id].name = eqlite_schema_field_name(d->schema, id, NULL);
        fields[id].len = strlen(fields[id].name);
        fields[id].id = id;
    }
    eq_ndjson_options opt = {0};
    opt.fields = fields;
    opt.nfields = nf;
    const char *ts = jstr(ds, "timestamp_field"), *tb = jstr(ds, "tiebreaker_field");
    if (ts) {
        opt.timestamp_field = ts;
        opt.timestamp_len = strlen(ts);
    }
    if (tb) {
        opt.tiebreaker_field = tb;
        opt.tiebreaker_len = strlen(tb);
    }
    char err[256] = "";
    eq_ndjson *r = NULL;
    cr_assert_eq(eq_ndjson_open_path(shared_path(path), &opt, &r, err, sizeof err), EQLITE_OK,
                 "%s: %s", rel, err);
    eqlite_event ev;
    int rc;
    while ((rc = eq_ndjson_next(r, &ev, NULL)) != EQ_NDJSON_EOF) {
        cr_assert_eq(rc, EQ_NDJSON_EVENT, "bad record in %s", rel);
        d->events = realloc(d->events, (d->n + 1) * sizeof *d->events);
        d->ids = realloc(d->ids, (d->n + 1) * sizeof *d->ids);
        eqlite_value *f = calloc(nf + 1, sizeof *f);
        for (size_t i = 0; i < ev.nfields && i < nf; i++) {
            eqlite_type type = EQLITE_T_UNKNOWN;
            eqlite_schema_field_name(d->schema, (uint32_t)i, &type);
            f[i] = copy_value(type == EQLITE_T_DATE ? normalize_date(ev.fields[i]) : ev.fields[i]);
        }
        eqlite_event *e = &d->events[d->n];
        *e = ev;
        e->fields = f;
        e->nfields = nf;
        e->tiebreaker = copy_value(ev.tiebreaker);
        eqlite_value id = f[d->id_field];
        d->ids[d->n] = id.kind == EQLITE_INT ? id.u.i : -2;
        d->n++;
    }
    eq_ndjson_close(r);
    free(fields);
}

static int tiebreak_cmp(const eqlite_value *a, const eqlite_value *b)
{
    if (a->kind == EQLITE_INT && b->kind == EQLITE_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    return 0;
}

static dataset *sort_target;
static int by_order(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    const eqlite_event *a = &sort_target->events[i], *b = &sort_target->events[j];
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp ? -1 : 1;
    int c = tiebreak_cmp(&a->tiebreaker, &b->tiebreaker);
    return c ? c : (i > j) - (i < j);
}

static void load_schema(dataset *d, const jv *ds, int grow)
{
    memset(d, 0, sizeof *d);
    cr_assert_eq(eqlite_schema_new(NULL, &d->schema), EQLITE_OK);
    jv *maps = jget(ds, "mapping");
    if (maps->type == 's')
        add_mapping(d->schema, maps->s);
    else
        for (size_t i = 0; i < maps->n; i++)
            add_mapping(d->schema, maps->items[i]->s);
    const char *cat = jstr(ds, "category_field");
    eqlite_schema_set_category_field(d->schema, cat, strlen(cat));
    const char *ts = jstr(ds, "timestamp_field"), *tb = jstr(ds, "tiebreaker_field");
    if (ts)
        eqlite_schema_set_timestamp_field(d->schema, ts, strlen(ts));
    if (tb)
        eqlite_schema_set_tiebreaker_field(d->schema, tb, strlen(tb));
    const char *idf = jstr(ds, "id_field");
    if (eqlite_schema_lookup(d->schema, idf, strlen(idf), &d->id_field) != EQLITE_OK)
        cr_assert_eq(eqlite_schema_add(d->schema, idf, strlen(idf), EQLITE_T_LONG, &d->id_field),
                     EQLITE_OK);
    /* endgame-140's mapping lacks fields its data has (ES maps them
     * dynamically): let the queries add them, compiling all of them before
     * the data is loaded. Elsewhere an unmapped ?field must stay unknown. */
    eqlite_schema_set_grow(d->schema, grow);
}

static void load_data(dataset *d, const jv *ds)
{
    jv *files = jget(ds, "data");
    for (size_t i = 0; i < files->n; i++)
        load_file(d, files->items[i]->s, ds);
    /* the files are not globally in time order: feed in (timestamp, tiebreaker) order */
    size_t *order = malloc(d->n * sizeof *order);
    for (size_t i = 0; i < d->n; i++)
        order[i] = i;
    sort_target = d;
    qsort(order, d->n, sizeof *order, by_order);
    eqlite_event *sorted = malloc(d->n * sizeof *sorted);
    long long *ids = malloc(d->n * sizeof *ids);
    for (size_t i = 0; i < d->n; i++) {
        sorted[i] = d->events[order[i]];
        ids[i] = d->ids[order[i]];
        sorted[i].user = (void *)(uintptr_t)i;
    }
    free(d->events);
    free(d->ids);
    free(order);
    d->events = sorted;
    d->ids = ids;
}

/* ---- running one query ------------------------------------------------------ */

typedef struct collected {
    const dataset *d;
    long long ids[4096];
    size_t nids;
    char keys[64][64];
    size_t nkeys;
} collected;

static void key_text(const eqlite_value *v, char *out, size_t cap)
{
    switch (v->kind) {
    case EQLITE_STRING:
        snprintf(out, cap, "%.*s", (int)v->len, v->u.s);
        break;
    case EQLITE_INT:
        snprintf(out, cap, "%lld", (long long)v->u.i);
        break;
    case EQLITE_BOOL:
        snprintf(out, cap, "%s", v->u.b ? "true" : "false");
        break;
    case EQLITE_DOUBLE:
        snprintf(out, cap, "%g", v->u.d);
        break;
    default:
        snprintf(out, cap, "null");
    }
}

static int collect(void *user, const eqlite_result *r)
{
    collected *c = user;
    for (size_t i = 0; i < r->nevents && c->nids < 4096; i++)
        c->ids[c->nids++] = r->events[i] ? c->d->ids[(uintptr_t)r->events[i]->user] : -1;
    for (size_t k = 0; k < r->nkeys && c->nkeys < 64; k++)
        key_text(&r->keys[k], c->keys[c->nkeys++], sizeof c->keys[0]);
    return 0;
}

static bool ids_equal(const collected *c, const jv *expected)
{
    if (expected->n != c->nids)
        return false;
    for (size_t i = 0; i < c->nids; i++)
        if (atoll(expected->items[i]->s) != c->ids[i])
            return false;
    return true;
}

static bool expected_matches(const collected *c, const jv *expected)
{
    if (expected->n && expected->items[0]->type == 'a') { /* any of these */
        for (size_t i = 0; i < expected->n; i++)
            if (ids_equal(c, expected->items[i]))
                return true;
        return false;
    }
    return ids_equal(c, expected);
}

static bool keys_match(const collected *c, const jv *keys)
{
    if (!keys)
        return true;
    if (keys->n != c->nkeys)
        return false;
    for (size_t i = 0; i < c->nkeys; i++)
        if (strcmp(keys->items[i]->s, c->keys[i]) != 0)
            return false;
    return true;
}

static void print_ids(const char *label, const collected *c)
{
    fprintf(stderr, "    %s [", label);
    for (size_t i = 0; i < c->nids; i++)
        fprintf(stderr, "%s%lld", i ? ", " : "", c->ids[i]);
    fprintf(stderr, "] keys [");
    for (size_t i = 0; i < c->nkeys; i++)
        fprintf(stderr, "%s%s", i ? ", " : "", c->keys[i]);
    fprintf(stderr, "]\n");
}

static eqlite_program *compile_query(const dataset *d, const jv *q)
{
    const char *name = jstr(q, "name"), *src = jstr(q, "query");
    eqlite_program *prog = NULL;
    eqlite_diag diag;
    if (eqlite_compile(d->schema, src, strlen(src), &prog, &diag) != EQLITE_OK)
        fprintf(stderr, "  FAIL %s: compile: %s\n", name, diag.message);
    return prog;
}

static bool run_query(const dataset *d, const jv *q, eqlite_program *prog, bool check_keys)
{
    const char *name = jstr(q, "name"), *src = jstr(q, "query");
    if (!prog)
        return false;
    eqlite_limits limits = {0};
    jv *size = jget(q, "size"), *per_key = jget(q, "max_samples_per_key");
    if (size && size->type == 'n')
        limits.size = (size_t)atoll(size->s);
    if (per_key && per_key->type == 'n')
        limits.max_samples_per_key = (size_t)atoll(per_key->s);
    bool size_zero = size && size->type == 'n' && limits.size == 0;
    eqlite_matcher *m = NULL;
    cr_assert_eq(eqlite_matcher_new(prog, &limits, &m), EQLITE_OK);
    static collected c;
    memset(&c, 0, sizeof c);
    c.d = d;
    if (!size_zero) {
        for (size_t i = 0; i < d->n; i++) {
            eqlite_status st = eqlite_feed(m, &d->events[i], collect, &c);
            cr_assert_eq(st, EQLITE_OK, "%s: feed %zu: %s", name, i, eqlite_strerror(st));
        }
        cr_assert_eq(eqlite_flush(m, collect, &c), EQLITE_OK);
    }
    eqlite_matcher_free(m);
    bool ok = expected_matches(&c, jget(q, "expected_event_ids")) &&
              (!check_keys || keys_match(&c, jget(q, "join_keys")));
    if (!ok) {
        fprintf(stderr, "  FAIL %s: %s\n", name, src);
        print_ids("got", &c);
    }
    return ok;
}

static void run_suite(const char *suite, bool check_keys, bool only_sequences)
{
    char rel[256];
    snprintf(rel, sizeof rel, "conformance/ready/suites/%s.json", suite);
    size_t len = 0;
    char *text = read_whole_file(shared_path(rel), &len);
    cr_assert(text, "cannot read %s", rel);
    const char *p = text;
    jv *doc = jparse(&p);
    dataset d;
    load_schema(&d, jget(doc, "dataset"), strcmp(suite, "test_queries") == 0);
    jv *queries = jget(doc, "queries");
    eqlite_program **progs = calloc(queries->n + 1, sizeof *progs);
    for (size_t i = 0; i < queries->n; i++)
        progs[i] = compile_query(&d, queries->items[i]);
    load_data(&d, jget(doc, "dataset"));
    size_t passed = 0, total = 0;
    for (size_t i = 0; i < queries->n; i++) {
        const char *src = jstr(queries->items[i], "query");
        if (only_sequences && !strstr(src, "sequence") && !strchr(src, '|'))
            continue;
        total++;
        passed += run_query(&d, queries->items[i], progs[i], check_keys);
    }
    for (size_t i = 0; i < queries->n; i++)
        eqlite_program_free(progs[i]);
    free(progs);
    printf("%s%s: %zu/%zu\n", suite, only_sequences ? " (sequences and pipes)" : "", passed,
           total);
    fflush(stdout);
    free_dataset(&d);
    jfree(doc);
    free(text);
    cr_expect_gt(total, 0, "%s: the suite holds no query to run", suite);
    cr_expect_eq(passed, total, "%s: %zu of %zu passed", suite, passed, total);
}

Test(conformance_sequences, test_queries_all)
{
    run_suite("test_queries", false, false);
}

Test(conformance_sequences, test_missing_events)
{
    run_suite("test_missing_events", true, false);
}

Test(conformance_sequences, test_sample)
{
    run_suite("test_sample", false, false);
}

Test(conformance_sequences, test_sample_multi)
{
    run_suite("test_sample_multi", false, false);
}

Test(conformance_sequences, test_queries_date)
{
    run_suite("test_queries_date", false, false);
}
