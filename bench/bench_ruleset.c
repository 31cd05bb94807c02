/* bench_ruleset.c: all corpus rules compiled together as one ruleset
 * (grow-mode schema) over the generated events, on one core.
 *
 *   bench_ruleset [--events N] [--seed S] [--shared DIR] [--repeat N]
 *
 * Prints events/s (target >= 250,000), rules run per event, and the ten
 * rules that cost the most per event of the stream, timed inside the whole
 * ruleset (a profiled pass over the first 100,000 events), so each sees
 * exactly the events the guard index hands it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "gen_events.h"
#include "ruleset.h"

#define COST_SAMPLE 100000

static int count_match(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    (void)rule;
    (void)result;
    ++*(uint64_t *)user;
    return 0;
}

static eqlite_ruleset *build(eqlite_schema *schema, const corpus_rule *rules, size_t nrules, size_t *failed)
{
    eqlite_ruleset *rs = NULL;
    if (eqlite_ruleset_new(schema, &rs) != EQLITE_OK)
        return NULL;
    *failed = 0;
    for (size_t k = 0; k < nrules; k++) {
        eqlite_diag diag;
        if (eqlite_ruleset_add(rs, rules[k].query, rules[k].len, rules[k].name, rules[k].id, &diag) != EQLITE_OK) {
            if (++*failed <= 5)
                fprintf(stderr, "rule %zu (%s): %u:%u: %s\n", k, rules[k].name ? rules[k].name : "?", diag.line,
                        diag.column, diag.message);
        }
    }
    if (eqlite_ruleset_finish(rs) != EQLITE_OK) {
        eqlite_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

typedef struct pass_result {
    double seconds;
    uint64_t matches;
    eqlite_scanner_counts stats;
    eqlite_status first_error;
} pass_result;

/* One pass with a fresh scanner (sequences start empty). */
static int scan_pass(const eqlite_ruleset *rs, const eqlite_event *evs, size_t n, pass_result *out)
{
    eqlite_scanner *sc = NULL;
    if (eqlite_scanner_new(rs, NULL, &sc) != EQLITE_OK)
        return 0;
    uint64_t matches = 0;
    eqlite_status first = EQLITE_OK;
    double t0 = now_seconds();
    for (size_t i = 0; i < n; i++) {
        eqlite_status st = eqlite_scanner_match(sc, &evs[i], count_match, &matches);
        if (st != EQLITE_OK && first == EQLITE_OK)
            first = st;
    }
    eqlite_status st = eqlite_scanner_flush(sc, count_match, &matches);
    if (st != EQLITE_OK && first == EQLITE_OK)
        first = st;
    out->seconds = now_seconds() - t0;
    out->matches = matches;
    out->first_error = first;
    eqlite_scanner_stats(sc, &out->stats);
    eqlite_scanner_free(sc);
    return 1;
}

/* The events again, each listing the ids of its fields that hold a value,
 * as the NDJSON reader's events do (one allocation for all the lists). */
static eqlite_event *with_present_lists(const eqlite_event *evs, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t id = 0; id < evs[i].nfields; id++)
            total += evs[i].fields[id].kind != EQLITE_NULL;
    eqlite_event *out = malloc((n ? n : 1) * sizeof *out);
    uint32_t *ids = malloc((total ? total : 1) * sizeof *ids);
    if (!out || !ids) {
        free(out);
        free(ids);
        return NULL;
    }
    for (size_t i = 0, used = 0; i < n; i++) {
        out[i] = evs[i];
        out[i].present = ids + used;
        for (size_t id = 0; id < evs[i].nfields; id++)
            if (evs[i].fields[id].kind != EQLITE_NULL)
                ids[used++] = (uint32_t)id;
        out[i].npresent = (size_t)(ids + used - out[i].present);
    }
    if (n == 0)
        out[0].present = ids; /* freed through the first event */
    return out;
}

/* Internal (lib/ruleset.c): per-rule time and runs while a scanner runs. */

typedef struct rule_cost {
    size_t index;
    double ns_per_event, runs_per_event;
    uint64_t matches;
} rule_cost;

static int by_cost_desc(const void *a, const void *b)
{
    double x = ((const rule_cost *)a)->ns_per_event, y = ((const rule_cost *)b)->ns_per_event;
    return (x < y) - (x > y);
}

static int count_rule_match(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    (void)result;
    ((uint64_t *)user)[rule->index]++;
    return 0;
}

/* Where the time goes inside the whole ruleset: one profiled pass over the
 * first events times every rule run (the guard index decides which rules
 * run, and its choices depend on the whole corpus, so rules are measured
 * in place, not alone). The rest of the pass is the index itself. */
static void rule_costs(const eqlite_ruleset *rs, const corpus_rule *rules, size_t nrules, const eqlite_event *evs,
                       size_t n)
{
    uint64_t *ns = calloc(nrules + 1, sizeof *ns), *runs = calloc(nrules + 1, sizeof *runs),
             *matches = calloc(nrules + 1, sizeof *matches);
    rule_cost *costs = calloc(nrules + 1, sizeof *costs);
    eqlite_scanner *sc = NULL;
    if (!ns || !runs || !matches || !costs || eqlite_scanner_new(rs, NULL, &sc) != EQLITE_OK) {
        free(ns), free(runs), free(matches), free(costs);
        return;
    }
    eqlite_scanner_profile(sc, ns, runs);
    double t0 = now_seconds();
    for (size_t i = 0; i < n; i++)
        eqlite_scanner_match(sc, &evs[i], count_rule_match, matches);
    eqlite_scanner_flush(sc, count_rule_match, matches);
    double pass_ns = (now_seconds() - t0) * 1e9;
    eqlite_scanner_free(sc);
    double total = 0, streaming = 0;
    for (size_t k = 0; k < nrules; k++) {
        costs[k] = (rule_cost){k, (double)ns[k] / (double)n, (double)runs[k] / (double)n, matches[k]};
        total += costs[k].ns_per_event;
        const char *q = rules[k].query;
        q += strspn(q, " \t\n");
        if (strncmp(q, "sequence", 8) == 0 || strncmp(q, "sample", 6) == 0)
            streaming += costs[k].ns_per_event;
    }
    qsort(costs, nrules, sizeof *costs, by_cost_desc);
    printf("per-rule cost inside the ruleset, one profiled pass over the first %zu events (timer overhead "
           "included): rules %.0f ns/event (sequences and samples %.0f), index and dispatch %.0f ns/event\n",
           n, total, streaming, pass_ns / (double)n - total);
    printf("  %-4s %10s %7s %9s %8s  %-10s %s\n", "rank", "ns/event", "share", "runs/ev", "matches", "category", "rule");
    for (size_t k = 0; k < nrules && k < 10; k++) {
        const corpus_rule *r = &rules[costs[k].index];
        char category[16];
        const char *q = r->query;
        q += strspn(q, " \t\n");
        size_t w = strcspn(q, " \t\n");
        snprintf(category, sizeof category, "%.*s", (int)(w < 15 ? w : 15), q);
        printf("  %-4zu %10.1f %6.1f%% %9.3f %8llu  %-10s %s\n", k + 1, costs[k].ns_per_event,
               total > 0 ? 100.0 * costs[k].ns_per_event / total : 0, costs[k].runs_per_event,
               (unsigned long long)costs[k].matches, category, r->name ? r->name : "?");
    }
    free(ns), free(runs), free(matches), free(costs);
}

int main(int argc, char **argv)
{
    bench_options opt;
    if (!bench_parse_options(argc, argv, &opt))
        return 2;
    size_t nrules;
    corpus_rule *rules = corpus_load(bench_shared_path(&opt, "corpus/detection-rules-eql.jsonl"), &nrules);
    if (!rules) {
        fprintf(stderr, "no corpus under %s (--shared DIR)\n", opt.shared);
        return 2;
    }
    eqlite_schema *schema = NULL;
    gen_events *g = NULL;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK || gen_events_make(schema, opt.events, opt.seed, &g) != EQLITE_OK) {
        fprintf(stderr, "cannot generate events\n");
        return 2;
    }
    eqlite_schema_set_grow(schema, 1);
    size_t failed = 0, n;
    double t0 = now_seconds();
    eqlite_ruleset *rs = build(schema, rules, nrules, &failed);
    double compile_ms = (now_seconds() - t0) * 1e3;
    if (!rs)
        return 2;
    printf("ruleset: %zu rules compiled (%zu failed) in %.1f ms; schema has %zu fields\n",
           eqlite_ruleset_count(rs), failed, compile_ms, eqlite_schema_field_count(schema));
    const eqlite_event *evs = gen_events_items(g, &n);
    eqlite_event *listed = with_present_lists(evs, n);
    if (!listed) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    /* interleaved, so both see the same machine */
    pass_result best = {0}, best_listed = {0};
    for (int r = 0; r < opt.repeat; r++) {
        pass_result p;
        if (scan_pass(rs, evs, n, &p) && (best.seconds == 0 || p.seconds < best.seconds))
            best = p;
        if (scan_pass(rs, listed, n, &p) && (best_listed.seconds == 0 || p.seconds < best_listed.seconds))
            best_listed = p;
    }
    if (best.matches != best_listed.matches)
        fprintf(stderr, "present lists changed the matches: %llu vs %llu\n", (unsigned long long)best.matches,
                (unsigned long long)best_listed.matches);
    printf("all rules over %zu events, one core, best of %d passes:\n", n, opt.repeat);
    printf("  %.0f events/s (target >= 250,000), %.2f us/event\n", (double)n / best.seconds,
           best.seconds * 1e6 / (double)n);
    printf("  with present-field lists (as the reader gives): %.0f events/s, %.2f us/event (%.2fx)\n",
           (double)n / best_listed.seconds, best_listed.seconds * 1e6 / (double)n,
           best.seconds / best_listed.seconds);
    printf("  %.1f rule evaluations per event (of %zu rules), %llu matches\n",
           (double)best.stats.rules_run / (double)n, eqlite_ruleset_count(rs), (unsigned long long)best.matches);
    if (best.stats.errors)
        printf("  %llu rule evaluations failed; first: %s\n", (unsigned long long)best.stats.errors,
               eqlite_strerror(best.first_error));
    rule_costs(rs, rules, nrules, evs, n < COST_SAMPLE ? n : COST_SAMPLE);
    free((void *)listed[0].present);
    free(listed);
    eqlite_ruleset_free(rs);
    gen_events_free(g);
    eqlite_schema_free(schema);
    corpus_free(rules, nrules);
    return failed ? 1 : 0;
}
