/* mapping_schema.c: embedding with the schema taken from an Elasticsearch
 * index mapping instead of declared in code. Nested objects become dotted
 * field names; the mapping's types decide how rules compare values (a
 * `long` compares as a number, a `keyword` as text). Self-checking: exits 1
 * on any wrong answer. */
#include <stdio.h>
#include <string.h>

#include "eqlite.h"
#include "eqlite_io.h"

/* What `GET logs-endpoint/_mapping` returns, trimmed to a few ECS fields. */
static const char MAPPING[] =
    "{\"mappings\": {\"properties\": {\n"
    "  \"@timestamp\": {\"type\": \"date\"},\n"
    "  \"event\": {\"properties\": {\n"
    "    \"category\": {\"type\": \"keyword\"},\n"
    "    \"type\": {\"type\": \"keyword\"}}},\n"
    "  \"host\": {\"properties\": {\"os\": {\"properties\": {\"type\": {\"type\": \"keyword\"}}}}},\n"
    "  \"process\": {\"properties\": {\n"
    "    \"name\": {\"type\": \"keyword\"},\n"
    "    \"pid\": {\"type\": \"long\"},\n"
    "    \"command_line\": {\"type\": \"wildcard\"},\n"
    "    \"parent\": {\"properties\": {\"name\": {\"type\": \"keyword\"}}}}}\n"
    "}}}\n";

static const char RULE[] = "process where host.os.type == \"windows\" and\n"
                           "  process.name : (\"powershell.exe\", \"pwsh.exe\") and\n"
                           "  process.command_line : \"* -enc*\" and process.pid > 1000";

enum { MAX_IDS = 32 };

typedef struct example {
    const char *os, *name, *command_line;
    long long pid;
    int want;
    const char *why;
} example;

static eqlite_value text(const char *s)
{
    eqlite_value v = {EQLITE_STRING, (uint32_t)strlen(s), {.s = s}};
    return v;
}

static int field(const eqlite_schema *schema, const char *name, uint32_t *id)
{
    return eqlite_schema_lookup(schema, name, strlen(name), id) == EQLITE_OK && *id < MAX_IDS;
}

/* Fills an event from `ex`; field ids come from the loaded mapping. */
static int build(const eqlite_schema *schema, const example *ex, eqlite_value *fields, eqlite_value *category)
{
    uint32_t cat, os, name, cmd, pid;
    if (!field(schema, "event.category", &cat) || !field(schema, "host.os.type", &os) ||
        !field(schema, "process.name", &name) || !field(schema, "process.command_line", &cmd) ||
        !field(schema, "process.pid", &pid))
        return 0;
    memset(fields, 0, MAX_IDS * sizeof *fields);
    *category = text("process");
    fields[cat] = (eqlite_value){EQLITE_ARRAY, 1, {.a = category}};
    fields[os] = text(ex->os);
    fields[name] = text(ex->name);
    fields[cmd] = text(ex->command_line);
    fields[pid] = (eqlite_value){EQLITE_INT, 0, {.i = ex->pid}};
    return 1;
}

static int run_examples(const eqlite_schema *schema, eqlite_matcher *m)
{
    static const example examples[] = {
        {"windows", "powershell.exe", "powershell.exe -nop -enc SQBFAFgA", 4242, 1, "encoded command"},
        {"windows", "PWSH.EXE", "pwsh -w hidden -EncodedCommand SQBFAFgA", 5000, 1, "other case, longer switch"},
        {"windows", "powershell.exe", "powershell.exe -File x.ps1", 4242, 0, "no -enc"},
        {"windows", "powershell.exe", "powershell.exe -enc SQBFAFgA", 900, 0, "pid compared as a number"},
        {"linux", "pwsh.exe", "pwsh -enc SQBFAFgA", 4242, 0, "not Windows"},
        {"windows", "cmd.exe", "cmd.exe /c powershell -enc SQBFAFgA", 4242, 0, "another process"},
    };
    int wrong = 0;
    for (size_t k = 0; k < sizeof examples / sizeof examples[0]; k++) {
        eqlite_value fields[MAX_IDS], category;
        if (!build(schema, &examples[k], fields, &category)) {
            printf("WRONG: a mapped field is missing from the schema\n");
            return 1;
        }
        eqlite_event ev = {fields, MAX_IDS, 0, {0}, NULL, NULL, 0};
        int hit = -1;
        if (eqlite_match(m, &ev, &hit) != EQLITE_OK || hit != examples[k].want) {
            printf("WRONG: %s: got %d, want %d\n", examples[k].why, hit, examples[k].want);
            wrong++;
        }
    }
    printf("mapping schema: %zu events, %d wrong\n", sizeof examples / sizeof examples[0], wrong);
    return wrong;
}

/* Not in the mapping and not written `?field`: the rule must be rejected. */
static int rejects_unmapped_field(eqlite_schema *schema)
{
    static const char bad[] = "process where process.nosuch == \"x\"";
    eqlite_program *prog = NULL;
    eqlite_diag diag;
    if (eqlite_compile(schema, bad, sizeof bad - 1, &prog, &diag) == EQLITE_OK) {
        printf("WRONG: a rule naming an unmapped field compiled\n");
        eqlite_program_free(prog);
        return 1;
    }
    printf("unmapped field rejected: %u:%u: %s\n", diag.line, diag.column, diag.message);
    return 0;
}

int main(void)
{
    eqlite_schema *schema = NULL;
    eqlite_program *prog = NULL;
    eqlite_matcher *m = NULL;
    eqlite_diag diag;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 1;
    if (eqlite_schema_load_mapping(schema, MAPPING, sizeof MAPPING - 1, &diag) != EQLITE_OK) {
        printf("mapping rejected: %s\n", diag.message);
        return 1;
    }
    if (eqlite_compile(schema, RULE, sizeof RULE - 1, &prog, &diag) != EQLITE_OK) {
        char buf[1024];
        eqlite_diag_format(&diag, RULE, sizeof RULE - 1, buf, sizeof buf);
        printf("compile error: %s\n", buf);
        return 1;
    }
    if (eqlite_matcher_new(prog, NULL, &m) != EQLITE_OK)
        return 1;
    int wrong = run_examples(schema, m) + rejects_unmapped_field(schema);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return wrong ? 1 : 0;
}
