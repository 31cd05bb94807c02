/* reorder.h: a bounded reorder window for streams (--reorder-window). */
#ifndef EQ_CLI_REORDER_H
#define EQ_CLI_REORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine.h"
#include "event_copy.h"

typedef struct waiting waiting;

typedef struct reorder {
    int64_t window; /* nanoseconds */
    int64_t newest; /* the newest timestamp seen */
    bool have_newest;
    waiting **heap;
    size_t n, cap, peak;
    uint64_t arrivals;
    waiting *out; /* the event handed out last, freed at the next pop */
    event_view view; /* the dense fields of `out` */
    bool failed; /* out of memory in reorder_pop */
} reorder;

void reorder_init(reorder *r, int64_t window_ns);
/* Copies the event (its set fields and text) in; false when out of memory. */
bool reorder_push(reorder *r, const eqlite_event *ev, const eqlite_record *rec);
/* The oldest waiting event once the window has passed it (any, when
 * draining); valid until the next call. False: none (or r->failed). */
bool reorder_pop(reorder *r, bool draining, eqlite_event *ev, eng_text **text, uint64_t *line);
void reorder_free(reorder *r);

#endif
