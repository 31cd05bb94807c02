/* sema.h: the verifier's interface and the value types it assigns. */
#ifndef EQ_SEMA_H
#define EQ_SEMA_H

#include <stdarg.h>

#include "ast.h"

typedef enum eq_vtype {
    VT_ANY = 0, /* known only at run time */
    VT_NULL,
    VT_BOOL,
    VT_INT,
    VT_DOUBLE,
    VT_STRING,
    VT_DATE,
    VT_IP,
    VT_VERSION,
    VT_TEXT
} eq_vtype;

#define EQ_FIELD_TIMESTAMP (-2) /* reads eqlite_event.timestamp */
#define EQ_FIELD_NULL (-3)      /* ?optional field the schema lacks: null */

bool eq_sema(eq_parse *p, eqlite_schema *schema);
bool eq_is_constant(const eq_node *n);
/* ?field of unknown type in a growing schema (may be unmapped: null). */
bool eq_maybe_unmapped(const eq_node *n);
/* Checks a regex literal translates (error with position otherwise). */
bool eq_check_regex(eq_parse *p, const eq_node *pattern, bool caseless);

#endif
