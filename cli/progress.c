/* progress.c: the progress line (progress.h), and the engine's calls that
 * say which step and input a run is at (engine.h, eng_progress_*). */
#define _DEFAULT_SOURCE
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"

#define REDRAW_SECONDS 0.25

void eng_progress_file(eng *e, eng_step step, const char *path)
{
    if (e->place.step != step)
        e->place.file_no = 0;
    e->place.step = step;
    e->place.file = path;
    e->place.file_no++;
    e->place.total = 0;
    if (e->tick)
        e->tick(e->tick_user, &e->totals);
}

void eng_progress_step(eng *e, eng_step step, uint64_t total)
{
    e->place.step = step;
    e->place.file = NULL;
    e->place.total = total;
    if (e->tick)
        e->tick(e->tick_user, &e->totals);
}

static size_t terminal_width(void)
{
    struct winsize ws;
    return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 8 ? ws.ws_col : 80;
}

/* "file 2/3 name: " when there are several inputs, else "name: ". */
static int where(const eng_place *pl, char *buf, size_t cap)
{
    if (!pl->file)
        return snprintf(buf, cap, "%s", "");
    const char *name = strcmp(pl->file, "-") ? pl->file : "<stdin>";
    if (pl->nfiles > 1)
        return snprintf(buf, cap, "file %zu/%zu %s: ", pl->file_no, pl->nfiles, name);
    return snprintf(buf, cap, "%s: ", name);
}

static void draw(const progress *p, double now)
{
    const eng *e = p->e;
    const eng_totals *t = &e->totals;
    const eng_place *pl = &e->place;
    char line[1024];
    int n = where(pl, line, sizeof line);
    size_t at = n > 0 && (size_t)n < sizeof line ? (size_t)n : 0;
    char *rest = line + at;
    size_t cap = sizeof line - at;
    switch (pl->step) {
    case ENG_STEP_CHECK_ORDER: snprintf(rest, cap, "checking the order"); break;
    case ENG_STEP_INDEX:
        snprintf(rest, cap, "indexing for the sort: %llu events", (unsigned long long)pl->total);
        break;
    case ENG_STEP_SORT: snprintf(rest, cap, "sorting %llu events", (unsigned long long)pl->total); break;
    case ENG_STEP_MATCH: {
        char of[48] = "";
        if (pl->total) /* fed from the sort: the end is known */
            snprintf(of, sizeof of, "/%llu", (unsigned long long)pl->total);
        char part[16] = "";
        if (pl->total)
            snprintf(part, sizeof part, " (%.0f%%)", 100.0 * (double)t->events / (double)pl->total);
        double secs = now - p->step_start > 1e-3 ? now - p->step_start : 1e-3;
        snprintf(rest, cap, "%llu%s events%s  %.0f events/s  %.1f MB  %llu matches  %llu bad",
                 (unsigned long long)t->events, of, part, (double)(t->events - p->step_events) / secs,
                 (double)t->bytes / 1e6, (unsigned long long)t->matches, (unsigned long long)t->bad);
        break;
    }
    }
    size_t width = terminal_width() - 1, len = strlen(line);
    if (len > width) /* a wrapped line could not be redrawn in place */
        len = width;
    fprintf(stderr, "\r%.*s\033[K", (int)len, line);
    fflush(stderr);
}

static void tick(void *user, const eng_totals *t)
{
    (void)t;
    progress *p = user;
    double now = cli_now_seconds();
    bool new_step = (int)p->e->place.step != p->last_step;
    if (!new_step && now - p->last < REDRAW_SECONDS)
        return;
    if (new_step) { /* rates are of the step */
        p->step_start = now;
        p->step_events = p->e->totals.events;
    }
    p->last = now;
    p->last_step = (int)p->e->place.step;
    p->shown = true;
    draw(p, now);
}

void progress_start(progress *p, eng *e)
{
    *p = (progress){e, cli_now_seconds(), 0, 0, -1, 0, false};
    if (!isatty(STDERR_FILENO))
        return;
    e->tick = tick;
    e->tick_user = p;
}

void progress_end(progress *p)
{
    if (p->shown)
        fputs("\r\033[K", stderr);
    p->shown = false;
}
