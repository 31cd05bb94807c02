/* fuzz_profiles.c: libFuzzer target for the source profiles.
 *
 * Built by meson with -Dfuzz=true (scripts/fuzz.sh profiles). An input that
 * starts with "profile " is a profile file: it is parsed and, when valid, run
 * over a fixed raw record. Any other input is raw records (NDJSON) run through
 * every built-in profile in turn (forced) and through detection; the ECS
 * document each makes must parse again (the reader re-reads it) and every
 * projected value is walked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/ndjson.h"
#include "io/profile.h"

static const char *const names[] = {"process.name", "process.parent.name", "process.args", "process.args_count",
                                    "event.type", "event.category", "host.os.type", "user.name", "@timestamp",
                                    "related.user", "process.pid"};

static void read_all(const eq_profiles *p, int source, const void *data, size_t size)
{
    eq_ndjson_field fields[sizeof names / sizeof *names];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        fields[i] = (eq_ndjson_field){names[i], strlen(names[i]), (uint32_t)i};
    eq_ndjson_options o = {.fields = fields, .nfields = sizeof names / sizeof *names, .profiles = p, .source = source};
    eq_ndjson *r = NULL;
    if (eq_ndjson_open_memory(data, size, &o, &r, NULL, 0) != EQLITE_OK)
        return;
    eqlite_event ev;
    eq_ndjson_record rec;
    uint64_t h = 0;
    for (int st; (st = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && st != EQ_NDJSON_FATAL;)
        for (size_t i = 0; st == EQ_NDJSON_EVENT && i < ev.nfields; i++)
            if (ev.fields[i].kind == EQLITE_STRING)
                for (uint32_t k = 0; k < ev.fields[i].len; k++)
                    h += (unsigned char)ev.fields[i].u.s[k];
    eq_ndjson_close(r);
    if (h == 42)
        __asm__ volatile("" ::: "memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static eq_profiles *builtin;
    if (!builtin && eq_profiles_new(&builtin, NULL, 0) != EQLITE_OK)
        abort();
    if (size > 65536)
        return 0;
    if (size >= 8 && !memcmp(data, "profile ", 8)) {
        eq_profiles *p = NULL;
        if (eq_profiles_new_empty(&p) != EQLITE_OK)
            abort();
        char err[256];
        if (eq_profiles_add(p, (const char *)data, size, "fuzz", err, sizeof err) == EQLITE_OK) {
            static const char rec[] =
                "{\"a\":{\"b\":\"C:\\\\x\\\\y.exe -k \\\"z w\\\"\"},\"n\":5,\"l\":[1,\"2\",null],\"t\":\"2020-01-01 00:00:00.000\","
                "\"j\":\"{\\\"k\\\":[1]}\",\"u\":\"D\\\\u\",\"h\":\"SHA1=AB,MD5=CD\"}\n";
            for (int s = -1; s < (int)eq_profiles_count(p); s++)
                read_all(p, s, rec, sizeof rec - 1);
        }
        eq_profiles_free(p);
        return 0;
    }
    read_all(builtin, EQ_NDJSON_SOURCE_AUTO, data, size);
    for (int s = 0; s < (int)eq_profiles_count(builtin); s++)
        read_all(builtin, s, data, size);
    return 0;
}
