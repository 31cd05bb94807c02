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

/* Elasticsearch's default date format, strict_date_optional_time||epoch_millis,
 * -> nanoseconds since the epoch (UTC); false if malformed or outside the
 * int64 nanosecond range (1677-2262). The one parser of such text for both
 * libraries. Accepted, as Elasticsearch's Iso8601Parser accepts it:
 *   yyyy[-MM[-dd[T[HH[:mm[:ss[(.|,)fraction of 1-9 digits]]][zone]]]]]
 *   zone (only after an hour): Z | +HH | +HHmm | +HH:mm | +HHmmss | +HH:mm:ss
 *   (or '-'), at most 18 hours; no zone is UTC. Upper-case 'T' and 'Z' only;
 *   a space for 'T' and named regions ("UTC") are refused, as is a negative year;
 * then epoch milliseconds: [-]digits[.1-6 digits]. ISO is tried first, so
 * "2020" is the year 2020 and "20200101" is milliseconds. */
bool eq_parse_date(const char *s, size_t n, int64_t *ns_out);
/* The proleptic Gregorian calendar (H. Hinnant's algorithms): days since
 * 1970-01-01 of a date, the date of such a day, and a month's length. */
int64_t eq_days_from_civil(int64_t y, int m, int d);
void eq_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int eq_days_in_month(int64_t y, int m);
/* A date-typed value as nanoseconds: ISO text, or epoch milliseconds as a
 * number (what dates are on the wire and in mappings). */
bool eq_value_date_ns(const eqlite_value *v, int64_t *ns_out);

#ifdef __cplusplus
}
#endif
#endif
