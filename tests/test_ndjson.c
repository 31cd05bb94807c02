/* test_ndjson.c: the projecting NDJSON / JSON-array event reader. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/ndjson.h"

/* ---- helpers ----------------------------------------------------------- */

/* The projection most tests use: id -> name. */
enum { F_PNAME, F_PPNAME, F_ETYPE, F_XA, F_A, F_SEQ, F_TS, F_HOSTOS, NF };
static const char *const field_names[NF] = {
    "process.name", "process.parent.name", "event.type", "x.a", "a", "seq", "@timestamp", "host.os.type",
};

typedef struct reader_cfg {
    const char *ts;    /* timestamp field or NULL */
    const char *tb;    /* tiebreaker field or NULL */
    size_t max_line;   /* 0 = default */
    size_t block_size; /* 0 = default */
    int via_file;      /* read from a temporary file (memory input is read in place) */
} reader_cfg;

static eq_ndjson_field proj[NF];

static eq_ndjson_options options_for(const reader_cfg *cfg)
{
    for (int i = 0; i < NF; i++)
        proj[i] = (eq_ndjson_field){field_names[i], strlen(field_names[i]), (uint32_t)i};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = proj;
    o.nfields = NF;
    if (cfg && cfg->ts) {
        o.timestamp_field = cfg->ts;
        o.timestamp_len = strlen(cfg->ts);
    }
    if (cfg && cfg->tb) {
        o.tiebreaker_field = cfg->tb;
        o.tiebreaker_len = strlen(cfg->tb);
    }
    o.max_line = cfg ? cfg->max_line : 0;
    o.block_size = cfg ? cfg->block_size : 0;
    return o;
}

static char *temp_path(void);
static void write_file(const char *path, const void *data, size_t len);

/* Memory input is cut in place; a file goes through the block buffer. */
static eq_ndjson *open_mem_cfg(const char *data, size_t len, const reader_cfg *cfg)
{
    eq_ndjson_options o = options_for(cfg);
    eq_ndjson *r = NULL;
    char err[256];
    if (cfg && cfg->via_file) {
        char *path = temp_path();
        write_file(path, data, len);
        cr_assert_eq(eq_ndjson_open_path(path, &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
        unlink(path); /* the reader holds it open */
        return r;
    }
    cr_assert_eq(eq_ndjson_open_memory(data, len, &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    return r;
}

static eq_ndjson *open_mem(const char *text) { return open_mem_cfg(text, strlen(text), NULL); }

/* Reads the one event of `json`, which must be good; the reader stays open
 * (values point into it) and is returned through *out. */
static eqlite_event read_one(const char *json, eq_ndjson **out)
{
    eq_ndjson *r = open_mem(json);
    eqlite_event ev;
    eq_ndjson_record rec;
    int st = eq_ndjson_next(r, &ev, &rec);
    cr_assert_eq(st, EQ_NDJSON_EVENT, "expected an event, got %d (%s)", st, rec.reason);
    *out = r;
    return ev;
}

/* The reason `json` (one record) is bad. The reader is closed. */
static const char *bad_reason(const char *json)
{
    static char reason[512];
    eq_ndjson *r = open_mem(json);
    eqlite_event ev;
    eq_ndjson_record rec;
    int st = eq_ndjson_next(r, &ev, &rec);
    cr_assert_eq(st, EQ_NDJSON_BAD, "expected a bad record, got %d", st);
    cr_assert_eq(rec.line, 1);
    snprintf(reason, sizeof reason, "%s", rec.reason);
    eq_ndjson_close(r);
    return reason;
}

static void expect_str(const eqlite_value *v, const char *s)
{
    cr_assert_eq(v->kind, EQLITE_STRING, "kind %u, expected a string", v->kind);
    cr_assert(v->len == strlen(s) && memcmp(v->u.s, s, v->len) == 0, "got '%.*s', expected '%s'", (int)v->len,
              v->u.s, s);
}

static void expect_int(const eqlite_value *v, int64_t i)
{
    cr_assert_eq(v->kind, EQLITE_INT, "kind %u, expected an int", v->kind);
    cr_assert_eq(v->u.i, i);
}

static void expect_null(const eqlite_value *v) { cr_assert_eq(v->kind, EQLITE_NULL, "kind %u", v->kind); }

static void expect_contains(const char *haystack, const char *needle)
{
    cr_assert(haystack && strstr(haystack, needle), "'%s' does not mention '%s'", haystack, needle);
}

/* Next status of the reader, with the record. */
static int next(eq_ndjson *r, eqlite_event *ev, eq_ndjson_record *rec) { return eq_ndjson_next(r, ev, rec); }

static char *temp_path(void)
{
    static char path[64];
    strcpy(path, "/tmp/eqlite-ndjson-XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    return path;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_gzip(const char *path, const char *mode, const char *text)
{
    gzFile gz = gzopen(path, mode);
    cr_assert(gz);
    cr_assert_eq(gzwrite(gz, text, (unsigned)strlen(text)), (int)strlen(text));
    cr_assert_eq(gzclose(gz), Z_OK);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Counts events and bad records to the end; fails on a fatal error. */
static void count_all(eq_ndjson *r, int *events, int *bad)
{
    eqlite_event ev;
    eq_ndjson_record rec;
    int st;
    *events = *bad = 0;
    while ((st = next(r, &ev, &rec)) != EQ_NDJSON_EOF) {
        cr_assert_neq(st, EQ_NDJSON_FATAL, "fatal: %s", rec.reason);
        if (st == EQ_NDJSON_EVENT)
            ++*events;
        else
            ++*bad;
    }
}

/* ../shared: $EQLITE_SHARED_DIR, ../shared or /work/shared. */
static const char *shared_file(const char *rel)
{
    static char path[4096];
    const char *dirs[] = {getenv("EQLITE_SHARED_DIR"), "../shared", "/work/shared"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/%s", dirs[i], rel);
        if (access(path, R_OK) == 0)
            return path;
    }
    cr_skip_test("%s is absent (set EQLITE_SHARED_DIR to the shared data directory)", rel);
    return NULL;
}

/* ---- projection: nested and dotted keys ---------------------------------- */

Test(ndjson, nested_objects_reach_dotted_field_names)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process\":{\"name\":\"cmd.exe\",\"parent\":{\"name\":\"explorer.exe\"}},"
                               "\"host\":{\"os\":{\"type\":\"windows\"}}}",
                               &r);
    cr_assert_eq(ev.nfields, NF);
    expect_str(&ev.fields[F_PNAME], "cmd.exe");
    expect_str(&ev.fields[F_PPNAME], "explorer.exe");
    expect_str(&ev.fields[F_HOSTOS], "windows");
    eq_ndjson_close(r);
}

/* ev.present lists every field that holds a value (a scanner looks only at
 * those), record after record of one reader: none is left out, and none
 * of the previous record's fields is taken for present with its value. */
Test(ndjson, present_lists_every_field_with_a_value)
{
    static const char json[] = "{\"process\":{\"name\":\"a\"},\"host.os.type\":\"linux\"}\n"
                               "{\"process\":{\"parent\":{\"name\":[\"x\",\"y\"]},\"name\":null}}\n"
                               "{\"other\":1}\n"
                               "{\"process.name\":\"b\",\"process\":{\"name\":\"c\"}}\n";
    static const int with_values[] = {2, 1, 0, 1};
    eq_ndjson *r = open_mem(json);
    for (int rec = 0; rec < 4; rec++) {
        eqlite_event ev;
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
        cr_assert(ev.present || ev.npresent == 0);
        int listed_with_value = 0;
        for (size_t id = 0; id < ev.nfields; id++) {
            bool listed = false;
            for (size_t i = 0; i < ev.npresent; i++)
                listed |= ev.present[i] == id;
            if (ev.fields[id].kind != EQLITE_NULL) {
                cr_assert(listed, "record %d: field %zu has a value but is not listed", rec + 1, id);
                listed_with_value++;
            }
        }
        cr_assert_eq(listed_with_value, with_values[rec], "record %d", rec + 1);
    }
    eq_ndjson_close(r);
}

Test(ndjson, dotted_keys_are_accepted)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process.name\":\"a\",\"process.parent.name\":\"b\"}", &r);
    expect_str(&ev.fields[F_PNAME], "a");
    expect_str(&ev.fields[F_PPNAME], "b");
    eq_ndjson_close(r);
}

Test(ndjson, dotted_keys_inside_nested_objects_are_accepted)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process\":{\"parent.name\":\"y\"},\"host.os\":{\"type\":\"linux\"}}", &r);
    expect_str(&ev.fields[F_PPNAME], "y");
    expect_str(&ev.fields[F_HOSTOS], "linux");
    eq_ndjson_close(r);
}

Test(ndjson, missing_fields_read_as_null)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process\":{\"pid\":4},\"other\":1}", &r);
    for (int i = 0; i < NF; i++)
        expect_null(&ev.fields[i]);
    cr_assert_eq(ev.timestamp, 0);
    expect_null(&ev.tiebreaker);
    eq_ndjson_close(r);
}

Test(ndjson, fields_array_is_sized_to_the_largest_id_plus_one)
{
    eq_ndjson_field f[2] = {{"b", 1, 7}, {"a", 1, 2}};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = f;
    o.nfields = 2;
    const char *json = "{\"a\":1,\"b\":2}";
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_memory(json, strlen(json), &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.nfields, 8);
    expect_int(&ev.fields[2], 1);
    expect_int(&ev.fields[7], 2);
    expect_null(&ev.fields[0]);
    eq_ndjson_close(r);
}

/* An object with many projected children (ECS's `process` has dozens) is
 * looked up by the key's first byte: siblings sharing first bytes, one
 * segment the prefix of another, dotted and nested spellings, and keys
 * that are not projected all land where a plain scan of the children would. */
Test(ndjson, wide_objects_reach_every_projected_child)
{
    static const char *const names[] = {"w.a", "w.ab", "w.abc", "w.b", "w.ba", "w.c", "w.d", "w.e", "w.f",
                                        "w.g", "w.h", "w.\303\251", "w.x.y", "w.x.z", "w.A", "w._"};
    enum { N = sizeof names / sizeof *names };
    eq_ndjson_field f[N];
    for (uint32_t k = 0; k < N; k++)
        f[k] = (eq_ndjson_field){names[k], strlen(names[k]), k};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = f;
    o.nfields = N;
    const char *json = "{\"w\":{\"a\":0,\"abc\":2,\"ab\":1,\"abcd\":-1,\"ba\":4,\"b\":3,\"c\":5,\"d\":6,\"e\":7,"
                       "\"f\":8,\"g\":9,\"h\":10,\"\303\251\":11,\"x.y\":12,\"x\":{\"z\":13},\"A\":14,\"_\":15,"
                       "\"aa\":-1,\"\":-1,\"z\":-1},\"w.bb\":-1}";
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_memory(json, strlen(json), &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.nfields, N);
    for (uint32_t k = 0; k < N; k++)
        expect_int(&ev.fields[k], k);
    eq_ndjson_close(r);
}

Test(ndjson, two_names_may_share_an_id)
{
    eq_ndjson_field f[2] = {{"event_type", 10, 0}, {"event.category", 14, 0}};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = f;
    o.nfields = 2;
    const char *json = "{\"event_type\":\"process\"}";
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_memory(json, strlen(json), &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_str(&ev.fields[0], "process");
    eq_ndjson_close(r);
}

Test(ndjson, a_value_where_only_children_are_read_is_ignored)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process\":\"flat\",\"host\":[1,2]}", &r);
    expect_null(&ev.fields[F_PNAME]);
    expect_null(&ev.fields[F_HOSTOS]);
    eq_ndjson_close(r);
}

/* ---- values ------------------------------------------------------------------ */

Test(ndjson, arrays_become_array_values)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"event\":{\"type\":[\"start\",\"process_started\"]}}", &r);
    const eqlite_value *v = &ev.fields[F_ETYPE];
    cr_assert_eq(v->kind, EQLITE_ARRAY);
    cr_assert_eq(v->len, 2);
    expect_str(&v->u.a[0], "start");
    expect_str(&v->u.a[1], "process_started");
    eq_ndjson_close(r);
}

Test(ndjson, nested_arrays_are_flattened)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":[1,[2,[3,[]]],\"s\"]}", &r);
    const eqlite_value *v = &ev.fields[F_A];
    cr_assert_eq(v->kind, EQLITE_ARRAY);
    cr_assert_eq(v->len, 4);
    expect_int(&v->u.a[0], 1);
    expect_int(&v->u.a[1], 2);
    expect_int(&v->u.a[2], 3);
    expect_str(&v->u.a[3], "s");
    eq_ndjson_close(r);
}

Test(ndjson, objects_inside_arrays_flatten_to_dotted_names)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"x\":[{\"a\":1},{\"b\":0},{\"a\":[2,3]},[{\"a\":4}]]}", &r);
    const eqlite_value *v = &ev.fields[F_XA];
    cr_assert_eq(v->kind, EQLITE_ARRAY);
    cr_assert_eq(v->len, 4);
    for (int i = 0; i < 4; i++)
        expect_int(&v->u.a[i], i + 1);
    eq_ndjson_close(r);
}

Test(ndjson, nulls_in_arrays_are_dropped_and_an_empty_array_reads_as_null)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":[null,1,null],\"event\":{\"type\":[]},\"x\":[null]}", &r);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_A].len, 1);
    expect_int(&ev.fields[F_A].u.a[0], 1);
    expect_null(&ev.fields[F_ETYPE]);
    expect_null(&ev.fields[F_XA]);
    eq_ndjson_close(r);
}

Test(ndjson, integers_that_fit_int64_are_ints_and_other_numbers_doubles)
{
    eq_ndjson *r = open_mem("{\"a\":42}\n{\"a\":-7}\n{\"a\":9223372036854775807}\n{\"a\":-9223372036854775808}\n"
                            "{\"a\":9223372036854775808}\n{\"a\":1.5}\n{\"a\":1e3}\n{\"a\":1.0}\n{\"a\":-0.25}\n");
    const int64_t ints[] = {42, -7, INT64_MAX, INT64_MIN};
    const double doubles[] = {9223372036854775808.0, 1.5, 1000.0, 1.0, -0.25};
    eqlite_event ev;
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
        expect_int(&ev.fields[F_A], ints[i]);
    }
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
        cr_assert_eq(ev.fields[F_A].kind, EQLITE_DOUBLE, "line %d", i + 5);
        cr_assert_eq(ev.fields[F_A].u.d, doubles[i]);
    }
    eq_ndjson_close(r);
}

Test(ndjson, integer_wider_than_64_bits_is_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":123456789012345678901234567890}"), "number");
}

Test(ndjson, booleans_and_null_are_read)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":true,\"seq\":false,\"x\":{\"a\":null}}", &r);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_BOOL);
    cr_assert_eq(ev.fields[F_A].u.b, 1);
    cr_assert_eq(ev.fields[F_SEQ].kind, EQLITE_BOOL);
    cr_assert_eq(ev.fields[F_SEQ].u.b, 0);
    expect_null(&ev.fields[F_XA]);
    eq_ndjson_close(r);
}

/* ---- strings ------------------------------------------------------------------ */

Test(ndjson, string_escapes_are_decoded)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":\"q\\\"b\\\\s\\/n\\nt\\t\\u00e9\"}", &r);
    expect_str(&ev.fields[F_A], "q\"b\\s/n\nt\t\xc3\xa9");
    eq_ndjson_close(r);
}

Test(ndjson, nul_escape_is_kept_inside_the_string)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":\"x\\u0000y\"}", &r);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_STRING);
    cr_assert_eq(ev.fields[F_A].len, 3);
    cr_assert(memcmp(ev.fields[F_A].u.s, "x\0y", 3) == 0);
    eq_ndjson_close(r);
}

Test(ndjson, surrogate_pair_decodes_to_one_utf8_character)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":\"\\ud83d\\ude00\"}", &r);
    expect_str(&ev.fields[F_A], "\xf0\x9f\x98\x80");
    eq_ndjson_close(r);
}

Test(ndjson, raw_utf8_is_kept)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"a\":\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}", &r);
    expect_str(&ev.fields[F_A], "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
    eq_ndjson_close(r);
}

Test(ndjson, lone_high_surrogate_is_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":\"x\\ud800y\"}"), "surrogate");
}

Test(ndjson, lone_low_surrogate_is_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":\"\\udc00\"}"), "surrogate");
}

Test(ndjson, lone_surrogate_in_an_unread_field_is_still_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":1,\"unread\":{\"deep\":\"\\ud800\"}}"), "surrogate");
}

Test(ndjson, invalid_utf8_is_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":\"\xff\xfe\"}"), "UTF-8");
    expect_contains(bad_reason("{\"unread\":\"\xc3\x28\"}"), "UTF-8");
    expect_contains(bad_reason("{\"a\":\"\xed\xa0\x80\"}"), "UTF-8"); /* encoded surrogate */
}

Test(ndjson, huge_strings_are_read_whole)
{
    size_t n = 10u << 20;
    char *json = malloc(n + 64);
    int head = sprintf(json, "{\"a\":\"");
    memset(json + head, 'x', n);
    strcpy(json + head + n, "\",\"seq\":1}");
    eq_ndjson *r = open_mem_cfg(json, strlen(json), NULL);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_STRING);
    cr_assert_eq(ev.fields[F_A].len, n);
    cr_assert_eq(ev.fields[F_A].u.s[n - 1], 'x');
    expect_int(&ev.fields[F_SEQ], 1);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
    free(json);
}

/* ---- bad records ------------------------------------------------------------- */

Test(ndjson, malformed_line_is_reported_and_reading_goes_on)
{
    eq_ndjson *r = open_mem("{\"a\":1}\n{\"a\":\n{\"a\":3}\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.line, 1);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_eq(rec.line, 2);
    cr_assert_str_eq(rec.file, "<memory>");
    cr_assert_gt(strlen(rec.reason), 0);
    cr_assert_eq(rec.len, 5);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.line, 3);
    expect_int(&ev.fields[F_A], 3);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r, &st);
    cr_assert_eq(st.events, 2);
    cr_assert_eq(st.bad, 1);
    cr_assert_eq(st.records, 3);
    eq_ndjson_close(r);
}

Test(ndjson, every_kind_of_malformed_json_is_a_bad_record)
{
    const char *cases[] = {
        "{\"a\":1,}",          "{\"a\" 1}",       "{\"a\":tru}",       "{\"a\":nul}",
        "{\"a\":01}",          "{\"a\":1.}",      "{\"a\":\"unclosed}", "{\"a\":\"\\x\"}",
        "{\"a\":\"tab\there\"}", "{\"a\":[1,,2]}", "{\"a\":1}}",        "{\"a\":1} {\"a\":2}",
        "{a:1}",               "{'a':1}",         "{\"a\":NaN}",       "{\"a\":1",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eq_ndjson *r = open_mem(cases[i]);
        eqlite_event ev;
        eq_ndjson_record rec;
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD, "accepted: %s", cases[i]);
        cr_assert_gt(strlen(rec.reason), 0);
        eq_ndjson_close(r);
    }
}

Test(ndjson, malformed_json_in_an_unread_field_is_still_a_bad_record)
{
    bad_reason("{\"a\":1,\"unread\":[1,,2]}");
    bad_reason("{\"a\":1,\"unread\":{\"k\":tru}}");
}

Test(ndjson, record_that_is_not_an_object_is_bad)
{
    eq_ndjson *r = open_mem("{\"a\":1}\n[1,2]\n42\n\"s\"\nnull\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    for (int line = 2; line <= 5; line++) {
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
        cr_assert_eq(rec.line, (uint64_t)line);
        expect_contains(rec.reason, "not a JSON object");
    }
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, object_where_a_value_is_expected_is_a_bad_record)
{
    expect_contains(bad_reason("{\"process\":{\"name\":{\"first\":\"x\"}}}"), "process.name");
}

Test(ndjson, object_inside_an_array_where_values_are_expected_is_a_bad_record)
{
    expect_contains(bad_reason("{\"event\":{\"type\":[\"a\",{\"b\":1}]}}"), "event.type");
}

Test(ndjson, nesting_of_10000_levels_is_a_bad_record_not_a_crash)
{
    size_t depth = 10000;
    const char *where[] = {"{\"a\":", "{\"unread\":", "{\"x\":"};
    for (size_t w = 0; w < 3; w++) {
        size_t cap = strlen(where[w]) + 2 * depth + 8;
        char *json = malloc(cap);
        char *p = json + sprintf(json, "%s", where[w]);
        memset(p, '[', depth);
        memset(p + depth, ']', depth);
        strcpy(p + 2 * depth, "}");
        expect_contains(bad_reason(json), "nesting deeper than 1024");
        free(json);
    }
}

Test(ndjson, nesting_of_1000_levels_is_accepted)
{
    size_t depth = 1000;
    char *json = malloc(2 * depth + 16);
    char *p = json + sprintf(json, "{\"a\":");
    memset(p, '[', depth);
    p[depth] = '7';
    memset(p + depth + 1, ']', depth);
    strcpy(p + 2 * depth + 1, "}");
    eq_ndjson *r;
    eqlite_event ev = read_one(json, &r);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_A].len, 1);
    expect_int(&ev.fields[F_A].u.a[0], 7);
    eq_ndjson_close(r);
    free(json);
}

/* A file of: good line, `long_len` bytes of a valid but over-long line, good line. */
static char *with_long_line(size_t long_len, const char *end_of_long, size_t *len)
{
    char *text = malloc(long_len + 64);
    char *p = text + sprintf(text, "{\"a\":1}\n{\"a\":\"");
    size_t fill = long_len - 8;
    memset(p, 'y', fill);
    p += fill;
    p += sprintf(p, "\"}%s", end_of_long);
    if (*end_of_long)
        p += sprintf(p, "{\"a\":3}\n");
    *len = (size_t)(p - text);
    return text;
}

static void check_long_line_recovery(size_t block, int newline_after, int via_file)
{
    size_t len;
    char *text = with_long_line(5000, newline_after ? "\n" : "", &len);
    reader_cfg cfg = {.max_line = 1000, .block_size = block, .via_file = via_file};
    eq_ndjson *r = open_mem_cfg(text, len, &cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_eq(rec.line, 2);
    expect_contains(rec.reason, "longer than 1000 bytes");
    if (newline_after) {
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
        cr_assert_eq(rec.line, 3);
        expect_int(&ev.fields[F_A], 3);
    }
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
    free(text);
}

Test(ndjson, line_longer_than_max_line_is_bad_and_reading_recovers_at_the_next_newline)
{
    for (int via_file = 0; via_file <= 1; via_file++) {
        check_long_line_recovery(0, 1, via_file);  /* the whole line fits the buffer */
        check_long_line_recovery(64, 1, via_file); /* detected while growing, skipped across refills */
        check_long_line_recovery(300, 1, via_file);
    }
}

Test(ndjson, over_long_last_line_without_newline_is_bad)
{
    for (int via_file = 0; via_file <= 1; via_file++) {
        check_long_line_recovery(0, 0, via_file);
        check_long_line_recovery(64, 0, via_file);
    }
}

static void check_exact_max_line(int via_file)
{
    reader_cfg cfg = {.max_line = 100, .block_size = 64, .via_file = via_file};
    char line[128];
    int n = sprintf(line, "{\"a\":\"");
    memset(line + n, 'z', 100 - (size_t)n - 2);
    strcpy(line + 98, "\"}");
    strcat(line, "\r\n");
    eq_ndjson *r = open_mem_cfg(line, strlen(line), &cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(rec.len, 100);
    eq_ndjson_close(r);
}

Test(ndjson, line_of_exactly_max_line_bytes_is_accepted)
{
    check_exact_max_line(0);
    check_exact_max_line(1);
}

Test(ndjson, lines_of_16_mib_are_accepted_by_default)
{
    size_t n = (16u << 20) - 32;
    char *json = malloc(n + 64);
    int head = sprintf(json, "{\"a\":\"");
    memset(json + head, 'q', n - (size_t)head - 2);
    strcpy(json + n - 2, "\"}\n{\"a\":2}\n");
    eq_ndjson *r = open_mem_cfg(json, strlen(json), NULL);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(rec.len, n);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 2);
    eq_ndjson_close(r);
    free(json);
}

/* ---- the same field twice ------------------------------------------------------ */

static void expect_ints(const eqlite_value *v, const int64_t *want, uint32_t n)
{
    cr_assert_eq(v->kind, EQLITE_ARRAY, "kind %u", v->kind);
    cr_assert_eq(v->len, n);
    for (uint32_t i = 0; i < n; i++)
        expect_int(&v->u.a[i], want[i]);
}

/* Elasticsearch's DocumentParser indexes every value a document gives a field:
 * the dotted and the nested spelling of one field make it multi-valued (in
 * source order here), a null adds nothing. */
Test(ndjson, dotted_and_nested_spellings_of_a_field_are_all_kept)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"process.name\":\"x\",\"process\":{\"name\":\"y\"},"
                               "\"seq\":[1,2],\"x\":{\"a\":3},\"x.a\":[4],"
                               "\"event\":{\"type\":\"t\"},\"event.type\":null,"
                               "\"host\":{\"os.type\":null},\"host.os\":{\"type\":\"linux\"}}",
                               &r);
    cr_assert_eq(ev.fields[F_PNAME].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_PNAME].len, 2);
    expect_str(&ev.fields[F_PNAME].u.a[0], "x");
    expect_str(&ev.fields[F_PNAME].u.a[1], "y");
    expect_ints(&ev.fields[F_SEQ], (const int64_t[]){1, 2}, 2);
    expect_ints(&ev.fields[F_XA], (const int64_t[]){3, 4}, 2);
    expect_str(&ev.fields[F_ETYPE], "t");
    expect_str(&ev.fields[F_HOSTOS], "linux");
    eq_ndjson_close(r);
}

Test(ndjson, spellings_inside_arrays_of_objects_add_up)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"x\":[{\"a\":1},{\"a\":2}],\"x.a\":3}", &r);
    expect_ints(&ev.fields[F_XA], (const int64_t[]){1, 2, 3}, 3);
    eq_ndjson_close(r);
    /* a later event starts afresh */
    r = open_mem("{\"a\":1,\"x.a\":5,\"x\":{\"a\":6}}\n{\"x\":{\"a\":7}}\n");
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_ints(&ev.fields[F_XA], (const int64_t[]){5, 6}, 2);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_int(&ev.fields[F_XA], 7);
    eq_ndjson_close(r);
}

/* A key twice in one object, anywhere: Elasticsearch parses with Jackson's
 * STRICT_DUPLICATE_DETECTION (elastic/elasticsearch#22073, 6.0 on) and
 * rejects the document ("Duplicate field 'a'"), so it is never an event. */
Test(ndjson, a_key_twice_in_one_object_is_a_bad_record)
{
    expect_contains(bad_reason("{\"a\":1,\"a\":2}"), "duplicate field 'a'");
    expect_contains(bad_reason("{\"process\":{\"name\":\"x\",\"name\":\"y\"}}"), "duplicate field 'name'");
    expect_contains(bad_reason("{\"process.name\":\"x\",\"process.name\":\"y\"}"),
                    "duplicate field 'process.name'");
    expect_contains(bad_reason("{\"x\":[{\"a\":1},{\"a\":2}],\"x\":[{\"a\":3}]}"), "duplicate field 'x'");
    expect_contains(bad_reason("{\"x\":[{\"a\":1,\"a\":2}]}"), "duplicate field 'a'");
    /* keys nothing reads, at any depth: Elasticsearch rejects the document all the same */
    expect_contains(bad_reason("{\"zzz\":1,\"a\":1,\"zzz\":2}"), "duplicate field 'zzz'");
    expect_contains(bad_reason("{\"a\":1,\"user\":{\"name\":\"u\",\"id\":1,\"name\":\"v\"}}"), "duplicate field 'name'");
    expect_contains(bad_reason("{\"q\":[1,[{\"k\":{\"k2\":1,\"k2\":null}}]]}"), "duplicate field 'k2'");
    expect_contains(bad_reason("{\"process\":{\"name\":\"n\",\"io\":{\"text\":1,\"text\":1}}}"),
                    "duplicate field 'text'");
    /* keys alike in their first 8 bytes and length; deeper than the nested check goes */
    expect_contains(bad_reason("{\"abcdefgh_1\":1,\"abcdefgh_2\":1,\"abcdefgh_1\":1}"), "duplicate field 'abcdefgh_1'");
    char deep[512] = "{";
    for (int i = 0; i < 40; i++) strcat(deep, "\"d\":{");
    strcat(deep, "\"k\":1,\"k\":2");
    for (int i = 0; i < 41; i++) strcat(deep, "}");
    expect_contains(bad_reason(deep), "duplicate field 'k'");
    /* more keys than a 64-bit mask tells apart: distinct is an event, one repeat is not */
    char wide[4096] = "{", key[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "%s\"k%d\":%d", i ? "," : "", i, i);
        strcat(wide, key);
    }
    strcat(wide, "}");
    eq_ndjson *w;
    read_one(wide, &w);
    eq_ndjson_close(w);
    wide[strlen(wide) - 1] = '\0';
    strcat(wide, ",\"k150\":0}");
    expect_contains(bad_reason(wide), "duplicate field 'k150'");
    /* the same key in sibling objects is no duplicate */
    eq_ndjson *r;
    eqlite_event ev =
        read_one("{\"x\":[{\"a\":1},{\"a\":2}],\"process\":{\"parent\":{\"name\":\"p\"},\"name\":\"n\"}}", &r);
    expect_ints(&ev.fields[F_XA], (const int64_t[]){1, 2}, 2);
    expect_str(&ev.fields[F_PNAME], "n");
    eq_ndjson_close(r);
}

/* ---- line ends, blank lines, empty input ------------------------------------ */

Test(ndjson, crlf_line_ends_are_accepted)
{
    eq_ndjson *r = open_mem("{\"a\":1}\r\n{\"a\":2}\r\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.len, 7, "the record text excludes the \\r\\n");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 2);
    cr_assert_eq(rec.line, 2);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, missing_final_newline_is_accepted)
{
    eq_ndjson *r = open_mem("{\"a\":1}\n{\"a\":2}");
    int events, bad;
    count_all(r, &events, &bad);
    cr_assert_eq(events, 2);
    cr_assert_eq(bad, 0);
    eq_ndjson_close(r);
}

Test(ndjson, empty_lines_are_skipped_but_counted_in_line_numbers)
{
    eq_ndjson *r = open_mem("\n\r\n{\"a\":1}\n   \t\n\n{\"a\":2}\n\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.line, 3);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.line, 6);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, empty_input_is_end_of_input)
{
    const char *inputs[] = {"", "\n", "  \r\n\t \n"};
    for (size_t i = 0; i < 3; i++) {
        eq_ndjson *r = open_mem(inputs[i]);
        eqlite_event ev;
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
        eq_ndjson_close(r);
    }
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_memory(NULL, 0, &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, utf8_byte_order_mark_is_skipped)
{
    eq_ndjson *r = open_mem("\xEF\xBB\xBF{\"a\":1}\n");
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 1);
    eq_ndjson_close(r);
}

Test(ndjson, record_text_is_the_original_line)
{
    const char *line = "{ \"a\" : 1 ,  \"zz\": [true] }";
    char text[128];
    snprintf(text, sizeof text, "{\"a\":0}\n%s\n", line);
    eq_ndjson *r = open_mem(text);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.offset, 0);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.len, strlen(line));
    cr_assert(memcmp(rec.text, line, rec.len) == 0);
    cr_assert_eq(rec.offset, 8);
    cr_assert_str_eq(rec.reason, "");
    eq_ndjson_close(r);
}

Test(ndjson, user_pointer_of_the_event_is_left_alone)
{
    eq_ndjson *r = open_mem("{\"a\":1}");
    eqlite_event ev;
    int marker;
    ev.user = &marker;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.user, &marker);
    eq_ndjson_close(r);
}

Test(ndjson, previous_event_fields_do_not_leak_into_the_next)
{
    eq_ndjson *r = open_mem("{\"a\":1,\"x\":[{\"a\":5}],\"process\":{\"name\":\"p\"}}\n{\"seq\":2}\n");
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 1);
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_null(&ev.fields[F_A]);
    expect_null(&ev.fields[F_XA]);
    expect_null(&ev.fields[F_PNAME]);
    expect_int(&ev.fields[F_SEQ], 2);
    eq_ndjson_close(r);
}

Test(ndjson, small_blocks_split_records_anywhere)
{
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(text + n, "{\"seq\":%d,\"process\":{\"name\":\"p%d\"}}\r\n", i, i);
    for (int via_file = 0; via_file <= 1; via_file++) {
        reader_cfg cfg = {.block_size = 64, .via_file = via_file};
        eq_ndjson *r = open_mem_cfg(text, n, &cfg);
        eqlite_event ev;
        for (int i = 0; i < 100; i++) {
            cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
            expect_int(&ev.fields[F_SEQ], i);
        }
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
        eq_ndjson_close(r);
    }
}

/* ---- timestamps and tiebreaker -------------------------------------------------- */

static int64_t ts_of(const char *json_value)
{
    char json[256];
    snprintf(json, sizeof json, "{\"@timestamp\":%s}", json_value);
    reader_cfg cfg = {.ts = "@timestamp"};
    eq_ndjson *r = open_mem_cfg(json, strlen(json), &cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s: %s", json_value, rec.reason);
    int64_t ts = ev.timestamp;
    eq_ndjson_close(r);
    return ts;
}

static const char *ts_bad(const char *json)
{
    static char reason[256];
    reader_cfg cfg = {.ts = "@timestamp"};
    eq_ndjson *r = open_mem_cfg(json, strlen(json), &cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD, "accepted %s", json);
    snprintf(reason, sizeof reason, "%s", rec.reason);
    eq_ndjson_close(r);
    return reason;
}

#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)

Test(ndjson, iso8601_timestamps_become_nanoseconds)
{
    const int64_t may1 = INT64_C(1714521600) * SEC; /* 2024-05-01T00:00:00Z */
    cr_assert_eq(ts_of("\"2024-05-01T00:00:00.005Z\""), may1 + 5 * MS);
    cr_assert_eq(ts_of("\"2024-05-01T00:00:00Z\""), may1);
    cr_assert_eq(ts_of("\"2024-05-01T00:00:00.123456789Z\""), may1 + 123456789);
    cr_assert_eq(ts_of("\"2024-05-01T00:00:00.1Z\""), may1 + 100 * MS);
    cr_assert_eq(ts_of("\"2024-05-01T02:00:00+02:00\""), may1);
    cr_assert_eq(ts_of("\"2024-04-30T19:30:00.000-04:30\""), may1);
    cr_assert_eq(ts_of("\"2024-05-01T05:30:00+0530\""), may1);
    cr_assert_eq(ts_of("\"2024-05-01T00:00:00\""), may1, "no zone is UTC");
    cr_assert_eq(ts_of("\"2024-05-01\""), may1);
    cr_assert_eq(ts_of("\"1970-01-01T00:00:00.000Z\""), 0);
    cr_assert_eq(ts_of("\"1969-12-31T23:59:59.5Z\""), -SEC / 2);
    cr_assert_eq(ts_of("\"2017-08-30T20:47:31.000Z\""), INT64_C(1504126051) * SEC);
    cr_assert_eq(ts_of("\"2000-02-29T12:00:00Z\""), INT64_C(951825600) * SEC);
}

Test(ndjson, epoch_millisecond_timestamps_become_nanoseconds)
{
    cr_assert_eq(ts_of("1714521600005"), INT64_C(1714521600005) * MS);
    cr_assert_eq(ts_of("\"1714521600005\""), INT64_C(1714521600005) * MS);
    cr_assert_eq(ts_of("\"1\""), MS);
    cr_assert_eq(ts_of("0"), 0);
    cr_assert_eq(ts_of("-5"), -5 * MS);
    cr_assert_eq(ts_of("1.5"), MS + MS / 2);
    cr_assert_eq(ts_of("\"1.5\""), MS + MS / 2);
}

Test(ndjson, unparseable_timestamp_is_a_bad_record)
{
    const char *cases[] = {
        "\"yesterday\"",           "\"2024-13-01T00:00:00Z\"", "\"2024-02-30\"",           "\"2023-02-29\"",
        "\"2024-05-01T24:00:00Z\"", "\"2024-05-01T00:60:00Z\"", "\"2024-05-01T00:00:00.Z\"",
        "\"2024-05-01T00:00:00.1234567891Z\"", "\"2024-05-01T00:00:00+25:00\"", "\"2024-05-01T00:00:00Zjunk\"",
        "\"\"",                    "\"12-05-2024\"",           "true",                     "[1,2]",
        "{\"a\":1}",
        /* refused by Elasticsearch's default format (lib/date.c has the set) */
        "\"2024-05-01 00:00:00\"", "\"2024-05-01t00:00:00Z\"", "\"2024-05-01T00:00:00.000z\"",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"@timestamp\":%s}", cases[i]);
        const char *reason = ts_bad(json);
        cr_assert(strstr(reason, "timestamp") || strstr(reason, "@timestamp"), "%s: %s", cases[i], reason);
    }
}

Test(ndjson, out_of_range_timestamp_is_a_bad_record)
{
    expect_contains(ts_bad("{\"@timestamp\":9223372036854775807}"), "out of range");
    /* a well-formed year outside the range says so, a malformed date does not */
    expect_contains(ts_bad("{\"@timestamp\":\"9999-12-31T00:00:00Z\"}"), "out of range (1677-09-21 to 2262-04-11)");
    expect_contains(ts_bad("{\"@timestamp\":\"0001-01-01\"}"), "out of range (1677-09-21 to 2262-04-11)");
    expect_contains(ts_bad("{\"@timestamp\":\"2024-13-01\"}"), "unparseable");
}

Test(ndjson, missing_timestamp_is_a_bad_record)
{
    expect_contains(ts_bad("{\"a\":1}"), "missing timestamp field '@timestamp'");
    expect_contains(ts_bad("{\"@timestamp\":null}"), "missing timestamp");
}

Test(ndjson, no_timestamp_field_means_timestamp_zero)
{
    eq_ndjson *r;
    eqlite_event ev = read_one("{\"@timestamp\":\"2024-05-01T00:00:00Z\"}", &r);
    cr_assert_eq(ev.timestamp, 0);
    eq_ndjson_close(r);
}

Test(ndjson, timestamp_field_may_also_be_projected)
{
    reader_cfg cfg = {.ts = "@timestamp"};
    const char *json = "{\"@timestamp\":\"1970-01-01T00:00:01Z\"}";
    eq_ndjson *r = open_mem_cfg(json, strlen(json), &cfg);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.timestamp, SEC);
    expect_str(&ev.fields[F_TS], "1970-01-01T00:00:01Z");
    eq_ndjson_close(r);
}

Test(ndjson, nested_timestamp_field_is_found)
{
    reader_cfg cfg = {.ts = "event.created"};
    const char *json = "{\"event\":{\"created\":1000}}";
    eq_ndjson *r = open_mem_cfg(json, strlen(json), &cfg);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.timestamp, SEC);
    cr_assert_eq(ev.nfields, NF, "an unprojected timestamp field does not show in fields[]");
    eq_ndjson_close(r);
}

Test(ndjson, tiebreaker_value_is_copied)
{
    reader_cfg cfg = {.tb = "serial"};
    const char *json = "{\"serial\":42}\n{\"serial\":\"b\"}\n{}\n";
    eq_ndjson *r = open_mem_cfg(json, strlen(json), &cfg);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_int(&ev.tiebreaker, 42);
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_str(&ev.tiebreaker, "b");
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    expect_null(&ev.tiebreaker);
    eq_ndjson_close(r);
}

/* ---- JSON arrays ------------------------------------------------------------------ */

Test(ndjson, json_array_of_objects_is_accepted)
{
    eq_ndjson *r = open_mem("[{\"a\":1},{\"a\":2} , {\"a\":3}]\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
        expect_int(&ev.fields[F_A], i);
        cr_assert_eq(rec.len, 7);
        cr_assert_eq(rec.text[0], '{');
    }
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r, &st);
    cr_assert_eq(st.json_array, 1);
    eq_ndjson_close(r);
}

static void check_pretty_printed_array(const reader_cfg *cfg)
{
    /* Long enough (indentation) to cross 64-byte blocks. */
    const char *text = "\n[\n  {\n    \"a\": 1,\n    \"s\": \"x]},\"\n  },\n"
                       "                                                              {\"a\": [2]}\n]\n";
    eq_ndjson *r = open_mem_cfg(text, strlen(text), cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(rec.line, 3);
    cr_assert_eq(rec.len, strlen("{\"a\":1,\"s\":\"x]},\"}"));
    cr_assert(memcmp(rec.text, "{\"a\":1,\"s\":\"x]},\"}", rec.len) == 0, "%.*s", (int)rec.len, rec.text);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(rec.line, 7);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, pretty_printed_json_array_reports_element_lines_and_single_line_text)
{
    check_pretty_printed_array(NULL);
    reader_cfg cfg = {.block_size = 64, .via_file = 1};
    check_pretty_printed_array(&cfg);
}

static void check_bad_elements(const reader_cfg *cfg)
{
    const char *text = "[{\"a\":1}, 42, {\"a\":}, {\"a\":\"\\\"[{\"}, {\"a\":5}]";
    eq_ndjson *r = open_mem_cfg(text, strlen(text), cfg);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "not a JSON object");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_str(&ev.fields[F_A], "\"[{");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 5);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, json_array_with_bad_elements_reports_them_and_goes_on)
{
    check_bad_elements(NULL);
    reader_cfg cfg = {.block_size = 64, .via_file = 1};
    check_bad_elements(&cfg);
}

Test(ndjson, empty_json_array_has_no_events)
{
    eq_ndjson *r = open_mem("  [ ]  \n");
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, unterminated_json_array_is_reported)
{
    eq_ndjson *r = open_mem("[{\"a\":1},\n{\"a\":2}\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 2);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "missing ']'");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, json_array_odd_commas_and_trailing_data_are_reported)
{
    eq_ndjson *r = open_mem("[{\"a\":1},,{\"a\":2},]\n[{\"a\":3}]\ngarbage\n");
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "empty element");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "trailing comma");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "a second array is read too");
    expect_int(&ev.fields[F_A], 3);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "after the end of the JSON array");
    cr_assert_eq(rec.line, 3);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
}

Test(ndjson, over_long_json_array_element_is_skipped)
{
    char text[4096];
    int n = sprintf(text, "[{\"a\":1},{\"a\":\"");
    memset(text + n, 'w', 2000);
    n += 2000;
    n += sprintf(text + n, "\",\"b\":[1,{\"c\":\"]\"}]},{\"a\":3}]");
    for (int via_file = 0; via_file <= 1; via_file++) {
        reader_cfg cfg = {.max_line = 500, .block_size = 64, .via_file = via_file};
        eq_ndjson *r = open_mem_cfg(text, (size_t)n, &cfg);
        eqlite_event ev;
        eq_ndjson_record rec;
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
        expect_contains(rec.reason, "longer than 500");
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
        expect_int(&ev.fields[F_A], 3);
        cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
        eq_ndjson_close(r);
    }
}

/* ---- files, stdin, gzip --------------------------------------------------------------- */

Test(ndjson, path_input_reports_the_path_and_sizes)
{
    char *path = temp_path();
    const char *text = "{\"a\":1}\n{\"a\":\n";
    write_file(path, text, strlen(text));
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    char err[256];
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_str_eq(rec.file, path);
    cr_assert_eq(rec.line, 2);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r, &st);
    cr_assert_eq(st.bytes_in, strlen(text));
    cr_assert_eq(st.bytes_out, strlen(text));
    cr_assert_eq(st.total_in, strlen(text));
    cr_assert_eq(st.gzip, 0);
    eq_ndjson_close(r);
    unlink(path);
}

Test(ndjson, display_name_replaces_the_file_name)
{
    eq_ndjson_options o = options_for(NULL);
    o.display_name = "events.ndjson";
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_memory("x", 1, &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_str_eq(rec.file, "events.ndjson");
    eq_ndjson_close(r);
}

Test(ndjson, missing_file_fails_to_open_with_a_message)
{
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r = (eq_ndjson *)1;
    char err[256];
    cr_assert_eq(eq_ndjson_open_path("/nonexistent/x.ndjson", &o, &r, err, sizeof err), EQLITE_EINPUT);
    cr_assert_null(r);
    expect_contains(err, "/nonexistent/x.ndjson");
    expect_contains(err, "No such file");
}

Test(ndjson, dash_reads_standard_input)
{
    char *path = temp_path();
    write_file(path, "{\"a\":7}\n", 8);
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(dup2(fd, 0), 0);
    close(fd);
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_path("-", &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_int(&ev.fields[F_A], 7);
    cr_assert_str_eq(rec.file, "<stdin>");
    eq_ndjson_close(r);
    unlink(path);
}

Test(ndjson, open_descriptor_is_read_and_left_open)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    const char *text = "{\"a\":1}\n{\"a\":2}\n";
    cr_assert_eq(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_fd(fds[0], &o, &r, NULL, 0), EQLITE_OK);
    int events, bad;
    count_all(r, &events, &bad);
    cr_assert_eq(events, 2);
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r, &st);
    cr_assert_eq(st.total_in, 0, "a pipe has no known size");
    eq_ndjson_close(r);
    cr_assert_eq(close(fds[0]), 0, "the caller's descriptor stays open");
}

Test(ndjson, gzip_input_is_detected_by_its_magic_bytes)
{
    char *path = temp_path(); /* no .gz suffix on purpose */
    write_gzip(path, "wb", "{\"a\":1}\n{\"a\":2}\n");
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    char err[256];
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    int events, bad;
    count_all(r, &events, &bad);
    cr_assert_eq(events, 2);
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r, &st);
    cr_assert_eq(st.gzip, 1);
    cr_assert_eq(st.bytes_out, 16);
    cr_assert_lt(st.bytes_in, 60);
    eq_ndjson_close(r);
    unlink(path);
}

Test(ndjson, gzip_json_array_is_read)
{
    char *path = temp_path();
    write_gzip(path, "wb9", "[{\"a\":1},{\"a\":2}]");
    size_t len;
    char *gz = read_file(path, &len);
    eq_ndjson *r = open_mem_cfg(gz, len, NULL);
    int events, bad;
    count_all(r, &events, &bad);
    cr_assert_eq(events, 2);
    cr_assert_eq(bad, 0);
    eq_ndjson_close(r);
    free(gz);
    unlink(path);
}

Test(ndjson, large_gzip_input_is_read_across_many_blocks)
{
    size_t n = 20000, cap = n * 64, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "{\"seq\":%zu,\"process\":{\"name\":\"p\"}}\n", i);
    char *path = temp_path();
    write_gzip(path, "wb1", text);
    eq_ndjson_options o = options_for(NULL);
    o.block_size = 4096;
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
        expect_int(&ev.fields[F_SEQ], (int64_t)i);
    }
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EOF);
    eq_ndjson_close(r);
    free(text);
    unlink(path);
}

Test(ndjson, concatenated_gzip_members_are_one_input)
{
    char *path = temp_path();
    write_gzip(path, "wb", "{\"a\":1}\n");
    write_gzip(path, "ab", "{\"a\":2}\n");
    eq_ndjson_options o = options_for(NULL);
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, NULL, 0), EQLITE_OK);
    int events, bad;
    count_all(r, &events, &bad);
    cr_assert_eq(events, 2);
    eq_ndjson_close(r);
    unlink(path);
}

static void expect_fatal_after(const char *data, size_t len, int good_events, const char *needle)
{
    eq_ndjson *r = open_mem_cfg(data, len, NULL);
    eqlite_event ev;
    eq_ndjson_record rec;
    int st, events = 0;
    while ((st = next(r, &ev, &rec)) == EQ_NDJSON_EVENT)
        events++;
    cr_assert_eq(st, EQ_NDJSON_FATAL, "status %d", st);
    expect_contains(rec.reason, needle);
    if (good_events >= 0)
        cr_assert_eq(events, good_events);
    else
        cr_assert_gt(events, 0, "the events before the damage are read");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_FATAL, "a fatal error is sticky");
    eq_ndjson_close(r);
}

Test(ndjson, truncated_gzip_is_an_error_not_a_hang)
{
    char *path = temp_path();
    size_t n = 5000, len = 0;
    char *text = malloc(n * 48);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "{\"seq\":%zu,\"a\":\"%08zx\"}\n", i, i * 2654435761u);
    write_gzip(path, "wb", text);
    size_t gzlen;
    char *gz = read_file(path, &gzlen);
    expect_fatal_after(gz, gzlen / 2, -1, "truncated gzip");
    free(gz);
    free(text);
    unlink(path);
}

Test(ndjson, truncated_gzip_reports_the_events_before_the_cut)
{
    char *path = temp_path();
    write_gzip(path, "wb", "{\"a\":1}\n{\"a\":2}\n");
    size_t gzlen;
    char *gz = read_file(path, &gzlen);
    /* Without the 8-byte trailer (CRC + size) all text inflates, but the end
     * marker is missing; the message counts the 16 bytes of text once. */
    expect_fatal_after(gz, gzlen - 8, 2, "(after 16 bytes of text)");
    /* Only the 10-byte header. */
    expect_fatal_after(gz, 10, 0, "truncated gzip");
    free(gz);
    unlink(path);
}

Test(ndjson, corrupt_gzip_is_an_error)
{
    char *path = temp_path();
    write_gzip(path, "wb", "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
    size_t gzlen;
    char *gz = read_file(path, &gzlen);
    gz[gzlen - 6] ^= 0x55; /* the CRC */
    expect_fatal_after(gz, gzlen, 3, "corrupt gzip");
    free(gz);
    unlink(path);
}

Test(ndjson, data_after_a_gzip_stream_is_an_error)
{
    char *path = temp_path();
    write_gzip(path, "wb", "{\"a\":1}\n");
    size_t gzlen;
    char *gz = read_file(path, &gzlen);
    gz = realloc(gz, gzlen + 4);
    memcpy(gz + gzlen, "junk", 4);
    expect_fatal_after(gz, gzlen + 4, 1, "after the gzip stream");
    free(gz);
    unlink(path);
}

/* ---- parse floor --------------------------------------------------------------------- */

Test(ndjson, parse_only_counts_valid_and_bad_records)
{
    eq_ndjson *r = open_mem("{\"a\":1}\n\n{\"a\":\n[1]\n{\"b\":{\"c\":[1,2]}}\n");
    uint64_t valid = 0, bad = 0;
    cr_assert_eq(eq_ndjson_parse_only(r, &valid, &bad), EQ_NDJSON_EOF);
    cr_assert_eq(valid, 2);
    cr_assert_eq(bad, 2);
    eq_ndjson_close(r);
}

/* ---- the conformance data (../shared) ------------------------------------------------ */

Test(ndjson, reads_the_endgame_conformance_data)
{
    const char *path = shared_file("conformance/ready/data/endgame-140.ndjson");
    static const char *names[] = {"serial_event_id", "process_name", "event_type", "mysterious_field.subarray.a",
                                  "mysterious_field.subarray.c.x.y", "bytes_written_string_list"};
    eq_ndjson_field f[6];
    for (uint32_t i = 0; i < 6; i++)
        f[i] = (eq_ndjson_field){names[i], strlen(names[i]), i};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = f;
    o.nfields = 6;
    o.timestamp_field = "@timestamp";
    o.timestamp_len = 10;
    o.tiebreaker_field = "serial_event_id";
    o.tiebreaker_len = 15;
    eq_ndjson *r;
    char err[256];
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    eqlite_event ev;
    eq_ndjson_record rec;
    int st, events = 0, mysterious = 0;
    int64_t last_ts = 0;
    while ((st = next(r, &ev, &rec)) == EQ_NDJSON_EVENT) {
        events++;
        cr_assert_eq(ev.fields[0].kind, EQLITE_INT);
        if (events <= 98)
            expect_int(&ev.fields[0], events); /* serial ids 1..98, then 75273... */
        expect_int(&ev.tiebreaker, ev.fields[0].u.i);
        last_ts = ev.timestamp;
        if (events == 1) {
            expect_str(&ev.fields[1], "System Idle Process");
            expect_str(&ev.fields[2], "process");
            cr_assert_eq(ev.timestamp, 0);
        }
        if (events == 3)
            expect_str(&ev.fields[1], "smss.exe");
        if (ev.fields[3].kind != EQLITE_NULL) {
            mysterious++;
            expect_int(&ev.fields[0], 75305);
            const eqlite_value *a = &ev.fields[3], *xy = &ev.fields[4];
            cr_assert_eq(a->kind, EQLITE_ARRAY);
            cr_assert_eq(a->len, 4);
            expect_str(&a->u.a[0], "s0-a");
            expect_str(&a->u.a[3], "s3-a");
            cr_assert_eq(xy->kind, EQLITE_ARRAY);
            cr_assert_eq(xy->len, 3);
            expect_str(&xy->u.a[0], "s0-c-x-y");
            expect_str(&xy->u.a[2], "s3-c-x-y");
        }
        if (rec.line == 57) {
            cr_assert_eq(ev.fields[5].kind, EQLITE_ARRAY);
            cr_assert_eq(ev.fields[5].len, 2);
            expect_str(&ev.fields[5].u.a[0], "en-US");
        }
    }
    cr_assert_eq(st, EQ_NDJSON_EOF, "%s:%llu: %s", rec.file, (unsigned long long)rec.line, rec.reason);
    cr_assert_eq(events, 102);
    cr_assert_eq(mysterious, 1);
    cr_assert_eq(last_ts, INT64_C(1531764549303) * MS, "last event: 2018-07-16T18:09:09.303Z");
    eq_ndjson_close(r);
}

Test(ndjson, reads_epoch_millisecond_strings_of_the_missing_events_data)
{
    const char *path = shared_file("conformance/ready/data/missing-events.ndjson");
    eq_ndjson_field f[1] = {{"sequence", 8, 0}};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = f;
    o.nfields = 1;
    o.timestamp_field = "@timestamp";
    o.timestamp_len = 10;
    eq_ndjson *r;
    cr_assert_eq(eq_ndjson_open_path(path, &o, &r, NULL, 0), EQLITE_OK);
    eqlite_event ev;
    cr_assert_eq(next(r, &ev, NULL), EQ_NDJSON_EVENT);
    cr_assert_eq(ev.timestamp, MS);
    expect_int(&ev.fields[0], 1);
    int events = 1, bad = 0;
    int more, more_bad;
    count_all(r, &more, &more_bad);
    events += more;
    bad += more_bad;
    cr_assert_eq(events, 48);
    cr_assert_eq(bad, 0);
    eq_ndjson_close(r);
}

/* ---- mapping parameters: ignore_above and null_value ----------------------- */

/* A reader over `text` whose fields carry conversions (NULL: none); a value
 * that cannot be converted makes the record bad, or with reject_malformed 0
 * is dropped (ignore_malformed). */
static eq_ndjson *open_conv_mode(const char *text, const eq_ndjson_conv *conv, int reject_malformed)
{
    eq_ndjson_options o = options_for(NULL);
    o.conv = conv;
    o.reject_malformed = reject_malformed;
    eq_ndjson *r = NULL;
    char err[256];
    cr_assert_eq(eq_ndjson_open_memory(text, strlen(text), &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    return r;
}

static eq_ndjson *open_conv(const char *text, const eq_ndjson_conv *conv) { return open_conv_mode(text, conv, 1); }

/* KeywordFieldMapper: a string longer than ignore_above (in Java chars, UTF-16
 * units) is not indexed, so queries do not see it; array elements each. */
Test(ndjson, ignore_above_leaves_longer_keyword_values_unindexed)
{
    eq_ndjson_conv conv[NF] = {0};
    conv[F_PNAME] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 3, NULL};
    conv[F_ETYPE] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 3, NULL};
    conv[F_PPNAME] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 0, NULL};
    eq_ndjson *r = open_conv("{\"process\":{\"name\":\"abcd\",\"parent\":{\"name\":\"abcd\"}},"
                             "\"event\":{\"type\":[\"ab\",\"abcd\",\"abc\",1234]}}\n"
                             "{\"process\":{\"name\":\"abc\"},\"event\":{\"type\":[\"long one\"]}}\n"
                             /* U+1F600 is two Java chars: 2 + 2 > 3; e-acute is one */
                             "{\"process\":{\"name\":\"ab\xf0\x9f\x98\x80\"},\"event\":{\"type\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}}\n",
                             conv);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_PNAME]);
    expect_str(&ev.fields[F_PPNAME], "abcd"); /* no ignore_above */
    cr_assert_eq(ev.fields[F_ETYPE].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_ETYPE].len, 2);
    expect_str(&ev.fields[F_ETYPE].u.a[0], "ab");
    expect_str(&ev.fields[F_ETYPE].u.a[1], "abc"); /* 1234 became text "1234": too long */
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_PNAME], "abc");
    expect_null(&ev.fields[F_ETYPE]);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_PNAME]);
    expect_str(&ev.fields[F_ETYPE], "\xc3\xa9\xc3\xa9\xc3\xa9");
    eq_ndjson_close(r);
}

/* null_value (mapping-params docs): an explicit null, also inside an array, is
 * indexed as the null_value, converted with the field's type; a missing field
 * and an empty array stay missing. */
Test(ndjson, null_value_replaces_explicit_nulls)
{
    eq_ndjson_conv conv[NF] = {0};
    conv[F_PNAME] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 0, "\"NULL\""};
    conv[F_SEQ] = (eq_ndjson_conv){EQLITE_T_LONG, NULL, 0, "-1"};
    conv[F_ETYPE] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 0, "\"none\""};
    conv[F_A] = (eq_ndjson_conv){EQLITE_T_KEYWORD, NULL, 0, "\"N/A\""};
    eq_ndjson *r = open_conv("{\"process\":{\"name\":null},\"seq\":null,\"event\":{\"type\":[\"x\",null]},\"a\":[]}\n"
                             "{\"seq\":\"7\"}\n",
                             conv);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_PNAME], "NULL");
    expect_int(&ev.fields[F_SEQ], -1);
    cr_assert_eq(ev.fields[F_ETYPE].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_ETYPE].len, 2);
    expect_str(&ev.fields[F_ETYPE].u.a[0], "x");
    expect_str(&ev.fields[F_ETYPE].u.a[1], "none");
    expect_null(&ev.fields[F_A]);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_PNAME]);
    expect_int(&ev.fields[F_SEQ], 7);
    expect_null(&ev.fields[F_ETYPE]);
    eq_ndjson_close(r);
}

/* IpFieldMapper parses the value (InetAddresses.forString; anything else
 * fails the document) and the fields API returns it as toAddrString renders
 * it, so an ip field reads in that one spelling. */
Test(ndjson, ip_values_are_parsed_and_read_in_elasticsearch_spelling)
{
    eq_ndjson_conv conv[NF] = {0};
    conv[F_A] = (eq_ndjson_conv){EQLITE_T_IP, NULL, 0, NULL};
    eq_ndjson *r = open_conv("{\"a\":\"::FFFF:10.0.0.1\"}\n{\"a\":[\"0:0:0:0:0:0:0:1\",\"1.2.3.4\"]}\n"
                             "{\"a\":\"10.0.0.256\"}\n{\"a\":1234}\n",
                             conv);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_A], "10.0.0.1");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    expect_str(&ev.fields[F_A].u.a[0], "::1");
    expect_str(&ev.fields[F_A].u.a[1], "1.2.3.4");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "cannot convert \"10.0.0.256\" to ip");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "cannot convert 1234 to ip");
    eq_ndjson_close(r);
}

/* ignore_malformed (the default of Elastic's logs-*-* data streams): a value
 * that cannot take the mapped type is not indexed, the rest of the document
 * is; in an array only the malformed values go. */
Test(ndjson, malformed_values_are_dropped_and_the_record_kept)
{
    eq_ndjson_conv conv[NF] = {0};
    conv[F_A] = (eq_ndjson_conv){EQLITE_T_IP, NULL, 0, NULL};
    conv[F_SEQ] = (eq_ndjson_conv){EQLITE_T_LONG, NULL, 0, NULL};
    const char *text = "{\"a\":\"-\",\"process\":{\"name\":\"cmd.exe\"}}\n"
                       "{\"a\":[\"1.2.3.4\",\"-\",\"::1\"],\"seq\":\"k\"}\n"
                       "{\"a\":[\"x\",\"y\"],\"seq\":7}\n"
                       "{\"a\":\"10.0.0.1\"}\n";
    eq_ndjson *r = open_conv_mode(text, conv, 0);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_A]);
    expect_str(&ev.fields[F_PNAME], "cmd.exe");
    cr_assert_str_eq(rec.notice, "field [a]: cannot convert \"-\" to ip");
    cr_assert_str_eq(rec.reason, "");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_A].len, 2);
    expect_str(&ev.fields[F_A].u.a[0], "1.2.3.4");
    expect_str(&ev.fields[F_A].u.a[1], "::1");
    expect_null(&ev.fields[F_SEQ]);
    cr_assert_str_eq(rec.notice, "field [a]: cannot convert \"-\" to ip"); /* the first of the two */
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_A]); /* no value left */
    expect_int(&ev.fields[F_SEQ], 7);
    cr_assert_str_eq(rec.notice, "field [a]: cannot convert \"x\" to ip");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_A], "10.0.0.1");
    cr_assert_str_eq(rec.notice, "");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EOF);
    eq_ndjson_close(r);

    r = open_conv_mode(text, conv, 1); /* an index without ignore_malformed */
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_str_eq(rec.reason, "field [a]: cannot convert \"-\" to ip");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_str_eq(rec.notice, "");
    eq_ndjson_close(r);
}

/* Dates as Elasticsearch renders them (DateFormatter.format with the first
 * format of the list; the default strict_date_optional_time printer always
 * writes milliseconds and a zero offset as Z). */
static const char *date_text(int64_t ms, const char *format)
{
    static char buf[128];
    if (!eq_ndjson_format_date(ms, format, buf, sizeof buf))
        return "(none)";
    return buf;
}

Test(ndjson, dates_render_with_the_mapping_format)
{
    const int64_t dec17 = 1671235200000; /* 2022-12-17T00:00:00Z, a Saturday */
    cr_expect_str_eq(date_text(0, NULL), "1970-01-01T00:00:00.000Z");
    cr_expect_str_eq(date_text(dec17 + 123, ""), "2022-12-17T00:00:00.123Z");
    cr_expect_str_eq(date_text(-1, "strict_date_optional_time||epoch_millis"), "1969-12-31T23:59:59.999Z");
    cr_expect_str_eq(date_text(dec17, "epoch_millis||dd-MM-yyyy"), "1671235200000");
    cr_expect_str_eq(date_text(dec17, "epoch_second"), "1671235200");
    cr_expect_str_eq(date_text(dec17 + 120, "epoch_second"), "1671235200.12");
    cr_expect_str_eq(date_text(dec17, "dd-MM-yyyy||epoch_millis"), "17-12-2022");
    cr_expect_str_eq(date_text(dec17 + 45296789, "yyyy/MM/dd HH:mm:ss.SS"), "2022/12/17 12:34:56.78");
    cr_expect_str_eq(date_text(dec17, "basic_date"), "20221217");
    cr_expect_str_eq(date_text(dec17, "EEE, MMM d, yy h:mm a 'at' XXX"), "Sat, Dec 17, 22 12:00 AM at Z");
    cr_expect_str_eq(date_text(dec17, "date_time_no_millis"), "2022-12-17T00:00:00Z");
    cr_expect_str_eq(date_text(dec17, "week_date"), "(none)"); /* not rendered: the caller keeps the number */
    char small[8];
    cr_expect_eq(eq_ndjson_format_date(dec17, NULL, small, sizeof small), 0);
}

/* date_nanos (DateFieldMapper, nanosecond resolution): values are parsed
 * with the mapping's format and read as the strict_date_optional_time_nanos
 * printer writes them (3 to 9 fraction digits, UTC); dates before 1970 are
 * refused, as Elasticsearch refuses the document. */
Test(ndjson, date_nanos_values_keep_nanoseconds_and_read_as_iso)
{
    eq_ndjson_conv conv[NF] = {0};
    conv[F_A] = (eq_ndjson_conv){EQLITE_T_DATE_NANOS, NULL, 0, NULL};
    conv[F_SEQ] = (eq_ndjson_conv){EQLITE_T_DATE_NANOS, "dd-MM-yyyy||epoch_millis", 0, NULL};
    eq_ndjson *r = open_conv("{\"a\":\"2022-12-17T00:00:00.123456789Z\",\"seq\":\"17-12-2022\"}\n"
                             "{\"a\":\"2022-12-17T01:00:00.5+01:00\",\"seq\":1671235200000}\n"
                             "{\"a\":[1671235200000,\"1671235200000.000001\"]}\n"
                             "{\"a\":\"1969-12-31T23:59:59Z\"}\n",
                             conv);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_A], "2022-12-17T00:00:00.123456789Z");
    expect_str(&ev.fields[F_SEQ], "2022-12-17T00:00:00.000Z");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_A], "2022-12-17T00:00:00.500Z");
    expect_str(&ev.fields[F_SEQ], "2022-12-17T00:00:00.000Z");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    expect_str(&ev.fields[F_A].u.a[0], "2022-12-17T00:00:00.000Z");
    expect_str(&ev.fields[F_A].u.a[1], "2022-12-17T00:00:00.000000001Z");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_BAD);
    expect_contains(rec.reason, "to date_nanos");
    eq_ndjson_close(r);
}

/* A multi-field indexes its parent's value with its own type (mapping
 * multi-fields docs): the same path listed for a second id reads the same
 * values into it, each converted with its own mapping. */
Test(ndjson, a_path_listed_for_two_ids_fills_both)
{
    eq_ndjson_field fields[] = {{"a", 1, F_A}, {"a", 1, F_XA}, {"seq", 3, F_SEQ}};
    eq_ndjson_conv conv[] = {{EQLITE_T_KEYWORD, NULL, 0, NULL}, {EQLITE_T_IP, NULL, 0, NULL},
                             {EQLITE_T_KEYWORD, NULL, 2, NULL}};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = fields;
    o.nfields = 3;
    o.conv = conv;
    const char *text = "{\"a\":\"::FFFF:10.0.0.1\",\"seq\":5}\n{\"a\":[\"::1\",null]}\n{\"seq\":1}\n";
    eq_ndjson *r = NULL;
    char err[256];
    cr_assert_eq(eq_ndjson_open_memory(text, strlen(text), &o, &r, err, sizeof err), EQLITE_OK, "%s", err);
    eqlite_event ev;
    eq_ndjson_record rec;
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_str(&ev.fields[F_A], "::FFFF:10.0.0.1"); /* keyword: as written */
    expect_str(&ev.fields[F_XA], "10.0.0.1");       /* ip: as Elasticsearch reads it */
    expect_str(&ev.fields[F_SEQ], "5");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    cr_assert_eq(ev.fields[F_A].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_XA].kind, EQLITE_ARRAY);
    cr_assert_eq(ev.fields[F_XA].len, 1);
    expect_str(&ev.fields[F_XA].u.a[0], "::1");
    cr_assert_eq(next(r, &ev, &rec), EQ_NDJSON_EVENT, "%s", rec.reason);
    expect_null(&ev.fields[F_A]);
    expect_null(&ev.fields[F_XA]);
    eq_ndjson_close(r);
}

/* eq_ndjson_seek: records of a memory buffer read back in any order (the
 * command's sort index), with the line numbers the caller gives. */
Test(ndjson, seek_rereads_a_record_of_a_memory_buffer_at_its_offset)
{
    const char *text = "{\"a\":\"one\"}\n\n{\"a\":\"two\"}\r\n{\"a\":\"three\"}";
    eq_ndjson *r = open_mem(text);
    eqlite_event ev;
    eq_ndjson_record rec;
    uint64_t offs[3];
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(eq_ndjson_next(r, &ev, &rec), EQ_NDJSON_EVENT);
        offs[i] = rec.offset;
    }
    cr_assert_eq(eq_ndjson_next(r, &ev, &rec), EQ_NDJSON_EOF);
    cr_assert_eq(eq_ndjson_seek(r, offs[2], 4), 0);
    cr_assert_eq(eq_ndjson_next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_str(&ev.fields[F_A], "three");
    cr_expect_eq(rec.line, 4);
    cr_assert_eq(eq_ndjson_seek(r, offs[1], 3), 0);
    cr_assert_eq(eq_ndjson_next(r, &ev, &rec), EQ_NDJSON_EVENT);
    expect_str(&ev.fields[F_A], "two");
    cr_expect_eq(rec.len, strlen("{\"a\":\"two\"}"), "the \\r is not part of the record");
    cr_assert_eq(eq_ndjson_next(r, &ev, &rec), EQ_NDJSON_EVENT, "reading goes on from there");
    expect_str(&ev.fields[F_A], "three");
    cr_expect_eq(eq_ndjson_seek(r, strlen(text) + 1, 1), -1, "past the end");
    eq_ndjson_close(r);
    reader_cfg file = {NULL, NULL, 0, 0, 1};
    r = open_mem_cfg(text, strlen(text), &file);
    cr_expect_eq(eq_ndjson_seek(r, 0, 1), -1, "a file is read in blocks, not in place");
    eq_ndjson_close(r);
    r = open_mem("[{\"a\":\"x\"}]");
    cr_expect_eq(eq_ndjson_seek(r, 1, 1), -1, "an array is not lines");
    eq_ndjson_close(r);
}
