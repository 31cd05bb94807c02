/* value.h: string and value primitives shared by the folder (sema) and the VM
 * (fold.c, wildcard.c, ip.c, number.c, strings.c, date.c, value.c, hash.c).
 * Every function is pure: inputs are pointer + length, outputs go to caller
 * buffers. Sizes returned are what was needed, so callers can grow and retry. */
#ifndef EQ_VALUE_H
#define EQ_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqlite.h"

/* ---- Unicode case folding (Java String.toLowerCase(Locale.ROOT)-like; fold.c) */
bool eq_is_ascii(const char *s, size_t n);
/* Lower-cases s into out (ASCII fast path, utf8proc for the rest). Returns the
 * number of bytes the result needs; writes at most cap bytes. Invalid UTF-8
 * bytes are copied unchanged. */
size_t eq_fold(const char *s, size_t n, char *out, size_t cap);
/* Case-insensitive equality without allocating (folds both sides on the fly). */
bool eq_equals_fold(const char *a, size_t an, const char *b, size_t bn);

/* ---- Wildcards (wildcard.c; `:`, like, like~): '*' = any run, '?' = one code point;
 * backslash is an ordinary character. Whole-value match. Linear-time
 * (no exponential backtracking). Case-insensitive callers fold both sides. */
bool eq_wildcard_match(const char *pat, size_t plen, const char *s, size_t n);

/* ---- IP / CIDR (cidrMatch; ip.c) ------------------------------------------- */
typedef struct eq_cidr {
    uint8_t addr[16]; /* IPv4 stored as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
    int prefix;       /* in bits of the 128-bit form */
} eq_cidr;
/* "10.0.0.0/8", "fe80::/10", a bare address (= /32 or /128). Host bits set
 * (10.6.48.157/8) are accepted and masked. Returns false if malformed. */
bool eq_cidr_parse(const char *s, size_t n, eq_cidr *out);
bool eq_ip_parse(const char *s, size_t n, uint8_t out[16]);
bool eq_cidr_contains(const eq_cidr *cidr, const uint8_t ip[16]);
/* An address as Elasticsearch renders an ip value (InetAddresses.toAddrString
 * of the decoded point): IPv4 (also v4-mapped) dotted, IPv6 lower-case with the
 * first longest run of two or more zero groups as "::". Returns the length
 * (at most 39) and NUL-terminates out. */
size_t eq_ip_format(const uint8_t ip[16], char out[40]);

/* ---- Numbers to text, Java style (string(), concat(); number.c) ---------- */
/* Double.toString semantics: "1.0", "2.1828", "1.0E21", "NaN", "Infinity".
 * Returns bytes written (buf needs 32). */
size_t eq_format_double(double d, char *buf);
size_t eq_format_int(int64_t v, char *buf);

/* ---- String functions (strings.c; ES semantics; see EQL.md §9). Offsets are in
 * UTF-16 code units as Java counts them; for ASCII text that is bytes. ---- */
/* length(): UTF-16 code units. */
int64_t eq_str_length(const char *s, size_t n);
/* indexOf(s, sub, start): -1 when not found (caller maps to null). */
int64_t eq_str_index_of(const char *s, size_t n, const char *sub, size_t subn, int64_t start,
                        bool caseless);
/* substring(s, start, end) with Python slice semantics; has_end=false means open.
 * Result is a byte range of s: *from, *len. */
void eq_str_substring(const char *s, size_t n, int64_t start, bool has_end, int64_t end,
                      size_t *from, size_t *len);
/* between(src, left, right, greedy, caseless): result byte range of src;
 * returns false when there is no result (caller maps to ""/null per ES). */
bool eq_str_between(const char *s, size_t n, const char *left, size_t ln, const char *right,
                    size_t rn, bool greedy, bool caseless, size_t *from, size_t *len);
bool eq_str_starts_with(const char *s, size_t n, const char *p, size_t pn, bool caseless);
bool eq_str_ends_with(const char *s, size_t n, const char *p, size_t pn, bool caseless);
bool eq_str_contains(const char *s, size_t n, const char *p, size_t pn, bool caseless);
/* number(s, base) (number.c): base 0 = auto (10, or 16 with 0x prefix). Sets *out to an
 * INT or DOUBLE value; returns false if s is not a number (caller -> null). */
bool eq_str_to_number(const char *s, size_t n, int base, eqlite_value *out);
/* A decimal number's text exactly ("4", "-1.5", "1e3"; no whitespace, no
 * radix prefix), as a long when integral and in range, else a double. */
bool eq_parse_decimal_text(const char *s, size_t n, eqlite_value *out);
/* ASCII decimal digits (number.c): false if a byte of s is not one; *out is
 * their value when below `cap`, else some value >= cap (it stops growing). */
bool eq_parse_digits(const char *s, size_t n, int64_t cap, int64_t *out);

/* ---- Dates (date.c) ------------------------------------------------------- */
#include "date.h" /* eq_parse_date, eq_value_date_ns */

/* ---- Ordering and equality of values (==, <, ...; value.c) --------------- */
/* Compares two scalar values of comparable kinds (numbers with numbers,
 * strings bytewise as Java orders BMP text, bools false<true).
 * Returns false if the kinds are not comparable. */
bool eq_value_compare(const eqlite_value *a, const eqlite_value *b, int *cmp_out);

/* Elasticsearch's `version` field order (VersionEncoder, mapper-version):
 * legal (relaxed semver) versions by numeric main parts, a pre-release before
 * the release, numeric pre-release identifiers numerically and before
 * alphanumeric ones, the build suffix as ASCII; illegal versions after all
 * legal ones, as plain bytes. Returns <0, 0 or >0; false if out of memory. */
bool eq_version_compare(const char *a, size_t an, const char *b, size_t bn, int *cmp_out);

/* ---- Hashing (hash.c) ---------------------------------------------------- */
/* Hash of bytes (for the exact-value sets of `in` and `:` lists). */
uint64_t eq_hash(const char *s, size_t n);
/* Hash of the lower-cased form of s, equal to eq_hash(fold(s)). */
uint64_t eq_hash_fold(const char *s, size_t n);

#endif
