/* support.h: helpers shared by the Criterion suites. */
#ifndef EQ_TEST_SUPPORT_H
#define EQ_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "eqlite.h"

/* ../shared (from EQLITE_SHARED_DIR), or NULL when absent. */
const char *shared_dir(void);
/* A path under shared_dir; skips the test with a message when absent. */
const char *shared_path(const char *rel);
char *read_whole_file(const char *path, size_t *len);

/* Compiles in a grow-mode schema; returns the status, diag filled. */
eqlite_status compile_status(const char *rule, eqlite_diag *diag);
/* Evaluates a constant expression into a printable JSON text (static buffer). */
const char *eval_json(const char *expr);
void value_to_json(const eqlite_value *v, char *out, size_t cap);

/* A tiny event-building kit over a fixed schema of named fields. */
typedef struct test_event {
    eqlite_schema *schema;
    eqlite_value fields[64];
    eqlite_value arrays[64][8];
    eqlite_event ev;
} test_event;
void tev_init(test_event *t, eqlite_schema *schema);
void tev_str(test_event *t, const char *field, const char *value);
void tev_int(test_event *t, const char *field, long long value);
void tev_strs(test_event *t, const char *field, const char *const *values, size_t n);
/* Runs an event query over one event: 1 match, 0 no match, -1 compile error. */
int match_one(const char *rule, test_event *t);

#endif
