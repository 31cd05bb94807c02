/* support.c: helpers shared by the Criterion suites. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *shared_dir(void)
{
    const char *d = getenv("EQLITE_SHARED_DIR");
    static char probe[4096];
    if (!d)
        d = "../shared";
    snprintf(probe, sizeof probe, "%s/corpus/detection-rules-eql.jsonl", d);
    return access(probe, R_OK) == 0 ? d : NULL;
}

const char *shared_path(const char *rel)
{
    static char path[8][4096];
    static int slot;
    const char *d = shared_dir();
    if (!d)
        cr_skip_test("../shared is absent (set EQLITE_SHARED_DIR): conformance data and corpus not available");
    char *p = path[slot++ & 7];
    snprintf(p, 4096, "%s/%s", d, rel);
    return p;
}

char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

eqlite_status compile_status(const char *rule, eqlite_diag *diag)
{
    eqlite_schema *schema;
    eqlite_program *prog = NULL;
    cr_assert_eq(eqlite_schema_new(NULL, &schema), EQLITE_OK);
    eqlite_schema_set_grow(schema, 1);
    eqlite_status st = eqlite_compile(schema, rule, strlen(rule), &prog, diag);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return st;
}

void value_to_json(const eqlite_value *v, char *out, size_t cap)
{
    switch (v->kind) {
    case EQLITE_NULL: snprintf(out, cap, "null"); break;
    case EQLITE_BOOL: snprintf(out, cap, v->u.b ? "true" : "false"); break;
    case EQLITE_INT: snprintf(out, cap, "%lld", (long long)v->u.i); break;
    case EQLITE_DOUBLE: {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, v->u.d);
            if (strtod(out, NULL) == v->u.d)
                break;
        }
        if (!strpbrk(out, ".en"))
            strncat(out, ".0", cap - strlen(out) - 1);
        break;
    }
    case EQLITE_STRING: snprintf(out, cap, "\"%.*s\"", (int)v->len, v->u.s); break;
    default: snprintf(out, cap, "?");
    }
}

const char *eval_json(const char *expr)
{
    static char out[4096];
    char buf[4096];
    eqlite_value v;
    eqlite_diag d;
    if (eqlite_eval_constant(expr, strlen(expr), &v, buf, sizeof buf, &d) != EQLITE_OK) {
        snprintf(out, sizeof out, "error: %s", d.message);
        return out;
    }
    value_to_json(&v, out, sizeof out);
    return out;
}

void tev_init(test_event *t, eqlite_schema *schema)
{
    memset(t, 0, sizeof *t);
    t->schema = schema;
    t->ev.fields = t->fields;
    t->ev.nfields = 64;
}

static uint32_t field_id(test_event *t, const char *field)
{
    uint32_t id;
    cr_assert_eq(eqlite_schema_add(t->schema, field, strlen(field), EQLITE_T_UNKNOWN, &id), EQLITE_OK);
    cr_assert_lt(id, 64u);
    return id;
}

void tev_str(test_event *t, const char *field, const char *value)
{
    uint32_t id = field_id(t, field);
    t->fields[id] = (eqlite_value){EQLITE_STRING, (uint32_t)strlen(value), {.s = value}};
}

void tev_int(test_event *t, const char *field, long long value)
{
    uint32_t id = field_id(t, field);
    t->fields[id] = (eqlite_value){EQLITE_INT, 0, {.i = value}};
}

void tev_strs(test_event *t, const char *field, const char *const *values, size_t n)
{
    uint32_t id = field_id(t, field);
    for (size_t k = 0; k < n && k < 8; k++)
        t->arrays[id][k] = (eqlite_value){EQLITE_STRING, (uint32_t)strlen(values[k]), {.s = values[k]}};
    t->fields[id] = (eqlite_value){EQLITE_ARRAY, (uint32_t)n, {.a = t->arrays[id]}};
}

int match_one(const char *rule, test_event *t)
{
    eqlite_program *prog;
    eqlite_diag d;
    eqlite_schema_set_grow(t->schema, 1);
    if (eqlite_compile(t->schema, rule, strlen(rule), &prog, &d) != EQLITE_OK)
        return -1;
    eqlite_matcher *m;
    cr_assert_eq(eqlite_matcher_new(prog, NULL, &m), EQLITE_OK);
    int hit = 0;
    cr_assert_eq(eqlite_match(m, &t->ev, &hit), EQLITE_OK);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    return hit;
}
