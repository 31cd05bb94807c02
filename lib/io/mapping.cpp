// mapping.cpp: eqlite_schema_load_mapping(), an Elasticsearch index mapping
// (the JSON of PUT/GET _mapping) into schema fields, through the public schema
// API only.
//
// Accepted shapes:
//   {"mappings": {"properties": {...}}}           index creation body
//   {"properties": {...}}                         bare mapping
//   {"<index>": {"mappings": {...}}, ...}         GET <index>/_mapping (every index)
//   {"mappings": {"_doc": {"properties": ...}}}   pre-7.0 typed mapping
// `runtime` fields of a mapping are added like properties.
//
// Decisions:
//   - Unknown field types (geo_point, binary, histogram, range types, ...) are
//     added as EQLITE_T_UNKNOWN and loading goes on: real ECS mappings carry
//     such fields, and failing on them would make --mapping unusable; a rule
//     that uses one gets its type from the values as in grow mode.
//   - object/nested fields are added as EQLITE_T_OBJECT (so the verifier can
//     say "process is an object") and their properties as dotted names.
//   - Aliases are added after every real field of the document, so an alias may
//     point forward; a missing target is an error (as in Elasticsearch).
//   - A malformed mapping (not JSON, a `type` that is not a string, an alias
//     without `path`) is EQLITE_EINPUT with a message naming the field. Fields
//     added before an error stay in the schema.

#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "eqlite.h"
#include "eqlite_io.h"
#include "io/mapping.h"

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

struct TypeName {
    const char *name;
    eqlite_type type;
};

// Elasticsearch field types as EQL sees them.
const TypeName kTypes[] = {
    {"keyword", EQLITE_T_KEYWORD},
    {"wildcard", EQLITE_T_WILDCARD},
    {"constant_keyword", EQLITE_T_CONSTANT_KEYWORD},
    {"flattened", EQLITE_T_KEYWORD},
    {"text", EQLITE_T_TEXT},
    {"match_only_text", EQLITE_T_TEXT},
    {"annotated_text", EQLITE_T_TEXT},
    {"search_as_you_type", EQLITE_T_TEXT},
    {"long", EQLITE_T_LONG},
    {"unsigned_long", EQLITE_T_LONG},
    {"integer", EQLITE_T_INTEGER},
    {"token_count", EQLITE_T_INTEGER},
    {"short", EQLITE_T_SHORT},
    {"byte", EQLITE_T_BYTE},
    {"double", EQLITE_T_DOUBLE},
    {"float", EQLITE_T_FLOAT},
    {"half_float", EQLITE_T_HALF_FLOAT},
    {"scaled_float", EQLITE_T_SCALED_FLOAT},
    {"boolean", EQLITE_T_BOOLEAN},
    {"ip", EQLITE_T_IP},
    {"date", EQLITE_T_DATE},
    {"date_nanos", EQLITE_T_DATE_NANOS},
    {"version", EQLITE_T_VERSION},
    {"object", EQLITE_T_OBJECT},
    {"nested", EQLITE_T_OBJECT},
};

eqlite_type type_named(std::string_view name) {
    for (const TypeName &t : kTypes)
        if (name == t.name) return t.type;
    return EQLITE_T_UNKNOWN;
}

struct Alias {
    std::string name, target;
};

class Loader {
public:
    Loader(eqlite_schema *schema, eq_mapping_format_fn on_format, eq_mapping_param_fn on_param, void *user)
        : schema_(schema), on_format_(on_format), on_param_(on_param), user_(user) {}

    eqlite_status load(const char *json, size_t len) {
        simdjson::dom::parser parser;
        element root;
        simdjson::error_code code = parser.parse(json, len).get(root);
        if (code == simdjson::MEMALLOC) return fail("out of memory", EQLITE_ENOMEM);
        if (code) return fail("mapping is not valid JSON: " + std::string(simdjson::error_message(code)));
        object top;
        if (root.get_object().get(top)) return fail("mapping is not a JSON object");
        eqlite_status st = load_document(top);
        return st == EQLITE_OK ? add_aliases() : st;
    }

    const std::string &message() const { return message_; }

private:
    eqlite_status load_document(object top) {
        element inner;
        if (!top["mappings"].get(inner)) return load_mappings(inner, "mappings");
        if (!top["properties"].get(inner) || !top["runtime"].get(inner)) return load_mapping(top);
        return load_indices(top);
    }

    // GET _mapping: {"index-a": {"mappings": ...}, "index-b": {...}}.
    eqlite_status load_indices(object top) {
        bool any = false;
        for (auto index : top) {
            object body;
            element mappings;
            if (index.value.get_object().get(body) || body["mappings"].get(mappings)) continue;
            any = true;
            eqlite_status st = load_mappings(mappings, std::string(index.key) + ".mappings");
            if (st != EQLITE_OK) return st;
        }
        if (!any) return fail("no \"mappings\" or \"properties\" found in the mapping");
        return EQLITE_OK;
    }

    // The value of "mappings": a mapping, or a pre-7.0 {"<type>": mapping}.
    eqlite_status load_mappings(element value, const std::string &where) {
        object m;
        if (value.get_object().get(m)) return fail("\"" + where + "\" is not an object");
        element probe;
        if (!m["properties"].get(probe) || !m["runtime"].get(probe) || m.size() == 0 || !is_typed(m))
            return load_mapping(m);
        for (auto type : m) {
            eqlite_status st = load_mapping(type.value.get_object().value_unsafe());
            if (st != EQLITE_OK) return st;
        }
        return EQLITE_OK;
    }

    // {"_doc": {"properties": ...}}: every member is an object with properties.
    static bool is_typed(object m) {
        for (auto member : m) {
            object body;
            element props;
            if (member.value.get_object().get(body) || body["properties"].get(props)) return false;
        }
        return true;
    }

    // "dynamic": "strict" or false at the root: Elasticsearch indexes no field
    // the mapping lacks, so a rule naming one is "Unknown column" (the schema
    // stops growing). With dynamic mapping, fields in the data are mapped as
    // they come, so an unmapped name stays legal.
    void note_dynamic(object m) {
        element dynamic;
        if (m["dynamic"].get(dynamic)) return;
        std::string_view text;
        bool flag = true;
        if ((!dynamic.get_string().get(text) && (text == "strict" || text == "false")) ||
            (!dynamic.get_bool().get(flag) && !flag))
            eqlite_schema_set_grow(schema_, 0);
    }

    eqlite_status load_mapping(object m) {
        note_dynamic(m);
        element props;
        if (!m["properties"].get(props)) {
            eqlite_status st = load_properties(props, "");
            if (st != EQLITE_OK) return st;
        }
        if (!m["runtime"].get(props)) return load_properties(props, "");
        return EQLITE_OK;
    }

    eqlite_status load_properties(element value, const std::string &prefix) {
        object props;
        if (value.get_object().get(props))
            return fail("\"properties\" of '" + (prefix.empty() ? std::string("(root)") : prefix) +
                        "' is not an object");
        for (auto field : props) {
            if (field.key.empty())
                return fail("empty field name in \"properties\" of '" +
                            (prefix.empty() ? std::string("(root)") : prefix) + "'");
            std::string name = prefix.empty() ? std::string(field.key) : prefix + "." + std::string(field.key);
            eqlite_status st = load_field(name, field.value);
            if (st != EQLITE_OK) return st;
        }
        return EQLITE_OK;
    }

    eqlite_status load_field(const std::string &name, element value, const std::string *parent = nullptr) {
        object def;
        if (value.get_object().get(def)) return fail("field '" + name + "': definition is not an object");
        std::string_view type_name = "object"; // a field without "type" is an object
        element e;
        if (!def["type"].get(e) && e.get_string().get(type_name))
            return fail("field '" + name + "': \"type\" is not a string");
        if (type_name == "alias") return note_alias(name, def);
        eqlite_type type = type_named(type_name);
        eqlite_status st = add(name, type);
        if (st != EQLITE_OK) return st;
        // a multi-field indexes its parent's value: the reader reads the parent's path
        if (parent && on_param_) on_param_(user_, name.c_str(), "multi_field_of", parent->c_str());
        std::string_view format;
        if ((type == EQLITE_T_DATE || type == EQLITE_T_DATE_NANOS) && on_format_ &&
            !def["format"].get_string().get(format))
            on_format_(user_, name.c_str(), std::string(format).c_str());
        // index-time parameters of the reader (see eq_ndjson_conv)
        for (const char *param : {"ignore_above", "null_value"})
            if (on_param_ && !def[param].get(e) && !e.is_null())
                on_param_(user_, name.c_str(), param, simdjson::minify(e).c_str());
        if (!def["properties"].get(e) && (st = load_properties(e, name)) != EQLITE_OK) return st;
        if (!def["fields"].get(e)) return load_multi_fields(name, e);
        return EQLITE_OK;
    }

    // "fields": {"keyword": {"type": "keyword"}} -> name.keyword
    eqlite_status load_multi_fields(const std::string &name, element value) {
        object subs;
        if (value.get_object().get(subs)) return fail("field '" + name + "': \"fields\" is not an object");
        for (auto sub : subs) {
            eqlite_status st = load_field(name + "." + std::string(sub.key), sub.value, &name);
            if (st != EQLITE_OK) return st;
        }
        return EQLITE_OK;
    }

    eqlite_status note_alias(const std::string &name, object def) {
        std::string_view path;
        if (def["path"].get_string().get(path))
            return fail("alias '" + name + "' has no \"path\" string");
        aliases_.push_back(Alias{name, std::string(path)});
        return EQLITE_OK;
    }

    eqlite_status add(const std::string &name, eqlite_type type) {
        uint32_t id;
        eqlite_status st = eqlite_schema_add(schema_, name.data(), name.size(), type, &id);
        if (st != EQLITE_OK) return fail("field '" + name + "': " + eqlite_strerror(st), st);
        return EQLITE_OK;
    }

    eqlite_status add_aliases() {
        for (const Alias &a : aliases_) {
            eqlite_status st = eqlite_schema_add_alias(schema_, a.name.data(), a.name.size(), a.target.data(),
                                                       a.target.size());
            if (st == EQLITE_ENOTFOUND)
                return fail("alias '" + a.name + "' points to '" + a.target + "', which is not a field");
            if (st != EQLITE_OK)
                return fail("alias '" + a.name + "' -> '" + a.target + "': " + eqlite_strerror(st), st);
        }
        return EQLITE_OK;
    }

    eqlite_status fail(std::string msg, eqlite_status st = EQLITE_EINPUT) {
        message_ = std::move(msg);
        return st;
    }

    eqlite_schema *schema_;
    eq_mapping_format_fn on_format_;
    eq_mapping_param_fn on_param_;
    void *user_;
    std::vector<Alias> aliases_;
    std::string message_;
};

void put_message(char *errbuf, size_t errcap, const std::string &msg) {
    if (!errbuf || errcap == 0) return;
    size_t n = std::min(errcap - 1, msg.size());
    std::memcpy(errbuf, msg.data(), n);
    errbuf[n] = '\0';
}

} // namespace

extern "C" EQLITE_API eqlite_status eqlite_schema_load_mapping(eqlite_schema *schema, const char *json,
                                                               size_t len, eqlite_diag *diag) {
    char message[sizeof diag->message];
    eqlite_status st = eq_mapping_load(schema, json, len, message, sizeof message, nullptr, nullptr);
    if (diag) {
        *diag = eqlite_diag{};
        diag->code = st;
        std::memcpy(diag->message, message, sizeof message);
    }
    return st;
}

extern "C" eqlite_status eq_mapping_load(eqlite_schema *schema, const char *json, size_t len, char *errbuf,
                                         size_t errcap, eq_mapping_format_fn on_format, void *user) {
    return eq_mapping_load_params(schema, json, len, errbuf, errcap, on_format, nullptr, user);
}

extern "C" eqlite_status eq_mapping_load_params(eqlite_schema *schema, const char *json, size_t len, char *errbuf,
                                                size_t errcap, eq_mapping_format_fn on_format,
                                                eq_mapping_param_fn on_param, void *user) {
    put_message(errbuf, errcap, "");
    if (!schema || (!json && len)) {
        put_message(errbuf, errcap, "invalid argument");
        return EQLITE_EMISUSE;
    }
    try {
        simdjson::get_active_implementation(); // first use allocates; parse() is noexcept
        Loader loader(schema, on_format, on_param, user);
        eqlite_status st = loader.load(json ? json : "", len);
        if (st != EQLITE_OK) put_message(errbuf, errcap, loader.message());
        return st;
    } catch (const std::bad_alloc &) {
        put_message(errbuf, errcap, "out of memory");
        return EQLITE_ENOMEM;
    } catch (const std::exception &e) { // no C++ exception crosses into C
        put_message(errbuf, errcap, std::string("cannot read the mapping: ") + e.what());
        return EQLITE_EINPUT;
    }
}
