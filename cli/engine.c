/* engine.c: schema, rules, projection, and the streaming run. */
#define _DEFAULT_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "io/mapping.h"
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
        if (!grown) {
            e->out_of_memory = true; /* a lost format would convert dates wrongly */
            return;
        }
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
    if (!joined) {
        e->out_of_memory = true;
        return;
    }
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
    if (st == EQLITE_OK && e->out_of_memory)
        return eng_out_of_memory("loading a mapping");
    if (st != EQLITE_OK) {
        fprintf(stderr, "%s: bad mapping: %s\n", path, err[0] ? err : eqlite_strerror(st));
        return 2;
    }
    return 0;
}

/* The source profiles: the built-in ones, --profile files, --source. */
static int load_profiles(eng *e)
{
    const char *source = or_default(e->opt.source, "auto");
    e->source = EQ_NDJSON_SOURCE_AUTO;
    if (!strcmp(source, "none"))
        return 0;
    char err[512];
    if (eq_profiles_new(&e->profiles, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s\n", err);
        return 2;
    }
    for (size_t k = 0; k < e->opt.nprofile_files; k++) {
        size_t len;
        char *text = cli_read_file(e->opt.profile_files[k], &len);
        if (!text) {
            fprintf(stderr, "eqlite: cannot read profile %s: %s\n", e->opt.profile_files[k], strerror(errno));
            return 2;
        }
        eqlite_status st = eq_profiles_add(e->profiles, text, len, e->opt.profile_files[k], err, sizeof err);
        free(text);
        if (st != EQLITE_OK) {
            fprintf(stderr, "eqlite: %s\n", err);
            return 2;
        }
    }
    if (strcmp(source, "auto") != 0 && (e->source = eq_profiles_find(e->profiles, source, strlen(source))) < 0) {
        fprintf(stderr, "eqlite: unknown source '%s' (known:", source);
        for (size_t k = 0; k < eq_profiles_count(e->profiles); k++)
            fprintf(stderr, " %s", eq_profiles_name(e->profiles, k));
        fprintf(stderr, ", auto, none)\n");
        return 2;
    }
    return 0;
}

int eng_init(eng *e, const eng_options *opt)
{
    memset(e, 0, sizeof *e);
    e->opt = *opt;
    if (eqlite_schema_new(NULL, &e->schema) != EQLITE_OK)
        return eng_out_of_memory("creating the schema");
    /* Fields a mapping does not name are typed from their values, as
     * Elasticsearch's dynamic mapping would for fields in the data. */
    eqlite_schema_set_grow(e->schema, 1);
    if (load_profiles(e))
        return 2;
    /* ECS types first: a mapping overrides them. */
    if (!opt->no_ecs && eqlite_schema_load_ecs(e->schema) != EQLITE_OK)
        return eng_out_of_memory("loading the ECS field types");
    for (size_t k = 0; k < opt->nmappings; k++)
        if (load_mapping(e, opt->mappings[k]))
            return 2;
    const char *cat = or_default(opt->category_field, "event.category");
    const char *ts = or_default(opt->timestamp_field, "@timestamp");
    uint32_t id;
    eqlite_status st = EQLITE_OK;
    if (eqlite_schema_lookup(e->schema, cat, strlen(cat), &id) != EQLITE_OK)
        st = eqlite_schema_add(e->schema, cat, strlen(cat), EQLITE_T_UNKNOWN, &id);
    if (st == EQLITE_OK)
        st = eqlite_schema_set_category_field(e->schema, cat, strlen(cat));
    e->category_id = id;
    if (st == EQLITE_OK && *ts)
        st = eqlite_schema_set_timestamp_field(e->schema, ts, strlen(ts));
    if (st == EQLITE_OK && opt->tiebreaker_field && *opt->tiebreaker_field)
        st = eqlite_schema_set_tiebreaker_field(e->schema, opt->tiebreaker_field, strlen(opt->tiebreaker_field));
    if (st == EQLITE_OK)
        st = eqlite_ruleset_new(e->schema, &e->rs);
    if (st == EQLITE_ENOMEM)
        return eng_out_of_memory("setting up the schema");
    if (st != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s\n", eqlite_strerror(st));
        return 2;
    }
    return 0;
}

int eng_out_of_memory(const char *what)
{
    fprintf(stderr, "eqlite: out of memory %s\n", what);
    return 2;
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

static bool push_rule(eng *e, const eqlite_program *prog, const cli_rule *r, const char *origin)
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
    if (!out->id || (r->name && !out->name))
        return false; /* eng_free frees what was copied */
    out->kind = eqlite_program_kind(prog);
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
        eqlite_diag d;
        eqlite_status st = eqlite_ruleset_add(e->rs, r->text, r->len, r->name, r->id, &d);
        if (st == EQLITE_ENOMEM || st == EQLITE_EMISUSE) {
            fprintf(stderr, "eqlite: %s\n", eqlite_strerror(st));
            return 2;
        }
        if (st != EQLITE_OK) {
            report_diag(origin, r, &d);
            status = 1;
            continue;
        }
        eqlite_rule_info info;
        if (eqlite_ruleset_rule(e->rs, eqlite_ruleset_count(e->rs) - 1, &info) != EQLITE_OK ||
            !push_rule(e, info.program, r, origin))
            return eng_out_of_memory("loading the rules");
    }
    return status;
}

/* The union of the field ids the rules read, as reader field names. */
int eng_prepare(eng *e)
{
    eqlite_status st = eqlite_ruleset_finish(e->rs);
    if (st != EQLITE_OK) {
        fprintf(stderr, "eqlite: indexing the rules: %s\n", eqlite_strerror(st));
        return 2;
    }
    size_t nschema = eqlite_schema_field_count(e->schema);
    bool *used = calloc(nschema + 1, 1);
    if (!used)
        return eng_out_of_memory("preparing the projection");
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
    return e->fields && e->conv ? 0 : eng_out_of_memory("preparing the projection");
}

void eng_print_sources(const eng *e, FILE *f)
{
    if (!e->profiles)
        return;
    uint64_t counts[64] = {0};
    size_t n = eq_profiles_counts(e->profiles, counts, 64);
    fprintf(f, "sources:");
    for (size_t k = 0; k < n && k < 64; k++)
        if (counts[k] || k + 1 == n)
            fprintf(f, " %s %llu", k + 1 < n ? eq_profiles_name(e->profiles, k) : "unknown-shape",
                    (unsigned long long)counts[k]);
    fputc('\n', f);
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
    o->profiles = e->profiles;
    o->source = e->source;
}

void eng_report_bad(eng *e, const char *file, uint64_t line, const char *reason)
{
    e->totals.bad++;
    if (!e->opt.quiet_bad)
    {
        if (line) /* EVTX records name their record number in the reason */
            fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
        else
            fprintf(stderr, "%s: %s\n", file, reason);
    }
}

/* ---- running the rules ------------------------------------------------- */

struct eng_runner {
    eng *e;
    eqlite_scanner *sc;   /* several rules */
    eqlite_matcher *one;  /* a single rule */
    uint64_t *emitted;    /* per rule: results so far (--size for event queries of a ruleset) */
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
    bool ok;
    if (e->nrules == 1) {
        ok = eqlite_matcher_new(e->rules[0].prog, &e->opt.limits, &r->one) == EQLITE_OK;
    } else {
        ok = eqlite_scanner_new(e->rs, &e->opt.limits, &r->sc) == EQLITE_OK &&
             (r->emitted = calloc(e->nrules + 1, sizeof *r->emitted)) != NULL;
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
    eqlite_scanner_free(r->sc);
    eqlite_matcher_free(r->one);
    free(r->emitted);
    free(r);
}

static int emit(eng_runner *r, size_t rule, const eqlite_result *res)
{
    r->matches++;
    if (r->e->sink && r->e->sink(r->e->sink_user, r->out, rule, res)) {
        r->stopped = true;
        return 1;
    }
    return 0;
}

static int on_result(void *user, const eqlite_result *res) { return emit(user, 0, res); }

/* The scanner applies the limits to sequences and samples; --size of an
 * event query is counted here, per rule, as a matcher of its own would. */
static int on_rule_result(void *user, const eqlite_rule_info *rule, const eqlite_result *res)
{
    eng_runner *r = user;
    const eng *e = r->e;
    if (e->opt.limits.size && e->rules[rule->index].kind == 0 && !e->rules[rule->index].prog->npipes &&
        r->emitted[rule->index]++ >= e->opt.limits.size)
        return 0;
    return emit(r, rule->index, res);
}

/* A rule that cannot be evaluated stops the run (exit 2), as Elasticsearch
 * fails the search, rather than go on with a silent "no match". */
static int engine_error(eng_runner *r, eqlite_status st, const eq_ndjson_record *rec)
{
    const char *why = st == EQLITE_ELIMIT ? " (a regex too costly for this value, or a state limit)" : "";
    if (rec)
        fprintf(stderr, "%s:%llu: ", rec->file, (unsigned long long)rec->line);
    else
        fprintf(stderr, "eqlite: ");
    if (r->one)
        fprintf(stderr, "rule %s: cannot evaluate: %s%s\n", r->e->rules[0].id, eqlite_strerror(st), why);
    else
        fprintf(stderr, "cannot evaluate the rules: %s%s\n", eqlite_strerror(st), why);
    return 2;
}

int eng_runner_feed(eng_runner *r, const eqlite_event *ev, const eq_ndjson_record *rec)
{
    if (r->stopped)
        return 0;
    eqlite_status st = r->one ? eqlite_feed(r->one, ev, on_result, r) : eqlite_ruleset_match(r->sc, ev, on_rule_result, r);
    if (st == EQLITE_EORDER) {
        r->e->totals.out_of_order++;
        eng_report_bad(r->e, rec->file, rec->line, "event out of (timestamp, tiebreaker) order");
    } else if (st != EQLITE_OK) {
        return engine_error(r, st, rec);
    }
    return 0;
}

int eng_runner_flush(eng_runner *r)
{
    if (r->stopped)
        return 0;
    eqlite_status st = r->one ? eqlite_flush(r->one, on_result, r) : eqlite_ruleset_flush(r->sc, on_rule_result, r);
    return st == EQLITE_OK ? 0 : engine_error(r, st, NULL);
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
            return eng_out_of_memory("starting the matchers");
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
    int status = r ? stream_reader(e, r, rd) : eng_out_of_memory("starting the matchers");
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
        free(e->rules[k].id);
        free(e->rules[k].name);
    }
    free(e->rules);
    eqlite_ruleset_free(e->rs);
    free(e->fields);
    free(e->conv);
    eq_profiles_free(e->profiles);
    for (size_t k = 0; k < e->nformats; k++)
        free(e->formats[k]);
    free(e->formats);
    eqlite_schema_free(e->schema);
    memset(e, 0, sizeof *e);
}
