/* profile.h: source profiles — declarative files that turn one vendor's raw
 * records into the ECS fields Elastic's own integration produces from them
 * (the .profile files of lib/io/sources; the format is described in
 * lib/io/sources/README.md).
 *
 * A profile set holds the built-in profiles plus any the caller adds. For
 * each record, detection picks the first profile (in the order added) whose
 * `detect` lines all hold; a profile with `passthrough` hands the record on
 * unchanged (ECS as-is). */
#ifndef EQ_PROFILE_H
#define EQ_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eq_profiles eq_profiles;

/* The built-in profiles (windows, m365-defender, sentinelone-cloud-funnel,
 * ecs). err gets a message on failure. */
eqlite_status eq_profiles_new(eq_profiles **out, char *err, size_t errcap);
/* A set with no profiles (a caller's own only). */
eqlite_status eq_profiles_new_empty(eq_profiles **out);
void eq_profiles_free(eq_profiles *p);
/* Adds the profiles in a profile file (text, len); a profile with the name
 * of one already there replaces it. `origin` names the file in messages
 * ("origin:line: reason"). */
eqlite_status eq_profiles_add(eq_profiles *p, const char *text, size_t len, const char *origin, char *err,
                              size_t errcap);
size_t eq_profiles_count(const eq_profiles *p);
/* NUL-terminated name of profile i; NULL when out of range. */
const char *eq_profiles_name(const eq_profiles *p, size_t i);
/* Index of the profile named `name`, or -1. */
int eq_profiles_find(const eq_profiles *p, const char *name, size_t len);
/* How many records profile i took, summed over every reader (and thread)
 * that used this set; i == the profile count: records of no known shape.
 * 0 out of range. Allocates nothing. */
uint64_t eq_profiles_count_of(const eq_profiles *p, size_t i);

#ifdef __cplusplus
}

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace eqio {

/* Which profile takes this record: its index, or -1 (no known shape). */
int profiles_detect(const eq_profiles *p, simdjson::dom::object root);
bool profile_passthrough(const eq_profiles *p, int index);

/* The same, for a record that likely has the shape of profile `guess` (the
 * previous record's, not a passthrough): it is read for `guess` and its
 * detect paths are seen in the same walk. When the answer is `guess`, the
 * next profile_convert() of it over root skips its own walk. */
struct ConvertScratch;
int profiles_detect_walked(const eq_profiles *p, int guess, simdjson::dom::object root, ConvertScratch *s);
/* Counts a record for profile `index` (-1: no known shape); thread-safe. */
void profiles_note(const eq_profiles *p, int index, uint64_t n);

/* Per-reader scratch for conversions (kept between records to reuse memory). */
struct ConvertScratch;
ConvertScratch *scratch_new();
void scratch_free(ConvertScratch *s);

/* The fields the scratch's reader projects: conversions that are not `whole`
 * then make only what these read (profile_text makes the rest when asked). */
void scratch_want(ConvertScratch *s, std::vector<std::string> fields);

/* Runs profile `index` over root: the record's ECS document is then held in
 * the scratch (until its next use) for profile_emit and profile_text. false
 * with *reason when the record cannot be converted. `whole`: the text will be
 * asked for, so make every field now. root must stay valid until the next
 * conversion. */
bool profile_convert(const eq_profiles *p, int index, simdjson::dom::object root, ConvertScratch *s,
                     std::string *reason, bool whole);
/* The document of the last conversion as one line of JSON (nested objects,
 * keys in order). */
void profile_text(ConvertScratch *s, std::string *out);

/* One field of the document, for reading it straight into an event. `id`
 * numbers the profile's own fields (below profile_field_count(): the same path
 * on every record, so a caller can keep what it looked up for it); UINT32_MAX
 * for a field named at run time. Strings point into the scratch. */
struct DocField {
    uint32_t id;
    std::string_view path;
    const eqlite_value *values; /* numbers as the reader reads JSON: INT when they fit int64, else DOUBLE */
    size_t n;
    bool array;
};
/* false stops the emit (the sink failed the record). */
using DocSink = bool (*)(void *user, const DocField &field);
enum class Emit { Ok, Raw /* a value is raw JSON: read profile_text instead */, Failed };
Emit profile_emit(ConvertScratch *s, DocSink sink, void *user);
size_t profile_field_count(const eq_profiles *p, int index);

/* Windows' CommandLineToArgvW: the exact argument split Windows applies to a
 * command line (exposed for tests). */
void command_line_to_argv(std::string_view cmd, std::vector<std::string> *args);
/* The same into one buffer of at least cmd.size() bytes: argument k is
 * text[ends[k-1] (0 for the first), ends[k]). Returns the bytes written. */
size_t command_line_to_argv(std::string_view cmd, char *text, std::vector<size_t> *ends);

} // namespace eqio
#endif
#endif
