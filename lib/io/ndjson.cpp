// ndjson.cpp: the projecting NDJSON / JSON-array event reader (see ndjson.h).
//
// Pipeline per call: Input (fd / memory, gzip via zlib) fills a padded block
// buffer -> a splitter cuts one record (a line, or an element of a JSON array)
// in place -> simdjson's DOM parser validates it in place (the buffer keeps
// SIMDJSON_PADDING readable bytes after any record, so no copy) -> a walk over
// the parsed record visits only keys on the projection trie and fills the
// event's slots.
//
// Why DOM and not On-Demand: measured here on gen_events.py output, a DOM
// parse plus the projected walk runs at the speed of On-Demand navigation of
// the same fields (Debian's header builds On-Demand's navigation for the
// generic "fallback" kernel unless compiled with -mavx2), and DOM validates
// the whole record: On-Demand never looks inside values it skips, so a broken
// literal, a lone surrogate or 10,000 levels of nesting in an unread field
// would pass unnoticed.

#include "io/ndjson.h"
#include "io/evtx.h"
#include "io/profile.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <deque>
#include <memory>
#include <exception>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>
#include <zlib.h>

extern "C" {
#include "date.h"  // eq_parse_date: the VM's reading of default-format dates
#include "value.h" // eq_ip_parse / eq_ip_format (ip.c), eq_version_compare
}

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr size_t kPadding = simdjson::SIMDJSON_PADDING;
constexpr uint32_t kNoNode = UINT32_MAX;
constexpr int32_t kNoSlot = -1;
constexpr size_t kConvText = 40; // a number as keyword text
constexpr size_t kGzipChunk = 256 * 1024;
// The reason of a fatal error when an allocation failed (callers tell it apart).
constexpr const char *kOutOfMemory = "out of memory";
// The parser's buffers take about 13 bytes per input byte of its capacity.
// It starts small, grows to the largest record, and after a record above
// kParserShrinkAbove gives the memory back at the next ordinary record.
constexpr size_t kParserStartCapacity = 64 * 1024;
constexpr size_t kParserShrinkAbove = 4u << 20;

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Keys are short: a plain loop beats a memcmp call here (measured).
bool same_bytes(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

// ---------------------------------------------------------------------------
// Input: bytes of JSON text from a descriptor or a memory buffer, gunzipped
// when the first bytes are the gzip magic.

class Input {
public:
    ~Input() {
        if (zstream_ready_) inflateEnd(&zs_);
        if (own_fd_ && fd_ >= 0) close(fd_);
    }

    void use_fd(int fd, bool own) { fd_ = fd, own_fd_ = own; }
    void use_memory(const void *data, size_t len) {
        mem_ = static_cast<const unsigned char *>(data), mem_len_ = len, total_in_ = len;
    }
    void set_total(uint64_t n) { total_in_ = n; }

    // Plain text in memory is read in place (see lend_memory); only counted here.
    bool plain_memory() const { return mem_ && !gzip_; }
    const char *memory_text() const { return reinterpret_cast<const char *>(mem_); }
    void count_lent(size_t n) { bytes_in_ = bytes_out_ = n; }

    // Reads the first bytes to look for the gzip magic. false + error() on failure.
    bool start() {
        if (mem_) { // inflate reads the caller's buffer in place
            gzip_ = mem_len_ >= 2 && mem_[0] == 0x1f && mem_[1] == 0x8b;
            return !gzip_ || start_inflate();
        }
        zin_.resize(kGzipChunk);
        while (zin_len_ < 8) { // gzip magic (2 bytes), EVTX signature (8)
            long n = read_raw(zin_.data() + zin_len_, zin_.size() - zin_len_);
            if (n < 0) return false;
            if (n == 0) break;
            zin_len_ += static_cast<size_t>(n);
        }
        gzip_ = zin_len_ >= 2 && zin_[0] == 0x1f && zin_[1] == 0x8b;
        if (gzip_) return start_inflate();
        return true;
    }

    // EVTX is read by libevtx, not as text: is that what the input starts with?
    bool evtx() const {
        if (mem_) return eqio::is_evtx_signature(mem_, mem_len_);
        return !gzip_ && eqio::is_evtx_signature(zin_.data(), zin_len_);
    }
    const unsigned char *memory() const { return mem_; }
    size_t memory_len() const { return mem_len_; }
    int fd() const { return fd_; }
    const unsigned char *peeked() const { return zin_.data(); }
    size_t peeked_len() const { return zin_len_; }

    // Fills dst with up to cap bytes of JSON text: >0 bytes, 0 at the end, -1 on error.
    long read(char *dst, size_t cap) {
        long n = gzip_ ? read_gzip(dst, cap) : read_plain(dst, cap);
        if (n > 0) bytes_out_ += static_cast<uint64_t>(n);
        return n;
    }

    const std::string &error() const { return error_; }
    bool gzip() const { return gzip_; }
    uint64_t bytes_in() const { return bytes_in_; }
    uint64_t bytes_out() const { return bytes_out_; }
    uint64_t total_in() const { return total_in_; }

private:
    // Descriptors only: plain memory is lent to the splitter and gzip'ed
    // memory is inflated in place.
    long read_raw(unsigned char *dst, size_t cap) {
        for (;;) {
            ssize_t n = ::read(fd_, dst, cap);
            if (n >= 0) {
                bytes_in_ += static_cast<uint64_t>(n);
                return static_cast<long>(n);
            }
            if (errno != EINTR) return fail(std::string("read error: ") + std::strerror(errno));
        }
    }

    // The bytes read by start() come first.
    long read_plain(char *dst, size_t cap) {
        if (zin_pos_ < zin_len_) {
            size_t n = std::min(cap, zin_len_ - zin_pos_);
            std::memcpy(dst, zin_.data() + zin_pos_, n);
            zin_pos_ += n;
            return static_cast<long>(n);
        }
        return read_raw(reinterpret_cast<unsigned char *>(dst), cap);
    }

    bool start_inflate() {
        std::memset(&zs_, 0, sizeof zs_);
        zs_.zalloc = zlib_alloc; // zlib's memory comes from the same heap as ours
        zs_.zfree = zlib_free;
        int rc = inflateInit2(&zs_, 16 + MAX_WBITS);
        if (rc == Z_MEM_ERROR) return fail(kOutOfMemory) >= 0;
        if (rc != Z_OK) return fail("cannot initialise zlib") >= 0;
        zstream_ready_ = true;
        zs_.next_in = zin_.data();
        zs_.avail_in = static_cast<uInt>(zin_len_);
        return true;
    }

    // Loops until some output, the clean end of the last member, or an error;
    // every turn either consumes input, produces output or stops, so a
    // truncated or corrupt stream cannot spin.
    // A damaged stream still yields the text before the damage: the error is
    // kept and returned by the next call.
    long read_gzip(char *dst, size_t cap) {
        if (!error_.empty()) return -1;
        if (cap > UINT32_MAX) cap = UINT32_MAX;
        zs_.next_out = reinterpret_cast<Bytef *>(dst);
        zs_.avail_out = static_cast<uInt>(cap);
        while (zs_.avail_out == cap) {
            if (zs_.avail_in == 0 && !raw_eof_ && !refill_gzip_input()) break;
            if (member_done_) {
                if (zs_.avail_in == 0) break; // clean end after the last member
                if (!start_next_member()) break;
            }
            if (zs_.avail_in == 0) {
                fail(truncated_message());
                break;
            }
            int rc = inflate(&zs_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                member_done_ = true;
            } else if (rc == Z_MEM_ERROR) {
                fail(kOutOfMemory); // not the data's fault: fatal, never a corrupt record
                break;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                fail(corrupt_message(rc));
                break;
            }
        }
        long produced = static_cast<long>(cap - zs_.avail_out);
        return produced > 0 || error_.empty() ? produced : -1;
    }

    bool refill_gzip_input() {
        if (mem_) {
            size_t n = std::min<size_t>(mem_len_ - mem_pos_, UINT32_MAX);
            zs_.next_in = const_cast<Bytef *>(mem_ + mem_pos_);
            zs_.avail_in = static_cast<uInt>(n);
            mem_pos_ += n;
            bytes_in_ += n;
            if (n == 0) raw_eof_ = true;
            return true;
        }
        long n = read_raw(zin_.data(), zin_.size());
        if (n < 0) return false;
        if (n == 0) raw_eof_ = true;
        zs_.next_in = zin_.data();
        zs_.avail_in = static_cast<uInt>(n);
        return true;
    }

    // Concatenated .gz files (cat a.gz b.gz) are one valid stream.
    bool start_next_member() {
        if (zs_.next_in[0] != 0x1f) {
            fail("unexpected data after the gzip stream at compressed byte " +
                 std::to_string(compressed_pos()));
            return false;
        }
        inflateReset(&zs_);
        member_done_ = false;
        return true;
    }

    uint64_t compressed_pos() const { return bytes_in_ - zs_.avail_in; }

    std::string truncated_message() const {
        return "truncated gzip input: the compressed stream ends at byte " +
               std::to_string(compressed_pos()) + " (after " + std::to_string(bytes_out_) +
               " bytes of text) before its end marker";
    }

    static voidpf zlib_alloc(voidpf, uInt n, uInt size) { return std::calloc(n, size); }
    static void zlib_free(voidpf, voidpf p) { std::free(p); }

    std::string corrupt_message(int) const {
        const char *why = zs_.msg ? zs_.msg : "corrupt data";
        return std::string("corrupt gzip input at compressed byte ") + std::to_string(compressed_pos()) +
               ": " + why;
    }

    long fail(const std::string &message) {
        error_ = message;
        return -1;
    }

    int fd_ = -1;
    bool own_fd_ = false;
    const unsigned char *mem_ = nullptr;
    size_t mem_len_ = 0, mem_pos_ = 0;
    std::vector<unsigned char> zin_; // gzip input, and the bytes start() peeked
    size_t zin_len_ = 0, zin_pos_ = 0;
    bool gzip_ = false, zstream_ready_ = false, raw_eof_ = false, member_done_ = false;
    z_stream zs_{};
    uint64_t bytes_in_ = 0, bytes_out_ = 0, total_in_ = 0;
    std::string error_;
};

// ---------------------------------------------------------------------------
// Projection: a trie over the dotted field names. A JSON key may hold several
// segments ("process.parent" or "parent.name"), so keys are split on '.' as
// they are looked up; a node can be a field (slot >= 0), a parent, or both.

struct Edge {
    std::string segment;
    uint32_t child;
};

struct Node {
    std::vector<Edge> kids;
    int32_t slot = kNoSlot;
    std::string path; // for messages
};

class Projection {
public:
    Projection() { nodes_.emplace_back(); }

    // Returns the node for `dotted`, creating it.
    uint32_t insert(std::string_view dotted) {
        uint32_t node = 0;
        size_t start = 0;
        for (;;) {
            size_t dot = dotted.find('.', start);
            std::string_view seg = dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start);
            node = child_or_new(node, seg);
            if (dot == std::string_view::npos) break;
            start = dot + 1;
        }
        nodes_[node].path.assign(dotted.data(), dotted.size());
        return node;
    }

    uint32_t child(uint32_t node, const char *seg, size_t len) const {
        for (const Edge &e : nodes_[node].kids)
            if (e.segment.size() == len && same_bytes(e.segment.data(), seg, len)) return e.child;
        return kNoNode;
    }

    // Follows the '.'-separated segments of a JSON key from `node`. Each edge
    // is tried against the front of the key (it must end at the key's end or
    // at a '.'), so the key is never scanned for dots on its own: most keys
    // are rejected by a length or first-byte test.
    uint32_t descend(uint32_t node, std::string_view key) const {
        const char *p = key.data();
        size_t rest = key.size();
        for (;;) {
            const Edge *hit = nullptr;
            for (const Edge &e : nodes_[node].kids) {
                size_t n = e.segment.size();
                if (n > rest || (n < rest && p[n] != '.')) continue;
                if (same_bytes(e.segment.data(), p, n)) {
                    hit = &e;
                    break;
                }
            }
            if (!hit) return kNoNode;
            size_t n = hit->segment.size();
            if (n == rest) return hit->child;
            node = hit->child;
            p += n + 1;
            rest -= n + 1;
        }
    }

    Node &operator[](uint32_t i) { return nodes_[i]; }
    const Node &operator[](uint32_t i) const { return nodes_[i]; }

    // The walk's flat copy of the trie, built once every field is inserted
    // (the segment pointers refer to the nodes' strings, which stop moving).
    void compile() {
        fnodes_.assign(nodes_.size(), FastNode{});
        fedges_.clear();
        for (size_t i = 0; i < nodes_.size(); i++) {
            FastNode &f = fnodes_[i];
            f.first = static_cast<uint32_t>(fedges_.size());
            f.count = static_cast<uint32_t>(nodes_[i].kids.size());
            f.slot = nodes_[i].slot;
            for (const Edge &e : nodes_[i].kids) {
                FastEdge fe{};
                size_t n = e.segment.size(), head = n < 8 ? n : 8;
                std::memcpy(&fe.head, e.segment.data(), head);
                fe.mask = head == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * head)) - 1;
                fe.seg = e.segment.data();
                fe.len = n;
                fe.child = e.child;
                fedges_.push_back(fe);
            }
        }
    }

    size_t size() const { return nodes_.size(); }
    bool has_kids(uint32_t node) const { return fnodes_[node].count != 0; }
    int32_t slot_of(uint32_t node) const { return fnodes_[node].slot; }

    // descend() for a key in simdjson's string buffer, which has at least
    // SIMDJSON_PADDING readable bytes after any string: each edge is tested
    // with one masked 8-byte load (length, then the first bytes).
    uint32_t descend_padded(uint32_t node, const char *p, size_t rest) const {
        for (;;) {
            const FastNode &fn = fnodes_[node];
            if (fn.count == 0) return kNoNode;
            uint64_t word;
            std::memcpy(&word, p, 8);
            const FastEdge *e = fedges_.data() + fn.first, *stop = e + fn.count;
            for (; e != stop; ++e) {
                // The bytes first: they turn away almost every other key.
                if ((word & e->mask) != e->head) continue;
                size_t n = e->len;
                if (n > rest || (n < rest && p[n] != '.')) continue;
                if (n <= 8 || same_bytes(e->seg + 8, p + 8, n - 8)) break;
            }
            if (e == stop) return kNoNode;
            size_t n = e->len;
            if (n == rest) return e->child;
            node = e->child;
            p += n + 1;
            rest -= n + 1;
        }
    }

private:
    struct FastEdge {
        uint64_t head, mask; // the first (up to) 8 bytes of the segment
        const char *seg;
        size_t len;
        uint32_t child;
    };
    struct FastNode {
        uint32_t first = 0, count = 0;
        int32_t slot = kNoSlot;
    };

    uint32_t child_or_new(uint32_t node, std::string_view seg) {
        uint32_t found = child(node, seg.data(), seg.size());
        if (found != kNoNode) return found;
        uint32_t id = static_cast<uint32_t>(nodes_.size());
        nodes_.emplace_back();
        nodes_[node].kids.push_back(Edge{std::string(seg), id});
        return id;
    }

    std::vector<Node> nodes_;
    std::vector<FastNode> fnodes_;
    std::vector<FastEdge> fedges_;
};

// One field's value while a record is walked. Arrays, and a field met more
// than once, collect into `list`, which keeps its capacity from event to event.
struct Slot {
    uint64_t generation = 0; // the record that last touched it
    bool is_list = false;
    bool saw_null = false; // an explicit JSON null (for null_value)
    std::vector<eqlite_value> list;
};

// A record cut from the input, in place.
// Where a field of a converted document lands: its slot (kNoSlot: not read),
// or, as the walk would report, a field on its way that wants a value and no
// object (err_node).
struct DocSlot {
    int32_t slot = kNoSlot;
    uint32_t err_node = kNoNode;
    bool resolved = false;
};

struct Record {
    const char *text = nullptr;
    size_t len = 0;
    uint64_t line = 0;
    uint64_t offset = 0;
};

enum class Mode { Undecided, Lines, Array };
enum class ArrayState { BeforeArray, BeforeElement, InElement, AfterEnd };

const char *parse_error_reason(simdjson::error_code code) {
    switch (code) {
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::STRING_ERROR: return "invalid string (bad escape or lone surrogate)";
    case simdjson::UNESCAPED_CHARS: return "control character inside a string";
    case simdjson::UNCLOSED_STRING: return "unclosed string";
    case simdjson::DEPTH_ERROR: return "nesting deeper than 1024 levels";
    case simdjson::NUMBER_ERROR: return "invalid number (or an integer wider than 64 bits)";
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: return "invalid literal (true, false or null expected)";
    case simdjson::TAPE_ERROR: return "malformed JSON (missing or extra comma, brace or key)";
    case simdjson::EMPTY: return "no JSON value";
    case simdjson::MEMALLOC: return "out of memory";
    default: return simdjson::error_message(code);
    }
}

// ---- Elasticsearch's index-time conversion to the mapped type ----------------

enum class Conv : uint8_t { None, Integer, Floating, Boolean, Text, Date, DateNanos, Ip };

struct FieldConv {
    bool set = false; // by the first of the names (aliases) that share the slot
    Conv kind = Conv::None;
    const char *type_name = "";
    int64_t min = 0, max = 0; // Integer ranges
    std::string format;       // Date: "" = the default
    std::string name;         // for messages
    uint32_t ignore_above = 0; // Text: longer strings (UTF-16 units) are not indexed
    bool has_null_value = false;
    eqlite_value null_value{}; // a string points into null_text
    std::string null_text;
};

void conv_for_type(uint32_t type, FieldConv *c) {
    struct Row {
        uint32_t type;
        Conv kind;
        const char *name;
        int64_t min, max;
    };
    static const Row rows[] = {
        {EQLITE_T_LONG, Conv::Integer, "long", INT64_MIN, INT64_MAX},
        {EQLITE_T_INTEGER, Conv::Integer, "integer", INT32_MIN, INT32_MAX},
        {EQLITE_T_SHORT, Conv::Integer, "short", INT16_MIN, INT16_MAX},
        {EQLITE_T_BYTE, Conv::Integer, "byte", INT8_MIN, INT8_MAX},
        {EQLITE_T_DOUBLE, Conv::Floating, "double", 0, 0},
        {EQLITE_T_FLOAT, Conv::Floating, "float", 0, 0},
        {EQLITE_T_HALF_FLOAT, Conv::Floating, "half_float", 0, 0},
        {EQLITE_T_SCALED_FLOAT, Conv::Floating, "scaled_float", 0, 0},
        {EQLITE_T_BOOLEAN, Conv::Boolean, "boolean", 0, 0},
        {EQLITE_T_KEYWORD, Conv::Text, "keyword", 0, 0},
        {EQLITE_T_WILDCARD, Conv::Text, "wildcard", 0, 0},
        {EQLITE_T_CONSTANT_KEYWORD, Conv::Text, "constant_keyword", 0, 0},
        {EQLITE_T_TEXT, Conv::Text, "text", 0, 0},
        {EQLITE_T_DATE, Conv::Date, "date", 0, 0},
        {EQLITE_T_DATE_NANOS, Conv::DateNanos, "date_nanos", 0, 0},
        {EQLITE_T_IP, Conv::Ip, "ip", 0, 0},
    };
    for (const Row &row : rows)
        if (row.type == type) {
            c->kind = row.kind;
            c->type_name = row.name;
            c->min = row.min;
            c->max = row.max;
            return;
        }
}

// A number as Java's Double.parseDouble / Long.parseLong would take it, minus
// their whitespace trimming, hex floats and NaN/Infinity (ES rejects
// non-finite values): [+-]digits[.digits][(e|E)[+-]digits] or [+-].digits...
struct NumberText {
    bool integral = false; // no fraction or exponent: `i` is exact if it fits
    bool fits = false;
    int64_t i = 0;
    double d = 0;
};

bool parse_number_text(const char *s, size_t n, NumberText *out) {
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    size_t int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    size_t int_digits = i - int_start, frac_digits = 0;
    bool integral = true;
    if (i < n && s[i] == '.') {
        integral = false;
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac_digits = i - f;
    }
    if (int_digits + frac_digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integral = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t e = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e) return false;
    }
    if (i != n || n > 400) return false;
    out->integral = integral;
    if (integral) {
        uint64_t v = 0;
        bool over = false;
        for (size_t k = int_start; k < int_start + int_digits; k++)
            over |= __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, static_cast<uint64_t>(s[k] - '0'), &v);
        if (!over && (v <= static_cast<uint64_t>(INT64_MAX) || (neg && v == static_cast<uint64_t>(INT64_MAX) + 1))) {
            out->fits = true;
            out->i = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
        }
    }
    char buf[408];
    std::memcpy(buf, s, n);
    buf[n] = 0;
    out->d = std::strtod(buf, nullptr);
    return std::isfinite(out->d);
}

// Truncation toward zero into [min, max] (ES `coerce`).
bool double_to_integer(double d, int64_t min, int64_t max, int64_t *out) {
    if (!std::isfinite(d)) return false;
    double t = std::trunc(d);
    // 2^63 is exactly representable; INT64_MAX is not.
    if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0)) return false;
    int64_t v = static_cast<int64_t>(t);
    if (v < min || v > max) return false;
    *out = v;
    return true;
}

// The shortest text that reads back as d, with ".0" when it looks integral
// (5.0 -> "5.0", 0.1 -> "0.1", 1e+21 -> "1e+21").
size_t double_text(double d, char *buf, size_t cap) {
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = std::snprintf(buf, cap, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    if (n > 0 && !std::strpbrk(buf, ".eEn") && static_cast<size_t>(n) + 2 < cap) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = 0;
    }
    return n > 0 ? static_cast<size_t>(n) : 0;
}

// ---- dates: Java-style patterns and Elasticsearch's named formats ----------

int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int days_in_month(int64_t y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

struct Civil {
    int64_t year = 1970;
    int month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int64_t nanos = 0;
    int offset_s = 0;
    int ampm = -1;      // -1 none, 0 AM, 1 PM
    bool hour12 = false; // 'h': 1-12
};

struct DateParse {
    const char *s;
    size_t n, i = 0;
    Civil t;
};

bool is_pattern_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool take_number(DateParse *p, size_t min, size_t max, int64_t *out) {
    size_t start = p->i;
    int64_t v = 0;
    while (p->i < p->n && p->i - start < max && p->s[p->i] >= '0' && p->s[p->i] <= '9')
        v = v * 10 + (p->s[p->i++] - '0');
    if (p->i - start < min) return false;
    *out = v;
    return true;
}

bool take_name(DateParse *p, const char *const *names, int count, bool full, int *out) {
    for (int k = 0; k < count; k++) {
        size_t len = full ? std::strlen(names[k]) : 3;
        if (p->n - p->i >= len && strncasecmp(p->s + p->i, names[k], len) == 0) {
            p->i += len;
            *out = k;
            return true;
        }
    }
    return false;
}

// Z, or [+-]HH[[:]MM[[:]SS]].
bool take_offset(DateParse *p) {
    if (p->i < p->n && p->s[p->i] == 'Z') {
        p->i++;
        p->t.offset_s = 0;
        return true;
    }
    if (p->i >= p->n || (p->s[p->i] != '+' && p->s[p->i] != '-')) return false;
    int sign = p->s[p->i++] == '-' ? -1 : 1;
    int64_t h, m = 0, sec = 0;
    if (!take_number(p, 2, 2, &h) || h > 18) return false;
    bool colon = p->i < p->n && p->s[p->i] == ':';
    if (colon) p->i++;
    if (!take_number(p, 2, 2, &m)) {
        if (colon) return false;
    } else {
        colon = p->i < p->n && p->s[p->i] == ':';
        if (colon) p->i++;
        if (!take_number(p, 2, 2, &sec) && colon) return false;
    }
    if (m > 59 || sec > 59) return false;
    p->t.offset_s = sign * static_cast<int>(h * 3600 + m * 60 + sec);
    return true;
}

const char *const kMonths[] = {"january", "february", "march",     "april",   "may",      "june",
                               "july",    "august",   "september", "october", "november", "december"};
const char *const kDays[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

bool pattern_field(DateParse *p, char letter, size_t count, bool next_numeric) {
    int64_t v = 0;
    size_t fixed = count >= 2 ? count : 0;
    auto two = [&](int64_t *out) { return fixed ? take_number(p, fixed, fixed, out) : take_number(p, 1, 2, out); };
    int k;
    switch (letter) {
    case 'y':
    case 'u':
    case 'Y':
        if (count == 2) {
            if (!take_number(p, 2, 2, &v)) return false;
            p->t.year = 2000 + v;
            return true;
        }
        if (!take_number(p, count, next_numeric ? count : 9, &v)) return false;
        p->t.year = v;
        return true;
    case 'M':
    case 'L':
        if (count >= 3) {
            if (!take_name(p, kMonths, 12, count >= 4, &k)) return false;
            p->t.month = k + 1;
            return true;
        }
        if (!two(&v) || v < 1 || v > 12) return false;
        p->t.month = static_cast<int>(v);
        return true;
    case 'd':
        if (!two(&v) || v < 1 || v > 31) return false;
        p->t.day = static_cast<int>(v);
        return true;
    case 'H':
    case 'k':
        if (!two(&v) || v > (letter == 'k' ? 24 : 23)) return false;
        p->t.hour = static_cast<int>(letter == 'k' && v == 24 ? 0 : v);
        return true;
    case 'h':
    case 'K':
        if (!two(&v) || v > 12) return false;
        p->t.hour = static_cast<int>(v % 12);
        p->t.hour12 = true;
        return true;
    case 'm':
        if (!two(&v) || v > 59) return false;
        p->t.minute = static_cast<int>(v);
        return true;
    case 's':
        if (!two(&v) || v > 59) return false;
        p->t.second = static_cast<int>(v);
        return true;
    case 'S':
    case 'n': {
        size_t start = p->i;
        size_t lo = letter == 'S' ? count : 1, hi = letter == 'S' ? count : 9;
        if (count > 9 || !take_number(p, lo, hi, &v)) return false;
        for (size_t digits = p->i - start; digits < 9; digits++) v *= 10;
        p->t.nanos = v;
        return true;
    }
    case 'a':
        if (p->n - p->i >= 2 && (strncasecmp(p->s + p->i, "AM", 2) == 0 || strncasecmp(p->s + p->i, "PM", 2) == 0)) {
            p->t.ampm = (p->s[p->i] | 0x20) == 'p';
            p->i += 2;
            return true;
        }
        return false;
    case 'E':
        return take_name(p, kDays, 7, count >= 4, &k);
    case 'X':
    case 'x':
    case 'Z':
    case 'O':
        return take_offset(p);
    default:
        return false; // week-based fields, day of year, zone names: not supported
    }
}

bool numeric_letter(char c) { return std::strchr("yuYdHkhKmsSn", c) != nullptr; }

// Parses s[p->i...] against pattern[pi, pend); '[...]' sections are optional.
bool parse_pattern(DateParse *p, const char *pat, size_t pi, size_t pend) {
    while (pi < pend) {
        char c = pat[pi];
        if (c == '[') {
            size_t depth = 1, close = pi + 1;
            for (; close < pend && depth; close++) depth += pat[close] == '[' ? 1 : pat[close] == ']' ? -1 : 0;
            size_t inner_end = depth ? pend : close - 1;
            DateParse saved = *p;
            if (!parse_pattern(p, pat, pi + 1, inner_end)) *p = saved;
            pi = close;
            continue;
        }
        if (c == '\'') {
            size_t q = pi + 1;
            if (q < pend && pat[q] == '\'') { // '' is a quote
                if (p->i >= p->n || p->s[p->i] != '\'') return false;
                p->i++;
                pi = q + 1;
                continue;
            }
            for (; q < pend && pat[q] != '\''; q++) {
                if (p->i >= p->n || p->s[p->i] != pat[q]) return false;
                p->i++;
            }
            pi = q + 1;
            continue;
        }
        if (is_pattern_letter(c)) {
            size_t count = 1;
            while (pi + count < pend && pat[pi + count] == c) count++;
            size_t next = pi + count;
            bool next_numeric = next < pend && numeric_letter(pat[next]) && numeric_letter(c);
            if (!pattern_field(p, c, count, next_numeric)) return false;
            pi = next;
            continue;
        }
        if (c == ']') { // stray close: ignore
            pi++;
            continue;
        }
        if (p->i >= p->n || p->s[p->i] != c) return false;
        p->i++;
        pi++;
    }
    return true;
}

bool civil_to_ms(const Civil &t, int64_t *ms) {
    if (t.year < -292275055 || t.year > 292278994) return false;
    if (t.day > days_in_month(t.year, t.month)) return false;
    int hour = t.hour;
    if (t.ampm == 1 && hour < 12) hour += 12;
    int64_t days = days_from_civil(t.year, t.month, t.day);
    int64_t secs = days * 86400 + hour * 3600 + t.minute * 60 + t.second - t.offset_s;
    return !__builtin_mul_overflow(secs, static_cast<int64_t>(1000), ms) &&
           !__builtin_add_overflow(*ms, t.nanos / 1000000, ms);
}

bool parse_with_pattern(const char *s, size_t n, std::string_view pattern, int64_t *ms) {
    DateParse p{s, n, 0, Civil{}};
    if (!parse_pattern(&p, pattern.data(), 0, pattern.size()) || p.i != n) return false;
    return civil_to_ms(p.t, ms);
}

// epoch_millis / epoch_second: [-]digits[.digits]
bool parse_epoch(const char *s, size_t n, int64_t unit_ms, int64_t *ms) {
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    if (neg) i++;
    size_t start = i;
    int64_t v = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v)) return false;
    if (i == start) return false;
    int64_t frac = 0, scale = 1;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale < 1000000000) {
                frac = frac * 10 + (s[i] - '0');
                scale *= 10;
            }
    }
    if (i != n || __builtin_mul_overflow(v, unit_ms, &v)) return false;
    v += frac * unit_ms / scale;
    *ms = neg ? -v : v;
    return true;
}

bool parse_iso_ms(const char *s, size_t n, int64_t *ms) {
    int64_t ns;
    if (!eq_parse_date(s, n, &ns)) return false;
    *ms = ns / 1000000 - (ns % 1000000 < 0 ? 1 : 0); // floor
    return true;
}

struct NamedFormat {
    const char *name;
    const char *pattern; // nullptr: ISO-8601 (strict_date_optional_time family)
};

const NamedFormat kNamed[] = {
    {"date_optional_time", nullptr},
    {"date_optional_time_nanos", nullptr},
    {"date_time", nullptr},
    {"date_time_no_millis", nullptr},
    {"iso8601", nullptr},
    {"basic_date", "yyyyMMdd"},
    {"basic_date_time", "yyyyMMdd'T'HHmmss.SSSX"},
    {"basic_date_time_no_millis", "yyyyMMdd'T'HHmmssX"},
    {"date", "yyyy-MM-dd"},
    {"year_month_day", "yyyy-MM-dd"},
    {"year_month", "yyyy-MM"},
    {"year", "yyyy"},
    {"date_hour", "yyyy-MM-dd'T'HH"},
    {"date_hour_minute", "yyyy-MM-dd'T'HH:mm"},
    {"date_hour_minute_second", "yyyy-MM-dd'T'HH:mm:ss"},
    {"date_hour_minute_second_fraction", "yyyy-MM-dd'T'HH:mm:ss.SSS"},
    {"date_hour_minute_second_millis", "yyyy-MM-dd'T'HH:mm:ss.SSS"},
    {"hour", "HH"},
    {"hour_minute", "HH:mm"},
    {"hour_minute_second", "HH:mm:ss"},
    {"hour_minute_second_fraction", "HH:mm:ss.SSS"},
    {"hour_minute_second_millis", "HH:mm:ss.SSS"},
    {"time", "HH:mm:ss.SSSX"},
    {"time_no_millis", "HH:mm:ssX"},
};

bool parse_one_format(const char *s, size_t n, std::string_view f, int64_t *ms) {
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    if (f.empty()) return parse_iso_ms(s, n, ms);
    if (f == "epoch_millis") return parse_epoch(s, n, 1, ms);
    if (f == "epoch_second") return parse_epoch(s, n, 1000, ms);
    std::string_view name = f;
    if (name.substr(0, 7) == "strict_") name.remove_prefix(7);
    for (const NamedFormat &nf : kNamed)
        if (name == nf.name)
            return nf.pattern ? parse_with_pattern(s, n, nf.pattern, ms) : parse_iso_ms(s, n, ms);
    // Other named formats (lower case and '_'): read as ISO-8601.
    if (name.find('_') != std::string_view::npos && name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos)
        return parse_iso_ms(s, n, ms);
    return parse_with_pattern(s, n, f, ms);
}

bool parse_date_format(const char *s, size_t n, std::string_view format, int64_t *ms) {
    if (format.empty()) return parse_iso_ms(s, n, ms);
    for (;;) {
        size_t bar = format.find("||");
        if (parse_one_format(s, n, format.substr(0, bar), ms)) return true;
        if (bar == std::string_view::npos) return false;
        format.remove_prefix(bar + 2);
    }
}

// ---- rendering dates: the printer of a format (DateFormatter.format) --------

void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

// Java pattern letters over a UTC instant; false on a letter not rendered.
bool format_with_pattern(int64_t ms, std::string_view pat, std::string *out) {
    static const char *const months[] = {"January", "February", "March", "April", "May", "June", "July",
                                         "August", "September", "October", "November", "December"};
    static const char *const days[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t in_day = ms - day * 86400000;
    int64_t year;
    int month, dom;
    civil_from_days(day, &year, &month, &dom);
    int hour = static_cast<int>(in_day / 3600000), minute = static_cast<int>(in_day / 60000 % 60);
    int second = static_cast<int>(in_day / 1000 % 60), milli = static_cast<int>(in_day % 1000);
    int weekday = static_cast<int>(((day % 7) + 7 + 3) % 7); // 1970-01-01 was a Thursday
    char num[32];
    auto padded = [&](int64_t v, size_t width) {
        std::snprintf(num, sizeof num, "%0*lld", static_cast<int>(width), static_cast<long long>(v));
        out->append(num);
    };
    for (size_t i = 0; i < pat.size();) {
        char c = pat[i];
        if (c == '\'') {
            size_t close = pat.find('\'', i + 1);
            if (close == std::string_view::npos) return false;
            if (close == i + 1) out->push_back('\''); // '' is a quote
            else out->append(pat.substr(i + 1, close - i - 1));
            i = close + 1;
            continue;
        }
        if (!is_pattern_letter(c)) {
            out->push_back(c);
            i++;
            continue;
        }
        size_t n = 1;
        while (i + n < pat.size() && pat[i + n] == c) n++;
        i += n;
        switch (c) {
        case 'y':
        case 'u':
            if (n == 2) padded(((year % 100) + 100) % 100, 2);
            else padded(year, n);
            break;
        case 'M':
            if (n >= 4) out->append(months[month - 1]);
            else if (n == 3) out->append(months[month - 1], 3);
            else padded(month, n);
            break;
        case 'd': padded(dom, n); break;
        case 'H': padded(hour, n); break;
        case 'h': padded(hour % 12 == 0 ? 12 : hour % 12, n); break;
        case 'm': padded(minute, n); break;
        case 's': padded(second, n); break;
        case 'S': { // fraction of second, truncated to n digits
            std::snprintf(num, sizeof num, "%03d000000", milli);
            out->append(num, std::min<size_t>(n, 9));
            break;
        }
        case 'a': out->append(hour < 12 ? "AM" : "PM"); break;
        case 'E': out->append(n >= 4 ? std::string(days[weekday]) : std::string(days[weekday], 3)); break;
        case 'X': out->push_back('Z'); break;                       // zero offset prints Z
        case 'Z': out->append(n == 5 ? "Z" : n == 4 ? "GMT" : "+0000"); break;
        case 'x': out->append(n == 1 ? "+00" : n == 2 || n == 4 ? "+0000" : "+00:00"); break;
        default: return false;
        }
    }
    return true;
}

bool format_one(int64_t ms, std::string_view f, std::string *out) {
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    char num[32];
    if (f == "epoch_millis") {
        std::snprintf(num, sizeof num, "%lld", static_cast<long long>(ms));
        out->append(num);
        return true;
    }
    if (f == "epoch_second") {
        long long sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
        int frac = static_cast<int>(ms - sec * 1000);
        if (frac) std::snprintf(num, sizeof num, "%lld.%03d", sec, frac);
        else std::snprintf(num, sizeof num, "%lld", sec);
        std::string text = num;
        while (frac && text.back() == '0') text.pop_back();
        out->append(text);
        return true;
    }
    std::string_view name = f;
    if (name.substr(0, 7) == "strict_") name.remove_prefix(7);
    // ISO printers: milliseconds always, a zero offset as Z
    if (f.empty() || name == "date_optional_time" || name == "date_optional_time_nanos" || name == "date_time" ||
        name == "iso8601")
        return format_with_pattern(ms, "yyyy-MM-dd'T'HH:mm:ss.SSSX", out);
    if (name == "date_time_no_millis") return format_with_pattern(ms, "yyyy-MM-dd'T'HH:mm:ssX", out);
    for (const NamedFormat &nf : kNamed)
        if (name == nf.name) return nf.pattern && format_with_pattern(ms, nf.pattern, out);
    if (name.find('_') != std::string_view::npos &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string_view::npos)
        return false; // another named format: not rendered here
    return format_with_pattern(ms, f, out);
}

} // namespace

// ---------------------------------------------------------------------------

struct eq_ndjson {
    Input in;
    std::string name;

    // Block buffer: text in [pos, end); kPadding readable bytes after cap.
    char *buf = nullptr;
    size_t cap = 0, pos = 0, end = 0, scan = 0;
    size_t block = 0, max_line = 0;
    uint64_t base_offset = 0; // stream offset of buf[0]
    uint64_t lines = 0;       // line ends consumed
    bool eof = false;
    bool lent = false;        // buf is the caller's memory: never written or freed
    std::vector<char> padded; // a copy of a lent record too close to the end for simdjson

    Mode mode = Mode::Undecided;
    bool skipping_long = false; // dropping the rest of an over-long record
    ArrayState astate = ArrayState::BeforeArray;
    int adepth = 0;
    bool ain_string = false, aescape = false, aafter_comma = false;
    uint64_t aline = 0;        // line where the current element starts
    std::string minified;      // single-line copy of a multi-line element

    Projection proj;
    int32_t ts_slot = kNoSlot, tb_slot = kNoSlot;
    std::string ts_name, tb_name, ts_format;
    size_t nfields = 0;                 // max user id + 1
    std::vector<eqlite_value> values;   // nfields user slots + internal ones
    std::vector<Slot> slots;
    std::vector<uint32_t> touched;
    uint64_t generation = 0;
    std::vector<uint64_t> node_seen; // per trie node: the object walk that last met its key
    // (source id, id): a further id reading the same path (a multi-field gets
    // its parent's values, converted with its own type)
    std::vector<std::pair<uint32_t, uint32_t>> mirrors;
    uint64_t object_walks = 0;
    std::vector<FieldConv> conv;        // per slot: conversion to the mapped type
    bool any_conv = false;
    bool any_null_value = false;
    std::deque<std::array<char, kConvText>> texts; // numbers converted to keyword text
    size_t ntexts = 0;

    simdjson::dom::parser parser;
    std::string path;                      // the file's path, when opened by path
    std::unique_ptr<eqio::EvtxFile> evtx;  // EVTX input: records come from libevtx
    std::string evtx_json;                 // the current EVTX record as JSON (+ padding)
    // Source profiles: raw records -> ECS (profiles == NULL: records as they are).
    const eq_profiles *profiles = nullptr;
    int source = EQ_NDJSON_SOURCE_AUTO;
    std::vector<uint64_t> source_counts;  // per profile, then "no known shape"
    int last_source = -1;
    eqio::ConvertScratch *scratch = nullptr;
    std::string converted;                 // the current record's ECS JSON (+ padding)
    bool text_pending = false;             // converted, and its ECS JSON not written yet
    bool lazy_text = false;                // leave it unwritten until eq_ndjson_last_text()
    // Where each profile's own fields land in the projection (per profile,
    // per field; looked up on first use).
    std::vector<std::vector<DocSlot>> doc_slots;
    const char *last_text = nullptr; // the text of the record last read
    size_t last_len = 0;
    std::string reason; // formatted reasons
    std::string fatal;
    uint64_t records = 0, events = 0, bad = 0;

    ~eq_ndjson() {
        if (!lent) std::free(buf);
        eqio::scratch_free(scratch);
    }
};

namespace {

// ---- small helpers ---------------------------------------------------------

void put_error(char *err, size_t cap, const std::string &msg) {
    if (!err || cap == 0) return;
    size_t n = std::min(cap - 1, msg.size());
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
}

std::string quoted_prefix(const char *s, size_t n) {
    std::string out = "'";
    out.append(s, std::min<size_t>(n, 64));
    out += n > 64 ? "...'" : "'";
    return out;
}

// ---- the block buffer --------------------------------------------------------

bool reserve_buffer(eq_ndjson *r, size_t want) {
    if (want <= r->cap) return true;
    char *grown = static_cast<char *>(std::realloc(r->buf, want + kPadding));
    if (!grown) return false;
    // Zeroed so that simdjson's reads past a record end see initialized bytes.
    std::memset(grown + r->cap, 0, want + kPadding - r->cap);
    r->buf = grown;
    r->cap = want;
    return true;
}

// Moves [pos, end) to the front, grows the buffer when a record fills it,
// and reads more. Returns false on a fatal error (r->fatal set).
bool refill(eq_ndjson *r) {
    if (r->lent) { // all of it is there already
        r->eof = true;
        return true;
    }
    if (r->pos > 0) {
        size_t keep = r->end - r->pos;
        std::memmove(r->buf, r->buf + r->pos, keep);
        r->base_offset += r->pos;
        r->scan -= r->pos;
        r->end = keep;
        r->pos = 0;
    }
    if (r->end == r->cap) {
        size_t limit = r->max_line + 2; // the record plus "\r\n"
        size_t want = std::max(std::min(r->cap * 2, limit), r->cap + 1);
        if (!reserve_buffer(r, want)) {
            r->fatal = "out of memory";
            return false;
        }
    }
    long n = r->in.read(r->buf + r->end, r->cap - r->end);
    if (n < 0) {
        r->fatal = r->in.error();
        return false;
    }
    if (n == 0) r->eof = true;
    r->end += static_cast<size_t>(n);
    return true;
}

uint64_t offset_of(const eq_ndjson *r, size_t at) { return r->base_offset + at; }

// ---- splitting: NDJSON lines ------------------------------------------------

enum class Cut { Record, Bad, Eof, Fatal };

Cut bad_cut(eq_ndjson *r, const char *why) {
    r->reason = why;
    return Cut::Bad;
}

Cut too_long(eq_ndjson *r, Record *rec, size_t start, size_t have) {
    rec->text = r->buf + start;
    rec->len = have;
    rec->offset = offset_of(r, start);
    r->reason = "record longer than " + std::to_string(r->max_line) + " bytes; skipped";
    return Cut::Bad;
}

// Drops the rest of an over-long line, up to and including its newline.
bool skip_long_line(eq_ndjson *r) {
    for (;;) {
        const char *nl = static_cast<const char *>(std::memchr(r->buf + r->pos, '\n', r->end - r->pos));
        if (nl) {
            r->pos = r->scan = static_cast<size_t>(nl - r->buf) + 1;
            r->skipping_long = false;
            return true;
        }
        r->pos = r->scan = r->end;
        if (r->eof) {
            r->skipping_long = false;
            return true;
        }
        if (!refill(r)) return false;
    }
}

Cut cut_line(eq_ndjson *r, Record *rec) {
    if (r->skipping_long && !skip_long_line(r)) return Cut::Fatal;
    for (;;) {
        const char *nl = static_cast<const char *>(std::memchr(r->buf + r->scan, '\n', r->end - r->scan));
        if (nl || (r->eof && r->pos < r->end)) {
            size_t stop = nl ? static_cast<size_t>(nl - r->buf) : r->end;
            size_t len = stop - r->pos;
            if (len && r->buf[stop - 1] == '\r') len--;
            rec->text = r->buf + r->pos;
            rec->len = len;
            rec->line = ++r->lines;
            rec->offset = offset_of(r, r->pos);
            r->pos = r->scan = nl ? stop + 1 : stop;
            if (len > r->max_line) return too_long(r, rec, static_cast<size_t>(rec->text - r->buf), len);
            return Cut::Record;
        }
        r->scan = r->end;
        if (r->end - r->pos > r->max_line + 1) {
            size_t start = r->pos;
            rec->line = ++r->lines;
            r->skipping_long = true;
            r->pos = r->scan = r->end;
            return too_long(r, rec, start, r->end - start);
        }
        if (r->eof) return Cut::Eof;
        if (!refill(r)) return Cut::Fatal;
    }
}

// ---- splitting: a JSON array of events ------------------------------------------
// A byte-level scanner that tracks strings and depth only to find where each
// element ends; the element itself is validated by the parser. Its state
// survives refills, so an element may span any number of blocks.

Cut element_done(eq_ndjson *r, Record *rec, size_t stop) {
    size_t begin = r->pos, finish = stop;
    while (finish > begin && is_json_space(r->buf[finish - 1])) finish--;
    rec->text = r->buf + begin;
    rec->len = finish - begin;
    rec->line = r->aline;
    rec->offset = offset_of(r, begin);
    if (r->skipping_long) {
        r->skipping_long = false;
        return Cut::Eof; // caller: already reported, keep going
    }
    if (rec->len == 0) return bad_cut(r, "empty element in the JSON array");
    if (rec->len > r->max_line) return too_long(r, rec, begin, rec->len);
    return Cut::Record;
}

// One byte outside any element. Returns true when a record/bad is ready in *out.
bool array_between(eq_ndjson *r, char c, Cut *out) {
    size_t at = r->scan;
    if (is_json_space(c)) {
        if (c == '\n') r->lines++;
        r->pos = ++r->scan;
        return false;
    }
    r->scan++;
    r->pos = r->scan;
    switch (r->astate) {
    case ArrayState::BeforeArray:
        if (c == '[') {
            r->astate = ArrayState::BeforeElement;
            r->aafter_comma = false;
            return false;
        }
        r->astate = ArrayState::AfterEnd;
        *out = bad_cut(r, "unexpected data after the end of the JSON array; the rest of the input is ignored");
        return true;
    case ArrayState::BeforeElement:
        if (c == ']') {
            r->astate = ArrayState::BeforeArray;
            if (!r->aafter_comma) return false;
            *out = bad_cut(r, "trailing comma in the JSON array");
            return true;
        }
        if (c == ',') {
            *out = bad_cut(r, "empty element in the JSON array");
            return true;
        }
        r->astate = ArrayState::InElement;
        r->adepth = 0;
        r->ain_string = r->aescape = false;
        r->aline = r->lines + 1;
        r->pos = r->scan = at; // the element starts here; rescan this byte
        return false;
    default:
        r->pos = r->scan = r->end; // AfterEnd: drop everything
        return false;
    }
}

// Scans element bytes; returns true with *out set when the element ends.
bool array_element(eq_ndjson *r, Record *rec, Cut *out) {
    const char *b = r->buf;
    size_t i = r->scan, end = r->end;
    for (; i < end; i++) {
        char c = b[i];
        if (c == '\n') r->lines++;
        if (r->ain_string) {
            if (r->aescape) r->aescape = false;
            else if (c == '\\') r->aescape = true;
            else if (c == '"') r->ain_string = false;
            continue;
        }
        if (c == '"') r->ain_string = true;
        else if (c == '{' || c == '[') r->adepth++;
        else if ((c == '}' || c == ']') && r->adepth > 0) r->adepth--;
        else if (r->adepth == 0 && (c == ',' || c == ']')) {
            r->scan = i + 1;
            r->astate = c == ',' ? ArrayState::BeforeElement : ArrayState::BeforeArray;
            r->aafter_comma = c == ',';
            *out = element_done(r, rec, i);
            r->pos = r->scan;
            return true;
        }
    }
    r->scan = i;
    return false;
}

Cut array_at_eof(eq_ndjson *r, Record *rec);

Cut cut_element(eq_ndjson *r, Record *rec) {
    for (;;) {
        Cut cut;
        if (r->astate == ArrayState::InElement) {
            if (array_element(r, rec, &cut)) {
                if (cut == Cut::Eof) continue; // the end of a skipped over-long element
                return cut;
            }
            if (r->skipping_long) {
                r->pos = r->scan; // nothing of it is kept
            } else if (r->scan - r->pos > r->max_line) {
                rec->line = r->aline;
                size_t start = r->pos;
                r->skipping_long = true;
                Cut c = too_long(r, rec, start, r->scan - start);
                r->pos = r->scan;
                return c;
            }
        } else {
            bool ready = false;
            while (!ready && r->scan < r->end && r->astate != ArrayState::InElement)
                ready = array_between(r, r->buf[r->scan], &cut);
            if (ready) {
                rec->text = nullptr, rec->len = 0;
                rec->line = r->lines + 1;
                rec->offset = offset_of(r, r->scan);
                return cut;
            }
            if (r->scan < r->end) continue;
        }
        if (r->eof) return array_at_eof(r, rec);
        if (!refill(r)) return Cut::Fatal;
    }
}

Cut array_at_eof(eq_ndjson *r, Record *rec) {
    ArrayState state = r->astate;
    r->astate = ArrayState::AfterEnd;
    rec->line = r->lines + 1;
    rec->offset = offset_of(r, r->end);
    if (state == ArrayState::InElement && !r->skipping_long) {
        Cut cut = element_done(r, rec, r->end);
        r->pos = r->scan = r->end;
        r->astate = ArrayState::BeforeElement; // report the missing ']' next
        return cut;
    }
    r->skipping_long = false;
    if (state == ArrayState::BeforeElement || state == ArrayState::InElement)
        return bad_cut(r, "unterminated JSON array (missing ']' at the end of the input)");
    return Cut::Eof;
}

// ---- choosing between NDJSON and an array ---------------------------------

// Skips a UTF-8 byte order mark and leading white space; the first other
// byte decides: '[' is a JSON array, anything else NDJSON.
bool decide_mode(eq_ndjson *r) {
    bool at_start = true;
    for (;;) {
        if (at_start && r->end - r->pos >= 3 && std::memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
            r->pos += 3;
        if (at_start && (r->end - r->pos >= 3 || r->eof)) at_start = false;
        while (!at_start && r->pos < r->end && is_json_space(r->buf[r->pos])) {
            if (r->buf[r->pos] == '\n') r->lines++;
            r->pos++;
        }
        r->scan = r->pos;
        if (!at_start && r->pos < r->end) {
            r->mode = r->buf[r->pos] == '[' ? Mode::Array : Mode::Lines;
            return true;
        }
        if (r->eof) {
            r->mode = Mode::Lines;
            return true;
        }
        if (!refill(r)) return false;
    }
}

// The next EVTX record, rendered as winlogbeat's JSON. A record libevtx
// cannot read is a bad record ("record N: why"); the next one is still read.
Cut cut_evtx(eq_ndjson *r, Record *rec) {
    uint64_t number = 0;
    std::string why;
    switch (r->evtx->next(&r->evtx_json, &number, &why)) {
    case eqio::EvtxFile::Eof: return Cut::Eof;
    case eqio::EvtxFile::Bad:
        rec->line = 0; // the reason names the record
        r->reason = "record " + std::to_string(number) + ": " + why;
        return Cut::Bad;
    case eqio::EvtxFile::Record: break;
    }
    size_t n = r->evtx_json.size();
    r->evtx_json.append(kPadding, '\0'); // simdjson reads past the end
    rec->text = r->evtx_json.data();
    rec->len = n;
    rec->line = number;
    rec->offset = 0;
    return Cut::Record;
}

Cut cut_record(eq_ndjson *r, Record *rec) {
    if (r->evtx) return cut_evtx(r, rec);
    if (r->mode == Mode::Undecided && !decide_mode(r)) return Cut::Fatal;
    return r->mode == Mode::Array ? cut_element(r, rec) : cut_line(r, rec);
}

// ---- filling the event ------------------------------------------------------

// The walk reads simdjson's DOM tape directly (the layout of simdjson's
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
// in one object fails the record: Elasticsearch parses with Jackson's
// STRICT_DUPLICATE_DETECTION (elastic/elasticsearch#22073, 6.0 on) and rejects
// the document ("Duplicate field"). Only keys on the projection are checked.
bool walk_object(eq_ndjson *r, const Tape &t, size_t i, uint32_t node, bool in_array) {
    size_t end = static_cast<uint32_t>(t.w[i]) - 1; // the '}'
    const Projection &proj = r->proj;
    uint64_t walk = ++r->object_walks;
    for (i++; i < end;) {
        uint32_t klen;
        const char *key = tape_string(t, t.w[i], &klen);
        i++;
        size_t next = tape_next(t, i);
        uint32_t target = proj.descend_padded(node, key, klen);
        if (target != kNoNode) {
            if (r->node_seen[target] == walk) {
                r->reason = "duplicate field " + quoted_prefix(key, klen) + " (Elasticsearch rejects the document)";
                return false;
            }
            r->node_seen[target] = walk;
            if (!visit(r, t, i, target, in_array)) return false;
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

// ---- converting the projected values (after the walk) -------------------------

std::string value_text_for_message(const eqlite_value &v) {
    char buf[64];
    switch (v.kind) {
    case EQLITE_STRING: {
        std::string out = "\"";
        out.append(v.u.s, std::min<size_t>(v.len, 64));
        out += v.len > 64 ? "...\"" : "\"";
        return out;
    }
    case EQLITE_INT: std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.u.i)); return buf;
    case EQLITE_DOUBLE: double_text(v.u.d, buf, sizeof buf); return buf;
    case EQLITE_BOOL: return v.u.b ? "true" : "false";
    default: return "null";
    }
}

bool cannot_convert(eq_ndjson *r, const FieldConv &c, const eqlite_value &v) {
    r->reason = "field [" + c.name + "]: cannot convert " + value_text_for_message(v) + " to " + c.type_name;
    if (c.kind == Conv::Date && !c.format.empty()) r->reason += " with format [" + c.format + "]";
    return false;
}

// Storage for numbers turned into keyword text; references stay valid while
// the deque grows, and slots are reused from event to event.
char *conv_text(eq_ndjson *r) {
    if (r->ntexts == r->texts.size()) r->texts.emplace_back();
    return r->texts[r->ntexts++].data();
}

// A date_nanos value as nanoseconds: ISO text keeps all nine fraction
// digits; a custom pattern and epoch_millis give milliseconds (a fraction of
// epoch millis is kept to the nanosecond). Elasticsearch refuses dates before
// 1970 and after 2262 in this resolution.
bool date_nanos_of(const FieldConv &c, const eqlite_value &v, int64_t *ns) {
    int64_t ms;
    if (v.kind == EQLITE_INT) {
        if (__builtin_mul_overflow(v.u.i, int64_t{1000000}, ns)) return false;
    } else if (v.kind == EQLITE_DOUBLE) {
        double d = v.u.d * 1e6;
        if (!(d >= 0 && d < 9.2e18)) return false;
        *ns = static_cast<int64_t>(d);
    } else if (v.kind != EQLITE_STRING) {
        return false;
    } else {
        std::string_view f = c.format;
        bool iso = f.empty() || f.find("date_optional_time") != f.npos || f.find("date_time") != f.npos ||
                   f.find("iso8601") != f.npos || f.find("epoch_millis") != f.npos;
        if (!(iso && eq_ndjson_parse_timestamp(v.u.s, v.len, ns) == 0)) {
            if (!parse_date_format(v.u.s, v.len, f, &ms) || __builtin_mul_overflow(ms, int64_t{1000000}, ns))
                return false;
        }
    }
    return *ns >= 0;
}

// strict_date_optional_time_nanos' printer: 3 to 9 fraction digits, Z.
size_t format_nanos(int64_t ns, char *out) {
    int64_t day = ns / 86400000000000LL, in_day = ns % 86400000000000LL;
    int64_t year;
    int month, dom;
    civil_from_days(day, &year, &month, &dom);
    int64_t sec = in_day / 1000000000, frac = in_day % 1000000000;
    int n = std::snprintf(out, kConvText, "%04lld-%02d-%02dT%02lld:%02lld:%02lld.%09lld", static_cast<long long>(year),
                          month, dom, static_cast<long long>(sec / 3600), static_cast<long long>(sec / 60 % 60),
                          static_cast<long long>(sec % 60), static_cast<long long>(frac));
    while (n > 23 && out[n - 1] == '0') n--; // keep at least .SSS (23 = "yyyy-MM-ddTHH:mm:ss.SSS")
    out[n++] = 'Z';
    out[n] = '\0';
    return static_cast<size_t>(n);
}

bool convert_one(eq_ndjson *r, const FieldConv &c, eqlite_value &v) {
    if (v.kind == EQLITE_NULL) return true;
    NumberText num;
    int64_t i;
    switch (c.kind) {
    case Conv::Integer:
        if (v.kind == EQLITE_INT) {
            if (v.u.i < c.min || v.u.i > c.max) return cannot_convert(r, c, v);
            return true;
        }
        if (v.kind == EQLITE_DOUBLE) {
            if (!double_to_integer(v.u.d, c.min, c.max, &i)) return cannot_convert(r, c, v);
        } else if (v.kind == EQLITE_STRING && parse_number_text(v.u.s, v.len, &num)) {
            if (num.integral && num.fits)
                i = num.i;
            else if (num.integral || !double_to_integer(num.d, c.min, c.max, &i))
                return cannot_convert(r, c, v);
            if (i < c.min || i > c.max) return cannot_convert(r, c, v);
        } else {
            return cannot_convert(r, c, v);
        }
        v = eqlite_value{};
        v.kind = EQLITE_INT;
        v.u.i = i;
        return true;
    case Conv::Floating: {
        double d;
        if (v.kind == EQLITE_DOUBLE) return true;
        if (v.kind == EQLITE_INT)
            d = static_cast<double>(v.u.i);
        else if (v.kind == EQLITE_STRING && parse_number_text(v.u.s, v.len, &num))
            d = num.d;
        else
            return cannot_convert(r, c, v);
        v = eqlite_value{};
        v.kind = EQLITE_DOUBLE;
        v.u.d = d;
        return true;
    }
    case Conv::Boolean: {
        if (v.kind == EQLITE_BOOL) return true;
        std::string_view s = v.kind == EQLITE_STRING ? std::string_view(v.u.s, v.len) : std::string_view("x");
        if (s != "true" && s != "false" && !s.empty()) return cannot_convert(r, c, v);
        v = eqlite_value{};
        v.kind = EQLITE_BOOL;
        v.u.b = s == "true";
        return true;
    }
    case Conv::Text: {
        if (v.kind == EQLITE_STRING) return true;
        const char *text;
        size_t len;
        if (v.kind == EQLITE_BOOL) {
            text = v.u.b ? "true" : "false";
            len = std::strlen(text);
        } else {
            char *buf = conv_text(r);
            if (v.kind == EQLITE_INT)
                len = static_cast<size_t>(std::snprintf(buf, kConvText, "%lld", static_cast<long long>(v.u.i)));
            else
                len = double_text(v.u.d, buf, kConvText);
            text = buf;
        }
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = text;
        return true;
    }
    case Conv::Date: {
        int64_t ms;
        if (v.kind == EQLITE_INT) return true;
        if (v.kind == EQLITE_DOUBLE) {
            if (!double_to_integer(v.u.d, INT64_MIN, INT64_MAX, &ms)) return cannot_convert(r, c, v);
        } else if (v.kind != EQLITE_STRING || !parse_date_format(v.u.s, v.len, c.format, &ms)) {
            return cannot_convert(r, c, v);
        }
        v = eqlite_value{};
        v.kind = EQLITE_INT;
        v.u.i = ms;
        return true;
    }
    case Conv::DateNanos: { // DateFieldMapper in nanosecond resolution
        int64_t ns;
        if (!date_nanos_of(c, v, &ns)) return cannot_convert(r, c, v);
        char *buf = conv_text(r);
        size_t len = format_nanos(ns, buf);
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = buf;
        return true;
    }
    case Conv::Ip: { // IpFieldMapper: InetAddresses.forString, kept as ES renders it
        uint8_t ip[16];
        if (v.kind != EQLITE_STRING || !eq_ip_parse(v.u.s, v.len, ip)) return cannot_convert(r, c, v);
        char *buf = conv_text(r);
        size_t len = eq_ip_format(ip, buf);
        v = eqlite_value{};
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(len);
        v.u.s = buf;
        return true;
    }
    case Conv::None: return true;
    }
    return true;
}

// Java's String.length(): UTF-16 units of valid UTF-8.
size_t utf16_length(const char *s, size_t n) {
    size_t units = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = static_cast<unsigned char>(s[i]);
        units += (b & 0xC0) != 0x80;
        units += b >= 0xF0; // a supplementary character is a surrogate pair
    }
    return units;
}

bool ignored_above(const FieldConv &c, const eqlite_value &v) {
    return v.kind == EQLITE_STRING && v.len > c.ignore_above && utf16_length(v.u.s, v.len) > c.ignore_above;
}

// KeywordFieldMapper: a value longer than ignore_above is not indexed.
void drop_ignored(eq_ndjson *r, const FieldConv &c, uint32_t slot) {
    eqlite_value &v = r->values[slot];
    if (v.kind != EQLITE_ARRAY) {
        if (ignored_above(c, v)) v = eqlite_value{};
        return;
    }
    std::vector<eqlite_value> &list = r->slots[slot].list;
    size_t kept = 0;
    for (const eqlite_value &e : list)
        if (!ignored_above(c, e)) list[kept++] = e;
    list.resize(kept);
    v.len = static_cast<uint32_t>(kept);
    if (kept == 0) v = eqlite_value{};
}

bool convert_fields(eq_ndjson *r) {
    for (uint32_t slot : r->touched) {
        const FieldConv &c = r->conv[slot];
        if (c.kind == Conv::None) continue;
        eqlite_value &v = r->values[slot];
        if (v.kind == EQLITE_ARRAY) {
            for (eqlite_value &e : r->slots[slot].list)
                if (!convert_one(r, c, e)) return false;
        } else if (!convert_one(r, c, v)) {
            return false;
        }
        if (c.ignore_above) drop_ignored(r, c, slot);
    }
    return true;
}

bool timestamp_from(eq_ndjson *r, const eqlite_value &v, int64_t *ns) {
    const std::string &f = r->ts_name;
    switch (v.kind) {
    case EQLITE_NULL:
        r->reason = "missing timestamp field '" + f + "'";
        return false;
    case EQLITE_INT:
        if (__builtin_mul_overflow(v.u.i, static_cast<int64_t>(1000000), ns)) break;
        return true;
    case EQLITE_DOUBLE: {
        double d = v.u.d * 1e6;
        if (!(d > -9.2e18 && d < 9.2e18)) break;
        *ns = static_cast<int64_t>(d);
        return true;
    }
    case EQLITE_STRING:
        if (eq_ndjson_parse_timestamp(v.u.s, v.len, ns) == 0) return true;
        r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + f + "'";
        return false;
    default:
        r->reason = "timestamp field '" + f + "' is not a string or a number";
        return false;
    }
    r->reason = "timestamp in field '" + f + "' is out of range";
    return false;
}

// The timestamp is read before conversion, at full precision; a date field
// with a custom format falls back to it when the text is not ISO-8601.
bool event_timestamp(eq_ndjson *r, int64_t *ns) {
    size_t slot = static_cast<size_t>(r->ts_slot);
    const eqlite_value &v = r->values[slot];
    const FieldConv &c = r->conv[slot];
    const std::string &format = c.kind == Conv::Date ? c.format : r->ts_format;
    if (!format.empty() && v.kind == EQLITE_STRING && eq_ndjson_parse_timestamp(v.u.s, v.len, ns) != 0) {
        int64_t ms;
        if (!parse_date_format(v.u.s, v.len, format, &ms)) {
            r->reason = "unparseable timestamp " + quoted_prefix(v.u.s, v.len) + " in field '" + r->ts_name +
                        "' (format [" + format + "])";
            return false;
        }
        if (__builtin_mul_overflow(ms, static_cast<int64_t>(1000000), ns)) {
            r->reason = "timestamp in field '" + r->ts_name + "' is out of range";
            return false;
        }
        return true;
    }
    return timestamp_from(r, v, ns);
}

// The projected fields of the parsed record.
bool read_fields(eq_ndjson *r) {
    // parse_record() checked that the root (tape index 1) is an object.
    const Tape t{r->parser.doc.tape.get(), r->parser.doc.string_buf.get()};
    return !r->proj.has_kids(0) || walk_object(r, t, 1, 0, false);
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

bool finish_event(eq_ndjson *r, eqlite_event *ev) {
    copy_mirrors(r);
    if (r->any_null_value) add_null_values(r);
    finish_lists(r);
    int64_t ts = 0;
    if (r->ts_slot != kNoSlot && !event_timestamp(r, &ts)) return false;
    if (r->any_conv && !convert_fields(r)) return false;
    ev->fields = r->values.data();
    ev->nfields = r->nfields;
    ev->timestamp = ts;
    ev->tiebreaker = r->tb_slot != kNoSlot ? r->values[static_cast<size_t>(r->tb_slot)] : eqlite_value{};
    return true;
}

// ---- one record -------------------------------------------------------------

bool is_blank(const Record &rec) {
    for (size_t i = 0; i < rec.len; i++)
        if (!is_json_space(rec.text[i])) return false;
    return true;
}

// Big records leave big parser buffers behind; give them back.
void right_size_parser(eq_ndjson *r, size_t len) {
    if (r->parser.capacity() > kParserShrinkAbove && len <= kParserStartCapacity) {
        // On failure the parse that follows allocates what it needs anyway.
        simdjson::error_code ignored = r->parser.allocate(kParserStartCapacity, EQ_NDJSON_MAX_DEPTH);
        (void)ignored;
    }
}

// simdjson reads up to SIMDJSON_PADDING bytes past a record. Our own buffer
// always has them; a lent buffer has them except near its end.
const char *padded_text(eq_ndjson *r, const Record &rec) {
    if (!r->lent || rec.text == r->evtx_json.data() || rec.text == r->converted.data() ||
        static_cast<size_t>(rec.text - r->buf) + rec.len + kPadding <= r->end)
        return rec.text;
    r->padded.assign(rec.len + kPadding, '\0');
    std::memcpy(r->padded.data(), rec.text, rec.len);
    return r->padded.data();
}

// Parses (and fully validates) the record. Returns the root object or sets r->reason.
bool parse_record(eq_ndjson *r, const Record &rec, simdjson::dom::object *root) {
    right_size_parser(r, rec.len);
    element doc;
    simdjson::error_code code = r->parser.parse(padded_text(r, rec), rec.len, false).get(doc);
    if (code == simdjson::MEMALLOC) { // the record may be fine: stop rather than call it bad
        r->fatal = kOutOfMemory;
        return false;
    }
    if (code) {
        r->reason = parse_error_reason(code);
        return false;
    }
    if (doc.get_object().get(*root)) {
        r->reason = "not a JSON object";
        return false;
    }
    return true;
}

// The ECS text of a converted record, written when first asked for.
void write_converted_text(eq_ndjson *r, Record *rec) {
    if (!r->text_pending) return;
    r->text_pending = false;
    eqio::profile_text(r->scratch, &r->converted);
    rec->text = r->converted.data();
    rec->len = r->converted.size();
}

// Runs the record's source profile (detected, or the one forced): a raw
// record becomes its ECS document, whose fields go straight into the event
// (*fields_read); its text is written only when asked for. A document with
// raw JSON values (objects inside arrays) is written and parsed instead.
// ECS records pass as they are.
bool convert_source(eq_ndjson *r, Record *rec, simdjson::dom::object *root, bool *fields_read) {
    *fields_read = false;
    r->last_source = -1;
    if (!r->profiles) return true;
    int idx = r->source >= 0 ? r->source : eqio::profiles_detect(r->profiles, *root);
    r->last_source = idx;
    r->source_counts[idx < 0 ? r->source_counts.size() - 1 : static_cast<size_t>(idx)]++;
    eqio::profiles_note(r->profiles, idx);
    if (idx < 0 || eqio::profile_passthrough(r->profiles, idx)) return true;
    if (!r->scratch) r->scratch = eqio::scratch_new();
    if (!eqio::profile_convert(r->profiles, idx, *root, r->scratch, &r->reason)) return false;
    r->text_pending = true;
    switch (eqio::profile_emit(r->scratch, take_doc_field, r)) {
    case eqio::Emit::Ok: *fields_read = true; return true;
    case eqio::Emit::Failed: return false;
    case eqio::Emit::Raw: break;
    }
    reset_event(r);
    write_converted_text(r, rec);
    r->converted.append(kPadding, '\0'); // simdjson reads past the end
    rec->text = r->converted.data();
    return parse_record(r, *rec, root);
}

// A pretty-printed array element spans lines; callers print records as one
// line of output, so such a record is handed out minified.
void single_line_text(eq_ndjson *r, Record *rec) {
    if (r->mode != Mode::Array || !std::memchr(rec->text, '\n', rec->len)) return;
    r->minified.resize(rec->len + kPadding);
    size_t n = 0;
    if (simdjson::minify(rec->text, rec->len, &r->minified[0], n)) return;
    rec->text = r->minified.data();
    rec->len = n;
}

void fill_record_info(eq_ndjson *r, const Record &rec, const char *reason, eq_ndjson_record *out) {
    if (!out) return;
    out->text = rec.text;
    out->len = rec.len;
    out->line = rec.line;
    out->offset = rec.offset;
    out->file = r->name.c_str();
    out->reason = reason;
}

int report_bad(eq_ndjson *r, const Record &rec, eq_ndjson_record *out) {
    r->bad++;
    fill_record_info(r, rec, r->reason.c_str(), out);
    return EQ_NDJSON_BAD;
}

int report_fatal(eq_ndjson *r, eq_ndjson_record *out) {
    Record rec;
    rec.line = r->lines + 1;
    rec.offset = r->base_offset + r->end;
    fill_record_info(r, rec, r->fatal.c_str(), out);
    return EQ_NDJSON_FATAL;
}

// Cuts the next non-blank record. Returns EVENT when *rec holds one.
int next_nonblank(eq_ndjson *r, Record *rec, eq_ndjson_record *out) {
    for (;;) {
        *rec = Record{};
        switch (cut_record(r, rec)) {
        case Cut::Eof: return EQ_NDJSON_EOF;
        case Cut::Fatal: return report_fatal(r, out);
        case Cut::Bad: r->records++; return report_bad(r, *rec, out);
        case Cut::Record: break;
        }
        if (is_blank(*rec)) continue;
        r->records++;
        return EQ_NDJSON_EVENT;
    }
}

int read_next(eq_ndjson *r, eqlite_event *ev, eq_ndjson_record *out) {
    if (!r->fatal.empty()) return report_fatal(r, out);
    r->last_text = nullptr;
    reset_event(r);
    Record rec;
    int st = next_nonblank(r, &rec, out);
    if (st != EQ_NDJSON_EVENT) return st;
    simdjson::dom::object root;
    bool fields_read = false;
    r->text_pending = false;
    if (!parse_record(r, rec, &root) || !convert_source(r, &rec, &root, &fields_read) ||
        (!fields_read && !read_fields(r)) || !finish_event(r, ev)) {
        write_converted_text(r, &rec);
        return r->fatal.empty() ? report_bad(r, rec, out) : report_fatal(r, out);
    }
    if (r->text_pending) {
        if (out && !r->lazy_text) write_converted_text(r, &rec);
        else rec.text = nullptr, rec.len = 0;
    } else if (rec.text != r->converted.data()) {
        single_line_text(r, &rec);
    }
    r->last_text = rec.text;
    r->last_len = rec.len;
    fill_record_info(r, rec, "", out);
    r->events++;
    return EQ_NDJSON_EVENT;
}

// ---- opening ------------------------------------------------------------------

bool add_field(eq_ndjson *r, std::string_view name, uint32_t id, std::string *err) {
    if (id >= UINT32_MAX - 2) {
        *err = "field id out of range";
        return false;
    }
    Node &node = r->proj[r->proj.insert(name)];
    if (node.slot != kNoSlot && node.slot != static_cast<int32_t>(id)) {
        auto pair = std::make_pair(static_cast<uint32_t>(node.slot), id);
        if (std::find(r->mirrors.begin(), r->mirrors.end(), pair) == r->mirrors.end()) r->mirrors.push_back(pair);
    } else {
        node.slot = static_cast<int32_t>(id);
    }
    r->nfields = std::max(r->nfields, static_cast<size_t>(id) + 1);
    return true;
}

// The timestamp and tiebreaker read a projected field's slot, or one of their
// own after the caller's ids (so fields[] does not show them).
int32_t role_slot(eq_ndjson *r, const char *name, size_t len, std::string *saved, size_t *next_internal) {
    if (!name || len == 0) return kNoSlot;
    saved->assign(name, len);
    Node &node = r->proj[r->proj.insert(*saved)];
    if (node.slot == kNoSlot) node.slot = static_cast<int32_t>((*next_internal)++);
    return node.slot;
}

// The mapping's null_value (JSON text) as the value the reader indexes for
// an explicit null; it is converted with the field's type like a read value.
bool set_null_value(FieldConv *c, const char *json, std::string *err) {
    simdjson::dom::parser parser;
    element e;
    simdjson::error_code code = parser.parse(json, std::strlen(json)).get(e);
    if (code == simdjson::MEMALLOC) throw std::bad_alloc(); // the open reports ENOMEM, not a bad value
    if (code || e.is_array() || e.is_object()) {
        *err = "field '" + c->name + "': null_value is not a JSON scalar";
        return false;
    }
    eqlite_value v{};
    if (e.is_string()) {
        std::string_view text = e.get_string().value_unsafe();
        c->null_text.assign(text.data(), text.size());
        v.kind = EQLITE_STRING;
        v.len = static_cast<uint32_t>(c->null_text.size());
        v.u.s = c->null_text.data();
    } else if (e.is_int64()) {
        v.kind = EQLITE_INT;
        v.u.i = e.get_int64().value_unsafe();
    } else if (e.is_number()) {
        v.kind = EQLITE_DOUBLE;
        v.u.d = e.get_double().value_unsafe();
    } else if (e.is_bool()) {
        v.kind = EQLITE_BOOL;
        v.u.b = e.get_bool().value_unsafe();
    } else {
        return true; // null_value: null is no null_value
    }
    c->null_value = v;
    c->has_null_value = true;
    return true;
}

bool configure(eq_ndjson *r, const eq_ndjson_options *opt, std::string *err) {
    eq_ndjson_options none{};
    if (!opt) opt = &none;
    if (opt->nfields && !opt->fields) {
        *err = "fields is NULL";
        return false;
    }
    for (size_t i = 0; i < opt->nfields; i++) {
        const eq_ndjson_field &f = opt->fields[i];
        if (!f.name && f.len) {
            *err = "field name is NULL";
            return false;
        }
        if (!add_field(r, std::string_view(f.name ? f.name : "", f.len), f.id, err)) return false;
    }
    size_t next_internal = r->nfields;
    r->ts_slot = role_slot(r, opt->timestamp_field, opt->timestamp_len, &r->ts_name, &next_internal);
    r->tb_slot = role_slot(r, opt->tiebreaker_field, opt->tiebreaker_len, &r->tb_name, &next_internal);
    if (opt->timestamp_format) r->ts_format = opt->timestamp_format;
    r->values.assign(next_internal, eqlite_value{});
    r->slots.resize(next_internal);
    r->conv.resize(next_internal);
    for (size_t i = 0; opt->conv && i < opt->nfields; i++) {
        const eq_ndjson_field &f = opt->fields[i];
        const eq_ndjson_conv &fc = opt->conv[i];
        FieldConv &c = r->conv[f.id];
        if (fc.type == EQLITE_T_UNKNOWN || c.set) continue; // aliases: the first type
        c.set = true;
        conv_for_type(fc.type, &c);
        c.name.assign(f.name ? f.name : "", f.len);
        if ((c.kind == Conv::Date || c.kind == Conv::DateNanos) && fc.format) c.format = fc.format;
        if (c.kind == Conv::Text) c.ignore_above = fc.ignore_above;
        if (fc.null_value && !set_null_value(&c, fc.null_value, err)) return false;
        r->any_conv |= c.kind != Conv::None || c.has_null_value;
        r->any_null_value |= c.has_null_value;
    }
    r->max_line = opt->max_line ? std::min(opt->max_line, EQ_NDJSON_MAX_MAX_LINE) : EQ_NDJSON_DEFAULT_MAX_LINE;
    r->block = opt->block_size ? opt->block_size : EQ_NDJSON_DEFAULT_BLOCK;
    r->block = std::max<size_t>(std::min(r->block, r->max_line + 2), 64);
    if (opt->display_name) r->name = opt->display_name;
    r->profiles = opt->profiles;
    r->source = opt->source;
    r->lazy_text = opt->lazy_text != 0;
    if (r->profiles) {
        if (r->source >= static_cast<int>(eq_profiles_count(r->profiles)) || r->source < EQ_NDJSON_SOURCE_AUTO) {
            *err = "no such source profile";
            return false;
        }
        r->source_counts.assign(eq_profiles_count(r->profiles) + 1, 0);
        r->doc_slots.assign(eq_profiles_count(r->profiles), {});
    }
    r->proj.compile();
    r->node_seen.assign(r->proj.size(), 0);
    return true;
}

// Plain text in memory needs no block buffer: records are cut and parsed in
// place (the parallel `eqlite query` reads mmap'ed chunks this way).
void lend_memory(eq_ndjson *r) {
    r->lent = true;
    r->buf = const_cast<char *>(r->in.memory_text()); // read only: refill never runs
    r->cap = r->end = static_cast<size_t>(r->in.total_in());
    r->eof = true;
    r->in.count_lent(r->end);
}

eqlite_status start_reading(eq_ndjson *r, std::string *err) {
    if (!r->in.start()) {
        *err = r->in.error() == kOutOfMemory ? r->in.error() : r->name + ": " + r->in.error();
        return r->in.error() == kOutOfMemory ? EQLITE_ENOMEM : EQLITE_EINPUT;
    }
    if (r->in.evtx()) { // recognised by its signature, whatever the name
        r->evtx = std::make_unique<eqio::EvtxFile>();
        std::string why;
        bool ok = r->in.memory() ? r->evtx->open_memory(r->in.memory(), r->in.memory_len(), &why)
                  : !r->path.empty() ? r->evtx->open_path(r->path.c_str(), &why)
                  : r->evtx->open_fd_copy(r->in.fd(), r->in.peeked(), r->in.peeked_len(), &why);
        if (!ok) {
            *err = r->name + ": " + why;
            return EQLITE_EINPUT;
        }
        r->in.set_total(r->evtx->size());
        return r->parser.allocate(kParserStartCapacity, EQ_NDJSON_MAX_DEPTH) ? (*err = kOutOfMemory, EQLITE_ENOMEM)
                                                                             : EQLITE_OK;
    }
    if (r->in.plain_memory()) {
        lend_memory(r);
        if (r->parser.allocate(kParserStartCapacity, EQ_NDJSON_MAX_DEPTH)) {
            *err = kOutOfMemory;
            return EQLITE_ENOMEM;
        }
        return EQLITE_OK;
    }
    // A small input of known size needs no full block (eqlite test reads many).
    uint64_t total = r->in.total_in();
    if (total && total < r->block && !r->in.gzip()) r->block = std::max<size_t>(static_cast<size_t>(total) + 2, 64);
    if (!reserve_buffer(r, r->block) ||
        r->parser.allocate(kParserStartCapacity, EQ_NDJSON_MAX_DEPTH)) {
        *err = kOutOfMemory;
        return EQLITE_ENOMEM;
    }
    return EQLITE_OK;
}

// Shared tail of the open functions: configure, start, hand out or clean up.
template <typename Setup>
eqlite_status open_reader(const eq_ndjson_options *opt, eq_ndjson **out, char *err, size_t errcap,
                          const char *default_name, Setup setup) {
    if (!out) return EQLITE_EMISUSE;
    *out = nullptr;
    put_error(err, errcap, "");
    eq_ndjson *r = nullptr;
    try {
        // simdjson picks its kernel on first use, allocating, inside noexcept
        // parser calls where bad_alloc would terminate: pick it here.
        simdjson::get_active_implementation();
        r = new eq_ndjson();
        r->name = default_name;
        std::string msg;
        eqlite_status st = EQLITE_EMISUSE;
        if (!configure(r, opt, &msg)) {
            st = EQLITE_EMISUSE;
        } else if ((st = setup(r, &msg)) == EQLITE_OK) {
            st = start_reading(r, &msg);
        }
        if (st != EQLITE_OK) {
            put_error(err, errcap, msg);
            delete r;
            return st;
        }
        *out = r;
        return EQLITE_OK;
    } catch (const std::bad_alloc &) {
        delete r;
        put_error(err, errcap, "out of memory");
        return EQLITE_ENOMEM;
    } catch (const std::exception &e) { // no C++ exception crosses into C
        delete r;
        put_error(err, errcap, e.what());
        return EQLITE_EINPUT;
    }
}


// ---- timestamps -------------------------------------------------------------

// Inlined so that each fixed count unrolls (timestamps are parsed per event).
inline __attribute__((always_inline)) bool read_digits(const char *&p, const char *end, int count, int *out) {
    if (end - p < count) return false;
    int v = 0;
    for (int i = 0; i < count; i++) {
        unsigned d = static_cast<unsigned>(p[i] - '0');
        if (d > 9) return false;
        v = v * 10 + static_cast<int>(d);
    }
    p += count;
    *out = v;
    return true;
}

// days_in_month() and days_from_civil() are defined with the date formats above.

// ".123456789" -> nanoseconds; 1 to 9 digits (',' is ISO's other separator).
bool read_fraction(const char *&p, const char *end, int64_t *ns) {
    *ns = 0;
    if (p == end || (*p != '.' && *p != ',')) return true;
    p++;
    int n = 0;
    int64_t scale = 100000000;
    while (p < end && *p >= '0' && *p <= '9') {
        if (++n > 9) return false;
        *ns += (*p++ - '0') * scale;
        scale /= 10;
    }
    return n > 0;
}

// "", "Z", "+HH", "+HHMM", "+HH:MM" -> offset seconds east of UTC.
bool read_zone(const char *&p, const char *end, int64_t *offset) {
    *offset = 0;
    if (p == end) return true;
    if (*p == 'Z' || *p == 'z') return ++p == end;
    if (*p != '+' && *p != '-') return false;
    int sign = *p++ == '-' ? -1 : 1, hh = 0, mm = 0;
    if (!read_digits(p, end, 2, &hh)) return false;
    if (p < end && *p == ':') p++;
    if (p < end && !read_digits(p, end, 2, &mm)) return false;
    if (p != end || hh > 18 || mm > 59) return false;
    *offset = sign * (hh * 3600 + mm * 60);
    return true;
}

bool combine_ns(int64_t seconds, int64_t fraction_ns, int64_t *ns) {
    if (seconds < 0 && fraction_ns > 0) { // reaches INT64_MIN exactly
        seconds += 1;
        fraction_ns -= 1000000000;
    }
    int64_t scaled;
    if (__builtin_mul_overflow(seconds, static_cast<int64_t>(1000000000), &scaled)) return false;
    return !__builtin_add_overflow(scaled, fraction_ns, ns);
}

bool parse_iso8601(const char *p, const char *end, int64_t *ns) {
    int y, mo, d, h = 0, mi = 0, s = 0;
    if (!read_digits(p, end, 4, &y) || p == end || *p++ != '-' || !read_digits(p, end, 2, &mo) ||
        p == end || *p++ != '-' || !read_digits(p, end, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return false;
    int64_t fraction = 0, offset = 0;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (!read_digits(p, end, 2, &h)) return false;
        if (p < end && *p == ':') {
            p++;
            if (!read_digits(p, end, 2, &mi)) return false;
            if (p < end && *p == ':') {
                p++;
                if (!read_digits(p, end, 2, &s) || !read_fraction(p, end, &fraction)) return false;
            }
        }
        if (h > 23 || mi > 59 || s > 59) return false;
    }
    if (!read_zone(p, end, &offset)) return false;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
    return combine_ns(seconds, fraction, ns);
}

// The common shape "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) in one pass: 0 when
// parsed, -1 when malformed, 1 when it is not this shape (the general parser
// decides). The same checks as parse_iso8601.
int parse_iso_millis_z(const char *s, int64_t *ns) {
    // Three little-endian words: "YYYY-MM-", "DDTHH:MM", ":SS.mmmZ". The
    // separators must be exactly these ('t', ' ', ',' and 'z' take the
    // general parser); the other bytes must be digits.
    constexpr uint64_t kDigitsA = 0x00FFFF00FFFFFFFFull;        // bytes 0-3, 5, 6
    constexpr uint64_t kDigitsB = 0xFFFF00FFFF00FFFFull;        // bytes 0, 1, 3, 4, 6, 7
    constexpr uint64_t kDigitsC = 0x00FFFFFF00FFFF00ull;        // bytes 1, 2, 4, 5, 6
    constexpr uint64_t kSepA = 0x2D00002D00000000ull;          // '-' at 4 and 7
    constexpr uint64_t kSepB = 0x00003A0000540000ull;          // 'T' at 2, ':' at 5
    constexpr uint64_t kSepC = 0x5A0000002E00003Aull;          // ':' at 0, '.' at 3, 'Z' at 7
    constexpr uint64_t kZeros = 0x3030303030303030ull, kHigh = 0xF0F0F0F0F0F0F0F0ull;
    constexpr uint64_t kSix = 0x0606060606060606ull, kTen = 0x1010101010101010ull;
    uint64_t a, b, c;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + 8, 8);
    std::memcpy(&c, s + 16, 8);
    if ((a & ~kDigitsA) != kSepA || (b & ~kDigitsB) != kSepB || (c & ~kDigitsC) != kSepC) return 1;
    a = (a ^ kZeros) & kDigitsA; // digit values where digits belong
    b = (b ^ kZeros) & kDigitsB;
    c = (c ^ kZeros) & kDigitsC;
    // Each digit byte is now 0-9 exactly when its high nibble is clear and
    // adding 6 does not carry into bit 4 (no carry crosses bytes then).
    if (((a | b | c) & kHigh) || (((a + kSix) | (b + kSix) | (c + kSix)) & kTen)) return 1;
    auto at = [](uint64_t w, int k) { return static_cast<int>((w >> (8 * k)) & 0xFF); };
    int y = at(a, 0) * 1000 + at(a, 1) * 100 + at(a, 2) * 10 + at(a, 3);
    int mo = at(a, 5) * 10 + at(a, 6), day = at(b, 0) * 10 + at(b, 1);
    int h = at(b, 3) * 10 + at(b, 4), mi = at(b, 6) * 10 + at(b, 7);
    int sec = at(c, 1) * 10 + at(c, 2);
    int64_t ms = at(c, 4) * 100 + at(c, 5) * 10 + at(c, 6);
    if (mo < 1 || mo > 12 || day < 1 || day > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59) return -1;
    int64_t seconds = days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + sec;
    return combine_ns(seconds, ms * 1000000, ns) ? 0 : -1;
}

// "[-]digits[.digits]" milliseconds since the epoch.
bool parse_epoch_millis(const char *p, const char *end, int64_t *ns) {
    bool negative = p < end && *p == '-';
    if (negative) p++;
    if (p == end || *p < '0' || *p > '9') return false;
    int64_t ms = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (__builtin_mul_overflow(ms, static_cast<int64_t>(10), &ms) ||
            __builtin_add_overflow(ms, static_cast<int64_t>(*p++ - '0'), &ms))
            return false;
    }
    int64_t sub_ms = 0; // nanoseconds below the millisecond
    if (p < end && *p == '.') {
        p++;
        int64_t scale = 100000;
        int n = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (++n > 6) return false;
            sub_ms += (*p++ - '0') * scale;
            scale /= 10;
        }
        if (n == 0) return false;
    }
    if (p != end) return false;
    int64_t v;
    if (__builtin_mul_overflow(ms, static_cast<int64_t>(1000000), &v) ||
        __builtin_add_overflow(v, sub_ms, &v))
        return false;
    *ns = negative ? -v : v;
    return true;
}

bool looks_like_epoch(const char *p, const char *end) {
    if (p < end && *p == '-') p++;
    while (p < end && *p >= '0' && *p <= '9') p++;
    return p == end || *p == '.';
}

} // namespace

// ---------------------------------------------------------------------------
// The C API

extern "C" {

eqlite_status eq_ndjson_open_path(const char *path, const eq_ndjson_options *opt, eq_ndjson **out,
                                  char *err, size_t errcap) {
    if (!path) return EQLITE_EMISUSE;
    bool is_stdin = std::strcmp(path, "-") == 0;
    return open_reader(opt, out, err, errcap, is_stdin ? "<stdin>" : path,
                       [&](eq_ndjson *r, std::string *msg) {
                           if (is_stdin) {
                               r->in.use_fd(0, false);
                               return EQLITE_OK;
                           }
                           int fd = open(path, O_RDONLY | O_CLOEXEC);
                           if (fd < 0) {
                               *msg = std::string("cannot open '") + path + "': " + std::strerror(errno);
                               return EQLITE_EINPUT;
                           }
                           r->in.use_fd(fd, true);
                           r->path = path;
                           struct stat st;
                           if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
                               r->in.set_total(static_cast<uint64_t>(st.st_size));
                           return EQLITE_OK;
                       });
}

eqlite_status eq_ndjson_open_fd(int fd, const eq_ndjson_options *opt, eq_ndjson **out, char *err,
                                size_t errcap) {
    if (fd < 0) return EQLITE_EMISUSE;
    return open_reader(opt, out, err, errcap, "<fd>", [&](eq_ndjson *r, std::string *) {
        r->in.use_fd(fd, false);
        return EQLITE_OK;
    });
}

eqlite_status eq_ndjson_open_memory(const void *data, size_t len, const eq_ndjson_options *opt,
                                    eq_ndjson **out, char *err, size_t errcap) {
    if (!data && len) return EQLITE_EMISUSE;
    static const char empty[1] = {0};
    return open_reader(opt, out, err, errcap, "<memory>", [&](eq_ndjson *r, std::string *) {
        r->in.use_memory(data ? data : empty, len);
        return EQLITE_OK;
    });
}

void eq_ndjson_close(eq_ndjson *reader) { delete reader; }

int eq_ndjson_last_source(const eq_ndjson *r) { return r ? r->last_source : -1; }

int eq_ndjson_last_text(eq_ndjson *r, const char **text, size_t *len) {
    if (!r || !text || !len) return -1;
    if (r->text_pending) {
        Record rec;
        try {
            write_converted_text(r, &rec);
        } catch (const std::bad_alloc &) {
            r->text_pending = true;
            return -2;
        }
        r->last_text = rec.text;
        r->last_len = rec.len;
    }
    if (!r->last_text) return -1;
    *text = r->last_text;
    *len = r->last_len;
    return 0;
}

size_t eq_ndjson_source_counts(const eq_ndjson *r, uint64_t *counts, size_t n) {
    if (!r) return 0;
    for (size_t i = 0; i < n && i < r->source_counts.size(); i++) counts[i] = r->source_counts[i];
    return r->source_counts.size();
}

static const char *setup_prog = "eqlite";

[[noreturn]] static void setup_ran_out_of_memory() {
    // Only simdjson's setup runs under this handler: nothing else can end here.
    char msg[256];
    int n = std::snprintf(msg, sizeof msg, "%s: out of memory setting up the JSON parser\n", setup_prog);
    if (n > 0 && write(STDERR_FILENO, msg, static_cast<size_t>(n)) < 0) {
        // nothing more to say
    }
    _exit(2);
}

void eq_ndjson_setup_or_exit(const char *prog) {
    if (prog) setup_prog = prog;
    std::terminate_handler previous = std::set_terminate(setup_ran_out_of_memory);
    try {
        // A first parse builds every lazily made singleton (implementation
        // list, the detector, the chosen kernel).
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        static const char tiny[] = "{}";
        if (parser.parse(tiny, 2).get(doc) == simdjson::MEMALLOC) setup_ran_out_of_memory();
    } catch (const std::bad_alloc &) {
        setup_ran_out_of_memory();
    }
    std::set_terminate(previous);
}

int eq_ndjson_next(eq_ndjson *r, eqlite_event *ev, eq_ndjson_record *record) {
    if (!r || !ev) return EQ_NDJSON_FATAL;
    try {
        return read_next(r, ev, record);
    } catch (const std::bad_alloc &) {
        r->fatal = "out of memory";
        return report_fatal(r, record);
    } catch (const std::exception &e) { // no C++ exception crosses into C
        r->fatal = std::string("internal error: ") + e.what();
        return report_fatal(r, record);
    }
}

int eq_ndjson_parse_only(eq_ndjson *r, uint64_t *valid, uint64_t *bad) {
    uint64_t ok = 0, failed = 0;
    int st = EQ_NDJSON_FATAL;
    if (r) {
        try {
            Record rec;
            simdjson::dom::object root;
            while ((st = next_nonblank(r, &rec, nullptr)) != EQ_NDJSON_EOF && st != EQ_NDJSON_FATAL) {
                if (st == EQ_NDJSON_EVENT && parse_record(r, rec, &root)) ok++;
                else if (!r->fatal.empty()) st = EQ_NDJSON_FATAL;
                else failed++;
            }
        } catch (const std::bad_alloc &) {
            r->fatal = "out of memory";
            st = EQ_NDJSON_FATAL;
        } catch (const std::exception &e) { // no C++ exception crosses into C
            r->fatal = std::string("internal error: ") + e.what();
            st = EQ_NDJSON_FATAL;
        }
    }
    if (valid) *valid = ok;
    if (bad) *bad = failed;
    return st;
}

int eq_ndjson_parse_timestamp(const char *s, size_t len, int64_t *ns) {
    if (!s || !ns || len == 0) return -1;
    if (len == 24) {
        int fast = parse_iso_millis_z(s, ns);
        if (fast <= 0) return fast;
    }
    const char *end = s + len;
    bool ok = looks_like_epoch(s, end) ? parse_epoch_millis(s, end, ns) : parse_iso8601(s, end, ns);
    return ok ? 0 : -1;
}

int eq_ndjson_seek(eq_ndjson *r, uint64_t offset, uint64_t line) {
    if (!r || !r->lent || !r->fatal.empty() || offset > r->end) return -1;
    if (r->mode == Mode::Undecided && !decide_mode(r)) return -1;
    if (r->mode != Mode::Lines) return -1;
    r->pos = r->scan = static_cast<size_t>(offset);
    r->lines = line ? line - 1 : 0;
    r->skipping_long = false;
    return 0;
}

void eq_ndjson_stats_get(const eq_ndjson *r, eq_ndjson_stats *out) {
    if (!out) return;
    *out = eq_ndjson_stats{};
    if (!r) return;
    out->bytes_in = r->in.bytes_in();
    out->bytes_out = r->in.bytes_out();
    out->total_in = r->in.total_in();
    out->records = r->records;
    out->events = r->events;
    out->bad = r->bad;
    out->gzip = r->in.gzip() ? 1 : 0;
    out->json_array = r->mode == Mode::Array ? 1 : 0;
    out->evtx = r->evtx ? 1 : 0;
}

} // extern "C"

extern "C" int eq_ndjson_parse_date_format(const char *s, size_t len, const char *format, int64_t *ms) {
    try {
        return parse_date_format(s ? s : "", s ? len : 0, format ? format : "", ms) ? 0 : -1;
    } catch (...) {
        return -1;
    }
}

extern "C" size_t eq_ndjson_format_date(int64_t ms, const char *format, char *buf, size_t cap) {
    try {
        std::string_view f = format ? format : "";
        std::string out;
        if (!format_one(ms, f.substr(0, f.find("||")), &out) || out.size() >= cap) return 0;
        std::memcpy(buf, out.data(), out.size());
        buf[out.size()] = '\0';
        return out.size();
    } catch (...) {
        return 0;
    }
}
