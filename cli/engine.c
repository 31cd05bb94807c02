/* engine.c: schema, rules, projection, and the streaming run. */
#define _DEFAULT_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "ndjson/mapping.h"
#include "program.h" /* npipes: head/tail change what a parallel run may do */

static const char *or_default(const char *s, const char *def) { return s ? s : def; }

/* A date field's mapping format, kept for the reader; a field mapped with
 * different formats by several mappings tries each ("a||b"), since merged
 * mappings no longer say which file an event came from. */
static void note_format(void *user, const char *field, const char *format)
{
    eng *e = user;
    uint32_t id;
    if (!*format || eqlite_schema_lookup(e->schema, field, strlen(field), &id) != EQLITE_OK)
        return;
    if (id >= e->nformats) {
        char **grown = realloc(e->formats, (id + 1) * sizeof *grown);
        if (!grown)
            return;
        memset(grown + e->nformats, 0, (id + 1 - e->nformats) * sizeof *grown);
        e->formats = grown;
        e->nformats = id + 1;
    }
    char *old = e->formats[id];
    if (old) { /* already there as one of the alternatives? */
        size_t n = strlen(format);
        for (const char *p = old; (p = strstr(p, format)) != NULL; p += n)
            if ((p == old || (p >= old + 2 && p[-1] == '|' && p[-2] == '|')) && (p[n] == 0 || p[n] == '|'))
                return;
    }
    size_t len = (old ? strlen(old) + 2 : 0) + strlen(format) + 1;
    char *joined = malloc(len);
    if (!joined)
        return;
    snprintf(joined, len, "%s%s%s", old ? old : "", old ? "||" : "", format);
    free(old);
    e->formats[id] = joined;
}

static int load_mapping(eng *e, const char *path)
{
    size_t len;
    char *json = cli_read_file(path, &len);
    if (!json) {
        fprintf(stderr, "eqlite: cannot read mapping %s: %s\n", path, strerror(errno));
        return 2;
    }
    char err[256] = "";
    eqlite_status st = eq_mapping_load(e->schema, json, len, err, sizeof err, note_format, e);
    free(json);
    if (st != EQLITE_OK) {
        fprintf(stderr, "%s: bad mapping: %s\n", path, err[0] ? err : eqlite_strerror(st));
        return 2;
    }
    return 0;
}

int eng_init(eng *e, const eng_options *opt)
{
    memset(e, 0, sizeof *e);
    e->opt = *opt;
    if (eqlite_schema_new(NULL, &e->schema) != EQLITE_OK)
        return 2;
    /* Fields a mapping does not name are typed from their values, as
     * Elasticsearch's dynamic mapping would for fields in the data. */
    eqlite_schema_set_grow(e->schema, 1);
    for (size_t k = 0; k < opt->nmappings; k++)
        if (load_mapping(e, opt->mappings[k]))
            return 2;
    const char *cat = or_default(opt->category_field, "event.category");
    const char *ts = or_default(opt->timestamp_field, "@timestamp");
    uint32_t id;
    if (eqlite_schema_lookup(e->schema, cat, strlen(cat), &id) != EQLITE_OK)
        eqlite_schema_add(e->schema, cat, strlen(cat), EQLITE_T_UNKNOWN, &id);
    eqlite_schema_set_category_field(e->schema, cat, strlen(cat));
    e->category_id = id;
    if (*ts)
        eqlite_schema_set_timestamp_field(e->schema, ts, strlen(ts));
    if (opt->tiebreaker_field && *opt->tiebreaker_field)
        eqlite_schema_set_tiebreaker_field(e->schema, opt->tiebreaker_field, strlen(opt->tiebreaker_field));
    return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void report_diag(const char *origin, const cli_rule *r, const eqlite_diag *d)
{
    char where[4200];
    eqlite_diag shifted = *d;
    if (r->record) {
        snprintf(where, sizeof where, "%s:%zu: rule%s%s%s", origin, r->line, r->name ? " [" : "",
                 r->name ? r->name : "", r->name ? "]" : "");
    } else {
        snprintf(where, sizeof where, "%s", origin);
        shifted.line = d->line + (unsigned)r->line - 1; /* rules after the first in a .eql file */
    }
    cli_print_diag(where, &shifted, r->text, r->len);
}

static bool push_rule(eng *e, eqlite_program *prog, const cli_rule *r, const char *origin)
{
    eng_rule *items = realloc(e->rules, (e->nrules + 1) * sizeof *items);
    if (!items)
        return false;
    e->rules = items;
    eng_rule *out = &e->rules[e->nrules++];
    char fallback[4200];
    snprintf(fallback, sizeof fallback, "%s:%zu", origin, r->line);
    out->prog = prog;
    out->id = strdup(r->id ? r->id : fallback);
    out->name = dup_or_null(r->name);
    out->kind = eqlite_program_kind(prog);
    out->category = out->kind == 0 ? prog->category : NULL;
    out->catlen = out->category ? strlen(out->category) : 0;
    e->ordered |= out->kind != 0;
    e->has_pipes |= prog->npipes > 0;
    for (uint32_t k = 0; k < prog->npipes; k++) /* tail results name events long gone: keep the text */
        e->ordered |= prog->pipes[k].tail;
    return true;
}

int eng_add_rules(eng *e, const cli_rules *rules, const char *dir_or_file)
{
    int status = 0;
    for (size_t k = 0; k < rules->n; k++) {
        const cli_rule *r = &rules->items[k];
        const char *origin = r->file ? r->file : dir_or_file;
        eqlite_program *prog = NULL;
        eqlite_diag d;
        if (eqlite_compile(e->schema, r->text, r->len, &prog, &d) != EQLITE_OK) {
            report_diag(origin, r, &d);
            status = 1;
            continue;
        }
        if (!push_rule(e, prog, r, origin)) {
            eqlite_program_free(prog);
            return 2;
        }
    }
    return status;
}

/* The union of the field ids the rules read, as reader field names. */
int eng_prepare(eng *e)
{
    size_t nschema = eqlite_schema_field_count(e->schema);
    bool *used = calloc(nschema + 1, 1);
    if (!used)
        return 2;
    for (size_t k = 0; k < e->nrules; k++) {
        size_t n;
        const uint32_t *ids = eqlite_program_fields(e->rules[k].prog, &n);
        for (size_t j = 0; j < n; j++)
            if (ids[j] < nschema)
                used[ids[j]] = true;
    }
    e->fields = calloc(nschema + 1, sizeof *e->fields);
    e->conv = calloc(nschema + 1, sizeof *e->conv);
    for (uint32_t id = 0; e->fields && e->conv && id < nschema; id++) {
        eqlite_type type = EQLITE_T_UNKNOWN;
        const char *name = used[id] ? eqlite_schema_field_name(e->schema, id, &type) : NULL;
        if (!name)
            continue;
        /* Elasticsearch converts _source values to the mapped type at index
         * time; fields typed only by grow mode (no mapping) stay as read. */
        e->conv[e->nfields] = (eq_ndjson_conv){(uint32_t)type, id < e->nformats ? e->formats[id] : NULL};
        e->fields[e->nfields++] = (eq_ndjson_field){name, strlen(name), id};
    }
    free(used);
    return e->fields && e->conv ? 0 : 2;
}

void eng_reader_options(const eng *e, eq_ndjson_options *o, const char *display_name)
{
    memset(o, 0, sizeof *o);
    o->fields = e->fields;
    o->conv = e->conv;
    o->nfields = e->nfields;
    const char *ts = or_default(e->opt.timestamp_field, "@timestamp");
    uint32_t id;
    if (*ts) {
        o->timestamp_field = ts;
        o->timestamp_len = strlen(ts);
        if (eqlite_schema_lookup(e->schema, ts, strlen(ts), &id) == EQLITE_OK && id < e->nformats)
            o->timestamp_format = e->formats[id];
    }
    if (e->opt.tiebreaker_field && *e->opt.tiebreaker_field) {
        o->tiebreaker_field = e->opt.tiebreaker_field;
        o->tiebreaker_len = strlen(e->opt.tiebreaker_field);
    }
    o->display_name = display_name;
}

void eng_report_bad(eng *e, const char *file, uint64_t line, const char *reason)
{
    e->totals.bad++;
    if (!e->opt.quiet_bad)
        fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
}

/* ---- one matcher per rule ---------------------------------------------- */

typedef struct rule_ctx {
    eng_runner *runner;
    size_t rule;
} rule_ctx;

struct eng_runner {
    eng *e;
    eqlite_matcher **m;
    rule_ctx *ctx;
    outbuf *out;
    uint64_t matches;
    bool stopped;
};

eng_runner *eng_runner_new(eng *e, outbuf *out)
{
    eng_runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->e = e;
    r->out = out;
    r->m = calloc(e->nrules + 1, sizeof *r->m);
    r->ctx = calloc(e->nrules + 1, sizeof *r->ctx);
    bool ok = r->m && r->ctx;
    for (size_t k = 0; ok && k < e->nrules; k++) {
        r->ctx[k] = (rule_ctx){r, k};
        ok = eqlite_matcher_new(e->rules[k].prog, &e->opt.limits, &r->m[k]) == EQLITE_OK;
    }
    if (!ok) {
        eng_runner_free(r);
        return NULL;
    }
    return r;
}

void eng_runner_free(eng_runner *r)
{
    if (!r)
        return;
    for (size_t k = 0; r->m && k < r->e->nrules; k++)
        eqlite_matcher_free(r->m[k]);
    free(r->m);
    free(r->ctx);
    free(r);
}

static int on_result(void *user, const eqlite_result *res)
{
    rule_ctx *c = user;
    eng_runner *r = c->runner;
    r->matches++;
    if (r->e->sink && r->e->sink(r->e->sink_user, r->out, c->rule, res)) {
        r->stopped = true;
        return 1;
    }
    return 0;
}

static int engine_error(eng_runner *r, size_t rule, eqlite_status st)
{
    fprintf(stderr, "eqlite: rule %s: %s\n", r->e->rules[rule].id, eqlite_strerror(st));
    return 2;
}

static bool same_category(const eng_rule *rule, const eqlite_value *v)
{
    return v->kind == EQLITE_STRING && v->len == rule->catlen && memcmp(v->u.s, rule->category, v->len) == 0;
}

/* The category test every event query starts with (an exact string compare,
 * any element of an array), done here so that a rule set skips the rules of
 * other categories without entering the VM. */
static bool may_match(const eng *e, const eng_rule *rule, const eqlite_event *ev)
{
    if (!rule->category)
        return true;
    if (e->category_id >= ev->nfields)
        return false;
    const eqlite_value *v = &ev->fields[e->category_id];
    if (v->kind == EQLITE_ARRAY) {
        for (uint32_t k = 0; k < v->len; k++)
            if (same_category(rule, &v->u.a[k]))
                return true;
        return false;
    }
    return same_category(rule, v);
}

int eng_runner_feed(eng_runner *r, const eqlite_event *ev, const eq_ndjson_record *rec)
{
    bool many = r->e->nrules > 1;
    for (size_t k = 0; k < r->e->nrules && !r->stopped; k++) {
        if (many && !may_match(r->e, &r->e->rules[k], ev))
            continue;
        eqlite_status st = eqlite_feed(r->m[k], ev, on_result, &r->ctx[k]);
        if (st == EQLITE_EORDER) {
            r->e->totals.out_of_order++;
            eng_report_bad(r->e, rec->file, rec->line, "event out of (timestamp, tiebreaker) order");
        } else if (st != EQLITE_OK) {
            return engine_error(r, k, st);
        }
    }
    return 0;
}

int eng_runner_flush(eng_runner *r)
{
    for (size_t k = 0; k < r->e->nrules && !r->stopped; k++) {
        eqlite_status st = eqlite_flush(r->m[k], on_result, &r->ctx[k]);
        if (st != EQLITE_OK)
            return engine_error(r, k, st);
    }
    return 0;
}

void eng_runner_set_out(eng_runner *r, outbuf *out) { r->out = out; }

bool eng_runner_stopped(const eng_runner *r) { return r->stopped; }
uint64_t eng_runner_matches(const eng_runner *r) { return r->matches; }

/* ---- streaming --------------------------------------------------------- */

static int stream_reader(eng *e, eng_runner *r, eq_ndjson *rd)
{
    eqlite_event ev;
    eq_ndjson_record rec;
    eq_ndjson_stats st;
    uint64_t bytes_before = e->totals.bytes;
    int status = 0;
    for (;;) {
        int k = eq_ndjson_next(rd, &ev, &rec);
        if (k == EQ_NDJSON_EOF)
            break;
        if (k == EQ_NDJSON_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            status = 2;
            break;
        }
        if (k == EQ_NDJSON_BAD) {
            eng_report_bad(e, rec.file, rec.line, rec.reason);
            if (e->opt.strict) {
                status = 2;
                break;
            }
            continue;
        }
        eng_text text = {rec.text, rec.len};
        ev.user = &text;
        e->totals.events++;
        if ((status = eng_runner_feed(r, &ev, &rec)) != 0 || eng_runner_stopped(r))
            break;
        if (e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd)) {
            fprintf(stderr, "eqlite: cannot write results\n");
            status = 2;
            break;
        }
        if ((e->totals.events & 0x7fff) == 0 && e->tick) {
            eq_ndjson_stats_get(rd, &st);
            e->totals.bytes = bytes_before + st.bytes_out;
            e->totals.matches = eng_runner_matches(r);
            e->tick(e->tick_user, &e->totals);
        }
    }
    eq_ndjson_stats_get(rd, &st);
    e->totals.bytes = bytes_before + st.bytes_out;
    return status;
}

static int stream_path(eng *e, eng_runner *r, const char *path)
{
    eq_ndjson_options o;
    eng_reader_options(e, &o, NULL);
    eq_ndjson *rd;
    char err[512];
    if (eq_ndjson_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: cannot read %s: %s\n", path, err);
        return 2;
    }
    int status = stream_reader(e, r, rd);
    eq_ndjson_close(rd);
    return status;
}

int eng_run(eng *e, char *const *paths, size_t npaths, int jobs)
{
    if (e->ordered)
        return eng_run_ordered(e, paths, npaths);
    eng_runner *r = NULL;
    int status = 0;
    for (size_t k = 0; k < npaths && status == 0 && !e->stopped; k++) {
        /* Plain files are mapped and read in chunks (no read(2) copy), in
         * parallel with -j; only where no result depends on other chunks. */
        if (!e->has_pipes && e->opt.limits.size == 0 && eng_can_split(paths[k])) {
            status = eng_run_parallel(e, paths[k], jobs);
            continue;
        }
        if (!r && !(r = eng_runner_new(e, e->out)))
            return 2;
        status = stream_path(e, r, paths[k]);
        e->stopped = eng_runner_stopped(r);
    }
    if (r) {
        if (status == 0)
            status = eng_runner_flush(r);
        e->totals.matches += eng_runner_matches(r);
    }
    eng_runner_free(r);
    return status;
}

int eng_run_memory(eng *e, const char *data, size_t len, const char *display_name)
{
    if (e->ordered) {
        return eng_run_ordered_memory(e, data, len, display_name);
    }
    eq_ndjson_options o;
    eng_reader_options(e, &o, display_name);
    eq_ndjson *rd;
    char err[512];
    if (eq_ndjson_open_memory(data, len, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s: %s\n", display_name, err);
        return 2;
    }
    eng_runner *r = eng_runner_new(e, e->out);
    int status = r ? stream_reader(e, r, rd) : 2;
    if (r && status == 0)
        status = eng_runner_flush(r);
    if (r)
        e->totals.matches += eng_runner_matches(r);
    eng_runner_free(r);
    eq_ndjson_close(rd);
    return status;
}

void eng_free(eng *e)
{
    for (size_t k = 0; k < e->nrules; k++) {
        eqlite_program_free(e->rules[k].prog);
        free(e->rules[k].id);
        free(e->rules[k].name);
    }
    free(e->rules);
    free(e->fields);
    free(e->conv);
    for (size_t k = 0; k < e->nformats; k++)
        free(e->formats[k]);
    free(e->formats);
    eqlite_schema_free(e->schema);
    memset(e, 0, sizeof *e);
}
