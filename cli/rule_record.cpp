// rule_record.cpp: rule records out of JSON text (simdjson DOM; rules are few and small).
#include "rule_record.h"

#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <strings.h>

static char *dup_view(std::string_view v)
{
    char *s = static_cast<char *>(std::malloc(v.size() + 1));
    if (s) {
        std::memcpy(s, v.data(), v.size());
        s[v.size()] = 0;
    }
    return s;
}

// false only when the member is there and copying it failed.
static bool member(simdjson::dom::object obj, const char *key, char **out, size_t *len)
{
    std::string_view v;
    *out = nullptr;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS)
        return true;
    if (len)
        *len = v.size();
    *out = dup_view(v);
    return *out != nullptr;
}

static int parse_record(const char *line, size_t len, eq_rule_record *out, char *err, size_t errcap)
{
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    auto error = parser.parse(line, len).get(doc);
    if (error == simdjson::MEMALLOC) {
        std::snprintf(err, errcap, "out of memory");
        return -2;
    }
    if (error) {
        std::snprintf(err, errcap, "%s", simdjson::error_message(error));
        return -1;
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj) != simdjson::SUCCESS) {
        std::snprintf(err, errcap, "not a JSON object");
        return -1;
    }
    bool copied = member(obj, "query", &out->query, &out->query_len) && member(obj, "name", &out->name, nullptr) &&
                  member(obj, "rule_id", &out->id, nullptr) && (out->id || member(obj, "id", &out->id, nullptr));
    if (!copied) {
        eq_rule_record_free(out);
        std::snprintf(err, errcap, "out of memory");
        return -2;
    }
    return 0;
}

extern "C" int eq_rule_record_parse(const char *line, size_t len, eq_rule_record *out, char *err, size_t errcap)
{
    std::memset(out, 0, sizeof *out);
    try {
        simdjson::get_active_implementation(); // first use allocates; parse() is noexcept
        return parse_record(line, len, out, err, errcap);
    } catch (const std::bad_alloc &) { // no C++ exception crosses into C
        eq_rule_record_free(out);
        std::snprintf(err, errcap, "out of memory");
        return -2;
    } catch (const std::exception &e) {
        eq_rule_record_free(out);
        std::snprintf(err, errcap, "cannot read the rule record: %s", e.what());
        return -1;
    }
}

static void copy_member(simdjson::dom::object obj, const char *key, char *out, size_t cap)
{
    std::string_view v;
    out[0] = 0;
    if (obj[key].get_string().get(v) != simdjson::SUCCESS)
        return;
    size_t n = v.size() < cap - 1 ? v.size() : cap - 1;
    std::memcpy(out, v.data(), n);
    out[n] = 0;
}

// "language" is a string in rule exports and a list in hunting records
// (["EQL"]); the list is joined with "+". True when every entry is eql.
static bool copy_languages(simdjson::dom::object obj, char *out, size_t cap)
{
    simdjson::dom::array list;
    std::string_view v;
    size_t n = 0;
    bool all_eql = true;
    out[0] = 0;
    if (obj["language"].get_string().get(v) == simdjson::SUCCESS) {
        copy_member(obj, "language", out, cap);
        return strncasecmp(out, "eql", 4) == 0;
    }
    if (obj["language"].get_array().get(list) != simdjson::SUCCESS)
        return true;
    for (simdjson::dom::element item : list) {
        if (item.get_string().get(v) != simdjson::SUCCESS)
            v = "?";
        all_eql = all_eql && v.size() == 3 && strncasecmp(v.data(), "eql", 3) == 0;
        for (size_t k = n ? 0 : 1; k <= v.size() && n + 1 < cap; k++) // a "+" before every entry but the first
            out[n++] = k == 0 ? '+' : v[k - 1];
    }
    out[n] = 0;
    return all_eql;
}

static int record_kind(const char *line, size_t len, eq_rule_kind *out)
{
    std::memset(out, 0, sizeof *out);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::object obj;
    auto error = parser.parse(line, len).get(doc);
    if (error == simdjson::MEMALLOC)
        return -2;
    if (error != simdjson::SUCCESS || doc.get_object().get(obj) != simdjson::SUCCESS)
        return -1;
    copy_member(obj, "type", out->type, sizeof out->type);
    bool all_eql = copy_languages(obj, out->language, sizeof out->language);
    bool hunt = std::strcmp(out->type, "hunt") == 0; // a hunting query names its language: EQL, ES|QL, SQL
    out->is_eql = hunt ? out->language[0] && all_eql
                       : (!out->type[0] || std::strcmp(out->type, "eql") == 0) && (!out->language[0] || all_eql);
    simdjson::dom::element e;
    out->export_summary = obj["query"].get(e) != simdjson::SUCCESS && obj["exported_count"].get(e) == simdjson::SUCCESS;
    return 0;
}

extern "C" int eq_rule_record_kind(const char *line, size_t len, eq_rule_kind *out)
{
    try {
        simdjson::get_active_implementation(); // first use allocates; parse() is noexcept
        return record_kind(line, len, out);
    } catch (const std::bad_alloc &) { // no C++ exception crosses into C
        return -2;
    } catch (const std::exception &) {
        return -1;
    }
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
