/* consumer.c: eqlite used from a meson subproject through its public
 * headers only: read NDJSON from memory, match a rule, check the count. */
#include <stdio.h>
#include <string.h>

#include "eqlite.h"
#include "eqlite_io.h"

static const char EVENTS[] =
    "{\"@timestamp\":\"2024-01-01T00:00:00Z\",\"event\":{\"category\":\"process\"},\"process\":{\"name\":\"cmd.exe\"}}\n"
    "{\"@timestamp\":\"2024-01-01T00:00:01Z\",\"event\":{\"category\":\"process\"},\"process\":{\"name\":\"calc.exe\"}}\n"
    "{\"@timestamp\":\"2024-01-01T00:00:02Z\",\"event\":{\"category\":\"file\"},\"process\":{\"name\":\"CMD.EXE\"}}\n";
static const char RULE[] = "process where process.name : \"cmd.exe\"";

int main(void)
{
    eqlite_schema *schema = NULL;
    eqlite_program *prog = NULL;
    eqlite_matcher *m = NULL;
    eqlite_reader *rd = NULL;
    eqlite_diag diag;
    char err[256] = "";
    int matches = 0, events = 0;
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK || eqlite_schema_load_ecs(schema) != EQLITE_OK ||
        eqlite_compile(schema, RULE, sizeof RULE - 1, &prog, &diag) != EQLITE_OK ||
        eqlite_matcher_new(prog, NULL, &m) != EQLITE_OK) {
        printf("setup failed\n");
        return 1;
    }
    eqlite_reader_options opt = {.schema = schema, .source = "none"};
    if (eqlite_reader_open_memory(EVENTS, sizeof EVENTS - 1, &opt, &rd, err, sizeof err) != EQLITE_OK) {
        printf("reader: %s\n", err);
        return 1;
    }
    eqlite_event ev;
    while (eqlite_reader_next(rd, &ev, NULL) == EQLITE_READ_EVENT) {
        int hit = 0;
        events++;
        if (eqlite_match(m, &ev, &hit) != EQLITE_OK)
            return 1;
        matches += hit;
    }
    eqlite_reader_close(rd);
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    printf("consumer: %d events, %d match\n", events, matches);
    return events == 3 && matches == 1 ? 0 : 1;
}
