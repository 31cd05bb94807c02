// ndjson_convert.cpp: Elasticsearch's index-time conversion of the projected
// values to their mapped types.

#include "io/ndjson_internal.h"

namespace ndjson_internal {

// ---- Elasticsearch's index-time conversion to the mapped type ----------------


void conv_for_type(uint32_t type, FieldConv *c) {
    struct Row {
        uint32_t type;
        Conv kind;
        const char *name;
        int64_t min, max;
    };
    static const Row rows[] = {
        {EQLITE_T_LONG, Conv::Integer, "long", INT64_MIN, INT64_MAX},
        {EQLITE_T_INTEGER, Conv::Integer, "integer", INT32_MIN, INT32_MAX},
        {EQLITE_T_SHORT, Conv::Integer, "short", INT16_MIN, INT16_MAX},
        {EQLITE_T_BYTE, Conv::Integer, "byte", INT8_MIN, INT8_MAX},
        {EQLITE_T_DOUBLE, Conv::Floating, "double", 0, 0},
        {EQLITE_T_FLOAT, Conv::Floating, "float", 0, 0},
        {EQLITE_T_HALF_FLOAT, Conv::Floating, "half_float", 0, 0},
        {EQLITE_T_SCALED_FLOAT, Conv::Floating, "scaled_float", 0, 0},
        {EQLITE_T_BOOLEAN, Conv::Boolean, "boolean", 0, 0},
        {EQLITE_T_KEYWORD, Conv::Text, "keyword", 0, 0},
        {EQLITE_T_WILDCARD, Conv::Text, "wildcard", 0, 0},
        {EQLITE_T_CONSTANT_KEYWORD, Conv::Text, "constant_keyword", 0, 0},
        {EQLITE_T_TEXT, Conv::Text, "text", 0, 0},
        {EQLITE_T_DATE, Conv::Date, "date", 0, 0},
        {EQLITE_T_DATE_NANOS, Conv::DateNanos, "date_nanos", 0, 0},
        {EQLITE_T_IP, Conv::Ip, "ip", 0, 0},
    };
    for (const Row &row : rows)
        if (row.type == type) {
            c->kind = row.kind;
            c->type_name = row.name;
            c->min = row.min;
            c->max = row.max;
            return;
        }
}

// A number as Java's Double.parseDouble / Long.parseLong would take it, minus
// their whitespace trimming, hex floats and NaN/Infinity (ES rejects
// non-finite values): [+-]digits[.digits][(e|E)[+-]digits] or [+-].digits...
struct NumberText {
    bool integral = false; // no fraction or exponent: `i` is exact if it fits
    bool fits = false;
    int64_t i = 0;
    double d = 0;
};

bool parse_number_text(const char *s, size_t n, NumberText *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t int_digits = i - int_start, frac_digits = 0;
    bool integral = true;
    if (i < n && s[i] == '.') {
        integral = false;
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac_digits = i - f;
    }
    if (int_digits + frac_digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e) return false;
    }
    if (i != n || n > 400) return false;
    out->integral = integral;
    if (integral) {
        uint64_t v = 0;
        bool over = false;
        for (size_t k = int_start; k < int_start + int_digits; k++)
            over |= __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<uint64_t>(s[k] - '0'), &v);
        if (!over && (v <= static_cast<uint64_t>(INT64_MAX) || (neg && v == static_cast<uint64_t>(INT64_MAX) + 1))) {
            out->fits = true;
            out->i = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
        }
    }
    char buf[408];
    std::memcpy(buf, s, n);
    buf[n] = 0;
    out->d = std::strtod(buf, nullptr);
    return std::isfinite(out->d);
}

// Truncation toward zero into [min, max] (ES `coerce`).
bool double_to_integer(double d, int64_t min, int64_t max, int64_t *out) {
    if (!std::isfinite(d)) return false;
    double t = std::trunc(d);
    // 2^63 is exactly representable; INT64_MAX is not.
    if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return false;
    int64_t v = static_cast<int64_t>(t);
    if (v < min || v > max) return false;
    *out = v;
    return true;
}

// The shortest text that reads back as d, with ".0" when it looks integral
// (5.0 -> "5.0", 0.1 -> "0.1", 1e+21 -> "1e+21").
size_t double_text(double d, char *buf, size_t cap) {
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = std::snprintf(buf, cap, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    if (n > 0 && !std::strpbrk(buf, ".eEn") && static_cast<size_t>(n) + 2 < cap) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = 0;
    }
    return n > 0 ? static_cast<size_t>(n) : 0;
}

// ---- converting the projected values (after the walk) -------------------------

std::string value_text_for_message(const eqlite_value &v) {
    char buf[64];
    switch (v.kind) {
    case EQLITE_STRING: {
        std::string out = "\"";
        out.append(v.u.s, std::min<size_t>(v.len, 64));
        out += v.len > 64 ? "...\"" : "\"";
        return out;
    }
    case EQLITE_INT: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.u.i)); return buf;
    case EQLITE_DOUBLE: double_text(v.u.d, buf, sizeof buf); return buf;
    case EQLITE_BOOL: return v.u.b ? "true" : "false";
    default: return "null";
    }
}

bool cannot_convert(eq_ndjson *r, const FieldConv &c, const eqlite_value &v) {
    r->reason = "field [" + c.name + "]: cannot convert " + value_text_for_message(v) + " to " + c.type_name;
    if (c.kind == Conv::Date && !c.format.empty()) r->reason += " with format [" + c.format + "]";
    return false;
}

// Storage for numbers turned into keyword text; references stay valid while
// the deque grows, and slots are reused from event to event.
char *conv_text(eq_ndjson *r) {
    if (r->ntexts == r->texts.size()) r->texts.emplace_back();
    return r->texts[r->ntexts++].data();
}

// A date_nanos value as nanoseconds: ISO text keeps all nine fraction
// digits; a custom pattern and epoch_millis give milliseconds (a fraction of
// epoch millis is kept to the nanosecond). Elasticsearch refuses dates before
// 1970 and after 2262 in this resolution.
bool date_nanos_of(const FieldConv &c, const eqlite_value &v, int64_t *ns) {
    int64_t ms;
    if (v.kind == EQLITE_INT) {
        if (__builtin_mul_overflow(v.u.i, int64_t{1000000}, ns)) return false;
    } else if (v.kind == EQLITE_DOUBLE) {
        double d = v.u.d * 1e6;
        if (!(d >= 0 && d < 9.2e18)) return false;
        *ns = static_cast<int64_t>(d);
    } else if (v.kind != EQLITE_STRING) {
        return false;
    } else {
        std::string_view f = c.format;
        bool iso = f.empty() || f.find("date_optional_time") != f.npos || f.find("date_time") != f.npos ||
                   f.find("iso8601") != f.npos || f.find("epoch_millis") != f.npos;
        if (!(iso && eq_parse_date(v.u.s, v.len, ns))) {
            if (!parse_date_format(v.u.s, v.len, f, &ms) || __builtin_mul_overflow(ms, int64_t{1000000}, ns))
                return false;
        }
    }
    return *ns >= 0;
}

// strict_date_optional_time_nanos' printer: 3 to 9 fraction digits, Z.
size_t format_nanos(int64_t ns, char *out) {
    int64_t day = ns / 86400000000000LL, in_day = ns % 86400000000000LL;
    int64_t year;
    int month, dom;
    eq_civil_from_days(day, &year, &month, &dom);
    int64_t sec = in_day / 1000000000, frac = in_day % 1000000000;
    int n = std::snprintf(out, kConvText, "%04lld-%02d-%02dT%02lld:%02lld:%02lld.%09lld", static_cast<long long>(year),
                          month, dom, static_cast<long long>(sec / 3600), static_cast<long long>(sec / 60 % 60),
                          static_cast<long long>(sec % 60), static_cast<long long>(frac));
    while (n > 23 && out[n - 1] == '0') n--; // keep at least .SSS (23 = "yyyy-MM-ddTHH:mm:ss.SSS")
    out[n++] = 'Z';
    out[n] = '\0';
    return static_cast<size_t>(n);
}

bool convert_one(eq_ndjson *r, const FieldConv &c, eqlite_value &v) {
    if (v.kind == EQLITE_NULL) return true;
    NumberText num;
    int64_t i;
    switch (c.kind) {
    case Conv::Integer:
        if (v.kind == EQLITE_INT) {
            if (v.u.i < c.min || v.u.i > c.max) return cannot_convert(r, c, v);
            return true;
        }
        if (v.kind == EQLITE_DOUBLE) {
            if (!double_to_integer(v.u.d, c.min, c.max, &i)) return cannot_convert(r, c, v);
        } else if (v.kind == EQLITE_STRING && parse_number_text(v.u.s, v.len, &num)) {
            if (num.integral && num.fits)
                i = num.i;
            else if (num.integral || !double_to_integer(num.d, c.min, c.max, &i))
                return cannot_convert(r, c, v);
            if (i < c.min || i > c.max) return cannot_convert(r, c, v);
        } else {
            return cannot_convert(r, c, v);
        }
        v = eqlite_value{};
        v.kind = EQLITE_INT;
        v.u.i = i;
        return true;
    case Conv::Floating: {
        double d;
        if (v.kind == EQLITE_DOUBLE) return true;
        if (v.kind == EQLITE_INT)
            d = static_cast<double>(v.u.i);
        else if (v.kind == EQLITE_STRING && parse_number_text(v.u.s, v.len, &num))
            d = num.d;
        else
            return cannot_convert(r, c, v);
        v = eqlite_value{};
        v.kind = EQLITE_DOUBLE;
        v.u.d = d;
        return true;
    }
    case Conv::Boolean: {
        if (v.kind == EQLITE_BOOL) return true;
        std::string_view s = v.kind == EQLITE_STRING ? std::string_view(v.u.s, v.len) : std::string_view("x");
        if (s != "true" && s != "false" && !s.empty()) return cannot_convert(r, c, v);
        v = eqlite_value{};
        v.kind = EQLITE_BOOL;
        v.u.b = s == "true";
        return true;
    }
    case Conv::Text: {
        if (v.kind == EQLITE_STRING) return true;
        const char *text;
        size_t len;
        if (v.kind == EQLITE_BOOL) {
            text = v.u.b ? "true" : "false";
            len = std::strlen(text);
        } else {
            char *buf = conv_text(r);
            if (v.kind == EQLITE_INT)
                len = static_cast<size_t>(std::snprintf(buf, kConvText, "%lld", static_cast<long long>(v.u.i)));
            else
                len = double_text(v.u.d, buf, kConvText);
            text = buf;
        }
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = text;
        return true;
    }
    case Conv::Date: {
        int64_t ms;
        if (v.kind == EQLITE_INT) return true;
        if (v.kind == EQLITE_DOUBLE) {
            if (!double_to_integer(v.u.d, INT64_MIN, INT64_MAX, &ms)) return cannot_convert(r, c, v);
        } else if (v.kind != EQLITE_STRING || !parse_date_format(v.u.s, v.len, c.format, &ms)) {
            return cannot_convert(r, c, v);
        }
        v = eqlite_value{};
        v.kind = EQLITE_INT;
        v.u.i = ms;
        return true;
    }
    case Conv::DateNanos: { // DateFieldMapper in nanosecond resolution
        int64_t ns;
        if (!date_nanos_of(c, v, &ns)) return cannot_convert(r, c, v);
        char *buf = conv_text(r);
        size_t len = format_nanos(ns, buf);
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = buf;
        return true;
    }
    case Conv::Ip: { // IpFieldMapper: InetAddresses.forString, kept as ES renders it
        uint8_t ip[16];
        if (v.kind != EQLITE_STRING || !eq_ip_parse(v.u.s, v.len, ip)) return cannot_convert(r, c, v);
        char *buf = conv_text(r);
        size_t len = eq_ip_format(ip, buf);
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = buf;
        return true;
    }
    case Conv::None: return true;
    }
    return true;
}

// Java's String.length(): UTF-16 units of valid UTF-8.
size_t utf16_length(const char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = static_cast<unsigned char>(s[i]);
        units += (b & 0xC0) != 0x80;
        units += b >= 0xF0; // a supplementary character is a surrogate pair
    }
    return units;
}

bool ignored_above(const FieldConv &c, const eqlite_value &v) {
    return v.kind == EQLITE_STRING && v.len > c.ignore_above && utf16_length(v.u.s, v.len) > c.ignore_above;
}

// KeywordFieldMapper: a value longer than ignore_above is not indexed.
void drop_ignored(eq_ndjson *r, const FieldConv &c, uint32_t slot) {
    eqlite_value &v = r->values[slot];
    if (v.kind != EQLITE_ARRAY) {
        if (ignored_above(c, v)) v = eqlite_value{};
        return;
    }
    std::vector<eqlite_value> &list = r->slots[slot].list;
    size_t kept = 0;
    for (const eqlite_value &e : list)
        if (!ignored_above(c, e)) list[kept++] = e;
    list.resize(kept);
    v.len = static_cast<uint32_t>(kept);
    if (kept == 0) v = eqlite_value{};
}

// A value that cannot take the mapped type: the record is bad, or (ES's
// ignore_malformed) the value is dropped and the first one named in the notice.
bool malformed(eq_ndjson *r) {
    if (r->reject_malformed) return false;
    if (r->notice.empty()) r->notice.swap(r->reason);
    r->reason.clear();
    return true;
}

bool convert_fields(eq_ndjson *r) {
    for (uint32_t slot : r->touched) {
        const FieldConv &c = r->conv[slot];
        if (c.kind == Conv::None) continue;
        eqlite_value &v = r->values[slot];
        if (v.kind == EQLITE_ARRAY) { // per value: only the malformed ones go
            std::vector<eqlite_value> &list = r->slots[slot].list;
            size_t kept = 0;
            for (eqlite_value &e : list) {
                if (convert_one(r, c, e))
                    list[kept++] = e;
                else if (!malformed(r))
                    return false;
            }
            if (kept < list.size()) {
                list.resize(kept);
                v.len = static_cast<uint32_t>(kept);
                if (kept == 0) v = eqlite_value{};
            }
        } else if (!convert_one(r, c, v)) {
            if (!malformed(r)) return false;
            v = eqlite_value{};
        }
        if (c.ignore_above) drop_ignored(r, c, slot);
    }
    return true;
}

} // namespace ndjson_internal
