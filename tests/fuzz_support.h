/* fuzz_support.h: what the run, ruleset and mapping fuzz targets share: a
 * reader over fuzzed NDJSON whose projection is every field of the schema. */
#ifndef EQ_FUZZ_SUPPORT_H
#define EQ_FUZZ_SUPPORT_H

#define _GNU_SOURCE /* memmem */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqlite.h"
#include "io/ndjson.h"

/* Splits data at the first "\n\n" line pair: head (a rule, a mapping) and
 * tail (NDJSON events). No separator: everything is head. */
static inline void fuzz_split(const uint8_t *data, size_t size, size_t *head, const uint8_t **tail,
                              size_t *tail_len)
{
    const uint8_t *sep = size >= 2 ? memmem(data, size, "\n\n", 2) : NULL;
    *head = sep ? (size_t)(sep - data) : size;
    *tail = sep ? sep + 2 : data + size;
    *tail_len = sep ? size - *head - 2 : 0;
}

/* Opens a reader over text projecting every schema field (NULL on failure);
 * *fields must be freed after the reader is closed. Small blocks and a short
 * line limit make records cross block boundaries. */
static inline eq_ndjson *fuzz_reader(const eqlite_schema *schema, const uint8_t *text, size_t len,
                                     eq_ndjson_field **fields)
{
    size_t n = eqlite_schema_field_count(schema);
    *fields = calloc(n + 1, sizeof **fields);
    if (!*fields)
        return NULL;
    for (uint32_t id = 0; id < n; id++) {
        const char *name = eqlite_schema_field_name(schema, id, NULL);
        (*fields)[id] = (eq_ndjson_field){name, strlen(name), id};
    }
    eq_ndjson_options o;
    memset(&o, 0, sizeof o);
    o.fields = *fields;
    o.nfields = n;
    o.timestamp_field = "@timestamp";
    o.timestamp_len = 10;
    o.tiebreaker_field = "event.sequence";
    o.tiebreaker_len = 14;
    o.max_line = 4096;
    o.block_size = 512;
    eq_ndjson *r = NULL;
    if (eq_ndjson_open_memory(text, len, &o, &r, NULL, 0) != EQLITE_OK)
        return NULL;
    return r;
}

/* Walks every value the engine hands back, so the sanitizers see them. */
static inline uint64_t fuzz_touch(const eqlite_value *v)
{
    uint64_t h = v ? v->kind : 0;
    if (v && v->kind == EQLITE_STRING)
        for (uint32_t i = 0; i < v->len; i++)
            h = h * 31 + (unsigned char)v->u.s[i];
    if (v && v->kind == EQLITE_ARRAY)
        for (uint32_t i = 0; i < v->len; i++)
            h += fuzz_touch(&v->u.a[i]);
    return h;
}

static inline int fuzz_on_result(void *user, const eqlite_result *r)
{
    uint64_t *h = user;
    for (size_t k = 0; k < r->nevents; k++)
        *h += r->events[k] ? (uint64_t)r->events[k]->timestamp : 1;
    for (size_t k = 0; k < r->nkeys; k++)
        *h += fuzz_touch(&r->keys[k]);
    return 0;
}

#endif
