/* parallel.c: -j N over a plain NDJSON file. The file is mapped and cut
 * into ~4 MiB chunks at line ends. N threads (the calling one among them)
 * each take whichever work is ready: writing the next chunk in input order
 * when it is finished and no one else is writing, else running a new chunk
 * through their own matchers into the chunk's buffers. Writing is one stage
 * that moves from thread to thread: it reports the chunk's bad lines with
 * absolute line numbers and, in split runs, feeds the chunk's events to the
 * ordered rules (sequences, samples, pipes) in order, so neither side waits
 * for a thread kept for the other. A thread running the next chunk to write
 * becomes its writer as soon as the chunks before are written: it feeds the
 * events it has copied so far, then runs each further one through every
 * rule as it reads it, as -j 1 does, with no copy (about half the events,
 * with two threads). Of the other events, those the ordered rules could take
 * only while a sequence holds partials (most) are handed with their time
 * alone, and read again from the mapping when one does. A
 * worker drops the pages it has read every MiB (results are copies), so
 * resident memory stays flat however large the file. At most jobs + 2 chunks (up to WINDOW) are in flight: each
 * holds its results and, in split runs, its events' marks and copies. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "event_copy.h"

#define CHUNK_BYTES ((size_t)4 << 20)
#define LAST_CHUNK_BYTES ((size_t)256 << 10) /* the smallest, at the end of the file */
#define WINDOW 6

enum { SLOT_FREE, SLOT_TAKEN, SLOT_DONE };

/* Threads work on neighbouring slots at once, each counting per event:
 * a cache line of padding between slots keeps them from sharing one. */
/* How an event went over to the writer: */
enum {
    HANDED_NO_FIELDS = 1, /* marked, but copied with its time alone (read again if needed) */
    HANDED_IDLE_MARKS = 2 /* marks of the idle plane alone (read and marked again while partials are held) */
};

typedef struct slot {
    char pad[64];
    int state;
    uint64_t index;
    const char *data; /* the mapping: lines are counted from its start */
    size_t start, end;
    eq_strbuf out;  /* results */
    eq_strbuf errs; /* bad records and ignored values: uint64 line (relative), [MALFORMED_MARK] reason, NUL */
    uint64_t events, bad, matches;
    int status;
    eq_strbuf tags;       /* eng_tag per result in out (split runs) */
    event_copy **evs;  /* split runs: every event of the chunk, for the ordered rules */
    size_t *mark_at;   /* split runs: where each event's marks start in marks */
    uint8_t *handed_as; /* split runs: per event, HANDED_* flags */
    uint64_t *marks;   /* split runs: the guards of the ordered rules each event passes, compact */
    size_t nevs, evcap, nmarks, markcap;
    copy_arena arena; /* where evs live, dropped once the chunk is written */
    bool writing;     /* split runs: this chunk's thread became the writer while reading it */
} slot;

/* The fields are grouped by who writes them, and how often: a line one
 * thread writes per event and another reads per event would bounce between
 * their cores on every event. */
typedef struct par {
    /* set before the threads start */
    eng *e;
    const char *path;
    const char *data;
    size_t size;
    bool cpu_split;      /* EQLITE_CPU_SPLIT: time the two stages per thread */
    eng_runner *ordered; /* split runs: the ordered rules, fed by the writer in order */
    size_t mark_words;   /* split runs: words of one event's marks, at most */
    uint64_t *no_marks;  /* split runs: the marks of an event that marks no ordered rule (zeros) */
    uint64_t *remarks;   /* split runs: the writer's: an event marked again in full */
    uint64_t window;     /* chunks in flight at most (slots used) */
    size_t jobs;
    /* written once per chunk, under the lock or atomically */
    _Alignas(64) pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_start;
    uint64_t next_index, emit_index;
    bool stop;
    bool no_runner; /* a worker could not start its matchers */
    bool writing;   /* a thread is writing chunk emit_index */
    int status;     /* the first failure that stopped the run */
    double cpu_chunks, cpu_write; /* seconds of thread CPU in each stage, all threads */
    double idle;                  /* seconds threads waited for work, all threads (wall) */
    /* split runs: workers copy every marked event's fields, and mark the live
     * plane too, since the last chunk read too many again (the sequences they
     * could feed held partials) */
    bool copy_all;
    /* the writer's alone, written per event */
    _Alignas(64) event_view view;
    eq_strbuf seq_out, seq_tags; /* the ordered rules' results for one event */
    /* Lines are counted only when a bad record must be reported. */
    size_t counted_to;
    uint64_t counted_lines;
    size_t swept; /* input before this has been dropped after emission */
    uint64_t handed, handed_marks; /* split runs: events handed to the ordered rules, words of their marks */
    uint64_t handed_bare;          /* split runs: events handed with their time alone */
    uint64_t handed_unread, reread; /* split runs: marked events handed without fields, and read again */
    eqlite_reader *rereader; /* split runs: reads events again from the mapping */
    slot slots[WINDOW];      /* each starts with a line of padding */
} par;

bool eng_can_split(const char *path)
{
    /* stat first: opening a named pipe to look would take (and lose) the
     * writer's data, and the run's own open would then wait forever */
    struct stat st;
    if (strcmp(path, "-") == 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return false;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    unsigned char head[4096];
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    ssize_t k = 0;
    while (k < n && (head[k] == ' ' || head[k] == '\t' || head[k] == '\r' || head[k] == '\n'))
        k++;
    /* gzip and JSON-array inputs cannot be cut at line ends. */
    return k < n && head[k] == '{';
}

/* A value ignored as malformed travels with the bad lines, marked, to be
 * reported in input order too. */
#define MALFORMED_MARK '\x01'

static void note_line(slot *s, uint64_t line, const char *mark, const char *text)
{
    eq_strbuf_bytes(&s->errs, &line, sizeof line);
    eq_strbuf_bytes(&s->errs, mark, strlen(mark));
    eq_strbuf_bytes(&s->errs, text, strlen(text) + 1);
}

static void note_bad(slot *s, uint64_t line, const char *reason)
{
    s->bad++;
    note_line(s, line, "", reason);
}


/* Drops the mapped pages from the page holding `from` up to the one holding
 * `to` (exclusive): results are copies, so input already read need not stay
 * resident. Dropping a page another worker still reads is harmless: a clean
 * private file mapping faults the same bytes back in. Rounding both ends down
 * leaves no page behind at chunk or step boundaries (those would add up). */
static void drop_pages(const par *p, size_t from, size_t to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    from &= ~(page - 1);
    to &= ~(page - 1);
    if (to > from)
        madvise((char *)p->data + from, to - from, MADV_DONTNEED);
}

#define DROP_STEP ((size_t)1 << 20)

/* A chunk's record in the file: the lines before the chunk (counted only
 * for a message) and its line in the chunk. */
static uint64_t chunk_line(void *ctx, const eqlite_record *rec)
{
    const slot *s = ctx;
    return eng_count_lines(s->data, s->start) + rec->number;
}

static bool grow_events(slot *s)
{
    size_t cap = s->evcap ? s->evcap * 2 : 4096;
    event_copy **evs = realloc(s->evs, cap * sizeof *evs);
    if (evs)
        s->evs = evs;
    size_t *at = evs ? realloc(s->mark_at, cap * sizeof *at) : NULL;
    if (at)
        s->mark_at = at;
    uint8_t *as = at ? realloc(s->handed_as, cap * sizeof *as) : NULL;
    if (!as)
        return false;
    s->handed_as = as;
    s->evcap = cap;
    return true;
}

/* Room for one more event's marks. */
static bool reserve_marks(par *p, slot *s)
{
    if (s->markcap - s->nmarks >= p->mark_words)
        return true;
    size_t cap = s->markcap * 2 > s->nmarks + p->mark_words ? s->markcap * 2 : s->nmarks + p->mark_words * 4096;
    uint64_t *marks = realloc(s->marks, cap * sizeof *marks);
    if (!marks)
        return false;
    s->marks = marks;
    s->markcap = cap;
    return true;
}

/* Split runs: the plain rules' match, which marks the event for the
 * ordered rules, and a copy of it for the thread that feeds them in order:
 * of the fields they read when the marks let one of them start on it, else
 * of the time alone (a sequence that checks time takes it, no filter can
 * match). Marks cover the rules holding no partial alone (the idle plane:
 * most events meet no sequence holding partials, and the live plane costs
 * as much again); the writer reads such an event again from the mapping
 * and marks it in full when a sequence holds partials. An event the marks
 * let only sequences holding partials take is read again likewise if one
 * holds partials when it is fed: a copy costs more than the marks. */
static int hand_over(par *p, eng_runner *r, slot *s, const eqlite_event *ev, eqlite_record *rec, eqlite_reader *rd)
{
    if ((s->nevs == s->evcap && !grow_events(s)) || !reserve_marks(p, s))
        return eng_out_of_memory("handing events to the ordered rules");
    size_t nmarks = 0;
    /* the text stays in the mapping until the run ends (a dropped page
     * faults back in), and a kept event copies it (retain_text) */
    bool in_mapping = rec->text != NULL; /* else a converted record's text, in the reader: not read again */
    bool copy_all = __atomic_load_n(&p->copy_all, __ATOMIC_RELAXED), idle = in_mapping && !copy_all;
    eng_runner_set_tags(r, &s->tags, (uint32_t)s->nevs);
    int status = eng_runner_feed_mark(r, ev, rec, s->marks + s->nmarks, &nmarks, idle);
    /* an event whose match failed still goes over: -j 1 runs every rule on it */
    if (!in_mapping && eqlite_reader_text(rd, &rec->text, &rec->len) != EQLITE_OK)
        return eng_out_of_memory("handing events to the ordered rules");
    const eng *e = p->e;
    bool fields = nmarks && (idle || !in_mapping || copy_all || eqlite_ruleset_marks_idle(e->rs, s->marks + s->nmarks));
    event_copy *c = event_copy_make(ev, rec, e->ordered_fields, fields ? e->nordered_fields : 0, in_mapping, &s->arena);
    if (!c)
        return eng_out_of_memory("handing events to the ordered rules");
    s->handed_as[s->nevs] = (uint8_t)((idle ? HANDED_IDLE_MARKS : 0) | ((idle || nmarks) && !fields ? HANDED_NO_FIELDS : 0));
    s->mark_at[s->nevs] = nmarks ? s->nmarks : SIZE_MAX;
    s->nmarks += nmarks;
    s->evs[s->nevs++] = c;
    return status;
}

/* Where a merge stands in the plain side's results and tags. */
typedef struct merge_at {
    size_t tag;
    uint64_t start;
} merge_at;

static void report_bad_lines(par *p, slot *s);
static int write_so_far(par *p, slot *s);
static int merge_event(par *p, slot *s, uint32_t k, const eqlite_event *ev, const eqlite_record *rec,
                       const uint64_t *marks, merge_at *at);

/* Split runs: whether the thread reading s may write it now (the chunks
 * before are written and no one writes); if so it is the writer. */
static bool my_turn(par *p, const slot *s)
{
    if (__atomic_load_n(&p->emit_index, __ATOMIC_ACQUIRE) != s->index || __atomic_load_n(&p->writing, __ATOMIC_ACQUIRE))
        return false;
    pthread_mutex_lock(&p->mu);
    bool mine = !p->stop && !p->writing && p->emit_index == s->index;
    if (mine)
        __atomic_store_n(&p->writing, true, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&p->mu);
    return mine;
}

/* Split runs, once the reading thread writes its chunk: an event through
 * every rule now, no copy, its results straight into the output. The ordered
 * side's runner runs them all in rule order, as -j 1 does, when it can;
 * once it has stopped, the plain side's runner runs its own rules. */
static int feed_both(par *p, eng_runner *r, slot *s, const eqlite_event *ev, const eqlite_record *rec)
{
    eng *e = p->e;
    if (!eng_runner_stopped(p->ordered)) {
        eng_runner_set_out(p->ordered, e->out);
        eng_runner_set_lines(p->ordered, chunk_line, s);
        eng_runner_set_tags(p->ordered, NULL, 0);
        int status = eng_runner_feed_indexed(p->ordered, r, ev, rec);
        if (status == 0 && e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd))
            status = 2;
        return status;
    }
    if (!reserve_marks(p, s))
        return eng_out_of_memory("feeding the ordered rules");
    size_t nmarks = 0;
    eng_runner_set_tags(r, &s->tags, 0);
    int status = eng_runner_feed_mark(r, ev, rec, s->marks, &nmarks, true); /* the ordered rules have stopped */
    if (s->out.failed || s->tags.failed) /* a lost tag loses its result */
        return eng_out_of_memory("collecting results");
    merge_at at = {0, 0};
    int merged = merge_event(p, s, 0, ev, rec, nmarks ? s->marks : p->no_marks, &at);
    s->out.len = s->tags.len = 0;
    return status ? status : merged;
}

static void run_chunk(par *p, eng_runner *r, slot *s)
{
    eqlite_reader_options o;
    eng_reader_options(p->e, &o, p->path);
    eqlite_reader *rd;
    char err[512];
    s->status = 0;
    if (eqlite_reader_open_memory(p->data + s->start, s->end - s->start, &o, &rd, err, sizeof err) != EQLITE_OK) {
        note_bad(s, 0, err);
        s->status = 2;
        return;
    }
    eng_runner_set_out(r, &s->out);
    eng_runner_set_lines(r, chunk_line, s);
    uint64_t matches_before = eng_runner_matches(r);
    eqlite_event ev;
    eqlite_record rec;
    size_t dropped = s->start; /* input before this is no longer mapped */
    for (int k; (k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        /* the chunks before are written: write this one as it is read, from here */
        if (p->ordered && !s->writing && (s->events & 63) == 0 && my_turn(p, s) &&
            (s->writing = true, (s->status = write_so_far(p, s)) != 0))
            break;
        if (s->start + rec.offset > dropped + DROP_STEP) {
            drop_pages(p, dropped, s->start + rec.offset);
            dropped = s->start + rec.offset;
        }
        if (k != EQLITE_READ_EVENT) {
            note_bad(s, rec.number, rec.reason);
            if (s->writing)
                report_bad_lines(p, s);
            if (k == EQLITE_READ_FATAL || p->e->opt.strict) {
                s->status = 2;
                break;
            }
            continue;
        }
        if (rec.notice[0]) {
            note_line(s, rec.number, (char[]){MALFORMED_MARK, '\0'}, rec.notice);
            if (s->writing)
                report_bad_lines(p, s);
        }
        eng_text text = {rec.text, rec.len, rd};
        ev.user = &text;
        s->events++;
        if (s->writing) {
            if ((s->status = feed_both(p, r, s, &ev, &rec)) != 0)
                break;
        } else if (p->ordered) { /* one index of the event serves both sides */
            if ((s->status = hand_over(p, r, s, &ev, &rec, rd)) != 0)
                break;
        } else if ((s->status = eng_runner_feed(r, &ev, &rec)) != 0) {
            break;
        }
    }
    s->matches = eng_runner_matches(r) - matches_before;
    drop_pages(p, dropped, s->end);
    eqlite_reader_close(rd);
}

/* The next chunk to run, or NULL when none can start now (the window is
 * full, or the file is done). Called locked. */
static slot *take(par *p)
{
    if (p->stop || p->next_start >= p->size || p->next_index >= p->emit_index + p->window)
        return NULL;
    slot *s = &p->slots[p->next_index % p->window];
    s->state = SLOT_TAKEN;
    s->index = p->next_index++;
    s->data = p->data;
    s->start = p->next_start;
    /* chunks shrink near the end, so that no thread waits long with nothing
     * left to take while another finishes a full chunk alone */
    size_t bytes = p->jobs > 1 ? (p->size - s->start) / (2 * p->jobs) : CHUNK_BYTES;
    bytes = bytes > CHUNK_BYTES ? CHUNK_BYTES : bytes < LAST_CHUNK_BYTES ? LAST_CHUNK_BYTES : bytes;
    s->end = p->size - s->start > bytes ? s->start + bytes : p->size;
    const char *nl = s->end < p->size ? memchr(p->data + s->end, '\n', p->size - s->end) : NULL;
    s->end = nl ? (size_t)(nl - p->data) + 1 : p->size;
    s->events = s->bad = s->matches = 0;
    s->writing = false;
    p->next_start = s->end;
    return s;
}

static int emit(par *p, slot *s);

static double clock_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu(void) { return clock_seconds(CLOCK_THREAD_CPUTIME_ID); }

/* The writer is done with slot s (status st). Called locked. */
static void written(par *p, slot *s, int st)
{
    s->state = SLOT_FREE;
    __atomic_store_n(&p->emit_index, p->emit_index + 1, __ATOMIC_RELEASE);
    __atomic_store_n(&p->writing, false, __ATOMIC_RELEASE);
    if (st && !p->status) {
        p->status = st;
        p->stop = true;
    }
    pthread_cond_broadcast(&p->cv);
}

/* One thread's share of the run, until every chunk is written or the run
 * stops. Writing the next chunk comes first: it is the one stage that
 * cannot be shared, and the window waits on it. r is NULL for a thread
 * whose matchers could not start (the run stops). */
static void work(par *p, eng_runner *r)
{
    double chunks = 0, write = 0, idle = 0;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) { /* after a failure nothing more is written */
        slot *next = &p->slots[p->emit_index % p->window];
        if (!p->writing && next->state == SLOT_DONE && next->index == p->emit_index) {
            __atomic_store_n(&p->writing, true, __ATOMIC_RELEASE);
            pthread_mutex_unlock(&p->mu);
            double t0 = p->cpu_split ? thread_cpu() : 0;
            int st = emit(p, next);
            write += p->cpu_split ? thread_cpu() - t0 : 0;
            pthread_mutex_lock(&p->mu);
            written(p, next, st);
            continue;
        }
        if (p->next_start >= p->size && p->emit_index == p->next_index)
            break; /* every chunk has been written */
        slot *s = r ? take(p) : NULL;
        if (s) {
            pthread_mutex_unlock(&p->mu);
            double t0 = p->cpu_split ? thread_cpu() : 0;
            run_chunk(p, r, s);
            chunks += p->cpu_split ? thread_cpu() - t0 : 0;
            int st = s->writing ? emit(p, s) : 0; /* this thread became its writer */
            pthread_mutex_lock(&p->mu);
            if (s->writing) {
                written(p, s, st);
                continue;
            }
            s->state = SLOT_DONE;
            pthread_cond_broadcast(&p->cv);
            continue;
        }
        double t0 = p->cpu_split ? clock_seconds(CLOCK_MONOTONIC) : 0;
        pthread_cond_wait(&p->cv, &p->mu);
        idle += p->cpu_split ? clock_seconds(CLOCK_MONOTONIC) - t0 : 0;
    }
    p->cpu_chunks += chunks;
    p->cpu_write += write;
    p->idle += idle;
    if (p->cpu_split)
        fprintf(stderr, "eqlite: cpu split: a thread: chunks %.3f s, writing %.3f s, waiting %.3f s (wall)\n", chunks,
                write, idle);
    pthread_mutex_unlock(&p->mu);
}

/* A thread's matchers for the plain rules (all rules when none is
 * ordered); NULL when they could not start, and the run stops. */
static eng_runner *chunk_runner(par *p)
{
    eng_runner *r = p->ordered ? eng_runner_new_subset(p->e, NULL, ENG_PLAIN) : eng_runner_new(p->e, NULL);
    if (!r) {
        pthread_mutex_lock(&p->mu);
        p->no_runner = p->stop = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return r;
}

static void *worker(void *arg)
{
    par *p = arg;
    eng_runner *r = chunk_runner(p);
    work(p, r);
    eng_runner_free(r);
    return NULL;
}

/* Lines before the chunk's start (chunks start after a line end). */
static uint64_t line_base(par *p, const slot *s)
{
    while (p->counted_to < s->start) { /* step by step, dropping the pages read again */
        size_t n = s->start - p->counted_to < DROP_STEP ? s->start - p->counted_to : DROP_STEP;
        p->counted_lines += eng_count_lines(p->data + p->counted_to, n);
        drop_pages(p, p->counted_to, p->counted_to + n);
        p->counted_to += n;
    }
    return p->counted_lines;
}

static void free_events(slot *s)
{
    copy_arena_reset(&s->arena);
    s->nevs = s->nmarks = 0;
}

/* Copies results [*at, up to the tags' ends) of one side whose tag says
 * `rule` comes first. */
static void copy_result(eq_strbuf *to, const eq_strbuf *from, uint64_t *start, uint64_t end)
{
    if (to && end > *start)
        eq_strbuf_bytes(to, from->data + *start, (size_t)(end - *start));
    *start = end;
}

/* Split runs: event k of the chunk through the ordered rules, and both
 * sides' results for it merged by rule index, as -j 1 orders them. */
static int merge_event(par *p, slot *s, uint32_t k, const eqlite_event *ev, const eqlite_record *rec,
                       const uint64_t *marks, merge_at *at)
{
    eng *e = p->e;
    const eng_tag *ptags = (const eng_tag *)s->tags.data;
    size_t nptags = s->tags.len / sizeof *ptags;
    int status = 0;
    p->seq_out.len = p->seq_tags.len = 0;
    eng_runner_set_out(p->ordered, &p->seq_out);
    eng_runner_set_lines(p->ordered, chunk_line, s);
    eng_runner_set_tags(p->ordered, &p->seq_tags, k);
    if (!eng_runner_stopped(p->ordered))
        status = eng_runner_feed_marked(p->ordered, ev, rec, marks);
    const eng_tag *stags = (const eng_tag *)p->seq_tags.data;
    size_t nstags = p->seq_tags.len / sizeof *stags, si = 0;
    uint64_t sstart = 0;
    while ((at->tag < nptags && ptags[at->tag].event == k) || si < nstags) {
        bool plain = at->tag < nptags && ptags[at->tag].event == k &&
                     (si == nstags || ptags[at->tag].rule < stags[si].rule);
        if (plain)
            copy_result(e->out, &s->out, &at->start, ptags[at->tag++].end);
        else
            copy_result(e->out, &p->seq_out, &sstart, stags[si++].end);
    }
    if (status == 0 && e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd))
        status = 2;
    return status;
}

/* Split runs: an event handed with its time alone, read again from the
 * mapping (its text is there, borrowed by the copy) with the chunk's line. */
static int reread(par *p, slot *s, const event_copy *c, eqlite_event *ev, eqlite_record *rec, eng_text *text)
{
    char err[512];
    if (!p->rereader) {
        eqlite_reader_options o;
        eng_reader_options(p->e, &o, p->path);
        if (eqlite_reader_open_memory(p->data, p->size, &o, &p->rereader, err, sizeof err) != EQLITE_OK) {
            fprintf(stderr, "eqlite: %s: cannot read events again: %s\n", p->path, err);
            return 2;
        }
    }
    int got = eqlite_reader_seek(p->rereader, (uint64_t)(c->text.text - p->data), c->line) == EQLITE_OK
                  ? eqlite_reader_next(p->rereader, ev, rec)
                  : EQLITE_READ_EOF;
    if (got != EQLITE_READ_EVENT) { /* it was read once: only memory can fail (or the file changed) */
        fprintf(stderr, "%s:%llu: cannot read the event again: %s\n", p->path,
                (unsigned long long)chunk_line(s, &(eqlite_record){.number = c->line}),
                got == EQLITE_READ_EOF ? "no record there" : rec->reason);
        return 2;
    }
    p->reread++;
    *text = (eng_text){rec->text, rec->len, p->rereader};
    ev->user = text;
    return 0;
}

/* Split runs: the chunk's copied events through the ordered rules, in order. */
static int merge_chunk(par *p, slot *s)
{
    merge_at at = {0, 0};
    int status = 0;
    uint64_t reread_before = p->reread, unread = 0;
    for (size_t k = 0; k < s->nevs && status == 0; k++) {
        eqlite_event ev;
        eqlite_record rec;
        eng_text text;
        const uint64_t *marks = s->mark_at[k] == SIZE_MAX ? p->no_marks : s->marks + s->mark_at[k];
        uint8_t as = s->handed_as[k];
        bool going = !eng_runner_stopped(p->ordered);
        /* idle marks do not serve a sequence holding partials: the whole event, marked again */
        bool remark = going && (as & HANDED_IDLE_MARKS) && eng_runner_holds_partials(p->ordered);
        unread += as != 0;
        if (remark || (going && (as & HANDED_NO_FIELDS) && eng_runner_needs_fields(p->ordered, marks))) {
            size_t nmarks = 0;
            if ((status = reread(p, s, s->evs[k], &ev, &rec, &text)) != 0 ||
                (remark && (status = eng_runner_mark_ordered(p->ordered, &ev, &rec, p->remarks, &nmarks)) != 0))
                break;
            if (remark)
                marks = nmarks ? p->remarks : p->no_marks;
        } else {
            if (!event_view_fill(&p->view, s->evs[k], &ev)) {
                status = eng_out_of_memory("feeding the ordered rules");
                break;
            }
            rec = (eqlite_record){.text = s->evs[k]->text.text, .len = s->evs[k]->text.len, .file = p->path,
                                  .number = s->evs[k]->line, .source = "", .reason = "", .notice = ""};
        }
        status = merge_event(p, s, (uint32_t)k, &ev, &rec, marks, &at);
    }
    /* reading again costs about four copies: past one in four, copy them all */
    if (unread >= 256)
        __atomic_store_n(&p->copy_all, (p->reread - reread_before) * 4 > unread, __ATOMIC_RELAXED);
    p->handed += s->nevs;
    p->handed_marks += s->nmarks;
    p->handed_unread += unread;
    for (size_t k = 0; k < s->nevs; k++)
        p->handed_bare += s->mark_at[k] == SIZE_MAX;
    free_events(s);
    s->out.len = s->tags.len = 0;
    if (status == 0 && (p->seq_out.failed || p->seq_tags.failed)) /* a lost tag loses its result */
        status = eng_out_of_memory("collecting results");
    return status;
}

/* What the writer owes for a chunk so far: its bad lines, with absolute
 * line numbers, and, in split runs, its copied events through the ordered
 * rules with both sides' results. Non-zero to stop. */
static void report_bad_lines(par *p, slot *s)
{
    uint64_t base = s->errs.len ? line_base(p, s) : 0;
    for (size_t k = 0; k < s->errs.len && !s->errs.failed;) {
        uint64_t line;
        memcpy(&line, s->errs.data + k, sizeof line);
        const char *reason = s->errs.data + k + sizeof line;
        if (reason[0] == MALFORMED_MARK)
            eng_note_malformed(p->e, p->path, base + line, reason + 1);
        else
            eng_report_bad(p->e, p->path, base + line, reason);
        k += sizeof line + strlen(reason) + 1;
    }
    s->errs.len = 0;
}

static int write_so_far(par *p, slot *s)
{
    eng *e = p->e;
    report_bad_lines(p, s);
    /* a buffer whose growth failed may be empty: its results are lost */
    if (s->out.failed || s->errs.failed || s->tags.failed || (e->out && e->out->failed))
        return eng_out_of_memory("collecting results");
    return p->ordered ? merge_chunk(p, s) : 0; /* a chunk cut short still has its events before the cut */
}

/* Writes a finished chunk; returns non-zero to stop. */
static int emit(par *p, slot *s)
{
    eng *e = p->e;
    int st = write_so_far(p, s);
    if (st)
        return st;
    if ((e->out && e->out_fd >= 0 && e->out->len && !ob_write(e->out, e->out_fd)) ||
        (s->out.len && !ob_write(&s->out, e->out_fd >= 0 ? e->out_fd : 1)))
        return 2; /* ob_write said why */
    e->totals.events += s->events;
    e->totals.matches += s->matches;
    e->totals.bytes += s->end - s->start;
    /* Every chunk up to this one is done: sweep pages a neighbour refaulted. */
    drop_pages(p, p->swept, s->end);
    p->swept = s->end;
    if (e->tick)
        e->tick(e->tick_user, &e->totals);
    return s->status;
}

static int map_file(const char *path, const char **data, size_t *size)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *size = (size_t)st.st_size;
    void *m = *size ? mmap(NULL, *size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    if (m)
        madvise(m, *size, MADV_SEQUENTIAL);
    *data = m;
    return 0;
}

static void free_slots(par *p)
{
    for (int k = 0; k < WINDOW; k++) {
        eq_strbuf_free(&p->slots[k].out);
        eq_strbuf_free(&p->slots[k].errs);
        eq_strbuf_free(&p->slots[k].tags);
        copy_arena_free(&p->slots[k].arena);
        free(p->slots[k].evs);
        free(p->slots[k].mark_at);
        free(p->slots[k].handed_as);
        free(p->slots[k].marks);
    }
    free(p->no_marks);
    free(p->remarks);
    if (p->rereader)
        eng_uncount_sources(p->e, p->rereader); /* their records were counted once read */
    eqlite_reader_close(p->rereader);
    eq_strbuf_free(&p->seq_out);
    eq_strbuf_free(&p->seq_tags);
    event_view_free(&p->view);
}

int eng_run_parallel(eng *e, const char *path, int jobs, eng_runner *ordered)
{
    /* aligned as its groups are: calloc aligns to 16 bytes only */
    size_t bytes = (sizeof(par) + _Alignof(par) - 1) / _Alignof(par) * _Alignof(par);
    par *p = aligned_alloc(_Alignof(par), bytes);
    if (!p)
        return eng_out_of_memory("starting the run");
    memset(p, 0, bytes);
    p->e = e;
    p->path = path;
    p->ordered = ordered;
    p->window = (uint64_t)jobs + 2 < WINDOW ? (uint64_t)jobs + 2 : WINDOW;
    p->jobs = (size_t)jobs;
    p->mark_words = ordered ? eqlite_ruleset_marks_words(e->rs) : 0;
    if (ordered && (!(p->no_marks = calloc(p->mark_words + 1, sizeof *p->no_marks)) ||
                    !(p->remarks = calloc(p->mark_words + 1, sizeof *p->remarks)))) {
        free(p->no_marks);
        free(p);
        return eng_out_of_memory("starting the run");
    }
    p->cpu_split = getenv("EQLITE_CPU_SPLIT") != NULL;
    eng_progress_file(e, ENG_STEP_MATCH, path);
    if (map_file(path, &p->data, &p->size) != 0) {
        fprintf(stderr, "eqlite: cannot read %s\n", path);
        free(p);
        return 2;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* this thread is one of the jobs */
    pthread_t *threads = jobs > 1 ? calloc((size_t)jobs - 1, sizeof *threads) : NULL;
    int started = 0;
    while (threads && started < jobs - 1 && pthread_create(&threads[started], NULL, worker, p) == 0)
        started++;
    eng_runner *r = chunk_runner(p);
    work(p, r);
    eng_runner_free(r);
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    free(threads);
    int status = p->status;
    if (status == 0 && p->no_runner)
        status = eng_out_of_memory("starting the matchers");
    if (p->cpu_split)
        fprintf(stderr, "eqlite: cpu split: %d thread%s in all, chunks %.3f s, writing%s %.3f s, waiting %.3f s\n",
                started + 1, started ? "s" : "", p->cpu_chunks, ordered ? " and the ordered rules" : "", p->cpu_write,
                p->idle);
    if (p->cpu_split && ordered)
        fprintf(stderr, "eqlite: cpu split: %llu events handed over to the writer (the rest fed as read), %.1f words "
                        "of marks each (%zu at most), %.1f%% with none, %.1f%% to read again while a sequence holds "
                        "partials (%llu read again)\n",
                (unsigned long long)p->handed, p->handed ? (double)p->handed_marks / (double)p->handed : 0.0,
                p->mark_words, p->handed ? 100.0 * (double)p->handed_bare / (double)p->handed : 0.0,
                p->handed ? 100.0 * (double)p->handed_unread / (double)p->handed : 0.0,
                (unsigned long long)p->reread);
    e->stopped |= ordered && eng_runner_stopped(ordered);
    free_slots(p);
    if (p->data)
        munmap((void *)p->data, p->size);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return status;
}
