/* test_ruleset.c: many rules evaluated together through the category index. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "cli/rule_record.h"
#include "../bench/gen_events.h"
#include "patterns.h"
#include "value.h"

/* ---- a small fixture: a schema with a few fields and events over it ---- */

enum { CATEGORY, OS, NAME, TYPE, NFIELDS };
static const char *const FIELD_NAMES[NFIELDS] = {"event.category", "host.os.type", "process.name", "event.type"};

typedef struct fixture {
    eqlite_schema *schema;
    eqlite_ruleset *rs;
    eqlite_scanner *sc;
} fixture;

static eqlite_value str(const char *s) { return (eqlite_value){EQLITE_STRING, (uint32_t)strlen(s), {.s = s}}; }

static void setup_schema(fixture *f, const eqlite_allocator *alloc)
{
    cr_assert_eq(eqlite_schema_new(alloc, &f->schema), EQLITE_OK);
    for (int k = 0; k < NFIELDS; k++) {
        uint32_t id;
        cr_assert_eq(eqlite_schema_add(f->schema, FIELD_NAMES[k], strlen(FIELD_NAMES[k]), EQLITE_T_KEYWORD, &id),
                     EQLITE_OK);
        cr_assert_eq(id, (uint32_t)k);
    }
    cr_assert_eq(eqlite_ruleset_new(f->schema, &f->rs), EQLITE_OK);
}

static void add(fixture *f, const char *rule, const char *name)
{
    eqlite_diag diag;
    eqlite_status st = eqlite_ruleset_add(f->rs, rule, strlen(rule), name, name, &diag);
    cr_assert_eq(st, EQLITE_OK, "%s: %s", rule, diag.message);
}

static void start(fixture *f)
{
    cr_assert_eq(eqlite_ruleset_finish(f->rs), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_new(f->rs, NULL, &f->sc), EQLITE_OK);
}

/* Each rule into the ruleset and, on its own, into a matcher of its own:
 * what the ruleset gives is checked against what each rule alone gives. */
static void add_each_alone(fixture *f, const char *const *rules, int n, eqlite_program **progs, eqlite_matcher **ms)
{
    for (int k = 0; k < n; k++) {
        add(f, rules[k], rules[k]);
        cr_assert_eq(eqlite_compile(f->schema, rules[k], strlen(rules[k]), &progs[k], NULL), EQLITE_OK, "%s", rules[k]);
        cr_assert_eq(eqlite_matcher_new(progs[k], NULL, &ms[k]), EQLITE_OK);
    }
}

static void teardown_fixture(fixture *f)
{
    eqlite_scanner_free(f->sc);
    eqlite_ruleset_free(f->rs);
    eqlite_schema_free(f->schema);
}

/* Matches collected by the callback: rule names joined by spaces. */
typedef struct hits {
    char names[512];
    int count;
    int stop_after; /* 0: never stop */
} hits;

static int collect(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    hits *h = user;
    cr_assert_not_null(result->program);
    cr_assert_eq(result->program, rule->program);
    size_t used = strlen(h->names);
    snprintf(h->names + used, sizeof h->names - used, "%s%s", used ? " " : "", rule->name);
    h->count++;
    return h->stop_after && h->count >= h->stop_after;
}

/* Runs one event; returns the names of the rules that matched. */
static const char *run(fixture *f, const eqlite_value *fields, hits *h)
{
    eqlite_event ev = {fields, NFIELDS, 0, {0}, NULL, NULL, 0};
    memset(h->names, 0, sizeof h->names);
    h->count = 0;
    cr_assert_eq(eqlite_scanner_match(f->sc, &ev, collect, h), EQLITE_OK);
    return h->names;
}

static uint64_t rules_run(const fixture *f)
{
    eqlite_scanner_counts st;
    eqlite_scanner_stats(f->sc, &st);
    return st.rules_run;
}

static void three_rules(fixture *f)
{
    setup_schema(f, NULL);
    add(f, "process where process.name : \"cmd.exe\"", "proc");
    add(f, "network where host.os.type == \"linux\"", "net");
    add(f, "any where host.os.type == \"windows\"", "any");
    start(f);
}

Test(ruleset, event_runs_only_its_category_and_the_always_list)
{
    fixture f = {0};
    three_rules(&f);
    eqlite_value cat = str("process");
    eqlite_value fields[NFIELDS] = {{EQLITE_ARRAY, 1, {.a = &cat}}, str("windows"), str("CMD.EXE"), str("start")};
    hits h = {.stop_after = 0};
    cr_assert_str_eq(run(&f, fields, &h), "proc any");
    cr_assert_eq(rules_run(&f), 2); /* the network rule never ran */
    teardown_fixture(&f);
}

Test(ruleset, event_without_category_runs_only_the_always_list)
{
    fixture f = {0};
    three_rules(&f);
    eqlite_value fields[NFIELDS] = {{0}, str("windows"), str("cmd.exe"), {0}};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "any");
    cr_assert_eq(rules_run(&f), 1);
    teardown_fixture(&f);
}

Test(ruleset, unknown_category_runs_only_rules_whose_guards_it_meets)
{
    fixture f = {0};
    three_rules(&f);
    eqlite_value fields[NFIELDS] = {str("registry"), str("macos"), str("cmd.exe"), {0}};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "");
    cr_assert_eq(rules_run(&f), 0); /* the any rule's guard wants host.os.type "windows" */
    teardown_fixture(&f);
}

Test(ruleset, category_lookup_is_case_sensitive_like_the_query)
{
    fixture f = {0};
    three_rules(&f);
    eqlite_value fields[NFIELDS] = {str("Process"), str("linux"), str("cmd.exe"), {0}};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "");
    teardown_fixture(&f);
}

Test(ruleset, multi_valued_category_runs_each_rule_once)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "process where true", "p");
    add(&f, "network where true", "n");
    add(&f, "any where true", "a");
    start(&f);
    eqlite_value cats[3] = {str("process"), str("network"), str("process")};
    eqlite_value fields[NFIELDS] = {{EQLITE_ARRAY, 3, {.a = cats}}, {0}, {0}, {0}};
    hits h = {0};
    run(&f, fields, &h);
    cr_assert_eq(h.count, 3, "%s", h.names);
    cr_assert_eq(rules_run(&f), 3);
    run(&f, fields, &h); /* and again on the next event */
    cr_assert_eq(h.count, 3, "%s", h.names);
    teardown_fixture(&f);
}

Test(ruleset, matches_come_in_rule_order)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "any where true", "r0");
    add(&f, "process where true", "r1");
    add(&f, "any where true", "r2");
    add(&f, "process where true", "r3");
    start(&f);
    eqlite_value fields[NFIELDS] = {str("process"), {0}, {0}, {0}};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "r0 r1 r2 r3");
    teardown_fixture(&f);
}

Test(ruleset, callback_can_stop_the_event)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "process where true", "a");
    add(&f, "process where true", "b");
    add(&f, "process where true", "c");
    start(&f);
    eqlite_value fields[NFIELDS] = {str("process"), {0}, {0}, {0}};
    hits h = {.stop_after = 2};
    cr_assert_str_eq(run(&f, fields, &h), "a b");
    h.stop_after = 0;
    cr_assert_str_eq(run(&f, fields, &h), "a b c"); /* only that event was stopped */
    teardown_fixture(&f);
}

Test(ruleset, rule_info_reports_labels_and_category)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    const char *rule = "process where true";
    cr_assert_eq(eqlite_ruleset_add(f.rs, rule, strlen(rule), "Name", "id-1", NULL), EQLITE_OK);
    rule = "any where true";
    cr_assert_eq(eqlite_ruleset_add(f.rs, rule, strlen(rule), NULL, NULL, NULL), EQLITE_OK);
    start(&f);
    cr_assert_eq(eqlite_ruleset_count(f.rs), 2);
    eqlite_rule_info info;
    cr_assert_eq(eqlite_ruleset_rule(f.rs, 0, &info), EQLITE_OK);
    cr_assert_str_eq(info.name, "Name");
    cr_assert_str_eq(info.id, "id-1");
    cr_assert_str_eq(info.category, "process");
    cr_assert_eq(info.index, 0);
    cr_assert_eq(eqlite_ruleset_rule(f.rs, 1, &info), EQLITE_OK);
    cr_assert_str_eq(info.name, "");
    cr_assert_null(info.category);
    cr_assert_eq(eqlite_ruleset_rule(f.rs, 2, &info), EQLITE_EMISUSE);
    teardown_fixture(&f);
}

Test(ruleset, bad_rule_is_reported_and_leaves_the_set_unchanged)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    eqlite_diag diag;
    const char *bad = "process where process.name == ";
    cr_assert_neq(eqlite_ruleset_add(f.rs, bad, strlen(bad), "bad", NULL, &diag), EQLITE_OK);
    cr_assert_neq(diag.code, EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_count(f.rs), 0);
    teardown_fixture(&f);
}

/* A fixture whose rule 0 is an event query, "cmd"; rule 1 comes next. */
static void with_cmd_rule(fixture *f)
{
    setup_schema(f, NULL);
    add(f, "process where process.name == \"cmd.exe\"", "cmd");
}

/* The -j split of rules 0 (an event query) and 1 (a sequence): a scanner
 * selecting each. */
static void split_scanners(fixture *f, eqlite_scanner **plain, eqlite_scanner **seq)
{
    uint64_t plain_rules[1] = {1}, seq_rules[1] = {2};
    cr_assert_eq(eqlite_scanner_new(f->rs, NULL, plain), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_new(f->rs, NULL, seq), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_select(*plain, plain_rules), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_select(*seq, seq_rules), EQLITE_OK);
}

static void free_split(fixture *f, eqlite_scanner *plain, eqlite_scanner *seq)
{
    eqlite_scanner_free(plain);
    eqlite_scanner_free(seq);
    teardown_fixture(f);
}

/* The cmd.exe rule and `sequence` (rule index 1, bit 2 of the rule words):
 * f->sc runs both, for comparison; *plain the first, *seq the sequence. */
static void cmd_and_sequence(fixture *f, const char *sequence, eqlite_scanner **plain, eqlite_scanner **seq)
{
    with_cmd_rule(f);
    add(f, sequence, "seq");
    start(f);
    split_scanners(f, plain, seq);
    cr_assert_leq(eqlite_ruleset_marks_words(f->rs), 64);
}

/* A process event named `name` at second s, over fields[NFIELDS]. */
static eqlite_event process_at(eqlite_value *fields, const char *name, int64_t s)
{
    fields[0] = str("process");
    fields[2] = str(name);
    return (eqlite_event){fields, NFIELDS, s * 1000000000, {0}, NULL, NULL, 0};
}

/* The event queries' scanner marks for the sequence's as it matches: an
 * event no sequence guard takes gives no marks (nmarks 0), and all-zero
 * marks still hand a sequence that checks time the event's time, so one
 * whose trailing missing event did not come completes there, as in a
 * scanner running both rules. */
Test(ruleset, match_mark_hands_the_other_side_only_what_it_can_take)
{
    fixture f = {0};
    eqlite_scanner *plain, *seq;
    cmd_and_sequence(&f, "sequence with maxspan=10s [process where process.name == \"a.exe\"] "
                         "![process where process.name == \"b.exe\"]", &plain, &seq);
    uint64_t seq_rules[1] = {2}, marks[64], zero[64] = {0};
    size_t nwords = eqlite_ruleset_marks_words(f.rs);
    static const struct { const char *name; int64_t s; bool marked; const char *whole; } steps[] = {
        {"a.exe", 1, true, ""},  {"cmd.exe", 2, false, "cmd"}, {"b.exe", 3, true, ""}, /* b.exe came */
        {"a.exe", 4, true, ""},  {"cmd.exe", 20, false, "cmd seq"}, /* no b.exe in 10 s */
        {"b.exe", 21, true, ""},
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        eqlite_value fields[NFIELDS] = {{0}};
        eqlite_event ev = process_at(fields, steps[i].name, steps[i].s);
        hits whole = {{0}, 0, 0}, split = {{0}, 0, 0};
        cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect, &whole), EQLITE_OK);
        size_t used = SIZE_MAX;
        cr_assert_eq(eqlite_scanner_match_mark(plain, &ev, seq_rules, marks, &used, collect, &split), EQLITE_OK);
        cr_assert_eq(used != 0, steps[i].marked, "event %zu: %zu words of marks", i, used);
        cr_assert_leq(used, nwords);
        cr_assert_eq(eqlite_scanner_match_marked(seq, &ev, used ? marks : zero, collect, &split), EQLITE_OK);
        cr_assert_str_eq(whole.names, steps[i].whole, "event %zu", i);
        cr_assert_str_eq(split.names, whole.names, "event %zu", i);
        eqlite_stats a, b;
        cr_assert_eq(eqlite_scanner_rule_stats(f.sc, 1, &a), EQLITE_OK);
        cr_assert_eq(eqlite_scanner_rule_stats(seq, 1, &b), EQLITE_OK);
        cr_assert_eq(b.pending, a.pending, "event %zu", i);
    }
    cr_assert_eq(eqlite_scanner_match_mark(plain, NULL, seq_rules, marks, &(size_t){0}, NULL, NULL), EQLITE_EMISUSE);
    free_split(&f, plain, seq);
}

/* Marks of the idle plane alone (cheaper) serve the matching side in full
 * while it holds no partial; while it holds some, it marks the event again
 * in full, and the two sides still give what one scanner gives. */
Test(ruleset, idle_marks_serve_until_a_sequence_holds_partials)
{
    fixture f = {0};
    eqlite_scanner *plain, *seq;
    cmd_and_sequence(&f, "sequence with maxspan=10s [process where process.name == \"a.exe\"] "
                         "[process where process.name == \"b.exe\"]", &plain, &seq);
    uint64_t seq_rules[1] = {2}, marks[64], zero[64] = {0};
    static const struct { const char *name; int64_t s; bool held, idle; const char *whole; } steps[] = {
        {"b.exe", 1, false, false, ""},      /* a second term, nothing held: no idle mark */
        {"a.exe", 2, false, true, ""},       /* starts a partial */
        {"cmd.exe", 3, true, false, "cmd"},  /* held: marked again */
        {"b.exe", 4, true, false, "seq"},    /* continues it: only the full marks say so */
        {"cmd.exe", 5, false, false, "cmd"}, /* nothing held again */
        {"a.exe", 6, false, true, ""},
        {"b.exe", 30, true, false, ""},      /* past maxspan: the partial goes */
        {"b.exe", 31, false, false, ""},
    };
    size_t held = 0;
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        eqlite_value fields[NFIELDS] = {{0}};
        eqlite_event ev = process_at(fields, steps[i].name, steps[i].s);
        hits whole = {{0}, 0, 0}, split = {{0}, 0, 0};
        cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect, &whole), EQLITE_OK);
        size_t used = SIZE_MAX;
        cr_assert_eq(eqlite_scanner_match_mark_idle(plain, &ev, seq_rules, marks, &used, collect, &split), EQLITE_OK);
        cr_assert_eq(used != 0, steps[i].idle, "event %zu: %zu words of idle marks", i, used);
        cr_assert_eq(eqlite_scanner_holds_partials(seq), steps[i].held, "event %zu", i);
        if (eqlite_scanner_holds_partials(seq)) {
            held++;
            cr_assert_eq(eqlite_scanner_mark_rules(seq, &ev, seq_rules, marks, &used), EQLITE_OK);
        }
        cr_assert_eq(eqlite_scanner_match_marked(seq, &ev, used ? marks : zero, collect, &split), EQLITE_OK);
        cr_assert_str_eq(whole.names, steps[i].whole, "event %zu", i);
        cr_assert_str_eq(split.names, whole.names, "event %zu", i);
    }
    cr_assert_eq(held, 3);
    free_split(&f, plain, seq);
}

/* An event the marks let only a sequence holding partials take needs its
 * fields only while the sequence holds some: until then the matching side
 * gives the same with the event's time alone (what a -j worker hands over). */
Test(ruleset, marks_say_when_the_matching_side_needs_the_event_fields)
{
    fixture f = {0};
    eqlite_scanner *plain, *seq;
    cmd_and_sequence(&f, "sequence [process where process.name == \"a.exe\"] [process where process.name == \"b.exe\"]",
                     &plain, &seq);
    uint64_t seq_rules[1] = {2}, marks[64], zero[64] = {0};
    static const struct { const char *name; bool idle, needed; const char *whole; } steps[] = {
        {"b.exe", false, false, ""},   /* a second term, and nothing held */
        {"a.exe", true, true, ""},     /* starts a partial */
        {"cmd.exe", false, false, "cmd"},
        {"b.exe", false, true, "seq"}, /* continues it */
        {"b.exe", false, false, ""},   /* nothing held again */
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        eqlite_value fields[NFIELDS] = {{0}}, none[NFIELDS] = {{0}};
        eqlite_event ev = process_at(fields, steps[i].name, (int64_t)i + 1);
        eqlite_event bare = {none, NFIELDS, ev.timestamp, {0}, NULL, NULL, 0};
        hits whole = {{0}, 0, 0}, split = {{0}, 0, 0};
        cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect, &whole), EQLITE_OK);
        size_t used = 0;
        cr_assert_eq(eqlite_scanner_match_mark(plain, &ev, seq_rules, marks, &used, collect, &split), EQLITE_OK);
        const uint64_t *m = used ? marks : zero;
        cr_assert_eq(eqlite_ruleset_marks_idle(f.rs, m), steps[i].idle, "event %zu", i);
        cr_assert_eq(eqlite_scanner_marks_need_fields(seq, m), steps[i].needed, "event %zu", i);
        /* the plain side's scanner holds nothing and selects no sequence */
        cr_assert_eq(eqlite_scanner_marks_need_fields(plain, m), 0, "event %zu", i);
        cr_assert_eq(eqlite_scanner_match_marked(seq, steps[i].needed ? &ev : &bare, m, collect, &split), EQLITE_OK);
        cr_assert_str_eq(split.names, whole.names, "event %zu", i);
        cr_assert_str_eq(whole.names, steps[i].whole, "event %zu", i);
    }
    cr_assert_eq(eqlite_ruleset_marks_idle(NULL, marks), 0);
    cr_assert_eq(eqlite_scanner_marks_need_fields(NULL, marks), 0);
    cr_assert_eq(eqlite_scanner_marks_need_fields(seq, NULL), 0);
    free_split(&f, plain, seq);
}

/* A scanner matching with another's index gives what it gives alone: the
 * index only gathers (its own selection and state stay out of it). */
Test(ruleset, match_indexed_gives_what_the_scanner_gives_alone)
{
    fixture f = {0};
    with_cmd_rule(&f);
    add(&f, "sequence with maxspan=10s [process where process.name == \"a.exe\"] "
            "[process where process.name == \"b.exe\"]", "seq");
    add(&f, "process where process.name : \"*.EXE\"", "exe");
    start(&f); /* f.sc, matching alone, for comparison */
    uint64_t plain_rules[1] = {1};
    eqlite_scanner *sc, *index;
    cr_assert_eq(eqlite_scanner_new(f.rs, NULL, &sc), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_new(f.rs, NULL, &index), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_select(index, plain_rules), EQLITE_OK);
    static const char *const names[] = {"a.exe", "cmd.exe", "b.exe", "a.exe", "x.bat", "b.exe", "b.exe"};
    static const char *const expect[] = {"exe", "cmd exe", "seq exe", "exe", "", "seq exe", "exe"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        eqlite_value fields[NFIELDS] = {str("process"), {0}, str(names[i]), {0}};
        eqlite_event ev = {fields, NFIELDS, ((int64_t)i + 1) * 1000000000, {0}, NULL, NULL, 0};
        hits alone = {{0}, 0, 0}, indexed = {{0}, 0, 0};
        cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect, &alone), EQLITE_OK);
        cr_assert_eq(eqlite_scanner_match_indexed(sc, index, &ev, collect, &indexed), EQLITE_OK);
        cr_assert_str_eq(alone.names, expect[i], "event %zu", i);
        cr_assert_str_eq(indexed.names, alone.names, "event %zu", i);
    }
    eqlite_value fields[NFIELDS] = {str("process"), {0}, str("cmd.exe"), {0}};
    eqlite_event ev = {fields, NFIELDS, 100 * INT64_C(1000000000), {0}, NULL, NULL, 0};
    cr_assert_eq(eqlite_scanner_match_indexed(sc, NULL, &ev, NULL, NULL), EQLITE_EMISUSE);
    fixture other = {0};
    setup_schema(&other, NULL);
    add(&other, "process where true", "any");
    start(&other);
    cr_assert_eq(eqlite_scanner_match_indexed(sc, other.sc, &ev, NULL, NULL), EQLITE_EMISUSE);
    teardown_fixture(&other);
    free_split(&f, index, sc);
}

Test(ruleset, misuse_is_reported)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "process where true", "a");
    cr_assert_eq(eqlite_scanner_new(f.rs, NULL, &f.sc), EQLITE_EMISUSE); /* not finished */
    cr_assert_eq(eqlite_ruleset_marks_words(f.rs), 0);
    start(&f);
    uint64_t marks[64] = {0}, rules[1] = {1};
    cr_assert_gt(eqlite_ruleset_marks_words(f.rs), 0);
    cr_assert_leq(eqlite_ruleset_marks_words(f.rs), 64);
    cr_assert_eq(eqlite_ruleset_marks_words(NULL), 0);
    cr_assert_eq(eqlite_scanner_mark(f.sc, NULL, marks), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_mark(NULL, NULL, marks), EQLITE_EMISUSE);
    size_t nmarks = SIZE_MAX;
    cr_assert_eq(eqlite_scanner_mark_rules(f.sc, NULL, rules, marks, &nmarks), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_mark_rules(f.sc, NULL, rules, marks, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_match_mark_idle(NULL, NULL, rules, marks, &nmarks, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(nmarks, SIZE_MAX);
    cr_assert_eq(eqlite_scanner_holds_partials(NULL), 0);
    cr_assert_eq(eqlite_scanner_holds_partials(f.sc), 0);
    cr_assert_eq(eqlite_scanner_match_marked(f.sc, NULL, marks, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_select(f.sc, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_select(NULL, rules), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_select(f.sc, rules), EQLITE_OK); /* before the first match */
    const char *rule = "any where true";
    cr_assert_eq(eqlite_ruleset_add(f.rs, rule, strlen(rule), "late", NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_scanner_match(f.sc, NULL, NULL, NULL), EQLITE_EMISUSE);
    cr_assert_eq(eqlite_ruleset_new(NULL, NULL), EQLITE_EMISUSE);
    eqlite_ruleset_free(NULL);
    eqlite_scanner_free(NULL);
    teardown_fixture(&f);
}

Test(ruleset, agrees_with_single_rule_matchers)
{
    static const char *const rules[] = {
        "process where process.name : (\"cmd.exe\", \"powershell.exe\") and host.os.type == \"windows\"",
        "process where event.type == \"start\" and not process.name : \"*.exe\"",
        "any where process.name like~ \"CMD*\"",
        "network where host.os.type != \"windows\"",
    };
    static const char *const names[] = {"cmd.exe", "Powershell.EXE", "bash", "cmdx"};
    static const char *const cats[] = {"process", "network", "file"};
    static const char *const oses[] = {"windows", "linux"};
    fixture f = {0};
    setup_schema(&f, NULL);
    eqlite_program *progs[4];
    eqlite_matcher *ms[4];
    add_each_alone(&f, rules, 4, progs, ms);
    start(&f);
    for (int c = 0; c < 3; c++)
        for (int o = 0; o < 2; o++)
            for (int n = 0; n < 4; n++) {
                eqlite_value fields[NFIELDS] = {str(cats[c]), str(oses[o]), str(names[n]), str("start")};
                eqlite_event ev = {fields, NFIELDS, 0, {0}, NULL, NULL, 0};
                char expected[512] = "";
                for (int k = 0; k < 4; k++) {
                    int hit = 0;
                    cr_assert_eq(eqlite_match(ms[k], &ev, &hit), EQLITE_OK);
                    if (hit)
                        snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "%s%s",
                                 expected[0] ? " " : "", rules[k]);
                }
                hits h = {0};
                cr_assert_str_eq(run(&f, fields, &h), expected);
            }
    for (int k = 0; k < 4; k++) {
        eqlite_matcher_free(ms[k]);
        eqlite_program_free(progs[k]);
    }
    teardown_fixture(&f);
}

/* ---- no allocation per event ---- */

static size_t allocations;

static void *counting_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    allocations++;
    return realloc(ptr, size);
}

Test(ruleset, event_queries_allocate_nothing_per_event)
{
    eqlite_allocator alloc = {counting_realloc, NULL};
    fixture f = {0};
    setup_schema(&f, &alloc);
    add(&f, "process where process.name : (\"cmd.exe\", \"*shell*\") and host.os.type == \"windows\"", "a");
    add(&f, "any where process.name regex~ \"c.d\\\\.exe\"", "b");
    start(&f);
    eqlite_value fields[NFIELDS] = {str("process"), str("windows"), str("CMD.exe"), {0}};
    hits h = {0};
    run(&f, fields, &h); /* warms the scratch buffers */
    size_t before = allocations;
    for (int k = 0; k < 1000; k++)
        cr_assert_str_eq(run(&f, fields, &h), "a b");
    cr_assert_eq(allocations, before);
    teardown_fixture(&f);
}

/* ---- the corpus ---- */

Test(ruleset, whole_corpus_compiles_into_one_ruleset)
{
    const char *dir = getenv("EQLITE_SHARED_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus/detection-rules-eql.jsonl", dir ? dir : "../shared");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        cr_skip_test("no corpus at %s (set EQLITE_SHARED_DIR)", path);
    eqlite_schema *schema;
    cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK);
    eqlite_schema_set_grow(schema, 1);
    eqlite_ruleset *rs;
    cr_assert_eq(eqlite_ruleset_new(schema, &rs), EQLITE_OK);
    size_t cap = 1 << 20, lines = 0, ok = 0;
    char *line = malloc(cap);
    while (fgets(line, (int)cap, fp)) {
        eq_rule_record rec;
        char err[256];
        if (eq_rule_record_parse(line, strlen(line), &rec, err, sizeof err) != 0 || !rec.query)
            continue;
        lines++;
        eqlite_diag diag;
        eqlite_status st = eqlite_ruleset_add(rs, rec.query, rec.query_len, rec.name, rec.id, &diag);
        cr_expect_eq(st, EQLITE_OK, "rule %zu: %s", lines, diag.message);
        ok += st == EQLITE_OK;
        eq_rule_record_free(&rec);
    }
    fclose(fp);
    free(line);
    cr_assert_eq(lines, 1024);
    cr_assert_eq(ok, lines);
    cr_assert_eq(eqlite_ruleset_finish(rs), EQLITE_OK);
    eqlite_scanner *sc;
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    eqlite_scanner_free(sc);
    eqlite_ruleset_free(rs);
    eqlite_schema_free(schema);
}

/* ---- the guard index: conservative on every shape it reads ---- */

typedef struct single {
    char *out;
    size_t cap;
    const char *name;
} single;

static int collect_single(void *user, const eqlite_result *result)
{
    (void)result;
    single *o = user;
    size_t used = strlen(o->out);
    snprintf(o->out + used, o->cap - used, "%s%s", used ? " " : "", o->name);
    return 0;
}

static int collect_rule(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    single *o = user;
    o->name = rule->name;
    return collect_single(user, result);
}

/* Rules whose guards come from each test shape the index reads, run over
 * every combination of values (case variants, non-ASCII folds, arrays,
 * missing fields): the ruleset agrees with each rule's own matcher. */
Test(ruleset, guard_index_agrees_with_single_rule_matchers)
{
    static const char *const rules[] = {
        "process where process.name : \"\303\251cole.exe\"",                                      /* folded, non-ASCII */
        "process where process.name in (\"cmd.exe\", \"CMD.exe\") and host.os.type == \"windows\"", /* exact set */
        "any where process.name : (\"bash\", \"Sh\") or host.os.type == \"macos\"",                /* disjunction */
        "process where event.type != null and process.name != \"x\"",                             /* presence */
        "any where (host.os.type == \"linux\" or process.name : \"cmd.exe\") and event.type == \"start\"",
        "process where not process.name : \"cmd.exe\"",          /* the category is the only guard */
        "any where process.name like~ \"C?D*\"",                 /* no guard at all */
        "process where process.name : \"cmd.exe\" and event.type in (\"start\", \"end\") | head 3",
        "sequence [process where process.name : \"cmd.exe\"] [network where host.os.type == \"linux\"]",
        "sequence with maxspan=5ms [process where process.name == \"bash\"] ![network where event.type == \"end\"]",
        /* three start guards; the second term's events meet none of them */
        "sequence [process where process.name : \"cmd.exe\" and host.os.type == \"windows\" and event.type == \"start\"]"
        " [process where process.name == \"bash\" and host.os.type == \"linux\"]",
        "sequence with maxspan=3ms [network where host.os.type == \"macos\" and event.type == \"end\"]"
        " ![process where process.name : \"SH\" and event.type == \"start\"]",
        /* join keys that some events lack: only events holding them start */
        "sequence by process.name [process where event.type == \"start\"] [network where host.os.type == \"linux\"]",
        "sequence [process where host.os.type == \"windows\"] by process.name, event.type"
        " [any where event.type == \"end\"] by process.name, host.os.type",
        "sequence by ?process.name [process where event.type == \"start\"] [network where true]",
    };
    enum { NR = sizeof rules / sizeof *rules };
    static const char *const names[] = {"cmd.exe", "CMD.EXE", "\303\211COLE.EXE", "\303\251cole.exe", "bash", "SH",
                                        NULL};
    static const char *const cats[] = {"process", "network", NULL};
    static const char *const oses[] = {"windows", "linux", "macos", NULL};
    static const char *const types[] = {"start", "end", NULL};
    enum { NN = sizeof names / sizeof *names, NC = sizeof cats / sizeof *cats, NO = sizeof oses / sizeof *oses,
           NT = sizeof types / sizeof *types };
    fixture f = {0};
    setup_schema(&f, NULL);
    eqlite_program *progs[NR];
    eqlite_matcher *ms[NR];
    add_each_alone(&f, rules, NR, progs, ms);
    start(&f);
    int64_t ts = 0;
    uint64_t total = 0;
    char expected[4096];
    for (int c = 0; c < NC; c++)
        for (int o = 0; o < NO; o++)
            for (int n = 0; n < NN; n++)
                for (int t = 0; t < NT; t++)
                    for (int arr = 0; arr < 2; arr++) {
                        eqlite_value none = {0};
                        eqlite_value name_items[2] = {str("zsh"), names[n] ? str(names[n]) : none};
                        eqlite_value fields[NFIELDS] = {cats[c] ? str(cats[c]) : none, oses[o] ? str(oses[o]) : none,
                                                        names[n] ? str(names[n]) : none,
                                                        types[t] ? str(types[t]) : none};
                        if (arr)
                            fields[NAME] = (eqlite_value){EQLITE_ARRAY, names[n] ? 2 : 1, {.a = name_items}};
                        eqlite_event ev = {fields, NFIELDS, ts, {0}, NULL, NULL, 0};
                        ts += 1000000;
                        expected[0] = 0;
                        for (int k = 0; k < NR; k++) {
                            single one = {expected, sizeof expected, rules[k]};
                            cr_assert_eq(eqlite_feed(ms[k], &ev, collect_single, &one), EQLITE_OK);
                        }
                        char got[4096] = "";
                        single all = {got, sizeof got, NULL};
                        cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect_rule, &all), EQLITE_OK);
                        cr_assert_str_eq(got, expected, "event %lld: got [%s] expected [%s]", (long long)ev.timestamp, got, expected);
                        total += strlen(expected) > 0;
                    }
    cr_assert_gt(total, 100);
    char expected_flush[4096] = "", got_flush[4096] = "";
    for (int k = 0; k < NR; k++) {
        single one = {expected_flush, sizeof expected_flush, rules[k]};
        cr_assert_eq(eqlite_flush(ms[k], collect_single, &one), EQLITE_OK);
    }
    single all = {got_flush, sizeof got_flush, NULL};
    cr_assert_eq(eqlite_scanner_flush(f.sc, collect_rule, &all), EQLITE_OK);
    cr_assert_str_eq(got_flush, expected_flush);
    for (int k = 0; k < NR; k++) {
        eqlite_matcher_free(ms[k]);
        eqlite_program_free(progs[k]);
    }
    teardown_fixture(&f);
}

/* A sequence's first term starts a partial only on an event whose required
 * join keys hold a value, so an event without one runs no sequence that holds
 * no partials (an optional key, `?field`, admits it). */
Test(ruleset, sequence_starts_only_on_events_holding_its_join_keys)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "sequence by process.name [process where event.type == \"start\"] [process where event.type == \"end\"]",
        "keyed");
    start(&f);
    eqlite_value none = {0}, empty = {EQLITE_ARRAY, 0, {.a = NULL}};
    const eqlite_value without[] = {none, empty};
    hits h = {0};
    for (int i = 0; i < 2; i++) {
        eqlite_value fields[NFIELDS] = {str("process"), str("windows"), without[i], str("start")};
        cr_assert_str_eq(run(&f, fields, &h), "");
    }
    cr_assert_eq(rules_run(&f), 0, "no event held process.name");
    eqlite_value start_cmd[NFIELDS] = {str("process"), str("windows"), str("cmd.exe"), str("start")};
    eqlite_value end_cmd[NFIELDS] = {str("process"), str("windows"), str("cmd.exe"), str("end")};
    cr_assert_str_eq(run(&f, start_cmd, &h), "");
    cr_assert_eq(rules_run(&f), 1);
    cr_assert_str_eq(run(&f, end_cmd, &h), "keyed");
    teardown_fixture(&f);

    setup_schema(&f, NULL);
    add(&f, "sequence by ?process.name [process where event.type == \"start\"] [process where event.type == \"end\"]",
        "optional");
    start(&f);
    eqlite_value start_none[NFIELDS] = {str("process"), str("windows"), none, str("start")};
    eqlite_value end_none[NFIELDS] = {str("process"), str("windows"), none, str("end")};
    cr_assert_str_eq(run(&f, start_none, &h), "");
    cr_assert_eq(rules_run(&f), 1, "an optional key does not guard");
    cr_assert_str_eq(run(&f, end_none, &h), "optional");
    teardown_fixture(&f);
}

/* "*x*" patterns are indexed by their literal, searched for anywhere in the
 * value (folded for `:` and like~): a rule runs only on events holding it,
 * and the index never drops a match of the rule's own matcher, wherever the
 * literal falls, in any element, in any case, past the memo's 80 bytes and
 * the 256 folded on the stack. */
/* The rules whose own matchers match ev, joined by spaces, into out. */
static void alone_matches(eqlite_matcher *const *ms, const char *const *rules, int nr, const eqlite_event *ev,
                          char *out, size_t cap)
{
    out[0] = 0;
    for (int k = 0; k < nr; k++) {
        int hit = 0;
        cr_assert_eq(eqlite_match(ms[k], ev, &hit), EQLITE_OK);
        if (hit)
            snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? " " : "", rules[k]);
    }
}

/* Each name, alone and in an array, gets from the ruleset the matches of
 * each rule's own matcher (twice: the second time through the memo); at
 * least `least` of them match something, and `none` runs no rule. */
static void names_match_as_alone(const char *const *rules, int nr, const char *const *names, int nn, int least,
                                 const char *none)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    eqlite_program *progs[8];
    eqlite_matcher *ms[8];
    cr_assert_leq(nr, 8);
    add_each_alone(&f, rules, nr, progs, ms);
    start(&f);
    int matched = 0;
    for (int repeat = 0; repeat < 2; repeat++)
        for (int n = 0; n < nn; n++)
            for (int arr = 0; arr < 2; arr++) {
                eqlite_value items[2] = {str("zsh"), str(names[n])};
                eqlite_value fields[NFIELDS] = {str("process"), str("windows"), str(names[n]), str("start")};
                if (arr)
                    fields[NAME] = (eqlite_value){EQLITE_ARRAY, 2, {.a = items}};
                eqlite_event ev = {fields, NFIELDS, 0, {0}, NULL, NULL, 0};
                char expected[512];
                alone_matches(ms, rules, nr, &ev, expected, sizeof expected);
                matched += expected[0] != 0;
                hits h = {0};
                cr_assert_str_eq(run(&f, fields, &h), expected, "%s", names[n]);
            }
    cr_assert_geq(matched, least);
    uint64_t before = rules_run(&f);
    eqlite_value fields[NFIELDS] = {str("process"), str("windows"), str(none), str("start")};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "");
    cr_assert_eq(rules_run(&f), before, "no rule runs on %s", none);
    for (int k = 0; k < nr; k++) {
        eqlite_matcher_free(ms[k]);
        eqlite_program_free(progs[k]);
    }
    teardown_fixture(&f);
}

Test(ruleset, contains_pattern_runs_only_where_its_literal_is)
{
    static const char *const rules[] = {
        "process where process.name : \"*cmd*\"",
        "process where process.name like \"*Cmd*\" and host.os.type == \"windows\"",
        "any where process.name : (\"*\303\251cole*\", \"bash\")",
        "process where event.type == \"start\" and process.name like~ \"*X.E*\"",
    };
    static char long_name[400];
    memset(long_name, 'a', sizeof long_name - 1);
    memcpy(long_name + sizeof long_name - 5, "CmD!", 4);
    static const char *const names[] = {"cmd", "xCMDx", "aCmd.exe", "Cm", "\303\211COLE.exe", "l'\303\251cole",
                                        "bash", "x.exe", "\303\251x.EXE", long_name + 300, long_name, "zsh"};
    names_match_as_alone(rules, sizeof rules / sizeof *rules, names, sizeof names / sizeof *names, 21, "zsh");
}

/* A glob whose ends are short literals is indexed by its longest literal,
 * which every match holds as contiguous bytes, searched for anywhere in the
 * value (folded for `:` and like~). */
Test(ruleset, glob_runs_only_where_its_longest_literal_is)
{
    static const char *const rules[] = {
        "process where process.name : \"C:\\\\*Program Files*\\\\*.exe\"",
        "process where process.name like \"*\\\\Temp?Folder\\\\x*\"",
        "process where process.name : \"?:\\\\*\303\251l\303\250ve Files\\\\*\"",
        "process where process.name like~ (\"a*longer literal*b\", \"*.dll\")",
    };
    static char long_name[200];
    memset(long_name, 'x', sizeof long_name - 1);
    memcpy(long_name, "c:\\", 3);
    memcpy(long_name + 150, "PROGRAM FILES\\y.EXE", 20);
    static const char *const names[] = {
        "C:\\Program Files\\a.exe", "c:\\PROGRAM FILES (x86)\\b.EXE", "C:\\x\\Program Filesy\\z.exe",
        "C:\\Program Fil\\es.exe", "C:\\Program Files\\a.ex", "D:\\Temp1Folder\\xy", "D:\\TempFolder\\xy",
        "D:\\Temp\303\251Folder\\x", "d:\\temp1folder\\xy", "\303\211:\\\303\211L\303\210VE FILES\\z",
        "e:\\x\303\251l\303\250ve files\\", "a LONGER LITERAL b", "alonger literalb", "A longer literal",
        "x.DLL", long_name, "zsh"};
    names_match_as_alone(rules, sizeof rules / sizeof *rules, names, sizeof names / sizeof *names, 16, "zsh");
}

/* == and `in` against numbers and booleans are indexed by value, as the VM
 * compares: a long and a double exactly, -0.0 apart from 0, NaN equal to
 * NaN, a string never equal to a number, any element of an array. */
Test(ruleset, number_equality_runs_only_where_the_value_is)
{
    enum { CAT, PID, DBL, FLAG, UNTYPED, NF };
    static const char *const names[NF] = {"event.category", "process.pid", "x.d", "x.b", "x.u"};
    static const eqlite_type types[NF] = {EQLITE_T_KEYWORD, EQLITE_T_LONG, EQLITE_T_DOUBLE, EQLITE_T_BOOLEAN,
                                          EQLITE_T_UNKNOWN};
    static const char *const rules[] = {
        "process where process.pid == 4",
        "process where process.pid in (1, 9007199254740993, null)",
        "process where x.d == 0.0 or x.d == -4.5",
        "process where x.d in (4.5, 1e300, 4)",
        "process where x.b == true",
        "process where x.u == 4",
    };
    enum { NR = sizeof rules / sizeof *rules };
    fixture f = {0};
    cr_assert_eq(eqlite_schema_new(NULL, &f.schema), EQLITE_OK);
    for (int k = 0; k < NF; k++)
        cr_assert_eq(eqlite_schema_add(f.schema, names[k], strlen(names[k]), types[k], NULL), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_new(f.schema, &f.rs), EQLITE_OK);
    eqlite_program *progs[NR];
    eqlite_matcher *ms[NR];
    add_each_alone(&f, rules, NR, progs, ms);
    start(&f);
    const eqlite_value none = {0};
#define I(x) ((eqlite_value){EQLITE_INT, 0, {.i = (x)}})
#define D(x) ((eqlite_value){EQLITE_DOUBLE, 0, {.d = (x)}})
#define B(x) ((eqlite_value){EQLITE_BOOL, 0, {.b = (x)}})
    eqlite_value pair[2] = {str("4"), D(4.0)}, ints[2] = {I(7), I(1)};
    const eqlite_value values[] = {
        I(4), D(4.0), D(4.5), D(-4.5), I(0), D(0.0), D(-0.0), D(NAN), I(9007199254740993), D(9007199254740992.0),
        D(1e300), D(INFINITY), I(1), str("4"), str("04"), str("true"), B(1), B(0),
        (eqlite_value){EQLITE_ARRAY, 2, {.a = pair}}, (eqlite_value){EQLITE_ARRAY, 2, {.a = ints}}, none,
    };
    enum { NV = sizeof values / sizeof *values };
    int matched = 0;
    uint64_t runs_on_others = 0;
    for (int field = PID; field < NF; field++)
        for (int v = 0; v < NV; v++) {
            eqlite_value fields[NF] = {str("process"), none, none, none, none};
            fields[field] = values[v];
            eqlite_event ev = {fields, NF, 0, {0}, NULL, NULL, 0};
            char expected[512];
            alone_matches(ms, rules, NR, &ev, expected, sizeof expected);
            uint64_t before = rules_run(&f);
            char got[512] = "";
            single all = {got, sizeof got, NULL};
            cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect_rule, &all), EQLITE_OK);
            cr_assert_str_eq(got, expected, "%s = value %d", names[field], v);
            matched += expected[0] != 0;
            if (!expected[0])
                runs_on_others += rules_run(&f) - before;
        }
#undef I
#undef D
#undef B
    cr_assert_geq(matched, 10);
    cr_assert_eq(runs_on_others, 0, "the values no rule names run no rule (%llu runs)",
                 (unsigned long long)runs_on_others);
    for (int k = 0; k < NR; k++) {
        eqlite_matcher_free(ms[k]);
        eqlite_program_free(progs[k]);
    }
    teardown_fixture(&f);
}

/* A regex runs only on values that start with one of the literals all its
 * matches start with (after single characters, which may be multi-byte). */
Test(ruleset, regex_runs_only_where_its_prefix_is)
{
    static const char *const rules[] = {
        "process where process.name regex~ \"\"\"[A-Z]:\\\\:.+\"\"\"",
        "process where process.name regex \"\"\"(C:\\\\Program Files \\(x86\\)\\\\|C:\\\\Program Files\\\\)\\w+.exe\"\"\"",
        "process where process.name regex~ \"\"\"ProcDump(64)?\\.exe|.(//:ab|--:xy)\\d\"\"\"",
        "process where process.name regex \"\"\"Bar+d.*\"\"\" or process.name : \"*zzz*\"",
    };
    static const char *const names[] = {
        "D:\\:stream", "d:\\:s", "\303\251:\\:s", "\342\204\252:\\:x", "C:\\Program Files\\x.exe",
        "C:\\Program Files (x86)\\y.exe", "c:\\program files\\x.exe", "PROCDUMP64.EXE", "procdump.exe",
        "x//:ab1", "\303\251--:xy1", "\342\204\252--:XY0", "X//:AB3", "Barrrd", "Bard!", "BARD", "xzzz", "zsh"};
    names_match_as_alone(rules, sizeof rules / sizeof *rules, names, sizeof names / sizeof *names, 26, "zsh");
}

/* An event that lists its present fields gets the same matches as one that
 * does not, in any order, with repeats and null fields listed; the list is
 * what the index reads (a field left off it is not looked at). */
Test(ruleset, present_list_gives_the_matches_of_looking_at_every_field)
{
    fixture f = {0};
    three_rules(&f);
    static const uint32_t every[] = {TYPE, NAME, OS, NAME, CATEGORY, TYPE};
    static const uint32_t without_name[] = {CATEGORY, OS, TYPE};
    const char *const names[] = {"cmd.exe", "CMD.EXE", "bash"};
    const char *const oses[] = {"windows", "linux"};
    const char *const cats[] = {"process", "network"};
    for (int n = 0; n < 3; n++)
        for (int o = 0; o < 2; o++)
            for (int c = 0; c < 2; c++) {
                eqlite_value fields[NFIELDS] = {str(cats[c]), str(oses[o]), str(names[n]), {0}};
                hits h = {0};
                char expected[512];
                snprintf(expected, sizeof expected, "%s", run(&f, fields, &h));
                eqlite_event ev = {fields, NFIELDS, 0, {0}, NULL, every, sizeof every / sizeof *every};
                char got[4096] = "";
                single all = {got, sizeof got, NULL};
                cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect_rule, &all), EQLITE_OK);
                cr_assert_str_eq(got, expected, "%s %s %s", cats[c], oses[o], names[n]);
            }
    eqlite_value fields[NFIELDS] = {str("process"), str("linux"), str("cmd.exe"), {0}};
    hits h = {0};
    cr_assert_str_eq(run(&f, fields, &h), "proc");
    eqlite_event ev = {fields, NFIELDS, 0, {0}, NULL, without_name, 3};
    char got[4096] = "";
    single all = {got, sizeof got, NULL};
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect_rule, &all), EQLITE_OK);
    cr_assert_str_eq(got, "", "process.name was not listed, so no guard of it held");
    teardown_fixture(&f);
}

/* ---- the whole corpus over generated events ---- */

typedef struct fingerprints {
    uint64_t *v;
    size_t n, cap;
    size_t rule; /* single-rule side: the rule being fed */
} fingerprints;

/* A result as (rule, each event's index or "missing"), hashed. */
static uint64_t fingerprint(size_t rule, const eqlite_result *r)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325) ^ rule;
    h *= UINT64_C(0x100000001b3);
    for (size_t i = 0; i < r->nevents; i++) {
        uint64_t e = r->events[i] ? (uint64_t)(uintptr_t)r->events[i]->user : UINT64_MAX;
        h = (h ^ e) * UINT64_C(0x100000001b3);
        h ^= h >> 29;
    }
    return (h ^ r->nevents) * UINT64_C(0x9e3779b97f4a7c15);
}

static void fp_push(fingerprints *f, uint64_t v)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->v = realloc(f->v, f->cap * sizeof *f->v);
        cr_assert_not_null(f->v);
    }
    f->v[f->n++] = v;
}

static int fp_single(void *user, const eqlite_result *result)
{
    fingerprints *f = user;
    fp_push(f, fingerprint(f->rule, result));
    return 0;
}

static int fp_ruleset(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    fp_push(user, fingerprint(rule->index, result));
    return 0;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The 1,024 corpus rules, then `extra` (NULL-terminated, or NULL), as one
 * finished ruleset over a schema with the generated events; progs
 * (optional) receives each corpus rule compiled alone. False when the
 * corpus is not there. */
static bool load_corpus(size_t nevents, eqlite_schema **schema, gen_events **g, eqlite_ruleset **rs,
                        eqlite_program ***progs, const char *const *extra)
{
    const char *dir = getenv("EQLITE_SHARED_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/corpus/detection-rules-eql.jsonl", dir ? dir : "../shared");
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    cr_assert_eq(eqlite_schema_new(NULL, schema), EQLITE_OK);
    cr_assert_eq(gen_events_make(*schema, nevents, 1, g), EQLITE_OK);
    eqlite_schema_set_grow(*schema, 1);
    cr_assert_eq(eqlite_ruleset_new(*schema, rs), EQLITE_OK);
    size_t cap = 1 << 20, nrules = 0;
    char *line = malloc(cap);
    while (fgets(line, (int)cap, fp)) {
        eq_rule_record rec;
        char err[256];
        if (eq_rule_record_parse(line, strlen(line), &rec, err, sizeof err) != 0 || !rec.query)
            continue;
        cr_assert_eq(eqlite_ruleset_add(*rs, rec.query, rec.query_len, rec.name, rec.id, NULL), EQLITE_OK);
        if (progs) {
            *progs = realloc(*progs, (nrules + 1) * sizeof **progs);
            cr_assert_eq(eqlite_compile(*schema, rec.query, rec.query_len, &(*progs)[nrules], NULL), EQLITE_OK);
        }
        nrules++;
        eq_rule_record_free(&rec);
    }
    fclose(fp);
    free(line);
    cr_assert_eq(nrules, 1024);
    for (size_t k = 0; extra && extra[k]; k++)
        cr_assert_eq(eqlite_ruleset_add(*rs, extra[k], strlen(extra[k]), extra[k], extra[k], NULL), EQLITE_OK,
                     "%s", extra[k]);
    cr_assert_eq(eqlite_ruleset_finish(*rs), EQLITE_OK);
    return true;
}

/* The index never drops a match: all 1,024 corpus rules as one ruleset
 * over the first 50,000 generated events give exactly the results (rule,
 * events) of each rule's own matcher, sequences and samples included. */
Test(ruleset, corpus_index_finds_every_match_of_the_single_rule_matchers, .timeout = 600)
{
    enum { NEVENTS = 50000 };
    eqlite_schema *schema;
    gen_events *g;
    eqlite_ruleset *rs;
    eqlite_program **progs = NULL;
    if (!load_corpus(NEVENTS, &schema, &g, &rs, &progs, NULL))
        cr_skip_test("no corpus (set EQLITE_SHARED_DIR)");
    size_t nrules = eqlite_ruleset_count(rs);
    size_t n;
    const eqlite_event *evs = gen_events_items(g, &n);
    /* each rule alone */
    fingerprints single = {0};
    for (size_t k = 0; k < nrules; k++) {
        eqlite_matcher *m;
        cr_assert_eq(eqlite_matcher_new(progs[k], NULL, &m), EQLITE_OK);
        single.rule = k;
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(eqlite_feed(m, &evs[i], fp_single, &single), EQLITE_OK);
        cr_assert_eq(eqlite_flush(m, fp_single, &single), EQLITE_OK);
        eqlite_matcher_free(m);
    }
    /* all together */
    fingerprints together = {0};
    eqlite_scanner *sc;
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(eqlite_scanner_match(sc, &evs[i], fp_ruleset, &together), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_flush(sc, fp_ruleset, &together), EQLITE_OK);
    eqlite_scanner_counts st;
    eqlite_scanner_stats(sc, &st);
    cr_assert_gt(single.n, 1000, "the corpus matches %zu times: too few to prove anything", single.n);
    cr_assert_lt(st.rules_run, (uint64_t)n * nrules / 4, "the index runs %llu rules", (unsigned long long)st.rules_run);
    qsort(single.v, single.n, sizeof *single.v, by_value);
    qsort(together.v, together.n, sizeof *together.v, by_value);
    cr_assert_eq(together.n, single.n, "ruleset %zu results, single-rule matchers %zu", together.n, single.n);
    for (size_t i = 0; i < single.n; i++)
        cr_assert_eq(together.v[i], single.v[i], "result %zu differs", i);
    eqlite_scanner_free(sc);
    for (size_t k = 0; k < nrules; k++)
        eqlite_program_free(progs[k]);
    free(progs);
    free(single.v);
    free(together.v);
    eqlite_ruleset_free(rs);
    gen_events_free(g);
    eqlite_schema_free(schema);
}

/* Results per event, each event's as a sorted set (two scanners that
 * share the rules interleave theirs by rule), then the flush's. */
typedef struct per_event {
    fingerprints fp;
    size_t *ends; /* ends[i]: fp.n after event i */
} per_event;

static void end_event(per_event *p, size_t i, size_t from)
{
    if (p->fp.n > from)
        qsort(p->fp.v + from, p->fp.n - from, sizeof *p->fp.v, by_value);
    p->ends[i] = p->fp.n;
}

static void assert_same_per_event(const per_event *a, const per_event *b, size_t n, int split)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(a->ends[i], b->ends[i], "split %d: event %zu: results end at %zu, whole scanner %zu", split, i,
                     a->ends[i], b->ends[i]);
    cr_assert_eq(a->fp.n, b->fp.n, "split %d: %zu results, whole scanner %zu", split, a->fp.n, b->fp.n);
    for (size_t i = 0; i < a->fp.n; i++)
        cr_assert_eq(a->fp.v[i], b->fp.v[i], "split %d: result %zu differs", split, i);
}

/* Two threads can share a ruleset's work: one scanner marks each event's
 * guards, and scanners that each select some rules match from those marks.
 * Together they give exactly the results of one scanner running every
 * rule, event by event, over 30,000 generated events: split into event
 * queries and the rest (as `eqlite query -j` does), and split arbitrarily
 * (every other rule), which puts sequences on both sides; then the event
 * queries' scanner marks for the rest as it matches (eqlite_scanner_match_mark),
 * and last marks their idle plane alone (eqlite_scanner_match_mark_idle), the
 * other scanner marking an event again in full while it holds partials. */
Test(ruleset, scanners_selecting_rules_from_shared_marks_give_the_whole_scanner_results, .timeout = 600)
{
    enum { NEVENTS = 30000 };
    eqlite_schema *schema;
    gen_events *g;
    eqlite_ruleset *rs;
    /* no corpus sequence or sample matches the generated events: these do */
    static const char *const extra[] = {
        "sequence by host.name with maxspan=1m [process where process.name == \"cmd.exe\"] [network where true]",
        "sequence by host.name with maxspan=10s [process where process.name == \"cmd.exe\"] "
        "![network where destination.port == 1]",
        "sample by host.name [process where process.name == \"cmd.exe\"] [network where true]",
        "process where process.name == \"cmd.exe\" | tail 3",
        NULL};
    if (!load_corpus(NEVENTS, &schema, &g, &rs, NULL, extra))
        cr_skip_test("no corpus (set EQLITE_SHARED_DIR)");
    size_t nrules = eqlite_ruleset_count(rs), words = (nrules + 63) / 64, nmarks = eqlite_ruleset_marks_words(rs);
    cr_assert_gt(nmarks, 0);
    size_t n;
    const eqlite_event *evs = gen_events_items(g, &n);
    per_event whole = {{0}, calloc(n, sizeof(size_t))};
    eqlite_scanner *all;
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &all), EQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        size_t from = whole.fp.n;
        cr_assert_eq(eqlite_scanner_match(all, &evs[i], fp_ruleset, &whole.fp), EQLITE_OK);
        end_event(&whole, i, from);
    }
    size_t from = whole.fp.n;
    cr_assert_eq(eqlite_scanner_flush(all, fp_ruleset, &whole.fp), EQLITE_OK);
    qsort(whole.fp.v + from, whole.fp.n - from, sizeof *whole.fp.v, by_value);
    eqlite_scanner_free(all);
    cr_assert_gt(whole.fp.n, 1000, "too few results (%zu) to prove anything", whole.fp.n);
    uint64_t *side = calloc(2 * words, sizeof *side), *marks = calloc(nmarks, sizeof *marks);
    for (int split = 0; split < 4; split++) {
        memset(side, 0, 2 * words * sizeof *side);
        for (size_t k = 0; k < nrules; k++) {
            eqlite_rule_info rule;
            eqlite_program_info info;
            cr_assert_eq(eqlite_ruleset_rule(rs, k, &rule), EQLITE_OK);
            cr_assert_eq(eqlite_program_info_get(rule.program, &info), EQLITE_OK);
            bool first = split != 1 ? info.kind == EQLITE_QUERY_EVENT && info.npipes == 0 : k % 2 == 0;
            side[(first ? 0 : words) + k / 64] |= UINT64_C(1) << (k % 64);
        }
        eqlite_scanner *marker, *sc[2];
        cr_assert_eq(eqlite_scanner_new(rs, NULL, &marker), EQLITE_OK);
        for (int j = 0; j < 2; j++) {
            cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc[j]), EQLITE_OK);
            cr_assert_eq(eqlite_scanner_select(sc[j], side + j * words), EQLITE_OK);
        }
        per_event shared = {{0}, calloc(n, sizeof(size_t))};
        size_t unmarked = 0; /* events that marked none of side 1's rules (split 2) */
        size_t remarked = 0; /* events side 1 marked again (split 3) */
        for (size_t i = 0; i < n; i++) {
            size_t at = shared.fp.n;
            if (split < 2) { /* a third scanner marks for both */
                cr_assert_eq(eqlite_scanner_mark(marker, &evs[i], marks), EQLITE_OK);
                for (int j = 0; j < 2; j++)
                    cr_assert_eq(eqlite_scanner_match_marked(sc[j], &evs[i], marks, fp_ruleset, &shared.fp),
                                 EQLITE_OK);
            } else { /* side 0 matches and marks for side 1, as eqlite query -j does */
                size_t used = SIZE_MAX;
                memset(marks, 0xff, nmarks * sizeof *marks);
                if (split == 2) {
                    cr_assert_eq(eqlite_scanner_match_mark(sc[0], &evs[i], side + words, marks, &used, fp_ruleset,
                                                           &shared.fp), EQLITE_OK);
                } else { /* the idle plane alone: side 1 marks the event again while it holds partials */
                    cr_assert_eq(eqlite_scanner_match_mark_idle(sc[0], &evs[i], side + words, marks, &used,
                                                                fp_ruleset, &shared.fp), EQLITE_OK);
                    if (eqlite_scanner_holds_partials(sc[1])) {
                        remarked++;
                        memset(marks, 0xff, nmarks * sizeof *marks);
                        cr_assert_eq(eqlite_scanner_mark_rules(sc[1], &evs[i], side + words, marks, &used), EQLITE_OK);
                    }
                }
                cr_assert_leq(used, nmarks);
                if (used == 0) { /* all-zero marks stand for none */
                    unmarked++;
                    memset(marks, 0, nmarks * sizeof *marks);
                }
                cr_assert_eq(eqlite_scanner_match_marked(sc[1], &evs[i], marks, fp_ruleset, &shared.fp), EQLITE_OK);
            }
            end_event(&shared, i, at);
        }
        if (split == 2) /* the corpus has unguarded sequences: every event marks one */
            cr_assert_lt(unmarked, n);
        if (split == 3) /* the extra sequences hold partials at times, not always */
            cr_assert(remarked > 0 && remarked < n, "%zu of %zu events marked again", remarked, n);
        size_t at = shared.fp.n;
        for (int j = 0; j < 2; j++)
            cr_assert_eq(eqlite_scanner_flush(sc[j], fp_ruleset, &shared.fp), EQLITE_OK);
        qsort(shared.fp.v + at, shared.fp.n - at, sizeof *shared.fp.v, by_value);
        assert_same_per_event(&shared, &whole, n, split);
        for (int j = 0; j < 2; j++) {
            eqlite_scanner_counts st;
            eqlite_scanner_stats(sc[j], &st);
            cr_assert_gt(st.matches, 0, "split %d: side %d matched nothing", split, j);
            /* a scanner that has matched cannot change its rules */
            cr_assert_eq(eqlite_scanner_select(sc[j], side), EQLITE_EMISUSE);
            eqlite_scanner_free(sc[j]);
        }
        eqlite_scanner_free(marker);
        free(shared.fp.v);
        free(shared.ends);
    }
    free(side);
    free(marks);
    free(whole.fp.v);
    free(whole.ends);
    eqlite_ruleset_free(rs);
    gen_events_free(g);
    eqlite_schema_free(schema);
}

/* ---- the glob prefilter in pattern sets ---- */

/* A set with one glob answers exactly like eq_wildcard_match on the folded
 * subject, for globs with leading '?', literal heads and tails, and
 * subjects with multi-byte characters where a '?' falls. */
Test(ruleset, glob_prefilter_keeps_wildcard_semantics)
{
    static const char *const globs[] = {
        "?:\\windows\\system32\\*", "?:\\Windows\\*.exe", "??x*", "?", "??", "a?c", "*.exe", "ab*cd", "?*",
        "*?", "?\303\251*z", "\303\251?", "c:*?", "?:\\program.exe",
    };
    static const char *const subjects[] = {
        "C:\\Windows\\System32\\cmd.exe", "c:\\windows\\system32\\", "D:\\Windows\\x.exe", "c:\\windows",
        "", "a", "ab", "abc", "a\303\251c", "\303\251", "\303\251\303\251", "\303\251:\\windows\\system32\\x",
        "xx", "\303\251xa", "ab\303\251cd", "abcd", "x.EXE", "\342\202\254\303\251z", "c:\\program.exe",
        "\303\211:\\PROGRAM.EXE", "c:", "c:x",
    };
    eq_arena arena;
    eq_arena_init(&arena, eq_default_allocator());
    eq_scratch scratch = {0};
    scratch.alloc = eq_default_allocator();
    for (int caseless = 0; caseless < 2; caseless++)
        for (size_t g = 0; g < sizeof globs / sizeof *globs; g++) {
            eq_patterns *p = eq_patterns_new(&arena, caseless);
            cr_assert_not_null(p);
            cr_assert(eq_patterns_add_wildcard(&arena, p, globs[g], strlen(globs[g])));
            cr_assert(eq_patterns_finish(&arena, p));
            char pat[64], subj[64];
            size_t pn = caseless ? eq_fold(globs[g], strlen(globs[g]), pat, sizeof pat) : strlen(globs[g]);
            if (!caseless)
                memcpy(pat, globs[g], pn);
            for (size_t k = 0; k < sizeof subjects / sizeof *subjects; k++) {
                const char *sj = subjects[k];
                size_t sn = caseless ? eq_fold(sj, strlen(sj), subj, sizeof subj) : strlen(sj);
                if (!caseless)
                    memcpy(subj, sj, sn);
                bool want = eq_wildcard_match(pat, pn, subj, sn);
                bool got = eq_patterns_match(p, sj, strlen(sj), &scratch);
                cr_assert_eq(got, want, "%s %s ~ %s", caseless ? "caseless" : "case", globs[g], sj);
            }
        }
    eq_free(scratch.alloc, scratch.buf);
    eq_arena_free(&arena);
}

/* The index feeds a sequence only some events, but event order is still
 * checked on every event, as when every sequence saw every event. */
Test(ruleset, out_of_order_event_is_reported_even_if_no_sequence_takes_it)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "sequence [process where process.name == \"a\"] [network where true]", "seq");
    start(&f);
    eqlite_value fields[NFIELDS] = {str("file"), {0}, {0}, {0}};
    eqlite_event ev = {fields, NFIELDS, 10, {0}, NULL, NULL, 0};
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, NULL, NULL), EQLITE_OK);
    ev.timestamp = 5;
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, NULL, NULL), EQLITE_EORDER);
    cr_assert_eq(rules_run(&f), 0); /* the sequence never ran */
    ev.timestamp = 10;
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, NULL, NULL), EQLITE_OK);
    teardown_fixture(&f);
}

/* An arithmetic error fails the call as Elasticsearch fails the query (ql
 * Arithmetics: length() is an int, so int * int overflows past 2^31), and
 * does not stick to the next event. */
Test(ruleset, integer_overflow_fails_the_call_with_earith)
{
    fixture f = {0};
    setup_schema(&f, NULL);
    add(&f, "process where length(process.name) * 1000000000 > 0", "ovf");
    add(&f, "process where process.name == \"abc\"", "plain");
    start(&f);
    eqlite_value fields[NFIELDS] = {str("process"), {0}, str("abc"), {0}};
    eqlite_event ev = {fields, NFIELDS, 1, {0}, NULL, NULL, 0};
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, NULL, NULL), EQLITE_EARITH);
    fields[NAME] = str("a");
    ev.timestamp = 2;
    hits h = {0};
    cr_assert_eq(eqlite_scanner_match(f.sc, &ev, collect, &h), EQLITE_OK);
    cr_assert_str_eq(h.names, "ovf");
    teardown_fixture(&f);
}

/* Which rules an event's fields made run: bit k for rule k. */
static int mark_rule(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    (void)result;
    uint8_t *ran = user;
    ran[rule->index] = 1;
    return 0;
}

static bool is_x(const eqlite_value *v) { return v->kind == EQLITE_STRING && v->len == 1 && v->u.s[0] == 'x'; }

/* Presence marks, and the long lists of values' memo entries, are kept per
 * event shape (which indexed fields hold a value, in the order listed, and
 * those lists): shapes met again, shapes that differ by one field, one value
 * or only in order, more fields than a shape holds, and rulesets too large
 * for the shape cache all run exactly the rules whose field (or value) is
 * there. */
static void presence_rules_run_on_exactly_their_fields(int copies)
{
    enum { NF = 60 };
    eqlite_schema *schema;
    eqlite_ruleset *rs;
    eqlite_scanner *sc;
    cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK);
    char text[64];
    for (int k = 0; k < NF; k++) {
        snprintf(text, sizeof text, "f%02d", k);
        cr_assert_eq(eqlite_schema_add(schema, text, strlen(text), EQLITE_T_KEYWORD, NULL), EQLITE_OK);
    }
    cr_assert_eq(eqlite_ruleset_new(schema, &rs), EQLITE_OK);
    for (int c = 0; c < copies; c++)
        for (int k = 0; k < NF; k++) { /* rule c * NF + k needs field k */
            snprintf(text, sizeof text, "any where f%02d != null", k);
            cr_assert_eq(eqlite_ruleset_add(rs, text, strlen(text), text, text, NULL), EQLITE_OK);
        }
    /* then rules that need f00 to be "x": a long list under one value, held by its memo entry */
    enum { NX = 24 };
    for (int j = 0; j < NX; j++) {
        snprintf(text, sizeof text, "any where f00 == \"x\" or f%02d == \"never\"", j + 1);
        cr_assert_eq(eqlite_ruleset_add(rs, text, strlen(text), text, text, NULL), EQLITE_OK);
    }
    cr_assert_eq(eqlite_ruleset_finish(rs), EQLITE_OK);
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    size_t nfield_rules = (size_t)copies * NF, nrules = nfield_rules + NX;
    uint8_t *ran = calloc(nrules, 1);
    cr_assert_not_null(ran);
    uint64_t state = 7;
    for (int e = 0; e < 400; e++) {
        eqlite_value fields[NF] = {{0}};
        uint32_t present[NF + 4];
        size_t npresent = 0;
        /* a few shapes again and again, then random ones; the last events list every field */
        int kind = e < 200 ? e % 5 : e >= 390 ? 5 : 6;
        for (int k = 0; k < NF; k++) {
            state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            bool has = kind == 5 || (kind == 6 ? (state >> 40) % 3 == 0 : (k * 7 + kind) % (kind + 2) == 0);
            if (has)
                fields[k] = str(k == 0 && e % 3 == 0 ? "x" : "y");
        }
        for (int i = 0; i < NF; i++) { /* both orders; a null field listed too, as allowed */
            int k = e % 2 ? NF - 1 - i : i;
            state = state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
            if (fields[k].kind != EQLITE_NULL || (state >> 50) % 8 == 0)
                present[npresent++] = (uint32_t)k;
        }
        if (npresent)
            present[npresent++] = present[0]; /* a repeat */
        eqlite_event ev = {fields, NF, e, {0}, NULL, present, npresent};
        memset(ran, 0, nrules);
        cr_assert_eq(eqlite_scanner_match(sc, &ev, mark_rule, ran), EQLITE_OK);
        for (size_t r = 0; r < nrules; r++)
            cr_assert_eq(ran[r], r < nfield_rules ? fields[r % NF].kind != EQLITE_NULL : is_x(&fields[0]), "event %d rule %zu", e, r);
    }
    free(ran);
    eqlite_scanner_free(sc);
    eqlite_ruleset_free(rs);
    eqlite_schema_free(schema);
}

Test(ruleset, presence_rules_run_on_exactly_their_fields_through_the_shape_cache)
{
    presence_rules_run_on_exactly_their_fields(1);
}

Test(ruleset, presence_rules_run_on_exactly_their_fields_past_the_shape_cache, .timeout = 120)
{
    presence_rules_run_on_exactly_their_fields(70); /* 4,200 rules: more words than a shape keeps */
}
