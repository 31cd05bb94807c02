/* bench_sequence.c: sequence throughput and memory over a generated stream.
 *
 *   bench_sequence [--events N] [--keys K] [--mode three|compare]
 *
 * Events are generated on the fly (one reusable struct, 1 ms apart, keys
 * drawn uniformly from K host.id/process.entity_id pairs), so the process's
 * peak RSS is the engine's state plus a constant: run it once with 1M and
 * once with 10M events to see that the state is bounded by the maxspan
 * window, not the stream.
 *
 *  three:   sequence by host.id, process.entity_id with maxspan=1m, three
 *           stages; prints events/s, matches, stats and peak RSS.
 *  compare: a reference-style event query and a two-stage sequence over the
 *           same events; prints both rates and the ratio. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "eqlite.h"

enum { F_CATEGORY, F_TYPE, F_HOST, F_ENTITY, F_NAME, F_PARENT, F_PORT, F_EXT, F_COUNT };
static const char *const FIELD_NAMES[F_COUNT] = {
    "event.category", "event.type",          "host.id",          "process.entity_id",
    "process.name",   "process.parent.name", "destination.port", "file.extension"};
static const eqlite_type FIELD_TYPES[F_COUNT] = {
    EQLITE_T_KEYWORD, EQLITE_T_KEYWORD, EQLITE_T_KEYWORD, EQLITE_T_KEYWORD,
    EQLITE_T_KEYWORD, EQLITE_T_KEYWORD, EQLITE_T_LONG,    EQLITE_T_KEYWORD};

static const char THREE_STAGES[] =
    "sequence by host.id, process.entity_id with maxspan=1m\n"
    "  [process where event.type == \"start\"]\n"
    "  [network where destination.port == 443]\n"
    "  [file where file.extension == \"exe\"]";
static const char TWO_STAGES[] =
    "sequence by host.id, process.entity_id with maxspan=1m\n"
    "  [process where event.type == \"start\"]\n"
    "  [network where destination.port == 443]";
static const char EVENT_QUERY[] =
    "process where event.type == \"start\" and process.name : \"cmd.exe\" and\n"
    "  process.parent.name : (\"lsass.exe\", \"csrss.exe\", \"spoolsv.exe\", \"wermgr.exe\",\n"
    "                         \"dllhost.exe\", \"regsvr32.exe\", \"sihost.exe\")";

typedef struct generator {
    uint64_t state, keys, i;
    char host[32], entity[32];
    eqlite_value fields[F_COUNT];
    eqlite_event ev;
} generator;

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static eqlite_value str(const char *s, size_t n)
{
    eqlite_value v = {0};
    v.kind = EQLITE_STRING;
    v.len = (uint32_t)n;
    v.u.s = s;
    return v;
}

#define LIT(s) str(s, sizeof s - 1)

static void gen_init(generator *g, uint64_t keys, uint64_t seed)
{
    memset(g, 0, sizeof *g);
    g->state = seed;
    g->keys = keys;
    g->ev.fields = g->fields;
    g->ev.nfields = F_COUNT;
}

/* The next event: 1 ms after the previous one; a third each of process,
 * network and file events; a random key pair. */
static const eqlite_event *gen_next(generator *g)
{
    static const char *const names[] = {"cmd.exe", "powershell.exe", "svchost.exe", "chrome.exe"};
    static const char *const parents[] = {"explorer.exe", "lsass.exe", "services.exe", "spoolsv.exe"};
    uint64_t r = splitmix64(&g->state);
    uint64_t key = (r >> 8) % g->keys;
    int cat = (int)(r % 3), sub = (int)((r >> 4) % 4);
    g->ev.timestamp = (int64_t)(g->i++) * 1000000;
    g->fields[F_HOST] = str(g->host, (size_t)snprintf(g->host, sizeof g->host, "host-%llu",
                                                      (unsigned long long)(key % 5000)));
    g->fields[F_ENTITY] = str(g->entity, (size_t)snprintf(g->entity, sizeof g->entity, "ent-%llu",
                                                          (unsigned long long)key));
    memset(&g->fields[F_NAME], 0, (F_COUNT - F_NAME) * sizeof(eqlite_value));
    if (cat == 0) {
        g->fields[F_CATEGORY] = LIT("process");
        g->fields[F_TYPE] = sub < 2 ? LIT("start") : LIT("end");
        g->fields[F_NAME] = str(names[sub], strlen(names[sub]));
        g->fields[F_PARENT] = str(parents[(r >> 12) % 4], strlen(parents[(r >> 12) % 4]));
    } else if (cat == 1) {
        g->fields[F_CATEGORY] = LIT("network");
        g->fields[F_TYPE] = LIT("connection");
        g->fields[F_PORT].kind = EQLITE_INT;
        g->fields[F_PORT].u.i = sub < 2 ? 443 : 80;
    } else {
        g->fields[F_CATEGORY] = LIT("file");
        g->fields[F_TYPE] = LIT("creation");
        g->fields[F_EXT] = sub == 0 ? LIT("exe") : LIT("txt");
    }
    return &g->ev;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int count_result(void *user, const eqlite_result *r)
{
    (void)r;
    (*(uint64_t *)user)++;
    return 0;
}

static eqlite_program *compile(eqlite_schema *schema, const char *rule)
{
    eqlite_program *prog = NULL;
    eqlite_diag diag;
    if (eqlite_compile(schema, rule, strlen(rule), &prog, &diag) != EQLITE_OK) {
        fprintf(stderr, "compile: %s\n%s\n", diag.message, rule);
        exit(2);
    }
    return prog;
}

/* Feeds n generated events; returns events/s, the matches in *matches. */
static double run(eqlite_program *prog, size_t n, uint64_t keys, uint64_t *matches,
                  eqlite_stats *stats)
{
    eqlite_matcher *m = NULL;
    if (eqlite_matcher_new(prog, NULL, &m) != EQLITE_OK)
        exit(2);
    generator g;
    gen_init(&g, keys, 42);
    *matches = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        eqlite_status st = eqlite_feed(m, gen_next(&g), count_result, matches);
        if (st != EQLITE_OK) {
            fprintf(stderr, "feed: %s\n", eqlite_strerror(st));
            exit(2);
        }
    }
    eqlite_flush(m, count_result, matches);
    double dt = now_s() - t0;
    if (stats)
        eqlite_matcher_stats(m, stats);
    eqlite_matcher_free(m);
    return (double)n / dt;
}

static double generation_rate(size_t n, uint64_t keys)
{
    generator g;
    gen_init(&g, keys, 42);
    volatile int64_t sink = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        sink += gen_next(&g)->timestamp;
    (void)sink;
    return (double)n / (now_s() - t0);
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    uint64_t keys = 200000;
    const char *mode = "three";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--events") == 0)
            n = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--keys") == 0)
            keys = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--mode") == 0)
            mode = argv[i + 1];
        else {
            fprintf(stderr, "usage: bench_sequence [--events N] [--keys K] [--mode three|compare]\n");
            return 2;
        }
    }
    eqlite_schema *schema = NULL;
    eqlite_schema_new(NULL, &schema);
    for (int f = 0; f < F_COUNT; f++)
        eqlite_schema_add(schema, FIELD_NAMES[f], strlen(FIELD_NAMES[f]), FIELD_TYPES[f], NULL);
    uint64_t matches = 0;
    eqlite_stats st;
    if (strcmp(mode, "compare") == 0) {
        eqlite_program *ev = compile(schema, EVENT_QUERY), *seq = compile(schema, TWO_STAGES);
        double gen = generation_rate(n, keys);
        double r_ev = run(ev, n, keys, &matches, NULL);
        printf("event query:        %zu events, %.0f events/s, %llu matches\n", n, r_ev,
               (unsigned long long)matches);
        double r_seq = run(seq, n, keys, &matches, &st);
        printf("two-stage sequence: %zu events, %.0f events/s, %llu matches\n", n, r_seq,
               (unsigned long long)matches);
        printf("generation alone:   %.0f events/s (included in both rates)\n", gen);
        printf("sequence / event query throughput: %.2f (cost x%.2f)\n", r_seq / r_ev, r_ev / r_seq);
        eqlite_program_free(ev);
        eqlite_program_free(seq);
    } else {
        eqlite_program *seq = compile(schema, THREE_STAGES);
        double rate = run(seq, n, keys, &matches, &st);
        printf("three-stage sequence by host.id, process.entity_id with maxspan=1m\n");
        printf("events %zu, distinct keys %llu: %.0f events/s, %llu matches\n", n,
               (unsigned long long)keys, rate, (unsigned long long)matches);
        printf("stats: pending %llu, expired %llu, evicted %llu, dropped %llu\n",
               (unsigned long long)st.pending, (unsigned long long)st.expired,
               (unsigned long long)st.evicted, (unsigned long long)st.dropped);
        eqlite_program_free(seq);
    }
    printf("peak RSS: %ld KiB\n", peak_rss_kb());
    eqlite_schema_free(schema);
    return 0;
}
