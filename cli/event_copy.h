/* event_copy.h: an event kept past its reader call (the reorder window, the
 * events a -j worker hands to the thread that runs sequences): its set
 * fields as (id, value) pairs, arrays, strings, tiebreaker and text in one
 * allocation, and a dense view of it for the engine. */
#ifndef EQ_CLI_EVENT_COPY_H
#define EQ_CLI_EVENT_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"

typedef struct event_copy {
    int64_t ts;
    uint64_t line;
    eqlite_value tb;
    uint32_t nset;
    uint32_t *ids;
    eqlite_value *vals;
    eng_text text;
} event_copy;

/* Copies the fields set in ev among `only` (ascending ids; NULL: all) and
 * the record's text, or only points at the text when it outlives the copy
 * (`borrow_text`: a mapped file); NULL when out of memory. Free with free(). */
event_copy *event_copy_make(const eqlite_event *ev, const eqlite_record *rec, const uint32_t *only, size_t nonly,
                            bool borrow_text);

/* Dense fields for the engine, rebuilt per event in reusable buffers. */
typedef struct event_view {
    eqlite_value *fields;
    size_t nfields;
    uint32_t *set_ids; /* which fields the last event set */
    size_t used, set_cap;
} event_view;

/* Fills *ev from c (user = &c->text); false when out of memory. */
bool event_view_fill(event_view *v, const event_copy *c, eqlite_event *ev);
void event_view_free(event_view *v);

#endif
