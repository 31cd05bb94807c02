/* test_event_hooks.c: held events and their hooks (eqlite_event_hooks), and
 * the state counters a caller reads to show what a rule held or lost. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"

#define MS 1000000LL

enum { F_CAT, F_K, F_COUNT };

typedef struct hooked {
    int retained, released;
    char out[1024];
} hooked;

/* The kept user is a heap copy of the feed's name: a test fails (under
 * ASan) or prints garbage if the engine hands back the caller's buffer. */
static void *retain(void *ctx, const eqlite_event *ev)
{
    hooked *h = ctx;
    h->retained++;
    return strdup(ev->user);
}

static void release(void *ctx, void *user)
{
    hooked *h = ctx;
    h->released++;
    free(user);
}

static int render(void *user, const eqlite_result *res)
{
    hooked *h = user;
    size_t len = strlen(h->out);
    for (size_t i = 0; i < res->nevents; i++)
        len += (size_t)snprintf(h->out + len, sizeof h->out - len, "%s%s", len ? " " : "",
                                res->events[i] ? (const char *)res->events[i]->user : "-");
    return 0;
}

typedef struct setup {
    eqlite_schema *schema;
    eqlite_program *prog;
    eqlite_matcher *m;
} setup;

static void start(setup *s, const char *rule, const eqlite_limits *lim)
{
    cr_assert_eq(eqlite_schema_new(NULL, &s->schema), EQLITE_OK);
    uint32_t id;
    cr_assert_eq(eqlite_schema_add(s->schema, "cat", 3, EQLITE_T_KEYWORD, &id), EQLITE_OK);
    cr_assert_eq(eqlite_schema_add(s->schema, "k", 1, EQLITE_T_KEYWORD, &id), EQLITE_OK);
    eqlite_schema_set_category_field(s->schema, "cat", 3);
    eqlite_diag d;
    cr_assert_eq(eqlite_compile(s->schema, rule, strlen(rule), &s->prog, &d), EQLITE_OK, "%s", d.message);
    cr_assert_eq(eqlite_matcher_new(s->prog, lim, &s->m), EQLITE_OK);
}

static void stop(setup *s)
{
    eqlite_matcher_free(s->m);
    eqlite_program_free(s->prog);
    eqlite_schema_free(s->schema);
}

/* The name lives in a buffer wiped after the feed, as a reader's would. */
static eqlite_status feed(setup *s, hooked *h, const char *name, long long ms, const char *cat, const char *k)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%s", name);
    eqlite_value f[F_COUNT] = {{EQLITE_STRING, (uint32_t)strlen(cat), {.s = cat}},
                               {EQLITE_STRING, (uint32_t)strlen(k), {.s = k}}};
    eqlite_event ev = {f, F_COUNT, ms * MS, {0}, buf, NULL, 0};
    eqlite_status st = eqlite_feed(s->m, &ev, render, h);
    memset(buf, 'X', sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    return st;
}

Test(hooks, a_sequence_result_names_the_kept_copies_and_every_copy_is_released)
{
    setup s;
    hooked h = {0};
    start(&s, "sequence by k [a where true] [b where true]", NULL);
    eqlite_event_hooks hooks = {retain, release, &h};
    cr_assert_eq(eqlite_matcher_set_event_hooks(s.m, &hooks), EQLITE_OK);
    feed(&s, &h, "a1", 1, "a", "x");
    feed(&s, &h, "a2", 2, "a", "y");
    feed(&s, &h, "b3", 3, "b", "x");
    cr_assert_eq(eqlite_flush(s.m, render, &h), EQLITE_OK);
    cr_expect_str_eq(h.out, "a1 b3");
    cr_expect_eq(h.retained, 3);
    stop(&s); /* a2's partial is still held: freed here */
    cr_expect_eq(h.released, h.retained);
}

static void *refuse(void *ctx, const eqlite_event *ev)
{
    (void)ctx;
    (void)ev;
    return NULL;
}

Test(hooks, a_retain_that_returns_null_fails_the_feed)
{
    setup s;
    hooked h = {0};
    start(&s, "sequence by k [a where true] [b where true]", NULL);
    eqlite_event_hooks hooks = {refuse, release, &h};
    eqlite_matcher_set_event_hooks(s.m, &hooks);
    cr_expect_eq(feed(&s, &h, "a1", 1, "a", "x"), EQLITE_ENOMEM);
    stop(&s);
    cr_expect_eq(h.released, 0);
}

Test(hooks, every_streaming_rule_of_a_scanner_gets_them)
{
    eqlite_schema *schema;
    cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK);
    eqlite_schema_set_grow(schema, 1);
    eqlite_schema_set_category_field(schema, "cat", 3);
    eqlite_ruleset *rs;
    cr_assert_eq(eqlite_ruleset_new(schema, &rs), EQLITE_OK);
    const char *rules[] = {"a where true", "sequence by k [a where true] [b where true]",
                           "sample by k [a where true] [b where true]"};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(eqlite_ruleset_add(rs, rules[i], strlen(rules[i]), NULL, NULL, NULL), EQLITE_OK);
    cr_assert_eq(eqlite_ruleset_finish(rs), EQLITE_OK);
    eqlite_scanner *sc;
    cr_assert_eq(eqlite_scanner_new(rs, NULL, &sc), EQLITE_OK);
    hooked h = {0};
    eqlite_event_hooks hooks = {retain, release, &h};
    cr_assert_eq(eqlite_scanner_set_event_hooks(sc, &hooks), EQLITE_OK);
    uint32_t cat, k;
    cr_assert_eq(eqlite_schema_lookup(schema, "cat", 3, &cat), EQLITE_OK);
    cr_assert_eq(eqlite_schema_lookup(schema, "k", 1, &k), EQLITE_OK);
    const char *names[] = {"a1", "b2"}, *cats[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        eqlite_value f[8] = {{0}};
        f[cat] = (eqlite_value){EQLITE_STRING, 1, {.s = cats[i]}};
        f[k] = (eqlite_value){EQLITE_STRING, 1, {.s = "x"}};
        eqlite_event ev = {f, 8, (i + 1) * MS, {0}, (void *)names[i], NULL, 0};
        cr_assert_eq(eqlite_scanner_match(sc, &ev, NULL, NULL), EQLITE_OK);
    }
    cr_expect_eq(h.retained, 4); /* a1 and b2, once for the sequence and once for the sample */
    eqlite_stats st;
    cr_assert_eq(eqlite_scanner_rule_stats(sc, 2, &st), EQLITE_OK);
    cr_expect_eq(st.pending, 2);
    cr_expect_eq(eqlite_scanner_rule_stats(sc, 3, &st), EQLITE_EMISUSE);
    eqlite_scanner_free(sc);
    cr_expect_eq(h.released, h.retained);
    eqlite_ruleset_free(rs);
    eqlite_schema_free(schema);
}

Test(stats, an_evicted_sample_key_no_longer_counts_as_pending)
{
    setup s;
    hooked h = {0};
    eqlite_limits lim = {0};
    lim.max_keys = 1;
    lim.max_samples_per_key = 1;
    start(&s, "sample by k [a where true] [b where true]", &lim);
    feed(&s, &h, "a1", 1, "a", "x");
    feed(&s, &h, "a2", 2, "a", "y"); /* evicts x */
    feed(&s, &h, "a3", 3, "a", "z"); /* evicts y */
    eqlite_stats st;
    eqlite_matcher_stats(s.m, &st);
    cr_expect_eq(st.evicted, 2);
    cr_expect_eq(st.pending, 1);
    stop(&s);
}

/* eqlite_value_copy: what a caller uses to keep an event's values itself. */
Test(event_hooks, value_copy_keeps_strings_and_arrays_past_their_source)
{
    char *name = strdup("cmd.exe"), *a = strdup("a"), *bc = strdup("bc");
    eqlite_value elems[3] = {{EQLITE_STRING, 1, {.s = a}}, {EQLITE_INT, 0, {.i = 7}}, {EQLITE_STRING, 2, {.s = bc}}};
    eqlite_value src[3] = {{EQLITE_STRING, 7, {.s = name}}, {EQLITE_ARRAY, 3, {.a = elems}}, {EQLITE_INT, 0, {.i = -5}}};
    size_t nelems = 0, nbytes = 0;
    for (int k = 0; k < 3; k++)
        eqlite_value_copy_size(&src[k], &nelems, &nbytes);
    cr_assert_eq(nelems, 3);
    cr_assert_eq(nbytes, strlen("cmd.exe") + strlen("a") + strlen("bc"));
    char *block = malloc(nelems * sizeof(eqlite_value) + nbytes);
    eqlite_value *ecur = (eqlite_value *)block;
    char *bcur = block + nelems * sizeof(eqlite_value);
    eqlite_value kept[3];
    for (int k = 0; k < 3; k++)
        kept[k] = eqlite_value_copy(&src[k], &ecur, &bcur);
    cr_assert_eq((char *)ecur, block + nelems * sizeof(eqlite_value), "the element cursor ends where the bytes begin");
    cr_assert_eq(bcur, block + nelems * sizeof(eqlite_value) + nbytes, "the byte cursor ends at the block's end");
    memset(name, 'X', 7); /* the source goes: the copy must not notice */
    memset(elems, 0, sizeof elems);
    free(name);
    free(a);
    free(bc);
    cr_assert_eq(kept[0].kind, EQLITE_STRING);
    cr_assert_eq(kept[0].len, 7);
    cr_assert_eq(memcmp(kept[0].u.s, "cmd.exe", 7), 0);
    cr_assert_eq(kept[1].kind, EQLITE_ARRAY);
    cr_assert_eq(kept[1].len, 3);
    cr_assert_eq(kept[1].u.a[0].len, 1);
    cr_assert_eq(memcmp(kept[1].u.a[0].u.s, "a", 1), 0);
    cr_assert_eq(kept[1].u.a[1].kind, EQLITE_INT);
    cr_assert_eq(kept[1].u.a[1].u.i, 7);
    cr_assert_eq(memcmp(kept[1].u.a[2].u.s, "bc", 2), 0);
    cr_assert_eq(kept[2].kind, EQLITE_INT);
    cr_assert_eq(kept[2].u.i, -5);
    free(block);
}
