/* date.h: date text and date values -> nanoseconds since the epoch (lib/date.c). */
#ifndef EQ_DATE_H
#define EQ_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ISO-8601 ("2017-08-30T20:47:32Z", fraction, offset, date only) or an
 * epoch-millisecond integer string -> nanoseconds since the epoch. */
bool eq_parse_date(const char *s, size_t n, int64_t *ns_out);
/* A date-typed value as nanoseconds: ISO text, or epoch milliseconds as a
 * number (what dates are on the wire and in mappings). */
bool eq_value_date_ns(const eqlite_value *v, int64_t *ns_out);

#ifdef __cplusplus
}
#endif
#endif
