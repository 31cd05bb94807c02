// profile_internal.h: what the pieces of the profile code share (profile.cpp,
// profile_parse.cpp, profile_compile.cpp, profile_walk.cpp, profile_run.cpp,
// profile_write.cpp): the compiled profile, the scratch of a conversion and
// the functions one piece calls in another. Not installed.
#pragma once

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

namespace profile_internal {

// ---- values ------------------------------------------------------------------

enum class Kind { Str, Num, Bool, Null, Raw };

// Scalars hold views, not copies: into the record (simdjson's string
// buffer), the profile's constants, or the conversion's TextArena; all live
// until the next record.
struct Scalar {
    Kind kind = Kind::Str;
    std::string_view text{"", 0}; // string contents, number literal, "true"/"false", raw JSON
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
    // copy $SRC DST: the field each of the profile's fields under SRC goes
    // to (by output id; kNone: not under SRC), for the ids known at compile
    std::vector<uint32_t> out_map;
    // delete and clean DST: for the profile's fields, 1 under DST, 2 DST itself
    std::vector<uint8_t> under;
    // for plans (profile_plan.cpp): the op's number in its profile, the output
    // paths it writes or removes (a field named at run time lies under one),
    // and the paths it reads, of the document and of the record
    uint32_t index = 0;
    std::vector<std::string> writes, reads_out, reads_in;
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
    int32_t detect = -1; // a detect path of the profiles (their number), met while guessing
    bool collect = false;
};

struct WalkTrie {
    std::vector<WalkNode> nodes;
    std::vector<InEdge> edges;
    std::vector<uint32_t> table;
    std::string bytes;
};

inline uint64_t head_mask(size_t len) { return len >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * len)) - 1; }

// By the segment's first 8 bytes only: a key's segment length is not known
// before its edge is found when it is 8 or more.
inline size_t edge_hash(uint64_t head, size_t size) {
    return static_cast<size_t>((head * 0x9E3779B97F4A7C15ull) >> 40) & (size - 1);
}

// Where a key leads from a trie node: the node (kNone: off the trie), and
// whether it went through a collected path with segments left.
struct KeyStep {
    uint32_t node;
    bool passed;
};

KeyStep resolve_key(const WalkTrie &w, uint32_t node, std::string_view key);

// Keys as the walk meets them lie in simdjson's string buffer, readable 8
// bytes past their end; KeyTable keeps its keys padded the same way, so
// both are read 8 bytes at a time (keys are short: a memcmp call costs more).
inline uint64_t load8(const char *p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

// (trie node, whole key) -> KeyStep, open addressing; the keys sit in one
// pool, so a lookup touches two small arrays and nothing scattered.
class KeyTable {
public:
    // `key` padded (readable 8 bytes past its end).
    const KeyStep *find(uint32_t from, std::string_view key) const {
        if (slots_.empty()) return nullptr;
        size_t mask = slots_.size() - 1;
        for (size_t h = hash(from, key.data(), key.size()) & mask;; h = (h + 1) & mask) {
            const Entry &e = slots_[h];
            if (e.len == kNone) return nullptr;
            if (e.from == from && e.len == key.size() && same(pool_.data() + e.at, key.data(), key.size()))
                return &e.step;
        }
    }
    void add(uint32_t from, std::string_view key, KeyStep step) {
        if ((count_ + 1) * 2 > slots_.size()) grow();
        Entry e{from, static_cast<uint32_t>(key.size()), static_cast<uint32_t>(pool_.size()), step};
        pool_.append(key.data(), key.size());
        pool_.append(8, '\0');
        place(e);
        count_++;
    }
    size_t size() const { return count_; }
    void clear() {
        slots_.clear();
        pool_.clear();
        count_ = 0;
    }

private:
    struct Entry {
        uint32_t from = 0, len = kNone, at = 0; // len kNone: a free slot
        KeyStep step{kNone, false};
    };
    static size_t hash(uint32_t from, const char *p, size_t n) {
        uint64_t head = load8(p) & head_mask(n), tail = n > 8 ? load8(p + n - 8) : 0;
        uint64_t h = (head * 0x9E3779B97F4A7C15ull) ^ (tail * 0xC2B2AE3D27D4EB4Full) ^ (n * 0x165667B19E3779F9ull) ^ from;
        return static_cast<size_t>(h ^ (h >> 29));
    }
    static bool same(const char *a, const char *b, size_t n) {
        for (size_t i = 0; i < n; i += 8)
            if ((load8(a + i) ^ load8(b + i)) & head_mask(n - i)) return false;
        return true;
    }
    void place(const Entry &e) {
        size_t mask = slots_.size() - 1, h = hash(e.from, pool_.data() + e.at, e.len) & mask;
        while (slots_[h].len != kNone) h = (h + 1) & mask;
        slots_[h] = e;
    }
    void grow() {
        std::vector<Entry> old(slots_.empty() ? 64 : slots_.size() * 2);
        old.swap(slots_);
        for (const Entry &e : old)
            if (e.len != kNone) place(e);
    }
    std::vector<Entry> slots_;
    std::string pool_;
    size_t count_ = 0;
};

// Key steps remembered per (trie node, key): a source's records repeat the
// same keys, so a key met before costs one lookup instead of a walk down the
// trie. Bounded: up to kMaxKeys keys of at most kKeyLen bytes; others are
// walked each time.
class KeyMemo {
public:
    // Forgets everything when the trie is not the one remembered.
    void use(uint64_t serial) {
        if (serial == serial_) return;
        serial_ = serial;
        table_.clear();
    }
    // `key` lies in simdjson's string buffer (padded).
    KeyStep step(const WalkTrie &w, uint32_t node, std::string_view key) {
        if (key.size() > kKeyLen) return resolve_key(w, node, key);
        if (const KeyStep *seen = table_.find(node, key)) return *seen;
        KeyStep st = resolve_key(w, node, key);
        if (table_.size() < kMaxKeys) table_.add(node, key, st);
        return st;
    }

private:
    static constexpr size_t kMaxKeys = 4096, kKeyLen = 96;
    uint64_t serial_ = 0;
    KeyTable table_;
};

struct InNode {
    std::vector<std::pair<std::string, uint32_t>> kids;
    int32_t id = -1;           // the input path's number, or -1 (only a prefix)
    int32_t detect = -1;       // a detect path of the profiles (eq_profiles::detect_nodes' id)
    bool collect = false;
    bool under_collect = false; // this node or one above collects
    std::string path;
};

// Text kept in blocks that stay put: a profile's constants, and the text made
// while converting one record (numbers written out, lowercased copies, dates),
// kept until reset() at the next record.
class TextArena {
public:
    char *alloc(size_t n) {
        if (n > left_) grow(n);
        char *at = at_;
        at_ += n;
        left_ -= n;
        return at;
    }
    std::string_view keep(std::string_view t) {
        if (t.empty()) return {"", 0};
        char *at = alloc(t.size());
        std::memcpy(at, t.data(), t.size());
        return {at, t.size()};
    }
    // Keeps only the newest (largest) block, unless a huge record left it big.
    void reset() {
        if (chunks_.size() > 1) chunks_.erase(chunks_.begin(), chunks_.end() - 1), sizes_.erase(sizes_.begin(), sizes_.end() - 1);
        if (!chunks_.empty() && sizes_.back() > kKeepAtMost) chunks_.clear(), sizes_.clear();
        at_ = chunks_.empty() ? nullptr : chunks_.back().get();
        left_ = chunks_.empty() ? 0 : sizes_.back();
    }

private:
    static constexpr size_t kFirst = 16 * 1024, kKeepAtMost = 1024 * 1024;
    void grow(size_t n) {
        size_t size = std::max(n, sizes_.empty() ? kFirst : sizes_.back() * 2);
        chunks_.push_back(std::make_unique<char[]>(size));
        sizes_.push_back(size);
        at_ = chunks_.back().get();
        left_ = size;
    }
    std::vector<std::unique_ptr<char[]>> chunks_;
    std::vector<size_t> sizes_;
    char *at_ = nullptr;
    size_t left_ = 0;
};

struct Profile {
    Profile() = default;
    Profile(Profile &&) = default;
    Profile &operator=(Profile &&) = default;
    Profile(const Profile &) = delete; // its Scalars view its own `constants`

    std::string name;
    TextArena constants; // bytes of the constant Scalars (its blocks stay put when the profile moves)
    uint64_t serial = 0; // new at each compile (KeyMemo's check)
    std::vector<std::vector<Cond>> detect; // every line must hold; a line holds when one of its conds does
    bool passthrough = false;
    std::vector<Table> tables;
    std::vector<Op> ops;
    uint32_t nops = 0; // ops numbered 0..nops-1, nested ones too
    // compiled once (compile_profile): the input paths read, the output fields written
    std::vector<InNode> in_nodes;   // [0]: the record's root
    std::vector<uint32_t> in_node_of; // input id -> its node
    WalkTrie walk;
    std::vector<std::string> out_paths;
    std::unordered_map<std::string, uint32_t> out_ids;
    std::vector<std::vector<uint32_t>> out_ancestors; // output fields whose path is a dotted prefix of this one
    std::unordered_set<std::string> out_prefixes;     // the dotted prefixes of the output fields
};
} // namespace profile_internal

using namespace profile_internal;

struct eq_profiles {
    std::vector<Profile> list;
    // every profile's detect paths in one trie: a detect Cond's ref.id
    // numbers its path, so a record looks each path up once
    std::vector<InNode> detect_nodes;
    size_t ndetect = 0;
    // the root keys a detect lookup can go through: each detect path and
    // its dotted prefixes, by length (bucket kRootLengths: that or longer);
    // those of length n are detect_roots[root_start[n], root_start[n + 1]),
    // and root_first[n] has a bit for each of their first bytes
    static constexpr size_t kRootLengths = 64;
    std::vector<std::string> detect_roots;
    uint32_t root_start[kRootLengths + 2] = {};
    uint64_t root_first[kRootLengths + 1][4] = {};
    // records taken per profile (+1: no known shape), by all readers
    mutable std::unique_ptr<std::atomic<uint64_t>[]> counts;
    size_t ncounts = 0;
};

namespace eqio {

using profile_internal::TextArena;

struct ConvertScratch {
    const Profile *profile = nullptr; // what the last conversion ran
    uint64_t gen = 0;                 // the record: stamps older than this are stale
    uint64_t out_gen = 0;             // the output document: the same for out_stamp
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
    TextArena arena;
    // Plans (profile_plan.cpp): the ops a reader needs for the fields it
    // projects, per profile index; a partial run writes only those fields,
    // and the whole document is made again from `root` when its text is asked.
    bool want_all = true;            // no projection given: every op runs
    std::vector<std::string> wanted; // the reader's projected field paths
    std::vector<std::vector<uint8_t>> plans; // per profile index: keep[op.index]; empty until made
    const std::vector<uint8_t> *plan = nullptr; // the running plan (nullptr: every op)
    const std::vector<uint8_t> *partial = nullptr; // the plan the last conversion ran, until made whole
    // --source auto guessing the previous record's profile: the walk for it
    // also keeps the detect paths' first values (as dom_find finds them), so
    // the guess is checked without looking them up again
    bool detecting = false;
    bool walked = false; // the walk for `profile` is done, its ops are not run yet
    std::vector<element> det_val;
    std::vector<uint64_t> det_stamp;
    std::vector<profile_internal::KeyMemo> memos; // per profile index
    profile_internal::KeyMemo *memo = nullptr;    // the running profile's
    std::string text;
    std::vector<size_t> order;
    std::vector<std::string> args;
    std::vector<std::string_view> parts; // a list being written
    std::vector<eqlite_value> items; // one field's values handed to emit
    // `json` ops: text fields parsed as JSON, read like the record itself
    std::vector<std::unique_ptr<simdjson::dom::parser>> parsers;
    size_t nparsers = 0;
};

} // namespace eqio

namespace profile_internal {

using eqio::ConvertScratch;

template <typename T> void fit(std::vector<T> &v, size_t n) {
    if (v.size() < n) v.resize(n);
}

// profile_parse.cpp
eqlite_status add_text(eq_profiles *p, std::string_view text, const char *origin, std::string *err);

// profile_compile.cpp
uint64_t next_serial();
void compile_profile(Profile &p);
void mark_under_collect(Profile &p, uint32_t node, bool above);
void pack_walk(const std::vector<InNode> &nodes, WalkTrie *out);
uint32_t in_node(std::vector<InNode> &nodes, std::string_view path);
void compile_detection(eq_profiles *p);

// profile_walk.cpp: reading the record
bool dom_find(object obj, std::string_view path, element *out);
void walk_input(const Profile &p, ConvertScratch *s, object obj, uint32_t node, bool collecting, bool in_list = false);
void walk_list(const Profile &p, ConvertScratch *s, simdjson::dom::array list, uint32_t node);
void start_record(const Profile &p, size_t index, ConvertScratch *s, object root);
// An empty output document (the record read stays).
void start_output(ConvertScratch *s);

// profile_plan.cpp
void number_ops(Profile &p);
const std::vector<uint8_t> &plan_for(const Profile &p, size_t index, ConvertScratch *s);

// profile_run.cpp
const std::string &path_of(const Profile &p, const ConvertScratch *s, uint32_t id);
bool out_present(const ConvertScratch *s, uint32_t id);
bool shadowed(const Profile &p, ConvertScratch *s, uint32_t id);

// profile_write.cpp: writing the document
void write_doc(const Profile &p, ConvertScratch *s, std::string *out);
bool value_of(const Scalar &x, eqlite_value *v);

} // namespace profile_internal
