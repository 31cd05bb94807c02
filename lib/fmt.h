/* fmt.h: internal helpers of the canonical printer (eqlite_format is public). */
#ifndef EQ_FMT_H
#define EQ_FMT_H

#include <stddef.h>

#include "eqlite.h"

/* Whether two rules parse to the same syntax tree, for fmt's round-trip
 * tests; EQLITE_EMISUSE for NULL text with a length or a NULL *equal. */
eqlite_status eq_parse_equal(const char *a, size_t alen, const char *b, size_t blen, int *equal);

#endif
