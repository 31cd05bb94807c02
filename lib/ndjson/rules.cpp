// rules.cpp: rule records out of JSON text (simdjson DOM; rules are few and small).
#include "rules.h"

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

static char *dup_view(std::string_view v)
{
    char *s = static_cast<char *>(std::malloc(v.size() + 1));
    if (s) {
        std::memcpy(s, v.data(), v.size());
        s[v.size()] = 0;
    }
    return s;
}

static char *member(simdjson::dom::object obj, const char *key, size_t *len)
{
    std::string_view v;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS)
        return nullptr;
    if (len)
        *len = v.size();
    return dup_view(v);
}

extern "C" int eq_rule_record_parse(const char *line, size_t len, eq_rule_record *out, char *err, size_t errcap)
{
    std::memset(out, 0, sizeof *out);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    auto error = parser.parse(line, len).get(doc);
    if (error) {
        std::snprintf(err, errcap, "%s", simdjson::error_message(error));
        return -1;
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        std::snprintf(err, errcap, "not a JSON object");
        return -1;
    }
    out->query = member(obj, "query", &out->query_len);
    out->name = member(obj, "name", nullptr);
    out->id = member(obj, "rule_id", nullptr);
    if (!out->id)
        out->id = member(obj, "id", nullptr);
    return 0;
}

extern "C" void eq_rule_record_free(eq_rule_record *r)
{
    if (!r)
        return;
    std::free(r->query);
    std::free(r->name);
    std::free(r->id);
    std::memset(r, 0, sizeof *r);
}
