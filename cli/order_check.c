/* order_check.c: is a plain NDJSON file already in (timestamp, tiebreaker)
 * order? Decided before a run that needs order, so that a sorted file (the
 * usual case) streams in one pass and only an unsorted one is indexed.
 *
 * The fast check reads only line starts: a line that begins
 * {"@timestamp":"ISO-8601 text"} (and, for a dotted name, spells the field
 * nowhere else) has that timestamp, whatever the rest holds, or is a bad
 * record (a bad line among good ones cannot hide disorder: a sequence in
 * order stays in order without it). A line of any other shape, a
 * tiebreaker field or a date format hands the whole file to the reader,
 * which projects only the timestamp and tiebreaker. */
#define _DEFAULT_SOURCE /* posix_fadvise */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"

typedef enum { FAST_IN_ORDER, FAST_OUT_OF_ORDER, FAST_UNDECIDED } fast_verdict;

/* Whether the quoted field name occurs in [p, end): memchr for its byte at
 * `anchor` (one that is rare in JSON text, such as the '@' of "@timestamp"),
 * then a compare. Several times faster than memmem on every line, and the
 * scans stay inside the mapping: the line ends where the file does. */
static bool names_field(const char *p, const char *end, const char *quoted, size_t qlen, size_t anchor)
{
    for (const char *x = p + anchor; x < end && (x = memchr(x, quoted[anchor], (size_t)(end - x))) != NULL; x++) {
        const char *at = x - anchor;
        if ((size_t)(end - at) >= qlen && memcmp(at, quoted, qlen) == 0)
            return true;
    }
    return false;
}

static bool is_digit(char c) { return (unsigned char)(c - '0') < 10; }

/* How timestamp text b sorts against a, the one before it, without parsing
 * b: when both are as long, end in 'Z' and lay out digits and separators
 * alike, every field has the same width at the same place, so their bytes
 * compare as the instants do. -1 earlier, 0 equal, 1 later; 2 when the
 * layouts differ (then b is parsed). */
static int compare_same_layout(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen || alen == 0 || a[alen - 1] != 'Z' || b[blen - 1] != 'Z')
        return 2;
    size_t d = 0; /* the first byte that differs: eight at a time, then one */
    for (uint64_t x, y; d + 8 <= alen; d += 8) {
        memcpy(&x, a + d, 8);
        memcpy(&y, b + d, 8);
        if (x != y)
            break;
    }
    while (d < alen && a[d] == b[d])
        d++;
    if (d == alen)
        return 0;
    for (size_t j = d; j < alen; j++)
        if (is_digit(a[j]) != is_digit(b[j]) || (!is_digit(a[j]) && a[j] != b[j]))
            return 2;
    return (unsigned char)a[d] < (unsigned char)b[d] ? 1 : -1;
}

/* The fast check's state across lines (and files). */
typedef struct line_check {
    char head[300];      /* {"@timestamp":" */
    size_t hlen;
    const char *quoted;  /* "@timestamp" with its quotes, inside head */
    size_t qlen, anchor; /* anchor: a byte of quoted rare in JSON text */
    /* A dotted name has other spellings, which only a search of the line
     * finds. An undotted one has none: the same key again in the object
     * makes the record bad (Elasticsearch rejects duplicate fields, so
     * does the reader), and a bad line cannot hide disorder. */
    bool dotted;
    const char *prev;    /* the previous line's timestamp text, in the buffer or in saved */
    size_t prev_len;     /* 0: none kept (a longer text, which was parsed) */
    char saved[64];      /* prev, when the buffer moves on */
    bool stale;          /* *last is not yet prev's instant */
    int64_t *last;
    bool *have;
    int64_t first;       /* the first timestamp this check parsed with none before (a piece's first) */
    bool have_first;
} line_check;

static bool line_check_init(line_check *c, const char *ts, int64_t *last, bool *have)
{
    memset(c, 0, sizeof *c);
    size_t tslen = strlen(ts);
    if (tslen + 6 > sizeof c->head)
        return false;
    c->hlen = (size_t)snprintf(c->head, sizeof c->head, "{\"%s\":\"", ts);
    c->quoted = c->head + 1;
    c->qlen = tslen + 2;
    c->dotted = memchr(ts, '.', tslen) != NULL;
    c->anchor = 1;
    for (size_t i = 1; i + 1 < c->qlen; i++) {
        if (!isalnum((unsigned char)c->quoted[i])) { /* letters are common, punctuation is not */
            c->anchor = i;
            break;
        }
    }
    c->last = last;
    c->have = have;
    return true;
}

/* One line [s, le), without its newline: FAST_IN_ORDER goes on. */
static fast_verdict check_line(line_check *c, const char *s, const char *le)
{
    while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    if (s == le)
        return FAST_IN_ORDER;
    if ((size_t)(le - s) < c->hlen || memcmp(s, c->head, c->hlen) != 0)
        return FAST_UNDECIDED;
    const char *v = s + c->hlen, *q = memchr(v, '"', (size_t)(le - v));
    if (!q || memchr(v, '\\', (size_t)(q - v)) || (c->dotted && names_field(q, le, c->quoted, c->qlen, c->anchor)))
        return FAST_UNDECIDED; /* escapes, or a second spelling ({"a.b":..} and {"a":{"b":..}}) */
    /* a timestamp laid out as the one before compares by its bytes; the
     * instant is parsed only when the layout changes and at the end */
    size_t vlen = (size_t)(q - v);
    int order = c->prev_len ? compare_same_layout(c->prev, c->prev_len, v, vlen) : 2;
    if (order == 2) {
        int64_t t;
        if ((c->stale && eqlite_date_parse(c->prev, c->prev_len, c->last) != EQLITE_OK) ||
            eqlite_date_parse(v, vlen, &t) != EQLITE_OK)
            return FAST_UNDECIDED; /* not a timestamp: the reader reports it */
        order = *c->have && t < *c->last ? -1 : 1;
        if (!*c->have && !c->have_first) {
            c->first = t;
            c->have_first = true;
        }
        *c->last = t;
        *c->have = true;
        c->stale = false;
    } else {
        c->stale = true; /* compared: as long as prev, so kept below */
    }
    if (order < 0)
        return FAST_OUT_OF_ORDER;
    c->prev = v;
    c->prev_len = vlen <= sizeof c->saved ? vlen : 0;
    return FAST_IN_ORDER;
}

/* The buffer moves on: the previous timestamp's text to the side. */
static void keep_prev(line_check *c)
{
    if (c->prev_len && c->prev != c->saved) {
        memcpy(c->saved, c->prev, c->prev_len);
        c->prev = c->saved;
    }
}

/* The lines of fd that start in [from, to) (a line begun before `to` is
 * read to its end), read as the reader reads: pread(2) into one buffer, so
 * the scan finds the bytes in cache and memory stays one buffer however
 * large the file (a mapping's pages had to be dropped as it went). A range
 * from the middle of a line starts at the next line. */
static fast_verdict fast_check(int fd, off_t from, off_t to, line_check *c, const bool *cancel)
{
    size_t cap = (size_t)1 << 20, have = 0;
    char *buf = malloc(cap);
    if (!buf)
        return FAST_UNDECIDED;
    off_t base = from > 0 ? from - 1 : 0; /* the file offset of buf[0]; from - 1 tells whether a line starts at from */
    bool skip = from > 0;                 /* up to the first line end: a line begun before the range */
    fast_verdict v = FAST_IN_ORDER;
    for (bool done = false; !done;) {
        if (cancel && __atomic_load_n(cancel, __ATOMIC_RELAXED)) { /* nobody waits for the verdict */
            v = FAST_UNDECIDED;
            break;
        }
        ssize_t got = pread(fd, buf + have, cap - have, base + (off_t)have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            v = FAST_UNDECIDED; /* the run reports it */
            break;
        }
        const char *p = buf, *end = buf + have + (size_t)got, *nl;
        if (skip && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            p = nl + 1;
            skip = false;
        }
        while (!skip && v == FAST_IN_ORDER && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (base + (p - buf) >= to) {
                done = true;
                break;
            }
            v = check_line(c, p, nl);
            p = nl + 1;
        }
        if (skip && got > 0) { /* no line end yet: nothing here to keep */
            base += (off_t)(end - buf);
            have = 0;
            continue;
        }
        if (done || v != FAST_IN_ORDER || got == 0) {
            if (!done && !skip && v == FAST_IN_ORDER && p < end && base + (p - buf) < to) /* the last line has no newline */
                v = check_line(c, p, end);
            break;
        }
        keep_prev(c);
        have = (size_t)(end - p); /* a line begun: to the front, the buffer grows if it is full */
        memmove(buf, p, have);
        base += (off_t)(p - buf);
        if (have == cap) {
            char *grown = cap < ((size_t)64 << 20) ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                v = FAST_UNDECIDED;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    keep_prev(c);
    free(buf);
    if (v == FAST_IN_ORDER && c->stale && eqlite_date_parse(c->prev, c->prev_len, c->last) != EQLITE_OK)
        v = FAST_UNDECIDED;
    c->stale = false;
    return v;
}

/* The last event the check took: its timestamp, and its tiebreaker with a
 * copy of a string's bytes (the reader's move on). */
typedef struct order_last {
    bool have;
    eqlite_event ev;
    char *tb_text;
    size_t tb_cap;
} order_last;

/* False if ev comes before the last event taken (eqlite_event_order);
 * otherwise takes it. A tiebreaker it cannot keep (out of memory, an array)
 * is kept as null, which ties with any. */
static bool order_accept(order_last *o, const eqlite_event *ev)
{
    if (o->have && eqlite_event_order(ev, &o->ev) < 0)
        return false;
    o->have = true;
    o->ev = (eqlite_event){.timestamp = ev->timestamp, .tiebreaker = ev->tiebreaker};
    eqlite_value *tb = &o->ev.tiebreaker;
    if (tb->kind == EQLITE_STRING) {
        if (o->tb_cap < tb->len + 1) {
            char *grown = realloc(o->tb_text, tb->len + 1);
            if (!grown) {
                tb->kind = EQLITE_NULL;
                return true;
            }
            o->tb_text = grown;
            o->tb_cap = tb->len + 1;
        }
        if (tb->len)
            memcpy(o->tb_text, tb->u.s, tb->len);
        tb->u.s = o->tb_text;
    } else if (tb->kind == EQLITE_ARRAY) {
        tb->kind = EQLITE_NULL;
    }
    return true;
}

/* The reader's view: only events count; bad records are left to the run.
 * A fatal error (a truncated .gz) ends the input there: the run reads the
 * same records again, matches them and reports the error itself, so the
 * check returns INPUT_ENDS and says nothing. */
enum { INPUT_ENDS = -1 };
static int reader_check(eng *e, eqlite_reader *rd, order_last *st, bool *in_order)
{
    eqlite_event ev;
    eqlite_record rec;
    int k, status = 0;
    while ((k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF) {
        if (k == EQLITE_READ_FATAL) {
            status = INPUT_ENDS;
            break;
        }
        if (k == EQLITE_READ_EVENT && !order_accept(st, &ev)) {
            *in_order = false;
            break;
        }
    }
    eng_uncount_sources(e, rd); /* the run reads them again */
    eqlite_reader_close(rd);
    return status;
}

static int path_check(eng *e, const char *path, order_last *st, bool *in_order)
{
    eqlite_reader_options o;
    eng_order_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: cannot read %s: %s\n", path, err);
        return 2;
    }
    return reader_check(e, rd, st, in_order);
}

int eng_memory_in_order(eng *e, const char *data, size_t len, bool *in_order)
{
    *in_order = true;
    eqlite_reader_options o;
    eng_order_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_memory(data, len, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s\n", err);
        return 2;
    }
    order_last st = {0};
    int status = reader_check(e, rd, &st, in_order);
    free(st.tb_text);
    return status == INPUT_ENDS ? 0 : status;
}

static int files_in_order_serially(eng *e, char *const *paths, size_t npaths, bool *in_order)
{
    *in_order = true;
    const char *ts = e->opt.timestamp_field ? e->opt.timestamp_field : "@timestamp";
    bool fast_ok = *ts && !(e->opt.tiebreaker_field && *e->opt.tiebreaker_field);
    uint32_t id;
    if (fast_ok && eqlite_schema_lookup(e->schema, ts, strlen(ts), &id) == EQLITE_OK &&
        eqlite_mapping_date_format(e->mapping, id))
        fast_ok = false; /* a mapped date format: the reader decides */
    if (!*ts)
        return 0; /* every event at 0: any order is order */
    int64_t last = 0;
    bool have = false;
    line_check lc;
    if (fast_ok && !line_check_init(&lc, ts, &last, &have))
        fast_ok = false;
    order_last st = {0};
    int status = 0;
    for (size_t k = 0; k < npaths && *in_order && status == 0; k++) {
        eng_progress_file(e, ENG_STEP_CHECK_ORDER, paths[k]);
        fast_verdict v = FAST_UNDECIDED;
        if (fast_ok) {
            int fd = open(paths[k], O_RDONLY | O_CLOEXEC);
            if (fd >= 0) {
                posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
                int64_t before = last;
                bool had = have;
                v = fast_check(fd, 0, INT64_MAX, &lc, NULL);
                if (v == FAST_UNDECIDED) { /* the reader redoes this file */
                    last = before;
                    have = had;
                    lc.prev_len = 0;
                }
                close(fd);
            }
        }
        if (v == FAST_OUT_OF_ORDER) {
            *in_order = false;
        } else if (v == FAST_UNDECIDED) {
            if (have) { /* carry what the fast check saw into the reader's check */
                eqlite_event prev = {.timestamp = last};
                order_accept(&st, &prev);
            }
            fast_ok = false; /* one file needed the reader: the rest do too, keys carry over */
            status = path_check(e, paths[k], &st, in_order);
            if (status == INPUT_ENDS) { /* the run stops in this file: later ones do not count */
                status = 0;
                break;
            }
        } else if (have) {
            eqlite_event prev = {.timestamp = last};
            order_accept(&st, &prev);
        }
    }
    free(st.tb_text);
    return status;
}

/* ---- the fast check in parallel (-j) ------------------------------------ */

/* A piece of a file: the lines starting in [from, to), checked alone; its
 * first and last timestamps are compared with its neighbours' afterwards. */
typedef struct piece {
    int fd;
    off_t from, to;
    fast_verdict verdict;
    bool lines;         /* a timestamp was read */
    int64_t first, last;
} piece;

typedef struct pieces {
    const char *ts;
    piece *items;
    size_t n, next;
    size_t stop_at; /* pieces past the first that is not in order need no check */
    bool cancel;    /* the verdict is not wanted (the rules need no order): stop */
    pthread_mutex_t mu;
} pieces;

static void check_piece(const pieces *ps, piece *pc)
{
    int64_t last = 0;
    bool have = false;
    line_check lc;
    pc->verdict = line_check_init(&lc, ps->ts, &last, &have) ? fast_check(pc->fd, pc->from, pc->to, &lc, &ps->cancel) : FAST_UNDECIDED;
    pc->lines = have;
    pc->first = lc.first;
    pc->last = last;
}

static void *check_pieces(void *arg)
{
    pieces *ps = arg;
    pthread_mutex_lock(&ps->mu);
    while (ps->next < ps->n && ps->next <= ps->stop_at) {
        piece *pc = &ps->items[ps->next++];
        pthread_mutex_unlock(&ps->mu);
        check_piece(ps, pc);
        pthread_mutex_lock(&ps->mu);
        size_t at = (size_t)(pc - ps->items);
        if (pc->verdict != FAST_IN_ORDER && at < ps->stop_at)
            ps->stop_at = at;
    }
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

#define PIECE_MIN ((off_t)1 << 20)

/* Cuts the files into pieces, a few per job (threads that finish early
 * take more), opening each file once. False when a file cannot be opened or
 * sized, or memory runs out: the serial check then decides (and reports). */
static bool cut_pieces(char *const *paths, size_t npaths, int jobs, pieces *ps)
{
    off_t total = 0;
    struct stat st;
    for (size_t k = 0; k < npaths; k++)
        total += stat(paths[k], &st) == 0 ? st.st_size : 0;
    /* many per job: the threads end together (one begins while the rules compile) */
    off_t step = total / (16 * jobs) > PIECE_MIN ? total / (16 * jobs) : PIECE_MIN;
    for (size_t k = 0; k < npaths; k++) {
        int fd = open(paths[k], O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            return false;
        }
        off_t from = 0;
        do {
            piece *grown = realloc(ps->items, (ps->n + 1) * sizeof *grown);
            if (!grown) {
                if (from == 0)
                    close(fd);
                return false;
            }
            ps->items = grown;
            off_t to = st.st_size - from > step ? from + step : st.st_size;
            ps->items[ps->n++] = (piece){.fd = fd, .from = from, .to = to};
            from = to;
        } while (from < st.st_size);
    }
    return true;
}

static void close_pieces(pieces *ps)
{
    for (size_t k = 0; k < ps->n; k++)
        if (k == 0 || ps->items[k].fd != ps->items[k - 1].fd)
            close(ps->items[k].fd);
    free(ps->items);
}

/* The pieces' verdicts, in input order, as the serial check reads them:
 * the first piece not in order decides, and each piece's first timestamp
 * must not come before the last one read before it. Undecided: the
 * serial check decides (it redoes the work, the same way it would alone). */
static fast_verdict join_pieces(const pieces *ps)
{
    bool have = false;
    int64_t last = 0;
    for (size_t k = 0; k < ps->n; k++) {
        const piece *pc = &ps->items[k];
        if (pc->verdict != FAST_IN_ORDER)
            return pc->verdict;
        if (!pc->lines)
            continue;
        if (have && pc->first < last)
            return FAST_OUT_OF_ORDER;
        have = true;
        last = pc->last;
    }
    return FAST_IN_ORDER;
}

/* The timestamp field the fast check reads, or NULL when it cannot decide
 * (as the serial check: the reader decides). */
static const char *fast_check_field(const eng *e)
{
    const char *ts = e->opt.timestamp_field ? e->opt.timestamp_field : "@timestamp";
    uint32_t id;
    if (!*ts || (e->opt.tiebreaker_field && *e->opt.tiebreaker_field) ||
        (eqlite_schema_lookup(e->schema, ts, strlen(ts), &id) == EQLITE_OK && eqlite_mapping_date_format(e->mapping, id)))
        return NULL;
    return ts;
}

static bool start_pieces(pieces *ps, const char *ts, char *const *paths, size_t npaths, int jobs)
{
    *ps = (pieces){.ts = ts, .stop_at = SIZE_MAX};
    if (!cut_pieces(paths, npaths, jobs, ps)) {
        close_pieces(ps);
        return false;
    }
    pthread_mutex_init(&ps->mu, NULL);
    return true;
}

/* Checks what is left of the pieces in this thread and up to `more` new
 * ones, joins those and `running` (a thread already at it; NULL: none),
 * and returns the verdict. */
static fast_verdict finish_pieces(pieces *ps, int more, const pthread_t *running)
{
    pthread_t threads[15];
    int started = 0;
    while (started < more && started < 15 && (size_t)started + 1 < ps->n &&
           pthread_create(&threads[started], NULL, check_pieces, ps) == 0)
        started++;
    check_pieces(ps);
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    if (running)
        pthread_join(*running, NULL);
    pthread_mutex_destroy(&ps->mu);
    fast_verdict v = join_pieces(ps);
    close_pieces(ps);
    return v;
}

/* -j: the fast check over pieces of the files in `jobs` threads (this one
 * among them). Returns the verdict, FAST_UNDECIDED when it cannot run. */
static fast_verdict parallel_fast_check(eng *e, char *const *paths, size_t npaths, int jobs)
{
    const char *ts = fast_check_field(e);
    pieces ps;
    if (jobs < 2 || !ts || !start_pieces(&ps, ts, paths, npaths, jobs))
        return FAST_UNDECIDED;
    eng_progress_step(e, ENG_STEP_CHECK_ORDER, 0);
    return finish_pieces(&ps, jobs - 1, NULL);
}

/* A fast check begun before the rules compile, in one thread of its own. */
struct eng_early_check {
    pieces ps;
    char *const *paths;
    size_t npaths;
    pthread_t thread;
};

void eng_order_check_begin(eng *e, char *const *paths, size_t npaths, int jobs)
{
    const char *ts = fast_check_field(e);
    if (jobs < 2 || !npaths || !ts || e->early_check)
        return;
    for (size_t k = 0; k < npaths; k++)
        if (!eng_can_split(paths[k])) /* stdin, gzip, a JSON array: no fast check */
            return;
    eng_early_check *c = malloc(sizeof *c);
    if (!c || !start_pieces(&c->ps, ts, paths, npaths, jobs)) {
        free(c);
        return;
    }
    c->paths = paths;
    c->npaths = npaths;
    if (pthread_create(&c->thread, NULL, check_pieces, &c->ps) != 0) {
        pthread_mutex_destroy(&c->ps.mu);
        close_pieces(&c->ps);
        free(c);
        return;
    }
    e->early_check = c;
}

void eng_order_check_cancel(eng *e)
{
    eng_early_check *c = e->early_check;
    if (!c)
        return;
    e->early_check = NULL;
    pthread_mutex_lock(&c->ps.mu);
    c->ps.stop_at = 0; /* no piece more */
    pthread_mutex_unlock(&c->ps.mu);
    __atomic_store_n(&c->ps.cancel, true, __ATOMIC_RELAXED); /* and the one being read stops */
    pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->ps.mu);
    close_pieces(&c->ps);
    free(c);
}

/* The verdict of the check begun early for these files, or FAST_UNDECIDED
 * (none was begun, or for other files: it is dropped). */
static fast_verdict early_verdict(eng *e, char *const *paths, size_t npaths, int jobs)
{
    eng_early_check *c = e->early_check;
    if (!c || c->paths != paths || c->npaths != npaths) {
        eng_order_check_cancel(e);
        return FAST_UNDECIDED;
    }
    e->early_check = NULL;
    eng_progress_step(e, ENG_STEP_CHECK_ORDER, 0);
    fast_verdict v = finish_pieces(&c->ps, jobs - 2, &c->thread); /* this thread helps: jobs in all */
    free(c);
    return v;
}

int eng_files_in_order(eng *e, char *const *paths, size_t npaths, int jobs, bool *in_order)
{
    fast_verdict v = e->early_check ? early_verdict(e, paths, npaths, jobs) : FAST_UNDECIDED;
    if (v == FAST_UNDECIDED)
        v = parallel_fast_check(e, paths, npaths, jobs);
    if (v == FAST_UNDECIDED)
        return files_in_order_serially(e, paths, npaths, in_order);
    *in_order = v == FAST_IN_ORDER;
    return 0;
}
