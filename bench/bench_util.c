/* bench_util.c: helpers shared by the benchmarks. */
#define _POSIX_C_SOURCE 200809L
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/rule_record.h"

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len)
            *len = n;
    }
    return buf;
}

static int add_rule(corpus_rule **rules, size_t *n, size_t *cap, const eq_rule_record *rec)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        corpus_rule *r = realloc(*rules, c * sizeof *r);
        if (!r)
            return 0;
        *rules = r;
        *cap = c;
    }
    corpus_rule *r = &(*rules)[(*n)++];
    r->query = rec->query;
    r->len = rec->query_len;
    r->name = rec->name;
    r->id = rec->id;
    return 1;
}

corpus_rule *corpus_load(const char *path, size_t *n)
{
    size_t len;
    char *text = read_file(path, &len);
    *n = 0;
    if (!text)
        return NULL;
    corpus_rule *rules = NULL;
    size_t cap = 0;
    char err[256];
    for (char *line = text, *end; line < text + len; line = end + 1) {
        end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            end = text + len;
        eq_rule_record rec;
        if (end == line || eq_rule_record_parse(line, (size_t)(end - line), &rec, err, sizeof err) != 0)
            continue;
        if (!rec.query || !add_rule(&rules, n, &cap, &rec))
            eq_rule_record_free(&rec);
    }
    free(text);
    return rules;
}

void corpus_free(corpus_rule *rules, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        eq_rule_record rec = {rules[k].query, rules[k].name, rules[k].id, rules[k].len};
        eq_rule_record_free(&rec);
    }
    free(rules);
}

size_t corpus_longest(const corpus_rule *rules, size_t n)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++)
        if (rules[k].len > rules[best].len)
            best = k;
    return best;
}

int bench_parse_options(int argc, char **argv, bench_options *opt)
{
    opt->events = 1000000;
    opt->seed = 1;
    opt->expect = -1;
    opt->shared = "../shared";
    opt->repeat = 5;
    opt->rule = "examples/rules/unusual-cmd-parent.eql";
    for (int k = 1; k < argc; k += 2) { /* --option value pairs */
        const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
        if (!v)
            goto usage;
        if (strcmp(a, "--events") == 0)
            opt->events = strtoull(v, NULL, 10);
        else if (strcmp(a, "--seed") == 0)
            opt->seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--expect") == 0)
            opt->expect = strtoll(v, NULL, 10);
        else if (strcmp(a, "--shared") == 0)
            opt->shared = v;
        else if (strcmp(a, "--rule") == 0)
            opt->rule = v;
        else if (strcmp(a, "--repeat") == 0)
            opt->repeat = atoi(v) > 0 ? atoi(v) : 1;
        else
            goto usage;
    }
    return 1;
usage:
    fprintf(stderr, "usage: %s [--events N] [--seed S] [--expect MATCHES] [--shared DIR] [--repeat N] [--rule FILE]\n",
            argv[0]);
    return 0;
}

const char *bench_shared_path(const bench_options *opt, const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", opt->shared, rel);
    return buf;
}
