/* sort_index.c: runs that need (timestamp, tiebreaker) order over files that
 * are not in it. The events are never kept in memory: pass 1 reads each file
 * once (projecting only the timestamp and tiebreaker) into an index of
 * 24-byte entries (timestamp, tiebreaker key or line, file and byte offset);
 * the index is sorted, in memory up to --memory-limit and past it in sorted
 * runs on disk merged at the end; pass 2 reads the events back one by one in
 * index order (pread, so only the event being fed is resident) and feeds
 * them.
 *
 * A plain NDJSON file is read back where it is. A .gz file or JSON array
 * cannot be read at an offset, so pass 1 writes its records, one line each,
 * to an unlinked temporary file (TMPDIR, else /tmp) that pass 2 reads instead.
 *
 * Tiebreakers are ordered by a 62-bit key: null first, then numbers (as
 * doubles, the two lowest bits dropped), then strings (by their first 7
 * bytes). Entries whose timestamps and keys tie are read back and ordered
 * by their whole tiebreakers (the engine's order) before they are fed;
 * equal ones keep input order. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

#define DEFAULT_MEMORY_LIMIT ((size_t)256 << 20)
#define OFFSET_BITS 48 /* byte offset in a source; the bits above are the source */
#define MAX_SOURCES ((size_t)1 << (64 - OFFSET_BITS))
#define TICK_EVENTS 65536
#define RUN_BUFFER 4096 /* entries read at a time from each run when merging */
#define MERGE_FAN 16     /* runs of one level merged into one (see spill) */

typedef struct sort_entry {
    int64_t ts;
    uint64_t tb; /* tiebreaker key, or the line number when there is no tiebreaker */
    uint64_t pos; /* source << OFFSET_BITS | byte offset */
} sort_entry;

typedef struct source {
    const char *name;
    const char *mem; /* memory input (eng_run_ordered_memory), read in place */
    size_t memlen;
    int fd;          /* the file, or the record copy of a .gz file or array; -1 for memory */
    bool copy;       /* fd is a temporary copy */
    uint64_t copy_len;
    FILE *lines; /* a copy sorted by tiebreaker: record k's line in the original, at byte 8k */
    eqlite_reader *reader; /* pass 2: reads line_buf */
} source;

/* An entry of a tie group, with its whole tiebreaker (string bytes owned). */
typedef struct tied {
    sort_entry en;
    eqlite_value tb;
} tied;

typedef struct sorter {
    eng *e;
    bool has_tb;
    source *src;
    size_t nsrc;
    sort_entry *items; /* the run being filled */
    size_t n, cap;
    FILE **runs; /* sorted runs on disk, oldest first */
    unsigned char *levels; /* per run: how many merges made it (see spill) */
    size_t nruns;
    bool sorted; /* every entry so far came in order: no sort needed */
    sort_entry last;
    char *line_buf; /* pass 2: one event's line, then '\n' and padding */
    size_t line_cap;
    size_t guess; /* bytes read at first for one event: twice the average line */
    uint64_t indexed; /* entries indexed, in memory and in runs */
    tied *group;  /* pass 2: consecutive entries whose (timestamp, key) tie */
    size_t ngroup, capgroup;
    sort_entry feeding; /* pass 2: the entry being fed */
} sorter;

/* ---- keys ---------------------------------------------------------------- */

static uint64_t tiebreaker_key(const eqlite_value *v)
{
    if (v->kind == EQLITE_INT || v->kind == EQLITE_DOUBLE || v->kind == EQLITE_BOOL) {
        double d = v->kind == EQLITE_DOUBLE ? v->u.d : v->kind == EQLITE_INT ? (double)v->u.i : v->u.b;
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        bits = bits >> 63 ? ~bits : bits | UINT64_C(1) << 63; /* order-preserving */
        return UINT64_C(1) << 62 | bits >> 2;
    }
    if (v->kind == EQLITE_STRING) {
        uint64_t k = 0;
        for (uint32_t i = 0; i < 7; i++)
            k = k << 8 | (i < v->len ? (unsigned char)v->u.s[i] : 0);
        return UINT64_C(2) << 62 | k << 6;
    }
    return 0; /* null (and arrays, which the engine does not order by) */
}

/* (timestamp, tiebreaker key, input position); positions are unique, so
 * no two entries compare equal and the sort needs no stability. */
static inline int cmp_entries(const sorter *s, const sort_entry *a, const sort_entry *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (s->has_tb && a->tb != b->tb)
        return a->tb < b->tb ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* In place (glibc's qsort takes a copy of the array: twice the index at
 * the peak): quicksort, median of three, insertion sort for short ranges,
 * recursion on the smaller side only. */
static void sort_range(const sorter *s, sort_entry *a, size_t n)
{
    while (n > 16) {
        sort_entry *lo = a, *mid = a + n / 2, *hi = a + n - 1, t;
        if (cmp_entries(s, mid, lo) < 0)
            t = *mid, *mid = *lo, *lo = t;
        if (cmp_entries(s, hi, mid) < 0) {
            t = *hi, *hi = *mid, *mid = t;
            if (cmp_entries(s, mid, lo) < 0)
                t = *mid, *mid = *lo, *lo = t;
        }
        sort_entry pivot = *mid;
        size_t i = 0, j = n - 1;
        for (;;) {
            while (cmp_entries(s, &a[i], &pivot) < 0)
                i++;
            while (cmp_entries(s, &pivot, &a[j]) < 0)
                j--;
            if (i >= j)
                break;
            t = a[i], a[i] = a[j], a[j] = t;
            i++;
            j--;
        }
        size_t left = j + 1; /* [0, j] <= pivot <= [j + 1, n) */
        if (left < n - left) {
            sort_range(s, a, left);
            a += left;
            n -= left;
        } else {
            sort_range(s, a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        sort_entry v = a[i];
        size_t j = i;
        for (; j > 0 && cmp_entries(s, &v, &a[j - 1]) < 0; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* ---- temporary files ------------------------------------------------------- */

static int temp_fd(void)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/eqlite-sort-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path); /* gone when closed, whatever happens */
    else
        fprintf(stderr, "eqlite: cannot create a temporary file in %s: %s\n", dir && *dir ? dir : "/tmp",
                strerror(errno));
    return fd;
}

static FILE *temp_file(void)
{
    int fd = temp_fd();
    FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
    if (!f && fd >= 0) {
        fprintf(stderr, "eqlite: cannot open a temporary file: %s\n", strerror(errno));
        close(fd);
    }
    return f;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* ---- pass 1: the index ----------------------------------------------------- */

/* ---- sorted runs on disk ------------------------------------------------- */

typedef struct run_reader {
    FILE *f;
    sort_entry buf[RUN_BUFFER];
    size_t at, n;
} run_reader;

static bool run_next(run_reader *r, sort_entry *out)
{
    if (r->at == r->n) {
        r->n = fread(r->buf, sizeof *r->buf, RUN_BUFFER, r->f);
        r->at = 0;
        if (r->n == 0)
            return false;
    }
    *out = r->buf[r->at++];
    return true;
}

/* Runs merged into one order; of equal entries, the older run's first. */
typedef struct run_merge {
    size_t n;
    run_reader *rr;
    sort_entry *head;
    bool *live;
} run_merge;

static bool run_merge_open(run_merge *m, FILE **runs, size_t n)
{
    m->n = n;
    m->rr = calloc(n, sizeof *m->rr);
    m->head = calloc(n, sizeof *m->head);
    m->live = calloc(n, sizeof *m->live);
    if (!m->rr || !m->head || !m->live)
        return false;
    for (size_t k = 0; k < n; k++) {
        m->rr[k].f = runs[k];
        m->live[k] = run_next(&m->rr[k], &m->head[k]);
    }
    return true;
}

/* Runs are few (MERGE_FAN per level, see spill): a linear pick is enough. */
static bool run_merge_next(const sorter *s, run_merge *m, sort_entry *out)
{
    size_t best = SIZE_MAX;
    for (size_t k = 0; k < m->n; k++)
        if (m->live[k] && (best == SIZE_MAX || cmp_entries(s, &m->head[k], &m->head[best]) < 0))
            best = k;
    if (best == SIZE_MAX)
        return false;
    *out = m->head[best];
    m->live[best] = run_next(&m->rr[best], &m->head[best]);
    return true;
}

/* 0, or 2 (said) when a run could not be read back. */
static int run_merge_close(run_merge *m)
{
    int status = 0;
    for (size_t k = 0; m->rr && k < m->n; k++)
        if (m->rr[k].f && ferror(m->rr[k].f) && status == 0) {
            fprintf(stderr, "eqlite: cannot read a sort run back\n");
            status = 2;
        }
    free(m->rr);
    free(m->head);
    free(m->live);
    return status;
}

/* The last MERGE_FAN runs, of one level, become one run of the next level. */
static int merge_last_runs(sorter *s)
{
    size_t from = s->nruns - MERGE_FAN;
    FILE *out = temp_file();
    if (!out)
        return 2;
    run_merge m = {0};
    int status = run_merge_open(&m, s->runs + from, MERGE_FAN) ? 0 : eng_out_of_memory("merging the sort runs");
    sort_entry en;
    while (status == 0 && run_merge_next(s, &m, &en))
        if (fwrite(&en, sizeof en, 1, out) != 1)
            status = 3;
    int read_status = run_merge_close(&m);
    if (status == 3 || (status == 0 && fflush(out) != 0)) {
        fprintf(stderr, "eqlite: cannot write a sort run: %s\n", strerror(errno));
        status = 2;
    }
    if (status == 0)
        status = read_status;
    if (status) {
        fclose(out);
        return status;
    }
    rewind(out);
    for (size_t k = from; k < s->nruns; k++)
        fclose(s->runs[k]);
    s->runs[from] = out;
    s->levels[from]++;
    s->nruns = from + 1;
    return 0;
}

/* The run in memory goes to disk. Runs of one level are merged MERGE_FAN at
 * a time, so that however small --memory-limit is against the input, the
 * runs open at once stay few (MERGE_FAN per level; levels grow as the log of
 * the input) and each entry is rewritten once per level. */
static int spill(sorter *s)
{
    sort_range(s, s->items, s->n);
    FILE *f = temp_file();
    if (!f)
        return 2;
    FILE **runs = realloc(s->runs, (s->nruns + 1) * sizeof *runs);
    if (runs)
        s->runs = runs;
    unsigned char *levels = runs ? realloc(s->levels, s->nruns + 1) : NULL;
    if (levels)
        s->levels = levels;
    if (!levels || fwrite(s->items, sizeof *s->items, s->n, f) != s->n || fflush(f) != 0) {
        fclose(f);
        fprintf(stderr, "eqlite: cannot write a sort run: %s\n", levels ? strerror(errno) : "out of memory");
        return 2;
    }
    rewind(f);
    s->levels[s->nruns] = 0;
    s->runs[s->nruns++] = f;
    s->n = 0;
    while (s->nruns >= MERGE_FAN && s->levels[s->nruns - 1] == s->levels[s->nruns - MERGE_FAN]) {
        int status = merge_last_runs(s);
        if (status)
            return status;
    }
    return 0;
}

static int add_entry(sorter *s, const sort_entry *en)
{
    if (s->n + s->nruns && cmp_entries(s, &s->last, en) > 0)
        s->sorted = false;
    s->last = *en;
    if (s->n == s->cap) {
        size_t limit = s->e->opt.memory_limit ? s->e->opt.memory_limit : DEFAULT_MEMORY_LIMIT;
        size_t most = limit / sizeof *s->items;
        if (most < 1024)
            most = 1024;
        if (s->cap >= most) {
            int st = spill(s);
            if (st)
                return st;
        } else {
            size_t cap = s->cap ? s->cap * 2 : 4096;
            if (cap > most)
                cap = most;
            sort_entry *items = realloc(s->items, cap * sizeof *items);
            if (!items)
                return eng_out_of_memory("indexing the events for sorting");
            s->items = items;
            s->cap = cap;
        }
    }
    s->items[s->n++] = *en;
    s->indexed++;
    return 0;
}

/* Plain NDJSON is read back where it is; anything else is copied, one
 * record a line, into a temporary file. */
/* index_source's status when the input breaks off (a truncated .gz): the
 * records before the break are still sorted and run, as a stream would run
 * them, and the exit status is 2. */
enum { INPUT_ENDS = -1 };

static int index_source(sorter *s, size_t k, const char *path)
{
    eng *e = s->e;
    source *src = &s->src[k];
    eqlite_reader_options o;
    eng_order_reader_options(e, &o, src->name);
    o.lazy_text = 0; /* a converted record's text is copied for the second pass */
    eqlite_reader *rd;
    char err[512];
    eqlite_status st = src->mem ? eqlite_reader_open_memory(src->mem, src->memlen, &o, &rd, err, sizeof err)
                                : eqlite_reader_open_path(path, &o, &rd, err, sizeof err);
    if (st != EQLITE_OK) {
        fprintf(stderr, "eqlite: cannot read %s: %s\n", src->name, err);
        return 2;
    }
    if (src->copy && ((src->fd = temp_fd()) < 0 || (s->has_tb && !(src->lines = temp_file())))) {
        eqlite_reader_close(rd);
        return 2;
    }
    eng_progress_file(e, ENG_STEP_INDEX, src->name);
    eqlite_event ev;
    eqlite_record rec;
    int status = 0;
    for (int got; status == 0 && (got = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF;) {
        if (got == EQLITE_READ_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            status = INPUT_ENDS;
            break;
        }
        if (got == EQLITE_READ_BAD) {
            eng_report_bad(e, rec.file, rec.number, rec.reason);
            status = e->opt.strict ? 2 : 0;
            continue;
        }
        uint64_t offset = rec.offset;
        if (src->copy) {
            offset = src->copy_len;
            if (!write_all(src->fd, rec.text, rec.len) || !write_all(src->fd, "\n", 1) ||
                (src->lines && fwrite(&rec.number, sizeof rec.number, 1, src->lines) != 1)) {
                fprintf(stderr, "eqlite: cannot write a temporary copy of %s: %s\n", src->name, strerror(errno));
                status = 2;
                break;
            }
            src->copy_len += rec.len + 1;
        }
        if (offset >> OFFSET_BITS) {
            fprintf(stderr, "%s: too large to sort (over 256 TiB)\n", src->name);
            status = 2;
            break;
        }
        sort_entry en = {ev.timestamp, s->has_tb ? tiebreaker_key(&ev.tiebreaker) : rec.number,
                         (uint64_t)k << OFFSET_BITS | offset};
        status = add_entry(s, &en);
        if (++e->place.total % TICK_EVENTS == 0 && e->tick)
            e->tick(e->tick_user, &e->totals);
    }
    eqlite_reader_stats rs;
    eqlite_reader_stats_get(rd, &rs);
    e->totals.bytes += rs.bytes_out;
    if (status == 0 && src->lines && fflush(src->lines) != 0) {
        fprintf(stderr, "eqlite: cannot write a temporary copy of %s: %s\n", src->name, strerror(errno));
        status = 2;
    }
    eqlite_reader_close(rd);
    return status;
}

/* ---- pass 2: the events in index order ----------------------------------- */

/* The line at `offset` into line_buf, '\n' after it: one pread of the
 * usual size, more only for a longer line. */
static int read_line(sorter *s, source *src, uint64_t offset, size_t *len)
{
    size_t have = 0, want = s->guess;
    for (;;) {
        if (want > s->line_cap - 1)
            want = s->line_cap - 1;
        ssize_t got;
        if (src->mem) {
            size_t left = offset + have < src->memlen ? src->memlen - (size_t)offset - have : 0;
            got = (ssize_t)(want - have < left ? want - have : left);
            memcpy(s->line_buf + have, src->mem + offset + have, (size_t)got);
        } else {
            got = pread(src->fd, s->line_buf + have, want - have, (off_t)(offset + have));
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                return -1;
        }
        char *nl = memchr(s->line_buf + have, '\n', (size_t)got);
        have += (size_t)got;
        if (nl || got == 0 || have == s->line_cap - 1) {
            *len = nl ? (size_t)(nl - s->line_buf) : have;
            s->line_buf[*len] = '\n';
            return 0;
        }
        want = have * 2;
    }
}

/* The event of an entry, read back: EQLITE_READ_EVENT or _BAD, else
 * EQLITE_READ_FATAL (reported). */
static int reread(sorter *s, const sort_entry *en, eqlite_event *ev, eqlite_record *rec)
{
    source *src = &s->src[en->pos >> OFFSET_BITS];
    uint64_t offset = en->pos & ((UINT64_C(1) << OFFSET_BITS) - 1);
    size_t len;
    if (read_line(s, src, offset, &len) != 0 || eqlite_reader_seek(src->reader, 0, s->has_tb ? 0 : en->tb) != 0) {
        fprintf(stderr, "eqlite: %s: cannot reread the event at byte %llu: %s\n", src->name,
                (unsigned long long)offset, strerror(errno));
        return EQLITE_READ_FATAL;
    }
    int got = eqlite_reader_next(src->reader, ev, rec);
    if (got != EQLITE_READ_EVENT && got != EQLITE_READ_BAD) {
        fprintf(stderr, "eqlite: %s: rereading an event: %s\n", src->name,
                got == EQLITE_READ_EOF ? "ended early" : rec->reason);
        return EQLITE_READ_FATAL;
    }
    return got;
}

/* The line of the event being fed, when entries hold tiebreaker keys
 * instead: its line ends counted in the file up to it (only for a message).
 * In a record copy that count is the record's index into the original
 * lines kept beside it. */
static uint64_t line_in_file(void *ctx, const eqlite_record *rec)
{
    const sorter *s = ctx;
    const source *src = &s->src[s->feeding.pos >> OFFSET_BITS];
    uint64_t offset = s->feeding.pos & ((UINT64_C(1) << OFFSET_BITS) - 1), lines = 1;
    if (src->mem) {
        lines += eng_count_lines(src->mem, (size_t)offset);
    } else {
        char buf[1 << 16];
        for (uint64_t at = 0; at < offset;) {
            size_t want = offset - at < sizeof buf ? (size_t)(offset - at) : sizeof buf;
            ssize_t got = pread(src->fd, buf, want, (off_t)at);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                return rec->number;
            lines += eng_count_lines(buf, (size_t)got);
            at += (uint64_t)got;
        }
    }
    if (!src->copy)
        return lines;
    uint64_t original;
    if (!src->lines || pread(fileno(src->lines), &original, sizeof original, (off_t)((lines - 1) * sizeof original)) !=
                           (ssize_t)sizeof original)
        return rec->number;
    return original;
}

static int feed_entry(sorter *s, eng_runner *r, const sort_entry *en, uint64_t *fed)
{
    eng *e = s->e;
    s->feeding = *en;
    eqlite_event ev;
    eqlite_record rec;
    int got = reread(s, en, &ev, &rec);
    if (got == EQLITE_READ_FATAL)
        return 2;
    if (got == EQLITE_READ_BAD) { /* a value the mapping cannot convert: pass 1 did not look */
        eng_report_bad(e, rec.file, s->has_tb ? line_in_file(s, &rec) : rec.number, rec.reason);
        return e->opt.strict ? 2 : 0;
    }
    if (rec.notice[0])
        eng_note_malformed(e, rec.file, s->has_tb ? line_in_file(s, &rec) : rec.number, rec.notice);
    eng_text text = {rec.text, rec.len, s->src[en->pos >> OFFSET_BITS].reader};
    ev.user = &text;
    e->totals.events++;
    int status = eng_runner_feed(r, &ev, &rec);
    if (status == 0 && e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd))
        status = 2;
    if (++*fed % TICK_EVENTS == 0 && e->tick) {
        e->totals.matches = eng_runner_matches(r);
        e->tick(e->tick_user, &e->totals);
    }
    return status;
}

/* The engine's order of two tiebreakers of one key kind (numbers, or
 * strings compared bytewise), then input order. */
static int by_whole_tiebreaker(const void *x, const void *y)
{
    const tied *a = x, *b = y;
    /* kinds that do not compare tie; a record pass 2 cannot read is reported when fed */
    eqlite_event ea = {.tiebreaker = a->tb}, eb = {.tiebreaker = b->tb};
    int c = eqlite_event_order(&ea, &eb);
    return c ? c : (a->en.pos > b->en.pos) - (a->en.pos < b->en.pos);
}

/* Feeds a tie group in the order of its whole tiebreakers. */
static int feed_group(sorter *s, eng_runner *r, uint64_t *fed)
{
    int status = 0;
    for (size_t i = 0; i < s->ngroup && s->ngroup > 1 && status == 0; i++) {
        eqlite_event ev;
        eqlite_record rec;
        int got = reread(s, &s->group[i].en, &ev, &rec);
        eqlite_value tb = got == EQLITE_READ_EVENT ? ev.tiebreaker : (eqlite_value){0};
        if (got == EQLITE_READ_FATAL) {
            status = 2;
        } else if (tb.kind == EQLITE_STRING) { /* the reader's bytes last until its next record */
            char *copy = malloc(tb.len ? tb.len : 1);
            if (!copy)
                status = eng_out_of_memory("ordering tied tiebreakers");
            else if (tb.len)
                memcpy(copy, tb.u.s, tb.len);
            tb.u.s = copy;
        }
        s->group[i].tb = tb;
    }
    if (status == 0 && s->ngroup > 1)
        qsort(s->group, s->ngroup, sizeof *s->group, by_whole_tiebreaker);
    for (size_t i = 0; i < s->ngroup && status == 0 && !eng_runner_stopped(r); i++)
        status = feed_entry(s, r, &s->group[i].en, fed);
    for (size_t i = 0; i < s->ngroup; i++)
        if (s->group[i].tb.kind == EQLITE_STRING)
            free((char *)s->group[i].tb.u.s);
    s->ngroup = 0;
    return status;
}

/* Feeds entries in index order; those whose timestamp and key tie (a key
 * that may stand for several values: numbers, strings) wait as a group. */
static int feed_next(sorter *s, eng_runner *r, const sort_entry *en, uint64_t *fed)
{
    if (s->ngroup && (en->ts != s->group[0].en.ts || en->tb != s->group[0].en.tb)) {
        int status = feed_group(s, r, fed);
        if (status)
            return status;
    }
    if (!s->has_tb || en->tb >> 62 == 0) /* null tiebreakers tie with anything */
        return feed_entry(s, r, en, fed);
    if (s->ngroup == s->capgroup) {
        size_t cap = s->capgroup ? s->capgroup * 2 : 16;
        tied *g = realloc(s->group, cap * sizeof *g);
        if (!g)
            return eng_out_of_memory("ordering tied tiebreakers");
        s->group = g;
        s->capgroup = cap;
    }
    s->group[s->ngroup++] = (tied){*en, {0}};
    return 0;
}

static int feed_sorted(sorter *s)
{
    eng *e = s->e;
    /* one line buffer, read by one reader per source (each names its file) */
    s->line_cap = EQLITE_READ_MAX_RECORD + 2;
    /* + simdjson's padding; mapped rather than malloc'ed so that only the
     * pages lines reach become resident (whatever malloc debugging does) */
    void *buf = mmap(NULL, s->line_cap + 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        return eng_out_of_memory("sorting the events");
    s->line_buf = buf;
    memcpy(s->line_buf, "{}\n", 3); /* what the readers see when they open: NDJSON, not gzip */
    /* all of them: what is in memory when runs were spilled is no count
     * (a guess of a few events made every read megabytes long) */
    uint64_t events = s->indexed;
    uint64_t bytes = e->totals.bytes;
    s->guess = events ? (size_t)(bytes / events) * 2 + 64 : 4096;
    if (s->guess < 512)
        s->guess = 512;
    for (size_t k = 0; k < s->nsrc; k++) {
        eqlite_reader_options o;
        eng_reader_options(e, &o, s->src[k].name);
        if (s->src[k].copy) /* ECS documents already: a profile run on its own output can lose fields */
            o.source = "none";
        char err[512];
        if (eqlite_reader_open_memory(s->line_buf, s->line_cap, &o, &s->src[k].reader, err, sizeof err) != EQLITE_OK) {
            fprintf(stderr, "eqlite: %s: %s\n", s->src[k].name, err);
            return 2;
        }
    }
    eng_runner *r = eng_runner_new(e, e->out);
    if (!r)
        return eng_out_of_memory("starting the matchers");
    if (s->has_tb)
        eng_runner_set_lines(r, line_in_file, s);
    int status = 0;
    uint64_t fed = 0;
    if (s->nruns == 0) {
        if (!s->sorted) {
            eng_progress_step(e, ENG_STEP_SORT, s->n);
            sort_range(s, s->items, s->n);
        }
        eng_progress_step(e, ENG_STEP_MATCH, s->n);
        for (size_t i = 0; i < s->n && status == 0 && !eng_runner_stopped(r); i++)
            status = feed_next(s, r, &s->items[i], &fed);
    } else {
        eng_progress_step(e, ENG_STEP_SORT, s->n);
        status = s->n ? spill(s) : 0; /* the last run joins the others */
        eng_progress_step(e, ENG_STEP_MATCH, 0);
        free(s->items); /* the merge needs only the run buffers */
        s->items = NULL;
        s->cap = 0;
        run_merge m = {0};
        if (status == 0 && !run_merge_open(&m, s->runs, s->nruns))
            status = eng_out_of_memory("merging the sort runs");
        sort_entry en;
        while (status == 0 && !eng_runner_stopped(r) && run_merge_next(s, &m, &en))
            status = feed_next(s, r, &en, &fed);
        if (status == 0)
            status = run_merge_close(&m);
        else
            run_merge_close(&m);
    }
    if (status == 0 && !eng_runner_stopped(r))
        status = feed_group(s, r, &fed);
    e->stopped = eng_runner_stopped(r);
    return eng_runner_finish(e, r, status);
}

/* ---- the run ---------------------------------------------------------------- */

static void sorter_free(sorter *s)
{
    for (size_t k = 0; k < s->nsrc; k++) {
        /* pass 1 counted every record, as one pass does; pass 2 reads the
         * indexed ones again (or their ECS copies) */
        eng_uncount_sources(s->e, s->src[k].reader);
        eqlite_reader_close(s->src[k].reader);
        if (s->src[k].fd >= 0)
            close(s->src[k].fd);
        if (s->src[k].lines)
            fclose(s->src[k].lines);
    }
    for (size_t k = 0; k < s->nruns; k++)
        fclose(s->runs[k]);
    free(s->runs);
    free(s->levels);
    free(s->src);
    free(s->items);
    free(s->group);
    if (s->line_buf)
        munmap(s->line_buf, s->line_cap + 64);
}

static int sorter_init(sorter *s, eng *e, size_t nsrc)
{
    memset(s, 0, sizeof *s);
    s->e = e;
    s->has_tb = e->opt.tiebreaker_field && *e->opt.tiebreaker_field;
    s->sorted = true;
    if (nsrc > MAX_SOURCES) {
        fprintf(stderr, "eqlite: at most %zu inputs can be sorted together\n", MAX_SOURCES);
        return 2;
    }
    s->src = calloc(nsrc ? nsrc : 1, sizeof *s->src);
    if (!s->src)
        return eng_out_of_memory("sorting the events");
    s->nsrc = nsrc;
    for (size_t k = 0; k < nsrc; k++)
        s->src[k].fd = -1;
    return 0;
}

/* Pass 2 after pass 1 gave `status`: over everything indexed when the input
 * broke off, then 2 (the break was reported). */
static int feed_indexed(sorter *s, int status)
{
    if (status == INPUT_ENDS) {
        status = feed_sorted(s);
        return status ? status : 2;
    }
    return status == 0 ? feed_sorted(s) : status;
}

int eng_run_ordered(eng *e, char *const *paths, size_t npaths)
{
    sorter s;
    int status = sorter_init(&s, e, npaths);
    for (size_t k = 0; k < npaths && status == 0; k++) {
        source *src = &s.src[k];
        src->name = paths[k];
        src->copy = !eng_can_split(paths[k]);
        if (!src->copy && (src->fd = open(paths[k], O_RDONLY | O_CLOEXEC)) < 0) {
            fprintf(stderr, "eqlite: cannot read %s: %s\n", paths[k], strerror(errno));
            status = 2;
        }
        if (status == 0)
            status = index_source(&s, k, paths[k]);
    }
    status = feed_indexed(&s, status);
    sorter_free(&s);
    return status;
}

int eng_run_ordered_memory(eng *e, const char *data, size_t len, const char *display_name)
{
    sorter s;
    int status = sorter_init(&s, e, 1);
    if (status == 0) {
        /* lines of objects are read back in place; a .gz or array buffer is
         * copied to a temporary file */
        size_t k = 0;
        while (k < len && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r' || data[k] == '\n'))
            k++;
        s.src[0].name = display_name;
        s.src[0].mem = data;
        s.src[0].memlen = len;
        s.src[0].copy = !(k < len && data[k] == '{');
        status = index_source(&s, 0, NULL);
        if (s.src[0].copy)
            s.src[0].mem = NULL; /* pass 2 reads the copy */
        status = feed_indexed(&s, status);
    }
    sorter_free(&s);
    return status;
}
