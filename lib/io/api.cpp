// api.cpp: the public intake API (include/eqlite_io.h) over the projecting
// reader (ndjson.h) and the source profiles (profile.h).
#include "eqlite_io.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "date.h"
#include "io/fork_locks.h"
#include "io/mapping.h"
#include "io/ndjson.h"
#include "io/profile.h"

struct eqlite_sources {
    eq_profiles *p = nullptr;
    ~eqlite_sources() { eq_profiles_free(p); }
};

// Per schema id; an empty string is "not mapped".
struct eqlite_mapping {
    std::vector<std::string> formats;     // "a||b" when mappings differ
    std::vector<uint32_t> ignore_above;   // 0 = none
    std::vector<std::string> null_values; // JSON text
    std::vector<std::string> parents;     // a multi-field's parent path
    const eqlite_schema *schema = nullptr; // of the load in progress
    bool out_of_memory = false;
};

struct eqlite_reader {
    eq_ndjson *rd = nullptr;
    const eq_profiles *profiles = nullptr; // the caller's, or the shared built-in set
    std::vector<std::string> names;
    std::vector<eq_ndjson_field> fields;
    std::vector<eq_ndjson_conv> conv;
    std::string ts_format;
    ~eqlite_reader() {
        eq_ndjson_close(rd);
    }
};

namespace {

std::mutex builtin_lock;
[[maybe_unused]] const bool builtin_lock_kept = (eqio::lock_across_fork(&builtin_lock), true);

// The built-in profiles for readers given no set, parsed once per process:
// parsing and compiling them cost ~0.6 ms per reader opened. Never changed
// after, so readers on any thread share them; kept until exit.
eqlite_status builtin_profiles(const eq_profiles **out, char *err, size_t errcap) {
    static eq_profiles *builtin = nullptr;
    std::lock_guard<std::mutex> hold(builtin_lock);
    eqlite_status st = builtin ? EQLITE_OK : eq_profiles_new(&builtin, err, errcap);
    *out = builtin;
    return st;
}

void put(char *err, size_t cap, const char *msg) {
    if (!err || !cap) return;
    size_t n = std::min(cap - 1, std::strlen(msg));
    std::memcpy(err, msg, n);
    err[n] = '\0';
}

template <typename Open>
eqlite_status open_reader(const eqlite_reader_options *opt, eqlite_reader **out, char *err, size_t errcap,
                          Open open) {
    if (!out) return EQLITE_EMISUSE;
    *out = nullptr;
    if (!opt || !opt->schema) {
        put(err, errcap, "options with a schema are required");
        return EQLITE_EMISUSE;
    }
    eqlite_reader *r = nullptr;
    try {
        r = new eqlite_reader();
        size_t n = eqlite_schema_field_count(opt->schema);
        std::vector<uint32_t> ids;
        if (opt->fields) {
            ids.assign(opt->fields, opt->fields + opt->nfields);
        } else {
            for (uint32_t id = 0; id < n; id++) ids.push_back(id);
        }
        const eqlite_mapping *m = opt->mapping;
        r->names.reserve(ids.size());
        for (uint32_t id : ids) {
            eqlite_type type = EQLITE_T_UNKNOWN;
            const char *name = eqlite_schema_field_name(opt->schema, id, &type);
            if (!name) continue;
            // Elasticsearch converts _source values to the mapped type at
            // index time, with the mapping's parameters; a multi-field reads
            // its parent's path.
            eq_ndjson_conv c{static_cast<uint32_t>(type), nullptr, 0, nullptr};
            if (m && id < m->formats.size()) {
                if (!m->formats[id].empty()) c.format = m->formats[id].c_str();
                c.ignore_above = m->ignore_above[id];
                if (!m->null_values[id].empty()) c.null_value = m->null_values[id].c_str();
                if (!m->parents[id].empty()) name = m->parents[id].c_str();
            }
            r->names.emplace_back(name);
            r->fields.push_back({nullptr, r->names.back().size(), id});
            r->conv.push_back(c);
        }
        for (size_t i = 0; i < r->fields.size(); i++) r->fields[i].name = r->names[i].c_str(); // after growth
        eq_ndjson_options o{};
        o.fields = r->fields.data();
        o.nfields = r->fields.size();
        o.conv = r->conv.data();
        const char *ts = opt->timestamp_field ? opt->timestamp_field : "@timestamp";
        o.timestamp_field = ts;
        o.timestamp_len = std::strlen(ts);
        uint32_t ts_id;
        if (*ts && m && eqlite_schema_lookup(opt->schema, ts, o.timestamp_len, &ts_id) == EQLITE_OK &&
            ts_id < m->formats.size() && !m->formats[ts_id].empty()) {
            r->ts_format = m->formats[ts_id];
            o.timestamp_format = r->ts_format.c_str();
        }
        if (opt->tiebreaker_field && *opt->tiebreaker_field) {
            o.tiebreaker_field = opt->tiebreaker_field;
            o.tiebreaker_len = std::strlen(opt->tiebreaker_field);
        }
        o.display_name = opt->display_name;
        o.lazy_text = opt->lazy_text;
        o.reject_malformed = opt->reject_malformed;
        const char *source = opt->source ? opt->source : "auto";
        if (std::strcmp(source, "none") != 0) {
            if (opt->sources) {
                r->profiles = opt->sources->p;
            } else {
                eqlite_status st = builtin_profiles(&r->profiles, err, errcap);
                if (st != EQLITE_OK) {
                    delete r;
                    return st;
                }
            }
            o.profiles = r->profiles;
            o.source = EQ_NDJSON_SOURCE_AUTO;
            if (std::strcmp(source, "auto") != 0) {
                o.source = eq_profiles_find(r->profiles, source, std::strlen(source));
                if (o.source < 0) {
                    put(err, errcap, (std::string("unknown source '") + source + "'").c_str());
                    delete r;
                    return EQLITE_ENOTFOUND;
                }
            }
        }
        eqlite_status st = open(&o, &r->rd);
        if (st != EQLITE_OK) {
            delete r;
            return st;
        }
        *out = r;
        return EQLITE_OK;
    } catch (const std::bad_alloc &) {
        delete r;
        put(err, errcap, "out of memory");
        return EQLITE_ENOMEM;
    }
}

// Room for schema id `id` in every per-id vector of the mapping.
bool mapping_slot(eqlite_mapping *m, const char *field, uint32_t *id) {
    if (eqlite_schema_lookup(m->schema, field, std::strlen(field), id) != EQLITE_OK) return false;
    try {
        if (*id >= m->formats.size()) {
            m->formats.resize(*id + 1);
            m->ignore_above.resize(*id + 1);
            m->null_values.resize(*id + 1);
            m->parents.resize(*id + 1);
        }
        return true;
    } catch (const std::bad_alloc &) {
        m->out_of_memory = true;
        return false;
    }
}

// A date field mapped with different formats by several mappings tries each
// ("a||b"), since merged mappings no longer say which file an event came from.
void note_format(void *user, const char *field, const char *format) {
    auto *m = static_cast<eqlite_mapping *>(user);
    uint32_t id;
    if (!*format || !mapping_slot(m, field, &id)) return;
    std::string &have = m->formats[id];
    std::string_view rest = have;
    for (;;) { // already there as one of the alternatives?
        size_t bar = rest.find("||");
        if (rest.substr(0, bar) == format) return;
        if (bar == std::string_view::npos) break;
        rest.remove_prefix(bar + 2);
    }
    try {
        if (!have.empty()) have += "||";
        have += format;
    } catch (const std::bad_alloc &) {
        m->out_of_memory = true;
    }
}

// ignore_above, null_value and a multi-field's parent: with several mappings
// the first that gives one keeps it.
void note_param(void *user, const char *field, const char *param, const char *json) {
    auto *m = static_cast<eqlite_mapping *>(user);
    uint32_t id;
    if (!mapping_slot(m, field, &id)) return;
    try {
        if (std::strcmp(param, "multi_field_of") == 0) {
            if (m->parents[id].empty()) m->parents[id] = json;
        } else if (std::strcmp(param, "ignore_above") == 0) {
            long long n = std::strtoll(json, nullptr, 10);
            if (!m->ignore_above[id] && n > 0) m->ignore_above[id] = n > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(n);
        } else if (m->null_values[id].empty()) {
            m->null_values[id] = json;
        }
    } catch (const std::bad_alloc &) {
        m->out_of_memory = true;
    }
}

} // namespace

extern "C" {

EQLITE_API eqlite_status eqlite_sources_new(eqlite_sources **out, char *err, size_t errcap) {
    if (!out) return EQLITE_EMISUSE;
    *out = nullptr;
    eqlite_sources *s = new (std::nothrow) eqlite_sources();
    if (!s) return EQLITE_ENOMEM;
    eqlite_status st = eq_profiles_new(&s->p, err, errcap);
    if (st != EQLITE_OK) {
        delete s;
        return st;
    }
    *out = s;
    return EQLITE_OK;
}

EQLITE_API void eqlite_sources_free(eqlite_sources *s) { delete s; }

EQLITE_API eqlite_status eqlite_sources_add(eqlite_sources *s, const char *text, size_t len, const char *origin,
                                            char *err, size_t errcap) {
    if (!s) return EQLITE_EMISUSE;
    return eq_profiles_add(s->p, text, len, origin, err, errcap);
}

EQLITE_API size_t eqlite_sources_count(const eqlite_sources *s) { return s ? eq_profiles_count(s->p) : 0; }

EQLITE_API const char *eqlite_sources_name(const eqlite_sources *s, size_t i) {
    return s ? eq_profiles_name(s->p, i) : nullptr;
}

EQLITE_API eqlite_status eqlite_reader_open_path(const char *path, const eqlite_reader_options *opt,
                                                 eqlite_reader **out, char *err, size_t errcap) {
    if (!path) return EQLITE_EMISUSE;
    return open_reader(opt, out, err, errcap, [&](const eq_ndjson_options *o, eq_ndjson **rd) {
        return eq_ndjson_open_path(path, o, rd, err, errcap);
    });
}

EQLITE_API eqlite_status eqlite_reader_open_memory(const void *data, size_t len, const eqlite_reader_options *opt,
                                                   eqlite_reader **out, char *err, size_t errcap) {
    if (!data && len) return EQLITE_EMISUSE;
    return open_reader(opt, out, err, errcap, [&](const eq_ndjson_options *o, eq_ndjson **rd) {
        return eq_ndjson_open_memory(data, len, o, rd, err, errcap);
    });
}

EQLITE_API int eqlite_reader_next(eqlite_reader *r, eqlite_event *event, eqlite_record *record) {
    if (!r || !event) return EQLITE_READ_FATAL;
    eq_ndjson_record rec{};
    int st = eq_ndjson_next(r->rd, event, record ? &rec : nullptr);
    if (record) {
        record->text = rec.text;
        record->len = rec.len;
        record->file = rec.file;
        record->number = rec.line;
        record->offset = rec.offset;
        record->reason = rec.reason ? rec.reason : "";
        record->notice = rec.notice ? rec.notice : "";
        int idx = eq_ndjson_last_source(r->rd);
        const char *name = idx >= 0 ? eq_profiles_name(r->profiles, static_cast<size_t>(idx)) : nullptr;
        record->source = name ? name : "";
    }
    return st;
}

EQLITE_API eqlite_status eqlite_reader_text(eqlite_reader *r, const char **text, size_t *len) {
    if (!r || !text || !len) return EQLITE_EMISUSE;
    *text = nullptr;
    *len = 0;
    int st = eq_ndjson_last_text(r->rd, text, len);
    return st == 0 ? EQLITE_OK : st == -1 ? EQLITE_EMISUSE : EQLITE_ENOMEM;
}

EQLITE_API uint64_t eqlite_reader_source_count(const eqlite_reader *r, size_t i) {
    return r ? eq_ndjson_source_count(r->rd, i) : 0;
}

EQLITE_API eqlite_status eqlite_reader_open_fd(int fd, const eqlite_reader_options *opt, eqlite_reader **out,
                                               char *err, size_t errcap) {
    if (fd < 0) return EQLITE_EMISUSE;
    return open_reader(opt, out, err, errcap, [&](const eq_ndjson_options *o, eq_ndjson **rd) {
        return eq_ndjson_open_fd(fd, o, rd, err, errcap);
    });
}

EQLITE_API void eqlite_reader_stats_get(const eqlite_reader *r, eqlite_reader_stats *out) {
    if (!out) return;
    *out = eqlite_reader_stats{};
    if (!r) return;
    eq_ndjson_stats st;
    eq_ndjson_stats_get(r->rd, &st);
    *out = {st.bytes_in, st.bytes_out, st.total_in, st.records, st.events, st.bad, st.gzip, st.json_array, st.evtx};
}

EQLITE_API int eqlite_reader_parse_only(eqlite_reader *r, uint64_t *valid, uint64_t *bad) {
    uint64_t v = 0, b = 0;
    int st = r ? eq_ndjson_parse_only(r->rd, &v, &b) : EQLITE_READ_FATAL;
    if (valid) *valid = v;
    if (bad) *bad = b;
    return st;
}

EQLITE_API eqlite_status eqlite_reader_seek(eqlite_reader *r, uint64_t offset, uint64_t number) {
    return r && eq_ndjson_seek(r->rd, offset, number) == 0 ? EQLITE_OK : EQLITE_EMISUSE;
}

EQLITE_API uint64_t eqlite_sources_record_count(const eqlite_sources *s, size_t i) {
    return s ? eq_profiles_count_of(s->p, i) : 0;
}

EQLITE_API void eqlite_io_setup(const char *prog) { eq_ndjson_setup_or_exit(prog); }

EQLITE_API void eqlite_reader_close(eqlite_reader *r) { delete r; }

EQLITE_API eqlite_status eqlite_mapping_new(eqlite_mapping **out) {
    if (!out) return EQLITE_EMISUSE;
    *out = new (std::nothrow) eqlite_mapping();
    return *out ? EQLITE_OK : EQLITE_ENOMEM;
}

EQLITE_API void eqlite_mapping_free(eqlite_mapping *m) { delete m; }

EQLITE_API eqlite_status eqlite_mapping_load(eqlite_mapping *m, eqlite_schema *schema, const char *json, size_t len,
                                             eqlite_diag *diag) {
    if (diag) *diag = eqlite_diag{};
    if (!m || !schema) return EQLITE_EMISUSE;
    char message[sizeof diag->message] = "";
    m->schema = schema;
    m->out_of_memory = false;
    eqlite_status st = eq_mapping_load_params(schema, json, len, message, sizeof message, note_format, note_param, m);
    if (st == EQLITE_OK && m->out_of_memory) { // a lost parameter would convert values wrongly
        st = EQLITE_ENOMEM;
        put(message, sizeof message, "out of memory");
    }
    if (diag) {
        diag->code = st;
        std::memcpy(diag->message, message, sizeof message);
    }
    return st;
}

EQLITE_API const char *eqlite_mapping_date_format(const eqlite_mapping *m, uint32_t id) {
    return m && id < m->formats.size() && !m->formats[id].empty() ? m->formats[id].c_str() : nullptr;
}

EQLITE_API eqlite_status eqlite_date_parse(const char *text, size_t len, int64_t *ns) {
    if (!ns || (!text && len)) return EQLITE_EMISUSE;
    return eq_parse_date(text, len, ns) ? EQLITE_OK : EQLITE_EINPUT;
}

EQLITE_API size_t eqlite_date_format(int64_t ms, const char *format, char *buf, size_t cap) {
    return buf ? eq_ndjson_format_date(ms, format, buf, cap) : 0;
}

} // extern "C"
