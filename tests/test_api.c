/* Public API contract: every pointer argument may be NULL (or a buffer may be
 * too small) without a crash; misuse is EQLITE_EMISUSE, frees are no-ops. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "eqlite_io.h"

static eqlite_schema *schema;
static eqlite_program *event_rule;
static eqlite_program *sequence_rule;

static void setup(void)
{
    eqlite_diag d;
    cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK);
    eqlite_schema_set_grow(schema, 1);
    const char *ev = "process where process.name == \"cmd.exe\"";
    const char *seq = "sequence by host.id [process where true] [network where true]";
    cr_assert_eq(eqlite_compile(schema, ev, strlen(ev), &event_rule, &d), EQLITE_OK);
    cr_assert_eq(eqlite_compile(schema, seq, strlen(seq), &sequence_rule, &d), EQLITE_OK);
}

static void teardown(void)
{
    eqlite_program_free(event_rule);
    eqlite_program_free(sequence_rule);
    eqlite_schema_free(schema);
}

TestSuite(api, .init = setup, .fini = teardown);

Test(api, frees_accept_null)
{
    eqlite_schema_free(NULL);
    eqlite_program_free(NULL);
    eqlite_matcher_free(NULL);
    eqlite_ruleset_free(NULL);
    eqlite_scanner_free(NULL);
}

Test(api, schema_calls_reject_null)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_new(NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_add(NULL, "a", 1, EQLITE_T_KEYWORD, &id), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_add(schema, NULL, 1, EQLITE_T_KEYWORD, &id), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_add_alias(schema, NULL, 1, "a", 1), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_add_alias(schema, "b", 1, NULL, 1), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_load_mapping(NULL, "{}", 2, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_load_mapping(schema, NULL, 2, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_set_category_field(schema, NULL, 3), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_set_timestamp_field(schema, NULL, 3), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_set_tiebreaker_field(schema, NULL, 3), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_lookup(NULL, "a", 1, &id), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_lookup(schema, NULL, 1, &id), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_schema_field_count(NULL), 0);
    cr_assert_null(eqlite_schema_field_name(NULL, 0, NULL));
    eqlite_schema_set_grow(NULL, 1);
}

Test(api, compile_and_text_calls_reject_null)
{
    eqlite_program *p;
    eqlite_diag d;
    char buf[64];
    size_t need;
    eqlite_value v;
    cr_assert_eq(eqlite_compile(schema, NULL, 5, &p, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_compile(schema, "any where true", 14, NULL, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_format(NULL, 5, buf, sizeof buf, &need, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_format("any where true", 14, NULL, 64, &need, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_format("any where true", 14, NULL, 0, &need, &d), EQLITE_ELIMIT,
                 "a size query (NULL, 0) is allowed");
    cr_assert_gt(need, 14);
    cr_assert_eq(eqlite_eval_constant(NULL, 3, &v, buf, sizeof buf, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_eval_constant("1", 1, NULL, buf, sizeof buf, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_diag_format(NULL, "x", 1, buf, sizeof buf), 0);
    cr_assert_gt(eqlite_diag_format(&d, "x", 1, NULL, 64), 0, "no buffer: the length needed, nothing written");
}

Test(api, program_calls_reject_null)
{
    char buf[64];
    size_t n = 7, need = 0;
    cr_assert_null(eqlite_program_fields(NULL, &n));
    cr_assert_eq(n, 0);
    cr_assert_not_null(eqlite_program_fields(event_rule, NULL) ? event_rule : event_rule);
    cr_assert_eq(eqlite_program_explain(NULL, buf, sizeof buf, &need), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_program_explain(event_rule, NULL, 64, &need), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_program_explain(event_rule, NULL, 0, &need), EQLITE_ELIMIT);
    cr_assert_gt(need, 1, "a size query gives the length needed");
    cr_assert_eq(eqlite_program_explain(event_rule, buf, sizeof buf, NULL), EQLITE_ELIMIT);
    cr_assert_eq(buf[sizeof buf - 1], '\0', "a short buffer is NUL-terminated");
    char *full = malloc(need);
    cr_assert_eq(eqlite_program_explain(event_rule, full, need, NULL), EQLITE_OK);
    cr_assert_eq(strlen(full) + 1, need);
    cr_assert_eq(strncmp(buf, full, sizeof buf - 1), 0, "a short buffer holds the text's first cap - 1 bytes");
    free(full);
    cr_assert_eq(eqlite_program_kind(NULL), EQLITE_QUERY_INVALID);
    cr_assert_eq(eqlite_program_kind(event_rule), EQLITE_QUERY_EVENT);
    cr_assert_eq(eqlite_program_kind(sequence_rule), EQLITE_QUERY_SEQUENCE);
}

Test(api, matcher_calls_reject_null_and_bad_events)
{
    eqlite_matcher *m;
    int hit;
    cr_assert_eq(eqlite_matcher_new(NULL, NULL, &m), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_matcher_new(event_rule, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_matcher_new(event_rule, NULL, &m), EQLITE_OK);
    eqlite_event bad = {NULL, 5, 0, {0}, NULL, NULL, 0}; /* five fields promised, none given */
    cr_assert_eq(eqlite_match(m, &bad, &hit), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_feed(m, &bad, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_match(NULL, &bad, &hit), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_match(m, NULL, &hit), EQLITE_EMISUSE);
    eqlite_event empty = {NULL, 0, 0, {0}, NULL, NULL, 0};
    cr_assert_eq(eqlite_match(m, &empty, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_match(m, &empty, &hit), EQLITE_OK);
    cr_assert_eq(hit, 0);
    cr_assert_eq(eqlite_flush(NULL, NULL, NULL), EQLITE_EMISUSE);
    eqlite_stats st;
    eqlite_matcher_stats(NULL, &st);
    eqlite_matcher_stats(m, NULL);
    cr_assert_eq(eqlite_matcher_set_event_hooks(NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_matcher_set_event_hooks(m, NULL), EQLITE_OK);
    eqlite_matcher_free(m);
    cr_assert_eq(eqlite_matcher_new(sequence_rule, NULL, &m), EQLITE_OK);
    cr_assert_eq(eqlite_feed(m, &bad, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_match(m, &empty, &hit), EQLITE_EMISUSE, "a sequence is fed, not matched");
    eqlite_matcher_free(m);
}

Test(api, ruleset_calls_reject_null)
{
    eqlite_ruleset *rs;
    eqlite_scanner *sc;
    eqlite_diag d;
    eqlite_rule_info info;
    cr_assert_eq(eqlite_ruleset_new(schema, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_new(NULL, &rs), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_new(schema, &rs), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_add(NULL, "any where true", 14, NULL, NULL, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_add(rs, NULL, 14, NULL, NULL, &d), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_EMISUSE, "not finished yet");
    cr_assert_eq(eqlite_ruleset_add(rs, "any where true", 14, NULL, NULL, NULL), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_finish(NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_finish(rs), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_count(NULL), 0);
    cr_assert_eq(eqlite_ruleset_rule(NULL, 0, &info), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_rule(rs, 0, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_rule(rs, 1, &info), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_new(NULL, NULL, &sc), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_new(rs, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    eqlite_event bad = {NULL, 5, 0, {0}, NULL, NULL, 0};
    cr_assert_eq(eqlite_scanner_match(sc, &bad, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_match(sc, NULL, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_match(NULL, &bad, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_flush(NULL, NULL, NULL), EQLITE_EMISUSE);
    eqlite_scanner_stats(NULL, NULL);
    cr_assert_eq(eqlite_scanner_set_event_hooks(NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_set_event_hooks(sc, NULL), EQLITE_OK);
    eqlite_stats rst;
    cr_assert_eq(eqlite_scanner_rule_stats(NULL, 0, &rst), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_rule_stats(sc, 0, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_rule_stats(sc, 1, &rst), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_rule_stats(sc, 0, &rst), EQLITE_OK);
    eqlite_scanner_free(sc);
    eqlite_ruleset_free(rs);
}

Test(api, status_texts_cover_every_status)
{
    for (int st = EQLITE_OK; st <= EQLITE_EMISUSE + 4; st++)
        cr_assert_not_null(eqlite_strerror((eqlite_status)st));
    cr_assert_not_null(eqlite_version());
}

/* ---- what a runner plans by: program shape, stage keys, input order, profile ---- */

static eqlite_program *compiled(const char *src)
{
    eqlite_program *p;
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(schema, src, strlen(src), &p, &d), EQLITE_OK, "%s: %s", src, d.message);
    return p;
}

static uint32_t field_id(const char *name)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_lookup(schema, name, strlen(name), &id), EQLITE_OK, "%s", name);
    return id;
}

Test(api, program_info_describes_pipes_stages_and_keys)
{
    eqlite_program_info info;
    cr_assert_eq(eqlite_program_info_get(event_rule, &info), EQLITE_OK);
    cr_assert_eq(info.kind, EQLITE_QUERY_EVENT);
    cr_assert_eq(info.npipes, 0);
    cr_assert_eq(info.nstages, 0);
    cr_assert_eq(eqlite_program_info_get(sequence_rule, &info), EQLITE_OK);
    cr_assert_eq(info.kind, EQLITE_QUERY_SEQUENCE);
    cr_assert_eq(info.nstages, 2);
    cr_assert_eq(info.nkeys, 1);
    cr_assert_not(info.has_until);
    eqlite_program *p = compiled("sequence by host.id [process where true] [file where true] until [network where true] | tail 3");
    cr_assert_eq(eqlite_program_info_get(p, &info), EQLITE_OK);
    cr_assert_eq(info.nstages, 3);
    cr_assert(info.has_until);
    cr_assert_eq(info.npipes, 1);
    cr_assert(info.has_tail);
    eqlite_program_free(p);
    p = compiled("process where true | head 2");
    cr_assert_eq(eqlite_program_info_get(p, &info), EQLITE_OK);
    cr_assert_eq(info.npipes, 1);
    cr_assert_not(info.has_tail);
    eqlite_program_free(p);
    cr_assert_eq(eqlite_program_info_get(NULL, &info), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_program_info_get(event_rule, NULL), EQLITE_EMISUSE);
}

Test(api, stage_keys_name_plain_fields_and_their_flags)
{
    eqlite_program *p = compiled("sequence with maxspan=1m [process where true] by host.id, ?user.name ![file where true] by host.id, "
                                 "?user.name [network where true] by host.name, ?user.id");
    uint32_t id;
    unsigned flags;
    cr_assert_eq(eqlite_program_stage_key(p, 0, 0, &id, &flags), EQLITE_OK);
    cr_assert_eq(id, field_id("host.id"));
    cr_assert_eq(flags, 0);
    cr_assert_eq(eqlite_program_stage_key(p, 0, 1, &id, &flags), EQLITE_OK);
    cr_assert_eq(id, field_id("user.name"));
    cr_assert_eq(flags, EQLITE_KEY_OPTIONAL);
    cr_assert_eq(eqlite_program_stage_key(p, 1, 0, &id, &flags), EQLITE_OK);
    cr_assert_eq(flags, EQLITE_STAGE_MISSING);
    cr_assert_eq(eqlite_program_stage_key(p, 2, 0, &id, NULL), EQLITE_OK);
    cr_assert_eq(id, field_id("host.name"), "each stage its own field");
    cr_assert_eq(eqlite_program_stage_key(p, 3, 0, &id, NULL), EQLITE_EMISUSE, "no such stage");
    cr_assert_eq(eqlite_program_stage_key(p, 0, 2, &id, NULL), EQLITE_EMISUSE, "no such key");
    cr_assert_eq(eqlite_program_stage_key(event_rule, 0, 0, &id, NULL), EQLITE_EMISUSE, "event queries join nothing");
    eqlite_program_free(p);
    eqlite_schema_set_timestamp_field(schema, "ts", 2);
    p = compiled("sequence by ts, host.id [process where true] [file where true]");
    cr_assert_eq(eqlite_program_stage_key(p, 0, 0, &id, &flags), EQLITE_ENOTFOUND, "the timestamp is no schema field");
    cr_assert_eq(eqlite_program_stage_key(p, 0, 1, &id, &flags), EQLITE_OK, "the next key still is");
    cr_assert_eq(id, field_id("host.id"));
    eqlite_program_free(p);
}

Test(api, event_order_is_timestamp_then_tiebreaker)
{
    eqlite_event a = {.timestamp = 1}, b = {.timestamp = 2};
    cr_assert_lt(eqlite_event_order(&a, &b), 0);
    cr_assert_gt(eqlite_event_order(&b, &a), 0);
    b.timestamp = 1;
    a.tiebreaker = (eqlite_value){.kind = EQLITE_STRING, .u.s = "ab", .len = 2};
    b.tiebreaker = (eqlite_value){.kind = EQLITE_STRING, .u.s = "abc", .len = 3};
    cr_assert_lt(eqlite_event_order(&a, &b), 0, "a prefix comes first");
    b.tiebreaker = (eqlite_value){.kind = EQLITE_INT, .u.i = 5};
    cr_assert_eq(eqlite_event_order(&a, &b), 0, "a string and a number tie");
    a.tiebreaker = (eqlite_value){.kind = EQLITE_DOUBLE, .u.d = 4.5};
    cr_assert_lt(eqlite_event_order(&a, &b), 0, "numbers compare as numbers");
    a.tiebreaker = (eqlite_value){.kind = EQLITE_NULL};
    cr_assert_eq(eqlite_event_order(&a, &b), 0, "null ties with any");
}

static int count_result(void *user, const eqlite_rule_info *rule, const eqlite_result *r)
{
    (void)rule;
    (void)r;
    ++*(int *)user;
    return 0;
}

Test(api, scanner_profile_counts_runs_and_time_per_rule)
{
    eqlite_ruleset *rs;
    eqlite_scanner *sc;
    cr_assert_eq(eqlite_ruleset_new(schema, &rs), EQLITE_OK);
    const char *a = "process where process.name == \"cmd.exe\"", *b = "network where true";
    cr_assert_eq(eqlite_ruleset_add(rs, a, strlen(a), "a", "a", NULL), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_add(rs, b, strlen(b), "b", "b", NULL), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_finish(rs), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    uint64_t ns[2] = {0}, runs[2] = {0};
    cr_assert_eq(eqlite_scanner_profile(sc, ns, NULL), EQLITE_EMISUSE, "both arrays or neither");
    cr_assert_eq(eqlite_scanner_profile(NULL, ns, runs), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_profile(sc, ns, runs), EQLITE_OK);
    uint32_t cat = field_id("event.category"), name = field_id("process.name");
    uint32_t n = (cat > name ? cat : name) + 1;
    eqlite_value *fields = calloc(n, sizeof *fields);
    fields[cat] = (eqlite_value){.kind = EQLITE_STRING, .u.s = "process", .len = 7};
    fields[name] = (eqlite_value){.kind = EQLITE_STRING, .u.s = "cmd.exe", .len = 7};
    eqlite_event ev = {.fields = fields, .nfields = n, .timestamp = 1};
    int hits = 0;
    cr_assert_eq(eqlite_scanner_match(sc, &ev, count_result, &hits), EQLITE_OK);
    cr_assert_eq(hits, 1);
    cr_assert_eq(runs[0], 1, "the process rule ran");
    cr_assert_eq(runs[1], 0, "the network rule did not");
    cr_assert_eq(eqlite_scanner_profile(sc, NULL, NULL), EQLITE_OK, "off");
    cr_assert_eq(eqlite_scanner_match(sc, &ev, count_result, &hits), EQLITE_OK);
    cr_assert_eq(runs[0], 1, "no longer counted");
    free(fields);
    eqlite_scanner_free(sc);
    eqlite_ruleset_free(rs);
}
