/* date.c: the one home of date parsing — Elasticsearch's default date format
 * (strict_date_optional_time||epoch_millis) to nanoseconds. The core reads
 * dates with it when comparing; the intake library (lib/io) converts
 * timestamps with it, so both agree on every date. */
#include "date.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>


/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's formula). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

typedef struct date_cursor {
    const char *s;
    size_t n, i;
} date_cursor;

static bool take_char(date_cursor *c, char ch)
{
    if (c->i < c->n && c->s[c->i] == ch) {
        c->i++;
        return true;
    }
    return false;
}

static bool take_digits(date_cursor *c, int count, int *out)
{
    if (c->n - c->i < (size_t)count)
        return false;
    int v = 0;
    for (int k = 0; k < count; k++) {
        char ch = c->s[c->i + (size_t)k];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    c->i += (size_t)count;
    *out = v;
    return true;
}

/* Zone suffix: Z, +HH, +HH:MM, +HHMM or +HH:MM:SS. */
static bool parse_zone(date_cursor *c, int64_t *offset_s)
{
    *offset_s = 0;
    if (c->i == c->n || take_char(c, 'Z'))
        return c->i == c->n;
    bool neg = c->s[c->i] == '-';
    if (!take_char(c, '+') && !take_char(c, '-'))
        return false;
    int hh, mm = 0, ss = 0;
    if (!take_digits(c, 2, &hh))
        return false;
    if (take_char(c, ':')) {
        if (!take_digits(c, 2, &mm))
            return false;
        if (take_char(c, ':') && !take_digits(c, 2, &ss))
            return false;
    } else if (c->i < c->n && !take_digits(c, 2, &mm)) {
        return false;
    }
    if (hh > 18 || mm > 59 || ss > 59 || c->i != c->n)
        return false;
    int64_t off = hh * 3600 + mm * 60 + ss;
    if (off > 18 * 3600)
        return false;
    *offset_s = neg ? -off : off;
    return true;
}

/* Fraction of a second after '.' or ',': 1 to 9 digits, in nanoseconds. */
static bool parse_fraction(date_cursor *c, int64_t *nanos)
{
    int digits = 0;
    int64_t v = 0;
    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        if (++digits > 9)
            return false;
        v = v * 10 + (c->s[c->i++] - '0');
    }
    if (digits == 0)
        return false;
    for (int k = digits; k < 9; k++)
        v *= 10;
    *nanos = v;
    return true;
}

typedef struct civil_time {
    int year, month, day, hour, minute, second;
    int64_t nanos, offset_s;
} civil_time;

static bool parse_time_of_day(date_cursor *c, civil_time *t)
{
    if (!take_digits(c, 2, &t->hour) || t->hour > 23)
        return false;
    if (take_char(c, ':')) {
        if (!take_digits(c, 2, &t->minute) || t->minute > 59)
            return false;
        if (take_char(c, ':')) {
            if (!take_digits(c, 2, &t->second) || t->second > 59)
                return false;
            if ((take_char(c, '.') || take_char(c, ',')) && !parse_fraction(c, &t->nanos))
                return false;
        }
    }
    return parse_zone(c, &t->offset_s);
}

/* strict_date_optional_time: yyyy[-MM[-dd[THH[:mm[:ss[.f]]][zone]]]]. */
static bool parse_iso(const char *s, size_t n, civil_time *t)
{
    date_cursor c = {s, n, 0};
    memset(t, 0, sizeof *t);
    t->month = t->day = 1;
    if (!take_digits(&c, 4, &t->year))
        return false;
    if (take_char(&c, '-')) {
        if (!take_digits(&c, 2, &t->month) || t->month < 1 || t->month > 12)
            return false;
        if (take_char(&c, '-')) {
            if (!take_digits(&c, 2, &t->day) || t->day < 1 ||
                t->day > days_in_month(t->year, t->month))
                return false;
            if (take_char(&c, 'T'))
                return parse_time_of_day(&c, t);
        }
    }
    return c.i == c.n;
}

static bool seconds_to_ns(int64_t secs, int64_t nanos, int64_t *out)
{
    const int64_t NS = 1000000000;
    if (secs > (INT64_MAX - nanos) / NS || secs < INT64_MIN / NS + 1)
        return false;
    *out = secs * NS + nanos;
    return true;
}

/* epoch_millis: optional '-', digits, optional fraction of up to 6 digits. */
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
    if (i != n || ms > INT64_MAX / 1000000 - 1)
        return false;
    int64_t v = ms * 1000000 + sub_ns;
    *ns_out = neg ? -v : v;
    return true;
}

/* Elasticsearch's default date format is strict_date_optional_time||epoch_millis,
 * tried in that order: "2020" is a year, "20200101" epoch milliseconds. */
bool eq_parse_date(const char *s, size_t n, int64_t *ns_out)
{
    civil_time t;
    if (parse_iso(s, n, &t)) {
        int64_t days = days_from_civil(t.year, t.month, t.day);
        int64_t secs = days * 86400 + t.hour * 3600 + t.minute * 60 + t.second - t.offset_s;
        return seconds_to_ns(secs, t.nanos, ns_out);
    }
    return parse_epoch_millis(s, n, ns_out);
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
