/* strings.c: EQL's string functions with Elasticsearch (Java) semantics:
 * length, indexOf, substring, between, startsWith, endsWith, stringContains.
 * Offsets are UTF-16 code units as Java counts them; matches can be caseless. */
#include "value.h"

#include <string.h>

#include "utf8.h"

/* ---- Caseless prefix ------------------------------------------------------- */

/* If the folded form of p is a prefix of the folded form of s, stores the
 * bytes of s that it covers in *consumed. */
static bool fold_prefix(const char *s, size_t n, const char *p, size_t pn, size_t *consumed)
{
    size_t i = 0, j = 0;
    while (j < pn) {
        if (i >= n)
            return false;
        int32_t fs, fp;
        i += fold_next(s + i, n - i, &fs);
        j += fold_next(p + j, pn - j, &fp);
        if (fs != fp)
            return false;
    }
    *consumed = i;
    return true;
}

/* ---- UTF-16 positions ------------------------------------------------------ */

int64_t eq_str_length(const char *s, size_t n)
{
    int64_t units = 0;
    for (size_t i = 0; i < n;) {
        if ((unsigned char)s[i] < 0x80) {
            units++;
            i++;
            continue;
        }
        int32_t cp;
        i += utf8_next(s + i, n - i, &cp);
        units += utf16_units(cp);
    }
    return units;
}

/* Byte offset of UTF-16 position u (clamped to the end). A position inside a
 * surrogate pair moves after the character (round_up) or before it. */
static size_t byte_offset_of(const char *s, size_t n, int64_t u, bool round_up)
{
    size_t i = 0;
    int64_t pos = 0;
    while (i < n && pos < u) {
        int32_t cp;
        size_t step = utf8_next(s + i, n - i, &cp);
        int64_t w = utf16_units(cp);
        if (pos + w > u)
            return round_up ? i + step : i;
        pos += w;
        i += step;
    }
    return i;
}

/* ---- Substring search -------------------------------------------------------- */

/* First occurrence of p at or after byte `from`; *at and *mlen are byte
 * offset and length in s. Case-insensitive matches start on characters. */
static bool find_first(const char *s, size_t n, size_t from, const char *p, size_t pn,
                       bool caseless, size_t *at, size_t *mlen)
{
    if (pn == 0) {
        *at = from;
        *mlen = 0;
        return from <= n;
    }
    for (size_t i = from; i < n;) {
        if (caseless) {
            if (fold_prefix(s + i, n - i, p, pn, mlen)) {
                *at = i;
                return true;
            }
            i += char_len(s + i, n - i);
            continue;
        }
        const char *hit = memchr(s + i, p[0], n - i);
        if (!hit || (size_t)(hit - s) + pn > n)
            return false;
        i = (size_t)(hit - s);
        if (memcmp(hit, p, pn) == 0) {
            *at = i;
            *mlen = pn;
            return true;
        }
        i++;
    }
    return false;
}

/* Last occurrence of p that starts at or after byte `from`. */
static bool find_last(const char *s, size_t n, size_t from, const char *p, size_t pn,
                      bool caseless, size_t *at, size_t *mlen)
{
    if (from > n)
        return false;
    if (pn == 0) {
        *at = n;
        *mlen = 0;
        return true;
    }
    if (!caseless) {
        for (size_t i = n; i >= from + pn; i--) {
            if (memcmp(s + i - pn, p, pn) == 0) {
                *at = i - pn;
                *mlen = pn;
                return true;
            }
        }
        return false;
    }
    bool found = false;
    size_t pos = from, hit, hit_len;
    while (find_first(s, n, pos, p, pn, true, &hit, &hit_len)) {
        found = true;
        *at = hit;
        *mlen = hit_len;
        pos = hit + char_len(s + hit, n - hit);
    }
    return found;
}

int64_t eq_str_index_of(const char *s, size_t n, const char *sub, size_t subn, int64_t start,
                        bool caseless)
{
    if (start < 0)
        start = 0;
    int64_t len = eq_str_length(s, n);
    /* java.lang.String.indexOf: past the end only the empty string is found. */
    if (start >= len)
        return subn == 0 ? len : -1;
    size_t from = byte_offset_of(s, n, start, true);
    size_t at, mlen;
    if (!find_first(s, n, from, sub, subn, caseless, &at, &mlen))
        return -1;
    if (subn == 0)
        return start;
    return eq_str_length(s, at);
}

void eq_str_substring(const char *s, size_t n, int64_t start, bool has_end, int64_t end,
                      size_t *from, size_t *len)
{
    int64_t length = eq_str_length(s, n);
    if (!has_end)
        end = length;
    if (start < 0)
        start += length;
    if (start < 0)
        start = 0;
    if (end < 0)
        end += length;
    if (end < 0)
        end = 0;
    if (end > length)
        end = length;
    *from = 0;
    *len = 0;
    if (start >= end)
        return;
    size_t b0 = byte_offset_of(s, n, start, true);
    size_t b1 = byte_offset_of(s, n, end, false);
    if (b1 > b0) {
        *from = b0;
        *len = b1 - b0;
    }
}

/* Python's between (the algorithm Elasticsearch ported): text after the first
 * `left`, up to the first (greedy: last) `right` that follows it. An empty
 * source yields "" as Elasticsearch documents. */
bool eq_str_between(const char *s, size_t n, const char *left, size_t ln, const char *right,
                    size_t rn, bool greedy, bool caseless, size_t *from, size_t *len)
{
    *from = 0;
    *len = 0;
    if (n == 0)
        return true;
    size_t lat, llen, rat, rlen;
    if (!find_first(s, n, 0, left, ln, caseless, &lat, &llen))
        return false;
    size_t start = lat + llen;
    bool found = greedy ? find_last(s, n, start, right, rn, caseless, &rat, &rlen)
                        : find_first(s, n, start, right, rn, caseless, &rat, &rlen);
    if (!found)
        return false;
    *from = start;
    *len = rat - start;
    return true;
}

bool eq_str_starts_with(const char *s, size_t n, const char *p, size_t pn, bool caseless)
{
    if (!caseless)
        return pn <= n && memcmp(s, p, pn) == 0;
    size_t used;
    return fold_prefix(s, n, p, pn, &used);
}

static size_t count_chars(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; count++)
        i += char_len(s + i, n - i);
    return count;
}

static size_t skip_chars(const char *s, size_t n, size_t chars)
{
    size_t i = 0;
    for (; i < n && chars > 0; chars--)
        i += char_len(s + i, n - i);
    return i;
}

bool eq_str_ends_with(const char *s, size_t n, const char *p, size_t pn, bool caseless)
{
    if (!caseless)
        return pn <= n && memcmp(s + n - pn, p, pn) == 0;
    /* The fold maps one character to one character, so the suffix has as
     * many characters as p. */
    size_t sc = count_chars(s, n), pc = count_chars(p, pn);
    if (pc > sc)
        return false;
    size_t at = skip_chars(s, n, sc - pc);
    return eq_equals_fold(s + at, n - at, p, pn);
}

/* Elasticsearch: an empty substring is never contained (StringUtils.stringContains). */
bool eq_str_contains(const char *s, size_t n, const char *p, size_t pn, bool caseless)
{
    size_t at, mlen;
    return pn > 0 && find_first(s, n, 0, p, pn, caseless, &at, &mlen);
}
