// profile_walk.cpp: reads a raw record in one walk, keeping only the paths
// its profile reads.

#include "io/profile_internal.h"

#include <unordered_set>

namespace profile_internal {

// ---- reading the record: one walk, keeping only the paths the profile reads

void collect_leaf(ConvertScratch *s, std::string_view path, element e) {
    if (s->ncollected == s->collected.size()) s->collected.emplace_back();
    s->collected[s->ncollected].first.assign(path.data(), path.size());
    s->collected[s->ncollected].second = e;
    s->ncollected++;
}



// The kid of `node` whose segment starts the key at *at (ending at the key's
// end or a dot); *at moves past it. The key is not split first: most kids
// are turned away by their first byte.
// Keys live in simdjson's string buffer, readable SIMDJSON_PADDING bytes past
// their end, so a segment's first bytes are one 8-byte load.
uint32_t in_step(const WalkTrie &w, uint32_t node, const char **at, const char *end) {
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

KeyStep resolve_key(const WalkTrie &w, uint32_t node, std::string_view key) {
    KeyStep st{node, false};
    for (const char *at = key.data(), *end = at + key.size(); st.node != kNone;) {
        st.node = in_step(w, st.node, &at, end);
        if (st.node == kNone || at == end) break;
        st.passed |= w.nodes[st.node].collect;
        at++; // the dot
    }
    return st;
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

// A value of input path `id`, with what the ops read of a scalar while its
// tape entry is at hand. Out of lists, the last duplicate wins.
inline void keep_scalar(ConvertScratch *s, size_t id, element v, element_type type) {
    ConvertScratch::InSlot *slot = &s->in[id];
    slot->val = v;
    slot->stamp = s->gen;
    slot->list_stamp = 0;
    slot->type = type;
    switch (type) {
    case element_type::STRING: slot->kind = Kind::Str, slot->text = std::string_view(v); break;
    case element_type::BOOL: slot->kind = Kind::Bool, slot->text = bool(v) ? "true" : "false"; break;
    case element_type::NULL_VALUE: slot->kind = Kind::Null, slot->text = "null"; break;
    case element_type::INT64: slot->i = int64_t(v); break;
    default: break;
    }
}

// A value at trie node `node` (kNone: off the trie, met only while collecting).
void visit_input(const Profile &p, ConvertScratch *s, element v, uint32_t node, bool collecting, bool in_list) {
    if (s->detecting && node != kNone && !in_list && p.walk.nodes[node].detect >= 0) {
        size_t d = static_cast<size_t>(p.walk.nodes[node].detect);
        if (s->det_stamp[d] != s->gen) s->det_val[d] = v, s->det_stamp[d] = s->gen; // the first one, as dom_find
    }
    if (v.type() == element_type::OBJECT) {
        if (node != kNone || collecting) walk_input(p, s, object(v), node, collecting, in_list);
        return;
    }
    if (node != kNone && v.type() == element_type::ARRAY && p.walk.nodes[node].count)
        walk_list(p, s, simdjson::dom::array(v), node);
    if (node != kNone && p.walk.nodes[node].id >= 0) {
        size_t id = static_cast<size_t>(p.walk.nodes[node].id);
        ConvertScratch::InSlot &slot = s->in[id];
        if (in_list && slot.list_stamp == s->gen) {
            s->in_more.emplace_back(static_cast<uint32_t>(id), v);
        } else {
            keep_scalar(s, id, v, v.type());
            if (in_list) slot.list_stamp = s->gen;
        }
    }
    if (collecting) collect_leaf(s, s->path, v);
}

// A key twice in `obj`, or "" (for keys the memo does not keep).
std::string repeated_key(object obj) {
    std::unordered_set<std::string_view> keys;
    for (auto field : obj)
        if (!keys.emplace(field.key.data(), field.key.size()).second) return std::string(field.key);
    return std::string();
}

// The fields of an object at trie node `node`. Keys may hold several dotted
// segments; a key off the trie is skipped unless a collected path covers it.
// While collecting, s->path is the object's dotted path.
// A key met twice in one object fails the record, as the ingest json
// processor fails it (ndjson_duplicates.cpp): the memo tells, for the keys it
// keeps; an object with others is checked whole. Objects off the trie are
// stepped over unchecked.
void walk_input(const Profile &p, ConvertScratch *s, object obj, uint32_t node, bool collecting, bool in_list) {
    uint64_t me = s->memo->next_object();
    bool checked = node == kNone; // nothing to tell without the memo
    for (auto field : obj) {
        std::string_view key(field.key.data(), field.key.size());
        int again = 0;
        KeyStep st = node == kNone ? KeyStep{kNone, false} : s->memo->step(p.walk, node, key, me, &again);
        if (again && !checked) {
            checked = true;
            if (s->duplicate.empty()) s->duplicate = again == KeyMemo::kNotKept ? repeated_key(obj) : std::string(key);
        }
        uint32_t cur = st.node;
        bool passed = st.passed;
        bool coll = collecting || passed ||
                    (cur != kNone && p.walk.nodes[cur].collect && field.value.type() == element_type::OBJECT);
        if (!coll) {
            if (cur == kNone) continue;
            // most fields: a scalar of a path read, nothing else to do
            const WalkNode &n = p.walk.nodes[cur];
            element_type type = field.value.type();
            if (n.id >= 0 && !in_list && (n.detect < 0 || !s->detecting) && type != element_type::OBJECT &&
                type != element_type::ARRAY) {
                keep_scalar(s, static_cast<size_t>(n.id), field.value, type);
                continue;
            }
            visit_input(p, s, field.value, cur, false, in_list);
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


void start_output(ConvertScratch *s) {
    s->out_gen++;
    s->touched.clear();
    s->any_dyn_above = false;
}

void start_record(const Profile &p, size_t index, ConvertScratch *s, object root) {
    s->profile = &p;
    fit(s->memos, index + 1);
    s->memo = &s->memos[index];
    s->memo->use(p.serial);
    s->gen++;
    fit(s->in, p.in_node_of.size());
    s->in_more.clear();
    fit(s->vals, p.out_paths.size());
    // Fields named at run time keep their numbers from record to record of a
    // profile (they mostly repeat), up to a bound.
    if (s->dyn_profile != &p || s->dyn_paths.size() > 4096) {
        s->dyn_profile = &p;
        s->dyn_paths.clear();
        s->dyn_ids.clear();
        s->dyn_above_static.clear();
    }
    start_output(s);
    s->ncollected = 0;
    s->nparsers = 0;
    s->arena.reset();
    s->path.clear();
    s->duplicate.clear();
    walk_input(p, s, root, 0, false);
}

// Looks a dotted path up in a DOM object without flattening it (detection):
// each key is either the whole remaining path or one of its dotted prefixes;
// the first value met wins (nested objects before the keys after them).
// Arrays are not entered; an empty key names nothing.
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

} // namespace profile_internal
