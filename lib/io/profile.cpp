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
#include <charconv>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "io/ndjson.h" // date formats
extern "C" {
#include "value.h" // eq_ip_parse (ip.c)
}
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
    uint32_t id = 0;  // the profile's number for the path: an input path, or an output field
};

struct Cond {
    Ref ref;
    CondOp op = CondOp::Exists;
    std::vector<std::string> values;
};

struct Assign {
    std::string field;
    Val value;
    uint32_t id = 0; // output field
};

struct Table {
    std::string name;
    std::unordered_map<std::string, std::vector<Assign>> rows;
};

enum class OpKind {
    Copy, Rename, Set, Int, Str, Lower, Basename, Dirname, Extension, Lookup, Time, Hashes, User, Args,
    Append, Delete, Clean, Head, Tail, Words, Replace, Json, RegData, DnsResults, When
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
    // compiled: output fields written (dst, its _count for args/words, user's two)
    uint32_t dst_id = 0, count_id = 0;
    std::vector<uint32_t> word_ids;
    std::string format; // time: the words joined
};

constexpr uint32_t kNone = UINT32_MAX;

// A trie over the input paths a profile reads, split at dots (a key may hold
// several segments). `collect` marks a path copied as a whole (`copy winlog`):
// every leaf under it is kept with its dotted path.
struct InEdge {
    uint64_t head;     // the segment's first (up to) 8 bytes
    uint32_t len, child;
    uint32_t tail;     // offset of the segment's bytes after 8 in WalkTrie::bytes
};

// The trie packed for the walk: nodes, edges and hash tables in flat arrays
// (the walk meets every key of every record).
struct WalkNode {
    uint32_t first = 0, count = 0;      // edges [first, first + count)
    uint32_t table = 0, table_size = 0; // many edges: slots in WalkTrie::table (edge + 1; 0 empty)
    int32_t id = -1;
    bool collect = false;
};

struct WalkTrie {
    std::vector<WalkNode> nodes;
    std::vector<InEdge> edges;
    std::vector<uint32_t> table;
    std::string bytes;
};

uint64_t head_mask(size_t len) { return len >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1; }

// By the segment's first 8 bytes only: a key's segment length is not known
// before its edge is found when it is 8 or more.
size_t edge_hash(uint64_t head, size_t size) {
    return static_cast<size_t>((head * 0x9E3779B97F4A7C15ull) >> 40) & (size - 1);
}

struct InNode {
    std::vector<std::pair<std::string, uint32_t>> kids;
    int32_t id = -1;           // the input path's number, or -1 (only a prefix)
    bool collect = false;
    bool under_collect = false; // this node or one above collects
    std::string path;
};

struct Profile {
    std::string name;
    std::vector<std::vector<Cond>> detect; // every line must hold; a line holds when one of its conds does
    bool passthrough = false;
    std::vector<Table> tables;
    std::vector<Op> ops;
    // compiled once (compile_profile): the input paths read, the output fields written
    std::vector<InNode> in_nodes;   // [0]: the record's root
    std::vector<uint32_t> in_node_of; // input id -> its node
    WalkTrie walk;
    std::vector<std::string> out_paths;
    std::unordered_map<std::string, uint32_t> out_ids;
    std::vector<std::vector<uint32_t>> out_ancestors; // output fields whose path is a dotted prefix of this one
    std::unordered_set<std::string> out_prefixes;     // the dotted prefixes of the output fields
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
            {"regdata", OpKind::RegData, 3, 3}, {"dnsresults", OpKind::DnsResults, 4, 4},
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
            case OpKind::RegData: // regdata SRC PREFIX: PREFIX.strings, PREFIX.type
                op.src = read_ref(t[1].text);
                op.words = {t[2].text + ".strings", t[2].text + ".type"};
                break;
            case OpKind::DnsResults: op.src = read_ref(t[1].text); op.words = {t[2].text, t[3].text}; break;
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

// ---- compiling a profile ------------------------------------------------------------
// Every path a profile names gets a number once, so that running it on a
// record indexes arrays instead of hashing strings.

uint32_t in_kid(const Profile &p, uint32_t node, std::string_view seg) {
    for (const auto &k : p.in_nodes[node].kids)
        if (k.first == seg) return k.second;
    return kNone;
}

uint32_t in_node(Profile &p, std::string_view path) {
    uint32_t node = 0;
    for (size_t at = 0;;) {
        size_t dot = path.find('.', at);
        std::string_view seg = path.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
        uint32_t kid = in_kid(p, node, seg);
        if (kid == kNone) {
            kid = static_cast<uint32_t>(p.in_nodes.size());
            p.in_nodes.emplace_back();
            p.in_nodes.back().path.assign(path.substr(0, dot == std::string_view::npos ? path.size() : dot));
            p.in_nodes[node].kids.emplace_back(std::string(seg), kid);
        }
        node = kid;
        if (dot == std::string_view::npos) return node;
        at = dot + 1;
    }
}

uint32_t in_id(Profile &p, std::string_view path) {
    InNode &n = p.in_nodes[in_node(p, path)];
    if (n.id < 0) {
        n.id = static_cast<int32_t>(p.in_node_of.size());
        p.in_node_of.push_back(static_cast<uint32_t>(&n - p.in_nodes.data()));
    }
    return static_cast<uint32_t>(n.id);
}

uint32_t out_id(Profile &p, const std::string &path) {
    auto ins = p.out_ids.emplace(path, static_cast<uint32_t>(p.out_paths.size()));
    if (ins.second) p.out_paths.push_back(path);
    return ins.first->second;
}

void compile_ref(Profile &p, Ref &r) { r.id = r.out ? out_id(p, r.path) : in_id(p, r.path); }

void compile_ops(Profile &p, std::vector<Op> &ops) {
    for (Op &op : ops) {
        for (auto &alt : op.when)
            for (Cond &c : alt) compile_ref(p, c.ref);
        if (!op.src.path.empty()) compile_ref(p, op.src);
        switch (op.kind) {
        case OpKind::User:
        case OpKind::RegData:
        case OpKind::DnsResults:
            op.word_ids = {out_id(p, op.words[0]), out_id(p, op.words[1])};
            break;
        case OpKind::Args:
        case OpKind::Words:
            op.dst_id = out_id(p, op.dst);
            op.count_id = out_id(p, op.dst + "_count");
            break;
        case OpKind::Time:
            for (const std::string &w : op.words) op.format += (op.format.empty() ? "" : " ") + w;
            op.dst_id = out_id(p, op.dst);
            break;
        case OpKind::Copy:
            if (!op.src.out) p.in_nodes[p.in_node_of[op.src.id]].collect = true;
            op.dst_id = out_id(p, op.dst);
            break;
        case OpKind::Lookup:
        case OpKind::Hashes:
        case OpKind::Json:
        case OpKind::Delete:
        case OpKind::Clean:
        case OpKind::When:
            break; // fields named by the table, made at run time, or prefixes
        default:
            op.dst_id = out_id(p, op.dst);
            break;
        }
        compile_ops(p, op.then);
        compile_ops(p, op.otherwise);
    }
}

void mark_under_collect(Profile &p, uint32_t node, bool above) {
    InNode &n = p.in_nodes[node];
    n.under_collect = above || n.collect;
    for (const auto &k : n.kids) mark_under_collect(p, k.second, p.in_nodes[node].under_collect);
}

void compile_profile(Profile &p) {
    p.in_nodes.assign(1, InNode{});
    for (Table &t : p.tables)
        for (auto &row : t.rows)
            for (Assign &a : row.second) a.id = out_id(p, a.field);
    compile_ops(p, p.ops);
    mark_under_collect(p, 0, false);
    WalkTrie &w = p.walk;
    for (const InNode &n : p.in_nodes) {
        WalkNode wn;
        wn.first = static_cast<uint32_t>(w.edges.size());
        wn.count = static_cast<uint32_t>(n.kids.size());
        wn.id = n.id;
        wn.collect = n.collect;
        for (const auto &kid : n.kids) {
            InEdge e{};
            size_t len = kid.first.size();
            std::memcpy(&e.head, kid.first.data(), len < 8 ? len : 8);
            e.len = static_cast<uint32_t>(len);
            e.child = kid.second;
            e.tail = static_cast<uint32_t>(w.bytes.size());
            if (len > 8) w.bytes.append(kid.first, 8, std::string::npos);
            w.edges.push_back(e);
        }
        if (wn.count > 4) {
            wn.table = static_cast<uint32_t>(w.table.size());
            wn.table_size = 8;
            while (wn.table_size < wn.count * 2) wn.table_size *= 2;
            w.table.resize(w.table.size() + wn.table_size, 0);
            for (uint32_t e = wn.first; e < wn.first + wn.count; e++) {
                size_t h = edge_hash(w.edges[e].head, wn.table_size);
                while (w.table[wn.table + h]) h = (h + 1) & (wn.table_size - 1);
                w.table[wn.table + h] = e + 1;
            }
        }
        w.nodes.push_back(wn);
    }
    p.out_ancestors.assign(p.out_paths.size(), {});
    for (size_t i = 0; i < p.out_paths.size(); i++) {
        const std::string &path = p.out_paths[i];
        for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
            p.out_prefixes.insert(path.substr(0, dot));
            auto it = p.out_ids.find(path.substr(0, dot));
            if (it != p.out_ids.end()) p.out_ancestors[i].push_back(it->second);
        }
    }
}

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
        for (Profile &np : parsed) compile_profile(np);
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
    const Profile *profile = nullptr; // what the last conversion ran
    uint64_t gen = 0;                 // the record: stamps older than this are stale
    // input: an element per input path of the profile (set when in_stamp == gen)
    std::vector<element> in_val;
    std::vector<uint64_t> in_stamp;
    // paths met inside a list of objects ([{"UserName":"a"},{"UserName":"b"}])
    // hold every value: the first in in_val, the others here
    std::vector<uint64_t> in_list_stamp;
    std::vector<std::pair<uint32_t, element>> in_more;
    // leaves under collected paths, with their dotted paths
    std::vector<std::pair<std::string, element>> collected;
    size_t ncollected = 0;
    std::string path; // the dotted path while collecting
    // output document: a value per output field (the profile's, then this
    // record's own, made at run time); present when stamped and not empty
    std::vector<Val> vals;
    std::vector<uint64_t> out_stamp;
    std::vector<uint32_t> touched; // fields written, in order
    const Profile *dyn_profile = nullptr; // whose fields dyn_paths names
    std::vector<std::string> dyn_paths;
    std::unordered_map<std::string, uint32_t> dyn_ids;
    std::vector<bool> dyn_above_static; // the field is a dotted prefix of one of the profile's own
    bool any_dyn_above = false;          // ... and one such was written for this record
    Val tmp, held; // an input value read; a value kept across a write
    std::string text;
    std::vector<size_t> order;
    std::vector<std::string> args;
    std::vector<eqlite_value> items; // one field's values handed to emit
    // `json` ops: text fields parsed as JSON, read like the record itself
    std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
    size_t nparsers = 0;
};

ConvertScratch *scratch_new() { return new ConvertScratch(); }
void scratch_free(ConvertScratch *s) { delete s; }

} // namespace eqio

namespace {

using eqio::ConvertScratch;

// ---- reading the record: one walk, keeping only the paths the profile reads

void collect_leaf(ConvertScratch *s, std::string_view path, element e) {
    if (s->ncollected == s->collected.size()) s->collected.emplace_back();
    s->collected[s->ncollected].first.assign(path.data(), path.size());
    s->collected[s->ncollected].second = e;
    s->ncollected++;
}

void walk_input(const Profile &p, ConvertScratch *s, object obj, uint32_t node, bool collecting, bool in_list = false);

// The kid of `node` whose segment starts the key at *at (ending at the key's
// end or a dot); *at moves past it. The key is not split first: most kids
// are turned away by their first byte.
// Keys live in simdjson's string buffer, readable SIMDJSON_PADDING bytes past
// their end, so a segment's first bytes are one 8-byte load.
uint32_t in_step(const Profile &p, uint32_t node, const char **at, const char *end) {
    const char *k = *at;
    size_t rest = static_cast<size_t>(end - k);
    uint64_t word;
    std::memcpy(&word, k, 8);
    // A dot among the first 8 bytes (the lowest zero byte of word ^ "........")
    // gives the segment's length; else it is 8 or more, found edge by edge.
    uint64_t x = word ^ 0x2E2E2E2E2E2E2E2Eull;
    uint64_t dots = (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
    size_t len = dots ? static_cast<size_t>(__builtin_ctzll(dots)) / 8 : 8;
    bool known = len < 8 || rest <= 8;
    if (len > rest) len = rest;
    word &= head_mask(len);
    const WalkTrie &w = p.walk;
    const WalkNode &n = w.nodes[node];
    auto same = [&](uint32_t e) {
        const InEdge &edge = w.edges[e];
        if (edge.head != word) return false;
        if (known) return edge.len == len;
        size_t elen = edge.len;
        return elen >= 8 && elen <= rest && (elen == rest || k[elen] == '.') &&
               std::memcmp(w.bytes.data() + edge.tail, k + 8, elen - 8) == 0;
    };
    uint32_t hit = kNone;
    if (n.table_size == 0) {
        for (uint32_t e = n.first; e < n.first + n.count && hit == kNone; e++)
            if (same(e)) hit = e;
    } else {
        for (size_t h = edge_hash(word, n.table_size);; h = (h + 1) & (n.table_size - 1)) {
            uint32_t e = w.table[n.table + h];
            if (e == 0) break;
            if (same(e - 1)) {
                hit = e - 1;
                break;
            }
        }
    }
    if (hit == kNone) return kNone;
    *at = k + w.edges[hit].len;
    return w.edges[hit].child;
}

// The objects of a list at a trie node with paths under it: each is read
// like an object there, its values adding up ({"a":[{"b":1},{"b":2}]} gives a.b
// the values 1 and 2, as Elasticsearch indexes it).
void walk_list(const Profile &p, ConvertScratch *s, simdjson::dom::array list, uint32_t node) {
    for (element x : list) {
        if (x.type() == element_type::OBJECT) walk_input(p, s, object(x), node, false, true);
        else if (x.type() == element_type::ARRAY) walk_list(p, s, simdjson::dom::array(x), node);
    }
}

// A value at trie node `node` (kNone: off the trie, met only while collecting).
void visit_input(const Profile &p, ConvertScratch *s, element v, uint32_t node, bool collecting, bool in_list) {
    if (v.type() == element_type::OBJECT) {
        if (node != kNone || collecting) walk_input(p, s, object(v), node, collecting, in_list);
        return;
    }
    if (node != kNone && v.type() == element_type::ARRAY && p.walk.nodes[node].count)
        walk_list(p, s, simdjson::dom::array(v), node);
    if (node != kNone && p.walk.nodes[node].id >= 0) {
        size_t id = static_cast<size_t>(p.walk.nodes[node].id);
        if (in_list && s->in_list_stamp[id] == s->gen) {
            s->in_more.emplace_back(static_cast<uint32_t>(id), v);
        } else {
            s->in_val[id] = v; // out of lists, the last duplicate wins
            s->in_stamp[id] = s->gen;
            s->in_list_stamp[id] = in_list ? s->gen : 0;
        }
    }
    if (collecting) collect_leaf(s, s->path, v);
}

// The fields of an object at trie node `node`. Keys may hold several dotted
// segments; a key off the trie is skipped unless a collected path covers it.
// While collecting, s->path is the object's dotted path.
void walk_input(const Profile &p, ConvertScratch *s, object obj, uint32_t node, bool collecting, bool in_list) {
    for (auto field : obj) {
        std::string_view key(field.key.data(), field.key.size());
        uint32_t cur = node;
        bool passed = false; // went through a collected path with segments left
        for (const char *at = key.data(), *end = at + key.size(); cur != kNone;) {
            cur = in_step(p, cur, &at, end);
            if (cur == kNone || at == end) break;
            passed |= p.walk.nodes[cur].collect;
            at++; // the dot
        }
        bool coll = collecting || passed ||
                    (cur != kNone && p.walk.nodes[cur].collect && field.value.type() == element_type::OBJECT);
        if (!coll) {
            if (cur != kNone) visit_input(p, s, field.value, cur, false, in_list);
            continue;
        }
        size_t keep = s->path.size();
        if (!collecting) s->path = p.in_nodes[node].path;
        if (!s->path.empty()) s->path += '.';
        s->path.append(key);
        visit_input(p, s, field.value, cur, true, in_list);
        if (collecting) s->path.resize(keep);
        else s->path.clear();
    }
}

template <typename T> void fit(std::vector<T> &v, size_t n) {
    if (v.size() < n) v.resize(n);
}

void start_record(const Profile &p, ConvertScratch *s, object root) {
    s->profile = &p;
    s->gen++;
    fit(s->in_val, p.in_node_of.size());
    fit(s->in_stamp, p.in_node_of.size());
    fit(s->in_list_stamp, p.in_node_of.size());
    s->in_more.clear();
    fit(s->vals, p.out_paths.size());
    fit(s->out_stamp, p.out_paths.size());
    s->touched.clear();
    // Fields named at run time keep their numbers from record to record of a
    // profile (they mostly repeat), up to a bound.
    if (s->dyn_profile != &p || s->dyn_paths.size() > 4096) {
        s->dyn_profile = &p;
        s->dyn_paths.clear();
        s->dyn_ids.clear();
        s->dyn_above_static.clear();
    }
    s->any_dyn_above = false;
    s->ncollected = 0;
    s->nparsers = 0;
    s->path.clear();
    walk_input(p, s, root, 0, false);
}

// Looks a dotted path up in a DOM object without flattening it (detection):
// each key is either the whole remaining path or one of its dotted prefixes.
bool dom_find(object obj, std::string_view path, element *out) {
    for (auto field : obj) {
        std::string_view k(field.key.data(), field.key.size());
        if (k.empty() || path.empty() || k[0] != path[0]) continue; // turns most keys away
        if (k == path) { *out = field.value; return true; }
        if (path.size() > k.size() && path[k.size()] == '.' && path.substr(0, k.size()) == k &&
            field.value.type() == element_type::OBJECT && dom_find(object(field.value), path.substr(k.size() + 1), out))
            return true;
    }
    return false;
}

void scalar_into(element e, Scalar *x) {
    char num[32];
    switch (e.type()) {
    case element_type::STRING: {
        std::string_view t(e);
        x->kind = Kind::Str;
        x->text.assign(t.data(), t.size());
        return;
    }
    case element_type::INT64:
        x->kind = Kind::Num;
        x->text.assign(num, std::to_chars(num, num + sizeof num, int64_t(e)).ptr);
        return;
    case element_type::UINT64:
        x->kind = Kind::Num;
        x->text.assign(num, std::to_chars(num, num + sizeof num, uint64_t(e)).ptr);
        return;
    case element_type::DOUBLE: x->kind = Kind::Num; x->text = simdjson::minify(e); return;
    case element_type::BOOL: x->kind = Kind::Bool; x->text = bool(e) ? "true" : "false"; return;
    case element_type::NULL_VALUE: x->kind = Kind::Null; x->text = "null"; return;
    default: x->kind = Kind::Raw; x->text = simdjson::minify(e); return;
    }
}

// An input value into *v (reusing its storage); array nulls are dropped.
void val_into(element e, Val *v) {
    v->array = e.type() == element_type::ARRAY;
    if (!v->array) {
        v->items.resize(1);
        scalar_into(e, &v->items[0]);
        return;
    }
    size_t n = 0;
    for (element x : simdjson::dom::array(e)) {
        if (x.type() == element_type::NULL_VALUE) continue;
        if (n == v->items.size()) v->items.emplace_back();
        scalar_into(x, &v->items[n++]);
    }
    v->items.resize(n);
}

// Null and "" are absent, as Elastic's pipelines treat them (`!= null && != ""`).
bool val_present(const Val &v) {
    if (v.items.empty()) return false;
    if (v.array) return true;
    const Scalar &x = v.items[0];
    return x.kind != Kind::Null && !(x.kind == Kind::Str && x.text.empty());
}

bool has_prefix(const std::string &path, const std::string &prefix) {
    return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '.';
}

const std::string &path_of(const Profile &p, const ConvertScratch *s, uint32_t id) {
    return id < p.out_paths.size() ? p.out_paths[id] : s->dyn_paths[id - p.out_paths.size()];
}

bool out_present(const ConvertScratch *s, uint32_t id) {
    return s->out_stamp[id] == s->gen && !s->vals[id].items.empty();
}

struct Run {
    const Profile &p;
    ConvertScratch *s;

    // ---- reading ----
    const Val *out_get(uint32_t id) { return out_present(s, id) ? &s->vals[id] : nullptr; }

    bool in_get(uint32_t id, element *e) {
        if (s->in_stamp[id] != s->gen) return false;
        *e = s->in_val[id];
        return true;
    }

    // The value of a reference, or NULL when absent (null counts as absent).
    // An input value lives in s->tmp until the next read.
    const Val *get(const Ref &r) {
        if (r.out) {
            const Val *o = out_get(r.id);
            return o && val_present(*o) ? o : nullptr;
        }
        element e;
        if (!in_get(r.id, &e)) return nullptr;
        if (s->in_list_stamp[r.id] == s->gen) return list_get(r.id, e);
        if (e.type() == element_type::NULL_VALUE) return nullptr;
        val_into(e, &s->tmp);
        return val_present(s->tmp) ? &s->tmp : nullptr;
    }

    // A path met inside a list of objects: all its values, as a list.
    const Val *list_get(uint32_t id, element first) {
        s->tmp.array = true;
        s->tmp.items.clear();
        auto add = [&](element e) {
            val_into(e, &s->held);
            for (Scalar &x : s->held.items)
                if (x.kind != Kind::Null) s->tmp.items.push_back(x);
        };
        add(first);
        for (const auto &more : s->in_more)
            if (more.first == id) add(more.second);
        return s->tmp.items.empty() ? nullptr : &s->tmp;
    }

    // A single text value (strings as they are, numbers as written), or NULL.
    const std::string *text(const Ref &r) {
        const Val *v = get(r);
        if (!v || v->items.empty() || v->items[0].kind == Kind::Raw) return nullptr;
        return &v->items[0].text;
    }

    // ---- writing ----
    Val &slot(uint32_t id) {
        if (s->out_stamp[id] != s->gen) {
            s->out_stamp[id] = s->gen;
            s->touched.push_back(id);
            s->vals[id].items.clear();
        }
        return s->vals[id];
    }

    void put(uint32_t id, const Val &v) {
        Val &to = slot(id);
        if (&to != &v) to = v;
    }

    void put_str(uint32_t id, std::string_view text) {
        Val &v = slot(id);
        v.array = false;
        v.items.resize(1);
        v.items[0].kind = Kind::Str;
        v.items[0].text.assign(text.data(), text.size());
    }

    void put_count(uint32_t id, size_t n) {
        Val &v = slot(id);
        v.array = false;
        v.items.resize(1);
        v.items[0].kind = Kind::Num;
        v.items[0].text = std::to_string(n);
    }

    // A field named at run time (under a copied object, a hash name).
    uint32_t id_of(const std::string &path) {
        auto it = p.out_ids.find(path);
        if (it != p.out_ids.end()) return it->second;
        auto ins = s->dyn_ids.emplace(path, static_cast<uint32_t>(p.out_paths.size() + s->dyn_paths.size()));
        if (ins.second) {
            s->dyn_paths.push_back(path);
            s->dyn_above_static.push_back(p.out_prefixes.count(path) != 0);
            fit(s->vals, p.out_paths.size() + s->dyn_paths.size());
            fit(s->out_stamp, p.out_paths.size() + s->dyn_paths.size());
        }
        s->any_dyn_above |= s->dyn_above_static[ins.first->second - p.out_paths.size()];
        return ins.first->second;
    }

    void put_path(const std::string &path, const Val &v) { put(id_of(path), v); } // v must not be in s->vals

    void remove(uint32_t id) {
        if (s->out_stamp[id] == s->gen) s->vals[id].items.clear(); // an empty value is not written
    }

    void remove_prefix(const std::string &prefix) {
        for (uint32_t id : s->touched)
            if (path_of(p, s, id) == prefix || has_prefix(path_of(p, s, id), prefix)) remove(id);
    }

    // ---- conditions ----
    bool holds(const Cond &c) {
        const Val *v = get(c.ref);
        switch (c.op) {
        case CondOp::Exists: return v != nullptr;
        case CondOp::Missing: return v == nullptr;
        default: break;
        }
        if (!v) return c.op == CondOp::Ne || c.op == CondOp::NotContains;
        auto any = [&](auto pred) {
            for (const Scalar &x : v->items) if (x.kind != Kind::Raw && pred(x.text)) return true;
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
        if (const Val *v = get(op.src)) {
            put(op.dst_id, *v);
            return;
        }
        if (!op.src.out) {
            element e;
            if (in_get(op.src.id, &e)) return; // a leaf, null
            // an object: every leaf under it
            for (size_t i = 0; i < s->ncollected; i++) {
                const std::string &path = s->collected[i].first;
                if (!has_prefix(path, op.src.path)) continue;
                val_into(s->collected[i].second, &s->tmp);
                if (val_present(s->tmp)) put_path(op.dst + path.substr(op.src.path.size()), s->tmp);
            }
            return;
        }
        for (size_t k = 0, n = s->touched.size(); k < n; k++) {
            uint32_t id = s->touched[k];
            if (!has_prefix(path_of(p, s, id), op.src.path) || !out_present(s, id)) continue;
            std::string to = op.dst + path_of(p, s, id).substr(op.src.path.size());
            s->held = s->vals[id]; // s->vals may grow under the write
            put_path(to, s->held);
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
        const std::string *t = text(op.src);
        if (!t) return;
        int64_t ms;
        if (op.format == "iso") {
            int64_t ns;
            if (eq_ndjson_parse_timestamp(t->data(), t->size(), &ns) != 0) return;
            ms = ns / 1000000 - (ns % 1000000 < 0);
        } else if (eq_ndjson_parse_date_format(t->data(), t->size(), op.format.c_str(), &ms) != 0) {
            return; // Elastic's date processors ignore failures here too
        }
        put_str(op.dst_id, iso_ms(ms));
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
        if (y < 0 || y > 9999) { // rare: printf's widths
            char buf[96];
            std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
                          (long long)m, (long long)d, (long long)(rem / 3600000), (long long)(rem / 60000 % 60),
                          (long long)(rem / 1000 % 60), (long long)(rem % 1000));
            return buf;
        }
        char out[] = "0000-00-00T00:00:00.000Z";
        auto digits = [&](size_t at, int64_t v, int width) {
            for (int i = width - 1; i >= 0; i--, v /= 10) out[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
        };
        digits(0, y, 4), digits(5, m, 2), digits(8, d, 2), digits(11, rem / 3600000, 2);
        digits(14, rem / 60000 % 60, 2), digits(17, rem / 1000 % 60, 2), digits(20, rem % 1000, 3);
        return std::string(out, sizeof out - 1);
    }

    void hashes(const Op &op) {
        const std::string *src = text(op.src);
        if (!src) return;
        std::string t = *src;
        size_t at = 0;
        while (at < t.size()) {
            size_t comma = t.find(',', at);
            if (comma == std::string::npos) comma = t.size();
            std::string_view item(t.data() + at, comma - at);
            size_t eq = item.find('=');
            if (eq != std::string_view::npos && eq + 1 < item.size())
                put_str(id_of(op.dst + "." + lower(std::string(item.substr(0, eq)))), lower(std::string(item.substr(eq + 1))));
            at = comma + 1;
        }
    }

    // A field holding JSON text as a string: its object's fields become
    // readable under the field's path, as if the record had held the object.
    void parse_json(const Ref &src) {
        element e;
        if (!in_get(src.id, &e) || e.type() != element_type::STRING) return;
        if (s->nparsers == s->parsers.size()) s->parsers.push_back(std::make_unique<simdjson::dom::parser>());
        simdjson::dom::parser &parser = *s->parsers[s->nparsers++];
        std::string_view text(e);
        element doc;
        if (parser.parse(text.data(), text.size(), true).get(doc)) return; // not JSON: left as text
        uint32_t node = p.in_node_of[src.id];
        if (doc.type() == element_type::ARRAY) { // a list of objects
            walk_list(p, s, simdjson::dom::array(doc), node);
            return;
        }
        object obj;
        if (doc.get_object().get(obj)) return; // a scalar: left as text
        bool collecting = p.in_nodes[node].under_collect;
        s->path = collecting ? src.path : std::string();
        walk_input(p, s, obj, node, collecting);
        s->path.clear();
    }

    void append(const Op &op) {
        const Val *add = op.src.path.empty() ? &op.value : get(op.src);
        if (!add) return;
        if (add == &s->vals[op.dst_id]) add = &(s->held = *add);
        bool had = out_present(s, op.dst_id);
        Val &cur = slot(op.dst_id);
        if (!had) cur.items.clear();
        cur.array = true;
        for (const Scalar &x : add->items) {
            if (x.kind == Kind::Str && x.text.empty()) continue;
            bool seen = false;
            for (const Scalar &y : cur.items) seen = seen || (y.kind == x.kind && y.text == x.text);
            if (!seen) cur.items.push_back(x);
        }
    }

    // Sysmon's registry Details as Elastic's sysmon pipeline reads them:
    // "DWORD (0x0000000f)" is the number's decimal text, "QWORD (0xHHHHHHHH-0xLLLLLLLL)"
    // (high << 8) + low as that script computes it, "Binary Data" binary, and any
    // other text a string.
    void registry_data(const Op &op) {
        const std::string *t = text(op.src);
        if (!t) return;
        std::string_view d = *t;
        auto hex8 = [](std::string_view h, long long *v) { // "0x" and 8 hex digits
            if (h.size() != 10 || (h.substr(0, 2) != "0x" && h.substr(0, 2) != "0X")) return false;
            *v = 0;
            for (char c : h.substr(2)) {
                int x = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
                if (x < 0) return false;
                *v = *v * 16 + x;
            }
            return true;
        };
        auto caseless_prefix = [&](std::string_view word) {
            if (d.size() < word.size()) return false;
            for (size_t i = 0; i < word.size(); i++)
                if (std::toupper(static_cast<unsigned char>(d[i])) != word[i]) return false;
            return true;
        };
        std::string value(d), type = "REG_SZ";
        long long high, low;
        if (caseless_prefix("QWORD (") && d.size() == 29 && d[17] == '-' && d[28] == ')' &&
            hex8(d.substr(7, 10), &high) && hex8(d.substr(18, 10), &low)) {
            value = std::to_string((high << 8) + low);
            type = "SZ_QWORD";
        } else if (caseless_prefix("DWORD (") && d.size() == 18 && d[17] == ')' && hex8(d.substr(7, 10), &low)) {
            value = std::to_string(low);
            type = "SZ_DWORD";
        } else if (d == "Binary Data") {
            type = "REG_BINARY";
        }
        Val &v = slot(op.word_ids[0]);
        v.array = true;
        v.items.assign(1, Scalar{Kind::Str, value});
        put_str(op.word_ids[1], type);
    }

    // Sysmon's DNS QueryResults ("type:  5 name;::ffff:1.2.3.4;...") as
    // Elastic's sysmon pipeline splits it: the addresses (v4-mapped ones as
    // IPv4, what is not an address dropped) into IPS, the names of typed
    // records into HOSTS.
    void dns_results(const Op &op) {
        const std::string *t = text(op.src);
        if (!t) return;
        std::string_view all = *t;
        Val ips, hosts;
        ips.array = hosts.array = true;
        for (size_t at = 0; at <= all.size();) {
            size_t semi = all.find(';', at);
            if (semi == std::string_view::npos) semi = all.size();
            std::string_view answer = all.substr(at, semi - at);
            at = semi + 1;
            if (answer.empty()) continue;
            if (answer.substr(0, 5) == "type:") {
                std::vector<std::string_view> parts;
                for (size_t i = 0; i < answer.size();) {
                    while (i < answer.size() && std::isspace(static_cast<unsigned char>(answer[i]))) i++;
                    size_t start = i;
                    while (i < answer.size() && !std::isspace(static_cast<unsigned char>(answer[i]))) i++;
                    if (i > start) parts.push_back(answer.substr(start, i - start));
                }
                if (parts.size() == 3) hosts.items.push_back({Kind::Str, std::string(parts[2])});
                continue;
            }
            std::string_view ip = unmap_v4(answer);
            uint8_t bytes[16];
            if (eq_ip_parse(ip.data(), ip.size(), bytes)) ips.items.push_back({Kind::Str, std::string(ip)});
        }
        if (!ips.items.empty()) put(op.word_ids[0], ips);
        if (!hosts.items.empty()) put(op.word_ids[1], hosts);
    }

    // "[::ffff:1.2.3.4]:53" or "::ffff:1.2.3.4" -> "1.2.3.4" (the pipeline's gsub).
    static std::string_view unmap_v4(std::string_view a) {
        std::string_view r = a;
        if (!r.empty() && r[0] == '[') r.remove_prefix(1);
        if (r.substr(0, 7) != "::ffff:") return a;
        r.remove_prefix(7);
        size_t n = 0, dots = 0;
        while (n < r.size() && (std::isdigit(static_cast<unsigned char>(r[n])) || r[n] == '.')) dots += r[n++] == '.';
        if (dots != 3 || n == 0) return a;
        std::string_view rest = r.substr(n);
        if (!rest.empty()) {
            if (rest[0] != ']') return a;
            rest.remove_prefix(1);
            if (!rest.empty() && (rest[0] != ':' || rest.size() < 2 ||
                                  rest.substr(1).find_first_not_of("0123456789") != std::string_view::npos))
                return a;
        }
        return r.substr(0, n);
    }

    // Splits into DST and DST_count.
    void put_list(const Op &op, std::vector<std::string> &parts) {
        Val &v = slot(op.dst_id);
        v.array = true;
        v.items.resize(parts.size());
        for (size_t k = 0; k < parts.size(); k++) {
            v.items[k].kind = Kind::Str;
            v.items[k].text.swap(parts[k]);
        }
        put_count(op.count_id, parts.size());
    }

    void run(const std::vector<Op> &ops) {
        for (const Op &op : ops) {
            const std::string *t = nullptr;
            switch (op.kind) {
            case OpKind::Copy: copy(op); break;
            case OpKind::Rename:
                if (const Val *v = get(op.src)) {
                    s->held = *v;
                    if (op.src.out) remove(op.src.id);
                    put(op.dst_id, s->held);
                }
                break;
            case OpKind::Set: put(op.dst_id, op.value); break;
            case OpKind::Int: {
                if (!(t = text(op.src))) break;
                char *end = nullptr;
                errno = 0;
                long long n = std::strtoll(t->c_str(), &end, t->compare(0, 2, "0x") == 0 ? 16 : 10);
                if (t->empty() || *end || errno) break;
                put_str(op.dst_id, std::to_string(n));
                s->vals[op.dst_id].items[0].kind = Kind::Num;
                break;
            }
            case OpKind::Str:
            case OpKind::Lower: {
                const Val *v = get(op.src);
                if (!v) break;
                put(op.dst_id, *v);
                for (Scalar &x : s->vals[op.dst_id].items) {
                    if (op.kind == OpKind::Str && (x.kind == Kind::Num || x.kind == Kind::Bool)) x.kind = Kind::Str;
                    if (op.kind == OpKind::Lower && x.kind == Kind::Str)
                        for (char &c : x.text) if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                }
                break;
            }
            case OpKind::Basename:
                if ((t = text(op.src)) && !win_base(*t).empty()) put_str(op.dst_id, win_base(*t));
                break;
            case OpKind::Dirname:
                if ((t = text(op.src))) {
                    size_t cut = t->find_last_of("\\/");
                    if (cut != std::string::npos && cut > 0) put_str(op.dst_id, std::string_view(*t).substr(0, cut));
                }
                break;
            case OpKind::Extension:
                if ((t = text(op.src))) {
                    std::string_view base = win_base(*t);
                    size_t dot = base.rfind('.');
                    if (dot != std::string_view::npos && dot + 1 < base.size()) put_str(op.dst_id, base.substr(dot + 1));
                }
                break;
            case OpKind::Lookup: {
                if (!(t = text(op.src))) break;
                const Table &tb = p.tables[op.table];
                auto row = tb.rows.find(*t);
                if (row == tb.rows.end()) break;
                for (const Assign &a : row->second) put(a.id, a.value);
                break;
            }
            case OpKind::Time: time(op); break;
            case OpKind::Hashes: hashes(op); break;
            case OpKind::User:
                if ((t = text(op.src)) && !t->empty()) {
                    std::string_view u = *t;
                    size_t bs = u.find('\\');
                    if (bs == std::string::npos) put_str(op.word_ids[1], u);
                    else {
                        if (bs > 0) put_str(op.word_ids[0], u.substr(0, bs));
                        if (bs + 1 < u.size()) put_str(op.word_ids[1], u.substr(bs + 1));
                    }
                }
                break;
            case OpKind::Args:
                if (!(t = text(op.src)) || t->empty()) break;
                eqio::command_line_to_argv(*t, &s->args);
                put_list(op, s->args);
                break;
            case OpKind::Head:
            case OpKind::Tail:
                if ((t = text(op.src))) {
                    std::string_view v = *t;
                    size_t cut = v.find(op.words[0]);
                    if (cut == std::string::npos) {
                        if (op.kind == OpKind::Head) put_str(op.dst_id, v);
                    } else if (op.kind == OpKind::Head) {
                        put_str(op.dst_id, v.substr(0, cut));
                    } else if (cut + op.words[0].size() < v.size()) {
                        put_str(op.dst_id, v.substr(cut + op.words[0].size()));
                    }
                }
                break;
            case OpKind::Replace:
                if ((t = text(op.src))) {
                    std::string &r = s->text;
                    r.clear();
                    for (size_t at = 0;;) {
                        size_t hit = t->find(op.words[0], at);
                        r.append(*t, at, hit == std::string::npos ? std::string::npos : hit - at);
                        if (hit == std::string::npos) break;
                        r += op.words[1];
                        at = hit + op.words[0].size();
                    }
                    put_str(op.dst_id, r);
                }
                break;
            case OpKind::Words: {
                // blank-separated words, as Elastic's M365 and SentinelOne pipelines split command lines
                if (!(t = text(op.src))) break;
                s->args.clear();
                for (size_t at = 0; at < t->size();) {
                    size_t sp = t->find(' ', at);
                    if (sp == std::string::npos) sp = t->size();
                    if (sp > at) s->args.push_back(t->substr(at, sp - at));
                    at = sp + 1;
                }
                if (!s->args.empty()) put_list(op, s->args);
                break;
            }
            case OpKind::Json: parse_json(op.src); break;
            case OpKind::RegData: registry_data(op); break;
            case OpKind::DnsResults: dns_results(op); break;
            case OpKind::Append: append(op); break;
            case OpKind::Delete: remove_prefix(op.dst); break;
            case OpKind::Clean:
                for (uint32_t id : s->touched) {
                    const Val &v = s->vals[id];
                    if (!has_prefix(path_of(p, s, id), op.dst) || v.array || v.items.size() != 1) continue;
                    if (std::find(op.words.begin(), op.words.end(), v.items[0].text) != op.words.end()) remove(id);
                }
                break;
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

// A field written under another field that holds a value is dropped (a
// JSON document cannot hold both): the outer value wins.
bool shadowed(const Profile &p, ConvertScratch *s, uint32_t id) {
    if (id < p.out_paths.size()) {
        for (uint32_t a : p.out_ancestors[id])
            if (out_present(s, a)) return true;
        if (!s->any_dyn_above) return false;
    }
    const std::string &path = path_of(p, s, id);
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', dot + 1)) {
        std::string above = path.substr(0, dot);
        auto it = p.out_ids.find(above);
        if (it != p.out_ids.end() && out_present(s, it->second)) return true;
        auto dyn = s->dyn_ids.find(above);
        if (dyn != s->dyn_ids.end() && out_present(s, dyn->second)) return true;
    }
    return false;
}

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

void write_doc(const Profile &p, ConvertScratch *s, std::string *out) {
    s->order.clear();
    for (uint32_t id : s->touched)
        if (out_present(s, id) && !shadowed(p, s, id)) s->order.push_back(id);
    std::sort(s->order.begin(), s->order.end(),
              [&](size_t a, size_t b) { return path_less(path_of(p, s, a), path_of(p, s, b)); });
    out->clear();
    out->push_back('{');
    std::vector<std::string_view> open; // segments of the objects now open
    bool first = true;
    for (size_t i : s->order) {
        const std::string &path = path_of(p, s, static_cast<uint32_t>(i));
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
        const Val &v = s->vals[i];
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
    }
    while (!open.empty()) {
        out->push_back('}');
        open.pop_back();
    }
    out->push_back('}');
}

// A scalar as the reader reads the same JSON: integers that fit int64 are
// INT, other numbers DOUBLE. false for raw JSON (an object in an array).
bool value_of(const Scalar &x, eqlite_value *v) {
    *v = eqlite_value{};
    switch (x.kind) {
    case Kind::Str:
        v->kind = EQLITE_STRING;
        v->u.s = x.text.data();
        v->len = static_cast<uint32_t>(x.text.size());
        return true;
    case Kind::Bool:
        v->kind = EQLITE_BOOL;
        v->u.b = x.text == "true";
        return true;
    case Kind::Null: return true;
    case Kind::Num: {
        const char *b = x.text.data(), *e = b + x.text.size();
        int64_t i;
        auto r = std::from_chars(b, e, i);
        if (r.ec == std::errc() && r.ptr == e) {
            v->kind = EQLITE_INT;
            v->u.i = i;
        } else {
            v->kind = EQLITE_DOUBLE;
            v->u.d = std::strtod(x.text.c_str(), nullptr);
        }
        return true;
    }
    case Kind::Raw: return false;
    }
    return false;
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

size_t profile_field_count(const eq_profiles *p, int index) {
    return index >= 0 && static_cast<size_t>(index) < p->list.size() ? p->list[index].out_paths.size() : 0;
}

bool profile_convert(const eq_profiles *p, int index, object root, ConvertScratch *s, std::string *reason) {
    if (index < 0 || static_cast<size_t>(index) >= p->list.size()) {
        *reason = "no such source profile";
        return false;
    }
    const Profile &pr = p->list[index];
    start_record(pr, s, root);
    Run run{pr, s};
    run.run(pr.ops);
    return true;
}

void profile_text(ConvertScratch *s, std::string *out) {
    if (s->profile) write_doc(*s->profile, s, out);
    else *out = "{}";
}

Emit profile_emit(ConvertScratch *s, DocSink sink, void *user) {
    if (!s->profile) return Emit::Ok;
    const Profile &p = *s->profile;
    for (uint32_t id : s->touched) {
        if (!out_present(s, id) || shadowed(p, s, id)) continue;
        const Val &v = s->vals[id];
        s->items.resize(v.items.size());
        size_t n = 0;
        for (const Scalar &x : v.items) {
            if (!value_of(x, &s->items[n])) return Emit::Raw;
            if (s->items[n].kind != EQLITE_NULL || !v.array) n++; // an array drops its nulls, as the reader does
        }
        DocField f{id < p.out_paths.size() ? id : UINT32_MAX, path_of(p, s, id), s->items.data(), n, v.array};
        if (!sink(user, f)) return Emit::Failed;
    }
    return Emit::Ok;
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
