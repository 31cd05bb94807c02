// ndjson_timestamp.cpp: the event's timestamp: ISO-8601 and epoch millis at
// full precision, or the field's date format.

#include "io/ndjson_internal.h"

namespace ndjson_internal {

bool timestamp_from(eq_ndjson *r, const eqlite_value &v, int64_t *ns) {
    const std::string &f = r->ts_name;
    switch (v.kind) {
    case EQLITE_NULL:
        r->reason = "missing timestamp field '" + f + "'";
        return false;
    case EQLITE_INT:
        if (__builtin_mul_overflow(v.u.i, static_cast<int64_t>(1000000), ns)) break;
        return true;
    case EQLITE_DOUBLE: {
        double d = v.u.d * 1e6;
        if (!(d > -9.2e18 && d < 9.2e18)) break;
        *ns = static_cast<int64_t>(d);
        return true;
    }
    case EQLITE_STRING:
        if (eq_ndjson_parse_timestamp(v.u.s, v.len, ns) == 0) return true;
        r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + f + "'";
        return false;
    default:
        r->reason = "timestamp field '" + f + "' is not a string or a number";
        return false;
    }
    r->reason = "timestamp in field '" + f + "' is out of range";
    return false;
}

// The timestamp is read before conversion, at full precision; a date field
// with a custom format falls back to it when the text is not ISO-8601.
bool event_timestamp(eq_ndjson *r, int64_t *ns) {
    size_t slot = static_cast<size_t>(r->ts_slot);
    const eqlite_value &v = r->values[slot];
    const FieldConv &c = r->conv[slot];
    const std::string &format = c.kind == Conv::Date ? c.format : r->ts_format;
    if (!format.empty() && v.kind == EQLITE_STRING && eq_ndjson_parse_timestamp(v.u.s, v.len, ns) != 0) {
        int64_t ms;
        if (!parse_date_format(v.u.s, v.len, format, &ms)) {
            r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + r->ts_name +
                        "' (format [" + format + "])";
            return false;
        }
        if (__builtin_mul_overflow(ms, static_cast<int64_t>(1000000), ns)) {
            r->reason = "timestamp in field '" + r->ts_name + "' is out of range";
            return false;
        }
        return true;
    }
    return timestamp_from(r, v, ns);
}

// ---- timestamps -------------------------------------------------------------

// Inlined so that each fixed count unrolls (timestamps are parsed per event).
inline __attribute__((always_inline)) bool read_digits(const char *&p, const char *end, int count, int *out) {
    if (end - p < count) return false;
    int v = 0;
    for (int i = 0; i < count; i++) {
        unsigned d = static_cast<unsigned>(p[i] - '0');
        if (d > 9) return false;
        v = v * 10 + static_cast<int>(d);
    }
    p += count;
    *out = v;
    return true;
}

// days_in_month() and days_from_civil() are defined with the date formats above.

// ".123456789" -> nanoseconds; 1 to 9 digits (',' is ISO's other separator).
bool read_fraction(const char *&p, const char *end, int64_t *ns) {
    *ns = 0;
    if (p == end || (*p != '.' && *p != ',')) return true;
    p++;
    int n = 0;
    int64_t scale = 100000000;
    while (p < end && *p >= '0' && *p <= '9') {
        if (++n > 9) return false;
        *ns += (*p++ - '0') * scale;
        scale /= 10;
    }
    return n > 0;
}

// "", "Z", "+HH", "+HHMM", "+HH:MM" -> offset seconds east of UTC.
bool read_zone(const char *&p, const char *end, int64_t *offset) {
    *offset = 0;
    if (p == end) return true;
    if (*p == 'Z' || *p == 'z') return ++p == end;
    if (*p != '+' && *p != '-') return false;
    int sign = *p++ == '-' ? -1 : 1, hh = 0, mm = 0;
    if (!read_digits(p, end, 2, &hh)) return false;
    if (p < end && *p == ':') p++;
    if (p < end && !read_digits(p, end, 2, &mm)) return false;
    if (p != end || hh > 18 || mm > 59) return false;
    *offset = sign * (hh * 3600 + mm * 60);
    return true;
}

bool combine_ns(int64_t seconds, int64_t fraction_ns, int64_t *ns) {
    if (seconds < 0 && fraction_ns > 0) { // reaches INT64_MIN exactly
        seconds += 1;
        fraction_ns -= 1000000000;
    }
    int64_t scaled;
    if (__builtin_mul_overflow(seconds, static_cast<int64_t>(1000000000), &scaled)) return false;
    return !__builtin_add_overflow(scaled, fraction_ns, ns);
}

bool parse_iso8601(const char *p, const char *end, int64_t *ns) {
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!read_digits(p, end, 4, &y) || p == end || *p++ != '-' || !read_digits(p, end, 2, &mo) ||
        p == end || *p++ != '-' || !read_digits(p, end, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
    int64_t fraction = 0, offset = 0;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (!read_digits(p, end, 2, &h)) return false;
        if (p < end && *p == ':') {
            p++;
            if (!read_digits(p, end, 2, &mi)) return false;
            if (p < end && *p == ':') {
                p++;
                if (!read_digits(p, end, 2, &s) || !read_fraction(p, end, &fraction)) return false;
            }
        }
        if (h > 23 || mi > 59 || s > 59) return false;
    }
    if (!read_zone(p, end, &offset)) return false;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return combine_ns(seconds, fraction, ns);
}

// The common shape "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) in one pass: 0 when
// parsed, -1 when malformed, 1 when it is not this shape (the general parser
// decides). The same checks as parse_iso8601.
int parse_iso_millis_z(const char *s, int64_t *ns) {
    // Three little-endian words: "YYYY-MM-", "DDTHH:MM", ":SS.mmmZ". The
    // separators must be exactly these ('t', ' ', ',' and 'z' take the
    // general parser); the other bytes must be digits.
    constexpr uint64_t kDigitsA = 0x00FFFF00FFFFFFFFull;        // bytes 0-3, 5, 6
    constexpr uint64_t kDigitsB = 0xFFFF00FFFF00FFFFull;        // bytes 0, 1, 3, 4, 6, 7
    constexpr uint64_t kDigitsC = 0x00FFFFFF00FFFF00ull;        // bytes 1, 2, 4, 5, 6
    constexpr uint64_t kSepA = 0x2D00002D00000000ull;          // '-' at 4 and 7
    constexpr uint64_t kSepB = 0x00003A0000540000ull;          // 'T' at 2, ':' at 5
    constexpr uint64_t kSepC = 0x5A0000002E00003Aull;          // ':' at 0, '.' at 3, 'Z' at 7
    constexpr uint64_t kZeros = 0x3030303030303030ull, kHigh = 0xF0F0F0F0F0F0F0F0ull;
    constexpr uint64_t kSix = 0x0606060606060606ull, kTen = 0x1010101010101010ull;
    uint64_t a, b, c;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + 8, 8);
    std::memcpy(&c, s + 16, 8);
    if ((a & ~kDigitsA) != kSepA || (b & ~kDigitsB) != kSepB || (c & ~kDigitsC) != kSepC) return 1;
    a = (a ^ kZeros) & kDigitsA; // digit values where digits belong
    b = (b ^ kZeros) & kDigitsB;
    c = (c ^ kZeros) & kDigitsC;
    // Each digit byte is now 0-9 exactly when its high nibble is clear and
    // adding 6 does not carry into bit 4 (no carry crosses bytes then).
    if (((a | b | c) & kHigh) || (((a + kSix) | (b + kSix) | (c + kSix)) & kTen)) return 1;
    auto at = [](uint64_t w, int k) { return static_cast<int>((w >> (8 * k)) & 0xFF); };
    int y = at(a, 0) * 1000 + at(a, 1) * 100 + at(a, 2) * 10 + at(a, 3);
    int mo = at(a, 5) * 10 + at(a, 6), day = at(b, 0) * 10 + at(b, 1);
    int h = at(b, 3) * 10 + at(b, 4), mi = at(b, 6) * 10 + at(b, 7);
    int sec = at(c, 1) * 10 + at(c, 2);
    int64_t ms = at(c, 4) * 100 + at(c, 5) * 10 + at(c, 6);
    if (mo < 1 || mo > 12 || day < 1 || day > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) return -1;
    int64_t seconds = days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + sec;
    return combine_ns(seconds, ms * 1000000, ns) ? 0 : -1;
}

// "[-]digits[.digits]" milliseconds since the epoch.
bool parse_epoch_millis(const char *p, const char *end, int64_t *ns) {
    bool negative = p < end && *p == '-';
    if (negative) p++;
    if (p == end || *p < '0' || *p > '9') return false;
    int64_t ms = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(ms, static_cast<int64_t>(10), &ms) ||
            __builtin_add_overflow(ms, static_cast<int64_t>(*p++ - '0'), &ms))
            return false;
    }
    int64_t sub_ms = 0; // nanoseconds below the millisecond
    if (p < end && *p == '.') {
        p++;
        int64_t scale = 100000;
        int n = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (++n > 6) return false;
            sub_ms += (*p++ - '0') * scale;
            scale /= 10;
        }
        if (n == 0) return false;
    }
    if (p != end) return false;
    int64_t v;
    if (__builtin_mul_overflow(ms, static_cast<int64_t>(1000000), &v) ||
        __builtin_add_overflow(v, sub_ms, &v))
        return false;
    *ns = negative ? -v : v;
    return true;
}

bool looks_like_epoch(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p == end || *p == '.';
}

} // namespace ndjson_internal

extern "C" int eq_ndjson_parse_timestamp(const char *s, size_t len, int64_t *ns) {
    if (!s || !ns || len == 0) return -1;
    if (len == 24) {
        int fast = parse_iso_millis_z(s, ns);
        if (fast <= 0) return fast;
    }
    const char *end = s + len;
    bool ok = looks_like_epoch(s, end) ? parse_epoch_millis(s, end, ns) : parse_iso8601(s, end, ns);
    return ok ? 0 : -1;
}
