/* value.c: string and value primitives with Elasticsearch (Java) semantics.
 *
 * Everything here is pure and allocation-free: inputs are pointer + length,
 * outputs go to caller buffers. Text is UTF-8; an invalid byte is treated as
 * one opaque character that only equals itself. */
#define _POSIX_C_SOURCE 200809L

#include "value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* ---- UTF-8 decoding -------------------------------------------------------- */

#define INVALID_BYTE_BASE 0x200000 /* beyond Unicode: invalid bytes fold to themselves */

/* Decodes one character at s (n > 0). Invalid bytes decode as
 * INVALID_BYTE_BASE + byte, length 1. Returns the bytes consumed. */
static size_t utf8_next(const char *s, size_t n, int32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    utf8proc_int32_t v;
    utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &v);
    if (len <= 0) {
        *cp = INVALID_BYTE_BASE + c;
        return 1;
    }
    *cp = v;
    return (size_t)len;
}

/* Java counts characters in UTF-16 code units. */
static int64_t utf16_units(int32_t cp) { return (cp >= 0x10000 && cp < INVALID_BYTE_BASE) ? 2 : 1; }

static size_t utf8_encode(int32_t cp, char *out)
{
    if (cp >= INVALID_BYTE_BASE) {
        out[0] = (char)(cp - INVALID_BYTE_BASE);
        return 1;
    }
    return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)out);
}

/* ---- Case folding ---------------------------------------------------------- */

static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Simple lower-case mapping of one code point. Final sigma folds to sigma:
 * Java lower-cases a word-final capital sigma to U+03C2, so treating both
 * small sigmas as one keeps every pair Java calls equal also equal here. */
static int32_t fold_cp(int32_t cp)
{
    if (cp < 0x80)
        return ascii_lower((unsigned char)cp);
    if (cp >= INVALID_BYTE_BASE)
        return cp;
    if (cp == 0x3C2)
        return 0x3C3;
    return utf8proc_tolower(cp);
}

/* Next folded code point of s; returns bytes consumed. */
static size_t fold_next(const char *s, size_t n, int32_t *cp)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x80) {
        *cp = ascii_lower(c);
        return 1;
    }
    size_t len = utf8_next(s, n, cp);
    *cp = fold_cp(*cp);
    return len;
}

#define ASCII_HIGH_BITS UINT64_C(0x8080808080808080)
#define BYTES_OF(x) (UINT64_C(0x0101010101010101) * (uint64_t)(x))

static inline uint64_t load64(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* The n < 8 bytes at s as one zero-padded little-endian word; on
 * little-endian hosts without a memcpy call (two overlapping 4-byte loads,
 * or three single bytes). */
static inline uint64_t load_tail(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
    }
    if (n == 0)
        return 0;
    return (uint64_t)p[0] | ((uint64_t)p[n / 2] << (8 * (n / 2))) |
           ((uint64_t)p[n - 1] << (8 * (n - 1)));
#else
    uint64_t w = 0;
    for (size_t k = 0; k < n; k++)
        w |= (uint64_t)p[k] << (8 * k);
    return w;
#endif
}

/* Lower-cases 8 ASCII bytes at once (SWAR): sets bit 5 of each 'A'..'Z'. */
static inline uint64_t ascii_lower8(uint64_t w)
{
    uint64_t ge_a = w + BYTES_OF(0x80 - 'A');
    uint64_t gt_z = w + BYTES_OF(0x7f - 'Z');
    uint64_t upper = (ge_a ^ gt_z) & ASCII_HIGH_BITS;
    return w | (upper >> 2);
}

bool eq_is_ascii(const char *s, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8)
        acc |= load64(s + i);
    for (; i < n; i++)
        acc |= (unsigned char)s[i];
    return (acc & ASCII_HIGH_BITS) == 0;
}

size_t eq_fold(const char *s, size_t n, char *out, size_t cap)
{
    size_t need = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (need < cap)
                out[need] = (char)ascii_lower(c);
            need++;
            i++;
            continue;
        }
        int32_t cp;
        i += fold_next(s + i, n - i, &cp);
        char enc[4];
        size_t len = utf8_encode(cp, enc);
        for (size_t k = 0; k < len; k++, need++)
            if (need < cap)
                out[need] = enc[k];
    }
    return need;
}

bool eq_equals_fold(const char *a, size_t an, const char *b, size_t bn)
{
    if (an == bn && memcmp(a, b, an) == 0)
        return true;
    size_t i = 0, j = 0;
    while (i < an && j < bn) {
        unsigned char ca = (unsigned char)a[i], cb = (unsigned char)b[j];
        if ((ca | cb) < 0x80) {
            if (ascii_lower(ca) != ascii_lower(cb))
                return false;
            i++;
            j++;
            continue;
        }
        int32_t fa, fb;
        i += fold_next(a + i, an - i, &fa);
        j += fold_next(b + j, bn - j, &fb);
        if (fa != fb)
            return false;
    }
    return i == an && j == bn;
}

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

/* ---- Wildcards ------------------------------------------------------------- */

static size_t char_len(const char *s, size_t n)
{
    int32_t cp;
    return utf8_next(s, n, &cp);
}

/* Greedy '*' with backtracking to the last star only: O(plen * n), no
 * recursion. A later star supersedes an earlier one, which is why one
 * backtrack point is enough. */
bool eq_wildcard_match(const char *pat, size_t plen, const char *s, size_t n)
{
    size_t p = 0, i = 0;
    size_t star = SIZE_MAX, mark = 0;
    while (i < n) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen && pat[p] == '?') {
            p++;
            i += char_len(s + i, n - i);
        } else if (p < plen && pat[p] == s[i]) {
            p++;
            i++;
        } else if (star != SIZE_MAX) {
            p = star + 1;
            mark += char_len(s + mark, n - mark);
            i = mark;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* ---- Number formatting ----------------------------------------------------- */

/* Shortest decimal digits that read back as d (d > 0, finite): digits
 * without trailing zeros in `digits`, decimal exponent of the first digit.
 * Like Java (JDK 19+), never fewer than two digits are considered, so
 * Double.MIN_VALUE is 4.9E-324 rather than 5.0E-324. */
static int shortest_digits(double d, char digits[20], int *exp10)
{
    char tmp[40];
    for (int prec = 2; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    int nd = 0;
    const char *p = tmp;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    *exp10 = (*p == 'e') ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    return nd;
}

static size_t format_plain(const char *digits, int nd, int exp10, char *out)
{
    size_t k = 0;
    if (exp10 < 0) {
        out[k++] = '0';
        out[k++] = '.';
        for (int z = -1; z > exp10; z--)
            out[k++] = '0';
        memcpy(out + k, digits, (size_t)nd);
        return k + (size_t)nd;
    }
    for (int i = 0; i <= exp10; i++)
        out[k++] = i < nd ? digits[i] : '0';
    out[k++] = '.';
    if (nd <= exp10 + 1) {
        out[k++] = '0';
        return k;
    }
    memcpy(out + k, digits + exp10 + 1, (size_t)(nd - exp10 - 1));
    return k + (size_t)(nd - exp10 - 1);
}

static size_t format_scientific(const char *digits, int nd, int exp10, char *out)
{
    size_t k = 0;
    out[k++] = digits[0];
    out[k++] = '.';
    if (nd == 1) {
        out[k++] = '0';
    } else {
        memcpy(out + k, digits + 1, (size_t)(nd - 1));
        k += (size_t)(nd - 1);
    }
    k += (size_t)snprintf(out + k, 8, "E%d", exp10);
    return k;
}

size_t eq_format_double(double d, char *buf)
{
    const char *special = NULL;
    if (isnan(d))
        special = "NaN";
    else if (isinf(d))
        special = d > 0 ? "Infinity" : "-Infinity";
    else if (d == 0)
        special = signbit(d) ? "-0.0" : "0.0";
    if (special) {
        size_t len = strlen(special);
        memcpy(buf, special, len + 1);
        return len;
    }
    char digits[20];
    int exp10;
    int nd = shortest_digits(fabs(d), digits, &exp10);
    size_t k = 0;
    if (d < 0)
        buf[k++] = '-';
    /* Java: plain notation for 1e-3 <= |d| < 1e7, else computerized scientific. */
    if (exp10 >= -3 && exp10 < 7)
        k += format_plain(digits, nd, exp10, buf + k);
    else
        k += format_scientific(digits, nd, exp10, buf + k);
    buf[k] = '\0';
    return k;
}

size_t eq_format_int(int64_t v, char *buf)
{
    return (size_t)snprintf(buf, 24, "%" PRId64, v);
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

/* ---- number() ---------------------------------------------------------------- */

static void set_int(eqlite_value *out, int64_t v)
{
    memset(out, 0, sizeof *out);
    out->kind = EQLITE_INT;
    out->u.i = v;
}

static void set_double(eqlite_value *out, double d)
{
    memset(out, 0, sizeof *out);
    out->kind = EQLITE_DOUBLE;
    out->u.d = d;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* Integer.parseInt(s, radix) widened to int64: sign, then digits only. */
static bool parse_radix(const char *s, size_t n, int base, eqlite_value *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (; i < n; i++) {
        int d = digit_value(s[i]);
        if (d >= base)
            return false;
        if (v > (limit - (uint64_t)d) / (uint64_t)base)
            return false;
        v = v * (uint64_t)base + (uint64_t)d;
    }
    set_int(out, neg ? (int64_t)(0 - v) : (int64_t)v);
    return true;
}

/* A decimal number split into its parts: sign, significant digits and the
 * power of ten that scales them. */
typedef struct decimal_parts {
    bool neg;
    char digits[64]; /* leading zeros dropped; long inputs keep a prefix */
    int ndigits;
    int64_t exp10;   /* value = digits * 10^exp10 */
    bool all_zero;
} decimal_parts;

static void add_digit(decimal_parts *d, char c, bool fractional)
{
    if (c == '0' && d->ndigits == 0) {
        if (fractional)
            d->exp10--;
        return;
    }
    d->all_zero = d->all_zero && c == '0';
    if (d->ndigits < (int)sizeof d->digits - 1) {
        d->digits[d->ndigits++] = c;
        if (fractional)
            d->exp10--;
    } else if (!fractional) {
        d->exp10++; /* dropped integer digit still scales the value */
    }
}

static bool parse_exponent(const char *s, size_t n, int64_t *exp)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return false;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v < 100000)
            v = v * 10 + (s[i] - '0');
    }
    *exp = neg ? -v : v;
    return true;
}

static bool split_decimal(const char *s, size_t n, decimal_parts *d)
{
    memset(d, 0, sizeof *d);
    d->all_zero = true;
    size_t i = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        d->neg = s[i++] == '-';
    bool any = false, frac = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            add_digit(d, c, frac);
            any = true;
        } else if (c == '.' && !frac) {
            frac = true;
        } else {
            break;
        }
    }
    if (!any)
        return false;
    if (i < n) {
        int64_t e;
        if ((s[i] != 'e' && s[i] != 'E') || !parse_exponent(s + i + 1, n - i - 1, &e))
            return false;
        d->exp10 += e;
    }
    return true;
}

/* Exact int64 value of the parts when they are integral and in range. */
static bool decimal_to_int(const decimal_parts *d, int64_t *out)
{
    int nd = d->ndigits;
    int64_t e = d->exp10;
    while (nd > 0 && e < 0 && d->digits[nd - 1] == '0') {
        nd--;
        e++;
    }
    if (e < 0 || nd + e > 19)
        return false;
    uint64_t limit = d->neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    for (int64_t k = 0; k < nd + e; k++) {
        uint64_t digit = k < nd ? (uint64_t)(d->digits[k] - '0') : 0;
        if (v > (limit - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = d->neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* DecimalFormat's symbols for the special values: "NaN", "∞", "-∞". */
static bool parse_special_double(const char *s, size_t n, eqlite_value *out)
{
    if (n == 3 && memcmp(s, "NaN", 3) == 0)
        set_double(out, NAN);
    else if (n == 3 && memcmp(s, "\xe2\x88\x9e", 3) == 0)
        set_double(out, INFINITY);
    else if (n == 4 && memcmp(s, "-\xe2\x88\x9e", 4) == 0)
        set_double(out, -INFINITY);
    else
        return false;
    return true;
}

/* DecimalFormat.parse as Elasticsearch uses it: a Long when the value is
 * integral and fits (so "3.0" is 3), else a Double ("-0" is -0.0). Also
 * accepted, as Elasticsearch documents: a leading '+', surrounding
 * whitespace (trimmed by the caller) and a lower-case exponent 'e'. */
static bool parse_decimal(const char *s, size_t n, eqlite_value *out)
{
    if (parse_special_double(s, n, out))
        return true;
    decimal_parts d;
    if (!split_decimal(s, n, &d))
        return false;
    if (d.all_zero) {
        if (d.neg)
            set_double(out, -0.0);
        else
            set_int(out, 0);
        return true;
    }
    int64_t iv;
    if (decimal_to_int(&d, &iv)) {
        set_int(out, iv);
        return true;
    }
    /* Rebuilt without a decimal point so strtod's locale does not matter. */
    char buf[96];
    snprintf(buf, sizeof buf, "%s%.*se%" PRId64, d.neg ? "-" : "", d.ndigits, d.digits, d.exp10);
    set_double(out, strtod(buf, NULL));
    return true;
}

static bool is_java_space(char c) { return (unsigned char)c <= ' '; }

bool eq_str_to_number(const char *s, size_t n, int base, eqlite_value *out)
{
    while (n > 0 && is_java_space(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_java_space(s[n - 1]))
        n--;
    if (n == 0)
        return false;
    bool hex_prefix = n >= 2 && s[0] == '0' && s[1] == 'x';
    if (base == 0)
        base = hex_prefix ? 16 : 10;
    if (base == 16 && hex_prefix) {
        s += 2;
        n -= 2;
    }
    if (base == 10)
        return parse_decimal(s, n, out);
    if (base < 2 || base > 36)
        return false;
    return parse_radix(s, n, base, out);
}

/* ---- Comparison ---------------------------------------------------------------- */

static int sign_of(int64_t v) { return (v > 0) - (v < 0); }

/* Double.compare: -0.0 < 0.0, NaN above everything and equal to itself. */
static int compare_doubles(double a, double b)
{
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    if (a == b) {
        bool na = signbit(a) != 0, nb = signbit(b) != 0;
        return na == nb ? 0 : (na ? -1 : 1);
    }
    return (isnan(a) ? 1 : 0) - (isnan(b) ? 1 : 0);
}

/* Exact long-vs-double order (no rounding of the long above 2^53), with the
 * long placed as +0.0 against -0.0 and below NaN, as Double.compare does. */
static int compare_int_double(int64_t i, double d)
{
    if (isnan(d))
        return -1;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    int64_t t = (int64_t)d; /* truncation is exact: |d| < 2^63 */
    if (i != t)
        return i < t ? -1 : 1;
    double frac = d - (double)t;
    if (frac != 0)
        return frac > 0 ? -1 : 1;
    return (i == 0 && signbit(d)) ? 1 : 0;
}

/* Java orders strings by UTF-16 units; UTF-8 bytes order by code point.
 * The two differ only between a supplementary character (surrogates
 * D800-DBFF) and a BMP character at or above U+E000. */
static int compare_strings(const char *a, size_t an, const char *b, size_t bn)
{
    size_t common = an < bn ? an : bn;
    size_t k = 0;
    while (k < common && a[k] == b[k])
        k++;
    if (k == common)
        return an == bn ? 0 : (an < bn ? -1 : 1);
    size_t start = k;
    while (start > 0 && ((unsigned char)a[start] & 0xC0) == 0x80 && k - start < 3)
        start--;
    int32_t ca, cb;
    utf8_next(a + start, an - start, &ca);
    utf8_next(b + start, bn - start, &cb);
    bool ok = ca < INVALID_BYTE_BASE && cb < INVALID_BYTE_BASE;
    if (ok && (ca >= 0x10000) != (cb >= 0x10000)) {
        int32_t bmp = ca >= 0x10000 ? cb : ca;
        int supp_first = bmp >= 0xE000 ? -1 : 1; /* order of the supplementary side */
        return ca >= 0x10000 ? supp_first : -supp_first;
    }
    return (unsigned char)a[k] < (unsigned char)b[k] ? -1 : 1;
}

static bool is_number(const eqlite_value *v)
{
    return v->kind == EQLITE_INT || v->kind == EQLITE_DOUBLE;
}

static int compare_numbers(const eqlite_value *a, const eqlite_value *b)
{
    if (a->kind == EQLITE_INT && b->kind == EQLITE_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    if (a->kind == EQLITE_DOUBLE && b->kind == EQLITE_DOUBLE)
        return compare_doubles(a->u.d, b->u.d);
    if (a->kind == EQLITE_INT)
        return compare_int_double(a->u.i, b->u.d);
    return -compare_int_double(b->u.i, a->u.d);
}

bool eq_value_compare(const eqlite_value *a, const eqlite_value *b, int *cmp_out)
{
    if (is_number(a) && is_number(b)) {
        *cmp_out = compare_numbers(a, b);
        return true;
    }
    if (a->kind != b->kind)
        return false;
    if (a->kind == EQLITE_STRING) {
        *cmp_out = compare_strings(a->u.s, a->len, b->u.s, b->len);
        return true;
    }
    if (a->kind == EQLITE_BOOL) {
        *cmp_out = sign_of((int64_t)(a->u.b != 0) - (int64_t)(b->u.b != 0));
        return true;
    }
    return false;
}

/* ---- Hashing --------------------------------------------------------------------- */

/* A wyhash-style hash built from 8-byte blocks, so that eq_hash_fold can feed
 * folded bytes as they come and get the same value as eq_hash of the folded
 * string. One 64x64->128 multiply per block. */
#define HASH_SEED UINT64_C(0xa0761d6478bd642f)
#define HASH_K1 UINT64_C(0xe7037ed1a0b428db)
#define HASH_K2 UINT64_C(0x8ebc6af09c88c6e3)
#define HASH_K3 UINT64_C(0x589965cc75374cc3)

static inline uint64_t mum(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    __extension__ typedef unsigned __int128 u128;
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
    uint64_t ha = a >> 32, la = (uint32_t)a, hb = b >> 32, lb = (uint32_t)b;
    uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl;
    uint64_t lo = t + (rm1 << 32);
    c += lo < t;
    uint64_t hi = rh + (rm0 >> 32) + (rm1 >> 32) + c;
    return lo ^ hi;
#endif
}

typedef struct hash_state {
    uint64_t h;
    uint64_t total;   /* bytes hashed */
    unsigned char pending[8];
    size_t npending;
} hash_state;

static inline void hash_block(hash_state *st, uint64_t w)
{
    st->h = mum(w ^ HASH_K1, st->h ^ HASH_K2);
    st->total += 8;
}

static inline void hash_byte(hash_state *st, unsigned char c)
{
    st->pending[st->npending++] = c;
    if (st->npending == 8) {
        uint64_t w;
        memcpy(&w, st->pending, 8);
        hash_block(st, w);
        st->npending = 0;
    }
}

static inline uint64_t hash_final(uint64_t h, uint64_t tail, uint64_t len)
{
    return mum(h ^ tail ^ HASH_K3, len ^ HASH_K1);
}

static uint64_t hash_finish(hash_state *st)
{
    uint64_t tail = load_tail((const char *)st->pending, st->npending);
    return hash_final(st->h, tail, st->total + st->npending);
}

uint64_t eq_hash(const char *s, size_t n)
{
    uint64_t h = HASH_SEED;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        h = mum(load64(s + i) ^ HASH_K1, h ^ HASH_K2);
    return hash_final(h, load_tail(s + i, n - i), n);
}

/* Feeds the folded bytes of s. ASCII goes 8 bytes at a time through the
 * SWAR fold while the stream is block-aligned; other characters are folded
 * one by one into the pending block. */
uint64_t eq_hash_fold(const char *s, size_t n)
{
    hash_state st = {HASH_SEED, 0, {0}, 0};
    size_t i = 0;
    while (i < n) {
        if (st.npending == 0) {
            size_t left = n - i;
            uint64_t w = left >= 8 ? load64(s + i) : load_tail(s + i, left);
            if ((w & ASCII_HIGH_BITS) == 0) {
                if (left < 8)
                    return hash_final(st.h, ascii_lower8(w), st.total + left);
                hash_block(&st, ascii_lower8(w));
                i += 8;
                continue;
            }
        }
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            hash_byte(&st, ascii_lower(c));
            i++;
            continue;
        }
        int32_t cp;
        i += fold_next(s + i, n - i, &cp);
        char enc[4];
        size_t len = utf8_encode(cp, enc);
        for (size_t k = 0; k < len; k++)
            hash_byte(&st, (unsigned char)enc[k]);
    }
    return hash_finish(&st);
}

bool eq_value_date_ns(const eqlite_value *v, int64_t *ns_out)
{
    switch (v->kind) {
    case EQLITE_STRING: return eq_parse_date(v->u.s, v->len, ns_out);
    /* epoch milliseconds; past the nanosecond range (year 2262) is no date */
    case EQLITE_INT: return !__builtin_mul_overflow(v->u.i, (int64_t)1000000, ns_out);
    case EQLITE_DOUBLE: {
        double ns = v->u.d * 1e6;
        if (!(ns >= -0x1p63 && ns < 0x1p63))
            return false;
        *ns_out = (int64_t)ns;
        return true;
    }
    default: return false;
    }
}

/* ---- version ordering: Elasticsearch's VersionEncoder -------------------- */

#define VERSION_MAX_IDENTIFIERS 32 /* VersionEncoder.MAX_LEGAL_VERSION_IDENTIFIERS */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Identifiers split on '.' in [s, e), each checked by `ok`, at most 32. */
static bool dotted_parts_ok(const char *s, const char *e, bool (*ok)(const char *, const char *))
{
    int count = 0;
    for (;;) {
        const char *dot = memchr(s, '.', (size_t)(e - s));
        const char *end = dot ? dot : e;
        if (++count > VERSION_MAX_IDENTIFIERS || !ok(s, end))
            return false;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

/* 0|[1-9]\d*, at most 127 digits (ES refuses a longer group with an
 * exception; here the version is treated as illegal) */
static bool numeric_ident(const char *s, const char *e)
{
    if (s == e || (*s == '0' && e - s > 1) || e - s >= 128)
        return false;
    for (; s < e; s++)
        if (!is_digit(*s))
            return false;
    return true;
}

/* 0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]* */
static bool prerelease_ident(const char *s, const char *e)
{
    if (numeric_ident(s, e))
        return true;
    bool letter = false;
    for (const char *p = s; p < e; p++) {
        if (!is_ident_char(*p))
            return false;
        letter |= !is_digit(*p);
    }
    return letter;
}

/* [0-9a-zA-Z-]+ */
static bool build_ident(const char *s, const char *e)
{
    if (s == e)
        return false;
    for (; s < e; s++)
        if (!is_ident_char(*s))
            return false;
    return true;
}

/* A digit run as VersionEncoder.prefixDigitGroupsWithLength writes it: a
 * marker, the length with the top bit set, the digits. */
static size_t put_digit_run(const char *s, size_t len, unsigned char *out)
{
    out[0] = 0x01;
    out[1] = (unsigned char)(len | 0x80);
    memcpy(out + 2, s, len);
    return len + 2;
}

/* The encoded bytes of a version into out (room for 3 * n + 2 bytes). */
static size_t version_encode(const char *s, size_t n, unsigned char *out)
{
    const char *end = s + n;
    /* VersionParts.extractSuffix: the first separator, unless it starts the text */
    const char *plus = n ? memchr(s, '+', n) : NULL;
    if (plus == s)
        plus = NULL;
    const char *main_end = plus ? plus : end;
    const char *pre = main_end > s ? memchr(s, '-', (size_t)(main_end - s)) : NULL;
    if (pre == s)
        pre = NULL;
    const char *pre_end = main_end;
    if (pre)
        main_end = pre;
    bool legal = dotted_parts_ok(s, main_end, numeric_ident) &&
                 (!pre || (pre_end - pre > 1 && dotted_parts_ok(pre + 1, pre_end, prerelease_ident))) &&
                 (!plus || (end - plus > 1 && dotted_parts_ok(plus + 1, end, build_ident)));
    if (!legal) {
        if (n == 0) { /* sorts after every legal version */
            out[0] = 0x03;
            return 1;
        }
        memcpy(out, s, n);
        return n;
    }
    size_t len = 0;
    for (const char *p = s; p < main_end;) {
        if (is_digit(*p)) {
            const char *q = p;
            while (q < main_end && is_digit(*q))
                q++;
            len += put_digit_run(p, (size_t)(q - p), out + len);
            p = q;
        } else {
            out[len++] = (unsigned char)*p++;
        }
    }
    if (pre) {
        out[len++] = 0x02; /* a pre-release sorts before the release */
        out[len++] = '-';
        for (const char *p = pre + 1; p < pre_end;) {
            const char *dot = memchr(p, '.', (size_t)(pre_end - p));
            const char *e = dot ? dot : pre_end;
            bool numeric = true;
            for (const char *q = p; q < e; q++)
                numeric &= is_digit(*q);
            if (numeric) {
                len += put_digit_run(p, (size_t)(e - p), out + len);
            } else {
                memcpy(out + len, p, (size_t)(e - p));
                len += (size_t)(e - p);
            }
            if (dot)
                out[len++] = '.';
            p = dot ? dot + 1 : pre_end;
        }
    } else {
        out[len++] = 0x03;
    }
    if (plus) {
        memcpy(out + len, plus, (size_t)(end - plus));
        len += (size_t)(end - plus);
    }
    return len;
}

bool eq_version_compare(const char *a, size_t an, const char *b, size_t bn, int *cmp_out)
{
    unsigned char sa[3 * 128 + 2], sb[3 * 128 + 2];
    unsigned char *ea = an <= 128 ? sa : malloc(3 * an + 2);
    unsigned char *eb = bn <= 128 ? sb : malloc(3 * bn + 2);
    bool ok = ea && eb;
    if (ok) {
        size_t la = version_encode(a, an, ea), lb = version_encode(b, bn, eb);
        int c = memcmp(ea, eb, la < lb ? la : lb); /* BytesRef order: unsigned bytes, then length */
        *cmp_out = c ? c : (la > lb) - (la < lb);
    }
    if (ea != sa)
        free(ea);
    if (eb != sb)
        free(eb);
    return ok;
}
