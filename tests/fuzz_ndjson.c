/* fuzz_ndjson.c: libFuzzer target for the NDJSON / JSON-array / gzip reader.
 *
 * Built by meson with -Dfuzz=true (clang), or by hand:
 *   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -Iinclude -Ilib \
 *           -c lib/ndjson/ndjson.cpp -o ndjson.o
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib -c tests/fuzz_ndjson.c -o fuzz.o
 *   clang++ -fsanitize=fuzzer,address,undefined fuzz.o ndjson.o -lsimdjson -lz -o fuzz_ndjson
 *   ./fuzz_ndjson -max_len=8192 CORPUS_DIR
 *
 * The input is read from memory (cut in place) and from a descriptor (through
 * the block buffer, gzip detection included) with a projection of nested,
 * dotted and array-valued names, a timestamp and a tiebreaker; every event is
 * walked so that the sanitizers see each value the reader hands out. A small block size
 * and line limit make records cross block boundaries and hit the limit. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/ndjson.h"

static const char *const names[] = {"a", "a.b", "a.b.c", "x.a", "process.name", "event.type", "", "a..b"};

static uint64_t touch_value(const eqlite_value *v)
{
    uint64_t h = v->kind;
    switch (v->kind) {
    case EQLITE_STRING:
        for (uint32_t i = 0; i < v->len; i++)
            h = h * 31 + (unsigned char)v->u.s[i];
        break;
    case EQLITE_ARRAY:
        for (uint32_t i = 0; i < v->len; i++) {
            if (v->u.a[i].kind == EQLITE_ARRAY)
                __builtin_trap(); /* arrays are flat */
            h += touch_value(&v->u.a[i]);
        }
        break;
    case EQLITE_INT:
        h += (uint64_t)v->u.i;
        break;
    case EQLITE_BOOL:
        h += (uint64_t)v->u.b;
        break;
    default:
        break;
    }
    return h;
}

static uint64_t drain(eq_ndjson *r)
{
    uint64_t h = 0;
    eqlite_event ev;
    eq_ndjson_record rec;
    int st;
    while ((st = eq_ndjson_next(r, &ev, &rec)) != EQ_NDJSON_EOF && st != EQ_NDJSON_FATAL) {
        h += strlen(rec.reason) + rec.line;
        if (st != EQ_NDJSON_EVENT)
            continue;
        for (size_t i = 0; i < ev.nfields; i++)
            h += touch_value(&ev.fields[i]);
        h += touch_value(&ev.tiebreaker) + (uint64_t)ev.timestamp;
        for (size_t i = 0; i < rec.len; i++)
            h += (unsigned char)rec.text[i];
    }
    return h;
}

static void read_all(const uint8_t *data, size_t size, const eq_ndjson_options *o)
{
    eq_ndjson *r;
    if (eq_ndjson_open_memory(data, size, o, &r, NULL, 0) != EQLITE_OK)
        return;
    volatile uint64_t sink = drain(r);
    (void)sink;
    eq_ndjson_close(r);
}

static void read_all_fd(const uint8_t *data, size_t size, const eq_ndjson_options *o)
{
    int fd = memfd_create("fuzz_ndjson", 0);
    if (fd < 0)
        return;
    if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
        eq_ndjson *r;
        if (eq_ndjson_open_fd(fd, o, &r, NULL, 0) == EQLITE_OK) {
            volatile uint64_t sink = drain(r);
            (void)sink;
            eq_ndjson_close(r);
        }
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    eq_ndjson_field fields[sizeof names / sizeof *names];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        fields[i] = (eq_ndjson_field){names[i], strlen(names[i]), (uint32_t)i};
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = fields;
    o.nfields = sizeof names / sizeof *names;
    o.tiebreaker_field = "a.b";
    o.tiebreaker_len = 3;
    o.block_size = 64;
    o.max_line = 4096;
    read_all(data, size, &o); /* no timestamp: every good record is an event */
    read_all_fd(data, size, &o);

    o.timestamp_field = "@timestamp";
    o.timestamp_len = 10;
    read_all(data, size, &o);

    eq_ndjson *r; /* the parse floor walks the same splitter */
    if (eq_ndjson_open_memory(data, size, &o, &r, NULL, 0) == EQLITE_OK) {
        uint64_t valid, bad;
        eq_ndjson_parse_only(r, &valid, &bad);
        eq_ndjson_close(r);
    }
    return 0;
}
