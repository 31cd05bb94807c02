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
//
// The pieces: ndjson_input.h (descriptor / memory / gzip), ndjson_split.cpp
// (lines, array elements, EVTX records), ndjson_projection.h (the trie),
// ndjson_walk.cpp (tape walk into slots), ndjson_convert.cpp (mapped types),
// ndjson_dates.cpp (date formats), ndjson_timestamp.cpp; this file runs one
// record through them and holds the C API.

#include "io/ndjson_internal.h"

namespace ndjson_internal {

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

bool finish_event(eq_ndjson *r, eqlite_event *ev) {
    copy_mirrors(r);
    if (r->any_null_value) add_null_values(r);
    finish_lists(r);
    int64_t ts = 0;
    if (r->ts_slot != kNoSlot && !event_timestamp(r, &ts)) return false;
    r->notice.clear();
    if (r->any_conv && !convert_fields(r)) return false;
    ev->fields = r->values.data();
    ev->nfields = r->nfields;
    ev->timestamp = ts;
    ev->tiebreaker = r->tb_slot != kNoSlot ? r->values[static_cast<size_t>(r->tb_slot)] : eqlite_value{};
    // every slot given a value this record was touched (reset_event relies on it too)
    ev->present = r->touched.data();
    ev->npresent = r->touched.size();
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

// The set's per-profile counts are shared by every reader (atomics): each
// reader adds its own in batches, and the rest when it closes, so readers
// on several threads do not contend for them on every record.
constexpr unsigned kNoteEvery = 1024;
void note_sources(eq_ndjson *r) {
    r->unnoted = 0;
    for (size_t i = 0; i < r->source_counts.size(); i++) {
        uint64_t n = r->source_counts[i] - r->sources_noted[i];
        if (n) eqio::profiles_note(r->profiles, i + 1 < r->source_counts.size() ? static_cast<int>(i) : -1, n);
        r->sources_noted[i] = r->source_counts[i];
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
// ECS records pass as they are. `whole`: the text will be asked for at once,
// so every field is made now (else only what the projection reads).
bool convert_source(eq_ndjson *r, Record *rec, simdjson::dom::object *root, bool *fields_read, bool whole) {
    *fields_read = false;
    r->last_source = -1;
    if (!r->profiles) return true;
    if (!r->scratch) {
        r->scratch = eqio::scratch_new();
        std::vector<std::string> projected;
        for (uint32_t n = 0; n < r->proj.size(); n++)
            if (r->proj.slot_of(n) != kNoSlot) projected.push_back(r->proj[n].path);
        eqio::scratch_want(r->scratch, std::move(projected));
    }
    // Records of one source come in runs: the previous record's profile is
    // tried first, detecting in its walk.
    int idx = r->source >= 0 ? r->source
              : r->guess >= 0 ? eqio::profiles_detect_walked(r->profiles, r->guess, *root, r->scratch)
                              : eqio::profiles_detect(r->profiles, *root);
    r->guess = r->source < 0 && idx >= 0 && !eqio::profile_passthrough(r->profiles, idx) ? idx : -1;
    r->last_source = idx;
    r->source_counts[idx < 0 ? r->source_counts.size() - 1 : static_cast<size_t>(idx)]++;
    if (++r->unnoted == kNoteEvery) note_sources(r);
    if (idx < 0 || eqio::profile_passthrough(r->profiles, idx)) return true;
    if (!eqio::profile_convert(r->profiles, idx, *root, r->scratch, &r->reason, whole)) return false;
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
    out->notice = "";
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
    if (!parse_record(r, rec, &root) || !convert_source(r, &rec, &root, &fields_read, out && !r->lazy_text) ||
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
    if (out) out->notice = r->notice.c_str();
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
    r->reject_malformed = opt->reject_malformed != 0;
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
        r->sources_noted.assign(eq_profiles_count(r->profiles) + 1, 0);
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
        auto inflated = [r](char *dst, size_t cap, std::string *fail) {
            long n = r->in.read(dst, cap);
            if (n < 0) *fail = r->in.error();
            return n;
        };
        bool ok = r->in.gzip()       ? r->evtx->open_read_copy(inflated, &why, &r->evtx_cut_short) // libevtx reads files
                  : r->in.memory()   ? r->evtx->open_memory(r->in.memory(), r->in.memory_len(), &why)
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

// simdjson picks its kernel on first use, inside the guard of a static: a
// program forking while another of its threads is in there leaves the copy
// waiting on that guard for ever. Picked when the library loads instead
// (out of memory then: on first use, as before).
bool choose_simdjson_kernel() {
    try {
        simdjson::dom::parser parser;
        element doc;
        return parser.parse("{}", 2).get(doc) == simdjson::SUCCESS;
    } catch (const std::exception &) {
        return false;
    }
}
const bool simdjson_kernel_chosen = choose_simdjson_kernel();

} // namespace ndjson_internal


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
                           if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
                               *msg = "is a directory, not a file of events";
                               return EQLITE_EINPUT;
                           }
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

void eq_ndjson_close(eq_ndjson *reader) {
    if (reader) note_sources(reader);
    delete reader;
}

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

uint64_t eq_ndjson_source_count(const eq_ndjson *r, size_t i) {
    return r && i < r->source_counts.size() ? r->source_counts[i] : 0;
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
    // Done when the library loaded, unless memory ran out then: a first parse
    // builds every lazily made singleton (implementation list, the detector,
    // the chosen kernel), and "{}" fails only for want of memory.
    if (!simdjson_kernel_chosen && !choose_simdjson_kernel()) setup_ran_out_of_memory();
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
