/* test_mapping.c: Elasticsearch index mappings into a schema
 * (eqlite_schema_load_mapping, lib/ndjson/mapping.cpp). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqlite.h"
#include "eqlite_io.h"

/* ---- helpers ----------------------------------------------------------- */

static eqlite_schema *schema;
static char err[512];
static eqlite_diag diag;

static void setup(void) { cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK); }
static void teardown(void) { eqlite_schema_free(schema); }

TestSuite(mapping, .init = setup, .fini = teardown);

static eqlite_status load(const char *json)
{
    err[0] = 'x';
    eqlite_status st = eqlite_schema_load_mapping(schema, json, strlen(json), &diag);
    snprintf(err, sizeof err, "%s", diag.message);
    cr_assert_eq(diag.code, st, "the diag carries the status");
    return st;
}

static void load_ok(const char *json)
{
    eqlite_status st = load(json);
    cr_assert_eq(st, EQLITE_OK, "status %d: %s", st, err);
    cr_assert_str_eq(err, "", "no message on success");
}

static void expect_error(const char *json, const char *needle)
{
    cr_assert_eq(load(json), EQLITE_EINPUT, "accepted: %s", json);
    cr_assert(strstr(err, needle), "message '%s' does not mention '%s'", err, needle);
}

static uint32_t id_of(const char *name)
{
    uint32_t id = UINT32_MAX;
    cr_assert_eq(eqlite_schema_lookup(schema, name, strlen(name), &id), EQLITE_OK, "'%s' is not a field", name);
    return id;
}

static eqlite_type type_of(const char *name)
{
    eqlite_type t = EQLITE_T_UNKNOWN;
    cr_assert_not_null(eqlite_schema_field_name(schema, id_of(name), &t));
    return t;
}

static void expect_absent(const char *name)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_lookup(schema, name, strlen(name), &id), EQLITE_ENOTFOUND, "'%s' exists", name);
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

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void load_shared_mapping(const char *rel)
{
    size_t len;
    char *json = slurp(shared_file(rel), &len);
    eqlite_status st = eqlite_schema_load_mapping(schema, json, len, &diag);
    cr_assert_eq(st, EQLITE_OK, "%s: %s", rel, diag.message);
    free(json);
}

/* ---- shapes --------------------------------------------------------------- */

Test(mapping, index_creation_body_is_loaded)
{
    load_ok("{\"settings\":{\"number_of_shards\":1},"
            "\"mappings\":{\"properties\":{\"pid\":{\"type\":\"long\"}}}}");
    cr_assert_eq(type_of("pid"), EQLITE_T_LONG);
}

Test(mapping, bare_properties_are_loaded)
{
    load_ok("{\"properties\":{\"name\":{\"type\":\"keyword\"}}}");
    cr_assert_eq(type_of("name"), EQLITE_T_KEYWORD);
}

Test(mapping, get_mapping_response_of_several_indices_is_loaded)
{
    load_ok("{\"logs-a\":{\"mappings\":{\"properties\":{\"a\":{\"type\":\"ip\"}}}},"
            "\"logs-b\":{\"mappings\":{\"properties\":{\"b\":{\"type\":\"date\"}}}}}");
    cr_assert_eq(type_of("a"), EQLITE_T_IP);
    cr_assert_eq(type_of("b"), EQLITE_T_DATE);
}

Test(mapping, typed_mapping_of_elasticsearch_6_is_loaded)
{
    load_ok("{\"mappings\":{\"_doc\":{\"properties\":{\"a\":{\"type\":\"keyword\"}}}}}");
    cr_assert_eq(type_of("a"), EQLITE_T_KEYWORD);
    expect_absent("_doc");
}

Test(mapping, runtime_fields_are_loaded)
{
    load_ok("{\"mappings\":{\"runtime\":{\"day\":{\"type\":\"keyword\"}},"
            "\"properties\":{\"a\":{\"type\":\"long\"}}}}");
    cr_assert_eq(type_of("day"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("a"), EQLITE_T_LONG);
}

Test(mapping, empty_mapping_adds_nothing)
{
    load_ok("{\"mappings\":{}}");
    load_ok("{\"properties\":{}}");
    load_ok("{\"mappings\":{\"dynamic\":\"strict\"}}");
    cr_assert_eq(eqlite_schema_field_count(schema), 0);
}

/* ---- fields ---------------------------------------------------------------- */

Test(mapping, nested_properties_become_dotted_names)
{
    load_ok("{\"properties\":{\"process\":{\"properties\":{\"name\":{\"type\":\"keyword\"},"
            "\"parent\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"wildcard\"}}}}}}}");
    cr_assert_eq(type_of("process.name"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("process.parent.name"), EQLITE_T_WILDCARD);
    cr_assert_eq(type_of("process"), EQLITE_T_OBJECT);
    cr_assert_eq(type_of("process.parent"), EQLITE_T_OBJECT);
    expect_absent("name");
    expect_absent("parent.name");
}

Test(mapping, nested_type_is_an_object_with_dotted_children)
{
    load_ok("{\"properties\":{\"threat\":{\"type\":\"nested\",\"properties\":{\"id\":{\"type\":\"keyword\"}}}}}");
    cr_assert_eq(type_of("threat"), EQLITE_T_OBJECT);
    cr_assert_eq(type_of("threat.id"), EQLITE_T_KEYWORD);
}

Test(mapping, field_types_map_to_schema_types)
{
    static const struct {
        const char *es;
        eqlite_type type;
    } cases[] = {
        {"keyword", EQLITE_T_KEYWORD},           {"wildcard", EQLITE_T_WILDCARD},
        {"constant_keyword", EQLITE_T_CONSTANT_KEYWORD}, {"text", EQLITE_T_TEXT},
        {"match_only_text", EQLITE_T_TEXT},      {"long", EQLITE_T_LONG},
        {"integer", EQLITE_T_INTEGER},           {"short", EQLITE_T_SHORT},
        {"byte", EQLITE_T_BYTE},                 {"unsigned_long", EQLITE_T_LONG},
        {"double", EQLITE_T_DOUBLE},             {"float", EQLITE_T_FLOAT},
        {"half_float", EQLITE_T_HALF_FLOAT},     {"scaled_float", EQLITE_T_SCALED_FLOAT},
        {"boolean", EQLITE_T_BOOLEAN},           {"ip", EQLITE_T_IP},
        {"date", EQLITE_T_DATE},                 {"date_nanos", EQLITE_T_DATE_NANOS},
        {"version", EQLITE_T_VERSION},           {"object", EQLITE_T_OBJECT},
        {"nested", EQLITE_T_OBJECT},             {"flattened", EQLITE_T_KEYWORD},
    };
    char json[4096];
    size_t n = (size_t)sprintf(json, "{\"properties\":{");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        n += (size_t)sprintf(json + n, "%s\"f_%s\":{\"type\":\"%s\"}", i ? "," : "", cases[i].es, cases[i].es);
    strcpy(json + n, "}}");
    load_ok(json);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[64];
        snprintf(name, sizeof name, "f_%s", cases[i].es);
        cr_assert_eq(type_of(name), cases[i].type, "%s", cases[i].es);
    }
}

Test(mapping, unknown_types_are_added_as_unknown_and_loading_goes_on)
{
    load_ok("{\"properties\":{\"loc\":{\"type\":\"geo_point\"},\"blob\":{\"type\":\"binary\"},"
            "\"after\":{\"type\":\"keyword\"}}}");
    cr_assert_eq(type_of("loc"), EQLITE_T_UNKNOWN);
    cr_assert_eq(type_of("blob"), EQLITE_T_UNKNOWN);
    cr_assert_eq(type_of("after"), EQLITE_T_KEYWORD);
}

Test(mapping, field_without_type_is_an_object)
{
    load_ok("{\"properties\":{\"labels\":{}}}");
    cr_assert_eq(type_of("labels"), EQLITE_T_OBJECT);
}

Test(mapping, multi_fields_add_name_dot_sub_field)
{
    load_ok("{\"properties\":{\"hostname\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\","
            "\"ignore_above\":256},\"raw\":{\"type\":\"wildcard\"}}},"
            "\"code\":{\"type\":\"keyword\",\"fields\":{\"text\":{\"type\":\"match_only_text\"}}}}}");
    cr_assert_eq(type_of("hostname"), EQLITE_T_TEXT);
    cr_assert_eq(type_of("hostname.keyword"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("hostname.raw"), EQLITE_T_WILDCARD);
    cr_assert_eq(type_of("code.text"), EQLITE_T_TEXT);
}

Test(mapping, alias_resolves_to_its_target)
{
    load_ok("{\"properties\":{\"event\":{\"properties\":{\"category\":{\"type\":\"alias\","
            "\"path\":\"event_type\"}}},\"event_type\":{\"type\":\"keyword\"}}}");
    cr_assert_eq(id_of("event.category"), id_of("event_type"), "an alias may come before its target");
    cr_assert_eq(type_of("event.category"), EQLITE_T_KEYWORD);
}

Test(mapping, alias_to_a_missing_field_is_an_error)
{
    expect_error("{\"properties\":{\"a\":{\"type\":\"alias\",\"path\":\"nowhere\"}}}", "nowhere");
    cr_assert(strstr(err, "'a'"), "%s", err);
}

Test(mapping, alias_without_path_is_an_error)
{
    expect_error("{\"properties\":{\"a\":{\"type\":\"alias\"}}}", "'a'");
}

Test(mapping, loading_merges_with_fields_already_there)
{
    uint32_t before;
    cr_assert_eq(eqlite_schema_add(schema, "x", 1, EQLITE_T_UNKNOWN, &before), EQLITE_OK);
    load_ok("{\"properties\":{\"x\":{\"type\":\"long\"},\"y\":{\"type\":\"keyword\"}}}");
    cr_assert_eq(id_of("x"), before);
    load_ok("{\"properties\":{\"y\":{\"type\":\"keyword\"},\"z\":{\"type\":\"alias\",\"path\":\"x\"}}}");
    cr_assert_eq(id_of("z"), before, "an alias may point at a field of an earlier mapping");
}

/* ---- malformed input ------------------------------------------------------------ */

Test(mapping, malformed_mappings_are_input_errors_with_a_message)
{
    expect_error("{\"properties\":", "not valid JSON");
    expect_error("[1,2]", "not a JSON object");
    expect_error("{\"something\":1}", "no \"mappings\" or \"properties\"");
    expect_error("{\"properties\":[]}", "\"properties\"");
    expect_error("{\"mappings\":[]}", "\"mappings\"");
    expect_error("{\"properties\":{\"a\":{\"type\":5}}}", "field 'a'");
    expect_error("{\"properties\":{\"a\":\"keyword\"}}", "field 'a'");
    expect_error("{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"keyword\",\"fields\":7}}}}}", "a.b");
    expect_error("{\"properties\":{\"a\":{\"properties\":{\"b\":[]}}}}", "'a.b'");
    expect_error("{\"properties\":{\"a\":{\"properties\":{\"\":{\"type\":\"long\"}}}}}", "empty field name");
}

Test(mapping, errors_fill_the_diag_like_compile)
{
    memset(&diag, 'x', sizeof diag);
    cr_assert_eq(eqlite_schema_load_mapping(schema, "nope", 4, &diag), EQLITE_EINPUT);
    cr_assert_eq(diag.code, EQLITE_EINPUT);
    cr_assert_eq(strncmp(diag.message, "mapping is not valid JSON", 25), 0, "%s", diag.message);
    cr_assert_eq(diag.line, 0u, "no position: the message names the field");
    cr_assert_eq(eqlite_schema_load_mapping(schema, "nope", 4, NULL), EQLITE_EINPUT, "diag may be NULL");
    cr_assert_eq(eqlite_schema_load_mapping(schema, "{\"properties\":{}}", 17, &diag), EQLITE_OK);
    cr_assert_eq(diag.code, EQLITE_OK);
    cr_assert_str_eq(diag.message, "");
}

Test(mapping, input_is_pointer_and_length)
{
    const char *json = "{\"properties\":{\"a\":{\"type\":\"long\"}}}GARBAGE";
    cr_assert_eq(eqlite_schema_load_mapping(schema, json, strlen(json) - 7, &diag), EQLITE_OK, "%s", diag.message);
    cr_assert_eq(type_of("a"), EQLITE_T_LONG);
}

Test(mapping, invalid_arguments_are_misuse)
{
    cr_assert_eq(eqlite_schema_load_mapping(NULL, "{}", 2, &diag), EQLITE_EMISUSE);
    cr_assert_str_eq(diag.message, "invalid argument");
    cr_assert_eq(eqlite_schema_load_mapping(schema, NULL, 2, &diag), EQLITE_EMISUSE);
}

/* ---- the conformance mappings (../shared) ---------------------------------------- */

Test(mapping, loads_the_endgame_conformance_mapping)
{
    load_shared_mapping("conformance/ready/mappings/endgame-140.json");
    cr_assert_eq(type_of("pid"), EQLITE_T_LONG);
    cr_assert_eq(type_of("process_name"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("hostname"), EQLITE_T_TEXT);
    cr_assert_eq(type_of("hostname.keyword"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("file_name.keyword"), EQLITE_T_KEYWORD);
    cr_assert_eq(type_of("source_address"), EQLITE_T_IP);
    cr_assert_eq(type_of("@timestamp"), EQLITE_T_DATE);
    cr_assert_eq(type_of("event"), EQLITE_T_OBJECT);
    cr_assert_eq(id_of("event.category"), id_of("event_type"));
    cr_assert_eq(id_of("event.sequence"), id_of("serial_event_id"));
}

Test(mapping, loads_every_conformance_mapping)
{
    static const char *const files[] = {"endgame-140", "missing-events", "sample-multi",
                                        "sample1",     "sample2",        "sample3"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "conformance/ready/mappings/%s.json", files[i]);
        load_shared_mapping(rel);
    }
    cr_assert_eq(type_of("version"), EQLITE_T_VERSION);
    cr_assert_eq(type_of("bool"), EQLITE_T_BOOLEAN);
    cr_assert_eq(type_of("host_ip"), EQLITE_T_IP);
    cr_assert_eq(type_of("k1"), EQLITE_T_KEYWORD);
    cr_assert_eq(id_of("event.category"), id_of("event_type"));
}

/* A mapping with "dynamic": "strict" (or false) indexes nothing it lacks:
 * Elasticsearch answers "Unknown column" for other names. */
Test(mapping, strict_dynamic_mapping_makes_unmapped_fields_unknown)
{
    const char *kinds[] = {"\"strict\"", "false", "\"false\"", "true"};
    for (int k = 0; k < 4; k++) {
        char json[256];
        snprintf(json, sizeof json, "{\"mappings\":{\"dynamic\":%s,\"properties\":{\"a\":{\"type\":\"keyword\"}}}}",
                 kinds[k]);
        eqlite_schema *s;
        eqlite_schema_new(NULL, &s);
        eqlite_schema_set_grow(s, 1);
        cr_assert_eq(eqlite_schema_load_mapping(s, json, strlen(json), NULL), EQLITE_OK);
        eqlite_program *p = NULL;
        eqlite_diag d;
        const char *rule = "any where b == \"x\"";
        eqlite_status want = k < 3 ? EQLITE_ENOTFOUND : EQLITE_OK;
        cr_assert_eq(eqlite_compile(s, rule, strlen(rule), &p, &d), want, "dynamic %s: %s", kinds[k], d.message);
        eqlite_program_free(p);
        eqlite_schema_free(s);
    }
}

/* ---- index-time parameters the NDJSON reader applies ---------------------- */

#include "io/mapping.h"

static void note_param(void *user, const char *field, const char *param, const char *json)
{
    char *out = user;
    size_t n = strlen(out);
    snprintf(out + n, 1024 - n, "%s%s %s=%s", n ? "; " : "", field, param, json);
}

/* ignore_above and null_value (mapping-params docs; ECS sets ignore_above:
 * 1024 on keyword fields), for multi-fields too, as JSON text; a multi-field
 * indexes its parent's value (multi-fields docs), so its parent is named. */
Test(mapping, ignore_above_and_null_value_reach_the_reader)
{
    const char *json = "{\"properties\":{\"process\":{\"properties\":{\"name\":{\"type\":\"keyword\","
                       "\"ignore_above\":1024,\"fields\":{\"caseless\":{\"type\":\"keyword\",\"ignore_above\":10,"
                       "\"null_value\":\"none\"}}},\"pid\":{\"type\":\"long\",\"null_value\":-1},"
                       "\"exit_code\":{\"type\":\"long\",\"null_value\":null}}}}}";
    char seen[1024] = "";
    cr_assert_eq(eq_mapping_load_params(schema, json, strlen(json), err, sizeof err, NULL, note_param, seen),
                 EQLITE_OK, "%s", err);
    cr_assert_str_eq(seen, "process.name ignore_above=1024; process.name.caseless multi_field_of=process.name; "
                           "process.name.caseless ignore_above=10; process.name.caseless null_value=\"none\"; "
                           "process.pid null_value=-1");
}
