// ndjson_tape.h: reading simdjson's DOM tape directly (the record walk in
// ndjson_walk.cpp, the duplicate-key check in ndjson_duplicates.cpp). Not installed.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

namespace ndjson_internal {

// The reader reads simdjson's DOM tape directly (the layout of simdjson's
// doc/tape.md, unchanged since 0.3): one 64-bit word per value, the type in
// the top byte; '{' and '[' hold the index just past their closing word in the
// low 32 bits; strings hold an offset into the string buffer, where a 32-bit
// length precedes the bytes; 'l', 'u' and 'd' are followed by a word holding
// the number; 't', 'f' and 'n' stand alone. This skips the DOM iterators'
// per-step bookkeeping; an unread subtree is stepped over in one jump.
struct Tape {
    const uint64_t *w;
    const uint8_t *strings;
};

constexpr uint64_t kTapePayload = 0x00FFFFFFFFFFFFFFull;

inline char tape_type(uint64_t word) { return static_cast<char>(word >> 56); }

// Tape words taken by a value of each type; 0 for '{' and '[', whose word
// holds the index after their end.
constexpr std::array<uint8_t, 256> kTapeStep = [] {
    std::array<uint8_t, 256> step{};
    for (auto &v : step) v = 1;
    step['{'] = step['['] = 0;
    step['l'] = step['u'] = step['d'] = 2;
    return step;
}();

// The index after the value at i.
inline size_t tape_next(const Tape &t, size_t i) {
    uint64_t word = t.w[i];
    size_t step = kTapeStep[static_cast<uint8_t>(word >> 56)];
    return step ? i + step : static_cast<uint32_t>(word);
}

inline const char *tape_string(const Tape &t, uint64_t word, uint32_t *len) {
    const uint8_t *p = t.strings + (word & kTapePayload);
    std::memcpy(len, p, sizeof *len);
    return reinterpret_cast<const char *>(p + sizeof *len);
}

// The keys of one object met so far, told apart by their length and first 8
// bytes (a bit of a mask first, so most keys compare with none): enough for
// most objects. Keys alike in both, or more than kSmallKeys of them, are
// for object_keys_are_unique() to tell.
constexpr size_t kSmallKeys = 12;

// The bytes of a key's first 8 that are the key's, by its length.
constexpr uint64_t kHeadMask[9] = {0, 0xFF, 0xFFFF, 0xFFFFFF, 0xFFFFFFFF, 0xFFFFFFFFFF, 0xFFFFFFFFFFFF,
                                   0xFFFFFFFFFFFFFF, ~uint64_t{0}};

struct SmallKeySet {
    uint64_t bits = 0;
    size_t n = 0;
    uint64_t heads[kSmallKeys];

    // false: a key alike to one before, or one too many (the exact check decides)
    bool add(const char *k, uint32_t len) {
        if (n == kSmallKeys) return false;
        uint64_t head;
        std::memcpy(&head, k, 8); // the string buffer is readable past a key's end
        // Without a branch: key lengths vary too much to predict one.
        uint64_t v = ((head & kHeadMask[len < 8 ? len : 8]) + len) * 0x9E3779B97F4A7C15ull; // equal keys, equal v
        uint64_t bit = uint64_t{1} << (v >> 58);
        if (bits & bit)
            for (size_t j = 0; j < n; j++)
                if (heads[j] == v) return false;
        bits |= bit;
        heads[n++] = v;
        return true;
    }
};

// The exact check's table is given back when larger (entries).
constexpr size_t kLargestKeptTable = 1 << 16;

// ndjson_duplicates.cpp: false, with r->reason naming the key, when the
// object at tape index i holds a key twice
bool object_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i);
// the same for every object in the value at tape index i, itself included
bool subtree_keys_are_unique(eq_ndjson *r, const Tape &t, size_t i);

} // namespace ndjson_internal
