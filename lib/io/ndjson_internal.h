// ndjson_internal.h: what the pieces of the NDJSON reader share (ndjson.cpp,
// ndjson_split.cpp, ndjson_walk.cpp, ndjson_duplicates.cpp, ndjson_convert.cpp, ndjson_dates.cpp,
// ndjson_timestamp.cpp): the reader's state and the functions one piece
// calls in another. Not installed.
#pragma once

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
#include "date.h"  // eq_parse_date (the one default-format parser) and the calendar
#include "value.h" // eq_ip_parse / eq_ip_format (ip.c), eq_version_compare
}

namespace ndjson_internal {

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


inline bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
} // namespace ndjson_internal

#include "io/ndjson_input.h"
#include "io/ndjson_projection.h"

namespace ndjson_internal {
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
} // namespace ndjson_internal

using namespace ndjson_internal;

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
    // (source id, id): a further id reading the same path (a multi-field gets
    // its parent's values, converted with its own type)
    std::vector<std::pair<uint32_t, uint32_t>> mirrors;
    std::vector<uint64_t> node_seen; // per trie node: the object walk that last met its key
    uint64_t object_walks = 0;
    std::vector<uint64_t> dup_sigs, dup_keys; // the duplicate check's table: signatures, tape words of keys
    std::vector<FieldConv> conv;        // per slot: conversion to the mapped type
    bool any_conv = false;
    bool any_null_value = false;
    std::deque<std::array<char, kConvText>> texts; // numbers converted to keyword text
    size_t ntexts = 0;

    simdjson::dom::parser parser;
    std::string path;                      // the file's path, when opened by path
    std::unique_ptr<eqio::EvtxFile> evtx;  // EVTX input: records come from libevtx
    std::string evtx_json;                 // the current EVTX record as JSON (+ padding)
    std::string evtx_cut_short;            // why an EVTX input ended early (a cut .gz): fatal after its records
    // Source profiles: raw records -> ECS (profiles == NULL: records as they are).
    const eq_profiles *profiles = nullptr;
    int source = EQ_NDJSON_SOURCE_AUTO;
    std::vector<uint64_t> source_counts;  // per profile, then "no known shape"
    std::vector<uint64_t> sources_noted;  // of source_counts, what the set's shared counts have
    unsigned unnoted = 0;                 // records since then
    int last_source = -1;
    eqio::ConvertScratch *scratch = nullptr;
    int guess = -1;                        // --source auto: the profile the previous record took (not a passthrough)
    std::string converted;                 // the current record's ECS JSON (+ padding)
    bool text_pending = false;             // converted, and its ECS JSON not written yet
    bool lazy_text = false;                // leave it unwritten until eq_ndjson_last_text()
    // Where each profile's own fields land in the projection (per profile,
    // per field; looked up on first use).
    std::vector<std::vector<DocSlot>> doc_slots;
    const char *last_text = nullptr; // the text of the record last read
    size_t last_len = 0;
    std::string reason; // formatted reasons
    bool reject_malformed = false;
    std::string notice; // the current event's first dropped malformed value
    std::string fatal;
    uint64_t records = 0, events = 0, bad = 0;

    ~eq_ndjson() {
        if (!lent) std::free(buf);
        eqio::scratch_free(scratch);
    }
};

namespace ndjson_internal {

// ndjson.cpp
std::string quoted_prefix(const char *s, size_t n);

// ndjson_split.cpp: cutting records out of the input
enum class Cut { Record, Bad, Eof, Fatal };
bool reserve_buffer(eq_ndjson *r, size_t want);
bool refill(eq_ndjson *r);
bool decide_mode(eq_ndjson *r);
Cut cut_record(eq_ndjson *r, Record *rec);

// ndjson_walk.cpp: the projected fields into the event's slots
void copy_mirrors(eq_ndjson *r);
void add_null_values(eq_ndjson *r);
void reset_event(eq_ndjson *r);
void finish_lists(eq_ndjson *r);
bool read_fields(eq_ndjson *r);
bool take_doc_field(void *user, const eqio::DocField &f);

// ndjson_convert.cpp: conversion to the mapped types
void conv_for_type(uint32_t type, FieldConv *c);
bool convert_fields(eq_ndjson *r);

// ndjson_dates.cpp: date formats
bool parse_date_format(const char *s, size_t n, std::string_view format, int64_t *ms);

// ndjson_timestamp.cpp
bool event_timestamp(eq_ndjson *r, int64_t *ns);

} // namespace ndjson_internal
