/* bench_vm.c: the reference rule ("Unusual Parent Process for cmd.exe")
 * through the VM against a hand-written C predicate for the same rule, over
 * the same generated events in one process; then the longest corpus rule (a
 * list of 2,609 values) against the reference rule, per event.
 *
 *   bench_vm [--events N] [--seed S] [--expect MATCHES] [--shared DIR] [--rule FILE]
 *
 * Prints events/s for both, the ratio VM / hand-written (target >= 0.6) and
 * the long rule's cost relative to the reference rule (target <= 2). Exits
 * non-zero if the two disagree on the matches or differ from --expect. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench_util.h"
#include "gen_events.h"

/* ---- the hand-written predicate ---- */

static const char *const UNUSUAL_PARENTS[] = {
    "lsass.exe",     "csrss.exe",         "epad.exe",    "regsvr32.exe", "dllhost.exe",
    "logonui.exe",   "wermgr.exe",        "spoolsv.exe", "jucheck.exe",  "jusched.exe",
    "ctfmon.exe",    "taskhostw.exe",     "googleupdate.exe", "sppsvc.exe", "sihost.exe",
    "slui.exe",      "sihclient.exe",     "searchindexer.exe", "searchprotocolhost.exe",
    "flashplayerupdateservice.exe", "werfault.exe", "wudfhost.exe", "unsecapp.exe", "wlanext.exe",
};
static const char EXCLUDED_ARG[] = "/processid:{ca8c87c1-929d-45ba-94db-ef8e6cb346ad}";

typedef struct rule_fields {
    uint32_t category, os_type, type, name, parent_name, parent_args;
} rule_fields;

static bool str_is(const eqlite_value *v, const char *s, size_t n)
{
    return v->kind == EQLITE_STRING && v->len == n && memcmp(v->u.s, s, n) == 0;
}

/* ASCII case-insensitive; the events are ASCII (the VM folds full Unicode). */
static bool str_is_i(const eqlite_value *v, const char *lower, size_t n)
{
    return v->kind == EQLITE_STRING && v->len == n && strncasecmp(v->u.s, lower, n) == 0;
}

/* Any element of a field (scalar or array) satisfies the test. */
static bool any(const eqlite_value *v, bool (*test)(const eqlite_value *, const char *, size_t), const char *s,
                size_t n)
{
    if (v->kind != EQLITE_ARRAY)
        return test(v, s, n);
    for (uint32_t k = 0; k < v->len; k++)
        if (test(&v->u.a[k], s, n))
            return true;
    return false;
}

static bool unusual_parent(const eqlite_value *v)
{
    for (size_t k = 0; k < sizeof UNUSUAL_PARENTS / sizeof UNUSUAL_PARENTS[0]; k++)
        if (any(v, str_is_i, UNUSUAL_PARENTS[k], strlen(UNUSUAL_PARENTS[k])))
            return true;
    return false;
}

static bool reference_rule_by_hand(const eqlite_event *ev, const rule_fields *f)
{
    const eqlite_value *fv = ev->fields;
    if (!any(&fv[f->category], str_is, "process", 7) || !any(&fv[f->os_type], str_is, "windows", 7) ||
        !any(&fv[f->type], str_is, "start", 5) || !any(&fv[f->name], str_is_i, "cmd.exe", 7) ||
        !unusual_parent(&fv[f->parent_name]))
        return false;
    bool excluded = any(&fv[f->parent_name], str_is_i, "dllhost.exe", 11) &&
                    any(&fv[f->parent_args], str_is_i, EXCLUDED_ARG, sizeof EXCLUDED_ARG - 1);
    return !excluded;
}

/* ---- timing ---- */

typedef struct run_result {
    double seconds; /* best pass */
    uint64_t matches;
} run_result;

static uint64_t pass_by_hand(const eqlite_event *evs, size_t n, const rule_fields *f)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += reference_rule_by_hand(&evs[i], f);
    return m;
}

static uint64_t pass_vm(eqlite_matcher *matcher, const eqlite_event *evs, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int hit = 0;
        eqlite_match(matcher, &evs[i], &hit);
        m += (uint64_t)hit;
    }
    return m;
}

static void keep_best(run_result *r, double seconds, uint64_t matches)
{
    if (r->seconds == 0 || seconds < r->seconds)
        r->seconds = seconds;
    r->matches = matches;
}

/* ---- the long rule over library-shaped events ---- */

/* Each generated event re-dressed as a Windows DLL load so the long rule
 * gets past its category / os / action tests and looks dll.name up in its
 * 2,609-value list (process.name and process.executable become dll.name and
 * dll.path). Without this the rule would stop at its first instruction. */
static eqlite_event *library_events(eqlite_schema *schema, const gen_events *g, eqlite_value **storage)
{
    size_t n;
    const eqlite_event *evs = gen_events_items(g, &n);
    size_t nf = eqlite_schema_field_count(schema);
    uint32_t action, dll_name, dll_path, ctime;
    if (eqlite_schema_lookup(schema, "event.action", 12, &action) != EQLITE_OK ||
        eqlite_schema_lookup(schema, "dll.name", 8, &dll_name) != EQLITE_OK ||
        eqlite_schema_lookup(schema, "dll.path", 8, &dll_path) != EQLITE_OK ||
        eqlite_schema_lookup(schema, "dll.Ext.relative_file_creation_time", 35, &ctime) != EQLITE_OK)
        return NULL;
    static const eqlite_value library = {EQLITE_STRING, 7, {.s = "library"}};
    eqlite_value *vals = calloc(n * nf, sizeof *vals);
    eqlite_event *out = calloc(n, sizeof *out);
    if (!vals || !out) {
        free(vals);
        free(out);
        return NULL;
    }
    uint32_t cat = gen_events_field_id(g, GF_EVENT_CATEGORY), os = gen_events_field_id(g, GF_HOST_OS_TYPE);
    for (size_t i = 0; i < n; i++) {
        eqlite_value *f = vals + i * nf;
        f[cat] = (eqlite_value){EQLITE_ARRAY, 1, {.a = &library}};
        f[os] = evs[i].fields[os];
        f[action] = (eqlite_value){EQLITE_STRING, 4, {.s = "load"}};
        f[dll_name] = evs[i].fields[gen_events_field_id(g, GF_PROCESS_NAME)];
        f[dll_path] = evs[i].fields[gen_events_field_id(g, GF_PROCESS_EXECUTABLE)];
        f[ctime] = (eqlite_value){EQLITE_INT, 0, {.i = 60}};
        out[i] = (eqlite_event){f, nf, evs[i].timestamp, {0}, NULL, NULL, 0};
    }
    *storage = vals;
    return out;
}

static eqlite_matcher *compile_matcher(eqlite_schema *schema, const char *src, size_t len,
                                       eqlite_program **prog)
{
    eqlite_diag diag;
    eqlite_matcher *m = NULL;
    if (eqlite_compile(schema, src, len, prog, &diag) != EQLITE_OK) {
        char buf[2048];
        eqlite_diag_format(&diag, src, len, buf, sizeof buf);
        fprintf(stderr, "compile error: %s\n", buf);
        return NULL;
    }
    if (eqlite_matcher_new(*prog, NULL, &m) != EQLITE_OK)
        return NULL;
    return m;
}

static int long_rule(const bench_options *opt, eqlite_schema *schema, const gen_events *g,
                     eqlite_matcher *reference, double reference_ns)
{
    size_t nrules, n;
    corpus_rule *rules = corpus_load(bench_shared_path(opt, "corpus/detection-rules-eql.jsonl"), &nrules);
    if (!rules) {
        printf("long rule: skipped (no corpus under %s)\n", opt->shared);
        return 0;
    }
    const corpus_rule *lr = &rules[corpus_longest(rules, nrules)];
    eqlite_program *prog = NULL;
    eqlite_matcher *m = compile_matcher(schema, lr->query, lr->len, &prog);
    eqlite_value *storage = NULL;
    eqlite_event *lib = m ? library_events(schema, g, &storage) : NULL;
    const eqlite_event *evs = gen_events_items(g, &n);
    int rc = 1;
    if (lib) {
        run_result as_is = {0, 0}, dressed = {0, 0}, ref = {0, 0};
        for (int r = 0; r < opt->repeat; r++) {
            double t0 = now_seconds();
            uint64_t a = pass_vm(m, evs, n);
            double t1 = now_seconds();
            uint64_t b = pass_vm(m, lib, n);
            double t2 = now_seconds();
            uint64_t c = pass_vm(reference, evs, n);
            double t3 = now_seconds();
            keep_best(&as_is, t1 - t0, a);
            keep_best(&dressed, t2 - t1, b);
            keep_best(&ref, t3 - t2, c);
        }
        if (ref.seconds > 0)
            reference_ns = ref.seconds * 1e9 / (double)n; /* same run as the long rule: less noise */
        double as_is_ns = as_is.seconds * 1e9 / (double)n, dressed_ns = dressed.seconds * 1e9 / (double)n;
        printf("long rule: \"%s\" (%zu chars)\n", lr->name ? lr->name : "?", lr->len);
        printf("  over the generated events (its category never occurs): %.1f ns/event, %llu matches\n", as_is_ns,
               (unsigned long long)as_is.matches);
        printf("  over the same events as DLL loads (reaches the 2,609-value list): %.1f ns/event, %llu matches\n",
               dressed_ns, (unsigned long long)dressed.matches);
        printf("  reference rule: %.1f ns/event\n", reference_ns);
        printf("  cost ratio long / reference: %.2f (target <= 2)\n", dressed_ns / reference_ns);
        rc = 0;
    }
    free(lib);
    free(storage);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    corpus_free(rules, nrules);
    return rc;
}

/* ---- main ---- */

static bool field_ids(const gen_events *g, rule_fields *f)
{
    f->category = gen_events_field_id(g, GF_EVENT_CATEGORY);
    f->os_type = gen_events_field_id(g, GF_HOST_OS_TYPE);
    f->type = gen_events_field_id(g, GF_EVENT_TYPE);
    f->name = gen_events_field_id(g, GF_PROCESS_NAME);
    f->parent_name = gen_events_field_id(g, GF_PARENT_NAME);
    f->parent_args = gen_events_field_id(g, GF_PARENT_ARGS);
    return true;
}

/* Times the VM and the hand-written predicate over evs[0..n) `loops` times per pass. */
static double compare_over(const bench_options *opt, eqlite_matcher *m, const eqlite_event *evs, size_t n,
                           size_t loops, const rule_fields *f, run_result *vm, run_result *hand)
{
    for (int r = 0; r < opt->repeat; r++) { /* interleaved so both see the same machine */
        uint64_t a = 0, b = 0;
        double t0 = now_seconds();
        for (size_t l = 0; l < loops; l++)
            a += pass_vm(m, evs, n);
        double t1 = now_seconds();
        for (size_t l = 0; l < loops; l++)
            b += pass_by_hand(evs, n, f);
        double t2 = now_seconds();
        keep_best(vm, t1 - t0, a);
        keep_best(hand, t2 - t1, b);
    }
    double total = (double)n * (double)loops;
    double vm_eps = total / vm->seconds, hand_eps = total / hand->seconds;
    printf("  (a) VM (eqlite_match):  %12.0f events/s  %6.1f ns/event  %llu matches\n", vm_eps, 1e9 / vm_eps,
           (unsigned long long)vm->matches);
    printf("  (b) hand-written C:     %12.0f events/s  %6.1f ns/event  %llu matches\n", hand_eps, 1e9 / hand_eps,
           (unsigned long long)hand->matches);
    printf("  ratio (a)/(b): %.2f (target >= 0.6)\n", vm_eps / hand_eps);
    return 1e9 / vm_eps;
}

#define CACHE_WINDOW 4096 /* events; about 1.5 MB, so they stay in cache */

static int compare(const bench_options *opt, eqlite_matcher *m, const gen_events *g, double *vm_ns)
{
    size_t n;
    const eqlite_event *evs = gen_events_items(g, &n);
    rule_fields f;
    field_ids(g, &f);
    run_result vm = {0, 0}, hand = {0, 0};
    printf("reference rule over %zu events (seed %llu) streamed from memory, best of %d passes:\n", n,
           (unsigned long long)opt->seed, opt->repeat);
    *vm_ns = compare_over(opt, m, evs, n, 1, &f, &vm, &hand);
    int rc = 0;
    if (vm.matches != hand.matches) {
        printf("  MISMATCH: the VM and the hand-written predicate disagree\n");
        rc = 1;
    }
    if (opt->expect >= 0) {
        bool same = vm.matches == (uint64_t)opt->expect;
        printf("  expected (gen_events.py --expect): %lld %s\n", opt->expect, same ? "ok" : "MISMATCH");
        rc |= !same;
    }
    if (n > CACHE_WINDOW) {
        /* Streaming 1M events is partly memory-bound, which hides interpreter
         * overhead; the same events from cache show the CPU cost alone. */
        run_result vmc = {0, 0}, handc = {0, 0};
        printf("the first %d events from cache, %zu times, best of %d passes:\n", CACHE_WINDOW, n / CACHE_WINDOW,
               opt->repeat);
        compare_over(opt, m, evs, CACHE_WINDOW, n / CACHE_WINDOW, &f, &vmc, &handc);
        if (vmc.matches != handc.matches) {
            printf("  MISMATCH: the VM and the hand-written predicate disagree\n");
            rc = 1;
        }
    }
    return rc;
}

int main(int argc, char **argv)
{
    bench_options opt;
    if (!bench_parse_options(argc, argv, &opt))
        return 2;
    size_t len;
    char *src = read_file(opt.rule, &len);
    if (!src) {
        fprintf(stderr, "cannot read %s\n", opt.rule);
        return 2;
    }
    eqlite_schema *schema = NULL;
    gen_events *g = NULL;
    eqlite_program *prog = NULL;
    eqlite_matcher *m = NULL;
    double t0 = now_seconds();
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK || gen_events_make(schema, opt.events, opt.seed, &g) != EQLITE_OK) {
        fprintf(stderr, "cannot generate events\n");
        return 2;
    }
    const size_t *cats = gen_events_category_counts(g);
    printf("generated %zu events in %.2f s: file %zu, network %zu, process %zu, registry %zu\n", opt.events,
           now_seconds() - t0, cats[GEN_FILE], cats[GEN_NETWORK], cats[GEN_PROCESS], cats[GEN_REGISTRY]);
    eqlite_schema_set_grow(schema, 1); /* the long rule names dll.* fields */
    m = compile_matcher(schema, src, len, &prog);
    double vm_ns = 0;
    int rc = m ? compare(&opt, m, g, &vm_ns) : 2;
    if (m)
        rc |= long_rule(&opt, schema, g, m, vm_ns);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    gen_events_free(g);
    eqlite_schema_free(schema);
    free(src);
    return rc;
}
