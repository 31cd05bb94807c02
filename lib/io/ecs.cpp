// ecs.cpp: the Elastic Common Schema as a schema (eqlite_schema_load_ecs):
// the type of every ECS field, so that values compare as Elasticsearch
// indexes them (a keyword field holding the number 10 is the text "10").
#include "eqlite_io.h"

#include <cstring>

namespace {

struct EcsField {
    const char *name;
    eqlite_type type;
};

const EcsField kEcs[] = {
#include "io/ecs_types.inc"
};

} // namespace

extern "C" EQLITE_API eqlite_status eqlite_schema_load_ecs(eqlite_schema *schema) {
    if (!schema) return EQLITE_EMISUSE;
    for (const EcsField &f : kEcs) {
        uint32_t id;
        size_t len = std::strlen(f.name);
        if (eqlite_schema_lookup(schema, f.name, len, &id) == EQLITE_OK) continue; // the caller's type stays
        eqlite_status st = eqlite_schema_add(schema, f.name, len, f.type, &id);
        if (st != EQLITE_OK) return st;
    }
    return EQLITE_OK;
}
