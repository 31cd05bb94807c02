/* ordered.c: runs that need (timestamp, tiebreaker) order (sequences,
 * samples). Pass 1 reads every input once, keeps the text of each accepted
 * event (NDJSON, one line each) and its sort key; files are then sorted if
 * they are not already in order (stdin is not: out-of-order events are
 * reported and skipped); pass 2 re-reads the kept text in order and feeds it.
 * The text must stay in memory anyway: a sequence result names events seen
 * long before it completes. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "outbuf.h"

typedef struct kept {
    int64_t ts;
    uint32_t tb_kind; /* EQLITE_NULL, EQLITE_INT, EQLITE_DOUBLE, EQLITE_STRING */
    uint32_t tb_len;
    union {
        int64_t i;
        double d;
        size_t off; /* into keys text */
    } tb;
    size_t off, len; /* the event text in the kept text */
    size_t seq;      /* input position: equal keys keep it */
} kept;

typedef struct collection {
    outbuf text; /* kept events, '\n' after each */
    outbuf keys; /* string tiebreakers */
    kept *items;
    size_t n, cap;
    bool from_stdin;
} collection;

static const outbuf *g_keys; /* qsort has no user pointer; set only around the sort */

static int cmp_num(double a, double b) { return a < b ? -1 : a > b; }

static int cmp_tiebreaker(const kept *a, const kept *b)
{
    if (a->tb_kind != b->tb_kind) {
        bool an = a->tb_kind == EQLITE_INT || a->tb_kind == EQLITE_DOUBLE;
        bool bn = b->tb_kind == EQLITE_INT || b->tb_kind == EQLITE_DOUBLE;
        if (an && bn)
            return cmp_num(a->tb_kind == EQLITE_INT ? (double)a->tb.i : a->tb.d,
                           b->tb_kind == EQLITE_INT ? (double)b->tb.i : b->tb.d);
        return a->tb_kind < b->tb_kind ? -1 : 1; /* null, then numbers, then strings */
    }
    switch (a->tb_kind) {
    case EQLITE_INT: return a->tb.i < b->tb.i ? -1 : a->tb.i > b->tb.i;
    case EQLITE_DOUBLE: return cmp_num(a->tb.d, b->tb.d);
    case EQLITE_STRING: {
        size_t n = a->tb_len < b->tb_len ? a->tb_len : b->tb_len;
        int c = memcmp(g_keys->data + a->tb.off, g_keys->data + b->tb.off, n);
        return c ? c : (a->tb_len > b->tb_len) - (a->tb_len < b->tb_len);
    }
    default: return 0;
    }
}

static int cmp_key(const kept *a, const kept *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return cmp_tiebreaker(a, b);
}

static int cmp_kept(const void *pa, const void *pb)
{
    const kept *a = pa, *b = pb;
    int c = cmp_key(a, b);
    return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static kept key_of(collection *c, const eqlite_event *ev)
{
    kept k = {.ts = ev->timestamp, .tb_kind = EQLITE_NULL, .seq = c->n};
    const eqlite_value *tb = &ev->tiebreaker;
    if (tb->kind == EQLITE_INT || tb->kind == EQLITE_DOUBLE || tb->kind == EQLITE_BOOL) {
        k.tb_kind = tb->kind == EQLITE_BOOL ? EQLITE_INT : tb->kind;
        if (tb->kind == EQLITE_DOUBLE)
            k.tb.d = tb->u.d;
        else
            k.tb.i = tb->kind == EQLITE_BOOL ? tb->u.b : tb->u.i;
    } else if (tb->kind == EQLITE_STRING) {
        k.tb_kind = EQLITE_STRING;
        k.tb.off = c->keys.len;
        k.tb_len = tb->len;
        ob_bytes(&c->keys, tb->u.s, tb->len);
    }
    return k;
}

static bool keep(collection *c, const eqlite_event *ev, const eq_ndjson_record *rec)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        kept *items = realloc(c->items, cap * sizeof *items);
        if (!items)
            return false;
        c->items = items;
        c->cap = cap;
    }
    kept k = key_of(c, ev);
    k.off = c->text.len;
    k.len = rec->len;
    ob_bytes(&c->text, rec->text, rec->len);
    ob_char(&c->text, '\n');
    c->items[c->n++] = k;
    return !c->text.failed && !c->keys.failed;
}

/* Stdin is never sorted: an event older than the newest kept one is reported. */
static bool in_order(collection *c, const eqlite_event *ev)
{
    if (!c->from_stdin || c->n == 0)
        return true;
    kept probe = key_of(c, ev);
    g_keys = &c->keys;
    bool ok = cmp_key(&c->items[c->n - 1], &probe) <= 0;
    if (probe.tb_kind == EQLITE_STRING)
        c->keys.len -= probe.tb_len;
    return ok;
}

static int collect(eng *e, collection *c, eq_ndjson *rd)
{
    eqlite_event ev;
    eq_ndjson_record rec;
    for (;;) {
        int k = eq_ndjson_next(rd, &ev, &rec);
        if (k == EQ_NDJSON_EOF)
            break;
        if (k == EQ_NDJSON_FATAL) {
            fprintf(stderr, "%s: %s\n", rec.file, rec.reason);
            return 2;
        }
        if (k == EQ_NDJSON_BAD || !in_order(c, &ev)) {
            if (k != EQ_NDJSON_BAD)
                e->totals.out_of_order++;
            eng_report_bad(e, rec.file, rec.line,
                           k == EQ_NDJSON_BAD ? rec.reason : "event out of (timestamp, tiebreaker) order");
            if (e->opt.strict)
                return 2;
            continue;
        }
        if (!keep(c, &ev, &rec)) {
            fprintf(stderr, "eqlite: out of memory keeping events for ordering\n");
            return 2;
        }
    }
    eq_ndjson_stats st;
    eq_ndjson_stats_get(rd, &st);
    e->totals.bytes += st.bytes_out;
    return 0;
}

static bool sorted(const collection *c)
{
    for (size_t k = 1; k < c->n; k++)
        if (cmp_kept(&c->items[k - 1], &c->items[k]) > 0)
            return false;
    return true;
}

/* Sorts the kept events and rewrites the text in that order. */
static int sort_text(collection *c)
{
    g_keys = &c->keys;
    if (sorted(c))
        return 0;
    qsort(c->items, c->n, sizeof *c->items, cmp_kept);
    outbuf text = {0};
    for (size_t k = 0; k < c->n; k++) {
        ob_bytes(&text, c->text.data + c->items[k].off, c->items[k].len + 1);
        c->items[k].off = text.len - c->items[k].len - 1;
    }
    if (text.failed) {
        ob_free(&text);
        return eng_out_of_memory("sorting the events");
    }
    ob_free(&c->text);
    c->text = text;
    return 0;
}

/* Pass 2: the kept text, in order, through one matcher per rule. */
static int feed_kept(eng *e, collection *c)
{
    eq_ndjson_options o;
    eng_reader_options(e, &o, "<ordered>");
    eq_ndjson *rd;
    char err[512];
    o.profiles = NULL; /* the text kept is already each record's ECS document */
    if (eq_ndjson_open_memory(c->text.data ? c->text.data : "", c->text.len, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s: %s\n", "<ordered>", err);
        return 2;
    }
    eng_runner *r = eng_runner_new(e, e->out);
    eng_text *texts = calloc(c->n + 1, sizeof *texts); /* event.user must outlive the feed */
    int status = r && texts ? 0 : eng_out_of_memory("starting the matchers");
    eqlite_event ev;
    eq_ndjson_record rec;
    size_t n = 0;
    while (status == 0 && n < c->n) {
        /* every kept event was read once already: anything but an event
         * here (out of memory) must end the run, not shorten it */
        int got = eq_ndjson_next(rd, &ev, &rec);
        if (got != EQ_NDJSON_EVENT) {
            fprintf(stderr, "eqlite: rereading kept events: %s\n", got == EQ_NDJSON_EOF ? "ended early" : rec.reason);
            status = 2;
            break;
        }
        texts[n] = (eng_text){c->text.data + rec.offset, rec.len};
        ev.user = &texts[n++];
        e->totals.events++;
        status = eng_runner_feed(r, &ev, &rec);
        if (eng_runner_stopped(r))
            break;
        if (e->out && e->out_fd >= 0 && !ob_maybe_write(e->out, e->out_fd))
            status = 2; /* ob_write said why */
    }
    if (status == 0)
        status = eng_runner_flush(r);
    if (r)
        e->totals.matches += eng_runner_matches(r);
    eng_runner_free(r);
    eq_ndjson_close(rd);
    free(texts);
    return status;
}

static int finish(eng *e, collection *c)
{
    int status = c->from_stdin ? 0 : sort_text(c);
    if (status == 0)
        status = feed_kept(e, c);
    ob_free(&c->text);
    ob_free(&c->keys);
    free(c->items);
    return status;
}

int eng_run_ordered(eng *e, char *const *paths, size_t npaths)
{
    collection c = {0};
    int status = 0;
    for (size_t k = 0; k < npaths && status == 0; k++) {
        c.from_stdin |= strcmp(paths[k], "-") == 0;
        eq_ndjson_options o;
        eng_reader_options(e, &o, NULL);
        eq_ndjson *rd;
        char err[512];
        if (eq_ndjson_open_path(paths[k], &o, &rd, err, sizeof err) != EQLITE_OK) {
            fprintf(stderr, "eqlite: cannot read %s: %s\n", paths[k], err);
            status = 2;
            break;
        }
        status = collect(e, &c, rd);
        eq_ndjson_close(rd);
    }
    if (status) {
        ob_free(&c.text);
        ob_free(&c.keys);
        free(c.items);
        return status;
    }
    return finish(e, &c);
}

int eng_run_ordered_memory(eng *e, const char *data, size_t len, const char *display_name)
{
    collection c = {0};
    eq_ndjson_options o;
    eng_reader_options(e, &o, display_name);
    eq_ndjson *rd;
    char err[512];
    if (eq_ndjson_open_memory(data, len, &o, &rd, err, sizeof err) != EQLITE_OK) {
        fprintf(stderr, "eqlite: %s: %s\n", display_name, err);
        return 2;
    }
    int status = collect(e, &c, rd);
    eq_ndjson_close(rd);
    if (status) {
        ob_free(&c.text);
        ob_free(&c.keys);
        free(c.items);
        return status;
    }
    return finish(e, &c);
}
