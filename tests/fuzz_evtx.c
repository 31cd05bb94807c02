/* fuzz_evtx.c: libFuzzer target for the EVTX reader (libevtx underneath,
 * records rendered to winlogbeat's JSON, then the windows profile).
 *
 * Built by meson with -Dfuzz=true (scripts/fuzz.sh evtx). The input is made to
 * start with the EVTX signature so every run reaches the EVTX path; each
 * record's ECS document and projected values are walked. A corrupt file or
 * record must come back as a bad record or an open error, never a crash.
 * libevtx itself runs in a child process (lib/io/evtx_process.h): its
 * crashes end the child and come back as bad records too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/ndjson.h"
#include "io/profile.h"

static const char *const names[] = {"process.name", "process.parent.name", "process.args", "event.type",
                                    "host.os.type", "winlog.event_data.Image", "@timestamp"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eq_profiles *profiles;
    if (!profiles && eq_profiles_new(&profiles, NULL, 0) != EQLITE_OK)
        abort();
    if (size < 8 || size > (1u << 22))
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    memcpy(copy, "ElfFile", 8);
    eq_ndjson_field fields[sizeof names / sizeof *names];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        fields[i] = (eq_ndjson_field){names[i], strlen(names[i]), (uint32_t)i};
    eq_ndjson_options o = {.fields = fields, .nfields = sizeof names / sizeof *names, .profiles = profiles,
                           .source = EQ_NDJSON_SOURCE_AUTO};
    eq_ndjson *r = NULL;
    if (eq_ndjson_open_memory(copy, size, &o, &r, NULL, 0) == EQLITE_OK) {
        eqlite_event ev;
        eq_ndjson_record rec;
        uint64_t h = 0;
        for (int st; (st = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && st != EQ_NDJSON_FATAL;) {
            h += strlen(rec.reason);
            if (st == EQ_NDJSON_EVENT)
                for (size_t i = 0; i < rec.len; i++)
                    h += (unsigned char)rec.text[i];
        }
        eq_ndjson_close(r);
        if (h == 42)
            __asm__ volatile("" ::: "memory");
    }
    free(copy);
    return 0;
}
