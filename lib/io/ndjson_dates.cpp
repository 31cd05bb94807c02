// ndjson_dates.cpp: Java-style date patterns and Elasticsearch's named date
// formats, read and rendered.

#include "io/ndjson_internal.h"

namespace ndjson_internal {

// ---- dates: Java-style patterns and Elasticsearch's named formats ----------

struct Civil {
    int64_t year = 1970;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int64_t nanos = 0;
    int offset_s = 0;
    int ampm = -1;      // -1 none, 0 AM, 1 PM
    bool hour12 = false; // 'h': 1-12
};

struct DateParse {
    const char *s;
    size_t n, i = 0;
    Civil t;
};

bool is_pattern_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool take_number(DateParse *p, size_t min, size_t max, int64_t *out) {
    size_t start = p->i;
    int64_t v = 0;
    while (p->i < p->n && p->i - start < max && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        v = v * 10 + (p->s[p->i++] - '0');
    if (p->i - start < min) return false;
    *out = v;
    return true;
}

bool take_name(DateParse *p, const char *const *names, int count, bool full, int *out) {
    for (int k = 0; k < count; k++) {
        size_t len = full ? std::strlen(names[k]) : 3;
        if (p->n - p->i >= len && strncasecmp(p->s + p->i, names[k], len) == 0) {
            p->i += len;
            *out = k;
            return true;
        }
    }
    return false;
}

// Z, or [+-]HH[[:]MM[[:]SS]].
bool take_offset(DateParse *p) {
    if (p->i < p->n && p->s[p->i] == 'Z') {
        p->i++;
        p->t.offset_s = 0;
        return true;
    }
    if (p->i >= p->n || (p->s[p->i] != '+' && p->s[p->i] != '-')) return false;
    int sign = p->s[p->i++] == '-' ? -1 : 1;
    int64_t h, m = 0, sec = 0;
    if (!take_number(p, 2, 2, &h) || h > 18) return false;
    bool colon = p->i < p->n && p->s[p->i] == ':';
    if (colon) p->i++;
    if (!take_number(p, 2, 2, &m)) {
        if (colon) return false;
    } else {
        colon = p->i < p->n && p->s[p->i] == ':';
        if (colon) p->i++;
        if (!take_number(p, 2, 2, &sec) && colon) return false;
    }
    if (m > 59 || sec > 59) return false;
    p->t.offset_s = sign * static_cast<int>(h * 3600 + m * 60 + sec);
    return true;
}

const char *const kMonths[] = {"january", "february", "march",     "april",   "may",      "june",
                               "july",    "august",   "september", "october", "november", "december"};
const char *const kDays[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

bool pattern_field(DateParse *p, char letter, size_t count, bool next_numeric) {
    int64_t v = 0;
    size_t fixed = count >= 2 ? count : 0;
    auto two = [&](int64_t *out) { return fixed ? take_number(p, fixed, fixed, out) : take_number(p, 1, 2, out); };
    int k;
    switch (letter) {
    case 'y':
    case 'u':
    case 'Y':
        if (count == 2) {
            if (!take_number(p, 2, 2, &v)) return false;
            p->t.year = 2000 + v;
            return true;
        }
        if (!take_number(p, count, next_numeric ? count : 9, &v)) return false;
        p->t.year = v;
        return true;
    case 'M':
    case 'L':
        if (count >= 3) {
            if (!take_name(p, kMonths, 12, count >= 4, &k)) return false;
            p->t.month = k + 1;
            return true;
        }
        if (!two(&v) || v < 1 || v > 12) return false;
        p->t.month = static_cast<int>(v);
        return true;
    case 'd':
        if (!two(&v) || v < 1 || v > 31) return false;
        p->t.day = static_cast<int>(v);
        return true;
    case 'H':
    case 'k':
        if (!two(&v) || v > (letter == 'k' ? 24 : 23)) return false;
        p->t.hour = static_cast<int>(letter == 'k' && v == 24 ? 0 : v);
        return true;
    case 'h':
    case 'K':
        if (!two(&v) || v > 12) return false;
        p->t.hour = static_cast<int>(v % 12);
        p->t.hour12 = true;
        return true;
    case 'm':
        if (!two(&v) || v > 59) return false;
        p->t.minute = static_cast<int>(v);
        return true;
    case 's':
        if (!two(&v) || v > 59) return false;
        p->t.second = static_cast<int>(v);
        return true;
    case 'S':
    case 'n': {
        size_t start = p->i;
        size_t lo = letter == 'S' ? count : 1, hi = letter == 'S' ? count : 9;
        if (count > 9 || !take_number(p, lo, hi, &v)) return false;
        for (size_t digits = p->i - start; digits < 9; digits++) v *= 10;
        p->t.nanos = v;
        return true;
    }
    case 'a':
        if (p->n - p->i >= 2 && (strncasecmp(p->s + p->i, "AM", 2) == 0 || strncasecmp(p->s + p->i, "PM", 2) == 0)) {
            p->t.ampm = (p->s[p->i] | 0x20) == 'p';
            p->i += 2;
            return true;
        }
        return false;
    case 'E':
        return take_name(p, kDays, 7, count >= 4, &k);
    case 'X':
    case 'x':
    case 'Z':
    case 'O':
        return take_offset(p);
    default:
        return false; // week-based fields, day of year, zone names: not supported
    }
}

bool numeric_letter(char c) { return std::strchr("yuYdHkhKmsSn", c) != nullptr; }

// Parses s[p->i...] against pattern[pi, pend); '[...]' sections are optional.
bool parse_pattern(DateParse *p, const char *pat, size_t pi, size_t pend) {
    while (pi < pend) {
        char c = pat[pi];
        if (c == '[') {
            size_t depth = 1, close = pi + 1;
            for (; close < pend && depth; close++) depth += pat[close] == '[' ? 1 : pat[close] == ']' ? -1 : 0;
            size_t inner_end = depth ? pend : close - 1;
            DateParse saved = *p;
            if (!parse_pattern(p, pat, pi + 1, inner_end)) *p = saved;
            pi = close;
            continue;
        }
        if (c == '\'') {
            size_t q = pi + 1;
            if (q < pend && pat[q] == '\'') { // '' is a quote
                if (p->i >= p->n || p->s[p->i] != '\'') return false;
                p->i++;
                pi = q + 1;
                continue;
            }
            for (; q < pend && pat[q] != '\''; q++) {
                if (p->i >= p->n || p->s[p->i] != pat[q]) return false;
                p->i++;
            }
            pi = q + 1;
            continue;
        }
        if (is_pattern_letter(c)) {
            size_t count = 1;
            while (pi + count < pend && pat[pi + count] == c) count++;
            size_t next = pi + count;
            bool next_numeric = next < pend && numeric_letter(pat[next]) && numeric_letter(c);
            if (!pattern_field(p, c, count, next_numeric)) return false;
            pi = next;
            continue;
        }
        if (c == ']') { // stray close: ignore
            pi++;
            continue;
        }
        if (p->i >= p->n || p->s[p->i] != c) return false;
        p->i++;
        pi++;
    }
    return true;
}

bool civil_to_ms(const Civil &t, int64_t *ms) {
    if (t.year < -292275055 || t.year > 292278994) return false;
    if (t.day > eq_days_in_month(t.year, t.month)) return false;
    int hour = t.hour;
    if (t.ampm == 1 && hour < 12) hour += 12;
    int64_t days = eq_days_from_civil(t.year, t.month, t.day);
    int64_t secs = days * 86400 + hour * 3600 + t.minute * 60 + t.second - t.offset_s;
    return !__builtin_mul_overflow(secs, static_cast<int64_t>(1000), ms) &&
           !__builtin_add_overflow(*ms, t.nanos / 1000000, ms);
}

bool parse_with_pattern(const char *s, size_t n, std::string_view pattern, int64_t *ms) {
    DateParse p{s, n, 0, Civil{}};
    if (!parse_pattern(&p, pattern.data(), 0, pattern.size()) || p.i != n) return false;
    return civil_to_ms(p.t, ms);
}

// epoch_millis / epoch_second: [-]digits[.digits]
bool parse_epoch(const char *s, size_t n, int64_t unit_ms, int64_t *ms) {
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    if (neg) i++;
    size_t start = i;
    int64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v)) return false;
    if (i == start) return false;
    int64_t frac = 0, scale = 1;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale < 1000000000) {
                frac = frac * 10 + (s[i] - '0');
                scale *= 10;
            }
    }
    if (i != n || __builtin_mul_overflow(v, unit_ms, &v)) return false;
    v += frac * unit_ms / scale;
    *ms = neg ? -v : v;
    return true;
}

bool parse_iso_ms(const char *s, size_t n, int64_t *ms) {
    int64_t ns;
    if (!eq_parse_date(s, n, &ns)) return false;
    *ms = ns / 1000000 - (ns % 1000000 < 0 ? 1 : 0); // floor
    return true;
}

struct NamedFormat {
    const char *name;
    const char *pattern; // nullptr: ISO-8601 (strict_date_optional_time family)
};

const NamedFormat kNamed[] = {
    {"date_optional_time", nullptr},
    {"date_optional_time_nanos", nullptr},
    {"date_time", nullptr},
    {"date_time_no_millis", nullptr},
    {"iso8601", nullptr},
    {"basic_date", "yyyyMMdd"},
    {"basic_date_time", "yyyyMMdd'T'HHmmss.SSSX"},
    {"basic_date_time_no_millis", "yyyyMMdd'T'HHmmssX"},
    {"date", "yyyy-MM-dd"},
    {"year_month_day", "yyyy-MM-dd"},
    {"year_month", "yyyy-MM"},
    {"year", "yyyy"},
    {"date_hour", "yyyy-MM-dd'T'HH"},
    {"date_hour_minute", "yyyy-MM-dd'T'HH:mm"},
    {"date_hour_minute_second", "yyyy-MM-dd'T'HH:mm:ss"},
    {"date_hour_minute_second_fraction", "yyyy-MM-dd'T'HH:mm:ss.SSS"},
    {"date_hour_minute_second_millis", "yyyy-MM-dd'T'HH:mm:ss.SSS"},
    {"hour", "HH"},
    {"hour_minute", "HH:mm"},
    {"hour_minute_second", "HH:mm:ss"},
    {"hour_minute_second_fraction", "HH:mm:ss.SSS"},
    {"hour_minute_second_millis", "HH:mm:ss.SSS"},
    {"time", "HH:mm:ss.SSSX"},
    {"time_no_millis", "HH:mm:ssX"},
};

bool parse_one_format(const char *s, size_t n, std::string_view f, int64_t *ms) {
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    if (f.empty()) return parse_iso_ms(s, n, ms);
    if (f == "epoch_millis") return parse_epoch(s, n, 1, ms);
    if (f == "epoch_second") return parse_epoch(s, n, 1000, ms);
    std::string_view name = f;
    if (name.substr(0, 7) == "strict_") name.remove_prefix(7);
    for (const NamedFormat &nf : kNamed)
        if (name == nf.name)
            return nf.pattern ? parse_with_pattern(s, n, nf.pattern, ms) : parse_iso_ms(s, n, ms);
    // Other named formats (lower case and '_'): read as ISO-8601.
    if (name.find('_') != std::string_view::npos && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos)
        return parse_iso_ms(s, n, ms);
    return parse_with_pattern(s, n, f, ms);
}

bool parse_date_format(const char *s, size_t n, std::string_view format, int64_t *ms) {
    if (format.empty()) return parse_iso_ms(s, n, ms);
    for (;;) {
        size_t bar = format.find("||");
        if (parse_one_format(s, n, format.substr(0, bar), ms)) return true;
        if (bar == std::string_view::npos) return false;
        format.remove_prefix(bar + 2);
    }
}

// ---- rendering dates: the printer of a format (DateFormatter.format) --------

// Java pattern letters over a UTC instant; false on a letter not rendered.
bool format_with_pattern(int64_t ms, std::string_view pat, std::string *out) {
    static const char *const months[] = {"January", "February", "March", "April", "May", "June", "July",
                                         "August", "September", "October", "November", "December"};
    static const char *const days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t in_day = ms - day * 86400000;
    int64_t year;
    int month, dom;
    eq_civil_from_days(day, &year, &month, &dom);
    int hour = static_cast<int>(in_day / 3600000), minute = static_cast<int>(in_day / 60000 % 60);
    int second = static_cast<int>(in_day / 1000 % 60), milli = static_cast<int>(in_day % 1000);
    int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7); // 1970-01-01 was a Thursday
    char num[32];
    auto padded = [&](int64_t v, size_t width) {
        std::snprintf(num, sizeof num, "%0*lld", static_cast<int>(width), static_cast<long long>(v));
        out->append(num);
    };
    for (size_t i = 0; i < pat.size();) {
        char c = pat[i];
        if (c == '\'') {
            size_t close = pat.find('\'', i + 1);
            if (close == std::string_view::npos) return false;
            if (close == i + 1) out->push_back('\''); // '' is a quote
            else out->append(pat.substr(i + 1, close - i - 1));
            i = close + 1;
            continue;
        }
        if (!is_pattern_letter(c)) {
            out->push_back(c);
            i++;
            continue;
        }
        size_t n = 1;
        while (i + n < pat.size() && pat[i + n] == c) n++;
        i += n;
        switch (c) {
        case 'y':
        case 'u':
            if (n == 2) padded(((year % 100) + 100) % 100, 2);
            else padded(year, n);
            break;
        case 'M':
            if (n >= 4) out->append(months[month - 1]);
            else if (n == 3) out->append(months[month - 1], 3);
            else padded(month, n);
            break;
        case 'd': padded(dom, n); break;
        case 'H': padded(hour, n); break;
        case 'h': padded(hour % 12 == 0 ? 12 : hour % 12, n); break;
        case 'm': padded(minute, n); break;
        case 's': padded(second, n); break;
        case 'S': { // fraction of second, truncated to n digits
            std::snprintf(num, sizeof num, "%03d000000", milli);
            out->append(num, std::min<size_t>(n, 9));
            break;
        }
        case 'a': out->append(hour < 12 ? "AM" : "PM"); break;
        case 'E': out->append(n >= 4 ? std::string(days[weekday]) : std::string(days[weekday], 3)); break;
        case 'X': out->push_back('Z'); break;                       // zero offset prints Z
        case 'Z': out->append(n == 5 ? "Z" : n == 4 ? "GMT" : "+0000"); break;
        case 'x': out->append(n == 1 ? "+00" : n == 2 || n == 4 ? "+0000" : "+00:00"); break;
        default: return false;
        }
    }
    return true;
}

bool format_one(int64_t ms, std::string_view f, std::string *out) {
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    char num[32];
    if (f == "epoch_millis") {
        std::snprintf(num, sizeof num, "%lld", static_cast<long long>(ms));
        out->append(num);
        return true;
    }
    if (f == "epoch_second") {
        long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        int frac = static_cast<int>(ms - sec * 1000);
        if (frac) std::snprintf(num, sizeof num, "%lld.%03d", sec, frac);
        else std::snprintf(num, sizeof num, "%lld", sec);
        std::string text = num;
        while (frac && text.back() == '0') text.pop_back();
        out->append(text);
        return true;
    }
    std::string_view name = f;
    if (name.substr(0, 7) == "strict_") name.remove_prefix(7);
    // ISO printers: milliseconds always, a zero offset as Z
    if (f.empty() || name == "date_optional_time" || name == "date_optional_time_nanos" || name == "date_time" ||
        name == "iso8601")
        return format_with_pattern(ms, "yyyy-MM-dd'T'HH:mm:ss.SSSX", out);
    if (name == "date_time_no_millis") return format_with_pattern(ms, "yyyy-MM-dd'T'HH:mm:ssX", out);
    for (const NamedFormat &nf : kNamed)
        if (name == nf.name) return nf.pattern && format_with_pattern(ms, nf.pattern, out);
    if (name.find('_') != std::string_view::npos &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos)
        return false; // another named format: not rendered here
    return format_with_pattern(ms, f, out);
}

} // namespace ndjson_internal


extern "C" int eq_ndjson_parse_date_format(const char *s, size_t len, const char *format, int64_t *ms) {
    try {
        return parse_date_format(s ? s : "", s ? len : 0, format ? format : "", ms) ? 0 : -1;
    } catch (...) {
        return -1;
    }
}

extern "C" size_t eq_ndjson_format_date(int64_t ms, const char *format, char *buf, size_t cap) {
    try {
        std::string_view f = format ? format : "";
        std::string out;
        if (!format_one(ms, f.substr(0, f.find("||")), &out) || out.size() >= cap) return 0;
        std::memcpy(buf, out.data(), out.size());
        buf[out.size()] = '\0';
        return out.size();
    } catch (...) {
        return 0;
    }
}
