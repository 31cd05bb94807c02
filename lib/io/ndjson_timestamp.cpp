// ndjson_timestamp.cpp: the event's timestamp: Elasticsearch's default format
// at full precision (lib/date.c), or the field's date format.

#include "io/ndjson_internal.h"

namespace ndjson_internal {

// An ISO-8601 date whose year nanoseconds since 1970 cannot hold in 64 bits
// (before 1677-09-21 or after 2262-04-11): said as such, not "unparseable".
static bool iso_year_out_of_range(const char *s, size_t n) {
    if (n < 5 || s[4] != '-') return false;
    int year = 0;
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        year = year * 10 + (s[i] - '0');
    }
    return year <= 1677 || year >= 2262;
}

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
        if (eq_parse_date(v.u.s, v.len, ns)) return true;
        if (iso_year_out_of_range(v.u.s, v.len)) break;
        r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + f + "'";
        return false;
    default:
        r->reason = "timestamp field '" + f + "' is not a string or a number";
        return false;
    }
    r->reason = "timestamp in field '" + f + "' is out of range (1677-09-21 to 2262-04-11)";
    return false;
}

// The timestamp is read before conversion, at full precision; a date field
// with a custom format falls back to it when the text is not ISO-8601.
bool event_timestamp(eq_ndjson *r, int64_t *ns) {
    size_t slot = static_cast<size_t>(r->ts_slot);
    const eqlite_value &v = r->values[slot];
    const FieldConv &c = r->conv[slot];
    const std::string &format = c.kind == Conv::Date ? c.format : r->ts_format;
    if (!format.empty() && v.kind == EQLITE_STRING && !eq_parse_date(v.u.s, v.len, ns)) {
        int64_t ms;
        if (!parse_date_format(v.u.s, v.len, format, &ms)) {
            r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + r->ts_name +
                        "' (format [" + format + "])";
            return false;
        }
        if (__builtin_mul_overflow(ms, static_cast<int64_t>(1000000), ns)) {
            r->reason = "timestamp in field '" + r->ts_name + "' is out of range (1677-09-21 to 2262-04-11)";
            return false;
        }
        return true;
    }
    return timestamp_from(r, v, ns);
}

} // namespace ndjson_internal
