// api.cpp: the public intake API (include/eqlite_io.h) over the projecting
// reader (ndjson.h) and the source profiles (profile.h).
#include "eqlite_io.h"

#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "io/ndjson.h"
#include "io/profile.h"

struct eqlite_sources {
    eq_profiles *p = nullptr;
    ~eqlite_sources() { eq_profiles_free(p); }
};

struct eqlite_reader {
    eq_ndjson *rd = nullptr;
    eqlite_sources *own_sources = nullptr; // the built-in set when the caller gave none
    const eq_profiles *profiles = nullptr;
    std::vector<std::string> names;
    std::vector<eq_ndjson_field> fields;
    std::vector<eq_ndjson_conv> conv;
    ~eqlite_reader() {
        eq_ndjson_close(rd);
        delete own_sources;
    }
};

namespace {

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
        r->names.reserve(n);
        for (uint32_t id = 0; id < n; id++) {
            eqlite_type type = EQLITE_T_UNKNOWN;
            const char *name = eqlite_schema_field_name(opt->schema, id, &type);
            if (!name) continue;
            r->names.emplace_back(name);
            r->fields.push_back({r->names.back().c_str(), r->names.back().size(), id});
            r->conv.push_back({static_cast<uint32_t>(type), nullptr, 0, nullptr});
        }
        for (size_t i = 0; i < r->fields.size(); i++) r->fields[i].name = r->names[i].c_str(); // after growth
        eq_ndjson_options o{};
        o.fields = r->fields.data();
        o.nfields = r->fields.size();
        o.conv = r->conv.data();
        const char *ts = opt->timestamp_field ? opt->timestamp_field : "@timestamp";
        o.timestamp_field = ts;
        o.timestamp_len = std::strlen(ts);
        if (opt->tiebreaker_field) {
            o.tiebreaker_field = opt->tiebreaker_field;
            o.tiebreaker_len = std::strlen(opt->tiebreaker_field);
        }
        o.display_name = opt->display_name;
        o.lazy_text = opt->lazy_text;
        const char *source = opt->source ? opt->source : "auto";
        if (std::strcmp(source, "none") != 0) {
            if (opt->sources) {
                r->profiles = opt->sources->p;
            } else {
                r->own_sources = new eqlite_sources();
                eqlite_status st = eq_profiles_new(&r->own_sources->p, err, errcap);
                if (st != EQLITE_OK) {
                    delete r;
                    return st;
                }
                r->profiles = r->own_sources->p;
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
        record->reason = rec.reason ? rec.reason : "";
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
    if (!r) return 0;
    std::vector<uint64_t> counts(eq_profiles_count(r->profiles) + 1, 0);
    eq_ndjson_source_counts(r->rd, counts.data(), counts.size());
    return i < counts.size() ? counts[i] : 0;
}

EQLITE_API void eqlite_reader_close(eqlite_reader *r) { delete r; }

} // extern "C"
