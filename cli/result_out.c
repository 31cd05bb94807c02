/* result_out.c: results as ndjson, json, csv or table, projected onto
 * --fields (formats in result_out.h). ro_write may run on several threads at
 * once for ndjson and csv (each with its own out); json and table keep state
 * between results, so their runs write results from one thread, in order. */
#define _DEFAULT_SOURCE
#include "result_out.h"

#include "eqlite_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_FIELD "_source"
#define TABLE_CELL_WIDTH 48
#define TABLE_HOLD 1000 /* rows that size the table's columns */

bool ro_parse_format(const char *name, ro_format *out)
{
    static const char *const names[] = {"ndjson", "json", "csv", "table"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(name, names[k])) {
            *out = (ro_format)k;
            return true;
        }
    return false;
}

static bool is_source(const ro_field *f)
{
    return f->len == strlen(SOURCE_FIELD) && !memcmp(f->name, SOURCE_FIELD, f->len);
}

/* ---- projection ---------------------------------------------------------- */

/* Called for each --fields entry k in order: v is its value (NULL when
 * missing), or source the event's text when the field is _source. */
typedef void (*field_fn)(void *ctx, size_t k, const eqlite_value *v, const eng_text *source);

static eqlite_reader *open_event(const result_out *ro, const eng_text *t, const uint32_t *ids, size_t nids)
{
    eqlite_reader_options o = {.schema = ro->schema, .timestamp_field = "", .source = "none",
                               .display_name = "<result>", .fields = ids, .nfields = nids};
    eqlite_reader *rd;
    return eqlite_reader_open_memory(t->text, t->len, &o, &rd, NULL, 0) == EQLITE_OK ? rd : NULL;
}

/* A bad record (an object where a field wants a value) is read again field
 * by field, so that an object-valued field leaves only itself empty. */
static bool read_one(const result_out *ro, const eng_text *t, size_t k, field_fn each, void *ctx)
{
    uint32_t id = ro->fields[k].id;
    eqlite_reader *rd = open_event(ro, t, &id, 1);
    eqlite_event ev;
    if (!rd)
        return false; /* out of memory: never an empty cell that is not empty */
    int read = eqlite_reader_next(rd, &ev, NULL);
    bool got = read == EQLITE_READ_EVENT && id < ev.nfields && ev.fields[id].kind != EQLITE_NULL;
    if (read != EQLITE_READ_FATAL) /* BAD: the field holds an object, which reads as missing */
        each(ctx, k, got ? &ev.fields[id] : NULL, NULL);
    eqlite_reader_close(rd);
    return read != EQLITE_READ_FATAL;
}

/* Calls each() for every --fields entry in order; the fields are read from
 * the event's text in one pass (ids = column numbers). False when out of
 * memory (some fields were not read). */
static bool project(const result_out *ro, const eqlite_event *ev, field_fn each, void *ctx)
{
    eng_text now = ev ? eng_text_now(ev->user) : (eng_text){0};
    const eng_text *t = ev ? &now : NULL;
    if (t && !t->text)
        return false; /* out of memory writing the text */
    eqlite_reader *rd = NULL;
    eqlite_event got = {0};
    bool whole = t && ro->nread, ok = true;
    if (whole) {
        rd = open_event(ro, t, NULL, 0);
        int read = rd ? eqlite_reader_next(rd, &got, NULL) : EQLITE_READ_FATAL;
        ok = read != EQLITE_READ_FATAL;
        whole = read == EQLITE_READ_EVENT;
    }
    for (size_t k = 0; ok && k < ro->nfields; k++) {
        uint32_t id = ro->fields[k].id;
        if (!t)
            each(ctx, k, NULL, NULL);
        else if (is_source(&ro->fields[k]))
            each(ctx, k, NULL, t);
        else if (whole)
            each(ctx, k, id < got.nfields && got.fields[id].kind != EQLITE_NULL ? &got.fields[id] : NULL, NULL);
        else
            ok = read_one(ro, t, k, each, ctx);
    }
    eqlite_reader_close(rd);
    return ok;
}

/* ---- JSON ---------------------------------------------------------------- */

typedef struct json_ctx {
    const result_out *ro;
    eq_strbuf *out;
} json_ctx;

static void json_member(void *user, size_t k, const eqlite_value *v, const eng_text *source)
{
    json_ctx *c = user;
    const ro_field *f = &c->ro->fields[k];
    if (k)
        eq_strbuf_char(c->out, ',');
    ob_json_string(c->out, f->name, f->len);
    eq_strbuf_char(c->out, ':');
    if (source)
        eq_strbuf_bytes(c->out, source->text, source->len);
    else if (v)
        ob_json_value(c->out, v);
    else
        eq_strbuf_str(c->out, "null");
}

/* An event: its text, or with --fields the object of the fields. */
static void json_event(const result_out *ro, eq_strbuf *out, const eqlite_event *ev)
{
    if (!ev) {
        eq_strbuf_str(out, "{\"missing\":true}");
        return;
    }
    if (!ro || !ro->fields) {
        eng_text t = eng_text_now(ev->user);
        if (t.text)
            eq_strbuf_bytes(out, t.text, t.len);
        else
            out->failed = true; /* out of memory writing the text */
        return;
    }
    json_ctx c = {ro, out};
    eq_strbuf_char(out, '{');
    if (!project(ro, ev, json_member, &c))
        out->failed = true; /* ob_write reports it */
    eq_strbuf_char(out, '}');
}

static void json_keys(eq_strbuf *out, const eng *dates_from, size_t rule_index, const eqlite_result *r)
{
    eq_strbuf_char(out, '[');
    for (size_t k = 0; k < r->nkeys; k++) {
        if (k)
            eq_strbuf_char(out, ',');
        if (dates_from)
            eng_write_key(dates_from, rule_index, k, &r->keys[k], out);
        else
            ob_json_value(out, &r->keys[k]);
    }
    eq_strbuf_char(out, ']');
}

static void json_result(eq_strbuf *out, const result_out *ro, const eng *dates_from, size_t rule_index,
                        const eng_rule *rule, const eqlite_result *r, bool wrap)
{
    bool single = rule->kind == 0 && r->nevents == 1;
    if (wrap) {
        eq_strbuf_str(out, "{\"rule_id\":");
        ob_json_string(out, rule->id, strlen(rule->id));
        eq_strbuf_str(out, ",\"rule_name\":");
        ob_json_string(out, rule->name, rule->name ? strlen(rule->name) : 0);
        eq_strbuf_str(out, single ? ",\"event\":" : ",");
    } else if (!single) {
        eq_strbuf_char(out, '{');
    }
    if (single) {
        json_event(ro, out, r->events[0]);
        if (wrap)
            eq_strbuf_char(out, '}');
        return;
    }
    eq_strbuf_str(out, "\"join_keys\":");
    json_keys(out, dates_from, rule_index, r);
    eq_strbuf_str(out, ",\"events\":[");
    for (size_t k = 0; k < r->nevents; k++) {
        if (k)
            eq_strbuf_char(out, ',');
        json_event(ro, out, r->events[k]);
    }
    eq_strbuf_str(out, "]}");
}

void ro_result_json(eq_strbuf *out, const eng *dates_from, size_t rule_index, const eng_rule *rule,
                    const eqlite_result *r)
{
    json_result(out, NULL, dates_from, rule_index, rule, r, true);
}

/* ---- csv and table rows ------------------------------------------------- */

/* The cells of one row, one after the other in text; ends[k] where cell k ends. */
typedef struct row {
    eq_strbuf text;
    size_t *ends;
    size_t n;
} row;

static void end_cell(row *w) { w->ends[w->n++] = w->text.len; }

static void add_cell(row *w, const char *s, size_t n)
{
    eq_strbuf_bytes(&w->text, s, n);
    end_cell(w);
}

static void value_cell(void *user, size_t k, const eqlite_value *v, const eng_text *source)
{
    (void)k;
    row *w = user;
    if (v && v->kind == EQLITE_ARRAY && v->len == 1) /* one value: itself, not a list of one */
        v = &v->u.a[0];
    if (source)
        eq_strbuf_bytes(&w->text, source->text, source->len);
    else if (v && v->kind == EQLITE_STRING)
        eq_strbuf_bytes(&w->text, v->u.s, v->len);
    else if (v)
        ob_json_value(&w->text, v);
    end_cell(w);
}

static void csv_cell(eq_strbuf *out, const char *s, size_t n)
{
    bool quote = false;
    for (size_t k = 0; k < n && !quote; k++)
        quote = s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n';
    if (!quote) {
        eq_strbuf_bytes(out, s, n);
        return;
    }
    eq_strbuf_char(out, '"');
    for (size_t k = 0; k < n; k++) {
        if (s[k] == '"')
            eq_strbuf_char(out, '"');
        eq_strbuf_char(out, s[k]);
    }
    eq_strbuf_char(out, '"');
}

static void write_row(result_out *ro, eq_strbuf *out, const row *w)
{
    const char **cells = calloc(w->n + 1, sizeof *cells);
    size_t *lens = calloc(w->n + 1, sizeof *lens);
    if (!cells || !lens) {
        out->failed = true; /* ob_write reports it */
        w = NULL;
    }
    for (size_t k = 0; w && k < w->n; k++) {
        size_t start = k ? w->ends[k - 1] : 0;
        cells[k] = w->text.data ? w->text.data + start : "";
        lens[k] = w->ends[k] - start;
    }
    if (w && ro->format == RO_TABLE) {
        tt_row(&ro->table, out, cells, lens);
    } else if (w) {
        for (size_t k = 0; k < w->n; k++) {
            if (k)
                eq_strbuf_char(out, ',');
            csv_cell(out, cells[k], lens[k]);
        }
        eq_strbuf_char(out, '\n');
    }
    free(cells);
    free(lens);
}

static int write_rows(result_out *ro, eq_strbuf *out, size_t rule_index, const eqlite_result *r)
{
    const eng_rule *rule = &ro->e->rules[rule_index];
    row w = {{0}, calloc(ro->ncols, sizeof *w.ends), 0};
    if (!w.ends) {
        out->failed = true; /* ob_write reports it */
        return 1;
    }
    for (size_t k = 0; k < r->nevents; k++) {
        w.text.len = w.n = 0;
        if (ro->wrap) {
            add_cell(&w, rule->id, strlen(rule->id));
            add_cell(&w, rule->name, rule->name ? strlen(rule->name) : 0);
        }
        if (ro->sequences) {
            char pos[24];
            add_cell(&w, pos, (size_t)snprintf(pos, sizeof pos, "%zu", k + 1));
            if (rule->kind != 0)
                json_keys(&w.text, ro->e, rule_index, r);
            end_cell(&w);
        }
        if (!project(ro, r->events[k], value_cell, &w))
            out->failed = true; /* ob_write reports it */
        while (w.n < ro->ncols) /* a row is whole even then */
            end_cell(&w);
        if (w.text.failed)
            out->failed = true;
        write_row(ro, out, &w);
    }
    eq_strbuf_free(&w.text);
    free(w.ends);
    return 0;
}

/* ---- the writer ----------------------------------------------------------- */

int ro_write(void *user, eq_strbuf *out, size_t rule, const eqlite_result *r)
{
    result_out *ro = user;
    if (ro->discard)
        return 1;
    switch (ro->format) {
    case RO_CSV:
    case RO_TABLE: return write_rows(ro, out, rule, r);
    case RO_JSON:
        eq_strbuf_str(out, ro->first ? "\n" : ",\n");
        ro->first = false;
        json_result(out, ro, ro->e, rule, &ro->e->rules[rule], r, ro->wrap);
        return 0;
    case RO_NDJSON:
        json_result(out, ro, ro->e, rule, &ro->e->rules[rule], r, ro->wrap);
        eq_strbuf_char(out, '\n');
        return 0;
    }
    return 0;
}

/* Splits "a.b,c.d" into ro->fields (ids = positions). */
static int split_fields(result_out *ro, const char *text)
{
    if (!(ro->field_text = strdup(text)))
        return eng_out_of_memory("reading --fields");
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    if (!(ro->fields = calloc(n, sizeof *ro->fields)) || eqlite_schema_new(NULL, &ro->schema) != EQLITE_OK)
        return eng_out_of_memory("reading --fields");
    for (char *p = ro->field_text;; p++) {
        char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!len) {
            fprintf(stderr, "eqlite query: --fields: an empty field name in [%s]\n", text);
            return 2;
        }
        ro_field *f = &ro->fields[ro->nfields++];
        *f = (ro_field){p, len, UINT32_MAX};
        if (!is_source(f)) {
            if (eqlite_schema_add(ro->schema, p, len, EQLITE_T_UNKNOWN, &f->id) != EQLITE_OK)
                return eng_out_of_memory("reading --fields");
            ro->nread++;
        }
        if (!comma)
            return 0;
        *comma = 0;
        p = comma;
    }
}

int ro_init(result_out *ro, const eng *e, ro_format format, bool wrap, const char *fields)
{
    memset(ro, 0, sizeof *ro);
    ro->e = e;
    ro->format = format;
    ro->wrap = wrap;
    ro->first = true;
    for (size_t k = 0; k < e->nrules; k++)
        ro->sequences |= e->rules[k].kind != 0;
    char defaults[1024];
    if (!fields && (format == RO_CSV || format == RO_TABLE)) {
        const char *ts = e->opt.timestamp_field ? e->opt.timestamp_field : "@timestamp";
        const char *cat = e->opt.category_field ? e->opt.category_field : "event.category";
        snprintf(defaults, sizeof defaults, "%s%s%s," SOURCE_FIELD, ts, *ts ? "," : "", cat);
        fields = defaults;
    }
    int status = fields ? split_fields(ro, fields) : 0;
    ro->ncols = (wrap ? 2 : 0) + (ro->sequences ? 2 : 0) + ro->nfields;
    if (status == 0 && format == RO_TABLE && !tt_init(&ro->table, ro->ncols, TABLE_CELL_WIDTH, TABLE_HOLD))
        status = eng_out_of_memory("starting the table");
    return status;
}

void ro_begin(result_out *ro, eq_strbuf *out)
{
    if (ro->format == RO_JSON)
        eq_strbuf_char(out, '[');
    if (ro->format != RO_CSV && ro->format != RO_TABLE)
        return;
    row w = {{0}, calloc(ro->ncols, sizeof *w.ends), 0};
    if (!w.ends) {
        out->failed = true;
        return;
    }
    if (ro->wrap) {
        add_cell(&w, "rule_id", 7);
        add_cell(&w, "rule_name", 9);
    }
    if (ro->sequences) {
        add_cell(&w, "position", 8);
        add_cell(&w, "join_keys", 9);
    }
    for (size_t k = 0; k < ro->nfields; k++)
        add_cell(&w, ro->fields[k].name, ro->fields[k].len);
    if (w.text.failed)
        out->failed = true; /* ob_write reports it */
    write_row(ro, out, &w);
    eq_strbuf_free(&w.text);
    free(w.ends);
}

void ro_end(result_out *ro, eq_strbuf *out)
{
    if (ro->format == RO_JSON)
        eq_strbuf_str(out, ro->first ? "]\n" : "\n]\n");
    else if (ro->format == RO_TABLE)
        tt_flush(&ro->table, out);
}

void ro_free(result_out *ro)
{
    free(ro->field_text);
    free(ro->fields);
    eqlite_schema_free(ro->schema);
    tt_free(&ro->table);
}
