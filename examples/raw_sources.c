/* raw_sources.c: embedding the intake library (libeqlite-io) — a C program
 * that hands over raw vendor records, lets the source profiles turn them into
 * ECS, and runs an Elastic rule on the eqlite_events it receives.
 *
 * A buffer with one record from each source (Sysmon as winlogbeat ships it,
 * Microsoft Defender XDR through Event Hub, SentinelOne Cloud Funnel, and an
 * Elastic Defend document) is read with --source auto semantics; each is a
 * cmd.exe started by a parent the rule lists, so each must match. A file
 * named on the command line (an .evtx, NDJSON, .gz) is read the same way and
 * its matches printed as ECS documents. Self-checking: exits 1 on a wrong
 * answer. */
#include <stdio.h>
#include <string.h>

#include "eqlite.h"
#include "eqlite_io.h"

static const char RULE[] =
    "process where host.os.type == \"windows\" and event.type == \"start\" and process.name : \"cmd.exe\" and\n"
    "  process.parent.name : (\"lsass.exe\", \"regsvr32.exe\", \"dllhost.exe\", \"WerFault.exe\", \"taskhostw.exe\") and\n"
    "  not (process.parent.name : \"dllhost.exe\" and\n"
    "       process.parent.args : \"/Processid:{CA8C87C1-929D-45BA-94DB-EF8E6CB346AD}\")";

static const char RECORDS[] =
    /* Sysmon event 1, winlogbeat's raw form */
    "{\"@timestamp\":\"2020-10-27T20:00:14.324Z\",\"winlog\":{\"channel\":\"Microsoft-Windows-Sysmon/Operational\","
    "\"event_id\":\"1\",\"provider_name\":\"Microsoft-Windows-Sysmon\",\"event_data\":{"
    "\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"ParentImage\":\"C:\\\\Windows\\\\System32\\\\lsass.exe\"}}}\n"
    /* Defender XDR, DeviceProcessEvents */
    "{\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{\"ActionType\":\"ProcessCreated\","
    "\"Timestamp\":\"2022-11-09T17:59:52.6266600Z\",\"FileName\":\"cmd.exe\","
    "\"FolderPath\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"InitiatingProcessFileName\":\"regsvr32.exe\"}}\n"
    /* SentinelOne Cloud Funnel, process creation (flat dotted keys) */
    "{\"event.time\":1664811149470,\"meta.event.name\":\"PROCESSCREATION\",\"event.category\":\"process\","
    "\"endpoint.os\":\"windows\",\"src.process.uid\":\"A\",\"src.process.name\":\"WerFault.exe\","
    "\"tgt.process.name\":\"cmd.exe\"}\n"
    /* Elastic Defend: ECS already */
    "{\"@timestamp\":\"2023-01-11T13:18:22.587Z\",\"event\":{\"category\":[\"process\"],\"type\":[\"start\"]},"
    "\"host\":{\"os\":{\"type\":\"windows\"}},\"process\":{\"name\":\"cmd.exe\",\"parent\":{\"name\":\"taskhostw.exe\"}}}\n";

/* Reads every record of one reader through the rule; returns the matches,
 * or -1 on a fatal read error. `print` writes each match's ECS document. */
static int run(eqlite_reader *rd, eqlite_matcher *m, int print, const char **sources, int nsources)
{
    int hits = 0, n = 0;
    eqlite_event ev;
    eqlite_record rec;
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        if (k == EQLITE_READ_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            return -1;
        }
        if (k == EQLITE_READ_BAD) { /* reported and skipped, never fatal */
            fprintf(stderr, "%s:%llu: %s\n", rec.file, (unsigned long long)rec.number, rec.reason);
            continue;
        }
        int matched = 0;
        if (eqlite_match(m, &ev, &matched) != EQLITE_OK)
            return -1;
        if (n < nsources)
            sources[n] = strcmp(rec.source, sources[n]) == 0 ? sources[n] : NULL; /* NULL = wrong profile */
        n++;
        if (matched) {
            hits++;
            const char *text; /* lazy_text: a converted record's ECS text is written only now */
            size_t len;
            if (print && eqlite_reader_text(rd, &text, &len) == EQLITE_OK)
                printf("%.*s\n", (int)len, text);
        }
    }
    return hits;
}

int main(int argc, char **argv)
{
    eqlite_schema *schema = NULL;
    eqlite_program *prog = NULL;
    eqlite_matcher *m = NULL;
    eqlite_diag diag;
    /* ECS field types (so a keyword holding a number compares as text), then
     * the fields the rule reads. */
    if (eqlite_schema_new(NULL, &schema) != EQLITE_OK || eqlite_schema_load_ecs(schema) != EQLITE_OK ||
        eqlite_compile(schema, RULE, sizeof RULE - 1, &prog, &diag) != EQLITE_OK ||
        eqlite_matcher_new(prog, NULL, &m) != EQLITE_OK) {
        fprintf(stderr, "raw_sources: setup failed\n");
        return 1;
    }
    eqlite_reader_options opt = {.schema = schema, .source = "auto", .lazy_text = 1};
    eqlite_reader *rd = NULL;
    char err[256];
    int status = 0;
    if (eqlite_reader_open_memory(RECORDS, sizeof RECORDS - 1, &opt, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "raw_sources: %s\n", err);
        return 1;
    }
    const char *want[] = {"windows", "m365-defender", "sentinelone-cloud-funnel", "ecs"};
    const char *seen[] = {"windows", "m365-defender", "sentinelone-cloud-funnel", "ecs"};
    int hits = run(rd, m, 0, seen, 4);
    eqlite_reader_close(rd);
    if (hits != 4) {
        fprintf(stderr, "raw_sources: %d of 4 records matched\n", hits);
        status = 1;
    }
    for (int i = 0; i < 4; i++)
        if (!seen[i]) {
            fprintf(stderr, "raw_sources: record %d was not taken by the %s profile\n", i + 1, want[i]);
            status = 1;
        }
    for (int i = 1; i < argc; i++) { /* any file: EVTX, NDJSON, JSON array, .gz */
        opt.display_name = argv[i];
        if (eqlite_reader_open_path(argv[i], &opt, &rd, err, sizeof err) != EQLITE_OK) {
            fprintf(stderr, "raw_sources: %s\n", err);
            status = 1;
            continue;
        }
        if (run(rd, m, 1, NULL, 0) < 0)
            status = 1;
        eqlite_reader_close(rd);
    }
    eqlite_matcher_free(m);
    eqlite_program_free(prog);
    eqlite_schema_free(schema);
    return status;
}
