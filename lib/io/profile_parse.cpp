// profile_parse.cpp: reads source profile files (the language is described
// in lib/io/sources/README.md) into profiles.

#include "io/profile_internal.h"

namespace profile_internal {

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

std::string_view keep_constant(Profile &p, std::string_view text) { return p.constants.keep(text); }

// A constant: quoted text is a string; bare integers, true and false keep their type.
Scalar constant(Profile &p, const Token &t) {
    Kind kind = Kind::Str;
    if (!t.quoted && !t.text.empty() && is_integer(t.text)) kind = Kind::Num;
    else if (!t.quoted && (t.text == "true" || t.text == "false")) kind = Kind::Bool;
    return {kind, keep_constant(p, t.text)};
}

// A value at toks[*at]: one word or [a, b, ...].
Val read_value(Profile &p, const std::vector<Token> &toks, size_t *at) {
    Val v;
    if (*at >= toks.size()) throw ParseError{"a value is missing"};
    if (!toks[*at].quoted && toks[*at].text == "[") {
        v.array = true;
        for ((*at)++; *at < toks.size() && !(toks[*at].text == "]" && !toks[*at].quoted); (*at)++)
            v.items.push_back(constant(p, toks[*at]));
        if (*at >= toks.size()) throw ParseError{"missing ]"};
        (*at)++;
        return v;
    }
    v.items.push_back(constant(p, toks[(*at)++]));
    return v;
}

Ref read_ref(const std::string &word) {
    if (!word.empty() && word[0] == '$') return {true, 0, word.substr(1)};
    return {false, 0, word};
}

// COND := PATH exists|missing|winpath | PATH ==|!=|prefix|contains|!contains VALUE | PATH in [..]
// joined by `joiner` ("and" / "or").
std::vector<Cond> read_conds(Profile &p, const std::vector<Token> &toks, size_t at, const char *joiner) {
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
            Val v = read_value(p, toks, &at);
            for (auto &s : v.items) c.values.emplace_back(s.text);
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
                if (rest.empty()) { a.value = read_value(*cur, t, &i); }
                else a.value.items.push_back(constant(*cur, Token{rest, false}));
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
        if (w == "detect") { cur->detect.push_back(read_conds(*cur, t, 1, "or")); return; }
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
                    op.when.push_back(read_conds(*cur, group, 1, "and"));
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
                op.value = read_value(*cur, t, &at);
                if (at != t.size()) throw ParseError{"one value after the field (a list is [a, b])"};
                break;
            }
            case OpKind::Append: {
                // append DST SRC | append DST value "text" | append DST [a, b]
                op.dst = t[1].text;
                if (t.size() == 3 && !t[2].quoted && t[2].text != "[") op.src = read_ref(t[2].text);
                else {
                    size_t at = 2;
                    op.value = read_value(*cur, t, &at);
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
    compile_detection(p);
    return EQLITE_OK;
}

} // namespace profile_internal
