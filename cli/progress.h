/* progress.h: the progress line of `eqlite query` on a terminal (stderr):
 * what the run is doing (checking the order of the inputs, indexing and
 * sorting them, matching), which input of how many, the events, matches and
 * bad records so far. Redrawn at most 4 times a second, and at once when the
 * run moves to another step; cut to the terminal's width; erased at the end.
 * Nothing at all when stderr is not a terminal. */
#ifndef EQ_CLI_PROGRESS_H
#define EQ_CLI_PROGRESS_H

#include <stdbool.h>

#include "engine.h"

typedef struct progress {
    const eng *e;
    double start, last, step_start;
    int last_step;
    uint64_t step_events;
    bool shown;
} progress;

/* Hooks p into e (e->tick) when stderr is a terminal. */
void progress_start(progress *p, eng *e);
/* Erases the line if one was drawn. */
void progress_end(progress *p);

#endif
