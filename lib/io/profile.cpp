// profile.cpp: reads source profile files and runs them over raw records
// (see profile.h; the language is described in lib/io/sources/README.md).
//
// A record is flattened once into dotted paths (nested objects and dotted
// keys alike, so {"a":{"b":1}} and {"a.b":1} are the same path a.b); the
// operations read those paths ("name") or the document built so far
// ("$name"), and write fields of the output document, which is then written
// as nested JSON with its keys in order.
//
// The pieces: profile_parse.cpp (profile files), profile_compile.cpp (the
// plan), profile_walk.cpp (reading a record), profile_run.cpp (the operations),
// profile_write.cpp (the document), profile_command_line.cpp; this file
// holds the C API.

#include "io/profile_internal.h"

namespace {

void put(char *err, size_t cap, const std::string &msg) {
    if (!err || !cap) return;
    size_t n = std::min(cap - 1, msg.size());
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

} // namespace

extern "C" eqlite_status eq_profiles_new(eq_profiles **out, char *err, size_t errcap) {
    if (!out) return EQLITE_EMISUSE;
    *out = nullptr;
    try {
        auto p = std::make_unique<eq_profiles>();
        for (size_t i = 0; i < eq_builtin_source_count; i++) {
            std::string msg;
            eqlite_status st = add_text(p.get(), std::string_view(eq_builtin_sources[i].text, eq_builtin_sources[i].len),
                                        eq_builtin_sources[i].name, &msg);
            if (st != EQLITE_OK) {
                put(err, errcap, msg);
                return st;
            }
        }
        *out = p.release();
        return EQLITE_OK;
    } catch (const std::bad_alloc &) {
        put(err, errcap, "out of memory");
        return EQLITE_ENOMEM;
    }
}

extern "C" eqlite_status eq_profiles_new_empty(eq_profiles **out) {
    if (!out) return EQLITE_EMISUSE;
    *out = new (std::nothrow) eq_profiles();
    return *out ? EQLITE_OK : EQLITE_ENOMEM;
}

extern "C" void eq_profiles_free(eq_profiles *p) { delete p; }

extern "C" eqlite_status eq_profiles_add(eq_profiles *p, const char *text, size_t len, const char *origin, char *err,
                                         size_t errcap) {
    if (!p || (!text && len)) return EQLITE_EMISUSE;
    try {
        std::string msg;
        eqlite_status st = add_text(p, std::string_view(text ? text : "", len), origin, &msg);
        if (st != EQLITE_OK) put(err, errcap, msg);
        return st;
    } catch (const std::bad_alloc &) {
        put(err, errcap, "out of memory");
        return EQLITE_ENOMEM;
    }
}

extern "C" size_t eq_profiles_count(const eq_profiles *p) { return p ? p->list.size() : 0; }

extern "C" uint64_t eq_profiles_count_of(const eq_profiles *p, size_t i) {
    return p && i < p->ncounts && i <= p->list.size() ? p->counts[i].load(std::memory_order_relaxed) : 0;
}

extern "C" const char *eq_profiles_name(const eq_profiles *p, size_t i) {
    return p && i < p->list.size() ? p->list[i].name.c_str() : nullptr;
}

extern "C" int eq_profiles_find(const eq_profiles *p, const char *name, size_t len) {
    if (!p || !name) return -1;
    for (size_t i = 0; i < p->list.size(); i++)
        if (p->list[i].name == std::string_view(name, len)) return static_cast<int>(i);
    return -1;
}
