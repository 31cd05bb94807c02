// rules_toml.cpp: detection-rules TOML files (rules and hunting queries) through toml11.
#include "rules_toml.h"

#include <toml.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <string>
#include <strings.h>
#include <vector>

namespace {

struct parsed_query {
    std::string text, name, id;
    size_t line;
};

struct not_a_rule : std::exception { // an EQL rule that cannot be read: message for err
    std::string message;
    explicit not_a_rule(std::string m) : message(std::move(m)) {}
};

void copy_cut(char *dst, size_t cap, const std::string &s)
{
    size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
    std::memcpy(dst, s.data(), n);
    dst[n] = 0;
}

const toml::value *member(const toml::value &table, const char *key)
{
    if (!table.is_table())
        return nullptr;
    const auto &t = table.as_table();
    auto it = t.find(key);
    return it == t.end() ? nullptr : &it->second;
}

std::string string_member(const toml::value &table, const char *key)
{
    const toml::value *v = member(table, key);
    return v && v->is_string() ? v->as_string().str : std::string();
}

// A string or a list of strings ("language" is a list in hunting files), joined with "+".
std::string languages(const toml::value &table)
{
    const toml::value *v = member(table, "language");
    if (!v)
        return {};
    if (v->is_string())
        return v->as_string().str;
    std::string joined;
    if (v->is_array())
        for (const auto &item : v->as_array())
            if (item.is_string())
                joined += (joined.empty() ? "" : "+") + item.as_string().str;
    return joined;
}

bool all_eql(const std::string &langs)
{
    if (langs.empty())
        return false;
    size_t start = 0;
    while (start <= langs.size()) {
        size_t end = langs.find('+', start);
        if (end == std::string::npos)
            end = langs.size();
        if (end - start != 3 || strncasecmp(langs.c_str() + start, "eql", 3) != 0)
            return false;
        start = end + 1;
    }
    return true;
}

// The first line of the query text: a multi-line string drops the newline
// right after its opening quotes, so the text starts on the next line.
size_t first_line(const toml::value &query)
{
    toml::source_location loc = query.location();
    size_t line = loc.line();
    std::string src = loc.line_str();
    size_t at = loc.column() ? loc.column() - 1 : 0;
    if (at + 3 <= src.size() && (src.compare(at, 3, "'''") == 0 || src.compare(at, 3, "\"\"\"") == 0) &&
        src.find_first_not_of(" \t\r", at + 3) == std::string::npos)
        line++;
    return line;
}

std::string at_line(const toml::value &v, const std::string &what)
{
    return "line " + std::to_string(v.location().line()) + ": " + what;
}

void read_rule(const toml::value &rule, eq_toml_file *out, std::vector<parsed_query> &queries)
{
    std::string type = string_member(rule, "type"), lang = languages(rule);
    copy_cut(out->kind.type, sizeof out->kind.type, type);
    copy_cut(out->kind.language, sizeof out->kind.language, lang);
    out->kind.is_eql = (type.empty() || type == "eql") && (lang.empty() || all_eql(lang));
    if (!out->kind.is_eql)
        return;
    const toml::value *q = member(rule, "query");
    if (!q || !q->is_string())
        throw not_a_rule(at_line(rule, q ? "[rule] query is not a string" : "[rule] has no query"));
    queries.push_back({q->as_string().str, string_member(rule, "name"), string_member(rule, "rule_id"),
                       first_line(*q)});
}

void read_hunt(const toml::value &hunt, eq_toml_file *out, std::vector<parsed_query> &queries)
{
    std::string lang = languages(hunt);
    copy_cut(out->kind.type, sizeof out->kind.type, "hunt");
    copy_cut(out->kind.language, sizeof out->kind.language, lang);
    out->kind.is_eql = all_eql(lang); // a hunt names its language; ES|QL and osquery SQL are common
    if (!out->kind.is_eql)
        return;
    const toml::value *q = member(hunt, "query");
    if (!q || !(q->is_array() || q->is_string()))
        throw not_a_rule(at_line(hunt, "[hunt] has no query list"));
    std::string name = string_member(hunt, "name"), uuid = string_member(hunt, "uuid");
    std::vector<toml::value> items = q->is_array() ? q->as_array() : std::vector<toml::value>{*q};
    for (size_t k = 0; k < items.size(); k++) {
        if (!items[k].is_string())
            throw not_a_rule(at_line(items[k], "[hunt] query " + std::to_string(k) + " is not a string"));
        queries.push_back({items[k].as_string().str, name, uuid.empty() ? "" : uuid + "#" + std::to_string(k),
                           first_line(items[k])});
    }
}

char *dup_string(const std::string &s, bool empty_is_null)
{
    if (empty_is_null && s.empty())
        return nullptr;
    char *d = static_cast<char *>(std::malloc(s.size() + 1));
    if (!d)
        throw std::bad_alloc();
    std::memcpy(d, s.c_str(), s.size() + 1);
    return d;
}

// toml11 parses nested arrays, inline tables and dotted keys by recursion:
// a hostile file ("a = [[[[...") would overflow the stack. Rule files nest
// two or three levels; this many is refused before toml11 sees the text.
constexpr unsigned max_nesting = 128;

// The first line where brackets and braces nest deeper than max_nesting, or
// a line holds more dots outside strings (dotted keys); 0 when none does.
size_t too_deep_line(const char *text, size_t len)
{
    unsigned depth = 0, dots = 0;
    size_t line = 1;
    for (size_t k = 0; k < len; k++) {
        char c = text[k];
        if (c == '\n') {
            line++;
            dots = 0;
        } else if (c == '#') {
            while (k + 1 < len && text[k + 1] != '\n')
                k++;
        } else if (c == '"' || c == '\'') {
            bool triple = k + 2 < len && text[k + 1] == c && text[k + 2] == c;
            k += triple ? 3 : 1;
            for (; k < len; k++) {
                if (text[k] == '\\' && c == '"') {
                    k++;
                    line += k < len && text[k] == '\n';
                } else if (text[k] == '\n') {
                    line++;
                    if (!triple)
                        break; // an unterminated string: toml11 reports it
                } else if (text[k] == c && (!triple || (k + 2 < len && text[k + 1] == c && text[k + 2] == c))) {
                    k += triple ? 2 : 0;
                    break;
                }
            }
        } else if (c == '[' || c == '{') {
            if (++depth > max_nesting)
                return line;
        } else if (c == ']' || c == '}') {
            depth -= depth > 0;
        } else if (c == '.' && ++dots > max_nesting) {
            return line;
        }
    }
    return 0;
}

// toml11 3.7 reads past its buffer when it reports invalid UTF-8 in a '''
// string (found by fuzz_rules); TOML is UTF-8, so the text is checked first.
// The line of the first invalid sequence (overlong, surrogate, past
// U+10FFFF, cut short), or 0.
size_t invalid_utf8_line(const char *text, size_t len)
{
    const unsigned char *s = reinterpret_cast<const unsigned char *>(text);
    size_t line = 1;
    for (size_t k = 0; k < len;) {
        unsigned char c = s[k];
        if (c < 0x80) {
            line += c == '\n';
            k++;
            continue;
        }
        size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (n == 0 || k + n > len)
            return line;
        unsigned char lo = 0x80, hi = 0xBF; // the second byte's range excludes overlongs, surrogates, > U+10FFFF
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
        else if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
        if (s[k + 1] < lo || s[k + 1] > hi)
            return line;
        for (size_t j = 2; j < n; j++)
            if ((s[k + j] & 0xC0) != 0x80)
                return line;
        k += n;
    }
    return 0;
}

// toml11 says "[error] toml::parse_key_value_pair: missing value ..." and
// then draws the source; keep the reason of the first line.
std::string short_reason(const char *what)
{
    std::string first(what, std::strcspn(what, "\n"));
    if (first.rfind("[error] ", 0) == 0)
        first.erase(0, 8);
    if (first.rfind("toml::", 0) == 0 && first.find(": ") != std::string::npos)
        first.erase(0, first.find(": ") + 2);
    return first;
}

// The queries of a parsed document; false for a TOML rule file without one.
bool read_doc(const toml::value &doc, eq_toml_file *out, std::vector<parsed_query> &queries, char *err, size_t errcap)
{
    try {
        if (const toml::value *rule = member(doc, "rule"))
            read_rule(*rule, out, queries);
        else if (const toml::value *hunt = member(doc, "hunt"))
            read_hunt(*hunt, out, queries);
        else
            out->no_rule = 1;
    } catch (const not_a_rule &e) {
        std::snprintf(err, errcap, "%s", e.message.c_str());
        return false;
    }
    return true;
}

int parse_file(const char *path, const char *text, size_t len, eq_toml_file *out, char *err, size_t errcap)
{
    if (size_t line = too_deep_line(text, len)) {
        std::snprintf(err, errcap, "line %zu: invalid TOML: nested deeper than %u levels (arrays, tables, dotted keys)",
                      line, max_nesting);
        return -1;
    }
    if (size_t line = invalid_utf8_line(text, len)) {
        std::snprintf(err, errcap, "line %zu: invalid TOML: not UTF-8", line);
        return -1;
    }
    std::istringstream in(std::string(text, len));
    std::vector<parsed_query> queries;
    try { // toml::value's default constructor allocates and is noexcept: never make an empty one
        if (!read_doc(toml::parse(in, path), out, queries, err, errcap))
            return -1;
    } catch (const toml::exception &e) {
        std::snprintf(err, errcap, "line %u: invalid TOML: %s", (unsigned)e.location().line(),
                      short_reason(e.what()).c_str());
        return -1;
    } catch (const std::bad_alloc &) {
        throw;
    } catch (const std::exception &e) {
        std::snprintf(err, errcap, "invalid TOML: %s", short_reason(e.what()).c_str());
        return -1;
    }
    if (queries.empty())
        return 0;
    out->queries = static_cast<eq_toml_query *>(std::calloc(queries.size(), sizeof *out->queries));
    if (!out->queries)
        throw std::bad_alloc();
    for (const auto &q : queries) {
        eq_toml_query *dst = &out->queries[out->n++];
        dst->line = q.line;
        dst->query_len = q.text.size();
        dst->query = dup_string(q.text, false);
        dst->name = dup_string(q.name, true);
        dst->id = dup_string(q.id, true);
    }
    return 0;
}

} // namespace

extern "C" int eq_toml_file_parse(const char *path, const char *text, size_t len, eq_toml_file *out, char *err,
                                  size_t errcap)
{
    std::memset(out, 0, sizeof *out);
    try {
        int st = parse_file(path, text, len, out, err, errcap);
        if (st != 0)
            eq_toml_file_free(out);
        return st;
    } catch (const std::bad_alloc &) { // no C++ exception crosses into C
        eq_toml_file_free(out);
        std::snprintf(err, errcap, "out of memory");
        return -2;
    }
}

extern "C" void eq_toml_file_free(eq_toml_file *f)
{
    if (!f)
        return;
    for (size_t k = 0; k < f->n; k++) {
        std::free(f->queries[k].query);
        std::free(f->queries[k].name);
        std::free(f->queries[k].id);
    }
    std::free(f->queries);
    std::memset(f, 0, sizeof *f);
}
