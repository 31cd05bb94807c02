/* bench.c: `eqlite bench` — throughput of a rule or a rule set over an
 * NDJSON file (read + project + match, beside the plain simdjson parse floor
 * of the same file measured in the same run), or over events built in memory
 * by the generator of bench/gen_events.c (match only, no JSON). For a file
 * it also times the whole `eqlite query` path (-j 1 and -j 2, results
 * counted but not written). */
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "engine.h"
#include "bench/gen_events.h"

typedef struct bench_args {
    const char *query, *rule_file, *rule_set, *file;
    const char **mappings;
    size_t nmappings;
    eng_options opt;
    size_t generate;
    uint64_t seed;
    int repeat;
    bool per_rule;
} bench_args;

static void bench_usage(FILE *f)
{
    fprintf(f, "usage: eqlite bench [OPTIONS] (QUERY | -f RULEFILE | -r RULES) FILE\n"
               "       eqlite bench [OPTIONS] (QUERY | -f RULEFILE | -r RULES) --generate N [--seed S]\n"
               "  -f, --file RULEFILE  the rule from a file;  -r, --rules RULES  a rule set (as for query)\n"
               "  --repeat N        best of N runs (default 3)\n"
               "  --per-rule        also time each rule of a rule set on its own (always for <= 64 rules)\n"
               "  --mapping FILE, --category-field, --timestamp-field, --tiebreaker-field as for query\n"
               "Prints events/s, MB/s and ns/event; for a file also the simdjson parse floor of the\n"
               "same file; a rule set runs as `eqlite query -r` does (one category-indexed\n"
               "ruleset), with matches per rule.\n");
}

static int parse_bench_args(int argc, char **argv, bench_args *a)
{
    enum { O_MAPPING = 256, O_CAT, O_TS, O_TB, O_GEN, O_SEED, O_REPEAT, O_PER_RULE };
    static const struct option longs[] = {
        {"file", required_argument, 0, 'f'}, {"rules", required_argument, 0, 'r'},
        {"mapping", required_argument, 0, O_MAPPING}, {"category-field", required_argument, 0, O_CAT},
        {"timestamp-field", required_argument, 0, O_TS}, {"tiebreaker-field", required_argument, 0, O_TB},
        {"generate", required_argument, 0, O_GEN}, {"seed", required_argument, 0, O_SEED},
        {"repeat", required_argument, 0, O_REPEAT}, {"per-rule", no_argument, 0, O_PER_RULE},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    a->repeat = 3;
    a->seed = 1;
    optind = 1;
    for (int c; (c = getopt_long(argc, argv, "f:r:h", longs, NULL)) != -1;) {
        switch (c) {
        case 'f': a->rule_file = optarg; break;
        case 'r': a->rule_set = optarg; break;
        case O_MAPPING:
            a->mappings = realloc(a->mappings, (a->nmappings + 1) * sizeof *a->mappings);
            a->mappings[a->nmappings++] = optarg;
            break;
        case O_CAT: a->opt.category_field = optarg; break;
        case O_TS: a->opt.timestamp_field = optarg; break;
        case O_TB: a->opt.tiebreaker_field = optarg; break;
        case O_GEN: a->generate = strtoull(optarg, NULL, 10); break;
        case O_SEED: a->seed = strtoull(optarg, NULL, 10); break;
        case O_REPEAT: a->repeat = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case O_PER_RULE: a->per_rule = true; break;
        case 'h': bench_usage(stdout); return 0;
        default: bench_usage(stderr); return 2;
        }
    }
    if (!a->rule_file && !a->rule_set && optind < argc)
        a->query = argv[optind++];
    if (optind < argc)
        a->file = argv[optind++];
    if (!!a->query + !!a->rule_file + !!a->rule_set != 1 || !!a->file == !!a->generate || optind < argc) {
        bench_usage(stderr);
        return 2;
    }
    a->opt.mappings = a->mappings;
    a->opt.nmappings = a->nmappings;
    a->opt.quiet_bad = true;
    return -1;
}

static int load_bench_rules(eng *e, const bench_args *a)
{
    cli_rules rules = {0};
    const char *origin = a->rule_set ? a->rule_set : a->rule_file ? a->rule_file : "query";
    if (a->query) {
        rules.items = malloc(sizeof *rules.items);
        rules.items[0] = (cli_rule){strdup(a->query), strlen(a->query), NULL, NULL, 1, 0, NULL};
        rules.n = rules.cap = 1;
    } else if (!cli_load_rules(origin, &rules, true)) {
        fprintf(stderr, "eqlite bench: cannot read %s\n", origin);
        return 2;
    }
    int status = eng_add_rules(e, &rules, origin);
    cli_rules_free(&rules);
    return status;
}

/* ---- one timed pass ----------------------------------------------------- */

typedef struct pass {
    double secs;
    uint64_t events, bytes, matches;
    double *rule_secs; /* per rule (rule sets) */
    uint64_t *rule_matches;
} pass;

static int count_result(void *user, const eqlite_result *r)
{
    (void)r;
    ++*(uint64_t *)user;
    return 0;
}

/* Feeds one event to every matcher; per-rule clocks only for rule sets
 * (reading the clock costs ~20 ns a call, which one rule need not pay). */
static void feed(eng *e, eqlite_matcher **m, const eqlite_event *ev, pass *p)
{
    if (e->nrules == 1) {
        eqlite_feed(m[0], ev, count_result, &p->rule_matches[0]);
        return;
    }
    for (size_t k = 0; k < e->nrules; k++) {
        double t0 = cli_now_seconds();
        eqlite_feed(m[k], ev, count_result, &p->rule_matches[k]);
        p->rule_secs[k] += cli_now_seconds() - t0;
    }
}

static eqlite_matcher **new_matchers(eng *e)
{
    eqlite_matcher **m = calloc(e->nrules + 1, sizeof *m);
    for (size_t k = 0; m && k < e->nrules; k++)
        eqlite_matcher_new(e->rules[k].prog, &e->opt.limits, &m[k]);
    return m;
}

static void free_matchers(eng *e, eqlite_matcher **m, pass *p)
{
    for (size_t k = 0; k < e->nrules; k++) {
        eqlite_flush(m[k], count_result, &p->rule_matches[k]);
        p->matches += p->rule_matches[k];
        eqlite_matcher_free(m[k]);
    }
    free(m);
}

static int count_rule_result(void *user, eq_strbuf *out, size_t rule, const eqlite_result *r)
{
    (void)out;
    (void)r;
    ((pass *)user)->rule_matches[rule]++;
    return 0;
}

/* Forgets what an earlier pass noted; notes are printed by the first pass only. */
static void reset_run(eng *e, bool first)
{
    e->totals = (eng_totals){0};
    memset(e->late, 0, sizeof e->late);
    free(e->state);
    e->state = NULL;
    e->stopped = false;
    e->hush = !first;
}

/* What `eqlite query -j 1` runs for these rules (the same path: streamed
 * when in order, sorted when not), results counted per rule, not written. */
static int scan_pass(eng *e, const char *path, pass *p, bool first)
{
    char *paths[] = {(char *)path};
    reset_run(e, first);
    e->sink = count_rule_result;
    e->sink_user = p;
    double t0 = cli_now_seconds();
    int status = eng_run(e, paths, 1, 1);
    p->secs = cli_now_seconds() - t0;
    e->sink = NULL;
    e->sink_user = NULL;
    p->events = e->totals.events;
    p->bytes = e->totals.bytes;
    p->matches = e->totals.matches;
    return status;
}

/* One matcher per rule, each feed clocked: per-rule costs (slower than the
 * scanner, which skips the rules of other categories). Reads the file in
 * its order: the caller runs it only on a file in order. */
static int file_pass(eng *e, const char *path, pass *p)
{
    eqlite_reader_options o;
    eng_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite bench: cannot read %s: %s\n", path, err);
        return 2;
    }
    eqlite_matcher **m = new_matchers(e);
    eqlite_event ev;
    double t0 = cli_now_seconds();
    for (int k; (k = eqlite_reader_next(rd, &ev, NULL)) != EQLITE_READ_EOF && k != EQLITE_READ_FATAL;)
        if (k == EQLITE_READ_EVENT) {
            p->events++;
            feed(e, m, &ev, p);
        }
    free_matchers(e, m, p);
    p->secs = cli_now_seconds() - t0;
    eqlite_reader_stats st;
    eqlite_reader_stats_get(rd, &st);
    p->bytes = st.bytes_out;
    eqlite_reader_close(rd);
    return 0;
}

static int floor_pass(eng *e, const char *path, pass *p)
{
    eqlite_reader_options o;
    eng_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK)
        return 2;
    uint64_t valid = 0, bad = 0;
    double t0 = cli_now_seconds();
    eqlite_reader_parse_only(rd, &valid, &bad);
    p->secs = cli_now_seconds() - t0;
    eqlite_reader_stats st;
    eqlite_reader_stats_get(rd, &st);
    p->bytes = st.bytes_out;
    p->events = valid;
    eqlite_reader_close(rd);
    return 0;
}

static int generated_pass(eng *e, const eqlite_event *events, size_t n, pass *p)
{
    eqlite_matcher **m = new_matchers(e);
    double t0 = cli_now_seconds();
    for (size_t k = 0; k < n; k++)
        feed(e, m, &events[k], p);
    free_matchers(e, m, p);
    p->secs = cli_now_seconds() - t0;
    p->events = n;
    return 0;
}

/* ---- report ------------------------------------------------------------- */

static void print_line(const char *what, const pass *p)
{
    double secs = p->secs > 0 ? p->secs : 1e-9;
    printf("%-34s %8.3f s %12.0f events/s %9.1f MB/s %8.1f ns/event", what, p->secs, (double)p->events / secs,
           (double)p->bytes / 1e6 / secs, secs * 1e9 / (double)(p->events ? p->events : 1));
}

static void print_rules(const eng *e, const pass *p)
{
    if (e->nrules < 2)
        return;
    printf("per rule (clocked around each feed call):\n");
    for (size_t k = 0; k < e->nrules; k++)
        printf("  %10.1f ns/event %10llu matches  %s%s%s\n", p->rule_secs[k] * 1e9 / (double)(p->events ? p->events : 1),
               (unsigned long long)p->rule_matches[k], e->rules[k].id, e->rules[k].name ? "  " : "",
               e->rules[k].name ? e->rules[k].name : "");
}

static void print_matches(const eng *e, const pass *p)
{
    printf("matches per rule (--per-rule adds a clocked pass with each rule's ns/event):\n");
    for (size_t k = 0; k < e->nrules; k++)
        printf("  %10llu matches  %s%s%s\n", (unsigned long long)p->rule_matches[k], e->rules[k].id,
               e->rules[k].name ? "  " : "", e->rules[k].name ? e->rules[k].name : "");
}

static void reset_pass(pass *p, size_t nrules)
{
    memset(p->rule_secs, 0, nrules * sizeof *p->rule_secs);
    memset(p->rule_matches, 0, nrules * sizeof *p->rule_matches);
    p->secs = 0;
    p->events = p->bytes = p->matches = 0;
}

/* The whole `eqlite query` path (mapped chunks for plain files), results
 * counted, not written. */
static int command_pass(eng *e, const char *path, int jobs, pass *p)
{
    char *paths[] = {(char *)path};
    reset_run(e, false);
    double t0 = cli_now_seconds();
    int status = eng_run(e, paths, 1, jobs);
    p->secs = cli_now_seconds() - t0;
    p->events = e->totals.events;
    p->bytes = e->totals.bytes;
    p->matches = e->totals.matches;
    return status;
}

/* Best of `repeat` runs of query and floor, interleaved so both see the same machine. */
static int run_file(eng *e, const bench_args *a)
{
    pass best = {0}, cur = {0}, floor_best = {0}, floor_cur = {0};
    cur.rule_secs = calloc(e->nrules, sizeof(double));
    cur.rule_matches = calloc(e->nrules, sizeof(uint64_t));
    best.rule_secs = calloc(e->nrules, sizeof(double));
    best.rule_matches = calloc(e->nrules, sizeof(uint64_t));
    pass cmd_best[2] = {{0}}, cmd_cur;
    int status = 0;
    for (int r = 0; r < a->repeat && status == 0; r++) {
        for (int j = 0; j < 2 && status == 0; j++) {
            memset(&cmd_cur, 0, sizeof cmd_cur);
            status = command_pass(e, a->file, j + 1, &cmd_cur);
            if (r == 0 || cmd_cur.secs < cmd_best[j].secs)
                cmd_best[j] = cmd_cur;
        }
        memset(&floor_cur, 0, sizeof floor_cur);
        status = floor_pass(e, a->file, &floor_cur);
        if (r == 0 || floor_cur.secs < floor_best.secs)
            floor_best = floor_cur;
        reset_pass(&cur, e->nrules);
        status = status ? status : scan_pass(e, a->file, &cur, r == 0);
        if (r == 0 || cur.secs < best.secs) {
            double *rs = best.rule_secs;
            uint64_t *rm = best.rule_matches;
            memcpy(rs, cur.rule_secs, e->nrules * sizeof *rs);
            memcpy(rm, cur.rule_matches, e->nrules * sizeof *rm);
            best = cur;
            best.rule_secs = rs;
            best.rule_matches = rm;
        }
    }
    if (status == 0) {
        printf("%s: %llu events, %.1f MB, %zu rule%s, best of %d\n", a->file, (unsigned long long)best.events,
               (double)best.bytes / 1e6, e->nrules, e->nrules == 1 ? "" : "s", a->repeat);
        print_line("parse floor (simdjson, no fields)", &floor_best);
        printf("\n");
        print_line(e->nrules > 1 ? "ruleset (read+project+match)" : "query (read+project+match)", &best);
        printf("  %llu matches  %.2fx floor\n", (unsigned long long)best.matches,
               best.secs / (floor_best.secs > 0 ? floor_best.secs : 1e-9));
        bool in_order = false;
        char *paths[] = {(char *)a->file};
        if (e->nrules > 1 && (a->per_rule || e->nrules <= 64) && e->ordered && eng_can_split(a->file) &&
            eng_files_in_order(e, paths, 1, 1, &in_order) == 0 && !in_order) {
            printf("(no per-rule pass: the file is not in order, and one matcher per rule reads it as it is)\n");
            print_matches(e, &best);
        } else if (e->nrules > 1 && (a->per_rule || e->nrules <= 64)) {
            pass clocked = {0};
            clocked.rule_secs = calloc(e->nrules, sizeof(double));
            clocked.rule_matches = calloc(e->nrules, sizeof(uint64_t));
            if (clocked.rule_secs && clocked.rule_matches && file_pass(e, a->file, &clocked) == 0) {
                print_line("one matcher per rule, clocked", &clocked);
                printf("\n");
                print_rules(e, &clocked);
            }
            free(clocked.rule_secs);
            free(clocked.rule_matches);
        } else if (e->nrules > 1) {
            print_matches(e, &best);
        }
        print_line("eqlite query -j 1 (whole command)", &cmd_best[0]);
        printf("  %.2fx floor\n", cmd_best[0].secs / (floor_best.secs > 0 ? floor_best.secs : 1e-9));
        print_line("eqlite query -j 2 (whole command)", &cmd_best[1]);
        printf("  %.2fx faster than -j 1\n", cmd_best[0].secs / (cmd_best[1].secs > 0 ? cmd_best[1].secs : 1e-9));
    }
    free(cur.rule_secs);
    free(cur.rule_matches);
    free(best.rule_secs);
    free(best.rule_matches);
    return status;
}

static int run_generated(eng *e, const bench_args *a)
{
    gen_events *g;
    if (gen_events_make(e->schema, a->generate, a->seed, &g) != EQLITE_OK)
        return 2;
    size_t n;
    const eqlite_event *events = gen_events_items(g, &n);
    pass p = {0};
    p.rule_secs = calloc(e->nrules, sizeof(double));
    p.rule_matches = calloc(e->nrules, sizeof(uint64_t));
    pass best = {0};
    for (int r = 0; r < a->repeat; r++) { /* per-rule figures are the last run's */
        reset_pass(&p, e->nrules);
        generated_pass(e, events, n, &p);
        if (r == 0 || p.secs < best.secs)
            best = p;
    }
    printf("generated: %zu events (seed %llu), %zu rule%s, best of %d (no JSON: match only)\n", n,
           (unsigned long long)a->seed, e->nrules, e->nrules == 1 ? "" : "s", a->repeat);
    print_line("match", &best);
    printf("  %llu matches\n", (unsigned long long)best.matches);
    print_rules(e, &p);
    free(p.rule_secs);
    free(p.rule_matches);
    gen_events_free(g);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a = {0};
    int status = parse_bench_args(argc, argv, &a);
    if (status >= 0) {
        free(a.mappings);
        return status;
    }
    eng e;
    status = eng_init(&e, &a.opt);
    if (status == 0)
        status = load_bench_rules(&e, &a);
    if (status == 0 && a.generate) { /* the generator's fields must be known before projection */
        gen_events *g;
        if (gen_events_make(e.schema, 0, a.seed, &g) == EQLITE_OK)
            gen_events_free(g);
    }
    if (status == 0)
        status = eng_prepare(&e);
    if (status == 0)
        status = a.file ? run_file(&e, &a) : run_generated(&e, &a);
    eng_free(&e);
    free(a.mappings);
    return status;
}
