/* reference_rule.c: embedding eqlite the way an endpoint agent does.
 *
 * Declare the event fields once, compile Elastic's rule "Unusual Parent
 * Process for cmd.exe" (3b47900d-e793-49e8-968f-c90dc3526aa1, the query of
 * examples/rules/unusual-cmd-parent.eql), then feed events built as C
 * structs. Self-checking: every listed parent must hit, the dllhost
 * exclusion and non-Windows / non-start events must not; exits 1 on any
 * wrong answer. */
#include <stdio.h>
#include <string.h>

#include "eqlite.h"

static const char RULE[] =
    "process where host.os.type == \"windows\" and event.type == \"start\" and\n"
    "  process.name : \"cmd.exe\" and\n"
    "  process.parent.name : (\"lsass.exe\",\n"
    "                         \"csrss.exe\",\n"
    "                         \"epad.exe\",\n"
    "                         \"regsvr32.exe\",\n"
    "                         \"dllhost.exe\",\n"
    "                         \"LogonUI.exe\",\n"
    "                         \"wermgr.exe\",\n"
    "                         \"spoolsv.exe\",\n"
    "                         \"jucheck.exe\",\n"
    "                         \"jusched.exe\",\n"
    "                         \"ctfmon.exe\",\n"
    "                         \"taskhostw.exe\",\n"
    "                         \"GoogleUpdate.exe\",\n"
    "                         \"sppsvc.exe\",\n"
    "                         \"sihost.exe\",\n"
    "                         \"slui.exe\",\n"
    "                         \"SIHClient.exe\",\n"
    "                         \"SearchIndexer.exe\",\n"
    "                         \"SearchProtocolHost.exe\",\n"
    "                         \"FlashPlayerUpdateService.exe\",\n"
    "                         \"WerFault.exe\",\n"
    "                         \"WUDFHost.exe\",\n"
    "                         \"unsecapp.exe\",\n"
    "                         \"wlanext.exe\" ) and\n"
    "  not (process.parent.name : \"dllhost.exe\" and process.parent.args : "
    "\"/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}\")\n";

static const char *const PARENTS[] = {
    "lsass.exe",   "csrss.exe",     "epad.exe",         "regsvr32.exe",       "dllhost.exe",
    "LogonUI.exe", "wermgr.exe",    "spoolsv.exe",      "jucheck.exe",        "jusched.exe",
    "ctfmon.exe",  "taskhostw.exe", "GoogleUpdate.exe", "sppsvc.exe",         "sihost.exe",
    "slui.exe",    "SIHClient.exe", "SearchIndexer.exe", "SearchProtocolHost.exe",
    "FlashPlayerUpdateService.exe", "WerFault.exe", "WUDFHost.exe", "unsecapp.exe", "wlanext.exe",
};

/* The agent's fields, declared once; the ids index eqlite_event.fields. */
enum { CATEGORY, TYPE, OS, NAME, PARENT_NAME, PARENT_ARGS, NFIELDS, MAX_IDS = 16 };
static const char *const FIELDS[NFIELDS] = {"event.category",      "event.type",
                                            "host.os.type",        "process.name",
                                            "process.parent.name", "process.parent.args"};

/* One process event as an agent would describe it; NULL = field missing. */
typedef struct process_event {
    const char *category, *type, *os, *name, *parent, *parent_arg;
} process_event;

static eqlite_value text(const char *s)
{
    eqlite_value v = {EQLITE_NULL, 0, {0}};
    if (s) {
        v.kind = EQLITE_STRING;
        v.len = (uint32_t)strlen(s);
        v.u.s = s;
    }
    return v;
}

/* Normalizes `pe` into `fields` (ECS arrays for category, type and args). */
static eqlite_event normalize(const process_event *pe, const uint32_t *ids, eqlite_value *fields,
                              eqlite_value *elements)
{
    for (int k = 0; k < MAX_IDS; k++)
        fields[k] = (eqlite_value){EQLITE_NULL, 0, {0}};
    elements[0] = text(pe->category);
    elements[1] = text(pe->type);
    elements[2] = text("C:\\Windows\\System32\\dllhost.exe");
    elements[3] = text(pe->parent_arg);
    fields[ids[CATEGORY]] = (eqlite_value){EQLITE_ARRAY, 1, {.a = &elements[0]}};
    fields[ids[TYPE]] = (eqlite_value){EQLITE_ARRAY, 1, {.a = &elements[1]}};
    fields[ids[OS]] = text(pe->os);
    fields[ids[NAME]] = text(pe->name);
    fields[ids[PARENT_NAME]] = text(pe->parent);
    if (pe->parent)
        fields[ids[PARENT_ARGS]] = (eqlite_value){EQLITE_ARRAY, pe->parent_arg ? 2u : 1u, {.a = &elements[2]}};
    eqlite_event ev = {fields, MAX_IDS, 0, {0}, NULL, NULL, 0};
    return ev;
}

static int failures;

static void expect(eqlite_matcher *m, const uint32_t *ids, const process_event *pe, int want, const char *why)
{
    eqlite_value fields[MAX_IDS], elements[4];
    eqlite_event ev = normalize(pe, ids, fields, elements);
    int hit = -1;
    eqlite_status st = eqlite_match(m, &ev, &hit);
    if (st != EQLITE_OK || hit != want) {
        printf("WRONG: %s (parent %s): got %s, want %s\n", why, pe->parent ? pe->parent : "(none)",
               st != EQLITE_OK ? eqlite_strerror(st) : hit ? "match" : "no match", want ? "match" : "no match");
        failures++;
    }
}

static const char EXCLUDED[] = "/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}";

static int check(eqlite_matcher *m, const uint32_t *ids)
{
    int cases = 0;
    for (size_t k = 0; k < sizeof PARENTS / sizeof PARENTS[0]; k++, cases++)
        expect(m, ids, &(process_event){"process", "start", "windows", "cmd.exe", PARENTS[k], NULL}, 1,
               "listed parent");
    const struct {
        process_event ev;
        int want;
        const char *why;
    } more[] = {
        {{"process", "start", "windows", "cmd.exe", "dllhost.exe", EXCLUDED}, 0, "dllhost exclusion"},
        {{"process", "start", "windows", "cmd.exe", "DllHost.exe", "/processid:{ca8c87c1-929d-45ba-94db-ef8e6cb346ad}"},
         0, "dllhost exclusion, other case"},
        {{"process", "start", "windows", "cmd.exe", "dllhost.exe", "/Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}"},
         1, "dllhost with another class id"},
        {{"process", "start", "windows", "CMD.EXE", "LSASS.EXE", NULL}, 1, "upper case"},
        {{"process", "start", "windows", "Cmd.Exe", "logonui.exe", NULL}, 1, "mixed case"},
        {{"process", "start", "linux", "cmd.exe", "lsass.exe", NULL}, 0, "not Windows"},
        {{"process", "start", "Windows", "cmd.exe", "lsass.exe", NULL}, 0, "== is case-sensitive"},
        {{"process", "start", NULL, "cmd.exe", "lsass.exe", NULL}, 0, "no host.os.type"},
        {{"process", "end", "windows", "cmd.exe", "lsass.exe", NULL}, 0, "not a start event"},
        {{"network", "start", "windows", "cmd.exe", "lsass.exe", NULL}, 0, "not a process event"},
        {{"process", "start", "windows", "cmd.exe", "explorer.exe", NULL}, 0, "usual parent"},
        {{"process", "start", "windows", "cmd.exe", "lsass.exe.bak", NULL}, 0, "near-miss parent"},
        {{"process", "start", "windows", "cmd.exe.bak", "lsass.exe", NULL}, 0, "near-miss process name"},
        {{"process", "start", "windows", "cmd.exe", NULL, NULL}, 0, "no parent"},
    };
    for (size_t k = 0; k < sizeof more / sizeof more[0]; k++, cases++)
        expect(m, ids, &more[k].ev, more[k].want, more[k].why);
    return cases;
}

int main(void)
{
    eqlite_schema *schema = NULL;
    eqlite_program *prog = NULL;
    eqlite_matcher *m = NULL;
    eqlite_diag diag;
    uint32_t ids[NFIELDS];
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 1;
    for (int k = 0; k < NFIELDS; k++)
        if (eqlite_schema_add(schema, FIELDS[k], strlen(FIELDS[k]), EQLITE_T_KEYWORD, &ids[k]) != EQLITE_OK ||
            ids[k] >= MAX_IDS)
            return 1;
    if (eqlite_compile(schema, RULE, sizeof RULE - 1, &prog, &diag) != EQLITE_OK) {
        char buf[1024];
        eqlite_diag_format(&diag, RULE, sizeof RULE - 1, buf, sizeof buf);
        printf("compile error: %s\n", buf);
        return 1;
    }
    if (eqlite_matcher_new(prog, NULL, &m) != EQLITE_OK)
        return 1;
    int cases = check(m, ids);
    printf("reference rule: %d cases, %d wrong\n", cases, failures);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return failures ? 1 : 0;
}
