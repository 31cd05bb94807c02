/* fuzz_ruleset.c: libFuzzer target for the many-rule path. The input is up
 * to 8 rules separated by ';' lines, a blank line, then NDJSON events; the
 * rules that compile form one ruleset (guard index, scanner, streaming
 * sequences and samples), and every event is scanned, then the scanner is
 * flushed. Out-of-order events (EQLITE_EORDER) and undecidable tests are
 * statuses, never crashes. The same events also go through two scanners
 * that each select half the rules and match from a third one's marks (what
 * `eqlite query -j` does); their results must add up to the whole one's. */
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_rule(void *user, const eqlite_rule_info *rule, const eqlite_result *res)
{
    *(uint64_t *)user += rule->index;
    return fuzz_on_result(user, res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t rules_len, events_len;
    const uint8_t *events;
    fuzz_split(data, size, &rules_len, &events, &events_len);
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 0;
    eqlite_schema_set_grow(schema, 1);
    eqlite_ruleset *rs;
    if (eqlite_ruleset_new(schema, &rs) != EQLITE_OK) {
        eqlite_schema_free(schema);
        return 0;
    }
    const char *text = (const char *)data, *end = text + rules_len;
    for (int n = 0; n < 8 && text < end; n++) {
        const char *semi = memchr(text, ';', (size_t)(end - text));
        const char *stop = semi ? semi : end;
        eqlite_diag diag;
        eqlite_ruleset_add(rs, text, (size_t)(stop - text), "r", NULL, &diag);
        text = semi ? semi + 1 : end;
    }
    eqlite_limits limits = {0};
    limits.max_partials = 32;
    limits.max_samples_per_key = size % 5;
    eqlite_scanner *sc = NULL, *marker = NULL, *half[2] = {NULL, NULL};
    eq_ndjson_field *fields = NULL;
    eq_ndjson *r = NULL;
    uint64_t marks[64], even[1] = {UINT64_C(0x5555555555555555)}, odd[1] = {UINT64_C(0xaaaaaaaaaaaaaaaa)};
    if (eqlite_ruleset_finish(rs) == EQLITE_OK && eqlite_scanner_new(rs, &limits, &sc) == EQLITE_OK &&
        eqlite_ruleset_marks_words(rs) <= 64 && eqlite_scanner_new(rs, &limits, &marker) == EQLITE_OK &&
        eqlite_scanner_new(rs, &limits, &half[0]) == EQLITE_OK && eqlite_scanner_new(rs, &limits, &half[1]) == EQLITE_OK &&
        eqlite_scanner_select(half[0], even) == EQLITE_OK && eqlite_scanner_select(half[1], odd) == EQLITE_OK)
        r = fuzz_reader(schema, events, events_len, &fields);
    uint64_t h = 0, split = 0;
    eqlite_event ev;
    eq_ndjson_record rec;
    int k;
    while (r && (k = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && k != EQ_NDJSON_FATAL) {
        if (k != EQ_NDJSON_EVENT)
            continue;
        eqlite_scanner_match(sc, &ev, on_rule, &h);
        if (eqlite_scanner_mark(marker, &ev, marks) != EQLITE_OK)
            abort(); /* only memory can fail it, and the fuzzer's does not */
        for (int j = 0; j < 2; j++)
            eqlite_scanner_match_marked(half[j], &ev, marks, on_rule, &split);
    }
    if (r) {
        eqlite_scanner_flush(sc, on_rule, &h);
        for (int j = 0; j < 2; j++)
            eqlite_scanner_flush(half[j], on_rule, &split);
        if (split != h)
            abort(); /* the split lost or added a result */
    }
    eq_ndjson_close(r);
    free(fields);
    eqlite_scanner_free(sc);
    eqlite_scanner_free(marker);
    for (int j = 0; j < 2; j++)
        eqlite_scanner_free(half[j]);
    eqlite_ruleset_free(rs);
    eqlite_schema_free(schema);
    return h == 0xfeedfacecafe;
}
