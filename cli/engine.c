/* engine.c: schema, rules, projection, and the streaming run. */
#define _DEFAULT_SOURCE
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "reorder.h"

static const char *or_default(const char *s, const char *def) { return s ? s : def; }

static int load_mapping(eng *e, const char *path)
{
    size_t len;
    char *json = cli_read_file(path, &len);
    if (!json) {
        fprintf(stderr, "eqlite: cannot read mapping %s: %s\n", path, strerror(errno));
        return 2;
    }
    eqlite_diag diag;
    eqlite_status st = eqlite_mapping_load(e->mapping, e->schema, json, len, &diag);
    free(json);
    if (st == EQLITE_ENOMEM)
        return eng_out_of_memory("loading a mapping");
    if (st != EQLITE_OK) {
        fprintf(stderr, "%s: bad mapping: %s\n", path, diag.message[0] ? diag.message : eqlite_strerror(st));
        return 2;
    }
    return 0;
}

/* The source profiles: the built-in ones, --profile files, --source. */
static int load_profiles(eng *e)
{
    const char *source = or_default(e->opt.source, "auto");
    if (!strcmp(source, "none"))
        return 0;
    char err[512];
    if (eqlite_sources_new(&e->profiles, err, sizeof err) != EQLITE_OK) {
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
        eqlite_status st = eqlite_sources_add(e->profiles, text, len, e->opt.profile_files[k], err, sizeof err);
        free(text);
        if (st != EQLITE_OK) {
            fprintf(stderr, "eqlite: %s\n", err);
            return 2;
        }
    }
    size_t nknown = eqlite_sources_count(e->profiles), found = 0;
    while (found < nknown && strcmp(eqlite_sources_name(e->profiles, found), source) != 0)
        found++;
    if (strcmp(source, "auto") != 0 && found == nknown) {
        fprintf(stderr, "eqlite: unknown source '%s' (known:", source);
        for (size_t k = 0; k < nknown; k++)
            fprintf(stderr, " %s", eqlite_sources_name(e->profiles, k));
        fprintf(stderr, ", auto, none)\n");
        return 2;
    }
    return 0;
}

int eng_init(eng *e, const eng_options *opt)
{
    memset(e, 0, sizeof *e);
    e->opt = *opt;
    if (eqlite_schema_new(NULL, &e->schema) != EQLITE_OK || eqlite_mapping_new(&e->mapping) != EQLITE_OK)
        return eng_out_of_memory("creating the schema");
    /* Fields a mapping does not name are typed from their values, as
     * Elasticsearch's dynamic mapping would for fields in the data; a mapping
     * with "dynamic": "strict" or false stops that, and an unmapped field in
     * a rule is then "Unknown column [x], did you mean [y]?". */
    eqlite_schema_set_grow(e->schema, 1);
    if (load_profiles(e))
        return 2;
    /* Mappings first, then the ECS types for the fields they leave out (the
     * schema keeps a field's first type or alias, so a mapping overrides
     * ECS). A strict mapping is the whole index: no ECS fields are added. */
    for (size_t k = 0; k < opt->nmappings; k++)
        if (load_mapping(e, opt->mappings[k]))
            return 2;
    if (!opt->no_ecs && eqlite_schema_grows(e->schema) && eqlite_schema_load_ecs(e->schema) != EQLITE_OK)
        return eng_out_of_memory("loading the ECS field types");
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

/* An id-less rule is named by its file and line. The file is named relative to
 * the -r directory, or by its base name, so that `-r rules`, `-r ./rules` and
 * `-r /abs/rules` give the same ids (NATS alert ids are made from them). */
static const char *stable_origin(const char *origin, const char *root)
{
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        n--;
    if (strncmp(origin, root, n) == 0 && origin[n] == '/') {
        while (origin[n] == '/')
            n++;
        if (origin[n])
            return origin + n;
    }
    const char *slash = strrchr(origin, '/');
    return slash && slash[1] ? slash + 1 : origin;
}

static bool push_rule(eng *e, const eqlite_program *prog, const cli_rule *r, const char *origin, const char *root)
{
    eng_rule *items = realloc(e->rules, (e->nrules + 1) * sizeof *items);
    if (!items)
        return false;
    e->rules = items;
    eng_rule *out = &e->rules[e->nrules++];
    char fallback[4200];
    snprintf(fallback, sizeof fallback, "%s:%zu", stable_origin(origin, root), r->line);
    out->prog = prog;
    out->text = NULL; /* eng_free frees what was copied, whatever failed */
    out->id = strdup(r->id ? r->id : fallback);
    out->name = dup_or_null(r->name);
    if (!out->id || (r->name && !out->name))
        return false; /* eng_free frees what was copied */
    eqlite_program_info_get(prog, &out->info);
    out->kind = out->info.kind;
    out->plain = out->kind == 0 && out->info.npipes == 0;
    out->len = r->len;
    if (!(out->text = malloc(r->len + 1)))
        return false;
    memcpy(out->text, r->text, r->len);
    out->text[r->len] = 0;
    e->ordered |= out->kind != 0;
    e->has_pipes |= out->info.npipes > 0;
    /* head and tail take the first or last events by time, as Elasticsearch
     * does: an unsorted file is sorted for them (tail results also name
     * events long gone: keep the text) */
    e->ordered |= out->info.npipes > 0;
    return true;
}

/* With ECS or a mapping to compare with, a field that neither names is
 * typed from the data, as dynamic mapping does; say so once per field, in
 * Elasticsearch's words (compiling without growing gives its "Unknown column
 * [x], did you mean [y]?"), as a warning: rules also read integration fields. */
static int warn_unknown_fields(eng *e, const cli_rule *r, const char *origin)
{
    if (!eqlite_schema_grows(e->schema) || (e->opt.no_ecs && !e->opt.nmappings))
        return 0;
    static const char unknown[] = "Unknown column [";
    int status = 0;
    eqlite_schema_set_grow(e->schema, 0);
    for (int tries = 0; tries < 1000; tries++) {
        /* only the warnings shown need the suggestions (a comparison with
         * every schema name each); past them, the name is all it reads */
        eqlite_schema_set_suggestions(e->schema, e->unknown_fields < ENG_BAD_SHOWN);
        eqlite_program *prog = NULL;
        eqlite_diag d;
        eqlite_status st = eqlite_compile(e->schema, r->text, r->len, &prog, &d);
        eqlite_program_free(prog);
        if (st != EQLITE_ENOTFOUND || strncmp(d.message, unknown, sizeof unknown - 1))
            break; /* compiled, or an error the real compile reports */
        const char *name = d.message + sizeof unknown - 1, *end = strchr(name, ']');
        if (!end)
            break;
        if (++e->unknown_fields <= ENG_BAD_SHOWN) {
            eqlite_diag w = d;
            snprintf(w.message, sizeof w.message, "warning: %.400s (%s: typed from the data)", d.message,
                     e->opt.nmappings ? "not in the mapping or ECS" : "not in ECS");
            report_diag(origin, r, &w);
        }
        if (eqlite_schema_add(e->schema, name, (size_t)(end - name), EQLITE_T_UNKNOWN, NULL) != EQLITE_OK) {
            status = eng_out_of_memory("loading the rules");
            break;
        }
    }
    eqlite_schema_set_grow(e->schema, 1);
    eqlite_schema_set_suggestions(e->schema, 1);
    return status;
}

int eng_add_rules(eng *e, const cli_rules *rules, const char *dir_or_file)
{
    int status = 0;
    for (size_t k = 0; k < rules->n; k++) {
        const cli_rule *r = &rules->items[k];
        const char *origin = r->file ? r->file : dir_or_file;
        if (warn_unknown_fields(e, r, origin))
            return 2;
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
            !push_rule(e, info.program, r, origin, dir_or_file))
            return eng_out_of_memory("loading the rules");
    }
    return status;
}

/* The union of the field ids the rules read, as reader field names. */
int eng_prepare(eng *e)
{
    e->ordered |= e->opt.limits.size > 0; /* --size keeps the first results by time */
    if (e->unknown_fields > ENG_BAD_SHOWN)
        fprintf(stderr, "eqlite: warning: %zu more fields the rules read are not in %s (typed from the data)\n",
                e->unknown_fields - ENG_BAD_SHOWN, e->opt.nmappings ? "the mapping or ECS" : "ECS");
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
    for (uint32_t id = 0; e->fields && id < nschema; id++)
        if (used[id])
            e->fields[e->nfields++] = id;
    free(used);
    return e->fields ? 0 : eng_out_of_memory("preparing the projection");
}

/* The schema id of join key k (of the first stage that is not `![...]`),
 * or UINT32_MAX when it is not a plain field. */
static uint32_t key_field(const eng_rule *rule, size_t k)
{
    size_t stage = 0;
    unsigned flags = 0;
    uint32_t id;
    size_t nterms = rule->info.nstages - (size_t)rule->info.has_until;
    while (stage + 1 < nterms &&
           eqlite_program_stage_key(rule->prog, stage, k, NULL, &flags) != EQLITE_EMISUSE &&
           (flags & EQLITE_STAGE_MISSING))
        stage++;
    return eqlite_program_stage_key(rule->prog, stage, k, &id, NULL) == EQLITE_OK ? id : UINT32_MAX;
}

/* Sequence and sample keys come from the fields API, which renders a date
 * field with (the first of) its mapping's formats. */
void eng_write_key(const eng *e, size_t rule, size_t k, const eqlite_value *v, eq_strbuf *out)
{
    uint32_t id = key_field(&e->rules[rule], k);
    eqlite_type type = EQLITE_T_UNKNOWN;
    if (id != UINT32_MAX && v->kind == EQLITE_INT)
        eqlite_schema_field_name(e->schema, id, &type);
    char text[256];
    if (type == EQLITE_T_DATE &&
        eqlite_date_format(v->u.i, eqlite_mapping_date_format(e->mapping, id), text, sizeof text)) {
        ob_json_string(out, text, strlen(text));
        return;
    }
    ob_json_value(out, v);
}

void eng_print_sources(const eng *e, FILE *f)
{
    if (!e->profiles)
        return;
    size_t n = eqlite_sources_count(e->profiles) + 1; /* the last: no known shape */
    fprintf(f, "sources:");
    for (size_t k = 0; k < n; k++) {
        uint64_t count = eqlite_sources_record_count(e->profiles, k) - (k < ENG_MAX_SOURCES ? e->reread_sources[k] : 0);
        if (count || k + 1 == n)
            fprintf(f, " %s %llu", k + 1 < n ? eqlite_sources_name(e->profiles, k) : "unknown-shape",
                    (unsigned long long)count);
    }
    fputc('\n', f);
}

/* Records read by the order check or a sort's first pass are read again by
 * the run: the sources line counts each once. */
void eng_uncount_sources(eng *e, const eqlite_reader *rd)
{
    if (!e->profiles)
        return;
    size_t n = eqlite_sources_count(e->profiles) + 1;
    for (size_t k = 0; k < n && k < ENG_MAX_SOURCES; k++)
        e->reread_sources[k] += eqlite_reader_source_count(rd, k);
}

void eng_reader_options(const eng *e, eqlite_reader_options *o, const char *display_name)
{
    *o = (eqlite_reader_options){
        .schema = e->schema,
        .timestamp_field = or_default(e->opt.timestamp_field, "@timestamp"),
        .tiebreaker_field = e->opt.tiebreaker_field,
        .sources = e->profiles,
        .source = or_default(e->opt.source, "auto"),
        .display_name = display_name,
        .fields = e->fields,
        .nfields = e->nfields,
        .mapping = e->mapping,
        .lazy_text = 1, /* a converted record's ECS text only for results (eng_text_now) */
        .reject_malformed = e->opt.reject_malformed,
    };
}

void eng_order_reader_options(const eng *e, eqlite_reader_options *o, const char *display_name)
{
    static const uint32_t no_fields[1];
    eng_reader_options(e, o, display_name);
    o->fields = no_fields;
    o->nfields = 0;
}

/* Whether text[0..n) ends with suffix. */
static bool ends_with(const char *text, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(text + n - k, suffix, k);
}

/* The kind a reason belongs to: its text with the offending value elided
 * ("unparseable timestamp ... in field '@timestamp'" whatever the value was);
 * the last slot gathers kinds past the table. */
static eng_bad_kind *bad_kind(eng *e, const char *reason)
{
    char kind[sizeof e->bad_kinds[0].text];
    size_t n = 0;
    for (const char *p = reason; *p && n + 4 < sizeof kind;) {
        const char *skip_to = NULL;
        if (ends_with(kind, n, "convert "))
            skip_to = strstr(p, " to ");
        else if (ends_with(kind, n, "timestamp ") && (*p == '\'' || *p == '"'))
            skip_to = strchr(p + 1, *p) ? strchr(p + 1, *p) + 1 : NULL;
        if (skip_to) {
            memcpy(kind + n, "...", 3);
            n += 3;
            p = skip_to;
        } else {
            kind[n++] = *p++;
        }
    }
    kind[n] = '\0';
    for (size_t k = 0; k < e->nbad_kinds; k++)
        if (!strcmp(e->bad_kinds[k].text, kind))
            return &e->bad_kinds[k];
    if (e->nbad_kinds == ENG_BAD_KINDS)
        return &e->bad_kinds[ENG_BAD_KINDS - 1];
    eng_bad_kind *k = &e->bad_kinds[e->nbad_kinds++];
    memcpy(k->text, kind, n + 1);
    return k;
}

void eng_report_bad(eng *e, const char *file, uint64_t line, const char *reason)
{
    e->totals.bad++;
    if (e->opt.quiet_bad || ++bad_kind(e, reason)->count > ENG_BAD_SHOWN)
        return;
    if (line) /* EVTX records name their record number in the reason */
        fprintf(stderr, "%s:%llu: %s\n", file, (unsigned long long)line, reason);
    else
        fprintf(stderr, "%s: %s\n", file, reason);
}

void eng_report_bad_summary(eng *e)
{
    for (size_t k = 0; k < e->nbad_kinds; k++) {
        const eng_bad_kind *b = &e->bad_kinds[k];
        if (b->count > ENG_BAD_SHOWN)
            fprintf(stderr, "eqlite: %llu more like \"%s\" not shown (%llu in all)\n",
                    (unsigned long long)(b->count - ENG_BAD_SHOWN), b->text, (unsigned long long)b->count);
        if (!strncmp(b->text, "missing timestamp field", 23))
            fprintf(stderr, "eqlite: hint: %llu events lack the timestamp field; name the field that holds "
                            "the event time with --timestamp-field FIELD\n", (unsigned long long)b->count);
    }
}

/* ---- running the rules ------------------------------------------------- */

struct eng_runner {
    eng *e;
    eqlite_scanner *sc;   /* several rules */
    eqlite_matcher *one;  /* a single rule */
    uint64_t *emitted;    /* per rule: results so far (--size for event queries of a ruleset) */
    eq_strbuf *out;
    eq_strbuf *tags;         /* eng_tag per result, or NULL */
    uint32_t event;       /* the event the tags name */
    uint64_t matches;
    bool stopped;
    eng_line_of line_of; /* NULL: records carry their own lines */
    void *line_ctx;
    /* with e->rule_counts: ns[nown] and runs[nown] by this runner's rule
     * index (a side of the split has its own), then hits[e->nrules] */
    uint64_t *prof;
    size_t nown;
    eng_subset side; /* the rules it runs */
};

void eng_runner_set_lines(eng_runner *r, eng_line_of line_of, void *ctx)
{
    r->line_of = line_of;
    r->line_ctx = ctx;
}

uint64_t eng_count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    for (const char *end = p + n; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
        lines++;
    return lines;
}

/* ---- per-rule counts (--stats) ------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool start_rule_counts(eng_runner *r, size_t nown)
{
    r->nown = nown;
    if (!(r->prof = calloc(2 * nown + r->e->nrules, sizeof *r->prof)))
        return false;
    if (r->sc)
        eqlite_scanner_profile(r->sc, r->prof, r->prof + nown);
    return true;
}

/* Runners end on worker threads too: one lock for adding up. */
static pthread_mutex_t rule_counts_lock = PTHREAD_MUTEX_INITIALIZER;

static void add_rule_counts(const eng_runner *r)
{
    eng *e = r->e;
    if (!r->prof)
        return;
    pthread_mutex_lock(&rule_counts_lock);
    for (size_t k = 0; k < r->nown; k++) {
        e->rule_counts[k].ns += r->prof[k];
        e->rule_counts[k].runs += r->prof[r->nown + k];
    }
    for (size_t k = 0; k < e->nrules; k++)
        e->rule_counts[k].hits += r->prof[2 * r->nown + k];
    pthread_mutex_unlock(&rule_counts_lock);
}

int eng_split(eng *e)
{
    if (e->sides[0].rules)
        return 0;
    size_t words = (e->nrules + 63) / 64 + 1, nschema = eqlite_schema_field_count(e->schema);
    e->sides[0].rules = calloc(words, sizeof *e->sides[0].rules);
    e->sides[1].rules = calloc(words, sizeof *e->sides[1].rules);
    e->ordered_fields = calloc(nschema + 1, sizeof *e->ordered_fields);
    if (!e->sides[0].rules || !e->sides[1].rules || !e->ordered_fields)
        return eng_out_of_memory("splitting the rules");
    e->nordered_fields = nschema;
    for (size_t k = 0; k < e->nrules; k++) {
        const eng_rule *r = &e->rules[k];
        e->sides[r->plain ? 0 : 1].rules[k / 64] |= UINT64_C(1) << (k % 64);
        if (r->plain)
            continue;
        /* the timestamp and tiebreaker come with every copy; nothing else is needed */
        size_t n;
        const uint32_t *ids = eqlite_program_fields(r->prog, &n);
        for (size_t j = 0; j < n; j++)
            if (ids[j] < nschema)
                e->ordered_fields[ids[j]] = 1;
    }
    return 0;
}

void eng_runner_set_tags(eng_runner *r, eq_strbuf *tags, uint32_t event)
{
    r->tags = tags;
    r->event = event;
}

/* A sequence, sample or tail keeps an event past its feed, and the result
 * prints the event's text later: the kept copy gets its own copy of the text
 * (the reader's buffer moves on), freed with the last copy. */
static void *retain_text(void *ctx, const eqlite_event *ev)
{
    (void)ctx;
    eng_text t = ev->user ? eng_text_now(ev->user) : (eng_text){"", 0, NULL};
    if (!t.text)
        return NULL;
    eng_text *copy = malloc(sizeof *copy + t.len + 1);
    if (!copy)
        return NULL;
    char *text = (char *)(copy + 1);
    if (t.len)
        memcpy(text, t.text, t.len);
    *copy = (eng_text){text, t.len, NULL};
    return copy;
}

eng_text eng_text_now(const eng_text *t)
{
    eng_text now = {t->text, t->len, NULL};
    if (!now.text && t->reader && eqlite_reader_text(t->reader, &now.text, &now.len) != EQLITE_OK)
        now = (eng_text){NULL, 0, NULL};
    return now;
}

static void release_text(void *ctx, void *user)
{
    (void)ctx;
    free(user);
}

eng_runner *eng_runner_new(eng *e, eq_strbuf *out) { return eng_runner_new_subset(e, out, ENG_ALL); }

eng_runner *eng_runner_new_subset(eng *e, eq_strbuf *out, eng_subset which)
{
    eng_runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->e = e;
    r->out = out;
    r->side = which;
    bool ok;
    if (which != ENG_ALL) { /* the ordered side selects through the marks it is fed */
        ok = eqlite_scanner_new(e->rs, &e->opt.limits, &r->sc) == EQLITE_OK &&
             (which == ENG_ORDERED || eqlite_scanner_select(r->sc, e->sides[which - 1].rules) == EQLITE_OK) &&
             (r->emitted = calloc(e->nrules + 1, sizeof *r->emitted)) != NULL;
    } else if (e->nrules == 1) {
        ok = eqlite_matcher_new(e->rules[0].prog, &e->opt.limits, &r->one) == EQLITE_OK;
    } else {
        ok = eqlite_scanner_new(e->rs, &e->opt.limits, &r->sc) == EQLITE_OK &&
             (r->emitted = calloc(e->nrules + 1, sizeof *r->emitted)) != NULL;
    }
    if (ok && e->rule_counts)
        ok = start_rule_counts(r, e->nrules);
    if (!ok) {
        eng_runner_free(r);
        return NULL;
    }
    eqlite_event_hooks hooks = {retain_text, release_text, NULL};
    if (r->one)
        eqlite_matcher_set_event_hooks(r->one, &hooks);
    else
        eqlite_scanner_set_event_hooks(r->sc, &hooks);
    return r;
}

void eng_runner_free(eng_runner *r)
{
    if (!r)
        return;
    add_rule_counts(r);
    eqlite_scanner_free(r->sc);
    eqlite_matcher_free(r->one);
    free(r->emitted);
    free(r->prof);
    free(r);
}

static int emit(eng_runner *r, size_t rule, const eqlite_result *res)
{
    r->matches++;
    if (r->prof)
        r->prof[2 * r->nown + rule]++;
    if (r->e->sink && r->e->sink(r->e->sink_user, r->out, rule, res)) {
        r->stopped = true;
        return 1;
    }
    if (r->tags) {
        eng_tag t = {r->event, (uint32_t)rule, r->out ? r->out->len : 0};
        eq_strbuf_bytes(r->tags, &t, sizeof t);
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
    size_t k = rule->index;
    if (e->opt.limits.size && e->rules[k].kind == 0 && !e->rules[k].info.npipes && r->emitted[k]++ >= e->opt.limits.size)
        return 0;
    return emit(r, k, res);
}

/* A rule that cannot be evaluated stops the run (exit 2), as Elasticsearch
 * fails the search, rather than go on with a silent "no match". */
static int engine_error(eng_runner *r, eqlite_status st, const eqlite_record *rec)
{
    const char *why = st == EQLITE_ELIMIT ? " (a regex too costly for this value, or a state limit)" : "";
    if (rec)
        fprintf(stderr, "%s:%llu: ", rec->file, (unsigned long long)rec->number);
    else
        fprintf(stderr, "eqlite: ");
    if (r->one)
        fprintf(stderr, "rule %s: cannot evaluate: %s%s\n", r->e->rules[0].id, eqlite_strerror(st), why);
    else
        fprintf(stderr, "cannot evaluate the rules: %s%s\n", eqlite_strerror(st), why);
    return 2;
}

int eng_runner_feed(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec)
{
    return eng_runner_feed_marked(r, ev, rec, NULL);
}

/* What a feed's status means for the run: 0 goes on (an out-of-order event
 * is noted), 2 stops it with a message naming the event. */
static int fed(eng_runner *r, eqlite_status st, const eqlite_record *rec)
{
    if (st == EQLITE_OK)
        return 0;
    eng_late_reason why = r->e->opt.reorder_window > 0 ? ENG_LATE_BEYOND_WINDOW : ENG_LATE_OUT_OF_ORDER;
    eqlite_record where;
    /* the place is counted when a message shows it: an error, a first note */
    if (rec && r->line_of && (st != EQLITE_EORDER || r->e->late[why].count == 0)) {
        where = *rec;
        where.number = r->line_of(r->line_ctx, rec);
        rec = &where;
    }
    if (st == EQLITE_EORDER) { /* event queries took it; sequences and samples could not */
        eng_note_late(r->e, rec, why);
        return 0;
    }
    return engine_error(r, st, rec);
}

int eng_runner_feed_mark(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, uint64_t *marks,
                         size_t *nmarks, bool idle)
{
    const uint64_t *other = r->e->sides[r->side == ENG_PLAIN ? ENG_ORDERED - 1 : ENG_PLAIN - 1].rules;
    /* stopped: the other side may go on, so its marks still come (its own
     * rules run unheard: marks of every rule would run them there too) */
    eqlite_rule_callback cb = r->stopped ? NULL : on_rule_result;
    return fed(r,
               idle ? eqlite_scanner_match_mark_idle(r->sc, ev, other, marks, nmarks, cb, r)
                    : eqlite_scanner_match_mark(r->sc, ev, other, marks, nmarks, cb, r),
               rec);
}

int eng_runner_mark_ordered(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, uint64_t *marks,
                            size_t *nmarks)
{
    return fed(r, eqlite_scanner_mark_rules(r->sc, ev, r->e->sides[ENG_ORDERED - 1].rules, marks, nmarks), rec);
}

bool eng_runner_holds_partials(const eng_runner *r) { return r->sc && eqlite_scanner_holds_partials(r->sc); }

int eng_runner_feed_indexed(eng_runner *r, eng_runner *index, const eqlite_event *ev, const eqlite_record *rec)
{
    if (r->stopped)
        return 0;
    if (!r->sc || !index->sc)
        return eng_runner_feed(r, ev, rec);
    return fed(r, eqlite_scanner_match_indexed(r->sc, index->sc, ev, on_rule_result, r), rec);
}

bool eng_runner_needs_fields(const eng_runner *r, const uint64_t *marks)
{
    return !r->sc || eqlite_scanner_marks_need_fields(r->sc, marks);
}

int eng_runner_feed_marked(eng_runner *r, const eqlite_event *ev, const eqlite_record *rec, const uint64_t *marks)
{
    if (r->stopped)
        return 0;
    uint64_t t0 = r->prof && r->one ? now_ns() : 0; /* a scanner times its rules itself */
    eqlite_status st = r->one ? eqlite_feed(r->one, ev, on_result, r)
                       : marks ? eqlite_scanner_match_marked(r->sc, ev, marks, on_rule_result, r)
                               : eqlite_scanner_match(r->sc, ev, on_rule_result, r);
    if (t0) {
        r->prof[0] += now_ns() - t0;
        r->prof[1]++;
    }
    return fed(r, st, rec);
}

int eng_runner_flush(eng_runner *r)
{
    if (r->stopped)
        return 0;
    eqlite_status st = r->one ? eqlite_flush(r->one, on_result, r) : eqlite_scanner_flush(r->sc, on_rule_result, r);
    return st == EQLITE_OK ? 0 : engine_error(r, st, NULL);
}

void eng_runner_collect_state(eng_runner *r)
{
    eng *e = r->e;
    if (!e->state && !(e->state = calloc(e->nrules ? e->nrules : 1, sizeof *e->state)))
        return; /* only --stats and the end note read it */
    for (size_t k = 0; k < e->nrules; k++) {
        eqlite_stats st;
        if (r->one)
            eqlite_matcher_stats(r->one, &st);
        else if (eqlite_scanner_rule_stats(r->sc, k, &st) != EQLITE_OK)
            break;
        e->state[k].pending += st.pending;
        e->state[k].evicted += st.evicted;
        e->state[k].expired += st.expired;
        e->state[k].dropped += st.dropped;
        e->state[k].out_of_order += st.out_of_order;
    }
}

void eng_report_lost_state(const eng *e)
{
    for (size_t k = 0; e->state && k < e->nrules; k++)
        if (e->state[k].evicted)
            fprintf(stderr,
                    "eqlite: rule %s lost state: %llu partial%s or key%s evicted at the limit (--max-partials, "
                    "--max-keys); some of its results may be missing\n",
                    e->rules[k].id, (unsigned long long)e->state[k].evicted, e->state[k].evicted == 1 ? "" : "s",
                    e->state[k].evicted == 1 ? "" : "s");
}

void eng_runner_set_out(eng_runner *r, eq_strbuf *out) { r->out = out; }

bool eng_runner_stopped(const eng_runner *r) { return r->stopped; }
uint64_t eng_runner_matches(const eng_runner *r) { return r->matches; }

/* ---- streaming --------------------------------------------------------- */

/* A live stream (a pipe or terminal on stdin) prints each result once the
 * input has nothing more to read right now, rather than when 256 KiB of
 * output have gathered: an alert must not wait for the next events. */
static bool input_idle(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 0;
}

/* Feeds what the reorder window lets go (everything when draining). */
static int feed_ready(eng_runner *r, reorder *rb, bool draining, const char *file)
{
    eqlite_event ev;
    eng_text *text;
    uint64_t line;
    int status = 0;
    while (status == 0 && !eng_runner_stopped(r) && reorder_pop(rb, draining, &ev, &text, &line)) {
        eqlite_record rec = {.text = text->text, .len = text->len, .file = file, .number = line, .source = "",
                             .reason = "", .notice = ""};
        status = eng_runner_feed(r, &ev, &rec);
    }
    return status == 0 && rb->failed ? eng_out_of_memory("reordering events") : status;
}

static int stream_reader(eng *e, eng_runner *r, eqlite_reader *rd, int live_fd, reorder *rb)
{
    const char *file = "";
    eqlite_event ev;
    eqlite_record rec;
    eqlite_reader_stats st;
    uint64_t bytes_before = e->totals.bytes;
    int status = 0;
    bool input_failed = false; /* the events read before still count */
    for (;;) {
        int k = eqlite_reader_next(rd, &ev, &rec);
        if (k == EQLITE_READ_EOF)
            break;
        if (k == EQLITE_READ_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            status = 2;
            input_failed = true;
            break;
        }
        if (k == EQLITE_READ_BAD) {
            eng_report_bad(e, rec.file, rec.number, rec.reason);
            if (e->opt.strict) {
                status = 2;
                input_failed = true;
                break;
            }
            continue;
        }
        e->totals.events++;
        if (rec.notice[0])
            eng_note_malformed(e, rec.file, rec.number, rec.notice);
        file = rec.file; /* the reader's name: valid while it is open */
        if (rb) { /* the event waits: its text is copied now */
            if ((!rec.text && eqlite_reader_text(rd, &rec.text, &rec.len) != EQLITE_OK) ||
                !reorder_push(rb, &ev, &rec)) {
                status = eng_out_of_memory("reordering events");
                break;
            }
            status = feed_ready(r, rb, false, rec.file);
        } else {
            eng_text text = {rec.text, rec.len, rd};
            ev.user = &text;
            status = eng_runner_feed(r, &ev, &rec);
        }
        if (status != 0 || eng_runner_stopped(r))
            break;
        if (e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd)) {
            status = 2;
            break;
        }
        if (live_fd >= 0 && e->out && e->out->len && e->out_fd >= 0 && input_idle(live_fd) &&
            !ob_write(e->out, e->out_fd)) {
            status = 2;
            break;
        }
        if ((e->totals.events & 0x7fff) == 0 && e->tick) {
            eqlite_reader_stats_get(rd, &st);
            e->totals.bytes = bytes_before + st.bytes_out;
            e->totals.matches = eng_runner_matches(r);
            e->tick(e->tick_user, &e->totals);
        }
    }
    if (rb && (status == 0 || input_failed)) { /* what the window still holds */
        int drained = feed_ready(r, rb, true, file);
        status = drained ? drained : status;
    }
    eqlite_reader_stats_get(rd, &st);
    e->totals.bytes = bytes_before + st.bytes_out;
    return status;
}

static int stream_path(eng *e, eng_runner *r, const char *path)
{
    eng_progress_file(e, ENG_STEP_MATCH, path);
    eqlite_reader_options o;
    eng_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: cannot read %s: %s\n", path, err);
        return 2;
    }
    struct stat sb;
    bool live = strcmp(path, "-") == 0 && fstat(STDIN_FILENO, &sb) == 0 && !S_ISREG(sb.st_mode);
    reorder rb;
    bool window = e->opt.reorder_window > 0 && strcmp(path, "-") == 0;
    if (window)
        reorder_init(&rb, e->opt.reorder_window);
    int status = stream_reader(e, r, rd, live ? STDIN_FILENO : -1, window ? &rb : NULL);
    if (window) {
        e->reorder_peak = rb.peak > e->reorder_peak ? rb.peak : e->reorder_peak;
        reorder_free(&rb);
    }
    eqlite_reader_close(rd);
    return status;
}

void eng_note_late(eng *e, const eqlite_record *rec, eng_late_reason why)
{
    eng_late *l = &e->late[why];
    if (l->count++ == 0 && rec)
        snprintf(l->first, sizeof l->first, "%s:%llu", rec->file, (unsigned long long)rec->number);
    e->totals.out_of_order++;
}

/* The field a notice names: "field [NAME]: ..." */
static void notice_field(const char *notice, char *out, size_t cap)
{
    const char *open = strchr(notice, '['), *close = open ? strstr(open, "]: ") : NULL;
    size_t n = open && close ? (size_t)(close - open - 1) : 0;
    n = n < cap ? n : cap - 1;
    memcpy(out, open ? open + 1 : "", n);
    out[n] = '\0';
}

void eng_note_malformed(eng *e, const char *file, uint64_t line, const char *notice)
{
    char field[sizeof e->malformed[0].field];
    notice_field(notice, field, sizeof field);
    size_t k = 0;
    while (k < e->nmalformed && strcmp(e->malformed[k].field, field))
        k++;
    if (k == ENG_MALFORMED_FIELDS) { /* a field past the table: counted, reported as "other fields" */
        e->malformed_other++;
        return;
    }
    eng_malformed *m = &e->malformed[k];
    if (m->count++ > 0)
        return;
    e->nmalformed++;
    memcpy(m->field, field, sizeof field);
    snprintf(m->first, sizeof m->first, "%s:%llu", file, (unsigned long long)line);
    if (!e->opt.quiet_bad)
        fprintf(stderr, "%s: %s; value ignored (ignore_malformed)\n", m->first, notice);
}

/* Counted per record, under the first field its notice names. */
void eng_report_malformed(const eng *e)
{
    for (size_t k = 0; k < e->nmalformed && !e->hush; k++) {
        const eng_malformed *m = &e->malformed[k];
        fprintf(stderr, "%s: field [%s]: values ignored in %llu record%s (ignore_malformed; the first here)\n",
                m->first, m->field, (unsigned long long)m->count, m->count == 1 ? "" : "s");
    }
    if (e->malformed_other && !e->hush)
        fprintf(stderr, "eqlite: values of other fields ignored in %llu more record%s (ignore_malformed)\n",
                (unsigned long long)e->malformed_other, e->malformed_other == 1 ? "" : "s");
}

uint64_t eng_malformed_records(const eng *e)
{
    uint64_t n = e->malformed_other;
    for (size_t k = 0; k < e->nmalformed; k++)
        n += e->malformed[k].count;
    return n;
}

void eng_report_late(const eng *e)
{
    if (e->hush)
        return;
    static const char *const what[ENG_LATE_REASONS] = {
        "out of (timestamp, tiebreaker) order",
        "later than --reorder-window",
    };
    for (int k = 0; k < ENG_LATE_REASONS; k++) {
        const eng_late *l = &e->late[k];
        if (l->count)
            fprintf(stderr,
                    "%s: %llu event%s %s (the first here): event queries and samples saw %s, sequences "
                    "did not\n",
                    l->first, (unsigned long long)l->count, l->count == 1 ? "" : "s", what[k],
                    l->count == 1 ? "it" : "them");
    }
}

static bool any_stdin(char *const *paths, size_t npaths)
{
    for (size_t k = 0; k < npaths; k++)
        if (strcmp(paths[k], "-") == 0)
            return true;
    return false;
}

static bool all_plain(char *const *paths, size_t npaths)
{
    for (size_t k = 0; k < npaths; k++)
        if (!eng_can_split(paths[k]))
            return false;
    return true;
}

/* Every input through one runner, in one pass: what sequences need when the
 * input is in order (or is a stream, which is never sorted). */
static int stream_all(eng *e, char *const *paths, size_t npaths)
{
    eng_runner *r = eng_runner_new(e, e->out);
    if (!r)
        return eng_out_of_memory("starting the matchers");
    int status = 0;
    for (size_t k = 0; k < npaths && status == 0 && !eng_runner_stopped(r); k++)
        status = stream_path(e, r, paths[k]);
    e->stopped = eng_runner_stopped(r);
    return eng_runner_finish(e, r, status);
}

int eng_runner_finish(eng *e, eng_runner *r, int status)
{
    if (r) {
        if (status == 0)
            status = eng_runner_flush(r);
        e->totals.matches += eng_runner_matches(r);
        eng_runner_collect_state(r);
    }
    eng_runner_free(r);
    return status;
}

/* -j N over plain files in order: chunks in parallel for the plain rules,
 * one runner in this thread for the ordered ones, across every file. */
static int parallel_all(eng *e, char *const *paths, size_t npaths, int jobs)
{
    int status = eng_split(e);
    eng_runner *ordered = status ? NULL : eng_runner_new_subset(e, e->out, ENG_ORDERED);
    if (status == 0 && !ordered)
        status = eng_out_of_memory("starting the matchers");
    for (size_t k = 0; k < npaths && status == 0 && !e->stopped; k++)
        status = eng_run_parallel(e, paths[k], jobs, ordered);
    if (ordered) {
        eng_runner_set_tags(ordered, NULL, 0);
        eng_runner_set_out(ordered, e->out);
    }
    return eng_runner_finish(e, ordered, status);
}

static int run_ordered(eng *e, char *const *paths, size_t npaths, int jobs)
{
    /* Stdin is never sorted (its events come once); plain files are checked
     * cheaply and streamed when in order; .gz files and JSON arrays cannot be
     * checked without reading them, so the sort's first pass does it. */
    bool stream = any_stdin(paths, npaths), in_order = false, plain = !stream && all_plain(paths, npaths);
    int status = 0;
    if (!plain)
        eng_order_check_cancel(e); /* none was begun: the fast check reads plain files only */
    else if ((status = eng_files_in_order(e, paths, npaths, jobs, &in_order)) != 0)
        return status;
    if (in_order && !stream && jobs > 1 && e->opt.limits.size == 0)
        status = parallel_all(e, paths, npaths, jobs);
    else if (stream || in_order)
        status = stream_all(e, paths, npaths);
    else
        status = eng_run_ordered(e, paths, npaths);
    eng_report_late(e);
    return status;
}

int eng_run(eng *e, char *const *paths, size_t npaths, int jobs)
{
    e->place.nfiles = npaths;
    if (e->ordered)
        return run_ordered(e, paths, npaths, jobs);
    eng_order_check_cancel(e); /* no rule needs order */
    eng_runner *r = NULL;
    int status = 0;
    for (size_t k = 0; k < npaths && status == 0 && !e->stopped; k++) {
        /* Plain files are mapped and read in chunks (no read(2) copy), in
         * parallel with -j; only where no result depends on other chunks. */
        if (!e->has_pipes && e->opt.limits.size == 0 && eng_can_split(paths[k])) {
            status = eng_run_parallel(e, paths[k], jobs, NULL);
            continue;
        }
        if (!r && !(r = eng_runner_new(e, e->out)))
            return eng_out_of_memory("starting the matchers");
        status = stream_path(e, r, paths[k]);
        e->stopped = eng_runner_stopped(r);
    }
    return eng_runner_finish(e, r, status);
}

int eng_run_memory(eng *e, const char *data, size_t len, const char *display_name)
{
    bool in_order = true;
    int checked = e->ordered ? eng_memory_in_order(e, data, len, &in_order) : 0;
    if (checked)
        return checked;
    if (!in_order)
        return eng_run_ordered_memory(e, data, len, display_name);
    eqlite_reader_options o;
    eng_reader_options(e, &o, display_name);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_memory(data, len, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s: %s\n", display_name, err);
        return 2;
    }
    eng_runner *r = eng_runner_new(e, e->out);
    int status = r ? stream_reader(e, r, rd, -1, NULL) : eng_out_of_memory("starting the matchers");
    status = eng_runner_finish(e, r, status);
    eqlite_reader_close(rd);
    eng_report_late(e);
    return status;
}

void eng_free(eng *e)
{
    eng_order_check_cancel(e); /* the rules did not compile, say */
    for (size_t k = 0; k < e->nrules; k++) {
        free(e->rules[k].id);
        free(e->rules[k].name);
        free(e->rules[k].text);
    }
    for (int k = 0; k < 2; k++)
        free(e->sides[k].rules);
    free(e->ordered_fields);
    free(e->rules);
    eqlite_ruleset_free(e->rs);
    free(e->fields);
    eqlite_sources_free(e->profiles);
    eqlite_mapping_free(e->mapping);
    free(e->state);
    eqlite_schema_free(e->schema);
    memset(e, 0, sizeof *e);
}
