/* schema.c: the field dictionary that compiled programs and events share. */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

eqlite_status eqlite_schema_new(const eqlite_allocator *alloc, eqlite_schema **out)
{
    if (!out)
        return EQLITE_EMISUSE;
    *out = NULL;
    if (!alloc)
        alloc = eq_default_allocator();
    eqlite_schema *s = eq_malloc(alloc, sizeof *s);
    if (!s)
        return EQLITE_ENOMEM;
    memset(s, 0, sizeof *s);
    s->alloc = alloc;
    if (eqlite_schema_set_category_field(s, "event.category", 14) != EQLITE_OK ||
        eqlite_schema_set_timestamp_field(s, "@timestamp", 10) != EQLITE_OK) {
        eqlite_schema_free(s);
        return EQLITE_ENOMEM;
    }
    *out = s;
    return EQLITE_OK;
}

void eqlite_schema_free(eqlite_schema *s)
{
    if (!s)
        return;
    for (uint32_t k = 0; k < s->nfields; k++)
        eq_free(s->alloc, s->fields[k].name);
    eq_free(s->alloc, s->fields);
    eq_free(s->alloc, s->slots);
    eq_free(s->alloc, s->category_field);
    eq_free(s->alloc, s->timestamp_field);
    eq_free(s->alloc, s->tiebreaker_field);
    eq_free(s->alloc, s);
}

static uint32_t *find_slot(const eqlite_schema *s, const char *name, size_t len)
{
    if (!s->nslots)
        return NULL;
    uint32_t mask = s->nslots - 1;
    for (uint32_t h = (uint32_t)eq_hash(name, len) & mask;; h = (h + 1) & mask) {
        uint32_t *slot = &s->slots[h];
        if (*slot == 0)
            return slot;
        const eq_field *f = &s->fields[*slot - 1];
        if (f->len == len && memcmp(f->name, name, len) == 0)
            return slot;
    }
}

static bool rehash(eqlite_schema *s)
{
    uint32_t n = s->nslots ? s->nslots * 2 : 64;
    uint32_t *slots = eq_malloc(s->alloc, n * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0, n * sizeof *slots);
    eq_free(s->alloc, s->slots);
    s->slots = slots;
    s->nslots = n;
    for (uint32_t k = 0; k < s->nfields; k++)
        *find_slot(s, s->fields[k].name, s->fields[k].len) = k + 1;
    return true;
}

static eqlite_status insert(eqlite_schema *s, const char *name, size_t len, eqlite_type type,
                            bool alias, uint32_t target, uint32_t *id_out)
{
    if (!s || !name || len == 0 || len > 65535)
        return EQLITE_EMISUSE;
    uint32_t *slot = find_slot(s, name, len);
    if (slot && *slot) {
        eq_field *f = &s->fields[*slot - 1];
        if (f->type == EQLITE_T_UNKNOWN && !f->is_alias)
            f->type = type;
        if (id_out)
            *id_out = f->target;
        return EQLITE_OK;
    }
    if ((s->nfields + 1) * 2 > s->nslots && !rehash(s))
        return EQLITE_ENOMEM;
    if (s->nfields == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 32;
        eq_field *f = eq_realloc(s->alloc, s->fields, cap * sizeof *f);
        if (!f)
            return EQLITE_ENOMEM;
        s->fields = f;
        s->cap = cap;
    }
    eq_field *f = &s->fields[s->nfields];
    f->name = eq_malloc(s->alloc, len + 1);
    if (!f->name)
        return EQLITE_ENOMEM;
    memcpy(f->name, name, len);
    f->name[len] = 0;
    f->len = (uint32_t)len;
    f->type = type;
    f->is_alias = alias;
    f->target = alias ? target : s->nfields;
    *find_slot(s, name, len) = ++s->nfields;
    if (id_out)
        *id_out = f->target;
    return EQLITE_OK;
}

eqlite_status eqlite_schema_add(eqlite_schema *s, const char *name, size_t len, eqlite_type type,
                                uint32_t *id_out)
{
    return insert(s, name, len, type, false, 0, id_out);
}

eqlite_status eqlite_schema_add_alias(eqlite_schema *s, const char *name, size_t len,
                                      const char *target, size_t tlen)
{
    if (!s || !target || !name)
        return EQLITE_EMISUSE;
    int32_t t = eq_schema_find(s, target, tlen);
    if (t < 0)
        return EQLITE_ENOTFOUND;
    return insert(s, name, len, s->fields[t].type, true, (uint32_t)t, NULL);
}

int32_t eq_schema_find(const eqlite_schema *s, const char *name, size_t len)
{
    uint32_t *slot = find_slot(s, name, len);
    if (!slot || !*slot)
        return -1;
    return (int32_t)s->fields[*slot - 1].target;
}

bool eq_schema_text_has_keyword(const eqlite_schema *s, uint32_t id)
{
    const eq_field *f = &s->fields[id];
    for (uint32_t k = 0; k < s->nfields; k++) {
        const eq_field *g = &s->fields[k];
        if (g->len > f->len + 1 && memcmp(g->name, f->name, f->len) == 0 && g->name[f->len] == '.' &&
            memchr(g->name + f->len + 1, '.', g->len - f->len - 1) == NULL &&
            (g->type == EQLITE_T_KEYWORD || g->type == EQLITE_T_WILDCARD ||
             g->type == EQLITE_T_CONSTANT_KEYWORD))
            return true;
    }
    return false;
}

void eqlite_schema_set_grow(eqlite_schema *s, int grow)
{
    if (s)
        s->grow = grow != 0;
}

int eqlite_schema_grows(const eqlite_schema *s) { return s && s->grow; }

void eqlite_schema_set_suggestions(eqlite_schema *s, int suggest)
{
    if (s)
        s->no_suggestions = suggest == 0;
}

static eqlite_status set_name(eqlite_schema *s, char **slot, const char *name, size_t len)
{
    if (!s || (!name && len)) /* (NULL, 0) clears the role */
        return EQLITE_EMISUSE;
    char *copy = NULL;
    if (name && len) {
        copy = eq_malloc(s->alloc, len + 1);
        if (!copy)
            return EQLITE_ENOMEM;
        memcpy(copy, name, len);
        copy[len] = 0;
    }
    eq_free(s->alloc, *slot);
    *slot = copy;
    return EQLITE_OK;
}

eqlite_status eqlite_schema_set_category_field(eqlite_schema *s, const char *name, size_t len)
{
    return s ? set_name(s, &s->category_field, name, len) : EQLITE_EMISUSE;
}

eqlite_status eqlite_schema_set_timestamp_field(eqlite_schema *s, const char *name, size_t len)
{
    return s ? set_name(s, &s->timestamp_field, name, len) : EQLITE_EMISUSE;
}

eqlite_status eqlite_schema_set_tiebreaker_field(eqlite_schema *s, const char *name, size_t len)
{
    return s ? set_name(s, &s->tiebreaker_field, name, len) : EQLITE_EMISUSE;
}

eqlite_status eqlite_schema_lookup(const eqlite_schema *s, const char *name, size_t len,
                                   uint32_t *id_out)
{
    if (!s || !name)
        return EQLITE_EMISUSE;
    int32_t id = eq_schema_find(s, name, len);
    if (id < 0)
        return EQLITE_ENOTFOUND;
    if (id_out)
        *id_out = (uint32_t)id;
    return EQLITE_OK;
}

size_t eqlite_schema_field_count(const eqlite_schema *s) { return s ? s->nfields : 0; }

const char *eqlite_type_name(eqlite_type type)
{
    static const char *const names[] = {
        [EQLITE_T_UNKNOWN] = "unknown",       [EQLITE_T_KEYWORD] = "keyword",   [EQLITE_T_WILDCARD] = "wildcard",
        [EQLITE_T_CONSTANT_KEYWORD] = "constant_keyword", [EQLITE_T_TEXT] = "text", [EQLITE_T_LONG] = "long",
        [EQLITE_T_INTEGER] = "integer",       [EQLITE_T_SHORT] = "short",       [EQLITE_T_BYTE] = "byte",
        [EQLITE_T_DOUBLE] = "double",         [EQLITE_T_FLOAT] = "float",       [EQLITE_T_HALF_FLOAT] = "half_float",
        [EQLITE_T_SCALED_FLOAT] = "scaled_float", [EQLITE_T_BOOLEAN] = "boolean", [EQLITE_T_IP] = "ip",
        [EQLITE_T_DATE] = "date",             [EQLITE_T_DATE_NANOS] = "date_nanos", [EQLITE_T_VERSION] = "version",
        [EQLITE_T_OBJECT] = "object",
    };
    return (unsigned)type < sizeof names / sizeof *names && names[type] ? names[type] : "unknown";
}

const char *eqlite_schema_field_name(const eqlite_schema *s, uint32_t id, eqlite_type *type_out)
{
    if (!s || id >= s->nfields)
        return NULL;
    if (type_out)
        *type_out = s->fields[id].type;
    return s->fields[id].name;
}
