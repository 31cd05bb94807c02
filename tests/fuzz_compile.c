/* libFuzzer target for the compile entry point: any bytes must end in a
 * program or a diagnostic, never a crash, a hang or a leak. Even inputs are
 * compiled against a growing schema, odd ones against a fixed one. */
#include <stdint.h>
#include <string.h>

#include "eqlite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eqlite_schema *schema;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK)
        return 0;
    eqlite_schema_add(schema, "event.category", 14, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_add(schema, "process.name", 12, EQLITE_T_KEYWORD, NULL);
    eqlite_schema_add(schema, "pid", 3, EQLITE_T_LONG, NULL);
    eqlite_schema_set_grow(schema, size % 2 == 0);
    eqlite_program *prog = NULL;
    eqlite_diag diag;
    if (eqlite_compile(schema, (const char *)data, size, &prog, &diag) == EQLITE_OK) {
        char buf[256];
        eqlite_program_explain(prog, buf, sizeof buf, NULL);
        eqlite_matcher *m;
        if (eqlite_matcher_new(prog, NULL, &m) == EQLITE_OK) {
            eqlite_value fields[3] = {{EQLITE_STRING, 7, {.s = "process"}}, {EQLITE_STRING, 7, {.s = "cmd.exe"}},
                                      {EQLITE_INT, 0, {.i = 4}}};
            eqlite_event ev = {fields, 3, 0, {0}, NULL};
            eqlite_feed(m, &ev, NULL, NULL);
            eqlite_flush(m, NULL, NULL);
            eqlite_matcher_free(m);
        }
    } else {
        char buf[1024];
        eqlite_diag_format(&diag, (const char *)data, size, buf, sizeof buf);
    }
    size_t need = 0;
    eqlite_format((const char *)data, size, NULL, 0, &need, NULL);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return 0;
}
