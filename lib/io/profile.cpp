// profile.cpp: reads source profile files and runs them over raw records
// (see profile.h; the language is described in lib/io/sources/README.md).
//
// A record is flattened once into dotted paths (nested objects and dotted
// keys alike, so {"a":{"b":1}} and {"a.b":1} are the same path a.b); the
// operations read those paths ("name") or the document built so far
// ("$name"), and write fields of the output document, which is then written
// as nested JSON with its keys in order.
#include "io/profile.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "io/ndjson.h" // date formats
#include "io/sources_builtin.h"

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

namespace {

// ---- values ------------------------------------------------------------------

enum class Kind { Str, Num, Bool, Null, Raw };

struct Scalar {
    Kind kind = Kind::Str;
    std::string text; // string contents, number literal, "true"/"false", raw JSON
};

struct Val {
    bool array = false;
    std::vector<Scalar> items; // one item unless array
};

// ---- the language --------------------------------------------------------------

enum class CondOp { Exists, Missing, Eq, Ne, In, Prefix, Contains, NotContains, WinPath };

struct Ref {
    std::string path;
    bool out = false; // "$path": the output document
};

struct Cond {
    Ref ref;
    CondOp op = CondOp::Exists;
    std::vector<std::string> values;
};

struct Assign {
    std::string field;
    Val value;
};

struct Table {
    std::string name;
    std::unordered_map<std::string, std::vector<Assign>> rows;
};

enum class OpKind {
    Copy, Rename, Set, Int, Str, Lower, Basename, Dirname, Extension, Lookup, Time, Hashes, User, Args,
    Append, Delete, Clean, Head, Tail, Words, Replace, Json, When
};

struct Op {
    OpKind kind;
    int line = 0;
    Ref src;
    std::string dst;
    Val value;                       // set, append (constant)
    std::vector<std::string> words;  // time format, clean values, user targets
    size_t table = 0;                // lookup
    std::vector<std::vector<Cond>> when; // alternatives (or) of conjunctions (and)
    std::vector<Op> then, otherwise;
};

struct Profile {
    std::string name;
    std::vector<std::vector<Cond>> detect; // every line must hold; a line holds when one of its conds does
    bool passthrough = false;
    std::vector<Table> tables;
    std::vector<Op> ops;
};

// ---- reading profile files --------------------------------------------------------

struct Token {
    std::string text;
    bool quoted = false;
};

struct ParseError {
    std::string msg;
};

bool is_separator(char c) {
    return c == ' ' || c == '\t' || c == ',' || c == '[' || c == ']' || c == '#' || c == '\r' || c == '"';
}

// Splits a line into words: "quoted strings" (with \" and \\), [ and ] as
// their own words, commas and blanks separate, # starts a comment.
std::vector<Token> tokenize(std::string_view line) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < line.size()) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == ',' || c == '\r') { i++; continue; }
        if (c == '#') break;
        if (c == '[' || c == ']') { out.push_back({std::string(1, c), false}); i++; continue; }
        Token t;
        if (c == '"') {
            t.quoted = true;
            for (i++; i < line.size() && line[i] != '"'; i++) {
                if (line[i] == '\\' && i + 1 < line.size()) i++;
                t.text += line[i];
            }
            if (i >= line.size()) throw ParseError{"unterminated string"};
            i++;
        } else {
            // (not strchr: it would take a NUL byte for its own terminator and stop on it)
            while (i < line.size() && !is_separator(line[i])) t.text += line[i++];
        }
        out.push_back(std::move(t));
    }
    return out;
}

bool is_integer(const std::string &s) {
    size_t i = s[0] == '-' ? 1 : 0;
    if (i >= s.size()) return false;
    for (; i < s.size(); i++) if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

// A constant: quoted text is a string; bare integers, true and false keep their type.
Scalar constant(const Token &t) {
    if (!t.quoted && !t.text.empty() && is_integer(t.text)) return {Kind::Num, t.text};
    if (!t.quoted && (t.text == "true" || t.text == "false")) return {Kind::Bool, t.text};
    return {Kind::Str, t.text};
}

// A value at toks[*at]: one word or [a, b, ...].
Val read_value(const std::vector<Token> &toks, size_t *at) {
    Val v;
    if (*at >= toks.size()) throw ParseError{"a value is missing"};
    if (!toks[*at].quoted && toks[*at].text == "[") {
        v.array = true;
        for ((*at)++; *at < toks.size() && !(toks[*at].text == "]" && !toks[*at].quoted); (*at)++)
            v.items.push_back(constant(toks[*at]));
        if (*at >= toks.size()) throw ParseError{"missing ]"};
        (*at)++;
        return v;
    }
    v.items.push_back(constant(toks[(*at)++]));
    return v;
}

Ref read_ref(const std::string &word) {
    if (!word.empty() && word[0] == '$') return {word.substr(1), true};
    return {word, false};
}

// COND := PATH exists|missing|winpath | PATH ==|!=|prefix|contains|!contains VALUE | PATH in [..]
// joined by `joiner` ("and" / "or").
std::vector<Cond> read_conds(const std::vector<Token> &toks, size_t at, const char *joiner) {
    std::vector<Cond> out;
    while (at < toks.size()) {
        if (at + 1 >= toks.size()) throw ParseError{"incomplete condition"};
        Cond c;
        c.ref = read_ref(toks[at].text);
        const std::string &op = toks[at + 1].text;
        at += 2;
        if (op == "exists") c.op = CondOp::Exists;
        else if (op == "missing") c.op = CondOp::Missing;
        else if (op == "winpath") c.op = CondOp::WinPath;
        else {
            if (op == "==") c.op = CondOp::Eq;
            else if (op == "!=") c.op = CondOp::Ne;
            else if (op == "in") c.op = CondOp::In;
            else if (op == "prefix") c.op = CondOp::Prefix;
            else if (op == "contains") c.op = CondOp::Contains;
            else if (op == "!contains") c.op = CondOp::NotContains;
            else throw ParseError{"unknown condition '" + op + "'"};
            Val v = read_value(toks, &at);
            for (auto &s : v.items) c.values.push_back(s.text);
        }
        out.push_back(std::move(c));
        if (at < toks.size()) {
            if (toks[at].text != joiner) throw ParseError{std::string("expected '") + joiner + "'"};
            at++;
        }
    }
    if (out.empty()) throw ParseError{"a condition is missing"};
    return out;
}

size_t find_table(const Profile &p, const std::string &name) {
    for (size_t i = 0; i < p.tables.size(); i++)
        if (p.tables[i].name == name) return i;
    throw ParseError{"no table '" + name + "' (tables come before their use)"};
}

void need(const std::vector<Token> &t, size_t lo, size_t hi) {
    if (t.size() < lo || t.size() > hi) throw ParseError{"'" + t[0].text + "' takes " +
        (lo == hi ? std::to_string(lo - 1) : std::to_string(lo - 1) + " to " + std::to_string(hi - 1)) + " words"};
}

struct FileParser {
    std::vector<Profile> *out;
    Profile *cur = nullptr;
    Table *table = nullptr;
    std::vector<std::vector<Op> *> blocks; // open `when` bodies
    std::vector<Op *> whens;

    void line(int number, std::string_view text) {
        std::vector<Token> t = tokenize(text);
        if (t.empty()) return;
        const std::string &w = t[0].text;
        if (table) {
            if (w == "end" && t.size() == 1) { table = nullptr; return; }
            need(t, 2, 1000);
            std::vector<Assign> row;
            for (size_t i = 1; i < t.size();) {
                std::string &f = t[i].text;
                size_t eq = f.find('=');
                if (t[i].quoted || eq == std::string::npos) throw ParseError{"expected field=value"};
                Assign a;
                a.field = f.substr(0, eq);
                std::string rest = f.substr(eq + 1);
                i++;
                if (rest.empty()) { a.value = read_value(t, &i); }
                else a.value.items.push_back(constant(Token{rest, false}));
                row.push_back(std::move(a));
            }
            table->rows[t[0].text] = std::move(row);
            return;
        }
        if (w == "profile") {
            need(t, 2, 2);
            if (!blocks.empty() && blocks.size() > 1) throw ParseError{"'when' without 'end'"};
            out->push_back(Profile{});
            cur = &out->back();
            cur->name = t[1].text;
            blocks.assign(1, &cur->ops);
            whens.clear();
            return;
        }
        if (!cur) throw ParseError{"expected 'profile NAME' first"};
        if (w == "detect") { cur->detect.push_back(read_conds(t, 1, "or")); return; }
        if (w == "passthrough") { need(t, 1, 1); cur->passthrough = true; return; }
        if (w == "table") {
            need(t, 2, 2);
            cur->tables.push_back(Table{t[1].text, {}});
            table = &cur->tables.back();
            return;
        }
        if (w == "end" || w == "else") {
            need(t, 1, 1);
            if (whens.empty()) throw ParseError{"'" + w + "' without 'when'"};
            blocks.pop_back();
            if (w == "else") blocks.push_back(&whens.back()->otherwise);
            else whens.pop_back();
            return;
        }
        Op op{};
        op.line = number;
        if (w == "when") {
            op.kind = OpKind::When;
            // alternatives: "or" between groups of "and"
            std::vector<Token> group;
            for (size_t i = 1; i <= t.size(); i++) {
                if (i == t.size() || (!t[i].quoted && t[i].text == "or")) {
                    group.insert(group.begin(), Token{"when", false});
                    op.when.push_back(read_conds(group, 1, "and"));
                    group.clear();
                } else group.push_back(t[i]);
            }
            blocks.back()->push_back(std::move(op));
            whens.push_back(&blocks.back()->back());
            blocks.push_back(&whens.back()->then);
            return;
        }
        static const struct { const char *name; OpKind kind; size_t lo, hi; } kOps[] = {
            {"copy", OpKind::Copy, 2, 3}, {"rename", OpKind::Rename, 3, 3}, {"set", OpKind::Set, 3, 1000},
            {"int", OpKind::Int, 2, 3}, {"str", OpKind::Str, 2, 3}, {"lower", OpKind::Lower, 2, 3},
            {"basename", OpKind::Basename, 3, 3}, {"dirname", OpKind::Dirname, 3, 3},
            {"extension", OpKind::Extension, 3, 3}, {"lookup", OpKind::Lookup, 3, 3},
            {"time", OpKind::Time, 4, 1000}, {"hashes", OpKind::Hashes, 3, 3}, {"user", OpKind::User, 4, 4},
            {"args", OpKind::Args, 3, 3}, {"append", OpKind::Append, 3, 1000}, {"delete", OpKind::Delete, 2, 2},
            {"clean", OpKind::Clean, 3, 1000}, {"head", OpKind::Head, 4, 4}, {"tail", OpKind::Tail, 4, 4},
            {"words", OpKind::Words, 3, 3}, {"json", OpKind::Json, 2, 2}, {"replace", OpKind::Replace, 5, 5},
        };
        for (const auto &k : kOps) {
            if (w != k.name) continue;
            need(t, k.lo, k.hi);
            op.kind = k.kind;
            switch (k.kind) {
            case OpKind::Set: {
                op.dst = t[1].text;
                size_t at = 2;
                op.value = read_value(t, &at);
                if (at != t.size()) throw ParseError{"one value after the field (a list is [a, b])"};
                break;
            }
            case OpKind::Append: {
                // append DST SRC | append DST value "text" | append DST [a, b]
                op.dst = t[1].text;
                if (t.size() == 3 && !t[2].quoted && t[2].text != "[") op.src = read_ref(t[2].text);
                else {
                    size_t at = 2;
                    op.value = read_value(t, &at);
                }
                break;
            }
            case OpKind::Lookup: op.src = read_ref(t[1].text); op.table = find_table(*cur, t[2].text); break;
            case OpKind::Time:
                // time SRC DST FORMAT...: the words after DST are one format ("yyyy-MM-dd HH:mm:ss.SSS")
                op.src = read_ref(t[1].text);
                op.dst = t[2].text;
                for (size_t i = 3; i < t.size(); i++) op.words.push_back(t[i].text);
                break;
            case OpKind::User: op.src = read_ref(t[1].text); op.words = {t[2].text, t[3].text}; break;
            case OpKind::Head:
            case OpKind::Tail:
                // head SRC SEP DST: the text before (tail: after) the first SEP
                op.src = read_ref(t[1].text);
                op.words = {t[2].text};
                op.dst = t[3].text;
                break;
            case OpKind::Replace:
                // replace SRC FROM TO DST: every FROM in the text becomes TO
                op.src = read_ref(t[1].text);
                op.words = {t[2].text, t[3].text};
                op.dst = t[4].text;
                if (op.words[0].empty()) throw ParseError{"replace: FROM is empty"};
                break;
            case OpKind::Delete: op.dst = t[1].text; if (!op.dst.empty() && op.dst[0] == '$') op.dst.erase(0, 1); break;
            case OpKind::Clean:
                op.dst = t[1].text;
                for (size_t i = 2; i < t.size(); i++) op.words.push_back(t[i].text);
                break;
            default:
                op.src = read_ref(t[1].text);
                op.dst = t.size() > 2 ? t[2].text : op.src.path;
                break;
            }
            blocks.back()->push_back(std::move(op));
            return;
        }
        throw ParseError{"unknown operation '" + w + "'"};
    }
};

} // namespace

struct eq_profiles {
    std::vector<Profile> list;
    // records taken per profile (+1: no known shape), by all readers
    mutable std::unique_ptr<std::atomic<uint64_t>[]> counts;
    size_t ncounts = 0;
};

namespace {

void put(char *err, size_t cap, const std::string &msg) {
    if (!err || !cap) return;
    size_t n = std::min(cap - 1, msg.size());
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

eqlite_status add_text(eq_profiles *p, std::string_view text, const char *origin, std::string *err) {
    std::vector<Profile> parsed;
    FileParser fp{&parsed, nullptr, nullptr, {}, {}};
    int number = 0;
    size_t at = 0;
    try {
        while (at <= text.size()) {
            size_t nl = text.find('\n', at);
            if (nl == std::string_view::npos) nl = text.size();
            number++;
            fp.line(number, text.substr(at, nl - at));
            at = nl + 1;
        }
        if (fp.table) throw ParseError{"table without 'end'"};
        if (fp.blocks.size() > 1) throw ParseError{"'when' without 'end'"};
        if (parsed.empty()) throw ParseError{"no profile in the file"};
    } catch (const ParseError &e) {
        *err = std::string(origin ? origin : "<profile>") + ":" + std::to_string(number) + ": " + e.msg;
        return EQLITE_EINPUT;
    }
    // The counters are sized for the profiles (readers only count, never add).
    auto grown = std::make_unique<std::atomic<uint64_t>[]>(p->list.size() + parsed.size() + 1);
    for (size_t i = 0; i < p->list.size() + parsed.size() + 1; i++) grown[i] = 0;
    p->counts = std::move(grown);
    p->ncounts = p->list.size() + parsed.size() + 1;
    for (Profile &np : parsed) {
        auto same = std::find_if(p->list.begin(), p->list.end(), [&](const Profile &q) { return q.name == np.name; });
        if (same != p->list.end()) *same = std::move(np);
        else if (!p->list.empty() && p->list.back().passthrough && !np.passthrough)
            p->list.insert(p->list.end() - 1, std::move(np)); // the passthrough (ECS) stays the last resort
        else p->list.push_back(std::move(np));
    }
    return EQLITE_OK;
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

extern "C" size_t eq_profiles_counts(const eq_profiles *p, uint64_t *counts, size_t n) {
    if (!p) return 0;
    for (size_t i = 0; i < n; i++) counts[i] = i < p->ncounts ? p->counts[i].load(std::memory_order_relaxed) : 0;
    return p->list.size() + 1;
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

// ---- running -------------------------------------------------------------------------

namespace eqio {

struct ConvertScratch {
    // input: dotted path -> element
    std::vector<std::pair<std::string, element>> flat;
    size_t nflat = 0;
    std::unordered_map<std::string_view, size_t> index;
    // output document
    std::vector<std::pair<std::string, Val>> doc;
    std::unordered_map<std::string, size_t> where;
    std::vector<size_t> order;
    std::vector<std::string> args;
    // `json` ops: text fields parsed as JSON, read like the record itself
    std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
    size_t nparsers = 0;
};

ConvertScratch *scratch_new() { return new ConvertScratch(); }
void scratch_free(ConvertScratch *s) { delete s; }

} // namespace eqio

namespace {

using eqio::ConvertScratch;

void flatten(ConvertScratch *s, object obj, std::string &prefix) {
    for (auto field : obj) {
        size_t keep = prefix.size();
        if (keep) prefix += '.';
        prefix.append(field.key.data(), field.key.size());
        if (field.value.type() == element_type::OBJECT) {
            flatten(s, object(field.value), prefix);
        } else {
            if (s->nflat == s->flat.size()) s->flat.emplace_back();
            s->flat[s->nflat].first.assign(prefix);
            s->flat[s->nflat].second = field.value;
            s->nflat++;
        }
        prefix.resize(keep);
    }
}

constexpr size_t kObject = SIZE_MAX; // index value of a path with fields under it

// Indexes a leaf path, and each of its dotted prefixes as an object (so that
// copying an absent object costs one lookup, not a scan).
void index_path(ConvertScratch *s, size_t i) {
    std::string_view path = s->flat[i].first;
    s->index[path] = i; // the last duplicate wins
    for (size_t dot = path.rfind('.'); dot != std::string_view::npos && dot > 0; dot = path.rfind('.', dot - 1)) {
        auto ins = s->index.emplace(path.substr(0, dot), kObject);
        if (!ins.second) break; // its own prefixes are there already
    }
}

void build_input(ConvertScratch *s, object root) {
    s->nflat = 0;
    s->index.clear();
    std::string prefix;
    flatten(s, root, prefix);
    for (size_t i = 0; i < s->nflat; i++) index_path(s, i);
}

// Looks a dotted path up in a DOM object without flattening it (detection):
// each key is either the whole remaining path or one of its dotted prefixes.
bool dom_find(object obj, std::string_view path, element *out) {
    for (auto field : obj) {
        std::string_view k(field.key.data(), field.key.size());
        if (k == path) { *out = field.value; return true; }
        if (path.size() > k.size() && path[k.size()] == '.' && path.substr(0, k.size()) == k &&
            field.value.type() == element_type::OBJECT && dom_find(object(field.value), path.substr(k.size() + 1), out))
            return true;
    }
    return false;
}

Scalar scalar_of(element e) {
    switch (e.type()) {
    case element_type::STRING: return {Kind::Str, std::string(std::string_view(e))};
    case element_type::INT64: return {Kind::Num, std::to_string(int64_t(e))};
    case element_type::UINT64: return {Kind::Num, std::to_string(uint64_t(e))};
    case element_type::DOUBLE: return {Kind::Num, simdjson::minify(e)};
    case element_type::BOOL: return {Kind::Bool, bool(e) ? "true" : "false"};
    case element_type::NULL_VALUE: return {Kind::Null, "null"};
    default: return {Kind::Raw, simdjson::minify(e)};
    }
}

Val val_of(element e) {
    Val v;
    if (e.type() == element_type::ARRAY) {
        v.array = true;
        for (element x : simdjson::dom::array(e)) {
            if (x.type() == element_type::NULL_VALUE) continue;
            v.items.push_back(scalar_of(x));
        }
    } else {
        v.items.push_back(scalar_of(e));
    }
    return v;
}

// Null and "" are absent, as Elastic's pipelines treat them (`!= null && != ""`).
bool val_present(const Val &v) {
    if (v.items.empty()) return false;
    if (v.array) return true;
    const Scalar &x = v.items[0];
    return x.kind != Kind::Null && !(x.kind == Kind::Str && x.text.empty());
}

struct Run {
    const Profile &p;
    ConvertScratch *s;

    // ---- reading ----
    const Val *out_get(const std::string &path) {
        auto it = s->where.find(path);
        return it == s->where.end() ? nullptr : &s->doc[it->second].second;
    }

    bool in_get(std::string_view path, element *e) {
        auto it = s->index.find(path);
        if (it == s->index.end() || it->second == kObject) return false;
        *e = s->flat[it->second].second;
        return true;
    }

    // The value of a reference, or false when absent (null counts as absent).
    bool get(const Ref &r, Val *v) {
        if (r.out) {
            const Val *o = out_get(r.path);
            if (!o || !val_present(*o)) return false;
            *v = *o;
            return true;
        }
        element e;
        if (!in_get(r.path, &e) || e.type() == element_type::NULL_VALUE) return false;
        *v = val_of(e);
        return val_present(*v);
    }

    // A single text value (strings as they are, numbers as written).
    bool text(const Ref &r, std::string *out) {
        Val v;
        if (!get(r, &v) || v.items.empty()) return false;
        *out = v.items[0].text;
        return v.items[0].kind != Kind::Raw;
    }

    // ---- writing ----
    void put(const std::string &field, Val v) {
        auto it = s->where.find(field);
        if (it != s->where.end()) { s->doc[it->second].second = std::move(v); return; }
        s->where.emplace(field, s->doc.size());
        s->doc.emplace_back(field, std::move(v));
    }

    void put_str(const std::string &field, std::string text) {
        Val v;
        v.items.push_back({Kind::Str, std::move(text)});
        put(field, std::move(v));
    }

    void remove(const std::string &field) {
        auto it = s->where.find(field);
        if (it == s->where.end()) return;
        s->doc[it->second].second.items.clear(); // an empty value is not written
        s->where.erase(it);
    }

    void remove_prefix(const std::string &prefix) {
        for (auto &e : s->doc)
            if (e.first.size() > prefix.size() && e.first.compare(0, prefix.size(), prefix) == 0 &&
                e.first[prefix.size()] == '.')
                remove(std::string(e.first));
        remove(prefix);
    }

    // ---- conditions ----
    bool holds(const Cond &c) {
        Val v;
        bool present = get(c.ref, &v);
        switch (c.op) {
        case CondOp::Exists: return present;
        case CondOp::Missing: return !present;
        default: break;
        }
        if (!present) return c.op == CondOp::Ne || c.op == CondOp::NotContains;
        auto any = [&](auto pred) {
            for (const Scalar &x : v.items) if (x.kind != Kind::Raw && pred(x.text)) return true;
            return false;
        };
        switch (c.op) {
        case CondOp::Eq: return any([&](const std::string &t) { return t == c.values[0]; });
        case CondOp::Ne: return !any([&](const std::string &t) { return t == c.values[0]; });
        case CondOp::In:
            return any([&](const std::string &t) { return std::find(c.values.begin(), c.values.end(), t) != c.values.end(); });
        case CondOp::Prefix: return any([&](const std::string &t) { return t.compare(0, c.values[0].size(), c.values[0]) == 0; });
        case CondOp::Contains: return any([&](const std::string &t) { return t.find(c.values[0]) != std::string::npos; });
        case CondOp::NotContains:
            return !any([&](const std::string &t) { return t.find(c.values[0]) != std::string::npos; });
        case CondOp::WinPath:
            return any([](const std::string &t) {
                return (t.size() >= 3 && std::isalpha(static_cast<unsigned char>(t[0])) && t[1] == ':' &&
                        (t[2] == '\\' || t[2] == '/')) || t.compare(0, 2, "\\\\") == 0;
            });
        default: return false;
        }
    }

    bool holds_all(const std::vector<Cond> &cs) {
        for (const Cond &c : cs) if (!holds(c)) return false;
        return true;
    }

    // ---- operations ----
    void copy(const Op &op) {
        if (!op.src.out) {
            element e;
            // an object: every leaf under it
            std::string prefix = op.src.path + ".";
            auto it = s->index.find(op.src.path);
            if (it == s->index.end()) return;
            bool leaf = it->second != kObject;
            if (leaf) {
                e = s->flat[it->second].second;
            } else {
                for (size_t i = 0; i < s->nflat; i++) {
                    const std::string &path = s->flat[i].first;
                    if (path.compare(0, prefix.size(), prefix) != 0) continue;
                    Val v = val_of(s->flat[i].second);
                    if (!val_present(v)) continue;
                    put(op.dst + path.substr(op.src.path.size()), std::move(v));
                }
                return;
            }
        }
        Val v;
        if (get(op.src, &v)) {
            put(op.dst, std::move(v));
        } else if (op.src.out) {
            std::string prefix = op.src.path + ".";
            for (size_t i = 0, n = s->doc.size(); i < n; i++) {
                if (s->doc[i].first.compare(0, prefix.size(), prefix) != 0 || s->doc[i].second.items.empty()) continue;
                std::string to = op.dst + s->doc[i].first.substr(op.src.path.size());
                Val copy = s->doc[i].second;
                put(to, std::move(copy));
            }
        }
    }

    static std::string_view win_base(std::string_view path) {
        size_t cut = path.find_last_of("\\/");
        return cut == std::string_view::npos ? path : path.substr(cut + 1);
    }

    static std::string lower(std::string t) {
        for (char &c : t) if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return t;
    }

    void time(const Op &op) {
        std::string t;
        if (!text(op.src, &t)) return;
        std::string format;
        for (const std::string &w : op.words) format += (format.empty() ? "" : " ") + w;
        int64_t ms;
        if (format == "iso") {
            int64_t ns;
            if (eq_ndjson_parse_timestamp(t.data(), t.size(), &ns) != 0) return;
            ms = ns / 1000000 - (ns % 1000000 < 0);
        } else if (eq_ndjson_parse_date_format(t.data(), t.size(), format.c_str(), &ms) != 0) {
            return; // Elastic's date processors ignore failures here too
        }
        put_str(op.dst, iso_ms(ms));
    }

    static std::string iso_ms(int64_t ms) {
        int64_t days = ms / 86400000 - (ms % 86400000 < 0);
        int64_t rem = ms - days * 86400000;
        // civil_from_days (H. Hinnant)
        int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
        y += m <= 2;
        char buf[96];
        std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y, (long long)m,
                      (long long)d, (long long)(rem / 3600000), (long long)(rem / 60000 % 60),
                      (long long)(rem / 1000 % 60), (long long)(rem % 1000));
        return buf;
    }

    void hashes(const Op &op) {
        std::string t;
        if (!text(op.src, &t)) return;
        size_t at = 0;
        while (at < t.size()) {
            size_t comma = t.find(',', at);
            if (comma == std::string::npos) comma = t.size();
            std::string_view item(t.data() + at, comma - at);
            size_t eq = item.find('=');
            if (eq != std::string_view::npos && eq + 1 < item.size())
                put_str(op.dst + "." + lower(std::string(item.substr(0, eq))), lower(std::string(item.substr(eq + 1))));
            at = comma + 1;
        }
    }

    // A field holding JSON text as a string: its object's fields become
    // readable under the field's path, as if the record had held the object.
    void parse_json(const std::string &path) {
        element e;
        if (!in_get(path, &e) || e.type() != element_type::STRING) return;
        if (s->nparsers == s->parsers.size()) s->parsers.push_back(std::make_unique<simdjson::dom::parser>());
        simdjson::dom::parser &parser = *s->parsers[s->nparsers++];
        std::string_view text(e);
        object obj;
        if (parser.parse(text.data(), text.size(), true).get(obj)) return; // not an object: left as text
        std::string prefix = path;
        flatten(s, obj, prefix);
        // flat may have moved (its strings with it): index it all again
        s->index.clear();
        for (size_t i = 0; i < s->nflat; i++) index_path(s, i);
    }

    void append(const Op &op) {
        Val add;
        if (op.src.path.empty()) add = op.value;
        else if (!get(op.src, &add)) return;
        Val cur;
        if (const Val *o = out_get(op.dst)) cur = *o;
        cur.array = true;
        for (Scalar &x : add.items) {
            if (x.kind == Kind::Str && x.text.empty()) continue;
            bool seen = false;
            for (const Scalar &y : cur.items) seen = seen || (y.kind == x.kind && y.text == x.text);
            if (!seen) cur.items.push_back(std::move(x));
        }
        if (!cur.items.empty()) put(op.dst, std::move(cur));
    }

    void run(const std::vector<Op> &ops) {
        for (const Op &op : ops) {
            std::string t;
            switch (op.kind) {
            case OpKind::Copy: copy(op); break;
            case OpKind::Rename: {
                Val v;
                if (get(op.src, &v)) {
                    if (op.src.out) remove(op.src.path);
                    put(op.dst, std::move(v));
                }
                break;
            }
            case OpKind::Set: put(op.dst, op.value); break;
            case OpKind::Int: {
                if (!text(op.src, &t)) break;
                char *end = nullptr;
                errno = 0;
                long long n = std::strtoll(t.c_str(), &end, t.compare(0, 2, "0x") == 0 ? 16 : 10);
                if (t.empty() || *end || errno) break;
                Val v;
                v.items.push_back({Kind::Num, std::to_string(n)});
                put(op.dst, std::move(v));
                break;
            }
            case OpKind::Str: {
                Val v;
                if (!get(op.src, &v)) break;
                for (Scalar &x : v.items) if (x.kind == Kind::Num || x.kind == Kind::Bool) x.kind = Kind::Str;
                put(op.dst, std::move(v));
                break;
            }
            case OpKind::Lower: {
                Val v;
                if (!get(op.src, &v)) break;
                for (Scalar &x : v.items) if (x.kind == Kind::Str) x.text = lower(std::move(x.text));
                put(op.dst, std::move(v));
                break;
            }
            case OpKind::Basename:
                if (text(op.src, &t) && !win_base(t).empty()) put_str(op.dst, std::string(win_base(t)));
                break;
            case OpKind::Dirname:
                if (text(op.src, &t)) {
                    size_t cut = t.find_last_of("\\/");
                    if (cut != std::string::npos && cut > 0) put_str(op.dst, t.substr(0, cut));
                }
                break;
            case OpKind::Extension:
                if (text(op.src, &t)) {
                    std::string_view base = win_base(t);
                    size_t dot = base.rfind('.');
                    if (dot != std::string_view::npos && dot + 1 < base.size()) put_str(op.dst, std::string(base.substr(dot + 1)));
                }
                break;
            case OpKind::Lookup: {
                if (!text(op.src, &t)) break;
                const Table &tb = p.tables[op.table];
                auto row = tb.rows.find(t);
                if (row == tb.rows.end()) break;
                for (const Assign &a : row->second) put(a.field, a.value);
                break;
            }
            case OpKind::Time: time(op); break;
            case OpKind::Hashes: hashes(op); break;
            case OpKind::User:
                if (text(op.src, &t) && !t.empty()) {
                    size_t bs = t.find('\\');
                    if (bs == std::string::npos) put_str(op.words[1], t);
                    else {
                        if (bs > 0) put_str(op.words[0], t.substr(0, bs));
                        if (bs + 1 < t.size()) put_str(op.words[1], t.substr(bs + 1));
                    }
                }
                break;
            case OpKind::Args: {
                if (!text(op.src, &t) || t.empty()) break;
                eqio::command_line_to_argv(t, &s->args);
                Val v;
                v.array = true;
                for (std::string &a : s->args) v.items.push_back({Kind::Str, std::move(a)});
                Val n;
                n.items.push_back({Kind::Num, std::to_string(v.items.size())});
                put(op.dst, std::move(v));
                put(op.dst + "_count", std::move(n));
                break;
            }
            case OpKind::Head:
            case OpKind::Tail:
                if (text(op.src, &t)) {
                    size_t cut = t.find(op.words[0]);
                    if (cut == std::string::npos) {
                        if (op.kind == OpKind::Head) put_str(op.dst, t);
                    } else if (op.kind == OpKind::Head) {
                        put_str(op.dst, t.substr(0, cut));
                    } else if (cut + op.words[0].size() < t.size()) {
                        put_str(op.dst, t.substr(cut + op.words[0].size()));
                    }
                }
                break;
            case OpKind::Replace:
                if (text(op.src, &t)) {
                    std::string r;
                    for (size_t at = 0;;) {
                        size_t hit = t.find(op.words[0], at);
                        r.append(t, at, hit == std::string::npos ? std::string::npos : hit - at);
                        if (hit == std::string::npos) break;
                        r += op.words[1];
                        at = hit + op.words[0].size();
                    }
                    put_str(op.dst, std::move(r));
                }
                break;
            case OpKind::Words: {
                // blank-separated words, as Elastic's M365 and SentinelOne pipelines split command lines
                if (!text(op.src, &t)) break;
                Val v;
                v.array = true;
                for (size_t at = 0; at < t.size();) {
                    size_t sp = t.find(' ', at);
                    if (sp == std::string::npos) sp = t.size();
                    if (sp > at) v.items.push_back({Kind::Str, t.substr(at, sp - at)});
                    at = sp + 1;
                }
                if (v.items.empty()) break;
                Val n;
                n.items.push_back({Kind::Num, std::to_string(v.items.size())});
                put(op.dst, std::move(v));
                put(op.dst + "_count", std::move(n));
                break;
            }
            case OpKind::Json: parse_json(op.src.path); break;
            case OpKind::Append: append(op); break;
            case OpKind::Delete: remove_prefix(op.dst); break;
            case OpKind::Clean: {
                std::string prefix = op.dst + ".";
                for (size_t i = 0; i < s->doc.size(); i++) {
                    auto &e = s->doc[i];
                    if (e.first.compare(0, prefix.size(), prefix) != 0 || e.second.array || e.second.items.size() != 1) continue;
                    if (std::find(op.words.begin(), op.words.end(), e.second.items[0].text) != op.words.end())
                        remove(std::string(e.first));
                }
                break;
            }
            case OpKind::When: {
                bool any = false;
                for (const auto &alt : op.when) if ((any = holds_all(alt))) break;
                run(any ? op.then : op.otherwise);
                break;
            }
            }
        }
    }
};

// ---- writing the document ------------------------------------------------------

void json_string(std::string *out, std::string_view s) {
    out->push_back('"');
    for (char ch : s) {
        unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                *out += buf;
            } else {
                out->push_back(ch);
            }
        }
    }
    out->push_back('"');
}

void write_scalar(std::string *out, const Scalar &x) {
    if (x.kind == Kind::Str) json_string(out, x.text);
    else *out += x.text;
}

// Path order that keeps each object's fields together: '.' sorts first.
bool path_less(const std::string &a, const std::string &b) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i]) continue;
        if (a[i] == '.') return true;
        if (b[i] == '.') return false;
        return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
    }
    return a.size() < b.size();
}

void write_doc(ConvertScratch *s, std::string *out) {
    s->order.clear();
    for (size_t i = 0; i < s->doc.size(); i++)
        if (!s->doc[i].second.items.empty()) s->order.push_back(i);
    std::sort(s->order.begin(), s->order.end(),
              [&](size_t a, size_t b) { return path_less(s->doc[a].first, s->doc[b].first); });
    out->clear();
    out->push_back('{');
    std::vector<std::string_view> open; // segments of the objects now open
    std::string_view leaf_seen;         // a leaf whose children must be dropped
    bool first = true;
    for (size_t i : s->order) {
        const std::string &path = s->doc[i].first;
        if (!leaf_seen.empty() && path.size() > leaf_seen.size() && path.compare(0, leaf_seen.size(), leaf_seen) == 0 &&
            path[leaf_seen.size()] == '.')
            continue;
        std::vector<std::string_view> segs;
        for (size_t a = 0; a <= path.size();) {
            size_t dot = path.find('.', a);
            if (dot == std::string::npos) dot = path.size();
            segs.emplace_back(path.data() + a, dot - a);
            a = dot + 1;
        }
        size_t common = 0;
        while (common < open.size() && common + 1 < segs.size() && open[common] == segs[common]) common++;
        while (open.size() > common) {
            out->push_back('}');
            open.pop_back();
        }
        for (size_t k = common; k + 1 < segs.size(); k++) {
            if (!first) out->push_back(',');
            json_string(out, segs[k]);
            *out += ":{";
            open.push_back(segs[k]);
            first = true;
        }
        if (!first) out->push_back(',');
        first = false;
        json_string(out, segs.back());
        out->push_back(':');
        const Val &v = s->doc[i].second;
        if (v.array) {
            out->push_back('[');
            for (size_t k = 0; k < v.items.size(); k++) {
                if (k) out->push_back(',');
                write_scalar(out, v.items[k]);
            }
            out->push_back(']');
        } else {
            write_scalar(out, v.items[0]);
        }
        leaf_seen = path;
    }
    while (!open.empty()) {
        out->push_back('}');
        open.pop_back();
    }
    out->push_back('}');
}

} // namespace

namespace eqio {

int profiles_detect(const eq_profiles *p, object root) {
    for (size_t i = 0; i < p->list.size(); i++) {
        const Profile &pr = p->list[i];
        if (pr.detect.empty()) continue; // forced only
        bool all = true;
        for (const auto &line : pr.detect) {
            bool one = false;
            for (const Cond &c : line) {
                element e;
                bool present = dom_find(root, c.ref.path, &e) && e.type() != element_type::NULL_VALUE;
                switch (c.op) {
                case CondOp::Exists: one = present; break;
                case CondOp::Missing: one = !present; break;
                default:
                    if (present && e.type() == element_type::STRING) {
                        std::string_view t(e);
                        if (c.op == CondOp::Eq || c.op == CondOp::In)
                            one = std::find(c.values.begin(), c.values.end(), t) != c.values.end();
                        else if (c.op == CondOp::Ne) one = t != c.values[0];
                        else if (c.op == CondOp::Prefix) one = t.substr(0, c.values[0].size()) == c.values[0];
                        else if (c.op == CondOp::Contains) one = t.find(c.values[0]) != std::string_view::npos;
                    }
                    break;
                }
                if (one) break;
            }
            if (!one) { all = false; break; }
        }
        if (all) return static_cast<int>(i);
    }
    return -1;
}

void profiles_note(const eq_profiles *p, int index) {
    size_t slot = index < 0 ? p->list.size() : static_cast<size_t>(index);
    if (slot < p->ncounts) p->counts[slot].fetch_add(1, std::memory_order_relaxed);
}

bool profile_passthrough(const eq_profiles *p, int index) {
    return index >= 0 && static_cast<size_t>(index) < p->list.size() && p->list[index].passthrough;
}

bool profile_convert(const eq_profiles *p, int index, object root, ConvertScratch *s, std::string *out,
                     std::string *reason) {
    if (index < 0 || static_cast<size_t>(index) >= p->list.size()) {
        *reason = "no such source profile";
        return false;
    }
    build_input(s, root);
    s->nparsers = 0;
    s->doc.clear();
    s->where.clear();
    Run run{p->list[index], s};
    run.run(p->list[index].ops);
    write_doc(s, out);
    return true;
}

// CommandLineToArgvW as Windows (and Wine, which copies it) implements it:
// the program name ends at the first blank outside quotes and takes no
// escapes; after it, 2n backslashes before a quote give n and the quote
// toggles quoting, 2n+1 give n and a literal quote, and inside quotes a
// doubled quote is a literal one.
void command_line_to_argv(std::string_view cmd, std::vector<std::string> *args) {
    args->clear();
    size_t i = 0, n = cmd.size();
    std::string cur;
    // program name
    if (i < n && cmd[i] == '"') {
        for (i++; i < n && cmd[i] != '"'; i++) cur += cmd[i];
        if (i < n) i++;
    } else {
        for (; i < n && cmd[i] != ' ' && cmd[i] != '\t'; i++) cur += cmd[i];
    }
    args->push_back(cur);
    cur.clear();
    while (i < n && (cmd[i] == ' ' || cmd[i] == '\t')) i++;
    if (i >= n) return;
    int qcount = 0;
    size_t bcount = 0;
    bool in_arg = true;
    while (i < n) {
        char c = cmd[i];
        if ((c == ' ' || c == '\t') && qcount == 0) {
            args->push_back(cur);
            cur.clear();
            bcount = 0;
            while (i < n && (cmd[i] == ' ' || cmd[i] == '\t')) i++;
            in_arg = i < n;
            continue;
        }
        if (c == '\\') {
            cur += c;
            bcount++;
            i++;
        } else if (c == '"') {
            if ((bcount & 1) == 0) {
                cur.resize(cur.size() - bcount / 2);
                qcount++;
            } else {
                cur.resize(cur.size() - bcount / 2 - 1);
                cur += '"';
            }
            i++;
            bcount = 0;
            while (i < n && cmd[i] == '"') {
                if (++qcount == 3) {
                    cur += '"';
                    qcount = 0;
                }
                i++;
            }
            if (qcount == 2) qcount = 0;
        } else {
            cur += c;
            bcount = 0;
            i++;
        }
    }
    if (in_arg) args->push_back(cur);
}

} // namespace eqio
