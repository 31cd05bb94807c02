/* ruleset_diff.h: the differential check of the rule index, shared by the
 * fuzz_rule_index target and the regression tests it produced. Rules run
 * over events four ways: each rule alone through its own matcher (the
 * reference), one scanner over the whole ruleset, the same scanner with the
 * events' present-field lists, and two scanners that each select half the
 * rules and match from a third one's marks (what `eqlite query -j` does).
 * Any index guard that is too strict makes a rule's results differ from
 * what it gives alone: a silent wrong answer. */
#ifndef EQ_RULESET_DIFF_H
#define EQ_RULESET_DIFF_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"

/* The schema every case runs over (in grow mode, rules may add fields). */
static const struct {
    const char *name;
    eqlite_type type;
} DIFF_FIELDS[] = {
    {"event.category", EQLITE_T_KEYWORD}, {"a", EQLITE_T_KEYWORD}, {"b", EQLITE_T_KEYWORD},
    {"w", EQLITE_T_WILDCARD},             {"n", EQLITE_T_LONG},    {"f", EQLITE_T_DOUBLE},
    {"u", EQLITE_T_UNKNOWN},
};
enum { DIFF_NFIELDS = sizeof DIFF_FIELDS / sizeof *DIFF_FIELDS, DIFF_MAX_RULES = 80, DIFF_MAX_EVENTS = 64 };

/* Value notation for cases written in C (the fuzzer prints its failures so). */
#define DV_S(x) {EQLITE_STRING, sizeof(x) - 1, {.s = x}}
#define DV_I(x) {EQLITE_INT, 0, {.i = x}}
#define DV_D(x) {EQLITE_DOUBLE, 0, {.d = x}}
#define DV_B(x) {EQLITE_BOOL, 0, {.b = x}}
#define DV_NULL {EQLITE_NULL, 0, {0}}
#define DV_ARR(...) \
    {EQLITE_ARRAY, sizeof((eqlite_value[]){__VA_ARGS__}) / sizeof(eqlite_value), {.a = (eqlite_value[]){__VA_ARGS__}}}
#define DV_EMPTY {EQLITE_ARRAY, 0, {.a = NULL}}

/* One event of a case: its time in milliseconds and its fields. */
typedef struct diff_event {
    int64_t ms;
    eqlite_value fields[DIFF_NFIELDS];
} diff_event;

/* A growable text: one side's results, line by line. */
typedef struct diff_text {
    char *s;
    size_t n, cap;
} diff_text;

static void diff_printf(diff_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff_printf(diff_text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->s ? t->s + t->n : NULL, t->s ? t->cap - t->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if (t->s && t->n + (size_t)k < t->cap) {
            t->n += (size_t)k;
            return;
        }
        size_t cap = (t->cap + (size_t)k + 1) * 2;
        char *s = realloc(t->s, cap);
        if (!s)
            abort();
        t->s = s;
        t->cap = cap;
    }
}

/* A value as the C notation above (octal escapes: a hex one would eat the letters after it). */
static void diff_value(diff_text *t, const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_STRING:
        diff_printf(t, "DV_S(\"");
        for (uint32_t i = 0; i < v->len; i++) {
            unsigned char c = (unsigned char)v->u.s[i];
            if (c == '"' || c == '\\')
                diff_printf(t, "\\%c", c);
            else if (c < 0x20 || c >= 0x7f)
                diff_printf(t, "\\%03o", c);
            else
                diff_printf(t, "%c", c);
        }
        diff_printf(t, "\")");
        break;
    case EQLITE_INT:
        diff_printf(t, "DV_I(%lld)", (long long)v->u.i);
        break;
    case EQLITE_DOUBLE:
        if (isnan(v->u.d))
            diff_printf(t, "DV_D(NAN)");
        else
            diff_printf(t, "DV_D(%.17g)", v->u.d);
        break;
    case EQLITE_BOOL:
        diff_printf(t, "DV_B(%d)", v->u.b);
        break;
    case EQLITE_ARRAY:
        if (!v->len) {
            diff_printf(t, "DV_EMPTY");
            break;
        }
        diff_printf(t, "DV_ARR(");
        for (uint32_t i = 0; i < v->len; i++) {
            diff_printf(t, i ? ", " : "");
            diff_value(t, &v->u.a[i]);
        }
        diff_printf(t, ")");
        break;
    default:
        diff_printf(t, "DV_NULL");
    }
}

/* One result: the rule, the events by position, the join keys. */
static void diff_result(diff_text *t, size_t rule, const eqlite_result *r)
{
    diff_printf(t, " r%zu(", rule);
    for (size_t i = 0; i < r->nevents; i++) {
        if (r->events[i])
            diff_printf(t, "%s%zu", i ? "," : "", (size_t)(uintptr_t)r->events[i]->user - 1);
        else
            diff_printf(t, "%s-", i ? "," : "");
    }
    for (size_t i = 0; i < r->nkeys; i++) {
        diff_printf(t, i ? "," : "|");
        diff_value(t, &r->keys[i]);
    }
    diff_printf(t, ")");
}

/* The results of one event from several scanners, put in rule order. */
typedef struct diff_pending {
    struct diff_item {
        size_t rule;
        diff_text text;
    } *items;
    size_t n, cap;
    const size_t *label; /* ruleset index -> the case's rule number */
} diff_pending;

typedef struct diff_alone {
    diff_text *text;
    size_t rule;
    size_t results, sequences; /* all, and those of more than one event */
} diff_alone;

static int diff_on_alone(void *user, const eqlite_result *r)
{
    diff_alone *a = user;
    diff_result(a->text, a->rule, r);
    a->results++;
    a->sequences += r->nevents > 1;
    return 0;
}

static int diff_on_rule(void *user, const eqlite_rule_info *rule, const eqlite_result *r)
{
    diff_pending *p = user;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct diff_item *items = realloc(p->items, cap * sizeof *items);
        if (!items)
            abort();
        memset(items + p->cap, 0, (cap - p->cap) * sizeof *items);
        p->items = items;
        p->cap = cap;
    }
    p->items[p->n].rule = p->label[rule->index];
    p->items[p->n].text.n = 0;
    diff_result(&p->items[p->n].text, p->label[rule->index], r);
    p->n++;
    return 0;
}

/* Appends the gathered results to t (stable sort by rule when `sort`). */
static void diff_drain(diff_pending *p, diff_text *t, bool sort)
{
    for (size_t i = 1; sort && i < p->n; i++)
        for (size_t j = i; j > 0 && p->items[j - 1].rule > p->items[j].rule; j--) {
            size_t rule = p->items[j].rule;
            diff_text x = p->items[j].text;
            p->items[j] = p->items[j - 1];
            p->items[j - 1].rule = rule;
            p->items[j - 1].text = x;
        }
    for (size_t i = 0; i < p->n; i++)
        diff_printf(t, "%.*s", (int)p->items[i].text.n, p->items[i].text.s ? p->items[i].text.s : "");
    p->n = 0;
}

static void diff_pending_free(diff_pending *p)
{
    for (size_t i = 0; i < p->cap; i++)
        free(p->items[i].text.s);
    free(p->items);
}

/* First line where a and b differ, into why. */
static bool diff_same(const char *side, const diff_text *a, const diff_text *b, diff_text *why)
{
    if (a->n == b->n && memcmp(a->s, b->s, a->n) == 0)
        return true;
    size_t i = 0, line = 0;
    while (i < a->n && i < b->n && a->s[i] == b->s[i])
        if (a->s[i++] == '\n')
            line = i;
    const char *ea = memchr(a->s + line, '\n', a->n - line), *eb = memchr(b->s + line, '\n', b->n - line);
    diff_printf(why, "%s differs from the rules alone:\n  alone: %.*s\n  %s: %.*s\n", side,
                (int)((ea ? ea : a->s + a->n) - (a->s + line)), a->s + line, side,
                (int)((eb ? eb : b->s + b->n) - (b->s + line)), b->s + line);
    return false;
}

/* What a case did: rules that compiled, results of the rules alone. */
typedef struct diff_counts {
    size_t compiled, results, sequences; /* sequences: results of more than one event */
} diff_counts;

/**
 * Runs rules[0..nrules) over events[0..nevents) (in order of time) the four
 * ways; false, with the first difference in why, if a scanner's results
 * differ from the rules' own. Rules that do not compile are left out of
 * both (a rule that compiles one way only is a difference too). counts
 * (may be NULL) receives what the case did.
 */
static bool ruleset_diff(int grow, const char *const *rules, size_t nrules, const diff_event *events, size_t nevents,
                         diff_text *why, diff_counts *counts)
{
    if (nrules > DIFF_MAX_RULES || nevents > DIFF_MAX_EVENTS)
        abort();
    bool same = true;
    eqlite_schema *schema = NULL;
    eqlite_ruleset *rs = NULL;
    eqlite_program *progs[DIFF_MAX_RULES] = {0};
    eqlite_matcher *alone[DIFF_MAX_RULES] = {0};
    eqlite_scanner *whole = NULL, *listed = NULL, *marker = NULL, *half[2] = {NULL, NULL};
    size_t label[DIFF_MAX_RULES], nadded = 0;
    diff_text want = {0}, got_whole = {0}, got_listed = {0}, got_split = {0};
    diff_pending *pending = calloc(1, sizeof *pending);
    if (!pending || eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        abort();
    pending->label = label;
    for (size_t k = 0; k < DIFF_NFIELDS; k++)
        if (eqlite_schema_add(schema, DIFF_FIELDS[k].name, strlen(DIFF_FIELDS[k].name), DIFF_FIELDS[k].type, NULL) !=
            EQLITE_OK)
            abort();
    eqlite_schema_set_grow(schema, grow);
    if (eqlite_ruleset_new(schema, &rs) != EQLITE_OK)
        abort();
    for (size_t k = 0; k < nrules; k++) {
        eqlite_status in_set = eqlite_ruleset_add(rs, rules[k], strlen(rules[k]), NULL, NULL, NULL);
        eqlite_status on_own = eqlite_compile(schema, rules[k], strlen(rules[k]), &progs[nadded], NULL);
        if ((in_set == EQLITE_OK) != (on_own == EQLITE_OK)) {
            diff_printf(why, "rule %zu compiles %s in the ruleset only: %s\n", k, in_set == EQLITE_OK ? "" : "not",
                        rules[k]);
            same = false;
        }
        if (on_own == EQLITE_OK && in_set != EQLITE_OK)
            eqlite_program_free(progs[nadded]);
        if (on_own != EQLITE_OK || in_set != EQLITE_OK)
            continue;
        if (eqlite_matcher_new(progs[nadded], NULL, &alone[nadded]) != EQLITE_OK)
            abort();
        label[nadded++] = k;
    }
    /* DIFF_MAX_RULES fits in two words of rules */
    uint64_t marks[64], even[2] = {UINT64_C(0x5555555555555555), UINT64_C(0x5555555555555555)}, odd[2] = {~even[0],
                                                                                                         ~even[1]};
    if (eqlite_ruleset_finish(rs) != EQLITE_OK || eqlite_scanner_new(rs, NULL, &whole) != EQLITE_OK ||
        eqlite_scanner_new(rs, NULL, &listed) != EQLITE_OK || eqlite_scanner_new(rs, NULL, &marker) != EQLITE_OK ||
        eqlite_scanner_new(rs, NULL, &half[0]) != EQLITE_OK || eqlite_scanner_new(rs, NULL, &half[1]) != EQLITE_OK ||
        eqlite_scanner_select(half[0], even) != EQLITE_OK || eqlite_scanner_select(half[1], odd) != EQLITE_OK ||
        eqlite_ruleset_marks_words(rs) > 64)
        abort();
    diff_alone a = {&want, 0, 0, 0};
    for (size_t i = 0; i < nevents; i++) {
        /* the present list: fields with a value, one field twice and a null one, as allowed */
        uint32_t present[DIFF_NFIELDS + 2];
        size_t npresent = 0;
        for (uint32_t f = 0; f < DIFF_NFIELDS; f++)
            if (events[i].fields[f].kind != EQLITE_NULL || f == i % DIFF_NFIELDS)
                present[npresent++] = f;
        if (npresent)
            present[npresent++] = present[0];
        eqlite_event ev = {events[i].fields, DIFF_NFIELDS, events[i].ms * 1000000, {0}, (void *)(uintptr_t)(i + 1),
                           NULL, 0};
        eqlite_event with_list = ev;
        with_list.present = present;
        with_list.npresent = npresent;
        diff_printf(&want, "event %zu:", i);
        for (size_t k = 0; k < nadded; k++) {
            a.rule = label[k];
            eqlite_feed(alone[k], &ev, diff_on_alone, &a);
        }
        diff_printf(&got_whole, "event %zu:", i);
        eqlite_scanner_match(whole, &ev, diff_on_rule, pending);
        diff_drain(pending, &got_whole, false);
        diff_printf(&got_listed, "event %zu:", i);
        eqlite_scanner_match(listed, &with_list, diff_on_rule, pending);
        diff_drain(pending, &got_listed, false);
        diff_printf(&got_split, "event %zu:", i);
        if (eqlite_scanner_mark(marker, &with_list, marks) != EQLITE_OK)
            abort();
        for (int h = 0; h < 2; h++)
            eqlite_scanner_match_marked(half[h], &with_list, marks, diff_on_rule, pending);
        diff_drain(pending, &got_split, true);
        diff_printf(&want, "\n");
        diff_printf(&got_whole, "\n");
        diff_printf(&got_listed, "\n");
        diff_printf(&got_split, "\n");
    }
    diff_printf(&want, "flush:");
    for (size_t k = 0; k < nadded; k++) {
        a.rule = label[k];
        eqlite_flush(alone[k], diff_on_alone, &a);
    }
    diff_printf(&got_whole, "flush:");
    eqlite_scanner_flush(whole, diff_on_rule, pending);
    diff_drain(pending, &got_whole, false);
    diff_printf(&got_listed, "flush:");
    eqlite_scanner_flush(listed, diff_on_rule, pending);
    diff_drain(pending, &got_listed, false);
    diff_printf(&got_split, "flush:");
    for (int h = 0; h < 2; h++)
        eqlite_scanner_flush(half[h], diff_on_rule, pending);
    diff_drain(pending, &got_split, true);
    diff_printf(&want, "\n");
    diff_printf(&got_whole, "\n");
    diff_printf(&got_listed, "\n");
    diff_printf(&got_split, "\n");
    if (counts)
        *counts = (diff_counts){nadded, a.results, a.sequences};
    same = diff_same("the ruleset", &want, &got_whole, why) && same;
    same = diff_same("the ruleset, present lists", &want, &got_listed, why) && same;
    same = diff_same("the ruleset split in two", &want, &got_split, why) && same;
    eqlite_scanner_free(whole);
    eqlite_scanner_free(listed);
    eqlite_scanner_free(marker);
    for (int h = 0; h < 2; h++)
        eqlite_scanner_free(half[h]);
    for (size_t k = 0; k < nadded; k++) {
        eqlite_matcher_free(alone[k]);
        eqlite_program_free(progs[k]);
    }
    eqlite_ruleset_free(rs);
    eqlite_schema_free(schema);
    free(want.s);
    free(got_whole.s);
    free(got_listed.s);
    free(got_split.s);
    diff_pending_free(pending);
    free(pending);
    return same;
}

#endif
