/* worker_rules.c: the split of a rule set between partitions and the
 * partition-of-all (worker_rules.h). */
#include "worker_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opcodes.h"
#include "program.h" /* the join keys' code: which fields a stage joins on */

/* Position of `field` among the term's keys when every key is a plain
 * field load (LOAD_FIELD ... RET, as codegen emits `by a, b`); -1 if it is
 * not there, optional, or a key is an expression. */
static int key_position(const eqlite_program *prog, const eq_prog_term *t, uint32_t field)
{
    int at = -1;
    for (uint32_t k = 0; k < t->nkeys; k++) {
        const eq_instr *in = &prog->code[t->keys_pc + k];
        if (in->op != OP_LOAD_FIELD)
            return -1;
        if (in->a == field && at < 0 && !(t->key_optional && t->key_optional[k]))
            at = (int)k;
    }
    return prog->code[t->keys_pc + t->nkeys].op == OP_RET ? at : -1;
}

bool wr_partitionable(const eqlite_program *prog, uint32_t field, bool have_field)
{
    if (prog->npipes) /* head/tail count results of the whole stream */
        return false;
    if (prog->kind == 0)
        return true;
    if (!have_field || prog->nterms == 0)
        return false;
    int at = key_position(prog, &prog->terms[0], field);
    if (at < 0)
        return false;
    for (uint32_t i = 1; i < prog->nterms; i++)
        if (key_position(prog, &prog->terms[i], field) != at)
            return false;
    return !prog->has_until || key_position(prog, &prog->until, field) == at;
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
            if (p->kind == 0 && !p->npipes)
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
