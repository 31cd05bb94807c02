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
    uint32_t nfields; /* highest id in ids + 1 */
    uint32_t *ids;    /* in the event's present order (not sorted) */
    eqlite_value *vals;
    eng_text text;
} event_copy;

/* Copies made by the thousand and dropped together (a chunk's events for
 * the ordered rules): carved from large blocks, so a copy costs no malloc
 * and dropping them all costs one reset. Blocks are kept for the next use. */
typedef struct copy_block copy_block;
typedef struct copy_arena {
    copy_block *used;  /* newest first; copies come from the head */
    copy_block *spare; /* emptied by a reset, taken before new ones */
} copy_arena;
/* Drops every copy made in a (keeps the blocks). */
void copy_arena_reset(copy_arena *a);
void copy_arena_free(copy_arena *a);

/* Copies the fields set in ev whose id has keep[id] != 0 (ids past nkeep
 * are not kept; keep NULL: all), its tiebreaker and the record's text, or
 * only points at the text when it outlives the copy (`borrow_text`: a mapped
 * file). Walks only ev->present when the reader listed it. In `arena`, or
 * malloc'd when arena is NULL (free with free()); NULL when out of memory. */
event_copy *event_copy_make(const eqlite_event *ev, const eqlite_record *rec, const uint8_t *keep, size_t nkeep,
                            bool borrow_text, copy_arena *arena);

/* Dense fields for the engine, rebuilt per event in reusable buffers. */
typedef struct event_view {
    eqlite_value *fields;
    size_t nfields;
    uint32_t *set_ids; /* which fields the last event set */
    size_t used, set_cap;
} event_view;

/* Fills *ev from c (user = &c->text, present = the copied ids); false when
 * out of memory. */
bool event_view_fill(event_view *v, const event_copy *c, eqlite_event *ev);
void event_view_free(event_view *v);

#endif
