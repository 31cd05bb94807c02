/* test_alloc_failure.c: every allocation of compile, ruleset, scanner, feed,
 * mapping and the readers is made to fail in turn (fault_alloc.h). For each
 * failure point the scenario must either report EQLITE_ENOMEM or succeed with
 * exactly the clean run's output, and leave no block allocated.
 *
 * FAULT_AT=n runs one failure point only (for a debugger); FAULT_VERBOSE=1
 * prints each point before running it (the last line names a crashing one). */
#define _GNU_SOURCE /* mkstemp */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "eqlite.h"
#include "eqlite_io.h"
#include "fault_alloc.h"
#include "io/ndjson.h"
#include "cli/rule_record.h"
#include "cli/rules_toml.h"

/* ---- the transcript a scenario writes: compared with the clean run's ---- */

static char transcript[1 << 16];
static size_t transcript_len;

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(transcript + transcript_len, sizeof transcript - transcript_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        transcript_len += (size_t)n;
    cr_assert_lt(transcript_len, sizeof transcript - 1, "transcript overflow");
}

static void say_value(const eqlite_value *v)
{
    switch (v->kind) {
    case EQLITE_NULL: say("null"); break;
    case EQLITE_BOOL: say(v->u.b ? "true" : "false"); break;
    case EQLITE_INT: say("%lld", (long long)v->u.i); break;
    case EQLITE_DOUBLE: say("%lld.%03lld", (long long)v->u.d, (long long)(v->u.d * 1000) % 1000); break;
    case EQLITE_STRING: say("\"%.*s\"", (int)v->len, v->u.s); break;
    case EQLITE_ARRAY:
        say("[");
        for (uint32_t k = 0; k < v->len; k++) {
            say(k ? "," : "");
            say_value(&v->u.a[k]);
        }
        say("]");
        break;
    }
}

/* ---- running a scenario at every failure point ---- */

typedef eqlite_status (*scenario)(void);

static char clean[sizeof transcript];

static size_t every_failure_point(const char *name, scenario run)
{
    /* a first run outside the count: one-time caches (simdjson picks its
     * kernel once per process) are not leaks of the scenario */
    transcript_len = 0;
    run();
    transcript_len = 0;
    fault_arm(0);
    eqlite_status st = run();
    size_t total = fault_disarm();
    cr_assert_eq(st, EQLITE_OK, "%s: the clean run fails: %s", name, eqlite_strerror(st));
    cr_assert_eq(fault_live(), 0, "%s: the clean run leaks %zu blocks", name, fault_live());
    cr_assert_gt(total, 0, "%s: no allocation seen: is the harness linked in?", name);
    transcript[transcript_len] = 0;
    memcpy(clean, transcript, transcript_len + 1);

    const char *only = getenv("FAULT_AT");
    bool verbose = getenv("FAULT_VERBOSE") != NULL;
    size_t first = only ? strtoull(only, NULL, 10) : 1, last = only ? first : total;
    size_t reported = 0, wrong = 0;
    for (size_t n = first; n <= last; n++) {
        if (verbose)
            fprintf(stderr, "%s: failing allocation %zu of %zu\n", name, n, total);
        transcript_len = 0;
        fault_arm(n);
        st = run();
        fault_disarm();
        transcript[transcript_len] = 0;
        size_t leaked = fault_live();
        bool ok = leaked == 0 && (st == EQLITE_OK ? strcmp(transcript, clean) == 0 : st == EQLITE_ENOMEM);
        /* every wrong point is listed, not only the first */
        cr_expect(ok, "%s: allocation %zu of %zu failing: %s, %zu blocks leaked%s\n%s", name, n, total,
                  eqlite_strerror(st), leaked, st == EQLITE_OK ? ", output differs:" : "", transcript);
        wrong += !ok;
        reported += st != EQLITE_OK;
    }
    cr_assert_eq(wrong, 0, "%s: %zu of %zu failure points handled wrongly", name, wrong, total);
    cr_log_info("%s: %zu allocation points, %zu reported as ENOMEM, the rest recovered", name, total, reported);
    return total;
}

/* ---- inputs ---- */

static char *reference_rule; /* examples/rules/unusual-cmd-parent.eql */

static void load_reference_rule(void)
{
    const char *dir = getenv("EQLITE_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/examples/rules/unusual-cmd-parent.eql", dir ? dir : ".");
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    static char text[1 << 14];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    reference_rule = text;
}

static const char *const SEQUENCE_RULE =
    "sequence by host.id with maxspan=5m\n"
    "  [process where event.type == \"start\" and process.name : \"cmd.exe\"]\n"
    "  [network where destination.port in (443, 8443)]\n"
    "  [process where process.name : (\"whoami.exe\", \"net.exe\")]";

static const char *const RULESET_RULES[] = {
    NULL, /* the reference rule */
    "process where process.name : (\"powershell.exe\", \"pwsh.exe\") and process.parent.name == \"cmd.exe\"",
    "process where process.name : \"*.tmp\"",
    "any where user.name regex~ \"adm.*\"",
    "network where destination.port in (443, 8443)",
    NULL, /* the sequence rule */
    "sample by host.id [process where true] [network where true]",
    "process where true | head 2",
    "sequence [process where process.name : \"cmd.exe\"] [network where true] until [file where true]",
};
#define NRULES (sizeof RULESET_RULES / sizeof RULESET_RULES[0])

enum { F_CATEGORY, F_OS, F_TYPE, F_NAME, F_PARENT, F_ARGS, F_HOST, F_PORT, F_USER, NFIELDS };
static const char *const FIELD_NAMES[NFIELDS] = {"event.category", "host.os.type", "event.type",
                                                 "process.name", "process.parent.name", "process.parent.args",
                                                 "host.id", "destination.port", "user.name"};

typedef struct event_row {
    const char *category, *name, *parent, *host, *user;
    int port;
} event_row;

static const event_row EVENTS[] = {
    {"process", "cmd.exe", "lsass.exe", "h1", NULL, 0},
    {"network", NULL, NULL, "h1", NULL, 443},
    {"process", "powershell.exe", "cmd.exe", "h2", NULL, 0},
    {"process", "a.tmp", "explorer.exe", "h1", "admin", 0},
    {"process", "whoami.exe", "cmd.exe", "h1", NULL, 0},
    {"network", NULL, NULL, "h2", "administrator", 8443},
    {"process", "cmd.exe", "dllhost.exe", "h2", NULL, 0},
    {"network", NULL, NULL, "h2", NULL, 443},
    {"process", "net.exe", "cmd.exe", "h2", NULL, 0},
    {"file", NULL, NULL, "h1", "adm", 0},
};
#define NEVENTS (sizeof EVENTS / sizeof EVENTS[0])

static eqlite_value event_fields[NEVENTS][NFIELDS];
static eqlite_event events[NEVENTS];

static eqlite_value str(const char *s)
{
    return s ? (eqlite_value){EQLITE_STRING, (uint32_t)strlen(s), {.s = s}} : (eqlite_value){0};
}

static void make_events(void)
{
    for (size_t k = 0; k < NEVENTS; k++) {
        const event_row *r = &EVENTS[k];
        eqlite_value *f = event_fields[k];
        f[F_CATEGORY] = str(r->category);
        f[F_OS] = str("windows");
        f[F_TYPE] = str("start");
        f[F_NAME] = str(r->name);
        f[F_PARENT] = str(r->parent);
        f[F_ARGS] = str(NULL);
        f[F_HOST] = str(r->host);
        f[F_PORT] = r->port ? (eqlite_value){EQLITE_INT, 0, {.i = r->port}} : (eqlite_value){0};
        f[F_USER] = str(r->user);
        events[k] = (eqlite_event){f, NFIELDS, (int64_t)(k + 1) * 1000000000, {0}, (void *)(uintptr_t)k, NULL, 0};
    }
}

static eqlite_status new_schema(eqlite_schema **out)
{
    eqlite_status st = eqlite_schema_new(NULL, out);
    for (int k = 0; k < NFIELDS && st == EQLITE_OK; k++) {
        eqlite_type type = k == F_PORT ? EQLITE_T_LONG : EQLITE_T_KEYWORD;
        st = eqlite_schema_add(*out, FIELD_NAMES[k], strlen(FIELD_NAMES[k]), type, NULL);
    }
    return st;
}

static void say_result(const eqlite_result *r)
{
    for (size_t k = 0; k < r->nevents; k++) {
        if (r->events[k])
            say(" e%zu", (size_t)(uintptr_t)r->events[k]->user);
        else
            say(" -");
    }
    for (size_t k = 0; k < r->nkeys; k++) {
        say(" key=");
        say_value(&r->keys[k]);
    }
    say("\n");
}

/* ---- scenarios ---- */

static void say_program(const eqlite_program *p)
{
    static char text[1 << 14];
    cr_assert_eq(eqlite_program_explain(p, text, sizeof text, NULL), EQLITE_OK);
    size_t n;
    const uint32_t *ids = eqlite_program_fields(p, &n);
    say("kind %d, %zu fields:", (int)eqlite_program_kind(p), n);
    for (size_t k = 0; k < n; k++)
        say(" %u", ids[k]);
    say("\n%s\n", text);
}

static eqlite_status compile_rules(void)
{
    eqlite_schema *s;
    eqlite_status st = eqlite_schema_new(NULL, &s);
    if (st != EQLITE_OK)
        return st;
    eqlite_schema_set_grow(s, 1); /* the rules' fields are added as they compile */
    const char *rules[] = {reference_rule, SEQUENCE_RULE, "any where user.name regex~ \"adm.*\""};
    for (size_t k = 0; k < 3 && st == EQLITE_OK; k++) {
        eqlite_program *p;
        eqlite_diag diag;
        st = eqlite_compile(s, rules[k], strlen(rules[k]), &p, &diag);
        if (st == EQLITE_OK) {
            say_program(p);
            eqlite_program_free(p);
        } else {
            say("rule %zu: %s\n", k, diag.message);
        }
    }
    eqlite_schema_free(s);
    return st;
}

static int on_rule_match(void *user, const eqlite_rule_info *rule, const eqlite_result *result)
{
    (void)user;
    say("rule %zu (%s):", rule->index, rule->name);
    say_result(result);
    return 0;
}

static eqlite_status ruleset_scan(void)
{
    eqlite_schema *s = NULL;
    eqlite_ruleset *rs = NULL;
    eqlite_scanner *sc = NULL;
    eqlite_status st = new_schema(&s);
    if (st == EQLITE_OK)
        st = eqlite_ruleset_new(s, &rs);
    for (size_t k = 0; k < NRULES && st == EQLITE_OK; k++) {
        const char *src = RULESET_RULES[k] ? RULESET_RULES[k] : k == 0 ? reference_rule : SEQUENCE_RULE;
        char name[32];
        snprintf(name, sizeof name, "r%zu", k);
        eqlite_diag diag;
        st = eqlite_ruleset_add(rs, src, strlen(src), name, k % 2 ? NULL : name, &diag);
        if (st != EQLITE_OK)
            say("rule %zu: %s\n", k, diag.message);
    }
    if (st == EQLITE_OK)
        st = eqlite_ruleset_finish(rs);
    if (st == EQLITE_OK)
        st = eqlite_scanner_new(rs, NULL, &sc);
    for (size_t k = 0; k < NEVENTS && st == EQLITE_OK; k++)
        st = eqlite_scanner_match(sc, &events[k], on_rule_match, NULL);
    if (st == EQLITE_OK)
        st = eqlite_scanner_flush(sc, on_rule_match, NULL);
    if (st == EQLITE_OK) {
        eqlite_scanner_counts stats;
        eqlite_scanner_stats(sc, &stats);
        say("events %llu matches %llu errors %llu\n", (unsigned long long)stats.events,
            (unsigned long long)stats.matches, (unsigned long long)stats.errors);
    }
    eqlite_scanner_free(sc);
    eqlite_ruleset_free(rs);
    eqlite_schema_free(s);
    return st;
}

static int on_result(void *user, const eqlite_result *result)
{
    say("%s:", (const char *)user);
    say_result(result);
    return 0;
}

static eqlite_status feed_sequence(void)
{
    eqlite_schema *s = NULL;
    eqlite_program *seq = NULL, *sample = NULL;
    eqlite_matcher *m = NULL, *ms = NULL;
    const char *sample_rule = "sample by host.id [process where true] [network where true]";
    eqlite_status st = new_schema(&s);
    if (st == EQLITE_OK)
        st = eqlite_compile(s, SEQUENCE_RULE, strlen(SEQUENCE_RULE), &seq, NULL);
    if (st == EQLITE_OK)
        st = eqlite_compile(s, sample_rule, strlen(sample_rule), &sample, NULL);
    if (st == EQLITE_OK)
        st = eqlite_matcher_new(seq, NULL, &m);
    if (st == EQLITE_OK)
        st = eqlite_matcher_new(sample, NULL, &ms);
    for (size_t k = 0; k < NEVENTS && st == EQLITE_OK; k++) {
        st = eqlite_feed(m, &events[k], on_result, "sequence");
        if (st == EQLITE_OK)
            st = eqlite_feed(ms, &events[k], on_result, "sample");
    }
    if (st == EQLITE_OK)
        st = eqlite_flush(m, on_result, "sequence");
    if (st == EQLITE_OK)
        st = eqlite_flush(ms, on_result, "sample");
    eqlite_matcher_free(ms);
    eqlite_matcher_free(m);
    eqlite_program_free(sample);
    eqlite_program_free(seq);
    eqlite_schema_free(s);
    return st;
}

static const char MAPPING[] =
    "{\"mappings\":{\"properties\":{"
    "\"@timestamp\":{\"type\":\"date\"},"
    "\"event\":{\"properties\":{\"category\":{\"type\":\"keyword\"},\"type\":{\"type\":\"keyword\"}}},"
    "\"process\":{\"properties\":{\"name\":{\"type\":\"keyword\"},"
    "\"command_line\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\"},"
    "\"caseless\":{\"type\":\"keyword\"}}},"
    "\"parent\":{\"properties\":{\"name\":{\"type\":\"keyword\"},\"pid\":{\"type\":\"long\"}}}}},"
    "\"destination\":{\"properties\":{\"port\":{\"type\":\"long\"},\"ip\":{\"type\":\"ip\"}}},"
    "\"pname\":{\"type\":\"alias\",\"path\":\"process.name\"},"
    "\"ratio\":{\"type\":\"scaled_float\",\"scaling_factor\":100},"
    "\"when\":{\"type\":\"date\",\"format\":\"dd-MM-yyyy||epoch_millis\"}"
    "}}}";

static eqlite_status load_mapping(void)
{
    eqlite_schema *s;
    eqlite_status st = eqlite_schema_new(NULL, &s);
    if (st != EQLITE_OK)
        return st;
    eqlite_diag diag;
    st = eqlite_schema_load_mapping(s, MAPPING, sizeof MAPPING - 1, &diag);
    if (st == EQLITE_OK) {
        for (uint32_t k = 0; k < eqlite_schema_field_count(s); k++) {
            eqlite_type type;
            const char *name = eqlite_schema_field_name(s, k, &type);
            say("%u %s %d\n", k, name, (int)type);
        }
        uint32_t id = 0;
        say("pname -> %d %u\n", (int)eqlite_schema_lookup(s, "pname", 5, &id), id);
    } else {
        say("%s\n", diag.message);
    }
    eqlite_schema_free(s);
    return st;
}

static const char NDJSON[] =
    "{\"@timestamp\":\"2024-01-02T03:04:05.678Z\",\"event\":{\"category\":\"process\"},"
    "\"process\":{\"name\":\"cmd.exe\",\"args\":[\"/c\",\"dir\",[\"x\"]]},\"destination.port\":\"443\"}\n"
    "\n"
    "{\"@timestamp\":\"1704164645000\",\"event.category\":\"network\",\"destination\":{\"port\":8443.0},"
    "\"when\":\"02-01-2024\",\"user\":{\"name\":\"adm\"}}\n"
    "{\"@timestamp\":\"2024-01-02T03:04:07Z\",\"event\":{\"category\":\"file\"},\"destination.port\":\"abc\"}\n"
    "{\"broken\": tru}\n"
    "{\"@timestamp\":\"2024-01-02T03:04:08.5+01:00\",\"process\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
    "\"when\":1704164645000,\"user.name\":5}\n"
    "{\"@timestamp\":\"2024-01-02T03:04:09Z\",\"event\":{\"category\":\"process\"},"
    "\"process\":{\"name\":\"\\u00e9\\ud83d\\ude00\",\"args\":\"x\"}}\n";

static unsigned char ndjson_gz[4096];
static size_t ndjson_gz_len;
static char ndjson_path[64];

static void make_reader_inputs(void)
{
    z_stream z = {0};
    cr_assert_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)NDJSON;
    z.avail_in = sizeof NDJSON - 1;
    z.next_out = ndjson_gz;
    z.avail_out = sizeof ndjson_gz;
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    ndjson_gz_len = sizeof ndjson_gz - z.avail_out;
    deflateEnd(&z);
    snprintf(ndjson_path, sizeof ndjson_path, "/tmp/eqlite-alloc-XXXXXX");
    int fd = mkstemp(ndjson_path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, NDJSON, sizeof NDJSON - 1), (ssize_t)(sizeof NDJSON - 1));
    close(fd);
}

static void remove_reader_inputs(void) { unlink(ndjson_path); }

enum { R_MEMORY, R_GZIP, R_PATH };

static eqlite_status read_events(int source)
{
    static const eq_ndjson_field fields[] = {
        {"event.category", 14, 0}, {"process.name", 12, 1}, {"process.args", 12, 2},
        {"destination.port", 16, 3}, {"when", 4, 4}, {"user.name", 9, 5},
    };
    static const eq_ndjson_conv conv[] = {
        {EQLITE_T_KEYWORD, NULL, 0, NULL}, {EQLITE_T_KEYWORD, NULL, 0, NULL}, {EQLITE_T_UNKNOWN, NULL, 0, NULL},
        {EQLITE_T_LONG, NULL, 0, NULL},    {EQLITE_T_DATE, "dd-MM-yyyy||epoch_millis", 0, NULL},
        {EQLITE_T_KEYWORD, NULL, 0, "\"none\""},
    };
    eq_ndjson_options opt = {0};
    opt.fields = fields;
    opt.nfields = sizeof fields / sizeof fields[0];
    opt.conv = conv;
    opt.timestamp_field = "@timestamp";
    opt.timestamp_len = 10;
    opt.block_size = 64; /* several refills, and records across blocks */
    eq_ndjson *r = NULL;
    char err[256];
    eqlite_status st = source == R_MEMORY ? eq_ndjson_open_memory(NDJSON, sizeof NDJSON - 1, &opt, &r, err, sizeof err)
                       : source == R_GZIP ? eq_ndjson_open_memory(ndjson_gz, ndjson_gz_len, &opt, &r, err, sizeof err)
                                          : eq_ndjson_open_path(ndjson_path, &opt, &r, err, sizeof err);
    if (st != EQLITE_OK) {
        say("open: %s\n", err);
        return st;
    }
    for (;;) {
        eqlite_event ev;
        eq_ndjson_record rec;
        int got = eq_ndjson_next(r, &ev, &rec);
        if (got == EQ_NDJSON_EOF)
            break;
        if (got == EQ_NDJSON_FATAL) {
            /* out of memory is the only fatal error these inputs can meet */
            st = strcmp(rec.reason, "out of memory") == 0 ? EQLITE_ENOMEM : EQLITE_EINPUT;
            say("fatal: %s\n", rec.reason);
            break;
        }
        say("line %llu offset %llu: ", (unsigned long long)rec.line, (unsigned long long)rec.offset);
        if (got == EQ_NDJSON_BAD) {
            say("bad: %s [%.*s]\n", rec.reason, (int)rec.len, rec.text ? rec.text : "");
            continue;
        }
        say("ts %lld", (long long)ev.timestamp);
        for (size_t k = 0; k < ev.nfields; k++) {
            say(" ");
            say_value(&ev.fields[k]);
        }
        say("\n");
    }
    eq_ndjson_stats stats;
    eq_ndjson_stats_get(r, &stats);
    if (st == EQLITE_OK)
        say("records %llu events %llu bad %llu gzip %d\n", (unsigned long long)stats.records,
            (unsigned long long)stats.events, (unsigned long long)stats.bad, stats.gzip);
    eq_ndjson_close(r);
    return st;
}

static eqlite_status read_memory(void) { return read_events(R_MEMORY); }
static eqlite_status read_gzip(void) { return read_events(R_GZIP); }
static eqlite_status read_path(void) { return read_events(R_PATH); }

static const char RULE_RECORDS[] =
    "{\"rule_id\":\"3b47900d\",\"name\":\"Unusual Parent\",\"type\":\"eql\",\"language\":\"eql\","
    "\"query\":\"process where process.name : \\\"cmd.exe\\\"\"}";

static eqlite_status read_rule_record(void)
{
    eq_rule_record rec;
    eq_rule_kind kind;
    char err[256];
    int got = eq_rule_record_kind(RULE_RECORDS, sizeof RULE_RECORDS - 1, &kind);
    if (got != 0)
        return got == -2 ? EQLITE_ENOMEM : EQLITE_EINPUT;
    int parsed = eq_rule_record_parse(RULE_RECORDS, sizeof RULE_RECORDS - 1, &rec, err, sizeof err);
    if (parsed != 0) {
        say("%s\n", err);
        return parsed == -2 && strcmp(err, "out of memory") == 0 ? EQLITE_ENOMEM : EQLITE_EINPUT;
    }
    say("%s %s %d %s/%s: %s %s %.*s\n", kind.type, kind.language, kind.is_eql, rec.id, rec.name,
        rec.id ? "" : "(no id)", rec.name ? "" : "(no name)", (int)rec.query_len, rec.query ? rec.query : "");
    eq_rule_record_free(&rec);
    return EQLITE_OK;
}

static const char RULE_TOML[] = "[metadata]\nmaturity = \"production\"\n\n[rule]\nname = \"Unusual Parent\"\n"
                                "rule_id = \"3b47900d\"\ntype = \"eql\"\nlanguage = \"eql\"\nindex = [\"logs-*\"]\n"
                                "query = '''\nprocess where process.name : \"cmd.exe\"\n'''\n\n"
                                "[[rule.threat]]\nframework = \"MITRE ATT&CK\"\n";
static const char HUNT_TOML[] = "[hunt]\nname = \"Two\"\nuuid = \"h-1\"\nlanguage = [\"EQL\"]\n"
                                "query = ['''\nprocess where true\n''', '''\nfile where true\n''']\n";

static eqlite_status read_toml_text(const char *text, size_t len)
{
    eq_toml_file file;
    char err[256];
    int got = eq_toml_file_parse("rule.toml", text, len, &file, err, sizeof err);
    if (got != 0) {
        say("%s\n", err);
        return got == -2 && strcmp(err, "out of memory") == 0 ? EQLITE_ENOMEM : EQLITE_EINPUT;
    }
    for (size_t k = 0; k < file.n; k++)
        say("%s/%s line %zu: %.*s", file.queries[k].id, file.queries[k].name, file.queries[k].line,
            (int)file.queries[k].query_len, file.queries[k].query);
    eq_toml_file_free(&file);
    return EQLITE_OK;
}

static eqlite_status read_toml_files(void)
{
    eqlite_status st = read_toml_text(RULE_TOML, sizeof RULE_TOML - 1);
    return st == EQLITE_OK ? read_toml_text(HUNT_TOML, sizeof HUNT_TOML - 1) : st;
}

/* ---- tests ---- */

static void setup(void)
{
    load_reference_rule();
    make_events();
    make_reader_inputs();
}

TestSuite(alloc_failure, .init = setup, .fini = remove_reader_inputs, .timeout = 600);

Test(alloc_failure, compiling_the_reference_and_a_sequence_rule_reports_enomem_or_succeeds)
{
    every_failure_point("compile", compile_rules);
}

Test(alloc_failure, a_ruleset_scan_reports_enomem_or_gives_every_match)
{
    every_failure_point("ruleset", ruleset_scan);
}

Test(alloc_failure, feeding_a_sequence_and_a_sample_reports_enomem_or_gives_every_match)
{
    every_failure_point("feed", feed_sequence);
}

Test(alloc_failure, loading_a_mapping_reports_enomem_or_gives_every_field)
{
    every_failure_point("mapping", load_mapping);
}

Test(alloc_failure, reading_ndjson_from_memory_reports_enomem_or_gives_every_record)
{
    every_failure_point("ndjson memory", read_memory);
}

Test(alloc_failure, reading_gzip_ndjson_reports_enomem_or_gives_every_record)
{
    every_failure_point("ndjson gzip", read_gzip);
}

Test(alloc_failure, reading_an_ndjson_file_reports_enomem_or_gives_every_record)
{
    every_failure_point("ndjson file", read_path);
}

Test(alloc_failure, reading_a_rule_record_reports_enomem_or_gives_every_member)
{
    every_failure_point("rule record", read_rule_record);
}

Test(alloc_failure, reading_toml_rule_files_reports_enomem_or_gives_every_query)
{
    every_failure_point("toml rules", read_toml_files);
}
