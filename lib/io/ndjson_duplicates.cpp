// ndjson_duplicates.cpp: a key met twice in one object, anywhere in a record.
// Elasticsearch parses every document with Jackson's STRICT_DUPLICATE_DETECTION
// (6.0 on: the document fails with "Duplicate field 'x'"), and so does the
// ingest json processor the vendor pipelines start with (allow_duplicate_keys
// false), so such a record never becomes an event, whichever key repeats.
// A key spelled dotted and nested ({"a.b":1,"a":{"b":2}}) is two keys here,
// as for Jackson: the field is multi-valued, not a duplicate.

#include "io/ndjson_internal.h"
#include "io/ndjson_tape.h"

namespace ndjson_internal {

// The exact check of the object at tape index i: its keys sorted.
bool object_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i) {
    std::vector<std::string_view> &keys = r->dup_keys;
    keys.clear();
    size_t end = static_cast<uint32_t>(t.w[i]) - 1; // the '}'
    for (i++; i < end; i = tape_next(t, i + 1)) {
        uint32_t len;
        const char *k = tape_string(t, t.w[i], &len);
        keys.emplace_back(k, len);
    }
    std::sort(keys.begin(), keys.end());
    auto at = std::adjacent_find(keys.begin(), keys.end());
    if (at == keys.end()) return true;
    r->reason = "duplicate field " + quoted_prefix(at->data(), at->size()) + " (Elasticsearch rejects the document)";
    return false;
}

namespace {

// Whether two keys of the object at tape index i may be the same.
bool may_repeat_a_key(const Tape &t, size_t i) {
    size_t end = static_cast<uint32_t>(t.w[i]) - 1;
    uint64_t seen = 0;
    for (i++; i < end; i = tape_next(t, i + 1)) {
        uint32_t len;
        const char *k = tape_string(t, t.w[i], &len);
        uint64_t bit = key_bit(k, len);
        if (seen & bit) return true;
        seen |= bit;
    }
    return false;
}

} // namespace

namespace {

// Deeper than this, the linear check takes over (no recursion without bound).
constexpr int kNestedChecks = 32;

// Every word of the value at tape index i in turn: objects nested at any
// depth are met without recursion; slower, as each word is a branch.
bool linear_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i) {
    size_t end = tape_next(t, i);
    while (i < end) {
        uint64_t word = t.w[i];
        size_t step = kTapeStep[static_cast<uint8_t>(word >> 56)];
        if (step) {
            i += step;
            continue;
        }
        if (tape_type(word) == '{' && may_repeat_a_key(t, i) && !object_keys_are_unique(r, t, i)) return false;
        i++; // into the object or array
    }
    return true;
}

bool nested_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i, int depth) {
    if (depth == kNestedChecks) return linear_keys_are_unique(r, t, i);
    size_t start = i, end = static_cast<uint32_t>(t.w[i]) - 1; // the '}' or ']'
    if (tape_type(t.w[i]) == '[') {
        for (i++; i < end; i = tape_next(t, i))
            if (kTapeStep[t.w[i] >> 56] == 0 && !nested_keys_are_unique(r, t, i, depth + 1)) return false;
        return true;
    }
    uint64_t key_bits = 0;
    bool repeats = false;
    for (i++; i < end; i = tape_next(t, i)) {
        uint32_t len;
        const char *k = tape_string(t, t.w[i], &len);
        uint64_t bit = key_bit(k, len);
        repeats |= (key_bits & bit) != 0;
        key_bits |= bit;
        i++;
        if (kTapeStep[t.w[i] >> 56] == 0 && !nested_keys_are_unique(r, t, i, depth + 1)) return false;
    }
    return !repeats || object_keys_are_unique(r, t, start);
}

} // namespace

bool subtree_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i) { return nested_keys_are_unique(r, t, i, 0); }

bool keys_are_unique(eq_ndjson *r) {
    const Tape t{r->parser.doc.tape.get(), r->parser.doc.string_buf.get()};
    return subtree_keys_are_unique(r, t, 1); // the root object
}

} // namespace ndjson_internal
