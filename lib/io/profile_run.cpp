// profile_run.cpp: runs a compiled profile's operations over a record.

#include "io/profile_internal.h"

#include "date.h" // eq_civil_from_days

namespace eqio {

ConvertScratch *scratch_new() { return new ConvertScratch(); }
void scratch_free(ConvertScratch *s) { delete s; }

} // namespace eqio

namespace profile_internal {

std::string_view int_text(int64_t n, eqio::TextArena *arena) {
    char num[32];
    return arena->keep(std::string_view(num, std::to_chars(num, num + sizeof num, n).ptr - num));
}

// Strings stay views into the record; other values are written out once.
void scalar_into(element e, Scalar *x, eqio::TextArena *arena) {
    char num[32];
    switch (e.type()) {
    case element_type::STRING:
        x->kind = Kind::Str;
        x->text = std::string_view(e);
        return;
    case element_type::INT64:
        x->kind = Kind::Num;
        x->text = int_text(int64_t(e), arena);
        return;
    case element_type::UINT64:
        x->kind = Kind::Num;
        x->text = arena->keep(std::string_view(num, std::to_chars(num, num + sizeof num, uint64_t(e)).ptr - num));
        return;
    case element_type::DOUBLE: x->kind = Kind::Num; x->text = arena->keep(simdjson::minify(e)); return;
    case element_type::BOOL: x->kind = Kind::Bool; x->text = bool(e) ? "true" : "false"; return;
    case element_type::NULL_VALUE: x->kind = Kind::Null; x->text = "null"; return;
    default: x->kind = Kind::Raw; x->text = arena->keep(simdjson::minify(e)); return;
    }
}

// An input value into *v (reusing its storage); array nulls are dropped.
void val_into(element e, Val *v, eqio::TextArena *arena) {
    v->array = e.type() == element_type::ARRAY;
    if (!v->array) {
        v->items.resize(1);
        scalar_into(e, &v->items[0], arena);
        return;
    }
    size_t n = 0;
    for (element x : simdjson::dom::array(e)) {
        if (x.type() == element_type::NULL_VALUE) continue;
        if (n == v->items.size()) v->items.emplace_back();
        scalar_into(x, &v->items[n++], arena);
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

// Whether `word` occurs in `text`. Values and words here are short (an
// action name): a byte loop beats find()'s library calls per candidate.
bool contains(std::string_view text, std::string_view word) {
    if (word.size() > text.size()) return false;
    if (word.empty()) return true;
    const char first = word[0];
    for (size_t at = 0, last = text.size() - word.size(); at <= last; at++) {
        if (text[at] != first) continue;
        size_t k = 1;
        while (k < word.size() && text[at + k] == word[k]) k++;
        if (k == word.size()) return true;
    }
    return false;
}

bool has_prefix(const std::string &path, const std::string &prefix) {
    return path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 && path[prefix.size()] == '.';
}

const std::string &path_of(const Profile &p, const ConvertScratch *s, uint32_t id) {
    return id < p.out_paths.size() ? p.out_paths[id] : s->dyn_paths[id - p.out_paths.size()];
}

bool out_present(const ConvertScratch *s, uint32_t id) {
    return s->vals[id].stamp == s->out_gen && !s->vals[id].items.empty();
}

struct Run {
    const Profile &p;
    ConvertScratch *s;
    const std::vector<uint8_t> *ran = nullptr; // making a partial run whole: the plan it ran

    // ---- reading ----
    const Val *out_get(uint32_t id) { return out_present(s, id) ? &s->vals[id] : nullptr; }

    bool in_get(uint32_t id, element *e) {
        if (s->in[id].stamp != s->gen) return false;
        *e = s->in[id].val;
        return true;
    }

    // A scalar of the record as the walk kept it (scalar_into, mostly
    // without reading the tape again).
    void slot_scalar(const ConvertScratch::InSlot &in, Scalar *x) {
        switch (in.type) {
        case element_type::STRING:
        case element_type::BOOL:
        case element_type::NULL_VALUE: *x = in.scalar(); return;
        case element_type::INT64: *x = Scalar{Kind::Num, int_text(in.i, &s->arena)}; return;
        default: scalar_into(in.val, x, &s->arena); return;
        }
    }

    // The value of a reference, or NULL when absent (null counts as absent).
    // An input value lives in s->tmp until the next read.
    const Val *get(const Ref &r) { return get(r.out, r.id); }

    const Val *get(bool out, uint32_t id) {
        if (out) {
            const Val *o = out_get(id);
            return o && val_present(*o) ? o : nullptr;
        }
        const ConvertScratch::InSlot &in = s->in[id];
        if (in.stamp != s->gen) return nullptr;
        if (in.list_stamp == s->gen) return list_get(id, in.val);
        switch (in.type) {
        case element_type::NULL_VALUE: return nullptr;
        case element_type::ARRAY:
        case element_type::OBJECT: val_into(in.val, &s->tmp, &s->arena); break;
        default:
            s->tmp.array = false;
            s->tmp.items.set_one(Scalar{});
            slot_scalar(in, &s->tmp.items[0]);
            break;
        }
        return val_present(s->tmp) ? &s->tmp : nullptr;
    }

    // A path met inside a list of objects: all its values, as a list.
    const Val *list_get(uint32_t id, element first) {
        s->tmp.array = true;
        s->tmp.items.clear();
        auto add = [&](element e) {
            val_into(e, &s->held, &s->arena);
            for (Scalar &x : s->held.items)
                if (x.kind != Kind::Null) s->tmp.items.push_back(x);
        };
        add(first);
        for (const auto &more : s->in_more)
            if (more.first == id) add(more.second);
        return s->tmp.items.empty() ? nullptr : &s->tmp;
    }

    // A single text value (strings as they are, numbers as written), or NULL.
    const std::string_view *text(const Ref &r) {
        const Val *v = get(r);
        if (!v || v->items.empty() || v->items[0].kind == Kind::Raw) return nullptr;
        return &v->items[0].text;
    }

    // A JSON integer as the record wrote it (decimal, no sign but '-', no
    // leading zero: what to_chars prints of an int64).
    static bool plain_integer(const Val &v, std::string_view t) {
        if (v.items[0].kind != Kind::Num || t.empty()) return false;
        int64_t n;
        auto r = std::from_chars(t.data(), t.data() + t.size(), n);
        if (r.ec != std::errc() || r.ptr != t.data() + t.size()) return false;
        std::string_view digits = t[0] == '-' ? t.substr(1) : t;
        return !digits.empty() && (digits[0] != '0' || t == "0");
    }

    // ---- writing ----
    Val &slot(uint32_t id) {
        if (s->vals[id].stamp != s->out_gen) {
            s->vals[id].stamp = s->out_gen;
            s->touched.push_back(id);
            s->vals[id].items.clear();
        }
        return s->vals[id];
    }

    void put(uint32_t id, const Val &v) {
        Val &to = slot(id);
        if (&to == &v) return;
        if (v.items.size() == 1) { // most values: no vector copy call
            to.array = v.array;
            to.items.set_one(v.items[0]);
            return;
        }
        to = v;
    }

    // A string that lives as long as the record (a view into it, a constant,
    // the arena): written as it is.
    void put_view(uint32_t id, std::string_view text, Kind kind = Kind::Str) {
        Val &v = slot(id);
        v.array = false;
        v.items.set_one(Scalar{kind, text});
    }

    // A string made here (in a local or scratch buffer): copied first.
    void put_copy(uint32_t id, std::string_view text, Kind kind = Kind::Str) {
        put_view(id, s->arena.keep(text), kind);
    }

    void put_count(uint32_t id, size_t n) { put_copy(id, std::to_string(n), Kind::Num); }

    // A field named at run time (under a copied object, a hash name).
    uint32_t id_of(const std::string &path) {
        auto it = p.out_ids.find(path);
        if (it != p.out_ids.end()) return it->second;
        auto ins = s->dyn_ids.emplace(path, static_cast<uint32_t>(p.out_paths.size() + s->dyn_paths.size()));
        if (ins.second) {
            s->dyn_paths.push_back(path);
            s->dyn_above_static.push_back(p.out_prefixes.count(path) != 0);
            fit(s->vals, p.out_paths.size() + s->dyn_paths.size());
        }
        s->any_dyn_above |= s->dyn_above_static[ins.first->second - p.out_paths.size()];
        return ins.first->second;
    }

    void put_path(const std::string &path, const Val &v) { put(id_of(path), v); } // v must not be in s->vals

    void remove(uint32_t id) {
        if (s->vals[id].stamp == s->out_gen) s->vals[id].items.clear(); // an empty value is not written
    }

    // 1: field `id` lies under op.dst, 2: it is op.dst, 0: neither.
    uint8_t under(const Op &op, uint32_t id) {
        if (id < op.under.size()) return op.under[id];
        const std::string &path = path_of(p, s, id);
        return path == op.dst ? 2 : has_prefix(path, op.dst) ? 1 : 0;
    }

    void remove_prefix(const Op &op) {
        for (uint32_t id : s->touched)
            if (under(op, id)) remove(id);
    }

    // ---- conditions ----
    bool holds(const FlatCond &c) {
        const Scalar *first = nullptr, *last = nullptr;
        Scalar one;
        const ConvertScratch::InSlot *in = c.out ? nullptr : &s->in[c.id];
        if (in && in->stamp == s->gen && in->list_stamp != s->gen && in->type == element_type::STRING) {
            one = in->scalar(); // a string of the record, as get() would give it, without making a value
            if (!one.text.empty()) first = &one, last = first + 1;
        } else if (const Val *v = get(c.out, c.id)) {
            first = v->items.begin(), last = v->items.end();
        }
        bool present = first != nullptr;
        switch (c.op) {
        case CondOp::Exists: return present;
        case CondOp::Missing: return !present;
        default: break;
        }
        if (!present) return c.op == CondOp::Ne || c.op == CondOp::NotContains;
        auto any = [&](auto pred) {
            for (const Scalar *x = first; x != last; x++) if (x->kind != Kind::Raw && pred(x->text)) return true;
            return false;
        };
        const std::string_view *values = p.cond_values.data() + c.values_at, *values_end = values + c.nvalues;
        std::string_view word = c.nvalues ? values[0] : std::string_view();
        switch (c.op) {
        case CondOp::Eq: return any([&](std::string_view t) { return t == word; });
        case CondOp::Ne: return !any([&](std::string_view t) { return t == word; });
        case CondOp::In: return any([&](std::string_view t) { return std::find(values, values_end, t) != values_end; });
        case CondOp::Prefix: return any([&](std::string_view t) { return t.compare(0, word.size(), word) == 0; });
        case CondOp::Contains: return any([&](std::string_view t) { return contains(t, word); });
        case CondOp::NotContains: return !any([&](std::string_view t) { return contains(t, word); });
        case CondOp::WinPath:
            return any([](std::string_view t) {
                return (t.size() >= 3 && std::isalpha(static_cast<unsigned char>(t[0])) && t[1] == ':' &&
                        (t[2] == '\\' || t[2] == '/')) || t.compare(0, 2, "\\\\") == 0;
            });
        default: return false;
        }
    }

    // A `when`: whether one of its alternatives holds all its conditions.
    bool holds_any(const Op &op) {
        for (const FlatCond *c = p.conds.data() + op.conds_at, *end = c + op.nconds; c != end;) {
            bool all = true;
            for (;; c++) {
                all = all && holds(*c);
                if (c->ends_and) break;
            }
            if (all) return true;
            c++;
        }
        return false;
    }

    // ---- operations ----
    // copy_scalar, from the op's head, was tried first.
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
                val_into(s->collected[i].second, &s->tmp, &s->arena);
                if (val_present(s->tmp)) put_path(op.dst + path.substr(op.src.path.size()), s->tmp);
            }
            return;
        }
        for (size_t k = 0, n = s->touched.size(); k < n; k++) {
            uint32_t id = s->touched[k];
            if (id < op.out_map.size()) { // numbered when compiled
                if (op.out_map[id] == kNone || !out_present(s, id)) continue;
                put(op.out_map[id], s->vals[id]); // a field the profile names: s->vals does not grow
                continue;
            }
            if (!has_prefix(path_of(p, s, id), op.src.path) || !out_present(s, id)) continue;
            std::string to = op.dst + path_of(p, s, id).substr(op.src.path.size());
            s->held = s->vals[id]; // s->vals may grow under the write
            put_path(to, s->held);
        }
    }

    // The common copy, a scalar of the record, straight into its field (no
    // Val in between); null and "" copy nothing. false: not that case (a
    // list, an object, a path met in lists), nothing done.
    bool copy_scalar(uint32_t src, uint32_t dst) {
        const ConvertScratch::InSlot &in = s->in[src];
        if (in.stamp != s->gen || in.list_stamp == s->gen) return false;
        switch (in.type) {
        case element_type::STRING:
            if (in.text.empty()) return true;
            break;
        case element_type::NULL_VALUE: return true;
        case element_type::INT64:
        case element_type::UINT64:
        case element_type::DOUBLE:
        case element_type::BOOL: break;
        default: return false;
        }
        Val &v = slot(dst);
        v.array = false;
        v.items.set_one(Scalar{});
        slot_scalar(in, &v.items[0]);
        return true;
    }

    static std::string_view win_base(std::string_view path) {
        size_t cut = path.find_last_of("\\/");
        return cut == std::string_view::npos ? path : path.substr(cut + 1);
    }

    static std::string lower(std::string t) {
        for (char &c : t) if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return t;
    }

    // ASCII lowercase, copied only when a letter changes.
    std::string_view lower_view(std::string_view t) {
        size_t first = 0;
        while (first < t.size() && !(t[first] >= 'A' && t[first] <= 'Z')) first++;
        if (first == t.size()) return t;
        char *out = s->arena.alloc(t.size());
        for (size_t i = 0; i < t.size(); i++) out[i] = t[i] >= 'A' && t[i] <= 'Z' ? static_cast<char>(t[i] - 'A' + 'a') : t[i];
        return {out, t.size()};
    }

    void time(const Op &op) {
        char out[96];
        int64_t ms;
        // A JSON integer read as epoch_millis: the number is the instant (as
        // parse_epoch reads its text; it refuses INT64_MIN, whose digits overflow)
        if (op.epoch_millis_first && !op.src.out) {
            const ConvertScratch::InSlot &in = s->in[op.src.id];
            if (in.stamp == s->gen && in.list_stamp != s->gen && in.type == element_type::INT64 && in.i != INT64_MIN) {
                put_copy(op.dst_id, iso_ms(in.i, out));
                return;
            }
        }
        const std::string_view *t = text(op.src);
        if (!t) return;
        if (op.format == "iso") {
            int64_t ns;
            if (!eq_parse_date(t->data(), t->size(), &ns)) return;
            ms = ns / 1000000 - (ns % 1000000 < 0);
        } else if (eq_ndjson_parse_date_format(t->data(), t->size(), op.format.c_str(), &ms) != 0) {
            return; // Elastic's date processors ignore failures here too
        }
        put_copy(op.dst_id, iso_ms(ms, out));
    }

    // Writes into out[96].
    std::string_view iso_ms(int64_t ms, char *out) {
        int64_t days = ms / 86400000 - (ms % 86400000 < 0);
        int64_t rem = ms - days * 86400000;
        if (days != s->civil_days) {
            s->civil_days = days;
            eq_civil_from_days(days, &s->civil_y, &s->civil_m, &s->civil_d);
        }
        int64_t y = s->civil_y;
        int m = s->civil_m, d = s->civil_d;
        if (y < 0 || y > 9999) { // rare: printf's widths
            int n = std::snprintf(out, 96, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
                                  (long long)m, (long long)d, (long long)(rem / 3600000), (long long)(rem / 60000 % 60),
                                  (long long)(rem / 1000 % 60), (long long)(rem % 1000));
            return std::string_view(out, static_cast<size_t>(n < 96 ? n : 95));
        }
        static const char kShape[] = "0000-00-00T00:00:00.000Z";
        std::memcpy(out, kShape, sizeof kShape - 1);
        auto digits = [&](size_t at, int64_t v, int width) {
            for (int i = width - 1; i >= 0; i--, v /= 10) out[at + static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
        };
        digits(0, y, 4), digits(5, m, 2), digits(8, d, 2), digits(11, rem / 3600000, 2);
        digits(14, rem / 60000 % 60, 2), digits(17, rem / 1000 % 60, 2), digits(20, rem % 1000, 3);
        return std::string_view(out, sizeof kShape - 1);
    }

    void hashes(const Op &op) {
        const std::string_view *src = text(op.src);
        if (!src) return;
        std::string_view t = *src;
        size_t at = 0;
        while (at < t.size()) {
            size_t comma = t.find(',', at);
            if (comma == std::string::npos) comma = t.size();
            std::string_view item(t.data() + at, comma - at);
            size_t eq = item.find('=');
            if (eq != std::string_view::npos && eq + 1 < item.size())
                put_copy(id_of(op.dst + "." + lower(std::string(item.substr(0, eq)))), lower(std::string(item.substr(eq + 1))));
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
        const std::string_view *t = text(op.src);
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
        std::string_view value = d, type = "REG_SZ";
        long long high, low;
        if (caseless_prefix("QWORD (") && d.size() == 29 && d[17] == '-' && d[28] == ')' &&
            hex8(d.substr(7, 10), &high) && hex8(d.substr(18, 10), &low)) {
            value = s->arena.keep(std::to_string((high << 8) + low));
            type = "SZ_QWORD";
        } else if (caseless_prefix("DWORD (") && d.size() == 18 && d[17] == ')' && hex8(d.substr(7, 10), &low)) {
            value = s->arena.keep(std::to_string(low));
            type = "SZ_DWORD";
        } else if (d == "Binary Data") {
            type = "REG_BINARY";
        }
        Val &v = slot(op.word_ids[0]);
        v.array = true;
        v.items.assign(1, Scalar{Kind::Str, value});
        put_view(op.word_ids[1], type);
    }

    // Sysmon's DNS QueryResults ("type:  5 name;::ffff:1.2.3.4;...") as
    // Elastic's sysmon pipeline splits it: the addresses (v4-mapped ones as
    // IPv4, what is not an address dropped) into IPS, the names of typed
    // records into HOSTS.
    void dns_results(const Op &op) {
        const std::string_view *t = text(op.src);
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
                if (parts.size() == 3) hosts.items.push_back({Kind::Str, parts[2]});
                continue;
            }
            std::string_view ip = unmap_v4(answer);
            uint8_t bytes[16];
            if (eq_ip_parse(ip.data(), ip.size(), bytes)) ips.items.push_back({Kind::Str, ip});
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

    // Parts (each living as long as the record) into DST and DST_count.
    void put_list(const Op &op, const std::vector<std::string_view> &parts) {
        Val &v = slot(op.dst_id);
        v.array = true;
        v.items.resize(parts.size());
        for (size_t k = 0; k < parts.size(); k++) v.items[k] = Scalar{Kind::Str, parts[k]};
        put_count(op.count_id, parts.size());
    }

    void run(const std::vector<Op> &ops, const std::vector<OpHead> &heads) {
        for (size_t k = 0, n = ops.size(); k < n; k++) {
            const OpHead &h = heads[k];
            if (s->plan && !(*s->plan)[h.index]) continue; // nothing the reader reads
            if (h.needs != kNone && s->in[h.needs].stamp != s->gen && !(h.collected && s->ncollected)) continue;
            if (h.copy_to != kNone && copy_scalar(h.needs, h.copy_to)) continue;
            const Op &op = ops[k];
            if (op.kind == OpKind::Json && ran && (*ran)[op.index]) continue; // its paths are read already
            const std::string_view *t = nullptr;
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
                const Val *v = get(op.src);
                if (!v || v->items[0].kind == Kind::Raw) break;
                t = &v->items[0].text;
                if (plain_integer(*v, *t)) { // as written: strtoll and to_string give it back
                    put_view(op.dst_id, *t, Kind::Num);
                    break;
                }
                s->text.assign(*t); // strtoll reads up to a NUL
                char *end = nullptr;
                errno = 0;
                long long n = std::strtoll(s->text.c_str(), &end, t->compare(0, 2, "0x") == 0 ? 16 : 10);
                if (t->empty() || *end || errno) break;
                put_copy(op.dst_id, std::to_string(n), Kind::Num);
                break;
            }
            case OpKind::Str:
            case OpKind::Lower: {
                const Val *v = get(op.src);
                if (!v) break;
                put(op.dst_id, *v);
                for (Scalar &x : s->vals[op.dst_id].items) {
                    if (op.kind == OpKind::Str && (x.kind == Kind::Num || x.kind == Kind::Bool)) x.kind = Kind::Str;
                    if (op.kind == OpKind::Lower && x.kind == Kind::Str) x.text = lower_view(x.text);
                }
                break;
            }
            case OpKind::Basename:
                if ((t = text(op.src)) && !win_base(*t).empty()) put_view(op.dst_id, win_base(*t));
                break;
            case OpKind::Dirname:
                if ((t = text(op.src))) {
                    size_t cut = t->find_last_of("\\/");
                    if (cut != std::string::npos && cut > 0) put_view(op.dst_id, t->substr(0, cut));
                }
                break;
            case OpKind::Extension:
                if ((t = text(op.src))) {
                    std::string_view base = win_base(*t);
                    size_t dot = base.rfind('.');
                    if (dot != std::string_view::npos && dot + 1 < base.size()) put_view(op.dst_id, base.substr(dot + 1));
                }
                break;
            case OpKind::Lookup: {
                if (!(t = text(op.src))) break;
                const Table &tb = p.tables[op.table];
                auto row = tb.rows.find(s->text.assign(*t));
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
                    if (bs == std::string::npos) put_view(op.word_ids[1], u);
                    else {
                        if (bs > 0) put_view(op.word_ids[0], u.substr(0, bs));
                        if (bs + 1 < u.size()) put_view(op.word_ids[1], u.substr(bs + 1));
                    }
                }
                break;
            case OpKind::Args:
                if (!(t = text(op.src)) || t->empty()) break;
            {
                char *text = s->arena.alloc(t->size()); // the arguments are views into it
                eqio::command_line_to_argv(*t, text, &s->args_ends);
                s->parts.clear();
                for (size_t k = 0, from = 0, n = s->args_ends.size(); k < n; from = s->args_ends[k++])
                    s->parts.push_back(std::string_view(text + from, s->args_ends[k] - from));
            }
                put_list(op, s->parts);
                break;
            case OpKind::Head:
            case OpKind::Tail:
                if ((t = text(op.src))) {
                    std::string_view v = *t;
                    size_t cut = v.find(op.words[0]);
                    if (cut == std::string::npos) {
                        if (op.kind == OpKind::Head) put_view(op.dst_id, v);
                    } else if (op.kind == OpKind::Head) {
                        put_view(op.dst_id, v.substr(0, cut));
                    } else if (cut + op.words[0].size() < v.size()) {
                        put_view(op.dst_id, v.substr(cut + op.words[0].size()));
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
                    put_copy(op.dst_id, r);
                }
                break;
            case OpKind::Words: {
                // blank-separated words, as Elastic's M365 and SentinelOne pipelines split command lines
                if (!(t = text(op.src))) break;
                s->parts.clear();
                for (size_t at = 0; at < t->size();) {
                    size_t sp = t->find(' ', at);
                    if (sp == std::string::npos) sp = t->size();
                    if (sp > at) s->parts.push_back(t->substr(at, sp - at));
                    at = sp + 1;
                }
                if (!s->parts.empty()) put_list(op, s->parts);
                break;
            }
            case OpKind::Json: parse_json(op.src); break;
            case OpKind::RegData: registry_data(op); break;
            case OpKind::DnsResults: dns_results(op); break;
            case OpKind::Append: append(op); break;
            case OpKind::Delete: remove_prefix(op); break;
            case OpKind::Clean:
                for (uint32_t id : s->touched) {
                    const Val &v = s->vals[id];
                    if (under(op, id) != 1 || v.array || v.items.size() != 1) continue;
                    if (std::find(op.words.begin(), op.words.end(), v.items[0].text) != op.words.end()) remove(id);
                }
                break;
            case OpKind::When: {
                holds_any(op) ? run(op.then, op.then_heads) : run(op.otherwise, op.otherwise_heads);
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

} // namespace profile_internal

namespace eqio {

// The first profile whose detect lines all hold; find(cond, &element) looks
// a detect path up (false: absent).
template <typename Find> int detect_by(const eq_profiles *p, Find find) {
    for (size_t i = 0; i < p->list.size(); i++) {
        const Profile &pr = p->list[i];
        if (pr.detect.empty()) continue; // forced only
        bool all = true;
        for (const auto &line : pr.detect) {
            bool one = false;
            for (const Cond &c : line) {
                element e;
                bool present = find(c, &e) && e.type() != element_type::NULL_VALUE;
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
                        else if (c.op == CondOp::Contains) one = contains(t, c.values[0]);
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

// Whether a root key is a detect path or one of its dotted prefixes: no
// other key can lead dom_find to a detect path.
static bool is_detect_root(const eq_profiles *p, std::string_view k) {
    size_t n = std::min(k.size(), eq_profiles::kRootLengths);
    unsigned char c = static_cast<unsigned char>(k[0]);
    if (!((p->root_first[n][c >> 6] >> (c & 63)) & 1)) return false; // most keys
    for (uint32_t i = p->root_start[n]; i < p->root_start[n + 1]; i++)
        if (p->detect_roots[i] == k) return true;
    return false;
}

int profiles_detect(const eq_profiles *p, object root) {
    // One pass keeps the root's fields whose key can lead to a detect path
    // (most keys of an ECS record cannot), in record order; each path is
    // then looked up among them alone, first match first, as dom_find does.
    struct Root {
        std::string_view key;
        element value;
    };
    constexpr size_t kOnStack = 16;
    Root stack_roots[kOnStack];
    std::vector<Root> heap_roots; // past kOnStack such keys (duplicates, say)
    Root *roots = stack_roots;
    size_t nroots = 0;
    for (auto field : root) {
        std::string_view k(field.key.data(), field.key.size());
        if (k.empty() || !is_detect_root(p, k)) continue;
        if (nroots == kOnStack && roots == stack_roots) heap_roots.assign(stack_roots, stack_roots + kOnStack);
        if (nroots >= kOnStack) {
            heap_roots.push_back({k, field.value});
            roots = heap_roots.data();
        } else {
            roots[nroots] = {k, field.value};
        }
        nroots++;
    }
    return detect_by(p, [&](const Cond &c, element *e) {
        std::string_view path = c.ref.path;
        for (size_t i = 0; i < nroots; i++) {
            std::string_view k = roots[i].key;
            if (k == path) {
                *e = roots[i].value;
                return true;
            }
            if (path.size() > k.size() && path[k.size()] == '.' && path.substr(0, k.size()) == k &&
                roots[i].value.type() == element_type::OBJECT &&
                dom_find(object(roots[i].value), path.substr(k.size() + 1), e))
                return true;
        }
        return false;
    });
}

int profiles_detect_walked(const eq_profiles *p, int guess, object root, ConvertScratch *s) {
    const Profile &pr = p->list[static_cast<size_t>(guess)];
    fit(s->det_val, p->ndetect);
    fit(s->det_stamp, p->ndetect);
    s->detecting = true;
    start_record(pr, static_cast<size_t>(guess), s, root);
    s->detecting = false;
    int idx = detect_by(p, [&](const Cond &c, element *e) {
        if (s->det_stamp[c.ref.id] != s->gen) return false;
        *e = s->det_val[c.ref.id];
        return true;
    });
    s->walked = idx == guess;
    return idx;
}

void profiles_note(const eq_profiles *p, int index, uint64_t n) {
    size_t slot = index < 0 ? p->list.size() : static_cast<size_t>(index);
    if (slot < p->ncounts) p->counts[slot].fetch_add(n, std::memory_order_relaxed);
}

bool profile_passthrough(const eq_profiles *p, int index) {
    return index >= 0 && static_cast<size_t>(index) < p->list.size() && p->list[index].passthrough;
}

size_t profile_field_count(const eq_profiles *p, int index) {
    return index >= 0 && static_cast<size_t>(index) < p->list.size() ? p->list[index].out_paths.size() : 0;
}

void scratch_want(ConvertScratch *s, std::vector<std::string> fields) {
    s->want_all = false;
    s->wanted = std::move(fields);
    s->plans.clear();
}

bool profile_convert(const eq_profiles *p, int index, object root, ConvertScratch *s, std::string *reason, bool whole) {
    if (index < 0 || static_cast<size_t>(index) >= p->list.size()) {
        *reason = "no such source profile";
        return false;
    }
    const Profile &pr = p->list[index];
    if (!s->walked || s->profile != &pr) start_record(pr, static_cast<size_t>(index), s, root);
    s->walked = false;
    if (!s->duplicate.empty()) { // the ingest json processor fails such a record (allow_duplicate_keys false)
        const std::string &k = s->duplicate;
        *reason = "duplicate field '" + k.substr(0, 64) + (k.size() > 64 ? "...'" : "'") +
                  " (Elasticsearch rejects the document)";
        return false;
    }
    s->plan = !whole && !s->want_all ? &plan_for(pr, static_cast<size_t>(index), s) : nullptr;
    if (s->plan && s->plan->back()) s->plan = nullptr; // every op is needed
    Run run{pr, s};
    run.run(pr.ops, pr.heads);
    s->partial = s->plan;
    s->plan = nullptr;
    return true;
}

void profile_text(ConvertScratch *s, std::string *out) {
    if (!s->profile) {
        *out = "{}";
        return;
    }
    if (s->partial) { // the whole document, from the record already read
        Run run{*s->profile, s, s->partial};
        s->partial = nullptr;
        start_output(s);
        run.run(s->profile->ops, s->profile->heads);
    }
    write_doc(*s->profile, s, out);
}

Emit profile_emit(ConvertScratch *s, DocSink sink, void *user) {
    if (!s->profile) return Emit::Ok;
    const Profile &p = *s->profile;
    for (uint32_t id : s->touched) {
        if (!out_present(s, id)) continue;
        // most fields have no field above them that could shadow them
        bool may_be_shadowed = id >= p.out_paths.size() || !p.out_ancestors[id].empty() || s->any_dyn_above;
        if (may_be_shadowed && shadowed(p, s, id)) continue;
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

} // namespace eqio
