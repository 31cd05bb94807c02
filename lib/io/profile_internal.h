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

constexpr uint32_t kNone = UINT32_MAX;

// ---- values ------------------------------------------------------------------

enum class Kind { Str, Num, Bool, Null, Raw };

// Scalars hold views, not copies: into the record (simdjson's string
// buffer), the profile's constants, or the conversion's TextArena; all live
// until the next record.
struct Scalar {
    Kind kind = Kind::Str;
    std::string_view text{"", 0}; // string contents, number literal, "true"/"false", raw JSON
};

// The scalars of one value. Most values are one scalar: it is kept in
// place, so the output document's values sit in one array, with no heap
// block per field to reach; a list grows onto the heap, and the storage is
// kept from record to record (clear() keeps it).
class Scalars {
public:
    Scalars() = default;
    Scalars(const Scalars &o) { *this = o; }
    Scalars(Scalars &&o) noexcept { take(o); }
    Scalars &operator=(const Scalars &o) {
        if (this != &o) {
            size_ = 0;
            reserve(o.size_);
            std::copy(o.begin(), o.end(), data());
            size_ = o.size_;
        }
        return *this;
    }
    Scalars &operator=(Scalars &&o) noexcept {
        if (this != &o) take(o);
        return *this;
    }

    Scalar *data() { return heap_ ? heap_.get() : &one_; }
    const Scalar *data() const { return heap_ ? heap_.get() : &one_; }
    Scalar *begin() { return data(); }
    Scalar *end() { return data() + size_; }
    const Scalar *begin() const { return data(); }
    const Scalar *end() const { return data() + size_; }
    size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    Scalar &operator[](size_t i) { return data()[i]; }
    const Scalar &operator[](size_t i) const { return data()[i]; }
    Scalar &back() { return data()[size_ - 1]; }

    void clear() { size_ = 0; }
    // Holds x alone (most writes: no capacity check, the first slot always exists).
    void set_one(const Scalar &x) {
        data()[0] = x;
        size_ = 1;
    }
    void push_back(const Scalar &x) {
        if (size_ == cap_) reserve(size_t{cap_} * 2);
        data()[size_++] = x;
    }
    Scalar &emplace_back() {
        push_back(Scalar{});
        return back();
    }
    void resize(size_t n) {
        reserve(n);
        for (size_t i = size_; i < n; i++) data()[i] = Scalar{};
        size_ = static_cast<uint32_t>(n);
    }
    void assign(size_t n, const Scalar &x) {
        resize(0);
        resize(n);
        std::fill(begin(), end(), x);
    }
    void reserve(size_t n) {
        if (n <= cap_) return;
        auto grown = std::make_unique<Scalar[]>(n);
        std::copy(begin(), end(), grown.get());
        heap_ = std::move(grown);
        cap_ = static_cast<uint32_t>(n);
    }

private:
    void take(Scalars &o) {
        one_ = o.one_;
        heap_ = std::move(o.heap_);
        size_ = o.size_, cap_ = o.cap_;
        o.size_ = 0, o.cap_ = 1;
    }
    Scalar one_;
    std::unique_ptr<Scalar[]> heap_; // when more than one was ever held
    uint32_t size_ = 0, cap_ = 1;
};

struct Val {
    bool array = false;
    Scalars items; // one item unless array
};

// ---- the language --------------------------------------------------------------

enum class CondOp { Exists, Missing, Eq, Ne, In, Prefix, Contains, NotContains, WinPath };

struct Ref {
    bool out = false; // "$path": the output document
    uint32_t id = 0;  // the profile's number for the path: an input path, or an output field
    std::string path;
};

struct Cond {
    Ref ref;
    CondOp op = CondOp::Exists;
    std::vector<std::string> values;
};

// A `when`'s conditions as a run tests them: side by side in one array of
// the profile (Profile::conds), in the order the ops run, with their values
// as views into the profile's constants. A Cond sits at the end of a chain
// of heap blocks (the op's alternatives, each one's conditions, the values'
// strings) that a run would otherwise follow for every `when`.
struct FlatCond {
    uint32_t id = 0;        // the path's number (Ref::id)
    bool out = false;       // "$path": the output document
    bool ends_and = false;  // the last of its conjunction: the next one starts another alternative
    CondOp op = CondOp::Exists;
    uint32_t values_at = 0, nvalues = 0; // in Profile::cond_values
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

// What a run reads of an op before the op itself: a list's ops have their
// heads side by side (16 bytes each), so an op that has nothing to do (its
// record path absent) is passed over without reaching the op, and so is the
// op itself when it copies a scalar of the record (most ops).
struct OpHead {
    uint32_t index = 0;    // the op's number (for plans)
    uint32_t needs = 0;    // the input path whose absence leaves the op nothing to do (kNone: none)
    uint32_t copy_to = 0;  // copy of a record path (needs): the output field (kNone: another op)
    bool collected = false; // ... unless leaves were collected (copy of an object)
};

// Fields in the order a run reads them: what every op reads comes first, so
// running one mostly touches one or two cache lines (a profile's ops would
// otherwise stream tens of kilobytes through the cache per record).
struct Op {
    OpKind kind;
    uint32_t index = 0; // the op's number in its profile (for plans, profile_plan.cpp)
    // compiled: output fields written (dst, its _count for args/words, user's two)
    uint32_t dst_id = 0, count_id = 0;
    uint32_t conds_at = 0, nconds = 0; // when: its conditions in Profile::conds
    size_t table = 0;                // lookup
    bool epoch_millis_first = false; // time: the format's first choice is epoch_millis
    Ref src;
    Val value;                       // set, append (constant)
    std::vector<uint32_t> word_ids;
    // copy $SRC DST: the field each of the profile's fields under SRC goes
    // to (by output id; kNone: not under SRC), for the ids known at compile
    std::vector<uint32_t> out_map;
    // delete and clean DST: for the profile's fields, 1 under DST, 2 DST itself
    std::vector<uint8_t> under;
    std::vector<std::vector<Cond>> when; // alternatives (or) of conjunctions (and)
    std::vector<Op> then, otherwise;
    std::vector<OpHead> then_heads, otherwise_heads;
    std::string dst;
    std::vector<std::string> words;  // time format, clean values, user targets
    std::string format; // time: the words joined
    int line = 0;
    // for plans: the output paths it writes or removes (a field named at run
    // time lies under one), and the paths it reads, of the document and of
    // the record
    std::vector<std::string> writes, reads_out, reads_in;
};


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

// (trie node, whole key) -> KeyStep, open addressing over entries kept in
// one array (an entry keeps its number as the table grows); the keys sit in
// one pool, so a lookup touches small arrays and nothing scattered.
class KeyTable {
public:
    struct Entry {
        uint32_t from = 0, len = 0, at = 0; // at: the key's offset in the pool
        uint32_t next = kNone;              // the entry met after this one last time (KeyMemo)
        KeyStep step{kNone, false};
        uint64_t object = 0;                // the object walk that met this key last (KeyMemo)
    };
    // `key` padded (readable 8 bytes past its end); kNone when absent.
    uint32_t find(uint32_t from, std::string_view key) const {
        if (slots_.empty()) return kNone;
        size_t mask = slots_.size() - 1;
        for (size_t h = hash(from, key.data(), key.size()) & mask;; h = (h + 1) & mask) {
            uint32_t e = slots_[h];
            if (e == 0) return kNone;
            if (holds(entries_[e - 1], from, key)) return e - 1;
        }
    }
    uint32_t add(uint32_t from, std::string_view key, KeyStep step) {
        if ((entries_.size() + 1) * 2 > slots_.size()) grow();
        entries_.push_back(Entry{from, static_cast<uint32_t>(key.size()), static_cast<uint32_t>(pool_.size()), kNone, step});
        pool_.append(key.data(), key.size());
        pool_.append(8, '\0');
        place(static_cast<uint32_t>(entries_.size() - 1));
        return static_cast<uint32_t>(entries_.size() - 1);
    }
    Entry &operator[](uint32_t e) { return entries_[e]; }
    // Whether an entry's key is `key` (padded).
    bool holds(const Entry &e, uint32_t from, std::string_view key) const {
        return e.from == from && e.len == key.size() && same(pool_.data() + e.at, key.data(), key.size());
    }
    size_t size() const { return entries_.size(); }
    void clear() {
        slots_.clear();
        entries_.clear();
        pool_.clear();
    }

private:
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
    void place(uint32_t e) {
        const Entry &x = entries_[e];
        size_t mask = slots_.size() - 1, h = hash(x.from, pool_.data() + x.at, x.len) & mask;
        while (slots_[h] != 0) h = (h + 1) & mask;
        slots_[h] = e + 1;
    }
    void grow() {
        slots_.assign(slots_.empty() ? 64 : slots_.size() * 2, 0);
        for (uint32_t e = 0; e < entries_.size(); e++) place(e);
    }
    std::vector<uint32_t> slots_; // entry + 1; 0 empty
    std::vector<Entry> entries_;
    std::string pool_;
};

// Key steps remembered per (trie node, key): a source's records repeat the
// same keys, so a key met before costs one lookup instead of a walk down the
// trie. Bounded: up to kMaxKeys keys of at most kKeyLen bytes; others are
// walked each time.
// Records of a source also repeat their keys in the same order, so each key
// remembers the key that came after it last time: the next key is checked
// against that first (no hashing, and the entries of one shape lie side by
// side), and the table is asked only when it differs.
class KeyMemo {
public:
    // Forgets everything when the trie is not the one remembered.
    void use(uint64_t serial) {
        prev_ = kNone;
        if (serial == serial_) return;
        serial_ = serial;
        table_.clear();
        first_ = kNone;
    }
    // A number for each object walked, for step().
    uint64_t next_object() { return ++objects_; }
    // `key` lies in simdjson's string buffer (padded). *again: whether the
    // key was met before in the object numbered `object` (a key twice in
    // one object), or kNotKept when the memo does not keep it.
    static constexpr int kNotKept = -1;
    KeyStep step(const WalkTrie &w, uint32_t node, std::string_view key, uint64_t object, int *again) {
        uint32_t guess = prev_ == kNone ? first_ : table_[prev_].next;
        if (guess != kNone && table_.holds(table_[guess], node, key)) return met(prev_ = guess, object, again);
        *again = kNotKept;
        if (key.size() > kKeyLen) return resolve_key(w, node, key);
        uint32_t e = table_.find(node, key);
        if (e == kNone) {
            if (table_.size() >= kMaxKeys) return resolve_key(w, node, key);
            e = table_.add(node, key, resolve_key(w, node, key));
        }
        (prev_ == kNone ? first_ : table_[prev_].next) = e;
        prev_ = e;
        return met(e, object, again);
    }

private:
    KeyStep met(uint32_t e, uint64_t object, int *again) {
        KeyTable::Entry &x = table_[e];
        *again = x.object == object;
        x.object = object;
        return x.step;
    }
    static constexpr size_t kMaxKeys = 4096, kKeyLen = 96;
    uint64_t serial_ = 0;
    uint64_t objects_ = 0;
    KeyTable table_;
    uint32_t first_ = kNone; // the first key of the last record
    uint32_t prev_ = kNone;  // the key met last in this record
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
    std::vector<OpHead> heads; // of ops
    std::vector<FlatCond> conds;              // of every `when` (Op::conds_at)
    std::vector<std::string_view> cond_values; // their values, in `constants`
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
    std::string duplicate;            // a key the record's walk met twice in one object (the first such)
    uint64_t gen = 0;                 // the record: stamps older than this are stale
    uint64_t out_gen = 0;             // the output document: the same for vals' stamps
    // input: an element per input path of the profile (set when stamp == gen)
    // paths met inside a list of objects ([{"UserName":"a"},{"UserName":"b"}])
    // hold every value: the first in `val` (list_stamp == gen), the others in
    // in_more. One slot per path, so an op reading it touches one line.
    // The walk also keeps what the ops read of a scalar (its type, a
    // string's view, an integer), so they need not go back to simdjson's
    // tape, by then mostly out of the cache.
    struct alignas(64) InSlot {
        element val;
        uint64_t stamp = 0, list_stamp = 0;
        std::string_view text; // STRING, BOOL, NULL_VALUE: as its Scalar's text
        int64_t i = 0;         // INT64
        element_type type = element_type::NULL_VALUE;
        Kind kind = Kind::Null; // STRING, BOOL, NULL_VALUE: its Scalar's kind
        Scalar scalar() const { return Scalar{kind, text}; }
    };
    static_assert(sizeof(InSlot) == 64, "one cache line a slot");
    std::vector<InSlot> in;
    std::vector<std::pair<uint32_t, element>> in_more;
    // leaves under collected paths, with their dotted paths
    std::vector<std::pair<std::string, element>> collected;
    size_t ncollected = 0;
    std::string path; // the dotted path while collecting
    // output document: a value per output field (the profile's, then this
    // record's own, made at run time); present when stamped and not empty
    // The stamp beside the value: a write touches one place, not two.
    struct OutVal : Val {
        uint64_t stamp = 0; // present when == out_gen
    };
    std::vector<OutVal> vals;
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
    std::vector<size_t> args_ends; // a command line split (command_line_to_argv)
    // the last day written as a date (a record's times mostly share one)
    int64_t civil_days = INT64_MIN, civil_y = 0;
    int civil_m = 0, civil_d = 0;
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
void make_heads(std::vector<Op> &ops, std::vector<OpHead> *heads);

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

// A scalar as the reader reads the same JSON: integers that fit int64 are
// INT, other numbers DOUBLE. false for raw JSON (an object in an array).
inline bool value_of(const Scalar &x, eqlite_value *v) {
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
            v->u.d = std::strtod(std::string(x.text).c_str(), nullptr); // (strtod reads up to a NUL)
        }
        return true;
    }
    case Kind::Raw: return false;
    }
    return false;
}

} // namespace profile_internal
