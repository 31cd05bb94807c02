/* fuzz_mapping.c: libFuzzer target for Elasticsearch mappings and the value
 * conversions they drive. The input is a mapping (JSON), a blank line, then
 * NDJSON events: the mapping is loaded into a schema, and every event is read
 * with each field converted to its mapped type (dates in the mapping's
 * formats), as `eqlite query --mapping` does. */
#include "fuzz_support.h"
#include "io/mapping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct formats {
    char *by_field[64];   /* the last format the mapping gave each of the first 64 fields */
    char *null_value[64]; /* their null_value (JSON text) */
    uint32_t ignore_above[64];
    const eqlite_schema *schema;
} formats;

static void on_format(void *user, const char *field, const char *format)
{
    formats *f = user;
    uint32_t id;
    if (eqlite_schema_lookup(f->schema, field, strlen(field), &id) != EQLITE_OK || id >= 64)
        return;
    free(f->by_field[id]);
    f->by_field[id] = strdup(format);
}

static void on_param(void *user, const char *field, const char *param, const char *json)
{
    formats *f = user;
    uint32_t id;
    if (eqlite_schema_lookup(f->schema, field, strlen(field), &id) != EQLITE_OK || id >= 64)
        return;
    if (!strcmp(param, "null_value")) {
        free(f->null_value[id]);
        f->null_value[id] = strdup(json);
    } else if (!strcmp(param, "ignore_above")) {
        f->ignore_above[id] = (uint32_t)strtoul(json, NULL, 10);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t mapping_len, events_len;
    const uint8_t *events;
    fuzz_split(data, size, &mapping_len, &events, &events_len);
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 0;
    formats f = {{0}, {0}, {0}, schema};
    char err[256];
    uint64_t h = 0;
    if (eq_mapping_load_params(schema, (const char *)data, mapping_len, err, sizeof err, on_format, on_param, &f) ==
        EQLITE_OK) {
        size_t n = eqlite_schema_field_count(schema);
        eq_ndjson_field *fields = calloc(n + 1, sizeof *fields);
        eq_ndjson_conv *conv = calloc(n + 1, sizeof *conv);
        for (uint32_t id = 0; fields && conv && id < n; id++) {
            eqlite_type type;
            const char *name = eqlite_schema_field_name(schema, id, &type);
            fields[id] = (eq_ndjson_field){name, strlen(name), id};
            conv[id] = (eq_ndjson_conv){(uint32_t)type, id < 64 ? f.by_field[id] : NULL,
                                        id < 64 ? f.ignore_above[id] : 0, id < 64 ? f.null_value[id] : NULL};
        }
        eq_ndjson_options o;
        memset(&o, 0, sizeof o);
        o.fields = fields;
        o.nfields = fields && conv ? n : 0;
        o.conv = conv;
        o.timestamp_field = "@timestamp";
        o.timestamp_len = 10;
        o.timestamp_format = f.by_field[0];
        o.max_line = 4096;
        eq_ndjson *r = NULL;
        if (fields && conv && eq_ndjson_open_memory(events, events_len, &o, &r, NULL, 0) == EQLITE_OK) {
            eqlite_event ev;
            eq_ndjson_record rec;
            int k;
            while ((k = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && k != EQ_NDJSON_FATAL)
                for (size_t i = 0; k == EQ_NDJSON_EVENT && i < ev.nfields; i++)
                    h += fuzz_touch(&ev.fields[i]);
            eq_ndjson_close(r);
        }
        free(fields);
        free(conv);
    }
    for (int k = 0; k < 64; k++) {
        free(f.by_field[k]);
        free(f.null_value[k]);
    }
    eqlite_schema_free(schema);
    return h == 0xfeedfacecafe;
}
