/* bench_compile.c: compiles every corpus rule (grow-mode schema, as the
 * ruleset does) and prints the total and the slowest rule.
 *
 *   bench_compile [--shared DIR] [--repeat N]
 *
 * Target (release build): total < 100 ms. Each pass starts from an empty
 * schema. The machines here are shared and noisy, so the total is the best
 * pass and each rule's time is its best over the passes (a single pass can
 * charge a preemption to whichever rule was compiling). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

/* One pass; best_ms[k] keeps rule k's fastest time. Returns the pass total. */
static double compile_all(const corpus_rule *rules, size_t n, double *best_ms, size_t *failed)
{
    eqlite_schema *schema = NULL;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return -1;
    eqlite_schema_set_grow(schema, 1);
    double total = 0;
    *failed = 0;
    for (size_t k = 0; k < n; k++) {
        eqlite_program *prog = NULL;
        double t0 = now_seconds();
        eqlite_status st = eqlite_compile(schema, rules[k].query, rules[k].len, &prog, NULL);
        double ms = (now_seconds() - t0) * 1e3;
        eqlite_program_free(prog);
        total += ms;
        *failed += st != EQLITE_OK;
        if (best_ms[k] == 0 || ms < best_ms[k])
            best_ms[k] = ms;
    }
    eqlite_schema_free(schema);
    return total;
}

int main(int argc, char **argv)
{
    bench_options opt;
    if (!bench_parse_options(argc, argv, &opt))
        return 2;
    size_t n;
    corpus_rule *rules = corpus_load(bench_shared_path(&opt, "corpus/detection-rules-eql.jsonl"), &n);
    double *best_ms = rules ? calloc(n, sizeof *best_ms) : NULL;
    if (!best_ms) {
        fprintf(stderr, "no corpus under %s (--shared DIR)\n", opt.shared);
        return 2;
    }
    double best_total = -1;
    size_t failed = 0;
    for (int r = 0; r < opt.repeat; r++) {
        double t = compile_all(rules, n, best_ms, &failed);
        if (t >= 0 && (best_total < 0 || t < best_total))
            best_total = t;
    }
    size_t chars = 0, slowest = 0;
    double sum_best = 0;
    for (size_t k = 0; k < n; k++) {
        chars += rules[k].len;
        sum_best += best_ms[k];
        if (best_ms[k] > best_ms[slowest])
            slowest = k;
    }
    printf("compiled %zu rules (%zu chars, %zu failed), best of %d passes: total %.1f ms (target < 100 ms); "
           "sum of per-rule bests %.1f ms\n",
           n, chars, failed, opt.repeat, best_total, sum_best);
    const corpus_rule *s = &rules[slowest];
    printf("slowest: \"%s\" (%zu chars) %.2f ms\n", s->name ? s->name : "?", s->len, best_ms[slowest]);
    free(best_ms);
    corpus_free(rules, n);
    return failed ? 1 : 0;
}
