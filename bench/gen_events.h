/* gen_events.h: the event distribution of ../shared/tools/gen_events.py,
 * re-implemented in C, producing normalized eqlite_event structs in memory.
 *
 * The same splitmix64 stream drives the same sequence of draws, so for a
 * given (n, seed) the events carry the same values as the Python generator's
 * NDJSON, and the reference rule matches the count `gen_events.py --expect`
 * prints. */
#ifndef GEN_EVENTS_H
#define GEN_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

/* The ECS fields the generator fills (the timestamp goes to event.timestamp). */
typedef enum gen_field {
    GF_EVENT_KIND,
    GF_EVENT_CATEGORY, /* array of one string */
    GF_EVENT_TYPE,     /* array of one or two strings */
    GF_HOST_NAME,
    GF_HOST_OS_TYPE, /* missing in ~0.5% of events */
    GF_PROCESS_PID,
    GF_PROCESS_NAME,
    GF_PROCESS_EXECUTABLE,
    GF_PROCESS_ARGS, /* array */
    GF_PARENT_PID,   /* the parent fields are missing in ~1% of events */
    GF_PARENT_NAME,
    GF_PARENT_ARGS, /* array */
    GF_USER_NAME,
    GF_DESTINATION_IP,
    GF_DESTINATION_PORT,
    GF_FILE_PATH,
    GF_REGISTRY_PATH,
    GF__COUNT
} gen_field;

/* ECS dotted name and schema type of each generator field. */
const char *gen_field_name(gen_field f);
eqlite_type gen_field_type(gen_field f);

enum { GEN_PROCESS, GEN_NETWORK, GEN_FILE, GEN_REGISTRY, GEN__CATEGORIES };

typedef struct gen_events gen_events;

/* Adds the generator's fields to `schema` (or finds them) and builds n events
 * from `seed`. Field values borrow storage owned by the returned object. */
eqlite_status gen_events_make(eqlite_schema *schema, size_t n, uint64_t seed, gen_events **out);
void gen_events_free(gen_events *g);

const eqlite_event *gen_events_items(const gen_events *g, size_t *n);
/* Schema id of a generator field (what eqlite_event.fields is indexed by). */
uint32_t gen_events_field_id(const gen_events *g, gen_field f);
/* Events per category, in the order of the GEN_ enum. */
const size_t *gen_events_category_counts(const gen_events *g);

#endif
