/* fuzz_rule_index.c: libFuzzer target for silent wrong answers of the rule
 * index. The input becomes rules and events (rule_index_cases.h); every
 * rule's results through the ruleset must equal its results alone
 * (ruleset_diff.h). A difference prints the case as C and aborts.
 * FUZZ_RULE_INDEX_PRINT=1 prints every case (to read a minimised input);
 * FUZZ_RULE_INDEX_COUNTS=1 prints what each case matched. */
#include "rule_index_cases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static generated_case g;
    generate_case(data, size, &g);
    if (getenv("FUZZ_RULE_INDEX_PRINT"))
        print_case(stderr, &g);
    diff_text why = {0};
    diff_counts counts;
    bool same = ruleset_diff(g.grow, g.texts, g.nrules * g.copies, g.events, g.nevents, &why, &counts);
    if (getenv("FUZZ_RULE_INDEX_COUNTS"))
        fprintf(stderr, "counts: %zu of %zu rules compiled, %zu results, %zu of several events\n", counts.compiled,
                g.nrules * g.copies, counts.results, counts.sequences);
    if (!same) {
        fprintf(stderr, "%s", why.s);
        print_case(stderr, &g);
        abort();
    }
    free(why.s);
    return 0;
}
