// ndjson_duplicates.cpp: a key met twice in one object, anywhere in a record.
// Elasticsearch parses every document with Jackson's STRICT_DUPLICATE_DETECTION
// (6.0 on: the document fails with "Duplicate field 'x'"), and so does the
// ingest json processor the vendor pipelines start with (allow_duplicate_keys
// false), so such a record never becomes an event, whichever key repeats.
// A key spelled dotted and nested ({"a.b":1,"a":{"b":2}}) is two keys here,
// as for Jackson: the field is multi-valued, not a duplicate. Here: the
// checks the ECS walk (ndjson_walk.cpp) calls; vendor records are checked in
// their profile's walk (profile_walk.cpp, walk_input).

#include "io/ndjson_internal.h"
#include "io/ndjson_tape.h"

namespace ndjson_internal {

namespace {

// A key's length, first and last 8 bytes, mixed: equal keys give equal
// signatures, and keys alike in all three are told apart by their bytes.
inline uint64_t key_signature(const char *k, uint32_t len) {
    uint64_t head, tail;
    std::memcpy(&head, k, 8); // the string buffer is readable past a key's end
    std::memcpy(&tail, k + (len > 8 ? len - 8 : 0), 8);
    uint32_t shift = 64 - 8 * (len < 8 ? len : 8);
    head &= len ? ~uint64_t{0} >> (shift & 63) : 0;
    tail &= len > 8 ? ~uint64_t{0} : 0;
    return (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^ (len * 0x165667B19E3779F9ull);
}

} // namespace

// A key's signature into `table` (its size a power of two, a quarter to a
// half full at most): false when a slot already holds the same key.
inline bool insert_key(const Tape &t, uint64_t word, std::vector<uint64_t> &sigs, std::vector<uint64_t> &words) {
    uint32_t len;
    const char *k = tape_string(t, word, &len);
    uint64_t sig = key_signature(k, len) | 1; // 0: an empty slot
    size_t mask = sigs.size() - 1;
    size_t h = static_cast<size_t>((sig * 0xD6E8FEB86659FD93ull) >> 40) & mask;
    for (; sigs[h]; h = (h + 1) & mask) {
        if (sigs[h] != sig) continue;
        uint32_t had_len;
        const char *had = tape_string(t, words[h], &had_len);
        if (had_len == len && std::memcmp(had, k, len) == 0) return false;
    }
    sigs[h] = sig;
    words[h] = word;
    return true;
}

// The exact check of the object at tape index i: its keys' signatures in an
// open-addressing table (kept for the next), sized by the object's tape
// words (at least two a key) and doubled if its keys fill it past half.
bool object_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i) {
    size_t end = static_cast<uint32_t>(t.w[i]) - 1; // the '}'
    size_t size = 16;
    while (size < end - i && size < 4096) size *= 2;
    std::vector<uint64_t> &sigs = r->dup_sigs, &words = r->dup_keys;
    sigs.assign(size, 0);
    words.resize(size);
    size_t keys = 0;
    for (size_t k = i + 1; k < end;) {
        if (++keys > sigs.size() / 2) { // more keys than the words told: again, twice as large
            sigs.assign(sigs.size() * 2, 0);
            words.resize(sigs.size());
            keys = 0;
            k = i + 1;
            continue;
        }
        if (!insert_key(t, t.w[k], sigs, words)) {
            uint32_t len;
            const char *key = tape_string(t, t.w[k], &len);
            r->reason = "duplicate field " + quoted_prefix(key, len) + " (Elasticsearch rejects the document)";
            return false;
        }
        k = tape_next(t, k + 1);
    }
    if (sigs.size() > kLargestKeptTable) { // after a huge object, the memory goes back
        std::vector<uint64_t>().swap(sigs);
        std::vector<uint64_t>().swap(words);
    }
    return true;
}

namespace {

// Whether two keys of the object at tape index i may be the same.
bool may_repeat_a_key(const Tape &t, size_t i) {
    size_t end = static_cast<uint32_t>(t.w[i]) - 1;
    SmallKeySet seen;
    for (i++; i < end; i = tape_next(t, i + 1)) {
        uint32_t len;
        const char *k = tape_string(t, t.w[i], &len);
        if (!seen.add(k, len)) return true;
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
    SmallKeySet seen;
    bool repeats = false;
    for (i++; i < end; i = tape_next(t, i)) {
        if (!repeats) { // else the exact check decides anyway
            uint32_t len;
            const char *k = tape_string(t, t.w[i], &len);
            repeats = !seen.add(k, len);
        }
        i++;
        if (kTapeStep[t.w[i] >> 56] == 0 && !nested_keys_are_unique(r, t, i, depth + 1)) return false;
    }
    return !repeats || object_keys_are_unique(r, t, start);
}

} // namespace

bool subtree_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i) { return nested_keys_are_unique(r, t, i, 0); }


} // namespace ndjson_internal
