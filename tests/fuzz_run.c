/* fuzz_run.c: libFuzzer target that compiles a rule and runs it. The input
 * is a rule, a blank line, then NDJSON events: whatever compiles is matched
 * (event queries) or fed and flushed (sequences, samples, pipes) over every
 * event the reader accepts. Any bytes must end in results, a diagnostic or
 * an error status: never a crash, a hang or a leak. The VM stack overflow
 * that `f1 + (f2 + (...))` caused is the kind of bug this reaches. */
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t rule_len, events_len;
    const uint8_t *events;
    fuzz_split(data, size, &rule_len, &events, &events_len);
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 0;
    eqlite_schema_set_grow(schema, 1);
    eqlite_schema_set_tiebreaker_field(schema, "event.sequence", 14);
    eqlite_program *prog = NULL;
    eqlite_diag diag;
    if (eqlite_compile(schema, (const char *)data, rule_len, &prog, &diag) != EQLITE_OK) {
        eqlite_schema_free(schema);
        return 0;
    }
    eqlite_limits limits = {0};
    limits.max_partials = 64; /* small caps: eviction paths run too */
    limits.size = size % 7;
    eqlite_matcher *m = NULL;
    eq_ndjson_field *fields = NULL;
    eq_ndjson *r = NULL;
    if (eqlite_matcher_new(prog, &limits, &m) == EQLITE_OK)
        r = fuzz_reader(schema, events, events_len, &fields);
    uint64_t h = 0;
    eqlite_event ev;
    eq_ndjson_record rec;
    int k;
    while (r && (k = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && k != EQ_NDJSON_FATAL) {
        if (k != EQ_NDJSON_EVENT)
            continue;
        int hit = 0;
        if (eqlite_program_kind(prog) == EQLITE_QUERY_EVENT && (size & 8))
            eqlite_match(m, &ev, &hit); /* the leaf fast path */
        else
            eqlite_feed(m, &ev, fuzz_on_result, &h);
        h += (uint64_t)hit;
    }
    if (m)
        eqlite_flush(m, fuzz_on_result, &h);
    eq_ndjson_close(r);
    free(fields);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return h == 0xfeedfacecafe; /* keep h alive */
}
