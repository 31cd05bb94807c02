// ndjson_walk.cpp: the projected walk of a parsed record (simdjson's tape)
// and of a converted document into the event's slots.

#include "io/ndjson_internal.h"
#include "io/ndjson_tape.h"

namespace ndjson_internal {

// ---- filling the event ------------------------------------------------------

// A scalar at tape index i (not '{' or '[').
inline void tape_scalar(const Tape &t, size_t i, eqlite_value *out) {
    *out = eqlite_value{};
    uint64_t word = t.w[i];
    switch (tape_type(word)) {
    case '"': {
        uint32_t len;
        out->u.s = tape_string(t, word, &len);
        out->kind = EQLITE_STRING;
        out->len = len;
        return;
    }
    case 'l': {
        int64_t v;
        std::memcpy(&v, &t.w[i + 1], sizeof v);
        out->kind = EQLITE_INT;
        out->u.i = v;
        return;
    }
    case 'u': // only above INT64_MAX
        out->kind = EQLITE_DOUBLE;
        out->u.d = static_cast<double>(t.w[i + 1]);
        return;
    case 'd': {
        double d;
        std::memcpy(&d, &t.w[i + 1], sizeof d);
        out->kind = EQLITE_DOUBLE;
        out->u.d = d;
        return;
    }
    case 't':
    case 'f':
        out->kind = EQLITE_BOOL;
        out->u.b = tape_type(word) == 't' ? 1 : 0;
        return;
    default: // 'n'
        return;
    }
}

Slot &touch(eq_ndjson *r, int32_t slot) {
    Slot &s = r->slots[static_cast<size_t>(slot)];
    if (s.generation != r->generation) {
        s.generation = r->generation;
        s.is_list = false;
        s.saw_null = false;
        r->touched.push_back(static_cast<uint32_t>(slot));
    }
    return s;
}

// The field as a list (an array reads as one even with a single element),
// keeping a value it already had.
Slot &list_of(eq_ndjson *r, int32_t slot) {
    Slot &s = touch(r, slot);
    if (!s.is_list) {
        s.is_list = true;
        s.list.clear();
        const eqlite_value &had = r->values[static_cast<size_t>(slot)];
        if (had.kind != EQLITE_NULL) s.list.push_back(had);
    }
    return s;
}

// Elasticsearch indexes every value a document gives a field, so the same
// field spelled dotted and nested ({"a.b":1,"a":{"b":2}}) is multi-valued,
// in source order; a null adds nothing.
void add_value(eq_ndjson *r, int32_t slot, const eqlite_value &v, bool in_array) {
    if (v.kind == EQLITE_NULL) {
        touch(r, slot).saw_null = true;
        return;
    }
    eqlite_value &had = r->values[static_cast<size_t>(slot)];
    Slot &s = touch(r, slot);
    if (!in_array && !s.is_list && had.kind == EQLITE_NULL)
        had = v;
    else
        list_of(r, slot).list.push_back(v);
}

bool wrong_type(eq_ndjson *r, uint32_t node) {
    r->reason = "field '" + r->proj[node].path + "' holds an object where a value is expected";
    return false;
}

bool visit(eq_ndjson *r, const Tape &t, size_t i, uint32_t node, bool in_array);

// The object at tape index i, whose trie node has children. A key met twice
// in it fails the record (see ndjson_duplicates.cpp), whether read or not. A
// key on the projection is met again when its trie node is (a stamp per
// node); the others, which no projected key can equal, go in a small set, and
// the objects and arrays nothing is read in are checked on their own.
bool walk_object(eq_ndjson *r, const Tape &t, size_t i, uint32_t node, bool in_array) {
    size_t start = i, end = static_cast<uint32_t>(t.w[i]) - 1; // the '}'
    const Projection &proj = r->proj;
    uint64_t walk = ++r->object_walks;
    SmallKeySet others;
    bool checked = false;
    for (i++; i < end;) {
        uint32_t klen;
        const char *key = tape_string(t, t.w[i], &klen);
        i++;
        size_t next = tape_next(t, i);
        uint32_t target = proj.descend_padded(node, key, klen);
        if (target != kNoNode) {
            if (r->node_seen[target] == walk && !checked) {
                if (!object_keys_are_unique(r, t, start)) return false;
                checked = true;
            }
            r->node_seen[target] = walk;
            if (!visit(r, t, i, target, in_array)) return false;
        } else {
            if (!checked && !others.add(key, klen)) {
                if (!object_keys_are_unique(r, t, start)) return false;
                checked = true;
            }
            if (kTapeStep[t.w[i] >> 56] == 0 && !subtree_keys_are_unique(r, t, i))
                return false; // an object or array nothing is read in
        }
        i = next;
    }
    return true;
}

bool visit_array(eq_ndjson *r, const Tape &t, size_t i, uint32_t node) {
    int32_t slot = r->proj.slot_of(node);
    // Scalars go straight to the field's list; nested containers may append
    // to it too (the Slot itself never moves: `slots` is sized once).
    std::vector<eqlite_value> *list = slot != kNoSlot ? &list_of(r, slot).list : nullptr;
    size_t end = static_cast<uint32_t>(t.w[i]) - 1; // the ']'
    for (i++; i < end; i = tape_next(t, i)) {
        char type = tape_type(t.w[i]);
        if (type == '[') {
            if (!visit_array(r, t, i, node)) return false;
        } else if (type == '{') {
            if (!r->proj.has_kids(node)) return wrong_type(r, node);
            if (!walk_object(r, t, i, node, true)) return false;
        } else if (list && type != 'n') {
            eqlite_value value;
            tape_scalar(t, i, &value);
            list->push_back(value);
        } else if (list) {
            r->slots[static_cast<size_t>(slot)].saw_null = true;
        }
    }
    return true;
}

bool visit(eq_ndjson *r, const Tape &t, size_t i, uint32_t node, bool in_array) {
    switch (tape_type(t.w[i])) {
    case '{':
        if (!r->proj.has_kids(node)) return wrong_type(r, node);
        return walk_object(r, t, i, node, in_array);
    case '[':
        return visit_array(r, t, i, node);
    default: {
        int32_t slot = r->proj.slot_of(node);
        if (slot == kNoSlot) return true; // a value where only children are read
        eqlite_value value;
        tape_scalar(t, i, &value);
        add_value(r, slot, value, in_array);
        return true;
    }
    }
}

// Each further id of a path gets the values read for it, before conversion.
void copy_mirrors(eq_ndjson *r) {
    for (const auto &m : r->mirrors) {
        const Slot &from = r->slots[m.first];
        if (from.generation != r->generation) continue;
        Slot &to = touch(r, static_cast<int32_t>(m.second));
        to.saw_null = from.saw_null;
        to.is_list = from.is_list;
        if (from.is_list) to.list.assign(from.list.begin(), from.list.end());
        r->values[m.second] = r->values[m.first];
    }
}

// An explicit null is indexed as the mapping's null_value (FieldMapper
// parsing: the null token is replaced before the value is indexed).
void add_null_values(eq_ndjson *r) {
    for (size_t k = 0, n = r->touched.size(); k < n; k++) {
        uint32_t slot = r->touched[k];
        const FieldConv &c = r->conv[slot];
        if (r->slots[slot].saw_null && c.has_null_value)
            add_value(r, static_cast<int32_t>(slot), c.null_value, r->slots[slot].is_list);
    }
}

// Clears what the previous event set, so fields[] is all null again.
void reset_event(eq_ndjson *r) {
    for (uint32_t slot : r->touched) r->values[slot] = eqlite_value{};
    r->touched.clear();
    r->ntexts = 0;
    r->generation++;
}

// Lists become arrays once their storage has stopped growing.
void finish_lists(eq_ndjson *r) {
    for (uint32_t slot : r->touched) {
        Slot &s = r->slots[slot];
        if (!s.is_list) continue;
        eqlite_value v{};
        if (!s.list.empty()) {
            v.kind = EQLITE_ARRAY;
            v.len = static_cast<uint32_t>(s.list.size());
            v.u.a = s.list.data();
        }
        r->values[slot] = v;
    }
}

// The projected fields of the parsed record.
bool read_fields(eq_ndjson *r) {
    // parse_record() checked that the root (tape index 1) is an object.
    const Tape t{r->parser.doc.tape.get(), r->parser.doc.string_buf.get()};
    return r->proj.has_kids(0) ? walk_object(r, t, 1, 0, false) : subtree_keys_are_unique(r, t, 1);
}

// A converted document's field path through the projection, as the walk of
// its JSON text would go (nested objects, one segment each).
DocSlot resolve_doc_path(const Projection &proj, std::string_view path) {
    DocSlot d;
    d.resolved = true;
    uint32_t node = 0;
    for (size_t at = 0;;) {
        size_t dot = path.find('.', at);
        std::string_view seg = path.substr(at, dot == std::string_view::npos ? std::string_view::npos : dot - at);
        node = proj.child(node, seg.data(), seg.size());
        if (node == kNoNode) return d;
        if (dot == std::string_view::npos) break;
        if (!proj.has_kids(node)) {
            d.err_node = node;
            return d;
        }
        at = dot + 1;
    }
    d.slot = proj.slot_of(node);
    return d;
}

// profile_emit's sink: a field of the converted document into the event.
bool take_doc_field(void *user, const eqio::DocField &f) {
    eq_ndjson *r = static_cast<eq_ndjson *>(user);
    DocSlot d;
    if (f.id != UINT32_MAX) {
        std::vector<DocSlot> &cache = r->doc_slots[static_cast<size_t>(r->last_source)];
        if (f.id >= cache.size()) cache.resize(eqio::profile_field_count(r->profiles, r->last_source));
        if (!cache[f.id].resolved) cache[f.id] = resolve_doc_path(r->proj, f.path);
        d = cache[f.id];
    } else {
        d = resolve_doc_path(r->proj, f.path);
    }
    if (d.err_node != kNoNode) return wrong_type(r, d.err_node);
    if (d.slot == kNoSlot) return true;
    if (f.array) {
        std::vector<eqlite_value> &list = list_of(r, d.slot).list;
        list.insert(list.end(), f.values, f.values + f.n);
    } else {
        add_value(r, d.slot, f.values[0], false);
    }
    return true;
}

} // namespace ndjson_internal
