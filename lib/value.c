/* value.c: the order of values with Elasticsearch (Java) semantics:
 * ==, < and friends across numbers, strings and bools, and the order of the
 * `version` field type.
 *
 * Pure: inputs are pointer + length, outputs go to caller buffers (the
 * version order allocates only for versions over 128 bytes). */
#include "value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

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
