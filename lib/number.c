/* number.c: numbers to text as Java prints them (Double.toString, string(),
 * concat()) and text to numbers as Elasticsearch's number() reads them. */
#define _POSIX_C_SOURCE 200809L

#include "value.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An optional '+' or '-' at s: its length (0 or 1); *neg for '-'. */
static size_t sign_prefix(const char *s, size_t n, bool *neg)
{
    *neg = n > 0 && s[0] == '-';
    return n > 0 && (s[0] == '+' || s[0] == '-');
}

/* Integer.parseInt(s, radix) widened to int64: sign, then digits only. */
static bool parse_radix(const char *s, size_t n, int base, eqlite_value *out)
{
    bool neg;
    size_t i = sign_prefix(s, n, &neg);
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

bool eq_parse_digits(const char *s, size_t n, int64_t cap, int64_t *out)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v < cap)
            v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_exponent(const char *s, size_t n, int64_t *exp)
{
    bool neg;
    size_t i = sign_prefix(s, n, &neg);
    int64_t v;
    if (i == n || !eq_parse_digits(s + i, n - i, 100000, &v)) /* past 1e100000 every double is 0 or inf */
        return false;
    *exp = neg ? -v : v;
    return true;
}

static bool split_decimal(const char *s, size_t n, decimal_parts *d)
{
    memset(d, 0, sizeof *d);
    d->all_zero = true;
    size_t i = sign_prefix(s, n, &d->neg);
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
bool eq_parse_decimal_text(const char *s, size_t n, eqlite_value *out)
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
        return eq_parse_decimal_text(s, n, out);
    if (base < 2 || base > 36)
        return false;
    return parse_radix(s, n, base, out);
}
