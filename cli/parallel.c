/* parallel.c: -j N for event queries over a plain NDJSON file. The file is
 * mapped and cut into ~4 MiB chunks at line ends; workers take chunks in
 * order, run their own matchers and write results into the chunk's buffer;
 * the main thread writes finished chunks in input order and reports their bad
 * lines with absolute line numbers. A worker drops the pages it has read
 * every MiB (results are copies), so resident memory stays flat however large
 * the file. At most WINDOW chunks are in flight. */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "event_copy.h"

#define CHUNK_BYTES ((size_t)4 << 20)
#define WINDOW 6

enum { SLOT_FREE, SLOT_TAKEN, SLOT_DONE };

typedef struct slot {
    int state;
    uint64_t index;
    const char *data; /* the mapping: lines are counted from its start */
    size_t start, end;
    eq_strbuf out;  /* results */
    eq_strbuf errs; /* bad records: uint64 line (relative), reason, NUL */
    uint64_t events, bad, matches;
    int status;
    eq_strbuf tags;       /* eng_tag per result in out (split runs) */
    event_copy **evs;  /* split runs: every event of the chunk, for the ordered rules */
    size_t nevs, evcap;
} slot;

typedef struct par {
    eng *e;
    const char *path;
    const char *data;
    size_t size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_start;
    uint64_t next_index, emit_index;
    /* Lines are counted only when a bad record must be reported. */
    size_t counted_to;
    uint64_t counted_lines;
    size_t swept; /* input before this has been dropped after emission */
    bool stop;
    bool no_runner; /* a worker could not start its matchers */
    eng_runner *ordered; /* split runs: the ordered rules, fed here in order */
    event_view view;
    eq_strbuf seq_out, seq_tags; /* the ordered rules' results for one event */
    slot slots[WINDOW];
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

static void note_bad(slot *s, uint64_t line, const char *reason)
{
    s->bad++;
    eq_strbuf_bytes(&s->errs, &line, sizeof line);
    eq_strbuf_bytes(&s->errs, reason, strlen(reason) + 1);
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
        if (s->start + rec.offset > dropped + DROP_STEP) {
            drop_pages(p, dropped, s->start + rec.offset);
            dropped = s->start + rec.offset;
        }
        if (k != EQLITE_READ_EVENT) {
            note_bad(s, rec.number, rec.reason);
            if (k == EQLITE_READ_FATAL || p->e->opt.strict) {
                s->status = 2;
                break;
            }
            continue;
        }
        eng_text text = {rec.text, rec.len, rd};
        ev.user = &text;
        s->events++;
        if (p->ordered) {
            if (s->nevs == s->evcap) {
                size_t cap = s->evcap ? s->evcap * 2 : 4096;
                event_copy **evs = realloc(s->evs, cap * sizeof *evs);
                if (!evs) {
                    s->status = eng_out_of_memory("handing events to the ordered rules");
                    break;
                }
                s->evs = evs;
                s->evcap = cap;
            }
            /* the text stays in the mapping until the run ends (a dropped page
             * faults back in), and a kept event copies it (retain_text) */
            bool in_mapping = rec.text != NULL; /* else a converted record's text, in the reader */
            if (!in_mapping && eqlite_reader_text(rd, &rec.text, &rec.len) != EQLITE_OK) {
                s->status = eng_out_of_memory("handing events to the ordered rules");
                break;
            }
            event_copy *c = event_copy_make(&ev, &rec, p->e->ordered_fields, p->e->nordered_fields, in_mapping);
            if (!c) {
                s->status = eng_out_of_memory("handing events to the ordered rules");
                break;
            }
            eng_runner_set_tags(r, &s->tags, (uint32_t)s->nevs);
            s->evs[s->nevs++] = c;
        }
        if ((s->status = eng_runner_feed(r, &ev, &rec)) != 0)
            break;
    }
    s->matches = eng_runner_matches(r) - matches_before;
    drop_pages(p, dropped, s->end);
    eqlite_reader_close(rd);
}

/* Next chunk to run, or NULL when the file is done. Called locked. */
static slot *take(par *p)
{
    while (!p->stop && p->next_start < p->size) {
        if (p->next_index < p->emit_index + WINDOW) {
            slot *s = &p->slots[p->next_index % WINDOW];
            s->state = SLOT_TAKEN;
            s->index = p->next_index++;
            s->data = p->data;
            s->start = p->next_start;
            s->end = s->start + CHUNK_BYTES < p->size ? s->start + CHUNK_BYTES : p->size;
            const char *nl = s->end < p->size ? memchr(p->data + s->end, '\n', p->size - s->end) : NULL;
            s->end = nl ? (size_t)(nl - p->data) + 1 : p->size;
            s->events = s->bad = s->matches = 0;
            p->next_start = s->end;
            return s;
        }
        pthread_cond_wait(&p->cv, &p->mu);
    }
    return NULL;
}

static void *worker(void *arg)
{
    par *p = arg;
    eng_runner *r = p->ordered ? eng_runner_new_subset(p->e, NULL, ENG_PLAIN) : eng_runner_new(p->e, NULL);
    pthread_mutex_lock(&p->mu);
    for (slot *s; r && (s = take(p));) {
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, r, s);
        pthread_mutex_lock(&p->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&p->cv);
    }
    if (!r)
        p->stop = p->no_runner = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
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
    for (size_t k = 0; k < s->nevs; k++)
        free(s->evs[k]);
    s->nevs = 0;
}

/* Copies results [*at, up to the tags' ends) of one side whose tag says
 * `rule` comes first. */
static void copy_result(eq_strbuf *to, const eq_strbuf *from, uint64_t *start, uint64_t end)
{
    if (to && end > *start)
        eq_strbuf_bytes(to, from->data + *start, (size_t)(end - *start));
    *start = end;
}

/* Split runs: each event of the chunk through the ordered rules, in order,
 * and both sides' results for it merged by rule index, as -j 1 orders them. */
static int merge_chunk(par *p, slot *s)
{
    eng *e = p->e;
    const eng_tag *ptags = (const eng_tag *)s->tags.data;
    size_t nptags = s->tags.len / sizeof *ptags, pi = 0;
    uint64_t pstart = 0;
    int status = 0;
    for (size_t k = 0; k < s->nevs && status == 0; k++) {
        eqlite_event ev;
        if (!event_view_fill(&p->view, s->evs[k], &ev)) {
            status = eng_out_of_memory("feeding the ordered rules");
            break;
        }
        eqlite_record rec = {.text = s->evs[k]->text.text, .len = s->evs[k]->text.len, .file = p->path,
                             .number = s->evs[k]->line, .source = "", .reason = ""};
        p->seq_out.len = p->seq_tags.len = 0;
        eng_runner_set_out(p->ordered, &p->seq_out);
        eng_runner_set_lines(p->ordered, chunk_line, s);
        eng_runner_set_tags(p->ordered, &p->seq_tags, (uint32_t)k);
        if (!eng_runner_stopped(p->ordered))
            status = eng_runner_feed(p->ordered, &ev, &rec);
        const eng_tag *stags = (const eng_tag *)p->seq_tags.data;
        size_t nstags = p->seq_tags.len / sizeof *stags, si = 0;
        uint64_t sstart = 0;
        while ((pi < nptags && ptags[pi].event == k) || si < nstags) {
            bool plain = pi < nptags && ptags[pi].event == k && (si == nstags || ptags[pi].rule < stags[si].rule);
            if (plain)
                copy_result(e->out, &s->out, &pstart, ptags[pi++].end);
            else
                copy_result(e->out, &p->seq_out, &sstart, stags[si++].end);
        }
        if (status == 0 && e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd))
            status = 2;
    }
    free_events(s);
    s->out.len = s->tags.len = 0;
    if (status == 0 && p->seq_out.failed)
        status = eng_out_of_memory("collecting results");
    return status;
}

/* Writes a finished chunk; returns non-zero to stop. */
static int emit(par *p, slot *s)
{
    eng *e = p->e;
    uint64_t base = s->errs.len ? line_base(p, s) : 0;
    for (size_t k = 0; k < s->errs.len;) {
        uint64_t line;
        memcpy(&line, s->errs.data + k, sizeof line);
        const char *reason = s->errs.data + k + sizeof line;
        eng_report_bad(e, p->path, base + line, reason);
        k += sizeof line + strlen(reason) + 1;
    }
    s->errs.len = 0;
    /* a buffer whose growth failed may be empty: its results are lost */
    if (s->out.failed || s->errs.failed || s->tags.failed || (e->out && e->out->failed))
        return eng_out_of_memory("collecting results");
    if (p->ordered && s->status == 0) {
        int st = merge_chunk(p, s);
        if (st)
            return st;
    }
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

static int emit_all(par *p)
{
    int status = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        slot *s = &p->slots[p->emit_index % WINDOW];
        if (s->state == SLOT_DONE && s->index == p->emit_index) {
            pthread_mutex_unlock(&p->mu);
            int st = emit(p, s);
            pthread_mutex_lock(&p->mu);
            s->state = SLOT_FREE;
            p->emit_index++;
            pthread_cond_broadcast(&p->cv);
            if (st) {
                status = st;
                p->stop = true;
                break;
            }
            continue;
        }
        if ((p->stop || p->next_start >= p->size) && p->emit_index == p->next_index)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    if (status == 0 && p->no_runner)
        status = eng_out_of_memory("starting the matchers");
    pthread_mutex_unlock(&p->mu);
    return status;
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

/* -j 1 over a mapped file: the same chunks, run and written in this thread. */
static int run_inline(par *p)
{
    eng_runner *r = eng_runner_new(p->e, NULL);
    int status = r ? 0 : eng_out_of_memory("starting the matchers");
    slot *s;
    while (status == 0 && (s = take(p))) {
        run_chunk(p, r, s);
        status = emit(p, s);
        s->state = SLOT_FREE;
        p->emit_index++;
    }
    eng_runner_free(r);
    return status;
}

static void free_slots(par *p)
{
    for (int k = 0; k < WINDOW; k++) {
        eq_strbuf_free(&p->slots[k].out);
        eq_strbuf_free(&p->slots[k].errs);
        eq_strbuf_free(&p->slots[k].tags);
        free_events(&p->slots[k]);
        free(p->slots[k].evs);
    }
    eq_strbuf_free(&p->seq_out);
    eq_strbuf_free(&p->seq_tags);
    event_view_free(&p->view);
}

int eng_run_parallel(eng *e, const char *path, int jobs, eng_runner *ordered)
{
    par *p = calloc(1, sizeof *p);
    if (!p)
        return eng_out_of_memory("starting the run");
    p->e = e;
    p->path = path;
    p->ordered = ordered;
    eng_progress_file(e, ENG_STEP_MATCH, path);
    if (map_file(path, &p->data, &p->size) != 0) {
        fprintf(stderr, "eqlite: cannot read %s\n", path);
        free(p);
        return 2;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (jobs == 1) {
        int status = run_inline(p);
        munmap((void *)p->data, p->size);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free_slots(p);
        free(p);
        return status;
    }
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    int started = 0;
    while (threads && started < jobs && pthread_create(&threads[started], NULL, worker, p) == 0)
        started++;
    int status = started ? emit_all(p) : eng_out_of_memory("starting the workers");
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    free(threads);
    e->stopped |= ordered && eng_runner_stopped(ordered);
    free_slots(p);
    if (p->data)
        munmap((void *)p->data, p->size);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
    return status;
}
