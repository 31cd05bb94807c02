/* order_check.c: is a plain NDJSON file already in (timestamp, tiebreaker)
 * order? Decided before a run that needs order, so that a sorted file (the
 * usual case) streams in one pass and only an unsorted one is indexed.
 *
 * The fast check reads only line starts: a line that begins
 * {"@timestamp":"ISO-8601 text"} and names the timestamp field nowhere else
 * has that timestamp, whatever the rest holds (a bad line among good ones
 * cannot hide disorder: a sequence in order stays in order without it). A
 * line of any other shape, a tiebreaker field or a date format hands the
 * whole file to the reader, which projects only the timestamp and
 * tiebreaker. */
#define _DEFAULT_SOURCE /* madvise */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static fast_verdict fast_check(const char *p, size_t n, const char *ts, size_t tslen, int64_t *last, bool *have)
{
    char head[300];
    if (tslen + 6 > sizeof head)
        return FAST_UNDECIDED;
    size_t hlen = (size_t)snprintf(head, sizeof head, "{\"%s\":\"", ts);
    const char *quoted = head + 1; /* "@timestamp" with its quotes */
    size_t qlen = tslen + 2, anchor = 1;
    for (size_t i = 1; i + 1 < qlen; i++) {
        if (!isalnum((unsigned char)quoted[i])) { /* letters are common, punctuation is not */
            anchor = i;
            break;
        }
    }
    const char *end = p + n, *dropped = p;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    while (p < end) {
        if ((size_t)(p - dropped) >= ((size_t)16 << 20)) { /* read once: resident memory stays flat */
            const char *upto = dropped + (size_t)(p - dropped) / page * page;
            madvise((void *)dropped, (size_t)(upto - dropped), MADV_DONTNEED);
            dropped = upto;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (s < le) {
            if ((size_t)(le - s) < hlen || memcmp(s, head, hlen) != 0)
                return FAST_UNDECIDED;
            const char *v = s + hlen, *q = v;
            while (q < le && *q != '"' && *q != '\\')
                q++;
            int64_t t;
            if (q >= le || *q != '"' || eqlite_date_parse(v, (size_t)(q - v), &t) != EQLITE_OK ||
                names_field(q, le, quoted, qlen, anchor))
                return FAST_UNDECIDED; /* escapes, a second spelling, or not a timestamp */
            if (*have && t < *last)
                return FAST_OUT_OF_ORDER;
            *last = t;
            *have = true;
        }
        p = nl ? nl + 1 : end;
    }
    return FAST_IN_ORDER;
}

/* The reader's view: only events count; bad records are left to the run. */
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

static int reader_check(eqlite_reader *rd, order_last *st, bool *in_order)
{
    eqlite_event ev;
    eqlite_record rec;
    int k, status = 0;
    while ((k = eqlite_reader_next(rd, &ev, &rec)) != EQLITE_READ_EOF) {
        if (k == EQLITE_READ_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            status = 2;
            break;
        }
        if (k == EQLITE_READ_EVENT && !order_accept(st, &ev)) {
            *in_order = false;
            break;
        }
    }
    eqlite_reader_close(rd);
    return status;
}

static int path_check(const eng *e, const char *path, order_last *st, bool *in_order)
{
    eqlite_reader_options o;
    eng_order_reader_options(e, &o, NULL);
    eqlite_reader *rd;
    char err[512];
    if (eqlite_reader_open_path(path, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: cannot read %s: %s\n", path, err);
        return 2;
    }
    return reader_check(rd, st, in_order);
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
    int status = reader_check(rd, &st, in_order);
    free(st.tb_text);
    return status;
}

int eng_files_in_order(eng *e, char *const *paths, size_t npaths, bool *in_order)
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
    order_last st = {0};
    int status = 0;
    for (size_t k = 0; k < npaths && *in_order && status == 0; k++) {
        eng_progress_file(e, ENG_STEP_CHECK_ORDER, paths[k]);
        fast_verdict v = FAST_UNDECIDED;
        if (fast_ok) {
            int fd = open(paths[k], O_RDONLY);
            struct stat sb;
            if (fd >= 0 && fstat(fd, &sb) == 0 && sb.st_size > 0) {
                void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (map != MAP_FAILED) {
                    madvise(map, (size_t)sb.st_size, MADV_SEQUENTIAL);
                    int64_t before = last;
                    bool had = have;
                    v = fast_check(map, (size_t)sb.st_size, ts, strlen(ts), &last, &have);
                    if (v == FAST_UNDECIDED) { /* the reader redoes this file */
                        last = before;
                        have = had;
                    }
                    munmap(map, (size_t)sb.st_size);
                }
            } else if (fd >= 0 && sb.st_size == 0) {
                v = FAST_IN_ORDER;
            }
            if (fd >= 0)
                close(fd);
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
        } else if (have) {
            eqlite_event prev = {.timestamp = last};
            order_accept(&st, &prev);
        }
    }
    free(st.tb_text);
    return status;
}
