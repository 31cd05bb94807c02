/* schema.h: field names -> dense ids and types (internal view). */
#ifndef EQ_SCHEMA_H
#define EQ_SCHEMA_H

#include <stdbool.h>

#include "arena.h"
#include "eqlite.h"

typedef struct eq_field {
    char *name;
    uint32_t len;
    uint32_t target; /* own id, or the id an alias resolves to */
    eqlite_type type;
    bool is_alias;
} eq_field;

struct eqlite_schema {
    const eqlite_allocator *alloc;
    eq_field *fields;
    uint32_t nfields, cap;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    uint32_t nslots;
    bool grow;
    bool no_suggestions; /* "Unknown column [x]" without "did you mean" */
    char *category_field, *timestamp_field, *tiebreaker_field;
};

/* Resolves aliases: returns the id of the real field or -1. */
int32_t eq_schema_find(const eqlite_schema *s, const char *name, size_t len);
/* True if a text field has a keyword sub-field (name.<sub> of keyword type). */
bool eq_schema_text_has_keyword(const eqlite_schema *s, uint32_t id);

#endif
