/* query.c: `eqlite query` — one query (or a rule set with -r) over NDJSON
 * events; by default one JSON line per result on stdout (the shapes and the
 * other --format choices: result_out.h).
 *
 *   rule_id is the rule's id (JSON "rule_id" or "id"), or "FILE:LINE" for
 *   rules from .eql files. Results come in input order (sorted order when a
 *   file had to be sorted, event-time order under --reorder-window); for one
 *   event, rules in rule-file order.
 *   A rule set runs as one ruleset (include/eqlite.h "Rulesets"): an event
 *   meets only the rules of its category and those that can match any event.
 * Exit: 0 ran, 1 invalid query or rule, 2 usage or unreadable input. */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "outbuf.h"
#include "progress.h"
#include "result_out.h"
#include "text_table.h"

typedef struct query_args {
    const char *query;
    const char *rule_file; /* -f */
    const char *rule_set;  /* -r */
    const char **mappings;
    size_t nmappings;
    const char **profiles;
    size_t nprofiles;
    eng_options opt;
    ro_format format;
    const char *fields; /* --fields */
    int jobs;
    bool stats;
    bool size_zero;
    char **files;
    size_t nfiles;
} query_args;

static void query_usage(FILE *f)
{
    fprintf(f, "usage: eqlite query [OPTIONS] QUERY [FILE...]\n"
               "       eqlite query [OPTIONS] -f RULEFILE [FILE...]\n"
               "       eqlite query [OPTIONS] -r RULES [FILE...]\n"
               "Runs a query over NDJSON (or JSON array) events from FILEs or stdin (.gz read\n"
               "transparently); prints one JSON line per result.\n"
               "  -f, --file RULEFILE          read the query from a file\n"
               "  -r, --rules RULES            many rules: .eql, detection-rules TOML (rules, hunts),\n"
               "                               JSON Lines, Kibana export, or a directory tree of them\n"
               "      --mapping FILE           Elasticsearch index mapping (repeatable, merged;\n"
               "                               adds to and overrides the built-in ECS types)\n"
               "      --no-ecs                 no built-in ECS field types\n"
               "      --category-field NAME    default event.category\n"
               "      --timestamp-field NAME   default @timestamp ('' = events have none)\n"
               "      --tiebreaker-field NAME\n"
               "      --size N                 at most N results\n"
               "      --max-samples-per-key N\n"
               "      --max-partials N         pending sequence partials per rule (default 1048576);\n"
               "                               past it the oldest is evicted and the rule says so\n"
               "      --max-keys N             join keys held per sequence or sample rule (default\n"
               "                               1048576); the oldest is evicted\n"
               "  -j, --jobs N                 threads over plain NDJSON files (default 1;\n"
               "                               stdin, .gz, JSON arrays and files that must be sorted\n"
               "                               use one); output is that of -j 1\n"
               "      --memory-limit SIZE      sort index kept in memory when a file must be sorted for\n"
               "                               sequences (default 256M; past it, sorted runs go to\n"
               "                               TMPDIR); K, M, G suffixes\n"
               "      --reorder-window DURATION  stdin events wait up to DURATION (500ms, 10s, 2m, 1h)\n"
               "                               for older ones, so sequences see them in order; later\n"
               "                               ones still reach event queries and are counted\n"
               "      --source NAME            raw records to ECS: auto (default: each record's\n"
               "                               shape picks its profile; ECS passes as it is),\n"
               "                               none, windows, m365-defender,\n"
               "                               sentinelone-cloud-funnel, ecs, or a --profile's\n"
               "      --profile FILE           add source profiles (repeatable)\n"
               "      --format FORMAT          ndjson (default: one JSON line per result), json (one\n"
               "                               array), csv (header line, a row per event of a\n"
               "                               result), table (aligned columns)\n"
               "      --fields a.b,c.d         print only these fields of each event (_source: the\n"
               "                               whole event); csv and table default to the\n"
               "                               timestamp, the category and _source\n"
               "      --stats                  totals on stderr at the end, then a line per rule (most\n"
               "                               hits first): hits, events it ran on, time, and the\n"
               "                               state sequences and samples held\n"
               "      --strict                 the first bad input line is fatal (values ignored under\n"
               "                               ignore_malformed are not bad lines)\n"
               "      --reject-malformed       a value that cannot take its field's type makes the line bad\n"
               "                               (indices without ignore_malformed); only the fields rules\n"
               "                               read are checked\n"
               "Output: an event query prints each matching event's original JSON; a sequence or\n"
               "sample prints {\"join_keys\":[...],\"events\":[EVENT|{\"missing\":true},...]}; with -r\n"
               "each result is {\"rule_id\":...,\"rule_name\":...,\"event\":EVENT} or\n"
               "{\"rule_id\":...,\"rule_name\":...,\"join_keys\":[...],\"events\":[...]}.\n"
               "Exit: 0 ran, 1 invalid query or rule, 2 usage or unreadable input.\n");
}

static bool parse_count(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-')
        return false;
    *out = (size_t)v;
    return true;
}

/* "N", "NK", "NM", "NG" (powers of 1024). */
static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || s[0] == '-' || end == s)
        return false;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end || v > (SIZE_MAX >> shift))
        return false;
    *out = (size_t)v << shift;
    return true;
}

/* "500ms", "10s", "2m", "1h", "1d" -> nanoseconds; a bare "0" is no window. */
static bool parse_duration(const char *s, int64_t *ns)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || s[0] == '-' || end == s)
        return false;
    if (v == 0 && !*end)
        return *ns = 0, true;
    static const struct { const char *unit; int64_t ns; } units[] = {
        {"ms", 1000000LL}, {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}, {"d", 86400000000000LL}};
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strcmp(end, units[k].unit) == 0)
            return v <= (unsigned long long)(INT64_MAX / units[k].ns) && (*ns = (int64_t)v * units[k].ns, true);
    return false;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, query_args *a)
{
    enum { O_MAPPING = 256, O_CAT, O_TS, O_TB, O_SIZE, O_MSPK, O_STATS, O_STRICT, O_MEMORY, O_WINDOW, O_MAXP, O_MAXK,
           O_SOURCE, O_PROFILE, O_NO_ECS, O_FORMAT, O_FIELDS, O_REJECT };
    static const struct option longs[] = {
        {"file", required_argument, 0, 'f'},       {"rules", required_argument, 0, 'r'},
        {"jobs", required_argument, 0, 'j'},       {"mapping", required_argument, 0, O_MAPPING},
        {"category-field", required_argument, 0, O_CAT}, {"timestamp-field", required_argument, 0, O_TS},
        {"tiebreaker-field", required_argument, 0, O_TB}, {"size", required_argument, 0, O_SIZE},
        {"max-samples-per-key", required_argument, 0, O_MSPK}, {"stats", no_argument, 0, O_STATS},
        {"strict", no_argument, 0, O_STRICT},     {"help", no_argument, 0, 'h'},
        {"memory-limit", required_argument, 0, O_MEMORY}, {"reorder-window", required_argument, 0, O_WINDOW},
        {"max-partials", required_argument, 0, O_MAXP}, {"max-keys", required_argument, 0, O_MAXK},
        {"source", required_argument, 0, O_SOURCE}, {"profile", required_argument, 0, O_PROFILE},
        {"no-ecs", no_argument, 0, O_NO_ECS},     {"reject-malformed", no_argument, 0, O_REJECT},
        {"format", required_argument, 0, O_FORMAT}, {"fields", required_argument, 0, O_FIELDS},
        {0, 0, 0, 0}};
    a->jobs = 1;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "f:r:j:h", longs, NULL)) != -1;) {
        size_t n = 0;
        switch (c) {
        case 'f': a->rule_file = optarg; break;
        case 'r': a->rule_set = optarg; break;
        case 'j':
            if (!parse_count(optarg, &n) || n < 1 || n > 256)
                goto bad;
            a->jobs = (int)n;
            break;
        case O_MAPPING: {
            const char **grown = realloc(a->mappings, (a->nmappings + 1) * sizeof *a->mappings);
            if (!grown)
                return eng_out_of_memory("reading the options");
            a->mappings = grown;
            a->mappings[a->nmappings++] = optarg;
            break;
        }
        case O_CAT: a->opt.category_field = optarg; break;
        case O_TS: a->opt.timestamp_field = optarg; break;
        case O_TB: a->opt.tiebreaker_field = optarg; break;
        case O_SIZE:
            if (!parse_count(optarg, &a->opt.limits.size))
                goto bad;
            a->size_zero = a->opt.limits.size == 0; /* Elasticsearch: size 0 returns no results */
            break;
        case O_MSPK:
            if (!parse_count(optarg, &a->opt.limits.max_samples_per_key))
                goto bad;
            break;
        case O_MEMORY:
            if (!parse_size(optarg, &a->opt.memory_limit) || a->opt.memory_limit == 0)
                goto bad;
            break;
        case O_MAXP:
            if (!parse_count(optarg, &a->opt.limits.max_partials) || !a->opt.limits.max_partials)
                goto bad;
            break;
        case O_MAXK:
            if (!parse_count(optarg, &a->opt.limits.max_keys) || !a->opt.limits.max_keys)
                goto bad;
            break;
        case O_WINDOW:
            if (!parse_duration(optarg, &a->opt.reorder_window))
                goto bad;
            break;
        case O_STATS: a->stats = true; break;
        case O_FORMAT:
            if (!ro_parse_format(optarg, &a->format)) {
                fprintf(stderr, "eqlite query: --format: unknown format [%s] (ndjson, json, csv, table)\n", optarg);
                return 2;
            }
            break;
        case O_FIELDS: a->fields = optarg; break;
        case O_SOURCE: a->opt.source = optarg; break;
        case O_NO_ECS: a->opt.no_ecs = true; break;
        case O_PROFILE: {
            const char **grown = realloc(a->profiles, (a->nprofiles + 1) * sizeof *a->profiles);
            if (!grown)
                return eng_out_of_memory("reading the options");
            a->profiles = grown;
            a->profiles[a->nprofiles++] = optarg;
            a->opt.profile_files = a->profiles;
            a->opt.nprofile_files = a->nprofiles;
            break;
        }
        case O_STRICT: a->opt.strict = true; break;
        case O_REJECT: a->opt.reject_malformed = true; break;
        case 'h': query_usage(stdout); return 0;
        default: query_usage(stderr); return 2;
        }
    }
    if (!a->rule_file && !a->rule_set) {
        if (optind >= argc) {
            query_usage(stderr);
            return 2;
        }
        a->query = argv[optind++];
    }
    if (!!a->query + !!a->rule_file + !!a->rule_set != 1) {
        fprintf(stderr, "eqlite query: give one of QUERY, -f RULEFILE, -r RULES\n");
        return 2;
    }
    a->opt.mappings = a->mappings;
    a->opt.nmappings = a->nmappings;
    a->files = argv + optind;
    a->nfiles = (size_t)(argc - optind);
    return -1;
bad:
    fprintf(stderr, "eqlite query: bad number [%s]\n", optarg);
    return 2;
}

/* ---- progress and totals ----------------------------------------------- */

/* Sequence and sample state, summed over the rules. */
static void print_state(const eng *e)
{
    eqlite_stats sum = {0};
    for (size_t k = 0; e->state && k < e->nrules; k++) {
        const eqlite_stats *s = &e->state[k];
        sum.pending += s->pending;
        sum.evicted += s->evicted;
        sum.expired += s->expired;
        sum.out_of_order += s->out_of_order;
    }
    fprintf(stderr, "sequence state: partials held %llu, evicted at a limit %llu, expired by maxspan %llu, "
                    "dropped late %llu\n",
            (unsigned long long)sum.pending, (unsigned long long)sum.evicted, (unsigned long long)sum.expired,
            (unsigned long long)sum.out_of_order);
}

typedef struct rule_line {
    const eng_rule_count *count;
    size_t index;
} rule_line;

static int by_hits(const void *pa, const void *pb)
{
    const rule_line *a = pa, *b = pb;
    if (a->count->hits != b->count->hits)
        return a->count->hits > b->count->hits ? -1 : 1;
    if (a->count->ns != b->count->ns)
        return a->count->ns > b->count->ns ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* One line per rule, most hits first (then most time): its id, name, hits,
 * the events it ran on, its time; and with sequences or samples, the state
 * each held at the end (partials held, evicted at a limit, expired by
 * maxspan, events too late). */
static void print_rule_summary(const eng *e, const eng_rule_count *counts)
{
    static const char *const head[] = {"rule", "name", "hits", "events", "time ms",
                                       "partials held", "evicted", "expired", "late"};
    static const bool right[] = {false, false, true, true, true, true, true, true, true};
    bool state = false;
    for (size_t k = 0; k < e->nrules; k++)
        state |= e->rules[k].kind != 0 || e->rules[k].info.npipes;
    size_t ncols = state && e->state ? 9 : 5;
    rule_line *order = calloc(e->nrules ? e->nrules : 1, sizeof *order);
    text_table t;
    eq_strbuf out = {0};
    if (!order || !tt_init(&t, ncols, 48, e->nrules + 1)) {
        free(order);
        eng_out_of_memory("printing the rule summary");
        return;
    }
    t.right = right;
    size_t lens[9];
    for (size_t c = 0; c < ncols; c++)
        lens[c] = strlen(head[c]);
    tt_row(&t, &out, head, lens);
    for (size_t k = 0; k < e->nrules; k++)
        order[k] = (rule_line){&counts[k], k};
    qsort(order, e->nrules, sizeof *order, by_hits);
    for (size_t k = 0; k < e->nrules; k++) {
        const eng_rule *r = &e->rules[order[k].index];
        const eng_rule_count *c = order[k].count;
        const eqlite_stats *st = e->state ? &e->state[order[k].index] : NULL;
        char nums[7][32];
        snprintf(nums[0], 32, "%llu", (unsigned long long)c->hits);
        snprintf(nums[1], 32, "%llu", (unsigned long long)c->runs);
        snprintf(nums[2], 32, "%.3f", (double)c->ns / 1e6);
        snprintf(nums[3], 32, "%llu", st ? (unsigned long long)st->pending : 0ULL);
        snprintf(nums[4], 32, "%llu", st ? (unsigned long long)st->evicted : 0ULL);
        snprintf(nums[5], 32, "%llu", st ? (unsigned long long)st->expired : 0ULL);
        snprintf(nums[6], 32, "%llu", st ? (unsigned long long)st->out_of_order : 0ULL);
        const char *cells[9] = {r->id, r->name ? r->name : ""};
        for (size_t c2 = 2; c2 < ncols; c2++)
            cells[c2] = nums[c2 - 2];
        for (size_t c2 = 0; c2 < ncols; c2++)
            lens[c2] = strlen(cells[c2]);
        tt_row(&t, &out, cells, lens);
    }
    tt_flush(&t, &out);
    ob_write(&out, STDERR_FILENO);
    eq_strbuf_free(&out);
    tt_free(&t);
    free(order);
}

static void print_stats(const eng *e, double elapsed)
{
    const eng_totals *t = &e->totals;
    double secs = elapsed > 0 ? elapsed : 1e-9;
    fprintf(stderr,
            "events %llu, bytes %llu, matches %llu, bad lines %llu, out of order %llu, records with malformed values %llu, "
            "elapsed %.3f s, %.0f events/s, %.1f MB/s\n",
            (unsigned long long)t->events, (unsigned long long)t->bytes, (unsigned long long)t->matches,
            (unsigned long long)t->bad, (unsigned long long)t->out_of_order,
            (unsigned long long)eng_malformed_records(e), elapsed, (double)t->events / secs,
            (double)t->bytes / 1e6 / secs);
}

/* ---- the command ------------------------------------------------------- */

static int load_rules(eng *e, const query_args *a)
{
    cli_rules rules = {0};
    const char *origin = a->rule_set ? a->rule_set : a->rule_file ? a->rule_file : "query";
    int status = 0;
    if (a->query) {
        cli_rule r = {strdup(a->query), strlen(a->query), NULL, NULL, 1, 0, NULL};
        rules.items = r.text ? malloc(sizeof r) : NULL;
        if (rules.items) {
            rules.items[0] = r;
            rules.n = rules.cap = 1;
        } else {
            free(r.text);
            status = eng_out_of_memory("reading the query");
        }
    } else if (!cli_load_rules(origin, &rules, true)) {
        fprintf(stderr, "eqlite query: cannot read %s\n", origin);
        status = 2;
    }
    if (status == 0 && rules.n == 0) {
        fprintf(stderr, "eqlite query: no rules in %s\n", origin);
        status = 1;
    }
    if (status == 0 && a->rule_file && rules.n > 1) {
        fprintf(stderr, "eqlite query: %s holds %zu rules; use -r for many\n", origin, rules.n);
        status = 2;
    }
    if (status == 0)
        status = eng_add_rules(e, &rules, origin);
    cli_rules_free(&rules);
    return status;
}

int cmd_query(int argc, char **argv)
{
    query_args a = {0};
    int status = parse_args(argc, argv, &a);
    if (status >= 0) {
        free(a.mappings);
        free(a.profiles);
        return status;
    }
    eng e;
    eq_strbuf out = {0};
    result_out ro = {0};
    eng_rule_count *counts = NULL;
    progress prog;
    double started = cli_now_seconds();
    status = eng_init(&e, &a.opt);
    char *stdin_only[] = {"-"};
    char *const *files = a.nfiles ? a.files : stdin_only;
    size_t nfiles = a.nfiles ? a.nfiles : 1;
    /* json and table carry state from one result to the next: results
     * come from one thread, in order */
    if (a.format == RO_JSON || a.format == RO_TABLE)
        a.jobs = 1;
    if (status == 0) /* the other core reads the files for their order while this one compiles */
        eng_order_check_begin(&e, files, nfiles, a.jobs);
    if (status == 0)
        status = load_rules(&e, &a);
    if (status == 0)
        status = eng_prepare(&e);
    if (status == 0)
        status = ro_init(&ro, &e, a.format, a.rule_set != NULL, a.fields);
    if (status == 0 && a.stats && !(e.rule_counts = counts = calloc(e.nrules ? e.nrules : 1, sizeof *counts)))
        status = eng_out_of_memory("counting per rule");
    if (status == 0) {
        ro.discard = a.size_zero;
        ro_begin(&ro, &out);
        e.sink = ro_write;
        e.sink_user = &ro;
        e.out = &out;
        e.out_fd = STDOUT_FILENO;
        progress_start(&prog, &e);
        status = eng_run(&e, files, nfiles, a.jobs);
        ro_end(&ro, &out);
        /* results found before a fatal error are real: print them too (a
         * failed write left nothing to print) */
        if (status != 2 && !ob_write(&out, STDOUT_FILENO))
            status = 2;
        else if (status == 2 && out.len && !out.failed)
            ob_write(&out, STDOUT_FILENO);
        progress_end(&prog);
        eng_report_bad_summary(&e);
        eng_report_malformed(&e);
        if (status == 0 && e.totals.events == 0 && e.totals.bad > 0) {
            /* nothing was evaluated: "no match" would be a silent wrong answer */
            fprintf(stderr, "eqlite query: no event could be read (%llu bad records)\n",
                    (unsigned long long)e.totals.bad);
            status = 2;
        }
        eng_report_lost_state(&e);
        if (a.stats) {
            print_stats(&e, cli_now_seconds() - started);
            eng_print_sources(&e, stderr);
            if (e.ordered)
                print_state(&e);
            fflush(stderr);
            print_rule_summary(&e, counts);
        }
    }
    eq_strbuf_free(&out);
    ro_free(&ro);
    free(counts);
    eng_free(&e);
    free(a.mappings);
    free(a.profiles);
    return status;
}
