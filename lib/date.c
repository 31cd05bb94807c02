/* date.c: the one home of date parsing — Elasticsearch's default date format
 * (strict_date_optional_time||epoch_millis) to nanoseconds. The core reads
 * dates with it when comparing; the intake library (lib/io) reads event
 * timestamps and default-format date fields with it, so both accept exactly
 * the same text (see date.h for the set). */
#include "date.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int64_t eq_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void eq_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

int eq_days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* `count` digits at s[at]; inlined so each fixed count unrolls (a timestamp
 * is parsed per event). */
static inline __attribute__((always_inline)) bool digits_at(const char *s, size_t n, size_t at, int count, int *out)
{
    if (n < at + (size_t)count)
        return false;
    int v = 0;
    for (int k = 0; k < count; k++) {
        unsigned d = (unsigned)(s[at + (size_t)k] - '0');
        if (d > 9)
            return false;
        v = v * 10 + (int)d;
    }
    *out = v;
    return true;
}

/* seconds * 1e9 + fraction without overflow, reaching INT64_MIN exactly. */
static bool combine_ns(int64_t seconds, int64_t fraction_ns, int64_t *ns)
{
    if (seconds < 0 && fraction_ns > 0) {
        seconds += 1;
        fraction_ns -= 1000000000;
    }
    int64_t scaled;
    if (__builtin_mul_overflow(seconds, (int64_t)1000000000, &scaled))
        return false;
    return !__builtin_add_overflow(scaled, fraction_ns, ns);
}

/* The zone from s[at] to the end: "Z", or +HH, +HHmm, +HH:mm, +HHmmss,
 * +HH:mm:ss (colons both or neither), at most 18 hours either way — what
 * Elasticsearch's Iso8601Parser takes (named regions such as "UTC" are not). */
static bool parse_zone(const char *s, size_t n, size_t at, int64_t *offset_s)
{
    if (s[at] == 'Z')
        return at + 1 == n;
    if (s[at] != '+' && s[at] != '-')
        return false;
    int sign = s[at] == '-' ? -1 : 1, hh, mm = 0, ss = 0;
    size_t i = at + 1;
    if (!digits_at(s, n, i, 2, &hh) || hh > 23)
        return false;
    i += 2;
    if (i < n) {
        bool colon = s[i] == ':';
        i += colon;
        if (!digits_at(s, n, i, 2, &mm) || mm > 59)
            return false;
        i += 2;
        if (i < n) {
            if ((s[i] == ':') != colon)
                return false;
            i += colon;
            if (!digits_at(s, n, i, 2, &ss) || ss > 59)
                return false;
            i += 2;
        }
    }
    int64_t off = hh * 3600 + mm * 60 + ss;
    if (i != n || off > 18 * 3600)
        return false;
    *offset_s = sign * off;
    return true;
}

/* strict_date_optional_time as Elasticsearch's Iso8601Parser reads it:
 * yyyy[-MM[-dd[T[HH[:mm[:ss[(.|,)f{1,9}]]][zone]]]]], upper-case T and Z only. */
static bool parse_iso(const char *s, size_t n, int64_t *ns_out)
{
    int year, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int64_t nanos = 0, offset = 0;
    if (!digits_at(s, n, 0, 4, &year))
        return false;
    size_t i = 4;
    if (i < n) {
        if (s[i] != '-' || !digits_at(s, n, 5, 2, &month) || month < 1 || month > 12)
            return false;
        i = 7;
    }
    if (i < n) {
        if (s[i] != '-' || !digits_at(s, n, 8, 2, &day) || day < 1 || day > eq_days_in_month(year, month))
            return false;
        i = 10;
    }
    if (i < n) {
        if (s[i] != 'T')
            return false;
        i = 11;
    }
    /* each time part may end the text, or be followed by the zone */
    static const char seps[3] = {0, ':', ':'};
    static const int limits[3] = {23, 59, 59};
    int *parts[3] = {&hour, &minute, &second};
    for (int k = 0; k < 3 && i < n; k++) {
        if (k > 0) {
            if (s[i] == '+' || s[i] == '-' || s[i] == 'Z')
                break;
            if (s[i] != seps[k])
                return false;
            i++;
        }
        if (!digits_at(s, n, i, 2, parts[k]) || *parts[k] > limits[k])
            return false;
        i += 2;
        if (k == 2 && i < n && (s[i] == '.' || s[i] == ',')) {
            size_t first = ++i;
            int64_t scale = 100000000;
            for (; i < n && i - first < 10 && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
                nanos += (s[i] - '0') * scale;
            if (i == first || i - first > 9)
                return false;
        }
    }
    if (i < n && !parse_zone(s, n, i, &offset))
        return false;
    int64_t seconds = eq_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    return combine_ns(seconds, nanos, ns_out);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* The common shape "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) in a few word
 * operations: 0 when parsed, -1 when malformed, 1 when it is not this shape
 * (parse_iso decides). The same checks as parse_iso. */
static int parse_iso_millis_z(const char *s, int64_t *ns)
{
    /* Three little-endian words: "YYYY-MM-", "DDTHH:MM", ":SS.mmmZ". */
    const uint64_t digits_a = 0x00FFFF00FFFFFFFFull; /* bytes 0-3, 5, 6 */
    const uint64_t digits_b = 0xFFFF00FFFF00FFFFull; /* bytes 0, 1, 3, 4, 6, 7 */
    const uint64_t digits_c = 0x00FFFFFF00FFFF00ull; /* bytes 1, 2, 4, 5, 6 */
    const uint64_t sep_a = 0x2D00002D00000000ull;    /* '-' at 4 and 7 */
    const uint64_t sep_b = 0x00003A0000540000ull;    /* 'T' at 2, ':' at 5 */
    const uint64_t sep_c = 0x5A0000002E00003Aull;    /* ':' at 0, '.' at 3, 'Z' at 7 */
    const uint64_t zeros = 0x3030303030303030ull, high = 0xF0F0F0F0F0F0F0F0ull;
    const uint64_t six = 0x0606060606060606ull, ten = 0x1010101010101010ull;
    uint64_t a, b, c;
    memcpy(&a, s, 8);
    memcpy(&b, s + 8, 8);
    memcpy(&c, s + 16, 8);
    if ((a & ~digits_a) != sep_a || (b & ~digits_b) != sep_b || (c & ~digits_c) != sep_c)
        return 1;
    a = (a ^ zeros) & digits_a; /* digit values where digits belong */
    b = (b ^ zeros) & digits_b;
    c = (c ^ zeros) & digits_c;
    /* each byte is 0-9 exactly when its high nibble is clear and adding 6
     * does not carry into bit 4 (no carry crosses bytes then) */
    if (((a | b | c) & high) || (((a + six) | (b + six) | (c + six)) & ten))
        return 1;
#define AT(w, k) ((int)(((w) >> (8 * (k))) & 0xFF))
    int y = AT(a, 0) * 1000 + AT(a, 1) * 100 + AT(a, 2) * 10 + AT(a, 3);
    int mo = AT(a, 5) * 10 + AT(a, 6), day = AT(b, 0) * 10 + AT(b, 1);
    int h = AT(b, 3) * 10 + AT(b, 4), mi = AT(b, 6) * 10 + AT(b, 7);
    int sec = AT(c, 1) * 10 + AT(c, 2);
    int64_t ms = AT(c, 4) * 100 + AT(c, 5) * 10 + AT(c, 6);
#undef AT
    if (mo < 1 || mo > 12 || day < 1 || day > eq_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int64_t seconds = eq_days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + sec;
    return combine_ns(seconds, ms * 1000000, ns) ? 0 : -1;
}
#endif

/* epoch_millis: optional '-', digits, optional fraction of 1 to 6 digits. */
static bool parse_epoch_millis(const char *s, size_t n, int64_t *ns_out)
{
    size_t i = 0;
    bool neg = i < n && s[i] == '-';
    i += neg;
    int64_t ms = 0;
    size_t first = i;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (ms > (INT64_MAX - 9) / 10)
            return false;
        ms = ms * 10 + (s[i] - '0');
    }
    if (i == first)
        return false;
    int64_t sub_ns = 0;
    if (i < n && s[i] == '.') {
        int digits = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (digits == 6)
                return false;
            sub_ns = sub_ns * 10 + (s[i] - '0');
        }
        if (digits == 0)
            return false;
        for (; digits < 6; digits++)
            sub_ns *= 10;
    }
    int64_t v;
    if (i != n || __builtin_mul_overflow(ms, (int64_t)1000000, &v) || __builtin_add_overflow(v, sub_ns, &v))
        return false;
    *ns_out = neg ? -v : v;
    return true;
}

/* Tried in Elasticsearch's order: "2020" is a year, "20200101" epoch
 * milliseconds. */
bool eq_parse_date(const char *s, size_t n, int64_t *ns_out)
{
    if (!s || n == 0)
        return false;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 24) {
        int fast = parse_iso_millis_z(s, ns_out);
        if (fast <= 0)
            return fast == 0;
    }
#endif
    return parse_iso(s, n, ns_out) || parse_epoch_millis(s, n, ns_out);
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
