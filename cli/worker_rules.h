/* worker_rules.h: which rules a partition can run on its own.
 *
 * Events are spread over partitions by one field (nats_util.h). An event
 * query needs one event and runs anywhere. A sequence or sample needs every
 * event of a join key in one place: that holds when the partition field is
 * one of its join keys, at the same position in every stage (and `until`),
 * and not optional (`?field` joins nulls, which are spread by the fallback).
 * Any other sequence or sample, and any rule with head/tail (a count over
 * the whole stream), runs on the partition-of-all: one consumer over every
 * subject of the stream, owned by one worker at a time. */
#ifndef EQ_CLI_WORKER_RULES_H
#define EQ_CLI_WORKER_RULES_H

#include "engine.h"

typedef struct wr_rules {
    eng part; /* rules every partition runs */
    eng all;  /* rules for the partition-of-all */
    size_t npart, nall;
    size_t event_queries, joined_by_field, cross_partition; /* the split, for the report */
} wr_rules;

/* Whether `prog` can run on partitions of field id `field`. */
bool wr_partitionable(const eqlite_program *prog, uint32_t field, bool have_field);

/* Loads and compiles the rules at `path`, split by `field`. Returns 0, 1
 * (an invalid rule) or 2 (unreadable, out of memory); messages on stderr. */
int wr_load(wr_rules *w, const char *path, const eng_options *opt, const char *field);
void wr_free(wr_rules *w);

#endif
