// ndjson_split.cpp: the block buffer and the record splitters: NDJSON lines,
// elements of a JSON array, EVTX records (see ndjson.cpp for the pipeline).

#include "io/ndjson_internal.h"

namespace ndjson_internal {

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
    case eqio::EvtxFile::Eof:
        if (r->evtx_cut_short.empty()) return Cut::Eof;
        r->fatal = r->evtx_cut_short; // as a cut .gz of text: its records, then the error
        return Cut::Fatal;
    case eqio::EvtxFile::Bad:
        rec->line = 0; // the reason names the record (or its chunk: number 0)
        r->reason = number ? "record " + std::to_string(number) + ": " + why : why;
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

} // namespace ndjson_internal
