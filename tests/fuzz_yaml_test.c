/* fuzz_yaml_test.c: libFuzzer target for the loader of `eqlite test` files
 * (cli/test_yaml.c): YAML parsing, the checks, and inline events to JSON.
 *
 * Built by meson with -Dfuzz=true (clang); scripts/fuzz.sh 600 yaml_test runs
 * it seeded from tests/fuzz-seeds/yaml_test. Both loaders (yt_load, and
 * yt_load_for_update of `eqlite test --update`) run. Every accepted file is walked so
 * that the sanitizers see each string the loader hands out; a rejected one
 * must carry "name:line:col: " before its message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/test_yaml.h"

static size_t touch(const char *s) { return s ? strlen(s) : 0; }

/* --update's loader: the places it would write are inside the file, in order. */
static void load_for_update(const uint8_t *data, size_t size)
{
    yt_file f;
    char err[1024];
    if (!yt_load_for_update((const char *)data, size, "fuzz.yaml", &f, err, sizeof err)) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0)
            abort();
        return;
    }
    for (size_t k = 0; k < f.ntests; k++) {
        const yt_place *pl = &f.tests[k].place;
        if (pl->insert_at > size || pl->expect_end > size || pl->expect_start > pl->expect_end)
            abort();
    }
    yt_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    yt_file f;
    char err[1024];
    load_for_update(data, size);
    if (!yt_load((const char *)data, size, "fuzz.yaml", &f, err, sizeof err)) {
        if (strncmp(err, "fuzz.yaml:", 10) != 0 || !strstr(err, ": "))
            abort(); /* every error is positioned */
        return 0;
    }
    size_t sum = 0;
    for (size_t k = 0; k < f.ntests; k++) {
        const yt_test *t = &f.tests[k];
        sum += touch(t->name) + touch(t->rule) + touch(t->query) + touch(t->id_field) + touch(t->category_field) +
               touch(t->timestamp_field) + touch(t->tiebreaker_field) + t->size + t->max_samples_per_key;
        for (size_t m = 0; m < t->nmappings; m++)
            sum += touch(t->mappings[m]);
        if (!t->rule && !t->query)
            abort(); /* the loader guarantees a rule and an expect */
        if (!t->expect || (!t->expect->has_count && !t->expect->ids))
            abort();
        for (size_t i = 0; i < t->expect->nids; i++)
            if (strlen(t->expect->ids[i].text) > t->expect->ids[i].len)
                abort();
        const yt_events *ev = t->events;
        for (size_t p = 0; ev && p < ev->npaths; p++)
            sum += touch(ev->paths[p]);
        if (ev && ev->ndjson && (ev->len == 0 || ev->ndjson[ev->len - 1] != '\n'))
            abort(); /* one JSON object per line */
    }
    yt_free(&f);
    return (int)(sum & 0);
}
