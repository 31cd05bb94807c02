/* mapping.h: the index-mapping loader behind eqlite_schema_load_mapping(),
 * with what the public schema has no slot for: each date field's `format`.
 * Used by the eqlite command so that the NDJSON reader converts dates as
 * Elasticsearch does at index time (see eq_ndjson_conv). */
#ifndef EQ_MAPPING_H
#define EQ_MAPPING_H

#include <stddef.h>

#include "eqlite.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called once for each date / date_nanos field (multi-fields included) whose
 * definition has a "format" string: the dotted field name and the format,
 * NUL-terminated, valid during the call. */
typedef void (*eq_mapping_format_fn)(void *user, const char *field, const char *format);

/* Called for each field (multi-fields included) whose definition has an
 * index-time parameter the reader applies: `param` is "ignore_above" or
 * "null_value", `json` its value as JSON text; and for each multi-field with
 * `param` "multi_field_of" and `json` the parent field's name (plain text).
 * Strings are NUL-terminated, valid during the call. */
typedef void (*eq_mapping_param_fn)(void *user, const char *field, const char *param, const char *json);

/* eqlite_schema_load_mapping() plus the formats and parameters; the
 * callbacks may be NULL. */
eqlite_status eq_mapping_load(eqlite_schema *schema, const char *json, size_t len, char *errbuf, size_t errcap,
                              eq_mapping_format_fn on_format, void *user);
eqlite_status eq_mapping_load_params(eqlite_schema *schema, const char *json, size_t len, char *errbuf,
                                     size_t errcap, eq_mapping_format_fn on_format, eq_mapping_param_fn on_param,
                                     void *user);

#ifdef __cplusplus
}
#endif
#endif
