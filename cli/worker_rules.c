/* worker_rules.c: the split of a rule set between partitions and the
 * partition-of-all (worker_rules.h). */
#include "worker_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Position of `field` among a stage's keys when every key is a plain field;
 * -1 if it is not there, optional, or a key is an expression. */
static int key_position(const eqlite_program *prog, const eqlite_program_info *info, size_t stage, uint32_t field)
{
    int at = -1;
    for (size_t k = 0; k < info->nkeys; k++) {
        uint32_t id;
        unsigned flags;
        if (eqlite_program_stage_key(prog, stage, k, &id, &flags) != EQLITE_OK)
            return -1;
        if (id == field && at < 0 && !(flags & EQLITE_KEY_OPTIONAL))
            at = (int)k;
    }
    return at;
}

bool wr_partitionable(const eqlite_program *prog, uint32_t field, bool have_field)
{
    eqlite_program_info info;
    if (eqlite_program_info_get(prog, &info) != EQLITE_OK || info.npipes) /* head/tail count the whole stream */
        return false;
    if (info.kind == EQLITE_QUERY_EVENT)
        return true;
    if (!have_field || info.nstages == 0)
        return false;
    int at = key_position(prog, &info, 0, field);
    if (at < 0)
        return false;
    for (size_t stage = 1; stage < info.nstages; stage++) /* `until` included */
        if (key_position(prog, &info, stage, field) != at)
            return false;
    return true;
}

/* A view of some of the rules (the texts stay owned by `from`). */
static bool pick(const cli_rules *from, const bool *take, bool want, cli_rules *out)
{
    memset(out, 0, sizeof *out);
    out->items = malloc((from->n + 1) * sizeof *out->items);
    if (!out->items)
        return false;
    for (size_t k = 0; k < from->n; k++)
        if (take[k] == want)
            out->items[out->n++] = from->items[k];
    return true;
}

int wr_load(wr_rules *w, const char *path, const eng_options *opt, const char *field)
{
    memset(w, 0, sizeof *w);
    cli_rules rules = {0};
    if (!cli_load_rules(path, &rules, true)) {
        fprintf(stderr, "eqlite worker: cannot read %s\n", path);
        return 2;
    }
    /* Compile everything once to classify, then each half into its engine;
     * rule ids ("file:line" fallback) stay those `eqlite query -r` gives. */
    eng probe;
    memset(&probe, 0, sizeof probe); /* eng_free is safe on it whatever fails */
    bool *partitioned = calloc(rules.n + 1, sizeof *partitioned);
    int status = partitioned ? eng_init(&probe, opt) : 2;
    if (status == 0)
        status = eng_add_rules(&probe, &rules, path);
    if (status == 0 && probe.nrules != rules.n)
        status = 1;
    if (status == 0) {
        uint32_t id = 0;
        bool have = eqlite_schema_lookup(probe.schema, field, strlen(field), &id) == EQLITE_OK;
        for (size_t k = 0; k < probe.nrules; k++) {
            const eqlite_program *p = probe.rules[k].prog;
            partitioned[k] = wr_partitionable(p, id, have);
            eqlite_program_info info;
            if (eqlite_program_info_get(p, &info) == EQLITE_OK && info.kind == EQLITE_QUERY_EVENT && !info.npipes)
                w->event_queries++;
            else if (partitioned[k])
                w->joined_by_field++;
            else
                w->cross_partition++;
        }
    }
    eng_free(&probe);
    cli_rules part = {0}, all = {0};
    if (status == 0 && (!pick(&rules, partitioned, true, &part) || !pick(&rules, partitioned, false, &all)))
        status = 2;
    if (status == 0)
        status = eng_init(&w->part, opt);
    if (status == 0)
        status = eng_add_rules(&w->part, &part, path);
    if (status == 0)
        status = eng_prepare(&w->part);
    if (status == 0)
        status = eng_init(&w->all, opt);
    if (status == 0)
        status = eng_add_rules(&w->all, &all, path);
    if (status == 0)
        status = eng_prepare(&w->all);
    w->npart = part.n;
    w->nall = all.n;
    free(part.items);
    free(all.items);
    free(partitioned);
    cli_rules_free(&rules);
    return status;
}

void wr_free(wr_rules *w)
{
    eng_free(&w->part);
    eng_free(&w->all);
}
