/* test_sequence.c: the sequence state machine, samples and pipes through the
 * streaming API (eqlite_feed / eqlite_flush), and the 25 scenarios of
 * ../shared/conformance/elasticsearch/sequences.series-spec. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "support.h"

#define MS 1000000LL /* ns */

/* A matcher over a small fixed schema; results are rendered as text:
 * event names (from `user`) separated by spaces, "-" for a missing
 * position, results separated by " | ". */
typedef struct run {
    eqlite_schema *schema;
    eqlite_program *prog;
    eqlite_matcher *m;
    char out[8192];
    int stop_after; /* callback asks to stop after this many results (0 never) */
    int results;
} run;

enum { F_CAT, F_K, F_K2, F_N, F_TAGS, F_STAGE, F_VER, F_ADDR, F_COUNT };
static const char *const field_names[F_COUNT] = {"cat", "k", "k2", "n", "tags", "stage", "ver", "addr"};
static const eqlite_type field_types[F_COUNT] = {
    EQLITE_T_KEYWORD, EQLITE_T_KEYWORD, EQLITE_T_KEYWORD, EQLITE_T_LONG,
    EQLITE_T_KEYWORD, EQLITE_T_LONG,    EQLITE_T_VERSION, EQLITE_T_IP};

static void start(run *r, const char *rule, const eqlite_limits *limits)
{
    memset(r, 0, sizeof *r);
    cr_assert_eq(eqlite_schema_new(NULL, &r->schema), EQLITE_OK);
    for (uint32_t i = 0; i < F_COUNT; i++) {
        uint32_t id;
        cr_assert_eq(eqlite_schema_add(r->schema, field_names[i], strlen(field_names[i]),
                                       field_types[i], &id),
                     EQLITE_OK);
        cr_assert_eq(id, i);
    }
    eqlite_schema_set_category_field(r->schema, "cat", 3);
    eqlite_diag diag;
    eqlite_status st = eqlite_compile(r->schema, rule, strlen(rule), &r->prog, &diag);
    cr_assert_eq(st, EQLITE_OK, "%s: %s", rule, diag.message);
    cr_assert_eq(eqlite_matcher_new(r->prog, limits, &r->m), EQLITE_OK);
}

static void finish(run *r)
{
    eqlite_matcher_free(r->m);
    eqlite_program_free(r->prog);
    eqlite_schema_free(r->schema);
}

static int render(void *user, const eqlite_result *res)
{
    run *r = user;
    size_t len = strlen(r->out);
    if (len)
        len += (size_t)snprintf(r->out + len, sizeof r->out - len, " | ");
    for (size_t i = 0; i < res->nevents; i++)
        len += (size_t)snprintf(r->out + len, sizeof r->out - len, "%s%s", i ? " " : "",
                                res->events[i] ? (const char *)res->events[i]->user : "-");
    r->results++;
    return r->stop_after && r->results >= r->stop_after;
}

static eqlite_value str(const char *s)
{
    eqlite_value v = {0};
    if (s) {
        v.kind = EQLITE_STRING;
        v.len = (uint32_t)strlen(s);
        v.u.s = s;
    }
    return v;
}

/* Feeds one event: name (comes back through `user`), time in ms, category,
 * key k (NULL = null). Strings are copied into a scratch buffer that is
 * wiped after the call, so a test fails if the engine keeps borrowed memory. */
static eqlite_status feed_full(run *r, const char *name, long long ms, const char *cat,
                               const char *k, const char *k2, long long n)
{
    char scratch[3][64];
    eqlite_value f[F_COUNT] = {0};
    const char *src[3] = {cat, k, k2};
    for (int i = 0; i < 3; i++) {
        if (!src[i])
            continue;
        snprintf(scratch[i], sizeof scratch[i], "%s", src[i]);
        f[i] = str(scratch[i]);
    }
    f[F_N].kind = EQLITE_INT;
    f[F_N].u.i = n;
    eqlite_event ev = {f, F_COUNT, ms * MS, {0}, (void *)name, NULL, 0};
    eqlite_status st = eqlite_feed(r->m, &ev, render, r);
    memset(scratch, 'X', sizeof scratch);
    return st;
}

static eqlite_status feed(run *r, const char *name, long long ms, const char *cat, const char *k)
{
    return feed_full(r, name, ms, cat, k, NULL, 0);
}

static void flush(run *r) { cr_assert_eq(eqlite_flush(r->m, render, r), EQLITE_OK); }

/* ---- held events ------------------------------------------------------------ */

static int render_k2(void *user, const eqlite_result *res)
{
    run *r = user;
    size_t len = strlen(r->out);
    for (size_t i = 0; i < res->nevents; i++) {
        const eqlite_value *v = &res->events[i]->fields[F_K2];
        len += (size_t)snprintf(r->out + len, sizeof r->out - len, "%s=%.*s ", (const char *)res->events[i]->user,
                                v->kind == EQLITE_STRING ? (int)v->len : 1, v->kind == EQLITE_STRING ? v->u.s : "-");
    }
    return 0;
}

/* Copies of released events are reused: each still shows only its own values. */
Test(held_events, a_result_event_carries_only_its_own_values)
{
    run r;
    start(&r, "sequence by k [a where k2 == null or k2 != \"zz\"] [b where true]", NULL);
    const char *names[4] = {"A1", "B1", "A2", "B2"}, *cats[4] = {"a", "b", "a", "b"};
    const char *keys[4] = {"x", "x", "y", "y"}, *k2s[4] = {"one", NULL, NULL, "two"};
    for (int i = 0; i < 4; i++) {
        char k2[8] = "";
        eqlite_value f[F_COUNT] = {str(cats[i]), str(keys[i])};
        if (k2s[i]) {
            snprintf(k2, sizeof k2, "%s", k2s[i]);
            f[F_K2] = str(k2);
        }
        eqlite_event ev = {f, F_COUNT, (i + 1) * MS, {0}, (void *)names[i], NULL, 0};
        cr_assert_eq(eqlite_feed(r.m, &ev, render_k2, &r), EQLITE_OK);
    }
    cr_assert_str_eq(r.out, "A1=one B1=- A2=- B2=two ");
    finish(&r);
}

/* ---- state machine -------------------------------------------------------- */

Test(last_stage_first, an_event_never_advances_a_partial_it_created)
{
    run r;
    start(&r, "sequence [a where true] [a where true] [a where true]", NULL);
    feed(&r, "1", 1, "a", NULL);
    feed(&r, "2", 2, "a", NULL);
    feed(&r, "3", 3, "a", NULL);
    feed(&r, "4", 4, "a", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "1 2 3 | 2 3 4");
    finish(&r);
}

Test(last_stage_first, one_event_ends_one_match_and_starts_another)
{
    run r;
    start(&r, "sequence [a where n < 5] [a where n < 5]", NULL);
    for (int i = 1; i <= 5; i++) {
        static const char *const names[] = {"", "1", "2", "3", "4", "5"};
        feed_full(&r, names[i], i, "a", NULL, NULL, i);
    }
    flush(&r);
    cr_expect_str_eq(r.out, "1 2 | 2 3 | 3 4");
    finish(&r);
}

Test(overwrite, a_newer_first_stage_match_replaces_the_pending_one)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "x");
    feed(&r, "b3", 3, "b", "x");
    feed(&r, "b4", 4, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a2 b3");
    finish(&r);
}

Test(overwrite, an_advanced_partial_replaces_the_one_waiting_at_the_next_stage)
{
    run r;
    start(&r, "sequence [a where true] [b where true] [c where true]", NULL);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "b2", 2, "b", NULL);
    feed(&r, "a3", 3, "a", NULL);
    feed(&r, "b4", 4, "b", NULL);
    feed(&r, "c5", 5, "c", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a3 b4 c5");
    finish(&r);
}

Test(join_keys, keys_are_case_sensitive_and_kept_apart)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true]", NULL);
    feed(&r, "a1", 1, "a", "Host");
    feed(&r, "a2", 2, "a", "host");
    feed(&r, "b3", 3, "b", "HOST");
    feed(&r, "b4", 4, "b", "Host");
    feed(&r, "b5", 5, "b", "host");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b4 | a2 b5");
    finish(&r);
}

Test(maxspan, equal_to_maxspan_is_inside)
{
    run r;
    start(&r, "sequence with maxspan=10ms [a where true] [b where true]", NULL);
    feed(&r, "a1", 0, "a", NULL);
    feed(&r, "b2", 10, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2");
    finish(&r);
}

Test(maxspan, one_past_maxspan_is_outside_and_the_partial_expires)
{
    run r;
    start(&r, "sequence with maxspan=10ms [a where true] [b where true]", NULL);
    feed(&r, "a1", 0, "a", NULL);
    eqlite_event ev = {0};
    eqlite_value f[F_COUNT] = {0};
    f[F_CAT] = str("b");
    ev.fields = f;
    ev.nfields = F_COUNT;
    ev.timestamp = 10 * MS + 1;
    ev.user = "b2";
    eqlite_feed(r.m, &ev, render, &r);
    flush(&r);
    cr_expect_str_eq(r.out, "");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.expired, 1);
    cr_expect_eq(s.pending, 0);
    finish(&r);
}

Test(until, an_until_event_drops_the_pending_partials_of_its_key)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] until [c where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "y");
    feed(&r, "c3", 3, "c", "x");
    feed(&r, "b4", 4, "b", "x");
    feed(&r, "b5", 5, "b", "y");
    flush(&r);
    cr_expect_str_eq(r.out, "a2 b5");
    finish(&r);
}

Test(until, completed_sequences_are_not_affected)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] until [c where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "b2", 2, "b", "x");
    feed(&r, "c3", 3, "c", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2");
    finish(&r);
}

/* SequenceMatcher.match (x-pack/plugin/eql, execution/sequence): before a
 * partial advances to event H, the nearest until U strictly before H rejects
 * it when U is between the partial's last event L and H, L included. So an
 * event that starts or extends a partial and is also an until event leaves
 * a partial that can never advance, while an event that completes a sequence
 * is not its own until (strictly before H). */
Test(until, an_event_that_extends_a_partial_and_is_until_cancels_it)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] [c where true] until [b where n == 9]",
          NULL);
    feed(&r, "a1", 1, "a", "x");
    feed_full(&r, "b2", 2, "b", "x", NULL, 9);
    feed(&r, "c3", 3, "c", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.pending, 0);
    finish(&r);
}

Test(until, an_event_that_starts_a_partial_and_is_until_cancels_it)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] until [a where n == 9]", NULL);
    feed_full(&r, "a1", 1, "a", "x", NULL, 9);
    feed(&r, "b2", 2, "b", "x");
    feed(&r, "a3", 3, "a", "x");
    feed(&r, "b4", 4, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a3 b4");
    finish(&r);
}

Test(until, an_event_that_completes_a_sequence_and_is_until_completes_it)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] until [b where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "b2", 2, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2");
    finish(&r);
}

Test(until, an_until_event_at_the_same_timestamp_before_the_step_cancels)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] until [c where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "c2", 2, "c", "x");
    feed(&r, "b2", 2, "b", "x"); /* same timestamp, after the until in stream order */
    flush(&r);
    cr_expect_str_eq(r.out, "");
    finish(&r);
}

Test(until, with_runs_the_repeated_event_that_is_until_cancels_both_partials)
{
    run r;
    start(&r, "sequence by k [a where true] with runs=2 [b where true] until [a where n == 9]",
          NULL);
    feed(&r, "a1", 1, "a", "x");
    feed_full(&r, "a2", 2, "a", "x", NULL, 9); /* extends a1 and starts its own */
    feed(&r, "b3", 3, "b", "x");
    feed(&r, "a4", 4, "a", "x");
    feed(&r, "a5", 5, "a", "x");
    feed(&r, "b6", 6, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a4 a5 b6");
    finish(&r);
}

Test(until, optional_null_keys_join_the_until_event_too)
{
    run r;
    start(&r, "sequence by ?k2 [a where true] [b where true] until [a where n == 9]", NULL);
    feed_full(&r, "a1", 1, "a", NULL, NULL, 9);
    feed(&r, "b2", 2, "b", NULL);
    feed_full(&r, "a3", 3, "a", NULL, "z", 9); /* another key: no effect on null */
    feed(&r, "a4", 4, "a", NULL);
    feed_full(&r, "a5", 5, "a", NULL, "z", 9);
    feed(&r, "b6", 6, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a4 b6");
    finish(&r);
}

Test(until, with_missing_events_the_until_check_is_on_positive_steps_only)
{
    run r;
    /* a middle step that is also until: the candidate cannot reach c */
    start(&r,
          "sequence by k with maxspan=1s [a where true] [b where true] ![x where true] "
          "[c where true] until [b where n == 9]",
          NULL);
    feed(&r, "a1", 1, "a", "x");
    feed_full(&r, "b2", 2, "b", "x", NULL, 9);
    feed(&r, "c3", 3, "c", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "");
    finish(&r);
    /* the completing step that is also until: complete, then awaits the trailing clause */
    start(&r,
          "sequence by k with maxspan=1s [a where true] [b where true] ![x where true] "
          "until [b where n == 9]",
          NULL);
    feed(&r, "a1", 1, "a", "x");
    feed_full(&r, "b2", 2, "b", "x", NULL, 9);
    feed(&r, "c3", 3, "c", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2 -");
    finish(&r);
}

Test(runs, a_term_with_runs_repeats_itself)
{
    run r;
    start(&r, "sequence by k [a where true] with runs=3 [b where true]", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "x");
    feed(&r, "b3", 3, "b", "x");
    feed(&r, "a4", 4, "a", "x");
    feed(&r, "b5", 5, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 a2 a4 b5");
    finish(&r);
}

static eqlite_status feed_tags(run *r, const char *name, long long ms, const char *cat,
                               const char *const *tags, size_t n)
{
    eqlite_value elems[8], f[F_COUNT] = {0};
    for (size_t i = 0; i < n; i++)
        elems[i] = str(tags[i]);
    f[F_CAT] = str(cat);
    f[F_TAGS].kind = EQLITE_ARRAY;
    f[F_TAGS].len = (uint32_t)n;
    f[F_TAGS].u.a = elems;
    eqlite_event ev = {f, F_COUNT, ms * MS, {0}, (void *)name, NULL, 0};
    return eqlite_feed(r->m, &ev, render, r);
}

Test(multi_valued_keys, every_distinct_value_is_a_key)
{
    run r;
    start(&r, "sequence by tags [a where true] [b where true]", NULL);
    const char *t1[] = {"x", "y", "x"};
    const char *t2[] = {"y"};
    const char *t3[] = {"x"};
    feed_tags(&r, "a1", 1, "a", t1, 3);
    feed_tags(&r, "b2", 2, "b", t2, 1);
    feed_tags(&r, "b3", 3, "b", t3, 1);
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2 | a1 b3");
    finish(&r);
}

Test(multi_valued_keys, an_empty_array_is_a_null_key)
{
    run r;
    start(&r, "sequence by tags [a where true] [b where true]", NULL);
    const char *t[] = {"x"};
    feed_tags(&r, "a1", 1, "a", t, 0);
    feed_tags(&r, "b2", 2, "b", t, 1);
    flush(&r);
    cr_expect_str_eq(r.out, "");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.dropped, 1);
    finish(&r);
}

Test(optional_keys, a_null_key_drops_the_event)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true]", NULL);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "b2", 2, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.dropped, 2);
    finish(&r);
}

Test(optional_keys, a_question_mark_key_joins_on_null)
{
    run r;
    start(&r, "sequence by ?k [a where true] [b where true]", NULL);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "b2", 2, "b", "x");
    feed(&r, "b3", 3, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b3");
    finish(&r);
}

Test(out_of_order, an_earlier_event_is_refused_and_counted)
{
    run r;
    start(&r, "sequence [a where true] [b where true]", NULL);
    cr_expect_eq(feed(&r, "a5", 5, "a", NULL), EQLITE_OK);
    cr_expect_eq(feed(&r, "b3", 3, "b", NULL), EQLITE_EORDER);
    cr_expect_eq(feed(&r, "b6", 6, "b", NULL), EQLITE_OK);
    flush(&r);
    cr_expect_str_eq(r.out, "a5 b6");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.out_of_order, 1);
    finish(&r);
}

Test(out_of_order, equal_timestamps_are_ordered_by_tiebreaker)
{
    run r;
    start(&r, "sequence [a where true] [b where true]", NULL);
    eqlite_value f[F_COUNT] = {0};
    f[F_CAT] = str("a");
    eqlite_event ev = {f, F_COUNT, 7 * MS, {0}, "a", NULL, 0};
    ev.tiebreaker.kind = EQLITE_INT;
    ev.tiebreaker.u.i = 2;
    cr_expect_eq(eqlite_feed(r.m, &ev, render, &r), EQLITE_OK);
    f[F_CAT] = str("b");
    ev.tiebreaker.u.i = 1;
    cr_expect_eq(eqlite_feed(r.m, &ev, render, &r), EQLITE_EORDER);
    finish(&r);
}

Test(limits, the_oldest_partial_is_evicted_at_max_partials)
{
    run r;
    eqlite_limits lim = {0};
    lim.max_partials = 2;
    start(&r, "sequence by k [a where true] [b where true]", &lim);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "y");
    feed(&r, "a3", 3, "a", "z");
    feed(&r, "b4", 4, "b", "x");
    feed(&r, "b5", 5, "b", "y");
    flush(&r);
    cr_expect_str_eq(r.out, "a2 b5");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.evicted, 1);
    cr_expect_eq(s.pending, 1);
    finish(&r);
}

Test(limits, the_oldest_key_is_evicted_at_max_keys)
{
    run r;
    eqlite_limits lim = {0};
    lim.max_keys = 1;
    start(&r, "sequence by k [a where true] [b where true]", &lim);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "y");
    feed(&r, "b3", 3, "b", "x");
    feed(&r, "b4", 4, "b", "y");
    flush(&r);
    cr_expect_str_eq(r.out, "a2 b4");
    eqlite_stats s;
    eqlite_matcher_stats(r.m, &s);
    cr_expect_eq(s.evicted, 1);
    finish(&r);
}

Test(limits, size_caps_the_results)
{
    run r;
    eqlite_limits lim = {0};
    lim.size = 1;
    start(&r, "sequence [a where true] [b where true]", &lim);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "b2", 2, "b", NULL);
    feed(&r, "a3", 3, "a", NULL);
    feed(&r, "b4", 4, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b2");
    finish(&r);
}

/* ---- missing events, pipes, samples --------------------------------------- */

Test(missing_events, a_trailing_clause_settles_at_flush)
{
    run r;
    start(&r, "sequence with maxspan=1s [a where true] ![c where true]", NULL);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "c2", 2, "c", NULL);
    feed(&r, "a3", 3, "a", NULL);
    cr_expect_str_eq(r.out, "");
    flush(&r);
    cr_expect_str_eq(r.out, "a3 -");
    finish(&r);
}

Test(missing_events, a_middle_clause_discards_the_candidate)
{
    run r;
    start(&r, "sequence with maxspan=1s [a where true] ![c where true] [b where true]", NULL);
    feed(&r, "a1", 1, "a", NULL);
    feed(&r, "c2", 2, "c", NULL);
    feed(&r, "b3", 3, "b", NULL);
    feed(&r, "a4", 4, "a", NULL);
    feed(&r, "b5", 5, "b", NULL);
    flush(&r);
    cr_expect_str_eq(r.out, "a4 - b5");
    finish(&r);
}

Test(pipes, head_then_tail_chain_left_to_right)
{
    run r;
    start(&r, "a where true | head 4 | tail 2", NULL);
    static const char *const names[] = {"1", "2", "3", "4", "5", "6"};
    for (int i = 0; i < 6; i++)
        feed(&r, names[i], i, "a", NULL);
    cr_expect_str_eq(r.out, "");
    flush(&r);
    cr_expect_str_eq(r.out, "3 | 4");
    finish(&r);
}

Test(pipes, head_on_sequences_follows_first_event_order)
{
    run r;
    start(&r, "sequence by k [a where true] [b where true] | head 1", NULL);
    feed(&r, "a1", 1, "a", "x");
    feed(&r, "a2", 2, "a", "y");
    feed(&r, "b3", 3, "b", "y"); /* completes first, but starts later */
    feed(&r, "b4", 4, "b", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a1 b4");
    finish(&r);
}

Test(pipes, callback_can_stop)
{
    run r;
    start(&r, "a where true", NULL);
    r.stop_after = 1;
    feed(&r, "1", 1, "a", NULL);
    feed(&r, "2", 2, "a", NULL);
    cr_expect_str_eq(r.out, "1");
    finish(&r);
}

Test(samples, groups_events_by_key_in_any_order)
{
    run r;
    start(&r, "sample by k [a where true] [b where true]", NULL);
    feed(&r, "b1", 1, "b", "x");
    feed(&r, "a2", 2, "a", "y");
    feed(&r, "a3", 3, "a", "x");
    flush(&r);
    cr_expect_str_eq(r.out, "a3 b1");
    finish(&r);
}

/* Elasticsearch returns samples in the order of its composite aggregation
 * over the join keys, i.e. each key field's doc-value order: a version by
 * VersionEncoder's bytes, an ip by its address (16 bytes), not as text. */
static void feed_typed(run *r, const char *name, long long ms, const char *cat, int field, const char *v)
{
    eqlite_value f[F_COUNT] = {0};
    f[F_CAT] = str(cat);
    f[field] = str(v);
    eqlite_event ev = {f, F_COUNT, ms * MS, {0}, (void *)name, NULL, 0};
    cr_assert_eq(eqlite_feed(r->m, &ev, render, r), EQLITE_OK);
}

Test(samples, keys_of_version_and_ip_fields_order_as_their_types)
{
    run r;
    start(&r, "sample by ver [a where true] [b where true]", NULL);
    feed_typed(&r, "a1", 1, "a", F_VER, "1.10.0");
    feed_typed(&r, "b2", 2, "b", F_VER, "1.10.0");
    feed_typed(&r, "a3", 3, "a", F_VER, "1.9.0");
    feed_typed(&r, "b4", 4, "b", F_VER, "1.9.0");
    feed_typed(&r, "a5", 5, "a", F_VER, "1.9.0-rc.1");
    feed_typed(&r, "b6", 6, "b", F_VER, "1.9.0-rc.1");
    flush(&r);
    cr_expect_str_eq(r.out, "a5 b6 | a3 b4 | a1 b2");
    finish(&r);
    start(&r, "sample by addr [a where true] [b where true]", NULL);
    feed_typed(&r, "a1", 1, "a", F_ADDR, "10.0.0.10");
    feed_typed(&r, "b2", 2, "b", F_ADDR, "10.0.0.10");
    feed_typed(&r, "a3", 3, "a", F_ADDR, "10.0.0.9");
    feed_typed(&r, "b4", 4, "b", F_ADDR, "10.0.0.9");
    feed_typed(&r, "a5", 5, "a", F_ADDR, "::1"); /* IPv6 ::1 sorts before ::ffff:10.0.0.9 */
    feed_typed(&r, "b6", 6, "b", F_ADDR, "::1");
    flush(&r);
    cr_expect_str_eq(r.out, "a5 b6 | a3 b4 | a1 b2");
    finish(&r);
}

/* ---- sequences.series-spec ---------------------------------------------------
 * Each spec: a name, one line of tokens per stage ("key|" prefix optional,
 * letters then the timestamp), ';', the expected sequences, ';'. Stage i is
 * `[s where stage == i]`; the query joins `by k` when any token has a key. */

typedef struct spec_event {
    long long ts;
    int stage;
    char key[16];
    char name[16];
} spec_event;

static int by_ts(const void *a, const void *b)
{
    const spec_event *x = a, *y = b;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

static char *next_line(char **p)
{
    while (**p) {
        char *line = *p;
        char *nl = strchr(line, '\n');
        *p = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = 0;
        char *c = strstr(line, "//");
        if (c)
            *c = 0;
        while (*line == ' ' || *line == '\t')
            line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\r' || line[n - 1] == '\t'))
            line[--n] = 0;
        if (*line)
            return line;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Splits "A | B | C" in place and sorts it, so order is not compared. */
static size_t split_sorted(char *s, char **out, size_t cap)
{
    size_t n = 0;
    for (char *tok = strtok(s, "|"); tok && n < cap; tok = strtok(NULL, "|")) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l && tok[l - 1] == ' ')
            tok[--l] = 0;
        out[n++] = tok;
    }
    qsort(out, n, sizeof *out, cmp_str);
    return n;
}

static bool run_spec(const char *name, char **stages, int nstages, char *expected)
{
    spec_event ev[256];
    int n = 0;
    bool keyed = false;
    for (int s = 0; s < nstages; s++) {
        char *save = NULL;
        for (char *tok = strtok_r(stages[s], " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
            spec_event *e = &ev[n++];
            memset(e, 0, sizeof *e);
            e->stage = s;
            char *bar = strchr(tok, '|');
            if (bar) {
                keyed = true;
                snprintf(e->key, sizeof e->key, "%.*s", (int)(bar - tok), tok);
                tok = bar + 1;
            }
            snprintf(e->name, sizeof e->name, "%s", tok);
            e->ts = atoll(tok + strcspn(tok, "0123456789"));
        }
    }
    qsort(ev, (size_t)n, sizeof *ev, by_ts);
    char rule[1024];
    size_t len = (size_t)snprintf(rule, sizeof rule, "sequence%s", keyed ? " by k" : "");
    for (int s = 0; s < nstages; s++)
        len += (size_t)snprintf(rule + len, sizeof rule - len, " [s where stage == %d]", s);
    run r;
    start(&r, rule, NULL);
    for (int i = 0; i < n; i++) {
        eqlite_value f[F_COUNT] = {0};
        f[F_CAT] = str("s");
        f[F_K] = str(ev[i].key[0] ? ev[i].key : "none");
        f[F_STAGE].kind = EQLITE_INT;
        f[F_STAGE].u.i = ev[i].stage;
        eqlite_event e = {f, F_COUNT, ev[i].ts * MS, {0}, ev[i].name, NULL, 0};
        cr_assert_eq(eqlite_feed(r.m, &e, render, &r), EQLITE_OK);
    }
    flush(&r);
    char *got[64], *want[64];
    size_t ng = split_sorted(r.out, got, 64), nw = split_sorted(expected, want, 64);
    bool ok = ng == nw;
    for (size_t i = 0; ok && i < ng; i++)
        ok = strcmp(got[i], want[i]) == 0;
    if (!ok) {
        fprintf(stderr, "  FAIL %s: got", name);
        for (size_t i = 0; i < ng; i++)
            fprintf(stderr, " [%s]", got[i]);
        fprintf(stderr, "\n");
    }
    finish(&r);
    return ok;
}

Test(series_spec, all_25_scenarios)
{
    size_t len = 0;
    char *text = read_whole_file(shared_path("conformance/elasticsearch/sequences.series-spec"), &len);
    cr_assert(text, "cannot read sequences.series-spec");
    char *p = text, *line;
    int passed = 0, total = 0;
    while ((line = next_line(&p))) {
        const char *name = line;
        char *stages[16];
        int nstages = 0;
        while ((line = next_line(&p)) && strcmp(line, ";") != 0)
            stages[nstages++] = line;
        char expected[1024] = "";
        while ((line = next_line(&p)) && strcmp(line, ";") != 0) {
            size_t l = strlen(expected);
            snprintf(expected + l, sizeof expected - l, "%s", l ? " | " : "");
            l = strlen(expected);
            /* the expected lines may carry "key|" on their first token */
            char *bar = strchr(line, '|');
            snprintf(expected + l, sizeof expected - l, "%s", bar ? bar + 1 : line);
        }
        total++;
        passed += run_spec(name, stages, nstages, expected);
    }
    printf("sequences.series-spec: %d/%d\n", passed, total);
    fflush(stdout);
    free(text);
    cr_expect_eq(total, 25);
    cr_expect_eq(passed, total);
}
